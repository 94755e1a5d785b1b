/* The Twilio voice and SMS channel (channels/twilio.c). */
#ifndef CCAI_CHANNELS_TWILIO_H
#define CCAI_CHANNELS_TWILIO_H

#include "http/router.h"

typedef struct Ccai_twilio Ccai_twilio;

/* Set up when twilio.account_sid is configured (else nothing happens). */
ccai_status Ccai_twilio_init(ccai_ctx *ctx);
/* Ends the live Twilio calls (their handles) and frees the channel. */
void Ccai_twilio_free(ccai_ctx *ctx);

/* Webhook routes (POST /twilio/voice, gather, next, dial, status,
 * recording, sms): each checks X-Twilio-Signature against
 * server.public_url; per-call routes also the call's secret. */
extern const Ccai_route Ccai_twilio_routes[];
extern const size_t Ccai_twilio_n_routes;

/* Place an outbound call (POST /call): the call is stored at once, Twilio
 * is asked to dial; *ret_call_id (freed with ccai_free()) names it.
 * CCAI_ERR_UNSUPPORTED when Twilio is not configured. */
ccai_status Ccai_twilio_place_call(ccai_ctx *ctx, const char *initiate_json, const char *to,
                                   char **ret_call_id);

#endif
