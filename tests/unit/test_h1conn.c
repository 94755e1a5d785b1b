/* The HTTP/1.1 server connection without sockets: bytes in, requests out,
 * answers in, bytes out, a clock of our own. What hostile or careless
 * clients send (duplicate Content-Length, bad chunks, %00, slow headers,
 * going away mid-answer) gets the answer RFC 9112 asks for, in the JSON
 * error envelope. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "http/h1conn.h"
#include "support/oom.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct seen {
    int requests;
    int abandoned;
    char method[16];
    char path[256];
    char query[256];
    char body[4096];
    size_t body_len;
    size_t n_headers;
    char host[64];
    /* Answer inside the callback with this status (0: later). */
    int auto_status;
    char access[32][300];
    int n_access;
} seen;

static void on_request(Ccai_h1 *c, const Ccai_h1_request *req, void *ud)
{
    seen *s = ud;
    s->requests++;
    snprintf(s->method, sizeof s->method, "%s", req->method);
    snprintf(s->path, sizeof s->path, "%s", req->path);
    snprintf(s->query, sizeof s->query, "%s", req->query ? req->query : "(null)");
    s->body_len = req->body_len < sizeof s->body ? req->body_len : sizeof s->body - 1;
    memcpy(s->body, req->body, s->body_len);
    s->body[s->body_len] = '\0';
    s->n_headers = req->n_headers;
    s->host[0] = '\0';
    for (size_t i = 0; i < req->n_headers; i++) {
        if (!strcmp(req->headers[i].name, "Host"))
            snprintf(s->host, sizeof s->host, "%s", req->headers[i].value);
    }
    if (s->auto_status) {
        char body[300];
        snprintf(body, sizeof body, "{\"n\":%d,\"path\":\"%s\"}", s->requests, s->path);
        ccai_http_response res = {CCAI_HTTP_RESPONSE_VERSION,
                                  s->auto_status,
                                  "application/json",
                                  NULL,
                                  0,
                                  body,
                                  strlen(body)};
        Ccai_h1_respond(c, &res, 0);
    }
}

static void on_abandon(Ccai_h1 *c, void *ud)
{
    (void)c;
    seen *s = ud;
    s->abandoned++;
}

static void on_answered(Ccai_h1 *c, const Ccai_h1_access *a, void *ud)
{
    (void)c;
    seen *s = ud;
    if (s->n_access < 32)
        snprintf(s->access[s->n_access++], sizeof s->access[0], "%s %s %d", a->method, a->path,
                 a->status);
}

static const Ccai_h1_events events = {on_request, on_abandon, on_answered, NULL};

static Ccai_h1_limits limits(void)
{
    Ccai_h1_limits l = {
        .max_header_bytes = 4096,
        .max_body_bytes = 1000,
        .max_buffered = 8192,
        .header_timeout_ms = 1000,
        .body_timeout_ms = 1000,
        .min_body_rate = 100,
        .idle_timeout_ms = 5000,
        .answer_timeout_ms = 3000,
    };
    return l;
}

/* Everything the connection has to send, as text; marked written. */
static char *drain(Ccai_h1 *c, uint64_t now)
{
    static char buf[65536];
    size_t n = 0, len;
    const char *out;
    while ((out = Ccai_h1_output(c, &len)) != NULL) {
        assert_true(n + len < sizeof buf);
        memcpy(buf + n, out, len);
        n += len;
        Ccai_h1_written(c, len, now);
    }
    buf[n] = '\0';
    return buf;
}

static void feed(Ccai_h1 *c, const char *s, uint64_t now)
{
    assert_int_equal(Ccai_h1_input(c, s, strlen(s), now), CCAI_OK);
}

/* The status of the answer and its envelope's detail. */
static int error_answer(const char *out, char *detail, size_t n)
{
    int status = 0;
    assert_int_equal(sscanf(out, "HTTP/1.1 %d", &status), 1);
    const char *body = strstr(out, "\r\n\r\n");
    assert_non_null(body);
    json_t *doc = json_loads(body + 4, 0, NULL);
    assert_non_null(doc);
    json_t *err = json_object_get(doc, "error");
    assert_true(json_is_string(json_object_get(err, "message")));
    json_t *details = json_object_get(err, "details");
    assert_true(json_is_array(details));
    snprintf(detail, n, "%s", json_string_value(json_array_get(details, 0)));
    json_decref(doc);
    assert_non_null(strstr(out, "Content-Type: application/json\r\n"));
    return status;
}

/* One request in, the connection's answer and state after it. */
static int refused_with(const char *req, char *detail, size_t n)
{
    seen s = {.auto_status = 200};
    Ccai_h1_limits l = limits();
    Ccai_h1 *c = Ccai_h1_new(&l, &events, &s, 0);
    assert_non_null(c);
    feed(c, req, 1);
    const char *out = drain(c, 1);
    int status = error_answer(out, detail, n);
    assert_non_null(strstr(out, "Connection: close\r\n"));
    assert_int_equal(s.requests, 0); /* never handed on */
    assert_int_equal(Ccai_h1_get_state(c), CCAI_H1_LINGER);
    assert_int_equal(s.n_access, 1);
    Ccai_h1_free(c);
    return status;
}

static void test_request_and_answer(void **state)
{
    (void)state;
    seen s = {0};
    Ccai_h1_limits l = limits();
    Ccai_h1 *c = Ccai_h1_new(&l, &events, &s, 0);
    feed(c,
         "POST /chat/a%20b?x=1&y=%2F HTTP/1.1\r\nHost: bot.example\r\nContent-Length: 5\r\n"
         "X-Trail:  v  \r\n\r\nhello",
         10);
    assert_int_equal(s.requests, 1);
    assert_string_equal(s.method, "POST");
    assert_string_equal(s.path, "/chat/a b");
    assert_string_equal(s.query, "x=1&y=%2F");
    assert_string_equal(s.body, "hello");
    assert_string_equal(s.host, "bot.example");
    assert_int_equal(s.n_headers, 3);
    assert_true(Ccai_h1_waiting(c));
    assert_int_equal(Ccai_h1_deadline(c), 10 + 3000);
    ccai_http_header extra[] = {
        {"X-Ok", "1"}, {"X-Bad", "a\r\nSet-Cookie: evil"}, {"Content-Length", "999"}};
    ccai_http_response res = {
        CCAI_HTTP_RESPONSE_VERSION, 201, "application/json", extra, 3, "{}", 2};
    Ccai_h1_respond(c, &res, 20);
    const char *out = drain(c, 20);
    assert_true(!strncmp(out, "HTTP/1.1 201 Created\r\n", 22));
    assert_non_null(strstr(out, "Content-Length: 2\r\n"));
    assert_non_null(strstr(out, "X-Ok: 1\r\n"));
    assert_null(strstr(out, "X-Bad"));       /* a header that would split the answer */
    assert_null(strstr(out, "999"));         /* framing is the connection's own */
    assert_null(strstr(out, "Connection:")); /* HTTP/1.1 keeps it open */
    assert_true(!strcmp(out + strlen(out) - 6, "\r\n\r\n{}"));
    assert_int_equal(Ccai_h1_get_state(c), CCAI_H1_OPEN);
    assert_int_equal(Ccai_h1_deadline(c), 20 + 5000); /* idle keep-alive */
    assert_string_equal(s.access[0], "POST /chat/a b 201");
    Ccai_h1_timeout(c, 5020);
    assert_int_equal(Ccai_h1_get_state(c), CCAI_H1_CLOSED);
    Ccai_h1_free(c);
}

/* Pipelined requests are handed on one at a time and answered in order,
 * however the bytes are cut. */
static void test_pipelining_in_order(void **state)
{
    (void)state;
    const char *reqs = "GET /one HTTP/1.1\r\nHost: h\r\n\r\n"
                       "POST /two HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nTrailer: x\r\n\r\n"
                       "GET /three HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
    for (size_t step = 1; step <= strlen(reqs); step = step < 8 ? step + 1 : step * 3) {
        seen s = {0};
        Ccai_h1_limits l = limits();
        Ccai_h1 *c = Ccai_h1_new(&l, &events, &s, 0);
        for (size_t i = 0; i < strlen(reqs); i += step) {
            size_t n = strlen(reqs) - i < step ? strlen(reqs) - i : step;
            assert_int_equal(Ccai_h1_input(c, reqs + i, n, 1), CCAI_OK);
        }
        assert_int_equal(s.requests, 1); /* the others wait for the first answer */
        assert_string_equal(s.path, "/one");
        ccai_http_response res = {CCAI_HTTP_RESPONSE_VERSION, 200, "text/plain", NULL, 0, "1", 1};
        Ccai_h1_respond(c, &res, 2);
        assert_int_equal(s.requests, 1); /* not from inside respond() */
        Ccai_h1_process(c, 2);
        assert_int_equal(s.requests, 2);
        assert_string_equal(s.path, "/two");
        assert_string_equal(s.body, "abcde");
        res.body = "2";
        Ccai_h1_respond(c, &res, 3);
        Ccai_h1_process(c, 3);
        assert_int_equal(s.requests, 3);
        assert_string_equal(s.path, "/three");
        res.body = "3";
        Ccai_h1_respond(c, &res, 4);
        const char *out = drain(c, 4);
        const char *a = strstr(out, "\r\n\r\n1HTTP/1.1 200");
        const char *b = strstr(out, "\r\n\r\n2HTTP/1.1 200");
        const char *z = strstr(out, "Connection: close\r\n\r\n3");
        assert_true(a && b && z && a < b && b < z);
        assert_int_equal(Ccai_h1_get_state(c), CCAI_H1_LINGER);
        Ccai_h1_eof(c, 5);
        assert_int_equal(Ccai_h1_get_state(c), CCAI_H1_CLOSED);
        Ccai_h1_free(c);
    }
}

/* An empty line after a body (as some clients send) is not the start of a
 * request: the connection stays idle, no 408 at the header deadline. */
static void test_empty_lines_between_requests(void **state)
{
    (void)state;
    seen s = {.auto_status = 200};
    Ccai_h1_limits l = limits();
    Ccai_h1 *c = Ccai_h1_new(&l, &events, &s, 0);
    feed(c, "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nok\r\n", 1);
    assert_int_equal(s.requests, 1);
    drain(c, 1);
    assert_int_equal(Ccai_h1_deadline(c), 5000); /* idle (answered at 0), not 1 + 1000 */
    feed(c, "\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n", 2);
    assert_int_equal(s.requests, 2);
    assert_string_equal(s.path, "/b");
    Ccai_h1_free(c);
}

static void test_answered_inside_callback_keeps_going(void **state)
{
    (void)state;
    seen s = {.auto_status = 200};
    Ccai_h1_limits l = limits();
    Ccai_h1 *c = Ccai_h1_new(&l, &events, &s, 0);
    feed(c, "GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n", 1);
    assert_int_equal(s.requests, 2);
    const char *out = drain(c, 1);
    assert_non_null(strstr(out, "{\"n\":1,\"path\":\"/a\"}HTTP/1.1 200 OK"));
    assert_non_null(strstr(out, "{\"n\":2,\"path\":\"/b\"}"));
    Ccai_h1_free(c);
}

static void test_duplicate_and_conflicting_length(void **state)
{
    (void)state;
    char d[256];
    assert_int_equal(refused_with("POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
                                  "Content-Length: 6\r\n\r\nhello!",
                                  d, sizeof d),
                     400);
    assert_non_null(strstr(d, "Content-Length"));
    assert_int_equal(refused_with("POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
                                  "Content-Length: 5\r\n\r\nhello",
                                  d, sizeof d),
                     400);
    assert_int_equal(refused_with("POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
                                  "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
                                  d, sizeof d),
                     400);
    assert_non_null(strstr(d, "Transfer-Encoding"));
    assert_int_equal(
        refused_with("POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\nhello", d,
                     sizeof d),
        400);
    assert_string_equal(d, "invalid Content-Length");
}

static void test_bad_chunk_size(void **state)
{
    (void)state;
    char d[256];
    assert_int_equal(refused_with("POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
                                  "\r\nzz\r\nhello\r\n0\r\n\r\n",
                                  d, sizeof d),
                     400);
    assert_string_equal(d, "invalid chunk size");
    assert_int_equal(refused_with("POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
                                  "\r\nfffffffffffffffffff\r\n",
                                  d, sizeof d),
                     400);
}

static void test_path_checks(void **state)
{
    (void)state;
    char d[256];
    assert_int_equal(refused_with("GET /a%00b HTTP/1.1\r\nHost: h\r\n\r\n", d, sizeof d), 400);
    assert_non_null(strstr(d, "%00"));
    assert_int_equal(refused_with("GET /a%zzb HTTP/1.1\r\nHost: h\r\n\r\n", d, sizeof d), 400);
    assert_non_null(strstr(d, "percent-encoding"));
    assert_int_equal(refused_with("GET /a%2 HTTP/1.1\r\nHost: h\r\n\r\n", d, sizeof d), 400);
    assert_int_equal(refused_with("GET /a% HTTP/1.1\r\nHost: h\r\n\r\n", d, sizeof d), 400);

    /* Bytes that are not UTF-8 reach the router; the access line escapes them. */
    seen s = {.auto_status = 404};
    Ccai_h1_limits l = limits();
    Ccai_h1 *c = Ccai_h1_new(&l, &events, &s, 0);
    feed(c, "GET /\xff\xfe%FF/\xc3\xa9?q=\xff HTTP/1.1\r\nHost: h\r\n\r\n", 1);
    assert_int_equal(s.requests, 1);
    assert_string_equal(s.path, "/\xff\xfe\xff/\xc3\xa9");
    assert_string_equal(s.access[0], "GET /\\xff\\xfe\\xff/\xc3\xa9 404");
    Ccai_h1_free(c);
}

static void test_methods_and_versions(void **state)
{
    (void)state;
    char d[256];
    assert_int_equal(refused_with("FOO / HTTP/1.1\r\nHost: h\r\n\r\n", d, sizeof d), 501);
    assert_int_equal(refused_with("TRACE / HTTP/1.1\r\nHost: h\r\n\r\n", d, sizeof d), 501);
    assert_int_equal(refused_with("CONNECT h:443 HTTP/1.1\r\nHost: h\r\n\r\n", d, sizeof d), 501);
    assert_int_equal(refused_with("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", d, sizeof d), 501);
    assert_int_equal(refused_with("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", d, sizeof d),
                     400);
    assert_int_equal(refused_with("GET / HTTP/2.0\r\nHost: h\r\n\r\n", d, sizeof d), 505);
    assert_int_equal(refused_with("GET / HTTP/1.1\r\n\r\n", d, sizeof d), 400);
    assert_non_null(strstr(d, "Host"));
    assert_int_equal(refused_with("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", d, sizeof d),
                     400);
    assert_int_equal(refused_with("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, "
                                  "chunked\r\n\r\n0\r\n\r\n",
                                  d, sizeof d),
                     501);
    assert_int_equal(refused_with("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "
                                  "chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                                  d, sizeof d),
                     501);
    assert_int_equal(
        refused_with("POST / HTTP/1.1\r\nHost: h\r\nExpect: 200-ok\r\n\r\n", d, sizeof d), 417);

    /* HTTP/1.0: no Host needed, closed after the answer unless kept alive. */
    seen s = {.auto_status = 200};
    Ccai_h1_limits l = limits();
    Ccai_h1 *c = Ccai_h1_new(&l, &events, &s, 0);
    feed(c, "GET /old HTTP/1.0\r\n\r\n", 1);
    assert_int_equal(s.requests, 1);
    const char *out = drain(c, 1);
    assert_non_null(strstr(out, "Connection: close\r\n"));
    assert_int_equal(Ccai_h1_get_state(c), CCAI_H1_LINGER);
    Ccai_h1_free(c);
    s.requests = 0;
    c = Ccai_h1_new(&l, &events, &s, 0);
    feed(c, "HEAD /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 1);
    out = drain(c, 1);
    assert_non_null(strstr(out, "Connection: keep-alive\r\n"));
    assert_non_null(strstr(out, "Content-Length: 21\r\n"));  /* {"n":1,"path":"/old"} */
    assert_true(!strcmp(out + strlen(out) - 4, "\r\n\r\n")); /* HEAD: no body */
    assert_int_equal(Ccai_h1_get_state(c), CCAI_H1_OPEN);
    Ccai_h1_free(c);
}

static void test_size_limits(void **state)
{
    (void)state;
    char d[256];
    static char big[12000];
    snprintf(big, sizeof big, "GET / HTTP/1.1\r\nHost: h\r\nX-Big: %05000d\r\n\r\n", 0);
    assert_int_equal(refused_with(big, d, sizeof d), 431);
    char *p = big + snprintf(big, sizeof big, "GET / HTTP/1.1\r\nHost: h\r\n");
    for (int i = 0; i < 101; i++)
        p += snprintf(p, 16, "X-%d: 1\r\n", i);
    strcpy(p, "\r\n");
    assert_int_equal(refused_with(big, d, sizeof d), 431);
    memset(big, 0, sizeof big);
    strcpy(big, "GET /");
    memset(big + 5, 'a', 4200);
    strcat(big, " HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_int_equal(refused_with(big, d, sizeof d), 414);
    /* A declared length over the limit is refused before the body is read. */
    assert_int_equal(
        refused_with("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1001\r\n\r\n", d, sizeof d),
        413);
    /* A chunked body is counted as it comes. */
    snprintf(big, sizeof big,
             "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3e8\r\n%01000d\r\n"
             "1\r\nx\r\n0\r\n\r\n",
             0);
    assert_int_equal(refused_with(big, d, sizeof d), 413);
}

static void test_expect_continue(void **state)
{
    (void)state;
    seen s = {0};
    Ccai_h1_limits l = limits();
    Ccai_h1 *c = Ccai_h1_new(&l, &events, &s, 0);
    feed(c, "POST /x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n", 1);
    assert_string_equal(drain(c, 1), "HTTP/1.1 100 Continue\r\n\r\n");
    feed(c, "abc", 2);
    assert_int_equal(s.requests, 1);
    assert_string_equal(s.body, "abc");
    Ccai_h1_free(c);
}

/* A slowloris sending a header line now and then is cut at the header
 * deadline, counted from its first byte (from accept for the first). */
static void test_header_deadline(void **state)
{
    (void)state;
    seen s = {0};
    Ccai_h1_limits l = limits();
    Ccai_h1 *c = Ccai_h1_new(&l, &events, &s, 100);
    feed(c, "GET / HTTP/1.1\r\n", 400);
    uint64_t now = 400;
    int lines = 0;
    for (int i = 0; i < 5; i++) {
        now += 200;
        if (now >= Ccai_h1_deadline(c)) {
            Ccai_h1_timeout(c, now);
            break;
        }
        feed(c, "X-Slow: 1\r\n", now);
        lines++;
    }
    assert_int_equal(lines, 3); /* at 600, 800 and 1000; cut at 1200 */
    char d[256];
    int status = error_answer(drain(c, now), d, sizeof d);
    assert_int_equal(status, 408);
    assert_int_equal(s.requests, 0);
    assert_int_equal(Ccai_h1_get_state(c), CCAI_H1_LINGER);
    /* The lingering close ends at its own deadline. */
    Ccai_h1_timeout(c, now + CCAI_H1_LINGER_MS);
    assert_int_equal(Ccai_h1_get_state(c), CCAI_H1_CLOSED);
    Ccai_h1_free(c);

    /* A connection that never sends a byte is closed without an answer. */
    c = Ccai_h1_new(&l, &events, &s, 0);
    assert_int_equal(Ccai_h1_deadline(c), 1000);
    Ccai_h1_timeout(c, 1000);
    assert_int_equal(Ccai_h1_get_state(c), CCAI_H1_CLOSED);
    assert_int_equal(drain(c, 1000)[0], '\0');
    Ccai_h1_free(c);
}

/* A slow body: body_timeout_ms plus 1 s per min_body_rate bytes. */
static void test_body_deadline(void **state)
{
    (void)state;
    seen s = {0};
    Ccai_h1_limits l = limits();
    Ccai_h1 *c = Ccai_h1_new(&l, &events, &s, 0);
    feed(c, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 500\r\n\r\n", 10);
    assert_int_equal(Ccai_h1_deadline(c), 10 + 1000);
    feed(c, "0123456789", 500); /* 10 bytes at 100 B/s buy 100 ms */
    assert_int_equal(Ccai_h1_deadline(c), 10 + 1000 + 100);
    Ccai_h1_timeout(c, 1109);
    assert_int_equal(Ccai_h1_get_state(c), CCAI_H1_OPEN);
    Ccai_h1_timeout(c, 1110);
    char d[256];
    assert_int_equal(error_answer(drain(c, 1110), d, sizeof d), 408);
    assert_int_equal(s.requests, 0);
    Ccai_h1_free(c);
}

/* The peer goes away while its answer is pending: the request is
 * abandoned at once and nothing is written. */
static void test_eof_while_waiting(void **state)
{
    (void)state;
    seen s = {0};
    Ccai_h1_limits l = limits();
    Ccai_h1 *c = Ccai_h1_new(&l, &events, &s, 0);
    feed(c, "POST /chat/1/next HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", 1);
    assert_true(Ccai_h1_waiting(c));
    Ccai_h1_eof(c, 2);
    assert_int_equal(s.abandoned, 1);
    assert_int_equal(Ccai_h1_get_state(c), CCAI_H1_CLOSED);
    ccai_http_response res = {CCAI_HTTP_RESPONSE_VERSION, 200, "text/plain", NULL, 0, "late", 4};
    Ccai_h1_respond(c, &res, 3); /* ignored */
    assert_int_equal(drain(c, 3)[0], '\0');
    assert_int_equal(s.n_access, 0);
    Ccai_h1_free(c);

    /* A reset likewise. */
    memset(&s, 0, sizeof s);
    c = Ccai_h1_new(&l, &events, &s, 0);
    feed(c, "GET /x HTTP/1.1\r\nHost: h\r\n\r\n", 1);
    Ccai_h1_abort(c, 2);
    assert_int_equal(s.abandoned, 1);
    assert_int_equal(Ccai_h1_get_state(c), CCAI_H1_CLOSED);
    Ccai_h1_free(c);

    /* A peer that only shut its write side after an answered request still
     * gets the answer. */
    memset(&s, 0, sizeof s);
    s.auto_status = 200;
    c = Ccai_h1_new(&l, &events, &s, 0);
    feed(c, "GET /x HTTP/1.1\r\nHost: h\r\n\r\n", 1);
    Ccai_h1_eof(c, 2);
    assert_int_equal(Ccai_h1_get_state(c), CCAI_H1_OPEN);
    assert_true(!strncmp(drain(c, 2), "HTTP/1.1 200", 12));
    assert_int_equal(Ccai_h1_get_state(c), CCAI_H1_CLOSED);
    Ccai_h1_free(c);
}

static void test_answer_timeout(void **state)
{
    (void)state;
    seen s = {0};
    Ccai_h1_limits l = limits();
    Ccai_h1 *c = Ccai_h1_new(&l, &events, &s, 0);
    feed(c, "GET /slow HTTP/1.1\r\nHost: h\r\n\r\nGET /next HTTP/1.1\r\nHost: h\r\n\r\n", 1);
    Ccai_h1_timeout(c, 3001);
    assert_int_equal(s.abandoned, 1);
    char d[256];
    assert_int_equal(error_answer(drain(c, 3001), d, sizeof d), 504);
    /* The stream is still good: the next request follows. */
    Ccai_h1_process(c, 3001);
    assert_int_equal(s.requests, 2);
    assert_string_equal(s.path, "/next");
    Ccai_h1_free(c);
}

/* A peer that does not read its answers is dropped after idle_timeout_ms
 * without progress. */
static void test_write_stall(void **state)
{
    (void)state;
    seen s = {.auto_status = 200};
    Ccai_h1_limits l = limits();
    Ccai_h1 *c = Ccai_h1_new(&l, &events, &s, 0);
    feed(c, "GET /x HTTP/1.1\r\nHost: h\r\n\r\n", 1);
    size_t len;
    assert_non_null(Ccai_h1_output(c, &len));
    Ccai_h1_written(c, 3, 1000);
    assert_int_equal(Ccai_h1_deadline(c), 1000 + 5000);
    Ccai_h1_timeout(c, 6000);
    assert_int_equal(Ccai_h1_get_state(c), CCAI_H1_CLOSED);
    Ccai_h1_free(c);
}

/* Read-ahead is bounded: pipelined bytes beyond max_buffered wait. */
static void test_read_ahead_bounded(void **state)
{
    (void)state;
    seen s = {0};
    Ccai_h1_limits l = limits();
    Ccai_h1 *c = Ccai_h1_new(&l, &events, &s, 0);
    feed(c, "GET /x HTTP/1.1\r\nHost: h\r\n\r\n", 1);
    assert_int_equal(Ccai_h1_read_room(c), 8192);
    static char more[8192];
    memset(more, 'A', sizeof more);
    assert_int_equal(Ccai_h1_input(c, more, sizeof more, 2), CCAI_OK);
    assert_int_equal(Ccai_h1_read_room(c), 0);
    assert_int_equal(s.requests, 1);
    Ccai_h1_free(c);
}

static void test_drain(void **state)
{
    (void)state;
    seen s = {0};
    Ccai_h1_limits l = limits();
    /* Idle: closed at once. */
    Ccai_h1 *c = Ccai_h1_new(&l, &events, &s, 0);
    Ccai_h1_drain(c, 1);
    assert_int_equal(Ccai_h1_get_state(c), CCAI_H1_CLOSED);
    Ccai_h1_free(c);
    /* Waiting: the answer says close; a request read later gets 503. */
    c = Ccai_h1_new(&l, &events, &s, 0);
    feed(c, "GET /a HTTP/1.1\r\nHost: h\r\n\r\n", 1);
    Ccai_h1_drain(c, 2);
    ccai_http_response res = {CCAI_HTTP_RESPONSE_VERSION, 200, "text/plain", NULL, 0, "a", 1};
    Ccai_h1_respond(c, &res, 3);
    assert_non_null(strstr(drain(c, 3), "Connection: close\r\n"));
    assert_int_equal(Ccai_h1_get_state(c), CCAI_H1_LINGER);
    Ccai_h1_free(c);
    c = Ccai_h1_new(&l, &events, &s, 0);
    feed(c, "GET /a HTTP/1.1\r\n", 1);
    Ccai_h1_drain(c, 2);
    s.requests = 0;
    feed(c, "Host: h\r\n\r\n", 3);
    assert_int_equal(s.requests, 0);
    char d[256];
    const char *out = drain(c, 3);
    assert_int_equal(error_answer(out, d, sizeof d), 503);
    assert_non_null(strstr(out, "Retry-After: 1\r\n"));
    Ccai_h1_free(c);
}

static void test_refuse(void **state)
{
    (void)state;
    seen s = {0};
    Ccai_h1_limits l = limits();
    Ccai_h1 *c = Ccai_h1_new(&l, &events, &s, 0);
    Ccai_h1_refuse(c, 503, "too many connections", "see server.max_connections", 1, 0);
    const char *out = drain(c, 0);
    char d[256];
    assert_int_equal(error_answer(out, d, sizeof d), 503);
    assert_non_null(strstr(out, "Retry-After: 1\r\n"));
    assert_non_null(strstr(out, "Connection: close\r\n"));
    assert_string_equal(d, "see server.max_connections");
    assert_int_equal(Ccai_h1_get_state(c), CCAI_H1_LINGER);
    feed(c, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", 1); /* dropped */
    assert_int_equal(s.requests, 0);
    Ccai_h1_free(c);
}

/* Every allocation fails in turn: the connection answers 500 or closes,
 * never misreads a request (no 4xx invented), and leaks nothing. */
static ccai_status sc_pipeline(void)
{
    seen s = {.auto_status = 200};
    Ccai_h1_limits l = limits();
    Ccai_h1 *c = Ccai_h1_new(&l, &events, &s, 0);
    if (!c)
        return CCAI_ERR_NOMEM;
    const char *reqs = "POST /a?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
                       "POST /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "2\r\nde\r\n0\r\n\r\n"
                       "GET /%41 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
    ccai_status st = Ccai_h1_input(c, reqs, strlen(reqs), 1);
    const char *out = Ccai_h1_get_state(c) == CCAI_H1_CLOSED ? "" : drain(c, 1);
    int ok = 0, oom = 0, other = 0;
    for (const char *p = out; (p = strstr(p, "HTTP/1.1 ")) != NULL; p += 9) {
        int status = atoi(p + 9);
        ok += status == 200;
        oom += status == 500;
        other += status != 200 && status != 500;
    }
    Ccai_h1_free(c);
    if (other)
        return CCAI_ERR_INTERNAL;
    if (st == CCAI_OK && ok == 3 && s.requests == 3 && !strcmp(s.path, "/A"))
        return CCAI_OK;
    return st == CCAI_ERR_NOMEM || oom || ok < 3 ? CCAI_ERR_NOMEM : CCAI_ERR_INTERNAL;
}

static void test_out_of_memory(void **state)
{
    (void)state;
    int nomem = 0;
    assert_true(oom_exhaust("h1conn pipeline", sc_pipeline, &nomem) > 10);
    assert_true(nomem > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_and_answer),
        cmocka_unit_test(test_pipelining_in_order),
        cmocka_unit_test(test_empty_lines_between_requests),
        cmocka_unit_test(test_answered_inside_callback_keeps_going),
        cmocka_unit_test(test_duplicate_and_conflicting_length),
        cmocka_unit_test(test_bad_chunk_size),
        cmocka_unit_test(test_path_checks),
        cmocka_unit_test(test_methods_and_versions),
        cmocka_unit_test(test_size_limits),
        cmocka_unit_test(test_expect_continue),
        cmocka_unit_test(test_header_deadline),
        cmocka_unit_test(test_body_deadline),
        cmocka_unit_test(test_eof_while_waiting),
        cmocka_unit_test(test_answer_timeout),
        cmocka_unit_test(test_write_stall),
        cmocka_unit_test(test_read_ahead_bounded),
        cmocka_unit_test(test_drain),
        cmocka_unit_test(test_refuse),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests_name("h1conn", tests, NULL, NULL);
}
