/* Which choice of a menu the caller's words pick (engine/menu.h). */
#include "engine/menu.h"

#include "guard/guard.h"

#include <string.h>

/* Words for a key, folded (Ccai_guard_fold: no accents, lower case): en,
 * fr, es. "un" and "une" are articles too: number words count only in a
 * short answer or after a cue ("press two", "option deux"). */
typedef struct key_words {
    char key;
    const char *words[12];
} key_words;

static const key_words numbers[] = {
    {'0', {"zero", "oh", "cero", NULL}},
    {'1',
     {"one", "un", "une", "uno", "una", "first", "premier", "premiere", "primero", "primera",
      NULL}},
    {'2', {"two", "deux", "dos", "second", "deuxieme", "segundo", "segunda", NULL}},
    {'3', {"three", "trois", "tres", "third", "troisieme", "tercero", "tercera", NULL}},
    {'4', {"four", "quatre", "cuatro", "fourth", "quatrieme", "cuarto", "cuarta", NULL}},
    {'5', {"five", "cinq", "cinco", "fifth", "cinquieme", "quinto", "quinta", NULL}},
    {'6', {"six", "seis", "sixth", "sixieme", "sexto", "sexta", NULL}},
    {'7', {"seven", "sept", "siete", "seventh", "septieme", "septimo", "septima", NULL}},
    {'8', {"eight", "huit", "ocho", "eighth", "huitieme", "octavo", "octava", NULL}},
    {'9', {"nine", "neuf", "nueve", "ninth", "neuvieme", "noveno", "novena", NULL}},
    {'*', {"star", "asterisk", "etoile", "asterisco", NULL}},
    {'#', {"pound", "hash", "diese", "almohadilla", "numeral", NULL}},
};

/* Words that announce a key ("press 2", "tapez deux", "opción dos"). */
static const char *const cues[] = {"press",  "option", "number", "choice", "key",    "touche",
                                   "tape",   "tapez",  "tapper", "choix",  "numero", "opcion",
                                   "marque", "marca",  "pulse",  "pulsa",  "teclee", NULL};

/* Answers this short are a key said alone ("two", "le deux", "number 2"). */
#define SHORT_ANSWER_WORDS 3

static CCAI_MUST_CHECK bool listed(const char *const *list, const char *w, size_t n)
{
    for (size_t i = 0; list[i]; i++) {
        if (strlen(list[i]) == n && memcmp(list[i], w, n) == 0)
            return true;
    }
    return false;
}

/* The key word i of the view names, or 0. */
static char key_of_word(const Ccai_guard_view *v, size_t i)
{
    const char *w = v->text.data + v->off[i];
    size_t n = v->len[i];
    if (n == 1 && ((w[0] >= '0' && w[0] <= '9')))
        return w[0];
    for (size_t k = 0; k < CCAI_ARRAY_SIZE(numbers); k++) {
        if (listed(numbers[k].words, w, n))
            return numbers[k].key;
    }
    return 0;
}

/* Whether the folded phrase p (words separated by one space) is in the
 * view as whole words. */
static CCAI_MUST_CHECK bool has_phrase(const Ccai_guard_view *v, const char *p, size_t plen)
{
    const char *t = v->text.data;
    size_t tlen = v->text.len;
    if (!plen || plen > tlen)
        return false;
    for (size_t i = 0; i + plen <= tlen; i++) {
        if ((i == 0 || t[i - 1] == ' ') && (i + plen == tlen || t[i + plen] == ' ') &&
            memcmp(t + i, p, plen) == 0)
            return true;
    }
    return false;
}

int Ccai_menu_match(const Ccai_menu_view *m, const char *text, Ccai_guard_scratch *heard,
                    Ccai_guard_scratch *phrase)
{
    if (!text || !*text || Ccai_guard_fold(heard, text, strlen(text)) != CCAI_OK)
        return -1;
    const Ccai_guard_view *v = &heard->plain;
    if (v->n == 0)
        return -1;
    /* The words of a choice first: one choice, or none when the caller
     * said the words of two ("sales or support" is no answer). */
    int found = -1;
    for (size_t c = 0; c < m->n; c++) {
        bool hit = false;
        for (size_t k = 0; !hit && k < m->choice[c].n_phrases; k++) {
            const char *p = m->choice[c].phrases[k];
            if (Ccai_guard_fold(phrase, p, strlen(p)) != CCAI_OK)
                return -1;
            hit = has_phrase(v, phrase->plain.text.data, phrase->plain.text.len);
        }
        if (!hit)
            continue;
        if (found >= 0)
            return -1;
        found = (int)c;
    }
    if (found >= 0)
        return found;
    /* Then a key said: a digit anywhere, a number word in a short answer
     * or after a cue. Two different keys are no answer. */
    char key = 0;
    for (size_t i = 0; i < v->n; i++) {
        char k = key_of_word(v, i);
        if (!k)
            continue;
        const char *w = v->text.data + v->off[i];
        bool digit = v->len[i] == 1 && w[0] >= '0' && w[0] <= '9';
        bool cued = i > 0 && listed(cues, v->text.data + v->off[i - 1], v->len[i - 1]);
        if (!digit && !cued && v->n > SHORT_ANSWER_WORDS)
            continue;
        if (key && key != k)
            return -1;
        key = k;
    }
    for (size_t c = 0; key && c < m->n; c++) {
        if (m->choice[c].key == key)
            return (int)c;
    }
    return -1;
}
