/* Speech material for the media tests and bench-media: the espeak-ng
 * corpus (tests/media/gen_speech.sh, generated at build time), its ground
 * truth, line noise at a chosen SNR, G.711 round trips, and scoring of the
 * VAD against the truth. */
#ifndef CCAI_TEST_SPEECH_H
#define CCAI_TEST_SPEECH_H

#include "media/echo.h"
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
    size_t utterances;
    size_t detected;      /* utterances a turn end (SPEECH_END, turn) covers */
    size_t started;       /* utterances with a SPEECH_START inside */
    size_t split;         /* extra turn ends inside one utterance */
    size_t merged;        /* turn ends covering more than one utterance */
    size_t false_starts;  /* SPEECH_START outside every utterance */
    size_t false_turns;   /* turn ends outside every utterance */
    bool utt_started[64]; /* per utterance: a SPEECH_START inside */
    double utt_onset[64]; /* its decision - the utterance's start, ms */
    double onset[64];     /* SPEECH_START decision - utterance start, ms */
    double offset[64];    /* last turn end's decision - utterance end, ms */
    size_t n_onset, n_offset;
} vad_score;

/* Run a VAD with p over pcm (truth from t, same length) in 20 ms chunks,
 * with gate[i] the gate of frame i (NULL: none), and score it. False when
 * the VAD cannot be created. */
bool speech_score_vad(const speech_track *truth, const int16_t *pcm, const double *gate,
                      const Ccai_vad_params *p, vad_score *ret);
double vad_score_precision(const vad_score *s);
double vad_score_recall(const vad_score *s);
double vad_score_false_alarm(const vad_score *s);
/* The bot's audio as the caller's line carries it: t (any rate, its level
 * set) converted to 8 kHz with the library's converter, repeated to n
 * samples, through G.711 mu-law; truth from the result. */
bool speech_far(const speech_track *t, size_t n, speech_track *ret);

typedef struct echo_line {
    uint32_t delay_ms; /* echo path delay */
    double echo_db;    /* echo level relative to the bot's audio (-10) */
    bool gate;         /* Ccai_echo_gate with gate_params */
    Ccai_echo_gate_params gate_params;
    uint32_t aec_tail_ms; /* 0: no echo canceller */
} echo_line;

/* The caller's line (8 kHz): caller (or silence when NULL; n samples) plus
 * far's echo plus -65 dBFS pink noise, through G.711; then, per 20 ms
 * frame, the echo canceller (if any) and the gate level. *ret_near and
 * *ret_gate (one per frame) are freed with free(). */
bool speech_echo_line(const speech_track *caller, const speech_track *far, size_t n,
                      const echo_line *line, int16_t **ret_near, double **ret_gate);

/* Mean of v[0..n), 0 when empty. */
double speech_mean(const double *v, size_t n);
double speech_max(const double *v, size_t n);

#endif
