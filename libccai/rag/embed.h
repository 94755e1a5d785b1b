/* The embeddings client (rag/embed.c): texts to vectors through OpenAI's
 * POST /v1/embeddings, or Azure OpenAI's
 * POST {endpoint}/openai/deployments/{deployment}/embeddings?api-version=,
 * with retries (io/restop.h), on the context's loop. documents.embeddings.*
 * configures it; endpoint and key default to llm.fast's. */
#ifndef CCAI_RAG_EMBED_H
#define CCAI_RAG_EMBED_H

#include "core/common.h"

typedef struct Ccai_embedder Ccai_embedder;
typedef struct Ccai_embed_op Ccai_embed_op;

/* Most texts in one request (OpenAI accepts 2048) and bytes of one text
 * sent (a chunk longer is cut: its start stands for it). */
#define CCAI_EMBED_MAX_BATCH 256
#define CCAI_EMBED_MAX_TEXT  24000
/* Most dimensions of a vector read from a reply. */
#define CCAI_EMBED_MAX_DIMS 8192

/* Exactly once unless cancelled: CCAI_OK and n vectors of dims floats, in
 * the order of the texts (v[i * dims ...], borrowed during the call), or
 * the failure and its text. */
typedef void (*Ccai_embed_fn)(ccai_status st, const float *v, size_t n, size_t dims,
                              const char *errmsg, void *ud);

/* From documents.embeddings.*. CCAI_ERR_NOT_FOUND when mode is none (BM25
 * only); CCAI_ERR_CONFIG with *ret_errmsg when it lacks an endpoint. */
CCAI_MUST_CHECK ccai_status Ccai_embedder_new(ccai_ctx *ctx, const ccai_config *cfg,
                                              const Ccai_logger *log, Ccai_embedder **ret,
                                              char **ret_errmsg);
void Ccai_embedder_free(Ccai_embedder *e);
/* What the vectors are stored under: the model, and its dimensions when
 * asked for ("text-embedding-3-small", "text-embedding-3-large@256"). */
const char *Ccai_embedder_model(const Ccai_embedder *e);
/* Texts per request (documents.embeddings.batch). */
size_t Ccai_embedder_batch(const Ccai_embedder *e);
/* Where requests go, for the logs (no secret). */
const char *Ccai_embedder_url(const Ccai_embedder *e);

/* Embed texts[0..n) (1 <= n <= CCAI_EMBED_MAX_BATCH). A start that fails
 * fires nothing. *ret (may be NULL) cancels it until fn fires. */
CCAI_MUST_CHECK ccai_status Ccai_embed_start(Ccai_embedder *e, const char *const *texts, size_t n,
                                             Ccai_embed_fn fn, void *ud, Ccai_embed_op **ret);
void Ccai_embed_cancel(Ccai_embed_op *op);

/* The reply of an embeddings request, sans I/O: {"data": [{"index": i,
 * "embedding": [floats]}...]} holding exactly n vectors of one dimension
 * (at most CCAI_EMBED_MAX_DIMS), indexes 0..n-1 each once. *ret_v
 * (ccai_free()) gets n * dims floats in index order. Statuses: CCAI_OK,
 * CCAI_ERR_PARSE with *ret_why (static text), CCAI_ERR_NOMEM. */
CCAI_MUST_CHECK ccai_status Ccai_embed_parse(const char *body, size_t len, size_t n, float **ret_v,
                                             size_t *ret_dims, const char **ret_why);

#endif
