/* The Twilio channel's call and state, shared by its two halves: twilio.c
 * (the call, its webhooks, Gather mode, outbound calls) and twilio_media.c
 * (stream mode: Media Streams audio, marks, hang-up and transfer through
 * REST). Internal to the channel. */
#ifndef CCAI_TWILIO_CALL_H
#define CCAI_TWILIO_CALL_H

#include "channels/common/outbox.h"
#include "channels/twilio/twilio.h"
#include "channels/twilio/twilio_rest.h"
#include "channels/twilio/twilio_stream.h"
#include "http/wss.h"
#include "voice/voice.h"

/* Bot audio waiting for the stream (none connected yet, or reconnecting):
 * bytes, and the marks placed after some of them. */
typedef struct pending_mark {
    size_t at;
    char name[64];
} pending_mark;

/* Marks sent since the last clear, waiting for Twilio's echo. */
#define MAX_MARKS 64

typedef struct tw_call {
    struct tw_call *next;
    struct Ccai_twilio *tw;
    ccai_call *call;
    json_t *initiate; /* the call's settings: speech hints */
    char sid[64];
    Ccai_outbox out; /* what the bot did since the last TwiML went out */
    Ccai_timer over; /* the call's <Hangup/> went out: Twilio ends it, so do we */
    /* Stream mode (twilio.voice: stream): an audio call on a Media Stream. */
    bool audio;
    bool connected;             /* CONNECTED told to the engine */
    Ccai_wss *ws;               /* the Media Stream, NULL while none is connected */
    bool started;               /* its "start" came and was checked */
    bool stopped;               /* its "stop" came */
    bool transferring, hanging; /* we redirect or end the call through REST */
    char stream_sid[64];
    Ccai_buf pending; /* bot audio waiting for a stream */
    pending_mark pmarks[MAX_MARKS];
    size_t n_pmarks;
    char marks[MAX_MARKS][64]; /* sent since the last clear */
    size_t n_marks;
    Ccai_buf msg;     /* one message being built */
    unsigned bad;     /* malformed messages logged */
    bool full_logged; /* pending audio over its cap, said once */
    Ccai_timer gone;  /* the stream ended: the caller hung up unless Twilio comes back */
    Ccai_timer bye;   /* the hang-up waits for the goodbye to play, at most this long */
    bool ending;      /* the REST end is asked */
    char transfer_to[64];
    /* Twilio's answering-machine verdict (AnsweredBy) on the answer
     * webhook, told to the engine once the call is connected. */
    char answered_by[32];
    /* Started, its connection not stored yet: another process held the
     * database's write lock; its voice webhook is held and, run again,
     * goes on with it (route_voice). */
    bool connect_held;
} tw_call;

/* A REST operation on a call, until Twilio answers it. */
typedef enum rest_kind { REST_PLACE, REST_TRANSFER, REST_END } rest_kind;

typedef struct placing {
    struct placing *next;
    struct Ccai_twilio *tw;
    char call_id[37];
    rest_kind kind;
} placing;

typedef struct Ccai_twilio {
    ccai_ctx *ctx;
    const ccai_config *cfg;
    const Ccai_logger *log;
    Ccai_twilio_rest *rest; /* NULL: twilio.account_sid is not configured */
    bool stream;            /* twilio.voice: stream */
    tw_call *calls;
    placing *placings;                 /* outbound calls Twilio has not confirmed yet */
    struct Ccai_twilio_signer *signer; /* for twilio.auth_token, made at the first webhook */
} Ccai_twilio;

/* twilio.c */
/* Timer callback: the call is over here (also the end of a REST hang-up). */
void Ccai_tw_over(Ccai_timer *timer, void *ud);
tw_call *Ccai_tw_find(Ccai_twilio *tw, const char *call_id);
/* https://<public url>/twilio/<route>?call=<id>&s=<secret>; NULL on NOMEM. */
char *Ccai_tw_call_url(const Ccai_twilio *tw, const char *route, ccai_call *c);
void Ccai_tw_placing_unlink(Ccai_twilio *tw, placing *p);

/* Tell the engine who answered (t->answered_by, then cleared). */
void Ccai_tw_answered_by(tw_call *t);

/* twilio_media.c */
extern const ccai_call_ops Ccai_tw_stream_ops;
/* Timer callback: the goodbye (or the transfer's last words) did not come
 * back as played in time: end or transfer now. */
void Ccai_tw_on_bye(Ccai_timer *timer, void *ud);
/* Answer x with the stream-mode TwiML: <Connect><Stream> then <Redirect>. */
void Ccai_tw_answer_stream(Ccai_twilio *tw, tw_call *t, ccai_http_exchange *x);
void Ccai_tw_dial_done_stream(Ccai_twilio *tw, tw_call *t, ccai_http_exchange *x, bool ok,
                              const char *status, const char *dial_sid);
void Ccai_tw_route_stream(ccai_http_exchange *x, void *ud);

#endif
