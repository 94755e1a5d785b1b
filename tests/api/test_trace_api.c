/* OpenTelemetry traces, through the shared library: a call with a turn
 * whose LLM answer calls a tool, exported to a stand-in OTLP/HTTP collector
 * (a loopback HTTP server answering as the OpenTelemetry Collector's
 * otlphttp receiver does: 200 with an empty JSON ExportTraceServiceResponse)
 * and checked there: the OTLP/JSON shape (resourceSpans / scopeSpans /
 * spans, hex ids, times as decimal strings, kinds and statuses as numbers),
 * one trace for the call, each span's parent (the group commits of the
 * bot's words with their row counts too), the reference's attributes
 * (the number masked), the configured headers, the trace id in the call's
 * log lines. Then what happens when the collector is down, when the queue
 * is full, and with a sample ratio of 0: the call goes on, spans are
 * dropped and counted on /metrics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <ccai/adapters/poll.h>
#include <ccai/ccai.h>

#include "support/httpd.h"
#include "support/llm_standin.h"

#include <ctype.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The collector stand-in: every body received, as parsed JSON. */
typedef struct collector {
    pthread_mutex_t mu;
    json_t *bodies; /* array */
    char headers[8192];
    char path[1024];
} collector;

static void on_export(const test_request *req, int fd, void *ud)
{
    collector *col = ud;
    json_error_t err;
    json_t *doc = json_loadb(req->body ? req->body : "", req->body_len, 0, &err);
    pthread_mutex_lock(&col->mu);
    json_array_append_new(col->bodies, doc ? doc : json_null());
    snprintf(col->headers, sizeof col->headers, "%s", req->headers);
    snprintf(col->path, sizeof col->path, "%s", req->path);
    pthread_mutex_unlock(&col->mu);
    test_httpd_printf(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                          "2\r\nConnection: close\r\n\r\n{}");
}

typedef struct logs {
    char lines[256][600];
    int n;
} logs;

static void on_log(ccai_log_level level, const char *msg, void *ud)
{
    (void)level;
    logs *l = ud;
    if (l->n < 256)
        snprintf(l->lines[l->n++], sizeof l->lines[0], "%s", msg);
}

static int op_say(ccai_call *c, const ccai_speech *sp, void *ud)
{
    (void)c;
    (void)sp;
    (void)ud;
    return 0;
}

static int op_listen(ccai_call *c, const char *lang, void *ud)
{
    (void)c;
    (void)lang;
    (void)ud;
    return 0;
}

static int op_stop(ccai_call *c, void *ud)
{
    (void)c;
    (void)ud;
    return 0;
}

static const ccai_call_ops ops = {
    .version = CCAI_CALL_OPS_VERSION, .say = op_say, .stop_speaking = op_stop, .listen = op_listen};

static void send(ccai_call *call, ccai_event_type type, const char *text)
{
    ccai_event *ev = NULL;
    assert_int_equal(ccai_event_new(type, &ev), CCAI_OK);
    if (text)
        assert_int_equal(ccai_event_set_text(ev, text), CCAI_OK);
    assert_int_equal(ccai_on_event(call, ev), CCAI_OK);
    ccai_event_free(ev);
}

static void run_turn(ccai_poll *poll, ccai_call *call)
{
    uint64_t deadline = ccai_time_ms() + 10000;
    while (ccai_call_get_state(call) == CCAI_CALL_TURN && ccai_time_ms() < deadline)
        assert_int_equal(ccai_poll_run_once(poll, 50), 0);
    assert_int_not_equal(ccai_call_get_state(call), CCAI_CALL_TURN);
}

static void run_for(ccai_poll *poll, int ms)
{
    uint64_t end = ccai_time_ms() + (uint64_t)ms;
    while (ccai_time_ms() < end)
        assert_int_equal(ccai_poll_run_once(poll, 20), 0);
}

static int is_hex(const char *s, size_t n)
{
    if (!s || strlen(s) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
            return 0;
    return 1;
}

static int is_decimal(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

static const char *attr(const json_t *span, const char *key, const char *type)
{
    size_t i;
    json_t *kv;
    json_array_foreach(json_object_get(span, "attributes"), i, kv)
    {
        if (strcmp(json_string_value(json_object_get(kv, "key")), key) == 0)
            return json_string_value(json_object_get(json_object_get(kv, "value"), type));
    }
    return NULL;
}

/* Every span of every request, after checking the OTLP/JSON envelope. */
static json_t *all_spans(collector *col)
{
    json_t *spans = json_array();
    pthread_mutex_lock(&col->mu);
    size_t i;
    json_t *doc;
    json_array_foreach(col->bodies, i, doc)
    {
        assert_true(json_is_object(doc));
        assert_int_equal(json_object_size(doc), 1);
        json_t *rs = json_object_get(doc, "resourceSpans");
        assert_int_equal(json_array_size(rs), 1);
        json_t *r0 = json_array_get(rs, 0);
        json_t *res_attrs = json_object_get(json_object_get(r0, "resource"), "attributes");
        json_t *svc = json_array_get(res_attrs, 0);
        assert_string_equal(json_string_value(json_object_get(svc, "key")), "service.name");
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(svc, "value"), "stringValue")),
            "ccai-test");
        json_t *ss = json_array_get(json_object_get(r0, "scopeSpans"), 0);
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(ss, "scope"), "name")), "libccai");
        size_t j;
        json_t *sp;
        json_array_foreach(json_object_get(ss, "spans"), j, sp)
        {
            assert_true(is_hex(json_string_value(json_object_get(sp, "traceId")), 32));
            assert_true(is_hex(json_string_value(json_object_get(sp, "spanId")), 16));
            json_t *parent = json_object_get(sp, "parentSpanId");
            assert_true(!parent || is_hex(json_string_value(parent), 16));
            const char *start = json_string_value(json_object_get(sp, "startTimeUnixNano"));
            const char *end = json_string_value(json_object_get(sp, "endTimeUnixNano"));
            assert_true(is_decimal(start) && is_decimal(end));
            assert_true(strtoull(end, NULL, 10) >= strtoull(start, NULL, 10));
            /* 2020 and later: wall-clock nanoseconds, not a monotonic clock. */
            assert_true(strtoull(start, NULL, 10) > 1577836800ull * 1000000000ull);
            json_int_t kind = json_integer_value(json_object_get(sp, "kind"));
            assert_true(kind >= 1 && kind <= 3);
            assert_true(json_is_object(json_object_get(sp, "status")));
            assert_true(json_is_array(json_object_get(sp, "attributes")));
            json_array_append(spans, sp);
        }
    }
    pthread_mutex_unlock(&col->mu);
    return spans;
}

static const json_t *find(const json_t *spans, const char *name, int nth)
{
    size_t i;
    json_t *sp;
    json_array_foreach(spans, i, sp)
    {
        if (strcmp(json_string_value(json_object_get(sp, "name")), name) == 0 && nth-- == 0)
            return sp;
    }
    return NULL;
}

static const char *s(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void metrics(ccai_ctx *ctx, char *out, size_t cap);

static void test_call_traced_to_the_collector(void **state)
{
    (void)state;
    collector col = {.bodies = json_array()};
    pthread_mutex_init(&col.mu, NULL);
    test_httpd *h = test_httpd_start(on_export, &col);
    assert_non_null(h);
    standin *llm = standin_start(NULL);
    assert_non_null(llm);
    static logs lg;
    lg.n = 0;
    ccai_config *cfg = NULL;
    assert_int_equal(ccai_config_new(&cfg), CCAI_OK);
    assert_int_equal(ccai_config_set_logger(cfg, on_log, &lg, CCAI_LOG_INFO), CCAI_OK);
    char url[128];
    assert_int_equal(ccai_config_set(cfg, "database.sqlite.path", ":memory:"), CCAI_OK);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1", standin_port(llm));
    assert_int_equal(ccai_config_set(cfg, "llm.fast.mode", "openai_compatible"), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "llm.fast.endpoint", url), CCAI_OK);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", test_httpd_port(h));
    assert_int_equal(ccai_config_set(cfg, "tracing.otlp_endpoint", url), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "tracing.headers", "X-Api-Key=k1,X-Tenant=acme"),
                     CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "tracing.service_name", "ccai-test"), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "tracing.export_interval_ms", "50"), CCAI_OK);
    ccai_poll *poll = NULL;
    ccai_ctx *ctx = NULL;
    assert_int_equal(ccai_poll_new(cfg, &poll, &ctx, NULL), CCAI_OK);

    ccai_call *call = NULL;
    ccai_call_params p = {
        .version = CCAI_CALL_PARAMS_VERSION,
        .direction = CCAI_INBOUND,
        .phone_number = "+14155550188",
        .channel = "local",
        .initiate_json = "{\"lang\":{\"default_short_code\":\"en-US\"}}",
    };
    assert_int_equal(ccai_call_start(ctx, &p, &ops, NULL, &call), CCAI_OK);
    char id[64];
    snprintf(id, sizeof id, "%s", ccai_call_id(call));
    send(call, CCAI_EVENT_CONNECTED, NULL);
    standin_tool_call tc = {.id = "call_1",
                            .name = "updated_claim",
                            .arguments = "{\"updates\":[{\"field\":\"incident_location\","
                                         "\"value\":\"Main Street\"}]}"};
    standin_spec a = STANDIN_SPEC_INIT;
    a.tool_calls = &tc;
    a.n_tool_calls = 1;
    standin_push(llm, &a);
    standin_spec b = STANDIN_SPEC_INIT;
    b.content = "Noted: Main Street. Was anyone hurt?";
    standin_push(llm, &b);
    send(call, CCAI_EVENT_SPEECH, "It happened on Main Street.");
    run_turn(poll, call);
    ccai_call_free(call);
    run_for(poll, 300);

    json_t *spans = all_spans(&col);
    const json_t *root = find(spans, "call", 0), *turn = find(spans, "turn", 0),
                 *llm1 = find(spans, "llm_completion", 0), *llm2 = find(spans, "llm_completion", 1),
                 *tool = find(spans, "tool", 0), *store = find(spans, "store_message_append", 0);
    assert_non_null(root);
    assert_non_null(turn);
    assert_non_null(llm1);
    assert_non_null(llm2);
    assert_non_null(tool);
    assert_non_null(store);
    print_message("# %zu spans in %zu requests\n", json_array_size(spans),
                  json_array_size(col.bodies));
    /* One trace for the call, and who is whose child. */
    const char *trace = s(root, "traceId");
    size_t i;
    json_t *sp;
    json_array_foreach(spans, i, sp) assert_string_equal(s(sp, "traceId"), trace);
    assert_null(json_object_get(root, "parentSpanId"));
    assert_string_equal(s(turn, "parentSpanId"), s(root, "spanId"));
    assert_string_equal(s(llm1, "parentSpanId"), s(turn, "spanId"));
    assert_string_equal(s(llm2, "parentSpanId"), s(turn, "spanId"));
    assert_string_equal(s(tool, "parentSpanId"), s(turn, "spanId"));
    assert_string_equal(s(store, "parentSpanId"), s(root, "spanId"));
    /* The bot's sentences, kept and stored by a group commit: its span on
     * the call, with the rows it wrote. */
    int64_t rows = 0;
    for (int k = 0; find(spans, "store_commit", k); k++) {
        const json_t *commit = find(spans, "store_commit", k);
        assert_string_equal(s(commit, "parentSpanId"), s(root, "spanId"));
        assert_int_equal(json_integer_value(json_object_get(commit, "kind")), 3);
        rows += strtoll(attr(commit, "store.rows", "intValue"), NULL, 10);
        assert_non_null(attr(commit, "store.batch_calls", "intValue"));
    }
    print_message("# %lld rows in store_commit spans\n", (long long)rows);
    assert_true(rows >= 2); /* the greeting, the answer's sentences */
    assert_int_equal(json_integer_value(json_object_get(root, "kind")), 2);
    assert_int_equal(json_integer_value(json_object_get(llm1, "kind")), 3);
    /* The reference's attributes; the number masked as the logs mask it. */
    assert_string_equal(attr(root, "call.id", "stringValue"), id);
    assert_string_equal(attr(root, "call.phone_number", "stringValue"), "+14******88");
    assert_string_equal(attr(root, "call.channel", "stringValue"), "local");
    assert_string_equal(attr(tool, "tool.name", "stringValue"), "updated_claim");
    assert_string_equal(attr(llm1, "llm.round", "intValue"), "1");
    assert_string_equal(attr(llm2, "llm.round", "intValue"), "2");
    /* Children inside their parent's time. */
    assert_true(strtoull(s(turn, "startTimeUnixNano"), NULL, 10) >=
                strtoull(s(root, "startTimeUnixNano"), NULL, 10));
    assert_true(strtoull(s(llm2, "endTimeUnixNano"), NULL, 10) <=
                strtoull(s(turn, "endTimeUnixNano"), NULL, 10));
    /* The request: the path, the content type, the configured headers. */
    assert_string_equal(col.path, "/v1/traces");
    assert_non_null(strcasestr(col.headers, "Content-Type: application/json"));
    assert_non_null(strstr(col.headers, "X-Api-Key: k1"));
    assert_non_null(strstr(col.headers, "X-Tenant: acme"));
    /* The trace id in the call's log lines. */
    char want[64];
    snprintf(want, sizeof want, "[trace_id=%s]", trace);
    int with = 0;
    for (int k = 0; k < lg.n; k++)
        with += strstr(lg.lines[k], want) != NULL;
    print_message("# %d log lines name the trace\n", with);
    assert_true(with > 0);
    char started[128];
    snprintf(started, sizeof started, "call %s: inbound started on local", id);
    for (int k = 0; k < lg.n; k++) {
        if (strstr(lg.lines[k], started))
            assert_non_null(strstr(lg.lines[k], want));
    }

    static char m[1 << 18];
    metrics(ctx, m, sizeof m);
    char line[96];
    snprintf(line, sizeof line, "ccai_trace_spans_total{outcome=\"exported\"} %zu",
             json_array_size(spans));
    assert_non_null(strstr(m, line));

    json_decref(spans);
    ccai_poll_free(poll);
    ccai_config_free(cfg);
    standin_stop(llm);
    test_httpd_stop(h);
    json_decref(col.bodies);
    pthread_mutex_destroy(&col.mu);
}

typedef struct answer {
    int status;
    char *out;
    size_t cap;
} answer;

static void on_answer(ccai_http_exchange *x, const ccai_http_response *res, void *ud)
{
    (void)x;
    answer *a = ud;
    a->status = res->status;
    snprintf(a->out, a->cap, "%.*s", (int)res->body_len, res->body ? res->body : "");
}

static void metrics(ccai_ctx *ctx, char *out, size_t cap)
{
    ccai_http_header hd[] = {{"Host", "127.0.0.1"}};
    ccai_http_request rq = {.version = CCAI_HTTP_REQUEST_VERSION,
                            .method = "GET",
                            .path = "/metrics",
                            .headers = hd,
                            .n_headers = 1,
                            .remote_addr = "127.0.0.1"};
    answer a = {0, out, cap};
    assert_int_equal(ccai_ctx_http(ctx, &rq, on_answer, &a, NULL), CCAI_OK);
    assert_int_equal(a.status, 200);
}

/* A few calls without a turn: a root span and its store writes each. */
static void calls(ccai_ctx *ctx, int n)
{
    for (int i = 0; i < n; i++) {
        ccai_call *call = NULL;
        ccai_call_params p = {
            .version = CCAI_CALL_PARAMS_VERSION,
            .direction = CCAI_INBOUND,
            .phone_number = "+14155550177",
            .channel = "local",
        };
        assert_int_equal(ccai_call_start(ctx, &p, &ops, NULL, &call), CCAI_OK);
        send(call, CCAI_EVENT_CONNECTED, NULL);
        ccai_call_free(call);
    }
}

/* A sample's value (the line that starts with @series), -1 when absent. */
static double metric(const char *m, const char *series)
{
    for (const char *at = strstr(m, series); at; at = strstr(at + 1, series)) {
        if (at == m || at[-1] == '\n')
            return strtod(at + strlen(series), NULL);
    }
    return -1;
}

static void test_collector_down_queue_full_unsampled(void **state)
{
    (void)state;
    static char m[1 << 18];
    /* Down: a port nobody listens on. The calls go on; spans dropped. */
    ccai_config *cfg = NULL;
    assert_int_equal(ccai_config_new(&cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "database.sqlite.path", ":memory:"), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "tracing.otlp_endpoint", "http://127.0.0.1:9"), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "tracing.export_interval_ms", "20"), CCAI_OK);
    ccai_poll *poll = NULL;
    ccai_ctx *ctx = NULL;
    assert_int_equal(ccai_poll_new(cfg, &poll, &ctx, NULL), CCAI_OK);
    calls(ctx, 5);
    run_for(poll, 300);
    metrics(ctx, m, sizeof m);
    double dropped = metric(m, "ccai_trace_spans_total{outcome=\"dropped_export\"} ");
    print_message("# collector down: %.0f spans dropped\n", dropped);
    assert_true(dropped >= 5);
    assert_true(metric(m, "ccai_trace_spans_total{outcome=\"exported\"} ") == 0);
    assert_true(metric(m, "ccai_trace_queue_spans ") == 0);
    ccai_poll_free(poll);

    /* Full: two spans wait at most, the rest are dropped when they end. */
    assert_int_equal(ccai_config_set(cfg, "tracing.max_queue_spans", "2"), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "tracing.export_interval_ms", "600000"), CCAI_OK);
    assert_int_equal(ccai_poll_new(cfg, &poll, &ctx, NULL), CCAI_OK);
    calls(ctx, 3);
    metrics(ctx, m, sizeof m);
    assert_true(metric(m, "ccai_trace_spans_total{outcome=\"dropped_queue_full\"} ") >= 4);
    assert_true(metric(m, "ccai_trace_queue_spans ") == 2);
    ccai_poll_free(poll);

    /* Sampled out: nothing recorded. */
    assert_int_equal(ccai_config_set(cfg, "tracing.sample_ratio", "0"), CCAI_OK);
    assert_int_equal(ccai_poll_new(cfg, &poll, &ctx, NULL), CCAI_OK);
    calls(ctx, 3);
    metrics(ctx, m, sizeof m);
    assert_true(metric(m, "ccai_trace_spans_total{outcome=\"dropped_queue_full\"} ") == 0);
    assert_true(metric(m, "ccai_trace_spans_total{outcome=\"exported\"} ") == 0);
    assert_true(metric(m, "ccai_trace_queue_spans ") == 0);
    ccai_poll_free(poll);
    ccai_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_call_traced_to_the_collector),
        cmocka_unit_test(test_collector_down_queue_full_unsampled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
