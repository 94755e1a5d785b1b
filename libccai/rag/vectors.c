/* The chunks' vectors in memory (rag/vectors.h): a few languages' kept,
 * the oldest replaced; each read by one job of the documents' executor at
 * a time, the questions that need it meanwhile waiting in a list. */
#include "rag/vectors.h"

#include "io/io.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

struct Ccai_vectors_load {
    Ccai_vectors *owner;
    Ccai_vectors_load *next; /* owner->loads */
    char *model;
    char lang[16];
    int64_t gen;
    Ccai_vectors_wait *waiting; /* first come first */
    Ccai_vindex x;              /* what the job read */
    ccai_status st;
    char why[300];
};

static void vindex_clear(Ccai_vindex *x)
{
    ccai_free(x->ids);
    ccai_free(x->v);
    memset(x, 0, sizeof *x);
    x->gen = -1;
}

void Ccai_vectors_normalize(float *v, size_t dims)
{
    double s = 0;
    for (size_t i = 0; i < dims; i++)
        s += (double)v[i] * (double)v[i];
    s = sqrt(s);
    if (s > 0)
        for (size_t i = 0; i < dims; i++)
            v[i] = (float)((double)v[i] / s);
}

void Ccai_vectors_init(Ccai_vectors *v, ccai_ctx *ctx, Ccai_docs_exec *exec, const Ccai_logger *log)
{
    memset(v, 0, sizeof *v);
    v->ctx = ctx;
    v->exec = exec;
    v->log = log;
    for (size_t i = 0; i < CCAI_VECTORS_KEPT; i++)
        vindex_clear(&v->idx[i]);
}

void Ccai_vectors_clear(Ccai_vectors *v)
{
    for (size_t i = 0; i < CCAI_VECTORS_KEPT; i++)
        vindex_clear(&v->idx[i]);
}

const Ccai_vindex *Ccai_vectors_find(Ccai_vectors *v, const char *lang, int64_t gen)
{
    for (size_t i = 0; i < CCAI_VECTORS_KEPT; i++) {
        if (v->idx[i].gen == gen && strcmp(v->idx[i].lang, lang) == 0)
            return &v->idx[i];
    }
    return NULL;
}

/* Keep x (read for lang at generation gen) in memory, in place of the
 * oldest; x is emptied. */
static const Ccai_vindex *install(Ccai_vectors *v, Ccai_vindex *x, const char *lang, int64_t gen)
{
    Ccai_vindex *slot = &v->idx[v->next_idx];
    v->next_idx = (v->next_idx + 1) % CCAI_VECTORS_KEPT;
    vindex_clear(slot);
    *slot = *x;
    snprintf(slot->lang, sizeof slot->lang, "%s", lang);
    slot->gen = gen;
    memset(x, 0, sizeof *x);
    x->gen = -1;
    return slot;
}

/* Reading (on the executor's thread) ------------------------------------------ */

typedef struct vload {
    Ccai_vindex *x;
    size_t cap;
    bool nomem;
} vload;

static int load_one(int64_t id, const float *v, size_t dims, void *ud)
{
    vload *l = ud;
    Ccai_vindex *x = l->x;
    if (!x->dims)
        x->dims = dims;
    if (dims != x->dims)
        return 0; /* another size (the model's dimensions changed): not comparable */
    if (x->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        int64_t *ids = Ccai_realloc(x->ids, cap * sizeof *ids);
        if (ids)
            x->ids = ids;
        float *vv = ids ? Ccai_realloc(x->v, cap * dims * sizeof *vv) : NULL;
        if (!vv) {
            l->nomem = true;
            return 1;
        }
        x->v = vv;
        l->cap = cap;
    }
    x->ids[x->n] = id;
    memcpy(x->v + x->n * dims, v, dims * sizeof *v);
    Ccai_vectors_normalize(x->v + x->n * dims, dims);
    x->n++;
    return 0;
}

static void load_work(Ccai_docstore *ds, void *ud)
{
    Ccai_vectors_load *j = ud;
    vload l = {&j->x, 0, false};
    j->st = Ccai_docstore_vectors(ds, j->model, *j->lang ? j->lang : NULL, load_one, &l);
    if (j->st == CCAI_OK && l.nomem)
        j->st = CCAI_ERR_NOMEM;
    if (j->st != CCAI_OK && j->st != CCAI_ERR_NOMEM)
        snprintf(j->why, sizeof j->why, "%s", Ccai_docstore_errmsg(ds));
}

/* Waiting (on the loop) ---------------------------------------------------------- */

static void load_free(Ccai_vectors_load *j)
{
    vindex_clear(&j->x);
    ccai_free(j->model);
    ccai_free(j);
}

void Ccai_vectors_leave(Ccai_vectors_wait *w)
{
    Ccai_vectors_load *j = w->load;
    if (!j)
        return;
    for (Ccai_vectors_wait **p = &j->waiting; *p; p = &(*p)->next) {
        if (*p == w) {
            *p = w->next;
            break;
        }
    }
    w->load = NULL;
    w->next = NULL;
}

static void join(Ccai_vectors_load *j, Ccai_vectors_wait *w, Ccai_vectors_fn fn)
{
    Ccai_vectors_wait **p = &j->waiting;
    while (*p)
        p = &(*p)->next;
    *p = w;
    w->load = j;
    w->next = NULL;
    w->fn = fn;
}

/* The next waiter, taken off the list; NULL when none is left, or when a
 * completion freed the context (the others are told nothing:
 * ccai_ctx_free() fires no callback). */
static Ccai_vectors_wait *next_waiter(Ccai_vectors_load *j)
{
    if (j->waiting && Ccai_loop_freeing(j->owner->ctx)) {
        while (j->waiting)
            Ccai_vectors_leave(j->waiting);
        return NULL;
    }
    Ccai_vectors_wait *w = j->waiting;
    if (w)
        Ccai_vectors_leave(w);
    return w;
}

static void load_done(ccai_status st, const char *errmsg, void *ud)
{
    Ccai_vectors_load *j = ud;
    Ccai_vectors *v = j->owner;
    for (Ccai_vectors_load **p = &v->loads; *p; p = &(*p)->next) {
        if (*p == j) {
            *p = j->next;
            break;
        }
    }
    if (st == CCAI_OK && j->st != CCAI_OK) {
        st = j->st;
        errmsg = j->why;
    }
    if (st == CCAI_ERR_CANCELLED) { /* the executor's free: nobody waits */
        load_free(j);
        return;
    }
    const Ccai_vindex *x = NULL;
    if (st != CCAI_OK)
        Ccai_log(v->log, CCAI_LOG_WARN, "documents: the chunks' vectors not read (%s): BM25 only",
                 errmsg && *errmsg ? errmsg : ccai_status_str(st));
    else if (!(x = Ccai_vectors_find(v, j->lang, j->gen)))
        x = install(v, &j->x, j->lang, j->gen);
    /* A completion may end others waiting here (Ccai_vectors_leave()):
     * each is taken off the list before it is told. */
    Ccai_vectors_wait *w;
    while ((w = next_waiter(j)) != NULL)
        w->fn(w, x);
    load_free(j);
}

ccai_status Ccai_vectors_wait_for(Ccai_vectors *v, const char *model, const char *lang, int64_t gen,
                                  Ccai_vectors_wait *w, Ccai_vectors_fn fn)
{
    for (Ccai_vectors_load *j = v->loads; j; j = j->next) {
        if (j->gen == gen && strcmp(j->lang, lang) == 0 && strcmp(j->model, model) == 0) {
            join(j, w, fn);
            return CCAI_OK;
        }
    }
    Ccai_vectors_load *j = Ccai_calloc(1, sizeof *j);
    if (j && !(j->model = Ccai_strdup(model))) {
        ccai_free(j);
        j = NULL;
    }
    if (!j)
        return CCAI_ERR_NOMEM;
    j->owner = v;
    snprintf(j->lang, sizeof j->lang, "%s", lang);
    j->gen = gen;
    vindex_clear(&j->x);
    ccai_status st = Ccai_docs_exec_run(v->exec, load_work, load_done, j, NULL);
    if (st != CCAI_OK) {
        load_free(j);
        return st;
    }
    join(j, w, fn);
    j->next = v->loads;
    v->loads = j;
    v->reads++;
    return CCAI_OK;
}
