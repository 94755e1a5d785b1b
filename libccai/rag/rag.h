/* The documentation search behind search_document (rag/rag.c): files are
 * imported into the documents store (store/docs.h) as chunks
 * (rag/chunk.h); a search ranks chunks of the call's language by BM25
 * (SQLite FTS5) and, when documents.embeddings is configured, by the
 * cosine of their vectors to the question's (rag/embed.h, asked on the
 * loop), the two lists fused by reciprocal rank; each question's ranking
 * is cached (cache/cache.h) under the documents' generation. A search's
 * reads of the store are off the loop on PostgreSQL (store/docs_exec.h). */
#ifndef CCAI_RAG_RAG_H
#define CCAI_RAG_RAG_H

#include "cache/cache.h"
#include "core/common.h"
#include "store/docs.h"

#include <jansson.h>

typedef struct Ccai_rag Ccai_rag;
typedef struct Ccai_rag_search Ccai_rag_search;

typedef struct Ccai_rag_env {
    ccai_ctx *ctx;
    const ccai_config *cfg;
    const Ccai_logger *log;
    Ccai_store *store;
} Ccai_rag_env;

/* Most questions of one search, and bytes of one question used. */
#define CCAI_RAG_MAX_QUERIES 8
#define CCAI_RAG_MAX_QUERY   1000

/* Open the documents store, the embeddings client (none: BM25 only, which
 * the log says) and the cache (cache.mode). On failure *ret_errmsg (may be
 * NULL) says why. */
CCAI_MUST_CHECK ccai_status Ccai_rag_new(const Ccai_rag_env *env, Ccai_rag **ret,
                                         char **ret_errmsg);
/* Searches and embedding in flight are cancelled: no callback fires. */
void Ccai_rag_free(Ccai_rag *r);
const char *Ccai_rag_errmsg(const Ccai_rag *r);

/* Import the file at path (made absolute) with these bytes; lang (NULL:
 * the document's own, else documents.default_lang, else the conversation's
 * default) overrides. An unchanged file (same bytes, same chunking, same
 * language) is left as it is. *ret_json: {path, status ("imported",
 * "replaced", "unchanged"), format, title, lang, chunks}. Statuses:
 * CCAI_OK, CCAI_ERR_INVALID_ARG (lang is no language tag), CCAI_ERR_LIMIT,
 * CCAI_ERR_NOMEM, the store's. */
CCAI_MUST_CHECK ccai_status Ccai_rag_import(Ccai_rag *r, const char *path, const char *data,
                                            size_t len, const char *lang, json_t **ret_json);
/* Remove source path: *ret_json {path, chunks}. NOT_FOUND when absent. */
CCAI_MUST_CHECK ccai_status Ccai_rag_remove(Ccai_rag *r, const char *path, json_t **ret_json);
/* {embeddings: model or null, sources: [{path, title, lang, format, hash,
 * bytes, imported_at, chunks, embedded}]}. */
CCAI_MUST_CHECK ccai_status Ccai_rag_list(Ccai_rag *r, json_t **ret_json);

/* Give every chunk without a vector its vector, batch after batch; then
 * done(status, {embedded, model, pending}, ud) from the loop. Statuses:
 * CCAI_OK (done fires), CCAI_ERR_UNSUPPORTED (no embeddings configured),
 * CCAI_ERR_STATE (already running), CCAI_ERR_NOMEM. */
typedef void (*Ccai_rag_json_fn)(ccai_status st, const json_t *json, void *ud);
CCAI_MUST_CHECK ccai_status Ccai_rag_embed_pending(Ccai_rag *r, Ccai_rag_json_fn done, void *ud);

/* One chunk found. */
typedef struct Ccai_rag_hit {
    int64_t id;
    char *source, *heading, *text, *lang;
    double score;               /* reciprocal-rank fusion over the questions and rankings */
    double bm25;                /* FTS5's BM25 (higher is better), 0 when not matched */
    double cosine;              /* to the question's vector, 0 when not compared */
    int bm25_rank, vector_rank; /* 1-based in their list, 0: not in it */
} Ccai_rag_hit;

typedef struct Ccai_rag_results {
    Ccai_rag_hit *v; /* best first */
    size_t n;
    const char *lang; /* searched ("fr"), or NULL: every language */
    int64_t in_lang;  /* chunks in the call's language */
    int64_t total;    /* chunks at all */
    bool hybrid;      /* vectors took part */
    bool cached;      /* every question's ranking came from the cache */
} Ccai_rag_results;

/* Search queries[0..n) (each trimmed; empty ones ignored) among the chunks
 * of lang (a language tag; its primary subtag counts; with no chunk in it,
 * every language), at most limit hits (0: documents.top_n). fn fires
 * exactly once from the loop unless cancelled, with the store's failure
 * when a read failed (CCAI_ERR_BUSY, CCAI_ERR_STORE: the database did not
 * answer in time, or is down). The store's reads run on the documents'
 * executor (store/docs_exec.h: worker threads on PostgreSQL with
 * database.postgresql.search_threads), never on
 * the loop's thread there. Statuses: CCAI_OK, CCAI_ERR_INVALID_ARG (no
 * question), CCAI_ERR_NOMEM, CCAI_ERR_BUSY (too many searches in flight),
 * CCAI_ERR_IO (no worker thread could start). When fn is told a failure,
 * Ccai_rag_errmsg() says why during fn: this search's own failure,
 * whatever other searches failed meanwhile. */
typedef void (*Ccai_rag_fn)(ccai_status st, const Ccai_rag_results *res, void *ud);
CCAI_MUST_CHECK ccai_status Ccai_rag_search_start(Ccai_rag *r, const char *const *queries, size_t n,
                                                  const char *lang, size_t limit, Ccai_rag_fn fn,
                                                  void *ud, Ccai_rag_search **ret);
void Ccai_rag_search_cancel(Ccai_rag_search *s);
/* Reads of the chunks' vectors started so far: one per language and
 * generation at a time, however many searches need them (tests). */
uint64_t Ccai_rag_vector_reads(const Ccai_rag *r);

/* The tool's result for the model, as the reference wrote it: "# Search
 * results" then one <documents>...</documents> line per hit holding the
 * HTML-escaped JSON {"title", "content"}; or what there is to know when
 * nothing was found. NULL when out of memory. */
char *Ccai_rag_format(const Ccai_rag_results *res);
/* The results as JSON, for the CLI and the API: {lang, mode, cached,
 * results: [{rank, score, bm25, bm25_rank, cosine, vector_rank, source,
 * heading, lang, content}]}. */
json_t *Ccai_rag_results_json(const Ccai_rag_results *res);

/* The public API's asynchronous operations (ccai_ctx_docs_search(),
 * ccai_ctx_docs_embed()): done gets the JSON text; Ccai_rag_free() drops
 * those in flight without a callback. */
CCAI_MUST_CHECK ccai_status Ccai_rag_api_search(Ccai_rag *r, const char *query, const char *lang,
                                                size_t limit, ccai_docs_done_fn done, void *ud);
CCAI_MUST_CHECK ccai_status Ccai_rag_api_embed(Ccai_rag *r, ccai_docs_done_fn done, void *ud);

/* The documents of a context: the composition root's (libccai/ctx.c). */
Ccai_rag *Ccai_ctx_rag(ccai_ctx *ctx);

/* The FTS5 query of a question: its words (stop words of English, French
 * and Spanish left out), each as a prefix, OR'ed; NULL when no word is
 * left, or out of memory (*ret_nomem). Exposed for tests. */
char *Ccai_rag_match_expr(const char *question, bool *ret_nomem);

#endif
