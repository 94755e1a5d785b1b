/* Traces (OpenTelemetry): spans recorded by the parts of a context, queued
 * in bounded memory and encoded as OTLP/HTTP JSON (the protobuf JSON
 * mapping of ExportTraceServiceRequest). Sans-I/O: io/otlp.c sends the
 * batches; the composition root owns the tracer (Ccai_ctx_tracer()).
 *
 * A trace starts with Ccai_trace_root() (sampled by tracing.sample_ratio:
 * NULL when not), its spans with Ccai_span_child() of a parent (NULL for a
 * NULL parent: nothing of an unsampled trace is recorded). Every function
 * takes a NULL span and does nothing, so a hook is one line whatever the
 * configuration. Ccai_span_end() queues the span (or drops it, counted,
 * when the queue is full); the caller must not use it afterwards. */
#ifndef CCAI_CORE_TRACE_H
#define CCAI_CORE_TRACE_H

#include "core/common.h"

typedef struct Ccai_tracer Ccai_tracer;
typedef struct Ccai_span Ccai_span;

/* OTLP's SpanKind values. */
typedef enum Ccai_span_kind {
    CCAI_SPAN_INTERNAL = 1,
    CCAI_SPAN_SERVER = 2,
    CCAI_SPAN_CLIENT = 3,
} Ccai_span_kind;

/* Attributes a span keeps at most, and bytes of a string value. */
#define CCAI_SPAN_ATTRS_MAX     32
#define CCAI_SPAN_ATTR_TEXT_MAX 1024

typedef struct Ccai_tracer_opts {
    double sample_ratio; /* 0 .. 1: traces recorded */
    size_t max_queue;    /* ended spans waiting for export, at most */
    const char *service_name;
    /* Called (from Ccai_span_end()) when the queue holds notify_at spans:
     * the exporter sends a batch without waiting for its interval. */
    void (*notify)(void *ud);
    void *notify_ud;
    size_t notify_at;
} Ccai_tracer_opts;

typedef struct Ccai_trace_stats {
    uint64_t started;        /* spans recorded */
    uint64_t exported;       /* accepted by the collector (2xx) */
    uint64_t dropped_full;   /* ended while the queue was full */
    uint64_t dropped_export; /* in a batch the collector did not take */
    size_t queued;
} Ccai_trace_stats;

/* NULL on NOMEM. */
Ccai_tracer *Ccai_tracer_new(const Ccai_tracer_opts *opts);
/* Spans still queued are dropped. Spans still open must be ended first. */
void Ccai_tracer_free(Ccai_tracer *t);

/* The tracer of a context, NULL when tracing is off (defined by the
 * composition root, as Ccai_ctx_loop()). */
Ccai_tracer *Ccai_ctx_tracer(const ccai_ctx *ctx);

Ccai_span *Ccai_trace_root(Ccai_tracer *t, const char *name, Ccai_span_kind kind);
Ccai_span *Ccai_span_child(const Ccai_span *parent, const char *name, Ccai_span_kind kind);

void Ccai_span_attr_str(Ccai_span *s, const char *key, const char *value);
void Ccai_span_attr_int(Ccai_span *s, const char *key, int64_t value);
void Ccai_span_attr_bool(Ccai_span *s, const char *key, bool value);
/* Status ERROR with a message (copied, cut to CCAI_SPAN_ATTR_TEXT_MAX). */
void Ccai_span_error(Ccai_span *s, const char *message);
void Ccai_span_end(Ccai_span *s);
/* End with status ERROR (the status' name) unless @st is CCAI_OK. */
void Ccai_span_end_st(Ccai_span *s, ccai_status st);

/* The span's trace id, 32 lowercase hex digits + NUL; "" for NULL. */
void Ccai_span_trace_hex(const Ccai_span *s, char out[33]);

/* Up to @max queued spans as one OTLP JSON request body, taken off the
 * queue; *ret_n their number. NULL with *ret_n 0 when the queue is empty;
 * NULL with *ret_n > 0 on NOMEM (the spans are dropped, counted as not
 * exported). Freed with ccai_free(). */
char *Ccai_tracer_encode(Ccai_tracer *t, size_t max, size_t *ret_n);
/* What the collector made of a batch of @n spans. */
void Ccai_tracer_exported(Ccai_tracer *t, size_t n, bool ok);
void Ccai_tracer_stats(const Ccai_tracer *t, Ccai_trace_stats *out);

#endif
