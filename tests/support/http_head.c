/* An HTTP/1.x request head as the stand-ins read it (support/http_head.h). */
#include "support/http_head.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static char *trim(char *s, char *end)
{
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        end--;
    *end = '\0';
    return s;
}

static int add_header(http_head *h, size_t *cap, const char *name, const char *value)
{
    if (h->nh == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        http_hdr *v = realloc(h->hdrs, *cap * sizeof *v);
        if (!v)
            return -1;
        h->hdrs = v;
    }
    h->hdrs[h->nh].name = strdup(name);
    h->hdrs[h->nh].value = strdup(value);
    h->nh++;
    return 0;
}

int http_head_parse(const char *b, size_t len, size_t max_head, http_head *h)
{
    memset(h, 0, sizeof *h);
    const char *end = b ? strstr(b, "\r\n\r\n") : NULL;
    if (!end)
        return len > max_head ? -1 : 0;
    h->len = (size_t)(end - b) + 4;
    char *copy = strndup(b, h->len - 4);
    if (!copy)
        return -1;
    int rc = -1;
    char *line = copy, *nl = strstr(line, "\r\n");
    char version[16];
    if (nl)
        *nl = '\0';
    if (sscanf(line, "%15s %8191s %15s", h->method, h->target, version) != 3 ||
        strncmp(version, "HTTP/1.", 7))
        goto out;
    h->http10 = strcmp(version, "HTTP/1.0") == 0;
    size_t cap = 0;
    while (nl) {
        line = nl + 2;
        nl = strstr(line, "\r\n");
        if (nl)
            *nl = '\0';
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        *colon = '\0';
        char *name = trim(line, colon);
        char *value = trim(colon + 1, colon + 1 + strlen(colon + 1));
        if (add_header(h, &cap, name, value))
            goto out;
        if (!strcasecmp(name, "Content-Length"))
            h->clen = strtoll(value, NULL, 10);
        else if (!strcasecmp(name, "Transfer-Encoding") && strcasestr(value, "chunked"))
            h->chunked = 1;
        else if (!strcasecmp(name, "Connection") && strcasestr(value, "close"))
            h->conn_close = 1, h->conn_last = -1;
        else if (!strcasecmp(name, "Connection") && strcasestr(value, "keep-alive"))
            h->conn_last = 1;
        else if (!strcasecmp(name, "Expect") && !strcasecmp(value, "100-continue"))
            h->expect_continue = 1;
    }
    rc = 1;
out:
    free(copy);
    return rc;
}

void http_head_free(http_head *h)
{
    for (size_t i = 0; i < h->nh; i++) {
        free(h->hdrs[i].name);
        free(h->hdrs[i].value);
    }
    free(h->hdrs);
    h->hdrs = NULL;
    h->nh = 0;
}
