/* Faults shared by the OpenAI audio, Azure Speech and ElevenLabs stand-ins,
 * queued by a test and taken, oldest first, by the next request that passed
 * authentication (a refused key never takes one), and the streaming of
 * audio in timed chunks with those faults applied. */
#ifndef CCAI_TEST_SPEECH_FAULT_H
#define CCAI_TEST_SPEECH_FAULT_H

#include "support/svc.h"

#include <stddef.h>
#include <stdint.h>

typedef struct speech_fault {
    int status;               /* answer with this HTTP status and the service's error body
                                 (429, 500, 503...; on a WebSocket route: refuse the upgrade) */
    int retry_after;          /* Retry-After: <seconds> with it */
    int delay_ms;             /* slow first byte: the answer (or the 101) comes this much later */
    int drop;                 /* close the connection without any answer */
    int after;                /* the faults below hit chunk / message number after + 1: */
    int cut;                  /*   the connection closes there (a disconnect mid-stream) */
    int garbage;              /*   bytes that break the framing (chunked or WebSocket) */
    int malformed;            /*   a JSON body / event cut in half */
    int stall_ms;             /*   it and everything after it this much later */
    int close_code;           /*   WebSocket: close with this code ... */
    const char *close_reason; /* ... and reason (NULL = "") */
} speech_fault;

typedef struct speech_faults {
    speech_fault *v;
    size_t n, cap, head;
} speech_faults;

/* Under the service's lock. Push copies f; pop fills *out (its reason is
 * owned by the caller: sf_clear) and returns 1, or 0 when none is queued. */
void sf_push(speech_faults *q, const speech_fault *f);
int sf_pop(speech_faults *q, speech_fault *out);
int sf_pending(const speech_faults *q);
void sf_clear(speech_fault *f);
void sf_free(speech_faults *q);

/* The time the answer starts: now + ttfb (+ the fault's delay). */
uint64_t sf_start(const speech_fault *f, int ttfb_ms);

/* Streams data as HTTP chunks of chunk bytes, the first at t0, then one
 * every interval_ms, applying f's stream faults (f may be NULL), then the
 * last chunk. The response head must be queued before. */
void sf_stream_chunks(svc_conn *c, const speech_fault *f, uint64_t t0, const uint8_t *data,
                      size_t len, size_t chunk, int interval_ms);

/* A WebSocket text message number k (0-based) of a connection at `at`,
 * with f's stream faults applied (it may be cut, dropped, garbled, late,
 * replaced by a close). Returns 0, or -1 when the connection is over (send
 * nothing more). *stalled keeps the stall across calls (start at 0). */
int sf_ws_text(svc_conn *c, const speech_fault *f, int k, uint64_t at, const char *text,
               int *stalled);

#endif
