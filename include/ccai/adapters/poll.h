/*
 * Drive a ccai_ctx with poll(2): the simplest host, and a blocking
 * "run until done" for command-line tools. Header-only.
 *
 *   ccai_poll *p;
 *   ccai_ctx *ctx;
 *   ccai_poll_new(cfg, &p, &ctx, &err);
 *   ... ccai_call_start(ctx, ...);
 *   ccai_poll_run(p, NULL, NULL);   (until the context is idle)
 *   ccai_poll_free(p);               (frees ctx; the adapter goes with it)
 *
 * Lifetime (hiredis's pattern): the adapter lives exactly as long as its
 * context. ccai_poll_free() (or ccai_ctx_free()) frees the context; the
 * context's cleanup hook then frees the adapter, at once, or, when the free
 * was called from inside a callback of ccai_poll_run_once() or
 * ccai_poll_run(), when that function returns (it then says so).
 */
#ifndef CCAI_ADAPTERS_POLL_H
#define CCAI_ADAPTERS_POLL_H

#include <ccai/ccai.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ccai_poll {
    ccai_ctx *ctx; /* NULL once the context is gone */
    struct pollfd *fds;
    size_t nfds;
    size_t cap;
    int timer_armed;
    uint64_t deadline_ms;
    int depth; /* inside ccai_poll_run_once() / ccai_poll_run() */
    int gone;  /* the context is gone: free when they return */
} ccai_poll;

static inline void ccai_poll_destroy_(ccai_poll *p)
{
    free(p->fds);
    free(p);
}

/* The context is gone (hooks v2 cleanup): nothing calls the hooks any more. */
static inline void ccai_poll_cleanup_(void *loop_ud)
{
    ccai_poll *p = (ccai_poll *)loop_ud;
    p->ctx = NULL;
    if (p->depth > 0)
        p->gone = 1;
    else
        ccai_poll_destroy_(p);
}

/* Returns 1 when the adapter was freed (its context is gone), else 0. */
static inline int ccai_poll_leave_(ccai_poll *p)
{
    if (--p->depth > 0 || !p->gone)
        return p->gone;
    ccai_poll_destroy_(p);
    return 1;
}

static inline int ccai_poll_watch_fd_(void *loop_ud, int fd, int events, void **fd_slot)
{
    ccai_poll *p = (ccai_poll *)loop_ud;
    size_t i;
    short want = 0;
    (void)fd_slot;
    if (events & CCAI_POLL_IN)
        want |= POLLIN;
    if (events & CCAI_POLL_OUT)
        want |= POLLOUT;
    for (i = 0; i < p->nfds; i++) {
        if (p->fds[i].fd == fd)
            break;
    }
    if (events == 0) {
        if (i < p->nfds)
            p->fds[i] = p->fds[--p->nfds];
        return 0;
    }
    if (i == p->nfds) {
        if (p->nfds == p->cap) {
            size_t cap = p->cap ? p->cap * 2 : 8;
            struct pollfd *n = (struct pollfd *)realloc(p->fds, cap * sizeof *n);
            if (!n)
                return -1;
            p->fds = n;
            p->cap = cap;
        }
        p->fds[p->nfds].fd = fd;
        p->nfds++;
    }
    p->fds[i].events = want;
    p->fds[i].revents = 0;
    return 0;
}

static inline int ccai_poll_set_timer_(void *loop_ud, int64_t timeout_ms)
{
    ccai_poll *p = (ccai_poll *)loop_ud;
    if (timeout_ms < 0) {
        p->timer_armed = 0;
        return 0;
    }
    p->timer_armed = 1;
    p->deadline_ms = ccai_time_ms() + (uint64_t)timeout_ms;
    return 0;
}

/**
 * Create a context driven by poll(2): ccai_ctx_new() with this adapter's
 * loop hooks.
 * Statuses: as ccai_ctx_new(); CCAI_ERR_INVALID_ARG also for a NULL
 * @p ret_adapter or @p ret_ctx; CCAI_ERR_NOMEM when the adapter cannot be
 * allocated.
 * Ownership: *ret_adapter and *ret_ctx are the caller's, both freed with
 * ccai_poll_free() (or ccai_ctx_free()); untouched on failure; *ret_errmsg
 * as ccai_ctx_new().
 * Context: the context belongs to the calling thread from now on.
 * @since 0.1
 */
static inline ccai_status ccai_poll_new(const ccai_config *cfg, ccai_poll **ret_adapter,
                                        ccai_ctx **ret_ctx, char **ret_errmsg)
{
    ccai_loop_hooks hooks;
    ccai_poll *p;
    ccai_status st;
    if (!ret_adapter || !ret_ctx)
        return CCAI_ERR_INVALID_ARG;
    p = (ccai_poll *)calloc(1, sizeof *p);
    if (!p)
        return CCAI_ERR_NOMEM;
    memset(&hooks, 0, sizeof hooks); /* members of later versions: unset */
    hooks.version = CCAI_LOOP_HOOKS_VERSION;
    hooks.watch_fd = ccai_poll_watch_fd_;
    hooks.set_timer = ccai_poll_set_timer_;
    hooks.cleanup = ccai_poll_cleanup_;
    st = ccai_ctx_new(cfg, &hooks, p, &p->ctx, ret_errmsg);
    if (st != CCAI_OK) { /* no cleanup call for a context never made */
        ccai_poll_destroy_(p);
        return st;
    }
    *ret_adapter = p;
    *ret_ctx = p->ctx;
    return CCAI_OK;
}

/* One iteration; the caller holds p->depth, so p outlives it. */
static inline int ccai_poll_dispatch_(ccai_poll *p, int max_wait_ms)
{
    int timeout = max_wait_ms;
    int n;
    size_t i, count;
    if (p->timer_armed) {
        uint64_t now = ccai_time_ms();
        int until = p->deadline_ms > now ? (int)(p->deadline_ms - now) : 0;
        if (timeout < 0 || until < timeout)
            timeout = until;
    }
    n = poll(p->fds, (nfds_t)p->nfds, timeout);
    if (n < 0)
        return errno == EINTR ? 0 : -1;
    /* Dispatch from a snapshot: callbacks may change the fd set. */
    count = p->nfds;
    for (i = 0; i < count && n > 0 && i < p->nfds && !p->gone; i++) {
        struct pollfd pfd = p->fds[i];
        int events = 0;
        if (!pfd.revents)
            continue;
        n--;
        p->fds[i].revents = 0;
        if (pfd.revents & (POLLIN | POLLHUP))
            events |= CCAI_POLL_IN;
        if (pfd.revents & POLLOUT)
            events |= CCAI_POLL_OUT;
        if (pfd.revents & (POLLERR | POLLNVAL))
            events |= CCAI_POLL_ERR;
        ccai_ctx_socket_action(p->ctx, pfd.fd, events);
    }
    if (!p->gone && p->timer_armed && ccai_time_ms() >= p->deadline_ms) {
        p->timer_armed = 0;
        ccai_ctx_timeout(p->ctx);
    }
    return 0;
}

/**
 * Wait at most @p max_wait_ms (-1: as long as needed) and dispatch what is
 * ready. Returns 0; 1 when the context was freed meanwhile (by a callback):
 * the adapter is gone with it, do not use @p p again; -1 when poll(2) failed
 * (errno says why; EINTR counts as nothing ready) or @p p is NULL.
 * Statuses: none (the int above).
 * Ownership: nothing changes hands (see 1 above).
 * Context: the context's thread; not from inside a libccai callback.
 * @since 0.1
 */
static inline int ccai_poll_run_once(ccai_poll *p, int max_wait_ms)
{
    int rc;
    if (!p)
        return -1;
    p->depth++;
    rc = ccai_poll_dispatch_(p, max_wait_ms);
    return ccai_poll_leave_(p) ? 1 : rc;
}

/**
 * Run until @p done returns non-zero, or, with @p done NULL, until the
 * context is idle (ccai_ctx_busy() == 0). @p done is asked before each
 * wait, which lasts at most a second. Returns 0; 1 when the context was
 * freed meanwhile (by a callback or by @p done): the adapter is gone with
 * it; -1 on a poll error or when @p p is NULL.
 * Statuses: none (the int above).
 * Ownership: @p ud stays the caller's, passed to @p done.
 * Context: the context's thread; not from inside a libccai callback.
 * @since 0.1
 */
static inline int ccai_poll_run(ccai_poll *p, int (*done)(void *ud), void *ud)
{
    int rc = 0;
    if (!p)
        return -1;
    p->depth++;
    while (rc == 0 && !p->gone && !(done ? done(ud) : !ccai_ctx_busy(p->ctx)))
        rc = ccai_poll_dispatch_(p, 1000);
    return ccai_poll_leave_(p) ? 1 : rc;
}

/**
 * Free the context; the adapter goes with it (its cleanup hook), at once or,
 * from inside a callback of ccai_poll_run_once() / ccai_poll_run(), when that
 * function returns. Do not use @p p afterwards. NULL is accepted.
 * Statuses: none (void).
 * Ownership: the adapter and its context are gone (see ccai_ctx_free()).
 * Context: the context's thread; legal inside its callbacks. @since 0.1
 */
static inline void ccai_poll_free(ccai_poll *p)
{
    if (!p)
        return;
    ccai_ctx_free(p->ctx);
}

#ifdef __cplusplus
}
#endif

#endif
