/* Audio calls: the speech providers of a call, opened along their chains
 * (speech.stt.providers, speech.tts.providers), and the fallback to the
 * next one when a provider fails mid-call (voice_int.h). */
#include "voice/voice_int.h"

#include <stdio.h>
#include <string.h>

static const Ccai_stt_provider *find_stt(const Ccai_voice *v, const char *name)
{
    for (size_t i = 0; i < v->n_extra_stt; i++) {
        if (strcmp(v->extra_stt[i]->name, name) == 0)
            return v->extra_stt[i];
    }
    return Ccai_stt_provider_find(name);
}

static const Ccai_tts_provider *find_tts(const Ccai_voice *v, const char *name)
{
    for (size_t i = 0; i < v->n_extra_tts; i++) {
        if (strcmp(v->extra_tts[i]->name, name) == 0)
            return v->extra_tts[i];
    }
    return Ccai_tts_provider_find(name);
}

static const char *cfg_str(const Ccai_voice *v, const char *kind, const char *name,
                           const char *field)
{
    char key[128];
    snprintf(key, sizeof key, "speech.%s.%s.%s", kind, name, field);
    return Ccai_config_str(v->cfg, key);
}

/* Open the first STT provider of the chain from index from that speaks the
 * call's language. */
ccai_status Ccai_voice_stt_open(vcall *vc, size_t from)
{
    Ccai_voice *v = vc->v;
    ccai_status st = CCAI_ERR_CONFIG;
    for (size_t i = from; i < v->stt.n; i++) {
        const char *name = v->stt.names[i];
        const Ccai_stt_provider *p = find_stt(v, name);
        Ccai_stt_config cfg = {
            .endpoint = cfg_str(v, "stt", name, "endpoint"),
            .api_key = cfg_str(v, "stt", name, "api_key"),
            .region = cfg_str(v, "stt", name, "region"),
            .model = cfg_str(v, "stt", name, "model"),
            .options = cfg_str(v, "stt", name, "options"),
        };
        if (!p || (p->speaks && !p->speaks(&cfg, vc->lang))) {
            Ccai_log(&v->log, p ? CCAI_LOG_DEBUG : CCAI_LOG_WARN, "call %s: stt %s: %s",
                     ccai_call_id(vc->call), name,
                     p ? "does not hear the call's language" : "no such provider in this build");
            continue;
        }
        /* The call's own encoding: a provider that takes it as it is
         * (G.711 for Deepgram, OpenAI Realtime) gets the frames encoded
         * back to it, half the bytes of PCM16. */
        Ccai_stt_open o = {
            vc->lang, {vc->in.encoding, vc->in.rate, 1}, &v->log, Ccai_voice_on_stt, vc};
        Ccai_stt *s = NULL;
        st = p->open(vc->ctx, &cfg, &o, &s);
        if (st != CCAI_OK) {
            Ccai_log(&v->log, CCAI_LOG_WARN, "call %s: stt %s: %s: %s", ccai_call_id(vc->call),
                     name, ccai_status_str(st), Ccai_ctx_error(vc->ctx));
            continue;
        }
        Ccai_media_converter *conv = NULL;
        if (!Ccai_media_format_equal(&vc->mono, &s->in) &&
            Ccai_media_converter_new(&vc->mono, &s->in, CCAI_RESAMPLE_QUALITY_DEFAULT, &conv) !=
                CCAI_OK) {
            p->close(s);
            st = CCAI_ERR_NOMEM;
            continue;
        }
        vc->stt = s;
        vc->stt_prov = p;
        vc->stt_idx = i;
        vc->stt_conv = conv;
        return CCAI_OK;
    }
    return st;
}

void Ccai_voice_stt_close(vcall *vc)
{
    Ccai_stt_close(vc->stt);
    vc->stt = NULL;
    Ccai_media_converter_free(vc->stt_conv);
    vc->stt_conv = NULL;
}

ccai_status Ccai_voice_tts_open(vcall *vc, size_t from)
{
    Ccai_voice *v = vc->v;
    ccai_status st = CCAI_ERR_CONFIG;
    for (size_t i = from; i < v->tts.n; i++) {
        const char *name = v->tts.names[i];
        const Ccai_tts_provider *p = find_tts(v, name);
        Ccai_tts_config cfg = {
            .endpoint = cfg_str(v, "tts", name, "endpoint"),
            .api_key = cfg_str(v, "tts", name, "api_key"),
            .region = cfg_str(v, "tts", name, "region"),
            .model = cfg_str(v, "tts", name, "model"),
            .voice = cfg_str(v, "tts", name, "voice"),
            .options = cfg_str(v, "tts", name, "options"),
        };
        /* A cloud voice without its key says no to every language: a
         * setting missing, not a language. */
        bool no_key = p && !(p->caps & CCAI_TTS_LOCAL) && (!cfg.api_key || !*cfg.api_key);
        if (!p || (p->speaks && !p->speaks(&cfg, vc->lang))) {
            Ccai_log(&v->log, p && !no_key ? CCAI_LOG_DEBUG : CCAI_LOG_WARN,
                     "call %s: tts %s: %s%s%s", ccai_call_id(vc->call), name,
                     !p       ? "no such provider in this build"
                     : no_key ? "skipped: speech.tts."
                              : "does not speak the call's language",
                     no_key ? name : "", no_key ? ".api_key is not set" : "");
            continue;
        }
        Ccai_tts_open o = {
            vc->lang, vc->out, &v->log, Ccai_voice_on_tts_audio, Ccai_voice_on_tts_done, vc};
        Ccai_tts *t = NULL;
        st = p->open(vc->ctx, &cfg, &o, &t);
        if (st != CCAI_OK) {
            Ccai_log(&v->log, CCAI_LOG_WARN, "call %s: tts %s: %s: %s", ccai_call_id(vc->call),
                     name, ccai_status_str(st), Ccai_ctx_error(vc->ctx));
            continue;
        }
        Ccai_media_converter *conv = NULL;
        if (!Ccai_media_format_equal(&t->out, &vc->out) &&
            Ccai_media_converter_new(&t->out, &vc->out, CCAI_RESAMPLE_QUALITY_DEFAULT, &conv) !=
                CCAI_OK) {
            p->close(t);
            st = CCAI_ERR_NOMEM;
            continue;
        }
        vc->tts = t;
        vc->tts_prov = p;
        vc->tts_idx = i;
        vc->tts_gen++;
        vc->out_conv = conv;
        return CCAI_OK;
    }
    return st;
}

void Ccai_voice_tts_close(vcall *vc)
{
    Ccai_tts_close(vc->tts);
    vc->tts = NULL;
    Ccai_media_converter_free(vc->out_conv);
    vc->out_conv = NULL;
}

/* The TTS stream failed: the next provider of the chain speaks what is
 * left (the sentence that failed from the words not delivered yet, and
 * every sentence after it). */
void Ccai_voice_tts_fallback(vcall *vc, const char *why)
{
    Ccai_log(&vc->v->log, CCAI_LOG_WARN, "call %s: tts %s failed (%s): falling back",
             ccai_call_id(vc->call), vc->tts_prov ? vc->tts_prov->name : "?", why);
    size_t next = vc->tts_idx + 1;
    Ccai_voice_tts_close(vc);
    if (Ccai_voice_tts_open(vc, next) != CCAI_OK) {
        Ccai_log(&vc->v->log, CCAI_LOG_ERROR, "call %s: no speech synthesiser left",
                 ccai_call_id(vc->call));
        Ccai_voice_notify(vc, CCAI_EVENT_SAY_FAILED, "no speech synthesiser left");
        return;
    }
    for (sentence *s = vc->q; s; s = s->next) {
        if (s->done)
            continue;
        /* What was delivered of it was heard (or is being): the rest. */
        char *rest = NULL;
        if (s->audio_ms) {
            uint64_t guess = strlen(s->text) * TEXT_MS_PER_CHR;
            char *said =
                Ccai_voice_heard_words(s->text, s->audio_ms, guess > s->audio_ms ? guess : 0);
            rest = Ccai_strdup(said ? s->text + strlen(said) : s->text);
            ccai_free(said);
        }
        const char *text = rest ? rest : s->text;
        while (*text == ' ')
            text++;
        if (!*text) {
            s->done = true;
            ccai_free(rest);
            continue;
        }
        Ccai_voice_tts_send(vc, s, text);
        ccai_free(rest);
    }
}

void Ccai_voice_stt_fallback(vcall *vc, const char *why)
{
    Ccai_log(&vc->v->log, CCAI_LOG_WARN, "call %s: stt %s failed (%s): falling back",
             ccai_call_id(vc->call), vc->stt_prov ? vc->stt_prov->name : "?", why);
    size_t next = vc->stt_idx + 1;
    Ccai_voice_stt_close(vc);
    if (Ccai_voice_stt_open(vc, next) != CCAI_OK) {
        Ccai_log(&vc->v->log, CCAI_LOG_ERROR, "call %s: no speech recogniser left",
                 ccai_call_id(vc->call));
        Ccai_voice_stt_span_end(vc, "no speech recogniser left", true);
        Ccai_voice_partial_reset(vc, false);
        if (vc->utt_ended)
            Ccai_voice_notify(vc, CCAI_EVENT_NOT_UNDERSTOOD, "no speech recogniser left");
        vc->utt_open = vc->utt_ended = false;
        return;
    }
    /* The answer type, and the utterance in progress again, to the new
     * recogniser. */
    if (vc->expect != CCAI_STT_FREE)
        Ccai_voice_expect_next(vc, vc->expect, NULL, 0);
    if (vc->utt_open || vc->utt_ended) {
        Ccai_voice_stt_feed(vc, (const int16_t *)(const void *)vc->utt.data, vc->utt.len / 2);
        if (vc->utt_ended)
            Ccai_voice_end_utterance(vc);
    }
}
