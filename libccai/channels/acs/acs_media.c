/* The ACS channel's media queue: the engine's sentences become SSML plays
 * and recognitions, sent one request at a time in the order the engine
 * spoke, so that ACS plays them in that order; a barge-in cancels what ACS
 * holds first. Then, once nothing is left to play, what waits for the end
 * of speech: hanging up or transferring (the last play carries the
 * operation context "ccai:goodbye" / "ccai:transfer"). */
#include "channels/acs/acs_channel.h"

#include "config/config.h"
#include "http/exchange.h"
#include "tts/ssml.h"

#include <stdio.h>
#include <string.h>

static void media_free(Ccai_acs_media *m)
{
    ccai_free(m->ssml);
    ccai_free(m->lang);
    ccai_free(m);
}

void Ccai_acs_queue_clear(Ccai_acs_call *a)
{
    while (a->queue) {
        Ccai_acs_media *m = a->queue;
        a->queue = m->next;
        media_free(m);
    }
    a->tail = &a->queue;
}

/* Media: one request at a time ---------------------------------------------------------------- */

/* The operation context of a request: what it is for, and the generation
 * ("ccai:talk#2") so that events of plays cancelled since are told apart. */
static void context_of(const Ccai_acs_call *a, const char *what, char *out, size_t n)
{
    snprintf(out, n, "%s#%u", what, a->gen);
}

static CCAI_MUST_CHECK ccai_status send_recognize(Ccai_acs_call *a, const Ccai_acs_media *m,
                                                  const char *context, Ccai_acs_pend *p)
{
    Ccai_acs *acs = a->acs;
    const ccai_config *cfg = acs->cfg;
    Ccai_acs_choice choices[CCAI_ACS_MENU_MAX];
    size_t n = 0;
    /* The menu's choices, one DTMF key each (its tone: "1" is "one"). */
    for (; m->kind == CCAI_ACS_M_MENU && n < a->n_choices; n++)
        choices[n] = (Ccai_acs_choice){
            a->choices[n].label, (const char *const *)a->choices[n].phrases, a->choices[n].tone};
    int initial = (int)Ccai_config_int(cfg, "conversation.phone_silence_timeout_sec", 20);
    Ccai_acs_recognize_params rp = {
        .kind = m->kind == CCAI_ACS_M_MENU ? CCAI_ACS_RECOGNIZE_CHOICES : CCAI_ACS_RECOGNIZE_SPEECH,
        .target = a->caller,
        .prompt_ssml = m->ssml,
        .interrupt_prompt = true,
        .initial_silence_timeout_s = initial > 300 ? 300 : initial,
        .end_silence_timeout_ms =
            m->kind == CCAI_ACS_M_MENU
                ? 0
                : (int)Ccai_config_int(cfg, "communication_services.end_silence_timeout_ms", 1000),
        .speech_language = m->lang,
        .choices = choices,
        .n_choices = n,
        .operation_context = context,
    };
    return Ccai_acs_recognize(acs->rest, a->conn_id, &rp, Ccai_acs_on_op_done, p, NULL);
}

bool Ccai_acs_media_failed(Ccai_acs_call *a, Ccai_acs_media_kind kind, const char *why)
{
    Ccai_acs *acs = a->acs;
    char id[37];
    snprintf(id, sizeof id, "%s", ccai_call_id(a->call));
    if (kind == CCAI_ACS_M_PLAY)
        Ccai_notify(&a->notify, CCAI_EVENT_SAY_FAILED, why);
    else if (kind == CCAI_ACS_M_MENU)
        Ccai_acs_menu_answer(a, NULL);
    else if (kind == CCAI_ACS_M_LISTEN && a->engine_on && !a->menu)
        Ccai_notify(&a->notify, CCAI_EVENT_SILENCE_TIMEOUT, NULL); /* listen again, or goodbye */
    return Ccai_acs_find(acs, id) != NULL;
}

/* A media request could not even start: report it as its failure would
 * be. Returns false when the call is gone. */
static CCAI_MUST_CHECK bool media_not_sent(Ccai_acs_call *a, Ccai_acs_media_kind kind,
                                           ccai_status st)
{
    Ccai_log(a->acs->log, CCAI_LOG_WARN, "acs: call %s: cannot send a media request: %s",
             ccai_call_id(a->call), ccai_status_str(st));
    return Ccai_acs_media_failed(a, kind, ccai_status_str(st));
}

/* Send what is queued, one request at a time; then, once nothing is left
 * to play, what waits for that. Runs from the loop (timers, completions,
 * events), never from inside an op. */
void Ccai_acs_pump(Ccai_acs_call *a)
{
    Ccai_acs *acs = a->acs;
    while (!a->media_busy && !a->ending && (a->cancel_pending || a->queue)) {
        char context[48];
        if (a->cancel_pending) {
            a->cancel_pending = false;
            Ccai_acs_pend *p = Ccai_acs_pend_new(acs, a, CCAI_ACS_P_MEDIA);
            ccai_status st = CCAI_ERR_NOMEM;
            if (p) {
                p->media = CCAI_ACS_M_CANCEL;
                st = Ccai_acs_cancel_media(acs->rest, a->conn_id, Ccai_acs_on_op_done, p, NULL);
            }
            if (Ccai_acs_pend_started(acs, p, st))
                a->media_busy = true;
            else
                Ccai_log(acs->log, CCAI_LOG_WARN, "acs: call %s: cannot cancel media: %s",
                         ccai_call_id(a->call), ccai_status_str(st));
            continue;
        }
        Ccai_acs_media *m = a->queue;
        a->queue = m->next;
        if (!a->queue)
            a->tail = &a->queue;
        bool last = !a->queue;
        context_of(a,
                   m->kind == CCAI_ACS_M_MENU                    ? CCAI_ACS_CTX_MENU
                   : m->kind == CCAI_ACS_M_LISTEN                ? CCAI_ACS_CTX_LISTEN
                   : last && a->after == CCAI_ACS_AFTER_HANGUP   ? CCAI_ACS_CTX_GOODBYE
                   : last && a->after == CCAI_ACS_AFTER_TRANSFER ? CCAI_ACS_CTX_TRANSFER
                                                                 : CCAI_ACS_CTX_TALK,
                   context, sizeof context);
        Ccai_acs_pend *p = Ccai_acs_pend_new(acs, a, CCAI_ACS_P_MEDIA);
        ccai_status st = CCAI_ERR_NOMEM;
        if (p) {
            p->media = m->kind;
            if (m->kind == CCAI_ACS_M_PLAY) {
                Ccai_acs_play_params pp = {.ssml = m->ssml, .operation_context = context};
                st = Ccai_acs_play(acs->rest, a->conn_id, &pp, Ccai_acs_on_op_done, p, NULL);
            } else {
                st = send_recognize(a, m, context, p);
            }
        }
        Ccai_acs_media_kind kind = m->kind;
        media_free(m);
        if (Ccai_acs_pend_started(acs, p, st)) {
            a->media_busy = true;
            if (kind == CCAI_ACS_M_PLAY)
                a->plays++;
            if (a->after != CCAI_ACS_AFTER_NONE) /* the guard counts from the last play */
                Ccai_timer_start(acs->ctx, &a->guard, CCAI_ACS_AFTER_GUARD_MS);
        } else if (!media_not_sent(a, kind, st)) {
            return;
        }
    }
    Ccai_acs_run_after(a);
}

/* Send the queue once the engine's current action is over: what it does
 * next in the same step (hang up, transfer) then rides on the last play's
 * operation context. */
void Ccai_acs_on_kick(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    Ccai_acs_pump(ud);
}

void Ccai_acs_schedule(Ccai_acs_call *a)
{
    if (!Ccai_timer_active(&a->kick))
        Ccai_timer_start(a->acs->ctx, &a->kick, 0);
}

ccai_status Ccai_acs_enqueue(Ccai_acs_call *a, Ccai_acs_media_kind kind, char *ssml,
                             const char *lang)
{
    Ccai_acs_media *m = Ccai_calloc(1, sizeof *m);
    if (!m || (lang && !(m->lang = Ccai_strdup(lang)))) {
        ccai_free(m);
        ccai_free(ssml);
        return CCAI_ERR_NOMEM;
    }
    m->kind = kind;
    m->ssml = ssml;
    *a->tail = m;
    a->tail = &m->next;
    return CCAI_OK;
}

/* SSML for one chunk in the call's language and voice. */
char *Ccai_acs_ssml_for(const Ccai_acs_call *a, const char *text, const char *lang,
                        const char *voice, ccai_style style, double rate)
{
    const Ccai_acs *acs = a->acs;
    /* The configured lexicon, else ours when there is one. */
    char *lexicon = NULL;
    if (!Ccai_acs_cfg(acs, "communication_services.lexicon_url") &&
        Ccai_acs_cfg(acs, "server.public_url") &&
        json_array_size(Ccai_config_json(acs->cfg, "conversation.lexicon")) > 0)
        lexicon = Ccai_http_public_url(acs->cfg, "/lexicon.xml?lang=%s", lang ? lang : "en-US");
    Ccai_ssml_opts o = {
        .lang = lang ? lang : "en-US",
        .voice =
            voice && *voice ? voice : Ccai_acs_cfg(acs, "communication_services.fallback_voice"),
        .voice_effect = Ccai_acs_cfg(acs, "communication_services.voice_effect"),
        .lexicon_uri = lexicon ? lexicon : Ccai_acs_cfg(acs, "communication_services.lexicon_url"),
        .style = style == CCAI_STYLE_CHEERFUL ? CCAI_SSML_STYLE_CHEERFUL
                 : style == CCAI_STYLE_SAD    ? CCAI_SSML_STYLE_SAD
                                              : CCAI_SSML_STYLE_NONE,
        .prosody_rate = rate,
    };
    if (!o.voice)
        o.voice = "en-US-AvaMultilingualNeural";
    char *out = NULL;
    if (Ccai_ssml_build(text, &o, &out) != CCAI_OK)
        out = NULL;
    ccai_free(lexicon);
    return out;
}

/* Queue text as plays, the last chunk as the prompt of `last` (CCAI_ACS_M_PLAY,
 * CCAI_ACS_M_LISTEN or CCAI_ACS_M_MENU). */
ccai_status Ccai_acs_queue_text(Ccai_acs_call *a, const char *text, const char *lang,
                                const char *voice, ccai_style style, double rate,
                                Ccai_acs_media_kind last)
{
    char *clean = Ccai_ssml_sanitize(text);
    char **chunks = NULL;
    size_t n = 0;
    ccai_status st = clean ? Ccai_ssml_chunk(clean, 0, &chunks, &n) : CCAI_ERR_NOMEM;
    ccai_free(clean);
    for (size_t i = 0; st == CCAI_OK && i < n; i++) {
        char *ssml = Ccai_acs_ssml_for(a, chunks[i], lang, voice, style, rate);
        st = ssml ? Ccai_acs_enqueue(a, i + 1 == n ? last : CCAI_ACS_M_PLAY, ssml, lang)
                  : CCAI_ERR_NOMEM;
    }
    if (st == CCAI_OK && n == 0 && last != CCAI_ACS_M_PLAY)
        st = Ccai_acs_enqueue(a, last, NULL, lang); /* nothing to say: just listen */
    Ccai_ssml_chunks_free(chunks);
    return st;
}

/* After the last play: hang up or transfer ---------------------------------------------------- */

static void hang_up_now(Ccai_acs_call *a)
{
    Ccai_acs *acs = a->acs;
    if (a->ending)
        return;
    a->ending = true;
    Ccai_acs_queue_clear(a);
    Ccai_acs_pend *p = Ccai_acs_pend_new(acs, a, CCAI_ACS_P_HANGUP);
    ccai_status st = p ? Ccai_acs_hang_up(acs->rest, a->conn_id, true, Ccai_acs_on_op_done, p, NULL)
                       : CCAI_ERR_NOMEM;
    if (!Ccai_acs_pend_started(acs, p, st)) {
        Ccai_log(acs->log, CCAI_LOG_ERROR, "acs: call %s: cannot hang up: %s",
                 ccai_call_id(a->call), ccai_status_str(st));
        Ccai_acs_call_over(acs, a, "hung up");
    }
}

static void transfer_now(Ccai_acs_call *a)
{
    Ccai_acs *acs = a->acs;
    char *to = a->transfer_to;
    a->transfer_to = NULL;
    Ccai_acs_pend *p = Ccai_acs_pend_new(acs, a, CCAI_ACS_P_TRANSFER);
    Ccai_acs_transfer_params tp = {
        .target = to,
        .source_caller_id = Ccai_acs_cfg(acs, "communication_services.phone_number"),
        .operation_context = CCAI_ACS_CTX_TRANSFER,
    };
    ccai_status st = p ? Ccai_acs_transfer(acs->rest, a->conn_id, &tp, Ccai_acs_on_op_done, p, NULL)
                       : CCAI_ERR_NOMEM;
    ccai_free(to);
    if (!Ccai_acs_pend_started(acs, p, st))
        Ccai_notify(&a->notify, CCAI_EVENT_TRANSFER_FAILED, ccai_status_str(st));
}

/* Run the pending action once nothing is left to play. */
void Ccai_acs_run_after(Ccai_acs_call *a)
{
    if (a->after == CCAI_ACS_AFTER_NONE || a->ending || a->queue || a->media_busy || a->plays)
        return;
    Ccai_acs_after what = a->after;
    a->after = CCAI_ACS_AFTER_NONE;
    Ccai_timer_stop(a->acs->ctx, &a->guard);
    if (what == CCAI_ACS_AFTER_HANGUP)
        hang_up_now(a);
    else
        transfer_now(a);
}

void Ccai_acs_on_guard(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    Ccai_acs_call *a = ud;
    Ccai_log(a->acs->log, CCAI_LOG_WARN,
             "acs: call %s: the end of the last play was never reported; going on",
             ccai_call_id(a->call));
    a->plays = 0;
    Ccai_acs_queue_clear(a);
    Ccai_acs_run_after(a); /* now, or when the request in flight returns */
}

/* Hang up or transfer once what is queued has been heard. Runs from the
 * loop, so that the engine's current step is over first. */
void Ccai_acs_set_after(Ccai_acs_call *a, Ccai_acs_after what)
{
    a->after = what;
    Ccai_timer_start(a->acs->ctx, &a->guard, CCAI_ACS_AFTER_GUARD_MS);
    Ccai_acs_schedule(a);
}

/* An operation context of ours ("ccai:goodbye#2") is `what`. */
bool Ccai_acs_context_is(const char *oc, const char *what)
{
    size_t n = strlen(what);
    return oc && strncmp(oc, what, n) == 0 && (oc[n] == '\0' || oc[n] == '#');
}

/* Of the current generation: not cancelled since. Contexts without one
 * (not ours) count as current. */
bool Ccai_acs_context_current(const Ccai_acs_call *a, const char *oc)
{
    const char *h = oc ? strrchr(oc, '#') : NULL;
    if (!h || strncmp(oc, "ccai:", 5) != 0)
        return true;
    char *end = NULL;
    unsigned long g = strtoul(h + 1, &end, 10);
    return end && *end == '\0' && g == a->gen;
}
