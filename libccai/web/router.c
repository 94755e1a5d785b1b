/* ccai_ctx_http(): copy the request, find its route, check who asks, answer. */
#include "web/web.h"

#include "channels/acs.h"
#include "channels/chat_http.h"
#include "channels/twilio.h"
#include "config/config.h"
#include "core/hostport.h"
#include "core/json.h"
#include "store/store.h"
#include "web/metrics.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* AUTH_NONE: public, or checked by the route (report pages); AUTH_TOKEN:
 * the API token; AUTH_PROVIDER: a provider webhook, authenticated by the
 * provider's own scheme (signature, JWT, per-call secret) and reached
 * through the public URL, so outside the no-token mode's Host rule. */
typedef enum auth { AUTH_NONE, AUTH_TOKEN, AUTH_PROVIDER } auth;

typedef struct route {
    const char *method;
    const char *pattern; /* segments; ":x" captures one */
    Ccai_route_fn fn;
    auth auth;
} route;

static const route routes[] = {
    {"GET", "/health/liveness", Ccai_rest_liveness, AUTH_NONE},
    {"GET", "/health/readiness", Ccai_rest_readiness, AUTH_NONE},
    {"GET", "/call", Ccai_rest_calls_list, AUTH_TOKEN},
    {"GET", "/call/:id", Ccai_rest_call_get, AUTH_TOKEN},
    {"GET", "/openapi.json", Ccai_pages_openapi, AUTH_NONE},
    {"GET", "/lexicon.xml", Ccai_pages_lexicon, AUTH_NONE},
    {"GET", "/metrics", Ccai_pages_metrics, AUTH_TOKEN},
    /* Report pages check the token or the per-call link themselves. */
    {"GET", "/report", Ccai_pages_report_list, AUTH_NONE},
    {"GET", "/report/:id", Ccai_pages_report_call, AUTH_NONE},
    /* Provider webhooks: signed by the provider, checked in the route. */
    {"POST", "/twilio/voice", Ccai_twilio_voice, AUTH_PROVIDER},
    {"POST", "/twilio/gather", Ccai_twilio_gather, AUTH_PROVIDER},
    {"POST", "/twilio/next", Ccai_twilio_next, AUTH_PROVIDER},
    {"POST", "/twilio/dial", Ccai_twilio_dial, AUTH_PROVIDER},
    {"POST", "/twilio/status", Ccai_twilio_status, AUTH_PROVIDER},
    {"POST", "/twilio/recording", Ccai_twilio_recording, AUTH_PROVIDER},
    {"POST", "/twilio/sms", Ccai_twilio_sms, AUTH_PROVIDER},
    /* ACS: Event Grid (validation handshake, optional ?token=) and Call
     * Automation callbacks (bearer JWT and the call's secret). */
    {"POST", "/acs/events", Ccai_acs_events_route, AUTH_PROVIDER},
    {"OPTIONS", "/acs/events", Ccai_acs_events_options, AUTH_PROVIDER},
    {"POST", "/acs/callback", Ccai_acs_callback_route, AUTH_PROVIDER},
    {"POST", "/call", Ccai_rest_call_create, AUTH_TOKEN},
    /* The local channel over HTTP (ccai-cli chat --server). */
    {"POST", "/chat", Ccai_chat_start, AUTH_TOKEN},
    {"POST", "/chat/:id", Ccai_chat_say, AUTH_TOKEN},
    {"POST", "/chat/:id/next", Ccai_chat_next, AUTH_TOKEN},
};

/* Exchanges ------------------------------------------------------------------ */

static void headers_free(Ccai_web_hdr *h, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ccai_free(h[i].name);
        ccai_free(h[i].value);
    }
    ccai_free(h);
}

static void exchange_free(ccai_http_exchange *x)
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

size_t Ccai_web_body_max(const ccai_ctx *ctx)
{
    int64_t max = Ccai_config_int(ctx->cfg, "server.max_body_bytes", 1048576);
    return max <= 0 || (uint64_t)max > CCAI_WEB_BODY_MAX ? CCAI_WEB_BODY_MAX : (size_t)max;
}

char *Ccai_web_public_url(const ccai_ctx *ctx, const char *fmt, ...)
{
    const char *base = Ccai_config_str(ctx->cfg, "server.public_url");
    size_t n = base ? strlen(base) : 0;
    while (n && base[n - 1] == '/')
        n--;
    Ccai_buf b = {0};
    va_list ap;
    va_start(ap, fmt);
    bool ok = Ccai_buf_append(&b, base ? base : "", n) && Ccai_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    char *url = ok ? Ccai_buf_steal(&b) : NULL;
    Ccai_buf_free(&b);
    return url;
}

const char *Ccai_web_header(const ccai_http_exchange *x, const char *name)
{
    for (size_t i = 0; i < x->n_req_headers; i++) {
        if (Ccai_strcasecmp(x->req_headers[i].name, name) == 0)
            return x->req_headers[i].value;
    }
    return NULL;
}

const char *Ccai_web_param(const ccai_http_exchange *x, size_t i)
{
    return i < x->n_params ? x->params[i] : NULL;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = Ccai_to_lower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decode s[0..n) ('+' is a space in a query). */
static char *url_decode(const char *s, size_t n)
{
    char *out = Ccai_malloc(n + 1);
    if (!out)
        return NULL;
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '+') {
            out[w++] = ' ';
        } else if (s[i] == '%' && i + 2 < n && (hi = hexval((unsigned char)s[i + 1])) >= 0 &&
                   (lo = hexval((unsigned char)s[i + 2])) >= 0) {
            out[w++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[w++] = s[i];
        }
    }
    out[w] = '\0';
    return out;
}

char *Ccai_web_query(const ccai_http_exchange *x, const char *name)
{
    const char *q = x->query;
    size_t nlen = strlen(name);
    while (q && *q) {
        const char *end = strchr(q, '&');
        size_t len = end ? (size_t)(end - q) : strlen(q);
        const char *eq = memchr(q, '=', len);
        size_t klen = eq ? (size_t)(eq - q) : len;
        if (klen == nlen && strncmp(q, name, nlen) == 0)
            return eq ? url_decode(eq + 1, len - klen - 1) : Ccai_strdup("");
        q = end ? end + 1 : NULL;
    }
    return NULL;
}

bool Ccai_web_add_header(ccai_http_exchange *x, const char *name, const char *value)
{
    Ccai_web_hdr *h = Ccai_realloc(x->res_headers, (x->n_res_headers + 1) * sizeof *h);
    if (!h)
        return false;
    x->res_headers = h;
    char *n = Ccai_strdup(name), *v = Ccai_strdup(value);
    if (!n || !v) {
        ccai_free(n);
        ccai_free(v);
        return false;
    }
    h[x->n_res_headers].name = n;
    h[x->n_res_headers].value = v;
    x->n_res_headers++;
    return true;
}

void Ccai_web_respond(ccai_http_exchange *x, int status, const char *content_type, const char *body,
                      size_t len)
{
    if (x->responded)
        return;
    x->responded = true;
    ccai_ctx *ctx = x->ctx;
    ccai_http_header *hs = Ccai_calloc(x->n_res_headers ? x->n_res_headers : 1, sizeof *hs);
    size_t n = hs ? x->n_res_headers : 0;
    for (size_t i = 0; i < n; i++) {
        hs[i].name = x->res_headers[i].name;
        hs[i].value = x->res_headers[i].value;
    }
    ccai_http_response res = {
        .version = CCAI_HTTP_RESPONSE_VERSION,
        .status = status,
        .content_type = content_type,
        .headers = hs,
        .n_headers = n,
        .body = body ? body : "",
        .body_len = body ? len : 0,
    };
    Ccai_log(&ctx->log, status >= 500 ? CCAI_LOG_WARN : CCAI_LOG_DEBUG,
             "http: %s %s -> %d (%llu ms)", x->method, x->path, status,
             (unsigned long long)(Ccai_ctx_now(ctx) - x->started));
    char labels[32];
    snprintf(labels, sizeof labels, "code=\"%d\"", status);
    Ccai_metrics_counter_add(ctx->metrics, "ccai_http_responses_total", labels, 1);
    if (!x->cancelled)
        x->respond(x, &res, x->ud);
    ccai_free(hs);
    /* Answered inside ccai_ctx_http(): it frees the exchange on return. */
    if (!x->sync)
        exchange_free(x);
}

void Ccai_web_json_text(ccai_http_exchange *x, int status, const char *text)
{
    Ccai_web_respond(x, status, "application/json", text, strlen(text));
}

void Ccai_web_json(ccai_http_exchange *x, int status, json_t *doc)
{
    char *text = doc ? Ccai_json_dump(doc, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    json_decref(doc);
    if (!text) {
        Ccai_web_json_text(x, 500, CCAI_JSON_ERROR_NOMEM);
        return;
    }
    Ccai_web_json_text(x, status, text);
    ccai_free(text);
}

void Ccai_web_error(ccai_http_exchange *x, int status, const char *message, const char *detail)
{
    char *text = Ccai_json_error_envelope(message, detail);
    Ccai_web_json_text(x, text ? status : 500, text ? text : CCAI_JSON_ERROR_NOMEM);
    ccai_free(text);
}

void Ccai_web_fail(ccai_http_exchange *x, ccai_status st, const char *message, const char *detail)
{
    const char *d = detail && *detail ? detail : ccai_status_str(st);
    switch (st) {
    case CCAI_ERR_STORE:
    case CCAI_ERR_BUSY: Ccai_web_unavailable(x, st, d); return;
    case CCAI_ERR_NOMEM: Ccai_web_error(x, 500, "out of memory", NULL); return;
    case CCAI_ERR_INVALID_ARG:
    case CCAI_ERR_VALIDATION:
    case CCAI_ERR_PARSE: Ccai_web_error(x, 400, message, d); return;
    case CCAI_ERR_LIMIT: Ccai_web_error(x, 413, message, d); return;
    case CCAI_ERR_NOT_FOUND: Ccai_web_error(x, 404, message, d); return;
    case CCAI_ERR_STATE:
    case CCAI_ERR_CONFLICT: Ccai_web_error(x, 409, message, d); return;
    default: Ccai_web_error(x, 500, message, d); return;
    }
}

void Ccai_web_fail_or_hold(ccai_http_exchange *x, ccai_status st, const char *message,
                           const char *detail)
{
    if (st == CCAI_ERR_BUSY)
        Ccai_web_store_busy(x);
    else
        Ccai_web_fail(x, st, message, detail);
}

/* Authentication ------------------------------------------------------------- */

static bool loopback(const char *addr)
{
    return addr && Ccai_host_is_loopback(addr);
}

/* Compare tokens in constant time (for equal lengths; the length leaks, the
 * content does not). */
bool Ccai_web_secret_equal(const char *a, const char *b)
{
    size_t n = strlen(a);
    return n == strlen(b) && CRYPTO_memcmp(a, b, n) == 0;
}

static bool token_mode(const ccai_ctx *ctx)
{
    const char *token = Ccai_config_str(ctx->cfg, "server.api_token");
    return token && *token;
}

/* A reverse proxy says who its client was: the peer address is the
 * proxy's, not the client's. */
static bool forwarded(const ccai_http_exchange *x)
{
    return Ccai_web_header(x, "forwarded") || Ccai_web_header(x, "x-forwarded-for") ||
           Ccai_web_header(x, "x-forwarded-host") || Ccai_web_header(x, "x-real-ip");
}

/* The Host names this machine (or there is none): the request did not come
 * through the public name, whatever proxy relayed it. */
static bool local_host(const ccai_http_exchange *x)
{
    const char *value = Ccai_web_header(x, "host");
    char host[CCAI_HOST_MAX + 1];
    return !value ||
           (Ccai_hostport_host(value, strlen(value), host) && Ccai_host_is_loopback(host));
}

/* Without a token: a client on this machine, talking to it directly. */
static bool local_client(const ccai_http_exchange *x)
{
    return loopback(x->remote_addr) && !forwarded(x) && local_host(x);
}

static bool check_token(ccai_http_exchange *x, const char *given)
{
    if (!token_mode(x->ctx))
        return local_client(x);
    return given && Ccai_web_secret_equal(given, Ccai_config_str(x->ctx->cfg, "server.api_token"));
}

/* The host of an http(s) URL (server.public_url, an Origin). */
static bool url_host(const char *url, char out[CCAI_HOST_MAX + 1])
{
    char origin[512];
    if (!url || !Ccai_url_origin(url, origin, sizeof origin))
        return false;
    const char *authority = strstr(origin, "://") + 3;
    return Ccai_hostport_host(authority, strlen(authority), out);
}

/* A Host this server answers to without a token: this machine's names or
 * the public URL's host. */
static bool host_allowed(const ccai_ctx *ctx, const char *value)
{
    char host[CCAI_HOST_MAX + 1], pub[CCAI_HOST_MAX + 1];
    if (!Ccai_hostport_host(value, strlen(value), host))
        return false;
    return Ccai_host_is_loopback(host) ||
           (url_host(Ccai_config_str(ctx->cfg, "server.public_url"), pub) &&
            strcmp(host, pub) == 0);
}

/* A browser's Origin: the server's own (the one the Host names, or the
 * public URL's). Anything else, "null" included, is another site. */
static bool origin_allowed(const ccai_http_exchange *x, const char *origin, const char *host)
{
    char own[600], pub[512];
    const char *url = Ccai_config_str(x->ctx->cfg, "server.public_url");
    if (url && Ccai_url_origin(url, pub, sizeof pub) && Ccai_strcasecmp(origin, pub) == 0)
        return true;
    if (!host) {
        /* No Host (HTTP/1.0): an origin on this machine. */
        char h[CCAI_HOST_MAX + 1];
        return Ccai_url_origin(origin, own, sizeof own) && Ccai_strcasecmp(origin, own) == 0 &&
               url_host(origin, h) && Ccai_host_is_loopback(h);
    }
    static const char *const schemes[] = {"http://", "https://"};
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(schemes); i++) {
        snprintf(own, sizeof own, "%s%s", schemes[i], host);
        if (Ccai_strcasecmp(origin, own) == 0)
            return true;
    }
    return false;
}

/* Without a token, the server trusts this machine: only requests meant
 * for it. A foreign Host is a DNS rebinding attempt or a misrouted
 * request (421); a foreign Origin a page of another site in a browser of
 * this machine (403). Answers and returns false when refused. */
static bool local_request(ccai_http_exchange *x)
{
    if (token_mode(x->ctx))
        return true;
    const char *host = Ccai_web_header(x, "host");
    if (host && !host_allowed(x->ctx, host)) {
        char *detail = Ccai_asprintf("Host \"%.200s\" is not this server: without server.api_token "
                                     "it answers to localhost, 127.0.0.1, [::1] and the host of "
                                     "server.public_url",
                                     host);
        Ccai_web_error(x, 421, "misdirected request", detail);
        ccai_free(detail);
        return false;
    }
    const char *origin = Ccai_web_header(x, "origin");
    if (origin && !origin_allowed(x, origin, host)) {
        char *detail = Ccai_asprintf("Origin \"%.200s\" is another site: without "
                                     "server.api_token only this server's own pages may call it",
                                     origin);
        Ccai_web_error(x, 403, "cross-origin request refused", detail);
        ccai_free(detail);
        return false;
    }
    return true;
}

static const char *bearer(const ccai_http_exchange *x)
{
    const char *h = Ccai_web_header(x, "authorization");
    if (!h || Ccai_strcasecmp(h, "") == 0)
        return NULL;
    if (strncmp(h, "Bearer ", 7) != 0 && strncmp(h, "bearer ", 7) != 0)
        return NULL;
    return h + 7;
}

bool Ccai_web_authorized(ccai_http_exchange *x)
{
    if (check_token(x, bearer(x)))
        return true;
    if (!token_mode(x->ctx)) {
        Ccai_web_error(x, 403, "forbidden",
                       loopback(x->remote_addr)
                           ? "no server.api_token is set: requests through a proxy or the public "
                             "name are not trusted; set a token"
                           : "no server.api_token is set: only clients on this machine are "
                             "served; set a token");
        return false;
    }
    Ccai_web_add_header(x, "WWW-Authenticate", "Bearer realm=\"ccai\"");
    Ccai_web_error(x, 401, "authentication required",
                   "send Authorization: Bearer <server.api_token>");
    return false;
}

bool Ccai_web_authorized_page(ccai_http_exchange *x)
{
    if (check_token(x, bearer(x)))
        return true;
    char *t = Ccai_web_query(x, "token");
    bool ok = t && check_token(x, t);
    ccai_free(t);
    return ok;
}

bool Ccai_web_report_key(const char *secret, char out[33])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    bool ok = m && EVP_DigestInit_ex(m, EVP_sha256(), NULL) == 1 &&
              EVP_DigestUpdate(m, "ccai-report:", 12) == 1 &&
              EVP_DigestUpdate(m, secret, strlen(secret)) == 1 &&
              EVP_DigestFinal_ex(m, md, &n) == 1 && n >= 16;
    EVP_MD_CTX_free(m);
    if (!ok)
        return false;
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    return true;
}

/* A database locked by another process ------------------------------------------ */

/* Held requests run again after this long, doubling while the database
 * stays locked (Ccai_backoff_ms(): with jitter, as every process that
 * waits for the lock does). One try per round: when the oldest request still finds it
 * locked, the others would too, and each try may wait busy_timeout_ms. */
#define HELD_RETRY_FIRST_MS 25
#define HELD_RETRY_MAX_MS   400

typedef struct Ccai_web_held {
    ccai_http_exchange *head, **tail; /* oldest first */
    ccai_http_exchange *sweep;        /* the ones this round has yet to run */
    Ccai_timer timer;
    unsigned tries;
    bool sweeping;   /* the timer runs the held requests again */
    bool held_again; /* a request of this round met the lock again */
    bool told;       /* the log said requests wait */
} Ccai_web_held;

static void dispatch(ccai_http_exchange *x);

void Ccai_web_unavailable(ccai_http_exchange *x, ccai_status st, const char *detail)
{
    /* Worth retrying later: a lock held elsewhere is usually short; a full
     * disk or a read-only file needs someone to act first. */
    bool busy = st == CCAI_ERR_BUSY;
    Ccai_web_add_header(x, "Retry-After", busy ? "1" : CCAI_WEB_STORE_RETRY_AFTER);
    Ccai_web_error(
        x, 503, busy ? "the database is locked by another process" : "the database is unavailable",
        detail);
}

static uint64_t held_delay(const Ccai_web_held *h)
{
    return Ccai_backoff_ms((int)(h->tries < 16 ? h->tries + 1 : 16), HELD_RETRY_FIRST_MS,
                           HELD_RETRY_MAX_MS);
}

static void held_cancel(ccai_http_exchange *x);

static void held_append(Ccai_web_held *h, ccai_http_exchange *x)
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
    Ccai_web_held *h = x->ctx->held;
    if (!held_unlink(&h->head, &h->tail, x))
        held_unlink(&h->sweep, NULL, x);
    x->held_next = NULL;
    x->on_cancel = NULL;
    if (!h->head && !h->sweep)
        Ccai_timer_stop(x->ctx, &h->timer);
}

static bool held_expired(const ccai_http_exchange *x)
{
    int64_t wait = Ccai_config_int(x->ctx->cfg, "server.store_wait_ms", 5000);
    return Ccai_ctx_now(x->ctx) - x->started >= (uint64_t)(wait > 0 ? wait : 0);
}

static void on_held_timer(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    ccai_ctx *ctx = ud;
    Ccai_web_held *h = ctx->held;
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
            Ccai_web_unavailable(x, CCAI_ERR_BUSY, Ccai_store_errmsg(ctx->store));
        } else if (blocked || ctx->free_pending) {
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
        Ccai_log(&ctx->log, CCAI_LOG_INFO, "http: the database can write again");
    }
    h->tries = blocked ? h->tries + 1 : 0;
    if (h->head)
        Ccai_timer_start(ctx, &h->timer, held_delay(h));
}

void Ccai_web_store_busy(ccai_http_exchange *x)
{
    ccai_ctx *ctx = x->ctx;
    if (!ctx->held) {
        ctx->held = Ccai_calloc(1, sizeof *ctx->held);
        if (ctx->held) {
            ctx->held->tail = &ctx->held->head;
            Ccai_timer_init(&ctx->held->timer, on_held_timer, ctx);
        }
    }
    Ccai_web_held *h = ctx->held;
    if (!h || held_expired(x)) {
        Ccai_web_unavailable(x, CCAI_ERR_BUSY, Ccai_store_errmsg(ctx->store));
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
        Ccai_log(&ctx->log, CCAI_LOG_WARN, "http: requests wait for the database: %s",
                 Ccai_store_errmsg(ctx->store));
    }
    held_append(h, x);
    if (h->sweeping)
        h->held_again = true; /* the round stops here; the timer is set after it */
    else if (!Ccai_timer_active(&h->timer))
        Ccai_timer_start(ctx, &h->timer, held_delay(h));
}

void Ccai_web_ctx_cleanup(ccai_ctx *ctx)
{
    Ccai_web_held *h = ctx->held;
    if (!h)
        return;
    Ccai_timer_stop(ctx, &h->timer);
    while (h->head) {
        ccai_http_exchange *x = h->head;
        h->head = x->held_next;
        x->on_cancel = NULL;
        Ccai_web_unavailable(x, CCAI_ERR_BUSY, "the server is shutting down");
    }
    ccai_free(h);
    ctx->held = NULL;
}

/* A POST stores something, but for a chat's /next (what the bot said
 * already, which a locked database must not hold back). */
static bool route_writes(const route *r)
{
    return strcmp(r->method, "POST") == 0 && r->fn != Ccai_chat_next;
}

/* A route that writes runs only when the database can write.
 * Conversations (provider webhooks and the HTTP chat: Twilio never retries a
 * webhook and a caller is waiting) wait for a lock held elsewhere; the REST
 * API's own writes are refused at once (its clients retry after
 * Retry-After). */
static bool store_ready(ccai_http_exchange *x, bool waits)
{
    ccai_status st = Ccai_store_can_write(x->ctx->store);
    if (st == CCAI_OK)
        return true;
    if (st == CCAI_ERR_BUSY && waits)
        Ccai_web_store_busy(x);
    else if (st == CCAI_ERR_NOMEM)
        Ccai_web_error(x, 500, "out of memory", NULL);
    else
        Ccai_web_unavailable(x, st, Ccai_store_errmsg(x->ctx->store));
    return false;
}

/* Routing ---------------------------------------------------------------------- */

/* Match path against pattern; captures go to x->params. */
static int match(ccai_http_exchange *x, const char *pattern, const char *path)
{
    const char *p = pattern, *s = path;
    size_t n = 0;
    char *caps[CCAI_WEB_PARAMS_MAX];
    for (;;) {
        if (*p != '/' || *s != '/')
            break;
        p++;
        s++;
        const char *pe = strchr(p, '/'), *se = strchr(s, '/');
        size_t pl = pe ? (size_t)(pe - p) : strlen(p), sl = se ? (size_t)(se - s) : strlen(s);
        if (pl && p[0] == ':') {
            if (!sl || n == CCAI_WEB_PARAMS_MAX)
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

static void dispatch(ccai_http_exchange *x)
{
    bool path_known = false;
    char allow[64] = "";
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(routes); i++) {
        const route *r = &routes[i];
        int m = match(x, r->pattern, x->path);
        if (m < 0) {
            Ccai_web_error(x, 500, "out of memory", NULL);
            return;
        }
        if (!m)
            continue;
        if (strcmp(r->method, x->method) != 0 &&
            !(strcmp(r->method, "GET") == 0 && strcmp(x->method, "HEAD") == 0)) {
            path_known = true;
            size_t len = strlen(allow);
            snprintf(allow + len, sizeof allow - len, "%s%s", len ? ", " : "", r->method);
            for (size_t k = 0; k < x->n_params; k++)
                ccai_free(x->params[k]);
            x->n_params = 0;
            continue;
        }
        if (r->auth != AUTH_PROVIDER && !local_request(x))
            return;
        if (r->auth == AUTH_TOKEN && !Ccai_web_authorized(x))
            return;
        if (route_writes(r) &&
            !store_ready(x, r->auth == AUTH_PROVIDER || strncmp(r->pattern, "/chat", 5) == 0))
            return;
        r->fn(x);
        return;
    }
    if (path_known) {
        Ccai_web_add_header(x, "Allow", allow);
        Ccai_web_error(x, 405, "method not allowed", allow);
        return;
    }
    Ccai_web_error(x, 404, "not found", x->path);
}

static bool copy_request(ccai_http_exchange *x, const ccai_http_request *req)
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

CCAI_EXPORT ccai_status ccai_ctx_http(ccai_ctx *ctx, const ccai_http_request *req,
                                      ccai_http_respond_fn respond, void *ud,
                                      ccai_http_exchange **ret_exchange)
{
    if (ret_exchange)
        *ret_exchange = NULL;
    if (!ctx || !req || !respond || req->version != CCAI_HTTP_REQUEST_VERSION || !req->method ||
        !req->path || (req->n_headers && !req->headers) || (req->body_len && !req->body))
        return CCAI_ERR_INVALID_ARG;
    ccai_http_exchange *x = Ccai_calloc(1, sizeof *x);
    if (!x)
        return CCAI_ERR_NOMEM;
    x->ctx = ctx;
    x->respond = respond;
    x->ud = ud;
    x->started = Ccai_ctx_now(ctx);
    if (!copy_request(x, req)) {
        exchange_free(x);
        return CCAI_ERR_NOMEM;
    }
    Ccai_ctx_enter(ctx);
    x->sync = true;
    if (x->path[0] != '/')
        Ccai_web_error(x, 400, "bad request", "the path must start with /");
    else if (x->body_len > Ccai_web_body_max(ctx))
        Ccai_web_error(x, 413, "request body too large", "see server.max_body_bytes");
    else
        dispatch(x);
    x->sync = false;
    if (x->responded || x->cancelled)
        exchange_free(x);
    else if (ret_exchange)
        *ret_exchange = x;
    Ccai_ctx_leave(ctx);
    return CCAI_OK;
}

CCAI_EXPORT void ccai_http_exchange_cancel(ccai_http_exchange *x)
{
    if (!x || x->responded || x->cancelled)
        return;
    x->cancelled = true;
    if (x->on_cancel)
        x->on_cancel(x);
    if (!x->sync)
        exchange_free(x);
}
