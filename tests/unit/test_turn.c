/* LLM turns against the stand-in: streamed sentences said and stored, and
 * hosts that re-enter the engine from inside say(): barge-in and free. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <ccai/adapters/poll.h>

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
    CCAI_CALL_OPS_VERSION, op_say, op_stop, op_listen, NULL, NULL, NULL, NULL, NULL};

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
    ccai_call_params p = {CCAI_CALL_PARAMS_VERSION,
                          CCAI_INBOUND,
                          "+14155550100",
                          NULL,
                          "local",
                          NULL,
                          "{\"lang\":{\"default_short_code\":\"en-US\"}}",
                          NULL,
                          0};
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_streamed_sentences),
        cmocka_unit_test(test_barge_in_from_inside_say),
        cmocka_unit_test(test_free_from_inside_say),
    };
    return cmocka_run_group_tests_name("turn", tests, NULL, NULL);
}
