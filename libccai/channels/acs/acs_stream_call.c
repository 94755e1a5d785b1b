/* Stream mode of the ACS channel (communication_services.voice: stream):
 * the call is an audio call (voice/), its audio on ACS's bidirectional
 * media streaming WebSocket (media.md 2).
 *
 *   answer/create  carry mediaStreamingOptions: transportUrl
 *                  wss://<public>/acs/media?call=<id>&s=<secret>, websocket,
 *                  audio, unmixed (the caller's frames are told apart from
 *                  anyone else's, as the reference does), started at once,
 *                  bidirectional, pcm16KMono or pcm24KMono, DTMF tones.
 *   GET /acs/media ACS connects. Authenticated both ways ACS allows: its
 *                  bearer JWT on the upgrade (media.md 2.3: the same signed
 *                  token as its callbacks, checked against the keys ACS
 *                  publishes, Ccai_acs_authenticate()) and the call's
 *                  unguessable secret in the transportUrl's query (the
 *                  reference checks only this one; the token alone does not
 *                  say which call it is for). The first message,
 *                  AudioMetadata, must announce the configured format
 *                  (else the stream is refused, 1003, and the call ended
 *                  politely); then the engine connects (it greets).
 *   AudioData in   the caller's 20 ms PCM frames -> ccai_call_audio_in();
 *                  DtmfData -> CCAI_EVENT_DTMF.
 *   play_audio     AudioData out in 20 ms messages (640 / 960 bytes, as ACS
 *                  sends them), kept while no stream is connected (60 s at
 *                  most), sent once one starts.
 *   clear_audio    StopAudio: ACS drops what it queued (barge-in). ACS
 *                  reports nothing of what it played: the voice layer's own
 *                  clock says what the caller heard (no mark op).
 *   hangup,        through Call Automation as in recognize mode
 *   transfer       (acs_call.c), once the voice layer says the last words
 *                  were heard.
 *
 * A stream that drops while the call is up (the network, this process
 * restarted): ACS connects it again by itself (streamConnectionReestablished)
 * or reports MediaStreamingStopped / Failed; within STREAM_GONE_MS without a
 * stream, or on such an event, :startMediaStreaming starts it again (up to
 * MAX_RESTARTS times in a row). A restarted server takes the call back from
 * the store when the stream comes back to it, or when such an event reaches
 * it (acs.c adopt()), or, STREAM_GONE_MS after it started, by itself: the
 * calls left in progress (ACS's retries ran out and its report went nowhere
 * while the process was down) are taken back and :startMediaStreaming sent
 * on their call connection, whose id is the stream-mode call's stored
 * provider id. A call whose stream cannot be had is ended politely:
 * an apology played by Call Automation when it has a speech endpoint, then
 * the hang-up; nothing stored is lost. */
#include "channels/acs/acs_channel.h"

#include "channels/acs/acs_stream.h"
#include "config/config.h"
#include "http/auth.h"

#include <stdio.h>
#include <string.h>

#define STREAM_IDLE_MS 15000 /* ACS sends audio every 20 ms */
#define STREAM_MAX_MSG (256u * 1024u)
#define STREAM_MAX_OUT (4u * 1024u * 1024u)
#define PENDING_MAX_S  60    /* bot audio kept for a stream to come */
#define STREAM_WAIT_MS 10000 /* a stream asked for comes within this */
#define STREAM_GONE_MS 3000  /* a stream dropped: ACS connects it again, or says so */
#define MAX_RESTARTS   3
#define BAD_LOGGED     10
#define STREAM_CONTEXT "ccai:stream"
#define APOLOGY        "Sorry, we are having technical difficulties. Please call again later."
#define MEDIA_PATH_FMT "/acs/media?call=%s&s=%s"
#define CONN_HEADER    "x-ms-call-connection-id"

static size_t frame_bytes(const Ccai_acs *acs)
{
    return acs->stream_rate / 50u * 2u; /* 20 ms of 16-bit mono */
}

static bool live(const Ccai_acs_call *a)
{
    return a->st.ws && a->st.started;
}

static void stream_bad(Ccai_acs_call *a, const char *what)
{
    a->st.bad++;
    if (a->st.bad <= BAD_LOGGED)
        Ccai_log(a->acs->log, CCAI_LOG_WARN, "acs: call %s: media stream: %s (ignored)%s",
                 ccai_call_id(a->call), what,
                 a->st.bad == BAD_LOGGED ? "; further ones are not logged" : "");
}

static void on_lost(Ccai_timer *t, void *ud);

void Ccai_acs_stream_init(Ccai_acs_call *a)
{
    Ccai_timer_init(&a->st.lost, on_lost, a);
}

void Ccai_acs_stream_free(Ccai_acs_call *a)
{
    Ccai_timer_stop(a->acs->ctx, &a->st.lost);
    Ccai_wss_release(a->st.ws); /* no callback from now on */
    a->st.ws = NULL;
    Ccai_buf_free(&a->st.msg);
    Ccai_buf_free(&a->st.pending);
    ccai_free(a->st.audio);
    a->st.audio = NULL;
}

/* wss://<public>/acs/media?call=&s= from server.public_url (https -> wss). */
static char *media_url(const Ccai_acs *acs, const ccai_call *c)
{
    char *base =
        Ccai_http_public_url(acs->cfg, MEDIA_PATH_FMT, ccai_call_id(c), ccai_call_secret(c));
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

Ccai_acs_streaming Ccai_acs_streaming_for(const Ccai_acs *acs, const ccai_call *c)
{
    return (Ccai_acs_streaming){
        .transport_url = media_url(acs, c),
        .unmixed = true,
        .bidirectional = true,
        .start = true,
        .dtmf = true,
        .sample_rate = acs->stream_rate,
    };
}

/* Sending -------------------------------------------------------------------------------------- */

static CCAI_MUST_CHECK bool send_msg(Ccai_acs_call *a)
{
    ccai_status st = Ccai_wss_send(a->st.ws, CCAI_WS_TEXT, a->st.msg.data, a->st.msg.len);
    if (st != CCAI_OK)
        stream_bad(a, st == CCAI_ERR_LIMIT ? "ACS does not read: bot audio dropped"
                                           : "cannot send to the stream");
    return st == CCAI_OK;
}

static void send_audio(Ccai_acs_call *a, const uint8_t *p, size_t n)
{
    size_t fb = frame_bytes(a->acs);
    for (size_t off = 0; off < n; off += fb) {
        size_t k = n - off < fb ? n - off : fb;
        if (!Ccai_acs_stream_audio(&a->st.msg, p + off, k) || !send_msg(a))
            return;
    }
}

int Ccai_acs_op_play_audio(ccai_call *c, const ccai_audio_frame *f, void *ud)
{
    CCAI_UNUSED(c);
    Ccai_acs_call *a = ud;
    if (a->dead)
        return -1;
    if (live(a)) {
        send_audio(a, f->data, f->len);
        return 0;
    }
    size_t max = (size_t)a->acs->stream_rate * 2u * PENDING_MAX_S;
    if (a->st.pending.len + f->len > max) {
        if (!a->st.full_logged)
            Ccai_log(a->acs->log, CCAI_LOG_WARN,
                     "acs: call %s: no media stream for %d s of bot audio: dropping it",
                     ccai_call_id(a->call), PENDING_MAX_S);
        a->st.full_logged = true;
        return -1;
    }
    return f->len && !Ccai_buf_append(&a->st.pending, f->data, f->len) ? -1 : 0;
}

int Ccai_acs_op_clear_audio(ccai_call *c, void *ud)
{
    CCAI_UNUSED(c);
    Ccai_acs_call *a = ud;
    if (a->dead)
        return -1;
    Ccai_buf_reset(&a->st.pending);
    if (live(a) && Ccai_acs_stream_stop(&a->st.msg))
        return send_msg(a) ? 0 : -1;
    return 0;
}

/* Giving up, starting again ------------------------------------------------------------------- */

/* The call cannot have its audio: the caller hears why (Call Automation's
 * own text to speech, when it has an endpoint) and the call ends. */
static void give_up(Ccai_acs_call *a, const char *why)
{
    Ccai_acs *acs = a->acs;
    Ccai_timer_stop(acs->ctx, &a->st.lost);
    if (a->ending || a->after != CCAI_ACS_AFTER_NONE)
        return;
    bool speak = *a->conn_id &&
                 Ccai_acs_cfg(acs, "communication_services.cognitive_services_endpoint") != NULL;
    Ccai_log(acs->log, CCAI_LOG_WARN, "acs: call %s: %s: %s", ccai_call_id(a->call), why,
             speak ? "apologising, then hanging up" : "hanging up");
    if (speak && Ccai_acs_queue_text(a, APOLOGY, ccai_call_lang(a->call), NULL, CCAI_STYLE_NONE,
                                     1.0, CCAI_ACS_M_PLAY) != CCAI_OK)
        Ccai_log(acs->log, CCAI_LOG_WARN, "acs: call %s: cannot queue the apology",
                 ccai_call_id(a->call));
    Ccai_acs_set_after(a, CCAI_ACS_AFTER_HANGUP);
}

/* :startMediaStreaming: ACS connects to the transportUrl again. */
static void restart(Ccai_acs_call *a)
{
    Ccai_acs *acs = a->acs;
    if (a->st.restarts >= MAX_RESTARTS) {
        give_up(a, "the media stream could not be started again");
        return;
    }
    if (!*a->conn_id) {
        give_up(a, "no media stream, and no call connection to start one on");
        return;
    }
    Ccai_acs_pend *p = Ccai_acs_pend_new(acs, a, CCAI_ACS_P_STREAMING);
    ccai_status st = p ? Ccai_acs_media_streaming(acs->rest, a->conn_id, true, STREAM_CONTEXT, NULL,
                                                  Ccai_acs_on_op_done, p, NULL)
                       : CCAI_ERR_NOMEM;
    if (!Ccai_acs_pend_started(acs, p, st)) {
        give_up(a, "cannot ask for the media stream");
        return;
    }
    a->st.restarts++;
    a->st.asked = true;
    Ccai_log(acs->log, CCAI_LOG_INFO, "acs: call %s: starting media streaming (attempt %u)",
             ccai_call_id(a->call), a->st.restarts);
    Ccai_timer_start(acs->ctx, &a->st.lost, STREAM_WAIT_MS);
}

static void lost_now(Ccai_acs_call *a)
{
    if (live(a) || a->ending || a->dead)
        return;
    restart(a);
}

static void on_lost(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    Ccai_acs_call *a = ud;
    if (!live(a) && !a->ending)
        Ccai_log(a->acs->log, CCAI_LOG_WARN, "acs: call %s: no media stream within %d ms",
                 ccai_call_id(a->call), a->st.asked ? STREAM_WAIT_MS : STREAM_GONE_MS);
    lost_now(a);
}

void Ccai_acs_stream_start_failed(Ccai_acs_call *a, const char *why)
{
    Ccai_log(a->acs->log, CCAI_LOG_WARN, "acs: call %s: startMediaStreaming failed: %s",
             ccai_call_id(a->call), why);
    a->st.asked = false;
    if (!live(a) && !a->ending)
        Ccai_timer_start(a->acs->ctx, &a->st.lost, STREAM_GONE_MS);
}

void Ccai_acs_stream_connected(Ccai_acs_call *a)
{
    a->st.restarts = 0;
    if (!live(a)) /* startMediaStreaming: true, the stream is on its way */
        Ccai_timer_start(a->acs->ctx, &a->st.lost, STREAM_WAIT_MS);
}

void Ccai_acs_stream_take_back(Ccai_acs_call *a)
{
    a->connected = true;
    a->st.restarts = 0;
    restart(a);
}

/* One stored call left in progress: taken back, its stream asked for. */
static void resume_one(Ccai_acs *acs, const char *id, const char *conn)
{
    Ccai_acs_call *a = NULL;
    ccai_status st = Ccai_acs_start_call(acs, NULL, NULL, CCAI_INBOUND, NULL, id, &a);
    if (st != CCAI_OK) {
        Ccai_log(acs->log, CCAI_LOG_WARN, "acs: call %s: left in progress, not taken back: %s", id,
                 ccai_status_str(st));
        return;
    }
    Ccai_acs_stored_ids(a);
    Ccai_log(acs->log, CCAI_LOG_WARN,
             "acs: call %s: taken back after a restart (left in progress): starting its media "
             "stream again on call connection %s",
             id, conn);
    Ccai_acs_stream_take_back(a);
}

static void on_resume(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    Ccai_acs *acs = ud;
    char *text = NULL;
    ccai_status st = ccai_ctx_calls_list_json(acs->ctx, NULL, 1000, 0, &text);
    json_t *doc = st == CCAI_OK ? json_loads(text, 0, NULL) : NULL;
    ccai_free(text);
    if (!doc) {
        Ccai_log(acs->log, CCAI_LOG_WARN, "acs: cannot read the calls left in progress: %s",
                 st == CCAI_OK ? "unreadable list" : ccai_status_str(st));
        return;
    }
    size_t i;
    json_t *call;
    json_array_foreach(json_object_get(doc, "calls"), i, call)
    {
        const char *ch = json_string_value(json_object_get(call, "channel"));
        const char *conn = json_string_value(json_object_get(call, "provider_call_id"));
        const char *id = json_string_value(json_object_get(call, "call_id"));
        /* Its stream came back here already (ACS connected it again). */
        if (ch && !strcmp(ch, "acs") && json_is_true(json_object_get(call, "in_progress")) &&
            conn && *conn && id && !Ccai_acs_find(acs, id))
            resume_one(acs, id, conn);
    }
    json_decref(doc);
}

void Ccai_acs_stream_resume_all(Ccai_acs *acs)
{
    /* From the loop (the context is still being made), once ACS had the
     * time to connect the streams it was trying again by itself
     * (streamConnectionReestablished): those calls are taken back by their
     * stream; the others, whose retries ran out while this process was
     * down (the MediaStreamingFailed that said so went nowhere), by
     * :startMediaStreaming. */
    Ccai_timer_init(&acs->resume, on_resume, acs);
    Ccai_timer_start(acs->ctx, &acs->resume, STREAM_GONE_MS);
}

void Ccai_acs_stream_event(Ccai_acs_call *a, const Ccai_acs_event *ev)
{
    Ccai_acs *acs = a->acs;
    const char *id = ccai_call_id(a->call);
    const char *details = ev->streaming_details ? ev->streaming_details : "no details";
    switch (ev->kind) {
    case CCAI_ACS_MEDIA_STREAMING_STARTED:
        Ccai_log(acs->log, CCAI_LOG_INFO, "acs: call %s: media streaming started (%s)", id,
                 details);
        if (!live(a) && !a->ending) /* its socket is on its way */
            Ccai_timer_start(acs->ctx, &a->st.lost, STREAM_WAIT_MS);
        break;
    case CCAI_ACS_MEDIA_STREAMING_STOPPED:
    case CCAI_ACS_MEDIA_STREAMING_FAILED: {
        bool failed = ev->kind == CCAI_ACS_MEDIA_STREAMING_FAILED;
        bool quiet = a->ending || live(a);
        Ccai_log(acs->log, quiet ? CCAI_LOG_INFO : CCAI_LOG_WARN,
                 "acs: call %s: media streaming %s (%s; %d/%d %s)", id,
                 failed ? "failed" : "stopped", details, ev->result_code, ev->result_sub_code,
                 ev->result_message ? ev->result_message : "");
        if (!quiet) {
            a->st.asked = false;
            lost_now(a);
        }
        break;
    }
    default: break;
    }
}

/* Receiving ------------------------------------------------------------------------------------ */

/* participantRawID is the caller's: "4:+<number>" for a phone, the raw id
 * itself for an ACS user. */
static CCAI_MUST_CHECK bool is_caller(const Ccai_acs_call *a, const char *raw)
{
    if (!a->caller)
        return false;
    if (strncmp(raw, "4:", 2) == 0)
        return Ccai_acs_same_number(raw + 2, a->caller);
    return strcmp(raw, a->caller) == 0;
}

/* Unmixed audio carries up to four speakers: only the caller's frames go
 * on (the first speaker heard when none is recognisably the caller). */
static CCAI_MUST_CHECK bool callers_frame(Ccai_acs_call *a, const char *raw)
{
    if (!*raw || (a->st.participant[0] && strcmp(raw, a->st.participant) == 0))
        return true;
    if (!a->st.participant[0] || (is_caller(a, raw) && !is_caller(a, a->st.participant))) {
        snprintf(a->st.participant, sizeof a->st.participant, "%s", raw);
        return true;
    }
    if (!a->st.others_logged)
        Ccai_log(a->acs->log, CCAI_LOG_INFO, "acs: call %s: audio of %s (not the caller) ignored",
                 ccai_call_id(a->call), raw);
    a->st.others_logged = true;
    return false;
}

static void stream_started(Ccai_acs_call *a, const Ccai_acs_stream_msg *m)
{
    Ccai_acs *acs = a->acs;
    const char *id = ccai_call_id(a->call);
    bool pcm = !m->encoding[0] || Ccai_strcasecmp(m->encoding, "PCM") == 0;
    if (!pcm || (uint32_t)m->sample_rate != acs->stream_rate || m->channels > 1) {
        char why[160];
        snprintf(why, sizeof why,
                 "the media stream announced %s at %ld Hz, %ld channel(s), not the configured "
                 "PCM at %u Hz mono: refused",
                 m->encoding[0] ? m->encoding : "(no encoding)", m->sample_rate, m->channels,
                 (unsigned)acs->stream_rate);
        CCAI_DISCARD(Ccai_wss_close(a->st.ws, 1003, "unsupported audio format")); /* closing */
        Ccai_wss_release(a->st.ws);
        a->st.ws = NULL;
        give_up(a, why);
        return;
    }
    a->st.started = true;
    a->st.asked = false;
    a->st.restarts = 0;
    Ccai_timer_stop(acs->ctx, &a->st.lost);
    Ccai_log(acs->log, CCAI_LOG_INFO, "acs: call %s: media stream %s started (PCM %ld Hz)", id,
             m->subscription_id[0] ? m->subscription_id : "?", m->sample_rate);
    if (a->st.pending.len) {
        send_audio(a, (const uint8_t *)a->st.pending.data, a->st.pending.len);
        Ccai_buf_reset(&a->st.pending);
    }
    a->st.full_logged = false;
    if (!a->engine_on) {
        /* The engine greets (or welcomes back) now that it can be heard. */
        a->engine_on = true;
        Ccai_notify(&a->notify, CCAI_EVENT_CONNECTED, NULL);
    }
}

static void on_stream_message(Ccai_wss *ws, int kind, const uint8_t *data, size_t len, void *ud)
{
    CCAI_UNUSED(ws);
    Ccai_acs_call *a = ud;
    if (kind != CCAI_WS_TEXT) {
        stream_bad(a, "a binary frame");
        return;
    }
    if (!a->st.audio && !(a->st.audio = Ccai_malloc(CCAI_ACS_STREAM_MAX_AUDIO))) {
        stream_bad(a, "out of memory");
        return;
    }
    Ccai_acs_stream_msg m;
    m.audio = a->st.audio;
    const char *why = NULL;
    ccai_status st = Ccai_acs_stream_parse((const char *)data, len, &m, &why);
    if (st != CCAI_OK) {
        stream_bad(a, why ? why : ccai_status_str(st));
        return;
    }
    if (m.kind == CCAI_ACSS_METADATA) {
        if (!a->st.started)
            stream_started(a, &m);
        return;
    }
    if (!a->st.started) {
        stream_bad(a, "a message before AudioMetadata");
        return;
    }
    if (m.kind == CCAI_ACSS_AUDIO) {
        if (!m.audio_len || !callers_frame(a, m.participant))
            return;
        st = ccai_call_audio_in(a->call, m.audio, m.audio_len);
        if (st != CCAI_OK && st != CCAI_ERR_STATE)
            stream_bad(a, ccai_call_errmsg(a->call));
    } else if (m.kind == CCAI_ACSS_DTMF) {
        char digit[2] = {m.digit, '\0'};
        Ccai_notify(&a->notify, CCAI_EVENT_DTMF, digit);
    } else {
        stream_bad(a, "a message of an unknown kind");
    }
}

static void on_stream_close(Ccai_wss *ws, const Ccai_wss_end *e, void *ud)
{
    CCAI_UNUSED(ws);
    Ccai_acs_call *a = ud;
    a->st.ws = NULL;
    a->st.started = false;
    bool expected = a->ending || a->after != CCAI_ACS_AFTER_NONE;
    Ccai_log(a->acs->log, expected ? CCAI_LOG_INFO : CCAI_LOG_WARN,
             "acs: call %s: media stream ended: %s%s", ccai_call_id(a->call), e->errmsg,
             expected ? "" : "; waiting for it to come back");
    if (!a->ending)
        Ccai_timer_start(a->acs->ctx, &a->st.lost, STREAM_GONE_MS);
}

/* The route ------------------------------------------------------------------------------------ */

/* A call this process holds no handle for, live in the store, whose stream
 * comes here: this process restarted, ACS connected the stream again. */
static CCAI_MUST_CHECK ccai_status take_back(Ccai_acs *acs, ccai_http_exchange *x, const char *id,
                                             Ccai_acs_call **ret)
{
    const char *conn = Ccai_exchange_header(x, CONN_HEADER);
    Ccai_acs_call *a = NULL;
    ccai_status st = Ccai_acs_start_call(acs, NULL, NULL, CCAI_INBOUND, NULL, id, &a);
    if (st != CCAI_OK)
        return st;
    if (conn && strlen(conn) < sizeof a->conn_id)
        snprintf(a->conn_id, sizeof a->conn_id, "%s", conn);
    Ccai_acs_stored_ids(a);
    a->connected = true;
    Ccai_log(acs->log, CCAI_LOG_WARN,
             "acs: call %s: taken back after a restart (its media stream came back)%s", id,
             *a->conn_id ? "" : "; no " CONN_HEADER ": it cannot be transferred or hung up");
    *ret = a;
    return CCAI_OK;
}

static void media_authenticated(Ccai_acs *acs, ccai_http_exchange *x)
{
    char *id = Ccai_exchange_query(x, "call");
    char *secret = Ccai_exchange_query(x, "s");
    Ccai_acs_call *a = id ? Ccai_acs_find(acs, id) : NULL;
    const char *conn = Ccai_exchange_header(x, CONN_HEADER);
    int code = 0;
    const char *msg = NULL;
    ccai_status st = CCAI_OK;
    if (a) {
        if (!secret || !Ccai_http_secret_equal(secret, ccai_call_secret(a->call)))
            code = 401, msg = "invalid call secret";
        else if (!a->audio)
            code = 404, msg = "not a stream-mode call";
        else if (a->st.ws)
            code = 409, msg = "the call has a media stream already";
        else if (conn && *a->conn_id && strcmp(conn, a->conn_id) != 0)
            code = 409, msg = "the stream of another call connection";
    } else if (!id) {
        code = 404, msg = "no such call";
    } else {
        st = ccai_ctx_call_check_secret(acs->ctx, id, secret ? secret : "");
        if (st == CCAI_OK)
            st = take_back(acs, x, id, &a);
        if (st == CCAI_ERR_VALIDATION)
            code = 401, msg = "invalid call secret";
        else if (st == CCAI_ERR_BUSY || st == CCAI_ERR_NOMEM)
            code = 503, msg = "cannot take the call now"; /* ACS connects again */
        else if (st != CCAI_OK)
            code = 404, msg = st == CCAI_ERR_STATE ? "the call has ended" : "no such call";
    }
    ccai_free(secret);
    if (code) {
        Ccai_log(acs->log, CCAI_LOG_WARN, "acs: media stream for call %s refused: %s (%s)",
                 id ? id : "(none)", msg, st == CCAI_OK ? "" : ccai_status_str(st));
        if (code == 401 || code == 404)
            Ccai_exchange_count_rejected(x, "acs", code == 404 ? "unknown_call" : "call_secret");
        Ccai_exchange_error(x, code, msg, NULL);
        ccai_free(id);
        return;
    }
    ccai_free(id);
    Ccai_wss_opts o = {
        .idle_timeout_ms = STREAM_IDLE_MS,
        .max_message = STREAM_MAX_MSG,
        .max_out = STREAM_MAX_OUT,
        .on_message = on_stream_message,
        .on_close = on_stream_close,
        .ud = a,
    };
    Ccai_wss *ws = NULL;
    if (Ccai_wss_accept(x, &o, &ws) != CCAI_OK) {
        /* Answered; a call taken back just now waits for a stream. */
        if (!a->ending)
            Ccai_timer_start(acs->ctx, &a->st.lost, STREAM_GONE_MS);
        return;
    }
    a->st.ws = ws;
    a->st.started = false;
    a->st.bad = 0;
    Ccai_timer_stop(acs->ctx, &a->st.lost);
    Ccai_log(acs->log, CCAI_LOG_INFO, "acs: call %s: media stream connected from %s",
             ccai_call_id(a->call), Ccai_wss_remote(ws));
}

void Ccai_acs_route_media(ccai_http_exchange *x, void *ud)
{
    Ccai_acs *acs = ud;
    if (!acs->rest || !acs->stream) {
        Ccai_exchange_error(x, 404, "no ACS media streaming here",
                            "communication_services.voice is not stream");
        return;
    }
    Ccai_acs_authenticate(acs, x, media_authenticated);
}
