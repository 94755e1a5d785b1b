/* The shared library seen only through <ccai/ccai.h>: what a host uses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <ccai/adapters/poll.h>
#include <ccai/ccai.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_version_and_status(void **state)
{
    (void)state;
    assert_string_equal(ccai_version(), CCAI_VERSION_STRING);
    assert_int_equal(ccai_version_num(), CCAI_VERSION_NUM);
    assert_string_equal(ccai_status_str(CCAI_ERR_NOMEM), "out of memory");
    assert_non_null(ccai_status_str((ccai_status)-1));
    assert_true(ccai_time_ms() > 0);
    ccai_free(NULL);
}

static void test_null_arguments(void **state)
{
    (void)state;
    assert_int_equal(ccai_config_new(NULL), CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_config_load(NULL, "x"), CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_config_set(NULL, "a", "b"), CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_claim_schema_new(NULL), CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_claim_schema_from_json(NULL, 0, NULL, NULL), CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_field_validate(CCAI_FIELD_TEXT, NULL, NULL, NULL), CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_ctx_new(NULL, NULL, NULL, NULL, NULL), CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_call_start(NULL, NULL, NULL, NULL, NULL), CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_event_new(CCAI_EVENT_SPEECH, NULL), CCAI_ERR_INVALID_ARG);
    ccai_config_free(NULL);
    ccai_ctx_free(NULL);
    ccai_call_free(NULL);
    ccai_event_free(NULL);
    ccai_claim_schema_unref(NULL);
    assert_string_equal(ccai_ctx_errmsg(NULL), "");
    assert_string_equal(ccai_call_errmsg(NULL), "");
}

/* A host masks its own log lines as libccai masks its lines. */
static void test_log_mask(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(ccai_log_mask("GET /call/%2B33612345678 from +33 6 12 34 56 78", &out),
                     CCAI_OK);
    assert_string_equal(out, "GET /call/+33******78 from +33******78");
    ccai_free(out);
    assert_int_equal(ccai_log_mask("job 42 done", &out), CCAI_OK);
    assert_string_equal(out, "job 42 done");
    ccai_free(out);
    assert_int_equal(ccai_log_mask(NULL, &out), CCAI_ERR_INVALID_ARG);
}

static void test_config_roundtrip(void **state)
{
    (void)state;
    ccai_config *cfg = NULL;
    assert_int_equal(ccai_config_new(&cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "llm.fast.endpoint", "http://127.0.0.1:9/v1"), CCAI_OK);
    assert_string_equal(ccai_config_get(cfg, "llm.fast.endpoint"), "http://127.0.0.1:9/v1");
    assert_int_equal(ccai_config_set(cfg, "no.such.key", "1"), CCAI_ERR_NOT_FOUND);
    assert_int_equal(ccai_config_set(cfg, "conversation.callback_timeout_hour", "soon"),
                     CCAI_ERR_CONFIG);
    assert_true(ccai_config_error_count(cfg) >= 1);
    assert_non_null(strstr(ccai_config_errmsg(cfg), "conversation.callback_timeout_hour"));
    static const char bad[] = "llm:\n  fast:\n    context: big\n    max_tokens: -4\n"
                              "conversation:\n  answer_hard_timeout_sec: x\n";
    assert_int_equal(ccai_config_load_string(cfg, bad, sizeof bad - 1, "bad.yaml"),
                     CCAI_ERR_CONFIG);
    assert_int_equal(ccai_config_error_count(cfg), 3);
    const char *key = NULL, *msg = NULL;
    unsigned line = 0, col = 0;
    assert_int_equal(ccai_config_error(cfg, 0, &key, &line, &col, &msg), CCAI_OK);
    assert_string_equal(key, "llm.fast.context");
    assert_int_equal(line, 3);
    assert_int_equal(ccai_config_error(cfg, 9, &key, &line, &col, &msg), CCAI_ERR_NOT_FOUND);
    char *json = NULL;
    assert_int_equal(ccai_config_set(cfg, "llm.fast.api_key", "sk-secret-value"), CCAI_OK);
    assert_int_equal(ccai_config_to_json(cfg, 1, &json), CCAI_OK);
    assert_null(strstr(json, "sk-secret-value"));
    ccai_free(json);
    ccai_config_free(cfg);

    /* Collect mode: the file's, the environment's and the rules' errors in
     * one list from validate; the reference's names land on ours. */
    assert_int_equal(ccai_config_new(&cfg), CCAI_OK);
    assert_int_equal(ccai_config_set_collect(cfg, 1), CCAI_OK);
    static const char ref[] = "llm:\n  fast:\n    mode: azure_openai\n    azure_openai:\n"
                              "      deployment: d\n      streaming: maybe\n"
                              "communication_services:\n  call_queue_name: call-1\n"
                              "nope: 1\n";
    assert_int_equal(ccai_config_load_string(cfg, ref, sizeof ref - 1, "ref.yaml"), CCAI_OK);
    assert_string_equal(ccai_config_get(cfg, "llm.fast.deployment"), "d");
    const char *env[] = {"CONVERSATION__VOICE_RECOGNITION_RETRY_MAX=x", NULL};
    assert_int_equal(ccai_config_apply_env(cfg, env), CCAI_OK);
    assert_int_equal(ccai_config_validate(cfg), CCAI_ERR_CONFIG);
    assert_int_equal(ccai_config_error_count(cfg), 4);
    const char *m = ccai_config_errmsg(cfg);
    assert_non_null(strstr(m, "ref.yaml:6:18: llm.fast.azure_openai.streaming:"));
    assert_non_null(strstr(m, "ref.yaml:9:1: nope: unknown key"));
    assert_non_null(strstr(m, "<env>:0:0: conversation.voice_recognition_retry_max:"));
    assert_non_null(strstr(m, "<config>:0:0: llm.fast.endpoint: required"));
    ccai_config_free(cfg);
}

static void test_claim_schema(void **state)
{
    (void)state;
    ccai_claim_schema *s = NULL;
    assert_int_equal(ccai_claim_schema_new(&s), CCAI_OK);
    assert_int_equal(ccai_claim_schema_count(s), 3);
    assert_int_equal(ccai_claim_schema_add(s, "vehicle_plate", CCAI_FIELD_TEXT, "Plate"), CCAI_OK);
    const char *name = NULL;
    ccai_field_type type;
    assert_int_equal(ccai_claim_schema_field(s, 0, &name, &type, NULL), CCAI_OK);
    assert_string_equal(name, "vehicle_plate");
    assert_int_equal(ccai_claim_schema_field(s, 3, &name, &type, NULL), CCAI_OK);
    assert_string_equal(name, "policyholder_phone");
    assert_int_equal(type, CCAI_FIELD_PHONE_NUMBER);
    ccai_claim_schema *shared = ccai_claim_schema_ref(s);
    assert_int_equal(ccai_claim_schema_add(s, "late", CCAI_FIELD_TEXT, NULL), CCAI_ERR_STATE);
    ccai_claim_schema_unref(shared);
    ccai_claim_schema_unref(s);

    char *norm = NULL, *err = NULL;
    assert_int_equal(
        ccai_field_validate(CCAI_FIELD_PHONE_NUMBER, "0033 (6) 12.34.56-78", &norm, &err), CCAI_OK);
    assert_string_equal(norm, "+33612345678");
    ccai_free(norm);
    norm = NULL;
    assert_int_equal(ccai_field_validate(CCAI_FIELD_EMAIL, "not-an-email", &norm, &err),
                     CCAI_ERR_VALIDATION);
    assert_null(norm);
    assert_non_null(err);
    assert_true(strlen(err) > 10);
    ccai_free(err);
}

typedef struct spoke {
    int states;
} spoke;

static void on_state(ccai_call *c, ccai_call_state o, ccai_call_state n, void *ud)
{
    (void)c;
    (void)o;
    (void)n;
    ((spoke *)ud)->states++;
}

static void test_call_through_poll_adapter(void **state)
{
    (void)state;
    char dir[] = "/tmp/ccai-api-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[200];
    snprintf(path, sizeof path, "%s/calls.sqlite", dir);
    ccai_config *cfg = NULL;
    assert_int_equal(ccai_config_new(&cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "database.sqlite.path", path), CCAI_OK);
    ccai_poll *p = NULL;
    ccai_ctx *ctx = NULL;
    assert_int_equal(ccai_poll_new(cfg, &p, &ctx, NULL), CCAI_OK);
    assert_string_equal(ccai_ctx_database_path(ctx), path);

    spoke s = {0};
    ccai_call_ops ops = {.version = CCAI_CALL_OPS_VERSION, .state_changed = on_state};
    ccai_call_params params = {.version = CCAI_CALL_PARAMS_VERSION,
                               .direction = CCAI_OUTBOUND,
                               .phone_number = "+1 415 555 0100",
                               .bot_phone_number = "+33100000000",
                               .channel = "local"};
    ccai_call *call = NULL;
    assert_int_equal(ccai_call_start(ctx, &params, &ops, &s, &call), CCAI_OK);
    ccai_event *ev = NULL;
    assert_int_equal(ccai_event_new(CCAI_EVENT_SPEECH, &ev), CCAI_OK);
    assert_int_equal(ccai_event_set_text(ev, "Bonjour, ma fenêtre est cassée."), CCAI_OK);
    assert_int_equal(ccai_event_set_lang(ev, "fr-FR"), CCAI_OK);
    assert_int_equal(ccai_on_event(call, ev), CCAI_OK);
    ccai_event_free(ev);
    assert_int_equal(ccai_event_new(CCAI_EVENT_HANGUP, &ev), CCAI_OK);
    assert_int_equal(ccai_on_event(call, ev), CCAI_OK);
    assert_int_equal(ccai_on_event(call, ev), CCAI_ERR_STATE);
    ccai_event_free(ev);
    assert_true(s.states >= 3);
    assert_int_equal(ccai_poll_run(p, NULL, NULL), 0); /* idle: returns at once */
    char *json = NULL;
    assert_int_equal(ccai_call_to_json(call, &json), CCAI_OK);
    assert_non_null(strstr(json, "\"direction\":\"outbound\""));
    assert_non_null(strstr(json, "\"bot_phone_number\":\"+33100000000\""));
    assert_non_null(strstr(json, "fen\\u00EAtre")); /* ASCII-safe JSON */
    ccai_free(json);
    ccai_call_free(call);
    ccai_poll_free(p);

    /* Reopen: the call is there. */
    assert_int_equal(ccai_poll_new(cfg, &p, &ctx, NULL), CCAI_OK);
    assert_int_equal(ccai_ctx_calls_list_json(ctx, NULL, 5, 0, &json), CCAI_OK);
    assert_non_null(strstr(json, "\"total\":1"));
    ccai_free(json);
    ccai_poll_free(p);
    ccai_config_free(cfg);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* With database.sqlite.group_commit a loop turn's writes are committed at
 * its end; what the history API shows is committed before it is shown: a
 * crash after cannot take back what it showed (the caller's words read by
 * GET /call/{id}, then a kill -9 before the turn's end, lost them). The
 * loop never runs here: another context on the file sees the caller's
 * words only once the first context's API has read them. */
static void test_read_commits_group(void **state)
{
    (void)state;
    char dir[] = "/tmp/ccai-api-group-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[200];
    snprintf(path, sizeof path, "%s/calls.sqlite", dir);
    ccai_config *cfg2 = NULL;
    assert_int_equal(ccai_config_new(&cfg2), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg2, "database.sqlite.path", path), CCAI_OK);
    ccai_poll *p2 = NULL;
    ccai_ctx *other = NULL;
    assert_int_equal(ccai_poll_new(cfg2, &p2, &other, NULL), CCAI_OK);
    ccai_config *cfg = NULL;
    assert_int_equal(ccai_config_new(&cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "database.sqlite.path", path), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "database.sqlite.group_commit", "true"), CCAI_OK);
    ccai_poll *p = NULL;
    ccai_ctx *ctx = NULL;
    assert_int_equal(ccai_poll_new(cfg, &p, &ctx, NULL), CCAI_OK);

    ccai_call_ops ops = {.version = CCAI_CALL_OPS_VERSION};
    ccai_call_params params = {.version = CCAI_CALL_PARAMS_VERSION,
                               .direction = CCAI_INBOUND,
                               .phone_number = "+14155550100",
                               .bot_phone_number = "+33100000000",
                               .channel = "local"};
    ccai_call *call = NULL;
    assert_int_equal(ccai_call_start(ctx, &params, &ops, NULL, &call), CCAI_OK);
    ccai_event *ev = NULL;
    assert_int_equal(ccai_event_new(CCAI_EVENT_SPEECH, &ev), CCAI_OK);
    assert_int_equal(ccai_event_set_text(ev, "The kitchen window is broken."), CCAI_OK);
    assert_int_equal(ccai_on_event(call, ev), CCAI_OK);
    ccai_event_free(ev);
    char id[64];
    snprintf(id, sizeof id, "%s", ccai_call_id(call));

    /* The words are not committed yet: the other context sees the call
     * (its lease committed it at once), not them. */
    char *json = NULL;
    assert_int_equal(ccai_ctx_call_get_json(other, id, &json), CCAI_OK);
    if (strstr(json, "kitchen window"))
        fail_msg("committed before the turn's end: %s", json);
    ccai_free(json);
    json = NULL;
    /* Read through the first context's API: shown, so committed. */
    assert_int_equal(ccai_ctx_call_get_json(ctx, id, &json), CCAI_OK);
    assert_non_null(strstr(json, "kitchen window"));
    ccai_free(json);
    json = NULL;
    assert_int_equal(ccai_ctx_call_get_json(other, id, &json), CCAI_OK);
    if (!strstr(json, "kitchen window"))
        fail_msg("the other context sees %s", json);
    ccai_free(json);

    ccai_call_free(call);
    ccai_poll_free(p);
    ccai_config_free(cfg);
    ccai_poll_free(p2);
    ccai_config_free(cfg2);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_ctx_new_bad_database(void **state)
{
    (void)state;
    ccai_config *cfg = NULL;
    assert_int_equal(ccai_config_new(&cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "database.sqlite.path", "/nonexistent/dir/x.sqlite"),
                     CCAI_OK);
    ccai_poll *p = NULL;
    ccai_ctx *ctx = NULL;
    char *why = NULL;
    assert_int_equal(ccai_poll_new(cfg, &p, &ctx, &why), CCAI_ERR_STORE);
    assert_null(p);
    assert_non_null(why);
    assert_non_null(strstr(why, "/nonexistent/dir/x.sqlite"));
    ccai_free(why);
    ccai_config_free(cfg);
}

/* Contexts made and freed on several threads at once: libccai's calls to
 * curl_global_init() and curl_global_cleanup() take turns. */
static void *contexts_in_a_row(void *arg)
{
    ccai_config *cfg = arg;
    for (int i = 0; i < 10; i++) {
        ccai_poll *p = NULL;
        ccai_ctx *ctx = NULL;
        if (ccai_poll_new(cfg, &p, &ctx, NULL) != CCAI_OK)
            return (void *)1;
        ccai_poll_free(p);
    }
    return NULL;
}

static void contexts_on_threads(ccai_config *cfg)
{
    pthread_t th[4];
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, contexts_in_a_row, cfg), 0);
    for (size_t i = 0; i < 4; i++) {
        void *rc = NULL;
        assert_int_equal(pthread_join(th[i], &rc), 0);
        assert_null(rc);
    }
}

static void test_global_init(void **state)
{
    (void)state;
    ccai_config *cfg = NULL;
    assert_int_equal(ccai_config_new(&cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "database.sqlite.path", ":memory:"), CCAI_OK);

    /* Without the host's initialisation: each context takes its own. */
    contexts_on_threads(cfg);

    /* With it, held across the contexts; nested, and given back once each. */
    assert_int_equal(ccai_global_init(), CCAI_OK);
    assert_int_equal(ccai_global_init(), CCAI_OK);
    contexts_on_threads(cfg);
    ccai_poll *p = NULL;
    ccai_ctx *ctx = NULL;
    assert_int_equal(ccai_poll_new(cfg, &p, &ctx, NULL), CCAI_OK);
    ccai_global_cleanup();
    ccai_global_cleanup();
    /* One too many: it cannot give back the living context's reference. */
    ccai_global_cleanup();
    assert_int_equal(ccai_poll_run(p, NULL, NULL), 0);
    ccai_poll_free(p);
    ccai_config_free(cfg);
}

static int play_none(ccai_call *call, const ccai_audio_frame *f, void *ud)
{
    (void)call;
    (void)f;
    (void)ud;
    return 0;
}

/* The audio API through the shared library: formats libccai does not take
 * and a missing play_audio are refused at the start, a text call takes no
 * audio, NULL arguments are refused. */
static void test_audio_api(void **state)
{
    (void)state;
    ccai_config *cfg = NULL;
    assert_int_equal(ccai_config_new(&cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "database.sqlite.path", ":memory:"), CCAI_OK);
    ccai_poll *p = NULL;
    ccai_ctx *ctx = NULL;
    assert_int_equal(ccai_poll_new(cfg, &p, &ctx, NULL), CCAI_OK);
    ccai_call_ops ops = {.version = CCAI_CALL_OPS_VERSION, .play_audio = play_none};
    ccai_call_params params = {.version = CCAI_CALL_PARAMS_VERSION,
                               .direction = CCAI_INBOUND,
                               .phone_number = "+14155550100",
                               .audio_in = {CCAI_AUDIO_ULAW, 11025, 1}};
    ccai_call *call = NULL;
    assert_int_equal(ccai_call_start(ctx, &params, &ops, NULL, &call), CCAI_ERR_INVALID_ARG);
    assert_non_null(strstr(ccai_ctx_errmsg(ctx), "11025"));
    params.audio_in = (ccai_audio_format){CCAI_AUDIO_PCM16, 16000, 3};
    assert_int_equal(ccai_call_start(ctx, &params, &ops, NULL, &call), CCAI_ERR_INVALID_ARG);
    params.audio_in = (ccai_audio_format){CCAI_AUDIO_ULAW, 8000, 1};
    ops.play_audio = NULL;
    assert_int_equal(ccai_call_start(ctx, &params, &ops, NULL, &call), CCAI_ERR_INVALID_ARG);
    /* A text call (no audio_in): no audio taken. */
    params.audio_in.encoding = CCAI_AUDIO_NONE;
    assert_int_equal(ccai_call_start(ctx, &params, &ops, NULL, &call), CCAI_OK);
    unsigned char frame[160] = {0};
    assert_int_equal(ccai_call_audio_in(call, frame, sizeof frame), CCAI_ERR_STATE);
    assert_int_equal(ccai_call_audio_marked(call, "m1"), CCAI_ERR_STATE);
    assert_int_equal(ccai_call_audio_marked(call, NULL), CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_call_audio_in(NULL, frame, sizeof frame), CCAI_ERR_INVALID_ARG);
    ccai_call_free(call);
    ccai_poll_free(p);
    ccai_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_and_status), cmocka_unit_test(test_null_arguments),
        cmocka_unit_test(test_log_mask),           cmocka_unit_test(test_config_roundtrip),
        cmocka_unit_test(test_claim_schema),       cmocka_unit_test(test_call_through_poll_adapter),
        cmocka_unit_test(test_read_commits_group), cmocka_unit_test(test_ctx_new_bad_database),
        cmocka_unit_test(test_global_init),        cmocka_unit_test(test_audio_api),
    };
    return cmocka_run_group_tests_name("api", tests, NULL, NULL);
}
