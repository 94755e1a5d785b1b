/* OpenAI-compatible stand-in: one epoll thread; each request is turned into
 * a plan (timed writes ending in keep-alive or close) that the loop plays. */
#include "support/llm_standin.h"

#include "support/http_head.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_HEAD       (64 * 1024)
#define MAX_BODY       (16 * 1024 * 1024)
#define OUT_HIGH_WATER (256 * 1024)

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

enum { ACT_NONE, ACT_CLOSE, ACT_END };

enum { MARK_FIRST = 1, MARK_LAST = 2 }; /* content pieces, for the timings */

typedef struct step {
    int delay_ms;
    int act;
    int mark;
    char *data;
    size_t len;
} step;

typedef struct plan {
    step *v;
    size_t n, cap;
    int is_stream;
} plan;

typedef http_hdr hdr;

typedef struct record {
    char *method, *target, *body, *deployment;
    hdr *hdrs;
    size_t nh;
} record;

typedef struct conn {
    int fd;
    int ep; /* the loop's epoll, which watches fd */
    int dead;
    buf in, out;
    size_t out_off;
    int pollout;
    int busy; /* a response is being played */
    int counted_stream;
    int keepalive;
    int expect_sent;
    int close_after_flush, end_after_flush;
    plan pl;
    size_t next;
    uint64_t due;
    uint64_t rx_ns; /* when the bytes of the request being parsed arrived */
    size_t tidx;    /* timing slot of the response being played, SIZE_MAX = none */
    int mark;       /* MARK_* of steps written but not yet fully sent */
    struct conn *prev, *nxt;
} conn;

struct standin {
    int listen_fd, ep, wake_fd, port;
    pthread_t thread;
    int stop;
    standin_opts opts;
    char *key, *model;
    pthread_mutex_t lock; /* guards everything below */
    standin_spec **q;
    size_t qn, qcap, qhead;
    record *recs;
    size_t nrecs, rcap;
    size_t nrecs_dropped;  /* counted only, opts.no_record */
    standin_timing *times; /* one per logged request, opts.no_record or not */
    size_t ntimes, tcap;
    standin_stats stats;
    unsigned long seq; /* chatcmpl-<n>, loop thread only */
    conn *conns;       /* loop thread only */
};

/* ---- small helpers ---- */

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static char *xstrdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

static char *xstrndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static int buf_add(buf *b, const void *d, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

static int buf_str(buf *b, const char *s)
{
    return buf_add(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static int buf_printf(buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    char *tmp = malloc((size_t)n + 1);
    if (!tmp)
        return -1;
    va_start(ap, fmt);
    vsnprintf(tmp, (size_t)n + 1, fmt, ap);
    va_end(ap);
    int rc = buf_add(b, tmp, (size_t)n);
    free(tmp);
    return rc;
}

/* Largest cut <= want that does not split a UTF-8 sequence (but at least 1 char). */
static size_t utf8_cut(const char *s, size_t len, size_t want)
{
    if (want >= len)
        return len;
    size_t i = want;
    while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80)
        i--;
    if (i == 0) {
        i = want;
        while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80)
            i++;
    }
    return i;
}

/* ---- spec copies ---- */

static char **strv_dup(const char *const *v, size_t n)
{
    if (!n)
        return NULL;
    char **out = calloc(n, sizeof *out);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++)
        out[i] = xstrdup(v[i] ? v[i] : "");
    return out;
}

static void strv_free(const char *const *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free((char *)v[i]);
    free((void *)v);
}

static void spec_free(standin_spec *s)
{
    if (!s)
        return;
    free((char *)s->content);
    strv_free(s->chunks, s->n_chunks);
    for (size_t i = 0; i < s->n_tool_calls; i++) {
        standin_tool_call *t = (standin_tool_call *)&s->tool_calls[i];
        free((char *)t->id);
        free((char *)t->name);
        free((char *)t->arguments);
        strv_free(t->arg_chunks, t->n_arg_chunks);
    }
    free((void *)s->tool_calls);
    free((char *)s->finish_reason);
    free((char *)s->model);
    free((char *)s->body);
    free((char *)s->extra_headers);
    free((char *)s->malformed_data);
    free((char *)s->error_message);
    free((char *)s->error_type);
    free(s);
}

static standin_spec *spec_dup(const standin_spec *in)
{
    standin_spec *s = malloc(sizeof *s);
    if (!s)
        return NULL;
    *s = *in;
    s->content = xstrdup(in->content);
    s->chunks = (const char *const *)strv_dup(in->chunks, in->n_chunks);
    s->n_chunks = s->chunks ? in->n_chunks : 0;
    s->tool_calls = NULL;
    s->n_tool_calls = 0;
    if (in->n_tool_calls) {
        standin_tool_call *t = calloc(in->n_tool_calls, sizeof *t);
        if (t) {
            for (size_t i = 0; i < in->n_tool_calls; i++) {
                const standin_tool_call *o = &in->tool_calls[i];
                t[i] = *o;
                t[i].id = xstrdup(o->id);
                t[i].name = xstrdup(o->name);
                t[i].arguments = xstrdup(o->arguments);
                t[i].arg_chunks = (const char *const *)strv_dup(o->arg_chunks, o->n_arg_chunks);
                t[i].n_arg_chunks = t[i].arg_chunks ? o->n_arg_chunks : 0;
            }
            s->tool_calls = t;
            s->n_tool_calls = in->n_tool_calls;
        }
    }
    s->finish_reason = xstrdup(in->finish_reason);
    s->model = xstrdup(in->model);
    s->body = xstrdup(in->body);
    s->extra_headers = xstrdup(in->extra_headers);
    s->malformed_data = xstrdup(in->malformed_data);
    s->error_message = xstrdup(in->error_message);
    s->error_type = xstrdup(in->error_type);
    return s;
}

void standin_push(standin *h, const standin_spec *spec)
{
    if (!h || !spec)
        return;
    standin_spec *s = spec_dup(spec);
    if (!s)
        return;
    pthread_mutex_lock(&h->lock);
    if (h->qn == h->qcap) {
        size_t cap = h->qcap ? h->qcap * 2 : 16;
        standin_spec **q = realloc(h->q, cap * sizeof *q);
        if (!q) {
            pthread_mutex_unlock(&h->lock);
            spec_free(s);
            return;
        }
        h->q = q;
        h->qcap = cap;
    }
    h->q[h->qn++] = s;
    pthread_mutex_unlock(&h->lock);
}

/* Returns the spec to play and whether the caller owns it. */
static standin_spec *spec_pop(standin *h, int *owned)
{
    standin_spec *s = NULL;
    *owned = 0;
    pthread_mutex_lock(&h->lock);
    if (h->qn) {
        if (h->opts.cycle) {
            s = h->q[h->qhead % h->qn];
            h->qhead = (h->qhead + 1) % h->qn;
        } else {
            s = h->q[0];
            memmove(h->q, h->q + 1, (h->qn - 1) * sizeof *h->q);
            h->qn--;
            *owned = 1;
        }
    }
    pthread_mutex_unlock(&h->lock);
    return s;
}

int standin_pending(standin *h)
{
    if (!h)
        return 0;
    pthread_mutex_lock(&h->lock);
    int n = (int)h->qn;
    pthread_mutex_unlock(&h->lock);
    return n;
}

/* ---- JSON spec form ---- */

static int j_int(json_t *v, int *out)
{
    if (json_is_integer(v))
        *out = (int)json_integer_value(v);
    else if (json_is_boolean(v))
        *out = json_is_true(v);
    else
        return -1;
    return 0;
}

static int j_str(json_t *v, const char **out)
{
    if (json_is_null(v)) {
        *out = NULL;
        return 0;
    }
    if (!json_is_string(v))
        return -1;
    *out = json_string_value(v);
    return 0;
}

/* Borrowed string array from a JSON array of strings (caller frees the array). */
static int j_strv(json_t *v, const char ***out, size_t *n)
{
    if (!json_is_array(v))
        return -1;
    size_t k = json_array_size(v);
    const char **a = calloc(k ? k : 1, sizeof *a);
    if (!a)
        return -1;
    for (size_t i = 0; i < k; i++) {
        if (!json_is_string(json_array_get(v, i))) {
            free(a);
            return -1;
        }
        a[i] = json_string_value(json_array_get(v, i));
    }
    *out = a;
    *n = k;
    return 0;
}

static int parse_tool_calls(json_t *v, standin_tool_call **out, size_t *n)
{
    if (!json_is_array(v))
        return -1;
    size_t k = json_array_size(v);
    standin_tool_call *t = calloc(k ? k : 1, sizeof *t);
    if (!t)
        return -1;
    *out = t;
    *n = k;
    for (size_t i = 0; i < k; i++) {
        json_t *o = json_array_get(v, i);
        const char *key;
        json_t *val;
        if (!json_is_object(o))
            return -1;
        json_object_foreach(o, key, val)
        {
            int rc;
            if (!strcmp(key, "id"))
                rc = j_str(val, &t[i].id);
            else if (!strcmp(key, "name"))
                rc = j_str(val, &t[i].name);
            else if (!strcmp(key, "arguments")) {
                if (json_is_object(val) || json_is_array(val))
                    return -1; /* arguments are a JSON string on the wire */
                rc = j_str(val, &t[i].arguments);
            } else if (!strcmp(key, "arg_chunks")) {
                const char **a = NULL;
                rc = j_strv(val, &a, &t[i].n_arg_chunks);
                t[i].arg_chunks = a;
            } else if (!strcmp(key, "arg_pieces"))
                rc = j_int(val, &t[i].arg_pieces);
            else
                rc = -1;
            if (rc)
                return -1;
        }
    }
    return 0;
}

static int parse_stream_error(json_t *v, standin_spec *s)
{
    const char *key;
    json_t *val;
    if (!json_is_object(v))
        return -1;
    json_object_foreach(v, key, val)
    {
        int rc;
        if (!strcmp(key, "after"))
            rc = j_int(val, &s->error_after);
        else if (!strcmp(key, "style")) {
            const char *st = NULL;
            rc = j_str(val, &st);
            if (!rc && st && !strcmp(st, "field"))
                s->error_style = STANDIN_ERROR_FIELD;
            else if (!rc && st && strcmp(st, "data"))
                rc = -1;
        } else if (!strcmp(key, "message"))
            rc = j_str(val, &s->error_message);
        else if (!strcmp(key, "type"))
            rc = j_str(val, &s->error_type);
        else if (!strcmp(key, "code"))
            rc = json_is_null(val) ? 0 : j_int(val, &s->error_code);
        else
            rc = -1;
        if (rc)
            return -1;
    }
    return 0;
}

static int parse_headers(json_t *v, buf *b)
{
    const char *key;
    json_t *val;
    if (!json_is_object(v))
        return -1;
    json_object_foreach(v, key, val)
    {
        if (json_is_string(val)) {
            if (buf_printf(b, "%s: %s\n", key, json_string_value(val)))
                return -1;
        } else if (json_is_integer(val)) {
            if (buf_printf(b, "%s: %lld\n", key, (long long)json_integer_value(val)))
                return -1;
        } else {
            return -1;
        }
    }
    return 0;
}

typedef struct int_field {
    const char *name;
    size_t off;
} int_field;

/* clang-format off */
#define IF(f) {#f, offsetof(standin_spec, f)}
/* clang-format on */
static const int_field int_fields[] = {
    IF(chunk_bytes),
    IF(empty_ids),
    IF(azure),
    IF(azure_trailing_annotation),
    IF(include_usage),
    IF(ollama),
    IF(header_delay_ms),
    IF(ttft_ms),
    IF(chunk_ms),
    IF(status),
    IF(retry_after),
    IF(retry_after_ms),
    IF(drop),
    IF(stall_after),
    IF(stall_ms),
    IF(stall_close),
    IF(cut_after),
    IF(malformed_chunk),
    IF(no_done),
    IF(split_events),
    IF(prompt_jailbreak),
};
#undef IF

static int parse_spec_field(standin_spec *s, const char *key, json_t *val, buf *hb,
                            const char ***chunks, standin_tool_call **tc, char **body_dump)
{
    for (size_t i = 0; i < sizeof int_fields / sizeof int_fields[0]; i++) {
        if (!strcmp(key, int_fields[i].name))
            return j_int(val, (int *)(void *)((char *)s + int_fields[i].off));
    }
    if (!strcmp(key, "kind")) {
        const char *k = NULL;
        if (j_str(val, &k) || !k)
            return -1;
        if (!strcmp(k, "text"))
            s->kind = STANDIN_TEXT;
        else if (!strcmp(k, "tool_calls"))
            s->kind = STANDIN_TOOL_CALLS;
        else if (!strcmp(k, "mixed"))
            s->kind = STANDIN_MIXED;
        else if (strcmp(k, "auto"))
            return -1;
        return 0;
    }
    if (!strcmp(key, "content"))
        return j_str(val, &s->content);
    if (!strcmp(key, "chunks")) {
        if (j_strv(val, chunks, &s->n_chunks))
            return -1;
        s->chunks = *chunks;
        return 0;
    }
    if (!strcmp(key, "tool_calls")) {
        int rc = parse_tool_calls(val, tc, &s->n_tool_calls);
        s->tool_calls = *tc;
        return rc;
    }
    if (!strcmp(key, "finish_reason"))
        return j_str(val, &s->finish_reason);
    if (!strcmp(key, "model"))
        return j_str(val, &s->model);
    if (!strcmp(key, "body")) {
        if (json_is_object(val)) { /* convenience: the body as JSON */
            free(*body_dump);
            *body_dump = json_dumps(val, JSON_COMPACT | JSON_PRESERVE_ORDER);
            s->body = *body_dump;
            return *body_dump ? 0 : -1;
        }
        return j_str(val, &s->body);
    }
    if (!strcmp(key, "headers"))
        return parse_headers(val, hb);
    if (!strcmp(key, "malformed_data"))
        return j_str(val, &s->malformed_data);
    if (!strcmp(key, "stream_error"))
        return parse_stream_error(val, s);
    return -1;
}

int standin_push_json(standin *h, const char *json)
{
    if (!h || !json)
        return -1;
    json_t *root = json_loads(json, 0, NULL);
    if (!json_is_object(root)) {
        json_decref(root);
        return -1;
    }
    standin_spec s = STANDIN_SPEC_INIT;
    buf hb = {0};
    const char **chunks = NULL;
    standin_tool_call *tc = NULL;
    char *body_dump = NULL;
    int rc = 0;
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val)
    {
        if (parse_spec_field(&s, key, val, &hb, &chunks, &tc, &body_dump)) {
            rc = -1;
            break;
        }
    }
    if (!rc && s.kind == STANDIN_TOOL_CALLS && !s.n_tool_calls)
        rc = -1;
    if (!rc) {
        s.extra_headers = hb.p;
        standin_push(h, &s);
    }
    if (tc) {
        for (size_t i = 0; i < s.n_tool_calls; i++)
            free((void *)tc[i].arg_chunks);
        free(tc);
    }
    free(chunks);
    free(hb.p);
    free(body_dump);
    json_decref(root);
    return rc;
}

/* ---- request log ---- */

typedef struct req {
    char method[16];
    char *target; /* as sent */
    char *path;   /* target without query */
    const char *query;
    hdr *hdrs;
    size_t nh;
    char *body;
    size_t body_len;
    int keepalive;
} req;

static const char *req_header(const req *r, const char *name)
{
    for (size_t i = 0; i < r->nh; i++) {
        if (!strcasecmp(r->hdrs[i].name, name))
            return r->hdrs[i].value;
    }
    return NULL;
}

static void req_clear(req *r)
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

/* A timing slot for the request just read; SIZE_MAX when out of memory. */
static size_t timing_add(standin *h, uint64_t rx_ns)
{
    size_t i = SIZE_MAX;
    pthread_mutex_lock(&h->lock);
    if (h->ntimes == h->tcap) {
        size_t cap = h->tcap ? h->tcap * 2 : 256;
        standin_timing *t = realloc(h->times, cap * sizeof *t);
        if (t) {
            h->times = t;
            h->tcap = cap;
        }
    }
    if (h->ntimes < h->tcap) {
        i = h->ntimes++;
        h->times[i] = (standin_timing){rx_ns, 0, 0};
    }
    pthread_mutex_unlock(&h->lock);
    return i;
}

/* The response's content pieces in c->mark were fully handed to the kernel. */
static void timing_stamp(standin *h, conn *c)
{
    if (!c->mark)
        return;
    uint64_t t = now_ns();
    pthread_mutex_lock(&h->lock);
    if (c->tidx < h->ntimes) {
        standin_timing *tm = &h->times[c->tidx];
        if ((c->mark & MARK_FIRST) && !tm->first_token_ns)
            tm->first_token_ns = t;
        if (c->mark & MARK_LAST)
            tm->last_token_ns = t;
    }
    pthread_mutex_unlock(&h->lock);
    c->mark = 0;
}

static void record_add(standin *h, const req *r, const char *deployment)
{
    if (h->opts.no_record) {
        pthread_mutex_lock(&h->lock);
        h->nrecs_dropped++;
        pthread_mutex_unlock(&h->lock);
        return;
    }
    record rec = {0};
    rec.method = xstrdup(r->method);
    rec.target = xstrdup(r->target);
    rec.body = xstrndup(r->body ? r->body : "", r->body ? r->body_len : 0);
    rec.deployment = xstrdup(deployment);
    rec.hdrs = calloc(r->nh ? r->nh : 1, sizeof *rec.hdrs);
    if (rec.hdrs) {
        for (size_t i = 0; i < r->nh; i++) {
            rec.hdrs[i].name = xstrdup(r->hdrs[i].name);
            rec.hdrs[i].value = xstrdup(r->hdrs[i].value);
        }
        rec.nh = r->nh;
    }
    pthread_mutex_lock(&h->lock);
    if (h->nrecs == h->rcap) {
        size_t cap = h->rcap ? h->rcap * 2 : 64;
        record *p = realloc(h->recs, cap * sizeof *p);
        if (p) {
            h->recs = p;
            h->rcap = cap;
        }
    }
    if (h->nrecs < h->rcap) {
        h->recs[h->nrecs++] = rec;
        rec.hdrs = NULL;
        rec.nh = 0;
        rec.method = rec.target = rec.body = rec.deployment = NULL;
    }
    pthread_mutex_unlock(&h->lock);
    for (size_t i = 0; i < rec.nh; i++) {
        free(rec.hdrs[i].name);
        free(rec.hdrs[i].value);
    }
    free(rec.hdrs);
    free(rec.method);
    free(rec.target);
    free(rec.body);
    free(rec.deployment);
}

int standin_request_count(standin *h)
{
    if (!h)
        return 0;
    pthread_mutex_lock(&h->lock);
    int n = (int)(h->nrecs + h->nrecs_dropped);
    pthread_mutex_unlock(&h->lock);
    return n;
}

enum { F_METHOD, F_TARGET, F_BODY, F_DEPLOYMENT };

static char *record_field(standin *h, int i, int f, const char *name)
{
    char *out = NULL;
    if (!h || i < 0)
        return NULL;
    pthread_mutex_lock(&h->lock);
    if ((size_t)i < h->nrecs) {
        const record *r = &h->recs[i];
        switch (f) {
        case F_METHOD: out = xstrdup(r->method); break;
        case F_TARGET: out = xstrdup(r->target); break;
        case F_BODY: out = xstrdup(r->body); break;
        case F_DEPLOYMENT: out = xstrdup(r->deployment); break;
        default:
            for (size_t k = 0; k < r->nh; k++) {
                if (!strcasecmp(r->hdrs[k].name, name)) {
                    out = xstrdup(r->hdrs[k].value);
                    break;
                }
            }
        }
    }
    pthread_mutex_unlock(&h->lock);
    return out;
}

char *standin_request_method(standin *h, int i)
{
    return record_field(h, i, F_METHOD, NULL);
}

char *standin_request_path(standin *h, int i)
{
    return record_field(h, i, F_TARGET, NULL);
}

char *standin_request_body(standin *h, int i)
{
    return record_field(h, i, F_BODY, NULL);
}

char *standin_request_deployment(standin *h, int i)
{
    return record_field(h, i, F_DEPLOYMENT, NULL);
}

char *standin_request_header(standin *h, int i, const char *name)
{
    if (!name)
        return NULL;
    return record_field(h, i, -1, name);
}

enum { T_RX, T_FIRST, T_LAST };

static uint64_t timing_field(standin *h, int i, int f)
{
    uint64_t v = 0;
    if (!h || i < 0)
        return 0;
    pthread_mutex_lock(&h->lock);
    if ((size_t)i < h->ntimes) {
        const standin_timing *t = &h->times[i];
        v = f == T_RX ? t->received_ns : f == T_FIRST ? t->first_token_ns : t->last_token_ns;
    }
    pthread_mutex_unlock(&h->lock);
    return v;
}

uint64_t standin_request_received_ns(standin *h, int i)
{
    return timing_field(h, i, T_RX);
}

uint64_t standin_first_token_sent_ns(standin *h, int i)
{
    return timing_field(h, i, T_FIRST);
}

uint64_t standin_last_token_sent_ns(standin *h, int i)
{
    return timing_field(h, i, T_LAST);
}

size_t standin_timings(standin *h, size_t first, standin_timing *out, size_t max)
{
    size_t n = 0;
    if (!h || !out)
        return 0;
    pthread_mutex_lock(&h->lock);
    if (first < h->ntimes) {
        n = h->ntimes - first < max ? h->ntimes - first : max;
        memcpy(out, h->times + first, n * sizeof *out);
    }
    pthread_mutex_unlock(&h->lock);
    return n;
}

void standin_get_stats(standin *h, standin_stats *out)
{
    if (!h || !out)
        return;
    pthread_mutex_lock(&h->lock);
    *out = h->stats;
    pthread_mutex_unlock(&h->lock);
}

/* ---- plans ---- */

static int plan_add(plan *p, int delay_ms, const char *data, size_t len, int act)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        step *v = realloc(p->v, cap * sizeof *v);
        if (!v)
            return -1;
        p->v = v;
        p->cap = cap;
    }
    step *s = &p->v[p->n];
    s->delay_ms = delay_ms < 0 ? 0 : delay_ms;
    s->act = act;
    s->mark = 0;
    s->len = len;
    s->data = len ? xstrndup(data, len) : NULL;
    if (len && !s->data)
        return -1;
    p->n++;
    return 0;
}

/* One HTTP chunk carrying data. */
static int plan_chunk(plan *p, int delay_ms, const char *data, size_t len)
{
    buf b = {0};
    int rc = buf_printf(&b, "%zx\r\n", len) || buf_add(&b, data, len) || buf_str(&b, "\r\n");
    if (!rc)
        rc = plan_add(p, delay_ms, b.p, b.len, ACT_NONE);
    free(b.p);
    return rc;
}

static void plan_clear(plan *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->v[i].data);
    free(p->v);
    memset(p, 0, sizeof *p);
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Status";
    }
}

/* Lines "Name: value" separated by \n, written with CRLF. */
static void add_extra_headers(buf *b, const char *extra)
{
    while (extra && *extra) {
        const char *nl = strchr(extra, '\n');
        size_t n = nl ? (size_t)(nl - extra) : strlen(extra);
        size_t m = n;
        if (m && extra[m - 1] == '\r')
            m--;
        if (m) {
            buf_add(b, extra, m);
            buf_str(b, "\r\n");
        }
        extra += n + (nl ? 1 : 0);
    }
}

typedef struct head_opts {
    int status;
    const char *ctype;
    long long content_length; /* < 0: chunked */
    int keepalive;
    int azure;
    unsigned long seq;
    const standin_spec *spec;
} head_opts;

static void build_head(buf *b, const head_opts *o)
{
    buf_printf(b, "HTTP/1.1 %d %s\r\n", o->status, reason_phrase(o->status));
    buf_printf(b, "Content-Type: %s\r\n", o->ctype);
    if (o->content_length < 0)
        buf_str(b, "Transfer-Encoding: chunked\r\nCache-Control: no-cache\r\n");
    else
        buf_printf(b, "Content-Length: %lld\r\n", o->content_length);
    buf_str(b, o->keepalive ? "Connection: keep-alive\r\n" : "Connection: close\r\n");
    if (o->azure)
        buf_printf(b, "apim-request-id: 00000000-0000-4000-8000-%012lx\r\n", o->seq);
    else
        buf_printf(b, "x-request-id: req_standin_%lu\r\n", o->seq);
    if (o->spec) {
        int ra = o->spec->retry_after;
        if (ra > 0)
            buf_printf(b, "retry-after: %d\r\n", ra);
        if (o->spec->retry_after_ms > 0)
            buf_printf(b, "retry-after-ms: %d\r\n", o->spec->retry_after_ms);
        else if (o->status == 429 && o->azure && ra > 0)
            buf_printf(b, "retry-after-ms: %d\r\n", ra * 1000);
        /* The rate-limit family each service sends with its 429s: OpenAI
         * says which budget ran out and when it refills (durations);
         * Azure only what remains. */
        if (o->status == 429 && o->azure)
            buf_str(b, "x-ratelimit-remaining-requests: 0\r\n"
                       "x-ratelimit-remaining-tokens: 0\r\n");
        else if (o->status == 429)
            buf_printf(b,
                       "x-ratelimit-limit-requests: 500\r\n"
                       "x-ratelimit-remaining-requests: 0\r\n"
                       "x-ratelimit-reset-requests: %ds\r\n"
                       "x-ratelimit-limit-tokens: 200000\r\n"
                       "x-ratelimit-remaining-tokens: 199950\r\n"
                       "x-ratelimit-reset-tokens: 15ms\r\n",
                       ra > 0 ? ra : 1);
        add_extra_headers(b, o->spec->extra_headers);
    }
    buf_str(b, "\r\n");
}

static void plan_json_reply(plan *p, int delay_ms, int status, const char *body, int keepalive,
                            int azure, unsigned long seq, const standin_spec *spec)
{
    buf b = {0};
    head_opts ho = {status, "application/json", (long long)strlen(body), keepalive, azure, seq,
                    spec};
    build_head(&b, &ho);
    buf_str(&b, body);
    if (b.p)
        plan_add(p, delay_ms, b.p, b.len, keepalive ? ACT_END : ACT_CLOSE);
    free(b.p);
}

static char *openai_error(const char *message, const char *type, const char *param,
                          const char *code)
{
    json_t *e = json_pack("{s:{s:s,s:s,s:s?,s:s?}}", "error", "message", message, "type", type,
                          "param", param, "code", code);
    char *s = json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(e);
    return s;
}

static char *azure_error(const char *code, const char *message)
{
    json_t *e = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", message);
    char *s = json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(e);
    return s;
}

static json_t *filter_results(int filtered);

/* Azure's answer to a prompt its prompt shield blocks (jailbreak, in
 * blocking mode): 400, code content_filter, the verdict in innererror. */
static char *azure_prompt_blocked(void)
{
    json_t *v = filter_results(0);
    json_object_set_new(v, "jailbreak", json_pack("{s:b,s:b}", "filtered", 1, "detected", 1));
    json_t *e =
        json_pack("{s:{s:s,s:n,s:s,s:s,s:i,s:{s:s,s:o}}}", "error", "message",
                  "The response was filtered due to the prompt triggering Azure OpenAI's content "
                  "management policy. Please modify your prompt and retry. To learn more about our "
                  "content filtering policies please read our documentation: "
                  "https://go.microsoft.com/fwlink/?linkid=2198766",
                  "type", "param", "prompt", "code", "content_filter", "status", 400, "innererror",
                  "code", "ResponsibleAIPolicyViolation", "content_filter_result", v);
    char *s = json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(e);
    return s;
}

static void plan_error(plan *p, int status, char *body, int keepalive, int azure, unsigned long seq)
{
    plan_json_reply(p, 0, status, body ? body : "{}", keepalive, azure, seq, NULL);
    free(body);
}

/* ---- chunk generation ---- */

typedef struct ev {
    char *text; /* full SSE event, "data: ...\n\n" */
    char *json; /* its JSON, for malformed_data's default */
    int delay_ms;
    int content; /* carries a content piece (for the timings) */
} ev;

typedef struct gen {
    const standin_spec *s;
    char id[32];
    long long created;
    const char *model;
    int azure, ollama, usage;
    int ttft_ms, chunk_ms;
    ev *evs;
    size_t n, cap;
    int completion_tokens;
    int prompt_tokens;
} gen;

static void gen_push(gen *g, json_t *obj, int delay_ms)
{
    size_t flags = JSON_COMPACT | (g->azure ? JSON_SORT_KEYS : JSON_PRESERVE_ORDER);
    char *js = obj ? json_dumps(obj, flags) : strdup("[DONE]");
    json_decref(obj);
    if (!js)
        return;
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 32;
        ev *v = realloc(g->evs, cap * sizeof *v);
        if (!v) {
            free(js);
            return;
        }
        g->evs = v;
        g->cap = cap;
    }
    buf b = {0};
    buf_printf(&b, "data: %s\n\n", js);
    g->evs[g->n].text = b.p;
    g->evs[g->n].json = js;
    g->evs[g->n].delay_ms = delay_ms;
    g->evs[g->n].content = 0;
    g->n++;
}

static json_t *filter_results(int filtered)
{
    json_t *o = json_object();
    const char *cats[] = {"hate", "self_harm", "sexual", "violence"};
    for (size_t i = 0; i < 4; i++) {
        int hit = filtered && !strcmp(cats[i], "violence");
        json_object_set_new(
            o, cats[i],
            json_pack("{s:b,s:s}", "filtered", hit, "severity", hit ? "medium" : "safe"));
    }
    return o;
}

/* jailbreak: the prompt shield's verdict, detected in annotate mode. */
static json_t *prompt_filter_results(int jailbreak)
{
    json_t *r = filter_results(0);
    json_object_set_new(r, "jailbreak",
                        json_pack("{s:b,s:b}", "filtered", 0, "detected", jailbreak ? 1 : 0));
    return json_pack("[{s:i,s:o}]", "prompt_index", 0, "content_filter_results", r);
}

/* A chunk with one choice whose delta the caller fills. */
static json_t *chunk_new(gen *g, json_t **delta, const char *finish, int cfr)
{
    json_t *c = json_object();
    json_object_set_new(c, "id", json_string(g->id));
    json_object_set_new(c, "object", json_string("chat.completion.chunk"));
    json_object_set_new(c, "created", json_integer(g->created));
    json_object_set_new(c, "model", json_string(g->model));
    if (g->ollama)
        json_object_set_new(c, "system_fingerprint", json_string("fp_ollama"));
    json_t *choice = json_object();
    json_object_set_new(choice, "index", json_integer(0));
    *delta = json_object();
    if (g->ollama) {
        json_object_set_new(*delta, "role", json_string("assistant"));
        json_object_set_new(*delta, "content", json_string(""));
    }
    json_object_set_new(choice, "delta", *delta);
    json_object_set_new(choice, "finish_reason", finish ? json_string(finish) : json_null());
    if (g->azure) {
        if (cfr == 2)
            json_object_set_new(choice, "content_filter_results", filter_results(1));
        else
            json_object_set_new(choice, "content_filter_results",
                                cfr ? filter_results(0) : json_object());
    }
    json_object_set_new(c, "choices", json_pack("[o]", choice));
    if (g->usage)
        json_object_set_new(c, "usage", json_null());
    return c;
}

static json_t *azure_annotation(json_t *choices)
{
    json_t *c = json_object();
    json_object_set_new(c, "choices", choices);
    json_object_set_new(c, "created", json_integer(0));
    json_object_set_new(c, "id", json_string(""));
    json_object_set_new(c, "model", json_string(""));
    json_object_set_new(c, "object", json_string(""));
    return c;
}

typedef struct piece {
    const char *p;
    size_t len;
} piece;

typedef struct pieces {
    piece *v;
    size_t n;
} pieces;

static void pieces_add(pieces *ps, const char *p, size_t len)
{
    piece *v = realloc(ps->v, (ps->n + 1) * sizeof *v);
    if (!v)
        return;
    ps->v = v;
    ps->v[ps->n].p = p;
    ps->v[ps->n].len = len;
    ps->n++;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Word pieces keep their leading whitespace, like model tokens. */
static void split_words(pieces *ps, const char *s)
{
    size_t len = strlen(s), i = 0;
    while (i < len) {
        size_t start = i;
        while (i < len && is_space(s[i]))
            i++;
        while (i < len && !is_space(s[i]))
            i++;
        pieces_add(ps, s + start, i - start);
    }
}

static void split_bytes(pieces *ps, const char *s, size_t each)
{
    size_t len = strlen(s), i = 0;
    while (i < len) {
        size_t cut = utf8_cut(s + i, len - i, each);
        pieces_add(ps, s + i, cut);
        i += cut;
    }
}

static void split_n(pieces *ps, const char *s, int n)
{
    size_t len = strlen(s);
    if (n < 1)
        n = 1;
    size_t each = (len + (size_t)n - 1) / (size_t)n;
    if (each == 0)
        return;
    split_bytes(ps, s, each);
}

static json_t *json_stringn_safe(const char *p, size_t len)
{
    json_t *s = json_stringn(p, len);
    return s ? s : json_string("");
}

static int use_content(const standin_spec *s)
{
    return s->content || s->n_chunks;
}

static int use_tools(const standin_spec *s)
{
    return s->kind != STANDIN_TEXT && s->n_tool_calls;
}

static const char *finish_of(const standin_spec *s)
{
    if (s->finish_reason)
        return s->finish_reason;
    return use_tools(s) ? "tool_calls" : "stop";
}

static void tool_ids(const standin_spec *s, size_t i, char *out, size_t outsz)
{
    if (s->tool_calls[i].id)
        snprintf(out, outsz, "%s", s->tool_calls[i].id);
    else
        snprintf(out, outsz, "call_%zu", i + 1);
}

static void gen_stream(gen *g)
{
    const standin_spec *s = g->s;
    json_t *d;
    if (g->azure) {
        json_t *a = azure_annotation(json_array());
        json_object_set_new(a, "prompt_filter_results",
                            prompt_filter_results(s->prompt_jailbreak == 1));
        gen_push(g, a, 0);
    }
    json_t *c = chunk_new(g, &d, NULL, 0);
    json_object_set_new(d, "role", json_string("assistant"));
    json_object_set_new(d, "content", json_string(""));
    gen_push(g, c, g->ttft_ms);
    int first = 1;

    if (use_content(s)) {
        pieces ps = {0};
        if (s->n_chunks) {
            for (size_t i = 0; i < s->n_chunks; i++)
                pieces_add(&ps, s->chunks[i], strlen(s->chunks[i]));
        } else if (s->chunk_bytes > 0) {
            split_bytes(&ps, s->content, (size_t)s->chunk_bytes);
        } else {
            split_words(&ps, s->content);
        }
        for (size_t i = 0; i < ps.n; i++) {
            c = chunk_new(g, &d, NULL, 1);
            json_object_set_new(d, "content", json_stringn_safe(ps.v[i].p, ps.v[i].len));
            size_t before = g->n;
            gen_push(g, c, first ? 0 : g->chunk_ms);
            if (g->n > before)
                g->evs[before].content = 1;
            first = 0;
            g->completion_tokens++;
        }
        free(ps.v);
    }

    if (use_tools(s) && g->ollama) {
        c = chunk_new(g, &d, NULL, 0);
        json_t *arr = json_array();
        for (size_t i = 0; i < s->n_tool_calls; i++) {
            const standin_tool_call *t = &s->tool_calls[i];
            char id[128];
            tool_ids(s, i, id, sizeof id);
            buf args = {0};
            if (t->n_arg_chunks) {
                for (size_t k = 0; k < t->n_arg_chunks; k++)
                    buf_str(&args, t->arg_chunks[k]);
            } else {
                buf_str(&args, t->arguments ? t->arguments : "{}");
            }
            json_array_append_new(arr,
                                  json_pack("{s:s,s:s,s:{s:s,s:s}}", "id", id, "type", "function",
                                            "function", "name", t->name ? t->name : "tool",
                                            "arguments", args.p ? args.p : ""));
            free(args.p);
        }
        json_object_set_new(d, "tool_calls", arr);
        gen_push(g, c, first ? 0 : g->chunk_ms);
        first = 0;
        g->completion_tokens++;
    } else if (use_tools(s)) {
        for (size_t i = 0; i < s->n_tool_calls; i++) {
            const standin_tool_call *t = &s->tool_calls[i];
            char id[128];
            tool_ids(s, i, id, sizeof id);
            c = chunk_new(g, &d, NULL, 0);
            json_object_set_new(d, "content", json_null());
            json_object_set_new(d, "tool_calls",
                                json_pack("[{s:i,s:s,s:s,s:{s:s,s:s}}]", "index", (int)i, "id", id,
                                          "type", "function", "function", "name",
                                          t->name ? t->name : "tool", "arguments", ""));
            gen_push(g, c, first ? 0 : g->chunk_ms);
            first = 0;
            pieces ps = {0};
            if (t->n_arg_chunks) {
                for (size_t k = 0; k < t->n_arg_chunks; k++)
                    pieces_add(&ps, t->arg_chunks[k], strlen(t->arg_chunks[k]));
            } else {
                split_n(&ps, t->arguments ? t->arguments : "{}",
                        t->arg_pieces > 0 ? t->arg_pieces : 3);
            }
            for (size_t k = 0; k < ps.n; k++) {
                c = chunk_new(g, &d, NULL, 0);
                json_t *tc = json_object();
                json_object_set_new(tc, "index", json_integer((json_int_t)i));
                if (s->empty_ids)
                    json_object_set_new(tc, "id", json_string(""));
                json_object_set_new(
                    tc, "function",
                    json_pack("{s:o}", "arguments", json_stringn_safe(ps.v[k].p, ps.v[k].len)));
                json_object_set_new(d, "tool_calls", json_pack("[o]", tc));
                gen_push(g, c, g->chunk_ms);
                g->completion_tokens++;
            }
            free(ps.v);
        }
    }

    const char *fin = finish_of(s);
    int filtered = g->azure && !strcmp(fin, "content_filter");
    c = chunk_new(g, &d, fin, filtered ? 2 : 0);
    gen_push(g, c, first ? 0 : g->chunk_ms);

    if (g->azure && s->azure_trailing_annotation) {
        json_t *ch = json_object();
        json_object_set_new(ch, "content_filter_offsets",
                            json_pack("{s:i,s:i,s:i}", "check_offset", 0, "start_offset", 0,
                                      "end_offset", g->completion_tokens));
        json_object_set_new(ch, "content_filter_results", filter_results(0));
        json_object_set_new(ch, "finish_reason", json_null());
        json_object_set_new(ch, "index", json_integer(0));
        gen_push(g, azure_annotation(json_pack("[o]", ch)), 0);
    }
    if (g->usage) {
        json_t *u = json_object();
        json_object_set_new(u, "id", json_string(g->id));
        json_object_set_new(u, "object", json_string("chat.completion.chunk"));
        json_object_set_new(u, "created", json_integer(g->created));
        json_object_set_new(u, "model", json_string(g->model));
        json_object_set_new(u, "choices", json_array());
        json_object_set_new(u, "usage",
                            json_pack("{s:i,s:i,s:i}", "prompt_tokens", g->prompt_tokens,
                                      "completion_tokens", g->completion_tokens, "total_tokens",
                                      g->prompt_tokens + g->completion_tokens));
        gen_push(g, u, 0);
    }
    if (!s->no_done)
        gen_push(g, NULL, 0);
}

static char *gen_completion(gen *g)
{
    const standin_spec *s = g->s;
    buf content = {0};
    if (s->n_chunks) {
        for (size_t i = 0; i < s->n_chunks; i++)
            buf_str(&content, s->chunks[i]);
    } else if (s->content) {
        buf_str(&content, s->content);
    }
    json_t *msg = json_object();
    json_object_set_new(msg, "role", json_string("assistant"));
    json_object_set_new(msg, "content",
                        use_content(s) ? json_string(content.p ? content.p : "") : json_null());
    json_object_set_new(msg, "refusal", json_null());
    if (use_tools(s)) {
        json_t *arr = json_array();
        for (size_t i = 0; i < s->n_tool_calls; i++) {
            const standin_tool_call *t = &s->tool_calls[i];
            char id[128];
            tool_ids(s, i, id, sizeof id);
            buf args = {0};
            if (t->n_arg_chunks) {
                for (size_t k = 0; k < t->n_arg_chunks; k++)
                    buf_str(&args, t->arg_chunks[k]);
            } else {
                buf_str(&args, t->arguments ? t->arguments : "{}");
            }
            json_array_append_new(arr,
                                  json_pack("{s:s,s:s,s:{s:s,s:s}}", "id", id, "type", "function",
                                            "function", "name", t->name ? t->name : "tool",
                                            "arguments", args.p ? args.p : ""));
            free(args.p);
        }
        json_object_set_new(msg, "tool_calls", arr);
    }
    free(content.p);
    const char *fin = finish_of(s);
    json_t *choice = json_object();
    json_object_set_new(choice, "index", json_integer(0));
    json_object_set_new(choice, "message", msg);
    json_object_set_new(choice, "logprobs", json_null());
    json_object_set_new(choice, "finish_reason", json_string(fin));
    if (g->azure)
        json_object_set_new(choice, "content_filter_results",
                            filter_results(!strcmp(fin, "content_filter")));
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(g->id));
    json_object_set_new(o, "object", json_string("chat.completion"));
    json_object_set_new(o, "created", json_integer(g->created));
    json_object_set_new(o, "model", json_string(g->model));
    if (g->azure)
        json_object_set_new(o, "prompt_filter_results",
                            prompt_filter_results(s->prompt_jailbreak == 1));
    json_object_set_new(o, "choices", json_pack("[o]", choice));
    int completion = use_content(s) || use_tools(s) ? 1 : 0;
    json_object_set_new(o, "usage",
                        json_pack("{s:i,s:i,s:i}", "prompt_tokens", g->prompt_tokens,
                                  "completion_tokens", completion, "total_tokens",
                                  g->prompt_tokens + completion));
    json_object_set_new(o, "system_fingerprint",
                        json_string(g->ollama ? "fp_ollama" : "fp_standin"));
    char *out = json_dumps(o, JSON_COMPACT | (g->azure ? JSON_SORT_KEYS : JSON_PRESERVE_ORDER));
    json_decref(o);
    return out;
}

static void gen_clear(gen *g)
{
    for (size_t i = 0; i < g->n; i++) {
        free(g->evs[i].text);
        free(g->evs[i].json);
    }
    free(g->evs);
}

static void plan_event(plan *p, const standin_spec *s, int delay_ms, const char *text)
{
    size_t len = strlen(text);
    if (s->split_events && len > 1) {
        plan_chunk(p, delay_ms, text, len / 2);
        plan_chunk(p, 2, text + len / 2, len - len / 2);
    } else {
        plan_chunk(p, delay_ms, text, len);
    }
}

static void plan_stream_error(plan *p, const standin_spec *s)
{
    const char *msg = s->error_message ? s->error_message : "standin stream error";
    const char *type = s->error_type ? s->error_type : "server_error";
    json_t *e;
    const char *field;
    if (s->error_style == STANDIN_ERROR_FIELD) {
        e = json_pack("{s:i,s:s,s:s}", "code", s->error_code ? s->error_code : 500, "message", msg,
                      "type", type);
        field = "error";
    } else {
        e = json_pack("{s:{s:s,s:s,s:n,s:o}}", "error", "message", msg, "type", type, "param",
                      "code", s->error_code ? json_integer(s->error_code) : json_null());
        field = "data";
    }
    char *js = json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(e);
    buf b = {0};
    buf_printf(&b, "%s: %s\n\n", field, js ? js : "{}");
    free(js);
    plan_event(p, s, 0, b.p);
    free(b.p);
    if (!s->no_done)
        plan_event(p, s, 0, "data: [DONE]\n\n");
}

static void plan_stream(plan *p, gen *g, int keepalive, int header_delay, unsigned long seq)
{
    const standin_spec *s = g->s;
    buf b = {0};
    head_opts ho = {200, "text/event-stream; charset=utf-8", -1, keepalive, g->azure, seq, s};
    build_head(&b, &ho);
    plan_add(p, header_delay, b.p, b.len, ACT_NONE);
    free(b.p);
    p->is_stream = 1;

    gen_stream(g);
    int extra = 0, first_content = 1;
    for (size_t i = 0; i < g->n; i++) {
        int k = (int)i + 1;
        const char *text = g->evs[i].text;
        buf mal = {0};
        if (k == s->malformed_chunk) {
            if (s->malformed_data) {
                buf_printf(&mal, "data: %s\n\n", s->malformed_data);
            } else {
                const char *js = g->evs[i].json;
                buf_str(&mal, "data: ");
                buf_add(&mal, js, strlen(js) / 2);
                buf_str(&mal, "\n\n");
            }
            text = mal.p;
        }
        plan_event(p, s, g->evs[i].delay_ms + extra, text);
        if (g->evs[i].content && p->n) {
            p->v[p->n - 1].mark |= (first_content ? MARK_FIRST : 0) | MARK_LAST;
            first_content = 0;
        }
        free(mal.p);
        extra = 0;
        if (k == s->cut_after) {
            plan_add(p, 0, NULL, 0, ACT_CLOSE);
            return;
        }
        if (k == s->error_after) {
            plan_stream_error(p, s);
            break;
        }
        if (k == s->stall_after) {
            if (s->stall_close) {
                plan_add(p, s->stall_ms, NULL, 0, ACT_CLOSE);
                return;
            }
            extra = s->stall_ms;
        }
    }
    plan_add(p, extra, "0\r\n\r\n", 5, keepalive ? ACT_END : ACT_CLOSE);
}

static void plan_completion(plan *p, gen *g, int keepalive, int delay, unsigned long seq)
{
    const standin_spec *s = g->s;
    char *body = gen_completion(g);
    if (!body) {
        plan_add(p, delay, NULL, 0, ACT_CLOSE);
        return;
    }
    buf b = {0};
    head_opts ho = {200, "application/json", (long long)strlen(body), keepalive, g->azure, seq, s};
    build_head(&b, &ho);
    if (s->cut_after > 0) {
        buf_add(&b, body, strlen(body) / 2);
        plan_add(p, delay, b.p, b.len, ACT_CLOSE);
    } else {
        buf_str(&b, body);
        if (!plan_add(p, delay + (s->stall_after > 0 ? s->stall_ms : 0), b.p, b.len,
                      keepalive ? ACT_END : ACT_CLOSE) &&
            use_content(s))
            p->v[p->n - 1].mark = MARK_FIRST | MARK_LAST;
    }
    free(b.p);
    free(body);
}

static void plan_fault_status(plan *p, const standin_spec *s, int azure, int keepalive, int delay,
                              unsigned long seq)
{
    char *body = NULL;
    int status = s->status && s->status != 200 ? s->status : 400;
    if (!s->body && s->prompt_jailbreak == 2) {
        body = azure_prompt_blocked();
    } else if (!s->body) {
        int st = s->status;
        int wait = s->retry_after > 0 ? s->retry_after : 1;
        char msg[400];
        if (azure && st == 429) {
            snprintf(msg, sizeof msg,
                     "Requests to the ChatCompletions_Create Operation under Azure OpenAI API "
                     "version 2024-10-21 have exceeded token rate limit of your current OpenAI "
                     "S0 pricing tier. Please retry after %d second%s. Please go here: "
                     "https://aka.ms/oai/quotaincrease if you would like to further increase "
                     "the default rate limit.",
                     wait, wait == 1 ? "" : "s");
            body = azure_error("429", msg);
        } else if (st == 429) {
            snprintf(msg, sizeof msg,
                     "Rate limit reached for requests per min (RPM) in organization "
                     "org-standin: Limit 500, Used 500, Requested 1. Please try again in %ds. "
                     "Visit https://platform.openai.com/account/rate-limits to learn more.",
                     wait);
            body = openai_error(msg, "requests", NULL, "rate_limit_exceeded");
        } else if (st == 503)
            body = openai_error("The engine is currently overloaded, please try again later.",
                                "server_error", NULL, NULL);
        else if (st >= 500)
            body = openai_error(
                "The server had an error while processing your request. Sorry about that!",
                "server_error", NULL, NULL);
        else
            body = openai_error("standin error", "invalid_request_error", NULL, NULL);
    }
    plan_json_reply(p, delay, status, s->body ? s->body : (body ? body : "{}"), keepalive, azure,
                    seq, s);
    free(body);
}

/* ---- request handling ---- */

static void echo_text(json_t *messages, buf *out)
{
    const char *said = "";
    buf parts = {0};
    for (size_t i = json_array_size(messages); i-- > 0;) {
        json_t *m = json_array_get(messages, i);
        if (strcmp(json_string_value(json_object_get(m, "role")), "user"))
            continue;
        json_t *c = json_object_get(m, "content");
        if (json_is_string(c)) {
            said = json_string_value(c);
        } else if (json_is_array(c)) {
            size_t k;
            json_t *part;
            json_array_foreach(c, k, part)
            {
                const char *t = json_string_value(json_object_get(part, "text"));
                if (t)
                    buf_str(&parts, t);
            }
            said = parts.p ? parts.p : "";
        }
        break;
    }
    buf_printf(out, "You said: %s.", said);
    free(parts.p);
}

static int prompt_tokens(json_t *messages)
{
    size_t bytes = 0, i;
    json_t *m;
    json_array_foreach(messages, i, m)
    {
        const char *c = json_string_value(json_object_get(m, "content"));
        bytes += c ? strlen(c) : 0;
    }
    return (int)(bytes / 4) + 1;
}

/* NULL if valid (*ret = the parsed body); else a 400 error body. */
static char *validate_body(const req *r, json_t **ret)
{
    json_error_t err;
    json_t *root = r->body_len ? json_loadb(r->body, r->body_len, 0, &err) : NULL;
    if (!root) {
        char msg[256];
        if (!r->body_len)
            snprintf(msg, sizeof msg,
                     "We could not parse the JSON body of your request. "
                     "(HINT: the body is empty.)");
        else
            snprintf(msg, sizeof msg,
                     "We could not parse the JSON body of your request. (HINT: %s at line %d "
                     "column %d.)",
                     err.text, err.line, err.column);
        return openai_error(msg, "invalid_request_error", NULL, NULL);
    }
    char *e = NULL;
    json_t *msgs = json_object_get(root, "messages");
    json_t *tools = json_object_get(root, "tools");
    json_t *stream = json_object_get(root, "stream");
    json_t *so = json_object_get(root, "stream_options");
    json_t *rf = json_object_get(root, "response_format");
    if (!json_is_object(root)) {
        e = openai_error("The request body must be a JSON object.", "invalid_request_error", NULL,
                         NULL);
    } else if (!msgs) {
        e = openai_error("Missing required parameter: 'messages'.", "invalid_request_error",
                         "messages", "missing_required_parameter");
    } else if (!json_is_array(msgs)) {
        e = openai_error("Invalid type for 'messages': expected an array.", "invalid_request_error",
                         "messages", "invalid_type");
    } else if (!json_array_size(msgs)) {
        e = openai_error("Invalid 'messages': empty array. Expected an array with minimum "
                         "length 1, but got an empty array instead.",
                         "invalid_request_error", "messages", "empty_array");
    } else if (stream && !json_is_boolean(stream) && !json_is_null(stream)) {
        e = openai_error("Invalid type for 'stream': expected a boolean.", "invalid_request_error",
                         "stream", "invalid_type");
    } else if (so && !json_is_null(so) && !json_is_true(stream)) {
        e = openai_error("The 'stream_options' parameter is only allowed when 'stream' is "
                         "enabled.",
                         "invalid_request_error", "stream_options", NULL);
    } else if (tools && !json_is_null(tools) && !json_is_array(tools)) {
        e = openai_error("Invalid type for 'tools': expected an array.", "invalid_request_error",
                         "tools", "invalid_type");
    } else if (json_is_array(tools) && !json_array_size(tools)) {
        e = openai_error("Invalid 'tools': empty array. Expected an array with minimum length "
                         "1, but got an empty array instead.",
                         "invalid_request_error", "tools", "empty_array");
    } else if (rf && !json_is_null(rf)) {
        const char *t = json_string_value(json_object_get(rf, "type"));
        if (!t || (strcmp(t, "text") && strcmp(t, "json_object") && strcmp(t, "json_schema")))
            e = openai_error("Invalid value for 'response_format.type'.", "invalid_request_error",
                             "response_format.type", "invalid_value");
    }
    for (size_t i = 0; !e && json_is_array(msgs) && i < json_array_size(msgs); i++) {
        json_t *m = json_array_get(msgs, i);
        if (!json_is_object(m) || !json_is_string(json_object_get(m, "role"))) {
            char param[64];
            snprintf(param, sizeof param, "messages.[%zu].role", i);
            e = openai_error("Missing required parameter: 'messages.[].role'.",
                             "invalid_request_error", param, "missing_required_parameter");
        }
    }
    if (e) {
        json_decref(root);
        return e;
    }
    *ret = root;
    return NULL;
}

static int bearer_is(const char *auth, const char *key)
{
    if (!auth || strncasecmp(auth, "Bearer ", 7))
        return 0;
    return !key || !strcmp(auth + 7, key);
}

static const char *query_param(const char *query, const char *name, size_t *len)
{
    size_t nl = strlen(name);
    const char *q = query;
    while (q && *q) {
        const char *amp = strchr(q, '&');
        size_t seg = amp ? (size_t)(amp - q) : strlen(q);
        if (seg > nl && !strncmp(q, name, nl) && q[nl] == '=') {
            *len = seg - nl - 1;
            return q + nl + 1;
        }
        q = amp ? amp + 1 : NULL;
    }
    return NULL;
}

static void handle_request(standin *h, conn *c, req *r)
{
    plan *p = &c->pl;
    int ka = r->keepalive;
    unsigned long seq = ++h->seq;
    char *deployment = NULL;
    int azure = 0, chat = 0;
    static const char dpfx[] = "/openai/deployments/";
    static const char dsfx[] = "/chat/completions";

    if (!strcmp(r->path, "/v1/chat/completions") || !strcmp(r->path, "/chat/completions")) {
        chat = 1;
    } else if (!strncmp(r->path, dpfx, sizeof dpfx - 1)) {
        const char *dep = r->path + sizeof dpfx - 1;
        const char *slash = strchr(dep, '/');
        if (slash && slash > dep && !strcmp(slash, dsfx)) {
            chat = azure = 1;
            deployment = xstrndup(dep, (size_t)(slash - dep));
        }
    }
    c->tidx = timing_add(h, c->rx_ns);
    c->mark = 0;
    record_add(h, r, deployment);

    if (!strcmp(r->path, "/v1/models") && !strcmp(r->method, "GET")) {
        const char *auth = req_header(r, "Authorization");
        if (h->key && !bearer_is(auth, h->key)) {
            plan_error(p, 401,
                       openai_error("Incorrect API key provided.", "invalid_request_error", NULL,
                                    "invalid_api_key"),
                       ka, 0, seq);
            goto out;
        }
        json_t *o = json_pack("{s:s,s:[{s:s,s:s,s:i,s:s}]}", "object", "list", "data", "id",
                              h->model, "object", "model", "created", 0, "owned_by", "standin");
        char *body = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(o);
        plan_json_reply(p, 0, 200, body ? body : "{}", ka, 0, seq, NULL);
        free(body);
        goto out;
    }
    if (!chat || strcmp(r->method, "POST")) {
        char msg[1200];
        snprintf(msg, sizeof msg,
                 "Unknown request URL: %s %.1024s. Please check the URL for "
                 "typos, or see the docs at https://platform.openai.com/docs/api-reference/.",
                 r->method, r->path);
        if (azure || !strncmp(r->path, "/openai/", 8))
            plan_error(p, 404, azure_error("404", "Resource not found"), ka, 1, seq);
        else
            plan_error(p, 404, openai_error(msg, "invalid_request_error", NULL, "unknown_url"), ka,
                       0, seq);
        goto out;
    }

    /* Auth before anything else, like the real services. */
    const char *auth = req_header(r, "Authorization");
    if (azure) {
        const char *k = req_header(r, "api-key");
        int ok = h->key ? ((k && !strcmp(k, h->key)) || bearer_is(auth, h->key))
                        : (k != NULL || bearer_is(auth, NULL));
        if (!ok) {
            plan_error(p, 401,
                       azure_error("401", "Access denied due to invalid subscription key or "
                                          "wrong API endpoint. Make sure to provide a valid key "
                                          "for an active subscription and use a correct "
                                          "regional API endpoint for your resource."),
                       ka, 1, seq);
            goto out;
        }
        size_t vlen = 0;
        const char *v = query_param(r->query, "api-version", &vlen);
        if (!v || !vlen) {
            plan_error(p, 400,
                       azure_error("MissingApiVersionParameter",
                                   "The api-version query parameter (?api-version=) is "
                                   "required for all requests."),
                       ka, 1, seq);
            goto out;
        }
    } else if (h->key && !bearer_is(auth, h->key)) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s",
                 auth ? "Incorrect API key provided."
                      : "You didn't provide an API key. You need to provide your API key in "
                        "an Authorization header using Bearer auth (i.e. Authorization: "
                        "Bearer YOUR_KEY).");
        plan_error(
            p, 401,
            openai_error(msg, "invalid_request_error", NULL, auth ? "invalid_api_key" : NULL), ka,
            0, seq);
        goto out;
    }

    json_t *root = NULL;
    char *bad = validate_body(r, &root);
    if (bad) {
        plan_error(p, 400, bad, ka, azure, seq);
        goto out;
    }

    int owned = 0;
    standin_spec *spec = spec_pop(h, &owned);
    standin_spec echo = STANDIN_SPEC_INIT;
    buf echo_buf = {0};
    if (!spec) {
        echo_text(json_object_get(root, "messages"), &echo_buf);
        echo.content = echo_buf.p;
        spec = &echo;
    }
    int header_delay = spec->header_delay_ms >= 0 ? spec->header_delay_ms : 0;

    if (spec->drop) {
        plan_add(p, header_delay, NULL, 0, ACT_CLOSE);
    } else if ((spec->status && spec->status != 200) || spec->prompt_jailbreak == 2) {
        plan_fault_status(p, spec, azure || spec->azure, ka, header_delay, seq);
    } else {
        gen g = {0};
        g.s = spec;
        snprintf(g.id, sizeof g.id, "chatcmpl-%lu", seq);
        g.created = (long long)time(NULL);
        const char *rmodel = json_string_value(json_object_get(root, "model"));
        g.model = spec->model ? spec->model : rmodel ? rmodel : deployment ? deployment : h->model;
        g.azure = azure || spec->azure;
        g.ollama = spec->ollama;
        g.usage =
            spec->include_usage ||
            json_is_true(json_object_get(json_object_get(root, "stream_options"), "include_usage"));
        g.ttft_ms = spec->ttft_ms >= 0 ? spec->ttft_ms : h->opts.ttft_ms;
        g.chunk_ms = spec->chunk_ms >= 0 ? spec->chunk_ms : h->opts.chunk_ms;
        g.prompt_tokens = prompt_tokens(json_object_get(root, "messages"));
        if (json_is_true(json_object_get(root, "stream")))
            plan_stream(p, &g, ka, header_delay, seq);
        else
            plan_completion(p, &g, ka, header_delay + g.ttft_ms, seq);
        gen_clear(&g);
    }
    if (owned)
        spec_free(spec);
    free(echo_buf.p);
    json_decref(root);
out:
    free(deployment);
}

/* ---- connections ---- */

static void conn_kill(conn *c)
{
    if (c->dead)
        return;
    c->dead = 1;
    /* Out of the epoll set before the close: a child forked (not yet
     * exec'd) by the test may hold the socket open, and epoll would then
     * report it after this conn is freed. */
    epoll_ctl(c->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
}

static void conn_set_pollout(standin *h, conn *c, int on)
{
    if (c->pollout == on)
        return;
    struct epoll_event e = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(h->ep, EPOLL_CTL_MOD, c->fd, &e);
    c->pollout = on;
}

static void stream_count(standin *h, conn *c, int on)
{
    if (c->counted_stream == on)
        return;
    c->counted_stream = on;
    pthread_mutex_lock(&h->lock);
    h->stats.active_streams += on ? 1 : -1;
    if (h->stats.active_streams > h->stats.max_active_streams)
        h->stats.max_active_streams = h->stats.active_streams;
    pthread_mutex_unlock(&h->lock);
}

static void conn_try_parse(standin *h, conn *c);

static void conn_response_done(standin *h, conn *c)
{
    stream_count(h, c, 0);
    plan_clear(&c->pl);
    c->busy = 0;
    c->next = 0;
    c->end_after_flush = 0;
    c->expect_sent = 0;
    c->tidx = SIZE_MAX;
    if (!c->keepalive) {
        conn_kill(c);
        return;
    }
    if (c->in.len)
        c->rx_ns = now_ns(); /* a pipelined request, read earlier */
    conn_try_parse(h, c);
}

static void conn_flush(standin *h, conn *c)
{
    while (!c->dead && c->out_off < c->out.len) {
        ssize_t n = send(c->fd, c->out.p + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            conn_set_pollout(h, c, 1);
            return;
        }
        if (n <= 0) {
            conn_kill(c);
            return;
        }
        c->out_off += (size_t)n;
    }
    if (c->dead)
        return;
    c->out.len = 0;
    c->out_off = 0;
    timing_stamp(h, c);
    conn_set_pollout(h, c, 0);
    if (c->close_after_flush)
        conn_kill(c);
    else if (c->end_after_flush)
        conn_response_done(h, c);
}

/* Plays due steps. */
static void conn_run(standin *h, conn *c, uint64_t now)
{
    while (!c->dead && c->busy && !c->close_after_flush && !c->end_after_flush &&
           c->next < c->pl.n && c->due <= now && c->out.len - c->out_off < OUT_HIGH_WATER) {
        step *s = &c->pl.v[c->next++];
        if (s->len && buf_add(&c->out, s->data, s->len)) {
            conn_kill(c);
            return;
        }
        c->mark |= s->mark;
        if (s->act == ACT_CLOSE)
            c->close_after_flush = 1;
        else if (s->act == ACT_END)
            c->end_after_flush = 1;
        /* The stream is over before its last bytes can reach the client: a
         * client that read the whole answer never sees it still active. */
        if (s->act != ACT_NONE)
            stream_count(h, c, 0);
        if (c->next < c->pl.n)
            c->due = now + (uint64_t)c->pl.v[c->next].delay_ms;
        conn_flush(h, c);
    }
}

/* 1 = complete request in r, 0 = need more, -1 = bad request. */
static int parse_request(conn *c, req *r, size_t *consumed, int *need_continue)
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
    r->keepalive = h.conn_last ? h.conn_last > 0 : !h.http10;
    *need_continue = h.expect_continue;
    size_t head = h.len;
    long long clen = h.clen;
    const char *target = h.target;
    if (h.chunked || clen < 0 || clen > MAX_BODY)
        goto out;
    if (c->in.len < head + (size_t)clen) {
        rc = 0;
        goto out;
    }
    r->target = xstrdup(target);
    r->path = xstrdup(target);
    if (!r->target || !r->path)
        goto out;
    char *q = strchr(r->path, '?');
    if (q) {
        *q = '\0';
        r->query = r->target + (q - r->path) + 1;
    }
    r->body = xstrndup(b + head, (size_t)clen);
    r->body_len = (size_t)clen;
    *consumed = head + (size_t)clen;
    rc = 1;
out:
    return rc;
}

static void conn_try_parse(standin *h, conn *c)
{
    if (c->busy || c->dead)
        return;
    req r = {0};
    size_t consumed = 0;
    int need_continue = 0;
    int rc = parse_request(c, &r, &consumed, &need_continue);
    if (rc == 0) {
        if (need_continue && !c->expect_sent) {
            c->expect_sent = 1;
            buf_str(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
            conn_flush(h, c);
        }
        req_clear(&r);
        return;
    }
    c->busy = 1;
    c->next = 0;
    if (rc < 0) {
        c->keepalive = 0;
        c->tidx = SIZE_MAX; /* not logged */
        plan_error(&c->pl, 400,
                   openai_error("Malformed or unsupported HTTP request.", "invalid_request_error",
                                NULL, NULL),
                   0, 0, ++h->seq);
        c->in.len = 0;
    } else {
        c->keepalive = r.keepalive;
        memmove(c->in.p, c->in.p + consumed, c->in.len - consumed);
        c->in.len -= consumed;
        c->in.p[c->in.len] = '\0';
        handle_request(h, c, &r);
    }
    req_clear(&r);
    if (c->pl.n == 0)
        plan_add(&c->pl, 0, NULL, 0, ACT_CLOSE);
    if (c->pl.is_stream)
        stream_count(h, c, 1);
    c->due = now_ms() + (uint64_t)c->pl.v[0].delay_ms;
}

static void conn_read(standin *h, conn *c)
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
        if (buf_add(&c->in, tmp, (size_t)n) || c->in.len > MAX_HEAD + MAX_BODY) {
            conn_kill(c);
            return;
        }
    }
    c->rx_ns = now_ns();
    conn_try_parse(h, c);
}

static void conn_accept(standin *h)
{
    for (;;) {
        int fd = accept4(h->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        conn *c = calloc(1, sizeof *c);
        if (!c) {
            close(fd);
            continue;
        }
        c->fd = fd;
        c->ep = h->ep;
        c->tidx = SIZE_MAX;
        struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(h->ep, EPOLL_CTL_ADD, fd, &e)) {
            close(fd);
            free(c);
            continue;
        }
        c->nxt = h->conns;
        if (h->conns)
            h->conns->prev = c;
        h->conns = c;
        pthread_mutex_lock(&h->lock);
        h->stats.connections++;
        pthread_mutex_unlock(&h->lock);
    }
}

static void conn_free(standin *h, conn *c)
{
    if (c->prev)
        c->prev->nxt = c->nxt;
    else
        h->conns = c->nxt;
    if (c->nxt)
        c->nxt->prev = c->prev;
    stream_count(h, c, 0);
    if (!c->dead) {
        epoll_ctl(h->ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    plan_clear(&c->pl);
    free(c->in.p);
    free(c->out.p);
    free(c);
}

static const int listen_tag = 0, wake_tag = 0;

static void *loop_main(void *arg)
{
    standin *h = arg;
    struct epoll_event evs[256];
    while (!__atomic_load_n(&h->stop, __ATOMIC_ACQUIRE)) {
        uint64_t now = now_ms();
        int timeout = -1;
        for (conn *c = h->conns; c; c = c->nxt) {
            if (!c->busy || c->dead || c->next >= c->pl.n || c->close_after_flush ||
                c->end_after_flush || c->out.len - c->out_off >= OUT_HIGH_WATER)
                continue;
            int t = c->due <= now ? 0 : (int)(c->due - now);
            if (timeout < 0 || t < timeout)
                timeout = t;
        }
        int n = epoll_wait(h->ep, evs, 256, timeout);
        for (int i = 0; i < n; i++) {
            void *ptr = evs[i].data.ptr;
            if (ptr == &listen_tag) {
                conn_accept(h);
            } else if (ptr == &wake_tag) {
                uint64_t v;
                ssize_t r = read(h->wake_fd, &v, sizeof v);
                (void)r;
            } else {
                conn *c = ptr;
                if (c->dead)
                    continue;
                if (evs[i].events & EPOLLOUT)
                    conn_flush(h, c);
                if (!c->dead && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                    conn_read(h, c);
            }
        }
        now = now_ms();
        for (conn *c = h->conns; c; c = c->nxt)
            conn_run(h, c, now);
        for (conn *c = h->conns, *nx; c; c = nx) {
            nx = c->nxt;
            if (c->dead)
                conn_free(h, c);
        }
    }
    return NULL;
}

/* ---- lifecycle ---- */

standin *standin_start(const standin_opts *opts)
{
    standin *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    if (opts)
        h->opts = *opts;
    h->listen_fd = h->ep = h->wake_fd = -1;
    h->key = xstrdup(h->opts.key);
    h->model = xstrdup(h->opts.model ? h->opts.model : "standin-model");
    h->opts.key = h->key;
    h->opts.model = h->model;
    pthread_mutex_init(&h->lock, NULL);

    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)h->opts.port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    int one = 1;
    h->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (h->listen_fd < 0 || setsockopt(h->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
        bind(h->listen_fd, (struct sockaddr *)&sa, sizeof sa) || listen(h->listen_fd, 4096) ||
        getsockname(h->listen_fd, (struct sockaddr *)&sa, &sl))
        goto fail;
    h->port = ntohs(sa.sin_port);
    h->ep = epoll_create1(EPOLL_CLOEXEC);
    h->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (h->ep < 0 || h->wake_fd < 0)
        goto fail;
    struct epoll_event le = {.events = EPOLLIN, .data.ptr = (void *)&listen_tag};
    struct epoll_event we = {.events = EPOLLIN, .data.ptr = (void *)&wake_tag};
    if (epoll_ctl(h->ep, EPOLL_CTL_ADD, h->listen_fd, &le) ||
        epoll_ctl(h->ep, EPOLL_CTL_ADD, h->wake_fd, &we))
        goto fail;
    if (pthread_create(&h->thread, NULL, loop_main, h))
        goto fail;
    return h;
fail:
    if (h->listen_fd >= 0)
        close(h->listen_fd);
    if (h->ep >= 0)
        close(h->ep);
    if (h->wake_fd >= 0)
        close(h->wake_fd);
    pthread_mutex_destroy(&h->lock);
    free(h->key);
    free(h->model);
    free(h);
    return NULL;
}

int standin_port(standin *h)
{
    return h ? h->port : -1;
}

void standin_stop(standin *h)
{
    if (!h)
        return;
    __atomic_store_n(&h->stop, 1, __ATOMIC_RELEASE);
    uint64_t one = 1;
    ssize_t w = write(h->wake_fd, &one, sizeof one);
    (void)w;
    pthread_join(h->thread, NULL);
    while (h->conns)
        conn_free(h, h->conns);
    close(h->listen_fd);
    close(h->ep);
    close(h->wake_fd);
    for (size_t i = 0; i < h->qn; i++)
        spec_free(h->q[i]);
    free(h->q);
    for (size_t i = 0; i < h->nrecs; i++) {
        record *r = &h->recs[i];
        for (size_t k = 0; k < r->nh; k++) {
            free(r->hdrs[k].name);
            free(r->hdrs[k].value);
        }
        free(r->hdrs);
        free(r->method);
        free(r->target);
        free(r->body);
        free(r->deployment);
    }
    free(h->recs);
    free(h->times);
    pthread_mutex_destroy(&h->lock);
    free(h->key);
    free(h->model);
    free(h);
}
