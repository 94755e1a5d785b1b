/* The context: the composition root. It builds every part from the
 * configuration, hands each what it needs, and routes the host's calls on
 * a context inward. */
#include "io/ctx_private.h"

#include "channels/acs.h"
#include "channels/acs_sms.h"
#include "channels/chat_http.h"
#include "channels/twilio.h"
#include "channels/twilio_sms.h"
#include "config/config.h"
#include "core/metrics.h"
#include "engine/engine.h"
#include "http/router.h"
#include "http/server.h"
#include "store/sqlite.h"
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
    Ccai_server_free(ctx->server);
    Ccai_router_free(ctx->router);
    ccai_free(ctx->web);
    Ccai_twilio_free(ctx);
    Ccai_acs_free(ctx);
    Ccai_chat_ctx_cleanup(ctx);
    Ccai_sweep_free(ctx);
    Ccai_calls_ctx_cleanup(ctx);
    Ccai_jobs_free(ctx);
    Ccai_engine_free(ctx->engine);
    Ccai_sms_provider_free(ctx->sms);
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

/* The router, and every part's routes on it: the web layer's, then each
 * channel's. */
static ccai_status routes_init(ccai_ctx *ctx)
{
    Ccai_router_env re = {ctx, ctx->cfg, &ctx->log, ctx->store, ctx->metrics};
    ccai_status st = Ccai_router_new(&re, &ctx->router);
    if (st != CCAI_OK)
        return st;
    ctx->web = Ccai_calloc(1, sizeof *ctx->web);
    if (!ctx->web)
        return CCAI_ERR_NOMEM;
    *ctx->web = (Ccai_web){ctx, ctx->cfg, ctx->store, ctx->metrics, ctx->engine};
    st = Ccai_router_add(ctx->router, Ccai_web_routes, Ccai_web_n_routes, ctx->web);
    if (st == CCAI_OK)
        st = Ccai_router_add(ctx->router, Ccai_twilio_routes, Ccai_twilio_n_routes, NULL);
    if (st == CCAI_OK)
        st = Ccai_router_add(ctx->router, Ccai_acs_routes, Ccai_acs_n_routes, NULL);
    if (st == CCAI_OK)
        st = Ccai_router_add(ctx->router, Ccai_chat_routes, Ccai_chat_n_routes, NULL);
    return st;
}

/* The SMS provider sms.mode names ("none": the outbox). */
static ccai_status sms_init(ccai_ctx *ctx)
{
    const char *mode = Ccai_config_str(ctx->cfg, "sms.mode");
    if (mode && strcmp(mode, "twilio") == 0)
        return Ccai_twilio_sms_new(ctx, ctx->cfg, &ctx->sms);
    if (mode && strcmp(mode, "communication_services") == 0)
        return Ccai_acs_sms_new(ctx, ctx->cfg, &ctx->sms);
    return Ccai_sms_outbox_new(&ctx->log, &ctx->sms);
}

/* The HTTP server, made when the host first wants it. */
static Ccai_server *server_of(ccai_ctx *ctx)
{
    if (!ctx->server) {
        Ccai_server_env se = {ctx, ctx->cfg, &ctx->log, ctx->metrics, ctx->router};
        if (Ccai_server_new(&se, &ctx->server) != CCAI_OK)
            ctx->server = NULL;
    }
    return ctx->server;
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
    st = CCAI_ERR_NOMEM;
    if (!(ctx->metrics = Ccai_metrics_new()))
        goto fail;
    st = sms_init(ctx);
    if (st != CCAI_OK) {
        if (st != CCAI_ERR_NOMEM)
            why = Ccai_strdup(Ccai_ctx_error(ctx));
        goto fail;
    }
    st = Ccai_engine_metrics_init(ctx, ctx->metrics);
    if (st == CCAI_OK)
        st = Ccai_engine_new(ctx, &ctx->engine, &why);
    if (st == CCAI_OK)
        st = routes_init(ctx);
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
    return Ccai_loop_busy(ctx) || Ccai_server_connections(ctx->server) > 0;
}

CCAI_EXPORT const char *ccai_ctx_errmsg(const ccai_ctx *ctx)
{
    return ctx ? Ccai_ctx_error(ctx) : "";
}

CCAI_EXPORT const char *ccai_ctx_database_path(const ccai_ctx *ctx)
{
    return ctx ? ctx->db_path : NULL;
}

CCAI_EXPORT ccai_status ccai_ctx_http(ccai_ctx *ctx, const ccai_http_request *req,
                                      ccai_http_respond_fn respond, void *ud,
                                      ccai_http_exchange **ret_exchange)
{
    if (ret_exchange)
        *ret_exchange = NULL;
    if (!ctx)
        return CCAI_ERR_INVALID_ARG;
    return Ccai_router_handle(ctx->router, req, respond, ud, ret_exchange);
}

CCAI_EXPORT ccai_status ccai_ctx_listen(ccai_ctx *ctx, const char *address, uint16_t *ret_port)
{
    if (!ctx || Ccai_loop_freeing(ctx))
        return CCAI_ERR_INVALID_ARG;
    Ccai_server *s = server_of(ctx);
    return s ? Ccai_server_listen(s, address, ret_port) : CCAI_ERR_NOMEM;
}

CCAI_EXPORT ccai_status ccai_ctx_listen_fd(ccai_ctx *ctx, int fd)
{
    if (!ctx || Ccai_loop_freeing(ctx)) {
        if (ctx)
            Ccai_ctx_set_error(ctx, "listen: fd %d is not a listening stream socket", fd);
        return CCAI_ERR_INVALID_ARG;
    }
    Ccai_server *s = server_of(ctx);
    return s ? Ccai_server_listen_fd(s, fd) : CCAI_ERR_NOMEM;
}

CCAI_EXPORT void ccai_ctx_listen_stop(ccai_ctx *ctx)
{
    if (ctx)
        Ccai_server_stop(ctx->server);
}

CCAI_EXPORT size_t ccai_ctx_connections(const ccai_ctx *ctx)
{
    return ctx ? Ccai_server_connections(ctx->server) : 0;
}

CCAI_EXPORT ccai_status ccai_ctx_set_access_log(ccai_ctx *ctx, ccai_http_access_fn fn, void *ud)
{
    if (!ctx)
        return CCAI_ERR_INVALID_ARG;
    Ccai_server *s = server_of(ctx);
    if (!s)
        return CCAI_ERR_NOMEM;
    Ccai_server_set_access_log(s, fn, ud);
    return CCAI_OK;
}
