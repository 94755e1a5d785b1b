/* The SQLite backend of the store interface (store/sqlite.c). */
#ifndef CCAI_STORE_SQLITE_H
#define CCAI_STORE_SQLITE_H

#include "store/store.h"

/* database.mode "sqlite": opens database.sqlite.path as configured. */
extern const Ccai_store_backend Ccai_sqlite_backend;

/* Open (creating if needed) and migrate the file at path. ":memory:"
 * gives a private in-memory database. On failure *ret_errmsg (may be NULL)
 * says why. */
CCAI_MUST_CHECK ccai_status Ccai_sqlite_open(const char *path, Ccai_store **ret, char **ret_errmsg);
/* Busy timeout and durability (sync_full: an fsync per commit, surviving a
 * power loss; else a commit survives a crash of the process). Opened stores
 * start with sync_full and a 5 s busy timeout (opening and migrating may
 * wait for another process); a store used on an event loop is configured
 * with a short one (database.sqlite.busy_timeout_ms): a write blocks the loop
 * at most that long, then fails with CCAI_ERR_BUSY. CCAI_ERR_INVALID_ARG
 * for a store of another backend. */
CCAI_MUST_CHECK ccai_status Ccai_sqlite_configure(Ccai_store *st, int busy_timeout_ms,
                                                  bool sync_full);

/* The WAL's checkpoints on a thread of the store's own, with its own
 * connection to the file (store/sqlite_ckpt.c, database.sqlite.checkpoint_thread),
 * instead of on this connection after its commits (the default). The thread
 * starts at the first checkpoint, in the process that writes; it is joined
 * by Ccai_store_close(). Its errors go to log (may be NULL; borrowed while
 * st lives), at the next commit, on the caller's thread. No effect on a
 * database in memory. CCAI_ERR_INVALID_ARG for a store of another backend. */
CCAI_MUST_CHECK ccai_status Ccai_sqlite_checkpoint_thread(Ccai_store *st, bool thread,
                                                          const Ccai_logger *log);
/* What the checkpoint thread has done (all 0 without one). */
typedef struct Ccai_sqlite_ckpt_stats {
    bool running;        /* the thread runs, its connection open */
    uint64_t passive;    /* runs (each a PASSIVE checkpoint first) */
    uint64_t restart;    /* RESTART checkpoints tried (the WAL still long after the first) */
    uint64_t restarted;  /* of which completed: the next writer starts the WAL over */
    uint64_t busy;       /* of which gave up (lock or readers held past CKPT_BUSY_MS) */
    uint64_t errors;     /* failures other than BUSY */
    uint64_t passive_us; /* time in the PASSIVE checkpoints */
    uint64_t restart_us; /* time in the RESTART ones (the loops' writes wait) */
    int last_log;        /* the last PASSIVE's frames in the WAL */
    int last_done;       /* and frames copied to the database */
} Ccai_sqlite_ckpt_stats;
void Ccai_sqlite_checkpoint_stats(Ccai_store *st, Ccai_sqlite_ckpt_stats *ret);
/* How many times this connection asked the kernel to write the WAL back
 * (sync_file_range, after the commits that crossed a multiple of 32
 * frames); 0 for a store of another backend. */
uint64_t Ccai_sqlite_wal_writebacks(Ccai_store *st);

/* Group commit (database.sqlite.group_commit, store/sqlite_group.c): on
 * ctx's loop, the first write of a loop turn opens a transaction (BEGIN
 * IMMEDIATE: this connection holds the write lock from then), the later
 * writes of the turn join it, each in a savepoint of its own (a failed
 * write undoes itself only and returns its error), and one COMMIT at the
 * end of the turn (a 0 ms timer) commits them all; the syncs asked
 * meanwhile fire after it, from the loop, with its status. A group is
 * also committed when it holds GROUP_MAX_WRITES writes or is older than
 * GROUP_MAX_US at a write (the turn's later writes then commit each at
 * once: the lock is given back), before an explicit transaction, a
 * Ccai_store_check_write() and the store's close. The store's writes are
 * then not durable when they return (Ccai_store_writes_durable() false):
 * the engine acts from the syncs. CCAI_ERR_INVALID_ARG for a store of
 * another backend, in a transaction, or already on a loop. */
CCAI_MUST_CHECK ccai_status Ccai_sqlite_group_commit_on(Ccai_store *st, ccai_ctx *ctx);
typedef struct Ccai_sqlite_group_stats {
    uint64_t groups;      /* COMMITs of a group */
    uint64_t writes;      /* writes that joined a group */
    uint64_t full;        /* groups committed early: full or too old */
    uint64_t failed;      /* groups whose COMMIT failed or that SQLite rolled back */
    uint64_t hold_us;     /* write lock held: BEGIN IMMEDIATE to COMMIT's end, summed */
    uint64_t hold_max_us; /* the longest */
    uint64_t in_tx;       /* writes outside the groups: in an explicit transaction */
    uint64_t spent;       /* after a full group, another writer waiting (committed at once) */
    uint64_t refused;     /* a group's BEGIN IMMEDIATE failed (another's lock held too long) */
} Ccai_sqlite_group_stats;
/* The group stats, and the waits for another connection's write lock
 * (busy_waits: the waits, busy_wait_us: their time). All 0 without. */
void Ccai_sqlite_group_get_stats(Ccai_store *st, Ccai_sqlite_group_stats *ret, uint64_t *busy_waits,
                                 uint64_t *busy_wait_us);

#endif
