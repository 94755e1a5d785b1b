/* The energy VAD: decisions and events on synthetic signals whose truth is
 * exact (onset, cut-off, end of turn, blips, noise steps, the absolute
 * threshold, the gate, any chunking), then on the held-out espeak-ng corpus
 * through G.711 with line noise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "media/vad.h"
#include "support/oom.h"
#include "support/speech.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RATE 8000

typedef struct rec {
    size_t n_frames, n_speech, n_voiced;
    Ccai_vad_event ev[64];
    size_t n_ev;
    float level[4096];
    bool speech[4096];
} rec;

static void on_frame(const Ccai_vad_frame *f, const Ccai_vad_event *ev, void *ud)
{
    rec *r = ud;
    if (r->n_frames < 4096) {
        r->level[r->n_frames] = f->level_db;
        r->speech[r->n_frames] = f->speech;
    }
    assert_int_equal(f->start_ms, r->n_frames * 20);
    r->n_frames++;
    r->n_speech += f->speech;
    r->n_voiced += f->voiced;
    if (ev && r->n_ev < 64)
        r->ev[r->n_ev++] = *ev;
}

static uint32_t seed = 1;

static double gauss(void)
{
    double s = 0;
    for (int i = 0; i < 12; i++) {
        seed = seed * 1664525u + 1013904223u;
        s += (double)(seed >> 8) / 16777216.0;
    }
    return s - 6.0;
}

/* A signal of ms milliseconds: white noise at noise_db dBFS. */
static int16_t *noise(uint32_t ms, double noise_db)
{
    size_t n = (size_t)RATE * ms / 1000;
    int16_t *x = calloc(n + 1, sizeof *x);
    assert_non_null(x);
    double a = 32768.0 * pow(10.0, noise_db / 20.0);
    for (size_t i = 0; i < n && noise_db > -150.0; i++)
        x[i] = (int16_t)lrint(a * gauss());
    return x;
}

/* Add a voiced, speech-like burst (140 Hz harmonics to 3.4 kHz, syllables
 * at 4 Hz dipping 12 dB) at level_db dBFS from ms0 to ms1. */
static void burst(int16_t *x, uint32_t ms0, uint32_t ms1, double level_db)
{
    size_t i0 = (size_t)RATE * ms0 / 1000, i1 = (size_t)RATE * ms1 / 1000;
    double *b = calloc(i1 - i0 + 1, sizeof *b);
    assert_non_null(b);
    double e = 0;
    for (size_t i = i0; i < i1; i++) {
        double t = (double)(i - i0) / RATE, v = 0;
        for (int k = 1; 140.0 * k < 3400.0; k++)
            v += sin(2.0 * M_PI * 140.0 * k * t + k) / k;
        double env = 0.625 + 0.375 * cos(2.0 * M_PI * 4.0 * t);
        b[i - i0] = v * env;
        e += b[i - i0] * b[i - i0];
    }
    double g = 32768.0 * pow(10.0, level_db / 20.0) / sqrt(e / (double)(i1 - i0));
    for (size_t i = i0; i < i1; i++) {
        double v = x[i] + b[i - i0] * g;
        x[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : lrint(v));
    }
    free(b);
}

static void run(const Ccai_vad_params *p, const int16_t *x, uint32_t ms, size_t chunk, double gate,
                rec *r)
{
    Ccai_vad *v = NULL;
    assert_int_equal(Ccai_vad_new(p, RATE, &v), CCAI_OK);
    size_t n = (size_t)RATE * ms / 1000;
    memset(r, 0, sizeof *r);
    for (size_t i = 0; i < n; i += chunk)
        Ccai_vad_process(v, x + i, chunk < n - i ? chunk : n - i, gate, on_frame, r);
    assert_int_equal(Ccai_vad_position_ms(v), ms);
    Ccai_vad_free(v);
}

static void test_defaults_and_invalid(void **state)
{
    (void)state;
    Ccai_vad_params p;
    Ccai_vad_params_default(&p);
    assert_int_equal(p.silence_timeout_ms, 500); /* the reference's defaults */
    assert_int_equal(p.cutoff_timeout_ms, 250);
    assert_true(p.threshold > 0.0 && p.threshold < 0.5);
    assert_false(p.denoise);
    Ccai_vad *v = NULL;
    assert_int_equal(Ccai_vad_new(&p, 44100, &v), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_vad_new(NULL, RATE, &v), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_vad_new(&p, RATE, NULL), CCAI_ERR_INVALID_ARG);
    Ccai_vad_params bad = p;
    bad.threshold = -0.1;
    assert_int_equal(Ccai_vad_new(&bad, RATE, &v), CCAI_ERR_INVALID_ARG);
    bad = p;
    bad.threshold = 10.5;
    assert_int_equal(Ccai_vad_new(&bad, RATE, &v), CCAI_ERR_INVALID_ARG);
    bad = p;
    bad.silence_timeout_ms = 10;
    assert_int_equal(Ccai_vad_new(&bad, RATE, &v), CCAI_ERR_INVALID_ARG);
    bad = p;
    bad.cutoff_timeout_ms = 70000;
    assert_int_equal(Ccai_vad_new(&bad, RATE, &v), CCAI_ERR_INVALID_ARG);
    bad = p;
    bad.hysteresis_db = p.snr_db + 1.0;
    assert_int_equal(Ccai_vad_new(&bad, RATE, &v), CCAI_ERR_INVALID_ARG);
    bad = p;
    bad.snr_db = 61.0;
    assert_int_equal(Ccai_vad_new(&bad, RATE, &v), CCAI_ERR_INVALID_ARG);
    assert_null(v);
    Ccai_vad_free(NULL);
}

static void test_silence(void **state)
{
    (void)state;
    Ccai_vad_params p;
    Ccai_vad_params_default(&p);
    int16_t *x = noise(5000, -200.0);
    rec r;
    run(&p, x, 5000, 160, CCAI_VAD_NO_GATE, &r);
    assert_int_equal(r.n_frames, 250);
    assert_int_equal(r.n_speech, 0);
    assert_int_equal(r.n_ev, 0);
    assert_true(r.level[10] <= -99.0f);
    free(x);
}

/* Speech from 1000 to 3000 ms over a -60 dBFS line: one start 250 ms in,
 * one end 500 ms after the last voiced frame. */
static void test_burst_events(void **state)
{
    (void)state;
    Ccai_vad_params p;
    Ccai_vad_params_default(&p);
    int16_t *x = noise(5000, -60.0);
    burst(x, 1000, 3000, -26.0);
    rec r;
    run(&p, x, 5000, 160, CCAI_VAD_NO_GATE, &r);
    assert_int_equal(r.n_ev, 2);
    const Ccai_vad_event *s = &r.ev[0], *e = &r.ev[1];
    assert_int_equal(s->kind, CCAI_VAD_SPEECH_START);
    assert_true(s->onset_ms >= 980 && s->onset_ms <= 1020);
    /* The last frame within 250 ms of the onset. */
    assert_int_equal(s->at_ms, s->onset_ms + 240);
    assert_int_equal(e->kind, CCAI_VAD_SPEECH_END);
    assert_true(e->last_voiced_ms >= 2960 && e->last_voiced_ms <= 3040);
    assert_int_equal(e->at_ms, e->last_voiced_ms + 500);
    assert_true(e->turn);
    assert_true(e->started);
    assert_true(e->voiced_ms >= 1800);
    assert_int_equal(e->onset_ms, s->onset_ms);
    /* The decisions: on through the burst, off well before and after. */
    for (size_t i = 0; i < 45; i++)
        assert_false(r.speech[i]);
    for (size_t i = 52; i < 148; i++)
        assert_true(r.speech[i]);
    for (size_t i = 165; i < 250; i++)
        assert_false(r.speech[i]);

    /* In speech between the start and the end only. */
    Ccai_vad *v = NULL;
    assert_int_equal(Ccai_vad_new(&p, RATE, &v), CCAI_OK);
    Ccai_vad_process(v, x, RATE, CCAI_VAD_NO_GATE, NULL, NULL); /* to 1000 ms */
    assert_false(Ccai_vad_in_speech(v));
    Ccai_vad_process(v, x + RATE, RATE, CCAI_VAD_NO_GATE, NULL, NULL); /* to 2000 ms */
    assert_true(Ccai_vad_in_speech(v));
    Ccai_vad_process(v, x + 2 * RATE, 3 * RATE, CCAI_VAD_NO_GATE, NULL, NULL);
    assert_false(Ccai_vad_in_speech(v));
    Ccai_vad_free(v);
    free(x);
}

/* A click never starts nor ends anything; a short word ends a turn without
 * a start; a started burst shorter than min_speech_ms ends with turn false. */
static void test_blips_and_short_words(void **state)
{
    (void)state;
    Ccai_vad_params p;
    Ccai_vad_params_default(&p);
    int16_t *x = noise(3000, -60.0);
    burst(x, 1000, 1060, -20.0);
    rec r;
    run(&p, x, 3000, 160, CCAI_VAD_NO_GATE, &r);
    assert_int_equal(r.n_ev, 0);
    free(x);

    x = noise(3000, -60.0);
    burst(x, 1000, 1200, -20.0); /* a "yes": 200 ms */
    run(&p, x, 3000, 160, CCAI_VAD_NO_GATE, &r);
    assert_int_equal(r.n_ev, 1);
    assert_int_equal(r.ev[0].kind, CCAI_VAD_SPEECH_END);
    assert_true(r.ev[0].turn);
    assert_false(r.ev[0].started);

    p.min_speech_ms = 600; /* coughs are not turns on this line */
    free(x);
    x = noise(3000, -60.0);
    burst(x, 1000, 1400, -20.0);
    run(&p, x, 3000, 160, CCAI_VAD_NO_GATE, &r);
    assert_int_equal(r.n_ev, 2);
    assert_int_equal(r.ev[0].kind, CCAI_VAD_SPEECH_START);
    assert_int_equal(r.ev[1].kind, CCAI_VAD_SPEECH_END);
    assert_false(r.ev[1].turn);
    assert_true(r.ev[1].started);
    free(x);
}

/* Two words 300 ms apart are one turn (under the silence timeout); 700 ms
 * apart, two. */
static void test_pauses(void **state)
{
    (void)state;
    Ccai_vad_params p;
    Ccai_vad_params_default(&p);
    int16_t *x = noise(4000, -55.0);
    burst(x, 500, 1100, -26.0);
    burst(x, 1400, 2000, -26.0);
    rec r;
    run(&p, x, 4000, 160, CCAI_VAD_NO_GATE, &r);
    assert_int_equal(r.n_ev, 2);
    assert_int_equal(r.ev[1].kind, CCAI_VAD_SPEECH_END);
    assert_true(r.ev[1].last_voiced_ms >= 1960);
    free(x);

    x = noise(4000, -55.0);
    burst(x, 500, 1100, -26.0);
    burst(x, 1800, 2400, -26.0);
    run(&p, x, 4000, 160, CCAI_VAD_NO_GATE, &r);
    assert_int_equal(r.n_ev, 4);
    assert_int_equal(r.ev[1].kind, CCAI_VAD_SPEECH_END);
    assert_int_equal(r.ev[2].kind, CCAI_VAD_SPEECH_START);
    free(x);
}

/* Any chunking gives the same frames and events. */
static void test_chunking(void **state)
{
    (void)state;
    Ccai_vad_params p;
    Ccai_vad_params_default(&p);
    int16_t *x = noise(4000, -50.0);
    burst(x, 700, 1900, -30.0);
    burst(x, 2600, 2800, -22.0);
    static rec a, b;
    run(&p, x, 4000, 4000 * 8, CCAI_VAD_NO_GATE, &a);
    const size_t chunks[] = {1, 7, 80, 160, 333, 1000};
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        run(&p, x, 4000, chunks[i], CCAI_VAD_NO_GATE, &b);
        assert_int_equal(a.n_frames, b.n_frames);
        assert_memory_equal(a.level, b.level, a.n_frames * sizeof a.level[0]);
        assert_memory_equal(a.speech, b.speech, a.n_frames * sizeof a.speech[0]);
        assert_int_equal(a.n_ev, b.n_ev);
        assert_memory_equal(a.ev, b.ev, a.n_ev * sizeof a.ev[0]);
    }
    /* A start and an end, then a short word: an end alone. */
    assert_int_equal(a.n_ev, 3);
    assert_int_equal(a.ev[2].kind, CCAI_VAD_SPEECH_END);
    assert_false(a.ev[2].started);
    free(x);
}

/* The floor follows the line: a noise step up is absorbed within ~2 s and
 * speech above the new noise still counts; when the noise goes, quiet
 * speech counts again at once. */
static void test_floor_follows_noise(void **state)
{
    (void)state;
    Ccai_vad_params p;
    Ccai_vad_params_default(&p);
    p.threshold = 0.0;
    int16_t *x = noise(16000, -65.0);
    int16_t *loud = noise(6000, -35.0);
    size_t off = (size_t)RATE * 2, n6 = (size_t)RATE * 6;
    for (size_t i = 0; i < n6; i++)
        x[off + i] = (int16_t)(x[off + i] + loud[i]);
    burst(x, 6000, 7000, -20.0);   /* 15 dB above the loud noise */
    burst(x, 10000, 11000, -48.0); /* 17 dB above the quiet line */
    rec r;
    run(&p, x, 16000, 160, CCAI_VAD_NO_GATE, &r);
    /* After the step is absorbed (4.5..5.9 s), the loud noise is silence. */
    for (size_t i = 225; i < 295; i++)
        assert_false(r.speech[i]);
    size_t starts_late = 0;
    for (size_t e = 0; e < r.n_ev; e++)
        if (r.ev[e].kind == CCAI_VAD_SPEECH_START && r.ev[e].onset_ms >= 5900)
            starts_late++;
    assert_int_equal(starts_late, 2);
    bool quiet_found = false;
    for (size_t e = 0; e < r.n_ev; e++)
        if (r.ev[e].kind == CCAI_VAD_SPEECH_START && r.ev[e].onset_ms >= 9900 &&
            r.ev[e].onset_ms <= 10100)
            quiet_found = true;
    assert_true(quiet_found);
    free(x);
    free(loud);
}

/* vad_threshold on the reference's scale: 0.5 means -26 dBFS. */
static void test_absolute_threshold(void **state)
{
    (void)state;
    Ccai_vad_params p;
    Ccai_vad_params_default(&p);
    int16_t *x = noise(3000, -90.0);
    burst(x, 1000, 2000, -52.0);
    rec r;
    run(&p, x, 3000, 160, CCAI_VAD_NO_GATE, &r); /* default: -46 dBFS */
    assert_int_equal(r.n_ev, 0);
    p.threshold = 0.0;
    run(&p, x, 3000, 160, CCAI_VAD_NO_GATE, &r);
    assert_int_equal(r.n_ev, 2);
    free(x);

    x = noise(3000, -90.0);
    burst(x, 1000, 2000, -32.0);
    p.threshold = 0.5;
    run(&p, x, 3000, 160, CCAI_VAD_NO_GATE, &r);
    assert_int_equal(r.n_ev, 0);
    free(x);
    x = noise(3000, -90.0);
    burst(x, 1000, 2000, -18.0);
    run(&p, x, 3000, 160, CCAI_VAD_NO_GATE, &r);
    assert_int_equal(r.n_ev, 2);
    free(x);
}

/* The gate (the bot's expected echo) raises the threshold. */
static void test_gate(void **state)
{
    (void)state;
    Ccai_vad_params p;
    Ccai_vad_params_default(&p);
    int16_t *x = noise(3000, -60.0);
    burst(x, 1000, 2000, -30.0);
    rec r;
    run(&p, x, 3000, 160, -20.0, &r);
    assert_int_equal(r.n_ev, 0);
    assert_int_equal(r.n_voiced, 0);
    run(&p, x, 3000, 160, -40.0, &r);
    assert_int_equal(r.n_ev, 2);
    run(&p, x, 3000, 160, CCAI_VAD_NO_GATE, &r);
    assert_int_equal(r.n_ev, 2);
    free(x);
}

/* A caller under the bot's echo: sounds as loud as the echo (under the
 * gate, above the absolute threshold) cannot be told from it. Inside a run
 * they do not break it (a short pause of the caller's hidden by the echo),
 * and before one they are its onset (the caller's first, quieter sounds):
 * the start comes within the cut-off of the caller's onset. They never
 * start speech on their own, nor hold a turn open. */
static void test_gate_masked(void **state)
{
    (void)state;
    Ccai_vad_params p;
    Ccai_vad_params_default(&p);
    const double gate = -30.0;
    /* "stop ... please": 160 ms loud, 240 ms under the echo, loud again. */
    int16_t *x = noise(3000, -60.0);
    burst(x, 1000, 1160, -16.0);
    burst(x, 1160, 1400, -38.0);
    burst(x, 1400, 2000, -16.0);
    rec r;
    run(&p, x, 3000, 160, gate, &r);
    assert_true(r.n_ev >= 1);
    assert_int_equal(r.ev[0].kind, CCAI_VAD_SPEECH_START);
    print_message("# a pause under the echo: start %u ms after the onset\n",
                  (unsigned)(r.ev[0].at_ms - 1000));
    assert_true(r.ev[0].at_ms - 1000 <= 260);
    free(x);
    /* A quiet onset under the echo, then loud. */
    x = noise(3000, -60.0);
    burst(x, 1000, 1100, -38.0);
    burst(x, 1100, 1700, -16.0);
    run(&p, x, 3000, 160, gate, &r);
    assert_true(r.n_ev >= 1);
    assert_int_equal(r.ev[0].kind, CCAI_VAD_SPEECH_START);
    print_message("# an onset under the echo: start %u ms after it\n",
                  (unsigned)(r.ev[0].at_ms - 1000));
    assert_true(r.ev[0].at_ms - 1000 <= 260);
    free(x);
    /* The echo alone: nothing. */
    x = noise(3000, -60.0);
    burst(x, 500, 2800, -36.0);
    run(&p, x, 3000, 160, gate, &r);
    assert_int_equal(r.n_ev, 0);
    assert_int_equal(r.n_voiced, 0);
    free(x);
    /* A turn over the echo ends 500 ms after its last voiced frame, the
     * echo going on. */
    x = noise(4000, -60.0);
    burst(x, 1000, 1600, -16.0);
    burst(x, 1600, 3900, -38.0);
    run(&p, x, 4000, 160, gate, &r);
    assert_int_equal(r.n_ev, 2);
    assert_int_equal(r.ev[1].kind, CCAI_VAD_SPEECH_END);
    assert_true(r.ev[1].turn);
    assert_true(r.ev[1].at_ms <= 1600 + 500 + 100);
    free(x);
}

static void test_preprocessing(void **state)
{
    (void)state;
    const uint32_t rates[4] = {8000, 16000, 24000, 48000};
    for (int k = 0; k < 4; k++) {
        Ccai_vad_params p;
        Ccai_vad_params_default(&p);
        p.denoise = true;
        p.agc = k % 2 == 1;
        Ccai_vad *v = NULL;
        assert_int_equal(Ccai_vad_new(&p, rates[k], &v), CCAI_OK);
        Ccai_vad_free(v);
    }
    Ccai_vad_params p;
    Ccai_vad_params_default(&p);
    p.denoise = true;
    int16_t *x = noise(5000, -50.0);
    burst(x, 2000, 3500, -26.0);
    rec r;
    run(&p, x, 5000, 160, CCAI_VAD_NO_GATE, &r);
    assert_int_equal(r.n_ev, 2);
    assert_true(r.ev[0].onset_ms >= 1900 && r.ev[0].onset_ms <= 2100);
    free(x);
}

/* The held-out corpus (never used to choose the defaults), as a caller on
 * a telephone line: G.711, noise at 20 and 10 dB SNR, a quiet caller. */
static void test_corpus(void **state)
{
    (void)state;
    speech_track base;
    if (!speech_load("caller-test", &base))
        skip(); /* espeak-ng or sox missing at build time */
    assert_int_equal(base.n_utt, 10);
    static const struct {
        speech_noise kind;
        double snr, level;
    } cond[] = {
        {NOISE_NONE, 0, -26},  {NOISE_WHITE, 20, -26}, {NOISE_WHITE, 10, -26},
        {NOISE_PINK, 10, -26}, {NOISE_NONE, 0, -40},   {NOISE_PINK, 20, -40},
    };
    Ccai_vad_params p;
    Ccai_vad_params_default(&p);
    for (size_t c = 0; c < sizeof cond / sizeof cond[0]; c++) {
        speech_track t;
        assert_true(speech_copy(&base, &t));
        speech_set_level(&t, cond[c].level);
        speech_add_noise(&t, cond[c].kind, cond[c].snr, 3 + (uint32_t)c);
        speech_ulaw_roundtrip(t.pcm, t.n);
        vad_score s;
        assert_true(speech_score_vad(&t, t.pcm, NULL, &p, &s));
        print_message("# %s %.0f dB SNR, speech at %.0f dBFS: precision %.3f recall %.3f, "
                      "turns %zu/%zu, starts %zu, false %zu/%zu, onset %.0f ms, end %.0f ms\n",
                      speech_noise_name(cond[c].kind), cond[c].snr, cond[c].level,
                      vad_score_precision(&s), vad_score_recall(&s), s.detected, s.utterances,
                      s.started, s.false_starts, s.false_turns, speech_mean(s.onset, s.n_onset),
                      speech_mean(s.offset, s.n_offset));
        assert_int_equal(s.detected, s.utterances); /* every turn ends once */
        assert_int_equal(s.split, 0);
        assert_int_equal(s.merged, 0);
        assert_int_equal(s.false_starts, 0);
        assert_int_equal(s.false_turns, 0);
        assert_true(s.started >= 9);
        assert_true(vad_score_precision(&s) > 0.9);
        assert_true(vad_score_recall(&s) > 0.8);
        /* A start needs 240 ms of speech (the last 20 ms frame within the
         * 250 ms cut-off); an end comes 500 ms after it. */
        assert_true(speech_mean(s.onset, s.n_onset) >= 240.0);
        assert_true(speech_mean(s.onset, s.n_onset) < 600.0);
        assert_true(speech_max(s.offset, s.n_offset) <= 520.0);
        speech_free(&t);
    }
    speech_free(&base);
}

static ccai_status sc_vad(void)
{
    Ccai_vad_params p;
    Ccai_vad_params_default(&p);
    Ccai_vad *v = NULL;
    ccai_status st = Ccai_vad_new(&p, 16000, &v);
    if (st == CCAI_OK) {
        int16_t x[500] = {0};
        Ccai_vad_process(v, x, 500, CCAI_VAD_NO_GATE, NULL, NULL);
        if (Ccai_vad_position_ms(v) != 31)
            st = CCAI_ERR_INTERNAL;
    }
    Ccai_vad_free(v);
    return st;
}

static void test_oom(void **state)
{
    (void)state;
    int nomem = 0;
    assert_int_equal(oom_exhaust("vad", sc_vad, &nomem), 1);
    assert_int_equal(nomem, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_invalid),
        cmocka_unit_test(test_silence),
        cmocka_unit_test(test_burst_events),
        cmocka_unit_test(test_blips_and_short_words),
        cmocka_unit_test(test_pauses),
        cmocka_unit_test(test_chunking),
        cmocka_unit_test(test_floor_follows_noise),
        cmocka_unit_test(test_absolute_threshold),
        cmocka_unit_test(test_gate),
        cmocka_unit_test(test_gate_masked),
        cmocka_unit_test(test_preprocessing),
        cmocka_unit_test(test_corpus),
        cmocka_unit_test(test_oom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
