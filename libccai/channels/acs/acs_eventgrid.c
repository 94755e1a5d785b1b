/* Event Grid deliveries to the ACS channel (POST /acs/events): the
 * subscription's validation handshake, incoming calls for the bot's number
 * (answered; the caller's recent call resumes), SMS from callers, and
 * recording files once stored (on the call, whatever its state); and the
 * CloudEvents handshake (OPTIONS). When communication_services.
 * event_grid_token is set, ?token= must match. */
#include "channels/acs/acs_channel.h"

#include "core/json.h"
#include "http/auth.h"

#include <stdio.h>
#include <string.h>

/* Incoming calls ----------------------------------------------------------------------------- */

static void incoming_call(Ccai_acs *acs, const Ccai_acs_event *ev)
{
    ccai_ctx *ctx = acs->ctx;
    const char *bot = Ccai_acs_cfg(acs, "communication_services.phone_number");
    if (!ev->to_phone || !Ccai_acs_same_number(ev->to_phone, bot)) {
        Ccai_log(acs->log, CCAI_LOG_INFO, "acs: incoming call for another number, ignored");
        return;
    }
    if (!ev->from_phone) {
        Ccai_log(acs->log, CCAI_LOG_INFO, "acs: incoming call without a caller number, ignored");
        return;
    }
    if (Ccai_acs_find_server_call(acs, ev->server_call_id)) {
        Ccai_log(acs->log, CCAI_LOG_INFO, "acs: incoming call delivered twice, ignored");
        return;
    }
    char plus[40];
    const char *from = ev->from_phone;
    if (*from != '+' && strlen(from) + 2 <= sizeof plus) { /* ACS sends numbers either way */
        snprintf(plus, sizeof plus, "+%s", from);
        from = plus;
    }
    /* The same caller again while we think they are still on the line: the
     * end of that call was lost; it is over now. */
    for (Ccai_acs_call *old = acs->calls; old; old = old->next) {
        if (Ccai_acs_same_number(ccai_call_phone_number(old->call), from) &&
            old->direction == CCAI_INBOUND) {
            Ccai_log(acs->log, CCAI_LOG_WARN, "acs: call %s: the caller rang again; ended",
                     ccai_call_id(old->call));
            if (*old->conn_id && !old->ending) /* should it still be up: not left in silence */
                Ccai_acs_hang_up_zombie(acs, old->conn_id);
            Ccai_acs_call_over(acs, old, "the caller rang again");
            break;
        }
    }
    Ccai_acs_call *a = NULL;
    ccai_status st = Ccai_acs_start_call(acs, from, bot, CCAI_INBOUND, NULL, NULL, &a);
    if (st != CCAI_OK) {
        /* Unanswered, ACS plays its own failure tone; nothing is lost. */
        Ccai_log(acs->log, CCAI_LOG_ERROR, "acs: cannot start the call: %s: %s",
                 ccai_status_str(st), ccai_ctx_errmsg(ctx));
        return;
    }
    Ccai_acs_remember_ids(a, ev->server_call_id, ev->correlation_id);
    char *cb = Ccai_acs_callback_url(acs, a->call);
    Ccai_acs_pend *p = cb ? Ccai_acs_pend_new(acs, a, CCAI_ACS_P_ANSWER) : NULL;
    Ccai_acs_answer_params ap = {
        .incoming_call_context = ev->incoming_call_context,
        .callback_uri = cb,
        .cognitive_services_endpoint =
            Ccai_acs_cfg(acs, "communication_services.cognitive_services_endpoint"),
    };
    if (p && a->audio && !(ap.streaming = Ccai_acs_streaming_for(acs, a->call)).transport_url)
        st = CCAI_ERR_NOMEM;
    else
        st =
            p ? Ccai_acs_call_answer(acs->rest, &ap, Ccai_acs_on_op_done, p, NULL) : CCAI_ERR_NOMEM;
    ccai_free((char *)ap.streaming.transport_url);
    ccai_free(cb);
    if (!Ccai_acs_pend_started(acs, p, st)) {
        Ccai_log(acs->log, CCAI_LOG_ERROR, "acs: cannot answer: %s", ccai_status_str(st));
        Ccai_acs_call_over(acs, a, "could not be answered");
        return;
    }
    Ccai_log(acs->log, CCAI_LOG_INFO, "acs: call %s: answering", ccai_call_id(a->call));
}

/* SMSDeliveryReportReceived of a message we sent: its tag is our reference
 * (acs_sms.c). A report of a message not ours (no tag, another sender on
 * the resource) is logged only. Returns a failure worth a redelivery. */
static CCAI_MUST_CHECK ccai_status delivery_report(Ccai_acs *acs, const Ccai_acs_event *ev)
{
    if (!ev->sms_tag || !ev->sms_delivery_status)
        return CCAI_OK;
    const char *s = ev->sms_delivery_status;
    const char *status = Ccai_strcasecmp(s, "Delivered") == 0 ? "delivered"
                         : Ccai_strcasecmp(s, "Sent") == 0    ? "sent"
                                                              : "failed";
    char detail[300];
    snprintf(detail, sizeof detail, "%s%s%.200s", s, ev->sms_delivery_details ? ": " : "",
             ev->sms_delivery_details ? ev->sms_delivery_details : "");
    ccai_status st = ccai_ctx_sms_status(acs->ctx, ev->sms_tag, ev->sms_message_id, status,
                                         strcmp(status, "delivered") == 0 ? NULL : detail);
    if (st == CCAI_ERR_NOT_FOUND || st == CCAI_ERR_INVALID_ARG) {
        Ccai_log(acs->log, CCAI_LOG_INFO, "acs: SMS %s: not a message of ours (tag %s)",
                 ev->sms_message_id ? ev->sms_message_id : "?", ev->sms_tag);
        return CCAI_OK;
    }
    return st;
}

/* Event Grid ---------------------------------------------------------------------------------- */

/* A recording file is stored: on the call it belongs to, whatever its state
 * (the file comes after the call ended). The subject names the call by its
 * correlationId, sometimes its serverCallId too. */
static CCAI_MUST_CHECK ccai_status recording_stored(Ccai_acs *acs, const Ccai_acs_event *ev)
{
    ccai_ctx *ctx = acs->ctx;
    if (!ev->recording_location)
        return CCAI_OK;
    char *id = NULL;
    ccai_status st = CCAI_ERR_NOT_FOUND;
    if (ev->correlation_id)
        st = ccai_ctx_call_find_provider(ctx, "acs", ev->correlation_id, &id);
    if (st == CCAI_ERR_NOT_FOUND && ev->server_call_id)
        st = ccai_ctx_call_find_provider(ctx, "acs", ev->server_call_id, &id);
    if (st == CCAI_OK)
        st = ccai_ctx_call_set_recording(ctx, id, ev->recording_location, ev->recording_id,
                                         ev->recording_duration_ms);
    if (st == CCAI_OK)
        Ccai_log(acs->log, CCAI_LOG_INFO, "acs: call %s: recording stored", id);
    else if (st == CCAI_ERR_NOT_FOUND)
        Ccai_log(acs->log, CCAI_LOG_WARN, "acs: recording %s of an unknown call (%s)",
                 ev->recording_id ? ev->recording_id : "?",
                 ev->correlation_id ? ev->correlation_id : "no correlation id");
    ccai_free(id);
    return st;
}

/* Parse a delivery's events; on failure answer 400 (500 when out of memory)
 * and return false. what names the delivery in the log and the answer. */
bool Ccai_acs_parse_or_answer(Ccai_acs *acs, ccai_http_exchange *x, const char *what,
                              Ccai_acs_events *list)
{
    char *why = NULL;
    ccai_status st = Ccai_acs_events_parse(x->body, x->body_len, list, &why);
    if (st == CCAI_OK)
        return true;
    Ccai_log(acs->log, CCAI_LOG_WARN, "acs: %s: %s", what, why ? why : ccai_status_str(st));
    Ccai_exchange_error(x, st == CCAI_ERR_NOMEM ? 500 : 400, what, why);
    ccai_free(why);
    return false;
}

/* The subscription's ?token=, when one is configured; answers 401 itself. */
static CCAI_MUST_CHECK bool token_ok(Ccai_acs *acs, ccai_http_exchange *x)
{
    const char *want = Ccai_acs_cfg(acs, "communication_services.event_grid_token");
    if (!want)
        return true;
    char *token = Ccai_exchange_query(x, "token");
    bool ok = token && Ccai_http_secret_equal(token, want);
    ccai_free(token);
    if (!ok) {
        Ccai_log(acs->log, CCAI_LOG_WARN, "acs: Event Grid request without the right token");
        Ccai_exchange_count_rejected(x, "acs", "event_grid_token");
        Ccai_exchange_error(x, 401, "invalid or missing token", NULL);
    }
    return ok;
}

void Ccai_acs_route_events(ccai_http_exchange *x, void *ud)
{
    Ccai_acs *acs = ud;
    ccai_ctx *ctx = acs->ctx;
    if (!acs->rest) {
        Ccai_exchange_error(x, 404, "Azure Communication Services is not configured", NULL);
        return;
    }
    if (!token_ok(acs, x))
        return;
    Ccai_acs_events list = {0};
    if (!Ccai_acs_parse_or_answer(acs, x, "malformed Event Grid delivery", &list))
        return;
    ccai_status st = CCAI_OK;
    /* The handshake answers with its code; nothing else is in that
     * delivery. */
    for (size_t i = 0; i < list.n; i++) {
        const Ccai_acs_event *ev = &list.events[i];
        if (ev->kind == CCAI_ACS_SUBSCRIPTION_VALIDATION) {
            Ccai_log(acs->log, CCAI_LOG_INFO, "acs: Event Grid subscription validated");
            json_t *j = json_pack("{s:s}", "validationResponse", ev->validation_code);
            Ccai_exchange_json(x, 200, j); /* takes j */
            Ccai_acs_events_free(&list);
            return;
        }
    }
    int code = 200;
    for (size_t i = 0; i < list.n; i++) {
        const Ccai_acs_event *ev = &list.events[i];
        switch (ev->kind) {
        case CCAI_ACS_INCOMING_CALL: incoming_call(acs, ev); break;
        case CCAI_ACS_SMS_RECEIVED:
            st = ccai_ctx_sms_inbound(ctx, ev->sms_from, ev->sms_text);
            if (st != CCAI_OK && st != CCAI_ERR_NOT_FOUND && st != CCAI_ERR_VALIDATION &&
                st != CCAI_ERR_LIMIT)
                code = 500; /* Event Grid delivers again */
            break;
        case CCAI_ACS_SMS_DELIVERY_REPORT:
            Ccai_log(acs->log, CCAI_LOG_INFO, "acs: SMS %s: %s",
                     ev->sms_message_id ? ev->sms_message_id : "?",
                     ev->sms_delivery_status ? ev->sms_delivery_status : "?");
            st = delivery_report(acs, ev);
            if (st != CCAI_OK)
                code = 500; /* the store failed: Event Grid delivers again */
            break;
        case CCAI_ACS_RECORDING_FILE_STATUS_UPDATED:
            st = recording_stored(acs, ev);
            if (st != CCAI_OK && st != CCAI_ERR_NOT_FOUND)
                code = 500; /* the store failed: Event Grid delivers again */
            break;
        default:
            Ccai_log(acs->log, CCAI_LOG_DEBUG, "acs: Event Grid %s ignored",
                     Ccai_acs_kind_name(ev->kind));
            break;
        }
    }
    Ccai_acs_events_free(&list);
    if (code == 200)
        Ccai_exchange_respond(x, 200, "application/json", "{}", 2);
    else
        Ccai_exchange_error(x, code, "cannot store the event", ccai_status_str(st));
}

/* OPTIONS /acs/events: the CloudEvents webhook handshake Event Grid makes
 * before delivering in the CloudEvents schema ("abuse protection"): the
 * origin it names is allowed. */
void Ccai_acs_route_events_options(ccai_http_exchange *x, void *ud)
{
    Ccai_acs *acs = ud;
    if (!acs->rest) {
        Ccai_exchange_error(x, 404, "Azure Communication Services is not configured", NULL);
        return;
    }
    if (!token_ok(acs, x))
        return;
    const char *origin = Ccai_exchange_header(x, "WebHook-Request-Origin");
    if (!origin || !*origin) {
        Ccai_exchange_error(x, 400, "WebHook-Request-Origin is required", NULL);
        return;
    }
    if (!Ccai_exchange_add_header(x, "WebHook-Allowed-Origin", origin) ||
        !Ccai_exchange_add_header(x, "WebHook-Allowed-Rate", "*") ||
        !Ccai_exchange_add_header(x, "Allow", "POST, OPTIONS")) {
        Ccai_exchange_error(x, 500, "out of memory", NULL);
        return;
    }
    Ccai_exchange_respond(x, 200, "text/plain", "", 0);
}
