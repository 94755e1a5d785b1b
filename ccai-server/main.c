/*
 * ccai-server: libccai serving HTTP on a libevent loop.
 *
 * Thin on purpose: it reads the configuration, drives the context with the
 * libevent adapter and lets the context listen (ccai_ctx_listen(): the
 * HTTP server, its limits and its error answers live in libccai, as do
 * routing, authentication, rendering and the provider logic). Logs are
 * JSON lines on standard error, libevent's own messages included (at most
 * one a second); access lines carry no query string (it may hold a token)
 * and no body. libccai hands over valid UTF-8 only (bytes that are not
 * UTF-8 come as the text \xHH): every line parses as JSON.
 *
 * SIGTERM / SIGINT: stop accepting, let answers in flight and the engine's
 * work (turns, post-call jobs) finish for up to 10 s, then exit 0; a second
 * signal exits at once.
 *
 * SIGHUP: the feature flags again (the configuration's flag keys, then
 * flags.file; docs/configuration.md). Other keys take a restart.
 *
 * SIP (sip.listen set, built with libre): one loop, libre's, for all of
 * the context. libre 1.1.0 can only be run by re_main() (no "poll once",
 * its epoll set is private), so libre has to own the loop of the thread
 * that serves SIP; libccai needs nothing of a loop but two hooks, which
 * map onto libre's fd_listen()/tmr_start() (ccai_ctx_new_libre()). So the
 * whole context (HTTP server, libcurl, timers, the store, SIP and RTP)
 * runs on re_main() in this one thread, and nothing crosses threads:
 * POST /call places a SIP call with a plain function call, a take-back
 * after a restart reads the store on the same thread. A SIP worker thread
 * with a second context beside the libevent one would need a hand-off for
 * every POST /call, a second engine and store connection, and buys no
 * core: a context is one thread however it is split (docs/threading.md);
 * more cores are more processes sharing the store. Without sip.listen the
 * libevent loop below runs, as before.
 *
 * server.workers N > 1 (0: one per online CPU): this process becomes a
 * supervisor. It reads the configuration, binds N sockets on server.listen
 * with SO_REUSEPORT (the kernel spreads the connections over them), prints
 * the port, then forks N workers; worker i serves socket i with its own
 * context, loop and store connection, exactly as a single process would.
 * Each worker also has a socket of its own (its instance URL in the call
 * leases, where the others hand it the webhooks and media WebSockets of
 * the calls it holds), bound by the supervisor before the first fork.
 * The supervisor keeps the sockets: a worker that dies is restarted (after
 * 100 ms, doubling up to 5 s while it keeps dying young) and finds the
 * connections queued on its sockets meanwhile, its own URL unchanged; it gives up, stops the others
 * and exits 1 when one worker died 5 times in a row within 10 s of its
 * start. SIGTERM / SIGINT: the sockets closed, the signal passed to every
 * worker, which drains as above; the supervisor exits when they have (0 if
 * they all exited 0). SIGHUP is passed on. Listeners that cannot be shared
 * stay in worker 0: audiosocket.listen (a TCP port bound without
 * SO_REUSEPORT) and sip.listen (one UDP socket: SIP transactions and RTP
 * must stay in the process that holds the call). Sockets from systemd are
 * shared by every worker (one accept queue). Log lines of a worker carry
 * "worker" and "pid"; /metrics is the answering worker's own.
 */
#include <ccai/adapters/libevent.h>
#include <ccai/ccai.h>

#include <arpa/inet.h>
#include <event2/event.h>
#ifdef CCAI_SERVER_LIBRE
#define HAVE_INTTYPES_H 1
#define HAVE_STDBOOL_H  1
#define HAVE_INET6      1
/* libre's headers need this order. */
/* clang-format off */
#include <re_types.h>
#include <re_fmt.h>
#include <re_list.h>
#include <re_main.h>
#include <re_tmr.h>
/* clang-format on */
#include <sys/resource.h>
#endif
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EXIT_CONFIG         2
#define EXIT_USAGE          64
#define SHUTDOWN_GRACE_MS   10000
#define SD_LISTEN_FDS_START 3

typedef struct server {
    struct event_base *base;
    ccai_libevent *loop;
    ccai_ctx *ctx;
    ccai_config *cfg;
    int stopping;
    uint64_t stop_deadline;
    struct event *stop_timer;
    int verbosity;
    const char *config_path; /* -c FILE, for SIGHUP */
    int worker;              /* -1: the only process; else this worker's number */
    int worker_fd;           /* a worker's SO_REUSEPORT socket, or -1 */
    int shared_fds;          /* a worker's sockets from systemd (from fd 3) */
    int own_fd;              /* a worker's own socket (server.instance_url), or -1 */
#ifdef CCAI_SERVER_LIBRE
    int on_libre; /* sip.listen: the context runs on re_main() */
    struct tmr libre_stop;
    struct tmr libre_hup; /* polls hup_pending: libre's re_main() handles no SIGHUP */
#endif
} server;

/* Logging ------------------------------------------------------------------ */

/* One log line, built in memory and written at once. A value too long for
 * it is cut with "..." between two characters, never inside an escape or a
 * UTF-8 sequence, and the line is always closed: it stays one JSON object. */
typedef struct line {
    char buf[4096];
    size_t len;
} line;

/* Room a value leaves for what follows it on the line: the "..." of a cut,
 * its closing quote, an access line's numbers, "}\n". */
#define LINE_TAIL 128

static void put(line *l, const char *s, size_t n)
{
    if (n > sizeof l->buf - 2 - l->len) /* room for "}\n" */
        n = sizeof l->buf - 2 - l->len;
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

static void puts_(line *l, const char *s)
{
    put(l, s, strlen(s));
}

/* A number in decimal, by hand (snprintf() is slow here: line_start()). */
static void put_num(line *l, unsigned long long v)
{
    char d[24];
    size_t n = sizeof d;
    do
        d[--n] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    put(l, d + n, sizeof d - n);
}

/* A JSON string's content. What libccai hands over (log lines, access
 * entries) is valid UTF-8 without control bytes, so is this program's own
 * text: '"' and '\\' are escaped, control bytes too (to be safe), and a
 * UTF-8 sequence is never cut. */
static void put_json(line *l, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    char esc[8];
    while (*p) {
        const char *unit = esc;
        size_t n, step = 1;
        if (*p == '"' || *p == '\\') {
            n = (size_t)snprintf(esc, sizeof esc, "\\%c", *p);
        } else if (*p < 0x20 || *p == 0x7f) {
            n = (size_t)snprintf(esc, sizeof esc, "\\u%04x", *p);
        } else {
            unit = (const char *)p;
            while ((p[step] & 0xc0) == 0x80)
                step++;
            n = step;
        }
        if (l->len + n > sizeof l->buf - LINE_TAIL) {
            puts_(l, "...");
            return;
        }
        put(l, unit, n);
        p += step;
    }
}

/* In a worker of several: its number, on every line. */
static int log_worker = -1;
/* The worker's pid, said on each of its log lines: read once at its start,
 * not by a getpid() per line (~2 system calls a turn). */
static long log_pid;

static void line_start(line *l, const char *level)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    /* The time by hand: snprintf() takes glibc's slow path in this process
     * (libquadmath, loaded with pocketsphinx, registers a printf specifier). */
    char t[sizeof "2026-01-01T00:00:00.000Z"];
    const int parts[7] = {
        tm.tm_year + 1900,          tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
        (int)(ts.tv_nsec / 1000000)};
    static const char seps[7] = {'-', '-', 'T', ':', ':', '.', 'Z'};
    static const int widths[7] = {4, 2, 2, 2, 2, 2, 3};
    size_t k = 0;
    for (size_t i = 0; i < 7; i++) {
        for (int w = widths[i] - 1, v = parts[i] < 0 ? 0 : parts[i]; w >= 0; w--, v /= 10)
            t[k + (size_t)w] = (char)('0' + v % 10);
        k += (size_t)widths[i];
        t[k++] = seps[i];
    }
    t[k] = '\0';
    l->len = 0;
    puts_(l, "{\"ts\":\"");
    puts_(l, t);
    puts_(l, "\",\"level\":\"");
    puts_(l, level);
    puts_(l, "\"");
    if (log_worker >= 0) {
        char w[48];
        snprintf(w, sizeof w, ",\"worker\":%d,\"pid\":%ld", log_worker, log_pid);
        puts_(l, w);
    }
}

static void line_end(line *l)
{
    memcpy(l->buf + l->len, "}\n", 2);
    fwrite(l->buf, 1, l->len + 2, stderr);
}

static void log_line(ccai_log_level level, const char *msg, void *ud)
{
    (void)ud;
    line l;
    line_start(&l, ccai_log_level_str(level));
    puts_(&l, ",\"msg\":\"");
    put_json(&l, msg);
    puts_(&l, "\"");
    line_end(&l);
}

static void log_access(const ccai_http_access *a, void *ud)
{
    (void)ud;
    line l;
    line_start(&l, "info");
    puts_(&l, ",\"event\":\"access\",\"remote\":\"");
    put_json(&l, a->remote_addr);
    puts_(&l, "\",\"method\":\"");
    put_json(&l, a->method);
    puts_(&l, "\",\"path\":\"");
    /* A path may name a caller (GET /call/+33...): personal data. */
    char *masked = NULL;
    put_json(&l, ccai_log_mask(a->path, &masked) == CCAI_OK ? masked : "(path)");
    ccai_free(masked);
    puts_(&l, "\",\"status\":");
    if (a->status < 0)
        puts_(&l, "-");
    put_num(&l,
            a->status < 0 ? 0ull - (unsigned long long)a->status : (unsigned long long)a->status);
    puts_(&l, ",\"bytes\":");
    put_num(&l, a->bytes);
    puts_(&l, ",\"ms\":");
    put_num(&l, (unsigned long long)a->duration_ms);
    line_end(&l);
}

/* libevent's own messages: into the JSON log, at most one a second. */
static void on_libevent_log(int severity, const char *msg)
{
    static uint64_t last;
    static unsigned dropped;
    uint64_t now = ccai_time_ms();
    if (last && now - last < 1000) {
        dropped++;
        return;
    }
    char text[600];
    if (dropped)
        snprintf(text, sizeof text, "libevent: %s (and %u more libevent messages)", msg, dropped);
    else
        snprintf(text, sizeof text, "libevent: %s", msg);
    /* Not libccai's: its text is made plain ASCII here (it is, in English). */
    for (char *c = text; *c; c++) {
        if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
            *c = '?';
    }
    last = now;
    dropped = 0;
    log_line(severity >= EVENT_LOG_ERR    ? CCAI_LOG_ERROR
             : severity >= EVENT_LOG_WARN ? CCAI_LOG_WARN
                                          : CCAI_LOG_DEBUG,
             text, NULL);
}

/* Shutdown ---------------------------------------------------------------------- */

static void loop_break(server *s)
{
#ifdef CCAI_SERVER_LIBRE
    if (s->on_libre) {
        re_cancel();
        return;
    }
#endif
    event_base_loopbreak(s->base);
}

static void maybe_exit(server *s)
{
    if (!s->stopping)
        return;
    if (!ccai_ctx_busy(s->ctx) || ccai_time_ms() >= s->stop_deadline)
        loop_break(s);
}

static void on_stop_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    maybe_exit(arg);
}

#ifdef CCAI_SERVER_LIBRE
static void on_libre_stop_tick(void *arg)
{
    server *s = arg;
    tmr_start(&s->libre_stop, 50, on_libre_stop_tick, s);
    maybe_exit(s);
}
#endif

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    server *s = arg;
    if (s->stopping) {
        log_line(CCAI_LOG_WARN, "second signal: exiting now", NULL);
        loop_break(s);
        return;
    }
    char msg[160];
    snprintf(msg, sizeof msg,
             "signal %d: not accepting any more; finishing %zu connections and the work in flight",
             (int)sig, ccai_ctx_connections(s->ctx));
    log_line(CCAI_LOG_INFO, msg, NULL);
    s->stopping = 1;
    s->stop_deadline = ccai_time_ms() + SHUTDOWN_GRACE_MS;
    ccai_ctx_listen_stop(s->ctx);
#ifdef CCAI_SERVER_LIBRE
    if (s->on_libre) {
        tmr_start(&s->libre_stop, 50, on_libre_stop_tick, s);
        maybe_exit(s);
        return;
    }
#endif
    struct timeval tv = {0, 50000};
    s->stop_timer = event_new(s->base, -1, EV_PERSIST, on_stop_tick, s);
    if (s->stop_timer)
        event_add(s->stop_timer, &tv);
    maybe_exit(s);
}

/* Start --------------------------------------------------------------------------- */

static int usage(FILE *out)
{
    fputs("Usage: ccai-server [-c FILE] [-v] | --version\n"
          "\n"
          "Serve libccai over HTTP: REST API, health, reports, provider webhooks.\n"
          "Configuration: --config FILE, else $CONFIG_YAML (or the reference's\n"
          "$CONFIG_JSON), else ./config.yaml when\n"
          "present, else the embedded defaults; then environment overrides\n"
          "(SERVER__LISTEN=0.0.0.0:8080). Logs: JSON lines on standard error.\n"
          "Sockets passed by systemd (LISTEN_FDS) are served instead of server.listen.\n"
          "\n"
          "  -c, --config FILE  configuration file\n"
          "  -v, --verbose      debug logs (whatever log.level says)\n"
          "  -V, --version      print the versions of ccai-server and libccai\n"
          "  -h, --help         this help\n",
          out);
    return out == stdout ? EXIT_SUCCESS : EXIT_USAGE;
}

/* The configuration from where it comes: FILE, $CONFIG_YAML, ./config.yaml
 * or the defaults, then the environment; validated. */
static ccai_status read_config(ccai_config *cfg, const char *path)
{
    ccai_status st = CCAI_OK;
    const char *env_yaml = getenv("CONFIG_YAML"), *env_json = getenv("CONFIG_JSON");
    if (path)
        st = ccai_config_load(cfg, path);
    else if (env_yaml && *env_yaml)
        st = ccai_config_load_string(cfg, env_yaml, strlen(env_yaml), "<env CONFIG_YAML>");
    else if (env_json && *env_json) /* the reference's variable (JSON is YAML) */
        st = ccai_config_load_string(cfg, env_json, strlen(env_json), "<env CONFIG_JSON>");
    else if (access("config.yaml", F_OK) == 0)
        st = ccai_config_load(cfg, "config.yaml");
    if (st == CCAI_OK)
        st = ccai_config_apply_env(cfg, NULL);
    if (st == CCAI_OK)
        st = ccai_config_validate(cfg);
    return st;
}

/* SIGHUP: the flags of the configuration read again, then the flags file. A
 * configuration that no longer reads leaves the flags file alone to say. */
static void reload_flags(server *s)
{
    ccai_config *fresh = NULL;
    ccai_status st = ccai_config_new(&fresh);
    if (st == CCAI_OK) {
        ccai_config_set_logger(fresh, log_line, NULL, CCAI_LOG_WARN);
        st = read_config(fresh, s->config_path);
        if (st != CCAI_OK)
            log_line(CCAI_LOG_ERROR, "SIGHUP: the configuration does not read; its flags unchanged",
                     NULL);
    }
    st = ccai_ctx_flags_reload(s->ctx, st == CCAI_OK ? fresh : NULL);
    ccai_config_free(fresh);
    char msg[1024];
    if (st == CCAI_OK)
        snprintf(msg, sizeof msg, "SIGHUP: flags read again");
    else
        snprintf(msg, sizeof msg, "SIGHUP: flags: %s: %s", ccai_status_str(st),
                 ccai_ctx_errmsg(s->ctx));
    log_line(st == CCAI_OK ? CCAI_LOG_INFO : CCAI_LOG_ERROR, msg, NULL);
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    reload_flags(arg);
}

static int load_config(server *s, const char *path)
{
    ccai_status st = ccai_config_new(&s->cfg);
    if (st != CCAI_OK)
        return EXIT_FAILURE;
    ccai_config_set_logger(s->cfg, log_line, NULL, s->verbosity ? CCAI_LOG_DEBUG : CCAI_LOG_INFO);
    s->config_path = path;
    /* A server owns its process: the documentation searches on PostgreSQL
     * read on the library's worker threads unless the file or the
     * environment says no (the library starts none unless its host asks:
     * docs/threading.md). Set before they are read: the tree holds every
     * key's default, so ccai_config_get() cannot tell the operator's false
     * from the library's (it did not, and the default never applied). */
    st = ccai_config_set(s->cfg, "database.postgresql.search_threads", "true");
    if (st != CCAI_OK)
        return EXIT_FAILURE;
    /* Every problem of the file, the environment and the rules at once. */
    st = ccai_config_set_collect(s->cfg, 1);
    if (st == CCAI_OK)
        st = read_config(s->cfg, path);
    if (st != CCAI_OK) {
        const char *msg = ccai_config_errmsg(s->cfg);
        fprintf(stderr, "ccai-server: invalid configuration (%s):\n%s\n", ccai_status_str(st),
                msg && *msg ? msg : "");
        return EXIT_CONFIG;
    }
    /* From now on log.level says which lines count (-v: debug). */
    ccai_log_level level = CCAI_LOG_INFO;
    const char *want = ccai_config_get(s->cfg, "log.level");
    for (int l = CCAI_LOG_ERROR; want && l <= CCAI_LOG_DEBUG; l++) {
        if (strcmp(want, ccai_log_level_str((ccai_log_level)l)) == 0)
            level = (ccai_log_level)l;
    }
    ccai_config_set_logger(s->cfg, log_line, NULL, s->verbosity ? CCAI_LOG_DEBUG : level);
    return EXIT_SUCCESS;
}

/* Sockets handed over by systemd's socket activation (sd_listen_fds(3)). */
static int systemd_fds(void)
{
    const char *pid = getenv("LISTEN_PID"), *n = getenv("LISTEN_FDS");
    if (!pid || !n || atol(pid) != (long)getpid())
        return 0;
    int count = atoi(n);
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    return count > 0 ? count : 0;
}

static void say_listening(int fd, uint16_t port, const char *what)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char host[INET6_ADDRSTRLEN] = "?";
    if (fd >= 0 && getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET6) {
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host, sizeof host);
            port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        } else if (ss.ss_family == AF_INET) {
            inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host, sizeof host);
            port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        }
    }
    char msg[200];
    snprintf(msg, sizeof msg, "listening on %s%s%s:%u%s", strchr(host, ':') ? "[" : "", host,
             strchr(host, ':') ? "]" : "", (unsigned)port, what);
    log_line(CCAI_LOG_INFO, msg, NULL);
    /* Port 0 picks a free one: say which (tests read it). */
    printf("%u\n", (unsigned)port);
    fflush(stdout);
}

static int listen_on(server *s)
{
    if (s->worker >= 0) { /* sockets of the supervisor, which said the port */
        int first = s->worker_fd >= 0 ? s->worker_fd : SD_LISTEN_FDS_START;
        int count = s->worker_fd >= 0 ? 1 : s->shared_fds;
        for (int fd = first; fd < first + count; fd++) {
            if (ccai_ctx_listen_fd(s->ctx, fd) != CCAI_OK) {
                fprintf(stderr, "ccai-server: worker %d: cannot serve socket %d: %s\n", s->worker,
                        fd, ccai_ctx_errmsg(s->ctx));
                return EXIT_FAILURE;
            }
        }
        if (s->own_fd >= 0 && ccai_ctx_listen_fd(s->ctx, s->own_fd) != CCAI_OK) {
            fprintf(stderr, "ccai-server: worker %d: cannot serve its own socket: %s\n", s->worker,
                    ccai_ctx_errmsg(s->ctx));
            return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
    }
    int n = systemd_fds();
    for (int i = 0; i < n; i++) {
        int fd = SD_LISTEN_FDS_START + i;
        if (ccai_ctx_listen_fd(s->ctx, fd) != CCAI_OK) {
            fprintf(stderr, "ccai-server: cannot serve socket %d from systemd: %s\n", fd,
                    ccai_ctx_errmsg(s->ctx));
            return EXIT_FAILURE;
        }
        if (i == 0)
            say_listening(fd, 0, " (systemd socket)");
    }
    if (n)
        return EXIT_SUCCESS;
    uint16_t port = 0;
    ccai_status st = ccai_ctx_listen(s->ctx, NULL, &port);
    if (st != CCAI_OK) {
        fprintf(stderr, "ccai-server: cannot listen: %s\n", ccai_ctx_errmsg(s->ctx));
        return st == CCAI_ERR_INVALID_ARG ? EXIT_CONFIG : EXIT_FAILURE;
    }
    const char *addr = ccai_config_get(s->cfg, "server.listen");
    const char *colon = addr ? strrchr(addr, ':') : NULL;
    char msg[200];
    snprintf(msg, sizeof msg, "listening on %.*s:%u", colon ? (int)(colon - addr) : 0,
             colon ? addr : "", (unsigned)port);
    log_line(CCAI_LOG_INFO, msg, NULL);
    printf("%u\n", (unsigned)port);
    fflush(stdout);
    return EXIT_SUCCESS;
}

static void say_auth(server *s)
{
    const char *token = ccai_config_get(s->cfg, "server.api_token");
    log_line(CCAI_LOG_INFO,
             token ? "auth: token mode: the API needs Authorization: Bearer <server.api_token>"
                   : "auth: no-token mode: serving this machine only (loopback clients asking "
                     "for localhost, no proxy, no page of another site); set "
                     "SERVER__API_TOKEN to serve others",
             NULL);
}

#ifdef CCAI_SERVER_LIBRE
/* re_main() calls it on the loop (libre's "thread-safe signal handler"). */
static server *libre_server;

static void on_libre_signal(int sig)
{
    on_signal(sig, 0, libre_server);
}

static volatile sig_atomic_t hup_pending;

static void on_libre_hup(int sig)
{
    (void)sig;
    hup_pending = 1;
}

static void on_libre_hup_tick(void *arg)
{
    server *s = arg;
    if (hup_pending) {
        hup_pending = 0;
        reload_flags(s);
    }
    tmr_start(&s->libre_hup, 250, on_libre_hup_tick, s);
}

/* The whole context on libre's loop: see the top of the file. */
static int run_libre(server *s)
{
    int err = libre_init();
    if (err) {
        fprintf(stderr, "ccai-server: libre: %s\n", strerror(err));
        return EXIT_FAILURE;
    }
    /* libre indexes fds by number below this (default 1024): every call
     * has an RTP socket, HTTP clients and libcurl theirs. */
    struct rlimit rl;
    int maxfds = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
                         rl.rlim_cur > 1024 && rl.rlim_cur < 1048576
                     ? (int)rl.rlim_cur
                     : 1024;
    (void)fd_setsize(maxfds);
    s->on_libre = 1;
    libre_server = s;
    tmr_init(&s->libre_stop);
    tmr_init(&s->libre_hup);
    char *why = NULL;
    ccai_status st = ccai_ctx_new_libre(s->cfg, &s->ctx, &why);
    int rc = EXIT_FAILURE;
    if (st != CCAI_OK) {
        fprintf(stderr, "ccai-server: %s%s%s\n", ccai_status_str(st), why ? ": " : "",
                why ? why : "");
        ccai_free(why);
        rc = st == CCAI_ERR_CONFIG ? EXIT_CONFIG : EXIT_FAILURE;
        goto out;
    }
    if (ccai_ctx_set_access_log(s->ctx, log_access, NULL) != CCAI_OK)
        goto out;
    rc = listen_on(s);
    if (rc != EXIT_SUCCESS)
        goto out;
    say_auth(s);
    signal(SIGHUP, on_libre_hup);
    tmr_start(&s->libre_hup, 250, on_libre_hup_tick, s);
    log_line(CCAI_LOG_INFO, "loop: libre (sip.listen is set)", NULL);
    err = re_main(on_libre_signal);
    rc = err ? EXIT_FAILURE : EXIT_SUCCESS;
    log_line(CCAI_LOG_INFO, "stopped", NULL);
out:
    tmr_cancel(&s->libre_stop);
    tmr_cancel(&s->libre_hup);
    ccai_ctx_free(s->ctx);
    s->ctx = NULL;
    libre_close();
    return rc;
}
#endif

/* One process serving: the only one, or a worker. */
static int serve(server *s)
{
    int rc = EXIT_FAILURE;
#ifdef CCAI_SERVER_LIBRE
    const char *sip_listen = ccai_config_get(s->cfg, "sip.listen");
    if (sip_listen && *sip_listen)
        return run_libre(s);
#endif
    struct event *sigterm = NULL, *sigint = NULL, *sighup = NULL;
    s->base = event_base_new();
    if (!s->base)
        goto out;
    char *why = NULL;
    ccai_status st = ccai_libevent_new(s->base, s->cfg, &s->loop, &s->ctx, &why);
    if (st != CCAI_OK) {
        fprintf(stderr, "ccai-server: %s%s%s\n", ccai_status_str(st), why ? ": " : "",
                why ? why : "");
        ccai_free(why);
        rc = st == CCAI_ERR_CONFIG ? EXIT_CONFIG : EXIT_FAILURE;
        goto out;
    }
    if (ccai_ctx_set_access_log(s->ctx, log_access, NULL) != CCAI_OK)
        goto out;
    rc = listen_on(s);
    if (rc != EXIT_SUCCESS)
        goto out;
    say_auth(s);
    rc = EXIT_FAILURE;
    sigterm = evsignal_new(s->base, SIGTERM, on_signal, s);
    sigint = evsignal_new(s->base, SIGINT, on_signal, s);
    sighup = evsignal_new(s->base, SIGHUP, on_hup, s);
    if (!sigterm || !sigint || !sighup || event_add(sigterm, NULL) || event_add(sigint, NULL) ||
        event_add(sighup, NULL))
        goto out;
    event_base_dispatch(s->base);
    log_line(CCAI_LOG_INFO, "stopped", NULL);
    rc = EXIT_SUCCESS;
out:
    if (sigterm)
        event_free(sigterm);
    if (sigint)
        event_free(sigint);
    if (sighup)
        event_free(sighup);
    if (s->stop_timer)
        event_free(s->stop_timer);
    ccai_libevent_free(s->loop);
    if (s->base)
        event_base_free(s->base);
    return rc;
}

/* Workers (server.workers > 1) ------------------------------------------------ */

#define MAX_WORKERS      256
#define RESTART_FIRST_MS 100
#define RESTART_MAX_MS   5000
#define DIED_YOUNG_MS    10000 /* a worker dead sooner after its start is failing */
#define MAX_YOUNG_DEATHS 5     /* in a row, one worker: the supervisor gives up */
#define WORKERS_STOP_MS  (SHUTDOWN_GRACE_MS + 5000)

typedef struct worker {
    pid_t pid;  /* 0: not running */
    int fd;     /* its SO_REUSEPORT socket, kept here across its restarts; -1 with systemd's */
    int own_fd; /* its own socket (its instance URL), kept here across its restarts */
    char own_url[INET6_ADDRSTRLEN + 32];
    uint64_t started_ms;
    uint64_t restart_at_ms; /* 0: no restart due */
    unsigned young_deaths;  /* in a row */
    unsigned restarts;
} worker;

static void sup_log(ccai_log_level level, const char *fmt, ...) CCAI_PRINTF(2, 3);

static void sup_log(ccai_log_level level, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log_line(level, msg, NULL);
}

/* server.listen as a socket address (the syntax of ccai_ctx_listen()). */
static int parse_listen(const char *text, struct sockaddr_storage *ss, socklen_t *ret_len)
{
    char host[INET6_ADDRSTRLEN + 2];
    const char *h = text, *colon;
    size_t hl;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close || close[1] != ':')
            return -1;
        h = text + 1;
        hl = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(text, ':');
        if (!colon)
            return -1;
        hl = (size_t)(colon - text);
        if (memchr(text, ':', hl))
            return -1;
    }
    if (hl >= sizeof host)
        return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    char *end = NULL;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || errno || port < 0 || port > 65535)
        return -1;
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (!hl || strcmp(host, "*") == 0 || strcmp(host, "localhost") == 0) {
        v4->sin_family = AF_INET;
        v4->sin_addr.s_addr = htonl(hl && host[0] == 'l' ? INADDR_LOOPBACK : INADDR_ANY);
    } else if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
    } else {
        return -1;
    }
    if (ss->ss_family == AF_INET) {
        v4->sin_port = htons((uint16_t)port);
        *ret_len = sizeof *v4;
    } else {
        v6->sin6_port = htons((uint16_t)port);
        *ret_len = sizeof *v6;
    }
    return 0;
}

/* n sockets on server.listen in one SO_REUSEPORT group (port 0: the first
 * one's port for all). Returns EXIT_SUCCESS and *ret_port, or the exit
 * status of the failure (said). */
static int bind_workers(server *s, worker *w, int n, uint16_t *ret_port)
{
    const char *addr = ccai_config_get(s->cfg, "server.listen");
    struct sockaddr_storage ss;
    socklen_t sl = 0;
    if (!addr || parse_listen(addr, &ss, &sl) != 0) {
        fprintf(stderr, "ccai-server: server.listen \"%s\" is not HOST:PORT\n", addr ? addr : "");
        return EXIT_CONFIG;
    }
    uint16_t port = 0;
    for (int i = 0; i < n; i++) {
        int one = 1, fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
            setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
            bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, SOMAXCONN) != 0) {
            fprintf(stderr, "ccai-server: listen on %s (worker %d): %s\n", addr, i,
                    strerror(errno));
            if (fd >= 0)
                close(fd);
            return EXIT_FAILURE;
        }
        w[i].fd = fd;
        if (i == 0) {
            struct sockaddr_storage got;
            socklen_t gl = sizeof got;
            if (getsockname(fd, (struct sockaddr *)&got, &gl) != 0)
                return EXIT_FAILURE;
            port = ntohs(got.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&got)->sin6_port
                                                   : ((struct sockaddr_in *)&got)->sin_port);
            if (ss.ss_family == AF_INET6)
                ((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
            else
                ((struct sockaddr_in *)&ss)->sin_port = htons(port);
        }
    }
    *ret_port = port;
    return EXIT_SUCCESS;
}

/* A worker's own socket (docs/deployment.md, "Several instances"): on the
 * host of server.instance_url (127.0.0.1 when it is empty) at a port of
 * its own, bound here by the supervisor before the first fork and kept
 * across the worker's restarts, so that its URL never changes (the leases
 * it held name it). The shared SO_REUSEPORT port cannot say which worker
 * answers, so a webhook or a media WebSocket of a call another worker
 * holds is handed to that worker there. Returns false (said) on failure. */
static bool bind_own(server *s, worker *w, int i)
{
    char host[INET6_ADDRSTRLEN + 2] = "127.0.0.1";
    const char *url = ccai_config_get(s->cfg, "server.instance_url");
    const char *h = url ? strstr(url, "://") : NULL;
    if (h) {
        h += 3;
        size_t hl = h[0] == '[' ? strcspn(h, "]") + 1 : strcspn(h, ":/");
        if (hl > 0 && hl < sizeof host) {
            memcpy(host, h, hl);
            host[hl] = '\0';
        }
    }
    char bind_at[sizeof host + 4];
    snprintf(bind_at, sizeof bind_at, "%s:0", host);
    struct sockaddr_storage ss;
    socklen_t sl = 0;
    int fd = -1, one = 1;
    if (parse_listen(bind_at, &ss, &sl) != 0 ||
        (fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, SOMAXCONN) != 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        fprintf(stderr,
                "ccai-server: worker %d: its own socket on %s (the host of server.instance_url): "
                "%s\n",
                i, host, strerror(errno));
        if (fd >= 0)
            close(fd);
        return false;
    }
    unsigned port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                   : ((struct sockaddr_in *)&ss)->sin_port);
    w[i].own_fd = fd;
    snprintf(w[i].own_url, sizeof w[i].own_url, "http://%s:%u", host, port);
    return true;
}

/* A worker's identity in the call leases: its own name, server.instance_id
 * (or "<hostname>/<listen>") followed by "/w<i>", and its own socket's URL
 * as its server.instance_url. Returns false on failure. */
static bool worker_identity(server *s, const worker *w, int i)
{
    char base[120];
    const char *id = ccai_config_get(s->cfg, "server.instance_id");
    if (id && *id) {
        snprintf(base, sizeof base, "%s", id);
    } else {
        char name[64] = "";
        if (gethostname(name, sizeof name - 1) != 0 || !name[0])
            snprintf(name, sizeof name, "localhost");
        const char *listen = ccai_config_get(s->cfg, "server.listen");
        snprintf(base, sizeof base, "%s/%s", name, listen ? listen : "");
    }
    char own_id[160];
    snprintf(own_id, sizeof own_id, "%s/w%d", base, i);
    if (ccai_config_set(s->cfg, "server.instance_id", own_id) != CCAI_OK ||
        ccai_config_set(s->cfg, "server.instance_url", w[i].own_url) != CCAI_OK)
        return false;
    s->own_fd = w[i].own_fd;
    return true;
}

/* The child side of a fork: worker i serves and exits. */
static void worker_run(server *s, worker *w, int n, int i, const sigset_t *mask, pid_t parent)
{
    for (int j = 0; j < n; j++) {
        if (j != i && w[j].fd >= 0)
            close(w[j].fd);
        if (j != i && w[j].own_fd >= 0)
            close(w[j].own_fd);
    }
    /* Its signals come from the supervisor (not from the terminal's
     * process group, which would make each Ctrl-C two), and it drains
     * when the supervisor is gone. */
    (void)setpgid(0, 0);
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
        exit(EXIT_FAILURE);
    /* A SIGHUP before the loop's handler is there must not kill it (the
     * flags are read at start anyway). */
    signal(SIGHUP, SIG_IGN);
    sigprocmask(SIG_SETMASK, mask, NULL);
    log_worker = i;
    log_pid = (long)getpid();
    s->worker = i;
    s->worker_fd = w[i].fd;
    /* One process only can hold these (see the top of the file). */
    if (i > 0 && (ccai_config_set(s->cfg, "audiosocket.listen", "") != CCAI_OK ||
                  ccai_config_set(s->cfg, "sip.listen", "") != CCAI_OK))
        exit(EXIT_FAILURE);
    if (!worker_identity(s, w, i))
        exit(EXIT_FAILURE);
    int rc = serve(s);
    ccai_config_free(s->cfg);
    exit(rc);
}

static int worker_start(server *s, worker *w, int n, int i, const sigset_t *mask)
{
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        sup_log(CCAI_LOG_ERROR, "worker %d: fork: %s", i, strerror(errno));
        return -1;
    }
    if (pid == 0)
        worker_run(s, w, n, i, mask, parent);
    w[i].pid = pid;
    w[i].started_ms = ccai_time_ms();
    w[i].restart_at_ms = 0;
    sup_log(CCAI_LOG_INFO, "worker %d started (pid %ld, %u restarts) at %s", i, (long)pid,
            w[i].restarts, w[i].own_url);
    return 0;
}

static void signal_workers(worker *w, int n, int sig)
{
    for (int i = 0; i < n; i++) {
        if (w[i].pid > 0)
            kill(w[i].pid, sig);
    }
}

static int supervise(server *s, int n)
{
    static worker w[MAX_WORKERS];
    /* Taken by sigtimedwait() below; blocked before the port is said (a
     * client may signal as soon as it reads it). */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, &old);
    for (int i = 0; i < n; i++)
        w[i] = (worker){.fd = -1, .own_fd = -1};
    s->shared_fds = systemd_fds();
    for (int i = 0; i < n; i++) {
        if (!bind_own(s, w, i)) {
            for (int j = 0; j < i; j++)
                close(w[j].own_fd);
            sigprocmask(SIG_SETMASK, &old, NULL);
            return EXIT_FAILURE;
        }
    }
    if (!s->shared_fds) {
        uint16_t port = 0;
        int bound = bind_workers(s, w, n, &port);
        if (bound != EXIT_SUCCESS) {
            for (int i = 0; i < n; i++) {
                if (w[i].fd >= 0)
                    close(w[i].fd);
                close(w[i].own_fd);
            }
            sigprocmask(SIG_SETMASK, &old, NULL);
            return bound;
        }
        const char *addr = ccai_config_get(s->cfg, "server.listen");
        const char *colon = strrchr(addr, ':');
        sup_log(CCAI_LOG_INFO, "listening on %.*s:%u with %d workers (SO_REUSEPORT)",
                (int)(colon - addr), addr, (unsigned)port, n);
        printf("%u\n", (unsigned)port);
        fflush(stdout);
    } else {
        say_listening(SD_LISTEN_FDS_START, 0, " (systemd socket, shared by the workers)");
    }
    int rc = EXIT_SUCCESS, stopping = 0, running = 0;
    uint64_t stop_deadline = 0;
    for (int i = 0; i < n; i++)
        running += worker_start(s, w, n, i, &old) == 0;
    if (running < n) {
        stopping = 1;
        rc = EXIT_FAILURE;
        signal_workers(w, n, SIGTERM);
        stop_deadline = ccai_time_ms() + WORKERS_STOP_MS;
    }
    while (!stopping || running > 0) {
        uint64_t now = ccai_time_ms(), wake = now + 1000;
        for (int i = 0; i < n; i++) {
            if (!stopping && w[i].restart_at_ms && w[i].restart_at_ms <= now) {
                if (worker_start(s, w, n, i, &old) == 0)
                    running++;
                else
                    w[i].restart_at_ms = now + RESTART_MAX_MS;
            }
            if (!stopping && w[i].restart_at_ms && w[i].restart_at_ms < wake)
                wake = w[i].restart_at_ms;
        }
        if (stopping && now >= stop_deadline) {
            sup_log(CCAI_LOG_WARN, "%d workers still running after %d ms: killed", running,
                    WORKERS_STOP_MS);
            signal_workers(w, n, SIGKILL);
            stop_deadline = now + WORKERS_STOP_MS;
            rc = EXIT_FAILURE;
        }
        uint64_t wait_ms = wake > now ? wake - now : 0;
        struct timespec ts = {(time_t)(wait_ms / 1000), (long)(wait_ms % 1000) * 1000000L};
        int sig = sigtimedwait(&set, NULL, &ts);
        if (sig == SIGTERM || sig == SIGINT) {
            if (!stopping) {
                sup_log(CCAI_LOG_INFO, "signal %d: stopping %d workers", sig, running);
                stopping = 1;
                stop_deadline = ccai_time_ms() + WORKERS_STOP_MS;
                /* No new connection may wait on a socket nobody accepts. */
                for (int i = 0; i < n; i++) {
                    if (w[i].fd >= 0)
                        close(w[i].fd);
                    if (w[i].own_fd >= 0)
                        close(w[i].own_fd);
                    w[i].fd = w[i].own_fd = -1;
                }
            }
            signal_workers(w, n, sig); /* a second one: they exit at once */
        } else if (sig == SIGHUP) {
            sup_log(CCAI_LOG_INFO, "SIGHUP: passed to %d workers", running);
            signal_workers(w, n, SIGHUP);
        }
        int status;
        pid_t pid;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
            int i = 0;
            while (i < n && w[i].pid != pid)
                i++;
            if (i == n)
                continue;
            running--;
            w[i].pid = 0;
            uint64_t lived = ccai_time_ms() - w[i].started_ms;
            int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            if (stopping) {
                /* Killed by our SIGTERM before its loop could take it:
                 * a worker still starting, nothing in flight. */
                bool ours = WIFSIGNALED(status) &&
                            (WTERMSIG(status) == SIGTERM || WTERMSIG(status) == SIGINT);
                if (code != 0 && !ours)
                    rc = EXIT_FAILURE;
                sup_log(code ? CCAI_LOG_WARN : CCAI_LOG_INFO, "worker %d (pid %ld) stopped: %s %d",
                        i, (long)pid, WIFEXITED(status) ? "exit status" : "signal",
                        WIFEXITED(status) ? code : WTERMSIG(status));
                continue;
            }
            w[i].young_deaths = lived < DIED_YOUNG_MS ? w[i].young_deaths + 1 : 1;
            unsigned shift = w[i].young_deaths - 1 < 6 ? w[i].young_deaths - 1 : 6;
            uint64_t delay = (uint64_t)RESTART_FIRST_MS << shift;
            if (delay > RESTART_MAX_MS)
                delay = RESTART_MAX_MS;
            bool give_up = code == EXIT_CONFIG || w[i].young_deaths >= MAX_YOUNG_DEATHS;
            sup_log(CCAI_LOG_ERROR, "worker %d (pid %ld) died after %llu ms: %s %d; %s", i,
                    (long)pid, (unsigned long long)lived,
                    WIFEXITED(status) ? "exit status" : "signal",
                    WIFEXITED(status) ? code : WTERMSIG(status),
                    code == EXIT_CONFIG ? "the configuration is refused: stopping every worker"
                    : give_up           ? "it keeps dying: stopping every worker"
                                        : "restarting it");
            if (give_up) {
                rc = code == EXIT_CONFIG ? EXIT_CONFIG : EXIT_FAILURE;
                stopping = 1;
                stop_deadline = ccai_time_ms() + WORKERS_STOP_MS;
                signal_workers(w, n, SIGTERM);
                continue;
            }
            w[i].restarts++;
            w[i].restart_at_ms = ccai_time_ms() + delay;
        }
    }
    for (int i = 0; i < n; i++) {
        if (w[i].fd >= 0)
            close(w[i].fd);
        if (w[i].own_fd >= 0)
            close(w[i].own_fd);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    sup_log(CCAI_LOG_INFO, "supervisor stopped");
    return rc;
}

int main(int argc, char **argv)
{
    server s;
    memset(&s, 0, sizeof s);
    s.worker = -1;
    s.worker_fd = -1;
    s.own_fd = -1;
    const char *config = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return usage(stdout);
        if (!strcmp(argv[i], "-V") || !strcmp(argv[i], "--version")) {
            printf("ccai-server %s (libccai %s)\n", CCAI_VERSION_STRING, ccai_version());
            return EXIT_SUCCESS;
        }
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
    /* A file-size limit (LimitFSIZE, ulimit -f) makes a write fail like a
     * full disk: the store answers 503 instead of the process dying. */
    signal(SIGXFSZ, SIG_IGN);
    event_set_log_callback(on_libevent_log);
    int rc = load_config(&s, config);
    if (rc == EXIT_SUCCESS) {
        const char *w = ccai_config_get(s.cfg, "server.workers");
        long n = w ? atol(w) : 1;
        if (n == 0)
            n = sysconf(_SC_NPROCESSORS_ONLN);
        if (n > MAX_WORKERS)
            n = MAX_WORKERS;
        rc = n > 1 ? supervise(&s, (int)n) : serve(&s);
    }
    ccai_config_free(s.cfg);
    return rc;
}
