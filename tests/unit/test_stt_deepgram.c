/* stt/deepgram.c against the Deepgram live stand-in
 * (tests/support/deepgram_standin.h) on loopback, through the real loop:
 * speech-like audio made at test time is streamed, and the results,
 * endpointing, Finalize, cancel, hints and the faults (refusals, 429 with
 * retries, a slow handshake, a cut, garbage, a malformed message, a stall)
 * are checked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "support/deepgram_standin.h"
#include "support/stt_harness.h"

static const Ccai_media_format ulaw8 = {CCAI_MEDIA_ULAW, 8000, 1};

typedef struct dg_env {
    sh_env e;
    deepgram_standin *d;
    char endpoint[64];
    Ccai_stt_config cfg;
} dg_env;

static void dg_init(dg_env *t, const char *options)
{
    sh_init(&t->e);
    deepgram_standin_opts o = {.latency_ms = 20};
    t->d = deepgram_standin_start(&o);
    assert_non_null(t->d);
    sh_config(&t->cfg, t->endpoint, sizeof t->endpoint, "ws", deepgram_standin_port(t->d),
              DEEPGRAM_STANDIN_KEY, 2000);
    t->cfg.model = "nova-3";
    t->cfg.options = options;
}

static void dg_open_ok(dg_env *t)
{
    assert_int_equal(sh_open(&t->e, "deepgram", &t->cfg, ulaw8), CCAI_OK);
    assert_int_equal(t->e.s->in.encoding, CCAI_MEDIA_ULAW);
    assert_int_equal(t->e.s->in.rate, 8000);
}

static void dg_free(dg_env *t)
{
    sh_free(&t->e);
    deepgram_standin_stop(t->d);
}

static void test_transcript_with_endpointing(void **state)
{
    (void)state;
    dg_env t;
    dg_init(&t, NULL);
    deepgram_standin_say(t.d, "I need to reschedule my appointment.");
    dg_open_ok(&t);
    sh_say(&t.e, "I need to reschedule my appointment.", 1200);
    assert_true(sh_wait(&t.e, CCAI_STT_FINAL, 1, 5000));
    int started = sh_find(&t.e, CCAI_STT_SPEECH_STARTED, 0);
    int partial = sh_find(&t.e, CCAI_STT_PARTIAL, 0);
    int fin = sh_find(&t.e, CCAI_STT_FINAL, 0);
    assert_true(started >= 0 && started < fin);
    assert_true(partial >= 0 && partial < fin); /* interim words before the end */
    assert_string_equal(t.e.r[fin].text, "I need to reschedule my appointment.");
    assert_false(t.e.r[fin].from_end); /* Deepgram's own endpoint */
    assert_true(t.e.r[fin].confidence > 0.5 && t.e.r[fin].confidence <= 1.0);
    /* The voice layer's end() after it: an empty FINAL answers it. */
    assert_int_equal(Ccai_stt_end(t.e.s), CCAI_OK);
    assert_true(sh_wait(&t.e, CCAI_STT_FINAL, 2, 3000));
    int fin2 = sh_find(&t.e, CCAI_STT_FINAL, fin + 1);
    assert_string_equal(t.e.r[fin2].text, "");
    assert_true(t.e.r[fin2].from_end);
    assert_int_equal(sh_count(&t.e, CCAI_STT_ERROR), 0);
    /* The wire: query parameters and the Token auth. */
    svc *sv = deepgram_standin_svc(t.d);
    char *target = svc_request_target(sv, 0);
    assert_non_null(strstr(target, "/v1/listen?model=nova-3&language=en-US&encoding=mulaw"
                                   "&sample_rate=8000&channels=1&interim_results=true"
                                   "&endpointing=300&utterance_end_ms=1000&vad_events=true"));
    free(target);
    char *auth = svc_request_header(sv, 0, "authorization");
    assert_string_equal(auth, "Token " DEEPGRAM_STANDIN_KEY);
    free(auth);
    dg_free(&t);
}

static void test_end_sends_finalize(void **state)
{
    (void)state;
    dg_env t;
    dg_init(&t, "endpointing=false");
    deepgram_standin_say(t.d, "My policy number is four two.");
    dg_open_ok(&t);
    sh_say(&t.e, "My policy number is four two.", 100);
    sh_run(&t.e, 200);
    assert_int_equal(sh_count(&t.e, CCAI_STT_FINAL), 0);
    assert_int_equal(Ccai_stt_end(t.e.s), CCAI_OK);
    assert_true(sh_wait(&t.e, CCAI_STT_FINAL, 1, 3000));
    int fin = sh_find(&t.e, CCAI_STT_FINAL, 0);
    assert_string_equal(t.e.r[fin].text, "My policy number is four two.");
    assert_true(t.e.r[fin].from_end);
    /* The options replaced our endpointing; Finalize went out. */
    svc *sv = deepgram_standin_svc(t.d);
    char *target = svc_request_target(sv, 0);
    assert_non_null(strstr(target, "endpointing=false"));
    assert_null(strstr(target, "endpointing=300"));
    free(target);
    char *sent = sh_ws_texts(sv, 0);
    assert_non_null(strstr(sent, "Finalize"));
    free(sent);
    dg_free(&t);
}

static void test_cancel_drops_the_utterance(void **state)
{
    (void)state;
    dg_env t;
    dg_init(&t, "endpointing=false");
    deepgram_standin_say(t.d, "cough cough");
    deepgram_standin_say(t.d, "Yes please.");
    dg_open_ok(&t);
    sh_run(&t.e, 300); /* connected: the cough reaches the service */
    sh_say(&t.e, "cough cough", 600);
    Ccai_stt_cancel(t.e.s);
    sh_run(&t.e, 300);
    sh_say(&t.e, "Yes please.", 100);
    assert_int_equal(Ccai_stt_end(t.e.s), CCAI_OK);
    assert_true(sh_wait(&t.e, CCAI_STT_FINAL, 1, 3000));
    sh_run(&t.e, 200);
    assert_int_equal(sh_count(&t.e, CCAI_STT_FINAL), 1);
    int fin = sh_find(&t.e, CCAI_STT_FINAL, 0);
    assert_string_equal(t.e.r[fin].text, "Yes please.");
    dg_free(&t);
}

static void test_hints_become_keyterms(void **state)
{
    (void)state;
    dg_env t;
    dg_init(&t, NULL);
    dg_open_ok(&t);
    const char *hints[] = {"Contoso", "claim number", NULL};
    Ccai_stt_expect ex = {.kind = CCAI_STT_FREE, .hints = hints};
    assert_int_equal(Ccai_stt_expect_next(t.e.s, &ex), CCAI_OK);
    sh_say(&t.e, "", 200);
    sh_run(&t.e, 300);
    char *target = svc_request_target(deepgram_standin_svc(t.d), 0);
    assert_non_null(target);
    assert_non_null(strstr(target, "&keyterm=Contoso&keyterm=claim%20number"));
    free(target);
    dg_free(&t);
}

static void test_keepalive_holds_a_silent_stream(void **state)
{
    (void)state;
    sh_env e;
    sh_init(&e);
    /* Deepgram closes a stream without messages after ~10 s; a shorter one
     * here, still longer than our KeepAlive interval (4 s). */
    deepgram_standin_opts o = {.latency_ms = 20, .idle_timeout_ms = 6000};
    deepgram_standin *d = deepgram_standin_start(&o);
    assert_non_null(d);
    char ep[64];
    snprintf(ep, sizeof ep, "ws://127.0.0.1:%d", deepgram_standin_port(d));
    Ccai_stt_config cfg = {.endpoint = ep, .api_key = DEEPGRAM_STANDIN_KEY};
    assert_int_equal(sh_open(&e, "deepgram", &cfg, ulaw8), CCAI_OK);
    sh_run(&e, 7000);
    assert_int_equal(sh_count(&e, CCAI_STT_ERROR), 0);
    char *sent = sh_ws_texts(deepgram_standin_svc(d), 0);
    assert_non_null(strstr(sent, "KeepAlive"));
    free(sent);
    sh_free(&e);
    deepgram_standin_stop(d);
}

/* Faults ------------------------------------------------------------------------ */

static void expect_fatal(dg_env *t, ccai_status st, const char *part)
{
    sh_expect_error(&t->e, st, true, part);
    /* After a fatal ERROR: nothing more, and feed() says so. */
    if (t->e.s)
        assert_int_equal(Ccai_stt_feed(t->e.s, (const uint8_t *)"\xff", 1), CCAI_ERR_STATE);
}

static void test_wrong_key_is_fatal(void **state)
{
    (void)state;
    dg_env t;
    dg_init(&t, NULL);
    t.cfg.api_key = "wrong";
    dg_open_ok(&t);
    expect_fatal(&t, CCAI_ERR_HTTP, "HTTP 401");
    assert_non_null(strstr(t.e.r[sh_find(&t.e, CCAI_STT_ERROR, 0)].errmsg, "INVALID_AUTH"));
    dg_free(&t);
}

static void test_429_retried_then_works(void **state)
{
    (void)state;
    dg_env t;
    dg_init(&t, NULL);
    deepgram_standin_fault f = {.status = 429, .retry_after = 0};
    deepgram_standin_push_fault(t.d, &f);
    deepgram_standin_push_fault(t.d, &f);
    deepgram_standin_say(t.d, "Hello there.");
    dg_open_ok(&t);
    /* Audio fed while the connects are refused is held, then sent. */
    sh_say(&t.e, "Hello there.", 1200);
    assert_true(sh_wait(&t.e, CCAI_STT_FINAL, 1, 8000));
    assert_string_equal(t.e.r[sh_find(&t.e, CCAI_STT_FINAL, 0)].text, "Hello there.");
    assert_int_equal(sh_count(&t.e, CCAI_STT_ERROR), 0);
    assert_int_equal(svc_request_count(deepgram_standin_svc(t.d)), 3);
    dg_free(&t);
}

static void test_429_after_retries_is_fatal(void **state)
{
    (void)state;
    dg_env t;
    dg_init(&t, NULL);
    deepgram_standin_fault f = {.status = 429, .retry_after = 0};
    for (int i = 0; i < 3; i++)
        deepgram_standin_push_fault(t.d, &f);
    dg_open_ok(&t);
    t.e.close_on_fatal = true;
    expect_fatal(&t, CCAI_ERR_HTTP, "HTTP 429 (after retries)");
    assert_int_equal(svc_request_count(deepgram_standin_svc(t.d)), 3);
    dg_free(&t);
}

static void test_slow_handshake_times_out(void **state)
{
    (void)state;
    dg_env t;
    dg_init(&t, NULL);
    deepgram_standin_fault f = {.handshake_delay_ms = 3000};
    deepgram_standin_push_fault(t.d, &f);
    t.cfg.connect_timeout_ms = 400;
    dg_open_ok(&t);
    expect_fatal(&t, CCAI_ERR_TIMEOUT, "not connected within 400 ms");
    dg_free(&t);
}

static void test_disconnect_mid_stream(void **state)
{
    (void)state;
    dg_env t;
    dg_init(&t, NULL);
    deepgram_standin_fault f = {.after = 1, .drop = 1};
    deepgram_standin_push_fault(t.d, &f);
    deepgram_standin_say(t.d, "I was saying something long enough.");
    dg_open_ok(&t);
    sh_say(&t.e, "I was saying something long enough.", 600);
    expect_fatal(&t, CCAI_ERR_IO, "without a close frame");
    dg_free(&t);
}

static void test_garbage_frame(void **state)
{
    (void)state;
    dg_env t;
    dg_init(&t, NULL);
    deepgram_standin_fault f = {.after = 0, .garbage = 1};
    deepgram_standin_push_fault(t.d, &f);
    deepgram_standin_say(t.d, "Garbage follows.");
    dg_open_ok(&t);
    sh_say(&t.e, "Garbage follows.", 600);
    expect_fatal(&t, CCAI_ERR_HTTP, "protocol error");
    dg_free(&t);
}

static void test_close_1011(void **state)
{
    (void)state;
    dg_env t;
    dg_init(&t, NULL);
    deepgram_standin_fault f = {.after = 0, .close_code = 1011, .close_reason = "NET-0000"};
    deepgram_standin_push_fault(t.d, &f);
    deepgram_standin_say(t.d, "Closing now.");
    dg_open_ok(&t);
    sh_say(&t.e, "Closing now.", 600);
    expect_fatal(&t, CCAI_ERR_IO, "closed the stream (1011 NET-0000)");
    dg_free(&t);
}

static void test_malformed_message_not_fatal(void **state)
{
    (void)state;
    dg_env t;
    dg_init(&t, NULL);
    deepgram_standin_fault f = {.after = 0, .malformed_json = 1};
    deepgram_standin_push_fault(t.d, &f);
    deepgram_standin_say(t.d, "Still here after that.");
    dg_open_ok(&t);
    sh_say(&t.e, "Still here after that.", 1200);
    assert_true(sh_wait(&t.e, CCAI_STT_FINAL, 1, 5000));
    int err = sh_find(&t.e, CCAI_STT_ERROR, 0);
    assert_true(err >= 0);
    assert_false(t.e.r[err].fatal);
    assert_int_equal(t.e.r[err].status, CCAI_ERR_PARSE);
    assert_string_equal(t.e.r[sh_find(&t.e, CCAI_STT_FINAL, 0)].text, "Still here after that.");
    dg_free(&t);
}

static void test_stalled_results_time_out(void **state)
{
    (void)state;
    dg_env t;
    dg_init(&t, "endpointing=false");
    deepgram_standin_fault f = {.after = 0, .stall_ms = 5000};
    deepgram_standin_push_fault(t.d, &f);
    deepgram_standin_say(t.d, "Nobody answers this.");
    t.cfg.result_timeout_ms = 500;
    dg_open_ok(&t);
    sh_say(&t.e, "Nobody answers this.", 100);
    assert_int_equal(Ccai_stt_end(t.e.s), CCAI_OK);
    expect_fatal(&t, CCAI_ERR_TIMEOUT, "no final result");
    dg_free(&t);
}

static void test_config_errors(void **state)
{
    (void)state;
    dg_env t;
    dg_init(&t, NULL);
    t.cfg.api_key = NULL;
    assert_int_equal(sh_open(&t.e, "deepgram", &t.cfg, ulaw8), CCAI_ERR_CONFIG);
    assert_non_null(strstr(ccai_ctx_errmsg(t.e.ctx), "api_key"));
    t.cfg.api_key = "k";
    t.cfg.options = "a=b c";
    assert_int_equal(sh_open(&t.e, "deepgram", &t.cfg, ulaw8), CCAI_ERR_CONFIG);
    t.e.s = NULL;
    dg_free(&t);
}

/* The message parser on the service's documented messages. */
static void test_parser(void **state)
{
    (void)state;
    const char *res =
        "{\"type\":\"Results\",\"channel_index\":[0,1],\"duration\":1.02,\"start\":3.5,"
        "\"is_final\":true,\"speech_final\":true,\"from_finalize\":false,"
        "\"channel\":{\"alternatives\":[{\"transcript\":\"I need to reschedule\","
        "\"confidence\":0.98,\"languages\":[\"en\"],\"words\":[]}]},\"metadata\":{}}";
    Ccai_dg_msg m;
    assert_int_equal(Ccai_dg_parse(res, strlen(res), &m), CCAI_OK);
    assert_int_equal(m.type, CCAI_DG_RESULTS);
    assert_true(m.is_final && m.speech_final && !m.from_finalize);
    assert_string_equal(m.transcript, "I need to reschedule");
    assert_string_equal(m.lang, "en");
    assert_true(m.confidence > 0.97 && m.confidence < 0.99);
    Ccai_dg_msg_free(&m);
    const char *ue = "{\"type\":\"UtteranceEnd\",\"channel\":[0,1],\"last_word_end\":5.21}";
    assert_int_equal(Ccai_dg_parse(ue, strlen(ue), &m), CCAI_OK);
    assert_int_equal(m.type, CCAI_DG_UTTERANCE_END);
    Ccai_dg_msg_free(&m);
    const char *bad[] = {"",
                         "[]",
                         "{\"type\":1}",
                         "{\"type\":\"Results\",\"is_final\":\"yes\"}",
                         "{\"type\":\"Results\",\"channel\":{\"alternatives\":{}}}",
                         "{\"type\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(Ccai_dg_parse(bad[i], strlen(bad[i]), &m), CCAI_ERR_PARSE);
    assert_int_equal(Ccai_dg_parse(res, CCAI_STT_MAX_MESSAGE + 1, &m), CCAI_ERR_LIMIT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parser),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_transcript_with_endpointing),
        cmocka_unit_test(test_end_sends_finalize),
        cmocka_unit_test(test_cancel_drops_the_utterance),
        cmocka_unit_test(test_hints_become_keyterms),
        cmocka_unit_test(test_keepalive_holds_a_silent_stream),
        cmocka_unit_test(test_wrong_key_is_fatal),
        cmocka_unit_test(test_429_retried_then_works),
        cmocka_unit_test(test_429_after_retries_is_fatal),
        cmocka_unit_test(test_slow_handshake_times_out),
        cmocka_unit_test(test_disconnect_mid_stream),
        cmocka_unit_test(test_garbage_frame),
        cmocka_unit_test(test_close_1011),
        cmocka_unit_test(test_malformed_message_not_fatal),
        cmocka_unit_test(test_stalled_results_time_out),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
