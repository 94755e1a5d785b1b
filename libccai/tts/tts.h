/* Text-to-speech providers behind one interface: what the voice layer
 * (libccai/voice/) uses without knowing the vendor.
 *
 * A stream (Ccai_tts) is one call's voice, opened when the call starts in
 * audio mode and closed when it ends. The voice layer hands it the bot's
 * sentences as the LLM streams them (say(): one sentence or a few, text or
 * SSML, with the voice, style and rate of the call's language); the
 * stream synthesises them in order and delivers audio as it arrives
 * (Ccai_tts_audio_fn), in the format it announced (Ccai_tts.out, set by
 * open(): the voice layer converts it to the call's). The first audio of a
 * sentence leaves before the next sentence is synthesised, so the caller
 * hears the bot before the LLM has finished.
 *
 * cancel() stops everything at once (barge-in): the request or message in
 * flight is aborted (HTTP request cancelled, WebSocket message dropped),
 * queued sentences are dropped, and no audio callback follows; each
 * dropped sentence's done comes with CCAI_ERR_CANCELLED.
 *
 * Everything runs on the context's loop and thread (the io layer's HTTP
 * client, WebSocket client, fds and timers): no call blocks, no thread.
 * Callbacks run from the loop, never from inside open(), say() or
 * cancel() (except cancel()'s own done callbacks), so the voice layer may
 * call any stream function, even close(), from inside them.
 *
 * Failures: a sentence that cannot be spoken (HTTP 429/5xx after the
 * provider's retries, a connection dropped mid-sentence, a timeout before
 * the first byte) ends with done(status != OK, fatal?). The voice layer
 * then speaks the sentence's remaining text with the next provider of the
 * chain (the offline flite at the end), so the caller never gets dead
 * air; audio_ms_delivered in the done tells it how much was heard. */
#ifndef CCAI_TTS_TTS_H
#define CCAI_TTS_TTS_H

#include "core/common.h"
#include "media/codec.h"

typedef struct Ccai_tts Ccai_tts;
typedef struct Ccai_tts_provider Ccai_tts_provider;

typedef struct Ccai_tts_text {
    const char *text; /* plain text (ssml false) or an SSML <speak> document */
    bool ssml;
    const char *lang;  /* BCP 47 ("fr-FR") */
    const char *voice; /* provider's voice name; NULL: its default for lang */
    const char *style; /* "cheerful", "sad" or NULL */
    double rate;       /* 0.5 .. 2 (1: normal) */
} Ccai_tts_text;

/* Audio of sentence id, in Ccai_tts.out (any length; whole samples). */
typedef void (*Ccai_tts_audio_fn)(Ccai_tts *t, uint32_t id, const uint8_t *audio, size_t len,
                                  void *ud);

typedef struct Ccai_tts_done {
    uint32_t id;
    ccai_status status;     /* CCAI_OK: all its audio was delivered */
    bool fatal;             /* the stream cannot go on: close it (fall back) */
    const char *errmsg;     /* status != OK: why (no secrets) */
    uint32_t audio_ms;      /* audio delivered for it */
    uint32_t first_byte_ms; /* say() -> first audio, 0 when none */
} Ccai_tts_done;

typedef void (*Ccai_tts_done_fn)(Ccai_tts *t, const Ccai_tts_done *d, void *ud);

typedef struct Ccai_tts_config {
    const char *endpoint;           /* base URL */
    const char *api_key;            /* secret: never logged */
    const char *region;             /* Azure */
    const char *model;              /* "tts-1", "eleven_flash_v2_5", ... */
    const char *voice;              /* default voice when a text names none */
    const char *options;            /* extra provider settings (may be NULL) */
    uint32_t connect_timeout_ms;    /* 0: 5000 */
    uint32_t first_byte_timeout_ms; /* 0: 5000 */
} Ccai_tts_config;

typedef struct Ccai_tts_open {
    const char *lang;           /* the call's language */
    Ccai_media_format call_out; /* the call's audio, for a provider that can
                                   produce it as it is (mu-law 8 kHz) */
    const Ccai_logger *log;
    Ccai_tts_audio_fn audio;
    Ccai_tts_done_fn done;
    void *ud;
} Ccai_tts_open;

#define CCAI_TTS_STREAMING (1u << 0) /* audio arrives while it is synthesised */
#define CCAI_TTS_SSML      (1u << 1) /* takes SSML */
#define CCAI_TTS_LOCAL     (1u << 2) /* no network: the fallback's end */
/* The call language's voice (lang availables[].voice, which names Azure
 * neural voices, as the ACS channel's SSML does) is one of its voices;
 * the other providers speak with their speech.tts.<name>.voice. */
#define CCAI_TTS_LANG_VOICE (1u << 3)

struct Ccai_tts_provider {
    const char *name; /* "azure", "openai", "elevenlabs", "flite", "espeak" */
    unsigned caps;
    bool (*speaks)(const Ccai_tts_config *cfg, const char *lang);
    /* Statuses: CCAI_OK; CCAI_ERR_CONFIG; CCAI_ERR_UNSUPPORTED; CCAI_ERR_NOMEM. */
    ccai_status (*open)(ccai_ctx *ctx, const Ccai_tts_config *cfg, const Ccai_tts_open *o,
                        Ccai_tts **ret);
    /* Queue a text; *ret_id names it in the callbacks. Statuses: CCAI_OK;
     * CCAI_ERR_LIMIT (too long or too many queued); CCAI_ERR_STATE (after
     * a fatal done); CCAI_ERR_NOMEM; CCAI_ERR_INVALID_ARG (no text, or
     * only white space); CCAI_ERR_UNSUPPORTED (SSML to a provider without
     * CCAI_TTS_SSML). */
    ccai_status (*say)(Ccai_tts *t, const Ccai_tts_text *text, uint32_t *ret_id);
    void (*cancel)(Ccai_tts *t);
    /* No callback after it; NULL accepted. */
    void (*close)(Ccai_tts *t);
};

struct Ccai_tts {
    const Ccai_tts_provider *provider;
    Ccai_media_format out; /* the audio it delivers, set by open() */
};

const Ccai_tts_provider *Ccai_tts_provider_find(const char *name);

static inline ccai_status Ccai_tts_say(Ccai_tts *t, const Ccai_tts_text *text, uint32_t *ret_id)
{
    return t->provider->say(t, text, ret_id);
}
static inline void Ccai_tts_cancel(Ccai_tts *t)
{
    t->provider->cancel(t);
}
static inline void Ccai_tts_close(Ccai_tts *t)
{
    if (t)
        t->provider->close(t);
}

#endif
