/* The local channel over HTTP: a text call through ccai_ctx_http(), the
 * answer streaming over /next, silence, hang-up, the offline dialogue;
 * abandoned polls, limits, store failures, idle chats and the cap on open
 * chats. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <ccai/adapters/poll.h>

#include "support/llm_standin.h"

#define CCAI_ARRAY_SIZE_T(a) (sizeof(a) / sizeof((a)[0]))

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct answer {
    int done;
    int status;
    char retry_after[16];
    char body[65536];
} answer;

typedef struct env {
    standin *llm;
    ccai_config *cfg;
    ccai_poll *poll;
    ccai_ctx *ctx;
} env;

/* extra: NULL-terminated key, value pairs set before the context starts. */
static void env_init_with(env *e, bool with_llm, const char *const *extra)
{
    memset(e, 0, sizeof *e);
    assert_int_equal(ccai_config_new(&e->cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "database.sqlite.path", ":memory:"), CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "server.api_token", "tok"), CCAI_OK);
    for (size_t i = 0; extra && extra[i]; i += 2)
        assert_int_equal(ccai_config_set(e->cfg, extra[i], extra[i + 1]), CCAI_OK);
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

static void env_init(env *e, bool with_llm)
{
    env_init_with(e, with_llm, NULL);
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
    for (size_t i = 0; i < res->n_headers; i++) {
        if (!strcmp(res->headers[i].name, "Retry-After"))
            snprintf(a->retry_after, sizeof a->retry_after, "%s", res->headers[i].value);
    }
}

/* Send a request; *ret_x receives its exchange while it waits. */
static void send_req(env *e, const char *path, const char *body, const char *token, answer *a,
                     ccai_http_exchange **ret_x)
{
    char auth[64];
    snprintf(auth, sizeof auth, "Bearer %s", token);
    ccai_http_header h[1] = {{"Authorization", auth}};
    ccai_http_request req = {CCAI_HTTP_REQUEST_VERSION, "POST",     path, NULL, h, 1, body,
                             body ? strlen(body) : 0,   "127.0.0.1"};
    memset(a, 0, sizeof *a);
    assert_int_equal(ccai_ctx_http(e->ctx, &req, on_answer, a, ret_x), CCAI_OK);
}

static void run_for(env *e, int ms)
{
    uint64_t end = ccai_time_ms() + (uint64_t)ms;
    while (ccai_time_ms() < end)
        ccai_poll_run_once(e->poll, 20);
}

/* Every request gets an answer: wait for it (10 s at most). */
static json_t *wait_answer(env *e, const char *path, answer *a, int want)
{
    uint64_t deadline = ccai_time_ms() + 10000;
    while (!a->done && ccai_time_ms() < deadline)
        ccai_poll_run_once(e->poll, 50);
    if (!a->done)
        fail_msg("%s: no answer in 10 s", path);
    if (a->status != want)
        fail_msg("%s: HTTP %d, wanted %d: %s", path, a->status, want, a->body);
    json_t *doc = json_loads(a->body, 0, NULL);
    assert_non_null(doc);
    return doc;
}

static json_t *post(env *e, const char *path, const char *body, const char *token, int want)
{
    answer a;
    send_req(e, path, body, token, &a, NULL);
    return wait_answer(e, path, &a, want);
}

/* The error envelope {"error":{"message","details":[...]}}: its message. */
static const char *error_message(const json_t *doc)
{
    const char *m = json_string_value(json_object_get(json_object_get(doc, "error"), "message"));
    assert_non_null(m);
    assert_true(json_is_array(json_object_get(json_object_get(doc, "error"), "details")));
    return m;
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
    assert_non_null(strstr(said, "à 22 h 00")); /* yesterday, read back */
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

/* The call id of a POST /chat answer. */
static void start_chat(env *e, const char *body, char id[64], char path[96], char next[96])
{
    json_t *doc = post(e, "/chat", body, "tok", 200);
    snprintf(id, 64, "%s", json_string_value(json_object_get(doc, "call_id")));
    snprintf(path, 96, "/chat/%s", id);
    snprintf(next, 96, "/chat/%s/next", id);
    json_decref(doc);
}

static void append_said(const json_t *doc, char *out, size_t len)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(doc, "say"), i, s)
    {
        strncat(out, json_string_value(json_object_get(s, "text")), len - strlen(out) - 2);
        strcat(out, "|");
    }
}

/* A client gives up on a long-poll (its connection closed: the host
 * cancels the exchange): what the bot says meanwhile waits for the next
 * poll, none of it is lost, and the cancelled request gets nothing. */
static void test_abandoned_poll(void **state)
{
    (void)state;
    env e;
    env_init(&e, true);
    char id[64], path[96], next[96];
    start_chat(&e, "{\"lang\":\"en-US\"}", id, path, next);

    /* One sentence every 300 ms: "One." is cut when " Two." arrives. */
    standin_spec s = STANDIN_SPEC_INIT;
    s.content = "One. Two. Three.";
    s.chunk_ms = 300;
    standin_push(e.llm, &s);
    json_t *doc = post(&e, path, "{\"text\":\"Count to three.\"}", "tok", 200);
    char said[512] = "";
    append_said(doc, said, sizeof said);
    assert_true(json_is_true(json_object_get(doc, "more")));
    json_decref(doc);
    assert_string_equal(said, "One.|");

    answer gone;
    ccai_http_exchange *x = NULL;
    send_req(&e, next, NULL, "tok", &gone, &x);
    assert_non_null(x); /* it waits for "Two." */
    ccai_http_exchange_cancel(x);
    run_for(&e, 1500); /* the rest of the answer arrives meanwhile */
    assert_int_equal(gone.done, 0);

    answer a;
    send_req(&e, next, NULL, "tok", &a, NULL);
    doc = wait_answer(&e, next, &a, 200);
    append_said(doc, said, sizeof said);
    assert_true(json_is_true(json_object_get(doc, "listening")));
    json_decref(doc);
    assert_string_equal(said, "One.|Two.|Three.|");

    /* A text request abandoned before the bot's first word: the whole
     * answer goes to the next poll. */
    s.content = "Four. Five.";
    s.ttft_ms = 400;
    s.chunk_ms = 50;
    standin_push(e.llm, &s);
    send_req(&e, path, "{\"text\":\"Go on.\"}", "tok", &gone, &x);
    assert_non_null(x);
    ccai_http_exchange_cancel(x);
    run_for(&e, 1200);
    assert_int_equal(gone.done, 0);
    said[0] = '\0';
    send_req(&e, next, NULL, "tok", &a, NULL);
    doc = wait_answer(&e, next, &a, 200);
    append_said(doc, said, sizeof said);
    assert_true(json_is_true(json_object_get(doc, "listening")));
    json_decref(doc);
    assert_string_equal(said, "Four.|Five.|");
    doc = post(&e, path, "{\"hangup\":true}", "tok", 200);
    json_decref(doc);
    env_free(&e);
}

/* An answer that never reached the client although the server handed it
 * over (a connection that died without a FIN): the client sends back the
 * "seq" of the last answer it got as "after", and gets the sentences it
 * missed again, then the rest; "after" acknowledges what it covers. */
static void test_lost_answer_resent(void **state)
{
    (void)state;
    env e;
    env_init(&e, true);
    char id[64], path[96], next[96];
    start_chat(&e, "{\"lang\":\"en-US\"}", id, path, next);
    standin_spec s = STANDIN_SPEC_INIT;
    s.content = "One. Two. Three. Four.";
    s.chunk_ms = 300;
    standin_push(e.llm, &s);
    json_t *doc = post(&e, path, "{\"text\":\"Count to four.\",\"after\":1}", "tok", 200);
    char said[512] = "", ack[48];
    append_said(doc, said, sizeof said);
    assert_string_equal(said, "One.|");
    json_int_t got = json_integer_value(json_object_get(doc, "seq"));
    assert_true(got >= 2); /* the greeting, "One." */
    json_decref(doc);

    snprintf(ack, sizeof ack, "{\"after\":%lld}", (long long)got);
    doc = post(&e, next, ack, "tok", 200); /* "Two.": lost on the way */
    json_decref(doc);
    doc = post(&e, next, ack, "tok", 200); /* the same "after": "Two." again */
    append_said(doc, said, sizeof said);
    assert_string_equal(said, "One.|Two.|");
    got = json_integer_value(json_object_get(doc, "seq"));
    json_decref(doc);

    snprintf(ack, sizeof ack, "{\"after\":%lld}", (long long)got);
    for (int i = 0; i < 10 && !strstr(said, "Four."); i++) {
        doc = post(&e, next, ack, "tok", 200);
        append_said(doc, said, sizeof said);
        snprintf(ack, sizeof ack, "{\"after\":%lld}",
                 (long long)json_integer_value(json_object_get(doc, "seq")));
        json_decref(doc);
    }
    assert_string_equal(said, "One.|Two.|Three.|Four.|");
    doc = post(&e, next, "{\"after\":-1}", "tok", 400);
    json_decref(doc);
    doc = post(&e, path, "{\"hangup\":true}", "tok", 200);
    json_decref(doc);
    env_free(&e);
}

/* Texts, DTMF and SMS longer than an event may carry (16 KiB) get 413 in
 * the error envelope, well under the body limit; the chat goes on. */
static void test_field_too_long(void **state)
{
    (void)state;
    env e;
    env_init(&e, false);
    char id[64], path[96], next[96];
    start_chat(&e, "{\"lang\":\"en-US\"}", id, path, next);
    size_t n = 17 * 1024;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, 'a', n);
    big[n] = '\0';
    static const char *const fields[] = {"text", "dtmf", "sms"};
    for (size_t i = 0; i < 3; i++) {
        json_t *body = json_pack("{s:s}", fields[i], big);
        char *text = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        json_t *doc = post(&e, path, text, "tok", 413);
        free(text);
        assert_string_equal(error_message(doc), "request field too large");
        json_decref(doc);
    }
    free(big);
    json_t *doc = post(&e, path, "{\"text\":\"my name is Ada Lovelace\"}", "tok", 200);
    assert_true(json_array_size(json_object_get(doc, "say")) > 0);
    json_decref(doc);
    doc = post(&e, path, "{\"hangup\":true}", "tok", 200);
    json_decref(doc);
    env_free(&e);
}

static off_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : 0;
}

/* The disk is full (RLIMIT_FSIZE stops the database's journal from
 * growing, as a full file system or a quota would): every chat request
 * still gets an answer, 503 with Retry-After in the error envelope, the
 * chat stays open, and once the disk has room the same request goes
 * through. */
static void test_store_failure(void **state)
{
    (void)state;
    char dir[] = "/tmp/ccai-chat-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char db[128], wal[140];
    snprintf(db, sizeof db, "%s/db.sqlite", dir);
    snprintf(wal, sizeof wal, "%s-wal", db);
    const char *const extra[] = {"database.sqlite.path", db, NULL};
    env e;
    env_init_with(&e, false, extra);
    char id[64], path[96], next[96];
    start_chat(&e, "{\"lang\":\"en-US\"}", id, path, next);

    signal(SIGXFSZ, SIG_IGN);
    struct rlimit old, full;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    full = old;
    full.rlim_cur = (rlim_t)file_size(wal);
    assert_true(full.rlim_cur > 0);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &full), 0);

    answer a;
    static const char *const bodies[] = {"{\"text\":\"my name is Ada Lovelace\"}",
                                         "{\"sms\":\"policy P-1\"}", "{\"dtmf\":\"1\"}",
                                         "{\"hangup\":true}"};
    for (size_t i = 0; i < CCAI_ARRAY_SIZE_T(bodies); i++) {
        send_req(&e, path, bodies[i], "tok", &a, NULL);
        json_t *doc = wait_answer(&e, path, &a, 503);
        assert_string_equal(error_message(doc), "the database is unavailable");
        assert_true(atoi(a.retry_after) > 0);
        json_decref(doc);
    }
    send_req(&e, "/chat", "{\"lang\":\"en-US\"}", "tok", &a, NULL);
    json_t *doc = wait_answer(&e, "/chat", &a, 503);
    assert_string_equal(error_message(doc), "the database is unavailable");
    json_decref(doc);

    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    doc = post(&e, path, bodies[0], "tok", 200);
    assert_true(json_array_size(json_object_get(doc, "say")) > 0);
    json_decref(doc);
    doc = post(&e, path, bodies[3], "tok", 200);
    assert_true(json_is_true(json_object_get(doc, "ended")));
    json_decref(doc);
    char *json = NULL;
    assert_int_equal(ccai_ctx_call_get_json(e.ctx, id, &json), CCAI_OK);
    /* (the claim holds the name too, noted from "my name is") */
    const char *first = strstr(json, "\"my name is Ada Lovelace\"");
    assert_non_null(first);
    assert_null(strstr(first + 1, "\"my name is Ada Lovelace\"")); /* stored once */
    ccai_free(json);
    env_free(&e);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* A client that goes away without hanging up: the chat ends on the
 * conversation's silence rules (a "still there?" per silence timeout, the
 * goodbye after recognition_retry_max), the call is ended and stored as
 * such; what the bot said meanwhile still reaches a client that comes
 * back, then the chat is gone. */
static void test_idle_chat_ends(void **state)
{
    (void)state;
    const char *const extra[] = {"conversation.phone_silence_timeout_sec", "1",
                                 "conversation.recognition_retry_max", "1", NULL};
    env e;
    env_init_with(&e, true, extra);
    char id[64], path[96], next[96], id2[64], path2[96], next2[96];
    start_chat(&e, "{\"lang\":\"en-US\"}", id2, path2, next2); /* nobody comes back */
    start_chat(&e, "{\"lang\":\"en-US\"}", id, path, next);
    json_t *doc = post(&e, path, "{\"text\":\"My car was hit.\"}", "tok", 200);
    char said[2048] = "";
    int rounds = 0;
    collect(&e, doc, id, said, sizeof said, &rounds);
    /* 1 s: still there?  2 s: goodbye, the call ends. */
    char *json = NULL;
    uint64_t deadline = ccai_time_ms() + 5000;
    do {
        run_for(&e, 100);
        ccai_free(json);
        assert_int_equal(ccai_ctx_call_get_json(e.ctx, id, &json), CCAI_OK);
    } while (strstr(json, "\"in_progress\":true") && ccai_time_ms() < deadline);
    assert_non_null(strstr(json, "\"in_progress\":false"));
    assert_non_null(strstr(json, "\"content\":\"the bot hung up\""));
    ccai_free(json);

    answer a;
    send_req(&e, next, NULL, "tok", &a, NULL);
    doc = wait_answer(&e, next, &a, 200);
    assert_true(json_is_true(json_object_get(doc, "ended")));
    assert_int_equal(json_array_size(json_object_get(doc, "say")), 2); /* still there? goodbye */
    json_decref(doc);
    run_for(&e, 50); /* told: the chat goes */
    doc = post(&e, next, NULL, "tok", 404);
    json_decref(doc);
    /* The other one waited one silence timeout for its client, then went. */
    run_for(&e, 1200);
    doc = post(&e, next2, NULL, "tok", 404);
    json_decref(doc);
    assert_int_equal(ccai_ctx_call_get_json(e.ctx, id2, &json), CCAI_OK);
    assert_non_null(strstr(json, "\"in_progress\":false"));
    ccai_free(json);
    env_free(&e);
}

/* server.max_chats caps the open chats: one more gets 503 with
 * Retry-After; a chat that ends frees its place. */
static void test_open_chat_cap(void **state)
{
    (void)state;
    const char *const extra[] = {"server.max_chats", "2", NULL};
    env e;
    env_init_with(&e, false, extra);
    char id[64], path[96], next[96], id2[64], path2[96], next2[96];
    start_chat(&e, "{\"lang\":\"en-US\"}", id, path, next);
    start_chat(&e, "{\"lang\":\"en-US\"}", id2, path2, next2);
    answer a;
    send_req(&e, "/chat", "{\"lang\":\"en-US\"}", "tok", &a, NULL);
    json_t *doc = wait_answer(&e, "/chat", &a, 503);
    assert_string_equal(error_message(doc), "too many open chats");
    assert_true(atoi(a.retry_after) > 0);
    json_decref(doc);
    doc = post(&e, path, "{\"hangup\":true}", "tok", 200);
    json_decref(doc);
    start_chat(&e, "{\"lang\":\"en-US\"}", id, path, next);
    env_free(&e);
}

/* "lang" is data, never JSON text: quotes, backslashes and control
 * characters are refused as a language that is not available, nothing is
 * injected into the call's settings; an available one is taken. */
static void test_lang_is_data(void **state)
{
    (void)state;
    env e;
    env_init(&e, false);
    static const char *const bad[] = {
        "{\"lang\":\"x\\\"},\\\"bot_name\\\":\\\"Mallory\\\",\\\"lang\\\":{\\\"a\\\":\\\"\"}",
        "{\"lang\":\"en-US\\\\\"}",
        "{\"lang\":\"en-US\\u0001\"}",
        "{\"lang\":\"de-DE\"}",
        "{\"lang\":42}",
    };
    for (size_t i = 0; i < CCAI_ARRAY_SIZE_T(bad); i++) {
        json_t *doc = post(&e, "/chat", bad[i], "tok", 400);
        assert_string_equal(error_message(doc), "invalid body");
        const char *detail = json_string_value(
            json_array_get(json_object_get(json_object_get(doc, "error"), "details"), 0));
        assert_non_null(detail);
        assert_non_null(strstr(detail, "lang"));
        json_decref(doc);
    }
    json_t *doc = post(&e, "/chat", "{\"lang\":\"es-ES\"}", "tok", 200);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_object_get(doc, "say"), 0), "lang")),
        "es-ES");
    char *text = json_dumps(doc, 0);
    assert_null(strstr(text, "Mallory"));
    free(text);
    json_decref(doc);
    char *list = NULL;
    assert_int_equal(ccai_ctx_calls_list_json(e.ctx, NULL, 10, 0, &list), CCAI_OK);
    assert_null(strstr(list, "Mallory"));
    ccai_free(list);
    env_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chat_with_llm),  cmocka_unit_test(test_chat_offline),
        cmocka_unit_test(test_abandoned_poll), cmocka_unit_test(test_lost_answer_resent),
        cmocka_unit_test(test_field_too_long), cmocka_unit_test(test_store_failure),
        cmocka_unit_test(test_idle_chat_ends), cmocka_unit_test(test_open_chat_cap),
        cmocka_unit_test(test_lang_is_data),
    };
    return cmocka_run_group_tests_name("chat-http", tests, NULL, NULL);
}
