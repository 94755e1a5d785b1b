/* The fds the context watches through the host's one watch_fd hook: the
 * HTTP client's (libcurl) and the HTTP server's sockets share it, and each
 * readiness the host reports goes to the owner of the fd. */
#include "io/ctx_private.h"

#include <string.h>

/* One watched fd; the table is indexed by fd number. */
struct Ccai_fd_entry {
    Ccai_fd_fn fn;
    void *ud;
    void *host_slot;
    int events;
};

static Ccai_fd_entry *entry_of(const ccai_ctx *ctx, int fd)
{
    if (fd < 0 || (size_t)fd >= ctx->n_fd_entries || !ctx->fd_entries[fd].fn)
        return NULL;
    return &ctx->fd_entries[fd];
}

ccai_status Ccai_fd_watch(ccai_ctx *ctx, int fd, int events, Ccai_fd_fn fn, void *ud)
{
    if (fd < 0 || !fn)
        return CCAI_ERR_INVALID_ARG;
    if (!events) {
        Ccai_fd_forget(ctx, fd);
        return CCAI_OK;
    }
    if ((size_t)fd >= ctx->n_fd_entries) {
        size_t n = ctx->n_fd_entries ? ctx->n_fd_entries : 64;
        while (n <= (size_t)fd)
            n *= 2;
        Ccai_fd_entry *v = Ccai_realloc(ctx->fd_entries, n * sizeof *v);
        if (!v)
            return CCAI_ERR_NOMEM;
        memset(v + ctx->n_fd_entries, 0, (n - ctx->n_fd_entries) * sizeof *v);
        ctx->fd_entries = v;
        ctx->n_fd_entries = n;
    }
    Ccai_fd_entry *e = &ctx->fd_entries[fd];
    e->fn = fn;
    e->ud = ud;
    if (e->events == events)
        return CCAI_OK;
    if (ctx->hooks.watch_fd(ctx->loop_ud, fd, events, &e->host_slot) != 0) {
        Ccai_log(&ctx->log, CCAI_LOG_ERROR, "loop: watch_fd(%d) failed", fd);
        return CCAI_ERR_IO;
    }
    e->events = events;
    return CCAI_OK;
}

void Ccai_fd_forget(ccai_ctx *ctx, int fd)
{
    Ccai_fd_entry *e = entry_of(ctx, fd);
    if (!e)
        return;
    if (e->events || e->host_slot)
        ctx->hooks.watch_fd(ctx->loop_ud, fd, 0, &e->host_slot);
    memset(e, 0, sizeof *e);
}

void Ccai_fd_dispatch(ccai_ctx *ctx, int fd, int events)
{
    Ccai_fd_entry *e = entry_of(ctx, fd);
    /* An fd forgotten since the host polled: nobody wants its news. */
    if (e)
        e->fn(ctx, fd, events, e->ud);
}

void Ccai_fd_cleanup(ccai_ctx *ctx)
{
    for (size_t fd = 0; fd < ctx->n_fd_entries; fd++)
        Ccai_fd_forget(ctx, (int)fd);
    ccai_free(ctx->fd_entries);
    ctx->fd_entries = NULL;
    ctx->n_fd_entries = 0;
}
