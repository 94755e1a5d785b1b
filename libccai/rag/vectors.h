/* The chunks' vectors in memory (rag/vectors.c), for the vector ranking of
 * the documentation search (rag/rag.c): per language and generation of
 * the documents, the last CCAI_VECTORS_KEPT read, each row of unit length.
 * They are read from the documents store by a job of its executor
 * (store/docs_exec.h: a worker thread on PostgreSQL), one read per
 * language and generation at a time (single flight): the questions that
 * need them while it is in flight wait for it, and are told from the loop
 * when it ends. */
#ifndef CCAI_RAG_VECTORS_H
#define CCAI_RAG_VECTORS_H

#include "core/common.h"
#include "store/docs_exec.h"

/* Languages' vectors kept in memory (one per language searched). */
#define CCAI_VECTORS_KEPT 4

typedef struct Ccai_vindex {
    char lang[16]; /* "" : every language */
    int64_t gen;   /* the generation it was read at; -1: empty slot */
    size_t n, dims;
    int64_t *ids;
    float *v; /* n * dims, each row of unit length */
} Ccai_vindex;

typedef struct Ccai_vectors_load Ccai_vectors_load;
typedef struct Ccai_vectors_wait Ccai_vectors_wait;

/* A read ended: x the vectors (borrowed during the call), or NULL when
 * they could not be read (logged). w has left the read. */
typedef void (*Ccai_vectors_fn)(Ccai_vectors_wait *w, const Ccai_vindex *x);

/* A waiter's place, inside its owner (its owner's memory). */
struct Ccai_vectors_wait {
    Ccai_vectors_load *load; /* the read waited for, NULL: none */
    Ccai_vectors_wait *next;
    Ccai_vectors_fn fn;
};

typedef struct Ccai_vectors {
    ccai_ctx *ctx;
    Ccai_docs_exec *exec;
    const Ccai_logger *log;
    Ccai_vindex idx[CCAI_VECTORS_KEPT];
    size_t next_idx;
    Ccai_vectors_load *loads; /* in flight */
    uint64_t reads;           /* started */
} Ccai_vectors;

void Ccai_vectors_init(Ccai_vectors *v, ccai_ctx *ctx, Ccai_docs_exec *exec,
                       const Ccai_logger *log);
/* After the executor's free (which ends the reads in flight; nobody may
 * wait for one any more). */
void Ccai_vectors_clear(Ccai_vectors *v);

/* The vectors of lang ("" : every language) at generation gen, when in
 * memory. Valid until the next read ends. */
const Ccai_vindex *Ccai_vectors_find(Ccai_vectors *v, const char *lang, int64_t gen);
/* w waits for the vectors of model in lang at gen, read now unless a read
 * of them is in flight; fn(w, ...) then, from the loop, never from inside
 * this call. Statuses: CCAI_OK; CCAI_ERR_NOMEM, the executor's
 * (CCAI_ERR_BUSY, CCAI_ERR_IO): nothing waits then. */
CCAI_MUST_CHECK ccai_status Ccai_vectors_wait_for(Ccai_vectors *v, const char *model,
                                                  const char *lang, int64_t gen,
                                                  Ccai_vectors_wait *w, Ccai_vectors_fn fn);
/* w waits no more (its owner goes): fn is not called. The read goes on,
 * its vectors kept for the next. Harmless when w waits for nothing. */
void Ccai_vectors_leave(Ccai_vectors_wait *w);

/* v (dims floats) scaled to unit length (left as it is when zero). */
void Ccai_vectors_normalize(float *v, size_t dims);

#endif
