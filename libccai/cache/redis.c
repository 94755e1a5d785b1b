/* The cache on Redis (cache/cache.h): hiredis' asynchronous context driven
 * by the context's loop. hiredis asks to read or write through its event
 * hooks; they become Ccai_fd_watch() of its socket, and readiness calls
 * redisAsyncHandleRead/Write. GET answers within timeout_ms or count as a
 * miss; SET ... EX is sent without waiting. A lost connection fails the
 * commands in flight (misses) and is made again at the next use, at most
 * once a second. hiredis 0.14 (Debian 12): no TLS, and its allocation
 * failures abort (its own allocator); a host name is resolved at connect
 * time, synchronously: give an address or a name /etc/hosts knows. */
#include "cache/cache.h"

#include "io/io.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <string.h>

#define RECONNECT_MS 1000

typedef struct redis_cache redis_cache;

/* A GET in flight. Its hiredis callback always comes (a reply, or NULL
 * when the connection goes): the op lives until then, even when its
 * caller got a time-out or cancelled it. */
typedef struct redis_op {
    redis_cache *rc; /* NULL once the cache is freed */
    Ccai_timer timer;
    Ccai_cache_get_fn fn; /* NULL once answered or cancelled */
    void *ud;
    struct redis_op *prev, *next;
} redis_op;

struct redis_cache {
    Ccai_cache base;
    ccai_ctx *ctx;
    const Ccai_logger *log;
    char *host, *password, *prefix;
    int port, database;
    uint32_t timeout_ms;
    redisAsyncContext *ac; /* NULL when not connected */
    int fd;
    int events;        /* CCAI_POLL_IN / OUT watched */
    uint64_t retry_at; /* no connection attempt before (monotonic ms) */
    bool warned;       /* the failure was logged: once until it works again */
    redis_op *ops;     /* in flight */
};

static void unlink_op(redis_op *op)
{
    if (!op->rc)
        return;
    if (op->prev)
        op->prev->next = op->next;
    else
        op->rc->ops = op->next;
    if (op->next)
        op->next->prev = op->prev;
    op->prev = op->next = NULL;
}

/* Tell the caller (once) and stop its timer. */
static void answer(redis_op *op, ccai_status st, const char *v, size_t len)
{
    Ccai_cache_get_fn fn = op->fn;
    op->fn = NULL;
    if (op->rc)
        Ccai_timer_stop(op->rc->ctx, &op->timer);
    if (fn)
        fn(st, v, len, op->ud);
}

static void warn(redis_cache *rc, const char *what, const char *why)
{
    if (rc->warned)
        return;
    rc->warned = true;
    Ccai_log(rc->log, CCAI_LOG_WARN, "cache: redis %s:%d: %s: %s (searches go on uncached)",
             rc->host, rc->port, what, why ? why : "failed");
}

/* hiredis' event hooks --------------------------------------------------- */

static void on_fd(ccai_ctx *ctx, int fd, int events, void *ud);

static void watch(redis_cache *rc, int events)
{
    if (events == rc->events || rc->fd < 0)
        return;
    rc->events = events;
    if (events == 0) {
        Ccai_fd_forget(rc->ctx, rc->fd);
        return;
    }
    if (Ccai_fd_watch(rc->ctx, rc->fd, events, on_fd, rc) != CCAI_OK) {
        /* The loop cannot watch it: the connection goes (its commands fail
         * as misses); the next use connects again. */
        warn(rc, "watch", Ccai_ctx_error(rc->ctx));
        rc->events = 0;
        if (rc->ac)
            redisAsyncDisconnect(rc->ac);
    }
}

static void ev_add_read(void *ud)
{
    redis_cache *rc = ud;
    watch(rc, rc->events | CCAI_POLL_IN);
}

static void ev_del_read(void *ud)
{
    redis_cache *rc = ud;
    watch(rc, rc->events & ~CCAI_POLL_IN);
}

static void ev_add_write(void *ud)
{
    redis_cache *rc = ud;
    watch(rc, rc->events | CCAI_POLL_OUT);
}

static void ev_del_write(void *ud)
{
    redis_cache *rc = ud;
    watch(rc, rc->events & ~CCAI_POLL_OUT);
}

/* The context is being freed (by hiredis or by us): forget it. */
static void ev_cleanup(void *ud)
{
    redis_cache *rc = ud;
    watch(rc, 0);
    rc->fd = -1;
    rc->ac = NULL;
}

static void on_fd(ccai_ctx *ctx, int fd, int events, void *ud)
{
    CCAI_UNUSED(ctx);
    CCAI_UNUSED(fd);
    redis_cache *rc = ud;
    redisAsyncContext *ac = rc->ac;
    if (ac && (events & (CCAI_POLL_IN | CCAI_POLL_ERR)))
        redisAsyncHandleRead(ac);
    /* The read may have ended the connection (ev_cleanup). */
    if (ac && rc->ac == ac && (events & (CCAI_POLL_OUT | CCAI_POLL_ERR)))
        redisAsyncHandleWrite(ac);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    redis_cache *rc = ac->data;
    if (status != REDIS_OK) {
        warn(rc, "connect", ac->errstr);
        rc->retry_at = Ccai_ctx_now(rc->ctx) + RECONNECT_MS;
        return;
    }
    if (rc->warned)
        Ccai_log(rc->log, CCAI_LOG_INFO, "cache: redis %s:%d: connected", rc->host, rc->port);
    rc->warned = false;
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    redis_cache *rc = ac->data;
    if (status != REDIS_OK) {
        warn(rc, "connection lost", ac->errstr);
        rc->retry_at = Ccai_ctx_now(rc->ctx) + RECONNECT_MS;
    }
}

/* A reply to AUTH or SELECT: a refusal is logged, and the connection
 * dropped (a cache on the wrong database would answer wrongly). */
static void on_setup(redisAsyncContext *ac, void *r, void *priv)
{
    CCAI_UNUSED(priv);
    redisReply *reply = r;
    if (reply && reply->type == REDIS_REPLY_ERROR) {
        redis_cache *rc = ac->data;
        warn(rc, "refused", reply->str);
        rc->retry_at = Ccai_ctx_now(rc->ctx) + RECONNECT_MS;
        redisAsyncDisconnect(ac);
    }
}

static CCAI_MUST_CHECK ccai_status connect_now(redis_cache *rc)
{
    if (rc->ac)
        return CCAI_OK;
    if (Ccai_ctx_now(rc->ctx) < rc->retry_at)
        return CCAI_ERR_IO;
    redisAsyncContext *ac = redisAsyncConnect(rc->host, rc->port);
    if (!ac)
        return CCAI_ERR_NOMEM;
    if (ac->err) {
        warn(rc, "connect", ac->errstr);
        rc->retry_at = Ccai_ctx_now(rc->ctx) + RECONNECT_MS;
        redisAsyncFree(ac);
        return CCAI_ERR_IO;
    }
    ac->data = rc;
    ac->ev.data = rc;
    ac->ev.addRead = ev_add_read;
    ac->ev.delRead = ev_del_read;
    ac->ev.addWrite = ev_add_write;
    ac->ev.delWrite = ev_del_write;
    ac->ev.cleanup = ev_cleanup;
    rc->ac = ac;
    rc->fd = ac->c.fd;
    rc->events = 0;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    /* Queued now, sent once connected, before any command of ours. */
    bool ok = true;
    if (rc->password && *rc->password)
        ok = redisAsyncCommand(ac, on_setup, NULL, "AUTH %s", rc->password) == REDIS_OK;
    if (ok && rc->database)
        ok = redisAsyncCommand(ac, on_setup, NULL, "SELECT %d", rc->database) == REDIS_OK;
    /* The first write hook fires the connection's check. */
    ev_add_write(rc);
    if (!ok) {
        redisAsyncFree(ac);
        return CCAI_ERR_IO;
    }
    return CCAI_OK;
}

/* Operations ----------------------------------------------------------- */

static void on_get(redisAsyncContext *ac, void *r, void *priv)
{
    CCAI_UNUSED(ac);
    redis_op *op = priv;
    redisReply *reply = r;
    if (!reply)
        answer(op, CCAI_ERR_IO, NULL, 0);
    else if (reply->type == REDIS_REPLY_STRING)
        answer(op, CCAI_OK, reply->str, (size_t)reply->len);
    else if (reply->type == REDIS_REPLY_NIL)
        answer(op, CCAI_ERR_NOT_FOUND, NULL, 0);
    else
        answer(op, CCAI_ERR_IO, NULL, 0);
    unlink_op(op);
    ccai_free(op);
}

static void on_timeout(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    redis_op *op = ud;
    if (op->rc)
        warn(op->rc, "no answer", "timed out");
    answer(op, CCAI_ERR_TIMEOUT, NULL, 0); /* the op waits for its reply */
}

/* The key with the prefix, or NULL. */
static char *full_key(const redis_cache *rc, const char *key)
{
    return Ccai_asprintf("%s%s", rc->prefix ? rc->prefix : "", key);
}

static CCAI_MUST_CHECK ccai_status redis_get(Ccai_cache *c, const char *key, Ccai_cache_get_fn fn,
                                             void *ud, Ccai_cache_op **ret)
{
    redis_cache *rc = (redis_cache *)c;
    ccai_status st = connect_now(rc);
    if (st != CCAI_OK)
        return st;
    char *k = full_key(rc, key);
    redis_op *op = k ? Ccai_calloc(1, sizeof *op) : NULL;
    if (!op) {
        ccai_free(k);
        return CCAI_ERR_NOMEM;
    }
    op->fn = fn;
    op->ud = ud;
    if (redisAsyncCommand(rc->ac, on_get, op, "GET %s", k) != REDIS_OK) {
        ccai_free(k);
        ccai_free(op);
        return CCAI_ERR_IO;
    }
    ccai_free(k);
    op->rc = rc;
    op->next = rc->ops;
    if (rc->ops)
        rc->ops->prev = op;
    rc->ops = op;
    Ccai_timer_init(&op->timer, on_timeout, op);
    Ccai_timer_start(rc->ctx, &op->timer, rc->timeout_ms);
    *ret = (Ccai_cache_op *)op;
    return CCAI_OK;
}

static CCAI_MUST_CHECK ccai_status redis_set(Ccai_cache *c, const char *key, const char *value,
                                             size_t len, uint32_t ttl_sec)
{
    redis_cache *rc = (redis_cache *)c;
    ccai_status st = connect_now(rc);
    if (st != CCAI_OK)
        return st;
    char *k = full_key(rc, key);
    if (!k)
        return CCAI_ERR_NOMEM;
    char ttl[16];
    snprintf(ttl, sizeof ttl, "%u", ttl_sec);
    const char *argv[] = {"SET", k, value, "EX", ttl};
    size_t lens[] = {3, strlen(k), len, 2, strlen(ttl)};
    int rv = redisAsyncCommandArgv(rc->ac, NULL, NULL, 5, argv, lens);
    ccai_free(k);
    return rv == REDIS_OK ? CCAI_OK : CCAI_ERR_IO;
}

static void redis_cancel(Ccai_cache_op *o)
{
    redis_op *op = (redis_op *)o;
    op->fn = NULL;
    if (op->rc)
        Ccai_timer_stop(op->rc->ctx, &op->timer);
}

static void redis_free(Ccai_cache *c)
{
    redis_cache *rc = (redis_cache *)c;
    /* The ops still waiting for hiredis are freed by its callbacks (NULL
     * replies) inside redisAsyncFree; none tells a caller any more. */
    for (redis_op *op = rc->ops; op; op = op->next) {
        op->fn = NULL;
        Ccai_timer_stop(rc->ctx, &op->timer);
    }
    if (rc->ac)
        redisAsyncFree(rc->ac);
    for (redis_op *op = rc->ops; op; op = op->next)
        op->rc = NULL;
    ccai_free(rc->host);
    ccai_free(rc->password);
    ccai_free(rc->prefix);
    ccai_free(rc);
}

static const Ccai_cache_class redis_class = {"redis", redis_get, redis_set, redis_cancel,
                                             redis_free};

ccai_status Ccai_cache_redis_new(ccai_ctx *ctx, const Ccai_redis_opts *o, const Ccai_logger *log,
                                 Ccai_cache **ret)
{
    if (!ctx || !o || !o->host || !*o->host || o->port <= 0 || o->port > 65535 || !ret)
        return CCAI_ERR_INVALID_ARG;
    redis_cache *rc = Ccai_calloc(1, sizeof *rc);
    if (!rc)
        return CCAI_ERR_NOMEM;
    rc->base.cls = &redis_class;
    rc->ctx = ctx;
    rc->log = log;
    rc->fd = -1;
    rc->port = o->port;
    rc->database = o->database;
    rc->timeout_ms = o->timeout_ms ? o->timeout_ms : 1000;
    if (!(rc->host = Ccai_strdup(o->host)) ||
        (o->password && *o->password && !(rc->password = Ccai_strdup(o->password))) ||
        (o->prefix && !(rc->prefix = Ccai_strdup(o->prefix)))) {
        redis_free(&rc->base);
        return CCAI_ERR_NOMEM;
    }
    *ret = &rc->base;
    return CCAI_OK;
}
