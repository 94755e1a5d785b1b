/* A metrics registry rendered in the Prometheus text exposition format,
 * version 0.0.4 (core/metrics.c).
 *
 * The registry is the context's: each part registers its families when it
 * starts and counts into them; the web layer's GET /metrics collects and
 * renders it. A registry is a plain object: no global state, no locking. A host that
 * updates it from several threads serialises the calls itself.
 *
 * Lifecycle:
 *   1. Ccai_metrics_new();
 *   2. Ccai_metrics_register() once per metric family (name, type, help,
 *      histogram buckets);
 *   3. Ccai_metrics_counter_add(), _gauge_set(), _gauge_add(),
 *      _histogram_observe() with a label set;
 *   4. Ccai_metrics_collect() then Ccai_metrics_render() for each scrape
 *      of GET /metrics (Content-Type: CCAI_METRICS_CONTENT_TYPE);
 *   5. Ccai_metrics_free().
 *
 * Label sets are strings in the exposition syntax, `method="GET",code="200"`
 * (NULL or "" for none), with values escaped as the format wants (\\, \",
 * \n). Ccai_metrics_labels() builds one from raw values. A label set is
 * checked, then used verbatim as the series identity: give the labels of a
 * family in a consistent order. Families are rendered in registration
 * order, series in order of first use. */
#ifndef CCAI_CORE_METRICS_H
#define CCAI_CORE_METRICS_H

#include "core/common.h"

#define CCAI_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
/* At most this many families per registry and series per family: a label
 * fed from unbounded input (a phone number) cannot exhaust memory. */
#define CCAI_METRICS_MAX_FAMILIES 256
#define CCAI_METRICS_MAX_SERIES   2048
/* At most this many histogram buckets (+Inf excluded). */
#define CCAI_METRICS_MAX_BUCKETS 64

typedef struct Ccai_metrics Ccai_metrics;

typedef enum Ccai_metric_type {
    CCAI_METRIC_COUNTER,
    CCAI_METRIC_GAUGE,
    CCAI_METRIC_HISTOGRAM,
} Ccai_metric_type;

/* An empty registry; NULL on out of memory. Freed with Ccai_metrics_free(). */
Ccai_metrics *Ccai_metrics_new(void);

/* Accepts NULL. */
void Ccai_metrics_free(Ccai_metrics *m);

/* Declare a family. @name matches [a-zA-Z_:][a-zA-Z0-9_:]*; @help (NULL for
 * no HELP line) is any text, escaped on output. For histograms, @buckets
 * holds @n_buckets finite upper bounds in strictly increasing order (+Inf is
 * implicit); NULL and 0 select the Prometheus defaults (0.005 to 10
 * seconds). Other types take NULL and 0. Registering a name again with the
 * same type is a no-op returning CCAI_OK.
 * Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG (bad name or buckets);
 * CCAI_ERR_STATE (the name exists with another type); CCAI_ERR_LIMIT;
 * CCAI_ERR_NOMEM. Ownership: inputs are copied. */
CCAI_MUST_CHECK ccai_status Ccai_metrics_register(Ccai_metrics *m, const char *name,
                                                  Ccai_metric_type type, const char *help,
                                                  const double *buckets, size_t n_buckets);

/* Add @value (finite, >= 0) to a counter. Statuses: CCAI_OK;
 * CCAI_ERR_NOT_FOUND (unregistered name); CCAI_ERR_STATE (not a counter);
 * CCAI_ERR_INVALID_ARG (bad label set or value); CCAI_ERR_LIMIT;
 * CCAI_ERR_NOMEM. */
CCAI_MUST_CHECK ccai_status Ccai_metrics_counter_add(Ccai_metrics *m, const char *name,
                                                     const char *labels, double value);

/* Set a counter to a total kept elsewhere (the CPU time the kernel counts),
 * read at collect time; a value below the counter's is ignored (a counter
 * never goes down). Statuses: as Ccai_metrics_counter_add(). */
CCAI_MUST_CHECK ccai_status Ccai_metrics_counter_set(Ccai_metrics *m, const char *name,
                                                     const char *labels, double value);

/* Set a gauge, or add to it (@delta may be negative). Statuses: as
 * Ccai_metrics_counter_add(), any value allowed (NaN and infinities are
 * valid gauge values). */
CCAI_MUST_CHECK ccai_status Ccai_metrics_gauge_set(Ccai_metrics *m, const char *name,
                                                   const char *labels, double value);
CCAI_MUST_CHECK ccai_status Ccai_metrics_gauge_add(Ccai_metrics *m, const char *name,
                                                   const char *labels, double delta);

/* Record one observation (for durations, in seconds). The label set may not
 * use "le". Statuses: as Ccai_metrics_counter_add(); the value must not be
 * NaN. */
CCAI_MUST_CHECK ccai_status Ccai_metrics_histogram_observe(Ccai_metrics *m, const char *name,
                                                           const char *labels, double value);

/* A gauge read at scrape time (calls in progress): fn(m, ud) sets it when
 * Ccai_metrics_collect() runs, before a render. Lets a part of the
 * context publish its state without the page knowing that part.
 * Statuses: CCAI_OK, CCAI_ERR_INVALID_ARG, CCAI_ERR_NOMEM. */
typedef void (*Ccai_metrics_collect_fn)(Ccai_metrics *m, void *ud);
CCAI_MUST_CHECK ccai_status Ccai_metrics_add_collector(Ccai_metrics *m, Ccai_metrics_collect_fn fn,
                                                       void *ud);
/* Run the collectors, in the order they were added. */
void Ccai_metrics_collect(Ccai_metrics *m);

/* The exposition text. NULL on out of memory or when @m is NULL.
 * Ownership: the caller's, freed with ccai_free(). */
char *Ccai_metrics_render(const Ccai_metrics *m);

/* A label set from raw pairs: key, value, key, value, ..., NULL. Values are
 * escaped; keys must match [a-zA-Z_][a-zA-Z0-9_]* and not start with "__".
 * The list ends at the first NULL key; a NULL value is an error (it cannot
 * be told from the end). Returns NULL for an invalid key, a NULL value, or
 * on out of memory. Ownership: the caller's, freed with ccai_free(). */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((sentinel))
#endif
char *
Ccai_metrics_labels(const char *key, ...);

/* The process's standard metrics under Prometheus' names, read at each
 * collect from /proc/self (Linux; elsewhere what getrusage() tells):
 * process_cpu_seconds_total, process_resident_memory_bytes,
 * process_virtual_memory_bytes, process_open_fds, process_max_fds,
 * process_start_time_seconds; and ccai_build_info{version=@version} 1
 * (core/metrics_process.c). They are the process's, whichever context
 * reports them. Statuses: as Ccai_metrics_register(). */
CCAI_MUST_CHECK ccai_status Ccai_metrics_process_init(Ccai_metrics *m, const char *version);

#endif
