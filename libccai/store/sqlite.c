/* Persistence on SQLite: a backend of store/store.h (Ccai_sqlite_backend).
 *
 * One connection per store handle, used by one thread (NOMUTEX); with
 * database.sqlite.checkpoint_thread, a second one on the store's own
 * thread for the WAL's checkpoints (store/sqlite_ckpt.c). Every
 * statement is prepared once and cached on the handle. Writes that take
 * several statements run in their own IMMEDIATE transaction, or in a
 * savepoint when the caller holds an explicit transaction (Ccai_store_begin).
 * Every write is committed when it returns (WAL; synchronous FULL or NORMAL,
 * Ccai_sqlite_configure()): the store's sync() completes at once. With
 * group commit on a loop (store/sqlite_group.c) a loop turn's writes are
 * one transaction (Ccai_sqlite_group_backend: sync() fires after its
 * COMMIT).
 */
#include "store/sqlite_private.h"

#include "config/config.h"
#include "core/json.h"

#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Opening and migrating wait this long for a lock (start-up, not on a
 * serving loop); Ccai_sqlite_configure() sets the short wait of the loop. */
#define STORE_BUSY_TIMEOUT_MS CCAI_SQLITE_START_BUSY_MS
/* WAL frames before a checkpoint (SQLite's default), and between two
 * requests to the kernel to start writing the WAL back. */
#define WAL_CHECKPOINT_FRAMES 1000
#define WAL_WRITEBACK_FRAMES  32
/* With the checkpoint thread: the WAL's length (7 MB) past which this
 * connection checkpoints as without it: the thread's RESTART did not get
 * the write lock (a writer that never pauses) or failed. */
#define WAL_BACKSTOP_FRAMES 1800
/* The wait for another connection's write lock (on_busy()): yields first,
 * then sleeps from BUSY_SLEEP_MIN_US, doubling up to BUSY_SLEEP_MAX_US. */
#define BUSY_YIELDS       3
#define BUSY_SLEEP_MIN_US 20
#define BUSY_SLEEP_MAX_US 500
/* Errors ---------------------------------------------------------------- */

/* Failures of the database itself, as opposed to a refused value (a
 * constraint) or a lock held by another writer (CCAI_ERR_BUSY). */
static CCAI_MUST_CHECK bool db_broken(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_READONLY:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM: return true;
    default: return false;
    }
}

static CCAI_MUST_CHECK ccai_status status_of_sqlite(int rc)
{
    /* Another connection holds the write lock (past the busy timeout):
     * nothing was written, the same write may succeed later. */
    if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
        return CCAI_ERR_BUSY;
    switch (rc) {
    case SQLITE_NOMEM: return CCAI_ERR_NOMEM;
    case SQLITE_CONSTRAINT_FOREIGNKEY: return CCAI_ERR_NOT_FOUND;
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_UNIQUE: return CCAI_ERR_CONFLICT;
    case SQLITE_CONSTRAINT_CHECK:
    case SQLITE_CONSTRAINT_NOTNULL: return CCAI_ERR_INVALID_ARG;
    default: return CCAI_ERR_STORE;
    }
}

/* Translate the connection's last error into a status and keep its text. */
CCAI_MUST_CHECK ccai_status Ccai_sqlite_db_fail(Ccai_sqlite *st, const char *op)
{
    int rc = sqlite3_extended_errcode(st->db);
    /* A failed statement may have rolled its transaction back. */
    Ccai_sqlite_calls_forget(st);
    Ccai_err_set(&st->err, "store: %s: %s", op, sqlite3_errmsg(st->db));
    if (db_broken(rc))
        snprintf(st->failure, sizeof st->failure, "%s", Ccai_err_get(&st->err));
    ccai_status status = status_of_sqlite(rc);
    Ccai_sqlite_group_check_lost(st, status);
    return status;
}

CCAI_MUST_CHECK ccai_status Ccai_sqlite_fail(Ccai_sqlite *st, ccai_status status, const char *fmt,
                                             ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = Ccai_vasprintf(fmt, ap);
    va_end(ap);
    Ccai_err_clear(&st->err);
    st->err.msg = msg;
    return status;
}

CCAI_MUST_CHECK ccai_status Ccai_sqlite_fail_nomem(Ccai_sqlite *st, const char *op)
{
    return Ccai_sqlite_fail(st, CCAI_ERR_NOMEM, "store: %s: out of memory", op);
}

/* Statements ------------------------------------------------------------ */

CCAI_MUST_CHECK ccai_status Ccai_sqlite_stmt_get(Ccai_sqlite *st, enum Ccai_sqlite_stmt_id id,
                                                 sqlite3_stmt **ret)
{
    if (!st->stmts[id] &&
        sqlite3_prepare_v3(st->db, Ccai_sqlite_stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                           &st->stmts[id], NULL) != SQLITE_OK)
        return Ccai_sqlite_db_fail(st, "prepare");
    *ret = st->stmts[id];
    return CCAI_OK;
}

void Ccai_sqlite_stmt_done(sqlite3_stmt *s)
{
    if (s) {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
    }
}

/* Bound strings are SQLITE_STATIC: every statement is stepped and its
 * bindings cleared before the caller's strings can change. */
int Ccai_sqlite_bind_text(sqlite3_stmt *s, int i, const char *v)
{
    return v ? sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(s, i);
}

int Ccai_sqlite_bind_int(sqlite3_stmt *s, int i, int64_t v)
{
    return sqlite3_bind_int64(s, i, v);
}

/* Copy a text column; NULL stays NULL. false on out of memory. */
CCAI_MUST_CHECK bool Ccai_sqlite_dup_col(sqlite3_stmt *s, int i, char **out)
{
    *out = NULL;
    if (sqlite3_column_type(s, i) == SQLITE_NULL)
        return true;
    const unsigned char *t = sqlite3_column_text(s, i);
    if (!t)
        return false;
    *out = Ccai_strndup((const char *)t, (size_t)sqlite3_column_bytes(s, i));
    return *out != NULL;
}

CCAI_MUST_CHECK ccai_status Ccai_sqlite_exec_sql(Ccai_sqlite *st, const char *op, const char *sql)
{
    if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return Ccai_sqlite_db_fail(st, op);
    return CCAI_OK;
}

/* A cached statement without parameters nor rows (transaction control). */
CCAI_MUST_CHECK ccai_status Ccai_sqlite_exec_stmt(Ccai_sqlite *st, const char *op,
                                                  enum Ccai_sqlite_stmt_id id)
{
    sqlite3_stmt *s = NULL;
    ccai_status status = Ccai_sqlite_stmt_get(st, id, &s);
    if (status != CCAI_OK)
        return status;
    if (sqlite3_step(s) != SQLITE_DONE)
        status = Ccai_sqlite_db_fail(st, op);
    sqlite3_reset(s);
    return status;
}

/* Transactions for one operation -------------------------------------- */

/* An operation of several statements runs in its own transaction, or in a
 * savepoint inside the caller's explicit transaction so that a failure
 * undoes only this operation. */
static CCAI_MUST_CHECK ccai_status op_begin(Ccai_sqlite *st, const char *call_id, const char *op,
                                            bool write)
{
    if (write) {
        ccai_status status = Ccai_sqlite_group_enter(st, call_id, op);
        if (status != CCAI_OK)
            return status;
    }
    if (Ccai_sqlite_in_tx(st))
        return Ccai_sqlite_exec_stmt(st, op, STMT_SAVEPOINT);
    return Ccai_sqlite_exec_stmt(st, op, write ? STMT_BEGIN_IMMEDIATE : STMT_BEGIN);
}

CCAI_MUST_CHECK ccai_status Ccai_sqlite_op_begin(Ccai_sqlite *st, const char *op, bool write)
{
    return op_begin(st, NULL, op, write);
}

CCAI_MUST_CHECK ccai_status Ccai_sqlite_op_begin_call(Ccai_sqlite *st, const char *call_id,
                                                      const char *op)
{
    return op_begin(st, call_id, op, true);
}

CCAI_MUST_CHECK ccai_status Ccai_sqlite_op_end(Ccai_sqlite *st, const char *op, ccai_status status)
{
    if (status == CCAI_OK) {
        status = Ccai_sqlite_exec_stmt(st, op, Ccai_sqlite_in_tx(st) ? STMT_RELEASE : STMT_COMMIT);
        if (status == CCAI_OK)
            return CCAI_OK;
    }
    /* Errors here are secondary: the first one is what the caller sees. */
    Ccai_sqlite_calls_forget(st);
    if (Ccai_sqlite_in_tx(st))
        sqlite3_exec(st->db, "ROLLBACK TO ccai_op; RELEASE ccai_op", NULL, NULL, NULL);
    else if (!sqlite3_get_autocommit(st->db))
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    return status;
}

/* UTF-8 ------------------------------------------------------------------- */

CCAI_MUST_CHECK bool Ccai_sqlite_utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        size_t n;
        unsigned min;
        if (c < 0x80) {
            p++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            n = 1, min = 0x80, c &= 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2, min = 0x800, c &= 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3, min = 0x10000, c &= 0x07;
        } else {
            return false;
        }
        for (size_t i = 1; i <= n; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return false;
            c = (c << 6) | (p[i] & 0x3f);
        }
        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
            return false;
        p += n + 1;
    }
    return true;
}

CCAI_MUST_CHECK bool Ccai_sqlite_utf8_ok(const char *s)
{
    return !s || Ccai_sqlite_utf8_valid(s);
}

/* Open and migrate ----------------------------------------------------- */

static CCAI_MUST_CHECK ccai_status read_version(Ccai_sqlite *st, int *ret)
{
    sqlite3_stmt *s = NULL;
    ccai_status status = Ccai_sqlite_stmt_get(st, STMT_VERSION, &s);
    if (status != CCAI_OK)
        return status;
    if (sqlite3_step(s) != SQLITE_ROW)
        status = Ccai_sqlite_db_fail(st, "read schema version");
    else
        *ret = (int)sqlite3_column_int64(s, 0);
    Ccai_sqlite_stmt_done(s);
    return status;
}

static CCAI_MUST_CHECK ccai_status too_new(Ccai_sqlite *st, int version)
{
    return Ccai_sqlite_fail(st, CCAI_ERR_STORE,
                            "store: database schema version %d is newer than this libccai (%d)",
                            version, CCAI_STORE_SCHEMA_VERSION);
}

static CCAI_MUST_CHECK ccai_status migrate_step(Ccai_sqlite *st, int version)
{
    char op[48];
    snprintf(op, sizeof op, "migrate to version %d", version);
    ccai_status status = Ccai_sqlite_exec_sql(st, op, "BEGIN IMMEDIATE");
    if (status != CCAI_OK)
        return status;
    /* Another process may have migrated since we looked. */
    int current = 0;
    status = read_version(st, &current);
    if (status == CCAI_OK && current > CCAI_STORE_SCHEMA_VERSION)
        status = too_new(st, current);
    if (status == CCAI_OK && current < version) {
        status = Ccai_sqlite_exec_sql(st, op, Ccai_sqlite_migrations[version - 1]);
        if (status == CCAI_OK) {
            char *sql = Ccai_asprintf(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (%d, %lld)", version,
                (long long)Ccai_wall_ms());
            status = sql ? Ccai_sqlite_exec_sql(st, op, sql) : Ccai_sqlite_fail_nomem(st, op);
            ccai_free(sql);
        }
    }
    if (status == CCAI_OK)
        status = Ccai_sqlite_exec_sql(st, op, "COMMIT");
    if (status != CCAI_OK && !sqlite3_get_autocommit(st->db))
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    return status;
}

static CCAI_MUST_CHECK ccai_status store_migrate(Ccai_sqlite *st)
{
    ccai_status status =
        Ccai_sqlite_exec_sql(st, "create schema_migrations",
                             "CREATE TABLE IF NOT EXISTS schema_migrations ("
                             " version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
    int version = 0;
    if (status == CCAI_OK)
        status = read_version(st, &version);
    if (status != CCAI_OK)
        return status;
    if (version > CCAI_STORE_SCHEMA_VERSION)
        return too_new(st, version);
    for (int v = version + 1; v <= CCAI_STORE_SCHEMA_VERSION; v++) {
        status = migrate_step(st, v);
        if (status != CCAI_OK)
            return status;
    }
    return read_version(st, &st->schema_version);
}

/* After each commit (it replaces SQLite's automatic checkpoint): wakes
 * the checkpoint thread, or checkpoints here without one. With synchronous=NORMAL a commit does not
 * sync the WAL: the checkpoint's fsync found megabytes to write and stalled the loop for
 * milliseconds (7 % of a busy loop's time). The kernel is asked to start writing the WAL back as it
 * grows (sync_file_range: it does not wait), so that the checkpoint finds it on disk. Durability is
 * the same: the checkpoint still syncs.
 *
 * Asked by the commit whose own frames cross a multiple of WAL_WRITEBACK_FRAMES: once per 32
 * frames of the WAL, whoever wrote them. Counted per connection (32 frames since this one last
 * asked, the others' included), every worker on the file asked for the same frames: 686 -> 966
 * calls a run with two workers. The commit's own frames are the pages this connection wrote
 * since its last commit (SQLITE_DBSTATUS_CACHE_WRITE, reset at each): never fewer than it
 * appended (a transaction rolled back adds its pages: at most an early ask). */
static int on_wal_commit(void *ud, sqlite3 *db, const char *name, int frames)
{
    Ccai_sqlite *st = ud;
#ifdef __linux__
    if (!st->sync_full && st->wal_path) {
        int own = 0, high = 0;
        if (sqlite3_db_status(db, SQLITE_DBSTATUS_CACHE_WRITE, &own, &high, 1) != SQLITE_OK)
            own = frames;
        int before = frames > own ? frames - own : 0; /* 0: the WAL started over */
        if (frames / WAL_WRITEBACK_FRAMES != before / WAL_WRITEBACK_FRAMES) {
            if (st->wal_fd < 0)
                st->wal_fd = open(st->wal_path, O_RDONLY | O_CLOEXEC);
            if (st->wal_fd >= 0 && sync_file_range(st->wal_fd, 0, 0, SYNC_FILE_RANGE_WRITE) == 0)
                st->wal_wb++;
        }
    }
#endif
    if (st->ckpt) {
        char why[256];
        if (Ccai_sqlite_ckpt_error(st->ckpt, why, sizeof why))
            Ccai_log(st->log, CCAI_LOG_WARN, "%s (%s)", why, st->path);
        /* The checkpoint thread copies the WAL (store/sqlite_ckpt.c);
         * this connection only when it cannot run, or past
         * WAL_BACKSTOP_FRAMES (the thread failed to start the WAL over). */
        bool woken = Ccai_sqlite_ckpt_wake(st->ckpt, frames);
        bool backstop = frames >= WAL_BACKSTOP_FRAMES;
        if (backstop != st->ckpt_yield) {
            st->ckpt_yield = backstop;
            Ccai_sqlite_ckpt_yield(st->ckpt, backstop);
        }
        if (woken && !backstop)
            return SQLITE_OK;
        /* At each commit until the WAL starts over: while the thread is
         * checkpointing this fails at once (SQLite's checkpoint lock), and
         * the thread gives way at its next wait. */
        if (woken) {
            sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_RESTART, NULL, NULL);
            return SQLITE_OK;
        }
    }
    /* Without the thread: once per WAL_CHECKPOINT_FRAMES frames written
     * since this connection's last checkpoint, not at every commit past
     * them; and RESTART, not PASSIVE: with another connection writing
     * (the server's other workers) a passive checkpoint left the WAL unable to start over (the
     * other was reading it), the WAL grew (24 MB in 2,000 turns) and each
     * commit's checkpoint synced the few frames the other had added: 289
     * fdatasync in 2,000 turns with two workers, 2.6 ms each on the loop,
     * against 84 with one. RESTART waits (the busy handler, at most the
     * busy timeout) for the other's transaction to end, so that the next
     * writer starts the WAL over; it gives up with nothing lost if the wait
     * is longer. */
    if (frames < st->wal_checkpointed)
        st->wal_checkpointed = 0; /* the WAL started over */
    if (frames >= WAL_CHECKPOINT_FRAMES && frames - st->wal_checkpointed >= WAL_CHECKPOINT_FRAMES) {
        sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_RESTART, NULL, NULL);
        st->wal_checkpointed = frames;
    }
    return SQLITE_OK;
}

/* The busy handler: another connection (another worker of the server)
 * holds the write lock. SQLite's own (sqlite3_busy_timeout) sleeps 1, 2, 5,
 * 10 ms... between tries, and the loop with it, where another worker's
 * transaction holds the lock for a commit's ~100-300 us: two workers on one
 * file spent ~14 % of their time asleep there (bench-server --workers 2).
 * This one yields the CPU (the holder may be waiting for it), then sleeps
 * 20 us, 40 us, ... up to 500 us, and gives up (SQLITE_BUSY) once
 * busy_timeout_ms have passed since the first try, as SQLite's would. */
static int on_busy(void *ud, int count)
{
    Ccai_sqlite *st = ud;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    uint64_t now_us = (uint64_t)now.tv_sec * 1000000u + (uint64_t)now.tv_nsec / 1000u;
    if (count == 0) {
        st->busy_since_us = now_us;
        st->busy_waits++;
    } else {
        st->busy_wait_us += now_us - st->busy_last_us;
    }
    st->busy_last_us = now_us;
    st->contended_until_us = now_us + 1000000u; /* GROUP_CONTENDED_US */
    uint64_t waited = now_us - st->busy_since_us, limit = (uint64_t)st->busy_timeout_ms * 1000u;
    if (waited >= limit)
        return 0;
    if (count < BUSY_YIELDS) {
        sched_yield();
        return 1;
    }
    int shift = count - BUSY_YIELDS;
    uint64_t us = shift >= 5 ? BUSY_SLEEP_MAX_US : (uint64_t)BUSY_SLEEP_MIN_US << shift;
    if (us > BUSY_SLEEP_MAX_US)
        us = BUSY_SLEEP_MAX_US;
    if (us > limit - waited)
        us = limit - waited;
    struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)us * 1000};
    nanosleep(&ts, NULL);
    return 1;
}

/* The connection's wait for a lock: ms in all (0: none). */
static void set_busy_timeout(Ccai_sqlite *st, int ms)
{
    st->busy_timeout_ms = ms;
    sqlite3_busy_handler(st->db, ms > 0 ? on_busy : NULL, st);
}

int Ccai_sqlite_busy_timeout_swap(Ccai_sqlite *st, int ms)
{
    int had = st->busy_timeout_ms;
    set_busy_timeout(st, ms);
    return had;
}

static void sqlite_close(Ccai_store *store);

/* A new database file is created 0600, whatever the umask: it holds phone
 * numbers and conversations. SQLite gives its -wal and -shm files the mode
 * of the database file, so they are 0600 too. An existing file keeps its
 * mode (the operator's choice); a file that cannot be created here is left
 * for sqlite3_open_v2() to report. */
static void create_private(const char *path)
{
    if (!*path || strcmp(path, ":memory:") == 0)
        return;
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0) /* an empty file is a new database to SQLite */
        close(fd);
}

ccai_status Ccai_sqlite_open(const char *path, Ccai_store **ret, char **ret_errmsg)
{
    if (!path || !ret)
        return CCAI_ERR_INVALID_ARG;
    Ccai_sqlite *st = Ccai_calloc(1, sizeof *st);
    if (!st || !(st->path = Ccai_strdup(path))) {
        ccai_free(st);
        if (ret_errmsg)
            *ret_errmsg = Ccai_strdup("store: open: out of memory");
        return CCAI_ERR_NOMEM;
    }
    st->base.backend = &Ccai_sqlite_backend;
    st->busy_timeout_ms = STORE_BUSY_TIMEOUT_MS;
    st->wal_fd = -1;
    st->sync_full = true;
    ccai_status status;
    create_private(path);
    int rc = sqlite3_open_v2(
        path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (!st->db) {
        status = Ccai_sqlite_fail_nomem(st, "open");
        goto cleanup;
    }
    sqlite3_extended_result_codes(st->db, 1);
    if (rc != SQLITE_OK) {
        status = Ccai_sqlite_fail(st, CCAI_ERR_STORE, "store: open %s: %s", path,
                                  sqlite3_errmsg(st->db));
        goto cleanup;
    }
    set_busy_timeout(st, STORE_BUSY_TIMEOUT_MS);
    /* WAL, readers never block the writer; FULL until configured (a commit
     * is on disk when it returns). In-memory databases keep their "memory"
     * journal. */
    /* Switching a new file to WAL takes an exclusive lock, and SQLite
     * answers BUSY at once, without its busy handler, while another
     * process (a ccai-server worker starting beside this one) holds one:
     * tried again for as long as the busy timeout. */
    for (int waited = 0;; waited += 20) {
        status = Ccai_sqlite_exec_sql(st, "configure",
                                      "PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL; "
                                      "PRAGMA synchronous = FULL");
        if (status != CCAI_ERR_BUSY || waited >= STORE_BUSY_TIMEOUT_MS)
            break;
        sqlite3_sleep(20);
    }
    if (status == CCAI_OK)
        status = store_migrate(st);
    if (status == CCAI_OK && strcmp(path, ":memory:") != 0 && *path &&
        !(st->wal_path = Ccai_asprintf("%s-wal", path)))
        status = Ccai_sqlite_fail_nomem(st, "open");
    if (status == CCAI_OK)
        sqlite3_wal_hook(st->db, on_wal_commit, st);

cleanup:
    if (status != CCAI_OK) {
        if (ret_errmsg)
            *ret_errmsg = Ccai_strdup(st->err.msg ? st->err.msg : "store: open: out of memory");
        sqlite_close(&st->base);
        return status;
    }
    *ret = &st->base;
    return CCAI_OK;
}

static void sqlite_close(Ccai_store *store)
{
    Ccai_sqlite *st = Ccai_sqlite_of(store);
    if (!st)
        return;
    /* The open group is committed, its syncs told. */
    Ccai_sqlite_group_close(st);
    /* What the lock cost this connection (two workers on one file). */
    if (st->log && (st->ctx || st->busy_waits))
        Ccai_log(st->log, CCAI_LOG_INFO,
                 "store: %s: %llu waits for another connection's write lock, %llu us in all; "
                 "group commit %s: %llu groups, %llu writes, %llu ended early, %llu failed, "
                 "the write lock held %llu us in all, %llu at most; writes outside the groups: "
                 "%llu in explicit transactions, %llu after a full group (contended), %llu "
                 "refused the lock; the WAL's write-back asked %llu times",
                 st->path, (unsigned long long)st->busy_waits, (unsigned long long)st->busy_wait_us,
                 st->ctx ? "on" : "off", (unsigned long long)st->gstats.groups,
                 (unsigned long long)st->gstats.writes, (unsigned long long)st->gstats.full,
                 (unsigned long long)st->gstats.failed, (unsigned long long)st->gstats.hold_us,
                 (unsigned long long)st->gstats.hold_max_us, (unsigned long long)st->gstats.in_tx,
                 (unsigned long long)st->gstats.spent, (unsigned long long)st->gstats.refused,
                 (unsigned long long)st->wal_wb);
    /* The thread first: this connection may be the file's last, whose
     * close checkpoints and removes the WAL. */
    Ccai_sqlite_ckpt_free(st->ckpt);
    for (size_t i = 0; i < STMT_COUNT; i++)
        sqlite3_finalize(st->stmts[i]);
    Ccai_sqlite_calls_forget(st);
    ccai_free(st->seen);
    /* Closing with an explicit transaction open rolls it back. */
    sqlite3_close(st->db);
    if (st->wal_fd >= 0)
        close(st->wal_fd);
    ccai_free(st->wal_path);
    Ccai_err_free(&st->err);
    ccai_free(st->path);
    ccai_free(st);
}

static const char *sqlite_errmsg(const Ccai_store *store)
{
    const Ccai_sqlite *st = Ccai_sqlite_of_const(store);
    return st ? Ccai_err_get(&st->err) : "";
}

static const char *sqlite_location(const Ccai_store *store)
{
    return Ccai_sqlite_of_const(store)->path;
}

static CCAI_MUST_CHECK ccai_status sqlite_describe(Ccai_store *store, json_t *doc)
{
    Ccai_sqlite *st = Ccai_sqlite_of(store);
    if (json_object_set_new(doc, "synchronous", json_string(st->sync_full ? "full" : "normal")) ||
        json_object_set_new(doc, "busy_timeout_ms", json_integer(st->busy_timeout_ms)) ||
        json_object_set_new(doc, "group_commit", json_boolean(st->ctx != NULL)) ||
        (st->ctx &&
         (json_object_set_new(doc, "groups", json_integer((json_int_t)st->gstats.groups)) ||
          json_object_set_new(doc, "group_writes", json_integer((json_int_t)st->gstats.writes)) ||
          json_object_set_new(doc, "groups_failed", json_integer((json_int_t)st->gstats.failed)))))
        return CCAI_ERR_NOMEM;
    return CCAI_OK;
}

/* Every write was committed when it returned: what was accepted is durable. */
static CCAI_MUST_CHECK ccai_status sqlite_sync(Ccai_store *store, const char *call_id,
                                               Ccai_store_done_fn done, void *ud)
{
    CCAI_UNUSED(store);
    CCAI_UNUSED(call_id);
    done(CCAI_OK, ud);
    return CCAI_OK;
}

ccai_status Ccai_sqlite_configure(Ccai_store *store, int busy_timeout_ms, bool sync_full)
{
    Ccai_sqlite *st = Ccai_sqlite_is(store) ? Ccai_sqlite_of(store) : NULL;
    if (!st || busy_timeout_ms < 0)
        return CCAI_ERR_INVALID_ARG;
    st->sync_full = sync_full;
    set_busy_timeout(st, busy_timeout_ms);
    /* In WAL mode NORMAL keeps every commit across a crash of the process
     * (the WAL is written before the commit returns); only an OS crash or a
     * power loss can roll back the last commits. FULL adds an fsync each. */
    ccai_status status = Ccai_sqlite_exec_sql(
        st, "configure", sync_full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
    if (status == CCAI_OK)
        st->sync_full = sync_full;
    return status;
}

ccai_status Ccai_sqlite_checkpoint_thread(Ccai_store *store, bool thread, const Ccai_logger *log)
{
    Ccai_sqlite *st = Ccai_sqlite_is(store) ? Ccai_sqlite_of(store) : NULL;
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    st->log = log;
    if (!thread) {
        Ccai_sqlite_ckpt_free(st->ckpt);
        st->ckpt = NULL;
        st->ckpt_yield = false;
        return CCAI_OK;
    }
    /* In memory: no WAL, nothing to checkpoint. A file that is not in WAL
     * mode never calls the hook: its thread never starts. */
    if (st->ckpt || !st->wal_path)
        return CCAI_OK;
    st->ckpt = Ccai_sqlite_ckpt_new(st->path);
    return st->ckpt ? CCAI_OK : Ccai_sqlite_fail_nomem(st, "checkpoint thread");
}

uint64_t Ccai_sqlite_wal_writebacks(Ccai_store *store)
{
    Ccai_sqlite *st = Ccai_sqlite_is(store) ? Ccai_sqlite_of(store) : NULL;
    return st ? st->wal_wb : 0;
}

void Ccai_sqlite_checkpoint_stats(Ccai_store *store, Ccai_sqlite_ckpt_stats *ret)
{
    Ccai_sqlite *st = Ccai_sqlite_is(store) ? Ccai_sqlite_of(store) : NULL;
    Ccai_sqlite_ckpt_get_stats(st ? st->ckpt : NULL, ret);
}

static int sqlite_schema_version(Ccai_store *store)
{
    Ccai_sqlite *st = Ccai_sqlite_of(store);
    return st ? st->schema_version : 0;
}

/* Writability ------------------------------------------------------------- */

static CCAI_MUST_CHECK ccai_status sqlite_check_write(Ccai_store *store)
{
    Ccai_sqlite *st = Ccai_sqlite_of(store);
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    if (st->in_tx)
        return Ccai_sqlite_fail(st, CCAI_ERR_STATE, "store: check write: a transaction is open");
    /* A commit of its own: the group's first (its syncs are told). */
    CCAI_DISCARD(Ccai_sqlite_group_commit(st, "check write"));
    const char *lost = Ccai_sqlite_group_faults_lost(st);
    if (lost) /* failed closed: not ready until a sync of every write */
        return Ccai_sqlite_fail(st, CCAI_ERR_STORE, "%s", lost);
    sqlite3_stmt *s = NULL;
    ccai_status status = Ccai_sqlite_stmt_get(st, STMT_HEALTH, &s);
    if (status != CCAI_OK)
        return status;
    if (Ccai_sqlite_bind_int(s, 1, Ccai_wall_ms()) || sqlite3_step(s) != SQLITE_DONE)
        status = Ccai_sqlite_db_fail(st, "check write");
    else
        st->failure[0] = '\0'; /* a commit went through: the database works again */
    Ccai_sqlite_stmt_done(s);
    return status;
}

static CCAI_MUST_CHECK ccai_status sqlite_can_write(Ccai_store *store)
{
    Ccai_sqlite *st = Ccai_sqlite_of(store);
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    if (Ccai_sqlite_in_tx(st))
        return CCAI_OK; /* the caller (or the group) holds the write lock */
    /* A file opened read-only (no write permission) takes the write lock
     * all the same: say it without trying. */
    if (sqlite3_db_readonly(st->db, "main") == 1)
        return Ccai_sqlite_fail(st, CCAI_ERR_STORE, "store: write: the database file is read-only");
    /* A database that failed (full, I/O error) is tried for real: only a
     * commit tells that it works again. */
    if (st->failure[0])
        return sqlite_check_write(store);
    /* Take the write lock and give it back: no page is written, no fsync. */
    sqlite3_stmt *rollback = NULL;
    ccai_status status = Ccai_sqlite_stmt_get(st, STMT_ROLLBACK, &rollback);
    if (status == CCAI_OK)
        status = Ccai_sqlite_exec_stmt(st, "write", STMT_BEGIN_IMMEDIATE);
    if (status != CCAI_OK)
        return status;
    sqlite3_step(rollback); /* nothing to undo: it cannot fail */
    sqlite3_reset(rollback);
    return CCAI_OK;
}

static const char *sqlite_failure(const Ccai_store *store)
{
    const Ccai_sqlite *st = Ccai_sqlite_of_const(store);
    return st && st->failure[0] ? st->failure : NULL;
}

/* Explicit transactions ------------------------------------------------- */

static CCAI_MUST_CHECK ccai_status sqlite_begin(Ccai_store *store)
{
    Ccai_sqlite *st = Ccai_sqlite_of(store);
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    if (st->in_tx)
        return Ccai_sqlite_fail(st, CCAI_ERR_STATE, "store: begin: a transaction is already open");
    /* The group's writes are committed first (its syncs told). */
    ccai_status status = Ccai_sqlite_group_commit(st, "begin");
    if (status == CCAI_OK)
        status = Ccai_sqlite_exec_stmt(st, "begin", STMT_BEGIN_IMMEDIATE);
    if (status == CCAI_OK)
        st->in_tx = true;
    return status;
}

static CCAI_MUST_CHECK ccai_status sqlite_commit(Ccai_store *store)
{
    Ccai_sqlite *st = Ccai_sqlite_of(store);
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    if (!st->in_tx)
        return Ccai_sqlite_fail(st, CCAI_ERR_STATE, "store: commit: no transaction is open");
    if (sqlite3_get_autocommit(st->db)) {
        /* SQLite rolled it back itself after an earlier error (disk full, ...). */
        st->in_tx = false;
        return Ccai_sqlite_fail(
            st, CCAI_ERR_STORE,
            "store: commit: the transaction was rolled back by an earlier error");
    }
    ccai_status status = Ccai_sqlite_exec_stmt(st, "commit", STMT_COMMIT);
    /* A busy COMMIT leaves the transaction open: the caller may retry or
     * roll back. */
    if (status == CCAI_OK || sqlite3_get_autocommit(st->db))
        st->in_tx = false;
    return status;
}

static CCAI_MUST_CHECK ccai_status sqlite_rollback(Ccai_store *store)
{
    Ccai_sqlite *st = Ccai_sqlite_of(store);
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    if (!st->in_tx)
        return Ccai_sqlite_fail(st, CCAI_ERR_STATE, "store: rollback: no transaction is open");
    st->in_tx = false;
    Ccai_sqlite_calls_forget(st);
    if (sqlite3_get_autocommit(st->db))
        return CCAI_OK;
    return Ccai_sqlite_exec_stmt(st, "rollback", STMT_ROLLBACK);
}

/* database.sqlite.*: the file (":memory:" for a private in-memory
 * database), the busy timeout of the loop and the durability. */
static CCAI_MUST_CHECK ccai_status sqlite_open_config(const Ccai_store_env *env, Ccai_store **ret,
                                                      char **ret_errmsg)
{
    const ccai_config *cfg = env->cfg; /* SQLite blocks: no loop to drive */
    const char *path = Ccai_config_str(cfg, "database.sqlite.path");
    const char *sync = Ccai_config_str(cfg, "database.sqlite.synchronous");
    Ccai_store *store = NULL;
    ccai_status st = Ccai_sqlite_open(path && *path ? path : "ccai.sqlite", &store, ret_errmsg);
    if (st != CCAI_OK)
        return st;
    Ccai_sqlite_of(store)->log = env->log;
    st = Ccai_sqlite_configure(store,
                               (int)Ccai_config_int(cfg, "database.sqlite.busy_timeout_ms", 10),
                               sync && strcmp(sync, "full") == 0);
    if (st == CCAI_OK)
        st = Ccai_sqlite_checkpoint_thread(
            store, Ccai_config_bool(cfg, "database.sqlite.checkpoint_thread", false), env->log);
    /* Without a loop (a tool) each write commits at once. */
    if (st == CCAI_OK && env->ctx && Ccai_config_bool(cfg, "database.sqlite.group_commit", false))
        st = Ccai_sqlite_group_commit_on(store, env->ctx);
    if (st != CCAI_OK) {
        if (ret_errmsg && st != CCAI_ERR_NOMEM)
            *ret_errmsg = Ccai_strdup(sqlite_errmsg(store));
        sqlite_close(store);
        return st;
    }
    *ret = store;
    return CCAI_OK;
}

#define SQLITE_BACKEND_OPS                                                                        \
    .open = sqlite_open_config, .close = sqlite_close, .errmsg = sqlite_errmsg,                   \
    .location = sqlite_location, .describe = sqlite_describe,                                     \
    .schema_version = sqlite_schema_version, .check_write = sqlite_check_write,                   \
    .can_write = sqlite_can_write, .failure = sqlite_failure,                                     \
    .call_insert = Ccai_sqlite_call_insert, .call_update = Ccai_sqlite_call_update,               \
    .call_touch = Ccai_sqlite_call_touch, .call_get = Ccai_sqlite_call_get,                       \
    .call_find_latest = Ccai_sqlite_call_find_latest,                                             \
    .call_find_provider = Ccai_sqlite_call_find_provider,                                         \
    .call_find_correlation = Ccai_sqlite_call_find_correlation,                                   \
    .call_set_recording = Ccai_sqlite_call_set_recording, .calls_stale = Ccai_sqlite_calls_stale, \
    .call_list = Ccai_sqlite_call_list, .message_append = Ccai_sqlite_message_append,             \
    .messages_json = Ccai_sqlite_messages_json, .messages_newest = Ccai_sqlite_messages_newest,   \
    .message_delete = Ccai_sqlite_message_delete,                                                 \
    .message_set_content = Ccai_sqlite_message_set_content,                                       \
    .reminder_upsert = Ccai_sqlite_reminder_upsert, .reminders_json = Ccai_sqlite_reminders_json, \
    .job_enqueue = Ccai_sqlite_job_enqueue, .job_claim_kinds = Ccai_sqlite_job_claim_kinds,       \
    .job_done = Ccai_sqlite_job_done, .job_set_payload = Ccai_sqlite_job_set_payload,             \
    .job_fail = Ccai_sqlite_job_fail, .job_next_due_kinds = Ccai_sqlite_job_next_due_kinds,       \
    .job_get = Ccai_sqlite_job_get, .jobs_of_call = Ccai_sqlite_jobs_of_call,                     \
    .phrases_get = Ccai_sqlite_phrases_get, .phrases_put = Ccai_sqlite_phrases_put,               \
    .lease_acquire = Ccai_sqlite_lease_acquire, .lease_release = Ccai_sqlite_lease_release,       \
    .lease_get = Ccai_sqlite_lease_get, .begin = sqlite_begin, .commit = sqlite_commit,           \
    .rollback = sqlite_rollback,

const Ccai_store_backend Ccai_sqlite_backend = {
    .name = "sqlite", .writes_durable = true, .sync = sqlite_sync, SQLITE_BACKEND_OPS};

/* The same store with group commit on a loop (Ccai_sqlite_group_commit_on(),
 * store/sqlite_group.c): a write is committed at the end of the loop's
 * turn, its sync fires then. */
const Ccai_store_backend Ccai_sqlite_group_backend = {.name = "sqlite",
                                                      .writes_durable = false,
                                                      .sync = Ccai_sqlite_group_sync,
                                                      .forget_call = Ccai_sqlite_group_forget_call,
                                                      .commit_now = Ccai_sqlite_group_commit_now,
                                                      SQLITE_BACKEND_OPS};

bool Ccai_sqlite_is(const Ccai_store *store)
{
    return store &&
           (store->backend == &Ccai_sqlite_backend || store->backend == &Ccai_sqlite_group_backend);
}
