/* No-token mode through the public API: without server.api_token the
 * server trusts this machine only, so a request must be meant for it.
 * A foreign Host (DNS rebinding) gets 421, a foreign Origin (a page of
 * another site in a browser of this machine) 403, a request relayed by a
 * proxy or sent to the public name is not trusted; the CLI's and the
 * server's own pages' requests work, per-call report links and provider
 * webhooks keep their own authentication. With a token none of this
 * applies: the token is the authentication. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <ccai/ccai.h>

#include "support/api_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ccai_ctx *make_ctx(ccai_config **cfg, const char *token, const char *public_url)
{
    assert_int_equal(ccai_config_new(cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(*cfg, "database.sqlite.path", ":memory:"), CCAI_OK);
    if (token)
        assert_int_equal(ccai_config_set(*cfg, "server.api_token", token), CCAI_OK);
    if (public_url)
        assert_int_equal(ccai_config_set(*cfg, "server.public_url", public_url), CCAI_OK);
    ccai_loop_hooks hooks = null_loop_hooks();
    ccai_ctx *ctx = NULL;
    assert_int_equal(ccai_ctx_new(*cfg, &hooks, NULL, &ctx, NULL), CCAI_OK);
    return ctx;
}

static void assert_envelope(const api_answer *a, const char *message)
{
    char want[128];
    snprintf(want, sizeof want, "{\"error\":{\"message\":\"%s\",\"details\":[", message);
    if (strncmp(a->body, want, strlen(want)) != 0)
        fail_msg("HTTP %d: %s, wanted the message %s", a->status, a->body, message);
}

/* DNS rebinding: evil.example resolves to 127.0.0.1, the browser sends
 * Host: evil.example. Refused on every route but the providers'. */
static void test_foreign_host(void **state)
{
    (void)state;
    ccai_config *cfg;
    ccai_ctx *ctx = make_ctx(&cfg, NULL, NULL);
    static const char *const foreign[] = {"evil.example:8080",
                                          "evil.example",
                                          "127.0.0.1.evil.example",
                                          "localhost.evil.example:80",
                                          "[::2]:8080",
                                          "127.0.0.1:99999",
                                          "",
                                          "a b"};
    for (size_t i = 0; i < sizeof foreign / sizeof *foreign; i++) {
        const char *h[] = {"Host", foreign[i], NULL};
        api_answer a = api_request(ctx, "GET", "/call", NULL, h, "127.0.0.1", NULL);
        assert_int_equal(a.status, 421);
        assert_envelope(&a, "misdirected request");
        a = api_request(ctx, "POST", "/chat", NULL, h, "127.0.0.1", "{}");
        assert_int_equal(a.status, 421);
        a = api_request(ctx, "GET", "/health/readiness", NULL, h, "127.0.0.1", NULL);
        assert_int_equal(a.status, 421);
        a = api_request(ctx, "GET", "/report", NULL, h, "127.0.0.1", NULL);
        assert_int_equal(a.status, 421);
    }
    /* This machine's names: served. */
    static const char *const local[] = {"127.0.0.1:8080",    "localhost:8080", "LocalHost",
                                        "localhost.",        "[::1]:8080",     "127.0.0.2",
                                        "[::ffff:127.0.0.1]"};
    for (size_t i = 0; i < sizeof local / sizeof *local; i++) {
        const char *h[] = {"Host", local[i], NULL};
        api_answer a = api_request(ctx, "GET", "/call", NULL, h, "127.0.0.1", NULL);
        if (a.status != 200)
            fail_msg("Host %s: HTTP %d %s", local[i], a.status, a.body);
    }
    /* Provider webhooks keep their own authentication (a forged Twilio
     * request is refused by its signature, not by the Host rule). */
    const char *h[] = {"Host", "bot.example.com", "Content-Type",
                       "application/x-www-form-urlencoded", NULL};
    api_answer a = api_request(ctx, "POST", "/twilio/voice", NULL, h, "127.0.0.1", "CallSid=CA1");
    assert_true(a.status != 421 && a.status >= 400);
    ccai_ctx_free(ctx);
    ccai_config_free(cfg);
}

/* CSRF: a page of another site posts to the local server from the user's
 * browser (with Host right, Origin foreign). */
static void test_foreign_origin(void **state)
{
    (void)state;
    ccai_config *cfg;
    ccai_ctx *ctx = make_ctx(&cfg, NULL, NULL);
    static const char *const foreign[] = {"https://evil.example",    "null",
                                          "http://localhost:3000",   "http://127.0.0.1:8081",
                                          "http://127.0.0.1:8080/x", "file://"};
    for (size_t i = 0; i < sizeof foreign / sizeof *foreign; i++) {
        const char *h[] = {"Host", "127.0.0.1:8080", "Origin", foreign[i], NULL};
        api_answer a = api_request(ctx, "POST", "/chat", NULL, h, "127.0.0.1", "{}");
        if (a.status != 403)
            fail_msg("Origin %s: HTTP %d %s", foreign[i], a.status, a.body);
        assert_envelope(&a, "cross-origin request refused");
        a = api_request(ctx, "GET", "/call", NULL, h, "127.0.0.1", NULL);
        assert_int_equal(a.status, 403);
    }
    /* The server's own pages (same origin), and clients that send none. */
    const char *same[] = {"Host", "127.0.0.1:8080", "Origin", "http://127.0.0.1:8080", NULL};
    api_answer a = api_request(ctx, "POST", "/chat", NULL, same, "127.0.0.1", "{}");
    assert_int_equal(a.status, 200);
    const char *same_name[] = {"Host", "localhost:8080", "Origin", "http://LOCALHOST:8080", NULL};
    a = api_request(ctx, "GET", "/call", NULL, same_name, "127.0.0.1", NULL);
    assert_int_equal(a.status, 200);
    const char *cli[] = {"Host", "127.0.0.1:8080", "User-Agent", "ccai-cli", NULL};
    a = api_request(ctx, "GET", "/call", NULL, cli, "127.0.0.1", NULL);
    assert_int_equal(a.status, 200);
    const char *http10[] = {"Origin", "http://127.0.0.1:8080", NULL}; /* no Host */
    a = api_request(ctx, "GET", "/call", NULL, http10, "127.0.0.1", NULL);
    assert_int_equal(a.status, 200);
    ccai_ctx_free(ctx);
    ccai_config_free(cfg);
}

/* A reverse proxy on the same host: its connection is a loopback one, the
 * client is anyone. Not trusted without a token; the per-call report link
 * still opens the report, public routes still answer. */
static void test_proxy_not_trusted(void **state)
{
    (void)state;
    ccai_config *cfg;
    ccai_ctx *ctx = make_ctx(&cfg, NULL, "https://bot.example.com/");
    api_answer a =
        api_request(ctx, "POST", "/chat", NULL, NULL, "127.0.0.1", "{\"lang\":\"en-US\"}");
    assert_int_equal(a.status, 200);
    char id[64] = "";
    const char *p = strstr(a.body, "\"call_id\":\"");
    assert_non_null(p);
    snprintf(id, sizeof id, "%.36s", p + 11);
    char path[96];
    snprintf(path, sizeof path, "/call/%s", id);
    a = api_request(ctx, "GET", path, NULL, NULL, "127.0.0.1", NULL);
    assert_int_equal(a.status, 200);
    const char *rp = strstr(a.body, "\"report_path\":\"");
    assert_non_null(rp);
    char report[256];
    snprintf(report, sizeof report, "%.*s", (int)strcspn(rp + 15, "\""), rp + 15);
    char *q = strchr(report, '?');
    assert_non_null(q);
    *q++ = '\0';

    static const char *const relayed[][4] = {
        {"Host", "bot.example.com", "X-Forwarded-For", "203.0.113.5"},
        {"Host", "127.0.0.1:8080", "Forwarded", "for=203.0.113.5;proto=https"},
        {"Host", "127.0.0.1:8080", "X-Real-IP", "203.0.113.5"},
        {"Host", "bot.example.com", "User-Agent", "a proxy that adds nothing"},
    };
    for (size_t i = 0; i < sizeof relayed / sizeof *relayed; i++) {
        const char *h[] = {relayed[i][0], relayed[i][1], relayed[i][2], relayed[i][3], NULL};
        a = api_request(ctx, "GET", "/call", NULL, h, "127.0.0.1", NULL);
        assert_int_equal(a.status, 403);
        assert_envelope(&a, "forbidden");
        assert_non_null(strstr(a.body, "proxy"));
        a = api_request(ctx, "POST", "/chat", NULL, h, "127.0.0.1", "{}");
        assert_int_equal(a.status, 403);
        a = api_request(ctx, "GET", "/report", NULL, h, "127.0.0.1", NULL);
        assert_int_equal(a.status, 401); /* the list needs the token */
        a = api_request(ctx, "GET", report, q, h, "127.0.0.1", NULL);
        assert_int_equal(a.status, 200); /* the call's own link */
        a = api_request(ctx, "GET", "/health/liveness", NULL, h, "127.0.0.1", NULL);
        assert_int_equal(a.status, 200);
    }
    /* The public origin's pages may call it (and are refused by the proxy
     * rule above when they need the token). */
    const char *pub[] = {"Host", "bot.example.com", "Origin", "https://bot.example.com", NULL};
    a = api_request(ctx, "GET", "/health/readiness", NULL, pub, "127.0.0.1", NULL);
    assert_int_equal(a.status, 200);
    ccai_ctx_free(ctx);
    ccai_config_free(cfg);
}

/* With a token the token decides: any Host, Origin or proxy. */
static void test_token_mode_unchanged(void **state)
{
    (void)state;
    ccai_config *cfg;
    ccai_ctx *ctx = make_ctx(&cfg, "s3cret", NULL);
    const char *h[] = {"Host",
                       "api.example.org",
                       "Origin",
                       "https://x.example",
                       "Authorization",
                       "Bearer s3cret",
                       "X-Forwarded-For",
                       "198.51.100.1",
                       NULL};
    api_answer a = api_request(ctx, "GET", "/call", NULL, h, "10.0.0.5", NULL);
    assert_int_equal(a.status, 200);
    const char *no[] = {"Host", "127.0.0.1:8080", NULL};
    a = api_request(ctx, "GET", "/call", NULL, no, "127.0.0.1", NULL);
    assert_int_equal(a.status, 401);
    ccai_ctx_free(ctx);
    ccai_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_foreign_host),
        cmocka_unit_test(test_foreign_origin),
        cmocka_unit_test(test_proxy_not_trusted),
        cmocka_unit_test(test_token_mode_unchanged),
    };
    return cmocka_run_group_tests_name("http-local", tests, NULL, NULL);
}
