/* Echo handling: keep the bot's own voice, returned by the line, from
 * looking like the caller (a false barge-in).
 *
 * Ccai_echo_gate (reference-energy gating, always usable): remembers the
 * level of the audio released to the caller over the last max_delay_ms and
 * gives, for a stretch of caller audio, the level it must reach to be the
 * caller rather than echo: the loudest bot level within the echo delay
 * window, minus the echo return loss assumed (erl_db), plus margin_db.
 * That level is the gate_db argument of Ccai_vad_process(). No alignment
 * needed: the window covers any delay up to max_delay_ms.
 *
 * Ccai_echo_canceller (optional): speexdsp's adaptive echo canceller
 * (speex_echo_state), frame by frame, with the audio released at the same
 * moment as its reference. It needs the echo delay within its tail, so it
 * suits transports whose playout libccai paces (RTP, AudioSocket), not a
 * carrier with its own playback queue (Twilio, ACS), where the gate is the
 * tool (reference/media.md section 7.4).
 *
 * Time is the host's monotonic clock in ms, passed in; nothing here reads a
 * clock. */
#ifndef CCAI_MEDIA_ECHO_H
#define CCAI_MEDIA_ECHO_H

#include "core/common.h"

typedef struct Ccai_echo_gate_params {
    uint32_t min_delay_ms; /* shortest echo delay considered (0) */
    uint32_t max_delay_ms; /* longest (300; at most 2000) */
    double erl_db;         /* echo return loss assumed: echo = bot level - erl_db (6) */
    double margin_db;      /* the caller must exceed the expected echo by this (0) */
} Ccai_echo_gate_params;

void Ccai_echo_gate_params_default(Ccai_echo_gate_params *p);

typedef struct Ccai_echo_gate Ccai_echo_gate;

/* Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG (min > max, max > 2000, erl_db
 * or margin_db outside -20..60); CCAI_ERR_NOMEM. Ownership: *ret freed with
 * Ccai_echo_gate_free(). */
CCAI_MUST_CHECK ccai_status Ccai_echo_gate_new(const Ccai_echo_gate_params *p,
                                               Ccai_echo_gate **ret);
/* Accepts NULL. */
void Ccai_echo_gate_free(Ccai_echo_gate *g);
/* The bot's audio: n mono samples at rate, released (played) from now_ms. */
void Ccai_echo_gate_far(Ccai_echo_gate *g, uint64_t now_ms, const int16_t *pcm, size_t n,
                        uint32_t rate);
/* The gate for caller audio heard from start_ms for dur_ms: a level in
 * dBFS, or CCAI_VAD_NO_GATE when no bot audio lies in the delay window. */
double Ccai_echo_gate_level(const Ccai_echo_gate *g, uint64_t start_ms, uint32_t dur_ms);

typedef struct Ccai_echo_canceller Ccai_echo_canceller;

/* An echo canceller for frame_samples-sample mono frames at rate (8, 16,
 * 24 or 48 kHz; frames of 10 or 20 ms) whose filter covers tail_ms of echo
 * path (20..1000 ms; cost grows with it).
 * Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG; CCAI_ERR_NOMEM; CCAI_ERR_INTERNAL
 * (speexdsp refused the rate). Ownership: *ret freed with
 * Ccai_echo_canceller_free(); speexdsp allocates its state with calloc (no
 * allocator hook in Debian's build). */
CCAI_MUST_CHECK ccai_status Ccai_echo_canceller_new(uint32_t rate, size_t frame_samples,
                                                    uint32_t tail_ms, Ccai_echo_canceller **ret);
/* Accepts NULL. */
void Ccai_echo_canceller_free(Ccai_echo_canceller *ec);
size_t Ccai_echo_canceller_frame(const Ccai_echo_canceller *ec);
/* One frame: near is what the caller's line brought, far what was released
 * to the caller at the same moment (NULL: nothing, silence); out receives
 * near with the echo of far removed. out may not alias near or far. */
void Ccai_echo_canceller_process(Ccai_echo_canceller *ec, const int16_t *near, const int16_t *far,
                                 int16_t *out);

#endif
