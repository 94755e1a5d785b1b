/* Speech-to-text providers behind one interface: what the voice layer
 * (libccai/voice/) uses without knowing the vendor.
 *
 * A provider is a table of functions (Ccai_stt_provider); a stream
 * (Ccai_stt) is one call's recogniser, opened when the call starts in audio
 * mode (or when the voice layer falls back to the next provider of the
 * chain) and closed when the call ends. Everything runs on the context's
 * loop and thread: a provider's I/O goes through the io layer (Ccai_http_*,
 * the WebSocket client, Ccai_fd_watch, Ccai_timer_*); no call here blocks,
 * no provider starts a thread.
 *
 * The voice layer drives a stream with the caller's turn-taking:
 *   feed()    audio as it arrives, in the format the stream asked for
 *             (Ccai_stt.in, filled by open(): the voice layer converts the
 *             call's audio to it). A streaming provider sends it on at
 *             once; a per-utterance provider (OpenAI /v1/audio/
 *             transcriptions, Azure short audio REST) keeps the current
 *             utterance (it starts with the first feed after an end).
 *   end()     the voice layer's VAD says the caller stopped: finish the
 *             utterance; its FINAL follows (streaming: the provider's
 *             finalisation, e.g. Deepgram's Finalize; per utterance: the
 *             request goes out now). Every end() is answered by one FINAL
 *             (text "" when nothing was heard) or one ERROR.
 *   cancel()  drop the current utterance: no FINAL for it (the bot is not
 *             listening, e.g. an echo or a false start).
 *   expect()  what the next utterance should be (an answer type and its
 *             choices), a hint: a provider that takes hints uses it
 *             (pocketsphinx's grammars, Deepgram keywords, a Whisper
 *             prompt), others ignore it.
 * A provider that hears the end of an utterance itself (Deepgram
 * speech_final / UtteranceEnd, OpenAI Realtime's server VAD) reports
 * CCAI_STT_SPEECH_STARTED / CCAI_STT_FINAL on its own, before any end():
 * the voice layer then takes its turn boundary (caps CCAI_STT_ENDPOINTING);
 * an end() that follows such a FINAL is answered with an empty FINAL.
 *
 * Failures: an ERROR result (status: CCAI_ERR_IO for a broken connection,
 * CCAI_ERR_HTTP for a refusal such as 401/429, CCAI_ERR_TIMEOUT, ...,
 * fatal true when the stream is unusable) is how a provider dies mid-call;
 * the voice layer then opens the next provider of the chain and gives it
 * the utterance's audio again (it keeps the audio of the utterance in
 * progress), so the caller never gets dead air. After a fatal ERROR the
 * stream is only closed.
 *
 * Memory: the library's allocator (Ccai_malloc ...). Callbacks: the
 * sink's function runs from the loop (never from inside open(), feed(),
 * end(), expect() or cancel(): a provider that has a result at once
 * delivers it from a 0 ms timer), so the voice layer may call any stream
 * function, even close(), from inside it. */
#ifndef CCAI_STT_STT_H
#define CCAI_STT_STT_H

#include "core/common.h"
#include "media/codec.h"

typedef struct Ccai_stt Ccai_stt;
typedef struct Ccai_stt_provider Ccai_stt_provider;

/* What an utterance is expected to be (the offline dialogue knows: it
 * asked for a date, a yes/no, digits...). Values match speech/grammar.h's
 * Ccai_speech_kind where both exist. */
typedef enum Ccai_stt_kind {
    CCAI_STT_FREE = 0,   /* free text */
    CCAI_STT_YESNO = 1,  /* yes / no */
    CCAI_STT_DIGITS = 2, /* a number spoken digit by digit (phone, policy) */
    CCAI_STT_NUMBER = 3, /* a number ("twenty three") */
    CCAI_STT_DATE = 4,   /* a date ("the third of May") */
    CCAI_STT_TIME = 5,   /* a time of day */
    CCAI_STT_EMAIL = 6,  /* an e-mail address, possibly spelled */
    CCAI_STT_CHOICE = 7, /* one of choices[] */
} Ccai_stt_kind;

typedef struct Ccai_stt_expect {
    Ccai_stt_kind kind;
    const char *const *choices; /* CCAI_STT_CHOICE: the choices' words */
    size_t n_choices;
    /* Words likely in the answer (names of the bot, the company, the
     * claim's fields): keywords / prompt for providers that take them.
     * NULL-terminated; may be NULL. */
    const char *const *hints;
} Ccai_stt_expect;

typedef enum Ccai_stt_event {
    CCAI_STT_PARTIAL = 1,        /* words so far (they may change) */
    CCAI_STT_FINAL = 2,          /* the utterance's words; one per end() */
    CCAI_STT_SPEECH_STARTED = 3, /* the provider heard speech begin */
    CCAI_STT_ERROR = 4,          /* the provider failed (status, errmsg) */
} Ccai_stt_event;

typedef struct Ccai_stt_result {
    Ccai_stt_event event;
    const char *text;  /* PARTIAL/FINAL: the words, "" for none */
    double confidence; /* 0..1; < 0 when the provider gives none */
    const char *lang;  /* detected language (BCP 47), NULL when not given */
    /* FINAL of an expected answer type, when the provider resolved it
     * (pocketsphinx's grammars): the answer in canonical form ("2026-05-03",
     * "yes", the choice's value, the digits); else NULL. */
    const char *slot;
    uint32_t audio_ms; /* audio the utterance held (FINAL), 0 unknown */
    bool from_end;     /* FINAL: the answer to an end() (not the provider's
                          own endpointing) */
    /* ERROR: */
    ccai_status status;
    bool fatal; /* the stream cannot go on: close it (fall back) */
    const char *errmsg;
} Ccai_stt_result;

/* The stream's results; r and its strings live until it returns. */
typedef void (*Ccai_stt_fn)(Ccai_stt *s, const Ccai_stt_result *r, void *ud);

/* Settings of one provider, from the configuration (speech.stt.<name>.*):
 * generic, each provider reads what it needs and ignores the rest.
 * Strings borrowed for the duration of open(). */
typedef struct Ccai_stt_config {
    const char *endpoint;        /* base URL (wss://api.deepgram.com, https://...) */
    const char *api_key;         /* secret: never logged */
    const char *region;          /* Azure: the resource's region ("westeurope") */
    const char *model;           /* "nova-2-phonecall", "gpt-4o-transcribe", ... */
    const char *options;         /* extra query parameters / JSON the provider
                                    documents (may be NULL) */
    uint32_t connect_timeout_ms; /* 0: 5000 */
    uint32_t result_timeout_ms;  /* end() -> FINAL at most (0: 5000) */
} Ccai_stt_config;

typedef struct Ccai_stt_open {
    const char *lang;          /* BCP 47 of the call ("en-US") */
    Ccai_media_format call_in; /* the call's audio, for a provider that
                                  can take it as it is (G.711 8 kHz) */
    const Ccai_logger *log;
    Ccai_stt_fn fn;
    void *ud;
} Ccai_stt_open;

/* Capabilities (Ccai_stt_provider.caps). */
#define CCAI_STT_STREAMING   (1u << 0) /* audio goes out as it arrives */
#define CCAI_STT_ENDPOINTING (1u << 1) /* reports the end of an utterance */
#define CCAI_STT_PARTIALS    (1u << 2) /* PARTIAL results */
#define CCAI_STT_HINTS       (1u << 3) /* uses expect() */
#define CCAI_STT_LOCAL       (1u << 4) /* no network: the fallback's end */

struct Ccai_stt_provider {
    const char *name; /* "deepgram", "openai-realtime", "openai", "azure",
                         "sphinx": the configuration's name */
    unsigned caps;
    /* Whether the provider speaks lang (before opening it). */
    bool (*speaks)(const Ccai_stt_config *cfg, const char *lang);
    /* Open a stream. Statuses: CCAI_OK; CCAI_ERR_CONFIG (a required setting
     * missing: ctx's error says which); CCAI_ERR_UNSUPPORTED (language);
     * CCAI_ERR_NOMEM. A connection that fails later is an ERROR result. */
    ccai_status (*open)(ccai_ctx *ctx, const Ccai_stt_config *cfg, const Ccai_stt_open *o,
                        Ccai_stt **ret);
    /* Statuses: CCAI_OK; CCAI_ERR_LIMIT (too much audio waiting to go out:
     * nothing kept); CCAI_ERR_STATE (after a fatal ERROR); CCAI_ERR_NOMEM. */
    ccai_status (*feed)(Ccai_stt *s, const uint8_t *audio, size_t len);
    ccai_status (*end)(Ccai_stt *s);
    void (*cancel)(Ccai_stt *s);
    ccai_status (*expect)(Ccai_stt *s, const Ccai_stt_expect *e); /* may be NULL */
    /* No callback after it; NULL accepted. */
    void (*close)(Ccai_stt *s);
};

/* Every stream begins with this. */
struct Ccai_stt {
    const Ccai_stt_provider *provider;
    Ccai_media_format in; /* the audio feed() takes, set by open() */
};

/* The built-in providers, by configuration name; NULL when unknown or not
 * in this build. */
const Ccai_stt_provider *Ccai_stt_provider_find(const char *name);

static inline ccai_status Ccai_stt_feed(Ccai_stt *s, const uint8_t *audio, size_t len)
{
    return s->provider->feed(s, audio, len);
}
static inline ccai_status Ccai_stt_end(Ccai_stt *s)
{
    return s->provider->end(s);
}
static inline void Ccai_stt_cancel(Ccai_stt *s)
{
    s->provider->cancel(s);
}
static inline ccai_status Ccai_stt_expect_next(Ccai_stt *s, const Ccai_stt_expect *e)
{
    return s->provider->expect ? s->provider->expect(s, e) : CCAI_OK;
}
static inline void Ccai_stt_close(Ccai_stt *s)
{
    if (s)
        s->provider->close(s);
}

#endif
