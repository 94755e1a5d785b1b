/* engine/conversation.c with a language model: turns against the stand-in,
 * streamed sentences said and stored, hosts that re-enter the engine from
 * inside say() (barge-in and free), and a rate-limited model on a clock the
 * test moves. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <ccai/adapters/poll.h>

#include "io/io.h"
#include "support/llm_standin.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct host {
    ccai_call *call;
    int says;
    char said[32][256];
    int listens;
    int stops;
    int barge_at; /* on this say, the caller talks over the bot */
    int free_at;  /* on this say, the host frees the call */
    int freed;
} host;

static int op_say(ccai_call *c, const ccai_speech *sp, void *ud)
{
    host *h = ud;
    h->says++;
    if (h->says <= 32)
        snprintf(h->said[h->says - 1], sizeof h->said[0], "%s", sp->text);
    if (h->says == h->barge_at) {
        ccai_event *ev = NULL;
        assert_int_equal(ccai_event_new(CCAI_EVENT_SPEECH, &ev), CCAI_OK);
        assert_int_equal(ccai_event_set_text(ev, "wait, wait"), CCAI_OK);
        assert_int_equal(ccai_event_set_final(ev, 0), CCAI_OK);
        assert_int_equal(ccai_on_event(c, ev), CCAI_OK);
        ccai_event_free(ev);
    }
    if (h->says == h->free_at) {
        ccai_call_free(c);
        h->call = NULL;
        h->freed = 1;
    }
    return 0;
}

static int op_stop(ccai_call *c, void *ud)
{
    (void)c;
    ((host *)ud)->stops++;
    return 0;
}

static int op_listen(ccai_call *c, const char *lang, void *ud)
{
    (void)c;
    (void)lang;
    ((host *)ud)->listens++;
    return 0;
}

static const ccai_call_ops ops = {
    .version = CCAI_CALL_OPS_VERSION, .say = op_say, .stop_speaking = op_stop, .listen = op_listen};

typedef struct env {
    standin *si;
    ccai_config *cfg;
    ccai_poll *poll;
    ccai_ctx *ctx;
    host h;
} env;

static void env_init(env *e)
{
    memset(e, 0, sizeof *e);
    e->si = standin_start(NULL);
    assert_non_null(e->si);
    char ep[64];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d/v1", standin_port(e->si));
    assert_int_equal(ccai_config_new(&e->cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "database.sqlite.path", ":memory:"), CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "llm.fast.mode", "openai_compatible"), CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "llm.fast.endpoint", ep), CCAI_OK);
    assert_int_equal(ccai_poll_new(e->cfg, &e->poll, &e->ctx, NULL), CCAI_OK);
    ccai_call_params p = {
        .version = CCAI_CALL_PARAMS_VERSION,
        .direction = CCAI_INBOUND,
        .phone_number = "+14155550100",
        .channel = "local",
        .initiate_json = "{\"lang\":{\"default_short_code\":\"en-US\"}}",
    };
    assert_int_equal(ccai_call_start(e->ctx, &p, &ops, &e->h, &e->h.call), CCAI_OK);
}

static void env_free(env *e)
{
    ccai_call_free(e->h.call);
    ccai_poll_free(e->poll);
    ccai_config_free(e->cfg);
    standin_stop(e->si);
}

static void send(env *e, ccai_event_type type, const char *text)
{
    ccai_event *ev = NULL;
    assert_int_equal(ccai_event_new(type, &ev), CCAI_OK);
    if (text)
        assert_int_equal(ccai_event_set_text(ev, text), CCAI_OK);
    assert_int_equal(ccai_on_event(e->h.call, ev), CCAI_OK);
    ccai_event_free(ev);
}

static int turn_over(void *ud)
{
    env *e = ud;
    return !e->h.call || ccai_call_get_state(e->h.call) != CCAI_CALL_TURN;
}

static void run_turn(env *e)
{
    uint64_t deadline = ccai_time_ms() + 10000;
    while (!turn_over(e) && ccai_time_ms() < deadline)
        assert_int_equal(ccai_poll_run_once(e->poll, 50), 0);
    assert_true(turn_over(e));
}

static void test_streamed_sentences(void **state)
{
    (void)state;
    env e;
    env_init(&e);
    send(&e, CCAI_EVENT_CONNECTED, NULL);
    int greeting = e.h.says;
    standin_spec s = STANDIN_SPEC_INIT;
    s.content =
        "style=sad I am so sorry about your car. Is anyone hurt? Tell me where it happened.";
    s.chunk_bytes = 5;
    standin_push(e.si, &s);
    send(&e, CCAI_EVENT_SPEECH, "My car was hit.");
    run_turn(&e);
    assert_int_equal(e.h.says - greeting, 3);
    assert_string_equal(e.h.said[greeting], "I am so sorry about your car.");
    assert_string_equal(e.h.said[greeting + 1], "Is anyone hurt?");
    assert_string_equal(e.h.said[greeting + 2], "Tell me where it happened.");
    assert_true(e.h.listens >= 2);
    char *json = NULL;
    assert_int_equal(ccai_call_to_json(e.h.call, &json), CCAI_OK);
    assert_non_null(strstr(json, "\"content\":\"Is anyone hurt?\""));
    assert_non_null(strstr(json, "\"style\":\"sad\""));
    assert_non_null(strstr(json, "\"engine\":\"llm:fast\""));
    ccai_free(json);
    /* The request carried the caller's words and the tools. */
    char *body = standin_request_body(e.si, 0);
    assert_non_null(strstr(body, "My car was hit."));
    assert_non_null(strstr(body, "\"updated_claim\""));
    free(body);
    env_free(&e);
}

static void test_barge_in_from_inside_say(void **state)
{
    (void)state;
    env e;
    env_init(&e);
    send(&e, CCAI_EVENT_CONNECTED, NULL);
    e.h.barge_at = e.h.says + 2; /* on the second sentence of the answer */
    standin_spec s = STANDIN_SPEC_INIT;
    s.content = "One. Two. Three. Four. Five. Six.";
    s.chunk_ms = 5;
    standin_push(e.si, &s);
    send(&e, CCAI_EVENT_SPEECH, "Count for me.");
    run_turn(&e);
    for (int i = 0; i < 10; i++)
        ccai_poll_run_once(e.poll, 20);
    int said = e.h.says - (e.h.barge_at - 2);
    assert_int_equal(said, 2); /* nothing after the barge-in */
    assert_true(e.h.stops >= 1);
    assert_int_equal(ccai_call_get_state(e.h.call), CCAI_CALL_CONVERSATION);
    char *json = NULL;
    assert_int_equal(ccai_call_to_json(e.h.call, &json), CCAI_OK);
    assert_non_null(strstr(json, "\"content\":\"Two.\""));
    assert_null(strstr(json, "\"content\":\"Three.\"")); /* never said, never stored */
    ccai_free(json);
    env_free(&e);
}

static void test_free_from_inside_say(void **state)
{
    (void)state;
    env e;
    env_init(&e);
    send(&e, CCAI_EVENT_CONNECTED, NULL);
    e.h.free_at = e.h.says + 1;
    standin_spec s = STANDIN_SPEC_INIT;
    s.content = "First sentence. Second sentence. Third.";
    standin_push(e.si, &s);
    send(&e, CCAI_EVENT_SPEECH, "Hello?");
    uint64_t deadline = ccai_time_ms() + 5000;
    while (!e.h.freed && ccai_time_ms() < deadline)
        ccai_poll_run_once(e.poll, 50);
    assert_true(e.h.freed);
    for (int i = 0; i < 10; i++)
        ccai_poll_run_once(e.poll, 20);
    assert_int_equal(ccai_ctx_busy(e.ctx), 0); /* the request went with the call */
    env_free(&e);
}

/* The engine's clock: the real one plus what the test adds. */
static uint64_t skewed_now(void *ud)
{
    return ccai_time_ms() + *(uint64_t *)ud;
}

static int said_text(const host *h, int from, const char *sub)
{
    for (int i = from; i < h->says && i < 32; i++) {
        if (strstr(h->said[i], sub))
            return 1;
    }
    return 0;
}

/* The fast model answers 429 with "retry-after: 30" (OpenAI's headers and
 * body), longer than the answer budget; the slow model is healthy. The
 * turn goes to the slow model at once (not a timeout, not the offline
 * dialogue); while the fast one cools down the slow one answers; once its
 * Retry-After has passed the fast one is asked again, and answers. */
static void test_rate_limited_fast_model(void **state)
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
    ccai_poll *poll = NULL;
    env e;
    memset(&e, 0, sizeof e);
    assert_int_equal(ccai_poll_new(cfg, &poll, &e.ctx, NULL), CCAI_OK);
    e.poll = poll;
    uint64_t skew = 0;
    Ccai_ctx_set_clock(e.ctx, skewed_now, &skew);
    ccai_call_params p = {
        .version = CCAI_CALL_PARAMS_VERSION,
        .direction = CCAI_INBOUND,
        .phone_number = "+14155550100",
        .channel = "local",
        .initiate_json = "{\"lang\":{\"default_short_code\":\"en-US\"}}",
    };
    assert_int_equal(ccai_call_start(e.ctx, &p, &ops, &e.h, &e.h.call), CCAI_OK);
    send(&e, CCAI_EVENT_CONNECTED, NULL);

    standin_spec limited = STANDIN_SPEC_INIT;
    limited.status = 429;
    limited.retry_after = 30;
    standin_push(fast, &limited);
    standin_spec a = STANDIN_SPEC_INIT;
    a.content = "I am sorry about your car. Where did it happen?";
    standin_push(slow, &a);
    int from = e.h.says;
    uint64_t t0 = ccai_time_ms();
    send(&e, CCAI_EVENT_SPEECH, "My car was hit in a parking lot.");
    run_turn(&e);
    assert_true(ccai_time_ms() - t0 < 10000); /* no wait for the 30 s */
    assert_int_equal(standin_request_count(fast), 1);
    assert_int_equal(standin_request_count(slow), 1);
    assert_true(said_text(&e.h, from, "Where did it happen?"));
    assert_false(said_text(&e.h, from, "technical problem"));
    char *json = NULL;
    assert_int_equal(ccai_call_to_json(e.h.call, &json), CCAI_OK);
    assert_non_null(strstr(json, "\"engine\":\"llm:slow\""));
    assert_null(strstr(json, "\"engine\":\"offline\""));
    ccai_free(json);

    /* 10 s later: the fast model still cools down, the slow one answers. */
    skew += 10000;
    a.content = "Thank you. Was anyone hurt?";
    standin_push(slow, &a);
    from = e.h.says;
    send(&e, CCAI_EVENT_SPEECH, "In front of the supermarket on Main Street.");
    run_turn(&e);
    assert_int_equal(standin_request_count(fast), 1);
    assert_int_equal(standin_request_count(slow), 2);
    assert_true(said_text(&e.h, from, "Was anyone hurt?"));

    /* The Retry-After has passed: the fast model again. */
    skew += 21000;
    a.content = "Good. Do you have your policy number?";
    standin_push(fast, &a);
    from = e.h.says;
    send(&e, CCAI_EVENT_SPEECH, "No, nobody was hurt.");
    run_turn(&e);
    assert_int_equal(standin_request_count(fast), 2);
    assert_int_equal(standin_request_count(slow), 2);
    assert_true(said_text(&e.h, from, "Do you have your policy number?"));
    char *body = standin_request_body(fast, 1);
    assert_non_null(strstr(body, "\"model\":\"gpt-4o-mini\""));
    free(body);
    assert_int_equal(standin_pending(fast), 0);
    assert_int_equal(standin_pending(slow), 0);

    ccai_call_free(e.h.call);
    ccai_poll_free(poll);
    ccai_config_free(cfg);
    standin_stop(fast);
    standin_stop(slow);
}

/* Commits in a SQLite WAL file: frames of the current generation (the
 * header's salts) whose "database size after commit" field is set. */
static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int wal_commits(const char *db)
{
    char path[512];
    snprintf(path, sizeof path, "%s-wal", db);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char hdr[32], fh[24];
    assert_int_equal(fread(hdr, 1, sizeof hdr, f), sizeof hdr);
    uint32_t page = be32(hdr + 8);
    int commits = 0;
    while (fread(fh, 1, sizeof fh, f) == sizeof fh) {
        if (memcmp(fh + 8, hdr + 16, 8) != 0)
            break; /* frames of an earlier generation */
        commits += be32(fh + 4) != 0;
        if (fseek(f, (long)page, SEEK_CUR) != 0)
            break;
    }
    fclose(f);
    return commits;
}

/* A test database in a fresh directory, its context and the stand-in. */
typedef struct fileenv {
    char dir[32], db[128];
    standin *si;
    ccai_config *cfg;
    ccai_poll *poll;
    ccai_ctx *ctx;
} fileenv;

static void fileenv_init(fileenv *f)
{
    memset(f, 0, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/ccai-turn-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->db, sizeof f->db, "%s/t.sqlite", f->dir);
    f->si = standin_start(NULL);
    assert_non_null(f->si);
    char ep[64];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d/v1", standin_port(f->si));
    assert_int_equal(ccai_config_new(&f->cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(f->cfg, "database.sqlite.path", f->db), CCAI_OK);
    assert_int_equal(ccai_config_set(f->cfg, "llm.fast.mode", "openai_compatible"), CCAI_OK);
    assert_int_equal(ccai_config_set(f->cfg, "llm.fast.endpoint", ep), CCAI_OK);
    assert_int_equal(ccai_poll_new(f->cfg, &f->poll, &f->ctx, NULL), CCAI_OK);
}

static void fileenv_call(fileenv *f, host *h, const char *phone)
{
    ccai_call_params p = {
        .version = CCAI_CALL_PARAMS_VERSION,
        .direction = CCAI_INBOUND,
        .phone_number = phone,
        .channel = "local",
        .initiate_json = "{\"lang\":{\"default_short_code\":\"en-US\"}}",
    };
    assert_int_equal(ccai_call_start(f->ctx, &p, &ops, h, &h->call), CCAI_OK);
}

static void fileenv_free(fileenv *f)
{
    ccai_poll_free(f->poll);
    ccai_config_free(f->cfg);
    standin_stop(f->si);
    static const char *const sfx[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        char path[160];
        snprintf(path, sizeof path, "%s%s", f->db, sfx[i]);
        unlink(path);
    }
    rmdir(f->dir);
}

static void say_to(host *h, ccai_event_type type, const char *text)
{
    env e;
    memset(&e, 0, sizeof e);
    e.h.call = h->call;
    send(&e, type, text);
}

/* The sentences of an answer are stored after the caller's words, in the
 * order they were said, and those that come together take one commit (they
 * took one each: three fsyncs with synchronous=full). */
static void test_sentences_of_one_read_one_commit(void **state)
{
    (void)state;
    fileenv f;
    fileenv_init(&f);
    host h;
    memset(&h, 0, sizeof h);
    fileenv_call(&f, &h, "+14155550100");
    say_to(&h, CCAI_EVENT_CONNECTED, NULL);
    int from = h.says;
    static const char *const one_piece[] = {"One. Two. Three. "};
    standin_spec s = STANDIN_SPEC_INIT;
    s.chunks = one_piece;
    s.n_chunks = 1;
    standin_push(f.si, &s);
    int before = wal_commits(f.db);
    say_to(&h, CCAI_EVENT_SPEECH, "Count for me.");
    assert_int_equal(wal_commits(f.db), before + 1); /* the caller's words, before anything */
    uint64_t deadline = ccai_time_ms() + 10000;
    while (ccai_call_get_state(h.call) == CCAI_CALL_TURN && ccai_time_ms() < deadline)
        assert_int_equal(ccai_poll_run_once(f.poll, 50), 0);
    assert_int_equal(h.says - from, 3);
    char *json = NULL;
    assert_int_equal(ccai_call_to_json(h.call, &json), CCAI_OK); /* stores what was said */
    assert_int_equal(wal_commits(f.db), before + 2);
    const char *heard = strstr(json, "\"content\":\"Count for me.\"");
    const char *one = strstr(json, "\"content\":\"One.\"");
    const char *two = strstr(json, "\"content\":\"Two.\"");
    const char *three = strstr(json, "\"content\":\"Three.\"");
    assert_true(heard && one && two && three);
    assert_true(heard < one && one < two && two < three);
    ccai_free(json);
    ccai_call_free(h.call);
    fileenv_free(&f);
}

/* Two calls whose answers arrive in the same turn of the loop: their six
 * sentences take one commit (group commit), each call's in its order. */
static void test_sentences_of_two_calls_one_commit(void **state)
{
    (void)state;
    fileenv f;
    fileenv_init(&f);
    host a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    fileenv_call(&f, &a, "+14155550101");
    fileenv_call(&f, &b, "+14155550102");
    say_to(&a, CCAI_EVENT_CONNECTED, NULL);
    say_to(&b, CCAI_EVENT_CONNECTED, NULL);
    static const char *const one_piece[] = {"One. Two. Three. "};
    standin_spec s = STANDIN_SPEC_INIT;
    s.chunks = one_piece;
    s.n_chunks = 1;
    s.ttft_ms = 1000; /* time to send both requests, then the answers wait */
    standin_push(f.si, &s);
    standin_push(f.si, &s);
    int says = a.says + b.says;
    say_to(&a, CCAI_EVENT_SPEECH, "Count for me.");
    say_to(&b, CCAI_EVENT_SPEECH, "Count for me too.");
    uint64_t deadline = ccai_time_ms() + 900;
    while (standin_request_count(f.si) < 2 && ccai_time_ms() < deadline)
        assert_int_equal(ccai_poll_run_once(f.poll, 5), 0);
    assert_int_equal(standin_request_count(f.si), 2);
    assert_int_equal(a.says + b.says, says); /* no answer yet */
    int before = wal_commits(f.db);
    /* Both answers arrive while the loop does not run. */
    while (standin_last_token_sent_ns(f.si, 0) == 0 || standin_last_token_sent_ns(f.si, 1) == 0)
        usleep(20000);
    usleep(50000);
    deadline = ccai_time_ms() + 10000;
    while ((ccai_call_get_state(a.call) == CCAI_CALL_TURN ||
            ccai_call_get_state(b.call) == CCAI_CALL_TURN) &&
           ccai_time_ms() < deadline)
        assert_int_equal(ccai_poll_run_once(f.poll, 50), 0);
    assert_int_equal(a.says + b.says, says + 6);
    for (int i = 0; i < 10; i++) /* the group commit's few milliseconds */
        assert_int_equal(ccai_poll_run_once(f.poll, 5), 0);
    assert_int_equal(wal_commits(f.db), before + 1);
    char *json = NULL;
    assert_int_equal(ccai_call_to_json(b.call, &json), CCAI_OK);
    const char *heard = strstr(json, "\"content\":\"Count for me too.\"");
    const char *one = strstr(json, "\"content\":\"One.\"");
    const char *three = strstr(json, "\"content\":\"Three.\"");
    assert_true(heard && one && three && heard < one && one < three);
    ccai_free(json);
    ccai_call_free(a.call);
    ccai_call_free(b.call);
    fileenv_free(&f);
}

/* Calls with the same settings share one initiate tree; a call that
 * changes its voice speed changes its own stored initiate (with its phone
 * number), not the tree the others read, nor their stored settings. */
static void test_speed_change_is_the_calls_own(void **state)
{
    (void)state;
    fileenv f;
    fileenv_init(&f);
    host a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    fileenv_call(&f, &a, "+14155550101");
    fileenv_call(&f, &b, "+14155550102");
    say_to(&a, CCAI_EVENT_CONNECTED, NULL);
    say_to(&b, CCAI_EVENT_CONNECTED, NULL);
    static const standin_tool_call speed = {"call_1", "speech_speed", "{\"speed\":0.8}", NULL, 0,
                                            1};
    standin_spec s = STANDIN_SPEC_INIT;
    s.kind = STANDIN_TOOL_CALLS;
    s.tool_calls = &speed;
    s.n_tool_calls = 1;
    standin_push(f.si, &s);
    standin_spec t = STANDIN_SPEC_INIT;
    t.content = "I will speak more slowly.";
    standin_push(f.si, &t);
    say_to(&a, CCAI_EVENT_SPEECH, "Please speak more slowly.");
    uint64_t deadline = ccai_time_ms() + 10000;
    while (ccai_call_get_state(a.call) == CCAI_CALL_TURN && ccai_time_ms() < deadline)
        assert_int_equal(ccai_poll_run_once(f.poll, 50), 0);
    assert_int_equal(standin_request_count(f.si), 2);
    char *ja = NULL, *jb = NULL;
    assert_int_equal(ccai_call_to_json(a.call, &ja), CCAI_OK);
    assert_int_equal(ccai_call_to_json(b.call, &jb), CCAI_OK);
    json_t *da = json_loads(ja, 0, NULL), *db = json_loads(jb, 0, NULL);
    json_t *ia = json_object_get(da, "initiate"), *ib = json_object_get(db, "initiate");
    assert_true(json_number_value(json_object_get(ia, "prosody_rate")) == 0.8);
    assert_true(json_number_value(json_object_get(ib, "prosody_rate")) == 1.0);
    assert_string_equal(json_string_value(json_object_get(ia, "phone_number")), "+14155550101");
    assert_string_equal(json_string_value(json_object_get(ib, "phone_number")), "+14155550102");
    /* The other call's request still reads the settings all calls share. */
    standin_push(f.si, &t);
    say_to(&b, CCAI_EVENT_SPEECH, "Hello?");
    deadline = ccai_time_ms() + 10000;
    while (ccai_call_get_state(b.call) == CCAI_CALL_TURN && ccai_time_ms() < deadline)
        assert_int_equal(ccai_poll_run_once(f.poll, 50), 0);
    char *body = standin_request_body(f.si, 2);
    assert_non_null(strstr(body, "\"speech_speed\""));
    assert_non_null(strstr(body, "+14155550102")); /* the persona prompt's phone number */
    free(body);
    json_decref(da);
    json_decref(db);
    ccai_free(ja);
    ccai_free(jb);
    ccai_call_free(a.call);
    ccai_call_free(b.call);
    fileenv_free(&f);
}

/* A retry after the answer was cut: the request keeps none of its body once
 * sent and builds its messages again; they must be those of the first try
 * (the sentences said meanwhile are stored, not history of this round),
 * with what was said and a request to go on after them. */
static void test_retry_builds_the_same_messages(void **state)
{
    (void)state;
    fileenv f;
    fileenv_init(&f);
    host h;
    memset(&h, 0, sizeof h);
    fileenv_call(&f, &h, "+14155550100");
    say_to(&h, CCAI_EVENT_CONNECTED, NULL);
    static const char *const pieces[] = {"One. ", "Two. ", "never"};
    standin_spec cut = STANDIN_SPEC_INIT;
    cut.chunks = pieces;
    cut.n_chunks = 3;
    cut.cut_after = 3; /* the role chunk, "One. ", "Two. ", then the connection closes */
    standin_push(f.si, &cut);
    standin_spec rest = STANDIN_SPEC_INIT;
    rest.content = "Three.";
    standin_push(f.si, &rest);
    say_to(&h, CCAI_EVENT_SPEECH, "Count for me.");
    uint64_t deadline = ccai_time_ms() + 10000;
    while (ccai_call_get_state(h.call) == CCAI_CALL_TURN && ccai_time_ms() < deadline)
        assert_int_equal(ccai_poll_run_once(f.poll, 50), 0);
    assert_int_equal(standin_request_count(f.si), 2);
    char *b1 = standin_request_body(f.si, 0), *b2 = standin_request_body(f.si, 1);
    json_t *r1 = json_loads(b1, 0, NULL), *r2 = json_loads(b2, 0, NULL);
    json_t *m1 = json_object_get(r1, "messages"), *m2 = json_object_get(r2, "messages");
    size_t n1 = json_array_size(m1);
    assert_true(n1 >= 4);
    assert_int_equal(json_array_size(m2), n1 + 2);
    /* [0] is the persona prompt, with the time of day: it may have moved. */
    for (size_t i = 1; i < n1; i++)
        assert_true(json_equal(json_array_get(m1, i), json_array_get(m2, i)));
    json_t *said = json_array_get(m2, n1), *go_on = json_array_get(m2, n1 + 1);
    assert_string_equal(json_string_value(json_object_get(said, "role")), "assistant");
    assert_string_equal(json_string_value(json_object_get(said, "content")), "One. Two. ");
    assert_string_equal(json_string_value(json_object_get(go_on, "role")), "system");
    assert_true(json_equal(json_object_get(r1, "tools"), json_object_get(r2, "tools")));
    json_decref(r1);
    json_decref(r2);
    free(b1);
    free(b2);
    assert_true(said_text(&h, 0, "Three."));
    ccai_call_free(h.call);
    fileenv_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_streamed_sentences),
        cmocka_unit_test(test_sentences_of_one_read_one_commit),
        cmocka_unit_test(test_sentences_of_two_calls_one_commit),
        cmocka_unit_test(test_speed_change_is_the_calls_own),
        cmocka_unit_test(test_retry_builds_the_same_messages),
        cmocka_unit_test(test_barge_in_from_inside_say),
        cmocka_unit_test(test_free_from_inside_say),
        cmocka_unit_test(test_rate_limited_fast_model),
    };
    return cmocka_run_group_tests_name("turn", tests, NULL, NULL);
}
