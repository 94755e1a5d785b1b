/* Inbound SMS, whatever the provider (channels/sms_in.c). */
#ifndef CCAI_CHANNELS_SMS_IN_H
#define CCAI_CHANNELS_SMS_IN_H

#include "core/common.h"

/* An SMS from a caller: a live call with that number reads it on its next
 * turn; otherwise it is stored on the caller's latest call. from may lack
 * its '+' (ACS sends numbers either way).
 * Statuses: CCAI_OK (given to a call or stored); CCAI_ERR_NOT_FOUND (no call
 * with that number) and CCAI_ERR_VALIDATION (from is not a phone number):
 * dropped and logged, nothing to retry; store errors and CCAI_ERR_NOMEM:
 * worth a retry by the provider. */
ccai_status Ccai_sms_inbound(ccai_ctx *ctx, const char *from, const char *body);

/* number with its leading '+' ("33612345678" -> "+33612345678"; ACS sends
 * numbers either way): number itself, or buf holding the prefixed copy. A
 * number too long for buf is returned as it is (validation refuses it). */
const char *Ccai_phone_plus(const char *number, char *buf, size_t n);

#endif
