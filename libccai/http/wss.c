/* The server end of a WebSocket: handshake, session, limits (see the
 * header). */
#include "http/wss.h"

#include "io/ws.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define WSS_DEFAULT_IDLE_MS  60000u
#define WSS_DEFAULT_CLOSE_MS 2000u
#define WSS_DEFAULT_MAX_MSG  (64u * 1024u)
#define WSS_DEFAULT_MAX_OUT  (1024u * 1024u)

/* The handshake ------------------------------------------------------------- */

/* Whether a comma-separated list value holds token (case-insensitive). */
static bool list_has(const char *v, const char *token)
{
    size_t tl = strlen(token);
    const char *p = v;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *s = p;
        while (*p && *p != ',')
            p++;
        const char *e = p;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if ((size_t)(e - s) == tl && strncasecmp(s, token, tl) == 0)
            return true;
    }
    return false;
}

static bool b64_char(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '+' || ch == '/';
}

/* 16 bytes in Base64: 22 characters then "==" (the last one of a set
 * whose low 4 bits are zero). */
static bool key_valid(const char *k)
{
    if (strlen(k) != 24 || k[22] != '=' || k[23] != '=')
        return false;
    for (size_t i = 0; i < 22; i++) {
        if (!b64_char(k[i]))
            return false;
    }
    return strchr("AQgw", k[21]) != NULL;
}

/* The first protocol of the client's offer (a list, possibly in several
 * headers) that ours holds. */
static void pick_protocol(const char *offer, const char *ours, char out[64])
{
    const char *p = offer;
    while (*p && !out[0]) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *s = p;
        while (*p && *p != ',')
            p++;
        const char *e = p;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        size_t n = (size_t)(e - s);
        if (!n || n >= 64)
            continue;
        char tok[64];
        memcpy(tok, s, n);
        tok[n] = '\0';
        if (list_has(ours, tok))
            memcpy(out, tok, n + 1);
    }
}

void Ccai_wss_handshake(const char *method, const Ccai_http_hdr *headers, size_t n_headers,
                        const char *protocols, Ccai_wss_handshake_result *r)
{
    memset(r, 0, sizeof *r);
    bool upgrade = false, connection = false;
    const char *key = NULL, *version = NULL;
    size_t keys = 0;
    for (size_t i = 0; i < n_headers; i++) {
        const char *name = headers[i].name, *value = headers[i].value;
        if (Ccai_strcasecmp(name, "upgrade") == 0) {
            upgrade = upgrade || list_has(value, "websocket");
        } else if (Ccai_strcasecmp(name, "connection") == 0) {
            connection = connection || list_has(value, "upgrade");
        } else if (Ccai_strcasecmp(name, "sec-websocket-key") == 0) {
            key = value;
            keys++;
        } else if (Ccai_strcasecmp(name, "sec-websocket-version") == 0) {
            version = version ? "" : value; /* twice: neither */
        } else if (Ccai_strcasecmp(name, "sec-websocket-protocol") == 0 && protocols &&
                   !r->protocol[0]) {
            pick_protocol(value, protocols, r->protocol);
        }
    }
    r->status = 400;
    if (!method || strcmp(method, "GET") != 0)
        r->why = "a WebSocket upgrade is a GET";
    else if (!upgrade)
        r->why = "this URL takes a WebSocket upgrade (Upgrade: websocket) only";
    else if (!connection)
        r->why = "an upgrade needs Connection: Upgrade";
    else if (keys != 1 || !key_valid(key))
        r->why = "Sec-WebSocket-Key must be given once, 16 bytes in Base64";
    else if (!version || strcmp(version, "13") != 0) {
        r->status = 426;
        r->why = "Sec-WebSocket-Version 13 only";
    } else {
        r->status = 0;
        Ccai_ws_accept_key(key, r->accept);
    }
    if (r->status)
        r->protocol[0] = '\0';
}

/* The session ---------------------------------------------------------------- */

struct Ccai_wss {
    Ccai_wss_opts o;
    Ccai_ws_core *core;
    char *protocol;
    char remote[64];
    void (*wake)(void *ud);
    void *wake_ud;
    bool adopted;
    bool released;
    bool fired; /* on_close */
    bool cut;   /* the socket ended */
    bool closing_sent_at_set;
    /* Output queued after none was waiting: its wait starts at the next
     * look at the clock (t_out is the last write's time until then). */
    bool out_fresh;
    ccai_status fail; /* a failure found here (timeout, nomem), CCAI_OK none */
    const char *fail_msg;
    uint64_t t_in, t_out, t_close, t_ping;
};

static void on_core_message(void *ud, int kind, const uint8_t *data, size_t len)
{
    Ccai_wss *ws = ud;
    if (ws->released || ws->fired || ws->fail != CCAI_OK || !ws->o.on_message)
        return;
    ws->o.on_message(ws, kind, data, len, ws->o.ud);
}

static void wake(Ccai_wss *ws)
{
    if (ws->wake)
        ws->wake(ws->wake_ud);
}

Ccai_wss *Ccai_wss_of_answer(const ccai_http_exchange *x)
{
    return x->upgrade;
}

static void wss_free(Ccai_wss *ws)
{
    Ccai_ws_core_free(ws->core);
    ccai_free(ws->protocol);
    ccai_free(ws);
}

ccai_status Ccai_wss_accept(ccai_http_exchange *x, const Ccai_wss_opts *o, Ccai_wss **ret)
{
    *ret = NULL;
    Ccai_http_hdr *hs = x->req_headers;
    Ccai_wss_handshake_result r;
    Ccai_wss_handshake(x->method, hs, x->n_req_headers, o->protocols, &r);
    if (r.status) {
        /* A client of another version learns which one is spoken here. */
        if (r.status == 426 && !Ccai_exchange_add_header(x, "Sec-WebSocket-Version", "13")) {
            Ccai_exchange_fail(x, CCAI_ERR_NOMEM, NULL, NULL);
            return CCAI_ERR_NOMEM;
        }
        Ccai_exchange_error(x, r.status, r.status == 426 ? "upgrade required" : "bad request",
                            r.why);
        return CCAI_ERR_PARSE;
    }
    if (!x->can_upgrade) {
        Ccai_exchange_error(x, 501, "WebSocket not available",
                            "a WebSocket needs libccai's own HTTP server (ccai_ctx_listen)");
        return CCAI_ERR_UNSUPPORTED;
    }
    Ccai_wss *ws = Ccai_calloc(1, sizeof *ws);
    if (ws) {
        ws->o = *o;
        ws->o.protocols = NULL;
        if (!ws->o.idle_timeout_ms)
            ws->o.idle_timeout_ms = WSS_DEFAULT_IDLE_MS;
        if (!ws->o.close_timeout_ms)
            ws->o.close_timeout_ms = WSS_DEFAULT_CLOSE_MS;
        if (!ws->o.max_message)
            ws->o.max_message = WSS_DEFAULT_MAX_MSG;
        if (!ws->o.max_out)
            ws->o.max_out = WSS_DEFAULT_MAX_OUT;
        ws->core = Ccai_ws_core_new_server(ws->o.max_message, on_core_message, ws);
        if (r.protocol[0])
            ws->protocol = Ccai_strdup(r.protocol);
    }
    bool ok = ws && ws->core && (!r.protocol[0] || ws->protocol) &&
              Ccai_exchange_add_header(x, "Upgrade", "websocket") &&
              Ccai_exchange_add_header(x, "Sec-WebSocket-Accept", r.accept) &&
              (!r.protocol[0] || Ccai_exchange_add_header(x, "Sec-WebSocket-Protocol", r.protocol));
    if (!ok) {
        if (ws)
            wss_free(ws);
        Ccai_exchange_fail(x, CCAI_ERR_NOMEM, NULL, NULL);
        return CCAI_ERR_NOMEM;
    }
    x->upgrade = ws;
    Ccai_exchange_respond(x, 101, NULL, NULL, 0); /* the connection adopts ws */
    if (!ws->adopted) {                           /* the client went away meanwhile */
        wss_free(ws);
        return CCAI_ERR_STATE;
    }
    *ret = ws;
    return CCAI_OK;
}

ccai_status Ccai_wss_send(Ccai_wss *ws, int kind, const void *data, size_t len)
{
    if (ws->released || ws->fired || ws->cut || ws->fail != CCAI_OK ||
        Ccai_ws_core_read_done(ws->core))
        return CCAI_ERR_STATE;
    if (kind != CCAI_WS_TEXT && kind != CCAI_WS_BINARY)
        return CCAI_ERR_INVALID_ARG;
    size_t pending = Ccai_wss_pending_out(ws);
    if (len > ws->o.max_out || pending > ws->o.max_out - len)
        return CCAI_ERR_LIMIT;
    if (!pending)
        ws->out_fresh = true;
    ccai_status st = Ccai_ws_core_send(ws->core, kind, data ? data : "", len);
    if (st == CCAI_OK)
        wake(ws);
    return st;
}

static ccai_status begin_close(Ccai_wss *ws, int code, const char *reason, uint64_t now)
{
    ccai_status st = Ccai_ws_core_close(ws->core, code, reason);
    if (st == CCAI_OK) {
        ws->t_close = now;
        ws->closing_sent_at_set = true;
    }
    return st;
}

ccai_status Ccai_wss_close(Ccai_wss *ws, int code, const char *reason)
{
    if (ws->released || ws->fired || ws->cut)
        return CCAI_ERR_STATE;
    ccai_status st = begin_close(ws, code, reason, ws->t_in > ws->t_out ? ws->t_in : ws->t_out);
    /* The close timeout runs from the next frame the connection sees. */
    ws->closing_sent_at_set = false;
    if (st == CCAI_OK)
        wake(ws);
    return st;
}

void Ccai_wss_release(Ccai_wss *ws)
{
    if (!ws || ws->released)
        return;
    ws->released = true;
    if (!ws->fired && !ws->cut && !Ccai_ws_core_close_sent(ws->core)) {
        if (begin_close(ws, 1001, "going away", ws->t_in) == CCAI_OK)
            ws->closing_sent_at_set = false;
    }
    wake(ws);
}

size_t Ccai_wss_pending_out(const Ccai_wss *ws)
{
    const uint8_t *p;
    size_t n;
    Ccai_ws_core_out(ws->core, &p, &n);
    return n;
}

const char *Ccai_wss_protocol(const Ccai_wss *ws)
{
    return ws->protocol;
}

const char *Ccai_wss_remote(const Ccai_wss *ws)
{
    return ws->remote;
}

/* The connection's side --------------------------------------------------------- */

void Ccai_wss_io_adopt(Ccai_wss *ws, void (*wake_fn)(void *ud), void *ud, const char *remote,
                       uint64_t now)
{
    ws->adopted = true;
    ws->wake = wake_fn;
    ws->wake_ud = ud;
    snprintf(ws->remote, sizeof ws->remote, "%s", remote ? remote : "");
    ws->t_in = ws->t_out = ws->t_ping = now;
}

void Ccai_wss_io_input(Ccai_wss *ws, const uint8_t *data, size_t len, uint64_t now)
{
    if (ws->cut || ws->fail != CCAI_OK)
        return;
    ws->t_in = now;
    if (Ccai_ws_core_feed(ws->core, data, len) != CCAI_OK) {
        ws->fail = CCAI_ERR_NOMEM;
        ws->fail_msg = "out of memory";
    }
}

void Ccai_wss_io_cut(Ccai_wss *ws, uint64_t now)
{
    CCAI_UNUSED(now);
    ws->cut = true;
}

const uint8_t *Ccai_wss_io_output(Ccai_wss *ws, size_t *len)
{
    const uint8_t *p = NULL;
    *len = 0;
    if (ws->cut || ws->fail == CCAI_ERR_NOMEM)
        return NULL;
    Ccai_ws_core_out(ws->core, &p, len);
    return *len ? p : NULL;
}

void Ccai_wss_io_written(Ccai_wss *ws, size_t n, uint64_t now)
{
    if (n || ws->out_fresh)
        ws->t_out = now;
    ws->out_fresh = false;
    Ccai_ws_core_consume(ws->core, n);
}

static uint64_t add_ms(uint64_t t, uint64_t ms)
{
    return ms > UINT64_MAX - t ? UINT64_MAX : t + ms;
}

uint64_t Ccai_wss_io_deadline(const Ccai_wss *ws)
{
    if (Ccai_wss_io_finished(ws))
        return 0;
    uint64_t d = add_ms(ws->t_in, ws->o.idle_timeout_ms);
    if (Ccai_wss_pending_out(ws) && !ws->out_fresh) {
        uint64_t w = add_ms(ws->t_out, ws->o.idle_timeout_ms);
        d = w < d ? w : d;
    }
    if (Ccai_ws_core_close_sent(ws->core)) {
        uint64_t c = ws->closing_sent_at_set ? add_ms(ws->t_close, ws->o.close_timeout_ms) : 0;
        d = c < d ? c : d;
    } else if (ws->o.ping_interval_ms) {
        uint64_t p = add_ms(ws->t_ping, ws->o.ping_interval_ms);
        d = p < d ? p : d;
    }
    return d;
}

static void fail(Ccai_wss *ws, ccai_status st, const char *msg)
{
    if (ws->fail == CCAI_OK) {
        ws->fail = st;
        ws->fail_msg = msg;
    }
}

void Ccai_wss_io_timeout(Ccai_wss *ws, uint64_t now)
{
    if (Ccai_wss_io_finished(ws))
        return;
    if (Ccai_ws_core_close_sent(ws->core) && !ws->closing_sent_at_set) {
        /* A close the owner asked for: its timeout starts now. */
        ws->t_close = now;
        ws->closing_sent_at_set = true;
    }
    if (ws->out_fresh) {
        /* Queued after a quiet spell (a send's wake lands here before
         * anything is written): the peer has not been slow yet. */
        ws->t_out = now;
        ws->out_fresh = false;
    }
    if (now >= add_ms(ws->t_in, ws->o.idle_timeout_ms)) {
        fail(ws, CCAI_ERR_TIMEOUT, "no byte from the peer within the idle timeout");
        return;
    }
    if (Ccai_wss_pending_out(ws) && now >= add_ms(ws->t_out, ws->o.idle_timeout_ms)) {
        fail(ws, CCAI_ERR_TIMEOUT, "the peer does not read what is sent to it");
        return;
    }
    if (Ccai_ws_core_close_sent(ws->core)) {
        if (now >= add_ms(ws->t_close, ws->o.close_timeout_ms))
            fail(ws, CCAI_ERR_TIMEOUT, "no answer to our close in time");
        return;
    }
    if (ws->o.ping_interval_ms && now >= add_ms(ws->t_ping, ws->o.ping_interval_ms)) {
        ws->t_ping = now;
        /* Best effort: a ping that cannot be queued (out of memory) is
         * found by the idle timeout instead. */
        CCAI_DISCARD(Ccai_ws_core_send(ws->core, CCAI_WS_PING, "", 0));
    }
}

void Ccai_wss_io_shutdown(Ccai_wss *ws, uint64_t now)
{
    if (!ws->cut && !Ccai_ws_core_close_sent(ws->core))
        CCAI_DISCARD(begin_close(ws, 1001, "server shutting down", now));
}

bool Ccai_wss_io_finished(const Ccai_wss *ws)
{
    if (ws->cut || ws->fail != CCAI_OK)
        return true;
    /* Both closes passed (or ours after a failure the core found), and
     * everything written: the server closes the TCP connection first. */
    bool done = Ccai_ws_core_close_sent(ws->core) &&
                (Ccai_ws_core_close_received(ws->core) || Ccai_ws_core_read_done(ws->core));
    return done && Ccai_wss_pending_out(ws) == 0;
}

void Ccai_wss_io_free(Ccai_wss *ws)
{
    if (!ws)
        return;
    if (!ws->released && !ws->fired && ws->o.on_close) {
        ws->fired = true;
        int peer = Ccai_ws_core_close_received(ws->core);
        int sent = Ccai_ws_core_close_sent(ws->core);
        Ccai_wss_end e = {
            .status = CCAI_OK,
            .close_code = peer,
            .reason = Ccai_ws_core_close_reason(ws->core),
            .errmsg = "closed",
        };
        if (ws->fail != CCAI_OK) {
            e.status = ws->fail;
            e.errmsg = ws->fail_msg;
        } else if (sent == 1009) {
            e.status = CCAI_ERR_LIMIT;
            e.errmsg = "a message over the size limit (closed with 1009)";
        } else if (sent == 1002 || sent == 1007) {
            e.status = CCAI_ERR_PARSE;
            e.errmsg = "the peer broke the WebSocket protocol (closed with 1002)";
        } else if (!peer && ws->cut) {
            e.status = CCAI_ERR_IO;
            e.errmsg = "the connection was cut without a close";
        } else if (!peer && !ws->cut && !sent) {
            e.status = CCAI_ERR_CANCELLED;
            e.errmsg = "the server stopped";
        }
        ws->o.on_close(ws, &e, ws->o.ud);
    }
    wss_free(ws);
}
