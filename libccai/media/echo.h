/* Echo handling: keep the bot's own voice, returned by the line, from
 * looking like the caller (a false barge-in).
 *
 * Ccai_echo_gate (reference-energy gating, always usable): remembers the
 * level of the audio released to the caller over the last max_delay_ms and
 * gives, for a stretch of caller audio, the level it must reach to be the
 * caller rather than echo: the loudest bot level within the echo delay
 * window, minus the echo return loss (ERL), plus margin_db. That level is
 * the gate_db argument of Ccai_vad_process(). No alignment needed: the
 * window covers any delay up to max_delay_ms.
 *
 * The ERL is erl_db until the line has been measured; adaptive, the gate
 * measures it from the bot's own audio coming back while the caller is
 * silent (Ccai_echo_gate_near(): the loudest bot level of the window minus
 * the caller's line level, frames the VAD did not call voiced): the
 * smallest such difference over the last erl_window_ms, never more than
 * max_erl_db, is the ERL (a line that echoes nothing gets max_erl_db: the
 * caller then only has to beat the VAD). A caller's quiet words among the
 * measurements can only lower it (a stricter gate), never let echo through;
 * echo reaches at most the ERL measured, which ADAPT_MARGIN_DB (3 dB in
 * echo.c, once measured) keeps below the gate.
 *
 * Aligned (align, the default), the gate also estimates the echo's delay:
 * the lag at which the line's levels, while the caller is silent, follow
 * the bot's best over the last 2 s (correlation of the levels, at least
 * 0.6, over at least 400 ms of bot audio; again every 200 ms). Once known,
 * the window shrinks to 40 ms either side of that delay, so the caller
 * must beat the echo of what the bot says now, not the bot's loudest
 * sound of the last max_delay_ms: a caller talking over the bot gets
 * through sooner on a line that echoes. When nothing correlates any more
 * (the echo went, the path changed) the delay is unknown again and the
 * whole window is used.
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
    uint32_t min_delay_ms;  /* shortest echo delay considered (0) */
    uint32_t max_delay_ms;  /* longest (300; at most 2000) */
    double erl_db;          /* echo return loss assumed: echo = bot level - erl_db (6);
                               adaptive: until the line is measured */
    double margin_db;       /* the caller must exceed the expected echo by this (0) */
    bool adaptive;          /* measure the ERL (Ccai_echo_gate_near()) (true) */
    double max_erl_db;      /* adaptive: the highest ERL assumed (40; erl_db..60) */
    uint32_t erl_window_ms; /* adaptive: measurements remembered (3000; 200..5000) */
    bool align;             /* estimate the echo's delay and gate around it (true) */
} Ccai_echo_gate_params;

void Ccai_echo_gate_params_default(Ccai_echo_gate_params *p);

typedef struct Ccai_echo_gate Ccai_echo_gate;

/* Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG (min > max, max > 2000, erl_db
 * or margin_db outside -20..60, max_erl_db or erl_window_ms out of range
 * when adaptive); CCAI_ERR_NOMEM. Ownership: *ret freed with
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
/* Adaptive gate: the caller's line heard from start_ms for dur_ms was at
 * level_db (dBFS, as the VAD measured it); voiced: the VAD took it for the
 * caller (not a measurement of the echo). No effect when not adaptive, or
 * when the bot was quiet (below -50 dBFS) within the delay window. */
void Ccai_echo_gate_near(Ccai_echo_gate *g, uint64_t start_ms, uint32_t dur_ms, double level_db,
                         bool voiced);
/* The echo return loss the gate assumes now, in dB. */
double Ccai_echo_gate_erl(const Ccai_echo_gate *g);
/* Whether the caller is talking (the VAD started speech): the line is
 * then no measure of the echo's delay. Frames the VAD calls voiced while
 * the caller is not known to talk still are: echo the gate let through
 * (misaligned) is what tells the delay again. */
void Ccai_echo_gate_caller_talking(Ccai_echo_gate *g, bool talking);
/* The echo's delay the gate estimated (ms after the bot's audio was
 * released), or -1 while it is not known (see align above). */
int64_t Ccai_echo_gate_delay(const Ccai_echo_gate *g);

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
