/* Calls: the life of a handle, its state and its persistence. Persist,
 * then act: every change is committed to the store before the host hears
 * about it (Ccai_call_after_commit()). Events are engine/event.c's, stored
 * calls no handle holds engine/stored.c's, and its writes (the bot's words
 * kept for the group commit, acts waiting for their commit)
 * engine/call_writes.c's. */
#include "engine/engine.h"

#include "claim/claim.h"
#include "config/config.h"
#include "core/json.h"
#include "core/metrics.h"
#include "engine/offline.h"

#include <stdio.h>

#define CALLBACK_SECRET_LEN 32

bool Ccai_call_state_in_progress(ccai_call_state s)
{
    return s < CCAI_CALL_ENDED;
}

ccai_call_state Ccai_call_state_parse(const char *s)
{
    for (int i = CCAI_CALL_NEW; i <= CCAI_CALL_DONE; i++) {
        if (s && strcmp(s, ccai_call_state_str((ccai_call_state)i)) == 0)
            return (ccai_call_state)i;
    }
    return CCAI_CALL_ENDED;
}

/* Life of a handle ------------------------------------------------------------ */

static void call_link(ccai_call *c)
{
    Ccai_engine *e = c->eng;
    c->next = e->calls;
    if (e->calls)
        e->calls->prev = c;
    e->calls = c;
    e->n_calls++;
}

static void call_unlink(ccai_call *c)
{
    Ccai_engine *e = c->eng;
    if (c->prev)
        c->prev->next = c->next;
    else if (e->calls == c)
        e->calls = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    e->n_calls--;
}

static void call_destroy(ccai_call *c)
{
    /* The upper layer first: its spans (speech) end inside the call's. */
    if (c->attached_free)
        c->attached_free(c->attached);
    c->attached = NULL;
    c->attached_free = NULL;
    Ccai_span_attr_str(c->span, "call.state", c->row.state);
    Ccai_span_attr_str(c->span, "call.end_reason", c->row.end_reason);
    Ccai_span_end(c->span);
    c->span = NULL;
    Ccai_call_pending_drop(c);
    if (c->eng)
        Ccai_store_forget_call(c->eng->store, c->row.id);
    Ccai_conv_cleanup(c);
    Ccai_call_unsaved_clear(c);
    json_decref(c->initiate);
    json_decref(c->claim);
    Ccai_store_call_clear(&c->row);
    ccai_claim_schema_unref(c->schema);
    Ccai_err_free(&c->err);
    ccai_free(c->callback_about);
    ccai_free(c->menu_name);
    ccai_free(c->end_reason);
    ccai_free(c);
}

/* A plain message (no style, tool calls or engine). */
static CCAI_MUST_CHECK ccai_status add_message(ccai_call *c, const char *persona,
                                               const char *action, const char *content,
                                               const char *lang)
{
    return Ccai_call_add_message(c, persona, action, CCAI_STYLE_NONE, content, lang, NULL, NULL,
                                 NULL);
}

/* Write the row; on a conflict the stored copy wins (re-read), and the
 * caller is told. */
ccai_status Ccai_call_save(ccai_call *c)
{
    Ccai_span *sp = Ccai_span_child(c->span, "store_call_update", CCAI_SPAN_CLIENT);
    ccai_status st = Ccai_store_call_update(c->eng->store, &c->row);
    Ccai_span_end_st(sp, st);
    if (st == CCAI_OK)
        return st;
    return Ccai_call_store_fail(c, st);
}

static void act_notify_state(ccai_call *c, const char *arg, int64_t old_state)
{
    CCAI_UNUSED(arg);
    if ((ccai_call_state)old_state != c->state && c->ops.state_changed)
        c->ops.state_changed(c, (ccai_call_state)old_state, c->state, c->ud);
}

ccai_status Ccai_call_notify_state(ccai_call *c, ccai_call_state old_state)
{
    return Ccai_call_after_commit(c, act_notify_state, NULL, old_state);
}

/* Persist the new state, then tell the host. */
ccai_status Ccai_call_set_state(ccai_call *c, ccai_call_state s)
{
    if (s == c->state)
        return CCAI_OK;
    ccai_call_state old = c->state;
    /* "turn" is the conversation thinking: an in-memory sub-state. Storing
     * it would cost two commits per turn and tell a reader nothing the
     * stored conversation does not. */
    if ((old == CCAI_CALL_CONVERSATION && s == CCAI_CALL_TURN) ||
        (old == CCAI_CALL_TURN && s == CCAI_CALL_CONVERSATION)) {
        c->state = s;
        act_notify_state(c, NULL, old);
        return CCAI_OK;
    }
    char *prev = c->row.state;
    c->row.state = Ccai_strdup(ccai_call_state_str(s));
    if (!c->row.state) {
        c->row.state = prev;
        return CCAI_ERR_NOMEM;
    }
    ccai_status st = Ccai_call_save(c);
    if (st != CCAI_OK) {
        ccai_free(c->row.state);
        c->row.state = prev;
        return st;
    }
    ccai_free(prev);
    c->state = s;
    Ccai_log(&c->log, CCAI_LOG_DEBUG, "call %s: %s -> %s", c->row.id, ccai_call_state_str(old),
             ccai_call_state_str(s));
    return Ccai_call_notify_state(c, old);
}

/* The members a table of its version has: a table of version 1 is shorter. */
static CCAI_MUST_CHECK bool params_copy(const ccai_call_params *p, ccai_call_params *out)
{
    if (p->version < 1 || p->version > CCAI_CALL_PARAMS_VERSION)
        return false;
    memset(out, 0, sizeof *out);
    out->version = p->version;
    out->direction = p->direction;
    out->phone_number = p->phone_number;
    out->bot_phone_number = p->bot_phone_number;
    out->channel = p->channel;
    out->provider_call_id = p->provider_call_id;
    out->initiate_json = p->initiate_json;
    out->claim_schema = p->claim_schema;
    out->resume = p->resume;
    if (p->version >= 2) {
        out->flags = p->flags;
        out->resume_call_id = p->resume_call_id;
    }
    return true;
}

static CCAI_MUST_CHECK bool ops_copy(const ccai_call_ops *o, ccai_call_ops *out)
{
    if (o->version < 1 || o->version > CCAI_CALL_OPS_VERSION)
        return false;
    memset(out, 0, sizeof *out);
    out->version = o->version;
    out->say = o->say;
    out->stop_speaking = o->stop_speaking;
    out->listen = o->listen;
    out->transfer = o->transfer;
    out->hangup = o->hangup;
    out->send_sms = o->send_sms;
    out->record = o->record;
    out->state_changed = o->state_changed;
    if (o->version >= 2)
        out->menu = o->menu;
    return true;
}

/* Take (or renew) the lease of call id for this instance: CCAI_ERR_BUSY
 * when another instance holds it, unexpired (docs/deployment.md, "Several
 * instances": the caller waits for the holder, or for its lease to run
 * out when it died). */
static CCAI_MUST_CHECK ccai_status lease_take(Ccai_engine *e, const char *id)
{
    Ccai_store_lease held = {0};
    ccai_status st = Ccai_store_lease_acquire(e->store, id, e->inst.id, e->inst.url, Ccai_wall_ms(),
                                              e->inst.lease_ms, &held);
    if (st == CCAI_ERR_CONFLICT) {
        Ccai_ctx_set_error(e->ctx, "call %s is held by instance %s", id, held.owner);
        return CCAI_ERR_BUSY;
    }
    if (st != CCAI_OK)
        Ccai_ctx_set_error(e->ctx, "%s", Ccai_store_errmsg(e->store));
    return st;
}

static void lease_give_back(ccai_call *c)
{
    if (!c->leased)
        return;
    c->leased = false;
    /* Best effort: a lease not given back runs out by itself. */
    if (Ccai_store_lease_release(c->eng->store, c->row.id, c->eng->inst.id) != CCAI_OK)
        Ccai_log(&c->log, CCAI_LOG_WARN, "call %s: lease not given back: %s", c->row.id,
                 Ccai_store_errmsg(c->eng->store));
}

/* The stored call a start goes on with: the one named (a channel taking
 * it back after a restart), or the caller's recent one (a caller ringing
 * back), else none (*ret NULL). */
static CCAI_MUST_CHECK ccai_status find_resumed(Ccai_engine *e, const ccai_call_params *p,
                                                const char *phone, Ccai_store_call **ret)
{
    *ret = NULL;
    ccai_status st;
    if (e->dialing.call_id && !e->dialing.taken && !p->resume_call_id &&
        p->direction == CCAI_OUTBOUND) {
        /* A callback being dialled (engine/callback.c): its call goes on,
         * whatever its state, unless a handle holds it. */
        if (Ccai_call_live(e, e->dialing.call_id)) {
            Ccai_ctx_set_error(e->ctx, "call %s is live here: not called back", e->dialing.call_id);
            return CCAI_ERR_STATE;
        }
        st = lease_take(e, e->dialing.call_id);
        if (st != CCAI_OK)
            return st;
        st = Ccai_store_call_get(e->store, e->dialing.call_id, ret);
        if (st != CCAI_OK)
            Ccai_ctx_set_error(e->ctx, "%s", Ccai_store_errmsg(e->store));
        return st;
    }
    if (p->resume_call_id) {
        st = Ccai_store_call_get(e->store, p->resume_call_id, ret);
        /* Read now, not when the channel looked: ended since (another
         * process's sweep, the provider's end), or held here, it is not
         * taken back; the save below is conditional on this read. */
        bool going =
            st == CCAI_OK && Ccai_call_state_in_progress(Ccai_call_state_parse((*ret)->state));
        if (st == CCAI_OK && (!going || Ccai_call_live(e, p->resume_call_id))) {
            Ccai_ctx_set_error(e->ctx, "call %s: %s, not taken back", p->resume_call_id,
                               going ? "live here" : (*ret)->state);
            Ccai_store_call_free(*ret);
            *ret = NULL;
            return CCAI_ERR_STATE;
        }
        if (st != CCAI_OK) {
            Ccai_ctx_set_error(e->ctx, "%s",
                               st == CCAI_ERR_NOT_FOUND ? "no such call"
                                                        : Ccai_store_errmsg(e->store));
            return st;
        }
        /* Read before the lease is taken: a holder that wrote in between
         * makes the conditional save below fail (CONFLICT). */
        st = lease_take(e, p->resume_call_id);
        if (st != CCAI_OK) {
            Ccai_store_call_free(*ret);
            *ret = NULL;
        }
        return st;
    }
    int64_t hours = Ccai_config_int(e->cfg, "conversation.callback_timeout_hour", 3);
    if (!p->resume || hours <= 0)
        return CCAI_OK;
    int64_t since = Ccai_wall_ms() - hours * 3600 * 1000;
    st = Ccai_store_call_find_latest(e->store, phone, since, ret);
    if (st == CCAI_ERR_NOT_FOUND)
        return CCAI_OK;
    if (st != CCAI_OK) {
        Ccai_ctx_set_error(e->ctx, "%s", Ccai_store_errmsg(e->store));
        return st;
    }
    st = lease_take(e, (*ret)->id);
    if (st != CCAI_OK) {
        Ccai_store_call_free(*ret);
        *ret = NULL;
    }
    /* Its earlier leg live on another instance: a new call. */
    return st == CCAI_ERR_BUSY ? CCAI_OK : st;
}

/* A new call stored with its lease, in one transaction (or in the
 * caller's): CCAI_ERR_BUSY (another process holds SQLite's write lock) and
 * every other failure store nothing. Two commits let a lock taken between
 * them fail the lease with the call stored: a call nobody held, left for
 * the sweep, while the request that asked for it was answered 503 (POST
 * /call: the client placed it again) or held and run again (the chat, a
 * Twilio webhook: a second call, or the first taken back as a caller
 * ringing back). */
static CCAI_MUST_CHECK ccai_status insert_leased(Ccai_engine *e, Ccai_store_call *row)
{
    ccai_status st = Ccai_store_begin(e->store);
    bool tx = st == CCAI_OK;
    if (!tx && st != CCAI_ERR_STATE) { /* STATE: inside the caller's transaction */
        Ccai_ctx_set_error(e->ctx, "%s", Ccai_store_errmsg(e->store));
        return st;
    }
    st = Ccai_store_call_insert(e->store, row);
    if (st != CCAI_OK)
        Ccai_ctx_set_error(e->ctx, "%s", Ccai_store_errmsg(e->store));
    else
        st = lease_take(e, row->id);
    if (tx && st == CCAI_OK) {
        st = Ccai_store_commit(e->store);
        if (st != CCAI_OK)
            Ccai_ctx_set_error(e->ctx, "%s", Ccai_store_errmsg(e->store));
    }
    /* Not committed: undone (a COMMIT that failed may have closed it). */
    if (tx && st != CCAI_OK)
        CCAI_DISCARD(Ccai_store_rollback(e->store));
    return st;
}

/* The call's log lines: through the engine's logger as it is when they
 * are written, with the trace id when the call is traced. */
static void call_log(ccai_log_level level, const char *msg, void *ud)
{
    const ccai_call *c = ud;
    const Ccai_logger *lg = &c->eng->log;
    if (!lg->fn || level > lg->min_level)
        return;
    char line[600];
    int n = c->trace_id[0] ? snprintf(line, sizeof line, "%s [trace_id=%s]", msg, c->trace_id) : 0;
    lg->fn(level, n > 0 && (size_t)n < sizeof line ? line : msg, lg->ud);
}

/* A trace per call leg (tracing.sample_ratio of them), with the reference's
 * attributes; the number masked as the logs mask it. */
static void trace_start(ccai_call *c)
{
    c->span = Ccai_trace_root(Ccai_ctx_tracer(c->ctx), "call", CCAI_SPAN_SERVER);
    if (!c->span)
        return;
    char *masked = NULL;
    Ccai_span_attr_str(c->span, "call.id", c->row.id);
    if (ccai_log_mask(c->row.phone_number ? c->row.phone_number : "", &masked) == CCAI_OK)
        Ccai_span_attr_str(c->span, "call.phone_number", masked);
    ccai_free(masked);
    Ccai_span_attr_str(c->span, "call.channel", c->row.channel);
    Ccai_span_attr_str(c->span, "call.direction",
                       c->row.direction == CCAI_OUTBOUND ? "outbound" : "inbound");
    Ccai_span_attr_bool(c->span, "call.resumed", c->resumed);
    Ccai_span_trace_hex(c->span, c->trace_id);
}

ccai_status Ccai_engine_call_start(Ccai_engine *e, const ccai_call_params *params,
                                   const ccai_call_ops *ops_in, void *userdata, ccai_call **ret)
{
    ccai_call_params pv;
    ccai_call_ops ops;
    if (!e || !params || !ops_in || !ret || !params_copy(params, &pv) || !ops_copy(ops_in, &ops))
        return CCAI_ERR_INVALID_ARG;
    const ccai_call_params *p = &pv;
    /* Taken back by id, the stored call says who and which way. */
    if (!p->resume_call_id &&
        (!p->phone_number || (p->direction != CCAI_INBOUND && p->direction != CCAI_OUTBOUND)))
        return CCAI_ERR_INVALID_ARG;
    ccai_ctx *ctx = e->ctx;
    if (Ccai_loop_freeing(ctx))
        return CCAI_ERR_STATE;

    char *phone = NULL, *why = NULL;
    ccai_status st = CCAI_OK;
    if (p->phone_number)
        st = ccai_field_validate(CCAI_FIELD_PHONE_NUMBER, p->phone_number, &phone, &why);
    if (st != CCAI_OK) {
        if (st == CCAI_ERR_VALIDATION)
            Ccai_ctx_set_error(ctx, "phone_number: %s", why ? why : "invalid");
        ccai_free(why);
        return st;
    }

    json_t *initiate = NULL;
    Ccai_store_call *found = NULL;
    ccai_call *c = Ccai_calloc(1, sizeof *c);
    st = CCAI_ERR_NOMEM;
    if (!c)
        goto fail;
    c->ctx = ctx;
    c->eng = e;
    c->log = (Ccai_logger){call_log, c, CCAI_LOG_DEBUG}; /* call_log filters */
    Ccai_call_writes_init(c);
    c->ops = ops;
    c->ud = userdata;
    c->channel_silence = (p->flags & CCAI_CALL_REPORTS_SILENCE) != 0;
    st = find_resumed(e, p, phone, &found);
    if (st != CCAI_OK)
        goto fail;
    st = Ccai_initiate_build(e, p, found ? found->phone_number : phone, &initiate, &c->schema);
    if (st != CCAI_OK)
        goto fail;

    const char *channel = p->channel ? p->channel : "local";
    const char *bot_phone = p->bot_phone_number ? p->bot_phone_number : e->bot_phone_number;
    if (bot_phone && !*bot_phone)
        bot_phone = NULL;
    st = CCAI_ERR_NOMEM;
    if (found) {
        /* A caller ringing back: the earlier call goes on, on this new leg
         * (whose provider ids replace the earlier leg's); a call taken back
         * after a restart is the same leg (its ids stay unless given). */
        c->row = *found;
        ccai_free(found);
        found = NULL;
        c->leased = true; /* find_resumed() took it */
        c->resumed = true;
        c->taken_back = p->resume_call_id != NULL;
        if (e->dialing.call_id && !e->dialing.taken && strcmp(c->row.id, e->dialing.call_id) == 0) {
            e->dialing.taken = true;
            c->callback_job = e->dialing.job_id;
            if (e->dialing.about && !Ccai_str_replace(&c->callback_about, e->dialing.about))
                goto fail;
        }
        c->state = Ccai_call_state_parse(c->row.state);
        if (!Ccai_str_replace(&c->row.channel, channel) ||
            ((!c->taken_back || p->provider_call_id) &&
             !Ccai_str_replace(&c->row.provider_call_id, p->provider_call_id)) ||
            (!c->taken_back && !Ccai_str_replace(&c->row.correlation_id, NULL)) ||
            !Ccai_str_replace(&c->row.state, ccai_call_state_str(CCAI_CALL_NEW)) ||
            !Ccai_str_replace(&c->row.end_reason, NULL))
            goto fail;
        st = Ccai_call_save(c);
        if (st != CCAI_OK) {
            Ccai_ctx_set_error(ctx, "%s", Ccai_err_get(&c->err));
            goto fail;
        }
        c->state = CCAI_CALL_NEW;
    } else {
        char secret[CALLBACK_SECRET_LEN + 1];
        if (!Ccai_uuid4(c->row.id) || !Ccai_random_token(secret, CALLBACK_SECRET_LEN)) {
            st = CCAI_ERR_INTERNAL;
            Ccai_ctx_set_error(ctx, "no system randomness for the call id");
            goto fail;
        }
        char *init_text = Ccai_json_dump(initiate, JSON_COMPACT | JSON_ENSURE_ASCII);
        c->row.direction = p->direction;
        c->row.phone_number = phone;
        phone = NULL;
        c->row.initiate_json = init_text;
        if (!c->row.initiate_json || !Ccai_str_replace(&c->row.bot_phone_number, bot_phone) ||
            !Ccai_str_replace(&c->row.channel, channel) ||
            !Ccai_str_replace(&c->row.provider_call_id, p->provider_call_id) ||
            !Ccai_str_replace(&c->row.state, ccai_call_state_str(CCAI_CALL_NEW)) ||
            !Ccai_str_replace(&c->row.lang, Ccai_initiate_lang(initiate)) ||
            !Ccai_str_replace(&c->row.claim_json, "{}") ||
            !Ccai_str_replace(&c->row.callback_secret, secret))
            goto fail;
        st = insert_leased(e, &c->row);
        if (st != CCAI_OK)
            goto fail;
        c->leased = true;
        c->state = CCAI_CALL_NEW;
    }
    st = CCAI_ERR_NOMEM;
    {
        Ccai_json_err jerr;
        ccai_status pst;
        c->claim = Ccai_json_load(c->row.claim_json, strlen(c->row.claim_json), &jerr, &pst);
        if (!c->claim || !json_is_object(c->claim)) {
            json_decref(c->claim);
            c->claim = json_object();
        }
        if (!c->claim)
            goto fail;
        c->initiate = json_incref(initiate);
        if (Ccai_initiate_stored(c) != CCAI_OK)
            goto fail;
        /* Many calls, the same settings: one tree (the phone number is the
         * row's). Read only from now on. */
        json_object_del(c->initiate, "phone_number");
        c->initiate = Ccai_conv_share_initiate(e, c->initiate);
    }
    c->rate = json_number_value(json_object_get(c->initiate, "prosody_rate"));
    if (c->rate < 0.75 || c->rate > 1.25)
        c->rate = 1.0;
    Ccai_conv_init(c);
    trace_start(c);
    /* Best effort: a sample lost (out of memory, the series cap) changes
     * nothing of the call. */
    CCAI_DISCARD(Ccai_metrics_counter_add(e->metrics, "ccai_calls_total",
                                          c->resumed ? "kind=\"resumed\"" : "kind=\"new\"", 1));
    Ccai_log(&c->log, CCAI_LOG_INFO, "call %s: %s %s on %s%s", c->row.id,
             c->row.direction == CCAI_OUTBOUND ? "outbound" : "inbound",
             c->resumed ? "resumed" : "started", channel, "");
    json_decref(initiate);
    ccai_free(phone);
    call_link(c);
    *ret = c;
    return CCAI_OK;

fail:
    Ccai_store_call_free(found);
    json_decref(initiate);
    ccai_free(phone);
    if (c) {
        lease_give_back(c);
        call_destroy(c);
    }
    return st;
}

ccai_status Ccai_call_save_claim(ccai_call *c)
{
    char *text = Ccai_json_dump(c->claim, JSON_COMPACT | JSON_ENSURE_ASCII);
    if (!text)
        return CCAI_ERR_NOMEM;
    char *prev = c->row.claim_json;
    c->row.claim_json = text;
    ccai_status st = Ccai_call_save(c);
    if (st != CCAI_OK) {
        c->row.claim_json = prev;
        ccai_free(text);
        return st;
    }
    ccai_free(prev);
    return CCAI_OK;
}

static void act_hangup(ccai_call *c, const char *text, int64_t num)
{
    CCAI_UNUSED(text);
    CCAI_UNUSED(num);
    if (c->ops.hangup)
        c->ops.hangup(c, c->ud);
}

void Ccai_call_hangup(ccai_call *c)
{
    if (!Ccai_call_state_in_progress(c->state) || c->state == CCAI_CALL_ENDING)
        return;
    /* The line is hung up after the goodbye and "ending" are settled
     * (never before their commit), and also when they could not be stored
     * (the store's reason is logged): a caller is never held on a bot that
     * is done, and hanging up depends on nothing stored (the HANGUP event
     * that follows, or the sweep, ends the stored call). */
    ccai_status st = Ccai_call_set_state(c, CCAI_CALL_ENDING);
    if (st != CCAI_OK)
        Ccai_log(&c->log, CCAI_LOG_WARN, "call %s: hanging up, the state not stored", c->row.id);
    if (Ccai_call_after_writes(c, act_hangup, NULL, 0) != CCAI_OK)
        act_hangup(c, NULL, 0); /* nothing to wait for (out of memory): now */
}

/* End a call that is going away without a hangup event. */
static void end_quietly(ccai_call *c, const char *reason)
{
    Ccai_conv_cleanup(c);
    if (!Ccai_call_state_in_progress(c->state))
        return;
    ccai_status st = add_message(c, "assistant", "hangup", reason, NULL);
    if (st == CCAI_OK && !Ccai_str_replace(&c->row.end_reason, reason))
        st = CCAI_ERR_NOMEM;
    if (st == CCAI_OK) {
        ccai_call_ops none = c->ops;
        c->ops.state_changed = NULL; /* freeing fires no callbacks */
        st = Ccai_call_set_state(c, CCAI_CALL_ENDED);
        c->ops = none;
    }
    /* Nobody to tell: the stored call stays in progress until the sweep
     * of calls nobody holds ends it (conversation.takeback_window_sec). */
    if (st != CCAI_OK)
        Ccai_log(&c->log, CCAI_LOG_WARN, "call %s: %s, its end not stored: %s", c->row.id, reason,
                 ccai_status_str(st));
}

void Ccai_call_free_ended(ccai_call *c, const char *reason)
{
    if (!c)
        return;
    end_quietly(c, reason);
    ccai_call_free(c);
}

CCAI_EXPORT void ccai_call_free(ccai_call *c)
{
    if (!c)
        return;
    if (c->depth > 0) {
        c->free_pending = true;
        return;
    }
    end_quietly(c, "handle released");
    lease_give_back(c);
    call_unlink(c);
    call_destroy(c);
}

size_t Ccai_calls_in_progress(const Ccai_engine *e)
{
    size_t n = 0;
    for (const ccai_call *c = e->calls; c; c = c->next)
        n += Ccai_call_state_in_progress(c->state);
    return n;
}

void Ccai_calls_cleanup(Ccai_engine *e)
{
    while (e->calls) {
        ccai_call *c = e->calls;
        end_quietly(c, "context freed");
        lease_give_back(c);
        call_unlink(c);
        call_destroy(c);
    }
}

CCAI_EXPORT const char *ccai_call_id(const ccai_call *c)
{
    return c ? c->row.id : NULL;
}

CCAI_EXPORT ccai_call_state ccai_call_get_state(const ccai_call *c)
{
    return c ? c->state : CCAI_CALL_ENDED;
}

CCAI_EXPORT const char *ccai_call_lang(const ccai_call *c)
{
    return c ? c->row.lang : NULL;
}

CCAI_EXPORT int ccai_call_resumed(const ccai_call *c)
{
    return c && c->resumed;
}

CCAI_EXPORT void *ccai_call_userdata(const ccai_call *c)
{
    if (!c)
        return NULL;
    return c->attached ? c->host_ud : c->ud;
}

void Ccai_call_attach(ccai_call *c, void *att, void (*free_fn)(void *att), void *host_ud)
{
    c->attached = att;
    c->attached_free = free_fn;
    c->host_ud = host_ud;
}

void *Ccai_call_attachment(const ccai_call *c)
{
    return c ? c->attached : NULL;
}

typedef struct said_find {
    const char *said;
    int64_t seq;
    bool found;
} said_find;

static int said_match(const Ccai_store_message *m, void *ud)
{
    said_find *f = ud;
    if (!m->persona || strcmp(m->persona, "assistant") != 0 || !m->action ||
        strcmp(m->action, "talk") != 0 || !m->content || strcmp(m->content, f->said) != 0)
        return 0;
    f->found = true;
    f->seq = m->seq;
    return 1;
}

Ccai_speech_kind Ccai_call_expected(const ccai_call *c)
{
    return c && c->offline_mode && c->offline ? Ccai_offline_expected(c->offline)
                                              : CCAI_SPEECH_FREE;
}

ccai_status Ccai_call_said_heard(ccai_call *c, const char *said, const char *heard)
{
    if (!said)
        return CCAI_ERR_INVALID_ARG;
    Ccai_store *store = c->eng->store;
    ccai_status st = Ccai_call_flush_unsaved(c);
    if (st != CCAI_OK)
        return st;
    said_find f = {.said = said};
    st = Ccai_store_messages_newest(store, c->row.id, 32, -1, said_match, &f);
    if (st == CCAI_OK && !f.found)
        st = CCAI_ERR_NOT_FOUND;
    if (st == CCAI_OK)
        st = Ccai_store_begin(store);
    if (st == CCAI_OK) {
        /* In place: the sentence keeps its position before what followed
         * it (the caller's words, a tool call). */
        st = heard && *heard ? Ccai_store_message_set_content(store, c->row.id, f.seq, heard)
                             : Ccai_store_message_delete(store, c->row.id, f.seq);
        if (st == CCAI_OK)
            st = Ccai_store_commit(store);
        /* The first failure is the one returned; one of the rollback too is
         * logged. */
        if (st != CCAI_OK && Ccai_store_rollback(store) != CCAI_OK)
            Ccai_log(&c->log, CCAI_LOG_ERROR, "call %s: rollback: %s", c->row.id,
                     Ccai_store_errmsg(store));
    }
    return st;
}

CCAI_EXPORT const char *ccai_call_errmsg(const ccai_call *c)
{
    return c ? Ccai_err_get(&c->err) : "";
}

CCAI_EXPORT ccai_status ccai_call_to_json(const ccai_call *c, char **ret_json)
{
    if (!c || !ret_json)
        return CCAI_ERR_INVALID_ARG;
    json_t *doc = NULL;
    Ccai_conv_store_kept(c->eng); /* the words said so far are part of it */
    ccai_status st = Ccai_call_doc(c->eng->store, &c->row, &doc);
    return st == CCAI_OK ? Ccai_json_dump_doc(doc, ret_json) : st;
}

CCAI_EXPORT const char *ccai_call_phone_number(const ccai_call *c)
{
    return c ? c->row.phone_number : NULL;
}

CCAI_EXPORT ccai_direction ccai_call_direction(const ccai_call *c)
{
    return c ? c->row.direction : CCAI_INBOUND;
}

CCAI_EXPORT const char *ccai_call_secret(const ccai_call *c)
{
    return c ? c->row.callback_secret : NULL;
}

CCAI_EXPORT const char *ccai_call_initiate_json(const ccai_call *c)
{
    return c ? c->row.initiate_json : NULL;
}

CCAI_EXPORT const char *ccai_call_provider_id(const ccai_call *c)
{
    return c ? c->row.provider_call_id : NULL;
}

/* What a channel sets on a live call ------------------------------------------ */

static CCAI_MUST_CHECK bool settable(ccai_call *c)
{
    if (!c->free_pending && Ccai_call_state_in_progress(c->state))
        return true;
    Ccai_err_set(&c->err, "call %s has ended", c->row.id);
    return false;
}

/* Replace *slot with a copy of value (NULL: keep it), write the row, and
 * restore the old value when the write fails. */
static CCAI_MUST_CHECK ccai_status save_field(ccai_call *c, char **slot, const char *value)
{
    if (!value)
        return CCAI_OK;
    char *prev = *slot;
    *slot = Ccai_strdup(value);
    if (!*slot) {
        *slot = prev;
        return CCAI_ERR_NOMEM;
    }
    ccai_status st = Ccai_call_save(c);
    if (st != CCAI_OK) {
        ccai_free(*slot);
        *slot = prev;
        return st;
    }
    ccai_free(prev);
    return CCAI_OK;
}

CCAI_EXPORT ccai_status ccai_call_set_provider_ids(ccai_call *c, const char *provider_call_id,
                                                   const char *correlation_id)
{
    if (!c)
        return CCAI_ERR_INVALID_ARG;
    if (!settable(c))
        return CCAI_ERR_STATE;
    /* One write when both change: the correlation id goes first. */
    char *prev = c->row.correlation_id;
    char *corr = correlation_id ? Ccai_strdup(correlation_id) : prev;
    if (!corr && correlation_id)
        return CCAI_ERR_NOMEM;
    c->row.correlation_id = corr;
    ccai_status st = provider_call_id ? save_field(c, &c->row.provider_call_id, provider_call_id)
                     : correlation_id ? Ccai_call_save(c)
                                      : CCAI_OK;
    if (st != CCAI_OK) {
        if (corr != prev)
            ccai_free(corr);
        c->row.correlation_id = prev;
        return st;
    }
    if (corr != prev)
        ccai_free(prev);
    return CCAI_OK;
}

CCAI_EXPORT ccai_status ccai_call_set_lang(ccai_call *c, const char *lang)
{
    if (!c || !lang)
        return CCAI_ERR_INVALID_ARG;
    if (!settable(c))
        return CCAI_ERR_STATE;
    const char *code =
        json_string_value(json_object_get(Ccai_conv_lang_entry(c, lang), "short_code"));
    if (!code) {
        Ccai_err_set(&c->err, "\"%.64s\" is not one of the call's languages", lang);
        return CCAI_ERR_NOT_FOUND;
    }
    ccai_status st = save_field(c, &c->row.lang, code);
    if (st == CCAI_OK)
        Ccai_log(&c->log, CCAI_LOG_INFO, "call %s: language %s", c->row.id, c->row.lang);
    return st;
}

CCAI_EXPORT ccai_status ccai_call_goodbye(ccai_call *c)
{
    if (!c)
        return CCAI_ERR_INVALID_ARG;
    if (!settable(c))
        return CCAI_ERR_STATE;
    if (c->state == CCAI_CALL_ENDING)
        return CCAI_OK;
    ccai_ctx *ctx = c->ctx;
    Ccai_ctx_enter(ctx);
    Ccai_call_enter(c);
    Ccai_conv_goodbye(c, true);
    Ccai_call_leave(c);
    Ccai_ctx_leave(ctx);
    return CCAI_OK;
}

void Ccai_call_enter(ccai_call *c)
{
    c->depth++;
}

bool Ccai_call_leave(ccai_call *c)
{
    if (--c->depth > 0 || !c->free_pending)
        return true;
    c->free_pending = false;
    ccai_call_free(c);
    return false;
}

ccai_status Ccai_call_touch(ccai_call *c)
{
    Ccai_engine *e = c->eng;
    ccai_status st = Ccai_store_call_touch(e->store, &c->row);
    if (st != CCAI_ERR_CONFLICT)
        return st;
    return Ccai_call_meet_stored(c);
}

ccai_status Ccai_call_meet_stored(ccai_call *c)
{
    Ccai_engine *e = c->eng;
    /* Another writer changed the row: what it wrote is the truth (every
     * change of ours is stored before it is acted on). */
    Ccai_store_call *fresh = NULL;
    ccai_status st = Ccai_store_call_get(e->store, c->row.id, &fresh);
    if (st != CCAI_OK)
        return st;
    Ccai_log(&c->log, CCAI_LOG_WARN, "call %s: changed by another process (now %s)", c->row.id,
             fresh->state);
    Ccai_store_call_clear(&c->row);
    c->row = *fresh;
    ccai_free(fresh);
    ccai_call_state now = Ccai_call_state_parse(c->row.state);
    if (Ccai_call_state_in_progress(now))
        return CCAI_OK;
    /* Ended elsewhere: this handle stops acting on it. */
    ccai_call_state old = c->state;
    Ccai_conv_cleanup(c);
    c->state = now;
    Ccai_call_enter(c);
    if (old != c->state && c->ops.state_changed)
        c->ops.state_changed(c, old, c->state, c->ud);
    Ccai_call_leave(c);
    return CCAI_ERR_STATE;
}

void Ccai_call_notice(Ccai_engine *e, const char *call_id, const char *text)
{
    ccai_call *c = call_id ? Ccai_call_live(e, call_id) : NULL;
    if (!c || c->free_pending || !Ccai_call_state_in_progress(c->state))
        return; /* no conversation to tell: the report shows it */
    /* Read by the LLM at its next turn (the stored conversation is its
     * history); not spoken. */
    ccai_status st = Ccai_call_add_message(c, "assistant", "notice", CCAI_STYLE_NONE, text, NULL,
                                           NULL, "system", NULL);
    if (st != CCAI_OK)
        Ccai_log(&e->log, CCAI_LOG_WARN, "call %s: notice not stored (%s): %s", call_id,
                 ccai_status_str(st), text);
}
