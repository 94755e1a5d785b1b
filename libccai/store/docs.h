/* The documents store: what `ccai-cli docs import` keeps and
 * search_document searches (rag/), beside the calls in the same database,
 * behind its own table of functions as the call store is (store/store.h):
 * store/sqlite_docs.c, store/pg_docs.c.
 *
 * - A source is one imported file (its path as given, made absolute by
 *   the caller), with its title, language, format and a hash of its
 *   bytes; its chunks are replaced all at once (Ccai_docstore_put).
 * - Chunks are searched by full text (SQLite FTS5, BM25, the unicode61
 *   tokenizer without diacritics; PostgreSQL's text search, 'simple' and
 *   unaccent, ranked as BM25 does) within a language, and by embedding
 *   vectors (float32 blobs, one per chunk and model) that rag/ compares.
 * - The generation counts the changes of the documents and their vectors: it is part of a
 *   cached search's key, so a cached answer never outlives the documents
 *   it came from.
 * - A small key/value table with expiry is the query cache's default
 *   backend (cache/cache.h).
 * Same rules as store/store.h: statuses, text in Ccai_docstore_errmsg(),
 * one thread per handle (a search worker has its own: store/docs_exec.h);
 * writes are committed when they return. */
#ifndef CCAI_STORE_DOCS_H
#define CCAI_STORE_DOCS_H

#include "store/store.h"

typedef struct Ccai_docstore Ccai_docstore;
typedef struct Ccai_docstore_backend Ccai_docstore_backend;

struct Ccai_docstore {
    const Ccai_docstore_backend *backend;
};

/* The documents store in st's database (its backend's), its tables made
 * or migrated. Statuses: CCAI_OK; CCAI_ERR_UNSUPPORTED (no documents
 * store for st's backend); CCAI_ERR_STORE, CCAI_ERR_BUSY, CCAI_ERR_NOMEM
 * with *ret_errmsg (may be NULL; ccai_free()). Closed before st. */
CCAI_MUST_CHECK ccai_status Ccai_docstore_open(Ccai_store *st, Ccai_docstore **ret,
                                               char **ret_errmsg);
void Ccai_docstore_close(Ccai_docstore *ds);
const char *Ccai_docstore_errmsg(const Ccai_docstore *ds);

/* One source as listed. Borrowed strings, valid during the callback. */
typedef struct Ccai_docstore_source {
    const char *path;
    const char *title; /* may be NULL */
    const char *lang;
    const char *format; /* "markdown", "html", "text" */
    const char *hash;   /* hex SHA-256 of the file's bytes */
    int64_t bytes;
    int64_t imported_at; /* wall ms */
    int64_t chunks;
    int64_t embedded; /* chunks with a vector of the model asked for */
} Ccai_docstore_source;

/* A chunk to store. */
typedef struct Ccai_docstore_chunk {
    const char *heading;
    const char *text;
} Ccai_docstore_chunk;

/* A chunk as found. Borrowed strings, valid during the callback. */
typedef struct Ccai_docstore_hit {
    int64_t id;
    const char *source;
    const char *heading;
    const char *text;
    const char *lang;
    /* Higher is better: BM25 on SQLite (FTS5's rank negated), its
     * equivalent on PostgreSQL (ts_rank by inverse document frequency);
     * 0 when not from a match. */
    double score;
} Ccai_docstore_hit;

/* Callbacks get borrowed rows; non-zero stops. They must not call the store. */
typedef int (*Ccai_docstore_source_fn)(const Ccai_docstore_source *s, void *ud);
typedef int (*Ccai_docstore_hit_fn)(const Ccai_docstore_hit *h, void *ud);
typedef int (*Ccai_docstore_vector_fn)(int64_t id, const float *v, size_t dims, void *ud);

/* The hash of source path, NOT_FOUND when it was never imported. *ret
 * freed with ccai_free(). */
CCAI_MUST_CHECK ccai_status Ccai_docstore_source_hash(Ccai_docstore *ds, const char *path,
                                                      char **ret);
/* Store source path with these chunks, replacing whatever it had (its
 * chunks, their vectors), in one transaction; the generation moves on. */
CCAI_MUST_CHECK ccai_status Ccai_docstore_put(Ccai_docstore *ds, const Ccai_docstore_source *src,
                                              const Ccai_docstore_chunk *chunks, size_t n);
/* Remove source path and its chunks; *ret_chunks (may be NULL) how many.
 * NOT_FOUND when there is no such source. */
CCAI_MUST_CHECK ccai_status Ccai_docstore_remove(Ccai_docstore *ds, const char *path,
                                                 int64_t *ret_chunks);
/* Every source by path; embedded counts the vectors of model (NULL: 0). */
CCAI_MUST_CHECK ccai_status Ccai_docstore_list(Ccai_docstore *ds, const char *model,
                                               Ccai_docstore_source_fn fn, void *ud);
/* Chunks in language lang (its primary subtag, "fr"; NULL: all). */
CCAI_MUST_CHECK ccai_status Ccai_docstore_count(Ccai_docstore *ds, const char *lang, int64_t *ret);
CCAI_MUST_CHECK ccai_status Ccai_docstore_generation(Ccai_docstore *ds, int64_t *ret);

/* Full-text search: match is an FTS5 query (rag/ writes it from the
 * words of a question), lang a primary subtag (NULL: all); at most limit
 * hits, best first. A match FTS5 refuses is CCAI_ERR_PARSE (on PostgreSQL,
 * any FTS5 syntax beyond terms joined by OR: Ccai_pg_docs_tsquery()). */
CCAI_MUST_CHECK ccai_status Ccai_docstore_match(Ccai_docstore *ds, const char *match,
                                                const char *lang, size_t limit,
                                                Ccai_docstore_hit_fn fn, void *ud);
/* The chunk id (score 0); NOT_FOUND when gone. */
CCAI_MUST_CHECK ccai_status Ccai_docstore_chunk_get(Ccai_docstore *ds, int64_t id,
                                                    Ccai_docstore_hit_fn fn, void *ud);
/* Chunks without a vector of model, oldest first, at most limit. */
CCAI_MUST_CHECK ccai_status Ccai_docstore_unembedded(Ccai_docstore *ds, const char *model,
                                                     size_t limit, Ccai_docstore_hit_fn fn,
                                                     void *ud);
/* Store the vector of chunk id for model (replacing one); the generation
 * moves on. NOT_FOUND when the chunk is gone (re-imported meanwhile). */
CCAI_MUST_CHECK ccai_status Ccai_docstore_vector_put(Ccai_docstore *ds, int64_t id,
                                                     const char *model, const float *v,
                                                     size_t dims);
/* Every vector of model in language lang (NULL: all). */
CCAI_MUST_CHECK ccai_status Ccai_docstore_vectors(Ccai_docstore *ds, const char *model,
                                                  const char *lang, Ccai_docstore_vector_fn fn,
                                                  void *ud);

/* Key/value with expiry (wall ms). get: NOT_FOUND when absent or
 * expired; *ret (ccai_free()) holds *ret_len bytes and a NUL. */
CCAI_MUST_CHECK ccai_status Ccai_docstore_kv_get(Ccai_docstore *ds, const char *key, int64_t now,
                                                 char **ret, size_t *ret_len);
CCAI_MUST_CHECK ccai_status Ccai_docstore_kv_put(Ccai_docstore *ds, const char *key,
                                                 const char *value, size_t len, int64_t expires_at);
/* Drop the entries expired at now; *ret_n (may be NULL) how many. */
CCAI_MUST_CHECK ccai_status Ccai_docstore_kv_purge(Ccai_docstore *ds, int64_t now, int64_t *ret_n);

/* What a backend implements: one function per operation above. */
struct Ccai_docstore_backend {
    const char *name; /* the call store's backend it goes with ("sqlite") */
    CCAI_MUST_CHECK ccai_status (*open)(Ccai_store *st, Ccai_docstore **ret, char **ret_errmsg);
    void (*close)(Ccai_docstore *ds);
    /* A second handle of ds's database, its tables as they are (no
     * migration), for a worker thread (store/docs_exec.h): called on that
     * thread, it reads only what ds's open set and never changes. While
     * wake_fd is readable, every wait of the twin for the server
     * (connecting included) gives up at once: the executor's free makes
     * it so. NULL: the backend's work stays on the loop (SQLite). */
    CCAI_MUST_CHECK ccai_status (*twin)(Ccai_docstore *ds, int wake_fd, Ccai_docstore **ret,
                                        char **ret_errmsg);
    /* On a twin's thread, before a job: a token that asks the server to
     * cancel what the twin runs meanwhile; NULL when there is no
     * connection. interrupt_fire() takes the token, from any thread, and
     * never blocks (the request is sent by a thread of its own, which
     * frees the token); interrupt_free() drops one never fired. NULL
     * members: no such token. */
    void *(*interrupt_new)(Ccai_docstore *ds);
    void (*interrupt_fire)(void *token);
    void (*interrupt_free)(void *token);
    const char *(*errmsg)(const Ccai_docstore *ds);
    CCAI_MUST_CHECK ccai_status (*source_hash)(Ccai_docstore *ds, const char *path, char **ret);
    CCAI_MUST_CHECK ccai_status (*put)(Ccai_docstore *ds, const Ccai_docstore_source *src,
                                       const Ccai_docstore_chunk *chunks, size_t n);
    CCAI_MUST_CHECK ccai_status (*remove)(Ccai_docstore *ds, const char *path, int64_t *ret_chunks);
    CCAI_MUST_CHECK ccai_status (*list)(Ccai_docstore *ds, const char *model,
                                        Ccai_docstore_source_fn fn, void *ud);
    CCAI_MUST_CHECK ccai_status (*count)(Ccai_docstore *ds, const char *lang, int64_t *ret);
    CCAI_MUST_CHECK ccai_status (*generation)(Ccai_docstore *ds, int64_t *ret);
    CCAI_MUST_CHECK ccai_status (*match)(Ccai_docstore *ds, const char *match, const char *lang,
                                         size_t limit, Ccai_docstore_hit_fn fn, void *ud);
    CCAI_MUST_CHECK ccai_status (*chunk_get)(Ccai_docstore *ds, int64_t id, Ccai_docstore_hit_fn fn,
                                             void *ud);
    CCAI_MUST_CHECK ccai_status (*unembedded)(Ccai_docstore *ds, const char *model, size_t limit,
                                              Ccai_docstore_hit_fn fn, void *ud);
    CCAI_MUST_CHECK ccai_status (*vector_put)(Ccai_docstore *ds, int64_t id, const char *model,
                                              const float *v, size_t dims);
    CCAI_MUST_CHECK ccai_status (*vectors)(Ccai_docstore *ds, const char *model, const char *lang,
                                           Ccai_docstore_vector_fn fn, void *ud);
    CCAI_MUST_CHECK ccai_status (*kv_get)(Ccai_docstore *ds, const char *key, int64_t now,
                                          char **ret, size_t *ret_len);
    CCAI_MUST_CHECK ccai_status (*kv_put)(Ccai_docstore *ds, const char *key, const char *value,
                                          size_t len, int64_t expires_at);
    CCAI_MUST_CHECK ccai_status (*kv_purge)(Ccai_docstore *ds, int64_t now, int64_t *ret_n);
};

/* store/sqlite_docs.c */
extern const Ccai_docstore_backend Ccai_sqlite_docs_backend;
/* store/pg_docs.c: beside a PostgreSQL store, on its own connection. */
extern const Ccai_docstore_backend Ccai_pg_docs_backend;
/* The FTS5 query rag/ writes (terms, "quoted" or bare, optionally
 * prefixes*, joined by OR) as a tsquery's text for to_tsquery(); *ret
 * freed with ccai_free(). CCAI_ERR_PARSE for any other FTS5 syntax. */
CCAI_MUST_CHECK ccai_status Ccai_pg_docs_tsquery(const char *match, char **ret);

#endif
