/* G.711 and PCM16 conversions and format arithmetic: known vectors, the
 * whole input range against an independent implementation's digest
 * (CPython's audioop, which embeds Sun's g711.c), round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "media/codec.h"

#include <stdlib.h>
#include <string.h>

static uint32_t fnv1a(uint32_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x01000193u;
    }
    return h;
}

/* Digests computed with CPython 3.11 audioop: lin2ulaw/lin2alaw of every
 * int16 from -32768 to 32767 (one byte each, in order), and
 * ulaw2lin/alaw2lin of codes 0..255 (int16 little-endian). */
static void test_digests(void **state)
{
    (void)state;
    uint32_t hu = 0x811c9dc5u, ha = 0x811c9dc5u;
    for (int32_t x = -32768; x <= 32767; x++) {
        uint8_t u = Ccai_ulaw_encode((int16_t)x), a = Ccai_alaw_encode((int16_t)x);
        hu = fnv1a(hu, &u, 1);
        ha = fnv1a(ha, &a, 1);
    }
    assert_int_equal(hu, 0xf2471a71u);
    assert_int_equal(ha, 0x826fe2c5u);
    uint32_t du = 0x811c9dc5u, da = 0x811c9dc5u;
    for (int c = 0; c < 256; c++) {
        uint8_t b[2];
        int16_t v = Ccai_ulaw_decode((uint8_t)c);
        Ccai_pcm16le_write(&v, 1, b);
        du = fnv1a(du, b, 2);
        v = Ccai_alaw_decode((uint8_t)c);
        Ccai_pcm16le_write(&v, 1, b);
        da = fnv1a(da, b, 2);
    }
    assert_int_equal(du, 0x715d95a8u);
    assert_int_equal(da, 0x12fb6645u);
}

static void test_vectors(void **state)
{
    (void)state;
    /* pcm, mu-law, A-law (audioop) */
    static const struct {
        int16_t pcm;
        uint8_t u, a;
    } v[] = {
        {0, 0xff, 0xd5},     {1, 0xff, 0xd5},     {-1, 0x7e, 0x55},     {4, 0xfe, 0xd5},
        {-4, 0x7e, 0x55},    {31, 0xfb, 0xd4},    {32, 0xfb, 0xd7},     {-33, 0x7a, 0x57},
        {100, 0xf2, 0xd3},   {-100, 0x72, 0x53},  {1000, 0xce, 0xfa},   {-1000, 0x4e, 0x7a},
        {32124, 0x80, 0xaa}, {32767, 0x80, 0xaa}, {-32124, 0x00, 0x2a}, {-32768, 0x00, 0x2a},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        assert_int_equal(Ccai_ulaw_encode(v[i].pcm), v[i].u);
        assert_int_equal(Ccai_alaw_encode(v[i].pcm), v[i].a);
    }
    /* Silence and the full-scale codes. */
    assert_int_equal(Ccai_ulaw_decode(CCAI_ULAW_SILENCE), 0);
    assert_int_equal(Ccai_ulaw_decode(0x7F), 0);
    assert_int_equal(Ccai_ulaw_decode(0x00), -32124);
    assert_int_equal(Ccai_ulaw_decode(0x80), 32124);
    assert_int_equal(Ccai_alaw_decode(CCAI_ALAW_SILENCE), 8);
    assert_int_equal(Ccai_alaw_decode(0x55), -8);
    assert_int_equal(Ccai_alaw_decode(0xAA), 32256);
    assert_int_equal(Ccai_alaw_decode(0x2A), -32256);
}

/* The decode tables against Sun's ulaw2linear()/alaw2linear() formulas. */
static void test_tables_match_formula(void **state)
{
    (void)state;
    for (int c = 0; c < 256; c++) {
        int u = ~c & 0xFF;
        int t = ((u & 0x0F) << 3) + 0x84;
        t <<= (u & 0x70) >> 4;
        int want = (u & 0x80) ? (0x84 - t) : (t - 0x84);
        assert_int_equal(Ccai_ulaw_decode((uint8_t)c), want);

        int a = c ^ 0x55;
        int ta = (a & 0x0F) << 4, seg = (a & 0x70) >> 4;
        if (seg == 0)
            ta += 8;
        else {
            ta += 0x108;
            if (seg > 1)
                ta <<= seg - 1;
        }
        assert_int_equal(Ccai_alaw_decode((uint8_t)c), (a & 0x80) ? ta : -ta);
    }
}

static void test_code_roundtrip(void **state)
{
    (void)state;
    for (int c = 0; c < 256; c++) {
        /* mu-law has a negative zero (0x7F) that encodes back as 0xFF. */
        uint8_t want = c == 0x7F ? 0xFF : (uint8_t)c;
        assert_int_equal(Ccai_ulaw_encode(Ccai_ulaw_decode((uint8_t)c)), want);
        assert_int_equal(Ccai_alaw_encode(Ccai_alaw_decode((uint8_t)c)), c);
    }
}

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

/* Every int16 maps to a level of the quantiser that brackets it: no
 * decoded level lies strictly between the input and its reconstruction,
 * reconstruction is monotonic, and keeps the sign. */
static void check_quantiser(int16_t (*dec)(uint8_t), uint8_t (*enc)(int16_t))
{
    int levels[256];
    for (int c = 0; c < 256; c++)
        levels[c] = dec((uint8_t)c);
    qsort(levels, 256, sizeof levels[0], cmp_int);
    int prev = -40000;
    for (int32_t x = -32768; x <= 32767; x++) {
        int y = dec(enc((int16_t)x));
        assert_true(y >= prev);
        prev = y;
        if (x > 8)
            assert_true(y > 0);
        if (x < -8)
            assert_true(y < 0);
        int lo = x < y ? x : y, hi = x < y ? y : x;
        for (int i = 0; i < 256; i++)
            if (levels[i] > lo && levels[i] < hi)
                fail_msg("pcm %d -> %d skips level %d", (int)x, y, levels[i]);
    }
}

static void test_quantiser(void **state)
{
    (void)state;
    check_quantiser(Ccai_ulaw_decode, Ccai_ulaw_encode);
    check_quantiser(Ccai_alaw_decode, Ccai_alaw_encode);
}

static void test_pcm16le(void **state)
{
    (void)state;
    const uint8_t in[6] = {0x34, 0x12, 0xFE, 0xFF, 0x00, 0x80};
    int16_t out[3];
    Ccai_pcm16le_read(in, 3, out);
    assert_int_equal(out[0], 0x1234);
    assert_int_equal(out[1], -2);
    assert_int_equal(out[2], -32768);
    uint8_t back[6];
    Ccai_pcm16le_write(out, 3, back);
    assert_memory_equal(back, in, 6);

    /* The generic entry points match the specific ones. */
    int16_t pcm[4] = {0, -1000, 1000, 32767};
    uint8_t enc[8];
    int16_t dec[4];
    Ccai_media_encode(CCAI_MEDIA_ULAW, pcm, 4, enc);
    Ccai_media_decode(CCAI_MEDIA_ULAW, enc, 4, dec);
    for (int i = 0; i < 4; i++)
        assert_int_equal(dec[i], Ccai_ulaw_decode(Ccai_ulaw_encode(pcm[i])));
    Ccai_media_encode(CCAI_MEDIA_ALAW, pcm, 4, enc);
    Ccai_media_decode(CCAI_MEDIA_ALAW, enc, 4, dec);
    for (int i = 0; i < 4; i++)
        assert_int_equal(dec[i], Ccai_alaw_decode(Ccai_alaw_encode(pcm[i])));
    Ccai_media_encode(CCAI_MEDIA_PCM16, pcm, 4, enc);
    Ccai_media_decode(CCAI_MEDIA_PCM16, enc, 4, dec);
    assert_memory_equal(dec, pcm, sizeof pcm);
}

static void test_formats(void **state)
{
    (void)state;
    Ccai_media_format ulaw8 = {CCAI_MEDIA_ULAW, 8000, 1};
    Ccai_media_format pcm8 = {CCAI_MEDIA_PCM16, 8000, 1};
    Ccai_media_format pcm16 = {CCAI_MEDIA_PCM16, 16000, 1};
    Ccai_media_format pcm24 = {CCAI_MEDIA_PCM16, 24000, 1};
    Ccai_media_format pcm48s = {CCAI_MEDIA_PCM16, 48000, 2};
    Ccai_media_format alaw48 = {CCAI_MEDIA_ALAW, 48000, 1};
    assert_int_equal(Ccai_media_bytes_per_ms(&ulaw8, 20), 160);
    assert_int_equal(Ccai_media_bytes_per_ms(&pcm8, 20), 320);
    assert_int_equal(Ccai_media_bytes_per_ms(&pcm16, 20), 640);
    assert_int_equal(Ccai_media_bytes_per_ms(&pcm24, 20), 960);
    assert_int_equal(Ccai_media_bytes_per_ms(&pcm48s, 20), 3840);
    assert_int_equal(Ccai_media_bytes_per_ms(&alaw48, 20), 960);
    assert_int_equal(Ccai_media_samples_per_ms(&pcm16, 20), 320);
    assert_int_equal(Ccai_media_block_bytes(&pcm48s), 4);
    assert_int_equal(Ccai_media_bytes_to_us(&ulaw8, 160), 20000);
    assert_int_equal(Ccai_media_bytes_to_us(&pcm16, 641), 20000); /* whole samples */
    assert_int_equal(Ccai_media_bytes_to_us(&pcm48s, 4), 20);
    assert_string_equal(Ccai_media_encoding_name(CCAI_MEDIA_ALAW), "alaw");
    assert_string_equal(Ccai_media_encoding_name((Ccai_media_encoding)9), "?");

    assert_true(Ccai_media_format_valid(&pcm48s));
    Ccai_media_format bad = {CCAI_MEDIA_PCM16, 11025, 1};
    assert_false(Ccai_media_format_valid(&bad));
    assert_int_equal(Ccai_media_bytes_per_ms(&bad, 20), 0);
    bad = (Ccai_media_format){CCAI_MEDIA_PCM16, 8000, 3};
    assert_false(Ccai_media_format_valid(&bad));
    bad = (Ccai_media_format){CCAI_MEDIA_PCM16, 8000, 0};
    assert_false(Ccai_media_format_valid(&bad));
    bad = (Ccai_media_format){(Ccai_media_encoding)0, 8000, 1};
    assert_false(Ccai_media_format_valid(&bad));
    assert_false(Ccai_media_format_valid(NULL));
    assert_true(Ccai_media_format_equal(&pcm8, &pcm8));
    assert_false(Ccai_media_format_equal(&pcm8, &ulaw8));
}

static void test_silence_and_interleave(void **state)
{
    (void)state;
    uint8_t b[4];
    int16_t d[4];
    Ccai_media_fill_silence(CCAI_MEDIA_ULAW, b, 4);
    Ccai_media_decode(CCAI_MEDIA_ULAW, b, 4, d);
    for (int i = 0; i < 4; i++)
        assert_int_equal(d[i], 0);
    Ccai_media_fill_silence(CCAI_MEDIA_ALAW, b, 4);
    assert_int_equal(b[0], 0xD5);
    Ccai_media_fill_silence(CCAI_MEDIA_PCM16, b, 4);
    Ccai_media_decode(CCAI_MEDIA_PCM16, b, 2, d);
    assert_int_equal(d[0], 0);
    assert_int_equal(d[1], 0);

    const int16_t l[3] = {1, 2, 3}, r[3] = {-1, -2, -3};
    int16_t st[6];
    Ccai_media_interleave(l, r, 3, st);
    const int16_t want[6] = {1, -1, 2, -2, 3, -3};
    assert_memory_equal(st, want, sizeof want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digests),
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_tables_match_formula),
        cmocka_unit_test(test_code_roundtrip),
        cmocka_unit_test(test_quantiser),
        cmocka_unit_test(test_pcm16le),
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_silence_and_interleave),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
