/* The context: the composition root. It builds every part from the
 * configuration, hands each what it needs, and routes the host's calls on
 * a context inward. */
#include "io/ctx_private.h"

#include "channels/acs.h"
#include "channels/chat_http.h"
#include "channels/twilio.h"
#include "config/config.h"
#include "core/metrics.h"
#include "engine/engine.h"
#include "store/sqlite.h"
#include "web/server.h"
#include "web/web.h"

#include <string.h>

Ccai_loop *Ccai_ctx_loop(const ccai_ctx *ctx)
{
    return ctx->loop;
}

struct Ccai_store *Ccai_ctx_store(ccai_ctx *ctx)
{
    return ctx->store;
}

const ccai_config *Ccai_ctx_config(const ccai_ctx *ctx)
{
    return ctx->cfg;
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
    /* The loop last of the parts: their timers and requests are gone. */
    void (*cleanup)(void *) = NULL;
    void *loop_ud = NULL;
    Ccai_loop_free(ctx->loop, &cleanup, &loop_ud);
    Ccai_store_close(ctx->store);
    Ccai_metrics_free(ctx->metrics);
    ccai_free(ctx->db_path);
    ccai_config_free(ctx->cfg);
    /* Last: the host may free loop_ud (an adapter) now that no hook can be
     * called any more. Not set on a context ccai_ctx_new() failed to make. */
    ccai_free(ctx);
    if (cleanup)
        cleanup(loop_ud);
}

static void on_unwound(void *ud)
{
    ctx_destroy(ud);
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
    ctx->cfg = Ccai_config_copy(cfg);
    if (!ctx->cfg)
        goto fail;
    ctx->log = *Ccai_config_logger(ctx->cfg);
    st = Ccai_loop_new(ctx, hooks, loop_ud, &ctx->log, on_unwound, ctx, &ctx->loop);
    if (st != CCAI_OK) {
        if (st != CCAI_ERR_NOMEM)
            why = Ccai_strdup("http: cannot initialise libcurl");
        ccai_config_free(ctx->cfg);
        ccai_free(ctx);
        goto fail_early;
    }

    st = ccai_config_validate(ctx->cfg);
    if (st != CCAI_OK) {
        if (st != CCAI_ERR_NOMEM)
            why = Ccai_asprintf("configuration: %s", ccai_config_errmsg(ctx->cfg));
        goto fail;
    }

    static const Ccai_store_backend *const backends[] = {&Ccai_sqlite_backend};
    st = Ccai_store_open_config(ctx->cfg, backends, CCAI_ARRAY_SIZE(backends), &ctx->store, &why);
    if (st != CCAI_OK)
        goto fail;
    ctx->db_path = Ccai_strdup(Ccai_store_location(ctx->store));
    st = CCAI_ERR_NOMEM;
    if (!ctx->db_path)
        goto fail;
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
            why = Ccai_strdup(Ccai_ctx_error(ctx));
    }
    if (st != CCAI_OK)
        goto fail;
    Ccai_log(&ctx->log, CCAI_LOG_INFO, "ctx: ready (database %s)", ctx->db_path);
    Ccai_loop_adopt_cleanup(ctx->loop, hooks);
    *ret = ctx;
    return CCAI_OK;

fail:
    ctx_destroy(ctx);
fail_early:
    if (ret_errmsg && why) {
        *ret_errmsg = why;
        why = NULL;
    }
    ccai_free(why);
    return st;
}

CCAI_EXPORT void ccai_ctx_free(ccai_ctx *ctx)
{
    if (!ctx || Ccai_loop_defer_free(ctx))
        return;
    ctx_destroy(ctx);
}

CCAI_EXPORT void ccai_ctx_socket_action(ccai_ctx *ctx, int fd, int events)
{
    if (!ctx || Ccai_loop_freeing(ctx))
        return;
    Ccai_loop_socket_action(ctx, fd, events);
}

CCAI_EXPORT void ccai_ctx_timeout(ccai_ctx *ctx)
{
    if (!ctx || Ccai_loop_freeing(ctx))
        return;
    Ccai_loop_timeout(ctx);
}

CCAI_EXPORT int ccai_ctx_busy(const ccai_ctx *ctx)
{
    if (!ctx)
        return 0;
    return Ccai_loop_busy(ctx) || Ccai_server_connections(ctx) > 0;
}

CCAI_EXPORT const char *ccai_ctx_errmsg(const ccai_ctx *ctx)
{
    return ctx ? Ccai_ctx_error(ctx) : "";
}

CCAI_EXPORT const char *ccai_ctx_database_path(const ccai_ctx *ctx)
{
    return ctx ? ctx->db_path : NULL;
}
