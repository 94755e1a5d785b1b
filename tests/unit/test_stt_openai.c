/* stt/openai.c (/v1/audio/transcriptions per utterance) against the OpenAI
 * audio stand-in (tests/support/openai_audio_standin.h) on loopback,
 * through the real loop: the multipart upload, transcripts of speech made
 * at test time, the hints as prompt, and the faults (401, 429 retried and
 * after retries, a slow first byte, a dropped connection, a malformed
 * answer). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "support/openai_audio_standin.h"
#include "support/stt_harness.h"

static const Ccai_media_format ulaw8 = {CCAI_MEDIA_ULAW, 8000, 1};
static const Ccai_media_format pcm16k = {CCAI_MEDIA_PCM16, 16000, 1};

typedef struct oa_env {
    sh_env e;
    openai_audio_standin *a;
    char endpoint[64];
    Ccai_stt_config cfg;
} oa_env;

static void oa_init(oa_env *t)
{
    sh_init(&t->e);
    openai_audio_standin_opts o = {.stt_latency_ms = 30};
    t->a = openai_audio_standin_start(&o);
    assert_non_null(t->a);
    sh_config(&t->cfg, t->endpoint, sizeof t->endpoint, "http", openai_audio_standin_port(t->a),
              OPENAI_AUDIO_STANDIN_KEY, 3000);
    t->cfg.model = "whisper-1";
}

static void oa_free(oa_env *t)
{
    sh_free(&t->e);
    openai_audio_standin_stop(t->a);
}

static void test_transcript_per_utterance(void **state)
{
    (void)state;
    oa_env t;
    oa_init(&t);
    openai_audio_standin_say(t.a, "My name is Anna Schmidt.");
    openai_audio_standin_say(t.a, "Yes.");
    t.cfg.options = "temperature=0";
    assert_int_equal(sh_open(&t.e, "openai", &t.cfg, pcm16k), CCAI_OK);
    assert_int_equal(t.e.s->in.encoding, CCAI_MEDIA_PCM16);
    assert_int_equal(t.e.s->in.rate, 16000);
    const char *hints[] = {"Schmidt", NULL};
    Ccai_stt_expect ex = {.kind = CCAI_STT_FREE, .hints = hints};
    assert_int_equal(Ccai_stt_expect_next(t.e.s, &ex), CCAI_OK);
    sh_say(&t.e, "My name is Anna Schmidt.", 300);
    assert_int_equal(Ccai_stt_end(t.e.s), CCAI_OK);
    /* The next utterance is fed while the first is in flight. */
    sh_say(&t.e, "Yes.", 300);
    assert_int_equal(Ccai_stt_end(t.e.s), CCAI_OK);
    assert_true(sh_wait(&t.e, CCAI_STT_FINAL, 2, 5000));
    int f1 = sh_find(&t.e, CCAI_STT_FINAL, 0);
    int f2 = sh_find(&t.e, CCAI_STT_FINAL, f1 + 1);
    assert_string_equal(t.e.r[f1].text, "My name is Anna Schmidt.");
    assert_string_equal(t.e.r[f2].text, "Yes.");
    assert_true(t.e.r[f1].from_end && t.e.r[f2].from_end);
    assert_int_equal(sh_count(&t.e, CCAI_STT_ERROR), 0);
    /* The upload: a WAV file part and the fields. */
    svc *sv = openai_audio_standin_svc(t.a);
    size_t len = 0;
    char *body = svc_request_body(sv, 0, &len);
    assert_non_null(body);
    assert_non_null(memmem(body, len, "filename=\"turn.wav\"", strlen("filename=\"turn.wav\"")));
    assert_non_null(memmem(body, len, "RIFF", strlen("RIFF")));
    assert_non_null(memmem(body, len, "name=\"model\"\r\n\r\nwhisper-1",
                           strlen("name=\"model\"\r\n\r\nwhisper-1")));
    assert_non_null(memmem(body, len, "name=\"language\"\r\n\r\nen\r\n",
                           strlen("name=\"language\"\r\n\r\nen\r\n")));
    assert_non_null(memmem(body, len, "name=\"prompt\"\r\n\r\nSchmidt\r\n",
                           strlen("name=\"prompt\"\r\n\r\nSchmidt\r\n")));
    assert_non_null(memmem(body, len, "name=\"temperature\"\r\n\r\n0\r\n",
                           strlen("name=\"temperature\"\r\n\r\n0\r\n")));
    free(body);
    char *auth = svc_request_header(sv, 0, "authorization");
    assert_string_equal(auth, "Bearer " OPENAI_AUDIO_STANDIN_KEY);
    free(auth);
    oa_free(&t);
}

static void test_no_audio_and_silence(void **state)
{
    (void)state;
    oa_env t;
    oa_init(&t);
    assert_int_equal(sh_open(&t.e, "openai", &t.cfg, ulaw8), CCAI_OK);
    assert_int_equal(t.e.s->in.rate, 8000);
    /* No audio: an empty FINAL without a request. */
    assert_int_equal(Ccai_stt_end(t.e.s), CCAI_OK);
    assert_true(sh_wait(&t.e, CCAI_STT_FINAL, 1, 2000));
    assert_string_equal(t.e.r[0].text, "");
    assert_int_equal(svc_request_count(openai_audio_standin_svc(t.a)), 0);
    /* Silence: the service hears nothing. */
    sh_say(&t.e, "", 800);
    assert_int_equal(Ccai_stt_end(t.e.s), CCAI_OK);
    assert_true(sh_wait(&t.e, CCAI_STT_FINAL, 2, 3000));
    assert_string_equal(t.e.r[sh_find(&t.e, CCAI_STT_FINAL, 1)].text, "");
    /* cancel(): the utterance is dropped, nothing goes out for it. */
    sh_say(&t.e, "cough", 200);
    Ccai_stt_cancel(t.e.s);
    assert_int_equal(Ccai_stt_end(t.e.s), CCAI_OK);
    assert_true(sh_wait(&t.e, CCAI_STT_FINAL, 3, 2000));
    assert_int_equal(svc_request_count(openai_audio_standin_svc(t.a)), 1);
    oa_free(&t);
}

static void one_utterance(oa_env *t)
{
    assert_int_equal(sh_open(&t->e, "openai", &t->cfg, pcm16k), CCAI_OK);
    sh_say(&t->e, "Some words here.", 300);
    assert_int_equal(Ccai_stt_end(t->e.s), CCAI_OK);
}

static void test_wrong_key_fatal(void **state)
{
    (void)state;
    oa_env t;
    oa_init(&t);
    t.cfg.api_key = "sk-nope";
    one_utterance(&t);
    sh_expect_error(&t.e, CCAI_ERR_HTTP, true, "HTTP 401");
    assert_int_equal(Ccai_stt_feed(t.e.s, (const uint8_t *)"\0\0", 2), CCAI_ERR_STATE);
    oa_free(&t);
}

static void test_429_retried(void **state)
{
    (void)state;
    oa_env t;
    oa_init(&t);
    speech_fault f = {.status = 429, .retry_after = 1};
    openai_audio_standin_push_fault(t.a, &f);
    openai_audio_standin_say(t.a, "Some words here.");
    one_utterance(&t);
    assert_true(sh_wait(&t.e, CCAI_STT_FINAL, 1, 6000));
    assert_string_equal(t.e.r[sh_find(&t.e, CCAI_STT_FINAL, 0)].text, "Some words here.");
    assert_int_equal(sh_count(&t.e, CCAI_STT_ERROR), 0);
    assert_int_equal(svc_request_count(openai_audio_standin_svc(t.a)), 2);
    oa_free(&t);
}

static void test_429_after_retries_fatal(void **state)
{
    (void)state;
    oa_env t;
    oa_init(&t);
    speech_fault f = {.status = 429};
    for (int i = 0; i < 3; i++)
        openai_audio_standin_push_fault(t.a, &f);
    one_utterance(&t);
    t.e.close_on_fatal = true;
    sh_expect_error(&t.e, CCAI_ERR_HTTP, true, "HTTP 429 (after retries)");
    oa_free(&t);
}

static void test_slow_first_byte_times_out(void **state)
{
    (void)state;
    oa_env t;
    oa_init(&t);
    speech_fault f = {.delay_ms = 4000};
    openai_audio_standin_push_fault(t.a, &f);
    t.cfg.result_timeout_ms = 600;
    one_utterance(&t);
    sh_expect_error(&t.e, CCAI_ERR_TIMEOUT, true, "");
    oa_free(&t);
}

static void test_dropped_connection(void **state)
{
    (void)state;
    oa_env t;
    oa_init(&t);
    speech_fault f = {.drop = 1};
    openai_audio_standin_push_fault(t.a, &f);
    one_utterance(&t);
    sh_expect_error(&t.e, CCAI_ERR_HTTP, true, "openai: http:");
    oa_free(&t);
}

static void test_malformed_answer(void **state)
{
    (void)state;
    oa_env t;
    oa_init(&t);
    speech_fault f = {.malformed = 1};
    openai_audio_standin_push_fault(t.a, &f);
    openai_audio_standin_say(t.a, "Some words here.");
    openai_audio_standin_say(t.a, "Then this.");
    one_utterance(&t);
    sh_expect_error(&t.e, CCAI_ERR_PARSE, false, "unreadable answer");
    /* The stream goes on. */
    sh_say(&t.e, "Then this.", 300);
    assert_int_equal(Ccai_stt_end(t.e.s), CCAI_OK);
    assert_true(sh_wait(&t.e, CCAI_STT_FINAL, 1, 4000));
    assert_string_equal(t.e.r[sh_find(&t.e, CCAI_STT_FINAL, 0)].text, "Then this.");
    oa_free(&t);
}

static void test_parser(void **state)
{
    (void)state;
    Ccai_oa_answer a;
    const char *ok = "{\"text\":\"Hello.\",\"usage\":{\"type\":\"tokens\",\"input_tokens\":1}}";
    assert_int_equal(Ccai_oa_parse(ok, strlen(ok), &a), CCAI_OK);
    assert_string_equal(a.text, "Hello.");
    Ccai_oa_answer_free(&a);
    const char *err = "{\"error\":{\"message\":\"Invalid file format.\",\"type\":"
                      "\"invalid_request_error\",\"param\":null,\"code\":null}}";
    assert_int_equal(Ccai_oa_parse(err, strlen(err), &a), CCAI_OK);
    assert_null(a.text);
    assert_string_equal(a.error, "Invalid file format.");
    Ccai_oa_answer_free(&a);
    const char *bad[] = {"{}", "{\"text\":3}", "[\"text\"]", "{\"text\":\"a\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(Ccai_oa_parse(bad[i], strlen(bad[i]), &a), CCAI_ERR_PARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parser),
        cmocka_unit_test(test_transcript_per_utterance),
        cmocka_unit_test(test_no_audio_and_silence),
        cmocka_unit_test(test_wrong_key_fatal),
        cmocka_unit_test(test_429_retried),
        cmocka_unit_test(test_429_after_retries_fatal),
        cmocka_unit_test(test_slow_first_byte_times_out),
        cmocka_unit_test(test_dropped_connection),
        cmocka_unit_test(test_malformed_answer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
