/* WebSocket client: wslay's framing over libcurl's connection (io/ws.h):
 * the client's connection on the loop. The framing core and the upgrade
 * answer's parser, which the server end (http/wss.c) shares, are
 * io/ws_core.c. */
#include "io/ws.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define WS_DEFAULT_CONNECT_MS 10000u
#define WS_DEFAULT_CLOSE_MS   2000u
#define WS_DEFAULT_MAX_OUT    (4u * 1024u * 1024u)
#define WS_MAX_HEAD           (16u * 1024u)
#define WS_MAX_REFUSAL_BODY   4096u
#define WS_READ_CHUNK         16384u

/* The connection ---------------------------------------------------------- */

typedef enum ws_state {
    WS_CONNECTING, /* libcurl: resolve, TCP, proxy, TLS */
    WS_HANDSHAKE,  /* our upgrade out, its answer in */
    WS_REFUSED,    /* a non-101 answer: reading its body */
    WS_OPEN,
    WS_DONE,
} ws_state;

struct Ccai_ws {
    ccai_ctx *ctx;
    Ccai_ws_opts o; /* callbacks, ud and limits (strings not kept) */
    ws_state state;
    CURLM *multi;
    CURL *easy;
    int fd;          /* ours once connected, -1 before */
    int watched;     /* events asked of the loop for fd */
    char *curl_url;  /* http(s)://authority/ */
    Ccai_buf hs_out; /* the upgrade request */
    size_t hs_off;
    Ccai_buf in; /* the answer's head, then a refusal's body */
    char key[25];
    char *protocols;
    Ccai_ws_response resp;
    Ccai_ws_core *core;
    bool closing; /* Ccai_ws_close() */
    Ccai_timer curl_timer, deadline, idle, ping, later;
    /* a failure found outside the loop's frames, reported from `later` */
    ccai_status fail_st;
    char *fail_msg;
    int depth;
    bool freed;
    char errbuf[CURL_ERROR_SIZE];
};

static void ws_destroy(Ccai_ws *ws)
{
    ccai_ctx *ctx = ws->ctx;
    Ccai_timer_stop(ctx, &ws->curl_timer);
    Ccai_timer_stop(ctx, &ws->deadline);
    Ccai_timer_stop(ctx, &ws->idle);
    Ccai_timer_stop(ctx, &ws->ping);
    Ccai_timer_stop(ctx, &ws->later);
    if (ws->fd >= 0)
        Ccai_fd_forget(ctx, ws->fd);
    if (ws->multi && ws->easy)
        curl_multi_remove_handle(ws->multi, ws->easy);
    if (ws->easy)
        curl_easy_cleanup(ws->easy);
    if (ws->multi)
        curl_multi_cleanup(ws->multi);
    Ccai_ws_core_free(ws->core);
    Ccai_ws_response_free(&ws->resp);
    Ccai_buf_free(&ws->hs_out);
    Ccai_buf_free(&ws->in);
    ccai_free(ws->curl_url);
    ccai_free(ws->protocols);
    ccai_free(ws->fail_msg);
    ccai_free(ws);
}

static void enter(Ccai_ws *ws)
{
    ws->depth++;
}

/* false when the connection is gone */
static bool leave(Ccai_ws *ws)
{
    if (--ws->depth == 0 && ws->freed) {
        ws_destroy(ws);
        return false;
    }
    return !ws->freed;
}

void Ccai_ws_free(Ccai_ws *ws)
{
    if (!ws || ws->freed)
        return;
    ws->freed = true;
    if (ws->depth == 0)
        ws_destroy(ws);
}

bool Ccai_ws_is_open(const Ccai_ws *ws)
{
    return ws && ws->state == WS_OPEN && !ws->closing && !Ccai_ws_core_read_done(ws->core);
}

size_t Ccai_ws_pending_out(const Ccai_ws *ws)
{
    const uint8_t *p;
    size_t n = 0;
    if (ws && ws->core)
        Ccai_ws_core_out(ws->core, &p, &n);
    return n + (ws ? ws->hs_out.len - ws->hs_off : 0);
}

const char *Ccai_ws_protocol(const Ccai_ws *ws)
{
    return ws && ws->state >= WS_OPEN ? ws->resp.protocol : NULL;
}

/* Report the end once, from a loop frame. */
static void finish(Ccai_ws *ws, ccai_status st, const char *msg)
{
    if (ws->state == WS_DONE)
        return;
    ws->state = WS_DONE;
    ccai_ctx *ctx = ws->ctx;
    Ccai_timer_stop(ctx, &ws->deadline);
    Ccai_timer_stop(ctx, &ws->idle);
    Ccai_timer_stop(ctx, &ws->ping);
    Ccai_timer_stop(ctx, &ws->curl_timer);
    if (ws->fd >= 0) {
        Ccai_fd_forget(ctx, ws->fd);
        ws->watched = 0;
    }
    Ccai_ws_end e = {
        .status = st,
        .http_status = ws->resp.status,
        .close_code = Ccai_ws_core_close_received(ws->core),
        .reason = Ccai_ws_core_close_reason(ws->core),
        .retry_after = ws->resp.retry_after,
        .errmsg = msg ? msg : "",
    };
    /* A refusal's body is its reason (NUL-terminated here). */
    if (ws->resp.status && ws->resp.status != 101 && Ccai_buf_append(&ws->in, "", 1))
        e.reason = ws->in.data;
    Ccai_log(Ccai_ctx_logger(ctx), st == CCAI_OK ? CCAI_LOG_DEBUG : CCAI_LOG_INFO,
             "ws: closed (%s%s%s)", ccai_status_str(st), msg ? ": " : "", msg ? msg : "");
    if (ws->o.on_close && !ws->freed)
        ws->o.on_close(ws, &e, ws->o.ud);
}

/* A failure found inside an API call: reported from a 0 ms timer. */
static void fail_later(Ccai_ws *ws, ccai_status st, const char *msg)
{
    if (ws->fail_st != CCAI_OK)
        return;
    ws->fail_st = st;
    ws->fail_msg = Ccai_strdup(msg);
    Ccai_timer_start(ws->ctx, &ws->later, 0);
}

static void on_later(Ccai_timer *t, void *ud)
{
    Ccai_ws *ws = ud;
    CCAI_UNUSED(t);
    if (ws->fail_st == CCAI_OK)
        return;
    enter(ws);
    finish(ws, ws->fail_st, ws->fail_msg ? ws->fail_msg : "ws: failed");
    leave(ws);
}

static void on_sock(ccai_ctx *ctx, int fd, int events, void *ud);

static void want(Ccai_ws *ws, int events)
{
    if (ws->fd < 0 || ws->state == WS_DONE || ws->watched == events)
        return;
    if (Ccai_fd_watch(ws->ctx, ws->fd, events, on_sock, ws) == CCAI_OK)
        ws->watched = events;
    else
        fail_later(ws, CCAI_ERR_IO, "ws: cannot watch the socket");
}

/* Write what is waiting: the upgrade, then frames. false on failure. */
static bool pump_out(Ccai_ws *ws)
{
    for (;;) {
        const uint8_t *p;
        size_t n;
        bool hs = ws->hs_off < ws->hs_out.len;
        if (hs) {
            p = (const uint8_t *)ws->hs_out.data + ws->hs_off;
            n = ws->hs_out.len - ws->hs_off;
        } else if (ws->state == WS_OPEN && ws->core) {
            Ccai_ws_core_out(ws->core, &p, &n);
        } else {
            n = 0;
        }
        if (!n)
            break;
        size_t sent = 0;
        CURLcode rc = curl_easy_send(ws->easy, p, n, &sent);
        if (rc == CURLE_AGAIN)
            break;
        if (rc != CURLE_OK) {
            char msg[CURL_ERROR_SIZE + 32];
            snprintf(msg, sizeof msg, "ws: send failed: %s", curl_easy_strerror(rc));
            fail_later(ws, CCAI_ERR_IO, msg);
            return false;
        }
        if (hs)
            ws->hs_off += sent;
        else
            Ccai_ws_core_consume(ws->core, sent);
    }
    want(ws, CCAI_POLL_IN | (Ccai_ws_pending_out(ws) ? CCAI_POLL_OUT : 0));
    return true;
}

static void on_core_message(void *ud, int kind, const uint8_t *data, size_t len)
{
    Ccai_ws *ws = ud;
    if (ws->state == WS_OPEN && !ws->freed && !ws->closing && ws->o.on_message)
        ws->o.on_message(ws, kind, data, len, ws->o.ud);
}

/* After bytes went into the core: is it over? */
static void check_core(Ccai_ws *ws)
{
    if (ws->state != WS_OPEN || !Ccai_ws_core_read_done(ws->core))
        return;
    if (Ccai_ws_core_close_received(ws->core)) {
        pump_out(ws); /* our answer to the close, best effort */
        finish(ws, CCAI_OK, NULL);
        return;
    }
    /* wslay failed the connection and queued its close: send it, give up. */
    int code = Ccai_ws_core_close_sent(ws->core);
    pump_out(ws);
    char msg[96];
    snprintf(msg, sizeof msg, "ws: %s (closed with %d)",
             code == 1009 ? "message over the size limit" : "protocol error from the server", code);
    finish(ws, code == 1009 ? CCAI_ERR_LIMIT : CCAI_ERR_HTTP, msg);
}

static void feed_core(Ccai_ws *ws, const uint8_t *data, size_t len)
{
    if (!len)
        return;
    if (Ccai_ws_core_feed(ws->core, data, len) != CCAI_OK) {
        finish(ws, CCAI_ERR_NOMEM, "ws: out of memory");
        return;
    }
    if (ws->freed || ws->state != WS_OPEN)
        return;
    check_core(ws);
    if (ws->state == WS_OPEN)
        pump_out(ws);
}

static void start_idle(Ccai_ws *ws)
{
    if (ws->o.idle_timeout_ms)
        Ccai_timer_start(ws->ctx, &ws->idle, ws->o.idle_timeout_ms);
}

static void opened(Ccai_ws *ws, size_t head_len)
{
    ws->state = WS_OPEN;
    Ccai_timer_stop(ws->ctx, &ws->deadline);
    start_idle(ws);
    if (ws->o.ping_interval_ms)
        Ccai_timer_start(ws->ctx, &ws->ping, ws->o.ping_interval_ms);
    /* Bytes after the head are the first frames. */
    size_t rest = ws->in.len - head_len;
    uint8_t *extra = NULL;
    if (rest) {
        extra = Ccai_malloc(rest);
        if (!extra) {
            finish(ws, CCAI_ERR_NOMEM, "ws: out of memory");
            return;
        }
        memcpy(extra, ws->in.data + head_len, rest);
    }
    Ccai_buf_reset(&ws->in);
    if (ws->o.on_open)
        ws->o.on_open(ws, ws->o.ud);
    if (!ws->freed && ws->state == WS_OPEN)
        feed_core(ws, extra, rest);
    ccai_free(extra);
    if (!ws->freed && ws->state == WS_OPEN)
        pump_out(ws);
}

static bool refusal_complete(const Ccai_ws *ws)
{
    if (ws->in.len >= WS_MAX_REFUSAL_BODY)
        return true;
    return ws->resp.content_length >= 0 && (size_t)ws->resp.content_length <= ws->in.len;
}

static void refused(Ccai_ws *ws)
{
    char msg[64];
    snprintf(msg, sizeof msg, "ws: the upgrade was refused with HTTP %ld", ws->resp.status);
    finish(ws, CCAI_ERR_HTTP, msg);
}

static void got_head_bytes(Ccai_ws *ws)
{
    size_t head_len = 0;
    Ccai_ws_response_free(&ws->resp);
    ccai_status st =
        Ccai_ws_response_parse(ws->in.data, ws->in.len, WS_MAX_HEAD, &ws->resp, &head_len);
    if (st == CCAI_ERR_NOMEM) {
        finish(ws, st, "ws: out of memory");
        return;
    }
    if (st != CCAI_OK) {
        finish(ws, CCAI_ERR_HTTP,
               st == CCAI_ERR_LIMIT ? "ws: the upgrade's answer is too long"
                                    : "ws: the upgrade's answer is not HTTP/1.1");
        return;
    }
    if (!head_len)
        return;
    if (ws->resp.status != 101) {
        /* Keep the body for the reason (Deepgram's err_msg, OpenAI's error). */
        memmove(ws->in.data, ws->in.data + head_len, ws->in.len - head_len);
        ws->in.len -= head_len;
        ws->state = WS_REFUSED;
        if (refusal_complete(ws))
            refused(ws);
        return;
    }
    const char *why = Ccai_ws_response_check(&ws->resp, ws->key, ws->protocols);
    if (why) {
        finish(ws, CCAI_ERR_HTTP, why);
        return;
    }
    opened(ws, head_len);
}

static void read_socket(Ccai_ws *ws)
{
    uint8_t buf[WS_READ_CHUNK];
    while (!ws->freed && ws->state != WS_DONE) {
        size_t n = 0;
        CURLcode rc = curl_easy_recv(ws->easy, buf, sizeof buf, &n);
        if (rc == CURLE_AGAIN)
            return;
        if (rc != CURLE_OK || n == 0) {
            if (ws->state == WS_REFUSED) {
                refused(ws);
            } else if (ws->state == WS_OPEN && Ccai_ws_core_close_received(ws->core)) {
                finish(ws, CCAI_OK, NULL);
            } else {
                char msg[CURL_ERROR_SIZE + 64];
                if (rc != CURLE_OK)
                    snprintf(msg, sizeof msg, "ws: receive failed: %s", curl_easy_strerror(rc));
                else
                    snprintf(msg, sizeof msg, "ws: the server closed the connection %s",
                             ws->state == WS_OPEN ? "without a close frame"
                                                  : "during the handshake");
                finish(ws, CCAI_ERR_IO, msg);
            }
            return;
        }
        if (ws->state == WS_OPEN) {
            start_idle(ws);
            feed_core(ws, buf, n);
            continue;
        }
        size_t room = ws->state == WS_REFUSED ? WS_MAX_REFUSAL_BODY - ws->in.len : n;
        if (!Ccai_buf_append(&ws->in, buf, n < room ? n : room)) {
            finish(ws, CCAI_ERR_NOMEM, "ws: out of memory");
            return;
        }
        if (ws->state == WS_HANDSHAKE)
            got_head_bytes(ws);
        else if (refusal_complete(ws))
            refused(ws);
    }
}

static void on_sock(ccai_ctx *ctx, int fd, int events, void *ud)
{
    Ccai_ws *ws = ud;
    CCAI_UNUSED(ctx);
    CCAI_UNUSED(fd);
    enter(ws);
    if (events & (CCAI_POLL_IN | CCAI_POLL_ERR))
        read_socket(ws);
    if (!ws->freed && ws->state != WS_DONE && ws->state != WS_REFUSED)
        pump_out(ws);
    if (!ws->freed && ws->fail_st != CCAI_OK)
        finish(ws, ws->fail_st, ws->fail_msg);
    leave(ws);
}

/* libcurl's part: connecting ------------------------------------------------ */

static void curl_run(Ccai_ws *ws, curl_socket_t fd, int mask);

static void on_curl_fd(ccai_ctx *ctx, int fd, int events, void *ud)
{
    Ccai_ws *ws = ud;
    CCAI_UNUSED(ctx);
    int mask = 0;
    if (events & CCAI_POLL_IN)
        mask |= CURL_CSELECT_IN;
    if (events & CCAI_POLL_OUT)
        mask |= CURL_CSELECT_OUT;
    if (events & CCAI_POLL_ERR)
        mask |= CURL_CSELECT_ERR;
    enter(ws);
    curl_run(ws, (curl_socket_t)fd, mask);
    leave(ws);
}

static int on_curl_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    Ccai_ws *ws = userp;
    CCAI_UNUSED(easy);
    CCAI_UNUSED(socketp);
    if (ws->state != WS_CONNECTING)
        return 0; /* the socket is ours now */
    if (what == CURL_POLL_REMOVE) {
        Ccai_fd_forget(ws->ctx, (int)s);
        return 0;
    }
    int events = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
        events |= CCAI_POLL_IN;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
        events |= CCAI_POLL_OUT;
    return Ccai_fd_watch(ws->ctx, (int)s, events, on_curl_fd, ws) == CCAI_OK ? 0 : -1;
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    Ccai_ws *ws = userp;
    CCAI_UNUSED(multi);
    if (timeout_ms < 0 || ws->state != WS_CONNECTING)
        Ccai_timer_stop(ws->ctx, &ws->curl_timer);
    else
        Ccai_timer_start(ws->ctx, &ws->curl_timer, (uint64_t)timeout_ms);
    return 0;
}

static void on_curl_timeout(Ccai_timer *t, void *ud)
{
    Ccai_ws *ws = ud;
    CCAI_UNUSED(t);
    enter(ws);
    curl_run(ws, CURL_SOCKET_TIMEOUT, 0);
    leave(ws);
}

/* The connection is made: send the upgrade on it. */
static void connected(Ccai_ws *ws)
{
    curl_socket_t s = CURL_SOCKET_BAD;
    if (curl_easy_getinfo(ws->easy, CURLINFO_ACTIVESOCKET, &s) != CURLE_OK ||
        s == CURL_SOCKET_BAD) {
        finish(ws, CCAI_ERR_IO, "ws: no socket after connecting");
        return;
    }
    Ccai_timer_stop(ws->ctx, &ws->curl_timer);
    ws->state = WS_HANDSHAKE;
    ws->fd = (int)s;
    Ccai_fd_forget(ws->ctx, ws->fd); /* libcurl's watch, if any is left */
    ws->watched = 0;
    pump_out(ws);
    if (!ws->freed && ws->fail_st != CCAI_OK)
        finish(ws, ws->fail_st, ws->fail_msg);
}

static void curl_run(Ccai_ws *ws, curl_socket_t fd, int mask)
{
    if (ws->state != WS_CONNECTING)
        return;
    int running = 0;
    curl_multi_socket_action(ws->multi, fd, mask, &running);
    CURLMsg *m;
    int left;
    while (ws->state == WS_CONNECTING && (m = curl_multi_info_read(ws->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURLcode rc = m->data.result;
        if (rc == CURLE_OK) {
            connected(ws);
        } else {
            char msg[CURL_ERROR_SIZE + 32];
            snprintf(msg, sizeof msg, "ws: cannot connect: %s",
                     ws->errbuf[0] ? ws->errbuf : curl_easy_strerror(rc));
            finish(ws, rc == CURLE_OPERATION_TIMEDOUT ? CCAI_ERR_TIMEOUT : CCAI_ERR_IO, msg);
        }
    }
}

/* Timers ------------------------------------------------------------------- */

static void on_deadline(Ccai_timer *t, void *ud)
{
    Ccai_ws *ws = ud;
    CCAI_UNUSED(t);
    enter(ws);
    char msg[96];
    if (ws->state == WS_OPEN) /* our close was not answered */
        snprintf(msg, sizeof msg, "ws: no close from the server within %u ms",
                 ws->o.close_timeout_ms);
    else
        snprintf(msg, sizeof msg, "ws: not connected within %u ms", ws->o.connect_timeout_ms);
    finish(ws, CCAI_ERR_TIMEOUT, msg);
    leave(ws);
}

static void on_idle(Ccai_timer *t, void *ud)
{
    Ccai_ws *ws = ud;
    CCAI_UNUSED(t);
    enter(ws);
    char msg[96];
    snprintf(msg, sizeof msg, "ws: nothing from the server for %u ms", ws->o.idle_timeout_ms);
    finish(ws, CCAI_ERR_TIMEOUT, msg);
    leave(ws);
}

static void on_ping(Ccai_timer *t, void *ud)
{
    Ccai_ws *ws = ud;
    CCAI_UNUSED(t);
    enter(ws);
    if (ws->state == WS_OPEN && !ws->closing) {
        if (Ccai_ws_core_send(ws->core, CCAI_WS_PING, "", 0) == CCAI_OK)
            pump_out(ws);
        if (!ws->freed && ws->fail_st != CCAI_OK)
            finish(ws, ws->fail_st, ws->fail_msg);
        else if (!ws->freed && ws->state == WS_OPEN)
            Ccai_timer_start(ws->ctx, &ws->ping, ws->o.ping_interval_ms);
    }
    leave(ws);
}

/* The API ------------------------------------------------------------------ */

static bool has_line_break(const char *s)
{
    for (; *s; s++) {
        if (*s == '\r' || *s == '\n' || *s == '\0')
            return true;
    }
    return false;
}

/* ws[s]://authority/target -> the Host, the request target and libcurl's URL. */
static ccai_status split_url(const char *url, bool *tls, const char **auth, size_t *auth_len,
                             const char **target)
{
    size_t skip;
    if (strncasecmp(url, "wss://", 6) == 0) {
        *tls = true;
        skip = 6;
    } else if (strncasecmp(url, "ws://", 5) == 0) {
        *tls = false;
        skip = 5;
    } else {
        return CCAI_ERR_INVALID_ARG;
    }
    for (const char *c = url; *c; c++) {
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c == 0x7f)
            return CCAI_ERR_INVALID_ARG;
    }
    const char *a = url + skip;
    size_t n = strcspn(a, "/?#");
    if (n == 0 || memchr(a, '@', n))
        return CCAI_ERR_INVALID_ARG;
    *auth = a;
    *auth_len = n;
    *target = a + n;
    if (**target == '#')
        return CCAI_ERR_INVALID_ARG;
    return CCAI_OK;
}

static ccai_status build_request(Ccai_ws *ws, const Ccai_ws_opts *o, const char *auth,
                                 size_t auth_len, const char *target)
{
    uint8_t raw[16];
    if (!Ccai_random_bytes(raw, sizeof raw))
        return CCAI_ERR_INTERNAL;
    EVP_EncodeBlock((unsigned char *)ws->key, raw, sizeof raw);
    ws->key[24] = '\0';
    Ccai_buf *b = &ws->hs_out;
    bool ok = Ccai_buf_printf(b, "GET %s%s HTTP/1.1\r\nHost: %.*s\r\n", *target == '/' ? "" : "/",
                              target, (int)auth_len, auth) &&
              Ccai_buf_printf(b,
                              "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                              "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
                              "User-Agent: libccai/" CCAI_VERSION_STRING "\r\n",
                              ws->key);
    if (ok && o->protocols)
        ok = Ccai_buf_printf(b, "Sec-WebSocket-Protocol: %s\r\n", o->protocols);
    for (const char *const *h = o->headers; ok && h && *h; h++)
        ok = Ccai_buf_printf(b, "%s\r\n", *h);
    ok = ok && Ccai_buf_puts(b, "\r\n");
    return ok ? CCAI_OK : CCAI_ERR_NOMEM;
}

ccai_status Ccai_ws_connect(ccai_ctx *ctx, const Ccai_ws_opts *o, Ccai_ws **ret)
{
    if (!ctx || !o || !o->url || !ret || !o->on_close)
        return CCAI_ERR_INVALID_ARG;
    bool tls = false;
    const char *auth = NULL, *target = NULL;
    size_t auth_len = 0;
    if (split_url(o->url, &tls, &auth, &auth_len, &target) != CCAI_OK)
        return CCAI_ERR_INVALID_ARG;
    for (const char *const *h = o->headers; h && *h; h++) {
        if (has_line_break(*h) || !strchr(*h, ':'))
            return CCAI_ERR_INVALID_ARG;
    }
    if (o->protocols && has_line_break(o->protocols))
        return CCAI_ERR_INVALID_ARG;

    Ccai_ws *ws = Ccai_calloc(1, sizeof *ws);
    if (!ws)
        return CCAI_ERR_NOMEM;
    ws->ctx = ctx;
    ws->o = *o;
    ws->o.url = NULL;
    ws->o.headers = NULL;
    ws->o.protocols = NULL;
    if (!ws->o.connect_timeout_ms)
        ws->o.connect_timeout_ms = WS_DEFAULT_CONNECT_MS;
    if (!ws->o.close_timeout_ms)
        ws->o.close_timeout_ms = WS_DEFAULT_CLOSE_MS;
    if (!ws->o.max_out)
        ws->o.max_out = WS_DEFAULT_MAX_OUT;
    ws->fd = -1;
    ws->resp.content_length = -1;
    Ccai_timer_init(&ws->curl_timer, on_curl_timeout, ws);
    Ccai_timer_init(&ws->deadline, on_deadline, ws);
    Ccai_timer_init(&ws->idle, on_idle, ws);
    Ccai_timer_init(&ws->ping, on_ping, ws);
    Ccai_timer_init(&ws->later, on_later, ws);
    Ccai_timer_set_idle(&ws->idle, true);
    Ccai_timer_set_idle(&ws->ping, true);

    ccai_status st = CCAI_ERR_NOMEM;
    ws->core = Ccai_ws_core_new(o->max_message, on_core_message, ws);
    ws->curl_url = Ccai_strdup("");
    if (!ws->core || !ws->curl_url)
        goto fail;
    ccai_free(ws->curl_url);
    Ccai_buf u = {0};
    if (!Ccai_buf_printf(&u, "%s://%.*s/", tls ? "https" : "http", (int)auth_len, auth)) {
        ws->curl_url = NULL;
        goto fail;
    }
    ws->curl_url = Ccai_buf_steal(&u);
    if (!ws->curl_url)
        goto fail;
    if (o->protocols && !(ws->protocols = Ccai_strdup(o->protocols)))
        goto fail;
    if ((st = build_request(ws, o, auth, auth_len, target)) != CCAI_OK)
        goto fail;

    st = CCAI_ERR_INTERNAL;
    ws->multi = curl_multi_init();
    ws->easy = curl_easy_init();
    if (!ws->multi || !ws->easy)
        goto fail;
    curl_multi_setopt(ws->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(ws->multi, CURLMOPT_SOCKETDATA, ws);
    curl_multi_setopt(ws->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(ws->multi, CURLMOPT_TIMERDATA, ws);
    CURL *e = ws->easy;
    bool ok =
        curl_easy_setopt(e, CURLOPT_URL, ws->curl_url) == CURLE_OK &&
        curl_easy_setopt(e, CURLOPT_CONNECT_ONLY, 1L) == CURLE_OK &&
        curl_easy_setopt(e, CURLOPT_HTTPPROXYTUNNEL, 1L) == CURLE_OK &&
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, ws->errbuf) == CURLE_OK &&
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)ws->o.connect_timeout_ms) == CURLE_OK;
    if (!ok)
        goto fail;
    Ccai_timer_start(ctx, &ws->deadline, ws->o.connect_timeout_ms);
    if (curl_multi_add_handle(ws->multi, e) != CURLM_OK)
        goto fail;
    *ret = ws;
    return CCAI_OK;
fail:
    ws_destroy(ws);
    return st;
}

ccai_status Ccai_ws_send(Ccai_ws *ws, int kind, const void *data, size_t len)
{
    if (!ws || (kind != CCAI_WS_TEXT && kind != CCAI_WS_BINARY) || (!data && len))
        return CCAI_ERR_INVALID_ARG;
    if (ws->state == WS_DONE || ws->state == WS_REFUSED || ws->closing || ws->freed ||
        ws->fail_st != CCAI_OK)
        return CCAI_ERR_STATE;
    if (Ccai_ws_pending_out(ws) + len > ws->o.max_out)
        return CCAI_ERR_LIMIT;
    ccai_status st = Ccai_ws_core_send(ws->core, kind, data ? data : "", len);
    if (st != CCAI_OK)
        return st;
    if (ws->state == WS_OPEN)
        pump_out(ws);
    return CCAI_OK;
}

ccai_status Ccai_ws_close(Ccai_ws *ws, int code, const char *reason)
{
    if (!ws)
        return CCAI_ERR_INVALID_ARG;
    if (ws->closing || ws->state == WS_DONE || ws->freed)
        return CCAI_ERR_STATE;
    ws->closing = true;
    if (ws->state != WS_OPEN) {
        /* Nothing to close yet: the end is reported from the loop. */
        fail_later(ws, CCAI_ERR_CANCELLED, "ws: closed before the upgrade");
        return CCAI_OK;
    }
    ccai_status st = Ccai_ws_core_close(ws->core, code, reason);
    if (st != CCAI_OK)
        return st;
    Ccai_timer_start(ws->ctx, &ws->deadline, ws->o.close_timeout_ms);
    pump_out(ws);
    return CCAI_OK;
}
