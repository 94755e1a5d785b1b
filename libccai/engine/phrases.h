/* The fixed phrases (engine/prompts.h: greeting, error, goodbye, ...) in
 * any language (issue 13).
 *
 * English is the source; fr-FR and es-ES come compiled in
 * (data/prompts/tts/<lang>/). For any other language tag the whole English
 * set is translated once by the LLM (the fast model first, on the loop,
 * never waited for), checked (every phrase and variant there, each
 * variant's placeholders the same as its source's, nothing added), kept in
 * memory and in the store (keyed by the tag and a hash of the English set
 * and of the instructions, so an edited phrase set is translated again),
 * and used by every later phrase of that language.
 *
 * Until a translation is ready, and when it cannot be had (no LLM,
 * prompts.translate false, a rejected or failed answer), the English text
 * is said: the caller hears the phrase at once, never a silence spent on
 * an LLM round trip. Each reason is logged once per language (a failure
 * again at each new attempt, at most every CCAI_PHRASES_RETRY_MS).
 *
 * Texts that are written, not spoken, go in the same set and the same
 * translation (Ccai_phrase_texts): the report page's labels
 * (data/prompts/report/labels.json, keys "report.<name>"; fr-FR and es-ES
 * compiled in beside it, read by web/report_page.c) and the sentences of
 * the report and SMS written without an LLM (data/offline/en.txt, sections
 * report.* and sms.*, keys "offline.<section>", their "%s" given to the
 * LLM as {1}, {2}). A text has one variant; its placeholders must survive
 * as a phrase's do. */
#ifndef CCAI_ENGINE_PHRASES_H
#define CCAI_ENGINE_PHRASES_H

#include "engine/engine.h"
#include "engine/offline.h"
#include "engine/prompts.h"

/* A failed translation is asked again at most this often. */
#define CCAI_PHRASES_RETRY_MS (10u * 60u * 1000u)
/* Languages translated at most per engine (the rest speak English). */
#define CCAI_PHRASES_LANGS_MAX 64

typedef struct Ccai_phrasebook Ccai_phrasebook;

/* The written texts translated with the phrases, in English. */
typedef struct Ccai_phrase_texts {
    size_t n;
    char **key; /* "report.all_calls", "offline.sms.hello" */
    char **en;  /* placeholders in braces: "Call {phone}", "{1} from {2}." */
} Ccai_phrase_texts;

/* The texts from the compiled-in files; @lx the offline dialogue's
 * lexicon (its English report.* and sms.* sections). Statuses: CCAI_OK
 * (*ret freed with Ccai_phrase_texts_free()), CCAI_ERR_NOMEM,
 * CCAI_ERR_PARSE (a compiled-in file is malformed: a build error). */
CCAI_MUST_CHECK ccai_status Ccai_phrase_texts_new(const Ccai_ofl_lexicon *lx,
                                                  Ccai_phrase_texts **ret);
void Ccai_phrase_texts_free(Ccai_phrase_texts *t);

/* The translated variants of every phrase, and every text, as checked. */
typedef struct Ccai_phrase_set {
    char **v[CCAI_TTS_PHRASE_COUNT];
    size_t n[CCAI_TTS_PHRASE_COUNT];
    char **text; /* in the order of the Ccai_phrase_texts checked against */
    size_t n_text;
} Ccai_phrase_set;

void Ccai_phrase_set_free(Ccai_phrase_set *s);

/* The English set the LLM is asked to translate, compact JSON
 * {"hello": ["...", ...], ..., "report.all_calls": ["All calls"], ...}:
 * the phrases in their order, then @t's texts (NULL: none), each as an
 * array of one. NULL on NOMEM. */
char *Ccai_phrases_source_json(const Ccai_prompts *p, const Ccai_phrase_texts *t);

/* Check @answer (the LLM's JSON text, or a stored row) against the English
 * set of @p and @t (NULL: no texts): an object with exactly the phrase
 * names and text keys as keys, each an array of as many non-empty strings
 * as the English phrase has variants (a text: one), each with the same
 * placeholders as its English variant (the same number of each, none
 * other, no stray brace) and at most CCAI_PHRASES_TEXT_MAX bytes. Statuses: CCAI_OK (*ret set,
 * freed with Ccai_phrase_set_free()); CCAI_ERR_VALIDATION or CCAI_ERR_PARSE with *ret_why (freed
 * with ccai_free()) saying what is wrong, e.g. "hello[2]: {bot_name} dropped"; CCAI_ERR_NOMEM. */
#define CCAI_PHRASES_TEXT_MAX   2048
#define CCAI_PHRASES_ANSWER_MAX (256 * 1024)
CCAI_MUST_CHECK ccai_status Ccai_phrases_parse(const Ccai_prompts *p, const Ccai_phrase_texts *t,
                                               const char *answer, size_t len,
                                               Ccai_phrase_set **ret, char **ret_why);

/* Does @lang need a translation of its own (not English, no compiled-in
 * translation of the tag or of its language)? */
CCAI_MUST_CHECK bool Ccai_phrases_needs_translation(const char *lang);

/* The engine's phrase book; NULL on NOMEM. Freeing cancels a translation
 * in flight. */
Ccai_phrasebook *Ccai_phrasebook_new(Ccai_engine *e);
void Ccai_phrasebook_free(Ccai_phrasebook *pb);

/* Phrase @which for a call in @lang (NULL: the default text): as
 * Ccai_prompts_tts_pick_lang(), or the LLM's translation for a language
 * with none compiled in; asking for a language starts its translation
 * (from the store, else the LLM) and returns English meanwhile. Borrowed
 * until the engine goes. */
const char *Ccai_engine_phrase(Ccai_engine *e, Ccai_tts_phrase which, const char *lang,
                               uint32_t random);
/* The same rendered (Ccai_prompt_render()); freed with ccai_free(). NULL on
 * NOMEM or @which out of range. */
char *Ccai_engine_render_phrase(Ccai_engine *e, Ccai_tts_phrase which, const char *lang,
                                uint32_t random, const Ccai_prompt_var *vars, size_t n);

/* The translated texts of @lang whose keys start with @prefix ("report.",
 * "offline."), as a new JSON object of the keys without the prefix
 * ({"all_calls": "..."}); NULL when @lang has no translation ready (it is
 * English or compiled in, or not translated yet: asking starts its
 * translation, as Ccai_engine_phrase() does), or on NOMEM. The caller
 * writes its compiled-in or English text then. */
json_t *Ccai_engine_texts(Ccai_engine *e, const char *prefix, const char *lang);
/* The English texts the engine's translations are checked against (made
 * at first use); NULL on NOMEM. */
const Ccai_phrase_texts *Ccai_engine_phrase_texts(Ccai_engine *e);

/* Where a language's phrases stand (tests, the log). */
typedef enum Ccai_phrases_state {
    CCAI_PHRASES_ENGLISH,    /* English or compiled in: nothing to translate */
    CCAI_PHRASES_UNASKED,    /* not asked for yet */
    CCAI_PHRASES_PENDING,    /* the LLM is translating */
    CCAI_PHRASES_READY,      /* translated: used */
    CCAI_PHRASES_UNAVAILABLE /* no LLM, turned off, failed or rejected: English */
} Ccai_phrases_state;
Ccai_phrases_state Ccai_engine_phrases_state(Ccai_engine *e, const char *lang);

#endif
