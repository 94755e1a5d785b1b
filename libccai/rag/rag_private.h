/* What rag.c (import, embedding, the public API's operations) and
 * rag_search.c (the searches and their output) share: the handle. */
#ifndef CCAI_RAG_RAG_PRIVATE_H
#define CCAI_RAG_RAG_PRIVATE_H

#include "rag/rag.h"

#include "io/io.h"
#include "rag/chunk.h"
#include "rag/embed.h"
#include "rag/vectors.h"
#include "store/docs_exec.h"

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

/* SHA-256 of the parts, in hex (65 bytes). */
CCAI_MUST_CHECK bool Ccai_rag_sha256_hex(const char *const *parts, const size_t *lens, size_t n,
                                         char out[65]);

#endif
