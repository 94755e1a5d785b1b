/* The local channel over HTTP: a text call through the server, so that the
 * whole stack (HTTP, engine, store, report) runs without a phone provider.
 *
 *   POST /chat               {"phone_number"?, "lang"?}   -> the greeting
 *   POST /chat/{id}          {"text"} | {"dtmf"} | {"sms"} | {"silence": true}
 *                            | {"hangup": true}            -> the bot's answer
 *   POST /chat/{id}/next                                   -> more of it
 *
 * An answer is {"call_id", "say": [{"text","style","lang"}], "more": bool,
 * "listening": bool, "ended": bool, "transfer": "+33..."|null}. It comes as
 * soon as the bot said something: with "more" true the client asks
 * /next for the rest (sentences stream while the LLM writes). */
#include "channels/chat_http.h"

#include "channels/outbox.h"
#include "core/json.h"
#include "engine/engine.h"
#include "web/web.h"

#include <stdio.h>
#include <string.h>

typedef struct chat_call {
    struct chat_call *next;
    ccai_ctx *ctx;
    ccai_call *call;
    Ccai_outbox out;
    Ccai_timer end; /* ends the call once a hang-up or transfer went out */
    bool transfer_ok;
} chat_call;

static chat_call **list_of(ccai_ctx *ctx)
{
    return (chat_call **)&ctx->chats;
}

static void chat_free(chat_call *ch)
{
    for (chat_call **p = list_of(ch->ctx); *p; p = &(*p)->next) {
        if (*p == ch) {
            *p = ch->next;
            break;
        }
    }
    Ccai_timer_stop(ch->ctx, &ch->end);
    Ccai_outbox_free(&ch->out);
    ccai_call_free(ch->call);
    ccai_free(ch);
}

static void send_event(chat_call *ch, ccai_event_type type, const char *text)
{
    ccai_event *ev = NULL;
    if (ccai_event_new(type, &ev) != CCAI_OK)
        return;
    if (!text || ccai_event_set_text(ev, text) == CCAI_OK)
        ccai_on_event(ch->call, ev);
    ccai_event_free(ev);
}

/* The bot hung up or transferred, and the client was told: end the call
 * outside the engine's callbacks. */
static void on_end(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    chat_call *ch = ud;
    if (ch->transfer_ok)
        send_event(ch, CCAI_EVENT_TRANSFER_OK, "http chat");
    else
        send_event(ch, CCAI_EVENT_HANGUP, "the bot hung up");
    chat_free(ch);
}

static void render_json(Ccai_outbox *o, ccai_http_exchange *x, void *ud)
{
    chat_call *ch = ud;
    json_t *say = json_array();
    for (size_t i = 0; say && i < o->n; i++)
        json_array_append_new(say, json_pack("{s:s, s:s, s:s}", "text", o->text[i], "style",
                                             ccai_style_str(o->style[i]), "lang", o->lang[i]));
    bool ended = o->hangup || o->dial;
    json_t *doc =
        say ? json_pack("{s:s, s:o, s:b, s:b, s:b, s:s?}", "call_id", ccai_call_id(ch->call), "say",
                        say, "more", !o->listening && !ended, "listening", o->listening && !ended,
                        "ended", ended, "transfer", o->dial)
            : NULL;
    if (ended) {
        ch->transfer_ok = o->dial != NULL;
        Ccai_timer_start(ch->ctx, &ch->end, 0);
    }
    Ccai_outbox_reset(o);
    Ccai_web_json(x, 200, doc);
}

static int op_say(ccai_call *c, const ccai_speech *sp, void *ud)
{
    CCAI_UNUSED(c);
    return Ccai_outbox_say(&((chat_call *)ud)->out, sp);
}

static int op_listen(ccai_call *c, const char *lang, void *ud)
{
    CCAI_UNUSED(c);
    CCAI_UNUSED(lang);
    Ccai_outbox_listen(&((chat_call *)ud)->out);
    return 0;
}

static int op_stop(ccai_call *c, void *ud)
{
    CCAI_UNUSED(c);
    Ccai_outbox_clear(&((chat_call *)ud)->out);
    return 0;
}

static int op_transfer(ccai_call *c, const char *number, void *ud)
{
    CCAI_UNUSED(c);
    return Ccai_outbox_transfer(&((chat_call *)ud)->out, number);
}

static int op_hangup(ccai_call *c, void *ud)
{
    CCAI_UNUSED(c);
    Ccai_outbox_hangup(&((chat_call *)ud)->out);
    return 0;
}

static const ccai_call_ops chat_ops = {
    CCAI_CALL_OPS_VERSION, op_say, op_stop, op_listen, op_transfer, op_hangup, NULL, NULL, NULL,
};

static json_t *body_json(ccai_http_exchange *x, bool required)
{
    if (!x->body_len && !required)
        return json_object();
    Ccai_json_err e;
    ccai_status st;
    json_t *v = Ccai_json_load(x->body, x->body_len, &e, &st);
    if (!json_is_object(v)) {
        json_decref(v);
        Ccai_web_error(x, 400, "invalid JSON body", "expected a JSON object");
        return NULL;
    }
    return v;
}

static chat_call *find(ccai_http_exchange *x)
{
    const char *id = Ccai_web_param(x, 0);
    for (chat_call *ch = *list_of(x->ctx); ch; ch = ch->next) {
        if (strcmp(ccai_call_id(ch->call), id) == 0)
            return ch;
    }
    Ccai_web_error(x, 404, "no such chat", id);
    return NULL;
}

void Ccai_chat_start(ccai_http_exchange *x)
{
    json_t *body = body_json(x, false);
    if (!body)
        return;
    const char *phone = json_string_value(json_object_get(body, "phone_number"));
    const char *lang = json_string_value(json_object_get(body, "lang"));
    char initiate[96] = "";
    if (lang && strlen(lang) < 32)
        snprintf(initiate, sizeof initiate, "{\"lang\":{\"default_short_code\":\"%s\"}}", lang);
    chat_call *ch = Ccai_calloc(1, sizeof *ch);
    if (!ch) {
        json_decref(body);
        Ccai_web_error(x, 500, "out of memory", NULL);
        return;
    }
    ch->ctx = x->ctx;
    Ccai_outbox_init(&ch->out, render_json, ch);
    Ccai_timer_init(&ch->end, on_end, ch);
    ccai_call_params p = {CCAI_CALL_PARAMS_VERSION,
                          CCAI_INBOUND,
                          phone ? phone : "+33612345678",
                          NULL,
                          "http-chat",
                          NULL,
                          *initiate ? initiate : NULL,
                          NULL,
                          0};
    ccai_status st = ccai_call_start(x->ctx, &p, &chat_ops, ch, &ch->call);
    json_decref(body);
    if (st != CCAI_OK) {
        ccai_free(ch);
        Ccai_web_error(x, st == CCAI_ERR_NOMEM ? 500 : 400, "cannot start the chat",
                       ccai_ctx_errmsg(x->ctx));
        return;
    }
    ch->call->channel_silence = true; /* the client says when there was silence */
    ch->next = *list_of(x->ctx);
    *list_of(x->ctx) = ch;
    send_event(ch, CCAI_EVENT_CONNECTED, NULL);
    Ccai_outbox_answer_or_wait(&ch->out, x);
}

void Ccai_chat_say(ccai_http_exchange *x)
{
    chat_call *ch = find(x);
    if (!ch)
        return;
    json_t *body = body_json(x, true);
    if (!body)
        return;
    const char *text = json_string_value(json_object_get(body, "text"));
    const char *dtmf = json_string_value(json_object_get(body, "dtmf"));
    const char *sms = json_string_value(json_object_get(body, "sms"));
    if (json_is_true(json_object_get(body, "hangup"))) {
        json_decref(body);
        send_event(ch, CCAI_EVENT_HANGUP, "the caller hung up");
        json_t *doc =
            json_pack("{s:s, s:[], s:b, s:b, s:b, s:n}", "call_id", ccai_call_id(ch->call), "say",
                      "more", 0, "listening", 0, "ended", 1, "transfer");
        chat_free(ch);
        Ccai_web_json(x, 200, doc);
        return;
    }
    /* The bot's earlier words were delivered: what comes next is new. */
    send_event(ch, CCAI_EVENT_SAY_DONE, NULL);
    if (text && *text)
        send_event(ch, CCAI_EVENT_SPEECH, text);
    else if (dtmf && *dtmf)
        send_event(ch, CCAI_EVENT_DTMF, dtmf);
    else if (sms && *sms)
        send_event(ch, CCAI_EVENT_SMS, sms);
    else if (json_is_true(json_object_get(body, "silence")))
        send_event(ch, CCAI_EVENT_SILENCE_TIMEOUT, NULL);
    else {
        json_decref(body);
        Ccai_web_error(x, 400, "invalid body",
                       "one of text, dtmf, sms, silence: true, hangup: true");
        return;
    }
    json_decref(body);
    if (sms && !(text && *text)) {
        /* An SMS is read by the next turn: nothing to wait for. */
        Ccai_outbox_listen(&ch->out);
    }
    Ccai_outbox_answer_or_wait(&ch->out, x);
}

void Ccai_chat_next(ccai_http_exchange *x)
{
    chat_call *ch = find(x);
    if (ch)
        Ccai_outbox_answer_or_wait(&ch->out, x);
}

void Ccai_chat_ctx_cleanup(ccai_ctx *ctx)
{
    while (*list_of(ctx))
        chat_free(*list_of(ctx));
}
