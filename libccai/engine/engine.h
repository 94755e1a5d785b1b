/* Internal view of the engine, its calls and events (engine/). Channels do
 * not include this: they drive calls through the public API
 * (<ccai/ccai.h>), as a host's own channel does. */
#ifndef CCAI_ENGINE_ENGINE_H
#define CCAI_ENGINE_ENGINE_H

#include "core/common.h"
#include "core/metrics.h"
#include "core/trace.h"
#include "io/io.h"
#include "llm/llm.h"
#include "sms/sms.h"
#include "speech/grammar.h"
#include "store/lease.h"
#include "store/store.h"

#include <jansson.h>
#include <string.h>

struct Ccai_prompts;
struct Ccai_guardrails;
struct Ccai_jobs;
struct Ccai_sweep;
struct Ccai_callbacks;
struct Ccai_alerts;

/* Tool schemas depend on a call's claim schema and languages only; calls
 * that share them share one (immutable) copy (engine/conversation.c). */
#define CCAI_TOOLS_CACHE 16

struct Ccai_tools_text; /* the schemas as JSON text, reference counted */

typedef struct Ccai_tools_entry {
    char *key;                        /* the claim schema and languages as JSON */
    struct Ccai_tools_text *tools[2]; /* [0] all tools, [1] without end_call */
} Ccai_tools_entry;

/* A call's initiate (its settings) as a tree is the same for the calls
 * started with the same settings: shared (13 KB each for the defaults). */
#define CCAI_INITIATE_CACHE 16

typedef struct Ccai_initiate_entry {
    json_t *tree;
} Ccai_initiate_entry;

/* How the engine places a call through a channel (a callback), filled by
 * the composition root from its channel table (the engine does not know
 * the channels). */
typedef struct Ccai_dialer {
    void *ud;
    /* The channel a callback of a call of @p channel goes out on: itself
     * when it places calls and is configured, else the first that does;
     * NULL when none can (the reason in *ret_why, static text). */
    const char *(*pick)(void *ud, const char *channel, const char **ret_why);
    /* Place a call to @p to on channel @p channel: the channel starts its
     * handle (ccai_call_start()) before this returns and asks its provider
     * to dial; *ret_call_id (ccai_free()) names the call. Statuses as
     * Ccai_channel_class.place_call. */
    CCAI_MUST_CHECK ccai_status (*place)(void *ud, const char *channel, const char *to,
                                         char **ret_call_id);
} Ccai_dialer;

/* What the composition root gives the engine (dependency injection). */
typedef struct Ccai_engine_env {
    ccai_ctx *ctx; /* the context's handle: its loop (io) and error text */
    const ccai_config *cfg;
    const Ccai_logger *log;
    Ccai_store *store;
    Ccai_metrics *metrics;
    Ccai_sms_provider *sms; /* how its SMS jobs leave */
    /* The bot's number of a call whose params name none (borrowed for the
     * engine's life; NULL or "" for none). */
    const char *bot_phone_number;
    const Ccai_dialer *dialer; /* may be NULL: no call is ever placed (copied) */
    struct Ccai_rag *rag;      /* the documents search_document searches */
} Ccai_engine_env;

/* The engine of a context (engine/engine.c). */
typedef struct Ccai_engine {
    ccai_ctx *ctx;
    const ccai_config *cfg;
    Ccai_logger log;
    Ccai_store *store;
    Ccai_metrics *metrics;
    Ccai_sms_provider *sms;
    const char *bot_phone_number; /* Ccai_engine_env's */
    struct Ccai_rag *rag;         /* Ccai_engine_env's */

    struct ccai_call *calls; /* the live handles */
    size_t n_calls;
    struct Ccai_jobs *jobs;           /* engine/postcall.c: durable jobs */
    struct Ccai_sweep *sweep;         /* engine/sweep.c: heartbeat, calls nobody took back */
    Ccai_instance inst;               /* who holds the calls' leases (store/lease.h) */
    struct Ccai_callbacks *callbacks; /* engine/callback.c: calls placed back */
    struct Ccai_alerts *alerts;       /* engine/alert.c: emergency alerts */
    Ccai_dialer dialer;               /* all NULL: none */
    /* The callback being dialled: the channel's ccai_call_start(), run
     * inside the dialer's place(), resumes this call (engine/callback.c). */
    struct {
        const char *call_id;
        int64_t job_id;
        const char *about;
        bool taken;
    } dialing;

    /* engine/conversation.c: prompts, models, tools, timers. */
    Ccai_tools_entry tools[CCAI_TOOLS_CACHE];
    size_t n_tools;
    size_t next_evict;
    Ccai_initiate_entry initiates[CCAI_INITIATE_CACHE];
    size_t n_initiates, next_initiate;
    /* Calls whose spoken words wait for the next group commit. */
    struct ccai_call *kept;
    Ccai_timer kept_timer;
    struct Ccai_prompts *prompts;
    struct Ccai_phrasebook *phrasebook;   /* engine/phrases.c: phrases in any language */
    struct Ccai_guardrails *guardrails;   /* engine/guardrails.c */
    struct Ccai_ofl_lexicon *offline_lex; /* made at the first offline call */
    Ccai_llm_model models[2];             /* fast, then slow (those configured) */
    Ccai_llm_health health[2];            /* shared by every call of the context */
    size_t n_models;
    int history_max;
} Ccai_engine;

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
    Ccai_engine *eng;
    /* Tracing (core/trace.h): the call's span, NULL when not traced; its
     * log lines name the trace (the engine's logger otherwise). */
    Ccai_span *span;
    char trace_id[33];
    Ccai_logger log;
    struct ccai_call *prev, *next;
    ccai_call_ops ops;
    void *ud;
    Ccai_store_call row; /* the stored call, as last written */
    ccai_call_state state;
    ccai_claim_schema *schema;
    bool resumed;
    bool taken_back; /* resumed by id after a restart: no language menu */
    bool leased;     /* this instance holds the call's lease (engine/sweep.c renews it) */
    bool caller_spoke;
    int depth;
    bool free_pending;
    Ccai_err err;

    /* The conversation (engine/conversation.c). */
    json_t *initiate; /* parsed row.initiate_json without phone_number (the row has it): shared
                         by the calls of the same settings, never changed */
    json_t *claim;    /* parsed row.claim_json */
    double rate;      /* prosody rate, 0.75 .. 1.25 */
    struct Ccai_turn *turn;       /* the LLM turn in flight */
    struct Ccai_turn *early;      /* an early turn on words not final (Ccai_conv_early_start) */
    struct Ccai_offline *offline; /* the offline engine, when it is in charge */
    bool offline_mode;
    bool first_turn;       /* no turn yet on this leg */
    bool speaking;         /* said something not yet reported done */
    bool says_done;        /* the channel reports SAY_DONE once the caller heard it all
                              (audio calls): silence counts from there */
    bool silence_deferred; /* listening: the silence timer starts at SAY_DONE */
    Ccai_timer silence;
    int silences;
    struct Ccai_tools_text *tools_cache[2]; /* tool schemas: [0] all, [1] without end_call */
    bool channel_silence;                   /* the channel reports silence: no timer of ours */
    struct Ccai_tz *tz;                     /* the caller's zone, loaded on first use */
    int menu_failures;                      /* of the menu offered (engine/menu.c) */
    char *menu_name; /* the configured menu (ivr.menus) offered; NULL: the language menu */
    /* An answering machine (engine/voicemail.c): its greeting plays, or
     * the message is left. */
    enum { CCAI_MACHINE_NONE, CCAI_MACHINE_GREETING, CCAI_MACHINE_LEFT } machine;
    char *end_reason;   /* how the call ends when the engine knows better than the channel */
    int not_understood; /* CCAI_EVENT_NOT_UNDERSTOOD in a row */
    bool sms_failed;    /* the last send_sms tool's SMS could not go (engine/tools.c) */
    bool sms_queued;    /* ... went to the SMS provider's queue, not the channel */
    /* A callback's leg (engine/callback.c): its job, what it is about, and
     * whether the callee answered. 0: not a callback. */
    int64_t callback_job;
    char *callback_about;
    bool callback_answered;

    struct Ccai_pending_act *pending; /* acts waiting for a commit (async stores) */

    /* The bot's words said while another process held the database locked,
     * in order, stored before anything else of the call (engine/call.c). */
    struct Ccai_unsaved *unsaved, **unsaved_tail;
    Ccai_timer unsaved_timer;
    unsigned unsaved_tries;
    /* Listed by the engine: words kept, to store at the next turn of the
     * loop with those of the other calls (engine/conversation.c). */
    struct ccai_call *kept_next;
    bool kept_listed;
    Ccai_span *kept_span; /* its part of a group commit ("store_commit") */

    /* An upper layer's state on the call (the voice session of an audio
     * call, libccai/voice/): freed with the handle (Ccai_call_attach). */
    void *attached;
    void (*attached_free)(void *attached);
    void *host_ud; /* what ccai_call_userdata() returns when attached */
};

/* Attach an upper layer's state to call c (the voice session of an audio
 * call, which gives the engine its own ops and userdata): free_fn(att) runs
 * when the handle goes (ccai_call_free(), the context's end), after the
 * call is stored as ended and before the handle is freed; host_ud is then
 * what ccai_call_userdata() returns (the host's, not the session's). */
void Ccai_call_attach(ccai_call *c, void *att, void (*free_fn)(void *att), void *host_ud);
/* What was attached, or NULL. */
void *Ccai_call_attachment(const ccai_call *c);

/* The caller heard only @p heard of the bot's sentence @p said (barge-in
 * in an audio call): the newest stored sentence of the bot whose words are
 * @p said (among its last 32 messages) gets @p heard as its words in place
 * (its position before what was stored after it stays), or is removed
 * when heard is NULL or "". One commit.
 * Statuses: CCAI_OK; CCAI_ERR_NOT_FOUND (no such sentence: nothing
 * changed); the store's failures. */
ccai_status Ccai_call_said_heard(ccai_call *c, const char *said, const char *heard);
/* What the caller's next words are expected to be, for the voice layer's
 * recogniser: the offline dialogue's question (Ccai_offline_expected())
 * when it holds the call, FREE when the LLM does. */
Ccai_speech_kind Ccai_call_expected(const ccai_call *c);

/* The engine of a context (tests, tools): the composition root's. */
Ccai_engine *Ccai_ctx_engine(ccai_ctx *ctx);

/* The engine: prompts and models, the live calls, the jobs and the sweep;
 * its metrics families. On failure *ret_errmsg (may be NULL) says why.
 * Freeing ends the live calls (without post-call work). */
CCAI_MUST_CHECK ccai_status Ccai_engine_new(const Ccai_engine_env *env, Ccai_engine **ret,
                                            char **ret_errmsg);
void Ccai_engine_free(Ccai_engine *e);
/* conversation.c's part of the engine. */
CCAI_MUST_CHECK ccai_status Ccai_conv_engine_init(Ccai_engine *e, char **ret_errmsg);
void Ccai_conv_engine_cleanup(Ccai_engine *e);

/* The model called "fast" or "slow", NULL when not configured. */
const Ccai_llm_model *Ccai_engine_model(const Ccai_engine *e, const char *name);

/* Feature flags, read at each use (config/flags.h): the answer's soft and
 * hard timeouts and the caller's silence, in ms; recognition retries; tool
 * rounds of an answer; the model a turn asks first (index in e->models:
 * the slow one when conversation.slow_llm_for_chat, the other after). */
typedef enum Ccai_engine_flag {
    CCAI_FLAG_SOFT,
    CCAI_FLAG_HARD,
    CCAI_FLAG_SILENCE,
} Ccai_engine_flag;
uint32_t Ccai_engine_flag_ms(const Ccai_engine *e, Ccai_engine_flag f);
int Ccai_engine_retry_max(const Ccai_engine *e);
int Ccai_engine_max_rounds(const Ccai_engine *e);
size_t Ccai_engine_chat_first(const Ccai_engine *e);
const struct Ccai_prompts *Ccai_engine_prompts(const Ccai_engine *e);

/* The public functions on a context, routed here by the composition root
 * (libccai/ctx.c): same arguments and statuses. */
CCAI_MUST_CHECK ccai_status Ccai_engine_call_start(Ccai_engine *e, const ccai_call_params *params,
                                                   const ccai_call_ops *ops, void *userdata,
                                                   ccai_call **ret);
CCAI_MUST_CHECK ccai_status Ccai_engine_call_get_json(Ccai_engine *e, const char *call_id,
                                                      char **ret_json);
CCAI_MUST_CHECK ccai_status Ccai_engine_call_find_json(Ccai_engine *e, const char *phone_number,
                                                       int within_callback_window, char **ret_json);
CCAI_MUST_CHECK ccai_status Ccai_engine_calls_list_json(Ccai_engine *e, const char *phone_number,
                                                        size_t limit, size_t offset,
                                                        char **ret_json);
CCAI_MUST_CHECK ccai_status Ccai_engine_call_find_provider(Ccai_engine *e, const char *channel,
                                                           const char *provider_id,
                                                           char **ret_call_id);
CCAI_MUST_CHECK ccai_status Ccai_engine_call_check_secret(Ccai_engine *e, const char *call_id,
                                                          const char *secret);
CCAI_MUST_CHECK ccai_status Ccai_engine_call_end(Ccai_engine *e, const char *call_id,
                                                 const char *reason, bool by_caller);
CCAI_MUST_CHECK ccai_status Ccai_engine_sms_inbound(Ccai_engine *e, const char *from,
                                                    const char *text);
/* Calls in progress (the calls-in-progress gauge). */
size_t Ccai_calls_in_progress(const Ccai_engine *e);

/* initiate.c: conversation.initiate overlaid with the call's initiate_json
 * (errors on the context: CCAI_ERR_VALIDATION), the phone number and the
 * effective claim schema set; the language a call starts in (borrowed from
 * @p initiate); a resumed call's stored initiate in place of the built one. */
CCAI_MUST_CHECK ccai_status Ccai_initiate_build(Ccai_engine *e, const ccai_call_params *p,
                                                const char *phone, json_t **ret_initiate,
                                                ccai_claim_schema **ret_schema);
const char *Ccai_initiate_lang(const json_t *initiate);
CCAI_MUST_CHECK ccai_status Ccai_initiate_stored(ccai_call *c);

/* sweep.c: the live calls' heartbeat, and the end of the calls that no
 * process holds any more. Started with the context. */
typedef struct Ccai_sweep Ccai_sweep;
CCAI_MUST_CHECK ccai_status Ccai_sweep_new(Ccai_engine *e);
void Ccai_sweep_free(Ccai_engine *e);
/* A sign of life of a live call (Ccai_store_call_touch); on a conflict the
 * stored row is read again, and when another process ended the call the
 * handle ends too (without writing; the host hears of it) and
 * CCAI_ERR_STATE is returned: the handle may be gone. */
CCAI_MUST_CHECK ccai_status Ccai_call_touch(ccai_call *c);
/* The stored row read again and taken as the truth (another writer changed
 * it: a pipelined write of ours failed on a stale row version, or a touch
 * found it changed); when the call ended elsewhere the handle ends as for
 * Ccai_call_touch() (CCAI_ERR_STATE). CCAI_OK: still in progress. */
CCAI_MUST_CHECK ccai_status Ccai_call_meet_stored(ccai_call *c);

/* postcall.c: durable jobs (post-call report, SMS outbox). */
typedef struct Ccai_jobs Ccai_jobs;
CCAI_MUST_CHECK ccai_status Ccai_jobs_new(Ccai_engine *e);
void Ccai_jobs_free(Ccai_engine *e);
/* Look for due jobs now (after an enqueue). */
void Ccai_jobs_kick(Ccai_engine *e);
/* Try a claim now, unless a job runs or one is due later: a job another
 * process claimed and left (it died) is claimable once its lease ended,
 * which the next due time does not show (the sweep). */
void Ccai_jobs_poll(Ccai_engine *e);
/* Queue call_id's post-call job, due now, with why it is due ("hangup",
 * "transfer", a provider's end...) in its payload; inside the caller's
 * transaction when one is open. */
CCAI_MUST_CHECK ccai_status Ccai_postcall_enqueue(Ccai_store *st, const char *call_id,
                                                  const char *reason);
/* Send an SMS through the SMS provider, as a durable job; seq (> 0) is the
 * call's message it sends (its record shows the delivery). */
CCAI_MUST_CHECK ccai_status Ccai_sms_send(Ccai_engine *e, const char *call_id, const char *to,
                                          const char *text, int64_t seq);
/* A delivery report of the SMS whose reference is ref (ccai_ctx_sms_status()). */
CCAI_MUST_CHECK ccai_status Ccai_engine_sms_status(Ccai_engine *e, const char *ref,
                                                   const char *message_id, const char *status,
                                                   const char *detail);

/* call.c, for the conversation and the tools */
/* Store a message of the call. The bot's spoken words (persona "assistant",
 * no tool calls, no ret_seq) that find the database locked by another process
 * are kept in order and stored as soon as it can write, before any other
 * message of the call (CCAI_OK); anything else fails with CCAI_ERR_BUSY then
 * (a caller's words: the event is refused, nothing acted on). */
CCAI_MUST_CHECK ccai_status Ccai_call_add_message(ccai_call *c, const char *persona,
                                                  const char *action, ccai_style style,
                                                  const char *content, const char *lang,
                                                  const char *tool_calls_json, const char *engine,
                                                  int64_t *ret_seq);
/* Keep the bot's spoken words (persona "assistant", action "talk") to store
 * at the next turn of the loop, in one commit with every sentence any call
 * said meanwhile (group commit: an answer that streams in takes a commit
 * per loop iteration, not one per sentence). Anything else stored for the
 * call, or a read of its document, stores them first, in order. Stored at
 * once when they cannot be kept (out of memory). */
CCAI_MUST_CHECK ccai_status Ccai_call_keep_said(ccai_call *c, ccai_style style, const char *content,
                                                const char *engine);
/* Store the kept words of call c now, in one commit. A database locked by
 * another process keeps them for a retry (logged); other failures are
 * logged (what was said is said: the call goes on). */
void Ccai_call_store_kept(ccai_call *c);
/* The same for every call of list (linked by kept_next), in one commit. */
void Ccai_calls_store_kept(Ccai_engine *e, ccai_call *list);
CCAI_MUST_CHECK ccai_status Ccai_call_set_state(ccai_call *c, ccai_call_state s);
/* Persist, then act: run act(c, arg) once everything the call wrote so far
 * is committed (Ccai_store_sync(): at once with SQLite; from the store's
 * completion with an asynchronous backend, with a copy of arg). The one
 * place the engine acts on a stored change: every act that follows a write
 * goes through it. Returns the write's failure when the store reports one
 * at once (the act is then not run). */
typedef void (*Ccai_call_act_fn)(ccai_call *c, const char *text, int64_t num);
CCAI_MUST_CHECK ccai_status Ccai_call_after_commit(ccai_call *c, Ccai_call_act_fn act,
                                                   const char *text, int64_t num);
/* The same for an act whose own write was committed before it was asked
 * (the caller's words, stored with their seq): when the writes before it
 * failed because another writer changed the call (CONFLICT, NOT_FOUND),
 * the stored row is read again (Ccai_call_meet_stored()) and, the call
 * still in progress, the act runs from that state instead of being
 * dropped (the caller would wait for an answer that never comes). */
CCAI_MUST_CHECK ccai_status Ccai_call_after_commit_or_reload(ccai_call *c, Ccai_call_act_fn act,
                                                             const char *text, int64_t num);
/* The same for an act that depends on nothing stored but must not go
 * before what the call wrote (the hang-up after the goodbye): run once the
 * writes are settled, committed or not. Returns a failure of its own (out
 * of memory): the act is then not run. */
CCAI_MUST_CHECK ccai_status Ccai_call_after_writes(ccai_call *c, Ccai_call_act_fn act,
                                                   const char *text, int64_t num);
/* Tell the host the state changed (ops.state_changed), once it is stored. */
CCAI_MUST_CHECK ccai_status Ccai_call_notify_state(ccai_call *c, ccai_call_state old_state);
/* A store failure on the call: its text in ccai_call_errmsg() and the log;
 * returns st. */
CCAI_MUST_CHECK ccai_status Ccai_call_store_fail(ccai_call *c, ccai_status st);
/* Store the bot's words kept while the database was locked, oldest first
 * (they come before anything else the call stores). */
CCAI_MUST_CHECK ccai_status Ccai_call_flush_unsaved(ccai_call *c);
/* The handle goes (engine/call_writes.c): the kept words that could not be
 * stored are dropped (logged), and acts still waiting for a commit. */
void Ccai_call_unsaved_clear(ccai_call *c);
/* A new handle: nothing kept, the retry timer ready. */
void Ccai_call_writes_init(ccai_call *c);
/* Release a handle whose call could not go on (a host's audio call without
 * a speech provider): stored as ended with reason (not "handle released"),
 * no callback fires. NULL accepted. */
void Ccai_call_free_ended(ccai_call *c, const char *reason);
void Ccai_call_pending_drop(ccai_call *c);
/* States: not ended yet; from the stored text (unknown: ended). */
CCAI_MUST_CHECK bool Ccai_call_state_in_progress(ccai_call_state s);
ccai_call_state Ccai_call_state_parse(const char *s);
/* End every live call when the context goes away (no post-call work). */
void Ccai_calls_cleanup(Ccai_engine *e);
/* The live handle of stored call id in this context, NULL when none. */
ccai_call *Ccai_call_live(const Ccai_engine *e, const char *id);
/* End a stored call in progress that no handle of this context holds: the
 * provider said it is over (reason: its word, "completed"...; by_caller)
 * or nobody took it back ("interrupted"). In one commit: the hangup
 * message, state "ended" and the reason, and the post-call job when the
 * caller spoke since the call (re)started. Written only if the row is
 * still as read: CCAI_ERR_CONFLICT when another writer changed it (a
 * process took it back), CCAI_ERR_STATE when it is live here. row is
 * updated. An ended call is left as it is (CCAI_OK). */
CCAI_MUST_CHECK ccai_status Ccai_call_end_stored(Ccai_engine *e, Ccai_store_call *row,
                                                 const char *reason, bool by_caller);
/* Store what the provider says of call_id's recording, whatever its state
 * (Ccai_store_call_set_recording); the live handle sees it too. */
CCAI_MUST_CHECK ccai_status Ccai_call_recording(Ccai_engine *e, const char *call_id,
                                                const char *url, const char *recording_id,
                                                int64_t duration_ms);
/* Bracket engine work that may call the host (timers, LLM callbacks): a
 * ccai_call_free() from a host callback then waits for the frame to end.
 * leave() returns false when the call is gone. */
void Ccai_call_enter(ccai_call *c);
bool Ccai_call_leave(ccai_call *c);
CCAI_MUST_CHECK ccai_status Ccai_call_save(ccai_call *c);
/* Store c->claim into the row (and save it). */
CCAI_MUST_CHECK ccai_status Ccai_call_save_claim(ccai_call *c);
/* Hang up for good: goodbye said by the caller of this, hangup asked of
 * the channel, state ending. */
void Ccai_call_hangup(ccai_call *c);

/* conversation.c, driven by call.c */
/* The call's available language entry {short_code, voice,
 * pronunciations_en} of code, or NULL; borrowed from the call. */
const json_t *Ccai_conv_lang_entry(const ccai_call *c, const char *code);
/* A string of the call's initiate document, "" when absent. */
const char *Ccai_conv_initiate_str(const ccai_call *c, const char *key);
void Ccai_conv_init(ccai_call *c);
void Ccai_conv_cleanup(ccai_call *c);
void Ccai_conv_connected(ccai_call *c);
void Ccai_conv_caller_said(ccai_call *c, const char *text, int64_t seq);
void Ccai_conv_partial(ccai_call *c);
/* Early start (audio calls, speech.early_start): the LLM turn starts on
 * the caller's words so far (text: a partial result the recogniser holds
 * steady while the caller is silent), its output held: nothing is said or
 * stored and no tool runs. The final words then take it when they are the
 * same words (case, punctuation and spacing aside) and nothing else was
 * stored meanwhile: its sentences are said at once, its tools run then;
 * else it is dropped (the request cancelled) and the final words start a
 * turn of their own. Only when nothing else is under way: the call in
 * conversation, no turn, the bot's words all heard, an LLM ready.
 * Statuses: CCAI_OK; CCAI_ERR_STATE (not now); CCAI_ERR_INVALID_ARG (no
 * words); CCAI_ERR_NOMEM. Counted in ccai_llm_early_turns_total. */
CCAI_MUST_CHECK ccai_status Ccai_conv_early_start(ccai_call *c, const char *text);
/* Drop the early turn (the caller went on, or no final words came). */
void Ccai_conv_early_cancel(ccai_call *c);
void Ccai_conv_silence(ccai_call *c);
void Ccai_conv_say_done(ccai_call *c);
void Ccai_conv_transfer_failed(ccai_call *c, const char *reason);
/* Transfer to initiate's agent_phone_number: "transferring" is stored,
 * then (once committed) the channel is asked. false: it failed and the
 * caller was told (Ccai_conv_transfer_failed()); true: under way (with an
 * asynchronous store, waiting for the commit: a failed commit asks no
 * channel). */
CCAI_MUST_CHECK bool Ccai_conv_transfer(ccai_call *c);
/* A call's initiate (taken): the same tree for every call whose settings
 * are the same (a reference). */
json_t *Ccai_conv_share_initiate(Ccai_engine *e, json_t *initiate);
/* Call c kept words to store: list it for the next group commit. */
void Ccai_conv_kept(ccai_call *c);
/* Store the words every call kept, now (before the stored conversation is
 * read). */
void Ccai_conv_store_kept(Ccai_engine *e);
/* The call goes: its kept words stored now, and off the engine's list. */
void Ccai_conv_kept_forget(ccai_call *c);
/* Say goodbye (stored when store), then hang up. */
void Ccai_conv_goodbye(ccai_call *c, bool store);
/* The caller could not be understood (CCAI_EVENT_NOT_UNDERSTOOD): apologise
 * and listen again, or say goodbye after conversation.recognition_retry_max
 * in a row. */
void Ccai_conv_not_understood(ccai_call *c);
/* Listen for the caller (ops.listen) and count silence from now, or from
 * the end of what the bot says. */
void Ccai_conv_listen(ccai_call *c);
/* Transfer to number (NULL: the agent of the call's initiate). */
CCAI_MUST_CHECK bool Ccai_conv_transfer_to(ccai_call *c, const char *number);
/* The claim schema or the task changed: the tool schemas are built again. */
void Ccai_conv_tools_changed(ccai_call *c);
/* A machine answered: the bot's turn is dropped, what it says cut; with
 * wait_ms, the silence timer waits that long for the greeting's end. */
void Ccai_conv_machine(ccai_call *c, uint32_t wait_ms);

/* menu.c: menus (IVR): the configured ones (ivr.menus) and the language
 * menu, offered through ops.menu or said and listened to. */
/* Whether the call gets a menu when it connects. */
CCAI_MUST_CHECK bool Ccai_menu_wanted(const ccai_call *c);
/* Offer it: state language_menu (stored), then the menu. */
CCAI_MUST_CHECK ccai_status Ccai_menu_open(ccai_call *c);
/* While a menu is open: CCAI_EVENT_CHOICE (a choice's value, or the words
 * the channel heard; NULL: nothing recognised), CCAI_EVENT_DTMF (a key),
 * CCAI_EVENT_SPEECH (words), silence or words not understood. Each acts on
 * the choice, or offers the menu again, or its fallback. */
CCAI_MUST_CHECK ccai_status Ccai_menu_choice(ccai_call *c, const char *value);
CCAI_MUST_CHECK ccai_status Ccai_menu_key(ccai_call *c, const char *digits);
CCAI_MUST_CHECK ccai_status Ccai_menu_words(ccai_call *c, const char *text);
void Ccai_menu_silence(ccai_call *c);
/* The member of a by-language mapping ({"fr": ..., "en-US": ...}) for
 * lang: the same code, the same language, English, the first; a value
 * that is no mapping is for every language. Borrowed. */
const json_t *Ccai_menu_by_lang(const json_t *v, const char *lang);

/* voicemail.c: an outbound call answered by a machine
 * (CCAI_EVENT_ANSWERING_MACHINE, Twilio's AnsweredBy words). */
CCAI_MUST_CHECK ccai_status Ccai_voicemail_on(ccai_call *c, const char *answered_by);
/* The greeting's end did not come in time: the message now. */
void Ccai_voicemail_end_wait(ccai_call *c);

/* event.c: the caller is on the line (no menu, or after it): the "call"
 * message and state connected are stored, the conversation starts. */
CCAI_MUST_CHECK ccai_status Ccai_call_connect(ccai_call *c);

/* stored.c: the public call document of a stored row (callback secret
 * left out), and a document handed out as text (doc consumed). */
CCAI_MUST_CHECK ccai_status Ccai_call_doc(Ccai_store *st, const Ccai_store_call *row, json_t **ret);
CCAI_MUST_CHECK ccai_status Ccai_json_dump_doc(json_t *doc, char **ret_json);

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

/* callback.c: calls placed back at the time the caller chose, as durable
 * jobs (kind "callback") re-armed at start, every third of a call lease
 * (jobs another process queued) and by the sweep (sweep.c). */
typedef struct Ccai_callbacks Ccai_callbacks;
CCAI_MUST_CHECK ccai_status Ccai_callbacks_new(Ccai_engine *e);
void Ccai_callbacks_free(Ccai_engine *e);
/* Look for due callbacks now. */
void Ccai_callbacks_kick(Ccai_engine *e);
/* As Ccai_jobs_poll(). */
void Ccai_callbacks_poll(Ccai_engine *e);
/* The schedule_callback tool: a callback of call c at @p at (wall ms;
 * @p when its ISO text) about @p about. Returns what the LLM reads (NULL
 * on NOMEM). */
char *Ccai_callback_schedule(ccai_call *c, int64_t at, const char *when, const char *about);
/* The callback's leg c was answered (the callee is on the line). */
void Ccai_callback_answered(ccai_call *c);
/* The callback's leg c ended unanswered (@p reason: the provider's word):
 * tried again later, or given up. */
void Ccai_callback_unanswered(ccai_call *c, const char *reason);

/* alert.c: emergency alerts to the configured targets (an SMS to the
 * on-call numbers, a signed webhook), durable jobs (kind "alert") tried
 * until a target acknowledges. */
typedef struct Ccai_alerts Ccai_alerts;
CCAI_MUST_CHECK ccai_status Ccai_alerts_new(Ccai_engine *e);
void Ccai_alerts_free(Ccai_engine *e);
void Ccai_alerts_kick(Ccai_engine *e);
/* As Ccai_jobs_poll(). */
void Ccai_alerts_poll(Ccai_engine *e);
/* The notify_emergencies tool: one alert job per target. Returns what the
 * LLM reads (NULL on NOMEM). */
char *Ccai_alert_raise(ccai_call *c, const char *service, const char *reason, const char *location,
                       const char *contact);

/* A notice the LLM reads at its next turn (a failed SMS, an alert
 * acknowledged): stored on the call as an assistant "notice" message when
 * its handle is live here. */
void Ccai_call_notice(Ccai_engine *e, const char *call_id, const char *text);

/* tools.c */
typedef struct Ccai_tool_outcome {
    bool end_call; /* the call is ending: no further LLM round */
    bool transfer; /* handed to a human */
    bool changed;  /* something the next round must see */
    /* The tool answers later (search_document asks the embeddings
     * endpoint, the cache): its result is NULL now and comes through
     * Ccai_conv_tool_result(); the turn waits for it, and stops it with
     * Ccai_tools_cancel() when the turn ends first. */
    struct Ccai_tool_wait *wait;
} Ccai_tool_outcome;

/* Stop a tool that answers later: its result never comes. NULL accepted. */
void Ccai_tools_cancel(struct Ccai_tool_wait *w);
/* conversation.c: the result of the call's tool that answered later
 * (taken; NULL: out of memory); the turn goes on with its next tool. */
void Ccai_conv_tool_result(ccai_call *c, char *result);

/* The tool schemas for this call (end_call left out when asked). */
json_t *Ccai_tools_schemas(const ccai_call *c, bool with_end_call);
/* Run one tool call; returns the result text for the LLM (never NULL
 * unless out of memory). Speaks the customer_response, stored with the
 * engine label of the model that asked ("llm:fast"). */
char *Ccai_tools_run(ccai_call *c, const char *name, const char *args_json, const char *engine,
                     Ccai_tool_outcome *out);

#endif
