/* One request through ccai_ctx_http(), waited for (see the header). */
#include "support/exchange.h"

#include <stdio.h>
#include <string.h>

static void on_answer(ccai_http_exchange *x, const ccai_http_response *res, void *ud)
{
    (void)x;
    http_answer *a = ud;
    a->done = 1;
    a->status = res->status;
    size_t len = 0;
    for (size_t i = 0; i < res->n_headers && len < sizeof a->headers; i++)
        len += (size_t)snprintf(a->headers + len, sizeof a->headers - len, "%s: %s\n",
                                res->headers[i].name, res->headers[i].value);
    snprintf(a->body, sizeof a->body, "%.*s", (int)res->body_len, res->body);
}

int exchange_run(ccai_ctx *ctx, ccai_poll *poll, const char *method, const char *target,
                 const ccai_http_header *h, size_t n, const char *body, const char *remote,
                 http_answer *a)
{
    char path[1024], query[1024] = "";
    const char *q = strchr(target, '?');
    snprintf(path, sizeof path, "%.*s", q ? (int)(q - target) : (int)strlen(target), target);
    if (q)
        snprintf(query, sizeof query, "%s", q + 1);
    ccai_http_request req = {CCAI_HTTP_REQUEST_VERSION, method, path, q ? query : NULL, h, n, body,
                             body ? strlen(body) : 0,   remote};
    memset(a, 0, sizeof *a);
    if (ccai_ctx_http(ctx, &req, on_answer, a, NULL) != CCAI_OK)
        return 0;
    uint64_t deadline = ccai_time_ms() + 10000;
    while (!a->done && ccai_time_ms() < deadline)
        ccai_poll_run_once(poll, 20);
    return a->done;
}
