/* ccai_ctx_http() while another process holds the database's write lock
 * (the sqlite3 shell inside BEGIN IMMEDIATE), through the public API: a
 * conversation request is held and answered in arrival order once the lock
 * is gone; a held request the host cancels (its client went away) is never
 * answered nor touched again; freeing the context answers the requests still
 * held with 503 and Retry-After. Run under ASan by make test-sanitize. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ccai/adapters/poll.h>
#include <ccai/ccai.h>

#include "support/db_lock.h"

#include <sqlite3.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HELD 3

typedef struct answer {
    int calls;
    int order; /* when it was answered, from 1 */
    int status;
    char retry_after[16];
    char body[4096];
} answer;

static int answered;

static void on_answer(ccai_http_exchange *x, const ccai_http_response *res, void *ud)
{
    (void)x;
    answer *a = ud;
    a->calls++;
    a->order = ++answered;
    a->status = res->status;
    snprintf(a->body, sizeof a->body, "%.*s", (int)res->body_len, res->body);
    for (size_t i = 0; i < res->n_headers; i++) {
        if (!strcmp(res->headers[i].name, "Retry-After"))
            snprintf(a->retry_after, sizeof a->retry_after, "%s", res->headers[i].value);
    }
}

typedef struct env {
    char dir[64];
    char db[128];
    ccai_config *cfg;
    ccai_poll *poll;
    ccai_ctx *ctx;
} env;

static void env_init(env *e)
{
    memset(e, 0, sizeof *e);
    strcpy(e->dir, "/tmp/ccai-http-store-XXXXXX");
    assert_non_null(mkdtemp(e->dir));
    snprintf(e->db, sizeof e->db, "%s/db.sqlite", e->dir);
    assert_int_equal(ccai_config_new(&e->cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "database.sqlite.path", e->db), CCAI_OK);
    assert_int_equal(ccai_poll_new(e->cfg, &e->poll, &e->ctx, NULL), CCAI_OK);
}

static void env_free(env *e)
{
    ccai_poll_free(e->poll);
    ccai_config_free(e->cfg);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", e->dir);
    assert_int_equal(system(cmd), 0);
}

/* POST /chat from loopback (no token configured): a new chat. Returns the
 * exchange when it is not answered yet. */
static ccai_http_exchange *post_chat(env *e, answer *a)
{
    ccai_http_header h = {"Content-Type", "application/json"};
    ccai_http_request req = {
        CCAI_HTTP_REQUEST_VERSION, "POST", "/chat", NULL, &h, 1, "{}", 2, "127.0.0.1"};
    ccai_http_exchange *x = NULL;
    assert_int_equal(ccai_ctx_http(e->ctx, &req, on_answer, a, &x), CCAI_OK);
    return x;
}

static void run_for(env *e, uint64_t ms)
{
    uint64_t end = ccai_time_ms() + ms;
    while (ccai_time_ms() < end)
        assert_int_equal(ccai_poll_run_once(e->poll, 10), 0);
}

static int count_calls(env *e)
{
    char *json = NULL;
    assert_int_equal(ccai_ctx_calls_list_json(e->ctx, NULL, 100, 0, &json), CCAI_OK);
    int n = atoi(strstr(json, "\"total\":") + strlen("\"total\":"));
    ccai_free(json);
    return n;
}

static void test_held_in_order_then_answered(void **state)
{
    (void)state;
    env e;
    env_init(&e);
    db_lock l;
    assert_int_equal(db_lock_take(&l, e.db), 0);
    answered = 0;
    answer a[HELD];
    memset(a, 0, sizeof a);
    for (int i = 0; i < HELD; i++)
        assert_non_null(post_chat(&e, &a[i])); /* held: answered later */
    run_for(&e, 300);
    for (int i = 0; i < HELD; i++)
        assert_int_equal(a[i].calls, 0);
    assert_int_equal(count_calls(&e), 0);
    assert_int_equal(db_lock_release(&l), 0);
    uint64_t deadline = ccai_time_ms() + 5000;
    while (a[HELD - 1].calls == 0 && ccai_time_ms() < deadline)
        run_for(&e, 20);
    for (int i = 0; i < HELD; i++) {
        assert_int_equal(a[i].calls, 1);
        assert_int_equal(a[i].status, 200);
        assert_int_equal(a[i].order, i + 1); /* in the order they came */
    }
    assert_int_equal(count_calls(&e), HELD);
    env_free(&e);
}

static void test_held_then_cancelled(void **state)
{
    (void)state;
    env e;
    env_init(&e);
    db_lock l;
    assert_int_equal(db_lock_take(&l, e.db), 0);
    answer gone = {0}, kept = {0};
    ccai_http_exchange *x = post_chat(&e, &gone);
    assert_non_null(x);
    assert_non_null(post_chat(&e, &kept));
    run_for(&e, 100);
    ccai_http_exchange_cancel(x); /* its client went away */
    assert_int_equal(db_lock_release(&l), 0);
    uint64_t deadline = ccai_time_ms() + 5000;
    while (kept.calls == 0 && ccai_time_ms() < deadline)
        run_for(&e, 20);
    assert_int_equal(kept.status, 200);
    assert_int_equal(gone.calls, 0);
    assert_int_equal(count_calls(&e), 1); /* the cancelled one never ran */
    env_free(&e);
}

static void test_ctx_freed_while_held(void **state)
{
    (void)state;
    env e;
    env_init(&e);
    db_lock l;
    assert_int_equal(db_lock_take(&l, e.db), 0);
    answer a = {0};
    assert_non_null(post_chat(&e, &a));
    run_for(&e, 50);
    ccai_poll_free(e.poll); /* shutting down: the held request is answered */
    e.poll = NULL;
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.status, 503);
    assert_true(atoi(a.retry_after) >= 1);
    assert_non_null(strstr(a.body, "{\"error\":{\"message\":"));
    assert_int_equal(db_lock_release(&l), 0);
    ccai_config_free(e.cfg);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", e.dir);
    assert_int_equal(system(cmd), 0);
}

/* Another process takes the write lock between the chat's call being stored
 * (its lease) and its connection (CONNECTED's transaction). The context's
 * own connection is found through sqlite3_auto_extension() (the first one
 * opened: the store's), and its statements traced. */
typedef struct lock_at_connect {
    const char *db;
    bool inserted, taken;
    db_lock lock;
    /* Instead: the lock is taken at the first statement after the call's
     * INSERT that runs outside a transaction (the connection holds no lock
     * then). */
    bool after_insert;
} lock_at_connect;

static sqlite3 *opened;

static int on_open(sqlite3 *db, char **err, const void *api)
{
    (void)err;
    (void)api;
    if (!opened)
        opened = db;
    return SQLITE_OK;
}

static int on_stmt(unsigned type, void *ud, void *p, void *x)
{
    (void)type;
    (void)p;
    lock_at_connect *l = ud;
    const char *sql = x;
    if (l->after_insert) {
        if (strncmp(sql, "INSERT INTO calls ", 18) == 0) {
            l->inserted = true;
        } else if (l->inserted && !l->taken && sqlite3_get_autocommit(opened)) {
            assert_int_equal(db_lock_take(&l->lock, l->db), 0);
            l->taken = true;
        }
        return 0;
    }
    if (strncmp(sql, "INSERT INTO call_leases", 23) == 0) {
        l->inserted = true; /* the call stored and leased: CONNECTED next */
    } else if (l->inserted && !l->taken && strncmp(sql, "BEGIN IMMEDIATE", 15) == 0) {
        assert_int_equal(db_lock_take(&l->lock, l->db), 0);
        l->taken = true;
    }
    return 0;
}

/* env_init() with the store's connection traced by on_stmt(). */
static void env_init_traced(env *e, lock_at_connect *l, const char *wait_ms)
{
    opened = NULL;
    assert_int_equal(sqlite3_auto_extension((void (*)(void))on_open), SQLITE_OK);
    memset(e, 0, sizeof *e);
    strcpy(e->dir, "/tmp/ccai-http-store-XXXXXX");
    assert_non_null(mkdtemp(e->dir));
    snprintf(e->db, sizeof e->db, "%s/db.sqlite", e->dir);
    assert_int_equal(ccai_config_new(&e->cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "database.sqlite.path", e->db), CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "server.store_wait_ms", wait_ms), CCAI_OK);
    assert_int_equal(ccai_poll_new(e->cfg, &e->poll, &e->ctx, NULL), CCAI_OK);
    sqlite3_reset_auto_extension();
    assert_non_null(opened);
    memset(l, 0, sizeof *l);
    l->db = e->db;
    assert_int_equal(sqlite3_trace_v2(opened, SQLITE_TRACE_STMT, on_stmt, l), SQLITE_OK);
}

/* The chat's call was stored, then its connection met the lock: the
 * request is neither answered 503 nor run again from the start (a second
 * call): it waits, CONNECTED is handed again once the lock is gone, and
 * the client gets the bot's greeting for the one call stored. Before, the
 * route answered 503 and the store kept a call no client knew of. */
static void test_chat_connect_while_locked(void **state)
{
    (void)state;
    env e;
    lock_at_connect l;
    env_init_traced(&e, &l, "5000");
    answer a = {0};
    ccai_http_exchange *x = post_chat(&e, &a);
    assert_true(l.taken);
    assert_non_null(x);
    run_for(&e, 300);
    assert_int_equal(a.calls, 0); /* waits */
    assert_int_equal(count_calls(&e), 1);
    assert_int_equal(db_lock_release(&l.lock), 0);
    for (int i = 0; i < 300 && !a.calls; i++)
        assert_int_equal(ccai_poll_run_once(e.poll, 10), 0);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.status, 200);
    assert_non_null(strstr(a.body, "\"call_id\""));
    assert_int_equal(count_calls(&e), 1);
    assert_int_equal(sqlite3_trace_v2(opened, 0, NULL, NULL), SQLITE_OK);
    env_free(&e);
}

/* The lock outlasts server.store_wait_ms: the request is answered 503 with
 * Retry-After, and the call it stored is ended once the store can write
 * (never left open, never a second one). */
static void test_chat_connect_locked_too_long(void **state)
{
    (void)state;
    env e;
    lock_at_connect l;
    env_init_traced(&e, &l, "200");
    answer a = {0};
    assert_non_null(post_chat(&e, &a));
    assert_true(l.taken);
    for (int i = 0; i < 300 && !a.calls; i++)
        assert_int_equal(ccai_poll_run_once(e.poll, 10), 0);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.status, 503);
    assert_string_equal(a.retry_after, "1");
    assert_int_equal(db_lock_release(&l.lock), 0);
    assert_int_equal(sqlite3_trace_v2(opened, 0, NULL, NULL), SQLITE_OK);
    run_for(&e, 1500); /* the chat's end is retried each second */
    char *json = NULL;
    assert_int_equal(ccai_ctx_calls_list_json(e.ctx, NULL, 100, 0, &json), CCAI_OK);
    assert_non_null(strstr(json, "\"total\":1"));
    assert_non_null(strstr(json, "\"ended\""));
    ccai_free(json);
    assert_int_equal(a.calls, 1);
    env_free(&e);
}

/* The lock is taken right after the chat's call is inserted, before its
 * lease. Before, the call and its lease were two commits: the lease failed
 * (CCAI_ERR_BUSY), the request was held and run again from the start, and
 * stored a second call (the first left to the sweep). Now both are one
 * transaction: the lock meets the connection, which waits as above, and
 * one call is stored. */
static void test_chat_locked_after_insert(void **state)
{
    (void)state;
    env e;
    lock_at_connect l;
    env_init_traced(&e, &l, "5000");
    l.after_insert = true;
    answer a = {0};
    assert_non_null(post_chat(&e, &a));
    assert_true(l.taken);
    run_for(&e, 300);
    assert_int_equal(a.calls, 0); /* waits */
    assert_int_equal(db_lock_release(&l.lock), 0);
    for (int i = 0; i < 300 && !a.calls; i++)
        assert_int_equal(ccai_poll_run_once(e.poll, 10), 0);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.status, 200);
    assert_non_null(strstr(a.body, "\"call_id\""));
    assert_int_equal(count_calls(&e), 1);
    assert_int_equal(sqlite3_trace_v2(opened, 0, NULL, NULL), SQLITE_OK);
    env_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_held_in_order_then_answered),
        cmocka_unit_test(test_held_then_cancelled),
        cmocka_unit_test(test_ctx_freed_while_held),
        cmocka_unit_test(test_chat_connect_while_locked),
        cmocka_unit_test(test_chat_connect_locked_too_long),
        cmocka_unit_test(test_chat_locked_after_insert),
    };
    return cmocka_run_group_tests_name("http-store", tests, NULL, NULL);
}
