/* Answering-machine detection (media/amd.h) on generated audio: beeps
 * (pure tones from 900 Hz to 2.1 kHz, through G.711 as on a phone line),
 * what is no beep (a 440 Hz tone, noise, speech), greetings and people
 * answering spoken by espeak-ng (those cases skip without it), silence,
 * and the parameters it refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "media/amd.h"
#include "media/codec.h"
#include "support/amd_corpus.h"
#include "support/voice.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pcm {
    int16_t *s;
    size_t n, cap;
    uint32_t rate;
} pcm;

static void put(pcm *p, int16_t v)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 16000;
        p->s = realloc(p->s, p->cap * sizeof *p->s);
        assert_non_null(p->s);
    }
    p->s[p->n++] = v;
}

static void silence(pcm *p, uint32_t ms)
{
    for (size_t i = 0; i < (size_t)p->rate * ms / 1000; i++)
        put(p, 0);
}

static void tone(pcm *p, double hz, uint32_t ms, double amp)
{
    for (size_t i = 0; i < (size_t)p->rate * ms / 1000; i++)
        put(p, (int16_t)(amp * 32767 * sin(2 * M_PI * hz * (double)i / p->rate)));
}

static void noise(pcm *p, uint32_t ms, double amp)
{
    srand(7);
    for (size_t i = 0; i < (size_t)p->rate * ms / 1000; i++)
        put(p, (int16_t)(amp * 32767 * ((double)rand() / RAND_MAX * 2 - 1)));
}

/* Through mu-law and back, as a phone line carries it. */
static void phone_line(pcm *p)
{
    for (size_t i = 0; i < p->n; i++)
        p->s[i] = Ccai_ulaw_decode(Ccai_ulaw_encode(p->s[i]));
}

static bool speak(pcm *p, const char *voice, double rate, const char *text)
{
    if (!voice_available(CCAI_SYNTH_ESPEAK))
        return false;
    Ccai_media_format fmt = {CCAI_MEDIA_PCM16, p->rate, 1};
    voice_audio a;
    if (!voice_render(CCAI_SYNTH_ESPEAK, voice, rate, text, &fmt, 0, 0, &a))
        return false;
    for (size_t i = 0; i + 1 < a.len; i += 2)
        put(p, (int16_t)(a.data[i] | (a.data[i + 1] << 8)));
    voice_audio_free(&a);
    return true;
}

/* Verdicts in order, with when they came (ms), fed in 20 ms blocks. */
typedef struct run {
    Ccai_amd_verdict v[4];
    uint64_t at[4];
    size_t n;
} run;

static run detect(const pcm *p)
{
    Ccai_amd_params prm;
    Ccai_amd_params_default(&prm);
    Ccai_amd *a = NULL;
    assert_int_equal(Ccai_amd_new(&prm, p->rate, &a), CCAI_OK);
    run r = {0};
    size_t step = p->rate / 50;
    for (size_t i = 0; i < p->n; i += step) {
        size_t n = p->n - i < step ? p->n - i : step;
        Ccai_amd_verdict v = Ccai_amd_feed(a, p->s + i, n);
        while (v != CCAI_AMD_NONE && r.n < 4) {
            r.at[r.n] = Ccai_amd_position_ms(a);
            r.v[r.n++] = v;
            v = Ccai_amd_feed(a, NULL, 0);
        }
    }
    Ccai_amd_free(a);
    return r;
}

static void test_beeps(void **state)
{
    (void)state;
    static const double hz[] = {950, 1000, 1400, 1777, 2000, 2080};
    for (size_t k = 0; k < sizeof hz / sizeof hz[0]; k++) {
        pcm p = {.rate = 8000};
        silence(&p, 500);
        tone(&p, hz[k], 400, 0.3);
        silence(&p, 500);
        phone_line(&p);
        run r = detect(&p);
        if (r.n != 1 || r.v[0] != CCAI_AMD_END_BEEP)
            fail_msg("%.0f Hz: %zu verdicts, first %s", hz[k], r.n, Ccai_amd_verdict_str(r.v[0]));
        assert_in_range(r.at[0], 600, 900); /* within 200 ms of its start */
        free(p.s);
    }
    /* At 16 kHz, quietly. */
    pcm q = {.rate = 16000};
    silence(&q, 300);
    tone(&q, 1000, 300, 0.02);
    run r = detect(&q);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.v[0], CCAI_AMD_END_BEEP);
    free(q.s);
}

/* A dial tone's 440 Hz, a beep too short, white noise: no beep. */
static void test_not_beeps(void **state)
{
    (void)state;
    pcm p = {.rate = 8000};
    tone(&p, 440, 1000, 0.3);
    tone(&p, 1000, 100, 0.3);
    silence(&p, 300);
    noise(&p, 1500, 0.3);
    silence(&p, 3000);
    run r = detect(&p);
    for (size_t i = 0; i < r.n; i++)
        assert_int_not_equal(r.v[i], CCAI_AMD_END_BEEP);
    free(p.s);
}

/* Nothing heard: unknown after listen_ms. */
static void test_silence_unknown(void **state)
{
    (void)state;
    pcm p = {.rate = 8000};
    silence(&p, 7000);
    run r = detect(&p);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.v[0], CCAI_AMD_UNKNOWN);
    assert_in_range(r.at[0], 4900, 5100);
    free(p.s);
}

/* Greetings and people, spoken: every greeting is a machine, whose end
 * is its beep (or its silence); nobody answering is one. */
static void test_spoken(void **state)
{
    (void)state;
    if (!voice_available(CCAI_SYNTH_ESPEAK))
        skip();
    for (size_t k = 0; k < sizeof amd_corpus / sizeof amd_corpus[0]; k++) {
        const amd_sample *s = &amd_corpus[k];
        pcm p = {.rate = k % 2 ? 16000 : 8000};
        silence(&p, 400);
        assert_true(speak(&p, s->voice, s->rate, s->text));
        silence(&p, 600);
        if (s->beep_hz > 0)
            tone(&p, s->beep_hz, 500, 0.25);
        silence(&p, 4000);
        if (p.rate == 8000)
            phone_line(&p);
        run r = detect(&p);
        fprintf(stderr, "# %-5s %s: %s at %llu ms, then %s\n", s->voice,
                s->machine ? "machine" : "human", Ccai_amd_verdict_str(r.v[0]),
                (unsigned long long)r.at[0], r.n > 1 ? Ccai_amd_verdict_str(r.v[1]) : "-");
        if (!s->machine) {
            if (r.n != 1 || r.v[0] != CCAI_AMD_HUMAN)
                fail_msg("\"%s\" taken for %s", s->text, Ccai_amd_verdict_str(r.v[0]));
            free(p.s);
            continue;
        }
        if (r.n != 2 || r.v[0] != CCAI_AMD_MACHINE)
            fail_msg("\"%s\": %s", s->text, Ccai_amd_verdict_str(r.v[0]));
        assert_int_equal(r.v[1], s->beep_hz > 0 ? CCAI_AMD_END_BEEP : CCAI_AMD_END_SILENCE);
        free(p.s);
    }
}

static void test_params(void **state)
{
    (void)state;
    Ccai_amd_params p;
    Ccai_amd_params_default(&p);
    Ccai_amd *a = NULL;
    assert_int_equal(Ccai_amd_new(&p, 4000, &a), CCAI_ERR_INVALID_ARG);
    p.tone_hi_hz = 5000; /* above 8 kHz's Nyquist */
    assert_int_equal(Ccai_amd_new(&p, 8000, &a), CCAI_ERR_INVALID_ARG);
    Ccai_amd_params_default(&p);
    p.tone_purity = 1.5;
    assert_int_equal(Ccai_amd_new(&p, 8000, &a), CCAI_ERR_INVALID_ARG);
    assert_null(a);
    Ccai_amd_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_beeps),           cmocka_unit_test(test_not_beeps),
        cmocka_unit_test(test_silence_unknown), cmocka_unit_test(test_spoken),
        cmocka_unit_test(test_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
