/* Handing a webhook to the instance that holds its call (http/forward.h).
 *
 * The request goes as it came (method, path, query, body and headers, the
 * provider's signature among them: it is computed over the public URL,
 * which every instance shares) to the holder's server.instance_url; the
 * holder's answer (status, Content-Type, Retry-After, body) is this one's.
 * The holder not answering (connection refused: it died; or no URL to
 * reach it) is waited for: the lease is read again every
 * FORWARD_RETRY_MS, until it is given back or runs out (then the route
 * runs here and takes the call over from the store), for at most the
 * lease's length plus FORWARD_GRACE_MS; past that, 503 with Retry-After.
 *
 * A media WebSocket (Ccai_forward_media()) is not a request and answer:
 * its connection is relayed. A TCP connection to the holder's URL is
 * made here (non-blocking, at most FORWARD_CONNECT_MS); once connected,
 * the upgrade request as it came (its headers all, the Upgrade and
 * Sec-WebSocket-* among them, and the marker header) is what the relay
 * sends first, and the exchange's answer hands the socket to the client's
 * connection (http/server.c), which moves the bytes both ways. The holder
 * answers the upgrade itself (101, or its refusal). A connection refused
 * or timed out is waited for as above. */
#include "http/forward.h"

#include "http/router.h"
#include "http/wss.h"
#include "io/io.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FORWARD_RETRY_MS    250
#define FORWARD_GRACE_MS    2000
#define FORWARD_CONNECT_MS  1000
#define FORWARD_TOTAL_MS    20000 /* Twilio gives up on a webhook after 15 s */
#define FORWARD_MAX_HEADERS 64

typedef struct forward {
    ccai_http_exchange *x;
    char *call_id;
    Ccai_store *store;
    const Ccai_instance *inst;
    Ccai_forward_run_fn run;
    Ccai_http_req *req;
    Ccai_timer retry;
    uint64_t deadline; /* monotonic ms: the wait's end */
    char *headers[FORWARD_MAX_HEADERS + 3];
    bool media; /* relay the connection (Ccai_forward_media()) */
    int fd;     /* media: the connection to the holder being made, or -1 */
    bool told;  /* media: the holder's silence was logged */
    char holder[sizeof((Ccai_store_lease *)0)->url];
} forward;

static void forward_free(forward *f)
{
    if (f->req)
        Ccai_http_cancel(f->req);
    Ccai_timer_stop(f->x->ctx, &f->retry);
    if (f->fd >= 0) {
        Ccai_fd_forget(f->x->ctx, f->fd);
        close(f->fd);
    }
    for (size_t i = 0; f->headers[i]; i++)
        ccai_free(f->headers[i]);
    ccai_free(f->call_id);
    f->x->route_state = NULL;
    f->x->on_cancel = NULL;
    ccai_free(f);
}

static void on_cancel(ccai_http_exchange *x)
{
    forward_free(x->route_state);
}

/* Hop-by-hop headers, and those the client sets itself. */
static CCAI_MUST_CHECK bool header_passes(const char *name)
{
    static const char *const skip[] = {
        "host",   "content-length", "connection", "keep-alive",         "transfer-encoding",
        "expect", "upgrade",        "te",         CCAI_FORWARDED_HEADER};
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(skip); i++) {
        if (strcasecmp(name, skip[i]) == 0)
            return false;
    }
    return true;
}

static void on_done(Ccai_http_req *req, ccai_status st, long status, const char *errmsg, void *ud)
{
    forward *f = ud;
    ccai_http_exchange *x = f->x;
    f->req = NULL;
    if (st != CCAI_OK) {
        /* The holder is gone (or unreachable): wait for its lease. */
        Ccai_log(Ccai_router_logger(x->router), CCAI_LOG_WARN,
                 "http: %s: the call's holder does not answer (%s): waiting for its lease", x->path,
                 errmsg ? errmsg : ccai_status_str(st));
        Ccai_timer_start(x->ctx, &f->retry, FORWARD_RETRY_MS);
        return;
    }
    size_t len = 0;
    const char *body = Ccai_http_body(req, &len);
    const char *type = Ccai_http_header(req, "Content-Type");
    const char *retry_after = Ccai_http_header(req, "Retry-After");
    char *type_copy = type ? Ccai_strdup(type) : NULL;
    bool ok = (!type || type_copy) &&
              (!retry_after || Ccai_exchange_add_header(x, "Retry-After", retry_after));
    char *copy = ok ? Ccai_malloc(len + 1) : NULL;
    if (copy && len)
        memcpy(copy, body, len);
    forward_free(f);
    if (!copy) {
        ccai_free(type_copy);
        Ccai_exchange_error(x, 500, "out of memory", NULL);
        return;
    }
    Ccai_exchange_respond(x, (int)status, type_copy, copy, len);
    ccai_free(copy);
    ccai_free(type_copy);
}

/* Hand x to the holder at url. */
static CCAI_MUST_CHECK ccai_status send_to(forward *f, const char *url)
{
    ccai_http_exchange *x = f->x;
    char *target =
        Ccai_asprintf("%s%s%s%s", url, x->path, x->query ? "?" : "", x->query ? x->query : "");
    if (!target)
        return CCAI_ERR_NOMEM;
    Ccai_http_opts o = {
        .method = x->method,
        .url = target,
        .headers = (const char *const *)f->headers,
        .body = x->body,
        .body_len = x->body_len,
        .body_borrowed = true, /* x lives until it is answered */
        .connect_timeout_ms = FORWARD_CONNECT_MS,
        .total_timeout_ms = FORWARD_TOTAL_MS,
        .on_done = on_done,
        .ud = f,
    };
    ccai_status st = Ccai_http_start(x->ctx, &o, &f->req);
    ccai_free(target);
    return st;
}

/* The length of id without a worker's "/w<digits>" suffix (ccai-server
 * names its workers "<instance>/w<i>"), or 0 when it has none. */
static size_t worker_base(const char *id)
{
    const char *w = strrchr(id, '/');
    if (!w || w[1] != 'w' || !w[2] || strspn(w + 2, "0123456789") != strlen(w + 2))
        return 0;
    return (size_t)(w - id);
}

/* Whether the holder's URL leads to it from here. A worker with no
 * server.instance_url is reached at its own loopback socket: only from
 * the workers of its own server (the same name before "/w<i>"); another
 * machine would reach one of its own processes there. Any other URL is
 * what the operator configured. */
static CCAI_MUST_CHECK bool reachable(const Ccai_instance *inst, const Ccai_store_lease *l)
{
    const char *h = strstr(l->url, "://");
    h = h ? h + 3 : l->url;
    size_t theirs = worker_base(l->owner);
    if (!theirs || (strncmp(h, "127.", 4) != 0 && strncmp(h, "[::1]", 5) != 0 &&
                    strncmp(h, "localhost", 9) != 0))
        return true;
    return worker_base(inst->id) == theirs && strncmp(inst->id, l->owner, theirs) == 0;
}

/* Media WebSockets ------------------------------------------------------------ */

/* The holder did not take the connection: wait for its lease (decide()). */
static void media_failed(forward *f, const char *why)
{
    ccai_http_exchange *x = f->x;
    if (f->fd >= 0) {
        Ccai_fd_forget(x->ctx, f->fd);
        close(f->fd);
        f->fd = -1;
    }
    if (!f->told) /* once, not at each try */
        Ccai_log(Ccai_router_logger(x->router), CCAI_LOG_WARN,
                 "http: %s: the call's holder at %s does not answer (%s): waiting for its lease",
                 x->path, f->holder, why);
    f->told = true;
    Ccai_timer_start(x->ctx, &f->retry, FORWARD_RETRY_MS);
}

/* The path as a request target: x->path is decoded, so every byte that
 * is not plainly a path's is encoded again (a decoded CR, LF or space
 * must not reach the holder's request line). */
static bool append_path(Ccai_buf *b, const char *path)
{
    static const char hex[] = "0123456789ABCDEF";
    bool ok = true;
    for (const unsigned char *p = (const unsigned char *)path; ok && *p; p++) {
        if (Ccai_is_alpha(*p) || Ccai_is_digit(*p) || strchr("/-._~!$&'()*+,;=:@", *p)) {
            ok = Ccai_buf_append(b, (const char *)p, 1);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            ok = Ccai_buf_append(b, e, 3);
        }
    }
    return ok;
}

/* The request as it came (a WebSocket upgrade without a body:
 * relayable_upgrade()), with the marker header: what the relay sends
 * first. NULL on NOMEM; *ret_len its length. */
static char *media_request(forward *f, const char *prefix, size_t *ret_len)
{
    ccai_http_exchange *x = f->x;
    Ccai_buf b = {0};
    bool ok =
        Ccai_buf_printf(&b, "%s %s", x->method, prefix) && append_path(&b, x->path) &&
        Ccai_buf_printf(&b, "%s%s HTTP/1.1\r\n", x->query ? "?" : "", x->query ? x->query : "");
    for (size_t i = 0; ok && i < x->n_req_headers; i++) {
        if (Ccai_strcasecmp(x->req_headers[i].name, CCAI_FORWARDED_HEADER) != 0)
            ok = Ccai_buf_printf(&b, "%s: %s\r\n", x->req_headers[i].name, x->req_headers[i].value);
    }
    ok = ok && Ccai_buf_printf(&b, "%s: %s\r\n\r\n", CCAI_FORWARDED_HEADER, f->inst->id);
    if (!ok) {
        Ccai_buf_free(&b);
        return NULL;
    }
    *ret_len = b.len;
    return Ccai_buf_steal(&b);
}

static void on_media_connected(ccai_ctx *ctx, int fd, int events, void *ud)
{
    CCAI_UNUSED(events);
    forward *f = ud;
    ccai_http_exchange *x = f->x;
    int err = 0;
    socklen_t el = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0)
        err = errno;
    if (err) {
        media_failed(f, strerror(err));
        return;
    }
    Ccai_fd_forget(ctx, fd);
    /* The URL's path (a prefix before ours), as send_to() keeps it. */
    const char *auth = strstr(f->holder, "://") + 3, *slash = strchr(auth, '/');
    size_t len = 0;
    char *first = media_request(f, slash ? slash : "", &len);
    if (!first) {
        forward_free(f);
        Ccai_exchange_error(x, 500, "out of memory", NULL);
        return;
    }
    Ccai_log(Ccai_router_logger(x->router), CCAI_LOG_INFO,
             "http: %s: the media connection of call %s is relayed to its holder at %s", x->path,
             f->call_id, f->holder);
    Ccai_splice sp = {.fd = fd, .first = first, .first_len = len};
    f->fd = -1; /* the connection's now, or closed below */
    forward_free(f);
    x->splice = &sp;
    /* The status is the log's and the counters': the holder answers. */
    Ccai_exchange_respond(x, 101, NULL, NULL, 0);
    if (!sp.taken)
        close(fd);
    ccai_free(first);
}

/* Connect to the holder at url (http://<numeric address or
 * localhost>[:port][/prefix]): CCAI_OK when under way (said on failure). */
static CCAI_MUST_CHECK ccai_status media_connect(forward *f, const char *url)
{
    ccai_http_exchange *x = f->x;
    snprintf(f->holder, sizeof f->holder, "%s", url);
    if (strncmp(url, "http://", 7) != 0) {
        media_failed(f, "a media connection is relayed to an http:// instance URL only");
        return CCAI_OK;
    }
    const char *a = url + 7;
    size_t al = strcspn(a, "/");
    char host[64] = "", port[8] = "80";
    const char *colon = NULL;
    if (a[0] == '[') {
        const char *close_b = memchr(a, ']', al);
        if (close_b && (size_t)(close_b - a - 1) < sizeof host) {
            memcpy(host, a + 1, (size_t)(close_b - a - 1));
            colon = close_b + 1 < a + al && close_b[1] == ':' ? close_b + 1 : NULL;
        }
    } else {
        colon = memchr(a, ':', al);
        size_t hl = colon ? (size_t)(colon - a) : al;
        if (hl < sizeof host)
            memcpy(host, a, hl);
    }
    if (colon) {
        size_t pl = (size_t)(a + al - colon - 1);
        if (pl && pl < sizeof port) {
            memcpy(port, colon + 1, pl);
            port[pl] = '\0';
        }
    }
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    /* Numeric only: resolving a name would block the loop. */
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    if (!host[0] || getaddrinfo(host, port, &hints, &ai) != 0 || !ai) {
        media_failed(f, "a media connection is relayed to a numeric address only");
        return CCAI_OK;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int rc = fd < 0 ? -1 : connect(fd, ai->ai_addr, ai->ai_addrlen);
    int err = errno;
    freeaddrinfo(ai);
    if (fd >= 0 && (rc == 0 || err == EINPROGRESS)) {
        f->fd = fd;
        if (Ccai_fd_watch(x->ctx, fd, CCAI_POLL_OUT, on_media_connected, f) == CCAI_OK) {
            Ccai_timer_start(x->ctx, &f->retry, FORWARD_CONNECT_MS);
            return CCAI_OK;
        }
        err = ENOMEM;
    } else if (fd >= 0) {
        close(fd);
    }
    media_failed(f, strerror(err));
    return CCAI_OK;
}

/* Where the call stands: run here (its lease is free, run out, or ours),
 * hand it on, or wait. */
static void decide(forward *f)
{
    ccai_http_exchange *x = f->x;
    Ccai_store_lease l = {0};
    ccai_status st = Ccai_store_lease_get(f->store, f->call_id, &l);
    if (st == CCAI_ERR_NOT_FOUND ||
        (st == CCAI_OK && (l.expires_at <= Ccai_wall_ms() || strcmp(l.owner, f->inst->id) == 0))) {
        Ccai_forward_run_fn run = f->run;
        forward_free(f);
        run(x);
        return;
    }
    if (Ccai_ctx_now(x->ctx) >= f->deadline) {
        forward_free(f);
        Ccai_exchange_unavailable(x, CCAI_ERR_BUSY, "the call's instance does not answer");
        return;
    }
    /* A store that cannot read, or a holder without a URL: read again
     * later; else hand it on. */
    if (st == CCAI_OK && l.url[0] && reachable(f->inst, &l) &&
        (f->media ? media_connect(f, l.url) : send_to(f, l.url)) == CCAI_OK)
        return;
    Ccai_timer_start(x->ctx, &f->retry, FORWARD_RETRY_MS);
}

static void on_retry(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    forward *f = ud;
    if (f->fd >= 0) {
        media_failed(f, "no connection in time");
        return;
    }
    decide(f);
}

static CCAI_MUST_CHECK bool forward_any(ccai_http_exchange *x, const char *call_id,
                                        Ccai_store *store, const Ccai_instance *inst,
                                        Ccai_forward_run_fn run, bool media)
{
    if (Ccai_exchange_header(x, CCAI_FORWARDED_HEADER))
        return false; /* handed here by another instance: this one serves it */
    char *id = call_id ? Ccai_strdup(call_id) : Ccai_exchange_query(x, "call");
    if (!id)
        return false;
    Ccai_store_lease l = {0};
    ccai_status st = Ccai_store_lease_get(store, id, &l);
    if (st != CCAI_OK || l.expires_at <= Ccai_wall_ms() || strcmp(l.owner, inst->id) == 0) {
        ccai_free(id);
        return false; /* free, run out, ours (or unreadable: the route says) */
    }
    forward *f = Ccai_calloc(1, sizeof *f);
    if (!f) {
        ccai_free(id);
        Ccai_exchange_error(x, 500, "out of memory", NULL);
        return true;
    }
    f->x = x;
    f->call_id = id;
    f->store = store;
    f->inst = inst;
    f->run = run;
    f->media = media;
    f->fd = -1;
    f->deadline = Ccai_ctx_now(x->ctx) + (uint64_t)inst->lease_ms + FORWARD_GRACE_MS;
    Ccai_timer_init(&f->retry, on_retry, f);
    size_t n = 0;
    bool ok = true;
    for (size_t i = 0; ok && !media && i < x->n_req_headers && n < FORWARD_MAX_HEADERS; i++) {
        if (!header_passes(x->req_headers[i].name))
            continue;
        ok = (f->headers[n++] =
                  Ccai_asprintf("%s: %s", x->req_headers[i].name, x->req_headers[i].value)) != NULL;
    }
    if (ok && !media)
        ok = (f->headers[n++] = Ccai_asprintf("%s: %s", CCAI_FORWARDED_HEADER, inst->id)) != NULL;
    if (ok && !media)
        ok = (f->headers[n++] = Ccai_strdup("Expect:")) != NULL;
    x->route_state = f;
    x->on_cancel = on_cancel;
    if (!ok) {
        forward_free(f);
        Ccai_exchange_error(x, 500, "out of memory", NULL);
        return true;
    }
    decide(f);
    return true;
}

bool Ccai_forward_call(ccai_http_exchange *x, const char *call_id, Ccai_store *store,
                       const Ccai_instance *inst, Ccai_forward_run_fn run)
{
    return forward_any(x, call_id, store, inst, run, false);
}

/* Only a WebSocket upgrade as RFC 6455 has it, with no body, is relayed.
 * Anything else on a media route is answered here: relayed, a plain GET
 * would give its client a keep-alive HTTP connection into the holder's
 * own socket (from a loopback address), and a body's framing headers
 * would be the client's to choose. The holder answers a refused upgrade
 * and closes (an upgrade request is never kept alive). */
static bool relayable_upgrade(const ccai_http_exchange *x)
{
    if (!x->can_upgrade || x->body_len)
        return false;
    for (size_t i = 0; i < x->n_req_headers; i++) {
        const char *name = x->req_headers[i].name;
        if (Ccai_strcasecmp(name, "content-length") == 0 ||
            Ccai_strcasecmp(name, "transfer-encoding") == 0)
            return false;
    }
    Ccai_wss_handshake_result r;
    Ccai_wss_handshake(x->method, x->req_headers, x->n_req_headers, NULL, &r);
    return r.status == 0;
}

bool Ccai_forward_media(ccai_http_exchange *x, const char *call_id, Ccai_store *store,
                        const Ccai_instance *inst, Ccai_forward_run_fn run)
{
    return relayable_upgrade(x) && forward_any(x, call_id, store, inst, run, true);
}
