/* The cache's dispatch, and its default backend: the documents store's
 * key/value table (cache/cache.h). A get reads the table at once and
 * answers from the loop (a timer due now), as an asynchronous backend
 * does, so callers have one path. */
#include "cache/cache.h"

#include "io/io.h"

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

typedef struct store_cache {
    Ccai_cache base;
    ccai_ctx *ctx;
    Ccai_docstore *ds;
    const Ccai_logger *log;
    unsigned writes;
} store_cache;

/* A get of the store's: Ccai_cache_op is never defined, each backend's
 * operation is its own. */
typedef struct store_op {
    Ccai_timer timer;
    ccai_status st;
    char *value;
    size_t len;
    Ccai_cache_get_fn fn;
    void *ud;
    ccai_ctx *ctx;
} store_op;

static void op_free(store_op *op)
{
    Ccai_timer_stop(op->ctx, &op->timer);
    ccai_free(op->value);
    ccai_free(op);
}

static void on_answer(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    store_op *op = ud;
    op->fn(op->st, op->value, op->len, op->ud);
    op_free(op);
}

static CCAI_MUST_CHECK ccai_status store_get(Ccai_cache *c, const char *key, Ccai_cache_get_fn fn,
                                             void *ud, Ccai_cache_op **ret)
{
    store_cache *s = (store_cache *)c;
    store_op *op = Ccai_calloc(1, sizeof *op);
    if (!op)
        return CCAI_ERR_NOMEM;
    op->fn = fn;
    op->ud = ud;
    op->ctx = s->ctx;
    op->st = Ccai_docstore_kv_get(s->ds, key, Ccai_wall_ms(), &op->value, &op->len);
    if (op->st != CCAI_OK && op->st != CCAI_ERR_NOT_FOUND)
        Ccai_log(s->log, CCAI_LOG_WARN, "cache: %s", Ccai_docstore_errmsg(s->ds));
    Ccai_timer_init(&op->timer, on_answer, op);
    Ccai_timer_start(s->ctx, &op->timer, 0);
    *ret = (Ccai_cache_op *)op;
    return CCAI_OK;
}

static CCAI_MUST_CHECK ccai_status store_set(Ccai_cache *c, const char *key, const char *value,
                                             size_t len, uint32_t ttl_sec)
{
    store_cache *s = (store_cache *)c;
    int64_t now = Ccai_wall_ms();
    ccai_status st = Ccai_docstore_kv_put(s->ds, key, value, len, now + (int64_t)ttl_sec * 1000);
    if (st == CCAI_OK && ++s->writes % PURGE_EVERY == 0) {
        int64_t n = 0;
        /* Only housekeeping: what stays is never read (expired). */
        if (Ccai_docstore_kv_purge(s->ds, now, &n) != CCAI_OK)
            Ccai_log(s->log, CCAI_LOG_WARN, "cache: purge: %s", Ccai_docstore_errmsg(s->ds));
    }
    return st;
}

static void store_cancel(Ccai_cache_op *op)
{
    op_free((store_op *)op);
}

static void store_free(Ccai_cache *c)
{
    ccai_free(c);
}

static const Ccai_cache_class store_class = {"store", store_get, store_set, store_cancel,
                                             store_free};

ccai_status Ccai_cache_store_new(ccai_ctx *ctx, Ccai_docstore *ds, const Ccai_logger *log,
                                 Ccai_cache **ret)
{
    if (!ctx || !ds || !ret)
        return CCAI_ERR_INVALID_ARG;
    store_cache *s = Ccai_calloc(1, sizeof *s);
    if (!s)
        return CCAI_ERR_NOMEM;
    *s = (store_cache){{&store_class}, ctx, ds, log, 0};
    *ret = &s->base;
    return CCAI_OK;
}
