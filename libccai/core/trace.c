/* Spans and their OTLP/JSON encoding (core/trace.h). The encoding follows
 * the OTLP specification's JSON mapping: ids as lowercase hex (not base64),
 * 64-bit integers (times, intValue) as decimal strings, enums as numbers,
 * field names in lowerCamelCase. */
#include "core/trace.h"

#include "core/json.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

struct Ccai_span {
    Ccai_tracer *t;
    Ccai_span *next; /* in the queue once ended */
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t parent_id[8];
    bool has_parent;
    Ccai_span_kind kind;
    char *name;
    uint64_t start_ns, end_ns;
    json_t *attrs; /* OTLP KeyValue objects */
    char *error;   /* status ERROR with this message, or NULL: UNSET */
};

struct Ccai_tracer {
    Ccai_tracer_opts o;
    uint64_t rng; /* splitmix64 state, seeded from the system's randomness */
    char *service_name;
    Ccai_span *head, *tail;
    size_t queued;
    Ccai_trace_stats st;
};

static uint64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Trace and span ids need to be unique, not secret (the OpenTelemetry SDKs
 * use a plain generator too): splitmix64, seeded once. */
static uint64_t next_random(Ccai_tracer *t)
{
    uint64_t z = (t->rng += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static void random_id(Ccai_tracer *t, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i += 8) {
        uint64_t r = next_random(t);
        memcpy(out + i, &r, n - i < 8 ? n - i : 8);
    }
}

Ccai_tracer *Ccai_tracer_new(const Ccai_tracer_opts *opts)
{
    Ccai_tracer *t = Ccai_calloc(1, sizeof *t);
    if (!t)
        return NULL;
    if (!Ccai_random_bytes(&t->rng, sizeof t->rng)) {
        ccai_free(t);
        return NULL;
    }
    t->o = *opts;
    t->service_name = Ccai_strdup(opts->service_name ? opts->service_name : "ccai");
    if (!t->service_name) {
        ccai_free(t);
        return NULL;
    }
    t->o.service_name = t->service_name;
    return t;
}

static void span_free(Ccai_span *s)
{
    ccai_free(s->name);
    json_decref(s->attrs);
    ccai_free(s->error);
    ccai_free(s);
}

void Ccai_tracer_free(Ccai_tracer *t)
{
    if (!t)
        return;
    while (t->head) {
        Ccai_span *s = t->head;
        t->head = s->next;
        span_free(s);
    }
    ccai_free(t->service_name);
    ccai_free(t);
}

static Ccai_span *span_new(Ccai_tracer *t, const char *name, Ccai_span_kind kind)
{
    Ccai_span *s = Ccai_calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->t = t;
    s->kind = kind;
    s->name = Ccai_strdup(name);
    s->attrs = json_array();
    if (!s->name || !s->attrs) {
        span_free(s);
        return NULL;
    }
    random_id(t, s->span_id, sizeof s->span_id);
    s->start_ns = wall_ns();
    t->st.started++;
    return s;
}

Ccai_span *Ccai_trace_root(Ccai_tracer *t, const char *name, Ccai_span_kind kind)
{
    if (!t || t->o.sample_ratio <= 0)
        return NULL;
    if (t->o.sample_ratio < 1 &&
        (double)(next_random(t) >> 11) / (double)(UINT64_C(1) << 53) >= t->o.sample_ratio)
        return NULL;
    Ccai_span *s = span_new(t, name, kind);
    if (s)
        random_id(t, s->trace_id, sizeof s->trace_id);
    return s;
}

Ccai_span *Ccai_span_child(const Ccai_span *parent, const char *name, Ccai_span_kind kind)
{
    if (!parent)
        return NULL;
    Ccai_span *s = span_new(parent->t, name, kind);
    if (!s)
        return NULL;
    memcpy(s->trace_id, parent->trace_id, sizeof s->trace_id);
    memcpy(s->parent_id, parent->span_id, sizeof s->parent_id);
    s->has_parent = true;
    return s;
}

static void attr(Ccai_span *s, const char *key, json_t *value)
{
    if (!value)
        return;
    /* A key set again replaces its value. */
    size_t i;
    json_t *kv;
    json_array_foreach(s->attrs, i, kv)
    {
        if (strcmp(json_string_value(json_object_get(kv, "key")), key) == 0) {
            CCAI_DISCARD(json_object_set_new(kv, "value", value) == 0); /* NOMEM: old value kept */
            return;
        }
    }
    if (json_array_size(s->attrs) >= CCAI_SPAN_ATTRS_MAX) {
        json_decref(value);
        return;
    }
    json_t *o = json_pack("{s:s, s:o}", "key", key, "value", value);
    if (o)
        CCAI_DISCARD(json_array_append_new(s->attrs, o) == 0); /* NOMEM: an attribute less */
}

/* At most CCAI_SPAN_ATTR_TEXT_MAX bytes, cut between UTF-8 sequences, and
 * valid text only (jansson refuses the rest). */
static json_t *text_value(const char *v)
{
    size_t n = strlen(v);
    if (n > CCAI_SPAN_ATTR_TEXT_MAX) {
        n = CCAI_SPAN_ATTR_TEXT_MAX;
        while (n > 0 && ((unsigned char)v[n] & 0xC0) == 0x80)
            n--;
    }
    json_t *s = json_stringn(v, n);
    return s ? s : json_string("\xEF\xBF\xBD"); /* not UTF-8: U+FFFD */
}

void Ccai_span_attr_str(Ccai_span *s, const char *key, const char *value)
{
    if (!s || !value)
        return;
    json_t *str = text_value(value);
    attr(s, key, str ? json_pack("{s:o}", "stringValue", str) : NULL);
}

void Ccai_span_attr_int(Ccai_span *s, const char *key, int64_t value)
{
    if (!s)
        return;
    char buf[24];
    snprintf(buf, sizeof buf, "%lld", (long long)value);
    attr(s, key, json_pack("{s:s}", "intValue", buf));
}

void Ccai_span_attr_bool(Ccai_span *s, const char *key, bool value)
{
    if (s)
        attr(s, key, json_pack("{s:b}", "boolValue", value));
}

void Ccai_span_error(Ccai_span *s, const char *message)
{
    if (!s)
        return;
    ccai_free(s->error);
    size_t n = message ? strlen(message) : 0;
    s->error = Ccai_strndup(message ? message : "",
                            n > CCAI_SPAN_ATTR_TEXT_MAX ? CCAI_SPAN_ATTR_TEXT_MAX : n);
}

void Ccai_span_end(Ccai_span *s)
{
    if (!s)
        return;
    Ccai_tracer *t = s->t;
    s->end_ns = wall_ns();
    if (t->queued >= t->o.max_queue) {
        t->st.dropped_full++;
        span_free(s);
        return;
    }
    if (t->tail)
        t->tail->next = s;
    else
        t->head = s;
    t->tail = s;
    t->queued++;
    if (t->o.notify && t->queued == t->o.notify_at)
        t->o.notify(t->o.notify_ud);
}

void Ccai_span_end_st(Ccai_span *s, ccai_status st)
{
    if (s && st != CCAI_OK && !s->error)
        Ccai_span_error(s, ccai_status_str(st));
    Ccai_span_end(s);
}

static void hex(const uint8_t *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

void Ccai_span_trace_hex(const Ccai_span *s, char out[33])
{
    if (!s)
        out[0] = '\0';
    else
        hex(s->trace_id, sizeof s->trace_id, out);
}

static json_t *span_json(const Ccai_span *s)
{
    char tid[33], sid[17], pid[17], start[24], end[24];
    hex(s->trace_id, sizeof s->trace_id, tid);
    hex(s->span_id, sizeof s->span_id, sid);
    hex(s->parent_id, sizeof s->parent_id, pid);
    snprintf(start, sizeof start, "%llu", (unsigned long long)s->start_ns);
    snprintf(end, sizeof end, "%llu", (unsigned long long)s->end_ns);
    json_t *status = s->error ? json_pack("{s:i, s:s}", "code", 2, "message", s->error)
                              : json_object(); /* UNSET: the default, an empty Status */
    json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:O, s:o}", "traceId", tid, "spanId", sid,
                          "name", s->name, "kind", (int)s->kind, "startTimeUnixNano", start,
                          "endTimeUnixNano", end, "attributes", s->attrs, "status", status);
    if (o && s->has_parent && json_object_set_new(o, "parentSpanId", json_string(pid)) != 0) {
        json_decref(o);
        o = NULL;
    }
    return o;
}

char *Ccai_tracer_encode(Ccai_tracer *t, size_t max, size_t *ret_n)
{
    *ret_n = 0;
    if (!t || !t->head || max == 0)
        return NULL;
    json_t *spans = json_array();
    bool ok = spans != NULL;
    while (t->head && *ret_n < max) {
        Ccai_span *s = t->head;
        t->head = s->next;
        if (!t->head)
            t->tail = NULL;
        t->queued--;
        (*ret_n)++;
        if (ok && json_array_append_new(spans, span_json(s)) != 0)
            ok = false;
        span_free(s);
    }
    char *body = NULL;
    if (ok) {
        json_t *doc = json_pack("{s:[{s:{s:[{s:s, s:{s:s}}]}, s:[{s:{s:s, s:s}, s:o}]}]}",
                                "resourceSpans", "resource", "attributes", "key", "service.name",
                                "value", "stringValue", t->service_name, "scopeSpans", "scope",
                                "name", "libccai", "version", CCAI_VERSION_STRING, "spans", spans);
        spans = NULL;
        body = doc ? Ccai_json_dump(doc, JSON_COMPACT) : NULL;
        json_decref(doc);
    }
    json_decref(spans);
    if (!body)
        t->st.dropped_export += *ret_n;
    return body;
}

void Ccai_tracer_exported(Ccai_tracer *t, size_t n, bool ok)
{
    if (ok)
        t->st.exported += n;
    else
        t->st.dropped_export += n;
}

void Ccai_tracer_stats(const Ccai_tracer *t, Ccai_trace_stats *out)
{
    *out = t->st;
    out->queued = t->queued;
}
