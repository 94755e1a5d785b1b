/* The documents store on SQLite (store/docs.h): tables beside the calls'
 * in the same database and on the same connection (so a write never waits
 * for another connection of this process), with their own forward-only
 * migrations (docs_migrations), so that the call store's schema version
 * does not move with them. Full text through FTS5 (an external-content
 * table kept by triggers; unicode61 without diacritics, so "sinistre"
 * matches "Sinistré"); vectors as native float32 blobs. */
#include "store/docs.h"
#include "store/sqlite_private.h"

#include <string.h>

/* Forward-only: docs_migrations[i] brings the tables to version i + 1.
 * Released steps are never edited. */
static const char *const docs_migrations[] = {
    /* 1: sources, chunks and their full text, vectors, the generation,
     * the cache's entries. */
    "CREATE TABLE doc_sources ("
    " id INTEGER PRIMARY KEY,"
    " path TEXT NOT NULL UNIQUE,"
    " title TEXT,"
    " lang TEXT NOT NULL,"
    " format TEXT NOT NULL,"
    " hash TEXT NOT NULL,"
    " bytes INTEGER NOT NULL,"
    " imported_at INTEGER NOT NULL"
    ");"
    "CREATE TABLE doc_chunks ("
    " id INTEGER PRIMARY KEY,"
    " source_id INTEGER NOT NULL REFERENCES doc_sources (id) ON DELETE CASCADE,"
    " seq INTEGER NOT NULL,"
    " heading TEXT NOT NULL,"
    " content TEXT NOT NULL,"
    " lang_prefix TEXT NOT NULL"
    ");"
    "CREATE INDEX doc_chunks_source ON doc_chunks (source_id, seq);"
    "CREATE INDEX doc_chunks_lang ON doc_chunks (lang_prefix);"
    "CREATE VIRTUAL TABLE doc_fts USING fts5(heading, content, content='doc_chunks',"
    " content_rowid='id', tokenize='unicode61 remove_diacritics 2');"
    "INSERT INTO doc_fts (doc_fts, rank) VALUES ('rank', 'bm25(1.5, 1.0)');"
    "CREATE TRIGGER doc_chunks_ai AFTER INSERT ON doc_chunks BEGIN"
    " INSERT INTO doc_fts (rowid, heading, content) VALUES (new.id, new.heading, new.content);"
    " END;"
    "CREATE TRIGGER doc_chunks_ad AFTER DELETE ON doc_chunks BEGIN"
    " INSERT INTO doc_fts (doc_fts, rowid, heading, content)"
    "  VALUES ('delete', old.id, old.heading, old.content);"
    " END;"
    "CREATE TABLE doc_vectors ("
    " chunk_id INTEGER NOT NULL REFERENCES doc_chunks (id) ON DELETE CASCADE,"
    " model TEXT NOT NULL,"
    " dims INTEGER NOT NULL CHECK (dims > 0),"
    " vector BLOB NOT NULL CHECK (length(vector) = dims * 4),"
    " PRIMARY KEY (chunk_id, model)"
    ") WITHOUT ROWID;"
    "CREATE TABLE doc_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"
    "INSERT INTO doc_meta (key, value) VALUES ('generation', 0);"
    "CREATE TABLE cache_entries ("
    " key TEXT PRIMARY KEY,"
    " value BLOB NOT NULL,"
    " expires_at INTEGER NOT NULL"
    ") WITHOUT ROWID;"
    "CREATE INDEX cache_entries_expiry ON cache_entries (expires_at);",
};

enum {
    Q_HASH,
    Q_SOURCE_ID,
    Q_SOURCE_DEL,
    Q_SOURCE_INS,
    Q_CHUNK_INS,
    Q_CHUNKS_OF,
    Q_GEN_BUMP,
    Q_GEN,
    Q_LIST,
    Q_COUNT,
    Q_MATCH,
    Q_CHUNK_GET,
    Q_UNEMBEDDED,
    Q_VECTOR_PUT,
    Q_VECTORS,
    Q_KV_GET,
    Q_KV_PUT,
    Q_KV_PURGE,
    Q_COUNT_ALL
};

#define HIT_COLS "c.id, s.path, c.heading, c.content, s.lang"
#define HIT_FROM "doc_chunks c JOIN doc_sources s ON s.id = c.source_id"

static const char *const sql[Q_COUNT_ALL] = {
    [Q_HASH] = "SELECT hash FROM doc_sources WHERE path = ?1",
    [Q_SOURCE_ID] = "SELECT id FROM doc_sources WHERE path = ?1",
    [Q_SOURCE_DEL] = "DELETE FROM doc_sources WHERE id = ?1",
    [Q_SOURCE_INS] = "INSERT INTO doc_sources (path, title, lang, format, hash, bytes, imported_at)"
                     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [Q_CHUNK_INS] = "INSERT INTO doc_chunks (source_id, seq, heading, content, lang_prefix)"
                    " VALUES (?1, ?2, ?3, ?4, ?5)",
    /* Chunks go before their source: the FTS trigger needs their text. */
    [Q_CHUNKS_OF] = "DELETE FROM doc_chunks WHERE source_id = ?1",
    [Q_GEN_BUMP] = "UPDATE doc_meta SET value = value + 1 WHERE key = 'generation'",
    [Q_GEN] = "SELECT value FROM doc_meta WHERE key = 'generation'",
    [Q_LIST] = "SELECT s.path, s.title, s.lang, s.format, s.hash, s.bytes, s.imported_at,"
               " (SELECT COUNT(*) FROM doc_chunks c WHERE c.source_id = s.id),"
               " (SELECT COUNT(*) FROM doc_vectors v JOIN doc_chunks c ON c.id = v.chunk_id"
               "  WHERE c.source_id = s.id AND v.model = ?1)"
               " FROM doc_sources s ORDER BY s.path",
    [Q_COUNT] = "SELECT COUNT(*) FROM doc_chunks WHERE ?1 IS NULL OR lang_prefix = ?1",
    [Q_MATCH] = "SELECT " HIT_COLS ", -doc_fts.rank FROM doc_fts"
                " JOIN doc_chunks c ON c.id = doc_fts.rowid"
                " JOIN doc_sources s ON s.id = c.source_id WHERE doc_fts MATCH ?1"
                " AND (?2 IS NULL OR c.lang_prefix = ?2) ORDER BY doc_fts.rank LIMIT ?3",
    [Q_CHUNK_GET] = "SELECT " HIT_COLS " FROM " HIT_FROM " WHERE c.id = ?1",
    [Q_UNEMBEDDED] = "SELECT " HIT_COLS " FROM " HIT_FROM " WHERE NOT EXISTS (SELECT 1 FROM"
                     " doc_vectors v WHERE v.chunk_id = c.id AND v.model = ?1)"
                     " ORDER BY c.id LIMIT ?2",
    [Q_VECTOR_PUT] = "INSERT OR REPLACE INTO doc_vectors (chunk_id, model, dims, vector)"
                     " SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM doc_chunks WHERE id = ?1)",
    [Q_VECTORS] = "SELECT v.chunk_id, v.dims, v.vector FROM doc_vectors v JOIN doc_chunks c"
                  " ON c.id = v.chunk_id WHERE v.model = ?1"
                  " AND (?2 IS NULL OR c.lang_prefix = ?2)",
    [Q_KV_GET] = "SELECT value FROM cache_entries WHERE key = ?1 AND expires_at > ?2",
    [Q_KV_PUT] = "INSERT OR REPLACE INTO cache_entries (key, value, expires_at)"
                 " VALUES (?1, ?2, ?3)",
    [Q_KV_PURGE] = "DELETE FROM cache_entries WHERE expires_at <= ?1",
};

typedef struct Ccai_sqlite_docs {
    Ccai_docstore base;
    Ccai_sqlite *sq; /* the call store's connection */
    sqlite3_stmt *q[Q_COUNT_ALL];
    Ccai_err err;
} Ccai_sqlite_docs;

static Ccai_sqlite_docs *of(Ccai_docstore *ds)
{
    return (Ccai_sqlite_docs *)ds;
}

static CCAI_MUST_CHECK ccai_status fail(Ccai_sqlite_docs *d, const char *op)
{
    ccai_status st = Ccai_sqlite_db_fail(d->sq, op);
    Ccai_err_set(&d->err, "documents: %s: %s", op, sqlite3_errmsg(d->sq->db));
    return st;
}

/* A failure the call store's helpers described (transactions). */
static CCAI_MUST_CHECK ccai_status failed(Ccai_sqlite_docs *d, ccai_status st)
{
    if (st != CCAI_OK)
        Ccai_err_set(&d->err, "documents: %s", Ccai_err_get(&d->sq->err));
    return st;
}

static CCAI_MUST_CHECK ccai_status stmt(Ccai_sqlite_docs *d, int id, sqlite3_stmt **ret)
{
    if (!d->q[id] && sqlite3_prepare_v3(d->sq->db, sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                        &d->q[id], NULL) != SQLITE_OK)
        return fail(d, "prepare");
    *ret = d->q[id];
    return CCAI_OK;
}

/* The primary subtag of a language, lower case ("fr" of "fr-FR"). */
static void lang_prefix(const char *lang, char out[16])
{
    size_t i = 0;
    for (; lang && lang[i] && lang[i] != '-' && lang[i] != '_' && i < 15; i++)
        out[i] = (char)Ccai_to_lower((unsigned char)lang[i]);
    out[i] = '\0';
}

/* Run a statement that returns no rows, already bound. */
static CCAI_MUST_CHECK ccai_status step_done(Ccai_sqlite_docs *d, sqlite3_stmt *s, const char *op)
{
    int rc = sqlite3_step(s);
    ccai_status st = rc == SQLITE_DONE ? CCAI_OK : fail(d, op);
    Ccai_sqlite_stmt_done(s);
    return st;
}

static CCAI_MUST_CHECK ccai_status migrate(Ccai_sqlite_docs *d)
{
    Ccai_sqlite *sq = d->sq;
    /* The store was opened and configured with the loop's short wait
     * (busy_timeout_ms): a worker starting beside another one that holds
     * the write lock for its own start would fail here and die; the schema
     * is made once, before any turn, so it waits as long as the open. */
    int loop_ms = Ccai_sqlite_busy_timeout_swap(sq, CCAI_SQLITE_START_BUSY_MS);
    ccai_status st = Ccai_sqlite_exec_sql(sq, "documents schema",
                                          "CREATE TABLE IF NOT EXISTS docs_migrations ("
                                          " version INTEGER PRIMARY KEY,"
                                          " applied_at INTEGER NOT NULL)");
    for (size_t v = 0; st == CCAI_OK && v < CCAI_ARRAY_SIZE(docs_migrations); v++) {
        st = Ccai_sqlite_op_begin(sq, "documents migration", true);
        if (st != CCAI_OK)
            break;
        sqlite3_stmt *s = NULL;
        int64_t have = 0;
        if (sqlite3_prepare_v2(sq->db, "SELECT COALESCE(MAX(version), 0) FROM docs_migrations", -1,
                               &s, NULL) != SQLITE_OK ||
            sqlite3_step(s) != SQLITE_ROW)
            st = Ccai_sqlite_db_fail(sq, "documents schema version");
        else
            have = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
        if (st == CCAI_OK && have < (int64_t)v + 1) {
            char row[128];
            snprintf(row, sizeof row,
                     "INSERT INTO docs_migrations (version, applied_at) VALUES (%zu, %lld)", v + 1,
                     (long long)Ccai_wall_ms());
            st = Ccai_sqlite_exec_sql(sq, "documents migration", docs_migrations[v]);
            if (st == CCAI_OK)
                st = Ccai_sqlite_exec_sql(sq, "documents migration", row);
        }
        st = Ccai_sqlite_op_end(sq, "documents migration", st);
    }
    (void)Ccai_sqlite_busy_timeout_swap(sq, loop_ms);
    return failed(d, st);
}

static void docs_close(Ccai_docstore *ds)
{
    Ccai_sqlite_docs *d = of(ds);
    for (size_t i = 0; i < Q_COUNT_ALL; i++)
        sqlite3_finalize(d->q[i]);
    Ccai_err_free(&d->err);
    ccai_free(d);
}

static CCAI_MUST_CHECK ccai_status docs_open(Ccai_store *st, Ccai_docstore **ret, char **ret_errmsg)
{
    Ccai_sqlite_docs *d = Ccai_calloc(1, sizeof *d);
    if (!d)
        return CCAI_ERR_NOMEM;
    d->base.backend = &Ccai_sqlite_docs_backend;
    d->sq = Ccai_sqlite_of(st);
    ccai_status s = migrate(d);
    if (s != CCAI_OK) {
        if (ret_errmsg)
            *ret_errmsg = Ccai_strdup(Ccai_err_get(&d->err));
        docs_close(&d->base);
        return s;
    }
    *ret = &d->base;
    return CCAI_OK;
}

static const char *docs_errmsg(const Ccai_docstore *ds)
{
    return Ccai_err_get(&((const Ccai_sqlite_docs *)ds)->err);
}

static CCAI_MUST_CHECK ccai_status docs_source_hash(Ccai_docstore *ds, const char *path, char **ret)
{
    Ccai_sqlite_docs *d = of(ds);
    sqlite3_stmt *s = NULL;
    ccai_status st = stmt(d, Q_HASH, &s);
    if (st != CCAI_OK)
        return st;
    Ccai_sqlite_bind_text(s, 1, path);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        st = Ccai_sqlite_dup_col(s, 0, ret) && *ret ? CCAI_OK : CCAI_ERR_NOMEM;
    else
        st = rc == SQLITE_DONE ? CCAI_ERR_NOT_FOUND : fail(d, "source");
    Ccai_sqlite_stmt_done(s);
    return st;
}

/* The id of source path in *ret (0 when none). */
static CCAI_MUST_CHECK ccai_status source_id(Ccai_sqlite_docs *d, const char *path, int64_t *ret)
{
    sqlite3_stmt *s = NULL;
    ccai_status st = stmt(d, Q_SOURCE_ID, &s);
    if (st != CCAI_OK)
        return st;
    Ccai_sqlite_bind_text(s, 1, path);
    int rc = sqlite3_step(s);
    *ret = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    st = rc == SQLITE_ROW || rc == SQLITE_DONE ? CCAI_OK : fail(d, "source");
    Ccai_sqlite_stmt_done(s);
    return st;
}

/* Remove source id and its chunks (their vectors and full text follow). */
static CCAI_MUST_CHECK ccai_status drop_source(Ccai_sqlite_docs *d, int64_t id, int64_t *ret_n)
{
    sqlite3_stmt *s = NULL;
    ccai_status st = stmt(d, Q_CHUNKS_OF, &s);
    if (st != CCAI_OK)
        return st;
    Ccai_sqlite_bind_int(s, 1, id);
    st = step_done(d, s, "remove chunks");
    if (ret_n)
        *ret_n = sqlite3_changes64(d->sq->db);
    if (st == CCAI_OK && (st = stmt(d, Q_SOURCE_DEL, &s)) == CCAI_OK) {
        Ccai_sqlite_bind_int(s, 1, id);
        st = step_done(d, s, "remove source");
    }
    return st;
}

static CCAI_MUST_CHECK ccai_status bump(Ccai_sqlite_docs *d)
{
    sqlite3_stmt *s = NULL;
    ccai_status st = stmt(d, Q_GEN_BUMP, &s);
    return st == CCAI_OK ? step_done(d, s, "generation") : st;
}

static CCAI_MUST_CHECK ccai_status docs_put(Ccai_docstore *ds, const Ccai_docstore_source *src,
                                            const Ccai_docstore_chunk *chunks, size_t n)
{
    Ccai_sqlite_docs *d = of(ds);
    char prefix[16];
    lang_prefix(src->lang, prefix);
    for (size_t i = 0; i < n; i++) {
        if (!chunks[i].heading || !chunks[i].text || !Ccai_sqlite_utf8_valid(chunks[i].text) ||
            !Ccai_sqlite_utf8_valid(chunks[i].heading)) {
            Ccai_err_set(&d->err, "documents: chunk %zu of %s is not UTF-8 text", i, src->path);
            return CCAI_ERR_INVALID_ARG;
        }
    }
    ccai_status st = failed(d, Ccai_sqlite_op_begin(d->sq, "import", true));
    if (st != CCAI_OK)
        return st;
    int64_t old = 0, id = 0;
    st = source_id(d, src->path, &old);
    if (st == CCAI_OK && old)
        st = drop_source(d, old, NULL);
    sqlite3_stmt *s = NULL;
    if (st == CCAI_OK && (st = stmt(d, Q_SOURCE_INS, &s)) == CCAI_OK) {
        Ccai_sqlite_bind_text(s, 1, src->path);
        Ccai_sqlite_bind_text(s, 2, src->title);
        Ccai_sqlite_bind_text(s, 3, src->lang);
        Ccai_sqlite_bind_text(s, 4, src->format);
        Ccai_sqlite_bind_text(s, 5, src->hash);
        Ccai_sqlite_bind_int(s, 6, src->bytes);
        Ccai_sqlite_bind_int(s, 7, src->imported_at ? src->imported_at : Ccai_wall_ms());
        st = step_done(d, s, "import source");
        id = sqlite3_last_insert_rowid(d->sq->db);
    }
    for (size_t i = 0; st == CCAI_OK && i < n; i++) {
        if ((st = stmt(d, Q_CHUNK_INS, &s)) != CCAI_OK)
            break;
        Ccai_sqlite_bind_int(s, 1, id);
        Ccai_sqlite_bind_int(s, 2, (int64_t)i);
        Ccai_sqlite_bind_text(s, 3, chunks[i].heading);
        Ccai_sqlite_bind_text(s, 4, chunks[i].text);
        Ccai_sqlite_bind_text(s, 5, prefix);
        st = step_done(d, s, "import chunk");
    }
    if (st == CCAI_OK)
        st = bump(d);
    ccai_status end = Ccai_sqlite_op_end(d->sq, "import", st);
    return st != CCAI_OK ? st : failed(d, end);
}

static CCAI_MUST_CHECK ccai_status docs_remove(Ccai_docstore *ds, const char *path,
                                               int64_t *ret_chunks)
{
    Ccai_sqlite_docs *d = of(ds);
    ccai_status st = failed(d, Ccai_sqlite_op_begin(d->sq, "remove", true));
    if (st != CCAI_OK)
        return st;
    int64_t id = 0;
    st = source_id(d, path, &id);
    if (st == CCAI_OK && !id) {
        Ccai_err_set(&d->err, "documents: %s was never imported", path);
        st = CCAI_ERR_NOT_FOUND;
    }
    if (st == CCAI_OK)
        st = drop_source(d, id, ret_chunks);
    if (st == CCAI_OK)
        st = bump(d);
    ccai_status end = Ccai_sqlite_op_end(d->sq, "remove", st);
    return st != CCAI_OK ? st : failed(d, end);
}

static CCAI_MUST_CHECK ccai_status docs_list(Ccai_docstore *ds, const char *model,
                                             Ccai_docstore_source_fn fn, void *ud)
{
    Ccai_sqlite_docs *d = of(ds);
    sqlite3_stmt *s = NULL;
    ccai_status st = stmt(d, Q_LIST, &s);
    if (st != CCAI_OK)
        return st;
    Ccai_sqlite_bind_text(s, 1, model);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        Ccai_docstore_source src = {
            (const char *)sqlite3_column_text(s, 0),
            (const char *)sqlite3_column_text(s, 1),
            (const char *)sqlite3_column_text(s, 2),
            (const char *)sqlite3_column_text(s, 3),
            (const char *)sqlite3_column_text(s, 4),
            sqlite3_column_int64(s, 5),
            sqlite3_column_int64(s, 6),
            sqlite3_column_int64(s, 7),
            sqlite3_column_int64(s, 8),
        };
        if (!src.path || !src.lang || !src.format || !src.hash) {
            rc = SQLITE_NOMEM;
            break;
        }
        if (fn(&src, ud))
            break;
    }
    st = rc == SQLITE_ROW || rc == SQLITE_DONE ? CCAI_OK
         : rc == SQLITE_NOMEM                  ? CCAI_ERR_NOMEM
                                               : fail(d, "list");
    Ccai_sqlite_stmt_done(s);
    return st;
}

static CCAI_MUST_CHECK ccai_status one_int(Ccai_sqlite_docs *d, int q, const char *text,
                                           int64_t *ret)
{
    sqlite3_stmt *s = NULL;
    ccai_status st = stmt(d, q, &s);
    if (st != CCAI_OK)
        return st;
    Ccai_sqlite_bind_text(s, 1, text);
    if (sqlite3_step(s) == SQLITE_ROW)
        *ret = sqlite3_column_int64(s, 0);
    else
        st = fail(d, "count");
    Ccai_sqlite_stmt_done(s);
    return st;
}

static CCAI_MUST_CHECK ccai_status docs_count(Ccai_docstore *ds, const char *lang, int64_t *ret)
{
    char prefix[16];
    lang_prefix(lang, prefix);
    return one_int(of(ds), Q_COUNT, lang ? prefix : NULL, ret);
}

static CCAI_MUST_CHECK ccai_status docs_generation(Ccai_docstore *ds, int64_t *ret)
{
    return one_int(of(ds), Q_GEN, NULL, ret);
}

/* Rows of HIT_COLS (and a score column at 5 when scored) to fn. */
static CCAI_MUST_CHECK ccai_status hits(Ccai_sqlite_docs *d, sqlite3_stmt *s, bool scored,
                                        const char *op, Ccai_docstore_hit_fn fn, void *ud,
                                        bool *ret_any)
{
    int rc;
    bool any = false;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        Ccai_docstore_hit h = {
            sqlite3_column_int64(s, 0),
            (const char *)sqlite3_column_text(s, 1),
            (const char *)sqlite3_column_text(s, 2),
            (const char *)sqlite3_column_text(s, 3),
            (const char *)sqlite3_column_text(s, 4),
            scored ? sqlite3_column_double(s, 5) : 0.0,
        };
        if (!h.source || !h.heading || !h.text || !h.lang) {
            rc = SQLITE_NOMEM;
            break;
        }
        any = true;
        if (fn(&h, ud))
            break;
    }
    ccai_status st = CCAI_OK;
    if (rc == SQLITE_NOMEM)
        st = CCAI_ERR_NOMEM;
    else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        st = fail(d, op);
        if ((rc & 0xff) == SQLITE_ERROR)
            st = CCAI_ERR_PARSE; /* a query FTS5 refuses */
    }
    Ccai_sqlite_stmt_done(s);
    if (ret_any)
        *ret_any = any;
    return st;
}

static CCAI_MUST_CHECK ccai_status docs_match(Ccai_docstore *ds, const char *match,
                                              const char *lang, size_t limit,
                                              Ccai_docstore_hit_fn fn, void *ud)
{
    Ccai_sqlite_docs *d = of(ds);
    sqlite3_stmt *s = NULL;
    ccai_status st = stmt(d, Q_MATCH, &s);
    if (st != CCAI_OK)
        return st;
    char prefix[16];
    lang_prefix(lang, prefix);
    Ccai_sqlite_bind_text(s, 1, match);
    Ccai_sqlite_bind_text(s, 2, lang ? prefix : NULL);
    Ccai_sqlite_bind_int(s, 3, (int64_t)(limit > INT32_MAX ? INT32_MAX : limit));
    return hits(d, s, true, "search", fn, ud, NULL);
}

static CCAI_MUST_CHECK ccai_status docs_chunk_get(Ccai_docstore *ds, int64_t id,
                                                  Ccai_docstore_hit_fn fn, void *ud)
{
    Ccai_sqlite_docs *d = of(ds);
    sqlite3_stmt *s = NULL;
    ccai_status st = stmt(d, Q_CHUNK_GET, &s);
    if (st != CCAI_OK)
        return st;
    Ccai_sqlite_bind_int(s, 1, id);
    bool any = false;
    st = hits(d, s, false, "chunk", fn, ud, &any);
    return st == CCAI_OK && !any ? CCAI_ERR_NOT_FOUND : st;
}

static CCAI_MUST_CHECK ccai_status docs_unembedded(Ccai_docstore *ds, const char *model,
                                                   size_t limit, Ccai_docstore_hit_fn fn, void *ud)
{
    Ccai_sqlite_docs *d = of(ds);
    sqlite3_stmt *s = NULL;
    ccai_status st = stmt(d, Q_UNEMBEDDED, &s);
    if (st != CCAI_OK)
        return st;
    Ccai_sqlite_bind_text(s, 1, model);
    Ccai_sqlite_bind_int(s, 2, (int64_t)(limit > INT32_MAX ? INT32_MAX : limit));
    return hits(d, s, false, "chunks to embed", fn, ud, NULL);
}

static CCAI_MUST_CHECK ccai_status docs_vector_put(Ccai_docstore *ds, int64_t id, const char *model,
                                                   const float *v, size_t dims)
{
    Ccai_sqlite_docs *d = of(ds);
    if (dims > 65536)
        return CCAI_ERR_LIMIT;
    sqlite3_stmt *s = NULL;
    ccai_status st = stmt(d, Q_VECTOR_PUT, &s);
    if (st != CCAI_OK)
        return st;
    Ccai_sqlite_bind_int(s, 1, id);
    Ccai_sqlite_bind_text(s, 2, model);
    Ccai_sqlite_bind_int(s, 3, (int64_t)dims);
    sqlite3_bind_blob(s, 4, v, (int)(dims * sizeof *v), SQLITE_STATIC);
    st = step_done(d, s, "store vector");
    if (st == CCAI_OK && sqlite3_changes64(d->sq->db) == 0)
        st = CCAI_ERR_NOT_FOUND;
    /* Rankings made without it are stale: the generation moves on. */
    return st == CCAI_OK ? bump(d) : st;
}

static CCAI_MUST_CHECK ccai_status docs_vectors(Ccai_docstore *ds, const char *model,
                                                const char *lang, Ccai_docstore_vector_fn fn,
                                                void *ud)
{
    Ccai_sqlite_docs *d = of(ds);
    sqlite3_stmt *s = NULL;
    ccai_status st = stmt(d, Q_VECTORS, &s);
    if (st != CCAI_OK)
        return st;
    char prefix[16];
    lang_prefix(lang, prefix);
    Ccai_sqlite_bind_text(s, 1, model);
    Ccai_sqlite_bind_text(s, 2, lang ? prefix : NULL);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t dims = sqlite3_column_int64(s, 1);
        const void *blob = sqlite3_column_blob(s, 2);
        if (dims <= 0 || !blob || sqlite3_column_bytes(s, 2) != (int)(dims * 4))
            continue; /* the table's CHECK keeps them out */
        /* A blob is not aligned for floats: a copy. */
        float *v = Ccai_malloc((size_t)dims * sizeof *v);
        if (!v) {
            rc = SQLITE_NOMEM;
            break;
        }
        memcpy(v, blob, (size_t)dims * sizeof *v);
        int stop = fn(sqlite3_column_int64(s, 0), v, (size_t)dims, ud);
        ccai_free(v);
        if (stop)
            break;
    }
    st = rc == SQLITE_ROW || rc == SQLITE_DONE ? CCAI_OK
         : rc == SQLITE_NOMEM                  ? CCAI_ERR_NOMEM
                                               : fail(d, "vectors");
    Ccai_sqlite_stmt_done(s);
    return st;
}

static CCAI_MUST_CHECK ccai_status docs_kv_get(Ccai_docstore *ds, const char *key, int64_t now,
                                               char **ret, size_t *ret_len)
{
    Ccai_sqlite_docs *d = of(ds);
    sqlite3_stmt *s = NULL;
    ccai_status st = stmt(d, Q_KV_GET, &s);
    if (st != CCAI_OK)
        return st;
    Ccai_sqlite_bind_text(s, 1, key);
    Ccai_sqlite_bind_int(s, 2, now);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        const void *b = sqlite3_column_blob(s, 0);
        size_t n = (size_t)sqlite3_column_bytes(s, 0);
        char *v = Ccai_malloc(n + 1);
        if (v) {
            if (n)
                memcpy(v, b, n);
            v[n] = '\0';
            *ret = v;
            *ret_len = n;
        } else {
            st = CCAI_ERR_NOMEM;
        }
    } else {
        st = rc == SQLITE_DONE ? CCAI_ERR_NOT_FOUND : fail(d, "cache get");
    }
    Ccai_sqlite_stmt_done(s);
    return st;
}

static CCAI_MUST_CHECK ccai_status docs_kv_put(Ccai_docstore *ds, const char *key,
                                               const char *value, size_t len, int64_t expires_at)
{
    Ccai_sqlite_docs *d = of(ds);
    if (len > INT32_MAX)
        return CCAI_ERR_LIMIT;
    sqlite3_stmt *s = NULL;
    ccai_status st = stmt(d, Q_KV_PUT, &s);
    if (st != CCAI_OK)
        return st;
    Ccai_sqlite_bind_text(s, 1, key);
    sqlite3_bind_blob(s, 2, value, (int)len, SQLITE_STATIC);
    Ccai_sqlite_bind_int(s, 3, expires_at);
    return step_done(d, s, "cache put");
}

static CCAI_MUST_CHECK ccai_status docs_kv_purge(Ccai_docstore *ds, int64_t now, int64_t *ret_n)
{
    Ccai_sqlite_docs *d = of(ds);
    sqlite3_stmt *s = NULL;
    ccai_status st = stmt(d, Q_KV_PURGE, &s);
    if (st != CCAI_OK)
        return st;
    Ccai_sqlite_bind_int(s, 1, now);
    st = step_done(d, s, "cache purge");
    if (ret_n)
        *ret_n = st == CCAI_OK ? sqlite3_changes64(d->sq->db) : 0;
    return st;
}

const Ccai_docstore_backend Ccai_sqlite_docs_backend = {
    .name = "sqlite",
    .open = docs_open,
    .close = docs_close,
    .errmsg = docs_errmsg,
    .source_hash = docs_source_hash,
    .put = docs_put,
    .remove = docs_remove,
    .list = docs_list,
    .count = docs_count,
    .generation = docs_generation,
    .match = docs_match,
    .chunk_get = docs_chunk_get,
    .unembedded = docs_unembedded,
    .vector_put = docs_vector_put,
    .vectors = docs_vectors,
    .kv_get = docs_kv_get,
    .kv_put = docs_kv_put,
    .kv_purge = docs_kv_purge,
};
