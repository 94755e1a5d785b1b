/* Calls: state machine, persistence (persist, then act), resume, events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <ccai/adapters/poll.h>

#include "engine/engine.h"
#include "store/sqlite.h"
#include "support/db_lock.h"
#include "support/otlp_collector.h"
#include "support/twilio_standin.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct host {
    ccai_ctx *ctx;
    int transitions;
    ccai_call_state seen[16];
    char stored_state_at_notify[16][32];
    int listens;
    int free_in_callback_at; /* free the call when entering this state */
} host;

static void on_state(ccai_call *call, ccai_call_state old_state, ccai_call_state new_state,
                     void *ud)
{
    host *h = ud;
    (void)old_state;
    if (h->transitions < 16) {
        h->seen[h->transitions] = new_state;
        /* Persist, then act: the store already has the new state. */
        char *json = NULL;
        assert_int_equal(ccai_ctx_call_get_json(h->ctx, ccai_call_id(call), &json), CCAI_OK);
        json_t *doc = json_loads(json, 0, NULL);
        snprintf(h->stored_state_at_notify[h->transitions], 32, "%s",
                 json_string_value(json_object_get(doc, "state")));
        json_decref(doc);
        ccai_free(json);
    }
    h->transitions++;
    if (h->free_in_callback_at && (int)new_state == h->free_in_callback_at)
        ccai_call_free(call);
}

static int on_listen(ccai_call *call, const char *lang, void *ud)
{
    (void)call;
    (void)lang;
    ((host *)ud)->listens++;
    return 0;
}

static const ccai_call_ops ops = {
    .version = CCAI_CALL_OPS_VERSION,
    .listen = on_listen,
    .state_changed = on_state,
};

typedef struct env {
    ccai_config *cfg;
    ccai_poll *poll;
    ccai_ctx *ctx;
} env;

static void env_init(env *e, const char *callback_hours)
{
    memset(e, 0, sizeof *e);
    assert_int_equal(ccai_config_new(&e->cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "database.sqlite.path", ":memory:"), CCAI_OK);
    if (callback_hours)
        assert_int_equal(
            ccai_config_set(e->cfg, "conversation.callback_timeout_hour", callback_hours), CCAI_OK);
    assert_int_equal(ccai_poll_new(e->cfg, &e->poll, &e->ctx, NULL), CCAI_OK);
}

static void env_free(env *e)
{
    ccai_poll_free(e->poll);
    ccai_config_free(e->cfg);
}

static ccai_call *start(env *e, host *h, const char *phone, int resume, const char *initiate)
{
    ccai_call_params p = {
        .version = CCAI_CALL_PARAMS_VERSION,
        .direction = CCAI_INBOUND,
        .phone_number = phone,
        .channel = "local",
        .initiate_json = initiate,
        .resume = resume,
    };
    ccai_call *c = NULL;
    h->ctx = e->ctx;
    assert_int_equal(ccai_call_start(e->ctx, &p, &ops, h, &c), CCAI_OK);
    return c;
}

static ccai_status send(ccai_call *c, ccai_event_type type, const char *text, int final)
{
    ccai_event *ev = NULL;
    assert_int_equal(ccai_event_new(type, &ev), CCAI_OK);
    if (text)
        assert_int_equal(ccai_event_set_text(ev, text), CCAI_OK);
    assert_int_equal(ccai_event_set_final(ev, final), CCAI_OK);
    ccai_status st = ccai_on_event(c, ev);
    ccai_event_free(ev);
    return st;
}

static json_t *doc_of(ccai_call *c)
{
    char *json = NULL;
    assert_int_equal(ccai_call_to_json(c, &json), CCAI_OK);
    json_t *doc = json_loads(json, 0, NULL);
    assert_non_null(doc);
    ccai_free(json);
    return doc;
}

/* The call's language: the one asked when available (letter case aside),
 * else an available one of the same language ("en-GB" asked, "en-US"
 * available), else the first available one. */
static void test_initiate_lang_by_language(void **state)
{
    (void)state;
    static const struct {
        const char *asked, *got;
    } c[] = {
        {"es-ES", "es-ES"}, {"EN-us", "en-US"}, {"en-GB", "en-US"}, {"es-MX", "es-ES"},
        {"fr_CA", "fr-FR"}, {"de-DE", "fr-FR"}, {"e", "fr-FR"},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        json_t *init = json_pack("{s:{s:s,s:[{s:s},{s:s},{s:s}]}}", "lang", "default_short_code",
                                 c[i].asked, "availables", "short_code", "fr-FR", "short_code",
                                 "en-US", "short_code", "es-ES");
        assert_non_null(init);
        const char *got = Ccai_initiate_lang(init);
        if (strcmp(got, c[i].got) != 0)
            fail_msg("%s: %s, expected %s", c[i].asked, got, c[i].got);
        json_decref(init);
    }
}

static void test_start_stores_call(void **state)
{
    (void)state;
    env e;
    env_init(&e, NULL);
    host h = {0};
    ccai_call *c = start(&e, &h, "+33 6 12 34 56 78", 0, NULL);
    assert_int_equal(strlen(ccai_call_id(c)), 36);
    assert_int_equal(ccai_call_get_state(c), CCAI_CALL_NEW);
    assert_string_equal(ccai_call_lang(c), "fr-FR");
    assert_false(ccai_call_resumed(c));
    assert_ptr_equal(ccai_call_userdata(c), &h);

    char *json = NULL;
    assert_int_equal(ccai_ctx_call_get_json(e.ctx, ccai_call_id(c), &json), CCAI_OK);
    json_t *doc = json_loads(json, 0, NULL);
    ccai_free(json);
    assert_string_equal(json_string_value(json_object_get(doc, "phone_number")), "+33612345678");
    assert_string_equal(json_string_value(json_object_get(doc, "state")), "new");
    assert_true(json_is_true(json_object_get(doc, "in_progress")));
    assert_null(json_object_get(doc, "callback_secret")); /* never exposed */
    json_t *init = json_object_get(doc, "initiate");
    assert_string_equal(json_string_value(json_object_get(init, "phone_number")), "+33612345678");
    /* The effective schema is stored: nine default fields + three policyholder ones. */
    assert_int_equal(json_array_size(json_object_get(init, "claim")), 12);
    assert_true(json_is_object(json_object_get(doc, "claim")));
    json_decref(doc);
    ccai_call_free(c);
    env_free(&e);
}

static void test_event_flow_and_persist_then_act(void **state)
{
    (void)state;
    env e;
    env_init(&e, NULL);
    host h = {0};
    ccai_call *c = start(&e, &h, "+14155550100", 0, NULL);
    assert_int_equal(send(c, CCAI_EVENT_RINGING, NULL, 1), CCAI_OK);
    assert_int_equal(send(c, CCAI_EVENT_CONNECTED, NULL, 1), CCAI_OK);
    assert_int_equal(ccai_call_get_state(c), CCAI_CALL_CONVERSATION);
    assert_int_equal(h.listens, 1);
    assert_int_equal(send(c, CCAI_EVENT_SPEECH, "my car was hi", 0), CCAI_OK); /* partial */
    assert_int_equal(send(c, CCAI_EVENT_SPEECH, "My car was hit last night.", 1), CCAI_OK);
    assert_int_equal(send(c, CCAI_EVENT_DTMF, "1", 1), CCAI_OK);
    assert_int_equal(send(c, CCAI_EVENT_RECORDING, "https://rec.example/1.wav", 1), CCAI_OK);
    assert_int_equal(send(c, CCAI_EVENT_HANGUP, "caller hung up", 1), CCAI_OK);
    assert_int_equal(ccai_call_get_state(c), CCAI_CALL_ENDED);

    /* Every transition was stored before the host heard of it ("turn" is
     * the conversation thinking, kept in memory: stored as conversation). */
    assert_true(h.transitions >= 6);
    for (int i = 0; i < h.transitions && i < 16; i++) {
        ccai_call_state want = h.seen[i] == CCAI_CALL_TURN ? CCAI_CALL_CONVERSATION : h.seen[i];
        assert_string_equal(h.stored_state_at_notify[i], ccai_call_state_str(want));
    }
    assert_int_equal(h.seen[0], CCAI_CALL_RINGING);
    assert_int_equal(h.seen[h.transitions - 1], CCAI_CALL_ENDED);

    json_t *doc = doc_of(c);
    json_t *msgs = json_object_get(doc, "messages");
    assert_int_equal(json_array_size(msgs), 4); /* call, talk, dtmf, hangup */
    assert_string_equal(json_string_value(json_object_get(json_array_get(msgs, 0), "action")),
                        "call");
    json_t *talk = json_array_get(msgs, 1);
    assert_string_equal(json_string_value(json_object_get(talk, "persona")), "human");
    assert_string_equal(json_string_value(json_object_get(talk, "content")),
                        "My car was hit last night.");
    assert_string_equal(json_string_value(json_object_get(json_array_get(msgs, 3), "action")),
                        "hangup");
    assert_true(json_is_false(json_object_get(doc, "in_progress")));
    assert_string_equal(json_string_value(json_object_get(doc, "recording_url")),
                        "https://rec.example/1.wav");
    json_decref(doc);

    /* The post-call job is durable. */
    Ccai_store_job *job = NULL;
    assert_int_equal(
        Ccai_store_job_claim(Ccai_ctx_store(e.ctx), Ccai_wall_ms() + 1000, 60000, &job), CCAI_OK);
    assert_string_equal(job->kind, "postcall");
    assert_string_equal(job->call_id, ccai_call_id(c));
    Ccai_store_job_free(job);

    /* An ended call takes no more events. */
    assert_int_equal(send(c, CCAI_EVENT_SPEECH, "hello?", 1), CCAI_ERR_STATE);
    assert_non_null(strstr(ccai_call_errmsg(c), "has ended"));
    ccai_call_free(c);
    env_free(&e);
}

static void test_no_postcall_without_interaction(void **state)
{
    (void)state;
    env e;
    env_init(&e, NULL);
    host h = {0};
    ccai_call *c = start(&e, &h, "+14155550101", 0, NULL);
    assert_int_equal(send(c, CCAI_EVENT_CONNECTED, NULL, 1), CCAI_OK);
    assert_int_equal(send(c, CCAI_EVENT_HANGUP, NULL, 1), CCAI_OK);
    Ccai_store_job *job = NULL;
    assert_int_equal(
        Ccai_store_job_claim(Ccai_ctx_store(e.ctx), Ccai_wall_ms() + 1000, 60000, &job),
        CCAI_ERR_NOT_FOUND);
    ccai_call_free(c);
    env_free(&e);
}

static void test_speech_before_connected(void **state)
{
    (void)state;
    env e;
    env_init(&e, NULL);
    host h = {0};
    ccai_call *c = start(&e, &h, "+14155550102", 0, NULL);
    assert_int_equal(send(c, CCAI_EVENT_SPEECH, "Hello?", 1), CCAI_OK);
    assert_int_equal(ccai_call_get_state(c), CCAI_CALL_CONVERSATION);
    json_t *doc = doc_of(c);
    assert_int_equal(json_array_size(json_object_get(doc, "messages")), 2);
    json_decref(doc);
    ccai_call_free(c);
    env_free(&e);
}

static void test_resume_within_window(void **state)
{
    (void)state;
    env e;
    env_init(&e, "3");
    host h = {0};
    ccai_call *c1 = start(&e, &h, "+33612345678", 1, NULL);
    char id[37];
    strcpy(id, ccai_call_id(c1));
    assert_false(ccai_call_resumed(c1));
    assert_int_equal(send(c1, CCAI_EVENT_SPEECH, "first leg", 1), CCAI_OK);
    assert_int_equal(send(c1, CCAI_EVENT_HANGUP, NULL, 1), CCAI_OK);
    ccai_call_free(c1);

    host h2 = {0};
    ccai_call *c2 = start(&e, &h2, "0033 6 12 34 56 78", 1, NULL);
    assert_true(ccai_call_resumed(c2));
    assert_string_equal(ccai_call_id(c2), id);
    assert_int_equal(ccai_call_get_state(c2), CCAI_CALL_NEW);
    assert_int_equal(send(c2, CCAI_EVENT_SPEECH, "second leg", 1), CCAI_OK);
    json_t *doc = doc_of(c2);
    json_t *msgs = json_object_get(doc, "messages");
    /* call, talk, hangup from the first leg; call, talk from the second. */
    assert_int_equal(json_array_size(msgs), 5);
    json_decref(doc);

    /* Without resume a new call starts. */
    host h3 = {0};
    ccai_call *c3 = start(&e, &h3, "+33612345678", 0, NULL);
    assert_string_not_equal(ccai_call_id(c3), id);
    ccai_call_free(c3);
    ccai_call_free(c2);

    char *list = NULL;
    assert_int_equal(ccai_ctx_calls_list_json(e.ctx, "+33612345678", 10, 0, &list), CCAI_OK);
    json_t *l = json_loads(list, 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(l, "total")), 2);
    json_decref(l);
    ccai_free(list);
    char *found = NULL;
    assert_int_equal(ccai_ctx_call_find_json(e.ctx, "+33 612 345 678", 1, &found), CCAI_OK);
    ccai_free(found);
    assert_int_equal(ccai_ctx_call_find_json(e.ctx, "+15550000000", 0, &found), CCAI_ERR_NOT_FOUND);
    env_free(&e);
}

static void test_resume_disabled(void **state)
{
    (void)state;
    env e;
    env_init(&e, "0");
    host h = {0};
    ccai_call *c1 = start(&e, &h, "+33612345679", 1, NULL);
    char id[37];
    strcpy(id, ccai_call_id(c1));
    ccai_call_free(c1);
    ccai_call *c2 = start(&e, &h, "+33612345679", 1, NULL);
    assert_false(ccai_call_resumed(c2));
    assert_string_not_equal(ccai_call_id(c2), id);
    ccai_call_free(c2);
    env_free(&e);
}

static void test_initiate_overlay(void **state)
{
    (void)state;
    env e;
    env_init(&e, NULL);
    host h = {0};
    ccai_call *c = start(&e, &h, "+14155550103", 0,
                         "{\"bot_name\":\"Robin\",\"task\":\"Help with a parcel.\","
                         "\"claim\":[{\"name\":\"parcel_id\",\"type\":\"text\"},"
                         "{\"name\":\"delivery\",\"type\":\"datetime\"}]}");
    json_t *doc = doc_of(c);
    json_t *init = json_object_get(doc, "initiate");
    assert_string_equal(json_string_value(json_object_get(init, "bot_name")), "Robin");
    assert_string_equal(json_string_value(json_object_get(init, "task")), "Help with a parcel.");
    json_t *claim = json_object_get(init, "claim");
    assert_int_equal(json_array_size(claim), 5); /* 2 + policyholder fields */
    assert_string_equal(json_string_value(json_object_get(json_array_get(claim, 0), "name")),
                        "parcel_id");
    assert_string_equal(json_string_value(json_object_get(json_array_get(claim, 4), "name")),
                        "policyholder_phone");
    json_decref(doc);
    ccai_call_free(c);

    static const struct {
        const char *json;
        const char *needle;
    } bad[] = {
        {"{\"bot_nam\":\"x\"}", "unknown field \"bot_nam\""},
        {"{\"bot_name\":", "initiate:"},
        {"[1]", "expected a JSON object"},
        {"{\"prosody_rate\":3}", "prosody_rate"},
        {"{\"claim\":[{\"name\":\"a\",\"type\":\"date\"}]}", "date"},
        {"{\"bot_name\":5}", "bot_name must be a string"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ccai_call_params p = {.version = CCAI_CALL_PARAMS_VERSION,
                              .direction = CCAI_INBOUND,
                              .phone_number = "+14155550103",
                              .initiate_json = bad[i].json};
        ccai_call *x = NULL;
        assert_int_equal(ccai_call_start(e.ctx, &p, &ops, &h, &x), CCAI_ERR_VALIDATION);
        assert_null(x);
        if (!strstr(ccai_ctx_errmsg(e.ctx), bad[i].needle))
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, ccai_ctx_errmsg(e.ctx), bad[i].needle);
    }
    env_free(&e);
}

static void test_invalid_params(void **state)
{
    (void)state;
    env e;
    env_init(&e, NULL);
    host h = {0};
    ccai_call *x = NULL;
    ccai_call_params p = {
        .version = CCAI_CALL_PARAMS_VERSION, .direction = CCAI_INBOUND, .phone_number = "hello"};
    assert_int_equal(ccai_call_start(e.ctx, &p, &ops, &h, &x), CCAI_ERR_VALIDATION);
    assert_non_null(strstr(ccai_ctx_errmsg(e.ctx), "phone_number"));
    p.phone_number = NULL;
    assert_int_equal(ccai_call_start(e.ctx, &p, &ops, &h, &x), CCAI_ERR_INVALID_ARG);
    p.phone_number = "+14155550104";
    p.version = 99;
    assert_int_equal(ccai_call_start(e.ctx, &p, &ops, &h, &x), CCAI_ERR_INVALID_ARG);
    p.version = CCAI_CALL_PARAMS_VERSION;
    ccai_call_ops bad_ops = ops;
    bad_ops.version = 0;
    assert_int_equal(ccai_call_start(e.ctx, &p, &bad_ops, &h, &x), CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_call_start(NULL, &p, &ops, &h, &x), CCAI_ERR_INVALID_ARG);
    assert_null(x);
    assert_int_equal(ccai_on_event(NULL, NULL), CCAI_ERR_INVALID_ARG);
    ccai_event *ev = NULL;
    assert_int_equal(ccai_event_new((ccai_event_type)77, &ev), CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_event_new(CCAI_EVENT_SPEECH, &ev), CCAI_OK);
    assert_int_equal(ccai_event_set_confidence(ev, 1.5), CCAI_ERR_INVALID_ARG);
    char *huge = malloc(CCAI_EVENT_TEXT_MAX + 2);
    memset(huge, 'a', CCAI_EVENT_TEXT_MAX + 1);
    huge[CCAI_EVENT_TEXT_MAX + 1] = '\0';
    assert_int_equal(ccai_event_set_text(ev, huge), CCAI_ERR_LIMIT);
    free(huge);
    ccai_event_free(ev);
    env_free(&e);
}

static void test_free_inside_callback(void **state)
{
    (void)state;
    env e;
    env_init(&e, NULL);
    host h = {.free_in_callback_at = CCAI_CALL_CONVERSATION};
    ccai_call *c = start(&e, &h, "+14155550105", 0, NULL);
    char id[37];
    strcpy(id, ccai_call_id(c));
    /* The handle is freed from inside state_changed; destruction waits. */
    assert_int_equal(send(c, CCAI_EVENT_CONNECTED, NULL, 1), CCAI_OK);
    char *json = NULL;
    assert_int_equal(ccai_ctx_call_get_json(e.ctx, id, &json), CCAI_OK);
    json_t *doc = json_loads(json, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(doc, "state")), "ended");
    json_decref(doc);
    ccai_free(json);
    env_free(&e);
}

static void test_stale_writer_conflict(void **state)
{
    (void)state;
    env e;
    env_init(&e, NULL);
    host h = {0};
    ccai_call *c = start(&e, &h, "+14155550106", 0, NULL);
    /* Another writer (another server instance) changes the row. */
    Ccai_store_call *row = NULL;
    assert_int_equal(Ccai_store_call_get(Ccai_ctx_store(e.ctx), ccai_call_id(c), &row), CCAI_OK);
    assert_int_equal(Ccai_store_call_update(Ccai_ctx_store(e.ctx), row), CCAI_OK);
    Ccai_store_call_free(row);
    assert_int_equal(send(c, CCAI_EVENT_RINGING, NULL, 1), CCAI_ERR_CONFLICT);
    assert_non_null(strstr(ccai_call_errmsg(c), "another writer"));
    assert_int_equal(ccai_call_get_state(c), CCAI_CALL_NEW); /* nothing acted on */
    ccai_call_free(c);
    env_free(&e);
}

static void test_ctx_free_ends_calls(void **state)
{
    (void)state;
    env e;
    env_init(&e, NULL);
    host h = {0};
    /* A file database, so the state survives the context. */
    char dir[] = "/tmp/ccai-call-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/db.sqlite", dir);
    ccai_poll_free(e.poll);
    assert_int_equal(ccai_config_set(e.cfg, "database.sqlite.path", path), CCAI_OK);
    assert_int_equal(ccai_poll_new(e.cfg, &e.poll, &e.ctx, NULL), CCAI_OK);
    ccai_call *c = start(&e, &h, "+14155550107", 0, NULL);
    char id[37];
    strcpy(id, ccai_call_id(c));
    assert_int_equal(send(c, CCAI_EVENT_CONNECTED, NULL, 1), CCAI_OK);
    int before = h.transitions;
    ccai_poll_free(e.poll); /* frees the live call too: no callbacks */
    assert_int_equal(h.transitions, before);
    assert_int_equal(ccai_poll_new(e.cfg, &e.poll, &e.ctx, NULL), CCAI_OK);
    char *json = NULL;
    assert_int_equal(ccai_ctx_call_get_json(e.ctx, id, &json), CCAI_OK);
    assert_non_null(strstr(json, "\"state\":\"ended\""));
    ccai_free(json);
    env_free(&e);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* A call as a killed process leaves it: in progress, last active at
 * `active` (wall ms), the caller's words when spoke. */
static void leave_orphan(Ccai_store *st, const char *id, int64_t active, bool spoke)
{
    Ccai_store_call c;
    memset(&c, 0, sizeof c);
    snprintf(c.id, sizeof c.id, "%s", id);
    c.direction = CCAI_INBOUND;
    c.phone_number = Ccai_strdup("+14155550199");
    c.channel = Ccai_strdup("acs");
    c.state = Ccai_strdup("conversation");
    c.lang = Ccai_strdup("en-US");
    c.initiate_json = Ccai_strdup("{}");
    c.claim_json = Ccai_strdup("{}");
    c.callback_secret = Ccai_strdup("s");
    c.created_at = c.updated_at = active;
    assert_int_equal(Ccai_store_call_insert(st, &c), CCAI_OK);
    Ccai_store_message m = {0, "human", "call", "none", "", "en-US", NULL, NULL, active};
    assert_int_equal(Ccai_store_message_append(st, id, &m, NULL), CCAI_OK);
    if (spoke) {
        m.action = "talk";
        m.content = "My roof is leaking";
        assert_int_equal(Ccai_store_message_append(st, id, &m, NULL), CCAI_OK);
    }
    Ccai_store_call_clear(&c);
}

/* The stored call: state, end reason, how many "interrupted" ends. */
static void stored(ccai_ctx *ctx, const char *id, char *state, char *reason, int *ends)
{
    char *json = NULL;
    assert_int_equal(ccai_ctx_call_get_json(ctx, id, &json), CCAI_OK);
    json_t *doc = json_loads(json, 0, NULL);
    ccai_free(json);
    snprintf(state, 16, "%s", json_string_value(json_object_get(doc, "state")));
    const char *r = json_string_value(json_object_get(doc, "end_reason"));
    snprintf(reason, 16, "%s", r ? r : "");
    *ends = 0;
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(doc, "messages"), i, m)
    {
        const char *a = json_string_value(json_object_get(m, "action"));
        const char *t = json_string_value(json_object_get(m, "content"));
        *ends += a && t && !strcmp(a, "hangup") && !strcmp(t, "interrupted");
    }
    json_decref(doc);
}

/* What test_sweep_interrupted_calls waits for: each orphan as it ends. */
static const struct {
    const char *id, *state, *reason;
    int ends;
} sweep_want[] = {
    {"orphan-old", "done", "interrupted", 1},     /* its report written: done */
    {"orphan-silent", "ended", "interrupted", 1}, /* the caller never spoke: no report */
    {"orphan-fresh", "done", "interrupted", 1},   /* past the window later */
    {"orphan-taken", "conversation", "", 0},      /* live in B */
};

/* The first orphan of sweep_want not (yet) as wanted, -1 when all are. */
static int sweep_pending(ccai_ctx *ctx)
{
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(sweep_want); i++) {
        char s1[16], r1[16];
        int ends = 0;
        stored(ctx, sweep_want[i].id, s1, r1, &ends);
        if (strcmp(s1, sweep_want[i].state) || strcmp(r1, sweep_want[i].reason) ||
            ends != sweep_want[i].ends)
            return (int)i;
    }
    return -1;
}

/* Run both contexts for at least min_ms, then until the sweep has done its
 * work (a loaded machine may take longer), 30 s at most. */
static void run_both(ccai_poll *a, ccai_poll *b, ccai_ctx *ctx_b, int min_ms)
{
    uint64_t start = ccai_time_ms();
    while (ccai_time_ms() - start < (uint64_t)min_ms ||
           (sweep_pending(ctx_b) >= 0 && ccai_time_ms() - start < 30000)) {
        assert_int_equal(ccai_poll_run_once(a, 10), 0);
        assert_int_equal(ccai_poll_run_once(b, 10), 0);
    }
}

/* Calls that outlive their process (engine/sweep.c), with two contexts on
 * one database as two processes share it, and a one-second take-back
 * window: a call nobody took back ends as "interrupted" (with its report
 * when the caller spoke), at the next context's start or later; a call
 * taken back within the window, or held live by the other context, is
 * never ended; each is ended once, whichever context sweeps first. */
static void test_sweep_interrupted_calls(void **state)
{
    (void)state;
    char dir[] = "/tmp/ccai-sweep-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/db.sqlite", dir);
    ccai_config *cfg = NULL;
    assert_int_equal(ccai_config_new(&cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "database.sqlite.path", path), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "conversation.takeback_window_sec", "1"), CCAI_OK);
    ccai_poll *pa = NULL, *pb = NULL;
    ccai_ctx *a = NULL, *b = NULL;
    assert_int_equal(ccai_poll_new(cfg, &pa, &a, NULL), CCAI_OK);
    host ha = {0}, hb = {0};
    env ea = {.cfg = cfg, .poll = pa, .ctx = a};
    ccai_call *live = start(&ea, &ha, "+14155550150", 0, NULL);
    char live_id[37];
    strcpy(live_id, ccai_call_id(live));
    assert_int_equal(send(live, CCAI_EVENT_CONNECTED, NULL, 1), CCAI_OK);
    assert_int_equal(send(live, CCAI_EVENT_SPEECH, "Hello?", 1), CCAI_OK);

    int64_t now = Ccai_wall_ms();
    Ccai_store *st = Ccai_ctx_store(a);
    leave_orphan(st, "orphan-old", now - 10000, true);
    leave_orphan(st, "orphan-silent", now - 10000, false);
    leave_orphan(st, "orphan-fresh", now, true);
    leave_orphan(st, "orphan-taken", now, true);

    /* B starts: what is past the window ends at once. */
    assert_int_equal(ccai_poll_new(cfg, &pb, &b, NULL), CCAI_OK);
    char s1[16], r1[16];
    int ends = 0;
    stored(b, "orphan-old", s1, r1, &ends);
    assert_string_equal(s1, "ended");
    assert_string_equal(r1, "interrupted");
    stored(b, "orphan-fresh", s1, r1, &ends);
    assert_string_equal(s1, "conversation");
    /* B's channel takes one back within the window. */
    ccai_call_params p = {
        .version = CCAI_CALL_PARAMS_VERSION, .channel = "acs", .resume_call_id = "orphan-taken"};
    ccai_call *taken = NULL;
    hb.ctx = b;
    assert_int_equal(ccai_call_start(b, &p, &ops, &hb, &taken), CCAI_OK);
    assert_int_equal(send(taken, CCAI_EVENT_CONNECTED, NULL, 1), CCAI_OK);

    run_both(pa, pb, b, 2600); /* more than two windows, then until the sweep is done */
    int pending = sweep_pending(b);
    if (pending >= 0) {
        stored(b, sweep_want[pending].id, s1, r1, &ends);
        fail_msg("%s: %s (%s), %d ends", sweep_want[pending].id, s1, r1, ends);
    }
    stored(b, live_id, s1, r1, &ends); /* live in A: A keeps it fresh */
    assert_string_equal(s1, "conversation");
    assert_int_equal(ends, 0);
    assert_int_equal(ccai_call_get_state(live), CCAI_CALL_CONVERSATION);
    assert_int_equal(ccai_call_get_state(taken), CCAI_CALL_CONVERSATION);

    ccai_call_free(taken);
    ccai_call_free(live);
    ccai_poll_free(pb);
    ccai_poll_free(pa);
    ccai_config_free(cfg);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* A channel takes back only a call that is still in progress: ACS's events
 * for a call this process lost come while another process may be sweeping
 * it (the channel read the row before the sweep ended it) or after the
 * provider's end was stored. The ended call stays ended, with its reason,
 * and a call held live here is not taken twice. */
static void test_take_back_only_in_progress(void **state)
{
    (void)state;
    env e;
    env_init(&e, NULL);
    Ccai_store *st = Ccai_ctx_store(e.ctx);
    leave_orphan(st, "orphan-over", Ccai_wall_ms() - 10000, true);
    Ccai_store_call *row = NULL;
    assert_int_equal(Ccai_store_call_get(st, "orphan-over", &row), CCAI_OK);
    assert_int_equal(Ccai_call_end_stored(Ccai_ctx_engine(e.ctx), row, "interrupted", false),
                     CCAI_OK);
    Ccai_store_call_free(row);

    ccai_call_params p = {.version = CCAI_CALL_PARAMS_VERSION,
                          .direction = CCAI_INBOUND,
                          .phone_number = "+14155550199",
                          .channel = "acs",
                          .resume_call_id = "orphan-over"};
    host h = {.ctx = e.ctx};
    ccai_call *taken = NULL;
    assert_int_equal(ccai_call_start(e.ctx, &p, &ops, &h, &taken), CCAI_ERR_STATE);
    assert_null(taken);
    char s1[16], r1[16];
    int ends = 0;
    stored(e.ctx, "orphan-over", s1, r1, &ends);
    assert_string_equal(s1, "ended");
    assert_string_equal(r1, "interrupted");
    assert_int_equal(ends, 1);

    leave_orphan(st, "orphan-live", Ccai_wall_ms(), true);
    p.resume_call_id = "orphan-live";
    assert_int_equal(ccai_call_start(e.ctx, &p, &ops, &h, &taken), CCAI_OK);
    ccai_call *twice = NULL;
    assert_int_equal(ccai_call_start(e.ctx, &p, &ops, &h, &twice), CCAI_ERR_STATE);
    assert_null(twice);
    ccai_call_free(taken);
    env_free(&e);
}

/* A database locked by another process ------------------------------------------ */

typedef struct talker {
    int says;
    char last[512];
} talker;

static int talker_say(ccai_call *call, const ccai_speech *sp, void *ud)
{
    (void)call;
    talker *t = ud;
    t->says++;
    snprintf(t->last, sizeof t->last, "%s", sp->text);
    return 0;
}

/* How many stored messages of the call have this persona and content, and
 * the index of the first. */
static int count_messages(ccai_call *c, const char *persona, const char *content, int *first)
{
    json_t *doc = doc_of(c);
    int n = 0;
    size_t i;
    json_t *m;
    *first = -1;
    json_array_foreach(json_object_get(doc, "messages"), i, m)
    {
        if (strcmp(json_string_value(json_object_get(m, "persona")), persona) == 0 &&
            strcmp(json_string_value(json_object_get(m, "content")), content) == 0) {
            if (*first < 0)
                *first = (int)i;
            n++;
        }
    }
    json_decref(doc);
    return n;
}

static void run_for(env *e, uint64_t ms)
{
    uint64_t end = ccai_time_ms() + ms;
    while (ccai_time_ms() < end)
        assert_int_equal(ccai_poll_run_once(e->poll, 20), 0);
}

/* Another process (the sqlite3 shell inside BEGIN IMMEDIATE) holds the write
 * lock: an event is refused with CCAI_ERR_BUSY having stored and done
 * nothing (no op called), and can simply come again; a new call cannot
 * start; what the bot says meanwhile (the silence timer's question) is kept
 * and stored, in order, once the lock is gone; the caller's words that came
 * again are stored exactly once and answered. */
static void test_locked_store(void **state)
{
    (void)state;
    char dir[] = "/tmp/ccai-call-lock-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/db.sqlite", dir);
    env e;
    memset(&e, 0, sizeof e);
    assert_int_equal(ccai_config_new(&e.cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(e.cfg, "database.sqlite.path", path), CCAI_OK);
    assert_int_equal(ccai_config_set(e.cfg, "conversation.phone_silence_timeout_sec", "1"),
                     CCAI_OK);
    assert_int_equal(ccai_poll_new(e.cfg, &e.poll, &e.ctx, NULL), CCAI_OK);
    talker t = {0};
    ccai_call_ops tops = {.version = CCAI_CALL_OPS_VERSION, .say = talker_say};
    ccai_call_params p = {.version = CCAI_CALL_PARAMS_VERSION,
                          .direction = CCAI_INBOUND,
                          .phone_number = "+14155550142",
                          .initiate_json = "{\"lang\":{\"default_short_code\":\"en-US\"}}"};
    ccai_call *c = NULL;
    assert_int_equal(ccai_call_start(e.ctx, &p, &tops, &t, &c), CCAI_OK);
    assert_int_equal(send(c, CCAI_EVENT_CONNECTED, NULL, 1), CCAI_OK);
    int greeted = t.says;
    assert_true(greeted > 0);

    db_lock l;
    assert_int_equal(db_lock_take(&l, path), 0);
    static const char words[] = "A pipe burst in my kitchen yesterday evening";
    int first = 0;
    uint64_t t0 = ccai_time_ms();
    assert_int_equal(send(c, CCAI_EVENT_SPEECH, words, 1), CCAI_ERR_BUSY);
    printf("# an event against the lock was refused after %llu ms\n",
           (unsigned long long)(ccai_time_ms() - t0));
    assert_non_null(strstr(ccai_call_errmsg(c), "locked"));
    assert_int_equal(t.says, greeted); /* nothing acted on */
    assert_int_equal(count_messages(c, "human", words, &first), 0);
    assert_int_equal(send(c, CCAI_EVENT_HANGUP, "caller hung up", 1), CCAI_ERR_BUSY);
    assert_int_equal(ccai_call_get_state(c), CCAI_CALL_CONVERSATION);
    /* No call can start: nothing stored, nothing returned. */
    ccai_call *other = NULL;
    p.phone_number = "+14155550143";
    assert_int_equal(ccai_call_start(e.ctx, &p, &tops, &t, &other), CCAI_ERR_BUSY);
    assert_null(other);

    /* The silence timer fires: the bot asks again; its words are kept. */
    run_for(&e, 1300);
    assert_int_equal(t.says, greeted + 1);
    char asked[512];
    snprintf(asked, sizeof asked, "%s", t.last);
    assert_int_equal(count_messages(c, "assistant", asked, &first), 0);
    assert_true(db_lock_held(path));
    assert_int_equal(db_lock_release(&l), 0);

    /* Released: the kept words are stored on the loop's timer. */
    uint64_t deadline = ccai_time_ms() + 5000;
    while (count_messages(c, "assistant", asked, &first) == 0 && ccai_time_ms() < deadline)
        run_for(&e, 50);
    int asked_at = -1;
    assert_int_equal(count_messages(c, "assistant", asked, &asked_at), 1);
    /* The caller's words come again: stored once, after the bot's, answered. */
    assert_int_equal(send(c, CCAI_EVENT_SPEECH, words, 1), CCAI_OK);
    int said_at = -1;
    assert_int_equal(count_messages(c, "human", words, &said_at), 1);
    assert_true(said_at > asked_at);
    assert_true(t.says > greeted + 1);
    assert_int_equal(send(c, CCAI_EVENT_HANGUP, "caller hung up", 1), CCAI_OK);
    assert_int_equal(ccai_call_get_state(c), CCAI_CALL_ENDED);
    ccai_call_free(c);
    env_free(&e);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* The state of job id, read by another connection ("" when none). */
static void job_state(const char *path, int64_t id, char *out, size_t len, int64_t *attempts)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    out[0] = '\0';
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT state, attempts FROM jobs WHERE id = ?", -1, &st, NULL),
        SQLITE_OK);
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) == SQLITE_ROW) {
        snprintf(out, len, "%s", (const char *)sqlite3_column_text(st, 0));
        *attempts = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* A durable job (an SMS through Twilio) whose outcome comes back while
 * another process holds the lock: the outcome is kept and written once the
 * lock is gone, instead of leaving the job "running" until its lease ends
 * (when it would run, and send, again). */
static void test_job_outcome_kept_while_locked(void **state)
{
    (void)state;
    char dir[] = "/tmp/ccai-call-job-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/db.sqlite", dir);
    twilio_standin *tw = twilio_standin_start(NULL, NULL);
    assert_non_null(tw);
    env e;
    memset(&e, 0, sizeof e);
    assert_int_equal(ccai_config_new(&e.cfg), CCAI_OK);
    const char *kv[][2] = {
        {"database.sqlite.path", path},
        {"database.sqlite.busy_timeout_ms", "10"},
        {"sms.mode", "twilio"},
        {"twilio.account_sid", TWILIO_STANDIN_SID},
        {"twilio.auth_token", TWILIO_STANDIN_TOKEN},
        {"twilio.phone_number", "+15550001111"},
        {"twilio.api_base_url", twilio_standin_url(tw)},
    };
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        assert_int_equal(ccai_config_set(e.cfg, kv[i][0], kv[i][1]), CCAI_OK);
    assert_int_equal(ccai_poll_new(e.cfg, &e.poll, &e.ctx, NULL), CCAI_OK);
    /* Twilio answers late with a 500; the client tries again and the SMS
     * goes out while the database is locked. */
    twilio_standin_fault f = {.status = 500, .delay_ms = 1200};
    twilio_standin_push_fault(tw, &f);
    int64_t id = 0;
    assert_int_equal(Ccai_store_job_enqueue(Ccai_ctx_store(e.ctx), "sms", NULL,
                                            "{\"to\":\"+33612345678\",\"text\":\"Your claim\"}",
                                            Ccai_wall_ms(), &id),
                     CCAI_OK);
    Ccai_jobs_kick(Ccai_ctx_engine(e.ctx));
    char st[16];
    int64_t attempts = 0;
    uint64_t deadline = ccai_time_ms() + 5000;
    while (twilio_standin_request_count(tw) < 1 && ccai_time_ms() < deadline)
        run_for(&e, 20);
    job_state(path, id, st, sizeof st, &attempts);
    assert_string_equal(st, "running");

    db_lock l;
    assert_int_equal(db_lock_take(&l, path), 0);
    run_for(&e, 1800); /* Twilio's 500 comes back meanwhile */
    job_state(path, id, st, sizeof st, &attempts);
    assert_string_equal(st, "running"); /* not stored yet: the lock */
    assert_int_equal(db_lock_release(&l), 0);

    deadline = ccai_time_ms() + 5000;
    while (strcmp(st, "running") == 0 && ccai_time_ms() < deadline) {
        run_for(&e, 20);
        job_state(path, id, st, sizeof st, &attempts);
    }
    assert_string_equal(st, "done"); /* stored once the lock was gone */
    assert_int_equal(attempts, 1);
    int sent = 0;
    for (int i = 0; i < twilio_standin_request_count(tw); i++)
        sent += twilio_standin_request_status(tw, i) == 201;
    assert_int_equal(sent, 1);
    env_free(&e);
    twilio_standin_stop(tw);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* An asynchronous store ------------------------------------------------------- */

/* SQLite behind the store interface, but with the shape of an asynchronous
 * backend (PostgreSQL's, store.h's contract): durability is told later, by
 * the completion of Ccai_store_sync(). The engine must not act before. */
typedef struct pending_sync {
    Ccai_store_done_fn done;
    void *ud;
} pending_sync;

static pending_sync deferred_q[32];
static size_t deferred_n;

static size_t deferred_calls; /* syncs asked, ever */

static ccai_status deferred_sync(Ccai_store *st, const char *call_id, Ccai_store_done_fn done,
                                 void *ud)
{
    (void)st;
    (void)call_id;
    assert_true(deferred_n < 32);
    deferred_q[deferred_n++] = (pending_sync){done, ud};
    deferred_calls++;
    return CCAI_OK;
}

/* The commits come back, in order, with status. */
static void deferred_commit(ccai_status status)
{
    size_t n = deferred_n;
    pending_sync q[32];
    memcpy(q, deferred_q, n * sizeof *q);
    deferred_n = 0;
    for (size_t i = 0; i < n; i++)
        q[i].done(status, q[i].ud);
}

typedef struct teller {
    int says, states;
    ccai_call_state last;
    int transfers, hangups, sms;
} teller;

static int tell_transfer(ccai_call *c, const char *number, void *ud)
{
    (void)c;
    (void)number;
    ((teller *)ud)->transfers++;
    return 0;
}

static int tell_hangup(ccai_call *c, void *ud)
{
    (void)c;
    ((teller *)ud)->hangups++;
    return 0;
}

static int tell_sms(ccai_call *c, const char *to, const char *text, void *ud)
{
    (void)c;
    (void)to;
    (void)text;
    ((teller *)ud)->sms++;
    return 0;
}

static int tell_say(ccai_call *c, const ccai_speech *sp, void *ud)
{
    (void)c;
    (void)sp;
    ((teller *)ud)->says++;
    return 0;
}

static void tell_state(ccai_call *c, ccai_call_state from, ccai_call_state to, void *ud)
{
    (void)c;
    (void)from;
    teller *t = ud;
    t->states++;
    t->last = to;
}

/* An engine of its own on a store whose commits come back when the test
 * says (deferred_commit()), in a context on a poll loop. */
typedef struct async_env {
    ccai_config *cfg;
    ccai_poll *pl;
    ccai_ctx *ctx;
    Ccai_store *store;
    Ccai_store_backend async;
    Ccai_metrics *metrics;
    Ccai_sms_provider *sms;
    Ccai_logger log;
    Ccai_engine *eng;
} async_env;

/* kv: more settings ("key", "value", ..., NULL; NULL: none). */
static void async_env_init(async_env *a, const char *const *kv)
{
    memset(a, 0, sizeof *a);
    assert_int_equal(ccai_config_new(&a->cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(a->cfg, "database.sqlite.path", ":memory:"), CCAI_OK);
    for (size_t i = 0; kv && kv[i]; i += 2)
        assert_int_equal(ccai_config_set(a->cfg, kv[i], kv[i + 1]), CCAI_OK);
    assert_int_equal(ccai_poll_new(a->cfg, &a->pl, &a->ctx, NULL), CCAI_OK);
    assert_int_equal(Ccai_sqlite_open(":memory:", &a->store, NULL), CCAI_OK);
    a->async = Ccai_sqlite_backend;
    a->async.writes_durable = false;
    a->async.sync = deferred_sync;
    a->store->backend = &a->async;
    a->metrics = Ccai_metrics_new();
    assert_int_equal(Ccai_sms_outbox_new(&a->log, &a->sms), CCAI_OK);
    Ccai_engine_env ee = {a->ctx, a->cfg, &a->log, a->store, a->metrics, a->sms, NULL, NULL, NULL};
    assert_int_equal(Ccai_engine_new(&ee, &a->eng, NULL), CCAI_OK);
}

static void async_env_free(async_env *a)
{
    Ccai_engine_free(a->eng);
    Ccai_sms_provider_free(a->sms);
    Ccai_metrics_free(a->metrics);
    a->store->backend = &Ccai_sqlite_backend;
    Ccai_store_close(a->store);
    ccai_poll_free(a->pl);
    ccai_config_free(a->cfg);
}

/* The calls' settings are shared when they would be written alike with
 * their keys sorted (the cache's key before): keys in any order share, a
 * value of another type, -0.0 against 0.0 or another string does not. */
static void test_initiate_shared_when_alike(void **state)
{
    (void)state;
    async_env a;
    async_env_init(&a, NULL);
    json_t *first = json_loads("{\"a\":1,\"r\":0.0,\"l\":[\"x\",{\"k\":true}]}", 0, NULL);
    assert_non_null(first);
    json_t *shared = Ccai_conv_share_initiate(a.eng, first);
    assert_ptr_equal(shared, first);
    const char *alike[] = {"{\"l\":[\"x\",{\"k\":true}],\"r\":0.0,\"a\":1}"};
    for (size_t i = 0; i < sizeof alike / sizeof alike[0]; i++) {
        json_t *t = json_loads(alike[i], 0, NULL);
        assert_non_null(t);
        json_t *got = Ccai_conv_share_initiate(a.eng, t);
        assert_ptr_equal(got, shared);
        json_decref(got);
    }
    const char *other[] = {
        "{\"a\":1.0,\"r\":0.0,\"l\":[\"x\",{\"k\":true}]}",
        "{\"a\":1,\"r\":-0.0,\"l\":[\"x\",{\"k\":true}]}",
        "{\"a\":1,\"r\":0.0,\"l\":[\"y\",{\"k\":true}]}",
        "{\"a\":1,\"r\":0.0,\"l\":[\"x\",{\"k\":false}]}",
        "{\"a\":1,\"r\":0.0,\"l\":[{\"k\":true},\"x\"]}",
        "{\"a\":1,\"r\":0.0,\"l\":[\"x\",{\"k\":true}],\"b\":null}",
        "{\"a\":1,\"r\":0.0,\"m\":[\"x\",{\"k\":true}]}",
    };
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
        json_t *t = json_loads(other[i], 0, NULL);
        assert_non_null(t);
        json_t *got = Ccai_conv_share_initiate(a.eng, t);
        assert_ptr_equal(got, t); /* its own, now cached too */
        assert_ptr_not_equal(got, shared);
        json_decref(got);
    }
    json_decref(shared);
    async_env_free(&a);
}

static void test_acts_after_async_commit(void **state)
{
    (void)state;
    async_env a;
    async_env_init(&a, NULL);
    Ccai_engine *eng = a.eng;

    static const ccai_call_ops tops = {
        .version = CCAI_CALL_OPS_VERSION, .say = tell_say, .state_changed = tell_state};
    ccai_call_params p = {.version = CCAI_CALL_PARAMS_VERSION,
                          .direction = CCAI_INBOUND,
                          .phone_number = "+33612345678"};
    teller t = {0};
    ccai_call *c = NULL;
    assert_int_equal(Ccai_engine_call_start(eng, &p, &tops, &t, &c), CCAI_OK);
    /* Connected: stored, but not committed yet: nobody is told, nothing
     * is said. */
    assert_int_equal(ccai_call_notify(c, CCAI_EVENT_CONNECTED, NULL), CCAI_OK);
    assert_int_equal(t.states, 0);
    assert_int_equal(t.says, 0);
    assert_true(deferred_n > 0);
    deferred_commit(CCAI_OK);
    assert_int_equal(t.last, CCAI_CALL_CONVERSATION);
    assert_true(t.says >= 1); /* the greeting, once committed */

    /* The caller's words: the answer waits for their commit; a commit that
     * fails drops the act and says why on the call. */
    int says = t.says;
    assert_int_equal(ccai_call_notify(c, CCAI_EVENT_SPEECH, "Hello?"), CCAI_OK);
    assert_int_equal(t.says, says);
    deferred_commit(CCAI_ERR_STORE);
    assert_int_equal(t.says, says);
    assert_true(strlen(ccai_call_errmsg(c)) > 0);

    /* A handle freed while its acts wait: they are dropped. */
    assert_int_equal(ccai_call_notify(c, CCAI_EVENT_SPEECH, "Anyone there?"), CCAI_OK);
    ccai_call_free(c);
    deferred_commit(CCAI_OK);
    assert_int_equal(t.says, says);

    async_env_free(&a);
}

/* The wait for durability is a span of the call, "store_sync": from the
 * request (Ccai_store_sync()) to the backend's completion, in error when
 * the commit failed, also when the handle went meanwhile; exported to the
 * stand-in collector with the call's other spans. */
static void test_store_sync_spans(void **state)
{
    (void)state;
    otlp_collector col;
    otlp_collector_start(&col);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", otlp_collector_port(&col));
    const char *const tracing[] = {"tracing.otlp_endpoint",
                                   url,
                                   "tracing.service_name",
                                   "ccai-test-sync",
                                   "tracing.export_interval_ms",
                                   "50",
                                   NULL};
    async_env a;
    async_env_init(&a, tracing);
    Ccai_engine *eng = a.eng;

    static const ccai_call_ops tops = {
        .version = CCAI_CALL_OPS_VERSION, .say = tell_say, .state_changed = tell_state};
    ccai_call_params p = {.version = CCAI_CALL_PARAMS_VERSION,
                          .direction = CCAI_INBOUND,
                          .phone_number = "+33612345678"};
    teller t = {0};
    ccai_call *c = NULL;
    assert_int_equal(Ccai_engine_call_start(eng, &p, &tops, &t, &c), CCAI_OK);
    /* Committed; then a commit that fails; then one that completes after
     * the handle went. */
    size_t before = deferred_calls;
    assert_int_equal(ccai_call_notify(c, CCAI_EVENT_CONNECTED, NULL), CCAI_OK);
    assert_true(deferred_n > 0);
    deferred_commit(CCAI_OK);
    assert_int_equal(ccai_call_notify(c, CCAI_EVENT_SPEECH, "Hello?"), CCAI_OK);
    size_t failed = deferred_n;
    assert_true(failed > 0);
    deferred_commit(CCAI_ERR_STORE);
    assert_int_equal(ccai_call_notify(c, CCAI_EVENT_SPEECH, "Anyone there?"), CCAI_OK);
    ccai_call_free(c); /* its own writes (the end) wait too */
    size_t gone = deferred_n;
    assert_true(gone > 0);
    deferred_commit(CCAI_OK);
    assert_int_equal(deferred_n, 0);
    size_t waits = deferred_calls - before;
    uint64_t end = ccai_time_ms() + 300;
    while (ccai_time_ms() < end)
        assert_int_equal(ccai_poll_run_once(a.pl, 20), 0);

    json_t *spans = otlp_collector_spans(&col, "ccai-test-sync");
    const json_t *root = otlp_span_find(spans, "call", 0);
    assert_non_null(root);
    size_t n = 0, errors = 0, after_free = 0;
    for (const json_t *sp; (sp = otlp_span_find(spans, "store_sync", (int)n)); n++) {
        assert_string_equal(otlp_str(sp, "parentSpanId"), otlp_str(root, "spanId"));
        assert_string_equal(otlp_str(sp, "traceId"), otlp_str(root, "traceId"));
        assert_int_equal(json_integer_value(json_object_get(sp, "kind")), 3);
        json_int_t code =
            json_integer_value(json_object_get(json_object_get(sp, "status"), "code"));
        if (code == 2) {
            errors++;
            assert_string_equal(otlp_str(json_object_get(sp, "status"), "message"),
                                ccai_status_str(CCAI_ERR_STORE));
        }
        size_t i;
        const json_t *kv;
        json_array_foreach(json_object_get(sp, "attributes"), i, kv)
        {
            if (!strcmp(otlp_str(kv, "key"), "store.call_gone"))
                after_free +=
                    json_is_true(json_object_get(json_object_get(kv, "value"), "boolValue"));
        }
    }
    print_message("# %zu store_sync spans (%zu in error, %zu after the handle went)\n", n, errors,
                  after_free);
    assert_int_equal(n, waits);
    assert_int_equal(errors, failed);
    assert_int_equal(after_free, gone);
    json_decref(spans);

    async_env_free(&a);
    otlp_collector_stop(&col);
}

/* The acts a tool decides (SMS, transfer) go once what they rest on is
 * committed, never on a failed commit; the hang-up waits for the writes
 * before it (the goodbye) and goes even when they fail: a caller is not
 * held on a bot that is done. */
static void test_tool_acts_after_async_commit(void **state)
{
    (void)state;
    async_env a;
    async_env_init(&a, NULL);
    Ccai_engine *eng = a.eng;

    static const ccai_call_ops tops = {.version = CCAI_CALL_OPS_VERSION,
                                       .say = tell_say,
                                       .state_changed = tell_state,
                                       .transfer = tell_transfer,
                                       .hangup = tell_hangup,
                                       .send_sms = tell_sms};
    ccai_call_params p = {.version = CCAI_CALL_PARAMS_VERSION,
                          .direction = CCAI_INBOUND,
                          .phone_number = "+33612345678",
                          .initiate_json = "{\"agent_phone_number\":\"+33198765432\"}"};
    teller t = {0};
    ccai_call *c = NULL;
    assert_int_equal(Ccai_engine_call_start(eng, &p, &tops, &t, &c), CCAI_OK);
    assert_int_equal(ccai_call_notify(c, CCAI_EVENT_CONNECTED, NULL), CCAI_OK);
    deferred_commit(CCAI_OK);
    assert_int_equal(t.last, CCAI_CALL_CONVERSATION);

    /* SMS: its record first; the SMS only once that is committed. */
    Ccai_tool_outcome out;
    char *r =
        Ccai_tools_run(c, "send_sms", "{\"message\":\"Your claim is 42.\"}", "llm:fast", &out);
    assert_non_null(r);
    ccai_free(r);
    assert_int_equal(t.sms, 0);
    assert_true(deferred_n > 0);
    deferred_commit(CCAI_ERR_STORE);
    assert_int_equal(t.sms, 0);
    r = Ccai_tools_run(c, "send_sms", "{\"message\":\"Your claim is 42.\"}", "llm:fast", &out);
    ccai_free(r);
    assert_int_equal(t.sms, 0);
    deferred_commit(CCAI_OK);
    assert_int_equal(t.sms, 1);

    /* Transfer: "transferring" stored, the channel asked once committed;
     * a failed commit asks nothing of it. */
    r = Ccai_tools_run(c, "talk_to_human", "{}", "llm:fast", &out);
    assert_true(out.transfer);
    ccai_free(r);
    assert_int_equal(t.transfers, 0);
    assert_true(deferred_n > 0);
    deferred_commit(CCAI_ERR_STORE);
    assert_int_equal(t.transfers, 0);
    assert_int_equal(t.hangups, 0);

    /* Hang-up: not before the writes it follows are settled; then even if
     * they failed. */
    Ccai_call_hangup(c);
    assert_int_equal(t.hangups, 0);
    assert_true(deferred_n > 0);
    deferred_commit(CCAI_ERR_STORE);
    assert_int_equal(t.hangups, 1);
    assert_int_equal(t.transfers, 0);

    ccai_call_free(c);
    deferred_commit(CCAI_OK);
    async_env_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acts_after_async_commit),
        cmocka_unit_test(test_store_sync_spans),
        cmocka_unit_test(test_tool_acts_after_async_commit),
        cmocka_unit_test(test_locked_store),
        cmocka_unit_test(test_job_outcome_kept_while_locked),
        cmocka_unit_test(test_initiate_lang_by_language),
        cmocka_unit_test(test_start_stores_call),
        cmocka_unit_test(test_event_flow_and_persist_then_act),
        cmocka_unit_test(test_no_postcall_without_interaction),
        cmocka_unit_test(test_speech_before_connected),
        cmocka_unit_test(test_resume_within_window),
        cmocka_unit_test(test_resume_disabled),
        cmocka_unit_test(test_initiate_overlay),
        cmocka_unit_test(test_invalid_params),
        cmocka_unit_test(test_free_inside_callback),
        cmocka_unit_test(test_stale_writer_conflict),
        cmocka_unit_test(test_ctx_free_ends_calls),
        cmocka_unit_test(test_sweep_interrupted_calls),
        cmocka_unit_test(test_take_back_only_in_progress),
        cmocka_unit_test(test_initiate_shared_when_alike),
    };
    return cmocka_run_group_tests_name("call", tests, NULL, NULL);
}
