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
#include <string.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_streamed_sentences),
        cmocka_unit_test(test_barge_in_from_inside_say),
        cmocka_unit_test(test_free_from_inside_say),
        cmocka_unit_test(test_rate_limited_fast_model),
    };
    return cmocka_run_group_tests_name("turn", tests, NULL, NULL);
}
