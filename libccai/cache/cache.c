/* The cache's dispatch, and its default backend: the documents store's
 * key/value table (cache/cache.h). Its reads and writes are jobs of the
 * documents' executor (store/docs_exec.h): off the loop on PostgreSQL, on
 * the loop from a timer on SQLite; a get answers from the loop, as an
 * asynchronous backend does, so callers have one path. */
#include "cache/cache.h"

#include "io/io.h"
#include "store/docs_exec.h"

#include <stdio.h>

#include <string.h>

/* Expired entries are dropped every this many writes. */
#define PURGE_EVERY 256

static bool key_ok(const char *key)
{
    if (!key || !*key)
        return false;
    size_t n = 0;
    for (const char *p = key; *p; p++, n++) {
        if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f || n >= CCAI_CACHE_KEY_MAX)
            return false;
    }
    return true;
}

ccai_status Ccai_cache_get(Ccai_cache *c, const char *key, Ccai_cache_get_fn fn, void *ud,
                           Ccai_cache_op **ret)
{
    if (ret)
        *ret = NULL;
    if (!c || !fn || !key_ok(key))
        return CCAI_ERR_INVALID_ARG;
    Ccai_cache_op *op = NULL;
    ccai_status st = c->cls->get(c, key, fn, ud, &op);
    if (st == CCAI_OK && ret)
        *ret = op;
    return st;
}

ccai_status Ccai_cache_set(Ccai_cache *c, const char *key, const char *value, size_t len,
                           uint32_t ttl_sec)
{
    if (!c || !key_ok(key) || (!value && len) || ttl_sec == 0)
        return CCAI_ERR_INVALID_ARG;
    return c->cls->set(c, key, value ? value : "", len, ttl_sec);
}

void Ccai_cache_cancel(Ccai_cache *c, Ccai_cache_op *op)
{
    if (c && op)
        c->cls->cancel(op);
}

void Ccai_cache_free(Ccai_cache *c)
{
    if (c)
        c->cls->free(c);
}

const char *Ccai_cache_name(const Ccai_cache *c)
{
    return c ? c->cls->name : "none";
}

/* The store's backend -------------------------------------------------------- */

/* Its reads and writes are jobs of the documents' executor
 * (store/docs_exec.h): on a worker thread with its own connection on
 * PostgreSQL, on the loop on SQLite; either way the answer comes from the
 * loop. */
typedef struct store_cache {
    Ccai_cache base;
    Ccai_docs_exec *exec;
    const Ccai_logger *log;
    unsigned writes;
} store_cache;

/* A get of the store's: Ccai_cache_op is never defined, each backend's
 * operation is its own. The job's data: key in, value out. */
typedef struct store_op {
    Ccai_docs_exec *exec;
    Ccai_docs_job *job;
    const Ccai_logger *log;
    char *key;
    int64_t now;
    ccai_status st;
    char *value;
    size_t len;
    char why[300];
    Ccai_cache_get_fn fn;
    void *ud;
} store_op;

static void op_free(store_op *op)
{
    ccai_free(op->key);
    ccai_free(op->value);
    ccai_free(op);
}

static void get_work(Ccai_docstore *ds, void *ud)
{
    store_op *op = ud;
    op->st = Ccai_docstore_kv_get(ds, op->key, op->now, &op->value, &op->len);
    if (op->st != CCAI_OK && op->st != CCAI_ERR_NOT_FOUND)
        snprintf(op->why, sizeof op->why, "%s", Ccai_docstore_errmsg(ds));
}

static void get_done(ccai_status st, const char *errmsg, void *ud)
{
    store_op *op = ud;
    if (st == CCAI_ERR_CANCELLED) {
        op_free(op);
        return;
    }
    if (st != CCAI_OK) {
        op->st = st;
        snprintf(op->why, sizeof op->why, "%s", errmsg ? errmsg : ccai_status_str(st));
    }
    if (op->st != CCAI_OK && op->st != CCAI_ERR_NOT_FOUND)
        Ccai_log(op->log, CCAI_LOG_WARN, "cache: %s", op->why);
    op->fn(op->st, op->value, op->len, op->ud);
    op_free(op);
}

static CCAI_MUST_CHECK ccai_status store_get(Ccai_cache *c, const char *key, Ccai_cache_get_fn fn,
                                             void *ud, Ccai_cache_op **ret)
{
    store_cache *s = (store_cache *)c;
    store_op *op = Ccai_calloc(1, sizeof *op);
    if (!op || !(op->key = Ccai_strdup(key))) {
        ccai_free(op);
        return CCAI_ERR_NOMEM;
    }
    op->exec = s->exec;
    op->log = s->log;
    op->now = Ccai_wall_ms();
    op->fn = fn;
    op->ud = ud;
    ccai_status st = Ccai_docs_exec_run(s->exec, get_work, get_done, op, &op->job);
    if (st != CCAI_OK) {
        op_free(op);
        return st == CCAI_ERR_NOMEM ? st : CCAI_ERR_IO;
    }
    *ret = (Ccai_cache_op *)op;
    return CCAI_OK;
}

/* A write: accepted, not awaited; its failure logged from the loop. */
typedef struct store_put {
    const Ccai_logger *log;
    char *key, *value;
    size_t len;
    int64_t now, expires_at;
    bool purge;
    ccai_status st;
    char why[300];
} store_put;

static void put_work(Ccai_docstore *ds, void *ud)
{
    store_put *p = ud;
    p->st = Ccai_docstore_kv_put(ds, p->key, p->value, p->len, p->expires_at);
    if (p->st != CCAI_OK) {
        snprintf(p->why, sizeof p->why, "%s", Ccai_docstore_errmsg(ds));
        return;
    }
    int64_t n = 0;
    /* Only housekeeping: what stays is never read (expired). */
    if (p->purge && Ccai_docstore_kv_purge(ds, p->now, &n) != CCAI_OK)
        snprintf(p->why, sizeof p->why, "purge: %s", Ccai_docstore_errmsg(ds));
}

static void put_done(ccai_status st, const char *errmsg, void *ud)
{
    store_put *p = ud;
    if (st != CCAI_OK && st != CCAI_ERR_CANCELLED)
        Ccai_log(p->log, CCAI_LOG_WARN, "cache: not kept: %s", errmsg ? errmsg : "");
    else if (st == CCAI_OK && *p->why)
        Ccai_log(p->log, CCAI_LOG_WARN, "cache: %s", p->why);
    ccai_free(p->key);
    ccai_free(p->value);
    ccai_free(p);
}

static CCAI_MUST_CHECK ccai_status store_set(Ccai_cache *c, const char *key, const char *value,
                                             size_t len, uint32_t ttl_sec)
{
    store_cache *s = (store_cache *)c;
    store_put *p = Ccai_calloc(1, sizeof *p);
    if (!p)
        return CCAI_ERR_NOMEM;
    p->log = s->log;
    p->key = Ccai_strdup(key);
    p->value = Ccai_malloc(len + 1);
    if (!p->key || !p->value) {
        put_done(CCAI_ERR_CANCELLED, NULL, p);
        return CCAI_ERR_NOMEM;
    }
    memcpy(p->value, value, len);
    p->value[len] = '\0';
    p->len = len;
    p->now = Ccai_wall_ms();
    p->expires_at = p->now + (int64_t)ttl_sec * 1000;
    p->purge = ++s->writes % PURGE_EVERY == 0;
    ccai_status st = Ccai_docs_exec_run(s->exec, put_work, put_done, p, NULL);
    if (st != CCAI_OK) {
        put_done(CCAI_ERR_CANCELLED, NULL, p);
        return st == CCAI_ERR_NOMEM ? st : CCAI_ERR_IO;
    }
    return CCAI_OK;
}

static void store_cancel(Ccai_cache_op *op)
{
    store_op *o = (store_op *)op;
    Ccai_docs_exec_cancel(o->exec, o->job); /* get_done frees it */
}

static void store_free(Ccai_cache *c)
{
    ccai_free(c);
}

static const Ccai_cache_class store_class = {"store", store_get, store_set, store_cancel,
                                             store_free};

ccai_status Ccai_cache_store_new(Ccai_docs_exec *exec, const Ccai_logger *log, Ccai_cache **ret)
{
    if (!exec || !ret)
        return CCAI_ERR_INVALID_ARG;
    store_cache *s = Ccai_calloc(1, sizeof *s);
    if (!s)
        return CCAI_ERR_NOMEM;
    *s = (store_cache){{&store_class}, exec, log, 0};
    *ret = &s->base;
    return CCAI_OK;
}
