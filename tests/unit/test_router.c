/* http/router.c: the route table. Parts register tables of routes with
 * their state; a request is matched in registration order, its captures
 * given to the route, the method checked (405 with Allow, HEAD as GET),
 * who asks checked by the route's kind (token, public, provider), and the
 * route called with its part's state. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "support/api_http.h"

#include "http/router.h"
#include "io/io.h"

#include <ccai/adapters/poll.h>

#include <stdio.h>
#include <string.h>

#define TOKEN "router-test-token"

/* A part: its name says which table answered. */
typedef struct part {
    const char *name;
    int calls;
} part;

static void route_echo(ccai_http_exchange *x, void *ud)
{
    part *p = ud;
    p->calls++;
    assert_ptr_equal(x->route_ud, ud);
    char body[256];
    snprintf(body, sizeof body, "%s:", p->name);
    for (size_t i = 0; i < x->n_params; i++)
        snprintf(body + strlen(body), sizeof body - strlen(body), "%s%s", i ? "," : "",
                 Ccai_exchange_param(x, i));
    Ccai_exchange_respond(x, 200, "text/plain", body, strlen(body));
}

static const Ccai_route first_routes[] = {
    {"GET", "/things/:id", route_echo, CCAI_ROUTE_TOKEN, 0},
    {"POST", "/things", route_echo, CCAI_ROUTE_TOKEN, CCAI_ROUTE_WRITES},
    {"GET", "/a/:x/b/:y", route_echo, CCAI_ROUTE_PUBLIC, 0},
};

static const Ccai_route second_routes[] = {
    {"GET", "/things/:id", route_echo, CCAI_ROUTE_PUBLIC, 0}, /* shadowed by the first */
    {"PUT", "/things/:id", route_echo, CCAI_ROUTE_TOKEN, 0},
    {"POST", "/hook", route_echo, CCAI_ROUTE_PROVIDER, CCAI_ROUTE_WRITES | CCAI_ROUTE_WAITS},
};

typedef struct fixture {
    ccai_config *cfg;
    ccai_poll *poll;
    ccai_ctx *ctx;
    Ccai_metrics *metrics;
    Ccai_router *router;
    part first, second;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(ccai_config_new(&f->cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(f->cfg, "database.sqlite.path", ":memory:"), CCAI_OK);
    assert_int_equal(ccai_config_set(f->cfg, "server.api_token", TOKEN), CCAI_OK);
    assert_int_equal(ccai_poll_new(f->cfg, &f->poll, &f->ctx, NULL), CCAI_OK);
    f->metrics = Ccai_metrics_new();
    assert_non_null(f->metrics);
    static const Ccai_logger quiet = {NULL, NULL, CCAI_LOG_ERROR};
    Ccai_router_env env = {f->ctx, f->cfg, &quiet, Ccai_ctx_store(f->ctx), f->metrics};
    assert_int_equal(Ccai_router_new(&env, &f->router), CCAI_OK);
    f->first.name = "first";
    f->second.name = "second";
    assert_int_equal(
        Ccai_router_add(f->router, first_routes, CCAI_ARRAY_SIZE(first_routes), &f->first),
        CCAI_OK);
    assert_int_equal(
        Ccai_router_add(f->router, second_routes, CCAI_ARRAY_SIZE(second_routes), &f->second),
        CCAI_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    Ccai_router_free(f->router);
    Ccai_metrics_free(f->metrics);
    ccai_poll_free(f->poll);
    ccai_config_free(f->cfg);
    free(f);
    return 0;
}

/* One request through the router, answered at once. */
static void ask(fixture *f, const char *method, const char *path, bool token, api_answer *a)
{
    const ccai_http_header auth = {"Authorization", "Bearer " TOKEN};
    ccai_http_request req = {
        .version = CCAI_HTTP_REQUEST_VERSION,
        .method = method,
        .path = path,
        .headers = token ? &auth : NULL,
        .n_headers = token ? 1 : 0,
        .remote_addr = "192.0.2.7", /* not this machine: the token decides */
    };
    memset(a, 0, sizeof *a);
    assert_int_equal(Ccai_router_handle(f->router, &req, api_on_answer, a, NULL), CCAI_OK);
    assert_int_equal(a->calls, 1);
}

/* The first table that matches answers, with the captures and its state. */
static void test_match_order_and_captures(void **state)
{
    fixture *f = *state;
    api_answer a;
    ask(f, "GET", "/things/42", true, &a);
    assert_int_equal(a.status, 200);
    assert_string_equal(a.body, "first:42");
    ask(f, "GET", "/a/1/b/two", false, &a);
    assert_int_equal(a.status, 200);
    assert_string_equal(a.body, "first:1,two");
    ask(f, "PUT", "/things/7", true, &a); /* only the second table has PUT */
    assert_int_equal(a.status, 200);
    assert_string_equal(a.body, "second:7");
    assert_int_equal(f->first.calls, 2);
    assert_int_equal(f->second.calls, 1);
}

/* HEAD is GET; another method of a known path is 405 with Allow; an
 * unknown path, or a capture with nothing in it, is 404. */
static void test_methods_and_unknown_paths(void **state)
{
    fixture *f = *state;
    api_answer a;
    ask(f, "HEAD", "/things/42", true, &a);
    assert_int_equal(a.status, 200);
    ask(f, "DELETE", "/things/42", true, &a);
    assert_int_equal(a.status, 405);
    assert_string_equal(a.allow, "GET, PUT"); /* each method once */
    ask(f, "GET", "/things", true, &a);
    assert_int_equal(a.status, 405);
    assert_string_equal(a.allow, "POST");
    ask(f, "GET", "/things/", true, &a);
    assert_int_equal(a.status, 404);
    ask(f, "GET", "/things/1/more", true, &a);
    assert_int_equal(a.status, 404);
    ask(f, "GET", "/nope", true, &a);
    assert_int_equal(a.status, 404);
    assert_int_equal(f->first.calls + f->second.calls, 1);
}

/* Who asks: a token route refuses a request without the token; a public
 * one and a provider webhook (its own scheme, checked by the route) do
 * not ask for it. */
static void test_auth_by_route_kind(void **state)
{
    fixture *f = *state;
    api_answer a;
    ask(f, "GET", "/things/42", false, &a);
    assert_int_equal(a.status, 401);
    ask(f, "POST", "/things", false, &a);
    assert_int_equal(a.status, 401);
    assert_int_equal(f->first.calls, 0);
    ask(f, "POST", "/things", true, &a);
    assert_int_equal(a.status, 200);
    ask(f, "POST", "/hook", false, &a);
    assert_int_equal(a.status, 200);
    assert_string_equal(a.body, "second:");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_match_order_and_captures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_methods_and_unknown_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth_by_route_kind, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
