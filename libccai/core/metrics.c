/* Counters, gauges and histograms, rendered as Prometheus text 0.0.4. */
#include "core/metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct series {
    char *labels;     /* checked exposition syntax, "" for none */
    double value;     /* counter and gauge */
    uint64_t *counts; /* histogram: per bucket, not cumulative; [nb] is +Inf */
    double sum;
    uint64_t count;
} series;

typedef struct family {
    char *name, *help;
    Ccai_metric_type type;
    double *buckets;
    size_t nb;
    series *s;
    size_t ns, cap;
} family;

typedef struct collector {
    Ccai_metrics_collect_fn fn;
    void *ud;
} collector;

struct Ccai_metrics {
    family *f;
    size_t n, cap;
    collector *c; /* gauges set at each scrape, by whoever owns them */
    size_t nc;
};

static const double default_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

static CCAI_MUST_CHECK bool name_valid(const char *s, bool colon)
{
    if (!s || !*s || Ccai_is_digit((unsigned char)*s))
        return false;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (!Ccai_is_alpha(c) && !Ccai_is_digit(c) && c != '_' && !(colon && c == ':'))
            return false;
    }
    return true;
}

static CCAI_MUST_CHECK bool label_name_valid(const char *s, size_t n)
{
    if (n == 0 || Ccai_is_digit((unsigned char)*s) || (n >= 2 && s[0] == '_' && s[1] == '_'))
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!Ccai_is_alpha(c) && !Ccai_is_digit(c) && c != '_')
            return false;
    }
    return true;
}

/* `name="value"(,name="value")*` with only \\, \" and \n escapes; "le" is
 * refused when @histogram. */
static CCAI_MUST_CHECK bool labels_valid(const char *s, bool histogram)
{
    if (!s || !*s)
        return true;
    for (;;) {
        size_t n = strcspn(s, "=");
        if (!label_name_valid(s, n) || (histogram && n == 2 && memcmp(s, "le", 2) == 0))
            return false;
        s += n;
        if (s[0] != '=' || s[1] != '"')
            return false;
        for (s += 2; *s != '"'; s++) {
            if (*s == '\0' || *s == '\n')
                return false;
            if (*s == '\\') {
                s++;
                if (*s != '\\' && *s != '"' && *s != 'n')
                    return false;
            }
        }
        s++;
        if (*s == '\0')
            return true;
        if (*s++ != ',')
            return false;
    }
}

static family *find(const Ccai_metrics *m, const char *name)
{
    for (size_t i = 0; name && i < m->n; i++) {
        if (strcmp(m->f[i].name, name) == 0)
            return &m->f[i];
    }
    return NULL;
}

Ccai_metrics *Ccai_metrics_new(void)
{
    return Ccai_calloc(1, sizeof(Ccai_metrics));
}

void Ccai_metrics_free(Ccai_metrics *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++) {
        family *f = &m->f[i];
        for (size_t j = 0; j < f->ns; j++) {
            ccai_free(f->s[j].labels);
            ccai_free(f->s[j].counts);
        }
        ccai_free(f->s);
        ccai_free(f->name);
        ccai_free(f->help);
        ccai_free(f->buckets);
    }
    ccai_free(m->f);
    ccai_free(m->c);
    ccai_free(m);
}

ccai_status Ccai_metrics_add_collector(Ccai_metrics *m, Ccai_metrics_collect_fn fn, void *ud)
{
    if (!m || !fn)
        return CCAI_ERR_INVALID_ARG;
    collector *c = Ccai_realloc(m->c, (m->nc + 1) * sizeof *c);
    if (!c)
        return CCAI_ERR_NOMEM;
    m->c = c;
    c[m->nc++] = (collector){fn, ud};
    return CCAI_OK;
}

void Ccai_metrics_collect(Ccai_metrics *m)
{
    for (size_t i = 0; m && i < m->nc; i++)
        m->c[i].fn(m, m->c[i].ud);
}

ccai_status Ccai_metrics_register(Ccai_metrics *m, const char *name, Ccai_metric_type type,
                                  const char *help, const double *buckets, size_t n_buckets)
{
    if (!m || !name_valid(name, true) || type > CCAI_METRIC_HISTOGRAM)
        return CCAI_ERR_INVALID_ARG;
    if (type != CCAI_METRIC_HISTOGRAM && (buckets || n_buckets))
        return CCAI_ERR_INVALID_ARG;
    if (type == CCAI_METRIC_HISTOGRAM) {
        if (!buckets && n_buckets)
            return CCAI_ERR_INVALID_ARG;
        if (!buckets) {
            buckets = default_buckets;
            n_buckets = CCAI_ARRAY_SIZE(default_buckets);
        }
        if (n_buckets == 0 || n_buckets > CCAI_METRICS_MAX_BUCKETS)
            return CCAI_ERR_INVALID_ARG;
        for (size_t i = 0; i < n_buckets; i++) {
            if (!isfinite(buckets[i]) || (i && !(buckets[i] > buckets[i - 1])))
                return CCAI_ERR_INVALID_ARG;
        }
    }
    family *old = find(m, name);
    if (old)
        return old->type == type ? CCAI_OK : CCAI_ERR_STATE;
    if (m->n >= CCAI_METRICS_MAX_FAMILIES)
        return CCAI_ERR_LIMIT;
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 8;
        family *f = Ccai_realloc(m->f, cap * sizeof *f);
        if (!f)
            return CCAI_ERR_NOMEM;
        m->f = f;
        m->cap = cap;
    }
    family f = {.type = type, .nb = n_buckets};
    f.name = Ccai_strdup(name);
    f.help = help ? Ccai_strdup(help) : NULL;
    if (n_buckets) {
        f.buckets = Ccai_malloc(n_buckets * sizeof *f.buckets);
        if (f.buckets)
            memcpy(f.buckets, buckets, n_buckets * sizeof *f.buckets);
    }
    if (!f.name || (help && !f.help) || (n_buckets && !f.buckets)) {
        ccai_free(f.name);
        ccai_free(f.help);
        ccai_free(f.buckets);
        return CCAI_ERR_NOMEM;
    }
    m->f[m->n++] = f;
    return CCAI_OK;
}

/* The series of @labels in the family @name of type @type, created on
 * first use. */
static CCAI_MUST_CHECK ccai_status lookup(Ccai_metrics *m, const char *name, Ccai_metric_type type,
                                          const char *labels, series **ret)
{
    if (!m || !name)
        return CCAI_ERR_INVALID_ARG;
    family *f = find(m, name);
    if (!f)
        return CCAI_ERR_NOT_FOUND;
    if (f->type != type)
        return CCAI_ERR_STATE;
    if (!labels)
        labels = "";
    for (size_t i = 0; i < f->ns; i++) {
        if (strcmp(f->s[i].labels, labels) == 0) {
            *ret = &f->s[i];
            return CCAI_OK;
        }
    }
    if (!labels_valid(labels, type == CCAI_METRIC_HISTOGRAM))
        return CCAI_ERR_INVALID_ARG;
    if (f->ns >= CCAI_METRICS_MAX_SERIES)
        return CCAI_ERR_LIMIT;
    if (f->ns == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 4;
        series *s = Ccai_realloc(f->s, cap * sizeof *s);
        if (!s)
            return CCAI_ERR_NOMEM;
        f->s = s;
        f->cap = cap;
    }
    series s = {0};
    s.labels = Ccai_strdup(labels);
    if (type == CCAI_METRIC_HISTOGRAM)
        s.counts = Ccai_calloc(f->nb + 1, sizeof *s.counts);
    if (!s.labels || (type == CCAI_METRIC_HISTOGRAM && !s.counts)) {
        ccai_free(s.labels);
        ccai_free(s.counts);
        return CCAI_ERR_NOMEM;
    }
    f->s[f->ns] = s;
    *ret = &f->s[f->ns++];
    return CCAI_OK;
}

ccai_status Ccai_metrics_counter_add(Ccai_metrics *m, const char *name, const char *labels,
                                     double value)
{
    if (!isfinite(value) || value < 0)
        return CCAI_ERR_INVALID_ARG;
    series *s;
    ccai_status st = lookup(m, name, CCAI_METRIC_COUNTER, labels, &s);
    if (st == CCAI_OK)
        s->value += value;
    return st;
}

ccai_status Ccai_metrics_counter_set(Ccai_metrics *m, const char *name, const char *labels,
                                     double value)
{
    if (!isfinite(value) || value < 0)
        return CCAI_ERR_INVALID_ARG;
    series *s;
    ccai_status st = lookup(m, name, CCAI_METRIC_COUNTER, labels, &s);
    if (st == CCAI_OK && value > s->value)
        s->value = value;
    return st;
}

ccai_status Ccai_metrics_gauge_set(Ccai_metrics *m, const char *name, const char *labels,
                                   double value)
{
    series *s;
    ccai_status st = lookup(m, name, CCAI_METRIC_GAUGE, labels, &s);
    if (st == CCAI_OK)
        s->value = value;
    return st;
}

ccai_status Ccai_metrics_gauge_add(Ccai_metrics *m, const char *name, const char *labels,
                                   double delta)
{
    series *s;
    ccai_status st = lookup(m, name, CCAI_METRIC_GAUGE, labels, &s);
    if (st == CCAI_OK)
        s->value += delta;
    return st;
}

ccai_status Ccai_metrics_histogram_observe(Ccai_metrics *m, const char *name, const char *labels,
                                           double value)
{
    if (isnan(value))
        return CCAI_ERR_INVALID_ARG;
    series *s;
    ccai_status st = lookup(m, name, CCAI_METRIC_HISTOGRAM, labels, &s);
    if (st != CCAI_OK)
        return st;
    const family *f = find(m, name);
    if (!f)
        return CCAI_ERR_INTERNAL; /* lookup() found it a moment ago */
    size_t i = 0;
    while (i < f->nb && value > f->buckets[i])
        i++;
    s->counts[i]++;
    s->count++;
    s->sum += value;
    return CCAI_OK;
}

/* Shortest "%g" text that reads back as @v; Go's ParseFloat spellings of
 * the infinities and NaN. */
static void fmt_double(double v, char out[40])
{
    if (isnan(v)) {
        strcpy(out, "NaN");
    } else if (isinf(v)) {
        strcpy(out, v > 0 ? "+Inf" : "-Inf");
    } else {
        snprintf(out, 40, "%.15g", v);
        if (strtod(out, NULL) != v)
            snprintf(out, 40, "%.17g", v);
    }
}

static void put_help(Ccai_buf *b, bool *bad, const char *help)
{
    for (const char *s = help; *s; s++) {
        bool ok = *s == '\\'   ? Ccai_buf_puts(b, "\\\\")
                  : *s == '\n' ? Ccai_buf_puts(b, "\\n")
                               : Ccai_buf_append(b, s, 1);
        if (!ok)
            *bad = true;
    }
}

/* name{labels[,extra]} value */
static CCAI_MUST_CHECK bool put_sample(Ccai_buf *b, const char *name, const char *suffix,
                                       const char *labels, const char *extra, const char *value)
{
    bool braces = *labels || extra;
    return Ccai_buf_printf(b, "%s%s%s%s%s%s%s %s\n", name, suffix, braces ? "{" : "", labels,
                           *labels && extra ? "," : "", extra ? extra : "", braces ? "}" : "",
                           value);
}

char *Ccai_metrics_render(const Ccai_metrics *m)
{
    if (!m)
        return NULL;
    Ccai_buf b = {0};
    bool bad = false;
    static const char *const type_names[] = {"counter", "gauge", "histogram"};
    for (size_t i = 0; i < m->n && !bad; i++) {
        const family *f = &m->f[i];
        if (f->help) {
            bad |= !Ccai_buf_printf(&b, "# HELP %s ", f->name);
            put_help(&b, &bad, f->help);
            bad |= !Ccai_buf_puts(&b, "\n");
        }
        bad |= !Ccai_buf_printf(&b, "# TYPE %s %s\n", f->name, type_names[f->type]);
        for (size_t j = 0; j < f->ns && !bad; j++) {
            const series *s = &f->s[j];
            char num[40], le[56];
            if (f->type != CCAI_METRIC_HISTOGRAM) {
                fmt_double(s->value, num);
                bad |= !put_sample(&b, f->name, "", s->labels, NULL, num);
                continue;
            }
            uint64_t cumulative = 0;
            for (size_t k = 0; k <= f->nb && !bad; k++) {
                cumulative += s->counts[k];
                if (k < f->nb)
                    fmt_double(f->buckets[k], num);
                else
                    strcpy(num, "+Inf");
                snprintf(le, sizeof le, "le=\"%s\"", num);
                snprintf(num, sizeof num, "%llu", (unsigned long long)cumulative);
                bad |= !put_sample(&b, f->name, "_bucket", s->labels, le, num);
            }
            fmt_double(s->sum, num);
            bad |= !put_sample(&b, f->name, "_sum", s->labels, NULL, num);
            snprintf(num, sizeof num, "%llu", (unsigned long long)s->count);
            bad |= !put_sample(&b, f->name, "_count", s->labels, NULL, num);
        }
    }
    if (bad) {
        Ccai_buf_free(&b);
        return NULL;
    }
    return Ccai_buf_steal(&b);
}

char *Ccai_metrics_labels(const char *key, ...)
{
    Ccai_buf b = {0};
    bool bad = false;
    va_list ap;
    va_start(ap, key);
    for (const char *k = key; k && !bad; k = va_arg(ap, const char *)) {
        const char *v = va_arg(ap, const char *);
        if (!v || !label_name_valid(k, strlen(k))) {
            bad = true;
            break;
        }
        bad |= !Ccai_buf_printf(&b, "%s%s=\"", b.len ? "," : "", k);
        for (; *v && !bad; v++) {
            bad |= !(*v == '\\'   ? Ccai_buf_puts(&b, "\\\\")
                     : *v == '"'  ? Ccai_buf_puts(&b, "\\\"")
                     : *v == '\n' ? Ccai_buf_puts(&b, "\\n")
                                  : Ccai_buf_append(&b, v, 1));
        }
        bad |= !Ccai_buf_puts(&b, "\"");
    }
    va_end(ap);
    if (bad) {
        Ccai_buf_free(&b);
        return NULL;
    }
    return Ccai_buf_steal(&b);
}
