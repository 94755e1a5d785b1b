/* stt/azure.c (Speech to text REST for short audio, per utterance) against
 * the Azure Speech stand-in (tests/support/azure_speech_standin.h) on
 * loopback, through the real loop: the request (path, language, format,
 * key, WAV at 16 kHz), detailed answers, NoMatch, and the faults (401, 429
 * retried and after retries, a slow first byte, a cut, a malformed
 * answer). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "support/azure_speech_standin.h"
#include "support/stt_harness.h"

static const Ccai_media_format ulaw8 = {CCAI_MEDIA_ULAW, 8000, 1};

typedef struct az_env {
    sh_env e;
    azure_speech_standin *a;
    char endpoint[64];
    Ccai_stt_config cfg;
} az_env;

static void az_init(az_env *t)
{
    sh_init(&t->e);
    azure_speech_standin_opts o = {.stt_latency_ms = 30};
    t->a = azure_speech_standin_start(&o);
    assert_non_null(t->a);
    sh_config(&t->cfg, t->endpoint, sizeof t->endpoint, "http", azure_speech_standin_port(t->a),
              AZURE_SPEECH_STANDIN_KEY, 3000);
    t->cfg.region = "westeurope";
}

static void az_free(az_env *t)
{
    sh_free(&t->e);
    azure_speech_standin_stop(t->a);
}

static void one_utterance(az_env *t, const char *text)
{
    assert_int_equal(sh_open(&t->e, "azure", &t->cfg, ulaw8), CCAI_OK);
    sh_say(&t->e, text, 300);
    assert_int_equal(Ccai_stt_end(t->e.s), CCAI_OK);
}

static void test_detailed_transcript(void **state)
{
    (void)state;
    az_env t;
    az_init(&t);
    azure_speech_standin_say(t.a, "I had an accident on the highway.");
    t.cfg.options = "profanity=raw";
    one_utterance(&t, "I had an accident on the highway.");
    /* 16 kHz PCM whatever the call has. */
    assert_int_equal(t.e.s->in.encoding, CCAI_MEDIA_PCM16);
    assert_int_equal(t.e.s->in.rate, 16000);
    assert_true(sh_wait(&t.e, CCAI_STT_FINAL, 1, 5000));
    sh_result *r = &t.e.r[sh_find(&t.e, CCAI_STT_FINAL, 0)];
    assert_string_equal(r->text, "I had an accident on the highway.");
    assert_true(r->from_end);
    assert_true(r->confidence > 0.9 && r->confidence <= 1.0);
    assert_string_equal(r->lang, "en-US");
    svc *sv = azure_speech_standin_svc(t.a);
    char *target = svc_request_target(sv, 0);
    assert_string_equal(target, "/speech/recognition/conversation/cognitiveservices/v1"
                                "?language=en-US&format=detailed&profanity=raw");
    free(target);
    char *key = svc_request_header(sv, 0, "ocp-apim-subscription-key");
    assert_string_equal(key, AZURE_SPEECH_STANDIN_KEY);
    free(key);
    char *ct = svc_request_header(sv, 0, "content-type");
    assert_string_equal(ct, "audio/wav; codecs=audio/pcm; samplerate=16000");
    free(ct);
    az_free(&t);
}

static void test_no_match_is_empty(void **state)
{
    (void)state;
    az_env t;
    az_init(&t);
    one_utterance(&t, "");
    assert_true(sh_wait(&t.e, CCAI_STT_FINAL, 1, 4000));
    assert_string_equal(t.e.r[sh_find(&t.e, CCAI_STT_FINAL, 0)].text, "");
    assert_int_equal(svc_request_count(azure_speech_standin_svc(t.a)), 1);
    assert_int_equal(sh_count(&t.e, CCAI_STT_ERROR), 0);
    az_free(&t);
}

static void test_wrong_key_fatal(void **state)
{
    (void)state;
    az_env t;
    az_init(&t);
    t.cfg.api_key = "bad";
    one_utterance(&t, "Hello.");
    sh_expect_error(&t.e, CCAI_ERR_HTTP, true, "HTTP 401: Access denied");
    az_free(&t);
}

static void test_429_retried(void **state)
{
    (void)state;
    az_env t;
    az_init(&t);
    speech_fault f = {.status = 429};
    azure_speech_standin_push_fault(t.a, &f);
    azure_speech_standin_push_fault(t.a, &f);
    azure_speech_standin_say(t.a, "Third time lucky.");
    one_utterance(&t, "Third time lucky.");
    assert_true(sh_wait(&t.e, CCAI_STT_FINAL, 1, 8000));
    assert_string_equal(t.e.r[sh_find(&t.e, CCAI_STT_FINAL, 0)].text, "Third time lucky.");
    assert_int_equal(svc_request_count(azure_speech_standin_svc(t.a)), 3);
    az_free(&t);
}

static void test_429_after_retries_fatal(void **state)
{
    (void)state;
    az_env t;
    az_init(&t);
    speech_fault f = {.status = 429};
    for (int i = 0; i < 3; i++)
        azure_speech_standin_push_fault(t.a, &f);
    one_utterance(&t, "Never.");
    sh_expect_error(&t.e, CCAI_ERR_HTTP, true, "HTTP 429 (after retries)");
    az_free(&t);
}

static void test_slow_first_byte(void **state)
{
    (void)state;
    az_env t;
    az_init(&t);
    speech_fault f = {.delay_ms = 4000};
    azure_speech_standin_push_fault(t.a, &f);
    t.cfg.result_timeout_ms = 600;
    one_utterance(&t, "Slow.");
    sh_expect_error(&t.e, CCAI_ERR_TIMEOUT, true, "");
    az_free(&t);
}

static void test_cut(void **state)
{
    (void)state;
    az_env t;
    az_init(&t);
    speech_fault f = {.cut = 1};
    azure_speech_standin_push_fault(t.a, &f);
    azure_speech_standin_say(t.a, "Cut.");
    one_utterance(&t, "Cut.");
    sh_expect_error(&t.e, CCAI_ERR_HTTP, true, "azure: http:");
    az_free(&t);
}

static void test_malformed_not_fatal(void **state)
{
    (void)state;
    az_env t;
    az_init(&t);
    speech_fault f = {.malformed = 1};
    azure_speech_standin_push_fault(t.a, &f);
    azure_speech_standin_say(t.a, "Half an answer.");
    one_utterance(&t, "Half an answer.");
    sh_expect_error(&t.e, CCAI_ERR_PARSE, false, "unreadable answer");
    az_free(&t);
}

static void test_config(void **state)
{
    (void)state;
    az_env t;
    az_init(&t);
    t.cfg.endpoint = NULL;
    t.cfg.region = NULL;
    assert_int_equal(sh_open(&t.e, "azure", &t.cfg, ulaw8), CCAI_ERR_CONFIG);
    assert_non_null(strstr(ccai_ctx_errmsg(t.e.ctx), "region"));
    az_free(&t);
}

static void test_parser(void **state)
{
    (void)state;
    Ccai_az_answer a;
    const char *det = "{\"RecognitionStatus\":\"Success\",\"Offset\":500000,\"Duration\":"
                      "21000000,\"DisplayText\":\"Hi.\",\"NBest\":[{\"Confidence\":0.81,"
                      "\"Lexical\":\"hi\",\"ITN\":\"hi\",\"MaskedITN\":\"hi\",\"Display\":"
                      "\"Hi there.\"}]}";
    assert_int_equal(Ccai_az_parse(det, strlen(det), &a), CCAI_OK);
    assert_string_equal(a.status, "Success");
    assert_string_equal(a.text, "Hi there.");
    assert_int_equal(a.duration_ms, 2100);
    assert_true(a.confidence > 0.8 && a.confidence < 0.82);
    Ccai_az_answer_free(&a);
    const char *bad[] = {"{}", "{\"RecognitionStatus\":1}", "{\"NBest\":{}}", "{\"Recog"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(Ccai_az_parse(bad[i], strlen(bad[i]), &a), CCAI_ERR_PARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parser),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_detailed_transcript),
        cmocka_unit_test(test_no_match_is_empty),
        cmocka_unit_test(test_wrong_key_fatal),
        cmocka_unit_test(test_429_retried),
        cmocka_unit_test(test_429_after_retries_fatal),
        cmocka_unit_test(test_slow_first_byte),
        cmocka_unit_test(test_cut),
        cmocka_unit_test(test_malformed_not_fatal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
