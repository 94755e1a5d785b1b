/* The local channel over HTTP (channels/chat_http.c): POST /chat,
 * POST /chat/{id}, POST /chat/{id}/next. */
#ifndef CCAI_CHANNELS_CHAT_HTTP_H
#define CCAI_CHANNELS_CHAT_HTTP_H

#include "http/router.h"

extern const Ccai_route Ccai_chat_routes[];
extern const size_t Ccai_chat_n_routes;
/* Ends the chats still open when the context goes away. */
void Ccai_chat_ctx_cleanup(ccai_ctx *ctx);

#endif
