/* The ACS channel's parts, shared by its files (not outside the channel):
 *   acs.c           the channel: its life, REST completions, Call
 *                   Automation callbacks (and calls taken back after a
 *                   restart), outbound calls;
 *   acs_call.c      a call: the engine's ops, the callback events;
 *   acs_media.c     the media queue: one play or recognition at a time,
 *                   then what waits for the end of speech (hang-up,
 *                   transfer);
 *   acs_menu.c      the engine's menu as a recognition with choices;
 *   acs_eventgrid.c Event Grid: incoming calls, SMS, recording files;
 *   acs_stream_call.c stream mode (communication_services.voice: stream):
 *                   the media WebSocket of an audio call, its events, its
 *                   restarts;
 *   acs_stream.c    the media WebSocket's messages (sans I/O). */
#ifndef CCAI_CHANNELS_ACS_ACS_CHANNEL_H
#define CCAI_CHANNELS_ACS_ACS_CHANNEL_H

#include "channels/acs/acs.h"
#include "channels/acs/acs_auth.h"
#include "channels/acs/acs_events.h"
#include "channels/acs/acs_rest.h"
#include "channels/common/notify.h"
#include "http/exchange.h"
#include "http/wss.h"
#include "io/io.h"

/* Operation contexts of our media requests. */
#define CCAI_ACS_CTX_TALK     "ccai:talk"
#define CCAI_ACS_CTX_LISTEN   "ccai:listen"
#define CCAI_ACS_CTX_MENU     "ccai:menu"
#define CCAI_ACS_CTX_GOODBYE  "ccai:goodbye"
#define CCAI_ACS_CTX_TRANSFER "ccai:transfer"

/* Longest wait for the last play before hanging up or transferring. */
#define CCAI_ACS_AFTER_GUARD_MS (60u * 1000u)
/* The ACS choices a menu offers, one per DTMF key. */
#define CCAI_ACS_MENU_MAX 9

typedef enum Ccai_acs_media_kind {
    CCAI_ACS_M_PLAY,
    CCAI_ACS_M_LISTEN,
    CCAI_ACS_M_MENU,
    CCAI_ACS_M_CANCEL
} Ccai_acs_media_kind;

/* A media request waiting to go out. */
typedef struct Ccai_acs_media {
    struct Ccai_acs_media *next;
    Ccai_acs_media_kind kind;
    char *ssml; /* play, or the prompt of a recognition; NULL for a bare one */
    char *lang; /* recognition language */
} Ccai_acs_media;

/* A choice of the menu the engine asked for (copied: the recognition
 * goes out later). */
typedef struct Ccai_acs_menu_item {
    char *label;      /* the value the engine gets back */
    char *phrases[4]; /* NULL-terminated */
    const char *tone; /* its key as ACS names tones ("one", "zero", "pound"), static */
} Ccai_acs_menu_item;

typedef enum Ccai_acs_after {
    CCAI_ACS_AFTER_NONE,
    CCAI_ACS_AFTER_HANGUP,
    CCAI_ACS_AFTER_TRANSFER
} Ccai_acs_after;

/* Stream mode: the call's media WebSocket (acs_stream_call.c). */
typedef struct Ccai_acs_stream {
    Ccai_wss *ws;       /* NULL while none is connected */
    bool started;       /* its AudioMetadata came, in the configured format */
    bool asked;         /* :startMediaStreaming sent, its stream not come yet */
    unsigned restarts;  /* :startMediaStreaming sent since the last stream ran */
    unsigned bad;       /* malformed messages (the first ones logged) */
    bool full_logged;   /* bot audio dropped for want of a stream: said once */
    bool others_logged; /* another participant's audio ignored: said once */
    char participant[128];
    Ccai_buf msg;     /* the message being sent */
    Ccai_buf pending; /* bot audio waiting for a stream */
    uint8_t *audio;   /* CCAI_ACS_STREAM_MAX_AUDIO bytes: an AudioData decoded */
    Ccai_timer lost;  /* no stream: start one again, or give the call up */
} Ccai_acs_stream;

typedef struct Ccai_acs_call {
    struct Ccai_acs_call *next;
    struct Ccai_acs *acs;
    ccai_call *call;
    char conn_id[128];        /* callConnectionId */
    char server_call_id[512]; /* serverCallId: recording, Event Grid */
    char *caller;             /* the participant recognitions listen to */
    ccai_direction direction;

    Ccai_acs_media *queue, **tail;
    bool media_busy; /* one media request in flight */
    unsigned plays;  /* plays sent whose end has not been reported */
    bool prompted;   /* the last say went out as a recognition's prompt */
    bool menu;       /* the engine's menu is open: recognitions are choices */
    Ccai_acs_menu_item choices[CCAI_ACS_MENU_MAX];
    size_t n_choices;
    bool connected;        /* CallConnected seen */
    bool engine_on;        /* the engine got CONNECTED */
    bool correlation_kept; /* the correlationId is stored on the call */
    bool conn_kept;        /* stream mode: the callConnectionId is (its provider id) */
    Ccai_acs_after after;
    char *transfer_to;
    bool ending;         /* terminate sent, or the call is gone */
    bool dead;           /* freed by the channel; the engine may still hold it */
    bool cancel_pending; /* barge-in: cancel what ACS plays before anything else */
    unsigned gen;        /* bumped by each cancel: older plays' events are stale */
    uint64_t serial;     /* this handle, among the handles of the same stored call */
    Ccai_timer guard;
    Ccai_timer kick;      /* sends what the engine queued, once its action is over */
    Ccai_notifier notify; /* what the call's events tell the engine */
    bool audio;           /* stream mode: an audio call on the media WebSocket */
    Ccai_acs_stream st;
} Ccai_acs_call;

/* A REST operation in flight, found again by call id when it reports. */
typedef enum Ccai_acs_pend_kind {
    CCAI_ACS_P_MEDIA,
    CCAI_ACS_P_ANSWER,
    CCAI_ACS_P_CREATE,
    CCAI_ACS_P_TRANSFER,
    CCAI_ACS_P_HANGUP,
    CCAI_ACS_P_RECORDING,
    CCAI_ACS_P_STREAMING /* :startMediaStreaming */
} Ccai_acs_pend_kind;

typedef struct Ccai_acs_pend {
    struct Ccai_acs_pend *next;
    struct Ccai_acs *acs;
    Ccai_acs_pend_kind kind;
    Ccai_acs_media_kind media;
    char call_id[37];
    uint64_t serial; /* of the handle it was for: a call resumed since is another */
} Ccai_acs_pend;

struct Ccai_acs {
    ccai_ctx *ctx;
    const ccai_config *cfg;
    const Ccai_logger *log;
    bool endpoint;       /* communication_services.endpoint is set (SMS may go through ACS) */
    Ccai_acs_rest *rest; /* NULL: the voice channel is off */
    Ccai_acs_auth *auth;
    Ccai_acs_call *calls;
    Ccai_acs_call *dead; /* freed handles, reaped on the next tick */
    Ccai_acs_pend *pending;
    uint64_t serials;
    bool stream;          /* communication_services.voice: stream */
    uint32_t stream_rate; /* its PCM rate: 16000 or 24000 */
    Ccai_timer resume;    /* stream mode, at start: the calls left in progress */
};

/* A configured string, NULL when unset or empty. */
const char *Ccai_acs_cfg(const Ccai_acs *acs, const char *key);

/* A call taken back after a restart: what its stored provider id gives
 * (the serverCallId; in stream mode the callConnectionId, unless ACS named
 * the connection already). */
void Ccai_acs_stored_ids(Ccai_acs_call *a);

/* acs.c: REST operations and their completion. */
Ccai_acs_pend *Ccai_acs_pend_new(Ccai_acs *acs, const Ccai_acs_call *a, Ccai_acs_pend_kind kind);
/* Track p once its operation started; free it when it did not. */
CCAI_MUST_CHECK bool Ccai_acs_pend_started(Ccai_acs *acs, Ccai_acs_pend *p, ccai_status st);
void Ccai_acs_on_op_done(ccai_status st, const Ccai_acs_result *res, void *ud);
/* A connection we hold no handle for, hung up without waiting. */
/* Hang up a connection no call of ours holds (answered or taken back for
 * nobody): best effort, a failure logged. */
void Ccai_acs_hang_up_zombie(Ccai_acs *acs, const char *connection_id);
const char *Ccai_acs_reason(ccai_status st, const Ccai_acs_result *res);
/* Parse a delivery's events; on failure answer 400 (500 when out of
 * memory) and return false. what names the delivery in the log and the
 * answer. */
CCAI_MUST_CHECK bool Ccai_acs_parse_or_answer(Ccai_acs *acs, ccai_http_exchange *x,
                                              const char *what, Ccai_acs_events *list);

/* A request authenticated by its bearer token (acs.c). */
typedef void (*Ccai_acs_then_fn)(Ccai_acs *acs, ccai_http_exchange *x);
/* Check x's bearer token (ACS's signed JWT), then run then(acs, x); a
 * refusal is answered 401 (503 when the keys cannot be fetched now). */
void Ccai_acs_authenticate(Ccai_acs *acs, ccai_http_exchange *x, Ccai_acs_then_fn then);

/* acs_call.c */
/* Start (or resume) a call on this channel; take_back: the stored call to
 * go on with after a restart, else NULL. */
CCAI_MUST_CHECK ccai_status Ccai_acs_start_call(Ccai_acs *acs, const char *phone, const char *bot,
                                                ccai_direction dir, const char *initiate,
                                                const char *take_back, Ccai_acs_call **ret);
/* The handle goes (reaped on the next tick: the engine may be inside it). */
void Ccai_acs_call_free(Ccai_acs *acs, Ccai_acs_call *a);
/* Free the handles reaped already (the channel goes). */
void Ccai_acs_reap_all(Ccai_acs *acs);
Ccai_acs_call *Ccai_acs_find(Ccai_acs *acs, const char *call_id);
Ccai_acs_call *Ccai_acs_find_server_call(Ccai_acs *acs, const char *server_call_id);
/* The call is over on ACS's side: the engine ends it, the handle goes. */
void Ccai_acs_call_over(Ccai_acs *acs, Ccai_acs_call *a, const char *reason);
char *Ccai_acs_callback_url(const Ccai_acs *acs, const ccai_call *c);
/* Keep the ids ACS gives the call the first time they are seen. */
void Ccai_acs_remember_ids(Ccai_acs_call *a, const char *server_call_id,
                           const char *correlation_id);
/* One Call Automation event for a live call; false when the call is gone. */
bool Ccai_acs_call_event(Ccai_acs *acs, Ccai_acs_call *a, const Ccai_acs_event *ev);
/* "+33612345678" and "33612345678" are the same number. */
CCAI_MUST_CHECK bool Ccai_acs_same_number(const char *a, const char *b);

/* acs_media.c */
void Ccai_acs_queue_clear(Ccai_acs_call *a);
/* Send what is queued, one request at a time, then what waits for that. */
void Ccai_acs_pump(Ccai_acs_call *a);
/* Send the queue from the loop, once the engine's current action is over. */
void Ccai_acs_schedule(Ccai_acs_call *a);
void Ccai_acs_on_kick(Ccai_timer *t, void *ud);
void Ccai_acs_on_guard(Ccai_timer *t, void *ud);
CCAI_MUST_CHECK ccai_status Ccai_acs_enqueue(Ccai_acs_call *a, Ccai_acs_media_kind kind, char *ssml,
                                             const char *lang);
/* SSML for one chunk; NULL on failure. */
char *Ccai_acs_ssml_for(const Ccai_acs_call *a, const char *text, const char *lang,
                        const char *voice, ccai_style style, double rate);
/* Queue text as plays, the last chunk as the prompt of `last`. */
CCAI_MUST_CHECK ccai_status Ccai_acs_queue_text(Ccai_acs_call *a, const char *text,
                                                const char *lang, const char *voice,
                                                ccai_style style, double rate,
                                                Ccai_acs_media_kind last);
/* Run what waits for the end of speech once nothing is left to play. */
void Ccai_acs_run_after(Ccai_acs_call *a);
/* Hang up or transfer once what is queued has been heard. */
void Ccai_acs_set_after(Ccai_acs_call *a, Ccai_acs_after what);
/* A media request ended badly; false when the call is gone. */
bool Ccai_acs_media_failed(Ccai_acs_call *a, Ccai_acs_media_kind kind, const char *why);
/* An operation context of ours ("ccai:goodbye#2") is `what`. */
CCAI_MUST_CHECK bool Ccai_acs_context_is(const char *oc, const char *what);
/* Of the current generation: not cancelled by a barge-in since. */
CCAI_MUST_CHECK bool Ccai_acs_context_current(const Ccai_acs_call *a, const char *oc);

/* acs_menu.c */
/* ccai_call_ops.menu. */
int Ccai_acs_op_menu(ccai_call *c, const ccai_menu *menu, void *ud);
/* The menu's choices, for its recognition. */
void Ccai_acs_choices_clear(Ccai_acs_call *a);
/* The recognition of the menu ended: label chosen, or NULL. */
void Ccai_acs_menu_answer(Ccai_acs_call *a, const char *label);

/* acs_stream_call.c: stream mode */
void Ccai_acs_stream_init(Ccai_acs_call *a);
/* The handle goes: its WebSocket released, its buffers freed. */
void Ccai_acs_stream_free(Ccai_acs_call *a);
/* mediaStreamingOptions of answer and create (transport_url owned by the
 * caller: ccai_free()); transport_url NULL on NOMEM. */
Ccai_acs_streaming Ccai_acs_streaming_for(const Ccai_acs *acs, const ccai_call *c);
/* ccai_call_ops.play_audio and clear_audio of a stream-mode call. */
int Ccai_acs_op_play_audio(ccai_call *c, const ccai_audio_frame *f, void *ud);
int Ccai_acs_op_clear_audio(ccai_call *c, void *ud);
/* CallConnected: the stream comes (startMediaStreaming); if it does not,
 * the call is given up. */
void Ccai_acs_stream_connected(Ccai_acs_call *a);
/* The call was taken back after a restart from a callback: its media
 * streaming is started again. */
void Ccai_acs_stream_take_back(Ccai_acs_call *a);
/* Stream mode, at start (from the loop): the stored calls left in progress
 * with a call connection (this process died with them, ACS may still hold
 * them) are taken back and their media streaming started again. */
void Ccai_acs_stream_resume_all(Ccai_acs *acs);
/* MediaStreamingStarted / Stopped / Failed. */
void Ccai_acs_stream_event(Ccai_acs_call *a, const Ccai_acs_event *ev);
/* :startMediaStreaming failed. */
void Ccai_acs_stream_start_failed(Ccai_acs_call *a, const char *why);
/* GET /acs/media: the media WebSocket of a call (ACS connects to the
 * transportUrl). */
void Ccai_acs_route_media(ccai_http_exchange *x, void *ud);

/* acs_eventgrid.c: POST and OPTIONS /acs/events. */
void Ccai_acs_route_events(ccai_http_exchange *x, void *ud);
void Ccai_acs_route_events_options(ccai_http_exchange *x, void *ud);

#endif
