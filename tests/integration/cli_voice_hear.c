/* What pocketsphinx hears in a WAV file ccai-cli voice wrote (the test of
 * `ccai-cli voice`, test_cli_voice.sh): prints its format and duration,
 * then the words recognised in its stretches of sound, and, given key
 * words, how many of them were heard.
 *
 * Usage: cli-voice-hear FILE.wav [CHANNEL] [KEY WORDS]
 * Prints "format pcm16 RATE CHANNELS", "duration_ms N", "heard WORDS",
 * "keywords HITS TOTAL". Exit 77 (skip) without pocketsphinx's model, 1 on
 * an unreadable file. */
#include "media/wav.h"
#include "speech/sphinx.h"
#include "support/voice.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PIECE_MS 3000
#define FRAME_MS 20

typedef struct rec {
    char text[2048];
} rec;

static void on_rec(const Ccai_sphinx_result *r, void *ud)
{
    if (r->event == CCAI_SPHINX_FINAL)
        snprintf(((rec *)ud)->text, sizeof((rec *)ud)->text, "%s", r->text);
}

static int recognise(Ccai_sphinx_model *m, uint32_t rate, const int16_t *pcm, size_t n, char *out,
                     size_t cap)
{
    Ccai_media_format f = {CCAI_MEDIA_PCM16, rate, 1};
    rec r = {{0}};
    Ccai_sphinx *s = NULL;
    if (Ccai_sphinx_new(m, &f, on_rec, &r, &s) != CCAI_OK)
        return -1;
    uint8_t *b = malloc(2 * n + 2);
    if (!b) {
        Ccai_sphinx_free(s);
        return -1;
    }
    Ccai_pcm16le_write(pcm, n, b);
    int rc = Ccai_sphinx_feed(s, b, 2 * n) == CCAI_OK ? 0 : -1;
    while (rc == 0 && Ccai_sphinx_pending_ms(s) > 0)
        rc = Ccai_sphinx_step(s) == CCAI_OK ? 0 : -1;
    if (rc == 0 && Ccai_sphinx_end(s) != CCAI_OK)
        rc = -1;
    while (rc == 0 && Ccai_sphinx_pending_ms(s) > 0)
        rc = Ccai_sphinx_step(s) == CCAI_OK ? 0 : -1;
    Ccai_sphinx_free(s);
    free(b);
    size_t l = strlen(out);
    if (r.text[0])
        snprintf(out + l, cap - l, "%s%s", l ? " " : "", r.text);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE.wav [CHANNEL] [KEY WORDS]\n", argv[0]);
        return 64;
    }
    unsigned channel = argc > 2 ? (unsigned)atoi(argv[2]) : 0;
    int16_t *pcm = NULL;
    size_t frames = 0;
    Ccai_wav_info info;
    if (Ccai_wav_read_pcm16(argv[1], 48000u * 600u, &pcm, &frames, &info) != CCAI_OK) {
        fprintf(stderr, "%s: cannot read it as a WAV file\n", argv[1]);
        return 1;
    }
    printf("format %s %u %u\n", info.encoding == CCAI_MEDIA_PCM16 ? "pcm16" : "other",
           (unsigned)info.rate, (unsigned)info.channels);
    printf("duration_ms %llu\n", (unsigned long long)frames * 1000u / info.rate);
    if (access(CCAI_SPHINX_MODEL_DIR "/en-us/mdef", R_OK) != 0 || channel >= info.channels) {
        ccai_free(pcm);
        fprintf(stderr, "no pocketsphinx model (or no channel %u)\n", channel);
        return 77;
    }
    int16_t *mono = malloc((frames ? frames : 1) * sizeof *mono);
    for (size_t i = 0; mono && i < frames; i++)
        mono[i] = pcm[i * info.channels + channel];
    ccai_free(pcm);
    Ccai_err err = {0};
    Ccai_sphinx_model *m = NULL;
    if (!mono || Ccai_sphinx_model_new(NULL, NULL, &m, &err) != CCAI_OK) {
        fprintf(stderr, "pocketsphinx: %s\n", err.msg ? err.msg : "cannot load its model");
        Ccai_err_free(&err);
        free(mono);
        return 1;
    }
    /* Stretches of sound (20 ms frames above -50 dBFS, gaps under 300 ms
     * joined), in pieces of at most 3 s: the free model loses its way in
     * a long utterance. */
    size_t fl = info.rate / 1000 * FRAME_MS, piece = info.rate / 1000 * PIECE_MS;
    char heard[16384] = "";
    size_t start = SIZE_MAX, last = 0;
    int rc = 0;
    for (size_t off = 0; off + fl <= frames && rc == 0; off += fl) {
        double e = 0;
        for (size_t i = 0; i < fl; i++)
            e += (double)mono[off + i] * mono[off + i];
        bool loud = 10 * log10(e / (double)fl / (32768.0 * 32768.0) + 1e-12) > -50;
        if (loud) {
            if (start == SIZE_MAX)
                start = off;
            last = off + fl;
        }
        bool gap = start != SIZE_MAX && !loud && off + fl - last >= info.rate / 1000 * 300;
        if (start != SIZE_MAX && (gap || last - start >= piece || off + 2 * fl > frames)) {
            rc = recognise(m, info.rate, mono + start, last - start, heard, sizeof heard);
            start = SIZE_MAX;
        }
    }
    printf("heard %s\n", heard);
    if (argc > 3) {
        size_t total = 0;
        size_t hits = voice_keywords(argv[3], heard, &total);
        printf("keywords %zu %zu\n", hits, total);
    }
    free(mono);
    Ccai_sphinx_model_free(m);
    return rc == 0 ? 0 : 1;
}
