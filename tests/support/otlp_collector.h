/* A stand-in OpenTelemetry collector for tests: a loopback HTTP server
 * answering as the Collector's otlphttp receiver does (200 with an empty
 * JSON ExportTraceServiceResponse) and keeping every body it received.
 * otlp_collector_spans() checks each body's OTLP/JSON envelope (the
 * protobuf JSON mapping: resourceSpans / scopeSpans / spans, hex ids, times
 * as decimal strings, kinds and statuses as numbers) and returns the spans.
 * Not part of libccai: POSIX threads, jansson, cmocka. */
#ifndef CCAI_TEST_OTLP_COLLECTOR_H
#define CCAI_TEST_OTLP_COLLECTOR_H

#include "support/httpd.h"

#include <jansson.h>
#include <pthread.h>

typedef struct otlp_collector {
    pthread_mutex_t mu;
    json_t *bodies;     /* array, each body parsed (null when it did not parse) */
    char headers[8192]; /* of the last request */
    char path[1024];
    test_httpd *h;
} otlp_collector;

/* Start on 127.0.0.1 (cmocka assertion on failure); its URL is
 * "http://127.0.0.1:<otlp_collector_port()>/". */
void otlp_collector_start(otlp_collector *col);
int otlp_collector_port(const otlp_collector *col);
void otlp_collector_stop(otlp_collector *col);

/* Every span of every request (a new array), after checking the envelope
 * of each, whose resource must carry service.name @service. */
json_t *otlp_collector_spans(otlp_collector *col, const char *service);

/* The @nth span named @name, NULL when none. */
const json_t *otlp_span_find(const json_t *spans, const char *name, int nth);
/* The value of an attribute of a span, of an OTLP AnyValue @type
 * ("stringValue", "intValue": a decimal string), NULL when absent. */
const char *otlp_span_attr(const json_t *span, const char *key, const char *type);
/* A string member of an object. */
const char *otlp_str(const json_t *o, const char *key);

#endif
