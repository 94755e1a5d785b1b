#include "support/httpd.h"
#include "support/wire.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct test_httpd {
    int listen_fd;
    int port;
    pthread_t thread;
    test_handler handler;
    void *ud;
    pthread_mutex_t lock;
    int count;
    int stopping;
};

int test_httpd_write(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int test_httpd_printf(int fd, const char *fmt, ...)
{
    char buf[16384];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof buf)
        return -1;
    return test_httpd_write(fd, buf, (size_t)n);
}

void test_httpd_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static int read_request(int fd, test_request *req)
{
    char buf[65536];
    size_t len = 0;
    char *end = NULL;
    while (!end) {
        if (len == sizeof buf - 1)
            return -1;
        ssize_t n = recv(fd, buf + len, sizeof buf - 1 - len, 0);
        if (n <= 0)
            return -1;
        len += (size_t)n;
        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    size_t head = (size_t)(end - buf) + 4;
    if (sscanf(buf, "%15s %1023s", req->method, req->path) != 2)
        return -1;
    size_t hl = head < sizeof req->headers ? head : sizeof req->headers - 1;
    memcpy(req->headers, buf, hl);
    req->headers[hl] = '\0';
    size_t clen = 0;
    for (char *p = buf; p < end; p++) {
        if ((p == buf || p[-1] == '\n') && strncasecmp(p, "Content-Length:", 15) == 0)
            clen = strtoul(p + 15, NULL, 10);
    }
    req->body = calloc(1, clen + 1);
    if (!req->body)
        return -1;
    size_t have = len - head < clen ? len - head : clen;
    memcpy(req->body, buf + head, have);
    while (have < clen) {
        ssize_t n = recv(fd, req->body + have, clen - have, 0);
        if (n <= 0)
            return -1;
        have += (size_t)n;
    }
    req->body_len = clen;
    return 0;
}

typedef struct conn_arg {
    test_httpd *h;
    int fd;
} conn_arg;

static void *conn_main(void *arg)
{
    conn_arg *ca = arg;
    test_request *req = calloc(1, sizeof *req);
    if (req && read_request(ca->fd, req) == 0) {
        pthread_mutex_lock(&ca->h->lock);
        ca->h->count++;
        pthread_mutex_unlock(&ca->h->lock);
        ca->h->handler(req, ca->fd, ca->h->ud);
    }
    if (req)
        free(req->body);
    free(req);
    shutdown(ca->fd, SHUT_RDWR);
    close(ca->fd);
    free(ca);
    return NULL;
}

static void *accept_main(void *arg)
{
    test_httpd *h = arg;
    for (;;) {
        int fd = accept(h->listen_fd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR)
                continue;
            return NULL;
        }
        pthread_mutex_lock(&h->lock);
        int stopping = h->stopping;
        pthread_mutex_unlock(&h->lock);
        if (stopping) {
            close(fd);
            return NULL;
        }
        conn_arg *ca = malloc(sizeof *ca);
        pthread_t t;
        if (!ca) {
            close(fd);
            continue;
        }
        ca->h = h;
        ca->fd = fd;
        if (pthread_create(&t, NULL, conn_main, ca) != 0) {
            close(fd);
            free(ca);
            continue;
        }
        pthread_detach(t);
    }
}

test_httpd *test_httpd_start(test_handler handler, void *ud)
{
    test_httpd *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->handler = handler;
    h->ud = ud;
    pthread_mutex_init(&h->lock, NULL);
    if ((h->listen_fd = wire_listen_loopback(64, &h->port)) < 0) {
        pthread_mutex_destroy(&h->lock);
        free(h);
        return NULL;
    }
    if (pthread_create(&h->thread, NULL, accept_main, h) != 0) {
        close(h->listen_fd);
        free(h);
        return NULL;
    }
    return h;
}

int test_httpd_port(const test_httpd *h)
{
    return h->port;
}

int test_httpd_count(test_httpd *h)
{
    pthread_mutex_lock(&h->lock);
    int n = h->count;
    pthread_mutex_unlock(&h->lock);
    return n;
}

void test_httpd_stop(test_httpd *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->lock);
    h->stopping = 1;
    pthread_mutex_unlock(&h->lock);
    /* Wake accept() with a connection of our own. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)h->port);
    connect(fd, (struct sockaddr *)&a, sizeof a);
    close(fd);
    pthread_join(h->thread, NULL);
    close(h->listen_fd);
    /* Give detached connection threads that are mid-stall time to notice. */
    test_httpd_sleep_ms(50);
    pthread_mutex_destroy(&h->lock);
    free(h);
}
