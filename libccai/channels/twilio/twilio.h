/* The Twilio voice and SMS channel (channels/twilio/twilio.c): TwiML
 * webhooks (POST /twilio/voice, gather, next, dial, status, recording,
 * sms), each checking X-Twilio-Signature against server.public_url and, for
 * per-call routes, the call's secret; outbound calls and SMS over Twilio's
 * REST API (channels/twilio/twilio_rest.c). */
#ifndef CCAI_CHANNELS_TWILIO_TWILIO_H
#define CCAI_CHANNELS_TWILIO_TWILIO_H

#include "channels/common/channel.h"

extern const Ccai_channel_class Ccai_twilio_channel;

#endif
