/* OpenAI Realtime transcription sessions
 * (wss://api.openai.com/v1/realtime?intent=transcription) behind
 * stt/stt.h: session.update (a transcription session: the input format,
 * the model, language and prompt, server VAD), the audio as
 * input_audio_buffer.append (base64 of G.711 at 8 kHz as the call has it,
 * else PCM16 at 24 kHz), speech_started / transcription deltas / completed
 * to results; end() waits for the server VAD's item, or commits the buffer
 * when turn detection is off. media.md 4.3; docs/speech-to-text.md. */
#include "stt/cloud.h"

#include "core/json.h"
#include "io/ws.h"

#include <math.h>
#include <string.h>

#define RT_DEFAULT_ENDPOINT "wss://api.openai.com"
#define RT_DEFAULT_MODEL    "gpt-4o-transcribe"
#define RT_MAX_PENDING      (2u * 1024u * 1024u)
#define RT_MAX_ATTEMPTS     3
#define RT_MAX_ITEMS        32

/* The event parser ---------------------------------------------------------- */

void Ccai_rt_msg_free(Ccai_rt_msg *m)
{
    if (!m)
        return;
    ccai_free(m->item_id);
    ccai_free(m->text);
    ccai_free(m->code);
    ccai_free(m->message);
    memset(m, 0, sizeof *m);
}

/* A string member copied into *out (absent or null: left NULL). false on
 * a wrong type or NOMEM (*nomem). */
static bool str_of(json_t *o, const char *k, char **out, bool *nomem)
{
    json_t *v = json_object_get(o, k);
    if (!v || json_is_null(v))
        return true;
    if (!json_is_string(v))
        return false;
    *out = Ccai_strndup(json_string_value(v), json_string_length(v));
    if (!*out)
        *nomem = true;
    return *out != NULL;
}

static bool int_of(json_t *o, const char *k, long *out)
{
    json_t *v = json_object_get(o, k);
    if (!v || json_is_null(v))
        return true;
    if (!json_is_integer(v))
        return false;
    *out = (long)json_integer_value(v);
    return true;
}

ccai_status Ccai_rt_parse(const char *s, size_t len, Ccai_rt_msg *m)
{
    memset(m, 0, sizeof *m);
    m->confidence = -1;
    if (len > CCAI_STT_MAX_MESSAGE)
        return CCAI_ERR_LIMIT;
    ccai_status st = CCAI_ERR_PARSE;
    Ccai_json_err err;
    json_t *root = Ccai_json_load(s, len, &err, &st);
    if (!root)
        return st;
    st = CCAI_ERR_PARSE;
    bool nomem = false;
    const char *type = json_string_value(json_object_get(root, "type"));
    if (!json_is_object(root) || !type)
        goto out;
    if (!str_of(root, "item_id", &m->item_id, &nomem))
        goto out;
    if (strcmp(type, "session.created") == 0 || strcmp(type, "session.updated") == 0 ||
        strcmp(type, "transcription_session.created") == 0 ||
        strcmp(type, "transcription_session.updated") == 0) {
        m->type = CCAI_RT_SESSION;
    } else if (strcmp(type, "input_audio_buffer.speech_started") == 0) {
        m->type = CCAI_RT_SPEECH_STARTED;
        if (!int_of(root, "audio_start_ms", &m->audio_start_ms))
            goto out;
    } else if (strcmp(type, "input_audio_buffer.speech_stopped") == 0) {
        m->type = CCAI_RT_SPEECH_STOPPED;
        if (!int_of(root, "audio_end_ms", &m->audio_end_ms))
            goto out;
    } else if (strcmp(type, "input_audio_buffer.committed") == 0) {
        m->type = CCAI_RT_COMMITTED;
    } else if (strcmp(type, "conversation.item.input_audio_transcription.delta") == 0) {
        m->type = CCAI_RT_DELTA;
        if (!str_of(root, "delta", &m->text, &nomem))
            goto out;
    } else if (strcmp(type, "conversation.item.input_audio_transcription.completed") == 0) {
        m->type = CCAI_RT_COMPLETED;
        if (!str_of(root, "transcript", &m->text, &nomem))
            goto out;
        /* logprobs (when asked for): the mean token probability. */
        json_t *lp = json_object_get(root, "logprobs");
        if (json_is_array(lp) && json_array_size(lp)) {
            double sum = 0;
            size_t n = 0, i;
            json_t *e;
            json_array_foreach(lp, i, e)
            {
                json_t *v = json_object_get(e, "logprob");
                if (json_is_number(v) && json_number_value(v) <= 0) {
                    sum += json_number_value(v);
                    n++;
                }
            }
            if (n) {
                /* The mean token probability, in [0,1]. */
                double p = exp(sum / (double)n);
                m->confidence = p < 0 ? 0 : p > 1 ? 1 : p;
            }
        }
    } else if (strcmp(type, "conversation.item.input_audio_transcription.failed") == 0 ||
               strcmp(type, "error") == 0) {
        m->type = type[0] == 'e' ? CCAI_RT_ERROR : CCAI_RT_FAILED;
        json_t *e = json_object_get(root, "error");
        if (e && !json_is_object(e))
            goto out;
        if (!str_of(e, "code", &m->code, &nomem) || !str_of(e, "message", &m->message, &nomem))
            goto out;
        if (!m->code && !str_of(e, "type", &m->code, &nomem))
            goto out;
    } else {
        m->type = CCAI_RT_UNKNOWN;
    }
    if ((m->type == CCAI_RT_DELTA || m->type == CCAI_RT_COMPLETED) && !m->text &&
        !(m->text = Ccai_strdup(""))) {
        nomem = true;
        goto out;
    }
    st = CCAI_OK;
out:
    json_decref(root);
    if (nomem)
        st = CCAI_ERR_NOMEM;
    if (st != CCAI_OK)
        Ccai_rt_msg_free(m);
    return st;
}

/* The stream ------------------------------------------------------------------- */

typedef struct rt_stream {
    Ccai_stt base;
    ccai_ctx *ctx;
    const Ccai_logger *log;
    Ccai_stt_queue q;
    char *url, *auth;
    char *session; /* the session.update event */
    char *prompt;  /* hints given before the upgrade */
    char lang[16];
    char model[64];
    bool vad; /* server VAD (else end() commits) */
    uint32_t connect_timeout_ms, result_timeout_ms;

    Ccai_ws *ws;
    bool opened;
    int attempts;
    Ccai_buf pending; /* audio before the upgrade */
    Ccai_buf ev;      /* an append event being built */
    Ccai_timer connect_timer, result_timer;

    bool speaking;     /* speech_started, not committed yet */
    bool buffered;     /* audio appended since the last commit / clear */
    int items;         /* committed, not completed */
    int awaiting;      /* end()s not answered */
    int discard;       /* completions to drop (cancel) */
    Ccai_buf delta;    /* the item's text so far */
    uint64_t appended; /* bytes of audio since the last commit */
    bool dead;
} rt_stream;

static void rt_destroy(Ccai_stt *s)
{
    rt_stream *t = (rt_stream *)s;
    Ccai_stt_queue_free(&t->q);
    ccai_free(t);
}

static void rt_release(rt_stream *t)
{
    Ccai_ws_free(t->ws);
    t->ws = NULL;
    Ccai_timer_stop(t->ctx, &t->connect_timer);
    Ccai_timer_stop(t->ctx, &t->result_timer);
    ccai_free(t->url);
    ccai_free(t->auth);
    ccai_free(t->session);
    ccai_free(t->prompt);
    t->url = t->auth = t->session = t->prompt = NULL;
    Ccai_buf_free(&t->pending);
    Ccai_buf_free(&t->ev);
    Ccai_buf_free(&t->delta);
}

static void rt_fail(rt_stream *t, ccai_status st, const char *msg)
{
    if (t->dead)
        return;
    t->dead = true;
    Ccai_log(t->log, CCAI_LOG_WARN, "stt openai-realtime: %s", msg);
    Ccai_ws_free(t->ws);
    t->ws = NULL;
    Ccai_timer_stop(t->ctx, &t->result_timer);
    Ccai_timer_stop(t->ctx, &t->connect_timer);
    Ccai_stt_queue_error(&t->q, st, true, "openai-realtime: %s", msg);
}

static uint32_t ms_of(const rt_stream *t, uint64_t bytes)
{
    size_t per_ms = Ccai_media_bytes_per_ms(&t->base.in, 1);
    return per_ms ? (uint32_t)(bytes / per_ms) : 0;
}

static void answer_end(rt_stream *t, const char *text, double conf)
{
    t->awaiting--;
    Ccai_stt_queue_text(&t->q, CCAI_STT_FINAL, text, conf, t->lang, true, ms_of(t, t->appended));
    if (!t->awaiting)
        Ccai_timer_stop(t->ctx, &t->result_timer);
}

static void on_result_timeout(Ccai_timer *tm, void *ud)
{
    rt_stream *t = ud;
    CCAI_UNUSED(tm);
    char msg[96];
    snprintf(msg, sizeof msg, "no transcription within %u ms of the end of speech",
             t->result_timeout_ms);
    rt_fail(t, CCAI_ERR_TIMEOUT, msg);
}

static ccai_status send_text(rt_stream *t, const char *s, size_t n)
{
    return t->ws ? Ccai_ws_send(t->ws, CCAI_WS_TEXT, s, n) : CCAI_ERR_STATE;
}

static ccai_status send_audio(rt_stream *t, const uint8_t *audio, size_t len)
{
    Ccai_buf_reset(&t->ev);
    if (!Ccai_buf_puts(&t->ev, "{\"type\":\"input_audio_buffer.append\",\"audio\":\"") ||
        !Ccai_buf_base64(&t->ev, audio, len) || !Ccai_buf_puts(&t->ev, "\"}"))
        return CCAI_ERR_NOMEM;
    ccai_status st = send_text(t, t->ev.data, t->ev.len);
    if (st == CCAI_OK) {
        t->buffered = true;
        t->appended += len;
    }
    return st;
}

/* The hints as the session's transcription prompt. */
static ccai_status send_prompt(rt_stream *t, const char *prompt)
{
    /* The whole transcription object: an update replaces it. */
    json_t *ev = json_pack("{s:s,s:{s:s,s:{s:{s:{s:s,s:s,s:s}}}}}", "type", "session.update",
                           "session", "type", "transcription", "audio", "input", "transcription",
                           "model", t->model, "language", t->lang, "prompt", prompt);
    char *text = ev ? Ccai_json_dump(ev, JSON_COMPACT) : NULL;
    json_decref(ev);
    if (!text)
        return CCAI_ERR_NOMEM;
    ccai_status st = send_text(t, text, strlen(text));
    ccai_free(text);
    return st;
}

static void rt_on_message(Ccai_ws *ws, int kind, const uint8_t *data, size_t len, void *ud)
{
    rt_stream *t = ud;
    CCAI_UNUSED(ws);
    if (kind != CCAI_WS_TEXT || t->dead)
        return;
    Ccai_rt_msg m;
    ccai_status st = Ccai_rt_parse((const char *)data, len, &m);
    if (st == CCAI_ERR_NOMEM) {
        rt_fail(t, st, "out of memory");
        return;
    }
    if (st != CCAI_OK) {
        Ccai_log(t->log, CCAI_LOG_WARN, "stt openai-realtime: unreadable event (%zu bytes)", len);
        Ccai_stt_queue_error(&t->q, st, false, "openai-realtime: an unreadable event (%zu bytes)",
                             len);
        return;
    }
    switch (m.type) {
    case CCAI_RT_SPEECH_STARTED:
        t->speaking = true;
        if (!t->discard)
            Ccai_stt_queue_text(&t->q, CCAI_STT_SPEECH_STARTED, "", -1, NULL, false, 0);
        break;
    case CCAI_RT_COMMITTED:
        t->speaking = false;
        t->buffered = false;
        if (t->items < RT_MAX_ITEMS)
            t->items++;
        break;
    case CCAI_RT_DELTA:
        if (t->discard)
            break;
        if (!Ccai_buf_puts(&t->delta, m.text)) {
            rt_fail(t, CCAI_ERR_NOMEM, "out of memory");
            break;
        }
        Ccai_stt_queue_text(&t->q, CCAI_STT_PARTIAL, t->delta.data, -1, t->lang, false, 0);
        break;
    case CCAI_RT_COMPLETED:
    case CCAI_RT_FAILED:
        if (t->items)
            t->items--;
        Ccai_buf_reset(&t->delta);
        if (t->discard) {
            t->discard--;
            break;
        }
        if (m.type == CCAI_RT_FAILED) {
            Ccai_stt_queue_error(&t->q, CCAI_ERR_HTTP, false,
                                 "openai-realtime: the transcription failed (%.100s: %.200s)",
                                 m.code ? m.code : "", m.message ? m.message : "");
            if (t->awaiting && !--t->awaiting)
                Ccai_timer_stop(t->ctx, &t->result_timer);
        } else if (t->awaiting) {
            answer_end(t, m.text, m.confidence);
        } else {
            Ccai_stt_queue_text(&t->q, CCAI_STT_FINAL, m.text, m.confidence, t->lang, false,
                                ms_of(t, t->appended));
        }
        t->appended = 0;
        break;
    case CCAI_RT_ERROR:
        if (m.code && strcmp(m.code, "input_audio_buffer_commit_empty") == 0 && t->awaiting) {
            answer_end(t, "", -1); /* nothing to transcribe */
            break;
        } else {
            char msg[400];
            snprintf(msg, sizeof msg, "error from the service (%.100s: %.200s)",
                     m.code ? m.code : "", m.message ? m.message : "");
            rt_fail(t, CCAI_ERR_HTTP, msg);
        }
        break;
    default: break;
    }
    Ccai_rt_msg_free(&m);
}

static void rt_on_open(Ccai_ws *ws, void *ud)
{
    rt_stream *t = ud;
    t->opened = true;
    if (Ccai_ws_send(ws, CCAI_WS_TEXT, t->session, strlen(t->session)) != CCAI_OK) {
        rt_fail(t, CCAI_ERR_NOMEM, "cannot send session.update");
        return;
    }
    if (t->prompt && send_prompt(t, t->prompt) != CCAI_OK) {
        rt_fail(t, CCAI_ERR_NOMEM, "cannot send the prompt");
        return;
    }
    if (t->pending.len) {
        Ccai_buf held = t->pending;
        memset(&t->pending, 0, sizeof t->pending);
        ccai_status st = send_audio(t, (const uint8_t *)held.data, held.len);
        Ccai_buf_free(&held);
        if (st != CCAI_OK) {
            rt_fail(t, st, "cannot send the audio held during the connect");
            return;
        }
    }
    /* end()s made before the upgrade. */
    if (t->awaiting && !t->vad && send_text(t, "{\"type\":\"input_audio_buffer.commit\"}", 36))
        rt_fail(t, CCAI_ERR_NOMEM, "cannot commit");
}

static void rt_on_close(Ccai_ws *ws, const Ccai_ws_end *e, void *ud)
{
    rt_stream *t = ud;
    CCAI_UNUSED(ws);
    Ccai_ws_free(t->ws);
    t->ws = NULL;
    if (t->dead)
        return;
    Ccai_stt_ws_outcome o;
    Ccai_stt_ws_judge(e, t->opened, t->attempts, RT_MAX_ATTEMPTS, "session", &o);
    if (o.retry) {
        Ccai_timer_start(t->ctx, &t->connect_timer, o.wait_ms);
        return;
    }
    rt_fail(t, o.st, o.msg);
}

static void rt_connect(rt_stream *t)
{
    t->attempts++;
    const char *headers[] = {t->auth, NULL};
    Ccai_ws_opts o = {
        .url = t->url,
        .headers = headers,
        .connect_timeout_ms = t->connect_timeout_ms,
        .max_message = CCAI_STT_MAX_MESSAGE,
        .max_out = RT_MAX_PENDING * 2,
        .on_open = rt_on_open,
        .on_message = rt_on_message,
        .on_close = rt_on_close,
        .ud = t,
    };
    ccai_status st = Ccai_ws_connect(t->ctx, &o, &t->ws);
    if (st != CCAI_OK)
        rt_fail(t, st, "cannot start the connection");
}

static void on_connect_timer(Ccai_timer *tm, void *ud)
{
    CCAI_UNUSED(tm);
    rt_connect(ud);
}

/* The session.update event (hints: the transcription prompt). */
static ccai_status build_session(rt_stream *t, const Ccai_stt_config *cfg, const char *prompt,
                                 json_t *extra, char **out)
{
    json_t *fmt =
        t->base.in.encoding == CCAI_MEDIA_PCM16
            ? json_pack("{s:s,s:i}", "type", "audio/pcm", "rate", 24000)
            : json_pack("{s:s}", "type",
                        t->base.in.encoding == CCAI_MEDIA_ULAW ? "audio/pcmu" : "audio/pcma");
    snprintf(t->model, sizeof t->model, "%s",
             cfg->model && *cfg->model ? cfg->model : RT_DEFAULT_MODEL);
    json_t *tr = json_pack("{s:s}", "model", t->model);
    if (tr && t->lang[0])
        json_object_set_new(tr, "language", json_string(t->lang));
    if (tr && prompt && *prompt)
        json_object_set_new(tr, "prompt", json_string(prompt));
    json_t *td = json_pack("{s:s,s:f,s:i,s:i}", "type", "server_vad", "threshold", 0.5,
                           "prefix_padding_ms", 300, "silence_duration_ms", 500);
    json_t *input =
        json_pack("{s:o,s:o,s:o}", "format", fmt, "transcription", tr, "turn_detection", td);
    if (input && extra)
        json_object_update(input, extra);
    json_t *ev = json_pack("{s:s,s:{s:s,s:{s:o}}}", "type", "session.update", "session", "type",
                           "transcription", "audio", "input", input);
    if (!ev)
        return CCAI_ERR_NOMEM;
    json_t *tdv = json_object_get(input, "turn_detection");
    t->vad = tdv && !json_is_null(tdv);
    *out = Ccai_json_dump(ev, JSON_COMPACT);
    json_decref(ev);
    return *out ? CCAI_OK : CCAI_ERR_NOMEM;
}

static ccai_status rt_open(ccai_ctx *ctx, const Ccai_stt_config *cfg, const Ccai_stt_open *o,
                           Ccai_stt **ret)
{
    if (!cfg->api_key || !*cfg->api_key) {
        Ccai_ctx_set_error(ctx, "speech.stt.openai-realtime.api_key is required");
        return CCAI_ERR_CONFIG;
    }
    const char *ep = cfg->endpoint && *cfg->endpoint ? cfg->endpoint : RT_DEFAULT_ENDPOINT;
    if (strncmp(ep, "ws://", 5) && strncmp(ep, "wss://", 6) && strncmp(ep, "http://", 7) &&
        strncmp(ep, "https://", 8)) {
        Ccai_ctx_set_error(ctx, "speech.stt.openai-realtime.endpoint: not a URL");
        return CCAI_ERR_CONFIG;
    }
    json_t *extra = NULL;
    if (cfg->options && *cfg->options) {
        ccai_status pst = CCAI_ERR_PARSE;
        Ccai_json_err err;
        extra = Ccai_json_load(cfg->options, strlen(cfg->options), &err, &pst);
        if (!extra && pst == CCAI_ERR_NOMEM)
            return CCAI_ERR_NOMEM;
        if (!json_is_object(extra)) {
            json_decref(extra);
            Ccai_ctx_set_error(ctx, "speech.stt.openai-realtime.options: a JSON object "
                                    "(merged into session.audio.input)");
            return CCAI_ERR_CONFIG;
        }
    }
    rt_stream *t = Ccai_calloc(1, sizeof *t);
    if (!t) {
        json_decref(extra);
        return CCAI_ERR_NOMEM;
    }
    t->base.provider = &Ccai_stt_openai_realtime;
    t->ctx = ctx;
    t->log = o->log ? o->log : Ccai_ctx_logger(ctx);
    t->connect_timeout_ms = cfg->connect_timeout_ms ? cfg->connect_timeout_ms : 5000;
    t->result_timeout_ms = cfg->result_timeout_ms ? cfg->result_timeout_ms : 5000;
    Ccai_stt_lang_primary(o->lang, t->lang, sizeof t->lang);
    Ccai_stt_queue_init(&t->q, ctx, &t->base, o, rt_destroy);
    Ccai_timer_init(&t->connect_timer, on_connect_timer, t);
    Ccai_timer_init(&t->result_timer, on_result_timeout, t);
    /* G.711 goes as the call has it; anything else as PCM16 at 24 kHz,
     * the one PCM rate the service takes. */
    if (o->call_in.encoding == CCAI_MEDIA_ULAW || o->call_in.encoding == CCAI_MEDIA_ALAW)
        t->base.in = (Ccai_media_format){o->call_in.encoding, 8000, 1};
    else
        t->base.in = (Ccai_media_format){CCAI_MEDIA_PCM16, 24000, 1};

    Ccai_buf u = {0}, a = {0};
    size_t eplen = strlen(ep);
    while (eplen && ep[eplen - 1] == '/')
        eplen--;
    bool ok = strncmp(ep, "http", 4) == 0 ? Ccai_buf_printf(&u, "ws%.*s", (int)(eplen - 4), ep + 4)
                                          : Ccai_buf_printf(&u, "%.*s", (int)eplen, ep);
    ok = ok && Ccai_buf_puts(&u, "/v1/realtime?intent=transcription") &&
         Ccai_buf_printf(&a, "Authorization: Bearer %s", cfg->api_key);
    t->url = ok ? Ccai_buf_steal(&u) : NULL;
    t->auth = ok ? Ccai_buf_steal(&a) : NULL;
    Ccai_buf_free(&u);
    Ccai_buf_free(&a);
    ccai_status st =
        t->url && t->auth ? build_session(t, cfg, NULL, extra, &t->session) : CCAI_ERR_NOMEM;
    json_decref(extra);
    if (st != CCAI_OK) {
        rt_release(t);
        rt_destroy(&t->base);
        return st;
    }
    Ccai_timer_start(ctx, &t->connect_timer, 0);
    *ret = &t->base;
    return CCAI_OK;
}

static ccai_status rt_feed(Ccai_stt *s, const uint8_t *audio, size_t len)
{
    rt_stream *t = (rt_stream *)s;
    if (t->dead)
        return CCAI_ERR_STATE;
    if (!len)
        return CCAI_OK;
    if (!t->opened) {
        if (t->pending.len + len > RT_MAX_PENDING)
            return CCAI_ERR_LIMIT;
        return Ccai_buf_append(&t->pending, audio, len) ? CCAI_OK : CCAI_ERR_NOMEM;
    }
    return send_audio(t, audio, len);
}

static ccai_status rt_end(Ccai_stt *s)
{
    rt_stream *t = (rt_stream *)s;
    if (t->dead)
        return CCAI_ERR_STATE;
    if (t->vad) {
        /* The server's VAD makes the item; nothing in flight: nothing heard
         * (or its FINAL already came). */
        if (!t->speaking && t->items <= t->discard && !t->awaiting) {
            Ccai_stt_queue_text(&t->q, CCAI_STT_FINAL, "", -1, t->lang, true, 0);
            return CCAI_OK;
        }
    } else {
        if (!t->buffered && !t->pending.len && t->items <= t->discard && !t->awaiting) {
            Ccai_stt_queue_text(&t->q, CCAI_STT_FINAL, "", -1, t->lang, true, 0);
            return CCAI_OK;
        }
        if (t->opened && (t->buffered || t->pending.len) &&
            send_text(t, "{\"type\":\"input_audio_buffer.commit\"}", 36) != CCAI_OK)
            return CCAI_ERR_NOMEM;
        t->buffered = false;
    }
    t->awaiting++;
    if (!Ccai_timer_active(&t->result_timer))
        Ccai_timer_start(t->ctx, &t->result_timer, t->result_timeout_ms);
    return CCAI_OK;
}

static void rt_cancel(Ccai_stt *s)
{
    rt_stream *t = (rt_stream *)s;
    if (t->dead)
        return;
    /* Items made and not transcribed yet, and the one being spoken. */
    t->discard = t->items + (t->speaking ? 1 : 0);
    t->speaking = false;
    t->awaiting = 0;
    Ccai_timer_stop(t->ctx, &t->result_timer);
    Ccai_buf_reset(&t->delta);
    if (!t->opened) {
        Ccai_buf_reset(&t->pending);
        return;
    }
    if (t->buffered && send_text(t, "{\"type\":\"input_audio_buffer.clear\"}", 35) == CCAI_OK) {
        t->buffered = false;
        if (t->discard > t->items)
            t->discard = t->items; /* the spoken one is cleared, never committed */
    }
    t->appended = 0;
}

static ccai_status rt_expect(Ccai_stt *s, const Ccai_stt_expect *e)
{
    rt_stream *t = (rt_stream *)s;
    if (t->dead)
        return CCAI_ERR_STATE;
    Ccai_buf p = {0};
    bool ok = Ccai_buf_puts(&p, "");
    for (const char *const *h = e && e->hints ? e->hints : NULL; ok && h && *h; h++)
        ok = Ccai_buf_printf(&p, "%s%s", p.len ? ", " : "", *h);
    for (size_t i = 0; ok && e && e->kind == CCAI_STT_CHOICE && i < e->n_choices; i++)
        ok = Ccai_buf_printf(&p, "%s%s", p.len ? ", " : "", e->choices[i]);
    if (!ok) {
        Ccai_buf_free(&p);
        return CCAI_ERR_NOMEM;
    }
    if (!t->opened) { /* sent after the session.update */
        ccai_free(t->prompt);
        t->prompt = Ccai_buf_steal(&p);
        return t->prompt ? CCAI_OK : CCAI_ERR_NOMEM;
    }
    ccai_status st = send_prompt(t, p.data);
    Ccai_buf_free(&p);
    return st;
}

static void rt_close(Ccai_stt *s)
{
    if (!s)
        return;
    rt_stream *t = (rt_stream *)s;
    rt_release(t);
    if (Ccai_stt_queue_close(&t->q))
        rt_destroy(s);
}

static bool rt_speaks(const Ccai_stt_config *cfg, const char *lang)
{
    CCAI_UNUSED(cfg);
    return lang && *lang; /* the models are multilingual */
}

const Ccai_stt_provider Ccai_stt_openai_realtime = {
    .name = "openai-realtime",
    .caps = CCAI_STT_STREAMING | CCAI_STT_ENDPOINTING | CCAI_STT_PARTIALS | CCAI_STT_HINTS,
    .speaks = rt_speaks,
    .open = rt_open,
    .feed = rt_feed,
    .end = rt_end,
    .cancel = rt_cancel,
    .expect = rt_expect,
    .close = rt_close,
};
