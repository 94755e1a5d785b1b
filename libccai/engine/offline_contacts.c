/* The offline dialogue: spoken contacts, numbers said in words, phone
 * numbers (digits, the caller's region for national numbers) and e-mail
 * addresses spelt out ("john dot doe at example dot com"). */
#include "engine/offline_extract.h"

#include "core/numbering.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Spoken phone numbers and email addresses                                 */
/* ------------------------------------------------------------------------ */

/* A number word (data: [number.words], "seventy 70", "quatre vingt 80",
 * "veintiuno 21") at token i: its value, -1; *ret_n its words. */
static int number_word(const Ccai_offline *o, size_t i, size_t *ret_n)
{
    *ret_n = 0;
    return i < o->ntok ? Ccai_ofl_sec_value(o, V_NUMBER, i, ret_n) : -1;
}

/* A number from 0 to 99 said in words starting at token *i, advancing *i;
 * -1 when token *i is no number word. Handles "trente-quatre", "vingt et
 * un", "soixante-dix-huit", "quatre-vingt-douze", "thirty four",
 * "treinta y cuatro", "veintiuno": tens, a joiner ([number.and]: "et",
 * "y", "and"), then a unit, or a teen after 60 and 80 ("soixante-douze"). */
int Ccai_ofl_number_words(const Ccai_offline *o, size_t *i)
{
    size_t n;
    int v = number_word(o, *i, &n);
    if (v < 0 || v > 99)
        return -1;
    size_t k = *i + n;
    if (v < 20 || v % 10 != 0) {
        *i = k;
        return v;
    }
    size_t j = k + (k < o->ntok ? Ccai_ofl_sec_at(o, "number.and", k, k + 1) : 0);
    /* "veinte, cuatro": a pause ends the number; "veinte cuatro" too where
     * the tens take a unit only after a joiner ([number.tens.and]) */
    if (k >= o->ntok || Ccai_ofl_clause_break(o, k) || (j > k && Ccai_ofl_clause_break(o, j)) ||
        (j == k && Ccai_ofl_sec_at(o, "number.tens.and", *i, k) == k - *i)) {
        *i = k;
        return v;
    }
    int u = number_word(o, j, &n);
    if ((v == 60 || v == 80) && u >= 10 && u <= 19) {
        v += u;
        k = j + n;
    } else if (u >= 1 && u <= 9) {
        v += u;
        k = j + n;
    }
    *i = k;
    return v;
}

/* A number from 0 to 999 said in words from token *i, advancing *i; -1
 * when token *i is none. Hundreds are a word of their own ([number.hundreds]:
 * "cuatrocientos 400", "cent 100") or a unit then a multiplier
 * ([number.hundred]: "four hundred", "cinq cents"); then, after an optional
 * joiner ("four hundred and twelve"), a number to 99. */
int Ccai_ofl_number_words_999(const Ccai_offline *o, size_t *i)
{
    size_t n, k = *i;
    int h = k < o->ntok ? Ccai_ofl_sec_value(o, V_HUNDREDS, k, &n) : -1;
    if (h > 0) {
        k += n;
    } else {
        size_t j = k;
        int u = Ccai_ofl_number_words(o, &j);
        if (u < 0)
            return -1;
        size_t m = j < o->ntok ? Ccai_ofl_sec_at(o, "number.hundred", j, j + 1) : 0;
        if (u < 1 || u > 9 || !m) {
            *i = j;
            return u;
        }
        h = u * 100;
        k = j + m;
    }
    /* "seven hundred, nine hundred": a pause ends the number */
    if (k >= o->ntok || Ccai_ofl_clause_break(o, k)) {
        *i = k;
        return h;
    }
    size_t j = k + Ccai_ofl_sec_at(o, "number.and", k, k + 1);
    int r = j < o->ntok && !Ccai_ofl_clause_break(o, j) ? Ccai_ofl_number_words(o, &j) : -1;
    if (r >= 1 && r <= 99) {
        *i = j;
        return h + r;
    }
    *i = k;
    return h;
}

const char *Ccai_ofl_lang_region(const Ccai_offline *o)
{
    const char *code = o->st.lang_avail >= 0 ? o->avail[o->st.lang_avail] : o->lang_code;
    const char *dash = code ? strchr(code, '-') : NULL;
    return dash ? dash + 1 : NULL;
}

const char *Ccai_ofl_phone_region(const Ccai_offline *o)
{
    /* a caller from a country without a plan here: no region (the
     * country code is asked), not the language's (a Polish caller on a
     * Spanish line is no Spanish number) */
    if (o->caller_number && o->caller_number[0] == '+')
        return Ccai_numbering_region(o->caller_number);
    return Ccai_ofl_lang_region(o);
}

/* The digits said, with a "+" when one was said; a national number gets
 * the country code of the call's region (core/numbering.c: its trunk
 * prefix, lengths and first digits). */
phone_reason Ccai_ofl_spoken_phone(Ccai_offline *o, size_t b, size_t e, const char *region,
                                   char *out, size_t cap)
{
    char digits[PHONE_DIGITS_MAX + 1];
    size_t nd = 0, nd_corr = 0;
    bool plus = false, overflow = false, any, corr_seen = false;
    /* "zero one four four, sorry, zero one four one": the digits said
     * after a correction replace as many at the end */
    size_t corr = Ccai_ofl_correction_point(o, &any);
    for (size_t i = b; i < e;) {
        /* "Oh seven seven oh oh, nine oh oh, five six one. margaret dot
         * ellis fifty-one ...": a whole number said, its sentence ends it */
        if (nd >= 7 && i > b && Ccai_ofl_sentence_break(o, i) && !(any && corr > i))
            break;
        /* once: a correction said before any digit ("sorry, zero seven
         * ...") replaces nothing */
        if (any && i >= corr && corr > b && !corr_seen)
            nd_corr = nd, corr_seen = true;
        if (o->mask && o->mask[i]) {
            i++;
            continue;
        }
        size_t rep = 1;
        if (nd == 0 && (Ccai_ofl_tok_is(o, i, "+") || Ccai_ofl_tok_is(o, i, "plus") ||
                        Ccai_ofl_tok_is(o, i, "mas"))) {
            plus = true;
            i++;
            continue;
        }
        if (Ccai_ofl_sec_at(o, "spell.double", i, i + 1) == 1)
            rep = 2, i++;
        else if (Ccai_ofl_sec_at(o, "spell.triple", i, i + 1) == 1)
            rep = 3, i++;
        if (i >= e)
            break;
        const char *t = o->norm + o->tok[i].start;
        size_t len = o->tok[i].len;
        char piece[8];
        size_t np = 0;
        if (Ccai_ofl_is_digit_ch(t[0])) {
            for (size_t r = 0; r < rep; r++) {
                for (size_t k = 0; k < len; k++) {
                    if (!Ccai_ofl_is_digit_ch(t[k]))
                        continue;
                    if (nd < PHONE_DIGITS_MAX)
                        digits[nd++] = t[k];
                    else
                        overflow = true;
                }
            }
            i++;
            continue;
        }
        int v = rep == 1 ? Ccai_ofl_number_words_999(o, &i) : Ccai_ofl_number_words(o, &i);
        if (v < 0) {
            i++;
            continue;
        }
        /* "seven hundred", "novecientos doce": three digits */
        if (v >= 100)
            np = (size_t)snprintf(piece, sizeof piece, "%d", v);
        else if (v >= 10 && rep == 1)
            np = (size_t)snprintf(piece, sizeof piece, "%02d", v);
        else
            for (size_t r = 0; r < rep && np < 6; r++)
                np += (size_t)snprintf(piece + np, sizeof piece - np, "%d", v);
        for (size_t k = 0; k < np; k++) {
            if (nd < PHONE_DIGITS_MAX)
                digits[nd++] = piece[k];
            else
                overflow = true;
        }
    }
    if (nd_corr > 0 && nd > nd_corr && !overflow) {
        size_t tail = nd - nd_corr;
        if (tail >= nd_corr)
            memmove(digits, digits + nd_corr, tail), nd = tail;
        else
            memmove(digits + nd_corr - tail, digits + nd_corr, tail), nd = nd_corr;
    }
    digits[nd] = '\0';
    if (nd == 0)
        return PH_NONE;
    if (overflow)
        return PH_LONG;
    if (plus || (nd >= 2 && digits[0] == '0' && digits[1] == '0')) {
        snprintf(out, cap, "%s%s", plus ? "+" : "", digits);
        return PH_OK;
    }
    if (Ccai_numbering_e164(region, digits, out, cap))
        return PH_OK;
    if (nd < 8)
        return PH_SHORT;
    return PH_COUNTRY;
}

/* Is an at sign said ("@", [sym.at]), taken or not? Not a one-word entry
 * before a word of [sym.at.not] of the call's language ("une" after
 * "arroba" is a domain): "look at the window", "chez le
 * garagiste" are no address. */
CCAI_MUST_CHECK bool Ccai_ofl_at_sign(const Ccai_offline *o)
{
    if (strchr(o->raw, '@'))
        return true;
    for (size_t k = 0; k < o->ntok; k++) {
        size_t m = Ccai_ofl_sec_at(o, "sym.at", k, o->ntok);
        if (m && !(m == 1 && k + 1 < o->ntok && Ccai_ofl_sec_at_own(o, "sym.at.not", k + 1, k + 2)))
            return true;
    }
    return false;
}

/* Is the word of an address an entry of a section in any language? An
 * apostrophe or a dash inside it is a space, as in the entries ("it's",
 * "c'est", "e-mail"). */
static CCAI_MUST_CHECK bool email_word_in(const Ccai_offline *o, const char *section, const char *w,
                                          size_t n)
{
    char f[64];
    if (n == 0 || n >= sizeof f)
        return false;
    for (size_t k = 0; k < n; k++)
        f[k] = w[k] == '\'' || w[k] == '-' ? ' ' : w[k];
    const Ccai_ofl_lexicon *lx = o->lex;
    for (int l = 0; lx && l < lx->nlang; l++) {
        const Ccai_ofl_entry *ent;
        size_t ne = Ccai_ofl_lex_get(lx, l, section, &ent);
        for (size_t k = 0; k < ne; k++) {
            if (strlen(ent[k].norm) == n && memcmp(ent[k].norm, f, n) == 0)
                return true;
        }
    }
    return false;
}

/* The words around an address that are no part of it ([email.stop]: "my",
 * "is", "c'est", "correo"): the address stops there. */
static CCAI_MUST_CHECK bool email_stop(const Ccai_offline *o, const char *w, size_t n)
{
    return email_word_in(o, "email.stop", w, n);
}

/* The value of a number said in one word ("seventy", "dix-sept",
 * "quatre-vingt-deux", "veintidos"), -1: its parts (split at its hyphens,
 * as the normaliser would split them) read as [number.words] entries of
 * the dialogue's language or English, the longest first, with
 * [number.and] ("et") between two of them left out. Not of a third
 * language: in an address a word of another language is a name (the
 * Colombian "une" of "une punto net" is no French number). */
static int word_number(const Ccai_offline *o, const char *w, size_t n)
{
    const Ccai_ofl_lexicon *lx = o->lex;
    int lang = o->st.lang;
    const char *part[8];
    size_t plen[8], np = 0;
    for (size_t k = 0; k < n;) {
        size_t e = k;
        while (e < n && w[e] != '-')
            e++;
        if (e > k) {
            if (np == CCAI_ARRAY_SIZE(part))
                return -1;
            part[np] = w + k;
            plen[np++] = e - k;
        }
        k = e + 1;
    }
    int total = 0;
    for (size_t i = 0; i < np;) {
        if (i > 0 && i + 1 < np && Ccai_ofl_word_in(lx, W_NUMBER_AND, part[i], plen[i])) {
            i++;
            continue;
        }
        size_t best = 0;
        int value = -1;
        unsigned char c = (unsigned char)part[i][0];
        CCAI_OFL_FOR_ENTRIES (
            lx, l, l == lang || l == lx->en ? Ccai_ofl_valued_sec(lx, l, V_NUMBER) : NULL, c,
            norm) {
            const char *e = norm;
            /* "quatre vingt 80": words, then the value */
            size_t m = 0;
            while (i + m < np) {
                const char *sp = strchr(e, ' ');
                if (!sp)
                    break;
                if ((size_t)(sp - e) != plen[i + m] || memcmp(e, part[i + m], plen[i + m]))
                    break;
                e = sp + 1;
                m++;
            }
            if (m > best && !strchr(e, ' ') && Ccai_is_digit((unsigned char)*e)) {
                best = m;
                value = atoi(e);
            }
        }
        if (!best)
            return -1;
        total += value;
        i += best;
    }
    return np && total < 100 ? total : -1;
}

/* The words of w (separated by spaces) as items from i on, each a word
 * item (no symbol), within one clause when in_clause: how many items they
 * are; 0 when they are not all there. */
static size_t words_at(const char *w, const email_item *items, size_t i, size_t n, bool in_clause)
{
    size_t t = i;
    while (*w && t < n && !items[t].c && (!in_clause || t == i || !items[t].brk)) {
        const char *sp = strchr(w, ' ');
        size_t len = sp ? (size_t)(sp - w) : strlen(w);
        if (items[t].len != len || memcmp(items[t].w, w, len) != 0)
            break;
        t++;
        w += len;
        while (*w == ' ')
            w++;
    }
    return *w ? 0 : t - i;
}

/* Does one entry of a data section ([email.join], [sym.at]) in any language
 * match the items from i on? Its number of items, 0. Entries of several
 * words match as many words. */
static size_t email_sec_at(const Ccai_offline *o, const char *section, const email_item *items,
                           size_t i, size_t n)
{
    const Ccai_ofl_lexicon *lx = o->lex;
    size_t best = 0;
    for (int l = 0; lx && l < lx->nlang; l++) {
        const Ccai_ofl_entry *ent;
        size_t ne = Ccai_ofl_lex_get(lx, l, section, &ent);
        for (size_t k = 0; k < ne; k++) {
            size_t m = words_at(ent[k].norm, items, i, n, false);
            if (m > best)
                best = m;
        }
    }
    return best;
}

/* The letter a word of a data section stands for ("sugar" in [spell]: s;
 * "de" in [spell.names]: d), 0. */
static char email_sec_letter(const Ccai_offline *o, const char *section, const char *w, size_t n)
{
    const Ccai_ofl_lexicon *lx = o->lex;
    for (int l = 0; lx && l < lx->nlang; l++) {
        const Ccai_ofl_entry *ent;
        size_t ne = Ccai_ofl_lex_get(lx, l, section, &ent);
        for (size_t k = 0; k < ne; k++) {
            const char *p = strchr(ent[k].norm, ' ');
            while (p) {
                const char *x = p + 1;
                p = strchr(x, ' ');
                size_t len = p ? (size_t)(p - x) : strlen(x);
                if (len == n && memcmp(x, w, n) == 0 && (p == NULL || section[5] != '.'))
                    return ent[k].norm[0];
            }
        }
    }
    return 0;
}

/* How the caller said the words are joined ("all one word", "with no
 * dot", "tout collé", "todo junto": [email.together]), one item after
 * email_together: its entries may hold a symbol's word ("no dot"), so
 * they are read before the symbols. */
static const char email_together_mark[] = "(together)";

static bool email_is_together(const email_item *it)
{
    return !it->c && it->w == email_together_mark;
}

static void email_together(const Ccai_offline *o, email_item *items, size_t *pn)
{
    size_t n = *pn, out = 0;
    for (size_t i = 0; i < n; i++) {
        email_item it = items[i];
        size_t m = it.c ? 0 : email_sec_at(o, "email.together", items, i, n);
        if (m) {
            it.w = email_together_mark;
            it.len = sizeof email_together_mark - 1;
            it.raw1 = items[i + m - 1].raw1;
            i += m - 1;
        }
        items[out++] = it;
    }
    *pn = out;
}

/* Is the word one of the words of a symbol said in several ("medio" of
 * "guion medio" and "en medio", "score" of "under score", "commercial")?
 * Such a word is never a part of an address on its own. */
static bool email_sym_piece(const Ccai_offline *o, const char *w, size_t n)
{
    static const char *const secs[] = {"sym.at", "sym.dot", "sym.underscore", "sym.dash",
                                       "email.between"};
    const Ccai_ofl_lexicon *lx = o->lex;
    for (size_t s = 0; s < CCAI_ARRAY_SIZE(secs); s++) {
        for (int l = 0; lx && l < lx->nlang; l++) {
            const Ccai_ofl_entry *ent;
            size_t ne = Ccai_ofl_lex_get(lx, l, secs[s], &ent);
            for (size_t k = 0; k < ne; k++) {
                const char *x = ent[k].norm;
                if (!strchr(x, ' '))
                    continue;
                while (*x) {
                    const char *sp = strchr(x, ' ');
                    size_t len = sp ? (size_t)(sp - x) : strlen(x);
                    if (len == n && memcmp(x, w, n) == 0)
                        return true;
                    x += len;
                    while (*x == ' ')
                        x++;
                }
            }
        }
    }
    return false;
}

/* The spoken symbols of an address, from the data files ([sym.at],
 * [sym.dot], [sym.underscore], [sym.dash] in any language: "at", "the at
 * sign", "full stop", "a commercial", "tiret du bas", "guion bajo"): the
 * longest entry at each word becomes one connector. */
static void email_symbols(const Ccai_offline *o, email_item *items, size_t *pn)
{
    static const char *const secs[] = {"sym.at", "sym.dot", "sym.underscore", "sym.dash"};
    static const char signs[] = {'@', '.', '_', '-'};
    size_t n = *pn, out = 0;
    for (size_t i = 0; i < n; i++) {
        email_item it = items[i];
        size_t best = 0;
        char c = 0;
        for (size_t k = 0; !it.c && k < CCAI_ARRAY_SIZE(secs); k++) {
            size_t m = email_sec_at(o, secs[k], items, i, n);
            if (m > best) {
                best = m;
                c = signs[k];
            }
        }
        if (best) {
            it.c = c;
            it.w = "";
            it.len = 0;
            it.raw1 = items[i + best - 1].raw1;
            i += best - 1;
        }
        items[out++] = it;
    }
    *pn = out;
}

/* "ana gil, con un guion bajo en medio", "tom kerr with a dot in between"
 * ([email.between]): the sign goes between the two words before it; the
 * words that bring it ("with a", "con un", "avec un") are dropped. */
static void email_between(const Ccai_offline *o, email_item *items, size_t *pn)
{
    size_t n = *pn;
    for (size_t j = 2; j + 1 < n; j++) {
        if (!items[j].c || items[j].c == '@')
            continue;
        size_t m = email_sec_at(o, "email.between", items, j + 1, n);
        if (!m)
            continue;
        size_t k = j;
        while (k > 0 && j - k < 2 && !items[k - 1].c &&
               Ccai_ofl_word_in(o->lex, W_EMAIL_BRING, items[k - 1].w, items[k - 1].len))
            k--;
        size_t end = j + 1 + m;
        if (k >= 3 && !items[k - 1].c && items[k - 2].c == items[j].c && !items[k - 3].c) {
            /* "luis punto mora, con un punto en medio": said already */
            memmove(items + k, items + end, (n - end) * sizeof *items);
            n -= end - k;
            j = k;
            continue;
        }
        if (k < 2 || items[k - 1].c || items[k - 2].c || items[k - 1].hard ||
            email_is_together(&items[k - 1]) || email_is_together(&items[k - 2]))
            continue;
        email_item w2 = items[k - 1], sign = items[j];
        sign.brk = sign.hard = w2.brk = w2.hard = false;
        items[k - 1] = sign;
        items[k] = w2;
        memmove(items + k + 1, items + end, (n - end) * sizeof *items);
        n -= end - (k + 1);
        j = k;
    }
    *pn = n;
}

/* Is the word one entry of a section, alone ([spell.double]: "double")? */
static bool email_sec_word(const Ccai_offline *o, const char *section, const email_item *it)
{
    return !it->c && email_sec_at(o, section, it, 0, 1) == 1;
}

/* Spelling helpers in an address, from the data files: [spell.w] ("double
 * u", "doble uve") is a w, [spell.double] / [spell.triple] before a letter
 * or a digit repeats it ("double l", "double seven": 77), numbers in words
 * are digits ("seventy two": 72). */
static void email_fix_items(const Ccai_offline *o, email_item *items, size_t *pn, char *digits_buf)
{
    size_t n = *pn, out = 0;
    size_t dpos = 0;
    for (size_t i = 0; i < n; i++) {
        email_item it = items[i];
        size_t m = it.c ? 0 : email_sec_at(o, "spell.w", items, i, n);
        if (m) {
            it.w = "w";
            it.len = 1;
            it.raw1 = items[i + m - 1].raw1;
            i += m - 1;
        } else if (!it.c) {
            int v = word_number(o, it.w, it.len);
            if (v >= 0 && dpos + 3 < CCAI_OFFLINE_UTTERANCE_MAX) {
                /* tens then a unit: "seventy one", "treinta y tres" */
                size_t j = i + 1;
                if (v >= 20 && v % 10 == 0 && j < n && !items[j].c &&
                    Ccai_ofl_word_in(o->lex, W_NUMBER_AND, items[j].w, items[j].len))
                    j++;
                int u;
                if (v >= 20 && v % 10 == 0 && j < n && !items[j].c &&
                    (u = word_number(o, items[j].w, items[j].len)) >= 1 && u <= 9) {
                    v += u;
                    it.raw1 = items[j].raw1;
                    i = j;
                }
                char *d = digits_buf + dpos;
                int k = snprintf(d, 4, "%d", v);
                it.w = d;
                it.len = (size_t)k;
                dpos += (size_t)k + 1;
            }
        }
        /* "double seven", "double l", "triple x" */
        int rep = email_sec_word(o, "spell.double", &it)   ? 2
                  : email_sec_word(o, "spell.triple", &it) ? 3
                                                           : 0;
        if (rep && i + 1 < n && !items[i + 1].c && dpos + 4 < CCAI_OFFLINE_UTTERANCE_MAX) {
            const email_item *nx = &items[i + 1];
            int v = nx->len == 1 ? -1 : word_number(o, nx->w, nx->len);
            char ch = nx->len == 1 && (Ccai_is_alpha((unsigned char)nx->w[0]) ||
                                       Ccai_is_digit((unsigned char)nx->w[0]))
                          ? nx->w[0]
                      : v >= 0 && v <= 9 ? (char)('0' + v)
                                         : 0;
            if (ch) {
                char *d = digits_buf + dpos;
                for (int k = 0; k < rep; k++)
                    d[k] = ch;
                d[rep] = '\0';
                it.w = d;
                it.len = (size_t)rep;
                it.raw1 = nx->raw1;
                dpos += (size_t)rep + 1;
                i++;
            }
        }
        items[out++] = it;
    }
    *pn = out;
}

/* The caller's first and last name, folded as an address holds them
 * ("Lucía Morena": "lucia", "morena"), in buf; false without both. */
static bool email_name_parts(const Ccai_offline *o, char *buf, size_t cap, const char **first,
                             size_t *nfirst, const char **last, size_t *nlast)
{
    size_t fi = Ccai_ofl_field_index(o, "policyholder_name");
    if (fi >= o->nfields || !o->values[fi] || cap < 2)
        return false;
    const unsigned char *v = (const unsigned char *)o->values[fi];
    size_t vl = strlen(o->values[fi]), l = 0;
    for (size_t i = 0; i < vl && l + 1 < cap;) {
        uint32_t cp = '?';
        size_t k = Ccai_ofl_utf8_next(v + i, vl - i, &cp);
        if (k == 0)
            k = 1;
        char c = 0;
        if (cp < 0x80 && (Ccai_is_alpha((int)cp) || cp == ' ' || cp == '-'))
            c = (char)Ccai_to_lower((int)cp);
        else if (cp >= 0xC0 && cp <= 0xFF && Ccai_ofl_latin1_fold[cp - 0xC0] != ' ')
            c = Ccai_ofl_latin1_fold[cp - 0xC0];
        if (c && !(c == ' ' && (l == 0 || buf[l - 1] == ' ')))
            buf[l++] = c;
        i += k;
    }
    while (l > 0 && buf[l - 1] == ' ')
        l--;
    buf[l] = '\0';
    char *sp1 = strchr(buf, ' '), *sp2 = strrchr(buf, ' ');
    if (!sp1)
        return false;
    *first = buf;
    *nfirst = (size_t)(sp1 - buf);
    *last = sp2 + 1;
    *nlast = l - (size_t)(sp2 + 1 - buf);
    return *nfirst > 0 && *nlast > 0;
}

/* "my first name then my surname, all one word" ([email.name_first],
 * [email.name_last], [email.together]): the caller's name, when the name
 * is known and how the two are joined was said (all one word, or a dot,
 * dash or underscore between). Otherwise the words are left, and stop the
 * address: it is asked again, never guessed. */
static void email_names(const Ccai_offline *o, email_item *items, size_t *pn, char *buf, size_t cap)
{
    size_t n = *pn;
    bool together = false;
    for (size_t i = 0; i < n && !together; i++)
        together = email_is_together(&items[i]);
    for (size_t i = 0; i < n; i++) {
        size_t m1 = items[i].c ? 0 : email_sec_at(o, "email.name_first", items, i, n);
        if (!m1)
            continue;
        size_t j = i + m1;
        if (j < n && !items[j].c &&
            (Ccai_ofl_word_in(o->lex, W_EMAIL_AND, items[j].w, items[j].len) ||
             email_sec_at(o, "email.join", items, j, n) == 1))
            j++;
        char sep = 0;
        if (j < n && items[j].c && items[j].c != '@')
            sep = items[j++].c;
        size_t m2 = j < n && !items[j].c ? email_sec_at(o, "email.name_last", items, j, n) : 0;
        const char *first, *last;
        size_t nf, nl;
        if (!m2 || (!together && !sep) || !email_name_parts(o, buf, cap, &first, &nf, &last, &nl))
            continue;
        size_t end = j + m2, k = i;
        email_item a = items[i];
        a.w = first;
        a.len = nf;
        a.raw1 = items[i + m1 - 1].raw1;
        items[k++] = a;
        if (sep) {
            email_item c = {sep, "", 0, false, false, a.raw1, a.raw1};
            items[k++] = c;
        }
        email_item b = items[end - 1];
        b.w = last;
        b.len = nl;
        b.c = 0;
        b.brk = b.hard = false;
        b.raw0 = items[j].raw0;
        items[k++] = b;
        memmove(items + k, items + end, (n - end) * sizeof *items);
        n -= end - k;
        break;
    }
    *pn = n;
}

/* A letter's name in several words from item i ("i griega", "i grec":
 * [spell.names]): its number of items, the letter in *letter; 0. */
static size_t email_name_words(const Ccai_offline *o, const email_item *items, size_t i, size_t n,
                               char *letter)
{
    const Ccai_ofl_lexicon *lx = o->lex;
    size_t best = 0;
    for (int l = 0; lx && l < lx->nlang; l++) {
        const Ccai_ofl_entry *ent;
        size_t ne = Ccai_ofl_lex_get(lx, l, "spell.names", &ent);
        for (size_t k = 0; k < ne; k++) {
            const char *w = ent[k].norm;
            if (!w[0] || w[1] != ' ' || !strchr(w + 2, ' '))
                continue;
            size_t m = words_at(w + 2, items, i, n, true);
            if (m > best) {
                best = m;
                *letter = ent[k].norm[0];
            }
        }
    }
    return best;
}

/* Is the item a number ("80", said "ochenta")? */
static bool email_digits(const email_item *it)
{
    if (it->c || it->len == 0)
        return false;
    for (size_t k = 0; k < it->len; k++)
        if (!Ccai_is_digit((unsigned char)it->w[k]))
            return false;
    return true;
}

/* Spoken spelling in an address, from the data files: "s for sugar", "m
 * comme Marcel", "de de Dinamarca" are one letter; "all one word", "tout
 * attaché", "todo junto", "then" ([email.join]) are dropped; "tiret du bas"
 * / "tiret du 8" is an underscore, "tiret du 6" a dash. A comma between
 * the letters and pieces of an address spelled slowly ("s, o, p, h, i, e,
 * tiret, martin") is no break. */
static void email_spoken(const Ccai_offline *o, email_item *items, size_t *pn)
{
    size_t n = *pn, out = 0;
    for (size_t i = 0; i < n; i++) {
        email_item it = items[i];
        size_t m;
        if (!it.c && ((m = email_sec_at(o, "email.join", items, i, n)) != 0 ||
                      (m = email_is_together(&it)) != 0)) {
            /* dropped: the next piece keeps the break before the filler */
            if (i + m < n) {
                items[i + m].brk = items[i + m].brk || it.brk;
                items[i + m].hard = items[i + m].hard || it.hard;
            }
            i += m - 1;
            continue;
        }
        if (!it.c && it.len <= 4 && i + 2 < n && !items[i + 1].c && !items[i + 2].c &&
            !items[i + 1].brk && !items[i + 2].brk &&
            email_sec_at(o, "spell.as_in", items, i + 1, n) == 1) {
            char letter = it.len == 1 ? it.w[0] : email_sec_letter(o, "spell.names", it.w, it.len);
            const email_item *k = &items[i + 2];
            if (letter && Ccai_is_alpha((unsigned char)letter) &&
                (email_sec_letter(o, "spell", k->w, k->len) == letter || k->w[0] == letter)) {
                it.w = it.len == 1 ? it.w : k->w; /* k->w[0] is the letter */
                it.len = 1;
                it.raw1 = k->raw1;
                items[out++] = it;
                i += 2;
                continue;
            }
        }
        items[out++] = it;
    }
    n = out;
    /* "i griega", "i grec": a letter's name in several words */
    static const char abc[] = "abcdefghijklmnopqrstuvwxyz";
    out = 0;
    for (size_t i = 0; i < n; i++) {
        email_item it = items[i];
        char letter = 0;
        size_t m = it.c ? 0 : email_name_words(o, items, i, n, &letter);
        if (m >= 2 && letter >= 'a' && letter <= 'z') {
            it.w = abc + (letter - 'a');
            it.len = 1;
            it.raw1 = items[i + m - 1].raw1;
            i += m - 1;
        }
        items[out++] = it;
    }
    n = out;
    /* "jota, o, ese, e", "i, ge, ele": a letter's name ([spell.names])
     * beside a letter is that letter; of three letters or more, beside
     * another such name too ("jota, uve"). Names of two letters ("ge",
     * "de", "te") are words alone, so they need a letter beside them;
     * read again until nothing changes ("ge, ele" after an "i"). */
    for (bool changed = true; changed;) {
        changed = false;
        for (size_t i = 0; i < n; i++) {
            email_item *it = &items[i];
            if (it->c || it->len < 2)
                continue;
            char letter = email_sec_letter(o, "spell.names", it->w, it->len);
            if (!letter || letter < 'a' || letter > 'z')
                continue;
            bool beside = false;
            for (int d = -1; d <= 1 && !beside; d += 2) {
                size_t j = (size_t)((ptrdiff_t)i + d);
                if ((d < 0 && i == 0) || j >= n || items[d < 0 ? i : j].hard || items[j].c)
                    continue;
                beside = (items[j].len == 1 && Ccai_is_alpha((unsigned char)items[j].w[0])) ||
                         (it->len >= 3 && items[j].len >= 3 &&
                          email_sec_letter(o, "spell.names", items[j].w, items[j].len) != 0);
            }
            if (beside) {
                it->w = abc + (letter - 'a');
                it->len = 1;
                changed = true;
            }
        }
    }
    /* "alvaro punto nieto, con uve", "smith, with a y": a letter said
     * about the word before it ([email.with]), which has it: no part */
    out = 0;
    for (size_t i = 0; i < n; i++) {
        size_t m = items[i].c ? 0 : email_sec_at(o, "email.with", items, i, n);
        const email_item *l = i + m < n ? &items[i + m] : NULL;
        char letter = !m || !l || l->c ? 0
                      : l->len == 1    ? l->w[0]
                                       : email_sec_letter(o, "spell.names", l->w, l->len);
        bool has = false; /* a word said before it has that letter */
        for (size_t k = out; letter && k > 0 && !has && items[k - 1].c != '@'; k--)
            has = !items[k - 1].c && items[k - 1].len > 1 &&
                  memchr(items[k - 1].w, letter, items[k - 1].len) != NULL;
        if (has && (i + m + 1 >= n || items[i + m + 1].brk || items[i + m + 1].c)) {
            if (i + m + 1 < n) {
                items[i + m + 1].brk = items[i + m + 1].brk || items[i].brk;
                items[i + m + 1].hard = items[i + m + 1].hard || items[i].hard;
            }
            i += m;
            continue;
        }
        items[out++] = items[i];
    }
    *pn = out;
}

/* The characters of items b..e-1 in buf (connectors as their signs),
 * their length; 0 when they hold an at sign or do not fit. */
static size_t email_chars(const email_item *items, size_t b, size_t e, char *buf, size_t cap)
{
    size_t l = 0;
    for (size_t i = b; i < e; i++) {
        const email_item *it = &items[i];
        if (it->c == '@' || email_is_together(it) || l + (it->c ? 1 : it->len) >= cap)
            return 0;
        if (it->c)
            buf[l++] = it->c;
        else {
            memcpy(buf + l, it->w, it->len);
            l += it->len;
        }
    }
    return l;
}

/* A piece of a spelled word: a letter, a letter said "double" or
 * "triple" ("ll"), digits. */
static bool email_spelled_piece(const email_item *it)
{
    if (it->c || it->len == 0 || it->w == email_together_mark)
        return false;
    bool same = it->len <= 3;
    for (size_t k = 1; k < it->len && same; k++)
        same = it->w[k] == it->w[0];
    return same || email_digits(it);
}

/* Is the run [i, j) (its characters run, rl) the word said right before
 * it or right after it? */
static bool email_echoed(const email_item *items, size_t n, size_t i, size_t j, const char *run,
                         size_t rl)
{
    char said[CCAI_OFFLINE_UTTERANCE_MAX];
    for (size_t k = i; k > 0 && i - k < 8; k--) {
        size_t sl = email_chars(items, k - 1, i, said, sizeof said);
        if (sl == 0 || sl > rl)
            break;
        if (sl == rl && memcmp(said, run, rl) == 0)
            return true;
    }
    for (size_t k = j + 1; k <= n && k - j <= 8; k++) {
        size_t sl = email_chars(items, j, k, said, sizeof said);
        if (sl == 0 || sl > rl)
            break;
        if (sl == rl && memcmp(said, run, rl) == 0)
            return true;
    }
    return false;
}

/* "tgallagher, t g a l l a g h e r", "point nguyen, n g u y e n", "helen
 * cho, h e l e n c h o": letters spelled right after (or before) the
 * words they spell are those words once; the spelled form is kept (it is
 * read back letter by letter). */
static void email_echoes(const Ccai_offline *o, email_item *items, size_t *pn)
{
    size_t n = *pn;
    for (size_t i = 0; i < n; i++) {
        if (!email_spelled_piece(&items[i]) || items[i].len != 1 ||
            (i > 0 && email_spelled_piece(&items[i - 1])))
            continue;
        /* the run: letters, "double l", digits, a sign between two of them */
        size_t j = i, letters = 0;
        while (j < n) {
            if (email_spelled_piece(&items[j]))
                letters += items[j].len == 1;
            else if (!(items[j].c && items[j].c != '@' && j > i && j + 1 < n &&
                       email_spelled_piece(&items[j + 1])))
                break;
            j++;
        }
        if (letters < 2)
            continue;
        /* "hughes, h u g h e s, twenty-two": the letters alone when the
         * digits after them are no part of the word spelled */
        size_t jl = i;
        while (jl < j && !email_digits(&items[jl]))
            jl++;
        char run[CCAI_OFFLINE_UTTERANCE_MAX], said[CCAI_OFFLINE_UTTERANCE_MAX];
        size_t rl = email_chars(items, i, j, run, sizeof run);
        if (rl == 0)
            continue;
        /* "ellis, that is e l l i s", "fifty-one, then five one": the words
         * that say a part is restated ([email.stop], [email.restate]) go
         * with its echo */
        size_t is = i;
        while (is > 0 && i - is < 3 && !items[is - 1].c && !email_spelled_piece(&items[is - 1]) &&
               (email_stop(o, items[is - 1].w, items[is - 1].len) ||
                email_word_in(o, "email.restate", items[is - 1].w, items[is - 1].len)))
            is--;
        if (jl < j && jl - i >= 2 && !email_echoed(items, n, i, j, run, rl)) {
            j = jl;
            rl = email_chars(items, i, j, run, sizeof run);
        }
        /* the words before it, nearest first; then the words after it */
        size_t from = 0, to = 0;
        for (size_t k = is; k > 0 && is - k < 8 && !from; k--) {
            size_t sl = email_chars(items, k - 1, is, said, sizeof said);
            if (sl == 0 || sl > rl)
                break;
            bool word = false;
            /* a word, or a number said whole ("fifty-one, then five
             * one") */
            for (size_t x = k - 1; x < is; x++)
                word = word || (!items[x].c && !email_spelled_piece(&items[x])) ||
                       (email_digits(&items[x]) && items[x].len >= 2);
            if (sl == rl && word && memcmp(said, run, rl) == 0)
                from = k - 1, to = i;
        }
        for (size_t k = j + 1; !to && k <= n && k - j <= 8; k++) {
            size_t sl = email_chars(items, j, k, said, sizeof said);
            if (sl == 0 || sl > rl)
                break;
            bool word = false;
            for (size_t x = j; x < k; x++)
                word = word || (!items[x].c && !email_spelled_piece(&items[x]));
            if (sl == rl && word && memcmp(said, run, rl) == 0)
                from = j, to = k;
        }
        /* "aoife dot byrne, that's a o i f e": a word said earlier in the
         * address, spelled again after others: the spelled run goes */
        for (size_t k = 0; !to && k + 1 < i; k++) {
            /* another part between them: a sign, or digits ("ellis
             * fifty-one, that is e l l i s") */
            bool sign = false;
            for (size_t x = k + 1; x < i && !sign; x++)
                sign = items[x].c != 0 || email_digits(&items[x]);
            if (sign && !items[k].c && !email_spelled_piece(&items[k]) && items[k].len == rl &&
                memcmp(items[k].w, run, rl) == 0)
                from = is, to = j;
        }
        if (to == 0)
            continue;
        if (from < i) {
            items[i].brk = items[from].brk;
            items[i].hard = items[from].hard;
        }
        memmove(items + from, items + to, (n - to) * sizeof *items);
        n -= to - from;
        i = from < i ? from : i;
    }
    /* "fifty-one, then five one", "fifty-one, five one": a number said
     * again digit by digit after a pause or the words that restate it
     * goes, with them */
    for (size_t i = 1; i < n; i++) {
        size_t is = i;
        while (is > 0 && i - is < 3 && !items[is - 1].c && !email_digits(&items[is - 1]) &&
               email_word_in(o, "email.restate", items[is - 1].w, items[is - 1].len))
            is--;
        if (is == 0 || !email_digits(&items[i]) || !email_digits(&items[is - 1]) ||
            (is == i && !items[i].brk))
            continue;
        const email_item *d = &items[is - 1];
        size_t j = i, l = 0;
        bool same = true;
        while (j < n && l < d->len && email_digits(&items[j]) && (j == i || !items[j].brk) &&
               same) {
            same = l + items[j].len <= d->len && memcmp(d->w + l, items[j].w, items[j].len) == 0;
            l += items[j].len;
            j++;
        }
        if (!same || l != d->len)
            continue;
        memmove(items + is, items + j, (n - j) * sizeof *items);
        n -= j - is;
        i = is - 1;
    }
    *pn = n;
}

/* A comma between the letters and pieces of an address spelled slowly
 * ("s, o, p, h, i, e, tiret, martin") is no break. */
static void email_breaks(email_item *items, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        const email_item *a = &items[i - 1], *b = &items[i];
        /* "manolorios, todo junto, ochenta": digits said after a
         * comma are a piece too */
        if (b->brk && !b->hard &&
            (a->c || b->c || a->len == 1 || b->len == 1 || email_digits(a) || email_digits(b)))
            items[i].brk = false;
    }
}

/* Is an address heard sure enough to note? Every word of its span is
 * accounted for: a letter, a digit, a symbol (already a connector), or a
 * plain word that may be a literal part ("gmail", "smith") - not a word
 * said about an address ([email.notpart]: "sign", "capital", "qui") or
 * around it (email_stop: "the", "my"), and not a run of three words or
 * more joined with nothing between ("you can reach me on smith"). Nothing
 * looks cut (a connector right after it, "dave at ... at gmail dot com"
 * with an at sign just before it), and its last label looks like a
 * top-level domain (two to six letters). The items [skip0, skip1) are a
 * domain said again after a no ("gmail, euh non, hotmail point ch"): left
 * out. */
static bool email_sure(const Ccai_offline *o, const email_item *items, size_t n, size_t b, size_t e,
                       size_t skip0, size_t skip1, const char *addr)
{
    if ((e < n && items[e].c) || (b > 0 && items[b - 1].c == '@'))
        return false;
    /* "j dot smith, that's j, then smith, s m i t h, at ...": a piece
     * joined by a sign before it, with no at sign of its own (not the
     * domain of an address said before), was left out of the address:
     * something was restated, not heard whole */
    bool sign = false;
    size_t i0 = b;
    for (; i0 > 0 && items[i0 - 1].c != '@'; i0--)
        sign = sign || items[i0 - 1].c != 0; /* or the domain of an address before */
    if (sign && i0 == 0)
        return false;
    size_t run = 0;
    for (size_t i = b; i < e; i++) {
        const email_item *it = &items[i];
        if (it->c || it->len == 0 || (i >= skip0 && i < skip1)) {
            run = 0;
            continue;
        }
        if (memchr(it->w, '@', it->len))
            return true; /* written: "jo@example.com" */
        bool digits = true;
        for (size_t k = 0; k < it->len && digits; k++)
            digits = Ccai_is_digit((unsigned char)it->w[k]);
        if (it->len == 1 || digits) {
            run = 0;
            continue;
        }
        /* "en medio", "guion, medio": a word of a symbol said in words
         * (not a label after a dot: "dot au" is Australia, though "au"
         * is a word of "au milieu") */
        if (!(i > b && items[i - 1].c == '.') && email_sym_piece(o, it->w, it->len))
            return false;
        /* between signs a word is a part ("punto es", "at mail dot com";
         * not "at the office dot com") */
        bool joined = i > b && items[i - 1].c &&
                      (items[i - 1].c != '@' || (i + 1 < e && items[i + 1].c == '.'));
        if (!joined && (email_stop(o, it->w, it->len) || email_sec_word(o, "email.notpart", it)))
            return false;
        if (++run >= 3)
            return false;
    }
    const char *tld = strrchr(addr, '.');
    size_t tl = tld ? strlen(tld + 1) : 0;
    if (tl < 2 || tl > 6)
        return false;
    for (size_t k = 1; k <= tl; k++)
        if (!Ccai_is_alpha((unsigned char)tld[k]))
            return false;
    return true;
}

/* The end of an address's domain starting at items[ds] (just after its at
 * sign, or a domain said again): words until the first dot, then dot-word
 * pairs (a domain said again may start after a pause). *ret_dotted: a dot
 * was said. */
static size_t email_domain_end(const Ccai_offline *o, const email_item *items, size_t n, size_t ds,
                               bool again, bool *ret_dotted)
{
    size_t e = ds;
    bool dotted = false;
    while (e < n && ((again && e == ds) || !items[e].brk)) {
        const email_item *it = &items[e];
        if (it->c == '@' || it->c == '_')
            break;
        if (it->c) {
            if (e + 1 >= n || items[e + 1].c || e == ds || items[e + 1].brk)
                break;
            dotted = dotted || it->c == '.';
            e += 2;
            continue;
        }
        if (dotted || (e > ds && email_stop(o, it->w, it->len)))
            break;
        e++;
    }
    *ret_dotted = dotted;
    return e;
}

/* "john dot doe at example dot com" -> "john.doe@example.com". Words are
 * lower-cased; accents and other characters an address cannot hold are
 * dropped; numbers in words become digits, "double u" a w. The last
 * address said that validates wins ("x at y dot com, sorry, z at y dot
 * com"). Writes "" when there is none. */
void Ccai_ofl_spoken_email(Ccai_offline *o, char *out, size_t cap, size_t *ret_raw0,
                           size_t *ret_raw1, bool *ret_sure)
{
    email_item *items = o->email_items;
    char *scratch = o->email_words;
    char digits[CCAI_OFFLINE_UTTERANCE_MAX];
    size_t n = 0, s = 0;
    const unsigned char *r = (const unsigned char *)o->raw;
    size_t rlen = strlen(o->raw);
    bool brk = true, hard = true;
    out[0] = '\0';
    *ret_raw0 = *ret_raw1 = 0;
    if (ret_sure)
        *ret_sure = false;
    o->email_spelled_now = 0;
    /* no at sign said: no address (most utterances; the reading below
     * looks words up in the data files) */
    if (!Ccai_ofl_at_sign(o))
        return;
    for (size_t i = 0; r[i];) {
        while (r[i] && (Ccai_is_space(r[i]) || strchr(",;:!?", r[i]))) {
            if (r[i] != ' ')
                brk = true;
            if (r[i] != ' ' && r[i] != ',')
                hard = true;
            i++;
        }
        if (!r[i])
            break;
        size_t w0 = s, raw0 = i;
        while (r[i] && !Ccai_is_space(r[i]) && !strchr(",;:!?", r[i])) {
            uint32_t cp = '?';
            size_t k = Ccai_ofl_utf8_next(r + i, rlen - i, &cp);
            if (k == 0)
                k = 1;
            char c = 0;
            if (cp < 0x80 &&
                (Ccai_is_alpha((int)cp) || Ccai_is_digit((int)cp) || strchr("@._-+'", (int)cp)))
                c = (char)Ccai_to_lower((int)cp);
            else if (cp >= 0xC0 && cp <= 0xFF && Ccai_ofl_latin1_fold[cp - 0xC0] != ' ')
                c = Ccai_ofl_latin1_fold[cp - 0xC0];
            if (c)
                scratch[s++] = c;
            i += k;
        }
        bool ends_sentence = false;
        while (s > w0 && (scratch[s - 1] == '.' || scratch[s - 1] == '\'')) {
            ends_sentence = ends_sentence || scratch[s - 1] == '.';
            s--;
        }
        if (s == w0)
            continue;
        /* "j-o-h-n": letters joined by dashes are one word */
        if (s - w0 >= 3 && (s - w0) % 2 == 1) {
            bool letters = true;
            for (size_t k = w0; k < s && letters; k++)
                letters = (k - w0) % 2 == 0 ? Ccai_is_alpha((unsigned char)scratch[k])
                                            : scratch[k] == '-';
            if (letters) {
                size_t d = w0;
                for (size_t k = w0; k < s; k += 2)
                    scratch[d++] = scratch[k];
                s = d;
            }
        }
        const char *w = scratch + w0;
        size_t len = s - w0;
        /* the signs themselves; symbol words are data (email_symbols) */
        char c = len == 1 && strchr("@._-", w[0]) ? w[0] : 0;
        items[n++] = (email_item){c, w, len, brk, hard, (uint16_t)raw0, (uint16_t)i};
        brk = hard = ends_sentence;
    }
    char names[CCAI_OFFLINE_UTTERANCE_MAX];
    email_together(o, items, &n);
    email_symbols(o, items, &n);
    email_between(o, items, &n);
    email_names(o, items, &n, names, sizeof names);
    email_spoken(o, items, &n);
    email_fix_items(o, items, &n, digits);
    email_echoes(o, items, &n);
    email_breaks(items, n);

    /* the local part of the last at sign said with one whose domain was
     * cut ("paola punto restrepo arroba gm... se cortó, ¿me oye? arroba
     * gmail punto com"): an at sign said again alone takes it */
    size_t cut_b = 0, cut_at = 0;
    for (size_t at_i = 0; at_i < n; at_i++) {
        char cand[CCAI_OFFLINE_UTTERANCE_MAX + 1];
        size_t b = at_i, e = at_i + 1;
        uint32_t spelled_now = 0;
        bool resumed = false;
        size_t ds = at_i + 1; /* the first item of the domain */
        if (!items[at_i].c && memchr(items[at_i].w, '@', items[at_i].len)) {
            /* a literal address: take the word as it is */
            snprintf(cand, sizeof cand, "%.*s", (int)items[at_i].len, items[at_i].w);
        } else if (items[at_i].c == '@') {
            /* Local part: walk back over words and connectors. */
            while (b > 0 && !items[b].brk) {
                const email_item *prev = &items[b - 1];
                /* "J O H N": a letter among spelled letters is no "o" (or) */
                bool spelled = prev->len == 1 && b >= 2 && !items[b - 2].c &&
                               items[b - 2].len == 1 && !items[b - 1].brk;
                /* "o point garnier": a word joined by a dot is in the address */
                spelled = spelled || (prev->len == 1 && items[b].c && items[b].c != '@');
                /* "c, l, a, i, r, e", "o r t e g a": a letter before letters */
                spelled = spelled || (prev->len == 1 && !items[b].c && items[b].len == 1 &&
                                      b + 1 < at_i && !items[b + 1].c && items[b + 1].len == 1);
                if (prev->c == '@' || (!prev->c && !spelled && email_stop(o, prev->w, prev->len)))
                    break;
                if (prev->c && (b - 1 == 0 || items[b - 2].c || b == at_i || items[b - 1].brk))
                    break;
                b--;
            }
            if (b == at_i) {
                if (cut_at == 0)
                    continue;
                resumed = true;
            }
            /* Domain: words until the first dot, then dot-word pairs. */
            bool dotted = false;
            e = email_domain_end(o, items, n, ds, false, &dotted);
            if (!resumed && !dotted) {
                /* "arobase gmail, euh non, hotmail, hotmail point ch": a
                 * domain cut by a no or a correction word, then said again
                 * whole before another at sign */
                bool no = false;
                for (size_t k = e; k < n && k < e + 8 && items[k].c != '@'; k++) {
                    if (!items[k].c && (email_word_in(o, "negation", items[k].w, items[k].len) ||
                                        email_word_in(o, "correction", items[k].w, items[k].len)))
                        no = true;
                    bool d2 = false;
                    size_t e2 = no && !items[k].c ? email_domain_end(o, items, n, k, true, &d2) : k;
                    if (d2 && e2 > k + 2) {
                        ds = k;
                        e = e2;
                        dotted = true;
                        break;
                    }
                }
            }
            if (!resumed && !dotted) {
                cut_b = b;
                cut_at = at_i;
            }
            size_t ol = 0;
            unsigned part = 0, letters = 0;
            for (size_t i = resumed ? cut_b : b; i < e && ol + 1 < sizeof cand; i++) {
                if (resumed && i == cut_at)
                    i = at_i; /* the cut domain and what was said after it are left out */
                if (i == at_i + 1 && ds > i)
                    i = ds; /* the domain corrected */
                if (items[i].c) {
                    cand[ol++] = items[i].c;
                    part++;
                    letters = 0;
                } else {
                    /* "g r a c e": a part of two letters said one by one */
                    if (items[i].len == 1 && Ccai_is_alpha((unsigned char)items[i].w[0]) &&
                        ++letters >= 2 && part < 32)
                        spelled_now |= 1u << part;
                    size_t k =
                        items[i].len < sizeof cand - 1 - ol ? items[i].len : sizeof cand - 1 - ol;
                    memcpy(cand + ol, items[i].w, k);
                    ol += k;
                }
            }
            cand[ol] = '\0';
        } else {
            continue;
        }
        char *norm = NULL;
        ccai_status st = ccai_field_validate(CCAI_FIELD_EMAIL, cand, &norm, NULL);
        if (st == CCAI_OK && strchr(norm, '.') && strchr(strchr(norm, '@'), '.')) {
            snprintf(out, cap, "%s", norm);
            *ret_raw0 = items[resumed ? cut_b : b].raw0;
            *ret_raw1 = items[e - 1].raw1;
            if (ret_sure)
                *ret_sure = email_sure(o, items, n, b, e, at_i + 1, ds, norm);
            o->email_spelled_now = spelled_now;
        } else if (st == CCAI_ERR_NOMEM) {
            o->oom = true;
        }
        ccai_free(norm);
    }
}
