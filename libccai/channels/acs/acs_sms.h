/* The ACS SMS API as an SMS provider (channels/acs/acs_sms.c). */
#ifndef CCAI_CHANNELS_ACS_ACS_SMS_H
#define CCAI_CHANNELS_ACS_ACS_SMS_H

#include "sms/sms.h"

/* sms.mode communication_services: the client is made from
 * communication_services.* on the first send (a configuration error fails
 * that send, with the reason). */
CCAI_MUST_CHECK ccai_status Ccai_acs_sms_new(ccai_ctx *ctx, const ccai_config *cfg,
                                             Ccai_sms_provider **ret);

#endif
