/* A stand-in for OpenAI's embeddings API, for tests and the documents
 * bench: POST /v1/embeddings (Authorization: Bearer <key> when a key is
 * set) and Azure OpenAI's POST /openai/deployments/{deployment}/embeddings
 * ?api-version=... (an api-key header required; 400 without api-version;
 * 404 DeploymentNotFound for another deployment). Requests are checked as
 * the services check them (input a string or a non-empty list of
 * non-empty strings, at most 2048; model required on OpenAI's path;
 * encoding_format float or base64; dimensions a positive integer) and
 * answered in their wire format: {"object": "list", "data": [{"object":
 * "embedding", "index": i, "embedding": [...]}], "model", "usage":
 * {"prompt_tokens", "total_tokens"}}, errors as {"error": {"message",
 * "type", "param", "code"}}.
 *
 * The vectors are no model's: a deterministic hashing of each text's words
 * and character trigrams into dims dimensions (256 unless the request asks
 * for dimensions), so that texts sharing words and word parts are close. */
#ifndef CCAI_TEST_EMBED_STANDIN_H
#define CCAI_TEST_EMBED_STANDIN_H

#include <stddef.h>

typedef struct embed_standin embed_standin;

typedef struct embed_standin_opts {
    const char *key;        /* NULL: any or no key on the OpenAI path */
    const char *deployment; /* Azure's; NULL: "embed" */
    int fail_status;        /* non-zero: every request answered with it (an error body) */
    int delay_ms;           /* before each answer */
} embed_standin_opts;

embed_standin *embed_standin_start(const embed_standin_opts *o);
int embed_standin_port(const embed_standin *s);
/* Requests served, and texts embedded, so far. */
int embed_standin_requests(embed_standin *s);
int embed_standin_texts(embed_standin *s);
/* The last request's path and body (copies, free()), NULL when none. */
char *embed_standin_last_path(embed_standin *s);
char *embed_standin_last_body(embed_standin *s);
void embed_standin_stop(embed_standin *s);

/* The vector the stand-in gives text (dims floats, unit length). */
void embed_standin_vector(const char *text, size_t len, float *out, size_t dims);

#endif
