/* Questions into FTS5 queries (rag/rag.h: Ccai_rag_match_expr): the
 * question's words without the stop words of the languages served, each a
 * quoted FTS5 term, OR'ed. */
#include "rag/rag.h"

#include <stdlib.h>
#include <string.h>

/* Most terms of one FTS5 query. */
#define MAX_TERMS 32

static const char *const stop_words[] = {
    /* English */
    "a",
    "about",
    "after",
    "all",
    "am",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "be",
    "been",
    "before",
    "but",
    "by",
    "can",
    "could",
    "did",
    "do",
    "does",
    "for",
    "from",
    "get",
    "got",
    "had",
    "has",
    "have",
    "how",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "me",
    "my",
    "no",
    "not",
    "of",
    "on",
    "or",
    "our",
    "should",
    "so",
    "than",
    "that",
    "the",
    "their",
    "them",
    "then",
    "there",
    "these",
    "they",
    "this",
    "to",
    "too",
    "under",
    "up",
    "us",
    "was",
    "we",
    "were",
    "what",
    "when",
    "where",
    "which",
    "who",
    "why",
    "will",
    "with",
    "would",
    "you",
    "your",
    /* French */
    "au",
    "aux",
    "avec",
    "ce",
    "ces",
    "cet",
    "cette",
    "comment",
    "dans",
    "de",
    "des",
    "du",
    "elle",
    "en",
    "est",
    "et",
    "il",
    "ils",
    "je",
    "la",
    "le",
    "les",
    "leur",
    "lui",
    "ma",
    "mais",
    "me",
    "mes",
    "mon",
    "ne",
    "nos",
    "notre",
    "nous",
    "on",
    "ou",
    "où",
    "par",
    "pas",
    "pour",
    "qu",
    "que",
    "quel",
    "quelle",
    "quels",
    "quelles",
    "qui",
    "quoi",
    "sa",
    "se",
    "ses",
    "si",
    "son",
    "sont",
    "sur",
    "ta",
    "te",
    "tes",
    "ton",
    "tu",
    "un",
    "une",
    "vos",
    "votre",
    "vous",
    "à",
    "ça",
    "été",
    "être",
    "faire",
    "fait",
    "puis",
    "peut",
    "dois",
    "doit",
    "faut",
    "suis",
    "ai",
    "avez",
    "ont",
    /* Spanish */
    "al",
    "como",
    "con",
    "cual",
    "cuando",
    "del",
    "el",
    "ella",
    "es",
    "esta",
    "este",
    "las",
    "lo",
    "los",
    "mi",
    "mis",
    "para",
    "pero",
    "por",
    "qué",
    "se",
    "su",
    "sus",
    "tu",
    "tus",
    "una",
    "uno",
    "y",
    "yo",
};

static bool is_stop(const char *w, size_t n)
{
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(stop_words); i++)
        if (strlen(stop_words[i]) == n && memcmp(stop_words[i], w, n) == 0)
            return true;
    return false;
}

static bool word_byte(unsigned char c)
{
    return c >= 0x80 || Ccai_is_alpha(c) || Ccai_is_digit(c);
}

char *Ccai_rag_match_expr(const char *question, bool *ret_nomem)
{
    Ccai_buf b = {0};
    bool ok = true;
    size_t terms = 0;
    *ret_nomem = false;
    char w[64];
    for (const char *p = question; *p && ok && terms < MAX_TERMS;) {
        if (!word_byte((unsigned char)*p)) {
            p++;
            continue;
        }
        const char *s = p;
        while (*p && word_byte((unsigned char)*p))
            p++;
        size_t n = (size_t)(p - s);
        if (n >= sizeof w)
            continue; /* no word: a run of bytes */
        for (size_t i = 0; i < n; i++)
            w[i] = (char)Ccai_to_lower((unsigned char)s[i]);
        w[n] = '\0';
        if (n < 2 || is_stop(w, n))
            continue;
        /* A light stem, for a prefix query: "policies", "policy" -> polic*;
         * "deductibles" -> deductibl*. */
        size_t stem = n;
        if (stem >= 5 && memcmp(w + stem - 3, "ies", 3) == 0)
            stem -= 3;
        else if (stem >= 5 && w[stem - 1] == 's' && w[stem - 2] != 's')
            stem--;
        if (stem >= 5 && (w[stem - 1] == 'y' || w[stem - 1] == 'e'))
            stem--;
        bool prefix = stem >= 4;
        if (!prefix)
            stem = n;
        ok = (!terms || Ccai_buf_puts(&b, " OR ")) && Ccai_buf_puts(&b, "\"");
        for (size_t i = 0; ok && i < stem; i++)
            ok = Ccai_buf_append(&b, w + i, 1); /* words hold no quote */
        ok = ok && Ccai_buf_puts(&b, prefix ? "\"*" : "\"");
        terms++;
    }
    if (!ok) {
        *ret_nomem = true;
        Ccai_buf_free(&b);
        return NULL;
    }
    return terms ? Ccai_buf_steal(&b) : NULL;
}
