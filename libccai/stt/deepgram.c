/* Deepgram live transcription (wss://api.deepgram.com/v1/listen) behind
 * stt/stt.h: the call's audio as binary messages, results as they come
 * (interim -> PARTIAL, is_final pieces gathered, speech_final or
 * UtteranceEnd -> FINAL, SpeechStarted), Finalize for end(), KeepAlive while
 * no audio flows, CloseStream on close. media.md 4.1; docs/speech-to-text.md. */
#include "stt/live.h"

#include "core/json.h"
#include "io/ws.h"

#include <string.h>

#define DG_DEFAULT_ENDPOINT "wss://api.deepgram.com"
#define DG_DEFAULT_MODEL    "nova-3"
#define DG_KEEPALIVE_MS     4000u
#define DG_MAX_HINTS        50

/* The message parser -------------------------------------------------------- */

void Ccai_dg_msg_free(Ccai_dg_msg *m)
{
    if (!m)
        return;
    ccai_free(m->transcript);
    ccai_free(m->lang);
    ccai_free(m->description);
    memset(m, 0, sizeof *m);
}

ccai_status Ccai_dg_parse(const char *s, size_t len, Ccai_dg_msg *m)
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
    if (strcmp(type, "Results") == 0) {
        m->type = CCAI_DG_RESULTS;
        if (!Ccai_stt_json_bool(root, "is_final", &m->is_final) ||
            !Ccai_stt_json_bool(root, "speech_final", &m->speech_final) ||
            !Ccai_stt_json_bool(root, "from_finalize", &m->from_finalize) ||
            !Ccai_stt_json_num(root, "start", &m->start) ||
            !Ccai_stt_json_num(root, "duration", &m->duration))
            goto out;
        json_t *ch = json_object_get(root, "channel");
        json_t *alts = json_object_get(ch, "alternatives");
        if (ch && !json_is_object(ch))
            goto out;
        if (alts && !json_is_array(alts))
            goto out;
        json_t *alt = json_array_get(alts, 0);
        if (alt && !json_is_object(alt))
            goto out;
        if (alt) {
            if (!Ccai_stt_json_str(alt, "transcript", &m->transcript, &nomem) ||
                !Ccai_stt_json_num(alt, "confidence", &m->confidence))
                goto out;
            json_t *langs = json_object_get(alt, "languages");
            json_t *l0 = json_array_get(langs, 0);
            if (json_is_string(l0) && !(m->lang = Ccai_strdup(json_string_value(l0)))) {
                nomem = true;
                goto out;
            }
        }
        if (!m->lang && !Ccai_stt_json_str(root, "detected_language", &m->lang, &nomem))
            goto out;
        if (!m->transcript && !(m->transcript = Ccai_strdup(""))) {
            nomem = true;
            goto out;
        }
        if (m->confidence > 1 || m->confidence < 0)
            m->confidence = m->confidence > 1 ? 1 : -1;
    } else if (strcmp(type, "SpeechStarted") == 0) {
        m->type = CCAI_DG_SPEECH_STARTED;
        if (!Ccai_stt_json_num(root, "timestamp", &m->start))
            goto out;
    } else if (strcmp(type, "UtteranceEnd") == 0) {
        m->type = CCAI_DG_UTTERANCE_END;
        if (!Ccai_stt_json_num(root, "last_word_end", &m->start))
            goto out;
    } else if (strcmp(type, "Metadata") == 0) {
        m->type = CCAI_DG_METADATA;
    } else if (strcmp(type, "Error") == 0) {
        m->type = CCAI_DG_ERROR;
        if (!Ccai_stt_json_str(root, "description", &m->description, &nomem) ||
            (!m->description && !Ccai_stt_json_str(root, "message", &m->description, &nomem)))
            goto out;
    } else {
        m->type = CCAI_DG_UNKNOWN;
    }
    st = CCAI_OK;
out:
    json_decref(root);
    if (nomem)
        st = CCAI_ERR_NOMEM;
    if (st != CCAI_OK)
        Ccai_dg_msg_free(m);
    return st;
}

/* The stream ------------------------------------------------------------------ */

typedef struct dg_stream {
    Ccai_stt_live l; /* url without the hints (query_tail); Authorization: Token <key> */
    bool keyterm;
    Ccai_timer keepalive;
    uint64_t last_send;

    uint64_t bytes_sent;
    double covered_s; /* audio the final results covered */
    Ccai_buf acc;     /* is_final pieces of the utterance */
    double conf_sum;
    int conf_n;
    char lang[36];
    bool partial; /* interim words not final yet */
    int awaiting; /* end()s not answered */
    bool discard; /* cancel(): results until the Finalize answer are dropped */
} dg_stream;

static void dg_halt(Ccai_stt_live *l)
{
    Ccai_timer_stop(l->ctx, &((dg_stream *)l)->keepalive);
}

static void dg_release(Ccai_stt_live *l)
{
    dg_halt(l);
    Ccai_buf_free(&((dg_stream *)l)->acc);
}

static void deliver_final(dg_stream *g, bool from_end)
{
    double conf = g->conf_n ? g->conf_sum / g->conf_n : -1;
    Ccai_stt_queue_text(&g->l.q, CCAI_STT_FINAL, g->acc.data ? g->acc.data : "", conf,
                        g->lang[0] ? g->lang : NULL, from_end, 0);
    Ccai_buf_reset(&g->acc);
    g->conf_sum = 0;
    g->conf_n = 0;
    g->partial = false;
}

/* The FINAL that answers an end(). */
static void answer_end(dg_stream *g)
{
    g->awaiting--;
    deliver_final(g, true);
    if (!g->awaiting)
        Ccai_timer_stop(g->l.ctx, &g->l.result_timer);
}

static ccai_status send_json(dg_stream *g, const char *json)
{
    if (!g->l.ws)
        return CCAI_ERR_STATE;
    ccai_status st = Ccai_ws_send(g->l.ws, CCAI_WS_TEXT, json, strlen(json));
    if (st == CCAI_OK)
        g->last_send = Ccai_ctx_now(g->l.ctx);
    return st;
}

static ccai_status dg_send(Ccai_stt_live *l, const uint8_t *audio, size_t len)
{
    dg_stream *g = (dg_stream *)l;
    if (!l->ws)
        return CCAI_ERR_STATE;
    ccai_status st = Ccai_ws_send(l->ws, CCAI_WS_BINARY, audio, len);
    if (st == CCAI_OK) {
        g->bytes_sent += len;
        g->last_send = Ccai_ctx_now(l->ctx);
    }
    return st;
}

static void on_results(dg_stream *g, const Ccai_dg_msg *m)
{
    if (m->is_final && m->start + m->duration > g->covered_s)
        g->covered_s = m->start + m->duration;
    if (g->discard) {
        if (m->from_finalize)
            g->discard = false;
        return;
    }
    if (m->lang)
        snprintf(g->lang, sizeof g->lang, "%s", m->lang);
    const char *t = m->transcript;
    if (!m->is_final) {
        if (!*t)
            return;
        g->partial = true;
        Ccai_buf text = {0};
        bool ok = Ccai_buf_printf(&text, "%s%s%s", g->acc.data ? g->acc.data : "",
                                  g->acc.len ? " " : "", t);
        if (ok)
            Ccai_stt_queue_text(&g->l.q, CCAI_STT_PARTIAL, text.data, m->confidence,
                                g->lang[0] ? g->lang : NULL, false, 0);
        Ccai_buf_free(&text);
        return;
    }
    if (*t) {
        if ((g->acc.len && !Ccai_buf_puts(&g->acc, " ")) || !Ccai_buf_puts(&g->acc, t)) {
            Ccai_stt_live_fail(&g->l, CCAI_ERR_NOMEM, "out of memory");
            return;
        }
        if (m->confidence >= 0) {
            g->conf_sum += m->confidence;
            g->conf_n++;
        }
    }
    g->partial = false;
    if (g->awaiting && (m->from_finalize || m->speech_final))
        answer_end(g);
    else if (m->speech_final && g->acc.len)
        deliver_final(g, false);
}

static void dg_message(Ccai_stt_live *l, const char *data, size_t len)
{
    dg_stream *g = (dg_stream *)l;
    Ccai_dg_msg m;
    ccai_status st = Ccai_dg_parse(data, len, &m);
    if (st != CCAI_OK) {
        Ccai_stt_live_unreadable(l, st, len);
        return;
    }
    switch (m.type) {
    case CCAI_DG_RESULTS: on_results(g, &m); break;
    case CCAI_DG_SPEECH_STARTED:
        if (!g->discard)
            Ccai_stt_queue_text(&l->q, CCAI_STT_SPEECH_STARTED, "", -1, NULL, false, 0);
        break;
    case CCAI_DG_UTTERANCE_END:
        if (g->discard)
            break;
        if (g->awaiting)
            answer_end(g);
        else if (g->acc.len)
            deliver_final(g, false);
        break;
    case CCAI_DG_ERROR: {
        char msg[300];
        snprintf(msg, sizeof msg, "error from the service: %.200s",
                 m.description ? m.description : "");
        Ccai_stt_live_fail(l, CCAI_ERR_IO, msg);
        break;
    }
    default: break;
    }
    Ccai_dg_msg_free(&m);
}

static void dg_on_open(Ccai_stt_live *l)
{
    dg_stream *g = (dg_stream *)l;
    if (!Ccai_stt_live_flush(l))
        return;
    g->last_send = Ccai_ctx_now(l->ctx);
    Ccai_timer_start(l->ctx, &g->keepalive, DG_KEEPALIVE_MS);
    /* end()s made before the upgrade: their Finalize goes now. */
    if (g->awaiting && send_json(g, "{\"type\":\"Finalize\"}") != CCAI_OK)
        Ccai_stt_live_fail(l, CCAI_ERR_IO, "cannot send Finalize");
}

static void on_keepalive(Ccai_timer *t, void *ud)
{
    dg_stream *g = ud;
    CCAI_UNUSED(t);
    if (g->l.dead || !g->l.ws)
        return;
    uint64_t now = Ccai_ctx_now(g->l.ctx);
    if (now - g->last_send >= DG_KEEPALIVE_MS - 100 &&
        send_json(g, "{\"type\":\"KeepAlive\"}") != CCAI_OK) {
        Ccai_stt_live_fail(&g->l, CCAI_ERR_IO, "cannot send KeepAlive");
        return;
    }
    Ccai_timer_start(g->l.ctx, &g->keepalive, DG_KEEPALIVE_MS);
}

/* Whether options already sets name (then our default is left out). */
static bool has_param(const char *options, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = options; p && *p;) {
        if (strncmp(p, name, n) == 0 && p[n] == '=')
            return true;
        p = strchr(p, '&');
        if (p)
            p++;
    }
    return false;
}

static bool put_param(Ccai_buf *b, const char *options, const char *name, const char *value)
{
    if (has_param(options, name))
        return true;
    return Ccai_buf_printf(b, "%s%s=", b->data[b->len - 1] == '?' ? "" : "&", name) &&
           Ccai_stt_url_escape(b, value);
}

static const Ccai_stt_live_class dg_class = {
    .provider = &Ccai_stt_deepgram,
    .name = "deepgram",
    .endpoint = DG_DEFAULT_ENDPOINT,
    .what = "stream",
    .unit = "message",
    .no_result = "no final result",
    .open = dg_on_open,
    .message = dg_message,
    .send = dg_send,
    .halt = dg_halt,
    .release = dg_release,
};

static ccai_status dg_open(ccai_ctx *ctx, const Ccai_stt_config *cfg, const Ccai_stt_open *o,
                           Ccai_stt **ret)
{
    Ccai_buf u = {0}, a = {0};
    ccai_status st = Ccai_stt_live_base_url(ctx, &dg_class, cfg, &u);
    if (st != CCAI_OK) {
        Ccai_buf_free(&u);
        return st;
    }
    if (cfg->options && !Ccai_stt_query_ok(cfg->options)) {
        Ccai_buf_free(&u);
        Ccai_ctx_set_error(ctx, "speech.stt.deepgram.options: query parameters (a=b&c=d) "
                                "without spaces");
        return CCAI_ERR_CONFIG;
    }
    dg_stream *g = Ccai_calloc(1, sizeof *g);
    if (!g) {
        Ccai_buf_free(&u);
        return CCAI_ERR_NOMEM;
    }
    Ccai_stt_live_init(&g->l, ctx, &dg_class, cfg, o);
    Ccai_timer_init(&g->keepalive, on_keepalive, g);
    Ccai_timer_set_idle(&g->keepalive, true);

    /* The audio as the call has it when Deepgram takes it (G.711 at 8 kHz,
     * PCM at the call's rate), else 16 kHz PCM; always mono. */
    const char *enc = "linear16";
    uint32_t rate = 16000;
    Ccai_media_encoding e = CCAI_MEDIA_PCM16;
    if (o->call_in.encoding == CCAI_MEDIA_ULAW || o->call_in.encoding == CCAI_MEDIA_ALAW) {
        e = o->call_in.encoding;
        enc = e == CCAI_MEDIA_ULAW ? "mulaw" : "alaw";
        rate = 8000;
    } else if (o->call_in.rate == 8000 || o->call_in.rate == 16000 || o->call_in.rate == 24000 ||
               o->call_in.rate == 48000) {
        rate = o->call_in.rate;
    }
    g->l.base.in = (Ccai_media_format){e, rate, 1};
    const char *model = cfg->model && *cfg->model ? cfg->model : DG_DEFAULT_MODEL;
    g->keyterm = strncmp(model, "nova-3", 6) == 0;

    char rate_s[16];
    snprintf(rate_s, sizeof rate_s, "%u", rate);
    const char *opt = cfg->options;
    bool ok =
        Ccai_buf_puts(&u, "/v1/listen?") && put_param(&u, opt, "model", model) &&
        (!o->lang || !*o->lang || put_param(&u, opt, "language", o->lang)) &&
        put_param(&u, opt, "encoding", enc) && put_param(&u, opt, "sample_rate", rate_s) &&
        put_param(&u, opt, "channels", "1") && put_param(&u, opt, "interim_results", "true") &&
        put_param(&u, opt, "endpointing", "300") &&
        put_param(&u, opt, "utterance_end_ms", "1000") &&
        put_param(&u, opt, "vad_events", "true") && put_param(&u, opt, "smart_format", "true") &&
        (!opt || !*opt || Ccai_buf_printf(&u, "&%s", opt)) &&
        Ccai_buf_printf(&a, "Authorization: Token %s", cfg->api_key);
    g->l.url = ok ? Ccai_buf_steal(&u) : NULL;
    g->l.auth = ok ? Ccai_buf_steal(&a) : NULL;
    Ccai_buf_free(&u);
    Ccai_buf_free(&a);
    /* Connect from the loop: hints given by expect() right after open()
     * are in the URL (Deepgram takes keyterms only when connecting). */
    if (!g->l.url || !g->l.auth) {
        Ccai_stt_live_discard(&g->l);
        return CCAI_ERR_NOMEM;
    }
    return Ccai_stt_live_start(&g->l, ret);
}

/* Audio the service has not made final yet (ms). */
static bool unfinalized(const dg_stream *g)
{
    uint64_t sent_ms = Ccai_stt_live_ms(&g->l, g->bytes_sent + g->l.pending.len);
    return g->partial || (double)sent_ms > g->covered_s * 1000.0 + 40.0;
}

static ccai_status dg_end(Ccai_stt *s)
{
    dg_stream *g = (dg_stream *)s;
    if (g->l.dead)
        return CCAI_ERR_STATE;
    if (!g->awaiting && !unfinalized(g)) {
        /* Nothing the service still holds: the answer is what we have
         * ("" after the service's own FINAL). */
        deliver_final(g, true);
        return CCAI_OK;
    }
    g->awaiting++;
    if (g->l.opened && send_json(g, "{\"type\":\"Finalize\"}") != CCAI_OK) {
        g->awaiting--;
        return CCAI_ERR_NOMEM;
    }
    Ccai_stt_live_await(&g->l);
    return CCAI_OK;
}

static void dg_cancel(Ccai_stt *s)
{
    dg_stream *g = (dg_stream *)s;
    if (g->l.dead)
        return;
    bool pending = unfinalized(g);
    Ccai_buf_reset(&g->acc);
    g->conf_sum = 0;
    g->conf_n = 0;
    g->partial = false;
    g->awaiting = 0;
    Ccai_timer_stop(g->l.ctx, &g->l.result_timer);
    /* Flush what the service holds and drop its answer. */
    if (pending && g->l.opened && send_json(g, "{\"type\":\"Finalize\"}") == CCAI_OK)
        g->discard = true;
    if (!g->l.opened)
        Ccai_buf_reset(&g->l.pending);
}

static ccai_status dg_expect(Ccai_stt *s, const Ccai_stt_expect *e)
{
    dg_stream *g = (dg_stream *)s;
    if (g->l.dead)
        return CCAI_ERR_STATE;
    if (g->l.ws || g->l.opened)
        return CCAI_OK; /* connected: keyterms are fixed for this stream */
    Ccai_buf *hints = &g->l.query_tail;
    Ccai_buf_reset(hints);
    size_t n = 0;
    const char *param = g->keyterm ? "keyterm" : "keywords";
    for (const char *const *h = e && e->hints ? e->hints : NULL; h && *h && n < DG_MAX_HINTS;
         h++, n++) {
        if (!Ccai_buf_printf(hints, "&%s=", param) || !Ccai_stt_url_escape(hints, *h))
            return CCAI_ERR_NOMEM;
    }
    for (size_t i = 0; e && e->kind == CCAI_STT_CHOICE && i < e->n_choices && n < DG_MAX_HINTS;
         i++, n++) {
        if (!Ccai_buf_printf(hints, "&%s=", param) || !Ccai_stt_url_escape(hints, e->choices[i]))
            return CCAI_ERR_NOMEM;
    }
    return CCAI_OK;
}

static void dg_close(Ccai_stt *s)
{
    dg_stream *g = (dg_stream *)s;
    if (g && g->l.ws && g->l.opened && !g->l.dead)
        send_json(g, "{\"type\":\"CloseStream\"}");
    Ccai_stt_live_close(s);
}

static bool dg_speaks(const Ccai_stt_config *cfg, const char *lang)
{
    CCAI_UNUSED(cfg);
    /* Deepgram's models cover many languages; one it lacks is refused at
     * the connect (HTTP 400), a fatal ERROR that falls back. */
    return lang && *lang;
}

const Ccai_stt_provider Ccai_stt_deepgram = {
    .name = "deepgram",
    .caps = CCAI_STT_STREAMING | CCAI_STT_ENDPOINTING | CCAI_STT_PARTIALS | CCAI_STT_HINTS,
    .speaks = dg_speaks,
    .open = dg_open,
    .feed = Ccai_stt_live_feed,
    .end = dg_end,
    .cancel = dg_cancel,
    .expect = dg_expect,
    .close = dg_close,
};
