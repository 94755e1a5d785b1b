/* The Twilio voice and SMS channel: the call, its webhooks and Gather mode;
 * stream mode (Media Streams) is twilio_media.c, the shared parts are in
 * twilio_call.h.
 *
 * Twilio asks for TwiML at each step of a call; the engine speaks through
 * ccai_call_ops. The channel turns one into the other:
 * - say() queues a sentence; listen() ends the bot's turn; transfer() and
 *   hangup() end the call's TwiML with <Dial> or <Hangup>;
 * - a webhook answers with what is queued: the sentences so far then a
 *   <Redirect> to /twilio/next while the bot is still answering (the first
 *   sentence plays while the LLM writes the rest), or the sentences inside
 *   a <Gather input="speech dtmf" bargeIn="true"> once the bot listens;
 *   when nothing is queued yet the webhook waits for the first sentence.
 * Every webhook's X-Twilio-Signature is checked against server.public_url;
 * per-call URLs also carry the call's random secret. The channel drives its
 * calls through the public API only, as a host's own channel would. */
#include "channels/twilio/twilio_call.h"

#include "channels/twilio/twilio_rest.h"
#include "channels/twilio/twilio_sig.h"
#include "channels/twilio/twilio_sms.h"
#include "channels/twilio/twiml.h"
#include "config/config.h"
#include "core/json.h"
#include "http/auth.h"
#include "http/form.h"
#include "io/io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void tw_free(Ccai_twilio *tw, tw_call *t)
{
    for (tw_call **p = &tw->calls; *p; p = &(*p)->next) {
        if (*p == t) {
            *p = t->next;
            break;
        }
    }
    Ccai_timer_stop(tw->ctx, &t->over);
    Ccai_timer_stop(tw->ctx, &t->gone);
    Ccai_timer_stop(tw->ctx, &t->bye);
    Ccai_wss_release(t->ws);
    Ccai_buf_free(&t->pending);
    Ccai_buf_free(&t->msg);
    Ccai_outbox_free(&t->out);
    ccai_call_free(t->call);
    json_decref(t->initiate);
    ccai_free(t);
}

/* Twilio hangs up on <Hangup/>: the call is over then, whether or not a
 * status callback will say so (the phone number may have none). */
void Ccai_tw_over(Ccai_timer *timer, void *ud)
{
    CCAI_UNUSED(timer);
    tw_call *t = ud;
    /* The handle goes next: an end the engine could not store (it logged
     * why) is stored by the handle's release, or by the sweep of calls
     * nobody holds. */
    if (ccai_call_get_state(t->call) < CCAI_CALL_ENDED)
        CCAI_DISCARD(ccai_call_notify(t->call, CCAI_EVENT_HANGUP, "hangup"));
    tw_free(t->tw, t);
}

tw_call *Ccai_tw_find(Ccai_twilio *tw, const char *call_id)
{
    for (tw_call *t = tw->calls; t; t = t->next) {
        if (strcmp(ccai_call_id(t->call), call_id) == 0)
            return t;
    }
    return NULL;
}

static tw_call *find_sid(Ccai_twilio *tw, const char *sid)
{
    for (tw_call *t = tw->calls; t && sid && *sid; t = t->next) {
        if (strcmp(t->sid, sid) == 0)
            return t;
    }
    return NULL;
}

/* URLs ------------------------------------------------------------------------ */

char *Ccai_tw_call_url(const Ccai_twilio *tw, const char *route, ccai_call *c)
{
    return Ccai_http_public_url_join(tw->cfg, "/twilio/", route, "?call=", ccai_call_id(c),
                                     "&s=", ccai_call_secret(c), NULL);
}

/* TwiML ------------------------------------------------------------------------- */

/* The configured voices name Azure voices ("fr-FR-VivienneMultilingualNeural");
 * Twilio's <Say> takes its own ("Polly.Lea-Neural", "Google.fr-FR-Neural2-A",
 * "alice"). Others are left out: Twilio then picks the language's default. */
static const char *twilio_voice(const char *voice)
{
    if (!voice)
        return NULL;
    if (!strncmp(voice, "Polly.", 6) || !strncmp(voice, "Google.", 7) || !strcmp(voice, "alice") ||
        !strcmp(voice, "man") || !strcmp(voice, "woman"))
        return voice;
    return NULL;
}

/* Phrases the recogniser should expect: the bot's and company's names and
 * the languages the caller may ask for. Hints are advice: NULL when there
 * are none, or no memory for them. */
static char *speech_hints(const tw_call *t)
{
    Ccai_buf b = {0};
    bool ok = true;
    const char *keys[] = {"bot_name", "bot_company"};
    for (size_t i = 0; ok && i < CCAI_ARRAY_SIZE(keys); i++) {
        const char *v = json_string_value(json_object_get(t->initiate, keys[i]));
        if (v && *v)
            ok = (!b.len || Ccai_buf_puts(&b, ", ")) && Ccai_buf_puts(&b, v);
    }
    const json_t *avail = json_object_get(json_object_get(t->initiate, "lang"), "availables");
    size_t i;
    const json_t *l;
    json_array_foreach(avail, i, l)
    {
        const char *name =
            json_string_value(json_array_get(json_object_get(l, "pronunciations_en"), 0));
        if (ok && name && *name)
            ok = (!b.len || Ccai_buf_puts(&b, ", ")) && Ccai_buf_puts(&b, name);
    }
    /* The words of the lexicon (product names...) are words callers say. */
    json_array_foreach(Ccai_config_json(t->tw->cfg, "conversation.lexicon"), i, l)
    {
        const char *g = json_string_value(json_object_get(l, "grapheme"));
        if (ok && g && b.len + strlen(g) < 4000) /* Twilio caps hints; keep well under */
            ok = (!b.len || Ccai_buf_puts(&b, ", ")) && Ccai_buf_puts(&b, g);
    }
    char *hints = ok && b.len ? Ccai_buf_steal(&b) : NULL;
    Ccai_buf_free(&b);
    return hints;
}

/* The TwiML for what is queued (the outbox's render callback). */
static void render_twiml(Ccai_outbox *o, ccai_http_exchange *hx, void *ud)
{
    tw_call *t = ud;
    ccai_call *c = t->call;
    Ccai_twilio *tw = t->tw;
    Ccai_twiml x;
    Ccai_twiml_init(&x);
    char *gather_url = NULL, *next_url = NULL, *dial_url = NULL, *hints = NULL;
    if (o->listening && !o->hangup && !o->dial) {
        gather_url = Ccai_tw_call_url(tw, "gather", c);
        hints = speech_hints(t);
        Ccai_twiml_gather_opts g = {
            .input = "speech dtmf",
            .action = gather_url,
            .method = "POST",
            .language = ccai_call_lang(c),
            .hints = hints,
            .speech_timeout = "auto",
            .timeout = (int)Ccai_config_int(tw->cfg, "conversation.phone_silence_timeout_sec", 20),
            .barge_in = CCAI_TWIML_TRUE,
            .action_on_empty_result = CCAI_TWIML_TRUE,
        };
        /* A menu takes one key: Twilio posts it at once rather than after
         * the timeout (which also waits for more keys). */
        if (ccai_call_get_state(c) == CCAI_CALL_LANGUAGE_MENU)
            g.num_digits = 1;
        Ccai_twiml_gather_begin(&x, &g);
    }
    for (size_t i = 0; i < o->n; i++) {
        /* Style (cheerful, sad) is Azure's express-as: Twilio's voices
         * have none; the rate goes as SSML where the voice takes it. */
        const char *voice = twilio_voice(o->voice[i]);
        Ccai_twiml_say_opts so = {
            .voice = voice,
            .language = o->lang[i],
            .rate = Ccai_twiml_voice_takes_prosody(voice) ? o->rate[i] : 0,
        };
        Ccai_twiml_say(&x, o->text[i], &so);
    }
    if (gather_url) {
        Ccai_twiml_gather_end(&x);
    } else if (o->dial) {
        dial_url = Ccai_tw_call_url(tw, "dial", c);
        Ccai_twiml_dial_opts d = {.action = dial_url, .method = "POST", .timeout = 30};
        Ccai_twiml_dial_begin(&x, &d);
        Ccai_twiml_number(&x, o->dial, NULL);
        Ccai_twiml_dial_end(&x);
        ccai_free(o->dial); /* the Dial is out: its action reports back */
        o->dial = NULL;
    } else if (o->hangup) {
        Ccai_twiml_hangup(&x);
        /* Once this answer is out (not from inside the outbox). */
        Ccai_timer_start(tw->ctx, &t->over, 0);
    } else {
        /* The bot is still answering: play this, then come back for more. */
        next_url = Ccai_tw_call_url(tw, "next", c);
        Ccai_twiml_redirect(&x, next_url, "POST");
    }
    char *xml = NULL;
    size_t len = 0;
    ccai_status st = Ccai_twiml_finish(&x, &xml, &len);
    Ccai_twiml_free(&x);
    ccai_free(gather_url);
    ccai_free(next_url);
    ccai_free(dial_url);
    ccai_free(hints);
    Ccai_outbox_reset(o);
    if (st != CCAI_OK) {
        Ccai_exchange_error(hx, 500, "cannot build TwiML", ccai_status_str(st));
        return;
    }
    Ccai_exchange_respond(hx, 200, "text/xml", xml, len);
    ccai_free(xml);
}

/* Ops: the engine acts ---------------------------------------------------------- */

static int op_say(ccai_call *c, const ccai_speech *sp, void *ud)
{
    CCAI_UNUSED(c);
    return Ccai_outbox_say(&((tw_call *)ud)->out, sp);
}

static int op_listen(ccai_call *c, const char *lang, void *ud)
{
    CCAI_UNUSED(c);
    CCAI_UNUSED(lang);
    Ccai_outbox_listen(&((tw_call *)ud)->out);
    return 0;
}

static int op_stop(ccai_call *c, void *ud)
{
    CCAI_UNUSED(c);
    /* Sentences not played yet are dropped; what plays is barged in by
     * Twilio itself (bargeIn on the Gather). */
    Ccai_outbox_clear(&((tw_call *)ud)->out);
    return 0;
}

static int op_transfer(ccai_call *c, const char *number, void *ud)
{
    CCAI_UNUSED(c);
    return Ccai_outbox_transfer(&((tw_call *)ud)->out, number);
}

static int op_hangup(ccai_call *c, void *ud)
{
    CCAI_UNUSED(c);
    Ccai_outbox_hangup(&((tw_call *)ud)->out);
    return 0;
}

/* No send_sms: the engine sends through the configured SMS provider
 * (sms.mode twilio: a durable job, retried, whose delivery Twilio reports
 * to /twilio/sms-status), so the LLM is told what really happened. */
static const ccai_call_ops twilio_ops = {
    .version = CCAI_CALL_OPS_VERSION,
    .say = op_say,
    .stop_speaking = op_stop,
    .listen = op_listen,
    .transfer = op_transfer,
    .hangup = op_hangup,
};

/* Webhooks ---------------------------------------------------------------------- */

/* Parse the form and check the signature over the public URL Twilio used.
 * Answers 400/403 itself and returns false on failure. */
static CCAI_MUST_CHECK bool verified(Ccai_twilio *tw, ccai_http_exchange *x, Ccai_form *form)
{
    char *why = NULL;
    if (Ccai_form_parse(x->body, x->body_len, form, &why) != CCAI_OK) {
        Ccai_exchange_error(x, 400, "malformed form body", why);
        ccai_free(why);
        return false;
    }
    const char *token = Ccai_config_str(tw->cfg, "twilio.auth_token");
    char *url = Ccai_http_public_url_join(tw->cfg, x->path, x->query ? "?" : "",
                                          x->query ? x->query : "", NULL);
    /* The token's HMAC key state, kept while the token stays the same. */
    if (token && *token && !Ccai_twilio_signer_is(tw->signer, token)) {
        Ccai_twilio_signer_free(tw->signer);
        tw->signer = Ccai_twilio_signer_new(token);
    }
    bool ok =
        url && token && *token &&
        (tw->signer ? Ccai_twilio_signer_valid(tw->signer, url, form, x->body, x->body_len,
                                               Ccai_exchange_header(x, "X-Twilio-Signature"))
                    : Ccai_twilio_signature_valid(token, url, form, x->body, x->body_len,
                                                  Ccai_exchange_header(x, "X-Twilio-Signature")));
    ccai_free(url);
    if (!ok) {
        Ccai_log(tw->log, CCAI_LOG_WARN, "twilio: %s: bad or missing X-Twilio-Signature", x->path);
        Ccai_exchange_count_rejected(x, "twilio", "signature");
        Ccai_exchange_error(x, 403, "invalid Twilio signature", NULL);
        Ccai_form_free(form);
        return false;
    }
    return true;
}

/* The live call of a per-call URL, its secret checked. */
static tw_call *call_of(Ccai_twilio *tw, ccai_http_exchange *x)
{
    char *id = Ccai_exchange_query(x, "call");
    char *secret = Ccai_exchange_query(x, "s");
    tw_call *t = id ? Ccai_tw_find(tw, id) : NULL;
    if (t && (!secret || !Ccai_http_secret_equal(secret, ccai_call_secret(t->call))))
        t = NULL;
    ccai_free(id);
    ccai_free(secret);
    return t;
}

static CCAI_MUST_CHECK ccai_status start_call(Ccai_twilio *tw, const char *from, const char *to,
                                              const char *sid, ccai_direction dir,
                                              const char *initiate, const char *take_back,
                                              tw_call **ret)
{
    tw_call *t = Ccai_calloc(1, sizeof *t);
    if (!t)
        return CCAI_ERR_NOMEM;
    t->tw = tw;
    snprintf(t->sid, sizeof t->sid, "%s", sid ? sid : "");
    Ccai_outbox_init(&t->out, render_twiml, t);
    Ccai_timer_init(&t->over, Ccai_tw_over, t);
    Ccai_timer_init(&t->gone, Ccai_tw_over, t);
    Ccai_timer_init(&t->bye, Ccai_tw_on_bye, t);
    t->audio = tw->stream;
    ccai_call_params p = {
        .version = CCAI_CALL_PARAMS_VERSION,
        .direction = dir,
        .phone_number = from,
        .bot_phone_number = to,
        .channel = "twilio",
        .provider_call_id = sid,
        .initiate_json = initiate,
        .resume = dir == CCAI_INBOUND,
        /* Twilio's Gather reports silence itself (an empty result); on a
         * stream the voice layer hears it. */
        .flags = t->audio ? 0 : CCAI_CALL_REPORTS_SILENCE,
        .resume_call_id = take_back,
        .audio_in = t->audio ? (ccai_audio_format){CCAI_AUDIO_ULAW, 8000, 1}
                             : (ccai_audio_format){CCAI_AUDIO_NONE, 0, 0},
    };
    ccai_status st =
        ccai_call_start(tw->ctx, &p, t->audio ? &Ccai_tw_stream_ops : &twilio_ops, t, &t->call);
    if (st == CCAI_OK) {
        const char *init = ccai_call_initiate_json(t->call);
        Ccai_json_err e;
        t->initiate = Ccai_json_load(init, strlen(init), &e, &st);
        st = t->initiate ? CCAI_OK : CCAI_ERR_NOMEM; /* the store holds valid JSON */
        if (st != CCAI_OK)
            ccai_call_free(t->call);
    }
    if (st != CCAI_OK) {
        ccai_free(t);
        return st;
    }
    t->next = tw->calls;
    tw->calls = t;
    *ret = t;
    return CCAI_OK;
}

static void on_recording_started(ccai_status st, const Ccai_twilio_result *res, void *ud)
{
    Ccai_twilio *tw = ud;
    if (st != CCAI_OK)
        Ccai_log(tw->log, CCAI_LOG_WARN, "twilio: cannot start the recording: %s",
                 res && res->error_message ? res->error_message : ccai_status_str(st));
}

static void start_recording(Ccai_twilio *tw, tw_call *t)
{
    char *cb = Ccai_tw_call_url(tw, "recording", t->call);
    if (!cb ||
        Ccai_twilio_call_record(tw->rest, t->sid, cb, on_recording_started, tw, NULL) != CCAI_OK)
        Ccai_log(tw->log, CCAI_LOG_WARN, "twilio: cannot ask for the recording");
    ccai_free(cb);
}

/* A caller we cannot serve hears it instead of silence. */
static void say_sorry(ccai_http_exchange *x)
{
    static const char sorry[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Say>Sorry, this number cannot "
        "take your call right now. Please call again later.</Say><Hangup/></Response>";
    Ccai_exchange_respond(x, 200, "text/xml", sorry, sizeof sorry - 1);
}

static void route_voice(ccai_http_exchange *x, void *ud)
{
    Ccai_twilio *tw = ud;
    Ccai_form f = {0};
    if (!verified(tw, x, &f))
        return;
    tw_call *t = call_of(tw, x); /* an outbound call we placed, now answered */
    bool inbound = !t;
    if (!t) {
        const char *from = Ccai_form_get(&f, "From");
        const char *to = Ccai_form_get(&f, "To");
        const char *sid = Ccai_form_get(&f, "CallSid");
        if (!tw->rest || !from || !sid) {
            Ccai_exchange_error(x, 400, "From and CallSid are required", NULL);
            Ccai_form_free(&f);
            return;
        }
        /* Its webhook held (below), run again: the call started then. */
        t = find_sid(tw, sid);
        ccai_status st = CCAI_OK;
        if (t && t->connect_held)
            t->connect_held = false;
        else
            st = start_call(tw, from, to, sid, CCAI_INBOUND, NULL, NULL, &t);
        if (st == CCAI_ERR_BUSY) { /* Twilio waits: run it again once stored */
            Ccai_form_free(&f);
            Ccai_exchange_hold(x);
            return;
        }
        if (st != CCAI_OK) {
            Ccai_log(tw->log, CCAI_LOG_ERROR, "twilio: cannot start the call: %s: %s",
                     ccai_status_str(st), ccai_ctx_errmsg(tw->ctx));
            Ccai_form_free(&f);
            say_sorry(x);
            return;
        }
    }
    /* Answering-machine detection without AsyncAmd: Twilio asks for the
     * TwiML once it knows who answered. */
    const char *by = Ccai_form_get(&f, "AnsweredBy");
    snprintf(t->answered_by, sizeof t->answered_by, "%s", by && !inbound ? by : "");
    Ccai_form_free(&f);
    if (t->audio) {
        /* The engine is told the call is connected when its stream starts. */
        if (inbound && Ccai_config_bool(tw->cfg, "conversation.recording_enabled", false))
            start_recording(tw, t);
        Ccai_tw_answer_stream(tw, t, x);
        return;
    }
    /* Not connected (nothing stored, the engine not started): nobody would
     * ever answer this webhook; the caller hears why instead. */
    ccai_status st = ccai_call_notify(t->call, CCAI_EVENT_CONNECTED, NULL);
    if (st == CCAI_ERR_BUSY && inbound) {
        /* Another process holds the database's write lock (several
         * instances or workers on one SQLite file): Twilio waits, the
         * webhook runs again (server.store_wait_ms at most) and connects
         * this call, instead of the caller hearing a refusal. */
        t->connect_held = true;
        Ccai_exchange_hold(x);
        return;
    }
    if (st != CCAI_OK) {
        Ccai_log(tw->log, CCAI_LOG_ERROR, "twilio: call %s: cannot connect it: %s",
                 ccai_call_id(t->call), ccai_status_str(st));
        tw_free(tw, t);
        say_sorry(x);
        return;
    }
    /* Outbound calls asked Twilio to record when placed; inbound ones now. */
    if (inbound && Ccai_config_bool(tw->cfg, "conversation.recording_enabled", false))
        start_recording(tw, t);
    /* A machine: the answer is the message and the hang-up. */
    Ccai_tw_answered_by(t);
    Ccai_outbox_answer_or_wait(&t->out, x);
}

void Ccai_tw_answered_by(tw_call *t)
{
    if (!t->answered_by[0])
        return;
    ccai_status st = ccai_call_notify(t->call, CCAI_EVENT_ANSWERING_MACHINE, t->answered_by);
    if (st != CCAI_OK)
        Ccai_log(t->tw->log, CCAI_LOG_WARN, "twilio: call %s: AnsweredBy %s not taken: %s",
                 ccai_call_id(t->call), t->answered_by, ccai_status_str(st));
    t->answered_by[0] = '\0';
}

static void on_redirected(ccai_status st, const Ccai_twilio_result *res, void *ud)
{
    placing *p = ud;
    Ccai_tw_placing_unlink(p->tw, p);
    if (st != CCAI_OK)
        Ccai_log(p->tw->log, CCAI_LOG_ERROR, "twilio: call %s: cannot redirect it: %s", p->call_id,
                 res && res->error_message ? res->error_message : ccai_status_str(st));
    ccai_free(p);
}

/* AsyncAmdStatusCallback: who answered, while the call goes on (its TwiML
 * runs: a <Gather> waits for the callee). A machine gets the message: in
 * Gather mode the call is redirected to /twilio/next, whose answer is what
 * the bot does now (the message, the hang-up); a Media Stream speaks it. */
static void route_amd(ccai_http_exchange *x, void *ud)
{
    Ccai_twilio *tw = ud;
    Ccai_form f = {0};
    if (!verified(tw, x, &f))
        return;
    tw_call *t = call_of(tw, x);
    const char *by = Ccai_form_get(&f, "AnsweredBy");
    if (!t || !by || !*by) {
        Ccai_form_free(&f);
        if (t)
            Ccai_exchange_error(x, 400, "AnsweredBy is required", NULL);
        else
            Ccai_exchange_error(x, 404, "no such live call", NULL);
        return;
    }
    snprintf(t->answered_by, sizeof t->answered_by, "%s", by);
    Ccai_form_free(&f);
    Ccai_tw_answered_by(t);
    if (!t->audio && !Ccai_outbox_empty(&t->out) && !t->out.waiting && t->sid[0] && tw->rest) {
        char *next = Ccai_tw_call_url(tw, "next", t->call);
        placing *p = Ccai_calloc(1, sizeof *p);
        if (next && p) {
            p->tw = tw;
            p->kind = REST_TRANSFER;
            snprintf(p->call_id, sizeof p->call_id, "%s", ccai_call_id(t->call));
            if (Ccai_twilio_call_redirect(tw->rest, t->sid, next, "POST", on_redirected, p, NULL) ==
                CCAI_OK) {
                p->next = tw->placings;
                tw->placings = p;
                p = NULL;
            }
        }
        if (p)
            Ccai_log(tw->log, CCAI_LOG_ERROR, "twilio: call %s: cannot redirect it to the message",
                     ccai_call_id(t->call));
        ccai_free(p);
        ccai_free(next);
    }
    Ccai_exchange_respond(x, 204, NULL, NULL, 0);
}

/* Gather mode: a webhook of a call in progress that is live nowhere (the
 * instance that held it died, and its lease ran out: the router handed
 * the webhook to it while it lived, http/forward.h). The call is taken
 * back from the store and the caller welcomed back; *ret NULL when the URL
 * names no such call (or a wrong secret). Statuses: start_call()'s. */
static CCAI_MUST_CHECK ccai_status take_over(Ccai_twilio *tw, ccai_http_exchange *x,
                                             const Ccai_form *f, tw_call **ret)
{
    *ret = NULL;
    char *id = Ccai_exchange_query(x, "call");
    char *secret = Ccai_exchange_query(x, "s");
    ccai_status st = CCAI_OK;
    if (id && !tw->stream && !Ccai_tw_find(tw, id) &&
        ccai_ctx_call_check_secret(tw->ctx, id, secret ? secret : "") == CCAI_OK) {
        st = start_call(tw, NULL, NULL, Ccai_form_get(f, "CallSid"), CCAI_INBOUND, NULL, id, ret);
        if (st == CCAI_OK) {
            Ccai_log(tw->log, CCAI_LOG_WARN, "twilio: call %s: taken over from the store", id);
            st = ccai_call_notify((*ret)->call, CCAI_EVENT_CONNECTED, NULL);
            if (st != CCAI_OK) {
                tw_free(tw, *ret);
                *ret = NULL;
            }
        } else if (st == CCAI_ERR_STATE) {
            st = CCAI_OK; /* ended meanwhile, or live here: no such live call */
        }
    }
    ccai_free(id);
    ccai_free(secret);
    return st;
}

/* The live call of a per-call URL, or the call taken over (take_over());
 * false when x is answered (404, or held). */
static CCAI_MUST_CHECK bool live_or_taken(Ccai_twilio *tw, ccai_http_exchange *x,
                                          const Ccai_form *f, tw_call **ret)
{
    *ret = call_of(tw, x);
    if (*ret)
        return true;
    ccai_status st = take_over(tw, x, f, ret);
    if (st != CCAI_OK) {
        Ccai_exchange_fail_or_hold(x, st, "cannot take the call over", NULL);
        return false;
    }
    if (!*ret)
        Ccai_exchange_error(x, 404, "no such live call", NULL);
    return *ret != NULL;
}

static void route_gather(ccai_http_exchange *x, void *ud)
{
    Ccai_twilio *tw = ud;
    Ccai_form f = {0};
    if (!verified(tw, x, &f))
        return;
    tw_call *t = NULL;
    if (!live_or_taken(tw, x, &f, &t)) {
        Ccai_form_free(&f);
        return;
    }
    const char *speech = Ccai_form_get(&f, "SpeechResult");
    const char *digits = Ccai_form_get(&f, "Digits");
    ccai_status st;
    if (speech && *speech)
        st = ccai_call_notify(t->call, CCAI_EVENT_SPEECH, speech);
    else if (digits && *digits)
        st = ccai_call_notify(t->call, CCAI_EVENT_DTMF, digits);
    else
        st = ccai_call_notify(t->call, CCAI_EVENT_SILENCE_TIMEOUT, NULL);
    Ccai_form_free(&f);
    /* Twilio never retries a webhook: a caller's words that met a locked
     * database wait for it here, and are answered once stored; a database
     * that failed is said at once (Twilio then tries the number's fallback
     * URL) rather than waiting for a bot that was never told. */
    if (st == CCAI_ERR_BUSY || st == CCAI_ERR_STORE || st == CCAI_ERR_NOMEM) {
        Ccai_exchange_fail_or_hold(x, st, "cannot take the caller's words", NULL);
        return;
    }
    Ccai_outbox_answer_or_wait(&t->out, x);
}

static void route_next(ccai_http_exchange *x, void *ud)
{
    Ccai_twilio *tw = ud;
    Ccai_form f = {0};
    if (!verified(tw, x, &f))
        return;
    tw_call *t = NULL;
    bool live = live_or_taken(tw, x, &f, &t);
    Ccai_form_free(&f);
    if (!live)
        return;
    /* Twilio waits for this answer: a locked database holds it, one that
     * failed is said (as route_gather()). A call that has ended meanwhile
     * still gets its answer (the outbox's hang-up). */
    ccai_status st = ccai_call_notify(t->call, CCAI_EVENT_SAY_DONE, NULL);
    if (st != CCAI_OK && st != CCAI_ERR_STATE) {
        Ccai_exchange_fail_or_hold(x, st, "cannot take the end of the bot's words", NULL);
        return;
    }
    Ccai_outbox_answer_or_wait(&t->out, x);
}

static void route_dial(ccai_http_exchange *x, void *ud)
{
    Ccai_twilio *tw = ud;
    Ccai_form f = {0};
    if (!verified(tw, x, &f))
        return;
    tw_call *t = call_of(tw, x);
    if (!t) {
        Ccai_form_free(&f);
        Ccai_exchange_error(x, 404, "no such live call", NULL);
        return;
    }
    const char *status = Ccai_form_get(&f, "DialCallStatus");
    bool ok = status && (!strcmp(status, "completed") || !strcmp(status, "answered"));
    if (t->audio) {
        Ccai_tw_dial_done_stream(tw, t, x, ok, status, Ccai_form_get(&f, "DialCallSid"));
        Ccai_form_free(&f);
        return;
    }
    /* busy, no-answer, failed, canceled: apology, callback, goodbye. */
    ccai_status st =
        ok ? ccai_call_notify(t->call, CCAI_EVENT_TRANSFER_OK, Ccai_form_get(&f, "DialCallSid"))
           : ccai_call_notify(t->call, CCAI_EVENT_TRANSFER_FAILED, status ? status : "unknown");
    Ccai_form_free(&f);
    /* As route_next(): Twilio waits for this answer. */
    if (st != CCAI_OK && st != CCAI_ERR_STATE) {
        Ccai_exchange_fail_or_hold(x, st, "cannot take the transfer's outcome", NULL);
        return;
    }
    if (ok)
        t->out.hangup = true;
    Ccai_outbox_answer_or_wait(&t->out, x);
}

/* The call a status or recording callback is about, live here (*ret_live)
 * or only stored (*ret_id, freed with ccai_free()):
 * - a URL of ours names it (?call=&s=, the secret checked against the
 *   stored call: the call may have ended, or this process restarted);
 * - Twilio's own callbacks, such as the status callback configured on the
 *   phone number for inbound calls, carry none of our parameters: the call
 *   is the one with that CallSid.
 * Answers 404 itself and returns false for a per-call URL that names no
 * call or carries a wrong secret; true with neither set when no call has
 * that CallSid. */
static CCAI_MUST_CHECK bool callback_call(Ccai_twilio *tw, ccai_http_exchange *x,
                                          const Ccai_form *f, tw_call **ret_live, char **ret_id)
{
    *ret_live = NULL;
    *ret_id = NULL;
    char *id = Ccai_exchange_query(x, "call");
    if (!id) {
        const char *sid = Ccai_form_get(f, "CallSid");
        *ret_live = find_sid(tw, sid);
        if (!*ret_live && sid && *sid &&
            ccai_ctx_call_find_provider(tw->ctx, "twilio", sid, ret_id) != CCAI_OK)
            *ret_id = NULL;
        return true;
    }
    char *secret = Ccai_exchange_query(x, "s");
    tw_call *t = Ccai_tw_find(tw, id);
    ccai_status st;
    if (t)
        st = secret && Ccai_http_secret_equal(secret, ccai_call_secret(t->call))
                 ? CCAI_OK
                 : CCAI_ERR_VALIDATION;
    else /* not live here: the stored call's (it may have ended, or this process restarted) */
        st = ccai_ctx_call_check_secret(tw->ctx, id, secret ? secret : "");
    ccai_free(secret);
    if (st != CCAI_OK) {
        ccai_free(id);
        Ccai_exchange_count_rejected(x, "twilio",
                                     st == CCAI_ERR_VALIDATION ? "call_secret" : "unknown_call");
        Ccai_exchange_error(x, 404, "no such call", NULL);
        return false;
    }
    *ret_live = t;
    if (t)
        ccai_free(id);
    else
        *ret_id = id;
    return true;
}

static CCAI_MUST_CHECK bool terminal_status(const char *status)
{
    static const char *const ends[] = {"completed", "busy", "no-answer", "failed", "canceled"};
    for (size_t i = 0; status && i < CCAI_ARRAY_SIZE(ends); i++) {
        if (strcmp(status, ends[i]) == 0)
            return true;
    }
    return false;
}

static void route_status(ccai_http_exchange *x, void *ud)
{
    Ccai_twilio *tw = ud;
    Ccai_form f = {0};
    if (!verified(tw, x, &f))
        return;
    tw_call *t = NULL;
    char *id = NULL;
    if (!callback_call(tw, x, &f, &t, &id)) {
        Ccai_form_free(&f);
        return;
    }
    const char *status = Ccai_form_get(&f, "CallStatus");
    bool terminal = terminal_status(status);
    /* Twilio may deliver a callback twice, or late (SequenceNumber tells):
     * each is harmless out of order. "ringing" only moves a call that has
     * not been answered; an end ends a call once, and whatever comes after
     * finds it ended. */
    ccai_status st = CCAI_OK;
    if (t) {
        if (terminal) {
            st = ccai_call_notify(t->call, CCAI_EVENT_HANGUP, status);
            /* Locked elsewhere: held, the end is stored when the lock is
             * gone. Else the handle goes (releasing it tries to store the
             * end again; the sweep ends what nothing could). */
            if (st != CCAI_ERR_BUSY)
                tw_free(tw, t);
        } else if (status && !strcmp(status, "ringing")) {
            st = ccai_call_notify(t->call, CCAI_EVENT_RINGING, NULL);
        }
    } else if (id && terminal) {
        /* Held by another instance (a status callback configured on the
         * number names the call by its CallSid only): it is told there. */
        if (Ccai_exchange_to_holder(x, id)) {
            ccai_free(id);
            Ccai_form_free(&f);
            return;
        }
        /* Not held (this process restarted, or the handle is gone):
         * Twilio's word ends the stored call. */
        st = ccai_ctx_call_end(tw->ctx, id, status, 1);
    }
    /* Ended already, or changed by another process (which took it back or
     * ended it): nothing left to do. */
    if (st == CCAI_ERR_STATE || st == CCAI_ERR_CONFLICT)
        st = CCAI_OK;
    ccai_free(id);
    Ccai_form_free(&f);
    if (st != CCAI_OK)
        Ccai_exchange_fail_or_hold(
            x, st, terminal ? "cannot end the call" : "cannot take the call's status", NULL);
    else
        Ccai_exchange_respond(x, 204, "text/plain", "", 0);
}

/* Twilio reports the recording once it is stored, after the call ended
 * (RecordingStatus completed): it goes on the call whatever its state. */
static void route_recording(ccai_http_exchange *x, void *ud)
{
    Ccai_twilio *tw = ud;
    Ccai_form f = {0};
    if (!verified(tw, x, &f))
        return;
    tw_call *t = NULL;
    char *stored = NULL;
    if (!callback_call(tw, x, &f, &t, &stored)) {
        Ccai_form_free(&f);
        return;
    }
    const char *id = t ? ccai_call_id(t->call) : stored;
    const char *status = Ccai_form_get(&f, "RecordingStatus");
    const char *url = Ccai_form_get(&f, "RecordingUrl");
    const char *duration = Ccai_form_get(&f, "RecordingDuration");
    char *end = NULL;
    long long seconds = duration ? strtoll(duration, &end, 10) : 0;
    ccai_status st = CCAI_OK;
    if (!id) {
        Ccai_log(tw->log, CCAI_LOG_WARN, "twilio: recording of an unknown call");
    } else if (status && strcmp(status, "completed") != 0) {
        Ccai_log(tw->log, strcmp(status, "in-progress") == 0 ? CCAI_LOG_DEBUG : CCAI_LOG_WARN,
                 "twilio: call %s: recording %s", id, status);
    } else if (url && *url) {
        st = ccai_ctx_call_set_recording(
            tw->ctx, id, url, Ccai_form_get(&f, "RecordingSid"),
            end && !*end && seconds > 0 && seconds < INT32_MAX ? seconds * 1000 : 0);
    }
    ccai_free(stored);
    Ccai_form_free(&f);
    if (st != CCAI_OK)
        Ccai_exchange_fail_or_hold(x, st, "cannot store the recording", NULL);
    else
        Ccai_exchange_respond(x, 204, "text/plain", "", 0);
}

/* Inbound SMS: on the caller's live call, the next turn reads it; else it is
 * stored on the caller's latest call. */
static void route_sms(ccai_http_exchange *x, void *ud)
{
    Ccai_twilio *tw = ud;
    Ccai_form f = {0};
    if (!verified(tw, x, &f))
        return;
    const char *from = Ccai_form_get(&f, "From");
    const char *body = Ccai_form_get(&f, "Body");
    static const char empty[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>";
    if (!from || !body) {
        Ccai_form_free(&f);
        Ccai_exchange_error(x, 400, "From and Body are required", NULL);
        return;
    }
    ccai_status st = ccai_ctx_sms_inbound(tw->ctx, from, body);
    Ccai_form_free(&f);
    if (st == CCAI_OK || st == CCAI_ERR_NOT_FOUND || st == CCAI_ERR_VALIDATION ||
        st == CCAI_ERR_LIMIT)
        Ccai_exchange_respond(x, 200, "application/xml", empty, sizeof empty - 1);
    else
        Ccai_exchange_fail_or_hold(x, st, "cannot store the SMS", NULL);
}

/* POST /twilio/sms-status?ref=<ref>: the status callback of a message we
 * sent (its StatusCallback, twilio_sms.c), form-encoded and signed like
 * every webhook: MessageSid, MessageStatus, ErrorCode on failure. The
 * statuses of a message on its way (queued, sending, accepted, ...) are
 * acknowledged and not stored. */
static void route_sms_status(ccai_http_exchange *x, void *ud)
{
    Ccai_twilio *tw = ud;
    Ccai_form f = {0};
    if (!verified(tw, x, &f))
        return;
    char *ref = Ccai_exchange_query(x, "ref");
    const char *sid = Ccai_form_get(&f, "MessageSid");
    const char *status = Ccai_form_get(&f, "MessageStatus");
    if (!status)
        status = Ccai_form_get(&f, "SmsStatus");
    const char *code = Ccai_form_get(&f, "ErrorCode");
    static const char *const final[] = {"sent", "delivered", "undelivered", "failed"};
    bool known = false;
    for (size_t i = 0; status && i < CCAI_ARRAY_SIZE(final); i++)
        known = known || strcmp(status, final[i]) == 0;
    ccai_status st = CCAI_OK;
    if (!ref || !sid || !status) {
        Ccai_form_free(&f);
        ccai_free(ref);
        Ccai_exchange_error(x, 400, "ref, MessageSid and MessageStatus are required", NULL);
        return;
    }
    if (known) {
        char detail[64];
        if (code && *code)
            snprintf(detail, sizeof detail, "error %.40s", code);
        st = ccai_ctx_sms_status(tw->ctx, ref, sid, status, code && *code ? detail : NULL);
    }
    Ccai_form_free(&f);
    ccai_free(ref);
    if (st == CCAI_OK)
        Ccai_exchange_respond(x, 200, "text/plain", "", 0);
    else if (st == CCAI_ERR_NOT_FOUND || st == CCAI_ERR_INVALID_ARG)
        Ccai_exchange_error(x, 404, "no such message", ccai_ctx_errmsg(tw->ctx));
    else
        Ccai_exchange_fail_or_hold(x, st, "cannot store the SMS status", NULL);
}

/* POST /twilio/reconnect?call=&s=: the TwiML after <Connect> runs, so the
 * call's stream ended while the call is up: a network failure (the call is
 * live here: a new stream), or this process restarted (the call is taken
 * back from the store: the engine welcomes the caller back). */
static void route_reconnect(ccai_http_exchange *x, void *ud)
{
    Ccai_twilio *tw = ud;
    Ccai_form f = {0};
    if (!verified(tw, x, &f))
        return;
    tw_call *t = call_of(tw, x);
    if (t && t->audio) {
        Ccai_form_free(&f);
        Ccai_timer_stop(tw->ctx, &t->gone);
        Ccai_log(tw->log, CCAI_LOG_WARN, "twilio: call %s: the media stream dropped: reconnecting",
                 ccai_call_id(t->call));
        Ccai_tw_answer_stream(tw, t, x);
        return;
    }
    char *id = Ccai_exchange_query(x, "call");
    char *secret = Ccai_exchange_query(x, "s");
    ccai_status st = CCAI_ERR_NOT_FOUND;
    if (id && Ccai_tw_find(tw, id))
        st = CCAI_ERR_VALIDATION; /* live here: the secret was wrong */
    else if (id && !t && tw->stream && tw->rest)
        st = ccai_ctx_call_check_secret(tw->ctx, id, secret ? secret : "");
    if (st == CCAI_ERR_VALIDATION) {
        /* Not a URL of ours: the call it names is not touched. */
        Ccai_form_free(&f);
        Ccai_log(tw->log, CCAI_LOG_WARN, "twilio: call %s: reconnect with a wrong secret", id);
        ccai_free(id);
        ccai_free(secret);
        Ccai_exchange_error(x, 404, "no such live call", NULL);
        return;
    }
    if (st == CCAI_OK)
        st = start_call(tw, NULL, NULL, Ccai_form_get(&f, "CallSid"), CCAI_INBOUND, NULL, id, &t);
    Ccai_form_free(&f);
    if (st == CCAI_ERR_BUSY) {
        ccai_free(id);
        ccai_free(secret);
        Ccai_exchange_hold(x);
        return;
    }
    if (st != CCAI_OK) {
        Ccai_log(tw->log, CCAI_LOG_WARN, "twilio: call %s: cannot take it back: %s",
                 id ? id : "(none)", ccai_status_str(st));
        ccai_free(id);
        ccai_free(secret);
        say_sorry(x);
        return;
    }
    Ccai_log(tw->log, CCAI_LOG_WARN, "twilio: call %s: taken back after a restart", id);
    ccai_free(id);
    ccai_free(secret);
    Ccai_tw_answer_stream(tw, t, x);
}

/* Outbound ------------------------------------------------------------------------ */

void Ccai_tw_placing_unlink(Ccai_twilio *tw, placing *p)
{
    for (placing **q = &tw->placings; *q; q = &(*q)->next) {
        if (*q == p) {
            *q = p->next;
            return;
        }
    }
}

static void on_placed(ccai_status st, const Ccai_twilio_result *res, void *ud)
{
    placing *p = ud;
    Ccai_twilio *tw = p->tw;
    Ccai_tw_placing_unlink(tw, p);
    tw_call *t = Ccai_tw_find(tw, p->call_id);
    if (st == CCAI_OK && t && res->sid) {
        snprintf(t->sid, sizeof t->sid, "%s", res->sid);
        st = ccai_call_set_provider_ids(t->call, res->sid, NULL);
        if (st != CCAI_OK) /* its callbacks still find it: they carry our URL's id */
            Ccai_log(tw->log, CCAI_LOG_WARN, "twilio: call %s: CallSid not stored: %s", p->call_id,
                     ccai_status_str(st));
    } else if (t) {
        Ccai_log(tw->log, CCAI_LOG_ERROR, "twilio: cannot place call %s: %s", p->call_id,
                 res && res->error_message ? res->error_message : ccai_status_str(st));
        /* As Ccai_tw_over(): the handle goes next. */
        CCAI_DISCARD(ccai_call_notify(t->call, CCAI_EVENT_HANGUP, "the call could not be placed"));
        tw_free(tw, t);
    }
    ccai_free(p);
}

static CCAI_MUST_CHECK ccai_status place_call(void *state, const char *initiate_json,
                                              const char *to, char **ret_call_id)
{
    Ccai_twilio *tw = state;
    if (!tw->rest)
        return CCAI_ERR_UNSUPPORTED;
    tw_call *t = NULL;
    const char *from = Ccai_config_str(tw->cfg, "twilio.phone_number");
    ccai_status st = start_call(tw, to, from, NULL, CCAI_OUTBOUND, initiate_json, NULL, &t);
    if (st != CCAI_OK)
        return st;
    char *voice = Ccai_tw_call_url(tw, "voice", t->call);
    char *status = Ccai_tw_call_url(tw, "status", t->call);
    char *recording = Ccai_tw_call_url(tw, "recording", t->call);
    char *amd = Ccai_tw_call_url(tw, "amd", t->call);
    placing *p = Ccai_calloc(1, sizeof *p);
    static const char *const events[] = {"initiated", "ringing", "answered", "completed", NULL};
    st = CCAI_ERR_NOMEM;
    if (voice && status && recording && amd && p) {
        snprintf(p->call_id, sizeof p->call_id, "%s", ccai_call_id(t->call));
        p->tw = tw;
        Ccai_twilio_call_params cp = {
            .to = ccai_call_phone_number(t->call),
            .url = voice,
            .method = "POST",
            .status_callback = status,
            .status_callback_events = events,
            .status_callback_method = "POST",
            .record = Ccai_config_bool(tw->cfg, "conversation.recording_enabled", false),
            .recording_status_callback = recording,
        };
        /* Who answers: Twilio's answering-machine detection. */
        if (Ccai_config_bool(tw->cfg, "voicemail.enabled", false)) {
            const char *mode = Ccai_config_str(tw->cfg, "voicemail.twilio_machine_detection");
            cp.machine_detection =
                mode && strcmp(mode, "enable") == 0 ? "Enable" : "DetectMessageEnd";
            cp.async_amd = Ccai_config_bool(tw->cfg, "voicemail.twilio_async_amd", false);
            cp.async_amd_status_callback = amd;
        }
        st = Ccai_twilio_call_create(tw->rest, &cp, on_placed, p, NULL);
        if (st == CCAI_OK) {
            p->next = tw->placings;
            tw->placings = p;
        }
    }
    if (st == CCAI_OK && ret_call_id && !(*ret_call_id = Ccai_strdup(ccai_call_id(t->call))))
        st = CCAI_ERR_NOMEM;
    ccai_free(voice);
    ccai_free(status);
    ccai_free(recording);
    ccai_free(amd);
    if (st != CCAI_OK) {
        ccai_free(p);
        tw_free(tw, t);
    }
    return st;
}

/* Life of the channel -------------------------------------------------------------- */

static CCAI_MUST_CHECK ccai_status tw_init(const Ccai_channel_env *env, void **ret_state)
{
    Ccai_twilio *tw = Ccai_calloc(1, sizeof *tw);
    if (!tw)
        return CCAI_ERR_NOMEM;
    tw->ctx = env->ctx;
    tw->cfg = env->cfg;
    tw->log = env->log;
    const char *voice = Ccai_config_str(env->cfg, "twilio.voice");
    tw->stream = voice && strcmp(voice, "stream") == 0;
    /* Not configured: the routes refuse every webhook (no token to check
     * a signature with), no call is placed. */
    const char *sid = Ccai_config_str(env->cfg, "twilio.account_sid");
    ccai_status st =
        sid && *sid ? Ccai_twilio_rest_from_config(env->ctx, env->cfg, &tw->rest) : CCAI_OK;
    if (st != CCAI_OK) {
        ccai_free(tw);
        return st;
    }
    *ret_state = tw;
    return CCAI_OK;
}

static void tw_channel_free(void *state)
{
    Ccai_twilio *tw = state;
    while (tw->calls)
        tw_free(tw, tw->calls);
    /* Freeing the client cancels its operations without callbacks. */
    Ccai_twilio_rest_free(tw->rest);
    while (tw->placings) {
        placing *p = tw->placings;
        tw->placings = p->next;
        ccai_free(p);
    }
    Ccai_twilio_signer_free(tw->signer);
    ccai_free(tw);
}

static CCAI_MUST_CHECK bool tw_configured(const void *state)
{
    return ((const Ccai_twilio *)state)->rest != NULL;
}

static CCAI_MUST_CHECK ccai_status tw_sms_new(const Ccai_channel_env *env, Ccai_sms_provider **ret)
{
    return Ccai_twilio_sms_new(env->ctx, env->cfg, ret);
}

/* Ready when the credentials are there (checked when twilio.account_sid is
 * set). */
static void tw_readiness(const void *state, json_t *checks, bool *ok)
{
    const Ccai_twilio *tw = state;
    const char *sid = Ccai_config_str(tw->cfg, "twilio.account_sid");
    const char *token = Ccai_config_str(tw->cfg, "twilio.auth_token");
    if (!sid || !*sid)
        return;
    bool creds = token && *token;
    *ok = *ok && creds;
    json_array_append_new(checks,
                          Ccai_channel_check("twilio", creds ? "ok" : "fail",
                                             creds ? NULL : "twilio.auth_token is not set"));
}

static const Ccai_route Ccai_twilio_routes[] = {
    /* Signed by Twilio (X-Twilio-Signature), checked in the route; per-call
     * routes carry the call's secret too. */
    {"POST", "/twilio/voice", route_voice, CCAI_ROUTE_PROVIDER,
     CCAI_ROUTE_WRITES | CCAI_ROUTE_WAITS | CCAI_ROUTE_CALL},
    {"POST", "/twilio/gather", route_gather, CCAI_ROUTE_PROVIDER,
     CCAI_ROUTE_WRITES | CCAI_ROUTE_WAITS | CCAI_ROUTE_CALL},
    {"POST", "/twilio/next", route_next, CCAI_ROUTE_PROVIDER,
     CCAI_ROUTE_WRITES | CCAI_ROUTE_WAITS | CCAI_ROUTE_CALL},
    {"POST", "/twilio/dial", route_dial, CCAI_ROUTE_PROVIDER,
     CCAI_ROUTE_WRITES | CCAI_ROUTE_WAITS | CCAI_ROUTE_CALL},
    {"POST", "/twilio/amd", route_amd, CCAI_ROUTE_PROVIDER, CCAI_ROUTE_WRITES | CCAI_ROUTE_CALL},
    {"POST", "/twilio/status", route_status, CCAI_ROUTE_PROVIDER,
     CCAI_ROUTE_WRITES | CCAI_ROUTE_WAITS | CCAI_ROUTE_CALL},
    {"POST", "/twilio/recording", route_recording, CCAI_ROUTE_PROVIDER,
     CCAI_ROUTE_WRITES | CCAI_ROUTE_WAITS | CCAI_ROUTE_CALL},
    {"POST", "/twilio/sms", route_sms, CCAI_ROUTE_PROVIDER, CCAI_ROUTE_WRITES | CCAI_ROUTE_WAITS},
    {"POST", "/twilio/sms-status", route_sms_status, CCAI_ROUTE_PROVIDER,
     CCAI_ROUTE_WRITES | CCAI_ROUTE_WAITS},
    /* Stream mode: the Media Stream (signed upgrade) and the way back. */
    {"GET", "/twilio/stream/:id", Ccai_tw_route_stream, CCAI_ROUTE_PROVIDER, CCAI_ROUTE_MEDIA},
    {"POST", "/twilio/reconnect", route_reconnect, CCAI_ROUTE_PROVIDER,
     CCAI_ROUTE_WRITES | CCAI_ROUTE_WAITS | CCAI_ROUTE_CALL},
};

const Ccai_channel_class Ccai_twilio_channel = {
    .name = "twilio",
    .caps = CCAI_CHANNEL_CALLS_OUT | CCAI_CHANNEL_SMS | CCAI_CHANNEL_SMS_IN |
            CCAI_CHANNEL_TRANSFER | CCAI_CHANNEL_RECORDING,
    .init = tw_init,
    .free = tw_channel_free,
    .routes = Ccai_twilio_routes,
    .n_routes = CCAI_ARRAY_SIZE(Ccai_twilio_routes),
    .telephony = {"twilio", NULL},
    .configured = tw_configured,
    .place_call = place_call,
    .setup = "set twilio.account_sid, twilio.auth_token, twilio.phone_number",
    .sms_mode = "twilio",
    .sms_new = tw_sms_new,
    .readiness = tw_readiness,
};
