/* ccai_ctx_new_libre(): the context's loop hooks on libre's loop.
 *
 *   watch_fd(fd, events)  fd_listen(fd, FD_READ|FD_WRITE, ...), events 0:
 *                         fd_close(fd); readiness comes back as
 *                         ccai_ctx_socket_action() (FD_EXCEPT: CCAI_POLL_ERR)
 *   set_timer(ms)         tmr_start(ms) on the adapter's one tmr; -1:
 *                         tmr_cancel(); it fires ccai_ctx_timeout()
 *   cleanup               the adapter goes with its context
 *
 * libre keeps its loop per thread (or one for the process when no thread
 * called re_thread_init()): the context belongs to the thread that made it
 * and runs re_main(), as every context belongs to its loop's thread
 * (docs/threading.md). libre indexes its handlers by fd number, below the
 * limit of the first fd_setsize() (1024 by default): a host with many calls
 * raises it right after libre_init() (docs/loop-integration.md). */
#include "io/libre.h"

#include "io/loop.h"

#ifdef CCAI_HAVE_SIP

typedef struct libre_loop {
    ccai_ctx *ctx; /* NULL once the context is gone */
    struct tmr tmr;
    int depth; /* inside our handlers */
    bool gone; /* the context went inside a handler: free when it returns */
} libre_loop;

/* One per watched fd (the hook's fd_slot): the handler's argument. */
typedef struct libre_fd {
    libre_loop *a;
    int fd;
} libre_fd;

static void adapter_leave(libre_loop *a)
{
    if (--a->depth == 0 && a->gone)
        ccai_free(a);
}

static void on_fd(int flags, void *arg)
{
    libre_fd *w = arg;
    libre_loop *a = w->a;
    int fd = w->fd; /* w may go inside: the fd forgotten */
    int events = 0;
    if (flags & FD_READ)
        events |= CCAI_POLL_IN;
    if (flags & FD_WRITE)
        events |= CCAI_POLL_OUT;
    if (flags & FD_EXCEPT)
        events |= CCAI_POLL_ERR;
    if (!a->ctx)
        return;
    a->depth++;
    ccai_ctx_socket_action(a->ctx, fd, events);
    adapter_leave(a);
}

static void on_tmr(void *arg)
{
    libre_loop *a = arg;
    if (!a->ctx)
        return;
    a->depth++;
    ccai_ctx_timeout(a->ctx);
    adapter_leave(a);
}

static int libre_watch_fd(void *loop_ud, int fd, int events, void **fd_slot)
{
    libre_loop *a = loop_ud;
    libre_fd *w = *fd_slot;
    if (events == 0) {
        if (w) {
            fd_close(fd);
            ccai_free(w);
            *fd_slot = NULL;
        }
        return 0;
    }
    if (!w) {
        w = Ccai_calloc(1, sizeof *w);
        if (!w)
            return -1;
        w->a = a;
        w->fd = fd;
    }
    int flags = ((events & CCAI_POLL_IN) ? FD_READ : 0) | ((events & CCAI_POLL_OUT) ? FD_WRITE : 0);
    if (fd_listen(fd, flags, on_fd, w) != 0) {
        /* EMFILE: fd at or beyond fd_setsize() */
        if (!*fd_slot)
            ccai_free(w);
        return -1;
    }
    *fd_slot = w;
    return 0;
}

static int libre_set_timer(void *loop_ud, int64_t timeout_ms)
{
    libre_loop *a = loop_ud;
    if (timeout_ms < 0)
        tmr_cancel(&a->tmr);
    else
        tmr_start(&a->tmr, (uint64_t)timeout_ms, on_tmr, a);
    return 0;
}

static void libre_cleanup(void *loop_ud)
{
    libre_loop *a = loop_ud;
    tmr_cancel(&a->tmr);
    a->ctx = NULL;
    if (a->depth > 0)
        a->gone = true;
    else
        ccai_free(a);
}

static const ccai_loop_hooks libre_hooks = {
    .version = CCAI_LOOP_HOOKS_VERSION,
    .watch_fd = libre_watch_fd,
    .set_timer = libre_set_timer,
    .cleanup = libre_cleanup,
};

CCAI_EXPORT ccai_status ccai_ctx_new_libre(const ccai_config *cfg, ccai_ctx **ret,
                                           char **ret_errmsg)
{
    if (!ret)
        return CCAI_ERR_INVALID_ARG;
    libre_loop *a = Ccai_calloc(1, sizeof *a);
    if (!a)
        return CCAI_ERR_NOMEM;
    tmr_init(&a->tmr);
    ccai_status st = ccai_ctx_new(cfg, &libre_hooks, a, &a->ctx, ret_errmsg);
    if (st != CCAI_OK) { /* no cleanup for a context never made */
        tmr_cancel(&a->tmr);
        ccai_free(a);
        return st;
    }
    *ret = a->ctx;
    return CCAI_OK;
}

bool Ccai_libre_drives(const ccai_ctx *ctx)
{
    const Ccai_loop *l = ctx ? Ccai_ctx_loop(ctx) : NULL;
    return l && l->hooks.watch_fd == libre_watch_fd;
}

#else /* built without libre */

CCAI_EXPORT ccai_status ccai_ctx_new_libre(const ccai_config *cfg, ccai_ctx **ret,
                                           char **ret_errmsg)
{
    CCAI_UNUSED(cfg);
    if (ret)
        *ret = NULL;
    if (ret_errmsg)
        *ret_errmsg = Ccai_strdup("libccai was built without libre (meson -Dsip=enabled, Debian "
                                  "libre-dev)");
    return CCAI_ERR_UNSUPPORTED;
}

bool Ccai_libre_drives(const ccai_ctx *ctx)
{
    CCAI_UNUSED(ctx);
    return false;
}

#endif
