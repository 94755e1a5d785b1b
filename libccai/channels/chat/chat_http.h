/* The local channel over HTTP (channels/chat/chat_http.c): POST /chat,
 * POST /chat/{id}, POST /chat/{id}/next. The smallest channel: the one to
 * copy for a new one. */
#ifndef CCAI_CHANNELS_CHAT_CHAT_HTTP_H
#define CCAI_CHANNELS_CHAT_CHAT_HTTP_H

#include "channels/common/channel.h"

extern const Ccai_channel_class Ccai_chat_channel;

#endif
