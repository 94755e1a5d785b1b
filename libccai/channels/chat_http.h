/* The local channel over HTTP (channels/chat_http.c): POST /chat,
 * POST /chat/{id}, POST /chat/{id}/next. */
#ifndef CCAI_CHANNELS_CHAT_HTTP_H
#define CCAI_CHANNELS_CHAT_HTTP_H

#include "core/common.h"

struct ccai_http_exchange;

void Ccai_chat_start(struct ccai_http_exchange *x);
void Ccai_chat_say(struct ccai_http_exchange *x);
void Ccai_chat_next(struct ccai_http_exchange *x);
/* Ends the chats still open when the context goes away. */
void Ccai_chat_ctx_cleanup(ccai_ctx *ctx);

#endif
