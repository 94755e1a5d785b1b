/* Pipelined writes of the PostgreSQL backend (store/pg.c).
 *
 * The writes of a store on a loop (Ccai_pg_pipeline()) are sent in libpq's
 * pipeline mode and return once sent: the writes sent between two syncs
 * are a group, one implicit transaction that the sync (PQpipelineSync)
 * commits. The answers are read when the socket is readable (on_socket).
 *
 * The rule: a group is one call's run of writes. Each write names its
 * call (the key: a call's row, its messages; NULL for a write of no call,
 * a phrase translation); a write of another call than the group's ends
 * the group first (its sync is sent), so the writes of several calls in
 * one loop turn are as many transactions, pipelined back to back (no
 * round trip between them). A group also ends at the loop's turn (the
 * tick) and before a read (which waits for the answers: it must see every
 * write).
 * Why not one group per turn with a SAVEPOINT per call: in pipeline mode
 * the server skips everything after a failed statement up to the next
 * sync (PGRES_PIPELINE_ABORTED), the other calls' savepoints too, and
 * rolls the implicit transaction back; only a sync bounds a failure
 * without a round trip.
 * So a failed write (a stale row version, a constraint, a lost row, the
 * statement timeout) rolls back its call's run alone: the writes of that
 * run before and after it. A run is consecutive writes: A, B, A in one
 * turn are three groups, and A's second is committed if its own writes
 * succeed (an update from the same stale row fails again; a message is
 * kept); A's syncs are told the first run's failure all the same, so
 * its acts do not run. It is remembered for that call (a fault) and
 * told to the syncs of that call (Ccai_store_sync_call()) waiting for the
 * turn or asked next, once; a sync of another call waiting for the same
 * moment is told CCAI_OK, its writes being committed. A sync of no call
 * (Ccai_store_sync()) is told any failure not told yet, and forgets them
 * all. A failure is never forgotten untold: beyond PG_FAULTS_MAX calls'
 * failures waiting for their sync, the store fails closed (fault_add()).
 *
 * One WAL flush per turn all the same: a group ended by another call's
 * write commits with synchronous_commit off (set_config(..., true): for
 * that transaction only), and the turn ends (the tick, a read) with one
 * durable commit that flushes the WAL up to it, so every commit before it:
 * the last call's run itself when it was the turn's only group, else a
 * flush of its own (pg_logical_emit_message(true, ...): a WAL record, no
 * row, any role may). The syncs wait for that durable group; if it fails
 * (or the connection goes), the turn's earlier groups are not known to be
 * durable and their calls' syncs are told so. Another session may read a
 * group before the turn's flush (PostgreSQL's synchronous_commit off: lost
 * only if PostgreSQL's machine crashes in that millisecond; our acts wait
 * for the flush). A lost connection fails every group in flight (not known
 * to be committed): every sync waiting is told, and each group's call's
 * next sync. */
#include "store/pg_private.h"

#include <poll.h>
#include <stdio.h>
#include <string.h>

const char Ccai_pg_faults_lost_msg[] =
    "store: PostgreSQL: more calls' failed writes not told to a sync of their call than the "
    "store keeps (PG_FAULTS_MAX): whether this call's writes were committed is not known; "
    "every sync fails until a sync of every write (Ccai_store_sync())";

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

static void sent_free(Ccai_pg_sent *e)
{
    if (e)
        ccai_free(e->key);
    ccai_free(e);
}

static void fault_forget(Ccai_pg *st);

static bool same_key(const char *a, bool a_keyed, const char *b)
{
    return a_keyed ? b && strcmp(a, b) == 0 : !b;
}

/* A group of key failed: remembered for the next sync of its call (the
 * first failure, the one that rolled its writes back) until a sync of it
 * is told. Never forgotten untold (a forgotten failure would let a later
 * sync of its call be told OK: persist then act broken). Beyond
 * PG_FAULTS_MAX calls' failures untold at once, the store fails closed
 * (faults_lost): the failure is not kept, and every sync is told
 * CCAI_ERR_STORE (its call's writes may be among the untold ones) until a
 * sync of every call (Ccai_store_sync()); the readiness check fails
 * meanwhile. */
static void fault_add(Ccai_pg *st, const char *key, ccai_status status, const char *msg)
{
    Ccai_pg_fault **q = &st->faults;
    for (; *q; q = &(*q)->next)
        if (same_key((*q)->key, (*q)->keyed, key))
            return;
    size_t len = key ? strlen(key) : 0;
    Ccai_pg_fault *f = st->n_faults < PG_FAULTS_MAX ? Ccai_calloc(1, sizeof *f + len + 1) : NULL;
    if (!f) { /* too many, or out of memory: fail closed */
        st->faults_lost = true;
        snprintf(st->failure, sizeof st->failure, "%s", Ccai_pg_faults_lost_msg);
        return;
    }
    f->status = status;
    snprintf(f->msg, sizeof f->msg, "%s", msg);
    f->keyed = key != NULL;
    memcpy(f->key, key ? key : "", len + 1);
    *q = f;
    st->n_faults++;
}

/* What a sync of key (keyed false: of every write) is told now: the
 * failure of its call's writes, or the first of any for an unkeyed one;
 * each told fault is marked for fault_forget(). */
static const Ccai_pg_fault *fault_tell(Ccai_pg *st, bool keyed, const char *key)
{
    const Ccai_pg_fault *first = NULL;
    for (Ccai_pg_fault *f = st->faults; f; f = f->next) {
        if (keyed && !same_key(f->key, f->keyed, key))
            continue;
        f->told = true;
        if (!first)
            first = f;
    }
    return first;
}

/* The call's handle went: its failure kept is dropped, and so is the one
 * of its groups still in flight (or not synced yet) when they are
 * answered; a write of the call after this (a new handle) makes its open
 * run count again. */
void Ccai_pg_forget_call(Ccai_store *store, const char *call_id)
{
    Ccai_pg *st = Ccai_pg_of(store);
    if (!st || !call_id)
        return;
    for (Ccai_pg_fault *f = st->faults; f; f = f->next)
        if (same_key(f->key, f->keyed, call_id))
            f->told = true;
    fault_forget(st);
    for (Ccai_pg_sent *e = st->sent; e; e = e->next)
        if (e->kind == PG_SENT_SYNC && e->key && strcmp(e->key, call_id) == 0)
            e->forgotten = true;
    for (Ccai_pg_sent *e = st->unflushed; e; e = e->next)
        if (e->key && strcmp(e->key, call_id) == 0)
            e->forgotten = true;
    if (st->unsynced && st->run_key && strcmp(st->run_key, call_id) == 0)
        st->run_forgotten = true;
}

static void fault_forget(Ccai_pg *st)
{
    Ccai_pg_fault **q = &st->faults;
    while (*q) {
        Ccai_pg_fault *f = *q;
        if (f->told) {
            *q = f->next;
            ccai_free(f);
            st->n_faults--;
        } else {
            q = &f->next;
        }
    }
}

/* w learns how its call's writes went; all (a failed flush, a lost
 * connection: what came before is not known to be durable) overrides. */
static void waiter_tell(Ccai_pg *st, Ccai_pg_waiter *w, ccai_status all, const char *all_msg)
{
    const Ccai_pg_fault *f = fault_tell(st, w->keyed, w->key);
    if (all != CCAI_OK) {
        w->status = all;
        snprintf(w->msg, sizeof w->msg, "%s", all_msg);
    } else if (f) {
        w->status = f->status;
        snprintf(w->msg, sizeof w->msg, "%s", f->msg);
    } else if (st->faults_lost) {
        w->status = CCAI_ERR_STORE;
        snprintf(w->msg, sizeof w->msg, "%s", Ccai_pg_faults_lost_msg);
    } else {
        w->status = CCAI_OK;
        w->msg[0] = '\0';
    }
    if (!w->keyed && st->faults_lost) { /* every write's failure told: */
        if (w->status == CCAI_OK) {
            w->status = CCAI_ERR_STORE;
            snprintf(w->msg, sizeof w->msg, "%s", Ccai_pg_faults_lost_msg);
        }
        st->faults_lost = false; /* each kept fault is marked told */
    }
    ready_push(st, w);
}

static void unflushed_clear(Ccai_pg *st)
{
    Ccai_pg_sent *e;
    while ((e = st->unflushed) != NULL) {
        st->unflushed = e->next;
        sent_free(e);
    }
}

/* A group is answered: its failure is its call's; the syncs waiting for
 * it learn how their own call's writes went (a failure of another call's
 * group is not theirs), a failure no sync of its call waited for is told
 * to the next one. */
static void group_done(Ccai_pg *st, Ccai_pg_sent *sync, bool lost)
{
    ccai_status all = CCAI_OK;
    if (st->group_status != CCAI_OK) {
        if (!sync->barrier && !sync->forgotten)
            fault_add(st, sync->key, st->group_status, st->group_msg);
        /* The flush failed, or the connection is gone: the groups
         * committed without a flush before are not known to be durable. */
        if (sync->barrier || lost) {
            all = st->group_status;
            for (Ccai_pg_sent *e = st->unflushed; e; e = e->next)
                if (!e->forgotten)
                    fault_add(st, e->key, st->group_status, st->group_msg);
        }
    }
    if (sync->durable)
        unflushed_clear(st);
    Ccai_pg_waiter *w = sync->waiters;
    while (w) {
        Ccai_pg_waiter *next = w->next;
        waiter_tell(st, w, all, st->group_msg);
        w = next;
    }
    fault_forget(st);
    sync->waiters = NULL;
    st->group_status = CCAI_OK;
    st->group_msg[0] = '\0';
}

/* The connection is gone with writes in flight: none of them is known to
 * be committed (a COMMIT whose answer was lost may have been), so none is
 * claimed: each group in flight, and the writes sent since the last sync,
 * fail with CCAI_ERR_STORE, told to the syncs of their calls (those
 * waiting now, or the next). */
void Ccai_pg_pipe_fail_all(Ccai_pg *st, const char *why)
{
    char msg[300];
    snprintf(msg, sizeof msg,
             "store: PostgreSQL: %s: the writes in flight are not known to be committed", why);
    Ccai_pg_sent *e;
    while ((e = sent_pop(st)) != NULL) {
        if (e->kind == PG_SENT_SYNC) {
            if (st->group_status == CCAI_OK) {
                st->group_status = CCAI_ERR_STORE;
                snprintf(st->group_msg, sizeof st->group_msg, "%s", msg);
            }
            group_done(st, e, true);
        }
        sent_free(e);
    }
    if (st->unsynced || st->next_waiters) { /* the group not synced yet, what waits */
        Ccai_pg_sent group = {.kind = PG_SENT_SYNC,
                              .waiters = st->next_waiters,
                              .key = st->run_key,
                              .durable = true,
                              .forgotten = st->run_forgotten};
        st->next_waiters = NULL;
        st->run_key = NULL;
        st->run_forgotten = false;
        st->group_status = CCAI_ERR_STORE;
        snprintf(st->group_msg, sizeof st->group_msg, "%s", msg);
        group_done(st, &group, true);
        ccai_free(group.key);
    }
    unflushed_clear(st);
    st->async_groups = 0;
    ccai_free(st->run_key); /* a run whose first write could not be sent */
    st->run_key = NULL;
    st->run_forgotten = false;
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
            bool kept = !e->durable && st->group_status == CCAI_OK;
            group_done(st, e, false);
            if (kept) { /* committed, not flushed yet: until the turn's flush */
                e->next = st->unflushed;
                st->unflushed = e;
            } else {
                sent_free(e);
            }
            continue;
        }
        if (progress)
            *progress = true;
        if (!r) { /* the end of this command's results */
            CCAI_DISCARD(sent_pop(st));
            sent_free(e);
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

/* Send a statement of ours (no parameters) in the group. */
static CCAI_MUST_CHECK ccai_status pipe_send(Ccai_pg *st, const char *op, const char *sql)
{
    Ccai_pg_sent *e = Ccai_calloc(1, sizeof *e);
    if (!e)
        return Ccai_pg_fail_nomem(st, op);
    if (!PQsendQueryParams(st->conn, sql, 0, NULL, NULL, NULL, NULL, 0)) {
        ccai_free(e);
        return Ccai_pg_conn_lost(st, op, PQerrorMessage(st->conn));
    }
    e->kind = PG_SENT_WRITE;
    e->op = op;
    sent_push(st, e);
    return CCAI_OK;
}

/* End the group: its sync goes out. A durable group is committed with
 * synchronous_commit (its commit flushes the WAL, every commit before it
 * included) and what waits is told when its answer comes back; the others
 * (a call's run ended by another call's write) commit without waiting for
 * the flush, their waiters wait for the turn's durable group. */
static CCAI_MUST_CHECK ccai_status pipe_sync(Ccai_pg *st, const char *op, bool durable,
                                             bool barrier)
{
    Ccai_pg_sent *e = Ccai_calloc(1, sizeof *e);
    if (!e)
        return Ccai_pg_fail_nomem(st, op);
    ccai_status status = CCAI_OK;
    if (!durable)
        status = pipe_send(st, op, "SELECT set_config('synchronous_commit', 'off', true)");
    else if (barrier)
        status = pipe_send(st, op, "SELECT pg_logical_emit_message(true, 'ccai.flush', '')");
    if (status != CCAI_OK) {
        ccai_free(e);
        return status;
    }
    if (!PQpipelineSync(st->conn)) {
        ccai_free(e);
        return Ccai_pg_conn_lost(st, op, PQerrorMessage(st->conn));
    }
    e->kind = PG_SENT_SYNC;
    e->op = op;
    e->key = st->run_key;
    e->durable = durable;
    e->barrier = barrier;
    e->forgotten = st->run_forgotten;
    st->run_key = NULL;
    st->run_forgotten = false;
    if (durable) {
        e->waiters = st->next_waiters;
        st->next_waiters = NULL;
        st->async_groups = 0;
    } else {
        st->async_groups++;
    }
    sent_push(st, e);
    st->unsynced = false;
    st->n_groups++;
    if (!Ccai_timer_active(&st->deadline))
        Ccai_timer_start(st->ctx, &st->deadline,
                         (uint64_t)st->statement_timeout_ms + PG_ANSWER_MARGIN_MS);
    return pipe_flush(st, op);
}

/* The turn ends (the tick, a read): the group being written is synced,
 * and one durable commit covers the turn's groups: the last call's run
 * itself when it is the turn's only group, else a flush of its own (a
 * transactional WAL message: it writes no row, its commit flushes the WAL
 * up to it), so that a failed last group cannot leave the others
 * unflushed. */
static CCAI_MUST_CHECK ccai_status pipe_end_turn(Ccai_pg *st, const char *op)
{
    ccai_status status = CCAI_OK;
    if (st->unsynced)
        status = pipe_sync(st, op, st->async_groups == 0, false);
    if (status == CCAI_OK && st->async_groups > 0)
        status = pipe_sync(st, op, true, true);
    return status;
}

/* Before a statement that waits for its answer (a read, a write whose
 * result the caller needs, a transaction): every write sent is answered
 * (bounded by the statement timeout), and the connection leaves pipeline
 * mode. The completions fire from the loop. */
CCAI_MUST_CHECK ccai_status Ccai_pg_pipe_drain(Ccai_pg *st, const char *op)
{
    if (!st->conn || PQpipelineStatus(st->conn) == PQ_PIPELINE_OFF)
        return CCAI_OK;
    ccai_status status = pipe_end_turn(st, op);
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
        int w = Ccai_pg_wait_conn(st, (short)(POLLIN | (f == 1 ? POLLOUT : 0)), deadline);
        if (w != 1) {
            char why[96];
            if (w < 0)
                snprintf(why, sizeof why, "stopped before the answer");
            else
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

ccai_status Ccai_pg_write(Ccai_pg *st, const char *key, const char *op, enum Ccai_pg_stmt_id id,
                          const Ccai_pg_params *p)
{
    ccai_status status = Ccai_pg_ensure_conn(st, op);
    if (status != CCAI_OK)
        return status;
    if (PQpipelineStatus(st->conn) == PQ_PIPELINE_OFF && !PQenterPipelineMode(st->conn))
        return Ccai_pg_conn_lost(st, op, PQerrorMessage(st->conn));
    /* A write of another call than the group's ends that group first: a
     * group is one call's run of writes (the rule at the top). */
    bool new_run = !st->unsynced || !same_key(st->run_key, st->run_key != NULL, key);
    char *run_key = NULL;
    bool prepare = !st->prepared[id];
    Ccai_pg_sent *e = Ccai_calloc(1, sizeof *e);
    Ccai_pg_sent *prep = prepare ? Ccai_calloc(1, sizeof *prep) : NULL;
    if (!e || (prepare && !prep) || (new_run && key && !(run_key = Ccai_strdup(key)))) {
        ccai_free(e);
        ccai_free(prep);
        ccai_free(run_key);
        return Ccai_pg_fail_nomem(st, op);
    }
    if (new_run && st->unsynced && (status = pipe_sync(st, op, false, false)) != CCAI_OK) {
        ccai_free(e);
        ccai_free(prep);
        ccai_free(run_key);
        return status;
    }
    if (new_run)
        st->run_key = run_key;
    st->run_forgotten = false; /* a write after the handle went: its run counts */
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
    if (st->conn && (st->unsynced || st->async_groups)) /* a failure: told below */
        CCAI_DISCARD(pipe_end_turn(st, "pipelined write"));
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

/* Whether a sync of call_id (NULL: of every write) has a failure to be
 * told. */
static bool fault_pending(const Ccai_pg *st, const char *call_id)
{
    if (st->faults_lost)
        return true;
    for (const Ccai_pg_fault *f = st->faults; f; f = f->next)
        if (!call_id || same_key(f->key, f->keyed, call_id))
            return true;
    return false;
}

/* Persist, then act: done fires once the groups sent so far are answered
 * (from the loop), with the failure of call_id's writes (NULL: of any);
 * at once when nothing is in flight nor to be told. */
CCAI_MUST_CHECK ccai_status Ccai_pg_sync(Ccai_store *store, const char *call_id,
                                         Ccai_store_done_fn done, void *ud)
{
    Ccai_pg *st = Ccai_pg_of(store);
    if (!st->ctx || (!st->sent && !st->unsynced && !fault_pending(st, call_id))) {
        done(CCAI_OK, ud);
        return CCAI_OK;
    }
    size_t len = call_id ? strlen(call_id) : 0;
    Ccai_pg_waiter *w = Ccai_calloc(1, sizeof *w + len + 1);
    if (!w)
        return Ccai_pg_fail_nomem(st, "sync");
    w->done = done;
    w->ud = ud;
    w->keyed = call_id != NULL;
    memcpy(w->key, call_id ? call_id : "", len + 1);
    if (st->unsynced || st->async_groups) {
        /* The turn being written: its durable group goes at the loop's
         * turn (the tick) or before a read, with the syncs asked for
         * meanwhile. */
        Ccai_pg_waiter **q = &st->next_waiters;
        while (*q)
            q = &(*q)->next;
        *q = w;
        return CCAI_OK;
    }
    if (!st->sent_tail) { /* nothing in flight: a failure not told yet */
        waiter_tell(st, w, CCAI_OK, "");
        fault_forget(st);
        return CCAI_OK;
    }
    /* The last thing sent is a durable sync: wait for it, after those
     * already waiting (they fire in the order they were asked). */
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
    if (!st->in_tx) /* a failure (Ccai_pg_conn_lost() failed them): told below */
        CCAI_DISCARD(Ccai_pg_pipe_drain(st, "close"));
    if (st->conn)
        Ccai_pg_pipe_fail_all(st, "the store was closed");
    Ccai_timer_stop(st->ctx, &st->tick);
    fire_ready(st);
    Ccai_timer_stop(st->ctx, &st->tick);
    Ccai_timer_stop(st->ctx, &st->deadline);
    ccai_free(st->run_key);
    st->run_key = NULL;
    unflushed_clear(st);
    for (Ccai_pg_fault *f = st->faults; f; f = st->faults) {
        st->faults = f->next;
        ccai_free(f);
    }
    st->n_faults = 0;
    st->faults_lost = false;
}
