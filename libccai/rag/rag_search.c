/* The documentation searches (rag/rag.h): BM25 and vectors fused by
 * reciprocal rank, per question, cached under the documents' generation,
 * and their output (the LLM's text, the API's JSON). */
#include "rag/rag_private.h"

#include "core/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reciprocal rank fusion's constant (Cormack et al. 2009). */
#define RRF_K 60.0
/* Candidates each ranking gives the fusion, per question. */
#define CANDIDATES 20

/* Searches ------------------------------------------------------------------ */

/* A search is steps on the loop (the cache, the embedding of each question,
 * the fusion) between jobs of the documents' executor (store/docs_exec.h)
 * that read the store: its generation and counts (head_job), each
 * question's full-text match (match_job), the vectors of the language when
 * not in memory (rag/vectors.h), the chunks found (chunks_job). On
 * PostgreSQL those run on a worker thread with its own connection, so a
 * slow or stuck database holds the search, never the loop. Each job's data
 * is its own: a search cancelled meanwhile drops the job's answer. */

static void prefix_of(const char *lang, char out[16])
{
    size_t i = 0;
    for (; lang && lang[i] && lang[i] != '-' && lang[i] != '_' && i < 15; i++)
        out[i] = (char)Ccai_to_lower((unsigned char)lang[i]);
    out[i] = '\0';
}

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
        if (Ccai_rag_sha256_hex(parts, lens, 2, q->key) &&
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
