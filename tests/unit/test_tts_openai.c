/* tts/openai.c against the OpenAI audio stand-in on loopback through a real
 * context and its poll loop: 24 kHz PCM16 in the amount the text and speed
 * make, streamed; style as instructions (not to tts-1); cancel; faults;
 * and chunk boundaries that split samples (a plain server writing odd
 * pieces, as OpenAI's chunked answers may: media.md 5.2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "support/httpd.h"
#include "support/openai_audio_standin.h"
#include "support/standin_audio.h"
#include "support/tts_harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const Ccai_media_format ULAW8 = {CCAI_MEDIA_ULAW, 8000, 1};

typedef struct fx {
    openai_audio_standin *oa;
    char endpoint[64];
    Ccai_tts_config cfg;
    th h;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    openai_audio_standin_opts o = {.tts_ttfb_ms = 100, .tts_chunk_ms = 30};
    f->oa = openai_audio_standin_start(&o);
    assert_non_null(f->oa);
    th_setup(&f->h, &f->cfg, f->endpoint, sizeof f->endpoint, openai_audio_standin_port(f->oa),
             "/v1", OPENAI_AUDIO_STANDIN_KEY);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    th_free(&f->h);
    openai_audio_standin_stop(f->oa);
    free(f);
    return 0;
}

static const char *const HELLO =
    "Hello, this is your insurance assistant. How can I help you today?";

static void test_pcm24_streams(void **state)
{
    fx *f = *state;
    /* Whatever the call, OpenAI speaks 24 kHz PCM16: the voice layer
     * converts it. */
    assert_int_equal(th_open(&f->h, &Ccai_tts_openai, &f->cfg, ULAW8), CCAI_OK);
    assert_int_equal(f->h.t->out.encoding, CCAI_MEDIA_PCM16);
    assert_int_equal(f->h.t->out.rate, 24000);
    uint32_t id = th_say(&f->h, HELLO);
    th_run_dones(&f->h, 1, 10000);
    th_sentence *s = th_get(&f->h, id);
    th_check_audio(s, HELLO, 24000, 1.0, SA_PCM16);
    assert_true(s->chunks >= 3);
    assert_int_equal(s->in_flight_first, 1);
    assert_true(s->first_at < s->done_at);
}

static void test_style_rate_voice(void **state)
{
    fx *f = *state;
    f->cfg.options = "{\"instructions\":\"You work for an insurer.\"}";
    assert_int_equal(th_open(&f->h, &Ccai_tts_openai, &f->cfg, ULAW8), CCAI_OK);
    Ccai_tts_text t = {
        .text = "Good news, it is covered.", .style = "cheerful", .rate = 1.5, .voice = "coral"};
    uint32_t a;
    assert_int_equal(th_say_text(&f->h, &t, &a), CCAI_OK);
    th_run_dones(&f->h, 1, 10000);
    th_check_audio(th_get(&f->h, a), t.text, 24000, 1.5, SA_PCM16);

    /* tts-1 refuses instructions: the style is not sent, the text is. */
    th h2;
    th_init(&h2);
    f->cfg.model = "tts-1";
    assert_int_equal(th_open(&h2, &Ccai_tts_openai, &f->cfg, ULAW8), CCAI_OK);
    assert_int_equal(th_say_text(&h2, &t, &a), CCAI_OK);
    th_run_dones(&h2, 1, 10000);
    th_check_audio(th_get(&h2, a), t.text, 24000, 1.5, SA_PCM16);
    th_free(&h2);
}

static void test_queue_and_cancel(void **state)
{
    fx *f = *state;
    assert_int_equal(th_open(&f->h, &Ccai_tts_openai, &f->cfg, ULAW8), CCAI_OK);
    uint32_t a = th_say(&f->h, "One.");
    uint32_t b = th_say(&f->h, HELLO);
    uint32_t c = th_say(&f->h, "Three.");
    f->h.cancel_id = b;
    f->h.cancel_at = 9600; /* 200 ms of the second */
    th_run_dones(&f->h, 3, 10000);
    assert_int_equal(f->h.done_order[0], a);
    assert_int_equal(f->h.done_order[1], b);
    assert_int_equal(f->h.done_order[2], c);
    th_check_audio(th_get(&f->h, a), "One.", 24000, 1.0, SA_PCM16);
    th_sentence *s = th_get(&f->h, b);
    assert_int_equal(s->st, CCAI_ERR_CANCELLED);
    assert_int_equal(s->audio_ms, s->len / 48);
    assert_int_equal(th_get(&f->h, c)->st, CCAI_ERR_CANCELLED);
    assert_int_equal(th_get(&f->h, c)->len, 0);
    assert_int_equal(Ccai_http_in_flight(f->h.ctx), 0);
    int calls = f->h.callbacks;
    th_run_for(&f->h, 1000);
    assert_int_equal(f->h.callbacks, calls);
}

static void test_faults(void **state)
{
    fx *f = *state;
    f->cfg.first_byte_timeout_ms = 2500;
    assert_int_equal(th_open(&f->h, &Ccai_tts_openai, &f->cfg, ULAW8), CCAI_OK);
    speech_fault busy = {.status = 429, .retry_after = 1};
    speech_fault cut = {.after = 2, .cut = 1};
    /* A fault is taken by the next request: the retry is one. */
    openai_audio_standin_push_fault(f->oa, &busy);
    uint32_t a = th_say(&f->h, "Retried once.");
    th_run_dones(&f->h, 1, 10000);
    openai_audio_standin_push_fault(f->oa, &cut);
    uint32_t b = th_say(&f->h, HELLO);
    th_run_dones(&f->h, 2, 10000);
    th_sentence *s = th_get(&f->h, a);
    th_check_audio(s, "Retried once.", 24000, 1.0, SA_PCM16);
    assert_true(s->first_at - s->said_at >= 1000);
    s = th_get(&f->h, b);
    assert_int_equal(s->st, CCAI_ERR_HTTP);
    assert_false(s->fatal);
    assert_int_equal(s->audio_ms, 200);

    speech_fault slow = {.delay_ms = 5000};
    openai_audio_standin_push_fault(f->oa, &slow);
    uint32_t c = th_say(&f->h, "Too slow.");
    th_run_dones(&f->h, 3, 5000);
    s = th_get(&f->h, c);
    assert_int_equal(s->st, CCAI_ERR_TIMEOUT);
    assert_true(s->fatal);
    assert_int_equal(Ccai_http_in_flight(f->h.ctx), 0);
}

static void test_401_and_500(void **state)
{
    fx *f = *state;
    f->cfg.api_key = "sk-wrong-key-1234567890";
    assert_int_equal(th_open(&f->h, &Ccai_tts_openai, &f->cfg, ULAW8), CCAI_OK);
    uint32_t a = th_say(&f->h, "Hello.");
    th_run_dones(&f->h, 1, 5000);
    th_sentence *s = th_get(&f->h, a);
    assert_int_equal(s->st, CCAI_ERR_HTTP);
    assert_true(s->fatal);
    assert_non_null(strstr(s->err, "openai: HTTP 401"));
    assert_null(strstr(s->err, "wrong-key-1234567890"));

    th h2;
    th_init(&h2);
    f->cfg.api_key = OPENAI_AUDIO_STANDIN_KEY;
    assert_int_equal(th_open(&h2, &Ccai_tts_openai, &f->cfg, ULAW8), CCAI_OK);
    speech_fault down = {.status = 500};
    for (int i = 0; i < CCAI_TTS_ATTEMPTS; i++)
        openai_audio_standin_push_fault(f->oa, &down);
    a = th_say(&h2, "Down.");
    th_run_dones(&h2, 1, 10000);
    s = th_get(&h2, a);
    assert_int_equal(s->st, CCAI_ERR_HTTP);
    assert_true(s->fatal);
    assert_non_null(strstr(s->err, "HTTP 500"));
    assert_non_null(strstr(s->err, "after 3 attempts"));
    th_free(&h2);

    /* A model the service does not have: 404, fatal. */
    th h3;
    th_init(&h3);
    f->cfg.model = "tts-9";
    assert_int_equal(th_open(&h3, &Ccai_tts_openai, &f->cfg, ULAW8), CCAI_OK);
    a = th_say(&h3, "Hi.");
    th_run_dones(&h3, 1, 5000);
    s = th_get(&h3, a);
    assert_true(s->fatal);
    assert_non_null(strstr(s->err, "does not exist"));
    th_free(&h3);
}

static void test_limits(void **state)
{
    fx *f = *state;
    assert_int_equal(th_open(&f->h, &Ccai_tts_openai, &f->cfg, ULAW8), CCAI_OK);
    uint32_t id;
    Ccai_tts_text t = {.text = "<speak>Hi</speak>", .ssml = true, .rate = 1};
    assert_int_equal(Ccai_tts_say(f->h.t, &t, &id), CCAI_ERR_UNSUPPORTED);
    char *big = malloc(4098);
    memset(big, 'a', 4097);
    big[4097] = '\0';
    t = (Ccai_tts_text){.text = big, .rate = 1};
    assert_int_equal(Ccai_tts_say(f->h.t, &t, &id), CCAI_ERR_LIMIT);
    free(big);
    f->cfg.options = "{\"instructions\":3}";
    th h2;
    th_init(&h2);
    assert_int_equal(th_open(&h2, &Ccai_tts_openai, &f->cfg, ULAW8), CCAI_ERR_CONFIG);
    f->cfg.api_key = NULL;
    f->cfg.options = NULL;
    assert_int_equal(th_open(&h2, &Ccai_tts_openai, &f->cfg, ULAW8), CCAI_ERR_CONFIG);
    th_free(&h2);
    assert_false(Ccai_tts_openai.speaks(&f->cfg, "en-US"));
    assert_ptr_equal(Ccai_tts_provider_find("openai"), &Ccai_tts_openai);
}

/* A server that splits its audio at odd byte counts (7, 13, 1, ...), as
 * any chunked answer may. */
static void h_odd(const test_request *req, int fd, void *ud)
{
    (void)req;
    const uint8_t *audio = ud;
    test_httpd_printf(fd, "HTTP/1.1 200 OK\r\nContent-Type: audio/pcm\r\n"
                          "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
    static const size_t cuts[] = {7, 13, 1, 1, 999, 2, 4095, 3};
    size_t off = 0, total = 4800 * 3 + 1; /* ends with half a sample */
    for (size_t i = 0; off < total; i++) {
        size_t n = cuts[i % 8];
        if (n > total - off)
            n = total - off;
        test_httpd_printf(fd, "%zx\r\n", n);
        test_httpd_write(fd, audio + off, n);
        test_httpd_printf(fd, "\r\n");
        off += n;
        test_httpd_sleep_ms(5);
    }
    test_httpd_printf(fd, "0\r\n\r\n");
}

static void test_odd_chunks(void **state)
{
    fx *f = *state;
    uint8_t audio[4800 * 3 + 1];
    for (size_t i = 0; i < sizeof audio; i++)
        audio[i] = (uint8_t)(i * 7 + 3);
    test_httpd *srv = test_httpd_start(h_odd, audio);
    assert_non_null(srv);
    char ep[64];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d/v1", test_httpd_port(srv));
    f->cfg.endpoint = ep;
    assert_int_equal(th_open(&f->h, &Ccai_tts_openai, &f->cfg, ULAW8), CCAI_OK);
    uint32_t a = th_say(&f->h, "Whatever.");
    th_run_dones(&f->h, 1, 10000);
    th_sentence *s = th_get(&f->h, a);
    assert_int_equal(s->st, CCAI_OK);
    assert_int_equal(s->odd_chunks, 0);
    assert_int_equal(s->len, 4800 * 3); /* the last half sample is dropped */
    assert_memory_equal(s->audio, audio, 4800 * 3);
    assert_int_equal(s->audio_ms, 300);
    test_httpd_stop(srv);
}

static void test_error_bodies(void **state)
{
    (void)state;
    char out[160];
    const char *j = "{\"error\":{\"message\":\"Incorrect API key provided: sk-wr***90.\","
                    "\"type\":\"invalid_request_error\",\"param\":null,\"code\":"
                    "\"invalid_api_key\"}}";
    Ccai_tts_openai_error(j, strlen(j), out, sizeof out);
    assert_string_equal(out, "Incorrect API key provided: sk-wr***90.");
    j = "{\"error\":{\"message\":\"\",\"code\":\"server_error\"}}";
    Ccai_tts_openai_error(j, strlen(j), out, sizeof out);
    assert_string_equal(out, "server_error");
    j = "<html><body>502 Bad Gateway</body></html>";
    Ccai_tts_openai_error(j, strlen(j), out, sizeof out);
    assert_string_equal(out, j);
    j = "{\"error\":{\"message\":\"cut";
    Ccai_tts_openai_error(j, strlen(j), out, sizeof out);
    assert_string_equal(out, j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pcm24_streams, setup, teardown),
        cmocka_unit_test_setup_teardown(test_style_rate_voice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_and_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_faults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_401_and_500, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_odd_chunks, setup, teardown),
        cmocka_unit_test(test_error_bodies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
