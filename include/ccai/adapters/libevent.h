/*
 * Drive a ccai_ctx from a libevent event_base. Header-only: libccai itself
 * does not link libevent; the host does.
 *
 *   struct event_base *base = event_base_new();
 *   ccai_libevent *ev;
 *   ccai_ctx *ctx;
 *   ccai_libevent_new(base, cfg, &ev, &ctx, &err);
 *   ... ccai_call_start(ctx, ...); event_base_dispatch(base); ...
 *   ccai_libevent_free(ev);   (frees ctx; the adapter goes with it)
 *
 * Lifetime (hiredis's pattern): the adapter lives exactly as long as its
 * context. ccai_libevent_free() (or ccai_ctx_free()) frees the context; the
 * context's cleanup hook then frees the adapter, at once, or, when the free
 * was called from inside a libccai callback, once the context's destruction
 * (deferred until that callback returned) has made its last hook call and
 * the adapter's own event callback has returned.
 */
#ifndef CCAI_ADAPTERS_LIBEVENT_H
#define CCAI_ADAPTERS_LIBEVENT_H

#include <ccai/ccai.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ccai_libevent {
    struct event_base *base;
    struct event *timer;
    ccai_ctx *ctx; /* NULL once the context is gone */
    int depth;     /* inside the adapter's event callbacks */
    int gone;      /* the context is gone: free when the callbacks return */
} ccai_libevent;

static inline void ccai_libevent_destroy_(ccai_libevent *a)
{
    event_free(a->timer);
    free(a);
}

/* The context is gone (hooks v2 cleanup): nothing calls the hooks any more. */
static inline void ccai_libevent_cleanup_(void *loop_ud)
{
    ccai_libevent *a = (ccai_libevent *)loop_ud;
    a->ctx = NULL;
    if (a->depth > 0)
        a->gone = 1; /* freed inside our callback: free when it returns */
    else
        ccai_libevent_destroy_(a);
}

static inline void ccai_libevent_leave_(ccai_libevent *a)
{
    if (--a->depth == 0 && a->gone)
        ccai_libevent_destroy_(a);
}

static inline void ccai_libevent_on_fd_(evutil_socket_t fd, short what, void *arg)
{
    ccai_libevent *a = (ccai_libevent *)arg;
    int events = 0;
    if (what & EV_READ)
        events |= CCAI_POLL_IN;
    if (what & EV_WRITE)
        events |= CCAI_POLL_OUT;
    a->depth++;
    ccai_ctx_socket_action(a->ctx, (int)fd, events);
    ccai_libevent_leave_(a);
}

static inline void ccai_libevent_on_timer_(evutil_socket_t fd, short what, void *arg)
{
    ccai_libevent *a = (ccai_libevent *)arg;
    (void)fd;
    (void)what;
    a->depth++;
    ccai_ctx_timeout(a->ctx);
    ccai_libevent_leave_(a);
}

static inline int ccai_libevent_watch_fd_(void *loop_ud, int fd, int events, void **fd_slot)
{
    ccai_libevent *a = (ccai_libevent *)loop_ud;
    struct event *e = (struct event *)*fd_slot;
    short what = EV_PERSIST;
    if (events & CCAI_POLL_IN)
        what |= EV_READ;
    if (events & CCAI_POLL_OUT)
        what |= EV_WRITE;
    if (e) {
        event_del(e);
        if (events == 0) {
            event_free(e);
            *fd_slot = NULL;
            return 0;
        }
        if (event_assign(e, a->base, fd, what, ccai_libevent_on_fd_, a) != 0)
            return -1;
    } else {
        if (events == 0)
            return 0;
        e = event_new(a->base, fd, what, ccai_libevent_on_fd_, a);
        if (!e)
            return -1;
        *fd_slot = e;
    }
    return event_add(e, NULL) == 0 ? 0 : -1;
}

static inline int ccai_libevent_set_timer_(void *loop_ud, int64_t timeout_ms)
{
    ccai_libevent *a = (ccai_libevent *)loop_ud;
    struct timeval tv;
    if (timeout_ms < 0)
        return event_del(a->timer) == 0 ? 0 : -1;
    tv.tv_sec = (long)(timeout_ms / 1000);
    tv.tv_usec = (long)((timeout_ms % 1000) * 1000);
    return event_add(a->timer, &tv) == 0 ? 0 : -1;
}

/**
 * Create a context driven by @p base: ccai_ctx_new() with this adapter's
 * loop hooks.
 * Statuses: as ccai_ctx_new(); CCAI_ERR_INVALID_ARG also for a NULL
 * @p base, @p ret_adapter or @p ret_ctx; CCAI_ERR_NOMEM when the adapter or
 * its timer event cannot be made.
 * Ownership: *ret_adapter and *ret_ctx are the caller's, both freed with
 * ccai_libevent_free() (or ccai_ctx_free()); untouched on failure;
 * @p base stays the caller's and must outlive the adapter; *ret_errmsg as
 * ccai_ctx_new().
 * Context: the thread that runs @p base; the context belongs to it from now
 * on. @since 0.1
 */
static inline ccai_status ccai_libevent_new(struct event_base *base, const ccai_config *cfg,
                                            ccai_libevent **ret_adapter, ccai_ctx **ret_ctx,
                                            char **ret_errmsg)
{
    ccai_loop_hooks hooks;
    ccai_libevent *a;
    ccai_status st;
    if (!base || !ret_adapter || !ret_ctx)
        return CCAI_ERR_INVALID_ARG;
    a = (ccai_libevent *)calloc(1, sizeof *a);
    if (!a)
        return CCAI_ERR_NOMEM;
    a->base = base;
    a->timer = evtimer_new(base, ccai_libevent_on_timer_, a);
    if (!a->timer) {
        free(a);
        return CCAI_ERR_NOMEM;
    }
    memset(&hooks, 0, sizeof hooks); /* members of later versions: unset */
    hooks.version = CCAI_LOOP_HOOKS_VERSION;
    hooks.watch_fd = ccai_libevent_watch_fd_;
    hooks.set_timer = ccai_libevent_set_timer_;
    hooks.cleanup = ccai_libevent_cleanup_;
    st = ccai_ctx_new(cfg, &hooks, a, &a->ctx, ret_errmsg);
    if (st != CCAI_OK) { /* no cleanup call for a context never made */
        ccai_libevent_destroy_(a);
        return st;
    }
    *ret_adapter = a;
    *ret_ctx = a->ctx;
    return CCAI_OK;
}

/**
 * Free the context; the adapter goes with it (its cleanup hook), at once or,
 * from inside a libccai callback, when the context's deferred destruction
 * happens. Do not use @p a afterwards. NULL is accepted.
 * Statuses: none (void).
 * Ownership: the adapter, its events and its context are gone (see
 * ccai_ctx_free()); the event_base stays the caller's.
 * Context: the thread that runs the event_base; legal inside the context's
 * callbacks. @since 0.1
 */
static inline void ccai_libevent_free(ccai_libevent *a)
{
    if (!a)
        return;
    ccai_ctx_free(a->ctx);
}

#ifdef __cplusplus
}
#endif

#endif
