/* The caller's answer to a menu (engine/menu.c): which choice their words
 * pick (engine/menu_match.c). Sans I/O. */
#ifndef CCAI_ENGINE_MENU_H
#define CCAI_ENGINE_MENU_H

#include "core/common.h"

struct Ccai_guard_scratch;

/* Choices of a menu, one per key; words that pick one, every language. */
#define CCAI_MENU_CHOICES_MAX 9
#define CCAI_MENU_WORDS_MAX   64

/* A menu as the matcher sees it; the strings are borrowed. */
typedef struct Ccai_menu_view {
    struct {
        char key; /* '0'..'9', '*', '#' */
        const char *phrases[CCAI_MENU_WORDS_MAX];
        size_t n_phrases;
    } choice[CCAI_MENU_CHOICES_MAX];
    size_t n;
} Ccai_menu_view;

/* The choice the caller's words pick, or -1: the words of one choice
 * (folded: case, accents and punctuation do not count; whole words, so
 * "sales" is not in "wholesales"), else its key said ("2", "two", "press
 * deux", "opción dos"; a number word alone only in a short answer or after
 * such a cue, "un" being an article too). Words of two choices, or two
 * keys, pick none. heard and phrase are working memory (reused). */
int Ccai_menu_match(const Ccai_menu_view *m, const char *text, struct Ccai_guard_scratch *heard,
                    struct Ccai_guard_scratch *phrase);

#endif
