/* The SQLite backend: the durable job queue (enqueue, claim with a lease,
 * done, fail, next due). */
#include "store/sqlite_private.h"

#include "core/json.h"

#include <stdio.h>
#include <string.h>

/* Jobs ------------------------------------------------------------------- */

CCAI_MUST_CHECK ccai_status Ccai_sqlite_job_enqueue(Ccai_store *store, const char *kind,
                                                    const char *call_id, const char *payload,
                                                    int64_t run_at, int64_t *ret_id)
{
    Ccai_sqlite *st = Ccai_sqlite_of(store);
    if (!st || !kind)
        return CCAI_ERR_INVALID_ARG;
    sqlite3_stmt *s = NULL;
    ccai_status status = Ccai_sqlite_group_enter(st, call_id, "write");
    if (status == CCAI_OK)
        status = Ccai_sqlite_stmt_get(st, STMT_JOB_ENQUEUE, &s);
    if (status != CCAI_OK)
        return status;
    if (Ccai_sqlite_bind_text(s, 1, kind) || Ccai_sqlite_bind_text(s, 2, call_id) ||
        Ccai_sqlite_bind_text(s, 3, payload) || Ccai_sqlite_bind_int(s, 4, run_at) ||
        Ccai_sqlite_bind_int(s, 5, Ccai_wall_ms()) || sqlite3_step(s) != SQLITE_DONE) {
        status = Ccai_sqlite_db_fail(st, "enqueue job");
        if (status == CCAI_ERR_NOT_FOUND)
            status = Ccai_sqlite_fail(st, status, "store: enqueue job: no call %s", call_id);
        goto cleanup;
    }
    if (ret_id)
        *ret_id = sqlite3_last_insert_rowid(st->db);

cleanup:
    Ccai_sqlite_stmt_done(s);
    return status;
}

static CCAI_MUST_CHECK ccai_status job_claim_locked(Ccai_sqlite *st, const char *kinds, int64_t now,
                                                    int64_t lease_ms, Ccai_store_job **ret)
{
    static const char op[] = "claim job";
    sqlite3_stmt *s = NULL;
    ccai_status status = Ccai_sqlite_stmt_get(st, STMT_JOB_CLAIM, &s);
    if (status != CCAI_OK)
        return status;
    Ccai_store_job *j = NULL;
    int rc = Ccai_sqlite_bind_int(s, 1, now) || Ccai_sqlite_bind_int(s, 2, now - lease_ms) ||
                     Ccai_sqlite_bind_text(s, 3, kinds)
                 ? SQLITE_ERROR
                 : sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        status = Ccai_sqlite_fail(st, CCAI_ERR_NOT_FOUND, "store: %s: no job is due", op);
        goto cleanup;
    }
    if (rc != SQLITE_ROW) {
        status = Ccai_sqlite_db_fail(st, op);
        goto cleanup;
    }
    j = Ccai_calloc(1, sizeof *j);
    if (!j || !Ccai_sqlite_dup_col(s, 1, &j->kind) || !Ccai_sqlite_dup_col(s, 2, &j->call_id) ||
        !Ccai_sqlite_dup_col(s, 3, &j->payload) || !Ccai_sqlite_dup_col(s, 6, &j->last_error) ||
        !Ccai_sqlite_dup_col(s, 7, &j->state)) {
        status = Ccai_sqlite_fail_nomem(st, op);
        goto cleanup;
    }
    j->id = sqlite3_column_int64(s, 0);
    j->run_at = sqlite3_column_int64(s, 4);
    j->attempts = sqlite3_column_int64(s, 5);
    if (sqlite3_step(s) != SQLITE_DONE) {
        status = Ccai_sqlite_db_fail(st, op);
        goto cleanup;
    }
    *ret = j;
    j = NULL;

cleanup:
    Ccai_store_job_free(j);
    Ccai_sqlite_stmt_done(s);
    return status;
}

CCAI_MUST_CHECK ccai_status Ccai_sqlite_job_claim_kinds(Ccai_store *store, const char *kinds,
                                                        int64_t now, int64_t lease_ms,
                                                        Ccai_store_job **ret)
{
    Ccai_sqlite *st = Ccai_sqlite_of(store);
    if (!st || !ret || now < 0 || lease_ms < 0)
        return CCAI_ERR_INVALID_ARG;
    /* A transaction so that a failure after the UPDATE (out of memory while
     * copying the row) leaves the job unclaimed. */
    ccai_status status = Ccai_sqlite_op_begin(st, "claim job", true);
    if (status != CCAI_OK)
        return status;
    Ccai_store_job *j = NULL;
    status = Ccai_sqlite_op_end(st, "claim job", job_claim_locked(st, kinds, now, lease_ms, &j));
    /* A claim is acted on at once (the job runs): with group commit, the
     * group is committed now, the claim with it; a claim not committed is
     * no claim (the job stays another's to take). */
    if (status == CCAI_OK)
        status = Ccai_sqlite_group_commit(st, "claim job");
    if (status != CCAI_OK) {
        Ccai_store_job_free(j);
        return status;
    }
    *ret = j;
    return CCAI_OK;
}

/* Run an UPDATE of one job by id; NOT_FOUND when no row matched. */
static CCAI_MUST_CHECK ccai_status job_update(Ccai_sqlite *st, sqlite3_stmt *s, int64_t id,
                                              const char *op)
{
    ccai_status status = CCAI_OK;
    if (sqlite3_step(s) != SQLITE_DONE)
        status = Ccai_sqlite_db_fail(st, op);
    else if (sqlite3_changes(st->db) == 0)
        status =
            Ccai_sqlite_fail(st, CCAI_ERR_NOT_FOUND, "store: %s: no job %lld", op, (long long)id);
    Ccai_sqlite_stmt_done(s);
    return status;
}

CCAI_MUST_CHECK ccai_status Ccai_sqlite_job_done(Ccai_store *store, int64_t id)
{
    Ccai_sqlite *st = Ccai_sqlite_of(store);
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    sqlite3_stmt *s = NULL;
    ccai_status status = Ccai_sqlite_group_enter(st, NULL, "write");
    if (status == CCAI_OK)
        status = Ccai_sqlite_stmt_get(st, STMT_JOB_DONE, &s);
    if (status != CCAI_OK)
        return status;
    if (Ccai_sqlite_bind_int(s, 1, id) || Ccai_sqlite_bind_int(s, 2, Ccai_wall_ms())) {
        status = Ccai_sqlite_db_fail(st, "finish job");
        Ccai_sqlite_stmt_done(s);
        return status;
    }
    return job_update(st, s, id, "finish job");
}

CCAI_MUST_CHECK ccai_status Ccai_sqlite_job_fail(Ccai_store *store, int64_t id, const char *error,
                                                 int64_t retry_at)
{
    Ccai_sqlite *st = Ccai_sqlite_of(store);
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    sqlite3_stmt *s = NULL;
    ccai_status status = Ccai_sqlite_group_enter(st, NULL, "write");
    if (status == CCAI_OK)
        status = Ccai_sqlite_stmt_get(st, STMT_JOB_FAIL, &s);
    if (status != CCAI_OK)
        return status;
    if (Ccai_sqlite_bind_int(s, 1, id) || Ccai_sqlite_bind_text(s, 2, error) ||
        Ccai_sqlite_bind_int(s, 3, retry_at) || Ccai_sqlite_bind_int(s, 4, Ccai_wall_ms())) {
        status = Ccai_sqlite_db_fail(st, "fail job");
        Ccai_sqlite_stmt_done(s);
        return status;
    }
    return job_update(st, s, id, "fail job");
}

CCAI_MUST_CHECK ccai_status Ccai_sqlite_job_set_payload(Ccai_store *store, int64_t id,
                                                        const char *payload)
{
    Ccai_sqlite *st = Ccai_sqlite_of(store);
    if (!st || !payload)
        return CCAI_ERR_INVALID_ARG;
    sqlite3_stmt *s = NULL;
    ccai_status status = Ccai_sqlite_group_enter(st, NULL, "write");
    if (status == CCAI_OK)
        status = Ccai_sqlite_stmt_get(st, STMT_JOB_SET_PAYLOAD, &s);
    if (status != CCAI_OK)
        return status;
    if (Ccai_sqlite_bind_int(s, 1, id) || Ccai_sqlite_bind_text(s, 2, payload) ||
        Ccai_sqlite_bind_int(s, 3, Ccai_wall_ms())) {
        status = Ccai_sqlite_db_fail(st, "set job payload");
        Ccai_sqlite_stmt_done(s);
        return status;
    }
    return job_update(st, s, id, "set job payload");
}

CCAI_MUST_CHECK ccai_status Ccai_sqlite_job_next_due_kinds(Ccai_store *store, const char *kinds,
                                                           int64_t *ret_run_at)
{
    Ccai_sqlite *st = Ccai_sqlite_of(store);
    if (!st || !ret_run_at)
        return CCAI_ERR_INVALID_ARG;
    sqlite3_stmt *s = NULL;
    ccai_status status = Ccai_sqlite_stmt_get(st, STMT_JOB_NEXT_DUE, &s);
    if (status != CCAI_OK)
        return status;
    if (Ccai_sqlite_bind_text(s, 1, kinds) != SQLITE_OK)
        status = Ccai_sqlite_db_fail(st, "next due job");
    else if (sqlite3_step(s) != SQLITE_ROW)
        status = Ccai_sqlite_db_fail(st, "next due job");
    else
        *ret_run_at = sqlite3_column_type(s, 0) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 0);
    Ccai_sqlite_stmt_done(s);
    return status;
}

/* One row of JOB_COLS + updated_at into a new job; false on NOMEM. */
static CCAI_MUST_CHECK bool job_of_row(sqlite3_stmt *s, Ccai_store_job **ret)
{
    Ccai_store_job *j = Ccai_calloc(1, sizeof *j);
    if (!j || !Ccai_sqlite_dup_col(s, 1, &j->kind) || !Ccai_sqlite_dup_col(s, 2, &j->call_id) ||
        !Ccai_sqlite_dup_col(s, 3, &j->payload) || !Ccai_sqlite_dup_col(s, 6, &j->last_error) ||
        !Ccai_sqlite_dup_col(s, 7, &j->state)) {
        Ccai_store_job_free(j);
        return false;
    }
    j->id = sqlite3_column_int64(s, 0);
    j->run_at = sqlite3_column_int64(s, 4);
    j->attempts = sqlite3_column_int64(s, 5);
    j->updated_at = sqlite3_column_int64(s, 8);
    *ret = j;
    return true;
}

CCAI_MUST_CHECK ccai_status Ccai_sqlite_job_get(Ccai_store *store, int64_t id, Ccai_store_job **ret)
{
    static const char op[] = "read job";
    Ccai_sqlite *st = Ccai_sqlite_of(store);
    if (!st || !ret)
        return CCAI_ERR_INVALID_ARG;
    sqlite3_stmt *s = NULL;
    ccai_status status = Ccai_sqlite_stmt_get(st, STMT_JOB_GET, &s);
    if (status != CCAI_OK)
        return status;
    int rc = Ccai_sqlite_bind_int(s, 1, id) ? SQLITE_ERROR : sqlite3_step(s);
    if (rc == SQLITE_DONE)
        status =
            Ccai_sqlite_fail(st, CCAI_ERR_NOT_FOUND, "store: %s: no job %lld", op, (long long)id);
    else if (rc != SQLITE_ROW)
        status = Ccai_sqlite_db_fail(st, op);
    else if (!job_of_row(s, ret))
        status = Ccai_sqlite_fail_nomem(st, op);
    Ccai_sqlite_stmt_done(s);
    return status;
}

CCAI_MUST_CHECK ccai_status Ccai_sqlite_jobs_of_call(Ccai_store *store, const char *call_id,
                                                     const char *kinds, size_t limit,
                                                     Ccai_store_job ***ret, size_t *ret_n)
{
    static const char op[] = "read the jobs of a call";
    Ccai_sqlite *st = Ccai_sqlite_of(store);
    if (!st || !call_id || !ret || !ret_n || limit > INT64_MAX)
        return CCAI_ERR_INVALID_ARG;
    sqlite3_stmt *s = NULL;
    ccai_status status = Ccai_sqlite_stmt_get(st, STMT_JOBS_OF_CALL, &s);
    if (status != CCAI_OK)
        return status;
    Ccai_store_job **jobs = NULL;
    size_t n = 0, cap = 0;
    int rc = Ccai_sqlite_bind_text(s, 1, call_id) || Ccai_sqlite_bind_text(s, 2, kinds) ||
                     Ccai_sqlite_bind_int(s, 3, (int64_t)limit)
                 ? SQLITE_ERROR
                 : SQLITE_ROW;
    while (rc == SQLITE_ROW && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            Ccai_store_job **grown = Ccai_realloc(jobs, ncap * sizeof *grown);
            if (!grown) {
                status = Ccai_sqlite_fail_nomem(st, op);
                break;
            }
            jobs = grown;
            cap = ncap;
        }
        if (!job_of_row(s, &jobs[n])) {
            status = Ccai_sqlite_fail_nomem(st, op);
            break;
        }
        n++;
    }
    if (status == CCAI_OK && rc != SQLITE_DONE)
        status = Ccai_sqlite_db_fail(st, op);
    Ccai_sqlite_stmt_done(s);
    if (status != CCAI_OK) {
        Ccai_store_job_list_free(jobs, n);
        return status;
    }
    *ret = jobs;
    *ret_n = n;
    return CCAI_OK;
}
