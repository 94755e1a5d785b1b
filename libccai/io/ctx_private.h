/* The context's fields, shared by io/ and engine/. */
#ifndef CCAI_IO_CTX_PRIVATE_H
#define CCAI_IO_CTX_PRIVATE_H

#include "io/io.h"

struct Ccai_store;
struct ccai_call;

struct ccai_ctx {
    Ccai_loop *loop;
    ccai_config *cfg;
    Ccai_logger log;

    struct Ccai_store *store;
    char *db_path;

    struct Ccai_router *router;
    struct Ccai_web *web;
    /* http/server.c: the HTTP server, once listening */
    struct Ccai_server *server;

    /* engine/: prompts and models, and the live call handles */
    struct Ccai_engine *engine;
    struct Ccai_jobs *jobs;
    struct Ccai_sweep *sweep;      /* engine/sweep.c: heartbeat, calls nobody took back */
    struct Ccai_metrics *metrics;  /* GET /metrics (web/metrics.h) */
    struct Ccai_sms_provider *sms; /* the one sms.mode names */
    struct Ccai_twilio *twilio;    /* channels/twilio.c, when configured */
    struct Ccai_acs *acs;          /* channels/acs.c, when configured */
    void *chats;                   /* channels/chat_http.c: open HTTP chats */
    struct ccai_call *calls;
    size_t n_calls;
};

/* engine/engine.c: the engine's metrics families, and the gauges read at
 * scrape time. */
ccai_status Ccai_engine_metrics_init(ccai_ctx *ctx, struct Ccai_metrics *m);

struct Ccai_store *Ccai_ctx_store(ccai_ctx *ctx);
const ccai_config *Ccai_ctx_config(const ccai_ctx *ctx);

/* engine/call.c: end every live call when the context goes away. */
void Ccai_calls_ctx_cleanup(ccai_ctx *ctx);
/* Live call handles not ended yet. */
size_t Ccai_calls_in_progress(const ccai_ctx *ctx);

#endif
