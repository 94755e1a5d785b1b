/* The guard's built-in data (guard/lists.c): profanity per language and
 * the jailbreak patterns. */
#ifndef CCAI_GUARD_LISTS_H
#define CCAI_GUARD_LISTS_H

#include "core/common.h"

/* Words and phrases, NULL-terminated, as a person writes them (folded
 * when the guard is built). */
extern const char *const Ccai_guard_profanity_en[];
extern const char *const Ccai_guard_profanity_fr[];
extern const char *const Ccai_guard_profanity_es[];

/* A jailbreak pattern: slots separated by one space, over folded words
 * (lower case ASCII, no accent):
 *   a|b|c      one of these words; "del+sistema" two words in a row;
 *              "instruction*" a word starting so
 *   a|b?       the same, or nothing
 *   ~N         any N words at most (N a digit)
 *   ^          the start of a sentence
 *   <a|b       the word before is neither a nor b (or there is none)
 *   !a|b       the words that follow are neither a nor b
 * The list ends with an entry whose words are NULL. */
typedef struct Ccai_guard_pattern_src {
    const char *name;     /* what the log and the call's record say */
    const char *category; /* "instruction_override", "role_play", "prompt_leak" */
    const char *words;
} Ccai_guard_pattern_src;

extern const Ccai_guard_pattern_src Ccai_guard_jailbreak_patterns[];

#endif
