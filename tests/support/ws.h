/* WebSocket (RFC 6455) for the test stand-ins, on wslay (Debian
 * libwslay-dev, MIT): the framing, masking, fragment reassembly, ping/pong
 * and close handshake are wslay's; this file adds the HTTP upgrade
 * (Sec-WebSocket-Key/Accept with OpenSSL SHA-1 + Base64), byte buffers
 * between wslay and a socket, and a small blocking client for tests.
 *
 * Two layers:
 *   - ws_endpoint: one side of a connection, sans I/O. Bytes read from the
 *     peer go in with ws_endpoint_feed(); complete messages (text, binary,
 *     ping, pong, close) come out through the callback; bytes to write are
 *     taken with ws_endpoint_out() / ws_endpoint_consume(). Used by the
 *     stand-in servers (tests/support/svc.c) and by ws_client.
 *   - ws_client: a client on a real socket (127.0.0.1): connect + upgrade
 *     with any extra headers (X-Twilio-Signature, Authorization) and
 *     subprotocols, then send and receive messages with timeouts. The media
 *     drivers that play Twilio / ACS dialling in to our server use it.
 *
 * Context: an endpoint or a client is used by one thread at a time.
 * Ownership: inputs are copied; ws_msg data belongs to the callee until the
 * callback returns (ws_client_recv: until the next call or ws_msg_clear).
 * Test code, not part of libccai: C11 + POSIX + OpenSSL + wslay. */
#ifndef CCAI_TEST_WS_H
#define CCAI_TEST_WS_H

#include <stddef.h>
#include <stdint.h>

/* Opcodes as on the wire. */
enum { WS_TEXT = 0x1, WS_BINARY = 0x2, WS_CLOSE = 0x8, WS_PING = 0x9, WS_PONG = 0xa };

typedef struct ws_msg {
    int opcode;
    uint8_t *data; /* text/binary payload, close reason, ping/pong data; NUL-terminated */
    size_t len;
    int close_code; /* WS_CLOSE: the status code, 1005 when the frame had none */
    int rsv;        /* reserved bits of the message ((RSV1 << 2) | (RSV2 << 1) | RSV3) */
} ws_msg;

void ws_msg_clear(ws_msg *m);

/* Sec-WebSocket-Accept for a Sec-WebSocket-Key: Base64(SHA-1(key + GUID)),
 * 28 characters plus NUL. */
void ws_accept_key(const char *key, char out[29]);
/* A fresh random Sec-WebSocket-Key (Base64 of 16 random bytes), 24 chars + NUL. */
void ws_new_key(char out[25]);
/* 1 when value is a valid Sec-WebSocket-Key (Base64 of exactly 16 bytes). */
int ws_key_valid(const char *value);

typedef struct ws_endpoint ws_endpoint;
typedef void (*ws_on_msg)(ws_endpoint *ep, const ws_msg *m, void *ud);

/* is_client: masks what it sends and expects unmasked frames. max_msg: the
 * largest message accepted (0 = 16 MiB); a larger one is answered with close
 * 1009 by wslay. NULL when out of memory. */
ws_endpoint *ws_endpoint_new(int is_client, size_t max_msg, ws_on_msg cb, void *ud);
void ws_endpoint_free(ws_endpoint *ep);

/* Bytes from the peer; messages are delivered before it returns. 0, or -1
 * when wslay failed (out of memory): the connection is unusable. */
int ws_endpoint_feed(ws_endpoint *ep, const void *data, size_t len);
/* The bytes waiting to be written, and how many of them were written. */
void ws_endpoint_out(ws_endpoint *ep, const uint8_t **p, size_t *n);
void ws_endpoint_consume(ws_endpoint *ep, size_t n);

/* Queue a message (serialised at once into the output bytes). -1 after a
 * close was sent or on bad arguments (a control payload > 125 bytes). */
int ws_endpoint_send(ws_endpoint *ep, int opcode, const void *data, size_t len);
/* The same message as several frames of at most frag bytes each (text or
 * binary: a first frame, continuation frames, FIN on the last). */
int ws_endpoint_send_fragmented(ws_endpoint *ep, int opcode, const void *data, size_t len,
                                size_t frag);
/* A message with reserved bit RSV1 set (no extension negotiated: the peer
 * must fail the connection, RFC 6455 5.2). For fault injection. */
int ws_endpoint_send_rsv1(ws_endpoint *ep, int opcode, const void *data, size_t len);
/* Close frame with code (0 = no status) and reason (< 123 bytes). */
int ws_endpoint_close(ws_endpoint *ep, int code, const char *reason);

int ws_endpoint_close_sent(ws_endpoint *ep);
int ws_endpoint_close_received(ws_endpoint *ep);
/* Nothing more to read or write: both closes exchanged (or a failure). */
int ws_endpoint_finished(ws_endpoint *ep);

/* ---- client ---- */

typedef struct ws_client ws_client;

typedef struct ws_client_opts {
    const char *host;           /* NULL = "127.0.0.1"; also the Host header */
    int port;                   /* required */
    const char *path;           /* request target, "/path?query"; NULL = "/" */
    const char *const *headers; /* extra "Name: value" lines, NULL-terminated */
    const char *protocols;      /* Sec-WebSocket-Protocol value, NULL = none */
    int timeout_ms;             /* connect + handshake; 0 = 5000 */
    size_t max_msg;             /* 0 = 16 MiB */
} ws_client_opts;

/* Connects and sends the upgrade. Returns NULL only when out of memory or
 * the socket could not be made; check ws_client_status(): 101 = open;
 * another status (401, 429...) = refused, its headers and body kept;
 * -1 = no valid answer (refused, timed out, bad Sec-WebSocket-Accept...),
 * ws_client_error() says why. */
ws_client *ws_client_connect(const ws_client_opts *o);
int ws_client_status(ws_client *c);
const char *ws_client_error(ws_client *c);
/* The response head (status line and headers) and body of a refused upgrade. */
const char *ws_client_response_head(ws_client *c);
const char *ws_client_response_body(ws_client *c);
/* A response header (trimmed, malloc'd) or NULL. */
char *ws_client_response_header(ws_client *c, const char *name);

int ws_client_send(ws_client *c, int opcode, const void *data, size_t len);
int ws_client_send_text(ws_client *c, const char *text);
int ws_client_send_fragmented(ws_client *c, int opcode, const void *data, size_t len, size_t frag);
int ws_client_close(ws_client *c, int code, const char *reason);
/* Bytes straight onto the socket, outside wslay (garbage for fault tests). */
int ws_client_write_raw(ws_client *c, const void *data, size_t len);

/* The next message (ping and pong included; pongs to pings are sent by
 * wslay by itself): 1 with *m filled (ws_msg_clear it), 0 on timeout, -1
 * when the connection is closed or failed and no message is queued. A
 * close message is delivered once; after it -1. */
int ws_client_recv(ws_client *c, int timeout_ms, ws_msg *m);
/* For callers with their own poll loop: the socket, and a non-blocking
 * read + write that queues what arrived (-1 when the connection is gone). */
int ws_client_fd(ws_client *c);
int ws_client_pump(ws_client *c);
/* 1 when bytes are waiting to be written (poll for POLLOUT). */
int ws_client_want_write(ws_client *c);
/* Whether the TCP connection was closed by the peer (EOF seen). */
int ws_client_eof(ws_client *c);
void ws_client_free(ws_client *c);

#endif
