/* The LLM request of a turn (engine/request.c), for the turn loop
 * (engine/conversation.c). */
#ifndef CCAI_ENGINE_REQUEST_H
#define CCAI_ENGINE_REQUEST_H

#include "engine/engine.h"

/* The tool schemas of a call as JSON text, as the request carries them:
 * shared by the calls whose claim schema and languages are the same, and
 * held by each of them (reference counted: the cache may drop it). */
typedef struct Ccai_tools_text {
    unsigned refs;
    size_t tokens; /* what the token budget counts for them */
    size_t len;
    char json[];
} Ccai_tools_text;

/* Drop one reference (NULL: nothing). */
void Ccai_tools_text_unref(Ccai_tools_text *t);

/* The tool schemas of a call (which: 1 leaves end_call out), shared with
 * every call of the same claim schema and languages. Borrowed from the call
 * (it holds a reference until Ccai_conv_cleanup); NULL when out of memory. */
const Ccai_tools_text *Ccai_request_tools(ccai_call *c, int which);

/* The request's messages as JSON text: system prompts, then the newest
 * history that fits the model's window (context - max_tokens - the tools,
 * counted conservatively, engine/history.h) and the message cap. *seq: the
 * newest stored message to consider (< 0: any), then the newest one used:
 * a retry builds the same history again, whatever was said meanwhile. */
CCAI_MUST_CHECK ccai_status Ccai_request_messages(ccai_call *c, const Ccai_tools_text *tools,
                                                  int64_t *seq, char **ret);
/* The same with the caller's words early (not stored: an early start on
 * a partial result) as the newest message, written as they will be once
 * stored ("human", "talk"). */
CCAI_MUST_CHECK ccai_status Ccai_request_messages_early(ccai_call *c, const Ccai_tools_text *tools,
                                                        int64_t *seq, const char *early,
                                                        char **ret);

#endif
