/* Azure AI Speech text to speech over REST (media.md 5.1; MicrosoftDocs
 * azure-ai-docs rest-text-to-speech.md):
 *
 *   POST https://<region>.tts.speech.microsoft.com/cognitiveservices/v1
 *   Ocp-Apim-Subscription-Key: <key>   (or Authorization: Bearer <token>)
 *   Content-Type: application/ssml+xml
 *   X-Microsoft-OutputFormat: raw-8khz-8bit-mono-mulaw | raw-16khz-16bit-mono-pcm | ...
 *   User-Agent: libccai/<version>
 *   <speak ...><voice name="...">...</voice></speak>
 *
 * The answer streams raw audio as it is synthesised. The SSML is the one
 * the ACS channel plays (tts/ssml.h): voice, express-as style, prosody
 * rate, lexicon, telephone effect. With options {"auth":"token"} a token
 * from issueToken (10 minutes, renewed after 9) replaces the key on each
 * request. */
#include "tts/cloud.h"
#include "tts/ssml.h"

#include <string.h>

#define AZURE_DEFAULT_VOICE "en-US-AvaMultilingualNeural"
/* Plain text or SSML of one say(): Azure takes 64 KB of SSML; escaping
 * can grow a text several times. */
#define AZURE_TEXT_MAX 8000u
#define TOKEN_REUSE_MS (9u * 60u * 1000u)

typedef struct azure {
    Ccai_tts_cloud c;
    char *url;
    char *token_url;
    const char *format; /* X-Microsoft-OutputFormat */
    char *voice;
    char *voice_effect;
    char *lexicon_uri;
    double style_degree;
    bool use_token;
    char *token;
    uint64_t token_at;
} azure;

static const struct {
    Ccai_media_encoding enc;
    uint32_t rate;
    const char *name;
} formats[] = {
    {CCAI_MEDIA_ULAW, 8000, "raw-8khz-8bit-mono-mulaw"},
    {CCAI_MEDIA_ALAW, 8000, "raw-8khz-8bit-mono-alaw"},
    {CCAI_MEDIA_PCM16, 8000, "raw-8khz-16bit-mono-pcm"},
    {CCAI_MEDIA_PCM16, 16000, "raw-16khz-16bit-mono-pcm"},
    {CCAI_MEDIA_PCM16, 24000, "raw-24khz-16bit-mono-pcm"},
    {CCAI_MEDIA_PCM16, 48000, "raw-48khz-16bit-mono-pcm"},
};

/* The call's own format when Azure makes it, else PCM16 at the call's
 * rate, else 24 kHz (the neural voices' own rate). */
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

void Ccai_tts_azure_error(const char *body, size_t len, char *out, size_t outlen)
{
    /* {"error":{"code":"401","message":"Access denied ..."}}; the gateway's
     * older form {"statusCode":401,"message":"..."}; 400s may be bare text. */
    static const char *const paths[] = {"error.message", "message", "error.code", NULL};
    Ccai_tts_error_text(body, len, paths, out, outlen);
}

static Ccai_ssml_style style_of(const azure *a, const char *style)
{
    if (!style)
        return CCAI_SSML_STYLE_NONE;
    if (Ccai_strcasecmp(style, "cheerful") == 0)
        return CCAI_SSML_STYLE_CHEERFUL;
    if (Ccai_strcasecmp(style, "sad") == 0)
        return CCAI_SSML_STYLE_SAD;
    Ccai_log(&a->c.log, CCAI_LOG_DEBUG, "tts azure: style \"%s\" is not one the SSML builder has",
             style);
    return CCAI_SSML_STYLE_NONE;
}

static bool auth_header(azure *a, Ccai_tts_request *req)
{
    if (a->use_token)
        return Ccai_tts_request_header(req, "Authorization: Bearer %s", a->token);
    return Ccai_tts_request_header(req, "Ocp-Apim-Subscription-Key: %s", a->c.api_key);
}

static ccai_status build(Ccai_tts_cloud *c, const Ccai_tts_item *it, Ccai_tts_request *req)
{
    azure *a = (azure *)c;
    char *ssml = NULL;
    if (it->ssml) {
        ssml = Ccai_strdup(it->text);
    } else {
        Ccai_ssml_opts so = {
            .lang = it->lang,
            .voice = it->voice ? it->voice : a->voice,
            .voice_effect = a->voice_effect,
            .lexicon_uri = a->lexicon_uri,
            .style = style_of(a, it->style),
            .style_degree = a->style_degree,
            .prosody_rate = it->rate,
        };
        if (Ccai_ssml_build(it->text, &so, &ssml) != CCAI_OK)
            ssml = NULL;
    }
    if (!ssml)
        return CCAI_ERR_NOMEM;
    req->body = ssml;
    req->body_len = strlen(ssml);
    req->url = Ccai_strdup(a->url);
    bool ok = req->url && Ccai_tts_request_header(req, "Content-Type: application/ssml+xml") &&
              Ccai_tts_request_header(req, "X-Microsoft-OutputFormat: %s", a->format) &&
              Ccai_tts_request_header(req, "User-Agent: libccai/%s", CCAI_VERSION_STRING) &&
              auth_header(a, req);
    return ok ? CCAI_OK : CCAI_ERR_NOMEM;
}

static bool token_needed(Ccai_tts_cloud *c)
{
    azure *a = (azure *)c;
    return a->use_token &&
           (!a->token || Ccai_ctx_now(c->ctx) - a->token_at >= (uint64_t)TOKEN_REUSE_MS);
}

static ccai_status token_request(Ccai_tts_cloud *c, Ccai_tts_request *req)
{
    azure *a = (azure *)c;
    req->url = Ccai_strdup(a->token_url);
    bool ok = req->url &&
              Ccai_tts_request_header(req, "Ocp-Apim-Subscription-Key: %s", c->api_key) &&
              Ccai_tts_request_header(req, "Content-Type: application/x-www-form-urlencoded") &&
              Ccai_tts_request_header(req, "User-Agent: libccai/%s", CCAI_VERSION_STRING);
    return ok ? CCAI_OK : CCAI_ERR_NOMEM;
}

/* The body is the JWT itself (three base64url parts). */
static ccai_status token_set(Ccai_tts_cloud *c, const char *body, size_t len)
{
    azure *a = (azure *)c;
    while (len && Ccai_is_space((unsigned char)body[len - 1]))
        len--;
    if (!len || len > 8192)
        return CCAI_ERR_PARSE;
    for (size_t i = 0; i < len; i++) {
        char ch = body[i];
        if (!(Ccai_is_alpha(ch) || Ccai_is_digit(ch) || ch == '-' || ch == '_' || ch == '.'))
            return CCAI_ERR_PARSE;
    }
    char *t = Ccai_strndup(body, len);
    if (!t)
        return CCAI_ERR_NOMEM;
    ccai_free(a->token);
    a->token = t;
    a->token_at = Ccai_ctx_now(c->ctx);
    return CCAI_OK;
}

static void azure_free(Ccai_tts_cloud *c)
{
    azure *a = (azure *)c;
    ccai_free(a->url);
    ccai_free(a->token_url);
    ccai_free(a->voice);
    ccai_free(a->voice_effect);
    ccai_free(a->lexicon_uri);
    ccai_free(a->token);
}

static const Ccai_tts_cloud_ops azure_ops = {
    .max_text = AZURE_TEXT_MAX,
    .build = build,
    .error = Ccai_tts_azure_error,
    .token_needed = token_needed,
    .token_request = token_request,
    .token_set = token_set,
    .free = azure_free,
};

static bool configured(const Ccai_tts_config *cfg)
{
    return cfg && cfg->api_key && cfg->api_key[0] &&
           ((cfg->endpoint && cfg->endpoint[0]) || (cfg->region && cfg->region[0]));
}

static bool azure_speaks(const Ccai_tts_config *cfg, const char *lang)
{
    /* Neural voices cover some 140 languages, and the multilingual
     * default speaks the <lang> the document names. */
    return configured(cfg) && lang && lang[0];
}

/* Base URL without a trailing slash. */
static char *base_of(const char *endpoint)
{
    size_t n = strlen(endpoint);
    while (n && endpoint[n - 1] == '/')
        n--;
    return Ccai_strndup(endpoint, n);
}

static bool region_ok(const char *r)
{
    for (; *r; r++) {
        if (!(Ccai_is_alpha(*r) || Ccai_is_digit(*r)))
            return false;
    }
    return true;
}

static ccai_status read_options(azure *a, const Ccai_tts_config *cfg, const Ccai_logger *log)
{
    static const char *const known[] = {"auth",         "token_endpoint", "style_degree",
                                        "voice_effect", "lexicon_uri",    NULL};
    json_t *opts = NULL;
    ccai_status st = Ccai_tts_options("azure", cfg->options, known, log, &opts);
    if (st != CCAI_OK)
        return st;
    const char *auth = json_string_value(json_object_get(opts, "auth"));
    const json_t *deg = json_object_get(opts, "style_degree");
    const json_t *te = json_object_get(opts, "token_endpoint");
    const json_t *ve = json_object_get(opts, "voice_effect");
    const json_t *lx = json_object_get(opts, "lexicon_uri");
    st = CCAI_ERR_CONFIG;
    if ((json_object_get(opts, "auth") &&
         (!auth || (strcmp(auth, "key") && strcmp(auth, "token")))) ||
        (deg &&
         (!json_is_number(deg) || json_number_value(deg) < 0.01 || json_number_value(deg) > 2)) ||
        (te && !json_is_string(te)) || (ve && !json_is_string(ve)) || (lx && !json_is_string(lx))) {
        Ccai_log(log, CCAI_LOG_ERROR,
                 "tts azure: options: auth is \"key\" or \"token\", style_degree a number in "
                 "0.01..2, token_endpoint, voice_effect and lexicon_uri strings");
        goto out;
    }
    st = CCAI_ERR_NOMEM;
    a->use_token = auth && strcmp(auth, "token") == 0;
    a->style_degree = deg ? json_number_value(deg) : 0;
    if (ve && !(a->voice_effect = Ccai_strdup(json_string_value(ve))))
        goto out;
    if (lx && !(a->lexicon_uri = Ccai_strdup(json_string_value(lx))))
        goto out;
    if (a->use_token) {
        if (te)
            a->token_url = Ccai_strdup(json_string_value(te));
        else if (cfg->region && cfg->region[0])
            a->token_url = Ccai_asprintf(
                "https://%s.api.cognitive.microsoft.com/sts/v1.0/issueToken", cfg->region);
        else { /* a custom domain serves issueToken itself */
            char *b = base_of(cfg->endpoint);
            a->token_url = b ? Ccai_asprintf("%s/sts/v1.0/issueToken", b) : NULL;
            ccai_free(b);
        }
        if (!a->token_url)
            goto out;
    }
    st = CCAI_OK;
out:
    json_decref(opts);
    return st;
}

static ccai_status azure_open(ccai_ctx *ctx, const Ccai_tts_config *cfg, const Ccai_tts_open *o,
                              Ccai_tts **ret)
{
    if (!ctx || !cfg || !o || !o->audio || !o->done || !ret)
        return CCAI_ERR_INVALID_ARG;
    const Ccai_logger *log = o->log ? o->log : Ccai_ctx_logger(ctx);
    if (!configured(cfg)) {
        Ccai_log(log, CCAI_LOG_ERROR, "tts azure: api_key and a region or an endpoint are needed");
        return CCAI_ERR_CONFIG;
    }
    if (!(cfg->endpoint && cfg->endpoint[0]) && !region_ok(cfg->region)) {
        Ccai_log(log, CCAI_LOG_ERROR, "tts azure: the region is a name like westeurope");
        return CCAI_ERR_CONFIG;
    }
    azure *a = Ccai_calloc(1, sizeof *a);
    if (!a)
        return CCAI_ERR_NOMEM;
    a->c.base.provider = &Ccai_tts_azure;
    size_t f = pick_format(&o->call_out);
    a->format = formats[f].name;
    Ccai_media_format out = {formats[f].enc, formats[f].rate, 1};
    ccai_status st = Ccai_tts_cloud_init(&a->c, ctx, &azure_ops, cfg, o, out);
    if (st == CCAI_OK)
        st = read_options(a, cfg, log);
    if (st == CCAI_OK) {
        if (cfg->endpoint && cfg->endpoint[0]) {
            char *b = base_of(cfg->endpoint);
            a->url = b ? Ccai_asprintf("%s/cognitiveservices/v1", b) : NULL;
            ccai_free(b);
        } else {
            a->url = Ccai_asprintf("https://%s.tts.speech.microsoft.com/cognitiveservices/v1",
                                   cfg->region);
        }
        a->voice = Ccai_strdup(cfg->voice && cfg->voice[0] ? cfg->voice : AZURE_DEFAULT_VOICE);
        if (!a->url || !a->voice)
            st = CCAI_ERR_NOMEM;
    }
    if (st != CCAI_OK) {
        Ccai_tts_cloud_close(&a->c.base);
        return st;
    }
    *ret = &a->c.base;
    return CCAI_OK;
}

const Ccai_tts_provider Ccai_tts_azure = {
    .name = "azure",
    .caps = CCAI_TTS_STREAMING | CCAI_TTS_SSML | CCAI_TTS_LANG_VOICE,
    .speaks = azure_speaks,
    .open = azure_open,
    .say = Ccai_tts_cloud_say,
    .cancel = Ccai_tts_cloud_cancel,
    .close = Ccai_tts_cloud_close,
};
