/* Tool calls assembled from streamed deltas (sans-I/O).
 * Slots are keyed by the delta's "index"; id, type and name are taken once
 * (the first non-empty value: some servers repeat them); argument fragments
 * are appended in order. A delta without an index continues the last call
 * when its id is empty or equal to the last id (Azure AI Inference sends
 * empty ids, issue #391 of the reference), else starts a new call (servers
 * that send each call whole, like Ollama). */
#ifndef CCAI_LLM_TOOLCALLS_H
#define CCAI_LLM_TOOLCALLS_H

#include "core/common.h"

#include <jansson.h>

#define CCAI_TOOL_CALLS_MAX 16
#define CCAI_TOOL_ARGS_MAX  (64u * 1024u)

typedef struct Ccai_tool_call {
    long index;
    char *id; /* generated ("call_<n>") when the server sent none */
    char *name;
    Ccai_buf args;
} Ccai_tool_call;

typedef struct Ccai_tool_calls {
    Ccai_tool_call v[CCAI_TOOL_CALLS_MAX];
    size_t n;
} Ccai_tool_calls;

void Ccai_tool_calls_init(Ccai_tool_calls *tc);
void Ccai_tool_calls_free(Ccai_tool_calls *tc);

/* Apply one chunk's delta.tool_calls array. CCAI_ERR_LIMIT when there are
 * too many calls or too long arguments, CCAI_ERR_PARSE for a malformed
 * element, CCAI_ERR_NOMEM. */
CCAI_MUST_CHECK ccai_status Ccai_tool_calls_apply(Ccai_tool_calls *tc, const json_t *deltas);

/* After the stream: give every call an id and a name check. Calls without
 * a name are dropped (nothing can run them); returns how many remain. */
size_t Ccai_tool_calls_finish(Ccai_tool_calls *tc);

#endif
