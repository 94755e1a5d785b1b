/* Internal view of calls and events (engine/). */
#ifndef CCAI_ENGINE_ENGINE_H
#define CCAI_ENGINE_ENGINE_H

#include "core/common.h"
#include "io/ctx_private.h"
#include "store/store.h"

#include <jansson.h>
#include <string.h>

/* Longest text an event may carry (speech, SMS): 16 KiB. */
#define CCAI_EVENT_TEXT_MAX (16u * 1024u)

struct ccai_event {
    ccai_event_type type;
    char *text;
    char *lang;
    char *from;
    bool final;
    double confidence;
};

struct Ccai_turn;
struct Ccai_offline;
struct Ccai_tz;
struct Ccai_unsaved;

struct ccai_call {
    ccai_ctx *ctx;
    struct ccai_call *prev, *next;
    ccai_call_ops ops;
    void *ud;
    Ccai_store_call row; /* the stored call, as last written */
    ccai_call_state state;
    ccai_claim_schema *schema;
    bool resumed;
    bool caller_spoke;
    int depth;
    bool free_pending;
    Ccai_err err;

    /* The conversation (engine/conversation.c). */
    json_t *initiate;             /* parsed row.initiate_json */
    json_t *claim;                /* parsed row.claim_json */
    double rate;                  /* prosody rate, 0.75 .. 1.25 */
    struct Ccai_turn *turn;       /* the LLM turn in flight */
    struct Ccai_offline *offline; /* the offline engine, when it is in charge */
    bool offline_mode;
    bool first_turn; /* no turn yet on this leg */
    bool speaking;   /* said something not yet reported done */
    Ccai_timer silence;
    int silences;
    json_t *tools_cache[2]; /* tool schemas: [0] all, [1] without end_call */
    bool channel_silence;   /* the channel reports silence: no timer of ours */
    struct Ccai_tz *tz;     /* the caller's zone, loaded on first use */

    /* The bot's words said while another process held the database locked,
     * in order, stored before anything else of the call (engine/call.c). */
    struct Ccai_unsaved *unsaved, **unsaved_tail;
    Ccai_timer unsaved_timer;
    unsigned unsaved_tries;
};

/* The engine of a context: prompts and models (engine/conversation.c). */
typedef struct Ccai_engine Ccai_engine;
ccai_status Ccai_engine_new(ccai_ctx *ctx, Ccai_engine **ret, char **ret_errmsg);
void Ccai_engine_free(Ccai_engine *e);

struct Ccai_llm_model;
struct Ccai_prompts;
/* The model called "fast" or "slow", NULL when not configured. */
const struct Ccai_llm_model *Ccai_engine_model(const Ccai_engine *e, const char *name);
const struct Ccai_prompts *Ccai_engine_prompts(const Ccai_engine *e);

/* sweep.c: the live calls' heartbeat, and the end of the calls that no
 * process holds any more. Started with the context. */
typedef struct Ccai_sweep Ccai_sweep;
ccai_status Ccai_sweep_new(ccai_ctx *ctx);
void Ccai_sweep_free(ccai_ctx *ctx);
/* A sign of life of a live call (Ccai_store_call_touch); on a conflict the
 * stored row is read again, and when another process ended the call the
 * handle ends too (without writing; the host hears of it) and
 * CCAI_ERR_STATE is returned: the handle may be gone. */
ccai_status Ccai_call_touch(ccai_call *c);

/* postcall.c: durable jobs (post-call report, SMS outbox). */
typedef struct Ccai_jobs Ccai_jobs;
ccai_status Ccai_jobs_new(ccai_ctx *ctx);
void Ccai_jobs_free(ccai_ctx *ctx);
/* Look for due jobs now (after an enqueue). */
void Ccai_jobs_kick(ccai_ctx *ctx);
/* Queue call_id's post-call job, due now, with why it is due ("hangup",
 * "transfer", a provider's end...) in its payload; inside the caller's
 * transaction when one is open. */
ccai_status Ccai_postcall_enqueue(Ccai_store *st, const char *call_id, const char *reason);
/* Send an SMS through the SMS provider (the default: the outbox). */
ccai_status Ccai_sms_send(ccai_ctx *ctx, const char *call_id, const char *to, const char *text);

/* call.c, for the conversation and the tools */
/* Store a message of the call. The bot's spoken words (persona "assistant",
 * no tool calls, no ret_seq) that find the database locked by another process
 * are kept in order and stored as soon as it can write, before any other
 * message of the call (CCAI_OK); anything else fails with CCAI_ERR_BUSY then
 * (a caller's words: the event is refused, nothing acted on). */
ccai_status Ccai_call_add_message(ccai_call *c, const char *persona, const char *action,
                                  ccai_style style, const char *content, const char *lang,
                                  const char *tool_calls_json, const char *engine,
                                  int64_t *ret_seq);
ccai_status Ccai_call_set_state(ccai_call *c, ccai_call_state s);
/* A channel reports to the engine: ccai_on_event() with an event of type
 * carrying text (NULL = none). */
ccai_status Ccai_call_notify(ccai_call *c, ccai_event_type type, const char *text);
/* ccai_call_start() going on with the stored call call_id, whatever its
 * age or direction (a channel taking a call back after a restart).
 * CCAI_ERR_NOT_FOUND when there is no such call, CCAI_ERR_STATE when it is
 * no longer in progress (ended by another process's sweep or the provider
 * since the channel read it) or already live in this context. */
ccai_status Ccai_call_take_back(ccai_ctx *ctx, const char *call_id, const ccai_call_params *p,
                                const ccai_call_ops *ops, void *userdata, ccai_call **ret);
/* The live handle of stored call id in this context, NULL when none. */
ccai_call *Ccai_call_live(const ccai_ctx *ctx, const char *id);
/* End a stored call in progress that no handle of this context holds: the
 * provider said it is over (reason: its word, "completed"...; by_caller)
 * or nobody took it back ("interrupted"). In one commit: the hangup
 * message, state "ended" and the reason, and the post-call job when the
 * caller spoke since the call (re)started. Written only if the row is
 * still as read: CCAI_ERR_CONFLICT when another writer changed it (a
 * process took it back), CCAI_ERR_STATE when it is live here. row is
 * updated. An ended call is left as it is (CCAI_OK). */
ccai_status Ccai_call_end_stored(ccai_ctx *ctx, Ccai_store_call *row, const char *reason,
                                 bool by_caller);
/* Store what the provider says of call_id's recording, whatever its state
 * (Ccai_store_call_set_recording); the live handle sees it too. */
ccai_status Ccai_call_recording(ccai_ctx *ctx, const char *call_id, const char *url,
                                const char *recording_id, int64_t duration_ms);
/* Bracket engine work that may call the host (timers, LLM callbacks): a
 * ccai_call_free() from a host callback then waits for the frame to end.
 * leave() returns false when the call is gone. */
void Ccai_call_enter(ccai_call *c);
bool Ccai_call_leave(ccai_call *c);
ccai_status Ccai_call_save(ccai_call *c);
/* Store c->claim into the row (and save it). */
ccai_status Ccai_call_save_claim(ccai_call *c);
/* Hang up for good: goodbye said by the caller of this, hangup asked of
 * the channel, state ending. */
void Ccai_call_hangup(ccai_call *c);

/* conversation.c, driven by call.c */
/* The call's available language entry {short_code, voice,
 * pronunciations_en} of code, or NULL; borrowed from the call. */
const json_t *Ccai_conv_lang_entry(const ccai_call *c, const char *code);
void Ccai_conv_init(ccai_call *c);
void Ccai_conv_cleanup(ccai_call *c);
void Ccai_conv_connected(ccai_call *c);
void Ccai_conv_caller_said(ccai_call *c, const char *text, int64_t seq);
void Ccai_conv_partial(ccai_call *c);
void Ccai_conv_silence(ccai_call *c);
void Ccai_conv_say_done(ccai_call *c);
void Ccai_conv_transfer_failed(ccai_call *c, const char *reason);
/* Say goodbye (stored when store), then hang up. */
void Ccai_conv_goodbye(ccai_call *c, bool store);

/* The caller's time zone (from the phone number): the prompt's date, and
 * the zone of every time without an offset the engine is given. UTC when
 * it cannot be loaded (a warning is logged); NULL only when out of memory.
 * Borrowed from the call. */
const struct Ccai_tz *Ccai_conv_tz(ccai_call *c);

/* Speak one sentence through the channel; stored as an assistant message
 * when engine is not NULL. false when the channel refused it. */
bool Ccai_conv_say(ccai_call *c, const char *text, ccai_style style, bool expects_reply,
                   bool more_follows, const char *engine);
/* Speak a configured phrase (one variant at random); stored when asked. */
bool Ccai_conv_say_phrase(ccai_call *c, int phrase, bool expects_reply, bool store);

/* tools.c */
typedef struct Ccai_tool_outcome {
    bool end_call; /* the call is ending: no further LLM round */
    bool transfer; /* handed to a human */
    bool changed;  /* something the next round must see */
} Ccai_tool_outcome;

/* The tool schemas for this call (end_call left out when asked). */
json_t *Ccai_tools_schemas(const ccai_call *c, bool with_end_call);
/* Run one tool call; returns the result text for the LLM (never NULL
 * unless out of memory). Speaks the customer_response, stored with the
 * engine label of the model that asked ("llm:fast"). */
char *Ccai_tools_run(ccai_call *c, const char *name, const char *args_json, const char *engine,
                     Ccai_tool_outcome *out);

#endif
