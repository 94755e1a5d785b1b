/* The offline dialogue: codes ("W A 3 3 0 1 8 7 2", "H as in hotel") and
 * names ("my name is ...", "Marcus Reid here") in what the caller said. */
#include "engine/offline_extract.h"

#include <stdio.h>
#include <string.h>

/* ---- codes: "W A 3 3 0 1 8 7 2", "H as in hotel", "C A R dash 9 0 2" ---- */

/* The letter a spelling word stands for ("alpha", "hotel"), 0. */
static char spelled_letter(const Ccai_offline *o, size_t i)
{
    const Ccai_ofl_lexicon *lx = o->lex;
    for (int l = 0; l < lx->nlang; l++) {
        const Ccai_ofl_entry *ent;
        size_t n = Ccai_ofl_lex_get(lx, l, "spell", &ent);
        for (size_t k = 0; k < n; k++) {
            const char *p = strchr(ent[k].norm, ' ');
            while (p) {
                const char *w = p + 1;
                p = strchr(w, ' ');
                size_t len = p ? (size_t)(p - w) : strlen(w);
                if (o->tok[i].len == len && memcmp(o->norm + o->tok[i].start, w, len) == 0)
                    return ent[k].norm[0];
            }
        }
    }
    return 0;
}

/* The letter a letter's name stands for from token i ([spell.names]: "s
 * ese", "y i griega", "j jota"), 0; *ret_n its words. */
static char letter_name(const Ccai_offline *o, size_t i, size_t e, size_t *ret_n)
{
    const Ccai_ofl_lexicon *lx = o->lex;
    for (int l = 0; l < lx->nlang; l++) {
        const Ccai_ofl_entry *ent;
        size_t n = Ccai_ofl_lex_get(lx, l, "spell.names", &ent);
        for (size_t k = 0; k < n; k++) {
            const char *w = ent[k].norm;
            if (!w[0] || w[1] != ' ')
                continue;
            w += 2;
            size_t t = i;
            while (*w && t < e) {
                const char *sp = strchr(w, ' ');
                size_t len = sp ? (size_t)(sp - w) : strlen(w);
                if (o->tok[t].len != len || memcmp(o->norm + o->tok[t].start, w, len) != 0)
                    break;
                t++;
                w += len;
                while (*w == ' ')
                    w++;
            }
            if (!*w) {
                *ret_n = t - i;
                return ent[k].norm[0];
            }
        }
    }
    return 0;
}

/* A letter of a contraction ("it's", "c'est", "l'AB"), no spelled letter. */
static CCAI_MUST_CHECK bool contraction_letter(const Ccai_offline *o, size_t i)
{
    if (o->tok[i].len != 1)
        return false;
    size_t r = o->tok[i].raw;
    unsigned char before = r > 0 ? (unsigned char)o->raw[r - 1] : 0;
    unsigned char after = (unsigned char)o->raw[r + 1];
    /* ' or the last byte of U+2019 */
    return before == '\'' || (before == 0x99 && r >= 3) || (after == '\'' && i + 1 < o->ntok);
}

/* One piece of a code at token *i: its characters appended to out.
 * Returns false when token *i is no part of a code. */
static CCAI_MUST_CHECK bool code_piece(const Ccai_offline *o, size_t *i, size_t e, char *out,
                                       size_t *ol, size_t cap, bool started)
{
    size_t k = *i;
    if (k >= e || o->mask[k])
        return false;
    const char *t = o->norm + o->tok[k].start;
    size_t len = o->tok[k].len;
    unsigned char rc = (unsigned char)o->raw[o->tok[k].raw];
    if (Ccai_ofl_is_digit_ch(t[0])) {
        /* "3rd", "2pm", "14h30", "2:30": a date or a time, not a code */
        for (size_t j = 0; j < len; j++) {
            if (!Ccai_ofl_is_digit_ch(t[j]) && t[j] != '-')
                return false;
        }
        /* "8 h", "3 pm" ([time.marks]), "mars 2024", "2024 à": a time or a year */
        if (Ccai_ofl_tok_word(o, k + 1, W_CODE_TIME_MARK) ||
            (Ccai_ofl_tok_is(o, k + 1, "o") && Ccai_ofl_tok_is(o, k + 2, "clock")) ||
            (len == 4 && k > 0 && Ccai_ofl_month_of(o, k - 1)))
            return false;
        for (size_t j = 0; j < len && *ol + 1 < cap; j++) {
            if (t[j] != '/' && t[j] != '.' && t[j] != ':')
                out[(*ol)++] = (char)upper((unsigned char)t[j]);
        }
        *i = k + 1;
        return true;
    }
    if (len >= 2 && Ccai_is_alpha((unsigned char)t[0])) {
        /* written: "WA3301872", "POL" before "2024" */
        bool digit = false, caps = true;
        for (size_t j = 0; j < len; j++) {
            digit = digit || Ccai_ofl_is_digit_ch(t[j]);
            unsigned char rj = (unsigned char)o->raw[o->tok[k].raw + j];
            caps = caps && (is_upper(rj) || Ccai_is_digit(rj));
        }
        if ((digit || (caps && len <= 4)) && (caps || digit)) {
            for (size_t j = 0; j < len && *ol + 1 < cap; j++)
                out[(*ol)++] = (char)upper((unsigned char)t[j]);
            *i = k + 1;
            return true;
        }
    }
    /* "double u", "double vé", "doble uve" ([spell.w]): one W, not two U */
    size_t mw = Ccai_ofl_sec_at(o, "spell.w", k, e);
    if (mw) {
        if (*ol + 1 < cap)
            out[(*ol)++] = 'W';
        *i = k + mw;
        return true;
    }
    /* "la ese, la jota, la i griega": a letter by its name after its
     * article ([spell.article]; alone, "de", "te", "ese" are words) */
    size_t ln = 0;
    char named = Ccai_ofl_sec_at(o, "spell.article", k, k + 1) == 1 && k + 1 < e && !o->mask[k + 1]
                     ? letter_name(o, k + 1, e, &ln)
                     : 0;
    if (named) {
        if (*ol + 1 < cap)
            out[(*ol)++] = (char)upper((unsigned char)named);
        *i = k + 1 + ln;
        return true;
    }
    size_t rep = 1, k0 = k;
    if (Ccai_ofl_sec_at(o, "spell.double", k, k + 1) && k + 1 < e)
        rep = 2, k++;
    else if (Ccai_ofl_sec_at(o, "spell.triple", k, k + 1) && k + 1 < e)
        rep = 3, k++;
    t = o->norm + o->tok[k].start;
    len = o->tok[k].len;
    rc = (unsigned char)o->raw[o->tok[k].raw];
    char c = 0;
    int v = -1;
    size_t next = k + 1;
    /* "once y veinte", "vingt et un": a lower-case "y" joining numbers in
     * words ([number.and]) is no letter of a code */
    size_t jn = k + 1;
    bool joins = len == 1 && rc < 0x80 && !is_upper(rc) && k > 0 &&
                 Ccai_ofl_sec_at(o, "number.and", k, k + 1) == 1 &&
                 !Ccai_ofl_is_digit_ch(o->norm[o->tok[k - 1].start]) &&
                 Ccai_ofl_number_words(o, &(size_t){k - 1}) >= 0 &&
                 Ccai_ofl_number_words(o, &jn) >= 0;
    if (joins)
        return false;
    /* "... five six, and I'm ringing": a contraction's letters end a code */
    if (started && len == 1 && contraction_letter(o, k))
        return false;
    if (len == 1 && Ccai_is_alpha((unsigned char)t[0]) && rc < 0x80 &&
        (is_upper(rc) || started || (k + 1 < e && o->tok[k + 1].len == 1 && !o->mask[k + 1]))) {
        c = (char)upper((unsigned char)t[0]);
        /* "H as in hotel", and any word of that letter: people spell with
         * their own ("P de Pedro", "M comme Marcel") */
        size_t m = Ccai_ofl_sec_at(o, "spell.as_in", next, e);
        if (m && next + m < e && !o->mask[next + m] &&
            (spelled_letter(o, next + m) == t[0] ||
             (o->tok[next + m].len >= 3 && o->norm[o->tok[next + m].start] == t[0] &&
              Ccai_is_alpha((unsigned char)o->norm[o->tok[next + m].start + 1]))))
            next += m + 1;
    } else if ((started || (is_upper(rc) && k + 1 < e)) && (c = spelled_letter(o, k)) != 0) {
        c = (char)upper((unsigned char)c);
    } else if (started && (Ccai_ofl_tok_is(o, k, "oh") || Ccai_ofl_tok_is(o, k, "o"))) {
        v = 0;
    } else {
        size_t j = k;
        v = rep == 1 ? Ccai_ofl_number_words_999(o, &j) : Ccai_ofl_number_words(o, &j);
        if (v >= 0) {
            if (v == 1 && !started &&
                (Ccai_ofl_tok_is(o, k, "un") || Ccai_ofl_tok_is(o, k, "une") ||
                 Ccai_ofl_tok_is(o, k, "una") || Ccai_ofl_tok_is(o, k, "one")))
                return false;
            next = j;
        }
    }
    if (!c && v < 0) {
        if (started && Ccai_ofl_sec_at(o, "sym.dash", k0, e) == 1 && rep == 1) {
            if (*ol + 1 < cap)
                out[(*ol)++] = '-';
            *i = k0 + 1;
            return true;
        }
        return false;
    }
    for (size_t r = 0; r < rep; r++) {
        char buf[4];
        int n = c ? (buf[0] = c, 1)
                  : snprintf(buf, sizeof buf, v >= 10 && v < 100 && rep == 1 ? "%02d" : "%d", v);
        for (int j = 0; j < n && *ol + 1 < cap; j++)
            out[(*ol)++] = buf[j];
    }
    *i = next;
    return true;
}

/* "POL-2024-778": a dash written between token i - 1 and token i. */
static CCAI_MUST_CHECK bool written_dash(const Ccai_offline *o, size_t i)
{
    if (i == 0 || i >= o->ntok)
        return false;
    size_t r = o->tok[i - 1].raw + 1;
    while (r < o->tok[i].raw && !Ccai_is_space((unsigned char)o->raw[r]) && o->raw[r] != '-')
        r++;
    return r + 1 == o->tok[i].raw && o->raw[r] == '-';
}

/* Is token k a digit or a number word ([number.words]: "oh 0" too)? */
static CCAI_MUST_CHECK bool digit_word(const Ccai_offline *o, size_t k)
{
    size_t j = k;
    return Ccai_ofl_is_digit_ch(o->norm[o->tok[k].start]) || Ccai_ofl_number_words(o, &j) >= 0;
}

/* A word of zero said alone ([number.words] "oh 0"), which may also be a
 * hesitation ("oh, I don't know"). */
static CCAI_MUST_CHECK bool zero_word(const Ccai_offline *o, size_t k)
{
    size_t n;
    return Ccai_ofl_sec_value(o, V_NUMBER, k, &n) == 0 && n == 1;
}

/* Is a digit or a number word (or "oh") just before or after token i? */
static CCAI_MUST_CHECK bool digit_beside(const Ccai_offline *o, size_t i, size_t e)
{
    return (i > 0 && digit_word(o, i - 1)) || (i + 1 < e && digit_word(o, i + 1));
}

/* The longest code read: a policy or contract number is rarely over 30
 * characters. A longer run of spelled letters and numbers is not one code,
 * and reading it whole from every token it holds made a turn of number
 * words cost the square of its length (fuzz-offline: 500 number words,
 * over 10 s). */
#define CODE_MAX 64

/* The code said from token b: its text (upper case) and where it ends;
 * 0 when none, or when the run of letters and digits from b is longer
 * than CODE_MAX characters (then *ret_too_long, and *ret_end is where the
 * run ends: read from any of its tokens it is as long). */
static size_t read_code(const Ccai_offline *o, size_t b, size_t e, char *out, size_t cap,
                        size_t *ret_end, bool *ret_too_long)
{
    size_t ol = 0, i = b, last = b;
    bool started = false, too_long = false, echoed = false;
    char run[8]; /* the letters said one by one just before ("P R") */
    size_t nrun = 0;
    *ret_too_long = false;
    while (i < e) {
        /* "P R, papa romeo", "H B, as in hotel bravo", "N F. November
         * foxtrot. 2 2 8": the letters said, then the words that spell
         * them, are the letters once (and the sentence goes on) */
        if (started && nrun > 0) {
            size_t j = i + Ccai_ofl_sec_at(o, "spell.as_in", i, e), k = 0;
            while (k < nrun && j < e && !o->mask[j] && spelled_letter(o, j) == run[k])
                j++, k++;
            if (k == nrun) {
                nrun = 0;
                echoed = true;
                i = last = j;
                continue;
            }
        }
        if (started && Ccai_ofl_sentence_break(o, i) && !echoed)
            break; /* "A U 5 5 1 2 0. I had ...": the sentence ended the code */
        echoed = false;
        /* "six six oh, two eight one", "oh oh six": "oh" beside a digit
         * is a zero, no hesitation */
        if (started && (Ccai_ofl_hesitation(o, i) || Ccai_ofl_tok_is(o, i, "and")) &&
            !(zero_word(o, i) && digit_beside(o, i, e))) {
            i++;
            continue;
        }
        /* "H S, then seven one seven, then two nine two" ([code.join]) */
        size_t cj =
            started && !Ccai_ofl_sentence_break(o, i) ? Ccai_ofl_sec_at(o, "code.join", i, e) : 0;
        if (cj && i + cj < e && digit_word(o, i + cj)) {
            i += cj;
            continue;
        }
        size_t ol0 = ol;
        if (started && written_dash(o, i) && ol + 1 < cap)
            out[ol++] = '-';
        size_t i0 = i;
        if (!code_piece(o, &i, e, out, &ol, cap, started)) {
            ol = ol0;
            break;
        }
        if (i == i0 + 1 && ol == ol0 + 1 && o->tok[i0].len == 1 &&
            Ccai_is_alpha((unsigned char)o->norm[o->tok[i0].start])) {
            if (nrun < sizeof run)
                run[nrun++] = o->norm[o->tok[i0].start];
        } else {
            nrun = 0;
        }
        started = true;
        last = i;
        if (ol > CODE_MAX) {
            too_long = true; /* walked to its end, nothing kept */
            ol = 0;
        }
    }
    if (too_long) {
        out[0] = '\0';
        *ret_end = last;
        *ret_too_long = true;
        return 0;
    }
    while (ol > 0 && out[ol - 1] == '-')
        ol--;
    out[ol] = '\0';
    *ret_end = last;
    return ol;
}

static CCAI_MUST_CHECK bool code_ok(const char *c, bool cued)
{
    size_t letters = 0, digits = 0, n = strlen(c);
    for (size_t i = 0; i < n; i++) {
        if (Ccai_is_alpha((unsigned char)c[i]))
            letters++;
        else if (Ccai_is_digit((unsigned char)c[i]))
            digits++;
    }
    if (cued)
        return digits >= 2 && n >= 3;
    /* not cued: five letters and digits at least, dashes aside ("a white
     * F-150", "a CX-5", "seven-fifteen, I" are no policy numbers) */
    return letters >= 1 && digits >= 3 && letters + digits >= 5;
}

static CCAI_MUST_CHECK bool all_digits(const char *c)
{
    for (; *c; c++)
        if (!Ccai_is_digit((unsigned char)*c))
            return false;
    return true;
}

/* Is a [correction] said in [b, e)? */
static CCAI_MUST_CHECK bool correction_between(const Ccai_offline *o, size_t b, size_t e)
{
    for (size_t k = b; k < e; k++)
        if (Ccai_ofl_sec_at(o, "correction", k, o->ntok))
            return true;
    return false;
}

/* Is token i a word of another field's cue ("mon GSM", "my cell", "mi
 * celu")? "GSM 04 75 ..." is a phone number, no code "GSM0475...". */
static CCAI_MUST_CHECK bool other_cue_at(const Ccai_offline *o, size_t f, size_t i)
{
    for (size_t g = 0; g < o->nfields; g++) {
        if (g == f)
            continue;
        char n[CCAI_OFL_SECTION_MAX];
        if (Ccai_strjoin(n, sizeof n, "cue.", o->f[g].name, NULL) >= sizeof n)
            continue;
        Ccai_ofl_sec_lists cue;
        Ccai_ofl_sec_lists_get(o, n, &cue);
        for (size_t k = i > 4 ? i - 4 : 0; k <= i; k++) {
            size_t m = Ccai_ofl_sec_lists_at(o, &cue, k, o->ntok);
            if (m && k + m > i)
                return true;
        }
    }
    return false;
}

/* A postcode's shape, letters and digits run together: British ("G312LH",
 * "SW1A1AA", "EH42AB": one or two letters, a digit, a letter or digit,
 * then a digit and two letters) or Canadian ("J4K2T5": letter, digit,
 * letter, digit, letter, digit). */
static CCAI_MUST_CHECK bool postcode_shape(const char *c)
{
    size_t n = strlen(c), k = 0;
    bool letters = true;
    for (size_t i = 0; i < n; i++)
        letters = letters && (is_upper((unsigned char)c[i]) || Ccai_is_digit((unsigned char)c[i]));
    if (!letters)
        return false;
    if (n == 6 && is_upper((unsigned char)c[0]) && Ccai_is_digit((unsigned char)c[1]) &&
        is_upper((unsigned char)c[2]) && Ccai_is_digit((unsigned char)c[3]) &&
        is_upper((unsigned char)c[4]) && Ccai_is_digit((unsigned char)c[5]))
        return true;
    if (n < 5 || n > 7 || !is_upper((unsigned char)c[n - 1]) ||
        !is_upper((unsigned char)c[n - 2]) || !Ccai_is_digit((unsigned char)c[n - 3]))
        return false;
    while (k < 2 && is_upper((unsigned char)c[k]))
        k++;
    /* the outward part: letters, a digit, a letter or digit */
    return k >= 1 && Ccai_is_digit((unsigned char)c[k]) && n - 3 - k >= 1 && n - 3 - k <= 2;
}

void Ccai_ofl_extract_code(Ccai_offline *o, found *fd, size_t f, bool asked)
{
    char best[VALUE_MAX];
    best[0] = '\0';
    size_t best_b = 0, best_e = 0;
    bool best_cued = false;
    for (size_t i = 0; i < o->ntok; i++) {
        if (o->mask[i] || contraction_letter(o, i))
            continue;
        size_t cue = Ccai_ofl_field_sec_has(o, "cue", f, i, i + 1, &(size_t){0}) ? 1 : 0;
        bool cued = false;
        size_t start = i;
        if (cue) {
            size_t p, l;
            if (Ccai_ofl_sec_find(o, "cue.policy_number", i, i + 1, &p, &l) ||
                Ccai_ofl_field_sec_has(o, "cue", f, i, i + 1, &p)) {
                char n[CCAI_OFL_SECTION_MAX];
                Ccai_strjoin(n, sizeof n, "cue.", o->f[f].name, NULL);
                l = Ccai_ofl_sec_at(o, n, i, o->ntok);
                start = i + (l ? l : 1);
                for (size_t s = 0; s < 4 && start < o->ntok; s++) {
                    /* [code.skip]; "c'est", not the C of "C A R 2 0 5" */
                    if (!Ccai_ofl_tok_word(o, start, W_CODE_SKIP) ||
                        (Ccai_ofl_tok_is(o, start, "c") && !Ccai_ofl_tok_is(o, start + 1, "est") &&
                         !Ccai_ofl_tok_is(o, start + 1, "etait")))
                        break;
                    start++;
                }
                cued = true;
            }
        }
        if (!cued && other_cue_at(o, f, i))
            continue;
        /* "como a las diez, diez y cuarto", "at ten, ten fifteen": number
         * words after a [time.lead] are an hour, no code */
        if (!cued && i > 0 && Ccai_ofl_sec_at(o, "time.lead", i - 1, i) == 1 &&
            !Ccai_ofl_is_digit_ch(o->norm[o->tok[i].start]) && digit_word(o, i)) {
            while (i + 1 < o->ntok && !o->mask[i + 1] && digit_word(o, i + 1))
                i++;
            continue;
        }
        char buf[VALUE_MAX];
        size_t end;
        bool too_long;
        size_t n = read_code(o, start, o->ntok, buf, sizeof buf, &end, &too_long);
        if (too_long) {
            i = end > i ? end - 1 : i; /* no code in this run */
            continue;
        }
        /* "H O G 1 2 3 4 5, ay no, perdón, 1 2 3 4 6": digits after a
         * correction replace the code's last digits */
        if (n >= 2 && best[0] && start >= best_e && !cued && all_digits(buf) &&
            correction_between(o, best_e, start)) {
            size_t bl = strlen(best), tail = 0;
            while (tail < bl && Ccai_is_digit((unsigned char)best[bl - 1 - tail]))
                tail++;
            if (n <= tail) {
                memcpy(best + bl - n, buf, n);
                best_e = end;
                i = end > i ? end - 1 : i;
                continue;
            }
        }
        if (n == 0 || !(code_ok(buf, cued || asked)))
            continue;
        /* "G 3 1, 2 L H", "code postal J 4 K, 2 T 5": a postcode said
         * with the place ([location.postcode] before it, or its shape), no
         * code unless the code is asked or cued */
        if (!cued && !asked &&
            (postcode_shape(buf) ||
             (start > 0 && Ccai_ofl_sec_find(o, "location.postcode", start > 3 ? start - 3 : 0,
                                             start, &(size_t){0}, &(size_t){0})))) {
            i = end > i ? end - 1 : i;
            continue;
        }
        /* A cued code wins over one that is not; else the later (a
         * correction) or, when asked, the longer one. */
        if ((cued && !best_cued) ||
            (cued == best_cued && (!best[0] || !asked || n >= strlen(best)))) {
            snprintf(best, sizeof best, "%s", buf);
            best_b = cued ? i : start; /* "my policy number is" goes too */
            best_e = end;
            best_cued = cued;
        }
        i = end > i ? end - 1 : i;
    }
    if (!best[0])
        return;
    for (size_t k = best_b; k < best_e; k++)
        o->mask[k] = true;
    Ccai_ofl_put(o, fd, f, Ccai_strdup(best));
}

/* ---- names ---- */

/* "O" of "O'Neil", "D" of "D'Angelo": a letter that starts a name. */
static CCAI_MUST_CHECK bool name_elision(const Ccai_offline *o, size_t i)
{
    size_t r = o->tok[i].raw;
    return o->tok[i].len == 1 && is_upper((unsigned char)o->raw[r]) &&
           (o->raw[r + 1] == '\'' || (unsigned char)o->raw[r + 1] == 0xE2);
}

CCAI_MUST_CHECK bool Ccai_ofl_name_word(const Ccai_offline *o, size_t i)
{
    unsigned char c = (unsigned char)o->raw[o->tok[i].raw];
    if (o->mask[i] || (o->tok[i].len < 2 && !name_elision(o, i)))
        return false;
    return is_upper(c) || c >= 0xC3 || Ccai_ofl_tok_word(o, i, W_NAME_PARTICLE);
}

static char *name_from(Ccai_offline *o, size_t b, size_t e, bool any_case, size_t *ret_end)
{
    size_t k = b;
    while (k < e && k - b < 5 && !(k > b && Ccai_ofl_clause_break(o, k)) &&
           (any_case
                ? ((o->tok[k].len >= 2 || name_elision(o, k)) && !o->mask[k] &&
                   !Ccai_ofl_hesitation(o, k) && !Ccai_ofl_is_digit_ch(o->norm[o->tok[k].start]) &&
                   Ccai_ofl_sec_at_own(o, "name.not", k, k + 1) != 1)
                : Ccai_ofl_name_word(o, k)))
        k++;
    /* particles do not end a name */
    while (k > b && o->tok[k - 1].len <= 3 && !is_upper((unsigned char)o->raw[o->tok[k - 1].raw]))
        k--;
    if (k == b)
        return NULL;
    *ret_end = k;
    size_t r0 = o->tok[b].raw;
    size_t r1 = o->tok[k - 1].raw;
    while (o->raw[r1] && !Ccai_is_space((unsigned char)o->raw[r1]) && o->raw[r1] != ',' &&
           o->raw[r1] != '.' && o->raw[r1] != '!' && o->raw[r1] != '?')
        r1++;
    char *s = Ccai_malloc(r1 - r0 + 1);
    if (!s) {
        o->oom = true;
        return NULL;
    }
    memcpy(s, o->raw + r0, r1 - r0);
    s[r1 - r0] = '\0';
    /* "carlos mendez" -> "Carlos Mendez"; a particle said in lower case
     * after the first word stays so ("Kylie van der Berg") */
    bool start = true;
    for (char *p = s; *p; p++) {
        size_t wl = strcspn(p, " -");
        if (start && *p >= 'a' && *p <= 'z' &&
            !(p > s && Ccai_ofl_word_in(o->lex, W_NAME_PARTICLE, p, wl)))
            *p = (char)(*p - 32);
        start = *p == ' ' || *p == '-';
    }
    return s;
}

/* ---- a name spelled as it is said ---- */

/* The letters spelled from token *i ("S T E V E N", "H O double L I S", "M
 * A C aitch"), lower case, into buf: single letters, a letter doubled or
 * tripled, a letter's name ([spell.names]) once the run has begun. Returns
 * their count; *i moves past them. */
static size_t name_letters(const Ccai_offline *o, size_t *i, size_t e, char *buf, size_t cap)
{
    size_t k = *i, n = 0;
    while (k < e && !o->mask[k] && !(n > 0 && Ccai_ofl_clause_break(o, k))) {
        size_t rep = 1, at = k, ln = 0;
        if (k + 1 < e && Ccai_ofl_sec_at(o, "spell.double", k, k + 1) == 1)
            rep = 2, at = k + 1;
        else if (k + 1 < e && Ccai_ofl_sec_at(o, "spell.triple", k, k + 1) == 1)
            rep = 3, at = k + 1;
        char c = 0;
        unsigned char t0 = (unsigned char)o->norm[o->tok[at].start];
        if (o->tok[at].len == 1 && t0 >= 'a' && t0 <= 'z' && !contraction_letter(o, at))
            c = (char)t0, ln = 1;
        else if (n > 0 && (c = letter_name(o, at, e, &ln)) == 0)
            ln = 0;
        if (!c)
            break;
        for (size_t r = 0; r < rep && n + 1 < cap; r++)
            buf[n++] = c;
        k = at + ln;
    }
    buf[n < cap ? n : cap - 1] = '\0';
    if (n >= 2)
        *i = k;
    return n >= 2 ? n : 0;
}

static int fold(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* A word of a name, lower case and without its accents ("Yésica" is
 * "yesica"), into buf (cap bytes); its length. */
static size_t folded_word(const char *w, size_t n, char *buf, size_t cap)
{
    size_t ol = 0;
    for (size_t i = 0; i < n && ol + 1 < cap;) {
        uint32_t cp;
        size_t m = Ccai_ofl_utf8_next((const unsigned char *)w + i, n - i, &cp);
        if (m == 0)
            m = 1, cp = '?';
        i += m;
        if (cp >= 0xC0 && cp <= 0xFF && Ccai_ofl_latin1_fold[cp - 0xC0] != ' ')
            cp = (uint32_t)Ccai_ofl_latin1_fold[cp - 0xC0];
        buf[ol++] = cp < 0x80 ? (char)fold((int)cp) : '?';
    }
    buf[ol] = '\0';
    return ol;
}

/* The name n (its end at token *me) with the spelling said after each of
 * its words: "Steven with a v, S T E V E N, Hollis, H O double L I S" is
 * "Steven Hollis", "Stephen, S T E V E N" is "Steven" (the letters are how
 * the word said is written: a run of letters close to it replaces it). A
 * word said after a spelling ("..., Hollis, H O double L I S") joins the
 * name when its own spelling follows it, or when it ends the sentence.
 * "with a v", "avec un y", "con be" before the letters ([name.spelled])
 * go with them. Returns n or a new string (n freed). */
static char *name_spelled(Ccai_offline *o, char *n, size_t *me)
{
    char out[VALUE_MAX];
    if (snprintf(out, sizeof out, "%s", n) >= (int)sizeof out)
        return n;
    size_t k = *me, end = *me;
    bool changed = false;
    for (unsigned words = 0; words < 4 && k < o->ntok; words++) {
        /* "with a v", "con y griega": the words and the letter they name */
        size_t m = Ccai_ofl_sec_at(o, "name.spelled", k, o->ntok), ln = 0;
        bool hinted = false;
        if (m && k + m < o->ntok && !o->mask[k + m] &&
            (letter_name(o, k + m, o->ntok, &ln) || (ln = 1, o->tok[k + m].len <= 2)))
            k += m + ln, hinted = true;
        char letters[32], said[32];
        size_t j = k;
        size_t nl = name_letters(o, &j, o->ntok, letters, sizeof letters);
        const char *last = strrchr(out, ' ');
        last = last ? last + 1 : out;
        size_t ll = folded_word(last, strlen(last), said, sizeof said);
        size_t dist = Ccai_ofl_edit_distance(said, ll, letters, nl);
        if (nl && (j >= o->ntok || Ccai_ofl_clause_break(o, j)) && dist <= (ll > 4 ? ll / 2 : 2)) {
            size_t at = (size_t)(last - out);
            if (at + nl + 1 > sizeof out)
                break;
            /* the word as said when the letters are its own ("MacDonald",
             * "Yésica") */
            for (size_t x = 0; x < nl && dist > 0; x++)
                out[at + x] = (char)(x == 0 ? upper((unsigned char)letters[x]) : letters[x]);
            if (dist > 0)
                out[at + nl] = '\0';
            k = end = j;
            changed = true;
        } else if (hinted) {
            end = k; /* "Steven with a v." */
            changed = true;
        } else {
            break;
        }
        /* the next word of the name, after its spelling or alone at the end */
        if (k >= o->ntok || !Ccai_ofl_clause_break(o, k) || Ccai_ofl_sentence_break(o, k) ||
            !Ccai_ofl_name_word(o, k))
            break;
        size_t ne;
        char *w = name_from(o, k, o->ntok, false, &ne);
        if (!w)
            break;
        size_t j2 = ne;
        char l2[32];
        size_t n2 = ne < o->ntok && Ccai_ofl_clause_break(o, ne)
                        ? name_letters(o, &j2, o->ntok, l2, sizeof l2)
                        : 0;
        bool spelled_next = n2 && (j2 >= o->ntok || Ccai_ofl_clause_break(o, j2));
        bool ends = !strchr(out, ' ') && (ne >= o->ntok || Ccai_ofl_sentence_break(o, ne));
        if ((!spelled_next && !ends) || strlen(out) + 1 + strlen(w) + 1 > sizeof out) {
            ccai_free(w);
            break;
        }
        size_t ol = strlen(out);
        out[ol] = ' ';
        memcpy(out + ol + 1, w, strlen(w) + 1);
        ccai_free(w);
        k = end = ne;
        changed = true;
    }
    if (!changed)
        return n;
    char *s = Ccai_strdup(out);
    if (!s) {
        o->oom = true;
        return n;
    }
    ccai_free(n);
    *me = end;
    return s;
}

/* "c'est madame Roux, Isabelle Roux": a name said again in full right after
 * is the one. A one-word name (a nickname) then a full name in its own clause, or
 * after a hesitation that restates ("well", "ben", "bueno"): "Gaz. Gary
 * Shufflebottom.", "it's Ally here, well, Alasdair MacLeod on the policy",
 * "Juanca, bueno, Juan Camilo Restrepo Vélez" are the full name. */
static char *name_restated(Ccai_offline *o, char *n, size_t *me)
{
    size_t k = *me, end;
    if (strchr(n, ' ') || k >= o->ntok)
        return n;
    size_t self = Ccai_ofl_sec_at(o, "name.self", k, o->ntok);
    if (self && (k + self >= o->ntok || Ccai_ofl_clause_break(o, k + self)))
        k += self; /* "Ally here, well, ..." */
    if (k >= o->ntok || !Ccai_ofl_clause_break(o, k))
        return n;
    bool hedged = false; /* or corrected: "Fanfan, enfin, Françoise" */
    for (size_t m = 1; k < o->ntok && m > 0; k += m) {
        m = Ccai_ofl_hesitation(o, k) ? 1 : Ccai_ofl_sec_at(o, "correction", k, o->ntok);
        hedged |= m > 0;
    }
    if (k >= o->ntok || o->mask[k] || !Ccai_ofl_name_word(o, k) ||
        (hedged && !Ccai_ofl_clause_break(o, k)))
        return n;
    char *full = name_from(o, k, o->ntok, false, &end);
    if (!full)
        return n;
    const char *last = strrchr(full, ' ');
    if (last && (Ccai_strcasecmp(last + 1, n) == 0 || hedged || end >= o->ntok ||
                 Ccai_ofl_clause_break(o, end))) {
        ccai_free(n);
        *me = end;
        return full;
    }
    ccai_free(full);
    return n;
}

/* "Oui bonjour, Antoine Mercier, ...", "Hi, Dana Whitfield here": a full
 * name (two words or more) right after a greeting, alone in its clause or
 * with the words that say it is the caller's ("here", "à l'appareil";
 * those need no greeting: "Paul Girard speaking"). */
static char *name_after_greeting(Ccai_offline *o, size_t *mb, size_t *me)
{
    size_t b = 0, m;
    bool greeted = false;
    while (b < o->ntok && !o->mask[b]) {
        if ((m = Ccai_ofl_sec_at(o, "greeting", b, o->ntok)) > 0)
            greeted = true, b += m;
        else if (Ccai_ofl_hesitation(o, b) || Ccai_ofl_filler(o, b))
            b++;
        else
            break;
    }
    size_t end;
    if (b >= o->ntok || o->mask[b] || !Ccai_ofl_clause_break(o, b) || !Ccai_ofl_name_word(o, b))
        return NULL;
    char *n = name_from(o, b, o->ntok, false, &end);
    size_t self = n && end < o->ntok ? Ccai_ofl_sec_at(o, "name.self", end, o->ntok) : 0;
    if (self && end + self < o->ntok && !Ccai_ofl_clause_break(o, end + self))
        self = 0;
    if (n && (!strchr(n, ' ') || (!self && !greeted) ||
              (!self && end < o->ntok && !Ccai_ofl_clause_break(o, end)))) {
        ccai_free(n);
        return NULL;
    }
    *mb = b, *me = end + self;
    return n;
}

/* Does a colon come between token i and the one before ("mes coordonnées
 * : Julien Moreau")? */
static CCAI_MUST_CHECK bool colon_before(const Ccai_offline *o, size_t i)
{
    for (size_t k = i > 0 ? o->tok[i - 1].raw : 0; i > 0 && k < o->tok[i].raw; k++)
        if (o->raw[k] == ':')
            return true;
    return false;
}

/* Where the clause announcing the details at token p starts: "je vous
 * donne tout de suite mes coordonnées" is no value (a few words back to a
 * clause break or a [clause.join] word). */
static size_t details_from(const Ccai_offline *o, size_t p)
{
    size_t k = p;
    while (k > 0 && p - k < 6 && !Ccai_ofl_clause_break(o, k) &&
           !Ccai_ofl_sec_at(o, "clause.join", k - 1, k))
        k--;
    return Ccai_ofl_clause_break(o, k) ? k : p;
}

/* "Let me give you my details: it's Gregory Lamb, ...", "je vous donne mes
 * coordonnées, comme ça c'est fait : Julien Moreau, ...", "le doy mis
 * datos: Andrés Peña, ...": after the words that announce the caller's
 * details ([name.details]), the first full name (two words or more) alone
 * in its clause, within a few words. */
static char *name_after_details(Ccai_offline *o, size_t *mb, size_t *me)
{
    size_t p, l;
    if (!Ccai_ofl_sec_find(o, "name.details", 0, o->ntok, &p, &l))
        return NULL;
    for (size_t b = p + l, t; b < o->ntok && b < p + l + 12; b++) {
        if (Ccai_ofl_sentence_break(o, b) && b > p + l + 1 && !colon_before(o, b))
            break;
        if (o->mask[b]) /* "comme ça c'est fait" said between */
            continue;
        size_t c = b;
        while (c < o->ntok &&
               (t = Ccai_ofl_sec_at(o, "cue.policyholder_name.weak", c, o->ntok)) > 0 && c == b)
            c += t; /* ": it's Gregory Lamb" */
        if (c >= o->ntok || !Ccai_ofl_name_word(o, c) ||
            !(Ccai_ofl_clause_break(o, b) || colon_before(o, b)))
            continue;
        size_t end;
        char *n = name_from(o, c, o->ntok, false, &end);
        if (n && strchr(n, ' ') && (end >= o->ntok || Ccai_ofl_clause_break(o, end))) {
            *mb = details_from(o, p), *me = end; /* "my details" and its words go too */
            return n;
        }
        ccai_free(n);
    }
    return NULL;
}

/* Is @p full the full form of the given name @p shortn: longer, the same
 * first letter ("Thomas" of "Tom", "Vincent" of "Vinnie", "Deirdre" of
 * "Dee"; "Venky" is no full form of "Venkatesh", "Inma" of "Inmaculada")? */
static CCAI_MUST_CHECK bool full_form(const char *full, size_t fl, const char *shortn, size_t sl)
{
    return fl > sl && sl > 0 &&
           Ccai_to_lower((unsigned char)full[0]) == Ccai_to_lower((unsigned char)shortn[0]);
}

/* The given name of a full name noted said in full, alone in its clause,
 * a few words later ("Tom Fairweather-Lowe. Well, Thomas, officially.",
 * "Vinnie Esposito. Vincent."): the full name with it. */
static char *name_given_in_full(Ccai_offline *o, char *n, size_t me)
{
    const char *sp = strchr(n, ' ');
    if (!sp)
        return n;
    for (size_t k = me; k < o->ntok && k < me + 6; k++) {
        if (o->mask[k] || Ccai_ofl_hesitation(o, k) || !Ccai_ofl_clause_break(o, k) ||
            !Ccai_ofl_name_word(o, k))
            continue; /* "Well, Thomas" */
        size_t end;
        char *w = name_from(o, k, o->ntok, false, &end);
        bool alone = w && !strchr(w, ' ') && (end >= o->ntok || Ccai_ofl_clause_break(o, end));
        if (alone && full_form(w, strlen(w), n, (size_t)(sp - n))) {
            char *j = Ccai_asprintf("%s%s", w, sp);
            ccai_free(w);
            if (!j) {
                o->oom = true;
                return n;
            }
            ccai_free(n);
            return j;
        }
        ccai_free(w);
        break;
    }
    return n;
}

void Ccai_ofl_extract_name(Ccai_offline *o, found *fd, size_t f, bool asked)
{
    char *best = NULL;
    size_t mb = 0, me = 0, end = 0;
    /* A strong cue ("my name is", "je m'appelle") may be followed by a few
     * words before the name ("in the name of my wife, Camille Moreau"); a
     * weak one ("I'm", "c'est", "soy") only by the name, and never
     * replaces a name a strong one gave. */
    for (size_t w = 0; w < 2 && !best; w++) {
        char sec[CCAI_OFL_SECTION_MAX];
        if (Ccai_strjoin(sec, sizeof sec, "cue.", o->f[f].name, w ? ".weak" : "", NULL) >=
            sizeof sec)
            continue;
        for (size_t i = 0; i < o->ntok; i++) {
            size_t m = o->mask[i] ? 0 : Ccai_ofl_sec_at(o, sec, i, o->ntok);
            if (!m)
                continue;
            /* someone else's name ([name.other] just before the cue: "the
             * postie's name is Trevor", "his name is", "su nombre es") */
            if (i > 0 && Ccai_ofl_sec_at(o, "name.other", i - 1, i) == 1)
                continue;
            size_t b = i + m;
            size_t t;
            while (b < o->ntok && (t = Ccai_ofl_sec_at(o, "title", b, o->ntok)) > 0)
                b += t; /* "c'est madame Roux" */
            for (size_t s = 0; w == 0 && s < 4 && b < o->ntok && !Ccai_ofl_name_word(o, b) &&
                               !Ccai_ofl_is_digit_ch(o->norm[o->tok[b].start]) &&
                               !(s > 0 && Ccai_ofl_clause_break(o, b));
                 s++)
                b++;
            /* a weak cue ends its clause: "je ne sais pas qui c'est. Non."
             * names nobody */
            if (b >= o->ntok || (w == 1 && Ccai_ofl_clause_break(o, b)))
                continue;
            /* nor does a strong one whose sentence ends before a name:
             * "mon mari et moi, c'est notre cave. Les autres ..." */
            if (b > i + m && Ccai_ofl_sentence_break(o, b))
                continue;
            char *n = name_from(o, b, o->ntok, false, &end);
            /* a possessive is no name: "it's Gazza's tree" */
            size_t nl = n ? strlen(n) : 0;
            if (n && nl > 2 && (n[nl - 1] == 's' || n[nl - 1] == 'S') &&
                (n[nl - 2] == '\'' || (nl > 4 && memcmp(n + nl - 4, "\xe2\x80\x99", 3) == 0))) {
                ccai_free(n);
                n = NULL;
            }
            if (n) {
                n = name_restated(o, n, &end);
                ccai_free(best);
                best = n;
                mb = i;
                me = end;
            }
        }
    }
    if (!best)
        best = name_after_details(o, &mb, &me);
    if (!best)
        best = name_after_greeting(o, &mb, &me);
    if (!best && asked) {
        /* The answer itself: "Graham Pryce, P R Y C E." keeps the name. */
        size_t b = 0;
        /* "Sure, it's ...", "D'accord, c'est ...": a yes before it is no name */
        for (size_t y; b < o->ntok;) {
            if (o->mask[b] || Ccai_ofl_hesitation(o, b) || Ccai_ofl_tok_is(o, b, "it") ||
                Ccai_ofl_tok_is(o, b, "s") || Ccai_ofl_tok_is(o, b, "c") ||
                Ccai_ofl_tok_is(o, b, "est"))
                b++;
            else if ((y = Ccai_ofl_sec_at(o, "yes.words", b, o->ntok)) > 0 && b + y < o->ntok &&
                     Ccai_ofl_clause_break(o, b + y))
                b += y;
            else
                break;
        }
        /* "The agent who sold me the policy said ...": no name */
        if (b < o->ntok && Ccai_ofl_sec_at_own(o, "name.not", b, b + 1) != 1 &&
            (best = name_from(o, b, o->ntok, true, &end)) != NULL) {
            /* words no person's name is made of ([name.people]: "my",
             * "neighbour", "was", "voisine", "fueron"; a no): "My
             * neighbour Darnell came over" or "It was her son who saw
             * them" said when the name is asked tells of someone else */
            for (size_t k = b; k < end && best; k++)
                if (Ccai_ofl_sec_at(o, "name.people", k, k + 1) == 1 ||
                    Ccai_ofl_sec_at(o, "no.words", k, k + 1) == 1) {
                    ccai_free(best);
                    best = NULL;
                }
        }
        if (best) {
            best = name_restated(o, best, &end); /* "Durand. Patrick Durand." */
            mb = b, me = end;
            best = name_given_in_full(o, best, me);
        }
    }
    if (!best)
        return;
    best = name_spelled(o, best, &me);
    for (size_t k = mb; k < me; k++)
        o->mask[k] = true;
    /* "my details: it's Gregory Lamb": the words that announced it go too */
    size_t dp, dl;
    if (Ccai_ofl_sec_find(o, "name.details", 0, mb, &dp, &dl) && mb - (dp + dl) < 12)
        for (size_t k = details_from(o, dp); k < dp + dl; k++)
            o->mask[k] = true;
    Ccai_ofl_put(o, fd, f, best);
}
