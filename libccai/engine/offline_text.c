/* The offline dialogue: what the caller said, normalised and matched
 * (offline.c tells the whole design).
 *
 * Caller words are matched on a normalised copy of the utterance: lower
 * case, accents removed, punctuation turned into spaces, split in tokens.
 * Commands must be the whole utterance once filler words are removed
 * (strip_words); yes and no are read inside a sentence, with negation
 * (answer_polarity). */
#include "engine/offline_private.h"

#include <string.h>

/* ------------------------------------------------------------------------ */
/* Normalisation                                                            */
/* ------------------------------------------------------------------------ */

/* Latin-1 letters U+00C0..U+00FF without their accents; ' ' for signs. */
const char Ccai_ofl_latin1_fold[] =
    "aaaaaaaceeeeiiiidnooooo ouuuuytsaaaaaaaceeeeiiiidnooooo ouuuuyty";

/* Decode one UTF-8 sequence; 0 on invalid bytes (then one byte is skipped). */
size_t Ccai_ofl_utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t v;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        v = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        v = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        v = c & 0x07u;
    } else {
        return 0;
    }
    if (n > len)
        return 0;
    for (size_t k = 1; k < n; k++) {
        if ((s[k] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[k] & 0x3Fu);
    }
    *cp = v;
    return n;
}

bool Ccai_ofl_is_digit_ch(char c)
{
    return Ccai_is_digit((unsigned char)c);
}

/* Normalise s[0..len) into out (tokens separated by one space) and fill
 * toks: letters lower-cased without accents, digits kept; ":", "/", "-"
 * and "." kept between digits; "+" is a token of its own; everything else
 * separates. Returns false only if out or toks are too small (the callers
 * size them so that this never happens). */
bool Ccai_ofl_normalise(const char *s, size_t len, char *out, size_t cap, token *toks,
                        size_t maxtok, size_t *ret_ntok)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t o = 0, nt = 0;
    bool in_tok = false;
    for (size_t i = 0; i < len;) {
        uint32_t cp = ' ';
        size_t n = Ccai_ofl_utf8_next(u + i, len - i, &cp);
        if (n == 0) {
            n = 1;
            cp = ' ';
        }
        char map[3] = {0};
        if (cp < 0x80 && (Ccai_is_alpha((int)cp) || Ccai_is_digit((int)cp))) {
            map[0] = (char)Ccai_to_lower((int)cp);
        } else if (cp == ':' || cp == '/' || cp == '-' || cp == '.') {
            if (in_tok && o > 0 && Ccai_ofl_is_digit_ch(out[o - 1]) && i + 1 < len &&
                Ccai_is_digit(u[i + 1]))
                map[0] = (char)cp;
        } else if (cp >= 0xC0 && cp <= 0xFF) {
            map[0] = Ccai_ofl_latin1_fold[cp - 0xC0] == ' ' ? 0 : Ccai_ofl_latin1_fold[cp - 0xC0];
        } else if (cp == 0x152 || cp == 0x153) {
            map[0] = 'o';
            map[1] = 'e';
        } else if (cp == '+') {
            map[0] = '+';
        }
        if (cp == '+' || !map[0]) {
            in_tok = false;
        }
        if (map[0]) {
            if (!in_tok) {
                if (nt == maxtok || o + 2 >= cap)
                    return false;
                if (o > 0)
                    out[o++] = ' ';
                toks[nt].start = (uint16_t)o;
                toks[nt].len = 0;
                toks[nt].raw = (uint16_t)i;
                nt++;
                in_tok = true;
            }
            for (size_t k = 0; k < 2 && map[k]; k++) {
                if (o + 2 >= cap)
                    return false;
                out[o++] = map[k];
                toks[nt - 1].len++;
            }
            if (cp == '+')
                in_tok = false;
        }
        i += n;
    }
    out[o] = '\0';
    *ret_ntok = nt;
    return true;
}

bool Ccai_ofl_in_list(const char *w, size_t n, const char *const *list, size_t count)
{
    /* most words differ at their first letter: strlen() only then */
    for (size_t i = 0; i < count; i++) {
        if (n ? list[i][0] == w[0] && strlen(list[i]) == n && memcmp(list[i], w, n) == 0
              : !list[i][0])
            return true;
    }
    return false;
}

/* Join the tokens that are not [strip.words]; with @p lenient,
 * [strip.interjections] are dropped as well, at either end too. */
void Ccai_ofl_strip_words(const Ccai_ofl_lexicon *lx, const char *norm, const token *toks,
                          size_t ntok, bool lenient, char *out)
{
    size_t b = 0, e = ntok, o = 0;
    while (lenient && b < e &&
           Ccai_ofl_word_in(lx, W_INTERJECTION, norm + toks[b].start, toks[b].len))
        b++;
    while (lenient && e > b &&
           Ccai_ofl_word_in(lx, W_INTERJECTION, norm + toks[e - 1].start, toks[e - 1].len))
        e--;
    for (size_t i = b; i < e; i++) {
        const char *w = norm + toks[i].start;
        if (Ccai_ofl_word_in(lx, W_STRIP, w, toks[i].len))
            continue;
        if (lenient && Ccai_ofl_word_in(lx, W_INTERJECTION, w, toks[i].len))
            continue;
        if (o > 0)
            out[o++] = ' ';
        memcpy(out + o, w, toks[i].len);
        o += toks[i].len;
    }
    out[o] = '\0';
}

bool Ccai_ofl_says_sec(const Ccai_offline *o, const char *s, const char *section)
{
    if (!s[0])
        return false;
    size_t sl = strlen(s);
    for (int l = 0; l < o->lex->nlang; l++) {
        const Ccai_ofl_entry *ent;
        size_t n = Ccai_ofl_lex_get(o->lex, l, section, &ent);
        for (size_t k = 0; k < n; k++) {
            /* stripping only shortens an entry: a shorter one cannot say s */
            size_t nl = strlen(ent[k].norm);
            if (sl > nl || nl >= PHRASE_NORM_MAX)
                continue;
            char norm[PHRASE_NORM_MAX], out[PHRASE_NORM_MAX];
            token toks[PHRASE_TOK_MAX];
            size_t nt;
            if (!Ccai_ofl_normalise(ent[k].norm, nl, norm, sizeof norm, toks, PHRASE_TOK_MAX, &nt))
                continue;
            Ccai_ofl_strip_words(o->lex, norm, toks, nt, false, out);
            if (out[0] && strcmp(out, s) == 0)
                return true;
        }
    }
    return false;
}

bool Ccai_ofl_tok_is(const Ccai_offline *o, size_t i, const char *w)
{
    return i < o->ntok && strlen(w) == o->tok[i].len &&
           memcmp(o->norm + o->tok[i].start, w, o->tok[i].len) == 0;
}

size_t Ccai_ofl_edit_distance(const char *a, size_t na, const char *b, size_t nb)
{
    size_t row[65];
    na = na > 64 ? 64 : na;
    nb = nb > 64 ? 64 : nb;
    for (size_t j = 0; j <= nb; j++)
        row[j] = j;
    for (size_t i = 1; i <= na; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t up = row[j];
            size_t best = diag + (Ccai_to_lower((unsigned char)a[i - 1]) !=
                                  Ccai_to_lower((unsigned char)b[j - 1]));
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[nb];
}

bool Ccai_ofl_tok_word(const Ccai_offline *o, size_t i, ofl_words which)
{
    return i < o->ntok && Ccai_ofl_word_in(o->lex, which, o->norm + o->tok[i].start, o->tok[i].len);
}

bool Ccai_ofl_tok_in(const Ccai_offline *o, size_t i, const char *const *list, size_t count)
{
    return i < o->ntok && Ccai_ofl_in_list(o->norm + o->tok[i].start, o->tok[i].len, list, count);
}

/* ------------------------------------------------------------------------ */
/* Yes or no in a sentence                                                  */
/* ------------------------------------------------------------------------ */

static bool is_upper_ascii(unsigned char c)
{
    return c >= 'A' && c <= 'Z';
}

/* Does punctuation ("no, the date") separate token i from the one before? */
bool Ccai_ofl_clause_break(const Ccai_offline *o, size_t i)
{
    if (i == 0)
        return true;
    for (size_t k = o->tok[i - 1].raw; k < o->tok[i].raw; k++) {
        char ch = o->raw[k];
        if (ch == ',' || ch == ';' || ch == '!' || ch == '?' ||
            (ch == '.' &&
             !(k > 0 && Ccai_ofl_is_digit_ch(o->raw[k - 1]) &&
               Ccai_ofl_is_digit_ch(o->raw[k + 1])) &&
             !Ccai_ofl_abbrev_dot(o, i)))
            return true;
    }
    return false;
}

/* "the landlord, Mr. Gupta", "Mme. Roux", "la Sra. Gómez": the dot after a
 * title or an abbreviation ([abbrev]) before a capital is no break between
 * token i - 1 and token i. */
bool Ccai_ofl_abbrev_dot(const Ccai_offline *o, size_t i)
{
    if (i == 0 || i >= o->ntok)
        return false;
    unsigned char next = (unsigned char)o->raw[o->tok[i].raw];
    /* "transversal 5 No. 20-11": the house's number after a street's
     * ([location.number]) */
    if (Ccai_is_digit(next) && i >= 2 && Ccai_ofl_sec_at(o, "location.number", i - 1, i) == 1 &&
        (Ccai_ofl_is_digit_ch(o->norm[o->tok[i - 2].start]) ||
         (i >= 3 && Ccai_ofl_is_digit_ch(o->norm[o->tok[i - 3].start]))))
        return true;
    return (is_upper_ascii(next) || next == 0xC3) && Ccai_ofl_sec_at(o, "abbrev", i - 1, i) == 1;
}

/* Polarity of the word or phrase at token i of the clause [b, e), and how
 * many tokens it takes. A few words depend on their neighbours: "si" is a
 * yes at either end of a clause or after "que" ("claro que sí"), not as
 * "if"; "ça" is a yes after "est" ("c'est ça", "ce n'est pas ça"); an
 * English "correct" after "to" or "please", or before "the", is the verb
 * (a change). */
static int polarity_at(const Ccai_offline *o, size_t i, size_t b, size_t e, size_t *ret_len)
{
    /* the words of yes and no are data ([yes.words], [no.words]) */
    size_t yes = Ccai_ofl_sec_at(o, "yes.words", i, e);
    *ret_len = yes > 1 ? yes : 1;
    if (yes > 1)
        return POL_YES;
    if (Ccai_ofl_tok_is(o, i, "correct") &&
        ((i > b && Ccai_ofl_tok_word(o, i - 1, W_VERB_LEAD)) ||
         (i + 1 < e && Ccai_ofl_tok_word(o, i + 1, W_VERB_OBJECT))))
        return POL_NO;
    if (yes)
        return POL_YES;
    size_t no = Ccai_ofl_sec_at(o, "no.words", i, e);
    if (no) {
        *ret_len = no;
        return POL_NO;
    }
    if (Ccai_ofl_tok_is(o, i, "si"))
        return i == b || i + 1 == e || Ccai_ofl_tok_is(o, i - 1, "que") ? POL_YES : POL_NONE;
    if (Ccai_ofl_tok_is(o, i, "ca")) {
        for (size_t k = i; k > b && i - k < 4; k--) {
            if (Ccai_ofl_tok_is(o, k - 1, "est"))
                return POL_YES;
        }
        return POL_NONE;
    }
    if (Ccai_ofl_tok_word(o, i, W_POL_CONTRAST) && i + 1 < e) {
        size_t n;
        int next = polarity_at(o, i + 1, b, e, &n);
        return next == POL_YES ? POL_NONE : POL_NO; /* "mais oui" is a yes */
    }
    return POL_NONE;
}

/* [negator.words]: "not 4" negates the 4 words after it. */
static unsigned negator_reach(const Ccai_offline *o, size_t i)
{
    size_t n;
    int reach = Ccai_ofl_sec_value(o, V_NEGATOR, i, &n);
    return n == 1 && reach > 0 ? (unsigned)reach : 0;
}

/* Is the answer a yes or a no? Each clause is read word by word: a
 * polarity word counts as said unless a negator shortly before it turns it
 * around; a negator that turns nothing around and hands over to no other
 * negator ("no.", "not quite", "pas du tout") is a no itself. Any no wins
 * (a correction follows), then any yes. */
int Ccai_ofl_answer_polarity(const Ccai_offline *o)
{
    bool yes = false, no = false;
    for (size_t b = 0; b < o->ntok;) {
        size_t e = b + 1;
        while (e < o->ntok && !Ccai_ofl_clause_break(o, e))
            e++;
        /* Tokens before negated_to are in the reach of a negator. */
        size_t negated_to = b;
        for (size_t i = b; i < e;) {
            unsigned reach = negator_reach(o, i);
            size_t len = 1;
            int pol = polarity_at(o, i, b, e, &len);
            bool negated = i < negated_to;
            if (reach) {
                /* Does it negate a polarity word or hand over to a negator? */
                bool acts = i > b && Ccai_ofl_tok_word(o, i - 1, W_KNOW); /* "je sais pas" */
                for (size_t k = i + 1; k < e && k <= i + reach && !acts; k++) {
                    size_t n;
                    acts = negator_reach(o, k) || Ccai_ofl_tok_word(o, k, W_KNOW) ||
                           polarity_at(o, k, b, e, &n) != POL_NONE;
                }
                if (i + reach + 1 > negated_to)
                    negated_to = i + reach + 1;
                if (!acts && !negated)
                    no = true;
                i++;
                continue;
            }
            if (negated && Ccai_ofl_tok_word(o, i, W_KNOW))
                pol = POL_NONE;
            if (pol != POL_NONE) {
                if (negated)
                    pol = -pol;
                if (pol == POL_YES)
                    yes = true;
                else
                    no = true;
            }
            i += len;
        }
        b = e;
    }
    return no ? POL_NO : yes ? POL_YES : POL_NONE;
}
