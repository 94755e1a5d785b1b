/* The streaming WebSocket providers' common part (stt/deepgram.c,
 * stt/openai_realtime.c): the endpoint checked and turned into a ws(s)://
 * base URL, the connection made from the loop (retried on 429 / 5xx
 * before it ever opened, stt/cloud.h Ccai_stt_ws_judge), the audio fed
 * before the upgrade held and flushed once it is open, one fatal ERROR,
 * the end()'s result timeout, and the close that may come from inside the
 * sink's callback. The provider sends its audio and reads its messages. */
#ifndef CCAI_STT_LIVE_H
#define CCAI_STT_LIVE_H

#include "stt/cloud.h"

/* Audio held until the upgrade, at most (feed: CCAI_ERR_LIMIT). */
#define CCAI_STT_LIVE_MAX_PENDING (2u * 1024u * 1024u)
#define CCAI_STT_LIVE_ATTEMPTS    3

typedef struct Ccai_stt_live Ccai_stt_live;

typedef struct Ccai_stt_live_class {
    const Ccai_stt_provider *provider;
    const char *name;      /* for messages and settings: "deepgram" */
    const char *endpoint;  /* the default endpoint */
    const char *what;      /* what the service closes: "stream", "session" */
    const char *unit;      /* what it sends: "message", "event" */
    const char *no_result; /* the result timeout's text: "no final result" */
    /* The connection is open (opened is true): send what the provider
     * holds (Ccai_stt_live_flush sends the audio). */
    void (*open)(Ccai_stt_live *l);
    /* One text message, the stream not dead. */
    void (*message)(Ccai_stt_live *l, const char *data, size_t len);
    /* Send audio on the open connection. */
    ccai_status (*send)(Ccai_stt_live *l, const uint8_t *audio, size_t len);
    /* Optional: a fatal ERROR, stop the provider's own timers. */
    void (*halt)(Ccai_stt_live *l);
    /* Optional: close, free the provider's own members (not itself). */
    void (*release)(Ccai_stt_live *l);
} Ccai_stt_live_class;

/* The first member of the provider's stream. */
struct Ccai_stt_live {
    Ccai_stt base;
    ccai_ctx *ctx;
    const Ccai_logger *log;
    Ccai_stt_queue q;
    const Ccai_stt_live_class *cls;
    char *url;           /* the connection's URL without query_tail */
    char *auth;          /* "Authorization: ..." */
    Ccai_buf query_tail; /* appended to url at each connect (&keyterm=...) */
    uint32_t connect_timeout_ms, result_timeout_ms;

    Ccai_ws *ws;
    bool opened;
    int attempts;
    Ccai_buf pending; /* audio fed before the upgrade */
    Ccai_timer connect_timer, result_timer;
    bool dead;
};

/* Check cfg (api_key, endpoint) and make the base URL: the endpoint (or
 * cls->endpoint) with http(s) turned into ws(s), without a trailing '/'.
 * CCAI_ERR_CONFIG (the context's error text says which setting),
 * CCAI_ERR_NOMEM. */
ccai_status Ccai_stt_live_base_url(ccai_ctx *ctx, const Ccai_stt_live_class *cls,
                                   const Ccai_stt_config *cfg, Ccai_buf *out);
/* Fill l (calloc'ed by the provider, sized for its stream). */
void Ccai_stt_live_init(Ccai_stt_live *l, ccai_ctx *ctx, const Ccai_stt_live_class *cls,
                        const Ccai_stt_config *cfg, const Ccai_stt_open *o);
/* Connect from the loop (l->url and l->auth set): CCAI_OK and *ret. */
ccai_status Ccai_stt_live_start(Ccai_stt_live *l, Ccai_stt **ret);
/* open() failed after Ccai_stt_live_init: free everything. */
void Ccai_stt_live_discard(Ccai_stt_live *l);

/* A fatal ERROR ("<name>: msg"), said once. */
void Ccai_stt_live_fail(Ccai_stt_live *l, ccai_status st, const char *msg);
/* A message the provider's parser refused (st): NOMEM is fatal, anything
 * else a non-fatal ERROR. */
void Ccai_stt_live_unreadable(Ccai_stt_live *l, ccai_status st, size_t len);
/* Send the audio held during the connect; false after a fatal ERROR. */
bool Ccai_stt_live_flush(Ccai_stt_live *l);
/* Start the result timer unless it runs. */
void Ccai_stt_live_await(Ccai_stt_live *l);
/* ms of audio in bytes of the stream's input format. */
uint32_t Ccai_stt_live_ms(const Ccai_stt_live *l, uint64_t bytes);

ccai_status Ccai_stt_live_feed(Ccai_stt *s, const uint8_t *audio, size_t len);
void Ccai_stt_live_close(Ccai_stt *s);

#endif
