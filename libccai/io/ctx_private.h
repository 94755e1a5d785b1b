/* The context's fields, shared by io/ and engine/. */
#ifndef CCAI_IO_CTX_PRIVATE_H
#define CCAI_IO_CTX_PRIVATE_H

#include "io/io.h"

struct Ccai_store;
struct ccai_call;
typedef struct Ccai_fd_entry Ccai_fd_entry;

struct ccai_ctx {
    ccai_config *cfg;
    Ccai_logger log;
    ccai_loop_hooks hooks;
    void *loop_ud;

    uint64_t (*clock)(void *ud);
    void *clock_ud;
    Ccai_timer_heap timers;
    bool timer_armed;
    uint64_t timer_deadline;

    struct Ccai_store *store;
    char *db_path;
    Ccai_err err;

    int depth;
    bool free_pending;

    /* io/fd.c: watched fds, indexed by fd */
    struct Ccai_fd_entry *fd_entries;
    size_t n_fd_entries;
    /* web/server.c: the HTTP server, once listening */
    struct Ccai_server *server;

    /* io/http.c */
    void *multi;
    uint64_t curl_deadline;
    struct Ccai_http_req *reqs;
    size_t n_reqs;
    bool curl_global;
    bool in_curl;        /* inside curl_multi_socket_action() */
    bool cancel_pending; /* cancelled requests wait for the sweep */

    /* engine/: prompts and models, and the live call handles */
    struct Ccai_engine *engine;
    struct Ccai_jobs *jobs;
    struct Ccai_sweep *sweep;     /* engine/sweep.c: heartbeat, calls nobody took back */
    struct Ccai_metrics *metrics; /* GET /metrics (web/metrics.h) */
    struct Ccai_twilio *twilio;   /* channels/twilio.c, when configured */
    struct Ccai_acs *acs;         /* channels/acs.c, when configured */
    void *chats;                  /* channels/chat_http.c: open HTTP chats */
    struct Ccai_web_held *held;   /* web/router.c: requests waiting for a locked store */
    struct ccai_call *calls;
    size_t n_calls;
};

/* The context's metrics families (web/pages.c), and the gauges read at
 * scrape time. */
ccai_status Ccai_ctx_metrics_init(ccai_ctx *ctx);
void Ccai_metrics_refresh(ccai_ctx *ctx);

/* Compute the earliest deadline and tell the host when it changed. */
void Ccai_ctx_rearm(ccai_ctx *ctx);

/* engine/call.c: end every live call when the context goes away. */
void Ccai_calls_ctx_cleanup(ccai_ctx *ctx);
/* Live call handles not ended yet. */
size_t Ccai_calls_in_progress(const ccai_ctx *ctx);

#endif
