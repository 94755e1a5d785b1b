/* OpenAI Realtime transcription sessions
 * (wss://api.openai.com/v1/realtime?intent=transcription) behind
 * stt/stt.h: session.update (a transcription session: the input format,
 * the model, language and prompt, server VAD), the audio as
 * input_audio_buffer.append (base64 of G.711 at 8 kHz as the call has it,
 * else PCM16 at 24 kHz), speech_started / transcription deltas / completed
 * to results; end() waits for the server VAD's item, or commits the buffer
 * when turn detection is off. media.md 4.3; docs/speech-to-text.md. */
#include "stt/live.h"

#include "core/json.h"
#include "io/ws.h"

#include <math.h>
#include <string.h>

#define RT_DEFAULT_ENDPOINT "wss://api.openai.com"
#define RT_DEFAULT_MODEL    "gpt-4o-transcribe"
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

ccai_status Ccai_rt_parse(const char *s, size_t len, Ccai_rt_msg *m)
{
    memset(m, 0, sizeof *m);
    m->confidence = -1;
    ccai_status st;
    json_t *root = Ccai_stt_json_load(s, len, &st);
    if (!root)
        return st;
    st = CCAI_ERR_PARSE;
    bool nomem = false;
    const char *type = json_string_value(json_object_get(root, "type"));
    if (!json_is_object(root) || !type)
        goto out;
    if (!Ccai_stt_json_str(root, "item_id", &m->item_id, &nomem))
        goto out;
    if (strcmp(type, "session.created") == 0 || strcmp(type, "session.updated") == 0 ||
        strcmp(type, "transcription_session.created") == 0 ||
        strcmp(type, "transcription_session.updated") == 0) {
        m->type = CCAI_RT_SESSION;
    } else if (strcmp(type, "input_audio_buffer.speech_started") == 0) {
        m->type = CCAI_RT_SPEECH_STARTED;
        if (!Ccai_stt_json_int(root, "audio_start_ms", &m->audio_start_ms))
            goto out;
    } else if (strcmp(type, "input_audio_buffer.speech_stopped") == 0) {
        m->type = CCAI_RT_SPEECH_STOPPED;
        if (!Ccai_stt_json_int(root, "audio_end_ms", &m->audio_end_ms))
            goto out;
    } else if (strcmp(type, "input_audio_buffer.committed") == 0) {
        m->type = CCAI_RT_COMMITTED;
    } else if (strcmp(type, "conversation.item.input_audio_transcription.delta") == 0) {
        m->type = CCAI_RT_DELTA;
        if (!Ccai_stt_json_str(root, "delta", &m->text, &nomem))
            goto out;
    } else if (strcmp(type, "conversation.item.input_audio_transcription.completed") == 0) {
        m->type = CCAI_RT_COMPLETED;
        if (!Ccai_stt_json_str(root, "transcript", &m->text, &nomem))
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
        if (!Ccai_stt_json_str(e, "code", &m->code, &nomem) ||
            !Ccai_stt_json_str(e, "message", &m->message, &nomem))
            goto out;
        if (!m->code && !Ccai_stt_json_str(e, "type", &m->code, &nomem))
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
    Ccai_stt_live l;
    char *session; /* the session.update event */
    char *prompt;  /* hints given before the upgrade */
    char lang[16];
    char model[64];
    bool vad;    /* server VAD (else end() commits) */
    Ccai_buf ev; /* an append event being built */

    bool speaking;     /* speech_started, not committed yet */
    bool buffered;     /* audio appended since the last commit / clear */
    int items;         /* committed, not completed */
    int awaiting;      /* end()s not answered */
    int discard;       /* completions to drop (cancel) */
    Ccai_buf delta;    /* the item's text so far */
    uint64_t appended; /* bytes of audio since the last commit */
} rt_stream;

static void rt_release(Ccai_stt_live *l)
{
    rt_stream *t = (rt_stream *)l;
    ccai_free(t->session);
    ccai_free(t->prompt);
    t->session = t->prompt = NULL;
    Ccai_buf_free(&t->ev);
    Ccai_buf_free(&t->delta);
}

static void answer_end(rt_stream *t, const char *text, double conf)
{
    t->awaiting--;
    Ccai_stt_queue_text(&t->l.q, CCAI_STT_FINAL, text, conf, t->lang, true,
                        Ccai_stt_live_ms(&t->l, t->appended));
    if (!t->awaiting)
        Ccai_timer_stop(t->l.ctx, &t->l.result_timer);
}

static ccai_status send_text(rt_stream *t, const char *s, size_t n)
{
    return t->l.ws ? Ccai_ws_send(t->l.ws, CCAI_WS_TEXT, s, n) : CCAI_ERR_STATE;
}

static ccai_status rt_send(Ccai_stt_live *l, const uint8_t *audio, size_t len)
{
    rt_stream *t = (rt_stream *)l;
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

static void rt_message(Ccai_stt_live *l, const char *data, size_t len)
{
    rt_stream *t = (rt_stream *)l;
    Ccai_rt_msg m;
    ccai_status st = Ccai_rt_parse(data, len, &m);
    if (st != CCAI_OK) {
        Ccai_stt_live_unreadable(l, st, len);
        return;
    }
    switch (m.type) {
    case CCAI_RT_SPEECH_STARTED:
        t->speaking = true;
        if (!t->discard)
            Ccai_stt_queue_text(&t->l.q, CCAI_STT_SPEECH_STARTED, "", -1, NULL, false, 0);
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
            Ccai_stt_live_fail(&t->l, CCAI_ERR_NOMEM, "out of memory");
            break;
        }
        Ccai_stt_queue_text(&t->l.q, CCAI_STT_PARTIAL, t->delta.data, -1, t->lang, false, 0);
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
            Ccai_stt_queue_error(&t->l.q, CCAI_ERR_HTTP, false,
                                 "openai-realtime: the transcription failed (%.100s: %.200s)",
                                 m.code ? m.code : "", m.message ? m.message : "");
            if (t->awaiting && !--t->awaiting)
                Ccai_timer_stop(t->l.ctx, &t->l.result_timer);
        } else if (t->awaiting) {
            answer_end(t, m.text, m.confidence);
        } else {
            Ccai_stt_queue_text(&t->l.q, CCAI_STT_FINAL, m.text, m.confidence, t->lang, false,
                                Ccai_stt_live_ms(&t->l, t->appended));
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
            Ccai_stt_live_fail(&t->l, CCAI_ERR_HTTP, msg);
        }
        break;
    default: break;
    }
    Ccai_rt_msg_free(&m);
}

static void rt_on_open(Ccai_stt_live *l)
{
    rt_stream *t = (rt_stream *)l;
    if (Ccai_ws_send(l->ws, CCAI_WS_TEXT, t->session, strlen(t->session)) != CCAI_OK) {
        Ccai_stt_live_fail(l, CCAI_ERR_NOMEM, "cannot send session.update");
        return;
    }
    if (t->prompt && send_prompt(t, t->prompt) != CCAI_OK) {
        Ccai_stt_live_fail(l, CCAI_ERR_NOMEM, "cannot send the prompt");
        return;
    }
    if (!Ccai_stt_live_flush(l))
        return;
    /* end()s made before the upgrade. */
    if (t->awaiting && !t->vad && send_text(t, "{\"type\":\"input_audio_buffer.commit\"}", 36))
        Ccai_stt_live_fail(l, CCAI_ERR_NOMEM, "cannot commit");
}

/* The session.update event (hints: the transcription prompt). */
static ccai_status build_session(rt_stream *t, const Ccai_stt_config *cfg, const char *prompt,
                                 json_t *extra, char **out)
{
    json_t *fmt =
        t->l.base.in.encoding == CCAI_MEDIA_PCM16
            ? json_pack("{s:s,s:i}", "type", "audio/pcm", "rate", 24000)
            : json_pack("{s:s}", "type",
                        t->l.base.in.encoding == CCAI_MEDIA_ULAW ? "audio/pcmu" : "audio/pcma");
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

static const Ccai_stt_live_class rt_class = {
    .provider = &Ccai_stt_openai_realtime,
    .name = "openai-realtime",
    .endpoint = RT_DEFAULT_ENDPOINT,
    .what = "session",
    .unit = "event",
    .no_result = "no transcription",
    .open = rt_on_open,
    .message = rt_message,
    .send = rt_send,
    .release = rt_release,
};

static ccai_status rt_open(ccai_ctx *ctx, const Ccai_stt_config *cfg, const Ccai_stt_open *o,
                           Ccai_stt **ret)
{
    Ccai_buf u = {0}, a = {0};
    ccai_status st = Ccai_stt_live_base_url(ctx, &rt_class, cfg, &u);
    if (st != CCAI_OK) {
        Ccai_buf_free(&u);
        return st;
    }
    json_t *extra = NULL;
    if (cfg->options && *cfg->options) {
        ccai_status pst = CCAI_ERR_PARSE;
        Ccai_json_err err;
        extra = Ccai_json_load(cfg->options, strlen(cfg->options), &err, &pst);
        if (!extra && pst == CCAI_ERR_NOMEM) {
            Ccai_buf_free(&u);
            return CCAI_ERR_NOMEM;
        }
        if (!json_is_object(extra)) {
            json_decref(extra);
            Ccai_buf_free(&u);
            Ccai_ctx_set_error(ctx, "speech.stt.openai-realtime.options: a JSON object "
                                    "(merged into session.audio.input)");
            return CCAI_ERR_CONFIG;
        }
    }
    rt_stream *t = Ccai_calloc(1, sizeof *t);
    if (!t) {
        json_decref(extra);
        Ccai_buf_free(&u);
        return CCAI_ERR_NOMEM;
    }
    Ccai_stt_live_init(&t->l, ctx, &rt_class, cfg, o);
    Ccai_stt_lang_primary(o->lang, t->lang, sizeof t->lang);
    /* G.711 goes as the call has it; anything else as PCM16 at 24 kHz,
     * the one PCM rate the service takes. */
    if (o->call_in.encoding == CCAI_MEDIA_ULAW || o->call_in.encoding == CCAI_MEDIA_ALAW)
        t->l.base.in = (Ccai_media_format){o->call_in.encoding, 8000, 1};
    else
        t->l.base.in = (Ccai_media_format){CCAI_MEDIA_PCM16, 24000, 1};

    bool ok = Ccai_buf_puts(&u, "/v1/realtime?intent=transcription") &&
              Ccai_buf_printf(&a, "Authorization: Bearer %s", cfg->api_key);
    t->l.url = ok ? Ccai_buf_steal(&u) : NULL;
    t->l.auth = ok ? Ccai_buf_steal(&a) : NULL;
    Ccai_buf_free(&u);
    Ccai_buf_free(&a);
    st = t->l.url && t->l.auth ? build_session(t, cfg, NULL, extra, &t->session) : CCAI_ERR_NOMEM;
    json_decref(extra);
    if (st != CCAI_OK) {
        Ccai_stt_live_discard(&t->l);
        return st;
    }
    return Ccai_stt_live_start(&t->l, ret);
}

static ccai_status rt_end(Ccai_stt *s)
{
    rt_stream *t = (rt_stream *)s;
    if (t->l.dead)
        return CCAI_ERR_STATE;
    if (t->vad) {
        /* The server's VAD makes the item; nothing in flight: nothing heard
         * (or its FINAL already came). */
        if (!t->speaking && t->items <= t->discard && !t->awaiting) {
            Ccai_stt_queue_text(&t->l.q, CCAI_STT_FINAL, "", -1, t->lang, true, 0);
            return CCAI_OK;
        }
    } else {
        if (!t->buffered && !t->l.pending.len && t->items <= t->discard && !t->awaiting) {
            Ccai_stt_queue_text(&t->l.q, CCAI_STT_FINAL, "", -1, t->lang, true, 0);
            return CCAI_OK;
        }
        if (t->l.opened && (t->buffered || t->l.pending.len) &&
            send_text(t, "{\"type\":\"input_audio_buffer.commit\"}", 36) != CCAI_OK)
            return CCAI_ERR_NOMEM;
        t->buffered = false;
    }
    t->awaiting++;
    Ccai_stt_live_await(&t->l);
    return CCAI_OK;
}

static void rt_cancel(Ccai_stt *s)
{
    rt_stream *t = (rt_stream *)s;
    if (t->l.dead)
        return;
    /* Items made and not transcribed yet, and the one being spoken. */
    t->discard = t->items + (t->speaking ? 1 : 0);
    t->speaking = false;
    t->awaiting = 0;
    Ccai_timer_stop(t->l.ctx, &t->l.result_timer);
    Ccai_buf_reset(&t->delta);
    if (!t->l.opened) {
        Ccai_buf_reset(&t->l.pending);
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
    if (t->l.dead)
        return CCAI_ERR_STATE;
    Ccai_buf p = {0};
    if (!Ccai_stt_hints_text(e, &p)) {
        Ccai_buf_free(&p);
        return CCAI_ERR_NOMEM;
    }
    if (!t->l.opened) { /* sent after the session.update */
        ccai_free(t->prompt);
        t->prompt = Ccai_buf_steal(&p);
        return t->prompt ? CCAI_OK : CCAI_ERR_NOMEM;
    }
    ccai_status st = send_prompt(t, p.data);
    Ccai_buf_free(&p);
    return st;
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
    .feed = Ccai_stt_live_feed,
    .end = rt_end,
    .cancel = rt_cancel,
    .expect = rt_expect,
    .close = Ccai_stt_live_close,
};
