/* The fds the context watches through the host's one watch_fd hook: the
 * HTTP client's (libcurl) and the HTTP server's sockets share it, and each
 * readiness the host reports goes to the owner of the fd. */
#include "io/loop.h"

#include <string.h>

/* One watched fd; the table is indexed by fd number. */
struct Ccai_fd_entry {
    Ccai_fd_fn fn;
    void *ud;
    void *host_slot;
    int events;
};

static Ccai_fd_entry *entry_of(const Ccai_loop *l, int fd)
{
    if (fd < 0 || (size_t)fd >= l->n_fd_entries || !l->fd_entries[fd].fn)
        return NULL;
    return &l->fd_entries[fd];
}

ccai_status Ccai_fd_watch(ccai_ctx *ctx, int fd, int events, Ccai_fd_fn fn, void *ud)
{
    if (fd < 0 || !fn)
        return CCAI_ERR_INVALID_ARG;
    if (!events) {
        Ccai_fd_forget(ctx, fd);
        return CCAI_OK;
    }
    Ccai_loop *l = Ccai_ctx_loop(ctx);
    if ((size_t)fd >= l->n_fd_entries) {
        size_t n = l->n_fd_entries ? l->n_fd_entries : 64;
        while (n <= (size_t)fd)
            n *= 2;
        Ccai_fd_entry *v = Ccai_realloc(l->fd_entries, n * sizeof *v);
        if (!v)
            return CCAI_ERR_NOMEM;
        memset(v + l->n_fd_entries, 0, (n - l->n_fd_entries) * sizeof *v);
        l->fd_entries = v;
        l->n_fd_entries = n;
    }
    Ccai_fd_entry *e = &l->fd_entries[fd];
    e->fn = fn;
    e->ud = ud;
    if (e->events == events)
        return CCAI_OK;
    if (l->hooks.watch_fd(l->loop_ud, fd, events, &e->host_slot) != 0) {
        Ccai_log(&l->log, CCAI_LOG_ERROR, "loop: watch_fd(%d) failed", fd);
        return CCAI_ERR_IO;
    }
    e->events = events;
    return CCAI_OK;
}

static void forget(Ccai_loop *l, int fd)
{
    Ccai_fd_entry *e = entry_of(l, fd);
    if (!e)
        return;
    if (e->events || e->host_slot)
        l->hooks.watch_fd(l->loop_ud, fd, 0, &e->host_slot);
    memset(e, 0, sizeof *e);
}

void Ccai_fd_forget(ccai_ctx *ctx, int fd)
{
    forget(Ccai_ctx_loop(ctx), fd);
}

void Ccai_fd_dispatch(ccai_ctx *ctx, int fd, int events)
{
    Ccai_fd_entry *e = entry_of(Ccai_ctx_loop(ctx), fd);
    /* An fd forgotten since the host polled: nobody wants its news. */
    if (e)
        e->fn(ctx, fd, events, e->ud);
}

void Ccai_fd_cleanup(Ccai_loop *l)
{
    for (size_t fd = 0; fd < l->n_fd_entries; fd++)
        forget(l, (int)fd);
    ccai_free(l->fd_entries);
    l->fd_entries = NULL;
    l->n_fd_entries = 0;
}
