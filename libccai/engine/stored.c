/* Stored calls: the public call document, the calls no handle of this
 * context holds (a channel's late callbacks, a restart), and the lookups a
 * channel makes through the public API. */
#include "engine/engine.h"

#include "config/config.h"
#include "core/json.h"
#include "http/auth.h"

#include <stdio.h>

#define LIST_LIMIT_MAX 1000

/* Call documents ------------------------------------------------------------- */

static json_t *json_text_or_null(const char *text)
{
    if (!text)
        return json_null();
    Ccai_json_err err;
    ccai_status st;
    json_t *v = Ccai_json_load(text, strlen(text), &err, &st);
    /* The store only holds valid JSON; NULL here means out of memory. */
    return v ? v : (st == CCAI_ERR_NOMEM ? NULL : json_null());
}

static int set_new(json_t *obj, const char *key, json_t *v)
{
    if (!v)
        return -1;
    return json_object_set_new(obj, key, v);
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* The work done for the call, from its jobs: "sms" (each SMS and its
 * delivery), "callbacks" (each callback and its dials), "alerts" (each
 * alert and its tries): the payload (what the report shows) with the
 * job's id, state, tries, last error and when it runs next. A message the
 * send_sms tool recorded gets its SMS's status as "delivery". */
static CCAI_MUST_CHECK ccai_status work_doc(Ccai_store *st, const char *call_id, json_t *doc,
                                            json_t *messages)
{
    Ccai_store_job **jobs = NULL;
    size_t n = 0;
    ccai_status s = Ccai_store_jobs_of_call(st, call_id, "sms,callback,alert", 200, &jobs, &n);
    if (s != CCAI_OK)
        return s;
    json_t *lists[3] = {json_array(), json_array(), json_array()};
    static const char *const names[3] = {"sms", "callbacks", "alerts"};
    int bad = !lists[0] || !lists[1] || !lists[2];
    for (size_t i = 0; !bad && i < n; i++) {
        Ccai_store_job *j = jobs[i];
        json_t *o = json_text_or_null(j->payload);
        if (!o) {
            bad = 1;
            break;
        }
        if (!json_is_object(o)) {
            json_decref(o);
            continue;
        }
        char next[40], upd[40];
        Ccai_format_iso8601(j->run_at, next, sizeof next);
        Ccai_format_iso8601(j->updated_at, upd, sizeof upd);
        bool pending = strcmp(j->state, "pending") == 0;
        bad |= set_new(o, "job_id", json_integer(j->id));
        bad |= set_new(o, "job_state", json_string(j->state));
        bad |= set_new(o, "attempts", json_integer(j->attempts));
        bad |= set_new(o, "last_error", str_or_null(j->last_error));
        bad |= set_new(o, "next_run_at", pending ? json_string(next) : json_null());
        bad |= set_new(o, "updated_at", json_string(upd));
        /* What sends an SMS, not what the report shows. */
        json_object_del(o, "repeatability_id");
        json_object_del(o, "repeatability_first_sent");
        int which = strcmp(j->kind, "sms") == 0 ? 0 : strcmp(j->kind, "callback") == 0 ? 1 : 2;
        json_int_t seq = json_integer_value(json_object_get(o, "seq"));
        if (which == 0 && seq > 0) {
            size_t k;
            json_t *m;
            json_array_foreach(messages, k, m)
            {
                if (json_integer_value(json_object_get(m, "seq")) == seq) {
                    json_t *d = json_pack("{s:O?, s:O?, s:O?, s:O?}", "status",
                                          json_object_get(o, "status"), "status_at",
                                          json_object_get(o, "status_at"), "detail",
                                          json_object_get(o, "status_detail"), "message_id",
                                          json_object_get(o, "message_id"));
                    bad |= set_new(m, "delivery", d);
                    break;
                }
            }
        }
        bad |= json_array_append_new(lists[which], o);
    }
    Ccai_store_job_list_free(jobs, n);
    for (size_t i = 0; i < 3; i++)
        bad |= set_new(doc, names[i], lists[i]);
    return bad ? CCAI_ERR_NOMEM : CCAI_OK;
}

/* The public call document (the reference's CallGetModel, plus ours). The
 * callback secret never leaves the store. */
ccai_status Ccai_call_doc(Ccai_store *st, const Ccai_store_call *row, json_t **ret)
{
    char created[40], updated[40];
    Ccai_format_iso8601(row->created_at, created, sizeof created);
    Ccai_format_iso8601(row->updated_at, updated, sizeof updated);
    ccai_call_state state = Ccai_call_state_parse(row->state);

    json_t *messages = NULL, *reminders = NULL;
    ccai_status s = Ccai_store_messages_json(st, row->id, &messages);
    if (s == CCAI_OK)
        s = Ccai_store_reminders_json(st, row->id, &reminders);
    if (s != CCAI_OK) {
        json_decref(messages);
        return s;
    }
    json_t *doc = json_object();
    if (!doc) {
        json_decref(messages);
        json_decref(reminders);
        return CCAI_ERR_NOMEM;
    }
    /* set_new() consumes its value even when it fails: evaluate them all. */
    int bad = 0;
    bad |= set_new(doc, "call_id", json_string(row->id));
    bad |= set_new(doc, "created_at", json_string(created));
    bad |= set_new(doc, "updated_at", json_string(updated));
    bad |= set_new(doc, "in_progress", json_boolean(Ccai_call_state_in_progress(state)));
    bad |= set_new(doc, "state", json_string(ccai_call_state_str(state)));
    bad |= set_new(doc, "direction",
                   json_string(row->direction == CCAI_OUTBOUND ? "outbound" : "inbound"));
    bad |= set_new(doc, "channel", str_or_null(row->channel));
    bad |= set_new(doc, "phone_number", str_or_null(row->phone_number));
    bad |= set_new(doc, "bot_phone_number", str_or_null(row->bot_phone_number));
    bad |= set_new(doc, "provider_call_id", str_or_null(row->provider_call_id));
    bad |= set_new(doc, "lang", str_or_null(row->lang));
    bad |= set_new(doc, "initiate", json_text_or_null(row->initiate_json));
    bad |= set_new(doc, "claim", json_text_or_null(row->claim_json));
    if (!bad && (s = work_doc(st, row->id, doc, messages)) != CCAI_OK) {
        json_decref(doc);
        json_decref(messages);
        json_decref(reminders);
        return s;
    }
    bad |= set_new(doc, "messages", messages);
    bad |= set_new(doc, "reminders", reminders);
    bad |= set_new(doc, "next", json_text_or_null(row->next_json));
    bad |= set_new(doc, "synthesis", json_text_or_null(row->synthesis_json));
    bad |= set_new(doc, "recording_url", str_or_null(row->recording_url));
    bad |= set_new(doc, "recording_id", str_or_null(row->recording_id));
    bad |= set_new(doc, "recording_duration_ms",
                   row->recording_duration_ms > 0 ? json_integer(row->recording_duration_ms)
                                                  : json_null());
    bad |= set_new(doc, "end_reason", str_or_null(row->end_reason));
    bad |= set_new(doc, "row_version", json_integer(row->row_version));
    /* A link that opens this call's report page without the API token. */
    char key[33];
    if (row->callback_secret && Ccai_http_report_key(row->callback_secret, key)) {
        char link[96];
        snprintf(link, sizeof link, "/report/%s?key=%s", row->id, key);
        bad |= set_new(doc, "report_path", json_string(link));
    }
    if (bad) {
        json_decref(doc);
        return CCAI_ERR_NOMEM;
    }
    *ret = doc;
    return CCAI_OK;
}

ccai_status Ccai_json_dump_doc(json_t *doc, char **ret_json)
{
    char *text = Ccai_json_dump(doc, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(doc);
    if (!text)
        return CCAI_ERR_NOMEM;
    *ret_json = text;
    return CCAI_OK;
}

/* Calls no handle holds ----------------------------------------------------- */

ccai_call *Ccai_call_live(const Ccai_engine *e, const char *id)
{
    for (ccai_call *c = e->calls; c; c = c->next) {
        if (!c->free_pending && Ccai_call_state_in_progress(c->state) && strcmp(c->row.id, id) == 0)
            return c;
    }
    return NULL;
}

/* The caller said or sent something since the call last (re)started: the
 * human "call" message opens each leg. */
static CCAI_MUST_CHECK bool spoke_on_last_leg(const json_t *messages)
{
    for (size_t i = json_array_size(messages); i-- > 0;) {
        const json_t *m = json_array_get(messages, i);
        const char *p = json_string_value(json_object_get(m, "persona"));
        const char *a = json_string_value(json_object_get(m, "action"));
        const char *text = json_string_value(json_object_get(m, "content"));
        if (!p || !a || strcmp(p, "human") != 0)
            continue;
        if (strcmp(a, "call") == 0)
            return false;
        if ((!strcmp(a, "talk") || !strcmp(a, "dtmf") || !strcmp(a, "sms")) && text && *text)
            return true;
    }
    return false;
}

ccai_status Ccai_call_end_stored(Ccai_engine *e, Ccai_store_call *row, const char *reason,
                                 bool by_caller)
{
    if (!Ccai_call_state_in_progress(Ccai_call_state_parse(row->state)))
        return CCAI_OK;
    if (Ccai_call_live(e, row->id))
        return CCAI_ERR_STATE;
    json_t *messages = NULL;
    ccai_status st = Ccai_store_messages_json(e->store, row->id, &messages);
    bool spoke = st == CCAI_OK && spoke_on_last_leg(messages);
    json_decref(messages);
    if (st != CCAI_OK)
        return st;
    int64_t version = row->row_version;
    char *prev = row->state, *prev_reason = row->end_reason;
    row->state = Ccai_strdup(ccai_call_state_str(CCAI_CALL_ENDED));
    row->end_reason = Ccai_strdup(reason);
    st = row->state && row->end_reason ? Ccai_store_begin(e->store) : CCAI_ERR_NOMEM;
    if (st == CCAI_OK) {
        Ccai_store_message m = {
            .persona = by_caller ? "human" : "assistant",
            .action = "hangup",
            .style = ccai_style_str(CCAI_STYLE_NONE),
            .content = reason,
            .lang = row->lang,
        };
        st = Ccai_store_call_update(e->store, row);
        if (st == CCAI_OK)
            st = Ccai_store_message_append(e->store, row->id, &m, NULL);
        if (st == CCAI_OK && spoke)
            st = Ccai_postcall_enqueue(e->store, row->id, reason);
        if (st == CCAI_OK)
            st = Ccai_store_commit(e->store);
        /* The first failure is the one told below; one of the rollback
         * too is logged. */
        if (st != CCAI_OK && Ccai_store_rollback(e->store) != CCAI_OK)
            Ccai_log(&e->log, CCAI_LOG_ERROR, "call %s: rollback: %s", row->id,
                     Ccai_store_errmsg(e->store));
    }
    if (st != CCAI_OK) {
        row->row_version = version;
        ccai_free(row->state);
        ccai_free(row->end_reason);
        row->state = prev;
        row->end_reason = prev_reason;
        if (st != CCAI_ERR_CONFLICT)
            Ccai_log(&e->log, CCAI_LOG_ERROR, "call %s: cannot end it: %s", row->id,
                     Ccai_store_errmsg(e->store));
        return st;
    }
    ccai_free(prev);
    ccai_free(prev_reason);
    Ccai_log(&e->log, CCAI_LOG_INFO, "call %s: ended (%s)%s", row->id, reason,
             spoke ? "" : ", the caller never spoke: no report");
    if (spoke)
        Ccai_jobs_kick(e);
    return CCAI_OK;
}

ccai_status Ccai_call_recording(Ccai_engine *e, const char *call_id, const char *url,
                                const char *recording_id, int64_t duration_ms)
{
    ccai_status st =
        Ccai_store_call_set_recording(e->store, call_id, url, recording_id, duration_ms);
    if (st != CCAI_OK)
        return st;
    /* The handle's row too, ended or not: a recording is finished when the
     * call ends (an audio call's own), and a later write of the row must
     * not lose it. */
    ccai_call *c = e->calls;
    while (c && (c->free_pending || strcmp(c->row.id, call_id) != 0))
        c = c->next;
    if (!c)
        return CCAI_OK;
    if ((url && !Ccai_str_replace(&c->row.recording_url, url)) ||
        (recording_id && !Ccai_str_replace(&c->row.recording_id, recording_id)))
        return CCAI_ERR_NOMEM;
    if (duration_ms > 0)
        c->row.recording_duration_ms = duration_ms;
    return CCAI_OK;
}

/* Stored calls as JSON ---------------------------------------------------------- */

/* What the history API shows is committed: the words said so far are
 * stored, and a group of writes still open (SQLite's group commit commits
 * at the end of the loop's turn) is committed before the read, so that a
 * crash after cannot take back what it showed. A failed commit is told to
 * the calls that wrote in it; the read then shows what is committed. */
static void store_shown(Ccai_engine *e)
{
    Ccai_conv_store_kept(e);
    CCAI_DISCARD(Ccai_store_commit_now(e->store));
}

ccai_status Ccai_engine_call_get_json(Ccai_engine *e, const char *call_id, char **ret_json)
{
    if (!call_id || !ret_json)
        return CCAI_ERR_INVALID_ARG;
    store_shown(e);
    Ccai_store_call *row = NULL;
    ccai_status st = Ccai_store_call_get(e->store, call_id, &row);
    if (st != CCAI_OK) {
        Ccai_ctx_set_error(e->ctx, "%s",
                           st == CCAI_ERR_NOT_FOUND ? "no such call" : Ccai_store_errmsg(e->store));
        return st;
    }
    json_t *doc = NULL;
    st = Ccai_call_doc(e->store, row, &doc);
    Ccai_store_call_free(row);
    return st == CCAI_OK ? Ccai_json_dump_doc(doc, ret_json) : st;
}

ccai_status Ccai_engine_call_find_json(Ccai_engine *e, const char *phone_number,
                                       int within_callback_window, char **ret_json)
{
    if (!phone_number || !ret_json)
        return CCAI_ERR_INVALID_ARG;
    int64_t since = 0;
    if (within_callback_window) {
        int64_t hours = Ccai_config_int(e->cfg, "conversation.callback_timeout_hour", 3);
        if (hours <= 0)
            return CCAI_ERR_NOT_FOUND;
        since = Ccai_wall_ms() - hours * 3600 * 1000;
    }
    char *phone = NULL;
    ccai_status st = ccai_field_validate(CCAI_FIELD_PHONE_NUMBER, phone_number, &phone, NULL);
    if (st != CCAI_OK)
        return st == CCAI_ERR_VALIDATION ? CCAI_ERR_NOT_FOUND : st;
    store_shown(e);
    Ccai_store_call *row = NULL;
    st = Ccai_store_call_find_latest(e->store, phone, since, &row);
    ccai_free(phone);
    if (st != CCAI_OK)
        return st;
    json_t *doc = NULL;
    st = Ccai_call_doc(e->store, row, &doc);
    Ccai_store_call_free(row);
    return st == CCAI_OK ? Ccai_json_dump_doc(doc, ret_json) : st;
}

ccai_status Ccai_engine_calls_list_json(Ccai_engine *e, const char *phone_number, size_t limit,
                                        size_t offset, char **ret_json)
{
    if (!ret_json)
        return CCAI_ERR_INVALID_ARG;
    if (limit > LIST_LIMIT_MAX)
        limit = LIST_LIMIT_MAX;
    char *phone = NULL;
    if (phone_number) {
        ccai_status st = ccai_field_validate(CCAI_FIELD_PHONE_NUMBER, phone_number, &phone, NULL);
        if (st == CCAI_ERR_NOMEM)
            return st;
        if (st != CCAI_OK) {
            /* Not a phone number: nothing can match it. */
            phone = Ccai_strdup(phone_number);
            if (!phone)
                return CCAI_ERR_NOMEM;
        }
    }
    store_shown(e);
    Ccai_store_call **rows = NULL;
    size_t n = 0, total = 0;
    ccai_status st = Ccai_store_call_list(e->store, phone, limit, offset, &rows, &n, &total);
    ccai_free(phone);
    if (st != CCAI_OK)
        return st;
    json_t *calls = json_array();
    json_t *out = json_object();
    st = calls && out ? CCAI_OK : CCAI_ERR_NOMEM;
    for (size_t i = 0; st == CCAI_OK && i < n; i++) {
        json_t *doc = NULL;
        st = Ccai_call_doc(e->store, rows[i], &doc);
        if (st == CCAI_OK && json_array_append_new(calls, doc) != 0)
            st = CCAI_ERR_NOMEM;
    }
    Ccai_store_call_list_free(rows, n);
    if (st == CCAI_OK && (json_object_set_new(out, "total", json_integer((json_int_t)total)) ||
                          json_object_set(out, "calls", calls)))
        st = CCAI_ERR_NOMEM;
    json_decref(calls);
    if (st != CCAI_OK) {
        json_decref(out);
        return st;
    }
    return Ccai_json_dump_doc(out, ret_json);
}

/* For channels: calls their providers talk about ---------------------------------- */

ccai_status Ccai_engine_call_find_provider(Ccai_engine *e, const char *channel,
                                           const char *provider_id, char **ret_call_id)
{
    if (!channel || !provider_id || !*provider_id || !ret_call_id)
        return CCAI_ERR_INVALID_ARG;
    Ccai_store_call *row = NULL;
    ccai_status st = Ccai_store_call_find_provider(e->store, channel, provider_id, &row);
    if (st == CCAI_ERR_NOT_FOUND)
        st = Ccai_store_call_find_correlation(e->store, channel, provider_id, &row);
    if (st == CCAI_OK && !(*ret_call_id = Ccai_strdup(row->id)))
        st = CCAI_ERR_NOMEM;
    Ccai_store_call_free(row);
    return st;
}

ccai_status Ccai_engine_call_check_secret(Ccai_engine *e, const char *call_id, const char *secret)
{
    if (!call_id || !secret)
        return CCAI_ERR_INVALID_ARG;
    ccai_call *c = Ccai_call_live(e, call_id);
    if (c)
        return Ccai_http_secret_equal(secret, c->row.callback_secret) ? CCAI_OK
                                                                      : CCAI_ERR_VALIDATION;
    Ccai_store_call *row = NULL;
    ccai_status st = Ccai_store_call_get(e->store, call_id, &row);
    if (st == CCAI_OK && !Ccai_http_secret_equal(secret, row->callback_secret))
        st = CCAI_ERR_VALIDATION;
    Ccai_store_call_free(row);
    return st;
}

ccai_status Ccai_engine_call_end(Ccai_engine *e, const char *call_id, const char *reason,
                                 bool by_caller)
{
    if (!call_id || !reason)
        return CCAI_ERR_INVALID_ARG;
    Ccai_store_call *row = NULL;
    ccai_status st = Ccai_store_call_get(e->store, call_id, &row);
    if (st == CCAI_OK)
        st = Ccai_call_end_stored(e, row, reason, by_caller);
    Ccai_store_call_free(row);
    return st;
}

/* Inbound SMS -------------------------------------------------------------------- */

/* number with its leading '+' ("33612345678" -> "+33612345678"; ACS sends
 * numbers either way): number itself, or buf holding the prefixed copy. A
 * number too long for buf is returned as it is (validation refuses it). */
static const char *phone_plus(const char *number, char *buf, size_t n)
{
    if (*number == '+' || strlen(number) + 2 > n)
        return number;
    snprintf(buf, n, "+%s", number);
    return buf;
}

ccai_status Ccai_engine_sms_inbound(Ccai_engine *e, const char *from, const char *body)
{
    if (!from || !body)
        return CCAI_ERR_INVALID_ARG;
    if (strlen(body) > CCAI_EVENT_TEXT_MAX)
        return CCAI_ERR_LIMIT;
    char plus[40];
    from = phone_plus(from, plus, sizeof plus);
    char *phone = NULL;
    ccai_status st = ccai_field_validate(CCAI_FIELD_PHONE_NUMBER, from, &phone, NULL);
    if (st != CCAI_OK) {
        Ccai_log(&e->log, CCAI_LOG_INFO, "sms: from a malformed number, dropped");
        return st == CCAI_ERR_NOMEM ? st : CCAI_ERR_VALIDATION;
    }
    for (ccai_call *c = e->calls; c; c = c->next) {
        if (c->state != CCAI_CALL_ENDED && strcmp(c->row.phone_number, phone) == 0) {
            ccai_event *ev = NULL;
            st = ccai_event_new(CCAI_EVENT_SMS, &ev);
            if (st == CCAI_OK)
                st = ccai_event_set_text(ev, body);
            if (st == CCAI_OK)
                st = ccai_event_set_from(ev, phone);
            if (st == CCAI_OK)
                st = ccai_on_event(c, ev);
            ccai_event_free(ev);
            ccai_free(phone);
            return st;
        }
    }
    Ccai_store_call *row = NULL;
    st = Ccai_store_call_find_latest(e->store, phone, 0, &row);
    if (st == CCAI_OK) {
        Ccai_store_message m = {.persona = "human",
                                .action = "sms",
                                .style = "none",
                                .content = body,
                                .lang = row->lang};
        st = Ccai_store_message_append(e->store, row->id, &m, NULL);
    }
    if (st == CCAI_ERR_NOT_FOUND)
        Ccai_log(&e->log, CCAI_LOG_INFO, "sms: from a number with no call, dropped");
    Ccai_store_call_free(row);
    ccai_free(phone);
    return st;
}
