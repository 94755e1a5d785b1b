/* The configuration key table (config/keys.c) and value typing
 * (config/keys_value.c). Private to config/. */
#ifndef CCAI_CONFIG_KEYS_H
#define CCAI_CONFIG_KEYS_H

#include "core/common.h"

#include <jansson.h>

typedef enum Ccai_key_type {
    CCAI_KEY_STRING,
    CCAI_KEY_SECRET, /* a string never shown in messages, redacted in dumps */
    CCAI_KEY_INT,
    CCAI_KEY_DOUBLE,
    CCAI_KEY_BOOL,
    CCAI_KEY_ENUM,
    CCAI_KEY_CLAIM,   /* list of {name, type, description?} */
    CCAI_KEY_LANG,    /* {default_short_code, availables: [...]}, merged member-wise */
    CCAI_KEY_TEXTS,   /* a string or a list of strings */
    CCAI_KEY_LEXICON, /* list of {grapheme, alias, lang?}: words spoken otherwise */
    CCAI_KEY_TARGETS, /* list of {sms: E.164} | {webhook: URL}: who emergencies alert */
    CCAI_KEY_MENUS,   /* ivr.menus: {name: {prompt, choices, fallback}} (config/keys_menus.c) */
    CCAI_KEY_BY_LANG, /* a text, or {lang: text, ...} */
    CCAI_KEY_IGNORED, /* a reference section accepted and dropped */
} Ccai_key_type;

typedef struct Ccai_key {
    const char *path;
    Ccai_key_type type;
    /* Default in text form (JSON for claim and lang); NULL: unset. */
    const char *def;
    int64_t imin, imax;
    double dmin, dmax;
    const char *const *choices; /* enum: NULL-terminated */
    const char *doc;
} Ccai_key;

/* Longest dotted path a key may have, NUL included. */
#define CCAI_KEY_PATH_MAX 128

/* conversation.lexicon: entries, and bytes of a grapheme or alias. */
#define CCAI_LEXICON_MAX      1000
#define CCAI_LEXICON_TEXT_MAX 400

/* emergencies.targets: entries, and bytes of a URL. */
#define CCAI_TARGETS_MAX    32
#define CCAI_TARGET_URL_MAX 2000

/* ivr.menus: menus, choices of one (one per key), words of a choice per
 * language and bytes of them; bytes of a prompt, of a task. */
#define CCAI_IVR_MENUS_MAX   32
#define CCAI_IVR_NAME_MAX    64
#define CCAI_IVR_CHOICES_MAX 9
#define CCAI_IVR_PHRASES_MAX 16
#define CCAI_IVR_PHRASE_MAX  100
#define CCAI_IVR_PROMPT_MAX  2000
#define CCAI_IVR_TASK_MAX    4000

size_t Ccai_keys_count(void);
const Ccai_key *Ccai_key_at(size_t index);
/* The key named exactly @path (ignored sections included), or NULL. */
const Ccai_key *Ccai_key_find(const char *path);
/* True when @path is a proper prefix (whole segments) of a key. */
CCAI_MUST_CHECK bool Ccai_key_is_section(const char *path);
/* A known name close to the last segment of @path, written as a full
 * dotted path into @out; false when nothing is close. */
CCAI_MUST_CHECK bool Ccai_key_suggest(const char *path, char *out, size_t outlen);

typedef enum Ccai_conv {
    CCAI_CONV_OK,
    CCAI_CONV_BAD,   /* *ret_msg holds why (allocated) */
    CCAI_CONV_NOMEM, /* nothing allocated */
} Ccai_conv;

/* What a key expects, in words ("an integer between 1 and 600"). */
void Ccai_key_expected(const Ccai_key *k, char *out, size_t outlen);

/* A value from its text form (YAML scalar, environment, ccai_config_set()).
 * Claim, lang and text lists take JSON. @member names one member of a lang
 * key ("default_short_code", "availables") or is NULL. @current is the
 * value being replaced (lang merges into it), may be NULL. */
Ccai_conv Ccai_key_parse_text(const Ccai_key *k, const char *member, const char *s, size_t len,
                              const json_t *current, json_t **ret, char **ret_msg);

/* Check the shape of a list/map value (claim, lang, texts) and return the
 * value to store (a new reference). */
Ccai_conv Ccai_key_check_json(const Ccai_key *k, const json_t *v, const json_t *current,
                              json_t **ret, char **ret_msg);

/* ivr.menus and by-language texts (config/keys_menus.c): the shape
 * checked, *ret_msg says what is wrong. */
Ccai_conv Ccai_key_check_menus(const json_t *v, char **ret_msg);
/* *ret_msg = the formatted text: CCAI_CONV_BAD, or CCAI_CONV_NOMEM. */
Ccai_conv Ccai_key_bad(char **ret_msg, const char *fmt, ...) CCAI_PRINTF(2, 3);
Ccai_conv Ccai_key_check_by_lang(const json_t *v, char **ret_msg);

/* The default as JSON (new reference), *ret = NULL when the key has none. */
Ccai_conv Ccai_key_default(const Ccai_key *k, json_t **ret);

/* Text form of a scalar value ("15", "true", "1.25") into @out. */
void Ccai_key_format(const json_t *v, char *out, size_t outlen);

/* True for UTF-8 text without NUL characters. */
CCAI_MUST_CHECK bool Ccai_text_valid(const char *s, size_t len);

/* A value quoted for a message: at most ~48 bytes, control characters
 * escaped. */
void Ccai_quote(const char *s, size_t len, char *out, size_t outlen);

/* A reference name (call-center-ai's configuration, config/compat.c). */
typedef enum Ccai_alias_kind {
    CCAI_ALIAS_NONE,    /* not one */
    CCAI_ALIAS_MAPPED,  /* @out holds our path (a key or a section) */
    CCAI_ALIAS_IGNORED, /* accepted and dropped: *why says why, *check the type it must have */
} Ccai_alias_kind;

Ccai_alias_kind Ccai_key_alias(const char *path, char *out, size_t outlen, const char **why,
                               Ccai_key_type *check);
/* True when @path is a section of reference names only ("cognitive_service"). */
CCAI_MUST_CHECK bool Ccai_key_alias_is_section(const char *path);
/* Why a value the reference takes for @path is accepted and ignored
 * (database.mode: cosmos_db), or NULL. */
const char *Ccai_key_value_alias(const char *path, const char *value);

#endif
