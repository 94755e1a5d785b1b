/*
 * Drive a ccai_ctx from a libevent event_base. Header-only: libccai itself
 * does not link libevent; the host does.
 *
 *   struct event_base *base = event_base_new();
 *   ccai_libevent *ev;
 *   ccai_ctx *ctx;
 *   ccai_libevent_new(base, cfg, &ev, &ctx, &err);
 *   ... ccai_call_start(ctx, ...); event_base_dispatch(base); ...
 *   ccai_libevent_free(ev);   (frees ctx, then the adapter)
 */
#ifndef CCAI_ADAPTERS_LIBEVENT_H
#define CCAI_ADAPTERS_LIBEVENT_H

#include <ccai/ccai.h>
#include <event2/event.h>
#include <stdlib.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ccai_libevent {
    struct event_base *base;
    struct event *timer;
    ccai_ctx *ctx;
} ccai_libevent;

static inline void ccai_libevent_on_fd_(evutil_socket_t fd, short what, void *arg)
{
    ccai_libevent *a = (ccai_libevent *)arg;
    int events = 0;
    if (what & EV_READ)
        events |= CCAI_POLL_IN;
    if (what & EV_WRITE)
        events |= CCAI_POLL_OUT;
    ccai_ctx_socket_action(a->ctx, (int)fd, events);
}

static inline void ccai_libevent_on_timer_(evutil_socket_t fd, short what, void *arg)
{
    ccai_libevent *a = (ccai_libevent *)arg;
    (void)fd;
    (void)what;
    ccai_ctx_timeout(a->ctx);
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
 * Create a context driven by @p base. On success *ret_adapter and *ret_ctx
 * are set; free both with ccai_libevent_free(). Statuses as ccai_ctx_new().
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
    hooks.version = CCAI_LOOP_HOOKS_VERSION;
    hooks.watch_fd = ccai_libevent_watch_fd_;
    hooks.set_timer = ccai_libevent_set_timer_;
    st = ccai_ctx_new(cfg, &hooks, a, &a->ctx, ret_errmsg);
    if (st != CCAI_OK) {
        event_free(a->timer);
        free(a);
        return st;
    }
    *ret_adapter = a;
    *ret_ctx = a->ctx;
    return CCAI_OK;
}

/** Free the context, then the adapter. NULL is accepted. */
static inline void ccai_libevent_free(ccai_libevent *a)
{
    if (!a)
        return;
    ccai_ctx_free(a->ctx);
    event_free(a->timer);
    free(a);
}

#ifdef __cplusplus
}
#endif

#endif
