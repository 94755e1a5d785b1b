/* Folding text into words (guard/guard.h): accents, case, fullwidth
 * forms, invisible characters, light leetspeak. */
#include "guard/guard.h"

#include <string.h>

/* U+0100 .. U+017F (Latin Extended-A): the base letter of each; '1' and
 * '2' stand for "ij" and "oe". */
static const char latin_ext_a[] = "aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiii11jjkkk"
                                  "llllllllllnnnnnnnnnoooooo22rrrrrrssssssssttttttuuuuuuuuuuuu"
                                  "wwyyyzzzzzzs";
_Static_assert(sizeof latin_ext_a == 0x80 + 1, "one letter per code point of U+0100..U+017F");

/* U+00C0 .. U+00FF (Latin-1 letters): base letters; '-' separates (the
 * multiplication and division signs); '1' "ae", '2' "th", '3' "ss". */
static const char latin_1[] = "aaaaaa1ceeeeiiiidnooooo-ouuuuy23"
                              "aaaaaa1ceeeeiiiidnooooo-ouuuuy2y";
_Static_assert(sizeof latin_1 == 0x40 + 1, "one letter per code point of U+00C0..U+00FF");

typedef enum cls {
    SEP,   /* separates words */
    BREAK, /* separates words and ends a sentence */
    SKIP,  /* invisible: does not split a word */
    WORD,  /* part of a word: out[0..n) */
    LEET   /* a separator that leetspeak reads as a letter (out[0]) */
} cls;

/* Decode one code point at s[0..len): its length (1 for an invalid byte,
 * then *cp = -1). */
static size_t utf8_next(const unsigned char *s, size_t len, int32_t *cp)
{
    unsigned char c = s[0];
    *cp = -1;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t n;
    int32_t v, min;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        v = c & 0x1F;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        v = c & 0x0F;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        v = c & 0x07;
        min = 0x10000;
    } else {
        return 1;
    }
    if (len < n)
        return 1;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 1;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 1;
    *cp = v;
    return n;
}

/* What code point cp is; a WORD's folded bytes in out (at most 4), its
 * count in *n. raw: its UTF-8 bytes in the text. */
static cls classify(int32_t cp, const unsigned char *raw, size_t rawlen, char *out, size_t *n)
{
    *n = 0;
    if (cp < 0)
        return SEP;
    if (cp < 0x80) {
        if (cp >= 'A' && cp <= 'Z') {
            out[(*n)++] = (char)(cp - 'A' + 'a');
            return WORD;
        }
        if ((cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9')) {
            out[(*n)++] = (char)cp;
            return WORD;
        }
        if (cp == '.' || cp == '?' || cp == ';' || cp == '\n')
            return BREAK;
        if (cp == '!' || cp == '|') {
            out[0] = 'i';
            return LEET; /* a break too when it ends a sentence: see fold_into */
        }
        if (cp == '@' || cp == '$') {
            out[0] = cp == '@' ? 'a' : 's';
            return LEET;
        }
        return SEP;
    }
    if (cp == 0xA1 || cp == 0xBF) /* ¡ ¿ open a Spanish sentence */
        return BREAK;
    if (cp == 0xAD)
        return SKIP; /* soft hyphen */
    if (cp < 0xC0)
        return SEP;
    if (cp < 0x100) {
        char b = latin_1[cp - 0xC0];
        static const char *const pairs[] = {"ae", "th", "ss"};
        if (b == '-')
            return SEP;
        if (b >= '1' && b <= '3') {
            memcpy(out, pairs[b - '1'], 2);
            *n = 2;
        } else {
            out[(*n)++] = b;
        }
        return WORD;
    }
    if (cp < 0x180) {
        char b = latin_ext_a[cp - 0x100];
        if (b == '1' || b == '2') {
            memcpy(out, b == '1' ? "ij" : "oe", 2);
            *n = 2;
        } else {
            out[(*n)++] = b;
        }
        return WORD;
    }
    if ((cp >= 0x300 && cp <= 0x36F) || cp == 0x180E || (cp >= 0x200B && cp <= 0x200F) ||
        (cp >= 0x2060 && cp <= 0x2064) || (cp >= 0xFE00 && cp <= 0xFE0F) || cp == 0xFEFF ||
        (cp >= 0xE0000 && cp <= 0xE007F))
        return SKIP; /* combining marks, zero-width and format characters */
    if (cp >= 0xFF10 && cp <= 0xFF19) {
        out[(*n)++] = (char)('0' + (cp - 0xFF10));
        return WORD;
    }
    if ((cp >= 0xFF21 && cp <= 0xFF3A) || (cp >= 0xFF41 && cp <= 0xFF5A)) {
        out[(*n)++] = (char)('a' + ((cp - 0xFF21) & 0x1F));
        return WORD;
    }
    if (cp == 0x3002 || cp == 0xFF01 || cp == 0xFF0E || cp == 0xFF1F || cp == 0xFF1B)
        return BREAK; /* 。！．？； */
    if ((cp >= 0x2000 && cp <= 0x2BFF) || (cp >= 0x3000 && cp <= 0x303F) ||
        (cp >= 0xFF00 && cp <= 0xFF65) || (cp >= 0x1F000 && cp <= 0x1FAFF) ||
        (cp >= 0xFFF0 && cp <= 0xFFFF) || (cp >= 0xE000 && cp <= 0xF8FF))
        return SEP;           /* punctuation, symbols, emoji, private use */
    memcpy(out, raw, rawlen); /* a letter of another script, as written */
    *n = rawlen;
    return WORD;
}

void Ccai_guard_scratch_free(Ccai_guard_scratch *s)
{
    Ccai_guard_view *v[2] = {&s->plain, &s->leet};
    for (size_t i = 0; i < 2; i++) {
        Ccai_buf_free(&v[i]->text);
        ccai_free(v[i]->off);
        ccai_free(v[i]->len);
        ccai_free(v[i]->starts);
    }
    Ccai_buf_free(&s->run);
    Ccai_buf_free(&s->word_plain);
    Ccai_buf_free(&s->word_leet);
    memset(s, 0, sizeof *s);
}

static void view_reset(Ccai_guard_view *v)
{
    Ccai_buf_reset(&v->text);
    v->n = 0;
}

/* Room for one more word. */
static CCAI_MUST_CHECK bool view_grow(Ccai_guard_view *v)
{
    if (v->n < v->cap)
        return true;
    size_t cap = v->cap ? v->cap * 2 : 32;
    uint32_t *off = Ccai_realloc(v->off, cap * sizeof *off);
    if (!off)
        return false;
    v->off = off;
    uint32_t *len = Ccai_realloc(v->len, cap * sizeof *len);
    if (!len)
        return false;
    v->len = len;
    bool *starts = Ccai_realloc(v->starts, cap * sizeof *starts);
    if (!starts)
        return false;
    v->starts = starts;
    v->cap = cap;
    return true;
}

/* Add word w[0..n) to v. */
static CCAI_MUST_CHECK bool view_add(Ccai_guard_view *v, const char *w, size_t n, bool starts)
{
    if (!n)
        return true;
    if (v->text.len + n + 1 > UINT32_MAX || !view_grow(v))
        return false;
    if (v->n && !Ccai_buf_append(&v->text, " ", 1))
        return false;
    v->off[v->n] = (uint32_t)v->text.len;
    v->len[v->n] = (uint32_t)n;
    v->starts[v->n] = starts;
    v->n++;
    return Ccai_buf_append(&v->text, w, n);
}

/* The word being read: its plain letters, and the same read as leetspeak. */
typedef struct word {
    Ccai_buf *plain, *leet; /* the scratch's */
    size_t letters;         /* ASCII letters */
    size_t mapped;          /* symbols and digits read as letters */
    bool bad_digit;         /* a digit leetspeak does not read (2, 6, 8, 9) */
    bool other_script;      /* letters kept as written */
    size_t trailing_sym;    /* symbols at its end (a "!" that ends a sentence) */
} word;

static char leet_digit(char d)
{
    switch (d) {
    case '0': return 'o';
    case '1': return 'i';
    case '3': return 'e';
    case '4': return 'a';
    case '5': return 's';
    case '7': return 't';
    default: return 0;
    }
}

/* End the word: its plain parts (split where a symbol stood) are already
 * in the view; its leetspeak reading goes to the leet view when it reads
 * differently and looks like a word. */
static CCAI_MUST_CHECK bool word_end(Ccai_guard_scratch *s, word *w, bool starts)
{
    bool ok = true;
    size_t n = w->leet->len - w->trailing_sym;
    /* Leading symbols read as letters too ("@ss"); trailing ones are
     * punctuation ("shit!"). */
    if (w->mapped > w->trailing_sym && !w->bad_digit && !w->other_script && w->letters >= 2)
        ok = view_add(&s->leet, w->leet->data, n, starts);
    Ccai_buf_reset(w->plain);
    Ccai_buf_reset(w->leet);
    w->letters = w->mapped = 0;
    w->bad_digit = w->other_script = false;
    w->trailing_sym = 0;
    return ok;
}

ccai_status Ccai_guard_fold(Ccai_guard_scratch *s, const char *text, size_t len)
{
    view_reset(&s->plain);
    view_reset(&s->leet);
    Ccai_buf_reset(&s->word_plain);
    Ccai_buf_reset(&s->word_leet);
    word w = {.plain = &s->word_plain, .leet = &s->word_leet};
    bool ok = true, starts = true, word_starts = true;
    const unsigned char *p = (const unsigned char *)(text ? text : "");
    size_t i = 0;
    while (ok && i < len) {
        int32_t cp;
        size_t k = utf8_next(p + i, len - i, &cp);
        char out[4];
        size_t n;
        cls c = classify(cp, p + i, k, out, &n);
        i += k;
        if (c == SKIP)
            continue;
        if (c == WORD) {
            if (!w.plain->len && !w.leet->len)
                word_starts = starts;
            ok = Ccai_buf_append(w.plain, out, n);
            if (ok && n == 1 && out[0] >= '0' && out[0] <= '9') {
                char l = leet_digit(out[0]);
                w.mapped++;
                w.bad_digit = w.bad_digit || !l;
                ok = Ccai_buf_append(w.leet, l ? &l : out, 1);
            } else if (ok) {
                w.letters += n == 1 && out[0] >= 'a' && out[0] <= 'z';
                w.other_script = w.other_script || (unsigned char)out[0] >= 0x80;
                ok = Ccai_buf_append(w.leet, out, n);
            }
            w.trailing_sym = 0;
            starts = false;
            continue;
        }
        /* A separator: the plain word so far is a word. */
        if (w.plain->len) {
            ok = view_add(&s->plain, w.plain->data, w.plain->len, word_starts);
            Ccai_buf_reset(w.plain);
        }
        if (ok && c == LEET) {
            /* Inside a leetspeak word ("sh!t", "@ss"), or punctuation. */
            if (!w.leet->len)
                word_starts = starts;
            w.mapped++;
            w.trailing_sym++;
            ok = Ccai_buf_append(w.leet, out, 1);
            if (out[0] == 'i' && cp == '!')
                starts = true; /* ends a sentence unless a letter follows */
            continue;
        }
        if (ok)
            ok = word_end(s, &w, word_starts);
        if (c == BREAK)
            starts = true;
    }
    if (ok && w.plain->len)
        ok = view_add(&s->plain, w.plain->data, w.plain->len, word_starts);
    if (ok)
        ok = word_end(s, &w, word_starts);
    if (ok && !s->plain.text.data)
        ok = Ccai_buf_append(&s->plain.text, "", 0);
    return ok ? CCAI_OK : CCAI_ERR_NOMEM;
}
