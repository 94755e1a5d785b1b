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
 * meanwhile are told how their writes went, from the loop (never from
 * inside a store call: the engine acts there).
 *
 * The group keeps the calls that wrote in it (the call id each write
 * names; a write of no call, a job's, counts for a sync of no call). A
 * COMMIT that fails, or a failure for which SQLite rolled the whole
 * transaction back (disk full, I/O error), is remembered for each of them
 * (a fault) and told to the syncs of that call (Ccai_store_sync_call())
 * waiting for the group or asked later, once: a call that wrote in the
 * failed group and asked its sync only in a later turn is told all the
 * same. A sync of a call that did not write in the failed group is told
 * CCAI_OK (its writes, in an earlier group, were committed). A sync of no
 * call (Ccai_store_sync()) is told any failure not told yet, and forgets
 * them all; Ccai_store_forget_call() drops the call's. A failure is never
 * forgotten untold: beyond GROUP_FAULTS_MAX calls' failures waiting for
 * their sync, the store fails closed (fault_add()), as PostgreSQL's
 * pipeline (store/pg_pipe.c).
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
/* Calls' failures kept untold for the next sync of their call, at most
 * (as PostgreSQL's pipeline, PG_FAULTS_MAX). */
#define GROUP_FAULTS_MAX 4096

static const char faults_lost_msg[] =
    "store: SQLite group commit: more calls' failed writes not told to a sync of their call than "
    "the store keeps (GROUP_FAULTS_MAX): whether this call's writes were committed is not known; "
    "every sync fails until a sync of every write (Ccai_store_sync())";

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
    /* a tick already due stays where it is (not behind the timers armed
     * since, the outbox's answer among them) */
    if (!Ccai_timer_active(&st->tick))
        Ccai_timer_start(st->ctx, &st->tick, 0);
}

static bool same_key(const Ccai_sqlite_gkey *k, const char *key)
{
    return k->keyed ? key && strcmp(k->key, key) == 0 : !key;
}

static Ccai_sqlite_gkey *gkey_new(const char *key)
{
    size_t len = key ? strlen(key) : 0;
    Ccai_sqlite_gkey *k = Ccai_calloc(1, sizeof *k + len + 1);
    if (!k)
        return NULL;
    k->keyed = key != NULL;
    memcpy(k->key, key ? key : "", len + 1);
    return k;
}

static void gkeys_free(Ccai_sqlite_gkey **list)
{
    Ccai_sqlite_gkey *k;
    while ((k = *list) != NULL) {
        *list = k->next;
        ccai_free(k);
    }
}

/* key wrote in the open group. Out of memory: the write is refused. */
static bool member_add(Ccai_sqlite *st, const char *key)
{
    for (Ccai_sqlite_gkey *k = st->members; k; k = k->next)
        if (same_key(k, key))
            return true;
    Ccai_sqlite_gkey *k = gkey_new(key);
    if (!k)
        return false;
    k->next = st->members;
    st->members = k;
    return true;
}

/* The group of key failed: remembered for the next sync of its call until
 * one is told. Never forgotten untold (a later sync of its call told OK
 * would act on writes that were rolled back): beyond GROUP_FAULTS_MAX
 * calls' failures untold at once (or out of memory), the store fails
 * closed (faults_lost): every sync is told CCAI_ERR_STORE (its call's
 * writes may be among the untold ones) until a sync of every write
 * (Ccai_store_sync()); the readiness check fails meanwhile. */
static void fault_add(Ccai_sqlite *st, const char *key, ccai_status status)
{
    for (Ccai_sqlite_gkey *f = st->faults; f; f = f->next)
        if (same_key(f, key))
            return; /* its first failure is told */
    Ccai_sqlite_gkey *f = st->n_faults < GROUP_FAULTS_MAX ? gkey_new(key) : NULL;
    if (!f) {
        st->faults_lost = true;
        return;
    }
    f->status = status;
    f->next = st->faults;
    st->faults = f;
    st->n_faults++;
}

static void fault_forget(Ccai_sqlite *st)
{
    Ccai_sqlite_gkey **q = &st->faults;
    while (*q) {
        Ccai_sqlite_gkey *f = *q;
        if (f->told) {
            *q = f->next;
            ccai_free(f);
            st->n_faults--;
        } else {
            q = &f->next;
        }
    }
}

/* What a sync of key (NULL: of every write) is told now: the failure of
 * its call's writes kept, or any for a sync of every write; each told is
 * marked for fault_forget() (after the syncs of the same moment: each is
 * told); a store failed closed tells CCAI_ERR_STORE. */
static ccai_status fault_tell(Ccai_sqlite *st, const char *key)
{
    ccai_status status = CCAI_OK;
    for (Ccai_sqlite_gkey *f = st->faults; f; f = f->next) {
        if (key && !same_key(f, key))
            continue;
        f->told = true;
        if (status == CCAI_OK)
            status = f->status;
    }
    if (st->faults_lost && status == CCAI_OK)
        status = CCAI_ERR_STORE;
    if (!key)
        st->faults_lost = false; /* every write's failure told */
    return status;
}

/* The open group's syncs are told how their call's writes went (fired
 * from the loop). */
static void tell_waiters(Ccai_sqlite *st)
{
    for (Ccai_sqlite_waiter *w = st->waiters; w; w = w->next)
        w->status = fault_tell(st, w->keyed ? w->key : NULL);
    fault_forget(st);
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
        for (Ccai_sqlite_gkey *k = st->members; k; k = k->next)
            fault_add(st, k->keyed ? k->key : NULL, status);
    }
    gkeys_free(&st->members);
    tell_waiters(st);
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

ccai_status Ccai_sqlite_group_enter(Ccai_sqlite *st, const char *call_id, const char *op)
{
    if (!st->ctx)
        return CCAI_OK;
    if (st->in_tx || st->group_spent) { /* spent: each write commits at once until the tick */
        if (st->in_tx)
            st->gstats.in_tx++;
        else
            st->gstats.spent++;
        return CCAI_OK;
    }
    if (st->group_open) {
        if (st->group_writes < GROUP_MAX_WRITES && mono_us() - st->group_start_us < GROUP_MAX_US) {
            if (!member_add(st, call_id))
                return Ccai_sqlite_fail_nomem(st, op);
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
    if (status != CCAI_OK) {
        st->gstats.refused++;
        return status;
    }
    if (!member_add(st, call_id)) { /* nothing written yet: undone */
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        return Ccai_sqlite_fail_nomem(st, op);
    }
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

static bool fault_kept(const Ccai_sqlite *st, const char *key)
{
    if (st->faults_lost)
        return true;
    for (const Ccai_sqlite_gkey *f = st->faults; f; f = f->next)
        if (!key || same_key(f, key))
            return true;
    return false;
}

ccai_status Ccai_sqlite_group_sync(Ccai_store *store, const char *call_id, Ccai_store_done_fn done,
                                   void *ud)
{
    Ccai_sqlite *st = Ccai_sqlite_of(store);
    if (!st->group_open && !st->ready && !fault_kept(st, call_id)) {
        done(CCAI_OK, ud);
        return CCAI_OK;
    }
    size_t len = call_id ? strlen(call_id) : 0;
    Ccai_sqlite_waiter *w = Ccai_calloc(1, sizeof *w + len + 1);
    if (!w)
        return Ccai_sqlite_fail_nomem(st, "sync");
    w->done = done;
    w->ud = ud;
    w->keyed = call_id != NULL;
    memcpy(w->key, call_id ? call_id : "", len + 1);
    if (!st->group_open) {
        /* After the completions waiting to fire, told a failure of an
         * earlier group kept for it. */
        w->status = fault_tell(st, call_id);
        fault_forget(st);
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

ccai_status Ccai_sqlite_group_commit_now(Ccai_store *store)
{
    /* its syncs are told from the loop (the tick), as at the turn's end */
    return Ccai_sqlite_group_commit(Ccai_sqlite_of(store), "commit");
}

void Ccai_sqlite_group_forget_call(Ccai_store *store, const char *call_id)
{
    Ccai_sqlite *st = Ccai_sqlite_of(store);
    if (!st || !call_id)
        return;
    for (Ccai_sqlite_gkey *f = st->faults; f; f = f->next)
        if (same_key(f, call_id))
            f->told = true;
    fault_forget(st);
    /* Its writes in the open group: a failure of it is nobody's to tell. */
    for (Ccai_sqlite_gkey **q = &st->members; *q; q = &(*q)->next) {
        Ccai_sqlite_gkey *k = *q;
        if (same_key(k, call_id)) {
            *q = k->next;
            ccai_free(k);
            break;
        }
    }
}

const char *Ccai_sqlite_group_faults_lost(const Ccai_sqlite *st)
{
    return st->faults_lost ? faults_lost_msg : NULL;
}

void Ccai_sqlite_group_close(Ccai_sqlite *st)
{
    if (!st->ctx)
        return;
    /* What was accepted is committed before the store goes, and every
     * sync waiting is told; a completion that writes again (an act's
     * write) makes a group committed in turn, as the tick would. */
    for (int i = 0; i < 2 * GROUP_CHAIN_MAX && (st->group_open || st->ready); i++) {
        CCAI_DISCARD(Ccai_sqlite_group_commit(st, "close")); /* told to its syncs */
        fire_ready(st);
    }
    Ccai_timer_stop(st->ctx, &st->tick);
    gkeys_free(&st->members);
    gkeys_free(&st->faults);
    st->n_faults = 0;
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
