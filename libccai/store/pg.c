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
 * groups (one per call's run of writes in a loop turn: a failed write
 * rolls back its own call's writes only, told to that call's syncs) and
 * their syncs complete from the loop (store/pg_pipe.c). The other operations, and every one of a
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

/* The connection is gone or unusable: forget it (the next operation
 * connects again), remember the failure for the readiness check. */
CCAI_MUST_CHECK ccai_status Ccai_pg_conn_lost(Ccai_pg *st, const char *op, const char *why)
{
    char text[200];
    snprintf(text, sizeof text, "%s", why && *why ? why : "connection lost");
    trim(text);
    ccai_status status = Ccai_pg_fail(st, CCAI_ERR_STORE, "store: %s: PostgreSQL: %s", op, text);
    snprintf(st->failure, sizeof st->failure, "%s", Ccai_err_get(&st->err));
    if (st->ctx)
        Ccai_pg_pipe_fail_all(st, text);
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

CCAI_MUST_CHECK ccai_status Ccai_pg_result_fail(Ccai_pg *st, const char *op, const PGresult *r)
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

/* One poll loop for every wait on the server: the connection's socket, and
 * the wake-up fd when the store has one (a worker thread's store). */
CCAI_MUST_CHECK int Ccai_pg_wait_conn(const Ccai_pg *st, short events, uint64_t deadline)
{
    struct pollfd pfd[2] = {{.fd = PQsocket(st->conn), .events = events},
                            {.fd = st->wake_fd, .events = POLLIN}};
    nfds_t nfds = st->wake_fd >= 0 ? 2 : 1;
    for (;;) {
        uint64_t now = Ccai_monotonic_ms();
        if (now >= deadline)
            return 0;
        uint64_t left = deadline - now;
        pfd[0].revents = pfd[1].revents = 0;
        int n = poll(pfd, nfds, left > 60000 ? 60000 : (int)left);
        if (n > 0 && pfd[1].revents)
            return -1; /* before an answer: whoever woke us wants no more */
        if (n > 0)
            return 1;
        if (n < 0 && errno != EINTR)
            return 0;
    }
}

CCAI_MUST_CHECK uint64_t Ccai_pg_answer_deadline(const Ccai_pg *st)
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
            return Ccai_pg_conn_lost(st, op, PQerrorMessage(st->conn));
        if (f == 0 && !PQisBusy(st->conn)) {
            *ret = PQgetResult(st->conn);
            return CCAI_OK;
        }
        int w = Ccai_pg_wait_conn(st, (short)(POLLIN | (f == 1 ? POLLOUT : 0)), deadline);
        if (w <= 0) {
            char why[96];
            if (w < 0)
                snprintf(why, sizeof why, "answer no longer awaited (closing)");
            else
                snprintf(why, sizeof why, "no answer within %d ms",
                         st->statement_timeout_ms + PG_ANSWER_MARGIN_MS);
            return Ccai_pg_conn_lost(st, op, why);
        }
        if (!PQconsumeInput(st->conn))
            return Ccai_pg_conn_lost(st, op, PQerrorMessage(st->conn));
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
    return command_result(st, op, Ccai_pg_answer_deadline(st), ret);
}

/* A command's result checked: a failure's status and text. */
static CCAI_MUST_CHECK ccai_status check_result(Ccai_pg *st, const char *op, PGresult *r,
                                                PGresult **ret)
{
    ExecStatusType es = PQresultStatus(r);
    if (es != PGRES_COMMAND_OK && es != PGRES_TUPLES_OK) {
        ccai_status status;
        if (PQstatus(st->conn) == CONNECTION_BAD)
            status = Ccai_pg_conn_lost(st, op, PQerrorMessage(st->conn));
        else
            status = Ccai_pg_result_fail(st, op, r);
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
CCAI_MUST_CHECK ccai_status Ccai_pg_exec_sql(Ccai_pg *st, const char *op, const char *sql)
{
    if (!PQsendQuery(st->conn, sql))
        return Ccai_pg_conn_lost(st, op, PQerrorMessage(st->conn));
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
    uint64_t deadline = Ccai_monotonic_ms() + (uint64_t)st->connect_timeout_ms;
    /* the host's name resolved off this thread (store/pg_resolve.c) */
    Ccai_pg_conninfo *params = NULL;
    char why_dns[256];
    int r = Ccai_pg_resolve(st->dsn, st->wake_fd, deadline, &params, why_dns, sizeof why_dns);
    if (r <= 0)
        return Ccai_pg_conn_lost(st, op,
                                 r < 0 ? "connection no longer awaited (closing)" : why_dns);
    st->conn = params ? PQconnectStartParams((const char *const *)params->keys,
                                             (const char *const *)params->vals, 0)
                      : PQconnectStart(st->dsn);
    Ccai_pg_conninfo_free(params);
    if (!st->conn)
        return Ccai_pg_fail_nomem(st, op);
    if (PQstatus(st->conn) == CONNECTION_BAD)
        return Ccai_pg_conn_lost(st, op, PQerrorMessage(st->conn));
    PostgresPollingStatusType ps = PGRES_POLLING_WRITING;
    while (ps != PGRES_POLLING_OK) {
        if (ps == PGRES_POLLING_FAILED)
            return Ccai_pg_conn_lost(st, op, PQerrorMessage(st->conn));
        int w = Ccai_pg_wait_conn(st, ps == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline);
        if (w <= 0) {
            char why[80];
            if (w < 0)
                snprintf(why, sizeof why, "connection no longer awaited (closing)");
            else
                snprintf(why, sizeof why, "no connection within %d ms", st->connect_timeout_ms);
            return Ccai_pg_conn_lost(st, op, why);
        }
        ps = PQconnectPoll(st->conn);
    }
    if (PQsetnonblocking(st->conn, 1) != 0)
        return Ccai_pg_conn_lost(st, op, PQerrorMessage(st->conn));
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
    ccai_status status = Ccai_pg_exec_sql(st, op, sql);
    ccai_free(sql);
    if (status == CCAI_OK && st->ctx)
        status = Ccai_pg_pipe_prepare_conn(st);
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
CCAI_MUST_CHECK ccai_status Ccai_pg_ensure_conn(Ccai_pg *st, const char *op)
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
            return Ccai_pg_conn_lost(st, op, PQerrorMessage(st->conn));
        ccai_status status = finish(st, op, NULL);
        if (status != CCAI_OK)
            return status;
        st->prepared[id] = true;
    }
    if (!PQsendQueryPrepared(st->conn, name, p ? p->n : 0, p ? p->v : NULL, NULL, NULL, 0))
        return Ccai_pg_conn_lost(st, op, PQerrorMessage(st->conn));
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
            return Ccai_pg_conn_lost(st, op, PQerrorMessage(st->conn));
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
        return Ccai_pg_conn_lost(st, op, PQerrorMessage(st->conn));
    st->tx_sent = true;
    uint64_t deadline = Ccai_pg_answer_deadline(st);
    PGresult *res[3] = {NULL, NULL, NULL}, *sync = NULL;
    ccai_status status = CCAI_OK;
    if (begin) {
        PGresult *b = NULL;
        status = command_result(st, op, deadline, &b);
        if (status == CCAI_OK && PQresultStatus(b) != PGRES_COMMAND_OK)
            status = Ccai_pg_conn_lost(st, op, PQresultErrorMessage(b));
        PQclear(b);
    }
    for (int i = 0; i < 3 && status == CCAI_OK; i++)
        status = command_result(st, op, deadline, &res[i]);
    if (status == CCAI_OK)
        status = next_result(st, op, deadline, &sync);
    if (status == CCAI_OK && (!sync || PQresultStatus(sync) != PGRES_PIPELINE_SYNC))
        status = Ccai_pg_conn_lost(st, op, "the pipeline's answers are out of order");
    PQclear(sync);
    if (status == CCAI_OK && !PQexitPipelineMode(st->conn))
        status = Ccai_pg_conn_lost(st, op, PQerrorMessage(st->conn));
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
        if (Ccai_pg_exec_sql(st, op, "ROLLBACK TO ccai_op; RELEASE ccai_op") == CCAI_OK && why)
            status = Ccai_pg_fail(st, status, "%s", why);
        ccai_free(why);
    }
    return status;
}

CCAI_MUST_CHECK ccai_status Ccai_pg_run(Ccai_pg *st, const char *op, enum Ccai_pg_stmt_id id,
                                        const Ccai_pg_params *p, PGresult **ret)
{
    ccai_status status = Ccai_pg_ensure_conn(st, op);
    if (status == CCAI_OK)
        status = Ccai_pg_pipe_drain(st, op); /* it must see every write sent */
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
    ccai_status status = Ccai_pg_ensure_conn(st, op);
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
        return Ccai_pg_conn_lost(st, op, PQerrorMessage(st->conn));
    uint64_t deadline = Ccai_pg_answer_deadline(st);
    PGresult *res[PG_BATCH_MAX] = {NULL}, *sync = NULL;
    for (size_t i = 0; i < n && status == CCAI_OK; i++)
        status = command_result(st, op, deadline, &res[i]);
    if (status == CCAI_OK)
        status = next_result(st, op, deadline, &sync);
    if (status == CCAI_OK && (!sync || PQresultStatus(sync) != PGRES_PIPELINE_SYNC))
        status = Ccai_pg_conn_lost(st, op, "the pipeline's answers are out of order");
    PQclear(sync);
    if (status == CCAI_OK && !PQexitPipelineMode(st->conn))
        status = Ccai_pg_conn_lost(st, op, PQerrorMessage(st->conn));
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
    ccai_status status = Ccai_pg_exec_sql(st, op, sql);
    ccai_free(sql);
    if (status != CCAI_OK && st->conn && PQtransactionStatus(st->conn) != PQTRANS_IDLE) {
        char *why = Ccai_strdup(Ccai_err_get(&st->err));
        if (Ccai_pg_exec_sql(st, op, "ROLLBACK") != CCAI_OK) {
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
    ccai_status status =
        Ccai_pg_exec_sql(st, "create schema_migrations",
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
    ccai_status status = Ccai_pg_exec_sql(st, "lock the schema", lock);
    if (status != CCAI_OK)
        return status;
    status = migrate_locked(st);
    if (st->conn) {
        snprintf(lock, sizeof lock, "SELECT pg_advisory_unlock(%d)", PG_MIGRATION_LOCK);
        ccai_status un = Ccai_pg_exec_sql(st, "unlock the schema", lock);
        if (status == CCAI_OK)
            status = un;
    }
    return status;
}

static void pg_close(Ccai_store *store);

ccai_status Ccai_pg_open(const char *dsn, int connect_timeout_ms, int statement_timeout_ms,
                         Ccai_store **ret, char **ret_errmsg)
{
    return Ccai_pg_open_wakeable(dsn, connect_timeout_ms, statement_timeout_ms, -1, ret,
                                 ret_errmsg);
}

ccai_status Ccai_pg_open_wakeable(const char *dsn, int connect_timeout_ms, int statement_timeout_ms,
                                  int wake_fd, Ccai_store **ret, char **ret_errmsg)
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
    st->wake_fd = wake_fd;
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
    if (st->ctx)
        Ccai_pg_pipe_close(st);
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
        (st->ctx &&
         (json_object_set_new(doc, "pipelined_writes", json_integer((json_int_t)st->n_pipelined)) ||
          json_object_set_new(doc, "pipelined_groups", json_integer((json_int_t)st->n_groups)))) ||
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
    if (st->faults_lost) { /* failed closed (pg_pipe.c): not ready */
        snprintf(st->failure, sizeof st->failure, "%s", Ccai_pg_faults_lost_msg);
        return Ccai_pg_fail(st, CCAI_ERR_STORE, "%s", Ccai_pg_faults_lost_msg);
    }
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
        return Ccai_pg_conn_lost(st, "commit", PQerrorMessage(st->conn));
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
    return Ccai_pg_exec_sql(st, "rollback", "ROLLBACK");
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

#define PG_BACKEND_OPS                                                                             \
    .open = pg_open_config, .close = pg_close, .errmsg = pg_errmsg, .location = pg_location,       \
    .describe = pg_describe, .schema_version = pg_schema_version, .sync = Ccai_pg_sync,            \
    .forget_call = Ccai_pg_forget_call, .check_write = pg_check_write, .can_write = pg_can_write,  \
    .failure = pg_failure, .call_insert = Ccai_pg_call_insert, .call_update = Ccai_pg_call_update, \
    .call_touch = Ccai_pg_call_touch, .call_get = Ccai_pg_call_get,                                \
    .call_find_latest = Ccai_pg_call_find_latest,                                                  \
    .call_find_provider = Ccai_pg_call_find_provider,                                              \
    .call_find_correlation = Ccai_pg_call_find_correlation,                                        \
    .call_set_recording = Ccai_pg_call_set_recording, .calls_stale = Ccai_pg_calls_stale,          \
    .call_list = Ccai_pg_call_list, .message_append = Ccai_pg_message_append,                      \
    .messages_json = Ccai_pg_messages_json, .messages_newest = Ccai_pg_messages_newest,            \
    .message_delete = Ccai_pg_message_delete, .message_set_content = Ccai_pg_message_set_content,  \
    .reminder_upsert = Ccai_pg_reminder_upsert, .reminders_json = Ccai_pg_reminders_json,          \
    .job_enqueue = Ccai_pg_job_enqueue, .job_claim_kinds = Ccai_pg_job_claim_kinds,                \
    .job_done = Ccai_pg_job_done, .job_set_payload = Ccai_pg_job_set_payload,                      \
    .job_fail = Ccai_pg_job_fail, .job_next_due_kinds = Ccai_pg_job_next_due_kinds,                \
    .job_get = Ccai_pg_job_get, .jobs_of_call = Ccai_pg_jobs_of_call,                              \
    .phrases_get = Ccai_pg_phrases_get, .phrases_put = Ccai_pg_phrases_put,                        \
    .lease_acquire = Ccai_pg_lease_acquire, .lease_release = Ccai_pg_lease_release,                \
    .lease_get = Ccai_pg_lease_get, .begin = pg_begin, .commit = pg_commit,                        \
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
