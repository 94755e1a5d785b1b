/* Calls placed back (the schedule_callback tool).
 *
 * A callback is a durable job (kind "callback") of the call, due at the
 * time the caller chose. Its payload is what the report shows:
 *   {"at", "about", "channel", "phone_number",
 *    "dials": [{"at", "outcome", "ended_at"}], "outcome"}
 * outcome: "scheduled", "dialing", "retrying", "answered", "given_up",
 * "replaced" (the caller chose another time).
 *
 * 1. When it is due the runner (its own timer, re-armed at start, after
 *    each change, every third of a call lease and by the sweep) claims
 *    it and, persist then act, stores the dial ("dialing") with the job
 *    pending again at now + the guard, then places the call through the
 *    dialer (the channel the call came from). The channel's
 *    ccai_call_start() runs inside place(): the engine resumes the stored
 *    call in it (Ccai_engine_call_start), so the callee is back in the
 *    same conversation, with its claim and task.
 * 2. The leg connects: the dial is "answered", the job done, and the bot
 *    opens with "you asked us to call you back about ..." (the callback
 *    phrase, in the call's language).
 * 3. The leg ends unanswered (no-answer, busy, failed...): the dial gets
 *    the provider's word, and the job is due again after a backoff
 *    (callbacks.retry_delay_sec, doubling), or given up after
 *    callbacks.max_attempts dials.
 * A process that stops while dialling leaves the job pending at the guard:
 * when it comes due with its call no longer in progress, the dial counts
 * as "interrupted" and the next one goes. A callback due while its call is
 * in progress (the caller rang, or the leg is still on) waits. */
#include "engine/engine.h"

#include "config/config.h"
#include "core/json.h"

#include <stdio.h>

#define CB_KIND "callback"
/* A claimed job whose process stopped is claimable again after this. */
#define CB_LEASE_MS (5 * 60 * 1000)
/* While a dial is in progress the job waits this long before it looks
 * again (the leg's end reschedules it sooner). */
#define CB_GUARD_MS       (10 * 60 * 1000)
#define CB_STORE_RETRY_MS 1000
#define CB_MAX_DELAY_MS   (24 * 3600 * 1000LL)

struct Ccai_callbacks {
    Ccai_engine *e;
    Ccai_timer timer;
};

static void count(Ccai_engine *e, const char *outcome)
{
    char labels[64];
    snprintf(labels, sizeof labels, "outcome=\"%s\"", outcome);
    /* Best effort: a sample lost changes nothing of the callback. */
    CCAI_DISCARD(Ccai_metrics_counter_add(e->metrics, "ccai_callbacks_total", labels, 1));
}

static int64_t max_dials(const Ccai_engine *e)
{
    return Ccai_config_int(e->cfg, "callbacks.max_attempts", 3);
}

/* The wait before dial n + 1 (n >= 1 dials made): the delay, doubled per
 * dial, capped at a day. */
static int64_t backoff_ms(const Ccai_engine *e, size_t dials)
{
    int64_t d = Ccai_config_int(e->cfg, "callbacks.retry_delay_sec", 600) * 1000;
    for (size_t i = 1; i < dials && d < CB_MAX_DELAY_MS; i++)
        d *= 2;
    return d < CB_MAX_DELAY_MS ? d : CB_MAX_DELAY_MS;
}

void Ccai_callbacks_kick(Ccai_engine *e)
{
    Ccai_callbacks *cb = e->callbacks;
    if (!cb)
        return;
    int64_t due = -1;
    ccai_status st = Ccai_store_job_next_due_kinds(e->store, CB_KIND, &due);
    if (st != CCAI_OK) {
        Ccai_timer_start(e->ctx, &cb->timer, CB_STORE_RETRY_MS);
        return;
    }
    if (due < 0) {
        Ccai_timer_stop(e->ctx, &cb->timer);
        return;
    }
    int64_t now = Ccai_wall_ms();
    Ccai_timer_start(e->ctx, &cb->timer, due > now ? (uint64_t)(due - now) : 0);
}

/* The payload of job as an object (NULL when it is not one: a job written
 * by hand). */
static json_t *payload_of(const Ccai_store_job *job)
{
    Ccai_json_err jerr;
    ccai_status st;
    json_t *p =
        job->payload ? Ccai_json_load(job->payload, strlen(job->payload), &jerr, &st) : NULL;
    if (!json_is_object(p)) {
        json_decref(p);
        return NULL;
    }
    return p;
}

static json_t *dials_of(json_t *p)
{
    json_t *d = json_object_get(p, "dials");
    if (!json_is_array(d)) {
        d = json_array();
        if (!d || json_object_set_new(p, "dials", d) != 0)
            return NULL;
    }
    return d;
}

/* Store the payload, then the job's next state: retry_at > 0 pending then,
 * 0 with error given up, done without error. Logged when it cannot be
 * stored (the job then runs again after its lease or guard). */
static CCAI_MUST_CHECK bool store_state(Ccai_engine *e, int64_t id, json_t *p, const char *error,
                                        int64_t retry_at)
{
    char *text = Ccai_json_dump(p, JSON_COMPACT);
    ccai_status st = text ? Ccai_store_begin(e->store) : CCAI_ERR_NOMEM;
    if (st == CCAI_OK) {
        st = Ccai_store_job_set_payload(e->store, id, text);
        if (st == CCAI_OK)
            st = error || retry_at ? Ccai_store_job_fail(e->store, id, error, retry_at)
                                   : Ccai_store_job_done(e->store, id);
        if (st == CCAI_OK)
            st = Ccai_store_commit(e->store);
        if (st != CCAI_OK && Ccai_store_rollback(e->store) != CCAI_OK)
            Ccai_log(&e->log, CCAI_LOG_ERROR, "callback %lld: rollback: %s", (long long)id,
                     Ccai_store_errmsg(e->store));
    }
    ccai_free(text);
    if (st != CCAI_OK)
        Ccai_log(&e->log, CCAI_LOG_ERROR, "callback %lld: cannot store its state: %s",
                 (long long)id,
                 st == CCAI_ERR_NOMEM ? "out of memory" : Ccai_store_errmsg(e->store));
    return st == CCAI_OK;
}

static void set_str(json_t *o, const char *key, const char *v)
{
    /* Out of memory leaves the member as it was: the report says less. */
    CCAI_DISCARD(json_object_set_new(o, key, json_string(v)));
}

static void now_iso(char out[32])
{
    Ccai_format_iso8601(Ccai_wall_ms(), out, 32);
}

/* The last dial ended with outcome (not answered): try again after the
 * backoff, or give up. */
static void dial_failed(Ccai_engine *e, int64_t id, json_t *p, const char *call_id,
                        const char *outcome)
{
    json_t *dials = dials_of(p);
    size_t n = json_array_size(dials);
    json_t *last = n ? json_array_get(dials, n - 1) : NULL;
    char iso[32];
    now_iso(iso);
    if (last) {
        set_str(last, "outcome", outcome);
        set_str(last, "ended_at", iso);
    }
    count(e, "unanswered");
    if ((int64_t)n >= max_dials(e)) {
        set_str(p, "outcome", "given_up");
        char why[160];
        snprintf(why, sizeof why, "given up after %zu dials (last: %.100s)", n, outcome);
        if (store_state(e, id, p, why, 0))
            count(e, "given_up");
        Ccai_log(&e->log, CCAI_LOG_WARN, "call %s: callback %s", call_id, why);
        return;
    }
    int64_t retry_at = Ccai_wall_ms() + backoff_ms(e, n);
    set_str(p, "outcome", "retrying");
    char next[32];
    Ccai_format_iso8601(retry_at, next, sizeof next);
    set_str(p, "next_at", next);
    if (store_state(e, id, p, outcome, retry_at))
        Ccai_log(&e->log, CCAI_LOG_INFO, "call %s: callback dial %zu: %s; again at %s", call_id, n,
                 outcome, next);
    Ccai_callbacks_kick(e);
}

/* Place the call (persist, then act). */
static void dial(Ccai_engine *e, Ccai_store_job *job, json_t *p, const Ccai_store_call *row)
{
    const char *why = NULL;
    const char *channel =
        e->dialer.pick
            ? e->dialer.pick(e->dialer.ud, json_string_value(json_object_get(p, "channel")), &why)
            : NULL;
    json_t *dials = dials_of(p);
    char iso[32];
    now_iso(iso);
    json_t *d = json_pack("{s:i, s:s, s:s, s:s}", "n", (json_int_t)json_array_size(dials) + 1, "at",
                          iso, "outcome", "dialing", "channel", channel ? channel : "");
    if (!dials || !d || json_array_append_new(dials, d) != 0) {
        if (Ccai_store_job_fail(e->store, job->id, "out of memory",
                                Ccai_wall_ms() + CB_STORE_RETRY_MS) != CCAI_OK)
            Ccai_log(&e->log, CCAI_LOG_ERROR, "callback %lld: %s", (long long)job->id,
                     Ccai_store_errmsg(e->store));
        return;
    }
    if (!channel) {
        dial_failed(e, job->id, p, row->id, why ? why : "no channel can place calls");
        return;
    }
    set_str(p, "outcome", "dialing");
    json_object_del(p, "next_at");
    if (!store_state(e, job->id, p, "dialing", Ccai_wall_ms() + CB_GUARD_MS))
        return;
    const char *about = json_string_value(json_object_get(p, "about"));
    e->dialing.call_id = row->id;
    e->dialing.job_id = job->id;
    e->dialing.about = about;
    e->dialing.taken = false;
    char *leg = NULL;
    ccai_status st = e->dialer.place(e->dialer.ud, channel, row->phone_number, &leg);
    bool taken = e->dialing.taken;
    memset(&e->dialing, 0, sizeof e->dialing);
    if (st != CCAI_OK) {
        char reason[300];
        snprintf(reason, sizeof reason, "could not be placed: %s: %.200s", ccai_status_str(st),
                 ccai_ctx_errmsg(e->ctx));
        Ccai_log(&e->log, CCAI_LOG_WARN, "call %s: callback %s", row->id, reason);
        dial_failed(e, job->id, p, row->id, reason);
        return;
    }
    count(e, "dialed");
    if (!taken || !leg || strcmp(leg, row->id) != 0)
        Ccai_log(&e->log, CCAI_LOG_ERROR,
                 "call %s: callback placed as call %s: the channel did not resume the call",
                 row->id, leg ? leg : "?");
    else
        Ccai_log(&e->log, CCAI_LOG_INFO, "call %s: callback dial on %s", row->id, channel);
    ccai_free(leg);
}

static void run(Ccai_engine *e, Ccai_store_job *job)
{
    json_t *p = payload_of(job);
    Ccai_store_call *row = NULL;
    ccai_status st =
        p && job->call_id ? Ccai_store_call_get(e->store, job->call_id, &row) : CCAI_ERR_NOT_FOUND;
    if (st == CCAI_ERR_NOT_FOUND) {
        /* No call to go back to (deleted), or a payload not ours. */
        if (Ccai_store_job_fail(e->store, job->id, p ? "the call is gone" : "malformed job", 0) !=
            CCAI_OK)
            Ccai_log(&e->log, CCAI_LOG_ERROR, "callback %lld: %s", (long long)job->id,
                     Ccai_store_errmsg(e->store));
        json_decref(p);
        return;
    }
    if (st != CCAI_OK) {
        Ccai_log(&e->log, CCAI_LOG_WARN, "callback %lld: %s", (long long)job->id,
                 Ccai_store_errmsg(e->store));
        if (Ccai_store_job_fail(e->store, job->id, "store", Ccai_wall_ms() + CB_STORE_RETRY_MS) !=
            CCAI_OK)
            Ccai_log(&e->log, CCAI_LOG_ERROR, "callback %lld: %s", (long long)job->id,
                     Ccai_store_errmsg(e->store));
        json_decref(p);
        return;
    }
    json_t *dials = dials_of(p);
    size_t n = json_array_size(dials);
    const char *last =
        n ? json_string_value(json_object_get(json_array_get(dials, n - 1), "outcome")) : NULL;
    bool going = Ccai_call_state_in_progress(Ccai_call_state_parse(row->state)) ||
                 Ccai_call_live(e, row->id);
    if (going) {
        /* The caller is on the line (rang in), or the leg still rings:
         * look again later; its end reschedules it sooner. */
        if (!store_state(e, job->id, p, "the call is in progress", Ccai_wall_ms() + CB_GUARD_MS))
            Ccai_log(&e->log, CCAI_LOG_WARN, "call %s: callback postponed unstored", row->id);
    } else if (last && strcmp(last, "dialing") == 0) {
        /* This or another process stopped while it dialled. */
        dial_failed(e, job->id, p, row->id, "interrupted");
    } else {
        dial(e, job, p, row);
    }
    Ccai_store_call_free(row);
    json_decref(p);
}

static void on_timer(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    Ccai_engine *e = ud;
    Ccai_store_job *job = NULL;
    ccai_status st =
        Ccai_store_job_claim_kinds(e->store, CB_KIND, Ccai_wall_ms(), CB_LEASE_MS, &job);
    if (st == CCAI_ERR_NOT_FOUND) {
        Ccai_callbacks_kick(e);
        return;
    }
    if (st != CCAI_OK) {
        Ccai_log(&e->log, st == CCAI_ERR_BUSY ? CCAI_LOG_WARN : CCAI_LOG_ERROR, "callbacks: %s",
                 Ccai_store_errmsg(e->store));
        Ccai_timer_start(e->ctx, &e->callbacks->timer, CB_STORE_RETRY_MS);
        return;
    }
    run(e, job);
    Ccai_store_job_free(job);
    /* The next due one (another may be due now). */
    Ccai_callbacks_kick(e);
}

/* A claim tried now (from the sweep), unless a callback is due. */
void Ccai_callbacks_poll(Ccai_engine *e)
{
    Ccai_callbacks *cb = e->callbacks;
    if (cb && !Ccai_timer_active(&cb->timer))
        on_timer(&cb->timer, e);
}

ccai_status Ccai_callbacks_new(Ccai_engine *e)
{
    Ccai_callbacks *cb = Ccai_calloc(1, sizeof *cb);
    if (!cb)
        return CCAI_ERR_NOMEM;
    cb->e = e;
    Ccai_timer_init(&cb->timer, on_timer, e);
    /* A callback hours away is no work in flight (ccai_ctx_busy()). */
    Ccai_timer_set_idle(&cb->timer, true);
    e->callbacks = cb;
    Ccai_callbacks_kick(e); /* callbacks left by an earlier run */
    return CCAI_OK;
}

void Ccai_callbacks_free(Ccai_engine *e)
{
    Ccai_callbacks *cb = e->callbacks;
    if (!cb)
        return;
    Ccai_timer_stop(e->ctx, &cb->timer);
    ccai_free(cb);
    e->callbacks = NULL;
}

/* The tool ---------------------------------------------------------------------- */

/* Earlier callbacks of the call not dialled yet give way to the new time. */
static CCAI_MUST_CHECK ccai_status replace_pending(Ccai_engine *e, const char *call_id)
{
    Ccai_store_job **jobs = NULL;
    size_t n = 0;
    ccai_status st = Ccai_store_jobs_of_call(e->store, call_id, CB_KIND, 100, &jobs, &n);
    for (size_t i = 0; st == CCAI_OK && i < n; i++) {
        if (strcmp(jobs[i]->state, "pending") != 0)
            continue;
        json_t *p = payload_of(jobs[i]);
        const char *outcome = json_string_value(json_object_get(p, "outcome"));
        if (p && outcome && strcmp(outcome, "scheduled") == 0) {
            set_str(p, "outcome", "replaced");
            char *text = Ccai_json_dump(p, JSON_COMPACT);
            st = text ? Ccai_store_job_set_payload(e->store, jobs[i]->id, text) : CCAI_ERR_NOMEM;
            if (st == CCAI_OK)
                st = Ccai_store_job_fail(e->store, jobs[i]->id, "replaced by a new time", 0);
            ccai_free(text);
        }
        json_decref(p);
    }
    Ccai_store_job_list_free(jobs, n);
    return st;
}

char *Ccai_callback_schedule(ccai_call *c, int64_t at, const char *when, const char *about)
{
    Ccai_engine *e = c->eng;
    const char *why = NULL;
    const char *channel =
        e->dialer.pick ? e->dialer.pick(e->dialer.ud, c->row.channel, &why) : NULL;
    if (!channel) {
        Ccai_log(&c->log, CCAI_LOG_WARN, "call %s: callback refused: %s", c->row.id,
                 why ? why : "no dialer");
        return Ccai_asprintf("Failed: no call back can be scheduled (%s). Tell the customer we "
                             "cannot call back and that they can call us again.",
                             why ? why : "no telephony channel can place calls");
    }
    json_t *p = json_pack("{s:s, s:s, s:s, s:s, s:[], s:s}", "at", when, "about",
                          about ? about : "", "channel", channel, "phone_number",
                          c->row.phone_number, "dials", "outcome", "scheduled");
    char *payload = p ? Ccai_json_dump(p, JSON_COMPACT) : NULL;
    json_decref(p);
    if (!payload)
        return NULL;
    ccai_status st = Ccai_store_begin(e->store);
    if (st == CCAI_OK) {
        st = replace_pending(e, c->row.id);
        if (st == CCAI_OK)
            st = Ccai_store_job_enqueue(e->store, CB_KIND, c->row.id, payload, at, NULL);
        /* The reminder shows it to the operators with the other to-dos. */
        if (st == CCAI_OK)
            st = Ccai_store_reminder_upsert(e->store, c->row.id, "Call back the customer",
                                            about && *about ? about : "Scheduled call back", at,
                                            "assistant", NULL);
        if (st == CCAI_OK)
            st = Ccai_store_commit(e->store);
        if (st != CCAI_OK && Ccai_store_rollback(e->store) != CCAI_OK)
            Ccai_log(&c->log, CCAI_LOG_ERROR, "call %s: rollback: %s", c->row.id,
                     Ccai_store_errmsg(e->store));
    }
    ccai_free(payload);
    if (st != CCAI_OK) {
        Ccai_log(&c->log, CCAI_LOG_ERROR, "call %s: callback not stored: %s", c->row.id,
                 Ccai_store_errmsg(e->store));
        return Ccai_strdup("Failed: the call back could not be saved. Tell the customer we "
                           "cannot promise a call back and that they can call us again.");
    }
    count(e, "scheduled");
    Ccai_log(&c->log, CCAI_LOG_INFO, "call %s: callback scheduled for %s on %s", c->row.id, when,
             channel);
    Ccai_callbacks_kick(e);
    int64_t tries = max_dials(e);
    return Ccai_asprintf("Callback scheduled for %s: we will call %s then%s.", when,
                         c->row.phone_number,
                         tries > 1 ? ", and try again later if there is no answer" : "");
}

/* The leg's outcome ----------------------------------------------------------------- */

/* The callback job of leg c with its payload, or false (logged). */
static CCAI_MUST_CHECK bool leg_job(ccai_call *c, Ccai_store_job **ret_job, json_t **ret_p)
{
    Ccai_engine *e = c->eng;
    ccai_status st = Ccai_store_job_get(e->store, c->callback_job, ret_job);
    if (st != CCAI_OK) {
        Ccai_log(&c->log, CCAI_LOG_ERROR, "call %s: callback %lld: %s", c->row.id,
                 (long long)c->callback_job, Ccai_store_errmsg(e->store));
        return false;
    }
    *ret_p = payload_of(*ret_job);
    if (!*ret_p) {
        Ccai_store_job_free(*ret_job);
        return false;
    }
    return true;
}

void Ccai_callback_answered(ccai_call *c)
{
    if (!c->callback_job || c->callback_answered)
        return;
    c->callback_answered = true;
    Ccai_engine *e = c->eng;
    Ccai_store_job *job = NULL;
    json_t *p = NULL;
    if (!leg_job(c, &job, &p))
        return;
    json_t *dials = dials_of(p);
    json_t *last = json_array_get(dials, json_array_size(dials) - 1);
    char iso[32];
    now_iso(iso);
    if (last) {
        set_str(last, "outcome", "answered");
        set_str(last, "answered_at", iso);
    }
    set_str(p, "outcome", "answered");
    if (store_state(e, job->id, p, NULL, 0))
        count(e, "answered");
    Ccai_log(&c->log, CCAI_LOG_INFO, "call %s: callback answered", c->row.id);
    json_decref(p);
    Ccai_store_job_free(job);
}

void Ccai_callback_unanswered(ccai_call *c, const char *reason)
{
    if (!c->callback_job || c->callback_answered)
        return;
    Ccai_store_job *job = NULL;
    json_t *p = NULL;
    bool found = leg_job(c, &job, &p);
    c->callback_job = 0; /* one outcome per leg */
    if (!found)
        return;
    dial_failed(c->eng, job->id, p, c->row.id, reason && *reason ? reason : "not answered");
    json_decref(p);
    Ccai_store_job_free(job);
}
