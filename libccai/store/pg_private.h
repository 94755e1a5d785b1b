/* What the parts of the PostgreSQL backend share (store/pg.c: the
 * connection, waiting for answers, errors, migrating, the backend's table;
 * pg_pipe.c: the pipelined writes, their groups and syncs; pg_schema.c: the migrations and every
 * statement's SQL; pg_rows.c: the rows). Nothing outside store/pg*.c includes it. */
#ifndef CCAI_STORE_PG_PRIVATE_H
#define CCAI_STORE_PG_PRIVATE_H

#include "store/pg.h"

#include "io/io.h"

#include <libpq-fe.h>

/* The statements, each prepared once per connection. */
enum Ccai_pg_stmt_id {
    PG_VERSION,
    PG_CALL_INSERT,
    PG_CALL_UPDATE,
    PG_CALL_TOUCH,
    PG_CALL_EXISTS,
    PG_CALL_GET,
    PG_CALL_FIND_LATEST,
    PG_CALL_FIND_PROVIDER,
    PG_CALL_FIND_CORRELATION,
    PG_CALL_SET_RECORDING,
    PG_CALL_STALE,
    PG_CALL_LIST_ALL,
    PG_CALL_LIST_PHONE,
    PG_MESSAGE_APPEND,
    PG_MESSAGES,
    PG_MESSAGES_NEWEST,
    PG_MESSAGE_DELETE,
    PG_MESSAGE_SET_CONTENT,
    PG_REMINDER_UPSERT,
    PG_REMINDERS,
    PG_JOB_ENQUEUE,
    PG_JOB_CLAIM,
    PG_JOB_DONE,
    PG_JOB_FAIL,
    PG_JOB_NEXT_DUE,
    PG_JOB_SET_PAYLOAD,
    PG_JOB_GET,
    PG_JOBS_OF_CALL,
    PG_PHRASES_GET,
    PG_PHRASES_PUT,
    PG_HEALTH,
    /* Pipelined writes (pg_pipe.c): CALL_UPDATE failing (CC409, CC404) instead
     * of answering "no row", so that the failure aborts the group of
     * writes it was sent in. */
    PG_CALL_UPDATE_PIPE,
    PG_LEASE_ACQUIRE,
    PG_LEASE_RELEASE,
    PG_LEASE_GET,
    PG_STMT_COUNT
};

/* migrations[i] brings the schema to version i + 1 (pg_schema.c). */
extern const char *const Ccai_pg_migrations[CCAI_STORE_SCHEMA_VERSION];
extern const char *const Ccai_pg_stmt_sql[PG_STMT_COUNT];
/* The columns of a call as the statements select them (read_call). */
#define PG_CALL_NCOLS 21

/* Beyond the statement timeout, how long an answer may take to arrive
 * before the connection is deemed lost. */
#define PG_ANSWER_MARGIN_MS 1000

/* Calls' failed groups kept untold for the next sync of their call, at
 * most; beyond, the store fails closed (pg_pipe.c, fault_add()). */
#define PG_FAULTS_MAX 4096
extern const char Ccai_pg_faults_lost_msg[];

/* Pipelined writes (pg_pipe.c): what waits for a group's commit. */
typedef struct Ccai_pg_waiter {
    struct Ccai_pg_waiter *next;
    Ccai_store_done_fn done;
    void *ud;
    ccai_status status; /* once known */
    char msg[300];      /* its text when it failed */
    bool keyed;         /* told the failures of key's writes only */
    char key[];         /* the call's id (Ccai_store_sync_call()) */
} Ccai_pg_waiter;

/* A group that failed, not told to a sync of its call yet. */
typedef struct Ccai_pg_fault {
    struct Ccai_pg_fault *next;
    ccai_status status;
    char msg[300];
    bool told; /* by the group being answered: dropped after it */
    bool keyed;
    char key[];
} Ccai_pg_fault;

/* What was sent in the pipeline, in order, waiting for its answer. */
typedef enum { PG_SENT_PREPARE, PG_SENT_WRITE, PG_SENT_SYNC } Ccai_pg_sent_kind;
typedef struct Ccai_pg_sent {
    struct Ccai_pg_sent *next;
    Ccai_pg_sent_kind kind;
    enum Ccai_pg_stmt_id id;
    const char *op;          /* static text */
    Ccai_pg_waiter *waiters; /* PG_SENT_SYNC: the syncs waiting for it */
    char *key;               /* PG_SENT_SYNC: the call whose group it ends, or NULL */
    bool durable;            /* PG_SENT_SYNC: committed with synchronous_commit (the others: off) */
    bool barrier;            /* PG_SENT_SYNC: the turn's flush, a group of no write of ours */
    bool forgotten;          /* PG_SENT_SYNC: its call's handle went (Ccai_pg_forget_call()) */
} Ccai_pg_sent;

typedef struct Ccai_pg {
    Ccai_store base; /* first: what store/store.c dispatches on */
    char *dsn;       /* secret */
    char *location;  /* host:port/dbname, no secret */
    int connect_timeout_ms;
    int statement_timeout_ms;
    /* Readable: stop waiting for the server (Ccai_pg_open_wakeable()); -1:
     * none. */
    int wake_fd;
    PGconn *conn; /* NULL after a lost connection: the next operation connects */
    bool prepared[PG_STMT_COUNT];
    Ccai_err err;
    int schema_version;
    bool in_tx;   /* an explicit transaction from Ccai_store_begin() is open */
    bool tx_sent; /* ... and its BEGIN was sent (with its first statement) */
    bool tx_lost; /* ... and the connection was lost in it */
    char failure[256];
    /* Pipelined writes, when the store drives its connection on a loop
     * (Ccai_pg_pipeline()): NULL ctx otherwise. */
    ccai_ctx *ctx;
    int watched_fd; /* -1 when none */
    int watched_events;
    Ccai_pg_sent *sent, *sent_tail; /* in flight, oldest first */
    bool unsynced;                  /* writes sent since the last sync */
    char *run_key;                  /* ... all of this call (NULL: of no call) */
    bool run_forgotten;             /* ... whose handle went since (Ccai_pg_forget_call()) */
    Ccai_pg_waiter *next_waiters;   /* the syncs waiting for the group of those writes */
    ccai_status group_status;       /* of the group being answered */
    char group_msg[300];
    size_t async_groups;     /* groups sent since the last durable one */
    Ccai_pg_sent *unflushed; /* groups committed without a flush since the last durable one */
    Ccai_pg_fault *faults;   /* failed groups no sync of their call was told of yet */
    size_t n_faults;
    bool faults_lost; /* more failures than kept: every sync fails (fault_add()) */
    size_t n_groups;  /* groups (transactions) sent (describe) */
    Ccai_pg_waiter *ready, *ready_tail; /* completions to fire from the loop */
    Ccai_timer tick;                    /* sends the group's sync, fires the ready */
    Ccai_timer deadline;                /* the answers of the oldest group are late */
    size_t n_pipelined;                 /* writes sent in the pipeline (describe) */
} Ccai_pg;

static inline Ccai_pg *Ccai_pg_of(Ccai_store *store)
{
    return (Ccai_pg *)store;
}

/* A statement's parameters, as text (NULL: SQL NULL). */
#define PG_PARAMS_MAX 20
typedef struct Ccai_pg_params {
    int n;
    const char *v[PG_PARAMS_MAX];
    char num[PG_PARAMS_MAX][24];
} Ccai_pg_params;

void Ccai_pg_text(Ccai_pg_params *p, const char *v);
void Ccai_pg_int(Ccai_pg_params *p, int64_t v);

CCAI_MUST_CHECK ccai_status Ccai_pg_fail(Ccai_pg *st, ccai_status status, const char *fmt, ...)
    CCAI_PRINTF(3, 4);
CCAI_MUST_CHECK ccai_status Ccai_pg_fail_nomem(Ccai_pg *st, const char *op);
/* Whether the store pipelines its writes (Ccai_pg_pipeline()) now: not
 * inside an explicit transaction. */
CCAI_MUST_CHECK bool Ccai_pg_pipelined(const Ccai_pg *st);
/* Send write id with p, a write of call key (NULL: of no call), in the
 * pipeline and return once it is sent (CCAI_OK) or failed at once; its
 * answer is read from the loop, and its failure fails its group (the
 * call's run of writes: pg_pipe.c), told to the call's next sync (store.h:
 * persist, then act). */
CCAI_MUST_CHECK ccai_status Ccai_pg_write(Ccai_pg *st, const char *key, const char *op,
                                          enum Ccai_pg_stmt_id id, const Ccai_pg_params *p);
/* Run statement id with p (one round trip, once the pipelined writes in
 * flight are answered; inside an explicit transaction
 * a savepoint makes a failure undo this statement alone). *ret: the rows
 * (PQclear()) on CCAI_OK. A failure's status is the SQLSTATE's
 * (CONFLICT for a unique key, NOT_FOUND for a foreign key, INVALID_ARG for
 * a refused value, BUSY for a lock or the statement timeout, STORE). */
CCAI_MUST_CHECK ccai_status Ccai_pg_run(Ccai_pg *st, const char *op, enum Ccai_pg_stmt_id id,
                                        const Ccai_pg_params *p, PGresult **ret);
/* The connection (pg.c) --------------------------------------------------- */

/* The connection is gone or unusable: forgotten (the next operation
 * connects again), the failure kept for the readiness check, the
 * pipelined writes in flight failed. Returns CCAI_ERR_STORE. */
CCAI_MUST_CHECK ccai_status Ccai_pg_conn_lost(Ccai_pg *st, const char *op, const char *why);
/* A failed statement's status (from its SQLSTATE) and text. */
CCAI_MUST_CHECK ccai_status Ccai_pg_result_fail(Ccai_pg *st, const char *op, const PGresult *r);
/* The connection parameters of a DSN (PQconnectStartParams()): keys and
 * values, NULL-terminated. */
typedef struct Ccai_pg_conninfo {
    char **keys;
    char **vals;
    size_t n;
} Ccai_pg_conninfo;
void Ccai_pg_conninfo_free(Ccai_pg_conninfo *p);
/* Resolve the host names of @p dsn on a thread of their own (pg_resolve.c),
 * waiting until the deadline (monotonic ms) or @p wake_fd (-1: none):
 * 1 with *ret the DSN's parameters with hostaddr set (NULL: nothing to
 * resolve, connect with the DSN as it is), 0 with why (no answer in time,
 * an unknown name), -1 woken. */
CCAI_MUST_CHECK int Ccai_pg_resolve(const char *dsn, int wake_fd, uint64_t deadline,
                                    Ccai_pg_conninfo **ret, char *why, size_t cap);
/* Wait until st's connection is ready for events (1), the deadline
 * (monotonic ms) passes (0) or, when st has a wake-up fd, that fd is
 * readable (-1: whoever woke it wants no more). */
CCAI_MUST_CHECK int Ccai_pg_wait_conn(const Ccai_pg *st, short events, uint64_t deadline);
/* When an answer asked now is late: the statement timeout and a margin. */
CCAI_MUST_CHECK uint64_t Ccai_pg_answer_deadline(const Ccai_pg *st);
/* The connection, opened again after a loss (never inside a transaction). */
CCAI_MUST_CHECK ccai_status Ccai_pg_ensure_conn(Ccai_pg *st, const char *op);
/* SQL without parameters (several statements allowed), one round trip. */
CCAI_MUST_CHECK ccai_status Ccai_pg_exec_sql(Ccai_pg *st, const char *op, const char *sql);

/* The pipeline (pg_pipe.c) ------------------------------------------------ */

/* The connection is gone: every sync waiting is told, the writes sent
 * since the last one fail the next sync. */
void Ccai_pg_pipe_fail_all(Ccai_pg *st, const char *why);
/* A new connection of a pipelined store: its per-connection function,
 * its socket watched. */
CCAI_MUST_CHECK ccai_status Ccai_pg_pipe_prepare_conn(Ccai_pg *st);
/* Every write sent answered (bounded by the statement timeout), the
 * connection out of pipeline mode: before a statement that waits. */
CCAI_MUST_CHECK ccai_status Ccai_pg_pipe_drain(Ccai_pg *st, const char *op);
/* The store goes: what was accepted is committed, every sync told. */
void Ccai_pg_pipe_close(Ccai_pg *st);
/* The backend's sync() (store.h: persist, then act). */
CCAI_MUST_CHECK ccai_status Ccai_pg_sync(Ccai_store *store, const char *call_id,
                                         Ccai_store_done_fn done, void *ud);
/* The backend's forget_call(): call_id's untold failure is dropped. */
void Ccai_pg_forget_call(Ccai_store *store, const char *call_id);

/* An ad hoc statement of a batch (store/pg_docs.c): its SQL (one
 * statement, its parameters cast in it), its text parameters, and which
 * one (1-based; 0: none) is sent as blob_len bytes (a bytea) instead. */
typedef struct Ccai_pg_sql {
    const char *sql;
    const Ccai_pg_params *p; /* NULL: none */
    int blob;
    size_t blob_len;
} Ccai_pg_sql;
#define PG_BATCH_MAX 24
/* Run the n (<= PG_BATCH_MAX) statements q as one transaction in one round trip (libpq's
 * pipeline mode, one sync: a failure rolls them all back), bounded by the
 * statement timeout like Ccai_pg_run(); on a store neither pipelined nor
 * in an explicit transaction (refused: CCAI_ERR_STATE). ret (may be
 * NULL): n results (PQclear() each) on CCAI_OK, their rows in binary when
 * binary_rows. A failure's status is Ccai_pg_run()'s. */
CCAI_MUST_CHECK ccai_status Ccai_pg_batch(Ccai_pg *st, const char *op, const Ccai_pg_sql *q,
                                          size_t n, bool binary_rows, PGresult **ret);
/* Rows: a copy of a column (NULL stays NULL; false on out of memory), a
 * jsonb column made compact, an integer (NULL reads as 0). */
CCAI_MUST_CHECK bool Ccai_pg_dup(const PGresult *r, int row, int col, char **out);
CCAI_MUST_CHECK bool Ccai_pg_dup_json(const PGresult *r, int row, int col, char **out);
int64_t Ccai_pg_int64(const PGresult *r, int row, int col);

CCAI_MUST_CHECK ccai_status Ccai_pg_phrases_get(Ccai_store *store, const char *lang,
                                                const char *source_hash, char **ret_json);
CCAI_MUST_CHECK ccai_status Ccai_pg_phrases_put(Ccai_store *store, const char *lang,
                                                const char *source_hash, const char *phrases_json,
                                                const char *model);
CCAI_MUST_CHECK ccai_status Ccai_pg_call_insert(Ccai_store *store, Ccai_store_call *c);
CCAI_MUST_CHECK ccai_status Ccai_pg_call_update(Ccai_store *store, Ccai_store_call *c);
CCAI_MUST_CHECK ccai_status Ccai_pg_call_touch(Ccai_store *store, Ccai_store_call *c);
CCAI_MUST_CHECK ccai_status Ccai_pg_call_get(Ccai_store *store, const char *id,
                                             Ccai_store_call **ret);
CCAI_MUST_CHECK ccai_status Ccai_pg_call_find_latest(Ccai_store *store, const char *phone,
                                                     int64_t since_ms, Ccai_store_call **ret);
CCAI_MUST_CHECK ccai_status Ccai_pg_call_find_provider(Ccai_store *store, const char *channel,
                                                       const char *provider_call_id,
                                                       Ccai_store_call **ret);
CCAI_MUST_CHECK ccai_status Ccai_pg_call_find_correlation(Ccai_store *store, const char *channel,
                                                          const char *correlation_id,
                                                          Ccai_store_call **ret);
CCAI_MUST_CHECK ccai_status Ccai_pg_call_set_recording(Ccai_store *store, const char *id,
                                                       const char *url, const char *recording_id,
                                                       int64_t duration_ms);
CCAI_MUST_CHECK ccai_status Ccai_pg_calls_stale(Ccai_store *store, int64_t before_ms, size_t limit,
                                                Ccai_store_call ***ret_calls, size_t *ret_n);
CCAI_MUST_CHECK ccai_status Ccai_pg_call_list(Ccai_store *store, const char *phone, size_t limit,
                                              size_t offset, Ccai_store_call ***ret_calls,
                                              size_t *ret_n, size_t *ret_total);
CCAI_MUST_CHECK ccai_status Ccai_pg_message_append(Ccai_store *store, const char *call_id,
                                                   const Ccai_store_message *m, int64_t *ret_seq);
CCAI_MUST_CHECK ccai_status Ccai_pg_messages_json(Ccai_store *store, const char *call_id,
                                                  json_t **ret);
CCAI_MUST_CHECK ccai_status Ccai_pg_messages_newest(Ccai_store *store, const char *call_id,
                                                    int64_t limit, int64_t max_seq,
                                                    Ccai_store_message_fn fn, void *ud);
CCAI_MUST_CHECK ccai_status Ccai_pg_message_delete(Ccai_store *store, const char *call_id,
                                                   int64_t seq);
CCAI_MUST_CHECK ccai_status Ccai_pg_message_set_content(Ccai_store *store, const char *call_id,
                                                        int64_t seq, const char *content);
CCAI_MUST_CHECK ccai_status Ccai_pg_reminder_upsert(Ccai_store *store, const char *call_id,
                                                    const char *title, const char *description,
                                                    int64_t due_at, const char *owner,
                                                    bool *ret_created);
CCAI_MUST_CHECK ccai_status Ccai_pg_reminders_json(Ccai_store *store, const char *call_id,
                                                   json_t **ret);
CCAI_MUST_CHECK ccai_status Ccai_pg_job_enqueue(Ccai_store *store, const char *kind,
                                                const char *call_id, const char *payload,
                                                int64_t run_at, int64_t *ret_id);
CCAI_MUST_CHECK ccai_status Ccai_pg_job_claim_kinds(Ccai_store *store, const char *kinds,
                                                    int64_t now, int64_t lease_ms,
                                                    Ccai_store_job **ret);
CCAI_MUST_CHECK ccai_status Ccai_pg_job_done(Ccai_store *store, int64_t id);
CCAI_MUST_CHECK ccai_status Ccai_pg_job_fail(Ccai_store *store, int64_t id, const char *error,
                                             int64_t retry_at);
CCAI_MUST_CHECK ccai_status Ccai_pg_job_set_payload(Ccai_store *store, int64_t id,
                                                    const char *payload);
CCAI_MUST_CHECK ccai_status Ccai_pg_job_get(Ccai_store *store, int64_t id, Ccai_store_job **ret);
CCAI_MUST_CHECK ccai_status Ccai_pg_jobs_of_call(Ccai_store *store, const char *call_id,
                                                 const char *kinds, size_t limit,
                                                 Ccai_store_job ***ret, size_t *ret_n);
CCAI_MUST_CHECK ccai_status Ccai_pg_job_next_due_kinds(Ccai_store *store, const char *kinds,
                                                       int64_t *ret_run_at);

/* store/pg_lease.c */
CCAI_MUST_CHECK ccai_status Ccai_pg_lease_acquire(Ccai_store *store, const char *call_id,
                                                  const char *owner, const char *url, int64_t now,
                                                  int64_t ttl_ms, Ccai_store_lease *ret_holder);
CCAI_MUST_CHECK ccai_status Ccai_pg_lease_release(Ccai_store *store, const char *call_id,
                                                  const char *owner);
CCAI_MUST_CHECK ccai_status Ccai_pg_lease_get(Ccai_store *store, const char *call_id,
                                              Ccai_store_lease *ret);

#endif
