/* The conversation: greeting, turns through the LLM tool loop, timers,
 * barge-in, and the offline dialogue engine when no LLM can answer.
 *
 * A turn: the caller's words are stored (call.c); the request is built from
 * the prompts, the claim, the reminders and the newest history that fits;
 * the answer streams in and every complete sentence is spoken at once and
 * stored once the channel took it; tool calls run (their customer_response
 * spoken first) and their results go back to the model, at most
 * conversation.max_llm_rounds rounds. Timers on the context: a soft timeout
 * says a filler once, a hard timeout gives up with an apology, a silence
 * timeout asks "are you still there?" and ends the call after
 * recognition_retry_max tries. */
#include "engine/engine.h"

#include "config/config.h"
#include "core/json.h"
#include "core/metrics.h"
#include "core/tz.h"
#include "engine/guardrails.h"
#include "engine/offline.h"
#include "engine/phrases.h"
#include "engine/prompts.h"
#include "engine/request.h"
#include "engine/speech.h"
#include "llm/llm.h"

#include <ctype.h>
#include <stdio.h>

typedef struct Ccai_turn {
    ccai_call *c;
    int round;
    int empty_retries;
    Ccai_llm_call *llm;
    Ccai_sentences sent;
    Ccai_timer soft, hard;
    int busy;          /* inside one of its callbacks */
    bool doomed;       /* freed while busy: free when the callback ends */
    bool said;         /* a sentence of this turn was spoken */
    bool no_tools;     /* the last round: tool results are in, now talk */
    bool filtered;     /* the content filter kept a sentence back: the answer stops */
    char *caller_text; /* what started the turn (for the offline take-over) */
    uint64_t started;
    uint32_t hard_ms; /* answer_hard_timeout_sec when the turn started */
    /* The turn's, its LLM request's and the tool's it waits for (core/trace.h). */
    Ccai_span *span, *llm_span, *tool_span;
    bool loading; /* the filler was said */
    char engine[32];
    /* The round's request: its tools (the call's), and the newest stored
     * message its history holds, to build it again for a retry. */
    const struct Ccai_tools_text *tools;
    int64_t history_seq;
    /* Early (Ccai_conv_early_start): started on the caller's words not
     * final yet; its sentences are held (nothing said or stored) and its
     * end kept (no tool run) until the final words take it (adopt) or
     * drop it. */
    bool early;
    Ccai_buf held;       /* the sentences held: style byte, text, NUL; ... */
    bool ended;          /* the LLM answered meanwhile: what it said */
    ccai_status end_st;  /* ... its status */
    char *end_err;       /* ... its error text */
    Ccai_llm_result end; /* ... the result, its strings and tool calls copied */
    Ccai_tool_calls end_calls;
    char *end_text, *end_model;
    /* The round's tool calls, run in order (copied: a tool that answers
     * later outlives the LLM's result), what they answered so far, and
     * the tool being waited for. */
    struct turn_tool {
        char *id, *name, *args;
    } * tc;
    size_t n_tc, tool_i;
    json_t *record;
    Ccai_tool_outcome out;
    struct Ccai_tool_wait *wait;
} Ccai_turn;

/* Helpers ------------------------------------------------------------------ */

/* Can an LLM be asked now (one is configured and does not cool down)? */
static CCAI_MUST_CHECK bool llm_ready(const ccai_call *c)
{
    const Ccai_engine *e = c->eng;
    uint64_t now = Ccai_ctx_now(c->ctx);
    for (size_t i = 0; i < e->n_models; i++) {
        if (Ccai_llm_health_ready(&e->health[i], now))
            return true;
    }
    return false;
}

const char *Ccai_conv_initiate_str(const ccai_call *c, const char *key)
{
    const char *v = json_string_value(json_object_get(c->initiate, key));
    return v ? v : "";
}

const json_t *Ccai_conv_lang_entry(const ccai_call *c, const char *code)
{
    const json_t *avail = json_object_get(json_object_get(c->initiate, "lang"), "availables");
    size_t i;
    const json_t *l;
    json_array_foreach(avail, i, l)
    {
        const char *sc = json_string_value(json_object_get(l, "short_code"));
        if (sc && code && strcmp(sc, code) == 0)
            return l;
    }
    return NULL;
}

static uint32_t random32(void)
{
    uint32_t r = 0;
    if (Ccai_random_bytes(&r, sizeof r) != CCAI_OK)
        r = 0; /* no randomness to be had: the phrase's first wording */
    return r;
}

/* The conversation's own states (turn, conversation) once the call is in
 * it. Turn and conversation are one stored state (call.c): storing fails
 * only on the way from another one, and then the call keeps the state it
 * had, which the log says; the conversation goes on. */
static void set_state(ccai_call *c, ccai_call_state s)
{
    if (c->state >= CCAI_CALL_TRANSFERRING)
        return;
    ccai_status st = Ccai_call_set_state(c, s);
    if (st != CCAI_OK)
        Ccai_log(&c->log, CCAI_LOG_WARN, "call %s: state %s not stored: %s", c->row.id,
                 ccai_call_state_str(s), ccai_status_str(st));
}

/* Saying ------------------------------------------------------------------- */

/* Ccai_conv_say(); keep: store what was said with the turn's next batch
 * (Ccai_call_keep_said), not now. */
static bool say(ccai_call *c, const char *text, ccai_style style, bool expects_reply,
                bool more_follows, const char *engine, bool keep)
{
    if (!text || !*text || !c->ops.say || c->free_pending || c->state >= CCAI_CALL_ENDED)
        return false; /* nobody to speak to any more */
    const json_t *l = Ccai_conv_lang_entry(c, c->row.lang);
    ccai_speech sp = {
        .version = CCAI_SPEECH_VERSION,
        .text = text,
        .lang = c->row.lang,
        .voice = json_string_value(json_object_get(l, "voice")),
        .style = style,
        .rate = c->rate,
        .expects_reply = expects_reply,
        .more_follows = more_follows,
    };
    if (c->ops.say(c, &sp, c->ud) != 0) {
        Ccai_log(&c->log, CCAI_LOG_WARN, "call %s: the channel refused to speak", c->row.id);
        return false;
    }
    c->speaking = true;
    /* Only what the channel took is stored as spoken: the words are out,
     * a failure to store them cannot take them back. It is logged (and on
     * the call, ccai_call_errmsg()) by Ccai_call_add_message(); a database
     * locked by another process keeps them for later. */
    if (engine && keep)
        CCAI_DISCARD(Ccai_call_keep_said(c, style, text, engine));
    else if (engine)
        CCAI_DISCARD(
            Ccai_call_add_message(c, "assistant", "talk", style, text, NULL, NULL, engine, NULL));
    return true;
}

bool Ccai_conv_say(ccai_call *c, const char *text, ccai_style style, bool expects_reply,
                   bool more_follows, const char *engine)
{
    /* What the LLM wrote (a tool's customer_response) passes the filter. */
    if (engine && strncmp(engine, "llm", 3) == 0 && !Ccai_guardrails_bot_ok(c, text, false))
        return false;
    return say(c, text, style, expects_reply, more_follows, engine, false);
}

/* Act on the guardrails' verdict. Returns whether the caller is listened to
 * again (the conversation goes on). */
static bool guard_act(ccai_call *c, Ccai_guard_act act)
{
    switch (act) {
    case CCAI_GUARD_ACT_NONE: return true;
    case CCAI_GUARD_ACT_ERROR:
        Ccai_conv_say_phrase(c, CCAI_TTS_ERROR, true, false); /* not stored, as the reference */
        return true;
    case CCAI_GUARD_ACT_REFUSE:
        Ccai_conv_say_phrase(c, CCAI_TTS_JAILBREAK_REFUSAL, true, false);
        return true;
    case CCAI_GUARD_ACT_HANDOVER:
        Ccai_conv_say_phrase(c, CCAI_TTS_END_CALL_TO_CONNECT_AGENT, false, true);
        /* A failure is told to the caller there (transfer_failed). */
        CCAI_DISCARD(Ccai_conv_transfer(c));
        return false;
    case CCAI_GUARD_ACT_END: Ccai_conv_goodbye(c, true); return false;
    }
    return true;
}

bool Ccai_conv_say_phrase(ccai_call *c, int phrase, bool expects_reply, bool store)
{
    Ccai_prompt_var vars[] = {
        {"bot_name", Ccai_conv_initiate_str(c, "bot_name")},
        {"bot_company", Ccai_conv_initiate_str(c, "bot_company")},
    };
    char *text = Ccai_engine_render_phrase(c->eng, (Ccai_tts_phrase)phrase, c->row.lang, random32(),
                                           vars, CCAI_ARRAY_SIZE(vars));
    bool ok = text && Ccai_conv_say(c, text, CCAI_STYLE_NONE, expects_reply, false,
                                    store ? "script" : NULL);
    ccai_free(text);
    return ok;
}

static void on_silence_timer(Ccai_timer *t, void *ud);

static void silence_stop(ccai_call *c)
{
    c->silence_deferred = false;
    Ccai_timer_stop(c->ctx, &c->silence);
}

/* The bot is done: listen, and count silence from now, or, when the
 * channel says when the caller has heard the bot's words, from then. */
static void listen(ccai_call *c)
{
    if (c->state >= CCAI_CALL_TRANSFERRING)
        return;
    if (c->ops.listen)
        c->ops.listen(c, c->row.lang, c->ud);
    if (c->channel_silence)
        return;
    if (c->says_done && c->speaking)
        c->silence_deferred = true;
    else
        Ccai_timer_start(c->ctx, &c->silence, Ccai_engine_flag_ms(c->eng, CCAI_FLAG_SILENCE));
}

void Ccai_conv_goodbye(ccai_call *c, bool store)
{
    silence_stop(c);
    Ccai_conv_say_phrase(c, CCAI_TTS_GOODBYE, false, store);
    Ccai_call_hangup(c);
}

const Ccai_tz *Ccai_conv_tz(ccai_call *c)
{
    if (c->tz)
        return c->tz;
    /* Out of memory only (an unknown zone is UTC): NULL, each caller says
     * what it does without a zone. */
    if (Ccai_tz_load_or_utc(Ccai_tz_for_phone(c->row.phone_number), &c->log, &c->tz) != CCAI_OK)
        c->tz = NULL;
    return c->tz;
}

/* Offline dialogue ---------------------------------------------------------- */

/* A new offline engine from the call as it is now (claim, language). */
static CCAI_MUST_CHECK ccai_status offline_new(ccai_call *c)
{
    char *claim = Ccai_json_dump(c->claim, JSON_COMPACT);
    const json_t *avail = json_object_get(json_object_get(c->initiate, "lang"), "availables");
    const char *langs[16];
    size_t n = 0, i;
    const json_t *l;
    json_array_foreach(avail, i, l)
    {
        const char *code = json_string_value(json_object_get(l, "short_code"));
        if (code && n < CCAI_ARRAY_SIZE(langs) - 1)
            langs[n++] = code;
    }
    langs[n] = NULL;
    ccai_claim_schema *schema = c->schema;
    int32_t off = 0;
    const Ccai_tz *tz = Ccai_conv_tz(c);
    if (!tz) {
        ccai_free(claim);
        return CCAI_ERR_NOMEM;
    }
    Ccai_tz_lookup(tz, Ccai_wall_ms() / 1000, &off, NULL, NULL);
    ccai_status lst =
        c->eng->offline_lex ? CCAI_OK : Ccai_offline_lexicon_new(&c->eng->offline_lex);
    if (lst != CCAI_OK) {
        ccai_free(claim);
        return lst;
    }
    Ccai_offline_params p = {
        .schema = schema,
        .claim_json = claim,
        .lang = c->row.lang,
        .bot_name = Ccai_conv_initiate_str(c, "bot_name"),
        .bot_company = Ccai_conv_initiate_str(c, "bot_company"),
        .available_langs = n ? langs : NULL,
        .now_ms = Ccai_wall_ms(),
        .utc_offset_min = off / 60,
        .can_transfer = *Ccai_conv_initiate_str(c, "agent_phone_number") && c->ops.transfer,
        .tz = tz,
        .caller_number = c->row.phone_number,
        .lexicon = c->eng->offline_lex,
        .rate = c->rate,
    };
    ccai_status st = claim ? Ccai_offline_new(&p, &c->offline) : CCAI_ERR_NOMEM;
    ccai_free(claim);
    return st;
}

/* Whether the action after r->v[i] sets or clears a field too (the
 * fields changed one after the other are stored in one write). */
static bool more_fields(const Ccai_offline_reply *r, size_t i)
{
    return i + 1 < r->n && (r->v[i + 1].kind == CCAI_OFFLINE_SET_FIELD ||
                            r->v[i + 1].kind == CCAI_OFFLINE_CLEAR_FIELD);
}

/* Perform the actions of an offline reply, in order. Persist, then act:
 * what follows a field or a language that could not be stored (its
 * confirmation, the next question) is not said; the caller hears the
 * error phrase and is asked again (the failure is on the call and in the
 * log). */
static void offline_act(ccai_call *c, const Ccai_offline_reply *r)
{
    bool ended = false, claim_changed = false;
    for (size_t i = 0; i < r->n; i++) {
        const Ccai_offline_action *a = &r->v[i];
        ccai_status st = CCAI_OK;
        switch (a->kind) {
        case CCAI_OFFLINE_SAY:
            Ccai_conv_say(c, a->text, CCAI_STYLE_NONE, a->expects_reply, i + 1 < r->n, "offline");
            break;
        case CCAI_OFFLINE_SET_FIELD: {
            /* The fields set one after the other are stored in one write,
             * before whatever comes next; a value the claim has already is
             * no write. */
            const char *now = json_string_value(json_object_get(c->claim, a->field));
            if (!now || strcmp(now, a->text) != 0) {
                st = json_object_set_new(c->claim, a->field, json_string(a->text)) == 0
                         ? CCAI_OK
                         : CCAI_ERR_NOMEM;
                claim_changed = st == CCAI_OK;
            }
            if (st == CCAI_OK && claim_changed && !more_fields(r, i)) {
                claim_changed = false;
                st = Ccai_call_save_claim(c);
            }
            break;
        }
        case CCAI_OFFLINE_CLEAR_FIELD:
            /* A value the caller said is wrong is no longer the claim's. */
            if (json_object_get(c->claim, a->field)) {
                json_object_del(c->claim, a->field);
                claim_changed = true;
            }
            if (claim_changed && !more_fields(r, i)) {
                claim_changed = false;
                st = Ccai_call_save_claim(c);
            }
            break;
        case CCAI_OFFLINE_SET_LANG:
            st = Ccai_str_replace(&c->row.lang, a->text) ? Ccai_call_save(c) : CCAI_ERR_NOMEM;
            break;
        case CCAI_OFFLINE_SET_RATE: /* the next sentences, as speech_speed does */
            c->rate = strtod(a->text, NULL);
            break;
        case CCAI_OFFLINE_TRANSFER:
            ended = true;
            /* A failure is told to the caller there (transfer_failed). */
            CCAI_DISCARD(Ccai_conv_transfer(c));
            break;
        case CCAI_OFFLINE_HANGUP:
            ended = true;
            silence_stop(c);
            Ccai_call_hangup(c);
            break;
        }
        if (st != CCAI_OK) {
            Ccai_log(&c->log, CCAI_LOG_ERROR, "call %s: offline dialogue: not stored: %s",
                     c->row.id, ccai_status_str(st));
            Ccai_conv_say_phrase(c, CCAI_TTS_ERROR, true, false);
            break;
        }
    }
    if (!ended)
        listen(c);
}

/* The offline dialogue takes over a call it did not hold so far (every
 * LLM failed, or no greeting was given): a fresh engine from the call as
 * the LLM left it, the take-over sentence (when an LLM held the call),
 * then the next missing field. The caller's last words (NULL: none) are
 * passed for what they ask (goodbye, a human, a language), never as the
 * answer to a question the dialogue did not ask. */
static CCAI_MUST_CHECK ccai_status offline_take_over(ccai_call *c, const char *text,
                                                     const Ccai_offline_reply **r)
{
    Ccai_offline_free(c->offline);
    c->offline = NULL;
    ccai_status st = offline_new(c);
    if (st != CCAI_OK)
        return st;
    char *intro = NULL;
    if (c->eng->n_models > 0) {
        intro = Ccai_engine_render_phrase(c->eng, CCAI_TTS_OFFLINE_TAKE_OVER, c->row.lang,
                                          random32(), NULL, 0);
        if (!intro)
            return CCAI_ERR_NOMEM;
    }
    st = Ccai_offline_take_over(c->offline, intro, text, r);
    ccai_free(intro);
    return st;
}

/* One offline turn on the caller's text (NULL: a silence). take_over: the
 * LLM just failed mid-call. */
static void offline_turn(ccai_call *c, const char *text, bool take_over)
{
    const Ccai_offline_reply *r = NULL;
    ccai_status st;
    uint64_t started = Ccai_ctx_now(c->ctx);
    set_state(c, CCAI_CALL_TURN);
    if (take_over || !c->offline)
        st = offline_take_over(c, text, &r);
    else if (text)
        st = Ccai_offline_input(c->offline, text, &r);
    else
        st = Ccai_offline_silence(c->offline, &r);
    if (st == CCAI_OK) {
        set_state(c, CCAI_CALL_CONVERSATION);
        /* Best effort: a sample lost (out of memory, the series cap)
         * changes nothing of the call. */
        if (text) {
            CCAI_DISCARD(Ccai_metrics_counter_add(c->eng->metrics, "ccai_turns_total",
                                                  "engine=\"offline\"", 1));
            CCAI_DISCARD(Ccai_metrics_histogram_observe(
                c->eng->metrics, "ccai_turn_seconds", "engine=\"offline\"",
                (double)(Ccai_ctx_now(c->ctx) - started) / 1000.0));
        }
        offline_act(c, r);
        return;
    }
    set_state(c, CCAI_CALL_CONVERSATION);
    Ccai_log(&c->log, CCAI_LOG_ERROR, "call %s: offline dialogue: %s", c->row.id,
             ccai_status_str(st));
    Ccai_conv_say_phrase(c, CCAI_TTS_ERROR, true, false);
    listen(c);
}

/* Turns --------------------------------------------------------------------- */

/* Forget the round's tool calls and their results. */
static void tools_clear(Ccai_turn *t)
{
    for (size_t i = 0; i < t->n_tc; i++) {
        ccai_free(t->tc[i].id);
        ccai_free(t->tc[i].name);
        ccai_free(t->tc[i].args);
    }
    ccai_free(t->tc);
    t->tc = NULL;
    t->n_tc = t->tool_i = 0;
    json_decref(t->record);
    t->record = NULL;
    memset(&t->out, 0, sizeof t->out);
}

static void turn_free(Ccai_turn *t)
{
    if (!t)
        return;
    ccai_ctx *ctx = t->c->ctx;
    if (!t->early)
        t->c->first_turn = false;
    if (t->llm_span)
        Ccai_span_error(t->llm_span, "cancelled");
    if (t->tool_span)
        Ccai_span_error(t->tool_span, "cancelled");
    Ccai_span_end(t->llm_span);
    Ccai_span_end(t->tool_span);
    Ccai_span_end(t->span);
    t->llm_span = t->tool_span = t->span = NULL;
    if (t->llm) {
        Ccai_llm_cancel(t->llm);
        t->llm = NULL;
    }
    Ccai_timer_stop(ctx, &t->soft);
    Ccai_timer_stop(ctx, &t->hard);
    Ccai_tools_cancel(t->wait);
    t->wait = NULL;
    if (t->busy) {
        t->doomed = true; /* a host callback ended the turn: free on the way out */
        return;
    }
    tools_clear(t);
    Ccai_sentences_free(&t->sent);
    ccai_free(t->caller_text);
    Ccai_buf_free(&t->held);
    ccai_free(t->end_err);
    Ccai_tool_calls_free(&t->end_calls);
    ccai_free(t->end_text);
    ccai_free(t->end_model);
    ccai_free(t);
}

/* Enter / leave one of the turn's callbacks (LLM, timers). leave() returns
 * false when the turn or its call is gone. */
static void turn_enter(Ccai_turn *t)
{
    t->busy++;
    Ccai_call_enter(t->c);
}

static CCAI_MUST_CHECK bool turn_leave(Ccai_turn *t)
{
    ccai_call *c = t->c;
    bool alive = --t->busy > 0 || !t->doomed;
    if (!alive)
        turn_free(t);
    return Ccai_call_leave(c) && alive;
}

static void count(Ccai_engine *e, const char *kind)
{
    char labels[64];
    snprintf(labels, sizeof labels, "kind=\"%s\"", kind);
    /* Best effort: a sample lost changes nothing of the call. */
    CCAI_DISCARD(Ccai_metrics_counter_add(e->metrics, "ccai_errors_total", labels, 1));
}

static void turn_end(Ccai_turn *t, bool listen_again)
{
    ccai_call *c = t->c;
    double secs = (double)(Ccai_ctx_now(c->ctx) - t->started) / 1000.0;
    /* Best effort: a sample lost changes nothing of the call. */
    CCAI_DISCARD(Ccai_metrics_histogram_observe(c->eng->metrics, "ccai_turn_seconds",
                                                "engine=\"llm\"", secs));
    CCAI_DISCARD(
        Ccai_metrics_counter_add(c->eng->metrics, "ccai_turns_total", "engine=\"llm\"", 1));
    c->turn = NULL;
    turn_free(t);
    set_state(c, CCAI_CALL_CONVERSATION);
    if (listen_again)
        listen(c);
}

static void start_round(Ccai_turn *t);
static void bot_filtered(Ccai_turn *t);

static int on_sentence(const char *text, ccai_style style, void *ud)
{
    Ccai_turn *t = ud;
    if (t->doomed || t->filtered)
        return 1; /* barge-in from inside say(), or kept back: stop here */
    if (t->early) {
        /* Held: nothing is said or stored before the words are final (the
         * content filter looks at it then, early_adopt). */
        char st = (char)style;
        if (Ccai_buf_append(&t->held, &st, 1) && Ccai_buf_append(&t->held, text, strlen(text) + 1))
            return 0;
        /* Out of memory: the early answer is not usable; the final words
         * start a turn of their own. */
        if (t->llm) {
            Ccai_llm_cancel(t->llm);
            t->llm = NULL;
        }
        t->ended = true;
        t->end_st = CCAI_ERR_NOMEM;
        return 1;
    }
    /* Kept back by the content filter: not said, not stored, and nothing
     * after it (bot_filtered). */
    if (!Ccai_guardrails_bot_ok(t->c, text, true)) {
        t->filtered = true;
        return 1;
    }
    /* Stored at the next turn of the loop with all that was said meanwhile. */
    if (say(t->c, text, style, false, true, t->engine, true))
        t->said = true;
    return t->doomed;
}

static int on_text(const char *text, size_t len, void *ud)
{
    Ccai_turn *t = ud;
    turn_enter(t);
    /* CCAI_ERR_CANCELLED: on_sentence stopped it (the turn is doomed, its
     * request already cancelled: llm is NULL). Out of memory: these words
     * are not spoken (logged), the answer goes on. */
    ccai_status st = Ccai_sentences_feed(&t->sent, text, len, on_sentence, t);
    if (st == CCAI_ERR_NOMEM)
        Ccai_log(&t->c->log, CCAI_LOG_WARN, "call %s: out of memory splitting the answer",
                 t->c->row.id);
    if (t->filtered && !t->doomed)
        bot_filtered(t);
    /* The last thing done here: whether the turn lives on changes nothing. */
    CCAI_DISCARD(turn_leave(t));
    return 0;
}

static void on_retry(const char *model, int attempt, const char *reason, uint64_t delay_ms,
                     void *ud)
{
    Ccai_turn *t = ud;
    snprintf(t->engine, sizeof t->engine, "llm:%s", model);
    count(t->c->eng, "llm_retry");
    Ccai_log(&t->c->log, CCAI_LOG_WARN, "call %s: llm %s attempt %d in %llu ms (%s)", t->c->row.id,
             model, attempt, (unsigned long long)delay_ms, reason);
}

/* Every model failed: the offline dialogue takes over the call, until an
 * LLM can be asked again (Ccai_conv_caller_said). */
static void llm_failed(Ccai_turn *t, const char *why)
{
    ccai_call *c = t->c;
    Ccai_log(&c->log, CCAI_LOG_ERROR, "call %s: no LLM could answer (%s): offline dialogue",
             c->row.id, why ? why : "unknown");
    count(c->eng, "llm_down");
    char *text = t->caller_text;
    t->caller_text = NULL;
    c->turn = NULL;
    turn_free(t);
    set_state(c, CCAI_CALL_CONVERSATION);
    c->offline_mode = true;
    /* Without greeting again: it says what happens, keeps the claim so far
     * and asks for what is missing. */
    offline_turn(c, text, true);
    ccai_free(text);
}

/* The caller's last words were refused by a content filter: forget them,
 * so the next request does not fail the same way, and act (the error
 * phrase, or what a jailbreak asks for). */
static void content_filtered(Ccai_turn *t, Ccai_guard_act act)
{
    ccai_call *c = t->c;
    json_t *history = NULL;
    if (Ccai_store_messages_json(c->eng->store, c->row.id, &history) == CCAI_OK) {
        for (size_t i = json_array_size(history); i-- > 0;) {
            const json_t *m = json_array_get(history, i);
            const char *persona = json_string_value(json_object_get(m, "persona"));
            const char *action = json_string_value(json_object_get(m, "action"));
            if (persona && strcmp(persona, "human") == 0 && action &&
                (strcmp(action, "talk") == 0 || strcmp(action, "sms") == 0)) {
                ccai_status st = Ccai_store_message_delete(
                    c->eng->store, c->row.id, json_integer_value(json_object_get(m, "seq")));
                /* Kept: the next request may be refused the same way, and
                 * says so again; nothing else depends on it. */
                if (st != CCAI_OK)
                    Ccai_log(&c->log, CCAI_LOG_ERROR,
                             "call %s: the filtered words could not be forgotten: %s", c->row.id,
                             Ccai_store_errmsg(c->eng->store));
                break;
            }
        }
        json_decref(history);
    }
    turn_end(t, guard_act(c, act));
}

/* A sentence of the answer was kept back by the content filter: the rest
 * of the answer is not wanted. As the reference on a filtered completion:
 * the caller's last words are forgotten and the error phrase is said
 * (neither the sentence nor the phrase is stored). */
static void bot_filtered(Ccai_turn *t)
{
    if (t->llm) {
        Ccai_llm_cancel(t->llm);
        t->llm = NULL;
    }
    count(t->c->eng, "content_filter");
    content_filtered(t, CCAI_GUARD_ACT_ERROR);
}

/* Tool calls ------------------------------------------------------------------ */

static CCAI_MUST_CHECK bool tools_copy(Ccai_turn *t, const Ccai_tool_calls *calls)
{
    tools_clear(t);
    t->tc = Ccai_calloc(calls->n, sizeof *t->tc);
    t->record = json_array();
    if (!t->tc || !t->record)
        return false;
    for (size_t i = 0; i < calls->n; i++) {
        const Ccai_tool_call *tc = &calls->v[i];
        struct turn_tool *o = &t->tc[t->n_tc++];
        o->id = Ccai_strdup(tc->id);
        o->name = Ccai_strdup(tc->name);
        o->args = Ccai_strdup(tc->args.data ? tc->args.data : "{}");
        if (!o->id || !o->name || !o->args)
            return false;
    }
    return true;
}

/* One tool's result into the round's record (result taken). */
static void tool_answered(Ccai_turn *t, char *result, const Ccai_tool_outcome *one)
{
    const struct turn_tool *tc = &t->tc[t->tool_i++];
    t->out.end_call |= one->end_call;
    t->out.transfer |= one->transfer;
    json_t *r = t->record ? json_pack("{s:s, s:s, s:s, s:s}", "tool_id", tc->id, "function_name",
                                      tc->name, "function_arguments", tc->args, "content",
                                      result ? result : "Error: out of memory.")
                          : NULL;
    ccai_free(result);
    if (!r || json_array_append_new(t->record, r)) {
        json_decref(t->record);
        t->record = NULL;
    }
}

/* Every tool has answered: store the results, then the next round. */
static void tools_done(Ccai_turn *t)
{
    ccai_call *c = t->c;
    Ccai_tool_outcome out = t->out;
    bool rounds_left = t->round < Ccai_engine_max_rounds(c->eng);
    char *text = t->record ? Ccai_json_dump(t->record, JSON_COMPACT) : NULL;
    tools_clear(t);
    ccai_status st_rec = text ? Ccai_call_add_message(c, "assistant", "talk", CCAI_STYLE_NONE, "",
                                                      NULL, text, t->engine, NULL)
                              : CCAI_ERR_NOMEM;
    ccai_free(text);
    if (t->doomed)
        return;
    /* Persist, then act: the next round reads the tool results from the
     * store; without them it would ask for the same tools again. The
     * failure is on the call and in the log: the turn ends here. */
    if (st_rec != CCAI_OK && !(out.end_call || out.transfer)) {
        Ccai_log(&c->log, CCAI_LOG_ERROR, "call %s: tool results not stored: %s", c->row.id,
                 ccai_status_str(st_rec));
        Ccai_conv_say_phrase(c, CCAI_TTS_ERROR, true, false);
        turn_end(t, true);
        return;
    }
    if (out.end_call || out.transfer || c->state >= CCAI_CALL_TRANSFERRING) {
        turn_end(t, false);
        return;
    }
    /* Rounds used up: one last request without tools, so that the
     * caller hears what was done. */
    if (!rounds_left && !t->no_tools) {
        t->no_tools = true;
        start_round(t);
        return;
    }
    if (rounds_left) {
        start_round(t);
        return;
    }
    turn_end(t, true);
}

/* Run the round's tools from t->tool_i on, in order; one that answers
 * later holds the others until Ccai_conv_tool_result(). */
static void run_tools(Ccai_turn *t)
{
    while (t->record && t->tool_i < t->n_tc && !t->doomed) {
        const struct turn_tool *tc = &t->tc[t->tool_i];
        Ccai_tool_outcome one = {0};
        Ccai_span *sp = Ccai_span_child(t->span, "tool", CCAI_SPAN_INTERNAL);
        Ccai_span_attr_str(sp, "tool.name", tc->name);
        char *result = Ccai_tools_run(t->c, tc->name, tc->args, t->engine, &one);
        if (one.wait) {
            t->wait = one.wait;
            t->tool_span = sp; /* ends when the tool answers */
            return;
        }
        Ccai_span_end_st(sp, result ? CCAI_OK : CCAI_ERR_NOMEM);
        tool_answered(t, result, &one);
    }
    if (!t->doomed)
        tools_done(t);
}

void Ccai_conv_tool_result(ccai_call *c, char *result)
{
    Ccai_turn *t = c->turn;
    if (!t || !t->wait ||
        t->tool_i >= t->n_tc) { /* no turn waits for it (cannot happen: cancelled) */
        ccai_free(result);
        return;
    }
    t->wait = NULL;
    Ccai_span_end_st(t->tool_span, result ? CCAI_OK : CCAI_ERR_NOMEM);
    t->tool_span = NULL;
    turn_enter(t);
    Ccai_tool_outcome none = {0};
    tool_answered(t, result, &none);
    run_tools(t);
    /* The last thing done here: whether the turn lives on changes nothing. */
    CCAI_DISCARD(turn_leave(t));
}

static void llm_done(Ccai_turn *t, ccai_status st, const Ccai_llm_result *res, const char *errmsg);

static void early_keep_end(Ccai_turn *t, ccai_status st, const Ccai_llm_result *res,
                           const char *errmsg);

static void on_llm_done(ccai_status st, const Ccai_llm_result *res, const char *errmsg, void *ud)
{
    Ccai_turn *t = ud;
    t->llm = NULL;
    if (res) {
        Ccai_span_attr_str(t->llm_span, "llm.model", res->model_name);
        Ccai_span_attr_int(t->llm_span, "llm.attempts", res->attempts);
        Ccai_span_attr_int(t->llm_span, "llm.first_token_ms", (int64_t)res->first_token_ms);
        Ccai_span_attr_int(t->llm_span, "llm.tool_calls", res->calls ? (int64_t)res->calls->n : 0);
    }
    if (st != CCAI_OK && errmsg)
        Ccai_span_error(t->llm_span, errmsg);
    Ccai_span_end_st(t->llm_span, st);
    t->llm_span = NULL;
    if (t->early) {
        early_keep_end(t, st, res, errmsg);
        return;
    }
    turn_enter(t);
    llm_done(t, st, res, errmsg);
    /* The last thing done here: whether the turn lives on changes nothing. */
    CCAI_DISCARD(turn_leave(t));
}

static void llm_done(Ccai_turn *t, ccai_status st, const Ccai_llm_result *res, const char *errmsg)
{
    ccai_call *c = t->c;
    if (st != CCAI_OK) {
        llm_failed(t, errmsg);
        return;
    }
    snprintf(t->engine, sizeof t->engine, "llm:%s", res->model_name);
    if (res->first_token_ms) {
        /* The tier and the model's own name (configuration text: escaped). */
        char *labels = Ccai_metrics_labels("tier", res->model_name ? res->model_name : "", "model",
                                           res->model ? res->model : "", (const char *)NULL);
        /* Best effort: a sample lost changes nothing of the call. */
        if (labels)
            CCAI_DISCARD(Ccai_metrics_histogram_observe(c->eng->metrics,
                                                        "ccai_llm_first_token_seconds", labels,
                                                        (double)res->first_token_ms / 1000.0));
        ccai_free(labels);
    }
    /* CCAI_ERR_CANCELLED: a barge-in from inside say() (doomed, below). */
    if (Ccai_sentences_flush(&t->sent, on_sentence, t) == CCAI_ERR_NOMEM)
        Ccai_log(&c->log, CCAI_LOG_WARN, "call %s: out of memory saying the answer's end",
                 c->row.id);
    if (t->doomed)
        return; /* the caller barged in meanwhile */
    if (t->filtered) {
        bot_filtered(t);
        return;
    }
    if (res->finish == CCAI_FINISH_CONTENT_FILTER) {
        count(c->eng, "content_filter");
        /* The prompt shield's jailbreak: the configured action. */
        content_filtered(t,
                         res->jailbreak ? Ccai_guardrails_provider(c, true) : CCAI_GUARD_ACT_ERROR);
        return;
    }
    if (res->jailbreak) /* annotate mode: the answer came, the attempt is recorded */
        CCAI_DISCARD(Ccai_guardrails_provider(c, false));
    Ccai_engine *e = c->eng;
    bool rounds_left = t->round < Ccai_engine_max_rounds(e);
    size_t n = res->calls->n;
    if (n > 0) {
        if (!tools_copy(t, res->calls)) {
            Ccai_log(&c->log, CCAI_LOG_ERROR, "call %s: out of memory for the tool calls",
                     c->row.id);
            Ccai_conv_say_phrase(c, CCAI_TTS_ERROR, true, false);
            turn_end(t, true);
            return;
        }
        run_tools(t);
        return;
    }
    if (!res->text || !*res->text) {
        /* An empty answer is a known hallucination: ask again, once. */
        if (rounds_left && t->empty_retries++ < 1) {
            start_round(t);
            return;
        }
        Ccai_conv_say_phrase(c, CCAI_TTS_ERROR, true, false);
        turn_end(t, true);
        return;
    }
    if (res->finish == CCAI_FINISH_LENGTH && rounds_left) {
        start_round(t); /* keep what was said, let it go on */
        return;
    }
    turn_end(t, true);
}

static const Ccai_llm_callbacks llm_callbacks = {on_text, on_retry, on_llm_done};

/* A retry of the round: its messages again, the same history (the
 * system prompts written anew, with the time of day of now). */
static char *messages_again(void *ud)
{
    Ccai_turn *t = ud;
    char *messages = NULL;
    int64_t seq = t->history_seq;
    return Ccai_request_messages_early(t->c, t->tools, &seq, t->early ? t->caller_text : NULL,
                                       &messages) == CCAI_OK
               ? messages
               : NULL;
}

static void start_round(Ccai_turn *t)
{
    ccai_call *c = t->c;
    Ccai_engine *e = c->eng;
    t->round++;
    size_t first = Ccai_engine_chat_first(e), second = 1 - first;
    snprintf(t->engine, sizeof t->engine, "llm:%s", e->models[first].name);
    Ccai_sentences_free(&t->sent);
    Ccai_sentences_init(&t->sent);
    /* end_call is kept from the first turn of a resumed call: the caller
     * rang back, this is no goodbye. */
    const Ccai_tools_text *tools =
        t->no_tools ? NULL : Ccai_request_tools(c, c->resumed && c->first_turn ? 1 : 0);
    char *messages = NULL;
    t->tools = tools;
    t->history_seq = -1;
    ccai_status st = tools || t->no_tools
                         ? Ccai_request_messages_early(c, tools, &t->history_seq,
                                                       t->early ? t->caller_text : NULL, &messages)
                         : CCAI_ERR_NOMEM;
    if (st == CCAI_OK) {
        uint64_t elapsed = 0;
        Ccai_llm_opts o = {
            .messages_json = messages,
            .messages_again = messages_again,
            .tools_json = tools ? tools->json : NULL,
            .models = {&e->models[first], e->n_models > 1 ? &e->models[second] : NULL},
            .health = {&e->health[first], &e->health[second]},
            .budget_ms = t->hard_ms > elapsed ? t->hard_ms : 0,
        };
        t->llm_span = Ccai_span_child(t->span, "llm_completion", CCAI_SPAN_CLIENT);
        Ccai_span_attr_str(t->llm_span, "llm.model", e->models[first].name);
        Ccai_span_attr_int(t->llm_span, "llm.round", t->round);
        st = Ccai_llm_chat(c->ctx, &o, &llm_callbacks, t, &t->llm);
        if (st != CCAI_OK) {
            Ccai_span_end_st(t->llm_span, st);
            t->llm_span = NULL;
        }
    }
    if (st != CCAI_OK && t->early) {
        /* Kept as its end: the final words start a turn of their own. */
        t->ended = true;
        t->end_st = st;
        return;
    }
    if (st != CCAI_OK)
        llm_failed(t, ccai_status_str(st));
}

static void on_soft(Ccai_timer *timer, void *ud)
{
    CCAI_UNUSED(timer);
    Ccai_turn *t = ud;
    if (!t->said && !t->loading) {
        t->loading = true;
        turn_enter(t);
        Ccai_conv_say_phrase(t->c, CCAI_TTS_TIMEOUT_LOADING, false, false);
        /* The last thing done here: whether the turn lives on changes nothing. */
        CCAI_DISCARD(turn_leave(t));
    }
}

static void on_hard(Ccai_timer *timer, void *ud)
{
    CCAI_UNUSED(timer);
    Ccai_turn *t = ud;
    Ccai_log(&t->c->log, CCAI_LOG_WARN, "call %s: no answer within %u ms", t->c->row.id,
             t->hard_ms);
    count(t->c->eng, "hard_timeout");
    Ccai_span_error(t->span, "answer_hard_timeout");
    if (t->llm) {
        Ccai_llm_cancel(t->llm);
        t->llm = NULL;
    }
    turn_enter(t);
    Ccai_conv_say_phrase(t->c, CCAI_TTS_ERROR, true, false); /* not stored */
    if (!t->doomed)
        turn_end(t, true);
    /* The last thing done here: whether the turn lives on changes nothing. */
    CCAI_DISCARD(turn_leave(t));
}

static void start_turn(ccai_call *c, const char *text)
{
    Ccai_engine *e = c->eng;
    Ccai_turn *t = Ccai_calloc(1, sizeof *t);
    if (!t) {
        Ccai_conv_say_phrase(c, CCAI_TTS_ERROR, true, false);
        listen(c);
        return;
    }
    t->c = c;
    t->caller_text = Ccai_strdup(text);
    t->started = Ccai_ctx_now(c->ctx);
    snprintf(t->engine, sizeof t->engine, "llm");
    Ccai_sentences_init(&t->sent);
    Ccai_timer_init(&t->soft, on_soft, t);
    Ccai_timer_init(&t->hard, on_hard, t);
    c->turn = t;
    set_state(c, CCAI_CALL_TURN);
    t->span = Ccai_span_child(c->span, "turn", CCAI_SPAN_INTERNAL);
    Ccai_span_attr_str(t->span, "call.id", c->row.id);
    t->hard_ms = Ccai_engine_flag_ms(e, CCAI_FLAG_HARD);
    Ccai_timer_start(c->ctx, &t->soft, Ccai_engine_flag_ms(e, CCAI_FLAG_SOFT));
    Ccai_timer_start(c->ctx, &t->hard, t->hard_ms);
    start_round(t);
}

/* Early start ------------------------------------------------------------------ */

/* Words compared as the recogniser's partial and final results differ
 * (case, punctuation, spacing): letters and digits, lower case, one
 * space between words. */
static bool same_words(const char *a, const char *b)
{
    for (;;) {
        while (*a && !(isalnum((unsigned char)*a) || (unsigned char)*a >= 0x80))
            a++;
        while (*b && !(isalnum((unsigned char)*b) || (unsigned char)*b >= 0x80))
            b++;
        if (!*a || !*b)
            return !*a && !*b;
        while ((isalnum((unsigned char)*a) || (unsigned char)*a >= 0x80) &&
               (isalnum((unsigned char)*b) || (unsigned char)*b >= 0x80)) {
            if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
                return false;
            a++;
            b++;
        }
        bool a_word = isalnum((unsigned char)*a) || (unsigned char)*a >= 0x80;
        bool b_word = isalnum((unsigned char)*b) || (unsigned char)*b >= 0x80;
        if (a_word != b_word)
            return false; /* one word goes on, the other ended */
    }
}

static void early_count(ccai_call *c, const char *outcome)
{
    char labels[48];
    snprintf(labels, sizeof labels, "outcome=\"%s\"", outcome);
    /* Best effort: a sample lost changes nothing of the call. */
    CCAI_DISCARD(
        Ccai_metrics_counter_add(c->eng->metrics, "ccai_llm_early_turns_total", labels, 1));
}

/* The LLM answered an early turn before the final words: its end is kept
 * (copied) for when they come. */
static void early_keep_end(Ccai_turn *t, ccai_status st, const Ccai_llm_result *res,
                           const char *errmsg)
{
    t->ended = true;
    t->end_st = st;
    if (st != CCAI_OK) {
        t->end_err = errmsg ? Ccai_strdup(errmsg) : NULL;
        return;
    }
    t->end = *res;
    t->end.calls = NULL;
    t->end.text = NULL;
    t->end.model_name = NULL;
    bool ok = (!res->text || (t->end_text = Ccai_strdup(res->text))) &&
              (t->end_model = Ccai_strdup(res->model_name ? res->model_name : ""));
    for (size_t i = 0; ok && res->calls && i < res->calls->n; i++) {
        const Ccai_tool_call *from = &res->calls->v[i];
        Ccai_tool_call *to = &t->end_calls.v[t->end_calls.n++];
        to->index = from->index;
        ok = (!from->id || (to->id = Ccai_strdup(from->id))) &&
             (!from->name || (to->name = Ccai_strdup(from->name))) &&
             (!from->args.data || Ccai_buf_append(&to->args, from->args.data, from->args.len));
    }
    if (!ok)
        t->end_st = CCAI_ERR_NOMEM; /* not usable: the final words start a turn */
}

ccai_status Ccai_conv_early_start(ccai_call *c, const char *text)
{
    if (!text || !*text)
        return CCAI_ERR_INVALID_ARG;
    /* Safe only where nothing else is under way: the conversation waits
     * for the caller (no turn, the bot's words all heard, an LLM can be
     * asked), so the early request is the one the final words would make. */
    if (c->early || c->turn || c->offline_mode || c->speaking || c->free_pending ||
        c->state != CCAI_CALL_CONVERSATION || !llm_ready(c))
        return CCAI_ERR_STATE;
    /* Words the guardrails would keep from the LLM are not sent early
     * either: the final words meet them (Ccai_conv_caller_said). */
    if (!Ccai_guardrails_caller_clean(c, text))
        return CCAI_ERR_STATE;
    /* The bot's words kept for the next group commit belong in the
     * history the request reads. */
    Ccai_call_store_kept(c);
    Ccai_turn *t = Ccai_calloc(1, sizeof *t);
    if (!t || !(t->caller_text = Ccai_strdup(text))) {
        ccai_free(t);
        return CCAI_ERR_NOMEM;
    }
    t->c = c;
    t->early = true;
    snprintf(t->engine, sizeof t->engine, "llm");
    Ccai_sentences_init(&t->sent);
    Ccai_tool_calls_init(&t->end_calls);
    Ccai_timer_init(&t->soft, on_soft, t);
    Ccai_timer_init(&t->hard, on_hard, t);
    c->early = t;
    t->span = Ccai_span_child(c->span, "turn", CCAI_SPAN_INTERNAL);
    Ccai_span_attr_str(t->span, "call.id", c->row.id);
    Ccai_span_attr_bool(t->span, "turn.early", true);
    t->hard_ms = Ccai_engine_flag_ms(c->eng, CCAI_FLAG_HARD);
    start_round(t);
    Ccai_log(&c->log, CCAI_LOG_DEBUG, "call %s: early turn on the caller's words so far",
             c->row.id);
    return CCAI_OK;
}

static void early_drop(ccai_call *c, Ccai_turn *t, const char *why)
{
    if (!t)
        return;
    Ccai_log(&c->log, CCAI_LOG_DEBUG, "call %s: early turn dropped: %s", c->row.id, why);
    early_count(c, "dropped");
    turn_free(t);
}

void Ccai_conv_early_cancel(ccai_call *c)
{
    Ccai_turn *t = c->early;
    c->early = NULL;
    early_drop(c, t, "the caller's words were not final");
}

typedef struct newest_read {
    int64_t seq;
} newest_read;

static int on_newest(const Ccai_store_message *m, void *ud)
{
    ((newest_read *)ud)->seq = m->seq;
    return 1;
}

/* The final words (stored as message seq) are those the early turn was
 * asked with, and nothing else was stored between: its request is the one
 * they would make. */
static bool early_fits(ccai_call *c, const Ccai_turn *t, const char *text, int64_t seq)
{
    if (!same_words(t->caller_text, text) || (t->ended && t->end_st != CCAI_OK))
        return false;
    newest_read r = {-1};
    if (Ccai_store_messages_newest(c->eng->store, c->row.id, 1, seq - 1, on_newest, &r) != CCAI_OK)
        return false;
    return r.seq == (t->history_seq < 0 ? -1 : t->history_seq);
}

/* The early turn becomes the turn: its held sentences are said now, and
 * what the LLM ended with (tools included) is acted on now. */
static void early_adopt(ccai_call *c, Ccai_turn *t, int64_t seq)
{
    Ccai_log(&c->log, CCAI_LOG_DEBUG, "call %s: early turn taken: the final words are its",
             c->row.id);
    early_count(c, "used");
    t->early = false;
    t->history_seq = seq; /* a retry reads the words from the store */
    t->started = Ccai_ctx_now(c->ctx);
    c->turn = t;
    set_state(c, CCAI_CALL_TURN);
    t->hard_ms = Ccai_engine_flag_ms(c->eng, CCAI_FLAG_HARD);
    Ccai_timer_start(c->ctx, &t->soft, Ccai_engine_flag_ms(c->eng, CCAI_FLAG_SOFT));
    Ccai_timer_start(c->ctx, &t->hard, t->hard_ms);
    turn_enter(t);
    for (size_t off = 0; off < t->held.len && !t->doomed;) {
        ccai_style style = (ccai_style)t->held.data[off];
        const char *text = t->held.data + off + 1;
        off += strlen(text) + 2;
        /* The content filter, as on_sentence() does for a streamed one. */
        if (!Ccai_guardrails_bot_ok(c, text, true)) {
            t->filtered = true;
            break;
        }
        /* Stored at the next turn of the loop, as a streamed sentence. */
        if (say(c, text, style, false, true, t->engine, true))
            t->said = true;
    }
    Ccai_buf_free(&t->held);
    if (t->filtered && !t->doomed)
        bot_filtered(t);
    else if (!t->doomed && t->ended) {
        t->ended = false;
        Ccai_llm_result res = t->end;
        res.calls = &t->end_calls;
        res.text = t->end_text;
        res.model_name = t->end_model;
        llm_done(t, CCAI_OK, &res, NULL);
    }
    /* The last thing done here: whether the turn lives on changes nothing. */
    CCAI_DISCARD(turn_leave(t));
}

/* Entry points from call.c ----------------------------------------------------- */

static void on_silence_timer(Ccai_timer *timer, void *ud)
{
    CCAI_UNUSED(timer);
    ccai_call *c = ud;
    Ccai_call_enter(c);
    Ccai_conv_silence(c);
    Ccai_call_leave(c);
}

void Ccai_conv_init(ccai_call *c)
{
    Ccai_timer_init(&c->silence, on_silence_timer, c);
    Ccai_timer_set_idle(&c->silence, true); /* waiting for the caller is no work */
    c->first_turn = true;
    c->offline_mode = c->eng->n_models == 0;
}

void Ccai_conv_cleanup(ccai_call *c)
{
    if (c->turn) {
        Ccai_turn *t = c->turn;
        c->turn = NULL;
        turn_free(t);
    }
    if (c->early) {
        Ccai_turn *t = c->early;
        c->early = NULL;
        turn_free(t);
    }
    Ccai_conv_kept_forget(c);
    silence_stop(c);
    Ccai_offline_free(c->offline);
    c->offline = NULL;
    Ccai_tz_free(c->tz);
    c->tz = NULL;
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(c->tools_cache); i++) {
        Ccai_tools_text_unref(c->tools_cache[i]);
        c->tools_cache[i] = NULL;
    }
}

/* A callback's opening: who calls, and about what (what the LLM gave when
 * it scheduled it, else the report's subject, else the claim). */
static CCAI_MUST_CHECK bool say_callback(ccai_call *c, bool expects_reply)
{
    const char *about = c->callback_about && *c->callback_about ? c->callback_about : NULL;
    json_t *syn = NULL;
    if (!about && c->row.synthesis_json) {
        Ccai_json_err jerr;
        ccai_status pst;
        syn = Ccai_json_load(c->row.synthesis_json, strlen(c->row.synthesis_json), &jerr, &pst);
        about = json_string_value(json_object_get(syn, "short"));
    }
    Ccai_prompt_var vars[] = {
        {"bot_name", Ccai_conv_initiate_str(c, "bot_name")},
        {"bot_company", Ccai_conv_initiate_str(c, "bot_company")},
        {"about", about && *about ? about : Ccai_conv_initiate_str(c, "task")},
    };
    char *text = Ccai_engine_render_phrase(c->eng, CCAI_TTS_CALLBACK, c->row.lang, random32(), vars,
                                           CCAI_ARRAY_SIZE(vars));
    json_decref(syn);
    bool ok = text && Ccai_conv_say(c, text, CCAI_STYLE_NONE, expects_reply, false, "script");
    ccai_free(text);
    return ok;
}

void Ccai_conv_connected(ccai_call *c)
{
    if (c->callback_job) {
        /* The callee of a callback: told why we call, then the LLM (the
         * conversation it resumes holds the claim and what was said). */
        if (c->offline_mode) {
            /* Not said (the channel refused it): the offline dialogue's
             * greeting still opens. */
            CCAI_DISCARD(say_callback(c, false));
        } else {
            if (!say_callback(c, true))
                Ccai_conv_say_phrase(c, CCAI_TTS_WELCOME_BACK, true, true);
            listen(c);
            return;
        }
    }
    if (c->offline_mode) {
        const Ccai_offline_reply *r = NULL;
        if ((c->offline || offline_new(c) == CCAI_OK) &&
            Ccai_offline_start(c->offline, c->resumed, &r) == CCAI_OK) {
            offline_act(c, r);
            return;
        }
        Ccai_conv_say_phrase(c, CCAI_TTS_ERROR, true, false);
        listen(c);
        return;
    }
    Ccai_conv_say_phrase(c, c->resumed ? CCAI_TTS_WELCOME_BACK : CCAI_TTS_HELLO, true, true);
    listen(c);
}

static void barge_in(ccai_call *c)
{
    if (c->turn) {
        Ccai_turn *t = c->turn;
        c->turn = NULL;
        turn_free(t);
        set_state(c, CCAI_CALL_CONVERSATION);
    }
    if (c->speaking && c->ops.stop_speaking)
        c->ops.stop_speaking(c, c->ud);
    c->speaking = false;
}

void Ccai_conv_caller_said(ccai_call *c, const char *text, int64_t seq)
{
    Ccai_turn *early = c->early;
    c->early = NULL;
    barge_in(c);
    silence_stop(c);
    c->silences = 0;
    /* Before anything answers them: a jailbreak, or words the filter
     * blocks, never reach the LLM. */
    Ccai_guard_act act = Ccai_guardrails_caller(c, text, seq);
    if (act != CCAI_GUARD_ACT_NONE) {
        early_drop(c, early, "the caller's words were kept back");
        if (guard_act(c, act))
            listen(c);
        return;
    }
    /* The offline dialogue answered while every LLM failed or cooled down:
     * as soon as one can be asked again, it answers again. */
    if (c->offline_mode && llm_ready(c))
        c->offline_mode = false;
    if (early && !c->offline_mode && llm_ready(c) && early_fits(c, early, text, seq)) {
        early_adopt(c, early, seq);
        return;
    }
    early_drop(c, early, "the final words differ");
    if (c->offline_mode) {
        offline_turn(c, text, false);
        return;
    }
    if (!llm_ready(c)) {
        /* Every model cools down (rate limits, failures): no request can
         * answer, the offline dialogue does, for now. */
        Ccai_log(&c->log, CCAI_LOG_WARN, "call %s: every LLM cools down: offline dialogue",
                 c->row.id);
        c->offline_mode = true;
        offline_turn(c, text, true);
        return;
    }
    start_turn(c, text);
}

void Ccai_conv_partial(ccai_call *c)
{
    /* The caller talks over the bot: stop speaking, drop the answer. */
    barge_in(c);
    silence_stop(c);
}

void Ccai_conv_silence(ccai_call *c)
{
    if (c->machine == CCAI_MACHINE_GREETING) {
        Ccai_voicemail_end_wait(c); /* the greeting's end did not come */
        return;
    }
    if (c->machine != CCAI_MACHINE_NONE)
        return;
    if (c->state == CCAI_CALL_LANGUAGE_MENU) {
        Ccai_menu_silence(c);
        return;
    }
    if (c->turn || c->state >= CCAI_CALL_TRANSFERRING)
        return; /* the bot is the one thinking */
    if (c->offline_mode) {
        offline_turn(c, NULL, false);
        return;
    }
    if (++c->silences > Ccai_engine_retry_max(c->eng)) {
        Ccai_conv_goodbye(c, true);
        return;
    }
    Ccai_conv_say_phrase(c, CCAI_TTS_TIMEOUT_SILENCE, true, false);
    listen(c);
}

void Ccai_conv_say_done(ccai_call *c)
{
    c->speaking = false;
    /* Silence counts from the end of what the bot said. */
    if (Ccai_timer_active(&c->silence) || c->silence_deferred) {
        c->silence_deferred = false;
        Ccai_timer_start(c->ctx, &c->silence, Ccai_engine_flag_ms(c->eng, CCAI_FLAG_SILENCE));
    }
}

static void act_transfer(ccai_call *c, const char *agent, int64_t num)
{
    CCAI_UNUSED(num);
    if (c->state != CCAI_CALL_TRANSFERRING)
        return; /* ended meanwhile (the caller hung up) */
    if (c->ops.transfer(c, agent, c->ud) != 0)
        Ccai_conv_transfer_failed(c, "the channel cannot transfer");
}

bool Ccai_conv_transfer(ccai_call *c)
{
    return Ccai_conv_transfer_to(c, NULL);
}

bool Ccai_conv_transfer_to(ccai_call *c, const char *number)
{
    const char *agent = number ? number : Ccai_conv_initiate_str(c, "agent_phone_number");
    silence_stop(c);
    if (!*agent || !c->ops.transfer) {
        Ccai_conv_transfer_failed(c, "no agent number or no transfer support");
        return false;
    }
    /* Persist, then act: the channel transfers once "transferring" is
     * committed; a call whose state could not be stored is not
     * transferred (a transfer the store does not know of would leave the
     * call in the wrong state for the provider's callbacks). */
    ccai_status st = Ccai_call_set_state(c, CCAI_CALL_TRANSFERRING);
    if (st == CCAI_OK)
        st = Ccai_call_after_commit(c, act_transfer, agent, 0);
    if (st != CCAI_OK) {
        Ccai_conv_transfer_failed(c, "the transfer could not be stored");
        return false;
    }
    return c->state == CCAI_CALL_TRANSFERRING;
}

void Ccai_conv_transfer_failed(ccai_call *c, const char *reason)
{
    Ccai_log(&c->log, CCAI_LOG_WARN, "call %s: transfer failed: %s", c->row.id,
             reason ? reason : "no reason given");
    /* Not stored: the stored call stays "transferring" and ends as any
     * call does (the goodbye's hang-up, below); logged. */
    if (c->state == CCAI_CALL_TRANSFERRING) {
        ccai_status st = Ccai_call_set_state(c, CCAI_CALL_CONVERSATION);
        if (st != CCAI_OK)
            Ccai_log(&c->log, CCAI_LOG_WARN, "call %s: back to the conversation, not stored: %s",
                     c->row.id, ccai_status_str(st));
    }
    Ccai_conv_say_phrase(c, CCAI_TTS_CALLTRANSFER_FAILURE, false, true);
    /* Somebody calls back: a reminder the operators see. The caller was
     * told already; one not stored is logged for the operators instead. */
    if (Ccai_store_reminder_upsert(c->eng->store, c->row.id, "Call back the customer",
                                   "The transfer to a human agent failed; call the customer back.",
                                   Ccai_wall_ms() + 3600 * 1000, "assistant", NULL) != CCAI_OK)
        Ccai_log(&c->log, CCAI_LOG_ERROR,
                 "call %s: call the customer back (the transfer failed): reminder not stored: %s",
                 c->row.id, Ccai_store_errmsg(c->eng->store));
    Ccai_conv_goodbye(c, true);
}

void Ccai_conv_listen(ccai_call *c)
{
    listen(c);
}

void Ccai_conv_tools_changed(ccai_call *c)
{
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(c->tools_cache); i++) {
        Ccai_tools_text_unref(c->tools_cache[i]);
        c->tools_cache[i] = NULL;
    }
}

void Ccai_conv_machine(ccai_call *c, uint32_t wait_ms)
{
    /* As Ccai_conv_cleanup(): a turn in flight is dropped, its request
     * cancelled. */
    Ccai_turn *t = c->turn, *early = c->early;
    c->turn = c->early = NULL;
    if (t)
        turn_free(t);
    if (early)
        turn_free(early);
    silence_stop(c);
    if (c->speaking && c->ops.stop_speaking)
        c->ops.stop_speaking(c, c->ud);
    if (wait_ms)
        Ccai_timer_start(c->ctx, &c->silence, wait_ms);
}

void Ccai_conv_not_understood(ccai_call *c)
{
    if (++c->not_understood >= Ccai_engine_retry_max(c->eng)) {
        Ccai_conv_goodbye(c, true);
        return;
    }
    Ccai_conv_say_phrase(c, CCAI_TTS_ERROR, true, false);
    listen(c);
}
