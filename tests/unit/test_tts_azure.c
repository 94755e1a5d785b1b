/* tts/azure.c (and the engine it shares, tts/cloud.c) against the Azure
 * Speech stand-in on loopback, through a real context and its poll loop:
 * the audio in the call's format and amount, streamed, sentences in
 * order, cancel, and the service's faults each ending in the right done. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "support/azure_speech_standin.h"
#include "support/standin_audio.h"
#include "support/tts_harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const Ccai_media_format ULAW8 = {CCAI_MEDIA_ULAW, 8000, 1};
static const Ccai_media_format PCM16K = {CCAI_MEDIA_PCM16, 16000, 1};
static const Ccai_media_format PCM24K = {CCAI_MEDIA_PCM16, 24000, 1};

typedef struct fx {
    azure_speech_standin *az;
    char endpoint[64];
    Ccai_tts_config cfg;
    th h;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    azure_speech_standin_opts o = {.tts_ttfb_ms = 100, .tts_chunk_ms = 40};
    f->az = azure_speech_standin_start(&o);
    assert_non_null(f->az);
    th_setup(&f->h, &f->cfg, f->endpoint, sizeof f->endpoint, azure_speech_standin_port(f->az), "",
             AZURE_SPEECH_STANDIN_KEY);
    f->cfg.voice = "en-US-AvaMultilingualNeural";
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    th_free(&f->h);
    azure_speech_standin_stop(f->az);
    free(f);
    return 0;
}

/* The audio as the service makes it, the first byte timed. */
static void check_audio(const th_sentence *s, const char *text, int rate, sa_enc enc)
{
    th_check_audio(s, text, rate, 1.0, enc);
    assert_true(s->first_byte_ms > 0);
}

static const char *const HELLO =
    "Hello, this is your insurance assistant. How can I help you today?";

static void test_ulaw_streams(void **state)
{
    fx *f = *state;
    assert_int_equal(th_open(&f->h, &Ccai_tts_azure, &f->cfg, ULAW8), CCAI_OK);
    assert_int_equal(f->h.t->out.encoding, CCAI_MEDIA_ULAW);
    assert_int_equal(f->h.t->out.rate, 8000);
    uint32_t id = th_say(&f->h, HELLO);
    th_run_dones(&f->h, 1, 10000);
    th_sentence *s = th_get(&f->h, id);
    check_audio(s, HELLO, 8000, SA_ULAW);
    /* Streamed: several pieces, the first while the request was running. */
    assert_true(s->chunks >= 3);
    assert_int_equal(s->in_flight_first, 1);
    assert_true(s->first_at < s->done_at);
    assert_int_equal(Ccai_http_in_flight(f->h.ctx), 0);
}

static void test_pcm_formats(void **state)
{
    fx *f = *state;
    assert_int_equal(th_open(&f->h, &Ccai_tts_azure, &f->cfg, PCM16K), CCAI_OK);
    assert_int_equal(f->h.t->out.encoding, CCAI_MEDIA_PCM16);
    assert_int_equal(f->h.t->out.rate, 16000);
    uint32_t id = th_say(&f->h, "Your claim number is ready.");
    th_run_dones(&f->h, 1, 10000);
    check_audio(th_get(&f->h, id), "Your claim number is ready.", 16000, SA_PCM16);
    Ccai_tts_close(f->h.t);

    /* A call at 24 kHz, and one at 48 kHz in G.711 (no such Azure
     * format): PCM16 at the call's rate. */
    th h2;
    th_init(&h2);
    assert_int_equal(th_open(&h2, &Ccai_tts_azure, &f->cfg, PCM24K), CCAI_OK);
    assert_int_equal(h2.t->out.rate, 24000);
    id = th_say(&h2, "Thank you.");
    th_run_dones(&h2, 1, 10000);
    check_audio(th_get(&h2, id), "Thank you.", 24000, SA_PCM16);
    th_free(&h2);
    f->h.closed = true;

    th h3;
    th_init(&h3);
    Ccai_media_format odd = {CCAI_MEDIA_ULAW, 48000, 1};
    assert_int_equal(th_open(&h3, &Ccai_tts_azure, &f->cfg, odd), CCAI_OK);
    assert_int_equal(h3.t->out.encoding, CCAI_MEDIA_PCM16);
    assert_int_equal(h3.t->out.rate, 48000);
    th_free(&h3);
}

static void test_queue_order(void **state)
{
    fx *f = *state;
    assert_int_equal(th_open(&f->h, &Ccai_tts_azure, &f->cfg, ULAW8), CCAI_OK);
    static const char *const texts[] = {"First sentence.", "The second one is a little longer.",
                                        "Third."};
    uint32_t ids[3];
    for (int i = 0; i < 3; i++)
        ids[i] = th_say(&f->h, texts[i]);
    assert_true(ids[0] < ids[1] && ids[1] < ids[2]);
    th_run_dones(&f->h, 3, 20000);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(f->h.done_order[i], ids[i]);
        check_audio(th_get(&f->h, ids[i]), texts[i], 8000, SA_ULAW);
    }
    /* One request at a time: a sentence's audio starts after the one
     * before ended. */
    assert_true(th_get(&f->h, ids[1])->first_at >= th_get(&f->h, ids[0])->done_at);
    assert_true(th_get(&f->h, ids[2])->first_at >= th_get(&f->h, ids[1])->done_at);
}

static void test_cancel_mid_sentence(void **state)
{
    fx *f = *state;
    assert_int_equal(th_open(&f->h, &Ccai_tts_azure, &f->cfg, ULAW8), CCAI_OK);
    uint32_t a = th_say(&f->h, HELLO);
    uint32_t b = th_say(&f->h, "This is never heard.");
    uint32_t c = th_say(&f->h, "Nor this.");
    f->h.cancel_id = a;
    f->h.cancel_at = 1600; /* 200 ms in */
    th_run_dones(&f->h, 3, 10000);
    /* All three ended inside cancel(), in order, as cancelled. */
    assert_int_equal(f->h.done_order[0], a);
    assert_int_equal(f->h.done_order[1], b);
    assert_int_equal(f->h.done_order[2], c);
    th_sentence *s = th_get(&f->h, a);
    assert_int_equal(s->st, CCAI_ERR_CANCELLED);
    assert_false(s->fatal);
    assert_true(s->len >= 1600);
    assert_int_equal(s->audio_ms, s->len / 8);
    assert_int_equal(th_get(&f->h, b)->st, CCAI_ERR_CANCELLED);
    assert_int_equal(th_get(&f->h, c)->st, CCAI_ERR_CANCELLED);
    assert_int_equal(th_get(&f->h, b)->len, 0);
    /* The request is gone and nothing follows. */
    assert_int_equal(Ccai_http_in_flight(f->h.ctx), 0);
    int calls = f->h.callbacks;
    th_run_for(&f->h, 1500);
    assert_int_equal(f->h.callbacks, calls);
    assert_int_equal(s->audio_after_done, 0);

    /* The stream goes on after a cancel. */
    uint32_t d = th_say(&f->h, "Back again.");
    th_run_dones(&f->h, 4, 10000);
    check_audio(th_get(&f->h, d), "Back again.", 8000, SA_ULAW);
}

static void test_close_in_done(void **state)
{
    fx *f = *state;
    assert_int_equal(th_open(&f->h, &Ccai_tts_azure, &f->cfg, ULAW8), CCAI_OK);
    th_say(&f->h, "One.");
    th_say(&f->h, "Two.");
    f->h.close_in_done = true;
    th_run_dones(&f->h, 1, 10000);
    th_run_for(&f->h, 1000);
    assert_int_equal(f->h.n_done, 1); /* no callback after close */
    assert_int_equal(Ccai_http_in_flight(f->h.ctx), 0);
}

static void test_slow_first_byte(void **state)
{
    fx *f = *state;
    f->cfg.first_byte_timeout_ms = 600;
    assert_int_equal(th_open(&f->h, &Ccai_tts_azure, &f->cfg, ULAW8), CCAI_OK);
    speech_fault slow = {.delay_ms = 4000};
    azure_speech_standin_push_fault(f->az, &slow);
    uint32_t a = th_say(&f->h, HELLO);
    uint32_t b = th_say(&f->h, "Queued behind it.");
    th_run_dones(&f->h, 2, 3000);
    th_sentence *s = th_get(&f->h, a);
    assert_int_equal(s->st, CCAI_ERR_TIMEOUT);
    assert_true(s->fatal);
    assert_non_null(strstr(s->err, "no audio within 600 ms"));
    assert_true(s->done_at - s->said_at >= 600);
    assert_int_equal(s->len, 0);
    assert_int_equal(s->first_byte_ms, 0);
    /* The queue follows it to the fallback; the stream takes no more. */
    assert_true(th_get(&f->h, b)->fatal);
    assert_int_not_equal(th_get(&f->h, b)->st, CCAI_OK);
    uint32_t id;
    Ccai_tts_text t = {.text = "More.", .rate = 1};
    assert_int_equal(Ccai_tts_say(f->h.t, &t, &id), CCAI_ERR_STATE);
    assert_int_equal(Ccai_http_in_flight(f->h.ctx), 0);
}

static void test_429_then_success(void **state)
{
    fx *f = *state;
    assert_int_equal(th_open(&f->h, &Ccai_tts_azure, &f->cfg, ULAW8), CCAI_OK);
    speech_fault busy = {.status = 429, .retry_after = 1};
    azure_speech_standin_push_fault(f->az, &busy);
    uint32_t a = th_say(&f->h, "After a short wait.");
    th_run_dones(&f->h, 1, 10000);
    th_sentence *s = th_get(&f->h, a);
    check_audio(s, "After a short wait.", 8000, SA_ULAW);
    /* Retry-After: 1 was honoured. */
    assert_true(s->first_at - s->said_at >= 1000);
    const Ccai_tts_cloud *c = (const Ccai_tts_cloud *)f->h.t;
    assert_int_equal(c->stats.retries, 1);
    assert_int_equal(c->stats.requests, 2);
}

static void test_5xx_exhausted(void **state)
{
    fx *f = *state;
    assert_int_equal(th_open(&f->h, &Ccai_tts_azure, &f->cfg, ULAW8), CCAI_OK);
    speech_fault down = {.status = 503};
    for (int i = 0; i < CCAI_TTS_ATTEMPTS; i++)
        azure_speech_standin_push_fault(f->az, &down);
    uint32_t a = th_say(&f->h, "Nobody hears this.");
    th_run_dones(&f->h, 1, 10000);
    th_sentence *s = th_get(&f->h, a);
    assert_int_equal(s->st, CCAI_ERR_HTTP);
    assert_true(s->fatal);
    assert_non_null(strstr(s->err, "HTTP 503"));
    assert_non_null(strstr(s->err, "temporarily unavailable"));
    assert_non_null(strstr(s->err, "after 3 attempts"));
    assert_int_equal(azure_speech_standin_pending(f->az), 0);
}

static void test_retry_after_too_long(void **state)
{
    fx *f = *state;
    assert_int_equal(th_open(&f->h, &Ccai_tts_azure, &f->cfg, ULAW8), CCAI_OK);
    speech_fault busy = {.status = 429, .retry_after = 30};
    azure_speech_standin_push_fault(f->az, &busy);
    uint32_t a = th_say(&f->h, "Not now.");
    th_run_dones(&f->h, 1, 3000); /* not after 30 s */
    th_sentence *s = th_get(&f->h, a);
    assert_int_equal(s->st, CCAI_ERR_HTTP);
    assert_true(s->fatal);
    assert_non_null(strstr(s->err, "HTTP 429"));
    assert_non_null(strstr(s->err, "asked to wait 30000 ms"));
}

static void test_401(void **state)
{
    fx *f = *state;
    f->cfg.api_key = "ffffffffffffffffffffffffffffffff";
    assert_int_equal(th_open(&f->h, &Ccai_tts_azure, &f->cfg, ULAW8), CCAI_OK);
    uint32_t a = th_say(&f->h, "Hello.");
    th_run_dones(&f->h, 1, 5000);
    th_sentence *s = th_get(&f->h, a);
    assert_int_equal(s->st, CCAI_ERR_HTTP);
    assert_true(s->fatal);
    assert_non_null(strstr(s->err, "HTTP 401"));
    assert_non_null(strstr(s->err, "Access denied"));
    assert_null(strstr(s->err, "ffffffff"));
    assert_int_equal(((const Ccai_tts_cloud *)f->h.t)->stats.requests, 1); /* not retried */
}

static void test_disconnect_mid_stream(void **state)
{
    fx *f = *state;
    assert_int_equal(th_open(&f->h, &Ccai_tts_azure, &f->cfg, ULAW8), CCAI_OK);
    speech_fault cut = {.after = 3, .cut = 1};
    azure_speech_standin_push_fault(f->az, &cut);
    uint32_t a = th_say(&f->h, HELLO);
    uint32_t b = th_say(&f->h, "Still here.");
    th_run_dones(&f->h, 2, 10000);
    th_sentence *s = th_get(&f->h, a);
    assert_int_equal(s->st, CCAI_ERR_HTTP);
    assert_false(s->fatal); /* the next sentence may go to the same service */
    assert_int_equal(s->len, 3 * 800);
    assert_int_equal(s->audio_ms, 300);
    assert_non_null(strstr(s->err, "broke off after 300 ms"));
    check_audio(th_get(&f->h, b), "Still here.", 8000, SA_ULAW);
}

static void test_garbage_and_stall(void **state)
{
    fx *f = *state;
    f->cfg.first_byte_timeout_ms = 800;
    assert_int_equal(th_open(&f->h, &Ccai_tts_azure, &f->cfg, ULAW8), CCAI_OK);
    speech_fault junk = {.after = 2, .garbage = 1};
    speech_fault stall = {.after = 1, .stall_ms = 3000};
    azure_speech_standin_push_fault(f->az, &junk);
    azure_speech_standin_push_fault(f->az, &stall);
    uint32_t a = th_say(&f->h, HELLO);
    uint32_t b = th_say(&f->h, HELLO);
    th_run_dones(&f->h, 2, 10000);
    th_sentence *s = th_get(&f->h, a);
    assert_int_equal(s->st, CCAI_ERR_HTTP);
    assert_false(s->fatal);
    assert_int_equal(s->audio_ms, 200);
    s = th_get(&f->h, b);
    assert_int_equal(s->st, CCAI_ERR_TIMEOUT);
    assert_false(s->fatal);
    assert_int_equal(s->audio_ms, 100);
    assert_non_null(strstr(s->err, "stalled"));
}

static void test_dropped_then_success(void **state)
{
    fx *f = *state;
    assert_int_equal(th_open(&f->h, &Ccai_tts_azure, &f->cfg, ULAW8), CCAI_OK);
    speech_fault drop = {.drop = 1};
    azure_speech_standin_push_fault(f->az, &drop);
    uint32_t a = th_say(&f->h, "Second time lucky.");
    th_run_dones(&f->h, 1, 10000);
    check_audio(th_get(&f->h, a), "Second time lucky.", 8000, SA_ULAW);
    assert_int_equal(((const Ccai_tts_cloud *)f->h.t)->stats.retries, 1);
}

static void test_token_auth(void **state)
{
    fx *f = *state;
    f->cfg.options = "{\"auth\":\"token\",\"style_degree\":1.5}";
    assert_int_equal(th_open(&f->h, &Ccai_tts_azure, &f->cfg, ULAW8), CCAI_OK);
    Ccai_tts_text t = {.text = "Great news!", .style = "cheerful", .rate = 1.1};
    uint32_t a, b;
    assert_int_equal(th_say_text(&f->h, &t, &a), CCAI_OK);
    t.text = "Sorry & goodbye <now>.";
    t.style = "sad";
    assert_int_equal(th_say_text(&f->h, &t, &b), CCAI_OK);
    th_run_dones(&f->h, 2, 10000);
    check_audio(th_get(&f->h, a), "Great news!", 8000, SA_ULAW);
    /* Escaped in the SSML, read back by the service as the text. */
    assert_int_equal(th_get(&f->h, b)->st, CCAI_OK);
    assert_true(th_get(&f->h, b)->len > 0);
    /* One token for both sentences. */
    assert_int_equal(((const Ccai_tts_cloud *)f->h.t)->stats.requests, 3);
}

static void test_ssml_as_is(void **state)
{
    fx *f = *state;
    assert_int_equal(th_open(&f->h, &Ccai_tts_azure, &f->cfg, ULAW8), CCAI_OK);
    Ccai_tts_text t = {
        .text = "<speak version=\"1.0\" xmlns=\"http://www.w3.org/2001/10/synthesis\" "
                "xml:lang=\"en-US\"><voice name=\"en-US-AvaMultilingualNeural\">Good "
                "morning.</voice></speak>",
        .ssml = true,
        .rate = 1,
    };
    uint32_t a;
    assert_int_equal(th_say_text(&f->h, &t, &a), CCAI_OK);
    th_run_dones(&f->h, 1, 10000);
    check_audio(th_get(&f->h, a), "Good morning.", 8000, SA_ULAW);
}

static void test_config_and_limits(void **state)
{
    fx *f = *state;
    Ccai_tts_config bad = {.api_key = "k"};
    assert_int_equal(th_open(&f->h, &Ccai_tts_azure, &bad, ULAW8), CCAI_ERR_CONFIG);
    bad.region = "west europe";
    assert_int_equal(th_open(&f->h, &Ccai_tts_azure, &bad, ULAW8), CCAI_ERR_CONFIG);
    f->cfg.options = "{\"auht\":\"token\"}";
    assert_int_equal(th_open(&f->h, &Ccai_tts_azure, &f->cfg, ULAW8), CCAI_ERR_CONFIG);
    f->cfg.options = "{\"style_degree\":5}";
    assert_int_equal(th_open(&f->h, &Ccai_tts_azure, &f->cfg, ULAW8), CCAI_ERR_CONFIG);
    f->cfg.options = "[1]";
    assert_int_equal(th_open(&f->h, &Ccai_tts_azure, &f->cfg, ULAW8), CCAI_ERR_CONFIG);
    f->cfg.options = NULL;
    assert_false(Ccai_tts_azure.speaks(&(Ccai_tts_config){.api_key = "k"}, "en-US"));
    Ccai_tts_config region = {.api_key = "k", .region = "westeurope"};
    assert_true(Ccai_tts_azure.speaks(&region, "fr-FR"));
    assert_false(Ccai_tts_azure.speaks(&(Ccai_tts_config){.region = "westeurope"}, "fr-FR"));
    assert_ptr_equal(Ccai_tts_provider_find("azure"), &Ccai_tts_azure);

    assert_int_equal(th_open(&f->h, &Ccai_tts_azure, &f->cfg, ULAW8), CCAI_OK);
    char *big = malloc(9000);
    memset(big, 'a', 8999);
    big[8999] = '\0';
    Ccai_tts_text t = {.text = big, .rate = 1};
    uint32_t id;
    assert_int_equal(Ccai_tts_say(f->h.t, &t, &id), CCAI_ERR_LIMIT);
    free(big);
    t.text = "   ";
    assert_int_equal(Ccai_tts_say(f->h.t, &t, &id), CCAI_ERR_INVALID_ARG);
    t.text = "x.";
    for (unsigned i = 0; i < CCAI_TTS_QUEUE_MAX; i++)
        assert_int_equal(Ccai_tts_say(f->h.t, &t, &id), CCAI_OK);
    assert_int_equal(Ccai_tts_say(f->h.t, &t, &id), CCAI_ERR_LIMIT);
    /* Closed with its queue: no callback, nothing leaks. */
    Ccai_tts_close(f->h.t);
    f->h.closed = true;
    th_run_for(&f->h, 200);
    assert_int_equal(f->h.callbacks, 0);
}

static void test_error_bodies(void **state)
{
    (void)state;
    char out[128];
    const char *j = "{\"error\":{\"code\":\"401\",\"message\":\"Access denied\\n due to key.\"}}";
    Ccai_tts_azure_error(j, strlen(j), out, sizeof out);
    assert_string_equal(out, "Access denied due to key.");
    Ccai_tts_azure_error("Bad Request\r\n", 13, out, sizeof out);
    assert_string_equal(out, "Bad Request");
    Ccai_tts_azure_error("", 0, out, sizeof out);
    assert_string_equal(out, "no error message");
    Ccai_tts_azure_error("{\"statusCode\":429,\"message\":\"Rate limit\"}", 41, out, sizeof out);
    assert_string_equal(out, "Rate limit");
    char big[10000];
    memset(big, 'x', sizeof big);
    Ccai_tts_azure_error(big, sizeof big, out, sizeof out);
    assert_int_equal(strlen(out), sizeof out - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ulaw_streams, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pcm_formats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_mid_sentence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_in_done, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow_first_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_429_then_success, setup, teardown),
        cmocka_unit_test_setup_teardown(test_5xx_exhausted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_after_too_long, setup, teardown),
        cmocka_unit_test_setup_teardown(test_401, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disconnect_mid_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_and_stall, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dropped_then_success, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_auth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ssml_as_is, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_and_limits, setup, teardown),
        cmocka_unit_test(test_error_bodies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
