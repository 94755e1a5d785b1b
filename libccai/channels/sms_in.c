/* Inbound SMS: to the caller's live call, else stored on their latest call. */
#include "channels/sms_in.h"

#include "engine/engine.h"

#include <stdio.h>
#include <string.h>

const char *Ccai_phone_plus(const char *number, char *buf, size_t n)
{
    if (*number == '+' || strlen(number) + 2 > n)
        return number;
    snprintf(buf, n, "+%s", number);
    return buf;
}

ccai_status Ccai_sms_inbound(ccai_ctx *ctx, const char *from, const char *body)
{
    if (!ctx || !from || !body)
        return CCAI_ERR_INVALID_ARG;
    char plus[40];
    from = Ccai_phone_plus(from, plus, sizeof plus);
    char *phone = NULL;
    ccai_status st = ccai_field_validate(CCAI_FIELD_PHONE_NUMBER, from, &phone, NULL);
    if (st != CCAI_OK) {
        Ccai_log(&ctx->log, CCAI_LOG_INFO, "sms: from a malformed number, dropped");
        return st == CCAI_ERR_NOMEM ? st : CCAI_ERR_VALIDATION;
    }
    for (ccai_call *c = ctx->calls; c; c = c->next) {
        if (c->state != CCAI_CALL_ENDED && strcmp(c->row.phone_number, phone) == 0) {
            ccai_event *ev = NULL;
            st = ccai_event_new(CCAI_EVENT_SMS, &ev);
            if (st == CCAI_OK)
                st = ccai_event_set_text(ev, body);
            if (st == CCAI_OK)
                st = ccai_event_set_from(ev, phone);
            if (st == CCAI_OK)
                st = ccai_on_event(c, ev);
            ccai_event_free(ev);
            ccai_free(phone);
            return st;
        }
    }
    Ccai_store_call *row = NULL;
    st = Ccai_store_call_find_latest(ctx->store, phone, 0, &row);
    if (st == CCAI_OK) {
        Ccai_store_message m = {.persona = "human",
                                .action = "sms",
                                .style = "none",
                                .content = body,
                                .lang = row->lang};
        st = Ccai_store_message_append(ctx->store, row->id, &m, NULL);
    }
    if (st == CCAI_ERR_NOT_FOUND)
        Ccai_log(&ctx->log, CCAI_LOG_INFO, "sms: from a number with no call, dropped");
    Ccai_store_call_free(row);
    ccai_free(phone);
    return st;
}
