/* The offline dialogue engine: a deterministic form-filling dialogue (the
 * VoiceXML form-interpretation algorithm), sans-I/O.
 *
 * It holds the call when no LLM is configured or when every LLM failed:
 * it greets the caller, asks for each missing claim field in schema order,
 * validates every answer by field type (ccai_field_validate()), confirms,
 * reads back a summary and says goodbye. It speaks English, French and
 * Spanish, chosen by the call's language code ("en-US", "fr-FR", "es-ES";
 * any other language falls back to English).
 *
 * Lifecycle:
 * 1. Ccai_offline_new() with the schema, the claim known so far and the
 *    wall clock (so that "yesterday" is deterministic);
 * 2. Ccai_offline_start() once: greeting and first question, or, for a
 *    resumed call, "welcome back" and what is already noted; or, when the
 *    dialogue takes over a call the LLM held, Ccai_offline_take_over();
 * 3. Ccai_offline_input() for each final caller utterance,
 *    Ccai_offline_silence() when the caller said nothing in time;
 * 4. the host performs the actions of each reply in order: SAY (speak),
 *    SET_FIELD (store the claim value), SET_LANG (switch STT/TTS),
 *    SET_RATE (speak at that rate, as the speech_speed tool does),
 *    TRANSFER (hand the call to a human), HANGUP (end the call). After a
 *    TRANSFER or a HANGUP the dialogue is over: further turns return
 *    CCAI_ERR_STATE (create a new, resumed engine if a transfer fails);
 * 5. Ccai_offline_free().
 *
 * A turn that fails (CCAI_ERR_NOMEM) changes nothing: the same turn may be
 * retried. The engine is not thread-safe; one call drives it. */
#ifndef CCAI_ENGINE_OFFLINE_H
#define CCAI_ENGINE_OFFLINE_H

#include "core/common.h"
#include "core/tz.h"
#include "speech/grammar.h"

#include <jansson.h>

/* Longer utterances are cut (on a UTF-8 character boundary). */
#define CCAI_OFFLINE_UTTERANCE_MAX 2000
/* Turns without progress at one question (unusable answers, requests to
 * repeat, ...) before the dialogue moves on: a field is put off (asked
 * again once at the end), the confirmation is given up (the call goes to
 * an advisor when one can take it, else the claim is kept as it is). */
#define CCAI_OFFLINE_TRIES 3
/* Times the summary is read for confirmation (the caller corrects a value
 * between two) before the confirmation is given up. */
#define CCAI_OFFLINE_CONFIRM_ROUNDS 4
/* Turns in a row without progress, whatever the questions, that end the
 * dialogue (hand-over to an advisor when one can take the call). */
#define CCAI_OFFLINE_STUCK (3 * CCAI_OFFLINE_TRIES)
/* Silences in a row that end the call (the earlier ones re-prompt). */
#define CCAI_OFFLINE_SILENCES 3

typedef struct Ccai_offline Ccai_offline;

/* The offline dialogue's word lists and phrases (data/offline/<lang>.txt,
 * compiled in), parsed: read-only once made, shared by the dialogues of a
 * context (the engine keeps one, made at its first offline call). */
typedef struct Ccai_ofl_lexicon Ccai_ofl_lexicon;

/* Statuses: CCAI_OK; CCAI_ERR_NOMEM; CCAI_ERR_PARSE (a data file compiled
 * in is malformed: a build error). Ownership: *ret is freed with
 * Ccai_offline_lexicon_free(). */
CCAI_MUST_CHECK ccai_status Ccai_offline_lexicon_new(Ccai_ofl_lexicon **ret);
void Ccai_offline_lexicon_free(Ccai_ofl_lexicon *lx);

/* The post-call report written without a language model, in the call's
 * language: the claim as sentences (short: what happened, at most
 * CCAI_OFFLINE_REPORT_SHORT_MAX bytes; long: every field noted; sms: a
 * greeting, the long text and the bot's signature). */
#define CCAI_OFFLINE_REPORT_SHORT_MAX 120
typedef struct Ccai_offline_report {
    char *short_text;
    char *long_text;
    char *sms;
} Ccai_offline_report;

/* lang_code: the call's language ("fr-FR"; unknown: English, or @texts);
 * texts: for a language the data files have not, its translation of the
 * sections (Ccai_engine_texts(e, "offline.", lang): {"report.intro":
 * "...", "sms.sign": "{1} ... {2}"}; NULL: English); a section it lacks
 * is written in English. claim_json: the claim, a JSON object (NULL: "{}"); bot_name,
 * bot_company: the signature, NULL or "" left out. Statuses: CCAI_OK;
 * CCAI_ERR_INVALID_ARG; CCAI_ERR_PARSE (the claim is no JSON object);
 * CCAI_ERR_NOMEM. Ownership: *ret's strings, freed with
 * Ccai_offline_report_clear(); *ret is zeroed on error. */
CCAI_MUST_CHECK ccai_status Ccai_offline_report_make(const Ccai_ofl_lexicon *lx,
                                                     const json_t *texts, const char *lang_code,
                                                     const char *claim_json, const char *bot_name,
                                                     const char *bot_company,
                                                     Ccai_offline_report *ret);
void Ccai_offline_report_clear(Ccai_offline_report *r);
/* The sections of data/offline/<lang>.txt the report and the SMS are
 * written from, NULL-terminated (what engine/phrases.c has translated). */
extern const char *const Ccai_offline_report_sections[];

typedef enum Ccai_offline_action_kind {
    CCAI_OFFLINE_SAY,        /* text: one utterance to speak */
    CCAI_OFFLINE_SET_FIELD,  /* field, text: the normalised value to store */
    CCAI_OFFLINE_TRANSFER,   /* hand the call to a human agent */
    CCAI_OFFLINE_HANGUP,     /* end the call */
    CCAI_OFFLINE_SET_LANG,   /* text: the language code to switch to */
    CCAI_OFFLINE_SET_RATE,   /* text: the speaking rate to use from now on ("0.85") */
    CCAI_OFFLINE_CLEAR_FIELD /* field: the value stored before is withdrawn (the
                              * caller said it is wrong); text NULL */
} Ccai_offline_action_kind;

typedef struct Ccai_offline_action {
    Ccai_offline_action_kind kind;
    const char *text;   /* NULL for TRANSFER and HANGUP */
    const char *field;  /* SET_FIELD only, NULL otherwise */
    bool expects_reply; /* SAY: the last one of a reply that asks something */
} Ccai_offline_action;

/* Borrowed from the engine until its next call (any function but the
 * getters) or until it is freed. */
typedef struct Ccai_offline_reply {
    const Ccai_offline_action *v;
    size_t n;
} Ccai_offline_reply;

typedef struct Ccai_offline_params {
    /* Fields to fill, in order. Required; copied. */
    const ccai_claim_schema *schema;
    /* Claim known so far, a JSON object (NULL means "{}"). String values of
     * schema fields that validate are kept; anything else is asked. */
    const char *claim_json;
    /* The call's language code ("fr-FR"); NULL means "en-US". */
    const char *lang;
    /* Introduce the bot: "I am <bot_name> from <bot_company>". NULL or ""
     * leaves the part out. */
    const char *bot_name;
    const char *bot_company;
    /* NULL-terminated language codes the call may switch to ("en-US",
     * "fr-FR", ...). The caller names a language ("French", "en
     * espagnol"); the first code of that language is used. NULL means
     * en-US, fr-FR and es-ES. */
    const char *const *available_langs;
    /* Wall clock (Unix milliseconds, UTC) and the caller's offset from UTC
     * in minutes: relative dates ("yesterday", "Tuesday") are resolved
     * against this local day. */
    int64_t now_ms;
    int utc_offset_min;
    /* A human can take the call (an agent number is configured): a
     * dialogue that cannot get its claim confirmed hands the call over
     * instead of ending it. */
    bool can_transfer;
    /* The caller's zone: a date and time noted is stored with its offset
     * there ("2024-10-07T15:00:00-07:00", DST-correct). NULL stores them
     * without an offset. Borrowed: must outlive the engine. */
    const Ccai_tz *tz;
    /* The caller's number (E.164; NULL: unknown): "this number", "the one
     * I'm calling from" give it, and its country reads national numbers. */
    const char *caller_number;
    /* The word lists (Ccai_offline_lexicon_new()), borrowed: must outlive
     * the engine. NULL: the engine makes its own. */
    const Ccai_ofl_lexicon *lexicon;
    /* The call's speaking rate (prosody, 0.75 .. 1.25; 0 means 1): "slower,
     * please" lowers it a step (SET_RATE). */
    double rate;
} Ccai_offline_params;

/* Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG (no schema, offset beyond
 * +-24 h); CCAI_ERR_PARSE (claim_json is not a JSON object);
 * CCAI_ERR_NOMEM. Ownership: *ret is freed with Ccai_offline_free(). */
CCAI_MUST_CHECK ccai_status Ccai_offline_new(const Ccai_offline_params *params, Ccai_offline **ret);
void Ccai_offline_free(Ccai_offline *o);

/* First turn: greeting, explanation and first question; with @p resumed,
 * "welcome back", a summary of what is known and the next question. Once
 * only (CCAI_ERR_STATE otherwise). */
CCAI_MUST_CHECK ccai_status Ccai_offline_start(Ccai_offline *o, bool resumed,
                                               const Ccai_offline_reply **ret);

/* Instead of Ccai_offline_start(), when the dialogue takes over a call
 * mid-way (every LLM failed): no greeting; @p intro (a sentence saying
 * what happens, in the call's language; NULL or "" for none), then the
 * next missing field is asked (or the claim read for confirmation), the
 * claim given at creation kept. The caller's last words @p utterance
 * (NULL: none), which the LLM did not answer, are acted on only when
 * they ask for something the dialogue does whatever the question:
 * goodbye (no intro then), a human (the same), a language; they are never
 * taken as the answer to a question nobody asked. Once only, on a new
 * engine (CCAI_ERR_STATE otherwise). Statuses: as Ccai_offline_start(). */
CCAI_MUST_CHECK ccai_status Ccai_offline_take_over(Ccai_offline *o, const char *intro,
                                                   const char *utterance,
                                                   const Ccai_offline_reply **ret);

/* One caller turn (a final transcript, UTF-8). Statuses: CCAI_OK,
 * CCAI_ERR_INVALID_ARG, CCAI_ERR_STATE (not started, or the dialogue is
 * over), CCAI_ERR_NOMEM. */
CCAI_MUST_CHECK ccai_status Ccai_offline_input(Ccai_offline *o, const char *utterance,
                                               const Ccai_offline_reply **ret);

/* The caller said nothing: "are you still there?" and the question again;
 * the CCAI_OFFLINE_SILENCES-th silence in a row says goodbye and hangs up.
 * Statuses: as Ccai_offline_input(). */
CCAI_MUST_CHECK ccai_status Ccai_offline_silence(Ccai_offline *o, const Ccai_offline_reply **ret);

/* The claim values as a JSON object (schema fields that have a value, in
 * schema order). Never NULL; borrowed until the next turn or free. */
const char *Ccai_offline_claim_json(const Ccai_offline *o);

/* The language code the dialogue currently speaks (the one given at
 * creation, or the last SET_LANG). Borrowed while the engine lives. */
const char *Ccai_offline_lang(const Ccai_offline *o);

/* What the dialogue's last question expects as the caller's answer, for a
 * recogniser that can narrow its vocabulary (speech/grammar.h): YESNO
 * while a summary waits for confirmation, DATE for a date field (FREE
 * once the day is known and the time is asked), EMAIL, DIGITS for a phone
 * number; FREE for a text field, a "which one?" and whatever else. */
Ccai_speech_kind Ccai_offline_expected(const Ccai_offline *o);

/* The fields the last question asked (one, or two asked together: "When
 * and where did it happen?"), their names in @p fields (borrowed while the
 * engine lives); *ret_time (may be NULL) is true when only the time of a
 * date already given is asked. 0 when no field is asked (confirmation,
 * ended). */
size_t Ccai_offline_asking(const Ccai_offline *o, const char **fields, size_t max, bool *ret_time);

/* True once a TRANSFER or HANGUP was returned. */
CCAI_MUST_CHECK bool Ccai_offline_ended(const Ccai_offline *o);

#endif
