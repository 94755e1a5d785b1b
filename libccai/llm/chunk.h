/* One chunk of a streamed chat completion (the JSON of one SSE event),
 * reduced to what the client acts on (llm/chunk.c): the usage, and per
 * choice its index, its text, whether it carries tool calls, its finish
 * reason and a content filter's verdict; and whether Azure's prompt shield
 * saw a jailbreak in the prompt.
 *
 * A chunk arrives every few words, so it is read without building a tree
 * when it has the usual shape (Ccai_chunk_read: a sans-I/O reader over the
 * strict JSON grammar of core/json.h). What it leaves to a tree (an error,
 * tool calls, a member it acts on given twice: the last one counts)
 * comes back as CCAI_ERR_UNSUPPORTED; Ccai_chunk_from_tree() reduces a
 * tree the same way. Both give the same Ccai_chunk for the same text (a
 * fuzz target checks it: tests/fuzz/fuzz_chunk.c). */
#ifndef CCAI_LLM_CHUNK_H
#define CCAI_LLM_CHUNK_H

#include "core/common.h"
#include "core/json.h"

#include <jansson.h>

typedef struct Ccai_chunk_choice {
    bool skip;                 /* "index" is an integer other than 0: not ours */
    const char *text;          /* delta.content, else delta.refusal, when a string; NULL */
    size_t text_len;           /* strlen(text): a JSON string holds no NUL here */
    bool tool_calls;           /* delta.tool_calls is there and not null */
    const char *finish;        /* finish_reason when a string; NULL */
    bool filtered;             /* content_filter_results names a category "filtered": true */
    size_t text_at, finish_at; /* where they are in the reader's buffer (read only) */
} Ccai_chunk_choice;

typedef struct Ccai_chunk {
    bool object; /* the chunk is an object: nothing else counts otherwise */
    bool error;  /* it has an "error" member */
    /* Azure's prompt shield: an entry of "prompt_filter_results" (or the
     * older "prompt_annotations") whose content_filter_results say
     * "jailbreak": {"detected": true} or {"filtered": true}. */
    bool prompt_jailbreak;
    bool usage;                               /* "usage" is an object: */
    int64_t prompt_tokens, completion_tokens; /* its integers, 0 when absent or not integers */
    const Ccai_chunk_choice *v;               /* "choices", in order (the reader's) */
    size_t n;
} Ccai_chunk;

/* Zero-initialised; its buffers serve every chunk of a stream. */
typedef struct Ccai_chunk_reader {
    Ccai_json_cursor cur;
    Ccai_buf text;
    Ccai_chunk_choice *v;
    size_t cap;
} Ccai_chunk_reader;

/* Read data[0..len). CCAI_OK: *out describes it (borrowed from r until the
 * next chunk); CCAI_ERR_PARSE: not JSON (as Ccai_json_load() says);
 * CCAI_ERR_UNSUPPORTED: a chunk to read as a tree; CCAI_ERR_NOMEM. The size
 * of data is the SSE parser's limit. */
ccai_status Ccai_chunk_read(Ccai_chunk_reader *r, const char *data, size_t len, Ccai_chunk *out);

/* The same from a parsed chunk (its strings borrowed from the tree).
 * CCAI_OK or CCAI_ERR_NOMEM. */
ccai_status Ccai_chunk_from_tree(Ccai_chunk_reader *r, const json_t *chunk, Ccai_chunk *out);

void Ccai_chunk_reader_free(Ccai_chunk_reader *r);

#endif
