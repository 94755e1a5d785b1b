/* Answering-machine detection on the callee's audio of an outbound call:
 * who picked up, and when a machine is ready to record. Sans-I/O: PCM16 in,
 * a verdict out; time is the stream position (samples fed since the call
 * was answered).
 *
 * Per 20 ms frame:
 *   - the level (RMS, dBFS) against a noise floor (the quietest frame of the
 *     last second): voiced at min_level_dbfs and floor + 10 dB;
 *   - a tone: Goertzel at every 25 Hz from tone_lo_hz to tone_hi_hz; the
 *     frame is tonal when one frequency holds tone_purity of its energy.
 *     A beep is tonal frames at the same frequency (within 50 Hz) for
 *     tone_min_ms. Speech never holds one pure frequency that long: its
 *     harmonics spread the energy, and a voice's pitch moves.
 *
 * The verdicts, in order of time:
 *   HUMAN     the first utterance (voiced frames, pauses shorter than
 *             pause_ms inside) ended before greeting_ms: "Hello?", then the
 *             caller waits for an answer;
 *   MACHINE   the first utterance lasted greeting_ms: a recorded greeting
 *             ("Hi, you've reached ..., leave a message after the tone");
 *   END_BEEP  after MACHINE (or before any verdict): the beep;
 *   END_SILENCE after MACHINE: end_silence_ms with no voice, no beep;
 *   END_OTHER after MACHINE: end_wait_ms passed, no beep nor silence (a
 *             greeting that goes on: the message is left anyway);
 *   UNKNOWN   listen_ms without any voice: nothing to judge on (treated as
 *             a human by the caller of this module).
 * A beep before any verdict gives END_BEEP at once (a machine with no
 * greeting). HUMAN and UNKNOWN are final; MACHINE is followed by one END. */
#ifndef CCAI_MEDIA_AMD_H
#define CCAI_MEDIA_AMD_H

#include "core/common.h"

typedef enum Ccai_amd_verdict {
    CCAI_AMD_NONE = 0, /* still listening */
    CCAI_AMD_HUMAN,
    CCAI_AMD_MACHINE,
    CCAI_AMD_END_BEEP,
    CCAI_AMD_END_SILENCE,
    CCAI_AMD_END_OTHER,
    CCAI_AMD_UNKNOWN,
} Ccai_amd_verdict;

/* "human", "machine_start", "machine_end_beep", "machine_end_silence",
 * "machine_end_other", "unknown" (Twilio's AnsweredBy words); "" for none. */
const char *Ccai_amd_verdict_str(Ccai_amd_verdict v);

typedef struct Ccai_amd_params {
    uint32_t greeting_ms;          /* an utterance this long is a machine's greeting (3000) */
    uint32_t pause_ms;             /* a pause this long ends an utterance (800) */
    uint32_t listen_ms;            /* no voice this long: UNKNOWN (5000) */
    uint32_t end_silence_ms;       /* after MACHINE: silence this long is the end (2500) */
    uint32_t end_wait_ms;          /* after MACHINE: give up waiting for the end (20000) */
    uint32_t tone_min_ms;          /* a beep lasts at least (160) */
    double tone_lo_hz, tone_hi_hz; /* where beeps are (900 .. 2100) */
    double tone_purity;            /* share of a frame's energy at one frequency (0.7) */
    double min_level_dbfs;         /* quieter is never voice (-45) */
} Ccai_amd_params;

void Ccai_amd_params_default(Ccai_amd_params *p);

typedef struct Ccai_amd Ccai_amd;

/* A detector for audio at @rate (8000 .. 48000 Hz). CCAI_OK,
 * CCAI_ERR_INVALID_ARG (rate, or lo/hi/purity out of range),
 * CCAI_ERR_NOMEM. Ownership: free with Ccai_amd_free(). */
CCAI_MUST_CHECK ccai_status Ccai_amd_new(const Ccai_amd_params *p, uint32_t rate, Ccai_amd **ret);
void Ccai_amd_free(Ccai_amd *a);

/* Feed n samples (any count). Returns the verdict reached in them, if any
 * (CCAI_AMD_NONE otherwise); a second verdict in the same samples waits
 * for the next call. Nothing more comes after a final verdict (HUMAN,
 * UNKNOWN, an END). */
Ccai_amd_verdict Ccai_amd_feed(Ccai_amd *a, const int16_t *pcm, size_t n);

/* Milliseconds of audio fed so far. */
uint64_t Ccai_amd_position_ms(const Ccai_amd *a);

#endif
