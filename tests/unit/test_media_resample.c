/* The speexdsp resampler wrapper and the format converter: any block size
 * gives the same stream, tones survive, what cannot be represented at the
 * lower rate is filtered out, formats and channels map as documented, and
 * every allocation failure is reported. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "media/resample.h"
#include "support/oom.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const uint32_t rates[4] = {8000, 16000, 24000, 48000};

static int16_t *tone(uint32_t rate, double hz, double dbfs, size_t n, uint32_t channels)
{
    int16_t *x = malloc(n * channels * sizeof *x);
    assert_non_null(x);
    double a = 32768.0 * pow(10.0, dbfs / 20.0) * sqrt(2.0);
    for (size_t i = 0; i < n; i++)
        for (uint32_t c = 0; c < channels; c++)
            x[i * channels + c] =
                (int16_t)lrint(a * sin(2.0 * M_PI * hz * (double)i / rate + c * 0.5));
    return x;
}

/* Power (dB relative to full-scale sine) and SNR of the best-fitting sine
 * of hz in y: least squares on sin, cos, constant. */
static void fit_tone(const int16_t *y, size_t n, double hz, uint32_t rate, double *ret_snr,
                     double *ret_rms_db)
{
    double ss = 0, cc = 0, sc = 0, sy = 0, cy = 0;
    for (size_t i = 0; i < n; i++) {
        double w = 2.0 * M_PI * hz * (double)i / rate;
        double s = sin(w), c = cos(w);
        ss += s * s;
        cc += c * c;
        sc += s * c;
        sy += s * y[i];
        cy += c * y[i];
    }
    double det = ss * cc - sc * sc;
    double a = (sy * cc - cy * sc) / det, b = (cy * ss - sy * sc) / det;
    double sig = 0, res = 0, tot = 0;
    for (size_t i = 0; i < n; i++) {
        double w = 2.0 * M_PI * hz * (double)i / rate;
        double f = a * sin(w) + b * cos(w);
        sig += f * f;
        res += (y[i] - f) * (y[i] - f);
        tot += (double)y[i] * y[i];
    }
    *ret_snr = 10.0 * log10(sig / (res > 1e-9 ? res : 1e-9));
    *ret_rms_db = 10.0 * log10(tot / (double)n / (32768.0 * 32768.0) + 1e-20);
}

static void test_invalid(void **state)
{
    (void)state;
    Ccai_resampler *r = NULL;
    assert_int_equal(Ccai_resampler_new(11025, 8000, 1, 3, &r), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_resampler_new(8000, 44100, 1, 3, &r), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_resampler_new(8000, 16000, 3, 3, &r), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_resampler_new(8000, 16000, 1, 11, &r), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_resampler_new(8000, 16000, 1, -1, &r), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_resampler_new(8000, 16000, 1, 3, NULL), CCAI_ERR_INVALID_ARG);
    assert_null(r);
    Ccai_resampler_free(NULL);

    Ccai_media_converter *c = NULL;
    Ccai_media_format ok = {CCAI_MEDIA_ULAW, 8000, 1}, bad = {CCAI_MEDIA_ULAW, 22050, 1};
    assert_int_equal(Ccai_media_converter_new(&ok, &bad, 3, &c), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_media_converter_new(&bad, &ok, 3, &c), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_media_converter_new(&ok, &ok, 12, &c), CCAI_ERR_INVALID_ARG);
    assert_null(c);
    Ccai_media_converter_free(NULL);
}

/* One block or random blocks: the same output, for every pair of rates. */
static void test_block_size_invariance(void **state)
{
    (void)state;
    srand(11);
    for (uint32_t ch = 1; ch <= 2; ch++)
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) {
                size_t n = rates[i] / 2; /* 500 ms */
                int16_t *x = tone(rates[i], 440.0, -20.0, n, ch);
                Ccai_resampler *a = NULL, *b = NULL;
                assert_int_equal(Ccai_resampler_new(rates[i], rates[j], ch, 3, &a), CCAI_OK);
                assert_int_equal(Ccai_resampler_new(rates[i], rates[j], ch, 3, &b), CCAI_OK);
                size_t cap = Ccai_resampler_max_out(a, n);
                int16_t *ya = malloc(cap * ch * sizeof *ya), *yb = malloc(cap * ch * sizeof *yb);
                assert_non_null(ya);
                assert_non_null(yb);
                size_t na = 0, nb = 0;
                assert_int_equal(Ccai_resampler_process(a, x, n, ya, cap, &na), CCAI_OK);
                for (size_t off = 0; off < n;) {
                    size_t k = 1 + (size_t)rand() % 700;
                    if (k > n - off)
                        k = n - off;
                    size_t got = 0;
                    size_t room = Ccai_resampler_max_out(b, k);
                    static int16_t tmp[16384];
                    assert_true(room * ch <= 16384);
                    assert_int_equal(Ccai_resampler_process(b, x + off * ch, k, tmp, room, &got),
                                     CCAI_OK);
                    assert_true(nb + got <= cap);
                    memcpy(yb + nb * ch, tmp, got * ch * sizeof *tmp);
                    nb += got;
                    off += k;
                }
                assert_int_equal(na, nb);
                assert_memory_equal(ya, yb, na * ch * sizeof *ya);
                /* Length: the rate ratio, the filter's delay kept inside. */
                size_t want = (size_t)((uint64_t)n * rates[j] / rates[i]);
                assert_true(na + 2 >= want && na <= want + 2);
                if (rates[i] == rates[j])
                    assert_memory_equal(ya, x, n * ch * sizeof *x);
                Ccai_resampler_free(a);
                Ccai_resampler_free(b);
                free(x);
                free(ya);
                free(yb);
            }
}

/* A 1 kHz tone through every pair keeps its level and stays clean. */
static void test_tone_fidelity(void **state)
{
    (void)state;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
            size_t n = rates[i]; /* 1 s */
            int16_t *x = tone(rates[i], 1000.0, -12.0, n, 1);
            Ccai_resampler *r = NULL;
            assert_int_equal(
                Ccai_resampler_new(rates[i], rates[j], 1, CCAI_RESAMPLE_QUALITY_DEFAULT, &r),
                CCAI_OK);
            size_t cap = Ccai_resampler_max_out(r, n), got = 0;
            int16_t *y = malloc(cap * sizeof *y);
            assert_non_null(y);
            assert_int_equal(Ccai_resampler_process(r, x, n, y, cap, &got), CCAI_OK);
            size_t skip = Ccai_resampler_latency(r) + rates[j] / 100;
            double snr = 0, db = 0;
            fit_tone(y + skip, got - skip, 1000.0, rates[j], &snr, &db);
            print_message("# %5u -> %5u Hz: 1 kHz tone SNR %.1f dB, level %.2f dBFS, latency %zu\n",
                          rates[i], rates[j], snr, db, Ccai_resampler_latency(r));
            assert_true(snr > 40.0);
            assert_true(fabs(db - (-12.0)) < 0.5);
            Ccai_resampler_free(r);
            free(x);
            free(y);
        }
}

/* Tones above 4 kHz cannot exist at 8 kHz: down to 8 kHz they must
 * vanish, not fold back below 4 kHz. */
static void test_alias_rejection(void **state)
{
    (void)state;
    const double hz[3] = {4600.0, 5000.0, 6000.0};
    for (int i = 1; i < 4; i++)
        for (int k = 0; k < 3; k++) {
            size_t n = rates[i];
            int16_t *x = tone(rates[i], hz[k], -6.0, n, 1);
            Ccai_resampler *r = NULL;
            assert_int_equal(
                Ccai_resampler_new(rates[i], 8000, 1, CCAI_RESAMPLE_QUALITY_DEFAULT, &r), CCAI_OK);
            size_t cap = Ccai_resampler_max_out(r, n), got = 0;
            int16_t *y = malloc(cap * sizeof *y);
            assert_non_null(y);
            assert_int_equal(Ccai_resampler_process(r, x, n, y, cap, &got), CCAI_OK);
            double snr = 0, db = 0;
            fit_tone(y + 400, got - 400, 8000.0 - hz[k], 8000, &snr, &db);
            print_message("# %5u -> 8000 Hz: a %.0f Hz tone at -6 dBFS leaves %.1f dBFS\n",
                          rates[i], hz[k], db < -120.0 ? -120.0 : db);
            assert_true(db < -40.0);
            Ccai_resampler_free(r);
            free(x);
            free(y);
        }
}

static void test_limits_and_reset(void **state)
{
    (void)state;
    Ccai_resampler *r = NULL;
    assert_int_equal(Ccai_resampler_new(8000, 48000, 1, 3, &r), CCAI_OK);
    int16_t in[160] = {0}, out[2000];
    size_t got = 7;
    size_t need = Ccai_resampler_max_out(r, 160);
    assert_true(need >= 960 && need <= 964);
    assert_int_equal(Ccai_resampler_process(r, in, 160, out, need - 1, &got), CCAI_ERR_LIMIT);
    assert_int_equal(got, 0);
    assert_int_equal(Ccai_resampler_process(r, in, 0, out, 2000, &got), CCAI_OK);
    assert_int_equal(got, 0);
    /* After a reset the same input gives the same output as a fresh one. */
    int16_t *x = tone(8000, 700.0, -10.0, 400, 1);
    int16_t y1[2600], y2[2600];
    size_t n1 = 0, n2 = 0;
    assert_int_equal(Ccai_resampler_process(r, x, 400, y1, 2600, &n1), CCAI_OK);
    assert_int_equal(Ccai_resampler_reset(r), CCAI_OK);
    assert_int_equal(Ccai_resampler_process(r, x, 400, y2, 2600, &n2), CCAI_OK);
    assert_int_equal(n1, n2);
    assert_memory_equal(y1, y2, n1 * sizeof *y1);
    Ccai_resampler_free(r);
    free(x);
}

/* Convert bytes through a converter, in pieces of the given size. */
static size_t convert_all(Ccai_media_converter *c, const uint8_t *in, size_t len, size_t piece,
                          uint8_t *out, size_t cap)
{
    size_t total = 0;
    for (size_t off = 0; off < len; off += piece) {
        size_t k = piece < len - off ? piece : len - off;
        size_t room = Ccai_media_converter_max_out(c, k), got = 0;
        assert_true(total + room <= cap);
        assert_int_equal(Ccai_media_convert(c, in + off, k, out + total, room, &got), CCAI_OK);
        total += got;
    }
    return total;
}

/* Nothing in (NULL, 0: a flush or an empty frame): nothing out, and a
 * partial sample carried stays for the next bytes (UBSan: no memcpy from
 * NULL). */
static void test_converter_empty(void **state)
{
    (void)state;
    Ccai_media_format f_pcm = {CCAI_MEDIA_PCM16, 8000, 1};
    Ccai_media_format f_ulaw = {CCAI_MEDIA_ULAW, 8000, 1};
    Ccai_media_converter *c = NULL;
    assert_int_equal(Ccai_media_converter_new(&f_pcm, &f_ulaw, 3, &c), CCAI_OK);
    uint8_t out[64];
    size_t n = 99;
    assert_int_equal(Ccai_media_convert(c, NULL, 0, out, sizeof out, &n), CCAI_OK);
    assert_int_equal(n, 0);
    const uint8_t half[1] = {0x10};
    assert_int_equal(Ccai_media_convert(c, half, 1, out, sizeof out, &n), CCAI_OK);
    assert_int_equal(Ccai_media_converter_pending(c), 1);
    assert_int_equal(Ccai_media_convert(c, NULL, 0, out, sizeof out, &n), CCAI_OK);
    assert_int_equal(n, 0);
    assert_int_equal(Ccai_media_converter_pending(c), 1);
    Ccai_media_converter_free(c);
}

static void test_converter(void **state)
{
    (void)state;
    /* mu-law 8 kHz -> PCM16 16 kHz equals decode then resample. */
    size_t n = 8000;
    int16_t *x = tone(8000, 500.0, -15.0, n, 1);
    uint8_t *ulaw = malloc(n);
    assert_non_null(ulaw);
    Ccai_media_encode(CCAI_MEDIA_ULAW, x, n, ulaw);
    Ccai_media_format f_ulaw = {CCAI_MEDIA_ULAW, 8000, 1};
    Ccai_media_format f_pcm16 = {CCAI_MEDIA_PCM16, 16000, 1};
    Ccai_media_converter *c = NULL;
    assert_int_equal(Ccai_media_converter_new(&f_ulaw, &f_pcm16, 3, &c), CCAI_OK);
    size_t cap = 4 * n + 1024;
    uint8_t *out = malloc(cap);
    assert_non_null(out);
    size_t got = convert_all(c, ulaw, n, 333, out, cap);
    Ccai_media_converter_free(c);

    int16_t *dec = malloc(n * sizeof *dec), *want = malloc(2 * n * sizeof *want + 64);
    assert_non_null(dec);
    assert_non_null(want);
    Ccai_media_decode(CCAI_MEDIA_ULAW, ulaw, n, dec);
    Ccai_resampler *r = NULL;
    assert_int_equal(Ccai_resampler_new(8000, 16000, 1, 3, &r), CCAI_OK);
    size_t wn = 0;
    assert_int_equal(Ccai_resampler_process(r, dec, n, want, 2 * n + 32, &wn), CCAI_OK);
    Ccai_resampler_free(r);
    assert_int_equal(got, wn * 2);
    int16_t *y = malloc(got);
    assert_non_null(y);
    Ccai_pcm16le_read(out, got / 2, y);
    assert_memory_equal(y, want, wn * sizeof *want);

    /* PCM16 cut inside a sample (odd chunks): the held byte completes it. */
    Ccai_media_format f_pcm8 = {CCAI_MEDIA_PCM16, 8000, 1};
    assert_int_equal(Ccai_media_converter_new(&f_pcm8, &f_ulaw, 3, &c), CCAI_OK);
    uint8_t *le = malloc(2 * n);
    assert_non_null(le);
    Ccai_pcm16le_write(x, n, le);
    uint8_t *back = malloc(n + 64);
    assert_non_null(back);
    size_t bn = convert_all(c, le, 2 * n, 7, back, n + 64);
    assert_int_equal(Ccai_media_converter_pending(c), 0);
    assert_int_equal(bn, n);
    assert_memory_equal(back, ulaw, n);
    size_t g = 9;
    assert_int_equal(Ccai_media_convert(c, le, 1, back, 16, &g), CCAI_OK);
    assert_int_equal(g, 0);
    assert_int_equal(Ccai_media_converter_pending(c), 1);
    assert_int_equal(Ccai_media_converter_reset(c), CCAI_OK);
    assert_int_equal(Ccai_media_converter_pending(c), 0);
    /* Too small an output buffer: refused, nothing consumed. */
    assert_int_equal(Ccai_media_convert(c, le, 320, back, 10, &g), CCAI_ERR_LIMIT);
    assert_int_equal(g, 0);
    assert_int_equal(Ccai_media_converter_pending(c), 0);
    Ccai_media_converter_free(c);

    /* Stereo to mono averages; mono to stereo copies (A-law 48 kHz). */
    Ccai_media_format f_st = {CCAI_MEDIA_PCM16, 48000, 2};
    Ccai_media_format f_mono = {CCAI_MEDIA_PCM16, 48000, 1};
    Ccai_media_format f_a = {CCAI_MEDIA_ALAW, 48000, 2};
    assert_int_equal(Ccai_media_converter_new(&f_st, &f_mono, 3, &c), CCAI_OK);
    int16_t st[4] = {1000, 3000, -200, -600};
    uint8_t stb[8], mb[8];
    Ccai_pcm16le_write(st, 4, stb);
    assert_int_equal(Ccai_media_convert(c, stb, 8, mb, 8, &g), CCAI_OK);
    assert_int_equal(g, 4);
    int16_t m[2];
    Ccai_pcm16le_read(mb, 2, m);
    assert_int_equal(m[0], 2000);
    assert_int_equal(m[1], -400);
    Ccai_media_converter_free(c);
    assert_int_equal(Ccai_media_converter_new(&f_mono, &f_a, 3, &c), CCAI_OK);
    assert_int_equal(Ccai_media_convert(c, mb, 4, stb, 8, &g), CCAI_OK);
    assert_int_equal(g, 4);
    assert_int_equal(stb[0], stb[1]);
    assert_int_equal(stb[0], Ccai_alaw_encode(2000));
    assert_int_equal(stb[2], Ccai_alaw_encode(-400));
    Ccai_media_converter_free(c);

    free(x);
    free(ulaw);
    free(out);
    free(dec);
    free(want);
    free(y);
    free(le);
    free(back);
}

/* Every format pair, random chunk sizes: the output is whole sample frames
 * of the target and its length follows the rate ratio. */
static void test_converter_all_pairs(void **state)
{
    (void)state;
    const Ccai_media_encoding enc[3] = {CCAI_MEDIA_PCM16, CCAI_MEDIA_ULAW, CCAI_MEDIA_ALAW};
    srand(5);
    static uint8_t in[9600], out[256 * 1024];
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (uint8_t)rand();
    for (int e1 = 0; e1 < 3; e1++)
        for (int e2 = 0; e2 < 3; e2++)
            for (int r1 = 0; r1 < 4; r1++)
                for (int r2 = 0; r2 < 4; r2++)
                    for (uint32_t c1 = 1; c1 <= 2; c1++) {
                        uint32_t c2 = 3 - c1;
                        Ccai_media_format a = {enc[e1], rates[r1], c1};
                        Ccai_media_format b = {enc[e2], rates[r2], c2};
                        Ccai_media_converter *c = NULL;
                        assert_int_equal(Ccai_media_converter_new(&a, &b, 0, &c), CCAI_OK);
                        size_t total = 0;
                        for (size_t off = 0; off < sizeof in;) {
                            size_t k = 1 + (size_t)rand() % 1500;
                            if (k > sizeof in - off)
                                k = sizeof in - off;
                            size_t got = 0, room = Ccai_media_converter_max_out(c, k);
                            assert_true(total + room <= sizeof out);
                            assert_int_equal(
                                Ccai_media_convert(c, in + off, k, out + total, room, &got),
                                CCAI_OK);
                            assert_int_equal(got % Ccai_media_block_bytes(&b), 0);
                            total += got;
                            off += k;
                        }
                        size_t in_frames = sizeof in / Ccai_media_block_bytes(&a);
                        size_t want = (size_t)((uint64_t)in_frames * b.rate / a.rate);
                        size_t out_frames = total / Ccai_media_block_bytes(&b);
                        assert_true(out_frames + 3 >= want && out_frames <= want + 3);
                        Ccai_media_converter_free(c);
                    }
}

static ccai_status sc_converter(void)
{
    Ccai_media_format a = {CCAI_MEDIA_ULAW, 8000, 1}, b = {CCAI_MEDIA_PCM16, 24000, 2};
    Ccai_media_converter *c = NULL;
    ccai_status st = Ccai_media_converter_new(&a, &b, 3, &c);
    if (st != CCAI_OK)
        return st;
    uint8_t in[160], out[2048];
    memset(in, 0x55, sizeof in);
    size_t got = 0;
    st = Ccai_media_convert(c, in, sizeof in, out, sizeof out, &got);
    if (st == CCAI_OK && got != 480 * 4 && got + 8 < 480 * 4)
        st = CCAI_ERR_INTERNAL;
    Ccai_media_converter_free(c);
    return st;
}

static ccai_status sc_resampler_same_rate(void)
{
    Ccai_resampler *r = NULL;
    ccai_status st = Ccai_resampler_new(16000, 16000, 1, 3, &r);
    Ccai_resampler_free(r);
    return st;
}

static void test_oom(void **state)
{
    (void)state;
    int nomem = 0;
    assert_true(oom_exhaust("converter", sc_converter, &nomem) >= 2);
    assert_true(nomem >= 2);
    assert_true(oom_exhaust("resampler", sc_resampler_same_rate, &nomem) >= 1);
    assert_true(nomem >= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_block_size_invariance),
        cmocka_unit_test(test_tone_fidelity),
        cmocka_unit_test(test_alias_rejection),
        cmocka_unit_test(test_limits_and_reset),
        cmocka_unit_test(test_converter_empty),
        cmocka_unit_test(test_converter),
        cmocka_unit_test(test_converter_all_pairs),
        cmocka_unit_test(test_oom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
