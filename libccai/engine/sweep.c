/* Calls that outlive their process.
 *
 * A process killed mid-call leaves its calls "in progress" in the store.
 * A channel may take such a call back when the provider next reports on it
 * (ACS does, within its recognition timeout); when none does, nothing else
 * would ever end it, and lists, metrics and reports would say it is still
 * going. The rule, for any number of processes sharing the store:
 *
 *   1. Every process touches the calls it holds live (updated_at = now,
 *      row_version + 1) every window / 4: a live call's last activity is
 *      never older than that.
 *   2. A call in progress whose last activity (updated_at, or its last
 *      message) is older than the window (conversation.takeback_window_sec)
 *      has no live holder. The sweep, run by every process at start and
 *      every window / 4, ends it: state "ended", reason "interrupted", the
 *      post-call job when the caller spoke.
 *   3. The end is written only if the row is still as the sweep read it
 *      (row_version): a process that took the call back, or touched it, in
 *      between wins and the sweep leaves the call alone.
 *
 * So a call taken back within the window is never ended, and a process
 * never ends a call another live process holds, unless that process's loop
 * stalled for longer than three quarters of the window.
 *
 * Leases (several instances, docs/deployment.md "Several instances"): every
 * process renews the lease of each call it holds every third of
 * server.call_lease_ms (a call whose lease ran out may be taken over by
 * any of them: docs/deployment.md). The sweep needs no lease: rule 1 keeps
 * a live holder's calls out of its reach.
 *
 * Timers that outlive their process (docs/deployment.md, "Timers"): the
 * durable jobs (post-call, SMS, callbacks, alerts) are rows with their
 * run_at; every third of a lease each runner reads the earliest due one
 * (jobs another process queued), and every sweep tries a claim (jobs
 * another process claimed and left, claimable after their lease). */
#include "engine/engine.h"

#include "config/config.h"
#include "core/metrics.h"

#define SWEEP_BATCH      100 /* stale calls ended per run */
#define SWEEP_PERIOD_MIN 250 /* ms */

struct Ccai_sweep {
    Ccai_engine *e;
    Ccai_timer timer;
    Ccai_timer lease_timer;
};

static int64_t window_ms(const Ccai_engine *e)
{
    return Ccai_config_int(e->cfg, "conversation.takeback_window_sec", 600) * 1000;
}

static uint64_t period_ms(const Ccai_engine *e)
{
    int64_t p = window_ms(e) / 4;
    return p < SWEEP_PERIOD_MIN ? SWEEP_PERIOD_MIN : (uint64_t)p;
}

/* Rule 1. A call ended elsewhere may take others with it (the host hears
 * of it and may free handles): the rest wait for the next run. */
static void heartbeat(Ccai_engine *e)
{
    int64_t recent = Ccai_wall_ms() - (int64_t)period_ms(e);
    for (ccai_call *c = e->calls; c; c = c->next) {
        if (c->free_pending || c->state >= CCAI_CALL_ENDED || c->row.updated_at > recent)
            continue; /* gone, or written since the last run */
        ccai_status st = Ccai_call_touch(c);
        if (st == CCAI_ERR_STATE)
            return;
        if (st != CCAI_OK)
            Ccai_log(&c->log, CCAI_LOG_WARN, "call %s: heartbeat: %s", c->row.id,
                     Ccai_store_errmsg(e->store));
    }
}

/* The leases of the calls held here. A lease lost (this loop stalled past
 * it and another instance took the call over) is said: the row versions
 * keep this process's writes from overwriting the new holder's. */
static void renew_leases(Ccai_engine *e)
{
    int64_t now = Ccai_wall_ms();
    for (ccai_call *c = e->calls; c; c = c->next) {
        if (!c->leased || c->free_pending)
            continue;
        Ccai_store_lease held = {0};
        ccai_status st = Ccai_store_lease_acquire(e->store, c->row.id, e->inst.id, e->inst.url, now,
                                                  e->inst.lease_ms, &held);
        if (st == CCAI_ERR_CONFLICT) {
            c->leased = false;
            Ccai_log(&c->log, CCAI_LOG_ERROR, "call %s: taken over by instance %s", c->row.id,
                     held.owner);
        } else if (st != CCAI_OK) {
            Ccai_log(&c->log, CCAI_LOG_WARN, "call %s: lease not renewed: %s", c->row.id,
                     Ccai_store_errmsg(e->store));
        }
    }
}

/* Rules 2 and 3. */
static void sweep(Ccai_engine *e)
{
    Ccai_store_call **rows = NULL;
    size_t n = 0;
    ccai_status st =
        Ccai_store_calls_stale(e->store, Ccai_wall_ms() - window_ms(e), SWEEP_BATCH, &rows, &n);
    if (st != CCAI_OK) {
        Ccai_log(&e->log, CCAI_LOG_WARN, "sweep: %s", Ccai_store_errmsg(e->store));
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (Ccai_call_live(e, rows[i]->id))
            continue; /* held here: the heartbeat keeps it fresh */
        st = Ccai_call_end_stored(e, rows[i], "interrupted", false);
        /* Best effort: a sample lost changes nothing of the sweep. A call
         * not ended (logged) is met again by the next sweep. */
        if (st == CCAI_OK)
            CCAI_DISCARD(
                Ccai_metrics_counter_add(e->metrics, "ccai_calls_interrupted_total", NULL, 1));
    }
    Ccai_store_call_list_free(rows, n);
}

static void on_lease_timer(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    Ccai_sweep *s = ud;
    Ccai_engine *e = s->e;
    renew_leases(e);
    /* The durable jobs another process queued in the shared store (a
     * callback scheduled by a call it held, then it died): each runner
     * arms its timer at the earliest due one (a read each), so they run
     * here at most a third of a lease late. */
    Ccai_jobs_kick(e);
    Ccai_callbacks_kick(e);
    Ccai_alerts_kick(e);
    Ccai_timer_start(e->ctx, &s->lease_timer, (uint64_t)e->inst.lease_ms / 3);
}

static void on_timer(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    Ccai_sweep *s = ud;
    Ccai_engine *e = s->e;
    heartbeat(e);
    sweep(e);
    /* Jobs another process claimed and left when it died: claimable once
     * their lease ended (their next due time does not show them). */
    Ccai_jobs_poll(e);
    Ccai_callbacks_poll(e);
    Ccai_alerts_poll(e);
    Ccai_timer_start(e->ctx, &s->timer, period_ms(e));
}

ccai_status Ccai_sweep_new(Ccai_engine *e)
{
    Ccai_sweep *s = Ccai_calloc(1, sizeof *s);
    if (!s)
        return CCAI_ERR_NOMEM;
    s->e = e;
    Ccai_timer_init(&s->timer, on_timer, s);
    Ccai_timer_set_idle(&s->timer, true); /* housekeeping: not work in flight */
    Ccai_timer_init(&s->lease_timer, on_lease_timer, s);
    Ccai_timer_set_idle(&s->lease_timer, true);
    sweep(e); /* what an earlier run left, at once */
    Ccai_timer_start(e->ctx, &s->timer, period_ms(e));
    Ccai_timer_start(e->ctx, &s->lease_timer, (uint64_t)e->inst.lease_ms / 3);
    e->sweep = s;
    return CCAI_OK;
}

void Ccai_sweep_free(Ccai_engine *e)
{
    Ccai_sweep *s = e->sweep;
    if (!s)
        return;
    Ccai_timer_stop(e->ctx, &s->timer);
    Ccai_timer_stop(e->ctx, &s->lease_timer);
    ccai_free(s);
    e->sweep = NULL;
}
