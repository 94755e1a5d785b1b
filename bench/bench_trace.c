/* The cost of tracing per turn: the same turns (one call, the LLM stand-in
 * answering at once with a tool call and then text, so each turn has two
 * LLM requests, a tool and its store writes) run with tracing off, then on
 * (every call sampled, OTLP/HTTP JSON to a stand-in collector on loopback
 * that answers 200 at once). The figure is the CPU time of the thread that
 * runs libccai (CLOCK_THREAD_CPUTIME_ID: the stand-ins' threads are not in
 * it) per turn, off and on, the difference being the recording, encoding
 * and sending of the spans; then spans and bytes per turn, and the
 * recording+encoding alone (core/trace.c, no I/O) per span.
 *
 *   build/bench/bench-trace [TURNS]   (default 2000)
 */
#include <ccai/adapters/poll.h>
#include <ccai/ccai.h>

#include "core/trace.h"
#include "support/httpd.h"
#include "support/llm_standin.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct sink {
    pthread_mutex_t mu;
    size_t requests, bytes;
} sink;

static void on_export(const test_request *req, int fd, void *ud)
{
    sink *s = ud;
    pthread_mutex_lock(&s->mu);
    s->requests++;
    s->bytes += req->body_len;
    pthread_mutex_unlock(&s->mu);
    test_httpd_printf(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                          "Content-Length: 2\r\nConnection: close\r\n\r\n{}");
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

static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fail(const char *what)
{
    fprintf(stderr, "bench-trace: %s\n", what);
    return 1;
}

/* CPU seconds of this thread for @turns turns; -1 on failure. */
static double run(int turns, standin *llm, int collector_port, const char *metrics_name)
{
    (void)metrics_name;
    ccai_config *cfg = NULL;
    if (ccai_config_new(&cfg) != CCAI_OK)
        return -1;
    char url[96];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1", standin_port(llm));
    int ok = ccai_config_set(cfg, "database.sqlite.path", ":memory:") == CCAI_OK &&
             ccai_config_set(cfg, "llm.fast.mode", "openai_compatible") == CCAI_OK &&
             ccai_config_set(cfg, "llm.fast.endpoint", url) == CCAI_OK &&
             ccai_config_set(cfg, "conversation.history_max_messages", "6") == CCAI_OK &&
             ccai_config_set(cfg, "log.level", "error") == CCAI_OK;
    if (ok && collector_port) {
        snprintf(url, sizeof url, "http://127.0.0.1:%d", collector_port);
        ok = ccai_config_set(cfg, "tracing.otlp_endpoint", url) == CCAI_OK &&
             ccai_config_set(cfg, "tracing.export_interval_ms", "200") == CCAI_OK;
    }
    ccai_poll *poll = NULL;
    ccai_ctx *ctx = NULL;
    if (!ok || ccai_poll_new(cfg, &poll, &ctx, NULL) != CCAI_OK) {
        ccai_config_free(cfg);
        return -1;
    }
    ccai_call *call = NULL;
    ccai_call_params p = {
        .version = CCAI_CALL_PARAMS_VERSION,
        .direction = CCAI_INBOUND,
        .phone_number = "+14155550100",
        .channel = "local",
        .initiate_json = "{\"lang\":{\"default_short_code\":\"en-US\"}}",
    };
    double cpu = -1;
    if (ccai_call_start(ctx, &p, &ops, NULL, &call) != CCAI_OK)
        goto out;
    ccai_event *ev = NULL;
    if (ccai_event_new(CCAI_EVENT_CONNECTED, &ev) != CCAI_OK || ccai_on_event(call, ev) != CCAI_OK)
        goto out;
    ccai_event_free(ev);
    ev = NULL;
    standin_tool_call tc = {.name = "updated_claim",
                            .arguments = "{\"updates\":[{\"field\":\"incident_location\","
                                         "\"value\":\"Main Street\"}]}"};
    double t0 = thread_cpu_s();
    for (int i = 0; i < turns; i++) {
        standin_spec a = STANDIN_SPEC_INIT, b = STANDIN_SPEC_INIT;
        a.tool_calls = &tc;
        a.n_tool_calls = 1;
        a.ttft_ms = 0;
        b.content = "Noted. Was anyone hurt?";
        b.ttft_ms = 0;
        b.chunk_ms = 0;
        standin_push(llm, &a);
        standin_push(llm, &b);
        if (ccai_event_new(CCAI_EVENT_SPEECH, &ev) != CCAI_OK ||
            ccai_event_set_text(ev, "It happened on Main Street.") != CCAI_OK ||
            ccai_on_event(call, ev) != CCAI_OK)
            goto out;
        ccai_event_free(ev);
        ev = NULL;
        double deadline = wall_s() + 10;
        while (ccai_call_get_state(call) == CCAI_CALL_TURN && wall_s() < deadline)
            (void)ccai_poll_run_once(poll, 50);
        if (ccai_call_get_state(call) == CCAI_CALL_TURN)
            goto out;
    }
    cpu = thread_cpu_s() - t0;
    /* The last batch goes out (its cost after the turns is not counted). */
    double end = wall_s() + 0.5;
    while (wall_s() < end)
        (void)ccai_poll_run_once(poll, 20);
out:
    ccai_event_free(ev);
    ccai_call_free(call);
    ccai_poll_free(poll);
    ccai_config_free(cfg);
    return cpu;
}

/* Recording and encoding alone: spans of one turn's shape, encoded in
 * batches of 512, ns per span. */
static double encode_ns_per_span(int n)
{
    Ccai_tracer_opts o = {.sample_ratio = 1, .max_queue = 1u << 20, .service_name = "bench"};
    Ccai_tracer *t = Ccai_tracer_new(&o);
    if (!t)
        return -1;
    double t0 = thread_cpu_s();
    for (int i = 0; i < n; i += 8) {
        Ccai_span *root = Ccai_trace_root(t, "call", CCAI_SPAN_SERVER);
        Ccai_span_attr_str(root, "call.id", "4a6c0d7e-8b1f-4d7a-9a55-0c7a1c9f0d11");
        Ccai_span_attr_str(root, "call.phone_number", "+14******00");
        Ccai_span_attr_str(root, "call.channel", "local");
        Ccai_span *turn = Ccai_span_child(root, "turn", CCAI_SPAN_INTERNAL);
        for (int k = 0; k < 2; k++) {
            Ccai_span *llm = Ccai_span_child(turn, "llm_completion", CCAI_SPAN_CLIENT);
            Ccai_span_attr_str(llm, "llm.model", "fast");
            Ccai_span_attr_int(llm, "llm.round", k + 1);
            Ccai_span_end(llm);
        }
        Ccai_span *tool = Ccai_span_child(turn, "tool", CCAI_SPAN_INTERNAL);
        Ccai_span_attr_str(tool, "tool.name", "updated_claim");
        Ccai_span_end(tool);
        for (int k = 0; k < 3; k++)
            Ccai_span_end(Ccai_span_child(root, "store_message_append", CCAI_SPAN_CLIENT));
        Ccai_span_end(turn);
        Ccai_span_end(root);
        size_t got = 0;
        char *body;
        while ((body = Ccai_tracer_encode(t, 512, &got)) != NULL)
            ccai_free(body);
    }
    double dt = thread_cpu_s() - t0;
    Ccai_tracer_free(t);
    return dt * 1e9 / n;
}

int main(int argc, char **argv)
{
    int turns = argc > 1 ? atoi(argv[1]) : 2000;
    if (turns < 10)
        return fail("TURNS: at least 10");
    standin *llm = standin_start(NULL);
    sink s = {.requests = 0};
    pthread_mutex_init(&s.mu, NULL);
    test_httpd *col = test_httpd_start(on_export, &s);
    if (!llm || !col)
        return fail("cannot start the stand-ins");
    /* A warm-up of each, then the measured runs alternated twice. */
    double off = 0, on = 0;
    if (run(turns / 10, llm, 0, NULL) < 0 || run(turns / 10, llm, test_httpd_port(col), NULL) < 0)
        return fail("warm-up failed");
    pthread_mutex_lock(&s.mu);
    s.requests = s.bytes = 0;
    pthread_mutex_unlock(&s.mu);
    for (int r = 0; r < 2; r++) {
        double a = run(turns, llm, 0, NULL), b = run(turns, llm, test_httpd_port(col), NULL);
        if (a < 0 || b < 0)
            return fail("a run failed");
        off += a;
        on += b;
    }
    int total = 2 * turns;
    pthread_mutex_lock(&s.mu);
    size_t reqs = s.requests, bytes = s.bytes;
    pthread_mutex_unlock(&s.mu);
    /* Spans per turn: the turn, two LLM requests, the tool, the store
     * writes (counted by the collector's bytes, not guessed). */
    printf("bench-trace: %d turns with tracing off, %d on (2 rounds, alternated)\n", total, total);
    printf("  engine thread CPU per turn, tracing off: %.1f us\n", off * 1e6 / total);
    printf("  engine thread CPU per turn, tracing on:  %.1f us\n", on * 1e6 / total);
    printf("  span export overhead per turn:           %.1f us (%.1f%%)\n",
           (on - off) * 1e6 / total, off > 0 ? (on - off) * 100 / off : 0);
    printf("  export requests: %zu, %.0f bytes of OTLP JSON per turn\n", reqs,
           (double)bytes / total);
    printf("  recording + encoding alone: %.0f ns per span\n", encode_ns_per_span(80000));
    test_httpd_stop(col);
    standin_stop(llm);
    pthread_mutex_destroy(&s.mu);
    return 0;
}
