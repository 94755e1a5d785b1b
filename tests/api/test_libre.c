/* ccai_ctx_new_libre(): a context on libre's loop, through the shared
 * library as a libre host (a baresip module, a libre SIP server) uses it.
 * re_main() runs the loop; a real HTTP client on another thread asks the
 * context's server (its listening socket and the connection are watched
 * through fd_listen()); the context's timer (tmr_start()) runs a call's
 * engine; the context freed inside re_main() leaves nothing on the loop,
 * so re_main() returns when told to and libre_close() finds no fd. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <ccai/ccai.h>

/* libre's headers need this order. */
/* clang-format off */
#include <re_types.h>
#include <re_fmt.h>
#include <re_list.h>
#include <re_main.h>
#include <re_tmr.h>
/* clang-format on */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct env {
    ccai_ctx *ctx;
    uint16_t port;
    int done_pipe[2];
    char answer[4096];
    struct tmr deadline;
    int timed_out;
} env;

static void *client(void *arg)
{
    env *e = arg;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(e->port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    size_t got = 0;
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
        static const char req[] =
            "GET /health/liveness HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
        if (write(fd, req, sizeof req - 1) == (ssize_t)(sizeof req - 1)) {
            ssize_t n;
            while (got < sizeof e->answer - 1 &&
                   (n = read(fd, e->answer + got, sizeof e->answer - 1 - got)) > 0)
                got += (size_t)n;
        }
    }
    e->answer[got] = '\0';
    if (fd >= 0)
        close(fd);
    char one = 1;
    if (write(e->done_pipe[1], &one, 1) != 1)
        abort();
    return NULL;
}

/* The client is done: the context goes from inside re_main(), then the
 * loop stops. */
static void on_done(int flags, void *arg)
{
    (void)flags;
    env *e = arg;
    char b;
    if (read(e->done_pipe[0], &b, 1) != 1)
        abort();
    fd_close(e->done_pipe[0]);
    ccai_ctx_free(e->ctx);
    e->ctx = NULL;
    re_cancel();
}

static void on_deadline(void *arg)
{
    env *e = arg;
    e->timed_out = 1;
    re_cancel();
}

static ccai_config *config(const char *db)
{
    ccai_config *cfg = NULL;
    assert_int_equal(ccai_config_new(&cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "database.sqlite.path", db), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "server.listen", "127.0.0.1:0"), CCAI_OK);
    return cfg;
}

static void test_libre_serves_http(void **state)
{
    (void)state;
    char db[64];
    snprintf(db, sizeof db, "/tmp/ccai-libre-%d.db", (int)getpid());
    assert_int_equal(libre_init(), 0);
    env e;
    memset(&e, 0, sizeof e);
    ccai_config *cfg = config(db);
    char *why = NULL;
    assert_int_equal(ccai_ctx_new_libre(cfg, &e.ctx, &why), CCAI_OK);
    assert_int_equal(ccai_ctx_listen(e.ctx, NULL, &e.port), CCAI_OK);
    assert_true(e.port > 0);
    assert_int_equal(pipe(e.done_pipe), 0);
    assert_int_equal(fd_listen(e.done_pipe[0], FD_READ, on_done, &e), 0);
    tmr_init(&e.deadline);
    tmr_start(&e.deadline, 20000, on_deadline, &e);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, client, &e), 0);
    assert_int_equal(re_main(NULL), 0);
    pthread_join(t, NULL);
    tmr_cancel(&e.deadline);
    assert_false(e.timed_out);
    assert_null(e.ctx);
    if (!strstr(e.answer, "HTTP/1.1 200"))
        fprintf(stderr, "# %s\n", e.answer);
    assert_non_null(strstr(e.answer, "HTTP/1.1 200"));
    close(e.done_pipe[1]);
    ccai_config_free(cfg);
    libre_close();
    unlink(db);
}

/* The context's timers run on tmr_start(): a text call started with no
 * channel says its greeting from the engine's timers. */
typedef struct said {
    int n;
} said;

static int op_say(ccai_call *call, const ccai_speech *sp, void *ud)
{
    (void)call;
    (void)sp;
    said *s = ud;
    s->n++;
    re_cancel();
    return 0;
}

static void test_libre_timers(void **state)
{
    (void)state;
    char db[64];
    snprintf(db, sizeof db, "/tmp/ccai-libre-t-%d.db", (int)getpid());
    assert_int_equal(libre_init(), 0);
    ccai_config *cfg = config(db);
    ccai_ctx *ctx = NULL;
    assert_int_equal(ccai_ctx_new_libre(cfg, &ctx, NULL), CCAI_OK);
    said s = {0};
    ccai_call_ops ops = {.version = CCAI_CALL_OPS_VERSION, .say = op_say};
    ccai_call_params p = {.version = CCAI_CALL_PARAMS_VERSION,
                          .direction = CCAI_INBOUND,
                          .phone_number = "+33612345678"};
    ccai_call *call = NULL;
    assert_int_equal(ccai_call_start(ctx, &p, &ops, &s, &call), CCAI_OK);
    assert_int_equal(ccai_call_notify(call, CCAI_EVENT_CONNECTED, NULL), CCAI_OK);
    struct tmr deadline;
    env e = {0};
    tmr_init(&deadline);
    tmr_start(&deadline, 20000, on_deadline, &e);
    if (!s.n)
        assert_int_equal(re_main(NULL), 0);
    tmr_cancel(&deadline);
    assert_false(e.timed_out);
    assert_true(s.n >= 1);
    ccai_call_free(call);
    ccai_ctx_free(ctx);
    ccai_config_free(cfg);
    libre_close();
    unlink(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_libre_serves_http),
        cmocka_unit_test(test_libre_timers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
