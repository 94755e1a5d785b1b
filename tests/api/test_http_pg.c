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

#include <jansson.h>
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

/* A chat, its call id in id (37 bytes). */
static void new_chat(ccai_ctx *ctx, char *id)
{
    api_answer a = post(ctx, "/chat", "{}");
    assert_int_equal(a.status, 200);
    const char *idp = strstr(a.body, "\"call_id\":\"");
    assert_non_null(idp);
    snprintf(id, 37, "%.36s", idp + 11);
}

/* The texts an answer says, appended to out (one a line). */
static void said_texts(const api_answer *a, char *out, size_t n)
{
    json_t *doc = json_loads(a->body, 0, NULL);
    assert_non_null(doc);
    size_t i;
    json_t *say;
    json_array_foreach(json_object_get(doc, "say"), i, say)
    {
        size_t len = strlen(out);
        snprintf(out + len, n - len, "%s\n", json_string_value(json_object_get(say, "text")));
    }
    json_decref(doc);
}

static long count_of(PGconn *db, const char *sql, const char *id)
{
    const char *v[1] = {id};
    PGresult *r = PQexecParams(db, sql, 1, NULL, v, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    long n = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return n;
}

/* The first assistant message stored after the caller's words `human` in
 * call id (the loop run while it is not stored yet, at most ~2 s): its
 * text and a newline in out, "" when none. */
static void reply_after(PGconn *db, const char *id, const char *human, char *out, size_t n)
{
    const char *v[2] = {id, human};
    out[0] = '\0';
    for (int i = 0; i < 200; i++) {
        PGresult *r = PQexecParams(db,
                                   "SELECT content FROM messages WHERE call_id = $1 AND persona = "
                                   "'assistant' AND seq > (SELECT max(seq) FROM messages WHERE "
                                   "call_id = $1 AND persona = 'human' AND content = $2) "
                                   "ORDER BY seq",
                                   2, NULL, v, NULL, NULL, 0);
        assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
        if (PQntuples(r) >= 1) {
            snprintf(out, n, "%s\n", PQgetvalue(r, 0, 0));
            PQclear(r);
            return;
        }
        PQclear(r);
        assert_int_equal(ccai_poll_run_once(g_poll, 10), 0);
    }
}

/* sql run on db while the context's loop turns (at most 10 s): a
 * statement that takes a lock (DDL) waits for the context's open
 * transactions, which commit from the loop; a blocking PQexec there would
 * wait for a loop that never turns. */
static PGresult *exec_on_loop(PGconn *db, const char *sql)
{
    assert_int_equal(PQsendQuery(db, sql), 1);
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(PQconsumeInput(db), 1);
        if (!PQisBusy(db))
            break;
        assert_int_equal(ccai_poll_run_once(g_poll, 10), 0);
    }
    assert_int_equal(PQisBusy(db), 0);
    PGresult *last = NULL;
    for (PGresult *r; (r = PQgetResult(db));) {
        PQclear(last);
        last = r;
    }
    return last;
}

static char *value_of(PGconn *db, const char *sql, const char *id, char *out, size_t n)
{
    const char *v[1] = {id};
    PGresult *r = PQexecParams(db, sql, 1, NULL, v, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_int_equal(PQntuples(r), 1);
    snprintf(out, n, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return out;
}

/* Two live chats in one context, a turn of each in the same turn of the
 * loop (their writes pipelined together); call A's row is changed behind
 * its back by another writer (another instance) while A's turn is
 * written, so A's row update is stale and A's writes of that turn are
 * rolled back. A's failure is A's alone: B's turn is committed, and B's
 * client gets the bot's reply (the act that waited for the commit), which
 * is stored after B's words. A's client is answered, its caller's words
 * are all stored, and at A's next words the engine meets the stored row
 * and answers; the bot's words of the failed turn, said already and rolled
 * back with the stale update, are stored again (docs/deployment.md). */
static void test_stale_call_isolated(void **state)
{
    (void)state;
    char dsn[400];
    assert_int_equal(pg_server_schema_dsn(&g_pg, dsn, sizeof dsn), 0);
    ccai_config *cfg = NULL;
    ccai_ctx *ctx = make_ctx(&cfg, dsn);
    char a_id[37], b_id[37], a_path[64], b_path[64];
    new_chat(ctx, a_id);
    new_chat(ctx, b_id);
    snprintf(a_path, sizeof a_path, "/chat/%s", a_id);
    snprintf(b_path, sizeof b_path, "/chat/%s", b_id);
    PGconn *admin = PQconnectdb(dsn);
    assert_int_equal(PQstatus(admin), CONNECTION_OK);
    static const char n_messages[] = "SELECT count(*) FROM messages WHERE call_id = $1";
    long b_before = count_of(admin, n_messages, b_id);
    /* Another writer changes A's row while A's turn is written (after the
     * touch that checks the row version at the turn's start, before the
     * turn's row update): a trigger does it when A's message is inserted. */
    char sql[600];
    snprintf(sql, sizeof sql,
             "CREATE TABLE meddled (n int); "
             "CREATE FUNCTION meddle() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN "
             "IF NOT EXISTS (SELECT 1 FROM meddled) THEN INSERT INTO meddled VALUES (1); "
             "UPDATE calls SET row_version = row_version + 1 WHERE id = NEW.call_id; END IF; "
             "RETURN NEW; END $f$; "
             "CREATE TRIGGER meddle AFTER INSERT ON messages FOR EACH ROW "
             "WHEN (NEW.call_id = '%s') EXECUTE FUNCTION meddle()",
             a_id);
    PGresult *r = exec_on_loop(admin, sql);
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);

    /* Both requests before the loop turns: their writes go out in the same
     * turn of the loop. */
    static const char body[] = "{\"text\":\"Hello, I had a car accident.\"}";
    const ccai_http_header h[1] = {{"Content-Type", "application/json"}};
    ccai_http_request ra = {
        CCAI_HTTP_REQUEST_VERSION, "POST", a_path, NULL, h, 1, body, strlen(body), "127.0.0.1"};
    ccai_http_request rb = ra;
    rb.path = b_path;
    api_answer aa, ab;
    memset(&aa, 0, sizeof aa);
    memset(&ab, 0, sizeof ab);
    ccai_http_exchange *xa = NULL, *xb = NULL;
    assert_int_equal(ccai_ctx_http(ctx, &ra, api_on_answer, &aa, &xa), CCAI_OK);
    assert_int_equal(ccai_ctx_http(ctx, &rb, api_on_answer, &ab, &xb), CCAI_OK);
    for (int i = 0; i < 1000 && (aa.calls == 0 || ab.calls == 0); i++)
        assert_int_equal(ccai_poll_run_once(g_poll, 10), 0);
    assert_int_equal(aa.calls, 1); /* A's request is answered too */
    assert_int_equal(ab.calls, 1);
    assert_int_equal(ab.status, 200);

    /* B's client gets the bot's reply to its turn (asking for more until
     * the bot listens), and that reply is stored after B's words. */
    char said[4096] = "";
    said_texts(&ab, said, sizeof said);
    char next_path[80];
    snprintf(next_path, sizeof next_path, "%s/next", b_path);
    for (int i = 0; i < 5 && !strstr(ab.body, "\"listening\":true"); i++) {
        ab = post(ctx, next_path, "{}");
        assert_int_equal(ab.status, 200);
        said_texts(&ab, said, sizeof said);
    }
    /* The reply's message is stored from the loop (pipelined): waited for. */
    char reply[600];
    reply_after(admin, b_id, "Hello, I had a car accident.", reply, sizeof reply);
    assert_true(reply[0]);
    assert_true(count_of(admin, n_messages, b_id) > b_before);
    assert_non_null(strstr(said, reply));
    r = PQexec(admin, "SELECT count(*) FROM meddled"); /* A was made stale */
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(r, 0, 0), "1");
    PQclear(r);

    /* A's side: its request was answered (the bot's words of that turn,
     * said before the conflict was known); its caller's words are stored
     * (on their own, before the turn), its turn's writes are not: the row
     * is the other writer's (version 4: 3 of ours, 1 of it). */
    assert_int_equal(aa.status, 200);
    assert_non_null(strstr(aa.body, "\"say\":[{"));
    char v[600];
    assert_string_equal(
        value_of(admin, "SELECT row_version FROM calls WHERE id = $1", a_id, v, sizeof v), "4");
    assert_string_equal(value_of(admin,
                                 "SELECT string_agg(content, '|' ORDER BY seq) FROM messages "
                                 "WHERE call_id = $1 AND persona = 'human' AND content <> ''",
                                 a_id, v, sizeof v),
                        "Hello, I had a car accident.");
    /* The bot's words A's client got, rolled back with the stale update,
     * are stored again once the conflict is told (at A's next words, below:
     * checked after them). */
    char a_said[4096] = "";
    said_texts(&aa, a_said, sizeof a_said);
    assert_true(a_said[0]);
    /* A's next words: the conflict is told to that turn's sync; the engine
     * reads the stored row again and answers from it (before, the act was
     * dropped and the request never answered), and its writes go on from
     * the other writer's version instead of over it. */
    api_answer a2 = post(ctx, a_path, "{\"text\":\"Yesterday in Paris.\"}");
    assert_int_equal(a2.status, 200);
    said[0] = '\0';
    said_texts(&a2, said, sizeof said);
    assert_true(said[0]);
    snprintf(next_path, sizeof next_path, "%s/next", a_path);
    for (int i = 0; i < 5 && !strstr(a2.body, "\"listening\":true"); i++) {
        a2 = post(ctx, next_path, "{}");
        assert_int_equal(a2.status, 200);
        said_texts(&a2, said, sizeof said);
    }
    reply_after(admin, a_id, "Yesterday in Paris.", reply, sizeof reply);
    assert_true(reply[0]);
    assert_non_null(strstr(said, reply));
    assert_string_equal(value_of(admin,
                                 "SELECT string_agg(content, '|' ORDER BY seq) FROM messages "
                                 "WHERE call_id = $1 AND persona = 'human' AND content <> ''",
                                 a_id, v, sizeof v),
                        "Hello, I had a car accident.|Yesterday in Paris.");
    {
        const char *pv[1] = {a_id};
        r = PQexecParams(admin,
                         "SELECT string_agg(content, '\n' ORDER BY seq) || '\n' FROM messages "
                         "WHERE call_id = $1 AND persona = 'assistant'",
                         1, NULL, pv, NULL, NULL, 0);
        assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
        const char *stored = PQgetvalue(r, 0, 0);
        for (const char *line = a_said; *line;) {
            const char *eol = strchr(line, '\n');
            char one[600];
            snprintf(one, sizeof one, "%.*s\n", (int)(eol - line), line);
            if (!strstr(stored, one))
                fail_msg("said to A's client, not stored: %s(stored: %s)", one, stored);
            line = eol + 1;
        }
        PQclear(r);
    }
    assert_true(
        strtol(value_of(admin, "SELECT row_version FROM calls WHERE id = $1", a_id, v, sizeof v),
               NULL, 10) > 4);
    PQfinish(admin);
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
        cmocka_unit_test(test_stale_call_isolated),
    };
    rc = cmocka_run_group_tests_name("http-postgresql", tests, NULL, NULL);
    pg_server_stop(&g_pg);
    return rc;
}
