/* ElevenLabs text to speech, HTTP streaming (media.md 5.3; elevenlabs-python
 * text_to_speech/raw_client.py):
 *
 *   POST <endpoint>/v1/text-to-speech/{voice_id}/stream?output_format=ulaw_8000
 *   xi-api-key: <key>
 *   {"text":"...","model_id":"eleven_flash_v2_5","language_code":"fr",
 *    "voice_settings":{"stability":0.5,"similarity_boost":0.75,"speed":1.1}}
 *
 * output_format is the call's own when ElevenLabs makes it (ulaw_8000,
 * alaw_8000, pcm_8000/16000/24000/48000: raw, no header), else PCM16 at
 * 24 kHz. The rate is voice_settings.speed (ElevenLabs takes 0.7..1.2);
 * the language is enforced with language_code on the v2.5 models, which
 * alone take it. Named styles ("cheerful") do not exist here: a voice's
 * manner comes from the voice itself and voice_settings.style, a number
 * set in the options. The stream-input WebSocket is not used: the voice
 * layer hands whole sentences, which this endpoint takes as they come. */
#include "tts/cloud.h"

#include "core/json.h"

#include <stdio.h>
#include <string.h>

#define ELEVENLABS_DEFAULT_ENDPOINT "https://api.elevenlabs.io"
#define ELEVENLABS_DEFAULT_MODEL    "eleven_flash_v2_5"
/* "Rachel", a premade voice every account has. */
#define ELEVENLABS_DEFAULT_VOICE "21m00Tcm4TlvDq8ikWAM"
/* The smallest per-request limit of the current models (multilingual v2:
 * 10,000 characters; flash v2.5: 40,000). */
#define ELEVENLABS_TEXT_MAX 10000u

typedef struct elevenlabs {
    Ccai_tts_cloud c;
    char *base;  /* endpoint without a trailing slash */
    char *query; /* after output_format: &optimize_streaming_latency=..&enable_logging=.. */
    const char *format;
    char *model;
    char *voice;
    json_t *voice_settings; /* options.voice_settings, or NULL */
    char *normalization;    /* options.apply_text_normalization */
    bool language_code;     /* the model takes language_code */
} elevenlabs;

static const struct {
    Ccai_media_encoding enc;
    uint32_t rate;
    const char *name;
} formats[] = {
    {CCAI_MEDIA_ULAW, 8000, "ulaw_8000"},   {CCAI_MEDIA_ALAW, 8000, "alaw_8000"},
    {CCAI_MEDIA_PCM16, 8000, "pcm_8000"},   {CCAI_MEDIA_PCM16, 16000, "pcm_16000"},
    {CCAI_MEDIA_PCM16, 24000, "pcm_24000"}, {CCAI_MEDIA_PCM16, 48000, "pcm_48000"},
};

static size_t pick_format(const Ccai_media_format *call)
{
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(formats); i++) {
        if (formats[i].enc == call->encoding && formats[i].rate == call->rate)
            return i;
    }
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(formats); i++) {
        if (formats[i].enc == CCAI_MEDIA_PCM16 && formats[i].rate == call->rate)
            return i;
    }
    return 4;
}

void Ccai_tts_elevenlabs_error(const char *body, size_t len, char *out, size_t outlen)
{
    /* {"detail":{"status":"invalid_api_key","message":"..."}}, FastAPI's
     * {"detail":[{"type","loc","msg"}]} (422) or {"detail":"Not Found"}. */
    static const char *const paths[] = {"detail.message", "detail.0.msg", "detail", "detail.status",
                                        NULL};
    Ccai_tts_error_text(body, len, paths, out, outlen);
}

/* The voice id in the path: ids are letters and digits; anything else is
 * percent-encoded so that it stays one path segment. */
static char *path_segment(const char *s)
{
    Ccai_buf b = {0};
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        bool keep = Ccai_is_alpha(ch) || Ccai_is_digit(ch) || ch == '-' || ch == '_';
        if (!(keep ? Ccai_buf_append(&b, s, 1) : Ccai_buf_printf(&b, "%%%02X", ch))) {
            Ccai_buf_free(&b);
            return NULL;
        }
    }
    return Ccai_buf_steal(&b);
}

/* "fr-FR" -> "fr" (ISO 639-1, as language_code wants). */
static void code_of(const char *lang, char code[8])
{
    size_t n = 0;
    while (lang[n] && lang[n] != '-' && lang[n] != '_' && n + 1 < 8) {
        code[n] = (char)Ccai_to_lower((unsigned char)lang[n]);
        n++;
    }
    code[n] = '\0';
}

static json_t *language_of(const char *lang)
{
    char code[8];
    code_of(lang, code);
    return json_string(code);
}

static ccai_status build(Ccai_tts_cloud *c, const Ccai_tts_item *it, Ccai_tts_request *req)
{
    elevenlabs *e = (elevenlabs *)c;
    json_t *body = json_object();
    json_t *vs = e->voice_settings ? json_deep_copy(e->voice_settings) : NULL;
    if (!body || (e->voice_settings && !vs)) {
        json_decref(body);
        json_decref(vs);
        return CCAI_ERR_NOMEM;
    }
    int err = json_object_set_new(body, "text", json_string(it->text));
    err |= json_object_set_new(body, "model_id", json_string(e->model));
    if (e->language_code)
        err |= json_object_set_new(body, "language_code", language_of(it->lang));
    if (it->rate != 1.0) {
        double speed = it->rate < 0.7 ? 0.7 : it->rate > 1.2 ? 1.2 : it->rate;
        if (!vs)
            vs = json_object();
        err |= !vs || json_object_set_new(vs, "speed", json_real(speed));
    }
    if (vs)
        err |= json_object_set_new(body, "voice_settings", vs);
    if (e->normalization)
        err |= json_object_set_new(body, "apply_text_normalization", json_string(e->normalization));
    char *text = err ? NULL : Ccai_json_dump(body, JSON_COMPACT);
    json_decref(body);
    char *voice = path_segment(it->voice ? it->voice : e->voice);
    if (!text || !voice) {
        ccai_free(text);
        ccai_free(voice);
        return CCAI_ERR_NOMEM;
    }
    req->body = text;
    req->body_len = strlen(text);
    req->url = Ccai_asprintf("%s/v1/text-to-speech/%s/stream?output_format=%s%s", e->base, voice,
                             e->format, e->query);
    ccai_free(voice);
    bool ok = req->url && Ccai_tts_request_header(req, "Content-Type: application/json") &&
              Ccai_tts_request_header(req, "xi-api-key: %s", c->api_key);
    return ok ? CCAI_OK : CCAI_ERR_NOMEM;
}

static void elevenlabs_free(Ccai_tts_cloud *c)
{
    elevenlabs *e = (elevenlabs *)c;
    ccai_free(e->base);
    ccai_free(e->query);
    ccai_free(e->model);
    ccai_free(e->voice);
    ccai_free(e->normalization);
    json_decref(e->voice_settings);
}

static const Ccai_tts_cloud_ops elevenlabs_ops = {
    .max_text = ELEVENLABS_TEXT_MAX,
    .build = build,
    .error = Ccai_tts_elevenlabs_error,
    .free = elevenlabs_free,
};

/* The models that read English only. */
static bool english_only(const char *model)
{
    static const char *const v[] = {"eleven_monolingual_v1", "eleven_flash_v2", "eleven_turbo_v2",
                                    NULL};
    for (size_t i = 0; v[i]; i++) {
        if (strcmp(model, v[i]) == 0)
            return true;
    }
    return false;
}

static bool elevenlabs_speaks(const Ccai_tts_config *cfg, const char *lang)
{
    /* The 32 languages of the multilingual v2.5 models (elevenlabs.io
     * docs, "Models"; multilingual v2 has all but hu, no, vi). */
    static const char *const langs[] = {"en", "ja", "zh", "de", "hi",  "fr", "ko", "pt", "it",
                                        "es", "id", "nl", "tr", "fil", "pl", "sv", "bg", "ro",
                                        "ar", "cs", "el", "fi", "hr",  "ms", "sk", "da", "ta",
                                        "uk", "ru", "hu", "no", "vi",  NULL};
    if (!cfg || !cfg->api_key || !cfg->api_key[0] || !lang || !lang[0])
        return false;
    const char *model = cfg->model && cfg->model[0] ? cfg->model : ELEVENLABS_DEFAULT_MODEL;
    char code[8];
    code_of(lang, code);
    for (size_t i = 0; langs[i]; i++) {
        if (strcmp(langs[i], code) == 0)
            return !english_only(model) || i == 0;
    }
    return false;
}

static ccai_status read_options(elevenlabs *e, const Ccai_tts_config *cfg, const Ccai_logger *log)
{
    static const char *const known[] = {"voice_settings", "optimize_streaming_latency",
                                        "enable_logging", "apply_text_normalization", NULL};
    json_t *opts = NULL;
    ccai_status st = Ccai_tts_options("elevenlabs", cfg->options, known, log, &opts);
    if (st != CCAI_OK)
        return st;
    json_t *vs = json_object_get(opts, "voice_settings");
    const json_t *osl = json_object_get(opts, "optimize_streaming_latency");
    const json_t *log_on = json_object_get(opts, "enable_logging");
    const char *norm = json_string_value(json_object_get(opts, "apply_text_normalization"));
    st = CCAI_ERR_CONFIG;
    if ((vs && !json_is_object(vs)) ||
        (osl &&
         (!json_is_integer(osl) || json_integer_value(osl) < 0 || json_integer_value(osl) > 4)) ||
        (log_on && !json_is_boolean(log_on)) ||
        (json_object_get(opts, "apply_text_normalization") &&
         (!norm || (strcmp(norm, "auto") && strcmp(norm, "on") && strcmp(norm, "off"))))) {
        Ccai_log(log, CCAI_LOG_ERROR,
                 "tts elevenlabs: options: voice_settings an object, optimize_streaming_latency "
                 "0..4, enable_logging true or false, apply_text_normalization auto, on or off");
        goto out;
    }
    st = CCAI_ERR_NOMEM;
    if (vs)
        e->voice_settings = json_incref(vs);
    if (norm && !(e->normalization = Ccai_strdup(norm)))
        goto out;
    char q[96] = "";
    if (osl)
        snprintf(q, sizeof q, "&optimize_streaming_latency=%d", (int)json_integer_value(osl));
    if (log_on && json_is_false(log_on))
        snprintf(q + strlen(q), sizeof q - strlen(q), "&enable_logging=false");
    if (!(e->query = Ccai_strdup(q)))
        goto out;
    st = CCAI_OK;
out:
    json_decref(opts);
    return st;
}

static ccai_status elevenlabs_open(ccai_ctx *ctx, const Ccai_tts_config *cfg,
                                   const Ccai_tts_open *o, Ccai_tts **ret)
{
    if (!ctx || !cfg || !o || !o->audio || !o->done || !ret)
        return CCAI_ERR_INVALID_ARG;
    const Ccai_logger *log = o->log ? o->log : Ccai_ctx_logger(ctx);
    if (!cfg->api_key || !cfg->api_key[0]) {
        Ccai_log(log, CCAI_LOG_ERROR, "tts elevenlabs: api_key is needed");
        return CCAI_ERR_CONFIG;
    }
    elevenlabs *e = Ccai_calloc(1, sizeof *e);
    if (!e)
        return CCAI_ERR_NOMEM;
    e->c.base.provider = &Ccai_tts_elevenlabs;
    size_t f = pick_format(&o->call_out);
    e->format = formats[f].name;
    Ccai_media_format out = {formats[f].enc, formats[f].rate, 1};
    ccai_status st = Ccai_tts_cloud_init(&e->c, ctx, &elevenlabs_ops, cfg, o, out);
    if (st == CCAI_OK)
        st = read_options(e, cfg, log);
    if (st == CCAI_OK) {
        const char *ep =
            cfg->endpoint && cfg->endpoint[0] ? cfg->endpoint : ELEVENLABS_DEFAULT_ENDPOINT;
        size_t n = strlen(ep);
        while (n && ep[n - 1] == '/')
            n--;
        e->base = Ccai_strndup(ep, n);
        e->model = Ccai_strdup(cfg->model && cfg->model[0] ? cfg->model : ELEVENLABS_DEFAULT_MODEL);
        e->voice = Ccai_strdup(cfg->voice && cfg->voice[0] ? cfg->voice : ELEVENLABS_DEFAULT_VOICE);
        if (!e->base || !e->model || !e->voice)
            st = CCAI_ERR_NOMEM;
        else
            e->language_code = strstr(e->model, "_v2_5") != NULL;
    }
    if (st != CCAI_OK) {
        Ccai_tts_cloud_close(&e->c.base);
        return st;
    }
    *ret = &e->c.base;
    return CCAI_OK;
}

const Ccai_tts_provider Ccai_tts_elevenlabs = {
    .name = "elevenlabs",
    .caps = CCAI_TTS_STREAMING,
    .speaks = elevenlabs_speaks,
    .open = elevenlabs_open,
    .say = Ccai_tts_cloud_say,
    .cancel = Ccai_tts_cloud_cancel,
    .close = Ccai_tts_cloud_close,
};
