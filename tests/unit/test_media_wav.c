/* WAV: the header bytes, the streaming writer (sizes fixed up on sync and
 * close, odd data padded), the reader and the sans-I/O parser on good,
 * foreign (sox, extensible) and broken headers, fed any prefix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "media/wav.h"
#include "support/oom.h"
#include "support/speech.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/ccai-wav-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void path(char *out, size_t len, const char *name)
{
    snprintf(out, len, "%s/%s", dir, name);
}

static size_t slurp(const char *p, uint8_t *buf, size_t cap)
{
    FILE *f = fopen(p, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

static void test_header_pcm(void **state)
{
    (void)state;
    /* 8 kHz mono PCM16, 320 bytes of samples: RIFF size 36 + 320. */
    static const uint8_t want[44] = {'R', 'I', 'F',  'F',  0x64, 1,   0,    0,    'W', 'A', 'V',
                                     'E', 'f', 'm',  't',  ' ',  16,  0,    0,    0,   1,   0,
                                     1,   0,   0x40, 0x1F, 0,    0,   0x80, 0x3E, 0,   0,   2,
                                     0,   16,  0,    'd',  'a',  't', 'a',  0x40, 1,   0,   0};
    Ccai_media_format f = {CCAI_MEDIA_PCM16, 8000, 1};
    uint8_t h[CCAI_WAV_HEADER_MAX];
    size_t n = 0;
    assert_int_equal(Ccai_wav_header_build(&f, 320, h, &n), CCAI_OK);
    assert_int_equal(n, 44);
    assert_memory_equal(h, want, 44);
    Ccai_media_format bad = {CCAI_MEDIA_PCM16, 44100, 1};
    assert_int_equal(Ccai_wav_header_build(&bad, 0, h, &n), CCAI_ERR_INVALID_ARG);
}

static void test_header_g711(void **state)
{
    (void)state;
    Ccai_media_format f = {CCAI_MEDIA_ULAW, 8000, 2};
    uint8_t h[CCAI_WAV_HEADER_MAX];
    size_t n = 0;
    assert_int_equal(Ccai_wav_header_build(&f, 321, h, &n), CCAI_OK);
    assert_int_equal(n, 58);
    assert_memory_equal(h + 12, "fmt \x12\0\0\0\x07\0\x02\0", 12);
    assert_memory_equal(h + 38, "fact\x04\0\0\0", 8);
    assert_int_equal(h[46], 160); /* 321 bytes / 2 channels = 160 frames */
    assert_memory_equal(h + 50, "data", 4);
    assert_int_equal(h[54] | h[55] << 8, 321);
    /* RIFF size covers the pad byte odd data needs. */
    assert_int_equal(h[4] | h[5] << 8, 58 - 8 + 322);
    Ccai_wav_info info;
    size_t need = 1;
    assert_int_equal(Ccai_wav_parse_header(h, n, 4096, &info, &need), CCAI_OK);
    assert_int_equal(need, 0);
    assert_int_equal(info.encoding, CCAI_MEDIA_ULAW);
    assert_int_equal(info.channels, 2);
    assert_int_equal(info.rate, 8000);
    assert_int_equal(info.data_offset, 58);
    assert_int_equal(info.data_len, 321);
    assert_int_equal(info.fact_samples, 160);
}

/* Write a stereo recording in pieces, read it back identical. */
static void test_writer_reader_roundtrip(void **state)
{
    (void)state;
    char p[512];
    path(p, sizeof p, "both.wav");
    Ccai_media_format f = {CCAI_MEDIA_PCM16, 16000, 2};
    Ccai_wav_writer *w = NULL;
    assert_int_equal(Ccai_wav_writer_open(p, &f, &w), CCAI_OK);
    int16_t caller[320], bot[320], st[640];
    uint8_t bytes[1280];
    size_t total = 0;
    for (int k = 0; k < 50; k++) {
        for (int i = 0; i < 320; i++) {
            caller[i] = (int16_t)(k * 100 + i);
            bot[i] = (int16_t) - (k * 100 + i);
        }
        Ccai_media_interleave(caller, bot, 320, st);
        Ccai_pcm16le_write(st, 640, bytes);
        assert_int_equal(Ccai_wav_writer_write(w, bytes, sizeof bytes), CCAI_OK);
        total += sizeof bytes;
        if (k == 10)
            assert_int_equal(Ccai_wav_writer_sync(w), CCAI_OK);
    }
    assert_int_equal(Ccai_wav_writer_write(w, bytes, 3), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_wav_writer_bytes(w), total);
    assert_int_equal(Ccai_wav_writer_close(w), CCAI_OK);
    struct stat sb;
    assert_int_equal(stat(p, &sb), 0);
    assert_int_equal((size_t)sb.st_size, 44 + total);

    int16_t *pcm = NULL;
    size_t frames = 0;
    Ccai_wav_info info;
    assert_int_equal(Ccai_wav_read_pcm16(p, 1000000, &pcm, &frames, &info), CCAI_OK);
    assert_int_equal(frames, 50 * 320);
    assert_int_equal(info.channels, 2);
    assert_int_equal(info.rate, 16000);
    assert_int_equal(info.data_len, total);
    assert_int_equal(pcm[2 * 321], 100 + 1);
    assert_int_equal(pcm[2 * 321 + 1], -(100 + 1));
    assert_int_equal(pcm[2 * (50 * 320 - 1)], 4900 + 319);
    ccai_free(pcm);
    /* Too long for the caller's limit. */
    assert_int_equal(Ccai_wav_read_pcm16(p, 1000, &pcm, &frames, &info), CCAI_ERR_LIMIT);
}

/* A recording still being written (or cut by a crash) reads to its end;
 * odd mu-law data is padded on close. */
static void test_unfinished_and_odd(void **state)
{
    (void)state;
    char p[512];
    path(p, sizeof p, "open.wav");
    Ccai_media_format f = {CCAI_MEDIA_ULAW, 8000, 1};
    Ccai_wav_writer *w = NULL;
    assert_int_equal(Ccai_wav_writer_open(p, &f, &w), CCAI_OK);
    uint8_t data[161];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)i;
    assert_int_equal(Ccai_wav_writer_write(w, data, sizeof data), CCAI_OK);
    /* Not closed: the header still says "unknown". */
    Ccai_wav_reader *r = NULL;
    assert_int_equal(Ccai_wav_reader_open(p, &r), CCAI_OK);
    assert_true(Ccai_wav_reader_info(r)->data_len == CCAI_WAV_LEN_UNKNOWN);
    uint8_t buf[512];
    size_t n = 0;
    assert_int_equal(Ccai_wav_reader_read(r, buf, sizeof buf, &n), CCAI_OK);
    assert_int_equal(n, sizeof data);
    assert_memory_equal(buf, data, sizeof data);
    assert_int_equal(Ccai_wav_reader_read(r, buf, sizeof buf, &n), CCAI_OK);
    assert_int_equal(n, 0);
    Ccai_wav_reader_close(r);

    assert_int_equal(Ccai_wav_writer_close(w), CCAI_OK);
    uint8_t file[512];
    size_t len = slurp(p, file, sizeof file);
    assert_int_equal(len, 58 + 162); /* the pad byte */
    assert_int_equal(file[4] | file[5] << 8, len - 8);
    assert_int_equal(Ccai_wav_reader_open(p, &r), CCAI_OK);
    assert_int_equal(Ccai_wav_reader_info(r)->data_len, 161);
    assert_int_equal(Ccai_wav_reader_read(r, buf, 100, &n), CCAI_OK);
    assert_int_equal(n, 100);
    assert_int_equal(Ccai_wav_reader_read(r, buf, sizeof buf, &n), CCAI_OK);
    assert_int_equal(n, 61); /* the pad byte is not a sample */
    assert_int_equal(Ccai_wav_reader_read(r, buf, sizeof buf, &n), CCAI_OK);
    assert_int_equal(n, 0);
    Ccai_wav_reader_close(r);
}

/* sox reads what the writer wrote and writes what the reader reads. */
static void test_sox_interop(void **state)
{
    (void)state;
    if (!speech_dir())
        skip(); /* sox missing at build time */
    char p[512], q[512], cmd[4096];
    path(p, sizeof p, "alaw.wav");
    path(q, sizeof q, "sox.wav");
    Ccai_media_format f = {CCAI_MEDIA_ALAW, 8000, 2};
    Ccai_wav_writer *w = NULL;
    assert_int_equal(Ccai_wav_writer_open(p, &f, &w), CCAI_OK);
    uint8_t data[1600];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7);
    assert_int_equal(Ccai_wav_writer_write(w, data, sizeof data), CCAI_OK);
    assert_int_equal(Ccai_wav_writer_close(w), CCAI_OK);
    /* sox copies our A-law stereo file as it is, and converts it to 16 kHz
     * mono PCM. */
    snprintf(cmd, sizeof cmd,
             "sox -D '%s' '%s.raw.wav' 2>/dev/null && "
             "sox -D '%s' -e signed-integer -b 16 -c 1 -r 16000 -t wav '%s' 2>/dev/null",
             p, q, p, q);
    assert_int_equal(system(cmd), 0);
    char soxi[1024];
    snprintf(soxi, sizeof soxi, "soxi -s '%s'", p);
    FILE *pipe = popen(soxi, "r");
    assert_non_null(pipe);
    char line[64] = "";
    assert_non_null(fgets(line, sizeof line, pipe));
    pclose(pipe);
    assert_int_equal(atoi(line), 800);
    int16_t *pcm = NULL;
    size_t frames = 0;
    Ccai_wav_info info;
    assert_int_equal(Ccai_wav_read_pcm16(q, 100000, &pcm, &frames, &info), CCAI_OK);
    assert_int_equal(info.rate, 16000);
    assert_int_equal(info.channels, 1);
    assert_int_equal(frames, 1600);
    ccai_free(pcm);
    /* The copy sox made of our A-law file reads back byte for byte. */
    char raw[600];
    snprintf(raw, sizeof raw, "%s.raw.wav", q);
    Ccai_wav_reader *r = NULL;
    assert_int_equal(Ccai_wav_reader_open(raw, &r), CCAI_OK);
    assert_int_equal(Ccai_wav_reader_info(r)->encoding, CCAI_MEDIA_ALAW);
    uint8_t back[2000];
    size_t n = 0;
    assert_int_equal(Ccai_wav_reader_read(r, back, sizeof back, &n), CCAI_OK);
    assert_int_equal(n, sizeof data);
    assert_memory_equal(back, data, sizeof data);
    Ccai_wav_reader_close(r);
}

static size_t put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
    return 4;
}

static size_t put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    return 2;
}

/* A header with a LIST chunk first and a WAVE_FORMAT_EXTENSIBLE fmt. */
static size_t build_extensible(uint8_t *b, uint16_t subtag, uint16_t bits)
{
    size_t o = 0;
    memcpy(b, "RIFF\0\0\0\0WAVE", 12);
    o = 12;
    memcpy(b + o, "LIST", 4);
    o += 4;
    o += put32(b + o, 5);
    memcpy(b + o, "INFOx\0", 6); /* 5 bytes + pad */
    o += 6;
    memcpy(b + o, "fmt ", 4);
    o += 4;
    o += put32(b + o, 40);
    o += put16(b + o, 0xFFFE);
    o += put16(b + o, 1);
    o += put32(b + o, 24000);
    o += put32(b + o, 24000u * bits / 8);
    o += put16(b + o, (uint16_t)(bits / 8));
    o += put16(b + o, bits);
    o += put16(b + o, 22);
    o += put16(b + o, bits);
    o += put32(b + o, 4);
    o += put16(b + o, subtag);
    memcpy(b + o, "\x00\x00\x00\x00\x10\x00\x80\x00\x00\xAA\x00\x38\x9B\x71", 14);
    o += 14;
    memcpy(b + o, "data", 4);
    o += 4;
    o += put32(b + o, 0xFFFFFFFF);
    return o;
}

static void test_parse_any_prefix(void **state)
{
    (void)state;
    uint8_t b[256];
    size_t len = build_extensible(b, 1, 16);
    Ccai_wav_info info;
    /* Every prefix asks for more, then the whole succeeds. */
    size_t have = 0, need = 0;
    int rounds = 0;
    for (;;) {
        assert_int_equal(Ccai_wav_parse_header(b, have, 4096, &info, &need), CCAI_OK);
        if (need == 0)
            break;
        assert_true(need > have && need <= len);
        have = need;
        rounds++;
    }
    assert_true(rounds >= 3);
    assert_int_equal(have, len);
    assert_int_equal(info.encoding, CCAI_MEDIA_PCM16);
    assert_int_equal(info.rate, 24000);
    assert_int_equal(info.data_offset, len);
    assert_true(info.data_len == CCAI_WAV_LEN_UNKNOWN);
    for (size_t k = 0; k < len; k++) {
        assert_int_equal(Ccai_wav_parse_header(b, k, 4096, &info, &need), CCAI_OK);
        assert_true(need > k);
    }
    /* Extensible mu-law; extensible float is refused. */
    len = build_extensible(b, 7, 8);
    assert_int_equal(Ccai_wav_parse_header(b, len, 4096, &info, &need), CCAI_OK);
    assert_int_equal(info.encoding, CCAI_MEDIA_ULAW);
    len = build_extensible(b, 3, 16);
    assert_int_equal(Ccai_wav_parse_header(b, len, 4096, &info, &need), CCAI_ERR_UNSUPPORTED);
    len = build_extensible(b, 1, 16);
    b[len - 20] ^= 0xFF; /* not the standard GUID */
    assert_int_equal(Ccai_wav_parse_header(b, len, 4096, &info, &need), CCAI_ERR_UNSUPPORTED);
    /* The limit: the samples start beyond max_header. */
    len = build_extensible(b, 1, 16);
    assert_int_equal(Ccai_wav_parse_header(b, len, 40, &info, &need), CCAI_ERR_LIMIT);
}

static void test_parse_errors(void **state)
{
    (void)state;
    Ccai_media_format f = {CCAI_MEDIA_PCM16, 8000, 1};
    uint8_t good[CCAI_WAV_HEADER_MAX], b[CCAI_WAV_HEADER_MAX + 64];
    size_t n = 0, need = 0;
    Ccai_wav_info info;
    assert_int_equal(Ccai_wav_header_build(&f, 0, good, &n), CCAI_OK);

    memcpy(b, good, n);
    memcpy(b, "RIFX", 4);
    assert_int_equal(Ccai_wav_parse_header(b, n, 4096, &info, &need), CCAI_ERR_UNSUPPORTED);
    memcpy(b, "RF64", 4);
    assert_int_equal(Ccai_wav_parse_header(b, n, 4096, &info, &need), CCAI_ERR_UNSUPPORTED);
    memcpy(b, "OggS", 4);
    assert_int_equal(Ccai_wav_parse_header(b, n, 4096, &info, &need), CCAI_ERR_PARSE);
    memcpy(b, good, n);
    memcpy(b + 8, "AVI ", 4);
    assert_int_equal(Ccai_wav_parse_header(b, n, 4096, &info, &need), CCAI_ERR_PARSE);

    memcpy(b, good, n);
    b[20] = 3; /* IEEE float */
    assert_int_equal(Ccai_wav_parse_header(b, n, 4096, &info, &need), CCAI_ERR_UNSUPPORTED);
    memcpy(b, good, n);
    b[34] = 24; /* 24-bit PCM */
    assert_int_equal(Ccai_wav_parse_header(b, n, 4096, &info, &need), CCAI_ERR_UNSUPPORTED);
    memcpy(b, good, n);
    b[32] = 4; /* block align of a stereo file in a mono one */
    assert_int_equal(Ccai_wav_parse_header(b, n, 4096, &info, &need), CCAI_ERR_PARSE);
    memcpy(b, good, n);
    b[22] = 0; /* no channels */
    assert_int_equal(Ccai_wav_parse_header(b, n, 4096, &info, &need), CCAI_ERR_PARSE);
    memcpy(b, good, n);
    b[22] = 9; /* more channels than the reader handles */
    assert_int_equal(Ccai_wav_parse_header(b, n, 4096, &info, &need), CCAI_ERR_UNSUPPORTED);
    memcpy(b, good, n);
    b[16] = 14; /* fmt too short */
    assert_int_equal(Ccai_wav_parse_header(b, n, 4096, &info, &need), CCAI_ERR_PARSE);
    memcpy(b, good, n);
    b[16] = 0xFF; /* an absurd fmt size */
    b[17] = 0xFF;
    assert_int_equal(Ccai_wav_parse_header(b, n, 1 << 20, &info, &need), CCAI_ERR_PARSE);

    /* data before fmt */
    memcpy(b, good, 12);
    memcpy(b + 12, "data\0\0\0\0", 8);
    assert_int_equal(Ccai_wav_parse_header(b, 20, 4096, &info, &need), CCAI_ERR_PARSE);
    /* two fmt chunks */
    memcpy(b, good, 36);
    memcpy(b + 36, good + 12, 24);
    assert_int_equal(Ccai_wav_parse_header(b, 60, 4096, &info, &need), CCAI_ERR_PARSE);
    /* a huge unknown chunk: skipped by arithmetic, then over the limit */
    memcpy(b, good, 12);
    memcpy(b + 12, "junk\xF0\xFF\xFF\xFF", 8);
    assert_int_equal(Ccai_wav_parse_header(b, 20, 1 << 20, &info, &need), CCAI_ERR_LIMIT);
}

static void test_file_errors(void **state)
{
    (void)state;
    char p[512];
    Ccai_wav_reader *r = NULL;
    path(p, sizeof p, "missing.wav");
    assert_int_equal(Ccai_wav_reader_open(p, &r), CCAI_ERR_IO);
    /* A file that ends inside its header. */
    path(p, sizeof p, "cut.wav");
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    fwrite("RIFF\0\0\0\0WAVEfmt \x10\0\0\0\x01\0", 1, 22, f);
    fclose(f);
    assert_int_equal(Ccai_wav_reader_open(p, &r), CCAI_ERR_PARSE);
    /* Not a WAV at all. */
    f = fopen(p, "wb");
    assert_non_null(f);
    fputs("hello", f);
    fclose(f);
    assert_int_equal(Ccai_wav_reader_open(p, &r), CCAI_ERR_PARSE);
    assert_null(r);
    Ccai_wav_reader_close(NULL);
    assert_int_equal(Ccai_wav_writer_close(NULL), CCAI_OK);

    Ccai_media_format fm = {CCAI_MEDIA_PCM16, 8000, 1};
    Ccai_wav_writer *w = NULL;
    path(p, sizeof p, "nodir/x.wav");
    assert_int_equal(Ccai_wav_writer_open(p, &fm, &w), CCAI_ERR_IO);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(Ccai_wav_writer_open("/dev/full", &fm, &w), CCAI_ERR_IO);
    assert_null(w);
    /* The 4 GiB RIFF limit: refused before anything is written. */
    path(p, sizeof p, "big.wav");
    assert_int_equal(Ccai_wav_writer_open(p, &fm, &w), CCAI_OK);
    uint8_t two[2] = {0, 0};
    assert_int_equal(Ccai_wav_writer_write(w, two, 0xFFFFFFF0u), CCAI_ERR_LIMIT);
    assert_int_equal(Ccai_wav_writer_bytes(w), 0);
    assert_int_equal(Ccai_wav_writer_close(w), CCAI_OK);
}

static ccai_status sc_roundtrip(void)
{
    char p[512];
    path(p, sizeof p, "oom.wav");
    Ccai_media_format f = {CCAI_MEDIA_ULAW, 8000, 1};
    Ccai_wav_writer *w = NULL;
    ccai_status st = Ccai_wav_writer_open(p, &f, &w);
    if (st != CCAI_OK)
        return st;
    static uint8_t data[40000];
    memset(data, 0x7E, sizeof data);
    st = Ccai_wav_writer_write(w, data, sizeof data);
    ccai_status cst = Ccai_wav_writer_close(w);
    if (st == CCAI_OK)
        st = cst;
    if (st != CCAI_OK)
        return st;
    int16_t *pcm = NULL;
    size_t frames = 0;
    Ccai_wav_info info;
    st = Ccai_wav_read_pcm16(p, 100000, &pcm, &frames, &info);
    if (st == CCAI_OK && (frames != sizeof data || pcm[100] != Ccai_ulaw_decode(0x7E)))
        st = CCAI_ERR_INTERNAL;
    ccai_free(pcm);
    return st;
}

static void test_oom(void **state)
{
    (void)state;
    int nomem = 0;
    assert_true(oom_exhaust("wav", sc_roundtrip, &nomem) >= 4);
    assert_true(nomem >= 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_pcm),
        cmocka_unit_test(test_header_g711),
        cmocka_unit_test(test_writer_reader_roundtrip),
        cmocka_unit_test(test_unfinished_and_odd),
        cmocka_unit_test(test_sox_interop),
        cmocka_unit_test(test_parse_any_prefix),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_file_errors),
        cmocka_unit_test(test_oom),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
