/* Persistence on SQLite: a backend of store/store.h (Ccai_sqlite_backend).
 *
 * One connection per store handle, used by one thread (NOMUTEX). Every
 * statement is prepared once and cached on the handle. Writes that take
 * several statements run in their own IMMEDIATE transaction, or in a
 * savepoint when the caller holds an explicit transaction (Ccai_store_begin).
 * Every write is committed when it returns (WAL; synchronous FULL or NORMAL,
 * Ccai_sqlite_configure()): the store's sync() completes at once.
 */
#include "store/sqlite.h"

#include "config/config.h"
#include "core/json.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Opening and migrating wait this long for a lock (start-up, not on a
 * serving loop); Ccai_sqlite_configure() sets the short wait of the loop. */
#define STORE_BUSY_TIMEOUT_MS 5000
#define STORE_LIST_MAX        1000
/* WAL frames before a checkpoint (SQLite's default), and between two
 * requests to the kernel to start writing the WAL back. */
#define WAL_CHECKPOINT_FRAMES 1000
#define WAL_WRITEBACK_FRAMES  32

/* Forward-only migrations: migrations[i] brings the schema to version i + 1.
 * Each runs in its own transaction together with its schema_migrations row.
 * Released steps are never edited; changes append a step. */
static const char *const migrations[] = {
    /* 1: calls, messages, reminders, jobs. */
    "CREATE TABLE calls ("
    " id TEXT PRIMARY KEY NOT NULL,"
    " direction TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),"
    " phone_number TEXT NOT NULL,"
    " bot_phone_number TEXT,"
    " channel TEXT NOT NULL,"
    " provider_call_id TEXT,"
    " state TEXT NOT NULL,"
    " lang TEXT,"
    " initiate TEXT NOT NULL CHECK (json_valid(initiate)),"
    " claim TEXT NOT NULL DEFAULT '{}'"
    "  CHECK (CASE WHEN json_valid(claim) THEN json_type(claim) = 'object' ELSE 0 END),"
    " next TEXT CHECK (next IS NULL OR json_valid(next)),"
    " synthesis TEXT CHECK (synthesis IS NULL OR json_valid(synthesis)),"
    " recording_url TEXT,"
    " callback_secret TEXT NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL,"
    " row_version INTEGER NOT NULL,"
    " policyholder_phone TEXT"
    "  GENERATED ALWAYS AS (json_extract(claim, '$.policyholder_phone')) VIRTUAL"
    ");"
    "CREATE INDEX calls_phone ON calls (phone_number, created_at);"
    "CREATE INDEX calls_policyholder ON calls (policyholder_phone, created_at);"
    "CREATE INDEX calls_created ON calls (created_at);"
    "CREATE INDEX calls_provider ON calls (provider_call_id);"
    "CREATE TABLE messages ("
    " call_id TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,"
    " seq INTEGER NOT NULL CHECK (seq >= 1),"
    " created_at INTEGER NOT NULL,"
    " persona TEXT NOT NULL CHECK (persona IN ('human', 'assistant', 'tool')),"
    " action TEXT NOT NULL,"
    " style TEXT NOT NULL CHECK (style IN ('none', 'cheerful', 'sad')),"
    " content TEXT NOT NULL,"
    " lang TEXT,"
    " tool_calls TEXT CHECK (tool_calls IS NULL OR"
    "  CASE WHEN json_valid(tool_calls) THEN json_type(tool_calls) = 'array' ELSE 0 END),"
    " engine TEXT,"
    " PRIMARY KEY (call_id, seq)"
    ");"
    "CREATE TABLE reminders ("
    " call_id TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,"
    " title TEXT NOT NULL,"
    " description TEXT,"
    " due_at INTEGER,"
    " owner TEXT,"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL,"
    " UNIQUE (call_id, title)"
    ");"
    "CREATE TABLE jobs ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " kind TEXT NOT NULL,"
    " call_id TEXT REFERENCES calls (id) ON DELETE SET NULL,"
    " payload TEXT CHECK (payload IS NULL OR json_valid(payload)),"
    " run_at INTEGER NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " last_error TEXT,"
    " state TEXT NOT NULL DEFAULT 'pending'"
    "  CHECK (state IN ('pending', 'running', 'done', 'failed')),"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL"
    ");"
    "CREATE INDEX jobs_due ON jobs (state, run_at);"
    "CREATE INDEX jobs_call ON jobs (call_id);",
    /* 2: what a call's provider reports about it, and why it ended: the
     * provider's correlation id (ACS names a call's recordings by it), the
     * recording's id and length, the end reason; calls in progress by last
     * activity (the sweep of calls nobody took back after a crash). */
    "ALTER TABLE calls ADD COLUMN correlation_id TEXT;"
    "ALTER TABLE calls ADD COLUMN end_reason TEXT;"
    "ALTER TABLE calls ADD COLUMN recording_id TEXT;"
    "ALTER TABLE calls ADD COLUMN recording_duration_ms INTEGER;"
    "CREATE INDEX calls_correlation ON calls (correlation_id) WHERE correlation_id IS NOT NULL;"
    "CREATE INDEX calls_live ON calls (updated_at) WHERE state NOT IN ('ended', 'done');",
    /* 3: one row the write check rewrites (Ccai_store_check_write): a real
     * commit, so a lock held elsewhere, a read-only file or a full disk show. */
    "CREATE TABLE store_health ("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " checked_at INTEGER NOT NULL"
    ");",
    /* 4: messages, appended several times a turn, are a cheaper write:
     * stored in the order of their key (one b-tree, not a table and its
     * index: one page per append, a call's messages side by side), and
     * checked with comparisons (SQLite 3.40 built a temporary index of
     * the IN lists of version 1 at every insert). The same columns and
     * rules. */
    "CREATE TABLE messages_v4 ("
    " call_id TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,"
    " seq INTEGER NOT NULL CHECK (seq >= 1),"
    " created_at INTEGER NOT NULL,"
    " persona TEXT NOT NULL"
    "  CHECK (persona = 'human' OR persona = 'assistant' OR persona = 'tool'),"
    " action TEXT NOT NULL,"
    " style TEXT NOT NULL CHECK (style = 'none' OR style = 'cheerful' OR style = 'sad'),"
    " content TEXT NOT NULL,"
    " lang TEXT,"
    " tool_calls TEXT CHECK (tool_calls IS NULL OR"
    "  CASE WHEN json_valid(tool_calls) THEN json_type(tool_calls) = 'array' ELSE 0 END),"
    " engine TEXT,"
    " PRIMARY KEY (call_id, seq)"
    ") WITHOUT ROWID;"
    "INSERT INTO messages_v4 (call_id, seq, created_at, persona, action, style, content, lang,"
    " tool_calls, engine) SELECT call_id, seq, created_at, persona, action, style, content, lang,"
    " tool_calls, engine FROM messages ORDER BY call_id, seq;"
    "DROP TABLE messages;"
    "ALTER TABLE messages_v4 RENAME TO messages;",
};

_Static_assert(CCAI_ARRAY_SIZE(migrations) == CCAI_STORE_SCHEMA_VERSION,
               "one migration step per schema version");

#define CALL_COLS                                                                                \
    "id, direction, phone_number, bot_phone_number, channel, provider_call_id, state, lang, "    \
    "initiate, claim, next, synthesis, recording_url, callback_secret, created_at, updated_at, " \
    "row_version, correlation_id, end_reason, recording_id, recording_duration_ms"

/* A call still in progress: neither ended nor done (the calls_live index). */
#define CALL_LIVE "state NOT IN ('ended', 'done')"

#define CALL_PHONE_FILTER "(phone_number = ?1 OR policyholder_phone = ?1)"

#define JOB_COLS "id, kind, call_id, payload, run_at, attempts, last_error, state"

enum stmt_id {
    STMT_VERSION,
    STMT_CALL_INSERT,
    STMT_CALL_UPDATE,
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
    STMT_HEALTH,
    STMT_COUNT
};

static const char *const stmt_sql[STMT_COUNT] = {
    [STMT_VERSION] = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
    [STMT_CALL_INSERT] = "INSERT INTO calls (" CALL_COLS ") VALUES "
                         "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
                         "?16, 1, ?17, ?18, ?19, ?20)",
    /* The recording columns are Ccai_store_call_set_recording()'s alone: a
     * writer holding an older copy of the row never erases them. */
    [STMT_CALL_UPDATE] = "UPDATE calls SET direction = ?2, phone_number = ?3, "
                         "bot_phone_number = ?4, channel = ?5, provider_call_id = ?6, "
                         "state = ?7, lang = ?8, initiate = ?9, claim = ?10, next = ?11, "
                         "synthesis = ?12, callback_secret = ?14, updated_at = ?15, "
                         "correlation_id = ?17, end_reason = ?18, row_version = row_version + 1 "
                         "WHERE id = ?1 AND row_version = ?16",
    [STMT_CALL_TOUCH] = "UPDATE calls SET updated_at = ?2, row_version = row_version + 1 "
                        "WHERE id = ?1 AND row_version = ?3",
    [STMT_CALL_VERSION] = "SELECT row_version FROM calls WHERE id = ?1",
    [STMT_CALL_GET] = "SELECT " CALL_COLS " FROM calls WHERE id = ?1",
    [STMT_CALL_FIND_LATEST] = "SELECT " CALL_COLS " FROM calls WHERE " CALL_PHONE_FILTER
                              " AND created_at >= ?2 ORDER BY created_at DESC, rowid DESC LIMIT 1",
    [STMT_CALL_FIND_PROVIDER] = "SELECT " CALL_COLS " FROM calls WHERE provider_call_id = ?1 AND "
                                "channel = ?2 ORDER BY created_at DESC, rowid DESC LIMIT 1",
    [STMT_CALL_FIND_CORRELATION] = "SELECT " CALL_COLS " FROM calls WHERE correlation_id = ?1 AND "
                                   "channel = ?2 ORDER BY created_at DESC, rowid DESC LIMIT 1",
    [STMT_CALL_SET_RECORDING] = "UPDATE calls SET recording_url = COALESCE(?2, recording_url), "
                                "recording_id = COALESCE(?3, recording_id), "
                                "recording_duration_ms = COALESCE(?4, recording_duration_ms) "
                                "WHERE id = ?1",
    /* Last activity: the row's last write or the call's last message. */
    [STMT_CALL_STALE] = "SELECT " CALL_COLS " FROM calls WHERE " CALL_LIVE " AND updated_at < ?1 "
                        "AND COALESCE((SELECT MAX(m.created_at) FROM messages m "
                        "WHERE m.call_id = calls.id), 0) < ?1 ORDER BY updated_at LIMIT ?2",
    [STMT_CALL_LIST_ALL] = "SELECT " CALL_COLS " FROM calls ORDER BY created_at DESC, rowid DESC "
                           "LIMIT ?2 OFFSET ?3",
    [STMT_CALL_LIST_PHONE] = "SELECT " CALL_COLS " FROM calls WHERE " CALL_PHONE_FILTER
                             " ORDER BY created_at DESC, rowid DESC LIMIT ?2 OFFSET ?3",
    [STMT_CALL_COUNT_ALL] = "SELECT COUNT(*) FROM calls",
    [STMT_CALL_COUNT_PHONE] = "SELECT COUNT(*) FROM calls WHERE " CALL_PHONE_FILTER,
    /* VALUES with a subquery, not INSERT ... SELECT FROM messages: reading
     * the table written to made SQLite copy the row through a temporary
     * table first (twice the instructions of the insert itself). */
    [STMT_MESSAGE_APPEND] = "INSERT INTO messages (call_id, seq, created_at, persona, action, "
                            "style, content, lang, tool_calls, engine) VALUES (?1, "
                            "(SELECT COALESCE(MAX(seq), 0) + 1 FROM messages WHERE call_id = ?1), "
                            "?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) RETURNING seq",
    /* The same without its seq: RETURNING costs a temporary table too. */
    [STMT_MESSAGE_APPEND_NOSEQ] =
        "INSERT INTO messages (call_id, seq, created_at, persona, action, "
        "style, content, lang, tool_calls, engine) VALUES (?1, "
        "(SELECT COALESCE(MAX(seq), 0) + 1 FROM messages WHERE call_id = ?1), "
        "?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [STMT_MESSAGES] = "SELECT seq, created_at, persona, action, style, content, lang, "
                      "tool_calls, engine FROM messages WHERE call_id = ?1 ORDER BY seq",
    [STMT_MESSAGES_NEWEST] = "SELECT seq, created_at, persona, action, style, content, lang, "
                             "tool_calls, engine FROM messages WHERE call_id = ?1 AND seq <= ?3 "
                             "ORDER BY seq DESC LIMIT ?2",
    [STMT_REMINDER_EXISTS] = "SELECT 1 FROM reminders WHERE call_id = ?1 AND title = ?2",
    [STMT_REMINDER_INSERT] = "INSERT INTO reminders (call_id, title, description, due_at, owner, "
                             "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
    [STMT_REMINDER_UPDATE] = "UPDATE reminders SET description = ?3, due_at = ?4, owner = ?5, "
                             "updated_at = ?6 WHERE call_id = ?1 AND title = ?2",
    [STMT_REMINDERS] = "SELECT title, description, due_at, owner, created_at, updated_at "
                       "FROM reminders WHERE call_id = ?1 "
                       "ORDER BY due_at IS NULL, due_at, created_at, rowid",
    [STMT_JOB_ENQUEUE] = "INSERT INTO jobs (kind, call_id, payload, run_at, attempts, state, "
                         "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, 0, 'pending', ?5, ?5)",
    [STMT_JOB_CLAIM] = "UPDATE jobs SET state = 'running', run_at = ?1, attempts = attempts + 1, "
                       "updated_at = ?1 WHERE id = (SELECT id FROM jobs WHERE "
                       "((state = 'pending' AND run_at <= ?1) OR "
                       "(state = 'running' AND run_at <= ?2)) AND "
                       "(?3 IS NULL OR instr(',' || ?3 || ',', ',' || kind || ',') > 0) "
                       "ORDER BY run_at, id LIMIT 1) "
                       "RETURNING " JOB_COLS,
    [STMT_JOB_DONE] = "UPDATE jobs SET state = 'done', updated_at = ?2 WHERE id = ?1",
    [STMT_JOB_FAIL] = "UPDATE jobs SET last_error = ?2, "
                      "state = CASE WHEN ?3 > 0 THEN 'pending' ELSE 'failed' END, "
                      "run_at = CASE WHEN ?3 > 0 THEN ?3 ELSE run_at END, updated_at = ?4 "
                      "WHERE id = ?1",
    [STMT_JOB_NEXT_DUE] = "SELECT MIN(run_at) FROM jobs WHERE state = 'pending' AND "
                          "(?1 IS NULL OR instr(',' || ?1 || ',', ',' || kind || ',') > 0)",
    [STMT_JOB_SET_PAYLOAD] = "UPDATE jobs SET payload = ?2, updated_at = ?3 WHERE id = ?1",
    [STMT_HEALTH] = "INSERT INTO store_health (id, checked_at) VALUES (1, ?1) "
                    "ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at",
};

typedef struct Ccai_sqlite {
    Ccai_store base; /* first: what store/store.c dispatches on */
    char *path;
    int busy_timeout_ms;
    bool sync_full;
    sqlite3 *db;
    sqlite3_stmt *stmts[STMT_COUNT];
    Ccai_err err;
    int schema_version;
    bool in_tx; /* an explicit transaction from Ccai_store_begin() is open */
    /* The last failure of the database itself (full disk, read-only file, I/O
     * error), until a commit succeeds again: Ccai_store_can_write(). */
    char failure[256];
    char *wal_path; /* NULL for a database in memory */
    int wal_fd;     /* the WAL, opened to ask for its write-back; -1 */
    int wal_asked;  /* frames in the WAL when write-back was last asked for */
} Ccai_sqlite;

static Ccai_sqlite *sqlite_of(Ccai_store *store)
{
    return (Ccai_sqlite *)store;
}

static const Ccai_sqlite *sqlite_of_const(const Ccai_store *store)
{
    return (const Ccai_sqlite *)store;
}

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
static CCAI_MUST_CHECK ccai_status db_fail(Ccai_sqlite *st, const char *op)
{
    int rc = sqlite3_extended_errcode(st->db);
    Ccai_err_set(&st->err, "store: %s: %s", op, sqlite3_errmsg(st->db));
    if (db_broken(rc))
        snprintf(st->failure, sizeof st->failure, "%s", Ccai_err_get(&st->err));
    return status_of_sqlite(rc);
}

static CCAI_MUST_CHECK ccai_status fail(Ccai_sqlite *st, ccai_status status, const char *fmt, ...)
    CCAI_PRINTF(3, 4);

static CCAI_MUST_CHECK ccai_status fail(Ccai_sqlite *st, ccai_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = Ccai_vasprintf(fmt, ap);
    va_end(ap);
    Ccai_err_clear(&st->err);
    st->err.msg = msg;
    return status;
}

static CCAI_MUST_CHECK ccai_status fail_nomem(Ccai_sqlite *st, const char *op)
{
    return fail(st, CCAI_ERR_NOMEM, "store: %s: out of memory", op);
}

/* Statements ------------------------------------------------------------ */

static CCAI_MUST_CHECK ccai_status stmt_get(Ccai_sqlite *st, enum stmt_id id, sqlite3_stmt **ret)
{
    if (!st->stmts[id] && sqlite3_prepare_v3(st->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                             &st->stmts[id], NULL) != SQLITE_OK)
        return db_fail(st, "prepare");
    *ret = st->stmts[id];
    return CCAI_OK;
}

static void stmt_done(sqlite3_stmt *s)
{
    if (s) {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
    }
}

/* Bound strings are SQLITE_STATIC: every statement is stepped and its
 * bindings cleared before the caller's strings can change. */
static int bind_text(sqlite3_stmt *s, int i, const char *v)
{
    return v ? sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(s, i);
}

static int bind_int(sqlite3_stmt *s, int i, int64_t v)
{
    return sqlite3_bind_int64(s, i, v);
}

/* Copy a text column; NULL stays NULL. false on out of memory. */
static CCAI_MUST_CHECK bool dup_col(sqlite3_stmt *s, int i, char **out)
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

static CCAI_MUST_CHECK ccai_status exec_sql(Ccai_sqlite *st, const char *op, const char *sql)
{
    if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(st, op);
    return CCAI_OK;
}

/* Transactions for one operation -------------------------------------- */

/* An operation of several statements runs in its own transaction, or in a
 * savepoint inside the caller's explicit transaction so that a failure
 * undoes only this operation. */
static CCAI_MUST_CHECK ccai_status op_begin(Ccai_sqlite *st, const char *op, bool write)
{
    if (st->in_tx)
        return exec_sql(st, op, "SAVEPOINT ccai_op");
    return exec_sql(st, op, write ? "BEGIN IMMEDIATE" : "BEGIN");
}

static CCAI_MUST_CHECK ccai_status op_end(Ccai_sqlite *st, const char *op, ccai_status status)
{
    if (status == CCAI_OK) {
        status = exec_sql(st, op, st->in_tx ? "RELEASE ccai_op" : "COMMIT");
        if (status == CCAI_OK)
            return CCAI_OK;
    }
    /* Errors here are secondary: the first one is what the caller sees. */
    if (st->in_tx)
        sqlite3_exec(st->db, "ROLLBACK TO ccai_op; RELEASE ccai_op", NULL, NULL, NULL);
    else if (!sqlite3_get_autocommit(st->db))
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    return status;
}

/* UTF-8 ------------------------------------------------------------------- */

static CCAI_MUST_CHECK bool utf8_valid(const char *s)
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

static CCAI_MUST_CHECK bool utf8_ok(const char *s)
{
    return !s || utf8_valid(s);
}

/* Open and migrate ----------------------------------------------------- */

static CCAI_MUST_CHECK ccai_status read_version(Ccai_sqlite *st, int *ret)
{
    sqlite3_stmt *s = NULL;
    ccai_status status = stmt_get(st, STMT_VERSION, &s);
    if (status != CCAI_OK)
        return status;
    if (sqlite3_step(s) != SQLITE_ROW)
        status = db_fail(st, "read schema version");
    else
        *ret = (int)sqlite3_column_int64(s, 0);
    stmt_done(s);
    return status;
}

static CCAI_MUST_CHECK ccai_status too_new(Ccai_sqlite *st, int version)
{
    return fail(st, CCAI_ERR_STORE,
                "store: database schema version %d is newer than this libccai (%d)", version,
                CCAI_STORE_SCHEMA_VERSION);
}

static CCAI_MUST_CHECK ccai_status migrate_step(Ccai_sqlite *st, int version)
{
    char op[48];
    snprintf(op, sizeof op, "migrate to version %d", version);
    ccai_status status = exec_sql(st, op, "BEGIN IMMEDIATE");
    if (status != CCAI_OK)
        return status;
    /* Another process may have migrated since we looked. */
    int current = 0;
    status = read_version(st, &current);
    if (status == CCAI_OK && current > CCAI_STORE_SCHEMA_VERSION)
        status = too_new(st, current);
    if (status == CCAI_OK && current < version) {
        status = exec_sql(st, op, migrations[version - 1]);
        if (status == CCAI_OK) {
            char *sql = Ccai_asprintf(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (%d, %lld)", version,
                (long long)Ccai_wall_ms());
            status = sql ? exec_sql(st, op, sql) : fail_nomem(st, op);
            ccai_free(sql);
        }
    }
    if (status == CCAI_OK)
        status = exec_sql(st, op, "COMMIT");
    if (status != CCAI_OK && !sqlite3_get_autocommit(st->db))
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    return status;
}

static CCAI_MUST_CHECK ccai_status store_migrate(Ccai_sqlite *st)
{
    ccai_status status = exec_sql(st, "create schema_migrations",
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

/* After each commit (it replaces SQLite's automatic checkpoint, which it
 * runs the same way). With synchronous=NORMAL a commit does not sync the
 * WAL: the checkpoint's fsync found megabytes to write and stalled the
 * loop for milliseconds (7 % of a busy loop's time). The kernel is asked to
 * start writing the WAL back as it grows (sync_file_range: it does not
 * wait), so that the checkpoint finds it on disk. Durability is the same:
 * the checkpoint still syncs. */
static int on_wal_commit(void *ud, sqlite3 *db, const char *name, int frames)
{
    Ccai_sqlite *st = ud;
#ifdef __linux__
    if (!st->sync_full && st->wal_path) {
        if (frames < st->wal_asked)
            st->wal_asked = 0; /* the WAL started over */
        if (frames - st->wal_asked >= WAL_WRITEBACK_FRAMES) {
            if (st->wal_fd < 0)
                st->wal_fd = open(st->wal_path, O_RDONLY | O_CLOEXEC);
            if (st->wal_fd >= 0)
                sync_file_range(st->wal_fd, 0, 0, SYNC_FILE_RANGE_WRITE);
            st->wal_asked = frames;
        }
    }
#endif
    if (frames >= WAL_CHECKPOINT_FRAMES)
        sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    return SQLITE_OK;
}

static void sqlite_close(Ccai_store *store);

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
    int rc = sqlite3_open_v2(
        path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (!st->db) {
        status = fail_nomem(st, "open");
        goto cleanup;
    }
    sqlite3_extended_result_codes(st->db, 1);
    if (rc != SQLITE_OK) {
        status = fail(st, CCAI_ERR_STORE, "store: open %s: %s", path, sqlite3_errmsg(st->db));
        goto cleanup;
    }
    sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT_MS);
    /* WAL, readers never block the writer; FULL until configured (a commit
     * is on disk when it returns). In-memory databases keep their "memory"
     * journal. */
    status = exec_sql(st, "configure",
                      "PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL; "
                      "PRAGMA synchronous = FULL");
    if (status == CCAI_OK)
        status = store_migrate(st);
    if (status == CCAI_OK && strcmp(path, ":memory:") != 0 && *path &&
        !(st->wal_path = Ccai_asprintf("%s-wal", path)))
        status = fail_nomem(st, "open");
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
    Ccai_sqlite *st = sqlite_of(store);
    if (!st)
        return;
    for (size_t i = 0; i < STMT_COUNT; i++)
        sqlite3_finalize(st->stmts[i]);
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
    const Ccai_sqlite *st = sqlite_of_const(store);
    return st ? Ccai_err_get(&st->err) : "";
}

static const char *sqlite_location(const Ccai_store *store)
{
    return sqlite_of_const(store)->path;
}

static CCAI_MUST_CHECK ccai_status sqlite_describe(Ccai_store *store, json_t *doc)
{
    Ccai_sqlite *st = sqlite_of(store);
    if (json_object_set_new(doc, "synchronous", json_string(st->sync_full ? "full" : "normal")) ||
        json_object_set_new(doc, "busy_timeout_ms", json_integer(st->busy_timeout_ms)))
        return CCAI_ERR_NOMEM;
    return CCAI_OK;
}

/* Every write was committed when it returned: what was accepted is durable. */
static CCAI_MUST_CHECK ccai_status sqlite_sync(Ccai_store *store, Ccai_store_done_fn done, void *ud)
{
    CCAI_UNUSED(store);
    done(CCAI_OK, ud);
    return CCAI_OK;
}

ccai_status Ccai_sqlite_configure(Ccai_store *store, int busy_timeout_ms, bool sync_full)
{
    Ccai_sqlite *st = store && store->backend == &Ccai_sqlite_backend ? sqlite_of(store) : NULL;
    if (!st || busy_timeout_ms < 0)
        return CCAI_ERR_INVALID_ARG;
    st->busy_timeout_ms = busy_timeout_ms;
    st->sync_full = sync_full;
    sqlite3_busy_timeout(st->db, busy_timeout_ms);
    /* In WAL mode NORMAL keeps every commit across a crash of the process
     * (the WAL is written before the commit returns); only an OS crash or a
     * power loss can roll back the last commits. FULL adds an fsync each. */
    ccai_status status = exec_sql(
        st, "configure", sync_full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
    if (status == CCAI_OK)
        st->sync_full = sync_full;
    return status;
}

static int sqlite_schema_version(Ccai_store *store)
{
    Ccai_sqlite *st = sqlite_of(store);
    return st ? st->schema_version : 0;
}

/* Writability ------------------------------------------------------------- */

static CCAI_MUST_CHECK ccai_status sqlite_check_write(Ccai_store *store)
{
    Ccai_sqlite *st = sqlite_of(store);
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    if (st->in_tx)
        return fail(st, CCAI_ERR_STATE, "store: check write: a transaction is open");
    sqlite3_stmt *s = NULL;
    ccai_status status = stmt_get(st, STMT_HEALTH, &s);
    if (status != CCAI_OK)
        return status;
    if (bind_int(s, 1, Ccai_wall_ms()) || sqlite3_step(s) != SQLITE_DONE)
        status = db_fail(st, "check write");
    else
        st->failure[0] = '\0'; /* a commit went through: the database works again */
    stmt_done(s);
    return status;
}

static CCAI_MUST_CHECK ccai_status sqlite_can_write(Ccai_store *store)
{
    Ccai_sqlite *st = sqlite_of(store);
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    if (st->in_tx)
        return CCAI_OK; /* the caller holds the write lock */
    /* A file opened read-only (no write permission) takes the write lock
     * all the same: say it without trying. */
    if (sqlite3_db_readonly(st->db, "main") == 1)
        return fail(st, CCAI_ERR_STORE, "store: write: the database file is read-only");
    /* A database that failed (full, I/O error) is tried for real: only a
     * commit tells that it works again. */
    if (st->failure[0])
        return sqlite_check_write(store);
    /* Take the write lock and give it back: no page is written, no fsync. */
    if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(st, "write");
    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    return CCAI_OK;
}

static const char *sqlite_failure(const Ccai_store *store)
{
    const Ccai_sqlite *st = sqlite_of_const(store);
    return st && st->failure[0] ? st->failure : NULL;
}

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
    return bind_text(s, 2, direction_str(c->direction)) || bind_text(s, 3, c->phone_number) ||
           bind_text(s, 4, c->bot_phone_number) || bind_text(s, 5, c->channel) ||
           bind_text(s, 6, c->provider_call_id) || bind_text(s, 7, c->state) ||
           bind_text(s, 8, c->lang) || bind_text(s, 9, c->initiate_json) ||
           bind_text(s, 10, c->claim_json ? c->claim_json : "{}") ||
           bind_text(s, 11, c->next_json) || bind_text(s, 12, c->synthesis_json) ||
           bind_text(s, 13, c->recording_url) || bind_text(s, 14, c->callback_secret) ||
           bind_text(s, 17, c->correlation_id) || bind_text(s, 18, c->end_reason);
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
        return fail_nomem(st, "read call");
    const unsigned char *id = sqlite3_column_text(s, 0);
    const unsigned char *dir = sqlite3_column_text(s, 1);
    if (!id || !dir) {
        Ccai_store_call_free(c);
        return fail_nomem(st, "read call");
    }
    if ((size_t)sqlite3_column_bytes(s, 0) >= sizeof c->id) {
        Ccai_store_call_free(c);
        return fail(st, CCAI_ERR_STORE, "store: read call: id \"%s\" is too long",
                    (const char *)id);
    }
    memcpy(c->id, id, (size_t)sqlite3_column_bytes(s, 0));
    c->direction = strcmp((const char *)dir, "outbound") == 0 ? CCAI_OUTBOUND : CCAI_INBOUND;
    if (!dup_col(s, 2, &c->phone_number) || !dup_col(s, 3, &c->bot_phone_number) ||
        !dup_col(s, 4, &c->channel) || !dup_col(s, 5, &c->provider_call_id) ||
        !dup_col(s, 6, &c->state) || !dup_col(s, 7, &c->lang) ||
        !dup_col(s, 8, &c->initiate_json) || !dup_col(s, 9, &c->claim_json) ||
        !dup_col(s, 10, &c->next_json) || !dup_col(s, 11, &c->synthesis_json) ||
        !dup_col(s, 12, &c->recording_url) || !dup_col(s, 13, &c->callback_secret) ||
        !dup_col(s, 17, &c->correlation_id) || !dup_col(s, 18, &c->end_reason) ||
        !dup_col(s, 19, &c->recording_id)) {
        Ccai_store_call_free(c);
        return fail_nomem(st, "read call");
    }
    c->created_at = sqlite3_column_int64(s, 14);
    c->updated_at = sqlite3_column_int64(s, 15);
    c->row_version = sqlite3_column_int64(s, 16);
    c->recording_duration_ms = sqlite3_column_int64(s, 20); /* NULL reads as 0 */
    *ret = c;
    return CCAI_OK;
}

static CCAI_MUST_CHECK ccai_status sqlite_call_insert(Ccai_store *store, Ccai_store_call *c)
{
    Ccai_sqlite *st = sqlite_of(store);
    if (!st || !c || !call_valid(c))
        return CCAI_ERR_INVALID_ARG;
    char id[sizeof c->id];
    memcpy(id, c->id, sizeof id);
    if (!id[0] && !Ccai_uuid4(id))
        return fail(st, CCAI_ERR_STORE, "store: insert call: no random source for an id");
    int64_t created = c->created_at ? c->created_at : Ccai_wall_ms();
    int64_t updated = c->updated_at ? c->updated_at : created;

    sqlite3_stmt *s = NULL;
    ccai_status status = stmt_get(st, STMT_CALL_INSERT, &s);
    if (status != CCAI_OK)
        return status;
    if (bind_text(s, 1, id) || bind_call_columns(s, c) || bind_int(s, 15, created) ||
        bind_int(s, 16, updated) || bind_text(s, 19, c->recording_id) ||
        bind_length(s, 20, c->recording_duration_ms)) {
        status = db_fail(st, "insert call");
        goto cleanup;
    }
    if (sqlite3_step(s) != SQLITE_DONE) {
        status = db_fail(st, "insert call");
        if (status == CCAI_ERR_CONFLICT)
            status = fail(st, status, "store: insert call: call %s already exists", id);
        goto cleanup;
    }
    memcpy(c->id, id, sizeof id);
    c->created_at = created;
    c->updated_at = updated;
    c->row_version = 1;

cleanup:
    stmt_done(s);
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
        status = db_fail(st, op);
        goto cleanup;
    }
    if (sqlite3_changes(st->db) == 1) {
        c->row_version++;
        c->updated_at = now;
        goto cleanup;
    }
    /* Nothing matched: tell a stale writer from a missing row. */
    status = stmt_get(st, STMT_CALL_VERSION, &v);
    if (status != CCAI_OK)
        goto cleanup;
    if (bind_text(v, 1, c->id)) {
        status = db_fail(st, op);
        goto cleanup;
    }
    int rc = sqlite3_step(v);
    if (rc == SQLITE_ROW)
        status = fail(st, CCAI_ERR_CONFLICT,
                      "store: call %s was changed by another writer (row version %lld, "
                      "expected %lld)",
                      c->id, (long long)sqlite3_column_int64(v, 0), (long long)c->row_version);
    else if (rc == SQLITE_DONE)
        status = fail(st, CCAI_ERR_NOT_FOUND, "store: %s: no call %s", op, c->id);
    else
        status = db_fail(st, op);

cleanup:
    stmt_done(s);
    stmt_done(v);
    return status;
}

static CCAI_MUST_CHECK ccai_status sqlite_call_update(Ccai_store *store, Ccai_store_call *c)
{
    Ccai_sqlite *st = sqlite_of(store);
    if (!st || !c || !call_valid(c) || !c->id[0])
        return CCAI_ERR_INVALID_ARG;
    int64_t now = Ccai_wall_ms();
    sqlite3_stmt *s = NULL;
    ccai_status status = stmt_get(st, STMT_CALL_UPDATE, &s);
    if (status != CCAI_OK)
        return status;
    if (bind_text(s, 1, c->id) || bind_call_columns(s, c) || bind_int(s, 15, now) ||
        bind_int(s, 16, c->row_version)) {
        status = db_fail(st, "update call");
        stmt_done(s);
        return status;
    }
    return call_write_step(st, s, c, now, "update call");
}

static CCAI_MUST_CHECK ccai_status sqlite_call_touch(Ccai_store *store, Ccai_store_call *c)
{
    Ccai_sqlite *st = sqlite_of(store);
    if (!st || !c || !c->id[0])
        return CCAI_ERR_INVALID_ARG;
    int64_t now = Ccai_wall_ms();
    sqlite3_stmt *s = NULL;
    ccai_status status = stmt_get(st, STMT_CALL_TOUCH, &s);
    if (status != CCAI_OK)
        return status;
    if (bind_text(s, 1, c->id) || bind_int(s, 2, now) || bind_int(s, 3, c->row_version)) {
        status = db_fail(st, "touch call");
        stmt_done(s);
        return status;
    }
    return call_write_step(st, s, c, now, "touch call");
}

/* Step a statement selecting CALL_COLS for at most one row. */
static CCAI_MUST_CHECK ccai_status call_fetch_one(Ccai_sqlite *st, sqlite3_stmt *s, const char *op,
                                                  Ccai_store_call **ret)
{
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE)
        return CCAI_ERR_NOT_FOUND;
    if (rc != SQLITE_ROW)
        return db_fail(st, op);
    return read_call(st, s, ret);
}

static CCAI_MUST_CHECK ccai_status sqlite_call_get(Ccai_store *store, const char *id,
                                                   Ccai_store_call **ret)
{
    Ccai_sqlite *st = sqlite_of(store);
    if (!st || !id || !ret)
        return CCAI_ERR_INVALID_ARG;
    sqlite3_stmt *s = NULL;
    ccai_status status = stmt_get(st, STMT_CALL_GET, &s);
    if (status != CCAI_OK)
        return status;
    if (bind_text(s, 1, id))
        status = db_fail(st, "get call");
    else
        status = call_fetch_one(st, s, "get call", ret);
    if (status == CCAI_ERR_NOT_FOUND)
        status = fail(st, status, "store: get call: no call %s", id);
    stmt_done(s);
    return status;
}

static CCAI_MUST_CHECK ccai_status sqlite_call_find_latest(Ccai_store *store, const char *phone,
                                                           int64_t since_ms, Ccai_store_call **ret)
{
    Ccai_sqlite *st = sqlite_of(store);
    if (!st || !phone || !ret)
        return CCAI_ERR_INVALID_ARG;
    sqlite3_stmt *s = NULL;
    ccai_status status = stmt_get(st, STMT_CALL_FIND_LATEST, &s);
    if (status != CCAI_OK)
        return status;
    if (bind_text(s, 1, phone) || bind_int(s, 2, since_ms > 0 ? since_ms : INT64_MIN))
        status = db_fail(st, "find latest call");
    else
        status = call_fetch_one(st, s, "find latest call", ret);
    if (status == CCAI_ERR_NOT_FOUND)
        status = fail(st, status, "store: find latest call: no call for %s", phone);
    stmt_done(s);
    return status;
}

static CCAI_MUST_CHECK ccai_status sqlite_call_find_provider(Ccai_store *store, const char *channel,
                                                             const char *provider_call_id,
                                                             Ccai_store_call **ret)
{
    Ccai_sqlite *st = sqlite_of(store);
    if (!st || !channel || !provider_call_id || !ret)
        return CCAI_ERR_INVALID_ARG;
    sqlite3_stmt *s = NULL;
    ccai_status status = stmt_get(st, STMT_CALL_FIND_PROVIDER, &s);
    if (status != CCAI_OK)
        return status;
    if (bind_text(s, 1, provider_call_id) || bind_text(s, 2, channel))
        status = db_fail(st, "find call by provider id");
    else
        status = call_fetch_one(st, s, "find call by provider id", ret);
    if (status == CCAI_ERR_NOT_FOUND)
        status =
            fail(st, status, "store: no %s call with provider id %s", channel, provider_call_id);
    stmt_done(s);
    return status;
}

static CCAI_MUST_CHECK ccai_status sqlite_call_find_correlation(Ccai_store *store,
                                                                const char *channel,
                                                                const char *correlation_id,
                                                                Ccai_store_call **ret)
{
    Ccai_sqlite *st = sqlite_of(store);
    if (!st || !channel || !correlation_id || !ret)
        return CCAI_ERR_INVALID_ARG;
    sqlite3_stmt *s = NULL;
    ccai_status status = stmt_get(st, STMT_CALL_FIND_CORRELATION, &s);
    if (status != CCAI_OK)
        return status;
    if (bind_text(s, 1, correlation_id) || bind_text(s, 2, channel))
        status = db_fail(st, "find call by correlation id");
    else
        status = call_fetch_one(st, s, "find call by correlation id", ret);
    if (status == CCAI_ERR_NOT_FOUND)
        status =
            fail(st, status, "store: no %s call with correlation id %s", channel, correlation_id);
    stmt_done(s);
    return status;
}

static CCAI_MUST_CHECK ccai_status sqlite_call_set_recording(Ccai_store *store, const char *id,
                                                             const char *url,
                                                             const char *recording_id,
                                                             int64_t duration_ms)
{
    Ccai_sqlite *st = sqlite_of(store);
    if (!st || !id || (!url && !recording_id && duration_ms <= 0))
        return CCAI_ERR_INVALID_ARG;
    if (!utf8_ok(url) || !utf8_ok(recording_id))
        return fail(st, CCAI_ERR_INVALID_ARG, "store: set recording: text is not valid UTF-8");
    sqlite3_stmt *s = NULL;
    ccai_status status = stmt_get(st, STMT_CALL_SET_RECORDING, &s);
    if (status != CCAI_OK)
        return status;
    if (bind_text(s, 1, id) || bind_text(s, 2, url) || bind_text(s, 3, recording_id) ||
        bind_length(s, 4, duration_ms) || sqlite3_step(s) != SQLITE_DONE)
        status = db_fail(st, "set recording");
    else if (sqlite3_changes(st->db) != 1)
        status = fail(st, CCAI_ERR_NOT_FOUND, "store: set recording: no call %s", id);
    stmt_done(s);
    return status;
}

static CCAI_MUST_CHECK ccai_status sqlite_calls_stale(Ccai_store *store, int64_t before_ms,
                                                      size_t limit, Ccai_store_call ***ret_calls,
                                                      size_t *ret_n)
{
    Ccai_sqlite *st = sqlite_of(store);
    if (!st || !ret_calls || !ret_n)
        return CCAI_ERR_INVALID_ARG;
    if (limit > STORE_LIST_MAX)
        limit = STORE_LIST_MAX;
    sqlite3_stmt *s = NULL;
    Ccai_store_call **calls = limit ? Ccai_calloc(limit, sizeof *calls) : NULL;
    size_t n = 0;
    if (limit && !calls)
        return fail_nomem(st, "stale calls");
    ccai_status status = stmt_get(st, STMT_CALL_STALE, &s);
    if (status != CCAI_OK)
        goto cleanup;
    if (bind_int(s, 1, before_ms) || bind_int(s, 2, (int64_t)limit)) {
        status = db_fail(st, "stale calls");
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
        status = db_fail(st, "stale calls");
        goto cleanup;
    }
    *ret_calls = calls;
    *ret_n = n;
    calls = NULL;
    n = 0;

cleanup:
    Ccai_store_call_list_free(calls, n);
    stmt_done(s);
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
    ccai_status status = stmt_get(st, phone ? STMT_CALL_COUNT_PHONE : STMT_CALL_COUNT_ALL, &cnt);
    if (status != CCAI_OK)
        return status;
    if ((phone && bind_text(cnt, 1, phone)) || sqlite3_step(cnt) != SQLITE_ROW) {
        status = db_fail(st, "list calls");
        goto cleanup;
    }
    size_t total = (size_t)sqlite3_column_int64(cnt, 0);
    size_t want = total > offset ? total - offset : 0;
    if (want > limit)
        want = limit;
    if (want) {
        calls = Ccai_calloc(want, sizeof(Ccai_store_call *));
        if (!calls) {
            status = fail_nomem(st, "list calls");
            goto cleanup;
        }
        status = stmt_get(st, phone ? STMT_CALL_LIST_PHONE : STMT_CALL_LIST_ALL, &sel);
        if (status != CCAI_OK)
            goto cleanup;
        if ((phone && bind_text(sel, 1, phone)) || bind_int(sel, 2, (int64_t)want) ||
            bind_int(sel, 3, (int64_t)offset)) {
            status = db_fail(st, "list calls");
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
            status = db_fail(st, "list calls");
            goto cleanup;
        }
    }
    *ret_calls = calls;
    *ret_n = n;
    *ret_total = total;
    calls = NULL;

cleanup:
    Ccai_store_call_list_free(calls, n);
    stmt_done(cnt);
    stmt_done(sel);
    return status;
}

static CCAI_MUST_CHECK ccai_status sqlite_call_list(Ccai_store *store, const char *phone,
                                                    size_t limit, size_t offset,
                                                    Ccai_store_call ***ret_calls, size_t *ret_n,
                                                    size_t *ret_total)
{
    Ccai_sqlite *st = sqlite_of(store);
    if (!st || !ret_calls || !ret_n || !ret_total)
        return CCAI_ERR_INVALID_ARG;
    if (limit > STORE_LIST_MAX)
        limit = STORE_LIST_MAX;
    if (offset > INT64_MAX)
        offset = INT64_MAX;
    ccai_status status = op_begin(st, "list calls", false);
    if (status != CCAI_OK)
        return status;
    Ccai_store_call **calls = NULL;
    size_t n = 0, total = 0;
    status =
        op_end(st, "list calls", call_list_locked(st, phone, limit, offset, &calls, &n, &total));
    if (status != CCAI_OK) {
        Ccai_store_call_list_free(calls, n);
        return status;
    }
    *ret_calls = calls;
    *ret_n = n;
    *ret_total = total;
    return CCAI_OK;
}

/* Messages --------------------------------------------------------------- */

static CCAI_MUST_CHECK ccai_status sqlite_message_append(Ccai_store *store, const char *call_id,
                                                         const Ccai_store_message *m,
                                                         int64_t *ret_seq)
{
    Ccai_sqlite *st = sqlite_of(store);
    if (!st || !call_id || !m || !m->persona || !m->action || !m->style || !m->content)
        return CCAI_ERR_INVALID_ARG;
    if (!utf8_ok(m->content) || !utf8_ok(m->action) || !utf8_ok(m->lang) || !utf8_ok(m->engine))
        return fail(st, CCAI_ERR_INVALID_ARG, "store: append message: text is not valid UTF-8");
    sqlite3_stmt *s = NULL;
    ccai_status status =
        stmt_get(st, ret_seq ? STMT_MESSAGE_APPEND : STMT_MESSAGE_APPEND_NOSEQ, &s);
    if (status != CCAI_OK)
        return status;
    /* One statement computes seq and inserts: atomic without a transaction. */
    if (bind_text(s, 1, call_id) ||
        bind_int(s, 2, m->created_at ? m->created_at : Ccai_wall_ms()) ||
        bind_text(s, 3, m->persona) || bind_text(s, 4, m->action) || bind_text(s, 5, m->style) ||
        bind_text(s, 6, m->content) || bind_text(s, 7, m->lang) ||
        bind_text(s, 8, m->tool_calls_json) || bind_text(s, 9, m->engine)) {
        status = db_fail(st, "append message");
        goto cleanup;
    }
    int64_t seq = 0;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        seq = sqlite3_column_int64(s, 0);
        rc = sqlite3_step(s); /* completes the statement: the commit */
    }
    if (rc != SQLITE_DONE) {
        status = db_fail(st, "append message");
        if (status == CCAI_ERR_NOT_FOUND)
            status = fail(st, status, "store: append message: no call %s", call_id);
        goto cleanup;
    }
    if (ret_seq)
        *ret_seq = seq;

cleanup:
    stmt_done(s);
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
        return fail_nomem(st, op);
    json_t *v = json_string(t);
    if (!v) {
        if (!utf8_valid(t))
            return fail(st, CCAI_ERR_STORE, "store: %s: %s is not valid UTF-8", op, key);
        return fail_nomem(st, op);
    }
    if (json_object_set_new(obj, key, v) != 0)
        return fail_nomem(st, op);
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
        return fail_nomem(st, op);
    return CCAI_OK;
}

/* When a call has no rows, say whether the call itself exists. */
static CCAI_MUST_CHECK ccai_status call_exists(Ccai_sqlite *st, const char *id, const char *op)
{
    sqlite3_stmt *s = NULL;
    ccai_status status = stmt_get(st, STMT_CALL_VERSION, &s);
    if (status != CCAI_OK)
        return status;
    int rc = bind_text(s, 1, id) ? SQLITE_ERROR : sqlite3_step(s);
    if (rc == SQLITE_DONE)
        status = fail(st, CCAI_ERR_NOT_FOUND, "store: %s: no call %s", op, id);
    else if (rc != SQLITE_ROW)
        status = db_fail(st, op);
    stmt_done(s);
    return status;
}

static CCAI_MUST_CHECK ccai_status message_to_json(Ccai_sqlite *st, sqlite3_stmt *s, json_t **ret)
{
    static const char op[] = "read messages";
    json_t *o = json_object();
    if (!o)
        return fail_nomem(st, op);
    ccai_status status = CCAI_OK;
    if (json_object_set_new(o, "seq", json_integer(sqlite3_column_int64(s, 0))) != 0) {
        status = fail_nomem(st, op);
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
                status = fail(st, CCAI_ERR_STORE, "store: %s: tool_calls of message %lld: %s", op,
                              (long long)sqlite3_column_int64(s, 0), jerr.text);
            else
                status = fail_nomem(st, op);
            goto cleanup;
        }
        if (json_object_set_new(o, "tool_calls", calls) != 0) {
            status = fail_nomem(st, op);
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
static CCAI_MUST_CHECK ccai_status call_rows_json(Ccai_sqlite *st, enum stmt_id id,
                                                  row_to_json_fn to_json, const char *op,
                                                  const char *call_id, int64_t limit, json_t **ret)
{
    if (!st || !call_id || !ret)
        return CCAI_ERR_INVALID_ARG;
    sqlite3_stmt *s = NULL;
    ccai_status status = stmt_get(st, id, &s);
    if (status != CCAI_OK)
        return status;
    json_t *arr = json_array();
    if (!arr) {
        status = fail_nomem(st, op);
        goto cleanup;
    }
    if (bind_text(s, 1, call_id) || (limit >= 0 && bind_int(s, 2, limit))) {
        status = db_fail(st, op);
        goto cleanup;
    }
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        json_t *o = NULL;
        status = to_json(st, s, &o);
        if (status != CCAI_OK)
            goto cleanup;
        if (json_array_append_new(arr, o) != 0) {
            status = fail_nomem(st, op);
            goto cleanup;
        }
    }
    if (rc != SQLITE_DONE) {
        status = db_fail(st, op);
        goto cleanup;
    }
    stmt_done(s);
    s = NULL;
    if (json_array_size(arr) == 0)
        status = call_exists(st, call_id, op);

cleanup:
    stmt_done(s);
    if (status != CCAI_OK) {
        json_decref(arr);
        return status;
    }
    *ret = arr;
    return CCAI_OK;
}

static CCAI_MUST_CHECK ccai_status sqlite_messages_json(Ccai_store *store, const char *call_id,
                                                        json_t **ret)
{
    Ccai_sqlite *st = sqlite_of(store);
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
    *bad = !utf8_valid(*out);
    return !*bad;
}

static ccai_status sqlite_messages_newest(Ccai_store *store, const char *call_id, int64_t limit,
                                          int64_t max_seq, Ccai_store_message_fn fn, void *ud)
{
    static const char op[] = "read messages";
    Ccai_sqlite *st = sqlite_of(store);
    if (!call_id || !fn || limit < 0)
        return CCAI_ERR_INVALID_ARG;
    sqlite3_stmt *s = NULL;
    ccai_status status = stmt_get(st, STMT_MESSAGES_NEWEST, &s);
    if (status != CCAI_OK)
        return status;
    if (bind_text(s, 1, call_id) || bind_int(s, 2, limit) ||
        bind_int(s, 3, max_seq >= 0 ? max_seq : INT64_MAX)) {
        status = db_fail(st, op);
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
            status = bad ? fail(st, CCAI_ERR_STORE, "store: %s: message %lld is not valid UTF-8",
                                op, (long long)m.seq)
                         : fail_nomem(st, op);
            goto cleanup;
        }
        rows++;
        if (fn(&m, ud))
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        status = db_fail(st, op);
        goto cleanup;
    }
    stmt_done(s);
    s = NULL;
    if (rows == 0)
        status = call_exists(st, call_id, op);

cleanup:
    stmt_done(s);
    return status;
}

/* Remove one message (the caller's words a content filter refused: keeping
 * them would make every later request fail the same way). */
static CCAI_MUST_CHECK ccai_status sqlite_message_delete(Ccai_store *store, const char *call_id,
                                                         int64_t seq)
{
    Ccai_sqlite *st = sqlite_of(store);
    if (!st || !call_id)
        return CCAI_ERR_INVALID_ARG;
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db, "DELETE FROM messages WHERE call_id = ? AND seq = ?", -1, &s,
                           NULL) != SQLITE_OK)
        return db_fail(st, "delete message");
    ccai_status status = CCAI_OK;
    if (bind_text(s, 1, call_id) || bind_int(s, 2, seq) || sqlite3_step(s) != SQLITE_DONE)
        status = db_fail(st, "delete message");
    else if (sqlite3_changes(st->db) == 0)
        status = fail(st, CCAI_ERR_NOT_FOUND, "store: delete message: no message %lld in call %s",
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
    ccai_status status = stmt_get(st, STMT_REMINDER_EXISTS, &ex);
    if (status != CCAI_OK)
        return status;
    int rc = bind_text(ex, 1, call_id) || bind_text(ex, 2, title) ? SQLITE_ERROR : sqlite3_step(ex);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        status = db_fail(st, op);
        goto cleanup;
    }
    bool created = rc == SQLITE_DONE;
    status = stmt_get(st, created ? STMT_REMINDER_INSERT : STMT_REMINDER_UPDATE, &w);
    if (status != CCAI_OK)
        goto cleanup;
    if (bind_text(w, 1, call_id) || bind_text(w, 2, title) || bind_text(w, 3, description) ||
        (due_at > 0 ? bind_int(w, 4, due_at) : sqlite3_bind_null(w, 4)) || bind_text(w, 5, owner) ||
        bind_int(w, 6, Ccai_wall_ms()) || sqlite3_step(w) != SQLITE_DONE) {
        status = db_fail(st, op);
        if (status == CCAI_ERR_NOT_FOUND)
            status = fail(st, status, "store: %s: no call %s", op, call_id);
        goto cleanup;
    }
    *ret_created = created;

cleanup:
    stmt_done(ex);
    stmt_done(w);
    return status;
}

static CCAI_MUST_CHECK ccai_status sqlite_reminder_upsert(Ccai_store *store, const char *call_id,
                                                          const char *title,
                                                          const char *description, int64_t due_at,
                                                          const char *owner, bool *ret_created)
{
    Ccai_sqlite *st = sqlite_of(store);
    static const char op[] = "upsert reminder";
    if (!st || !call_id || !title)
        return CCAI_ERR_INVALID_ARG;
    if (!utf8_ok(title) || !utf8_ok(description) || !utf8_ok(owner))
        return fail(st, CCAI_ERR_INVALID_ARG, "store: %s: text is not valid UTF-8", op);
    ccai_status status = op_begin(st, op, true);
    if (status != CCAI_OK)
        return status;
    bool created = false;
    status = op_end(
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
        return fail_nomem(st, op);
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

static CCAI_MUST_CHECK ccai_status sqlite_reminders_json(Ccai_store *store, const char *call_id,
                                                         json_t **ret)
{
    Ccai_sqlite *st = sqlite_of(store);
    return call_rows_json(st, STMT_REMINDERS, reminder_to_json, "read reminders", call_id, -1, ret);
}

/* Jobs ------------------------------------------------------------------- */

static CCAI_MUST_CHECK ccai_status sqlite_job_enqueue(Ccai_store *store, const char *kind,
                                                      const char *call_id, const char *payload,
                                                      int64_t run_at, int64_t *ret_id)
{
    Ccai_sqlite *st = sqlite_of(store);
    if (!st || !kind)
        return CCAI_ERR_INVALID_ARG;
    sqlite3_stmt *s = NULL;
    ccai_status status = stmt_get(st, STMT_JOB_ENQUEUE, &s);
    if (status != CCAI_OK)
        return status;
    if (bind_text(s, 1, kind) || bind_text(s, 2, call_id) || bind_text(s, 3, payload) ||
        bind_int(s, 4, run_at) || bind_int(s, 5, Ccai_wall_ms()) ||
        sqlite3_step(s) != SQLITE_DONE) {
        status = db_fail(st, "enqueue job");
        if (status == CCAI_ERR_NOT_FOUND)
            status = fail(st, status, "store: enqueue job: no call %s", call_id);
        goto cleanup;
    }
    if (ret_id)
        *ret_id = sqlite3_last_insert_rowid(st->db);

cleanup:
    stmt_done(s);
    return status;
}

static CCAI_MUST_CHECK ccai_status job_claim_locked(Ccai_sqlite *st, const char *kinds, int64_t now,
                                                    int64_t lease_ms, Ccai_store_job **ret)
{
    static const char op[] = "claim job";
    sqlite3_stmt *s = NULL;
    ccai_status status = stmt_get(st, STMT_JOB_CLAIM, &s);
    if (status != CCAI_OK)
        return status;
    Ccai_store_job *j = NULL;
    int rc = bind_int(s, 1, now) || bind_int(s, 2, now - lease_ms) || bind_text(s, 3, kinds)
                 ? SQLITE_ERROR
                 : sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        status = fail(st, CCAI_ERR_NOT_FOUND, "store: %s: no job is due", op);
        goto cleanup;
    }
    if (rc != SQLITE_ROW) {
        status = db_fail(st, op);
        goto cleanup;
    }
    j = Ccai_calloc(1, sizeof *j);
    if (!j || !dup_col(s, 1, &j->kind) || !dup_col(s, 2, &j->call_id) ||
        !dup_col(s, 3, &j->payload) || !dup_col(s, 6, &j->last_error) ||
        !dup_col(s, 7, &j->state)) {
        status = fail_nomem(st, op);
        goto cleanup;
    }
    j->id = sqlite3_column_int64(s, 0);
    j->run_at = sqlite3_column_int64(s, 4);
    j->attempts = sqlite3_column_int64(s, 5);
    if (sqlite3_step(s) != SQLITE_DONE) {
        status = db_fail(st, op);
        goto cleanup;
    }
    *ret = j;
    j = NULL;

cleanup:
    Ccai_store_job_free(j);
    stmt_done(s);
    return status;
}

static CCAI_MUST_CHECK ccai_status sqlite_job_claim_kinds(Ccai_store *store, const char *kinds,
                                                          int64_t now, int64_t lease_ms,
                                                          Ccai_store_job **ret)
{
    Ccai_sqlite *st = sqlite_of(store);
    if (!st || !ret || now < 0 || lease_ms < 0)
        return CCAI_ERR_INVALID_ARG;
    /* A transaction so that a failure after the UPDATE (out of memory while
     * copying the row) leaves the job unclaimed. */
    ccai_status status = op_begin(st, "claim job", true);
    if (status != CCAI_OK)
        return status;
    Ccai_store_job *j = NULL;
    status = op_end(st, "claim job", job_claim_locked(st, kinds, now, lease_ms, &j));
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
        status = db_fail(st, op);
    else if (sqlite3_changes(st->db) == 0)
        status = fail(st, CCAI_ERR_NOT_FOUND, "store: %s: no job %lld", op, (long long)id);
    stmt_done(s);
    return status;
}

static CCAI_MUST_CHECK ccai_status sqlite_job_done(Ccai_store *store, int64_t id)
{
    Ccai_sqlite *st = sqlite_of(store);
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    sqlite3_stmt *s = NULL;
    ccai_status status = stmt_get(st, STMT_JOB_DONE, &s);
    if (status != CCAI_OK)
        return status;
    if (bind_int(s, 1, id) || bind_int(s, 2, Ccai_wall_ms())) {
        status = db_fail(st, "finish job");
        stmt_done(s);
        return status;
    }
    return job_update(st, s, id, "finish job");
}

static CCAI_MUST_CHECK ccai_status sqlite_job_fail(Ccai_store *store, int64_t id, const char *error,
                                                   int64_t retry_at)
{
    Ccai_sqlite *st = sqlite_of(store);
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    sqlite3_stmt *s = NULL;
    ccai_status status = stmt_get(st, STMT_JOB_FAIL, &s);
    if (status != CCAI_OK)
        return status;
    if (bind_int(s, 1, id) || bind_text(s, 2, error) || bind_int(s, 3, retry_at) ||
        bind_int(s, 4, Ccai_wall_ms())) {
        status = db_fail(st, "fail job");
        stmt_done(s);
        return status;
    }
    return job_update(st, s, id, "fail job");
}

static CCAI_MUST_CHECK ccai_status sqlite_job_set_payload(Ccai_store *store, int64_t id,
                                                          const char *payload)
{
    Ccai_sqlite *st = sqlite_of(store);
    if (!st || !payload)
        return CCAI_ERR_INVALID_ARG;
    sqlite3_stmt *s = NULL;
    ccai_status status = stmt_get(st, STMT_JOB_SET_PAYLOAD, &s);
    if (status != CCAI_OK)
        return status;
    if (bind_int(s, 1, id) || bind_text(s, 2, payload) || bind_int(s, 3, Ccai_wall_ms())) {
        status = db_fail(st, "set job payload");
        stmt_done(s);
        return status;
    }
    return job_update(st, s, id, "set job payload");
}

static CCAI_MUST_CHECK ccai_status sqlite_job_next_due_kinds(Ccai_store *store, const char *kinds,
                                                             int64_t *ret_run_at)
{
    Ccai_sqlite *st = sqlite_of(store);
    if (!st || !ret_run_at)
        return CCAI_ERR_INVALID_ARG;
    sqlite3_stmt *s = NULL;
    ccai_status status = stmt_get(st, STMT_JOB_NEXT_DUE, &s);
    if (status != CCAI_OK)
        return status;
    if (bind_text(s, 1, kinds) != SQLITE_OK)
        status = db_fail(st, "next due job");
    else if (sqlite3_step(s) != SQLITE_ROW)
        status = db_fail(st, "next due job");
    else
        *ret_run_at = sqlite3_column_type(s, 0) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 0);
    stmt_done(s);
    return status;
}

/* Explicit transactions ------------------------------------------------- */

static CCAI_MUST_CHECK ccai_status sqlite_begin(Ccai_store *store)
{
    Ccai_sqlite *st = sqlite_of(store);
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    if (st->in_tx)
        return fail(st, CCAI_ERR_STATE, "store: begin: a transaction is already open");
    ccai_status status = exec_sql(st, "begin", "BEGIN IMMEDIATE");
    if (status == CCAI_OK)
        st->in_tx = true;
    return status;
}

static CCAI_MUST_CHECK ccai_status sqlite_commit(Ccai_store *store)
{
    Ccai_sqlite *st = sqlite_of(store);
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    if (!st->in_tx)
        return fail(st, CCAI_ERR_STATE, "store: commit: no transaction is open");
    if (sqlite3_get_autocommit(st->db)) {
        /* SQLite rolled it back itself after an earlier error (disk full, ...). */
        st->in_tx = false;
        return fail(st, CCAI_ERR_STORE,
                    "store: commit: the transaction was rolled back by an earlier error");
    }
    ccai_status status = exec_sql(st, "commit", "COMMIT");
    /* A busy COMMIT leaves the transaction open: the caller may retry or
     * roll back. */
    if (status == CCAI_OK || sqlite3_get_autocommit(st->db))
        st->in_tx = false;
    return status;
}

static CCAI_MUST_CHECK ccai_status sqlite_rollback(Ccai_store *store)
{
    Ccai_sqlite *st = sqlite_of(store);
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    if (!st->in_tx)
        return fail(st, CCAI_ERR_STATE, "store: rollback: no transaction is open");
    st->in_tx = false;
    if (sqlite3_get_autocommit(st->db))
        return CCAI_OK;
    return exec_sql(st, "rollback", "ROLLBACK");
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
    st = Ccai_sqlite_configure(store,
                               (int)Ccai_config_int(cfg, "database.sqlite.busy_timeout_ms", 10),
                               sync && strcmp(sync, "full") == 0);
    if (st != CCAI_OK) {
        if (ret_errmsg && st != CCAI_ERR_NOMEM)
            *ret_errmsg = Ccai_strdup(sqlite_errmsg(store));
        sqlite_close(store);
        return st;
    }
    *ret = store;
    return CCAI_OK;
}

const Ccai_store_backend Ccai_sqlite_backend = {
    .name = "sqlite",
    .writes_durable = true,
    .open = sqlite_open_config,
    .close = sqlite_close,
    .errmsg = sqlite_errmsg,
    .location = sqlite_location,
    .describe = sqlite_describe,
    .schema_version = sqlite_schema_version,
    .sync = sqlite_sync,
    .check_write = sqlite_check_write,
    .can_write = sqlite_can_write,
    .failure = sqlite_failure,
    .call_insert = sqlite_call_insert,
    .call_update = sqlite_call_update,
    .call_touch = sqlite_call_touch,
    .call_get = sqlite_call_get,
    .call_find_latest = sqlite_call_find_latest,
    .call_find_provider = sqlite_call_find_provider,
    .call_find_correlation = sqlite_call_find_correlation,
    .call_set_recording = sqlite_call_set_recording,
    .calls_stale = sqlite_calls_stale,
    .call_list = sqlite_call_list,
    .message_append = sqlite_message_append,
    .messages_json = sqlite_messages_json,
    .messages_newest = sqlite_messages_newest,
    .message_delete = sqlite_message_delete,
    .reminder_upsert = sqlite_reminder_upsert,
    .reminders_json = sqlite_reminders_json,
    .job_enqueue = sqlite_job_enqueue,
    .job_claim_kinds = sqlite_job_claim_kinds,
    .job_done = sqlite_job_done,
    .job_set_payload = sqlite_job_set_payload,
    .job_fail = sqlite_job_fail,
    .job_next_due_kinds = sqlite_job_next_due_kinds,
    .begin = sqlite_begin,
    .commit = sqlite_commit,
    .rollback = sqlite_rollback,
};
