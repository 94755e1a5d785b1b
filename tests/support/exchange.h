/* One request through ccai_ctx_http() on a poll-driven context, waited
 * for: what the in-process integration tests post as a provider would. */
#ifndef CCAI_TEST_EXCHANGE_H
#define CCAI_TEST_EXCHANGE_H

#include <ccai/adapters/poll.h>

typedef struct http_answer {
    int done;
    int status;
    char headers[2048]; /* the extra headers, "Name: value\n" each */
    char body[65536];
} http_answer;

/* Send method target ("/path?query") with headers h[0..n) and body (may be
 * NULL) from remote address remote; run the loop until the answer comes
 * (10 s at most). Returns 1 when it came, 0 otherwise. */
int exchange_run(ccai_ctx *ctx, ccai_poll *poll, const char *method, const char *target,
                 const ccai_http_header *h, size_t n, const char *body, const char *remote,
                 http_answer *a);

#endif
