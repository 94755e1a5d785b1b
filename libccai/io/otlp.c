/* OTLP/HTTP JSON exporter (io/otlp.h). */
#include "io/otlp.h"

#include "config/config.h"
#include "io/io.h"

#include <stdio.h>
#include <string.h>

/* Extra headers (tracing.headers) at most. */
#define OTLP_HEADERS_MAX 16

struct Ccai_otlp {
    ccai_ctx *ctx;
    Ccai_tracer *tracer;
    Ccai_logger log;
    char *url;
    char *headers_buf;
    const char *headers[OTLP_HEADERS_MAX + 2];
    size_t batch;
    uint32_t interval_ms, timeout_ms;
    Ccai_timer timer;
    Ccai_http_req *req;
    char *body;
    size_t in_flight;          /* spans in the request */
    bool failing;              /* the last batch was refused: logged once until one goes */
    Ccai_trace_stats reported; /* what the counters show */
};

/* The tracer's counts into the registry, at scrape time. */
static void collect(Ccai_metrics *m, void *ud)
{
    Ccai_otlp *o = ud;
    Ccai_trace_stats s;
    Ccai_tracer_stats(o->tracer, &s);
    static const char *const outcomes[] = {"exported", "dropped_queue_full", "dropped_export"};
    uint64_t now[] = {s.exported, s.dropped_full, s.dropped_export};
    uint64_t *was[] = {&o->reported.exported, &o->reported.dropped_full,
                       &o->reported.dropped_export};
    for (size_t i = 0; i < 3; i++) {
        char *labels = Ccai_metrics_labels("outcome", outcomes[i], NULL);
        /* Scrape-time samples: a failure shows the difference next time. */
        if (labels && Ccai_metrics_counter_add(m, "ccai_trace_spans_total", labels,
                                               (double)(now[i] - *was[i])) == CCAI_OK)
            *was[i] = now[i];
        ccai_free(labels);
    }
    CCAI_DISCARD(Ccai_metrics_gauge_set(m, "ccai_trace_queue_spans", "", (double)s.queued));
}

static void schedule(Ccai_otlp *o, uint64_t ms)
{
    Ccai_timer_stop(o->ctx, &o->timer);
    Ccai_timer_start(o->ctx, &o->timer, ms);
}

static void send_batch(Ccai_otlp *o);

static void on_done(Ccai_http_req *req, ccai_status st, long status, const char *errmsg, void *ud)
{
    CCAI_UNUSED(req);
    Ccai_otlp *o = ud;
    bool ok = st == CCAI_OK && status >= 200 && status < 300;
    Ccai_tracer_exported(o->tracer, o->in_flight, ok);
    if (!ok && !o->failing)
        Ccai_log(&o->log, CCAI_LOG_WARN,
                 "tracing: %s: %s; %zu spans dropped (and every batch until it answers)", o->url,
                 st == CCAI_OK ? "not 2xx" : (errmsg ? errmsg : ccai_status_str(st)), o->in_flight);
    else if (!ok)
        Ccai_log(&o->log, CCAI_LOG_DEBUG, "tracing: HTTP %ld, %zu spans dropped", status,
                 o->in_flight);
    else if (o->failing)
        Ccai_log(&o->log, CCAI_LOG_INFO, "tracing: %s takes spans again", o->url);
    o->failing = !ok;
    o->req = NULL;
    ccai_free(o->body);
    o->body = NULL;
    o->in_flight = 0;
    Ccai_trace_stats s;
    Ccai_tracer_stats(o->tracer, &s);
    schedule(o, s.queued >= o->batch ? 0 : o->interval_ms);
}

static void send_batch(Ccai_otlp *o)
{
    if (o->req)
        return; /* one at a time: on_done sends the next */
    size_t n = 0;
    o->body = Ccai_tracer_encode(o->tracer, o->batch, &n);
    if (!o->body) {
        schedule(o, o->interval_ms);
        return;
    }
    Ccai_http_opts h = {
        .method = "POST",
        .url = o->url,
        .headers = o->headers,
        .body = o->body,
        .body_len = strlen(o->body),
        .body_borrowed = true,
        .connect_timeout_ms = o->timeout_ms,
        .total_timeout_ms = o->timeout_ms,
        .max_response_bytes = 64 * 1024,
        .on_done = on_done,
        .ud = o,
    };
    o->in_flight = n;
    ccai_status st = Ccai_http_start(o->ctx, &h, &o->req);
    if (st != CCAI_OK) {
        Ccai_tracer_exported(o->tracer, n, false);
        ccai_free(o->body);
        o->body = NULL;
        o->req = NULL;
        o->in_flight = 0;
        schedule(o, o->interval_ms);
    }
}

static void on_timer(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    Ccai_otlp *o = ud;
    send_batch(o);
    if (!o->req)
        schedule(o, o->interval_ms);
}

/* A batch is full: send it from the loop (not from inside the span's end). */
static void on_full(void *ud)
{
    Ccai_otlp *o = ud;
    if (!o->req)
        schedule(o, 0);
}

/* tracing.headers: "Name=value,Name2=value2" (OTEL_EXPORTER_OTLP_HEADERS'
 * form) into "Name: value" lines. */
static bool parse_headers(Ccai_otlp *o, const char *spec)
{
    size_t n = 0;
    o->headers[n++] = "Content-Type: application/json";
    if (!spec || !*spec) {
        o->headers[n] = NULL;
        return true;
    }
    size_t len = strlen(spec);
    o->headers_buf = Ccai_malloc(len * 2 + 2);
    if (!o->headers_buf)
        return false;
    char *w = o->headers_buf;
    const char *p = spec;
    while (*p && n < OTLP_HEADERS_MAX + 1) {
        const char *end = strchr(p, ',');
        size_t l = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', l);
        if (eq && eq > p) {
            o->headers[n++] = w;
            memcpy(w, p, (size_t)(eq - p));
            w += eq - p;
            *w++ = ':';
            *w++ = ' ';
            size_t vl = l - (size_t)(eq + 1 - p);
            memcpy(w, eq + 1, vl);
            w += vl;
            *w++ = '\0';
        }
        p += l + (end ? 1 : 0);
    }
    o->headers[n] = NULL;
    return true;
}

ccai_status Ccai_otlp_new(ccai_ctx *ctx, const ccai_config *cfg, const Ccai_logger *log,
                          Ccai_metrics *metrics, Ccai_tracer **ret_tracer, Ccai_otlp **ret)
{
    *ret_tracer = NULL;
    *ret = NULL;
    const char *ep = Ccai_config_str(cfg, "tracing.otlp_endpoint");
    if (!ep || !*ep)
        return CCAI_OK;
    Ccai_otlp *o = Ccai_calloc(1, sizeof *o);
    if (!o)
        return CCAI_ERR_NOMEM;
    o->ctx = ctx;
    o->log = *log;
    o->batch = (size_t)Ccai_config_int(cfg, "tracing.batch_size", 512);
    o->interval_ms = (uint32_t)Ccai_config_int(cfg, "tracing.export_interval_ms", 2000);
    o->timeout_ms = (uint32_t)Ccai_config_int(cfg, "tracing.timeout_ms", 10000);
    size_t len = strlen(ep);
    while (len > 0 && ep[len - 1] == '/')
        len--;
    bool has_path = len >= 10 && strncmp(ep + len - 10, "/v1/traces", 10) == 0;
    o->url = Ccai_asprintf("%.*s%s", (int)len, ep, has_path ? "" : "/v1/traces");
    Ccai_timer_init(&o->timer, on_timer, o);
    Ccai_timer_set_idle(&o->timer, true); /* spans to send are no work to drain */
    Ccai_tracer_opts to = {
        .sample_ratio = Ccai_config_double(cfg, "tracing.sample_ratio", 1.0),
        .max_queue = (size_t)Ccai_config_int(cfg, "tracing.max_queue_spans", 4096),
        .service_name = Ccai_config_str(cfg, "tracing.service_name"),
        .notify = on_full,
        .notify_ud = o,
        .notify_at = o->batch,
    };
    if (!o->url || !parse_headers(o, Ccai_config_str(cfg, "tracing.headers")) ||
        !(o->tracer = Ccai_tracer_new(&to))) {
        Ccai_otlp_free(o);
        return CCAI_ERR_NOMEM;
    }
    ccai_status st = Ccai_metrics_register(metrics, "ccai_trace_spans_total", CCAI_METRIC_COUNTER,
                                           "Trace spans by outcome: exported (the collector "
                                           "took them), dropped_queue_full, dropped_export",
                                           NULL, 0);
    if (st == CCAI_OK)
        st = Ccai_metrics_register(metrics, "ccai_trace_queue_spans", CCAI_METRIC_GAUGE,
                                   "Ended spans waiting for export", NULL, 0);
    if (st == CCAI_OK)
        st = Ccai_metrics_add_collector(metrics, collect, o);
    if (st != CCAI_OK) {
        Ccai_otlp_free(o);
        return st;
    }
    schedule(o, o->interval_ms);
    Ccai_log(log, CCAI_LOG_INFO, "tracing: OTLP/HTTP JSON to %s (sample ratio %g)", o->url,
             to.sample_ratio);
    *ret_tracer = o->tracer;
    *ret = o;
    return CCAI_OK;
}

void Ccai_otlp_free(Ccai_otlp *o)
{
    if (!o)
        return;
    Ccai_timer_stop(o->ctx, &o->timer);
    if (o->req)
        Ccai_http_cancel(o->req);
    ccai_free(o->body);
    Ccai_tracer_free(o->tracer);
    ccai_free(o->url);
    ccai_free(o->headers_buf);
    ccai_free(o);
}
