/* Speech material for the media tests and bench-media: the espeak-ng
 * corpus (tests/media/gen_speech.sh, generated at build time), its ground
 * truth, line noise at a chosen SNR, G.711 round trips, and scoring of the
 * VAD against the truth. */
#ifndef CCAI_TEST_SPEECH_H
#define CCAI_TEST_SPEECH_H

#include "media/vad.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPEECH_FRAME_MS 20

typedef struct speech_span {
    uint64_t start_ms, end_ms;
} speech_span;

typedef struct speech_track {
    int16_t *pcm; /* mono */
    size_t n;
    uint32_t rate;
    /* Truth from the clean signal: a frame is speech when its level is
     * within 45 dB of the loudest frame, with pauses shorter than 300 ms
     * inside (frame level truth); utterances join pauses under 700 ms. */
    bool *truth; /* per 20 ms frame */
    size_t n_frames;
    speech_span utt[64];
    size_t n_utt;
    double active_db; /* mean level of the speech frames (ITU-T P.56 style) */
} speech_track;

/* The directory of the generated corpus (CCAI_TEST_SPEECH_DIR), or NULL
 * when espeak-ng or sox were missing at build time. */
const char *speech_dir(void);
/* Load NAME.wav from speech_dir() (e.g. "caller-test"); false on failure. */
bool speech_load(const char *name, speech_track *ret);
/* A copy of t (pcm and truth). */
bool speech_copy(const speech_track *t, speech_track *ret);
void speech_free(speech_track *t);
/* Scale so the active level is target_db dBFS (clipping at full scale). */
void speech_set_level(speech_track *t, double target_db);

typedef enum speech_noise {
    NOISE_NONE,
    NOISE_WHITE,
    NOISE_PINK,
    NOISE_BABBLE, /* a crowd: the same track at ten offsets */
} speech_noise;

const char *speech_noise_name(speech_noise k);
/* Add noise whose level is the active level minus snr_db (seeded, so
 * repeatable). */
void speech_add_noise(speech_track *t, speech_noise kind, double snr_db, uint32_t seed);
/* Through G.711 mu-law and back, as a telephone line carries it. */
void speech_ulaw_roundtrip(int16_t *pcm, size_t n);
/* Add src * 10^(gain_db / 20), delayed by delay_ms, onto dst (n samples,
 * same rate). */
void speech_add_delayed(int16_t *dst, size_t n, const int16_t *src, size_t src_n, uint32_t rate,
                        uint32_t delay_ms, double gain_db);

typedef struct vad_score {
    size_t frames, truth_frames, speech_frames, hits; /* frame level */
    size_t false_frames;                              /* speech decided on non-speech */
    size_t utterances, detected, split, false_starts;
    size_t turns_short; /* detected utterances whose end said turn = false */
    double onset[64];   /* START decision - utterance start, ms, per detected utterance */
    double offset[64];  /* END decision - utterance end, ms */
    size_t n_onset, n_offset;
} vad_score;

/* Run a VAD with p over pcm (truth from t, same length) in 20 ms chunks and
 * score it. False when the VAD cannot be created. */
bool speech_score_vad(const speech_track *truth, const int16_t *pcm, const Ccai_vad_params *p,
                      vad_score *ret);
double vad_score_precision(const vad_score *s);
double vad_score_recall(const vad_score *s);
double vad_score_false_alarm(const vad_score *s);
/* Mean of v[0..n), 0 when empty. */
double speech_mean(const double *v, size_t n);
double speech_max(const double *v, size_t n);

#endif
