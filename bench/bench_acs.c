/* The Azure Communication Services channel under load, in one process:
 * N concurrent calls arrive through Event Grid, are answered, connect, then
 * do K turns, every caller speaking at once; each turn is a signed
 * RecognizeCompleted callback and ends when the bot's answer has reached the
 * ACS stand-in as SSML plays and a recognition. Without --llm the offline
 * dialogue answers (libccai's own cost); with --llm the LLM stand-in does,
 * with realistic latency.
 *
 *   build/bench/bench-acs [--calls N] [--turns K] [--llm]
 *
 * Prints:
 *   - callback handling: time inside ccai_ctx_http() for one callback
 *     (bearer JWT verified, CloudEvents parsed, the engine's step, REST
 *     requests signed and started), p50 / p99;
 *   - turn latency: from the caller's words posted to the first media
 *     request, and to the recognition that ends the answer, as the stand-in
 *     received them (HMAC checked there), p50 / p99;
 *   - the bearer token check alone, with the key set cached.
 * The stand-in serves one connection at a time and closes each: it is part
 * of what is measured, as a real network would be.
 */
#include <ccai/adapters/poll.h>

#include "channels/acs/acs_auth.h"
#include "io/io.h"
#include "support/acs_standin.h"
#include "support/llm_standin.h"

#include "bench_stats.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BOT      "+15550002222"
#define RESOURCE "bench-resource"
#define PUBLIC   "https://bot.example.test"

typedef struct bcall {
    char conn[64];
    char callback[512];
    int answered_req; /* index of its answer request */
} bcall;

typedef struct answer {
    int done, status;
} answer;

static void on_answer(ccai_http_exchange *x, const ccai_http_response *res, void *ud)
{
    (void)x;
    answer *a = ud;
    a->done = 1;
    a->status = res->status;
}

static ccai_poll *g_poll;
static ccai_ctx *g_ctx;

/* POST body; returns the milliseconds spent inside ccai_ctx_http(). */
static double post(const char *target, const char *body, const char *auth, answer *a)
{
    char path[512], query[512] = "";
    const char *q = strchr(target, '?');
    snprintf(path, sizeof path, "%.*s", q ? (int)(q - target) : (int)strlen(target), target);
    if (q)
        snprintf(query, sizeof query, "%s", q + 1);
    ccai_http_header h[2] = {{"Content-Type", "application/json"}, {"Authorization", auth}};
    ccai_http_request req = {CCAI_HTTP_REQUEST_VERSION,
                             "POST",
                             path,
                             q ? query : NULL,
                             h,
                             auth ? 2 : 1,
                             body,
                             strlen(body),
                             "52.112.0.1"};
    memset(a, 0, sizeof *a);
    double t0 = bench_now_ms();
    if (ccai_ctx_http(g_ctx, &req, on_answer, a, NULL) != CCAI_OK) {
        fprintf(stderr, "bench-acs: ccai_ctx_http failed\n");
        exit(1);
    }
    double spent = bench_now_ms() - t0;
    while (!a->done)
        ccai_poll_run_once(g_poll, 5);
    if (a->status != 200) {
        fprintf(stderr, "bench-acs: %s answered %d\n", target, a->status);
        exit(1);
    }
    return spent;
}

/* Index of the call whose connection id is in path, or -1. */
static int call_of_path(bcall *calls, int n, const char *path)
{
    for (int i = 0; i < n; i++) {
        if (calls[i].conn[0] && strstr(path, calls[i].conn))
            return i;
    }
    return -1;
}

static void on_token(ccai_status st, const json_t *claims, const char *errmsg, void *ud)
{
    (void)claims;
    (void)errmsg;
    *(ccai_status *)ud = st;
}

static void bench_token(acs_standin *acs)
{
    char openid[160];
    snprintf(openid, sizeof openid, "%s/calling/.well-known/acsopenidconfiguration",
             acs_standin_url(acs));
    Ccai_acs_auth_opts o = {.openid_config_url = openid, .audience = RESOURCE};
    Ccai_acs_auth *auth = NULL;
    if (Ccai_acs_auth_new(g_ctx, &o, &auth) != CCAI_OK)
        exit(1);
    char *bearer = acs_standin_bearer(acs, RESOURCE, ACS_TOKEN_VALID);
    /* The first check fetches the key set. */
    Ccai_acs_auth_op *op = NULL;
    ccai_status first = CCAI_ERR_STATE;
    ccai_status st = Ccai_acs_auth_check(auth, bearer, on_token, &first, &op, NULL, NULL);
    double until = bench_now_ms() + 5000;
    while (st == CCAI_ACS_AUTH_PENDING && first == CCAI_ERR_STATE && bench_now_ms() < until)
        ccai_poll_run_once(g_poll, 5);
    enum { ITER = 5000 };
    static double v[ITER];
    size_t n = 0;
    for (int i = 0; i < ITER; i++) {
        json_t *claims = NULL;
        Ccai_acs_auth_op *op2 = NULL;
        double t0 = bench_now_ms();
        st = Ccai_acs_auth_check(auth, bearer, on_token, NULL, &op2, &claims, NULL);
        double dt = bench_now_ms() - t0;
        json_decref(claims);
        if (st == CCAI_OK)
            v[n++] = dt;
    }
    bench_report("bearer JWT check (RS256, keys cached)", v, n, "us", 1000.0);
    free(bearer);
    Ccai_acs_auth_free(auth);
}

int main(int argc, char **argv)
{
    int n_calls = 200, turns = 5;
    bool llm = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--calls") && i + 1 < argc)
            n_calls = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--turns") && i + 1 < argc)
            turns = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--llm"))
            llm = true;
        else {
            fprintf(stderr, "usage: bench-acs [--calls N] [--turns K] [--llm]\n");
            return 64;
        }
    }
    if (n_calls < 1 || n_calls > 5000 || turns < 1)
        return 64;
    acs_standin *acs = acs_standin_start(NULL);
    standin *llm_s = NULL;
    if (llm) {
        standin_opts so = {0};
        so.ttft_ms = 300;
        so.chunk_ms = 30;
        so.cycle = 1;
        so.no_record = 1;
        llm_s = standin_start(&so);
        standin_spec sp = STANDIN_SPEC_INIT;
        sp.content = "I understand. Let me note that. What else can you tell me?";
        standin_push(llm_s, &sp);
    }
    ccai_config *cfg = NULL;
    char openid[160], ep[96];
    snprintf(openid, sizeof openid, "%s/calling/.well-known/acsopenidconfiguration",
             acs_standin_url(acs));
    if (ccai_config_new(&cfg) != CCAI_OK)
        return 1;
    const char *kv[][2] = {
        {"database.sqlite.path", ":memory:"},
        {"communication_services.endpoint", acs_standin_url(acs)},
        {"communication_services.access_key", ACS_STANDIN_KEY},
        {"communication_services.phone_number", BOT},
        {"communication_services.resource_id", RESOURCE},
        {"communication_services.openid_config_url", openid},
        {"server.public_url", PUBLIC},
        {"conversation.initiate.lang",
         "{\"default_short_code\": \"en-US\", \"availables\": [{\"short_code\": \"en-US\", "
         "\"voice\": \"en-US-AvaNeural\", \"pronunciations_en\": [\"English\"]}]}"},
        {"log.level", "error"},
    };
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++) {
        if (ccai_config_set(cfg, kv[i][0], kv[i][1]) != CCAI_OK) {
            fprintf(stderr, "%s: %s\n", kv[i][0], ccai_config_errmsg(cfg));
            return 1;
        }
    }
    if (llm) {
        snprintf(ep, sizeof ep, "http://127.0.0.1:%d/v1", standin_port(llm_s));
        ccai_config_set(cfg, "llm.fast.mode", "openai_compatible");
        ccai_config_set(cfg, "llm.fast.endpoint", ep);
    }
    if (ccai_poll_new(cfg, &g_poll, &g_ctx, NULL) != CCAI_OK)
        return 1;

    printf("bench-acs: %d calls x %d turns, %s, ACS and callbacks on one machine\n", n_calls, turns,
           llm ? "LLM stand-in (ttft 300 ms, 30 ms chunks)" : "offline dialogue");
    bcall *calls = calloc((size_t)n_calls, sizeof *calls);
    size_t cap = (size_t)n_calls * (size_t)(turns + 3);
    double *handle = calloc(cap, sizeof *handle), *first = calloc(cap, sizeof *first),
           *done = calloc(cap, sizeof *done);
    size_t n_handle = 0, n_first = 0, n_done = 0;
    char *bearer = acs_standin_bearer(acs, RESOURCE, ACS_TOKEN_VALID);
    answer a;
    double t_start = bench_now_ms();

    /* Every call rings. */
    for (int i = 0; i < n_calls; i++) {
        char body[2048];
        snprintf(
            body, sizeof body,
            "[{\"id\":\"eg-%d\",\"eventType\":\"Microsoft.Communication.IncomingCall\","
            "\"subject\":\"/caller\",\"data\":{\"to\":{\"kind\":\"phoneNumber\",\"rawId\":"
            "\"4:" BOT "\",\"phoneNumber\":{\"value\":\"" BOT "\"}},\"from\":{\"kind\":"
            "\"phoneNumber\",\"rawId\":\"4:+3361%07d\",\"phoneNumber\":{\"value\":"
            "\"+3361%07d\"}},\"serverCallId\":\"srv-%d\",\"incomingCallContext\":\"ctx-%d\"}}]",
            i, i, i, i, i);
        post("/acs/events", body, NULL, &a);
    }
    /* Their answers reach ACS: learn each call's connection and callback. */
    int found = 0, seen = 0;
    double deadline = bench_now_ms() + 60000;
    while (found < n_calls && bench_now_ms() < deadline) {
        ccai_poll_run_once(g_poll, 5);
        for (; seen < acs_standin_request_count(acs); seen++) {
            char *conn = acs_standin_request_created(acs, seen);
            json_t *j = conn ? acs_standin_request_json(acs, seen) : NULL;
            const char *ctxs = json_string_value(json_object_get(j, "incomingCallContext"));
            const char *cb = json_string_value(json_object_get(j, "callbackUri"));
            int k = ctxs ? atoi(ctxs + 4) : -1;
            if (k >= 0 && k < n_calls && cb && !calls[k].conn[0]) {
                snprintf(calls[k].conn, sizeof calls[k].conn, "%s", conn);
                snprintf(calls[k].callback, sizeof calls[k].callback, "%s", cb + strlen(PUBLIC));
                found++;
            }
            json_decref(j);
            free(conn);
        }
    }
    if (found < n_calls) {
        fprintf(stderr, "bench-acs: only %d of %d calls answered\n", found, n_calls);
        return 1;
    }
    /* Connected: each call is greeted, with a recognition. */
    for (int i = 0; i < n_calls; i++) {
        char *ev = acs_standin_event("CallConnected", calls[i].conn, NULL);
        handle[n_handle++] = post(calls[i].callback, ev, bearer, &a);
        free(ev);
    }
    int *state = calloc((size_t)n_calls, sizeof *state);
    double *t_said = calloc((size_t)n_calls, sizeof *t_said);
    int errors = 0;
    /* Wait until every call listens: its recognition arrived. */
    int waiting = n_calls;
    for (int i = 0; i < n_calls; i++)
        state[i] = 1;
    for (int turn = 0; turn <= turns; turn++) {
        deadline = bench_now_ms() + 120000;
        while (waiting > 0 && bench_now_ms() < deadline) {
            ccai_poll_run_once(g_poll, 2);
            for (; seen < acs_standin_request_count(acs); seen++) {
                char *path = acs_standin_request_path(acs, seen);
                int k = path ? call_of_path(calls, n_calls, path) : -1;
                bool media = path && (strstr(path, ":play") || strstr(path, ":recognize"));
                bool listen = path && strstr(path, ":recognize");
                if (k >= 0 && media && acs_standin_request_status(acs, seen) / 100 != 2)
                    errors++;
                if (k >= 0 && media && state[k] >= 1) {
                    double t = (double)acs_standin_request_time_ns(acs, seen) / 1e6;
                    if (state[k] == 2 && turn > 0) {
                        first[n_first++] = t - t_said[k];
                        state[k] = 3;
                    }
                    if (listen) {
                        if (turn > 0)
                            done[n_done++] = t - t_said[k];
                        state[k] = 0;
                        waiting--;
                    }
                }
                free(path);
            }
        }
        if (waiting > 0) {
            fprintf(stderr, "bench-acs: %d calls never listened again\n", waiting);
            return 1;
        }
        if (turn == turns)
            break;
        /* Every caller speaks at once. */
        static const char *const lines[] = {"My car was hit yesterday at 9 pm",
                                            "It happened in Lyon, rue de la Republique",
                                            "Nobody was hurt",
                                            "My email is jean at example dot com",
                                            "Yes that is right",
                                            "Thank you"};
        for (int i = 0; i < n_calls; i++) {
            char data[256];
            snprintf(data, sizeof data,
                     "{\"recognitionType\":\"speech\",\"speechResult\":{\"speech\":\"%s\"}}",
                     lines[turn % 6]);
            char *ev = acs_standin_event("RecognizeCompleted", calls[i].conn, data);
            state[i] = 2;
            t_said[i] = bench_now_ms();
            handle[n_handle++] = post(calls[i].callback, ev, bearer, &a);
            free(ev);
        }
        waiting = n_calls;
    }
    double elapsed = bench_now_ms() - t_start;
    for (int i = 0; i < n_calls; i++) {
        char *ev = acs_standin_event("CallDisconnected", calls[i].conn, NULL);
        post(calls[i].callback, ev, bearer, &a);
        free(ev);
    }
    int requests = acs_standin_request_count(acs);
    printf("  %d calls, %d turns each: %.1f s; %d REST requests to ACS (%.0f/s), %d errors\n",
           n_calls, turns, elapsed / 1000.0, requests, requests / (elapsed / 1000.0), errors);
    printf("  %.0f turns/s, %.0f callbacks/s handled\n", n_calls * turns / (elapsed / 1000.0),
           (double)n_handle / (elapsed / 1000.0));
    bench_report("callback handling (in ccai_ctx_http)", handle, n_handle, "ms", 1.0);
    bench_report("caller's words -> first media request", first, n_first, "ms", 1.0);
    bench_report("caller's words -> recognition (turn done)", done, n_done, "ms", 1.0);
    bench_token(acs);

    free(bearer);
    free(calls);
    free(handle);
    free(first);
    free(done);
    free(state);
    free(t_said);
    ccai_poll_free(g_poll);
    ccai_config_free(cfg);
    acs_standin_stop(acs);
    standin_stop(llm_s);
    return 0;
}
