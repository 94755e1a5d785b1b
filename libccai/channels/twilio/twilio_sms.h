/* Twilio's Messages.json as an SMS provider (channels/twilio/twilio_sms.c). */
#ifndef CCAI_CHANNELS_TWILIO_TWILIO_SMS_H
#define CCAI_CHANNELS_TWILIO_TWILIO_SMS_H

#include "sms/sms.h"

/* sms.mode twilio. Without twilio.account_sid every send fails, saying so.
 * Statuses: CCAI_OK; CCAI_ERR_CONFIG (twilio.* malformed, reason in
 * ccai_ctx_errmsg()); CCAI_ERR_NOMEM. */
CCAI_MUST_CHECK ccai_status Ccai_twilio_sms_new(ccai_ctx *ctx, const ccai_config *cfg,
                                                Ccai_sms_provider **ret);

#endif
