/* ccai_ctx_http(): copy the request, find its route, check who asks, answer
 * (see the header). */
#include "http/router.h"

#include "config/config.h"
#include "http/auth.h"
#include "http/forward.h"
#include "io/io.h"

#include <stdio.h>

#include <string.h>

/* Routes are added by part: a table and its state. */
typedef struct route_set {
    const Ccai_route *routes;
    size_t n;
    void *ud;
} route_set;

struct Ccai_router {
    Ccai_router_env env;
    route_set *sets;
    size_t n_sets;
    struct Ccai_http_held *held; /* requests waiting for a locked store */
    Ccai_instance inst;          /* this instance, for the calls' leases */
};

Ccai_metrics *Ccai_router_metrics(const Ccai_router *r)
{
    return r->env.metrics;
}

const ccai_config *Ccai_router_config(const Ccai_router *r)
{
    return r->env.cfg;
}

const Ccai_logger *Ccai_router_logger(const Ccai_router *r)
{
    return r->env.log;
}

ccai_status Ccai_router_new(const Ccai_router_env *env, Ccai_router **ret)
{
    static const struct {
        const char *name;
        const char *help;
    } fams[] = {
        {"ccai_http_responses_total", "HTTP responses by status code"},
        {"ccai_webhooks_rejected_total",
         "Provider webhooks refused as not authentic, by provider and reason"},
    };
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(fams); i++) {
        ccai_status st = Ccai_metrics_register(env->metrics, fams[i].name, CCAI_METRIC_COUNTER,
                                               fams[i].help, NULL, 0);
        if (st != CCAI_OK)
            return st;
    }
    Ccai_router *r = Ccai_calloc(1, sizeof *r);
    if (!r)
        return CCAI_ERR_NOMEM;
    r->env = *env;
    Ccai_instance_get(env->cfg, &r->inst);
    *ret = r;
    return CCAI_OK;
}

ccai_status Ccai_router_add(Ccai_router *r, const Ccai_route *routes, size_t n, void *ud)
{
    route_set *v = Ccai_realloc(r->sets, (r->n_sets + 1) * sizeof *v);
    if (!v)
        return CCAI_ERR_NOMEM;
    r->sets = v;
    v[r->n_sets++] = (route_set){routes, n, ud};
    return CCAI_OK;
}

/* Exchanges ------------------------------------------------------------------ */

static void headers_free(Ccai_http_hdr *h, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ccai_free(h[i].name);
        ccai_free(h[i].value);
    }
    ccai_free(h);
}

void Ccai_exchange_free(ccai_http_exchange *x)
{
    ccai_free(x->method);
    ccai_free(x->path);
    ccai_free(x->query);
    headers_free(x->req_headers, x->n_req_headers);
    headers_free(x->res_headers, x->n_res_headers);
    ccai_free(x->body);
    ccai_free(x->remote_addr);
    for (size_t i = 0; i < x->n_params; i++)
        ccai_free(x->params[i]);
    ccai_free(x);
}

/* A database locked by another process ------------------------------------------ */

/* Held requests run again after this long, doubling while the database
 * stays locked (Ccai_backoff_ms(): with jitter, as every process that
 * waits for the lock does). One try per round: when the oldest request still
 * finds it locked, the others would too, and each try may wait
 * busy_timeout_ms. */
#define HELD_RETRY_FIRST_MS 25
#define HELD_RETRY_MAX_MS   400

typedef struct Ccai_http_held {
    ccai_http_exchange *head, **tail; /* oldest first */
    ccai_http_exchange *sweep;        /* the ones this round has yet to run */
    Ccai_timer timer;
    unsigned tries;
    bool sweeping;   /* the timer runs the held requests again */
    bool held_again; /* a request of this round met the lock again */
    bool told;       /* the log said requests wait */
} Ccai_http_held;

static void dispatch(ccai_http_exchange *x);
static void dispatch_again(ccai_http_exchange *x);

static uint64_t held_delay(const Ccai_http_held *h)
{
    return Ccai_backoff_ms((int)(h->tries < 16 ? h->tries + 1 : 16), HELD_RETRY_FIRST_MS,
                           HELD_RETRY_MAX_MS);
}

static void held_cancel(ccai_http_exchange *x);

static void held_append(Ccai_http_held *h, ccai_http_exchange *x)
{
    x->held_next = NULL;
    x->on_cancel = held_cancel;
    *h->tail = x;
    h->tail = &x->held_next;
}

/* Unlink x from list; true when it was there. */
static bool held_unlink(ccai_http_exchange **list, ccai_http_exchange ***tail,
                        ccai_http_exchange *x)
{
    for (ccai_http_exchange **p = list; *p; p = &(*p)->held_next) {
        if (*p == x) {
            *p = x->held_next;
            if (tail && !*p)
                *tail = p;
            return true;
        }
    }
    return false;
}

/* The host cancelled a held request (its client went away): forget it,
 * wherever it waits (a round may be running). */
static void held_cancel(ccai_http_exchange *x)
{
    Ccai_http_held *h = x->router->held;
    if (!held_unlink(&h->head, &h->tail, x))
        held_unlink(&h->sweep, NULL, x);
    x->held_next = NULL;
    x->on_cancel = NULL;
    if (!h->head && !h->sweep)
        Ccai_timer_stop(x->ctx, &h->timer);
}

static CCAI_MUST_CHECK bool held_expired(const ccai_http_exchange *x)
{
    int64_t wait = Ccai_config_int(x->router->env.cfg, "server.store_wait_ms", 5000);
    return Ccai_ctx_now(x->ctx) - x->started >= (uint64_t)(wait > 0 ? wait : 0);
}

static void on_held_timer(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    Ccai_router *r = ud;
    ccai_ctx *ctx = r->env.ctx;
    Ccai_http_held *h = r->held;
    h->sweep = h->head;
    h->head = NULL;
    h->tail = &h->head;
    h->sweeping = true;
    bool blocked = false;
    while (h->sweep) {
        ccai_http_exchange *x = h->sweep;
        h->sweep = x->held_next;
        x->held_next = NULL;
        x->on_cancel = NULL;
        if (held_expired(x)) {
            Ccai_exchange_unavailable(x, CCAI_ERR_BUSY, Ccai_store_errmsg(r->env.store));
        } else if (blocked || Ccai_loop_freeing(ctx)) {
            held_append(h, x); /* in order, behind the one that met the lock */
        } else {
            h->held_again = false;
            dispatch(x); /* from the start: it answers, waits for the bot, or is held again */
            blocked = h->held_again;
        }
    }
    h->sweeping = false;
    if (!blocked && h->told) {
        h->told = false;
        Ccai_log(r->env.log, CCAI_LOG_INFO, "http: the database can write again");
    }
    h->tries = blocked ? h->tries + 1 : 0;
    if (h->head)
        Ccai_timer_start(ctx, &h->timer, held_delay(h));
}

void Ccai_exchange_hold(ccai_http_exchange *x)
{
    Ccai_router *r = x->router;
    ccai_ctx *ctx = x->ctx;
    if (!r->held) {
        r->held = Ccai_calloc(1, sizeof *r->held);
        if (r->held) {
            r->held->tail = &r->held->head;
            Ccai_timer_init(&r->held->timer, on_held_timer, r);
        }
    }
    Ccai_http_held *h = r->held;
    if (!h || held_expired(x)) {
        Ccai_exchange_unavailable(x, CCAI_ERR_BUSY, Ccai_store_errmsg(r->env.store));
        return;
    }
    /* The route is matched again when it runs again. */
    for (size_t i = 0; i < x->n_params; i++) {
        ccai_free(x->params[i]);
        x->params[i] = NULL;
    }
    x->n_params = 0;
    if (!h->told) { /* once per episode, not per request */
        h->told = true;
        Ccai_log(r->env.log, CCAI_LOG_WARN, "http: requests wait for the database: %s",
                 Ccai_store_errmsg(r->env.store));
    }
    held_append(h, x);
    if (h->sweeping)
        h->held_again = true; /* the round stops here; the timer is set after it */
    else if (!Ccai_timer_active(&h->timer))
        Ccai_timer_start(ctx, &h->timer, held_delay(h));
}

bool Ccai_exchange_to_holder(ccai_http_exchange *x, const char *call_id)
{
    Ccai_router *r = x->router;
    return Ccai_forward_call(x, call_id, r->env.store, &r->inst, dispatch_again);
}

void Ccai_exchange_fail_or_hold(ccai_http_exchange *x, ccai_status st, const char *message,
                                const char *detail)
{
    if (st == CCAI_ERR_BUSY)
        Ccai_exchange_hold(x);
    else
        Ccai_exchange_fail(x, st, message, detail);
}

void Ccai_router_free(Ccai_router *r)
{
    if (!r)
        return;
    Ccai_http_held *h = r->held;
    if (h) {
        Ccai_timer_stop(r->env.ctx, &h->timer);
        while (h->head) {
            ccai_http_exchange *x = h->head;
            h->head = x->held_next;
            x->on_cancel = NULL;
            Ccai_exchange_unavailable(x, CCAI_ERR_BUSY, "the server is shutting down");
        }
        ccai_free(h);
    }
    ccai_free(r->sets);
    ccai_free(r);
}

/* A route that writes runs only when the database can write.
 * Conversations (provider webhooks and the HTTP chat: Twilio never retries a
 * webhook and a caller is waiting) wait for a lock held elsewhere; the REST
 * API's own writes are refused at once (its clients retry after
 * Retry-After). */
static CCAI_MUST_CHECK bool store_ready(ccai_http_exchange *x, bool waits)
{
    Ccai_store *store = x->router->env.store;
    ccai_status st = Ccai_store_can_write(store);
    if (st == CCAI_OK)
        return true;
    if (st == CCAI_ERR_BUSY && waits)
        Ccai_exchange_hold(x);
    else if (st == CCAI_ERR_NOMEM)
        Ccai_exchange_error(x, 500, "out of memory", NULL);
    else
        Ccai_exchange_unavailable(x, st, Ccai_store_errmsg(store));
    return false;
}

/* Routing ---------------------------------------------------------------------- */

/* Match path against pattern; captures go to x->params. */
static int match(ccai_http_exchange *x, const char *pattern, const char *path)
{
    const char *p = pattern, *s = path;
    size_t n = 0;
    char *caps[CCAI_HTTP_PARAMS_MAX];
    for (;;) {
        if (*p != '/' || *s != '/')
            break;
        p++;
        s++;
        const char *pe = strchr(p, '/'), *se = strchr(s, '/');
        size_t pl = pe ? (size_t)(pe - p) : strlen(p), sl = se ? (size_t)(se - s) : strlen(s);
        if (pl && p[0] == ':') {
            if (!sl || n == CCAI_HTTP_PARAMS_MAX)
                goto no;
            if (!(caps[n++] = Ccai_strndup(s, sl)))
                goto nomem;
        } else if (pl != sl || strncmp(p, s, pl) != 0) {
            goto no;
        }
        p += pl;
        s += sl;
        if (!*p && !*s) {
            for (size_t i = 0; i < n; i++)
                x->params[i] = caps[i];
            x->n_params = n;
            return 1;
        }
    }
no:
    for (size_t i = 0; i < n; i++)
        ccai_free(caps[i]);
    return 0;
nomem:
    for (size_t i = 0; i + 1 < n; i++)
        ccai_free(caps[i]);
    return -1;
}

/* Whether method is in the Allow list (two parts may serve one path). */
static CCAI_MUST_CHECK bool allowed(const char *allow, const char *method)
{
    size_t n = strlen(method);
    for (const char *p = allow; (p = strstr(p, method)) != NULL; p += n) {
        if ((p == allow || p[-1] == ' ') && (p[n] == ',' || p[n] == '\0'))
            return true;
    }
    return false;
}

/* The route of x runs again from the start (its match too). */
static void dispatch_again(ccai_http_exchange *x)
{
    for (size_t i = 0; i < x->n_params; i++) {
        ccai_free(x->params[i]);
        x->params[i] = NULL;
    }
    x->n_params = 0;
    dispatch(x);
}

static void dispatch(ccai_http_exchange *x)
{
    Ccai_router *router = x->router;
    bool path_known = false;
    char allow[64] = "";
    for (size_t s = 0; s < router->n_sets; s++) {
        const route_set *set = &router->sets[s];
        for (size_t i = 0; i < set->n; i++) {
            const Ccai_route *r = &set->routes[i];
            int m = match(x, r->pattern, x->path);
            if (m < 0) {
                Ccai_exchange_error(x, 500, "out of memory", NULL);
                return;
            }
            if (!m)
                continue;
            if (strcmp(r->method, x->method) != 0 &&
                !(strcmp(r->method, "GET") == 0 && strcmp(x->method, "HEAD") == 0)) {
                path_known = true;
                if (!allowed(allow, r->method)) {
                    size_t len = strlen(allow);
                    snprintf(allow + len, sizeof allow - len, "%s%s", len ? ", " : "", r->method);
                }
                for (size_t k = 0; k < x->n_params; k++)
                    ccai_free(x->params[k]);
                x->n_params = 0;
                continue;
            }
            if (r->auth != CCAI_ROUTE_PROVIDER && !Ccai_http_local_request(x))
                return;
            if (r->auth == CCAI_ROUTE_TOKEN && !Ccai_http_authorized(x))
                return;
            if ((r->flags & CCAI_ROUTE_WRITES) && !store_ready(x, r->flags & CCAI_ROUTE_WAITS))
                return;
            if ((r->flags & CCAI_ROUTE_CALL) &&
                Ccai_forward_call(x, NULL, router->env.store, &router->inst, dispatch_again))
                return;
            if ((r->flags & CCAI_ROUTE_MEDIA) &&
                Ccai_forward_media(x, x->n_params ? x->params[0] : NULL, router->env.store,
                                   &router->inst, dispatch_again))
                return;
            x->route_ud = set->ud;
            r->fn(x, set->ud);
            return;
        }
    }
    if (path_known) {
        /* A 405 names the methods allowed (RFC 9110): without memory for the
         * header, no 405. */
        if (Ccai_exchange_add_header(x, "Allow", allow))
            Ccai_exchange_error(x, 405, "method not allowed", allow);
        else
            Ccai_exchange_fail(x, CCAI_ERR_NOMEM, NULL, NULL);
        return;
    }
    Ccai_exchange_error(x, 404, "not found", x->path);
}

static CCAI_MUST_CHECK bool copy_request(ccai_http_exchange *x, const ccai_http_request *req)
{
    x->method = Ccai_strdup(req->method);
    x->path = Ccai_strdup(req->path);
    x->query = req->query ? Ccai_strdup(req->query) : NULL;
    x->remote_addr = req->remote_addr ? Ccai_strdup(req->remote_addr) : NULL;
    x->body = Ccai_malloc(req->body_len + 1);
    if (!x->method || !x->path || (req->query && !x->query) ||
        (req->remote_addr && !x->remote_addr) || !x->body)
        return false;
    if (req->body_len)
        memcpy(x->body, req->body, req->body_len);
    x->body[req->body_len] = '\0';
    x->body_len = req->body_len;
    if (req->n_headers) {
        x->req_headers = Ccai_calloc(req->n_headers, sizeof *x->req_headers);
        if (!x->req_headers)
            return false;
        for (size_t i = 0; i < req->n_headers; i++) {
            x->n_req_headers++;
            x->req_headers[i].name = Ccai_strdup(req->headers[i].name);
            x->req_headers[i].value = Ccai_strdup(req->headers[i].value);
            if (!x->req_headers[i].name || !x->req_headers[i].value)
                return false;
        }
    }
    return true;
}

/* A request table of a version this library knows (1 to the current one),
 * with what it must have. Version 1 is the whole table today: members
 * appended later are read only when req->version says they exist. The
 * header array's element, ccai_http_header, is frozen: its layout is the
 * same at every version. */
static CCAI_MUST_CHECK bool request_valid(const ccai_http_request *req)
{
    if (req->version < 1 || req->version > CCAI_HTTP_REQUEST_VERSION || !req->method ||
        !req->path || (req->n_headers && !req->headers) || (req->body_len && !req->body))
        return false;
    for (size_t i = 0; i < req->n_headers; i++)
        if (!req->headers[i].name || !req->headers[i].value)
            return false;
    return true;
}

static ccai_status handle(Ccai_router *r, const ccai_http_request *req,
                          ccai_http_respond_fn respond, void *ud, bool can_upgrade,
                          ccai_http_exchange **ret_exchange)
{
    if (ret_exchange)
        *ret_exchange = NULL;
    if (!r || !req || !respond || !request_valid(req))
        return CCAI_ERR_INVALID_ARG;
    ccai_http_exchange *x = Ccai_calloc(1, sizeof *x);
    if (!x)
        return CCAI_ERR_NOMEM;
    ccai_ctx *ctx = r->env.ctx;
    x->ctx = ctx;
    x->router = r;
    x->respond = respond;
    x->ud = ud;
    x->started = Ccai_ctx_now(ctx);
    x->can_upgrade = can_upgrade;
    if (!copy_request(x, req)) {
        Ccai_exchange_free(x);
        return CCAI_ERR_NOMEM;
    }
    Ccai_ctx_enter(ctx);
    x->sync = true;
    if (x->path[0] != '/')
        Ccai_exchange_error(x, 400, "bad request", "the path must start with /");
    else if (x->body_len > Ccai_http_body_max(r->env.cfg))
        Ccai_exchange_error(x, 413, "request body too large", "see server.max_body_bytes");
    else
        dispatch(x);
    x->sync = false;
    if (x->responded || x->cancelled)
        Ccai_exchange_free(x);
    else if (ret_exchange)
        *ret_exchange = x;
    Ccai_ctx_leave(ctx);
    return CCAI_OK;
}

ccai_status Ccai_router_handle(Ccai_router *r, const ccai_http_request *req,
                               ccai_http_respond_fn respond, void *ud,
                               ccai_http_exchange **ret_exchange)
{
    return handle(r, req, respond, ud, false, ret_exchange);
}

ccai_status Ccai_router_handle_conn(Ccai_router *r, const ccai_http_request *req,
                                    ccai_http_respond_fn respond, void *ud,
                                    ccai_http_exchange **ret_exchange)
{
    return handle(r, req, respond, ud, true, ret_exchange);
}

CCAI_EXPORT void ccai_http_exchange_cancel(ccai_http_exchange *x)
{
    if (!x || x->responded || x->cancelled)
        return;
    x->cancelled = true;
    if (x->on_cancel)
        x->on_cancel(x);
    if (!x->sync)
        Ccai_exchange_free(x);
}
