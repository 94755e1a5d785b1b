/* One HTTP/1.1 server connection without I/O: bytes in → requests,
 * answers → bytes out, the caller's clock in → deadlines out. Parsing is
 * nodejs' http-parser (duplicate Content-Length, Content-Length with
 * Transfer-Encoding, bad chunk sizes and header syntax are refused there);
 * the limits, the request checks and the answers are here. web/server.c
 * puts it on a socket; the unit tests and the fuzz target drive it alone.
 *
 * Lifecycle:
 *   1. Ccai_h1_new() when a connection is accepted.
 *   2. Ccai_h1_input() with what was read (at most Ccai_h1_read_room()
 *      bytes), Ccai_h1_eof() when the peer closed. Each complete request is
 *      handed to events.request, one at a time and in order (pipelined
 *      requests wait, read ahead up to limits.max_buffered bytes); answer
 *      it with Ccai_h1_respond(), inside the callback or later.
 *   3. Write Ccai_h1_output() to the socket and report it with
 *      Ccai_h1_written(). Call Ccai_h1_timeout() at Ccai_h1_deadline().
 *   4. Follow Ccai_h1_state(): LINGER asks to shut the write side and keep
 *      reading (discarded) so the peer reads the last answer rather than a
 *      reset; CLOSED to close the socket. Then Ccai_h1_free().
 *
 * Every error the connection answers itself (400, 408, 413, 414, 417, 431,
 * 501, 503, 504, 505) is in the JSON error envelope. */
#ifndef CCAI_HTTP_H1CONN_H
#define CCAI_HTTP_H1CONN_H

#include "core/common.h"

/* Most header lines in one request. */
#define CCAI_H1_MAX_HEADERS 100
/* Longest request target (414 beyond, or beyond max_header_bytes). */
#define CCAI_H1_MAX_URL 8192
/* How long a closing connection reads (and drops) what the peer still
 * sends, after the last answer went out. */
#define CCAI_H1_LINGER_MS 2000

typedef struct Ccai_h1 Ccai_h1;

typedef struct Ccai_h1_limits {
    size_t max_header_bytes;    /* request line and header lines (431) */
    size_t max_body_bytes;      /* 413 */
    size_t max_buffered;        /* input read ahead while a request is answered */
    uint64_t header_timeout_ms; /* first byte (accept, for the first request) → headers read */
    uint64_t body_timeout_ms;   /* headers read → body read, plus ... */
    uint64_t min_body_rate;     /* ... 1 s per this many bytes received (0: none) */
    uint64_t idle_timeout_ms;   /* between requests; also a write that makes no progress */
    uint64_t answer_timeout_ms; /* request read → answer (504) */
} Ccai_h1_limits;

/* A complete request: borrowed until it is answered. */
typedef struct Ccai_h1_request {
    const char *method;
    const char *path;  /* percent-decoded, no NUL inside */
    const char *query; /* raw, without '?'; NULL when absent */
    const ccai_http_header *headers;
    size_t n_headers;
    const char *body; /* NUL-terminated */
    size_t body_len;
} Ccai_h1_request;

/* What an access log line says about one answer. Strings are borrowed for
 * the callback; path is loggable text (Ccai_buf_append_loggable()). */
typedef struct Ccai_h1_access {
    const char *method; /* "-" when the request line was not read */
    const char *path;   /* "-" likewise */
    int status;
    size_t bytes; /* body bytes of the answer */
    uint64_t ms;  /* first byte of the request → answer */
} Ccai_h1_access;

typedef struct Ccai_h1_events {
    /* A complete request. */
    void (*request)(Ccai_h1 *c, const Ccai_h1_request *req, void *ud);
    /* The request handed to request() is given up without its answer: the
     * peer closed the connection, or the answer took longer than
     * answer_timeout_ms (the connection answered 504). A later
     * Ccai_h1_respond() is ignored. */
    void (*abandon)(Ccai_h1 *c, void *ud);
    /* An answer was queued (for the access log). May be NULL. */
    void (*answered)(Ccai_h1 *c, const Ccai_h1_access *a, void *ud);
    /* The Date header's value into out ("Sun, 06 Nov 1994 08:49:37 GMT");
     * NULL sends no Date. */
    void (*date)(char out[32], void *ud);
} Ccai_h1_events;

typedef enum Ccai_h1_state {
    CCAI_H1_OPEN,   /* read and write as Ccai_h1_read_room() and Ccai_h1_output() say */
    CCAI_H1_LINGER, /* shut the write side, read until EOF (dropped) or the deadline */
    CCAI_H1_CLOSED, /* close the socket */
    /* The 101 answer is out: the socket speaks the new protocol from
     * Ccai_h1_leftover() on; Ccai_h1_free() the connection. */
    CCAI_H1_UPGRADED
} Ccai_h1_state;

/* NULL on NOMEM. limits and events are copied; now is the accept time. */
Ccai_h1 *Ccai_h1_new(const Ccai_h1_limits *limits, const Ccai_h1_events *events, void *ud,
                     uint64_t now);
void Ccai_h1_free(Ccai_h1 *c);

/* Bytes read from the peer (at most Ccai_h1_read_room()). Complete requests
 * go to events.request before it returns. CCAI_ERR_NOMEM closes. */
CCAI_MUST_CHECK ccai_status Ccai_h1_input(Ccai_h1 *c, const char *data, size_t len, uint64_t now);
/* The peer closed its side (or reset). A request waiting for its answer is
 * abandoned. */
void Ccai_h1_eof(Ccai_h1 *c, uint64_t now);
/* The connection failed (reset by the peer, a write error): closed at
 * once, a waiting request abandoned. */
void Ccai_h1_abort(Ccai_h1 *c, uint64_t now);
/* How many bytes to read now: 0 when the read-ahead is full (or closed). */
size_t Ccai_h1_read_room(const Ccai_h1 *c);

/* Answer the request handed to events.request (ignored when there is none
 * waiting). The next pipelined request is read at the next
 * Ccai_h1_input(), Ccai_h1_written() or Ccai_h1_process(). */
void Ccai_h1_respond(Ccai_h1 *c, const ccai_http_response *res, uint64_t now);
/* Answer the waiting request with 101 Switching Protocols: res's headers
 * (Upgrade, Sec-WebSocket-Accept ...) and Connection: Upgrade; then no
 * more HTTP on this connection. A draining connection answers 503
 * instead. */
void Ccai_h1_upgrade(Ccai_h1 *c, const ccai_http_response *res, uint64_t now);
/* The waiting request is not answered here: the connection is handed on
 * whole (relayed to another instance, http/forward.h); no more HTTP on it,
 * nothing written, Ccai_h1_leftover() as after an upgrade. */
void Ccai_h1_detach(Ccai_h1 *c, uint64_t now);
/* After an upgrade: the bytes the peer sent after its request (NULL and 0
 * when none); borrowed until the next call. */
const char *Ccai_h1_leftover(const Ccai_h1 *c, size_t *ret_len);
/* Answer the waiting request with the error envelope (the host could not
 * hand it on). */
void Ccai_h1_respond_error(Ccai_h1 *c, int status, const char *message, const char *detail,
                           uint64_t now);
/* Before any request: answer the connection with an error (503 over the
 * connection cap) and close it. retry_after_s > 0 adds Retry-After. */
void Ccai_h1_refuse(Ccai_h1 *c, int status, const char *message, const char *detail,
                    unsigned retry_after_s, uint64_t now);
/* The server stops: an idle connection closes, a request in flight is
 * answered and the connection closes after it, a request read from now on
 * gets 503. */
void Ccai_h1_drain(Ccai_h1 *c, uint64_t now);
/* Read the requests buffered while an answer was pending. */
void Ccai_h1_process(Ccai_h1 *c, uint64_t now);

/* Bytes to write (NULL and 0 when none), and how many were written. */
const char *Ccai_h1_output(const Ccai_h1 *c, size_t *ret_len);
void Ccai_h1_written(Ccai_h1 *c, size_t n, uint64_t now);

/* Monotonic deadline of the next timeout, UINT64_MAX when none; at or
 * after it call Ccai_h1_timeout(). */
uint64_t Ccai_h1_deadline(const Ccai_h1 *c);
void Ccai_h1_timeout(Ccai_h1 *c, uint64_t now);

Ccai_h1_state Ccai_h1_get_state(const Ccai_h1 *c);
/* A request was handed to events.request and waits for its answer. */
CCAI_MUST_CHECK bool Ccai_h1_waiting(const Ccai_h1 *c);

#endif
