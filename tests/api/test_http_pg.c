/* A context on database.mode postgresql through the public API, against a
 * real PostgreSQL this test starts (tests/support/pg_server.h; skipped,
 * exit 77, without PostgreSQL's binaries): conversations stored and read
 * back, readiness committing a row, an outage of the server (503, then
 * 200 once it is back, without restarting the context). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ccai/ccai.h>

#include "support/api_http.h"
#include "support/pg_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pg_server g_pg;

static ccai_ctx *make_ctx(ccai_config **cfg, const char *dsn)
{
    assert_int_equal(ccai_config_new(cfg), CCAI_OK);
    const char *env[] = {"DATABASE__MODE=postgresql", NULL, NULL};
    char dsn_env[512];
    snprintf(dsn_env, sizeof dsn_env, "DATABASE__POSTGRESQL__DSN=%s", dsn);
    env[1] = dsn_env;
    assert_int_equal(ccai_config_apply_env(*cfg, env), CCAI_OK);
    assert_int_equal(ccai_config_set(*cfg, "database.postgresql.connect_timeout_ms", "2000"),
                     CCAI_OK);
    assert_int_equal(ccai_config_set(*cfg, "database.sqlite.path", ":memory:"), CCAI_OK);
    ccai_loop_hooks hooks = null_loop_hooks();
    ccai_ctx *ctx = NULL;
    char *why = NULL;
    ccai_status st = ccai_ctx_new(*cfg, &hooks, NULL, &ctx, &why);
    if (st != CCAI_OK)
        fail_msg("ccai_ctx_new: %s", why ? why : ccai_status_str(st));
    return ctx;
}

static api_answer post(ccai_ctx *ctx, const char *path, const char *body)
{
    const char *h[] = {"Content-Type", "application/json", NULL};
    return api_request(ctx, "POST", path, NULL, h, "127.0.0.1", body);
}

static api_answer get(ccai_ctx *ctx, const char *path)
{
    return api_request(ctx, "GET", path, NULL, NULL, "127.0.0.1", NULL);
}

/* A chat (the offline dialogue answers), stored in PostgreSQL: the call,
 * its messages, the history's list. */
static void test_conversation_stored(void **state)
{
    (void)state;
    char dsn[400];
    assert_int_equal(pg_server_schema_dsn(&g_pg, dsn, sizeof dsn), 0);
    ccai_config *cfg = NULL;
    ccai_ctx *ctx = make_ctx(&cfg, dsn);
    char *json = NULL;
    assert_int_equal(ccai_ctx_store_describe(ctx, &json), CCAI_OK);
    assert_non_null(strstr(json, "\"backend\":\"postgresql\""));
    ccai_free(json);

    api_answer a = post(ctx, "/chat", "{}");
    assert_int_equal(a.status, 200);
    const char *idp = strstr(a.body, "\"call_id\":\"");
    assert_non_null(idp);
    char id[64], path[128];
    snprintf(id, sizeof id, "%.36s", idp + 11);
    snprintf(path, sizeof path, "/chat/%s", id);
    a = post(ctx, path, "{\"text\":\"Hello, I had a car accident.\"}");
    assert_int_equal(a.status, 200);

    assert_int_equal(ccai_ctx_calls_list_json(ctx, NULL, 10, 0, &json), CCAI_OK);
    assert_non_null(strstr(json, "\"total\":1"));
    assert_non_null(strstr(json, id));
    ccai_free(json);
    snprintf(path, sizeof path, "/call/%s", id);
    a = get(ctx, path);
    assert_int_equal(a.status, 200);
    assert_non_null(strstr(a.body, "Hello, I had a car accident."));
    ccai_ctx_free(ctx);
    ccai_config_free(cfg);

    /* Another context on the same database sees the call. */
    ctx = make_ctx(&cfg, dsn);
    assert_int_equal(ccai_ctx_calls_list_json(ctx, NULL, 10, 0, &json), CCAI_OK);
    assert_non_null(strstr(json, id));
    ccai_free(json);
    ccai_ctx_free(ctx);
    ccai_config_free(cfg);
}

/* Readiness commits a row: the server down is 503 with the reason, back
 * up is 200 again (the context reconnects). */
static void test_readiness_outage(void **state)
{
    (void)state;
    char dsn[400];
    assert_int_equal(pg_server_schema_dsn(&g_pg, dsn, sizeof dsn), 0);
    ccai_config *cfg = NULL;
    ccai_ctx *ctx = make_ctx(&cfg, dsn);
    api_answer a = get(ctx, "/health/readiness");
    assert_int_equal(a.status, 200);
    assert_non_null(strstr(a.body, "\"id\":\"store\",\"status\":\"ok\""));

    assert_int_equal(pg_server_pause(&g_pg), 0);
    a = get(ctx, "/health/readiness");
    assert_int_equal(a.status, 503);
    assert_non_null(strstr(a.body, "\"id\":\"store\",\"status\":\"fail\""));
    assert_non_null(strstr(a.body, "PostgreSQL"));
    /* A write meanwhile: refused with the database's 503, nothing half done. */
    a = post(ctx, "/chat", "{}");
    assert_int_equal(a.status, 503);

    assert_int_equal(pg_server_resume(&g_pg), 0);
    a = get(ctx, "/health/readiness");
    assert_int_equal(a.status, 200);
    a = post(ctx, "/chat", "{}");
    assert_int_equal(a.status, 200);
    ccai_ctx_free(ctx);
    ccai_config_free(cfg);
}

int main(void)
{
    int rc = pg_server_start(&g_pg, false);
    if (rc != 0) {
        pg_server_stop(&g_pg);
        if (rc == 77)
            fprintf(stderr, "PostgreSQL's binaries are absent (initdb, pg_ctl): skipped\n");
        return rc == 77 ? 77 : 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conversation_stored),
        cmocka_unit_test(test_readiness_outage),
    };
    rc = cmocka_run_group_tests_name("http-postgresql", tests, NULL, NULL);
    pg_server_stop(&g_pg);
    return rc;
}
