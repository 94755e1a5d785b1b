/* The streaming HTTP engine the cloud text-to-speech providers share
 * (tts/azure.c, tts/openai.c, tts/elevenlabs.c): a stream's queue of
 * sentences, one request in flight on the io layer's HTTP client, audio
 * handed on as it arrives in whole samples, retries before the first
 * byte, the first-audio and stall timeouts, cancel, and the dones of
 * tts/tts.h. A provider says how a sentence becomes a request and how its
 * error bodies read; everything else is here, so the three behave alike.
 *
 * One request at a time: the next sentence is asked for when the one
 * before has arrived whole. The services send audio faster than real time
 * (Azure and ElevenLabs about 2x, OpenAI more), so a sentence has arrived
 * long before it has been played and the next one's first byte (75-300 ms)
 * is hidden behind the rest of its playback; a pipelined second request
 * would only hold audio the voice layer cannot use yet, and a barge-in
 * would have to throw it away. */
#ifndef CCAI_TTS_CLOUD_H
#define CCAI_TTS_CLOUD_H

#include "io/io.h"
#include "tts/tts.h"

#include <jansson.h>

/* What say() copied of a text. */
typedef struct Ccai_tts_item {
    struct Ccai_tts_item *next;
    uint32_t id;
    uint64_t said_at; /* Ccai_ctx_now() at say() */
    char *text;
    bool ssml;
    char *lang;  /* never NULL: the text's, else the stream's */
    char *voice; /* NULL: the provider's default */
    char *style; /* NULL: none */
    double rate; /* 1: normal */
} Ccai_tts_item;

/* One HTTP request, built by a provider: every string from Ccai_malloc(),
 * freed by the engine. */
#define CCAI_TTS_MAX_HEADERS 8
typedef struct Ccai_tts_request {
    char *url;
    char *headers[CCAI_TTS_MAX_HEADERS + 1]; /* "Name: value", NULL-terminated */
    char *body;
    size_t body_len;
} Ccai_tts_request;

typedef struct Ccai_tts_cloud Ccai_tts_cloud;

typedef struct Ccai_tts_cloud_ops {
    size_t max_text; /* bytes of one text (the service's limit) */
    /* The request that speaks item. Statuses: CCAI_OK; CCAI_ERR_NOMEM. */
    ccai_status (*build)(Ccai_tts_cloud *c, const Ccai_tts_item *item, Ccai_tts_request *req);
    /* The service's error body (at most CCAI_TTS_ERROR_BODY_MAX bytes, as
     * received) as a message into out (outlen > 0, always terminated):
     * sans-I/O, fuzzed (tests/fuzz/fuzz_tts_errors.c). */
    void (*error)(const char *body, size_t len, char *out, size_t outlen);
    /* Optional: a token to fetch before a request (Azure's issueToken):
     * token_needed() says whether the one held is missing or old;
     * token_request() builds its request; token_set() takes a 200's body
     * (CCAI_OK, or CCAI_ERR_PARSE for a body that is no token). */
    bool (*token_needed)(Ccai_tts_cloud *c);
    ccai_status (*token_request)(Ccai_tts_cloud *c, Ccai_tts_request *req);
    ccai_status (*token_set)(Ccai_tts_cloud *c, const char *body, size_t len);
    /* Free what the provider added to the stream (not the stream). */
    void (*free)(Ccai_tts_cloud *c);
} Ccai_tts_cloud_ops;

/* Error bodies are read up to this size (the rest is dropped). */
#define CCAI_TTS_ERROR_BODY_MAX 4096u
/* Sentences waiting at most (say() refuses more with CCAI_ERR_LIMIT). */
#define CCAI_TTS_QUEUE_MAX 64u
/* Attempts of one sentence before its first byte (429, 5xx, 408, a
 * connection that failed before any answer), and the longest Retry-After
 * honoured: a caller is waiting, a longer wait is better spent on the
 * next provider of the chain. */
#define CCAI_TTS_ATTEMPTS       3
#define CCAI_TTS_RETRY_WAIT_MAX 2000

typedef struct Ccai_tts_cloud_stats {
    uint64_t requests; /* HTTP requests started (retries and tokens included) */
    uint64_t retries;
} Ccai_tts_cloud_stats;

struct Ccai_tts_cloud {
    Ccai_tts base; /* first: the stream the voice layer holds */
    ccai_ctx *ctx;
    const Ccai_tts_cloud_ops *ops;
    Ccai_logger log;
    Ccai_tts_audio_fn audio;
    Ccai_tts_done_fn done;
    void *ud;
    char *lang;    /* the call's language */
    char *api_key; /* redacted from every message */
    uint32_t connect_ms, first_byte_ms;
    Ccai_tts_cloud_stats stats;

    /* Sentences: the one in flight, then the queue in order. */
    Ccai_tts_item *cur;
    Ccai_tts_item *head, *tail;
    size_t queued;
    uint32_t next_id;

    /* The request in flight (NULL between attempts). */
    Ccai_http_req *req;
    bool token_req; /* it fetches a token */
    int attempt;
    long status;
    bool audio_started; /* a 2xx whose body is audio */
    Ccai_buf err_body;  /* an error answer's body, capped */
    uint64_t bytes;     /* audio delivered for cur */
    uint64_t first_ms;  /* say() -> first audio */
    uint8_t carry;      /* an odd byte of PCM16 waiting for its pair */
    bool has_carry;

    Ccai_timer kick;       /* the next attempt (now or after a backoff) */
    Ccai_timer first_byte; /* no audio yet */
    uint32_t gen;          /* bumped whenever cur ends: stale callbacks see it */
    int depth;             /* inside a callback to the voice layer */
    bool closed;           /* close() came while depth > 0 */
    bool failed;           /* a fatal done went out: say() refuses */
};

/* Set up the engine part of a provider's stream (c is zeroed and its base
 * provider set by the caller; lang copied, api_key copied). Statuses:
 * CCAI_OK; CCAI_ERR_NOMEM. */
ccai_status Ccai_tts_cloud_init(Ccai_tts_cloud *c, ccai_ctx *ctx, const Ccai_tts_cloud_ops *ops,
                                const Ccai_tts_config *cfg, const Ccai_tts_open *o,
                                Ccai_media_format out);

/* Ccai_tts_provider's say, cancel and close for these streams. */
ccai_status Ccai_tts_cloud_say(Ccai_tts *t, const Ccai_tts_text *text, uint32_t *ret_id);
void Ccai_tts_cloud_cancel(Ccai_tts *t);
void Ccai_tts_cloud_close(Ccai_tts *t);

/* Free a request's strings (and zero it). */
void Ccai_tts_request_clear(Ccai_tts_request *req);
/* Append "Name: value" to req's headers: false on NOMEM or when full. */
bool Ccai_tts_request_header(Ccai_tts_request *req, const char *fmt, ...) CCAI_PRINTF(2, 3);

/* Shared by the error parsers: the first string found at one of the
 * paths (dotted member names, "0" for an array's first element) of a JSON
 * body, else a printable excerpt of the body; "no error message" for an
 * empty one. Control characters become spaces; at most outlen - 1 bytes. */
void Ccai_tts_error_text(const char *body, size_t len, const char *const *paths, char *out,
                         size_t outlen);

/* The providers' tables (tts/tts.c lists them). */
extern const Ccai_tts_provider Ccai_tts_azure;
extern const Ccai_tts_provider Ccai_tts_openai;
extern const Ccai_tts_provider Ccai_tts_elevenlabs;

/* The error parsers of each provider (the fuzz target's entry points). */
void Ccai_tts_azure_error(const char *body, size_t len, char *out, size_t outlen);
void Ccai_tts_openai_error(const char *body, size_t len, char *out, size_t outlen);
void Ccai_tts_elevenlabs_error(const char *body, size_t len, char *out, size_t outlen);

/* The option object of a provider (Ccai_tts_config.options): NULL or ""
 * gives an empty object; anything but a JSON object whose members are
 * among known (NULL-terminated) is CCAI_ERR_CONFIG, said in the log.
 * Ownership: *ret is the caller's (json_decref). */
ccai_status Ccai_tts_options(const char *provider, const char *options, const char *const *known,
                             const Ccai_logger *log, json_t **ret);

#endif
