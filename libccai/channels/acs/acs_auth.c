/* ACS callback authentication: cached JWKS from the OpenID configuration,
 * RS256 verification of the bearer token. */
#include "channels/acs/acs_auth.h"

#include "config/config.h"
#include "core/json.h"
#include "http/jwt.h"
#include "io/io.h"

#include <string.h>

#define DEFAULT_TIMEOUT_MS 10000u

typedef enum fetch_phase { PHASE_CONFIG, PHASE_JWKS } fetch_phase;

struct Ccai_acs_auth {
    ccai_ctx *ctx;
    char *openid_url;
    bool openid_http; /* the configuration is on plain http: jwks_uri may be too */
    char *issuer;
    char *audience;
    uint64_t ttl_ms, skew_ms;
    uint32_t timeout_ms;
    Ccai_jwks *keys;         /* NULL until a fetch succeeded */
    bool attempted;          /* a fetch was ever started */
    uint64_t last_attempt;   /* ctx clock when the last fetch started */
    bool last_failed;        /* the last finished fetch failed */
    char *fetch_err;         /* why, while last_failed */
    Ccai_http_req *req;      /* the fetch in flight */
    fetch_phase phase;       /* of req */
    Ccai_acs_auth_op *wait;  /* checks waiting for the fetch */
    Ccai_acs_auth_op *drain; /* checks being answered after it */
    bool dispatching;        /* inside drain(): free is deferred */
    bool freed;
    unsigned fetches;
};

struct Ccai_acs_auth_op {
    Ccai_acs_auth *auth;
    Ccai_acs_auth_op **head; /* list holding it, NULL when none */
    Ccai_acs_auth_op *prev, *next;
    char *token;
    size_t len;
    Ccai_acs_auth_done_fn cb;
    void *ud;
    bool in_callback;
    bool cancelled;
};

/* Lists ---------------------------------------------------------------------- */

static void op_link(Ccai_acs_auth_op **head, Ccai_acs_auth_op *op)
{
    /* Append: checks are answered in arrival order. */
    op->head = head;
    op->next = NULL;
    op->prev = NULL;
    if (!*head) {
        *head = op;
        return;
    }
    Ccai_acs_auth_op *t = *head;
    while (t->next)
        t = t->next;
    t->next = op;
    op->prev = t;
}

static void op_unlink(Ccai_acs_auth_op *op)
{
    if (!op->head)
        return;
    if (op->prev)
        op->prev->next = op->next;
    else
        *op->head = op->next;
    if (op->next)
        op->next->prev = op->prev;
    op->prev = op->next = NULL;
    op->head = NULL;
}

static void op_destroy(Ccai_acs_auth_op *op)
{
    ccai_free(op->token);
    ccai_free(op);
}

static void free_list(Ccai_acs_auth_op **head)
{
    while (*head) {
        Ccai_acs_auth_op *op = *head;
        op_unlink(op);
        op_destroy(op);
    }
}

/* Construction --------------------------------------------------------------- */

/* "http(s)://host[...]" without white space or control bytes. */
static CCAI_MUST_CHECK bool valid_url(const char *url, bool *ret_http)
{
    const char *p;
    if (strncmp(url, "https://", 8) == 0) {
        p = url + 8;
        *ret_http = false;
    } else if (strncmp(url, "http://", 7) == 0) {
        p = url + 7;
        *ret_http = true;
    } else {
        return false;
    }
    if (strcspn(p, "/?#") == 0)
        return false;
    for (; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch <= 0x20 || ch >= 0x7f)
            return false;
    }
    return true;
}

static void auth_destroy(Ccai_acs_auth *a)
{
    Ccai_jwks_free(a->keys);
    ccai_free(a->openid_url);
    ccai_free(a->issuer);
    ccai_free(a->audience);
    ccai_free(a->fetch_err);
    ccai_free(a);
}

ccai_status Ccai_acs_auth_new(ccai_ctx *ctx, const Ccai_acs_auth_opts *opts, Ccai_acs_auth **ret)
{
    if (!ctx || !opts || !ret || !opts->audience || !*opts->audience)
        return CCAI_ERR_INVALID_ARG;
    const char *url = opts->openid_config_url ? opts->openid_config_url : CCAI_ACS_AUTH_OPENID_URL;
    const char *iss = opts->issuer ? opts->issuer : CCAI_ACS_AUTH_ISSUER;
    bool http = false;
    if (!*iss || !valid_url(url, &http))
        return CCAI_ERR_INVALID_ARG;
    Ccai_acs_auth *a = Ccai_calloc(1, sizeof *a);
    if (!a)
        return CCAI_ERR_NOMEM;
    a->ctx = ctx;
    a->openid_http = http;
    a->openid_url = Ccai_strdup(url);
    a->issuer = Ccai_strdup(iss);
    a->audience = Ccai_strdup(opts->audience);
    a->ttl_ms = opts->ttl_ms ? opts->ttl_ms : CCAI_ACS_AUTH_TTL_MS;
    a->skew_ms = opts->skew_ms ? opts->skew_ms : CCAI_ACS_AUTH_SKEW_MS;
    a->timeout_ms = opts->timeout_ms ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
    if (!a->openid_url || !a->issuer || !a->audience) {
        auth_destroy(a);
        return CCAI_ERR_NOMEM;
    }
    *ret = a;
    return CCAI_OK;
}

ccai_status Ccai_acs_auth_from_config(ccai_ctx *ctx, const ccai_config *cfg, Ccai_acs_auth **ret)
{
    if (!ctx || !cfg || !ret)
        return CCAI_ERR_INVALID_ARG;
    const char *rid = Ccai_config_str(cfg, "communication_services.resource_id");
    if (!rid || !*rid) {
        Ccai_ctx_set_error(ctx, "acs auth: communication_services.resource_id is required to "
                                "verify Call Automation callbacks");
        return CCAI_ERR_CONFIG;
    }
    const char *url = Ccai_config_str(cfg, "communication_services.openid_config_url");
    Ccai_acs_auth_opts o = {.audience = rid, .openid_config_url = url && *url ? url : NULL};
    return Ccai_acs_auth_new(ctx, &o, ret);
}

void Ccai_acs_auth_free(Ccai_acs_auth *a)
{
    if (!a || a->freed)
        return;
    free_list(&a->wait);
    free_list(&a->drain);
    if (a->req) {
        Ccai_http_cancel(a->req);
        a->req = NULL;
    }
    if (a->dispatching) {
        a->freed = true; /* drain() finishes the job */
        return;
    }
    auth_destroy(a);
}

unsigned Ccai_acs_auth_fetches(const Ccai_acs_auth *a)
{
    return a ? a->fetches : 0;
}

/* Verification ------------------------------------------------------------- */

static char *errf(const char *fmt, ...) CCAI_PRINTF(1, 2);
static char *errf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = Ccai_vasprintf(fmt, ap);
    va_end(ap);
    return s;
}

/* Verify with the cached key set. after_failed_fetch: the refresh that this
 * check waited for failed, so an unknown kid cannot be decided (HTTP). */
static CCAI_MUST_CHECK ccai_status verify_token(Ccai_acs_auth *a, const char *token, size_t len,
                                                bool after_failed_fetch, json_t **ret_claims,
                                                char **ret_err)
{
    if (!a->keys) {
        *ret_err = errf("acs auth: no key set: %s",
                        a->fetch_err ? a->fetch_err : "it could not be fetched");
        return CCAI_ERR_HTTP;
    }
    Ccai_jwt_expect x = {
        .issuer = a->issuer,
        .audience = a->audience,
        .now_ms = Ccai_wall_ms(),
        .skew_ms = a->skew_ms,
    };
    char *err = NULL;
    ccai_status st = Ccai_jwt_verify(token, len, a->keys, &x, ret_claims, &err);
    if (st == CCAI_ERR_NOT_FOUND && after_failed_fetch) {
        *ret_err = errf("acs auth: %s, and refreshing the key set failed: %s",
                        err ? err : "unknown kid", a->fetch_err ? a->fetch_err : "error");
        ccai_free(err);
        return CCAI_ERR_HTTP;
    }
    *ret_err = err;
    return st;
}

/* May a fetch start now? At most one per CCAI_ACS_AUTH_REFETCH_MS. */
static CCAI_MUST_CHECK bool may_fetch(const Ccai_acs_auth *a, uint64_t now, uint64_t interval)
{
    return !a->attempted || now < a->last_attempt || now - a->last_attempt >= interval;
}

/* Answer every waiting check after a fetch ended. The callbacks may start
 * and cancel checks or free the authenticator. */
static void drain(Ccai_acs_auth *a, bool fetch_failed)
{
    while (a->wait) {
        Ccai_acs_auth_op *op = a->wait;
        op_unlink(op);
        op_link(&a->drain, op);
    }
    a->dispatching = true;
    while (a->drain && !a->freed) {
        Ccai_acs_auth_op *op = a->drain;
        op_unlink(op);
        json_t *claims = NULL;
        char *err = NULL;
        ccai_status st = verify_token(a, op->token, op->len, fetch_failed, &claims, &err);
        op->in_callback = true;
        op->cb(st, st == CCAI_OK ? claims : NULL,
               st == CCAI_OK ? NULL
               : err         ? err
                             : ccai_status_str(st),
               op->ud);
        json_decref(claims);
        ccai_free(err);
        op_destroy(op);
    }
    a->dispatching = false;
    if (a->freed)
        auth_destroy(a);
}

static void fetch_failed(Ccai_acs_auth *a, const char *fmt, ...) CCAI_PRINTF(2, 3);
static void fetch_failed(Ccai_acs_auth *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = Ccai_vasprintf(fmt, ap);
    va_end(ap);
    ccai_free(a->fetch_err);
    a->fetch_err = msg;
    a->last_failed = true;
    Ccai_log(Ccai_ctx_logger(a->ctx), CCAI_LOG_WARN, "acs auth: key set fetch failed: %s%s",
             msg ? msg : "out of memory", a->keys ? " (keeping the cached key set)" : "");
    drain(a, true);
}

static CCAI_MUST_CHECK ccai_status http_get(Ccai_acs_auth *a, const char *url);

static void on_config(Ccai_acs_auth *a, const char *body, size_t len)
{
    Ccai_json_err jerr = {0};
    ccai_status jst = CCAI_OK;
    json_t *json = Ccai_json_load(body, len, &jerr, &jst);
    const char *uri = json_string_value(json_object_get(json, "jwks_uri"));
    bool http = false;
    if (!json) {
        fetch_failed(a, "%s: the OpenID configuration is not JSON (%s)", a->openid_url,
                     jst == CCAI_ERR_NOMEM ? "out of memory"
                     : jerr.text           ? jerr.text
                                           : "error");
    } else if (!uri) {
        fetch_failed(a, "%s: the OpenID configuration has no jwks_uri", a->openid_url);
    } else if (!valid_url(uri, &http) || (http && !a->openid_http)) {
        fetch_failed(a, "%s: jwks_uri is not an https URL", a->openid_url);
    } else {
        ccai_status st = http_get(a, uri);
        if (st == CCAI_OK)
            a->phase = PHASE_JWKS;
        else
            fetch_failed(a, "cannot request %s: %s", uri, ccai_status_str(st));
    }
    json_decref(json);
}

static void on_jwks(Ccai_acs_auth *a, const char *body, size_t len)
{
    Ccai_jwks *ks = NULL;
    char *err = NULL;
    ccai_status st = Ccai_jwks_from_json(body, len, Ccai_ctx_now(a->ctx), a->ttl_ms, &ks, &err);
    if (st != CCAI_OK) {
        fetch_failed(a, "the JWKS is unusable: %s", err ? err : ccai_status_str(st));
        ccai_free(err);
        return;
    }
    Ccai_jwks_free(a->keys);
    a->keys = ks;
    a->last_failed = false;
    ccai_free(a->fetch_err);
    a->fetch_err = NULL;
    Ccai_log(Ccai_ctx_logger(a->ctx), CCAI_LOG_INFO, "acs auth: fetched %zu signing keys",
             Ccai_jwks_count(ks));
    drain(a, false);
}

static void on_http_done(Ccai_http_req *req, ccai_status st, long status, const char *errmsg,
                         void *ud)
{
    Ccai_acs_auth *a = ud;
    a->req = NULL;
    const char *what = a->phase == PHASE_CONFIG ? "OpenID configuration" : "JWKS";
    if (st != CCAI_OK) {
        fetch_failed(a, "%s: %s", what, errmsg && *errmsg ? errmsg : ccai_status_str(st));
        return;
    }
    if (status != 200) {
        fetch_failed(a, "%s: HTTP %ld", what, status);
        return;
    }
    size_t len = 0;
    const char *body = Ccai_http_body(req, &len);
    if (!body)
        body = "";
    if (a->phase == PHASE_CONFIG)
        on_config(a, body, len);
    else
        on_jwks(a, body, len);
}

static CCAI_MUST_CHECK ccai_status http_get(Ccai_acs_auth *a, const char *url)
{
    static const char *const headers[] = {"Accept: application/json", NULL};
    Ccai_http_opts o = {
        .method = "GET",
        .url = url,
        .headers = headers,
        .total_timeout_ms = a->timeout_ms,
        .max_response_bytes = CCAI_JWKS_BODY_MAX,
        .on_done = on_http_done,
        .ud = a,
    };
    ccai_status st = Ccai_http_start(a->ctx, &o, &a->req);
    if (st == CCAI_OK)
        a->fetches++;
    return st;
}

/* Start fetching the OpenID configuration, then the JWKS. */
static CCAI_MUST_CHECK ccai_status start_fetch(Ccai_acs_auth *a, uint64_t now)
{
    a->attempted = true;
    a->last_attempt = now;
    ccai_status st = http_get(a, a->openid_url);
    if (st == CCAI_OK) {
        a->phase = PHASE_CONFIG;
        return CCAI_OK;
    }
    char *msg = errf("cannot request %s: %s", a->openid_url, ccai_status_str(st));
    ccai_free(a->fetch_err);
    a->fetch_err = msg;
    a->last_failed = true;
    return st;
}

/* Checks ----------------------------------------------------------------- */

/* The token of "Bearer <token>": scheme case-insensitive, then one or more
 * spaces or tabs; trailing white space ignored; no white space inside. */
static CCAI_MUST_CHECK bool bearer_token(const char *h, const char **ret, size_t *ret_len)
{
    if (!h)
        return false;
    while (*h == ' ' || *h == '\t')
        h++;
    static const char scheme[] = "bearer";
    for (size_t i = 0; i < sizeof scheme - 1; i++) {
        if (Ccai_to_lower((unsigned char)h[i]) != scheme[i])
            return false;
    }
    h += sizeof scheme - 1;
    if (*h != ' ' && *h != '\t')
        return false;
    while (*h == ' ' || *h == '\t')
        h++;
    size_t len = strlen(h);
    while (len && (h[len - 1] == ' ' || h[len - 1] == '\t'))
        len--;
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)h[i];
        if (ch <= 0x20 || ch >= 0x7f)
            return false;
    }
    *ret = h;
    *ret_len = len;
    return true;
}

static CCAI_MUST_CHECK ccai_status enqueue(Ccai_acs_auth *a, const char *token, size_t len,
                                           Ccai_acs_auth_done_fn cb, void *ud,
                                           Ccai_acs_auth_op **ret_op)
{
    Ccai_acs_auth_op *op = Ccai_calloc(1, sizeof *op);
    char *copy = op ? Ccai_strndup(token, len) : NULL;
    if (!copy) {
        ccai_free(op);
        return CCAI_ERR_NOMEM;
    }
    op->auth = a;
    op->token = copy;
    op->len = len;
    op->cb = cb;
    op->ud = ud;
    op_link(&a->wait, op);
    *ret_op = op;
    return CCAI_ACS_AUTH_PENDING;
}

ccai_status Ccai_acs_auth_check(Ccai_acs_auth *a, const char *authorization,
                                Ccai_acs_auth_done_fn cb, void *ud, Ccai_acs_auth_op **ret_op,
                                json_t **ret_claims, char **ret_err)
{
    json_t *dummy_claims = NULL;
    char *dummy_err = NULL;
    json_t **claims = ret_claims ? ret_claims : &dummy_claims;
    char **err = ret_err ? ret_err : &dummy_err;
    *claims = NULL;
    *err = NULL;
    if (ret_op)
        *ret_op = NULL;
    if (!a || !cb || !ret_op || a->freed)
        return CCAI_ERR_INVALID_ARG;

    ccai_status st;
    const char *token = NULL;
    size_t len = 0;
    if (!bearer_token(authorization, &token, &len)) {
        *err = Ccai_strdup(authorization && *authorization
                               ? "acs auth: the Authorization header is not \"Bearer <token>\""
                               : "acs auth: no Authorization header");
        st = CCAI_ERR_VALIDATION;
        goto out;
    }
    if (len > CCAI_JWT_TOKEN_MAX) {
        *err = Ccai_strdup("acs auth: the bearer token is too long");
        st = CCAI_ERR_LIMIT;
        goto out;
    }

    uint64_t now = Ccai_ctx_now(a->ctx);
    if (a->req) {
        st = enqueue(a, token, len, cb, ud, ret_op); /* share the fetch in flight */
        goto out;
    }
    bool fetch;
    if (a->keys && !Ccai_jwks_stale(a->keys, now)) {
        st = verify_token(a, token, len, false, claims, err);
        if (st != CCAI_ERR_NOT_FOUND || !may_fetch(a, now, CCAI_ACS_AUTH_REFETCH_MS))
            goto out; /* decided, or a key rotation refetch is rate-limited */
        ccai_free(*err);
        *err = NULL;
        fetch = true;
    } else if (a->keys) {
        fetch = may_fetch(a, now, CCAI_ACS_AUTH_REFETCH_MS); /* else serve stale */
    } else {
        fetch = !a->last_failed || may_fetch(a, now, CCAI_ACS_AUTH_RETRY_MS);
    }
    if (!fetch) {
        st = verify_token(a, token, len, false, claims, err);
        goto out;
    }
    st = start_fetch(a, now);
    if (st == CCAI_OK) {
        st = enqueue(a, token, len, cb, ud, ret_op); /* on NOMEM the fetch still warms the cache */
    } else {
        st = verify_token(a, token, len, true, claims, err); /* serve stale if any */
    }
out:
    if (!ret_claims)
        json_decref(dummy_claims);
    ccai_free(dummy_err);
    return st;
}

void Ccai_acs_auth_cancel(Ccai_acs_auth_op *op)
{
    if (!op || op->cancelled)
        return;
    op->cancelled = true;
    if (op->in_callback)
        return; /* freed when its callback returns */
    op_unlink(op);
    op_destroy(op);
}
