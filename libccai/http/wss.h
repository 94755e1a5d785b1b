/* The server end of a WebSocket (RFC 6455) in libccai's HTTP server
 * (http/wss.c): a route accepts an "Upgrade: websocket" request after its
 * own authentication, and the connection becomes a WebSocket session on the
 * context's loop (Twilio Media Streams connect to us this way).
 *
 * Framing, unmasking, fragment reassembly, the answers to pings and the
 * close handshake are wslay's (io/ws.h Ccai_ws_core, server side: frames
 * out unmasked, frames in must be masked or the connection fails with
 * 1002). The handshake is checked here (Ccai_wss_handshake(), sans I/O);
 * the socket is http/server.c's, which moves the bytes (the Ccai_wss_io_*
 * functions) once the 101 answer is out.
 *
 * Limits: a message over max_message closes with 1009; more than max_out
 * bytes waiting to go out refuses the message (CCAI_ERR_LIMIT: the owner
 * drops or closes: a peer that does not read is not buffered for without
 * bound); no byte from the peer for idle_timeout_ms, or output that makes
 * no progress that long, ends the session; our close waits
 * close_timeout_ms for the peer's.
 *
 * Only the library's own server can upgrade (ccai_ctx_listen(),
 * ccai-server): through ccai_ctx_http() there is no socket to take over,
 * and the upgrade is answered 501.
 *
 * Everything runs on the loop's thread. Callbacks run from the loop (never
 * from inside Ccai_wss_send/close/release). */
#ifndef CCAI_HTTP_WSS_H
#define CCAI_HTTP_WSS_H

#include "http/exchange.h"
#include "io/ws.h" /* CCAI_WS_TEXT, CCAI_WS_BINARY */

typedef struct Ccai_wss Ccai_wss;

/* How a session ended (on_close). */
typedef struct Ccai_wss_end {
    /* CCAI_OK: the close handshake completed (either side began it);
     * CCAI_ERR_PARSE: the peer broke the protocol (an unmasked or
     * reserved-bit frame, a bad opcode, invalid UTF-8 in a text message:
     * closed with 1002/1007); CCAI_ERR_LIMIT: a message over max_message
     * (closed with 1009); CCAI_ERR_IO: the connection was cut (no close
     * frame); CCAI_ERR_TIMEOUT: idle, stalled output, or no answer to our
     * close; CCAI_ERR_CANCELLED: the server was freed; CCAI_ERR_NOMEM. */
    ccai_status status;
    int close_code;     /* the peer's close code (1005: none given; 0: no close) */
    const char *reason; /* its reason ("" when none) */
    const char *errmsg; /* what happened, for the log */
} Ccai_wss_end;

typedef struct Ccai_wss_opts {
    /* Subprotocols the route speaks, comma-separated (NULL: none). The
     * first the client offers that is here is chosen. */
    const char *protocols;
    uint32_t idle_timeout_ms;  /* no byte from the peer this long: ends; 0 = 60000 */
    uint32_t ping_interval_ms; /* a ping this often; 0 never */
    uint32_t close_timeout_ms; /* our close waits this long; 0 = 2000 */
    size_t max_message;        /* largest message taken; 0 = 64 KiB */
    size_t max_out;            /* bytes waiting to go out at most; 0 = 1 MiB */
    /* A whole text or binary message (data NUL-terminated, len without it). */
    void (*on_message)(Ccai_wss *ws, int kind, const uint8_t *data, size_t len, void *ud);
    /* Exactly once unless released first; ws is freed after it returns. */
    void (*on_close)(Ccai_wss *ws, const Ccai_wss_end *end, void *ud);
    void *ud;
} Ccai_wss_opts;

/* What the handshake check found (Ccai_wss_handshake()). */
typedef struct Ccai_wss_handshake_result {
    int status;        /* 0: acceptable; else the HTTP status to answer (400, 426) */
    const char *why;   /* the refusal's detail (static) */
    char accept[29];   /* Sec-WebSocket-Accept for the key */
    char protocol[64]; /* the subprotocol chosen ("" none) */
} Ccai_wss_handshake_result;

/* Check an upgrade request (RFC 6455 4.2.1): GET, Upgrade: websocket,
 * Connection: upgrade, one Sec-WebSocket-Key of 16 bytes in Base64,
 * Sec-WebSocket-Version: 13 (426 otherwise), and pick a subprotocol among
 * protocols (NULL none). Sans I/O. */
void Ccai_wss_handshake(const char *method, const Ccai_http_hdr *headers, size_t n_headers,
                        const char *protocols, Ccai_wss_handshake_result *r);

/* Accept the upgrade request of x (a route's, after its authentication):
 * x is answered 101 and the connection becomes the session *ret, or x is
 * answered with the refusal (400 not an upgrade, 426 another version, 501
 * not on the library's own server). o is copied (protocols too).
 * Statuses: CCAI_OK; CCAI_ERR_PARSE (refused: answered); CCAI_ERR_UNSUPPORTED
 * (answered 501); CCAI_ERR_STATE (the client went away: nothing to free);
 * CCAI_ERR_NOMEM (answered 500). */
CCAI_MUST_CHECK ccai_status Ccai_wss_accept(ccai_http_exchange *x, const Ccai_wss_opts *o,
                                            Ccai_wss **ret);

/* Queue a message (CCAI_WS_TEXT or CCAI_WS_BINARY). Statuses: CCAI_OK;
 * CCAI_ERR_LIMIT (more than max_out would wait: nothing queued);
 * CCAI_ERR_STATE (closing or closed); CCAI_ERR_NOMEM. */
CCAI_MUST_CHECK ccai_status Ccai_wss_send(Ccai_wss *ws, int kind, const void *data, size_t len);
/* Begin the close handshake (reason < 123 bytes); on_close follows.
 * Statuses: CCAI_OK; CCAI_ERR_STATE (already closing). */
CCAI_MUST_CHECK ccai_status Ccai_wss_close(Ccai_wss *ws, int code, const char *reason);
/* The owner lets go: no callback from now on; an open session is closed
 * (1001) and freed by its connection. NULL accepted. */
void Ccai_wss_release(Ccai_wss *ws);
/* Bytes waiting to go out. */
size_t Ccai_wss_pending_out(const Ccai_wss *ws);
/* The subprotocol chosen, or NULL. */
const char *Ccai_wss_protocol(const Ccai_wss *ws);
/* The peer's address ("" unknown). */
const char *Ccai_wss_remote(const Ccai_wss *ws);

/* For http/server.c: the connection's side ------------------------------- */

/* The session an answer hands over (set by Ccai_wss_accept() on the
 * exchange while it answers 101), or NULL. */
Ccai_wss *Ccai_wss_of_answer(const ccai_http_exchange *x);
/* The connection takes the session: wake(ud) asks it, from a clean frame,
 * to move bytes again (the owner queued some). remote is copied. */
void Ccai_wss_io_adopt(Ccai_wss *ws, void (*wake)(void *ud), void *ud, const char *remote,
                       uint64_t now);
/* Bytes read from the socket. */
void Ccai_wss_io_input(Ccai_wss *ws, const uint8_t *data, size_t len, uint64_t now);
/* The socket ended (EOF, reset, write error). */
void Ccai_wss_io_cut(Ccai_wss *ws, uint64_t now);
/* Bytes to write, and how many were (0: the socket took none: output
 * queued after a quiet spell starts waiting for the peer then). */
const uint8_t *Ccai_wss_io_output(Ccai_wss *ws, size_t *len);
void Ccai_wss_io_written(Ccai_wss *ws, size_t n, uint64_t now);
/* Monotonic deadline of the next timeout (UINT64_MAX: none). */
uint64_t Ccai_wss_io_deadline(const Ccai_wss *ws);
void Ccai_wss_io_timeout(Ccai_wss *ws, uint64_t now);
/* The server stops: close with 1001. */
void Ccai_wss_io_shutdown(Ccai_wss *ws, uint64_t now);
/* Close the socket now (and Ccai_wss_io_free()). */
CCAI_MUST_CHECK bool Ccai_wss_io_finished(const Ccai_wss *ws);
/* The connection goes: on_close (unless released or fired), then free. */
void Ccai_wss_io_free(Ccai_wss *ws);

#endif
