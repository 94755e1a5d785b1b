/* For the api tests (they see only <ccai/ccai.h>): a loop that never runs
 * (hooks that do nothing: a context whose work the test drives itself),
 * and ccai_ctx_http() requests answered at once. Header-only; include
 * after <cmocka.h>. */
#ifndef CCAI_TEST_API_HTTP_H
#define CCAI_TEST_API_HTTP_H

#include <ccai/ccai.h>

#include <stdio.h>
#include <string.h>

static inline int null_loop_watch(void *loop_ud, int fd, int events, void **fd_slot)
{
    (void)loop_ud;
    (void)fd;
    (void)events;
    (void)fd_slot;
    return 0;
}

static inline int null_loop_timer(void *loop_ud, int64_t timeout_ms)
{
    (void)loop_ud;
    (void)timeout_ms;
    return 0;
}

/* The hooks of a loop that never runs. */
static inline ccai_loop_hooks null_loop_hooks(void)
{
    ccai_loop_hooks h = {CCAI_LOOP_HOOKS_VERSION, null_loop_watch, null_loop_timer, NULL};
    return h;
}

/* An answer: its status, content type, body and the headers tests look at. */
typedef struct api_answer {
    int calls;
    int status;
    char content_type[64];
    char body[262144];
    char allow[64];
    char www_auth[64];
    char retry_after[16];
} api_answer;

static inline void api_on_answer(ccai_http_exchange *x, const ccai_http_response *res, void *ud)
{
    (void)x;
    api_answer *a = (api_answer *)ud;
    a->calls++;
    a->status = res->status;
    snprintf(a->content_type, sizeof a->content_type, "%s",
             res->content_type ? res->content_type : "");
    snprintf(a->body, sizeof a->body, "%.*s", (int)res->body_len, res->body);
    for (size_t i = 0; i < res->n_headers; i++) {
        const char *n = res->headers[i].name, *v = res->headers[i].value;
        if (!strcmp(n, "Allow"))
            snprintf(a->allow, sizeof a->allow, "%s", v);
        else if (!strcmp(n, "WWW-Authenticate"))
            snprintf(a->www_auth, sizeof a->www_auth, "%s", v);
        else if (!strcmp(n, "Retry-After"))
            snprintf(a->retry_after, sizeof a->retry_after, "%s", v);
    }
}

/* method path?query from remote with headers (name, value pairs,
 * NULL-terminated; NULL for none) and body (NULL for none): the answer,
 * which must come at once. */
static inline api_answer api_request(ccai_ctx *ctx, const char *method, const char *path,
                                     const char *query, const char *const *headers,
                                     const char *remote, const char *body)
{
    ccai_http_header h[8];
    size_t n = 0;
    for (; headers && headers[2 * n]; n++) {
        assert_true(n < 8);
        h[n].name = headers[2 * n];
        h[n].value = headers[2 * n + 1];
    }
    ccai_http_request req = {CCAI_HTTP_REQUEST_VERSION, method, path, query, h, n, body,
                             body ? strlen(body) : 0,   remote};
    api_answer a;
    memset(&a, 0, sizeof a);
    ccai_http_exchange *x = (ccai_http_exchange *)1;
    assert_int_equal(ccai_ctx_http(ctx, &req, api_on_answer, &a, &x), CCAI_OK);
    assert_null(x); /* answered at once */
    assert_int_equal(a.calls, 1);
    return a;
}

#endif
