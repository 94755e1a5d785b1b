/* An HTTP/1.x request head as the stand-ins read it (support/svc.c,
 * support/llm_standin.c): the request line, the headers in order, and what
 * the framing and connection headers say. Test code. */
#ifndef CCAI_TEST_HTTP_HEAD_H
#define CCAI_TEST_HTTP_HEAD_H

#include <stddef.h>

typedef struct http_hdr {
    char *name, *value;
} http_hdr;

typedef struct http_head {
    char method[16];
    char target[8192];
    int http10;     /* HTTP/1.0 (else 1.1: keep-alive by default) */
    http_hdr *hdrs; /* malloc'ed, each name and value too */
    size_t nh;
    long long clen;      /* Content-Length (0 absent) */
    int chunked;         /* Transfer-Encoding: chunked */
    int conn_close;      /* a Connection header said close */
    int conn_last;       /* the last that said close (-1) or keep-alive (1) */
    int expect_continue; /* Expect: 100-continue */
    size_t len;          /* bytes of the head, the blank line included */
} http_head;

/* b: NUL-terminated, len bytes received. 1 = a whole head (h filled),
 * 0 = more needed (len <= max_head), -1 = bad (over max_head, not an
 * HTTP/1.x request line, out of memory). The headers read are in h->hdrs
 * whatever the result: free them with http_head_free, or take them. */
int http_head_parse(const char *b, size_t len, size_t max_head, http_head *h);
void http_head_free(http_head *h);

#endif
