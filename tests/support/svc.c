/* The stand-ins' HTTP + WebSocket server loop: see svc.h. */
#include "support/svc.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_HEAD      (64 * 1024)
#define MAX_BODY      (64 * 1024 * 1024)
#define WS_CLOSE_WAIT 2000

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

static int buf_add(buf *b, const void *d, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return -1;
        b->p = p;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, d, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

static void buf_drop(buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
    } else {
        memmove(b->p, b->p + n, b->len - n);
        b->len -= n;
    }
    if (b->p)
        b->p[b->len] = '\0';
}

enum { ST_RAW, ST_END, ST_CLOSE, ST_WS, ST_WS_FRAG, ST_WS_RSV1, ST_WS_CLOSE };

typedef struct step {
    uint64_t at;
    int kind;
    int opcode; /* ST_WS*: opcode; ST_WS_CLOSE: code */
    size_t frag;
    char *data;
    size_t len;
} step;

typedef struct wsrec {
    int opcode;
    char *data;
    size_t len;
} wsrec;

typedef struct rec {
    char method[16];
    char *target, *body;
    size_t body_len;
    svc_hdr *hdrs;
    size_t nh;
    int chunked;
    int status;
    wsrec *ws;
    size_t nws, wscap;
    int client_close;
    wsrec *sent;
    size_t nsent, sentcap;
    long bytes;
} rec;

struct svc_conn {
    svc *s;
    int fd;
    int dead;
    buf in, out;
    step *steps;
    size_t nsteps, capsteps, head;
    uint64_t last_due;
    int busy, keepalive, expect_sent;
    int req; /* log index of the current request / the upgrade */
    ws_endpoint *ws;
    int ws_closing;
    uint64_t close_deadline;
    uint64_t timer_at;
    void *data;
    struct svc_conn *prev, *next;
};

struct svc {
    int listen_fd, ep, wake_fd, port;
    pthread_t thread;
    int stop;
    svc_ops ops;
    void *ud;
    pthread_mutex_t lock;
    rec *recs;
    size_t nrecs, rcap;
    int connections;
    svc_conn *conns;
};

uint64_t svc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void svc_lock(svc *s)
{
    pthread_mutex_lock(&s->lock);
}

void svc_unlock(svc *s)
{
    pthread_mutex_unlock(&s->lock);
}

svc *svc_of(svc_conn *c)
{
    return c->s;
}

void svc_conn_set_data(svc_conn *c, void *data)
{
    c->data = data;
}

void *svc_conn_data(svc_conn *c)
{
    return c->data;
}

int svc_conn_request(svc_conn *c)
{
    return c->req;
}

static char *dupn(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* ---- requests ---- */

const char *svc_req_header(const svc_req *r, const char *name)
{
    for (size_t i = 0; i < r->nh; i++) {
        if (!strcasecmp(r->hdrs[i].name, name))
            return r->hdrs[i].value;
    }
    return NULL;
}

static int hexv(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int svc_query(const char *query, const char *name, char *out, size_t n)
{
    if (n)
        out[0] = '\0';
    if (!query || !name)
        return 0;
    size_t nl = strlen(name);
    const char *p = query;
    while (*p) {
        const char *amp = strchr(p, '&');
        size_t seg = amp ? (size_t)(amp - p) : strlen(p);
        if (seg >= nl && !strncmp(p, name, nl) && (seg == nl || p[nl] == '=')) {
            const char *v = seg > nl ? p + nl + 1 : p + seg;
            const char *e = p + seg;
            size_t k = 0;
            while (v < e && k + 1 < n) {
                if (*v == '%' && e - v >= 3 && hexv(v[1]) >= 0 && hexv(v[2]) >= 0) {
                    out[k++] = (char)(hexv(v[1]) * 16 + hexv(v[2]));
                    v += 3;
                } else {
                    out[k++] = *v == '+' ? ' ' : *v;
                    v++;
                }
            }
            if (n)
                out[k] = '\0';
            return 1;
        }
        p += seg + (amp ? 1 : 0);
        if (!amp)
            break;
    }
    return 0;
}

static void req_clear(svc_req *r)
{
    for (size_t i = 0; i < r->nh; i++) {
        free(r->hdrs[i].name);
        free(r->hdrs[i].value);
    }
    free(r->hdrs);
    free(r->target);
    free(r->path);
    free(r->body);
    memset(r, 0, sizeof *r);
}

/* Decodes a chunked body starting at p (len bytes available): 1 complete
 * (*used = bytes consumed, out filled), 0 need more, -1 malformed. */
static int dechunk(const char *p, size_t len, buf *out, size_t *used)
{
    size_t i = 0;
    out->len = 0;
    for (;;) {
        const char *nl = memchr(p + i, '\n', len - i);
        if (!nl)
            return len - i > 64 ? -1 : 0;
        char *e;
        unsigned long sz = strtoul(p + i, &e, 16);
        if (e == p + i || sz > MAX_BODY)
            return -1;
        i = (size_t)(nl - p) + 1;
        if (sz == 0) {
            /* trailers until an empty line */
            for (;;) {
                const char *tl = memchr(p + i, '\n', len - i);
                if (!tl)
                    return 0;
                size_t linelen = (size_t)(tl - (p + i));
                i = (size_t)(tl - p) + 1;
                if (linelen == 0 || (linelen == 1 && p[i - 2] == '\r')) {
                    *used = i;
                    return 1;
                }
            }
        }
        if (len - i < sz + 2)
            return 0;
        if (buf_add(out, p + i, sz) || out->len > MAX_BODY)
            return -1;
        i += sz;
        if (p[i] == '\r')
            i++;
        if (i >= len)
            return 0;
        if (p[i] != '\n')
            return -1;
        i++;
    }
}

/* 1 = complete request in r, 0 = need more, -1 = bad request. */
static int parse_request(svc_conn *c, svc_req *r, size_t *consumed, int *need_continue)
{
    char *b = c->in.p;
    http_head h;
    int rc = http_head_parse(b, c->in.len, MAX_HEAD, &h);
    r->hdrs = h.hdrs;
    r->nh = h.nh;
    if (rc <= 0)
        return rc;
    rc = -1;
    snprintf(r->method, sizeof r->method, "%s", h.method);
    c->keepalive = !h.http10 && !h.conn_close;
    *need_continue = h.expect_continue;
    size_t head = h.len;
    long long clen = h.clen;
    int chunked = h.chunked;
    const char *target = h.target;
    if (clen < 0 || clen > MAX_BODY)
        goto out;
    buf body = {0};
    size_t used = 0;
    if (chunked) {
        int d = dechunk(b + head, c->in.len - head, &body, &used);
        if (d <= 0) {
            free(body.p);
            rc = d;
            goto out;
        }
    } else {
        if (c->in.len < head + (size_t)clen) {
            rc = 0;
            goto out;
        }
        if (buf_add(&body, b + head, (size_t)clen))
            goto out;
        used = (size_t)clen;
    }
    r->chunked = chunked;
    r->body = body.p ? body.p : strdup("");
    r->body_len = body.len;
    r->target = strdup(target);
    r->path = strdup(target);
    if (!r->target || !r->path || !r->body)
        goto out;
    char *q = strchr(r->path, '?');
    if (q) {
        *q = '\0';
        r->query = r->target + (q - r->path) + 1;
    }
    *consumed = head + used;
    rc = 1;
out:
    return rc;
}

/* ---- the log ---- */

static rec *rec_get(svc *s, int i)
{
    return i >= 0 && (size_t)i < s->nrecs ? &s->recs[i] : NULL;
}

static int log_request(svc *s, const svc_req *r)
{
    if (s->nrecs == s->rcap) {
        size_t cap = s->rcap ? s->rcap * 2 : 64;
        rec *v = realloc(s->recs, cap * sizeof *v);
        if (!v)
            return -1;
        s->recs = v;
        s->rcap = cap;
    }
    rec *e = &s->recs[s->nrecs];
    memset(e, 0, sizeof *e);
    snprintf(e->method, sizeof e->method, "%s", r->method);
    e->target = strdup(r->target ? r->target : "");
    e->body = dupn(r->body ? r->body : "", r->body ? r->body_len : 0);
    e->body_len = r->body ? r->body_len : 0;
    e->chunked = r->chunked;
    e->hdrs = calloc(r->nh ? r->nh : 1, sizeof *e->hdrs);
    if (e->hdrs) {
        for (size_t i = 0; i < r->nh; i++) {
            e->hdrs[i].name = strdup(r->hdrs[i].name);
            e->hdrs[i].value = strdup(r->hdrs[i].value);
        }
        e->nh = r->nh;
    }
    return (int)s->nrecs++;
}

static void log_ws(svc *s, int i, const ws_msg *m)
{
    rec *e = rec_get(s, i);
    if (!e)
        return;
    if (m->opcode == WS_CLOSE)
        e->client_close = m->close_code;
    if (e->nws == e->wscap) {
        size_t cap = e->wscap ? e->wscap * 2 : 64;
        wsrec *v = realloc(e->ws, cap * sizeof *v);
        if (!v)
            return;
        e->ws = v;
        e->wscap = cap;
    }
    wsrec *w = &e->ws[e->nws];
    w->opcode = m->opcode;
    w->data = dupn((const char *)m->data, m->len);
    w->len = m->len;
    if (w->data)
        e->nws++;
}

void svc_note_sent(svc_conn *c, const char *text, size_t len)
{
    rec *e = rec_get(c->s, c->req);
    if (!e)
        return;
    if (e->nsent == e->sentcap) {
        size_t cap = e->sentcap ? e->sentcap * 2 : 64;
        wsrec *v = realloc(e->sent, cap * sizeof *v);
        if (!v)
            return;
        e->sent = v;
        e->sentcap = cap;
    }
    wsrec *w = &e->sent[e->nsent];
    w->opcode = WS_TEXT;
    w->data = dupn(text, len);
    w->len = len;
    if (w->data)
        e->nsent++;
}

void svc_note_bytes(svc_conn *c, long n)
{
    rec *e = rec_get(c->s, c->req);
    if (e)
        e->bytes += n;
}

int svc_sent_count(svc *s, int i)
{
    svc_lock(s);
    rec *e = rec_get(s, i);
    int v = e ? (int)e->nsent : 0;
    svc_unlock(s);
    return v;
}

char *svc_sent(svc *s, int i, int k)
{
    char *v = NULL;
    svc_lock(s);
    rec *e = rec_get(s, i);
    if (e && k >= 0 && (size_t)k < e->nsent)
        v = dupn(e->sent[k].data, e->sent[k].len);
    svc_unlock(s);
    return v;
}

long svc_bytes(svc *s, int i)
{
    svc_lock(s);
    rec *e = rec_get(s, i);
    long v = e ? e->bytes : 0;
    svc_unlock(s);
    return v;
}

void svc_set_status(svc_conn *c, int status)
{
    rec *e = rec_get(c->s, c->req);
    if (e)
        e->status = status;
}

int svc_request_count(svc *s)
{
    svc_lock(s);
    int n = (int)s->nrecs;
    svc_unlock(s);
    return n;
}

char *svc_request_method(svc *s, int i)
{
    svc_lock(s);
    rec *e = rec_get(s, i);
    char *v = e ? strdup(e->method) : NULL;
    svc_unlock(s);
    return v;
}

char *svc_request_target(svc *s, int i)
{
    svc_lock(s);
    rec *e = rec_get(s, i);
    char *v = e ? strdup(e->target) : NULL;
    svc_unlock(s);
    return v;
}

char *svc_request_body(svc *s, int i, size_t *len)
{
    svc_lock(s);
    rec *e = rec_get(s, i);
    char *v = e ? dupn(e->body, e->body_len) : NULL;
    if (len)
        *len = e ? e->body_len : 0;
    svc_unlock(s);
    return v;
}

char *svc_request_header(svc *s, int i, const char *name)
{
    char *v = NULL;
    svc_lock(s);
    rec *e = rec_get(s, i);
    for (size_t k = 0; e && k < e->nh; k++) {
        if (!strcasecmp(e->hdrs[k].name, name)) {
            v = strdup(e->hdrs[k].value);
            break;
        }
    }
    svc_unlock(s);
    return v;
}

int svc_request_chunked(svc *s, int i)
{
    svc_lock(s);
    rec *e = rec_get(s, i);
    int v = e ? e->chunked : 0;
    svc_unlock(s);
    return v;
}

int svc_request_status(svc *s, int i)
{
    svc_lock(s);
    rec *e = rec_get(s, i);
    int v = e ? e->status : 0;
    svc_unlock(s);
    return v;
}

int svc_ws_count(svc *s, int i)
{
    svc_lock(s);
    rec *e = rec_get(s, i);
    int v = e ? (int)e->nws : 0;
    svc_unlock(s);
    return v;
}

int svc_ws_message(svc *s, int i, int k, char **data, size_t *len)
{
    int op = -1;
    svc_lock(s);
    rec *e = rec_get(s, i);
    if (e && k >= 0 && (size_t)k < e->nws) {
        op = e->ws[k].opcode;
        if (data)
            *data = dupn(e->ws[k].data, e->ws[k].len);
        if (len)
            *len = e->ws[k].len;
    }
    svc_unlock(s);
    return op;
}

int svc_ws_client_close(svc *s, int i)
{
    svc_lock(s);
    rec *e = rec_get(s, i);
    int v = e ? e->client_close : 0;
    svc_unlock(s);
    return v;
}

int svc_connections(svc *s)
{
    svc_lock(s);
    int v = s->connections;
    svc_unlock(s);
    return v;
}

/* ---- output steps ---- */

static void step_add(svc_conn *c, uint64_t at, int kind, int opcode, const void *data, size_t len,
                     size_t frag)
{
    if (c->dead)
        return;
    if (c->nsteps == c->capsteps) {
        if (c->head) {
            memmove(c->steps, c->steps + c->head, (c->nsteps - c->head) * sizeof *c->steps);
            c->nsteps -= c->head;
            c->head = 0;
        }
        if (c->nsteps == c->capsteps) {
            size_t cap = c->capsteps ? c->capsteps * 2 : 32;
            step *v = realloc(c->steps, cap * sizeof *v);
            if (!v)
                return;
            c->steps = v;
            c->capsteps = cap;
        }
    }
    uint64_t now = svc_now_ms();
    uint64_t floor = c->head < c->nsteps ? c->last_due : now;
    if (at < floor)
        at = floor;
    step *st = &c->steps[c->nsteps];
    st->at = at;
    st->kind = kind;
    st->opcode = opcode;
    st->frag = frag;
    st->len = len;
    st->data = NULL;
    if (len || data) {
        st->data = malloc(len + 1);
        if (!st->data)
            return;
        if (len)
            memcpy(st->data, data, len);
        st->data[len] = '\0';
    }
    c->last_due = at;
    c->nsteps++;
}

uint64_t svc_last_due(svc_conn *c)
{
    uint64_t now = svc_now_ms();
    return c->head < c->nsteps && c->last_due > now ? c->last_due : now;
}

static const char *reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 202: return "Accepted";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Status";
    }
}

static void head_into(buf *b, svc_conn *c, int status, const char *extra, const char *ctype,
                      long long clen)
{
    char line[256];
    snprintf(line, sizeof line, "HTTP/1.1 %d %s\r\n", status, reason(status));
    buf_add(b, line, strlen(line));
    if (ctype) {
        snprintf(line, sizeof line, "Content-Type: %s\r\n", ctype);
        buf_add(b, line, strlen(line));
    }
    if (clen >= 0)
        snprintf(line, sizeof line, "Content-Length: %lld\r\n", clen);
    else
        snprintf(line, sizeof line, "Transfer-Encoding: chunked\r\n");
    buf_add(b, line, strlen(line));
    const char *conn = c->keepalive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
    buf_add(b, conn, strlen(conn));
    if (extra)
        buf_add(b, extra, strlen(extra));
    buf_add(b, "\r\n", 2);
}

void svc_respond(svc_conn *c, uint64_t at, int status, const char *extra, const char *ctype,
                 const void *body, size_t len)
{
    buf b = {0};
    head_into(&b, c, status, extra, ctype, (long long)len);
    buf_add(&b, body, len);
    step_add(c, at, ST_RAW, 0, b.p, b.len, 0);
    step_add(c, 0, ST_END, 0, NULL, 0, 0);
    free(b.p);
    svc_set_status(c, status);
}

void svc_respond_chunked(svc_conn *c, uint64_t at, int status, const char *extra, const char *ctype)
{
    buf b = {0};
    head_into(&b, c, status, extra, ctype, -1);
    step_add(c, at, ST_RAW, 0, b.p, b.len, 0);
    free(b.p);
    svc_set_status(c, status);
}

void svc_chunk(svc_conn *c, uint64_t at, const void *data, size_t len)
{
    if (!len)
        return; /* a zero-length chunk would end the body */
    char h[32];
    int hn = snprintf(h, sizeof h, "%zx\r\n", len);
    buf b = {0};
    buf_add(&b, h, (size_t)hn);
    buf_add(&b, data, len);
    buf_add(&b, "\r\n", 2);
    step_add(c, at, ST_RAW, 0, b.p, b.len, 0);
    free(b.p);
}

void svc_chunk_end(svc_conn *c, uint64_t at)
{
    step_add(c, at, ST_RAW, 0, "0\r\n\r\n", 5, 0);
    step_add(c, 0, ST_END, 0, NULL, 0, 0);
}

void svc_write_raw(svc_conn *c, uint64_t at, const void *data, size_t len)
{
    step_add(c, at, ST_RAW, 0, data, len, 0);
}

void svc_close(svc_conn *c, uint64_t at)
{
    step_add(c, at, ST_CLOSE, 0, NULL, 0, 0);
}

static void ws_on_message(ws_endpoint *ep, const ws_msg *m, void *ud);

int svc_ws_accept(svc_conn *c, const svc_req *r, uint64_t at, const char *protocol,
                  const char *extra)
{
    const char *up = svc_req_header(r, "Upgrade");
    const char *cn = svc_req_header(r, "Connection");
    const char *ver = svc_req_header(r, "Sec-WebSocket-Version");
    const char *key = svc_req_header(r, "Sec-WebSocket-Key");
    if (strcmp(r->method, "GET") || !up || strcasecmp(up, "websocket") || !cn ||
        !strcasestr(cn, "upgrade") || !ws_key_valid(key)) {
        const char *msg = "Bad WebSocket upgrade request\n";
        svc_respond(c, 0, 400, NULL, "text/plain", msg, strlen(msg));
        return -1;
    }
    if (!ver || strcmp(ver, "13")) {
        const char *msg = "Unsupported WebSocket version\n";
        svc_respond(c, 0, 426, "Sec-WebSocket-Version: 13\r\n", "text/plain", msg, strlen(msg));
        return -1;
    }
    char acc[29];
    ws_accept_key(key, acc);
    buf b = {0};
    char line[512];
    snprintf(line, sizeof line,
             "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Accept: %s\r\n",
             acc);
    buf_add(&b, line, strlen(line));
    if (protocol) {
        snprintf(line, sizeof line, "Sec-WebSocket-Protocol: %s\r\n", protocol);
        buf_add(&b, line, strlen(line));
    }
    if (extra)
        buf_add(&b, extra, strlen(extra));
    buf_add(&b, "\r\n", 2);
    c->ws = ws_endpoint_new(0, 0, ws_on_message, c);
    if (!c->ws) {
        free(b.p);
        svc_close(c, 0);
        return -1;
    }
    /* The 101 goes before anything else queued for this connection. */
    step_add(c, at, ST_RAW, 0, b.p, b.len, 0);
    free(b.p);
    c->keepalive = 0;
    svc_set_status(c, 101);
    return 0;
}

void svc_ws_send(svc_conn *c, uint64_t at, int opcode, const void *data, size_t len)
{
    step_add(c, at, ST_WS, opcode, data, len, 0);
}

void svc_ws_text(svc_conn *c, uint64_t at, const char *text)
{
    svc_ws_send(c, at, WS_TEXT, text, strlen(text));
}

void svc_ws_send_fragmented(svc_conn *c, uint64_t at, int opcode, const void *data, size_t len,
                            size_t frag)
{
    step_add(c, at, ST_WS_FRAG, opcode, data, len, frag);
}

void svc_ws_send_rsv1(svc_conn *c, uint64_t at, int opcode, const void *data, size_t len)
{
    step_add(c, at, ST_WS_RSV1, opcode, data, len, 0);
}

void svc_ws_close(svc_conn *c, uint64_t at, int code, const char *reason_text)
{
    if (c->ws_closing)
        return;
    c->ws_closing = 1;
    step_add(c, at, ST_WS_CLOSE, code, reason_text ? reason_text : "",
             reason_text ? strlen(reason_text) : 0, 0);
}

int svc_ws_closing(svc_conn *c)
{
    return c->ws_closing || c->dead || (c->ws && ws_endpoint_close_received(c->ws));
}

void svc_timer_at(svc_conn *c, uint64_t at)
{
    c->timer_at = at;
}

/* ---- connections ---- */

static void conn_kill(svc_conn *c)
{
    if (c->dead)
        return;
    c->dead = 1;
    /* Out of the epoll set before the close: a child forked (not yet
     * exec'd) by the test may hold the socket open, and epoll would then
     * report it after this connection is freed. */
    epoll_ctl(c->s->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
}

static void conn_pollout(svc *s, svc_conn *c, int on)
{
    struct epoll_event e = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(s->ep, EPOLL_CTL_MOD, c->fd, &e);
}

static void ws_drain(svc_conn *c)
{
    const uint8_t *p;
    size_t n;
    ws_endpoint_out(c->ws, &p, &n);
    if (n) {
        buf_add(&c->out, p, n);
        ws_endpoint_consume(c->ws, n);
    }
}

static void conn_flush(svc *s, svc_conn *c)
{
    if (c->ws)
        ws_drain(c);
    size_t off = 0;
    while (!c->dead && off < c->out.len) {
        ssize_t n = send(c->fd, c->out.p + off, c->out.len - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) {
            conn_kill(c);
            return;
        }
        off += (size_t)n;
    }
    buf_drop(&c->out, off);
    conn_pollout(s, c, c->out.len > 0);
}

static void conn_try_parse(svc *s, svc_conn *c);

static void run_steps(svc *s, svc_conn *c, uint64_t now)
{
    while (!c->dead && c->head < c->nsteps && c->steps[c->head].at <= now) {
        step st = c->steps[c->head++];
        switch (st.kind) {
        case ST_RAW: buf_add(&c->out, st.data, st.len); break;
        case ST_END:
            c->busy = 0;
            if (!c->keepalive && !c->ws) {
                conn_flush(s, c);
                conn_kill(c);
            }
            break;
        case ST_CLOSE:
            conn_flush(s, c);
            conn_kill(c);
            break;
        case ST_WS:
            if (c->ws)
                ws_endpoint_send(c->ws, st.opcode, st.data, st.len);
            break;
        case ST_WS_FRAG:
            if (c->ws)
                ws_endpoint_send_fragmented(c->ws, st.opcode, st.data, st.len, st.frag);
            break;
        case ST_WS_RSV1:
            if (c->ws)
                ws_endpoint_send_rsv1(c->ws, st.opcode, st.data, st.len);
            break;
        case ST_WS_CLOSE:
            if (c->ws && !ws_endpoint_close_sent(c->ws)) {
                ws_endpoint_close(c->ws, st.opcode, st.data);
                c->close_deadline = now + WS_CLOSE_WAIT;
            }
            break;
        default: break;
        }
        free(st.data);
    }
    if (c->head == c->nsteps)
        c->head = c->nsteps = 0;
    if (!c->dead)
        conn_flush(s, c);
    if (!c->dead && c->ws && ws_endpoint_finished(c->ws) && !c->out.len)
        conn_kill(c);
    if (!c->dead && !c->busy && !c->ws && c->in.len)
        conn_try_parse(s, c);
}

static void conn_try_parse(svc *s, svc_conn *c)
{
    if (c->busy || c->dead || c->ws)
        return;
    svc_req r = {0};
    size_t consumed = 0;
    int need_continue = 0;
    int rc = parse_request(c, &r, &consumed, &need_continue);
    if (rc == 0) {
        if (need_continue && !c->expect_sent) {
            c->expect_sent = 1;
            buf_add(&c->out, "HTTP/1.1 100 Continue\r\n\r\n", 25);
            conn_flush(s, c);
        }
        req_clear(&r);
        return;
    }
    c->busy = 1;
    c->expect_sent = 0;
    if (rc < 0) {
        c->keepalive = 0;
        c->req = -1;
        const char *msg = "Malformed HTTP request\n";
        svc_respond(c, 0, 400, NULL, "text/plain", msg, strlen(msg));
        c->in.len = 0;
    } else {
        buf_drop(&c->in, consumed);
        r.index = log_request(s, &r);
        c->req = r.index;
        if (s->ops.request)
            s->ops.request(c, &r, s->ud);
        if (c->ws && c->in.len) {
            /* Frames the client sent right after its upgrade request. */
            buf pending = c->in;
            memset(&c->in, 0, sizeof c->in);
            ws_endpoint_feed(c->ws, pending.p, pending.len);
            free(pending.p);
        }
    }
    req_clear(&r);
    if (c->nsteps == c->head && c->busy && !c->ws)
        svc_close(c, 0); /* the service did not answer: never leave a request hanging */
    run_steps(s, c, svc_now_ms());
}

static void ws_on_message(ws_endpoint *ep, const ws_msg *m, void *ud)
{
    (void)ep;
    svc_conn *c = ud;
    log_ws(c->s, c->req, m);
    if (m->opcode == WS_CLOSE && !c->close_deadline)
        c->close_deadline = svc_now_ms() + WS_CLOSE_WAIT;
    if (c->s->ops.ws_message)
        c->s->ops.ws_message(c, m, c->s->ud);
}

static void conn_read(svc *s, svc_conn *c)
{
    char tmp[16384];
    for (;;) {
        ssize_t n = recv(c->fd, tmp, sizeof tmp, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) {
            conn_kill(c);
            return;
        }
        if (c->ws) {
            if (ws_endpoint_feed(c->ws, tmp, (size_t)n)) {
                conn_kill(c);
                return;
            }
        } else if (buf_add(&c->in, tmp, (size_t)n) || c->in.len > MAX_HEAD + MAX_BODY) {
            conn_kill(c);
            return;
        }
    }
    if (c->ws)
        run_steps(s, c, svc_now_ms());
    else
        conn_try_parse(s, c);
}

static void conn_accept(svc *s)
{
    for (;;) {
        int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        svc_conn *c = calloc(1, sizeof *c);
        if (!c) {
            close(fd);
            continue;
        }
        c->s = s;
        c->fd = fd;
        c->req = -1;
        struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &e)) {
            close(fd);
            free(c);
            continue;
        }
        c->next = s->conns;
        if (s->conns)
            s->conns->prev = c;
        s->conns = c;
        s->connections++;
    }
}

static void conn_free(svc *s, svc_conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (s->ops.closed)
        s->ops.closed(c, s->ud);
    if (!c->dead) {
        epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    for (size_t i = c->head; i < c->nsteps; i++)
        free(c->steps[i].data);
    free(c->steps);
    ws_endpoint_free(c->ws);
    free(c->in.p);
    free(c->out.p);
    free(c);
}

static const int listen_tag = 0, wake_tag = 0;

static void *loop_main(void *arg)
{
    svc *s = arg;
    struct epoll_event evs[64];
    svc_lock(s);
    while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
        uint64_t now = svc_now_ms();
        int64_t timeout = -1;
        for (svc_conn *c = s->conns; c; c = c->next) {
            uint64_t due[3] = {c->head < c->nsteps ? c->steps[c->head].at : 0, c->timer_at,
                               c->close_deadline};
            for (int k = 0; k < 3; k++) {
                if (!due[k])
                    continue;
                int64_t t = due[k] <= now ? 0 : (int64_t)(due[k] - now);
                if (timeout < 0 || t < timeout)
                    timeout = t;
            }
        }
        svc_unlock(s);
        int n = epoll_wait(s->ep, evs, 64, timeout > 60000 ? 60000 : (int)timeout);
        svc_lock(s);
        for (int i = 0; i < n; i++) {
            void *ptr = evs[i].data.ptr;
            if (ptr == &listen_tag) {
                conn_accept(s);
            } else if (ptr == &wake_tag) {
                uint64_t v;
                ssize_t r = read(s->wake_fd, &v, sizeof v);
                (void)r;
            } else {
                svc_conn *c = ptr;
                if (c->dead)
                    continue;
                if (evs[i].events & EPOLLOUT)
                    conn_flush(s, c);
                if (!c->dead && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                    conn_read(s, c);
            }
        }
        now = svc_now_ms();
        for (svc_conn *c = s->conns; c; c = c->next) {
            if (c->dead)
                continue;
            if (c->timer_at && c->timer_at <= now) {
                c->timer_at = 0;
                if (s->ops.timer)
                    s->ops.timer(c, s->ud);
            }
            run_steps(s, c, now);
            if (!c->dead && c->close_deadline && c->close_deadline <= now)
                conn_kill(c); /* the client never answered our close (or never closed) */
        }
        for (svc_conn *c = s->conns, *nx; c; c = nx) {
            nx = c->next;
            if (c->dead)
                conn_free(s, c);
        }
    }
    svc_unlock(s);
    return NULL;
}

svc *svc_start(const svc_ops *ops, void *ud)
{
    svc *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->ops = *ops;
    s->ud = ud;
    s->listen_fd = s->ep = s->wake_fd = -1;
    pthread_mutex_init(&s->lock, NULL);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    int one = 1;
    s->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->listen_fd < 0 || setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
        bind(s->listen_fd, (struct sockaddr *)&sa, sizeof sa) || listen(s->listen_fd, 256) ||
        getsockname(s->listen_fd, (struct sockaddr *)&sa, &sl))
        goto fail;
    s->port = ntohs(sa.sin_port);
    s->ep = epoll_create1(EPOLL_CLOEXEC);
    s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->ep < 0 || s->wake_fd < 0)
        goto fail;
    struct epoll_event le = {.events = EPOLLIN, .data.ptr = (void *)&listen_tag};
    struct epoll_event we = {.events = EPOLLIN, .data.ptr = (void *)&wake_tag};
    if (epoll_ctl(s->ep, EPOLL_CTL_ADD, s->listen_fd, &le) ||
        epoll_ctl(s->ep, EPOLL_CTL_ADD, s->wake_fd, &we))
        goto fail;
    if (pthread_create(&s->thread, NULL, loop_main, s))
        goto fail;
    return s;
fail:
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    if (s->ep >= 0)
        close(s->ep);
    if (s->wake_fd >= 0)
        close(s->wake_fd);
    pthread_mutex_destroy(&s->lock);
    free(s);
    return NULL;
}

int svc_port(svc *s)
{
    return s ? s->port : -1;
}

void svc_stop(svc *s)
{
    if (!s)
        return;
    __atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
    uint64_t one = 1;
    ssize_t w = write(s->wake_fd, &one, sizeof one);
    (void)w;
    pthread_join(s->thread, NULL);
    while (s->conns)
        conn_free(s, s->conns);
    close(s->listen_fd);
    close(s->ep);
    close(s->wake_fd);
    for (size_t i = 0; i < s->nrecs; i++) {
        rec *e = &s->recs[i];
        for (size_t k = 0; k < e->nh; k++) {
            free(e->hdrs[k].name);
            free(e->hdrs[k].value);
        }
        free(e->hdrs);
        free(e->target);
        free(e->body);
        for (size_t k = 0; k < e->nws; k++)
            free(e->ws[k].data);
        free(e->ws);
        for (size_t k = 0; k < e->nsent; k++)
            free(e->sent[k].data);
        free(e->sent);
    }
    free(s->recs);
    pthread_mutex_destroy(&s->lock);
    free(s);
}
