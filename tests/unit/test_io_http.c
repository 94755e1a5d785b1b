/* io/http.c, the asynchronous HTTP client, against a local server: bodies,
 * streams, timeouts, cuts, cancellation, concurrency. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <ccai/adapters/poll.h>

#include "io/io.h"
#include "support/httpd.h"

#include <stdio.h>
#include <string.h>

typedef struct result {
    int done;
    ccai_status st;
    long status;
    int responses;
    int chunks;
    char body[65536];
    size_t body_len;
    char retry_after[32];
    char errmsg[256];
    int cancel_at_chunk; /* cancel from inside on_data at this chunk (1-based) */
    int stop_at_chunk;   /* return non-zero from on_data */
    Ccai_http_req *req;
    ccai_ctx *free_ctx_in_done;
} result;

static void on_response(Ccai_http_req *req, long status, void *ud)
{
    result *r = ud;
    r->responses++;
    r->status = status;
    const char *ra = Ccai_http_header(req, "retry-after");
    if (ra)
        snprintf(r->retry_after, sizeof r->retry_after, "%s", ra);
}

static int on_data(Ccai_http_req *req, const char *data, size_t len, void *ud)
{
    result *r = ud;
    r->chunks++;
    if (r->body_len + len < sizeof r->body) {
        memcpy(r->body + r->body_len, data, len);
        r->body_len += len;
    }
    if (r->cancel_at_chunk && r->chunks == r->cancel_at_chunk) {
        Ccai_http_cancel(req);
        r->done = 1; /* no on_done will come */
    }
    return r->stop_at_chunk && r->chunks == r->stop_at_chunk;
}

static void on_done(Ccai_http_req *req, ccai_status st, long status, const char *errmsg, void *ud)
{
    result *r = ud;
    r->done++;
    r->st = st;
    r->status = status;
    if (errmsg)
        snprintf(r->errmsg, sizeof r->errmsg, "%s", errmsg);
    if (!r->chunks) { /* buffered */
        size_t len = 0;
        const char *b = Ccai_http_body(req, &len);
        if (len < sizeof r->body) {
            memcpy(r->body, b, len);
            r->body_len = len;
        }
    }
    if (r->free_ctx_in_done)
        ccai_ctx_free(r->free_ctx_in_done);
}

/* Handlers ------------------------------------------------------------------ */

static void h_hello(const test_request *req, int fd, void *ud)
{
    (void)ud;
    if (strcmp(req->method, "POST") == 0) {
        test_httpd_printf(fd,
                          "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Method: POST\r\n"
                          "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                          req->body_len + 5);
        test_httpd_write(fd, "echo:", 5);
        test_httpd_write(fd, req->body, req->body_len);
        return;
    }
    test_httpd_printf(fd,
                      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Path: %s\r\n"
                      "Connection: close\r\n\r\nhello",
                      req->path);
}

static void h_chunked(const test_request *req, int fd, void *ud)
{
    (void)req;
    (void)ud;
    test_httpd_printf(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                          "Content-Type: text/event-stream\r\nConnection: close\r\n\r\n");
    for (int i = 0; i < 5; i++) {
        char line[32];
        int n = snprintf(line, sizeof line, "data: %d\n\n", i);
        test_httpd_printf(fd, "%x\r\n%s\r\n", n, line);
        test_httpd_sleep_ms(20);
    }
    test_httpd_printf(fd, "0\r\n\r\n");
}

static void h_slow_first_byte(const test_request *req, int fd, void *ud)
{
    (void)req;
    (void)ud;
    test_httpd_sleep_ms(1500);
    test_httpd_printf(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
}

static void h_stall(const test_request *req, int fd, void *ud)
{
    (void)req;
    (void)ud;
    test_httpd_printf(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "6\r\ndata: \r\n");
    test_httpd_sleep_ms(1500);
    test_httpd_printf(fd, "0\r\n\r\n");
}

static void h_cut(const test_request *req, int fd, void *ud)
{
    (void)req;
    (void)ud;
    test_httpd_printf(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
}

static void h_429(const test_request *req, int fd, void *ud)
{
    (void)req;
    (void)ud;
    test_httpd_printf(fd, "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\n"
                          "Content-Type: application/json\r\nContent-Length: 35\r\n"
                          "Connection: close\r\n\r\n{\"error\":{\"message\":\"slow down\"}}  ");
}

static void h_big(const test_request *req, int fd, void *ud)
{
    (void)req;
    (void)ud;
    test_httpd_printf(fd, "HTTP/1.1 200 OK\r\nContent-Length: 4096\r\nConnection: close\r\n\r\n");
    char block[4096];
    memset(block, 'x', sizeof block);
    test_httpd_write(fd, block, sizeof block);
}

/* Harness ------------------------------------------------------------------- */

typedef struct env {
    ccai_config *cfg;
    ccai_poll *poll;
    ccai_ctx *ctx;
    test_httpd *httpd;
    char url[128];
} env;

static void env_init(env *e, test_handler h)
{
    memset(e, 0, sizeof *e);
    assert_int_equal(ccai_config_new(&e->cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "database.sqlite.path", ":memory:"), CCAI_OK);
    assert_int_equal(ccai_poll_new(e->cfg, &e->poll, &e->ctx, NULL), CCAI_OK);
    if (h) {
        e->httpd = test_httpd_start(h, NULL);
        assert_non_null(e->httpd);
        snprintf(e->url, sizeof e->url, "http://127.0.0.1:%d/v1/x?y=1", test_httpd_port(e->httpd));
    }
}

static void env_free(env *e)
{
    ccai_poll_free(e->poll);
    ccai_config_free(e->cfg);
    test_httpd_stop(e->httpd);
}

static int is_done(void *ud)
{
    return ((result *)ud)->done != 0;
}

static void run_until(env *e, result *r)
{
    uint64_t deadline = ccai_time_ms() + 10000;
    while (!is_done(r) && ccai_time_ms() < deadline)
        assert_int_equal(ccai_poll_run_once(e->poll, 100), 0);
    assert_true(is_done(r));
}

static void start(env *e, result *r, Ccai_http_opts *o)
{
    o->url = o->url ? o->url : e->url;
    o->on_response = on_response;
    o->on_done = on_done;
    o->ud = r;
    assert_int_equal(Ccai_http_start(e->ctx, o, &r->req), CCAI_OK);
}

/* Tests ----------------------------------------------------------------------- */

static void test_get_buffered(void **state)
{
    (void)state;
    env e;
    env_init(&e, h_hello);
    result r = {0};
    Ccai_http_opts o = {0};
    start(&e, &r, &o);
    run_until(&e, &r);
    assert_int_equal(r.st, CCAI_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.responses, 1);
    assert_int_equal(r.body_len, 5);
    assert_memory_equal(r.body, "hello", 5);
    assert_int_equal(Ccai_http_in_flight(e.ctx), 0);
    assert_int_equal(ccai_ctx_busy(e.ctx), 0);
    env_free(&e);
}

static void test_post_body_and_headers(void **state)
{
    (void)state;
    env e;
    env_init(&e, h_hello);
    result r = {0};
    const char *hdrs[] = {"Content-Type: application/json", "Authorization: Bearer x", NULL};
    Ccai_http_opts o = {.headers = hdrs, .body = "{\"a\":1}", .body_len = 7};
    start(&e, &r, &o);
    run_until(&e, &r);
    assert_int_equal(r.st, CCAI_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 12);
    assert_memory_equal(r.body, "echo:{\"a\":1}", 12);
    env_free(&e);
}

static void test_streamed_chunks(void **state)
{
    (void)state;
    env e;
    env_init(&e, h_chunked);
    result r = {0};
    Ccai_http_opts o = {.on_data = on_data, .idle_timeout_ms = 2000, .first_byte_timeout_ms = 2000};
    start(&e, &r, &o);
    run_until(&e, &r);
    assert_int_equal(r.st, CCAI_OK);
    assert_true(r.chunks >= 2); /* arrived in pieces, as sent */
    r.body[r.body_len] = '\0';
    assert_string_equal(r.body, "data: 0\n\ndata: 1\n\ndata: 2\n\ndata: 3\n\ndata: 4\n\n");
    env_free(&e);
}

static void test_first_byte_timeout(void **state)
{
    (void)state;
    env e;
    env_init(&e, h_slow_first_byte);
    result r = {0};
    Ccai_http_opts o = {.first_byte_timeout_ms = 150};
    uint64_t t0 = ccai_time_ms();
    start(&e, &r, &o);
    run_until(&e, &r);
    assert_int_equal(r.st, CCAI_ERR_TIMEOUT);
    assert_non_null(strstr(r.errmsg, "no response within 150 ms"));
    assert_true(ccai_time_ms() - t0 < 1400); /* did not wait for the server */
    assert_int_equal(r.done, 1);
    env_free(&e);
}

static void test_idle_timeout(void **state)
{
    (void)state;
    env e;
    env_init(&e, h_stall);
    result r = {0};
    Ccai_http_opts o = {.on_data = on_data, .idle_timeout_ms = 150};
    start(&e, &r, &o);
    run_until(&e, &r);
    assert_int_equal(r.st, CCAI_ERR_TIMEOUT);
    assert_non_null(strstr(r.errmsg, "stalled"));
    assert_int_equal(r.chunks, 1);
    env_free(&e);
}

static void test_cut_stream(void **state)
{
    (void)state;
    env e;
    env_init(&e, h_cut);
    result r = {0};
    Ccai_http_opts o = {.on_data = on_data};
    start(&e, &r, &o);
    run_until(&e, &r);
    assert_int_equal(r.st, CCAI_ERR_HTTP);
    assert_int_equal(r.body_len, 10);
    assert_true(strlen(r.errmsg) > 6);
    env_free(&e);
}

static void test_connection_refused(void **state)
{
    (void)state;
    env e;
    env_init(&e, NULL);
    /* A port nobody listens on: bind one, close it, use it. */
    test_httpd *tmp = test_httpd_start(h_hello, NULL);
    int port = test_httpd_port(tmp);
    test_httpd_stop(tmp);
    snprintf(e.url, sizeof e.url, "http://127.0.0.1:%d/", port);
    result r = {0};
    Ccai_http_opts o = {0};
    start(&e, &r, &o);
    run_until(&e, &r);
    assert_int_equal(r.st, CCAI_ERR_HTTP);
    assert_int_equal(r.responses, 0);
    env_free(&e);
}

static void test_429_headers(void **state)
{
    (void)state;
    env e;
    env_init(&e, h_429);
    result r = {0};
    Ccai_http_opts o = {0};
    start(&e, &r, &o);
    run_until(&e, &r);
    assert_int_equal(r.st, CCAI_OK); /* a whole response, whatever its status */
    assert_int_equal(r.status, 429);
    assert_string_equal(r.retry_after, "7");
    assert_non_null(strstr(r.body, "slow down"));
    env_free(&e);
}

static void test_cancel_inside_on_data(void **state)
{
    (void)state;
    env e;
    env_init(&e, h_chunked);
    result r = {.cancel_at_chunk = 1};
    Ccai_http_opts o = {.on_data = on_data};
    start(&e, &r, &o);
    run_until(&e, &r);
    /* No on_done after a cancel: done stays the 1 set in on_data. */
    for (int i = 0; i < 5; i++)
        ccai_poll_run_once(e.poll, 20);
    assert_int_equal(r.done, 1);
    assert_int_equal(r.st, CCAI_OK);
    assert_int_equal(Ccai_http_in_flight(e.ctx), 0);
    env_free(&e);
}

static void test_stop_from_on_data(void **state)
{
    (void)state;
    env e;
    env_init(&e, h_chunked);
    result r = {.stop_at_chunk = 1};
    Ccai_http_opts o = {.on_data = on_data};
    start(&e, &r, &o);
    run_until(&e, &r);
    assert_int_equal(r.st, CCAI_ERR_CANCELLED);
    env_free(&e);
}

static void test_cancel_outside(void **state)
{
    (void)state;
    env e;
    env_init(&e, h_slow_first_byte);
    result r = {0};
    Ccai_http_opts o = {.first_byte_timeout_ms = 5000};
    start(&e, &r, &o);
    ccai_poll_run_once(e.poll, 50);
    Ccai_http_cancel(r.req);
    assert_int_equal(Ccai_http_in_flight(e.ctx), 0);
    assert_int_equal(ccai_ctx_busy(e.ctx), 0);
    for (int i = 0; i < 3; i++)
        ccai_poll_run_once(e.poll, 20);
    assert_int_equal(r.done, 0);
    env_free(&e);
}

static void test_response_limit(void **state)
{
    (void)state;
    env e;
    env_init(&e, h_big);
    result r = {0};
    Ccai_http_opts o = {.max_response_bytes = 1000};
    start(&e, &r, &o);
    run_until(&e, &r);
    assert_int_equal(r.st, CCAI_ERR_LIMIT);
    env_free(&e);
}

static int all_done(void *ud)
{
    result *rs = ud;
    for (int i = 0; i < 40; i++) {
        if (!rs[i].done)
            return 0;
    }
    return 1;
}

static void test_concurrent(void **state)
{
    (void)state;
    env e;
    env_init(&e, h_hello);
    static result rs[40];
    memset(rs, 0, sizeof rs);
    for (int i = 0; i < 40; i++) {
        Ccai_http_opts o = {0};
        start(&e, &rs[i], &o);
    }
    assert_int_equal(Ccai_http_in_flight(e.ctx), 40);
    uint64_t deadline = ccai_time_ms() + 10000;
    while (!all_done(rs) && ccai_time_ms() < deadline)
        ccai_poll_run_once(e.poll, 100);
    for (int i = 0; i < 40; i++) {
        assert_int_equal(rs[i].st, CCAI_OK);
        assert_int_equal(rs[i].status, 200);
        assert_memory_equal(rs[i].body, "hello", 5);
    }
    env_free(&e);
}

static void test_ctx_free_inside_callback(void **state)
{
    (void)state;
    env e;
    env_init(&e, h_hello);
    result r = {0};
    r.free_ctx_in_done = e.ctx;
    Ccai_http_opts o = {0};
    start(&e, &r, &o);
    uint64_t deadline = ccai_time_ms() + 10000;
    int rc = 0;
    while (rc == 0 && ccai_time_ms() < deadline)
        rc = ccai_poll_run_once(e.poll, 100);
    assert_true(is_done(&r));
    assert_int_equal(r.st, CCAI_OK);
    /* The context is gone (deferred until the callback returned), and the
     * adapter with it: run_once said so. */
    assert_int_equal(rc, 1);
    e.poll = NULL;
    ccai_config_free(e.cfg);
    test_httpd_stop(e.httpd);
}

static void test_start_invalid(void **state)
{
    (void)state;
    env e;
    env_init(&e, NULL);
    Ccai_http_req *req = NULL;
    Ccai_http_opts o = {0};
    assert_int_equal(Ccai_http_start(e.ctx, &o, &req), CCAI_ERR_INVALID_ARG);
    assert_null(req);
    env_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_buffered),
        cmocka_unit_test(test_post_body_and_headers),
        cmocka_unit_test(test_streamed_chunks),
        cmocka_unit_test(test_first_byte_timeout),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_cut_stream),
        cmocka_unit_test(test_connection_refused),
        cmocka_unit_test(test_429_headers),
        cmocka_unit_test(test_cancel_inside_on_data),
        cmocka_unit_test(test_stop_from_on_data),
        cmocka_unit_test(test_cancel_outside),
        cmocka_unit_test(test_response_limit),
        cmocka_unit_test(test_concurrent),
        cmocka_unit_test(test_ctx_free_inside_callback),
        cmocka_unit_test(test_start_invalid),
    };
    return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}
