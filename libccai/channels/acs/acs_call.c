/* A call on the ACS channel: the engine's ops (what the bot does becomes
 * media requests, acs_media.c) and the Call Automation events of the call
 * (CallConnected -> recording, then the engine connects: it greets or
 * offers its language menu; RecognizeCompleted -> the caller's words;
 * RecognizeFailed -> silence (sub-codes 8510/8532) or not understood;
 * PlayCompleted -> what waits for the end of speech; transfers; the end).
 * Everything the engine is told goes through the public API. */
#include "channels/acs/acs_channel.h"

#include "config/config.h"
#include "http/exchange.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void on_reap(Ccai_timer *t, void *ud);

/* The call is done with. The engine may be inside it (an op of ours led
 * here) and still call an op with `a`: a stays, marked dead, until the next
 * tick. */
void Ccai_acs_call_free(Ccai_acs *acs, Ccai_acs_call *a)
{
    for (Ccai_acs_call **p = &acs->calls; *p; p = &(*p)->next) {
        if (*p == a) {
            *p = a->next;
            break;
        }
    }
    Ccai_timer_stop(acs->ctx, &a->guard);
    Ccai_timer_stop(acs->ctx, &a->kick);
    Ccai_notifier_clear(&a->notify);
    Ccai_acs_queue_clear(a);
    Ccai_acs_stream_free(a);
    ccai_free(a->caller);
    a->caller = NULL;
    ccai_free(a->transfer_to);
    a->transfer_to = NULL;
    Ccai_acs_choices_clear(a);
    ccai_call_free(a->call); /* deferred by the engine when inside */
    a->dead = true;
    a->next = acs->dead;
    acs->dead = a;
    Ccai_timer_init(&a->kick, on_reap, a);
    /* On failure the channel's free reaps it. */
    Ccai_timer_start(acs->ctx, &a->kick, 0);
}

static void on_reap(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    Ccai_acs_call *a = ud;
    Ccai_acs *acs = a->acs;
    for (Ccai_acs_call **p = &acs->dead; *p; p = &(*p)->next) {
        if (*p == a) {
            *p = a->next;
            break;
        }
    }
    ccai_free(a);
}

void Ccai_acs_reap_all(Ccai_acs *acs)
{
    while (acs->dead) {
        Ccai_acs_call *a = acs->dead;
        acs->dead = a->next;
        Ccai_timer_stop(acs->ctx, &a->kick);
        ccai_free(a);
    }
}

Ccai_acs_call *Ccai_acs_find(Ccai_acs *acs, const char *call_id)
{
    for (Ccai_acs_call *a = acs ? acs->calls : NULL; a; a = a->next) {
        if (strcmp(ccai_call_id(a->call), call_id) == 0)
            return a;
    }
    return NULL;
}

Ccai_acs_call *Ccai_acs_find_server_call(Ccai_acs *acs, const char *server_call_id)
{
    for (Ccai_acs_call *a = acs ? acs->calls : NULL; a; a = a->next) {
        if (server_call_id && strcmp(a->server_call_id, server_call_id) == 0)
            return a;
    }
    return NULL;
}

/* The call is over on ACS's side: the engine ends it, the handle goes. */
void Ccai_acs_call_over(Ccai_acs *acs, Ccai_acs_call *a, const char *reason)
{
    /* The handle goes next: an end the engine could not store (it logged
     * why) is stored by the handle's release, or by the sweep of calls
     * nobody holds. */
    Ccai_notifier_clear(&a->notify);
    CCAI_DISCARD(ccai_call_notify(a->call, CCAI_EVENT_HANGUP, reason));
    Ccai_acs_call_free(acs, a);
}

char *Ccai_acs_callback_url(const Ccai_acs *acs, const ccai_call *c)
{
    return Ccai_http_public_url(acs->cfg, "/acs/callback?call=%s&s=%s", ccai_call_id(c),
                                ccai_call_secret(c));
}

/* Keep the ids ACS gives the call the first time they are seen, on the
 * stored call: the serverCallId (recording, Event Grid) and the
 * correlationId (recording files name the call by it). In stream mode the
 * stored provider id is the callConnectionId instead: a process restarted
 * during the call needs it to start the media streaming again
 * (Ccai_acs_stream_resume_all()); Event Grid's recording files still find
 * the call by its correlationId, and the serverCallId stays in memory. */
void Ccai_acs_remember_ids(Ccai_acs_call *a, const char *server_call_id, const char *correlation_id)
{
    const char *provider = NULL, *corr = NULL;
    if (server_call_id && *server_call_id && !*a->server_call_id) {
        snprintf(a->server_call_id, sizeof a->server_call_id, "%s", server_call_id);
        if (!a->audio)
            provider = server_call_id;
    }
    if (a->audio && *a->conn_id && !a->conn_kept)
        provider = a->conn_id;
    if (correlation_id && *correlation_id && !a->correlation_kept)
        corr = correlation_id;
    if (!provider && !corr)
        return;
    ccai_status st = ccai_call_set_provider_ids(a->call, provider, corr);
    if (st == CCAI_OK) {
        a->correlation_kept = a->correlation_kept || corr;
        a->conn_kept = a->conn_kept || (a->audio && provider);
    } else { /* the next event that names them tries again */
        Ccai_log(a->acs->log, CCAI_LOG_WARN, "acs: call %s: ids not stored: %s",
                 ccai_call_id(a->call), ccai_status_str(st));
    }
}

void Ccai_acs_stored_ids(Ccai_acs_call *a)
{
    const char *stored = ccai_call_provider_id(a->call);
    if (!stored || !*stored)
        return;
    if (!a->audio) {
        snprintf(a->server_call_id, sizeof a->server_call_id, "%s", stored);
        return;
    }
    if (!*a->conn_id)
        snprintf(a->conn_id, sizeof a->conn_id, "%s", stored);
    a->conn_kept = strcmp(a->conn_id, stored) == 0;
}

/* Ops: the engine acts ------------------------------------------------------------------------ */

static int op_say(ccai_call *c, const ccai_speech *sp, void *ud)
{
    CCAI_UNUSED(c);
    Ccai_acs_call *a = ud;
    if (a->dead || a->ending)
        return -1;
    bool prompt = sp->expects_reply && !sp->more_follows;
    if (Ccai_acs_queue_text(a, sp->text, sp->lang, sp->voice, sp->style, sp->rate,
                            prompt ? CCAI_ACS_M_LISTEN : CCAI_ACS_M_PLAY) != CCAI_OK)
        return -1;
    Ccai_acs_schedule(a);
    a->prompted = prompt;
    return 0;
}

static int op_listen(ccai_call *c, const char *lang, void *ud)
{
    CCAI_UNUSED(c);
    Ccai_acs_call *a = ud;
    if (a->dead)
        return -1;
    if (a->prompted) { /* the last sentence already listens */
        a->prompted = false;
        return 0;
    }
    if (a->ending || Ccai_acs_enqueue(a, CCAI_ACS_M_LISTEN, NULL, lang) != CCAI_OK)
        return -1;
    Ccai_acs_schedule(a);
    return 0;
}

/* Barge-in: what is not sent is dropped; what ACS plays or holds is
 * cancelled before anything else goes out, and the events of those plays
 * no longer count (a new generation). */
static int op_stop(ccai_call *c, void *ud)
{
    CCAI_UNUSED(c);
    Ccai_acs_call *a = ud;
    if (a->dead)
        return -1;
    Ccai_acs_queue_clear(a);
    a->prompted = false;
    if (!a->plays || a->ending)
        return 0;
    a->plays = 0;
    a->gen++;
    a->cancel_pending = true;
    Ccai_acs_schedule(a);
    return 0;
}

static int op_transfer(ccai_call *c, const char *number, void *ud)
{
    CCAI_UNUSED(c);
    Ccai_acs_call *a = ud;
    if (a->dead || a->ending || !Ccai_str_replace(&a->transfer_to, number))
        return -1;
    Ccai_acs_set_after(a, CCAI_ACS_AFTER_TRANSFER);
    return 0;
}

static int op_hangup(ccai_call *c, void *ud)
{
    CCAI_UNUSED(c);
    Ccai_acs_call *a = ud;
    if (a->dead)
        return -1;
    Ccai_acs_set_after(a, CCAI_ACS_AFTER_HANGUP);
    return 0;
}

/* No send_sms: the engine sends through the configured SMS provider
 * (ACS's when sms.mode is communication_services), as a durable job. */
static const ccai_call_ops acs_ops = {
    .version = CCAI_CALL_OPS_VERSION,
    .say = op_say,
    .stop_speaking = op_stop,
    .listen = op_listen,
    .transfer = op_transfer,
    .hangup = op_hangup,
    .menu = Ccai_acs_op_menu,
};

/* Stream mode: an audio call. The voice layer speaks and listens (its menu
 * too: Ccai_acs_op_menu is never called, its presence asks for the
 * language menu as in recognize mode); hang-up and transfer go through Call
 * Automation once the caller heard the last words; no mark op: ACS says
 * nothing of what it played, the voice layer's clock does. */
static const ccai_call_ops acs_stream_ops = {
    .version = CCAI_CALL_OPS_VERSION,
    .transfer = op_transfer,
    .hangup = op_hangup,
    .menu = Ccai_acs_op_menu,
    .play_audio = Ccai_acs_op_play_audio,
    .clear_audio = Ccai_acs_op_clear_audio,
};

/* Callback events ----------------------------------------------------------------------------- */

static void start_recording(Ccai_acs_call *a)
{
    Ccai_acs *acs = a->acs;
    char *cb = Ccai_acs_callback_url(acs, a->call);
    Ccai_acs_pend *p = cb ? Ccai_acs_pend_new(acs, a, CCAI_ACS_P_RECORDING) : NULL;
    Ccai_acs_recording_params rp = {
        .server_call_id = a->server_call_id,
        .state_callback_uri = cb,
        .channel_type = "unmixed",
        .container_url = Ccai_acs_cfg(acs, "communication_services.recording_container_url"),
    };
    ccai_status st =
        p ? Ccai_acs_recording_start(acs->rest, &rp, Ccai_acs_on_op_done, p, NULL) : CCAI_ERR_NOMEM;
    if (!Ccai_acs_pend_started(acs, p, st))
        Ccai_log(acs->log, CCAI_LOG_WARN, "acs: call %s: cannot start the recording: %s",
                 ccai_call_id(a->call), ccai_status_str(st));
    ccai_free(cb);
}

static void on_connected(Ccai_acs_call *a, const Ccai_acs_event *ev)
{
    if (a->connected)
        return; /* delivered twice */
    a->connected = true;
    Ccai_acs_remember_ids(a, ev->server_call_id, ev->correlation_id);
    if (Ccai_config_bool(a->acs->cfg, "conversation.recording_enabled", false) &&
        *a->server_call_id)
        start_recording(a);
    if (a->audio) { /* the engine connects once its stream starts */
        Ccai_acs_stream_connected(a);
        return;
    }
    /* The engine offers its language menu now (Ccai_acs_op_menu) when
     * several languages are configured, else it greets. */
    a->engine_on = true;
    Ccai_notify(&a->notify, CCAI_EVENT_CONNECTED, NULL);
}

static void speech_event(Ccai_acs_call *a, ccai_event_type type, const char *text,
                         const Ccai_acs_event *ev)
{
    ccai_event *e = NULL;
    ccai_status st = ccai_event_new(type, &e);
    if (st == CCAI_OK)
        st = ccai_event_set_text(e, text);
    if (st == CCAI_OK)
        st = ccai_event_set_lang(e, ccai_call_lang(a->call));
    if (st == CCAI_OK && ev->has_confidence)
        st = ccai_event_set_confidence(e, ev->speech_confidence);
    if (st == CCAI_OK) {
        Ccai_notify_event(&a->notify, type, e);
        return;
    }
    ccai_event_free(e);
    /* Words that cannot be told as they came (out of memory, longer than
     * an event carries): the bot says it did not understand and listens
     * again, rather than wait for words that never come. */
    Ccai_log(a->acs->log, CCAI_LOG_WARN, "acs: call %s: the caller's %s cannot be told: %s",
             ccai_call_id(a->call), ccai_event_type_str(type), ccai_status_str(st));
    Ccai_notify(&a->notify, CCAI_EVENT_NOT_UNDERSTOOD, ccai_status_str(st));
}

static void on_recognized(Ccai_acs_call *a, const Ccai_acs_event *ev)
{
    if (a->menu) {
        /* A choice (its label), or what ACS heard otherwise: a key, or
         * words the engine matches itself. */
        if (ev->recognition == CCAI_ACS_RECOGNITION_DTMF && ev->dtmf_tones) {
            a->menu = false;
            Ccai_notify(&a->notify, CCAI_EVENT_DTMF, ev->dtmf_tones);
        } else if (ev->recognition == CCAI_ACS_RECOGNITION_SPEECH) {
            Ccai_acs_menu_answer(a, ev->speech_text);
        } else {
            Ccai_acs_menu_answer(a, ev->choice_label ? ev->choice_label : ev->choice_phrase);
        }
        return;
    }
    if (!a->engine_on)
        return;
    switch (ev->recognition) {
    case CCAI_ACS_RECOGNITION_SPEECH:
        if (ev->speech_text && *ev->speech_text)
            speech_event(a, CCAI_EVENT_SPEECH, ev->speech_text, ev);
        else
            Ccai_notify(&a->notify, CCAI_EVENT_SILENCE_TIMEOUT, NULL);
        break;
    case CCAI_ACS_RECOGNITION_DTMF: speech_event(a, CCAI_EVENT_DTMF, ev->dtmf_tones, ev); break;
    case CCAI_ACS_RECOGNITION_CHOICES:
        speech_event(a, CCAI_EVENT_SPEECH, ev->choice_phrase ? ev->choice_phrase : ev->choice_label,
                     ev);
        break;
    case CCAI_ACS_RECOGNITION_NONE:
        Ccai_notify(&a->notify, CCAI_EVENT_SILENCE_TIMEOUT, NULL);
        break;
    }
}

static void on_recognize_failed(Ccai_acs_call *a, const Ccai_acs_event *ev)
{
    if (a->menu) {
        Ccai_acs_menu_answer(a, NULL);
        return;
    }
    if (!a->engine_on)
        return;
    if (Ccai_acs_event_is_silence_timeout(ev)) {
        Ccai_notify(&a->notify, CCAI_EVENT_SILENCE_TIMEOUT, NULL);
        return;
    }
    /* The prompt could not play, or recognition broke: the engine says so
     * and listens again; not forever. */
    Ccai_log(a->acs->log, CCAI_LOG_WARN, "acs: call %s: recognition failed: %d/%d %s",
             ccai_call_id(a->call), ev->result_code, ev->result_sub_code,
             ev->result_message ? ev->result_message : "");
    Ccai_notify(&a->notify, CCAI_EVENT_NOT_UNDERSTOOD,
                ev->result_message ? ev->result_message : "recognition failed");
}

static void on_play_end(Ccai_acs_call *a, const Ccai_acs_event *ev)
{
    if (!Ccai_acs_context_current(a, ev->operation_context))
        return; /* a play cancelled by a barge-in: already uncounted */
    if (a->plays)
        a->plays--;
    if (a->after != CCAI_ACS_AFTER_NONE && a->plays) /* still speaking: the guard waits on */
        Ccai_timer_start(a->acs->ctx, &a->guard, CCAI_ACS_AFTER_GUARD_MS);
    if (ev->kind == CCAI_ACS_PLAY_COMPLETED)
        Ccai_notify(&a->notify, CCAI_EVENT_SAY_DONE, NULL);
    else if (ev->kind == CCAI_ACS_PLAY_FAILED)
        Ccai_notify(&a->notify, CCAI_EVENT_SAY_FAILED,
                    ev->result_message ? ev->result_message : "the play failed");
    /* The context says what the last play was for, even if our count
     * drifted (an event lost or repeated). */
    const char *oc = ev->operation_context;
    if (a->after != CCAI_ACS_AFTER_NONE && !a->queue && !a->media_busy &&
        (Ccai_acs_context_is(oc, CCAI_ACS_CTX_GOODBYE) ||
         Ccai_acs_context_is(oc, CCAI_ACS_CTX_TRANSFER)))
        a->plays = 0;
    Ccai_acs_run_after(a);
}

/* One Call Automation event for a live call. Returns false when the call is
 * gone. */
bool Ccai_acs_call_event(Ccai_acs *acs, Ccai_acs_call *a, const Ccai_acs_event *ev)
{
    /* A caller ringing back resumes the same call (same URL): events of
     * the previous connection are not this one's. */
    if ((ev->call_connection_id && *a->conn_id && strcmp(ev->call_connection_id, a->conn_id)) ||
        (ev->server_call_id && *a->server_call_id &&
         strcmp(ev->server_call_id, a->server_call_id))) {
        Ccai_log(acs->log, CCAI_LOG_DEBUG, "acs: call %s: %s of an earlier connection",
                 ccai_call_id(a->call), Ccai_acs_kind_name(ev->kind));
        return true;
    }
    if (ev->call_connection_id && !*a->conn_id)
        snprintf(a->conn_id, sizeof a->conn_id, "%s", ev->call_connection_id);
    Ccai_log(acs->log, CCAI_LOG_DEBUG, "acs: call %s: %s (%s)", ccai_call_id(a->call),
             Ccai_acs_kind_name(ev->kind), ev->operation_context ? ev->operation_context : "-");
    switch (ev->kind) {
    case CCAI_ACS_CALL_CONNECTED: on_connected(a, ev); break;
    case CCAI_ACS_CALL_DISCONNECTED: Ccai_acs_call_over(acs, a, "disconnected"); return false;
    case CCAI_ACS_CREATE_CALL_FAILED:
    case CCAI_ACS_ANSWER_FAILED:
    case CCAI_ACS_CONNECT_FAILED: {
        char why[256];
        snprintf(why, sizeof why, "%s: %s", Ccai_acs_kind_name(ev->kind),
                 ev->result_message ? ev->result_message : "no reason given");
        Ccai_acs_call_over(acs, a, why);
        return false;
    }
    case CCAI_ACS_CALL_TRANSFER_ACCEPTED:
        a->ending = true;
        Ccai_notify(&a->notify, CCAI_EVENT_TRANSFER_OK, ev->transfer_target);
        break;
    case CCAI_ACS_CALL_TRANSFER_FAILED:
        Ccai_notify(&a->notify, CCAI_EVENT_TRANSFER_FAILED,
                    ev->result_message ? ev->result_message : "the transfer failed");
        break;
    case CCAI_ACS_PLAY_COMPLETED:
    case CCAI_ACS_PLAY_FAILED:
    case CCAI_ACS_PLAY_CANCELED: on_play_end(a, ev); break;
    case CCAI_ACS_RECOGNIZE_COMPLETED: on_recognized(a, ev); break;
    case CCAI_ACS_RECOGNIZE_FAILED: on_recognize_failed(a, ev); break;
    case CCAI_ACS_MEDIA_STREAMING_STARTED:
    case CCAI_ACS_MEDIA_STREAMING_STOPPED:
    case CCAI_ACS_MEDIA_STREAMING_FAILED:
        if (a->audio)
            Ccai_acs_stream_event(a, ev);
        break;
    case CCAI_ACS_RECORDING_STATE_CHANGED:
        Ccai_log(acs->log, CCAI_LOG_INFO, "acs: call %s: recording %s is %s", ccai_call_id(a->call),
                 ev->recording_id ? ev->recording_id : "?",
                 ev->recording_state ? ev->recording_state : "?");
        break;
    default: break; /* PlayStarted, RecognizeCanceled: nothing to do */
    }
    return true;
}

/* Starting calls ------------------------------------------------------------------------------ */

/* The engine cannot take the call's events any more (the database failed,
 * or stayed locked by another process): ACS's call is hung up rather than
 * left in silence, and the call ends here. */
static void on_gave_up(void *ud, ccai_status st)
{
    Ccai_acs_call *a = ud;
    Ccai_acs *acs = a->acs;
    Ccai_log(acs->log, CCAI_LOG_ERROR, "acs: call %s: the engine cannot go on (%s): hanging up",
             ccai_call_id(a->call), ccai_status_str(st));
    if (*a->conn_id && !a->ending)
        Ccai_acs_hang_up_zombie(acs, a->conn_id);
    Ccai_acs_call_over(acs, a, "the engine could not go on");
}

ccai_status Ccai_acs_start_call(Ccai_acs *acs, const char *phone, const char *bot,
                                ccai_direction dir, const char *initiate, const char *take_back,
                                Ccai_acs_call **ret)
{
    Ccai_acs_call *a = Ccai_calloc(1, sizeof *a);
    if (!a)
        return CCAI_ERR_NOMEM;
    a->acs = acs;
    a->serial = ++acs->serials;
    a->tail = &a->queue;
    Ccai_timer_init(&a->guard, Ccai_acs_on_guard, a);
    Ccai_timer_init(&a->kick, Ccai_acs_on_kick, a);
    a->audio = acs->stream;
    Ccai_acs_stream_init(a);
    ccai_audio_format pcm = {CCAI_AUDIO_PCM16, acs->stream_rate, 1};
    ccai_call_params p = {
        .version = CCAI_CALL_PARAMS_VERSION,
        .direction = dir,
        .phone_number = phone,
        .bot_phone_number = bot,
        .channel = "acs",
        .initiate_json = initiate,
        .resume = dir == CCAI_INBOUND,
        /* ACS reports silence itself (RecognizeFailed 8510); on a stream
         * the voice layer hears it. */
        .flags = a->audio ? 0 : CCAI_CALL_REPORTS_SILENCE,
        .resume_call_id = take_back,
        .audio_in = a->audio ? pcm : (ccai_audio_format){CCAI_AUDIO_NONE, 0, 0},
    };
    ccai_status st =
        ccai_call_start(acs->ctx, &p, a->audio ? &acs_stream_ops : &acs_ops, a, &a->call);
    if (st == CCAI_OK && !(a->caller = Ccai_strdup(ccai_call_phone_number(a->call))))
        st = CCAI_ERR_NOMEM;
    if (st != CCAI_OK) {
        ccai_call_free(a->call);
        ccai_free(a);
        return st;
    }
    a->direction = ccai_call_direction(a->call);
    Ccai_notifier_init(&a->notify, acs->ctx, acs->log, a->call, on_gave_up, a);
    a->next = acs->calls;
    acs->calls = a;
    *ret = a;
    return CCAI_OK;
}

/* "+33612345678" and "33612345678" are the same number. */
bool Ccai_acs_same_number(const char *a, const char *b)
{
    if (!a || !b)
        return false;
    a += *a == '+';
    b += *b == '+';
    return strcmp(a, b) == 0;
}
