/* The context's loop, as the io layer keeps it (io/loop.c, timer.c, fd.c,
 * http.c): the host's hooks, the clock, the timers, the watched fds, the
 * HTTP client, the context's log and error text, and the re-entrancy guard.
 * Private to io/: the other layers reach it through io/io.h. */
#ifndef CCAI_IO_LOOP_H
#define CCAI_IO_LOOP_H

#include "io/io.h"

typedef struct Ccai_fd_entry Ccai_fd_entry;
struct Ccai_http_req;

struct Ccai_loop {
    ccai_ctx *ctx; /* the handle every callback is given */
    Ccai_logger log;
    ccai_loop_hooks hooks;
    void *loop_ud;
    Ccai_err err;

    uint64_t (*clock)(void *ud);
    void *clock_ud;
    Ccai_timer_heap timers;
    bool timer_armed;
    uint64_t timer_deadline;

    /* Re-entrancy: ccai_ctx_free() from inside a callback waits for the
     * outermost frame, then destroy(destroy_ud) runs (the root's). */
    int depth;
    bool free_pending;
    void (*destroy)(void *ud);
    void *destroy_ud;

    /* fd.c: watched fds, indexed by fd */
    Ccai_fd_entry *fd_entries;
    size_t n_fd_entries;

    /* http.c */
    void *multi;
    uint64_t curl_deadline;
    struct Ccai_http_req *reqs;
    size_t n_reqs;
    bool curl_global;
    bool in_curl;        /* inside curl_multi_socket_action() */
    bool cancel_pending; /* cancelled requests wait for the sweep */
};

/* Compute the earliest deadline and tell the host when it changed. */
void Ccai_loop_rearm(Ccai_loop *l);

/* Internal hooks between loop.c and http.c, fd.c. */
CCAI_MUST_CHECK ccai_status Ccai_http_loop_init(Ccai_loop *l);
void Ccai_http_loop_cleanup(Ccai_loop *l);
void Ccai_http_socket_action(ccai_ctx *ctx, int fd, int events);
void Ccai_http_timeout(ccai_ctx *ctx);
/* Monotonic deadline curl asked for, or UINT64_MAX. */
uint64_t Ccai_http_deadline(const Ccai_loop *l);
void Ccai_fd_dispatch(ccai_ctx *ctx, int fd, int events);
void Ccai_fd_cleanup(Ccai_loop *l);

#endif
