/* A tiny HTTP/1.1 server in a thread, for tests: each connection's request
 * is handed to a handler that writes whatever the test wants (chunks,
 * stalls, cuts). Loopback only. */
#ifndef CCAI_TEST_HTTPD_H
#define CCAI_TEST_HTTPD_H

#include <stddef.h>

typedef struct test_httpd test_httpd;

typedef struct test_request {
    char method[16];
    char path[1024];
    char headers[8192]; /* raw header block */
    char *body;         /* NUL-terminated */
    size_t body_len;
} test_request;

/* Write to the client; returns 0 or -1 when the client went away. */
int test_httpd_write(int fd, const void *data, size_t len);
int test_httpd_printf(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void test_httpd_sleep_ms(int ms);

typedef void (*test_handler)(const test_request *req, int fd, void *ud);

/* Start on 127.0.0.1 with an ephemeral port. */
test_httpd *test_httpd_start(test_handler handler, void *ud);
int test_httpd_port(const test_httpd *h);
/* Requests served so far. */
int test_httpd_count(test_httpd *h);
void test_httpd_stop(test_httpd *h);

#endif
