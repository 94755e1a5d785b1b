/* The Azure Communication Services voice channel.
 *
 * ACS reports a call's life as events and takes requests for what to do
 * next; the engine speaks through ccai_call_ops. The channel turns one into
 * the other (seed-behaviour.md 3.1, 3.2 and 10):
 *
 *   Event Grid  IncomingCall for the bot's number -> answer (the caller's
 *               recent call resumes); SMSReceived -> the caller's call;
 *               RecordingFileStatusUpdated -> the call's recording URL.
 *   callback    CallConnected -> recording, language menu (choices: DTMF
 *               1..9 or the language's name) when several languages are
 *               configured, then the engine greets; RecognizeCompleted ->
 *               the caller's words; RecognizeFailed -> silence (sub-codes
 *               8510/8532) or "sorry, again"; PlayCompleted -> what waits
 *               for the end of speech (hang up, transfer);
 *               CallTransferAccepted/Failed, CallDisconnected.
 *   say()       SSML play, one per chunk under the 400-character limit;
 *               the last sentence of an answer that expects a reply is the
 *               prompt of a speech recognition instead, so the caller can
 *               barge in; listen() without such a prompt starts a bare one.
 *   stop()      cancelAllMediaOperations (barge-in).
 *   hangup(),   wait for what is queued to be played (the last play carries
 *   transfer()  the operation context "ccai:goodbye" / "ccai:transfer"),
 *               then terminate the call / transfer it.
 *
 * Media requests of one call go out one at a time, in order, so ACS
 * queues them in the order the engine spoke. Every callback carries a
 * bearer JWT (checked against the keys ACS publishes) and the call's URL
 * secret. */
#include "channels/acs.h"

#include "channels/acs_auth.h"
#include "channels/acs_events.h"
#include "channels/acs_rest.h"
#include "channels/sms_in.h"
#include "channels/ssml.h"
#include "config/config.h"
#include "core/json.h"
#include "engine/engine.h"
#include "engine/prompts.h"
#include "http/auth.h"
#include "http/router.h"
#include "io/ctx_private.h"

#include <stdio.h>
#include <string.h>

#define CTX_TALK     "ccai:talk"
#define CTX_LISTEN   "ccai:listen"
#define CTX_MENU     "ccai:menu"
#define CTX_GOODBYE  "ccai:goodbye"
#define CTX_TRANSFER "ccai:transfer"

/* Longest wait for the last play before hanging up or transferring. */
#define AFTER_GUARD_MS (60u * 1000u)
/* The ACS choices the language menu offers, one per DTMF key. */
#define MENU_MAX 9

typedef enum media_kind { M_PLAY, M_LISTEN, M_MENU, M_CANCEL } media_kind;

typedef struct media {
    struct media *next;
    media_kind kind;
    char *ssml; /* play, or the prompt of a recognition; NULL for a bare one */
    char *lang; /* recognition language */
} media;

typedef enum after { AFTER_NONE, AFTER_HANGUP, AFTER_TRANSFER } after;

typedef struct acs_call {
    struct acs_call *next;
    struct Ccai_acs *acs;
    ccai_call *call;
    char conn_id[128];        /* callConnectionId */
    char server_call_id[512]; /* serverCallId: recording, Event Grid */
    char *caller;             /* the participant recognitions listen to */

    media *queue, **tail;
    bool media_busy;   /* one media request in flight */
    unsigned plays;    /* plays sent whose end has not been reported */
    bool prompted;     /* the last say went out as a recognition's prompt */
    bool menu;         /* the language menu is open */
    int menu_failures; /* of the menu */
    int errors;        /* recognitions failed for reasons other than silence */
    bool connected;    /* CallConnected seen */
    bool engine_on;    /* the engine got CONNECTED */
    after after;
    char *transfer_to;
    bool ending;         /* terminate sent, or the call is gone */
    bool dead;           /* freed by the channel; the engine may still hold it */
    bool cancel_pending; /* barge-in: cancel what ACS plays before anything else */
    unsigned gen;        /* bumped by each cancel: older plays' events are stale */
    uint64_t serial;     /* this handle, among the handles of the same stored call */
    Ccai_timer guard;
    Ccai_timer kick; /* sends what the engine queued, once its action is over */
} acs_call;

/* A REST operation in flight, found again by call id when it reports. */
typedef enum pend_kind { P_MEDIA, P_ANSWER, P_CREATE, P_TRANSFER, P_HANGUP, P_RECORDING } pend_kind;

typedef struct pend {
    struct pend *next;
    struct Ccai_acs *acs;
    pend_kind kind;
    media_kind media;
    char call_id[37];
    uint64_t serial; /* of the handle it was for: a call resumed since is another */
} pend;

struct Ccai_acs {
    ccai_ctx *ctx;
    Ccai_acs_rest *rest;
    Ccai_acs_auth *auth;
    acs_call *calls;
    acs_call *dead; /* freed while the engine was inside the call: freed next tick */
    pend *pending;
    uint64_t serials;
};

static Ccai_acs *channel(const ccai_ctx *ctx)
{
    return ctx->acs;
}

static const char *cfg_str(const ccai_ctx *ctx, const char *key)
{
    const char *v = Ccai_config_str(ctx->cfg, key);
    return v && *v ? v : NULL;
}

/* Calls --------------------------------------------------------------------------------------- */

static void media_free(media *m)
{
    ccai_free(m->ssml);
    ccai_free(m->lang);
    ccai_free(m);
}

static void queue_clear(acs_call *a)
{
    while (a->queue) {
        media *m = a->queue;
        a->queue = m->next;
        media_free(m);
    }
    a->tail = &a->queue;
}

static void on_reap(Ccai_timer *t, void *ud);

/* The call is done with. When the engine is inside it (an op of ours led
 * here), the engine may still call an op with `a`: a then stays, marked
 * dead, until the next tick. */
static void acs_call_free(Ccai_acs *acs, acs_call *a)
{
    for (acs_call **p = &acs->calls; *p; p = &(*p)->next) {
        if (*p == a) {
            *p = a->next;
            break;
        }
    }
    Ccai_timer_stop(acs->ctx, &a->guard);
    Ccai_timer_stop(acs->ctx, &a->kick);
    queue_clear(a);
    ccai_free(a->caller);
    a->caller = NULL;
    ccai_free(a->transfer_to);
    a->transfer_to = NULL;
    bool inside = a->call->depth > 0;
    ccai_call_free(a->call); /* deferred by the engine when inside */
    if (inside) {
        a->dead = true;
        a->next = acs->dead;
        acs->dead = a;
        Ccai_timer_init(&a->kick, on_reap, a);
        /* On failure the channel's free reaps it. */
        Ccai_timer_start(acs->ctx, &a->kick, 0);
        return;
    }
    ccai_free(a);
}

static void on_reap(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    acs_call *a = ud;
    Ccai_acs *acs = a->acs;
    for (acs_call **p = &acs->dead; *p; p = &(*p)->next) {
        if (*p == a) {
            *p = a->next;
            break;
        }
    }
    ccai_free(a);
}

static acs_call *find(Ccai_acs *acs, const char *call_id)
{
    for (acs_call *a = acs ? acs->calls : NULL; a; a = a->next) {
        if (strcmp(ccai_call_id(a->call), call_id) == 0)
            return a;
    }
    return NULL;
}

static acs_call *find_server_call(Ccai_acs *acs, const char *server_call_id)
{
    for (acs_call *a = acs ? acs->calls : NULL; a; a = a->next) {
        if (server_call_id && strcmp(a->server_call_id, server_call_id) == 0)
            return a;
    }
    return NULL;
}

/* The call is over on ACS's side: the engine ends it, the handle goes. */
static void call_over(Ccai_acs *acs, acs_call *a, const char *reason)
{
    Ccai_call_notify(a->call, CCAI_EVENT_HANGUP, reason);
    acs_call_free(acs, a);
}

static char *callback_url(const ccai_ctx *ctx, const ccai_call *c)
{
    return Ccai_http_public_url(ctx->cfg, "/acs/callback?call=%s&s=%s", c->row.id,
                                c->row.callback_secret);
}

/* Keep the ids ACS gives the call the first time they are seen, on the
 * stored call: the serverCallId (recording, Event Grid) and the
 * correlationId (recording files name the call by it). */
static void remember_ids(acs_call *a, const char *server_call_id, const char *correlation_id)
{
    ccai_call *c = a->call;
    bool changed = false;
    if (server_call_id && *server_call_id && !*a->server_call_id) {
        snprintf(a->server_call_id, sizeof a->server_call_id, "%s", server_call_id);
        changed = Ccai_str_replace(&c->row.provider_call_id, server_call_id);
    }
    if (correlation_id && *correlation_id && !c->row.correlation_id)
        changed = Ccai_str_replace(&c->row.correlation_id, correlation_id) || changed;
    if (changed)
        Ccai_call_save(c);
}

/* REST operations ----------------------------------------------------------------------------- */

static void on_op_done(ccai_status st, const Ccai_acs_result *res, void *ud);

static pend *pend_new(Ccai_acs *acs, const acs_call *a, pend_kind kind)
{
    pend *p = Ccai_calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->acs = acs;
    p->kind = kind;
    snprintf(p->call_id, sizeof p->call_id, "%s", ccai_call_id(a->call));
    p->serial = a->serial;
    return p;
}

/* Track p once its operation started; free it when it did not. */
static bool pend_started(Ccai_acs *acs, pend *p, ccai_status st)
{
    if (st != CCAI_OK) {
        ccai_free(p);
        return false;
    }
    p->next = acs->pending;
    acs->pending = p;
    return true;
}

static void pend_unlink(Ccai_acs *acs, pend *p)
{
    for (pend **q = &acs->pending; *q; q = &(*q)->next) {
        if (*q == p) {
            *q = p->next;
            return;
        }
    }
}

static const char *reason_of(ccai_status st, const Ccai_acs_result *res)
{
    return res && res->error_message ? res->error_message : ccai_status_str(st);
}

/* A connection we hold no handle for, hung up without waiting. */
static void on_zombie_hung_up(ccai_status st, const Ccai_acs_result *res, void *ud)
{
    Ccai_acs *acs = ud;
    if (st != CCAI_OK && st != CCAI_ERR_NOT_FOUND)
        Ccai_log(&acs->ctx->log, CCAI_LOG_WARN, "acs: cannot hang up a call left over: %s",
                 reason_of(st, res));
}

/* Media: one request at a time ---------------------------------------------------------------- */

static void run_after(acs_call *a);
static void menu_failed(acs_call *a);

/* The operation context of a request: what it is for, and the generation
 * ("ccai:talk#2") so that events of plays cancelled since are told apart. */
static void context_of(const acs_call *a, const char *what, char *out, size_t n)
{
    snprintf(out, n, "%s#%u", what, a->gen);
}

static ccai_status send_recognize(acs_call *a, const media *m, const char *context, pend *p)
{
    Ccai_acs *acs = a->acs;
    const ccai_config *cfg = acs->ctx->cfg;
    Ccai_acs_choice choices[MENU_MAX];
    const char *phrases[MENU_MAX][4];
    size_t n = 0;
    static const char *const tones[MENU_MAX] = {"one", "two",   "three", "four", "five",
                                                "six", "seven", "eight", "nine"};
    if (m->kind == M_MENU) {
        const json_t *avail =
            json_object_get(json_object_get(a->call->initiate, "lang"), "availables");
        size_t i;
        const json_t *l;
        json_array_foreach(avail, i, l)
        {
            const char *code = json_string_value(json_object_get(l, "short_code"));
            if (!code || n == MENU_MAX)
                continue;
            const json_t *pr = json_object_get(l, "pronunciations_en");
            size_t k = 0;
            for (size_t j = 0; j < json_array_size(pr) && k < 3; j++) {
                const char *ph = json_string_value(json_array_get(pr, j));
                if (ph && *ph)
                    phrases[n][k++] = ph;
            }
            if (k == 0)
                phrases[n][k++] = code;
            phrases[n][k] = NULL;
            choices[n] = (Ccai_acs_choice){code, phrases[n], tones[n]};
            n++;
        }
    }
    int initial = (int)Ccai_config_int(cfg, "conversation.phone_silence_timeout_sec", 20);
    Ccai_acs_recognize_params rp = {
        .kind = m->kind == M_MENU ? CCAI_ACS_RECOGNIZE_CHOICES : CCAI_ACS_RECOGNIZE_SPEECH,
        .target = a->caller,
        .prompt_ssml = m->ssml,
        .interrupt_prompt = true,
        .initial_silence_timeout_s = initial > 300 ? 300 : initial,
        .end_silence_timeout_ms =
            m->kind == M_MENU
                ? 0
                : (int)Ccai_config_int(cfg, "communication_services.end_silence_timeout_ms", 1000),
        .speech_language = m->lang,
        .choices = choices,
        .n_choices = n,
        .operation_context = context,
    };
    return Ccai_acs_recognize(acs->rest, a->conn_id, &rp, on_op_done, p, NULL);
}

/* A media request could not even start: report it as its failure would
 * be. Returns false when the call is gone. */
static bool media_not_sent(acs_call *a, media_kind kind, ccai_status st)
{
    Ccai_acs *acs = a->acs;
    char id[37];
    snprintf(id, sizeof id, "%s", ccai_call_id(a->call));
    Ccai_log(&acs->ctx->log, CCAI_LOG_WARN, "acs: call %s: cannot send a media request: %s", id,
             ccai_status_str(st));
    if (kind == M_PLAY)
        Ccai_call_notify(a->call, CCAI_EVENT_SAY_FAILED, ccai_status_str(st));
    else if (kind == M_MENU)
        menu_failed(a);
    else if (kind == M_LISTEN && a->engine_on)
        Ccai_call_notify(a->call, CCAI_EVENT_SILENCE_TIMEOUT, NULL); /* listen again, or goodbye */
    return find(acs, id) != NULL;
}

/* Send what is queued, one request at a time; then, once nothing is left
 * to play, what waits for that. Runs from the loop (timers, completions,
 * events), never from inside an op. */
static void pump(acs_call *a)
{
    Ccai_acs *acs = a->acs;
    while (!a->media_busy && !a->ending && (a->cancel_pending || a->queue)) {
        char context[48];
        if (a->cancel_pending) {
            a->cancel_pending = false;
            pend *p = pend_new(acs, a, P_MEDIA);
            ccai_status st = CCAI_ERR_NOMEM;
            if (p) {
                p->media = M_CANCEL;
                st = Ccai_acs_cancel_media(acs->rest, a->conn_id, on_op_done, p, NULL);
            }
            if (pend_started(acs, p, st))
                a->media_busy = true;
            else
                Ccai_log(&acs->ctx->log, CCAI_LOG_WARN, "acs: call %s: cannot cancel media: %s",
                         ccai_call_id(a->call), ccai_status_str(st));
            continue;
        }
        media *m = a->queue;
        a->queue = m->next;
        if (!a->queue)
            a->tail = &a->queue;
        bool last = !a->queue;
        context_of(a,
                   m->kind == M_MENU                    ? CTX_MENU
                   : m->kind == M_LISTEN                ? CTX_LISTEN
                   : last && a->after == AFTER_HANGUP   ? CTX_GOODBYE
                   : last && a->after == AFTER_TRANSFER ? CTX_TRANSFER
                                                        : CTX_TALK,
                   context, sizeof context);
        pend *p = pend_new(acs, a, P_MEDIA);
        ccai_status st = CCAI_ERR_NOMEM;
        if (p) {
            p->media = m->kind;
            if (m->kind == M_PLAY) {
                Ccai_acs_play_params pp = {.ssml = m->ssml, .operation_context = context};
                st = Ccai_acs_play(acs->rest, a->conn_id, &pp, on_op_done, p, NULL);
            } else {
                st = send_recognize(a, m, context, p);
            }
        }
        media_kind kind = m->kind;
        media_free(m);
        if (pend_started(acs, p, st)) {
            a->media_busy = true;
            if (kind == M_PLAY)
                a->plays++;
            if (a->after != AFTER_NONE) /* the guard counts from the last play */
                Ccai_timer_start(acs->ctx, &a->guard, AFTER_GUARD_MS);
        } else if (!media_not_sent(a, kind, st)) {
            return;
        }
    }
    run_after(a);
}

/* Send the queue once the engine's current action is over: what it does
 * next in the same step (hang up, transfer) then rides on the last play's
 * operation context. */
static void on_kick(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    pump(ud);
}

static bool schedule(acs_call *a)
{
    return Ccai_timer_active(&a->kick) || Ccai_timer_start(a->acs->ctx, &a->kick, 0) == CCAI_OK;
}

static ccai_status enqueue(acs_call *a, media_kind kind, char *ssml, const char *lang)
{
    media *m = Ccai_calloc(1, sizeof *m);
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
static char *ssml_for(const acs_call *a, const char *text, const char *lang, const char *voice,
                      ccai_style style, double rate)
{
    const ccai_ctx *ctx = a->acs->ctx;
    /* The configured lexicon, else ours when there is one. */
    char *lexicon = NULL;
    if (!cfg_str(ctx, "communication_services.lexicon_url") && cfg_str(ctx, "server.public_url") &&
        json_array_size(Ccai_config_json(ctx->cfg, "conversation.lexicon")) > 0)
        lexicon = Ccai_http_public_url(ctx->cfg, "/lexicon.xml?lang=%s", lang ? lang : "en-US");
    Ccai_ssml_opts o = {
        .lang = lang ? lang : "en-US",
        .voice = voice && *voice ? voice : cfg_str(ctx, "communication_services.fallback_voice"),
        .voice_effect = cfg_str(ctx, "communication_services.voice_effect"),
        .lexicon_uri = lexicon ? lexicon : cfg_str(ctx, "communication_services.lexicon_url"),
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

/* Queue text as plays, the last chunk as the prompt of `last` (M_PLAY,
 * M_LISTEN or M_MENU). */
static ccai_status queue_text(acs_call *a, const char *text, const char *lang, const char *voice,
                              ccai_style style, double rate, media_kind last)
{
    char *clean = Ccai_ssml_sanitize(text);
    char **chunks = NULL;
    size_t n = 0;
    ccai_status st = clean ? Ccai_ssml_chunk(clean, 0, &chunks, &n) : CCAI_ERR_NOMEM;
    ccai_free(clean);
    for (size_t i = 0; st == CCAI_OK && i < n; i++) {
        char *ssml = ssml_for(a, chunks[i], lang, voice, style, rate);
        st = ssml ? enqueue(a, i + 1 == n ? last : M_PLAY, ssml, lang) : CCAI_ERR_NOMEM;
    }
    if (st == CCAI_OK && n == 0 && last != M_PLAY)
        st = enqueue(a, last, NULL, lang); /* nothing to say: just listen */
    Ccai_ssml_chunks_free(chunks);
    return st;
}

/* After the last play: hang up or transfer ---------------------------------------------------- */

static void on_guard(Ccai_timer *t, void *ud);

static void hang_up_now(acs_call *a)
{
    Ccai_acs *acs = a->acs;
    if (a->ending)
        return;
    a->ending = true;
    queue_clear(a);
    pend *p = pend_new(acs, a, P_HANGUP);
    ccai_status st =
        p ? Ccai_acs_hang_up(acs->rest, a->conn_id, true, on_op_done, p, NULL) : CCAI_ERR_NOMEM;
    if (!pend_started(acs, p, st)) {
        Ccai_log(&acs->ctx->log, CCAI_LOG_ERROR, "acs: call %s: cannot hang up: %s",
                 ccai_call_id(a->call), ccai_status_str(st));
        call_over(acs, a, "hung up");
    }
}

static void transfer_now(acs_call *a)
{
    Ccai_acs *acs = a->acs;
    char *to = a->transfer_to;
    a->transfer_to = NULL;
    pend *p = pend_new(acs, a, P_TRANSFER);
    Ccai_acs_transfer_params tp = {
        .target = to,
        .source_caller_id = cfg_str(acs->ctx, "communication_services.phone_number"),
        .operation_context = CTX_TRANSFER,
    };
    ccai_status st =
        p ? Ccai_acs_transfer(acs->rest, a->conn_id, &tp, on_op_done, p, NULL) : CCAI_ERR_NOMEM;
    ccai_free(to);
    if (!pend_started(acs, p, st))
        Ccai_call_notify(a->call, CCAI_EVENT_TRANSFER_FAILED, ccai_status_str(st));
}

/* Run the pending action once nothing is left to play. */
static void run_after(acs_call *a)
{
    if (a->after == AFTER_NONE || a->ending || a->queue || a->media_busy || a->plays)
        return;
    after what = a->after;
    a->after = AFTER_NONE;
    Ccai_timer_stop(a->acs->ctx, &a->guard);
    if (what == AFTER_HANGUP)
        hang_up_now(a);
    else
        transfer_now(a);
}

static void on_guard(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    acs_call *a = ud;
    Ccai_log(&a->acs->ctx->log, CCAI_LOG_WARN,
             "acs: call %s: the end of the last play was never reported; going on",
             ccai_call_id(a->call));
    a->plays = 0;
    queue_clear(a);
    run_after(a); /* now, or when the request in flight returns */
}

/* Hang up or transfer once what is queued has been heard. Runs from the
 * loop, so that the engine's current step is over first. */
static bool set_after(acs_call *a, after what)
{
    a->after = what;
    Ccai_timer_start(a->acs->ctx, &a->guard, AFTER_GUARD_MS);
    return schedule(a);
}

/* Ops: the engine acts ------------------------------------------------------------------------ */

static int op_say(ccai_call *c, const ccai_speech *sp, void *ud)
{
    CCAI_UNUSED(c);
    acs_call *a = ud;
    if (a->dead || a->ending)
        return -1;
    bool prompt = sp->expects_reply && !sp->more_follows;
    if (queue_text(a, sp->text, sp->lang, sp->voice, sp->style, sp->rate,
                   prompt ? M_LISTEN : M_PLAY) != CCAI_OK ||
        !schedule(a))
        return -1;
    a->prompted = prompt;
    return 0;
}

static int op_listen(ccai_call *c, const char *lang, void *ud)
{
    CCAI_UNUSED(c);
    acs_call *a = ud;
    if (a->dead)
        return -1;
    if (a->prompted) { /* the last sentence already listens */
        a->prompted = false;
        return 0;
    }
    if (a->ending || enqueue(a, M_LISTEN, NULL, lang) != CCAI_OK || !schedule(a))
        return -1;
    return 0;
}

/* Barge-in: what is not sent is dropped; what ACS plays or holds is
 * cancelled before anything else goes out, and the events of those plays
 * no longer count (a new generation). */
static int op_stop(ccai_call *c, void *ud)
{
    CCAI_UNUSED(c);
    acs_call *a = ud;
    if (a->dead)
        return -1;
    queue_clear(a);
    a->prompted = false;
    if (!a->plays || a->ending)
        return 0;
    a->plays = 0;
    a->gen++;
    a->cancel_pending = true;
    return schedule(a) ? 0 : -1;
}

static int op_transfer(ccai_call *c, const char *number, void *ud)
{
    CCAI_UNUSED(c);
    acs_call *a = ud;
    if (a->dead || a->ending || !Ccai_str_replace(&a->transfer_to, number))
        return -1;
    return set_after(a, AFTER_TRANSFER) ? 0 : -1;
}

static int op_hangup(ccai_call *c, void *ud)
{
    CCAI_UNUSED(c);
    acs_call *a = ud;
    if (a->dead)
        return -1;
    return set_after(a, AFTER_HANGUP) ? 0 : -1;
}

static const ccai_call_ops acs_ops = {
    /* No send_sms: the engine sends through the configured SMS provider
     * (ACS's when sms.mode is communication_services), as a durable job. */
    CCAI_CALL_OPS_VERSION, op_say, op_stop, op_listen, op_transfer, op_hangup, NULL, NULL, NULL,
};

/* The language menu --------------------------------------------------------------------------- */

/* Languages the menu can offer: those with a short code, at most 9. */
static size_t languages(const acs_call *a)
{
    const json_t *avail = json_object_get(json_object_get(a->call->initiate, "lang"), "availables");
    size_t n = 0, i;
    const json_t *l;
    json_array_foreach(avail, i, l)
    {
        if (json_is_string(json_object_get(l, "short_code")) && n < MENU_MAX)
            n++;
    }
    return n;
}

static const json_t *lang_entry(const acs_call *a, const char *code)
{
    return Ccai_conv_lang_entry(a->call, code);
}

/* The menu: each language offers itself, in its own words and voice
 * ("Pour le français, tapez 1. For English, press 2."), as one SSML
 * document with a voice per language; when that would not fit the text to
 * speech limit, every line in the call's voice instead. */
static void open_menu(acs_call *a)
{
    const ccai_ctx *ctx = a->acs->ctx;
    const Ccai_prompts *prompts = Ccai_engine_prompts(ctx->engine);
    const json_t *avail = json_object_get(json_object_get(a->call->initiate, "lang"), "availables");
    const char *texts[MENU_MAX];
    char *lines[MENU_MAX] = {0}, *plain[MENU_MAX] = {0};
    Ccai_ssml_opts opts[MENU_MAX];
    size_t n = 0, i, total = 0;
    const json_t *l;
    uint32_t r = 0;
    Ccai_random_bytes(&r, sizeof r);
    bool ok = true;
    json_array_foreach(avail, i, l)
    {
        const char *code = json_string_value(json_object_get(l, "short_code"));
        if (!code || n == MENU_MAX)
            continue; /* numbered as the choices are */
        const char *label =
            json_string_value(json_array_get(json_object_get(l, "pronunciations_en"), 0));
        const char *voice = json_string_value(json_object_get(l, "voice"));
        char index[24];
        snprintf(index, sizeof index, "%zu", n + 1);
        Ccai_prompt_var vars[] = {{"label", label ? label : code}, {"index", index}};
        lines[n] = Ccai_prompts_render_tts_lang(prompts, CCAI_TTS_IVR_LANGUAGE, code, r, vars, 2);
        plain[n] = Ccai_prompts_render_tts_lang(prompts, CCAI_TTS_IVR_LANGUAGE, NULL, r, vars, 2);
        ok = ok && lines[n] && plain[n];
        texts[n] = lines[n] ? lines[n] : "";
        total += lines[n] ? strlen(lines[n]) + 1 : 0;
        opts[n] = (Ccai_ssml_opts){
            .lang = code,
            .voice =
                voice && *voice ? voice : cfg_str(ctx, "communication_services.fallback_voice"),
            .voice_effect = cfg_str(ctx, "communication_services.voice_effect"),
            .prosody_rate = a->call->rate,
        };
        if (!opts[n].voice)
            opts[n].voice = "en-US-AvaMultilingualNeural";
        n++;
    }
    a->menu = true;
    /* Seen in the call's state while the caller chooses. */
    Ccai_call_set_state(a->call, CCAI_CALL_LANGUAGE_MENU);
    ccai_status st = ok && n ? CCAI_OK : CCAI_ERR_NOMEM;
    char *ssml = NULL;
    if (st == CCAI_OK && total < CCAI_SSML_CHUNK_MAX &&
        (st = Ccai_ssml_build_multi(texts, opts, n, &ssml)) == CCAI_OK) {
        st = enqueue(a, M_MENU, ssml, a->call->row.lang);
    } else if (st == CCAI_OK) {
        Ccai_buf b = {0};
        for (size_t k = 0; k < n; k++)
            Ccai_buf_printf(&b, "%s%s", b.len ? " " : "", plain[k]);
        const json_t *cur = lang_entry(a, a->call->row.lang);
        st = b.len ? queue_text(a, b.data, a->call->row.lang,
                                json_string_value(json_object_get(cur, "voice")), CCAI_STYLE_NONE,
                                a->call->rate, M_MENU)
                   : CCAI_ERR_NOMEM;
        Ccai_buf_free(&b);
    }
    for (size_t k = 0; k < n; k++) {
        ccai_free(lines[k]);
        ccai_free(plain[k]);
    }
    if (st != CCAI_OK) {
        Ccai_log(&ctx->log, CCAI_LOG_WARN, "acs: call %s: no language menu: %s",
                 ccai_call_id(a->call), ccai_status_str(st));
        a->menu = false;
        a->engine_on = true;
        Ccai_call_notify(a->call, CCAI_EVENT_CONNECTED, NULL);
        return;
    }
    schedule(a);
}

static void menu_chosen(acs_call *a, const char *label)
{
    a->menu = false;
    a->menu_failures = 0;
    if (label && lang_entry(a, label) && Ccai_str_replace(&a->call->row.lang, label))
        Ccai_call_save(a->call);
    Ccai_log(&a->acs->ctx->log, CCAI_LOG_INFO, "acs: call %s: language %s", ccai_call_id(a->call),
             a->call->row.lang);
    a->engine_on = true;
    Ccai_call_notify(a->call, CCAI_EVENT_CONNECTED, NULL);
}

/* Goodbye, then the engine hangs up (through op_hangup, after the play). */
static void goodbye(acs_call *a, bool store)
{
    ccai_call *c = a->call;
    Ccai_call_enter(c);
    Ccai_conv_goodbye(c, store);
    if (a->after != AFTER_HANGUP) /* the engine had ended it already */
        set_after(a, AFTER_HANGUP);
    Ccai_call_leave(c);
}

static void menu_failed(acs_call *a)
{
    int max = (int)Ccai_config_int(a->acs->ctx->cfg, "conversation.recognition_retry_max", 3);
    if (++a->menu_failures < max) {
        open_menu(a);
        return;
    }
    a->menu = false;
    goodbye(a, false);
}

/* Callback events ----------------------------------------------------------------------------- */

static void start_recording(acs_call *a)
{
    Ccai_acs *acs = a->acs;
    char *cb = callback_url(acs->ctx, a->call);
    pend *p = cb ? pend_new(acs, a, P_RECORDING) : NULL;
    Ccai_acs_recording_params rp = {
        .server_call_id = a->server_call_id,
        .state_callback_uri = cb,
        .channel_type = "unmixed",
        .container_url = cfg_str(acs->ctx, "communication_services.recording_container_url"),
    };
    ccai_status st =
        p ? Ccai_acs_recording_start(acs->rest, &rp, on_op_done, p, NULL) : CCAI_ERR_NOMEM;
    if (!pend_started(acs, p, st))
        Ccai_log(&acs->ctx->log, CCAI_LOG_WARN, "acs: call %s: cannot start the recording: %s",
                 ccai_call_id(a->call), ccai_status_str(st));
    ccai_free(cb);
}

static void on_connected(acs_call *a, const Ccai_acs_event *ev)
{
    if (a->connected)
        return; /* delivered twice */
    a->connected = true;
    remember_ids(a, ev->server_call_id, ev->correlation_id);
    if (Ccai_config_bool(a->acs->ctx->cfg, "conversation.recording_enabled", false) &&
        *a->server_call_id)
        start_recording(a);
    if (languages(a) > 1) {
        open_menu(a);
    } else {
        a->engine_on = true;
        Ccai_call_notify(a->call, CCAI_EVENT_CONNECTED, NULL);
    }
}

static void speech_event(acs_call *a, ccai_event_type type, const char *text,
                         const Ccai_acs_event *ev)
{
    ccai_event *e = NULL;
    if (ccai_event_new(type, &e) != CCAI_OK)
        return;
    if (ccai_event_set_text(e, text) == CCAI_OK &&
        ccai_event_set_lang(e, a->call->row.lang) == CCAI_OK &&
        (!ev->has_confidence || ccai_event_set_confidence(e, ev->speech_confidence) == CCAI_OK))
        ccai_on_event(a->call, e);
    ccai_event_free(e);
}

static void on_recognized(acs_call *a, const Ccai_acs_event *ev)
{
    a->errors = 0;
    if (a->menu) {
        menu_chosen(a, ev->choice_label);
        return;
    }
    if (!a->engine_on)
        return;
    switch (ev->recognition) {
    case CCAI_ACS_RECOGNITION_SPEECH:
        if (ev->speech_text && *ev->speech_text)
            speech_event(a, CCAI_EVENT_SPEECH, ev->speech_text, ev);
        else
            Ccai_call_notify(a->call, CCAI_EVENT_SILENCE_TIMEOUT, NULL);
        break;
    case CCAI_ACS_RECOGNITION_DTMF: speech_event(a, CCAI_EVENT_DTMF, ev->dtmf_tones, ev); break;
    case CCAI_ACS_RECOGNITION_CHOICES:
        speech_event(a, CCAI_EVENT_SPEECH, ev->choice_phrase ? ev->choice_phrase : ev->choice_label,
                     ev);
        break;
    case CCAI_ACS_RECOGNITION_NONE:
        Ccai_call_notify(a->call, CCAI_EVENT_SILENCE_TIMEOUT, NULL);
        break;
    }
}

static void on_recognize_failed(acs_call *a, const Ccai_acs_event *ev)
{
    if (a->menu) {
        menu_failed(a);
        return;
    }
    if (!a->engine_on)
        return;
    if (Ccai_acs_event_is_silence_timeout(ev)) {
        Ccai_call_notify(a->call, CCAI_EVENT_SILENCE_TIMEOUT, NULL);
        return;
    }
    /* The prompt could not play, or recognition broke: say so, listen
     * again; not forever. */
    Ccai_log(&a->acs->ctx->log, CCAI_LOG_WARN, "acs: call %s: recognition failed: %d/%d %s",
             ccai_call_id(a->call), ev->result_code, ev->result_sub_code,
             ev->result_message ? ev->result_message : "");
    int max = (int)Ccai_config_int(a->acs->ctx->cfg, "conversation.recognition_retry_max", 3);
    if (++a->errors >= max) {
        goodbye(a, true);
        return;
    }
    Ccai_call_enter(a->call);
    Ccai_conv_say_phrase(a->call, CCAI_TTS_ERROR, true, false);
    op_listen(a->call, a->call->row.lang, a);
    Ccai_call_leave(a->call);
}

/* An operation context of ours ("ccai:goodbye#2") is `what`. */
static bool context_is(const char *oc, const char *what)
{
    size_t n = strlen(what);
    return oc && strncmp(oc, what, n) == 0 && (oc[n] == '\0' || oc[n] == '#');
}

/* Of the current generation: not cancelled since. Contexts without one
 * (not ours) count as current. */
static bool context_current(const acs_call *a, const char *oc)
{
    const char *h = oc ? strrchr(oc, '#') : NULL;
    if (!h || strncmp(oc, "ccai:", 5) != 0)
        return true;
    char *end = NULL;
    unsigned long g = strtoul(h + 1, &end, 10);
    return end && *end == '\0' && g == a->gen;
}

static void on_play_end(acs_call *a, const Ccai_acs_event *ev)
{
    if (!context_current(a, ev->operation_context))
        return; /* a play cancelled by a barge-in: already uncounted */
    if (a->plays)
        a->plays--;
    if (a->after != AFTER_NONE && a->plays) /* still speaking: the guard waits on */
        Ccai_timer_start(a->acs->ctx, &a->guard, AFTER_GUARD_MS);
    if (ev->kind == CCAI_ACS_PLAY_COMPLETED)
        Ccai_call_notify(a->call, CCAI_EVENT_SAY_DONE, NULL);
    else if (ev->kind == CCAI_ACS_PLAY_FAILED)
        Ccai_call_notify(a->call, CCAI_EVENT_SAY_FAILED,
                         ev->result_message ? ev->result_message : "the play failed");
    /* The context says what the last play was for, even if our count
     * drifted (an event lost or repeated). */
    const char *oc = ev->operation_context;
    if (a->after != AFTER_NONE && !a->queue && !a->media_busy &&
        (context_is(oc, CTX_GOODBYE) || context_is(oc, CTX_TRANSFER)))
        a->plays = 0;
    run_after(a);
}

/* One Call Automation event for a live call. Returns false when the call is
 * gone. */
static bool call_event(Ccai_acs *acs, acs_call *a, const Ccai_acs_event *ev)
{
    /* A caller ringing back resumes the same call (same URL): events of
     * the previous connection are not this one's. */
    if ((ev->call_connection_id && *a->conn_id && strcmp(ev->call_connection_id, a->conn_id)) ||
        (ev->server_call_id && *a->server_call_id &&
         strcmp(ev->server_call_id, a->server_call_id))) {
        Ccai_log(&acs->ctx->log, CCAI_LOG_DEBUG, "acs: call %s: %s of an earlier connection",
                 ccai_call_id(a->call), Ccai_acs_kind_name(ev->kind));
        return true;
    }
    if (ev->call_connection_id && !*a->conn_id)
        snprintf(a->conn_id, sizeof a->conn_id, "%s", ev->call_connection_id);
    Ccai_log(&acs->ctx->log, CCAI_LOG_DEBUG, "acs: call %s: %s (%s)", ccai_call_id(a->call),
             Ccai_acs_kind_name(ev->kind), ev->operation_context ? ev->operation_context : "-");
    switch (ev->kind) {
    case CCAI_ACS_CALL_CONNECTED: on_connected(a, ev); break;
    case CCAI_ACS_CALL_DISCONNECTED: call_over(acs, a, "disconnected"); return false;
    case CCAI_ACS_CREATE_CALL_FAILED:
    case CCAI_ACS_ANSWER_FAILED:
    case CCAI_ACS_CONNECT_FAILED: {
        char why[256];
        snprintf(why, sizeof why, "%s: %s", Ccai_acs_kind_name(ev->kind),
                 ev->result_message ? ev->result_message : "no reason given");
        call_over(acs, a, why);
        return false;
    }
    case CCAI_ACS_CALL_TRANSFER_ACCEPTED:
        a->ending = true;
        Ccai_call_notify(a->call, CCAI_EVENT_TRANSFER_OK, ev->transfer_target);
        break;
    case CCAI_ACS_CALL_TRANSFER_FAILED:
        Ccai_call_notify(a->call, CCAI_EVENT_TRANSFER_FAILED,
                         ev->result_message ? ev->result_message : "the transfer failed");
        break;
    case CCAI_ACS_PLAY_COMPLETED:
    case CCAI_ACS_PLAY_FAILED:
    case CCAI_ACS_PLAY_CANCELED: on_play_end(a, ev); break;
    case CCAI_ACS_RECOGNIZE_COMPLETED: on_recognized(a, ev); break;
    case CCAI_ACS_RECOGNIZE_FAILED: on_recognize_failed(a, ev); break;
    case CCAI_ACS_RECORDING_STATE_CHANGED:
        Ccai_log(&acs->ctx->log, CCAI_LOG_INFO, "acs: call %s: recording %s is %s",
                 ccai_call_id(a->call), ev->recording_id ? ev->recording_id : "?",
                 ev->recording_state ? ev->recording_state : "?");
        break;
    default: break; /* PlayStarted, RecognizeCanceled: nothing to do */
    }
    return true;
}

/* REST completions ---------------------------------------------------------------------------- */

static void on_op_done(ccai_status st, const Ccai_acs_result *res, void *ud)
{
    pend *p = ud;
    Ccai_acs *acs = p->acs;
    pend_unlink(acs, p);
    char call_id[37];
    memcpy(call_id, p->call_id, sizeof call_id);
    acs_call *a = find(acs, call_id);
    pend_kind kind = p->kind;
    media_kind mk = p->media;
    bool stale = !a || p->serial != a->serial;
    ccai_free(p);
    if (stale) {
        /* The call ended meanwhile, or this is a newer handle of it. A
         * connection answered or created for nobody is hung up. */
        if ((kind == P_ANSWER || kind == P_CREATE) && st == CCAI_OK && res->id)
            Ccai_acs_hang_up(acs->rest, res->id, true, on_zombie_hung_up, acs, NULL);
        /* A short call may end before ACS's reply to the recording start:
         * the id still names its files (RecordingFileStatusUpdated). */
        if (kind == P_RECORDING && st == CCAI_OK && res->id &&
            Ccai_call_recording(acs->ctx, call_id, NULL, res->id, 0) != CCAI_OK)
            Ccai_log(&acs->ctx->log, CCAI_LOG_WARN, "acs: call %s: recording id %s not stored",
                     call_id, res->id);
        return;
    }
    if (st == CCAI_ERR_NOT_FOUND && kind != P_RECORDING) {
        call_over(acs, a, "the call is gone");
        return;
    }
    switch (kind) {
    case P_MEDIA:
        a->media_busy = false;
        if (mk == M_CANCEL) {
            if (st != CCAI_OK)
                Ccai_log(&acs->ctx->log, CCAI_LOG_WARN, "acs: call %s: cannot cancel media: %s",
                         ccai_call_id(a->call), reason_of(st, res));
        } else if (st != CCAI_OK) {
            Ccai_log(&acs->ctx->log, CCAI_LOG_WARN, "acs: call %s: media request failed: %s",
                     ccai_call_id(a->call), reason_of(st, res));
            if (mk == M_PLAY) {
                if (a->plays)
                    a->plays--;
                Ccai_call_notify(a->call, CCAI_EVENT_SAY_FAILED, reason_of(st, res));
            } else if (mk == M_MENU) {
                menu_failed(a);
            } else if (a->engine_on) {
                Ccai_call_notify(a->call, CCAI_EVENT_SILENCE_TIMEOUT,
                                 NULL); /* listen again, or goodbye */
            }
            if (!(a = find(acs, call_id)))
                return;
        }
        pump(a);
        break;
    case P_ANSWER:
    case P_CREATE:
        if (st != CCAI_OK) {
            char why[300];
            snprintf(why, sizeof why, "%s failed: %s", kind == P_ANSWER ? "answer" : "create",
                     reason_of(st, res));
            Ccai_log(&acs->ctx->log, CCAI_LOG_WARN, "acs: call %s: %s", ccai_call_id(a->call), why);
            call_over(acs, a, why);
            return;
        }
        if (res->id && !*a->conn_id)
            snprintf(a->conn_id, sizeof a->conn_id, "%s", res->id);
        remember_ids(a, json_string_value(json_object_get(res->json, "serverCallId")),
                     json_string_value(json_object_get(res->json, "correlationId")));
        break;
    case P_TRANSFER:
        if (st != CCAI_OK)
            Ccai_call_notify(a->call, CCAI_EVENT_TRANSFER_FAILED, reason_of(st, res));
        break;
    case P_HANGUP:
        if (st != CCAI_OK)
            Ccai_log(&acs->ctx->log, CCAI_LOG_WARN, "acs: call %s: hang-up failed: %s",
                     ccai_call_id(a->call), reason_of(st, res));
        call_over(acs, a, "hung up");
        break;
    case P_RECORDING:
        if (st != CCAI_OK)
            Ccai_log(&acs->ctx->log, CCAI_LOG_WARN, "acs: call %s: cannot start the recording: %s",
                     ccai_call_id(a->call), reason_of(st, res));
        else {
            /* Its files will be named by this id (RecordingFileStatusUpdated). */
            if (res->id)
                Ccai_call_recording(acs->ctx, ccai_call_id(a->call), NULL, res->id, 0);
            Ccai_log(&acs->ctx->log, CCAI_LOG_INFO, "acs: call %s: recording %s started",
                     ccai_call_id(a->call), res->id ? res->id : "?");
        }
        break;
    }
}

/* Starting calls ------------------------------------------------------------------------------ */

/* take_back: the stored call to go on with (after a restart), else NULL. */
static ccai_status start_call(Ccai_acs *acs, const char *phone, const char *bot, ccai_direction dir,
                              const char *initiate, const char *take_back, acs_call **ret)
{
    acs_call *a = Ccai_calloc(1, sizeof *a);
    if (!a)
        return CCAI_ERR_NOMEM;
    a->acs = acs;
    a->serial = ++acs->serials;
    a->tail = &a->queue;
    Ccai_timer_init(&a->guard, on_guard, a);
    Ccai_timer_init(&a->kick, on_kick, a);
    ccai_call_params p = {CCAI_CALL_PARAMS_VERSION, dir, phone, bot, "acs", NULL, initiate, NULL,
                          dir == CCAI_INBOUND};
    ccai_status st = take_back ? Ccai_call_take_back(acs->ctx, take_back, &p, &acs_ops, a, &a->call)
                               : ccai_call_start(acs->ctx, &p, &acs_ops, a, &a->call);
    if (st == CCAI_OK && !(a->caller = Ccai_strdup(a->call->row.phone_number)))
        st = CCAI_ERR_NOMEM;
    if (st != CCAI_OK) {
        ccai_call_free(a->call);
        ccai_free(a);
        return st;
    }
    /* ACS reports silence itself (RecognizeFailed 8510). */
    a->call->channel_silence = true;
    a->next = acs->calls;
    acs->calls = a;
    *ret = a;
    return CCAI_OK;
}

/* "+33612345678" and "33612345678" are the same number. */
static bool same_number(const char *a, const char *b)
{
    if (!a || !b)
        return false;
    a += *a == '+';
    b += *b == '+';
    return strcmp(a, b) == 0;
}

static void incoming_call(Ccai_acs *acs, const Ccai_acs_event *ev)
{
    ccai_ctx *ctx = acs->ctx;
    const char *bot = cfg_str(ctx, "communication_services.phone_number");
    if (!ev->to_phone || !same_number(ev->to_phone, bot)) {
        Ccai_log(&ctx->log, CCAI_LOG_INFO, "acs: incoming call for another number, ignored");
        return;
    }
    if (!ev->from_phone) {
        Ccai_log(&ctx->log, CCAI_LOG_INFO, "acs: incoming call without a caller number, ignored");
        return;
    }
    if (find_server_call(acs, ev->server_call_id)) {
        Ccai_log(&ctx->log, CCAI_LOG_INFO, "acs: incoming call delivered twice, ignored");
        return;
    }
    char plus[40];
    const char *from = Ccai_phone_plus(ev->from_phone, plus, sizeof plus);
    /* The same caller again while we think they are still on the line: the
     * end of that call was lost; it is over now. */
    for (acs_call *old = acs->calls; old; old = old->next) {
        if (same_number(old->call->row.phone_number, from) &&
            old->call->row.direction == CCAI_INBOUND) {
            Ccai_log(&ctx->log, CCAI_LOG_WARN, "acs: call %s: the caller rang again; ended",
                     ccai_call_id(old->call));
            if (*old->conn_id && !old->ending) /* should it still be up: not left in silence */
                Ccai_acs_hang_up(acs->rest, old->conn_id, true, on_zombie_hung_up, acs, NULL);
            call_over(acs, old, "the caller rang again");
            break;
        }
    }
    acs_call *a = NULL;
    ccai_status st = start_call(acs, from, bot, CCAI_INBOUND, NULL, NULL, &a);
    if (st != CCAI_OK) {
        /* Unanswered, ACS plays its own failure tone; nothing is lost. */
        Ccai_log(&ctx->log, CCAI_LOG_ERROR, "acs: cannot start the call: %s: %s",
                 ccai_status_str(st), ccai_ctx_errmsg(ctx));
        return;
    }
    remember_ids(a, ev->server_call_id, ev->correlation_id);
    char *cb = callback_url(ctx, a->call);
    pend *p = cb ? pend_new(acs, a, P_ANSWER) : NULL;
    Ccai_acs_answer_params ap = {
        .incoming_call_context = ev->incoming_call_context,
        .callback_uri = cb,
        .cognitive_services_endpoint =
            cfg_str(ctx, "communication_services.cognitive_services_endpoint"),
    };
    st = p ? Ccai_acs_call_answer(acs->rest, &ap, on_op_done, p, NULL) : CCAI_ERR_NOMEM;
    ccai_free(cb);
    if (!pend_started(acs, p, st)) {
        Ccai_log(&ctx->log, CCAI_LOG_ERROR, "acs: cannot answer: %s", ccai_status_str(st));
        call_over(acs, a, "could not be answered");
        return;
    }
    Ccai_log(&ctx->log, CCAI_LOG_INFO, "acs: call %s: answering", ccai_call_id(a->call));
}

ccai_status Ccai_acs_place_call(ccai_ctx *ctx, const char *initiate_json, const char *to,
                                char **ret_call_id)
{
    Ccai_acs *acs = channel(ctx);
    if (!acs)
        return CCAI_ERR_UNSUPPORTED;
    const char *bot = cfg_str(ctx, "communication_services.phone_number");
    if (!bot) {
        Ccai_ctx_set_error(ctx, "communication_services.phone_number is required to place calls");
        return CCAI_ERR_INVALID_ARG;
    }
    acs_call *a = NULL;
    ccai_status st = start_call(acs, to, bot, CCAI_OUTBOUND, initiate_json, NULL, &a);
    if (st != CCAI_OK)
        return st;
    char *id = Ccai_strdup(a->call->row.id);
    char *cb = id ? callback_url(ctx, a->call) : NULL;
    pend *p = cb ? pend_new(acs, a, P_CREATE) : NULL;
    Ccai_acs_create_params cp = {
        .target = a->call->row.phone_number,
        .callback_uri = cb,
        .source_caller_id = bot,
        .cognitive_services_endpoint =
            cfg_str(ctx, "communication_services.cognitive_services_endpoint"),
    };
    st = p ? Ccai_acs_call_create(acs->rest, &cp, on_op_done, p, NULL) : CCAI_ERR_NOMEM;
    ccai_free(cb);
    if (!pend_started(acs, p, st)) {
        Ccai_log(&ctx->log, CCAI_LOG_ERROR, "acs: cannot place call %s: %s", id ? id : "?",
                 ccai_status_str(st));
        ccai_free(id);
        call_over(acs, a, "the call could not be placed");
        return st;
    }
    if (ret_call_id)
        *ret_call_id = id;
    else
        ccai_free(id);
    return CCAI_OK;
}

size_t Ccai_acs_live_calls(const ccai_ctx *ctx)
{
    size_t n = 0;
    for (const acs_call *a = channel(ctx) ? channel(ctx)->calls : NULL; a; a = a->next)
        n++;
    return n;
}

/* Event Grid ---------------------------------------------------------------------------------- */

/* A recording file is stored: on the call it belongs to, whatever its state
 * (the file comes after the call ended). The subject names the call by its
 * correlationId, sometimes its serverCallId too. */
static ccai_status recording_stored(Ccai_acs *acs, const Ccai_acs_event *ev)
{
    ccai_ctx *ctx = acs->ctx;
    if (!ev->recording_location)
        return CCAI_OK;
    Ccai_store_call *row = NULL;
    ccai_status st = CCAI_ERR_NOT_FOUND;
    if (ev->correlation_id)
        st = Ccai_store_call_find_correlation(ctx->store, "acs", ev->correlation_id, &row);
    if (st == CCAI_ERR_NOT_FOUND && ev->server_call_id)
        st = Ccai_store_call_find_provider(ctx->store, "acs", ev->server_call_id, &row);
    if (st == CCAI_OK)
        st = Ccai_call_recording(ctx, row->id, ev->recording_location, ev->recording_id,
                                 ev->recording_duration_ms);
    if (st == CCAI_OK)
        Ccai_log(&ctx->log, CCAI_LOG_INFO, "acs: call %s: recording stored", row->id);
    else if (st == CCAI_ERR_NOT_FOUND)
        Ccai_log(&ctx->log, CCAI_LOG_WARN, "acs: recording %s of an unknown call (%s)",
                 ev->recording_id ? ev->recording_id : "?",
                 ev->correlation_id ? ev->correlation_id : "no correlation id");
    Ccai_store_call_free(row);
    return st;
}

/* Parse a delivery's events; on failure answer 400 (500 when out of memory)
 * and return false. what names the delivery in the log and the answer. */
static bool parse_or_answer(ccai_http_exchange *x, const char *what, Ccai_acs_events *list)
{
    char *why = NULL;
    ccai_status st = Ccai_acs_events_parse(x->body, x->body_len, list, &why);
    if (st == CCAI_OK)
        return true;
    Ccai_log(&x->ctx->log, CCAI_LOG_WARN, "acs: %s: %s", what, why ? why : ccai_status_str(st));
    Ccai_exchange_error(x, st == CCAI_ERR_NOMEM ? 500 : 400, what, why);
    ccai_free(why);
    return false;
}

/* The subscription's ?token=, when one is configured; answers 401 itself. */
static bool token_ok(ccai_http_exchange *x)
{
    const char *want = cfg_str(x->ctx, "communication_services.event_grid_token");
    if (!want)
        return true;
    char *token = Ccai_exchange_query(x, "token");
    bool ok = token && Ccai_http_secret_equal(token, want);
    ccai_free(token);
    if (!ok) {
        Ccai_log(&x->ctx->log, CCAI_LOG_WARN, "acs: Event Grid request without the right token");
        Ccai_exchange_count_rejected(x, "acs", "event_grid_token");
        Ccai_exchange_error(x, 401, "invalid or missing token", NULL);
    }
    return ok;
}

static void route_events(ccai_http_exchange *x, void *ud)
{
    CCAI_UNUSED(ud);
    ccai_ctx *ctx = x->ctx;
    Ccai_acs *acs = channel(ctx);
    if (!acs) {
        Ccai_exchange_error(x, 404, "Azure Communication Services is not configured", NULL);
        return;
    }
    if (!token_ok(x))
        return;
    Ccai_acs_events list = {0};
    if (!parse_or_answer(x, "malformed Event Grid delivery", &list))
        return;
    ccai_status st = CCAI_OK;
    /* The handshake answers with its code; nothing else is in that
     * delivery. */
    for (size_t i = 0; i < list.n; i++) {
        const Ccai_acs_event *ev = &list.events[i];
        if (ev->kind == CCAI_ACS_SUBSCRIPTION_VALIDATION) {
            Ccai_log(&ctx->log, CCAI_LOG_INFO, "acs: Event Grid subscription validated");
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
            st = Ccai_sms_inbound(ctx, ev->sms_from, ev->sms_text);
            if (st != CCAI_OK && st != CCAI_ERR_NOT_FOUND && st != CCAI_ERR_VALIDATION)
                code = 500; /* Event Grid delivers again */
            break;
        case CCAI_ACS_SMS_DELIVERY_REPORT:
            Ccai_log(&ctx->log, CCAI_LOG_INFO, "acs: SMS %s: %s",
                     ev->sms_message_id ? ev->sms_message_id : "?",
                     ev->sms_delivery_status ? ev->sms_delivery_status : "?");
            break;
        case CCAI_ACS_RECORDING_FILE_STATUS_UPDATED:
            st = recording_stored(acs, ev);
            if (st != CCAI_OK && st != CCAI_ERR_NOT_FOUND)
                code = 500; /* the store failed: Event Grid delivers again */
            break;
        default:
            Ccai_log(&ctx->log, CCAI_LOG_DEBUG, "acs: Event Grid %s ignored",
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
static void route_events_options(ccai_http_exchange *x, void *ud)
{
    CCAI_UNUSED(ud);
    if (!channel(x->ctx)) {
        Ccai_exchange_error(x, 404, "Azure Communication Services is not configured", NULL);
        return;
    }
    if (!token_ok(x))
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

/* Call Automation callbacks
 * ------------------------------------------------------------------------ */

/* ACS waits on a call we hold no handle for (a recognition or play
 * reported): this process stopped during it.
 * - Stopped without ending it (a crash): the call goes on, its handle made
 *   again from the store: the caller hears "welcome back" and is listened
 *   to.
 * - Ended on our side (the process stopped cleanly): ACS's call is hung up
 *   rather than left in silence.
 * Returns true when the call was taken back. */
static bool adopt(Ccai_acs *acs, const Ccai_store_call *row, const Ccai_acs_event *ev)
{
    ccai_ctx *ctx = acs->ctx;
    bool waiting = ev->kind == CCAI_ACS_RECOGNIZE_COMPLETED ||
                   ev->kind == CCAI_ACS_RECOGNIZE_FAILED || ev->kind == CCAI_ACS_PLAY_COMPLETED;
    if (!waiting || !ev->call_connection_id || !row->channel || strcmp(row->channel, "acs") != 0)
        return false;
    acs_call *a = NULL;
    ccai_status st = CCAI_ERR_STATE;
    if (!row->state || (strcmp(row->state, "ended") != 0 && strcmp(row->state, "done") != 0))
        st = start_call(acs, row->phone_number, row->bot_phone_number, row->direction, NULL,
                        row->id, &a);
    if (st != CCAI_OK) {
        Ccai_log(&ctx->log, CCAI_LOG_WARN, "acs: call %s: %s; hanging up ACS's call", row->id,
                 st == CCAI_ERR_STATE ? "ended here, live at ACS" : ccai_status_str(st));
        Ccai_acs_hang_up(acs->rest, ev->call_connection_id, true, on_zombie_hung_up, acs, NULL);
        return false;
    }
    snprintf(a->conn_id, sizeof a->conn_id, "%s", ev->call_connection_id);
    if (row->provider_call_id)
        snprintf(a->server_call_id, sizeof a->server_call_id, "%s", row->provider_call_id);
    Ccai_str_replace(&a->call->row.provider_call_id, row->provider_call_id);
    Ccai_call_save(a->call);
    a->connected = true;
    a->engine_on = true;
    Ccai_log(&ctx->log, CCAI_LOG_WARN, "acs: call %s: taken back after a restart", row->id);
    Ccai_call_notify(a->call, CCAI_EVENT_CONNECTED, NULL);
    return true;
}

/* ACS says a call we hold no handle for is over (this process restarted
 * during it, or it was never taken back): the stored call ends. */
static void ended_elsewhere(Ccai_acs *acs, Ccai_store_call *row, const Ccai_acs_events *list)
{
    for (size_t i = 0; i < list->n; i++) {
        const Ccai_acs_event *ev = &list->events[i];
        const char *reason = ev->kind == CCAI_ACS_CALL_DISCONNECTED ? "disconnected"
                             : ev->kind == CCAI_ACS_CREATE_CALL_FAILED ||
                                     ev->kind == CCAI_ACS_ANSWER_FAILED ||
                                     ev->kind == CCAI_ACS_CONNECT_FAILED
                                 ? Ccai_acs_kind_name(ev->kind)
                                 : NULL;
        if (reason) {
            Ccai_call_end_stored(acs->ctx, row, reason, true);
            return;
        }
    }
}

static void callback_authenticated(ccai_http_exchange *x)
{
    ccai_ctx *ctx = x->ctx;
    Ccai_acs *acs = channel(ctx);
    char *id = Ccai_exchange_query(x, "call");
    char *secret = Ccai_exchange_query(x, "s");
    acs_call *a = id ? find(acs, id) : NULL;
    const char *want = a ? a->call->row.callback_secret : NULL;
    Ccai_store_call *row = NULL;
    if (!a && id && Ccai_store_call_get(ctx->store, id, &row) == CCAI_OK)
        want = row->callback_secret; /* an ended call: late events are fine */
    int code = 0;
    if (!want)
        code = 404;
    else if (!secret || !Ccai_http_secret_equal(secret, want))
        code = 401;
    ccai_free(secret);
    if (code) {
        Ccai_store_call_free(row);
        Ccai_log(&ctx->log, CCAI_LOG_WARN, "acs: callback for %s call %s",
                 code == 404 ? "an unknown" : "a wrong secret on", id ? id : "(none)");
        Ccai_exchange_count_rejected(x, "acs", code == 404 ? "unknown_call" : "call_secret");
        Ccai_exchange_error(x, code, code == 404 ? "no such call" : "invalid call secret", NULL);
        ccai_free(id);
        return;
    }
    Ccai_acs_events list = {0};
    if (!parse_or_answer(x, "malformed callback", &list)) {
        ccai_free(id);
        Ccai_store_call_free(row);
        return;
    }
    /* Answer first: events may end the call, and ACS waits for nobody. */
    Ccai_exchange_respond(x, 200, "application/json", "{}", 2);
    size_t first = 0;
    if (!a && row && list.n && adopt(acs, row, &list.events[0])) {
        /* The greeting listens now; only the caller's words are worth
         * handing on (a silence or a play's end would make the bot speak
         * twice). */
        const Ccai_acs_event *ev = &list.events[0];
        bool words = ev->kind == CCAI_ACS_RECOGNIZE_COMPLETED &&
                     ((ev->speech_text && *ev->speech_text) || ev->dtmf_tones || ev->choice_label);
        first = words ? 0 : 1;
    } else if (!a && row) {
        ended_elsewhere(acs, row, &list);
    }
    Ccai_store_call_free(row);
    for (size_t i = first; i < list.n && (a = find(acs, id)) != NULL; i++)
        call_event(acs, a, &list.events[i]);
    Ccai_acs_events_free(&list);
    ccai_free(id);
}

static void callback_verdict(ccai_http_exchange *x, ccai_status st, const char *why)
{
    if (st == CCAI_OK) {
        callback_authenticated(x);
        return;
    }
    bool later = st == CCAI_ERR_HTTP || st == CCAI_ERR_NOMEM;
    Ccai_log(&x->ctx->log, CCAI_LOG_WARN, "acs: callback %s: %s",
             later ? "cannot be authenticated now" : "rejected", why ? why : ccai_status_str(st));
    if (!later)
        Ccai_exchange_count_rejected(x, "acs", "bearer_token");
    /* 503 makes ACS deliver again; 401 is final. */
    Ccai_exchange_error(x, later ? 503 : 401,
                        later ? "cannot verify the token now" : "invalid or missing bearer token",
                        NULL);
}

static void on_auth(ccai_status st, const json_t *claims, const char *errmsg, void *ud)
{
    CCAI_UNUSED(claims);
    ccai_http_exchange *x = ud;
    x->route_state = NULL;
    x->on_cancel = NULL;
    callback_verdict(x, st, errmsg);
}

static void on_auth_cancel(ccai_http_exchange *x)
{
    Ccai_acs_auth_cancel(x->route_state);
    x->route_state = NULL;
}

static void route_callback(ccai_http_exchange *x, void *ud)
{
    CCAI_UNUSED(ud);
    Ccai_acs *acs = channel(x->ctx);
    if (!acs) {
        Ccai_exchange_error(x, 404, "Azure Communication Services is not configured", NULL);
        return;
    }
    Ccai_acs_auth_op *op = NULL;
    json_t *claims = NULL;
    char *why = NULL;
    ccai_status st = Ccai_acs_auth_check(acs->auth, Ccai_exchange_header(x, "Authorization"),
                                         on_auth, x, &op, &claims, &why);
    if (st == CCAI_ACS_AUTH_PENDING) {
        x->route_state = op;
        x->on_cancel = on_auth_cancel;
        return;
    }
    json_decref(claims);
    callback_verdict(x, st, why);
    ccai_free(why);
}

/* Life of the channel
 * --------------------------------------------------------------------------------- */

ccai_status Ccai_acs_init(ccai_ctx *ctx)
{
    if (!cfg_str(ctx, "communication_services.endpoint"))
        return CCAI_OK; /* not configured: the ACS routes answer 404 */
    if (!cfg_str(ctx, "communication_services.resource_id")) {
        /* SMS may still go through ACS; calls cannot be authenticated. */
        Ccai_log(&ctx->log, CCAI_LOG_WARN,
                 "acs: voice channel off: communication_services.resource_id (the audience of "
                 "callback tokens) is not set");
        return CCAI_OK;
    }
    Ccai_acs *acs = Ccai_calloc(1, sizeof *acs);
    if (!acs)
        return CCAI_ERR_NOMEM;
    acs->ctx = ctx;
    ccai_status st = Ccai_acs_rest_from_config(ctx, ctx->cfg, &acs->rest);
    if (st == CCAI_OK)
        st = Ccai_acs_auth_from_config(ctx, ctx->cfg, &acs->auth);
    if (st != CCAI_OK) {
        Ccai_acs_rest_free(acs->rest);
        ccai_free(acs);
        return st;
    }
    ctx->acs = acs;
    return CCAI_OK;
}

void Ccai_acs_free(ccai_ctx *ctx)
{
    Ccai_acs *acs = ctx->acs;
    if (!acs)
        return;
    while (acs->calls)
        acs_call_free(acs, acs->calls);
    /* Freeing the clients cancels their operations without callbacks. */
    Ccai_acs_rest_free(acs->rest);
    Ccai_acs_auth_free(acs->auth);
    while (acs->pending) {
        pend *p = acs->pending;
        acs->pending = p->next;
        ccai_free(p);
    }
    while (acs->dead) {
        acs_call *a = acs->dead;
        acs->dead = a->next;
        Ccai_timer_stop(ctx, &a->kick);
        ccai_free(a);
    }
    ccai_free(acs);
    ctx->acs = NULL;
}

const Ccai_route Ccai_acs_routes[] = {
    /* Event Grid (validation handshake, optional ?token=) and Call
     * Automation callbacks (bearer JWT and the call's secret). */
    {"POST", "/acs/events", route_events, CCAI_ROUTE_PROVIDER,
     CCAI_ROUTE_WRITES | CCAI_ROUTE_WAITS},
    {"OPTIONS", "/acs/events", route_events_options, CCAI_ROUTE_PROVIDER, 0},
    {"POST", "/acs/callback", route_callback, CCAI_ROUTE_PROVIDER,
     CCAI_ROUTE_WRITES | CCAI_ROUTE_WAITS},
};
const size_t Ccai_acs_n_routes = CCAI_ARRAY_SIZE(Ccai_acs_routes);
