/* Offline text-to-speech behind one interface: flite in-process (the
 * default: US English voices, BSD-style licence) and espeak-ng as a
 * separate process for the languages flite lacks (espeak-ng is GPL-3 and
 * libccai is MIT: it is never linked, only run; speech/espeak.c).
 *
 * Streaming and cancellable, on the host's thread, no hidden thread:
 *   Ccai_synth_say()    queues text (plain or SSML-like: speech/tts_text.h);
 *   Ccai_synth_step()   makes progress without blocking: flite synthesises
 *                     the next piece (a sentence, at most
 *                     CCAI_SYNTH_PIECE_MAX bytes: ~1 ms with kal16, ~30 ms
 *                     with slt/rms), espeak-ng moves bytes through its
 *                     pipes and starts the next process;
 *   audio callback    the audio as it is made, in the caller's format, in
 *                     frame_ms chunks (the last of a text may be shorter);
 *                     returning false stops everything (barge-in);
 *   done callback     once per text: spoken, failed, or cancelled;
 *   Ccai_synth_cancel() drops everything queued or in progress.
 * What drives the steps: while Ccai_synth_busy(), call Ccai_synth_step() when
 * one of Ccai_synth_fds() is ready (espeak-ng; the io layer's fd watching in
 * the end) or from a 0 ms timer when there is no fd to wait for (flite).
 *
 * A stream belongs to one thread; several streams may run on several
 * threads (flite's voices are registered once per process). */
#ifndef CCAI_SPEECH_SYNTH_H
#define CCAI_SPEECH_SYNTH_H

#include "media/codec.h"
#include "speech/pcm.h"

typedef enum Ccai_synth_engine {
    CCAI_SYNTH_FLITE = 1,
    CCAI_SYNTH_ESPEAK = 2,
} Ccai_synth_engine;

typedef struct Ccai_synth_params {
    Ccai_synth_engine engine; /* CCAI_SYNTH_FLITE */
    /* flite: "kal16" (default), "kal" (8 kHz), "slt", "rms", "awb";
     * espeak-ng: one of its voices ("fr", "de", "es", "en-us", ...; NULL:
     * from language). */
    const char *voice;
    const char *language;       /* BCP 47 ("fr-FR"): espeak-ng's voice when voice is NULL */
    double rate;                /* speed multiplier 0.5..2 (1) */
    Ccai_media_format out;      /* the audio the caller wants (8 kHz mu-law, ...) */
    uint32_t frame_ms;          /* chunk duration (20; 10..1000) */
    const char *espeak_program; /* "espeak-ng" (searched in PATH) */
} Ccai_synth_params;

void Ccai_synth_params_default(Ccai_synth_params *p);

/* The engine that speaks a language: flite for English, espeak-ng (when
 * its program is installed, checked by the caller) for the others. */
Ccai_synth_engine Ccai_synth_engine_for(const char *language);
/* True when this build has the engine (flite may be left out). */
bool Ccai_synth_engine_available(Ccai_synth_engine e);

typedef struct Ccai_synth_sink {
    /* Audio in params.out; return false to stop (everything is cancelled:
     * the current text's done comes with CCAI_ERR_CANCELLED). */
    bool (*audio)(void *ud, const uint8_t *data, size_t len);
    /* Text id is finished: CCAI_OK (all its audio was delivered),
     * CCAI_ERR_CANCELLED, or the failure (CCAI_ERR_IO: espeak-ng could not
     * run or died; CCAI_ERR_PARSE: it wrote something else than audio;
     * CCAI_ERR_INTERNAL: flite failed; CCAI_ERR_NOMEM). */
    void (*done)(void *ud, uint32_t id, ccai_status st);
} Ccai_synth_sink;

typedef struct Ccai_synth Ccai_synth;

/* Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG (err says which parameter);
 * CCAI_ERR_NOT_FOUND (no such flite voice); CCAI_ERR_UNSUPPORTED (the
 * engine is not in this build, or a language flite does not speak);
 * CCAI_ERR_NOMEM. Ownership: params and sink copied; *ret freed with
 * Ccai_synth_free(). Context: the sink's callbacks run inside
 * Ccai_synth_step() (and Ccai_synth_cancel() for done); they may call
 * Ccai_synth_say(), _cancel() and _free() on the stream. */
ccai_status Ccai_synth_new(const Ccai_synth_params *p, const Ccai_synth_sink *sink, void *ud,
                           Ccai_synth **ret, Ccai_err *err);
/* Stops everything (no callback), ends any espeak-ng process. NULL
 * accepted; from inside a callback it takes effect on return. */
void Ccai_synth_free(Ccai_synth *t);
/* Queue len bytes of text; *ret_id (may be NULL) identifies it in done.
 * Text with nothing to say is done (CCAI_OK) at the next step.
 * Statuses: CCAI_OK; CCAI_ERR_LIMIT (over CCAI_SYNTH_TEXT_MAX bytes, or
 * more than 256 texts queued); CCAI_ERR_INVALID_ARG; CCAI_ERR_NOMEM. */
ccai_status Ccai_synth_say(Ccai_synth *t, const char *text, size_t len, uint32_t *ret_id);
/* Progress without blocking (see above). Statuses: CCAI_OK; an error of
 * the stream itself (CCAI_ERR_NOMEM); a text's failure goes to its done. */
ccai_status Ccai_synth_step(Ccai_synth *t);
/* Something is queued or in progress. */
bool Ccai_synth_busy(const Ccai_synth *t);

/* The file descriptors the next step waits for (at most cap into fds):
 * their count; 0 when a step can run at once (flite) or nothing is in
 * progress. */
size_t Ccai_synth_fds(const Ccai_synth *t, Ccai_synth_fd *fds, size_t cap);
/* Drop everything: each queued text's done comes with CCAI_ERR_CANCELLED
 * (from inside this call). */
void Ccai_synth_cancel(Ccai_synth *t);
/* The voice's own sample rate (flite: 16 kHz for kal16, 8 kHz for kal;
 * espeak-ng: 22.05 kHz). */
uint32_t Ccai_synth_native_rate(const Ccai_synth *t);

#endif
