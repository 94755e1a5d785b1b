/*
 * ccai-server: libccai behind libevent's HTTP server.
 *
 * Thin on purpose: it listens, hands every request to ccai_ctx_http() and
 * writes the answer back. Routing, authentication, rendering and the
 * provider logic live in libccai. Logs are JSON lines on standard error;
 * access logs carry no query string (it may hold a token) and no body.
 *
 * SIGTERM / SIGINT: stop accepting, let answers in flight and the engine's
 * work (turns, post-call jobs) finish for up to 10 s, then exit 0; a second
 * signal exits at once.
 */
#include <ccai/adapters/libevent.h>
#include <ccai/ccai.h>

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define EXIT_CONFIG       2
#define EXIT_USAGE        64
#define MAX_HEADERS       100
#define SHUTDOWN_GRACE_MS 10000

typedef struct server {
    struct event_base *base;
    struct evhttp *http;
    ccai_libevent *loop;
    ccai_ctx *ctx;
    ccai_config *cfg;
    int pending; /* answers not yet written */
    int stopping;
    uint64_t stop_deadline;
    struct event *stop_timer;
    int verbosity;
} server;

/* One request waiting for its answer. */
typedef struct pending {
    server *srv;
    struct evhttp_request *req;
    ccai_http_exchange *x;
    uint64_t started;
    char method[8];
    char path[256];
    char remote[64];
} pending;

/* Logging ------------------------------------------------------------------ */

static void json_escape(FILE *out, const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
}

static void log_ts(FILE *out)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    fprintf(out, "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\"", tm.tm_year + 1900,
            tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}

static void log_line(ccai_log_level level, const char *msg, void *ud)
{
    (void)ud;
    log_ts(stderr);
    fprintf(stderr, ",\"level\":\"%s\",\"msg\":\"", ccai_log_level_str(level));
    json_escape(stderr, msg);
    fputs("\"}\n", stderr);
}

static void log_access(const pending *p, int status, size_t bytes)
{
    log_ts(stderr);
    fprintf(stderr, ",\"level\":\"info\",\"event\":\"access\",\"remote\":\"");
    json_escape(stderr, p->remote);
    fprintf(stderr, "\",\"method\":\"%s\",\"path\":\"", p->method);
    /* A path may name a caller (GET /call/+33...): personal data. */
    char *masked = NULL;
    json_escape(stderr, ccai_log_mask(p->path, &masked) == CCAI_OK ? masked : "(path)");
    ccai_free(masked);
    fprintf(stderr, "\",\"status\":%d,\"bytes\":%zu,\"ms\":%llu}\n", status, bytes,
            (unsigned long long)(ccai_time_ms() - p->started));
}

/* HTTP ----------------------------------------------------------------------- */

static void maybe_exit(server *s);

static void on_answer(ccai_http_exchange *x, const ccai_http_response *res, void *ud)
{
    (void)x;
    pending *p = ud;
    server *s = p->srv;
    struct evkeyvalq *out = evhttp_request_get_output_headers(p->req);
    evhttp_add_header(out, "Content-Type", res->content_type ? res->content_type : "text/plain");
    evhttp_add_header(out, "Cache-Control", "no-store");
    evhttp_add_header(out, "X-Content-Type-Options", "nosniff");
    for (size_t i = 0; i < res->n_headers; i++)
        evhttp_add_header(out, res->headers[i].name, res->headers[i].value);
    struct evbuffer *buf = evbuffer_new();
    if (buf)
        evbuffer_add(buf, res->body, res->body_len);
    if (p->x) /* a late answer: the close callback must not fire on p any more */
        evhttp_connection_set_closecb(evhttp_request_get_connection(p->req), NULL, NULL);
    evhttp_send_reply(p->req, res->status, NULL, buf);
    if (buf)
        evbuffer_free(buf);
    log_access(p, res->status, res->body_len);
    if (p->x) {
        /* Answered later: the pending record is ours to free. */
        s->pending--;
        free(p);
        maybe_exit(s);
    } else {
        p->req = NULL; /* answered inside ccai_ctx_http() */
    }
}

/* The client went away before a late answer. */
static void on_conn_close(struct evhttp_connection *conn, void *arg)
{
    (void)conn;
    pending *p = arg;
    if (!p->x)
        return;
    ccai_http_exchange_cancel(p->x);
    p->srv->pending--;
    maybe_exit(p->srv);
    free(p);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    server *s = arg;
    if (s->stopping) {
        evhttp_send_error(req, 503, "shutting down");
        return;
    }
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *raw_path = uri ? evhttp_uri_get_path(uri) : NULL;
    char *path = evhttp_uridecode(raw_path && *raw_path ? raw_path : "/", 0, NULL);
    if (!path) {
        evhttp_send_error(req, 500, NULL);
        return;
    }
    const char *method = "GET";
    switch (evhttp_request_get_command(req)) {
    case EVHTTP_REQ_GET: method = "GET"; break;
    case EVHTTP_REQ_POST: method = "POST"; break;
    case EVHTTP_REQ_HEAD: method = "HEAD"; break;
    case EVHTTP_REQ_PUT: method = "PUT"; break;
    case EVHTTP_REQ_DELETE: method = "DELETE"; break;
    case EVHTTP_REQ_PATCH: method = "PATCH"; break;
    case EVHTTP_REQ_OPTIONS: method = "OPTIONS"; break;
    default: method = "OTHER"; break;
    }
    ccai_http_header headers[MAX_HEADERS];
    size_t n = 0;
    for (struct evkeyval *kv = evhttp_request_get_input_headers(req)->tqh_first;
         kv && n < MAX_HEADERS; kv = kv->next.tqe_next) {
        headers[n].name = kv->key;
        headers[n].value = kv->value;
        n++;
    }
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *body = len ? (const char *)evbuffer_pullup(in, -1) : NULL;
    pending *p = calloc(1, sizeof *p);
    if (!p || (len && !body)) {
        free(p);
        free(path);
        evhttp_send_error(req, 500, NULL);
        return;
    }
    char *addr = NULL;
    uint16_t port = 0;
    struct evhttp_connection *conn = evhttp_request_get_connection(req);
    evhttp_connection_get_peer(conn, &addr, &port);
    p->srv = s;
    p->req = req;
    p->started = ccai_time_ms();
    snprintf(p->method, sizeof p->method, "%s", method);
    snprintf(p->path, sizeof p->path, "%s", path);
    snprintf(p->remote, sizeof p->remote, "%s", addr ? addr : "");
    ccai_http_request r = {CCAI_HTTP_REQUEST_VERSION,
                           method,
                           path,
                           uri ? evhttp_uri_get_query(uri) : NULL,
                           headers,
                           n,
                           body,
                           len,
                           addr};
    ccai_http_exchange *x = NULL;
    ccai_status st = ccai_ctx_http(s->ctx, &r, on_answer, p, &x);
    free(path);
    if (st != CCAI_OK) {
        evhttp_send_error(req, 500, NULL);
        free(p);
        return;
    }
    if (!x) {
        free(p); /* answered already */
        return;
    }
    p->x = x;
    s->pending++;
    evhttp_connection_set_closecb(conn, on_conn_close, p);
}

/* Shutdown ---------------------------------------------------------------------- */

static void maybe_exit(server *s)
{
    if (!s->stopping)
        return;
    if ((s->pending == 0 && !ccai_ctx_busy(s->ctx)) || ccai_time_ms() >= s->stop_deadline)
        event_base_loopbreak(s->base);
}

static void on_stop_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    maybe_exit(arg);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    server *s = arg;
    if (s->stopping) {
        log_line(CCAI_LOG_WARN, "second signal: exiting now", NULL);
        event_base_loopbreak(s->base);
        return;
    }
    char msg[128];
    snprintf(msg, sizeof msg,
             "signal %d: no new requests; finishing %d answers and the work in flight", (int)sig,
             s->pending);
    log_line(CCAI_LOG_INFO, msg, NULL);
    s->stopping = 1;
    s->stop_deadline = ccai_time_ms() + SHUTDOWN_GRACE_MS;
    struct timeval tv = {0, 200000};
    s->stop_timer = event_new(s->base, -1, EV_PERSIST, on_stop_tick, s);
    if (s->stop_timer)
        event_add(s->stop_timer, &tv);
    maybe_exit(s);
}

/* Start --------------------------------------------------------------------------- */

static int usage(FILE *out)
{
    fputs("Usage: ccai-server [-c FILE] [-v]\n"
          "\n"
          "Serve libccai over HTTP: REST API, health, reports, provider webhooks.\n"
          "Configuration: --config FILE, else $CONFIG_YAML, else ./config.yaml when\n"
          "present, else the embedded defaults; then environment overrides\n"
          "(SERVER__LISTEN=0.0.0.0:8080). Logs: JSON lines on standard error.\n"
          "\n"
          "  -c, --config FILE  configuration file\n"
          "  -v, --verbose      debug logs\n"
          "  -h, --help         this help\n",
          out);
    return out == stdout ? EXIT_SUCCESS : EXIT_USAGE;
}

static int load_config(server *s, const char *path)
{
    ccai_status st = ccai_config_new(&s->cfg);
    if (st != CCAI_OK)
        return EXIT_FAILURE;
    ccai_config_set_logger(s->cfg, log_line, NULL, s->verbosity ? CCAI_LOG_DEBUG : CCAI_LOG_INFO);
    const char *env_yaml = getenv("CONFIG_YAML");
    if (path)
        st = ccai_config_load(s->cfg, path);
    else if (env_yaml && *env_yaml)
        st = ccai_config_load_string(s->cfg, env_yaml, strlen(env_yaml), "<env CONFIG_YAML>");
    else if (access("config.yaml", F_OK) == 0)
        st = ccai_config_load(s->cfg, "config.yaml");
    if (st == CCAI_OK)
        st = ccai_config_apply_env(s->cfg, NULL);
    if (st == CCAI_OK)
        st = ccai_config_validate(s->cfg);
    if (st != CCAI_OK) {
        const char *msg = ccai_config_errmsg(s->cfg);
        fprintf(stderr, "ccai-server: invalid configuration (%s):\n%s\n", ccai_status_str(st),
                msg && *msg ? msg : "");
        return EXIT_CONFIG;
    }
    return EXIT_SUCCESS;
}

static int listen_on(server *s)
{
    const char *listen = ccai_config_get(s->cfg, "server.listen");
    char host[128];
    snprintf(host, sizeof host, "%s", listen ? listen : "127.0.0.1:8080");
    char *colon = strrchr(host, ':');
    if (!colon) {
        fprintf(stderr, "ccai-server: server.listen must be HOST:PORT, got \"%s\"\n", host);
        return EXIT_CONFIG;
    }
    *colon = '\0';
    char *end = NULL;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535) {
        fprintf(stderr, "ccai-server: bad port in server.listen \"%s\"\n", listen);
        return EXIT_CONFIG;
    }
    const char *h = host;
    if (h[0] == '[') { /* [::1]:8080 */
        h++;
        size_t l = strlen(h);
        if (l && h[l - 1] == ']')
            ((char *)h)[l - 1] = '\0';
    }
    struct evhttp_bound_socket *bound = evhttp_bind_socket_with_handle(s->http, h, (uint16_t)port);
    if (!bound) {
        fprintf(stderr, "ccai-server: cannot listen on %s: %s\n", listen ? listen : "",
                strerror(errno));
        return EXIT_FAILURE;
    }
    /* Port 0 picks a free one: say which (tests read it). */
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    evutil_socket_t fd = evhttp_bound_socket_get_fd(bound);
    char msg[200];
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        int p = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                         : ntohs(((struct sockaddr_in *)&ss)->sin_port);
        snprintf(msg, sizeof msg, "listening on %s:%d", h, p);
        log_line(CCAI_LOG_INFO, msg, NULL);
        printf("%d\n", p);
        fflush(stdout);
    }
    return EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
    server s;
    memset(&s, 0, sizeof s);
    const char *config = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return usage(stdout);
        if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose"))
            s.verbosity++;
        else if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc)
            config = argv[++i];
        else if (!strncmp(argv[i], "--config=", 9))
            config = argv[i] + 9;
        else
            return usage(stderr);
    }
    signal(SIGPIPE, SIG_IGN);
    int rc = load_config(&s, config);
    if (rc != EXIT_SUCCESS)
        goto out;
    rc = EXIT_FAILURE;
    s.base = event_base_new();
    if (!s.base)
        goto out;
    char *why = NULL;
    ccai_status st = ccai_libevent_new(s.base, s.cfg, &s.loop, &s.ctx, &why);
    if (st != CCAI_OK) {
        fprintf(stderr, "ccai-server: %s%s%s\n", ccai_status_str(st), why ? ": " : "",
                why ? why : "");
        ccai_free(why);
        rc = st == CCAI_ERR_CONFIG ? EXIT_CONFIG : EXIT_FAILURE;
        goto out;
    }
    s.http = evhttp_new(s.base);
    if (!s.http)
        goto out;
    const char *max_body = ccai_config_get(s.cfg, "server.max_body_bytes");
    const char *timeout_ms = ccai_config_get(s.cfg, "server.request_timeout_ms");
    /* libccai checks the size too; evhttp refuses bigger bodies before
     * reading them (with a small margin so libccai's 413 explains it). */
    evhttp_set_max_body_size(s.http, (ev_ssize_t)(max_body ? atoll(max_body) * 2 : 2097152));
    evhttp_set_max_headers_size(s.http, 64 * 1024);
    evhttp_set_timeout(s.http, timeout_ms ? (int)((atoll(timeout_ms) + 999) / 1000) : 30);
    evhttp_set_allowed_methods(s.http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                           EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH |
                                           EVHTTP_REQ_OPTIONS);
    evhttp_set_gencb(s.http, on_request, &s);
    rc = listen_on(&s);
    if (rc != EXIT_SUCCESS)
        goto out;
    struct event *sigterm = evsignal_new(s.base, SIGTERM, on_signal, &s);
    struct event *sigint = evsignal_new(s.base, SIGINT, on_signal, &s);
    if (!sigterm || !sigint || event_add(sigterm, NULL) || event_add(sigint, NULL)) {
        rc = EXIT_FAILURE;
        goto out;
    }
    event_base_dispatch(s.base);
    log_line(CCAI_LOG_INFO, "stopped", NULL);
    event_free(sigterm);
    event_free(sigint);
    rc = EXIT_SUCCESS;
out:
    if (s.stop_timer)
        event_free(s.stop_timer);
    if (s.http)
        evhttp_free(s.http);
    ccai_libevent_free(s.loop);
    if (s.base)
        event_base_free(s.base);
    ccai_config_free(s.cfg);
    return rc;
}
