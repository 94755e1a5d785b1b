/* The host's SMS sender (sms.mode "host", ccai_config_set_sms_ops()): each
 * send is a request the host ends with ccai_ctx_sms_done() and the id it
 * was given. Ids, not pointers: an id the provider no longer knows
 * (reported twice, or another context's) is refused, never followed; each
 * provider's ids start at a random point so that another's rarely match. */
#include "sms/sms.h"

#include <string.h>

typedef struct pending {
    uint64_t id;
    Ccai_sms_done_fn done;
    void *ud;
    struct pending *next;
} pending;

typedef struct host {
    Ccai_sms_provider base; /* first */
    ccai_ctx *ctx;
    ccai_sms_ops ops;
    void *ops_ud;
    uint64_t last_id;
    pending *inflight;
} host;

static pending *take(host *h, uint64_t id)
{
    for (pending **pp = &h->inflight; *pp; pp = &(*pp)->next) {
        if ((*pp)->id == id) {
            pending *p = *pp;
            *pp = p->next;
            return p;
        }
    }
    return NULL;
}

static CCAI_MUST_CHECK ccai_status host_send(Ccai_sms_provider *base, const json_t *message,
                                             Ccai_sms_done_fn done, void *ud, char **ret_errmsg)
{
    host *h = (host *)base;
    pending *p = Ccai_calloc(1, sizeof *p);
    if (!p)
        return CCAI_ERR_NOMEM;
    *p = (pending){++h->last_id, done, ud, h->inflight};
    h->inflight = p;
    uint64_t id = p->id;
    int rc = h->ops.send(h->ctx, id, json_string_value(json_object_get(message, "to")),
                         json_string_value(json_object_get(message, "text")), h->ops_ud);
    if (rc == 0)
        return CCAI_OK;
    /* Refused. Unless the host reported the end already (then done fired
     * and the request stands as reported), no callback fires. */
    p = take(h, id);
    if (!p)
        return CCAI_OK;
    ccai_free(p);
    *ret_errmsg = Ccai_strdup("the host's SMS sender refused the message");
    return CCAI_ERR_IO;
}

static void host_free(Ccai_sms_provider *base)
{
    host *h = (host *)base;
    while (h->inflight) {
        pending *p = h->inflight;
        h->inflight = p->next;
        ccai_free(p);
    }
    ccai_free(h);
}

ccai_status Ccai_sms_host_new(ccai_ctx *ctx, const ccai_sms_ops *ops, void *ud,
                              Ccai_sms_provider **ret)
{
    host *h = Ccai_calloc(1, sizeof *h);
    if (!h)
        return CCAI_ERR_NOMEM;
    h->base = (Ccai_sms_provider){"host", NULL, host_send, host_free};
    h->ctx = ctx;
    h->ops = *ops;
    h->ops_ud = ud;
    if (!Ccai_random_bytes(&h->last_id, sizeof h->last_id))
        h->last_id = (uint64_t)(uintptr_t)h;
    h->last_id &= UINT64_C(0xffffffff00000000); /* room to count */
    *ret = &h->base;
    return CCAI_OK;
}

size_t Ccai_sms_host_inflight(const Ccai_sms_provider *base)
{
    size_t n = 0;
    if (base && strcmp(base->name, "host") == 0)
        for (const pending *p = ((const host *)base)->inflight; p; p = p->next)
            n++;
    return n;
}

ccai_status Ccai_sms_host_done(Ccai_sms_provider *base, uint64_t request_id, ccai_status status,
                               bool permanent, const char *errmsg)
{
    if (!base || strcmp(base->name, "host") != 0)
        return CCAI_ERR_STATE;
    pending *p = take((host *)base, request_id);
    if (!p)
        return CCAI_ERR_NOT_FOUND;
    Ccai_sms_done_fn done = p->done;
    void *ud = p->ud;
    ccai_free(p);
    if (status != CCAI_OK && !errmsg)
        errmsg = ccai_status_str(status);
    done(status, NULL, status == CCAI_OK ? NULL : errmsg, status != CCAI_OK && permanent, ud);
    return CCAI_OK;
}
