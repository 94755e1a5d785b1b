/* The context: the composition root, the one file that knows every part of
 * libccai. It builds them from the configuration, bottom up, giving each
 * what it needs (dependency injection):
 *
 *   loop (io)   the host's hooks, timers, fds, the HTTP client;
 *   store       the backend database.mode names;
 *   metrics     the registry every part registers its families in;
 *   channels    one per class of the table below (channels/<name>/);
 *   sms         the provider sms.mode names: a channel's, the host's, or
 *               the outbox;
 *   rag         the documents search_document searches (documents.*,
 *               its embeddings client and query cache);
 *   engine      calls, conversations, jobs;
 *   voice       audio calls: the speech providers' chains, turn-taking
 *               (a call whose params ask for audio is started through it);
 *   router      the web layer's routes and each channel's;
 *   server      the HTTP server, made when the host first listens;
 *
 * and routes the host's calls on a context (ccai_ctx_*) inward. No other
 * file sees struct ccai_ctx: a part reaches the context's loop through
 * Ccai_ctx_loop() (io/io.h), and the public API through its handle. */
#include "channels/acs/acs.h"
#include "channels/audiosocket/audiosocket.h"
#ifdef CCAI_HAVE_SIP
#include "channels/sip/sip.h"
#endif
#include "channels/chat/chat_http.h"
#include "channels/twilio/twilio.h"
#include "config/config.h"
#include "core/json.h"
#include "core/metrics.h"
#include "ctx_flags.h"
#include "engine/engine.h"
#include "engine/import.h"
#include "http/router.h"
#include "http/server.h"
#include "io/io.h"
#include "io/otlp.h"
#include "rag/rag.h"
#include "sms/sms.h"
#include "store/pg.h"
#include "store/sqlite.h"
#include "stt/sphinx.h"
#include "voice/voice.h"

#include "web/web.h"
#include <errno.h>

#include <string.h>

/* The channels of every context, in the order their routes are matched and
 * POST /call picks one when the request names none. */
static const Ccai_channel_class *const channel_classes[] = {
    &Ccai_twilio_channel, &Ccai_acs_channel, &Ccai_chat_channel, &Ccai_audiosocket_channel,
#ifdef CCAI_HAVE_SIP
    &Ccai_sip_channel,
#endif
};

/* The store backends database.mode chooses from. */
static const Ccai_store_backend *const store_backends[] = {&Ccai_sqlite_backend, &Ccai_pg_backend};

#define N_CHANNELS CCAI_ARRAY_SIZE(channel_classes)

struct ccai_ctx {
    Ccai_loop *loop;
    ccai_config *cfg;
    Ccai_logger log;
    Ccai_store *store;
    char *db_path; /* ccai_ctx_database_path() */
    Ccai_metrics *metrics;
    Ccai_channel channels[N_CHANNELS];
    Ccai_sms_provider *sms;
    Ccai_rag *rag;
    Ccai_engine *engine;
    Ccai_voice *voice;
    Ccai_router *router;
    Ccai_web web;
    Ccai_server *server;  /* once the host listens */
    Ccai_flags_rt *flags; /* feature flags at run time (ctx_flags.c) */
    Ccai_tracer *tracer;  /* tracing.otlp_endpoint: spans, and their exporter */
    Ccai_otlp *otlp;
};

Ccai_loop *Ccai_ctx_loop(const ccai_ctx *ctx)
{
    return ctx->loop;
}

Ccai_tracer *Ccai_ctx_tracer(const ccai_ctx *ctx)
{
    return ctx->tracer;
}

Ccai_store *Ccai_ctx_store(ccai_ctx *ctx)
{
    return ctx->store;
}

Ccai_engine *Ccai_ctx_engine(ccai_ctx *ctx)
{
    return ctx->engine;
}

Ccai_rag *Ccai_ctx_rag(ccai_ctx *ctx)
{
    return ctx->rag;
}

Ccai_voice *Ccai_ctx_voice(ccai_ctx *ctx)
{
    return ctx->voice;
}

static void ctx_destroy(ccai_ctx *ctx)
{
    /* Connections first: their pending exchanges are cancelled before the
     * routes that wait on them go; then held requests get their 503. */
    Ccai_server_free(ctx->server);
    Ccai_router_free(ctx->router);
    /* Channels end their live calls' handles before the engine goes. */
    for (size_t i = 0; i < N_CHANNELS; i++) {
        if (ctx->channels[i].state)
            ctx->channels[i].cls->free(ctx->channels[i].state);
    }
    /* The audio calls' sessions go with their handles, in the engine's end. */
    Ccai_engine_free(ctx->engine);
    Ccai_voice_free(ctx->voice);
#ifdef CCAI_HAVE_POCKETSPHINX
    Ccai_stt_sphinx_release();
#endif
    Ccai_sms_provider_free(ctx->sms);
    Ccai_rag_free(ctx->rag); /* its searches end with the calls */
    Ccai_flags_rt_free(ctx->flags);
    Ccai_otlp_free(ctx->otlp); /* the spans' owners are gone: none is open */
    ctx->tracer = NULL;
    /* The store before the loop: a pipelined store (store/pg.c) forgets
     * its socket and timers there. */
    Ccai_store_close(ctx->store);
    /* The loop last of the parts: their timers and requests are gone. */
    void (*cleanup)(void *) = NULL;
    void *loop_ud = NULL;
    Ccai_loop_free(ctx->loop, &cleanup, &loop_ud);
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

static CCAI_MUST_CHECK ccai_status channels_init(ccai_ctx *ctx)
{
    Ccai_channel_env env = {ctx, ctx->cfg, &ctx->log};
    for (size_t i = 0; i < N_CHANNELS; i++) {
        ctx->channels[i].cls = channel_classes[i];
        ccai_status st = channel_classes[i]->init(&env, &ctx->channels[i].state);
        if (st != CCAI_OK)
            return st;
    }
    return CCAI_OK;
}

/* The SMS provider sms.mode names: a channel's, the host's, or the outbox
 * ("none"). */
static CCAI_MUST_CHECK ccai_status sms_init(ccai_ctx *ctx)
{
    const char *mode = Ccai_config_str(ctx->cfg, "sms.mode");
    void *ud = NULL;
    const ccai_sms_ops *ops = Ccai_config_sms_ops(ctx->cfg, &ud);
    if (mode && strcmp(mode, "host") == 0 && ops) /* validated: ops are set */
        return Ccai_sms_host_new(ctx, ops, ud, &ctx->sms);
    Ccai_channel_env env = {ctx, ctx->cfg, &ctx->log};
    for (size_t i = 0; mode && i < N_CHANNELS; i++) {
        const Ccai_channel_class *cls = channel_classes[i];
        if ((cls->caps & CCAI_CHANNEL_SMS) && strcmp(cls->sms_mode, mode) == 0)
            return cls->sms_new(&env, &ctx->sms);
    }
    return Ccai_sms_outbox_new(&ctx->log, &ctx->sms);
}

/* The dialer the engine places callbacks with: a channel of the table. */
static const Ccai_channel *dial_channel(const ccai_ctx *ctx, const char *name)
{
    for (size_t i = 0; name && i < N_CHANNELS; i++) {
        const Ccai_channel *ch = &ctx->channels[i];
        if (ch->state && strcmp(ch->cls->name, name) == 0 &&
            (ch->cls->caps & CCAI_CHANNEL_CALLS_OUT) && ch->cls->configured(ch->state))
            return ch;
    }
    return NULL;
}

static const char *dial_pick(void *ud, const char *channel, const char **ret_why)
{
    ccai_ctx *ctx = ud;
    const Ccai_channel *ch = dial_channel(ctx, channel);
    for (size_t i = 0; !ch && i < N_CHANNELS; i++)
        ch = dial_channel(ctx, ctx->channels[i].cls->name);
    if (!ch)
        *ret_why = "no telephony channel is configured to place calls (twilio.*, "
                   "communication_services.*)";
    return ch ? ch->cls->name : NULL;
}

static CCAI_MUST_CHECK ccai_status dial_place(void *ud, const char *channel, const char *to,
                                              char **ret_call_id)
{
    ccai_ctx *ctx = ud;
    const Ccai_channel *ch = dial_channel(ctx, channel);
    if (!ch) {
        Ccai_ctx_set_error(ctx, "channel %s cannot place calls", channel ? channel : "(none)");
        return CCAI_ERR_UNSUPPORTED;
    }
    return ch->cls->place_call(ch->state, NULL, to, ret_call_id);
}

static const Ccai_dialer dialer = {NULL, dial_pick, dial_place};

/* The router, and every part's routes on it: the web layer's, then each
 * channel's. */
static CCAI_MUST_CHECK ccai_status routes_init(ccai_ctx *ctx)
{
    Ccai_router_env re = {ctx, ctx->cfg, &ctx->log, ctx->store, ctx->metrics};
    ccai_status st = Ccai_router_new(&re, &ctx->router);
    if (st != CCAI_OK)
        return st;
    ctx->web =
        (Ccai_web){ctx, ctx->cfg, ctx->store, ctx->metrics, ctx->engine, ctx->channels, N_CHANNELS};
    st = Ccai_router_add(ctx->router, Ccai_web_routes, Ccai_web_n_routes, &ctx->web);
    for (size_t i = 0; st == CCAI_OK && i < N_CHANNELS; i++)
        st = Ccai_router_add(ctx->router, ctx->channels[i].cls->routes,
                             ctx->channels[i].cls->n_routes, ctx->channels[i].state);
    return st;
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
    if (!ctx->cfg) {
        ccai_free(ctx);
        return CCAI_ERR_NOMEM;
    }
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
    Ccai_store_env se = {ctx, ctx->cfg, &ctx->log};
    st = Ccai_store_open_config(&se, store_backends, CCAI_ARRAY_SIZE(store_backends), &ctx->store,
                                &why);
    if (st != CCAI_OK)
        goto fail;
    st = CCAI_ERR_NOMEM;
    if (!(ctx->db_path = Ccai_strdup(Ccai_store_location(ctx->store))) ||
        !(ctx->metrics = Ccai_metrics_new()))
        goto fail;
    st = Ccai_metrics_process_init(ctx->metrics, ccai_version());
    if (st != CCAI_OK)
        goto fail;
    Ccai_rag_env rge = {ctx, ctx->cfg, &ctx->log, ctx->store};
    st = Ccai_rag_new(&rge, &ctx->rag, &why);
    if (st == CCAI_OK)
        st = Ccai_otlp_new(ctx, ctx->cfg, &ctx->log, ctx->metrics, &ctx->tracer, &ctx->otlp);
    if (st == CCAI_OK)
        st = sms_init(ctx);
    if (st == CCAI_OK) {
        /* A call that names no bot number has the ACS one (as in 0.1). */
        Ccai_dialer d = dialer;
        d.ud = ctx;
        Ccai_engine_env ee = {
            ctx,
            ctx->cfg,
            &ctx->log,
            ctx->store,
            ctx->metrics,
            ctx->sms,
            Ccai_config_str(ctx->cfg, "communication_services.phone_number"),
            &d,
            ctx->rag,
        };
        st = Ccai_engine_new(&ee, &ctx->engine, &why);
        if (st == CCAI_OK) {
            Ccai_voice_env ve = {ctx, ctx->cfg, &ctx->log, ctx->metrics, ctx->engine};
            st = Ccai_voice_new(&ve, &ctx->voice, &why);
        }
        if (st == CCAI_OK)
            st = channels_init(ctx);
        if (st != CCAI_OK && st != CCAI_ERR_NOMEM && !why)
            why = Ccai_strdup(Ccai_ctx_error(ctx));
    }
    if (st == CCAI_OK)
        st = routes_init(ctx);
    if (st == CCAI_OK)
        st = Ccai_flags_rt_new(ctx, ctx->cfg, &ctx->log, ctx->metrics, &ctx->flags);
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
    return Ccai_loop_busy(ctx) || Ccai_server_connections(ctx->server) > 0 ||
           Ccai_sms_host_inflight(ctx->sms) > 0;
}

CCAI_EXPORT const char *ccai_ctx_errmsg(const ccai_ctx *ctx)
{
    return ctx ? Ccai_ctx_error(ctx) : "";
}

CCAI_EXPORT const char *ccai_ctx_database_path(const ccai_ctx *ctx)
{
    return ctx ? ctx->db_path : NULL;
}

CCAI_EXPORT ccai_status ccai_ctx_store_describe(ccai_ctx *ctx, char **ret_json)
{
    if (!ctx || !ret_json)
        return CCAI_ERR_INVALID_ARG;
    json_t *doc = NULL;
    ccai_status st = Ccai_store_describe(ctx->store, &doc);
    if (st != CCAI_OK)
        return st;
    char *text = Ccai_json_dump(doc, JSON_COMPACT);
    json_decref(doc);
    if (!text)
        return CCAI_ERR_NOMEM;
    *ret_json = text;
    return CCAI_OK;
}

/* Calls and stored calls: the engine's. ---------------------------------------- */

CCAI_EXPORT ccai_status ccai_call_start(ccai_ctx *ctx, const ccai_call_params *params,
                                        const ccai_call_ops *ops, void *userdata, ccai_call **ret)
{
    if (!ctx)
        return CCAI_ERR_INVALID_ARG;
    if (Ccai_voice_wanted(params))
        return Ccai_voice_call_start(ctx->voice, params, ops, userdata, ret);
    return Ccai_engine_call_start(ctx->engine, params, ops, userdata, ret);
}

CCAI_EXPORT ccai_status ccai_call_audio_in(ccai_call *call, const void *data, size_t len)
{
    if (!call)
        return CCAI_ERR_INVALID_ARG;
    return Ccai_voice_audio_in(call, data, len);
}

CCAI_EXPORT ccai_status ccai_call_audio_marked(ccai_call *call, const char *name)
{
    if (!call || !name)
        return CCAI_ERR_INVALID_ARG;
    return Ccai_voice_audio_marked(call, name);
}

CCAI_EXPORT ccai_status ccai_ctx_call_get_json(ccai_ctx *ctx, const char *call_id, char **ret_json)
{
    if (!ctx)
        return CCAI_ERR_INVALID_ARG;
    return Ccai_engine_call_get_json(ctx->engine, call_id, ret_json);
}

CCAI_EXPORT ccai_status ccai_ctx_call_find_json(ccai_ctx *ctx, const char *phone_number,
                                                int within_callback_window, char **ret_json)
{
    if (!ctx)
        return CCAI_ERR_INVALID_ARG;
    return Ccai_engine_call_find_json(ctx->engine, phone_number, within_callback_window, ret_json);
}

CCAI_EXPORT ccai_status ccai_ctx_calls_list_json(ccai_ctx *ctx, const char *phone_number,
                                                 size_t limit, size_t offset, char **ret_json)
{
    if (!ctx)
        return CCAI_ERR_INVALID_ARG;
    return Ccai_engine_calls_list_json(ctx->engine, phone_number, limit, offset, ret_json);
}

CCAI_EXPORT ccai_status ccai_ctx_calls_import(ccai_ctx *ctx, const char *path, char **ret_json)
{
    if (!ctx || !path || !ret_json)
        return CCAI_ERR_INVALID_ARG;
    FILE *f = fopen(path, "rb");
    if (!f) {
        Ccai_ctx_set_error(ctx, "import: %s: %s", path, strerror(errno));
        return CCAI_ERR_IO;
    }
    Ccai_buf b = {0};
    char chunk[65536];
    size_t n;
    ccai_status st = CCAI_OK;
    while (st == CCAI_OK && (n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b.len + n > CCAI_IMPORT_MAX_BYTES) {
            Ccai_ctx_set_error(ctx, "import: %s: larger than %u bytes", path,
                               CCAI_IMPORT_MAX_BYTES);
            st = CCAI_ERR_LIMIT;
        } else if (!Ccai_buf_append(&b, chunk, n)) {
            st = CCAI_ERR_NOMEM;
        }
    }
    if (st == CCAI_OK && ferror(f)) {
        Ccai_ctx_set_error(ctx, "import: %s: read error", path);
        st = CCAI_ERR_IO;
    }
    fclose(f);
    json_t *report = NULL;
    /* The reference's v9 database itself (.local-v3.sqlite). */
    bool sqlite = b.len >= 16 && memcmp(b.data, "SQLite format 3", 16) == 0;
    if (st == CCAI_OK && sqlite)
        st = Ccai_engine_calls_import_sqlite(ctx->engine, path, &report);
    else if (st == CCAI_OK)
        st = Ccai_engine_calls_import(ctx->engine, b.data ? b.data : "", b.len, &report);
    Ccai_buf_free(&b);
    /* committed before it returns (SQLite's group commit would at the end
     * of the loop's turn) */
    if (st == CCAI_OK && (st = Ccai_store_commit_now(ctx->store)) != CCAI_OK)
        Ccai_ctx_set_error(ctx, "import: not committed: %s", Ccai_store_errmsg(ctx->store));
    if (st != CCAI_OK) {
        json_decref(report);
        return st;
    }
    char *text = Ccai_json_dump(report, JSON_COMPACT);
    json_decref(report);
    if (!text)
        return CCAI_ERR_NOMEM;
    *ret_json = text;
    return CCAI_OK;
}

CCAI_EXPORT ccai_status ccai_ctx_call_find_provider(ccai_ctx *ctx, const char *channel,
                                                    const char *provider_id, char **ret_call_id)
{
    if (!ctx)
        return CCAI_ERR_INVALID_ARG;
    return Ccai_engine_call_find_provider(ctx->engine, channel, provider_id, ret_call_id);
}

CCAI_EXPORT ccai_status ccai_ctx_call_check_secret(ccai_ctx *ctx, const char *call_id,
                                                   const char *secret)
{
    if (!ctx)
        return CCAI_ERR_INVALID_ARG;
    return Ccai_engine_call_check_secret(ctx->engine, call_id, secret);
}

CCAI_EXPORT ccai_status ccai_ctx_call_end(ccai_ctx *ctx, const char *call_id, const char *reason,
                                          int by_caller)
{
    if (!ctx)
        return CCAI_ERR_INVALID_ARG;
    return Ccai_engine_call_end(ctx->engine, call_id, reason, by_caller != 0);
}

CCAI_EXPORT ccai_status ccai_ctx_call_set_recording(ccai_ctx *ctx, const char *call_id,
                                                    const char *url, const char *recording_id,
                                                    int64_t duration_ms)
{
    if (!ctx || !call_id || (!url && !recording_id && duration_ms <= 0))
        return CCAI_ERR_INVALID_ARG;
    return Ccai_call_recording(ctx->engine, call_id, url, recording_id, duration_ms);
}

CCAI_EXPORT ccai_status ccai_ctx_sms_inbound(ccai_ctx *ctx, const char *from, const char *text)
{
    if (!ctx)
        return CCAI_ERR_INVALID_ARG;
    return Ccai_engine_sms_inbound(ctx->engine, from, text);
}

CCAI_EXPORT ccai_status ccai_ctx_sms_status(ccai_ctx *ctx, const char *ref, const char *message_id,
                                            const char *status, const char *detail)
{
    if (!ctx)
        return CCAI_ERR_INVALID_ARG;
    return Ccai_engine_sms_status(ctx->engine, ref, message_id, status, detail);
}

CCAI_EXPORT ccai_status ccai_ctx_sms_done(ccai_ctx *ctx, uint64_t request_id, ccai_status status,
                                          int permanent, const char *errmsg)
{
    if (!ctx)
        return CCAI_ERR_INVALID_ARG;
    return Ccai_sms_host_done(ctx->sms, request_id, status, permanent != 0, errmsg);
}

/* HTTP: the router's and the server's. ------------------------------------------ */

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

/* Feature flags (ctx_flags.c) ------------------------------------------------ */

CCAI_EXPORT ccai_status ccai_ctx_flags_set_json(ccai_ctx *ctx, const char *json)
{
    if (!ctx || !json)
        return CCAI_ERR_INVALID_ARG;
    Ccai_json_err jerr;
    ccai_status st;
    json_t *doc = Ccai_json_load(json, strlen(json), &jerr, &st);
    if (!doc) {
        if (st != CCAI_ERR_NOMEM)
            Ccai_ctx_set_error(ctx, "flags: line %u, column %u: %s", jerr.line, jerr.column,
                               jerr.text);
        return st == CCAI_ERR_NOMEM ? st : CCAI_ERR_PARSE;
    }
    char *msg = NULL;
    st = Ccai_flags_rt_set(ctx->flags, doc, "api", &msg);
    json_decref(doc);
    if (msg)
        Ccai_ctx_set_error(ctx, "%s", msg);
    ccai_free(msg);
    return st;
}

CCAI_EXPORT ccai_status ccai_ctx_flags_get_json(ccai_ctx *ctx, char **ret_json)
{
    if (!ctx || !ret_json)
        return CCAI_ERR_INVALID_ARG;
    json_t *state = Ccai_flags_rt_state(ctx->flags);
    char *text = state ? Ccai_json_dump(state, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(state);
    if (!text)
        return CCAI_ERR_NOMEM;
    *ret_json = text;
    return CCAI_OK;
}

CCAI_EXPORT ccai_status ccai_ctx_flags_reload(ccai_ctx *ctx, const ccai_config *fresh)
{
    if (!ctx)
        return CCAI_ERR_INVALID_ARG;
    char *msg = NULL;
    ccai_status st = Ccai_flags_rt_reload(ctx->flags, fresh, &msg);
    if (msg)
        Ccai_ctx_set_error(ctx, "flags: %s", msg);
    ccai_free(msg);
    return st;
}
