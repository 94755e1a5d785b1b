/* The SQLite backend: a call's messages and reminders. */
#include "store/sqlite_private.h"

#include "core/json.h"

#include <stdio.h>
#include <string.h>

/* Messages --------------------------------------------------------------- */

CCAI_MUST_CHECK ccai_status Ccai_sqlite_message_append(Ccai_store *store, const char *call_id,
                                                       const Ccai_store_message *m,
                                                       int64_t *ret_seq)
{
    Ccai_sqlite *st = Ccai_sqlite_of(store);
    if (!st || !call_id || !m || !m->persona || !m->action || !m->style || !m->content)
        return CCAI_ERR_INVALID_ARG;
    if (!Ccai_sqlite_utf8_ok(m->content) || !Ccai_sqlite_utf8_ok(m->action) ||
        !Ccai_sqlite_utf8_ok(m->lang) || !Ccai_sqlite_utf8_ok(m->engine))
        return Ccai_sqlite_fail(st, CCAI_ERR_INVALID_ARG,
                                "store: append message: text is not valid UTF-8");
    sqlite3_stmt *s = NULL;
    ccai_status status = Ccai_sqlite_group_enter(st, call_id, "write");
    if (status == CCAI_OK)
        status =
            Ccai_sqlite_stmt_get(st, ret_seq ? STMT_MESSAGE_APPEND : STMT_MESSAGE_APPEND_NOSEQ, &s);
    if (status != CCAI_OK)
        return status;
    /* One statement computes seq and inserts: atomic without a transaction. */
    if (Ccai_sqlite_bind_text(s, 1, call_id) ||
        Ccai_sqlite_bind_int(s, 2, m->created_at ? m->created_at : Ccai_wall_ms()) ||
        Ccai_sqlite_bind_text(s, 3, m->persona) || Ccai_sqlite_bind_text(s, 4, m->action) ||
        Ccai_sqlite_bind_text(s, 5, m->style) || Ccai_sqlite_bind_text(s, 6, m->content) ||
        Ccai_sqlite_bind_text(s, 7, m->lang) || Ccai_sqlite_bind_text(s, 8, m->tool_calls_json) ||
        Ccai_sqlite_bind_text(s, 9, m->engine)) {
        status = Ccai_sqlite_db_fail(st, "append message");
        goto cleanup;
    }
    int64_t seq = 0;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        seq = sqlite3_column_int64(s, 0);
        rc = sqlite3_step(s); /* completes the statement: the commit */
    }
    if (rc != SQLITE_DONE) {
        status = Ccai_sqlite_db_fail(st, "append message");
        if (status == CCAI_ERR_NOT_FOUND)
            status = Ccai_sqlite_fail(st, status, "store: append message: no call %s", call_id);
        goto cleanup;
    }
    if (ret_seq)
        *ret_seq = seq;

cleanup:
    Ccai_sqlite_stmt_done(s);
    return status;
}

/* Set key to a string column; a NULL column is omitted. */
static CCAI_MUST_CHECK ccai_status json_set_col(Ccai_sqlite *st, json_t *obj, const char *key,
                                                sqlite3_stmt *s, int i, const char *op)
{
    if (sqlite3_column_type(s, i) == SQLITE_NULL)
        return CCAI_OK;
    const char *t = (const char *)sqlite3_column_text(s, i);
    if (!t)
        return Ccai_sqlite_fail_nomem(st, op);
    json_t *v = json_string(t);
    if (!v) {
        if (!Ccai_sqlite_utf8_valid(t))
            return Ccai_sqlite_fail(st, CCAI_ERR_STORE, "store: %s: %s is not valid UTF-8", op,
                                    key);
        return Ccai_sqlite_fail_nomem(st, op);
    }
    if (json_object_set_new(obj, key, v) != 0)
        return Ccai_sqlite_fail_nomem(st, op);
    return CCAI_OK;
}

static CCAI_MUST_CHECK ccai_status json_set_time(Ccai_sqlite *st, json_t *obj, const char *key,
                                                 sqlite3_stmt *s, int i, const char *op)
{
    if (sqlite3_column_type(s, i) == SQLITE_NULL)
        return CCAI_OK;
    char iso[32];
    Ccai_format_iso8601(sqlite3_column_int64(s, i), iso, sizeof iso);
    if (json_object_set_new(obj, key, json_string(iso)) != 0)
        return Ccai_sqlite_fail_nomem(st, op);
    return CCAI_OK;
}

/* When a call has no rows, say whether the call itself exists. */
static CCAI_MUST_CHECK ccai_status call_exists(Ccai_sqlite *st, const char *id, const char *op)
{
    sqlite3_stmt *s = NULL;
    ccai_status status = Ccai_sqlite_stmt_get(st, STMT_CALL_VERSION, &s);
    if (status != CCAI_OK)
        return status;
    int rc = Ccai_sqlite_bind_text(s, 1, id) ? SQLITE_ERROR : sqlite3_step(s);
    if (rc == SQLITE_DONE)
        status = Ccai_sqlite_fail(st, CCAI_ERR_NOT_FOUND, "store: %s: no call %s", op, id);
    else if (rc != SQLITE_ROW)
        status = Ccai_sqlite_db_fail(st, op);
    Ccai_sqlite_stmt_done(s);
    return status;
}

static CCAI_MUST_CHECK ccai_status message_to_json(Ccai_sqlite *st, sqlite3_stmt *s, json_t **ret)
{
    static const char op[] = "read messages";
    json_t *o = json_object();
    if (!o)
        return Ccai_sqlite_fail_nomem(st, op);
    ccai_status status = CCAI_OK;
    if (json_object_set_new(o, "seq", json_integer(sqlite3_column_int64(s, 0))) != 0) {
        status = Ccai_sqlite_fail_nomem(st, op);
        goto cleanup;
    }
    if ((status = json_set_time(st, o, "created_at", s, 1, op)) != CCAI_OK ||
        (status = json_set_col(st, o, "persona", s, 2, op)) != CCAI_OK ||
        (status = json_set_col(st, o, "action", s, 3, op)) != CCAI_OK ||
        (status = json_set_col(st, o, "style", s, 4, op)) != CCAI_OK ||
        (status = json_set_col(st, o, "content", s, 5, op)) != CCAI_OK ||
        (status = json_set_col(st, o, "lang", s, 6, op)) != CCAI_OK)
        goto cleanup;
    if (sqlite3_column_type(s, 7) != SQLITE_NULL) {
        const char *text = (const char *)sqlite3_column_text(s, 7);
        Ccai_json_err jerr;
        ccai_status pst = CCAI_ERR_NOMEM;
        json_t *calls = text ? Ccai_json_load(text, strlen(text), &jerr, &pst) : NULL;
        if (!calls) {
            if (text && pst == CCAI_ERR_PARSE)
                status = Ccai_sqlite_fail(st, CCAI_ERR_STORE,
                                          "store: %s: tool_calls of message %lld: %s", op,
                                          (long long)sqlite3_column_int64(s, 0), jerr.text);
            else
                status = Ccai_sqlite_fail_nomem(st, op);
            goto cleanup;
        }
        if (json_object_set_new(o, "tool_calls", calls) != 0) {
            status = Ccai_sqlite_fail_nomem(st, op);
            goto cleanup;
        }
    }
    status = json_set_col(st, o, "engine", s, 8, op);

cleanup:
    if (status != CCAI_OK) {
        json_decref(o);
        return status;
    }
    *ret = o;
    return CCAI_OK;
}

typedef ccai_status (*row_to_json_fn)(Ccai_sqlite *st, sqlite3_stmt *s, json_t **ret);

/* The rows of statement id for call_id, each converted by to_json, as an
 * array; NOT_FOUND when there are none and the call does not exist. */
/* limit: bound to ?2 when >= 0. */
static CCAI_MUST_CHECK ccai_status call_rows_json(Ccai_sqlite *st, enum Ccai_sqlite_stmt_id id,
                                                  row_to_json_fn to_json, const char *op,
                                                  const char *call_id, int64_t limit, json_t **ret)
{
    if (!st || !call_id || !ret)
        return CCAI_ERR_INVALID_ARG;
    sqlite3_stmt *s = NULL;
    ccai_status status = Ccai_sqlite_stmt_get(st, id, &s);
    if (status != CCAI_OK)
        return status;
    json_t *arr = json_array();
    if (!arr) {
        status = Ccai_sqlite_fail_nomem(st, op);
        goto cleanup;
    }
    if (Ccai_sqlite_bind_text(s, 1, call_id) || (limit >= 0 && Ccai_sqlite_bind_int(s, 2, limit))) {
        status = Ccai_sqlite_db_fail(st, op);
        goto cleanup;
    }
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        json_t *o = NULL;
        status = to_json(st, s, &o);
        if (status != CCAI_OK)
            goto cleanup;
        if (json_array_append_new(arr, o) != 0) {
            status = Ccai_sqlite_fail_nomem(st, op);
            goto cleanup;
        }
    }
    if (rc != SQLITE_DONE) {
        status = Ccai_sqlite_db_fail(st, op);
        goto cleanup;
    }
    Ccai_sqlite_stmt_done(s);
    s = NULL;
    if (json_array_size(arr) == 0)
        status = call_exists(st, call_id, op);

cleanup:
    Ccai_sqlite_stmt_done(s);
    if (status != CCAI_OK) {
        json_decref(arr);
        return status;
    }
    *ret = arr;
    return CCAI_OK;
}

CCAI_MUST_CHECK ccai_status Ccai_sqlite_messages_json(Ccai_store *store, const char *call_id,
                                                      json_t **ret)
{
    Ccai_sqlite *st = Ccai_sqlite_of(store);
    return call_rows_json(st, STMT_MESSAGES, message_to_json, "read messages", call_id, -1, ret);
}

/* A text column as a borrowed string (NULL stays NULL); false when SQLite
 * is out of memory or the text is not valid UTF-8 (*bad set). */
static bool borrow_col(sqlite3_stmt *s, int i, const char **out, bool *bad)
{
    *out = NULL;
    if (sqlite3_column_type(s, i) == SQLITE_NULL)
        return true;
    *out = (const char *)sqlite3_column_text(s, i);
    if (!*out)
        return false;
    *bad = !Ccai_sqlite_utf8_valid(*out);
    return !*bad;
}

ccai_status Ccai_sqlite_messages_newest(Ccai_store *store, const char *call_id, int64_t limit,
                                        int64_t max_seq, Ccai_store_message_fn fn, void *ud)
{
    static const char op[] = "read messages";
    Ccai_sqlite *st = Ccai_sqlite_of(store);
    if (!call_id || !fn || limit < 0)
        return CCAI_ERR_INVALID_ARG;
    sqlite3_stmt *s = NULL;
    ccai_status status = Ccai_sqlite_stmt_get(st, STMT_MESSAGES_NEWEST, &s);
    if (status != CCAI_OK)
        return status;
    if (Ccai_sqlite_bind_text(s, 1, call_id) || Ccai_sqlite_bind_int(s, 2, limit) ||
        Ccai_sqlite_bind_int(s, 3, max_seq >= 0 ? max_seq : INT64_MAX)) {
        status = Ccai_sqlite_db_fail(st, op);
        goto cleanup;
    }
    int rc;
    size_t rows = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        Ccai_store_message m = {
            .seq = sqlite3_column_int64(s, 0),
            .created_at = sqlite3_column_int64(s, 1),
        };
        bool bad = false;
        if (!borrow_col(s, 2, &m.persona, &bad) || !borrow_col(s, 3, &m.action, &bad) ||
            !borrow_col(s, 4, &m.style, &bad) || !borrow_col(s, 5, &m.content, &bad) ||
            !borrow_col(s, 6, &m.lang, &bad) || !borrow_col(s, 7, &m.tool_calls_json, &bad) ||
            !borrow_col(s, 8, &m.engine, &bad)) {
            status = bad ? Ccai_sqlite_fail(st, CCAI_ERR_STORE,
                                            "store: %s: message %lld is not valid UTF-8", op,
                                            (long long)m.seq)
                         : Ccai_sqlite_fail_nomem(st, op);
            goto cleanup;
        }
        rows++;
        if (fn(&m, ud))
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        status = Ccai_sqlite_db_fail(st, op);
        goto cleanup;
    }
    Ccai_sqlite_stmt_done(s);
    s = NULL;
    if (rows == 0)
        status = call_exists(st, call_id, op);

cleanup:
    Ccai_sqlite_stmt_done(s);
    return status;
}

/* Remove one message (the caller's words a content filter refused: keeping
 * them would make every later request fail the same way). */
CCAI_MUST_CHECK ccai_status Ccai_sqlite_message_delete(Ccai_store *store, const char *call_id,
                                                       int64_t seq)
{
    Ccai_sqlite *st = Ccai_sqlite_of(store);
    if (!st || !call_id)
        return CCAI_ERR_INVALID_ARG;
    ccai_status enter = Ccai_sqlite_group_enter(st, call_id, "delete message");
    if (enter != CCAI_OK)
        return enter;
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db, "DELETE FROM messages WHERE call_id = ? AND seq = ?", -1, &s,
                           NULL) != SQLITE_OK)
        return Ccai_sqlite_db_fail(st, "delete message");
    ccai_status status = CCAI_OK;
    if (Ccai_sqlite_bind_text(s, 1, call_id) || Ccai_sqlite_bind_int(s, 2, seq) ||
        sqlite3_step(s) != SQLITE_DONE)
        status = Ccai_sqlite_db_fail(st, "delete message");
    else if (sqlite3_changes(st->db) == 0)
        status = Ccai_sqlite_fail(st, CCAI_ERR_NOT_FOUND,
                                  "store: delete message: no message %lld in call %s",
                                  (long long)seq, call_id);
    sqlite3_finalize(s);
    return status;
}

/* Replace one message's words in place (what the caller heard of the bot's
 * sentence after a barge-in): its seq keeps its place in the history. */
CCAI_MUST_CHECK ccai_status Ccai_sqlite_message_set_content(Ccai_store *store, const char *call_id,
                                                            int64_t seq, const char *content)
{
    Ccai_sqlite *st = Ccai_sqlite_of(store);
    if (!st || !call_id || !content)
        return CCAI_ERR_INVALID_ARG;
    ccai_status enter = Ccai_sqlite_group_enter(st, call_id, "set message content");
    if (enter != CCAI_OK)
        return enter;
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db, "UPDATE messages SET content = ? WHERE call_id = ? AND seq = ?",
                           -1, &s, NULL) != SQLITE_OK)
        return Ccai_sqlite_db_fail(st, "set message content");
    ccai_status status = CCAI_OK;
    if (Ccai_sqlite_bind_text(s, 1, content) || Ccai_sqlite_bind_text(s, 2, call_id) ||
        Ccai_sqlite_bind_int(s, 3, seq) || sqlite3_step(s) != SQLITE_DONE)
        status = Ccai_sqlite_db_fail(st, "set message content");
    else if (sqlite3_changes(st->db) == 0)
        status = Ccai_sqlite_fail(st, CCAI_ERR_NOT_FOUND,
                                  "store: set message content: no message %lld in call %s",
                                  (long long)seq, call_id);
    sqlite3_finalize(s);
    return status;
}

/* Reminders -------------------------------------------------------------- */

static CCAI_MUST_CHECK ccai_status reminder_upsert_locked(Ccai_sqlite *st, const char *call_id,
                                                          const char *title,
                                                          const char *description, int64_t due_at,
                                                          const char *owner, bool *ret_created)
{
    static const char op[] = "upsert reminder";
    sqlite3_stmt *ex = NULL, *w = NULL;
    ccai_status status = Ccai_sqlite_stmt_get(st, STMT_REMINDER_EXISTS, &ex);
    if (status != CCAI_OK)
        return status;
    int rc = Ccai_sqlite_bind_text(ex, 1, call_id) || Ccai_sqlite_bind_text(ex, 2, title)
                 ? SQLITE_ERROR
                 : sqlite3_step(ex);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        status = Ccai_sqlite_db_fail(st, op);
        goto cleanup;
    }
    bool created = rc == SQLITE_DONE;
    status = Ccai_sqlite_stmt_get(st, created ? STMT_REMINDER_INSERT : STMT_REMINDER_UPDATE, &w);
    if (status != CCAI_OK)
        goto cleanup;
    if (Ccai_sqlite_bind_text(w, 1, call_id) || Ccai_sqlite_bind_text(w, 2, title) ||
        Ccai_sqlite_bind_text(w, 3, description) ||
        (due_at > 0 ? Ccai_sqlite_bind_int(w, 4, due_at) : sqlite3_bind_null(w, 4)) ||
        Ccai_sqlite_bind_text(w, 5, owner) || Ccai_sqlite_bind_int(w, 6, Ccai_wall_ms()) ||
        sqlite3_step(w) != SQLITE_DONE) {
        status = Ccai_sqlite_db_fail(st, op);
        if (status == CCAI_ERR_NOT_FOUND)
            status = Ccai_sqlite_fail(st, status, "store: %s: no call %s", op, call_id);
        goto cleanup;
    }
    *ret_created = created;

cleanup:
    Ccai_sqlite_stmt_done(ex);
    Ccai_sqlite_stmt_done(w);
    return status;
}

CCAI_MUST_CHECK ccai_status Ccai_sqlite_reminder_upsert(Ccai_store *store, const char *call_id,
                                                        const char *title, const char *description,
                                                        int64_t due_at, const char *owner,
                                                        bool *ret_created)
{
    Ccai_sqlite *st = Ccai_sqlite_of(store);
    static const char op[] = "upsert reminder";
    if (!st || !call_id || !title)
        return CCAI_ERR_INVALID_ARG;
    if (!Ccai_sqlite_utf8_ok(title) || !Ccai_sqlite_utf8_ok(description) ||
        !Ccai_sqlite_utf8_ok(owner))
        return Ccai_sqlite_fail(st, CCAI_ERR_INVALID_ARG, "store: %s: text is not valid UTF-8", op);
    ccai_status status = Ccai_sqlite_op_begin_call(st, call_id, op);
    if (status != CCAI_OK)
        return status;
    bool created = false;
    status = Ccai_sqlite_op_end(
        st, op, reminder_upsert_locked(st, call_id, title, description, due_at, owner, &created));
    if (status == CCAI_OK && ret_created)
        *ret_created = created;
    return status;
}

static CCAI_MUST_CHECK ccai_status reminder_to_json(Ccai_sqlite *st, sqlite3_stmt *s, json_t **ret)
{
    static const char op[] = "read reminders";
    json_t *o = json_object();
    if (!o)
        return Ccai_sqlite_fail_nomem(st, op);
    ccai_status status;
    if ((status = json_set_col(st, o, "title", s, 0, op)) != CCAI_OK ||
        (status = json_set_col(st, o, "description", s, 1, op)) != CCAI_OK ||
        (status = json_set_time(st, o, "due_date_time", s, 2, op)) != CCAI_OK ||
        (status = json_set_col(st, o, "owner", s, 3, op)) != CCAI_OK ||
        (status = json_set_time(st, o, "created_at", s, 4, op)) != CCAI_OK ||
        (status = json_set_time(st, o, "updated_at", s, 5, op)) != CCAI_OK) {
        json_decref(o);
        return status;
    }
    *ret = o;
    return CCAI_OK;
}

CCAI_MUST_CHECK ccai_status Ccai_sqlite_reminders_json(Ccai_store *store, const char *call_id,
                                                       json_t **ret)
{
    Ccai_sqlite *st = Ccai_sqlite_of(store);
    return call_rows_json(st, STMT_REMINDERS, reminder_to_json, "read reminders", call_id, -1, ret);
}
