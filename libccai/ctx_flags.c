/* Feature flags at run time (ctx_flags.h). The file is polled (stat: inode,
 * size, modification time), not watched with inotify: a poll works on every
 * file system and with editors that replace the file, and the reference
 * itself took up to 60 s (its App Configuration cache). */
#include "ctx_flags.h"

#include "config/config.h"
#include "config/flags.h"
#include "core/json.h"
#include "io/io.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

struct Ccai_flags_rt {
    ccai_ctx *ctx;
    ccai_config *cfg;
    Ccai_logger log;
    Ccai_metrics *metrics;
    char *path; /* flags.file, NULL: none */
    uint64_t poll_ms;
    Ccai_timer timer;
    bool seen; /* the file's identity below is known */
    bool missing_logged;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime, ctime;
    uint64_t generation;
};

static void count(Ccai_flags_rt *rt, const char *name, const char *origin)
{
    char *labels = Ccai_metrics_labels("origin", origin, NULL);
    /* A metric sample: a failure changes nothing the flags do. */
    if (labels)
        CCAI_DISCARD(Ccai_metrics_counter_add(rt->metrics, name, labels, 1));
    ccai_free(labels);
}

static void collect(Ccai_metrics *m, void *ud)
{
    Ccai_flags_rt *rt = ud;
    CCAI_DISCARD(Ccai_metrics_gauge_set(m, "ccai_flags_generation", "", (double)rt->generation));
    json_t *now = Ccai_flags_current(rt->cfg);
    const char *key;
    json_t *v;
    json_object_foreach(now, key, v)
    {
        char *labels = Ccai_metrics_labels("name", key, NULL);
        double d = json_is_boolean(v) ? (json_is_true(v) ? 1 : 0) : json_number_value(v);
        /* Scrape-time samples: a failure leaves the previous value. */
        if (labels)
            CCAI_DISCARD(Ccai_metrics_gauge_set(m, "ccai_flag_value", labels, d));
        ccai_free(labels);
    }
    json_decref(now);
}

static ccai_status apply(Ccai_flags_rt *rt, const json_t *flat, const json_t *over,
                         const char *origin, char **ret_msg)
{
    json_t *changes = NULL;
    ccai_status st = Ccai_flags_apply(rt->cfg, flat, over, &changes, ret_msg);
    if (st != CCAI_OK) {
        if (st != CCAI_ERR_NOMEM)
            count(rt, "ccai_flags_rejected_total", origin);
        return st;
    }
    if (json_object_size(changes) > 0) {
        rt->generation++;
        const char *key;
        json_t *pair;
        json_object_foreach(changes, key, pair)
        {
            char *o =
                Ccai_json_dump(json_array_get(pair, 0), JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
            char *n =
                Ccai_json_dump(json_array_get(pair, 1), JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
            Ccai_log(&rt->log, CCAI_LOG_INFO, "flags (%s): %s %s -> %s (generation %llu)", origin,
                     key, o ? o : "?", n ? n : "?", (unsigned long long)rt->generation);
            ccai_free(o);
            ccai_free(n);
            count(rt, "ccai_flags_changes_total", origin);
        }
    }
    json_decref(changes);
    return CCAI_OK;
}

ccai_status Ccai_flags_rt_set(Ccai_flags_rt *rt, const json_t *doc, const char *origin,
                              char **ret_msg)
{
    *ret_msg = NULL;
    if (!json_is_object(doc)) {
        *ret_msg = Ccai_strdup("expected a JSON object of flags");
        return *ret_msg ? CCAI_ERR_VALIDATION : CCAI_ERR_NOMEM;
    }
    /* Nested sections ({"conversation": {...}}) as dotted names. */
    char *text = Ccai_json_dump(doc, JSON_COMPACT);
    if (!text)
        return CCAI_ERR_NOMEM;
    json_t *flat = NULL;
    ccai_status st = Ccai_flags_parse_doc(text, strlen(text), &flat, ret_msg);
    ccai_free(text);
    if (st == CCAI_ERR_PARSE)
        st = CCAI_ERR_VALIDATION;
    if (st == CCAI_OK)
        st = apply(rt, flat, NULL, origin, ret_msg);
    json_decref(flat);
    return st;
}

/* Read the file and apply it, over @base (the configuration's flags on a
 * reload; NULL: none). */
static ccai_status read_file(Ccai_flags_rt *rt, const json_t *base, const char *origin,
                             char **ret_msg)
{
    FILE *f = fopen(rt->path, "rb");
    if (!f) {
        *ret_msg = Ccai_asprintf("%s: %s", rt->path, strerror(errno));
        return *ret_msg ? CCAI_ERR_IO : CCAI_ERR_NOMEM;
    }
    char *buf = Ccai_malloc(CCAI_FLAGS_DOC_MAX_BYTES + 1);
    size_t n = buf ? fread(buf, 1, CCAI_FLAGS_DOC_MAX_BYTES + 1, f) : 0;
    bool err = ferror(f) != 0;
    fclose(f);
    if (!buf)
        return CCAI_ERR_NOMEM;
    ccai_status st;
    json_t *flat = NULL;
    if (err) {
        *ret_msg = Ccai_asprintf("%s: read error", rt->path);
        st = CCAI_ERR_IO;
    } else {
        char *why = NULL;
        st = Ccai_flags_parse_doc(buf, n, &flat, &why);
        if (st == CCAI_OK)
            st = base ? apply(rt, base, flat, origin, &why) : apply(rt, flat, NULL, origin, &why);
        if (why) {
            *ret_msg = Ccai_asprintf("%s: %s", rt->path, why);
            ccai_free(why);
        }
    }
    ccai_free(buf);
    json_decref(flat);
    return st;
}

/* Has the file changed since it was last read (or is it new)? */
static bool file_changed(Ccai_flags_rt *rt, const struct stat *sb)
{
    bool changed =
        !rt->seen || sb->st_dev != rt->dev || sb->st_ino != rt->ino || sb->st_size != rt->size ||
        sb->st_mtim.tv_sec != rt->mtime.tv_sec || sb->st_mtim.tv_nsec != rt->mtime.tv_nsec ||
        sb->st_ctim.tv_sec != rt->ctime.tv_sec || sb->st_ctim.tv_nsec != rt->ctime.tv_nsec;
    rt->seen = true;
    rt->dev = sb->st_dev;
    rt->ino = sb->st_ino;
    rt->size = sb->st_size;
    rt->mtime = sb->st_mtim;
    rt->ctime = sb->st_ctim;
    return changed;
}

static void poll_file(Ccai_flags_rt *rt, const char *origin, bool force)
{
    struct stat sb;
    if (stat(rt->path, &sb) != 0) {
        if (!rt->missing_logged)
            Ccai_log(&rt->log, CCAI_LOG_WARN, "flags: %s: %s (the flags keep their values)",
                     rt->path, strerror(errno));
        rt->missing_logged = true;
        rt->seen = false;
        return;
    }
    rt->missing_logged = false;
    if (!file_changed(rt, &sb) && !force)
        return;
    char *msg = NULL;
    ccai_status st = read_file(rt, NULL, origin, &msg);
    if (st != CCAI_OK) {
        Ccai_log(&rt->log, CCAI_LOG_ERROR, "flags: %s; nothing changed",
                 msg ? msg : ccai_status_str(st));
        if (st == CCAI_ERR_IO)
            count(rt, "ccai_flags_rejected_total", origin);
    }
    ccai_free(msg);
}

static void on_timer(Ccai_timer *t, void *ud)
{
    Ccai_flags_rt *rt = ud;
    poll_file(rt, "file", false);
    Ccai_timer_start(rt->ctx, t, rt->poll_ms);
}

ccai_status Ccai_flags_rt_reload(Ccai_flags_rt *rt, const ccai_config *fresh, char **ret_msg)
{
    *ret_msg = NULL;
    json_t *base = NULL;
    if (fresh && !(base = Ccai_flags_of_config(fresh)))
        return CCAI_ERR_NOMEM;
    ccai_status st;
    if (!rt->path) {
        st = base ? apply(rt, base, NULL, "reload", ret_msg) : CCAI_OK;
    } else {
        struct stat sb;
        if (stat(rt->path, &sb) == 0)
            CCAI_DISCARD(file_changed(rt, &sb)); /* the identity now: read below in any case */
        st = read_file(rt, base, "reload", ret_msg);
        if (st != CCAI_OK && st != CCAI_ERR_NOMEM && base) {
            /* A file that cannot be read or holds a bad value: the
             * configuration's flags still count. */
            char *why = NULL;
            ccai_status st2 = apply(rt, base, NULL, "reload", &why);
            ccai_free(why); /* valid by construction: a configuration holds no bad value */
            if (st2 == CCAI_ERR_NOMEM)
                st = st2;
        }
    }
    json_decref(base);
    return st;
}

json_t *Ccai_flags_rt_state(const Ccai_flags_rt *rt)
{
    json_t *flags = Ccai_flags_current(rt->cfg);
    if (!flags)
        return NULL;
    return json_pack("{s:I, s:s?, s:o}", "generation", (json_int_t)rt->generation, "file", rt->path,
                     "flags", flags);
}

ccai_status Ccai_flags_rt_new(ccai_ctx *ctx, ccai_config *cfg, const Ccai_logger *log,
                              Ccai_metrics *metrics, Ccai_flags_rt **ret)
{
    static const struct {
        const char *name, *help;
        Ccai_metric_type type;
    } fams[] = {
        {"ccai_flags_generation", "Feature flags: changes applied since start (each a generation)",
         CCAI_METRIC_GAUGE},
        {"ccai_flag_value", "Feature flags: current value (true = 1)", CCAI_METRIC_GAUGE},
        {"ccai_flags_changes_total", "Feature flags: values changed, by origin",
         CCAI_METRIC_COUNTER},
        {"ccai_flags_rejected_total",
         "Feature flags: changes refused (bad value, unreadable file), by origin",
         CCAI_METRIC_COUNTER},
    };
    *ret = NULL;
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(fams); i++) {
        ccai_status st =
            Ccai_metrics_register(metrics, fams[i].name, fams[i].type, fams[i].help, NULL, 0);
        if (st != CCAI_OK)
            return st;
    }
    Ccai_flags_rt *rt = Ccai_calloc(1, sizeof *rt);
    if (!rt)
        return CCAI_ERR_NOMEM;
    rt->ctx = ctx;
    rt->cfg = cfg;
    rt->log = *log;
    rt->metrics = metrics;
    rt->poll_ms = (uint64_t)Ccai_config_int(cfg, "flags.poll_interval_sec", 5) * 1000u;
    Ccai_timer_init(&rt->timer, on_timer, rt);
    Ccai_timer_set_idle(&rt->timer, true); /* a poll is no work to drain */
    const char *path = Ccai_config_str(cfg, "flags.file");
    ccai_status st = CCAI_OK;
    if (path && *path && !(rt->path = Ccai_strdup(path)))
        st = CCAI_ERR_NOMEM;
    if (st == CCAI_OK)
        st = Ccai_metrics_add_collector(metrics, collect, rt);
    if (st != CCAI_OK) {
        Ccai_flags_rt_free(rt);
        return st;
    }
    if (rt->path) {
        poll_file(rt, "file", false);
        Ccai_timer_start(ctx, &rt->timer, rt->poll_ms);
    }
    *ret = rt;
    return CCAI_OK;
}

void Ccai_flags_rt_free(Ccai_flags_rt *rt)
{
    if (!rt)
        return;
    Ccai_timer_stop(rt->ctx, &rt->timer);
    ccai_free(rt->path);
    ccai_free(rt);
}
