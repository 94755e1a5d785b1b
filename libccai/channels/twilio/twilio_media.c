/* The Twilio channel's stream mode (Media Streams), beside twilio.c (the
 * call, its webhooks, Gather mode); shared state in twilio_call.h.
 *
 * twilio.voice: stream. The call's TwiML is <Connect><Stream> to
 * /twilio/stream/<call id> (the call's secret in a <Parameter>, checked on
 * "start": Twilio's <Stream url> takes no query) followed by a <Redirect> to
 * /twilio/reconnect: when the WebSocket drops (this process died, the
 * network failed) Twilio goes on with the TwiML and the caller comes back,
 * here or to a restarted server, which takes the call back from the store.
 * The call is an audio call (G.711 mu-law 8 kHz both ways): the voice layer
 * listens and speaks; "media" goes to ccai_call_audio_in(), play_audio to
 * "media" in 20 ms messages, marks both ways, clear on barge-in; transfer
 * and hang-up update the call through REST once the bot's last words have
 * played (their mark came back). */
#include "channels/twilio/twilio_call.h"

#include "channels/twilio/twilio_rest.h"
#include "channels/twilio/twilio_sig.h"
#include "channels/twilio/twiml.h"
#include "config/config.h"
#include "http/auth.h"
#include "http/form.h"
#include "io/io.h"

#include <stdio.h>
#include <string.h>

#define STREAM_CHUNK   160           /* 20 ms of 8 kHz mu-law per media message */
#define PENDING_MAX    (60u * 8000u) /* bot audio kept for a stream to come: 60 s */
#define STREAM_GONE_MS 3000          /* a stream ended: Twilio's redirect, or the caller left */
#define BYE_MAX_MS     30000         /* the last words play at most this long */
#define STREAM_IDLE_MS 15000         /* Twilio sends media every 20 ms */
#define STREAM_MAX_MSG (64u * 1024u) /* a media message is ~300 bytes */
#define STREAM_MAX_OUT (4u * 1024u * 1024u)
#define HANGUP_MARK    "ccai-hangup"
#define TRANSFER_MARK  "ccai-transfer"
#define BAD_LOGGED     10

static void end_by_rest(tw_call *t);
static void transfer_now(tw_call *t);

static void stream_bad(tw_call *t, const char *what)
{
    t->bad++;
    if (t->bad <= BAD_LOGGED)
        Ccai_log(t->tw->log, CCAI_LOG_WARN, "twilio: call %s: media stream: %s (ignored)%s",
                 ccai_call_id(t->call), what,
                 t->bad == BAD_LOGGED ? "; further ones are not logged" : "");
}

static bool live_stream(const tw_call *t)
{
    return t->ws && t->started;
}

/* t->msg out on the stream. */
static bool stream_send(tw_call *t)
{
    ccai_status st = Ccai_wss_send(t->ws, CCAI_WS_TEXT, t->msg.data, t->msg.len);
    if (st != CCAI_OK)
        stream_bad(t, st == CCAI_ERR_LIMIT ? "Twilio does not read: bot audio dropped"
                                           : "cannot send to the stream");
    return st == CCAI_OK;
}

static void send_audio(tw_call *t, const uint8_t *p, size_t n)
{
    for (size_t off = 0; off < n; off += STREAM_CHUNK) {
        size_t k = n - off < STREAM_CHUNK ? n - off : STREAM_CHUNK;
        if (!Ccai_twilio_stream_media(&t->msg, t->stream_sid, p + off, k) || !stream_send(t))
            return;
    }
}

static void send_mark(tw_call *t, const char *name)
{
    if (!Ccai_twilio_stream_mark(&t->msg, t->stream_sid, name) || !stream_send(t))
        return;
    if (t->n_marks < MAX_MARKS)
        snprintf(t->marks[t->n_marks++], sizeof t->marks[0], "%s", name);
}

/* What waited for a stream goes out on it, marks in their places. */
static void flush_pending(tw_call *t)
{
    const uint8_t *p = (const uint8_t *)t->pending.data;
    size_t off = 0;
    for (size_t i = 0; i < t->n_pmarks; i++) {
        if (t->pmarks[i].at > off)
            send_audio(t, p + off, t->pmarks[i].at - off);
        off = t->pmarks[i].at;
        send_mark(t, t->pmarks[i].name);
    }
    if (t->pending.len > off)
        send_audio(t, p + off, t->pending.len - off);
    Ccai_buf_reset(&t->pending);
    t->n_pmarks = 0;
    t->full_logged = false;
}

static int op_play_audio(ccai_call *c, const ccai_audio_frame *f, void *ud)
{
    CCAI_UNUSED(c);
    tw_call *t = ud;
    if (live_stream(t)) {
        send_audio(t, f->data, f->len);
        return 0;
    }
    if (t->pending.len + f->len > PENDING_MAX) {
        if (!t->full_logged)
            Ccai_log(t->tw->log, CCAI_LOG_WARN,
                     "twilio: call %s: no media stream for 60 s of bot audio: dropping it",
                     ccai_call_id(t->call));
        t->full_logged = true;
        return -1;
    }
    return f->len && !Ccai_buf_append(&t->pending, f->data, f->len) ? -1 : 0;
}

static int op_clear_audio(ccai_call *c, void *ud)
{
    CCAI_UNUSED(c);
    tw_call *t = ud;
    Ccai_buf_reset(&t->pending);
    t->n_pmarks = 0;
    /* Twilio echoes the marks it drops: those are not "played". */
    t->n_marks = 0;
    if (live_stream(t) && Ccai_twilio_stream_clear(&t->msg, t->stream_sid))
        return stream_send(t) ? 0 : -1;
    return 0;
}

static int op_mark(ccai_call *c, const char *name, void *ud)
{
    CCAI_UNUSED(c);
    tw_call *t = ud;
    if (live_stream(t)) {
        send_mark(t, name);
        return 0;
    }
    if (t->n_pmarks == MAX_MARKS)
        return -1;
    t->pmarks[t->n_pmarks].at = t->pending.len;
    snprintf(t->pmarks[t->n_pmarks].name, sizeof t->pmarks[0].name, "%s", name);
    t->n_pmarks++;
    return 0;
}

/* After the bot's last words (their mark), or at once without a stream. */
static void after_audio(tw_call *t, const char *mark, void (*then)(tw_call *))
{
    if (live_stream(t) && t->n_marks < MAX_MARKS) {
        send_mark(t, mark);
        Ccai_timer_start(t->tw->ctx, &t->bye, BYE_MAX_MS);
        return;
    }
    then(t);
}

static int op_stream_hangup(ccai_call *c, void *ud)
{
    CCAI_UNUSED(c);
    tw_call *t = ud;
    t->hanging = true;
    after_audio(t, HANGUP_MARK, end_by_rest);
    return 0;
}

static int op_stream_transfer(ccai_call *c, const char *number, void *ud)
{
    CCAI_UNUSED(c);
    tw_call *t = ud;
    if (!t->tw->rest || !t->sid[0] || !number || strlen(number) >= sizeof t->transfer_to)
        return -1;
    snprintf(t->transfer_to, sizeof t->transfer_to, "%s", number);
    t->transferring = true;
    after_audio(t, TRANSFER_MARK, transfer_now);
    return 0;
}

void Ccai_tw_on_bye(Ccai_timer *timer, void *ud)
{
    CCAI_UNUSED(timer);
    tw_call *t = ud;
    if (t->hanging)
        end_by_rest(t);
    else if (t->transferring)
        transfer_now(t);
}

const ccai_call_ops Ccai_tw_stream_ops = {
    .version = CCAI_CALL_OPS_VERSION,
    .transfer = op_stream_transfer,
    .hangup = op_stream_hangup,
    .play_audio = op_play_audio,
    .clear_audio = op_clear_audio,
    .mark = op_mark,
};

/* Twilio's echo of a mark: played (or dropped by a clear: then no longer
 * in t->marks). */
static void stream_marked(tw_call *t, const char *name)
{
    size_t i = 0;
    while (i < t->n_marks && strcmp(t->marks[i], name) != 0)
        i++;
    if (i == t->n_marks)
        return;
    memmove(t->marks[i], t->marks[i + 1], (t->n_marks - i - 1) * sizeof t->marks[0]);
    t->n_marks--;
    if (!strcmp(name, HANGUP_MARK)) {
        end_by_rest(t);
        return;
    }
    if (!strcmp(name, TRANSFER_MARK)) {
        transfer_now(t);
        return;
    }
    ccai_status st = ccai_call_audio_marked(t->call, name);
    if (st != CCAI_OK)
        Ccai_log(t->tw->log, CCAI_LOG_WARN, "twilio: call %s: mark %s not taken: %s",
                 ccai_call_id(t->call), name, ccai_status_str(st));
}

static void stream_started(tw_call *t, const Ccai_twilio_stream_msg *m)
{
    Ccai_twilio *tw = t->tw;
    const char *id = ccai_call_id(t->call);
    if (!m->token[0] || !Ccai_http_secret_equal(m->token, ccai_call_secret(t->call)) ||
        (t->sid[0] && strcmp(m->call_sid, t->sid) != 0)) {
        Ccai_log(tw->log, CCAI_LOG_WARN,
                 "twilio: call %s: a media stream whose start names another call (token or "
                 "callSid): closed with 1008",
                 id);
        CCAI_DISCARD(Ccai_wss_close(t->ws, 1008, "not this call's stream"));
        Ccai_wss_release(t->ws);
        t->ws = NULL;
        return;
    }
    if (strcmp(m->encoding, "audio/x-mulaw") != 0 || (m->sample_rate && m->sample_rate != 8000))
        Ccai_log(tw->log, CCAI_LOG_WARN,
                 "twilio: call %s: media format %s at %ld Hz announced: taken as mu-law 8 kHz", id,
                 m->encoding[0] ? m->encoding : "(none)", m->sample_rate);
    t->started = true;
    t->stopped = false;
    snprintf(t->stream_sid, sizeof t->stream_sid, "%s", m->stream_sid);
    Ccai_timer_stop(tw->ctx, &t->gone);
    Ccai_log(tw->log, CCAI_LOG_INFO, "twilio: call %s: media stream %s started", id, t->stream_sid);
    flush_pending(t);
    if (t->connected)
        return;
    t->connected = true;
    ccai_status st = ccai_call_notify(t->call, CCAI_EVENT_CONNECTED, NULL);
    if (st != CCAI_OK) {
        Ccai_log(tw->log, CCAI_LOG_ERROR, "twilio: call %s: cannot connect it: %s: hanging up", id,
                 ccai_status_str(st));
        t->hanging = true;
        end_by_rest(t);
        return;
    }
    Ccai_tw_answered_by(t);
}

static void on_stream_message(Ccai_wss *ws, int kind, const uint8_t *data, size_t len, void *ud)
{
    CCAI_UNUSED(ws);
    tw_call *t = ud;
    if (kind != CCAI_WS_TEXT) {
        stream_bad(t, "a binary frame");
        return;
    }
    Ccai_twilio_stream_msg *m = Ccai_malloc(sizeof *m);
    const char *why = NULL;
    ccai_status st =
        m ? Ccai_twilio_stream_parse((const char *)data, len, m, &why) : CCAI_ERR_NOMEM;
    if (st != CCAI_OK) {
        stream_bad(t, why ? why : ccai_status_str(st));
        ccai_free(m);
        return;
    }
    if (m->event != CCAI_TWS_CONNECTED && m->event != CCAI_TWS_START && !t->started) {
        stream_bad(t, "a message before start");
    } else if (m->event != CCAI_TWS_CONNECTED && m->event != CCAI_TWS_START &&
               strcmp(m->stream_sid, t->stream_sid) != 0) {
        stream_bad(t, "a message of another streamSid");
    } else {
        char digit[2] = {m->digit, '\0'};
        switch (m->event) {
        case CCAI_TWS_START: stream_started(t, m); break;
        case CCAI_TWS_MEDIA:
            st = ccai_call_audio_in(t->call, m->audio, m->audio_len);
            if (st != CCAI_OK && st != CCAI_ERR_STATE)
                stream_bad(t, ccai_call_errmsg(t->call));
            break;
        case CCAI_TWS_DTMF:
            st = ccai_call_notify(t->call, CCAI_EVENT_DTMF, digit);
            if (st != CCAI_OK && st != CCAI_ERR_STATE)
                Ccai_log(t->tw->log, CCAI_LOG_WARN, "twilio: call %s: DTMF %s not taken: %s",
                         ccai_call_id(t->call), digit, ccai_status_str(st));
            break;
        case CCAI_TWS_MARK: stream_marked(t, m->mark); break;
        case CCAI_TWS_STOP: t->stopped = true; break;
        case CCAI_TWS_OTHER: stream_bad(t, "an unknown event"); break;
        case CCAI_TWS_CONNECTED: break;
        }
    }
    ccai_free(m);
}

static void on_stream_close(Ccai_wss *ws, const Ccai_wss_end *e, void *ud)
{
    CCAI_UNUSED(ws);
    tw_call *t = ud;
    Ccai_twilio *tw = t->tw;
    t->ws = NULL;
    t->started = false;
    bool expected = t->stopped || t->hanging || t->transferring;
    Ccai_log(tw->log, expected ? CCAI_LOG_INFO : CCAI_LOG_WARN,
             "twilio: call %s: media stream ended%s: %s", ccai_call_id(t->call),
             t->stopped ? " (stop)" : "", e->errmsg);
    /* The marks sent on it will never come back: Twilio had not played
     * their audio (a mark comes back once what precedes it played), so
     * the caller did not hear it. */
    char names[MAX_MARKS][64];
    size_t n = t->n_marks;
    memcpy(names, t->marks, n * sizeof names[0]);
    t->n_marks = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(names[i], HANGUP_MARK) != 0 && strcmp(names[i], TRANSFER_MARK) != 0)
            CCAI_DISCARD(Ccai_voice_audio_lost(t->call, names[i])); /* ended: nothing to do */
    }
    if (t->hanging) {
        end_by_rest(t);
        return;
    }
    if (t->transferring) {
        transfer_now(t);
        return;
    }
    /* Twilio runs the <Redirect> while the call is up (then the stream comes
     * back); nothing within STREAM_GONE_MS: the caller hung up. */
    Ccai_timer_start(tw->ctx, &t->gone, STREAM_GONE_MS);
}

/* wss://host/twilio/stream/<id> from server.public_url (https -> wss). */
static char *stream_url(const Ccai_twilio *tw, const char *path)
{
    char *base = Ccai_http_public_url(tw->cfg, "%s", path);
    if (!base)
        return NULL;
    char *url = NULL;
    if (!strncmp(base, "https://", 8))
        url = Ccai_asprintf("wss://%s", base + 8);
    else if (!strncmp(base, "http://", 7))
        url = Ccai_asprintf("ws://%s", base + 7);
    else
        url = Ccai_strdup(base);
    ccai_free(base);
    return url;
}

/* The TwiML of a stream-mode call: its stream, then back to us. */
void Ccai_tw_answer_stream(Ccai_twilio *tw, tw_call *t, ccai_http_exchange *x)
{
    char path[128];
    snprintf(path, sizeof path, "/twilio/stream/%s", ccai_call_id(t->call));
    char *url = stream_url(tw, path);
    char *back = Ccai_tw_call_url(tw, "reconnect", t->call);
    const char *params[] = {"token", ccai_call_secret(t->call), NULL};
    Ccai_twiml w;
    Ccai_twiml_init(&w);
    Ccai_twiml_connect_stream(&w, url, params);
    Ccai_twiml_redirect(&w, back, "POST");
    char *xml = NULL;
    size_t len = 0;
    ccai_status st = Ccai_twiml_finish(&w, &xml, &len);
    Ccai_twiml_free(&w);
    ccai_free(url);
    ccai_free(back);
    if (st != CCAI_OK) {
        Ccai_exchange_error(x, 500, "cannot build TwiML", ccai_status_str(st));
        return;
    }
    Ccai_exchange_respond(x, 200, "text/xml", xml, len);
    ccai_free(xml);
}

/* Twilio answered a transfer's or an end's REST update. */
static void on_updated(ccai_status st, const Ccai_twilio_result *res, void *ud)
{
    placing *p = ud;
    Ccai_twilio *tw = p->tw;
    Ccai_tw_placing_unlink(tw, p);
    tw_call *t = Ccai_tw_find(tw, p->call_id);
    const char *why = res && res->error_message ? res->error_message : ccai_status_str(st);
    if (t && p->kind == REST_END) {
        if (st != CCAI_OK && st != CCAI_ERR_NOT_FOUND)
            Ccai_log(tw->log, CCAI_LOG_ERROR, "twilio: call %s: cannot hang up through REST: %s",
                     p->call_id, why);
        Ccai_tw_over(&t->over, t); /* our side ends here either way */
    } else if (t && st != CCAI_OK) {
        Ccai_log(tw->log, CCAI_LOG_ERROR, "twilio: call %s: cannot transfer through REST: %s",
                 p->call_id, why);
        t->transferring = false;
        st = ccai_call_notify(t->call, CCAI_EVENT_TRANSFER_FAILED, "the transfer could not start");
        if (st != CCAI_OK && st != CCAI_ERR_STATE)
            Ccai_log(tw->log, CCAI_LOG_WARN, "twilio: call %s: transfer failure not taken: %s",
                     p->call_id, ccai_status_str(st));
    }
    ccai_free(p);
}

static placing *rest_op(tw_call *t, rest_kind kind)
{
    placing *p = Ccai_calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->tw = t->tw;
    p->kind = kind;
    snprintf(p->call_id, sizeof p->call_id, "%s", ccai_call_id(t->call));
    return p;
}

/* Hang up through REST (Status=completed); the call ends here when Twilio
 * answers. Without a CallSid, or REST refusing to start, at once. */
static void end_by_rest(tw_call *t)
{
    Ccai_twilio *tw = t->tw;
    Ccai_timer_stop(tw->ctx, &t->bye);
    if (t->ending)
        return;
    t->ending = true;
    placing *p = tw->rest && t->sid[0] ? rest_op(t, REST_END) : NULL;
    if (p && Ccai_twilio_call_end(tw->rest, t->sid, false, on_updated, p, NULL) == CCAI_OK) {
        p->next = tw->placings;
        tw->placings = p;
        return;
    }
    ccai_free(p);
    Ccai_timer_start(tw->ctx, &t->over, 0); /* not from inside the engine's callback */
}

/* Transfer through REST: the call's TwiML becomes a <Dial> whose action
 * (/twilio/dial) reports the outcome. */
static void transfer_now(tw_call *t)
{
    Ccai_twilio *tw = t->tw;
    Ccai_timer_stop(tw->ctx, &t->bye);
    if (!t->transferring || t->ending)
        return;
    char *dial_url = Ccai_tw_call_url(tw, "dial", t->call);
    Ccai_twiml w;
    Ccai_twiml_init(&w);
    Ccai_twiml_dial_opts d = {.action = dial_url, .method = "POST", .timeout = 30};
    Ccai_twiml_dial_begin(&w, &d);
    Ccai_twiml_number(&w, t->transfer_to, NULL);
    Ccai_twiml_dial_end(&w);
    char *xml = NULL;
    ccai_status st = Ccai_twiml_finish(&w, &xml, NULL);
    Ccai_twiml_free(&w);
    ccai_free(dial_url);
    placing *p = st == CCAI_OK ? rest_op(t, REST_TRANSFER) : NULL;
    st = p ? Ccai_twilio_call_update_twiml(tw->rest, t->sid, xml, on_updated, p, NULL)
           : CCAI_ERR_NOMEM;
    ccai_free(xml);
    if (st == CCAI_OK) {
        p->next = tw->placings;
        tw->placings = p;
        return;
    }
    ccai_free(p);
    Ccai_log(tw->log, CCAI_LOG_ERROR, "twilio: call %s: cannot ask for the transfer: %s",
             ccai_call_id(t->call), ccai_status_str(st));
    t->transferring = false;
    st = ccai_call_notify(t->call, CCAI_EVENT_TRANSFER_FAILED, "the transfer could not start");
    if (st != CCAI_OK && st != CCAI_ERR_STATE)
        Ccai_log(tw->log, CCAI_LOG_WARN, "twilio: call %s: transfer failure not taken: %s",
                 ccai_call_id(t->call), ccai_status_str(st));
}

/* The <Dial> of a stream-mode call is over: bridged (the call ends), or
 * not (the bot apologises on a new stream). */
void Ccai_tw_dial_done_stream(Ccai_twilio *tw, tw_call *t, ccai_http_exchange *x, bool ok,
                              const char *status, const char *dial_sid)
{
    t->transferring = false;
    ccai_status st =
        ok ? ccai_call_notify(t->call, CCAI_EVENT_TRANSFER_OK, dial_sid)
           : ccai_call_notify(t->call, CCAI_EVENT_TRANSFER_FAILED, status ? status : "unknown");
    if (st != CCAI_OK && st != CCAI_ERR_STATE) {
        Ccai_exchange_fail_or_hold(x, st, "cannot take the transfer's outcome", NULL);
        return;
    }
    if (!ok) {
        Ccai_tw_answer_stream(tw, t, x);
        return;
    }
    static const char bye[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Hangup/></Response>";
    Ccai_timer_start(tw->ctx, &t->over, 0);
    Ccai_exchange_respond(x, 200, "text/xml", bye, sizeof bye - 1);
}

/* GET /twilio/stream/<call id>: Twilio's Media Stream. The upgrade carries
 * X-Twilio-Signature over the wss:// URL (no query, no parameters: media.md
 * 1.2); the call's secret comes in the stream's start (customParameters). */
void Ccai_tw_route_stream(ccai_http_exchange *x, void *ud)
{
    Ccai_twilio *tw = ud;
    const char *token = Ccai_config_str(tw->cfg, "twilio.auth_token");
    char *url = stream_url(tw, x->path);
    Ccai_form q = {0};
    char *why = NULL;
    bool parsed = !x->query || Ccai_form_parse(x->query, strlen(x->query), &q, &why) == CCAI_OK;
    ccai_free(why);
    bool ok = parsed && url && token && *token &&
              Ccai_twilio_signature_valid(token, url, x->query ? &q : NULL, NULL, 0,
                                          Ccai_exchange_header(x, "X-Twilio-Signature"));
    ccai_free(url);
    Ccai_form_free(&q);
    if (!ok) {
        Ccai_log(tw->log, CCAI_LOG_WARN, "twilio: %s: bad or missing X-Twilio-Signature", x->path);
        Ccai_exchange_count_rejected(x, "twilio", "signature");
        Ccai_exchange_error(x, 403, "invalid Twilio signature", NULL);
        return;
    }
    tw_call *t = Ccai_tw_find(tw, Ccai_exchange_param(x, 0));
    if (!t || !t->audio) {
        Ccai_exchange_error(x, 404, "no such live call", "not a stream-mode call live here");
        return;
    }
    if (t->ws) {
        Ccai_exchange_error(x, 409, "the call has a media stream already", NULL);
        return;
    }
    Ccai_wss_opts o = {
        .idle_timeout_ms = STREAM_IDLE_MS,
        .max_message = STREAM_MAX_MSG,
        .max_out = STREAM_MAX_OUT,
        .on_message = on_stream_message,
        .on_close = on_stream_close,
        .ud = t,
    };
    Ccai_wss *ws = NULL;
    if (Ccai_wss_accept(x, &o, &ws) != CCAI_OK)
        return; /* answered */
    t->ws = ws;
    t->started = t->stopped = false;
    t->bad = 0;
    Ccai_timer_stop(tw->ctx, &t->gone);
}
