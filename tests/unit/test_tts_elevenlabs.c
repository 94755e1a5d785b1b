/* tts/elevenlabs.c against the ElevenLabs stand-in on loopback through a
 * real context and its poll loop: the call's format as output_format
 * (ulaw_8000, pcm_16000), streamed in order; voice settings and language
 * code in the body; cancel; the service's faults and error bodies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "support/elevenlabs_standin.h"
#include "support/standin_audio.h"
#include "support/tts_harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const Ccai_media_format ULAW8 = {CCAI_MEDIA_ULAW, 8000, 1};
static const Ccai_media_format PCM16K = {CCAI_MEDIA_PCM16, 16000, 1};

typedef struct fx {
    elevenlabs_standin *el;
    char endpoint[64];
    Ccai_tts_config cfg;
    th h;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    elevenlabs_standin_opts o = {.ttfb_ms = 80, .chunk_ms = 30};
    f->el = elevenlabs_standin_start(&o);
    assert_non_null(f->el);
    th_setup(&f->h, &f->cfg, f->endpoint, sizeof f->endpoint, elevenlabs_standin_port(f->el), "/",
             ELEVENLABS_STANDIN_KEY);
    f->cfg.voice = ELEVENLABS_STANDIN_VOICE;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    th_free(&f->h);
    elevenlabs_standin_stop(f->el);
    free(f);
    return 0;
}

static const char *const HELLO =
    "Hello, this is your insurance assistant. How can I help you today?";

static void test_ulaw_streams_in_order(void **state)
{
    fx *f = *state;
    f->cfg.options = "{\"voice_settings\":{\"stability\":0.5,\"similarity_boost\":0.75},"
                     "\"optimize_streaming_latency\":2,\"enable_logging\":false,"
                     "\"apply_text_normalization\":\"on\"}";
    assert_int_equal(th_open(&f->h, &Ccai_tts_elevenlabs, &f->cfg, ULAW8), CCAI_OK);
    assert_int_equal(f->h.t->out.encoding, CCAI_MEDIA_ULAW);
    assert_int_equal(f->h.t->out.rate, 8000);
    uint32_t a = th_say(&f->h, HELLO);
    Ccai_tts_text t = {.text = "Bonjour, je vous écoute.", .lang = "fr-FR", .rate = 1.1};
    uint32_t b;
    assert_int_equal(th_say_text(&f->h, &t, &b), CCAI_OK);
    th_run_dones(&f->h, 2, 10000);
    assert_int_equal(f->h.done_order[0], a);
    assert_int_equal(f->h.done_order[1], b);
    th_sentence *s = th_get(&f->h, a);
    th_check_audio(s, HELLO, 8000, 1.0, SA_ULAW);
    assert_true(s->chunks >= 3);
    assert_int_equal(s->in_flight_first, 1);
    th_check_audio(th_get(&f->h, b), t.text, 8000, 1.0, SA_ULAW);
    assert_true(th_get(&f->h, b)->first_at >= s->done_at);
}

static void test_pcm16(void **state)
{
    fx *f = *state;
    assert_int_equal(th_open(&f->h, &Ccai_tts_elevenlabs, &f->cfg, PCM16K), CCAI_OK);
    assert_int_equal(f->h.t->out.encoding, CCAI_MEDIA_PCM16);
    assert_int_equal(f->h.t->out.rate, 16000);
    uint32_t a = th_say(&f->h, "Your claim is open.");
    th_run_dones(&f->h, 1, 10000);
    th_check_audio(th_get(&f->h, a), "Your claim is open.", 16000, 1.0, SA_PCM16);
}

static void test_cancel(void **state)
{
    fx *f = *state;
    assert_int_equal(th_open(&f->h, &Ccai_tts_elevenlabs, &f->cfg, ULAW8), CCAI_OK);
    uint32_t a = th_say(&f->h, HELLO);
    uint32_t b = th_say(&f->h, "Never heard.");
    f->h.cancel_id = a;
    f->h.cancel_at = 800;
    th_run_dones(&f->h, 2, 10000);
    assert_int_equal(f->h.done_order[0], a);
    assert_int_equal(th_get(&f->h, a)->st, CCAI_ERR_CANCELLED);
    assert_int_equal(th_get(&f->h, b)->st, CCAI_ERR_CANCELLED);
    assert_int_equal(Ccai_http_in_flight(f->h.ctx), 0);
    int calls = f->h.callbacks;
    th_run_for(&f->h, 1000);
    assert_int_equal(f->h.callbacks, calls);
}

static void test_faults(void **state)
{
    fx *f = *state;
    f->cfg.first_byte_timeout_ms = 2500;
    assert_int_equal(th_open(&f->h, &Ccai_tts_elevenlabs, &f->cfg, ULAW8), CCAI_OK);
    speech_fault busy = {.status = 429, .retry_after = 1};
    speech_fault cut = {.after = 4, .cut = 1};
    speech_fault junk = {.after = 1, .garbage = 1};
    /* A fault is taken by the next request: the retry is one. */
    elevenlabs_standin_push_fault(f->el, &busy);
    uint32_t a = th_say(&f->h, "After a wait.");
    th_run_dones(&f->h, 1, 10000);
    elevenlabs_standin_push_fault(f->el, &cut);
    elevenlabs_standin_push_fault(f->el, &junk);
    uint32_t b = th_say(&f->h, HELLO);
    uint32_t c = th_say(&f->h, HELLO);
    th_run_dones(&f->h, 3, 15000);
    th_sentence *s = th_get(&f->h, a);
    th_check_audio(s, "After a wait.", 8000, 1.0, SA_ULAW);
    assert_true(s->first_at - s->said_at >= 1000);
    s = th_get(&f->h, b);
    assert_int_equal(s->st, CCAI_ERR_HTTP);
    assert_false(s->fatal);
    assert_int_equal(s->audio_ms, 400);
    s = th_get(&f->h, c);
    assert_int_equal(s->st, CCAI_ERR_HTTP);
    assert_false(s->fatal);
    assert_int_equal(s->audio_ms, 100);

    speech_fault slow = {.delay_ms = 5000};
    elevenlabs_standin_push_fault(f->el, &slow);
    uint32_t d = th_say(&f->h, "Slow.");
    th_run_dones(&f->h, 4, 5000);
    s = th_get(&f->h, d);
    assert_int_equal(s->st, CCAI_ERR_TIMEOUT);
    assert_true(s->fatal);
    assert_int_equal(Ccai_http_in_flight(f->h.ctx), 0);
}

static void test_401_and_unknown_voice(void **state)
{
    fx *f = *state;
    f->cfg.api_key = "sk_not_the_right_one_000";
    assert_int_equal(th_open(&f->h, &Ccai_tts_elevenlabs, &f->cfg, ULAW8), CCAI_OK);
    uint32_t a = th_say(&f->h, "Hi.");
    th_run_dones(&f->h, 1, 5000);
    th_sentence *s = th_get(&f->h, a);
    assert_true(s->fatal);
    assert_non_null(strstr(s->err, "HTTP 401: Invalid API key"));
    assert_null(strstr(s->err, "sk_not_the_right_one"));

    th h2;
    th_init(&h2);
    f->cfg.api_key = ELEVENLABS_STANDIN_KEY;
    assert_int_equal(th_open(&h2, &Ccai_tts_elevenlabs, &f->cfg, ULAW8), CCAI_OK);
    Ccai_tts_text t = {.text = "Hi.", .voice = "no/such voice", .rate = 1};
    assert_int_equal(th_say_text(&h2, &t, &a), CCAI_OK);
    th_run_dones(&h2, 1, 5000);
    s = th_get(&h2, a);
    assert_true(s->fatal);
    assert_non_null(strstr(s->err, "HTTP 404"));
    assert_non_null(strstr(s->err, "was not found"));
    th_free(&h2);
}

static void test_config(void **state)
{
    fx *f = *state;
    static const char *const bad[] = {
        "{\"voice_settings\":3}",      "{\"optimize_streaming_latency\":9}",
        "{\"enable_logging\":\"no\"}", "{\"apply_text_normalization\":\"maybe\"}",
        "{\"stability\":0.5}",         "not json",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        f->cfg.options = bad[i];
        assert_int_equal(th_open(&f->h, &Ccai_tts_elevenlabs, &f->cfg, ULAW8), CCAI_ERR_CONFIG);
    }
    f->cfg.options = NULL;
    assert_true(Ccai_tts_elevenlabs.speaks(&f->cfg, "fr-FR"));
    assert_true(Ccai_tts_elevenlabs.speaks(&f->cfg, "VI"));
    assert_false(Ccai_tts_elevenlabs.speaks(&f->cfg, "xx-YY"));
    f->cfg.model = "eleven_flash_v2";
    assert_false(Ccai_tts_elevenlabs.speaks(&f->cfg, "fr-FR"));
    assert_true(Ccai_tts_elevenlabs.speaks(&f->cfg, "en-GB"));
    assert_ptr_equal(Ccai_tts_provider_find("elevenlabs"), &Ccai_tts_elevenlabs);
    assert_null(Ccai_tts_provider_find("nope"));
}

static void test_error_bodies(void **state)
{
    (void)state;
    char out[160];
    const char *j = "{\"detail\":{\"status\":\"invalid_api_key\",\"message\":\"Invalid API key\"}}";
    Ccai_tts_elevenlabs_error(j, strlen(j), out, sizeof out);
    assert_string_equal(out, "Invalid API key");
    j = "{\"detail\":[{\"type\":\"missing\",\"loc\":[\"body\",\"text\"],\"msg\":\"Field "
        "required\"}]}";
    Ccai_tts_elevenlabs_error(j, strlen(j), out, sizeof out);
    assert_string_equal(out, "Field required");
    j = "{\"detail\":\"Not Found\"}";
    Ccai_tts_elevenlabs_error(j, strlen(j), out, sizeof out);
    assert_string_equal(out, "Not Found");
    j = "{\"detail\":{\"status\":\"quota_exceeded\"}}";
    Ccai_tts_elevenlabs_error(j, strlen(j), out, sizeof out);
    assert_string_equal(out, "quota_exceeded");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ulaw_streams_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pcm16, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_faults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_401_and_unknown_voice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config, setup, teardown),
        cmocka_unit_test(test_error_bodies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
