/* The PostgreSQL backend: the rows (calls, messages, reminders, jobs), as
 * their SQLite counterparts (store/sqlite_calls.c, sqlite_messages.c,
 * sqlite_jobs.c) with the same statuses and texts. */
#include "store/pg_private.h"

#include "core/json.h"

#include <stdio.h>
#include <string.h>

#define STORE_LIST_MAX 1000

/* Calls ------------------------------------------------------------------ */

static const char *direction_str(ccai_direction d)
{
    switch (d) {
    case CCAI_INBOUND: return "inbound";
    case CCAI_OUTBOUND: return "outbound";
    }
    return NULL;
}

static CCAI_MUST_CHECK bool call_valid(const Ccai_store_call *c)
{
    return memchr(c->id, '\0', sizeof c->id) && direction_str(c->direction) && c->phone_number &&
           c->channel && c->state && c->initiate_json && c->callback_secret;
}

/* $2..$12: direction .. synthesis. */
static void bind_call_columns(Ccai_pg_params *p, const Ccai_store_call *c)
{
    Ccai_pg_text(p, direction_str(c->direction));
    Ccai_pg_text(p, c->phone_number);
    Ccai_pg_text(p, c->bot_phone_number);
    Ccai_pg_text(p, c->channel);
    Ccai_pg_text(p, c->provider_call_id);
    Ccai_pg_text(p, c->state);
    Ccai_pg_text(p, c->lang);
    Ccai_pg_text(p, c->initiate_json);
    Ccai_pg_text(p, c->claim_json ? c->claim_json : "{}");
    Ccai_pg_text(p, c->next_json);
    Ccai_pg_text(p, c->synthesis_json);
}

/* Row row of r, whose call columns start at column b, into a new struct. */
static CCAI_MUST_CHECK ccai_status read_call(Ccai_pg *st, const PGresult *r, int row, int b,
                                             Ccai_store_call **ret)
{
    if (PQnfields(r) < b + PG_CALL_NCOLS)
        return Ccai_pg_fail(st, CCAI_ERR_STORE, "store: read call: %d columns", PQnfields(r));
    const char *id = PQgetvalue(r, row, b);
    if ((size_t)PQgetlength(r, row, b) >= sizeof((Ccai_store_call *)0)->id)
        return Ccai_pg_fail(st, CCAI_ERR_STORE, "store: read call: id \"%s\" is too long", id);
    Ccai_store_call *c = Ccai_calloc(1, sizeof *c);
    if (!c)
        return Ccai_pg_fail_nomem(st, "read call");
    memcpy(c->id, id, (size_t)PQgetlength(r, row, b));
    c->direction =
        strcmp(PQgetvalue(r, row, b + 1), "outbound") == 0 ? CCAI_OUTBOUND : CCAI_INBOUND;
    if (!Ccai_pg_dup(r, row, b + 2, &c->phone_number) ||
        !Ccai_pg_dup(r, row, b + 3, &c->bot_phone_number) ||
        !Ccai_pg_dup(r, row, b + 4, &c->channel) ||
        !Ccai_pg_dup(r, row, b + 5, &c->provider_call_id) ||
        !Ccai_pg_dup(r, row, b + 6, &c->state) || !Ccai_pg_dup(r, row, b + 7, &c->lang) ||
        !Ccai_pg_dup_json(r, row, b + 8, &c->initiate_json) ||
        !Ccai_pg_dup_json(r, row, b + 9, &c->claim_json) ||
        !Ccai_pg_dup_json(r, row, b + 10, &c->next_json) ||
        !Ccai_pg_dup_json(r, row, b + 11, &c->synthesis_json) ||
        !Ccai_pg_dup(r, row, b + 12, &c->recording_url) ||
        !Ccai_pg_dup(r, row, b + 13, &c->callback_secret) ||
        !Ccai_pg_dup(r, row, b + 17, &c->correlation_id) ||
        !Ccai_pg_dup(r, row, b + 18, &c->end_reason) ||
        !Ccai_pg_dup(r, row, b + 19, &c->recording_id)) {
        Ccai_store_call_free(c);
        return Ccai_pg_fail_nomem(st, "read call");
    }
    c->created_at = Ccai_pg_int64(r, row, b + 14);
    c->updated_at = Ccai_pg_int64(r, row, b + 15);
    c->row_version = Ccai_pg_int64(r, row, b + 16);
    c->recording_duration_ms = Ccai_pg_int64(r, row, b + 20);
    *ret = c;
    return CCAI_OK;
}

CCAI_MUST_CHECK ccai_status Ccai_pg_call_insert(Ccai_store *store, Ccai_store_call *c)
{
    Ccai_pg *st = Ccai_pg_of(store);
    if (!st || !c || !call_valid(c))
        return CCAI_ERR_INVALID_ARG;
    char id[sizeof c->id];
    memcpy(id, c->id, sizeof id);
    if (!id[0] && !Ccai_uuid4(id))
        return Ccai_pg_fail(st, CCAI_ERR_STORE, "store: insert call: no random source for an id");
    int64_t created = c->created_at ? c->created_at : Ccai_wall_ms();
    int64_t updated = c->updated_at ? c->updated_at : created;
    Ccai_pg_params p = {0};
    Ccai_pg_text(&p, id);
    bind_call_columns(&p, c);
    Ccai_pg_text(&p, c->recording_url);
    Ccai_pg_text(&p, c->callback_secret);
    Ccai_pg_int(&p, created);
    Ccai_pg_int(&p, updated);
    Ccai_pg_text(&p, c->correlation_id);
    Ccai_pg_text(&p, c->end_reason);
    Ccai_pg_text(&p, c->recording_id);
    if (c->recording_duration_ms > 0)
        Ccai_pg_int(&p, c->recording_duration_ms);
    else
        Ccai_pg_text(&p, NULL);
    /* Pipelined: a second call of the same id fails the group (CONFLICT). */
    ccai_status status = Ccai_pg_pipelined(st)
                             ? Ccai_pg_write(st, id, "insert call", PG_CALL_INSERT, &p)
                             : Ccai_pg_run(st, "insert call", PG_CALL_INSERT, &p, NULL);
    if (status == CCAI_ERR_CONFLICT)
        return Ccai_pg_fail(st, status, "store: insert call: call %s already exists", id);
    if (status != CCAI_OK)
        return status;
    memcpy(c->id, id, sizeof id);
    c->created_at = created;
    c->updated_at = updated;
    c->row_version = 1;
    return CCAI_OK;
}

/* The answer of a CALL_WRITE statement: the rows changed, the version
 * stored. */
static CCAI_MUST_CHECK ccai_status call_write(Ccai_pg *st, enum Ccai_pg_stmt_id id,
                                              const Ccai_pg_params *p, Ccai_store_call *c,
                                              int64_t now, const char *op)
{
    /* Pipelined: the version the update makes, as the server will; a
     * stale or missing row fails the group instead (CC409, CC404). A touch
     * waits for its answer: it is how the engine's heartbeat learns that
     * another writer changed the call (engine/call.c, Ccai_call_touch). */
    if (id == PG_CALL_UPDATE && Ccai_pg_pipelined(st)) {
        ccai_status status = Ccai_pg_write(st, c->id, op, PG_CALL_UPDATE_PIPE, p);
        if (status == CCAI_OK) {
            c->row_version++;
            c->updated_at = now;
        }
        return status;
    }
    PGresult *r = NULL;
    ccai_status status = Ccai_pg_run(st, op, id, p, &r);
    if (status != CCAI_OK)
        return status;
    if (Ccai_pg_int64(r, 0, 0) == 1) {
        c->row_version++;
        c->updated_at = now;
    } else if (!PQgetisnull(r, 0, 1)) {
        status = Ccai_pg_fail(st, CCAI_ERR_CONFLICT,
                              "store: call %s was changed by another writer (row version %lld, "
                              "expected %lld)",
                              c->id, (long long)Ccai_pg_int64(r, 0, 1), (long long)c->row_version);
    } else {
        status = Ccai_pg_fail(st, CCAI_ERR_NOT_FOUND, "store: %s: no call %s", op, c->id);
    }
    PQclear(r);
    return status;
}

CCAI_MUST_CHECK ccai_status Ccai_pg_call_update(Ccai_store *store, Ccai_store_call *c)
{
    Ccai_pg *st = Ccai_pg_of(store);
    if (!st || !c || !call_valid(c) || !c->id[0])
        return CCAI_ERR_INVALID_ARG;
    int64_t now = Ccai_wall_ms();
    Ccai_pg_params p = {0};
    Ccai_pg_text(&p, c->id);
    bind_call_columns(&p, c);
    Ccai_pg_text(&p, c->callback_secret);
    Ccai_pg_int(&p, now);
    Ccai_pg_int(&p, c->row_version);
    Ccai_pg_text(&p, c->correlation_id);
    Ccai_pg_text(&p, c->end_reason);
    return call_write(st, PG_CALL_UPDATE, &p, c, now, "update call");
}

CCAI_MUST_CHECK ccai_status Ccai_pg_call_touch(Ccai_store *store, Ccai_store_call *c)
{
    Ccai_pg *st = Ccai_pg_of(store);
    if (!st || !c || !c->id[0])
        return CCAI_ERR_INVALID_ARG;
    int64_t now = Ccai_wall_ms();
    Ccai_pg_params p = {0};
    Ccai_pg_text(&p, c->id);
    Ccai_pg_int(&p, now);
    Ccai_pg_int(&p, c->row_version);
    return call_write(st, PG_CALL_TOUCH, &p, c, now, "touch call");
}

/* At most one call: NOT_FOUND when none. */
static CCAI_MUST_CHECK ccai_status call_fetch_one(Ccai_pg *st, enum Ccai_pg_stmt_id id,
                                                  const Ccai_pg_params *p, const char *op,
                                                  Ccai_store_call **ret)
{
    PGresult *r = NULL;
    ccai_status status = Ccai_pg_run(st, op, id, p, &r);
    if (status != CCAI_OK)
        return status;
    status = PQntuples(r) == 0 ? CCAI_ERR_NOT_FOUND : read_call(st, r, 0, 0, ret);
    PQclear(r);
    return status;
}

CCAI_MUST_CHECK ccai_status Ccai_pg_call_get(Ccai_store *store, const char *id,
                                             Ccai_store_call **ret)
{
    Ccai_pg *st = Ccai_pg_of(store);
    if (!st || !id || !ret)
        return CCAI_ERR_INVALID_ARG;
    Ccai_pg_params p = {0};
    Ccai_pg_text(&p, id);
    ccai_status status = call_fetch_one(st, PG_CALL_GET, &p, "get call", ret);
    if (status == CCAI_ERR_NOT_FOUND)
        status = Ccai_pg_fail(st, status, "store: get call: no call %s", id);
    return status;
}

CCAI_MUST_CHECK ccai_status Ccai_pg_call_find_latest(Ccai_store *store, const char *phone,
                                                     int64_t since_ms, Ccai_store_call **ret)
{
    Ccai_pg *st = Ccai_pg_of(store);
    if (!st || !phone || !ret)
        return CCAI_ERR_INVALID_ARG;
    Ccai_pg_params p = {0};
    Ccai_pg_text(&p, phone);
    Ccai_pg_int(&p, since_ms > 0 ? since_ms : INT64_MIN);
    ccai_status status = call_fetch_one(st, PG_CALL_FIND_LATEST, &p, "find latest call", ret);
    if (status == CCAI_ERR_NOT_FOUND)
        status = Ccai_pg_fail(st, status, "store: find latest call: no call for %s", phone);
    return status;
}

CCAI_MUST_CHECK ccai_status Ccai_pg_call_find_provider(Ccai_store *store, const char *channel,
                                                       const char *provider_call_id,
                                                       Ccai_store_call **ret)
{
    Ccai_pg *st = Ccai_pg_of(store);
    if (!st || !channel || !provider_call_id || !ret)
        return CCAI_ERR_INVALID_ARG;
    Ccai_pg_params p = {0};
    Ccai_pg_text(&p, provider_call_id);
    Ccai_pg_text(&p, channel);
    ccai_status status =
        call_fetch_one(st, PG_CALL_FIND_PROVIDER, &p, "find call by provider id", ret);
    if (status == CCAI_ERR_NOT_FOUND)
        status = Ccai_pg_fail(st, status, "store: no %s call with provider id %s", channel,
                              provider_call_id);
    return status;
}

CCAI_MUST_CHECK ccai_status Ccai_pg_call_find_correlation(Ccai_store *store, const char *channel,
                                                          const char *correlation_id,
                                                          Ccai_store_call **ret)
{
    Ccai_pg *st = Ccai_pg_of(store);
    if (!st || !channel || !correlation_id || !ret)
        return CCAI_ERR_INVALID_ARG;
    Ccai_pg_params p = {0};
    Ccai_pg_text(&p, correlation_id);
    Ccai_pg_text(&p, channel);
    ccai_status status =
        call_fetch_one(st, PG_CALL_FIND_CORRELATION, &p, "find call by correlation id", ret);
    if (status == CCAI_ERR_NOT_FOUND)
        status = Ccai_pg_fail(st, status, "store: no %s call with correlation id %s", channel,
                              correlation_id);
    return status;
}

/* Run a write of one row; NOT_FOUND (with text) when it changed none. */
static CCAI_MUST_CHECK ccai_status write_one(Ccai_pg *st, enum Ccai_pg_stmt_id id,
                                             const Ccai_pg_params *p, const char *op,
                                             const char *what)
{
    PGresult *r = NULL;
    ccai_status status = Ccai_pg_run(st, op, id, p, &r);
    if (status != CCAI_OK)
        return status;
    if (strcmp(PQcmdTuples(r), "0") == 0)
        status = Ccai_pg_fail(st, CCAI_ERR_NOT_FOUND, "store: %s: no %s", op, what);
    PQclear(r);
    return status;
}

CCAI_MUST_CHECK ccai_status Ccai_pg_call_set_recording(Ccai_store *store, const char *id,
                                                       const char *url, const char *recording_id,
                                                       int64_t duration_ms)
{
    Ccai_pg *st = Ccai_pg_of(store);
    if (!st || !id || (!url && !recording_id && duration_ms <= 0))
        return CCAI_ERR_INVALID_ARG;
    Ccai_pg_params p = {0};
    Ccai_pg_text(&p, id);
    Ccai_pg_text(&p, url);
    Ccai_pg_text(&p, recording_id);
    if (duration_ms > 0)
        Ccai_pg_int(&p, duration_ms);
    else
        Ccai_pg_text(&p, NULL);
    char what[64];
    snprintf(what, sizeof what, "call %s", id);
    ccai_status status = write_one(st, PG_CALL_SET_RECORDING, &p, "set recording", what);
    if (status == CCAI_ERR_INVALID_ARG)
        status = Ccai_pg_fail(st, status, "store: set recording: text is not valid UTF-8");
    return status;
}

/* Every call of r (columns from b) into a new array. */
static CCAI_MUST_CHECK ccai_status read_calls(Ccai_pg *st, const PGresult *r, int b,
                                              Ccai_store_call ***ret, size_t *ret_n)
{
    int rows = PQntuples(r);
    size_t n = 0;
    Ccai_store_call **calls = NULL;
    if (rows > 0 && !(calls = Ccai_calloc((size_t)rows, sizeof *calls)))
        return Ccai_pg_fail_nomem(st, "read calls");
    for (int i = 0; i < rows; i++) {
        if (PQgetisnull(r, i, b))
            continue; /* the empty page of a list */
        ccai_status status = read_call(st, r, i, b, &calls[n]);
        if (status != CCAI_OK) {
            Ccai_store_call_list_free(calls, n);
            return status;
        }
        n++;
    }
    *ret = calls;
    *ret_n = n;
    return CCAI_OK;
}

CCAI_MUST_CHECK ccai_status Ccai_pg_calls_stale(Ccai_store *store, int64_t before_ms, size_t limit,
                                                Ccai_store_call ***ret_calls, size_t *ret_n)
{
    Ccai_pg *st = Ccai_pg_of(store);
    if (!st || !ret_calls || !ret_n)
        return CCAI_ERR_INVALID_ARG;
    if (limit > STORE_LIST_MAX)
        limit = STORE_LIST_MAX;
    Ccai_pg_params p = {0};
    Ccai_pg_int(&p, before_ms);
    Ccai_pg_int(&p, (int64_t)limit);
    PGresult *r = NULL;
    ccai_status status = Ccai_pg_run(st, "stale calls", PG_CALL_STALE, &p, &r);
    if (status != CCAI_OK)
        return status;
    status = read_calls(st, r, 0, ret_calls, ret_n);
    PQclear(r);
    return status;
}

CCAI_MUST_CHECK ccai_status Ccai_pg_call_list(Ccai_store *store, const char *phone, size_t limit,
                                              size_t offset, Ccai_store_call ***ret_calls,
                                              size_t *ret_n, size_t *ret_total)
{
    Ccai_pg *st = Ccai_pg_of(store);
    if (!st || !ret_calls || !ret_n || !ret_total)
        return CCAI_ERR_INVALID_ARG;
    if (limit > STORE_LIST_MAX)
        limit = STORE_LIST_MAX;
    if (offset > INT64_MAX)
        offset = INT64_MAX;
    Ccai_pg_params p = {0};
    Ccai_pg_text(&p, phone);
    Ccai_pg_int(&p, (int64_t)limit);
    Ccai_pg_int(&p, (int64_t)offset);
    PGresult *r = NULL;
    ccai_status status =
        Ccai_pg_run(st, "list calls", phone ? PG_CALL_LIST_PHONE : PG_CALL_LIST_ALL, &p, &r);
    if (status != CCAI_OK)
        return status;
    size_t total = PQntuples(r) > 0 ? (size_t)Ccai_pg_int64(r, 0, 0) : 0;
    Ccai_store_call **calls = NULL;
    size_t n = 0;
    status = read_calls(st, r, 1, &calls, &n);
    PQclear(r);
    if (status != CCAI_OK)
        return status;
    *ret_calls = calls;
    *ret_n = n;
    *ret_total = total;
    return CCAI_OK;
}

/* Messages --------------------------------------------------------------- */

CCAI_MUST_CHECK ccai_status Ccai_pg_message_append(Ccai_store *store, const char *call_id,
                                                   const Ccai_store_message *m, int64_t *ret_seq)
{
    Ccai_pg *st = Ccai_pg_of(store);
    if (!st || !call_id || !m || !m->persona || !m->action || !m->style || !m->content)
        return CCAI_ERR_INVALID_ARG;
    Ccai_pg_params p = {0};
    Ccai_pg_text(&p, call_id);
    Ccai_pg_int(&p, m->created_at ? m->created_at : Ccai_wall_ms());
    Ccai_pg_text(&p, m->persona);
    Ccai_pg_text(&p, m->action);
    Ccai_pg_text(&p, m->style);
    Ccai_pg_text(&p, m->content);
    Ccai_pg_text(&p, m->lang);
    Ccai_pg_text(&p, m->tool_calls_json);
    Ccai_pg_text(&p, m->engine);
    /* Pipelined when the caller needs no seq: the server numbers the
     * messages in the order it applies the writes, which is the order they
     * were sent. */
    if (!ret_seq && Ccai_pg_pipelined(st))
        return Ccai_pg_write(st, call_id, "append message", PG_MESSAGE_APPEND, &p);
    PGresult *r = NULL;
    ccai_status status = Ccai_pg_run(st, "append message", PG_MESSAGE_APPEND, &p, &r);
    if (status == CCAI_ERR_NOT_FOUND)
        return Ccai_pg_fail(st, status, "store: append message: no call %s", call_id);
    if (status != CCAI_OK)
        return status;
    if (ret_seq)
        *ret_seq = Ccai_pg_int64(r, 0, 0);
    PQclear(r);
    return CCAI_OK;
}

/* When a call has no rows, say whether the call itself exists. */
static CCAI_MUST_CHECK ccai_status call_exists(Ccai_pg *st, const char *id, const char *op)
{
    Ccai_pg_params p = {0};
    Ccai_pg_text(&p, id);
    PGresult *r = NULL;
    ccai_status status = Ccai_pg_run(st, op, PG_CALL_EXISTS, &p, &r);
    if (status != CCAI_OK)
        return status;
    if (PQntuples(r) == 0)
        status = Ccai_pg_fail(st, CCAI_ERR_NOT_FOUND, "store: %s: no call %s", op, id);
    PQclear(r);
    return status;
}

/* Set key to a text column; NULL is omitted. */
static CCAI_MUST_CHECK bool json_set_col(json_t *obj, const char *key, const PGresult *r, int row,
                                         int col)
{
    return PQgetisnull(r, row, col) ||
           json_object_set_new(obj, key, json_string(PQgetvalue(r, row, col))) == 0;
}

static CCAI_MUST_CHECK bool json_set_time(json_t *obj, const char *key, const PGresult *r, int row,
                                          int col)
{
    if (PQgetisnull(r, row, col))
        return true;
    char iso[32];
    Ccai_format_iso8601(Ccai_pg_int64(r, row, col), iso, sizeof iso);
    return json_object_set_new(obj, key, json_string(iso)) == 0;
}

static CCAI_MUST_CHECK ccai_status message_to_json(Ccai_pg *st, const PGresult *r, int row,
                                                   json_t **ret)
{
    static const char op[] = "read messages";
    json_t *o = json_object();
    if (!o || json_object_set_new(o, "seq", json_integer(Ccai_pg_int64(r, row, 0))) != 0 ||
        !json_set_time(o, "created_at", r, row, 1) || !json_set_col(o, "persona", r, row, 2) ||
        !json_set_col(o, "action", r, row, 3) || !json_set_col(o, "style", r, row, 4) ||
        !json_set_col(o, "content", r, row, 5) || !json_set_col(o, "lang", r, row, 6)) {
        json_decref(o);
        return Ccai_pg_fail_nomem(st, op);
    }
    if (!PQgetisnull(r, row, 7)) {
        const char *text = PQgetvalue(r, row, 7);
        Ccai_json_err jerr;
        ccai_status pst = CCAI_ERR_NOMEM;
        json_t *calls = Ccai_json_load(text, (size_t)PQgetlength(r, row, 7), &jerr, &pst);
        if (!calls || json_object_set_new(o, "tool_calls", calls) != 0) {
            json_decref(o);
            if (pst == CCAI_ERR_PARSE)
                return Ccai_pg_fail(st, CCAI_ERR_STORE, "store: %s: tool_calls of message %lld: %s",
                                    op, (long long)Ccai_pg_int64(r, row, 0), jerr.text);
            return Ccai_pg_fail_nomem(st, op);
        }
    }
    if (!json_set_col(o, "engine", r, row, 8)) {
        json_decref(o);
        return Ccai_pg_fail_nomem(st, op);
    }
    *ret = o;
    return CCAI_OK;
}

static CCAI_MUST_CHECK ccai_status reminder_to_json(Ccai_pg *st, const PGresult *r, int row,
                                                    json_t **ret)
{
    json_t *o = json_object();
    if (!o || !json_set_col(o, "title", r, row, 0) || !json_set_col(o, "description", r, row, 1) ||
        !json_set_time(o, "due_date_time", r, row, 2) || !json_set_col(o, "owner", r, row, 3) ||
        !json_set_time(o, "created_at", r, row, 4) || !json_set_time(o, "updated_at", r, row, 5)) {
        json_decref(o);
        return Ccai_pg_fail_nomem(st, "read reminders");
    }
    *ret = o;
    return CCAI_OK;
}

typedef ccai_status (*row_to_json_fn)(Ccai_pg *st, const PGresult *r, int row, json_t **ret);

/* The rows of statement id for call_id as an array; NOT_FOUND when there
 * are none and the call does not exist. */
static CCAI_MUST_CHECK ccai_status call_rows_json(Ccai_pg *st, enum Ccai_pg_stmt_id id,
                                                  row_to_json_fn to_json, const char *op,
                                                  const char *call_id, json_t **ret)
{
    if (!st || !call_id || !ret)
        return CCAI_ERR_INVALID_ARG;
    Ccai_pg_params p = {0};
    Ccai_pg_text(&p, call_id);
    PGresult *r = NULL;
    ccai_status status = Ccai_pg_run(st, op, id, &p, &r);
    if (status != CCAI_OK)
        return status;
    json_t *arr = json_array();
    if (!arr)
        status = Ccai_pg_fail_nomem(st, op);
    for (int i = 0; status == CCAI_OK && i < PQntuples(r); i++) {
        json_t *o = NULL;
        status = to_json(st, r, i, &o);
        if (status == CCAI_OK && json_array_append_new(arr, o) != 0)
            status = Ccai_pg_fail_nomem(st, op);
    }
    PQclear(r);
    if (status == CCAI_OK && json_array_size(arr) == 0)
        status = call_exists(st, call_id, op);
    if (status != CCAI_OK) {
        json_decref(arr);
        return status;
    }
    *ret = arr;
    return CCAI_OK;
}

CCAI_MUST_CHECK ccai_status Ccai_pg_messages_json(Ccai_store *store, const char *call_id,
                                                  json_t **ret)
{
    return call_rows_json(Ccai_pg_of(store), PG_MESSAGES, message_to_json, "read messages", call_id,
                          ret);
}

static const char *borrow(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

ccai_status Ccai_pg_messages_newest(Ccai_store *store, const char *call_id, int64_t limit,
                                    int64_t max_seq, Ccai_store_message_fn fn, void *ud)
{
    static const char op[] = "read messages";
    Ccai_pg *st = Ccai_pg_of(store);
    if (!st || !call_id || !fn || limit < 0)
        return CCAI_ERR_INVALID_ARG;
    Ccai_pg_params p = {0};
    Ccai_pg_text(&p, call_id);
    Ccai_pg_int(&p, limit);
    Ccai_pg_int(&p, max_seq >= 0 ? max_seq : INT64_MAX);
    PGresult *r = NULL;
    ccai_status status = Ccai_pg_run(st, op, PG_MESSAGES_NEWEST, &p, &r);
    if (status != CCAI_OK)
        return status;
    int rows = PQntuples(r);
    for (int i = 0; i < rows; i++) {
        char *tool_calls = NULL;
        if (!Ccai_pg_dup_json(r, i, 7, &tool_calls)) {
            PQclear(r);
            return Ccai_pg_fail_nomem(st, op);
        }
        Ccai_store_message m = {
            .seq = Ccai_pg_int64(r, i, 0),
            .created_at = Ccai_pg_int64(r, i, 1),
            .persona = borrow(r, i, 2),
            .action = borrow(r, i, 3),
            .style = borrow(r, i, 4),
            .content = borrow(r, i, 5),
            .lang = borrow(r, i, 6),
            .tool_calls_json = tool_calls,
            .engine = borrow(r, i, 8),
        };
        int stop = fn(&m, ud);
        ccai_free(tool_calls);
        if (stop)
            break;
    }
    PQclear(r);
    return rows == 0 ? call_exists(st, call_id, op) : CCAI_OK;
}

CCAI_MUST_CHECK ccai_status Ccai_pg_message_delete(Ccai_store *store, const char *call_id,
                                                   int64_t seq)
{
    Ccai_pg *st = Ccai_pg_of(store);
    if (!st || !call_id)
        return CCAI_ERR_INVALID_ARG;
    Ccai_pg_params p = {0};
    Ccai_pg_text(&p, call_id);
    Ccai_pg_int(&p, seq);
    char what[96];
    snprintf(what, sizeof what, "message %lld in call %s", (long long)seq, call_id);
    return write_one(st, PG_MESSAGE_DELETE, &p, "delete message", what);
}

CCAI_MUST_CHECK ccai_status Ccai_pg_message_set_content(Ccai_store *store, const char *call_id,
                                                        int64_t seq, const char *content)
{
    Ccai_pg *st = Ccai_pg_of(store);
    if (!st || !call_id || !content)
        return CCAI_ERR_INVALID_ARG;
    Ccai_pg_params p = {0};
    Ccai_pg_text(&p, call_id);
    Ccai_pg_int(&p, seq);
    Ccai_pg_text(&p, content);
    char what[96];
    snprintf(what, sizeof what, "message %lld in call %s", (long long)seq, call_id);
    return write_one(st, PG_MESSAGE_SET_CONTENT, &p, "set message content", what);
}

/* Reminders -------------------------------------------------------------- */

CCAI_MUST_CHECK ccai_status Ccai_pg_reminder_upsert(Ccai_store *store, const char *call_id,
                                                    const char *title, const char *description,
                                                    int64_t due_at, const char *owner,
                                                    bool *ret_created)
{
    static const char op[] = "upsert reminder";
    Ccai_pg *st = Ccai_pg_of(store);
    if (!st || !call_id || !title)
        return CCAI_ERR_INVALID_ARG;
    Ccai_pg_params p = {0};
    Ccai_pg_text(&p, call_id);
    Ccai_pg_text(&p, title);
    Ccai_pg_text(&p, description);
    if (due_at > 0)
        Ccai_pg_int(&p, due_at);
    else
        Ccai_pg_text(&p, NULL);
    Ccai_pg_text(&p, owner);
    Ccai_pg_int(&p, Ccai_wall_ms());
    PGresult *r = NULL;
    ccai_status status = Ccai_pg_run(st, op, PG_REMINDER_UPSERT, &p, &r);
    if (status == CCAI_ERR_NOT_FOUND)
        return Ccai_pg_fail(st, status, "store: %s: no call %s", op, call_id);
    if (status == CCAI_ERR_INVALID_ARG)
        return Ccai_pg_fail(st, status, "store: %s: text is not valid UTF-8", op);
    if (status != CCAI_OK)
        return status;
    if (ret_created)
        *ret_created = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    return CCAI_OK;
}

CCAI_MUST_CHECK ccai_status Ccai_pg_reminders_json(Ccai_store *store, const char *call_id,
                                                   json_t **ret)
{
    return call_rows_json(Ccai_pg_of(store), PG_REMINDERS, reminder_to_json, "read reminders",
                          call_id, ret);
}

/* Jobs ------------------------------------------------------------------- */

CCAI_MUST_CHECK ccai_status Ccai_pg_job_enqueue(Ccai_store *store, const char *kind,
                                                const char *call_id, const char *payload,
                                                int64_t run_at, int64_t *ret_id)
{
    Ccai_pg *st = Ccai_pg_of(store);
    if (!st || !kind)
        return CCAI_ERR_INVALID_ARG;
    Ccai_pg_params p = {0};
    Ccai_pg_text(&p, kind);
    Ccai_pg_text(&p, call_id);
    Ccai_pg_text(&p, payload);
    Ccai_pg_int(&p, run_at);
    Ccai_pg_int(&p, Ccai_wall_ms());
    PGresult *r = NULL;
    ccai_status status = Ccai_pg_run(st, "enqueue job", PG_JOB_ENQUEUE, &p, &r);
    if (status == CCAI_ERR_NOT_FOUND)
        return Ccai_pg_fail(st, status, "store: enqueue job: no call %s", call_id);
    if (status != CCAI_OK)
        return status;
    if (ret_id)
        *ret_id = Ccai_pg_int64(r, 0, 0);
    PQclear(r);
    return CCAI_OK;
}

/* Row row of JOB_COLS (+ updated_at when with_updated) into a new job. */
static CCAI_MUST_CHECK bool job_of_row(const PGresult *r, int row, bool with_updated,
                                       Ccai_store_job **ret)
{
    Ccai_store_job *j = Ccai_calloc(1, sizeof *j);
    if (!j || !Ccai_pg_dup(r, row, 1, &j->kind) || !Ccai_pg_dup(r, row, 2, &j->call_id) ||
        !Ccai_pg_dup_json(r, row, 3, &j->payload) || !Ccai_pg_dup(r, row, 6, &j->last_error) ||
        !Ccai_pg_dup(r, row, 7, &j->state)) {
        Ccai_store_job_free(j);
        return false;
    }
    j->id = Ccai_pg_int64(r, row, 0);
    j->run_at = Ccai_pg_int64(r, row, 4);
    j->attempts = Ccai_pg_int64(r, row, 5);
    if (with_updated)
        j->updated_at = Ccai_pg_int64(r, row, 8);
    *ret = j;
    return true;
}

CCAI_MUST_CHECK ccai_status Ccai_pg_job_claim_kinds(Ccai_store *store, const char *kinds,
                                                    int64_t now, int64_t lease_ms,
                                                    Ccai_store_job **ret)
{
    static const char op[] = "claim job";
    Ccai_pg *st = Ccai_pg_of(store);
    if (!st || !ret || now < 0 || lease_ms < 0)
        return CCAI_ERR_INVALID_ARG;
    Ccai_pg_params p = {0};
    Ccai_pg_int(&p, now);
    Ccai_pg_int(&p, now - lease_ms);
    Ccai_pg_text(&p, kinds);
    PGresult *r = NULL;
    ccai_status status = Ccai_pg_run(st, op, PG_JOB_CLAIM, &p, &r);
    if (status != CCAI_OK)
        return status;
    /* The claim is committed when the row comes back: a copy that fails
     * leaves the job running until its lease passes, then it is claimed
     * again. */
    if (PQntuples(r) == 0)
        status = Ccai_pg_fail(st, CCAI_ERR_NOT_FOUND, "store: %s: no job is due", op);
    else if (!job_of_row(r, 0, false, ret))
        status = Ccai_pg_fail_nomem(st, op);
    PQclear(r);
    return status;
}

static CCAI_MUST_CHECK ccai_status job_write(Ccai_pg *st, enum Ccai_pg_stmt_id id,
                                             const Ccai_pg_params *p, int64_t job, const char *op)
{
    char what[48];
    snprintf(what, sizeof what, "job %lld", (long long)job);
    return write_one(st, id, p, op, what);
}

CCAI_MUST_CHECK ccai_status Ccai_pg_job_done(Ccai_store *store, int64_t id)
{
    Ccai_pg *st = Ccai_pg_of(store);
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    Ccai_pg_params p = {0};
    Ccai_pg_int(&p, id);
    Ccai_pg_int(&p, Ccai_wall_ms());
    return job_write(st, PG_JOB_DONE, &p, id, "finish job");
}

CCAI_MUST_CHECK ccai_status Ccai_pg_job_fail(Ccai_store *store, int64_t id, const char *error,
                                             int64_t retry_at)
{
    Ccai_pg *st = Ccai_pg_of(store);
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    Ccai_pg_params p = {0};
    Ccai_pg_int(&p, id);
    Ccai_pg_text(&p, error);
    Ccai_pg_int(&p, retry_at);
    Ccai_pg_int(&p, Ccai_wall_ms());
    return job_write(st, PG_JOB_FAIL, &p, id, "fail job");
}

CCAI_MUST_CHECK ccai_status Ccai_pg_job_set_payload(Ccai_store *store, int64_t id,
                                                    const char *payload)
{
    Ccai_pg *st = Ccai_pg_of(store);
    if (!st || !payload)
        return CCAI_ERR_INVALID_ARG;
    Ccai_pg_params p = {0};
    Ccai_pg_int(&p, id);
    Ccai_pg_text(&p, payload);
    Ccai_pg_int(&p, Ccai_wall_ms());
    return job_write(st, PG_JOB_SET_PAYLOAD, &p, id, "set job payload");
}

CCAI_MUST_CHECK ccai_status Ccai_pg_job_next_due_kinds(Ccai_store *store, const char *kinds,
                                                       int64_t *ret_run_at)
{
    Ccai_pg *st = Ccai_pg_of(store);
    if (!st || !ret_run_at)
        return CCAI_ERR_INVALID_ARG;
    Ccai_pg_params p = {0};
    Ccai_pg_text(&p, kinds);
    PGresult *r = NULL;
    ccai_status status = Ccai_pg_run(st, "next due job", PG_JOB_NEXT_DUE, &p, &r);
    if (status != CCAI_OK)
        return status;
    *ret_run_at = PQgetisnull(r, 0, 0) ? -1 : Ccai_pg_int64(r, 0, 0);
    PQclear(r);
    return CCAI_OK;
}

CCAI_MUST_CHECK ccai_status Ccai_pg_job_get(Ccai_store *store, int64_t id, Ccai_store_job **ret)
{
    static const char op[] = "read job";
    Ccai_pg *st = Ccai_pg_of(store);
    if (!st || !ret)
        return CCAI_ERR_INVALID_ARG;
    Ccai_pg_params p = {0};
    Ccai_pg_int(&p, id);
    PGresult *r = NULL;
    ccai_status status = Ccai_pg_run(st, op, PG_JOB_GET, &p, &r);
    if (status != CCAI_OK)
        return status;
    if (PQntuples(r) == 0)
        status = Ccai_pg_fail(st, CCAI_ERR_NOT_FOUND, "store: %s: no job %lld", op, (long long)id);
    else if (!job_of_row(r, 0, true, ret))
        status = Ccai_pg_fail_nomem(st, op);
    PQclear(r);
    return status;
}

CCAI_MUST_CHECK ccai_status Ccai_pg_jobs_of_call(Ccai_store *store, const char *call_id,
                                                 const char *kinds, size_t limit,
                                                 Ccai_store_job ***ret, size_t *ret_n)
{
    static const char op[] = "read the jobs of a call";
    Ccai_pg *st = Ccai_pg_of(store);
    if (!st || !call_id || !ret || !ret_n || limit > INT64_MAX)
        return CCAI_ERR_INVALID_ARG;
    Ccai_pg_params p = {0};
    Ccai_pg_text(&p, call_id);
    Ccai_pg_text(&p, kinds);
    Ccai_pg_int(&p, (int64_t)limit);
    PGresult *r = NULL;
    ccai_status status = Ccai_pg_run(st, op, PG_JOBS_OF_CALL, &p, &r);
    if (status != CCAI_OK)
        return status;
    int rows = PQntuples(r);
    Ccai_store_job **jobs = rows ? Ccai_calloc((size_t)rows, sizeof *jobs) : NULL;
    size_t n = 0;
    if (rows && !jobs)
        status = Ccai_pg_fail_nomem(st, op);
    for (int i = 0; status == CCAI_OK && i < rows; i++) {
        if (!job_of_row(r, i, true, &jobs[n]))
            status = Ccai_pg_fail_nomem(st, op);
        else
            n++;
    }
    PQclear(r);
    if (status != CCAI_OK) {
        Ccai_store_job_list_free(jobs, n);
        return status;
    }
    *ret = jobs;
    *ret_n = n;
    return CCAI_OK;
}

/* Translated phrase sets (engine/phrases.c) ------------------------------- */

CCAI_MUST_CHECK ccai_status Ccai_pg_phrases_get(Ccai_store *store, const char *lang,
                                                const char *source_hash, char **ret_json)
{
    Ccai_pg *st = Ccai_pg_of(store);
    if (!st || !lang || !source_hash || !ret_json)
        return CCAI_ERR_INVALID_ARG;
    Ccai_pg_params p = {0};
    Ccai_pg_text(&p, lang);
    Ccai_pg_text(&p, source_hash);
    PGresult *r = NULL;
    ccai_status status = Ccai_pg_run(st, "read phrase translation", PG_PHRASES_GET, &p, &r);
    if (status != CCAI_OK)
        return status;
    char *json = NULL;
    if (PQntuples(r) == 0)
        status = Ccai_pg_fail(st, CCAI_ERR_NOT_FOUND, "store: no phrases in %s", lang);
    else if (!Ccai_pg_dup_json(r, 0, 0, &json) || !json)
        status = Ccai_pg_fail_nomem(st, "read phrase translation");
    PQclear(r);
    if (status == CCAI_OK)
        *ret_json = json;
    else
        ccai_free(json);
    return status;
}

CCAI_MUST_CHECK ccai_status Ccai_pg_phrases_put(Ccai_store *store, const char *lang,
                                                const char *source_hash, const char *phrases_json,
                                                const char *model)
{
    Ccai_pg *st = Ccai_pg_of(store);
    if (!st || !lang || !source_hash || !phrases_json)
        return CCAI_ERR_INVALID_ARG;
    Ccai_pg_params p = {0};
    Ccai_pg_text(&p, lang);
    Ccai_pg_text(&p, source_hash);
    Ccai_pg_text(&p, phrases_json);
    Ccai_pg_text(&p, model);
    Ccai_pg_int(&p, Ccai_wall_ms());
    if (Ccai_pg_pipelined(st))
        return Ccai_pg_write(st, NULL, "store phrase translation", PG_PHRASES_PUT, &p);
    PGresult *r = NULL;
    ccai_status status = Ccai_pg_run(st, "store phrase translation", PG_PHRASES_PUT, &p, &r);
    PQclear(r);
    return status;
}
