/* The HTTP front end through the public API: routing, authentication,
 * limits, the error envelope, health and the call routes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <ccai/ccai.h>

#include "support/api_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ccai_ctx *make_ctx(ccai_config **cfg, const char *token)
{
    assert_int_equal(ccai_config_new(cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(*cfg, "database.sqlite.path", ":memory:"), CCAI_OK);
    assert_int_equal(ccai_config_set(*cfg, "server.max_body_bytes", "2048"), CCAI_OK);
    if (token)
        assert_int_equal(ccai_config_set(*cfg, "server.api_token", token), CCAI_OK);
    ccai_loop_hooks hooks = null_loop_hooks();
    ccai_ctx *ctx = NULL;
    assert_int_equal(ccai_ctx_new(*cfg, &hooks, NULL, &ctx, NULL), CCAI_OK);
    return ctx;
}

/* With Content-Type: application/json, and Authorization when auth. */
static api_answer request(ccai_ctx *ctx, const char *method, const char *path, const char *query,
                          const char *auth, const char *remote, const char *body)
{
    const char *h[] = {"Content-Type", "application/json", auth ? "Authorization" : NULL, auth,
                       NULL};
    return api_request(ctx, method, path, query, h, remote, body);
}

static void test_health_and_errors(void **state)
{
    (void)state;
    ccai_config *cfg;
    ccai_ctx *ctx = make_ctx(&cfg, "s3cret");
    api_answer a = request(ctx, "GET", "/health/liveness", NULL, NULL, "203.0.113.9", NULL);
    assert_int_equal(a.status, 200);
    assert_string_equal(a.body, "{\"status\":\"ok\"}");
    a = request(ctx, "GET", "/health/readiness", NULL, NULL, "203.0.113.9", NULL);
    assert_int_equal(a.status, 200);
    assert_non_null(strstr(a.body, "\"id\":\"store\",\"status\":\"ok\""));
    assert_non_null(strstr(a.body, "offline dialogue"));

    a = request(ctx, "GET", "/nowhere", NULL, NULL, "127.0.0.1", NULL);
    assert_int_equal(a.status, 404);
    assert_string_equal(a.content_type, "application/json");
    assert_string_equal(a.body,
                        "{\"error\":{\"message\":\"not found\",\"details\":[\"/nowhere\"]}}");
    /* A client's bytes that are not UTF-8, quoted in a detail, are shown,
     * not dropped. */
    a = request(ctx, "GET", "/no\xffwhere", NULL, NULL, "127.0.0.1", NULL);
    assert_int_equal(a.status, 404);
    assert_string_equal(
        a.body, "{\"error\":{\"message\":\"not found\",\"details\":[\"/no\\\\xffwhere\"]}}");
    a = request(ctx, "DELETE", "/call", NULL, "Bearer s3cret", "127.0.0.1", NULL);
    assert_int_equal(a.status, 405);
    assert_string_equal(a.allow, "GET, POST");
    a = request(ctx, "POST", "/call", NULL, "Bearer s3cret", "127.0.0.1",
                "{\"x\":\"0123456789012345678901234567890123456789012345678901234567890123456789"
                "01234567890123456789012345678901234567890123456789012345678901234567890123456789"
                "01234567890123456789012345678901234567890123456789012345678901234567890123456789"
                "01234567890123456789012345678901234567890123456789012345678901234567890123456789"
                "01234567890123456789012345678901234567890123456789012345678901234567890123456789"
                "01234567890123456789012345678901234567890123456789012345678901234567890123456789"
                "01234567890123456789012345678901234567890123456789012345678901234567890123456789"
                "01234567890123456789012345678901234567890123456789012345678901234567890123456789"
                "01234567890123456789012345678901234567890123456789012345678901234567890123456789"
                "01234567890123456789012345678901234567890123456789012345678901234567890123456789"
                "01234567890123456789012345678901234567890123456789012345678901234567890123456789"
                "01234567890123456789012345678901234567890123456789012345678901234567890123456789"
                "01234567890123456789012345678901234567890123456789012345678901234567890123456789"
                "01234567890123456789012345678901234567890123456789012345678901234567890123456789"
                "01234567890123456789012345678901234567890123456789012345678901234567890123456789"
                "01234567890123456789012345678901234567890123456789012345678901234567890123456789"
                "01234567890123456789012345678901234567890123456789012345678901234567890123456789"
                "01234567890123456789012345678901234567890123456789012345678901234567890123456789"
                "01234567890123456789012345678901234567890123456789012345678901234567890123456789"
                "01234567890123456789012345678901234567890123456789012345678901234567890123456789"
                "01234567890123456789012345678901234567890123456789012345678901234567890123456789"
                "01234567890123456789012345678901234567890123456789012345678901234567890123456789"
                "01234567890123456789012345678901234567890123456789012345678901234567890123456789"
                "01234567890123456789012345678901234567890123456789012345678901234567890123456789"
                "01234567890123456789012345678901234567890123456789012345678901234567890123456789"
                "01234567890123456789012345678901234567890123456789012345678901234567890123456789"
                "\"}");
    assert_int_equal(a.status, 413);
    assert_non_null(strstr(a.body, "too large"));
    a = request(ctx, "GET", "relative", NULL, NULL, NULL, NULL);
    assert_int_equal(a.status, 400);
    ccai_ctx_free(ctx);
    ccai_config_free(cfg);
}

static void test_authentication(void **state)
{
    (void)state;
    ccai_config *cfg;
    ccai_ctx *ctx = make_ctx(&cfg, "s3cret");
    api_answer a = request(ctx, "GET", "/call", NULL, NULL, "127.0.0.1", NULL);
    assert_int_equal(a.status, 401); /* a token is configured: loopback is no pass */
    assert_string_equal(a.www_auth, "Bearer realm=\"ccai\"");
    a = request(ctx, "GET", "/call", NULL, "Bearer s3cre", "127.0.0.1", NULL);
    assert_int_equal(a.status, 401);
    a = request(ctx, "GET", "/call", NULL, "Basic czNjcmV0", "127.0.0.1", NULL);
    assert_int_equal(a.status, 401);
    a = request(ctx, "GET", "/call", NULL, "Bearer s3cret", "203.0.113.9", NULL);
    assert_int_equal(a.status, 200);
    ccai_ctx_free(ctx);
    ccai_config_free(cfg);

    /* No token configured: the API answers loopback peers only. */
    ctx = make_ctx(&cfg, NULL);
    a = request(ctx, "GET", "/call", NULL, NULL, "127.0.0.1", NULL);
    assert_int_equal(a.status, 200);
    a = request(ctx, "GET", "/call", NULL, NULL, "::1", NULL);
    assert_int_equal(a.status, 200);
    /* Nothing to authenticate with: 403, not 401. */
    a = request(ctx, "GET", "/call", NULL, NULL, "198.51.100.7", NULL);
    assert_int_equal(a.status, 403);
    a = request(ctx, "GET", "/call", NULL, NULL, NULL, NULL);
    assert_int_equal(a.status, 403);
    ccai_ctx_free(ctx);
    ccai_config_free(cfg);
}

static void test_call_routes(void **state)
{
    (void)state;
    ccai_config *cfg;
    ccai_ctx *ctx = make_ctx(&cfg, "t");
    api_answer a = request(ctx, "GET", "/call", NULL, "Bearer t", NULL, NULL);
    assert_int_equal(a.status, 200); /* empty is 200, not 404 */
    assert_string_equal(a.body, "{\"total\":0,\"calls\":[]}");

    ccai_call_ops ops = {.version = CCAI_CALL_OPS_VERSION};
    ccai_call_params p = {.version = CCAI_CALL_PARAMS_VERSION,
                          .direction = CCAI_INBOUND,
                          .phone_number = "+33612345678",
                          .channel = "local"};
    ccai_call *c1 = NULL, *c2 = NULL;
    assert_int_equal(ccai_call_start(ctx, &p, &ops, NULL, &c1), CCAI_OK);
    p.phone_number = "+14155550100";
    assert_int_equal(ccai_call_start(ctx, &p, &ops, NULL, &c2), CCAI_OK);

    a = request(ctx, "GET", "/call", "phone_number=%2B33612345678&limit=5", "Bearer t", NULL, NULL);
    assert_int_equal(a.status, 200);
    assert_non_null(strstr(a.body, "\"total\":1"));
    assert_non_null(strstr(a.body, ccai_call_id(c1)));
    assert_null(strstr(a.body, ccai_call_id(c2)));
    a = request(ctx, "GET", "/call", "limit=1", "Bearer t", NULL, NULL);
    assert_non_null(strstr(a.body, "\"total\":2"));
    assert_non_null(strstr(a.body, ccai_call_id(c2))); /* newest first */
    a = request(ctx, "GET", "/call", "limit=5000", "Bearer t", NULL, NULL);
    assert_int_equal(a.status, 400);
    a = request(ctx, "GET", "/call", "offset=-1", "Bearer t", NULL, NULL);
    assert_int_equal(a.status, 400);

    char path[64];
    snprintf(path, sizeof path, "/call/%s", ccai_call_id(c2));
    a = request(ctx, "GET", path, NULL, "Bearer t", NULL, NULL);
    assert_int_equal(a.status, 200);
    assert_non_null(strstr(a.body, "\"phone_number\":\"+14155550100\""));
    assert_null(strstr(a.body, "callback_secret"));
    a = request(ctx, "GET", "/call/+33612345678", NULL, "Bearer t", NULL, NULL);
    assert_int_equal(a.status, 200);
    assert_non_null(strstr(a.body, ccai_call_id(c1)));
    a = request(ctx, "GET", "/call/00000000-0000-4000-8000-000000000000", NULL, "Bearer t", NULL,
                NULL);
    assert_int_equal(a.status, 404);
    assert_non_null(strstr(a.body, "\"message\":\"call not found\""));
    a = request(ctx, "GET", "/call/not-a-number", NULL, "Bearer t", NULL, NULL);
    assert_int_equal(a.status, 404);
    ccai_call_free(c1);
    ccai_call_free(c2);
    ccai_ctx_free(ctx);
    ccai_config_free(cfg);
}

static void test_pages_metrics_openapi(void **state)
{
    (void)state;
    ccai_config *cfg;
    ccai_ctx *ctx = make_ctx(&cfg, "t");
    api_answer a = request(ctx, "GET", "/openapi.json", NULL, NULL, "203.0.113.9", NULL);
    assert_int_equal(a.status, 200);
    assert_non_null(strstr(a.body, "\"openapi\""));
    assert_non_null(strstr(a.body, "/call/{call_id_or_phone}"));

    ccai_call_ops ops = {.version = CCAI_CALL_OPS_VERSION};
    ccai_call_params p = {.version = CCAI_CALL_PARAMS_VERSION,
                          .direction = CCAI_INBOUND,
                          .phone_number = "+33612345678",
                          .channel = "local"};
    ccai_call *c = NULL;
    assert_int_equal(ccai_call_start(ctx, &p, &ops, NULL, &c), CCAI_OK);
    ccai_event *ev = NULL;
    assert_int_equal(ccai_event_new(CCAI_EVENT_SPEECH, &ev), CCAI_OK);
    assert_int_equal(ccai_event_set_text(ev, "<script>alert(1)</script> my window broke"), CCAI_OK);
    assert_int_equal(ccai_on_event(c, ev), CCAI_OK);
    ccai_event_free(ev);

    a = request(ctx, "GET", "/metrics", NULL, NULL, "127.0.0.1", NULL);
    assert_int_equal(a.status, 401);
    a = request(ctx, "GET", "/metrics", NULL, "Bearer t", NULL, NULL);
    assert_int_equal(a.status, 200);
    assert_non_null(strstr(a.content_type, "version=0.0.4"));
    assert_non_null(strstr(a.body, "ccai_calls_total{kind=\"new\"} 1"));
    assert_non_null(strstr(a.body, "ccai_calls_in_progress 1"));
    assert_non_null(strstr(a.body, "ccai_turns_total{engine=\"offline\"} 1"));

    a = request(ctx, "GET", "/report", NULL, NULL, "203.0.113.9", NULL);
    assert_int_equal(a.status, 401);
    assert_non_null(strstr(a.content_type, "text/html"));
    a = request(ctx, "GET", "/report", "token=t", NULL, "203.0.113.9", NULL);
    assert_int_equal(a.status, 200);
    assert_non_null(strstr(a.body, "+33612345678"));

    /* The per-call link from the call document opens the page alone. */
    char path[64];
    snprintf(path, sizeof path, "/call/%s", ccai_call_id(c));
    a = request(ctx, "GET", path, NULL, "Bearer t", NULL, NULL);
    const char *rp = strstr(a.body, "\"report_path\":\"");
    assert_non_null(rp);
    rp += strlen("\"report_path\":\"");
    char link[128];
    snprintf(link, sizeof link, "%.*s", (int)(strchr(rp, '"') - rp), rp);
    char *q = strchr(link, '?');
    assert_non_null(q);
    *q++ = '\0';
    a = request(ctx, "GET", link, q, NULL, "203.0.113.9", NULL);
    assert_int_equal(a.status, 200);
    assert_null(strstr(a.body, "<script>alert(1)</script>")); /* escaped */
    assert_non_null(strstr(a.body, "&lt;script&gt;"));
    a = request(ctx, "GET", link, "key=00000000000000000000000000000000", NULL, "203.0.113.9",
                NULL);
    assert_int_equal(a.status, 401);
    a = request(ctx, "GET", "/report/00000000-0000-4000-8000-000000000000", "token=t", NULL, NULL,
                NULL);
    assert_int_equal(a.status, 404);
    ccai_call_free(c);
    ccai_ctx_free(ctx);
    ccai_config_free(cfg);
}

static void test_invalid_arguments(void **state)
{
    (void)state;
    ccai_config *cfg;
    ccai_ctx *ctx = make_ctx(&cfg, NULL);
    api_answer a = {0};
    ccai_http_request req = {99, "GET", "/", NULL, NULL, 0, NULL, 0, NULL};
    assert_int_equal(ccai_ctx_http(ctx, &req, api_on_answer, &a, NULL), CCAI_ERR_INVALID_ARG);
    req.version = CCAI_HTTP_REQUEST_VERSION;
    req.body_len = 4; /* with no body */
    assert_int_equal(ccai_ctx_http(ctx, &req, api_on_answer, &a, NULL), CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_ctx_http(NULL, &req, api_on_answer, &a, NULL), CCAI_ERR_INVALID_ARG);
    assert_int_equal(a.calls, 0); /* a call that fails fires no callback */
    ccai_http_exchange_cancel(NULL);
    ccai_ctx_free(ctx);
    ccai_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_and_errors), cmocka_unit_test(test_authentication),
        cmocka_unit_test(test_call_routes),       cmocka_unit_test(test_pages_metrics_openapi),
        cmocka_unit_test(test_invalid_arguments),
    };
    return cmocka_run_group_tests_name("http-api", tests, NULL, NULL);
}
