/* Feature flags at run time, through the shared library and <ccai/ccai.h>
 * only: a turn reads the flags current at its start (the slow LLM for chat
 * switched off between two turns of one call goes to the fast model: a
 * falsy value is honoured, where the reference's lookup took it for
 * "missing"); every problem of a bad change listed at once and nothing
 * changed; the flags file picked up when it changes (the pick-up time is
 * printed); SIGHUP's reload; callback_timeout_hour 0 switches the resume
 * window off; the admin route and /metrics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <ccai/adapters/poll.h>
#include <ccai/ccai.h>

#include "support/llm_standin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct host {
    ccai_call *call;
    int says;
} host;

static int op_say(ccai_call *c, const ccai_speech *sp, void *ud)
{
    (void)c;
    (void)sp;
    ((host *)ud)->says++;
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

static char *flags_now(ccai_ctx *ctx)
{
    char *json = NULL;
    assert_int_equal(ccai_ctx_flags_get_json(ctx, &json), CCAI_OK);
    return json;
}

static void test_slow_llm_for_chat_false_between_turns(void **state)
{
    (void)state;
    standin *fast = standin_start(NULL), *slow = standin_start(NULL);
    assert_non_null(fast);
    assert_non_null(slow);
    ccai_config *cfg = NULL;
    assert_int_equal(ccai_config_new(&cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "database.sqlite.path", ":memory:"), CCAI_OK);
    char ep[64];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d/v1", standin_port(fast));
    assert_int_equal(ccai_config_set(cfg, "llm.fast.mode", "openai"), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "llm.fast.endpoint", ep), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "llm.fast.model", "gpt-4o-mini"), CCAI_OK);
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d/v1", standin_port(slow));
    assert_int_equal(ccai_config_set(cfg, "llm.slow.mode", "openai"), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "llm.slow.endpoint", ep), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "llm.slow.model", "gpt-4o"), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "conversation.slow_llm_for_chat", "true"), CCAI_OK);
    ccai_poll *poll = NULL;
    ccai_ctx *ctx = NULL;
    assert_int_equal(ccai_poll_new(cfg, &poll, &ctx, NULL), CCAI_OK);
    host h = {0};
    ccai_call_params p = {
        .version = CCAI_CALL_PARAMS_VERSION,
        .direction = CCAI_INBOUND,
        .phone_number = "+14155550100",
        .channel = "local",
        .initiate_json = "{\"lang\":{\"default_short_code\":\"en-US\"}}",
    };
    assert_int_equal(ccai_call_start(ctx, &p, &ops, &h, &h.call), CCAI_OK);
    send(h.call, CCAI_EVENT_CONNECTED, NULL);

    standin_spec a = STANDIN_SPEC_INIT;
    a.content = "Where did it happen?";
    standin_push(slow, &a);
    send(h.call, CCAI_EVENT_SPEECH, "My car was hit.");
    run_turn(poll, h.call);
    assert_int_equal(standin_request_count(slow), 1);
    assert_int_equal(standin_request_count(fast), 0);

    /* false, the reference's ignored value, by its bare name. */
    assert_int_equal(ccai_ctx_flags_set_json(ctx, "{\"slow_llm_for_chat\": false}"), CCAI_OK);
    a.content = "Was anyone hurt?";
    standin_push(fast, &a);
    send(h.call, CCAI_EVENT_SPEECH, "On Main Street.");
    run_turn(poll, h.call);
    assert_int_equal(standin_request_count(fast), 1);
    assert_int_equal(standin_request_count(slow), 1);
    char *body = standin_request_body(fast, 0);
    assert_non_null(strstr(body, "\"model\":\"gpt-4o-mini\""));
    free(body);

    /* And back, by its dotted key in a section, as text. */
    assert_int_equal(
        ccai_ctx_flags_set_json(ctx, "{\"conversation\": {\"slow_llm_for_chat\": \"true\"}}"),
        CCAI_OK);
    a.content = "Good.";
    standin_push(slow, &a);
    send(h.call, CCAI_EVENT_SPEECH, "Nobody was hurt.");
    run_turn(poll, h.call);
    assert_int_equal(standin_request_count(slow), 2);
    assert_int_equal(standin_request_count(fast), 1);
    char *json = flags_now(ctx);
    assert_non_null(strstr(json, "\"generation\":2"));
    ccai_free(json);

    ccai_call_free(h.call);
    ccai_poll_free(poll);
    ccai_config_free(cfg);
    standin_stop(fast);
    standin_stop(slow);
}

static void make_ctx(ccai_config **cfg, ccai_poll **poll, ccai_ctx **ctx, const char *file)
{
    assert_int_equal(ccai_config_new(cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(*cfg, "database.sqlite.path", ":memory:"), CCAI_OK);
    assert_int_equal(ccai_config_set(*cfg, "server.api_token", "tok"), CCAI_OK);
    if (file) {
        assert_int_equal(ccai_config_set(*cfg, "flags.file", file), CCAI_OK);
        assert_int_equal(ccai_config_set(*cfg, "flags.poll_interval_sec", "1"), CCAI_OK);
    }
    assert_int_equal(ccai_poll_new(*cfg, poll, ctx, NULL), CCAI_OK);
}

static void test_every_problem_at_once_and_nothing_changes(void **state)
{
    (void)state;
    ccai_config *cfg;
    ccai_poll *poll;
    ccai_ctx *ctx;
    make_ctx(&cfg, &poll, &ctx, NULL);
    char *before = flags_now(ctx);
    assert_int_equal(ccai_ctx_flags_set_json(ctx, "{\"answer_hard_timeout_sec\": \"soon\", "
                                                  "\"recording_enabled\": 1.5, "
                                                  "\"vad_threshold\": 999, "
                                                  "\"server.listen\": \"0.0.0.0:1\", "
                                                  "\"no_such_flag\": 1, "
                                                  "\"callback_timeout_hour\": 0}"),
                     CCAI_ERR_VALIDATION);
    const char *msg = ccai_ctx_errmsg(ctx);
    print_message("# %s\n", msg);
    assert_non_null(strstr(msg, "5 problems"));
    assert_non_null(strstr(msg, "answer_hard_timeout_sec:"));
    assert_non_null(strstr(msg, "recording_enabled:"));
    assert_non_null(strstr(msg, "vad_threshold:"));
    assert_non_null(strstr(msg, "server.listen: not a run-time flag"));
    assert_non_null(strstr(msg, "no_such_flag: unknown flag"));
    char *after = flags_now(ctx);
    assert_string_equal(before, after); /* callback_timeout_hour was fine: not set either */
    ccai_free(after);

    /* The rule between two flags, on the values they would have. */
    assert_int_equal(ccai_ctx_flags_set_json(ctx, "{\"answer_soft_timeout_sec\": 20}"),
                     CCAI_ERR_VALIDATION);
    assert_non_null(strstr(ccai_ctx_errmsg(ctx), "less than answer_hard_timeout_sec"));
    assert_int_equal(ccai_ctx_flags_set_json(ctx, "[1]"), CCAI_ERR_VALIDATION);
    assert_int_equal(ccai_ctx_flags_set_json(ctx, "{\"a\":"), CCAI_ERR_PARSE);
    after = flags_now(ctx);
    assert_string_equal(before, after);
    ccai_free(after);
    ccai_free(before);

    /* The reference's vad_threshold is ten times ours. */
    assert_int_equal(ccai_ctx_flags_set_json(ctx, "{\"vad_threshold\": 0.8}"), CCAI_OK);
    char *json = flags_now(ctx);
    assert_non_null(strstr(json, "\"speech.vad_threshold\":0.08"));
    ccai_free(json);
    ccai_poll_free(poll);
    ccai_config_free(cfg);
}

/* callback_timeout_hour 0 is "off" (the reference could not set it: its
 * lookup returned the default 24 for a 0). */
static void test_callback_window_zero_is_off(void **state)
{
    (void)state;
    ccai_config *cfg;
    ccai_poll *poll;
    ccai_ctx *ctx;
    make_ctx(&cfg, &poll, &ctx, NULL);
    host h = {0};
    ccai_call_params p = {
        .version = CCAI_CALL_PARAMS_VERSION,
        .direction = CCAI_INBOUND,
        .phone_number = "+14155550123",
        .channel = "local",
    };
    assert_int_equal(ccai_call_start(ctx, &p, &ops, &h, &h.call), CCAI_OK);
    ccai_call_free(h.call);
    char *json = NULL;
    assert_int_equal(ccai_ctx_call_find_json(ctx, "+14155550123", 1, &json), CCAI_OK);
    ccai_free(json);
    assert_int_equal(ccai_ctx_flags_set_json(ctx, "{\"callback_timeout_hour\": 0}"), CCAI_OK);
    json = NULL;
    assert_int_equal(ccai_ctx_call_find_json(ctx, "+14155550123", 1, &json), CCAI_ERR_NOT_FOUND);
    assert_null(json);
    json = flags_now(ctx);
    assert_non_null(strstr(json, "\"conversation.callback_timeout_hour\":0"));
    ccai_free(json);
    ccai_poll_free(poll);
    ccai_config_free(cfg);
}

static void write_file(const char *path, const char *text)
{
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(rename(tmp, path), 0); /* as editors and config tools replace a file */
}

static int has(ccai_ctx *ctx, const char *sub)
{
    char *json = flags_now(ctx);
    int r = strstr(json, sub) != NULL;
    ccai_free(json);
    return r;
}

typedef struct answer {
    int status;
    char body[1 << 18];
} answer;

static void on_answer(ccai_http_exchange *x, const ccai_http_response *res, void *ud)
{
    (void)x;
    answer *a = ud;
    a->status = res->status;
    snprintf(a->body, sizeof a->body, "%.*s", (int)res->body_len, res->body ? res->body : "");
}

static void http(ccai_ctx *ctx, const char *method, const char *path, const char *body, answer *a)
{
    ccai_http_header hd[] = {{"Authorization", "Bearer tok"},
                             {"Content-Type", "application/json"},
                             {"Host", "127.0.0.1"}};
    ccai_http_request rq = {.version = CCAI_HTTP_REQUEST_VERSION,
                            .method = method,
                            .path = path,
                            .headers = hd,
                            .n_headers = 3,
                            .body = body,
                            .body_len = body ? strlen(body) : 0,
                            .remote_addr = "127.0.0.1"};
    a->status = 0;
    assert_int_equal(ccai_ctx_http(ctx, &rq, on_answer, a, NULL), CCAI_OK);
    assert_int_not_equal(a->status, 0);
}

static void test_file_picked_up_reload_admin_metrics(void **state)
{
    (void)state;
    char dir[] = "/tmp/ccai-flags.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/flags.yaml", dir);
    write_file(path, "conversation:\n  answer_hard_timeout_sec: 12\n");
    ccai_config *cfg;
    ccai_poll *poll;
    ccai_ctx *ctx;
    make_ctx(&cfg, &poll, &ctx, path);
    /* Read when the context is made. */
    assert_true(has(ctx, "\"conversation.answer_hard_timeout_sec\":12"));

    /* Changed: picked up at the next poll (flags.poll_interval_sec 1). */
    write_file(path, "recording_enabled: true\nanswer_hard_timeout_sec: 9\n"
                     "speech.vad_silence_timeout_ms: 700\n");
    uint64_t t0 = ccai_time_ms(), deadline = t0 + 5000;
    while (!has(ctx, "\"conversation.answer_hard_timeout_sec\":9") && ccai_time_ms() < deadline)
        assert_int_equal(ccai_poll_run_once(poll, 20), 0);
    uint64_t took = ccai_time_ms() - t0;
    assert_true(has(ctx, "\"conversation.recording_enabled\":true"));
    assert_true(has(ctx, "\"speech.vad_silence_timeout_ms\":700"));
    print_message("# flags file pick-up: %llu ms (flags.poll_interval_sec 1)\n",
                  (unsigned long long)took);

    /* A bad file changes nothing, and says why in the log. */
    write_file(path, "recording_enabled: maybe\n");
    t0 = ccai_time_ms();
    while (ccai_time_ms() < t0 + 1500)
        assert_int_equal(ccai_poll_run_once(poll, 50), 0);
    assert_true(has(ctx, "\"conversation.recording_enabled\":true"));

    /* SIGHUP: the configuration's flag keys, then the file again. */
    write_file(path, "recording_enabled: false\n");
    ccai_config *fresh = NULL;
    assert_int_equal(ccai_config_new(&fresh), CCAI_OK);
    assert_int_equal(ccai_config_set(fresh, "conversation.phone_silence_timeout_sec", "0") ==
                         CCAI_OK,
                     0); /* out of range: a configuration never holds it */
    assert_int_equal(ccai_config_set(fresh, "conversation.phone_silence_timeout_sec", "7"),
                     CCAI_OK);
    assert_int_equal(ccai_ctx_flags_reload(ctx, fresh), CCAI_OK);
    ccai_config_free(fresh);
    assert_true(has(ctx, "\"conversation.phone_silence_timeout_sec\":7"));
    assert_true(has(ctx, "\"conversation.recording_enabled\":false"));
    /* A flag the file no longer names has the configuration's value again
     * (15), not the file's old 9. */
    assert_true(has(ctx, "\"conversation.answer_hard_timeout_sec\":15"));

    /* The admin route: 422 with every problem, then a change. */
    static answer a;
    http(ctx, "PATCH", "/admin/flags", "{\"recognition_retry_max\": 0, \"max_llm_rounds\": \"x\"}",
         &a);
    assert_int_equal(a.status, 422);
    assert_non_null(strstr(a.body, "2 problems"));
    http(ctx, "PATCH", "/admin/flags", "{\"recognition_retry_max\": 1}", &a);
    assert_int_equal(a.status, 200);
    assert_non_null(strstr(a.body, "\"conversation.recognition_retry_max\":1"));
    http(ctx, "GET", "/metrics", NULL, &a);
    assert_int_equal(a.status, 200);
    assert_non_null(
        strstr(a.body, "ccai_flag_value{name=\"conversation.recognition_retry_max\"} 1"));
    assert_non_null(strstr(a.body, "ccai_flags_generation "));
    assert_non_null(strstr(a.body, "ccai_flags_rejected_total{origin=\"file\"} 1"));
    assert_non_null(strstr(a.body, "ccai_flags_rejected_total{origin=\"api\"} 1"));

    ccai_poll_free(poll);
    ccai_config_free(cfg);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slow_llm_for_chat_false_between_turns),
        cmocka_unit_test(test_every_problem_at_once_and_nothing_changes),
        cmocka_unit_test(test_callback_window_zero_is_off),
        cmocka_unit_test(test_file_picked_up_reload_admin_metrics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
