/* The real ccai-server under load: N concurrent text calls over the HTTP
 * chat channel (POST /chat, /chat/{id}, /chat/{id}/next), each doing K
 * turns. Prints requests/s, turns/s, latency percentiles and the server's
 * memory per open call. Without --llm the offline dialogue answers (the
 * server's own cost); with --llm an LLM stand-in with realistic latency.
 *
 *   build/bench/bench-server [--calls N] [--turns K] [--llm] [--twilio] [--pin]
 *                            [--server-bin PATH] [--standin-bin PATH]
 *
 * --twilio drives the calls through the Twilio webhooks instead: each turn
 * is a signed Gather action answered with TwiML, streamed answers follow
 * their <Redirect>s, as Twilio's own servers would.
 *
 * --workers N: server.workers N (a supervisor and N worker processes on one
 * port; CPU and memory are then the sum of the supervisor and its workers).
 * --sticky: each call's requests on its own connection from its own local
 * port, which the kernel's SO_REUSEPORT hash sends to the same worker every
 * time: a load balancer with affinity. Twilio's webhooks have none; without
 * call leases in the store a call whose webhook reaches another worker ends
 * with 404 "no such live call" (counted as errors).
 *
 * --instances N: N ccai-server processes on one database (each its own
 * server.instance_id and server.instance_url), the client sending each
 * request to the next one in turn: a load balancer without affinity, as
 * Twilio's webhooks behind one; a webhook reaching an instance that does
 * not hold the call is handed to the holder (the call leases). CPU and
 * memory are the sum of the instances.
 *
 * --postgresql: the server stores in PostgreSQL (database.mode postgresql),
 * a real server this program starts on loopback (tests/support/pg_server.h,
 * fsync on); synchronous_commit as given (on, PostgreSQL's default; off:
 * a crash of PostgreSQL or of its machine may lose the last commits, one of
 * ccai-server loses nothing). --pipeline off: each write waits for its
 * commit (database.postgresql.pipeline false; on, the default, pipelines
 * them on the server's loop).
 *
 * --group-commit on: SQLite commits the writes of a loop turn together
 * (database.sqlite.group_commit; off, the default: each write at once).
 * --server-log PATH: the servers' log (standard error) appended to PATH
 * (default /dev/null); each worker's store logs its lock waits at exit.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support/pg_server.h"
#include "support/twilio_standin.h"

#include "bench_stats.h"

extern char **environ;

typedef struct client {
    CURL *h;
    char id[64];
    int turn;      /* turns done */
    int stage;     /* 0 start, 1 say, 2 next, 3 hangup, 4 done */
    double t_turn; /* start of the turn in flight */
    double t_req;
    char *buf;
    size_t len;
    struct curl_slist *hdr;
    char body[256];
} client;

static size_t on_body(char *d, size_t s, size_t n, void *ud)
{
    client *c = ud;
    char *b = realloc(c->buf, c->len + s * n + 1);
    if (!b)
        return 0;
    c->buf = b;
    memcpy(c->buf + c->len, d, s * n);
    c->len += s * n;
    c->buf[c->len] = '\0';
    return s * n;
}

#define MAX_INST      8
#define MAX_INST_KIDS MAX_INST
static char bases[MAX_INST][128];
static int n_bases = 1, next_base;

/* The instance of the next request: each in turn. */
static const char *base(void)
{
    const char *b = bases[next_base];
    next_base = (next_base + 1) % n_bases;
    return b;
}
static int use_twilio;

#define PUBLIC "https://bot.example.test"

/* A Twilio webhook: form body, X-Twilio-Signature over the public URL. */
static void issue_twilio(CURLM *m, client *c, const char *path, const char *const *params)
{
    char url[512], pub[512];
    snprintf(url, sizeof url, "%s%s", base(), path);
    snprintf(pub, sizeof pub, PUBLIC "%s", path);
    char *sig = twilio_standin_signature(TWILIO_STANDIN_TOKEN, pub, params);
    c->len = 0;
    c->body[0] = '\0';
    for (size_t i = 0; params[i]; i += 2) {
        char *k = curl_easy_escape(c->h, params[i], 0),
             *v = curl_easy_escape(c->h, params[i + 1], 0);
        size_t n = strlen(c->body);
        snprintf(c->body + n, sizeof c->body - n, "%s%s=%s", n ? "&" : "", k, v);
        curl_free(k);
        curl_free(v);
    }
    curl_slist_free_all(c->hdr);
    char h[256];
    snprintf(h, sizeof h, "X-Twilio-Signature: %s", sig ? sig : "");
    free(sig);
    c->hdr = curl_slist_append(NULL, h);
    c->hdr = curl_slist_append(c->hdr, "Content-Type: application/x-www-form-urlencoded");
    curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, c->hdr);
    curl_easy_setopt(c->h, CURLOPT_URL, url);
    curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, c->body);
    c->t_req = bench_now_ms();
    curl_multi_add_handle(m, c->h);
}

/* The local path of the first URL after marker in TwiML (&amp; decoded). */
static bool twiml_url(const char *xml, const char *marker, char *out, size_t len)
{
    const char *p = xml ? strstr(xml, marker) : NULL;
    if (!p)
        return false;
    p = strstr(p, PUBLIC);
    if (!p)
        return false;
    p += strlen(PUBLIC);
    size_t n = 0;
    while (*p && *p != '"' && *p != '<' && n + 1 < len) {
        if (!strncmp(p, "&amp;", 5)) {
            out[n++] = '&';
            p += 5;
        } else {
            out[n++] = *p++;
        }
    }
    out[n] = '\0';
    return n > 0;
}

static void issue(CURLM *m, client *c, const char *path, const char *body)
{
    char url[256];
    snprintf(url, sizeof url, "%s%s", base(), path);
    c->len = 0;
    snprintf(c->body, sizeof c->body, "%s", body ? body : "");
    curl_easy_setopt(c->h, CURLOPT_URL, url);
    curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, c->body);
    c->t_req = bench_now_ms();
    curl_multi_add_handle(m, c->h);
}

/* The transfers on epoll (curl_multi_socket_action): the client's cost per
 * request stays the same whatever the number of calls, where
 * curl_multi_perform() and curl_multi_poll() go over every connection at
 * each wake-up (a poll(2) of 200 sockets per answer). */
static int epfd = -1;
static double curl_deadline = -1; /* bench_now_ms() when curl wants its timeout; -1: none */

static int on_curl_socket(CURL *e, curl_socket_t fd, int what, void *ud, void *sockp)
{
    (void)e;
    CURLM *m = ud;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
        curl_multi_assign(m, fd, NULL);
        return 0;
    }
    struct epoll_event ev = {.data.fd = fd};
    ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0u) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u);
    if (!sockp) {
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
            epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev);
        curl_multi_assign(m, fd, &epfd); /* any non-NULL: known */
    } else {
        epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev);
    }
    return 0;
}

static int on_curl_timer(CURLM *m, long timeout_ms, void *ud)
{
    (void)m;
    (void)ud;
    curl_deadline = timeout_ms < 0 ? -1 : bench_now_ms() + (double)timeout_ms;
    return 0;
}

/* Wait for the sockets (at most 50 ms) and let curl act on what is ready. */
static void curl_wait(CURLM *m)
{
    struct epoll_event evs[64];
    double now = bench_now_ms();
    int wait = 50;
    if (curl_deadline >= 0)
        wait = curl_deadline <= now ? 0 : (int)(curl_deadline - now) + 1;
    if (wait > 50)
        wait = 50;
    int n = epoll_wait(epfd, evs, 64, wait), running = 0;
    for (int i = 0; i < n; i++) {
        int mask = ((evs[i].events & EPOLLIN) ? CURL_CSELECT_IN : 0) |
                   ((evs[i].events & EPOLLOUT) ? CURL_CSELECT_OUT : 0) |
                   ((evs[i].events & (EPOLLERR | EPOLLHUP)) ? CURL_CSELECT_ERR : 0);
        curl_multi_socket_action(m, evs[i].data.fd, mask, &running);
    }
    if (curl_deadline >= 0 && bench_now_ms() >= curl_deadline) {
        curl_deadline = -1;
        curl_multi_socket_action(m, CURL_SOCKET_TIMEOUT, 0, &running);
    }
}

/* --sticky: the local port may still be in TIME_WAIT from a run before. */
static int reuse_addr(void *ud, curl_socket_t fd, curlsocktype purpose)
{
    (void)ud;
    (void)purpose;
    int one = 1;
    return setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0 ? CURL_SOCKOPT_OK
                                                                           : CURL_SOCKOPT_ERROR;
}

/* --server-log: where the servers' standard error (their log) goes. */
static const char *server_log = "/dev/null";

static pid_t spawn(const char *bin, char **argv, char **envp, int *out_fd)
{
    int p[2];
    if (pipe(p) != 0)
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, server_log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    pid_t pid = -1;
    if (posix_spawn(&pid, bin, &fa, NULL, argv, envp) != 0)
        pid = -1;
    posix_spawn_file_actions_destroy(&fa);
    close(p[1]);
    *out_fd = p[0];
    return pid;
}

static int read_port(int fd)
{
    char line[32] = "";
    FILE *f = fdopen(fd, "r");
    if (!f || !fgets(line, sizeof line, f))
        return -1;
    /* Keep the pipe open: closing it could stop a chatty child on SIGPIPE. */
    return atoi(line);
}

/* A port free on loopback now, for an instance's server.listen. */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* The server's worker processes (its children): up to max, their count. */
static int children(pid_t pid, pid_t *out, int max)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    int n = 0;
    while (d && n < max && (e = readdir(d))) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        char path[300], buf[512];
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        size_t len = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f)
            fclose(f);
        buf[len] = '\0';
        const char *p = strrchr(buf, ')');
        int ppid = 0;
        if (p && sscanf(p + 2, "%*c %d", &ppid) == 1 && ppid == (int)pid)
            out[n++] = (pid_t)atoi(e->d_name);
    }
    if (d)
        closedir(d);
    return n;
}

/* The machine's load average (1, 5, 15 minutes), a line. */
static const char *loadavg(void)
{
    static char line[128];
    FILE *f = fopen("/proc/loadavg", "r");
    if (!f || !fgets(line, sizeof line, f))
        snprintf(line, sizeof line, "?\n");
    if (f)
        fclose(f);
    char *p = line; /* the three averages only */
    for (int i = 0; i < 3 && p; i++)
        p = strchr(p + 1, ' ');
    if (p) {
        p[0] = '\n';
        p[1] = '\0';
    }
    return line;
}

static long rss_one(pid_t pid);
static double cpu_one(pid_t pid);

/* --pin: this process (and what it spawns next) on one CPU only. */
static int pin_to(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set);
}

/* CPU time this process (the client) used so far, in ms. */
static double self_cpu_ms(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

#define MAX_KIDS 64

/* The workers of each instance, listed once after the start (a scan of
 * /proc costs the client more than a turn of the server). */
static pid_t kid_of[MAX_INST_KIDS][MAX_KIDS];
static int n_kid_of[MAX_INST_KIDS];
static pid_t kid_parent[MAX_INST_KIDS];
static int n_parents;

static void list_children(pid_t pid)
{
    if (n_parents < MAX_INST_KIDS) {
        kid_parent[n_parents] = pid;
        n_kid_of[n_parents] = children(pid, kid_of[n_parents], MAX_KIDS);
        n_parents++;
    }
}

static const pid_t *kids_of(pid_t pid, int *n)
{
    for (int i = 0; i < n_parents; i++) {
        if (kid_parent[i] == pid) {
            *n = n_kid_of[i];
            return kid_of[i];
        }
    }
    *n = 0;
    return NULL;
}

/* Memory and CPU of the server: the process and its workers. */
static long rss_kb(pid_t pid)
{
    int n;
    const pid_t *kids = kids_of(pid, &n);
    long kb = rss_one(pid);
    for (int i = 0; i < n; i++)
        kb += rss_one(kids[i]);
    return kb;
}

static double cpu_ms(pid_t pid)
{
    int n;
    const pid_t *kids = kids_of(pid, &n);
    double ms = cpu_one(pid);
    for (int i = 0; i < n; i++)
        ms += cpu_one(kids[i]);
    return ms;
}

/* The same over every instance. */
static long rss_all(const pid_t *pids, int n)
{
    long kb = 0;
    for (int i = 0; i < n; i++)
        kb += rss_kb(pids[i]);
    return kb;
}

static double cpu_all(const pid_t *pids, int n)
{
    double ms = 0;
    for (int i = 0; i < n; i++)
        ms += cpu_ms(pids[i]);
    return ms;
}

static long rss_one(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f)) {
        if (!strncmp(line, "VmRSS:", 6))
            kb = atol(line + 6);
    }
    if (f)
        fclose(f);
    return kb;
}

/* CPU time the process used so far, user + system, in ms: unlike wall
 * time, not inflated by other work on a shared machine. */
static double cpu_one(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    unsigned long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return 0;
    return (double)(ut + st) * 1000.0 / (double)sysconf(_SC_CLK_TCK);
}

int main(int argc, char **argv)
{
    int calls = 200, turns = 5, llm = 0, twilio = 0, workers = 1, sticky = 0, instances = 1,
        pin = 0;
    const char *pg_sync = NULL;  /* --postgresql: synchronous_commit */
    const char *pipeline = "on"; /* --pipeline: database.postgresql.pipeline */
    int group_commit = 0;        /* --group-commit: database.sqlite.group_commit */
    const char *server_bin = "ccai-server/ccai-server", *standin_bin = "tests/llm-standin";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--calls") && i + 1 < argc)
            calls = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--turns") && i + 1 < argc)
            turns = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--llm"))
            llm = 1;
        else if (!strcmp(argv[i], "--twilio"))
            twilio = 1;
        else if (!strcmp(argv[i], "--sticky"))
            sticky = 1;
        else if (!strcmp(argv[i], "--pin"))
            pin = 1;
        else if (!strcmp(argv[i], "--workers") && i + 1 < argc)
            workers = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--instances") && i + 1 < argc)
            instances = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--postgresql") && i + 1 < argc)
            pg_sync = argv[++i];
        else if (!strcmp(argv[i], "--pipeline") && i + 1 < argc)
            pipeline = argv[++i];
        else if (!strcmp(argv[i], "--server-log") && i + 1 < argc)
            server_log = argv[++i];
        else if (!strcmp(argv[i], "--group-commit") && i + 1 < argc)
            group_commit = !strcmp(argv[++i], "on");
        else if (!strcmp(argv[i], "--server-bin") && i + 1 < argc)
            server_bin = argv[++i];
        else if (!strcmp(argv[i], "--standin-bin") && i + 1 < argc)
            standin_bin = argv[++i];
        else {
            fprintf(stderr,
                    "usage: %s [--calls N] [--turns K] [--llm] [--twilio] [--workers N] [--sticky] "
                    "[--instances N] [--pin] "
                    "[--postgresql on|off] [--pipeline on|off] [--group-commit on|off] "
                    "[--server-log P] "
                    "[--server-bin P] [--standin-bin P]\n",
                    argv[0]);
            return 64;
        }
    }
    if (calls < 1 || turns < 1 || workers < 1 || (sticky && calls > 12000) || instances < 1 ||
        instances > MAX_INST || (instances > 1 && (workers > 1 || sticky)))
        return 64;
    signal(SIGPIPE, SIG_IGN);
    char dir[] = "/tmp/ccai-bench-server-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    pid_t standin = -1;
    int sfd = -1, standin_port = 0;
    if (llm) {
        char *sargv[] = {(char *)standin_bin,  (char *)"--ttft-ms", (char *)"300",
                         (char *)"--chunk-ms", (char *)"30",        NULL};
        standin = spawn(standin_bin, sargv, environ, &sfd);
        standin_port = standin > 0 ? read_port(sfd) : -1;
        if (standin_port <= 0) {
            fprintf(stderr, "bench-server: cannot start %s\n", standin_bin);
            return 1;
        }
    }
    pg_server pg;
    char pg_mode[] = "DATABASE__MODE=postgresql", pg_dsn[512];
    if (pg_sync) {
        char dsn[400], sql[96];
        snprintf(sql, sizeof sql, "ALTER SYSTEM SET synchronous_commit = %s",
                 strcmp(pg_sync, "off") == 0 ? "off" : "on");
        if (pg_server_start(&pg, true) != 0 || pg_server_exec(&pg, sql) != 0 ||
            pg_server_exec(&pg, "SELECT pg_reload_conf()") != 0 ||
            pg_server_schema_dsn(&pg, dsn, sizeof dsn) != 0) {
            fprintf(stderr, "bench-server: cannot start PostgreSQL\n");
            pg_server_stop(&pg);
            return 1;
        }
        snprintf(pg_dsn, sizeof pg_dsn, "DATABASE__POSTGRESQL__DSN=%s", dsn);
    }
    char db[256], ep[128], nworkers[48];
    snprintf(nworkers, sizeof nworkers, "SERVER__WORKERS=%d", workers);
    snprintf(db, sizeof db, "DATABASE__SQLITE__PATH=%s/db.sqlite", dir);
    snprintf(ep, sizeof ep, "LLM__FAST__ENDPOINT=http://127.0.0.1:%d/v1", standin_port);
    char *senv[] = {db,
                    (char *)"SERVER__LISTEN=127.0.0.1:0",
                    (char *)"SERVER__API_TOKEN=bench",
                    (char *)"CONFIG_YAML=",
                    (char *)"CONVERSATION__ANSWER_HARD_TIMEOUT_SEC=60",
                    (char *)"CONVERSATION__ANSWER_SOFT_TIMEOUT_SEC=30",
                    (char *)"SERVER__PUBLIC_URL=" PUBLIC,
                    (char *)"TWILIO__ACCOUNT_SID=" TWILIO_STANDIN_SID,
                    (char *)"TWILIO__AUTH_TOKEN=" TWILIO_STANDIN_TOKEN,
                    (char *)"TWILIO__PHONE_NUMBER=+15550001111",
                    nworkers,
                    (char *)"TWILIO__API_BASE_URL=http://127.0.0.1:9",
                    llm ? (char *)"LLM__FAST__MODE=openai_compatible" : NULL,
                    llm ? ep : NULL,
                    NULL,
                    NULL,
                    NULL,
                    NULL,
                    NULL,
                    NULL};
    char pg_pipe[64];
    snprintf(pg_pipe, sizeof pg_pipe, "DATABASE__POSTGRESQL__PIPELINE=%s",
             strcmp(pipeline, "off") == 0 ? "false" : "true");
    if (pg_sync) {
        size_t k = 0;
        while (senv[k])
            k++;
        senv[k] = pg_mode;
        senv[k + 1] = pg_dsn;
        senv[k + 2] = pg_pipe;
    }
    if (group_commit) {
        size_t k = 0;
        while (senv[k])
            k++;
        senv[k] = (char *)"DATABASE__SQLITE__GROUP_COMMIT=true";
    }
    char *argv_srv[] = {(char *)server_bin, NULL};
    /* --pin: the server(s) on CPU 0, this client on CPU 1 (below). */
    if (pin && pin_to(0) != 0) {
        perror("bench-server: --pin: sched_setaffinity");
        return 1;
    }
    size_t nenv = 0;
    while (senv[nenv])
        nenv++;
    pid_t servers[MAX_INST];
    n_bases = instances;
    for (int i = 0; i < instances; i++) {
        /* several instances: each its name, its port known beforehand, its URL */
        char listen[64], id[64], url[96];
        int p = instances > 1 ? free_port() : 0;
        snprintf(listen, sizeof listen, "SERVER__LISTEN=127.0.0.1:%d", p);
        snprintf(id, sizeof id, "SERVER__INSTANCE_ID=bench-%d", i);
        snprintf(url, sizeof url, "SERVER__INSTANCE_URL=http://127.0.0.1:%d", p);
        senv[1] = listen;
        senv[nenv] = instances > 1 ? id : NULL;
        senv[nenv + 1] = instances > 1 ? url : NULL;
        int fd = -1;
        servers[i] = p >= 0 ? spawn(server_bin, argv_srv, senv, &fd) : -1;
        int port = servers[i] > 0 ? read_port(fd) : -1;
        if (port <= 0) {
            fprintf(stderr, "bench-server: cannot start %s\n", server_bin);
            return 1;
        }
        snprintf(bases[i], sizeof bases[i], "http://127.0.0.1:%d", port);
    }
    pid_t server = servers[0];
    if (pin && pin_to(1) != 0) {
        perror("bench-server: --pin: sched_setaffinity");
        return 1;
    }
    pid_t kids[MAX_KIDS];
    for (int t = 0; t < 200 && workers > 1 && children(server, kids, MAX_KIDS) < workers; t++)
        usleep(10000);
    for (int i = 0; i < instances; i++)
        list_children(servers[i]);
    long rss0 = rss_all(servers, instances);

    use_twilio = twilio;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURLM *m = curl_multi_init();
    curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)calls + 16);
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) {
        perror("bench-server: epoll_create1");
        return 1;
    }
    curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(m, CURLMOPT_SOCKETDATA, m);
    curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    client *cl = calloc((size_t)calls, sizeof *cl);
    size_t cap = (size_t)calls * (size_t)turns + 16, n_turn = 0, n_req = 0;
    double *lat_turn = calloc(cap, sizeof *lat_turn);
    double *lat_req = calloc(cap * 8, sizeof *lat_req);
    for (int i = 0; i < calls; i++) {
        client *c = &cl[i];
        c->h = curl_easy_init();
        if (sticky) { /* 20000 up: below the ephemeral ports (32768) */
            curl_easy_setopt(c->h, CURLOPT_LOCALPORT, 20000L + i);
            curl_easy_setopt(c->h, CURLOPT_LOCALPORTRANGE, 1L);
            curl_easy_setopt(c->h, CURLOPT_SOCKOPTFUNCTION, reuse_addr);
        }
        c->hdr = curl_slist_append(NULL, "Authorization: Bearer bench");
        c->hdr = curl_slist_append(c->hdr, "Content-Type: application/json");
        curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, c->hdr);
        curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c->h, CURLOPT_WRITEDATA, c);
        curl_easy_setopt(c->h, CURLOPT_PRIVATE, c);
        curl_easy_setopt(c->h, CURLOPT_TIMEOUT_MS, 60000L);
        c->t_turn = bench_now_ms();
        if (use_twilio) {
            char sid[40], from[20];
            snprintf(sid, sizeof sid, "CA%032d", i);
            snprintf(from, sizeof from, "+1415%07d", i);
            snprintf(c->id, sizeof c->id, "%s", sid);
            const char *params[] = {"CallSid", sid, "From", from, "To", "+15550001111", NULL};
            issue_twilio(m, c, "/twilio/voice", params);
        } else {
            issue(m, c, "/chat", "{\"lang\":\"en-US\"}");
        }
    }
    static const char *const lines[] = {
        "My car was hit last night.", "It happened in Lyon, rue de la République.",
        "Nobody was hurt.", "The other driver was a truck.", "My policy number is A-1234."};
    int done = 0, errors = 0, open_max = 0;
    long rss_peak = rss0;
    double cpu0 = cpu_all(servers, instances);
    double client0 = self_cpu_ms();
    double t0 = bench_now_ms();
    while (done < calls) {
        curl_wait(m);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            client *c = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&c);
            long code = 0;
            curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &code);
            curl_multi_remove_handle(m, c->h);
            double t = bench_now_ms();
            if (n_req < cap * 8)
                lat_req[n_req++] = t - c->t_req;
            if (use_twilio) {
                char next[512];
                if (msg->data.result != CURLE_OK || (code != 200 && code != 204)) {
                    if (!errors++) /* what went wrong, once */
                        fprintf(stderr,
                                "bench-server: first error: HTTP %ld (%s) stage %d: %.200s\n", code,
                                curl_easy_strerror(msg->data.result), c->stage,
                                c->buf ? c->buf : "");
                    c->stage = 4;
                    done++;
                    continue;
                }
                if (c->stage == 3) { /* the status callback went through */
                    c->stage = 4;
                    done++;
                    continue;
                }
                const char *only[] = {"CallSid", c->id, NULL};
                if (twiml_url(c->buf, "<Redirect", next, sizeof next)) {
                    c->stage = 2;
                    issue_twilio(m, c, next, only);
                    continue;
                }
                if (!twiml_url(c->buf, "<Gather", next, sizeof next)) {
                    if (!errors++)
                        fprintf(stderr, "bench-server: first error: no <Gather> stage %d: %.300s\n",
                                c->stage, c->buf ? c->buf : "");
                    c->stage = 4;
                    done++;
                    continue;
                }
                if (c->stage != 0 && n_turn < cap)
                    lat_turn[n_turn++] = t - c->t_turn;
                if (c->stage != 0)
                    c->turn++;
                if (c->turn >= turns) {
                    char status[512];
                    snprintf(status, sizeof status, "/twilio/status%s", strchr(next, '?'));
                    const char *end[] = {"CallSid", c->id, "CallStatus", "completed", NULL};
                    c->stage = 3;
                    issue_twilio(m, c, status, end);
                    continue;
                }
                if (c->turn == turns - 1 || c->turn == 0) {
                    int open = 0;
                    for (int k = 0; k < calls; k++)
                        open += cl[k].stage != 4;
                    if (open > open_max)
                        open_max = open;
                    long r = rss_all(servers, instances);
                    if (r > rss_peak)
                        rss_peak = r;
                }
                const char *speech[] = {"CallSid", c->id, "SpeechResult", lines[c->turn % 5], NULL};
                c->stage = 1;
                c->t_turn = t;
                issue_twilio(m, c, next, speech);
                continue;
            }
            json_t *doc = msg->data.result == CURLE_OK && code == 200 && c->buf
                              ? json_loads(c->buf, 0, NULL)
                              : NULL;
            if (!doc) {
                errors++;
                c->stage = 4;
                done++;
                continue;
            }
            if (c->stage == 0)
                snprintf(c->id, sizeof c->id, "%s",
                         json_string_value(json_object_get(doc, "call_id")));
            bool more = json_is_true(json_object_get(doc, "more"));
            bool ended = json_is_true(json_object_get(doc, "ended"));
            json_decref(doc);
            char path[128];
            if (c->stage == 3 || ended) {
                c->stage = 4;
                done++;
                continue;
            }
            if (more) {
                snprintf(path, sizeof path, "/chat/%s/next", c->id);
                c->stage = 2;
                issue(m, c, path, "");
                continue;
            }
            /* The bot listens: the turn (or the greeting) is over. */
            if (c->stage != 0 && n_turn < cap)
                lat_turn[n_turn++] = t - c->t_turn;
            if (c->stage != 0)
                c->turn++;
            snprintf(path, sizeof path, "/chat/%s", c->id);
            if (c->turn >= turns) {
                c->stage = 3;
                issue(m, c, path, "{\"hangup\":true}");
                continue;
            }
            if (c->turn == turns - 1 || c->turn == 0) {
                int open = 0;
                for (int k = 0; k < calls; k++)
                    open += cl[k].stage != 4;
                if (open > open_max)
                    open_max = open;
                long r = rss_all(servers, instances);
                if (r > rss_peak)
                    rss_peak = r;
            }
            char body[160];
            snprintf(body, sizeof body, "{\"text\":\"%s\"}", lines[c->turn % 5]);
            c->stage = 1;
            c->t_turn = t;
            issue(m, c, path, body);
        }
    }
    double secs = (bench_now_ms() - t0) / 1000.0;
    double cpu = cpu_all(servers, instances) - cpu0;
    double client_cpu = self_cpu_ms() - client0;
    printf("== ccai-server (%d instance%s, %d worker%s%s) under load: %d calls x %d turns over %s "
           "(%s; "
           "store %s)\n",
           instances, instances > 1 ? "s" : "", workers, workers > 1 ? "s" : "",
           sticky ? ", sticky client" : "", calls, turns,
           twilio ? "Twilio webhooks (signed, TwiML, Redirects)" : "the HTTP chat channel",
           llm ? "LLM stand-in: ttft 300 ms, 30 ms between chunks"
               : "no LLM: the offline dialogue answers",
           !pg_sync && group_commit      ? "SQLite, group commit"
           : !pg_sync                    ? "SQLite"
           : strcmp(pg_sync, "off") == 0 ? "PostgreSQL, synchronous_commit off"
                                         : "PostgreSQL, synchronous_commit on");
    printf("  %zu requests in %.2f s = %.0f requests/s; %zu turns = %.0f turns/s; errors %d\n",
           n_req, secs, (double)n_req / secs, n_turn, (double)n_turn / secs, errors);
    printf("  server CPU: %.0f ms for %zu requests = %.1f us per request, %.1f us per turn\n", cpu,
           n_req, n_req ? cpu * 1000.0 / (double)n_req : 0.0,
           n_turn ? cpu * 1000.0 / (double)n_turn : 0.0);
    printf("  client CPU: %.0f ms = %.1f us per turn\n", client_cpu,
           n_turn ? client_cpu * 1000.0 / (double)n_turn : 0.0);
    /* What the server could serve with the machine's cores to itself (no
     * client, no other work): cores / its CPU per turn. On a shared machine
     * the turns/s above depend on the load; this does much less. */
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (n_turn && cpu > 0)
        printf("  server capacity: %ld core%s / %.1f us per turn = %.0f turns/s (%.0f per core); "
               "load average %s",
               cores, cores == 1 ? "" : "s", cpu * 1000.0 / (double)n_turn,
               (double)cores * 1e6 / (cpu * 1000.0 / (double)n_turn),
               1e6 / (cpu * 1000.0 / (double)n_turn), loadavg());
    bench_report("request latency", lat_req, n_req, "ms", 1.0);
    bench_report("turn (text in -> listening)", lat_turn, n_turn, "ms", 1.0);
    if (pin) { /* the one-line summary of a pinned run (lat_turn is sorted now) */
        printf("  pinned (server CPU 0, client CPU 1): %.0f turns/s, turn p50 %.2f ms p99 %.2f "
               "ms, server %.1f us/turn, client %.1f us/turn, errors %d\n",
               (double)n_turn / secs, n_turn ? lat_turn[n_turn / 2] : 0.0,
               n_turn ? lat_turn[(size_t)((double)(n_turn - 1) * 0.99)] : 0.0,
               n_turn ? cpu * 1000.0 / (double)n_turn : 0.0,
               n_turn ? client_cpu * 1000.0 / (double)n_turn : 0.0, errors);
    }
    printf("  server RSS: %ld KB at start, peak %ld KB with up to %d calls open: %.1f KB per "
           "open call\n",
           rss0, rss_peak, open_max, open_max ? (double)(rss_peak - rss0) / (double)open_max : 0.0);
    /* The server's work does not end with the last turn: the calls' post-call
     * jobs (the reports) run after them, as much as the loop left for later.
     * One worker, saturated, leaves more of it past the last turn than two,
     * so the CPU per turn above favours one worker (~400 us against ~600 us
     * with it all: docs/deployment.md, "What a second worker costs on one
     * SQLite file"). Waited for until a quarter second adds no more than the
     * clock's tick (10 s at most), and counted with it. */
    double cpu_settled = cpu_all(servers, instances), settle_start = bench_now_ms();
    for (;;) {
        usleep(250000);
        double now = cpu_all(servers, instances);
        bool quiet = now - cpu_settled <= 1000.0 / (double)sysconf(_SC_CLK_TCK);
        cpu_settled = now;
        if (quiet || bench_now_ms() - settle_start > 10000.0)
            break;
    }
    cpu_settled -= cpu0;
    printf("  server CPU with the work after the last turn (post-call jobs): %.0f ms = %.1f us "
           "per turn (%.1f s after it)\n",
           cpu_settled, n_turn ? cpu_settled * 1000.0 / (double)n_turn : 0.0,
           (bench_now_ms() - settle_start) / 1000.0);
    for (int i = 0; i < calls; i++) {
        curl_easy_cleanup(cl[i].h);
        curl_slist_free_all(cl[i].hdr);
        free(cl[i].buf);
    }
    free(cl);
    free(lat_turn);
    free(lat_req);
    curl_multi_cleanup(m);
    curl_global_cleanup();
    close(epfd);
    for (int i = 0; i < instances; i++)
        kill(servers[i], SIGTERM);
    for (int i = 0; i < instances; i++)
        waitpid(servers[i], NULL, 0);
    if (standin > 0) {
        kill(standin, SIGTERM);
        waitpid(standin, NULL, 0);
    }
    if (pg_sync)
        pg_server_stop(&pg);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 && errors == 0 ? 0 : 1;
}
