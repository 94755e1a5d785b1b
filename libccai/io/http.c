/* Asynchronous HTTP client on libcurl's multi_socket interface. */
#include "io/loop.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HTTP_DEFAULT_CONNECT_MS   10000u
#define HTTP_DEFAULT_MAX_RESPONSE (8u * 1024u * 1024u)
#define HTTP_MAX_HEADER_BYTES     (64u * 1024u)

typedef struct http_header {
    char *name;
    char *value;
} http_header;

struct Ccai_http_req {
    ccai_ctx *ctx;
    struct Ccai_http_req *prev, *next;
    CURL *easy;
    struct curl_slist *headers;
    Ccai_http_opts opts;

    http_header *resp_headers;
    size_t n_resp_headers;
    size_t header_bytes;
    long status;
    bool response_seen; /* on_response fired */
    bool got_byte;      /* first response byte arrived */
    Ccai_buf body;

    Ccai_timer first_byte_timer;
    Ccai_timer idle_timer;
    ccai_status abort_status; /* set when we abort on purpose */
    char *abort_msg;
    bool in_callback;
    bool cancelled;
    bool finished;
    char errbuf[CURL_ERROR_SIZE];
};

static CURLM *multi_of(const ccai_ctx *ctx)
{
    return (CURLM *)Ccai_ctx_loop(ctx)->multi;
}

size_t Ccai_http_in_flight(const ccai_ctx *ctx)
{
    return Ccai_ctx_loop(ctx)->n_reqs;
}

uint64_t Ccai_http_deadline(const Ccai_loop *l)
{
    return l->curl_deadline;
}

/* curl → host loop --------------------------------------------------------- */

static void on_curl_fd(ccai_ctx *ctx, int fd, int events, void *ud)
{
    CCAI_UNUSED(ud);
    Ccai_http_socket_action(ctx, fd, events);
}

static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    ccai_ctx *ctx = userp;
    CCAI_UNUSED(easy);
    CCAI_UNUSED(socketp);
    if (what == CURL_POLL_REMOVE) {
        Ccai_fd_forget(ctx, (int)s);
        return 0;
    }
    int events = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
        events |= CCAI_POLL_IN;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
        events |= CCAI_POLL_OUT;
    return Ccai_fd_watch(ctx, (int)s, events, on_curl_fd, NULL) == CCAI_OK ? 0 : -1;
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    Ccai_loop *l = userp;
    CCAI_UNUSED(multi);
    if (timeout_ms < 0)
        l->curl_deadline = UINT64_MAX;
    else
        l->curl_deadline = l->clock(l->clock_ud) + (uint64_t)timeout_ms;
    /* Re-armed by the entry point that led here (Ccai_ctx_leave). */
    if (l->depth == 0)
        Ccai_loop_rearm(l);
    return 0;
}

/* libcurl's global state: process-wide state of libccai's (see
 * ccai_global_init()). Every context and every ccai_global_init() holds a
 * reference: curl_global_init() for each, curl_global_cleanup() when it is
 * given back, libcurl counting them and doing the work for the first and
 * the last. The lock keeps libccai's own calls from running at the same
 * time on several threads: neither is thread-safe before libcurl 7.84.
 * host_refs counts the ccai_global_init() not given back yet, so that an
 * unmatched ccai_global_cleanup() cannot take a context's reference. */
static pthread_mutex_t global_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long host_refs;

static CCAI_MUST_CHECK ccai_status global_ref(bool host)
{
    pthread_mutex_lock(&global_lock);
    bool ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
    if (ok && host)
        host_refs++;
    pthread_mutex_unlock(&global_lock);
    return ok ? CCAI_OK : CCAI_ERR_INTERNAL;
}

static void global_unref(bool host)
{
    pthread_mutex_lock(&global_lock);
    if (!host || host_refs > 0) {
        if (host)
            host_refs--;
        curl_global_cleanup();
    }
    pthread_mutex_unlock(&global_lock);
}

CCAI_EXPORT ccai_status ccai_global_init(void)
{
    return global_ref(true);
}

CCAI_EXPORT void ccai_global_cleanup(void)
{
    global_unref(true);
}

ccai_status Ccai_http_loop_init(Ccai_loop *l)
{
    ccai_status st = global_ref(false);
    if (st != CCAI_OK)
        return st;
    l->curl_global = true;
    CURLM *multi = curl_multi_init();
    if (!multi)
        return CCAI_ERR_NOMEM;
    l->multi = multi;
    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, l->ctx);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(multi, CURLMOPT_TIMERDATA, l);
    /* Keep connections to the LLM and providers for reuse: with thousands
     * of calls the default cache (a few per transfer in flight) churns. */
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, 4096L);
    return CCAI_OK;
}

/* Requests ------------------------------------------------------------------ */

static void req_unlink(Ccai_http_req *r)
{
    Ccai_loop *l = Ccai_ctx_loop(r->ctx);
    if (r->prev)
        r->prev->next = r->next;
    else if (l->reqs == r)
        l->reqs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->prev = r->next = NULL;
    l->n_reqs--;
}

static void req_destroy(Ccai_http_req *r)
{
    ccai_ctx *ctx = r->ctx;
    Ccai_timer_stop(ctx, &r->first_byte_timer);
    Ccai_timer_stop(ctx, &r->idle_timer);
    if (r->easy) {
        curl_multi_remove_handle(multi_of(ctx), r->easy);
        curl_easy_cleanup(r->easy);
    }
    curl_slist_free_all(r->headers);
    for (size_t i = 0; i < r->n_resp_headers; i++) {
        ccai_free(r->resp_headers[i].name);
        ccai_free(r->resp_headers[i].value);
    }
    ccai_free(r->resp_headers);
    Ccai_buf_free(&r->body);
    ccai_free(r->abort_msg);
    ccai_free(r);
}

static void clear_resp_headers(Ccai_http_req *r)
{
    for (size_t i = 0; i < r->n_resp_headers; i++) {
        ccai_free(r->resp_headers[i].name);
        ccai_free(r->resp_headers[i].value);
    }
    r->n_resp_headers = 0;
}

static void req_abort(Ccai_http_req *r, ccai_status st, const char *msg)
{
    if (r->abort_status != CCAI_OK)
        return;
    r->abort_status = st;
    r->abort_msg = Ccai_strdup(msg);
}

/* Finish: exactly one on_done unless cancelled, then free. */
static void req_finish(Ccai_http_req *r, ccai_status st, const char *msg)
{
    r->finished = true;
    req_unlink(r);
    if (!r->cancelled && r->opts.on_done) {
        r->in_callback = true;
        r->opts.on_done(r, st, r->status, msg, r->opts.ud);
        r->in_callback = false;
    }
    req_destroy(r);
}

static void mark_first_byte(Ccai_http_req *r)
{
    if (r->got_byte)
        return;
    r->got_byte = true;
    Ccai_timer_stop(r->ctx, &r->first_byte_timer);
}

static size_t on_header(char *buf, size_t size, size_t n, void *ud)
{
    Ccai_http_req *r = ud;
    size_t len = size * n;
    if (r->cancelled)
        return 0;
    mark_first_byte(r);
    r->header_bytes += len;
    if (r->header_bytes > HTTP_MAX_HEADER_BYTES) {
        req_abort(r, CCAI_ERR_LIMIT, "http: response headers too large");
        return 0;
    }
    if (len >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
        /* A new response (after 1xx or a redirect): start over. */
        clear_resp_headers(r);
        return len;
    }
    if (len <= 2) { /* end of headers */
        long code = 0;
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
        if (code >= 200 && !r->response_seen) {
            r->status = code;
            r->response_seen = true;
            if (r->opts.on_response) {
                r->in_callback = true;
                r->opts.on_response(r, code, r->opts.ud);
                r->in_callback = false;
                if (r->cancelled)
                    return 0;
            }
        }
        return len;
    }
    const char *colon = memchr(buf, ':', len);
    if (!colon)
        return len;
    const char *v = colon + 1;
    const char *end = buf + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    http_header *hs = Ccai_realloc(r->resp_headers, (r->n_resp_headers + 1) * sizeof *hs);
    if (!hs) {
        req_abort(r, CCAI_ERR_NOMEM, "http: out of memory");
        return 0;
    }
    r->resp_headers = hs;
    char *name = Ccai_strndup(buf, (size_t)(colon - buf));
    char *value = Ccai_strndup(v, (size_t)(end - v));
    if (!name || !value) {
        ccai_free(name);
        ccai_free(value);
        req_abort(r, CCAI_ERR_NOMEM, "http: out of memory");
        return 0;
    }
    hs[r->n_resp_headers].name = name;
    hs[r->n_resp_headers].value = value;
    r->n_resp_headers++;
    return len;
}

static size_t on_write(char *buf, size_t size, size_t n, void *ud)
{
    Ccai_http_req *r = ud;
    size_t len = size * n;
    if (r->cancelled)
        return 0;
    mark_first_byte(r);
    if (r->opts.idle_timeout_ms)
        Ccai_timer_start(r->ctx, &r->idle_timer, r->opts.idle_timeout_ms);
    if (r->opts.on_data) {
        r->in_callback = true;
        int stop = r->opts.on_data(r, buf, len, r->opts.ud);
        r->in_callback = false;
        if (r->cancelled)
            return 0;
        if (stop) {
            req_abort(r, CCAI_ERR_CANCELLED, "http: aborted by the receiver");
            return 0;
        }
        return len;
    }
    size_t max =
        r->opts.max_response_bytes ? r->opts.max_response_bytes : HTTP_DEFAULT_MAX_RESPONSE;
    if (r->body.len + len > max) {
        req_abort(r, CCAI_ERR_LIMIT, "http: response body too large");
        return 0;
    }
    if (!Ccai_buf_append(&r->body, buf, len)) {
        req_abort(r, CCAI_ERR_NOMEM, "http: out of memory");
        return 0;
    }
    return len;
}

/* Our own timeouts abort from a timer callback, outside any curl frame. */
static void abort_now(Ccai_http_req *r, ccai_status st, const char *msg)
{
    req_abort(r, st, msg);
    req_finish(r, r->abort_status, r->abort_msg ? r->abort_msg : msg);
}

static void on_first_byte_timeout(Ccai_timer *t, void *ud)
{
    Ccai_http_req *r = ud;
    CCAI_UNUSED(t);
    char msg[96];
    snprintf(msg, sizeof msg, "http: no response within %u ms", r->opts.first_byte_timeout_ms);
    abort_now(r, CCAI_ERR_TIMEOUT, msg);
}

static void on_idle_timeout(Ccai_timer *t, void *ud)
{
    Ccai_http_req *r = ud;
    CCAI_UNUSED(t);
    char msg[96];
    snprintf(msg, sizeof msg, "http: response stalled for %u ms", r->opts.idle_timeout_ms);
    abort_now(r, CCAI_ERR_TIMEOUT, msg);
}

static CCAI_MUST_CHECK ccai_status curl_status(CURLcode rc)
{
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT: return CCAI_ERR_TIMEOUT;
    case CURLE_OUT_OF_MEMORY: return CCAI_ERR_NOMEM;
    default: return CCAI_ERR_HTTP;
    }
}

/* Requests cancelled while libcurl was running are removed once it returns:
 * libcurl forbids removing a handle from inside its callbacks. */
static void sweep_cancelled(ccai_ctx *ctx)
{
    Ccai_loop *l = Ccai_ctx_loop(ctx);
    if (!l->cancel_pending)
        return;
    l->cancel_pending = false;
    Ccai_http_req *r = l->reqs;
    while (r) {
        Ccai_http_req *next = r->next;
        if (r->cancelled && !r->finished && !r->in_callback) {
            req_unlink(r);
            r->finished = true;
            req_destroy(r);
        }
        r = next;
    }
}

static void run_curl(ccai_ctx *ctx, curl_socket_t fd, int mask)
{
    int running = 0;
    Ccai_loop *l = Ccai_ctx_loop(ctx);
    l->in_curl = true;
    curl_multi_socket_action(l->multi, fd, mask, &running);
    l->in_curl = false;
}

static void check_done(ccai_ctx *ctx)
{
    CURLMsg *m;
    int left;
    Ccai_loop *l = Ccai_ctx_loop(ctx);
    while (!l->free_pending && (m = curl_multi_info_read(l->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        Ccai_http_req *r = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        if (!r || r->finished)
            continue;
        CURLcode rc = m->data.result;
        if (r->abort_status != CCAI_OK) {
            req_finish(r, r->abort_status, r->abort_msg ? r->abort_msg : "http: aborted");
        } else if (rc == CURLE_OK) {
            if (!r->status)
                curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
            req_finish(r, CCAI_OK, NULL);
        } else {
            char msg[CURL_ERROR_SIZE + 64];
            snprintf(msg, sizeof msg, "http: %s",
                     r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc));
            req_finish(r, curl_status(rc), msg);
        }
    }
}

void Ccai_http_socket_action(ccai_ctx *ctx, int fd, int events)
{
    if (!Ccai_ctx_loop(ctx)->multi)
        return;
    int mask = 0;
    if (events & CCAI_POLL_IN)
        mask |= CURL_CSELECT_IN;
    if (events & CCAI_POLL_OUT)
        mask |= CURL_CSELECT_OUT;
    if (events & CCAI_POLL_ERR)
        mask |= CURL_CSELECT_ERR;
    run_curl(ctx, (curl_socket_t)fd, mask);
    check_done(ctx);
    sweep_cancelled(ctx);
}

void Ccai_http_timeout(ccai_ctx *ctx)
{
    Ccai_loop *l = Ccai_ctx_loop(ctx);
    if (!l->multi)
        return;
    l->curl_deadline = UINT64_MAX;
    run_curl(ctx, CURL_SOCKET_TIMEOUT, 0);
    check_done(ctx);
    sweep_cancelled(ctx);
}

ccai_status Ccai_http_start(ccai_ctx *ctx, const Ccai_http_opts *opts, Ccai_http_req **ret)
{
    if (!ctx || !opts || !opts->url || !ret || !Ccai_ctx_loop(ctx)->multi)
        return CCAI_ERR_INVALID_ARG;
    Ccai_loop *loop = Ccai_ctx_loop(ctx);
    if (opts->body_len > 64u * 1024u * 1024u)
        return CCAI_ERR_LIMIT;
    Ccai_http_req *r = Ccai_calloc(1, sizeof *r);
    if (!r)
        return CCAI_ERR_NOMEM;
    r->ctx = ctx;
    r->opts = *opts;
    /* Only the caller's strings are borrowed until here: clear them. */
    r->opts.url = NULL;
    r->opts.headers = NULL;
    r->opts.body = NULL;
    r->opts.method = NULL;
    Ccai_timer_init(&r->first_byte_timer, on_first_byte_timeout, r);
    Ccai_timer_init(&r->idle_timer, on_idle_timeout, r);

    ccai_status st = CCAI_ERR_NOMEM;
    CURL *e = r->easy = curl_easy_init();
    if (!e)
        goto fail;
    for (const char *const *h = opts->headers; h && *h; h++) {
        struct curl_slist *l = curl_slist_append(r->headers, *h);
        if (!l)
            goto fail;
        r->headers = l;
    }
    /* libcurl adds "Expect: 100-continue" to larger POSTs: a round trip for nothing. */
    if (opts->body) {
        struct curl_slist *l = curl_slist_append(r->headers, "Expect:");
        if (!l)
            goto fail;
        r->headers = l;
    }
    bool ok =
        curl_easy_setopt(e, CURLOPT_URL, opts->url) == CURLE_OK &&
        curl_easy_setopt(e, CURLOPT_PRIVATE, r) == CURLE_OK &&
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf) == CURLE_OK &&
        curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header) == CURLE_OK &&
        curl_easy_setopt(e, CURLOPT_HEADERDATA, r) == CURLE_OK &&
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write) == CURLE_OK &&
        curl_easy_setopt(e, CURLOPT_WRITEDATA, r) == CURLE_OK &&
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers) == CURLE_OK &&
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                         (long)(opts->connect_timeout_ms ? opts->connect_timeout_ms
                                                         : HTTP_DEFAULT_CONNECT_MS)) == CURLE_OK &&
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)opts->total_timeout_ms) == CURLE_OK &&
        curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "") == CURLE_OK;
    if (ok && opts->body)
        ok = curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)opts->body_len) ==
                 CURLE_OK &&
             curl_easy_setopt(e, opts->body_borrowed ? CURLOPT_POSTFIELDS : CURLOPT_COPYPOSTFIELDS,
                              (const char *)opts->body) == CURLE_OK;
    /* A stream of small events needs no 16 KiB buffer per request. */
    if (ok && opts->recv_buffer)
        ok = curl_easy_setopt(e, CURLOPT_BUFFERSIZE, (long)opts->recv_buffer) == CURLE_OK;
    if (ok && opts->method)
        ok = curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, opts->method) == CURLE_OK;
    if (!ok)
        goto fail;

    r->next = loop->reqs;
    if (loop->reqs)
        loop->reqs->prev = r;
    loop->reqs = r;
    loop->n_reqs++;
    if (opts->first_byte_timeout_ms)
        Ccai_timer_start(ctx, &r->first_byte_timer, opts->first_byte_timeout_ms);
    if (curl_multi_add_handle(multi_of(ctx), e) != CURLM_OK) {
        req_unlink(r);
        st = CCAI_ERR_HTTP;
        goto fail;
    }
    *ret = r;
    return CCAI_OK;

fail:
    Ccai_timer_stop(ctx, &r->first_byte_timer);
    if (r->easy) {
        curl_easy_cleanup(r->easy);
        r->easy = NULL;
    }
    curl_slist_free_all(r->headers);
    ccai_free(r);
    return st;
}

void Ccai_http_cancel(Ccai_http_req *r)
{
    if (!r || r->cancelled)
        return;
    r->cancelled = true;
    if (r->finished)
        return; /* on_done is running: freed when it returns */
    Ccai_loop *l = Ccai_ctx_loop(r->ctx);
    if (r->in_callback || l->in_curl) {
        l->cancel_pending = true;
        return;
    }
    req_unlink(r);
    r->finished = true;
    req_destroy(r);
}

bool Ccai_http_body_sent(const Ccai_http_req *r)
{
    curl_off_t sent = 0;
    return r && r->easy && curl_easy_getinfo(r->easy, CURLINFO_SIZE_UPLOAD_T, &sent) == CURLE_OK &&
           sent >= 0 && (size_t)sent >= r->opts.body_len;
}

const char *Ccai_http_header(const Ccai_http_req *r, const char *name)
{
    const char *found = NULL;
    for (size_t i = 0; r && name && i < r->n_resp_headers; i++) {
        if (Ccai_strcasecmp(r->resp_headers[i].name, name) == 0)
            found = r->resp_headers[i].value;
    }
    return found;
}

const char *Ccai_http_body(const Ccai_http_req *r, size_t *ret_len)
{
    if (ret_len)
        *ret_len = r->body.len;
    return r->body.data ? r->body.data : "";
}

void Ccai_http_loop_cleanup(Ccai_loop *l)
{
    while (l->reqs) {
        Ccai_http_req *r = l->reqs;
        req_unlink(r);
        r->finished = true;
        req_destroy(r);
    }
    if (l->multi) {
        curl_multi_cleanup(l->multi);
        l->multi = NULL;
    }
    if (l->curl_global) {
        global_unref(false);
        l->curl_global = false;
    }
}

int64_t Ccai_http_retry_after_ms(const char *retry_after, const char *retry_after_ms,
                                 int64_t now_wall_ms, int64_t max_ms)
{
    /* retry-after-ms, when usable, decides (as the official SDK). */
    if (retry_after_ms && *retry_after_ms) {
        char *end = NULL;
        double v = strtod(retry_after_ms, &end);
        if (end != retry_after_ms && v > 0)
            return v <= (double)max_ms ? (int64_t)v : -1;
    }
    if (!retry_after || !*retry_after)
        return -1;
    char *end = NULL;
    double secs = strtod(retry_after, &end);
    if (end != retry_after && (*end == '\0' || Ccai_is_space((unsigned char)*end))) {
        if (secs > 0 && secs * 1000.0 <= (double)max_ms)
            return (int64_t)(secs * 1000.0);
        return -1;
    }
    /* HTTP date: "Wed, 21 Oct 2015 07:28:00 GMT". */
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *rest = strptime(retry_after, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!rest)
        return -1;
    int64_t at = (int64_t)timegm(&tm) * 1000;
    int64_t delta = at - now_wall_ms;
    return delta > 0 && delta <= max_ms ? delta : -1;
}
