/* Pipelined writes of the PostgreSQL backend (store/pg.c).
 *
 * The writes of a store on a loop (Ccai_pg_pipeline()) are sent in libpq's
 * pipeline mode and return once sent: the writes sent between two syncs
 * are a group, one implicit transaction that the sync (PQpipelineSync)
 * commits. A group ends at the next turn of the loop (the tick timer:
 * every write of the turn, of every call, and every Ccai_store_sync()
 * asked meanwhile go in one commit), or before a read (which waits for
 * the answers: it must see every write). The answers are read when the
 * socket is readable (on_socket); a failed write aborts the rest of its
 * group on the server, which rolls the whole group back: the syncs
 * waiting for it are told its failure. */
#include "store/pg_private.h"

#include <poll.h>
#include <stdio.h>
#include <string.h>

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
void Ccai_pg_pipe_fail_all(Ccai_pg *st, const char *why)
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
                return Ccai_pg_conn_lost(st, op, "the pipeline's answers are out of order");
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
                    return Ccai_pg_conn_lost(st, op, PQerrorMessage(st->conn));
                }
                /* The detail names the row ("Key (id)=(...) already exists"):
                 * the caller is no longer there to say which. */
                st->group_status = Ccai_pg_result_fail(st, e->op, r);
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
        return Ccai_pg_conn_lost(st, op, PQerrorMessage(st->conn));
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
        return Ccai_pg_conn_lost(st, op, PQerrorMessage(st->conn));
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
CCAI_MUST_CHECK ccai_status Ccai_pg_pipe_drain(Ccai_pg *st, const char *op)
{
    if (!st->conn || PQpipelineStatus(st->conn) == PQ_PIPELINE_OFF)
        return CCAI_OK;
    ccai_status status = st->unsynced ? pipe_sync(st, op) : CCAI_OK;
    uint64_t deadline = Ccai_pg_answer_deadline(st);
    while (status == CCAI_OK && st->sent) {
        int f = PQflush(st->conn);
        if (f < 0)
            return Ccai_pg_conn_lost(st, op, PQerrorMessage(st->conn));
        if (f == 0 && !PQisBusy(st->conn)) {
            bool progress = false;
            status = pipe_read(st, &progress);
            if (progress || status != CCAI_OK)
                continue;
        }
        if (!Ccai_pg_wait_fd(PQsocket(st->conn), (short)(POLLIN | (f == 1 ? POLLOUT : 0)),
                             deadline)) {
            char why[96];
            snprintf(why, sizeof why, "no answer within %d ms",
                     st->statement_timeout_ms + PG_ANSWER_MARGIN_MS);
            return Ccai_pg_conn_lost(st, op, why);
        }
        if (!PQconsumeInput(st->conn))
            return Ccai_pg_conn_lost(st, op, PQerrorMessage(st->conn));
    }
    if (status != CCAI_OK)
        return status;
    if (!PQexitPipelineMode(st->conn))
        return Ccai_pg_conn_lost(st, op, PQerrorMessage(st->conn));
    return CCAI_OK;
}

ccai_status Ccai_pg_write(Ccai_pg *st, const char *op, enum Ccai_pg_stmt_id id,
                          const Ccai_pg_params *p)
{
    ccai_status status = Ccai_pg_ensure_conn(st, op);
    if (status != CCAI_OK)
        return status;
    if (PQpipelineStatus(st->conn) == PQ_PIPELINE_OFF && !PQenterPipelineMode(st->conn))
        return Ccai_pg_conn_lost(st, op, PQerrorMessage(st->conn));
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
            return Ccai_pg_conn_lost(st, op, PQerrorMessage(st->conn));
        }
        prep->kind = PG_SENT_PREPARE;
        prep->id = id;
        prep->op = op;
        sent_push(st, prep);
        st->prepared[id] = true;
    }
    if (!PQsendQueryPrepared(st->conn, name, p ? p->n : 0, p ? p->v : NULL, NULL, NULL, 0)) {
        ccai_free(e);
        return Ccai_pg_conn_lost(st, op, PQerrorMessage(st->conn));
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
        status = Ccai_pg_conn_lost(st, op, PQerrorMessage(st->conn));
    if (status == CCAI_OK && PQstatus(st->conn) == CONNECTION_BAD)
        status = Ccai_pg_conn_lost(st, op, PQerrorMessage(st->conn));
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
        /* Ccai_pg_conn_lost() failed what was in flight: told below. */
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
        CCAI_DISCARD(Ccai_pg_conn_lost(st, "pipelined write", why));
    }
    fire_ready(st);
}

/* The function the pipelined call writes fail through (pg_schema.c:
 * CALL_WRITE_PIPE), per connection. */
CCAI_MUST_CHECK ccai_status Ccai_pg_pipe_prepare_conn(Ccai_pg *st)
{
    ccai_status status = Ccai_pg_exec_sql(
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
    ccai_status status = st->conn ? Ccai_pg_pipe_prepare_conn(st) : CCAI_OK;
    if (status != CCAI_OK) {
        st->ctx = NULL;
        return status;
    }
    st->base.backend = &Ccai_pg_pipelined_backend;
    return CCAI_OK;
}

/* Persist, then act: done fires once the groups sent so far are answered
 * (from the loop); at once when nothing is in flight. */
CCAI_MUST_CHECK ccai_status Ccai_pg_sync(Ccai_store *store, Ccai_store_done_fn done, void *ud)
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

void Ccai_pg_pipe_close(Ccai_pg *st)
{
    /* What was accepted is committed before the store goes (bounded by
     * the statement timeout), and every sync waiting is told. */
    if (!st->in_tx && Ccai_pg_pipe_drain(st, "close") != CCAI_OK) {
        /* Ccai_pg_conn_lost() failed them: told below. */
    }
    if (st->conn)
        Ccai_pg_pipe_fail_all(st, "the store was closed");
    Ccai_timer_stop(st->ctx, &st->tick);
    fire_ready(st);
    Ccai_timer_stop(st->ctx, &st->tick);
    Ccai_timer_stop(st->ctx, &st->deadline);
}
