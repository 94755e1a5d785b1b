/* Guardrails in the conversation (engine/guardrails.c): the local content
 * filter on the bot's sentences and the caller's words, the jailbreak
 * detector on the caller's words before the LLM sees them, and what the
 * provider's prompt shield reports (guard/ does the matching).
 *
 * Every hit is logged, counted (ccai_guardrails_total{kind, side, source,
 * action}) and stored on the call as a message of action "guard" (persona
 * assistant, engine "guard", its content a JSON object saying what and
 * why), which the history API and the report show and the LLM never reads
 * (engine/request.c leaves it out). */
#ifndef CCAI_ENGINE_GUARDRAILS_H
#define CCAI_ENGINE_GUARDRAILS_H

#include "engine/engine.h"

/* What the conversation does after a verdict. */
typedef enum Ccai_guard_act {
    CCAI_GUARD_ACT_NONE = 0, /* nothing: go on */
    CCAI_GUARD_ACT_ERROR,    /* the error phrase (not stored), listen again */
    CCAI_GUARD_ACT_REFUSE,   /* the refusal phrase (not stored), listen again */
    CCAI_GUARD_ACT_HANDOVER, /* the transfer announcement, transfer to the agent */
    CCAI_GUARD_ACT_END       /* goodbye, hang up */
} Ccai_guard_act;

/* Read guardrails.* and build the lists. CCAI_ERR_CONFIG with
 * *ret_errmsg for a blocklist entry with no word; CCAI_ERR_NOMEM. */
CCAI_MUST_CHECK ccai_status Ccai_guardrails_new(Ccai_engine *e, char **ret_errmsg);
void Ccai_guardrails_free(Ccai_engine *e);

/* The caller's words text, stored as message seq, before anything answers
 * them. NONE: they go on to the LLM (or the offline dialogue). Else the
 * words were deleted from the history (the reference forgets filtered
 * words) and the hit recorded; the caller of this acts as told. */
Ccai_guard_act Ccai_guardrails_caller(ccai_call *c, const char *text, int64_t seq);

/* A sentence the LLM wrote, before it is said: false when it must not be
 * said nor stored (the hit is recorded: action "error" for a sentence of
 * the streamed answer, which stops there and says the error phrase;
 * "withheld" for another, a tool's customer_response, left unsaid). */
CCAI_MUST_CHECK bool Ccai_guardrails_bot_ok(ccai_call *c, const char *text, bool streamed);

/* The provider's prompt shield saw a jailbreak: blocked (the request was
 * refused with content_filter) gives the configured action; annotated
 * (the answer came anyway) is recorded only (NONE). */
Ccai_guard_act Ccai_guardrails_provider(ccai_call *c, bool blocked);

#endif
