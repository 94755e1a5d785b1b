/* OpenAI /v1/audio/transcriptions per utterance behind stt/stt.h: end()
 * uploads the utterance as a WAV file (multipart/form-data: file, model,
 * language, prompt from the hints, response_format json) and its text is
 * the FINAL. media.md 4.3; docs/speech-to-text.md. */
#include "stt/cloud.h"
#include "stt/utterance.h"

#include "core/json.h"

#include <stdio.h>
#include <string.h>

#define OA_DEFAULT_ENDPOINT "https://api.openai.com"
#define OA_DEFAULT_MODEL    "gpt-4o-transcribe"
/* 25 MB per upload (OpenAI's guide); 10 min of 16 kHz PCM is 19.2 MB. */
#define OA_MAX_AUDIO (19200000u)

void Ccai_oa_answer_free(Ccai_oa_answer *a)
{
    if (!a)
        return;
    ccai_free(a->text);
    ccai_free(a->lang);
    ccai_free(a->error);
    memset(a, 0, sizeof *a);
}

ccai_status Ccai_oa_parse(const char *s, size_t len, Ccai_oa_answer *a)
{
    memset(a, 0, sizeof *a);
    a->confidence = -1;
    ccai_status st;
    json_t *root = Ccai_stt_json_answer(s, len, &a->error, &st);
    if (!root)
        return st;
    st = CCAI_ERR_PARSE;
    bool nomem = false;
    if (!Ccai_stt_json_str(root, "text", &a->text, &nomem) ||
        !Ccai_stt_json_str(root, "language", &a->lang, &nomem))
        goto out;
    if (!a->text && !a->error)
        goto out; /* neither an answer nor an error */
    st = CCAI_OK;
out:
    json_decref(root);
    if (nomem)
        st = CCAI_ERR_NOMEM;
    if (st != CCAI_OK)
        Ccai_oa_answer_free(a);
    return st;
}

static bool part(Ccai_buf *b, const char *boundary, const char *name, const char *value)
{
    return Ccai_buf_printf(b, "--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n",
                           boundary, name, value);
}

/* Extra form fields from the options: name=value&name=value. */
static bool option_parts(Ccai_buf *b, const char *boundary, const char *options)
{
    const char *p = options;
    while (p && *p) {
        const char *amp = strchr(p, '&');
        size_t n = amp ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', n);
        if (eq && eq > p) {
            char name[64], value[256];
            snprintf(name, sizeof name, "%.*s", (int)(eq - p), p);
            snprintf(value, sizeof value, "%.*s", (int)(p + n - eq - 1), eq + 1);
            if (!part(b, boundary, name, value))
                return false;
        }
        p = amp ? amp + 1 : NULL;
    }
    return true;
}

static ccai_status oa_body(Ccai_stt_utt *u, const uint8_t *wav, size_t len, Ccai_buf *out,
                           char **content_type)
{
    char boundary[40];
    char token[25];
    if (!Ccai_random_token(token, sizeof token - 1))
        return CCAI_ERR_INTERNAL;
    snprintf(boundary, sizeof boundary, "ccai-%s", token);
    char lang[16];
    Ccai_stt_lang_primary(u->lang, lang, sizeof lang);
    const char *options = u->options;
    bool ok = Ccai_buf_printf(out,
                              "--%s\r\nContent-Disposition: form-data; name=\"file\"; "
                              "filename=\"turn.wav\"\r\nContent-Type: audio/wav\r\n\r\n",
                              boundary) &&
              Ccai_buf_append(out, wav, len) && Ccai_buf_puts(out, "\r\n") &&
              part(out, boundary, "model", u->model ? u->model : OA_DEFAULT_MODEL) &&
              (!lang[0] || part(out, boundary, "language", lang)) &&
              (!u->prompt || part(out, boundary, "prompt", u->prompt)) &&
              part(out, boundary, "response_format", "json") &&
              option_parts(out, boundary, options) && Ccai_buf_printf(out, "--%s--\r\n", boundary);
    Ccai_buf ct = {0};
    ok = ok && Ccai_buf_printf(&ct, "multipart/form-data; boundary=%s", boundary);
    *content_type = ok ? Ccai_buf_steal(&ct) : NULL;
    Ccai_buf_free(&ct);
    return ok && *content_type ? CCAI_OK : CCAI_ERR_NOMEM;
}

static void oa_answer(Ccai_stt_utt *u, const char *body, size_t len, uint32_t audio_ms)
{
    Ccai_oa_answer a;
    ccai_status st = Ccai_oa_parse(body, len, &a);
    if (st != CCAI_OK || !a.text) {
        Ccai_stt_queue_error(&u->q, st == CCAI_OK ? CCAI_ERR_PARSE : st, false,
                             "openai: an unreadable answer (%zu bytes)", len);
        Ccai_oa_answer_free(&a);
        return;
    }
    char lang[16];
    Ccai_stt_lang_primary(u->lang, lang, sizeof lang);
    Ccai_stt_queue_text(&u->q, CCAI_STT_FINAL, a.text, a.confidence,
                        a.lang ? a.lang : (lang[0] ? lang : NULL), true, audio_ms);
    Ccai_oa_answer_free(&a);
}

static const Ccai_stt_utt_class oa_class = {
    .provider = &Ccai_stt_openai,
    .name = "openai",
    .max_audio_bytes = OA_MAX_AUDIO,
    .body = oa_body,
    .answer = oa_answer,
};

static ccai_status oa_open(ccai_ctx *ctx, const Ccai_stt_config *cfg, const Ccai_stt_open *o,
                           Ccai_stt **ret)
{
    if (!cfg->api_key || !*cfg->api_key) {
        Ccai_ctx_set_error(ctx, "speech.stt.openai.api_key is required");
        return CCAI_ERR_CONFIG;
    }
    if (cfg->options && !Ccai_stt_query_ok(cfg->options)) {
        Ccai_ctx_set_error(ctx, "speech.stt.openai.options: form fields (a=b&c=d) without "
                                "spaces");
        return CCAI_ERR_CONFIG;
    }
    const char *ep = cfg->endpoint && *cfg->endpoint ? cfg->endpoint : OA_DEFAULT_ENDPOINT;
    size_t eplen = strlen(ep);
    while (eplen && ep[eplen - 1] == '/')
        eplen--;
    Ccai_buf url = {0}, auth = {0};
    bool ok = Ccai_buf_printf(&url, "%.*s/v1/audio/transcriptions", (int)eplen, ep) &&
              Ccai_buf_printf(&auth, "Authorization: Bearer %s", cfg->api_key);
    /* PCM16 at the call's rate when it is a telephony one, else 16 kHz. */
    uint32_t rate = o->call_in.rate == 8000 || o->call_in.rate == 16000 || o->call_in.rate == 24000
                        ? o->call_in.rate
                        : 16000;
    ccai_status st = ok ? Ccai_stt_utt_open(ctx, &oa_class, cfg, o,
                                            (Ccai_media_format){CCAI_MEDIA_PCM16, rate, 1},
                                            url.data, auth.data, ret)
                        : CCAI_ERR_NOMEM;
    Ccai_buf_free(&url);
    Ccai_buf_free(&auth);
    return st;
}

static bool oa_speaks(const Ccai_stt_config *cfg, const char *lang)
{
    CCAI_UNUSED(cfg);
    return lang && *lang; /* the models are multilingual */
}

const Ccai_stt_provider Ccai_stt_openai = {
    .name = "openai",
    .caps = CCAI_STT_HINTS,
    .speaks = oa_speaks,
    .open = oa_open,
    .feed = Ccai_stt_utt_feed,
    .end = Ccai_stt_utt_end,
    .cancel = Ccai_stt_utt_cancel,
    .expect = Ccai_stt_utt_expect,
    .close = Ccai_stt_utt_close,
};
