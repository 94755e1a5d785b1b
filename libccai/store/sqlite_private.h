/* What the parts of the SQLite backend share (store/sqlite.c: opening,
 * migrating, errors, statements, transactions, the backend's table;
 * sqlite_schema.c: the schema's migrations and every statement's SQL;
 * sqlite_calls.c, sqlite_messages.c (messages and reminders),
 * sqlite_jobs.c: the rows). Nothing outside store/sqlite*.c includes it. */
#ifndef CCAI_STORE_SQLITE_PRIVATE_H
#define CCAI_STORE_SQLITE_PRIVATE_H

#include "io/io.h"
#include "store/sqlite.h"

#include <sqlite3.h>

/* The statements, each prepared once and cached on the handle. */
enum Ccai_sqlite_stmt_id {
    STMT_VERSION,
    STMT_CALL_INSERT,
    STMT_CALL_UPDATE,
    STMT_CALL_UPDATE_TURN,
    STMT_CALL_UPDATE_TURN_SAME_CLAIM,
    STMT_CALL_TOUCH,
    STMT_CALL_VERSION,
    STMT_CALL_GET,
    STMT_CALL_FIND_LATEST,
    STMT_CALL_FIND_PROVIDER,
    STMT_CALL_FIND_CORRELATION,
    STMT_CALL_SET_RECORDING,
    STMT_CALL_STALE,
    STMT_CALL_LIST_ALL,
    STMT_CALL_LIST_PHONE,
    STMT_CALL_COUNT_ALL,
    STMT_CALL_COUNT_PHONE,
    STMT_MESSAGE_APPEND,
    STMT_MESSAGE_APPEND_NOSEQ,
    STMT_MESSAGES,
    STMT_MESSAGES_NEWEST,
    STMT_REMINDER_EXISTS,
    STMT_REMINDER_INSERT,
    STMT_REMINDER_UPDATE,
    STMT_REMINDERS,
    STMT_JOB_ENQUEUE,
    STMT_JOB_CLAIM,
    STMT_JOB_DONE,
    STMT_JOB_FAIL,
    STMT_JOB_NEXT_DUE,
    STMT_JOB_SET_PAYLOAD,
    STMT_JOB_GET,
    STMT_JOBS_OF_CALL,
    STMT_HEALTH,
    STMT_LEASE_ACQUIRE,
    STMT_LEASE_RELEASE,
    STMT_LEASE_GET,
    /* Transaction control: SQLite parses a statement run by sqlite3_exec()
     * every time. */
    STMT_BEGIN,
    STMT_BEGIN_IMMEDIATE,
    STMT_COMMIT,
    STMT_ROLLBACK,
    STMT_SAVEPOINT,
    STMT_RELEASE,
    STMT_COUNT
};

/* migrations[i] brings the schema to version i + 1 (sqlite_schema.c). */
extern const char *const Ccai_sqlite_migrations[CCAI_STORE_SCHEMA_VERSION];
/* The SQL of each statement. */
extern const char *const Ccai_sqlite_stmt_sql[STMT_COUNT];

/* What this handle last wrote of a call (sqlite_calls.c): a turn's update
 * then sets only the columns that changed. version 0: an empty slot. */
#define CCAI_SQLITE_SEEN_SLOTS 256
typedef struct Ccai_sqlite_seen {
    char id[37];
    int64_t version; /* the row's version after that write */
    char *fixed;     /* the columns a turn does not change, each NUL-ended, in one block */
    size_t fixed_len;
    char *claim;
} Ccai_sqlite_seen;

/* The WAL's checkpoint thread (store/sqlite_ckpt.c). */
typedef struct Ccai_sqlite_ckpt Ccai_sqlite_ckpt;
/* NULL on NOMEM. Starts no thread: the first wake does. */
Ccai_sqlite_ckpt *Ccai_sqlite_ckpt_new(const char *path);
/* From the loop connection's WAL hook, frames in the WAL: ask for a run
 * when one is due, starting the thread the first time. False when the
 * thread cannot run (it could not start or open the file, or this is a
 * fork's child): the caller checkpoints. */
bool Ccai_sqlite_ckpt_wake(Ccai_sqlite_ckpt *c, int frames);
bool Ccai_sqlite_ckpt_usable(Ccai_sqlite_ckpt *c);
/* The loop checkpoints itself (the WAL is too long): the thread's RESTART
 * stops waiting for the write lock, and with it SQLite's checkpoint lock. */
void Ccai_sqlite_ckpt_yield(Ccai_sqlite_ckpt *c, bool yield);
/* A new error of the thread since the last call: true, its text in buf. */
bool Ccai_sqlite_ckpt_error(Ccai_sqlite_ckpt *c, char *buf, size_t size);
void Ccai_sqlite_ckpt_get_stats(Ccai_sqlite_ckpt *c, Ccai_sqlite_ckpt_stats *ret);
/* Stops the thread (a checkpoint under way is interrupted) and joins it. */
void Ccai_sqlite_ckpt_free(Ccai_sqlite_ckpt *c);

/* A sync waiting for the group's COMMIT (store/sqlite_group.c). */
typedef struct Ccai_sqlite_waiter {
    struct Ccai_sqlite_waiter *next;
    Ccai_store_done_fn done;
    void *ud;
    ccai_status status; /* told when it fires */
    bool keyed;         /* a sync of one call (key), false: of every write */
    char key[];
} Ccai_sqlite_waiter;

/* A call that wrote in the open group (keyed false: a write of no call),
 * or whose group failed and that no sync of it was told of yet (a fault;
 * store/sqlite_group.c). */
typedef struct Ccai_sqlite_gkey {
    struct Ccai_sqlite_gkey *next;
    ccai_status status; /* a fault's: the group's failure */
    bool keyed;
    bool told; /* a fault told to a sync: dropped */
    char key[];
} Ccai_sqlite_gkey;

typedef struct Ccai_sqlite {
    Ccai_store base; /* first: what store/store.c dispatches on */
    char *path;
    int busy_timeout_ms;
    uint64_t busy_since_us;      /* on_busy(): the start of the wait for a lock */
    uint64_t busy_last_us;       /* on_busy(): its last call */
    uint64_t contended_until_us; /* on_busy(): another writer seen lately (store/sqlite_group.c) */
    bool sync_full;
    sqlite3 *db;
    sqlite3_stmt *stmts[STMT_COUNT];
    Ccai_err err;
    int schema_version;
    bool in_tx; /* an explicit transaction from Ccai_store_begin() is open */
    /* The last failure of the database itself (full disk, read-only file, I/O
     * error), until a commit succeeds again: Ccai_store_can_write(). */
    char failure[256];
    char *wal_path;         /* NULL for a database in memory */
    int wal_fd;             /* the WAL, opened to ask for its write-back; -1 */
    uint64_t wal_wb;        /* write-backs asked (Ccai_sqlite_wal_writebacks()) */
    int wal_checkpointed;   /* frames in the WAL at this connection's last checkpoint */
    Ccai_sqlite_ckpt *ckpt; /* the checkpoint thread's, or NULL: checkpoints on this connection */
    bool ckpt_yield;        /* past WAL_BACKSTOP_FRAMES: the thread told to give way */
    const Ccai_logger *log; /* the checkpoint thread's errors; may be NULL */
    Ccai_sqlite_seen *seen; /* CCAI_SQLITE_SEEN_SLOTS, allocated at the first write of a call */
    /* Group commit (database.sqlite.group_commit, store/sqlite_group.c):
     * the writes of a loop turn in one transaction, committed by tick. */
    ccai_ctx *ctx;    /* the loop the groups commit on; NULL: each write commits */
    Ccai_timer tick;  /* 0 ms: the end of the loop's turn */
    bool group_open;  /* the group's BEGIN IMMEDIATE ran: this connection holds the write lock */
    int group_writes; /* writes in the open group */
    bool group_spent; /* a group of this loop turn ended early: its later writes commit at once */
    uint64_t group_start_us;
    Ccai_sqlite_waiter *waiters, *waiters_tail; /* syncs waiting for the open group's COMMIT */
    Ccai_sqlite_waiter *ready, *ready_tail;     /* told, to fire from the loop */
    Ccai_sqlite_gkey *members;                  /* the calls that wrote in the open group */
    Ccai_sqlite_gkey *faults; /* calls of failed groups not told to a sync of theirs yet */
    int n_faults;
    bool faults_lost; /* more faults than GROUP_FAULTS_MAX: failed closed */
    Ccai_sqlite_group_stats gstats;
    uint64_t busy_waits, busy_wait_us; /* waits for another connection's lock (on_busy()) */
} Ccai_sqlite;

static inline Ccai_sqlite *Ccai_sqlite_of(Ccai_store *store)
{
    return (Ccai_sqlite *)store;
}

static inline const Ccai_sqlite *Ccai_sqlite_of_const(const Ccai_store *store)
{
    return (const Ccai_sqlite *)store;
}

/* Errors, statements, one operation's transaction (store/sqlite.c; each
 * is described there). */
CCAI_MUST_CHECK ccai_status Ccai_sqlite_db_fail(Ccai_sqlite *st, const char *op);
CCAI_MUST_CHECK ccai_status Ccai_sqlite_fail(Ccai_sqlite *st, ccai_status status, const char *fmt,
                                             ...) CCAI_PRINTF(3, 4);
CCAI_MUST_CHECK ccai_status Ccai_sqlite_fail_nomem(Ccai_sqlite *st, const char *op);
CCAI_MUST_CHECK ccai_status Ccai_sqlite_stmt_get(Ccai_sqlite *st, enum Ccai_sqlite_stmt_id id,
                                                 sqlite3_stmt **ret);
void Ccai_sqlite_stmt_done(sqlite3_stmt *s);
int Ccai_sqlite_bind_text(sqlite3_stmt *s, int i, const char *v);
int Ccai_sqlite_bind_int(sqlite3_stmt *s, int i, int64_t v);
CCAI_MUST_CHECK bool Ccai_sqlite_dup_col(sqlite3_stmt *s, int i, char **out);
/* How long a start (the schema, its migrations) waits for another
 * connection's write lock: a worker starting beside another one that holds
 * it, for its own start or a group. */
#define CCAI_SQLITE_START_BUSY_MS 5000
/* Sets the connection's wait for a lock (ms; 0: none) and returns the one it
 * had, to be given back. */
int Ccai_sqlite_busy_timeout_swap(Ccai_sqlite *st, int ms);
CCAI_MUST_CHECK ccai_status Ccai_sqlite_exec_sql(Ccai_sqlite *st, const char *op, const char *sql);
CCAI_MUST_CHECK ccai_status Ccai_sqlite_exec_stmt(Ccai_sqlite *st, const char *op,
                                                  enum Ccai_sqlite_stmt_id id);
CCAI_MUST_CHECK ccai_status Ccai_sqlite_op_begin(Ccai_sqlite *st, const char *op, bool write);
CCAI_MUST_CHECK ccai_status Ccai_sqlite_op_end(Ccai_sqlite *st, const char *op, ccai_status status);
CCAI_MUST_CHECK bool Ccai_sqlite_utf8_valid(const char *s);
CCAI_MUST_CHECK bool Ccai_sqlite_utf8_ok(const char *s);

/* Group commit (store/sqlite_group.c). Before a write of call_id (NULL:
 * of no call): in group mode, opens the group (BEGIN IMMEDIATE) or joins
 * it, call_id counted among its writers (a failure of the group is told
 * to its next sync); commits the group first when it is full
 * (GROUP_MAX_WRITES, GROUP_MAX_US). No-op otherwise. */
CCAI_MUST_CHECK ccai_status Ccai_sqlite_group_enter(Ccai_sqlite *st, const char *call_id,
                                                    const char *op);
/* Ccai_sqlite_op_begin() for a write of call_id (the group's writer). */
CCAI_MUST_CHECK ccai_status Ccai_sqlite_op_begin_call(Ccai_sqlite *st, const char *call_id,
                                                      const char *op);
/* Whether operations run inside a transaction already (an explicit one or
 * the group): a savepoint, not a transaction, bounds each. */
static inline bool Ccai_sqlite_in_tx(const Ccai_sqlite *st)
{
    return st->in_tx || st->group_open;
}
/* Commit the open group now (its syncs are told, from the loop). */
CCAI_MUST_CHECK ccai_status Ccai_sqlite_group_commit(Ccai_sqlite *st, const char *op);
/* After a failed statement: SQLite rolled the whole group back (disk full,
 * I/O error): its syncs are told status. */
void Ccai_sqlite_group_check_lost(Ccai_sqlite *st, ccai_status status);
CCAI_MUST_CHECK ccai_status Ccai_sqlite_group_sync(Ccai_store *store, const char *call_id,
                                                   Ccai_store_done_fn done, void *ud);
/* The call's handle went (Ccai_store_forget_call()): its kept failure is
 * dropped, and it is no longer the open group's writer. */
void Ccai_sqlite_group_forget_call(Ccai_store *store, const char *call_id);
/* The open group committed now (Ccai_store_commit_now()). */
CCAI_MUST_CHECK ccai_status Ccai_sqlite_group_commit_now(Ccai_store *store);
/* The message of a store failed closed (too many untold failures), NULL. */
const char *Ccai_sqlite_group_faults_lost(const Ccai_sqlite *st);
/* Close: the open group is committed and every sync told. */
void Ccai_sqlite_group_close(Ccai_sqlite *st);
extern const Ccai_store_backend Ccai_sqlite_group_backend;
/* Whether store is one of this backend's (with group commit or not). */
CCAI_MUST_CHECK bool Ccai_sqlite_is(const Ccai_store *store);

/* The backend's operations on rows (the table is in store/sqlite.c; each
 * as its store/store.h counterpart). */
CCAI_MUST_CHECK ccai_status Ccai_sqlite_call_insert(Ccai_store *store, Ccai_store_call *c);
/* Forget what was written of the calls (a rollback may have undone it). */
void Ccai_sqlite_calls_forget(Ccai_sqlite *st);
CCAI_MUST_CHECK ccai_status Ccai_sqlite_call_update(Ccai_store *store, Ccai_store_call *c);
CCAI_MUST_CHECK ccai_status Ccai_sqlite_call_touch(Ccai_store *store, Ccai_store_call *c);
CCAI_MUST_CHECK ccai_status Ccai_sqlite_call_get(Ccai_store *store, const char *id,
                                                 Ccai_store_call **ret);
CCAI_MUST_CHECK ccai_status Ccai_sqlite_call_find_latest(Ccai_store *store, const char *phone,
                                                         int64_t since_ms, Ccai_store_call **ret);
CCAI_MUST_CHECK ccai_status Ccai_sqlite_call_find_provider(Ccai_store *store, const char *channel,
                                                           const char *provider_call_id,
                                                           Ccai_store_call **ret);
CCAI_MUST_CHECK ccai_status Ccai_sqlite_call_find_correlation(Ccai_store *store,
                                                              const char *channel,
                                                              const char *correlation_id,
                                                              Ccai_store_call **ret);
CCAI_MUST_CHECK ccai_status Ccai_sqlite_call_set_recording(Ccai_store *store, const char *id,
                                                           const char *url,
                                                           const char *recording_id,
                                                           int64_t duration_ms);
CCAI_MUST_CHECK ccai_status Ccai_sqlite_calls_stale(Ccai_store *store, int64_t before_ms,
                                                    size_t limit, Ccai_store_call ***ret_calls,
                                                    size_t *ret_n);
CCAI_MUST_CHECK ccai_status Ccai_sqlite_call_list(Ccai_store *store, const char *phone,
                                                  size_t limit, size_t offset,
                                                  Ccai_store_call ***ret_calls, size_t *ret_n,
                                                  size_t *ret_total);
CCAI_MUST_CHECK ccai_status Ccai_sqlite_message_append(Ccai_store *store, const char *call_id,
                                                       const Ccai_store_message *m,
                                                       int64_t *ret_seq);
CCAI_MUST_CHECK ccai_status Ccai_sqlite_messages_json(Ccai_store *store, const char *call_id,
                                                      json_t **ret);
CCAI_MUST_CHECK ccai_status Ccai_sqlite_messages_newest(Ccai_store *store, const char *call_id,
                                                        int64_t limit, int64_t max_seq,
                                                        Ccai_store_message_fn fn, void *ud);
CCAI_MUST_CHECK ccai_status Ccai_sqlite_message_delete(Ccai_store *store, const char *call_id,
                                                       int64_t seq);
CCAI_MUST_CHECK ccai_status Ccai_sqlite_message_set_content(Ccai_store *store, const char *call_id,
                                                            int64_t seq, const char *content);
CCAI_MUST_CHECK ccai_status Ccai_sqlite_reminder_upsert(Ccai_store *store, const char *call_id,
                                                        const char *title, const char *description,
                                                        int64_t due_at, const char *owner,
                                                        bool *ret_created);
CCAI_MUST_CHECK ccai_status Ccai_sqlite_reminders_json(Ccai_store *store, const char *call_id,
                                                       json_t **ret);
CCAI_MUST_CHECK ccai_status Ccai_sqlite_job_enqueue(Ccai_store *store, const char *kind,
                                                    const char *call_id, const char *payload,
                                                    int64_t run_at, int64_t *ret_id);
CCAI_MUST_CHECK ccai_status Ccai_sqlite_job_claim_kinds(Ccai_store *store, const char *kinds,
                                                        int64_t now, int64_t lease_ms,
                                                        Ccai_store_job **ret);
CCAI_MUST_CHECK ccai_status Ccai_sqlite_job_done(Ccai_store *store, int64_t id);
CCAI_MUST_CHECK ccai_status Ccai_sqlite_job_fail(Ccai_store *store, int64_t id, const char *error,
                                                 int64_t retry_at);
CCAI_MUST_CHECK ccai_status Ccai_sqlite_job_set_payload(Ccai_store *store, int64_t id,
                                                        const char *payload);
CCAI_MUST_CHECK ccai_status Ccai_sqlite_job_get(Ccai_store *store, int64_t id,
                                                Ccai_store_job **ret);
CCAI_MUST_CHECK ccai_status Ccai_sqlite_jobs_of_call(Ccai_store *store, const char *call_id,
                                                     const char *kinds, size_t limit,
                                                     Ccai_store_job ***ret, size_t *ret_n);
/* store/sqlite_phrases.c */
CCAI_MUST_CHECK ccai_status Ccai_sqlite_phrases_get(Ccai_store *store, const char *lang,
                                                    const char *source_hash, char **ret_json);
CCAI_MUST_CHECK ccai_status Ccai_sqlite_phrases_put(Ccai_store *store, const char *lang,
                                                    const char *source_hash,
                                                    const char *phrases_json, const char *model);
CCAI_MUST_CHECK ccai_status Ccai_sqlite_job_next_due_kinds(Ccai_store *store, const char *kinds,
                                                           int64_t *ret_run_at);

/* store/sqlite_lease.c */
CCAI_MUST_CHECK ccai_status Ccai_sqlite_lease_acquire(Ccai_store *store, const char *call_id,
                                                      const char *owner, const char *url,
                                                      int64_t now, int64_t ttl_ms,
                                                      Ccai_store_lease *ret_holder);
CCAI_MUST_CHECK ccai_status Ccai_sqlite_lease_release(Ccai_store *store, const char *call_id,
                                                      const char *owner);
CCAI_MUST_CHECK ccai_status Ccai_sqlite_lease_get(Ccai_store *store, const char *call_id,
                                                  Ccai_store_lease *ret);

#endif
