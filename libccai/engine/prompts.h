/* Prompt templates: the LLM system prompts and the phrases spoken by TTS.
 *
 * A template holds `{name}` placeholders; `{{` and `}}` stand for literal
 * braces. Each template has a fixed set of allowed placeholders, checked
 * when the configuration is loaded: a misspelt placeholder is an error
 * there, not a blank in a call. The defaults live in data/prompts/ and are
 * compiled in (core/embedded.h), so the library needs no data files at run
 * time; prompts.llm.<name>_tpl and
 * prompts.tts.<name>_tpl override them. */
#ifndef CCAI_ENGINE_PROMPTS_H
#define CCAI_ENGINE_PROMPTS_H

#include "core/common.h"

/* Longest template, and longest rendered text, in bytes. */
#define CCAI_PROMPT_TPL_MAX (64 * 1024)
#define CCAI_PROMPT_OUT_MAX (256 * 1024)
/* Most variants of one TTS phrase. */
#define CCAI_PROMPT_VARIANTS_MAX 64

typedef struct Ccai_prompt_var {
    const char *name;
    const char *value; /* NULL renders as "" */
} Ccai_prompt_var;

/* Check the syntax of @tpl and that every placeholder is in @allowed
 * (NULL-terminated). Statuses: CCAI_OK; CCAI_ERR_VALIDATION (unknown
 * placeholder, a single "{" or "}", an empty or malformed name);
 * CCAI_ERR_LIMIT (over CCAI_PROMPT_TPL_MAX); CCAI_ERR_NOMEM;
 * CCAI_ERR_INVALID_ARG. On a validation or limit error *ret_error (when
 * not NULL) receives why, e.g. "unknown placeholder {clam}; allowed: task,
 * default_lang"; the caller frees it with ccai_free(). */
CCAI_MUST_CHECK ccai_status Ccai_prompt_check(const char *tpl, const char *const *allowed,
                                              char **ret_error);

/* Render @tpl: the template's common indentation removed, leading and
 * trailing white space trimmed, placeholders replaced by the value of the
 * var of that name (a placeholder with no var is kept as written). Values
 * are inserted as they are. Returns the text, freed with ccai_free(); NULL
 * when out of memory or over the size limits. */
char *Ccai_prompt_render(const char *tpl, const Ccai_prompt_var *vars, size_t n);

/* As Ccai_prompt_render(), then every run of white space holding a line
 * break becomes one space, as the reference does for every LLM prompt
 * (fewer hallucinations). */
char *Ccai_prompt_render_llm(const char *tpl, const Ccai_prompt_var *vars, size_t n);

/* The placeholders each template may use are listed by
 * Ccai_llm_prompt_vars() / Ccai_tts_phrase_vars(). */
typedef enum Ccai_llm_prompt {
    CCAI_PROMPT_DEFAULT_SYSTEM,     /* persona: first system message of every request */
    CCAI_PROMPT_CHAT_SYSTEM,        /* the conversation */
    CCAI_PROMPT_SYNTHESIS_SYSTEM,   /* post-call synthesis (JSON) */
    CCAI_PROMPT_NEXT_SYSTEM,        /* post-call next action (JSON) */
    CCAI_PROMPT_SMS_SUMMARY_SYSTEM, /* post-call SMS to the caller */
    CCAI_PROMPT_CITATIONS_SYSTEM,   /* citations pass (defined, as in the reference) */
    CCAI_PROMPT_LLM_COUNT
} Ccai_llm_prompt;

typedef enum Ccai_tts_phrase {
    CCAI_TTS_HELLO,                     /* bot_name, bot_company */
    CCAI_TTS_GOODBYE,                   /* bot_company */
    CCAI_TTS_ERROR,                     /* - */
    CCAI_TTS_TIMEOUT_SILENCE,           /* - */
    CCAI_TTS_TIMEOUT_LOADING,           /* - */
    CCAI_TTS_IVR_LANGUAGE,              /* label, index */
    CCAI_TTS_END_CALL_TO_CONNECT_AGENT, /* - (transfer announcement) */
    CCAI_TTS_CALLTRANSFER_FAILURE,      /* - */
    CCAI_TTS_CONNECT_AGENT,             /* - */
    CCAI_TTS_WELCOME_BACK,              /* bot_name, bot_company */
    CCAI_TTS_OFFLINE_TAKE_OVER,         /* - (the offline dialogue takes over from the LLM) */
    CCAI_TTS_CALLBACK,                  /* bot_name, bot_company, about (a callback's opening) */
    CCAI_TTS_JAILBREAK_REFUSAL,         /* - (guardrails.jailbreak_action refuse) */
    CCAI_TTS_PHRASE_COUNT
} Ccai_tts_phrase;

/* Short names ("chat_system", "hello"); the configuration key is
 * "prompts.llm.<name>_tpl" / "prompts.tts.<name>_tpl". NULL when out of
 * range. */
const char *Ccai_llm_prompt_name(Ccai_llm_prompt which);
const char *Ccai_tts_phrase_name(Ccai_tts_phrase which);
/* The allowed placeholders, NULL-terminated; static. NULL when out of
 * range. */
const char *const *Ccai_llm_prompt_vars(Ccai_llm_prompt which);
const char *const *Ccai_tts_phrase_vars(Ccai_tts_phrase which);

/* The effective templates of one configuration; immutable once built, so
 * it can be read from any thread. */
typedef struct Ccai_prompts Ccai_prompts;

/* Load the defaults, apply the overrides of @cfg (NULL: defaults only;
 * prompts.llm.* are strings, prompts.tts.* a string or a list of variants)
 * and check every template against its placeholders. Returns NULL on
 * failure: with *ret_error set (freed with ccai_free()) for an invalid
 * template, e.g. "prompts.llm.chat_system_tpl: unknown placeholder {clam};
 * allowed: task, default_lang, ...", or with *ret_error NULL when out of
 * memory. ret_error may be NULL. Ownership: the caller frees the result
 * with Ccai_prompts_free(); @cfg is not kept. */
Ccai_prompts *Ccai_prompts_new(const ccai_config *cfg, char **ret_error);
/* Accepts NULL. */
void Ccai_prompts_free(Ccai_prompts *p);

/* The template (not rendered); borrowed until Ccai_prompts_free(). NULL
 * when @which is out of range. */
const char *Ccai_prompts_llm(const Ccai_prompts *p, Ccai_llm_prompt which);
/* Number of variants of a phrase (at least 1; 0 when out of range). */
size_t Ccai_prompts_tts_count(const Ccai_prompts *p, Ccai_tts_phrase which);
/* Variant number (random % count); borrowed as above. The caller draws the
 * number, so tests are deterministic. NULL when out of range. */
const char *Ccai_prompts_tts_pick(const Ccai_prompts *p, Ccai_tts_phrase which, uint32_t random);

/* Shorthands: pick/look up, then Ccai_prompt_render_llm() or
 * Ccai_prompt_render(). Freed with ccai_free(); NULL on NOMEM, over the
 * limits, or @which out of range. */
char *Ccai_prompts_render_llm(const Ccai_prompts *p, Ccai_llm_prompt which,
                              const Ccai_prompt_var *vars, size_t n);
char *Ccai_prompts_render_tts(const Ccai_prompts *p, Ccai_tts_phrase which, uint32_t random,
                              const Ccai_prompt_var *vars, size_t n);

/* The same in the caller's language lang ("fr-FR"; NULL = the default):
 * the compiled-in translation (data/prompts/tts/<lang>/<phrase>.txt) of
 * that tag, else of the same language ("fr-CA" takes fr-FR), else the
 * default text. A phrase set in the configuration is used as it is in
 * every language. */
const char *Ccai_prompts_tts_pick_lang(const Ccai_prompts *p, Ccai_tts_phrase which,
                                       const char *lang, uint32_t random);
char *Ccai_prompts_render_tts_lang(const Ccai_prompts *p, Ccai_tts_phrase which, const char *lang,
                                   uint32_t random, const Ccai_prompt_var *vars, size_t n);
/* Are phrases compiled in for @lang (the tag, or another of its language:
 * "fr-CA" has fr-FR's)? Languages without them are translated by the LLM
 * (engine/phrases.h). */
CCAI_MUST_CHECK bool Ccai_prompts_tts_has_lang(const char *lang);

#endif
