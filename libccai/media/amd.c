/* Answering-machine detection (media/amd.h). */
#include "media/amd.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FRAME_MS     20
#define FLOOR_FRAMES 50 /* one second of levels */
#define BIN_STEP_HZ  25.0
#define BIN_SPREAD   2 /* a beep wavers by 2 bins (50 Hz) at most */
#define VOICE_SNR_DB 10.0
#define MIN_UTT_MS   100 /* shorter is a click, not a "hello" */
#define MAX_BINS     256
#define SILENT_DBFS  (-90.0)

struct Ccai_amd {
    Ccai_amd_params p;
    uint32_t rate;
    size_t frame; /* samples per frame */
    int16_t *buf;
    size_t fill;
    size_t n_bins;
    double *coef; /* 2 cos(w) per bin */
    uint64_t f;   /* frames analysed */
    double levels[FLOOR_FRAMES];
    bool in_utt, any_voice;
    uint64_t utt_start, last_voiced;
    int tone_bin;
    uint32_t tone_frames;
    Ccai_amd_verdict state; /* NONE, MACHINE, or the final one */
    uint64_t machine_at;
    Ccai_amd_verdict pending[2];
    size_t n_pending;
};

const char *Ccai_amd_verdict_str(Ccai_amd_verdict v)
{
    switch (v) {
    case CCAI_AMD_NONE: return "";
    case CCAI_AMD_HUMAN: return "human";
    case CCAI_AMD_MACHINE: return "machine_start";
    case CCAI_AMD_END_BEEP: return "machine_end_beep";
    case CCAI_AMD_END_SILENCE: return "machine_end_silence";
    case CCAI_AMD_END_OTHER: return "machine_end_other";
    case CCAI_AMD_UNKNOWN: return "unknown";
    }
    return "";
}

void Ccai_amd_params_default(Ccai_amd_params *p)
{
    *p = (Ccai_amd_params){
        .greeting_ms = 3000,
        .pause_ms = 800,
        .listen_ms = 5000,
        .end_silence_ms = 2500,
        .end_wait_ms = 20000,
        .tone_min_ms = 160,
        .tone_lo_hz = 900,
        .tone_hi_hz = 2100,
        .tone_purity = 0.7,
        .min_level_dbfs = -45,
    };
}

ccai_status Ccai_amd_new(const Ccai_amd_params *p, uint32_t rate, Ccai_amd **ret)
{
    *ret = NULL;
    if (!p || rate < 8000 || rate > 48000 || !(p->tone_lo_hz > 0) ||
        !(p->tone_hi_hz > p->tone_lo_hz) || p->tone_hi_hz >= rate / 2.0 ||
        (p->tone_hi_hz - p->tone_lo_hz) / BIN_STEP_HZ + 1 > MAX_BINS || !(p->tone_purity > 0) ||
        p->tone_purity > 1 || !p->greeting_ms || !p->pause_ms)
        return CCAI_ERR_INVALID_ARG;
    Ccai_amd *a = Ccai_calloc(1, sizeof *a);
    if (!a)
        return CCAI_ERR_NOMEM;
    a->p = *p;
    a->rate = rate;
    a->frame = rate / (1000 / FRAME_MS);
    a->n_bins = (size_t)((p->tone_hi_hz - p->tone_lo_hz) / BIN_STEP_HZ) + 1;
    a->buf = Ccai_calloc(a->frame, sizeof *a->buf);
    a->coef = Ccai_calloc(a->n_bins, sizeof *a->coef);
    if (!a->buf || !a->coef) {
        Ccai_amd_free(a);
        return CCAI_ERR_NOMEM;
    }
    for (size_t b = 0; b < a->n_bins; b++) {
        double hz = p->tone_lo_hz + (double)b * BIN_STEP_HZ;
        a->coef[b] = 2.0 * cos(2.0 * M_PI * hz / rate);
    }
    for (size_t i = 0; i < FLOOR_FRAMES; i++)
        a->levels[i] = SILENT_DBFS;
    a->tone_bin = -1;
    *ret = a;
    return CCAI_OK;
}

void Ccai_amd_free(Ccai_amd *a)
{
    if (!a)
        return;
    ccai_free(a->buf);
    ccai_free(a->coef);
    ccai_free(a);
}

uint64_t Ccai_amd_position_ms(const Ccai_amd *a)
{
    return a->f * FRAME_MS + (uint64_t)a->fill * 1000 / a->rate;
}

static void emit(Ccai_amd *a, Ccai_amd_verdict v)
{
    a->state = v;
    if (a->n_pending < CCAI_ARRAY_SIZE(a->pending))
        a->pending[a->n_pending++] = v;
}

static bool final(Ccai_amd_verdict v)
{
    return v != CCAI_AMD_NONE && v != CCAI_AMD_MACHINE;
}

/* The bin holding most of the frame's energy, and its share (1 for a pure
 * tone at the bin's frequency). */
static int strongest_bin(const Ccai_amd *a, double energy, double *ret_share)
{
    int best = -1;
    double best_p = 0;
    for (size_t b = 0; b < a->n_bins; b++) {
        double s1 = 0, s2 = 0, k = a->coef[b];
        for (size_t i = 0; i < a->frame; i++) {
            double s0 = a->buf[i] / 32768.0 + k * s1 - s2;
            s2 = s1;
            s1 = s0;
        }
        double pw = s1 * s1 + s2 * s2 - k * s1 * s2;
        if (pw > best_p) {
            best_p = pw;
            best = (int)b;
        }
    }
    /* A sinusoid of amplitude A: |X|^2 = (A N / 2)^2, energy A^2 N / 2. */
    *ret_share = energy > 0 ? best_p / (energy * (double)a->frame / 2.0) : 0;
    return best;
}

static void analyse(Ccai_amd *a)
{
    double energy = 0;
    for (size_t i = 0; i < a->frame; i++) {
        double x = a->buf[i] / 32768.0;
        energy += x * x;
    }
    double rms = sqrt(energy / (double)a->frame);
    double level = rms > 0 ? 20.0 * log10(rms) : SILENT_DBFS;
    a->levels[a->f % FLOOR_FRAMES] = level;
    double floor_db = level;
    for (size_t i = 0; i < FLOOR_FRAMES; i++) {
        if (a->levels[i] < floor_db)
            floor_db = a->levels[i];
    }
    bool loud = level >= a->p.min_level_dbfs;
    bool tonal = false;
    if (loud) {
        double share = 0;
        int bin = strongest_bin(a, energy, &share);
        tonal = bin >= 0 && share >= a->p.tone_purity;
        if (tonal && a->tone_frames && abs(bin - a->tone_bin) <= BIN_SPREAD) {
            a->tone_frames++;
        } else if (tonal) {
            a->tone_frames = 1;
            a->tone_bin = bin;
        }
    }
    if (!tonal)
        a->tone_frames = 0;
    bool voiced = loud && !tonal && level >= floor_db + VOICE_SNR_DB;
    uint64_t f = a->f++;
    bool beep = a->tone_frames * FRAME_MS >= a->p.tone_min_ms;

    if (beep) {
        emit(a, CCAI_AMD_END_BEEP);
        return;
    }
    if (voiced) {
        if (!a->in_utt) {
            a->in_utt = true;
            a->utt_start = f;
        }
        a->last_voiced = f;
        a->any_voice = true;
    }
    if (a->state == CCAI_AMD_MACHINE) {
        if ((f - a->last_voiced) * FRAME_MS >= a->p.end_silence_ms)
            emit(a, CCAI_AMD_END_SILENCE);
        else if ((f - a->machine_at) * FRAME_MS >= a->p.end_wait_ms)
            emit(a, CCAI_AMD_END_OTHER);
        return;
    }
    if (a->in_utt && (f - a->utt_start + 1) * FRAME_MS >= a->p.greeting_ms) {
        a->machine_at = f;
        emit(a, CCAI_AMD_MACHINE);
        return;
    }
    if (a->in_utt && (f - a->last_voiced) * FRAME_MS >= a->p.pause_ms) {
        a->in_utt = false;
        if ((a->last_voiced - a->utt_start + 1) * FRAME_MS >= MIN_UTT_MS)
            emit(a, CCAI_AMD_HUMAN);
        return;
    }
    if (!a->any_voice && (f + 1) * FRAME_MS >= a->p.listen_ms)
        emit(a, CCAI_AMD_UNKNOWN);
}

Ccai_amd_verdict Ccai_amd_feed(Ccai_amd *a, const int16_t *pcm, size_t n)
{
    for (size_t i = 0; i < n && !final(a->state); i++) {
        a->buf[a->fill++] = pcm[i];
        if (a->fill == a->frame) {
            a->fill = 0;
            analyse(a);
        }
    }
    if (!a->n_pending)
        return CCAI_AMD_NONE;
    Ccai_amd_verdict v = a->pending[0];
    a->pending[0] = a->pending[1];
    a->n_pending--;
    return v;
}
