/* The ACS SMS API as the SMS provider (sms.mode communication_services).
 *
 * The message's repeatability id and first-sent time are made before the
 * first attempt (prepare) and stored with the job by the engine: every
 * retry (after a 5xx, a time-out, a restart) is then a repeat ACS
 * recognises, never a second SMS. */
#include "channels/acs/acs_sms.h"

#include "channels/acs/acs_rest.h"
#include "channels/acs/acs_sig.h"

#include <string.h>

typedef struct sending {
    struct sending *next;
    struct acs_sms *owner;
    Ccai_sms_done_fn done;
    void *ud;
} sending;

typedef struct acs_sms {
    Ccai_sms_provider base; /* first */
    ccai_ctx *ctx;
    const ccai_config *cfg;
    Ccai_acs_rest *rest; /* made on first use */
    sending *sends;      /* in flight */
} acs_sms;

static CCAI_MUST_CHECK ccai_status acs_prepare(Ccai_sms_provider *p, json_t *message,
                                               bool *ret_changed, char **ret_errmsg)
{
    CCAI_UNUSED(p);
    *ret_changed = false;
    if (json_is_string(json_object_get(message, "repeatability_id")) &&
        json_is_string(json_object_get(message, "repeatability_first_sent")))
        return CCAI_OK;
    char id[37], date[32];
    if (!Ccai_uuid4(id)) {
        *ret_errmsg = Ccai_strdup(ccai_status_str(CCAI_ERR_INTERNAL));
        return CCAI_ERR_INTERNAL;
    }
    Ccai_acs_format_date(Ccai_wall_ms(), date);
    if (json_object_set_new(message, "repeatability_id", json_string(id)) ||
        json_object_set_new(message, "repeatability_first_sent", json_string(date)))
        return CCAI_ERR_NOMEM;
    *ret_changed = true;
    return CCAI_OK;
}

static void on_sent(ccai_status st, const Ccai_acs_result *res, void *ud)
{
    sending *s = ud;
    for (sending **q = &s->owner->sends; *q; q = &(*q)->next) {
        if (*q == s) {
            *q = s->next;
            break;
        }
    }
    const char *why = st == CCAI_OK        ? NULL
                      : res->error_message ? res->error_message
                                           : "acs: failed";
    /* 412: the first attempt is older than ACS's repeatability window, so
     * ACS cannot tell whether it sent it: sending it anew could send it
     * twice. */
    bool permanent = st != CCAI_OK && res->http_status == 412;
    Ccai_sms_done_fn done = s->done;
    void *done_ud = s->ud;
    ccai_free(s);
    done(st, st == CCAI_OK ? res->id : NULL, why, permanent, done_ud);
}

static CCAI_MUST_CHECK ccai_status acs_send(Ccai_sms_provider *p, const json_t *message,
                                            Ccai_sms_done_fn done, void *ud, char **ret_errmsg)
{
    acs_sms *a = (acs_sms *)p;
    ccai_status st = a->rest ? CCAI_OK : Ccai_acs_rest_from_config(a->ctx, a->cfg, &a->rest);
    if (st != CCAI_OK) {
        *ret_errmsg =
            Ccai_strdup(st == CCAI_ERR_CONFIG ? ccai_ctx_errmsg(a->ctx) : ccai_status_str(st));
        return st;
    }
    sending *s = Ccai_calloc(1, sizeof *s);
    if (!s)
        return CCAI_ERR_NOMEM;
    *s = (sending){a->sends, a, done, ud};
    Ccai_acs_sms_params sp = {
        .to = json_string_value(json_object_get(message, "to")),
        .message = json_string_value(json_object_get(message, "text")),
        .repeat_id = json_string_value(json_object_get(message, "repeatability_id")),
        .repeat_first_sent =
            json_string_value(json_object_get(message, "repeatability_first_sent")),
        /* The delivery report comes back through Event Grid with our
         * reference (acs_eventgrid.c). */
        .delivery_report = json_is_string(json_object_get(message, "ref")),
        .tag = json_string_value(json_object_get(message, "ref")),
    };
    st = Ccai_acs_sms_send(a->rest, &sp, on_sent, s, NULL);
    if (st != CCAI_OK) {
        ccai_free(s);
        *ret_errmsg = Ccai_strdup(ccai_status_str(st));
        return st;
    }
    a->sends = s;
    return CCAI_OK;
}

static void acs_free(Ccai_sms_provider *p)
{
    acs_sms *a = (acs_sms *)p;
    /* Freeing the client cancels its operations without callbacks. */
    Ccai_acs_rest_free(a->rest);
    while (a->sends) {
        sending *s = a->sends;
        a->sends = s->next;
        ccai_free(s);
    }
    ccai_free(a);
}

ccai_status Ccai_acs_sms_new(ccai_ctx *ctx, const ccai_config *cfg, Ccai_sms_provider **ret)
{
    acs_sms *a = Ccai_calloc(1, sizeof *a);
    if (!a)
        return CCAI_ERR_NOMEM;
    a->base = (Ccai_sms_provider){"communication_services", acs_prepare, acs_send, acs_free};
    a->ctx = ctx;
    a->cfg = cfg;
    *ret = &a->base;
    return CCAI_OK;
}
