/* Reading the reference's (call-center-ai) exported calls (import.h) and
 * storing them: each call under its own id, ended, with its messages,
 * reminders, claim, next action and synthesis. A call already stored is
 * left as it is, so an import run twice stores the same. */
#include "engine/import.h"

#include "config/config.h"
#include "core/json.h"
#include "engine/engine.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Reading                                                                  */
/* ------------------------------------------------------------------------ */

static size_t skip_space(const char *s, size_t len, size_t i)
{
    while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
        i++;
    return i;
}

static char *json_error_text(const Ccai_json_err *err)
{
    return Ccai_asprintf("not JSON: line %u, column %u: %s", err->line, err->column,
                         err->text ? err->text : "malformed");
}

/* JSON lines: one document per line, blank lines skipped. */
static ccai_status parse_lines(const char *data, size_t len, Ccai_import_record_fn fn, void *ud)
{
    size_t index = 0, start = 0;
    while (start < len) {
        const char *nl = memchr(data + start, '\n', len - start);
        size_t end = nl ? (size_t)(nl - data) : len;
        if (skip_space(data, end, start) < end) {
            if (++index > CCAI_IMPORT_MAX_RECORDS)
                return CCAI_ERR_LIMIT;
            Ccai_json_err err = {0};
            ccai_status st = CCAI_OK;
            json_t *rec = Ccai_json_load(data + start, end - start, &err, &st);
            if (!rec && st == CCAI_ERR_NOMEM)
                return st;
            char *why = rec ? NULL : json_error_text(&err);
            if (!rec && !why)
                return CCAI_ERR_NOMEM;
            int stop = fn(index, rec, why, ud);
            json_decref(rec);
            ccai_free(why);
            if (stop)
                return CCAI_OK;
        }
        start = end + 1;
    }
    return CCAI_OK;
}

ccai_status Ccai_import_parse(const char *data, size_t len, Ccai_import_record_fn fn, void *ud,
                              char **ret_error)
{
    *ret_error = NULL;
    if (len > CCAI_IMPORT_MAX_BYTES) {
        *ret_error = Ccai_asprintf("larger than %u bytes", CCAI_IMPORT_MAX_BYTES);
        return *ret_error ? CCAI_ERR_LIMIT : CCAI_ERR_NOMEM;
    }
    size_t first = skip_space(data, len, 0);
    if (first == len) {
        *ret_error = Ccai_strdup("empty: no call in it");
        return *ret_error ? CCAI_ERR_PARSE : CCAI_ERR_NOMEM;
    }
    Ccai_json_err err = {0};
    ccai_status st = CCAI_OK;
    json_t *doc = Ccai_json_load(data, len, &err, &st);
    if (!doc && st == CCAI_ERR_NOMEM)
        return st;
    if (!doc) {
        /* Several documents: JSON lines, when the first line is one. */
        const char *nl = memchr(data + first, '\n', len - first);
        size_t end = nl ? (size_t)(nl - data) : len;
        Ccai_json_err e1 = {0};
        json_t *head =
            data[first] == '{' && nl ? Ccai_json_load(data + first, end - first, &e1, &st) : NULL;
        if (!head && st == CCAI_ERR_NOMEM)
            return st;
        if (head) {
            json_decref(head);
            st = parse_lines(data, len, fn, ud);
            if (st == CCAI_ERR_LIMIT)
                *ret_error = Ccai_asprintf("more than %u records", CCAI_IMPORT_MAX_RECORDS);
            return st == CCAI_ERR_LIMIT && !*ret_error ? CCAI_ERR_NOMEM : st;
        }
        *ret_error = json_error_text(&err);
        return *ret_error ? CCAI_ERR_PARSE : CCAI_ERR_NOMEM;
    }
    const json_t *list = json_is_array(doc) ? doc : json_object_get(doc, "calls");
    if (json_is_object(doc) && !json_is_array(list)) {
        fn(1, doc, NULL, ud);
        json_decref(doc);
        return CCAI_OK;
    }
    if (!json_is_array(list)) {
        *ret_error = Ccai_asprintf("expected a call, a list of calls or JSON lines, got %s",
                                   Ccai_json_kind(doc));
        json_decref(doc);
        return *ret_error ? CCAI_ERR_PARSE : CCAI_ERR_NOMEM;
    }
    if (json_array_size(list) > CCAI_IMPORT_MAX_RECORDS) {
        *ret_error = Ccai_asprintf("more than %u records", CCAI_IMPORT_MAX_RECORDS);
        json_decref(doc);
        return *ret_error ? CCAI_ERR_LIMIT : CCAI_ERR_NOMEM;
    }
    size_t i;
    const json_t *rec;
    json_array_foreach(list, i, rec)
    {
        if (fn(i + 1, rec, NULL, ud))
            break;
    }
    json_decref(doc);
    return CCAI_OK;
}

/* ------------------------------------------------------------------------ */
/* Checking                                                                 */
/* ------------------------------------------------------------------------ */

static CCAI_MUST_CHECK bool digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!Ccai_is_digit((unsigned char)s[i]))
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* Days since 1970-01-01 of a civil date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

bool Ccai_import_time(const char *s, int64_t *ret_ms)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0;
    size_t n = strlen(s);
    if (n < 10 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
        !digits(s + 8, 2, &d) || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1])
        return false;
    const char *p = s + 10;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        if (strlen(p) < 6 || !digits(p + 1, 2, &h) || p[3] != ':' || !digits(p + 4, 2, &mi) ||
            h > 23 || mi > 59)
            return false;
        p += 6;
        if (*p == ':') {
            if (!digits(p + 1, 2, &sec) || sec > 60)
                return false;
            p += 3;
            if (*p == '.' || *p == ',') {
                p++;
                int k = 0;
                for (; Ccai_is_digit((unsigned char)*p); p++, k++)
                    if (k < 3)
                        ms = ms * 10 + (*p - '0');
                if (k == 0)
                    return false;
                for (; k < 3; k++)
                    ms *= 10;
            }
        }
    }
    int64_t offset_min = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om = 0;
        const char *q = p + 1;
        if (!digits(q, 2, &oh))
            return false;
        q += 2;
        if (*q == ':')
            q++;
        if (*q) {
            if (!digits(q, 2, &om))
                return false;
            q += 2;
        }
        if (oh > 23 || om > 59)
            return false;
        offset_min = (oh * 60 + om) * (*p == '-' ? -1 : 1);
        p = q;
    }
    if (*p)
        return false;
    int64_t days = days_from_civil(y, mo, d);
    *ret_ms =
        ((days * 86400 + h * 3600 + mi * 60 + (sec > 59 ? 59 : sec)) - offset_min * 60) * 1000 + ms;
    return true;
}

static CCAI_MUST_CHECK bool is_e164(const char *s)
{
    if (!s || *s++ != '+')
        return false;
    size_t n = 0;
    for (; Ccai_is_digit((unsigned char)*s); s++)
        n++;
    return !*s && n >= 6 && n <= 15;
}

static CCAI_MUST_CHECK bool is_uuid(const char *s)
{
    if (strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        int c = Ccai_to_lower((unsigned char)s[i]);
        if (dash ? c != '-' : !(Ccai_is_digit(c) || (c >= 'a' && c <= 'f')))
            return false;
    }
    return true;
}

static CCAI_MUST_CHECK bool one_of(const char *s, const char *const *set)
{
    for (; *set; set++)
        if (strcmp(s, *set) == 0)
            return true;
    return false;
}

/* Record the first error (formatted) in *err; returns CCAI_ERR_VALIDATION
 * or CCAI_ERR_NOMEM. */
static ccai_status bad(char **err, const char *fmt, ...) CCAI_PRINTF(2, 3);
static ccai_status bad(char **err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    *err = Ccai_vasprintf(fmt, ap);
    va_end(ap);
    return *err ? CCAI_ERR_VALIDATION : CCAI_ERR_NOMEM;
}

/* An optional string member: NULL when absent or null; false when it is
 * another kind. */
static CCAI_MUST_CHECK bool opt_str(const json_t *o, const char *key, const char **out)
{
    const json_t *v = json_object_get(o, key);
    *out = json_is_string(v) ? json_string_value(v) : NULL;
    return !v || json_is_null(v) || json_is_string(v);
}

static ccai_status check_message(const json_t *m, size_t i, char **err)
{
    static const char *const personas[] = {"human", "assistant", "tool", NULL};
    static const char *const actions[] = {"call", "hangup", "sms", "talk", NULL};
    static const char *const styles[] = {"cheerful", "none", "sad", NULL};
    if (!json_is_object(m))
        return bad(err, "messages[%zu]: expected an object, got %s", i, Ccai_json_kind(m));
    const char *persona, *action, *style, *content, *at, *lang;
    if (!opt_str(m, "persona", &persona) || !persona || !one_of(persona, personas))
        return bad(err, "messages[%zu].persona: expected human, assistant or tool", i);
    if (!opt_str(m, "action", &action) || (action && !one_of(action, actions)))
        return bad(err, "messages[%zu].action: expected call, hangup, sms or talk", i);
    if (!opt_str(m, "style", &style) || (style && !one_of(style, styles)))
        return bad(err, "messages[%zu].style: expected cheerful, none or sad", i);
    if (!opt_str(m, "content", &content))
        return bad(err, "messages[%zu].content: expected a string", i);
    if (!opt_str(m, "lang_short_code", &lang))
        return bad(err, "messages[%zu].lang_short_code: expected a string", i);
    int64_t ms;
    if (!opt_str(m, "created_at", &at) || (at && !Ccai_import_time(at, &ms)))
        return bad(err, "messages[%zu].created_at: expected an ISO 8601 time", i);
    const json_t *tools = json_object_get(m, "tool_calls");
    if (tools && !json_is_null(tools) && !json_is_array(tools))
        return bad(err, "messages[%zu].tool_calls: expected a list", i);
    size_t k;
    const json_t *t;
    json_array_foreach(tools, k, t)
    {
        if (!json_is_object(t))
            return bad(err, "messages[%zu].tool_calls[%zu]: expected an object", i, k);
    }
    return CCAI_OK;
}

static ccai_status check_reminder(const json_t *r, size_t i, char **err)
{
    if (!json_is_object(r))
        return bad(err, "reminders[%zu]: expected an object, got %s", i, Ccai_json_kind(r));
    const char *title, *desc, *due, *owner;
    if (!opt_str(r, "title", &title) || !title || !*title)
        return bad(err, "reminders[%zu].title: required", i);
    if (!opt_str(r, "description", &desc) || !opt_str(r, "owner", &owner))
        return bad(err, "reminders[%zu]: description and owner are strings", i);
    int64_t ms;
    if (!opt_str(r, "due_date_time", &due) || (due && !Ccai_import_time(due, &ms)))
        return bad(err, "reminders[%zu].due_date_time: expected an ISO 8601 time", i);
    return CCAI_OK;
}

/* A member that must be an object or absent/null; its JSON text or NULL. */
static ccai_status object_text(const json_t *rec, const char *key, char **out, char **err)
{
    const json_t *v = json_object_get(rec, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return CCAI_OK;
    if (!json_is_object(v))
        return bad(err, "%s: expected an object, got %s", key, Ccai_json_kind(v));
    *out = Ccai_json_dump(v, JSON_COMPACT | JSON_ENSURE_ASCII);
    return *out ? CCAI_OK : CCAI_ERR_NOMEM;
}

void Ccai_import_call_clear(Ccai_import_call *c)
{
    Ccai_store_call_clear(&c->row);
    c->messages = NULL;
    c->reminders = NULL;
}

ccai_status Ccai_import_convert(const json_t *rec, Ccai_import_call *out, char **ret_error)
{
    memset(out, 0, sizeof *out);
    *ret_error = NULL;
    if (!json_is_object(rec))
        return bad(ret_error, "expected a call (an object), got %s", Ccai_json_kind(rec));
    const char *id;
    if (!opt_str(rec, "call_id", &id) || (!id && !opt_str(rec, "id", &id)))
        return bad(ret_error, "call_id: expected a string");
    if (!id || !is_uuid(id))
        return bad(ret_error, "call_id: expected a UUID");
    for (int i = 0; i < 36; i++)
        out->row.id[i] = (char)Ccai_to_lower((unsigned char)id[i]);
    const json_t *initiate = json_object_get(rec, "initiate");
    if (!json_is_object(initiate))
        return bad(ret_error, "initiate: expected an object");
    const char *phone;
    if (!opt_str(initiate, "phone_number", &phone) ||
        (!phone && !opt_str(rec, "phone_number", &phone)))
        return bad(ret_error, "initiate.phone_number: expected a string");
    if (!is_e164(phone))
        return bad(ret_error, "initiate.phone_number: expected an E.164 number");
    const char *created;
    if (!opt_str(rec, "created_at", &created) || !created ||
        !Ccai_import_time(created, &out->row.created_at))
        return bad(ret_error, "created_at: expected an ISO 8601 time");
    const char *lang;
    if (!opt_str(rec, "lang_short_code", &lang))
        return bad(ret_error, "lang_short_code: expected a string");
    if (!lang)
        lang = json_string_value(
            json_object_get(json_object_get(initiate, "lang"), "default_short_code"));
    const json_t *claim = json_object_get(rec, "claim");
    if (claim && !json_is_null(claim) && !json_is_object(claim))
        return bad(ret_error, "claim: expected an object, got %s", Ccai_json_kind(claim));
    const json_t *msgs = json_object_get(rec, "messages");
    if (msgs && !json_is_null(msgs) && !json_is_array(msgs))
        return bad(ret_error, "messages: expected a list");
    if (json_array_size(msgs) > CCAI_IMPORT_MAX_MESSAGES)
        return bad(ret_error, "messages: more than %u", CCAI_IMPORT_MAX_MESSAGES);
    const json_t *rems = json_object_get(rec, "reminders");
    if (rems && !json_is_null(rems) && !json_is_array(rems))
        return bad(ret_error, "reminders: expected a list");
    if (json_array_size(rems) > CCAI_IMPORT_MAX_REMINDERS)
        return bad(ret_error, "reminders: more than %u", CCAI_IMPORT_MAX_REMINDERS);
    size_t i;
    const json_t *e;
    int64_t last = out->row.created_at;
    json_array_foreach(msgs, i, e)
    {
        ccai_status st = check_message(e, i, ret_error);
        if (st != CCAI_OK)
            return st;
        int64_t at;
        const char *when = json_string_value(json_object_get(e, "created_at"));
        if (when && Ccai_import_time(when, &at) && at > last)
            last = at;
    }
    json_array_foreach(rems, i, e)
    {
        ccai_status st = check_reminder(e, i, ret_error);
        if (st != CCAI_OK)
            return st;
    }
    ccai_status st = object_text(rec, "next", &out->row.next_json, ret_error);
    if (st == CCAI_OK)
        st = object_text(rec, "synthesis", &out->row.synthesis_json, ret_error);
    if (st != CCAI_OK)
        return st;
    /* History: the reference is not running it any more. */
    out->row.direction = CCAI_INBOUND;
    out->row.updated_at = last;
    out->row.phone_number = Ccai_strdup(phone);
    out->row.channel = Ccai_strdup("call-center-ai");
    out->row.state = Ccai_strdup(ccai_call_state_str(CCAI_CALL_DONE));
    out->row.end_reason = Ccai_strdup("imported");
    out->row.lang = lang ? Ccai_strdup(lang) : NULL;
    out->row.initiate_json = Ccai_json_dump(initiate, JSON_COMPACT | JSON_ENSURE_ASCII);
    out->row.claim_json = json_is_object(claim)
                              ? Ccai_json_dump(claim, JSON_COMPACT | JSON_ENSURE_ASCII)
                              : Ccai_strdup("{}");
    if (!out->row.phone_number || !out->row.channel || !out->row.state || !out->row.end_reason ||
        (lang && !out->row.lang) || !out->row.initiate_json || !out->row.claim_json)
        return CCAI_ERR_NOMEM;
    out->messages = msgs;
    out->reminders = rems;
    return CCAI_OK;
}

/* ------------------------------------------------------------------------ */
/* Storing                                                                  */
/* ------------------------------------------------------------------------ */

#define REPORT_ERRORS_MAX 100

typedef struct import_run {
    Ccai_engine *e;
    size_t imported, present, failed;
    json_t *errors;
    ccai_status fatal; /* NOMEM, or a store failure: the reading stops */
} import_run;

static ccai_status store_call(Ccai_engine *e, Ccai_import_call *c)
{
    char secret[33];
    if (!Ccai_random_token(secret, 32))
        return CCAI_ERR_INTERNAL;
    c->row.callback_secret = Ccai_strdup(secret);
    if (!c->row.callback_secret)
        return CCAI_ERR_NOMEM;
    ccai_status st = Ccai_store_call_insert(e->store, &c->row);
    size_t i;
    const json_t *m;
    json_array_foreach(c->messages, i, m)
    {
        if (st != CCAI_OK)
            break;
        const char *action = json_string_value(json_object_get(m, "action"));
        const char *style = json_string_value(json_object_get(m, "style"));
        const char *content = json_string_value(json_object_get(m, "content"));
        const char *when = json_string_value(json_object_get(m, "created_at"));
        const json_t *tools = json_object_get(m, "tool_calls");
        char *tools_text =
            json_array_size(tools) ? Ccai_json_dump(tools, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
        if (json_array_size(tools) && !tools_text) {
            st = CCAI_ERR_NOMEM;
            break;
        }
        Ccai_store_message sm = {
            .persona = json_string_value(json_object_get(m, "persona")),
            .action = action ? action : "talk",
            .style = style ? style : "none",
            .content = content ? content : "",
            .lang = json_string_value(json_object_get(m, "lang_short_code")),
            .tool_calls_json = tools_text,
            .created_at = c->row.created_at,
        };
        if (when && !Ccai_import_time(when, &sm.created_at))
            sm.created_at = c->row.created_at;
        st = Ccai_store_message_append(e->store, c->row.id, &sm, NULL);
        ccai_free(tools_text);
    }
    const json_t *r;
    json_array_foreach(c->reminders, i, r)
    {
        if (st != CCAI_OK)
            break;
        const char *due = json_string_value(json_object_get(r, "due_date_time"));
        const char *desc = json_string_value(json_object_get(r, "description"));
        int64_t due_ms = 0;
        if (due && !Ccai_import_time(due, &due_ms))
            due_ms = 0;
        st = Ccai_store_reminder_upsert(
            e->store, c->row.id, json_string_value(json_object_get(r, "title")), desc ? desc : "",
            due_ms, json_string_value(json_object_get(r, "owner")), NULL);
    }
    return st;
}

static void note_error(import_run *run, size_t index, const char *id, const char *why)
{
    run->failed++;
    if (json_array_size(run->errors) >= REPORT_ERRORS_MAX)
        return;
    json_t *e = json_pack("{s:I, s:s?, s:s}", "record", (json_int_t)index, "call_id", id, "error",
                          why ? why : "invalid");
    if (!e || json_array_append_new(run->errors, e) != 0)
        run->fatal = CCAI_ERR_NOMEM;
}

static int on_record(size_t index, const json_t *rec, const char *error, void *ud)
{
    import_run *run = ud;
    if (!rec) {
        note_error(run, index, NULL, error);
        return run->fatal != CCAI_OK;
    }
    Ccai_import_call c;
    char *why = NULL;
    ccai_status st = Ccai_import_convert(rec, &c, &why);
    if (st == CCAI_ERR_VALIDATION) {
        note_error(run, index, json_string_value(json_object_get(rec, "call_id")), why);
    } else if (st == CCAI_OK) {
        Ccai_store_call *old = NULL;
        st = Ccai_store_call_get(run->e->store, c.row.id, &old);
        Ccai_store_call_free(old);
        if (st == CCAI_OK) {
            run->present++;
        } else if (st == CCAI_ERR_NOT_FOUND) {
            /* The call, its messages and reminders: all or nothing. */
            st = Ccai_store_begin(run->e->store);
            if (st == CCAI_OK)
                st = store_call(run->e, &c);
            if (st == CCAI_OK)
                st = Ccai_store_commit(run->e->store);
            if (st == CCAI_OK) {
                run->imported++;
            } else {
                char *msg = Ccai_asprintf("store: %s", Ccai_store_errmsg(run->e->store));
                if (Ccai_store_rollback(run->e->store) != CCAI_OK || st == CCAI_ERR_NOMEM)
                    run->fatal = st == CCAI_ERR_NOMEM ? st : CCAI_ERR_STORE;
                note_error(run, index, c.row.id, msg);
                ccai_free(msg);
            }
        } else {
            run->fatal = st;
        }
    } else {
        run->fatal = st;
    }
    ccai_free(why);
    Ccai_import_call_clear(&c);
    return run->fatal != CCAI_OK;
}

/* A row of the reference's SQLite database: one call document. */
static int on_row(size_t index, const char *json, size_t len, void *ud)
{
    import_run *run = ud;
    Ccai_json_err err = {0};
    ccai_status st = CCAI_OK;
    json_t *rec = Ccai_json_load(json, len, &err, &st);
    if (!rec && st == CCAI_ERR_NOMEM) {
        run->fatal = st;
        return 1;
    }
    char *why = rec ? NULL : json_error_text(&err);
    int stop = rec || why ? on_record(index, rec, why, run) : 1;
    if (!rec && !why)
        run->fatal = CCAI_ERR_NOMEM;
    json_decref(rec);
    ccai_free(why);
    return stop;
}

/* The end of an import: the report, or the failure said on the context. */
static ccai_status finish_run(Ccai_engine *e, import_run *run, ccai_status st, char *why,
                              json_t **ret)
{
    if (st == CCAI_OK)
        st = run->fatal;
    if (st != CCAI_OK) {
        if (why)
            Ccai_ctx_set_error(e->ctx, "import: %s", why);
        else if (st == CCAI_ERR_STORE)
            Ccai_ctx_set_error(e->ctx, "import: store: %s", Ccai_store_errmsg(e->store));
        ccai_free(why);
        json_decref(run->errors);
        return st;
    }
    ccai_free(why);
    *ret = json_pack("{s:I, s:I, s:I, s:o}", "imported", (json_int_t)run->imported, "unchanged",
                     (json_int_t)run->present, "failed", (json_int_t)run->failed, "errors",
                     run->errors);
    return *ret ? CCAI_OK : CCAI_ERR_NOMEM;
}

ccai_status Ccai_engine_calls_import(Ccai_engine *e, const char *data, size_t len, json_t **ret)
{
    import_run run = {e, 0, 0, 0, json_array(), CCAI_OK};
    if (!run.errors)
        return CCAI_ERR_NOMEM;
    char *why = NULL;
    ccai_status st = Ccai_import_parse(data, len, on_record, &run, &why);
    return finish_run(e, &run, st, why, ret);
}

ccai_status Ccai_engine_calls_import_sqlite(Ccai_engine *e, const char *path, json_t **ret)
{
    import_run run = {e, 0, 0, 0, json_array(), CCAI_OK};
    if (!run.errors)
        return CCAI_ERR_NOMEM;
    const char *table = Ccai_config_str(e->cfg, "reference.sqlite.table");
    char *why = NULL;
    ccai_status st = Ccai_store_reference_rows(path, table ? table : "calls", on_row, &run, &why);
    return finish_run(e, &run, st, why, ret);
}
