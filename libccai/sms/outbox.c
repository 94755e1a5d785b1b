/* The default SMS provider: no service, the job row is the outbox. */
#include "sms/sms.h"

typedef struct outbox {
    Ccai_sms_provider base; /* first */
    const Ccai_logger *log;
} outbox;

static CCAI_MUST_CHECK ccai_status outbox_send(Ccai_sms_provider *p, const json_t *message,
                                               Ccai_sms_done_fn done, void *ud, char **ret_errmsg)
{
    CCAI_UNUSED(ret_errmsg);
    outbox *o = (outbox *)p;
    Ccai_log(o->log, CCAI_LOG_DEBUG, "sms to %s (outbox, no SMS provider): %s",
             json_string_value(json_object_get(message, "to")),
             json_string_value(json_object_get(message, "text")));
    done(CCAI_OK, NULL, NULL, false, ud);
    return CCAI_OK;
}

static void outbox_free(Ccai_sms_provider *p)
{
    ccai_free(p);
}

ccai_status Ccai_sms_outbox_new(const Ccai_logger *log, Ccai_sms_provider **ret)
{
    outbox *o = Ccai_calloc(1, sizeof *o);
    if (!o)
        return CCAI_ERR_NOMEM;
    o->base = (Ccai_sms_provider){"none", NULL, outbox_send, outbox_free};
    o->log = log;
    *ret = &o->base;
    return CCAI_OK;
}

void Ccai_sms_provider_free(Ccai_sms_provider *p)
{
    if (p)
        p->free(p);
}
