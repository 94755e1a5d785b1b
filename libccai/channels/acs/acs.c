/* The Azure Communication Services voice channel.
 *
 * ACS reports a call's life as events and takes requests for what to do
 * next; the engine speaks through ccai_call_ops. The channel turns one into
 * the other (seed-behaviour.md 3.1, 3.2 and 10):
 *
 *   Event Grid  IncomingCall for the bot's number -> answer (the caller's
 *               recent call resumes); SMSReceived -> the caller's call;
 *               RecordingFileStatusUpdated -> the call's recording URL
 *               (acs_eventgrid.c).
 *   callback    CallConnected -> recording, then the engine's language
 *               menu (choices: DTMF 1..9 or the language's name) when
 *               several languages are configured, then the engine greets;
 *               RecognizeCompleted -> the caller's words; RecognizeFailed
 *               -> silence (sub-codes 8510/8532) or not understood;
 *               PlayCompleted -> what waits for the end of speech (hang
 *               up, transfer); CallTransferAccepted/Failed,
 *               CallDisconnected (acs_call.c).
 *   say()       SSML play, one per chunk under the 400-character limit;
 *               the last sentence of an answer that expects a reply is the
 *               prompt of a speech recognition instead, so the caller can
 *               barge in; listen() without such a prompt starts a bare one.
 *   stop()      cancelAllMediaOperations (barge-in).
 *   hangup(),   wait for what is queued to be played (the last play carries
 *   transfer()  the operation context "ccai:goodbye" / "ccai:transfer"),
 *               then terminate the call / transfer it (acs_media.c).
 *
 * Media requests of one call go out one at a time, in order, so ACS
 * queues them in the order the engine spoke. Every callback carries a
 * bearer JWT (checked against the keys ACS publishes) and the call's URL
 * secret. The channel drives its calls through the public API only. This
 * file: the channel's life, its REST operations' completions, the Call
 * Automation callbacks (and calls taken back after a restart), outbound
 * calls. */
#include "channels/acs/acs_channel.h"

#include "channels/acs/acs_sms.h"
#include "config/config.h"
#include "core/json.h"
#include "http/auth.h"

#include <stdio.h>
#include <string.h>

const char *Ccai_acs_cfg(const Ccai_acs *acs, const char *key)
{
    const char *v = Ccai_config_str(acs->cfg, key);
    return v && *v ? v : NULL;
}

/* REST operations ----------------------------------------------------------------------------- */

Ccai_acs_pend *Ccai_acs_pend_new(Ccai_acs *acs, const Ccai_acs_call *a, Ccai_acs_pend_kind kind)
{
    Ccai_acs_pend *p = Ccai_calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->acs = acs;
    p->kind = kind;
    snprintf(p->call_id, sizeof p->call_id, "%s", ccai_call_id(a->call));
    p->serial = a->serial;
    return p;
}

/* Track p once its operation started; free it when it did not. */
bool Ccai_acs_pend_started(Ccai_acs *acs, Ccai_acs_pend *p, ccai_status st)
{
    if (st != CCAI_OK) {
        ccai_free(p);
        return false;
    }
    p->next = acs->pending;
    acs->pending = p;
    return true;
}

static void pend_unlink(Ccai_acs *acs, Ccai_acs_pend *p)
{
    for (Ccai_acs_pend **q = &acs->pending; *q; q = &(*q)->next) {
        if (*q == p) {
            *q = p->next;
            return;
        }
    }
}

const char *Ccai_acs_reason(ccai_status st, const Ccai_acs_result *res)
{
    return res && res->error_message ? res->error_message : ccai_status_str(st);
}

static void on_zombie_hung_up(ccai_status st, const Ccai_acs_result *res, void *ud)
{
    Ccai_acs *acs = ud;
    if (st != CCAI_OK && st != CCAI_ERR_NOT_FOUND)
        Ccai_log(acs->log, CCAI_LOG_WARN, "acs: cannot hang up a call left over: %s",
                 Ccai_acs_reason(st, res));
}

void Ccai_acs_hang_up_zombie(Ccai_acs *acs, const char *connection_id)
{
    ccai_status st = Ccai_acs_hang_up(acs->rest, connection_id, true, on_zombie_hung_up, acs, NULL);
    /* Nobody waits on it: ACS ends a call left in silence itself, later. */
    if (st != CCAI_OK)
        Ccai_log(acs->log, CCAI_LOG_WARN, "acs: cannot hang up a call left over: %s",
                 ccai_status_str(st));
}

/* REST completions ---------------------------------------------------------------------------- */

void Ccai_acs_on_op_done(ccai_status st, const Ccai_acs_result *res, void *ud)
{
    Ccai_acs_pend *p = ud;
    Ccai_acs *acs = p->acs;
    pend_unlink(acs, p);
    char call_id[37];
    memcpy(call_id, p->call_id, sizeof call_id);
    Ccai_acs_call *a = Ccai_acs_find(acs, call_id);
    Ccai_acs_pend_kind kind = p->kind;
    Ccai_acs_media_kind mk = p->media;
    bool stale = !a || p->serial != a->serial;
    ccai_free(p);
    if (stale) {
        /* The call ended meanwhile, or this is a newer handle of it. A
         * connection answered or created for nobody is hung up. */
        if ((kind == CCAI_ACS_P_ANSWER || kind == CCAI_ACS_P_CREATE) && st == CCAI_OK && res->id)
            Ccai_acs_hang_up_zombie(acs, res->id);
        /* A short call may end before ACS's reply to the recording start:
         * the id still names its files (RecordingFileStatusUpdated). */
        if (kind == CCAI_ACS_P_RECORDING && st == CCAI_OK && res->id &&
            ccai_ctx_call_set_recording(acs->ctx, call_id, NULL, res->id, 0) != CCAI_OK)
            Ccai_log(acs->log, CCAI_LOG_WARN, "acs: call %s: recording id %s not stored", call_id,
                     res->id);
        return;
    }
    if (st == CCAI_ERR_NOT_FOUND && kind != CCAI_ACS_P_RECORDING) {
        Ccai_acs_call_over(acs, a, "the call is gone");
        return;
    }
    switch (kind) {
    case CCAI_ACS_P_MEDIA:
        a->media_busy = false;
        if (mk == CCAI_ACS_M_CANCEL) {
            if (st != CCAI_OK)
                Ccai_log(acs->log, CCAI_LOG_WARN, "acs: call %s: cannot cancel media: %s",
                         ccai_call_id(a->call), Ccai_acs_reason(st, res));
        } else if (st != CCAI_OK) {
            Ccai_log(acs->log, CCAI_LOG_WARN, "acs: call %s: media request failed: %s",
                     ccai_call_id(a->call), Ccai_acs_reason(st, res));
            if (mk == CCAI_ACS_M_PLAY && a->plays)
                a->plays--;
            if (!Ccai_acs_media_failed(a, mk, Ccai_acs_reason(st, res)))
                return;
        }
        Ccai_acs_pump(a);
        break;
    case CCAI_ACS_P_ANSWER:
    case CCAI_ACS_P_CREATE:
        if (st != CCAI_OK) {
            char why[300];
            snprintf(why, sizeof why, "%s failed: %s",
                     kind == CCAI_ACS_P_ANSWER ? "answer" : "create", Ccai_acs_reason(st, res));
            Ccai_log(acs->log, CCAI_LOG_WARN, "acs: call %s: %s", ccai_call_id(a->call), why);
            Ccai_acs_call_over(acs, a, why);
            return;
        }
        if (res->id && !*a->conn_id)
            snprintf(a->conn_id, sizeof a->conn_id, "%s", res->id);
        Ccai_acs_remember_ids(a, json_string_value(json_object_get(res->json, "serverCallId")),
                              json_string_value(json_object_get(res->json, "correlationId")));
        break;
    case CCAI_ACS_P_TRANSFER:
        if (st != CCAI_OK)
            Ccai_notify(&a->notify, CCAI_EVENT_TRANSFER_FAILED, Ccai_acs_reason(st, res));
        break;
    case CCAI_ACS_P_STREAMING:
        if (st == CCAI_ERR_NOT_FOUND) /* the call is gone at ACS */
            Ccai_acs_call_over(acs, a, "disconnected");
        else if (st != CCAI_OK)
            Ccai_acs_stream_start_failed(a, Ccai_acs_reason(st, res));
        break;
    case CCAI_ACS_P_HANGUP:
        if (st != CCAI_OK)
            Ccai_log(acs->log, CCAI_LOG_WARN, "acs: call %s: hang-up failed: %s",
                     ccai_call_id(a->call), Ccai_acs_reason(st, res));
        Ccai_acs_call_over(acs, a, "hung up");
        break;
    case CCAI_ACS_P_RECORDING:
        if (st != CCAI_OK)
            Ccai_log(acs->log, CCAI_LOG_WARN, "acs: call %s: cannot start the recording: %s",
                     ccai_call_id(a->call), Ccai_acs_reason(st, res));
        else {
            /* Its files will be named by this id (RecordingFileStatusUpdated). */
            if (res->id && ccai_ctx_call_set_recording(acs->ctx, ccai_call_id(a->call), NULL,
                                                       res->id, 0) != CCAI_OK)
                Ccai_log(acs->log, CCAI_LOG_WARN, "acs: call %s: recording id %s not stored",
                         ccai_call_id(a->call), res->id);
            Ccai_log(acs->log, CCAI_LOG_INFO, "acs: call %s: recording %s started",
                     ccai_call_id(a->call), res->id ? res->id : "?");
        }
        break;
    }
}

/* Outbound calls ------------------------------------------------------------------------------ */

static CCAI_MUST_CHECK ccai_status place_call(void *state, const char *initiate_json,
                                              const char *to, char **ret_call_id)
{
    Ccai_acs *acs = state;
    ccai_ctx *ctx = acs->ctx;
    if (!acs->rest)
        return CCAI_ERR_UNSUPPORTED;
    const char *bot = Ccai_acs_cfg(acs, "communication_services.phone_number");
    if (!bot) {
        Ccai_ctx_set_error(ctx, "communication_services.phone_number is required to place calls");
        return CCAI_ERR_INVALID_ARG;
    }
    Ccai_acs_call *a = NULL;
    ccai_status st = Ccai_acs_start_call(acs, to, bot, CCAI_OUTBOUND, initiate_json, NULL, &a);
    if (st != CCAI_OK)
        return st;
    char *id = Ccai_strdup(ccai_call_id(a->call));
    char *cb = id ? Ccai_acs_callback_url(acs, a->call) : NULL;
    Ccai_acs_pend *p = cb ? Ccai_acs_pend_new(acs, a, CCAI_ACS_P_CREATE) : NULL;
    Ccai_acs_create_params cp = {
        .target = ccai_call_phone_number(a->call),
        .callback_uri = cb,
        .source_caller_id = bot,
        .cognitive_services_endpoint =
            Ccai_acs_cfg(acs, "communication_services.cognitive_services_endpoint"),
    };
    if (p && a->audio && !(cp.streaming = Ccai_acs_streaming_for(acs, a->call)).transport_url)
        st = CCAI_ERR_NOMEM;
    else
        st =
            p ? Ccai_acs_call_create(acs->rest, &cp, Ccai_acs_on_op_done, p, NULL) : CCAI_ERR_NOMEM;
    ccai_free((char *)cp.streaming.transport_url);
    ccai_free(cb);
    if (!Ccai_acs_pend_started(acs, p, st)) {
        Ccai_log(acs->log, CCAI_LOG_ERROR, "acs: cannot place call %s: %s", id ? id : "?",
                 ccai_status_str(st));
        ccai_free(id);
        Ccai_acs_call_over(acs, a, "the call could not be placed");
        return st;
    }
    if (ret_call_id)
        *ret_call_id = id;
    else
        ccai_free(id);
    return CCAI_OK;
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
static CCAI_MUST_CHECK bool adopt(Ccai_acs *acs, const char *id, const Ccai_acs_event *ev)
{
    /* Stream mode: ACS says the stream of a call it still holds stopped
     * (this process died with it). */
    bool stream_lost = acs->stream && (ev->kind == CCAI_ACS_MEDIA_STREAMING_STOPPED ||
                                       ev->kind == CCAI_ACS_MEDIA_STREAMING_FAILED);
    bool waiting = ev->kind == CCAI_ACS_RECOGNIZE_COMPLETED ||
                   ev->kind == CCAI_ACS_RECOGNIZE_FAILED || ev->kind == CCAI_ACS_PLAY_COMPLETED ||
                   stream_lost;
    if (!waiting || !ev->call_connection_id)
        return false;
    /* The stored call says who and which way; it keeps its ids. */
    Ccai_acs_call *a = NULL;
    ccai_status st = Ccai_acs_start_call(acs, NULL, NULL, CCAI_INBOUND, NULL, id, &a);
    if (st != CCAI_OK) {
        Ccai_log(acs->log, CCAI_LOG_WARN, "acs: call %s: %s; hanging up ACS's call", id,
                 st == CCAI_ERR_STATE ? "ended here, live at ACS" : ccai_status_str(st));
        Ccai_acs_hang_up_zombie(acs, ev->call_connection_id);
        return false;
    }
    snprintf(a->conn_id, sizeof a->conn_id, "%s", ev->call_connection_id);
    Ccai_acs_stored_ids(a);
    Ccai_log(acs->log, CCAI_LOG_WARN, "acs: call %s: taken back after a restart", id);
    if (a->audio) { /* the engine connects once the stream started again comes */
        Ccai_acs_stream_take_back(a);
        return true;
    }
    a->connected = true;
    a->engine_on = true;
    Ccai_notify(&a->notify, CCAI_EVENT_CONNECTED, NULL);
    return true;
}

/* ACS says a call we hold no handle for is over (this process restarted
 * during it, or it was never taken back): the stored call ends. */
static void ended_elsewhere(Ccai_acs *acs, const char *id, const Ccai_acs_events *list)
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
            ccai_status st = ccai_ctx_call_end(acs->ctx, id, reason, 1);
            if (st != CCAI_OK && st != CCAI_ERR_CONFLICT)
                Ccai_log(acs->log, CCAI_LOG_WARN, "acs: call %s: cannot end it: %s", id,
                         ccai_status_str(st));
            return;
        }
    }
}

static void callback_authenticated(Ccai_acs *acs, ccai_http_exchange *x)
{
    char *id = Ccai_exchange_query(x, "call");
    char *secret = Ccai_exchange_query(x, "s");
    Ccai_acs_call *a = id ? Ccai_acs_find(acs, id) : NULL;
    ccai_status st = CCAI_ERR_NOT_FOUND;
    if (a)
        st = secret && Ccai_http_secret_equal(secret, ccai_call_secret(a->call))
                 ? CCAI_OK
                 : CCAI_ERR_VALIDATION;
    else if (id) /* an ended call too: late events are fine */
        st = ccai_ctx_call_check_secret(acs->ctx, id, secret ? secret : "");
    /* Stored, no handle here: this process restarted, or the call ended. */
    bool stored = !a && st == CCAI_OK;
    int code = st == CCAI_OK ? 0 : st == CCAI_ERR_VALIDATION ? 401 : 404;
    ccai_free(secret);
    if (code) {
        Ccai_log(acs->log, CCAI_LOG_WARN, "acs: callback for %s call %s",
                 code == 404 ? "an unknown" : "a wrong secret on", id ? id : "(none)");
        Ccai_exchange_count_rejected(x, "acs", code == 404 ? "unknown_call" : "call_secret");
        Ccai_exchange_error(x, code, code == 404 ? "no such call" : "invalid call secret", NULL);
        ccai_free(id);
        return;
    }
    Ccai_acs_events list = {0};
    if (!Ccai_acs_parse_or_answer(acs, x, "malformed callback", &list)) {
        ccai_free(id);
        return;
    }
    /* Answer first: events may end the call, and ACS waits for nobody. */
    Ccai_exchange_respond(x, 200, "application/json", "{}", 2);
    size_t first = 0;
    if (stored && list.n && adopt(acs, id, &list.events[0])) {
        /* The greeting listens now; only the caller's words are worth
         * handing on (a silence or a play's end would make the bot speak
         * twice). */
        const Ccai_acs_event *ev = &list.events[0];
        bool words = !acs->stream && ev->kind == CCAI_ACS_RECOGNIZE_COMPLETED &&
                     ((ev->speech_text && *ev->speech_text) || ev->dtmf_tones || ev->choice_label);
        first = words ? 0 : 1;
    } else if (stored) {
        ended_elsewhere(acs, id, &list);
    }
    for (size_t i = first; i < list.n && (a = Ccai_acs_find(acs, id)) != NULL; i++)
        Ccai_acs_call_event(acs, a, &list.events[i]);
    Ccai_acs_events_free(&list);
    ccai_free(id);
}

/* A request of ACS (a callback, the media WebSocket's upgrade) waiting for
 * its bearer token's verdict. */
typedef struct auth_wait {
    Ccai_acs_auth_op *op;
    Ccai_acs_then_fn then;
} auth_wait;

static void verdict(Ccai_acs *acs, ccai_http_exchange *x, ccai_status st, const char *why,
                    Ccai_acs_then_fn then)
{
    if (st == CCAI_OK) {
        then(acs, x);
        return;
    }
    bool later = st == CCAI_ERR_HTTP || st == CCAI_ERR_NOMEM;
    Ccai_log(acs->log, CCAI_LOG_WARN, "acs: %s %s: %s", x->path,
             later ? "cannot be authenticated now" : "rejected", why ? why : ccai_status_str(st));
    if (!later)
        Ccai_exchange_count_rejected(x, "acs", "bearer_token");
    /* 503 makes ACS deliver (connect) again; 401 is final. */
    Ccai_exchange_error(x, later ? 503 : 401,
                        later ? "cannot verify the token now" : "invalid or missing bearer token",
                        NULL);
}

static void on_auth(ccai_status st, const json_t *claims, const char *errmsg, void *ud)
{
    CCAI_UNUSED(claims);
    ccai_http_exchange *x = ud;
    auth_wait *w = x->route_state;
    Ccai_acs_then_fn then = w->then;
    ccai_free(w);
    x->route_state = NULL;
    x->on_cancel = NULL;
    verdict(x->route_ud, x, st, errmsg, then);
}

static void on_auth_cancel(ccai_http_exchange *x)
{
    auth_wait *w = x->route_state;
    Ccai_acs_auth_cancel(w->op);
    ccai_free(w);
    x->route_state = NULL;
}

void Ccai_acs_authenticate(Ccai_acs *acs, ccai_http_exchange *x, Ccai_acs_then_fn then)
{
    auth_wait *w = Ccai_calloc(1, sizeof *w);
    if (!w) {
        Ccai_exchange_fail(x, CCAI_ERR_NOMEM, NULL, NULL);
        return;
    }
    w->then = then;
    json_t *claims = NULL;
    char *why = NULL;
    ccai_status st = Ccai_acs_auth_check(acs->auth, Ccai_exchange_header(x, "Authorization"),
                                         on_auth, x, &w->op, &claims, &why);
    if (st == CCAI_ACS_AUTH_PENDING) {
        x->route_state = w;
        x->on_cancel = on_auth_cancel;
        return;
    }
    ccai_free(w);
    json_decref(claims);
    verdict(acs, x, st, why, then);
    ccai_free(why);
}

static void route_callback(ccai_http_exchange *x, void *ud)
{
    Ccai_acs *acs = ud;
    if (!acs->rest) {
        Ccai_exchange_error(x, 404, "Azure Communication Services is not configured", NULL);
        return;
    }
    Ccai_acs_authenticate(acs, x, callback_authenticated);
}

/* Life of the channel ---------------------------------------------------------------- */

static CCAI_MUST_CHECK ccai_status acs_init(const Ccai_channel_env *env, void **ret_state)
{
    Ccai_acs *acs = Ccai_calloc(1, sizeof *acs);
    if (!acs)
        return CCAI_ERR_NOMEM;
    acs->ctx = env->ctx;
    acs->cfg = env->cfg;
    acs->log = env->log;
    acs->endpoint = Ccai_acs_cfg(acs, "communication_services.endpoint") != NULL;
    const char *voice = Ccai_acs_cfg(acs, "communication_services.voice");
    const char *format = Ccai_acs_cfg(acs, "communication_services.audio_format");
    acs->stream = voice && strcmp(voice, "stream") == 0;
    acs->stream_rate = format && strcmp(format, "pcm24kmono") == 0 ? 24000 : 16000;
    ccai_status st = CCAI_OK;
    if (!acs->endpoint) {
        /* Not configured: the ACS routes answer 404. */
    } else if (!Ccai_acs_cfg(acs, "communication_services.resource_id")) {
        /* SMS may still go through ACS; calls cannot be authenticated. */
        Ccai_log(acs->log, CCAI_LOG_WARN,
                 "acs: voice channel off: communication_services.resource_id (the audience of "
                 "callback tokens) is not set");
    } else {
        st = Ccai_acs_rest_from_config(env->ctx, env->cfg, &acs->rest);
        if (st == CCAI_OK)
            st = Ccai_acs_auth_from_config(env->ctx, env->cfg, &acs->auth);
    }
    if (st != CCAI_OK) {
        Ccai_acs_rest_free(acs->rest);
        ccai_free(acs);
        return st;
    }
    if (acs->rest && acs->stream)
        Ccai_acs_stream_resume_all(acs);
    *ret_state = acs;
    return CCAI_OK;
}

static void acs_channel_free(void *state)
{
    Ccai_acs *acs = state;
    if (acs->rest && acs->stream)
        Ccai_timer_stop(acs->ctx, &acs->resume);
    while (acs->calls)
        Ccai_acs_call_free(acs, acs->calls);
    /* Freeing the clients cancels their operations without callbacks. */
    Ccai_acs_rest_free(acs->rest);
    Ccai_acs_auth_free(acs->auth);
    while (acs->pending) {
        Ccai_acs_pend *p = acs->pending;
        acs->pending = p->next;
        ccai_free(p);
    }
    Ccai_acs_reap_all(acs);
    ccai_free(acs);
}

static CCAI_MUST_CHECK bool acs_configured(const void *state)
{
    return ((const Ccai_acs *)state)->rest != NULL;
}

static CCAI_MUST_CHECK ccai_status acs_sms_new(const Ccai_channel_env *env, Ccai_sms_provider **ret)
{
    return Ccai_acs_sms_new(env->ctx, env->cfg, ret);
}

/* Checked when communication_services.endpoint is set: the access key, and
 * what the channel serves. */
static void acs_readiness(const void *state, json_t *checks, bool *ok)
{
    const Ccai_acs *acs = state;
    if (!acs->endpoint)
        return;
    bool creds = Ccai_acs_cfg(acs, "communication_services.access_key") != NULL;
    *ok = *ok && creds;
    json_array_append_new(
        checks, Ccai_channel_check("communication_services", creds ? "ok" : "fail",
                                   !creds       ? "communication_services.access_key is not set"
                                   : !acs->rest ? "SMS only: communication_services.resource_id "
                                                  "is not set"
                                                : "calls and SMS"));
}

static const Ccai_route acs_routes[] = {
    /* Event Grid (validation handshake, optional ?token=) and Call
     * Automation callbacks (bearer JWT and the call's secret). */
    {"POST", "/acs/events", Ccai_acs_route_events, CCAI_ROUTE_PROVIDER,
     CCAI_ROUTE_WRITES | CCAI_ROUTE_WAITS},
    {"OPTIONS", "/acs/events", Ccai_acs_route_events_options, CCAI_ROUTE_PROVIDER, 0},
    {"POST", "/acs/callback", route_callback, CCAI_ROUTE_PROVIDER,
     CCAI_ROUTE_WRITES | CCAI_ROUTE_WAITS | CCAI_ROUTE_CALL},
    /* Stream mode: the media WebSocket (bearer JWT and the call's secret;
     * a restarted server takes its call back: writes). */
    {"GET", "/acs/media", Ccai_acs_route_media, CCAI_ROUTE_PROVIDER,
     CCAI_ROUTE_WRITES | CCAI_ROUTE_MEDIA},
};

const Ccai_channel_class Ccai_acs_channel = {
    .name = "acs",
    .caps = CCAI_CHANNEL_CALLS_OUT | CCAI_CHANNEL_SMS | CCAI_CHANNEL_SMS_IN |
            CCAI_CHANNEL_TRANSFER | CCAI_CHANNEL_RECORDING | CCAI_CHANNEL_MENU,
    .init = acs_init,
    .free = acs_channel_free,
    .routes = acs_routes,
    .n_routes = CCAI_ARRAY_SIZE(acs_routes),
    .telephony = {"communication_services", "acs"},
    .configured = acs_configured,
    .place_call = place_call,
    .setup = "set communication_services.endpoint, access_key, resource_id and phone_number",
    .sms_mode = "communication_services",
    .sms_new = acs_sms_new,
    .readiness = acs_readiness,
};
