/* What llm/model.c shares with the chat client (llm/openai.c). */
#ifndef CCAI_LLM_MODEL_H
#define CCAI_LLM_MODEL_H

#include "core/common.h"
#include "llm/llm.h"

/* The longest wait a server may ask for before a retry (beyond: ignored). */
#define RETRY_AFTER_MAX_MS 120000

/* A finish_reason as the API names it (NULL: none). */
Ccai_llm_finish Ccai_llm_finish_parse(const char *s);

/* The members of the body after the messages, as JSON text with the body's
 * closing brace: ,"model":..,"temperature":..,...}; NULL when out of
 * memory. Written once per model and mode (Ccai_llm_model.body_tail). */
char *Ccai_llm_body_tail(const Ccai_llm_model *m, bool json_mode);
/* {"messages": and the array (compact JSON text, len bytes) without its
 * closing bracket; false when messages is not an array or out of memory. */
CCAI_MUST_CHECK bool Ccai_llm_body_head(Ccai_buf *out, const char *messages, size_t len);
/* The rest after the head: the end of the messages (with delivered text,
 * when not json_mode, the assistant's words so far and a request to go
 * on), the model's settings, the tools. False when out of memory. */
CCAI_MUST_CHECK bool Ccai_llm_body_rest(Ccai_buf *out, const Ccai_llm_model *m, bool json_mode,
                                        bool no_messages, const char *tools, size_t tools_len,
                                        const char *delivered, size_t delivered_len);

#endif
