/* SMS providers: how the engine's durable SMS jobs leave (engine/postcall.c),
 * without the engine knowing the vendor.
 *
 * A provider is a table of functions and its own state. The composition
 * root builds the one sms.mode names and gives it to the engine:
 *   - "outbox" (the default, sms/outbox.c): the job row is the outbox; the
 *     message goes to the log;
 *   - "twilio": Twilio's Messages.json (channels/twilio/twilio_sms.c);
 *   - "communication_services": the ACS SMS API (channels/acs/acs_sms.c);
 *   - "host": the host's own sender (sms/host.c, ccai_config_set_sms_ops()).
 * A channel that can send SMS offers its provider (channels/common/channel.h);
 * sms/outbox.c is the file to copy for a new one.
 *
 * A message is a JSON object, the job's payload: {"to": E.164, "text": ...,
 * "ref": the engine's reference of it} plus what the provider added before
 * the first attempt (prepare). A provider whose service reports delivery
 * asks it to report to us with ref (Twilio's per-message StatusCallback,
 * ACS's delivery report tag); the channel hands the report to
 * ccai_ctx_sms_status(). The
 * engine retries a failed send with backoff, so a provider whose service
 * can tell a repeat from a new message (ACS's repeatability headers) puts
 * the repeat's identity in the message before the first attempt: the
 * engine stores it first (persist, then act), every attempt reuses it. */
#ifndef CCAI_SMS_SMS_H
#define CCAI_SMS_SMS_H

#include "core/common.h"

#include <jansson.h>

typedef struct Ccai_sms_provider Ccai_sms_provider;

/* The end of one send: st CCAI_OK when the service took the message
 * (message_id: the service's id of it, NULL when it gives none), else
 * errmsg says why; permanent: trying again cannot help (the engine gives
 * up rather than retry). */
typedef void (*Ccai_sms_done_fn)(ccai_status st, const char *message_id, const char *errmsg,
                                 bool permanent, void *ud);

struct Ccai_sms_provider {
    const char *name; /* the sms.mode it serves */
    /* May be NULL. Before the first attempt of a message: add to it what
     * every attempt must reuse; *ret_changed when it did (then the engine
     * stores the message before sending it). On failure *ret_errmsg (freed
     * with ccai_free(), may be NULL) says why. */
    CCAI_MUST_CHECK ccai_status (*prepare)(Ccai_sms_provider *p, json_t *message, bool *ret_changed,
                                           char **ret_errmsg);
    /* Send one message; done fires exactly once unless this returns an
     * error (then *ret_errmsg, freed with ccai_free(), may say why). */
    CCAI_MUST_CHECK ccai_status (*send)(Ccai_sms_provider *p, const json_t *message,
                                        Ccai_sms_done_fn done, void *ud, char **ret_errmsg);
    /* Cancel the sends in flight (no callback fires) and free. */
    void (*free)(Ccai_sms_provider *p);
};

/* The default provider: the message is logged at debug level (the job row
 * in the store is the outbox) and counts as sent. */
CCAI_MUST_CHECK ccai_status Ccai_sms_outbox_new(const Ccai_logger *log, Ccai_sms_provider **ret);

/* The host's sender (sms.mode "host", ccai_config_set_sms_ops(), copied);
 * its requests end with Ccai_sms_host_done() (ccai_ctx_sms_done()). */
CCAI_MUST_CHECK ccai_status Ccai_sms_host_new(ccai_ctx *ctx, const ccai_sms_ops *ops, void *ud,
                                              Ccai_sms_provider **ret);
/* End request @p request_id of @p p. CCAI_ERR_STATE when @p p is not the
 * host's, CCAI_ERR_NOT_FOUND when the request is not in flight. */
CCAI_MUST_CHECK ccai_status Ccai_sms_host_done(Ccai_sms_provider *p, uint64_t request_id,
                                               ccai_status status, bool permanent,
                                               const char *errmsg);

/* How many requests of the host's sender are in flight (0 for another
 * provider): work the context waits for (ccai_ctx_busy()). */
size_t Ccai_sms_host_inflight(const Ccai_sms_provider *p);

/* Free a provider; NULL accepted. */
void Ccai_sms_provider_free(Ccai_sms_provider *p);

#endif
