/* The documentation search (rag/rag.h): import, the embedding of chunks,
 * the handle's life and the public API's operations. The searches (BM25
 * and vectors fused by reciprocal rank, per question, cached under the
 * documents' generation) and their output are in rag_search.c. */
#include "rag/rag_private.h"

#include "config/config.h"
#include "core/json.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

bool Ccai_rag_sha256_hex(const char *const *parts, const size_t *lens, size_t n, char out[65])
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
    if (!Ccai_rag_sha256_hex(parts, lens, 2, hash)) {
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

/* The end ---------------------------------------------------------------------- */

void Ccai_rag_free(Ccai_rag *r)
{
    if (!r)
        return;
    while (r->searches)
        Ccai_rag_search_cancel(r->searches);
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
