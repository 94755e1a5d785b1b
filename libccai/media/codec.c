/* G.711 and PCM16 conversions, format arithmetic (see codec.h). */
#include "media/codec.h"

#include <string.h>

/* Decoded value of every code, as the Sun g711.c ulaw2linear()/alaw2linear()
 * compute it (test_media_codec checks each entry against the formula). */
static const int16_t ulaw_table[256] = {
    -32124, -31100, -30076, -29052, -28028, -27004, -25980, -24956, -23932, -22908, -21884, -20860,
    -19836, -18812, -17788, -16764, -15996, -15484, -14972, -14460, -13948, -13436, -12924, -12412,
    -11900, -11388, -10876, -10364, -9852,  -9340,  -8828,  -8316,  -7932,  -7676,  -7420,  -7164,
    -6908,  -6652,  -6396,  -6140,  -5884,  -5628,  -5372,  -5116,  -4860,  -4604,  -4348,  -4092,
    -3900,  -3772,  -3644,  -3516,  -3388,  -3260,  -3132,  -3004,  -2876,  -2748,  -2620,  -2492,
    -2364,  -2236,  -2108,  -1980,  -1884,  -1820,  -1756,  -1692,  -1628,  -1564,  -1500,  -1436,
    -1372,  -1308,  -1244,  -1180,  -1116,  -1052,  -988,   -924,   -876,   -844,   -812,   -780,
    -748,   -716,   -684,   -652,   -620,   -588,   -556,   -524,   -492,   -460,   -428,   -396,
    -372,   -356,   -340,   -324,   -308,   -292,   -276,   -260,   -244,   -228,   -212,   -196,
    -180,   -164,   -148,   -132,   -120,   -112,   -104,   -96,    -88,    -80,    -72,    -64,
    -56,    -48,    -40,    -32,    -24,    -16,    -8,     0,      32124,  31100,  30076,  29052,
    28028,  27004,  25980,  24956,  23932,  22908,  21884,  20860,  19836,  18812,  17788,  16764,
    15996,  15484,  14972,  14460,  13948,  13436,  12924,  12412,  11900,  11388,  10876,  10364,
    9852,   9340,   8828,   8316,   7932,   7676,   7420,   7164,   6908,   6652,   6396,   6140,
    5884,   5628,   5372,   5116,   4860,   4604,   4348,   4092,   3900,   3772,   3644,   3516,
    3388,   3260,   3132,   3004,   2876,   2748,   2620,   2492,   2364,   2236,   2108,   1980,
    1884,   1820,   1756,   1692,   1628,   1564,   1500,   1436,   1372,   1308,   1244,   1180,
    1116,   1052,   988,    924,    876,    844,    812,    780,    748,    716,    684,    652,
    620,    588,    556,    524,    492,    460,    428,    396,    372,    356,    340,    324,
    308,    292,    276,    260,    244,    228,    212,    196,    180,    164,    148,    132,
    120,    112,    104,    96,     88,     80,     72,     64,     56,     48,     40,     32,
    24,     16,     8,      0,
};
static const int16_t alaw_table[256] = {
    -5504,  -5248,  -6016,  -5760,  -4480,  -4224,  -4992,  -4736,  -7552,  -7296,  -8064,  -7808,
    -6528,  -6272,  -7040,  -6784,  -2752,  -2624,  -3008,  -2880,  -2240,  -2112,  -2496,  -2368,
    -3776,  -3648,  -4032,  -3904,  -3264,  -3136,  -3520,  -3392,  -22016, -20992, -24064, -23040,
    -17920, -16896, -19968, -18944, -30208, -29184, -32256, -31232, -26112, -25088, -28160, -27136,
    -11008, -10496, -12032, -11520, -8960,  -8448,  -9984,  -9472,  -15104, -14592, -16128, -15616,
    -13056, -12544, -14080, -13568, -344,   -328,   -376,   -360,   -280,   -264,   -312,   -296,
    -472,   -456,   -504,   -488,   -408,   -392,   -440,   -424,   -88,    -72,    -120,   -104,
    -24,    -8,     -56,    -40,    -216,   -200,   -248,   -232,   -152,   -136,   -184,   -168,
    -1376,  -1312,  -1504,  -1440,  -1120,  -1056,  -1248,  -1184,  -1888,  -1824,  -2016,  -1952,
    -1632,  -1568,  -1760,  -1696,  -688,   -656,   -752,   -720,   -560,   -528,   -624,   -592,
    -944,   -912,   -1008,  -976,   -816,   -784,   -880,   -848,   5504,   5248,   6016,   5760,
    4480,   4224,   4992,   4736,   7552,   7296,   8064,   7808,   6528,   6272,   7040,   6784,
    2752,   2624,   3008,   2880,   2240,   2112,   2496,   2368,   3776,   3648,   4032,   3904,
    3264,   3136,   3520,   3392,   22016,  20992,  24064,  23040,  17920,  16896,  19968,  18944,
    30208,  29184,  32256,  31232,  26112,  25088,  28160,  27136,  11008,  10496,  12032,  11520,
    8960,   8448,   9984,   9472,   15104,  14592,  16128,  15616,  13056,  12544,  14080,  13568,
    344,    328,    376,    360,    280,    264,    312,    296,    472,    456,    504,    488,
    408,    392,    440,    424,    88,     72,     120,    104,    24,     8,      56,     40,
    216,    200,    248,    232,    152,    136,    184,    168,    1376,   1312,   1504,   1440,
    1120,   1056,   1248,   1184,   1888,   1824,   2016,   1952,   1632,   1568,   1760,   1696,
    688,    656,    752,    720,    560,    528,    624,    592,    944,    912,    1008,   976,
    816,    784,    880,    848,
};

bool Ccai_media_format_valid(const Ccai_media_format *f)
{
    if (!f || !Ccai_media_sample_bytes(f->encoding))
        return false;
    if (f->rate != 8000 && f->rate != 16000 && f->rate != 24000 && f->rate != 48000)
        return false;
    return f->channels == 1 || f->channels == 2;
}

bool Ccai_media_format_equal(const Ccai_media_format *a, const Ccai_media_format *b)
{
    return a->encoding == b->encoding && a->rate == b->rate && a->channels == b->channels;
}

const char *Ccai_media_encoding_name(Ccai_media_encoding e)
{
    switch (e) {
    case CCAI_MEDIA_PCM16: return "pcm16";
    case CCAI_MEDIA_ULAW: return "ulaw";
    case CCAI_MEDIA_ALAW: return "alaw";
    }
    return "?";
}

size_t Ccai_media_sample_bytes(Ccai_media_encoding e)
{
    switch (e) {
    case CCAI_MEDIA_PCM16: return 2;
    case CCAI_MEDIA_ULAW:
    case CCAI_MEDIA_ALAW: return 1;
    }
    return 0;
}

size_t Ccai_media_block_bytes(const Ccai_media_format *f)
{
    return Ccai_media_sample_bytes(f->encoding) * f->channels;
}

size_t Ccai_media_samples_per_ms(const Ccai_media_format *f, uint32_t ms)
{
    return (size_t)((uint64_t)f->rate * ms / 1000);
}

size_t Ccai_media_bytes_per_ms(const Ccai_media_format *f, uint32_t ms)
{
    if (!Ccai_media_format_valid(f))
        return 0;
    return Ccai_media_samples_per_ms(f, ms) * Ccai_media_block_bytes(f);
}

uint64_t Ccai_media_bytes_to_us(const Ccai_media_format *f, size_t len)
{
    size_t block = Ccai_media_block_bytes(f);
    if (!block || !f->rate)
        return 0;
    return (uint64_t)(len / block) * 1000000u / f->rate;
}

void Ccai_media_fill_silence(Ccai_media_encoding e, uint8_t *out, size_t len)
{
    int v = e == CCAI_MEDIA_ULAW ? CCAI_ULAW_SILENCE : e == CCAI_MEDIA_ALAW ? CCAI_ALAW_SILENCE : 0;
    memset(out, v, len);
}

uint8_t Ccai_ulaw_encode(int16_t pcm)
{
    int s = pcm >> 2; /* 14-bit magnitude range */
    int mask = 0xFF;
    if (s < 0) {
        s = -s;
        mask = 0x7F;
    }
    if (s > 8159) /* clip */
        s = 8159;
    s += 33; /* bias 0x84 >> 2 */
    int seg = 0;
    for (int v = s >> 6; v; v >>= 1)
        seg++;
    if (seg > 7) /* only the clipped magnitude gets here */
        return (uint8_t)(0x7F ^ mask);
    return (uint8_t)(((seg << 4) | ((s >> (seg + 1)) & 0x0F)) ^ mask);
}

int16_t Ccai_ulaw_decode(uint8_t code)
{
    return ulaw_table[code];
}

uint8_t Ccai_alaw_encode(int16_t pcm)
{
    static const int seg_end[8] = {0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF};
    int s = pcm >> 3; /* 13-bit range */
    int mask = 0xD5;
    if (s < 0) {
        mask = 0x55;
        s = -s - 1;
    }
    int seg = 0;
    while (seg < 8 && s > seg_end[seg])
        seg++;
    if (seg >= 8) /* clip */
        return (uint8_t)(0x7F ^ mask);
    int a = seg << 4;
    a |= (seg < 2) ? ((s >> 1) & 0x0F) : ((s >> seg) & 0x0F);
    return (uint8_t)(a ^ mask);
}

int16_t Ccai_alaw_decode(uint8_t code)
{
    return alaw_table[code];
}

void Ccai_pcm16le_read(const uint8_t *in, size_t n, int16_t *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (int16_t)(uint16_t)(in[2 * i] | (in[2 * i + 1] << 8));
}

void Ccai_pcm16le_write(const int16_t *in, size_t n, uint8_t *out)
{
    for (size_t i = 0; i < n; i++) {
        uint16_t v = (uint16_t)in[i];
        out[2 * i] = (uint8_t)(v & 0xFF);
        out[2 * i + 1] = (uint8_t)(v >> 8);
    }
}

void Ccai_media_decode(Ccai_media_encoding e, const uint8_t *in, size_t n, int16_t *out)
{
    switch (e) {
    case CCAI_MEDIA_PCM16: Ccai_pcm16le_read(in, n, out); return;
    case CCAI_MEDIA_ULAW:
        for (size_t i = 0; i < n; i++)
            out[i] = ulaw_table[in[i]];
        return;
    case CCAI_MEDIA_ALAW:
        for (size_t i = 0; i < n; i++)
            out[i] = alaw_table[in[i]];
        return;
    }
}

void Ccai_media_encode(Ccai_media_encoding e, const int16_t *in, size_t n, uint8_t *out)
{
    switch (e) {
    case CCAI_MEDIA_PCM16: Ccai_pcm16le_write(in, n, out); return;
    case CCAI_MEDIA_ULAW:
        for (size_t i = 0; i < n; i++)
            out[i] = Ccai_ulaw_encode(in[i]);
        return;
    case CCAI_MEDIA_ALAW:
        for (size_t i = 0; i < n; i++)
            out[i] = Ccai_alaw_encode(in[i]);
        return;
    }
}

void Ccai_media_interleave(const int16_t *left, const int16_t *right, size_t n, int16_t *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = left[i];
        out[2 * i + 1] = right[i];
    }
}
