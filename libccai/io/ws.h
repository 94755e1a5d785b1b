/* A WebSocket client (RFC 6455) on the context's loop, for the streaming
 * speech providers (Deepgram live, OpenAI Realtime).
 *
 * Framing, masking, fragment reassembly, ping/pong answers and the close
 * handshake are wslay's (Debian libwslay-dev, MIT), through its event API
 * over byte buffers (Ccai_ws_core, sans I/O). The connection is libcurl's:
 * CURLOPT_CONNECT_ONLY on a multi handle of its own, driven by the
 * context's fd and timer hooks, does the name resolution (libcurl's
 * asynchronous resolver: no blocking getaddrinfo() on the loop), the TCP
 * connect, a proxy tunnel when one is configured, and TLS (OpenSSL, with
 * libcurl's CA settings) for wss://; then curl_easy_send()/recv() move the
 * bytes, never blocking. The HTTP/1.1 upgrade (Sec-WebSocket-Key/Accept) is
 * written and its answer parsed here (Ccai_ws_response_parse, sans I/O).
 *
 * Everything runs on the loop's thread; callbacks run from the loop (never
 * from inside Ccai_ws_connect/send/close), and Ccai_ws_free() may be called
 * from inside any of them. Memory: the library's allocator; inputs are
 * copied. */
#ifndef CCAI_IO_WS_H
#define CCAI_IO_WS_H

#include "io/io.h"

typedef struct Ccai_ws Ccai_ws;

/* Message kinds (the opcodes on the wire). */
#define CCAI_WS_TEXT   1
#define CCAI_WS_BINARY 2
#define CCAI_WS_PING   9 /* Ccai_ws_core_send() only */

/* How a connection ended (on_close). */
typedef struct Ccai_ws_end {
    /* CCAI_OK: the close handshake was completed (either side began it);
     * CCAI_ERR_HTTP: the upgrade was refused (http_status) or its answer
     * was not a valid WebSocket accept, or the server broke the protocol
     * (a masked or reserved-bit frame, a bad opcode: closed with 1002);
     * CCAI_ERR_LIMIT: a message over max_message (closed with 1009);
     * CCAI_ERR_IO: the connection failed or was cut (no close frame);
     * CCAI_ERR_TIMEOUT: connect, handshake, idle or close timeout;
     * CCAI_ERR_NOMEM. */
    ccai_status status;
    long http_status;        /* the answer to the upgrade: 101, 401, 429 ... 0 none */
    int close_code;          /* the server's close code (1005: none given; 0: no close) */
    const char *reason;      /* its reason, or the refusal's body ("" when none) */
    const char *retry_after; /* a refusal's Retry-After, NULL when absent */
    const char *errmsg;      /* what happened, for the log (no secrets) */
} Ccai_ws_end;

typedef struct Ccai_ws_opts {
    const char *url;             /* ws://host[:port]/path?query or wss://... */
    const char *const *headers;  /* extra "Name: value" lines, NULL-terminated
                                    (Authorization, xi-api-key, ...) */
    const char *protocols;       /* Sec-WebSocket-Protocol offered, NULL none */
    uint32_t connect_timeout_ms; /* connect + TLS + upgrade answer; 0 = 10000 */
    uint32_t idle_timeout_ms;    /* no byte from the server this long: fail; 0 none */
    uint32_t ping_interval_ms;   /* send a ping this often; 0 never */
    uint32_t close_timeout_ms;   /* our close waits this long for the server's; 0 = 2000 */
    size_t max_message;          /* largest message accepted; 0 = 1 MiB */
    size_t max_out;              /* bytes waiting to go out at most; 0 = 4 MiB */
    /* The upgrade was accepted: send from now on (messages sent before are
     * queued and go out after the handshake). May be NULL. */
    void (*on_open)(Ccai_ws *ws, void *ud);
    /* A whole text or binary message (data NUL-terminated, len without it). */
    void (*on_message)(Ccai_ws *ws, int kind, const uint8_t *data, size_t len, void *ud);
    /* Exactly once, unless freed first; nothing after it but Ccai_ws_free(). */
    void (*on_close)(Ccai_ws *ws, const Ccai_ws_end *end, void *ud);
    void *ud;
} Ccai_ws_opts;

/* Start connecting. Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG (not a ws:// or
 * wss:// URL, a header with a line break); CCAI_ERR_NOMEM; CCAI_ERR_INTERNAL
 * (libcurl refused). A failure later is on_close's. */
ccai_status Ccai_ws_connect(ccai_ctx *ctx, const Ccai_ws_opts *o, Ccai_ws **ret);

/* Queue a message (CCAI_WS_TEXT or CCAI_WS_BINARY). Statuses: CCAI_OK;
 * CCAI_ERR_LIMIT (more than max_out waiting: nothing queued); CCAI_ERR_STATE
 * (closing or closed); CCAI_ERR_NOMEM; CCAI_ERR_INVALID_ARG. */
ccai_status Ccai_ws_send(Ccai_ws *ws, int kind, const void *data, size_t len);

/* Begin the close handshake (code 1000 normally; reason < 123 bytes):
 * on_close follows once the server answered (or close_timeout_ms passed).
 * Statuses: CCAI_OK; CCAI_ERR_STATE (already closing). */
ccai_status Ccai_ws_close(Ccai_ws *ws, int code, const char *reason);

/* Drop the connection at once (no close handshake); no callback after it.
 * NULL accepted. */
void Ccai_ws_free(Ccai_ws *ws);

/* The upgrade was accepted and the connection not closed yet. */
bool Ccai_ws_is_open(const Ccai_ws *ws);
/* Bytes waiting to go out. */
size_t Ccai_ws_pending_out(const Ccai_ws *ws);
/* The Sec-WebSocket-Protocol the server chose, or NULL. */
const char *Ccai_ws_protocol(const Ccai_ws *ws);

/* Sans-I/O parts --------------------------------------------------------- */

/* The server's answer to the upgrade, as parsed (strings point into the
 * caller's buffer copy made by the parser: valid until the next parse or
 * Ccai_ws_response_free). */
typedef struct Ccai_ws_response {
    long status;         /* 101 ... */
    bool upgrade;        /* Upgrade: websocket */
    bool connection;     /* Connection: ... upgrade ... */
    bool extensions;     /* Sec-WebSocket-Extensions present (none offered) */
    char *accept;        /* Sec-WebSocket-Accept, or NULL */
    char *protocol;      /* Sec-WebSocket-Protocol, or NULL */
    char *retry_after;   /* Retry-After, or NULL */
    long content_length; /* -1 when absent */
    bool chunked;        /* Transfer-Encoding: chunked */
} Ccai_ws_response;

/* Parse the head of an HTTP/1.1 answer in p[0..len). *head_len = 0: not
 * complete yet (read more); else the bytes of the head (status line,
 * headers, blank line). Statuses: CCAI_OK; CCAI_ERR_PARSE (not an HTTP/1.x
 * answer, a bad header line, a repeated or invalid Content-Length);
 * CCAI_ERR_LIMIT (no end of head within max bytes); CCAI_ERR_NOMEM. r is
 * filled on CCAI_OK with *head_len > 0 (free it with
 * Ccai_ws_response_free); otherwise it holds nothing to free. */
ccai_status Ccai_ws_response_parse(const char *p, size_t len, size_t max, Ccai_ws_response *r,
                                   size_t *head_len);
void Ccai_ws_response_free(Ccai_ws_response *r);

/* Sec-WebSocket-Accept for a key: Base64(SHA-1(key + the RFC's GUID)). */
void Ccai_ws_accept_key(const char *key, char out[29]);

/* Whether an answer accepts the upgrade offered with key and protocols:
 * NULL when it does, else why not (a static phrase). */
const char *Ccai_ws_response_check(const Ccai_ws_response *r, const char *key,
                                   const char *protocols);

/* The framing over byte buffers: bytes from the server go in with
 * Ccai_ws_core_feed(); messages come out through on_message; bytes to write
 * are Ccai_ws_core_out() / Ccai_ws_core_consume(). */
typedef struct Ccai_ws_core Ccai_ws_core;

typedef void (*Ccai_ws_core_fn)(void *ud, int kind, const uint8_t *data, size_t len);

/* A client side (masks what it sends, refuses masked frames). NULL on NOMEM. */
Ccai_ws_core *Ccai_ws_core_new(size_t max_message, Ccai_ws_core_fn on_message, void *ud);
/* A server side (http/wss.c): sends unmasked frames, refuses unmasked
 * ones (wslay fails the connection with 1002). NULL on NOMEM. */
Ccai_ws_core *Ccai_ws_core_new_server(size_t max_message, Ccai_ws_core_fn on_message, void *ud);
void Ccai_ws_core_free(Ccai_ws_core *c);
/* Statuses: CCAI_OK; CCAI_ERR_NOMEM (the core is then unusable). */
ccai_status Ccai_ws_core_feed(Ccai_ws_core *c, const uint8_t *data, size_t len);
/* Queue a message, a ping (CCAI_WS_PING) or a close (Ccai_ws_core_close). */
ccai_status Ccai_ws_core_send(Ccai_ws_core *c, int kind, const void *data, size_t len);
ccai_status Ccai_ws_core_close(Ccai_ws_core *c, int code, const char *reason);
void Ccai_ws_core_out(Ccai_ws_core *c, const uint8_t **p, size_t *n);
void Ccai_ws_core_consume(Ccai_ws_core *c, size_t n);
/* The peer's close arrived (its code: 1005 when none), or 0. */
int Ccai_ws_core_close_received(const Ccai_ws_core *c);
/* We sent (or queued) a close: its code, or 0. */
int Ccai_ws_core_close_sent(const Ccai_ws_core *c);
/* The server's close reason (NUL-terminated, "" when none). */
const char *Ccai_ws_core_close_reason(const Ccai_ws_core *c);
/* Nothing more will be read: a close was received or wslay failed the
 * connection (protocol error, oversized message). */
bool Ccai_ws_core_read_done(const Ccai_ws_core *c);

#endif
