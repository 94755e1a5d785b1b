/* WebSocket framing and handshake, sans I/O (io/ws.h): the upgrade
 * answer's parser and check, and wslay's framing over byte buffers, for
 * the client (io/ws.c) and the server end (http/wss.c). */
#include "io/ws.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <wslay/wslay.h>

#define WS_DEFAULT_MAX_MSG (1024u * 1024u)

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/* The handshake answer ---------------------------------------------------- */

void Ccai_ws_response_free(Ccai_ws_response *r)
{
    if (!r)
        return;
    ccai_free(r->accept);
    ccai_free(r->protocol);
    ccai_free(r->retry_after);
    memset(r, 0, sizeof *r);
    r->content_length = -1;
}

static bool is_tchar(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* Whether a comma-separated list value holds token (case-insensitive). */
static bool list_has(const char *v, size_t n, const char *token)
{
    size_t tl = strlen(token), i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t s = i;
        while (i < n && v[i] != ',')
            i++;
        size_t e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e - s == tl && strncasecmp(v + s, token, tl) == 0)
            return true;
    }
    return false;
}

static bool header_is(const char *name, size_t n, const char *want)
{
    return strlen(want) == n && strncasecmp(name, want, n) == 0;
}

static ccai_status set_copy(char **dst, const char *v, size_t n)
{
    char *s = Ccai_strndup(v, n);
    if (!s)
        return CCAI_ERR_NOMEM;
    ccai_free(*dst);
    *dst = s;
    return CCAI_OK;
}

ccai_status Ccai_ws_response_parse(const char *p, size_t len, size_t max, Ccai_ws_response *r,
                                   size_t *head_len)
{
    memset(r, 0, sizeof *r);
    r->content_length = -1;
    *head_len = 0;
    /* Find the blank line that ends the head (CRLF CRLF, or bare LFs). */
    size_t scan = len < max ? len : max, end = 0;
    for (size_t i = 0; i < scan; i++) {
        if (p[i] != '\n')
            continue;
        size_t j = i + 1;
        if (j < scan && p[j] == '\r')
            j++;
        if (j < scan && p[j] == '\n') {
            end = j + 1;
            break;
        }
    }
    if (!end)
        return len >= max ? CCAI_ERR_LIMIT : CCAI_OK;

    ccai_status st = CCAI_ERR_PARSE;
    size_t i = 0;
    bool first = true;
    while (i < end) {
        size_t s = i;
        while (i < end && p[i] != '\n')
            i++;
        size_t e = i;
        i++; /* past the LF */
        if (e > s && p[e - 1] == '\r')
            e--;
        if (e == s)
            break; /* the blank line */
        for (size_t k = s; k < e; k++) {
            unsigned char ch = (unsigned char)p[k];
            if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
                goto fail;
        }
        if (first) {
            first = false;
            /* HTTP/1.x SSS reason */
            if (e - s < 12 || memcmp(p + s, "HTTP/1.", 7) != 0 || !Ccai_is_digit(p[s + 7]) ||
                p[s + 8] != ' ' || !Ccai_is_digit(p[s + 9]) || !Ccai_is_digit(p[s + 10]) ||
                !Ccai_is_digit(p[s + 11]) || (e - s > 12 && p[s + 12] != ' '))
                goto fail;
            r->status = (p[s + 9] - '0') * 100 + (p[s + 10] - '0') * 10 + (p[s + 11] - '0');
            if (r->status < 100)
                goto fail;
            continue;
        }
        size_t c = s;
        while (c < e && is_tchar((unsigned char)p[c]))
            c++;
        if (c == s || c >= e || p[c] != ':')
            goto fail; /* no name, a space before the colon, obs-fold */
        const char *name = p + s;
        size_t nl = c - s;
        size_t vs = c + 1, ve = e;
        while (vs < ve && (p[vs] == ' ' || p[vs] == '\t'))
            vs++;
        while (ve > vs && (p[ve - 1] == ' ' || p[ve - 1] == '\t'))
            ve--;
        const char *v = p + vs;
        size_t vl = ve - vs;
        ccai_status cs = CCAI_OK;
        if (header_is(name, nl, "upgrade")) {
            r->upgrade = r->upgrade || list_has(v, vl, "websocket");
        } else if (header_is(name, nl, "connection")) {
            r->connection = r->connection || list_has(v, vl, "upgrade");
        } else if (header_is(name, nl, "sec-websocket-extensions")) {
            r->extensions = true;
        } else if (header_is(name, nl, "sec-websocket-accept")) {
            if (r->accept)
                goto fail; /* twice: which one? */
            cs = set_copy(&r->accept, v, vl);
        } else if (header_is(name, nl, "sec-websocket-protocol")) {
            if (r->protocol)
                goto fail;
            cs = set_copy(&r->protocol, v, vl);
        } else if (header_is(name, nl, "retry-after")) {
            cs = set_copy(&r->retry_after, v, vl < 64 ? vl : 64);
        } else if (header_is(name, nl, "transfer-encoding")) {
            r->chunked = r->chunked || list_has(v, vl, "chunked");
        } else if (header_is(name, nl, "content-length")) {
            if (vl == 0 || vl > 12)
                goto fail;
            long n = 0;
            for (size_t k = 0; k < vl; k++) {
                if (!Ccai_is_digit(v[k]))
                    goto fail;
                n = n * 10 + (v[k] - '0');
            }
            if (r->content_length >= 0 && r->content_length != n)
                goto fail;
            r->content_length = n;
        }
        if (cs != CCAI_OK) {
            st = cs;
            goto fail;
        }
    }
    if (first)
        goto fail;
    *head_len = end;
    return CCAI_OK;
fail:
    Ccai_ws_response_free(r);
    return st;
}

void Ccai_ws_accept_key(const char *key, char out[29])
{
    unsigned char md[SHA_DIGEST_LENGTH];
    char buf[128];
    size_t kl = strlen(key);
    if (kl > sizeof buf - sizeof ws_guid)
        kl = sizeof buf - sizeof ws_guid; /* our keys are 24 characters */
    memcpy(buf, key, kl);
    memcpy(buf + kl, ws_guid, sizeof ws_guid - 1);
    SHA1((const unsigned char *)buf, kl + sizeof ws_guid - 1, md);
    EVP_EncodeBlock((unsigned char *)out, md, SHA_DIGEST_LENGTH);
    out[28] = '\0';
}

const char *Ccai_ws_response_check(const Ccai_ws_response *r, const char *key,
                                   const char *protocols)
{
    if (r->status != 101)
        return "ws: the upgrade was refused";
    if (!r->upgrade)
        return "ws: the answer has no Upgrade: websocket";
    if (!r->connection)
        return "ws: the answer has no Connection: upgrade";
    if (!r->accept)
        return "ws: the answer has no Sec-WebSocket-Accept";
    char want[29];
    Ccai_ws_accept_key(key, want);
    if (strcmp(r->accept, want) != 0)
        return "ws: wrong Sec-WebSocket-Accept";
    if (r->extensions)
        return "ws: the server chose an extension that was not offered";
    if (r->protocol && (!protocols || !list_has(protocols, strlen(protocols), r->protocol) ||
                        strchr(r->protocol, ',')))
        return "ws: the server chose a subprotocol that was not offered";
    return NULL;
}

/* The framing (wslay over byte buffers) ------------------------------------ */

struct Ccai_ws_core {
    wslay_event_context_ptr wc;
    const uint8_t *in; /* bytes being fed */
    size_t in_len, in_off;
    Ccai_buf out;
    size_t out_off;
    bool nomem;
    bool failed; /* wslay refused the server's bytes */
    int close_received;
    char *close_reason;
    Ccai_ws_core_fn on_message;
    void *ud;
};

static ssize_t core_recv(wslay_event_context_ptr wc, uint8_t *buf, size_t len, int flags, void *ud)
{
    Ccai_ws_core *c = ud;
    CCAI_UNUSED(flags);
    size_t left = c->in_len - c->in_off;
    if (!left) {
        wslay_event_set_error(wc, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    size_t n = left < len ? left : len;
    memcpy(buf, c->in + c->in_off, n);
    c->in_off += n;
    return (ssize_t)n;
}

static ssize_t core_send(wslay_event_context_ptr wc, const uint8_t *data, size_t len, int flags,
                         void *ud)
{
    Ccai_ws_core *c = ud;
    CCAI_UNUSED(flags);
    if (!Ccai_buf_append(&c->out, data, len)) {
        c->nomem = true;
        wslay_event_set_error(wc, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return (ssize_t)len;
}

static int core_genmask(wslay_event_context_ptr wc, uint8_t *buf, size_t len, void *ud)
{
    CCAI_UNUSED(wc);
    CCAI_UNUSED(ud);
    return Ccai_random_bytes(buf, len) ? 0 : -1;
}

static void core_msg(wslay_event_context_ptr wc, const struct wslay_event_on_msg_recv_arg *a,
                     void *ud)
{
    Ccai_ws_core *c = ud;
    CCAI_UNUSED(wc);
    if (a->opcode == WSLAY_CONNECTION_CLOSE) {
        c->close_received = a->status_code ? a->status_code : 1005;
        size_t rl = a->msg_length > 2 ? a->msg_length - 2 : 0;
        char *reason = Ccai_strndup(rl ? (const char *)a->msg + 2 : "", rl);
        if (!reason) {
            c->nomem = true;
            return;
        }
        ccai_free(c->close_reason);
        c->close_reason = reason;
        return;
    }
    if (a->opcode != WSLAY_TEXT_FRAME && a->opcode != WSLAY_BINARY_FRAME)
        return; /* ping (wslay answers it) or pong */
    /* A text message, NUL-terminated for the parsers. */
    uint8_t *copy = Ccai_malloc(a->msg_length + 1);
    if (!copy) {
        c->nomem = true;
        return;
    }
    if (a->msg_length)
        memcpy(copy, a->msg, a->msg_length);
    copy[a->msg_length] = 0;
    c->on_message(c->ud, a->opcode == WSLAY_TEXT_FRAME ? CCAI_WS_TEXT : CCAI_WS_BINARY, copy,
                  a->msg_length);
    ccai_free(copy);
}

static Ccai_ws_core *core_new(bool server, size_t max_message, Ccai_ws_core_fn on_message, void *ud)
{
    Ccai_ws_core *c = Ccai_calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->on_message = on_message;
    c->ud = ud;
    struct wslay_event_callbacks cb = {
        .recv_callback = core_recv,
        .send_callback = core_send,
        .genmask_callback = core_genmask,
        .on_msg_recv_callback = core_msg,
    };
    int rc = server ? wslay_event_context_server_init(&c->wc, &cb, c)
                    : wslay_event_context_client_init(&c->wc, &cb, c);
    if (rc != 0) {
        ccai_free(c);
        return NULL;
    }
    wslay_event_config_set_max_recv_msg_length(c->wc,
                                               max_message ? max_message : WS_DEFAULT_MAX_MSG);
    return c;
}

Ccai_ws_core *Ccai_ws_core_new(size_t max_message, Ccai_ws_core_fn on_message, void *ud)
{
    return core_new(false, max_message, on_message, ud);
}

Ccai_ws_core *Ccai_ws_core_new_server(size_t max_message, Ccai_ws_core_fn on_message, void *ud)
{
    return core_new(true, max_message, on_message, ud);
}

void Ccai_ws_core_free(Ccai_ws_core *c)
{
    if (!c)
        return;
    wslay_event_context_free(c->wc);
    Ccai_buf_free(&c->out);
    ccai_free(c->close_reason);
    ccai_free(c);
}

/* Serialise what wslay has queued into out. */
static ccai_status core_flush(Ccai_ws_core *c)
{
    if (c->nomem)
        return CCAI_ERR_NOMEM;
    while (wslay_event_want_write(c->wc)) {
        size_t before = c->out.len;
        if (wslay_event_send(c->wc) != 0 || c->nomem) {
            c->nomem = true;
            return CCAI_ERR_NOMEM;
        }
        if (c->out.len == before)
            break;
    }
    return CCAI_OK;
}

ccai_status Ccai_ws_core_feed(Ccai_ws_core *c, const uint8_t *data, size_t len)
{
    if (c->nomem)
        return CCAI_ERR_NOMEM;
    c->in = data;
    c->in_len = len;
    c->in_off = 0;
    while (c->in_off < c->in_len && !c->failed && wslay_event_get_read_enabled(c->wc)) {
        size_t before = c->in_off;
        int rc = wslay_event_recv(c->wc);
        if (rc == WSLAY_ERR_NOMEM || c->nomem) {
            c->nomem = true;
            break;
        }
        if (rc != 0) {
            /* A frame wslay could not take (bad opcode, reserved bits):
             * fail the connection with 1002 (RFC 6455 7.1.7). */
            c->failed = true;
            if (!wslay_event_get_close_sent(c->wc) &&
                wslay_event_queue_close(c->wc, WSLAY_CODE_PROTOCOL_ERROR, NULL, 0) ==
                    WSLAY_ERR_NOMEM)
                c->nomem = true;
            break;
        }
        if (c->in_off == before)
            break;
    }
    c->in = NULL;
    c->in_len = c->in_off = 0;
    if (c->nomem)
        return CCAI_ERR_NOMEM;
    return core_flush(c); /* pongs, the answer to a close, a 1002/1009 close */
}

ccai_status Ccai_ws_core_send(Ccai_ws_core *c, int kind, const void *data, size_t len)
{
    if (c->nomem)
        return CCAI_ERR_NOMEM;
    if (!wslay_event_get_write_enabled(c->wc) || wslay_event_get_close_sent(c->wc))
        return CCAI_ERR_STATE;
    if ((kind == WSLAY_PING || kind == WSLAY_PONG) && len > 125)
        return CCAI_ERR_INVALID_ARG;
    struct wslay_event_msg m = {(uint8_t)kind, data, len};
    int rc = wslay_event_queue_msg(c->wc, &m);
    if (rc == WSLAY_ERR_NOMEM)
        return CCAI_ERR_NOMEM;
    if (rc != 0)
        return rc == WSLAY_ERR_INVALID_ARGUMENT ? CCAI_ERR_INVALID_ARG : CCAI_ERR_STATE;
    return core_flush(c);
}

ccai_status Ccai_ws_core_close(Ccai_ws_core *c, int code, const char *reason)
{
    if (c->nomem)
        return CCAI_ERR_NOMEM;
    if (wslay_event_get_close_sent(c->wc))
        return CCAI_ERR_STATE;
    size_t rl = reason ? strlen(reason) : 0;
    if (rl > 122)
        rl = 122;
    int rc = wslay_event_queue_close(c->wc, (uint16_t)code, (const uint8_t *)reason, rl);
    if (rc == WSLAY_ERR_NOMEM)
        return CCAI_ERR_NOMEM;
    if (rc != 0)
        return CCAI_ERR_STATE;
    return core_flush(c);
}

void Ccai_ws_core_out(Ccai_ws_core *c, const uint8_t **p, size_t *n)
{
    /* An empty buffer may have no memory yet: no pointer arithmetic on NULL. */
    *p = c->out.data ? (const uint8_t *)c->out.data + c->out_off : NULL;
    *n = c->out.len - c->out_off;
}

void Ccai_ws_core_consume(Ccai_ws_core *c, size_t n)
{
    c->out_off += n;
    if (c->out_off >= c->out.len) {
        c->out.len = 0;
        c->out_off = 0;
    } else if (c->out_off > 65536 && c->out_off * 2 > c->out.len) {
        memmove(c->out.data, c->out.data + c->out_off, c->out.len - c->out_off);
        c->out.len -= c->out_off;
        c->out_off = 0;
    }
}

int Ccai_ws_core_close_received(const Ccai_ws_core *c)
{
    return c->close_received;
}

int Ccai_ws_core_close_sent(const Ccai_ws_core *c)
{
    if (!wslay_event_get_close_sent(c->wc))
        return 0;
    int code = wslay_event_get_status_code_sent(c->wc);
    return code ? code : 1005;
}

const char *Ccai_ws_core_close_reason(const Ccai_ws_core *c)
{
    return c->close_reason ? c->close_reason : "";
}

bool Ccai_ws_core_read_done(const Ccai_ws_core *c)
{
    return c->close_received || c->failed || !wslay_event_get_read_enabled(c->wc);
}
