/* The local channel over HTTP: a text call through the server, so that the
 * whole stack (HTTP, engine, store, report) runs without a phone provider.
 *
 *   POST /chat               {"phone_number"?, "lang"?}   -> the greeting
 *   POST /chat/{id}          {"text"} | {"dtmf"} | {"sms"} | {"silence": true}
 *                            | {"hangup": true}            -> the bot's answer
 *   POST /chat/{id}/next                                   -> more of it
 *
 * An answer is {"call_id", "say": [{"text","style","lang"}], "more": bool,
 * "listening": bool, "ended": bool, "transfer": "+33..."|null, "seq": N}. It
 * comes as soon as the bot said something: with "more" true the client asks
 * /next for the rest (sentences stream while the LLM writes).
 *
 * Nothing the bot says is lost to the client:
 *  - a request that is cancelled (the client closed its connection) takes
 *    nothing with it: what the bot says meanwhile waits for the next one;
 *  - "seq" counts the sentences handed out so far; a client that sends it
 *    back as "after" on its next request (any of the above) gets again the
 *    sentences handed to a request it never saw the answer of (a connection
 *    that died silently). Without "after", everything handed out counts as
 *    received.
 *
 * A chat is a call like any other: the engine's silence timer runs, so a
 * client that goes away ends its call with the goodbye of the silence rules.
 * Once the call is over, the chat keeps what the client did not get yet for
 * one silence timeout, then goes. server.max_chats caps the chats open. */
#include "channels/chat/chat_http.h"

#include "channels/common/outbox.h"
#include "config/config.h"
#include "core/json.h"
#include "http/router.h"
#include "io/io.h"

#include <stdio.h>
#include <string.h>

/* Sentences kept for a client that may have missed them: the oldest go
 * beyond this. */
#define CHAT_KEEP_MAX 128
/* Ending a call whose store fails: tries, one a second. */
#define CHAT_END_TRIES 30
/* CONNECTED handed again after this long, doubling (with jitter), while the
 * database stays locked: the router's held requests' backoff. */
#define CHAT_CONNECT_FIRST_MS 25
#define CHAT_CONNECT_MAX_MS   400

/* A sentence handed to a request, kept until the client acknowledges it. */
typedef struct chat_line {
    char *text;
    char *lang;
    ccai_style style;
} chat_line;

typedef struct Ccai_chat Ccai_chat;

typedef struct chat_call {
    struct chat_call *next;
    Ccai_chat *chat;
    ccai_ctx *ctx;
    ccai_call *call; /* NULL once the call is over (the chat lingers) */
    char id[40];
    Ccai_outbox out; /* what the bot did that no request took yet */
    chat_line *kept; /* handed out, not acknowledged: sentences seq - n_kept + 1 .. seq */
    size_t n_kept;
    uint64_t seq;      /* sentences handed out */
    bool listening;    /* the bot waits for the caller */
    bool ended;        /* the bot hung up or transferred */
    char *transfer;    /* where to */
    bool waiting_acks; /* the waiting request sent "after" */
    bool release;      /* the client was told the end: go */
    int end_tries;     /* ending the call failed (store) this many times */
    Ccai_timer end;    /* ends the call, then the chat */
    /* Stored, not yet connected: CONNECTED met a database locked by another
     * process (connect_again()). */
    bool connecting;
    unsigned connect_tries;
    uint64_t connect_since;
    Ccai_timer connect;
} chat_call;

/* The channel: its open chats. */
struct Ccai_chat {
    ccai_ctx *ctx;
    const ccai_config *cfg;
    chat_call *chats;
};

static void drop_kept(chat_call *ch, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ccai_free(ch->kept[i].text);
        ccai_free(ch->kept[i].lang);
    }
    memmove(ch->kept, ch->kept + n, (ch->n_kept - n) * sizeof *ch->kept);
    ch->n_kept -= n;
}

static void chat_free(chat_call *ch)
{
    for (chat_call **p = &ch->chat->chats; *p; p = &(*p)->next) {
        if (*p == ch) {
            *p = ch->next;
            break;
        }
    }
    Ccai_timer_stop(ch->ctx, &ch->end);
    Ccai_timer_stop(ch->ctx, &ch->connect);
    Ccai_outbox_free(&ch->out);
    drop_kept(ch, ch->n_kept);
    ccai_free(ch->kept);
    ccai_free(ch->transfer);
    ccai_call_free(ch->call);
    ccai_free(ch);
}

static uint64_t linger_ms(const chat_call *ch)
{
    return (uint64_t)Ccai_config_int(ch->chat->cfg, "conversation.phone_silence_timeout_sec", 20) *
           1000u;
}

/* Run on_end in ms; idle: it waits for the client, no work in flight. */
static void schedule_end(chat_call *ch, uint64_t ms, bool idle)
{
    Ccai_timer_stop(ch->ctx, &ch->end);
    Ccai_timer_set_idle(&ch->end, idle);
    Ccai_timer_start(ch->ctx, &ch->end, ms);
}

/* The bot hung up or transferred: end the call outside the engine's
 * callbacks; then the chat waits for the client (or goes if it was told). */
static void on_end(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    chat_call *ch = ud;
    if (ch->call) {
        ccai_status st = ch->transfer
                             ? ccai_call_notify(ch->call, CCAI_EVENT_TRANSFER_OK, "http chat")
                             : ccai_call_notify(ch->call, CCAI_EVENT_HANGUP, "the bot hung up");
        if ((st == CCAI_ERR_STORE || st == CCAI_ERR_BUSY) && ++ch->end_tries < CHAT_END_TRIES) {
            schedule_end(ch, 1000, false);
            return;
        }
        ccai_call_free(ch->call);
        ch->call = NULL;
        if (!ch->release) {
            schedule_end(ch, linger_ms(ch), true);
            return;
        }
    }
    chat_free(ch);
}

/* Hand the queued sentences to x, with every one the client may have
 * missed, and the bot's state. */
static void answer(chat_call *ch, ccai_http_exchange *x, bool acks)
{
    Ccai_outbox *o = &ch->out;
    /* o->n <= CCAI_OUTBOX_MAX < CHAT_KEEP_MAX: the excess is all kept. */
    if (ch->n_kept + o->n > CHAT_KEEP_MAX)
        drop_kept(ch, ch->n_kept + o->n - CHAT_KEEP_MAX);
    chat_line *kept = Ccai_realloc(ch->kept, (ch->n_kept + o->n + 1) * sizeof *kept);
    if (!kept) {
        Ccai_exchange_error(x, 500, "out of memory", NULL);
        return;
    }
    ch->kept = kept;
    for (size_t i = 0; i < o->n; i++) {
        kept[ch->n_kept++] = (chat_line){o->text[i], o->lang[i], o->style[i]};
        ccai_free(o->voice[i]);
        ch->seq++;
    }
    o->n = 0;
    Ccai_outbox_reset(o);
    json_t *say = json_array();
    for (size_t i = 0; say && i < ch->n_kept; i++)
        json_array_append_new(say, json_pack("{s:s, s:s, s:s}", "text", kept[i].text, "style",
                                             ccai_style_str(kept[i].style), "lang", kept[i].lang));
    bool listening = ch->listening && !ch->ended;
    json_t *doc =
        say ? json_pack("{s:s, s:o, s:b, s:b, s:b, s:s?, s:I}", "call_id", ch->id, "say", say,
                        "more", !listening && !ch->ended, "listening", listening, "ended",
                        ch->ended, "transfer", ch->transfer, "seq", (json_int_t)ch->seq)
            : NULL;
    /* A client that does not acknowledge got it all, as far as we know. */
    if (!acks)
        drop_kept(ch, ch->n_kept);
    if (ch->ended && !acks) {
        ch->release = true;
        schedule_end(ch, 0, false);
    }
    Ccai_exchange_json(x, 200, doc);
}

static void render(Ccai_outbox *o, ccai_http_exchange *x, void *ud)
{
    CCAI_UNUSED(o);
    chat_call *ch = ud;
    answer(ch, x, ch->waiting_acks);
}

/* Something to hand out now: sentences, the bot's turn being over, or the
 * end of the call. */
static CCAI_MUST_CHECK bool ready(const chat_call *ch)
{
    return ch->out.n || ch->n_kept || ch->listening || ch->ended;
}

static void answer_or_wait(chat_call *ch, ccai_http_exchange *x, bool acks)
{
    if (ready(ch)) {
        answer(ch, x, acks);
        return;
    }
    if (ch->out.waiting) {
        /* The client sent another request: the older one is abandoned. */
        ccai_http_exchange *old = ch->out.waiting;
        ch->out.waiting = NULL;
        old->route_state = NULL;
        old->on_cancel = NULL;
        Ccai_exchange_error(old, 409, "superseded", "a newer request of this chat took the answer");
    }
    ch->waiting_acks = acks;
    Ccai_outbox_answer_or_wait(&ch->out, x);
}

/* Ops: what the bot does. ------------------------------------------------- */

static int op_say(ccai_call *c, const ccai_speech *sp, void *ud)
{
    CCAI_UNUSED(c);
    return Ccai_outbox_say(&((chat_call *)ud)->out, sp);
}

static int op_listen(ccai_call *c, const char *lang, void *ud)
{
    CCAI_UNUSED(c);
    CCAI_UNUSED(lang);
    chat_call *ch = ud;
    ch->listening = true;
    Ccai_outbox_listen(&ch->out);
    return 0;
}

static int op_stop(ccai_call *c, void *ud)
{
    /* Text cannot be taken back: what was said stays for the client. */
    CCAI_UNUSED(c);
    CCAI_UNUSED(ud);
    return 0;
}

static int op_transfer(ccai_call *c, const char *number, void *ud)
{
    CCAI_UNUSED(c);
    chat_call *ch = ud;
    if (!Ccai_str_replace(&ch->transfer, number))
        return -1;
    ch->ended = true;
    schedule_end(ch, 0, false);
    return Ccai_outbox_transfer(&ch->out, number);
}

static int op_hangup(ccai_call *c, void *ud)
{
    CCAI_UNUSED(c);
    chat_call *ch = ud;
    ch->ended = true;
    schedule_end(ch, 0, false);
    Ccai_outbox_hangup(&ch->out);
    return 0;
}

static const ccai_call_ops chat_ops = {
    .version = CCAI_CALL_OPS_VERSION,
    .say = op_say,
    .stop_speaking = op_stop,
    .listen = op_listen,
    .transfer = op_transfer,
    .hangup = op_hangup,
};

/* Requests ----------------------------------------------------------------- */

static json_t *body_json(ccai_http_exchange *x, bool required)
{
    if (!x->body_len && !required)
        return json_object();
    Ccai_json_err e;
    ccai_status st;
    json_t *v = Ccai_json_load(x->body, x->body_len, &e, &st);
    if (!json_is_object(v)) {
        json_decref(v);
        if (st == CCAI_ERR_NOMEM)
            Ccai_exchange_error(x, 500, "out of memory", NULL);
        else
            Ccai_exchange_error(x, 400, "invalid JSON body", "expected a JSON object");
        return NULL;
    }
    return v;
}

static chat_call *find(Ccai_chat *chat, ccai_http_exchange *x)
{
    const char *id = Ccai_exchange_param(x, 0);
    for (chat_call *ch = chat->chats; ch; ch = ch->next) {
        if (strcmp(ch->id, id) == 0)
            return ch;
    }
    Ccai_exchange_error(x, 404, "no such chat", id);
    return NULL;
}

/* "after": the client got every sentence up to it; the ones after it are
 * handed out again. *ret_acks tells whether the request carried it. */
static CCAI_MUST_CHECK bool take_ack(chat_call *ch, ccai_http_exchange *x, const json_t *body,
                                     bool *ret_acks)
{
    const json_t *after = json_object_get(body, "after");
    *ret_acks = after != NULL;
    if (!after) {
        drop_kept(ch, ch->n_kept);
        return true;
    }
    if (!json_is_integer(after) || json_integer_value(after) < 0) {
        Ccai_exchange_error(x, 400, "invalid body",
                            "after: the \"seq\" of the last answer received (an integer >= 0)");
        return false;
    }
    uint64_t acked = (uint64_t)json_integer_value(after);
    uint64_t first = ch->seq - ch->n_kept + 1; /* seq of kept[0] */
    if (acked >= ch->seq)
        drop_kept(ch, ch->n_kept);
    else if (acked >= first)
        drop_kept(ch, (size_t)(acked - first + 1));
    return true;
}

/* The open chats (calls not over). */
static size_t open_chats(const Ccai_chat *chat)
{
    size_t n = 0;
    for (const chat_call *ch = chat->chats; ch; ch = ch->next)
        n += ch->call != NULL;
    return n;
}

/* The "lang" of POST /chat: one of the available languages, else NULL
 * with the error answered. */
static CCAI_MUST_CHECK bool valid_lang(Ccai_chat *chat, ccai_http_exchange *x, const json_t *v)
{
    const json_t *avail =
        json_object_get(Ccai_config_json(chat->cfg, "conversation.initiate.lang"), "availables");
    const char *lang = json_string_value(v);
    Ccai_buf codes = {0};
    size_t i;
    const json_t *e;
    json_array_foreach(avail, i, e)
    {
        const char *code = json_string_value(json_object_get(e, "short_code"));
        if (lang && code && strcmp(code, lang) == 0) {
            Ccai_buf_free(&codes);
            return true;
        }
        if (code && !Ccai_buf_printf(&codes, "%s%s", codes.len ? ", " : "", code)) {
            Ccai_buf_free(&codes);
            Ccai_exchange_error(x, 500, "out of memory", NULL);
            return false;
        }
    }
    char *detail = lang && strlen(lang) <= 35
                       ? Ccai_asprintf("lang: \"%s\" is not one of the available languages (%s)",
                                       lang, codes.data ? codes.data : "none")
                       : Ccai_asprintf("lang: expected one of the available languages (%s)",
                                       codes.data ? codes.data : "none");
    Ccai_buf_free(&codes);
    if (detail)
        Ccai_exchange_error(x, 400, "invalid body", detail);
    else
        Ccai_exchange_error(x, 500, "out of memory", NULL);
    ccai_free(detail);
    return false;
}

/* A chat whose call was stored but whose CONNECTED met a database locked
 * by another process: hand CONNECTED again, backing off as the router's
 * held requests do, for up to server.store_wait_ms. The request that
 * started it waits meanwhile (the outbox) and gets the bot's first words
 * once it succeeds. If it never does, the request is answered 503 (the
 * client starts a new chat) and the stored call is ended as a bot's hangup
 * is (on_end(), retried while the store refuses): no call is left open
 * that no client knows of. */
static void connect_again(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    chat_call *ch = ud;
    ccai_status st = ccai_call_notify(ch->call, CCAI_EVENT_CONNECTED, NULL);
    if (st == CCAI_OK) {
        ch->connecting = false;
        /* The bot's first words went to the waiting request (the outbox). */
        return;
    }
    int64_t wait = Ccai_config_int(ch->chat->cfg, "server.store_wait_ms", 5000);
    bool expired = Ccai_ctx_now(ch->ctx) - ch->connect_since >= (uint64_t)(wait > 0 ? wait : 0);
    if (st == CCAI_ERR_BUSY && !expired) {
        ch->connect_tries++;
        unsigned n = ch->connect_tries < 15 ? ch->connect_tries + 1 : 16;
        Ccai_timer_start(ch->ctx, &ch->connect,
                         Ccai_backoff_ms((int)n, CHAT_CONNECT_FIRST_MS, CHAT_CONNECT_MAX_MS));
        return;
    }
    ccai_http_exchange *x = ch->out.waiting;
    if (x) {
        ch->out.waiting = NULL;
        x->route_state = NULL;
        x->on_cancel = NULL;
        Ccai_exchange_fail(x, st, "cannot start the chat", ccai_call_errmsg(ch->call));
    }
    /* Ended as the bot's hangup is (on_end(): retried while the store
     * refuses), then the chat goes: no request will come for it. */
    ch->connecting = false;
    ch->release = true;
    schedule_end(ch, 0, false);
}

static void route_start(ccai_http_exchange *x, void *ud)
{
    Ccai_chat *chat = ud;
    int64_t max = Ccai_config_int(chat->cfg, "server.max_chats", 1000);
    if (open_chats(chat) >= (uint64_t)max) {
        char after[24];
        snprintf(
            after, sizeof after, "%lld",
            (long long)Ccai_config_int(chat->cfg, "conversation.phone_silence_timeout_sec", 20));
        /* Retry-After is advice (RFC 9110): out of memory, the 503 goes
         * without it. */
        CCAI_DISCARD(Ccai_exchange_add_header(x, "Retry-After", after));
        Ccai_exchange_error(x, 503, "too many open chats",
                            "server.max_chats are open: retry when one has ended");
        return;
    }
    json_t *body = body_json(x, false);
    if (!body)
        return;
    const json_t *phone_v = json_object_get(body, "phone_number");
    const json_t *lang_v = json_object_get(body, "lang");
    if (phone_v && !json_is_string(phone_v)) {
        json_decref(body);
        Ccai_exchange_error(x, 400, "invalid body", "phone_number: expected an E.164 string");
        return;
    }
    if (lang_v && !valid_lang(chat, x, lang_v)) {
        json_decref(body);
        return;
    }
    /* The call's settings are built as JSON, never pasted into text. */
    json_t *init = lang_v ? json_pack("{s:{s:O}}", "lang", "default_short_code", lang_v) : NULL;
    char *initiate = init ? Ccai_json_dump(init, JSON_COMPACT) : NULL;
    json_decref(init);
    chat_call *ch = Ccai_calloc(1, sizeof *ch);
    if (!ch || (lang_v && !initiate)) {
        ccai_free(ch);
        ccai_free(initiate);
        json_decref(body);
        Ccai_exchange_error(x, 500, "out of memory", NULL);
        return;
    }
    ch->chat = chat;
    ch->ctx = chat->ctx;
    Ccai_outbox_init(&ch->out, render, ch);
    Ccai_timer_init(&ch->end, on_end, ch);
    Ccai_timer_init(&ch->connect, connect_again, ch);
    const char *phone = json_string_value(phone_v);
    ccai_call_params p = {
        .version = CCAI_CALL_PARAMS_VERSION,
        .direction = CCAI_INBOUND,
        .phone_number = phone ? phone : "+33612345678",
        .channel = "http-chat",
        .initiate_json = initiate,
    };
    ccai_status st = ccai_call_start(chat->ctx, &p, &chat_ops, ch, &ch->call);
    json_decref(body);
    ccai_free(initiate);
    if (st != CCAI_OK) {
        ccai_free(ch);
        /* Nothing stored: a lock held elsewhere runs it again once gone. */
        Ccai_exchange_fail_or_hold(x, st, "cannot start the chat", ccai_ctx_errmsg(chat->ctx));
        return;
    }
    snprintf(ch->id, sizeof ch->id, "%s", ccai_call_id(ch->call));
    ch->next = chat->chats;
    chat->chats = ch;
    st = ccai_call_notify(ch->call, CCAI_EVENT_CONNECTED, NULL);
    if (st == CCAI_ERR_BUSY) {
        /* The call is stored: running the route again would store another.
         * The request waits for the bot's first words while CONNECTED is
         * handed again (connect_again()). */
        ch->connecting = true;
        ch->connect_since = Ccai_ctx_now(ch->ctx);
        answer_or_wait(ch, x, false);
        Ccai_timer_start(ch->ctx, &ch->connect,
                         Ccai_backoff_ms(1, CHAT_CONNECT_FIRST_MS, CHAT_CONNECT_MAX_MS));
        return;
    }
    if (st != CCAI_OK) {
        Ccai_exchange_fail(x, st, "cannot start the chat", ccai_call_errmsg(ch->call));
        chat_free(ch);
        return;
    }
    answer_or_wait(ch, x, false);
}

/* A text, DTMF or SMS field: a string of at most CCAI_EVENT_TEXT_MAX bytes
 * (413 beyond). NULL when absent or empty; *ret_bad when answered. */
static const char *caller_field(ccai_http_exchange *x, const json_t *body, const char *name,
                                bool *ret_bad)
{
    const json_t *v = json_object_get(body, name);
    if (!v)
        return NULL;
    const char *s = json_string_value(v);
    char detail[96];
    if (!s) {
        snprintf(detail, sizeof detail, "%s: expected a string", name);
        Ccai_exchange_error(x, 400, "invalid body", detail);
        *ret_bad = true;
        return NULL;
    }
    size_t len = json_string_length(v);
    if (strlen(s) != len) {
        snprintf(detail, sizeof detail, "%s: a NUL character", name);
        Ccai_exchange_error(x, 400, "invalid body", detail);
        *ret_bad = true;
        return NULL;
    }
    if (len > CCAI_EVENT_TEXT_MAX) {
        snprintf(detail, sizeof detail, "%s: %zu bytes, at most %u", name, len,
                 CCAI_EVENT_TEXT_MAX);
        Ccai_exchange_error(x, 413, "request field too large", detail);
        *ret_bad = true;
        return NULL;
    }
    return *s ? s : NULL;
}

static void route_say(ccai_http_exchange *x, void *ud)
{
    chat_call *ch = find(ud, x);
    if (!ch)
        return;
    json_t *body = body_json(x, true);
    if (!body)
        return;
    bool bad = false, acks = false;
    const char *text = caller_field(x, body, "text", &bad);
    const char *dtmf = bad ? NULL : caller_field(x, body, "dtmf", &bad);
    const char *sms = bad ? NULL : caller_field(x, body, "sms", &bad);
    bool silence = json_is_true(json_object_get(body, "silence"));
    bool hangup = json_is_true(json_object_get(body, "hangup"));
    if (!bad && !text && !dtmf && !sms && !silence && !hangup) {
        Ccai_exchange_error(x, 400, "invalid body",
                            "one of text, dtmf, sms, silence: true, hangup: true");
        bad = true;
    }
    if (bad || !take_ack(ch, x, body, &acks)) {
        json_decref(body);
        return;
    }
    if (!ch->call) {
        /* The call is over: the client learns it, with what it missed. */
        json_decref(body);
        answer(ch, x, acks);
        if (hangup)
            chat_free(ch);
        return;
    }
    ccai_status st;
    if (hangup) {
        json_decref(body);
        st = ccai_call_notify(ch->call, CCAI_EVENT_HANGUP, "the caller hung up");
        if (st != CCAI_OK) { /* not stored: held, or refused, like any other event */
            Ccai_exchange_fail_or_hold(x, st, "cannot hang up", ccai_call_errmsg(ch->call));
            return;
        }
        ch->ended = true;
        ch->listening = false;
        answer(ch, x, false);
        chat_free(ch);
        return;
    }
    /* The bot's earlier words were delivered: what comes next is new. Not
     * taken: held or refused, as the caller's words below would be. */
    st = ccai_call_notify(ch->call, CCAI_EVENT_SAY_DONE, NULL);
    if (st != CCAI_OK && st != CCAI_ERR_STATE) {
        json_decref(body);
        Ccai_exchange_fail_or_hold(x, st, "the bot cannot take this", ccai_call_errmsg(ch->call));
        return;
    }
    bool was_listening = ch->listening;
    if (!sms || text || dtmf || silence) {
        /* The caller takes the turn: the bot listens no more. */
        ch->listening = false;
        ch->out.listening = false;
    }
    if (text)
        st = ccai_call_notify(ch->call, CCAI_EVENT_SPEECH, text);
    else if (dtmf)
        st = ccai_call_notify(ch->call, CCAI_EVENT_DTMF, dtmf);
    else if (sms)
        st = ccai_call_notify(ch->call, CCAI_EVENT_SMS, sms); /* read by the next turn */
    else
        st = ccai_call_notify(ch->call, CCAI_EVENT_SILENCE_TIMEOUT, NULL);
    json_decref(body);
    if (st != CCAI_OK) {
        /* Not taken: the bot still waits for it. */
        ch->listening = ch->out.listening = was_listening;
        Ccai_exchange_fail_or_hold(x, st, "the bot cannot take this", ccai_call_errmsg(ch->call));
        return;
    }
    answer_or_wait(ch, x, acks);
}

static void route_next(ccai_http_exchange *x, void *ud)
{
    chat_call *ch = find(ud, x);
    if (!ch)
        return;
    json_t *body = body_json(x, false);
    bool acks = false;
    if (body && take_ack(ch, x, body, &acks))
        answer_or_wait(ch, x, acks);
    json_decref(body);
}

/* Life of the channel -------------------------------------------------------- */

static CCAI_MUST_CHECK ccai_status chat_init(const Ccai_channel_env *env, void **ret_state)
{
    Ccai_chat *chat = Ccai_calloc(1, sizeof *chat);
    if (!chat)
        return CCAI_ERR_NOMEM;
    chat->ctx = env->ctx;
    chat->cfg = env->cfg;
    *ret_state = chat;
    return CCAI_OK;
}

/* Ends the chats still open: the context goes away. */
static void chat_channel_free(void *state)
{
    Ccai_chat *chat = state;
    while (chat->chats)
        chat_free(chat->chats);
    ccai_free(chat);
}

static const Ccai_route chat_routes[] = {
    {"POST", "/chat", route_start, CCAI_ROUTE_TOKEN, CCAI_ROUTE_WRITES | CCAI_ROUTE_WAITS},
    {"POST", "/chat/:id", route_say, CCAI_ROUTE_TOKEN, CCAI_ROUTE_WRITES | CCAI_ROUTE_WAITS},
    /* What the bot said already: a locked database must not hold it back. */
    {"POST", "/chat/:id/next", route_next, CCAI_ROUTE_TOKEN, 0},
};

const Ccai_channel_class Ccai_chat_channel = {
    .name = "http-chat",
    .init = chat_init,
    .free = chat_channel_free,
    .routes = chat_routes,
    .n_routes = CCAI_ARRAY_SIZE(chat_routes),
};
