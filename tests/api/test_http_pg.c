/* A context on database.mode postgresql through the public API, against a
 * real PostgreSQL this test starts (tests/support/pg_server.h; skipped,
 * exit 77, without PostgreSQL's binaries): conversations stored and read
 * back, readiness committing a row, an outage of the server (503, then
 * 200 once it is back, without restarting the context). The context runs
 * on a real poll(2) loop, as ccai-server's does: with database.postgresql.
 * pipeline (the default) a webhook is answered once its writes are
 * committed, from the loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ccai/adapters/poll.h>
#include <ccai/ccai.h>

#include "support/api_http.h"
#include "support/pg_server.h"

#include <libpq-fe.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pg_server g_pg;
/* The loop of the context under test. */
static ccai_poll *g_poll;

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
    ccai_ctx *ctx = NULL;
    char *why = NULL;
    ccai_status st = ccai_poll_new(*cfg, &g_poll, &ctx, &why);
    if (st != CCAI_OK)
        fail_msg("ccai_poll_new: %s", why ? why : ccai_status_str(st));
    return ctx;
}

/* A request, its answer waited for on the loop (at most 10 s). */
static api_answer request(ccai_ctx *ctx, const char *method, const char *path,
                          const char *const *headers, const char *body)
{
    ccai_http_header h[4];
    size_t n = 0;
    for (; headers && headers[2 * n]; n++) {
        h[n].name = headers[2 * n];
        h[n].value = headers[2 * n + 1];
    }
    ccai_http_request req = {CCAI_HTTP_REQUEST_VERSION, method,     path, NULL, h, n, body,
                             body ? strlen(body) : 0,   "127.0.0.1"};
    api_answer a;
    memset(&a, 0, sizeof a);
    ccai_http_exchange *x = NULL;
    assert_int_equal(ccai_ctx_http(ctx, &req, api_on_answer, &a, &x), CCAI_OK);
    for (int i = 0; i < 1000 && a.calls == 0; i++)
        assert_int_equal(ccai_poll_run_once(g_poll, 10), 0);
    assert_int_equal(a.calls, 1);
    return a;
}

static api_answer post(ccai_ctx *ctx, const char *path, const char *body)
{
    const char *h[] = {"Content-Type", "application/json", NULL};
    return request(ctx, "POST", path, h, body);
}

static api_answer get(ccai_ctx *ctx, const char *path)
{
    return request(ctx, "GET", path, NULL, NULL);
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
    assert_non_null(strstr(json, "\"pipelined\":true"));
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
    ccai_poll_free(g_poll);
    ccai_config_free(cfg);

    /* Another context on the same database sees the call. */
    ctx = make_ctx(&cfg, dsn);
    assert_int_equal(ccai_ctx_calls_list_json(ctx, NULL, 10, 0, &json), CCAI_OK);
    assert_non_null(strstr(json, id));
    ccai_free(json);
    ccai_poll_free(g_poll);
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
    ccai_poll_free(g_poll);
    ccai_config_free(cfg);
}

/* PostgreSQL killed (pg_ctl stop -m immediate, by another process) while
 * a pipelined write is in flight: a new chat's call row waits on the
 * server (a trigger sleeps, as a slow or stuck server would) and the
 * chat's next statement waits for it. The request is answered with an
 * error, nothing of the call is stored, and once the server is back the
 * context reconnects and a new chat works. */
static void test_killed_mid_write(void **state)
{
    (void)state;
    char dsn[400];
    assert_int_equal(pg_server_schema_dsn(&g_pg, dsn, sizeof dsn), 0);
    ccai_config *cfg = NULL;
    ccai_ctx *ctx = make_ctx(&cfg, dsn);
    PGconn *admin = PQconnectdb(dsn);
    assert_int_equal(PQstatus(admin), CONNECTION_OK);
    PGresult *r = PQexec(admin, "CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS $f$ "
                                "BEGIN PERFORM pg_sleep(60); RETURN NEW; END $f$; "
                                "CREATE TRIGGER slow BEFORE INSERT ON calls FOR EACH ROW "
                                "EXECUTE FUNCTION slow()");
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    PQfinish(admin);

    pid_t killer = fork();
    assert_true(killer >= 0);
    if (killer == 0) {
        usleep(500 * 1000);
        _exit(pg_server_kill(&g_pg) == 0 ? 0 : 1);
    }
    api_answer a = post(ctx, "/chat", "{}");
    int ws = 0;
    assert_int_equal(waitpid(killer, &ws, 0), killer);
    assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    assert_true(a.status >= 500);
    assert_non_null(strstr(a.body, "PostgreSQL"));

    assert_int_equal(pg_server_resume(&g_pg), 0);
    admin = PQconnectdb(dsn);
    assert_int_equal(PQstatus(admin), CONNECTION_OK);
    r = PQexec(admin, "SELECT count(*) FROM calls");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(r, 0, 0), "0");
    PQclear(r);
    r = PQexec(admin, "DROP TRIGGER slow ON calls");
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    PQfinish(admin);
    a = post(ctx, "/chat", "{}");
    assert_int_equal(a.status, 200);
    ccai_poll_free(g_poll);
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
        cmocka_unit_test(test_killed_mid_write),
    };
    rc = cmocka_run_group_tests_name("http-postgresql", tests, NULL, NULL);
    pg_server_stop(&g_pg);
    return rc;
}
