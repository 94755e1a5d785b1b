/* Persistence: the store interface the engine and the routes use. A
 * backend implements it as a table of functions (Ccai_store_backend):
 * store/sqlite.c and store/pg.c (PostgreSQL through libpq; on a context's
 * loop its writes are pipelined, asynchronous as below: docs/deployment.md
 * says what still waits and what it costs).
 *
 * Rules:
 * - Times are wall-clock milliseconds since the epoch (UTC).
 * - JSON columns hold JSON text; NULL means "not set".
 * - Errors: the status plus text in Ccai_store_errmsg(). CCAI_ERR_BUSY: another
 *   connection (another process) held the write lock past the busy timeout;
 *   nothing was written and the same write may succeed later. CCAI_ERR_STORE:
 *   the database failed (full disk, read-only file, I/O error, ...).
 * - One thread per store: the context's.
 *
 * Persist, then act (the contract an asynchronous backend relies on):
 * 1. A write returns CCAI_OK once the backend has accepted it: it is applied
 *    in order, after every write accepted before it, and every later read
 *    of this store sees it. A write that fails at once returns its error and
 *    is not applied.
 * 2. Durability is told by Ccai_store_sync(st, done, ud): done(status, ud)
 *    fires exactly once, when every write accepted before the call is
 *    committed (CCAI_OK) or when one of them failed for good (its status;
 *    the writes of its group are rolled back: a PostgreSQL pipelined
 *    group, below; the others stand). A call that fails fires nothing.
 *    Ccai_store_sync_call(st, call_id, ...) fires at the same moment but
 *    tells only the failure of call_id's own writes: a call's failure never
 *    fails another call's acts.
 * 3. The engine acts on a change (tells the host, speaks, answers a
 *    webhook, starts a job) only from such a completion: the one place is
 *    Ccai_call_after_commit() (engine/engine.h).
 * SQLite commits each write before it returns: its writes are durable when
 * they return CCAI_OK and its sync() fires done before it returns, so the
 * engine acts at once, as it always did; with group commit
 * (database.sqlite.group_commit, store/sqlite_group.c) a loop turn's
 * writes are one transaction, committed at the turn's end, and its syncs
 * fire then, from the loop (a failed write still fails at once, alone; a
 * failed COMMIT is told to the calls that wrote in the group, at their
 * next sync if none waited, as below). An asynchronous backend
 * (PostgreSQL pipelined, store/pg.c) pipelines the writes and fires done
 * from the loop when the commit's result comes back; a write that fails
 * there fails the writes committed with it (its group: its call's run of
 * consecutive writes, pg_pipe.c: calls A, B, A written in one turn are
 * three groups, and A's second commits if its own writes succeed), told
 * to the syncs of that call (a failure is never forgotten untold). Its
 * reads stay synchronous: they wait for the writes in flight to be
 * answered first (answering them from what it keeps of the calls this
 * context owns needs the leases of issue 14). */
#ifndef CCAI_STORE_STORE_H
#define CCAI_STORE_STORE_H

#include "core/common.h"

#include <jansson.h>

typedef struct Ccai_store Ccai_store;
typedef struct Ccai_store_backend Ccai_store_backend;

/* The schema version the migrations bring a database to. */
#define CCAI_STORE_SCHEMA_VERSION 7

/* Every backend's store begins with this: what the functions below
 * dispatch on. */
struct Ccai_store {
    const Ccai_store_backend *backend;
};

/* The store of a context (tests, tools): the composition root's. */
Ccai_store *Ccai_ctx_store(ccai_ctx *ctx);

/* What a backend is opened with (dependency injection): the context's
 * handle, whose loop (io/io.h: Ccai_ctx_loop(), fds and timers) an
 * asynchronous backend drives its connection on, the configuration
 * (database.<mode>.*) and the log. io/ is a lower layer than store/ for
 * that reason (libccai/layers.map). */
typedef struct Ccai_store_env {
    ccai_ctx *ctx;
    const ccai_config *cfg;
    const Ccai_logger *log;
} Ccai_store_env;

/* Open the backend that database.mode names, as the configuration says
 * (database.<mode>.*), creating and migrating the schema as needed.
 * Statuses: CCAI_OK; CCAI_ERR_UNSUPPORTED (no such backend); the backend's
 * (CCAI_ERR_STORE, CCAI_ERR_BUSY, CCAI_ERR_NOMEM). On failure *ret_errmsg
 * (may be NULL) says why, freed with ccai_free(). */
CCAI_MUST_CHECK ccai_status Ccai_store_open_config(const Ccai_store_env *env,
                                                   const Ccai_store_backend *const *backends,
                                                   size_t n_backends, Ccai_store **ret,
                                                   char **ret_errmsg);
void Ccai_store_close(Ccai_store *st);
const char *Ccai_store_errmsg(const Ccai_store *st);
int Ccai_store_schema_version(Ccai_store *st);
/* The backend's name ("sqlite"). */
const char *Ccai_store_backend_name(const Ccai_store *st);
/* Where the data lives, without any secret: the SQLite file, a
 * PostgreSQL host and database. Borrowed while st lives. */
const char *Ccai_store_location(const Ccai_store *st);
/* What the store is, as a JSON object: {"backend", "location", "schema_version",
 * and the backend's own settings}. */
CCAI_MUST_CHECK ccai_status Ccai_store_describe(Ccai_store *st, json_t **ret);

/* Persist, then act: done(status, ud) fires once every write accepted
 * before this call is committed, or one failed (see the top of the file).
 * SQLite fires it before returning. Statuses: CCAI_OK (done fires);
 * CCAI_ERR_INVALID_ARG, CCAI_ERR_NOMEM (done does not fire). */
typedef void (*Ccai_store_done_fn)(ccai_status status, void *ud);
CCAI_MUST_CHECK ccai_status Ccai_store_sync(Ccai_store *st, Ccai_store_done_fn done, void *ud);
/* The same for one call (the engine's: each call waits for its own acts).
 * done fires at the same moment, but its status is the failure of one of
 * call_id's own writes only (the writes of other calls, or of no call, may
 * have failed: not this call's concern; pg_pipe.c commits each call's run
 * of writes in its own transaction). call_id NULL: as Ccai_store_sync(),
 * every write's failure. Statuses as Ccai_store_sync(). */
/* Commit now what was accepted and waits for the end of the loop's turn
 * (SQLite's group commit; the other backends commit as they write or
 * pipeline: CCAI_OK at once), for the blocking operations of the public
 * API, whose writes are committed when they return; the syncs waiting are
 * told from the loop, as at the end of the turn. The COMMIT's status. */
CCAI_MUST_CHECK ccai_status Ccai_store_commit_now(Ccai_store *st);
CCAI_MUST_CHECK ccai_status Ccai_store_sync_call(Ccai_store *st, const char *call_id,
                                                 Ccai_store_done_fn done, void *ud);
/* The call's handle is gone (engine/call.c): a failure of its writes that
 * no sync of it was told is dropped (nothing acts on it any more; a new
 * handle reads the stored row), so that failures of calls that never sync
 * again do not pile up. No-op for a backend whose writes are durable. */
void Ccai_store_forget_call(Ccai_store *st, const char *call_id);
/* Whether a write is committed when it returns CCAI_OK (SQLite): the engine
 * may then act at once, without waiting for sync(). */
CCAI_MUST_CHECK bool Ccai_store_writes_durable(const Ccai_store *st);

/* Whether the store can write now, for real: one commit (of store_health's
 * row). CCAI_ERR_BUSY when another process holds the write lock,
 * CCAI_ERR_STORE when the file is read-only, the disk full, ...; the text in
 * Ccai_store_errmsg(). A success clears Ccai_store_failure(). */
CCAI_MUST_CHECK ccai_status Ccai_store_check_write(Ccai_store *st);
/* The same, cheap enough for every request that will write: the write lock
 * is taken and given back (no page written, no fsync); after a failure of
 * the database itself (Ccai_store_failure() set) a real commit decides. OK
 * inside an explicit transaction (the lock is held). */
CCAI_MUST_CHECK ccai_status Ccai_store_can_write(Ccai_store *st);
/* The text of the last failure of the database itself (full disk, read-only
 * file, I/O error), NULL when none since the last successful
 * Ccai_store_check_write(). Borrowed until the next call on st. */
const char *Ccai_store_failure(const Ccai_store *st);

/* One row of `calls`. Strings are heap copies owned by the struct. */
typedef struct Ccai_store_call {
    char id[37];
    ccai_direction direction;
    char *phone_number;     /* caller / callee, E.164 */
    char *bot_phone_number; /* may be NULL */
    char *channel;          /* "local", "twilio", ... */
    char *provider_call_id; /* may be NULL */
    char *state;            /* ccai_call_state_str() */
    char *lang;             /* short code, may be NULL */
    char *initiate_json;    /* required */
    char *claim_json;       /* required, "{}" when empty */
    char *next_json;        /* may be NULL */
    char *synthesis_json;   /* may be NULL */
    char *recording_url;    /* may be NULL */
    char *callback_secret;  /* required, per call */
    int64_t created_at;
    int64_t updated_at;
    int64_t row_version;  /* 1 after insert, +1 per update */
    char *correlation_id; /* the provider's other id of the call (ACS correlationId), or NULL */
    char *end_reason;     /* why it ended ("completed", "interrupted", ...), or NULL */
    char *recording_id;   /* the provider's id of the recording, or NULL */
    int64_t recording_duration_ms; /* 0 when unknown */
} Ccai_store_call;

void Ccai_store_call_clear(Ccai_store_call *c); /* frees the strings, zeroes */
void Ccai_store_call_free(Ccai_store_call *c);  /* clear + free the struct */

/* Insert a new call; sets created_at/updated_at when 0 and row_version = 1. */
CCAI_MUST_CHECK ccai_status Ccai_store_call_insert(Ccai_store *st, Ccai_store_call *c);

/* Update every column of c but the recording's (recording_url, recording_id,
 * recording_duration_ms: see Ccai_store_call_set_recording) where id = c->id
 * AND row_version = c->row_version.
 * On success c->row_version is incremented and updated_at set.
 * CCAI_ERR_CONFLICT when the stored row_version differs (a stale writer),
 * CCAI_ERR_NOT_FOUND when there is no such call. */
CCAI_MUST_CHECK ccai_status Ccai_store_call_update(Ccai_store *st, Ccai_store_call *c);

/* A sign of life of a call in progress: updated_at is now, row_version + 1,
 * on the same condition and with the same statuses as
 * Ccai_store_call_update(); nothing else is written. */
CCAI_MUST_CHECK ccai_status Ccai_store_call_touch(Ccai_store *st, Ccai_store_call *c);

/* NOT_FOUND when absent. *ret freed with Ccai_store_call_free(). */
CCAI_MUST_CHECK ccai_status Ccai_store_call_get(Ccai_store *st, const char *id,
                                                Ccai_store_call **ret);

/* The latest call whose phone_number or claim.policyholder_phone equals
 * phone (exact E.164 match), created at or after since_ms (0 = no limit). */
CCAI_MUST_CHECK ccai_status Ccai_store_call_find_latest(Ccai_store *st, const char *phone,
                                                        int64_t since_ms, Ccai_store_call **ret);

/* The latest call of channel ("acs", "twilio") whose provider_call_id is
 * provider_call_id. NOT_FOUND when none. */
CCAI_MUST_CHECK ccai_status Ccai_store_call_find_provider(Ccai_store *st, const char *channel,
                                                          const char *provider_call_id,
                                                          Ccai_store_call **ret);

/* The latest call of channel whose correlation_id is correlation_id.
 * NOT_FOUND when none. */
CCAI_MUST_CHECK ccai_status Ccai_store_call_find_correlation(Ccai_store *st, const char *channel,
                                                             const char *correlation_id,
                                                             Ccai_store_call **ret);

/* Store what the provider says of the call's recording, whatever the call's
 * state: each argument given (url and recording_id not NULL, duration_ms >
 * 0) replaces the stored one. Neither row_version nor updated_at change (a
 * recording is no sign of life of the call), and no Ccai_store_call_update()
 * from an older copy of the row erases it. NOT_FOUND when there is no such
 * call. */
CCAI_MUST_CHECK ccai_status Ccai_store_call_set_recording(Ccai_store *st, const char *id,
                                                          const char *url, const char *recording_id,
                                                          int64_t duration_ms);

/* Calls in progress (state neither "ended" nor "done") whose last activity
 * (updated_at, and the time of their last message) is before before_ms,
 * oldest first, at most limit. *ret_calls is an array of *ret_n pointers,
 * freed with Ccai_store_call_list_free(). */
CCAI_MUST_CHECK ccai_status Ccai_store_calls_stale(Ccai_store *st, int64_t before_ms, size_t limit,
                                                   Ccai_store_call ***ret_calls, size_t *ret_n);

/* The newest calls first (created_at DESC, then insertion order), filtered by
 * phone (caller number or policyholder phone) when phone is not NULL;
 * *ret_total counts all matches. *ret_calls is an array of *ret_n
 * pointers, freed with Ccai_store_call_list_free(). */
CCAI_MUST_CHECK ccai_status Ccai_store_call_list(Ccai_store *st, const char *phone, size_t limit,
                                                 size_t offset, Ccai_store_call ***ret_calls,
                                                 size_t *ret_n, size_t *ret_total);
void Ccai_store_call_list_free(Ccai_store_call **calls, size_t n);

/* Messages ------------------------------------------------------------- */

typedef struct Ccai_store_message {
    int64_t seq;         /* 1, 2, ... per call; set by append */
    const char *persona; /* "human" | "assistant" | "tool" */
    const char *action;  /* "call" | "hangup" | "sms" | "talk" | "transfer" ... */
    const char *style;   /* "none" | "cheerful" | "sad" */
    const char *content;
    const char *lang;            /* may be NULL */
    const char *tool_calls_json; /* JSON array or NULL */
    const char *engine;          /* which engine answered: "llm:fast", "offline", NULL */
    int64_t created_at;          /* set when 0 */
} Ccai_store_message;

/* Append at the end of the call's conversation; *ret_seq (may be NULL). */
CCAI_MUST_CHECK ccai_status Ccai_store_message_append(Ccai_store *st, const char *call_id,
                                                      const Ccai_store_message *m,
                                                      int64_t *ret_seq);

/* The call's messages in order, as a JSON array of objects
 * {seq, created_at (ISO 8601), persona, action, style, content, lang,
 *  tool_calls (array), engine}. */
CCAI_MUST_CHECK ccai_status Ccai_store_messages_json(Ccai_store *st, const char *call_id,
                                                     json_t **ret);
/* Receives one stored message; its strings are borrowed until it returns.
 * Non-zero stops the reading. It must not call the store. */
typedef int (*Ccai_store_message_fn)(const Ccai_store_message *m, void *ud);
/* The newest limit messages whose seq is at most max_seq (< 0: any),
 * newest first, each given to fn (what a turn's context can hold: a turn's
 * cost does not grow with the call, and no row older than the first that
 * does not fit is read). NOT_FOUND when the call has no message and does
 * not exist; CCAI_ERR_STORE when a stored text is not valid UTF-8. */
CCAI_MUST_CHECK ccai_status Ccai_store_messages_newest(Ccai_store *st, const char *call_id,
                                                       int64_t limit, int64_t max_seq,
                                                       Ccai_store_message_fn fn, void *ud);

/* Delete message seq of the call; NOT_FOUND when there is none. */
CCAI_MUST_CHECK ccai_status Ccai_store_message_delete(Ccai_store *st, const char *call_id,
                                                      int64_t seq);
/* Replace the content of message seq of the call in place: its seq (its
 * position among the call's messages), persona, action, style, language,
 * time and engine stay. content is not NULL (remove a message with
 * Ccai_store_message_delete()). NOT_FOUND when there is none;
 * INVALID_ARG for a NULL call_id or content. */
CCAI_MUST_CHECK ccai_status Ccai_store_message_set_content(Ccai_store *st, const char *call_id,
                                                           int64_t seq, const char *content);

/* Reminders ------------------------------------------------------------ */

/* Insert or update by (call_id, title). *ret_created (may be NULL) tells
 * which. due_at is wall ms. */
CCAI_MUST_CHECK ccai_status Ccai_store_reminder_upsert(Ccai_store *st, const char *call_id,
                                                       const char *title, const char *description,
                                                       int64_t due_at, const char *owner,
                                                       bool *ret_created);

/* JSON array {title, description, due_date_time (ISO 8601), owner,
 * created_at, updated_at}, ordered by due date. */
CCAI_MUST_CHECK ccai_status Ccai_store_reminders_json(Ccai_store *st, const char *call_id,
                                                      json_t **ret);

/* The reference's v9 SQLite database (import) ---------------------------- */

/* Each row's data (a call as JSON), index from 1; non-zero stops. */
typedef int (*Ccai_store_reference_fn)(size_t index, const char *json, size_t len, void *ud);
/* Read @table (an identifier) of the reference's SQLite file @path, read
 * only. CCAI_ERR_STORE (*ret_error says why: no such file or table),
 * CCAI_ERR_INVALID_ARG (the table name), CCAI_ERR_NOMEM. */
CCAI_MUST_CHECK ccai_status Ccai_store_reference_rows(const char *path, const char *table,
                                                      Ccai_store_reference_fn fn, void *ud,
                                                      char **ret_error);

/* Jobs (durable queue) -------------------------------------------------- */

typedef struct Ccai_store_job {
    int64_t id;
    char *kind;         /* "postcall", "callback", "sms", ... */
    char *call_id;      /* may be NULL */
    char *payload;      /* JSON text, may be NULL */
    int64_t run_at;     /* wall ms */
    int64_t attempts;   /* times it was claimed */
    char *last_error;   /* may be NULL */
    char *state;        /* "pending" | "running" | "done" | "failed" */
    int64_t updated_at; /* wall ms of its last change (Ccai_store_job_get, _jobs_of_call) */
} Ccai_store_job;

void Ccai_store_job_free(Ccai_store_job *j);

CCAI_MUST_CHECK ccai_status Ccai_store_job_enqueue(Ccai_store *st, const char *kind,
                                                   const char *call_id, const char *payload,
                                                   int64_t run_at, int64_t *ret_id);

/* Claim the oldest due pending job (run_at <= now): state running,
 * attempts + 1. NOT_FOUND when none is due. Jobs left running by a crashed
 * process are claimable again once their lease (run_at + lease) passed. */
CCAI_MUST_CHECK ccai_status Ccai_store_job_claim(Ccai_store *st, int64_t now, int64_t lease_ms,
                                                 Ccai_store_job **ret);

/* The same, only jobs whose kind is in kinds: a comma-separated list
 * ("postcall,sms"); NULL means any kind. */
CCAI_MUST_CHECK ccai_status Ccai_store_job_claim_kinds(Ccai_store *st, const char *kinds,
                                                       int64_t now, int64_t lease_ms,
                                                       Ccai_store_job **ret);

CCAI_MUST_CHECK ccai_status Ccai_store_job_done(Ccai_store *st, int64_t id);

/* Replace the job's payload (JSON text): what a retry must reuse, stored
 * before the first attempt acts. */
CCAI_MUST_CHECK ccai_status Ccai_store_job_set_payload(Ccai_store *st, int64_t id,
                                                       const char *payload);

/* Record the error; with retry_at > 0 back to pending at retry_at, else
 * state failed for good. */
CCAI_MUST_CHECK ccai_status Ccai_store_job_fail(Ccai_store *st, int64_t id, const char *error,
                                                int64_t retry_at);

/* Job id, whatever its state. NOT_FOUND when there is none. */
CCAI_MUST_CHECK ccai_status Ccai_store_job_get(Ccai_store *st, int64_t id, Ccai_store_job **ret);

/* The jobs of a call whose kind is in kinds (as Ccai_store_job_claim_kinds;
 * NULL: any), oldest first, at most limit: what the report shows of the
 * work done for the call (its SMS, callbacks, alerts). *ret is an array
 * of *ret_n pointers, freed with Ccai_store_job_list_free(). */
CCAI_MUST_CHECK ccai_status Ccai_store_jobs_of_call(Ccai_store *st, const char *call_id,
                                                    const char *kinds, size_t limit,
                                                    Ccai_store_job ***ret, size_t *ret_n);
void Ccai_store_job_list_free(Ccai_store_job **jobs, size_t n);

/* Earliest run_at of a pending job, or -1 when there is none. */
CCAI_MUST_CHECK ccai_status Ccai_store_job_next_due(Ccai_store *st, int64_t *ret_run_at);
CCAI_MUST_CHECK ccai_status Ccai_store_job_next_due_kinds(Ccai_store *st, const char *kinds,
                                                          int64_t *ret_run_at);

/* Transactions: group several writes into one commit. Nested begin is an
 * error (CCAI_ERR_STATE). */
/* Phrase translations (engine/phrases.c): the JSON of the fixed phrases
 * in @lang (a lower case BCP 47 tag) for the English set whose hash is
 * @source_hash. get: CCAI_ERR_NOT_FOUND when none, else *ret_json freed
 * with ccai_free(). put: inserted or replaced; @model may be NULL. */
CCAI_MUST_CHECK ccai_status Ccai_store_phrases_get(Ccai_store *st, const char *lang,
                                                   const char *source_hash, char **ret_json);
CCAI_MUST_CHECK ccai_status Ccai_store_phrases_put(Ccai_store *st, const char *lang,
                                                   const char *source_hash,
                                                   const char *phrases_json, const char *model);

/* Call leases (several instances on one database) ----------------------
 * A call is held by one instance at a time: the one whose lease on it has
 * not expired. Acquiring is a compare-and-set on the lease's row: it
 * succeeds when there is none, when it expired (expires_at <= now) or when
 * it is already the owner's (then it is a renewal). docs/deployment.md,
 * "Several instances", says how the engine and the channels use it. */
typedef struct Ccai_store_lease {
    char owner[128];    /* the holder's instance id (server.instance_id) */
    char url[256];      /* where the holder takes webhooks handed to it, "" when none */
    int64_t expires_at; /* wall ms */
} Ccai_store_lease;

/* Take or renew the lease on call_id for owner (url: where owner answers,
 * may be NULL) until now + ttl_ms. CCAI_OK: owner holds it;
 * CCAI_ERR_CONFLICT: another owner holds it, *ret_holder (may be NULL)
 * says who and until when. */
CCAI_MUST_CHECK ccai_status Ccai_store_lease_acquire(Ccai_store *st, const char *call_id,
                                                     const char *owner, const char *url,
                                                     int64_t now, int64_t ttl_ms,
                                                     Ccai_store_lease *ret_holder);
/* Give the lease up if owner holds it (else nothing changes; CCAI_OK). */
CCAI_MUST_CHECK ccai_status Ccai_store_lease_release(Ccai_store *st, const char *call_id,
                                                     const char *owner);
/* The lease on call_id, expired or not. NOT_FOUND when there is none. */
CCAI_MUST_CHECK ccai_status Ccai_store_lease_get(Ccai_store *st, const char *call_id,
                                                 Ccai_store_lease *ret);

CCAI_MUST_CHECK ccai_status Ccai_store_begin(Ccai_store *st);
CCAI_MUST_CHECK ccai_status Ccai_store_commit(Ccai_store *st);
CCAI_MUST_CHECK ccai_status Ccai_store_rollback(Ccai_store *st);

/* Backends --------------------------------------------------------------- */

/* What a backend implements: one function per operation above, with the
 * same arguments and statuses (the store is the backend's own, its first
 * member the Ccai_store). Every member is required. store/sqlite.c is the
 * file to copy for a new backend; the composition root lists the backends
 * (libccai/ctx.c) and database.mode picks one. */
struct Ccai_store_backend {
    const char *name;    /* database.mode */
    bool writes_durable; /* a write is committed when it returns CCAI_OK */
    CCAI_MUST_CHECK ccai_status (*open)(const Ccai_store_env *env, Ccai_store **ret,
                                        char **ret_errmsg);
    void (*close)(Ccai_store *st);
    const char *(*errmsg)(const Ccai_store *st);
    const char *(*location)(const Ccai_store *st);
    CCAI_MUST_CHECK ccai_status (*describe)(Ccai_store *st, json_t *doc);
    int (*schema_version)(Ccai_store *st);
    CCAI_MUST_CHECK ccai_status (*sync)(Ccai_store *st, const char *call_id,
                                        Ccai_store_done_fn done, void *ud);
    void (*forget_call)(Ccai_store *st, const char *call_id); /* NULL: nothing to forget */
    /* NULL: nothing accepted waits for a commit of the loop's turn */
    CCAI_MUST_CHECK ccai_status (*commit_now)(Ccai_store *st);
    CCAI_MUST_CHECK ccai_status (*check_write)(Ccai_store *st);
    CCAI_MUST_CHECK ccai_status (*can_write)(Ccai_store *st);
    const char *(*failure)(const Ccai_store *st);

    CCAI_MUST_CHECK ccai_status (*call_insert)(Ccai_store *st, Ccai_store_call *c);
    CCAI_MUST_CHECK ccai_status (*call_update)(Ccai_store *st, Ccai_store_call *c);
    CCAI_MUST_CHECK ccai_status (*call_touch)(Ccai_store *st, Ccai_store_call *c);
    CCAI_MUST_CHECK ccai_status (*call_get)(Ccai_store *st, const char *id, Ccai_store_call **ret);
    CCAI_MUST_CHECK ccai_status (*call_find_latest)(Ccai_store *st, const char *phone,
                                                    int64_t since_ms, Ccai_store_call **ret);
    CCAI_MUST_CHECK ccai_status (*call_find_provider)(Ccai_store *st, const char *channel,
                                                      const char *provider_call_id,
                                                      Ccai_store_call **ret);
    CCAI_MUST_CHECK ccai_status (*call_find_correlation)(Ccai_store *st, const char *channel,
                                                         const char *correlation_id,
                                                         Ccai_store_call **ret);
    CCAI_MUST_CHECK ccai_status (*call_set_recording)(Ccai_store *st, const char *id,
                                                      const char *url, const char *recording_id,
                                                      int64_t duration_ms);
    CCAI_MUST_CHECK ccai_status (*calls_stale)(Ccai_store *st, int64_t before_ms, size_t limit,
                                               Ccai_store_call ***ret_calls, size_t *ret_n);
    CCAI_MUST_CHECK ccai_status (*call_list)(Ccai_store *st, const char *phone, size_t limit,
                                             size_t offset, Ccai_store_call ***ret_calls,
                                             size_t *ret_n, size_t *ret_total);

    CCAI_MUST_CHECK ccai_status (*message_append)(Ccai_store *st, const char *call_id,
                                                  const Ccai_store_message *m, int64_t *ret_seq);
    CCAI_MUST_CHECK ccai_status (*messages_json)(Ccai_store *st, const char *call_id, json_t **ret);
    CCAI_MUST_CHECK ccai_status (*messages_newest)(Ccai_store *st, const char *call_id,
                                                   int64_t limit, int64_t max_seq,
                                                   Ccai_store_message_fn fn, void *ud);
    CCAI_MUST_CHECK ccai_status (*message_delete)(Ccai_store *st, const char *call_id, int64_t seq);
    CCAI_MUST_CHECK ccai_status (*message_set_content)(Ccai_store *st, const char *call_id,
                                                       int64_t seq, const char *content);

    CCAI_MUST_CHECK ccai_status (*reminder_upsert)(Ccai_store *st, const char *call_id,
                                                   const char *title, const char *description,
                                                   int64_t due_at, const char *owner,
                                                   bool *ret_created);
    CCAI_MUST_CHECK ccai_status (*reminders_json)(Ccai_store *st, const char *call_id,
                                                  json_t **ret);

    CCAI_MUST_CHECK ccai_status (*job_enqueue)(Ccai_store *st, const char *kind,
                                               const char *call_id, const char *payload,
                                               int64_t run_at, int64_t *ret_id);
    CCAI_MUST_CHECK ccai_status (*job_claim_kinds)(Ccai_store *st, const char *kinds, int64_t now,
                                                   int64_t lease_ms, Ccai_store_job **ret);
    CCAI_MUST_CHECK ccai_status (*job_done)(Ccai_store *st, int64_t id);
    CCAI_MUST_CHECK ccai_status (*job_set_payload)(Ccai_store *st, int64_t id, const char *payload);
    CCAI_MUST_CHECK ccai_status (*job_fail)(Ccai_store *st, int64_t id, const char *error,
                                            int64_t retry_at);
    CCAI_MUST_CHECK ccai_status (*job_next_due_kinds)(Ccai_store *st, const char *kinds,
                                                      int64_t *ret_run_at);
    CCAI_MUST_CHECK ccai_status (*job_get)(Ccai_store *st, int64_t id, Ccai_store_job **ret);
    CCAI_MUST_CHECK ccai_status (*jobs_of_call)(Ccai_store *st, const char *call_id,
                                                const char *kinds, size_t limit,
                                                Ccai_store_job ***ret, size_t *ret_n);

    CCAI_MUST_CHECK ccai_status (*phrases_get)(Ccai_store *st, const char *lang,
                                               const char *source_hash, char **ret_json);
    CCAI_MUST_CHECK ccai_status (*phrases_put)(Ccai_store *st, const char *lang,
                                               const char *source_hash, const char *phrases_json,
                                               const char *model);

    CCAI_MUST_CHECK ccai_status (*lease_acquire)(Ccai_store *st, const char *call_id,
                                                 const char *owner, const char *url, int64_t now,
                                                 int64_t ttl_ms, Ccai_store_lease *ret_holder);
    CCAI_MUST_CHECK ccai_status (*lease_release)(Ccai_store *st, const char *call_id,
                                                 const char *owner);
    CCAI_MUST_CHECK ccai_status (*lease_get)(Ccai_store *st, const char *call_id,
                                             Ccai_store_lease *ret);

    CCAI_MUST_CHECK ccai_status (*begin)(Ccai_store *st);
    CCAI_MUST_CHECK ccai_status (*commit)(Ccai_store *st);
    CCAI_MUST_CHECK ccai_status (*rollback)(Ccai_store *st);
};

#endif
