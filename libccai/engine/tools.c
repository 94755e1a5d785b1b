/* The tools the LLM can call: JSON schemas and their effects on a call.
 * Every failure becomes a result string the model reads (unknown tool, bad
 * arguments, invalid values): the call never breaks on a tool. */
#include "engine/engine.h"

#include "config/config.h"
#include "core/json.h"
#include "core/tz.h"
#include "engine/prompts.h"
#include "rag/rag.h"

#include <math.h>
#include <stdio.h>

#define CUSTOMER_RESPONSE_DESC                                                               \
    "A phrase confirming the action, said to the customer while it runs: in the customer's " \
    "language, one short sentence, present tense, simple words."

/* The prompt gives the date in the customer's zone: times without an offset
 * are read in it. */
#define LOCAL_TIME_DESC                                                               \
    "When, ISO 8601 in the customer's local time (as the date you were given), e.g. " \
    "\"2024-10-08T14:00:00\""

/* Building schemas ----------------------------------------------------------- */

static json_t *prop(const char *type, const char *desc)
{
    return json_pack("{s:s, s:s}", "type", type, "description", desc);
}

static json_t *tool(const char *name, const char *desc, json_t *props, bool with_response)
{
    if (!props)
        return NULL;
    json_t *required = json_array();
    const char *key;
    json_t *v;
    json_object_foreach(props, key, v)
    {
        json_array_append_new(required, json_string(key));
    }
    if (with_response) {
        json_object_set_new(props, "customer_response", prop("string", CUSTOMER_RESPONSE_DESC));
        json_array_append_new(required, json_string("customer_response"));
    }
    return json_pack("{s:s, s:{s:s, s:s, s:{s:s, s:o, s:o}}}", "type", "function", "function",
                     "name", name, "description", desc, "parameters", "type", "object",
                     "properties", props, "required", required);
}

/* NULL when out of memory (the caller says less). */
static char *fields_description(const ccai_call *c)
{
    Ccai_buf b = {0};
    bool ok = Ccai_buf_puts(&b, "Update claim fields. Available fields: ");
    size_t n = ccai_claim_schema_count(c->schema);
    for (size_t i = 0; ok && i < n; i++) {
        const char *name = NULL, *desc = NULL;
        ccai_field_type type;
        ok = ccai_claim_schema_field(c->schema, i, &name, &type, &desc) == CCAI_OK &&
             Ccai_buf_printf(&b, "%s%s (%s%s%s)", i ? "; " : "", name, ccai_field_type_str(type),
                             desc ? ": " : "", desc ? desc : "");
    }
    ok = ok && Ccai_buf_puts(&b, ". Dates as \"YYYY-MM-DD HH:MM\" in the customer's local time, "
                                 "as the date you were given (approximate ones are fine: \"last "
                                 "night\" is yesterday 23:00), phone numbers in E.164.");
    if (!ok) {
        Ccai_buf_free(&b);
        return NULL;
    }
    return Ccai_buf_steal(&b);
}

/* NULL when out of memory. */
static char *langs_description(const ccai_call *c, json_t *codes)
{
    Ccai_buf b = {0};
    bool ok = Ccai_buf_puts(&b, "Change the language of the conversation. Available: ");
    const json_t *avail = json_object_get(json_object_get(c->initiate, "lang"), "availables");
    size_t i;
    const json_t *l;
    json_array_foreach(avail, i, l)
    {
        const char *code = json_string_value(json_object_get(l, "short_code"));
        const char *name =
            json_string_value(json_array_get(json_object_get(l, "pronunciations_en"), 0));
        if (!code)
            continue;
        json_array_append_new(codes, json_string(code));
        ok = ok && Ccai_buf_printf(&b, "%s%s (%s)", i ? ", " : "", code, name ? name : code);
    }
    if (!ok) {
        Ccai_buf_free(&b);
        return NULL;
    }
    return Ccai_buf_steal(&b);
}

json_t *Ccai_tools_schemas(const ccai_call *c, bool with_end_call)
{
    json_t *tools = json_array();
    if (!tools)
        return NULL;
    char *fields = fields_description(c);
    json_t *codes = json_array();
    char *langs = codes ? langs_description(c, codes) : NULL;
    json_t *t[16];
    size_t n = 0;
    if (with_end_call)
        t[n++] = tool("end_call",
                      "Hang up, only when the customer explicitly says goodbye or asks to end "
                      "the call. Never right after the customer called back.",
                      json_object(), false);
    t[n++] = tool("new_claim",
                  "Start a new claim, only when the customer explicitly asks for one about a "
                  "totally different subject. The current claim is kept and summarised.",
                  json_object(), true);
    t[n++] =
        tool("new_or_updated_reminder",
             "Create or update a reminder (a to-do item) for the customer or the assistant. The "
             "title is the key: the same title updates it.",
             json_pack("{s:o, s:o, s:o, s:o}", "title",
                       prop("string", "Short verb and subject, e.g. \"Call back the customer\""),
                       "description", prop("string", "What to do, in English"), "due_date_time",
                       prop("string", LOCAL_TIME_DESC), "owner",
                       prop("string", "\"customer\", \"assistant\" or the name of a third party")),
             true);
    t[n++] = tool("updated_claim", fields ? fields : "Update claim fields.",
                  json_pack("{s:{s:s, s:s, s:{s:s, s:{s:o, s:o}, s:[s,s]}}}", "updates", "type",
                            "array", "description", "The fields to set", "items", "type", "object",
                            "properties", "field", prop("string", "Field name"), "value",
                            prop("string", "New value, in the field's format"), "required", "field",
                            "value"),
                  true);
    t[n++] = tool("talk_to_human",
                  "Transfer the call to a human agent, only when the customer explicitly agrees "
                  "or asks for it.",
                  json_object(), false);
    t[n++] = tool("search_document",
                  "Search the company's documentation (contracts, coverage, law, regulations, "
                  "procedures, guides, contacts) for information you do not have. Write the "
                  "queries in the language of the conversation: its documents are searched.",
                  json_pack("{s:{s:s, s:s, s:{s:s}}}", "queries", "type", "array", "description",
                            "Queries, each from another point of view and with other words",
                            "items", "type", "string"),
                  true);
    t[n++] =
        tool("notify_emergencies",
             "Alert the emergency services when a life or property is in immediate danger.",
             json_pack("{s:o, s:o, s:o, s:{s:s, s:s, s:[s,s,s,s,s]}}", "reason",
                       prop("string", "What happens"), "location", prop("string", "Where, exactly"),
                       "contact", prop("string", "Phone number to call back, E.164"), "service",
                       "type", "string", "description", "Which service", "enum", "police",
                       "firefighters", "pharmacy", "veterinarian", "hospital"),
             true);
    t[n++] =
        tool("send_sms", "Send an SMS to the customer, e.g. to confirm details they must keep.",
             json_pack("{s:o}", "message", prop("string", "The text of the SMS")), true);
    t[n++] = tool("speech_speed", "Change how fast the assistant speaks.",
                  json_pack("{s:{s:s, s:s, s:f, s:f}}", "speed", "type", "number", "description",
                            "1.0 is normal; from 0.75 (slow) to 1.25 (fast)", "minimum", 0.75,
                            "maximum", 1.25),
                  true);
    if (langs && codes)
        t[n++] = tool("speech_lang", langs,
                      json_pack("{s:{s:s, s:s, s:O}}", "lang", "type", "string", "description",
                                "Short code of the language", "enum", codes),
                      true);
    t[n++] = tool("schedule_callback",
                  "Schedule a call back to the customer at a date and time they agree to.",
                  json_pack("{s:o, s:o}", "date_time", prop("string", LOCAL_TIME_DESC), "reason",
                            prop("string", "What the call back is about, in the customer's "
                                           "language, as said after \"you asked us to call "
                                           "you back about\", e.g. \"your claim for the "
                                           "broken window\"")),
                  true);
    bool ok = fields && langs;
    for (size_t i = 0; i < n; i++) {
        if (!t[i] || json_array_append_new(tools, t[i]))
            ok = false;
    }
    ccai_free(fields);
    ccai_free(langs);
    json_decref(codes);
    if (!ok) {
        json_decref(tools);
        return NULL;
    }
    return tools;
}

/* Running them ------------------------------------------------------------------ */

/* A date and time from the LLM, validated: normalised into out (a local
 * time without an offset gets the caller's, DST-correct), its instant in
 * *ret_ms. On failure *ret_why (may stay NULL) says why. */
static CCAI_MUST_CHECK ccai_status caller_time(ccai_call *c, const char *value,
                                               char out[CCAI_TZ_ISO_MAX], int64_t *ret_ms,
                                               char **ret_why)
{
    char *norm = NULL;
    ccai_status st = ccai_field_validate(CCAI_FIELD_DATETIME, value, &norm, ret_why);
    if (st != CCAI_OK)
        return st;
    const Ccai_tz *tz = Ccai_conv_tz(c);
    st = tz ? Ccai_tz_localize_iso(tz, norm, out, CCAI_TZ_ISO_MAX, ret_ms) : CCAI_ERR_NOMEM;
    ccai_free(norm);
    return st;
}

static const char *arg_str(const json_t *args, const char *key)
{
    return json_string_value(json_object_get(args, key));
}

static char *run_updated_claim(ccai_call *c, const json_t *args, Ccai_tool_outcome *out)
{
    const json_t *updates = json_object_get(args, "updates");
    if (!json_is_array(updates))
        return Ccai_strdup("Bad arguments: \"updates\" must be a list of {field, value}.");
    Ccai_buf b = {0};
    bool ok = Ccai_buf_puts(&b, "# Updated fields"); /* false: out of memory for the report */
    size_t i;
    const json_t *u;
    bool changed = false;
    json_array_foreach(updates, i, u)
    {
        const char *field = arg_str(u, "field");
        const json_t *jv = json_object_get(u, "value");
        char num[64];
        const char *value = json_string_value(jv);
        if (!value && json_is_number(jv)) {
            snprintf(num, sizeof num, "%g", json_number_value(jv));
            value = num;
        }
        size_t index;
        ccai_field_type type;
        if (!field || ccai_claim_schema_find(c->schema, field, &index) != CCAI_OK ||
            ccai_claim_schema_field(c->schema, index, NULL, &type, NULL) != CCAI_OK) {
            ok = ok &&
                 Ccai_buf_printf(&b, "\n- %s: failed: no such field", field ? field : "(none)");
            continue;
        }
        if (!value || !*value) {
            json_object_del(c->claim, field);
            changed = true;
            ok = ok && Ccai_buf_printf(&b, "\n- %s: cleared", field);
            continue;
        }
        char *norm = NULL, *why = NULL;
        char when[CCAI_TZ_ISO_MAX];
        ccai_status st;
        if (type == CCAI_FIELD_DATETIME) {
            st = caller_time(c, value, when, NULL, &why);
            if (st == CCAI_OK && !(norm = Ccai_strdup(when)))
                st = CCAI_ERR_NOMEM;
        } else {
            st = ccai_field_validate(type, value, &norm, &why);
        }
        if (st == CCAI_OK && json_object_set_new(c->claim, field, json_string(norm)) == 0) {
            changed = true;
            ok = ok && Ccai_buf_printf(&b, "\n- %s: updated to \"%s\"", field, norm);
        } else {
            /* The old value stays. */
            ok = ok &&
                 Ccai_buf_printf(&b, "\n- %s: failed: %s", field, why ? why : ccai_status_str(st));
        }
        ccai_free(norm);
        ccai_free(why);
    }
    /* Not saved: the model reads so (and the call's error says why). */
    if (changed && Ccai_call_save_claim(c) != CCAI_OK)
        ok = ok && Ccai_buf_puts(&b, "\n(Error: the claim could not be saved.)");
    out->changed = changed;
    if (!ok) { /* no room for the report */
        Ccai_buf_free(&b);
        return NULL;
    }
    return Ccai_buf_steal(&b);
}

static char *run_reminder(ccai_call *c, const json_t *args)
{
    const char *title = arg_str(args, "title");
    const char *desc = arg_str(args, "description");
    const char *due = arg_str(args, "due_date_time");
    const char *owner = arg_str(args, "owner");
    if (!title || !*title)
        return Ccai_strdup("Failed: a reminder needs a title.");
    int64_t due_ms = 0;
    if (due && *due) {
        char when[CCAI_TZ_ISO_MAX], *why = NULL;
        if (caller_time(c, due, when, &due_ms, &why) != CCAI_OK) {
            char *r = Ccai_asprintf("Failed to create reminder \"%s\": due_date_time: %s", title,
                                    why ? why : "invalid date");
            ccai_free(why);
            return r;
        }
    }
    bool created = false;
    ccai_status st = Ccai_store_reminder_upsert(c->eng->store, c->row.id, title, desc ? desc : "",
                                                due_ms, owner, &created);
    if (st != CCAI_OK)
        return Ccai_asprintf("Failed to save reminder \"%s\": %s", title,
                             Ccai_store_errmsg(c->eng->store));
    return Ccai_asprintf("Reminder \"%s\" %s.", title, created ? "created" : "updated");
}

/* An SMS that did not go is no part of what the call did. */
static void unrecord_sms(ccai_call *c, int64_t seq)
{
    if (Ccai_store_message_delete(c->eng->store, c->row.id, seq) != CCAI_OK)
        Ccai_log(&c->log, CCAI_LOG_ERROR,
                 "call %s: the record of an SMS not sent stays (message %lld): %s", c->row.id,
                 (long long)seq, Ccai_store_errmsg(c->eng->store));
}

static void act_send_sms(ccai_call *c, const char *text, int64_t seq)
{
    bool sent = c->ops.send_sms && c->ops.send_sms(c, c->row.phone_number, text, c->ud) == 0;
    if (!sent && strcmp(c->eng->sms->name, "none") != 0) {
        /* No SMS on this channel: the configured SMS provider (a job). */
        sent = c->sms_queued =
            Ccai_sms_send(c->eng, c->row.id, c->row.phone_number, text, seq) == CCAI_OK;
    }
    if (sent)
        return;
    c->sms_failed = true;
    Ccai_log(&c->log, CCAI_LOG_ERROR, "call %s: an SMS of the bot could not be sent", c->row.id);
    unrecord_sms(c, seq);
}

/* The truth about an SMS: sent (the call's channel took it), queued (the
 * SMS provider sends it as a durable job; a failure or a failed delivery
 * reaches the LLM at a later turn), or impossible (no way to send one, a
 * number that cannot receive it). */
static char *run_send_sms(ccai_call *c, const json_t *args)
{
    const char *text = arg_str(args, "message");
    if (!text || !*text)
        return Ccai_strdup("Bad arguments: \"message\" is required.");
    const Ccai_sms_provider *sms = c->eng->sms;
    if (!c->ops.send_sms && (!sms || strcmp(sms->name, "none") == 0)) {
        Ccai_log(&c->log, CCAI_LOG_WARN,
                 "call %s: send_sms: no SMS provider is configured (sms.mode)", c->row.id);
        return Ccai_strdup("Impossible: SMS cannot be sent from this service (no SMS provider is "
                           "configured). Tell the customer no SMS will come, and give the "
                           "details by voice instead.");
    }
    char *norm = NULL, *why = NULL;
    if (ccai_field_validate(CCAI_FIELD_PHONE_NUMBER, c->row.phone_number, &norm, &why) != CCAI_OK) {
        char *r = Ccai_asprintf("Impossible: the customer's number cannot receive an SMS (%s). "
                                "Tell the customer, and give the details by voice instead.",
                                why ? why : "not a phone number");
        ccai_free(why);
        return r;
    }
    ccai_free(norm);
    /* Persist, then act: the record first, the SMS once it is committed. */
    int64_t seq = 0;
    if (Ccai_call_add_message(c, "assistant", "sms", CCAI_STYLE_NONE, text, NULL, NULL, NULL,
                              &seq) != CCAI_OK)
        return Ccai_strdup("Failed: the SMS could not be recorded, so it was not sent.");
    c->sms_failed = c->sms_queued = false;
    if (Ccai_call_after_commit(c, act_send_sms, text, seq) != CCAI_OK) {
        unrecord_sms(c, seq);
        return Ccai_strdup("Failed: the SMS was not sent.");
    }
    if (c->sms_failed)
        return Ccai_strdup("Failed: the SMS was not sent.");
    /* The channel took it (with an asynchronous store the act comes later:
     * the SMS is then only queued). */
    if (c->ops.send_sms && !c->sms_queued && Ccai_store_writes_durable(c->eng->store))
        return Ccai_strdup("SMS sent.");
    return Ccai_strdup("SMS queued: it is being sent now. You will be told if it cannot be "
                       "delivered.");
}

static char *run_emergency(ccai_call *c, const json_t *args)
{
    const char *service = arg_str(args, "service");
    const char *reason = arg_str(args, "reason");
    static const char *const services[] = {"police", "firefighters", "pharmacy", "veterinarian",
                                           "hospital"};
    bool known = false;
    for (size_t i = 0; service && i < CCAI_ARRAY_SIZE(services); i++)
        known = known || strcmp(service, services[i]) == 0;
    if (!known || !reason)
        return Ccai_strdup("Bad arguments: service (police, firefighters, pharmacy, "
                           "veterinarian, hospital) and reason are required.");
    return Ccai_alert_raise(c, service, reason, arg_str(args, "location"),
                            arg_str(args, "contact"));
}

static char *run_schedule_callback(ccai_call *c, const json_t *args)
{
    const char *when = arg_str(args, "date_time");
    const char *reason = arg_str(args, "reason");
    char norm[CCAI_TZ_ISO_MAX], *why = NULL;
    int64_t at = 0;
    if (!when || caller_time(c, when, norm, &at, &why) != CCAI_OK) {
        char *r = Ccai_asprintf("Failed: date_time: %s", why ? why : "required");
        ccai_free(why);
        return r;
    }
    if (at < Ccai_wall_ms())
        return Ccai_strdup("Failed: date_time is in the past; ask for a future time.");
    return Ccai_callback_schedule(c, at, norm, reason);
}

static char *run_speech_lang(ccai_call *c, const json_t *args)
{
    const char *lang = arg_str(args, "lang");
    const json_t *avail = json_object_get(json_object_get(c->initiate, "lang"), "availables");
    size_t i;
    const json_t *l;
    json_array_foreach(avail, i, l)
    {
        const char *code = json_string_value(json_object_get(l, "short_code"));
        if (code && lang && strcmp(code, lang) == 0) {
            char *r = Ccai_asprintf("Voice language set to %s (was %s).", lang, c->row.lang);
            if (!Ccai_str_replace(&c->row.lang, lang) || Ccai_call_save(c) != CCAI_OK) {
                ccai_free(r);
                return Ccai_strdup("Error: the language could not be saved.");
            }
            return r;
        }
    }
    return Ccai_asprintf("Language %s not available.", lang ? lang : "(none)");
}

/* A fresh claim: the current call document ends as it is (its post-call
 * work is queued) and the handle goes on with a new document, on the same
 * line, holding only the "call" message (reference issues #397, #403). */
static char *run_new_claim(ccai_call *c)
{
    Ccai_store *st = c->eng->store;
    Ccai_store_call n = {0};
    char secret[33];
    bool ok = Ccai_uuid4(n.id) && Ccai_random_token(secret, 32);
    n.direction = c->row.direction;
    ok = ok && Ccai_str_replace(&n.phone_number, c->row.phone_number) &&
         Ccai_str_replace(&n.bot_phone_number, c->row.bot_phone_number) &&
         Ccai_str_replace(&n.channel, c->row.channel) &&
         Ccai_str_replace(&n.provider_call_id, c->row.provider_call_id) &&
         Ccai_str_replace(&n.state, ccai_call_state_str(c->state)) &&
         Ccai_str_replace(&n.lang, c->row.lang) &&
         Ccai_str_replace(&n.initiate_json, c->row.initiate_json) &&
         Ccai_str_replace(&n.claim_json, "{}") && Ccai_str_replace(&n.callback_secret, secret);
    json_t *fresh = json_object();
    if (!ok || !fresh) {
        json_decref(fresh);
        Ccai_store_call_clear(&n);
        return NULL;
    }
    /* The old document is over: ended, its report queued. */
    char *state = c->row.state;
    c->row.state = Ccai_strdup("ended");
    ccai_status s = c->row.state ? Ccai_call_save(c) : CCAI_ERR_NOMEM;
    if (s == CCAI_OK)
        s = Ccai_postcall_enqueue(st, c->row.id, "new_claim");
    if (s == CCAI_OK)
        s = Ccai_store_call_insert(st, &n);
    if (s != CCAI_OK) {
        if (c->row.state) {
            ccai_free(c->row.state);
            c->row.state = state;
        }
        json_decref(fresh);
        Ccai_store_call_clear(&n);
        return Ccai_asprintf("Error: the claim could not be reset: %s", Ccai_store_errmsg(st));
    }
    ccai_free(state);
    Ccai_log(&c->log, CCAI_LOG_INFO, "call %s: new claim, continued as %s", c->row.id, n.id);
    Ccai_store_call_clear(&c->row);
    c->row = n;
    json_decref(c->claim);
    c->claim = fresh;
    /* The new document exists and the old one is queued: a "call" message
     * not stored (logged, on the call) leaves the new one without its first
     * line, nothing else; the report of the old one goes all the same. */
    CCAI_DISCARD(
        Ccai_call_add_message(c, "human", "call", CCAI_STYLE_NONE, "", NULL, NULL, NULL, NULL));
    Ccai_jobs_kick(c->eng);
    return Ccai_strdup("Claim, reminders and messages reset: a new claim starts. The previous "
                       "one is saved and will be summarised.");
}

/* search_document: the documents of the call's language (rag/rag.h),
 * asked from the loop (the store's reads on worker threads on PostgreSQL);
 * the turn waits for the answer, cancelled with the call. */
typedef struct Ccai_tool_wait {
    ccai_call *c;
    Ccai_rag_search *search;
} Ccai_tool_wait;

void Ccai_tools_cancel(Ccai_tool_wait *w)
{
    if (!w)
        return;
    Ccai_rag_search_cancel(w->search);
    ccai_free(w);
}

/* The tool's result when the search failed: the database did not answer
 * (down, too slow, too many searches at once) is "unavailable right now";
 * anything else an internal error. Either way the call goes on. */
static const char *search_failed_text(ccai_status st)
{
    if (st == CCAI_ERR_STORE || st == CCAI_ERR_BUSY || st == CCAI_ERR_TIMEOUT || st == CCAI_ERR_IO)
        return "# Search results\nThe search is unavailable right now: the documentation "
               "could not be searched in time. Do not make the answer up: say you cannot "
               "check it now, and offer to help with something else or to call back.";
    return "# Search results\nThe documentation could not be searched (an internal error). Do "
           "not make the answer up: say you cannot check it now.";
}

static void on_search(ccai_status st, const Ccai_rag_results *res, void *ud)
{
    Ccai_tool_wait *w = ud;
    ccai_call *c = w->c;
    ccai_free(w); /* the search is over */
    char *text;
    if (st == CCAI_OK) {
        Ccai_log(&c->eng->log, CCAI_LOG_INFO,
                 "call %s: search_document: %zu result(s), %s, language %s%s", c->row.id, res->n,
                 res->hybrid ? "hybrid" : "BM25", res->lang ? res->lang : "any",
                 res->cached ? ", cached" : "");
        text = Ccai_rag_format(res);
    } else {
        Ccai_log(&c->eng->log, CCAI_LOG_ERROR, "call %s: search_document failed: %s", c->row.id,
                 Ccai_rag_errmsg(c->eng->rag));
        text = Ccai_strdup(search_failed_text(st));
    }
    Ccai_conv_tool_result(c, text);
}

static char *run_search(ccai_call *c, const json_t *args, Ccai_tool_outcome *out)
{
    const json_t *qs = json_object_get(args, "queries");
    const char *queries[CCAI_RAG_MAX_QUERIES];
    size_t n = 0, i;
    const json_t *q;
    if (json_is_string(qs)) /* one query not in a list: read as meant */
        queries[n++] = json_string_value(qs);
    json_array_foreach(qs, i, q)
    {
        if (json_is_string(q) && *json_string_value(q) && n < CCAI_RAG_MAX_QUERIES)
            queries[n++] = json_string_value(q);
    }
    if (n == 0)
        return Ccai_strdup("Bad arguments: \"queries\" must be a list of questions.");
    if (!c->eng->rag)
        return Ccai_strdup("# Search results\nNo documentation is available here: answer from "
                           "what you know, and say so when you are not sure.");
    Ccai_tool_wait *w = Ccai_calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->c = c;
    ccai_status st =
        Ccai_rag_search_start(c->eng->rag, queries, n, c->row.lang, 0, on_search, w, &w->search);
    if (st != CCAI_OK) {
        ccai_free(w);
        Ccai_log(&c->eng->log, CCAI_LOG_ERROR, "call %s: search_document: %s", c->row.id,
                 Ccai_rag_errmsg(c->eng->rag));
        return Ccai_strdup(search_failed_text(st));
    }
    out->wait = w;
    return NULL;
}

char *Ccai_tools_run(ccai_call *c, const char *name, const char *args_json, const char *engine,
                     Ccai_tool_outcome *out)
{
    memset(out, 0, sizeof *out);
    static const char *const names[] = {
        "end_call",      "new_claim",       "new_or_updated_reminder", "updated_claim",
        "talk_to_human", "search_document", "notify_emergencies",      "send_sms",
        "speech_speed",  "speech_lang",     "schedule_callback",
    };
    bool known = false;
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(names); i++)
        known = known || strcmp(name, names[i]) == 0;
    if (!known || (strcmp(name, "end_call") == 0 && c->resumed && c->first_turn))
        return Ccai_asprintf("Invalid function name \"%s\". Available: end_call, new_claim, "
                             "new_or_updated_reminder, updated_claim, talk_to_human, "
                             "search_document, notify_emergencies, send_sms, speech_speed, "
                             "speech_lang, schedule_callback.",
                             name);
    Ccai_json_err jerr;
    ccai_status pst;
    json_t *args = Ccai_json_load(args_json, strlen(args_json), &jerr, &pst);
    if (!args && pst == CCAI_ERR_NOMEM)
        return NULL;
    if (!json_is_object(args)) {
        json_decref(args);
        return Ccai_asprintf("Bad arguments for %s: expected a JSON object (%s). Fix them and "
                             "try again.",
                             name, args ? "not an object" : jerr.text);
    }
    Ccai_log(&c->log, CCAI_LOG_INFO, "call %s: tool %s", c->row.id, name);
    const char *response = arg_str(args, "customer_response");
    bool after = strcmp(name, "speech_speed") == 0 || strcmp(name, "speech_lang") == 0;
    if (response && !after)
        Ccai_conv_say(c, response, CCAI_STYLE_NONE, false, true, engine);

    char *result = NULL;
    if (strcmp(name, "end_call") == 0) {
        Ccai_conv_say_phrase(c, CCAI_TTS_GOODBYE, false, true);
        Ccai_call_hangup(c);
        out->end_call = true;
        result = Ccai_strdup("Call ended.");
    } else if (strcmp(name, "talk_to_human") == 0) {
        Ccai_conv_say_phrase(c, CCAI_TTS_END_CALL_TO_CONNECT_AGENT, false, true);
        out->transfer = true;
        result =
            Ccai_strdup(Ccai_conv_transfer(c) ? "Transferring to a human agent."
                                              : "The transfer failed; a call back is planned.");
    } else if (strcmp(name, "new_claim") == 0) {
        result = run_new_claim(c);
        out->changed = true;
    } else if (strcmp(name, "new_or_updated_reminder") == 0) {
        result = run_reminder(c, args);
        out->changed = true;
    } else if (strcmp(name, "updated_claim") == 0) {
        result = run_updated_claim(c, args, out);
    } else if (strcmp(name, "search_document") == 0) {
        result = run_search(c, args, out);
    } else if (strcmp(name, "notify_emergencies") == 0) {
        result = run_emergency(c, args);
    } else if (strcmp(name, "send_sms") == 0) {
        result = run_send_sms(c, args);
    } else if (strcmp(name, "speech_speed") == 0) {
        const json_t *v = json_object_get(args, "speed");
        if (!json_is_number(v) || isnan(json_number_value(v))) {
            result = Ccai_strdup("Bad arguments: speed must be a number from 0.75 to 1.25.");
        } else {
            double was = c->rate, speed = json_number_value(v);
            c->rate = speed < 0.75 ? 0.75 : speed > 1.25 ? 1.25 : speed;
            result = Ccai_asprintf("Voice speed set to %.2f (was %.2f).", c->rate, was);
            /* Kept with the call (its stored initiate: the tree is shared),
             * so a caller who rings back keeps it. */
            Ccai_json_err ijerr;
            ccai_status ipst;
            json_t *stored =
                Ccai_json_load(c->row.initiate_json, strlen(c->row.initiate_json), &ijerr, &ipst);
            char *text = NULL;
            if (json_is_object(stored) &&
                json_object_set_new(stored, "prosody_rate", json_real(c->rate)) == 0 &&
                (text = Ccai_json_dump(stored, JSON_COMPACT | JSON_ENSURE_ASCII))) {
                char *prev = c->row.initiate_json;
                c->row.initiate_json = text;
                if (Ccai_call_save(c) == CCAI_OK) {
                    ccai_free(prev);
                } else {
                    c->row.initiate_json = prev;
                    ccai_free(text);
                }
            }
            json_decref(stored);
        }
    } else if (strcmp(name, "speech_lang") == 0) {
        result = run_speech_lang(c, args);
    } else {
        result = run_schedule_callback(c, args);
    }
    if (response && after)
        Ccai_conv_say(c, response, CCAI_STYLE_NONE, false, true, engine);
    json_decref(args);
    return result;
}
