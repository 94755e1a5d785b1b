/* The real ccai-server's HTTP under hostile or careless clients, on real
 * sockets: malformed requests answered in the JSON envelope, slowloris
 * headers and bodies cut at their deadlines, the connection cap answered
 * 503, keep-alive and pipelining, a long-poll abandoned by its client,
 * the fd limit reached, log lines that stay JSON whatever the bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "support/llm_standin.h"
#include "support/server_proc.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *server_path;

#define LIVENESS "GET /health/liveness HTTP/1.1\r\nHost: h\r\n\r\n"

typedef struct proc {
    pid_t pid;
    int port;
    char dir[64];
    char log_path[128];
} proc;

/* Start the server with these extra environment entries (NULL-terminated). */
static void start(proc *p, const char *const *extra)
{
    strcpy(p->dir, "/tmp/ccai-http-XXXXXX");
    assert_non_null(mkdtemp(p->dir));
    snprintf(p->log_path, sizeof p->log_path, "%s/server.log", p->dir);
    char db[128];
    snprintf(db, sizeof db, "DATABASE__SQLITE__PATH=%s/db.sqlite", p->dir);
    char *envp[32] = {db, (char *)"SERVER__LISTEN=127.0.0.1:0",
                      (char *)"CONFIG_YAML=", (char *)"SERVER__API_TOKEN=tok"};
    size_t n = 4;
    for (size_t i = 0; extra && extra[i] && n < 31; i++)
        envp[n++] = (char *)extra[i];
    envp[n] = NULL;
    p->pid = server_proc_start(server_path, envp, p->log_path, &p->port);
    assert_true(p->pid > 0);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void cleanup(proc *p)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", p->dir);
    assert_int_equal(system(cmd), 0);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Every line of the log is one JSON object; returns how many. */
static int log_lines_are_json(const char *path)
{
    char *log = slurp(path);
    int lines = 0;
    for (char *line = strtok(log, "\n"); line; line = strtok(NULL, "\n")) {
        json_error_t err;
        json_t *doc = json_loads(line, 0, &err);
        if (!json_is_object(doc))
            fail_msg("log line %d is not JSON (%s): %s", lines + 1, err.text, line);
        json_decref(doc);
        lines++;
    }
    return lines;
}

/* Raw sockets ------------------------------------------------------------------ */

static int dial(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

static void send_all(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        assert_true(w > 0);
        s += w;
        n -= (size_t)w;
    }
}

/* Wait up to ms for fd to be readable. */
static bool readable(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, ms) == 1;
}

/* Read until the server closes (or timeout_ms passes): the bytes, malloc'd.
 * *ret_closed says whether the server closed. */
static char *read_all(int fd, int timeout_ms, bool *ret_closed)
{
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    double end = now_s() + timeout_ms / 1000.0;
    bool closed = false;
    while (now_s() < end) {
        int left = (int)((end - now_s()) * 1000) + 1;
        if (!readable(fd, left))
            break;
        ssize_t n = recv(fd, buf + len, cap - len - 1, 0);
        if (n <= 0) {
            closed = true;
            break;
        }
        len += (size_t)n;
        if (len + 1 == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    buf[len] = '\0';
    if (ret_closed)
        *ret_closed = closed;
    return buf;
}

/* One raw exchange on a new connection: what came back before the server
 * closed (it must within 5 s). */
static char *exchange(int port, const char *req, size_t len)
{
    int fd = dial(port);
    send_all(fd, req, len);
    bool closed = false;
    char *out = read_all(fd, 5000, &closed);
    close(fd);
    if (!closed)
        fail_msg("the server kept the connection open after: %s", out);
    return out;
}

/* The answer's status, checking that its body is the JSON error envelope. */
static int envelope(const char *answer)
{
    int status = 0;
    if (sscanf(answer, "HTTP/1.1 %d", &status) != 1)
        fail_msg("not an HTTP answer: %s", answer);
    const char *body = strstr(answer, "\r\n\r\n");
    assert_non_null(body);
    assert_non_null(strstr(answer, "Content-Type: application/json\r\n"));
    json_t *doc = json_loads(body + 4, 0, NULL);
    if (!doc)
        fail_msg("not JSON: %s", body + 4);
    json_t *err = json_object_get(doc, "error");
    assert_true(json_is_string(json_object_get(err, "message")));
    assert_true(json_is_array(json_object_get(err, "details")));
    json_decref(doc);
    return status;
}

/* Tests ------------------------------------------------------------------------- */

static void test_malformed_requests_get_json_errors(void **state)
{
    (void)state;
    proc p;
    const char *env[] = {"SERVER__MAX_HEADER_BYTES=2048", NULL};
    start(&p, env);
    static const struct {
        const char *req;
        int status;
    } cases[] = {
        /* Request smuggling material: two lengths, or a length and chunks. */
        {"POST /chat HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
         400},
        {"POST /chat HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
         400},
        {"POST /chat HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n"
         "\r\n0\r\n\r\n",
         400},
        {"POST /chat HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "
         "chunked\r\n\r\nzz\r\nhi\r\n0\r\n\r\n",
         400},
        {"GET /call/a%00b HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        {"GET /call/%g1 HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        {"BREW /pot HTTP/1.1\r\nHost: h\r\n\r\n", 501},
        {"POST /chat HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
         501},
        {"GET / HTTP/3.0\r\nHost: h\r\n\r\n", 505},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out = exchange(p.port, cases[i].req, strlen(cases[i].req));
        if (envelope(out) != cases[i].status)
            fail_msg("case %zu: wanted %d, got: %s", i, cases[i].status, out);
        assert_non_null(strstr(out, "Connection: close\r\n"));
        free(out);
    }
    /* An oversize header: 431, not a hang or a reset. */
    char big[4096];
    int n = snprintf(big, sizeof big, "GET /health/liveness HTTP/1.1\r\nHost: h\r\nX-Big: ");
    memset(big + n, 'a', 3000);
    strcpy(big + n + 3000, "\r\n\r\n");
    char *out = exchange(p.port, big, strlen(big));
    assert_int_equal(envelope(out), 431);
    free(out);
    /* The server is fine afterwards. */
    assert_int_equal(server_proc_request(p.port, "GET", "/health/liveness", NULL, NULL, NULL), 200);
    assert_int_equal(server_proc_stop(p.pid, SIGTERM), 0);
    log_lines_are_json(p.log_path);
    cleanup(&p);
}

/* A slowloris sends a header line now and then (or a body byte): the
 * server answers 408 at its deadline and closes. Returns the lines sent
 * before the answer came. */
static int slowloris(int port, bool body, char **ret_answer)
{
    int fd = dial(port);
    const char *head = body ? "POST /chat HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\n"
                            : "GET /health/liveness HTTP/1.1\r\nHost: h\r\n";
    send_all(fd, head, strlen(head));
    int sent = 0;
    for (; sent < 30; sent++) {
        if (readable(fd, 250))
            break;
        const char *line = body ? "x" : "X-Slow: 1\r\n";
        if (send(fd, line, strlen(line), MSG_NOSIGNAL) <= 0)
            break;
    }
    *ret_answer = read_all(fd, 3000, NULL);
    close(fd);
    return sent;
}

static void test_slowloris_cut_at_deadlines(void **state)
{
    (void)state;
    proc p;
    const char *env[] = {"SERVER__HEADER_TIMEOUT_MS=1000", "SERVER__BODY_TIMEOUT_MS=1000",
                         "SERVER__MIN_BODY_RATE=1000", NULL};
    start(&p, env);
    char *out = NULL;
    /* A line every 250 ms would go on for 7.5 s; the deadline is 1 s. */
    int sent = slowloris(p.port, false, &out);
    assert_true(sent < 10);
    assert_int_equal(envelope(out), 408);
    free(out);
    sent = slowloris(p.port, true, &out);
    assert_true(sent < 10);
    assert_int_equal(envelope(out), 408);
    free(out);
    assert_int_equal(server_proc_stop(p.pid, SIGTERM), 0);
    cleanup(&p);
}

static void test_connection_cap_answers_503(void **state)
{
    (void)state;
    proc p;
    const char *env[] = {"SERVER__MAX_CONNECTIONS=3", NULL};
    start(&p, env);
    int held[3];
    for (int i = 0; i < 3; i++) {
        held[i] = dial(p.port);
        send_all(held[i], LIVENESS, strlen(LIVENESS));
        char *ok = NULL;
        /* Answered, and kept alive. */
        assert_true(readable(held[i], 3000));
        char buf[1024];
        ssize_t n = recv(held[i], buf, sizeof buf - 1, 0);
        assert_true(n > 0);
        buf[n] = '\0';
        ok = strstr(buf, "HTTP/1.1 200");
        assert_non_null(ok);
    }
    int extra = dial(p.port);
    bool closed = false;
    char *out = read_all(extra, 3000, &closed);
    assert_true(closed);
    assert_int_equal(envelope(out), 503);
    assert_non_null(strstr(out, "Retry-After: 1\r\n"));
    assert_non_null(strstr(out, "Connection: close\r\n"));
    free(out);
    close(extra);
    /* One leaves: a new client is served again. */
    close(held[0]);
    long status = 0;
    for (int i = 0; i < 500 && status != 200; i++) { /* 10 s at most */
        status = server_proc_request(p.port, "GET", "/health/liveness", NULL, NULL, NULL);
        if (status != 200)
            usleep(20000);
    }
    assert_int_equal(status, 200);
    close(held[1]);
    close(held[2]);
    assert_int_equal(server_proc_stop(p.pid, SIGTERM), 0);
    cleanup(&p);
}

static void test_keep_alive_and_pipelining(void **state)
{
    (void)state;
    proc p;
    start(&p, NULL);
    int fd = dial(p.port);
    /* Three requests one after the other on one connection. */
    for (int i = 0; i < 3; i++) {
        send_all(fd, LIVENESS, strlen(LIVENESS));
        assert_true(readable(fd, 3000));
        char buf[2048];
        ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
        assert_true(n > 0);
        buf[n] = '\0';
        assert_non_null(strstr(buf, "HTTP/1.1 200 OK"));
        assert_non_null(strstr(buf, "{\"status\":\"ok\"}"));
    }
    /* Then three at once: answered in order, the last closes. */
    const char *three = "GET /health/readiness HTTP/1.1\r\nHost: h\r\n\r\n"
                        "GET /no/such/thing HTTP/1.1\r\nHost: h\r\n\r\n"
                        "GET /health/liveness HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
    send_all(fd, three, strlen(three));
    bool closed = false;
    char *out = read_all(fd, 3000, &closed);
    assert_true(closed);
    const char *a = strstr(out, "\"checks\"");
    const char *b = strstr(out, "HTTP/1.1 404");
    const char *c = strstr(out, "{\"status\":\"ok\"}");
    if (!a || !b || !c || !(a < b && b < c))
        fail_msg("out of order: %s", out);
    free(out);
    close(fd);
    assert_int_equal(server_proc_stop(p.pid, SIGTERM), 0);
    cleanup(&p);
}

/* Server-side sockets on port in CLOSE-WAIT (the peer closed, we did not). */
static int close_wait(int port)
{
    int n = 0;
    const char *files[] = {"/proc/net/tcp", "/proc/net/tcp6"};
    for (int f = 0; f < 2; f++) {
        FILE *fp = fopen(files[f], "r");
        if (!fp)
            continue;
        char line[512];
        while (fgets(line, sizeof line, fp)) {
            char local[64], remote[64];
            unsigned st = 0;
            if (sscanf(line, " %*d: %63s %63s %x", local, remote, &st) != 3)
                continue;
            const char *colon = strrchr(local, ':');
            if (colon && strtol(colon + 1, NULL, 16) == port && st == 0x08)
                n++;
        }
        fclose(fp);
    }
    return n;
}

static int open_fds(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    assert_non_null(d);
    int n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* The fd count once the server has closed what its clients closed. */
static int settled_fds(pid_t pid)
{
    int last = open_fds(pid), same = 0;
    for (int i = 0; i < 100 && same < 5; i++) {
        usleep(20000);
        int n = open_fds(pid);
        same = n == last ? same + 1 : 0;
        last = n;
    }
    return last;
}

static json_t *post_json(int port, const char *path, const char *body)
{
    char *res = NULL;
    long status = server_proc_request(port, "POST", path, body, "Bearer tok", &res);
    if (status != 200)
        fail_msg("%s: HTTP %ld: %s", path, status, res);
    json_t *doc = json_loads(res, 0, NULL);
    assert_non_null(doc);
    free(res);
    return doc;
}

/* Send a chat request on a connection of its own, without reading. */
static int send_chat(int port, const char *id, const char *body)
{
    char req[512];
    int n = snprintf(req, sizeof req,
                     "POST /chat/%s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
                     "tok\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                     id, strlen(body), body);
    int fd = dial(port);
    send_all(fd, req, (size_t)n);
    return fd;
}

/* A chat client waits for the bot's answer (the model is slow to start),
 * gives up and goes away (a browser tab closed, curl's --max-time). The
 * server sees it at once: its socket is closed (no CLOSE-WAIT), the
 * exchange cancelled, so the bot's words go to the next request; and
 * SIGTERM does not wait for an answer nobody will read. */
static void test_abandoned_long_poll(void **state)
{
    (void)state;
    standin *llm = standin_start(NULL);
    assert_non_null(llm);
    char ep[128];
    snprintf(ep, sizeof ep, "LLM__FAST__ENDPOINT=http://127.0.0.1:%d/v1", standin_port(llm));
    const char *extra[] = {ep, "LLM__FAST__MODE=openai_compatible", NULL};
    proc p;
    start(&p, extra);
    json_t *doc = post_json(p.port, "/chat", "{\"lang\":\"en-US\"}");
    char id[64];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(doc, "call_id")));
    json_decref(doc);
    int base_fds = settled_fds(p.pid);

    /* The model takes 1.5 s to its first word: the request waits. */
    standin_spec slow = STANDIN_SPEC_INIT;
    slow.content = "Your car was hit yesterday morning.";
    slow.ttft_ms = 1500;
    standin_push(llm, &slow);
    int fd = send_chat(p.port, id, "{\"text\":\"My car was hit yesterday at 9 am.\"}");
    assert_false(readable(fd, 300)); /* the bot is thinking: the request waits */
    for (int i = 0; i < 1000 && open_fds(p.pid) != base_fds + 2; i++)
        usleep(10000);
    assert_int_equal(open_fds(p.pid), base_fds + 2); /* the client, the model's stream */
    close(fd);
    int waits = 0, still = 1;
    for (; waits < 1000 && still; waits++) { /* 10 s at most */
        still = close_wait(p.port) > 0 || open_fds(p.pid) > base_fds + 1;
        if (still)
            usleep(10000);
    }
    if (still)
        fail_msg("the server kept the abandoned connection: %d in CLOSE-WAIT, %d fds (was %d)",
                 close_wait(p.port), open_fds(p.pid), base_fds);

    /* The bot's answer, given while nobody asked, comes back whole. */
    char path[128];
    snprintf(path, sizeof path, "/chat/%s/next", id);
    doc = post_json(p.port, path, "");
    json_t *say = json_object_get(doc, "say");
    const char *first = json_string_value(json_object_get(json_array_get(say, 0), "text"));
    if (!first || !strstr(first, "car was hit")) {
        char *text = json_dumps(doc, 0);
        fail_msg("the answer lost the bot's words: %s", text);
    }
    json_decref(doc);

    /* A request abandoned again, then SIGTERM: no answer to wait for, only
     * the model's stream to finish. */
    standin_push(llm, &slow);
    fd = send_chat(p.port, id, "{\"text\":\"And nobody was hurt.\"}");
    assert_false(readable(fd, 300));
    close(fd);
    usleep(100000);
    double t0 = now_s();
    assert_int_equal(server_proc_stop(p.pid, SIGTERM), 0);
    double took = now_s() - t0;
    if (took >= 8) /* the grace period is 10 s; the stream ends 1.5 s after it started */
        fail_msg("SIGTERM took %.1f s", took);
    log_lines_are_json(p.log_path);
    cleanup(&p);
    standin_stop(llm);
}

static double cpu_seconds(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    assert_non_null(p);
    unsigned long utime = 0, stime = 0;
    /* After the command: state, then 10 fields, then utime and stime. */
    assert_int_equal(
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime), 2);
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* The fd limit reached (ulimit -n): no busy loop, a bounded log, a clear
 * 503 for clients it cannot take, liveness back once clients leave. */
static void test_fd_limit(void **state)
{
    (void)state;
    proc p;
    const char *env[] = {"SERVER__MAX_CONNECTIONS=1000", NULL};
    start(&p, env);
    assert_int_equal(server_proc_request(p.port, "GET", "/health/liveness", NULL, NULL, NULL), 200);
    int base = open_fds(p.pid) - 2; /* "." and ".." */
    struct rlimit lim = {(rlim_t)base + 6, (rlim_t)base + 6};
    assert_int_equal(prlimit(p.pid, RLIMIT_NOFILE, &lim, NULL), 0);

    /* Hold connections until the server cannot take more. */
    int held[64], n_held = 0, refused = 0;
    for (int i = 0; i < 40 && n_held < 64; i++) {
        int fd = dial(p.port);
        send_all(fd, LIVENESS, strlen(LIVENESS) - 2); /* unfinished */
        if (readable(fd, 300)) {
            char *out = read_all(fd, 2000, NULL);
            assert_int_equal(envelope(out), 503);
            free(out);
            close(fd);
            refused++;
        } else {
            held[n_held++] = fd;
        }
    }
    assert_true(n_held >= 3);
    assert_true(refused >= 5);

    /* At the limit, with more clients knocking: the server sleeps. */
    double cpu0 = cpu_seconds(p.pid), t0 = now_s();
    int knock[8];
    for (int i = 0; i < 8; i++)
        knock[i] = dial(p.port);
    while (now_s() - t0 < 1.0)
        usleep(50000);
    double cpu = cpu_seconds(p.pid) - cpu0;
    if (cpu > 0.3)
        fail_msg("the server used %.2f s of CPU in 1 s at the fd limit", cpu);
    for (int i = 0; i < 8; i++) {
        char *out = read_all(knock[i], 2000, NULL);
        assert_int_equal(envelope(out), 503);
        free(out);
        close(knock[i]);
    }

    /* The clients leave: liveness answers again. */
    for (int i = 0; i < n_held; i++)
        close(held[i]);
    long status = 0;
    for (int i = 0; i < 500 && status != 200; i++) { /* 10 s at most */
        status = server_proc_request(p.port, "GET", "/health/liveness", NULL, NULL, NULL);
        if (status != 200)
            usleep(20000);
    }
    assert_int_equal(status, 200);
    assert_int_equal(server_proc_stop(p.pid, SIGTERM), 0);
    int lines = log_lines_are_json(p.log_path);
    if (lines > 40)
        fail_msg("%d log lines", lines);
    cleanup(&p);
}

/* Paths and headers of raw bytes that are not UTF-8: every log line is
 * still JSON, a line too long for the log too (a path of 1500 bytes that
 * are not UTF-8, each written as the five characters \\xHH in JSON: the
 * line is cut, never in the middle of an escape, and stays one object). */
static void test_log_lines_stay_json(void **state)
{
    (void)state;
    proc p;
    const char *env[] = {"LOG__LEVEL=debug", NULL};
    start(&p, env);
    char long_path[4600 + 64];
    size_t n = (size_t)snprintf(long_path, sizeof long_path, "GET /");
    for (int i = 0; i < 1500; i++)
        n += (size_t)snprintf(long_path + n, sizeof long_path - n, "%%ff");
    snprintf(long_path + n, sizeof long_path - n,
             " HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    const char *reqs[] = {
        "GET /\xff\xff\xfe HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
        "GET /call/\xc3\x28%ff\x01 HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer \xff\r\n"
        "Connection: close\r\n\r\n",
        "GET /report/\xed\xa0\x80?token=\xff HTTP/1.1\r\nHost: \xfe\r\nConnection: close\r\n\r\n",
        "\xff\xfe / HTTP/1.1\r\n\r\n",
        long_path,
    };
    for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++) {
        char *out = exchange(p.port, reqs[i], strlen(reqs[i]));
        assert_true(!strncmp(out, "HTTP/1.1 ", 9));
        free(out);
    }
    assert_int_equal(server_proc_stop(p.pid, SIGTERM), 0);
    int lines = log_lines_are_json(p.log_path);
    assert_true(lines >= 5);
    const char *log = slurp(p.log_path);
    assert_non_null(strstr(log, "\"path\":\"/\\\\xff\\\\xff\\\\xfe\""));
    assert_non_null(strstr(log, "...\",\"status\":404")); /* cut, then closed */
    /* LOG__LEVEL=debug was read: libccai's own lines of the same paths too. */
    assert_non_null(strstr(log, "\"level\":\"debug\",\"msg\":\"http: GET /\\\\xff"));
    cleanup(&p);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s PATH-TO-ccai-server\n", argv[0]);
        return 2;
    }
    server_path = argv[1];
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_malformed_requests_get_json_errors),
        cmocka_unit_test(test_slowloris_cut_at_deadlines),
        cmocka_unit_test(test_connection_cap_answers_503),
        cmocka_unit_test(test_keep_alive_and_pipelining),
        cmocka_unit_test(test_abandoned_long_poll),
        cmocka_unit_test(test_fd_limit),
        cmocka_unit_test(test_log_lines_stay_json),
    };
    int rc = cmocka_run_group_tests_name("server-http", tests, NULL, server_proc_kill_leftovers);
    curl_global_cleanup();
    return rc;
}
