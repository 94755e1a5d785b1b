/* The context's own HTTP server through the public API: ccai_ctx_listen(),
 * ccai_ctx_listen_fd(), ccai_ctx_listen_stop(), ccai_ctx_connections(),
 * ccai_ctx_set_access_log(), driven by the poll adapter while a client
 * thread talks to it over real sockets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <ccai/adapters/poll.h>
#include <ccai/ccai.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

typedef struct env {
    ccai_config *cfg;
    ccai_poll *poll;
    ccai_ctx *ctx;
    char access[16][256];
    int n_access;
    char logs[4096];
} env;

static void on_log(ccai_log_level level, const char *msg, void *ud)
{
    env *e = ud;
    (void)level;
    size_t n = strlen(e->logs);
    snprintf(e->logs + n, sizeof e->logs - n, "%s\n", msg);
}

static void env_init(env *e, const char *const *settings)
{
    memset(e, 0, sizeof *e);
    assert_int_equal(ccai_config_new(&e->cfg), CCAI_OK);
    assert_int_equal(ccai_config_set_logger(e->cfg, on_log, e, CCAI_LOG_INFO), CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "database.sqlite.path", ":memory:"), CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "server.listen", "127.0.0.1:0"), CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "server.api_token", "tok"), CCAI_OK);
    for (size_t i = 0; settings && settings[i]; i += 2)
        assert_int_equal(ccai_config_set(e->cfg, settings[i], settings[i + 1]), CCAI_OK);
    assert_int_equal(ccai_poll_new(e->cfg, &e->poll, &e->ctx, NULL), CCAI_OK);
}

static void env_free(env *e)
{
    ccai_poll_free(e->poll);
    ccai_config_free(e->cfg);
}

static void on_access(const ccai_http_access *a, void *ud)
{
    env *e = ud;
    assert_int_equal(a->version, CCAI_HTTP_ACCESS_VERSION);
    assert_string_equal(a->remote_addr, "127.0.0.1");
    if (e->n_access < 16)
        snprintf(e->access[e->n_access++], sizeof e->access[0], "%s %s %d", a->method, a->path,
                 a->status);
}

/* The client side, on its own thread ----------------------------------------- */

typedef struct client {
    int port;
    void (*script)(struct client *c);
    atomic_int done;
    char out[8][4096]; /* what came back on each step */
    int errors;
    char id[64];
} client;

static int dial(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

/* Send req and read one answer with a Content-Length body (or to EOF). */
static void roundtrip(int fd, const char *req, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    if (req && send(fd, req, strlen(req), MSG_NOSIGNAL) < 0)
        return;
    for (;;) {
        ssize_t n = recv(fd, out + len, cap - len - 1, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
        out[len] = '\0';
        const char *end = strstr(out, "\r\n\r\n");
        const char *cl = strstr(out, "Content-Length: ");
        if (end && cl && (size_t)(end + 4 - out) + (size_t)atoi(cl + 16) <= len)
            break;
    }
}

static void *client_main(void *arg)
{
    client *c = arg;
    c->script(c);
    atomic_store(&c->done, 1);
    return NULL;
}

/* Drive the context until the client is done (at most 10 s). */
static void run_client(env *e, client *c)
{
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, client_main, c), 0);
    uint64_t deadline = ccai_time_ms() + 10000;
    while (!atomic_load(&c->done) && ccai_time_ms() < deadline)
        ccai_poll_run_once(e->poll, 20);
    assert_true(atomic_load(&c->done));
    pthread_join(t, NULL);
}

/* Run the loop until no connection is left (at most 3 s). */
static void settle(env *e)
{
    uint64_t deadline = ccai_time_ms() + 3000;
    while (ccai_ctx_connections(e->ctx) && ccai_time_ms() < deadline)
        ccai_poll_run_once(e->poll, 20);
    assert_int_equal(ccai_ctx_connections(e->ctx), 0);
}

#define LIVENESS "GET /health/liveness HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

static void keep_alive_script(client *c)
{
    int fd = dial(c->port);
    if (fd < 0) {
        c->errors++;
        return;
    }
    roundtrip(fd, LIVENESS, c->out[0], sizeof c->out[0]);
    roundtrip(fd, "GET /nope HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", c->out[1], sizeof c->out[1]);
    close(fd);
}

static void test_listen_serves(void **state)
{
    (void)state;
    env e;
    env_init(&e, NULL);
    assert_int_equal(ccai_ctx_set_access_log(e.ctx, on_access, &e), CCAI_OK);
    uint16_t port = 0;
    assert_int_equal(ccai_ctx_listen(e.ctx, NULL, &port), CCAI_OK); /* server.listen */
    assert_true(port > 0);
    assert_int_equal(ccai_ctx_connections(e.ctx), 0);
    client c = {.port = port, .script = keep_alive_script};
    run_client(&e, &c);
    assert_non_null(strstr(c.out[0], "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(c.out[0], "{\"status\":\"ok\"}"));
    assert_non_null(strstr(c.out[1], "HTTP/1.1 404 Not Found\r\n"));
    assert_non_null(strstr(c.out[1], "\"error\""));
    settle(&e);
    assert_int_equal(e.n_access, 2);
    assert_string_equal(e.access[0], "GET /health/liveness 200");
    assert_string_equal(e.access[1], "GET /nope 404");

    /* Without an access sink the entries go to the log. */
    assert_int_equal(ccai_ctx_set_access_log(e.ctx, NULL, NULL), CCAI_OK);
    client c2 = {.port = port, .script = keep_alive_script};
    run_client(&e, &c2);
    settle(&e);
    assert_non_null(strstr(e.logs, "http: 127.0.0.1 GET /health/liveness -> 200"));
    env_free(&e);
}

static int listening_socket(uint16_t *ret_port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 16), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &sl), 0);
    *ret_port = ntohs(a.sin_port);
    return fd;
}

static void test_listen_fd(void **state)
{
    (void)state;
    env e;
    env_init(&e, NULL);
    /* Not a listening socket: refused, and still the caller's. */
    int plain = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(ccai_ctx_listen_fd(e.ctx, plain), CCAI_ERR_INVALID_ARG);
    assert_true(fcntl(plain, F_GETFD) >= 0);
    close(plain);
    assert_int_equal(ccai_ctx_listen_fd(e.ctx, -1), CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_ctx_listen_fd(NULL, 3), CCAI_ERR_INVALID_ARG);

    uint16_t port = 0;
    int fd = listening_socket(&port);
    assert_int_equal(ccai_ctx_listen_fd(e.ctx, fd), CCAI_OK);
    assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
    client c = {.port = port, .script = keep_alive_script};
    run_client(&e, &c);
    assert_non_null(strstr(c.out[0], "HTTP/1.1 200 OK\r\n"));
    settle(&e);
    env_free(&e);
    /* The context closed it. */
    assert_true(fcntl(fd, F_GETFD) < 0 && errno == EBADF);
}

static void test_listen_bad_addresses(void **state)
{
    (void)state;
    env e;
    env_init(&e, NULL);
    static const char *const bad[] = {"nohost",     "example.com:80",  "[::1:80",     "::1:80",
                                      "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:8x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(ccai_ctx_listen(e.ctx, bad[i], NULL), CCAI_ERR_INVALID_ARG);
        assert_non_null(strstr(ccai_ctx_errmsg(e.ctx), bad[i]));
    }
    assert_int_equal(ccai_ctx_listen(NULL, "127.0.0.1:0", NULL), CCAI_ERR_INVALID_ARG);
    uint16_t port = 0;
    int taken = listening_socket(&port);
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", (unsigned)port);
    assert_int_equal(ccai_ctx_listen(e.ctx, addr, NULL), CCAI_ERR_IO);
    assert_non_null(strstr(ccai_ctx_errmsg(e.ctx), "in use"));
    close(taken);
    uint16_t p6 = 0;
    ccai_status st = ccai_ctx_listen(e.ctx, "[::1]:0", &p6);
    assert_true(st == CCAI_OK || st == CCAI_ERR_IO); /* a host without IPv6 */
    assert_true(st != CCAI_OK || p6 > 0);
    env_free(&e);
}

static void poll_script(client *c)
{
    int fd = dial(c->port);
    int idle = dial(c->port);
    if (fd < 0 || idle < 0) {
        c->errors++;
        return;
    }
    char req[512];
    snprintf(req, sizeof req,
             "POST /chat/%s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer tok\r\n"
             "Content-Length: 16\r\n\r\n{\"text\":\"hello\"}",
             c->id);
    roundtrip(idle, LIVENESS, c->out[1], sizeof c->out[1]);
    /* The caller's words wait for a model that never answers: answered 504
     * at server.request_timeout_ms, after the server stopped listening, with
     * Connection: close. */
    roundtrip(fd, req, c->out[0], sizeof c->out[0]);
    /* The idle keep-alive connection was closed by the stop. */
    char rest[64];
    ssize_t n = recv(idle, rest, sizeof rest, 0);
    snprintf(c->out[2], sizeof c->out[2], "%zd", n);
    /* And nobody listens any more. */
    int again = dial(c->port);
    snprintf(c->out[3], sizeof c->out[3], "%s", again < 0 ? "refused" : "accepted");
    if (again >= 0)
        close(again);
    close(fd);
    close(idle);
}

static void on_chat(ccai_http_exchange *x, const ccai_http_response *res, void *ud)
{
    (void)x;
    char *id = ud;
    char body[4096];
    snprintf(body, sizeof body, "%.*s", (int)res->body_len, res->body);
    const char *p = strstr(body, "\"call_id\":\"");
    if (p)
        snprintf(id, 37, "%s", p + 11);
}

static void test_listen_stop(void **state)
{
    (void)state;
    /* A model that takes the connection and never answers (the kernel
     * accepts it into the backlog of a socket nobody accepts on). */
    int mute = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    assert_int_equal(bind(mute, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(mute, 8), 0);
    assert_int_equal(getsockname(mute, (struct sockaddr *)&sa, &sl), 0);
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d/v1", ntohs(sa.sin_port));
    env e;
    const char *settings[] = {"server.request_timeout_ms",
                              "1500",
                              "llm.fast.mode",
                              "openai_compatible",
                              "llm.fast.endpoint",
                              endpoint,
                              NULL};
    env_init(&e, settings);
    assert_int_equal(ccai_ctx_set_access_log(e.ctx, on_access, &e), CCAI_OK);
    uint16_t port = 0;
    assert_int_equal(ccai_ctx_listen(e.ctx, "127.0.0.1:0", &port), CCAI_OK);
    /* A chat: the caller's words will wait for the model. */
    ccai_http_header h[] = {{"Authorization", "Bearer tok"}};
    ccai_http_request req = {CCAI_HTTP_REQUEST_VERSION, "POST", "/chat",    NULL, h, 1,
                             "{\"lang\":\"en-US\"}",    16,     "127.0.0.1"};
    client c = {.port = port, .script = poll_script};
    assert_int_equal(ccai_ctx_http(e.ctx, &req, on_chat, c.id, NULL), CCAI_OK);
    assert_int_equal(strlen(c.id), 36);

    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, client_main, &c), 0);
    /* Both connections open, the keep-alive one answered, the poll read. */
    uint64_t deadline = ccai_time_ms() + 20000;
    while ((e.n_access < 1 || ccai_ctx_connections(e.ctx) < 2) && ccai_time_ms() < deadline)
        ccai_poll_run_once(e.poll, 20);
    for (int i = 0; i < 10; i++)
        ccai_poll_run_once(e.poll, 10);
    assert_int_equal(ccai_ctx_connections(e.ctx), 2);
    ccai_ctx_listen_stop(e.ctx);
    ccai_ctx_listen_stop(e.ctx); /* twice is once */
    assert_int_equal(ccai_ctx_listen(e.ctx, "127.0.0.1:0", NULL), CCAI_ERR_STATE);
    assert_true(ccai_ctx_busy(e.ctx));
    deadline = ccai_time_ms() + 10000;
    while (!atomic_load(&c.done) && ccai_time_ms() < deadline)
        ccai_poll_run_once(e.poll, 20);
    assert_true(atomic_load(&c.done));
    pthread_join(t, NULL);
    assert_int_equal(c.errors, 0);
    assert_non_null(strstr(c.out[1], "HTTP/1.1 200 OK"));
    assert_non_null(strstr(c.out[0], "HTTP/1.1 504 Gateway Timeout\r\n"));
    assert_non_null(strstr(c.out[0], "Connection: close\r\n"));
    assert_string_equal(c.out[2], "0");       /* the idle connection was closed */
    assert_string_equal(c.out[3], "refused"); /* nobody listens */
    settle(&e);
    env_free(&e);
    close(mute);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listen_serves),
        cmocka_unit_test(test_listen_fd),
        cmocka_unit_test(test_listen_bad_addresses),
        cmocka_unit_test(test_listen_stop),
    };
    return cmocka_run_group_tests_name("listen-api", tests, NULL, NULL);
}
