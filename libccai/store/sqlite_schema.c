/* The SQLite backend's schema: the migrations that bring a database to
 * CCAI_STORE_SCHEMA_VERSION, and the SQL of every statement the backend
 * prepares (store/sqlite_private.h). Data, kept apart from the code that
 * runs it (store/sqlite.c). */
#include "store/sqlite_private.h"

/* Forward-only migrations: migrations[i] brings the schema to version i + 1.
 * Each runs in its own transaction together with its schema_migrations row.
 * Released steps are never edited; changes append a step. */
const char *const Ccai_sqlite_migrations[CCAI_STORE_SCHEMA_VERSION] = {
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
    /* 5: the fixed phrases translated by the LLM (engine/phrases.c), one
     * row per language (lower case BCP 47 tag) and English set (SHA-256
     * hex of the set and the instructions): an edited set is another row. */
    "CREATE TABLE phrase_translations ("
    " lang TEXT NOT NULL,"
    " source_hash TEXT NOT NULL,"
    " phrases TEXT NOT NULL CHECK (json_valid(phrases)),"
    " model TEXT,"
    " created_at INTEGER NOT NULL,"
    " PRIMARY KEY (lang, source_hash)"
    ") WITHOUT ROWID;",
    /* 6: who holds each live call (several instances on one database,
     * store/sqlite_lease.c); no row: nobody. */
    "CREATE TABLE call_leases ("
    " call_id TEXT PRIMARY KEY,"
    " owner TEXT NOT NULL,"
    " url TEXT NOT NULL DEFAULT '',"
    " expires_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL"
    ") WITHOUT ROWID;",
    /* 7: the claim's index: a due job of a state in the order a claim
     * takes them (run_at, then id), read from its first entry with no
     * sort, whatever plan a prepared statement kept (PostgreSQL keeps a
     * generic plan made when the table was small: with (state, run_at) it
     * sorted every due job at each claim, 2.3 ms with 6,000 due). */
    "CREATE INDEX jobs_claim ON jobs (state, run_at, id);"
    "DROP INDEX jobs_due;",
};

_Static_assert(CCAI_ARRAY_SIZE(Ccai_sqlite_migrations) == CCAI_STORE_SCHEMA_VERSION,
               "one migration step per schema version");

#define CALL_COLS                                                                                \
    "id, direction, phone_number, bot_phone_number, channel, provider_call_id, state, lang, "    \
    "initiate, claim, next, synthesis, recording_url, callback_secret, created_at, updated_at, " \
    "row_version, correlation_id, end_reason, recording_id, recording_duration_ms"

/* A call still in progress: neither ended nor done (the calls_live index). */
#define CALL_LIVE "state NOT IN ('ended', 'done')"

#define CALL_PHONE_FILTER "(phone_number = ?1 OR policyholder_phone = ?1)"

#define JOB_COLS "id, kind, call_id, payload, run_at, attempts, last_error, state"
/* ?3: the kinds a claim takes (a comma-separated list), NULL for any. */
#define SQLITE_KINDS_FILTER "(?3 IS NULL OR instr(',' || ?3 || ',', ',' || kind || ',') > 0)"

const char *const Ccai_sqlite_stmt_sql[STMT_COUNT] = {
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
    /* A turn's update (sqlite_calls.c): the row as this handle last wrote
     * it, but for the columns a turn changes. The CHECKs and indexes of the
     * columns not set are not evaluated (the initiate JSON, the phone
     * indexes); the same numbers as STMT_CALL_UPDATE. */
    [STMT_CALL_UPDATE_TURN] = "UPDATE calls SET state = ?7, lang = ?8, claim = ?10, next = ?11, "
                              "synthesis = ?12, updated_at = ?15, end_reason = ?18, "
                              "row_version = row_version + 1 WHERE id = ?1 AND row_version = ?16",
    [STMT_CALL_UPDATE_TURN_SAME_CLAIM] =
        "UPDATE calls SET state = ?7, lang = ?8, next = ?11, synthesis = ?12, updated_at = ?15, "
        "end_reason = ?18, row_version = row_version + 1 WHERE id = ?1 AND row_version = ?16",
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
    /* The first due job of each state, each read in the order of the
     * jobs_claim index (state, run_at, id), then the earlier
     * of the two: a claim reads a few index entries however many jobs are
     * due. One query over both states (an OR) collected and sorted every
     * due job at each claim: ~2 ms a claim with 10,000 due. */
    [STMT_JOB_CLAIM] = "UPDATE jobs SET state = 'running', run_at = ?1, attempts = attempts + 1, "
                       "updated_at = ?1 WHERE id = (SELECT id FROM ("
                       "SELECT * FROM (SELECT id, run_at FROM jobs WHERE state = 'pending' AND "
                       "run_at <= ?1 AND " SQLITE_KINDS_FILTER " ORDER BY run_at, id LIMIT 1) "
                       "UNION ALL "
                       "SELECT * FROM (SELECT id, run_at FROM jobs WHERE state = 'running' AND "
                       "run_at <= ?2 AND " SQLITE_KINDS_FILTER " ORDER BY run_at, id LIMIT 1)) "
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
    [STMT_JOB_GET] = "SELECT " JOB_COLS ", updated_at FROM jobs WHERE id = ?1",
    /* The jobs_call index. */
    [STMT_JOBS_OF_CALL] = "SELECT " JOB_COLS ", updated_at FROM jobs WHERE call_id = ?1 AND "
                          "(?2 IS NULL OR instr(',' || ?2 || ',', ',' || kind || ',') > 0) "
                          "ORDER BY id LIMIT ?3",
    [STMT_HEALTH] = "INSERT INTO store_health (id, checked_at) VALUES (1, ?1) "
                    "ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at",
    [STMT_LEASE_ACQUIRE] = "INSERT INTO call_leases (call_id, owner, url, expires_at, updated_at) "
                           "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (call_id) DO UPDATE SET "
                           "owner = excluded.owner, url = excluded.url, "
                           "expires_at = excluded.expires_at, updated_at = excluded.updated_at "
                           "WHERE call_leases.owner = excluded.owner OR "
                           "call_leases.expires_at <= excluded.updated_at",
    [STMT_LEASE_RELEASE] = "DELETE FROM call_leases WHERE call_id = ?1 AND owner = ?2",
    [STMT_LEASE_GET] = "SELECT owner, url, expires_at FROM call_leases WHERE call_id = ?1",
    [STMT_BEGIN] = "BEGIN",
    [STMT_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
    [STMT_COMMIT] = "COMMIT",
    [STMT_ROLLBACK] = "ROLLBACK",
    [STMT_SAVEPOINT] = "SAVEPOINT ccai_op",
    [STMT_RELEASE] = "RELEASE ccai_op",
};
