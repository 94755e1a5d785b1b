/* The server under the speech stand-ins (Deepgram, OpenAI audio, Azure
 * Speech, ElevenLabs): 127.0.0.1, one epoll thread, HTTP/1.1 requests
 * (Content-Length or chunked bodies, Expect: 100-continue, keep-alive)
 * and WebSocket upgrades (ws.h, on wslay), timed output, and a log of every
 * request and of every WebSocket message the client sent.
 *
 * A service gives callbacks (svc_ops); they run on the loop thread with the
 * service lock held (svc_lock), so the service's own state needs no other
 * lock as long as its public functions take svc_lock too.
 *
 * Output is a queue of steps per connection, each due at an absolute time
 * (svc_now_ms() clock); a step never goes before the one queued ahead of it,
 * so "at" times only need to be right relative to now (a chunk every 20 ms:
 * at = t0 + 20 * i). at = 0 means as soon as the steps before it.
 *
 * Test code, not part of libccai: C11 + POSIX + wslay + OpenSSL. */
#ifndef CCAI_TEST_SVC_H
#define CCAI_TEST_SVC_H

#include "support/http_head.h"
#include "support/ws.h"

#include <stddef.h>
#include <stdint.h>

typedef struct svc svc;
typedef struct svc_conn svc_conn;

typedef http_hdr svc_hdr;

typedef struct svc_req {
    char method[16];
    char *target; /* as sent, with the query */
    char *path;   /* without the query */
    const char *query;
    svc_hdr *hdrs;
    size_t nh;
    char *body; /* NUL-terminated (chunked bodies decoded) */
    size_t body_len;
    int chunked; /* the body came with Transfer-Encoding: chunked */
    int index;   /* in the request log */
} svc_req;

typedef struct svc_ops {
    /* A complete request (for a WebSocket upgrade: the GET with its
     * headers). It must answer (svc_respond*, svc_ws_accept, svc_close...). */
    void (*request)(svc_conn *c, const svc_req *r, void *ud);
    /* A message on an accepted WebSocket: text, binary, ping, pong, close. */
    void (*ws_message)(svc_conn *c, const ws_msg *m, void *ud);
    /* The connection's timer (svc_timer_at) fired. */
    void (*timer)(svc_conn *c, void *ud);
    /* The connection is gone (either side); free what svc_conn_data holds. */
    void (*closed)(svc_conn *c, void *ud);
} svc_ops;

/* NULL on failure. */
svc *svc_start(const svc_ops *ops, void *ud);
int svc_port(svc *s);
void svc_stop(svc *s);
void svc_lock(svc *s);
void svc_unlock(svc *s);
uint64_t svc_now_ms(void);

/* ---- inside callbacks (loop thread) ---- */

svc *svc_of(svc_conn *c);
void svc_conn_set_data(svc_conn *c, void *data);
void *svc_conn_data(svc_conn *c);
/* Log index of the request that opened the WebSocket / is being answered. */
int svc_conn_request(svc_conn *c);

const char *svc_req_header(const svc_req *r, const char *name);
/* A query parameter, percent-decoded (and '+' as space) into out; 1 when
 * present, 0 when not (out = ""). */
int svc_query(const char *query, const char *name, char *out, size_t n);

/* A whole response with Content-Length. extra: "Name: value\r\n" lines or
 * NULL. The connection stays open for the next request unless the request
 * asked to close. */
void svc_respond(svc_conn *c, uint64_t at, int status, const char *extra, const char *ctype,
                 const void *body, size_t len);
/* A chunked response: the head, chunks, the last chunk. */
void svc_respond_chunked(svc_conn *c, uint64_t at, int status, const char *extra,
                         const char *ctype);
void svc_chunk(svc_conn *c, uint64_t at, const void *data, size_t len);
void svc_chunk_end(svc_conn *c, uint64_t at);
/* Bytes as they are (a response head built by hand, garbage). */
void svc_write_raw(svc_conn *c, uint64_t at, const void *data, size_t len);
/* Close the TCP connection once the steps before are written. */
void svc_close(svc_conn *c, uint64_t at);

/* Accept a WebSocket upgrade (checked: GET, Upgrade: websocket, Connection
 * containing upgrade, Sec-WebSocket-Version 13, a valid key); 101 with
 * protocol (NULL: no Sec-WebSocket-Protocol) and extra headers lines. A bad
 * upgrade gets 400 (426 for another version) and returns -1. The 101 is
 * written at `at` (a slow handshake). */
int svc_ws_accept(svc_conn *c, const svc_req *r, uint64_t at, const char *protocol,
                  const char *extra);
void svc_ws_send(svc_conn *c, uint64_t at, int opcode, const void *data, size_t len);
void svc_ws_text(svc_conn *c, uint64_t at, const char *text);
void svc_ws_send_fragmented(svc_conn *c, uint64_t at, int opcode, const void *data, size_t len,
                            size_t frag);
/* A message with RSV1 set, no extension negotiated (a broken peer). */
void svc_ws_send_rsv1(svc_conn *c, uint64_t at, int opcode, const void *data, size_t len);
/* Close frame; the TCP connection closes when the client answers (or 2 s). */
void svc_ws_close(svc_conn *c, uint64_t at, int code, const char *reason);
/* 1 once a close was queued or received: send nothing more. */
int svc_ws_closing(svc_conn *c);
/* When the last queued step is due (now when nothing is queued). */
uint64_t svc_last_due(svc_conn *c);
/* One timer per connection; 0 cancels. */
void svc_timer_at(svc_conn *c, uint64_t at);

/* ---- the log (any thread; takes the lock) ---- */

int svc_request_count(svc *s);
/* malloc'd copies; NULL when out of range / absent. */
char *svc_request_method(svc *s, int i);
char *svc_request_target(svc *s, int i);
char *svc_request_body(svc *s, int i, size_t *len);
char *svc_request_header(svc *s, int i, const char *name);
int svc_request_chunked(svc *s, int i);
/* Status answered (101 for an accepted upgrade), 0 = none (yet), -1 = dropped. */
int svc_request_status(svc *s, int i);
void svc_set_status(svc_conn *c, int status);
/* WebSocket messages the client sent on request i's connection. */
int svc_ws_count(svc *s, int i);
/* Message k: opcode, and a malloc'd copy of its data (NUL-terminated). */
int svc_ws_message(svc *s, int i, int k, char **data, size_t *len);
/* Close code the client sent (1005: none in the frame), 0 = no close frame. */
int svc_ws_client_close(svc *s, int i);
/* What the service sent on request i's connection, as it chose to note it
 * (svc_note_sent: e.g. each JSON message), and a byte count it kept
 * (svc_note_bytes: e.g. audio received). */
void svc_note_sent(svc_conn *c, const char *text, size_t len);
void svc_note_bytes(svc_conn *c, long n);
int svc_sent_count(svc *s, int i);
char *svc_sent(svc *s, int i, int k);
long svc_bytes(svc *s, int i);
/* Accepted connections so far. */
int svc_connections(svc *s);

#endif
