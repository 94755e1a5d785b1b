/* Entra ID tokens from the environment's identity (entra.h). */
#include "llm/entra.h"

#include "core/json.h"
#include "io/io.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

#define TOKEN_MAX         (16 * 1024)
#define ASSERTION_MAX     (64 * 1024)
#define REFRESH_BEFORE_MS (5 * 60 * 1000)
#define FETCH_TIMEOUT_MS  15000
#define IMDS_CONNECT_MS   1000
#define DEFAULT_AUTHORITY "https://login.microsoftonline.com"
#define DEFAULT_IMDS      "http://169.254.169.254"
#define JWT_BEARER        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

typedef enum source { SRC_WORKLOAD, SRC_APP_SERVICE, SRC_IMDS } source;

struct Ccai_entra {
    source src;
    char *scope, *resource;
    char *client_id, *tenant_id, *token_file, *authority; /* workload */
    char *endpoint, *header;                              /* App Service; IMDS: endpoint */
    char *token;
    int64_t expires_ms, refresh_ms;
    Ccai_http_req *req;
    char *form; /* the workload request's body, borrowed by req */
    Ccai_entra_wait *waiters;
};

static const char *env_get(const char *const *envp, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; envp && envp[i]; i++)
        if (strncmp(envp[i], name, n) == 0 && envp[i][n] == '=')
            return envp[i][n + 1] ? envp[i] + n + 1 : NULL;
    return NULL;
}

static CCAI_MUST_CHECK bool dup_opt(char **out, const char *s)
{
    *out = s ? Ccai_strdup(s) : NULL;
    return !s || *out;
}

/* Without a trailing slash. */
static char *dup_base(const char *s)
{
    char *d = Ccai_strdup(s);
    size_t n = d ? strlen(d) : 0;
    while (n && d[n - 1] == '/')
        d[--n] = '\0';
    return d;
}

Ccai_entra *Ccai_entra_new(const char *scope, const char *const *envp)
{
    if (!envp)
        envp = (const char *const *)environ;
    Ccai_entra *e = Ccai_calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->scope = Ccai_strdup(scope);
    /* v1 endpoints take the resource: the scope without "/.default". */
    e->resource = Ccai_strdup(scope);
    if (!e->scope || !e->resource)
        goto nomem;
    size_t n = strlen(e->resource);
    if (n > 9 && strcmp(e->resource + n - 9, "/.default") == 0)
        e->resource[n - 9] = '\0';
    const char *file = env_get(envp, "AZURE_FEDERATED_TOKEN_FILE");
    const char *client = env_get(envp, "AZURE_CLIENT_ID");
    const char *tenant = env_get(envp, "AZURE_TENANT_ID");
    const char *id_ep = env_get(envp, "IDENTITY_ENDPOINT");
    const char *id_hdr = env_get(envp, "IDENTITY_HEADER");
    if (!dup_opt(&e->client_id, client))
        goto nomem;
    if (file && client && tenant) {
        const char *auth = env_get(envp, "AZURE_AUTHORITY_HOST");
        e->src = SRC_WORKLOAD;
        e->authority = dup_base(auth ? auth : DEFAULT_AUTHORITY);
        if (!e->authority || !dup_opt(&e->token_file, file) || !dup_opt(&e->tenant_id, tenant))
            goto nomem;
    } else if (id_ep && id_hdr) {
        e->src = SRC_APP_SERVICE;
        if (!dup_opt(&e->endpoint, id_ep) || !dup_opt(&e->header, id_hdr))
            goto nomem;
    } else {
        const char *imds = env_get(envp, "AZURE_POD_IDENTITY_AUTHORITY_HOST");
        e->src = SRC_IMDS;
        e->endpoint = dup_base(imds ? imds : DEFAULT_IMDS);
        if (!e->endpoint)
            goto nomem;
    }
    return e;
nomem:
    Ccai_entra_free(e);
    return NULL;
}

void Ccai_entra_free(Ccai_entra *e)
{
    if (!e)
        return;
    if (e->req)
        Ccai_http_cancel(e->req);
    ccai_free(e->scope);
    ccai_free(e->resource);
    ccai_free(e->client_id);
    ccai_free(e->tenant_id);
    ccai_free(e->token_file);
    ccai_free(e->authority);
    ccai_free(e->endpoint);
    ccai_free(e->header);
    ccai_free(e->token);
    ccai_free(e->form);
    ccai_free(e);
}

const char *Ccai_entra_source(const Ccai_entra *e)
{
    switch (e->src) {
    case SRC_WORKLOAD: return "workload identity";
    case SRC_APP_SERVICE: return "App Service managed identity";
    default: return "IMDS managed identity";
    }
}

/* ------------------------------------------------------------------------ */
/* The reply                                                                */
/* ------------------------------------------------------------------------ */

/* A number, or a string of digits (IMDS and App Service send strings). */
static CCAI_MUST_CHECK bool seconds_of(const json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return *out >= 0 && *out < INT64_MAX / 1000;
    }
    const char *s = json_string_value(v);
    if (!s || !*s || strlen(s) > 15)
        return false;
    int64_t n = 0;
    for (; *s; s++) {
        if (!Ccai_is_digit((unsigned char)*s))
            return false;
        n = n * 10 + (*s - '0');
    }
    *out = n;
    return true;
}

ccai_status Ccai_entra_parse_reply(const char *body, size_t len, int64_t now_ms, char **ret_token,
                                   int64_t *ret_expires_ms, char **ret_error)
{
    *ret_token = NULL;
    *ret_error = NULL;
    if (len > CCAI_ENTRA_REPLY_MAX) {
        *ret_error = Ccai_asprintf("reply larger than %d bytes", CCAI_ENTRA_REPLY_MAX);
        return *ret_error ? CCAI_ERR_PARSE : CCAI_ERR_NOMEM;
    }
    Ccai_json_err jerr = {0};
    ccai_status st = CCAI_OK;
    json_t *doc = Ccai_json_load(body, len, &jerr, &st);
    if (!doc && st == CCAI_ERR_NOMEM)
        return st;
    const char *token = json_string_value(json_object_get(doc, "access_token"));
    int64_t in = 0, on = 0;
    bool has_in = seconds_of(json_object_get(doc, "expires_in"), &in);
    bool has_on = seconds_of(json_object_get(doc, "expires_on"), &on);
    if (!json_is_object(doc)) {
        *ret_error = Ccai_asprintf("reply is not a JSON object");
    } else if (!token || !*token || strlen(token) > TOKEN_MAX || strpbrk(token, "\r\n")) {
        const char *err = json_string_value(json_object_get(doc, "error"));
        const char *desc = json_string_value(json_object_get(doc, "error_description"));
        if (!err && json_is_object(json_object_get(doc, "error"))) /* App Service's shape */
            err = json_string_value(json_object_get(json_object_get(doc, "error"), "message"));
        if (err && !*err)
            err = NULL; /* an empty error says nothing: the reply's own failure is told */
        *ret_error = err ? Ccai_asprintf("%s%s%.300s", err, desc ? ": " : "", desc ? desc : "")
                         : Ccai_asprintf("no access_token in the reply");
    } else if (!has_in && !has_on) {
        *ret_error = Ccai_asprintf("no expires_in nor expires_on in the reply");
    } else {
        *ret_token = Ccai_strdup(token);
        *ret_expires_ms = has_in ? now_ms + in * 1000 : on * 1000;
        json_decref(doc);
        return *ret_token ? CCAI_OK : CCAI_ERR_NOMEM;
    }
    json_decref(doc);
    return *ret_error ? CCAI_ERR_PARSE : CCAI_ERR_NOMEM;
}

/* ------------------------------------------------------------------------ */
/* Fetching                                                                 */
/* ------------------------------------------------------------------------ */

static void wake(Ccai_entra *e, ccai_status st, const char *errmsg)
{
    /* Each waiter is taken off first: its callback may wait again. */
    while (e->waiters) {
        Ccai_entra_wait *w = e->waiters;
        e->waiters = w->next;
        w->next = NULL;
        w->waiting = false;
        w->fn(w->ud, st, errmsg);
    }
}

static void on_done(Ccai_http_req *req, ccai_status st, long status, const char *errmsg, void *ud)
{
    Ccai_entra *e = ud;
    e->req = NULL;
    ccai_free(e->form);
    e->form = NULL;
    char *why = NULL;
    if (st == CCAI_OK) {
        size_t len = 0;
        const char *body = Ccai_http_body(req, &len);
        char *token = NULL;
        int64_t expires = 0;
        int64_t now = Ccai_wall_ms();
        st = Ccai_entra_parse_reply(body ? body : "", body ? len : 0, now, &token, &expires, &why);
        if (st == CCAI_OK && (status < 200 || status > 299)) {
            ccai_free(token);
            st = CCAI_ERR_HTTP;
            why = Ccai_asprintf("HTTP %ld", status);
        } else if (st == CCAI_OK) {
            ccai_free(e->token);
            e->token = token;
            e->expires_ms = expires;
            int64_t life = expires - now;
            e->refresh_ms = expires - (life / 2 < REFRESH_BEFORE_MS ? life / 2 : REFRESH_BEFORE_MS);
        } else if (st == CCAI_ERR_PARSE) {
            char *w = Ccai_asprintf("HTTP %ld: %s", status, why ? why : "");
            ccai_free(why);
            why = w;
            st = CCAI_ERR_HTTP;
        }
    } else {
        why = Ccai_strdup(errmsg ? errmsg : ccai_status_str(st));
    }
    char line[600];
    snprintf(line, sizeof line, "Entra ID token (%s): %s", Ccai_entra_source(e),
             why ? why : "out of memory");
    wake(e, st, st == CCAI_OK ? NULL : line);
    ccai_free(why);
}

/* application/x-www-form-urlencoded value. */
static CCAI_MUST_CHECK bool form_put(Ccai_buf *b, const char *name, const char *value, size_t len)
{
    bool ok = Ccai_buf_printf(b, "%s%s=", b->len ? "&" : "", name);
    for (size_t i = 0; ok && i < len; i++) {
        unsigned char ch = (unsigned char)value[i];
        if (Ccai_is_alpha(ch) || Ccai_is_digit(ch) || strchr("-._*", ch))
            ok = Ccai_buf_append(b, &value[i], 1);
        else if (ch == ' ')
            ok = Ccai_buf_append(b, "+", 1);
        else
            ok = Ccai_buf_printf(b, "%%%02X", ch);
    }
    return ok;
}

/* The projected service account token, read again each time (it rotates). */
static char *read_assertion(const char *path, size_t *ret_len, char **why)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        *why = Ccai_asprintf("%s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = Ccai_malloc(ASSERTION_MAX + 1);
    size_t n = buf ? fread(buf, 1, ASSERTION_MAX + 1, f) : 0;
    fclose(f);
    if (!buf)
        return NULL;
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        n--;
    if (n == 0 || n > ASSERTION_MAX) {
        *why = Ccai_asprintf("%s: %s", path, n ? "too large" : "empty");
        ccai_free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *ret_len = n;
    return buf;
}

static CCAI_MUST_CHECK ccai_status start_fetch(Ccai_entra *e, ccai_ctx *ctx, char **why)
{
    *why = NULL;
    Ccai_buf url = {0}, form = {0};
    char *hdr = NULL;
    bool ok = true;
    const char *method = "GET";
    uint32_t connect_ms = 0;
    if (e->src == SRC_WORKLOAD) {
        size_t alen = 0;
        char *assertion = read_assertion(e->token_file, &alen, why);
        if (!assertion)
            return *why ? CCAI_ERR_IO : CCAI_ERR_NOMEM;
        method = "POST";
        ok = Ccai_buf_printf(&url, "%s/%s/oauth2/v2.0/token", e->authority, e->tenant_id) &&
             form_put(&form, "grant_type", "client_credentials", strlen("client_credentials")) &&
             form_put(&form, "client_id", e->client_id, strlen(e->client_id)) &&
             form_put(&form, "scope", e->scope, strlen(e->scope)) &&
             form_put(&form, "client_assertion_type", JWT_BEARER, strlen(JWT_BEARER)) &&
             form_put(&form, "client_assertion", assertion, alen);
        ccai_free(assertion);
        hdr = Ccai_strdup("Content-Type: application/x-www-form-urlencoded");
    } else {
        bool app = e->src == SRC_APP_SERVICE;
        Ccai_buf q = {0};
        const char *version = app ? "2019-08-01" : "2018-02-01";
        ok = form_put(&q, "api-version", version, strlen(version)) &&
             form_put(&q, "resource", e->resource, strlen(e->resource)) &&
             (!e->client_id || form_put(&q, "client_id", e->client_id, strlen(e->client_id))) &&
             Ccai_buf_printf(&url, app ? "%s%s%s" : "%s/metadata/identity/oauth2/token%s%s",
                             e->endpoint, app ? (strchr(e->endpoint, '?') ? "&" : "?") : "?",
                             q.data);
        Ccai_buf_free(&q);
        hdr =
            app ? Ccai_asprintf("X-IDENTITY-HEADER: %s", e->header) : Ccai_strdup("Metadata: true");
        connect_ms = app ? 0 : IMDS_CONNECT_MS;
    }
    ccai_status st = CCAI_ERR_NOMEM;
    if (ok && hdr && url.data) {
        e->form = Ccai_buf_steal(&form);
        const char *headers[] = {hdr, "Accept: application/json", NULL};
        Ccai_http_opts o = {
            .method = method,
            .url = url.data,
            .headers = headers,
            .body = e->form,
            .body_len = e->form ? strlen(e->form) : 0,
            .body_borrowed = true,
            .connect_timeout_ms = connect_ms,
            .total_timeout_ms = FETCH_TIMEOUT_MS,
            .max_response_bytes = CCAI_ENTRA_REPLY_MAX,
            .on_done = on_done,
            .ud = e,
        };
        st = Ccai_http_start(ctx, &o, &e->req);
        if (st != CCAI_OK) {
            *why = Ccai_asprintf("cannot start the request: %s", ccai_status_str(st));
            ccai_free(e->form);
            e->form = NULL;
        }
    }
    Ccai_buf_free(&url);
    Ccai_buf_free(&form);
    ccai_free(hdr);
    return st;
}

const char *Ccai_entra_token(Ccai_entra *e, ccai_ctx *ctx, int64_t now_ms)
{
    if (!e->token || now_ms >= e->expires_ms)
        return NULL;
    if (now_ms >= e->refresh_ms && !e->req) {
        char *why = NULL;
        if (start_fetch(e, ctx, &why) != CCAI_OK)
            Ccai_log(Ccai_ctx_logger(ctx), CCAI_LOG_WARN, "Entra ID token refresh: %s",
                     why ? why : "out of memory");
        ccai_free(why);
    }
    return e->token;
}

ccai_status Ccai_entra_wait_token(Ccai_entra *e, ccai_ctx *ctx, Ccai_entra_wait *w,
                                  void (*fn)(void *ud, ccai_status st, const char *errmsg),
                                  void *ud)
{
    if (!e->req) {
        char *why = NULL;
        ccai_status st = start_fetch(e, ctx, &why);
        if (st != CCAI_OK) {
            Ccai_log(Ccai_ctx_logger(ctx), CCAI_LOG_WARN, "Entra ID token (%s): %s",
                     Ccai_entra_source(e), why ? why : "out of memory");
            ccai_free(why);
            return st;
        }
    }
    w->fn = fn;
    w->ud = ud;
    w->next = e->waiters;
    w->waiting = true;
    e->waiters = w;
    return CCAI_OK;
}

void Ccai_entra_unwait(Ccai_entra *e, Ccai_entra_wait *w)
{
    if (!e || !w->waiting)
        return;
    for (Ccai_entra_wait **p = &e->waiters; *p; p = &(*p)->next) {
        if (*p == w) {
            *p = w->next;
            break;
        }
    }
    w->next = NULL;
    w->waiting = false;
}
