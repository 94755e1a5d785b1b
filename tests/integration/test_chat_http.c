/* The local channel over HTTP: a text call through ccai_ctx_http(), the
 * answer streaming over /next, silence, hang-up, the offline dialogue. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <ccai/adapters/poll.h>

#include "support/llm_standin.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

typedef struct answer {
    int done;
    int status;
    char body[65536];
} answer;

typedef struct env {
    standin *llm;
    ccai_config *cfg;
    ccai_poll *poll;
    ccai_ctx *ctx;
} env;

static void env_init(env *e, bool with_llm)
{
    memset(e, 0, sizeof *e);
    assert_int_equal(ccai_config_new(&e->cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "database.sqlite.path", ":memory:"), CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "server.api_token", "tok"), CCAI_OK);
    if (with_llm) {
        e->llm = standin_start(NULL);
        assert_non_null(e->llm);
        char ep[64];
        snprintf(ep, sizeof ep, "http://127.0.0.1:%d/v1", standin_port(e->llm));
        assert_int_equal(ccai_config_set(e->cfg, "llm.fast.mode", "openai_compatible"), CCAI_OK);
        assert_int_equal(ccai_config_set(e->cfg, "llm.fast.endpoint", ep), CCAI_OK);
    }
    assert_int_equal(ccai_poll_new(e->cfg, &e->poll, &e->ctx, NULL), CCAI_OK);
}

static void env_free(env *e)
{
    ccai_poll_free(e->poll);
    ccai_config_free(e->cfg);
    standin_stop(e->llm);
}

static void on_answer(ccai_http_exchange *x, const ccai_http_response *res, void *ud)
{
    (void)x;
    answer *a = ud;
    a->done = 1;
    a->status = res->status;
    snprintf(a->body, sizeof a->body, "%.*s", (int)res->body_len, res->body);
}

static json_t *post(env *e, const char *path, const char *body, const char *token, int want)
{
    char auth[64];
    snprintf(auth, sizeof auth, "Bearer %s", token);
    ccai_http_header h[1] = {{"Authorization", auth}};
    ccai_http_request req = {CCAI_HTTP_REQUEST_VERSION, "POST",     path, NULL, h, 1, body,
                             body ? strlen(body) : 0,   "127.0.0.1"};
    answer a = {0};
    assert_int_equal(ccai_ctx_http(e->ctx, &req, on_answer, &a, NULL), CCAI_OK);
    uint64_t deadline = ccai_time_ms() + 10000;
    while (!a.done && ccai_time_ms() < deadline)
        ccai_poll_run_once(e->poll, 50);
    assert_true(a.done);
    if (a.status != want)
        fail_msg("%s: HTTP %d, wanted %d: %s", path, a.status, want, a.body);
    json_t *doc = json_loads(a.body, 0, NULL);
    assert_non_null(doc);
    return doc;
}

/* Collect every sentence of one answer, following "more". */
static void collect(env *e, json_t *doc, const char *id, char *out, size_t len, int *rounds)
{
    char next[96];
    snprintf(next, sizeof next, "/chat/%s/next", id);
    for (;;) {
        size_t i;
        json_t *s;
        json_array_foreach(json_object_get(doc, "say"), i, s)
        {
            strncat(out, json_string_value(json_object_get(s, "text")), len - strlen(out) - 2);
            strcat(out, "|");
        }
        bool more = json_is_true(json_object_get(doc, "more"));
        json_decref(doc);
        if (!more)
            return;
        (*rounds)++;
        doc = post(e, next, NULL, "tok", 200);
    }
}

static void test_chat_with_llm(void **state)
{
    (void)state;
    env e;
    env_init(&e, true);
    json_t *doc = post(&e, "/chat", "{\"lang\":\"en-US\"}", "wrong", 401);
    json_decref(doc);
    doc = post(&e, "/chat", "{\"lang\":\"en-US\",\"phone_number\":\"+14155550123\"}", "tok", 200);
    char id[64];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(doc, "call_id")));
    assert_true(json_is_true(json_object_get(doc, "listening")));
    assert_int_equal(json_array_size(json_object_get(doc, "say")), 1); /* the greeting */
    json_decref(doc);

    standin_spec s = STANDIN_SPEC_INIT;
    s.content = "I am sorry about your car. Was anyone hurt? Where are you now?";
    s.chunk_ms = 40;
    standin_push(e.llm, &s);
    char path[96];
    snprintf(path, sizeof path, "/chat/%s", id);
    doc = post(&e, path, "{\"text\":\"My car was hit.\"}", "tok", 200);
    char said[2048] = "";
    int rounds = 0;
    collect(&e, doc, id, said, sizeof said, &rounds);
    assert_true(rounds >= 1); /* streamed: the first sentence came before the rest */
    assert_string_equal(said, "I am sorry about your car.|Was anyone hurt?|Where are you now?|");

    doc = post(&e, path, "{\"silence\":true}", "tok", 200);
    assert_true(json_is_true(json_object_get(doc, "listening")));
    assert_int_equal(json_array_size(json_object_get(doc, "say")), 1); /* "still there?" */
    json_decref(doc);

    doc = post(&e, path, "{\"sms\":\"My policy number is P-1\"}", "tok", 200);
    assert_int_equal(json_array_size(json_object_get(doc, "say")), 0);
    json_decref(doc);

    doc = post(&e, path, "{\"hangup\":true}", "tok", 200);
    assert_true(json_is_true(json_object_get(doc, "ended")));
    json_decref(doc);
    doc = post(&e, path, "{\"text\":\"hello?\"}", "tok", 404);
    json_decref(doc);

    char *json = NULL;
    assert_int_equal(ccai_ctx_call_get_json(e.ctx, id, &json), CCAI_OK);
    assert_non_null(strstr(json, "\"channel\":\"http-chat\""));
    assert_non_null(strstr(json, "Was anyone hurt?"));
    assert_non_null(strstr(json, "P-1"));
    assert_null(strstr(json, "\"in_progress\":true"));
    ccai_free(json);
    env_free(&e);
}

static void test_chat_offline(void **state)
{
    (void)state;
    env e;
    env_init(&e, false);
    json_t *doc = post(&e, "/chat", "{\"lang\":\"fr-FR\"}", "tok", 200);
    char id[64], path[96];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(doc, "call_id")));
    snprintf(path, sizeof path, "/chat/%s", id);
    assert_true(json_array_size(json_object_get(doc, "say")) >= 2); /* greeting and question */
    json_decref(doc);
    doc = post(&e, path, "{\"text\":\"hier soir vers 22 heures\"}", "tok", 200);
    char said[2048] = "";
    int rounds = 0;
    collect(&e, doc, id, said, sizeof said, &rounds);
    assert_non_null(strstr(said, "noté"));
    doc = post(&e, path, "{}", "tok", 400);
    json_decref(doc);
    doc = post(&e, path, "{\"text\":\"au revoir\"}", "tok", 200);
    said[0] = '\0';
    collect(&e, doc, id, said, sizeof said, &rounds);
    /* Goodbye ends the call: the chat is gone. */
    for (int i = 0; i < 5; i++)
        ccai_poll_run_once(e.poll, 10);
    doc = post(&e, path, "{\"text\":\"encore là ?\"}", "tok", 404);
    json_decref(doc);
    env_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chat_with_llm),
        cmocka_unit_test(test_chat_offline),
    };
    return cmocka_run_group_tests_name("chat-http", tests, NULL, NULL);
}
