/* Asterisk AudioSocket (channels/audiosocket/audiosocket.c): a TCP listener
 * on the context's loop (audiosocket.listen, audiosocket.allow), one audio
 * call per connection. */
#ifndef CCAI_CHANNELS_AUDIOSOCKET_AUDIOSOCKET_H
#define CCAI_CHANNELS_AUDIOSOCKET_AUDIOSOCKET_H

#include "channels/common/channel.h"

extern const Ccai_channel_class Ccai_audiosocket_channel;

#endif
