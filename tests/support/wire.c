/* HTTP/1.1 helpers for the stand-ins (see the header). */
#include "support/wire.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

int wire_write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

const char *wire_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return "Status";
    }
}

void wire_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

const char *wire_find_header(const char *head, const char *name, size_t *ret_len)
{
    size_t nl = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            const char *end = strstr(v, "\r\n");
            size_t n = end ? (size_t)(end - v) : strlen(v);
            while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
                n--;
            *ret_len = n;
            return v;
        }
    }
    return NULL;
}

void wire_request_free(wire_request *r)
{
    free(r->target);
    free(r->head);
    free(r->body);
    r->target = r->head = r->body = NULL;
    r->body_len = 0;
}

int wire_read_request(int fd, wire_request *r, size_t head_max, size_t body_max)
{
    memset(r, 0, sizeof *r);
    char *buf = malloc(head_max + 1);
    size_t len = 0;
    char *end = NULL;
    if (!buf)
        return -1;
    while (!end) {
        if (len == head_max)
            goto fail;
        ssize_t n = recv(fd, buf + len, head_max - len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            goto fail;
        len += (size_t)n;
        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    size_t head = (size_t)(end - buf) + 2; /* keep the last CRLF for header search */
    char target[2048];
    if (sscanf(buf, "%15s %2047s", r->method, target) != 2)
        goto fail;
    r->target = strdup(target);
    r->head = strndup(buf, head);
    size_t vlen = 0, clen = 0;
    const char *cl = wire_find_header(r->head ? r->head : "", "Content-Length", &vlen);
    if (cl)
        clen = strtoul(cl, NULL, 10);
    if (clen > body_max || !r->target || !r->head)
        goto fail;
    r->body = malloc(clen + 1);
    if (!r->body)
        goto fail;
    size_t have = len - (head + 2) < clen ? len - (head + 2) : clen;
    memcpy(r->body, buf + head + 2, have);
    while (have < clen) {
        ssize_t n = recv(fd, r->body + have, clen - have, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            goto fail;
        have += (size_t)n;
    }
    r->body[clen] = '\0';
    r->body_len = clen;
    free(buf);
    return 0;
fail:
    free(buf);
    wire_request_free(r);
    return -1;
}

int wire_listen_loopback(int backlog, int *ret_port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, backlog) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
        close(fd);
        return -1;
    }
    *ret_port = ntohs(a.sin_port);
    return fd;
}
