/* The documentation search (rag/rag.h): import, the embedding of chunks,
 * and searches: BM25 and vectors fused by reciprocal rank, per question,
 * cached under the documents' generation. */
#include "rag/rag.h"

#include "config/config.h"
#include "core/json.h"
#include "io/io.h"
#include "rag/chunk.h"
#include "rag/embed.h"
#include "rag/vectors.h"
#include "store/docs_exec.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reciprocal rank fusion's constant (Cormack et al. 2009). */
#define RRF_K 60.0
/* Candidates each ranking gives the fusion, per question. */
#define CANDIDATES 20
typedef struct embed_job embed_job;
typedef struct api_req api_req;

struct Ccai_rag {
    ccai_ctx *ctx;
    const Ccai_logger *log;
    Ccai_docstore *ds;
    Ccai_docs_exec *exec; /* a search's reads of ds (store/docs_exec.h) */
    Ccai_cache *cache;
    Ccai_embedder *emb; /* NULL: BM25 only */
    Ccai_chunk_opts chunk;
    size_t top_n;
    uint32_t cache_ttl_sec;
    double min_similarity;
    char default_lang[16];
    Ccai_vectors vec;          /* the chunks' vectors in memory (rag/vectors.h) */
    Ccai_rag_search *searches; /* in flight */
    embed_job *job;
    api_req *reqs; /* the public API's, in flight */
    Ccai_err err;
};

/* A public API operation in flight: its host's callback. */
struct api_req {
    Ccai_rag *r;
    ccai_docs_done_fn done;
    void *ud;
    api_req *prev, *next;
};

/* Helpers ---------------------------------------------------------------- */

static void hex(const unsigned char *d, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 15];
    }
    out[2 * n] = '\0';
}

/* SHA-256 of the parts, in hex (65 bytes). */
static CCAI_MUST_CHECK bool sha256_hex(const char *const *parts, const size_t *lens, size_t n,
                                       char out[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    bool ok = m && EVP_DigestInit_ex(m, EVP_sha256(), NULL) == 1;
    for (size_t i = 0; ok && i < n; i++)
        ok = EVP_DigestUpdate(m, parts[i], lens[i]) == 1;
    ok = ok && EVP_DigestFinal_ex(m, md, &mdlen) == 1 && mdlen == 32;
    EVP_MD_CTX_free(m);
    if (ok)
        hex(md, 32, out);
    return ok;
}

static void prefix_of(const char *lang, char out[16])
{
    size_t i = 0;
    for (; lang && lang[i] && lang[i] != '-' && lang[i] != '_' && i < 15; i++)
        out[i] = (char)Ccai_to_lower((unsigned char)lang[i]);
    out[i] = '\0';
}

/* Life --------------------------------------------------------------------- */

static CCAI_MUST_CHECK ccai_status cache_open(Ccai_rag *r, const ccai_config *cfg)
{
    const char *mode = Ccai_config_str(cfg, "cache.mode");
    if (mode && strcmp(mode, "redis") == 0) {
        Ccai_redis_opts o = {
            .host = Ccai_config_str(cfg, "cache.redis.host"),
            .port = (int)Ccai_config_int(cfg, "cache.redis.port", 6379),
            .database = (int)Ccai_config_int(cfg, "cache.redis.database", 0),
            .password = Ccai_config_str(cfg, "cache.redis.password"),
            .prefix = Ccai_config_str(cfg, "cache.redis.prefix"),
            .timeout_ms = (uint32_t)Ccai_config_int(cfg, "cache.redis.timeout_ms", 1000),
        };
        Ccai_log(r->log, CCAI_LOG_INFO, "documents: query cache on redis %s:%d", o.host, o.port);
        return Ccai_cache_redis_new(r->ctx, &o, r->log, &r->cache);
    }
    return Ccai_cache_store_new(r->exec, r->log, &r->cache);
}

ccai_status Ccai_rag_new(const Ccai_rag_env *env, Ccai_rag **ret, char **ret_errmsg)
{
    Ccai_rag *r = Ccai_calloc(1, sizeof *r);
    if (!r)
        return CCAI_ERR_NOMEM;
    r->ctx = env->ctx;
    r->log = env->log;
    Ccai_vectors_init(&r->vec, r->ctx, NULL, r->log);
    r->chunk.max_chars = (size_t)Ccai_config_int(env->cfg, "documents.chunk_max_chars", 1500);
    r->chunk.overlap_chars =
        (size_t)Ccai_config_int(env->cfg, "documents.chunk_overlap_chars", 200);
    r->top_n = (size_t)Ccai_config_int(env->cfg, "documents.top_n", 5);
    r->cache_ttl_sec = (uint32_t)Ccai_config_int(env->cfg, "documents.cache_ttl_sec", 86400);
    r->min_similarity = Ccai_config_double(env->cfg, "documents.min_similarity", 0.3);
    const char *dl = Ccai_config_str(env->cfg, "documents.default_lang");
    if (!dl || !*dl)
        dl = Ccai_config_str(env->cfg, "conversation.initiate.lang.default_short_code");
    if (!dl || !Ccai_lang_normalize(dl, r->default_lang))
        snprintf(r->default_lang, sizeof r->default_lang, "en-US");
    ccai_status st = Ccai_docstore_open(env->store, &r->ds, ret_errmsg);
    if (st == CCAI_OK)
        st = Ccai_docs_exec_new(
            env->ctx, r->ds,
            Ccai_config_bool(env->cfg, "database.postgresql.search_threads", false), env->log,
            &r->exec);
    r->vec.exec = r->exec;
    if (st == CCAI_OK) {
        st = Ccai_embedder_new(env->ctx, env->cfg, env->log, &r->emb, ret_errmsg);
        if (st == CCAI_ERR_NOT_FOUND) {
            r->emb = NULL;
            st = CCAI_OK;
            Ccai_log(r->log, CCAI_LOG_INFO,
                     "documents: no embeddings endpoint (documents.embeddings.mode none): "
                     "search by BM25 (full text) only");
        } else if (st == CCAI_OK) {
            Ccai_log(r->log, CCAI_LOG_INFO, "documents: hybrid search, embeddings %s from %s",
                     Ccai_embedder_model(r->emb), Ccai_embedder_url(r->emb));
        }
    }
    if (st == CCAI_OK)
        st = cache_open(r, env->cfg);
    if (st != CCAI_OK) {
        Ccai_rag_free(r);
        return st;
    }
    *ret = r;
    return CCAI_OK;
}

const char *Ccai_rag_errmsg(const Ccai_rag *r)
{
    return Ccai_err_get(&r->err);
}

/* Import, remove, list ------------------------------------------------------ */

ccai_status Ccai_rag_import(Ccai_rag *r, const char *path, const char *data, size_t len,
                            const char *lang, json_t **ret_json)
{
    char norm[16];
    if (!r || !path || (!data && len) || !ret_json)
        return CCAI_ERR_INVALID_ARG;
    if (lang && *lang && !Ccai_lang_normalize(lang, norm)) {
        Ccai_err_set(&r->err, "documents: %s is no language tag (e.g. en-US, fr)", lang);
        return CCAI_ERR_INVALID_ARG;
    }
    Ccai_doc_format fmt = Ccai_doc_format_of(path, data, len);
    Ccai_doc *doc = NULL;
    ccai_status st = Ccai_doc_parse(data, len, fmt, &r->chunk, &doc);
    if (st != CCAI_OK) {
        Ccai_err_set(&r->err, "documents: %s: %s", path,
                     st == CCAI_ERR_LIMIT ? "too large" : ccai_status_str(st));
        return st;
    }
    if (!(lang && *lang) && !(doc->lang && Ccai_lang_normalize(doc->lang, norm)))
        snprintf(norm, sizeof norm, "%s", r->default_lang);
    /* The hash covers what the chunks depend on: the bytes, the chunking
     * and the language. */
    char settings[96], hash[65];
    snprintf(settings, sizeof settings, "|%zu|%zu|%s|%s", r->chunk.max_chars,
             r->chunk.overlap_chars, norm, Ccai_doc_format_str(fmt));
    const char *parts[] = {data ? data : "", settings};
    const size_t lens[] = {len, strlen(settings)};
    if (!sha256_hex(parts, lens, 2, hash)) {
        Ccai_doc_free(doc);
        return CCAI_ERR_NOMEM;
    }
    char *old = NULL;
    st = Ccai_docstore_source_hash(r->ds, path, &old);
    const char *status = st == CCAI_OK ? "replaced" : "imported";
    if (st == CCAI_OK && strcmp(old, hash) == 0)
        status = "unchanged";
    ccai_free(old);
    if (st == CCAI_ERR_NOT_FOUND)
        st = CCAI_OK;
    if (st == CCAI_OK && strcmp(status, "unchanged") != 0) {
        Ccai_docstore_chunk *chunks = doc->n ? Ccai_calloc(doc->n, sizeof *chunks) : NULL;
        if (doc->n && !chunks) {
            st = CCAI_ERR_NOMEM;
        } else {
            for (size_t i = 0; i < doc->n; i++)
                chunks[i] = (Ccai_docstore_chunk){doc->chunks[i].heading, doc->chunks[i].text};
            Ccai_docstore_source src = {
                path,           doc->title, norm, Ccai_doc_format_str(fmt), hash, (int64_t)len,
                Ccai_wall_ms(), 0,          0};
            st = Ccai_docstore_put(r->ds, &src, chunks, doc->n);
            ccai_free(chunks);
        }
    }
    if (st != CCAI_OK && st != CCAI_ERR_NOMEM)
        Ccai_err_set(&r->err, "%s", Ccai_docstore_errmsg(r->ds));
    json_t *j = st == CCAI_OK ? json_pack("{s:s, s:s, s:s, s:s?, s:s, s:I}", "path", path, "status",
                                          status, "format", Ccai_doc_format_str(fmt), "title",
                                          doc->title, "lang", norm, "chunks", (json_int_t)doc->n)
                              : NULL;
    Ccai_doc_free(doc);
    if (st == CCAI_OK && !j)
        st = CCAI_ERR_NOMEM;
    if (st == CCAI_OK)
        *ret_json = j;
    return st;
}

ccai_status Ccai_rag_remove(Ccai_rag *r, const char *path, json_t **ret_json)
{
    if (!r || !path || !ret_json)
        return CCAI_ERR_INVALID_ARG;
    int64_t n = 0;
    ccai_status st = Ccai_docstore_remove(r->ds, path, &n);
    if (st != CCAI_OK) {
        Ccai_err_set(&r->err, "%s", Ccai_docstore_errmsg(r->ds));
        return st;
    }
    *ret_json = json_pack("{s:s, s:I}", "path", path, "chunks", (json_int_t)n);
    return *ret_json ? CCAI_OK : CCAI_ERR_NOMEM;
}

static int list_one(const Ccai_docstore_source *s, void *ud)
{
    json_t *j = json_pack("{s:s, s:s?, s:s, s:s, s:s, s:I, s:I, s:I, s:I}", "path", s->path,
                          "title", s->title, "lang", s->lang, "format", s->format, "hash", s->hash,
                          "bytes", (json_int_t)s->bytes, "imported_at", (json_int_t)s->imported_at,
                          "chunks", (json_int_t)s->chunks, "embedded", (json_int_t)s->embedded);
    return !j || json_array_append_new(ud, j) ? 1 : 0;
}

ccai_status Ccai_rag_list(Ccai_rag *r, json_t **ret_json)
{
    if (!r || !ret_json)
        return CCAI_ERR_INVALID_ARG;
    json_t *sources = json_array();
    if (!sources)
        return CCAI_ERR_NOMEM;
    ccai_status st =
        Ccai_docstore_list(r->ds, r->emb ? Ccai_embedder_model(r->emb) : NULL, list_one, sources);
    if (st != CCAI_OK) {
        json_decref(sources);
        Ccai_err_set(&r->err, "%s", Ccai_docstore_errmsg(r->ds));
        return st;
    }
    json_t *doc = json_pack("{s:s?, s:o}", "embeddings",
                            r->emb ? Ccai_embedder_model(r->emb) : NULL, "sources", sources);
    if (!doc)
        return CCAI_ERR_NOMEM;
    *ret_json = doc;
    return CCAI_OK;
}

/* Embedding the chunks ------------------------------------------------------ */

struct embed_job {
    Ccai_rag *r;
    Ccai_embed_op *op;
    Ccai_timer timer; /* the end, told from the loop */
    int64_t *ids;
    char **texts;
    size_t n;
    int64_t embedded;
    ccai_status st;
    char *errmsg;
    Ccai_rag_json_fn done;
    void *ud;
};

static void batch_clear(embed_job *j)
{
    for (size_t i = 0; i < j->n; i++)
        ccai_free(j->texts[i]);
    j->n = 0;
}

static void job_free(embed_job *j)
{
    if (j->op)
        Ccai_embed_cancel(j->op);
    Ccai_timer_stop(j->r->ctx, &j->timer);
    batch_clear(j);
    ccai_free(j->ids);
    ccai_free(j->texts);
    ccai_free(j->errmsg);
    ccai_free(j);
}

static void job_end(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    embed_job *j = ud;
    Ccai_rag *r = j->r;
    int64_t pending = 0;
    if (Ccai_docstore_count(r->ds, NULL, &pending) != CCAI_OK)
        pending = -1;
    json_t *doc = json_pack("{s:I, s:s, s:s*}", "embedded", (json_int_t)j->embedded, "model",
                            Ccai_embedder_model(r->emb), "error", j->errmsg);
    r->job = NULL;
    if (j->done)
        j->done(doc ? j->st : CCAI_ERR_NOMEM, doc, j->ud);
    json_decref(doc);
    job_free(j);
}

static void job_finish(embed_job *j, ccai_status st, const char *why)
{
    j->st = st;
    if (why && !j->errmsg)
        j->errmsg = Ccai_strdup(why);
    if (st != CCAI_OK)
        Ccai_err_set(&j->r->err, "documents: embedding: %s", why ? why : ccai_status_str(st));
    if (st != CCAI_OK)
        Ccai_log(j->r->log, CCAI_LOG_WARN, "documents: embedding stopped: %s",
                 why ? why : ccai_status_str(st));
    Ccai_timer_start(j->r->ctx, &j->timer, 0);
}

static int collect_chunk(const Ccai_docstore_hit *h, void *ud)
{
    embed_job *j = ud;
    /* The heading says what the text is about: it is embedded with it. */
    char *t = Ccai_asprintf("%s\n%s", h->heading, h->text);
    if (!t)
        return 1;
    j->ids[j->n] = h->id;
    j->texts[j->n++] = t;
    return 0;
}

static void next_batch(embed_job *j);

static void on_batch(ccai_status st, const float *v, size_t n, size_t dims, const char *errmsg,
                     void *ud)
{
    embed_job *j = ud;
    j->op = NULL;
    if (st != CCAI_OK) {
        job_finish(j, st, errmsg);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        ccai_status vs = Ccai_docstore_vector_put(
            j->r->ds, j->ids[i], Ccai_embedder_model(j->r->emb), v + i * dims, dims);
        if (vs == CCAI_OK)
            j->embedded++;
        else if (vs != CCAI_ERR_NOT_FOUND) { /* NOT_FOUND: re-imported meanwhile */
            job_finish(j, vs, Ccai_docstore_errmsg(j->r->ds));
            return;
        }
    }
    next_batch(j);
}

static void next_batch(embed_job *j)
{
    Ccai_rag *r = j->r;
    batch_clear(j);
    ccai_status st = Ccai_docstore_unembedded(r->ds, Ccai_embedder_model(r->emb),
                                              Ccai_embedder_batch(r->emb), collect_chunk, j);
    if (st != CCAI_OK) {
        job_finish(j, st, Ccai_docstore_errmsg(r->ds));
        return;
    }
    if (j->n == 0) {
        job_finish(j, CCAI_OK, NULL);
        return;
    }
    st = Ccai_embed_start(r->emb, (const char *const *)j->texts, j->n, on_batch, j, &j->op);
    if (st != CCAI_OK)
        job_finish(j, st, "embeddings: the request could not start");
}

ccai_status Ccai_rag_embed_pending(Ccai_rag *r, Ccai_rag_json_fn done, void *ud)
{
    if (!r)
        return CCAI_ERR_INVALID_ARG;
    if (!r->emb)
        return CCAI_ERR_UNSUPPORTED;
    if (r->job)
        return CCAI_ERR_STATE;
    size_t batch = Ccai_embedder_batch(r->emb);
    embed_job *j = Ccai_calloc(1, sizeof *j);
    if (j) {
        j->ids = Ccai_calloc(batch, sizeof *j->ids);
        j->texts = Ccai_calloc(batch, sizeof *j->texts);
    }
    if (!j || !j->ids || !j->texts) {
        if (j) {
            ccai_free(j->ids);
            ccai_free(j->texts);
        }
        ccai_free(j);
        return CCAI_ERR_NOMEM;
    }
    j->r = r;
    j->done = done;
    j->ud = ud;
    Ccai_timer_init(&j->timer, job_end, j);
    r->job = j;
    next_batch(j);
    return CCAI_OK;
}

/* Searches ------------------------------------------------------------------ */

/* A search is steps on the loop (the cache, the embedding of each question,
 * the fusion) between jobs of the documents' executor (store/docs_exec.h)
 * that read the store: its generation and counts (head_job), each
 * question's full-text match (match_job), the vectors of the language when
 * not in memory (rag/vectors.h), the chunks found (chunks_job). On
 * PostgreSQL those run on a worker thread with its own connection, so a
 * slow or stuck database holds the search, never the loop. Each job's data
 * is its own: a search cancelled meanwhile drops the job's answer. */

typedef struct ranked {
    int64_t id;
    double bm25, cosine;
    int bm25_rank, vector_rank;
    double score;
} ranked;

typedef struct query_state {
    Ccai_rag_search *s;
    char *text;
    char key[65];
    Ccai_cache_op *cache_op;
    Ccai_embed_op *embed_op;
    Ccai_docs_job *job;     /* its match */
    Ccai_vectors_wait wait; /* for the chunks' vectors */
    float *qv;              /* the question's vector, of unit length */
    size_t dims;
    ranked *v;
    size_t n;
    bool hybrid, cached, done;
} query_state;

struct Ccai_rag_search {
    Ccai_rag *r;
    Ccai_rag_search *prev, *next;
    query_state q[CCAI_RAG_MAX_QUERIES];
    size_t nq, pending;
    char prefix[16]; /* the call's language's primary subtag, "" : none */
    char lang[16];   /* searched, "" : every language */
    int64_t gen, in_lang, total;
    size_t limit;
    ccai_status failed; /* a ranking could not be read: the search fails */
    char why[300];      /* ... why (its own: other searches fail meanwhile) */
    bool starting, hybrid, cached;
    Ccai_docs_job *job; /* its head or its chunks */
    Ccai_rag_fn fn;
    void *ud;
};

static void search_free(Ccai_rag_search *s)
{
    Ccai_rag *r = s->r;
    if (s->prev)
        s->prev->next = s->next;
    else
        r->searches = s->next;
    if (s->next)
        s->next->prev = s->prev;
    Ccai_docs_exec_cancel(r->exec, s->job);
    for (size_t i = 0; i < s->nq; i++) {
        query_state *q = &s->q[i];
        Ccai_cache_cancel(r->cache, q->cache_op);
        if (q->embed_op)
            Ccai_embed_cancel(q->embed_op);
        Ccai_docs_exec_cancel(r->exec, q->job);
        Ccai_vectors_leave(&q->wait);
        ccai_free(q->text);
        ccai_free(q->qv);
        ccai_free(q->v);
    }
    ccai_free(s);
}

void Ccai_rag_search_cancel(Ccai_rag_search *s)
{
    if (s)
        search_free(s);
}

void Ccai_rag_free(Ccai_rag *r)
{
    if (!r)
        return;
    while (r->searches)
        search_free(r->searches);
    if (r->job)
        job_free(r->job);
    while (r->reqs) {
        api_req *q = r->reqs;
        r->reqs = q->next;
        ccai_free(q);
    }
    Ccai_cache_free(r->cache);
    Ccai_embedder_free(r->emb);
    /* After the cache (its writes in flight are dropped), before the
     * store its workers' handles come from, and the vectors' reads it
     * ends. */
    Ccai_docs_exec_free(r->exec);
    Ccai_vectors_clear(&r->vec);
    Ccai_docstore_close(r->ds);
    Ccai_err_free(&r->err);
    ccai_free(r);
}

static int cmp_score(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? 1 : -1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static void results_clear(Ccai_rag_results *res)
{
    for (size_t i = 0; i < res->n; i++) {
        ccai_free(res->v[i].source);
        ccai_free(res->v[i].heading);
        ccai_free(res->v[i].text);
        ccai_free(res->v[i].lang);
    }
    ccai_free(res->v);
}

static int take_hit(const Ccai_docstore_hit *h, void *ud)
{
    Ccai_rag_hit *o = ud;
    o->source = Ccai_strdup(h->source);
    o->heading = Ccai_strdup(h->heading);
    o->text = Ccai_strdup(h->text);
    o->lang = Ccai_strdup(h->lang);
    return 0;
}

/* A store's failure in a search: logged, kept as the search's error. */
static void search_failed(Ccai_rag_search *s, ccai_status st, const char *what, const char *why)
{
    Ccai_rag *r = s->r;
    if (!why || !*why)
        why = ccai_status_str(st);
    Ccai_log(r->log, CCAI_LOG_ERROR, "documents: %s failed: %s", what, why);
    if (s->failed == CCAI_OK)
        s->failed = st;
    if (!*s->why)
        snprintf(s->why, sizeof s->why, "%s", why);
}

/* The caller told (st, res), the search gone first. */
static void finish(Ccai_rag_search *s, ccai_status st, Ccai_rag_results *res)
{
    char lang[16]; /* s goes before fn is told */
    memcpy(lang, s->lang, sizeof lang);
    res->lang = *lang ? lang : NULL;
    res->in_lang = s->in_lang;
    res->total = s->total;
    res->hybrid = s->hybrid;
    res->cached = s->cached;
    Ccai_rag_fn fn = s->fn;
    void *ud = s->ud;
    /* What Ccai_rag_errmsg() says during fn: this search's failure, not
     * the last one of any search (several fail at once when the
     * database does). */
    if (st != CCAI_OK)
        Ccai_err_set(&s->r->err, "%s", *s->why ? s->why : ccai_status_str(st));
    search_free(s);
    fn(st, st == CCAI_OK ? res : NULL, ud);
    results_clear(res);
}

/* The chunks found, read by a job. */
typedef struct chunks_job {
    Ccai_rag_search *s;
    ranked *rows;
    size_t n;
    Ccai_rag_results res; /* res.v has n slots */
    ccai_status st;
    char why[300];
} chunks_job;

static void chunks_work(Ccai_docstore *ds, void *ud)
{
    chunks_job *c = ud;
    for (size_t i = 0; c->st == CCAI_OK && i < c->n; i++) {
        const ranked *a = &c->rows[i];
        Ccai_rag_hit *h = &c->res.v[c->res.n];
        *h = (Ccai_rag_hit){a->id,    NULL,    NULL,      NULL,         NULL,
                            a->score, a->bm25, a->cosine, a->bm25_rank, a->vector_rank};
        ccai_status cs = Ccai_docstore_chunk_get(ds, a->id, take_hit, h);
        if (cs == CCAI_ERR_NOT_FOUND)
            continue; /* removed since (another process) */
        c->res.n++;
        if (cs != CCAI_OK) {
            c->st = cs;
            snprintf(c->why, sizeof c->why, "%s", Ccai_docstore_errmsg(ds));
        } else if (!h->source || !h->heading || !h->text || !h->lang) {
            c->st = CCAI_ERR_NOMEM;
        }
    }
}

static void chunks_done(ccai_status st, const char *errmsg, void *ud)
{
    chunks_job *c = ud;
    Ccai_rag_results res = c->res;
    ccai_free(c->rows);
    if (st == CCAI_ERR_CANCELLED) {
        results_clear(&res);
        ccai_free(c);
        return;
    }
    Ccai_rag_search *s = c->s;
    s->job = NULL;
    if (st == CCAI_OK && c->st != CCAI_OK) {
        st = c->st;
        errmsg = c->why;
    }
    if (st != CCAI_OK && st != CCAI_ERR_NOMEM)
        search_failed(s, st, "reading the chunks found", errmsg);
    ccai_free(c);
    finish(s, st, &res);
}

/* The questions' rankings into one, then the chunks read by a job. */
static void deliver(Ccai_rag_search *s)
{
    Ccai_rag *r = s->r;
    Ccai_rag_results none = {0};
    if (s->failed != CCAI_OK) {
        finish(s, s->failed, &none);
        return;
    }
    size_t total = 0;
    for (size_t i = 0; i < s->nq; i++)
        total += s->q[i].n;
    ranked *all = total ? Ccai_calloc(total, sizeof *all) : NULL;
    if (total && !all) {
        finish(s, CCAI_ERR_NOMEM, &none);
        return;
    }
    s->cached = s->nq > 0;
    size_t n = 0;
    for (size_t i = 0; i < s->nq; i++) {
        query_state *q = &s->q[i];
        s->hybrid = s->hybrid || q->hybrid;
        s->cached = s->cached && q->cached;
        for (size_t k = 0; k < q->n; k++) {
            size_t at = 0;
            while (at < n && all[at].id != q->v[k].id)
                at++;
            if (at == n) {
                all[n++] = q->v[k];
                continue;
            }
            /* Found again by another question: its scores add up; the
             * best of its signals are shown. */
            all[at].score += q->v[k].score;
            if (q->v[k].bm25 > all[at].bm25)
                all[at].bm25 = q->v[k].bm25;
            if (q->v[k].cosine > all[at].cosine)
                all[at].cosine = q->v[k].cosine;
            if (q->v[k].bm25_rank && (!all[at].bm25_rank || q->v[k].bm25_rank < all[at].bm25_rank))
                all[at].bm25_rank = q->v[k].bm25_rank;
            if (q->v[k].vector_rank &&
                (!all[at].vector_rank || q->v[k].vector_rank < all[at].vector_rank))
                all[at].vector_rank = q->v[k].vector_rank;
        }
    }
    if (n)
        qsort(all, n, sizeof *all, cmp_score);
    size_t keep = n < s->limit ? n : s->limit;
    if (keep == 0) {
        ccai_free(all);
        finish(s, CCAI_OK, &none);
        return;
    }
    chunks_job *c = Ccai_calloc(1, sizeof *c);
    if (c)
        c->res.v = Ccai_calloc(keep, sizeof *c->res.v);
    if (!c || !c->res.v) {
        if (c)
            ccai_free(c->res.v);
        ccai_free(c);
        ccai_free(all);
        finish(s, CCAI_ERR_NOMEM, &none);
        return;
    }
    c->s = s;
    c->rows = all;
    c->n = keep;
    ccai_status st = Ccai_docs_exec_run(r->exec, chunks_work, chunks_done, c, &s->job);
    if (st != CCAI_OK) {
        ccai_free(c->res.v);
        ccai_free(c->rows);
        ccai_free(c);
        search_failed(s, st, "reading the chunks found", "documents: too many searches at once");
        finish(s, st, &none);
    }
}

static void query_done(query_state *q)
{
    Ccai_rag_search *s = q->s;
    q->done = true;
    if (--s->pending == 0 && !s->starting)
        deliver(s);
}

/* The ranking as the cache keeps it: {"h": hybrid, "r": [[id, bm25,
 * bm25_rank, cosine, vector_rank, score]...]}. */
static char *ranking_dump(const query_state *q)
{
    json_t *rows = json_array();
    for (size_t i = 0; rows && i < q->n; i++) {
        const ranked *x = &q->v[i];
        if (json_array_append_new(rows,
                                  json_pack("[I, f, i, f, i, f]", (json_int_t)x->id, x->bm25,
                                            x->bm25_rank, x->cosine, x->vector_rank, x->score))) {
            json_decref(rows);
            rows = NULL;
        }
    }
    json_t *doc = rows ? json_pack("{s:b, s:o}", "h", q->hybrid, "r", rows) : NULL;
    char *text = doc ? Ccai_json_dump(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    return text;
}

static CCAI_MUST_CHECK bool ranking_load(query_state *q, const char *text, size_t len)
{
    Ccai_json_err jerr;
    ccai_status jst;
    json_t *doc = Ccai_json_load(text, len, &jerr, &jst);
    const json_t *rows = json_object_get(doc, "r");
    bool ok = json_is_array(rows) && json_array_size(rows) <= 4 * CANDIDATES;
    size_t n = ok ? json_array_size(rows) : 0;
    ranked *v = n ? Ccai_calloc(n, sizeof *v) : NULL;
    ok = ok && (!n || v);
    for (size_t i = 0; ok && i < n; i++) {
        const json_t *row = json_array_get(rows, i);
        ok = json_is_array(row) && json_array_size(row) == 6 &&
             json_is_integer(json_array_get(row, 0));
        if (ok)
            v[i] = (ranked){json_integer_value(json_array_get(row, 0)),
                            json_number_value(json_array_get(row, 1)),
                            json_number_value(json_array_get(row, 3)),
                            (int)json_integer_value(json_array_get(row, 2)),
                            (int)json_integer_value(json_array_get(row, 4)),
                            json_number_value(json_array_get(row, 5))};
    }
    if (ok) {
        q->v = v;
        q->n = n;
        q->hybrid = json_is_true(json_object_get(doc, "h"));
    } else {
        ccai_free(v);
    }
    json_decref(doc);
    return ok;
}

static void remember(query_state *q)
{
    Ccai_rag *r = q->s->r;
    char *text = ranking_dump(q);
    ccai_status st = text ? Ccai_cache_set(r->cache, q->key, text, strlen(text), r->cache_ttl_sec)
                          : CCAI_ERR_NOMEM;
    /* Advice only: the next asking searches again. */
    if (st != CCAI_OK)
        Ccai_log(r->log, CCAI_LOG_DEBUG, "documents: ranking not cached: %s", ccai_status_str(st));
    ccai_free(text);
}

typedef struct bm25_collect {
    ranked *v;
    size_t n;
} bm25_collect;

static int bm25_one(const Ccai_docstore_hit *h, void *ud)
{
    bm25_collect *c = ud;
    c->v[c->n] = (ranked){h->id, h->score, 0, (int)c->n + 1, 0, 0};
    c->n++;
    return c->n >= CANDIDATES;
}

/* Fuse the BM25 ranking (q->v) with the vector one, into q->v. */
static CCAI_MUST_CHECK ccai_status fuse(query_state *q, const ranked *vec, size_t nv)
{
    ranked *all = Ccai_calloc(q->n + nv + 1, sizeof *all);
    if (!all)
        return CCAI_ERR_NOMEM;
    size_t n = q->n;
    if (n)
        memcpy(all, q->v, n * sizeof *all);
    for (size_t i = 0; i < nv; i++) {
        size_t at = 0;
        while (at < n && all[at].id != vec[i].id)
            at++;
        if (at == n)
            all[n++] = (ranked){vec[i].id, 0, 0, 0, 0, 0};
        all[at].cosine = vec[i].cosine;
        all[at].vector_rank = vec[i].vector_rank;
    }
    for (size_t i = 0; i < n; i++)
        all[i].score = (all[i].bm25_rank ? 1.0 / (RRF_K + all[i].bm25_rank) : 0) +
                       (all[i].vector_rank ? 1.0 / (RRF_K + all[i].vector_rank) : 0);
    ccai_free(q->v);
    q->v = all;
    q->n = n;
    return CCAI_OK;
}

/* The question's vector against the chunks' (x), fused with its BM25
 * ranking. */
static void rank_vectors(query_state *q, const Ccai_vindex *x)
{
    Ccai_rag *r = q->s->r;
    size_t dims = q->dims;
    ranked top[CANDIDATES];
    size_t nt = 0;
    if (x->n && x->dims == dims) {
        for (size_t i = 0; i < x->n; i++) {
            const float *row = x->v + i * dims;
            double dot = 0;
            for (size_t k = 0; k < dims; k++)
                dot += (double)row[k] * (double)q->qv[k];
            if (dot < r->min_similarity)
                continue;
            /* Insert into the top list, best first. */
            size_t at = nt;
            while (at > 0 && top[at - 1].cosine < dot)
                at--;
            if (at >= CANDIDATES)
                continue;
            size_t move = (nt < CANDIDATES ? nt : CANDIDATES - 1) - at;
            memmove(top + at + 1, top + at, move * sizeof *top);
            top[at] = (ranked){x->ids[i], 0, dot, 0, 0, 0};
            if (nt < CANDIDATES)
                nt++;
        }
    } else if (x->n) {
        Ccai_log(r->log, CCAI_LOG_WARN,
                 "documents: the question's vector has %zu dimensions, the chunks' %zu: BM25 only",
                 dims, x->dims);
    }
    for (size_t i = 0; i < nt; i++)
        top[i].vector_rank = (int)i + 1;
    if (fuse(q, top, nt) == CCAI_OK) {
        q->hybrid = true;
        remember(q);
    }
    query_done(q);
}

/* The chunks' vectors read (x), or not (NULL: BM25 alone this time, not
 * cached: the next asking tries again). */
static void on_vectors(Ccai_vectors_wait *w, const Ccai_vindex *x)
{
    query_state *q = (query_state *)(void *)((char *)w - offsetof(query_state, wait));
    if (x)
        rank_vectors(q, x);
    else
        query_done(q);
}

uint64_t Ccai_rag_vector_reads(const Ccai_rag *r)
{
    return r ? r->vec.reads : 0;
}

static void on_query_vector(ccai_status st, const float *v, size_t n, size_t dims,
                            const char *errmsg, void *ud)
{
    query_state *q = ud;
    Ccai_rag_search *s = q->s;
    Ccai_rag *r = s->r;
    q->embed_op = NULL;
    if (st == CCAI_OK && n != 1)
        st = CCAI_ERR_PARSE;
    if (st == CCAI_OK && !(q->qv = Ccai_malloc((dims ? dims : 1) * sizeof *q->qv)))
        st = CCAI_ERR_NOMEM;
    if (st != CCAI_OK) {
        /* BM25 alone this time, not cached: the next asking tries again. */
        Ccai_log(r->log, CCAI_LOG_WARN, "documents: question not embedded (%s): BM25 only",
                 errmsg ? errmsg : ccai_status_str(st));
        query_done(q);
        return;
    }
    memcpy(q->qv, v, dims * sizeof *q->qv);
    Ccai_vectors_normalize(q->qv, dims);
    q->dims = dims;
    const Ccai_vindex *x = Ccai_vectors_find(&r->vec, s->lang, s->gen);
    if (x) {
        rank_vectors(q, x);
        return;
    }
    st = Ccai_vectors_wait_for(&r->vec, Ccai_embedder_model(r->emb), s->lang, s->gen, &q->wait,
                               on_vectors);
    if (st == CCAI_OK)
        return;
    Ccai_log(r->log, CCAI_LOG_WARN, "documents: the chunks' vectors not read (%s): BM25 only",
             ccai_status_str(st));
    query_done(q);
}

/* The question's BM25 ranking (cands[0..n)), then its vector when there
 * are embeddings. */
static void after_match(query_state *q, const ranked *cands, size_t n)
{
    Ccai_rag *r = q->s->r;
    if (n) {
        q->v = Ccai_calloc(n, sizeof *q->v);
        if (q->v) {
            memcpy(q->v, cands, n * sizeof *cands);
            q->n = n;
            for (size_t i = 0; i < q->n; i++)
                q->v[i].score = 1.0 / (RRF_K + q->v[i].bm25_rank);
        }
    }
    if (r->emb) {
        const char *texts[] = {q->text};
        if (Ccai_embed_start(r->emb, texts, 1, on_query_vector, q, &q->embed_op) == CCAI_OK)
            return;
        Ccai_log(r->log, CCAI_LOG_WARN, "documents: the question's embedding could not start");
        query_done(q);
        return;
    }
    remember(q);
    query_done(q);
}

/* A question's full-text match, made by a job. */
typedef struct match_job {
    query_state *q;
    char *match;
    char lang[16];
    ranked cands[CANDIDATES];
    size_t n;
    ccai_status st;
    char why[300];
} match_job;

static void match_work(Ccai_docstore *ds, void *ud)
{
    match_job *m = ud;
    bm25_collect c = {m->cands, 0};
    m->st = Ccai_docstore_match(ds, m->match, *m->lang ? m->lang : NULL, CANDIDATES, bm25_one, &c);
    m->n = c.n;
    if (m->st != CCAI_OK)
        snprintf(m->why, sizeof m->why, "%s", Ccai_docstore_errmsg(ds));
}

static void match_done(ccai_status st, const char *errmsg, void *ud)
{
    match_job *m = ud;
    ccai_free(m->match);
    if (st == CCAI_ERR_CANCELLED) {
        ccai_free(m);
        return;
    }
    query_state *q = m->q;
    q->job = NULL;
    if (st == CCAI_OK && m->st != CCAI_OK) {
        st = m->st;
        errmsg = m->why;
    }
    if (st != CCAI_OK) {
        /* Not "nothing found": the search failed, and says so. */
        search_failed(q->s, st, "full-text search", errmsg);
        ccai_free(m);
        query_done(q);
        return;
    }
    after_match(q, m->cands, m->n);
    ccai_free(m);
}

/* The question searched now (no cached ranking). */
static void compute(query_state *q)
{
    Ccai_rag_search *s = q->s;
    Ccai_rag *r = s->r;
    bool nomem = false;
    char *match = Ccai_rag_match_expr(q->text, &nomem);
    if (nomem) {
        ccai_free(match);
        s->failed = CCAI_ERR_NOMEM;
        query_done(q);
        return;
    }
    if (!match) { /* no word to match: the vectors alone */
        after_match(q, NULL, 0);
        return;
    }
    match_job *m = Ccai_calloc(1, sizeof *m);
    if (!m) {
        ccai_free(match);
        s->failed = CCAI_ERR_NOMEM;
        query_done(q);
        return;
    }
    m->q = q;
    m->match = match;
    memcpy(m->lang, s->lang, sizeof m->lang);
    ccai_status st = Ccai_docs_exec_run(r->exec, match_work, match_done, m, &q->job);
    if (st != CCAI_OK) {
        ccai_free(m->match);
        ccai_free(m);
        search_failed(s, st, "full-text search", "documents: too many searches at once");
        query_done(q);
    }
}

static void on_cached(ccai_status st, const char *value, size_t len, void *ud)
{
    query_state *q = ud;
    q->cache_op = NULL;
    if (st == CCAI_OK && ranking_load(q, value, len)) {
        q->cached = true;
        query_done(q);
        return;
    }
    compute(q);
}

/* The questions asked, once the generation and counts are known. */
static void search_queries(Ccai_rag_search *s)
{
    Ccai_rag *r = s->r;
    /* No chunk in the call's language: every language (the model reads
     * the others). */
    if (*s->prefix && s->in_lang > 0)
        snprintf(s->lang, sizeof s->lang, "%s", s->prefix);
    s->pending = s->nq;
    s->starting = true;
    for (size_t i = 0; i < s->nq; i++) {
        query_state *q = &s->q[i];
        if (s->total == 0) {
            query_done(q); /* nothing to search */
            continue;
        }
        char head[160];
        snprintf(head, sizeof head, "rag1|%lld|%s|%s|", (long long)s->gen, s->lang,
                 r->emb ? Ccai_embedder_model(r->emb) : "bm25");
        const char *parts[] = {head, q->text};
        const size_t lens[] = {strlen(head), strlen(q->text)};
        if (sha256_hex(parts, lens, 2, q->key) &&
            Ccai_cache_get(r->cache, q->key, on_cached, q, &q->cache_op) == CCAI_OK)
            continue;
        compute(q);
    }
    s->starting = false;
    if (s->pending == 0)
        deliver(s);
}

/* The documents' generation and counts, read by a job. */
typedef struct head_job {
    Ccai_rag_search *s;
    char prefix[16];
    int64_t gen, total, in_lang;
    ccai_status st;
    char why[300];
} head_job;

static void head_work(Ccai_docstore *ds, void *ud)
{
    head_job *h = ud;
    h->st = Ccai_docstore_generation(ds, &h->gen);
    if (h->st == CCAI_OK)
        h->st = Ccai_docstore_count(ds, NULL, &h->total);
    if (h->st == CCAI_OK && *h->prefix)
        h->st = Ccai_docstore_count(ds, h->prefix, &h->in_lang);
    if (h->st != CCAI_OK)
        snprintf(h->why, sizeof h->why, "%s", Ccai_docstore_errmsg(ds));
}

static void head_done(ccai_status st, const char *errmsg, void *ud)
{
    head_job *h = ud;
    if (st == CCAI_ERR_CANCELLED) {
        ccai_free(h);
        return;
    }
    Ccai_rag_search *s = h->s;
    s->job = NULL;
    if (st == CCAI_OK && h->st != CCAI_OK) {
        st = h->st;
        errmsg = h->why;
    }
    if (st != CCAI_OK) {
        search_failed(s, st, "search", errmsg);
        ccai_free(h);
        deliver(s);
        return;
    }
    s->gen = h->gen;
    s->total = h->total;
    s->in_lang = h->in_lang;
    ccai_free(h);
    search_queries(s);
}

/* A search that never started (not linked yet). */
static ccai_status search_abandon(Ccai_rag_search *s, ccai_status st)
{
    for (size_t k = 0; k < s->nq; k++)
        ccai_free(s->q[k].text);
    ccai_free(s);
    return st;
}

ccai_status Ccai_rag_search_start(Ccai_rag *r, const char *const *queries, size_t n,
                                  const char *lang, size_t limit, Ccai_rag_fn fn, void *ud,
                                  Ccai_rag_search **ret)
{
    if (!r || (!queries && n) || !fn)
        return CCAI_ERR_INVALID_ARG;
    Ccai_rag_search *s = Ccai_calloc(1, sizeof *s);
    if (!s)
        return CCAI_ERR_NOMEM;
    s->r = r;
    s->fn = fn;
    s->ud = ud;
    s->limit = limit ? limit : r->top_n;
    for (size_t i = 0; i < n && s->nq < CCAI_RAG_MAX_QUERIES; i++) {
        const char *t = queries[i];
        if (!t)
            continue;
        while (Ccai_is_space((unsigned char)*t))
            t++;
        size_t len = strlen(t);
        while (len && Ccai_is_space((unsigned char)t[len - 1]))
            len--;
        if (len > CCAI_RAG_MAX_QUERY) {
            len = CCAI_RAG_MAX_QUERY;
            while (len && ((unsigned char)t[len] & 0xC0) == 0x80)
                len--;
        }
        if (!len)
            continue;
        query_state *q = &s->q[s->nq++];
        q->s = s;
        if (!(q->text = Ccai_strndup(t, len)))
            return search_abandon(s, CCAI_ERR_NOMEM);
    }
    if (s->nq == 0)
        return search_abandon(s, CCAI_ERR_INVALID_ARG);
    prefix_of(lang, s->prefix);
    head_job *h = Ccai_calloc(1, sizeof *h);
    if (!h)
        return search_abandon(s, CCAI_ERR_NOMEM);
    h->s = s;
    memcpy(h->prefix, s->prefix, sizeof h->prefix);
    ccai_status st = Ccai_docs_exec_run(r->exec, head_work, head_done, h, &s->job);
    if (st != CCAI_OK) {
        ccai_free(h);
        if (st == CCAI_ERR_BUSY)
            Ccai_err_set(&r->err, "documents: too many searches at once (%d in flight)",
                         CCAI_DOCS_EXEC_MAX_JOBS);
        else
            Ccai_err_set(&r->err, "documents: the search could not start: %s", ccai_status_str(st));
        return search_abandon(s, st);
    }
    s->next = r->searches;
    if (r->searches)
        r->searches->prev = s;
    r->searches = s;
    if (ret)
        *ret = s;
    return CCAI_OK;
}

/* Output --------------------------------------------------------------------- */

/* HTML escaping as Python's html.escape(quote=True), which the reference
 * applies to each document's JSON. */
static CCAI_MUST_CHECK bool put_escaped(Ccai_buf *b, const char *s)
{
    bool ok = true;
    for (; *s && ok; s++) {
        switch (*s) {
        case '&': ok = Ccai_buf_puts(b, "&amp;"); break;
        case '<': ok = Ccai_buf_puts(b, "&lt;"); break;
        case '>': ok = Ccai_buf_puts(b, "&gt;"); break;
        case '"': ok = Ccai_buf_puts(b, "&quot;"); break;
        case '\'': ok = Ccai_buf_puts(b, "&#x27;"); break;
        default: ok = Ccai_buf_append(b, s, 1); break;
        }
    }
    return ok;
}

char *Ccai_rag_format(const Ccai_rag_results *res)
{
    Ccai_buf b = {0};
    bool ok = Ccai_buf_puts(&b, "# Search results");
    if (res->total == 0)
        ok = ok && Ccai_buf_puts(&b, "\nNo documents have been imported: there is no "
                                     "documentation to search. Answer from what you know, and "
                                     "say so when you are not sure.");
    else if (res->n == 0)
        ok = ok && Ccai_buf_puts(&b, "\nNothing relevant was found in the documentation for "
                                     "these queries. Do not make the answer up: say you do not "
                                     "know, or search again with other words.");
    for (size_t i = 0; ok && i < res->n; i++) {
        json_t *doc =
            json_pack("{s:s, s:s}", "title", res->v[i].heading, "content", res->v[i].text);
        char *text = doc ? Ccai_json_dump(doc, JSON_COMPACT) : NULL;
        json_decref(doc);
        ok = text && Ccai_buf_puts(&b, "\n<documents>") && put_escaped(&b, text) &&
             Ccai_buf_puts(&b, "</documents>");
        ccai_free(text);
    }
    if (!ok) {
        Ccai_buf_free(&b);
        return NULL;
    }
    return Ccai_buf_steal(&b);
}

json_t *Ccai_rag_results_json(const Ccai_rag_results *res)
{
    json_t *rows = json_array();
    for (size_t i = 0; rows && i < res->n; i++) {
        const Ccai_rag_hit *h = &res->v[i];
        json_t *row =
            json_pack("{s:I, s:f, s:f, s:i, s:f, s:i, s:s, s:s, s:s, s:s}", "rank",
                      (json_int_t)i + 1, "score", h->score, "bm25", h->bm25, "bm25_rank",
                      h->bm25_rank, "cosine", h->cosine, "vector_rank", h->vector_rank, "source",
                      h->source, "heading", h->heading, "lang", h->lang, "content", h->text);
        if (json_array_append_new(rows, row)) {
            json_decref(rows);
            rows = NULL;
        }
    }
    if (!rows)
        return NULL;
    return json_pack("{s:s?, s:s, s:b, s:I, s:I, s:o}", "lang", res->lang, "mode",
                     res->hybrid ? "hybrid" : "bm25", "cached", res->cached, "chunks_in_lang",
                     (json_int_t)res->in_lang, "chunks", (json_int_t)res->total, "results", rows);
}

/* The public API's operations --------------------------------------------------- */

static api_req *req_new(Ccai_rag *r, ccai_docs_done_fn done, void *ud)
{
    api_req *q = Ccai_calloc(1, sizeof *q);
    if (!q)
        return NULL;
    *q = (api_req){r, done, ud, NULL, r->reqs};
    if (r->reqs)
        r->reqs->prev = q;
    r->reqs = q;
    return q;
}

static void req_end(api_req *q, ccai_status st, const json_t *json)
{
    Ccai_rag *r = q->r;
    if (q->prev)
        q->prev->next = q->next;
    else
        r->reqs = q->next;
    if (q->next)
        q->next->prev = q->prev;
    char *text = st == CCAI_OK && json ? Ccai_json_dump(json, JSON_COMPACT) : NULL;
    if (st == CCAI_OK && !text)
        st = CCAI_ERR_NOMEM;
    if (st != CCAI_OK)
        Ccai_ctx_set_error(r->ctx, "%s",
                           *Ccai_rag_errmsg(r) ? Ccai_rag_errmsg(r) : ccai_status_str(st));
    ccai_docs_done_fn done = q->done;
    void *ud = q->ud;
    ccai_free(q);
    if (done)
        done(st, text, ud);
    ccai_free(text);
}

static void on_api_search(ccai_status st, const Ccai_rag_results *res, void *ud)
{
    json_t *doc = st == CCAI_OK ? Ccai_rag_results_json(res) : NULL;
    req_end(ud, st == CCAI_OK && !doc ? CCAI_ERR_NOMEM : st, doc);
    json_decref(doc);
}

ccai_status Ccai_rag_api_search(Ccai_rag *r, const char *query, const char *lang, size_t limit,
                                ccai_docs_done_fn done, void *ud)
{
    if (!r || !query || !done)
        return CCAI_ERR_INVALID_ARG;
    api_req *q = req_new(r, done, ud);
    if (!q)
        return CCAI_ERR_NOMEM;
    const char *queries[] = {query};
    ccai_status st = Ccai_rag_search_start(r, queries, 1, lang, limit, on_api_search, q, NULL);
    if (st != CCAI_OK) {
        r->reqs = q->next;
        if (q->next)
            q->next->prev = NULL;
        ccai_free(q);
    }
    return st;
}

static void on_api_embed(ccai_status st, const json_t *json, void *ud)
{
    req_end(ud, st, json);
}

ccai_status Ccai_rag_api_embed(Ccai_rag *r, ccai_docs_done_fn done, void *ud)
{
    if (!r)
        return CCAI_ERR_INVALID_ARG;
    api_req *q = req_new(r, done, ud);
    if (!q)
        return CCAI_ERR_NOMEM;
    ccai_status st = Ccai_rag_embed_pending(r, on_api_embed, q);
    if (st != CCAI_OK) {
        r->reqs = q->next;
        if (q->next)
            q->next->prev = NULL;
        ccai_free(q);
        if (st == CCAI_ERR_UNSUPPORTED)
            Ccai_err_set(&r->err, "documents: no embeddings configured "
                                  "(documents.embeddings.mode none): search is BM25 only");
    }
    return st;
}
