/* The Azure Communication Services voice channel (channels/acs/): Call
 * Automation at text level. ACS does the speech; libccai sends SSML and
 * reads recognised text. Routes: POST /acs/events (Event Grid), OPTIONS
 * /acs/events (the CloudEvents handshake), POST /acs/callback (Call
 * Automation callbacks, JWT and per-call secret). */
#ifndef CCAI_CHANNELS_ACS_ACS_H
#define CCAI_CHANNELS_ACS_ACS_H

#include "channels/common/channel.h"

typedef struct Ccai_acs Ccai_acs;

extern const Ccai_channel_class Ccai_acs_channel;

#endif
