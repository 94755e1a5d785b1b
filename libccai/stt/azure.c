/* Azure AI Speech, speech to text REST for short audio, per utterance,
 * behind stt/stt.h: end() posts the utterance as a 16 kHz PCM WAV file to
 * /speech/recognition/conversation/cognitiveservices/v1?language=..
 * &format=detailed with Ocp-Apim-Subscription-Key; RecognitionStatus
 * Success gives the best NBest entry (Display, Confidence), NoMatch and the
 * timeouts an empty FINAL. Only final results; at most 60 s of audio.
 * media.md 4.2; docs/speech-to-text.md. */
#include "stt/cloud.h"
#include "stt/utterance.h"

#include "core/json.h"

#include <stdio.h>
#include <string.h>

#define AZ_RATE      16000u
#define AZ_MAX_AUDIO (60u * AZ_RATE * 2u) /* 60 s of 16 kHz PCM16 */

void Ccai_az_answer_free(Ccai_az_answer *a)
{
    if (!a)
        return;
    ccai_free(a->status);
    ccai_free(a->text);
    ccai_free(a->error);
    memset(a, 0, sizeof *a);
}

ccai_status Ccai_az_parse(const char *s, size_t len, Ccai_az_answer *a)
{
    memset(a, 0, sizeof *a);
    a->confidence = -1;
    ccai_status st;
    json_t *root = Ccai_stt_json_answer(s, len, &a->error, &st);
    if (!root)
        return st;
    st = CCAI_ERR_PARSE;
    bool nomem = false;
    if (!Ccai_stt_json_str(root, "RecognitionStatus", &a->status, &nomem))
        goto out;
    json_t *nbest = json_object_get(root, "NBest");
    if (nbest && !json_is_null(nbest)) {
        if (!json_is_array(nbest))
            goto out;
        json_t *best = json_array_get(nbest, 0);
        if (best) {
            if (!json_is_object(best) || !Ccai_stt_json_str(best, "Display", &a->text, &nomem))
                goto out;
            json_t *c = json_object_get(best, "Confidence");
            if (c && !json_is_number(c))
                goto out;
            if (c)
                a->confidence = json_number_value(c);
            if (a->confidence < 0 || a->confidence > 1)
                a->confidence = -1;
        }
    }
    if (!a->text && !Ccai_stt_json_str(root, "DisplayText", &a->text, &nomem))
        goto out;
    json_t *d = json_object_get(root, "Duration");
    if (json_is_integer(d) && json_integer_value(d) > 0)
        a->duration_ms = (uint64_t)json_integer_value(d) / 10000u;
    if (!a->status && !a->error)
        goto out;
    st = CCAI_OK;
out:
    json_decref(root);
    if (nomem)
        st = CCAI_ERR_NOMEM;
    if (st != CCAI_OK)
        Ccai_az_answer_free(a);
    return st;
}

static ccai_status az_body(Ccai_stt_utt *u, const uint8_t *wav, size_t len, Ccai_buf *out,
                           char **content_type)
{
    CCAI_UNUSED(u);
    *content_type = Ccai_strdup("audio/wav; codecs=audio/pcm; samplerate=16000");
    if (!*content_type || !Ccai_buf_append(out, wav, len))
        return CCAI_ERR_NOMEM;
    return CCAI_OK;
}

static void az_answer(Ccai_stt_utt *u, const char *body, size_t len, uint32_t audio_ms)
{
    Ccai_az_answer a;
    ccai_status st = Ccai_az_parse(body, len, &a);
    if (st != CCAI_OK || !a.status) {
        Ccai_stt_queue_error(&u->q, st == CCAI_OK ? CCAI_ERR_PARSE : st, false,
                             "azure: an unreadable answer (%zu bytes)", len);
        Ccai_az_answer_free(&a);
        return;
    }
    if (strcmp(a.status, "Success") == 0) {
        Ccai_stt_queue_text(&u->q, CCAI_STT_FINAL, a.text ? a.text : "", a.confidence, u->lang,
                            true, audio_ms);
    } else if (strcmp(a.status, "NoMatch") == 0 || strcmp(a.status, "InitialSilenceTimeout") == 0 ||
               strcmp(a.status, "BabbleTimeout") == 0) {
        /* Speech the service could not match, or none: nothing heard. */
        Ccai_stt_queue_text(&u->q, CCAI_STT_FINAL, "", -1, u->lang, true, audio_ms);
    } else {
        /* "Error" (the service failed on this utterance) or a status
         * this code does not know: said, the stream goes on. */
        Ccai_stt_queue_error(&u->q, CCAI_ERR_HTTP, false, "azure: RecognitionStatus %.60s",
                             a.status);
    }
    Ccai_az_answer_free(&a);
}

static const Ccai_stt_utt_class az_class = {
    .provider = &Ccai_stt_azure,
    .name = "azure",
    .max_audio_bytes = AZ_MAX_AUDIO,
    .body = az_body,
    .answer = az_answer,
};

static ccai_status az_open(ccai_ctx *ctx, const Ccai_stt_config *cfg, const Ccai_stt_open *o,
                           Ccai_stt **ret)
{
    if (!cfg->api_key || !*cfg->api_key) {
        Ccai_ctx_set_error(ctx, "speech.stt.azure.api_key is required");
        return CCAI_ERR_CONFIG;
    }
    bool has_ep = cfg->endpoint && *cfg->endpoint;
    if (!has_ep && (!cfg->region || !*cfg->region)) {
        Ccai_ctx_set_error(ctx, "speech.stt.azure.region (or .endpoint) is required");
        return CCAI_ERR_CONFIG;
    }
    if (cfg->region && !Ccai_stt_query_ok(cfg->region)) {
        Ccai_ctx_set_error(ctx, "speech.stt.azure.region: a region name (\"westeurope\")");
        return CCAI_ERR_CONFIG;
    }
    if (cfg->options && !Ccai_stt_query_ok(cfg->options)) {
        Ccai_ctx_set_error(ctx, "speech.stt.azure.options: query parameters (a=b&c=d) "
                                "without spaces");
        return CCAI_ERR_CONFIG;
    }
    if (!o->lang || !*o->lang) {
        Ccai_ctx_set_error(ctx, "azure speech to text: the call has no language");
        return CCAI_ERR_UNSUPPORTED;
    }
    Ccai_buf url = {0}, auth = {0};
    bool ok = true;
    if (has_ep) {
        size_t n = strlen(cfg->endpoint);
        while (n && cfg->endpoint[n - 1] == '/')
            n--;
        ok = Ccai_buf_printf(&url, "%.*s", (int)n, cfg->endpoint);
    } else {
        ok = Ccai_buf_printf(&url, "https://%s.stt.speech.microsoft.com", cfg->region);
    }
    ok = ok &&
         Ccai_buf_puts(&url, "/speech/recognition/conversation/cognitiveservices/v1?language=") &&
         Ccai_stt_url_escape(&url, o->lang) && Ccai_buf_puts(&url, "&format=detailed") &&
         (!cfg->options || !*cfg->options || Ccai_buf_printf(&url, "&%s", cfg->options)) &&
         Ccai_buf_printf(&auth, "Ocp-Apim-Subscription-Key: %s", cfg->api_key);
    ccai_status st = ok ? Ccai_stt_utt_open(ctx, &az_class, cfg, o,
                                            (Ccai_media_format){CCAI_MEDIA_PCM16, AZ_RATE, 1},
                                            url.data, auth.data, ret)
                        : CCAI_ERR_NOMEM;
    Ccai_buf_free(&url);
    Ccai_buf_free(&auth);
    return st;
}

static bool az_speaks(const Ccai_stt_config *cfg, const char *lang)
{
    CCAI_UNUSED(cfg);
    /* The locale goes as it is; one the service lacks gets HTTP 400. */
    return lang && *lang;
}

const Ccai_stt_provider Ccai_stt_azure = {
    .name = "azure",
    .caps = 0,
    .speaks = az_speaks,
    .open = az_open,
    .feed = Ccai_stt_utt_feed,
    .end = Ccai_stt_utt_end,
    .cancel = Ccai_stt_utt_cancel,
    .expect = NULL,
    .close = Ccai_stt_utt_close,
};
