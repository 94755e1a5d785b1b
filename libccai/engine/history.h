/* The messages of an LLM request, written as JSON text straight from the
 * stored conversation (engine/history.c): the two system prompts, then the
 * newest history that fits the model's window and the message cap, oldest
 * first. No JSON tree is built: a turn's request is thousands of bytes, and
 * building, dumping and freeing a tree of it was a quarter of a turn's CPU.
 *
 * The token budget counts what the tree-based code counted, byte for byte
 * (an estimate of the compact JSON that never undercounts), so the same
 * conversation gives the same request. A stored message becomes a group:
 * the user's or the assistant's words ("action=talk style=none Hello"),
 * with the assistant's tool calls and their results as "tool" messages;
 * a group is taken whole or not at all.
 *
 * Lifecycle:
 *   1. Ccai_history_init(h, persona, chat, budget, max_messages): budget is
 *      the model's window less its answer and the tools' tokens; the system
 *      prompts' own cost is taken from it.
 *   2. Ccai_history_add() with each stored message, newest first, until it
 *      returns CCAI_ERR_LIMIT (that message and any older one do not fit).
 *   3. Ccai_history_take() gives the message array; Ccai_history_free(). */
#ifndef CCAI_ENGINE_HISTORY_H
#define CCAI_ENGINE_HISTORY_H

#include "core/common.h"
#include "store/store.h"

#include <jansson.h>

typedef struct Ccai_history {
    const char *persona, *chat; /* the system prompts (borrowed) */
    Ccai_buf groups;            /* the groups taken, newest first, "msg,msg" each */
    size_t *ends;               /* where each group ends in groups */
    size_t n, cap;
    Ccai_buf text; /* scratch: one message's content */
    int64_t budget;
    int left;
} Ccai_history;

/* The system prompts are borrowed until Ccai_history_take(). */
void Ccai_history_init(Ccai_history *h, const char *persona, const char *chat, int64_t budget,
                       int max_messages);

/* One stored message (the next older one) and its tool calls as stored
 * (the parsed tool_calls array, NULL when none). CCAI_OK when it was taken;
 * CCAI_ERR_LIMIT when it does not fit (nothing older will be taken);
 * CCAI_ERR_NOMEM, also when a text is not valid UTF-8 (as the tree-based
 * code, whose json_pack() failed then). */
ccai_status Ccai_history_add(Ccai_history *h, const Ccai_store_message *m, const json_t *calls);

/* The message array as compact JSON text: the system prompts, then the
 * groups taken, oldest first. NULL when out of memory or when a system
 * prompt is not valid UTF-8. Freed with ccai_free(). */
char *Ccai_history_take(Ccai_history *h);

void Ccai_history_free(Ccai_history *h);

/* Tokens a JSON value is counted for (json_bytes: its compact size, over-
 * estimated: every escaped character as six bytes, one comma per member),
 * over BYTES_PER_TOKEN, plus a message's framing. */
size_t Ccai_history_tokens(const json_t *v);

#endif
