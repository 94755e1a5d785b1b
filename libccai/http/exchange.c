/* Request accessors and answers of an exchange (see the header). */
#include "http/exchange.h"

#include "config/config.h"
#include "core/json.h"
#include "core/metrics.h"
#include "http/router.h"
#include "io/io.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* server.public_url without its trailing slashes, into b. */
static CCAI_MUST_CHECK bool public_base(Ccai_buf *b, const ccai_config *cfg)
{
    const char *base = Ccai_config_str(cfg, "server.public_url");
    size_t n = base ? strlen(base) : 0;
    while (n && base[n - 1] == '/')
        n--;
    return Ccai_buf_append(b, base ? base : "", n);
}

char *Ccai_http_public_url(const ccai_config *cfg, const char *fmt, ...)
{
    Ccai_buf b = {0};
    va_list ap;
    va_start(ap, fmt);
    bool ok = public_base(&b, cfg) && Ccai_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    char *url = ok ? Ccai_buf_steal(&b) : NULL;
    Ccai_buf_free(&b);
    return url;
}

char *Ccai_http_public_url_join(const ccai_config *cfg, ...)
{
    Ccai_buf b = {0};
    va_list ap;
    va_start(ap, cfg);
    bool ok = public_base(&b, cfg);
    for (const char *s = va_arg(ap, const char *); ok && s; s = va_arg(ap, const char *))
        ok = Ccai_buf_puts(&b, s);
    va_end(ap);
    char *url = ok ? Ccai_buf_steal(&b) : NULL;
    Ccai_buf_free(&b);
    return url;
}

const char *Ccai_exchange_header(const ccai_http_exchange *x, const char *name)
{
    for (size_t i = 0; i < x->n_req_headers; i++) {
        if (Ccai_strcasecmp(x->req_headers[i].name, name) == 0)
            return x->req_headers[i].value;
    }
    return NULL;
}

const char *Ccai_exchange_param(const ccai_http_exchange *x, size_t i)
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

char *Ccai_exchange_query(const ccai_http_exchange *x, const char *name)
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

bool Ccai_exchange_add_header(ccai_http_exchange *x, const char *name, const char *value)
{
    Ccai_http_hdr *h = Ccai_realloc(x->res_headers, (x->n_res_headers + 1) * sizeof *h);
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

void Ccai_exchange_respond(ccai_http_exchange *x, int status, const char *content_type,
                           const char *body, size_t len)
{
    if (x->responded)
        return;
    x->responded = true;
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
    Ccai_log(Ccai_router_logger(x->router), status >= 500 ? CCAI_LOG_WARN : CCAI_LOG_DEBUG,
             "http: %s %s -> %d (%llu ms)", x->method, x->path, status,
             (unsigned long long)(Ccai_ctx_now(x->ctx) - x->started));
    char labels[32];
    char code[24];
    Ccai_fmt_i64(code, status);
    Ccai_strjoin(labels, sizeof labels, "code=\"", code, "\"", NULL);
    /* Best effort: a sample lost (out of memory, the series cap) changes
     * nothing of the answer. */
    CCAI_DISCARD(Ccai_metrics_counter_add(Ccai_router_metrics(x->router),
                                          "ccai_http_responses_total", labels, 1));
    if (!x->cancelled)
        x->respond(x, &res, x->ud);
    ccai_free(hs);
    /* Answered inside ccai_ctx_http(): it frees the exchange on return. */
    if (!x->sync)
        Ccai_exchange_free(x);
}

size_t Ccai_http_body_max(const ccai_config *cfg)
{
    int64_t max = Ccai_config_int(cfg, "server.max_body_bytes", 1048576);
    return max <= 0 || (uint64_t)max > CCAI_HTTP_BODY_MAX ? CCAI_HTTP_BODY_MAX : (size_t)max;
}

void Ccai_exchange_json_text(ccai_http_exchange *x, int status, const char *text)
{
    Ccai_exchange_respond(x, status, "application/json", text, strlen(text));
}

void Ccai_exchange_json(ccai_http_exchange *x, int status, json_t *doc)
{
    char *text = doc ? Ccai_json_dump(doc, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    json_decref(doc);
    if (!text) {
        Ccai_exchange_json_text(x, 500, CCAI_JSON_ERROR_NOMEM);
        return;
    }
    Ccai_exchange_json_text(x, status, text);
    ccai_free(text);
}

void Ccai_exchange_error(ccai_http_exchange *x, int status, const char *message, const char *detail)
{
    char *text = Ccai_json_error_envelope(message, detail);
    Ccai_exchange_json_text(x, text ? status : 500, text ? text : CCAI_JSON_ERROR_NOMEM);
    ccai_free(text);
}

void Ccai_exchange_unavailable(ccai_http_exchange *x, ccai_status st, const char *detail)
{
    /* Worth retrying later: a lock held elsewhere is usually short; a full
     * disk or a read-only file needs someone to act first. */
    bool busy = st == CCAI_ERR_BUSY;
    /* Retry-After is advice (RFC 9110): out of memory, the 503 goes
     * without it. */
    CCAI_DISCARD(
        Ccai_exchange_add_header(x, "Retry-After", busy ? "1" : CCAI_HTTP_STORE_RETRY_AFTER));
    Ccai_exchange_error(
        x, 503, busy ? "the database is locked by another process" : "the database is unavailable",
        detail);
}

void Ccai_exchange_fail(ccai_http_exchange *x, ccai_status st, const char *message,
                        const char *detail)
{
    const char *d = detail && *detail ? detail : ccai_status_str(st);
    switch (st) {
    case CCAI_ERR_STORE:
    case CCAI_ERR_BUSY: Ccai_exchange_unavailable(x, st, d); return;
    case CCAI_ERR_NOMEM: Ccai_exchange_error(x, 500, "out of memory", NULL); return;
    case CCAI_ERR_INVALID_ARG:
    case CCAI_ERR_VALIDATION:
    case CCAI_ERR_PARSE: Ccai_exchange_error(x, 400, message, d); return;
    case CCAI_ERR_LIMIT: Ccai_exchange_error(x, 413, message, d); return;
    case CCAI_ERR_NOT_FOUND: Ccai_exchange_error(x, 404, message, d); return;
    case CCAI_ERR_STATE:
    case CCAI_ERR_CONFLICT: Ccai_exchange_error(x, 409, message, d); return;
    default: Ccai_exchange_error(x, 500, message, d); return;
    }
}

void Ccai_exchange_count_rejected(ccai_http_exchange *x, const char *provider, const char *reason)
{
    char labels[96];
    snprintf(labels, sizeof labels, "provider=\"%s\",reason=\"%s\"", provider, reason);
    /* Best effort, as the responses counted in Ccai_exchange_respond(). */
    CCAI_DISCARD(Ccai_metrics_counter_add(Ccai_router_metrics(x->router),
                                          "ccai_webhooks_rejected_total", labels, 1));
}
