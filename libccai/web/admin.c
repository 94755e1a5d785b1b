/* The admin routes: the feature flags at run time (GET and PATCH
 * /admin/flags), through the public API as a host would. */
#include "web/web.h"

#include "http/exchange.h"

void Ccai_admin_flags_get(ccai_http_exchange *x, void *ud)
{
    CCAI_UNUSED(ud);
    char *json = NULL;
    ccai_status st = ccai_ctx_flags_get_json(x->ctx, &json);
    if (st == CCAI_OK)
        Ccai_exchange_json_text(x, 200, json);
    else
        Ccai_exchange_fail(x, st, "cannot read the flags", NULL);
    ccai_free(json);
}

void Ccai_admin_flags_patch(ccai_http_exchange *x, void *ud)
{
    CCAI_UNUSED(ud);
    char *text = Ccai_strndup(x->body ? x->body : "", x->body_len);
    ccai_status st = text ? ccai_ctx_flags_set_json(x->ctx, text) : CCAI_ERR_NOMEM;
    ccai_free(text);
    if (st == CCAI_ERR_PARSE) {
        Ccai_exchange_error(x, 400, "invalid JSON body", ccai_ctx_errmsg(x->ctx));
        return;
    }
    if (st == CCAI_ERR_VALIDATION) {
        Ccai_exchange_error(x, 422, "invalid flags", ccai_ctx_errmsg(x->ctx));
        return;
    }
    if (st != CCAI_OK) {
        Ccai_exchange_fail(x, st, "cannot set the flags", NULL);
        return;
    }
    Ccai_admin_flags_get(x, ud);
}
