/* Guardrails (libccai/guard/): a local content filter and a jailbreak
 * detector, both on folded words. Sans I/O: text in, a verdict out.
 *
 * Folding (Ccai_guard_fold) turns text into words the way a person reads
 * them whatever the spelling: Latin letters lose their accents (Latin-1 and
 * Latin Extended-A, and combining marks of decomposed text: "Épée" and
 * "E\u0301pe\u0301e" are "epee"), case is folded, fullwidth letters are
 * ASCII, invisible characters (zero-width, soft hyphen) do not split a
 * word; anything but a letter or a digit separates words. Letters of
 * other scripts are kept as they are. A second view reads light
 * leetspeak ("sh1t", "@ss", "5h!t") only in words that hold at least two
 * real letters, so numbers ("B01371946", "A7") stay numbers. Letters
 * spelled one by one ("f u c k", "f.u.c.k") are read as one word too.
 *
 * The filter (Ccai_guard_check) matches whole words and phrases of its
 * lists: built-in profanity per language (en, fr, es: the call's
 * language's), the configured blocklist (every language) and competitor
 * names (every language; the engine checks them on the bot's words only).
 * A precompiled hash set of first words, then the phrase's next words:
 * a sentence costs one pass over its bytes and one lookup per word.
 * "Scunthorpe", "assessment" or "cocktail" hold a listed word inside
 * another word: they are not hits.
 *
 * The jailbreak detector matches patterns of words (instruction override,
 * role play, prompt leak) in English, French and Spanish, written to leave
 * what a caller says about a claim alone ("ignore the last thing I said",
 * "can you repeat that?", "pretend I never mentioned the car").
 *
 * Context: a Ccai_guard is immutable once built (any thread may read it);
 * a Ccai_guard_scratch is one thread's working memory, reused. */
#ifndef CCAI_GUARD_GUARD_H
#define CCAI_GUARD_GUARD_H

#include "core/common.h"

/* What a hit is. */
typedef enum Ccai_guard_kind {
    CCAI_GUARD_NONE = 0,
    CCAI_GUARD_PROFANITY,  /* a built-in list */
    CCAI_GUARD_BLOCKLIST,  /* guardrails.blocklist */
    CCAI_GUARD_COMPETITOR, /* guardrails.competitors */
    CCAI_GUARD_JAILBREAK   /* a jailbreak pattern */
} Ccai_guard_kind;

/* Which checks Ccai_guard_check() runs: a mask of these. */
#define CCAI_GUARD_F_PROFANITY  (1u << CCAI_GUARD_PROFANITY)
#define CCAI_GUARD_F_BLOCKLIST  (1u << CCAI_GUARD_BLOCKLIST)
#define CCAI_GUARD_F_COMPETITOR (1u << CCAI_GUARD_COMPETITOR)
#define CCAI_GUARD_F_JAILBREAK  (1u << CCAI_GUARD_JAILBREAK)
#define CCAI_GUARD_F_WORDS \
    (CCAI_GUARD_F_PROFANITY | CCAI_GUARD_F_BLOCKLIST | CCAI_GUARD_F_COMPETITOR)

/* "profanity", "blocklist", "competitor", "jailbreak"; "none". */
const char *Ccai_guard_kind_str(Ccai_guard_kind k);

/* A folded view: words separated by one space, and where each starts. */
typedef struct Ccai_guard_view {
    Ccai_buf text;
    uint32_t *off, *len; /* word i is text.data[off[i] .. off[i] + len[i]) */
    bool *starts;        /* word i begins a sentence (the text's start, or after . ! ? ;) */
    size_t n, cap;
} Ccai_guard_view;

/* One thread's working memory: the text as words (plain) and as light
 * leetspeak read (leet; n == 0 when no word of the text has any). */
typedef struct Ccai_guard_scratch {
    Ccai_guard_view plain, leet;
    Ccai_buf run;                   /* letters spelled one by one ("f u c k"), joined */
    Ccai_buf word_plain, word_leet; /* the word being folded */
} Ccai_guard_scratch;

void Ccai_guard_scratch_free(Ccai_guard_scratch *s);

/* Fold text[0..len) into s (its views replaced). Any bytes: invalid UTF-8
 * separates words. CCAI_OK or CCAI_ERR_NOMEM. The plain view is valid
 * UTF-8, lower case ASCII where Latin, and folding it again gives it back
 * (a fuzz target checks it: tests/fuzz/fuzz_guard.c). */
CCAI_MUST_CHECK ccai_status Ccai_guard_fold(Ccai_guard_scratch *s, const char *text, size_t len);

typedef struct Ccai_guard Ccai_guard;

/* What the guard holds; the strings are copied. */
typedef struct Ccai_guard_opts {
    bool profanity;               /* the built-in lists (en, fr, es) */
    const char *const *blocklist; /* words or phrases, any language */
    size_t n_blocklist;
    const char *const *competitors; /* names, one or several words */
    size_t n_competitors;
} Ccai_guard_opts;

/* Build the lists and the patterns. CCAI_OK; CCAI_ERR_VALIDATION with
 * *ret_errmsg (freed with ccai_free(); ret_errmsg may be NULL) when an
 * entry has no word ("guardrails.blocklist[2]: \"!!\" has no word");
 * CCAI_ERR_NOMEM. Ownership: the caller frees *ret with Ccai_guard_free(). */
CCAI_MUST_CHECK ccai_status Ccai_guard_new(const Ccai_guard_opts *o, Ccai_guard **ret,
                                           char **ret_errmsg);
/* NULL is fine. */
void Ccai_guard_free(Ccai_guard *g);

/* A verdict. The strings are borrowed from the guard. */
typedef struct Ccai_guard_hit {
    Ccai_guard_kind kind; /* CCAI_GUARD_NONE: nothing matched */
    const char *rule;     /* the entry as listed (folded), or the pattern's name */
    const char *category; /* jailbreak: "instruction_override", "role_play", "prompt_leak";
                             else the list's language ("en", "fr", "es", "any") */
} Ccai_guard_hit;

/* Check text[0..len) in language lang ("fr-FR"; NULL or another language:
 * no built-in list applies) against the checks of mask
 * (CCAI_GUARD_F_*): the word lists first, then the jailbreak patterns.
 * The first hit is in *hit. CCAI_OK (hit or not) or CCAI_ERR_NOMEM. */
CCAI_MUST_CHECK ccai_status Ccai_guard_check(const Ccai_guard *g, Ccai_guard_scratch *s,
                                             const char *text, size_t len, const char *lang,
                                             unsigned mask, Ccai_guard_hit *hit);

/* The entries and patterns held (tests, the bench). */
size_t Ccai_guard_entries(const Ccai_guard *g);
size_t Ccai_guard_patterns(const Ccai_guard *g);

#endif
