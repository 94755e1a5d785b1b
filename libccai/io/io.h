/* The io layer: the context's loop (timers, watched fds, the clock, the
 * asynchronous HTTP client), its log and error text, on the host's loop
 * hooks. Every function takes the context's public handle; the loop behind
 * it is found through Ccai_ctx_loop(), which the composition root
 * (libccai/ctx.c) defines: io knows no other part of the context. */
#ifndef CCAI_IO_IO_H
#define CCAI_IO_IO_H

#include "core/common.h"

/* Timers ---------------------------------------------------------------- */

typedef struct Ccai_timer Ccai_timer;
typedef void (*Ccai_timer_fn)(Ccai_timer *timer, void *ud);

/* Embedded in its owner: the heap links the timers themselves and never
 * allocates, so scheduling a timer cannot fail. */
struct Ccai_timer {
    uint64_t due; /* monotonic ms */
    uint64_t seq; /* insertion order: equal deadlines fire FIFO */
    /* Pairing heap links: the first child, the next sibling, and the
     * previous sibling (the parent for a first child). */
    Ccai_timer *child, *next, *prev;
    Ccai_timer_fn fn;
    void *ud;
    bool active; /* scheduled */
    bool idle;   /* waits for someone else (a silent caller): not work in flight */
};

/* A pairing heap of timers ordered by (due, seq). */
typedef struct Ccai_timer_heap {
    Ccai_timer *root;
    size_t n;
    size_t n_idle; /* idle timers among the n */
    uint64_t next_seq;
} Ccai_timer_heap;

void Ccai_timer_init(Ccai_timer *t, Ccai_timer_fn fn, void *ud);
/* An idle timer waits for somebody else (a caller's silence, a client that
 * may come back): scheduled, it does not make ccai_ctx_busy() true, so a
 * host that drains its work on shutdown does not wait for it. */
void Ccai_timer_set_idle(Ccai_timer *t, bool idle);
CCAI_MUST_CHECK bool Ccai_timer_active(const Ccai_timer *t);

void Ccai_timer_heap_push(Ccai_timer_heap *h, Ccai_timer *t);
void Ccai_timer_heap_remove(Ccai_timer_heap *h, Ccai_timer *t);
Ccai_timer *Ccai_timer_heap_peek(const Ccai_timer_heap *h);
/* Shift every timer's deadline: due becomes shift(due, ud). The shift must
 * keep the order (the context's clock change moves them all alike). */
void Ccai_timer_heap_shift(Ccai_timer_heap *h, uint64_t (*shift)(uint64_t due, void *ud), void *ud);
/* Unschedule every timer. */
void Ccai_timer_heap_free(Ccai_timer_heap *h);

/* Schedule t on the context in delay_ms (re-schedules an active timer).
 * Never fails: the heap links the timer itself. */
void Ccai_timer_start(ccai_ctx *ctx, Ccai_timer *t, uint64_t delay_ms);
void Ccai_timer_stop(ccai_ctx *ctx, Ccai_timer *t);

/* The context's clock: monotonic ms, replaceable by tests. */
uint64_t Ccai_ctx_now(const ccai_ctx *ctx);
void Ccai_ctx_set_clock(ccai_ctx *ctx, uint64_t (*now)(void *ud), void *ud);

/* The context's logger, and its error text (ccai_ctx_errmsg()). */
const Ccai_logger *Ccai_ctx_logger(const ccai_ctx *ctx);
void Ccai_ctx_set_error(ccai_ctx *ctx, const char *fmt, ...) CCAI_PRINTF(2, 3);
const char *Ccai_ctx_error(const ccai_ctx *ctx);

/* Re-entrancy guard: entry points bracket their work with enter/leave so
 * that a ccai_ctx_free() from inside a callback is deferred until the
 * outermost frame unwinds. leave() returns false when the context is gone. */
void Ccai_ctx_enter(ccai_ctx *ctx);
bool Ccai_ctx_leave(ccai_ctx *ctx);

/* Watched fds ------------------------------------------------------------ */

/* Readiness of a watched fd (CCAI_POLL_IN/OUT/ERR bits, as the host said). */
typedef void (*Ccai_fd_fn)(ccai_ctx *ctx, int fd, int events, void *ud);

/* Watch fd for events (CCAI_POLL_IN | CCAI_POLL_OUT) through the host's
 * watch_fd hook, or change what is watched; readiness calls fn. events 0
 * forgets the fd (as Ccai_fd_forget()). Statuses: CCAI_OK, CCAI_ERR_NOMEM,
 * CCAI_ERR_IO (the hook failed), CCAI_ERR_INVALID_ARG. */
CCAI_MUST_CHECK ccai_status Ccai_fd_watch(ccai_ctx *ctx, int fd, int events, Ccai_fd_fn fn,
                                          void *ud);
/* Stop watching fd and forget its owner: call it before closing the fd. */
void Ccai_fd_forget(ccai_ctx *ctx, int fd);

/* HTTP client ------------------------------------------------------------ */

typedef struct Ccai_http_req Ccai_http_req;

typedef struct Ccai_http_opts {
    const char *method; /* "GET", "POST", ...; default GET, or POST with a body */
    const char *url;
    const char *const *headers; /* NULL-terminated "Name: value" lines */
    const void *body;           /* copied, unless body_borrowed */
    size_t body_len;
    bool body_borrowed;             /* body stays valid until on_done or the cancel: no copy */
    size_t recv_buffer;             /* bytes read at a time; 0 = libcurl's 16 KiB */
    uint32_t connect_timeout_ms;    /* 0 = 10000 */
    uint32_t first_byte_timeout_ms; /* 0 = none: start → first response byte */
    uint32_t idle_timeout_ms;       /* 0 = none: gap between body bytes */
    uint32_t total_timeout_ms;      /* 0 = none */
    size_t max_response_bytes;      /* 0 = 8 MiB; only for buffered bodies */
    /* Final response status and headers are known (never for 1xx). */
    void (*on_response)(Ccai_http_req *req, long status, void *ud);
    /* Streamed body. NULL buffers the body (Ccai_http_body()). Return
     * non-zero to abort: on_done then reports CCAI_ERR_CANCELLED. */
    int (*on_data)(Ccai_http_req *req, const char *data, size_t len, void *ud);
    /* Exactly once unless cancelled: st is CCAI_OK when a response arrived
     * whole (whatever its status), else the transport failure. */
    void (*on_done)(Ccai_http_req *req, ccai_status st, long status, const char *errmsg, void *ud);
    void *ud;
} Ccai_http_opts;

/* Start a request. A start that fails fires no callback. */
CCAI_MUST_CHECK ccai_status Ccai_http_start(ccai_ctx *ctx, const Ccai_http_opts *opts,
                                            Ccai_http_req **ret);

/* Cancel: no callback fires afterwards; the request is freed. Safe from
 * inside the request's own callbacks (then deferred). */
void Ccai_http_cancel(Ccai_http_req *req);

/* Response header (case-insensitive name), the last one when repeated; valid
 * from on_response until on_done returns. NULL when absent. */
const char *Ccai_http_header(const Ccai_http_req *req, const char *name);

/* Whether the request's body went out whole: a borrowed body may be
 * released from then on (asked from on_response: a server answers once it
 * read the request, or early, before it is all sent). */
bool Ccai_http_body_sent(const Ccai_http_req *req);

/* Buffered body (on_data == NULL): valid during on_done. */
const char *Ccai_http_body(const Ccai_http_req *req, size_t *ret_len);

/* How long a server asked to wait (Retry-After: seconds or an HTTP date;
 * retry-after-ms, when given and usable, decides, as OpenAI's SDK does), in
 * ms from now_wall_ms; -1 when absent, unusable or beyond max_ms. */
int64_t Ccai_http_retry_after_ms(const char *retry_after, const char *retry_after_ms,
                                 int64_t now_wall_ms, int64_t max_ms);

/* Requests in flight on the context. */
size_t Ccai_http_in_flight(const ccai_ctx *ctx);

/* The loop of a context --------------------------------------------------- */

typedef struct Ccai_loop Ccai_loop;

/* The loop behind a context's handle: the one thing io needs of the
 * context, defined by the composition root. */
Ccai_loop *Ccai_ctx_loop(const ccai_ctx *ctx);

/* For the root. Make the loop of ctx on the host's hooks (a table of any
 * version up to CCAI_LOOP_HOOKS_VERSION: only the members it has are read),
 * with libcurl's multi handle. destroy(destroy_ud) is how a ccai_ctx_free()
 * deferred by Ccai_ctx_enter() runs once the outermost frame unwinds.
 * Statuses: CCAI_OK, CCAI_ERR_NOMEM, CCAI_ERR_INTERNAL (libcurl). */
CCAI_MUST_CHECK ccai_status Ccai_loop_new(ccai_ctx *ctx, const ccai_loop_hooks *hooks,
                                          void *loop_ud, const Ccai_logger *log,
                                          void (*destroy)(void *ud), void *destroy_ud,
                                          Ccai_loop **ret);
/* From now on (the context is made), the hooks' cleanup member counts. */
void Ccai_loop_adopt_cleanup(Ccai_loop *l, const ccai_loop_hooks *hooks);
/* Free the loop once everything on it is gone (requests are cancelled, fds
 * forgotten, the host's timer disarmed); *ret_cleanup and *ret_loop_ud get
 * the host's cleanup hook, for the root to call last (may be NULL). */
void Ccai_loop_free(Ccai_loop *l, void (**ret_cleanup)(void *), void **ret_loop_ud);
/* ccai_ctx_socket_action(), ccai_ctx_timeout(): readiness and the timer. */
void Ccai_loop_socket_action(ccai_ctx *ctx, int fd, int events);
void Ccai_loop_timeout(ccai_ctx *ctx);
/* Work in flight on the loop: requests, timers that are not idle. */
CCAI_MUST_CHECK bool Ccai_loop_busy(const ccai_ctx *ctx);
/* ccai_ctx_free() asked from inside a callback: true when the free is
 * deferred (destroy runs later), false when the caller destroys now. */
CCAI_MUST_CHECK bool Ccai_loop_defer_free(ccai_ctx *ctx);
/* A deferred free is pending: entry points do nothing. */
CCAI_MUST_CHECK bool Ccai_loop_freeing(const ccai_ctx *ctx);

#endif
