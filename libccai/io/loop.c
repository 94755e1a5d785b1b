/* The context's loop: the host's hooks, the clock, the one host timer
 * shared by the timers heap and libcurl, and the re-entrancy guard. */
#include "io/loop.h"

#include <string.h>

static uint64_t default_clock(void *ud)
{
    CCAI_UNUSED(ud);
    return Ccai_monotonic_ms();
}

uint64_t Ccai_ctx_now(const ccai_ctx *ctx)
{
    const Ccai_loop *l = Ccai_ctx_loop(ctx);
    return l->clock(l->clock_ud);
}

/* A deadline on the old clock (clocks[0] its now) on the new one
 * (clocks[1]): the same time left. */
static uint64_t shift_due(uint64_t due, void *ud)
{
    const uint64_t *clocks = ud;
    uint64_t left = due > clocks[0] ? due - clocks[0] : 0;
    return left > UINT64_MAX - clocks[1] ? UINT64_MAX : clocks[1] + left;
}

void Ccai_ctx_set_clock(ccai_ctx *ctx, uint64_t (*now)(void *ud), void *ud)
{
    Ccai_loop *l = Ccai_ctx_loop(ctx);
    uint64_t before = Ccai_ctx_now(ctx);
    l->clock = now ? now : default_clock;
    l->clock_ud = now ? ud : NULL;
    /* Timers keep the time they had left (one shift for all: the heap's
     * order holds). */
    uint64_t clocks[2] = {before, Ccai_ctx_now(ctx)};
    Ccai_timer_heap_shift(&l->timers, shift_due, clocks);
    Ccai_loop_rearm(l);
}

const Ccai_logger *Ccai_ctx_logger(const ccai_ctx *ctx)
{
    return &Ccai_ctx_loop(ctx)->log;
}

void Ccai_ctx_set_error(ccai_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = Ccai_vasprintf(fmt, ap);
    va_end(ap);
    Ccai_loop *l = Ccai_ctx_loop(ctx);
    ccai_free(l->err.msg);
    l->err.msg = msg;
}

const char *Ccai_ctx_error(const ccai_ctx *ctx)
{
    return Ccai_err_get(&Ccai_ctx_loop(ctx)->err);
}

void Ccai_loop_rearm(Ccai_loop *l)
{
    if (l->free_pending)
        return;
    uint64_t deadline = Ccai_http_deadline(l);
    Ccai_timer *top = Ccai_timer_heap_peek(&l->timers);
    if (top && top->due < deadline)
        deadline = top->due;
    if (deadline == UINT64_MAX) {
        if (l->timer_armed) {
            l->timer_armed = false;
            l->hooks.set_timer(l->loop_ud, -1);
        }
        return;
    }
    uint64_t now = l->clock(l->clock_ud);
    /* Armed for this deadline already, unless it passed (an injected clock
     * that jumped): then the host's timer may be set for much later. */
    if (l->timer_armed && l->timer_deadline == deadline && deadline > now)
        return;
    uint64_t delay = deadline > now ? deadline - now : 0;
    if (delay > INT32_MAX)
        delay = INT32_MAX;
    l->timer_armed = true;
    l->timer_deadline = deadline;
    if (l->hooks.set_timer(l->loop_ud, (int64_t)delay) != 0)
        Ccai_log(&l->log, CCAI_LOG_ERROR, "loop: set_timer(%llu) failed",
                 (unsigned long long)delay);
}

ccai_status Ccai_loop_new(ccai_ctx *ctx, const ccai_loop_hooks *hooks, void *loop_ud,
                          const Ccai_logger *log, void (*destroy)(void *ud), void *destroy_ud,
                          Ccai_loop **ret)
{
    Ccai_loop *l = Ccai_calloc(1, sizeof *l);
    if (!l)
        return CCAI_ERR_NOMEM;
    l->ctx = ctx;
    l->log = *log;
    /* A version 1 table is shorter: copy only the members it has; cleanup
     * counts once the context is made (Ccai_loop_adopt_cleanup()). */
    l->hooks.version = hooks->version;
    l->hooks.watch_fd = hooks->watch_fd;
    l->hooks.set_timer = hooks->set_timer;
    l->loop_ud = loop_ud;
    l->clock = default_clock;
    l->curl_deadline = UINT64_MAX;
    l->destroy = destroy;
    l->destroy_ud = destroy_ud;
    ccai_status st = Ccai_http_loop_init(l);
    if (st != CCAI_OK) {
        void (*cleanup)(void *) = NULL;
        void *ud = NULL;
        Ccai_loop_free(l, &cleanup, &ud);
        return st;
    }
    *ret = l;
    return CCAI_OK;
}

void Ccai_loop_adopt_cleanup(Ccai_loop *l, const ccai_loop_hooks *hooks)
{
    if (hooks->version >= 2)
        l->hooks.cleanup = hooks->cleanup;
}

void Ccai_loop_free(Ccai_loop *l, void (**ret_cleanup)(void *), void **ret_loop_ud)
{
    *ret_cleanup = NULL;
    *ret_loop_ud = NULL;
    if (!l)
        return;
    Ccai_http_loop_cleanup(l);
    Ccai_fd_cleanup(l);
    /* Timers belong to their owners (calls, requests), all gone by now. */
    Ccai_timer_heap_free(&l->timers);
    if (l->timer_armed)
        l->hooks.set_timer(l->loop_ud, -1);
    Ccai_err_free(&l->err);
    *ret_cleanup = l->hooks.cleanup;
    *ret_loop_ud = l->loop_ud;
    ccai_free(l);
}

void Ccai_ctx_enter(ccai_ctx *ctx)
{
    Ccai_ctx_loop(ctx)->depth++;
}

bool Ccai_ctx_leave(ccai_ctx *ctx)
{
    Ccai_loop *l = Ccai_ctx_loop(ctx);
    if (--l->depth > 0)
        return true;
    if (l->free_pending) {
        l->free_pending = false;
        l->destroy(l->destroy_ud);
        return false;
    }
    Ccai_loop_rearm(l);
    return true;
}

bool Ccai_loop_defer_free(ccai_ctx *ctx)
{
    Ccai_loop *l = Ccai_ctx_loop(ctx);
    if (l->depth == 0)
        return false;
    l->free_pending = true;
    return true;
}

bool Ccai_loop_freeing(const ccai_ctx *ctx)
{
    return Ccai_ctx_loop(ctx)->free_pending;
}

void Ccai_loop_socket_action(ccai_ctx *ctx, int fd, int events)
{
    Ccai_ctx_enter(ctx);
    Ccai_fd_dispatch(ctx, fd, events);
    Ccai_ctx_leave(ctx);
}

void Ccai_loop_timeout(ccai_ctx *ctx)
{
    Ccai_loop *l = Ccai_ctx_loop(ctx);
    Ccai_ctx_enter(ctx);
    l->timer_armed = false;
    uint64_t now = Ccai_ctx_now(ctx);
    if (Ccai_http_deadline(l) <= now)
        Ccai_http_timeout(ctx);
    /* Fire what is due now, but not timers re-armed by these callbacks. */
    uint64_t last_seq = l->timers.next_seq;
    for (;;) {
        if (l->free_pending)
            break;
        Ccai_timer *t = Ccai_timer_heap_peek(&l->timers);
        if (!t || t->due > now || t->seq >= last_seq)
            break;
        Ccai_timer_heap_remove(&l->timers, t);
        t->fn(t, t->ud);
    }
    Ccai_ctx_leave(ctx);
}

bool Ccai_loop_busy(const ccai_ctx *ctx)
{
    const Ccai_loop *l = Ccai_ctx_loop(ctx);
    return l->n_reqs > 0 || l->timers.n > l->timers.n_idle;
}
