/* Twilio's Messages.json as the SMS provider (sms.mode twilio). */
#include "channels/twilio/twilio_sms.h"

#include "channels/twilio/twilio_rest.h"
#include "config/config.h"
#include "http/exchange.h"

typedef struct sending {
    struct sending *next;
    struct tw_sms *owner;
    Ccai_sms_done_fn done;
    void *ud;
} sending;

typedef struct tw_sms {
    Ccai_sms_provider base; /* first */
    Ccai_twilio_rest *rest; /* NULL: twilio.account_sid is not configured */
    const ccai_config *cfg;
    sending *sends; /* in flight */
} tw_sms;

static void on_sent(ccai_status st, const Ccai_twilio_result *res, void *ud)
{
    sending *s = ud;
    for (sending **q = &s->owner->sends; *q; q = &(*q)->next) {
        if (*q == s) {
            *q = s->next;
            break;
        }
    }
    Ccai_sms_done_fn done = s->done;
    void *done_ud = s->ud;
    ccai_free(s);
    done(st, st == CCAI_OK && res ? res->sid : NULL,
         st == CCAI_OK               ? NULL
         : res && res->error_message ? res->error_message
                                     : ccai_status_str(st),
         false, done_ud);
}

static CCAI_MUST_CHECK ccai_status tw_send(Ccai_sms_provider *p, const json_t *message,
                                           Ccai_sms_done_fn done, void *ud, char **ret_errmsg)
{
    tw_sms *t = (tw_sms *)p;
    if (!t->rest) {
        *ret_errmsg = Ccai_strdup("sms.mode is twilio but twilio.account_sid is not configured");
        return CCAI_ERR_UNSUPPORTED;
    }
    sending *s = Ccai_calloc(1, sizeof *s);
    if (!s)
        return CCAI_ERR_NOMEM;
    *s = (sending){t->sends, t, done, ud};
    /* The message's status callbacks come back with our reference, signed
     * as the other webhooks (route_sms_status, twilio.c). */
    const char *ref = json_string_value(json_object_get(message, "ref"));
    const char *base = Ccai_config_str(t->cfg, "server.public_url");
    char *status_url = ref && base && *base
                           ? Ccai_http_public_url(t->cfg, "/twilio/sms-status?ref=%s", ref)
                           : NULL;
    Ccai_twilio_sms_params sp = {.to = json_string_value(json_object_get(message, "to")),
                                 .body = json_string_value(json_object_get(message, "text")),
                                 .status_callback = status_url};
    ccai_status st = Ccai_twilio_sms_send(t->rest, &sp, on_sent, s, NULL);
    ccai_free(status_url);
    if (st != CCAI_OK) {
        ccai_free(s);
        *ret_errmsg = Ccai_strdup(ccai_status_str(st));
        return st;
    }
    t->sends = s;
    return CCAI_OK;
}

static void tw_free(Ccai_sms_provider *p)
{
    tw_sms *t = (tw_sms *)p;
    /* Freeing the client cancels its operations without callbacks. */
    Ccai_twilio_rest_free(t->rest);
    while (t->sends) {
        sending *s = t->sends;
        t->sends = s->next;
        ccai_free(s);
    }
    ccai_free(t);
}

ccai_status Ccai_twilio_sms_new(ccai_ctx *ctx, const ccai_config *cfg, Ccai_sms_provider **ret)
{
    tw_sms *t = Ccai_calloc(1, sizeof *t);
    if (!t)
        return CCAI_ERR_NOMEM;
    t->base = (Ccai_sms_provider){"twilio", NULL, tw_send, tw_free};
    t->cfg = cfg;
    const char *sid = Ccai_config_str(cfg, "twilio.account_sid");
    ccai_status st = sid && *sid ? Ccai_twilio_rest_from_config(ctx, cfg, &t->rest) : CCAI_OK;
    if (st != CCAI_OK) {
        ccai_free(t);
        return st;
    }
    *ret = &t->base;
    return CCAI_OK;
}
