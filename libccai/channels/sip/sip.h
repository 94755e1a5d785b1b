/* The SIP channel (channels/sip/): a SIP user agent on libre, RTP with
 * G.711, the calls of the public API. It needs its context on libre's loop
 * (ccai_ctx_new_libre()); on any other, a configured sip.listen is refused. */
#ifndef CCAI_CHANNELS_SIP_SIP_H
#define CCAI_CHANNELS_SIP_SIP_H

#include "channels/common/channel.h"

extern const Ccai_channel_class Ccai_sip_channel;

#endif
