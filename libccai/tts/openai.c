/* OpenAI text to speech (media.md 5.2; openai-openapi CreateSpeechRequest):
 *
 *   POST <endpoint>/audio/speech          (endpoint https://api.openai.com/v1)
 *   Authorization: Bearer <key>
 *   {"model":"gpt-4o-mini-tts","input":"...","voice":"alloy",
 *    "response_format":"pcm","speed":1.1,"instructions":"..."}
 *
 * response_format pcm is raw 24 kHz 16-bit little-endian mono, streamed as
 * chunked bytes whose boundaries are arbitrary (the engine carries an odd
 * byte). The style of a text becomes an instruction ("Speak in a cheerful
 * tone."), for the models that take instructions (not tts-1, tts-1-hd);
 * the rate is speed (0.25..4). OpenAI takes no SSML and picks the language
 * from the text. */
#include "tts/cloud.h"

#include "core/json.h"

#include <string.h>

#define OPENAI_DEFAULT_ENDPOINT "https://api.openai.com/v1"
#define OPENAI_DEFAULT_MODEL    "gpt-4o-mini-tts"
#define OPENAI_DEFAULT_VOICE    "alloy"
/* input: at most 4096 characters; bytes are never fewer. */
#define OPENAI_TEXT_MAX 4096u

typedef struct openai {
    Ccai_tts_cloud c;
    char *url;
    char *model;
    char *voice;
    char *instructions; /* options.instructions: said before every style */
    bool takes_instructions;
} openai;

void Ccai_tts_openai_error(const char *body, size_t len, char *out, size_t outlen)
{
    /* {"error":{"message","type","param","code"}} */
    static const char *const paths[] = {"error.message", "error.code", "error.type", NULL};
    Ccai_tts_error_text(body, len, paths, out, outlen);
}

static char *instructions_for(const openai *o, const char *style)
{
    if (!o->takes_instructions || (!style && !o->instructions))
        return NULL;
    if (!style)
        return Ccai_strdup(o->instructions);
    return Ccai_asprintf("%s%sSpeak in a %s tone.", o->instructions ? o->instructions : "",
                         o->instructions ? " " : "", style);
}

static ccai_status build(Ccai_tts_cloud *c, const Ccai_tts_item *it, Ccai_tts_request *req)
{
    openai *o = (openai *)c;
    const char *voice = it->voice ? it->voice : o->voice;
    double speed = it->rate < 0.25 ? 0.25 : it->rate > 4 ? 4 : it->rate;
    char *instr = instructions_for(o, it->style);
    bool bad = o->takes_instructions && (it->style || o->instructions) && !instr; /* NOMEM */
    json_t *body = json_object();
    if (!body || bad) {
        json_decref(body);
        ccai_free(instr);
        return CCAI_ERR_NOMEM;
    }
    int err = json_object_set_new(body, "model", json_string(o->model));
    err |= json_object_set_new(body, "input", json_string(it->text));
    /* A custom voice is an object {"id":"voice_..."}. */
    err |= json_object_set_new(body, "voice",
                               strncmp(voice, "voice_", 6) == 0 ? json_pack("{s:s}", "id", voice)
                                                                : json_string(voice));
    err |= json_object_set_new(body, "response_format", json_string("pcm"));
    if (speed != 1.0)
        err |= json_object_set_new(body, "speed", json_real(speed));
    if (instr)
        err |= json_object_set_new(body, "instructions", json_string(instr));
    ccai_free(instr);
    char *text = err ? NULL : Ccai_json_dump(body, JSON_COMPACT);
    json_decref(body);
    if (!text)
        return CCAI_ERR_NOMEM;
    req->body = text;
    req->body_len = strlen(text);
    req->url = Ccai_strdup(o->url);
    bool ok = req->url && Ccai_tts_request_header(req, "Content-Type: application/json") &&
              Ccai_tts_request_header(req, "Authorization: Bearer %s", c->api_key);
    return ok ? CCAI_OK : CCAI_ERR_NOMEM;
}

static void openai_free(Ccai_tts_cloud *c)
{
    openai *o = (openai *)c;
    ccai_free(o->url);
    ccai_free(o->model);
    ccai_free(o->voice);
    ccai_free(o->instructions);
}

static const Ccai_tts_cloud_ops openai_ops = {
    .max_text = OPENAI_TEXT_MAX,
    .build = build,
    .error = Ccai_tts_openai_error,
    .free = openai_free,
};

static bool openai_speaks(const Ccai_tts_config *cfg, const char *lang)
{
    /* The voices read the languages the models were trained on (Whisper's
     * list); the language follows the text. */
    return cfg && cfg->api_key && cfg->api_key[0] && lang && lang[0];
}

static ccai_status openai_open(ccai_ctx *ctx, const Ccai_tts_config *cfg, const Ccai_tts_open *op,
                               Ccai_tts **ret)
{
    if (!ctx || !cfg || !op || !op->audio || !op->done || !ret)
        return CCAI_ERR_INVALID_ARG;
    const Ccai_logger *log = op->log ? op->log : Ccai_ctx_logger(ctx);
    if (!cfg->api_key || !cfg->api_key[0]) {
        Ccai_log(log, CCAI_LOG_ERROR, "tts openai: api_key is needed");
        return CCAI_ERR_CONFIG;
    }
    static const char *const known[] = {"instructions", NULL};
    json_t *opts = NULL;
    ccai_status st = Ccai_tts_options("openai", cfg->options, known, log, &opts);
    if (st != CCAI_OK)
        return st;
    const json_t *ins = json_object_get(opts, "instructions");
    if (ins && !json_is_string(ins)) {
        Ccai_log(log, CCAI_LOG_ERROR, "tts openai: options.instructions is a string");
        json_decref(opts);
        return CCAI_ERR_CONFIG;
    }
    openai *o = Ccai_calloc(1, sizeof *o);
    if (!o) {
        json_decref(opts);
        return CCAI_ERR_NOMEM;
    }
    o->c.base.provider = &Ccai_tts_openai;
    Ccai_media_format out = {CCAI_MEDIA_PCM16, 24000, 1};
    st = Ccai_tts_cloud_init(&o->c, ctx, &openai_ops, cfg, op, out);
    if (st == CCAI_OK) {
        const char *ep =
            cfg->endpoint && cfg->endpoint[0] ? cfg->endpoint : OPENAI_DEFAULT_ENDPOINT;
        size_t n = strlen(ep);
        while (n && ep[n - 1] == '/')
            n--;
        o->url = Ccai_asprintf("%.*s/audio/speech", (int)n, ep);
        o->model = Ccai_strdup(cfg->model && cfg->model[0] ? cfg->model : OPENAI_DEFAULT_MODEL);
        o->voice = Ccai_strdup(cfg->voice && cfg->voice[0] ? cfg->voice : OPENAI_DEFAULT_VOICE);
        if (ins && json_string_length(ins))
            o->instructions = Ccai_strdup(json_string_value(ins));
        if (!o->url || !o->model || !o->voice ||
            (ins && json_string_length(ins) && !o->instructions))
            st = CCAI_ERR_NOMEM;
    }
    json_decref(opts);
    if (st != CCAI_OK) {
        Ccai_tts_cloud_close(&o->c.base);
        return st;
    }
    /* tts-1 and tts-1-hd refuse instructions. */
    o->takes_instructions = strncmp(o->model, "tts-1", 5) != 0;
    if (o->instructions && !o->takes_instructions)
        Ccai_log(log, CCAI_LOG_WARN, "tts openai: %s takes no instructions: they are not sent",
                 o->model);
    *ret = &o->c.base;
    return CCAI_OK;
}

const Ccai_tts_provider Ccai_tts_openai = {
    .name = "openai",
    .caps = CCAI_TTS_STREAMING,
    .speaks = openai_speaks,
    .open = openai_open,
    .say = Ccai_tts_cloud_say,
    .cancel = Ccai_tts_cloud_cancel,
    .close = Ccai_tts_cloud_close,
};
