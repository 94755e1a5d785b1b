/* WebSocket glue on wslay for the test stand-ins: see ws.h. */
#include "support/ws.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#include <wslay/wslay.h>

#define DEFAULT_MAX_MSG (16u * 1024u * 1024u)
#define MAX_RESPONSE    (64 * 1024)
#define WS_GUID         "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

typedef struct bytes {
    uint8_t *p;
    size_t len, cap, off; /* off: consumed prefix */
} bytes;

static int bytes_add(bytes *b, const void *d, size_t n)
{
    if (b->off && b->off == b->len)
        b->off = b->len = 0;
    if (b->len + n + 1 > b->cap) {
        if (b->off) { /* compact first */
            memmove(b->p, b->p + b->off, b->len - b->off);
            b->len -= b->off;
            b->off = 0;
        }
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p)
            return -1;
        b->p = p;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, d, n);
    b->len += n;
    b->p[b->len] = 0;
    return 0;
}

void ws_msg_clear(ws_msg *m)
{
    if (!m)
        return;
    free(m->data);
    memset(m, 0, sizeof *m);
}

void ws_accept_key(const char *key, char out[29])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char in[128];
    int n = snprintf(in, sizeof in, "%s%s", key, WS_GUID);
    if (n < 0 || (size_t)n >= sizeof in ||
        EVP_Digest(in, (size_t)n, md, &mdlen, EVP_sha1(), NULL) != 1 || mdlen != 20) {
        out[0] = '\0';
        return;
    }
    EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen);
    out[28] = '\0';
}

void ws_new_key(char out[25])
{
    unsigned char r[16];
    if (RAND_bytes(r, sizeof r) != 1) {
        for (size_t i = 0; i < sizeof r; i++)
            r[i] = (unsigned char)rand();
    }
    EVP_EncodeBlock((unsigned char *)out, r, sizeof r);
    out[24] = '\0';
}

int ws_key_valid(const char *v)
{
    if (!v || strlen(v) != 24 || strcmp(v + 22, "=="))
        return 0;
    for (size_t i = 0; i < 22; i++) {
        char c = v[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/'))
            return 0;
    }
    return 1;
}

/* ---- endpoint ---- */

typedef struct frag_src {
    uint8_t *data;
    size_t len, off, frag;
    struct frag_src *next;
} frag_src;

struct ws_endpoint {
    wslay_event_context_ptr ctx;
    bytes in, out;
    ws_on_msg cb;
    void *ud;
    frag_src *frags;
    int failed;
};

static ssize_t ep_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *ud)
{
    (void)flags;
    ws_endpoint *ep = ud;
    size_t avail = ep->in.len - ep->in.off;
    if (!avail) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    size_t n = avail < len ? avail : len;
    memcpy(buf, ep->in.p + ep->in.off, n);
    ep->in.off += n;
    return (ssize_t)n;
}

static ssize_t ep_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *ud)
{
    (void)flags;
    ws_endpoint *ep = ud;
    if (bytes_add(&ep->out, data, len)) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return (ssize_t)len;
}

static int ep_genmask(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *ud)
{
    (void)ctx;
    (void)ud;
    if (RAND_bytes(buf, (int)len) != 1) {
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)rand();
    }
    return 0;
}

static void ep_on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *a,
                      void *ud)
{
    (void)ctx;
    ws_endpoint *ep = ud;
    ws_msg m = {0};
    m.opcode = a->opcode;
    m.rsv = a->rsv;
    const uint8_t *d = a->msg;
    size_t n = a->msg_length;
    if (a->opcode == WSLAY_CONNECTION_CLOSE) {
        m.close_code = a->status_code ? a->status_code : 1005;
        if (n >= 2) { /* the payload starts with the status code */
            d += 2;
            n -= 2;
        } else {
            n = 0;
        }
    }
    m.data = malloc(n + 1);
    if (!m.data)
        return;
    if (n)
        memcpy(m.data, d, n);
    m.data[n] = 0;
    m.len = n;
    if (ep->cb)
        ep->cb(ep, &m, ep->ud);
    free(m.data);
}

ws_endpoint *ws_endpoint_new(int is_client, size_t max_msg, ws_on_msg cb, void *ud)
{
    ws_endpoint *ep = calloc(1, sizeof *ep);
    if (!ep)
        return NULL;
    struct wslay_event_callbacks cbs = {
        .recv_callback = ep_recv,
        .send_callback = ep_send,
        .genmask_callback = is_client ? ep_genmask : NULL,
        .on_msg_recv_callback = ep_on_msg,
    };
    int rc = is_client ? wslay_event_context_client_init(&ep->ctx, &cbs, ep)
                       : wslay_event_context_server_init(&ep->ctx, &cbs, ep);
    if (rc) {
        free(ep);
        return NULL;
    }
    wslay_event_config_set_max_recv_msg_length(ep->ctx, max_msg ? max_msg : DEFAULT_MAX_MSG);
    ep->cb = cb;
    ep->ud = ud;
    return ep;
}

void ws_endpoint_free(ws_endpoint *ep)
{
    if (!ep)
        return;
    wslay_event_context_free(ep->ctx);
    while (ep->frags) {
        frag_src *f = ep->frags;
        ep->frags = f->next;
        free(f->data);
        free(f);
    }
    free(ep->in.p);
    free(ep->out.p);
    free(ep);
}

static int ep_pump(ws_endpoint *ep)
{
    if (ep->failed)
        return -1;
    if (wslay_event_want_write(ep->ctx) && wslay_event_send(ep->ctx)) {
        ep->failed = 1;
        return -1;
    }
    return 0;
}

int ws_endpoint_feed(ws_endpoint *ep, const void *data, size_t len)
{
    if (!ep || ep->failed)
        return -1;
    if (len && bytes_add(&ep->in, data, len))
        return -1;
    if (wslay_event_want_read(ep->ctx) && wslay_event_recv(ep->ctx)) {
        ep->failed = 1;
        return -1;
    }
    if (!wslay_event_want_read(ep->ctx))
        ep->in.off = ep->in.len; /* discard what follows a close or an error */
    return ep_pump(ep);
}

void ws_endpoint_out(ws_endpoint *ep, const uint8_t **p, size_t *n)
{
    *p = ep->out.p ? ep->out.p + ep->out.off : NULL;
    *n = ep->out.len - ep->out.off;
}

void ws_endpoint_consume(ws_endpoint *ep, size_t n)
{
    ep->out.off += n;
    if (ep->out.off >= ep->out.len)
        ep->out.off = ep->out.len = 0;
}

static int queue_msg(ws_endpoint *ep, int opcode, const void *data, size_t len, uint8_t rsv)
{
    if (!ep || ep->failed)
        return -1;
    struct wslay_event_msg m = {(uint8_t)opcode, data, len};
    int rc = rsv ? wslay_event_queue_msg_ex(ep->ctx, &m, rsv) : wslay_event_queue_msg(ep->ctx, &m);
    if (rc)
        return -1;
    return ep_pump(ep);
}

int ws_endpoint_send(ws_endpoint *ep, int opcode, const void *data, size_t len)
{
    return queue_msg(ep, opcode, data, len, WSLAY_RSV_NONE);
}

int ws_endpoint_send_rsv1(ws_endpoint *ep, int opcode, const void *data, size_t len)
{
    if (!ep)
        return -1;
    wslay_event_config_set_allowed_rsv_bits(ep->ctx, WSLAY_RSV1_BIT);
    int rc = queue_msg(ep, opcode, data, len, WSLAY_RSV1_BIT);
    wslay_event_config_set_allowed_rsv_bits(ep->ctx, WSLAY_RSV_NONE);
    return rc;
}

static ssize_t frag_read(wslay_event_context_ptr ctx, uint8_t *buf, size_t len,
                         const union wslay_event_msg_source *source, int *eof, void *ud)
{
    (void)ctx;
    (void)ud;
    frag_src *f = source->data;
    size_t n = f->len - f->off;
    if (n > f->frag)
        n = f->frag;
    if (n > len)
        n = len;
    memcpy(buf, f->data + f->off, n);
    f->off += n;
    if (f->off == f->len)
        *eof = 1;
    return (ssize_t)n;
}

int ws_endpoint_send_fragmented(ws_endpoint *ep, int opcode, const void *data, size_t len,
                                size_t frag)
{
    if (!ep || ep->failed || !frag || (opcode != WS_TEXT && opcode != WS_BINARY))
        return -1;
    frag_src *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->data = malloc(len ? len : 1);
    if (!f->data) {
        free(f);
        return -1;
    }
    if (len)
        memcpy(f->data, data, len);
    f->len = len;
    f->frag = frag;
    f->next = ep->frags;
    ep->frags = f;
    struct wslay_event_fragmented_msg m = {0};
    m.opcode = (uint8_t)opcode;
    m.source.data = f;
    m.read_callback = frag_read;
    if (wslay_event_queue_fragmented_msg(ep->ctx, &m))
        return -1;
    return ep_pump(ep);
}

int ws_endpoint_close(ws_endpoint *ep, int code, const char *reason)
{
    if (!ep || ep->failed)
        return -1;
    size_t n = reason ? strlen(reason) : 0;
    if (wslay_event_queue_close(ep->ctx, (uint16_t)code, (const uint8_t *)reason, n))
        return -1;
    return ep_pump(ep);
}

int ws_endpoint_close_sent(ws_endpoint *ep)
{
    return ep && wslay_event_get_close_sent(ep->ctx);
}

int ws_endpoint_close_received(ws_endpoint *ep)
{
    return ep && wslay_event_get_close_received(ep->ctx);
}

int ws_endpoint_finished(ws_endpoint *ep)
{
    if (!ep || ep->failed)
        return 1;
    return !wslay_event_want_read(ep->ctx) && !wslay_event_want_write(ep->ctx) &&
           ep->out.len == ep->out.off;
}

/* ---- client ---- */

typedef struct msgq {
    ws_msg *v;
    size_t n, cap, head;
} msgq;

struct ws_client {
    int fd;
    int status;
    int eof, closed_delivered;
    char error[256];
    char *head, *body;
    ws_endpoint *ep;
    msgq q;
};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void client_on_msg(ws_endpoint *ep, const ws_msg *m, void *ud)
{
    (void)ep;
    ws_client *c = ud;
    if (c->q.head && c->q.head == c->q.n)
        c->q.head = c->q.n = 0;
    if (c->q.n == c->q.cap) {
        size_t cap = c->q.cap ? c->q.cap * 2 : 16;
        ws_msg *v = realloc(c->q.v, cap * sizeof *v);
        if (!v)
            return;
        c->q.v = v;
        c->q.cap = cap;
    }
    ws_msg copy = *m;
    copy.data = malloc(m->len + 1);
    if (!copy.data)
        return;
    memcpy(copy.data, m->data, m->len + 1);
    c->q.v[c->q.n++] = copy;
}

static int wait_fd(int fd, short ev, uint64_t deadline)
{
    for (;;) {
        uint64_t now = mono_ms();
        int t = deadline > now ? (int)(deadline - now) : 0;
        struct pollfd p = {fd, ev, 0};
        int r = poll(&p, 1, t);
        if (r < 0 && errno == EINTR)
            continue;
        return r;
    }
}

static int write_all_deadline(int fd, const void *data, size_t n, uint64_t deadline)
{
    const char *p = data;
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (wait_fd(fd, POLLOUT, deadline) <= 0)
                return -1;
            continue;
        }
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static char *find_header(const char *head, const char *name)
{
    size_t nl = strlen(name);
    const char *line = strstr(head, "\r\n");
    while (line) {
        line += 2;
        const char *end = strstr(line, "\r\n");
        if (!end || end == line)
            break;
        if ((size_t)(end - line) > nl && line[nl] == ':' && !strncasecmp(line, name, nl)) {
            const char *v = line + nl + 1;
            while (v < end && (*v == ' ' || *v == '\t'))
                v++;
            const char *e = end;
            while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
                e--;
            char *out = malloc((size_t)(e - v) + 1);
            if (out) {
                memcpy(out, v, (size_t)(e - v));
                out[e - v] = '\0';
            }
            return out;
        }
        line = end;
    }
    return NULL;
}

static void set_error(ws_client *c, const char *what)
{
    snprintf(c->error, sizeof c->error, "%s", what);
    c->status = -1;
}

ws_client *ws_client_connect(const ws_client_opts *o)
{
    if (!o || o->port <= 0)
        return NULL;
    ws_client *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->fd = -1;
    const char *host = o->host ? o->host : "127.0.0.1";
    uint64_t deadline = mono_ms() + (uint64_t)(o->timeout_ms > 0 ? o->timeout_ms : 5000);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        free(c);
        return NULL;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)o->port);
    if (inet_pton(AF_INET, strcmp(host, "localhost") ? host : "127.0.0.1", &sa.sin_addr) != 1) {
        set_error(c, "host is not an IPv4 address");
        return c;
    }
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) && errno != EINPROGRESS) {
        set_error(c, "connect failed");
        return c;
    }
    if (wait_fd(c->fd, POLLOUT, deadline) <= 0) {
        set_error(c, "connect timed out");
        return c;
    }
    int err = 0;
    socklen_t el = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
    if (err) {
        set_error(c, "connection refused");
        return c;
    }

    char key[25], expect[29];
    ws_new_key(key);
    ws_accept_key(key, expect);
    bytes req = {0};
    char line[1024];
    snprintf(line, sizeof line,
             "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n",
             o->path ? o->path : "/", host, o->port, key);
    int bad = bytes_add(&req, line, strlen(line));
    if (o->protocols) {
        snprintf(line, sizeof line, "Sec-WebSocket-Protocol: %s\r\n", o->protocols);
        bad |= bytes_add(&req, line, strlen(line));
    }
    for (const char *const *h = o->headers; h && *h; h++) {
        bad |= bytes_add(&req, *h, strlen(*h));
        bad |= bytes_add(&req, "\r\n", 2);
    }
    bad |= bytes_add(&req, "\r\n", 2);
    if (bad || write_all_deadline(c->fd, req.p, req.len, deadline)) {
        free(req.p);
        set_error(c, "could not send the upgrade request");
        return c;
    }
    free(req.p);

    /* The response head, then whatever follows it. */
    bytes in = {0};
    char *end = NULL;
    while (!end) {
        if (wait_fd(c->fd, POLLIN, deadline) <= 0) {
            free(in.p);
            set_error(c, "no answer to the upgrade request");
            return c;
        }
        char tmp[4096];
        ssize_t n = recv(c->fd, tmp, sizeof tmp, 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0 || bytes_add(&in, tmp, (size_t)n) || in.len > MAX_RESPONSE) {
            free(in.p);
            set_error(c, n == 0 ? "connection closed before the upgrade answer"
                                : "upgrade answer unreadable");
            return c;
        }
        end = strstr((char *)in.p, "\r\n\r\n");
    }
    size_t hlen = (size_t)(end - (char *)in.p) + 2;
    c->head = malloc(hlen + 1);
    if (!c->head) {
        free(in.p);
        set_error(c, "out of memory");
        return c;
    }
    memcpy(c->head, in.p, hlen);
    c->head[hlen] = '\0';
    int status = 0;
    if (sscanf(c->head, "HTTP/1.%*d %d", &status) != 1) {
        free(in.p);
        set_error(c, "not an HTTP answer");
        return c;
    }
    size_t rest = in.len - (hlen + 2);
    const uint8_t *after = in.p + hlen + 2;
    if (status != 101) {
        /* A refusal: keep its body (Content-Length, or until the close). */
        char *cl = find_header(c->head, "Content-Length");
        long want = cl ? strtol(cl, NULL, 10) : -1;
        free(cl);
        bytes body = {0};
        bytes_add(&body, after, rest);
        while (want < 0 || (long)body.len < want) {
            if (wait_fd(c->fd, POLLIN, deadline) <= 0)
                break;
            char tmp[4096];
            ssize_t n = recv(c->fd, tmp, sizeof tmp, 0);
            if (n < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (n <= 0 || body.len > MAX_RESPONSE || bytes_add(&body, tmp, (size_t)n))
                break;
        }
        c->body = body.p ? (char *)body.p : strdup("");
        c->status = status;
        free(in.p);
        return c;
    }
    char *acc = find_header(c->head, "Sec-WebSocket-Accept");
    char *up = find_header(c->head, "Upgrade");
    int ok = acc && !strcmp(acc, expect) && up && !strcasecmp(up, "websocket");
    free(acc);
    free(up);
    if (!ok) {
        free(in.p);
        set_error(c, "101 without a valid Sec-WebSocket-Accept / Upgrade");
        return c;
    }
    c->ep = ws_endpoint_new(1, o->max_msg, client_on_msg, c);
    if (!c->ep) {
        free(in.p);
        set_error(c, "out of memory");
        return c;
    }
    c->status = 101;
    if (rest)
        ws_endpoint_feed(c->ep, after, rest);
    free(in.p);
    return c;
}

int ws_client_status(ws_client *c)
{
    return c ? c->status : -1;
}

const char *ws_client_error(ws_client *c)
{
    return c ? c->error : "no client";
}

const char *ws_client_response_head(ws_client *c)
{
    return c && c->head ? c->head : "";
}

const char *ws_client_response_body(ws_client *c)
{
    return c && c->body ? c->body : "";
}

char *ws_client_response_header(ws_client *c, const char *name)
{
    return c && c->head ? find_header(c->head, name) : NULL;
}

int ws_client_fd(ws_client *c)
{
    return c ? c->fd : -1;
}

int ws_client_eof(ws_client *c)
{
    return c ? c->eof : 1;
}

static int client_flush(ws_client *c)
{
    const uint8_t *p;
    size_t n;
    ws_endpoint_out(c->ep, &p, &n);
    while (n) {
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (w <= 0)
            return -1;
        ws_endpoint_consume(c->ep, (size_t)w);
        ws_endpoint_out(c->ep, &p, &n);
    }
    return 0;
}

int ws_client_want_write(ws_client *c)
{
    if (!c || !c->ep)
        return 0;
    const uint8_t *p;
    size_t n;
    ws_endpoint_out(c->ep, &p, &n);
    return n > 0;
}

int ws_client_pump(ws_client *c)
{
    if (!c || !c->ep)
        return -1;
    if (!c->eof) {
        for (;;) {
            char tmp[16384];
            ssize_t n = recv(c->fd, tmp, sizeof tmp, 0);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                break;
            if (n <= 0) {
                c->eof = 1;
                break;
            }
            if (ws_endpoint_feed(c->ep, tmp, (size_t)n))
                return -1;
        }
    }
    if (client_flush(c))
        return -1;
    return c->eof ? -1 : 0;
}

/* Sends what is queued, waiting up to 5 s for the socket. */
static int client_send_now(ws_client *c)
{
    uint64_t deadline = mono_ms() + 5000;
    while (ws_client_want_write(c)) {
        if (client_flush(c))
            return -1;
        if (ws_client_want_write(c) && wait_fd(c->fd, POLLOUT, deadline) <= 0)
            return -1;
    }
    return 0;
}

int ws_client_send(ws_client *c, int opcode, const void *data, size_t len)
{
    if (!c || !c->ep || ws_endpoint_send(c->ep, opcode, data, len))
        return -1;
    return client_send_now(c);
}

int ws_client_send_text(ws_client *c, const char *text)
{
    return ws_client_send(c, WS_TEXT, text, strlen(text));
}

int ws_client_send_fragmented(ws_client *c, int opcode, const void *data, size_t len, size_t frag)
{
    if (!c || !c->ep || ws_endpoint_send_fragmented(c->ep, opcode, data, len, frag))
        return -1;
    return client_send_now(c);
}

int ws_client_close(ws_client *c, int code, const char *reason)
{
    if (!c || !c->ep || ws_endpoint_close(c->ep, code, reason))
        return -1;
    return client_send_now(c);
}

int ws_client_write_raw(ws_client *c, const void *data, size_t len)
{
    if (!c || c->fd < 0)
        return -1;
    return write_all_deadline(c->fd, data, len, mono_ms() + 5000);
}

int ws_client_recv(ws_client *c, int timeout_ms, ws_msg *m)
{
    if (!c || !c->ep || !m)
        return -1;
    memset(m, 0, sizeof *m);
    uint64_t deadline = mono_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        if (c->q.head < c->q.n) {
            *m = c->q.v[c->q.head++];
            if (m->opcode == WS_CLOSE)
                c->closed_delivered = 1;
            return 1;
        }
        if (c->eof || c->closed_delivered || ws_endpoint_finished(c->ep))
            return -1;
        short ev = POLLIN | (ws_client_want_write(c) ? POLLOUT : 0);
        int r = wait_fd(c->fd, ev, deadline);
        if (r < 0)
            return -1;
        if (r == 0)
            return 0;
        if (ws_client_pump(c) && c->q.head == c->q.n)
            return -1;
    }
}

void ws_client_free(ws_client *c)
{
    if (!c)
        return;
    if (c->fd >= 0)
        close(c->fd);
    ws_endpoint_free(c->ep);
    for (size_t i = c->q.head; i < c->q.n; i++)
        free(c->q.v[i].data);
    free(c->q.v);
    free(c->head);
    free(c->body);
    free(c);
}
