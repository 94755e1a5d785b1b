/* A small cache with expiry (cache/): what the documents search keeps per
 * question, so that a question asked again costs no embedding request and
 * no search (the reference kept AI Search's results a day, in Redis, "to
 * lower the search cost"). Two backends behind one table:
 *
 *   store  the documents store's key/value table (store/docs.h): the
 *          default, nothing to run, survives restarts;
 *   redis  a Redis server through hiredis' asynchronous API on the
 *          context's loop (fds and timers): shared by every instance.
 *
 * A cache is advice: a failure (Redis down, a time-out) is a miss and the
 * caller works without it; nothing blocks the loop. */
#ifndef CCAI_CACHE_CACHE_H
#define CCAI_CACHE_CACHE_H

#include "core/common.h"
#include "store/docs.h"
#include "store/docs_exec.h"

typedef struct Ccai_cache Ccai_cache;
typedef struct Ccai_cache_op Ccai_cache_op;

/* A get's answer, exactly once unless cancelled, from the loop (never from
 * inside Ccai_cache_get()): CCAI_OK and the value (borrowed during the
 * call; len bytes, NUL-terminated), CCAI_ERR_NOT_FOUND for a miss, another
 * status when the backend failed (a miss for the caller). */
typedef void (*Ccai_cache_get_fn)(ccai_status st, const char *value, size_t len, void *ud);

typedef struct Ccai_cache_class {
    const char *name; /* cache.mode */
    CCAI_MUST_CHECK ccai_status (*get)(Ccai_cache *c, const char *key, Ccai_cache_get_fn fn,
                                       void *ud, Ccai_cache_op **ret);
    CCAI_MUST_CHECK ccai_status (*set)(Ccai_cache *c, const char *key, const char *value,
                                       size_t len, uint32_t ttl_sec);
    void (*cancel)(Ccai_cache_op *op);
    void (*free)(Ccai_cache *c);
} Ccai_cache_class;

/* Every backend's cache begins with this. */
struct Ccai_cache {
    const Ccai_cache_class *cls;
};

/* Ask for key (printable, at most CCAI_CACHE_KEY_MAX bytes). Statuses:
 * CCAI_OK (fn fires), CCAI_ERR_INVALID_ARG, CCAI_ERR_NOMEM, CCAI_ERR_IO
 * (the backend cannot be reached now): no callback then. *ret (may be
 * NULL) is the operation, for Ccai_cache_cancel(), until fn fires. */
#define CCAI_CACHE_KEY_MAX 256
CCAI_MUST_CHECK ccai_status Ccai_cache_get(Ccai_cache *c, const char *key, Ccai_cache_get_fn fn,
                                           void *ud, Ccai_cache_op **ret);
/* Keep value for ttl_sec (> 0). Accepted, not awaited: a write that fails
 * later is logged. Statuses: CCAI_OK, CCAI_ERR_INVALID_ARG, CCAI_ERR_NOMEM,
 * CCAI_ERR_IO, the store's. */
CCAI_MUST_CHECK ccai_status Ccai_cache_set(Ccai_cache *c, const char *key, const char *value,
                                           size_t len, uint32_t ttl_sec);
/* No callback of op fires afterwards. NULL accepted. */
void Ccai_cache_cancel(Ccai_cache *c, Ccai_cache_op *op);
/* Every operation must be cancelled or answered first. NULL accepted. */
void Ccai_cache_free(Ccai_cache *c);
const char *Ccai_cache_name(const Ccai_cache *c);

/* cache/cache.c: on the documents store through its executor (borrowed,
 * freed after the cache): a worker thread's connection on PostgreSQL. */
CCAI_MUST_CHECK ccai_status Ccai_cache_store_new(Ccai_docs_exec *exec, const Ccai_logger *log,
                                                 Ccai_cache **ret);

typedef struct Ccai_redis_opts {
    const char *host; /* an address, or a name /etc/hosts knows (hiredis resolves it at once) */
    int port;
    int database;
    const char *password; /* NULL or "": no AUTH */
    const char *prefix;   /* put before every key */
    uint32_t timeout_ms;  /* an answer later than this is a miss */
} Ccai_redis_opts;

/* cache/redis.c: connects on first use, again after a failure (at most
 * once a second). Statuses: CCAI_OK, CCAI_ERR_NOMEM, CCAI_ERR_INVALID_ARG. */
CCAI_MUST_CHECK ccai_status Ccai_cache_redis_new(ccai_ctx *ctx, const Ccai_redis_opts *o,
                                                 const Ccai_logger *log, Ccai_cache **ret);

#endif
