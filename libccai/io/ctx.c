/* The context: configuration, store, timers and HTTP on the host's loop. */
#include "io/ctx_private.h"

#include "channels/acs.h"
#include "channels/chat_http.h"
#include "channels/twilio.h"
#include "config/config.h"
#include "engine/engine.h"
#include "store/store.h"
#include "web/metrics.h"
#include "web/server.h"
#include "web/web.h"

#include <string.h>

static uint64_t default_clock(void *ud)
{
    CCAI_UNUSED(ud);
    return Ccai_monotonic_ms();
}

uint64_t Ccai_ctx_now(const ccai_ctx *ctx)
{
    return ctx->clock(ctx->clock_ud);
}

void Ccai_ctx_set_clock(ccai_ctx *ctx, uint64_t (*now)(void *ud), void *ud)
{
    uint64_t before = Ccai_ctx_now(ctx);
    ctx->clock = now ? now : default_clock;
    ctx->clock_ud = now ? ud : NULL;
    /* Timers keep the time they had left (one shift for all: the heap's
     * order holds). */
    uint64_t after = Ccai_ctx_now(ctx);
    for (size_t i = 0; i < ctx->timers.n; i++) {
        Ccai_timer *t = ctx->timers.v[i];
        uint64_t left = t->due > before ? t->due - before : 0;
        t->due = left > UINT64_MAX - after ? UINT64_MAX : after + left;
    }
    Ccai_ctx_rearm(ctx);
}

const Ccai_logger *Ccai_ctx_logger(const ccai_ctx *ctx)
{
    return &ctx->log;
}
struct Ccai_store *Ccai_ctx_store(ccai_ctx *ctx)
{
    return ctx->store;
}
const ccai_config *Ccai_ctx_config(const ccai_ctx *ctx)
{
    return ctx->cfg;
}

void Ccai_ctx_set_error(ccai_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = Ccai_vasprintf(fmt, ap);
    va_end(ap);
    ccai_free(ctx->err.msg);
    ctx->err.msg = msg;
}

void Ccai_ctx_rearm(ccai_ctx *ctx)
{
    if (ctx->free_pending)
        return;
    uint64_t deadline = Ccai_http_deadline(ctx);
    Ccai_timer *top = Ccai_timer_heap_peek(&ctx->timers);
    if (top && top->due < deadline)
        deadline = top->due;
    if (deadline == UINT64_MAX) {
        if (ctx->timer_armed) {
            ctx->timer_armed = false;
            ctx->hooks.set_timer(ctx->loop_ud, -1);
        }
        return;
    }
    uint64_t now = Ccai_ctx_now(ctx);
    /* Armed for this deadline already, unless it passed (an injected clock
     * that jumped): then the host's timer may be set for much later. */
    if (ctx->timer_armed && ctx->timer_deadline == deadline && deadline > now)
        return;
    uint64_t delay = deadline > now ? deadline - now : 0;
    if (delay > INT32_MAX)
        delay = INT32_MAX;
    ctx->timer_armed = true;
    ctx->timer_deadline = deadline;
    if (ctx->hooks.set_timer(ctx->loop_ud, (int64_t)delay) != 0)
        Ccai_log(&ctx->log, CCAI_LOG_ERROR, "loop: set_timer(%llu) failed",
                 (unsigned long long)delay);
}

static void ctx_destroy(ccai_ctx *ctx)
{
    /* Connections first: their pending exchanges are cancelled before the
     * routes that wait on them go. */
    Ccai_server_free(ctx);
    Ccai_web_ctx_cleanup(ctx);
    Ccai_twilio_free(ctx);
    Ccai_acs_free(ctx);
    Ccai_chat_ctx_cleanup(ctx);
    Ccai_sweep_free(ctx);
    Ccai_calls_ctx_cleanup(ctx);
    Ccai_jobs_free(ctx);
    Ccai_engine_free(ctx->engine);
    Ccai_http_ctx_cleanup(ctx);
    Ccai_fd_cleanup(ctx);
    /* Timers belong to their owners (calls, requests), all gone by now. */
    Ccai_timer_heap_free(&ctx->timers);
    if (ctx->timer_armed)
        ctx->hooks.set_timer(ctx->loop_ud, -1);
    Ccai_store_close(ctx->store);
    Ccai_metrics_free(ctx->metrics);
    ccai_free(ctx->db_path);
    Ccai_err_free(&ctx->err);
    ccai_config_free(ctx->cfg);
    /* Last: the host may free loop_ud (an adapter) now that no hook can be
     * called any more. Not set on a context ccai_ctx_new() failed to make. */
    void (*cleanup)(void *) = ctx->hooks.cleanup;
    void *loop_ud = ctx->loop_ud;
    ccai_free(ctx);
    if (cleanup)
        cleanup(loop_ud);
}

void Ccai_ctx_enter(ccai_ctx *ctx)
{
    ctx->depth++;
}

bool Ccai_ctx_leave(ccai_ctx *ctx)
{
    if (--ctx->depth > 0)
        return true;
    if (ctx->free_pending) {
        ctx->free_pending = false;
        ctx_destroy(ctx);
        return false;
    }
    Ccai_ctx_rearm(ctx);
    return true;
}

CCAI_EXPORT ccai_status ccai_ctx_new(const ccai_config *cfg, const ccai_loop_hooks *hooks,
                                     void *loop_ud, ccai_ctx **ret, char **ret_errmsg)
{
    if (!cfg || !hooks || !ret || hooks->version < 1 || hooks->version > CCAI_LOOP_HOOKS_VERSION ||
        !hooks->watch_fd || !hooks->set_timer)
        return CCAI_ERR_INVALID_ARG;

    ccai_status st = CCAI_ERR_NOMEM;
    char *why = NULL;
    ccai_ctx *ctx = Ccai_calloc(1, sizeof *ctx);
    if (!ctx)
        return CCAI_ERR_NOMEM;
    /* A version 1 table is shorter: copy only the members it has. */
    ctx->hooks.version = hooks->version;
    ctx->hooks.watch_fd = hooks->watch_fd;
    ctx->hooks.set_timer = hooks->set_timer;
    ctx->loop_ud = loop_ud;
    ctx->clock = default_clock;
    ctx->curl_deadline = UINT64_MAX;
    ctx->cfg = Ccai_config_copy(cfg);
    if (!ctx->cfg)
        goto fail;
    ctx->log = *Ccai_config_logger(ctx->cfg);

    st = ccai_config_validate(ctx->cfg);
    if (st != CCAI_OK) {
        if (st != CCAI_ERR_NOMEM)
            why = Ccai_asprintf("configuration: %s", ccai_config_errmsg(ctx->cfg));
        goto fail;
    }

    const char *path = Ccai_config_str(ctx->cfg, "database.sqlite.path");
    if (!path || !*path)
        path = "ccai.sqlite";
    ctx->db_path = Ccai_strdup(path);
    st = CCAI_ERR_NOMEM;
    if (!ctx->db_path)
        goto fail;
    st = Ccai_store_open(ctx->db_path, &ctx->store, &why);
    if (st == CCAI_OK) {
        const char *sync = Ccai_config_str(ctx->cfg, "database.sqlite.synchronous");
        st = Ccai_store_configure(
            ctx->store, (int)Ccai_config_int(ctx->cfg, "database.sqlite.busy_timeout_ms", 10),
            sync && strcmp(sync, "full") == 0);
        if (st != CCAI_OK && st != CCAI_ERR_NOMEM)
            why = Ccai_strdup(Ccai_store_errmsg(ctx->store));
    }
    if (st != CCAI_OK)
        goto fail;

    st = Ccai_http_ctx_init(ctx);
    if (st != CCAI_OK) {
        if (st != CCAI_ERR_NOMEM)
            why = Ccai_strdup("http: cannot initialise libcurl");
        goto fail;
    }
    st = Ccai_ctx_metrics_init(ctx);
    if (st == CCAI_OK)
        st = Ccai_engine_new(ctx, &ctx->engine, &why);
    if (st == CCAI_OK)
        st = Ccai_jobs_new(ctx);
    if (st == CCAI_OK)
        st = Ccai_sweep_new(ctx);
    if (st == CCAI_OK) {
        st = Ccai_twilio_init(ctx);
        if (st == CCAI_OK)
            st = Ccai_acs_init(ctx);
        if (st != CCAI_OK && st != CCAI_ERR_NOMEM)
            why = Ccai_strdup(Ccai_err_get(&ctx->err));
    }
    if (st != CCAI_OK)
        goto fail;
    Ccai_log(&ctx->log, CCAI_LOG_INFO, "ctx: ready (database %s)", ctx->db_path);
    if (hooks->version >= 2)
        ctx->hooks.cleanup = hooks->cleanup;
    *ret = ctx;
    return CCAI_OK;

fail:
    if (ret_errmsg && why) {
        *ret_errmsg = why;
        why = NULL;
    }
    ccai_free(why);
    ctx_destroy(ctx);
    return st;
}

CCAI_EXPORT void ccai_ctx_free(ccai_ctx *ctx)
{
    if (!ctx)
        return;
    if (ctx->depth > 0) {
        ctx->free_pending = true;
        return;
    }
    ctx_destroy(ctx);
}

CCAI_EXPORT void ccai_ctx_socket_action(ccai_ctx *ctx, int fd, int events)
{
    if (!ctx || ctx->free_pending)
        return;
    Ccai_ctx_enter(ctx);
    Ccai_fd_dispatch(ctx, fd, events);
    Ccai_ctx_leave(ctx);
}

CCAI_EXPORT void ccai_ctx_timeout(ccai_ctx *ctx)
{
    if (!ctx || ctx->free_pending)
        return;
    Ccai_ctx_enter(ctx);
    ctx->timer_armed = false;
    uint64_t now = Ccai_ctx_now(ctx);
    if (Ccai_http_deadline(ctx) <= now)
        Ccai_http_timeout(ctx);
    /* Fire what is due now, but not timers re-armed by these callbacks. */
    uint64_t last_seq = ctx->timers.next_seq;
    for (;;) {
        if (ctx->free_pending)
            break;
        Ccai_timer *t = Ccai_timer_heap_peek(&ctx->timers);
        if (!t || t->due > now || t->seq >= last_seq)
            break;
        Ccai_timer_heap_remove(&ctx->timers, t);
        t->fn(t, t->ud);
    }
    Ccai_ctx_leave(ctx);
}

CCAI_EXPORT int ccai_ctx_busy(const ccai_ctx *ctx)
{
    if (!ctx)
        return 0;
    return ctx->n_reqs > 0 || ctx->timers.n > ctx->timers.n_idle ||
           Ccai_server_connections(ctx) > 0;
}

CCAI_EXPORT const char *ccai_ctx_errmsg(const ccai_ctx *ctx)
{
    return ctx ? Ccai_err_get(&ctx->err) : "";
}

CCAI_EXPORT const char *ccai_ctx_database_path(const ccai_ctx *ctx)
{
    return ctx ? ctx->db_path : NULL;
}
