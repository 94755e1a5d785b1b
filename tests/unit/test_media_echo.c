/* Echo: the gate's levels and windows, the canceller's contract, then the
 * bot's own voice fed back into the caller's line at -10 dB after 40, 120
 * and 200 ms (held-out corpus, G.711 both ways, line noise): without
 * handling it starts "speech" (the test bites), with the gate it never
 * does, and a caller talking over the bot is still heard. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "media/echo.h"
#include "media/vad.h"
#include "support/oom.h"
#include "support/speech.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void fill(int16_t *x, size_t n, double dbfs)
{
    /* A square wave has RMS equal to its amplitude. */
    int16_t a = (int16_t)lrint(32768.0 * pow(10.0, dbfs / 20.0));
    for (size_t i = 0; i < n; i++)
        x[i] = (i / 10) % 2 ? a : (int16_t)-a;
}

static void test_gate_params(void **state)
{
    (void)state;
    Ccai_echo_gate_params p;
    Ccai_echo_gate_params_default(&p);
    assert_int_equal(p.max_delay_ms, 300);
    Ccai_echo_gate *g = NULL;
    Ccai_echo_gate_params bad = p;
    bad.min_delay_ms = 400;
    assert_int_equal(Ccai_echo_gate_new(&bad, &g), CCAI_ERR_INVALID_ARG);
    bad = p;
    bad.max_delay_ms = 2001;
    assert_int_equal(Ccai_echo_gate_new(&bad, &g), CCAI_ERR_INVALID_ARG);
    bad = p;
    bad.erl_db = 61.0;
    assert_int_equal(Ccai_echo_gate_new(&bad, &g), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_echo_gate_new(NULL, &g), CCAI_ERR_INVALID_ARG);
    assert_null(g);
    Ccai_echo_gate_free(NULL);
}

static void test_gate_levels(void **state)
{
    (void)state;
    Ccai_echo_gate_params p;
    Ccai_echo_gate_params_default(&p);
    p.erl_db = 6.0;
    p.margin_db = 2.0;
    p.min_delay_ms = 20;
    p.max_delay_ms = 200;
    Ccai_echo_gate *g = NULL;
    assert_int_equal(Ccai_echo_gate_new(&p, &g), CCAI_OK);
    /* Nothing played yet: no gate. */
    assert_true(Ccai_echo_gate_level(g, 1000, 20) == CCAI_VAD_NO_GATE);
    int16_t f[160];
    fill(f, 160, -20.0);
    Ccai_echo_gate_far(g, 1000, f, 160, 8000); /* played 1000..1020 */
    fill(f, 160, -30.0);
    Ccai_echo_gate_far(g, 1020, f, 160, 8000); /* played 1020..1040 */
    /* Caller audio heard 1040..1060 may hold echo of both: the louder. */
    assert_true(fabs(Ccai_echo_gate_level(g, 1040, 20) - (-20.0 - 6.0 + 2.0)) < 0.01);
    /* 1000..1020 is before the shortest delay after 1000: no echo yet. */
    assert_true(Ccai_echo_gate_level(g, 990, 20) == CCAI_VAD_NO_GATE);
    /* At 1210 only the -30 dB frame is within 200 ms. */
    assert_true(fabs(Ccai_echo_gate_level(g, 1225, 20) - (-30.0 - 6.0 + 2.0)) < 0.01);
    /* Long after: no gate again. */
    assert_true(Ccai_echo_gate_level(g, 1300, 20) == CCAI_VAD_NO_GATE);
    /* The ring keeps recent times only: audio played at 100 s lands in a
     * slot that times near 2.98 s share; asking about 3 s (nothing was
     * played then) must not see it. */
    fill(f, 160, -40.0);
    Ccai_echo_gate_far(g, 100000, f, 160, 8000);
    assert_true(fabs(Ccai_echo_gate_level(g, 100030, 20) - (-40.0 - 6.0 + 2.0)) < 0.01);
    for (uint64_t t = 2000; t < 4000; t += 20)
        assert_true(Ccai_echo_gate_level(g, t, 20) == CCAI_VAD_NO_GATE);
    /* A long chunk (2 s at once) gates up to its end. */
    int16_t *longf = calloc(16000, sizeof *longf);
    assert_non_null(longf);
    fill(longf, 16000, -25.0);
    Ccai_echo_gate_far(g, 200000, longf, 16000, 8000);
    assert_true(fabs(Ccai_echo_gate_level(g, 202000, 20) - (-25.0 - 6.0 + 2.0)) < 0.01);
    assert_true(Ccai_echo_gate_level(g, 202300, 20) == CCAI_VAD_NO_GATE);
    free(longf);
    Ccai_echo_gate_free(g);
}

/* Adaptive: the echo path is measured while the caller is silent; the gate
 * follows the echo expected, not the bot's level. */
static void test_gate_adapts(void **state)
{
    (void)state;
    Ccai_echo_gate_params p;
    Ccai_echo_gate_params_default(&p);
    assert_true(p.adaptive);
    Ccai_echo_gate_params bad = p;
    bad.max_erl_db = 3.0; /* below erl_db */
    Ccai_echo_gate *g = NULL;
    assert_int_equal(Ccai_echo_gate_new(&bad, &g), CCAI_ERR_INVALID_ARG);
    bad = p;
    bad.erl_window_ms = 100;
    assert_int_equal(Ccai_echo_gate_new(&bad, &g), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_echo_gate_new(&p, &g), CCAI_OK);
    int16_t f[160];
    fill(f, 160, -20.0);
    /* Unmeasured: the assumed 6 dB. */
    Ccai_echo_gate_far(g, 1000, f, 160, 8000);
    assert_true(fabs(Ccai_echo_gate_level(g, 1000, 20) - (-26.0)) < 0.01);
    /* The line brings the bot back 12 dB down; a louder voiced frame (the
     * caller) is not a measurement, nor are the 100 ms before it (the
     * caller's first sounds, quieter than the VAD needs). The loss is
     * used once 400 ms of line are measured: the assumed 6 dB until then. */
    uint64_t t = 1000;
    for (int i = 0; i < 30; i++, t += 20) {
        Ccai_echo_gate_far(g, t, f, 160, 8000);
        Ccai_echo_gate_near(g, t, 20, -32.0, false);
    }
    assert_true(fabs(Ccai_echo_gate_erl(g) - 6.0) < 0.01);
    for (int i = 0; i < 100; i++, t += 20) {
        Ccai_echo_gate_far(g, t, f, 160, 8000);
        Ccai_echo_gate_near(g, t, 20, i % 10 == 9 ? -28.0 : -32.0, false);
        if (i % 10 == 9) {
            t += 20;
            Ccai_echo_gate_far(g, t, f, 160, 8000);
            Ccai_echo_gate_near(g, t, 20, -15.0, true);
        }
    }
    assert_true(fabs(Ccai_echo_gate_erl(g) - 12.0) < 0.01);
    /* Expected echo -32, plus the 3 dB margin: -29. */
    assert_true(fabs(Ccai_echo_gate_level(g, t - 20, 20) - (-29.0)) < 0.01);
    /* A quiet bot (below -50 dBFS) measures nothing. */
    int16_t q[160];
    fill(q, 160, -60.0);
    for (int i = 0; i < 200; i++, t += 20) {
        Ccai_echo_gate_far(g, t, q, 160, 8000);
        Ccai_echo_gate_near(g, t, 20, -100.0, false);
    }
    assert_true(fabs(Ccai_echo_gate_erl(g) - 12.0) < 0.01);
    /* A line that brings nothing back, measured for longer than the
     * window: the highest ERL assumed, and the caller's quiet word
     * (unvoiced) among it lowers it again (once measured: 100 ms on). */
    for (int i = 0; i < 200; i++, t += 20) {
        Ccai_echo_gate_far(g, t, f, 160, 8000);
        Ccai_echo_gate_near(g, t, 20, -100.0, false);
    }
    assert_true(fabs(Ccai_echo_gate_erl(g) - 40.0) < 0.01);
    for (int i = 0; i < 1 + 6; i++, t += 20) {
        Ccai_echo_gate_far(g, t, f, 160, 8000);
        Ccai_echo_gate_near(g, t, 20, i < 1 ? -25.0 : -100.0, false);
    }
    assert_true(fabs(Ccai_echo_gate_erl(g) - 5.0) < 0.01);
    /* A pause of the bot longer than the window forgets nothing: the
     * window counts the line measured, not the clock. */
    t += 60000;
    Ccai_echo_gate_far(g, t, f, 160, 8000);
    Ccai_echo_gate_near(g, t, 20, -100.0, false);
    assert_true(fabs(Ccai_echo_gate_erl(g) - 5.0) < 0.01);
    Ccai_echo_gate_free(g);
    /* Not adaptive: measurements change nothing. */
    p.adaptive = false;
    assert_int_equal(Ccai_echo_gate_new(&p, &g), CCAI_OK);
    Ccai_echo_gate_far(g, 1000, f, 160, 8000);
    Ccai_echo_gate_near(g, 1000, 20, -100.0, false);
    assert_true(fabs(Ccai_echo_gate_level(g, 1000, 20) - (-26.0)) < 0.01);
    Ccai_echo_gate_free(g);
}

/* Speech-like levels of the bot: syllables (60-200 ms) at -14..-30 dBFS
 * and pauses (100-400 ms), from a seeded generator. */
static void bot_levels(double *lv, size_t n, uint32_t seed)
{
    size_t i = 0;
    while (i < n) {
        seed = seed * 1103515245u + 12345u;
        size_t syl = 3 + (seed >> 16) % 8;
        double level = -14.0 - (double)((seed >> 8) % 16);
        for (size_t k = 0; k < syl && i < n; k++)
            lv[i++] = level;
        seed = seed * 1103515245u + 12345u;
        if ((seed >> 16) % 3 == 0) {
            size_t pause = 5 + (seed >> 8) % 15;
            for (size_t k = 0; k < pause && i < n; k++)
                lv[i++] = -100.0;
        }
    }
}

/* Aligned: the gate finds the echo's delay from the line while the caller
 * is silent, and then waits for the echo of what the bot says now, not
 * for its loudest sound of the last max_delay_ms. */
static void test_gate_delay(void **state)
{
    (void)state;
    enum { FRAMES = 400 }; /* 8 s of 20 ms frames */
    double lv[FRAMES];
    const uint32_t delays[] = {0, 60, 140, 280};
    for (size_t d = 0; d < CCAI_ARRAY_SIZE(delays); d++) {
        bot_levels(lv, FRAMES, 11 + (uint32_t)d);
        Ccai_echo_gate_params p;
        Ccai_echo_gate_params_default(&p);
        assert_true(p.align);
        Ccai_echo_gate *g = NULL, *wide = NULL;
        assert_int_equal(Ccai_echo_gate_new(&p, &g), CCAI_OK);
        assert_int_equal(Ccai_echo_gate_delay(g), -1);
        /* The same bot and line through an unaligned gate. */
        p.align = false;
        assert_int_equal(Ccai_echo_gate_new(&p, &wide), CCAI_OK);
        int16_t f[160];
        size_t lag = delays[d] / 20, quieter = 0;
        for (size_t i = 0; i < FRAMES; i++) {
            uint64_t t = 10000 + i * 20;
            if (lv[i] > -90.0) {
                fill(f, 160, lv[i]);
                Ccai_echo_gate_far(g, t, f, 160, 8000);
                Ccai_echo_gate_far(wide, t, f, 160, 8000);
            }
            /* The line: the bot 10 dB down after the delay, over -70 dBFS
             * of noise. */
            double echo = i >= lag && lv[i - lag] > -90.0 ? lv[i - lag] - 10.0 : -100.0;
            double line = 10.0 * log10(pow(10.0, echo / 10.0) + pow(10.0, -7.0));
            /* Once the delay is known (4 s in), the gate of each frame is
             * above the echo it brings (no false barge-in) and, where the
             * bot went quiet 60+ ms before the echo's source, far under
             * what the whole window asks. */
            if (i >= 200) {
                double gate = Ccai_echo_gate_level(g, t, 20);
                assert_true(echo < -90.0 || gate >= echo);
                if (lv[i - lag] < -90.0 && lv[i - lag - 3] < -90.0 && i - lag + 3 < FRAMES &&
                    lv[i - lag + 3] < -90.0 && Ccai_echo_gate_level(wide, t, 20) > gate + 10.0)
                    quieter++;
            }
            Ccai_echo_gate_near(g, t, 20, line, false);
            Ccai_echo_gate_near(wide, t, 20, line, false);
        }
        print_message("# echo after %u ms: estimated %lld ms, ERL %.1f dB; %zu frames gated "
                      "10 dB lower than without the delay\n",
                      delays[d], (long long)Ccai_echo_gate_delay(g), Ccai_echo_gate_erl(g),
                      quieter);
        assert_true(llabs(Ccai_echo_gate_delay(g) - (int64_t)delays[d]) <= 10);
        assert_true(fabs(Ccai_echo_gate_erl(g) - 10.0) < 1.5);
        assert_true(quieter >= 5);
        assert_int_equal(Ccai_echo_gate_delay(wide), -1);
        Ccai_echo_gate_free(g);
        Ccai_echo_gate_free(wide);
    }
    /* A line that brings nothing back: no delay, whatever the bot says. */
    Ccai_echo_gate_params p;
    Ccai_echo_gate_params_default(&p);
    Ccai_echo_gate *g = NULL;
    assert_int_equal(Ccai_echo_gate_new(&p, &g), CCAI_OK);
    bot_levels(lv, FRAMES, 5);
    int16_t f[160];
    for (size_t i = 0; i < FRAMES; i++) {
        uint64_t t = 10000 + i * 20;
        if (lv[i] > -90.0) {
            fill(f, 160, lv[i]);
            Ccai_echo_gate_far(g, t, f, 160, 8000);
        }
        Ccai_echo_gate_near(g, t, 20, -70.0 + (double)(i % 3) * 0.1, false);
    }
    assert_int_equal(Ccai_echo_gate_delay(g), -1);
    Ccai_echo_gate_free(g);
}

static void test_canceller_contract(void **state)
{
    (void)state;
    Ccai_echo_canceller *ec = NULL;
    assert_int_equal(Ccai_echo_canceller_new(8000, 100, 200, &ec), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_echo_canceller_new(11025, 220, 200, &ec), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_echo_canceller_new(8000, 160, 10, &ec), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_echo_canceller_new(8000, 160, 2000, &ec), CCAI_ERR_INVALID_ARG);
    assert_null(ec);
    Ccai_echo_canceller_free(NULL);
    assert_int_equal(Ccai_echo_canceller_new(16000, 160, 100, &ec), CCAI_OK);
    assert_int_equal(Ccai_echo_canceller_frame(ec), 160);
    /* No far audio: the near end passes (speexdsp's canceller has nothing
     * to subtract). */
    int16_t near[160], out[160];
    fill(near, 160, -20.0);
    double in_db = Ccai_media_level_db(near, 160);
    for (int i = 0; i < 50; i++)
        Ccai_echo_canceller_process(ec, near, NULL, out);
    assert_true(fabs(Ccai_media_level_db(out, 160) - in_db) < 3.0);
    Ccai_echo_canceller_free(ec);
}

typedef struct line_result {
    vad_score s;
    size_t bargein, bargein_started; /* caller turns that begin while the bot talks */
} line_result;

static void run_line(const speech_track *caller, const speech_track *far, uint32_t delay,
                     bool with_caller, bool gate, uint32_t aec_tail, line_result *r)
{
    echo_line line = {.delay_ms = delay, .echo_db = -10.0, .gate = gate, .aec_tail_ms = aec_tail};
    Ccai_echo_gate_params_default(&line.gate_params);
    int16_t *near = NULL;
    double *g = NULL;
    assert_true(speech_echo_line(with_caller ? caller : NULL, far, caller->n, &line, &near, &g));
    Ccai_vad_params p;
    Ccai_vad_params_default(&p);
    memset(r, 0, sizeof *r);
    assert_true(speech_score_vad(caller, near, g, &p, &r->s));
    for (size_t u = 0; u < caller->n_utt; u++) {
        size_t f0 = (size_t)(caller->utt[u].start_ms / 20);
        bool talking = false;
        for (size_t k = f0; k < f0 + 5 && k < far->n_frames; k++)
            talking |= far->truth[k];
        if (talking) {
            r->bargein++;
            r->bargein_started += r->s.utt_started[u];
        }
    }
    free(near);
    free(g);
}

static void test_bot_echo(void **state)
{
    (void)state;
    speech_track caller, bot, far;
    if (!speech_load("caller-test", &caller))
        skip(); /* espeak-ng or sox missing at build time */
    assert_true(speech_load("bot-test", &bot));
    speech_set_level(&caller, -26.0);
    speech_set_level(&bot, -26.0);
    speech_ulaw_roundtrip(caller.pcm, caller.n);
    assert_true(speech_far(&bot, caller.n, &far));
    const uint32_t delays[3] = {40, 120, 200};
    for (int d = 0; d < 3; d++) {
        line_result r;
        /* The echo alone, no handling: the bot barges in on itself. Every
         * start or turn here is false (the caller is silent). */
        run_line(&caller, &far, delays[d], false, false, 0, &r);
        size_t raw = r.s.started + r.s.false_starts;
        print_message("# echo %u ms, no handling: %zu false starts\n", delays[d], raw);
        assert_true(raw >= 3);

        /* The gate: no false start, no false turn. */
        run_line(&caller, &far, delays[d], false, true, 0, &r);
        assert_int_equal(r.s.started + r.s.false_starts, 0);
        assert_int_equal(r.s.detected + r.s.false_turns, 0);

        /* The caller on top of it: every turn still ends, the caller's
         * speech over the bot still starts (barge-in), nothing false. */
        run_line(&caller, &far, delays[d], true, true, 0, &r);
        print_message("# echo %u ms, gate, caller talking: turns %zu/%zu, barge-in %zu/%zu, "
                      "onset %.0f ms\n",
                      delays[d], r.s.detected, r.s.utterances, r.bargein_started, r.bargein,
                      speech_mean(r.s.onset, r.s.n_onset));
        assert_int_equal(r.s.detected, r.s.utterances);
        assert_true(r.bargein >= 5);
        assert_true(r.bargein_started * 10 >= r.bargein * 8);
        assert_int_equal(r.s.false_starts, 0);
        assert_int_equal(r.s.false_turns, 0);

        /* The canceller alone (tail 256 ms): the echo is mostly gone once
         * it has converged; count what is left. */
        run_line(&caller, &far, delays[d], false, false, 256, &r);
        size_t aec = r.s.started + r.s.false_starts;
        print_message("# echo %u ms, canceller: %zu false starts\n", delays[d], aec);
        assert_true(aec < raw);
    }
    speech_free(&caller);
    speech_free(&bot);
    speech_free(&far);
}

static ccai_status sc_echo(void)
{
    Ccai_echo_gate_params p;
    Ccai_echo_gate_params_default(&p);
    Ccai_echo_gate *g = NULL;
    ccai_status st = Ccai_echo_gate_new(&p, &g);
    if (st != CCAI_OK)
        return st;
    Ccai_echo_canceller *ec = NULL;
    st = Ccai_echo_canceller_new(8000, 80, 100, &ec);
    if (st == CCAI_OK) {
        int16_t near[80] = {0}, out[80];
        Ccai_echo_gate_far(g, 0, near, 80, 8000);
        Ccai_echo_canceller_process(ec, near, NULL, out);
        if (Ccai_echo_gate_level(g, 0, 10) == CCAI_VAD_NO_GATE)
            st = CCAI_ERR_INTERNAL;
    }
    Ccai_echo_canceller_free(ec);
    Ccai_echo_gate_free(g);
    return st;
}

static void test_oom(void **state)
{
    (void)state;
    int nomem = 0;
    assert_int_equal(oom_exhaust("echo", sc_echo, &nomem), 2);
    assert_int_equal(nomem, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gate_params),
        cmocka_unit_test(test_gate_levels),
        cmocka_unit_test(test_gate_adapts),
        cmocka_unit_test(test_gate_delay),
        cmocka_unit_test(test_canceller_contract),
        cmocka_unit_test(test_bot_echo),
        cmocka_unit_test(test_oom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
