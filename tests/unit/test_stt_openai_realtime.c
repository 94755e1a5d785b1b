/* stt/openai_realtime.c against the OpenAI Realtime transcription stand-in
 * (tests/support/openai_audio_standin.h) on loopback, through the real
 * loop: server VAD turns, commit on end() without VAD, PCM16 24 kHz and
 * G.711, the prompt from hints, and the faults (401, 429 retried and after
 * retries, a slow handshake, a cut, garbage, a malformed event, a stall,
 * an error event). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "support/openai_audio_standin.h"
#include "support/stt_harness.h"

static const Ccai_media_format ulaw8 = {CCAI_MEDIA_ULAW, 8000, 1};
static const Ccai_media_format pcm16k = {CCAI_MEDIA_PCM16, 16000, 1};

typedef struct rt_env {
    sh_env e;
    openai_audio_standin *a;
    char endpoint[64];
    Ccai_stt_config cfg;
} rt_env;

static void rt_init(rt_env *t, const char *options)
{
    sh_init(&t->e);
    openai_audio_standin_opts o = {.rt_latency_ms = 20, .stt_latency_ms = 30};
    t->a = openai_audio_standin_start(&o);
    assert_non_null(t->a);
    sh_config(&t->cfg, t->endpoint, sizeof t->endpoint, "ws", openai_audio_standin_port(t->a),
              OPENAI_AUDIO_STANDIN_KEY, 2000);
    t->cfg.model = "gpt-4o-transcribe";
    t->cfg.options = options;
}

static void rt_free(rt_env *t)
{
    sh_free(&t->e);
    openai_audio_standin_stop(t->a);
}

/* The client's events as the stand-in logged them, joined. */
static char *sent_events(rt_env *t)
{
    return sh_ws_texts(openai_audio_standin_svc(t->a), 0);
}

static void test_server_vad_turn_g711(void **state)
{
    (void)state;
    rt_env t;
    rt_init(&t, NULL);
    openai_audio_standin_say(t.a, "I would like to file a claim.");
    assert_int_equal(sh_open(&t.e, "openai-realtime", &t.cfg, ulaw8), CCAI_OK);
    assert_int_equal(t.e.s->in.encoding, CCAI_MEDIA_ULAW);
    sh_say(&t.e, "I would like to file a claim.", 900);
    assert_true(sh_wait(&t.e, CCAI_STT_FINAL, 1, 5000));
    int started = sh_find(&t.e, CCAI_STT_SPEECH_STARTED, 0);
    int partial = sh_find(&t.e, CCAI_STT_PARTIAL, 0);
    int fin = sh_find(&t.e, CCAI_STT_FINAL, 0);
    assert_true(started >= 0 && started < fin);
    assert_true(partial > started && partial < fin);
    assert_string_equal(t.e.r[fin].text, "I would like to file a claim.");
    assert_false(t.e.r[fin].from_end);
    assert_string_equal(t.e.r[fin].lang, "en");
    /* end() after the server's own turn: an empty FINAL. */
    assert_int_equal(Ccai_stt_end(t.e.s), CCAI_OK);
    assert_true(sh_wait(&t.e, CCAI_STT_FINAL, 2, 2000));
    int fin2 = sh_find(&t.e, CCAI_STT_FINAL, fin + 1);
    assert_string_equal(t.e.r[fin2].text, "");
    assert_true(t.e.r[fin2].from_end);
    assert_int_equal(sh_count(&t.e, CCAI_STT_ERROR), 0);
    char *ev = sent_events(&t);
    assert_non_null(strstr(ev, "\"type\":\"session.update\""));
    assert_non_null(strstr(ev, "\"format\":{\"type\":\"audio/pcmu\"}"));
    assert_non_null(strstr(ev, "\"model\":\"gpt-4o-transcribe\""));
    assert_non_null(strstr(ev, "\"type\":\"input_audio_buffer.append\""));
    free(ev);
    char *auth = svc_request_header(openai_audio_standin_svc(t.a), 0, "authorization");
    assert_string_equal(auth, "Bearer " OPENAI_AUDIO_STANDIN_KEY);
    free(auth);
    rt_free(&t);
}

static void test_commit_on_end_pcm24k(void **state)
{
    (void)state;
    rt_env t;
    rt_init(&t, "{\"turn_detection\":null}");
    openai_audio_standin_say(t.a, "Twenty three Main Street.");
    const char *hints[] = {"Main Street", NULL};
    Ccai_stt_expect ex = {.kind = CCAI_STT_FREE, .hints = hints};
    assert_int_equal(sh_open(&t.e, "openai-realtime", &t.cfg, pcm16k), CCAI_OK);
    assert_int_equal(Ccai_stt_expect_next(t.e.s, &ex), CCAI_OK);
    /* PCM goes at 24 kHz, the one rate the service takes. */
    assert_int_equal(t.e.s->in.encoding, CCAI_MEDIA_PCM16);
    assert_int_equal(t.e.s->in.rate, 24000);
    sh_say(&t.e, "Twenty three Main Street.", 900);
    sh_run(&t.e, 300);
    assert_int_equal(sh_count(&t.e, CCAI_STT_FINAL), 0); /* no VAD: nothing yet */
    assert_int_equal(Ccai_stt_end(t.e.s), CCAI_OK);
    assert_true(sh_wait(&t.e, CCAI_STT_FINAL, 1, 3000));
    int fin = sh_find(&t.e, CCAI_STT_FINAL, 0);
    assert_string_equal(t.e.r[fin].text, "Twenty three Main Street.");
    assert_true(t.e.r[fin].from_end);
    assert_true(t.e.r[fin].confidence < 0); /* none given */
    /* An end() with nothing appended since: empty, without a commit. */
    assert_int_equal(Ccai_stt_end(t.e.s), CCAI_OK);
    assert_true(sh_wait(&t.e, CCAI_STT_FINAL, 2, 2000));
    assert_string_equal(t.e.r[sh_find(&t.e, CCAI_STT_FINAL, fin + 1)].text, "");
    char *ev = sent_events(&t);
    assert_non_null(strstr(ev, "\"turn_detection\":null"));
    assert_non_null(strstr(ev, "\"rate\":24000"));
    assert_non_null(strstr(ev, "\"prompt\":\"Main Street\""));
    assert_non_null(strstr(ev, "input_audio_buffer.commit"));
    free(ev);
    rt_free(&t);
}

static void test_cancel_clears(void **state)
{
    (void)state;
    rt_env t;
    rt_init(&t, "{\"turn_detection\":null}");
    openai_audio_standin_say(t.a, "Yes.");
    assert_int_equal(sh_open(&t.e, "openai-realtime", &t.cfg, ulaw8), CCAI_OK);
    sh_run(&t.e, 300);
    sh_say(&t.e, "mm hmm", 200);
    Ccai_stt_cancel(t.e.s);
    sh_say(&t.e, "Yes.", 300);
    assert_int_equal(Ccai_stt_end(t.e.s), CCAI_OK);
    assert_true(sh_wait(&t.e, CCAI_STT_FINAL, 1, 3000));
    sh_run(&t.e, 200);
    assert_int_equal(sh_count(&t.e, CCAI_STT_FINAL), 1);
    assert_string_equal(t.e.r[sh_find(&t.e, CCAI_STT_FINAL, 0)].text, "Yes.");
    char *ev = sent_events(&t);
    assert_non_null(strstr(ev, "input_audio_buffer.clear"));
    free(ev);
    rt_free(&t);
}

/* Faults --------------------------------------------------------------------- */

static void expect_fatal(rt_env *t, ccai_status st, const char *part)
{
    sh_expect_error(&t->e, st, true, part);
    if (t->e.s)
        assert_int_equal(Ccai_stt_end(t->e.s), CCAI_ERR_STATE);
}

static void test_wrong_key(void **state)
{
    (void)state;
    rt_env t;
    rt_init(&t, NULL);
    t.cfg.api_key = "sk-wrong";
    assert_int_equal(sh_open(&t.e, "openai-realtime", &t.cfg, ulaw8), CCAI_OK);
    expect_fatal(&t, CCAI_ERR_HTTP, "HTTP 401");
    rt_free(&t);
}

static void test_429_retried(void **state)
{
    (void)state;
    rt_env t;
    rt_init(&t, NULL);
    speech_fault f = {.status = 429};
    openai_audio_standin_push_fault(t.a, &f);
    openai_audio_standin_say(t.a, "After a retry.");
    assert_int_equal(sh_open(&t.e, "openai-realtime", &t.cfg, ulaw8), CCAI_OK);
    sh_say(&t.e, "After a retry.", 900);
    assert_true(sh_wait(&t.e, CCAI_STT_FINAL, 1, 6000));
    assert_string_equal(t.e.r[sh_find(&t.e, CCAI_STT_FINAL, 0)].text, "After a retry.");
    assert_int_equal(sh_count(&t.e, CCAI_STT_ERROR), 0);
    rt_free(&t);
}

static void test_429_after_retries(void **state)
{
    (void)state;
    rt_env t;
    rt_init(&t, NULL);
    speech_fault f = {.status = 429};
    for (int i = 0; i < 3; i++)
        openai_audio_standin_push_fault(t.a, &f);
    assert_int_equal(sh_open(&t.e, "openai-realtime", &t.cfg, ulaw8), CCAI_OK);
    t.e.close_on_fatal = true;
    expect_fatal(&t, CCAI_ERR_HTTP, "HTTP 429 (after retries)");
    rt_free(&t);
}

static void test_slow_first_byte(void **state)
{
    (void)state;
    rt_env t;
    rt_init(&t, NULL);
    speech_fault f = {.delay_ms = 3000};
    openai_audio_standin_push_fault(t.a, &f);
    t.cfg.connect_timeout_ms = 400;
    assert_int_equal(sh_open(&t.e, "openai-realtime", &t.cfg, ulaw8), CCAI_OK);
    expect_fatal(&t, CCAI_ERR_TIMEOUT, "not connected within 400 ms");
    rt_free(&t);
}

static void test_cut_mid_stream(void **state)
{
    (void)state;
    rt_env t;
    rt_init(&t, NULL);
    speech_fault f = {.after = 1, .cut = 1};
    openai_audio_standin_push_fault(t.a, &f);
    openai_audio_standin_say(t.a, "Cut in the middle of this.");
    assert_int_equal(sh_open(&t.e, "openai-realtime", &t.cfg, ulaw8), CCAI_OK);
    sh_say(&t.e, "Cut in the middle of this.", 900);
    expect_fatal(&t, CCAI_ERR_IO, "");
    rt_free(&t);
}

static void test_garbage(void **state)
{
    (void)state;
    rt_env t;
    rt_init(&t, NULL);
    speech_fault f = {.after = 0, .garbage = 1};
    openai_audio_standin_push_fault(t.a, &f);
    assert_int_equal(sh_open(&t.e, "openai-realtime", &t.cfg, ulaw8), CCAI_OK);
    expect_fatal(&t, CCAI_ERR_HTTP, "protocol error");
    rt_free(&t);
}

static void test_malformed_event(void **state)
{
    (void)state;
    rt_env t;
    rt_init(&t, NULL);
    speech_fault f = {.after = 0, .malformed = 1};
    openai_audio_standin_push_fault(t.a, &f);
    openai_audio_standin_say(t.a, "Still working.");
    assert_int_equal(sh_open(&t.e, "openai-realtime", &t.cfg, ulaw8), CCAI_OK);
    sh_say(&t.e, "Still working.", 900);
    assert_true(sh_wait(&t.e, CCAI_STT_FINAL, 1, 5000));
    int err = sh_find(&t.e, CCAI_STT_ERROR, 0);
    assert_true(err >= 0);
    assert_false(t.e.r[err].fatal);
    assert_string_equal(t.e.r[sh_find(&t.e, CCAI_STT_FINAL, 0)].text, "Still working.");
    rt_free(&t);
}

static void test_stall_times_out(void **state)
{
    (void)state;
    rt_env t;
    rt_init(&t, "{\"turn_detection\":null}");
    speech_fault f = {.after = 1, .stall_ms = 5000};
    openai_audio_standin_push_fault(t.a, &f);
    openai_audio_standin_say(t.a, "Never answered.");
    t.cfg.result_timeout_ms = 500;
    assert_int_equal(sh_open(&t.e, "openai-realtime", &t.cfg, ulaw8), CCAI_OK);
    sh_run(&t.e, 300);
    sh_say(&t.e, "Never answered.", 300);
    assert_int_equal(Ccai_stt_end(t.e.s), CCAI_OK);
    expect_fatal(&t, CCAI_ERR_TIMEOUT, "no transcription within 500 ms");
    rt_free(&t);
}

static void test_error_event_is_fatal(void **state)
{
    (void)state;
    rt_env t;
    /* A format the service refuses: its error event ends the stream. */
    rt_init(&t, "{\"format\":{\"type\":\"audio/flac\"}}");
    assert_int_equal(sh_open(&t.e, "openai-realtime", &t.cfg, ulaw8), CCAI_OK);
    expect_fatal(&t, CCAI_ERR_HTTP, "invalid_value");
    rt_free(&t);
}

static void test_parser(void **state)
{
    (void)state;
    Ccai_rt_msg m;
    const char *done = "{\"type\":\"conversation.item.input_audio_transcription.completed\","
                       "\"item_id\":\"item_1\",\"content_index\":0,\"transcript\":\"Hello.\","
                       "\"logprobs\":[{\"token\":\"Hello\",\"logprob\":-0.01},"
                       "{\"token\":\".\",\"logprob\":-0.03}]}";
    assert_int_equal(Ccai_rt_parse(done, strlen(done), &m), CCAI_OK);
    assert_int_equal(m.type, CCAI_RT_COMPLETED);
    assert_string_equal(m.item_id, "item_1");
    assert_string_equal(m.text, "Hello.");
    assert_true(m.confidence > 0.97 && m.confidence < 0.99);
    Ccai_rt_msg_free(&m);
    const char *err = "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\","
                      "\"code\":\"input_audio_buffer_commit_empty\",\"message\":\"x\"}}";
    assert_int_equal(Ccai_rt_parse(err, strlen(err), &m), CCAI_OK);
    assert_int_equal(m.type, CCAI_RT_ERROR);
    assert_string_equal(m.code, "input_audio_buffer_commit_empty");
    Ccai_rt_msg_free(&m);
    const char *bad[] = {"{}", "{\"type\":\"error\",\"error\":3}", "nope",
                         "{\"type\":\"conversation.item.input_audio_transcription.delta\","
                         "\"delta\":5}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(Ccai_rt_parse(bad[i], strlen(bad[i]), &m), CCAI_ERR_PARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parser),
        cmocka_unit_test(test_server_vad_turn_g711),
        cmocka_unit_test(test_commit_on_end_pcm24k),
        cmocka_unit_test(test_cancel_clears),
        cmocka_unit_test(test_wrong_key),
        cmocka_unit_test(test_429_retried),
        cmocka_unit_test(test_429_after_retries),
        cmocka_unit_test(test_slow_first_byte),
        cmocka_unit_test(test_cut_mid_stream),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_malformed_event),
        cmocka_unit_test(test_stall_times_out),
        cmocka_unit_test(test_error_event_is_fatal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
