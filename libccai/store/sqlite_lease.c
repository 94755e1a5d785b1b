/* Call leases on SQLite (store.h, "Call leases"): several processes may
 * share one database file; SQLite's write lock makes the compare-and-set
 * one atomic statement. */
#include "store/sqlite_private.h"

#include <stdio.h>
#include <string.h>

static void lease_read(sqlite3_stmt *s, Ccai_store_lease *ret)
{
    const unsigned char *owner = sqlite3_column_text(s, 0);
    const unsigned char *url = sqlite3_column_text(s, 1);
    Ccai_strjoin(ret->owner, sizeof ret->owner, owner ? (const char *)owner : "", NULL);
    Ccai_strjoin(ret->url, sizeof ret->url, url ? (const char *)url : "", NULL);
    ret->expires_at = sqlite3_column_int64(s, 2);
}

/* The lease as stored, inside an operation already begun. */
static CCAI_MUST_CHECK ccai_status lease_read_row(Ccai_sqlite *st, const char *op,
                                                  const char *call_id, Ccai_store_lease *ret)
{
    sqlite3_stmt *s = NULL;
    ccai_status status = Ccai_sqlite_stmt_get(st, STMT_LEASE_GET, &s);
    if (status != CCAI_OK)
        return status;
    if (Ccai_sqlite_bind_text(s, 1, call_id)) {
        status = Ccai_sqlite_db_fail(st, op);
    } else {
        int rc = sqlite3_step(s);
        if (rc == SQLITE_ROW)
            lease_read(s, ret);
        else if (rc == SQLITE_DONE)
            status =
                Ccai_sqlite_fail(st, CCAI_ERR_NOT_FOUND, "store: no lease on call %s", call_id);
        else
            status = Ccai_sqlite_db_fail(st, op);
    }
    Ccai_sqlite_stmt_done(s);
    return status;
}

CCAI_MUST_CHECK ccai_status Ccai_sqlite_lease_acquire(Ccai_store *store, const char *call_id,
                                                      const char *owner, const char *url,
                                                      int64_t now, int64_t ttl_ms,
                                                      Ccai_store_lease *ret_holder)
{
    Ccai_sqlite *st = Ccai_sqlite_of(store);
    static const char op[] = "acquire call lease";
    if (!st || !Ccai_sqlite_utf8_ok(owner) || !Ccai_sqlite_utf8_ok(url))
        return CCAI_ERR_INVALID_ARG;
    ccai_status status = Ccai_sqlite_op_begin(st, op, true);
    if (status != CCAI_OK)
        return status;
    sqlite3_stmt *s = NULL;
    status = Ccai_sqlite_stmt_get(st, STMT_LEASE_ACQUIRE, &s);
    if (status != CCAI_OK)
        return Ccai_sqlite_op_end(st, op, status);
    if (Ccai_sqlite_bind_text(s, 1, call_id) || Ccai_sqlite_bind_text(s, 2, owner) ||
        Ccai_sqlite_bind_text(s, 3, url ? url : "") || Ccai_sqlite_bind_int(s, 4, now + ttl_ms) ||
        Ccai_sqlite_bind_int(s, 5, now) || sqlite3_step(s) != SQLITE_DONE) {
        status = Ccai_sqlite_db_fail(st, op);
    } else if (sqlite3_changes(st->db) == 0) {
        Ccai_sqlite_stmt_done(s); /* before the SELECT: its bindings are the caller's */
        s = NULL;
        Ccai_store_lease held = {0};
        status = lease_read_row(st, op, call_id, &held);
        if (status == CCAI_OK) {
            status = Ccai_sqlite_fail(st, CCAI_ERR_CONFLICT, "store: call %s is held by %s",
                                      call_id, held.owner);
            if (ret_holder)
                *ret_holder = held;
        }
    }
    Ccai_sqlite_stmt_done(s);
    status = Ccai_sqlite_op_end(st, op, status);
    /* The holder acts on its lease at once (it takes the call over): with
     * group commit the group is committed now, the lease with it. */
    if (status == CCAI_OK)
        status = Ccai_sqlite_group_commit(st, op);
    return status;
}

CCAI_MUST_CHECK ccai_status Ccai_sqlite_lease_release(Ccai_store *store, const char *call_id,
                                                      const char *owner)
{
    Ccai_sqlite *st = Ccai_sqlite_of(store);
    static const char op[] = "release call lease";
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    ccai_status status = Ccai_sqlite_op_begin(st, op, true);
    if (status != CCAI_OK)
        return status;
    sqlite3_stmt *s = NULL;
    status = Ccai_sqlite_stmt_get(st, STMT_LEASE_RELEASE, &s);
    if (status != CCAI_OK)
        return Ccai_sqlite_op_end(st, op, status);
    if (Ccai_sqlite_bind_text(s, 1, call_id) || Ccai_sqlite_bind_text(s, 2, owner) ||
        sqlite3_step(s) != SQLITE_DONE)
        status = Ccai_sqlite_db_fail(st, op);
    Ccai_sqlite_stmt_done(s);
    return Ccai_sqlite_op_end(st, op, status);
}

CCAI_MUST_CHECK ccai_status Ccai_sqlite_lease_get(Ccai_store *store, const char *call_id,
                                                  Ccai_store_lease *ret)
{
    Ccai_sqlite *st = Ccai_sqlite_of(store);
    static const char op[] = "read call lease";
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    ccai_status status = Ccai_sqlite_op_begin(st, op, false);
    if (status != CCAI_OK)
        return status;
    status = lease_read_row(st, op, call_id, ret);
    return Ccai_sqlite_op_end(st, op, status);
}
