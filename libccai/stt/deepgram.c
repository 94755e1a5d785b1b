/* Deepgram live transcription (wss://api.deepgram.com/v1/listen) behind
 * stt/stt.h: the call's audio as binary messages, results as they come
 * (interim -> PARTIAL, is_final pieces gathered, speech_final or
 * UtteranceEnd -> FINAL, SpeechStarted), Finalize for end(), KeepAlive while
 * no audio flows, CloseStream on close. media.md 4.1; docs/speech-to-text.md. */
#include "stt/cloud.h"

#include "core/json.h"
#include "io/ws.h"

#include <string.h>

#define DG_DEFAULT_ENDPOINT "wss://api.deepgram.com"
#define DG_DEFAULT_MODEL    "nova-3"
#define DG_KEEPALIVE_MS     4000u
#define DG_MAX_PENDING      (2u * 1024u * 1024u) /* audio held until the upgrade */
#define DG_MAX_ATTEMPTS     3
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

static bool get_bool(json_t *o, const char *k, bool *out)
{
    json_t *v = json_object_get(o, k);
    if (!v || json_is_null(v))
        return true;
    if (!json_is_boolean(v))
        return false;
    *out = json_is_true(v);
    return true;
}

static bool get_num(json_t *o, const char *k, double *out)
{
    json_t *v = json_object_get(o, k);
    if (!v || json_is_null(v))
        return true;
    if (!json_is_number(v))
        return false;
    *out = json_number_value(v);
    return true;
}

/* A string member copied (absent: *out stays NULL); false on a wrong type
 * or NOMEM (*nomem). */
static bool get_str(json_t *o, const char *k, char **out, bool *nomem)
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

ccai_status Ccai_dg_parse(const char *s, size_t len, Ccai_dg_msg *m)
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
    if (strcmp(type, "Results") == 0) {
        m->type = CCAI_DG_RESULTS;
        if (!get_bool(root, "is_final", &m->is_final) ||
            !get_bool(root, "speech_final", &m->speech_final) ||
            !get_bool(root, "from_finalize", &m->from_finalize) ||
            !get_num(root, "start", &m->start) || !get_num(root, "duration", &m->duration))
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
            if (!get_str(alt, "transcript", &m->transcript, &nomem) ||
                !get_num(alt, "confidence", &m->confidence))
                goto out;
            json_t *langs = json_object_get(alt, "languages");
            json_t *l0 = json_array_get(langs, 0);
            if (json_is_string(l0) && !(m->lang = Ccai_strdup(json_string_value(l0)))) {
                nomem = true;
                goto out;
            }
        }
        if (!m->lang && !get_str(root, "detected_language", &m->lang, &nomem))
            goto out;
        if (!m->transcript && !(m->transcript = Ccai_strdup(""))) {
            nomem = true;
            goto out;
        }
        if (m->confidence > 1 || m->confidence < 0)
            m->confidence = m->confidence > 1 ? 1 : -1;
    } else if (strcmp(type, "SpeechStarted") == 0) {
        m->type = CCAI_DG_SPEECH_STARTED;
        if (!get_num(root, "timestamp", &m->start))
            goto out;
    } else if (strcmp(type, "UtteranceEnd") == 0) {
        m->type = CCAI_DG_UTTERANCE_END;
        if (!get_num(root, "last_word_end", &m->start))
            goto out;
    } else if (strcmp(type, "Metadata") == 0) {
        m->type = CCAI_DG_METADATA;
    } else if (strcmp(type, "Error") == 0) {
        m->type = CCAI_DG_ERROR;
        if (!get_str(root, "description", &m->description, &nomem) ||
            (!m->description && !get_str(root, "message", &m->description, &nomem)))
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
    Ccai_stt base;
    ccai_ctx *ctx;
    const Ccai_logger *log;
    Ccai_stt_queue q;
    char *url;  /* without the hints */
    char *auth; /* Authorization: Token <key> */
    bool keyterm;
    Ccai_buf hints; /* &keyterm=...&keyterm=... */
    uint32_t connect_timeout_ms, result_timeout_ms;

    Ccai_ws *ws;
    bool opened;
    bool closing;
    int attempts;
    Ccai_buf pending; /* audio fed before the upgrade */
    Ccai_timer connect_timer, keepalive, result_timer;
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
    bool dead;
} dg_stream;

static void dg_destroy(Ccai_stt *s)
{
    dg_stream *g = (dg_stream *)s;
    Ccai_stt_queue_free(&g->q);
    ccai_free(g);
}

static void dg_release(dg_stream *g)
{
    Ccai_ws_free(g->ws);
    g->ws = NULL;
    Ccai_timer_stop(g->ctx, &g->connect_timer);
    Ccai_timer_stop(g->ctx, &g->keepalive);
    Ccai_timer_stop(g->ctx, &g->result_timer);
    ccai_free(g->url);
    ccai_free(g->auth);
    Ccai_buf_free(&g->hints);
    Ccai_buf_free(&g->pending);
    Ccai_buf_free(&g->acc);
    g->url = g->auth = NULL;
}

static void dg_fail(dg_stream *g, ccai_status st, const char *msg)
{
    if (g->dead)
        return;
    g->dead = true;
    Ccai_log(g->log, CCAI_LOG_WARN, "stt deepgram: %s", msg);
    Ccai_ws_free(g->ws);
    g->ws = NULL;
    Ccai_timer_stop(g->ctx, &g->keepalive);
    Ccai_timer_stop(g->ctx, &g->result_timer);
    Ccai_timer_stop(g->ctx, &g->connect_timer);
    Ccai_stt_queue_error(&g->q, st, true, "deepgram: %s", msg);
}

static uint32_t audio_ms(const dg_stream *g, uint64_t bytes)
{
    size_t per_ms = Ccai_media_bytes_per_ms(&g->base.in, 1);
    return per_ms ? (uint32_t)(bytes / per_ms) : 0;
}

static void deliver_final(dg_stream *g, bool from_end)
{
    double conf = g->conf_n ? g->conf_sum / g->conf_n : -1;
    Ccai_stt_queue_text(&g->q, CCAI_STT_FINAL, g->acc.data ? g->acc.data : "", conf,
                        g->lang[0] ? g->lang : NULL, from_end, 0);
    Ccai_buf_reset(&g->acc);
    g->conf_sum = 0;
    g->conf_n = 0;
    g->partial = false;
}

static ccai_status send_json(dg_stream *g, const char *json)
{
    if (!g->ws)
        return CCAI_ERR_STATE;
    ccai_status st = Ccai_ws_send(g->ws, CCAI_WS_TEXT, json, strlen(json));
    if (st == CCAI_OK)
        g->last_send = Ccai_ctx_now(g->ctx);
    return st;
}

static void on_result_timeout(Ccai_timer *t, void *ud)
{
    dg_stream *g = ud;
    CCAI_UNUSED(t);
    char msg[96];
    snprintf(msg, sizeof msg, "no final result within %u ms of the end of speech",
             g->result_timeout_ms);
    dg_fail(g, CCAI_ERR_TIMEOUT, msg);
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
            Ccai_stt_queue_text(&g->q, CCAI_STT_PARTIAL, text.data, m->confidence,
                                g->lang[0] ? g->lang : NULL, false, 0);
        Ccai_buf_free(&text);
        return;
    }
    if (*t) {
        if ((g->acc.len && !Ccai_buf_puts(&g->acc, " ")) || !Ccai_buf_puts(&g->acc, t)) {
            dg_fail(g, CCAI_ERR_NOMEM, "out of memory");
            return;
        }
        if (m->confidence >= 0) {
            g->conf_sum += m->confidence;
            g->conf_n++;
        }
    }
    g->partial = false;
    if (g->awaiting && (m->from_finalize || m->speech_final)) {
        g->awaiting--;
        deliver_final(g, true);
        if (!g->awaiting)
            Ccai_timer_stop(g->ctx, &g->result_timer);
    } else if (m->speech_final && g->acc.len) {
        deliver_final(g, false);
    }
}

static void dg_on_message(Ccai_ws *ws, int kind, const uint8_t *data, size_t len, void *ud)
{
    dg_stream *g = ud;
    CCAI_UNUSED(ws);
    if (kind != CCAI_WS_TEXT || g->dead)
        return;
    Ccai_dg_msg m;
    ccai_status st = Ccai_dg_parse((const char *)data, len, &m);
    if (st == CCAI_ERR_NOMEM) {
        dg_fail(g, st, "out of memory");
        return;
    }
    if (st != CCAI_OK) {
        /* One unreadable message: said, not fatal (a final it held is
         * lost; an end() waiting for it times out). */
        Ccai_log(g->log, CCAI_LOG_WARN, "stt deepgram: unreadable message (%zu bytes)", len);
        Ccai_stt_queue_error(&g->q, st, false, "deepgram: an unreadable message (%zu bytes)", len);
        return;
    }
    switch (m.type) {
    case CCAI_DG_RESULTS: on_results(g, &m); break;
    case CCAI_DG_SPEECH_STARTED:
        if (!g->discard)
            Ccai_stt_queue_text(&g->q, CCAI_STT_SPEECH_STARTED, "", -1, NULL, false, 0);
        break;
    case CCAI_DG_UTTERANCE_END:
        if (g->discard)
            break;
        if (g->awaiting) {
            g->awaiting--;
            deliver_final(g, true);
            if (!g->awaiting)
                Ccai_timer_stop(g->ctx, &g->result_timer);
        } else if (g->acc.len) {
            deliver_final(g, false);
        }
        break;
    case CCAI_DG_ERROR: {
        char msg[300];
        snprintf(msg, sizeof msg, "error from the service: %.200s",
                 m.description ? m.description : "");
        dg_fail(g, CCAI_ERR_IO, msg);
        break;
    }
    default: break;
    }
    Ccai_dg_msg_free(&m);
}

static void dg_connect(dg_stream *g);

static void dg_on_open(Ccai_ws *ws, void *ud)
{
    dg_stream *g = ud;
    g->opened = true;
    if (g->pending.len) {
        ccai_status st = Ccai_ws_send(ws, CCAI_WS_BINARY, g->pending.data, g->pending.len);
        if (st != CCAI_OK) {
            dg_fail(g, st, "cannot send the audio held during the connect");
            return;
        }
        g->bytes_sent += g->pending.len;
        Ccai_buf_free(&g->pending);
    }
    g->last_send = Ccai_ctx_now(g->ctx);
    Ccai_timer_start(g->ctx, &g->keepalive, DG_KEEPALIVE_MS);
    /* end()s made before the upgrade: their Finalize goes now. */
    if (g->awaiting && send_json(g, "{\"type\":\"Finalize\"}") != CCAI_OK)
        dg_fail(g, CCAI_ERR_IO, "cannot send Finalize");
}

static void dg_on_close(Ccai_ws *ws, const Ccai_ws_end *e, void *ud)
{
    dg_stream *g = ud;
    CCAI_UNUSED(ws);
    Ccai_ws_free(g->ws);
    g->ws = NULL;
    if (g->dead)
        return;
    Ccai_stt_ws_outcome o;
    Ccai_stt_ws_judge(e, g->opened, g->attempts, DG_MAX_ATTEMPTS, "stream", &o);
    if (o.retry) {
        Ccai_log(g->log, CCAI_LOG_INFO, "stt deepgram: HTTP %ld, retry in %llu ms", e->http_status,
                 (unsigned long long)o.wait_ms);
        Ccai_timer_start(g->ctx, &g->connect_timer, o.wait_ms);
        return;
    }
    dg_fail(g, o.st, o.msg);
}

static void dg_connect(dg_stream *g)
{
    g->attempts++;
    Ccai_buf url = {0};
    const char *headers[] = {g->auth, NULL};
    if (!Ccai_buf_puts(&url, g->url) || (g->hints.len && !Ccai_buf_puts(&url, g->hints.data))) {
        Ccai_buf_free(&url);
        dg_fail(g, CCAI_ERR_NOMEM, "out of memory");
        return;
    }
    Ccai_ws_opts o = {
        .url = url.data,
        .headers = headers,
        .connect_timeout_ms = g->connect_timeout_ms,
        .max_message = CCAI_STT_MAX_MESSAGE,
        .max_out = DG_MAX_PENDING * 2,
        .on_open = dg_on_open,
        .on_message = dg_on_message,
        .on_close = dg_on_close,
        .ud = g,
    };
    ccai_status st = Ccai_ws_connect(g->ctx, &o, &g->ws);
    Ccai_buf_free(&url);
    if (st != CCAI_OK)
        dg_fail(g, st, "cannot start the connection");
}

static void on_connect_timer(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    dg_connect(ud);
}

static void on_keepalive(Ccai_timer *t, void *ud)
{
    dg_stream *g = ud;
    CCAI_UNUSED(t);
    if (g->dead || !g->ws)
        return;
    uint64_t now = Ccai_ctx_now(g->ctx);
    if (now - g->last_send >= DG_KEEPALIVE_MS - 100 &&
        send_json(g, "{\"type\":\"KeepAlive\"}") != CCAI_OK) {
        dg_fail(g, CCAI_ERR_IO, "cannot send KeepAlive");
        return;
    }
    Ccai_timer_start(g->ctx, &g->keepalive, DG_KEEPALIVE_MS);
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

static ccai_status dg_open(ccai_ctx *ctx, const Ccai_stt_config *cfg, const Ccai_stt_open *o,
                           Ccai_stt **ret)
{
    if (!cfg->api_key || !*cfg->api_key) {
        Ccai_ctx_set_error(ctx, "speech.stt.deepgram.api_key is required");
        return CCAI_ERR_CONFIG;
    }
    const char *ep = cfg->endpoint && *cfg->endpoint ? cfg->endpoint : DG_DEFAULT_ENDPOINT;
    if (strncmp(ep, "ws://", 5) && strncmp(ep, "wss://", 6) && strncmp(ep, "http://", 7) &&
        strncmp(ep, "https://", 8)) {
        Ccai_ctx_set_error(ctx, "speech.stt.deepgram.endpoint: not a ws(s):// or http(s):// URL");
        return CCAI_ERR_CONFIG;
    }
    if (cfg->options && !Ccai_stt_query_ok(cfg->options)) {
        Ccai_ctx_set_error(ctx, "speech.stt.deepgram.options: query parameters (a=b&c=d) "
                                "without spaces");
        return CCAI_ERR_CONFIG;
    }
    dg_stream *g = Ccai_calloc(1, sizeof *g);
    if (!g)
        return CCAI_ERR_NOMEM;
    g->base.provider = &Ccai_stt_deepgram;
    g->ctx = ctx;
    g->log = o->log ? o->log : Ccai_ctx_logger(ctx);
    g->connect_timeout_ms = cfg->connect_timeout_ms ? cfg->connect_timeout_ms : 5000;
    g->result_timeout_ms = cfg->result_timeout_ms ? cfg->result_timeout_ms : 5000;
    Ccai_stt_queue_init(&g->q, ctx, &g->base, o, dg_destroy);
    Ccai_timer_init(&g->connect_timer, on_connect_timer, g);
    Ccai_timer_init(&g->keepalive, on_keepalive, g);
    Ccai_timer_init(&g->result_timer, on_result_timeout, g);
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
    g->base.in = (Ccai_media_format){e, rate, 1};
    const char *model = cfg->model && *cfg->model ? cfg->model : DG_DEFAULT_MODEL;
    g->keyterm = strncmp(model, "nova-3", 6) == 0;

    Ccai_buf u = {0}, a = {0};
    char rate_s[16];
    snprintf(rate_s, sizeof rate_s, "%u", rate);
    const char *opt = cfg->options;
    size_t eplen = strlen(ep);
    while (eplen && ep[eplen - 1] == '/')
        eplen--;
    bool ok = true;
    if (strncmp(ep, "http", 4) == 0) /* https://host -> wss://host */
        ok = Ccai_buf_printf(&u, "ws%.*s", (int)(eplen - 4), ep + 4);
    else
        ok = Ccai_buf_printf(&u, "%.*s", (int)eplen, ep);
    ok = ok && Ccai_buf_puts(&u, "/v1/listen?") && put_param(&u, opt, "model", model) &&
         (!o->lang || !*o->lang || put_param(&u, opt, "language", o->lang)) &&
         put_param(&u, opt, "encoding", enc) && put_param(&u, opt, "sample_rate", rate_s) &&
         put_param(&u, opt, "channels", "1") && put_param(&u, opt, "interim_results", "true") &&
         put_param(&u, opt, "endpointing", "300") &&
         put_param(&u, opt, "utterance_end_ms", "1000") &&
         put_param(&u, opt, "vad_events", "true") && put_param(&u, opt, "smart_format", "true") &&
         (!opt || !*opt || Ccai_buf_printf(&u, "&%s", opt)) &&
         Ccai_buf_printf(&a, "Authorization: Token %s", cfg->api_key);
    if (!ok) {
        Ccai_buf_free(&u);
        Ccai_buf_free(&a);
        dg_release(g);
        dg_destroy(&g->base);
        return CCAI_ERR_NOMEM;
    }
    g->url = Ccai_buf_steal(&u);
    g->auth = Ccai_buf_steal(&a);
    /* Connect from the loop: hints given by expect() right after open()
     * are in the URL (Deepgram takes keyterms only when connecting). */
    if (!g->url || !g->auth) {
        dg_release(g);
        dg_destroy(&g->base);
        return CCAI_ERR_NOMEM;
    }
    Ccai_timer_start(ctx, &g->connect_timer, 0);
    *ret = &g->base;
    return CCAI_OK;
}

static ccai_status dg_feed(Ccai_stt *s, const uint8_t *audio, size_t len)
{
    dg_stream *g = (dg_stream *)s;
    if (g->dead)
        return CCAI_ERR_STATE;
    if (!len)
        return CCAI_OK; /* an empty binary message would close the stream */
    if (!g->opened) {
        if (g->pending.len + len > DG_MAX_PENDING)
            return CCAI_ERR_LIMIT;
        return Ccai_buf_append(&g->pending, audio, len) ? CCAI_OK : CCAI_ERR_NOMEM;
    }
    if (!g->ws)
        return CCAI_ERR_STATE;
    ccai_status st = Ccai_ws_send(g->ws, CCAI_WS_BINARY, audio, len);
    if (st == CCAI_OK) {
        g->bytes_sent += len;
        g->last_send = Ccai_ctx_now(g->ctx);
    }
    return st;
}

/* Audio the service has not made final yet (ms). */
static bool unfinalized(const dg_stream *g)
{
    uint64_t sent_ms = audio_ms(g, g->bytes_sent + g->pending.len);
    return g->partial || (double)sent_ms > g->covered_s * 1000.0 + 40.0;
}

static ccai_status dg_end(Ccai_stt *s)
{
    dg_stream *g = (dg_stream *)s;
    if (g->dead)
        return CCAI_ERR_STATE;
    if (!g->awaiting && !unfinalized(g)) {
        /* Nothing the service still holds: the answer is what we have
         * ("" after the service's own FINAL). */
        deliver_final(g, true);
        return CCAI_OK;
    }
    g->awaiting++;
    if (g->opened && send_json(g, "{\"type\":\"Finalize\"}") != CCAI_OK) {
        g->awaiting--;
        return CCAI_ERR_NOMEM;
    }
    if (!Ccai_timer_active(&g->result_timer))
        Ccai_timer_start(g->ctx, &g->result_timer, g->result_timeout_ms);
    return CCAI_OK;
}

static void dg_cancel(Ccai_stt *s)
{
    dg_stream *g = (dg_stream *)s;
    if (g->dead)
        return;
    bool pending = unfinalized(g);
    Ccai_buf_reset(&g->acc);
    g->conf_sum = 0;
    g->conf_n = 0;
    g->partial = false;
    g->awaiting = 0;
    Ccai_timer_stop(g->ctx, &g->result_timer);
    /* Flush what the service holds and drop its answer. */
    if (pending && g->opened && send_json(g, "{\"type\":\"Finalize\"}") == CCAI_OK)
        g->discard = true;
    if (!g->opened)
        Ccai_buf_reset(&g->pending);
}

static ccai_status dg_expect(Ccai_stt *s, const Ccai_stt_expect *e)
{
    dg_stream *g = (dg_stream *)s;
    if (g->dead)
        return CCAI_ERR_STATE;
    if (g->ws || g->opened)
        return CCAI_OK; /* connected: keyterms are fixed for this stream */
    Ccai_buf_reset(&g->hints);
    size_t n = 0;
    const char *param = g->keyterm ? "keyterm" : "keywords";
    for (const char *const *h = e && e->hints ? e->hints : NULL; h && *h && n < DG_MAX_HINTS;
         h++, n++) {
        if (!Ccai_buf_printf(&g->hints, "&%s=", param) || !Ccai_stt_url_escape(&g->hints, *h))
            return CCAI_ERR_NOMEM;
    }
    for (size_t i = 0; e && e->kind == CCAI_STT_CHOICE && i < e->n_choices && n < DG_MAX_HINTS;
         i++, n++) {
        if (!Ccai_buf_printf(&g->hints, "&%s=", param) ||
            !Ccai_stt_url_escape(&g->hints, e->choices[i]))
            return CCAI_ERR_NOMEM;
    }
    return CCAI_OK;
}

static void dg_close(Ccai_stt *s)
{
    if (!s)
        return;
    dg_stream *g = (dg_stream *)s;
    if (g->ws && g->opened && !g->dead)
        send_json(g, "{\"type\":\"CloseStream\"}");
    dg_release(g);
    if (Ccai_stt_queue_close(&g->q))
        dg_destroy(s);
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
    .feed = dg_feed,
    .end = dg_end,
    .cancel = dg_cancel,
    .expect = dg_expect,
    .close = dg_close,
};
