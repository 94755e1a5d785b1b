/* The per-utterance REST providers' common part (stt/openai.c,
 * stt/azure.c): feed() keeps the current utterance (PCM16), end() wraps it
 * in a WAV file and queues one request, sent one at a time in order
 * through the io layer's asynchronous HTTP client, 429 and 5xx retried
 * (Retry-After honoured) before a fatal ERROR; the provider builds the
 * request and reads the answer. */
#ifndef CCAI_STT_UTTERANCE_H
#define CCAI_STT_UTTERANCE_H

#include "stt/cloud.h"

typedef struct Ccai_stt_utt Ccai_stt_utt;

typedef struct Ccai_stt_utt_class {
    const Ccai_stt_provider *provider;
    const char *name;       /* for messages: "openai", "azure" */
    size_t max_audio_bytes; /* one utterance at most (feed: CCAI_ERR_LIMIT) */
    /* The request body for one utterance (a WAV file); *content_type: a
     * static or u-owned string. */
    ccai_status (*body)(Ccai_stt_utt *u, const uint8_t *wav, size_t len, Ccai_buf *out,
                        char **content_type);
    /* A 2xx answer: queue its FINAL (from_end, audio_ms given) or an ERROR.
     * A refusal's text is its body's error.message (Ccai_stt_json_answer),
     * else the body. */
    void (*answer)(Ccai_stt_utt *u, const char *body, size_t len, uint32_t audio_ms);
} Ccai_stt_utt_class;

#define CCAI_STT_UTT_QUEUE 4

typedef struct Ccai_stt_utt_req {
    Ccai_buf body;
    char *content_type;
    uint32_t audio_ms;
} Ccai_stt_utt_req;

struct Ccai_stt_utt {
    Ccai_stt base;
    ccai_ctx *ctx;
    const Ccai_logger *log;
    Ccai_stt_queue q;
    const Ccai_stt_utt_class *cls;
    char *url;
    char *auth;   /* "Name: value" */
    char *prompt; /* hints as text (NULL none) */
    char lang[36];
    char *model;
    char *options; /* speech.stt.<name>.options */
    uint32_t connect_timeout_ms, result_timeout_ms;
    Ccai_buf audio; /* the current utterance */
    Ccai_stt_utt_req waiting[CCAI_STT_UTT_QUEUE];
    size_t n_waiting;
    Ccai_http_req *req;
    int attempts;
    Ccai_timer retry_timer;
    bool dead;
};

/* Make a stream: url and auth are copied. */
ccai_status Ccai_stt_utt_open(ccai_ctx *ctx, const Ccai_stt_utt_class *cls,
                              const Ccai_stt_config *cfg, const Ccai_stt_open *o,
                              Ccai_media_format in, const char *url, const char *auth,
                              Ccai_stt **ret);
ccai_status Ccai_stt_utt_feed(Ccai_stt *s, const uint8_t *audio, size_t len);
ccai_status Ccai_stt_utt_end(Ccai_stt *s);
void Ccai_stt_utt_cancel(Ccai_stt *s);
ccai_status Ccai_stt_utt_expect(Ccai_stt *s, const Ccai_stt_expect *e);
void Ccai_stt_utt_close(Ccai_stt *s);
/* A fatal ERROR. */
void Ccai_stt_utt_fail(Ccai_stt_utt *u, ccai_status st, const char *fmt, ...) CCAI_PRINTF(3, 4);

#endif
