/* Group commit on SQLite (database.sqlite.group_commit): one COMMIT for the
 * writes of a loop turn (store/sqlite.h, Ccai_sqlite_group_commit_on()).
 *
 * The first write of a turn runs BEGIN IMMEDIATE (the write lock, held
 * from then to the COMMIT: another connection's writes wait for it, at
 * most their busy timeout), later writes join the transaction, each in a
 * savepoint of its own when it takes several statements
 * (Ccai_sqlite_op_begin()), a single statement being undone alone by
 * SQLite when it fails: a failed write returns its error and undoes only
 * itself, the group goes on. The tick (a 0 ms timer: the host's loop runs
 * it after what is ready in this turn) commits, and the syncs asked
 * meanwhile are told the COMMIT's status, from the loop (never from inside
 * a store call: the engine acts there). A COMMIT that fails, or a failure
 * for which SQLite rolled the whole transaction back (disk full, I/O
 * error), is told to every sync waiting for the group, whatever its call:
 * none of the group's writes was committed. A sync asked later is told
 * CCAI_OK (a call that wrote in the failed group and asked no sync before
 * the turn ended is not told: the engine asks its sync in the turn of its
 * writes).
 *
 * In WAL mode a COMMIT does not wait for a lock: the lock is taken by
 * BEGIN IMMEDIATE, so another connection holding it fails the group's
 * first write at once (CCAI_ERR_BUSY after the busy timeout), not the
 * COMMIT. */
#include "store/sqlite_private.h"

#include <string.h>
#include <time.h>

/* A group is committed early when it holds this many writes, or when a
 * write comes this long after the group began: a long loop turn does not
 * hold the write lock (the other workers wait for it) longer. */
#define GROUP_MAX_WRITES 256
#define GROUP_MAX_US     2000
/* How long after this connection last waited for another's write lock a
 * full group gives the lock back for the rest of the turn. */
#define GROUP_CONTENDED_US 1000000

static uint64_t mono_us(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000u + (uint64_t)now.tv_nsec / 1000u;
}

static void ready_append(Ccai_sqlite *st, Ccai_sqlite_waiter *first, Ccai_sqlite_waiter *last)
{
    if (!first)
        return;
    last->next = NULL;
    if (st->ready_tail)
        st->ready_tail->next = first;
    else
        st->ready = first;
    st->ready_tail = last;
    Ccai_timer_start(st->ctx, &st->tick, 0);
}

/* The open group's syncs are told status (fired from the loop). */
static void tell_waiters(Ccai_sqlite *st, ccai_status status)
{
    for (Ccai_sqlite_waiter *w = st->waiters; w; w = w->next)
        w->status = status;
    ready_append(st, st->waiters, st->waiters_tail);
    st->waiters = st->waiters_tail = NULL;
}

static void group_ended(Ccai_sqlite *st, ccai_status status)
{
    uint64_t held = mono_us() - st->group_start_us;
    st->gstats.hold_us += held;
    if (held > st->gstats.hold_max_us)
        st->gstats.hold_max_us = held;
    st->group_open = false;
    st->group_writes = 0;
    if (status != CCAI_OK) {
        st->gstats.failed++;
        Ccai_sqlite_calls_forget(st); /* the rows are as before the group */
    }
    tell_waiters(st, status);
}

ccai_status Ccai_sqlite_group_commit(Ccai_sqlite *st, const char *op)
{
    if (!st->group_open)
        return CCAI_OK;
    /* Closed before COMMIT runs: a failure's Ccai_sqlite_db_fail() does
     * not take the group for lost a second time. */
    st->group_open = false;
    ccai_status status = Ccai_sqlite_exec_stmt(st, op, STMT_COMMIT);
    if (status != CCAI_OK && !sqlite3_get_autocommit(st->db))
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL); /* nothing claimed: undone */
    st->group_open = true;
    st->gstats.groups += status == CCAI_OK;
    group_ended(st, status);
    return status;
}

void Ccai_sqlite_group_check_lost(Ccai_sqlite *st, ccai_status status)
{
    if (st->group_open && sqlite3_get_autocommit(st->db))
        group_ended(st, status == CCAI_OK ? CCAI_ERR_STORE : status);
}

ccai_status Ccai_sqlite_group_enter(Ccai_sqlite *st, const char *op)
{
    if (!st->ctx || st->in_tx || st->group_spent)
        return CCAI_OK; /* spent: each write commits at once until the tick */
    if (st->group_open) {
        if (st->group_writes < GROUP_MAX_WRITES && mono_us() - st->group_start_us < GROUP_MAX_US) {
            st->group_writes++;
            st->gstats.writes++;
            return CCAI_OK;
        }
        /* Its failure is its syncs' (told), not this write's. */
        st->gstats.full++;
        CCAI_DISCARD(Ccai_sqlite_group_commit(st, op));
        /* Another writer on the file (this connection waited for its lock
         * lately, GROUP_CONTENDED_US): the rest of the loop's turn commits
         * each write at once, the lock given back between them, so that
         * the other gets it (reopening a group at once kept it for the
         * whole turn: 8-21 ms with two workers, past their 10 ms busy
         * timeout). Alone, a new group at once. */
        if (mono_us() >= st->contended_until_us)
            goto open;
        st->group_spent = true;
        if (!Ccai_timer_active(&st->tick)) /* the tick clears it */
            Ccai_timer_start(st->ctx, &st->tick, 0);
        return CCAI_OK;
    }
open:;
    ccai_status status = Ccai_sqlite_exec_stmt(st, op, STMT_BEGIN_IMMEDIATE);
    if (status != CCAI_OK)
        return status;
    st->group_open = true;
    st->group_writes = 1;
    st->gstats.writes++;
    st->group_start_us = mono_us();
    if (!Ccai_timer_active(&st->tick))
        Ccai_timer_start(st->ctx, &st->tick, 0);
    return CCAI_OK;
}

static void fire_ready(Ccai_sqlite *st)
{
    Ccai_sqlite_waiter *w;
    while ((w = st->ready) != NULL) {
        st->ready = w->next;
        if (!st->ready)
            st->ready_tail = NULL;
        Ccai_store_done_fn done = w->done;
        void *ud = w->ud;
        ccai_status status = w->status;
        ccai_free(w);
        done(status, ud);
    }
}

/* Acts that write (a sentence said, then the call's end written before
 * it hangs up) make a new group from inside the completions: committed in
 * the same tick, at most this many times, so that the turn's last act
 * (the hang-up) comes in the same loop turn as its sentence (one answer to
 * the webhook, not two). */
#define GROUP_CHAIN_MAX 4

/* The end of the loop's turn: the group is committed, its syncs fire. */
static void on_tick(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    Ccai_sqlite *st = ud;
    st->group_spent = false;
    for (int i = 0; i < GROUP_CHAIN_MAX && (st->group_open || st->ready); i++) {
        CCAI_DISCARD(Ccai_sqlite_group_commit(st, "group commit")); /* told to its syncs */
        fire_ready(st);
    }
}

ccai_status Ccai_sqlite_group_sync(Ccai_store *store, const char *call_id, Ccai_store_done_fn done,
                                   void *ud)
{
    CCAI_UNUSED(call_id); /* a COMMIT's failure is every call's of the group */
    Ccai_sqlite *st = Ccai_sqlite_of(store);
    if (!st->group_open && !st->ready) {
        done(CCAI_OK, ud);
        return CCAI_OK;
    }
    Ccai_sqlite_waiter *w = Ccai_calloc(1, sizeof *w);
    if (!w)
        return Ccai_sqlite_fail_nomem(st, "sync");
    w->done = done;
    w->ud = ud;
    if (!st->group_open) { /* after the completions waiting to fire */
        ready_append(st, w, w);
        return CCAI_OK;
    }
    if (st->waiters_tail)
        st->waiters_tail->next = w;
    else
        st->waiters = w;
    st->waiters_tail = w;
    return CCAI_OK;
}

ccai_status Ccai_sqlite_group_commit_on(Ccai_store *store, ccai_ctx *ctx)
{
    if (!store || !ctx || store->backend != &Ccai_sqlite_backend)
        return CCAI_ERR_INVALID_ARG;
    Ccai_sqlite *st = Ccai_sqlite_of(store);
    if (st->in_tx || st->ctx)
        return CCAI_ERR_INVALID_ARG;
    st->ctx = ctx;
    Ccai_timer_init(&st->tick, on_tick, st);
    st->base.backend = &Ccai_sqlite_group_backend;
    return CCAI_OK;
}

void Ccai_sqlite_group_close(Ccai_sqlite *st)
{
    if (!st->ctx)
        return;
    /* What was accepted is committed before the store goes, and every
     * sync waiting is told. */
    CCAI_DISCARD(Ccai_sqlite_group_commit(st, "close"));
    fire_ready(st);
    Ccai_timer_stop(st->ctx, &st->tick);
}

void Ccai_sqlite_group_get_stats(Ccai_store *store, Ccai_sqlite_group_stats *ret,
                                 uint64_t *busy_waits, uint64_t *busy_wait_us)
{
    Ccai_sqlite *st = Ccai_sqlite_is(store) ? Ccai_sqlite_of(store) : NULL;
    if (ret)
        *ret = st ? st->gstats : (Ccai_sqlite_group_stats){0};
    if (busy_waits)
        *busy_waits = st ? st->busy_waits : 0;
    if (busy_wait_us)
        *busy_wait_us = st ? st->busy_wait_us : 0;
}
