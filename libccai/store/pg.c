/* Persistence on PostgreSQL: a backend of store/store.h (Ccai_pg_backend,
 * and Ccai_pg_pipelined_backend once on a loop), on libpq.
 *
 * One connection per store handle, used by the context's thread, in
 * libpq's non-blocking mode: connecting (PQconnectStart/PQconnectPoll),
 * sending (PQsendQueryParams, PQsendPrepare, PQflush) and reading
 * (PQconsumeInput, PQisBusy) never block inside libpq.
 *
 * On a context's loop (Ccai_pg_pipeline(): database.postgresql.pipeline)
 * the hot writes are pipelined: they return once sent, are committed in
 * groups (one per loop turn) and their syncs complete from the loop
 * ("Pipelined writes" below). The other operations, and every one of a
 * store without a loop, are one round trip each (a statement prepared
 * once per connection) whose answer the thread waits for in poll(),
 * bounded by the statement timeout (which the server enforces too) plus
 * a second; past it the connection is dropped and the operation fails
 * with CCAI_ERR_STORE. Before such an operation the pipeline's writes are
 * answered (a read sees every write accepted). Without a loop a write is
 * committed when it returns CCAI_OK (autocommit, or the explicit
 * transaction's COMMIT): sync() completes at once, like SQLite's.
 *
 * Inside an explicit transaction (Ccai_store_begin) each statement runs
 * in a savepoint, so that a failed one undoes itself alone, as in SQLite:
 * SAVEPOINT, the statement and RELEASE (and BEGIN with the first one) go
 * in one round trip in libpq's pipeline mode; COMMIT is one more.
 * A lost connection is reopened by the next operation (not inside a
 * transaction: that one fails); the pipelined writes in flight fail.
 */
#include "store/pg_private.h"

#include "config/config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Beyond the statement timeout, how long an answer may take to arrive
 * before the connection is deemed lost. */
#define PG_ANSWER_MARGIN_MS 1000
/* The advisory lock the migrations are applied under ("ccai" in ASCII). */
#define PG_MIGRATION_LOCK 0x63636169

/* Parameters ------------------------------------------------------------ */

void Ccai_pg_text(Ccai_pg_params *p, const char *v)
{
    if (p->n < PG_PARAMS_MAX)
        p->v[p->n++] = v;
}

void Ccai_pg_int(Ccai_pg_params *p, int64_t v)
{
    if (p->n < PG_PARAMS_MAX) {
        snprintf(p->num[p->n], sizeof p->num[p->n], "%lld", (long long)v);
        p->v[p->n] = p->num[p->n];
        p->n++;
    }
}

/* Errors ---------------------------------------------------------------- */

CCAI_MUST_CHECK ccai_status Ccai_pg_fail(Ccai_pg *st, ccai_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = Ccai_vasprintf(fmt, ap);
    va_end(ap);
    Ccai_err_clear(&st->err);
    st->err.msg = msg;
    return status;
}

CCAI_MUST_CHECK ccai_status Ccai_pg_fail_nomem(Ccai_pg *st, const char *op)
{
    return Ccai_pg_fail(st, CCAI_ERR_NOMEM, "store: %s: out of memory", op);
}

/* libpq's texts end with a newline: without it. */
static void trim(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
        s[--n] = '\0';
}

static void pipe_fail_all(Ccai_pg *st, const char *why);
static CCAI_MUST_CHECK ccai_status pipe_prepare_conn(Ccai_pg *st);

/* The connection is gone or unusable: forget it (the next operation
 * connects again), remember the failure for the readiness check. */
static CCAI_MUST_CHECK ccai_status conn_lost(Ccai_pg *st, const char *op, const char *why)
{
    char text[200];
    snprintf(text, sizeof text, "%s", why && *why ? why : "connection lost");
    trim(text);
    ccai_status status = Ccai_pg_fail(st, CCAI_ERR_STORE, "store: %s: PostgreSQL: %s", op, text);
    snprintf(st->failure, sizeof st->failure, "%s", Ccai_err_get(&st->err));
    if (st->ctx)
        pipe_fail_all(st, text);
    PQfinish(st->conn);
    st->conn = NULL;
    memset(st->prepared, 0, sizeof st->prepared);
    if (st->in_tx)
        st->tx_lost = true;
    return status;
}

/* The status of a failed statement, from its SQLSTATE. */
static CCAI_MUST_CHECK ccai_status status_of_sqlstate(const char *code, bool *broken)
{
    *broken = false;
    if (!code || strlen(code) != 5)
        return CCAI_ERR_STORE;
    if (strcmp(code, "23505") == 0)
        return CCAI_ERR_CONFLICT; /* unique key */
    if (strcmp(code, "23503") == 0)
        return CCAI_ERR_NOT_FOUND; /* foreign key: no such call */
    /* A pipelined call write that changed no row (pg_temp.ccai_row_written). */
    if (strcmp(code, "CC409") == 0)
        return CCAI_ERR_CONFLICT;
    if (strcmp(code, "CC404") == 0)
        return CCAI_ERR_NOT_FOUND;
    if (strncmp(code, "22", 2) == 0 || strncmp(code, "23", 2) == 0)
        return CCAI_ERR_INVALID_ARG; /* a refused value: JSON, UTF-8, a check */
    /* Serialization, deadlock, a lock not available, the statement timeout:
     * nothing was written, the same write may succeed later. */
    if (strcmp(code, "40001") == 0 || strcmp(code, "40P01") == 0 || strcmp(code, "55P03") == 0 ||
        strcmp(code, "57014") == 0)
        return CCAI_ERR_BUSY;
    /* The database itself: disk full, out of resources, read-only, shut
     * down, the connection. */
    if (strncmp(code, "53", 2) == 0 || strncmp(code, "58", 2) == 0 || strncmp(code, "08", 2) == 0 ||
        strncmp(code, "57P", 3) == 0 || strcmp(code, "25006") == 0)
        *broken = true;
    return CCAI_ERR_STORE;
}

static CCAI_MUST_CHECK ccai_status result_fail(Ccai_pg *st, const char *op, const PGresult *r)
{
    const char *code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    bool broken = false;
    ccai_status status = status_of_sqlstate(code, &broken);
    char text[400];
    snprintf(text, sizeof text, "%s", msg ? msg : PQresultErrorMessage(r));
    trim(text);
    status = Ccai_pg_fail(st, status, "store: %s: %s", op, text);
    if (broken)
        snprintf(st->failure, sizeof st->failure, "%s", Ccai_err_get(&st->err));
    return status;
}

/* Waiting for the server ------------------------------------------------ */

/* Wait until fd is ready for events or the deadline (monotonic ms) passes:
 * false then. */
static CCAI_MUST_CHECK bool wait_fd(int fd, short events, uint64_t deadline)
{
    for (;;) {
        uint64_t now = Ccai_monotonic_ms();
        if (now >= deadline)
            return false;
        struct pollfd pfd = {.fd = fd, .events = events};
        uint64_t left = deadline - now;
        int n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
        if (n > 0)
            return true;
        if (n < 0 && errno != EINTR)
            return false;
    }
}

static CCAI_MUST_CHECK uint64_t answer_deadline(const Ccai_pg *st)
{
    return Ccai_monotonic_ms() + (uint64_t)st->statement_timeout_ms + PG_ANSWER_MARGIN_MS;
}

/* Send what is queued, then the next result (NULL: the end of a command's
 * results), waiting for the server until the deadline. */
static CCAI_MUST_CHECK ccai_status next_result(Ccai_pg *st, const char *op, uint64_t deadline,
                                               PGresult **ret)
{
    for (;;) {
        int f = PQflush(st->conn);
        if (f < 0)
            return conn_lost(st, op, PQerrorMessage(st->conn));
        if (f == 0 && !PQisBusy(st->conn)) {
            *ret = PQgetResult(st->conn);
            return CCAI_OK;
        }
        if (!wait_fd(PQsocket(st->conn), (short)(POLLIN | (f == 1 ? POLLOUT : 0)), deadline)) {
            char why[96];
            snprintf(why, sizeof why, "no answer within %d ms",
                     st->statement_timeout_ms + PG_ANSWER_MARGIN_MS);
            return conn_lost(st, op, why);
        }
        if (!PQconsumeInput(st->conn))
            return conn_lost(st, op, PQerrorMessage(st->conn));
    }
}

/* Every result of the command sent: *ret is its first, or its first
 * failed one. */
static CCAI_MUST_CHECK ccai_status command_result(Ccai_pg *st, const char *op, uint64_t deadline,
                                                  PGresult **ret)
{
    PGresult *keep = NULL, *r = NULL;
    ccai_status status;
    while ((status = next_result(st, op, deadline, &r)) == CCAI_OK && r) {
        ExecStatusType es = PQresultStatus(r);
        bool failed = es != PGRES_COMMAND_OK && es != PGRES_TUPLES_OK;
        if (!keep || (failed && PQresultStatus(keep) != PGRES_FATAL_ERROR)) {
            PQclear(keep);
            keep = r;
        } else {
            PQclear(r);
        }
    }
    if (status != CCAI_OK) {
        PQclear(keep);
        return status;
    }
    if (!keep)
        return Ccai_pg_fail_nomem(st, op);
    *ret = keep;
    return CCAI_OK;
}

static CCAI_MUST_CHECK ccai_status await_result(Ccai_pg *st, const char *op, PGresult **ret)
{
    return command_result(st, op, answer_deadline(st), ret);
}

/* A command's result checked: a failure's status and text. */
static CCAI_MUST_CHECK ccai_status check_result(Ccai_pg *st, const char *op, PGresult *r,
                                                PGresult **ret)
{
    ExecStatusType es = PQresultStatus(r);
    if (es != PGRES_COMMAND_OK && es != PGRES_TUPLES_OK) {
        ccai_status status;
        if (PQstatus(st->conn) == CONNECTION_BAD)
            status = conn_lost(st, op, PQerrorMessage(st->conn));
        else
            status = result_fail(st, op, r);
        PQclear(r);
        return status;
    }
    if (ret)
        *ret = r;
    else
        PQclear(r);
    return CCAI_OK;
}

/* Wait for a command's result and check it. */
static CCAI_MUST_CHECK ccai_status finish(Ccai_pg *st, const char *op, PGresult **ret)
{
    PGresult *r = NULL;
    ccai_status status = await_result(st, op, &r);
    if (status != CCAI_OK)
        return status;
    return check_result(st, op, r, ret);
}

/* SQL without parameters (several statements allowed). */
static CCAI_MUST_CHECK ccai_status exec_sql(Ccai_pg *st, const char *op, const char *sql)
{
    if (!PQsendQuery(st->conn, sql))
        return conn_lost(st, op, PQerrorMessage(st->conn));
    return finish(st, op, NULL);
}

/* Connecting ------------------------------------------------------------ */

static void ignore_notice(void *ud, const PGresult *r)
{
    CCAI_UNUSED(ud);
    CCAI_UNUSED(r);
}

static CCAI_MUST_CHECK ccai_status connect_db(Ccai_pg *st)
{
    static const char op[] = "connect";
    memset(st->prepared, 0, sizeof st->prepared);
    st->conn = PQconnectStart(st->dsn);
    if (!st->conn)
        return Ccai_pg_fail_nomem(st, op);
    if (PQstatus(st->conn) == CONNECTION_BAD)
        return conn_lost(st, op, PQerrorMessage(st->conn));
    uint64_t deadline = Ccai_monotonic_ms() + (uint64_t)st->connect_timeout_ms;
    PostgresPollingStatusType ps = PGRES_POLLING_WRITING;
    while (ps != PGRES_POLLING_OK) {
        if (ps == PGRES_POLLING_FAILED)
            return conn_lost(st, op, PQerrorMessage(st->conn));
        if (!wait_fd(PQsocket(st->conn), ps == PGRES_POLLING_READING ? POLLIN : POLLOUT,
                     deadline)) {
            char why[80];
            snprintf(why, sizeof why, "no connection within %d ms", st->connect_timeout_ms);
            return conn_lost(st, op, why);
        }
        ps = PQconnectPoll(st->conn);
    }
    if (PQsetnonblocking(st->conn, 1) != 0)
        return conn_lost(st, op, PQerrorMessage(st->conn));
    /* Notices ("relation already exists, skipping") are not errors: libpq
     * would print them on stderr. */
    PQsetNoticeReceiver(st->conn, ignore_notice, NULL);
    /* Texts are UTF-8 both ways: a database of another encoding would
     * store bytes the rest of libccai cannot read back. */
    const char *enc = PQparameterStatus(st->conn, "server_encoding");
    if (!enc || strcmp(enc, "UTF8") != 0) {
        ccai_status status =
            Ccai_pg_fail(st, CCAI_ERR_STORE,
                         "store: connect: the database's encoding is %s; libccai needs UTF8 "
                         "(CREATE DATABASE ... ENCODING 'UTF8' TEMPLATE template0)",
                         enc ? enc : "unknown");
        PQfinish(st->conn);
        st->conn = NULL;
        return status;
    }
    char *sql = Ccai_asprintf("SET client_encoding = 'UTF8'; SET statement_timeout = %d",
                              st->statement_timeout_ms);
    if (!sql)
        return Ccai_pg_fail_nomem(st, op);
    ccai_status status = exec_sql(st, op, sql);
    ccai_free(sql);
    if (status == CCAI_OK && st->ctx)
        status = pipe_prepare_conn(st);
    if (status == CCAI_OK && !st->location) {
        const char *host = PQhost(st->conn);
        st->location = Ccai_asprintf("postgresql://%s%s%s:%s/%s", host && *host == '/' ? "[" : "",
                                     host ? host : "", host && *host == '/' ? "]" : "",
                                     PQport(st->conn), PQdb(st->conn));
        if (!st->location)
            status = Ccai_pg_fail_nomem(st, op);
    }
    return status;
}

/* The connection, opened again after a loss (never inside a transaction:
 * that transaction is gone). */
static CCAI_MUST_CHECK ccai_status ensure_conn(Ccai_pg *st, const char *op)
{
    if (st->tx_lost)
        return Ccai_pg_fail(st, CCAI_ERR_STORE,
                            "store: %s: the connection was lost in the open transaction", op);
    if (st->conn)
        return CCAI_OK;
    ccai_status status = connect_db(st);
    if (status != CCAI_OK) {
        char *why = Ccai_strdup(Ccai_err_get(&st->err));
        status = Ccai_pg_fail(st, status, "store: %s: %s", op, why ? why : "cannot connect");
        ccai_free(why);
    }
    return status;
}

/* Statements ------------------------------------------------------------ */

static CCAI_MUST_CHECK ccai_status run_prepared(Ccai_pg *st, const char *op,
                                                enum Ccai_pg_stmt_id id, const Ccai_pg_params *p,
                                                PGresult **ret)
{
    char name[16];
    snprintf(name, sizeof name, "ccai%d", (int)id);
    if (!st->prepared[id]) {
        if (!PQsendPrepare(st->conn, name, Ccai_pg_stmt_sql[id], 0, NULL))
            return conn_lost(st, op, PQerrorMessage(st->conn));
        ccai_status status = finish(st, op, NULL);
        if (status != CCAI_OK)
            return status;
        st->prepared[id] = true;
    }
    if (!PQsendQueryPrepared(st->conn, name, p ? p->n : 0, p ? p->v : NULL, NULL, NULL, 0))
        return conn_lost(st, op, PQerrorMessage(st->conn));
    return finish(st, op, ret);
}

/* Inside an explicit transaction: SAVEPOINT, the statement and RELEASE
 * sent at once in libpq's pipeline mode (one round trip). When the
 * statement fails, the server skips the RELEASE and the transaction is in
 * error until ROLLBACK TO the savepoint: the failure undoes this statement
 * alone, as in SQLite. */
static CCAI_MUST_CHECK ccai_status run_in_savepoint(Ccai_pg *st, const char *op,
                                                    enum Ccai_pg_stmt_id id,
                                                    const Ccai_pg_params *p, PGresult **ret)
{
    char name[16];
    snprintf(name, sizeof name, "ccai%d", (int)id);
    if (!st->prepared[id]) {
        if (!PQsendPrepare(st->conn, name, Ccai_pg_stmt_sql[id], 0, NULL))
            return conn_lost(st, op, PQerrorMessage(st->conn));
        ccai_status status = finish(st, op, NULL);
        if (status != CCAI_OK)
            return status;
        st->prepared[id] = true;
    }
    /* The transaction's BEGIN goes with its first statement. */
    bool begin = !st->tx_sent;
    if (!PQenterPipelineMode(st->conn) ||
        (begin && !PQsendQueryParams(st->conn, "BEGIN", 0, NULL, NULL, NULL, NULL, 0)) ||
        !PQsendQueryParams(st->conn, "SAVEPOINT ccai_op", 0, NULL, NULL, NULL, NULL, 0) ||
        !PQsendQueryPrepared(st->conn, name, p ? p->n : 0, p ? p->v : NULL, NULL, NULL, 0) ||
        !PQsendQueryParams(st->conn, "RELEASE ccai_op", 0, NULL, NULL, NULL, NULL, 0) ||
        !PQpipelineSync(st->conn))
        return conn_lost(st, op, PQerrorMessage(st->conn));
    st->tx_sent = true;
    uint64_t deadline = answer_deadline(st);
    PGresult *res[3] = {NULL, NULL, NULL}, *sync = NULL;
    ccai_status status = CCAI_OK;
    if (begin) {
        PGresult *b = NULL;
        status = command_result(st, op, deadline, &b);
        if (status == CCAI_OK && PQresultStatus(b) != PGRES_COMMAND_OK)
            status = conn_lost(st, op, PQresultErrorMessage(b));
        PQclear(b);
    }
    for (int i = 0; i < 3 && status == CCAI_OK; i++)
        status = command_result(st, op, deadline, &res[i]);
    if (status == CCAI_OK)
        status = next_result(st, op, deadline, &sync);
    if (status == CCAI_OK && (!sync || PQresultStatus(sync) != PGRES_PIPELINE_SYNC))
        status = conn_lost(st, op, "the pipeline's answers are out of order");
    PQclear(sync);
    if (status == CCAI_OK && !PQexitPipelineMode(st->conn))
        status = conn_lost(st, op, PQerrorMessage(st->conn));
    if (status != CCAI_OK) {
        for (int i = 0; i < 3; i++)
            PQclear(res[i]);
        return status;
    }
    PQclear(res[2]);
    status = check_result(st, op, res[0], NULL);
    if (status != CCAI_OK) {
        PQclear(res[1]);
        return status;
    }
    status = check_result(st, op, res[1], ret);
    if (status != CCAI_OK && st->conn) {
        /* Errors here are secondary: the first one is what the caller sees. */
        char *why = Ccai_strdup(Ccai_err_get(&st->err));
        if (exec_sql(st, op, "ROLLBACK TO ccai_op; RELEASE ccai_op") == CCAI_OK && why)
            status = Ccai_pg_fail(st, status, "%s", why);
        ccai_free(why);
    }
    return status;
}

/* Pipelined writes ------------------------------------------------------ */

/* The writes of a store on a loop (Ccai_pg_pipeline()) are sent in libpq's
 * pipeline mode and return once sent: the writes sent between two syncs
 * are a group, one implicit transaction that the sync (PQpipelineSync)
 * commits. A group ends at the next turn of the loop (the tick timer:
 * every write of the turn, of every call, and every Ccai_store_sync()
 * asked meanwhile go in one commit), or before a read (which waits for
 * the answers: it must see every write). The answers are read when the
 * socket is readable (on_socket); a failed write aborts the rest of its
 * group on the server, which rolls the whole group back: the syncs
 * waiting for it are told its failure. */

bool Ccai_pg_pipelined(const Ccai_pg *st)
{
    return st->ctx && !st->in_tx;
}

static void pipe_watch(Ccai_pg *st, int events);

/* A completion to fire from the loop (never from inside a store call:
 * the engine acts there). */
static void ready_push(Ccai_pg *st, Ccai_pg_waiter *w)
{
    w->next = NULL;
    if (st->ready_tail)
        st->ready_tail->next = w;
    else
        st->ready = w;
    st->ready_tail = w;
    Ccai_timer_start(st->ctx, &st->tick, 0);
}

static void fire_ready(Ccai_pg *st)
{
    Ccai_pg_waiter *w;
    while ((w = st->ready) != NULL) {
        st->ready = w->next;
        if (!st->ready)
            st->ready_tail = NULL;
        if (w->status != CCAI_OK)
            CCAI_DISCARD(Ccai_pg_fail(st, w->status, "%s", w->msg));
        Ccai_store_done_fn done = w->done;
        void *ud = w->ud;
        ccai_status status = w->status;
        ccai_free(w);
        done(status, ud);
    }
}

static void sent_push(Ccai_pg *st, Ccai_pg_sent *e)
{
    e->next = NULL;
    if (st->sent_tail)
        st->sent_tail->next = e;
    else
        st->sent = e;
    st->sent_tail = e;
}

static Ccai_pg_sent *sent_pop(Ccai_pg *st)
{
    Ccai_pg_sent *e = st->sent;
    if (e) {
        st->sent = e->next;
        if (!st->sent)
            st->sent_tail = NULL;
    }
    return e;
}

/* A group is answered: its waiters learn how it went; a failure nobody
 * waited for is told to the next sync. */
static void group_done(Ccai_pg *st, Ccai_pg_sent *sync)
{
    ccai_status status = st->group_status;
    const char *msg = st->group_msg;
    if (status != CCAI_OK && !sync->waiters) {
        st->unreported = status;
        snprintf(st->unreported_msg, sizeof st->unreported_msg, "%s", msg);
    } else if (status == CCAI_OK && sync->waiters && st->unreported != CCAI_OK) {
        status = st->unreported;
        msg = st->unreported_msg;
        st->unreported = CCAI_OK;
    }
    Ccai_pg_waiter *w = sync->waiters;
    while (w) {
        Ccai_pg_waiter *next = w->next;
        w->status = status;
        snprintf(w->msg, sizeof w->msg, "%s", msg);
        ready_push(st, w);
        w = next;
    }
    sync->waiters = NULL;
    st->group_status = CCAI_OK;
    st->group_msg[0] = '\0';
}

/* The connection is gone with writes in flight: none of them is known to
 * be committed (a COMMIT whose answer was lost may have been), so none is
 * claimed: every sync waiting is told CCAI_ERR_STORE, and a write sent
 * since the last sync fails the next one. */
static void pipe_fail_all(Ccai_pg *st, const char *why)
{
    char msg[300];
    snprintf(msg, sizeof msg,
             "store: PostgreSQL: %s: the writes in flight are not known to be committed", why);
    bool lost_writes = st->unsynced;
    if (st->next_waiters) { /* waiting for the group not synced yet */
        Ccai_pg_sent group = {.kind = PG_SENT_SYNC, .waiters = st->next_waiters};
        st->next_waiters = NULL;
        st->group_status = CCAI_ERR_STORE;
        snprintf(st->group_msg, sizeof st->group_msg, "%s", msg);
        group_done(st, &group);
        lost_writes = false;
    }
    Ccai_pg_sent *e;
    while ((e = sent_pop(st)) != NULL) {
        if (e->kind == PG_SENT_WRITE)
            lost_writes = true;
        if (e->kind == PG_SENT_SYNC) {
            if (e->waiters) {
                st->group_status = CCAI_ERR_STORE;
                snprintf(st->group_msg, sizeof st->group_msg, "%s", msg);
                group_done(st, e);
                lost_writes = false;
            }
        }
        ccai_free(e);
    }
    if (lost_writes) {
        st->unreported = CCAI_ERR_STORE;
        snprintf(st->unreported_msg, sizeof st->unreported_msg, "%s", msg);
    }
    st->unsynced = false;
    st->group_status = CCAI_OK;
    st->group_msg[0] = '\0';
    Ccai_timer_stop(st->ctx, &st->deadline);
    if (st->watched_fd >= 0)
        Ccai_fd_forget(st->ctx, st->watched_fd);
    st->watched_fd = -1;
    st->watched_events = 0;
}

/* Read the answers that arrived, without waiting; *progress (may be
 * NULL) tells whether any was. */
static CCAI_MUST_CHECK ccai_status pipe_read(Ccai_pg *st, bool *progress)
{
    static const char op[] = "pipelined write";
    bool idle = false; /* PQgetResult() said "nothing" at a sync */
    while (st->sent && !PQisBusy(st->conn)) {
        PGresult *r = PQgetResult(st->conn);
        Ccai_pg_sent *e = st->sent;
        if (e->kind == PG_SENT_SYNC) {
            if (!r) { /* between a command's end and the sync: once */
                if (idle)
                    break;
                idle = true;
                continue;
            }
            idle = false;
            if (progress)
                *progress = true;
            bool ok = PQresultStatus(r) == PGRES_PIPELINE_SYNC;
            PQclear(r);
            if (!ok)
                return conn_lost(st, op, "the pipeline's answers are out of order");
            CCAI_DISCARD(sent_pop(st));
            group_done(st, e);
            ccai_free(e);
            continue;
        }
        if (progress)
            *progress = true;
        if (!r) { /* the end of this command's results */
            CCAI_DISCARD(sent_pop(st));
            ccai_free(e);
            continue;
        }
        ExecStatusType es = PQresultStatus(r);
        if (es == PGRES_FATAL_ERROR || es == PGRES_PIPELINE_ABORTED) {
            if (e->kind == PG_SENT_PREPARE)
                st->prepared[e->id] = false; /* not prepared: again next time */
            if (es == PGRES_FATAL_ERROR && st->group_status == CCAI_OK) {
                if (PQstatus(st->conn) == CONNECTION_BAD) {
                    PQclear(r);
                    return conn_lost(st, op, PQerrorMessage(st->conn));
                }
                /* The detail names the row ("Key (id)=(...) already exists"):
                 * the caller is no longer there to say which. */
                st->group_status = result_fail(st, e->op, r);
                const char *detail = PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL);
                snprintf(st->group_msg, sizeof st->group_msg, "%s%s%s", Ccai_err_get(&st->err),
                         detail ? ": " : "", detail ? detail : "");
            }
        }
        PQclear(r);
    }
    if (st->sent)
        Ccai_timer_start(st->ctx, &st->deadline,
                         (uint64_t)st->statement_timeout_ms + PG_ANSWER_MARGIN_MS);
    else
        Ccai_timer_stop(st->ctx, &st->deadline);
    return CCAI_OK;
}

/* Send what libpq holds; watch the socket for the answers (and for
 * writability while some of it could not be sent). */
static CCAI_MUST_CHECK ccai_status pipe_flush(Ccai_pg *st, const char *op)
{
    int f = PQflush(st->conn);
    if (f < 0)
        return conn_lost(st, op, PQerrorMessage(st->conn));
    pipe_watch(st, CCAI_POLL_IN | (f == 1 ? CCAI_POLL_OUT : 0));
    return CCAI_OK;
}

/* End the group: its sync goes out, what waits for it is told when its
 * answer comes back. */
static CCAI_MUST_CHECK ccai_status pipe_sync(Ccai_pg *st, const char *op)
{
    Ccai_pg_sent *e = Ccai_calloc(1, sizeof *e);
    if (!e)
        return Ccai_pg_fail_nomem(st, op);
    if (!PQpipelineSync(st->conn)) {
        ccai_free(e);
        return conn_lost(st, op, PQerrorMessage(st->conn));
    }
    e->kind = PG_SENT_SYNC;
    e->op = op;
    e->waiters = st->next_waiters;
    st->next_waiters = NULL;
    sent_push(st, e);
    st->unsynced = false;
    if (!Ccai_timer_active(&st->deadline))
        Ccai_timer_start(st->ctx, &st->deadline,
                         (uint64_t)st->statement_timeout_ms + PG_ANSWER_MARGIN_MS);
    return pipe_flush(st, op);
}

/* Before a statement that waits for its answer (a read, a write whose
 * result the caller needs, a transaction): every write sent is answered
 * (bounded by the statement timeout), and the connection leaves pipeline
 * mode. The completions fire from the loop. */
static CCAI_MUST_CHECK ccai_status pipe_drain(Ccai_pg *st, const char *op)
{
    if (!st->conn || PQpipelineStatus(st->conn) == PQ_PIPELINE_OFF)
        return CCAI_OK;
    ccai_status status = st->unsynced ? pipe_sync(st, op) : CCAI_OK;
    uint64_t deadline = answer_deadline(st);
    while (status == CCAI_OK && st->sent) {
        int f = PQflush(st->conn);
        if (f < 0)
            return conn_lost(st, op, PQerrorMessage(st->conn));
        if (f == 0 && !PQisBusy(st->conn)) {
            bool progress = false;
            status = pipe_read(st, &progress);
            if (progress || status != CCAI_OK)
                continue;
        }
        if (!wait_fd(PQsocket(st->conn), (short)(POLLIN | (f == 1 ? POLLOUT : 0)), deadline)) {
            char why[96];
            snprintf(why, sizeof why, "no answer within %d ms",
                     st->statement_timeout_ms + PG_ANSWER_MARGIN_MS);
            return conn_lost(st, op, why);
        }
        if (!PQconsumeInput(st->conn))
            return conn_lost(st, op, PQerrorMessage(st->conn));
    }
    if (status != CCAI_OK)
        return status;
    if (!PQexitPipelineMode(st->conn))
        return conn_lost(st, op, PQerrorMessage(st->conn));
    return CCAI_OK;
}

ccai_status Ccai_pg_write(Ccai_pg *st, const char *op, enum Ccai_pg_stmt_id id,
                          const Ccai_pg_params *p)
{
    ccai_status status = ensure_conn(st, op);
    if (status != CCAI_OK)
        return status;
    if (PQpipelineStatus(st->conn) == PQ_PIPELINE_OFF && !PQenterPipelineMode(st->conn))
        return conn_lost(st, op, PQerrorMessage(st->conn));
    bool prepare = !st->prepared[id];
    Ccai_pg_sent *e = Ccai_calloc(1, sizeof *e);
    Ccai_pg_sent *prep = prepare ? Ccai_calloc(1, sizeof *prep) : NULL;
    if (!e || (prepare && !prep)) {
        ccai_free(e);
        ccai_free(prep);
        return Ccai_pg_fail_nomem(st, op);
    }
    char name[16];
    snprintf(name, sizeof name, "ccai%d", (int)id);
    if (prepare) {
        if (!PQsendPrepare(st->conn, name, Ccai_pg_stmt_sql[id], 0, NULL)) {
            ccai_free(e);
            ccai_free(prep);
            return conn_lost(st, op, PQerrorMessage(st->conn));
        }
        prep->kind = PG_SENT_PREPARE;
        prep->id = id;
        prep->op = op;
        sent_push(st, prep);
        st->prepared[id] = true;
    }
    if (!PQsendQueryPrepared(st->conn, name, p ? p->n : 0, p ? p->v : NULL, NULL, NULL, 0)) {
        ccai_free(e);
        return conn_lost(st, op, PQerrorMessage(st->conn));
    }
    e->kind = PG_SENT_WRITE;
    e->id = id;
    e->op = op;
    sent_push(st, e);
    st->unsynced = true;
    st->n_pipelined++;
    /* The group ends at the next turn of the loop at the latest. */
    if (!Ccai_timer_active(&st->tick))
        Ccai_timer_start(st->ctx, &st->tick, 0);
    return pipe_flush(st, op);
}

static void on_socket(ccai_ctx *ctx, int fd, int events, void *ud)
{
    CCAI_UNUSED(ctx);
    CCAI_UNUSED(fd);
    static const char op[] = "pipelined write";
    Ccai_pg *st = ud;
    if (!st->conn)
        return;
    ccai_status status = CCAI_OK;
    if (events & CCAI_POLL_OUT)
        status = pipe_flush(st, op);
    if (status == CCAI_OK && (events & (CCAI_POLL_IN | CCAI_POLL_ERR)) && !PQconsumeInput(st->conn))
        status = conn_lost(st, op, PQerrorMessage(st->conn));
    if (status == CCAI_OK && PQstatus(st->conn) == CONNECTION_BAD)
        status = conn_lost(st, op, PQerrorMessage(st->conn));
    if (status == CCAI_OK)
        CCAI_DISCARD(pipe_read(st, NULL));
    fire_ready(st);
}

static void pipe_watch(Ccai_pg *st, int events)
{
    int fd = PQsocket(st->conn);
    if (fd == st->watched_fd && events == st->watched_events)
        return;
    if (st->watched_fd >= 0 && st->watched_fd != fd)
        Ccai_fd_forget(st->ctx, st->watched_fd);
    if (Ccai_fd_watch(st->ctx, fd, events, on_socket, st) == CCAI_OK) {
        st->watched_fd = fd;
        st->watched_events = events;
    } else {
        /* Unwatched, the answers are read by the next drain or tick. */
        st->watched_fd = -1;
        st->watched_events = 0;
    }
}

/* The loop's turn: the group of writes sent meanwhile is synced, the
 * answers that arrived are read, the completions fire. */
static void on_tick(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    Ccai_pg *st = ud;
    if (st->conn && st->unsynced && pipe_sync(st, "pipelined write") != CCAI_OK) {
        /* conn_lost() failed what was in flight: told below. */
    }
    if (st->conn && st->sent && PQconsumeInput(st->conn))
        CCAI_DISCARD(pipe_read(st, NULL));
    fire_ready(st);
}

static void on_deadline(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    Ccai_pg *st = ud;
    if (st->conn && st->sent) {
        char why[96];
        snprintf(why, sizeof why, "no answer within %d ms",
                 st->statement_timeout_ms + PG_ANSWER_MARGIN_MS);
        CCAI_DISCARD(conn_lost(st, "pipelined write", why));
    }
    fire_ready(st);
}

/* The function the pipelined call writes fail through (pg_schema.c:
 * CALL_WRITE_PIPE), per connection. */
static CCAI_MUST_CHECK ccai_status pipe_prepare_conn(Ccai_pg *st)
{
    ccai_status status = exec_sql(
        st, "connect",
        "CREATE OR REPLACE FUNCTION pg_temp.ccai_row_written(n bigint, stored bigint, "
        "expected bigint, what text) RETURNS bigint LANGUAGE plpgsql AS $f$ BEGIN "
        "IF n = 1 THEN RETURN n; END IF; "
        "IF stored IS NULL THEN RAISE EXCEPTION 'no call %', what USING ERRCODE = 'CC404'; "
        "END IF; "
        "RAISE EXCEPTION 'call % was changed by another writer (row version %, expected %)', "
        "what, stored, expected USING ERRCODE = 'CC409'; END $f$");
    if (status == CCAI_OK)
        pipe_watch(st, CCAI_POLL_IN);
    return status;
}

ccai_status Ccai_pg_pipeline(Ccai_store *store, ccai_ctx *ctx)
{
    Ccai_pg *st = store && Ccai_pg_is(store) ? Ccai_pg_of(store) : NULL;
    if (!st || !ctx || st->ctx || st->in_tx)
        return CCAI_ERR_INVALID_ARG;
    st->ctx = ctx;
    Ccai_timer_init(&st->tick, on_tick, st);
    Ccai_timer_init(&st->deadline, on_deadline, st);
    ccai_status status = st->conn ? pipe_prepare_conn(st) : CCAI_OK;
    if (status != CCAI_OK) {
        st->ctx = NULL;
        return status;
    }
    st->base.backend = &Ccai_pg_pipelined_backend;
    return CCAI_OK;
}

/* Persist, then act: done fires once the groups sent so far are answered
 * (from the loop); at once when nothing is in flight. */
static CCAI_MUST_CHECK ccai_status pg_sync(Ccai_store *store, Ccai_store_done_fn done, void *ud)
{
    Ccai_pg *st = Ccai_pg_of(store);
    if (!st->ctx || (!st->sent && !st->unsynced && st->unreported == CCAI_OK)) {
        done(CCAI_OK, ud);
        return CCAI_OK;
    }
    Ccai_pg_waiter *w = Ccai_calloc(1, sizeof *w);
    if (!w)
        return Ccai_pg_fail_nomem(st, "sync");
    w->done = done;
    w->ud = ud;
    if (st->unsynced) {
        /* The group being written: its sync goes at the loop's turn (the
         * tick), with every write and every sync asked for meanwhile (group
         * commit: one transaction for all of them). */
        Ccai_pg_waiter **q = &st->next_waiters;
        while (*q)
            q = &(*q)->next;
        *q = w;
        return CCAI_OK;
    }
    if (!st->sent_tail) { /* nothing in flight: a failure not told yet */
        w->status = st->unreported;
        snprintf(w->msg, sizeof w->msg, "%s", st->unreported_msg);
        st->unreported = CCAI_OK;
        ready_push(st, w);
        return CCAI_OK;
    }
    /* The last thing sent is a sync: wait for it, after those already
     * waiting (they fire in the order they were asked). */
    Ccai_pg_waiter **q = &st->sent_tail->waiters;
    while (*q)
        q = &(*q)->next;
    *q = w;
    return CCAI_OK;
}

CCAI_MUST_CHECK ccai_status Ccai_pg_run(Ccai_pg *st, const char *op, enum Ccai_pg_stmt_id id,
                                        const Ccai_pg_params *p, PGresult **ret)
{
    ccai_status status = ensure_conn(st, op);
    if (status == CCAI_OK)
        status = pipe_drain(st, op); /* it must see every write sent */
    if (status != CCAI_OK)
        return status;
    if (st->in_tx)
        return run_in_savepoint(st, op, id, p, ret);
    return run_prepared(st, op, id, p, ret);
}

/* Ad hoc batches --------------------------------------------------------- */

CCAI_MUST_CHECK ccai_status Ccai_pg_batch(Ccai_pg *st, const char *op, const Ccai_pg_sql *q,
                                          size_t n, bool binary_rows, PGresult **ret)
{
    if (n == 0 || n > PG_BATCH_MAX)
        return CCAI_ERR_INVALID_ARG;
    if (st->ctx || st->in_tx)
        return Ccai_pg_fail(st, CCAI_ERR_STATE, "store: %s: a batch needs its own connection", op);
    ccai_status status = ensure_conn(st, op);
    if (status != CCAI_OK)
        return status;
    bool sent = PQenterPipelineMode(st->conn) == 1;
    for (size_t i = 0; sent && i < n; i++) {
        const Ccai_pg_params *p = q[i].p;
        int lengths[PG_PARAMS_MAX] = {0}, formats[PG_PARAMS_MAX] = {0};
        if (q[i].blob > 0 && p && q[i].blob <= p->n) {
            lengths[q[i].blob - 1] = (int)q[i].blob_len;
            formats[q[i].blob - 1] = 1;
        }
        sent = PQsendQueryParams(st->conn, q[i].sql, p ? p->n : 0, NULL, p ? p->v : NULL, lengths,
                                 formats, binary_rows ? 1 : 0) == 1;
    }
    if (!sent || !PQpipelineSync(st->conn))
        return conn_lost(st, op, PQerrorMessage(st->conn));
    uint64_t deadline = answer_deadline(st);
    PGresult *res[PG_BATCH_MAX] = {NULL}, *sync = NULL;
    for (size_t i = 0; i < n && status == CCAI_OK; i++)
        status = command_result(st, op, deadline, &res[i]);
    if (status == CCAI_OK)
        status = next_result(st, op, deadline, &sync);
    if (status == CCAI_OK && (!sync || PQresultStatus(sync) != PGRES_PIPELINE_SYNC))
        status = conn_lost(st, op, "the pipeline's answers are out of order");
    PQclear(sync);
    if (status == CCAI_OK && !PQexitPipelineMode(st->conn))
        status = conn_lost(st, op, PQerrorMessage(st->conn));
    /* The first failure is the one told; the statements after it were
     * skipped (PGRES_PIPELINE_ABORTED). */
    for (size_t i = 0; i < n && status == CCAI_OK; i++) {
        if (PQresultStatus(res[i]) == PGRES_PIPELINE_ABORTED)
            continue;
        PGresult *r = res[i];
        res[i] = NULL;
        status = check_result(st, op, r, &res[i]);
    }
    for (size_t i = 0; i < n; i++) {
        if (status == CCAI_OK && ret)
            ret[i] = res[i];
        else
            PQclear(res[i]);
    }
    return status;
}

/* Rows ------------------------------------------------------------------ */

CCAI_MUST_CHECK bool Ccai_pg_dup(const PGresult *r, int row, int col, char **out)
{
    *out = NULL;
    if (PQgetisnull(r, row, col))
        return true;
    *out = Ccai_strndup(PQgetvalue(r, row, col), (size_t)PQgetlength(r, row, col));
    return *out != NULL;
}

CCAI_MUST_CHECK bool Ccai_pg_dup_json(const PGresult *r, int row, int col, char **out)
{
    *out = NULL;
    if (PQgetisnull(r, row, col))
        return true;
    size_t len = (size_t)PQgetlength(r, row, col);
    char *s = Ccai_malloc(len + 1);
    if (!s)
        return false;
    Ccai_pg_json_compact(PQgetvalue(r, row, col), len, s);
    *out = s;
    return true;
}

int64_t Ccai_pg_int64(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return 0;
    return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

size_t Ccai_pg_json_compact(const char *in, size_t len, char *out)
{
    size_t o = 0;
    bool in_string = false, escaped = false;
    for (size_t i = 0; i < len && in[i]; i++) {
        char c = in[i];
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
            continue;
        }
        out[o++] = c;
    }
    out[o] = '\0';
    return o;
}

/* Open and migrate ----------------------------------------------------- */

static CCAI_MUST_CHECK ccai_status read_version(Ccai_pg *st, int *ret)
{
    PGresult *r = NULL;
    ccai_status status = Ccai_pg_run(st, "read schema version", PG_VERSION, NULL, &r);
    if (status != CCAI_OK)
        return status;
    *ret = (int)Ccai_pg_int64(r, 0, 0);
    PQclear(r);
    return CCAI_OK;
}

static CCAI_MUST_CHECK ccai_status too_new(Ccai_pg *st, int version)
{
    return Ccai_pg_fail(st, CCAI_ERR_STORE,
                        "store: database schema version %d is newer than this libccai (%d)",
                        version, CCAI_STORE_SCHEMA_VERSION);
}

static CCAI_MUST_CHECK ccai_status migrate_step(Ccai_pg *st, int version)
{
    char op[48];
    snprintf(op, sizeof op, "migrate to version %d", version);
    char *sql = Ccai_asprintf("BEGIN; %s INSERT INTO schema_migrations (version, applied_at) "
                              "VALUES (%d, %lld); COMMIT",
                              Ccai_pg_migrations[version - 1], version, (long long)Ccai_wall_ms());
    if (!sql)
        return Ccai_pg_fail_nomem(st, op);
    /* One simple query: a failed statement aborts the rest and the
     * transaction; the connection is back out of it once the ROLLBACK ran. */
    ccai_status status = exec_sql(st, op, sql);
    ccai_free(sql);
    if (status != CCAI_OK && st->conn && PQtransactionStatus(st->conn) != PQTRANS_IDLE) {
        char *why = Ccai_strdup(Ccai_err_get(&st->err));
        if (exec_sql(st, op, "ROLLBACK") != CCAI_OK) {
            /* The first failure is the one told. */
        }
        if (why)
            status = Ccai_pg_fail(st, status, "%s", why);
        ccai_free(why);
    }
    return status;
}

/* Under a session advisory lock: instances starting together migrate one
 * after the other, the later ones find the work done. */
static CCAI_MUST_CHECK ccai_status migrate_locked(Ccai_pg *st)
{
    ccai_status status = exec_sql(st, "create schema_migrations",
                                  "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                  " version integer PRIMARY KEY, applied_at bigint NOT NULL)");
    int version = 0;
    if (status == CCAI_OK)
        status = read_version(st, &version);
    if (status != CCAI_OK)
        return status;
    if (version > CCAI_STORE_SCHEMA_VERSION)
        return too_new(st, version);
    for (int v = version + 1; v <= CCAI_STORE_SCHEMA_VERSION && status == CCAI_OK; v++)
        status = migrate_step(st, v);
    if (status == CCAI_OK)
        status = read_version(st, &st->schema_version);
    return status;
}

static CCAI_MUST_CHECK ccai_status store_migrate(Ccai_pg *st)
{
    char lock[96];
    snprintf(lock, sizeof lock, "SELECT pg_advisory_lock(%d)", PG_MIGRATION_LOCK);
    ccai_status status = exec_sql(st, "lock the schema", lock);
    if (status != CCAI_OK)
        return status;
    status = migrate_locked(st);
    if (st->conn) {
        snprintf(lock, sizeof lock, "SELECT pg_advisory_unlock(%d)", PG_MIGRATION_LOCK);
        ccai_status un = exec_sql(st, "unlock the schema", lock);
        if (status == CCAI_OK)
            status = un;
    }
    return status;
}

static void pg_close(Ccai_store *store);

ccai_status Ccai_pg_open(const char *dsn, int connect_timeout_ms, int statement_timeout_ms,
                         Ccai_store **ret, char **ret_errmsg)
{
    if (!dsn || !ret || connect_timeout_ms <= 0 || statement_timeout_ms <= 0)
        return CCAI_ERR_INVALID_ARG;
    Ccai_pg *st = Ccai_calloc(1, sizeof *st);
    if (!st || !(st->dsn = Ccai_strdup(dsn))) {
        ccai_free(st);
        if (ret_errmsg)
            *ret_errmsg = Ccai_strdup("store: open: out of memory");
        return CCAI_ERR_NOMEM;
    }
    st->base.backend = &Ccai_pg_backend;
    st->watched_fd = -1;
    st->connect_timeout_ms = connect_timeout_ms;
    st->statement_timeout_ms = statement_timeout_ms;
    ccai_status status = connect_db(st);
    if (status == CCAI_OK)
        status = store_migrate(st);
    if (status != CCAI_OK) {
        if (ret_errmsg)
            *ret_errmsg = Ccai_strdup(st->err.msg ? st->err.msg : "store: open: out of memory");
        pg_close(&st->base);
        return status;
    }
    *ret = &st->base;
    return CCAI_OK;
}

static void pg_close(Ccai_store *store)
{
    Ccai_pg *st = Ccai_pg_of(store);
    if (!st)
        return;
    if (st->ctx) {
        /* What was accepted is committed before the store goes (bounded by
         * the statement timeout), and every sync waiting is told. */
        if (!st->in_tx && pipe_drain(st, "close") != CCAI_OK) {
            /* conn_lost() failed them: told below. */
        }
        if (st->conn)
            pipe_fail_all(st, "the store was closed");
        Ccai_timer_stop(st->ctx, &st->tick);
        fire_ready(st);
        Ccai_timer_stop(st->ctx, &st->tick);
        Ccai_timer_stop(st->ctx, &st->deadline);
    }
    /* Closing with an explicit transaction open rolls it back. */
    PQfinish(st->conn);
    Ccai_err_free(&st->err);
    if (st->dsn) /* a secret: not left in freed memory */
        memset(st->dsn, 0, strlen(st->dsn));
    ccai_free(st->dsn);
    ccai_free(st->location);
    ccai_free(st);
}

static const char *pg_errmsg(const Ccai_store *store)
{
    const Ccai_pg *st = (const Ccai_pg *)store;
    return st ? Ccai_err_get(&st->err) : "";
}

static const char *pg_location(const Ccai_store *store)
{
    const Ccai_pg *st = (const Ccai_pg *)store;
    return st->location ? st->location : "postgresql";
}

static CCAI_MUST_CHECK ccai_status pg_describe(Ccai_store *store, json_t *doc)
{
    Ccai_pg *st = Ccai_pg_of(store);
    if (json_object_set_new(doc, "statement_timeout_ms", json_integer(st->statement_timeout_ms)) ||
        json_object_set_new(doc, "connect_timeout_ms", json_integer(st->connect_timeout_ms)) ||
        json_object_set_new(doc, "connected", json_boolean(st->conn != NULL)) ||
        json_object_set_new(doc, "pipelined", json_boolean(st->ctx != NULL)) ||
        (st->conn &&
         json_object_set_new(doc, "server_version", json_integer(PQserverVersion(st->conn)))))
        return CCAI_ERR_NOMEM;
    return CCAI_OK;
}

static int pg_schema_version(Ccai_store *store)
{
    Ccai_pg *st = Ccai_pg_of(store);
    return st ? st->schema_version : 0;
}

/* Writability ------------------------------------------------------------- */

static CCAI_MUST_CHECK ccai_status pg_check_write(Ccai_store *store)
{
    Ccai_pg *st = Ccai_pg_of(store);
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    if (st->in_tx)
        return Ccai_pg_fail(st, CCAI_ERR_STATE, "store: check write: a transaction is open");
    Ccai_pg_params p = {0};
    Ccai_pg_int(&p, Ccai_wall_ms());
    ccai_status status = Ccai_pg_run(st, "check write", PG_HEALTH, &p, NULL);
    if (status == CCAI_OK)
        st->failure[0] = '\0';
    return status;
}

/* Cheap: a connection that is up (one is made if needed) with no failure
 * of the database since the last real commit; after one, a real commit
 * decides. */
static CCAI_MUST_CHECK ccai_status pg_can_write(Ccai_store *store)
{
    Ccai_pg *st = Ccai_pg_of(store);
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    if (st->in_tx)
        return CCAI_OK;
    if (st->failure[0] || !st->conn)
        return pg_check_write(store);
    return CCAI_OK;
}

static const char *pg_failure(const Ccai_store *store)
{
    const Ccai_pg *st = (const Ccai_pg *)store;
    return st && st->failure[0] ? st->failure : NULL;
}

/* Explicit transactions ------------------------------------------------- */

static CCAI_MUST_CHECK ccai_status pg_begin(Ccai_store *store)
{
    Ccai_pg *st = Ccai_pg_of(store);
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    if (st->in_tx)
        return Ccai_pg_fail(st, CCAI_ERR_STATE, "store: begin: a transaction is already open");
    /* BEGIN is sent with the first statement (one round trip less). */
    st->in_tx = true;
    st->tx_sent = false;
    return CCAI_OK;
}

static CCAI_MUST_CHECK ccai_status pg_commit(Ccai_store *store)
{
    Ccai_pg *st = Ccai_pg_of(store);
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    if (!st->in_tx)
        return Ccai_pg_fail(st, CCAI_ERR_STATE, "store: commit: no transaction is open");
    st->in_tx = false;
    if (st->tx_lost) {
        st->tx_lost = false;
        return Ccai_pg_fail(st, CCAI_ERR_STORE,
                            "store: commit: the connection was lost in the transaction: nothing "
                            "of it was committed");
    }
    if (!st->tx_sent)
        return CCAI_OK; /* nothing was written */
    /* COMMIT of a transaction an error aborted answers ROLLBACK, without
     * an error: tell it. */
    PGresult *r = NULL;
    if (!PQsendQuery(st->conn, "COMMIT"))
        return conn_lost(st, "commit", PQerrorMessage(st->conn));
    ccai_status status = finish(st, "commit", &r);
    if (status != CCAI_OK)
        return status;
    bool rolled_back = strcmp(PQcmdStatus(r), "ROLLBACK") == 0;
    PQclear(r);
    if (rolled_back)
        return Ccai_pg_fail(st, CCAI_ERR_STORE,
                            "store: commit: the transaction was rolled back by an earlier error");
    return CCAI_OK;
}

static CCAI_MUST_CHECK ccai_status pg_rollback(Ccai_store *store)
{
    Ccai_pg *st = Ccai_pg_of(store);
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    if (!st->in_tx)
        return Ccai_pg_fail(st, CCAI_ERR_STATE, "store: rollback: no transaction is open");
    st->in_tx = false;
    if (st->tx_lost || !st->conn || !st->tx_sent) {
        st->tx_lost = false;
        return CCAI_OK; /* nothing of it reached a commit */
    }
    return exec_sql(st, "rollback", "ROLLBACK");
}

/* database.postgresql.*: the connection string (a secret: from the
 * environment, DATABASE__POSTGRESQL__DSN), the timeouts. */
static CCAI_MUST_CHECK ccai_status pg_open_config(const Ccai_store_env *env, Ccai_store **ret,
                                                  char **ret_errmsg)
{
    const ccai_config *cfg = env->cfg;
    const char *dsn = Ccai_config_str(cfg, "database.postgresql.dsn");
    if (!dsn || !*dsn) {
        if (ret_errmsg)
            *ret_errmsg = Ccai_strdup("store: database.mode postgresql needs "
                                      "database.postgresql.dsn (DATABASE__POSTGRESQL__DSN)");
        return CCAI_ERR_CONFIG;
    }
    Ccai_store *st = NULL;
    ccai_status status =
        Ccai_pg_open(dsn, (int)Ccai_config_int(cfg, "database.postgresql.connect_timeout_ms", 5000),
                     (int)Ccai_config_int(cfg, "database.postgresql.statement_timeout_ms", 5000),
                     &st, ret_errmsg);
    if (status == CCAI_OK && env->ctx &&
        Ccai_config_bool(cfg, "database.postgresql.pipeline", true))
        status = Ccai_pg_pipeline(st, env->ctx);
    if (status != CCAI_OK && st) {
        if (ret_errmsg)
            *ret_errmsg = Ccai_strdup(pg_errmsg(st));
        pg_close(st);
        return status;
    }
    *ret = st;
    return status;
}

#define PG_BACKEND_OPS                                                                            \
    .open = pg_open_config, .close = pg_close, .errmsg = pg_errmsg, .location = pg_location,      \
    .describe = pg_describe, .schema_version = pg_schema_version, .sync = pg_sync,                \
    .check_write = pg_check_write, .can_write = pg_can_write, .failure = pg_failure,              \
    .call_insert = Ccai_pg_call_insert, .call_update = Ccai_pg_call_update,                       \
    .call_touch = Ccai_pg_call_touch, .call_get = Ccai_pg_call_get,                               \
    .call_find_latest = Ccai_pg_call_find_latest,                                                 \
    .call_find_provider = Ccai_pg_call_find_provider,                                             \
    .call_find_correlation = Ccai_pg_call_find_correlation,                                       \
    .call_set_recording = Ccai_pg_call_set_recording, .calls_stale = Ccai_pg_calls_stale,         \
    .call_list = Ccai_pg_call_list, .message_append = Ccai_pg_message_append,                     \
    .messages_json = Ccai_pg_messages_json, .messages_newest = Ccai_pg_messages_newest,           \
    .message_delete = Ccai_pg_message_delete, .message_set_content = Ccai_pg_message_set_content, \
    .reminder_upsert = Ccai_pg_reminder_upsert, .reminders_json = Ccai_pg_reminders_json,         \
    .job_enqueue = Ccai_pg_job_enqueue, .job_claim_kinds = Ccai_pg_job_claim_kinds,               \
    .job_done = Ccai_pg_job_done, .job_set_payload = Ccai_pg_job_set_payload,                     \
    .job_fail = Ccai_pg_job_fail, .job_next_due_kinds = Ccai_pg_job_next_due_kinds,               \
    .job_get = Ccai_pg_job_get, .jobs_of_call = Ccai_pg_jobs_of_call,                             \
    .phrases_get = Ccai_pg_phrases_get, .phrases_put = Ccai_pg_phrases_put,                       \
    .lease_acquire = Ccai_pg_lease_acquire, .lease_release = Ccai_pg_lease_release,               \
    .lease_get = Ccai_pg_lease_get, .begin = pg_begin, .commit = pg_commit,                       \
    .rollback = pg_rollback,

const Ccai_store_backend Ccai_pg_backend = {
    .name = "postgresql", .writes_durable = true, PG_BACKEND_OPS};

/* The same store once Ccai_pg_pipeline() put it on a loop: its writes are
 * committed when a sync says so. */
const Ccai_store_backend Ccai_pg_pipelined_backend = {
    .name = "postgresql", .writes_durable = false, PG_BACKEND_OPS};

bool Ccai_pg_is(const Ccai_store *st)
{
    return st->backend == &Ccai_pg_backend || st->backend == &Ccai_pg_pipelined_backend;
}
