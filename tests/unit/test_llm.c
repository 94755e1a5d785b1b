/* The LLM client against the local OpenAI/Azure stand-in: streaming, tool
 * calls, Azure, retries with Retry-After, fail-over, cut and stalled
 * streams, continuation without repeated speech, JSON mode, cancel. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <ccai/adapters/poll.h>

#include "core/json.h"
#include "io/io.h"
#include "llm/llm.h"
#include "support/llm_standin.h"
#include "support/randtext.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct out {
    int done;
    ccai_status st;
    Ccai_llm_finish finish;
    char text[4096];
    size_t text_len;
    int deltas;
    int retries;
    char model[16];
    int attempts;
    size_t n_calls;
    char call_names[4][32];
    char call_args[4][256];
    char call_ids[4][32];
    char err[512];
    int64_t prompt_tokens;
    Ccai_llm_call *self;
    int cancel_after_deltas;
} out;

static int on_text(const char *t, size_t n, void *ud)
{
    out *o = ud;
    if (o->text_len + n < sizeof o->text) {
        memcpy(o->text + o->text_len, t, n);
        o->text_len += n;
        o->text[o->text_len] = '\0';
    }
    o->deltas++;
    if (o->cancel_after_deltas && o->deltas == o->cancel_after_deltas) {
        Ccai_llm_cancel(o->self);
        o->done = -1;
    }
    return 0;
}

static void on_retry(const char *model, int attempt, const char *reason, uint64_t delay, void *ud)
{
    (void)model;
    (void)attempt;
    (void)reason;
    (void)delay;
    ((out *)ud)->retries++;
}

static void on_done(ccai_status st, const Ccai_llm_result *r, const char *errmsg, void *ud)
{
    out *o = ud;
    o->done = 1;
    o->st = st;
    o->finish = r->finish;
    o->attempts = r->attempts;
    o->prompt_tokens = r->prompt_tokens;
    snprintf(o->model, sizeof o->model, "%s", r->model_name);
    if (errmsg)
        snprintf(o->err, sizeof o->err, "%s", errmsg);
    o->n_calls = r->calls->n;
    for (size_t i = 0; i < r->calls->n && i < 4; i++) {
        snprintf(o->call_names[i], 32, "%s", r->calls->v[i].name);
        snprintf(o->call_ids[i], 32, "%s", r->calls->v[i].id);
        snprintf(o->call_args[i], 256, "%s",
                 r->calls->v[i].args.data ? r->calls->v[i].args.data : "");
    }
    if (!o->text_len && r->text)
        snprintf(o->text, sizeof o->text, "%s", r->text);
}

static const Ccai_llm_callbacks cbs = {on_text, on_retry, on_done};

typedef struct env {
    standin *si;
    ccai_config *cfg;
    ccai_poll *poll;
    ccai_ctx *ctx;
    Ccai_llm_model fast, slow;
    json_t *messages;
    uint64_t ran_from, ran_to; /* Ccai_ctx_now() around the last run_health() */
} env;

static void env_init(env *e, const char *mode, const char *key)
{
    memset(e, 0, sizeof *e);
    standin_opts so = {0};
    so.key = key;
    so.model = "standin-model";
    e->si = standin_start(&so);
    assert_non_null(e->si);
    char ep[128];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d%s", standin_port(e->si),
             strcmp(mode, "azure_openai") == 0 ? "" : "/v1");
    assert_int_equal(ccai_config_new(&e->cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "database.sqlite.path", ":memory:"), CCAI_OK);
    static const char *const which[] = {"fast", "slow"};
    for (int i = 0; i < 2; i++) {
        char k[64];
        snprintf(k, sizeof k, "llm.%s.mode", which[i]);
        assert_int_equal(ccai_config_set(e->cfg, k, mode), CCAI_OK);
        snprintf(k, sizeof k, "llm.%s.endpoint", which[i]);
        assert_int_equal(ccai_config_set(e->cfg, k, ep), CCAI_OK);
        snprintf(k, sizeof k, "llm.%s.api_key", which[i]);
        assert_int_equal(ccai_config_set(e->cfg, k, key ? key : "none"), CCAI_OK);
        snprintf(k, sizeof k, "llm.%s.deployment", which[i]);
        assert_int_equal(ccai_config_set(e->cfg, k, which[i]), CCAI_OK);
        snprintf(k, sizeof k, "llm.%s.timeout_idle_ms", which[i]);
        assert_int_equal(ccai_config_set(e->cfg, k, "300"), CCAI_OK);
    }
    assert_int_equal(ccai_poll_new(e->cfg, &e->poll, &e->ctx, NULL), CCAI_OK);
    assert_int_equal(Ccai_llm_model_from_config(e->cfg, "fast", &e->fast), CCAI_OK);
    assert_int_equal(Ccai_llm_model_from_config(e->cfg, "slow", &e->slow), CCAI_OK);
    e->messages = json_pack("[{s:s,s:s},{s:s,s:s}]", "role", "system", "content", "Be brief.",
                            "role", "user", "content", "My car was hit.");
}

static void env_free(env *e)
{
    json_decref(e->messages);
    Ccai_llm_model_clear(&e->fast);
    Ccai_llm_model_clear(&e->slow);
    ccai_poll_free(e->poll);
    ccai_config_free(e->cfg);
    standin_stop(e->si);
}

/* The stand-in's next answer: text, streamed. */
static void push_text(env *e, const char *text)
{
    standin_spec s = STANDIN_SPEC_INIT;
    s.content = text;
    standin_push(e->si, &s);
}

static void run(env *e, out *o, const json_t *tools, bool json_mode, bool fallback)
{
    Ccai_llm_opts opts = {.messages = e->messages,
                          .tools = tools,
                          .json_mode = json_mode,
                          .models = {&e->fast, fallback ? &e->slow : NULL},
                          .max_backoff_ms = 50};
    assert_int_equal(Ccai_llm_chat(e->ctx, &opts, &cbs, o, &o->self), CCAI_OK);
    uint64_t deadline = ccai_time_ms() + 15000;
    while (!o->done && ccai_time_ms() < deadline)
        assert_int_equal(ccai_poll_run_once(e->poll, 100), 0);
    assert_true(o->done != 0);
}

/* As run(), fast then slow, within an answer budget, with health kept. */
static void run_health(env *e, out *o, Ccai_llm_health h[2], uint32_t budget_ms)
{
    Ccai_llm_opts opts = {.messages = e->messages,
                          .models = {&e->fast, &e->slow},
                          .health = {&h[0], &h[1]},
                          .budget_ms = budget_ms,
                          .max_backoff_ms = 50};
    e->ran_from = Ccai_ctx_now(e->ctx);
    assert_int_equal(Ccai_llm_chat(e->ctx, &opts, &cbs, o, &o->self), CCAI_OK);
    uint64_t deadline = ccai_time_ms() + 15000;
    while (!o->done && ccai_time_ms() < deadline)
        assert_int_equal(ccai_poll_run_once(e->poll, 100), 0);
    e->ran_to = Ccai_ctx_now(e->ctx);
    assert_true(o->done != 0);
}

/* The model cools down for ms from the moment it failed, during the last
 * run_health() (however long a loaded machine made it). */
static void assert_cools(env *e, const Ccai_llm_health *h, uint64_t ms)
{
    if (h->until < e->ran_from + ms || h->until > e->ran_to + ms)
        fail_msg("cools down until %llu, expected %llu ms after a moment in %llu..%llu",
                 (unsigned long long)h->until, (unsigned long long)ms,
                 (unsigned long long)e->ran_from, (unsigned long long)e->ran_to);
    assert_false(Ccai_llm_health_ready(h, Ccai_ctx_now(e->ctx)));
}

/* A 429 whose wait does not fit the answer budget hands over to the other
 * model at once, and the first one cools down for as long as it said:
 * "retry-after: 30" (OpenAI and Azure), OpenAI's x-ratelimit-reset-*
 * without Retry-After, an exhausted quota ("retry-after: 3600", beyond
 * what anybody retries after). Meanwhile requests start on the other
 * model. */
static void test_rate_limit_fails_over_and_cools_down(void **state)
{
    (void)state;
    static const char *const modes[] = {"openai", "azure_openai"};
    for (size_t m = 0; m < 2; m++) {
        env e;
        env_init(&e, modes[m], "k");
        Ccai_llm_health h[2] = {{0, 0}, {0, 0}};
        standin_spec r = STANDIN_SPEC_INIT;
        r.status = 429;
        r.retry_after = 30;
        standin_push(e.si, &r);
        standin_spec s = STANDIN_SPEC_INIT;
        s.content = "From the slow model.";
        standin_push(e.si, &s);
        out o = {0};
        uint64_t t0 = ccai_time_ms();
        run_health(&e, &o, h, 15000);
        assert_int_equal(o.st, CCAI_OK);
        assert_string_equal(o.model, "slow");
        assert_int_equal(o.attempts, 2);
        assert_true(ccai_time_ms() - t0 < 15000); /* not the 30 s asked for */
        assert_cools(&e, &h[0], 30000);
        assert_int_equal(h[0].failures, 1);
        assert_true(Ccai_llm_health_ready(&h[1], Ccai_ctx_now(e.ctx)));

        /* The next request goes to the slow model directly. */
        s.content = "Still the slow one.";
        standin_push(e.si, &s);
        memset(&o, 0, sizeof o);
        run_health(&e, &o, h, 15000);
        assert_string_equal(o.model, "slow");
        assert_int_equal(o.attempts, 1);
        assert_int_equal(standin_request_count(e.si), 3);
        if (m == 1) {
            char *dep = standin_request_deployment(e.si, 2);
            assert_string_equal(dep, "slow");
            free(dep);
        }

        /* Once it may be asked again, the fast model answers and is
         * healthy again. */
        h[0].until = Ccai_ctx_now(e.ctx);
        s.content = "The fast one again.";
        standin_push(e.si, &s);
        memset(&o, 0, sizeof o);
        run_health(&e, &o, h, 15000);
        assert_string_equal(o.model, "fast");
        assert_int_equal(h[0].failures, 0);
        assert_true(Ccai_llm_health_ready(&h[0], Ccai_ctx_now(e.ctx)));
        env_free(&e);
    }

    /* OpenAI without Retry-After: the spent budget's reset time. */
    env e;
    env_init(&e, "openai", "k");
    Ccai_llm_health h[2] = {{0, 0}, {0, 0}};
    standin_spec r = STANDIN_SPEC_INIT;
    r.status = 429;
    r.extra_headers = "x-ratelimit-reset-requests: 20s";
    standin_push(e.si, &r);
    standin_spec s = STANDIN_SPEC_INIT;
    s.content = "From the slow model.";
    standin_push(e.si, &s);
    out o = {0};
    run_health(&e, &o, h, 15000);
    assert_string_equal(o.model, "slow");
    assert_cools(&e, &h[0], 20000);

    /* Quota exhausted: not retried, cools down for the hour it said,
     * even without an answer budget. */
    memset(h, 0, 2 * sizeof h[0]);
    r.extra_headers = NULL;
    r.retry_after = 3600;
    standin_push(e.si, &r);
    standin_push(e.si, &s);
    memset(&o, 0, sizeof o);
    run_health(&e, &o, h, 0);
    assert_string_equal(o.model, "slow");
    assert_int_equal(o.attempts, 2);
    assert_cools(&e, &h[0], 3600000);
    env_free(&e);
}

/* Failures without a wait asked for: the default cool-down, doubled for
 * each failure in a row; a success clears it. A wait that fits the budget
 * is waited for on the same model. Without a healthy model, the last one
 * failing ends the request. */
static void test_cooldown_after_failures(void **state)
{
    (void)state;
    env e;
    env_init(&e, "openai", "k");
    Ccai_llm_health h[2] = {{0, 0}, {0, 0}};
    standin_spec r = STANDIN_SPEC_INIT;
    r.status = 500;
    for (int i = 0; i < 3; i++)
        standin_push(e.si, &r);
    standin_spec s = STANDIN_SPEC_INIT;
    s.content = "From the slow model.";
    standin_push(e.si, &s);
    out o = {0};
    run_health(&e, &o, h, 15000);
    assert_string_equal(o.model, "slow");
    assert_cools(&e, &h[0], CCAI_LLM_COOLDOWN_MS);

    h[0].until = 0; /* time passed */
    for (int i = 0; i < 3; i++)
        standin_push(e.si, &r);
    standin_push(e.si, &s);
    memset(&o, 0, sizeof o);
    run_health(&e, &o, h, 15000);
    assert_int_equal(h[0].failures, 2);
    assert_cools(&e, &h[0], 2 * CCAI_LLM_COOLDOWN_MS);

    /* Both down: each cools down, the request fails. */
    memset(h, 0, 2 * sizeof h[0]);
    for (int i = 0; i < 6; i++)
        standin_push(e.si, &r);
    memset(&o, 0, sizeof o);
    run_health(&e, &o, h, 15000);
    assert_int_equal(o.st, CCAI_ERR_HTTP);
    assert_false(Ccai_llm_health_ready(&h[0], Ccai_ctx_now(e.ctx)));
    assert_false(Ccai_llm_health_ready(&h[1], Ccai_ctx_now(e.ctx)));

    /* A short wait fits the budget: the same model after it. */
    memset(h, 0, 2 * sizeof h[0]);
    standin_spec q = STANDIN_SPEC_INIT;
    q.status = 429;
    q.retry_after = 1;
    standin_push(e.si, &q);
    s.content = "After a second.";
    standin_push(e.si, &s);
    memset(&o, 0, sizeof o);
    uint64_t t0 = ccai_time_ms();
    run_health(&e, &o, h, 15000);
    assert_string_equal(o.model, "fast");
    assert_true(ccai_time_ms() - t0 >= 950);
    assert_int_equal(h[0].failures, 0);
    env_free(&e);
}

static void test_ratelimit_durations(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int64_t ms;
    } cases[] = {{"1s", 1000},
                 {"6m0s", 360000},
                 {"12ms", 12},
                 {"1.5s", 1500},
                 {"59.856s", 59856},
                 {"1h2m3s", 3723000},
                 {"0.5ms", 1},
                 {"20s", 20000},
                 {"24h", 86400000},
                 {"", -1},
                 {"s", -1},
                 {"1", -1},
                 {"1x", -1},
                 {"1.s", -1},
                 {"-1s", -1},
                 {"25h", -1},
                 {"1s ", -1},
                 {"9999999999999999999s", -1},
                 {"1s1s1s1s1s1s1s1s1s1s1s1s1s1s1s1s1s", -1}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t v = Ccai_llm_duration_ms(cases[i].s);
        if (v != cases[i].ms)
            fail_msg("\"%s\": %lld, expected %lld", cases[i].s, (long long)v,
                     (long long)cases[i].ms);
    }
    assert_int_equal(Ccai_llm_duration_ms(NULL), -1);
    assert_int_equal(Ccai_llm_wait_hint_ms("3600", NULL, 0), 3600000);
    /* retry-after-ms decides when usable, however long (found by fuzzing). */
    assert_int_equal(Ccai_llm_retry_after_ms("33.503", "502050", 0), -1);
    assert_int_equal(Ccai_llm_wait_hint_ms("33.503", "502050", 0), 502050);
    assert_int_equal(Ccai_llm_wait_hint_ms("7200", NULL, 0), -1);
    assert_int_equal(Ccai_llm_retry_after_ms("3600", NULL, 0), -1);
}

static json_t *request(env *e, int i)
{
    char *body = standin_request_body(e->si, i);
    assert_non_null(body);
    json_t *v = json_loads(body, 0, NULL);
    free(body);
    assert_non_null(v);
    return v;
}

static void test_stream_text(void **state)
{
    (void)state;
    env e;
    env_init(&e, "openai", "sk-test");
    standin_spec s = STANDIN_SPEC_INIT;
    s.content = "I am sorry to hear that. Is anyone hurt?";
    s.include_usage = 1;
    standin_push(e.si, &s);
    out o = {0};
    run(&e, &o, NULL, false, true);
    assert_int_equal(o.st, CCAI_OK);
    assert_string_equal(o.text, "I am sorry to hear that. Is anyone hurt?");
    assert_true(o.deltas > 3); /* streamed, word by word */
    assert_int_equal(o.finish, CCAI_FINISH_STOP);
    assert_string_equal(o.model, "fast");
    assert_int_equal(o.attempts, 1);
    assert_true(o.prompt_tokens >= 0);
    /* What went on the wire. */
    char *auth = standin_request_header(e.si, 0, "authorization");
    assert_string_equal(auth, "Bearer sk-test");
    free(auth);
    json_t *req = request(&e, 0);
    assert_true(json_is_true(json_object_get(req, "stream")));
    assert_null(json_object_get(req, "tools")); /* never tools: [] */
    assert_non_null(json_object_get(req, "max_completion_tokens"));
    assert_true(
        json_is_true(json_object_get(json_object_get(req, "stream_options"), "include_usage")));
    assert_int_equal(json_array_size(json_object_get(req, "messages")), 2);
    json_decref(req);
    env_free(&e);
}

static void test_tool_calls_split_empty_ids(void **state)
{
    (void)state;
    env e;
    env_init(&e, "openai_compatible", NULL);
    standin_tool_call calls[2] = {
        {.id = "call_A",
         .name = "updated_claim",
         .arguments = "{\"updates\":[{\"field\":\"incident_location\",\"value\":\"Lyon\"}]}",
         .arg_pieces = 4},
        {.id = "call_B", .name = "end_call", .arguments = "{}", .arg_pieces = 1},
    };
    standin_spec s = STANDIN_SPEC_INIT;
    s.kind = STANDIN_TOOL_CALLS;
    s.content = "Noted.";
    s.tool_calls = calls;
    s.n_tool_calls = 2;
    s.empty_ids = 1;
    standin_push(e.si, &s);
    json_t *tools = json_pack("[{s:s,s:{s:s,s:{s:s}}}]", "type", "function", "function", "name",
                              "end_call", "parameters", "type", "object");
    out o = {0};
    run(&e, &o, tools, false, false);
    json_decref(tools);
    assert_int_equal(o.st, CCAI_OK);
    assert_int_equal(o.finish, CCAI_FINISH_TOOL_CALLS);
    assert_int_equal(o.n_calls, 2);
    assert_string_equal(o.call_ids[0], "call_A");
    assert_string_equal(o.call_names[0], "updated_claim");
    assert_string_equal(o.call_args[0],
                        "{\"updates\":[{\"field\":\"incident_location\",\"value\":\"Lyon\"}]}");
    assert_string_equal(o.call_names[1], "end_call");
    assert_string_equal(o.text, "Noted.");
    json_t *req = request(&e, 0);
    assert_non_null(json_object_get(req, "tools"));
    assert_non_null(json_object_get(req, "max_tokens")); /* compatible servers know this name */
    assert_null(json_object_get(req, "stream_options"));
    json_decref(req);
    env_free(&e);
}

static void test_azure_and_content_filter(void **state)
{
    (void)state;
    env e;
    env_init(&e, "azure_openai", "az-key");
    standin_spec s = STANDIN_SPEC_INIT;
    s.azure = 1;
    s.content = "Hello there.";
    standin_push(e.si, &s);
    standin_spec f = STANDIN_SPEC_INIT;
    f.azure = 1;
    f.content = "";
    f.finish_reason = "content_filter";
    standin_push(e.si, &f);
    out o = {0};
    run(&e, &o, NULL, false, false);
    assert_int_equal(o.st, CCAI_OK);
    assert_string_equal(o.text, "Hello there.");
    char *path = standin_request_path(e.si, 0);
    assert_string_equal(path, "/openai/deployments/fast/chat/completions?api-version=2024-10-21");
    free(path);
    char *key = standin_request_header(e.si, 0, "api-key");
    assert_string_equal(key, "az-key");
    free(key);
    out o2 = {0};
    run(&e, &o2, NULL, false, false);
    assert_int_equal(o2.st, CCAI_OK);
    assert_int_equal(o2.finish, CCAI_FINISH_CONTENT_FILTER);
    env_free(&e);
}

static void test_429_retry_after_then_ok(void **state)
{
    (void)state;
    env e;
    env_init(&e, "openai", "k");
    standin_spec r = STANDIN_SPEC_INIT;
    r.status = 429;
    r.retry_after_ms = 250;
    standin_push(e.si, &r);
    standin_spec s = STANDIN_SPEC_INIT;
    s.content = "Back again.";
    standin_push(e.si, &s);
    out o = {0};
    uint64_t t0 = ccai_time_ms();
    run(&e, &o, NULL, false, true);
    assert_int_equal(o.st, CCAI_OK);
    assert_int_equal(o.attempts, 2);
    assert_int_equal(o.retries, 1);
    assert_string_equal(o.model, "fast");
    assert_true(ccai_time_ms() - t0 >= 240); /* the server's delay was honoured */
    env_free(&e);
}

static void test_failover_after_5xx(void **state)
{
    (void)state;
    env e;
    env_init(&e, "openai", "k");
    for (int i = 0; i < 3; i++) {
        standin_spec r = STANDIN_SPEC_INIT;
        r.status = 500;
        standin_push(e.si, &r);
    }
    push_text(&e, "From the slow model.");
    out o = {0};
    run(&e, &o, NULL, false, true);
    assert_int_equal(o.st, CCAI_OK);
    assert_string_equal(o.model, "slow");
    assert_int_equal(o.attempts, 4);
    assert_string_equal(o.text, "From the slow model.");
    env_free(&e);
}

static void test_no_retry_on_401_and_all_fail(void **state)
{
    (void)state;
    env e;
    env_init(&e, "openai", "right-key");
    Ccai_llm_model_clear(&e.fast);
    assert_int_equal(ccai_config_set(e.cfg, "llm.fast.api_key", "wrong"), CCAI_OK);
    assert_int_equal(Ccai_llm_model_from_config(e.cfg, "fast", &e.fast), CCAI_OK);
    out o = {0};
    run(&e, &o, NULL, false, false);
    assert_int_equal(o.st, CCAI_ERR_HTTP);
    assert_int_equal(o.attempts, 1); /* 401 is not retried */
    assert_non_null(strstr(o.err, "401"));
    env_free(&e);
}

static void test_cut_stream_continues_without_repeat(void **state)
{
    (void)state;
    env e;
    env_init(&e, "openai", "k");
    /* First attempt: cut after a few words. Second: starts over. */
    standin_spec a = STANDIN_SPEC_INIT;
    a.content = "Your car is covered. We will send an expert tomorrow.";
    a.cut_after = 6;
    standin_push(e.si, &a);
    push_text(&e, "Your car is covered. We will send an expert tomorrow.");
    out o = {0};
    run(&e, &o, NULL, false, false);
    assert_int_equal(o.st, CCAI_OK);
    assert_int_equal(o.attempts, 2);
    /* Each word was delivered once. */
    assert_string_equal(o.text, "Your car is covered. We will send an expert tomorrow.");
    /* The retry told the model what was already said. */
    json_t *req = request(&e, 1);
    json_t *msgs = json_object_get(req, "messages");
    assert_int_equal(json_array_size(msgs), 4);
    json_t *said = json_array_get(msgs, 2);
    assert_string_equal(json_string_value(json_object_get(said, "role")), "assistant");
    assert_true(strlen(json_string_value(json_object_get(said, "content"))) > 0);
    json_decref(req);
    env_free(&e);
}

static void test_continuation_after_cut(void **state)
{
    (void)state;
    env e;
    env_init(&e, "openai", "k");
    standin_spec a = STANDIN_SPEC_INIT;
    a.chunks = (const char *const[]){"I see. ", "Your car ", "is "};
    a.n_chunks = 3;
    a.cut_after = 4;
    standin_push(e.si, &a);
    push_text(&e, "I see. Let me check your contract.");
    out o = {0};
    run(&e, &o, NULL, false, false);
    assert_int_equal(o.st, CCAI_OK);
    /* "I see. " was repeated and dropped; the new words follow. */
    assert_string_equal(o.text, "I see. Your car is Let me check your contract.");
    env_free(&e);
}

static void test_stall_and_malformed_are_retried(void **state)
{
    (void)state;
    env e;
    env_init(&e, "openai", "k");
    standin_spec a = STANDIN_SPEC_INIT;
    a.content = "";
    a.stall_after = 1;
    a.stall_ms = 2000;
    a.stall_close = 1;
    standin_push(e.si, &a);
    standin_spec b = STANDIN_SPEC_INIT;
    b.content = "Hi there.";
    b.malformed_chunk = 2;
    standin_push(e.si, &b);
    standin_spec c = STANDIN_SPEC_INIT;
    c.content = "Hi there.";
    c.error_after = 1;
    c.error_style = STANDIN_ERROR_FIELD;
    standin_push(e.si, &c);
    push_text(&e, "Finally.");
    out o = {0};
    run(&e, &o, NULL, false, true);
    assert_int_equal(o.st, CCAI_OK);
    assert_int_equal(o.attempts, 4);
    assert_string_equal(o.text, "Finally.");
    env_free(&e);
}

static void test_json_mode(void **state)
{
    (void)state;
    env e;
    env_init(&e, "openai", "k");
    push_text(&e, "{\"action\":\"case_closed\",\"justification\":\"All done.\"}");
    out o = {0};
    run(&e, &o, NULL, true, false);
    assert_int_equal(o.st, CCAI_OK);
    assert_int_equal(o.deltas, 0);
    assert_string_equal(o.text, "{\"action\":\"case_closed\",\"justification\":\"All done.\"}");
    json_t *req = request(&e, 0);
    assert_null(json_object_get(req, "stream"));
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(req, "response_format"), "type")),
        "json_object");
    json_decref(req);
    env_free(&e);
}

static void test_cancel_midway(void **state)
{
    (void)state;
    env e;
    env_init(&e, "openai", "k");
    standin_spec s = STANDIN_SPEC_INIT;
    s.content = "one two three four five six seven eight";
    s.chunk_ms = 20;
    standin_push(e.si, &s);
    out o = {.cancel_after_deltas = 2};
    run(&e, &o, NULL, false, false);
    assert_int_equal(o.done, -1); /* no on_done after cancel */
    for (int i = 0; i < 10; i++)
        ccai_poll_run_once(e.poll, 20);
    assert_int_equal(o.done, -1);
    assert_int_equal(ccai_ctx_busy(e.ctx), 0);
    env_free(&e);
}

static void test_retry_after_parsing(void **state)
{
    (void)state;
    assert_int_equal(Ccai_llm_retry_after_ms("2", NULL, 0), 2000);
    assert_int_equal(Ccai_llm_retry_after_ms("0.5", NULL, 0), 500);
    assert_int_equal(Ccai_llm_retry_after_ms("2", "150", 0), 150);
    assert_int_equal(Ccai_llm_retry_after_ms("600", NULL, 0), -1); /* too long to wait */
    assert_int_equal(Ccai_llm_retry_after_ms("soon", NULL, 0), -1);
    /* 1445412480000 = Wed, 21 Oct 2015 07:28:00 GMT */
    assert_int_equal(Ccai_llm_retry_after_ms("Wed, 21 Oct 2015 07:28:03 GMT", NULL, 1445412480000),
                     3000);
    assert_int_equal(Ccai_llm_retry_after_ms(NULL, NULL, 0), -1);
}

static void test_urls(void **state)
{
    (void)state;
    char ep[] = "https://res.openai.azure.com/", dep[] = "gpt-4.1-nano", ver[] = "2024-10-21",
         local[] = "http://localhost:11434/v1";
    Ccai_llm_model m = {0};
    m.mode = CCAI_LLM_AZURE;
    m.endpoint = ep;
    m.deployment = dep;
    m.api_version = ver;
    char *u = Ccai_llm_chat_url(&m);
    assert_string_equal(
        u, "https://res.openai.azure.com/openai/deployments/gpt-4.1-nano/chat/completions"
           "?api-version=2024-10-21");
    ccai_free(u);
    m.mode = CCAI_LLM_COMPATIBLE;
    m.endpoint = local;
    u = Ccai_llm_chat_url(&m);
    assert_string_equal(u, "http://localhost:11434/v1/chat/completions");
    ccai_free(u);
}

/* The request body was a jansson tree dumped once per attempt; it is now
 * written as text around the message array. The tree-based builder is kept
 * here as the reference: both must give the same bytes for every model
 * mode, JSON mode, tools or none, and a continuation after text already
 * said. */
static json_t *ref_request_body(const Ccai_llm_model *m, bool json_mode, json_t *msgs,
                                json_t *tools, const char *delivered, size_t dlen)
{
    json_t *body = json_object();
    bool resume = dlen && !json_mode;
    json_t *messages = resume ? json_copy(msgs) : json_incref(msgs);
    if (!body || !messages)
        goto fail;
    if (resume) {
        json_t *a = json_pack("{s:s, s:s%}", "role", "assistant", "content", delivered, dlen);
        json_t *s = json_pack("{s:s, s:s}", "role", "system", "content",
                              "Your previous answer was cut off after the text above. "
                              "Continue exactly where it stopped, without repeating it.");
        if (!a || !s || json_array_append_new(messages, a) || json_array_append_new(messages, s)) {
            goto fail;
        }
    }
    if (json_object_set_new(body, "messages", messages))
        goto fail;
    messages = NULL;
    if (m->mode != CCAI_LLM_AZURE && m->model &&
        json_object_set_new(body, "model", json_string(m->model)))
        goto fail;
    if (json_object_set_new(body, "temperature", json_real(m->temperature)) ||
        json_object_set_new(body, "seed", json_integer(m->seed)) ||
        json_object_set_new(body,
                            m->mode == CCAI_LLM_OPENAI ? "max_completion_tokens" : "max_tokens",
                            json_integer(json_mode ? 4096 : m->max_tokens)))
        goto fail;
    if (json_mode) {
        if (json_object_set_new(body, "response_format", json_pack("{s:s}", "type", "json_object")))
            goto fail;
    } else {
        if (json_object_set_new(body, "stream", json_true()))
            goto fail;
        if (m->mode != CCAI_LLM_COMPATIBLE &&
            json_object_set_new(body, "stream_options", json_pack("{s:b}", "include_usage", 1)))
            goto fail;
    }
    if (tools && json_array_size(tools) > 0) {
        if (json_object_set(body, "tools", tools) ||
            json_object_set_new(body, "tool_choice", json_string("auto")))
            goto fail;
    }
    return body;
fail:
    json_decref(messages);
    json_decref(body);
    return NULL;
}

static void test_request_body_same_as_tree(void **state)
{
    (void)state;
    static const Ccai_llm_mode modes[] = {CCAI_LLM_OPENAI, CCAI_LLM_AZURE, CCAI_LLM_COMPATIBLE};
    static const double temps[] = {0.0, 0.7, 1.0, 1e-7, 0.1 + 0.2, 2.0, -0.0};
    randtext r = {42};
    char model[64] = "gpt-4.1-nano";
    for (int round = 0; round < 3000; round++) {
        char buf[2048], said[1024];
        Ccai_llm_model m = {0};
        m.mode = modes[rt_below(&r, 3)];
        m.model = rt_below(&r, 5) ? model : NULL;
        m.temperature = temps[rt_below(&r, CCAI_ARRAY_SIZE(temps))];
        m.seed = rt_below(&r, 3) ? 42 : (int64_t)rt_next(&r) - 100000;
        m.max_tokens = rt_below(&r, 2) ? 160 : (int64_t)rt_below(&r, 100000);
        bool json_mode = rt_below(&r, 4) == 0;
        json_t *msgs = json_array();
        uint32_t n = rt_below(&r, 6);
        for (uint32_t i = 0; i < n; i++)
            json_array_append_new(msgs, json_pack("{s:s,s:s}", "role", i % 2 ? "assistant" : "user",
                                                  "content", rt_text(&r, buf, sizeof buf, 40)));
        json_t *tools = NULL;
        uint32_t kind = rt_below(&r, 3);
        if (kind == 1)
            tools = json_array();
        else if (kind == 2)
            tools = json_pack("[{s:s,s:{s:s,s:s}}]", "type", "function", "function", "name",
                              "end_call", "description", rt_text(&r, buf, sizeof buf, 10));
        rt_text(&r, said, sizeof said, rt_below(&r, 2) ? 0 : 30);
        size_t dlen = strlen(said);

        json_t *tree = ref_request_body(&m, json_mode, msgs, tools, said, dlen);
        assert_non_null(tree);
        char *want = Ccai_json_dump(tree, JSON_COMPACT);
        char *mtext = Ccai_json_dump(msgs, JSON_COMPACT);
        char *ttext = tools ? Ccai_json_dump(tools, JSON_COMPACT) : NULL;
        Ccai_buf got = {0};
        assert_true(Ccai_llm_request_body(&got, &m, json_mode, mtext, strlen(mtext), ttext,
                                          ttext ? strlen(ttext) : 0, said, dlen));
        if (strcmp(want, got.data) != 0) {
            fprintf(stderr, "round %d differs:\nwant %s\ngot  %s\n", round, want, got.data);
            fail();
        }
        Ccai_buf_free(&got);
        ccai_free(want);
        ccai_free(mtext);
        ccai_free(ttext);
        json_decref(tree);
        json_decref(tools);
        json_decref(msgs);
    }
}

/* Out of memory ---------------------------------------------------------------- */

typedef struct failing {
    long fail_at; /* the allocation that fails */
    long count;
} failing;

static void *failing_malloc(size_t size, void *ud)
{
    failing *f = ud;
    return f->count++ == f->fail_at ? NULL : malloc(size);
}

static void *failing_realloc(void *ptr, size_t size, void *ud)
{
    failing *f = ud;
    return f->count++ == f->fail_at ? NULL : realloc(ptr, size);
}

static void failing_free(void *ptr, void *ud)
{
    (void)ud;
    free(ptr);
}

/* Whichever allocation fails while a request is built, sent and its
 * stream read, the request ends in its callback (a stream that this side
 * had to stop is a failure to retry, not the caller's "stop"), and the
 * caller's messages keep exactly their references (the request body that
 * held them is given back once, not twice). */
static void test_request_out_of_memory(void **state)
{
    (void)state;
    env e;
    env_init(&e, "openai", "k");
    json_incref(e.messages); /* the test's own reference, besides env's */
    long k = 0;
    for (bool reached = true; reached; k++) {
        push_text(&e, "Noted.");
        out o = {0};
        Ccai_llm_opts opts = {
            .messages = e.messages, .models = {&e.fast, NULL}, .max_backoff_ms = 50};
        failing f = {.fail_at = k};
        ccai_allocator a = {
            CCAI_ALLOCATOR_VERSION, failing_malloc, failing_realloc, failing_free, &f,
            CCAI_ALLOCATOR_JSON};
        assert_int_equal(ccai_set_allocator(&a), CCAI_OK);
        ccai_status st = Ccai_llm_chat(e.ctx, &opts, &cbs, &o, &o.self);
        uint64_t deadline = ccai_time_ms() + 15000;
        while (st == CCAI_OK && !o.done && ccai_time_ms() < deadline)
            ccai_poll_run_once(e.poll, 10);
        assert_int_equal(ccai_set_allocator(NULL), CCAI_OK);
        reached = f.count > k;
        if (st == CCAI_OK && !o.done)
            fail_msg("allocation %ld failed: the request never ended", k);
        if (e.messages->refcount != 2)
            fail_msg("allocation %ld failed: the messages have %zu references, not 2", k,
                     (size_t)e.messages->refcount);
    }
    printf("# a request: %ld allocation points\n", k - 1);
    json_decref(e.messages);
    env_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_text),
        cmocka_unit_test(test_tool_calls_split_empty_ids),
        cmocka_unit_test(test_azure_and_content_filter),
        cmocka_unit_test(test_429_retry_after_then_ok),
        cmocka_unit_test(test_failover_after_5xx),
        cmocka_unit_test(test_no_retry_on_401_and_all_fail),
        cmocka_unit_test(test_cut_stream_continues_without_repeat),
        cmocka_unit_test(test_continuation_after_cut),
        cmocka_unit_test(test_stall_and_malformed_are_retried),
        cmocka_unit_test(test_json_mode),
        cmocka_unit_test(test_cancel_midway),
        cmocka_unit_test(test_retry_after_parsing),
        cmocka_unit_test(test_rate_limit_fails_over_and_cools_down),
        cmocka_unit_test(test_cooldown_after_failures),
        cmocka_unit_test(test_ratelimit_durations),
        cmocka_unit_test(test_urls),
        cmocka_unit_test(test_request_body_same_as_tree),
        cmocka_unit_test(test_request_out_of_memory),
    };
    return cmocka_run_group_tests_name("llm", tests, NULL, NULL);
}
