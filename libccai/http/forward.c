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
 * lease's length plus FORWARD_GRACE_MS; past that, 503 with Retry-After. */
#include "http/forward.h"

#include "http/router.h"
#include "io/io.h"

#include <stdio.h>
#include <string.h>

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
} forward;

static void forward_free(forward *f)
{
    if (f->req)
        Ccai_http_cancel(f->req);
    Ccai_timer_stop(f->x->ctx, &f->retry);
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
    if (st == CCAI_OK && l.url[0] && reachable(f->inst, &l) && send_to(f, l.url) == CCAI_OK)
        return;
    Ccai_timer_start(x->ctx, &f->retry, FORWARD_RETRY_MS);
}

static void on_retry(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    decide(ud);
}

bool Ccai_forward_call(ccai_http_exchange *x, const char *call_id, Ccai_store *store,
                       const Ccai_instance *inst, Ccai_forward_run_fn run)
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
    f->deadline = Ccai_ctx_now(x->ctx) + (uint64_t)inst->lease_ms + FORWARD_GRACE_MS;
    Ccai_timer_init(&f->retry, on_retry, f);
    size_t n = 0;
    bool ok = true;
    for (size_t i = 0; ok && i < x->n_req_headers && n < FORWARD_MAX_HEADERS; i++) {
        if (!header_passes(x->req_headers[i].name))
            continue;
        ok = (f->headers[n++] =
                  Ccai_asprintf("%s: %s", x->req_headers[i].name, x->req_headers[i].value)) != NULL;
    }
    if (ok)
        ok = (f->headers[n++] = Ccai_asprintf("%s: %s", CCAI_FORWARDED_HEADER, inst->id)) != NULL;
    if (ok)
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
