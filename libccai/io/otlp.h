/* The OTLP/HTTP exporter of a context's tracer (io/otlp.c): batches of
 * ended spans POSTed as JSON to tracing.otlp_endpoint + /v1/traces with
 * libcurl on the context's loop, one request at a time; a batch the
 * collector does not take (down, slow, not 2xx) is dropped and counted,
 * never retried: the queue stays bounded and nothing waits. */
#ifndef CCAI_IO_OTLP_H
#define CCAI_IO_OTLP_H

#include "core/metrics.h"
#include "core/trace.h"

typedef struct Ccai_otlp Ccai_otlp;

/* The tracer and its exporter from tracing.* (*ret_tracer NULL when
 * tracing.otlp_endpoint is empty), and its counters on @metrics:
 * ccai_trace_spans_total{outcome="exported|dropped_queue_full|
 * dropped_export"}, ccai_trace_queue_spans. */
CCAI_MUST_CHECK ccai_status Ccai_otlp_new(ccai_ctx *ctx, const ccai_config *cfg,
                                          const Ccai_logger *log, Ccai_metrics *metrics,
                                          Ccai_tracer **ret_tracer, Ccai_otlp **ret);
/* Cancels the request in flight; spans still queued are dropped. */
void Ccai_otlp_free(Ccai_otlp *o);

#endif
