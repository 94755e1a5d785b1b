/* The HTTP/1.1 server on the context's loop (see the header).
 *
 * Sockets are non-blocking and watched through the host's hook (io/fd.c);
 * every deadline is a timer of the context. A connection is a Ccai_h1
 * (bytes ⇄ requests and answers) on a socket: read what it has room for,
 * write what it has to send, close when it says so. While a request waits
 * for its answer the socket stays watched for reading, so a client that
 * goes away is seen at once and its exchange cancelled.
 *
 * Out of file descriptors, accept() fails: one descriptor is kept in
 * reserve to take the waiting connection, answer it 503 and close it;
 * without one, accepting pauses for a growing delay (10 ms to 1 s). Either
 * way the loop never spins and the log says so at most once a second. */
#include "http/server.h"

#include "config/config.h"
#include "http/forward.h"
#include "http/h1conn.h"
#include "http/wss.h"
#include "io/io.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ACCEPT_BATCH   64
#define BACKOFF_MIN_MS 10
#define BACKOFF_MAX_MS 1000
#define LOG_EVERY_MS   1000
#define READ_CHUNK     16384
/* Connections over the cap being answered 503 at once; more are answered
 * and closed without lingering. */
#define MAX_REFUSING 64
/* A relayed connection (http/forward.h): at most this many bytes wait for
 * either side (the other is not read meanwhile: backpressure), and no byte
 * either way this long closes it (the holder's own session times out
 * first). */
#define RELAY_HIGH_WATER (256u * 1024u)
#define RELAY_IDLE_MS    120000

typedef struct Ccai_server server;

typedef struct listener {
    struct listener *next;
    server *srv;
    int fd;
} listener;

typedef struct conn {
    struct conn *prev, *next;
    server *srv;
    int fd;
    Ccai_h1 *h1;
    Ccai_timer timer;
    ccai_http_exchange *x; /* the answer awaited from the router */
    int events;            /* what is watched */
    bool refusing;         /* over the cap: answered 503 */
    bool dispatching;      /* inside ccai_ctx_http() */
    bool updating;
    bool shut;    /* write side shut while lingering */
    Ccai_wss *ws; /* the WebSocket this connection became (after its 101) */
    bool ws_on;   /* the 101 is out: the socket is the WebSocket's */
    /* Relayed to the call's holder (http/forward.h): its socket, the bytes
     * waiting for each side (written from *_off), each side's end. */
    bool relay;
    int up_fd;
    int up_events;
    Ccai_buf to_up, to_down;
    size_t up_off, down_off;
    bool down_eof, up_eof, relay_failed;
    uint64_t relay_at; /* the last byte moved */
    char remote[INET6_ADDRSTRLEN];
} conn;

struct Ccai_server {
    Ccai_server_env env;
    ccai_ctx *ctx; /* env.ctx */
    listener *listeners;
    bool stopped;
    bool paused; /* accepting paused after an accept() error */
    Ccai_timer backoff;
    uint64_t backoff_ms;
    int reserve_fd;
    char *refusal; /* the whole 503 answer for a connection we cannot keep */
    size_t refusal_len;
    conn *conns;
    size_t n_conns; /* counted against the cap */
    size_t n_refusing;
    size_t max_conns;
    Ccai_h1_limits limits;
    uint64_t log_at;
    unsigned log_suppressed;
    ccai_http_access_fn access_fn;
    void *access_ud;
    time_t date_s;
    char date[64]; /* 29 characters used */
};

/* Logs and metrics -------------------------------------------------------------- */

/* At most one line a second; the next one counts what was left out. */
static void log_limited(server *s, const char *fmt, ...) CCAI_PRINTF(2, 3);
static void log_limited(server *s, const char *fmt, ...)
{
    uint64_t now = Ccai_ctx_now(s->ctx);
    if (s->log_at && now - s->log_at < LOG_EVERY_MS) {
        s->log_suppressed++;
        return;
    }
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (s->log_suppressed)
        Ccai_log(s->env.log, CCAI_LOG_WARN, "%s (and %u more like it since the last line)", msg,
                 s->log_suppressed);
    else
        Ccai_log(s->env.log, CCAI_LOG_WARN, "%s", msg);
    s->log_at = now;
    s->log_suppressed = 0;
}

static void count_refused(server *s, const char *reason)
{
    char labels[48];
    snprintf(labels, sizeof labels, "reason=\"%s\"", reason);
    /* Best effort: a sample lost (out of memory, the series cap) changes
     * nothing the server does. */
    CCAI_DISCARD(Ccai_metrics_counter_add(s->env.metrics, "ccai_http_refused_total", labels, 1));
}

static void gauge_connections(server *s)
{
    /* Best effort, as count_refused(). */
    CCAI_DISCARD(Ccai_metrics_gauge_set(s->env.metrics, "ccai_http_connections", NULL,
                                        (double)(s->n_conns + s->n_refusing)));
}

/* RFC 7231 IMF-fixdate, in English whatever the locale. */
static void format_date(char out[32], void *ud)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    conn *c = ud;
    server *s = c->srv;
    time_t t = time(NULL);
    if (t != s->date_s) {
        struct tm tm;
        gmtime_r(&t, &tm);
        snprintf(s->date, sizeof s->date, "%s, %02d %s %04d %02d:%02d:%02d GMT",
                 days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900,
                 tm.tm_hour, tm.tm_min, tm.tm_sec);
        s->date_s = t;
    }
    memcpy(out, s->date, 31);
    out[31] = '\0';
}

/* Connections ------------------------------------------------------------------- */

static void conn_update(conn *c);
static void on_conn_ready(ccai_ctx *ctx, int fd, int events, void *ud);

static void conn_close(conn *c)
{
    server *s = c->srv;
    ccai_ctx *ctx = s->ctx;
    if (c->x) {
        ccai_http_exchange *x = c->x;
        c->x = NULL;
        ccai_http_exchange_cancel(x);
    }
    Ccai_timer_stop(ctx, &c->timer);
    Ccai_fd_forget(ctx, c->fd);
    close(c->fd);
    if (c->relay) {
        Ccai_fd_forget(ctx, c->up_fd);
        close(c->up_fd);
        Ccai_buf_free(&c->to_up);
        Ccai_buf_free(&c->to_down);
    }
    Ccai_h1_free(c->h1);
    if (c->ws) {
        Ccai_wss *ws = c->ws;
        c->ws = NULL;
        Ccai_wss_io_free(ws); /* its owner hears the end */
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (c->refusing)
        s->n_refusing--;
    else
        s->n_conns--;
    gauge_connections(s);
    ccai_free(c);
}

/* Look at the connection again from a clean frame (after an answer that
 * arrived from inside someone else's callback). */
static void conn_kick(conn *c)
{
    Ccai_timer_start(c->srv->ctx, &c->timer, 0);
}

static void ws_wake(void *ud)
{
    conn_kick(ud);
}

/* The connection becomes a relay to the call's holder (sp->fd): the
 * request, then what the client sent after it, go there first. */
static void relay_start(conn *c, Ccai_splice *sp, uint64_t now)
{
    Ccai_h1_detach(c->h1, now);
    size_t len = 0;
    const char *left = Ccai_h1_leftover(c->h1, &len);
    c->relay = true;
    c->up_fd = sp->fd;
    c->up_events = 0;
    c->relay_at = now;
    sp->taken = true;
    c->relay_failed = !Ccai_buf_append(&c->to_up, sp->first, sp->first_len) ||
                      (len && !Ccai_buf_append(&c->to_up, left, len));
    Ccai_h1_free(c->h1);
    c->h1 = NULL;
    Ccai_timer_stop(c->srv->ctx, &c->timer);
}

static void on_answer(ccai_http_exchange *x, const ccai_http_response *res, void *ud)
{
    conn *c = ud;
    c->x = NULL;
    uint64_t now = Ccai_ctx_now(c->srv->ctx);
    Ccai_wss *ws = Ccai_wss_of_answer(x);
    if (x->splice && !c->srv->stopped) {
        relay_start(c, x->splice, now);
    } else if (x->splice) {
        Ccai_h1_respond_error(c->h1, 503, "shutting down", "the server is stopping", now);
    } else if (ws && res->status == 101 && !c->srv->stopped) {
        /* A WebSocket: the 101 goes out, then the socket is the session's. */
        Ccai_h1_upgrade(c->h1, res, now);
        c->ws = ws;
        Ccai_wss_io_adopt(ws, ws_wake, c, c->remote, now);
    } else if (ws) {
        Ccai_h1_respond_error(c->h1, 503, "shutting down", "the server is stopping", now);
    } else {
        Ccai_h1_respond(c->h1, res, now);
    }
    if (!c->dispatching)
        conn_kick(c);
}

static void on_request(Ccai_h1 *h, const Ccai_h1_request *req, void *ud)
{
    conn *c = ud;
    ccai_http_request r = {
        .version = CCAI_HTTP_REQUEST_VERSION,
        .method = req->method,
        .path = req->path,
        .query = req->query,
        .headers = req->headers,
        .n_headers = req->n_headers,
        .body = req->body,
        .body_len = req->body_len,
        .remote_addr = c->remote,
    };
    ccai_http_exchange *x = NULL;
    c->dispatching = true;
    ccai_status st = Ccai_router_handle_conn(c->srv->env.router, &r, on_answer, c, &x);
    c->dispatching = false;
    if (st != CCAI_OK) /* no callback fired */
        Ccai_h1_respond_error(h, 500, ccai_status_str(st), NULL, Ccai_ctx_now(c->srv->ctx));
    else
        c->x = x;
}

static void on_abandon(Ccai_h1 *h, void *ud)
{
    CCAI_UNUSED(h);
    conn *c = ud;
    if (!c->x)
        return;
    ccai_http_exchange *x = c->x;
    c->x = NULL;
    ccai_http_exchange_cancel(x);
}

static void on_answered(Ccai_h1 *h, const Ccai_h1_access *a, void *ud)
{
    CCAI_UNUSED(h);
    conn *c = ud;
    server *s = c->srv;
    if (c->refusing) /* not a request: counted and logged as a refusal */
        return;
    if (s->access_fn) {
        ccai_http_access e = {
            .version = CCAI_HTTP_ACCESS_VERSION,
            .remote_addr = c->remote,
            .method = a->method,
            .path = a->path,
            .status = a->status,
            .bytes = a->bytes,
            .duration_ms = a->ms,
        };
        s->access_fn(&e, s->access_ud);
        return;
    }
    Ccai_log(s->env.log, CCAI_LOG_INFO, "http: %s %s %s -> %d, %zu bytes, %llu ms", c->remote,
             a->method, a->path, a->status, a->bytes, (unsigned long long)a->ms);
}

static void on_conn_timer(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    conn *c = ud;
    if (c->relay) {
        if (Ccai_ctx_now(c->srv->ctx) - c->relay_at >= RELAY_IDLE_MS)
            c->relay_failed = true;
        conn_update(c);
        return;
    }
    if (c->ws_on)
        Ccai_wss_io_timeout(c->ws, Ccai_ctx_now(c->srv->ctx));
    else
        Ccai_h1_timeout(c->h1, Ccai_ctx_now(c->srv->ctx));
    conn_update(c);
}

/* A WebSocket connection: read what came into the session. */
static void ws_read(conn *c, uint64_t now)
{
    uint8_t buf[READ_CHUNK];
    ssize_t n = recv(c->fd, buf, sizeof buf, 0);
    if (n > 0)
        Ccai_wss_io_input(c->ws, buf, (size_t)n, now);
    else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
        Ccai_wss_io_cut(c->ws, now);
}

/* The WebSocket's bytes out, its watch and its timer. */
static void ws_update(conn *c)
{
    ccai_ctx *ctx = c->srv->ctx;
    uint64_t now = Ccai_ctx_now(ctx);
    size_t len;
    const uint8_t *out;
    while ((out = Ccai_wss_io_output(c->ws, &len)) != NULL) {
        ssize_t n = send(c->fd, out, len, MSG_NOSIGNAL);
        if (n > 0) {
            Ccai_wss_io_written(c->ws, (size_t)n, now);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            Ccai_wss_io_cut(c->ws, now);
        else
            Ccai_wss_io_written(c->ws, 0, now); /* the peer's wait starts now */
        break;
    }
    if (Ccai_wss_io_finished(c->ws)) {
        c->updating = false;
        conn_close(c);
        return;
    }
    int events = CCAI_POLL_IN | (Ccai_wss_io_output(c->ws, &len) ? CCAI_POLL_OUT : 0);
    if (events != c->events) {
        if (Ccai_fd_watch(ctx, c->fd, events, on_conn_ready, c) == CCAI_OK) {
            c->events = events;
        } else {
            c->updating = false;
            conn_close(c);
            return;
        }
    }
    uint64_t due = Ccai_wss_io_deadline(c->ws);
    if (due == UINT64_MAX)
        Ccai_timer_stop(ctx, &c->timer);
    else if (!Ccai_timer_active(&c->timer) || due < c->timer.due)
        Ccai_timer_start(ctx, &c->timer, due > now ? due - now : 0);
    c->updating = false;
}

/* The 101 is out: the bytes read after the request are the session's. */
static void ws_switch(conn *c, uint64_t now)
{
    c->ws_on = true;
    size_t len = 0;
    const char *left = Ccai_h1_leftover(c->h1, &len);
    if (len)
        Ccai_wss_io_input(c->ws, (const uint8_t *)left, len, now);
    Ccai_h1_free(c->h1);
    c->h1 = NULL;
}

/* Relays ------------------------------------------------------------------------ */

/* Read from fd into b (one chunk): false at its end (EOF, error). */
static CCAI_MUST_CHECK bool relay_read(conn *c, int fd, Ccai_buf *b)
{
    char buf[READ_CHUNK];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
        c->relay_at = Ccai_ctx_now(c->srv->ctx);
        if (!Ccai_buf_append(b, buf, (size_t)n))
            c->relay_failed = true;
        return true;
    }
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
}

/* Write b[*off..] to fd: false on a write error. */
static CCAI_MUST_CHECK bool relay_write(conn *c, int fd, Ccai_buf *b, size_t *off)
{
    while (*off < b->len) {
        ssize_t n = send(fd, b->data + *off, b->len - *off, MSG_NOSIGNAL);
        if (n > 0) {
            *off += (size_t)n;
            c->relay_at = Ccai_ctx_now(c->srv->ctx);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        return false;
    }
    if (*off == b->len) {
        Ccai_buf_reset(b);
        *off = 0;
    }
    return true;
}

static void on_up_ready(ccai_ctx *ctx, int fd, int events, void *ud)
{
    CCAI_UNUSED(ctx);
    CCAI_UNUSED(events);
    conn *c = ud;
    if (!c->up_eof && c->to_down.len - c->down_off < RELAY_HIGH_WATER &&
        !relay_read(c, fd, &c->to_down))
        c->up_eof = true;
    conn_update(c);
}

/* Move what waits, watch what can move; either side's end (once what it
 * sent is delivered), an error or the idle time closes both. */
static void relay_update(conn *c)
{
    ccai_ctx *ctx = c->srv->ctx;
    bool ok = !c->relay_failed && relay_write(c, c->fd, &c->to_down, &c->down_off) &&
              relay_write(c, c->up_fd, &c->to_up, &c->up_off);
    size_t up_wait = c->to_up.len - c->up_off, down_wait = c->to_down.len - c->down_off;
    if (!ok || c->srv->stopped || (c->down_eof && !up_wait) || (c->up_eof && !down_wait)) {
        c->updating = false;
        conn_close(c);
        return;
    }
    int events = (!c->down_eof && up_wait < RELAY_HIGH_WATER ? CCAI_POLL_IN : 0) |
                 (down_wait ? CCAI_POLL_OUT : 0);
    int up_events = (!c->up_eof && down_wait < RELAY_HIGH_WATER ? CCAI_POLL_IN : 0) |
                    (up_wait ? CCAI_POLL_OUT : 0);
    if (events != c->events) {
        if (Ccai_fd_watch(ctx, c->fd, events, on_conn_ready, c) != CCAI_OK)
            c->relay_failed = true;
        c->events = events;
    }
    if (up_events != c->up_events) {
        if (Ccai_fd_watch(ctx, c->up_fd, up_events, on_up_ready, c) != CCAI_OK)
            c->relay_failed = true;
        c->up_events = up_events;
    }
    if (c->relay_failed) {
        c->updating = false;
        conn_close(c);
        return;
    }
    /* It fires at the idle time from the last byte moved then, and looks
     * again (conn_update() re-arms it from the last byte since). */
    if (!Ccai_timer_active(&c->timer)) {
        uint64_t now = Ccai_ctx_now(ctx), due = c->relay_at + RELAY_IDLE_MS;
        Ccai_timer_start(ctx, &c->timer, due > now ? due - now : 0);
    }
    c->updating = false;
}

static void on_conn_ready(ccai_ctx *ctx, int fd, int events, void *ud)
{
    CCAI_UNUSED(events);
    conn *c = ud;
    uint64_t now = Ccai_ctx_now(ctx);
    if (c->relay) {
        if (!c->down_eof && c->to_up.len - c->up_off < RELAY_HIGH_WATER &&
            !relay_read(c, fd, &c->to_up))
            c->down_eof = true;
        conn_update(c);
        return;
    }
    if (c->ws_on) {
        ws_read(c, now);
        conn_update(c);
        return;
    }
    size_t room = Ccai_h1_read_room(c->h1);
    if (room) {
        char buf[READ_CHUNK];
        ssize_t n = recv(fd, buf, room < sizeof buf ? room : sizeof buf, 0);
        /* Out of memory, the connection closed itself: conn_update() below
         * finds it closed. */
        if (n > 0)
            CCAI_DISCARD(Ccai_h1_input(c->h1, buf, (size_t)n, now));
        else if (n == 0)
            Ccai_h1_eof(c->h1, now);
        else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            Ccai_h1_abort(c->h1, now);
    }
    conn_update(c);
}

/* Write what is due, then watch and time what the connection waits for. */
static void conn_update(conn *c)
{
    if (c->updating)
        return;
    c->updating = true;
    ccai_ctx *ctx = c->srv->ctx;
    uint64_t now = Ccai_ctx_now(ctx);
    if (c->relay) {
        relay_update(c);
        return;
    }
    if (c->ws_on) {
        ws_update(c);
        return;
    }
    Ccai_h1_process(c->h1, now);
    size_t len;
    const char *out;
    while ((out = Ccai_h1_output(c->h1, &len)) != NULL) {
        ssize_t n = send(c->fd, out, len, MSG_NOSIGNAL);
        if (n > 0) {
            Ccai_h1_written(c->h1, (size_t)n, now);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            Ccai_h1_abort(c->h1, now);
        break;
    }
    Ccai_h1_state st = Ccai_h1_get_state(c->h1);
    if (st == CCAI_H1_UPGRADED && c->ws) {
        ws_switch(c, now);
        ws_update(c);
        return;
    }
    if (st == CCAI_H1_LINGER && !c->shut) {
        shutdown(c->fd, SHUT_WR);
        c->shut = true;
    }
    int events = 0;
    if (st != CCAI_H1_CLOSED) {
        events = (Ccai_h1_read_room(c->h1) ? CCAI_POLL_IN : 0) |
                 (Ccai_h1_output(c->h1, &len) ? CCAI_POLL_OUT : 0);
        if (events != c->events) {
            if (Ccai_fd_watch(ctx, c->fd, events, on_conn_ready, c) == CCAI_OK)
                c->events = events;
            else
                Ccai_h1_abort(c->h1, now);
        }
    }
    uint64_t due = Ccai_h1_deadline(c->h1);
    if (Ccai_h1_get_state(c->h1) == CCAI_H1_CLOSED) {
        c->updating = false;
        conn_close(c);
        return;
    }
    /* A deadline that moved later lets the timer fire early and re-arm. */
    if (due == UINT64_MAX)
        Ccai_timer_stop(ctx, &c->timer);
    else if (!Ccai_timer_active(&c->timer) || due < c->timer.due)
        Ccai_timer_start(ctx, &c->timer, due > now ? due - now : 0);
    c->updating = false;
}

/* Answer 503 and close at once, reading first what the client already sent
 * so that the close is not a reset. */
static void refuse_now(server *s, int fd)
{
    char sink[4096];
    for (int i = 0; i < 4 && recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0; i++)
        continue;
    /* Best effort: a client already gone gets nothing. */
    (void)send(fd, s->refusal, s->refusal_len, MSG_NOSIGNAL | MSG_DONTWAIT);
    shutdown(fd, SHUT_WR);
    close(fd);
}

static const Ccai_h1_events conn_events = {
    .request = on_request,
    .abandon = on_abandon,
    .answered = on_answered,
    .date = format_date,
};

static void conn_open(server *s, int fd, const struct sockaddr_storage *ss)
{
    ccai_ctx *ctx = s->ctx;
    bool over = s->n_conns >= s->max_conns;
    if (over) {
        count_refused(s, "max_connections");
        log_limited(s,
                    "http: %zu connections open (server.max_connections): new ones are "
                    "answered 503",
                    s->n_conns);
        if (s->n_refusing >= MAX_REFUSING) {
            refuse_now(s, fd);
            return;
        }
    }
    conn *c = Ccai_calloc(1, sizeof *c);
    uint64_t now = Ccai_ctx_now(ctx);
    if (c)
        c->h1 = Ccai_h1_new(&s->limits, &conn_events, c, now);
    if (!c || !c->h1) {
        ccai_free(c);
        refuse_now(s, fd);
        return;
    }
    c->srv = s;
    c->fd = fd;
    Ccai_timer_init(&c->timer, on_conn_timer, c);
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &a->sin6_addr, c->remote, sizeof c->remote);
    } else if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &a->sin_addr, c->remote, sizeof c->remote);
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->next = s->conns;
    if (c->next)
        c->next->prev = c;
    s->conns = c;
    if (over) {
        c->refusing = true;
        s->n_refusing++;
        Ccai_h1_refuse(c->h1, 503, "too many connections", "see server.max_connections", 1, now);
    } else {
        s->n_conns++;
    }
    gauge_connections(s);
    conn_update(c);
}

/* Listening --------------------------------------------------------------------- */

static void on_listen_ready(ccai_ctx *ctx, int fd, int events, void *ud);

static void unwatch_listeners(server *s)
{
    for (listener *l = s->listeners; l; l = l->next)
        Ccai_fd_forget(s->ctx, l->fd);
}

/* Watch every listener again; false (none watched) when one could not be:
 * a listener left unwatched would leave its clients unanswered. */
static CCAI_MUST_CHECK bool watch_listeners(server *s)
{
    for (listener *l = s->listeners; l; l = l->next) {
        if (Ccai_fd_watch(s->ctx, l->fd, CCAI_POLL_IN, on_listen_ready, l) != CCAI_OK) {
            unwatch_listeners(s);
            return false;
        }
    }
    return true;
}

static void reserve_open(server *s)
{
    if (s->reserve_fd < 0)
        s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void on_backoff(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    server *s = ud;
    reserve_open(s);
    if (watch_listeners(s)) {
        s->paused = false;
        return;
    }
    /* The loop refused the listeners (its hook failed, or memory ran
     * out): not accepting, as after a failed accept(), and trying again. */
    log_limited(s, "http: cannot watch the listening sockets; trying again in %llu ms",
                (unsigned long long)s->backoff_ms);
    Ccai_timer_start(s->ctx, &s->backoff, s->backoff_ms);
}

/* accept() failed for want of a resource: stop watching the listeners for
 * a while rather than be woken again at once for the same failure. */
static void accept_pause(server *s, int err)
{
    s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (s->backoff_ms > BACKOFF_MAX_MS)
        s->backoff_ms = BACKOFF_MAX_MS;
    /* Best effort, as count_refused(). */
    CCAI_DISCARD(
        Ccai_metrics_counter_add(s->env.metrics, "ccai_http_accept_errors_total", NULL, 1));
    log_limited(s, "http: accept() failed: %s; not accepting for %llu ms", strerror(err),
                (unsigned long long)s->backoff_ms);
    Ccai_timer_start(s->ctx, &s->backoff, s->backoff_ms);
    s->paused = true;
    unwatch_listeners(s);
}

typedef enum reserve_result { RESERVE_NONE, RESERVE_REFUSED, RESERVE_EMPTY } reserve_result;

/* Out of descriptors: free the reserve one to take the waiting connection,
 * answer it 503, close it, take the reserve back. */
static reserve_result refuse_with_reserve(server *s, int lfd)
{
    if (s->reserve_fd < 0)
        return RESERVE_NONE;
    close(s->reserve_fd);
    s->reserve_fd = -1;
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    int err = errno;
    if (fd >= 0) {
        refuse_now(s, fd);
        count_refused(s, "fd_limit");
        log_limited(s, "http: out of file descriptors: a new connection was answered 503 (see "
                       "LimitNOFILE / ulimit -n and server.max_connections)");
    }
    reserve_open(s);
    if (fd >= 0)
        return RESERVE_REFUSED;
    return err == EAGAIN || err == EWOULDBLOCK ? RESERVE_EMPTY : RESERVE_NONE;
}

static void on_listen_ready(ccai_ctx *ctx, int fd, int events, void *ud)
{
    CCAI_UNUSED(ctx);
    CCAI_UNUSED(events);
    listener *l = ud;
    server *s = l->srv;
    for (int i = 0; i < ACCEPT_BATCH && !s->paused && !s->stopped; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int cfd = accept4(fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd >= 0) {
            s->backoff_ms = 0;
            conn_open(s, cfd, &ss);
            continue;
        }
        int err = errno;
        if (err == EAGAIN || err == EWOULDBLOCK)
            return;
        if (err == EMFILE || err == ENFILE) {
            reserve_result r = refuse_with_reserve(s, fd);
            if (r == RESERVE_REFUSED)
                continue;
            if (r == RESERVE_EMPTY)
                return;
        } else if (err != ENOBUFS && err != ENOMEM) {
            continue; /* this connection failed (aborted, EPROTO, EPERM...): the next one */
        }
        accept_pause(s, err);
        return;
    }
}

ccai_status Ccai_server_new(const Ccai_server_env *env, Ccai_server **ret)
{
    server *s = Ccai_calloc(1, sizeof *s);
    if (!s)
        return CCAI_ERR_NOMEM;
    s->env = *env;
    s->ctx = env->ctx;
    s->reserve_fd = -1;
    Ccai_timer_init(&s->backoff, on_backoff, s);
    const ccai_config *cfg = env->cfg;
    s->limits.max_header_bytes = (size_t)Ccai_config_int(cfg, "server.max_header_bytes", 32768);
    s->limits.max_body_bytes = Ccai_http_body_max(cfg);
    s->limits.max_buffered = s->limits.max_header_bytes + READ_CHUNK;
    s->limits.header_timeout_ms = (uint64_t)Ccai_config_int(cfg, "server.header_timeout_ms", 10000);
    s->limits.body_timeout_ms = (uint64_t)Ccai_config_int(cfg, "server.body_timeout_ms", 10000);
    s->limits.min_body_rate = (uint64_t)Ccai_config_int(cfg, "server.min_body_rate", 1024);
    s->limits.idle_timeout_ms = (uint64_t)Ccai_config_int(cfg, "server.idle_timeout_ms", 75000);
    s->limits.answer_timeout_ms =
        (uint64_t)Ccai_config_int(cfg, "server.request_timeout_ms", 30000);
    s->max_conns = (size_t)Ccai_config_int(cfg, "server.max_connections", 1024);

    /* The answer for a connection refused out of descriptors, made now:
     * when it is needed nothing may be allocated. */
    Ccai_h1_events none = {.request = on_request, .abandon = on_abandon};
    Ccai_h1 *h = Ccai_h1_new(&s->limits, &none, NULL, 0);
    size_t len = 0;
    const char *text = NULL;
    if (h) {
        Ccai_h1_refuse(h, 503, "server overloaded", "out of file descriptors; try again", 1, 0);
        text = Ccai_h1_output(h, &len);
    }
    s->refusal = text ? Ccai_strndup(text, len) : NULL;
    s->refusal_len = len;
    Ccai_h1_free(h);
    static const struct {
        const char *name;
        Ccai_metric_type type;
        const char *help;
    } fams[] = {
        {"ccai_http_connections", CCAI_METRIC_GAUGE, "Open HTTP connections"},
        {"ccai_http_refused_total", CCAI_METRIC_COUNTER,
         "HTTP connections answered 503 and closed, by reason (max_connections, fd_limit)"},
        {"ccai_http_accept_errors_total", CCAI_METRIC_COUNTER,
         "accept() failures that paused accepting"},
    };
    bool ok = s->refusal != NULL;
    for (size_t i = 0; ok && i < CCAI_ARRAY_SIZE(fams); i++)
        ok = Ccai_metrics_register(env->metrics, fams[i].name, fams[i].type, fams[i].help, NULL,
                                   0) == CCAI_OK;
    if (!ok) {
        ccai_free(s->refusal);
        ccai_free(s);
        return CCAI_ERR_NOMEM;
    }
    *ret = s;
    return CCAI_OK;
}

static CCAI_MUST_CHECK ccai_status add_listener(ccai_ctx *ctx, server *s, int fd)
{
    listener *l = Ccai_calloc(1, sizeof *l);
    if (!l)
        return CCAI_ERR_NOMEM;
    l->srv = s;
    l->fd = fd;
    reserve_open(s);
    if (!s->paused) {
        ccai_status st = Ccai_fd_watch(ctx, fd, CCAI_POLL_IN, on_listen_ready, l);
        if (st != CCAI_OK) {
            ccai_free(l);
            return st;
        }
    }
    l->next = s->listeners;
    s->listeners = l;
    return CCAI_OK;
}

/* "host:port", "[v6]:port"; host may be empty or "*" (any address) or
 * "localhost"; otherwise numeric (resolving a name would block). */
static CCAI_MUST_CHECK bool parse_address(const char *text, struct sockaddr_storage *ss,
                                          socklen_t *ret_len)
{
    char host[INET6_ADDRSTRLEN + 2];
    const char *colon;
    const char *h = text;
    size_t hl;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close || close[1] != ':')
            return false;
        h = text + 1;
        hl = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(text, ':');
        if (!colon)
            return false;
        hl = (size_t)(colon - text);
        if (memchr(text, ':', hl))
            return false; /* an IPv6 address needs its brackets */
    }
    if (hl >= sizeof host)
        return false;
    memcpy(host, h, hl);
    host[hl] = '\0';
    char *end = NULL;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || errno || port < 0 || port > 65535)
        return false;
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (!hl || strcmp(host, "*") == 0) {
        v4->sin_family = AF_INET;
        v4->sin_addr.s_addr = htonl(INADDR_ANY);
    } else if (strcmp(host, "localhost") == 0) {
        v4->sin_family = AF_INET;
        v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    } else if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
    } else {
        return false;
    }
    if (ss->ss_family == AF_INET) {
        v4->sin_port = htons((uint16_t)port);
        *ret_len = sizeof *v4;
    } else {
        v6->sin6_port = htons((uint16_t)port);
        *ret_len = sizeof *v6;
    }
    return true;
}

static uint16_t bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
        return 0;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

ccai_status Ccai_server_listen(server *s, const char *address, uint16_t *ret_port)
{
    ccai_ctx *ctx = s->ctx;
    if (!address)
        address = Ccai_config_str(s->env.cfg, "server.listen");
    if (!address)
        address = "127.0.0.1:8080";
    struct sockaddr_storage ss;
    socklen_t sl = 0;
    if (!parse_address(address, &ss, &sl)) {
        Ccai_ctx_set_error(ctx,
                           "listen: \"%s\" is not HOST:PORT with a numeric host, \"localhost\" "
                           "or [IPv6]",
                           address);
        return CCAI_ERR_INVALID_ARG;
    }
    if (s->stopped)
        return CCAI_ERR_STATE;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, SOMAXCONN) != 0) {
        Ccai_ctx_set_error(ctx, "listen on %s: %s", address, strerror(errno));
        if (fd >= 0)
            close(fd);
        return CCAI_ERR_IO;
    }
    ccai_status st = add_listener(ctx, s, fd);
    if (st != CCAI_OK) {
        close(fd);
        return st;
    }
    if (ret_port)
        *ret_port = bound_port(fd);
    return CCAI_OK;
}

ccai_status Ccai_server_listen_fd(server *s, int fd)
{
    ccai_ctx *ctx = s->ctx;
    int listening = 0, type = 0;
    socklen_t l1 = sizeof listening, l2 = sizeof type;
    if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &l1) != 0 ||
        getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l2) != 0 || !listening || type != SOCK_STREAM) {
        Ccai_ctx_set_error(ctx, "listen: fd %d is not a listening stream socket", fd);
        return CCAI_ERR_INVALID_ARG;
    }
    if (s->stopped)
        return CCAI_ERR_STATE;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
        Ccai_ctx_set_error(ctx, "listen: fd %d: %s", fd, strerror(errno));
        return CCAI_ERR_IO;
    }
    return add_listener(ctx, s, fd);
}

static void close_listeners(server *s)
{
    while (s->listeners) {
        listener *l = s->listeners;
        s->listeners = l->next;
        Ccai_fd_forget(s->ctx, l->fd);
        close(l->fd);
        ccai_free(l);
    }
    Ccai_timer_stop(s->ctx, &s->backoff);
    if (s->reserve_fd >= 0)
        close(s->reserve_fd);
    s->reserve_fd = -1;
}

void Ccai_server_stop(server *s)
{
    if (!s || s->stopped)
        return;
    s->stopped = true;
    close_listeners(s);
    uint64_t now = Ccai_ctx_now(s->ctx);
    for (conn *c = s->conns; c; c = c->next) {
        /* A relay is closed by its update (the holder goes on with the
         * call: its provider comes back through another instance). */
        if (c->ws_on)
            Ccai_wss_io_shutdown(c->ws, now);
        else if (!c->relay)
            Ccai_h1_drain(c->h1, now);
        conn_kick(c);
    }
}

void Ccai_server_set_access_log(server *s, ccai_http_access_fn fn, void *ud)
{
    s->access_fn = fn;
    s->access_ud = fn ? ud : NULL;
}

size_t Ccai_server_connections(const server *s)
{
    return s ? s->n_conns + s->n_refusing : 0;
}

void Ccai_server_free(server *s)
{
    if (!s)
        return;
    s->stopped = true;
    close_listeners(s);
    while (s->conns)
        conn_close(s->conns);
    ccai_free(s->refusal);
    ccai_free(s);
}
