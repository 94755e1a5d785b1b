/* io/ws.c, the WebSocket client, on the real loop (the poll adapter)
 * against a local server on wslay (tests/support/svc.h): messages both
 * ways, headers, the close handshake both ways, and a hostile server (a
 * wrong accept key, a refusal, masked, oversized and reserved-bit frames,
 * garbage, a cut during the handshake, silence); plus the handshake
 * answer's parser on its own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <ccai/adapters/poll.h>

#include "io/ws.h"
#include "support/svc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The server: what it does is chosen per test. */
typedef enum mode {
    M_ECHO,       /* accept, echo every text/binary message */
    M_BAD_ACCEPT, /* a 101 with a wrong Sec-WebSocket-Accept */
    M_REFUSE,     /* 401 with a JSON body and Retry-After */
    M_MASKED,     /* accept, then a masked frame (servers must not mask) */
    M_BIG,        /* accept, then a 64 KiB message */
    M_RSV1,       /* accept, then a frame with RSV1 (no extension) */
    M_GARBAGE,    /* accept, then bytes that are no frame */
    M_CUT,        /* close the TCP connection instead of answering */
    M_SLOW,       /* the 101 comes after 3 s */
    M_CLOSE,      /* accept, one message, then close 1011 "bye" */
    M_SILENT,     /* accept, say nothing */
    M_FRAGMENTS,  /* accept, a text message in 5-byte fragments, a ping */
    M_DROP,       /* accept, one message, then a TCP close without a close frame */
    M_EXTENSION,  /* a 101 choosing permessage-deflate, never offered */
} mode;

static mode g_mode;

static void on_request(svc_conn *c, const svc_req *r, void *ud)
{
    (void)ud;
    uint64_t now = svc_now_ms();
    const char *key = svc_req_header(r, "sec-websocket-key");
    char raw[512];
    switch (g_mode) {
    case M_BAD_ACCEPT:
        snprintf(raw, sizeof raw,
                 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                 "dGhlIHNhbXBsZSBub25jZQ==AAAA");
        svc_write_raw(c, now, raw, strlen(raw));
        return;
    case M_EXTENSION: {
        char acc[29];
        ws_accept_key(key ? key : "", acc);
        snprintf(raw, sizeof raw,
                 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n"
                 "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
                 acc);
        svc_write_raw(c, now, raw, strlen(raw));
        return;
    }
    case M_REFUSE: {
        const char *body = "{\"err_code\":\"INVALID_AUTH\",\"err_msg\":\"Invalid credentials.\"}";
        svc_respond(c, now, 401, "Retry-After: 7\r\n", "application/json", body, strlen(body));
        return;
    }
    case M_CUT: svc_close(c, now); return;
    case M_SLOW: svc_ws_accept(c, r, now + 3000, NULL, NULL); return;
    default: break;
    }
    if (svc_ws_accept(c, r, now, strstr(r->target, "proto") ? "chat" : NULL, NULL) != 0)
        return;
    switch (g_mode) {
    case M_MASKED: {
        /* "hello" masked with 01 02 03 04 */
        const uint8_t f[] = {0x81, 0x85, 1, 2, 3, 4, 'h' ^ 1, 'e' ^ 2, 'l' ^ 3, 'l' ^ 4, 'o' ^ 1};
        svc_write_raw(c, now, f, sizeof f);
        break;
    }
    case M_BIG: {
        static uint8_t big[65536];
        memset(big, 'b', sizeof big);
        svc_ws_send(c, now, WS_BINARY, big, sizeof big);
        break;
    }
    case M_RSV1: svc_ws_send_rsv1(c, now, WS_TEXT, "x", 1); break;
    case M_GARBAGE: svc_write_raw(c, now, "\xff\xff\xff\xff garbage", 12); break;
    case M_CLOSE:
        svc_ws_text(c, now, "{\"type\":\"hello\"}");
        svc_ws_close(c, now + 20, 1011, "bye");
        break;
    case M_FRAGMENTS:
        svc_ws_send(c, now, WS_PING, "pp", 2);
        svc_ws_send_fragmented(c, now, WS_TEXT, "fragmented message text", 23, 5);
        break;
    case M_DROP:
        svc_ws_text(c, now, "one");
        svc_close(c, now + 20);
        break;
    default: break;
    }
}

static void on_ws_message(svc_conn *c, const ws_msg *m, void *ud)
{
    (void)ud;
    if (g_mode == M_ECHO && (m->opcode == WS_TEXT || m->opcode == WS_BINARY))
        svc_ws_send(c, svc_now_ms(), m->opcode, m->data, m->len);
    if (g_mode == M_ECHO && m->opcode == WS_TEXT && strcmp((char *)m->data, "close me") == 0)
        svc_ws_close(c, svc_now_ms(), 1000, "as you wish");
}

static const svc_ops server_ops = {.request = on_request, .ws_message = on_ws_message};

/* The client's side. */
typedef struct result {
    int opened;
    int messages;
    int kinds[16];
    char texts[16][256];
    size_t lens[16];
    int closed;
    ccai_status st;
    long http_status;
    int close_code;
    char reason[256];
    char retry_after[32];
    char errmsg[256];
    bool free_on_message;
    bool send_on_open;
    bool close_after_first;
} result;

static void r_open(Ccai_ws *ws, void *ud)
{
    result *r = ud;
    r->opened++;
    if (r->send_on_open)
        assert_int_equal(Ccai_ws_send(ws, CCAI_WS_TEXT, "from on_open", 12), CCAI_OK);
}

static void r_message(Ccai_ws *ws, int kind, const uint8_t *data, size_t len, void *ud)
{
    result *r = ud;
    assert_int_equal(data[len], 0); /* NUL-terminated */
    if (r->messages < 16) {
        r->kinds[r->messages] = kind;
        r->lens[r->messages] = len;
        snprintf(r->texts[r->messages], sizeof r->texts[0], "%.*s", (int)(len < 255 ? len : 255),
                 (const char *)data);
    }
    r->messages++;
    if (r->free_on_message) {
        Ccai_ws_free(ws);
        r->closed = -1; /* done: no on_close comes */
    } else if (r->close_after_first && r->messages == 1) {
        assert_int_equal(Ccai_ws_close(ws, 1000, "done"), CCAI_OK);
        assert_int_equal(Ccai_ws_send(ws, CCAI_WS_TEXT, "late", 4), CCAI_ERR_STATE);
    }
}

static void r_close(Ccai_ws *ws, const Ccai_ws_end *e, void *ud)
{
    result *r = ud;
    (void)ws;
    r->closed++;
    r->st = e->status;
    r->http_status = e->http_status;
    r->close_code = e->close_code;
    snprintf(r->reason, sizeof r->reason, "%s", e->reason ? e->reason : "");
    snprintf(r->retry_after, sizeof r->retry_after, "%s", e->retry_after ? e->retry_after : "");
    snprintf(r->errmsg, sizeof r->errmsg, "%s", e->errmsg ? e->errmsg : "");
}

typedef struct env {
    ccai_config *cfg;
    ccai_poll *poll;
    ccai_ctx *ctx;
    svc *server;
    char url[128];
    Ccai_ws *ws;
    result r;
} env;

static void env_init(env *e, mode m, const char *path)
{
    memset(e, 0, sizeof *e);
    g_mode = m;
    assert_int_equal(ccai_config_new(&e->cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "database.sqlite.path", ":memory:"), CCAI_OK);
    assert_int_equal(ccai_poll_new(e->cfg, &e->poll, &e->ctx, NULL), CCAI_OK);
    e->server = svc_start(&server_ops, NULL);
    assert_non_null(e->server);
    snprintf(e->url, sizeof e->url, "ws://127.0.0.1:%d%s", svc_port(e->server),
             path ? path : "/v1/listen?model=x");
}

static void env_free(env *e)
{
    Ccai_ws_free(e->ws);
    ccai_poll_free(e->poll);
    ccai_config_free(e->cfg);
    svc_stop(e->server);
}

static void connect_ws(env *e, Ccai_ws_opts *o)
{
    o->url = o->url ? o->url : e->url;
    o->on_open = r_open;
    o->on_message = r_message;
    o->on_close = r_close;
    o->ud = &e->r;
    assert_int_equal(Ccai_ws_connect(e->ctx, o, &e->ws), CCAI_OK);
}

/* Run the loop until cond or 10 s; never hangs. */
static void run_until(env *e, int (*cond)(const result *r))
{
    uint64_t deadline = ccai_time_ms() + 10000;
    while (!cond(&e->r) && ccai_time_ms() < deadline)
        assert_int_equal(ccai_poll_run_once(e->poll, 50), 0);
    assert_true(cond(&e->r));
}

static int is_closed(const result *r)
{
    return r->closed != 0;
}
static int is_open(const result *r)
{
    return r->opened || r->closed;
}

/* Tests ----------------------------------------------------------------------- */

static void test_echo_text_binary_headers(void **state)
{
    (void)state;
    env e;
    env_init(&e, M_ECHO, "/v1/listen?proto=1&a=b");
    const char *headers[] = {"Authorization: Token secret-key", "X-Extra: 1", NULL};
    Ccai_ws_opts o = {.headers = headers, .protocols = "chat, other"};
    e.r.send_on_open = true;
    connect_ws(&e, &o);
    /* Queued before the upgrade: goes out after it. */
    assert_int_equal(Ccai_ws_send(e.ws, CCAI_WS_TEXT, "early", 5), CCAI_OK);
    run_until(&e, is_open);
    assert_int_equal(e.r.opened, 1);
    assert_true(Ccai_ws_is_open(e.ws));
    assert_string_equal(Ccai_ws_protocol(e.ws), "chat");
    uint8_t bin[3000];
    for (size_t i = 0; i < sizeof bin; i++)
        bin[i] = (uint8_t)i;
    assert_int_equal(Ccai_ws_send(e.ws, CCAI_WS_BINARY, bin, sizeof bin), CCAI_OK);
    assert_int_equal(Ccai_ws_send(e.ws, CCAI_WS_TEXT, "close me", 8), CCAI_OK);
    run_until(&e, is_closed);
    assert_int_equal(e.r.messages, 4);
    assert_string_equal(e.r.texts[0], "early");
    assert_string_equal(e.r.texts[1], "from on_open");
    assert_int_equal(e.r.kinds[2], CCAI_WS_BINARY);
    assert_int_equal(e.r.lens[2], sizeof bin);
    assert_string_equal(e.r.texts[3], "close me");
    /* The server closed with 1000: a clean end. */
    assert_int_equal(e.r.st, CCAI_OK);
    assert_int_equal(e.r.close_code, 1000);
    assert_string_equal(e.r.reason, "as you wish");
    /* What the server saw: our headers, the path and query, a masked
     * stream (its wslay server refuses unmasked frames), our close answer. */
    char *auth = svc_request_header(e.server, 0, "authorization");
    assert_string_equal(auth, "Token secret-key");
    free(auth);
    char *target = svc_request_target(e.server, 0);
    assert_string_equal(target, "/v1/listen?proto=1&a=b");
    free(target);
    size_t len = 0;
    char *data = NULL;
    assert_int_equal(svc_ws_message(e.server, 0, 2, &data, &len), WS_BINARY);
    assert_int_equal(len, sizeof bin);
    assert_memory_equal(data, bin, sizeof bin);
    free(data);
    env_free(&e);
}

static void test_client_close_handshake(void **state)
{
    (void)state;
    env e;
    env_init(&e, M_ECHO, NULL);
    Ccai_ws_opts o = {0};
    e.r.send_on_open = true;
    e.r.close_after_first = true;
    connect_ws(&e, &o);
    run_until(&e, is_closed);
    assert_int_equal(e.r.st, CCAI_OK);
    assert_int_equal(e.r.close_code, 1000); /* the server's answer */
    assert_int_equal(svc_ws_client_close(e.server, 0), 1000);
    env_free(&e);
}

static void test_server_close_code(void **state)
{
    (void)state;
    env e;
    env_init(&e, M_CLOSE, NULL);
    Ccai_ws_opts o = {0};
    connect_ws(&e, &o);
    run_until(&e, is_closed);
    assert_int_equal(e.r.messages, 1);
    assert_int_equal(e.r.st, CCAI_OK);
    assert_int_equal(e.r.close_code, 1011);
    assert_string_equal(e.r.reason, "bye");
    env_free(&e);
}

static void test_fragments_and_ping(void **state)
{
    (void)state;
    env e;
    env_init(&e, M_FRAGMENTS, NULL);
    Ccai_ws_opts o = {0};
    connect_ws(&e, &o);
    uint64_t deadline = ccai_time_ms() + 5000;
    while ((e.r.messages < 1 || svc_ws_count(e.server, 0) < 1) && ccai_time_ms() < deadline)
        assert_int_equal(ccai_poll_run_once(e.poll, 50), 0);
    assert_int_equal(e.r.messages, 1);
    assert_string_equal(e.r.texts[0], "fragmented message text");
    /* wslay answered the ping with its data. */
    char *data = NULL;
    assert_int_equal(svc_ws_message(e.server, 0, 0, &data, NULL), WS_PONG);
    assert_string_equal(data, "pp");
    free(data);
    env_free(&e);
}

static void test_ping_interval(void **state)
{
    (void)state;
    env e;
    env_init(&e, M_SILENT, NULL);
    Ccai_ws_opts o = {.ping_interval_ms = 100, .idle_timeout_ms = 2000};
    connect_ws(&e, &o);
    /* The server answers our pings with pongs: the idle timer never fires. */
    uint64_t deadline = ccai_time_ms() + 2500;
    while (ccai_time_ms() < deadline)
        assert_int_equal(ccai_poll_run_once(e.poll, 50), 0);
    assert_int_equal(e.r.closed, 0);
    int pings = 0;
    for (int k = 0; k < svc_ws_count(e.server, 0); k++)
        pings += svc_ws_message(e.server, 0, k, NULL, NULL) == WS_PING;
    assert_true(pings >= 10);
    env_free(&e);
}

static void expect_failure(mode m, Ccai_ws_opts *o, ccai_status st, const char *errpart)
{
    env e;
    env_init(&e, m, NULL);
    connect_ws(&e, o);
    run_until(&e, is_closed);
    assert_int_equal(e.r.closed, 1);
    if (e.r.st != st || !strstr(e.r.errmsg, errpart))
        fail_msg("mode %d: %s (%s), expected %s with \"%s\"", (int)m, ccai_status_str(e.r.st),
                 e.r.errmsg, ccai_status_str(st), errpart);
    assert_int_equal(e.r.messages, 0);
    env_free(&e);
}

static void test_bad_accept_key(void **state)
{
    (void)state;
    Ccai_ws_opts o = {0};
    expect_failure(M_BAD_ACCEPT, &o, CCAI_ERR_HTTP, "wrong Sec-WebSocket-Accept");
}

static void test_extension_not_offered(void **state)
{
    (void)state;
    Ccai_ws_opts o = {0};
    expect_failure(M_EXTENSION, &o, CCAI_ERR_HTTP, "extension");
}

static void test_refused_upgrade(void **state)
{
    (void)state;
    env e;
    env_init(&e, M_REFUSE, NULL);
    Ccai_ws_opts o = {0};
    connect_ws(&e, &o);
    run_until(&e, is_closed);
    assert_int_equal(e.r.opened, 0);
    assert_int_equal(e.r.st, CCAI_ERR_HTTP);
    assert_int_equal(e.r.http_status, 401);
    assert_string_equal(e.r.retry_after, "7");
    assert_non_null(strstr(e.r.reason, "INVALID_AUTH"));
    env_free(&e);
}

static void test_masked_frame_refused(void **state)
{
    (void)state;
    Ccai_ws_opts o = {0};
    expect_failure(M_MASKED, &o, CCAI_ERR_HTTP, "protocol error");
}

static void test_rsv1_refused(void **state)
{
    (void)state;
    Ccai_ws_opts o = {0};
    expect_failure(M_RSV1, &o, CCAI_ERR_HTTP, "protocol error");
}

static void test_garbage_refused(void **state)
{
    (void)state;
    Ccai_ws_opts o = {0};
    expect_failure(M_GARBAGE, &o, CCAI_ERR_HTTP, "protocol error");
}

static void test_oversized_message(void **state)
{
    (void)state;
    Ccai_ws_opts o = {.max_message = 1024};
    expect_failure(M_BIG, &o, CCAI_ERR_LIMIT, "size limit");
}

static void test_cut_during_handshake(void **state)
{
    (void)state;
    Ccai_ws_opts o = {0};
    expect_failure(M_CUT, &o, CCAI_ERR_IO, "during the handshake");
}

static void test_slow_handshake_times_out(void **state)
{
    (void)state;
    Ccai_ws_opts o = {.connect_timeout_ms = 300};
    expect_failure(M_SLOW, &o, CCAI_ERR_TIMEOUT, "not connected within 300 ms");
}

static void test_idle_timeout(void **state)
{
    (void)state;
    env e;
    env_init(&e, M_SILENT, NULL);
    Ccai_ws_opts o = {.idle_timeout_ms = 300};
    connect_ws(&e, &o);
    run_until(&e, is_closed);
    assert_int_equal(e.r.opened, 1);
    assert_int_equal(e.r.st, CCAI_ERR_TIMEOUT);
    assert_non_null(strstr(e.r.errmsg, "nothing from the server"));
    env_free(&e);
}

static void test_drop_without_close(void **state)
{
    (void)state;
    env e;
    env_init(&e, M_DROP, NULL);
    Ccai_ws_opts o = {0};
    connect_ws(&e, &o);
    run_until(&e, is_closed);
    assert_int_equal(e.r.messages, 1);
    assert_int_equal(e.r.st, CCAI_ERR_IO);
    assert_non_null(strstr(e.r.errmsg, "without a close frame"));
    assert_int_equal(Ccai_ws_send(e.ws, CCAI_WS_TEXT, "x", 1), CCAI_ERR_STATE);
    env_free(&e);
}

static void test_connection_refused(void **state)
{
    (void)state;
    env e;
    env_init(&e, M_ECHO, NULL);
    /* A port nobody listens on: the server's, once stopped. */
    int port = svc_port(e.server);
    svc_stop(e.server);
    e.server = NULL;
    char url[96];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/", port);
    Ccai_ws_opts o = {.url = url};
    connect_ws(&e, &o);
    run_until(&e, is_closed);
    assert_int_equal(e.r.st, CCAI_ERR_IO);
    assert_non_null(strstr(e.r.errmsg, "cannot connect"));
    Ccai_ws_free(e.ws);
    ccai_poll_free(e.poll);
    ccai_config_free(e.cfg);
}

static void test_free_inside_callback(void **state)
{
    (void)state;
    env e;
    env_init(&e, M_ECHO, NULL);
    Ccai_ws_opts o = {0};
    e.r.send_on_open = true;
    e.r.free_on_message = true;
    connect_ws(&e, &o);
    run_until(&e, is_closed);
    assert_int_equal(e.r.closed, -1);
    e.ws = NULL; /* freed by the callback */
    /* Nothing fires afterwards. */
    for (int i = 0; i < 5; i++)
        assert_int_equal(ccai_poll_run_once(e.poll, 20), 0);
    assert_int_equal(e.r.messages, 1);
    env_free(&e);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    env e;
    env_init(&e, M_ECHO, NULL);
    Ccai_ws *ws = NULL;
    const char *crlf[] = {"X-Evil: a\r\nInjected: b", NULL};
    Ccai_ws_opts o = {.url = e.url, .on_close = r_close, .headers = crlf};
    assert_int_equal(Ccai_ws_connect(e.ctx, &o, &ws), CCAI_ERR_INVALID_ARG);
    o.headers = NULL;
    o.url = "http://127.0.0.1/";
    assert_int_equal(Ccai_ws_connect(e.ctx, &o, &ws), CCAI_ERR_INVALID_ARG);
    o.url = "ws://user@127.0.0.1/";
    assert_int_equal(Ccai_ws_connect(e.ctx, &o, &ws), CCAI_ERR_INVALID_ARG);
    o.url = "ws:///path";
    assert_int_equal(Ccai_ws_connect(e.ctx, &o, &ws), CCAI_ERR_INVALID_ARG);
    /* Too much waiting to go out: refused, nothing queued. */
    o.url = e.url;
    o.max_out = 1000;
    assert_int_equal(Ccai_ws_connect(e.ctx, &o, &ws), CCAI_OK);
    uint8_t big[2000] = {0};
    assert_int_equal(Ccai_ws_send(ws, CCAI_WS_BINARY, big, sizeof big), CCAI_ERR_LIMIT);
    assert_int_equal(Ccai_ws_send(ws, 7, big, 1), CCAI_ERR_INVALID_ARG);
    Ccai_ws_free(ws);
    env_free(&e);
}

/* The handshake answer's parser ----------------------------------------------- */

static void test_response_parser(void **state)
{
    (void)state;
    Ccai_ws_response r;
    size_t head = 0;
    char key[] = "dGhlIHNhbXBsZSBub25jZQ==";
    char acc[29];
    Ccai_ws_accept_key(key, acc);
    assert_string_equal(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="); /* RFC 6455 1.3 */
    char ok[512];
    snprintf(ok, sizeof ok,
             "HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\n"
             "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\nFRAMES",
             acc);
    /* Every prefix short of the blank line asks for more. */
    size_t full = strlen(ok) - 6;
    for (size_t n = 0; n < full; n++) {
        assert_int_equal(Ccai_ws_response_parse(ok, n, 4096, &r, &head), CCAI_OK);
        assert_int_equal(head, 0);
    }
    assert_int_equal(Ccai_ws_response_parse(ok, strlen(ok), 4096, &r, &head), CCAI_OK);
    assert_int_equal(head, full);
    assert_int_equal(r.status, 101);
    assert_null(Ccai_ws_response_check(&r, key, NULL));
    assert_non_null(Ccai_ws_response_check(&r, "AAAAAAAAAAAAAAAAAAAAAA==", NULL));
    Ccai_ws_response_free(&r);

    const char *bad[] = {
        "HTTP/2 101 x\r\n\r\n",
        "HTTP/1.1 10 x\r\n\r\n",
        "HTTP/1.1 101 x\r\nNo colon here\r\n\r\n",
        "HTTP/1.1 101 x\r\n folded: value\r\n\r\n",
        "HTTP/1.1 200 x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        "HTTP/1.1 200 x\r\nContent-Length: -5\r\n\r\n",
        "HTTP/1.1 101 x\r\nSec-WebSocket-Accept: a\r\nSec-WebSocket-Accept: b\r\n\r\n",
        "HTTP/1.1 101 x\r\nX: a\x01 b\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (Ccai_ws_response_parse(bad[i], strlen(bad[i]), 4096, &r, &head) != CCAI_ERR_PARSE)
            fail_msg("accepted: %s", bad[i]);
    }
    char longhead[300];
    memset(longhead, 'a', sizeof longhead);
    memcpy(longhead, "HTTP/1.1 101 x\r\nX: ", 19);
    assert_int_equal(Ccai_ws_response_parse(longhead, sizeof longhead, 256, &r, &head),
                     CCAI_ERR_LIMIT);
    const char *refusal = "HTTP/1.1 429 Too Many Requests\nRetry-After: 3\nContent-Length: 2\n\n{}";
    assert_int_equal(Ccai_ws_response_parse(refusal, strlen(refusal), 4096, &r, &head), CCAI_OK);
    assert_int_equal(r.status, 429);
    assert_string_equal(r.retry_after, "3");
    assert_int_equal(r.content_length, 2);
    assert_string_equal(Ccai_ws_response_check(&r, key, NULL), "ws: the upgrade was refused");
    Ccai_ws_response_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_response_parser),
        cmocka_unit_test(test_echo_text_binary_headers),
        cmocka_unit_test(test_client_close_handshake),
        cmocka_unit_test(test_server_close_code),
        cmocka_unit_test(test_fragments_and_ping),
        cmocka_unit_test(test_ping_interval),
        cmocka_unit_test(test_bad_accept_key),
        cmocka_unit_test(test_extension_not_offered),
        cmocka_unit_test(test_refused_upgrade),
        cmocka_unit_test(test_masked_frame_refused),
        cmocka_unit_test(test_rsv1_refused),
        cmocka_unit_test(test_garbage_refused),
        cmocka_unit_test(test_oversized_message),
        cmocka_unit_test(test_cut_during_handshake),
        cmocka_unit_test(test_slow_handshake_times_out),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_drop_without_close),
        cmocka_unit_test(test_connection_refused),
        cmocka_unit_test(test_free_inside_callback),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
