/* What the dialogue expects the caller to say, as classic IVRs use it:
 * a JSGF grammar per answer type for pocketsphinx (speech/sphinx.c), and
 * the interpretation of recognised words into a slot value (the typed
 * answer), which works on a grammar's output and on free text alike.
 *
 * English only (the only pocketsphinx model Debian ships is en-us).
 *
 * Every grammar also accepts the universal commands ("agent", "operator",
 * "representative", "human", "repeat", "help", "goodbye"), so a caller
 * who asks for a person is heard whatever the question was.
 *
 * Repetition is written out as optional items, never JSGF's "+" or "*":
 * with them pocketsphinx inserts spurious words (offline-speech.md 2d). */
#ifndef CCAI_SPEECH_GRAMMAR_H
#define CCAI_SPEECH_GRAMMAR_H

#include "core/common.h"

typedef enum Ccai_speech_kind {
    CCAI_SPEECH_FREE = 0,   /* free text: the language model, no grammar */
    CCAI_SPEECH_YESNO = 1,  /* yes / no and their usual variants */
    CCAI_SPEECH_DIGITS = 2, /* 1..CCAI_GRAMMAR_DIGITS_MAX digits, "oh" for zero */
    CCAI_SPEECH_NUMBER = 3, /* a cardinal 0..999 999 in words */
    CCAI_SPEECH_DATE = 4,   /* a day and month, a weekday, today, tomorrow */
    CCAI_SPEECH_EMAIL = 5,  /* an e-mail address spelled out */
    CCAI_SPEECH_CHOICE = 6, /* one of the phrases given (or "the second one") */
} Ccai_speech_kind;

#define CCAI_SPEECH_KIND_MAX     CCAI_SPEECH_CHOICE
#define CCAI_GRAMMAR_DIGITS_MAX  16
#define CCAI_GRAMMAR_EMAIL_MAX   24 /* spelled characters per part of an address */
#define CCAI_GRAMMAR_CHOICES_MAX 64
#define CCAI_GRAMMAR_CHOICE_MAX  128 /* bytes of one choice */
#define CCAI_GRAMMAR_WORDS_MAX   12  /* words of one choice */
#define CCAI_SLOT_MAX            160 /* bytes of a slot value, NUL included */

/* "free", "yesno", "digits", "number", "date", "email", "choice"; "?" for
 * anything else. */
const char *Ccai_speech_kind_name(Ccai_speech_kind k);
/* The kind of a name (as above); false for an unknown name. */
bool Ccai_speech_kind_parse(const char *name, Ccai_speech_kind *ret);

/* A generated grammar: its JSGF text and the distinct words it uses (each
 * must be in the decoder's dictionary). */
typedef struct Ccai_grammar {
    Ccai_buf jsgf;
    char **words;
    size_t n_words, cap_words;
} Ccai_grammar;

/* The grammar of kind (not FREE) into *g (zeroed by the caller, freed with
 * Ccai_grammar_clear() whatever the status). choices (n of them) only for
 * CHOICE: each is normalised to lower-case words (digits spelled out,
 * punctuation dropped).
 * Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG (FREE, an unknown kind, CHOICE
 * without choices or choices for another kind, a choice without a word;
 * err says which); CCAI_ERR_LIMIT (more than CCAI_GRAMMAR_CHOICES_MAX
 * choices, a choice over CCAI_GRAMMAR_CHOICE_MAX bytes or
 * CCAI_GRAMMAR_WORDS_MAX words); CCAI_ERR_NOMEM. */
ccai_status Ccai_grammar_build(Ccai_speech_kind kind, const char *const *choices, size_t n,
                               Ccai_grammar *g, Ccai_err *err);
void Ccai_grammar_clear(Ccai_grammar *g);

/* A choice normalised as the grammar uses it ("Option 2!" -> "option
 * two") into out. Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG (no word);
 * CCAI_ERR_LIMIT; CCAI_ERR_NOMEM. */
ccai_status Ccai_grammar_normalize_choice(const char *choice, Ccai_buf *out);

typedef struct Ccai_slot {
    bool matched; /* a valid answer of the kind was found */
    char value[CCAI_SLOT_MAX];
    /* The formats of value:
     *   YESNO  "yes" or "no"
     *   DIGITS the digits, "0415"
     *   NUMBER decimal, "42"
     *   DATE   "--MM-DD" (ISO 8601 without a year: the dialogue knows which
     *          year), "today", "tomorrow", "day after tomorrow", a weekday
     *          ("tuesday"), or "next " + a weekday
     *   EMAIL  the address, "john.doe@example.com"
     *   CHOICE the choice as given by the caller of Ccai_grammar_build() */
    const char *command; /* a universal command heard instead: "agent",
                            "repeat", "help" or "goodbye"; else NULL */
} Ccai_slot;

/* Interpret recognised text (words separated by spaces, any case; a
 * grammar's output or free text) as an answer of kind. Free text is
 * searched for the answer: "uh yes please" is "yes"; words that are not
 * part of an answer are skipped, except inside a digit string or a
 * spelled address, which they end. Text longer than 4096 bytes (or 512
 * words) is cut. Statuses: CCAI_OK (*ret filled, matched or not);
 * CCAI_ERR_NOMEM (CHOICE only; *ret says no match). */
ccai_status Ccai_slot_interpret(Ccai_speech_kind kind, const char *text, const char *const *choices,
                                size_t n, Ccai_slot *ret);

#endif
