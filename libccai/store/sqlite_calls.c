/* The SQLite backend: the calls table (insert, conditional update on
 * row_version, reads, lists). */
#include "store/sqlite_private.h"

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

/* Bind ?2..?14, ?17 and ?18 (every column but id, the times and the
 * recording's id and length) from c. */
static int bind_call_columns(sqlite3_stmt *s, const Ccai_store_call *c)
{
    return Ccai_sqlite_bind_text(s, 2, direction_str(c->direction)) ||
           Ccai_sqlite_bind_text(s, 3, c->phone_number) ||
           Ccai_sqlite_bind_text(s, 4, c->bot_phone_number) ||
           Ccai_sqlite_bind_text(s, 5, c->channel) ||
           Ccai_sqlite_bind_text(s, 6, c->provider_call_id) ||
           Ccai_sqlite_bind_text(s, 7, c->state) || Ccai_sqlite_bind_text(s, 8, c->lang) ||
           Ccai_sqlite_bind_text(s, 9, c->initiate_json) ||
           Ccai_sqlite_bind_text(s, 10, c->claim_json ? c->claim_json : "{}") ||
           Ccai_sqlite_bind_text(s, 11, c->next_json) ||
           Ccai_sqlite_bind_text(s, 12, c->synthesis_json) ||
           Ccai_sqlite_bind_text(s, 13, c->recording_url) ||
           Ccai_sqlite_bind_text(s, 14, c->callback_secret) ||
           Ccai_sqlite_bind_text(s, 17, c->correlation_id) ||
           Ccai_sqlite_bind_text(s, 18, c->end_reason);
}

/* What this handle last wrote of a call ------------------------------------- */

/* A turn changes the state, the claim, the times; the other columns (the
 * initiate JSON of several KB, whose CHECK parses it; the phone numbers
 * and ids, each in an index) stay as they were. The handle keeps what it
 * last wrote of each call, with the row's version after that write: while
 * the row still has that version (the update's WHERE says so) it holds
 * those values, and an update that changes none of them sets only the
 * others. A slot is only a shortcut: a miss, or a slot taken by another
 * call, runs the full update. A rollback may undo a write the slot tells
 * of: every rollback and failed statement forgets them all
 * (Ccai_sqlite_calls_forget()). */

static const char *const *fixed_cols(const Ccai_store_call *c, const char *out[8])
{
    out[0] = direction_str(c->direction);
    out[1] = c->phone_number;
    out[2] = c->bot_phone_number;
    out[3] = c->channel;
    out[4] = c->provider_call_id;
    out[5] = c->initiate_json;
    out[6] = c->callback_secret;
    out[7] = c->correlation_id;
    return out;
}

/* The block: per column a byte (1 NULL, 2 a value) then the value and its NUL. */
static size_t fixed_len(const char *const *v)
{
    size_t n = 0;
    for (size_t i = 0; i < 8; i++)
        n += 1 + (v[i] ? strlen(v[i]) + 1 : 0);
    return n;
}

static bool fixed_same(const Ccai_sqlite_seen *seen, const char *const *v)
{
    const char *p = seen->fixed, *end = seen->fixed + seen->fixed_len;
    for (size_t i = 0; i < 8; i++) {
        if (p >= end || *p != (v[i] ? 2 : 1))
            return false;
        p++;
        if (!v[i])
            continue;
        size_t n = strlen(v[i]) + 1;
        if ((size_t)(end - p) < n || memcmp(p, v[i], n) != 0)
            return false;
        p += n;
    }
    return p == end;
}

static Ccai_sqlite_seen *seen_slot(Ccai_sqlite *st, const char *id)
{
    if (!st->seen)
        return NULL;
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        h = (h ^ *p) * 16777619u;
    return &st->seen[h % CCAI_SQLITE_SEEN_SLOTS];
}

static void seen_clear(Ccai_sqlite_seen *seen)
{
    ccai_free(seen->fixed);
    ccai_free(seen->claim);
    memset(seen, 0, sizeof *seen);
}

void Ccai_sqlite_calls_forget(Ccai_sqlite *st)
{
    for (size_t i = 0; st->seen && i < CCAI_SQLITE_SEEN_SLOTS; i++) {
        if (st->seen[i].version)
            seen_clear(&st->seen[i]);
    }
}

/* c was just written (its version is the row's now). A call that ended is
 * forgotten: its last writes (the report) are few. Out of memory: the slot
 * stays empty, the next update is a full one. */
static void seen_keep(Ccai_sqlite *st, const Ccai_store_call *c, bool fixed_unchanged)
{
    if (!st->seen && !(st->seen = Ccai_calloc(CCAI_SQLITE_SEEN_SLOTS, sizeof *st->seen)))
        return;
    Ccai_sqlite_seen *seen = seen_slot(st, c->id);
    if (!seen)
        return;
    bool mine = seen->version && strcmp(seen->id, c->id) == 0;
    if (strcmp(c->state, "ended") == 0 || strcmp(c->state, "done") == 0) {
        if (mine)
            seen_clear(seen);
        return;
    }
    const char *v[8];
    fixed_cols(c, v);
    const char *claim = c->claim_json ? c->claim_json : "{}";
    if (!mine || !fixed_unchanged) {
        seen_clear(seen);
        size_t n = fixed_len(v);
        char *block = Ccai_malloc(n), *p = block;
        if (!block)
            return;
        for (size_t i = 0; i < 8; i++) {
            *p++ = v[i] ? 2 : 1;
            if (v[i]) {
                size_t len = strlen(v[i]) + 1;
                memcpy(p, v[i], len);
                p += len;
            }
        }
        seen->fixed = block;
        seen->fixed_len = n;
        memcpy(seen->id, c->id, sizeof seen->id);
    }
    if (!seen->claim || strcmp(seen->claim, claim) != 0) {
        ccai_free(seen->claim);
        if (!(seen->claim = Ccai_strdup(claim))) {
            seen_clear(seen);
            return;
        }
    }
    seen->version = c->row_version;
}

/* A length: 0 (unknown) is stored as NULL. */
static int bind_length(sqlite3_stmt *s, int i, int64_t v)
{
    return v > 0 ? sqlite3_bind_int64(s, i, v) : sqlite3_bind_null(s, i);
}

/* A row of CALL_COLS into a new struct. */
static CCAI_MUST_CHECK ccai_status read_call(Ccai_sqlite *st, sqlite3_stmt *s,
                                             Ccai_store_call **ret)
{
    Ccai_store_call *c = Ccai_calloc(1, sizeof *c);
    if (!c)
        return Ccai_sqlite_fail_nomem(st, "read call");
    const unsigned char *id = sqlite3_column_text(s, 0);
    const unsigned char *dir = sqlite3_column_text(s, 1);
    if (!id || !dir) {
        Ccai_store_call_free(c);
        return Ccai_sqlite_fail_nomem(st, "read call");
    }
    if ((size_t)sqlite3_column_bytes(s, 0) >= sizeof c->id) {
        Ccai_store_call_free(c);
        return Ccai_sqlite_fail(st, CCAI_ERR_STORE, "store: read call: id \"%s\" is too long",
                                (const char *)id);
    }
    memcpy(c->id, id, (size_t)sqlite3_column_bytes(s, 0));
    c->direction = strcmp((const char *)dir, "outbound") == 0 ? CCAI_OUTBOUND : CCAI_INBOUND;
    if (!Ccai_sqlite_dup_col(s, 2, &c->phone_number) ||
        !Ccai_sqlite_dup_col(s, 3, &c->bot_phone_number) ||
        !Ccai_sqlite_dup_col(s, 4, &c->channel) ||
        !Ccai_sqlite_dup_col(s, 5, &c->provider_call_id) || !Ccai_sqlite_dup_col(s, 6, &c->state) ||
        !Ccai_sqlite_dup_col(s, 7, &c->lang) || !Ccai_sqlite_dup_col(s, 8, &c->initiate_json) ||
        !Ccai_sqlite_dup_col(s, 9, &c->claim_json) || !Ccai_sqlite_dup_col(s, 10, &c->next_json) ||
        !Ccai_sqlite_dup_col(s, 11, &c->synthesis_json) ||
        !Ccai_sqlite_dup_col(s, 12, &c->recording_url) ||
        !Ccai_sqlite_dup_col(s, 13, &c->callback_secret) ||
        !Ccai_sqlite_dup_col(s, 17, &c->correlation_id) ||
        !Ccai_sqlite_dup_col(s, 18, &c->end_reason) ||
        !Ccai_sqlite_dup_col(s, 19, &c->recording_id)) {
        Ccai_store_call_free(c);
        return Ccai_sqlite_fail_nomem(st, "read call");
    }
    c->created_at = sqlite3_column_int64(s, 14);
    c->updated_at = sqlite3_column_int64(s, 15);
    c->row_version = sqlite3_column_int64(s, 16);
    c->recording_duration_ms = sqlite3_column_int64(s, 20); /* NULL reads as 0 */
    *ret = c;
    return CCAI_OK;
}

CCAI_MUST_CHECK ccai_status Ccai_sqlite_call_insert(Ccai_store *store, Ccai_store_call *c)
{
    Ccai_sqlite *st = Ccai_sqlite_of(store);
    if (!st || !c || !call_valid(c))
        return CCAI_ERR_INVALID_ARG;
    char id[sizeof c->id];
    memcpy(id, c->id, sizeof id);
    if (!id[0] && !Ccai_uuid4(id))
        return Ccai_sqlite_fail(st, CCAI_ERR_STORE,
                                "store: insert call: no random source for an id");
    int64_t created = c->created_at ? c->created_at : Ccai_wall_ms();
    int64_t updated = c->updated_at ? c->updated_at : created;

    sqlite3_stmt *s = NULL;
    ccai_status status = Ccai_sqlite_group_enter(st, id, "write");
    if (status == CCAI_OK)
        status = Ccai_sqlite_stmt_get(st, STMT_CALL_INSERT, &s);
    if (status != CCAI_OK)
        return status;
    if (Ccai_sqlite_bind_text(s, 1, id) || bind_call_columns(s, c) ||
        Ccai_sqlite_bind_int(s, 15, created) || Ccai_sqlite_bind_int(s, 16, updated) ||
        Ccai_sqlite_bind_text(s, 19, c->recording_id) ||
        bind_length(s, 20, c->recording_duration_ms)) {
        status = Ccai_sqlite_db_fail(st, "insert call");
        goto cleanup;
    }
    if (sqlite3_step(s) != SQLITE_DONE) {
        status = Ccai_sqlite_db_fail(st, "insert call");
        if (status == CCAI_ERR_CONFLICT)
            status = Ccai_sqlite_fail(st, status, "store: insert call: call %s already exists", id);
        goto cleanup;
    }
    memcpy(c->id, id, sizeof id);
    c->created_at = created;
    c->updated_at = updated;
    c->row_version = 1;
    seen_keep(st, c, false);

cleanup:
    Ccai_sqlite_stmt_done(s);
    return status;
}

/* Step a conditional write of c (WHERE id AND row_version): on a match the
 * version goes up and updated_at is now; else CONFLICT for a stale writer,
 * NOT_FOUND for a missing row. Resets s. */
static CCAI_MUST_CHECK ccai_status call_write_step(Ccai_sqlite *st, sqlite3_stmt *s,
                                                   Ccai_store_call *c, int64_t now, const char *op)
{
    sqlite3_stmt *v = NULL;
    ccai_status status = CCAI_OK;
    if (sqlite3_step(s) != SQLITE_DONE) {
        status = Ccai_sqlite_db_fail(st, op);
        goto cleanup;
    }
    if (sqlite3_changes(st->db) == 1) {
        c->row_version++;
        c->updated_at = now;
        goto cleanup;
    }
    /* Nothing matched: tell a stale writer from a missing row. */
    status = Ccai_sqlite_stmt_get(st, STMT_CALL_VERSION, &v);
    if (status != CCAI_OK)
        goto cleanup;
    if (Ccai_sqlite_bind_text(v, 1, c->id)) {
        status = Ccai_sqlite_db_fail(st, op);
        goto cleanup;
    }
    int rc = sqlite3_step(v);
    if (rc == SQLITE_ROW)
        status = Ccai_sqlite_fail(st, CCAI_ERR_CONFLICT,
                                  "store: call %s was changed by another writer (row version %lld, "
                                  "expected %lld)",
                                  c->id, (long long)sqlite3_column_int64(v, 0),
                                  (long long)c->row_version);
    else if (rc == SQLITE_DONE)
        status = Ccai_sqlite_fail(st, CCAI_ERR_NOT_FOUND, "store: %s: no call %s", op, c->id);
    else
        status = Ccai_sqlite_db_fail(st, op);

cleanup:
    Ccai_sqlite_stmt_done(s);
    Ccai_sqlite_stmt_done(v);
    return status;
}

CCAI_MUST_CHECK ccai_status Ccai_sqlite_call_update(Ccai_store *store, Ccai_store_call *c)
{
    Ccai_sqlite *st = Ccai_sqlite_of(store);
    if (!st || !c || !call_valid(c) || !c->id[0])
        return CCAI_ERR_INVALID_ARG;
    int64_t now = Ccai_wall_ms();
    /* The row as this handle last wrote it (see seen_keep()): only what
     * changed is set. */
    Ccai_sqlite_seen *seen = seen_slot(st, c->id);
    const char *v[8];
    bool fixed_unchanged = seen && seen->version == c->row_version &&
                           strcmp(seen->id, c->id) == 0 && fixed_same(seen, fixed_cols(c, v));
    enum Ccai_sqlite_stmt_id which = STMT_CALL_UPDATE;
    if (fixed_unchanged)
        which = strcmp(seen->claim, c->claim_json ? c->claim_json : "{}") == 0
                    ? STMT_CALL_UPDATE_TURN_SAME_CLAIM
                    : STMT_CALL_UPDATE_TURN;
    sqlite3_stmt *s = NULL;
    ccai_status status = Ccai_sqlite_group_enter(st, c->id, "write");
    if (status == CCAI_OK)
        status = Ccai_sqlite_stmt_get(st, which, &s);
    if (status != CCAI_OK)
        return status;
    if (Ccai_sqlite_bind_text(s, 1, c->id) || bind_call_columns(s, c) ||
        Ccai_sqlite_bind_int(s, 15, now) || Ccai_sqlite_bind_int(s, 16, c->row_version)) {
        status = Ccai_sqlite_db_fail(st, "update call");
        Ccai_sqlite_stmt_done(s);
        return status;
    }
    status = call_write_step(st, s, c, now, "update call");
    if (status == CCAI_OK)
        seen_keep(st, c, fixed_unchanged);
    return status;
}

CCAI_MUST_CHECK ccai_status Ccai_sqlite_call_touch(Ccai_store *store, Ccai_store_call *c)
{
    Ccai_sqlite *st = Ccai_sqlite_of(store);
    if (!st || !c || !c->id[0])
        return CCAI_ERR_INVALID_ARG;
    int64_t now = Ccai_wall_ms();
    sqlite3_stmt *s = NULL;
    ccai_status status = Ccai_sqlite_group_enter(st, c->id, "write");
    if (status == CCAI_OK)
        status = Ccai_sqlite_stmt_get(st, STMT_CALL_TOUCH, &s);
    if (status != CCAI_OK)
        return status;
    if (Ccai_sqlite_bind_text(s, 1, c->id) || Ccai_sqlite_bind_int(s, 2, now) ||
        Ccai_sqlite_bind_int(s, 3, c->row_version)) {
        status = Ccai_sqlite_db_fail(st, "touch call");
        Ccai_sqlite_stmt_done(s);
        return status;
    }
    int64_t before = c->row_version;
    status = call_write_step(st, s, c, now, "touch call");
    /* The columns are as they were: what this handle knew of them holds. */
    Ccai_sqlite_seen *seen = seen_slot(st, c->id);
    if (status == CCAI_OK && seen && seen->version == before && strcmp(seen->id, c->id) == 0)
        seen->version = c->row_version;
    return status;
}

/* Step a statement selecting CALL_COLS for at most one row. */
static CCAI_MUST_CHECK ccai_status call_fetch_one(Ccai_sqlite *st, sqlite3_stmt *s, const char *op,
                                                  Ccai_store_call **ret)
{
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE)
        return CCAI_ERR_NOT_FOUND;
    if (rc != SQLITE_ROW)
        return Ccai_sqlite_db_fail(st, op);
    return read_call(st, s, ret);
}

CCAI_MUST_CHECK ccai_status Ccai_sqlite_call_get(Ccai_store *store, const char *id,
                                                 Ccai_store_call **ret)
{
    Ccai_sqlite *st = Ccai_sqlite_of(store);
    if (!st || !id || !ret)
        return CCAI_ERR_INVALID_ARG;
    sqlite3_stmt *s = NULL;
    ccai_status status = Ccai_sqlite_stmt_get(st, STMT_CALL_GET, &s);
    if (status != CCAI_OK)
        return status;
    if (Ccai_sqlite_bind_text(s, 1, id))
        status = Ccai_sqlite_db_fail(st, "get call");
    else
        status = call_fetch_one(st, s, "get call", ret);
    if (status == CCAI_ERR_NOT_FOUND)
        status = Ccai_sqlite_fail(st, status, "store: get call: no call %s", id);
    Ccai_sqlite_stmt_done(s);
    return status;
}

CCAI_MUST_CHECK ccai_status Ccai_sqlite_call_find_latest(Ccai_store *store, const char *phone,
                                                         int64_t since_ms, Ccai_store_call **ret)
{
    Ccai_sqlite *st = Ccai_sqlite_of(store);
    if (!st || !phone || !ret)
        return CCAI_ERR_INVALID_ARG;
    sqlite3_stmt *s = NULL;
    ccai_status status = Ccai_sqlite_stmt_get(st, STMT_CALL_FIND_LATEST, &s);
    if (status != CCAI_OK)
        return status;
    if (Ccai_sqlite_bind_text(s, 1, phone) ||
        Ccai_sqlite_bind_int(s, 2, since_ms > 0 ? since_ms : INT64_MIN))
        status = Ccai_sqlite_db_fail(st, "find latest call");
    else
        status = call_fetch_one(st, s, "find latest call", ret);
    if (status == CCAI_ERR_NOT_FOUND)
        status = Ccai_sqlite_fail(st, status, "store: find latest call: no call for %s", phone);
    Ccai_sqlite_stmt_done(s);
    return status;
}

CCAI_MUST_CHECK ccai_status Ccai_sqlite_call_find_provider(Ccai_store *store, const char *channel,
                                                           const char *provider_call_id,
                                                           Ccai_store_call **ret)
{
    Ccai_sqlite *st = Ccai_sqlite_of(store);
    if (!st || !channel || !provider_call_id || !ret)
        return CCAI_ERR_INVALID_ARG;
    sqlite3_stmt *s = NULL;
    ccai_status status = Ccai_sqlite_stmt_get(st, STMT_CALL_FIND_PROVIDER, &s);
    if (status != CCAI_OK)
        return status;
    if (Ccai_sqlite_bind_text(s, 1, provider_call_id) || Ccai_sqlite_bind_text(s, 2, channel))
        status = Ccai_sqlite_db_fail(st, "find call by provider id");
    else
        status = call_fetch_one(st, s, "find call by provider id", ret);
    if (status == CCAI_ERR_NOT_FOUND)
        status = Ccai_sqlite_fail(st, status, "store: no %s call with provider id %s", channel,
                                  provider_call_id);
    Ccai_sqlite_stmt_done(s);
    return status;
}

CCAI_MUST_CHECK ccai_status Ccai_sqlite_call_find_correlation(Ccai_store *store,
                                                              const char *channel,
                                                              const char *correlation_id,
                                                              Ccai_store_call **ret)
{
    Ccai_sqlite *st = Ccai_sqlite_of(store);
    if (!st || !channel || !correlation_id || !ret)
        return CCAI_ERR_INVALID_ARG;
    sqlite3_stmt *s = NULL;
    ccai_status status = Ccai_sqlite_stmt_get(st, STMT_CALL_FIND_CORRELATION, &s);
    if (status != CCAI_OK)
        return status;
    if (Ccai_sqlite_bind_text(s, 1, correlation_id) || Ccai_sqlite_bind_text(s, 2, channel))
        status = Ccai_sqlite_db_fail(st, "find call by correlation id");
    else
        status = call_fetch_one(st, s, "find call by correlation id", ret);
    if (status == CCAI_ERR_NOT_FOUND)
        status = Ccai_sqlite_fail(st, status, "store: no %s call with correlation id %s", channel,
                                  correlation_id);
    Ccai_sqlite_stmt_done(s);
    return status;
}

CCAI_MUST_CHECK ccai_status Ccai_sqlite_call_set_recording(Ccai_store *store, const char *id,
                                                           const char *url,
                                                           const char *recording_id,
                                                           int64_t duration_ms)
{
    Ccai_sqlite *st = Ccai_sqlite_of(store);
    if (!st || !id || (!url && !recording_id && duration_ms <= 0))
        return CCAI_ERR_INVALID_ARG;
    if (!Ccai_sqlite_utf8_ok(url) || !Ccai_sqlite_utf8_ok(recording_id))
        return Ccai_sqlite_fail(st, CCAI_ERR_INVALID_ARG,
                                "store: set recording: text is not valid UTF-8");
    sqlite3_stmt *s = NULL;
    ccai_status status = Ccai_sqlite_group_enter(st, id, "write");
    if (status == CCAI_OK)
        status = Ccai_sqlite_stmt_get(st, STMT_CALL_SET_RECORDING, &s);
    if (status != CCAI_OK)
        return status;
    if (Ccai_sqlite_bind_text(s, 1, id) || Ccai_sqlite_bind_text(s, 2, url) ||
        Ccai_sqlite_bind_text(s, 3, recording_id) || bind_length(s, 4, duration_ms) ||
        sqlite3_step(s) != SQLITE_DONE)
        status = Ccai_sqlite_db_fail(st, "set recording");
    else if (sqlite3_changes(st->db) != 1)
        status = Ccai_sqlite_fail(st, CCAI_ERR_NOT_FOUND, "store: set recording: no call %s", id);
    Ccai_sqlite_stmt_done(s);
    return status;
}

CCAI_MUST_CHECK ccai_status Ccai_sqlite_calls_stale(Ccai_store *store, int64_t before_ms,
                                                    size_t limit, Ccai_store_call ***ret_calls,
                                                    size_t *ret_n)
{
    Ccai_sqlite *st = Ccai_sqlite_of(store);
    if (!st || !ret_calls || !ret_n)
        return CCAI_ERR_INVALID_ARG;
    if (limit > STORE_LIST_MAX)
        limit = STORE_LIST_MAX;
    sqlite3_stmt *s = NULL;
    Ccai_store_call **calls = limit ? Ccai_calloc(limit, sizeof *calls) : NULL;
    size_t n = 0;
    if (limit && !calls)
        return Ccai_sqlite_fail_nomem(st, "stale calls");
    ccai_status status = Ccai_sqlite_stmt_get(st, STMT_CALL_STALE, &s);
    if (status != CCAI_OK)
        goto cleanup;
    if (Ccai_sqlite_bind_int(s, 1, before_ms) || Ccai_sqlite_bind_int(s, 2, (int64_t)limit)) {
        status = Ccai_sqlite_db_fail(st, "stale calls");
        goto cleanup;
    }
    int rc = SQLITE_DONE;
    while (n < limit && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        status = read_call(st, s, &calls[n]);
        if (status != CCAI_OK)
            goto cleanup;
        n++;
    }
    if (n < limit && rc != SQLITE_DONE) {
        status = Ccai_sqlite_db_fail(st, "stale calls");
        goto cleanup;
    }
    *ret_calls = calls;
    *ret_n = n;
    calls = NULL;
    n = 0;

cleanup:
    Ccai_store_call_list_free(calls, n);
    Ccai_sqlite_stmt_done(s);
    return status;
}

/* The count and the page, read in one transaction so they agree. */
static CCAI_MUST_CHECK ccai_status call_list_locked(Ccai_sqlite *st, const char *phone,
                                                    size_t limit, size_t offset,
                                                    Ccai_store_call ***ret_calls, size_t *ret_n,
                                                    size_t *ret_total)
{
    sqlite3_stmt *cnt = NULL, *sel = NULL;
    Ccai_store_call **calls = NULL;
    size_t n = 0;
    ccai_status status =
        Ccai_sqlite_stmt_get(st, phone ? STMT_CALL_COUNT_PHONE : STMT_CALL_COUNT_ALL, &cnt);
    if (status != CCAI_OK)
        return status;
    if ((phone && Ccai_sqlite_bind_text(cnt, 1, phone)) || sqlite3_step(cnt) != SQLITE_ROW) {
        status = Ccai_sqlite_db_fail(st, "list calls");
        goto cleanup;
    }
    size_t total = (size_t)sqlite3_column_int64(cnt, 0);
    size_t want = total > offset ? total - offset : 0;
    if (want > limit)
        want = limit;
    if (want) {
        calls = Ccai_calloc(want, sizeof(Ccai_store_call *));
        if (!calls) {
            status = Ccai_sqlite_fail_nomem(st, "list calls");
            goto cleanup;
        }
        status = Ccai_sqlite_stmt_get(st, phone ? STMT_CALL_LIST_PHONE : STMT_CALL_LIST_ALL, &sel);
        if (status != CCAI_OK)
            goto cleanup;
        if ((phone && Ccai_sqlite_bind_text(sel, 1, phone)) ||
            Ccai_sqlite_bind_int(sel, 2, (int64_t)want) ||
            Ccai_sqlite_bind_int(sel, 3, (int64_t)offset)) {
            status = Ccai_sqlite_db_fail(st, "list calls");
            goto cleanup;
        }
        int rc = SQLITE_DONE;
        while (n < want && (rc = sqlite3_step(sel)) == SQLITE_ROW) {
            status = read_call(st, sel, &calls[n]);
            if (status != CCAI_OK)
                goto cleanup;
            n++;
        }
        if (n < want && rc != SQLITE_DONE) {
            status = Ccai_sqlite_db_fail(st, "list calls");
            goto cleanup;
        }
    }
    *ret_calls = calls;
    *ret_n = n;
    *ret_total = total;
    calls = NULL;

cleanup:
    Ccai_store_call_list_free(calls, n);
    Ccai_sqlite_stmt_done(cnt);
    Ccai_sqlite_stmt_done(sel);
    return status;
}

CCAI_MUST_CHECK ccai_status Ccai_sqlite_call_list(Ccai_store *store, const char *phone,
                                                  size_t limit, size_t offset,
                                                  Ccai_store_call ***ret_calls, size_t *ret_n,
                                                  size_t *ret_total)
{
    Ccai_sqlite *st = Ccai_sqlite_of(store);
    if (!st || !ret_calls || !ret_n || !ret_total)
        return CCAI_ERR_INVALID_ARG;
    if (limit > STORE_LIST_MAX)
        limit = STORE_LIST_MAX;
    if (offset > INT64_MAX)
        offset = INT64_MAX;
    ccai_status status = Ccai_sqlite_op_begin(st, "list calls", false);
    if (status != CCAI_OK)
        return status;
    Ccai_store_call **calls = NULL;
    size_t n = 0, total = 0;
    status = Ccai_sqlite_op_end(st, "list calls",
                                call_list_locked(st, phone, limit, offset, &calls, &n, &total));
    if (status != CCAI_OK) {
        Ccai_store_call_list_free(calls, n);
        return status;
    }
    *ret_calls = calls;
    *ret_n = n;
    *ret_total = total;
    return CCAI_OK;
}
