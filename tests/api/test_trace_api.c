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

#include "support/llm_standin.h"
#include "support/otlp_collector.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void metrics(ccai_ctx *ctx, char *out, size_t cap);

static void test_call_traced_to_the_collector(void **state)
{
    (void)state;
    otlp_collector col;
    otlp_collector_start(&col);
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
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", otlp_collector_port(&col));
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

    json_t *spans = otlp_collector_spans(&col, "ccai-test");
    const json_t *root = otlp_span_find(spans, "call", 0), *turn = otlp_span_find(spans, "turn", 0),
                 *llm1 = otlp_span_find(spans, "llm_completion", 0),
                 *llm2 = otlp_span_find(spans, "llm_completion", 1),
                 *tool = otlp_span_find(spans, "tool", 0),
                 *store = otlp_span_find(spans, "store_message_append", 0);
    assert_non_null(root);
    assert_non_null(turn);
    assert_non_null(llm1);
    assert_non_null(llm2);
    assert_non_null(tool);
    assert_non_null(store);
    print_message("# %zu spans in %zu requests\n", json_array_size(spans),
                  json_array_size(col.bodies));
    /* One trace for the call, and who is whose child. */
    const char *trace = otlp_str(root, "traceId");
    size_t i;
    json_t *sp;
    json_array_foreach(spans, i, sp) assert_string_equal(otlp_str(sp, "traceId"), trace);
    assert_null(json_object_get(root, "parentSpanId"));
    assert_string_equal(otlp_str(turn, "parentSpanId"), otlp_str(root, "spanId"));
    assert_string_equal(otlp_str(llm1, "parentSpanId"), otlp_str(turn, "spanId"));
    assert_string_equal(otlp_str(llm2, "parentSpanId"), otlp_str(turn, "spanId"));
    assert_string_equal(otlp_str(tool, "parentSpanId"), otlp_str(turn, "spanId"));
    assert_string_equal(otlp_str(store, "parentSpanId"), otlp_str(root, "spanId"));
    /* The bot's sentences, kept and stored by a group commit: its span on
     * the call, with the rows it wrote. */
    int64_t rows = 0;
    for (int k = 0; otlp_span_find(spans, "store_commit", k); k++) {
        const json_t *commit = otlp_span_find(spans, "store_commit", k);
        assert_string_equal(otlp_str(commit, "parentSpanId"), otlp_str(root, "spanId"));
        assert_int_equal(json_integer_value(json_object_get(commit, "kind")), 3);
        rows += strtoll(otlp_span_attr(commit, "store.rows", "intValue"), NULL, 10);
        assert_non_null(otlp_span_attr(commit, "store.batch_calls", "intValue"));
    }
    print_message("# %lld rows in store_commit spans\n", (long long)rows);
    assert_true(rows >= 2); /* the greeting, the answer's sentences */
    assert_int_equal(json_integer_value(json_object_get(root, "kind")), 2);
    assert_int_equal(json_integer_value(json_object_get(llm1, "kind")), 3);
    /* The reference's attributes; the number masked as the logs mask it. */
    assert_string_equal(otlp_span_attr(root, "call.id", "stringValue"), id);
    assert_string_equal(otlp_span_attr(root, "call.phone_number", "stringValue"), "+14******88");
    assert_string_equal(otlp_span_attr(root, "call.channel", "stringValue"), "local");
    assert_string_equal(otlp_span_attr(tool, "tool.name", "stringValue"), "updated_claim");
    assert_string_equal(otlp_span_attr(llm1, "llm.round", "intValue"), "1");
    assert_string_equal(otlp_span_attr(llm2, "llm.round", "intValue"), "2");
    /* Children inside their parent's time. */
    assert_true(strtoull(otlp_str(turn, "startTimeUnixNano"), NULL, 10) >=
                strtoull(otlp_str(root, "startTimeUnixNano"), NULL, 10));
    assert_true(strtoull(otlp_str(llm2, "endTimeUnixNano"), NULL, 10) <=
                strtoull(otlp_str(turn, "endTimeUnixNano"), NULL, 10));
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
    otlp_collector_stop(&col);
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
