/* Events: what a channel tells the engine (ccai_event), and what the
 * engine does with each: stored, then acted on. */
#include "engine/engine.h"

#include <math.h>
#include <stdio.h>

CCAI_EXPORT ccai_status ccai_event_new(ccai_event_type type, ccai_event **ret)
{
    if (!ret || (unsigned)type > CCAI_EVENT_ANSWERING_MACHINE)
        return CCAI_ERR_INVALID_ARG;
    ccai_event *ev = Ccai_calloc(1, sizeof *ev);
    if (!ev)
        return CCAI_ERR_NOMEM;
    ev->type = type;
    ev->final = true;
    ev->confidence = 1.0;
    *ret = ev;
    return CCAI_OK;
}

CCAI_EXPORT void ccai_event_free(ccai_event *ev)
{
    if (!ev)
        return;
    ccai_free(ev->text);
    ccai_free(ev->lang);
    ccai_free(ev->from);
    ccai_free(ev);
}

static CCAI_MUST_CHECK ccai_status set_str(char **dst, const char *value, size_t max)
{
    if (value && strlen(value) > max)
        return CCAI_ERR_LIMIT;
    return Ccai_str_replace(dst, value) ? CCAI_OK : CCAI_ERR_NOMEM;
}

CCAI_EXPORT ccai_status ccai_event_set_text(ccai_event *ev, const char *text)
{
    if (!ev)
        return CCAI_ERR_INVALID_ARG;
    return set_str(&ev->text, text, CCAI_EVENT_TEXT_MAX);
}

CCAI_EXPORT ccai_status ccai_event_set_lang(ccai_event *ev, const char *lang)
{
    if (!ev)
        return CCAI_ERR_INVALID_ARG;
    return set_str(&ev->lang, lang, 35);
}

CCAI_EXPORT ccai_status ccai_event_set_from(ccai_event *ev, const char *phone_number)
{
    if (!ev)
        return CCAI_ERR_INVALID_ARG;
    return set_str(&ev->from, phone_number, 64);
}

CCAI_EXPORT ccai_status ccai_event_set_final(ccai_event *ev, int final)
{
    if (!ev)
        return CCAI_ERR_INVALID_ARG;
    ev->final = final != 0;
    return CCAI_OK;
}

CCAI_EXPORT ccai_status ccai_event_set_confidence(ccai_event *ev, double confidence)
{
    if (!ev || isnan(confidence) || confidence < 0.0 || confidence > 1.0)
        return CCAI_ERR_INVALID_ARG;
    ev->confidence = confidence;
    return CCAI_OK;
}

CCAI_EXPORT ccai_status ccai_call_notify(ccai_call *c, ccai_event_type type, const char *text)
{
    if (!c)
        return CCAI_ERR_INVALID_ARG;
    ccai_event *ev = NULL;
    ccai_status st = ccai_event_new(type, &ev);
    if (st == CCAI_OK && text)
        st = ccai_event_set_text(ev, text);
    if (st == CCAI_OK)
        st = ccai_on_event(c, ev);
    ccai_event_free(ev);
    return st;
}

/* Events of a call ------------------------------------------------------------- */

/* Store a message, the call's new state (and its end reason when
 * end_reason is not NULL) and, with postcall_reason, its post-call job in one
 * commit, then tell the host. One commit: the event is stored whole or not
 * at all, so an event refused with CCAI_ERR_BUSY (the database locked by
 * another process) can simply come again. */
/* Undo the open transaction after a failure (already told). A rollback
 * that fails too is logged: the first failure is what the caller hears. */
static void rollback(ccai_call *c)
{
    Ccai_engine *e = c->eng;
    if (Ccai_store_rollback(e->store) != CCAI_OK)
        Ccai_log(&c->log, CCAI_LOG_ERROR, "call %s: rollback: %s", c->row.id,
                 Ccai_store_errmsg(e->store));
}

static CCAI_MUST_CHECK ccai_status commit_message_and_state(ccai_call *c, const char *persona,
                                                            const char *action, const char *text,
                                                            ccai_call_state s,
                                                            const char *end_reason,
                                                            const char *postcall_reason)
{
    Ccai_engine *e = c->eng;
    /* The bot's kept words come before this message; stored on their own,
     * they stay stored whatever happens next. */
    ccai_status st = Ccai_call_flush_unsaved(c);
    if (st == CCAI_OK)
        st = Ccai_store_begin(e->store);
    if (st != CCAI_OK)
        return Ccai_call_store_fail(c, st);
    int64_t version = c->row.row_version;
    char *prev = c->row.state, *prev_reason = c->row.end_reason;
    c->row.state = Ccai_strdup(ccai_call_state_str(s));
    c->row.end_reason = end_reason ? Ccai_strdup(end_reason) : prev_reason;
    if (!c->row.state || (end_reason && !c->row.end_reason)) {
        ccai_free(c->row.state);
        if (c->row.end_reason != prev_reason)
            ccai_free(c->row.end_reason);
        c->row.state = prev;
        c->row.end_reason = prev_reason;
        rollback(c);
        return CCAI_ERR_NOMEM;
    }
    st = Ccai_call_add_message(c, persona, action, CCAI_STYLE_NONE, text, NULL, NULL, NULL, NULL);
    if (st == CCAI_OK)
        st = Ccai_call_save(c);
    if (st == CCAI_OK && postcall_reason) {
        st = Ccai_postcall_enqueue(e->store, c->row.id, postcall_reason);
        if (st != CCAI_OK)
            st = Ccai_call_store_fail(c, st);
    }
    if (st == CCAI_OK) {
        st = Ccai_store_commit(e->store);
        if (st != CCAI_OK)
            st = Ccai_call_store_fail(c, st);
    }
    if (st != CCAI_OK) {
        rollback(c);
        c->row.row_version = version;
        ccai_free(c->row.state);
        if (c->row.end_reason != prev_reason)
            ccai_free(c->row.end_reason);
        c->row.state = prev;
        c->row.end_reason = prev_reason;
        return st;
    }
    ccai_free(prev);
    if (c->row.end_reason != prev_reason)
        ccai_free(prev_reason);
    ccai_call_state old = c->state;
    c->state = s;
    Ccai_log(&c->log, CCAI_LOG_DEBUG, "call %s: %s -> %s", c->row.id, ccai_call_state_str(old),
             ccai_call_state_str(s));
    return Ccai_call_notify_state(c, old);
}

static void act_connected(ccai_call *c, const char *text, int64_t num)
{
    CCAI_UNUSED(text);
    CCAI_UNUSED(num);
    Ccai_conv_connected(c);
}

/* The caller is on the line: store the "call" message, then converse. */
ccai_status Ccai_call_connect(ccai_call *c)
{
    if (c->state == CCAI_CALL_NEW || c->state == CCAI_CALL_RINGING ||
        c->state == CCAI_CALL_LANGUAGE_MENU) {
        ccai_status st =
            commit_message_and_state(c, "human", "call", "", CCAI_CALL_CONNECTED, NULL, NULL);
        if (st != CCAI_OK)
            return st;
    } else if (c->state != CCAI_CALL_CONNECTED) {
        return CCAI_OK; /* a repeated connected event changes nothing */
    }
    /* A callback's callee picked up. */
    Ccai_callback_answered(c);
    /* Connected (also left there by an earlier try that met a locked
     * database): the conversation starts. */
    ccai_status st = Ccai_call_set_state(c, CCAI_CALL_CONVERSATION);
    if (st == CCAI_OK)
        st = Ccai_call_after_commit(c, act_connected, NULL, 0);
    return st;
}

/* Connected: the language menu first when the call gets one. */
static CCAI_MUST_CHECK ccai_status on_connected(ccai_call *c)
{
    if ((c->state == CCAI_CALL_NEW || c->state == CCAI_CALL_RINGING) && Ccai_menu_wanted(c))
        return Ccai_menu_open(c);
    return Ccai_call_connect(c);
}

static void act_caller_said(ccai_call *c, const char *text, int64_t seq)
{
    Ccai_conv_caller_said(c, text, seq);
}

static CCAI_MUST_CHECK ccai_status on_caller_text(ccai_call *c, const ccai_event *ev,
                                                  const char *action)
{
    if (c->machine != CCAI_MACHINE_NONE)
        return CCAI_OK; /* a machine's greeting: nobody to answer */
    if (c->state == CCAI_CALL_NEW || c->state == CCAI_CALL_RINGING ||
        c->state == CCAI_CALL_LANGUAGE_MENU) {
        /* Speech before "connected": the channel skipped it; we did not
         * (and the caller speaks already: no menu). */
        ccai_status st = Ccai_call_connect(c);
        if (st != CCAI_OK)
            return st;
    }
    if (!ev->text || !*ev->text)
        return CCAI_OK;
    int64_t seq = 0;
    ccai_status st = Ccai_call_add_message(c, "human", action, CCAI_STYLE_NONE, ev->text, ev->lang,
                                           NULL, NULL, &seq);
    if (st != CCAI_OK)
        return st;
    c->caller_spoke = true;
    if (strcmp(action, "sms") == 0) /* read by the next turn */
        return CCAI_OK;
    c->not_understood = 0;
    /* Words and keys get an answer now. */
    if (c->state == CCAI_CALL_CONVERSATION || c->state == CCAI_CALL_TURN)
        return Ccai_call_after_commit_or_reload(c, act_caller_said, ev->text, seq);
    return CCAI_OK;
}

static void act_jobs(ccai_call *c, const char *text, int64_t num)
{
    CCAI_UNUSED(text);
    CCAI_UNUSED(num);
    Ccai_jobs_kick(c->eng);
}

static CCAI_MUST_CHECK ccai_status on_hangup(ccai_call *c, const ccai_event *ev)
{
    /* The engine may know better than the channel why (a voicemail). */
    const char *reason = c->end_reason           ? c->end_reason
                         : ev->text && *ev->text ? ev->text
                                                 : "hangup";
    ccai_status st = commit_message_and_state(c, "human", "hangup", ev->text, CCAI_CALL_ENDED,
                                              reason, c->caller_spoke ? "hangup" : NULL);
    /* Refused for a lock held elsewhere, the event comes again: the
     * conversation goes on meanwhile. */
    if (st != CCAI_ERR_BUSY)
        Ccai_conv_cleanup(c);
    if (st != CCAI_OK)
        return st;
    Ccai_log(&c->log, CCAI_LOG_INFO, "call %s: ended (%s)", c->row.id,
             ev->text ? ev->text : "hangup");
    /* A callback's leg that never connected: tried again, or given up. */
    Ccai_callback_unanswered(c, c->end_reason ? c->end_reason : ev->text);
    return Ccai_call_after_commit(c, act_jobs, NULL, 0);
}

static void act_transfer_failed(ccai_call *c, const char *reason, int64_t num)
{
    CCAI_UNUSED(num);
    Ccai_conv_transfer_failed(c, reason);
}

static CCAI_MUST_CHECK ccai_status dispatch(ccai_call *c, const ccai_event *ev)
{
    switch (ev->type) {
    case CCAI_EVENT_RINGING:
        if (c->state == CCAI_CALL_NEW)
            return Ccai_call_set_state(c, CCAI_CALL_RINGING);
        return CCAI_OK;
    case CCAI_EVENT_CONNECTED: return on_connected(c);
    case CCAI_EVENT_SPEECH:
        if (c->state == CCAI_CALL_LANGUAGE_MENU) /* an answer to the menu */
            return ev->final ? Ccai_menu_words(c, ev->text) : CCAI_OK;
        if (!ev->final) {
            Ccai_conv_partial(c); /* barge-in */
            return CCAI_OK;
        }
        return on_caller_text(c, ev, "talk");
    case CCAI_EVENT_DTMF:
        /* A key while the language menu is open chooses (the channel
         * that offers the menu by voice passes keys on as they come). */
        if (c->state == CCAI_CALL_LANGUAGE_MENU)
            return Ccai_menu_key(c, ev->text);
        return on_caller_text(c, ev, "dtmf");
    case CCAI_EVENT_SMS: return on_caller_text(c, ev, "sms");
    case CCAI_EVENT_SILENCE_TIMEOUT:
        if (c->state == CCAI_CALL_CONVERSATION || c->state == CCAI_CALL_LANGUAGE_MENU)
            Ccai_conv_silence(c);
        return CCAI_OK;
    case CCAI_EVENT_SAY_DONE: Ccai_conv_say_done(c); return CCAI_OK;
    case CCAI_EVENT_SAY_FAILED:
        Ccai_log(&c->log, CCAI_LOG_WARN, "call %s: the channel could not speak: %s", c->row.id,
                 ev->text ? ev->text : "no reason given");
        return CCAI_OK;
    case CCAI_EVENT_TRANSFER_OK: {
        ccai_status st =
            commit_message_and_state(c, "assistant", "transfer", ev->text, CCAI_CALL_ENDED,
                                     "transfer", c->caller_spoke ? "transfer" : NULL);
        if (st == CCAI_OK && c->caller_spoke)
            st = Ccai_call_after_commit(c, act_jobs, NULL, 0);
        return st;
    }
    case CCAI_EVENT_TRANSFER_FAILED: {
        if (c->state != CCAI_CALL_TRANSFERRING)
            return CCAI_OK;
        ccai_status st = Ccai_call_set_state(c, CCAI_CALL_CONVERSATION);
        if (st == CCAI_OK)
            st = Ccai_call_after_commit(c, act_transfer_failed, ev->text, 0);
        return st;
    }
    case CCAI_EVENT_HANGUP: return on_hangup(c, ev);
    case CCAI_EVENT_RECORDING:
        if (!ev->text || !*ev->text)
            return CCAI_ERR_INVALID_ARG;
        return Ccai_call_recording(c->eng, c->row.id, ev->text, NULL, 0);
    case CCAI_EVENT_CHOICE:
        if (c->state != CCAI_CALL_LANGUAGE_MENU)
            return CCAI_OK; /* late, or no menu is open */
        return Ccai_menu_choice(c, ev->text && *ev->text ? ev->text : NULL);
    case CCAI_EVENT_NOT_UNDERSTOOD:
        Ccai_log(&c->log, CCAI_LOG_WARN, "call %s: the caller could not be understood: %s",
                 c->row.id, ev->text ? ev->text : "no reason given");
        if (c->state == CCAI_CALL_LANGUAGE_MENU)
            return Ccai_menu_words(c, NULL);
        if (c->state == CCAI_CALL_CONVERSATION)
            Ccai_conv_not_understood(c);
        return CCAI_OK;
    case CCAI_EVENT_ANSWERING_MACHINE: return Ccai_voicemail_on(c, ev->text);
    }
    return CCAI_ERR_INVALID_ARG;
}

CCAI_EXPORT ccai_status ccai_on_event(ccai_call *c, const ccai_event *ev)
{
    if (!c || !ev)
        return CCAI_ERR_INVALID_ARG;
    if (c->free_pending || !Ccai_call_state_in_progress(c->state)) {
        Ccai_err_set(&c->err, "call %s has ended: %s event ignored", c->row.id,
                     ccai_event_type_str(ev->type));
        return CCAI_ERR_STATE;
    }
    ccai_ctx *ctx = c->ctx;
    Ccai_ctx_enter(ctx);
    Ccai_call_enter(c);
    ccai_status st = dispatch(c, ev);
    Ccai_call_leave(c);
    Ccai_ctx_leave(ctx);
    return st;
}
