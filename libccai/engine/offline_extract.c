/* The offline dialogue: mixed initiative. Every utterance is read for every
 * field it may hold (typed extractors for e-mails, phone numbers, codes,
 * dates; cue phrases and topic words per field from the data files for
 * free text), all values found are noted at once, and only what is missing
 * is asked, a question or two at a time in the order of the data files.
 *
 * What else a caller may say instead of an answer: a question (answered
 * when it is about the question asked, else a colleague will follow up;
 * then the question again), "I don't know" (asked again once, at the end),
 * a refusal (not asked again). A correction ("no, sorry", "non pardon",
 * "perdón") makes the last value said win inside the sentence and lets a
 * later turn replace a value already noted. */
#include "engine/offline_private.h"

#include <stdio.h>
#include <string.h>

#define VALUE_MAX (CCAI_OFFLINE_UTTERANCE_MAX + 1) /* a value loses nothing said */

static int upper(int c)
{
    return c >= 'a' && c <= 'z' ? c - 32 : c;
}

static CCAI_MUST_CHECK bool is_upper(int c)
{
    return c >= 'A' && c <= 'Z';
}

typedef struct found {
    char *v[CCAI_FIELDS_MAX]; /* normalised values */
    bool date_only;           /* the datetime field: a day without time */
    int64_t day;
} found;

/* ------------------------------------------------------------------------ */
/* Matching the data files' phrases                                         */
/* ------------------------------------------------------------------------ */

/* Tokens of phrase @p norm at token i (before e): their count, 0. */
static size_t match_at(const Ccai_offline *o, size_t i, size_t e, const char *norm)
{
    size_t n = 0;
    for (const char *p = norm; *p;) {
        const char *sp = strchr(p, ' ');
        size_t len = sp ? (size_t)(sp - p) : strlen(p);
        if (i + n >= e || o->tok[i + n].len != len ||
            memcmp(o->norm + o->tok[i + n].start, p, len) != 0)
            return 0;
        n++;
        p += len + (sp ? 1 : 0);
    }
    return n;
}

/* The longest entry of @p section (any language) starting at token i. */
static size_t sec_at(const Ccai_offline *o, const char *section, size_t i, size_t e)
{
    const Ccai_ofl_lexicon *lx = o->lex;
    size_t best = 0;
    for (int l = 0; l < lx->nlang; l++) {
        const Ccai_ofl_entry *ent;
        size_t n = Ccai_ofl_lex_get(lx, l, section, &ent);
        for (size_t k = 0; k < n; k++) {
            size_t m = match_at(o, i, e, ent[k].norm);
            if (m > best)
                best = m;
        }
    }
    return best;
}

/* The first entry of @p section in [b, e) not in the mask. */
static CCAI_MUST_CHECK bool sec_find(const Ccai_offline *o, const char *section, size_t b, size_t e,
                                     size_t *pos, size_t *len)
{
    for (size_t i = b; i < e; i++) {
        if (o->mask[i])
            continue;
        size_t m = sec_at(o, section, i, e);
        if (m) {
            *pos = i;
            *len = m;
            return true;
        }
    }
    return false;
}

static CCAI_MUST_CHECK bool sec_has(const Ccai_offline *o, const char *section, size_t b, size_t e)
{
    size_t p, l;
    return sec_find(o, section, b, e, &p, &l);
}

static CCAI_MUST_CHECK bool field_sec_has(const Ccai_offline *o, const char *kind, size_t f,
                                          size_t b, size_t e, size_t *pos)
{
    char name[CCAI_OFL_SECTION_MAX];
    size_t len;
    if ((size_t)snprintf(name, sizeof name, "%s.%s", kind, o->f[f].name) >= sizeof name)
        return false;
    return sec_find(o, name, b, e, pos, &len);
}

const char *Ccai_ofl_lex_phrase(const Ccai_offline *o, const char *section, unsigned k)
{
    const Ccai_ofl_entry *ent;
    size_t n = Ccai_ofl_lex_get(o->lex, o->st.lang, section, &ent);
    if (!n)
        n = Ccai_ofl_lex_get(o->lex, o->lex->en, section, &ent);
    return n ? ent[k % n].text : NULL;
}

/* Position of field i in the data files' [order], or -1. */
static long order_of(const Ccai_offline *o, size_t i)
{
    const Ccai_ofl_entry *ent;
    size_t n = Ccai_ofl_lex_get(o->lex, o->lex->en, "order", &ent);
    for (size_t k = 0; k < n; k++) {
        if (strcmp(ent[k].text, o->f[i].name) == 0)
            return (long)k;
    }
    return -1;
}

/* The order questions are asked in: the data files' [order] for a schema
 * made of its fields (the default one: what happened first); the schema's
 * own order for a schema with fields of its own (its author's form). */
size_t Ccai_ofl_field_rank(const Ccai_offline *o, size_t i)
{
    for (size_t j = 0; j < o->nfields; j++) {
        if (order_of(o, j) < 0)
            return i;
    }
    return (size_t)order_of(o, i);
}

/* ------------------------------------------------------------------------ */
/* Sentences                                                                */
/* ------------------------------------------------------------------------ */

static CCAI_MUST_CHECK bool sentence_break(const Ccai_offline *o, size_t i)
{
    if (i == 0 || i >= o->ntok)
        return true;
    for (size_t k = o->tok[i - 1].raw; k < o->tok[i].raw; k++) {
        unsigned char ch = (unsigned char)o->raw[k];
        if (ch == '!' || ch == '?' || ch == ';' || ch == ':' || ch == 0xBF /* ¿ */ ||
            (ch == 0xE2 && (unsigned char)o->raw[k + 1] == 0x80 &&
             (unsigned char)o->raw[k + 2] == 0xA6) /* … */
            || (ch == '.' && !(k > 0 && Ccai_ofl_is_digit_ch(o->raw[k - 1]) &&
                               Ccai_ofl_is_digit_ch(o->raw[k + 1]))))
            return true;
    }
    return false;
}

static size_t sentence_end(const Ccai_offline *o, size_t b)
{
    size_t e = b + 1;
    while (e < o->ntok && !sentence_break(o, e))
        e++;
    return e;
}

/* Does the sentence [b, e) ask something ("?", "¿", "est-ce que")? */
static CCAI_MUST_CHECK bool is_question(const Ccai_offline *o, size_t b, size_t e)
{
    size_t r0 = o->tok[b].raw;
    size_t r1 = e < o->ntok ? o->tok[e].raw : strlen(o->raw);
    for (size_t k = b > 0 ? o->tok[b - 1].raw : 0; k < r1; k++) {
        if (o->raw[k] == '?' && k >= r0)
            return true;
        if ((unsigned char)o->raw[k] == 0xC2 && (unsigned char)o->raw[k + 1] == 0xBF &&
            k + 2 <= r0 + 2)
            return true;
    }
    return false;
}

static CCAI_MUST_CHECK bool hesitation(const Ccai_offline *o, size_t i)
{
    return sec_at(o, "hesitation", i, i + 1) == 1 || Ccai_ofl_tok_is(o, i, "oh") ||
           Ccai_ofl_tok_is(o, i, "ah") || Ccai_ofl_tok_is(o, i, "hmm");
}

/* Starts with a no ("No, nobody was hurt", "nope", "non rien", "nadie") and
 * goes on with no "but". */
static CCAI_MUST_CHECK bool negative_answer(const Ccai_offline *o, size_t b, size_t e)
{
    while (b < e && (hesitation(o, b) || o->mask[b]))
        b++;
    /* "I don't think anyone saw it", "je ne crois pas" */
    size_t lead = b < e ? sec_at(o, "negation.lead", b, e) : 0;
    if (lead)
        return !sec_has(o, "contrast", b, e);
    if (b >= e || !sec_at(o, "negation", b, e))
        return false;
    if (sec_has(o, "contrast", b, e))
        return false;
    /* "not yet, I'm seeing my doctor" keeps its words */
    return !(Ccai_ofl_tok_is(o, b + 1, "yet") || Ccai_ofl_tok_is(o, b + 1, "encore") ||
             Ccai_ofl_tok_is(o, b + 1, "todavia") || Ccai_ofl_tok_is(o, b, "pas"));
}

/* Is the word at i negated ("nobody was hurt", "personne n'a été blessé")? */
static CCAI_MUST_CHECK bool negated_at(const Ccai_offline *o, size_t b, size_t i)
{
    for (size_t k = i; k > b && i - k < 4; k--) {
        if (sec_at(o, "negation", k - 1, k) == 1)
            return true;
    }
    return false;
}

/* The raw text of tokens [b, e), without hesitations and fillers at its
 * start and its final punctuation. */
static CCAI_MUST_CHECK bool filler(const Ccai_offline *o, size_t i)
{
    return sec_at(o, "filler", i, i + 1) == 1;
}

/* Token i is taken by an extractor, or a filler word before one ("at" in
 * "at 3 pm"): no part of a free-text value at its edges. */
static CCAI_MUST_CHECK bool taken_edge(const Ccai_offline *o, size_t i, size_t e)
{
    if (o->mask[i])
        return true;
    size_t k = i;
    while (k < e && filler(o, k) && !o->mask[k])
        k++;
    return k > i && k < e && o->mask[k];
}

static char *raw_span(Ccai_offline *o, size_t b, size_t e)
{
    /* "Yesterday at 3 pm, at the supermarket": the date is not the place. */
    while (b < e && taken_edge(o, b, e))
        b++;
    size_t e0 = e;
    while (e > b && o->mask[e - 1])
        e--;
    /* "... on Market Street this afternoon at quarter past one" */
    bool cut = e < e0 || (e < o->ntok && o->mask[e]);
    while (cut && e > b && (o->mask[e - 1] || filler(o, e - 1)))
        e--;
    while (b < e && (hesitation(o, b) || sec_at(o, "correction", b, e) > 0 ||
                     Ccai_ofl_tok_is(o, b, "and") || Ccai_ofl_tok_is(o, b, "et") ||
                     Ccai_ofl_tok_is(o, b, "y") || Ccai_ofl_tok_is(o, b, "ok") ||
                     Ccai_ofl_tok_is(o, b, "yeah") || Ccai_ofl_tok_is(o, b, "okay"))) {
        size_t m = sec_at(o, "correction", b, e);
        b += m ? m : 1;
    }
    if (b >= e)
        return NULL;
    size_t r0 = o->tok[b].raw;
    size_t r1 = o->tok[e - 1].raw + 1;
    while (o->raw[r1] && !Ccai_is_space((unsigned char)o->raw[r1]) && o->raw[r1] != ',' &&
           o->raw[r1] != '.' && o->raw[r1] != '?' && o->raw[r1] != '!')
        r1++;
    while (r1 > r0 && (o->raw[r1 - 1] == '.' || o->raw[r1 - 1] == ',' ||
                       Ccai_is_space((unsigned char)o->raw[r1 - 1])))
        r1--;
    if (r1 - r0 > VALUE_MAX)
        r1 = r0 + VALUE_MAX;
    char *s = Ccai_malloc(r1 - r0 + 1);
    if (!s)
        o->oom = true;
    if (s) {
        memcpy(s, o->raw + r0, r1 - r0);
        s[r1 - r0] = '\0';
        if (s[0] >= 'a' && s[0] <= 'z')
            s[0] = (char)(s[0] - 32);
    }
    return s;
}

/* ------------------------------------------------------------------------ */
/* Fields                                                                   */
/* ------------------------------------------------------------------------ */

static size_t field_of_type(const Ccai_offline *o, ccai_field_type t, const bool *asked)
{
    for (size_t i = 0; i < o->nfields; i++) {
        if (o->f[i].type == t && asked[i])
            return i;
    }
    for (size_t i = 0; i < o->nfields; i++) {
        if (o->f[i].type == t)
            return i;
    }
    return o->nfields;
}

static CCAI_MUST_CHECK bool name_field(const Ccai_offline *o, size_t i)
{
    return o->f[i].type == CCAI_FIELD_TEXT && strstr(o->f[i].name, "name") != NULL;
}

static CCAI_MUST_CHECK bool code_field(const Ccai_offline *o, size_t i)
{
    const char *n = o->f[i].name;
    return o->f[i].type == CCAI_FIELD_TEXT && !name_field(o, i) &&
           (strstr(n, "number") || strstr(n, "policy") || strstr(n, "code") || strstr(n, "_id") ||
            strstr(n, "plate"));
}

/* ccai_field_validate(), a failed allocation recorded. */
static CCAI_MUST_CHECK bool valid(Ccai_offline *o, ccai_field_type t, const char *v, char **norm)
{
    ccai_status st = ccai_field_validate(t, v, norm, NULL);
    if (st == CCAI_ERR_NOMEM)
        o->oom = true;
    return st == CCAI_OK;
}

static void put(Ccai_offline *o, found *fd, size_t f, char *v)
{
    if (f >= o->nfields) {
        ccai_free(v);
        return;
    }
    if (!v) {
        o->oom = true;
        return;
    }
    ccai_free(fd->v[f]);
    fd->v[f] = v;
}

static void mask_raw(Ccai_offline *o, size_t r0, size_t r1)
{
    for (size_t i = 0; i < o->ntok; i++) {
        if (o->tok[i].raw >= r0 && o->tok[i].raw < r1)
            o->mask[i] = true;
    }
}

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
        /* "8 h", "3 pm", "mars 2024", "2024 à": a time or a year */
        static const char *const time_marks[] = {"h",  "heure", "heures", "hours",
                                                 "pm", "am",    "horas",  "hora"};
        if (TOK_IN(o, k + 1, time_marks) ||
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
    size_t rep = 1, k0 = k;
    if (sec_at(o, "spell.double", k, k + 1) && k + 1 < e)
        rep = 2, k++;
    else if (sec_at(o, "spell.triple", k, k + 1) && k + 1 < e)
        rep = 3, k++;
    t = o->norm + o->tok[k].start;
    len = o->tok[k].len;
    rc = (unsigned char)o->raw[o->tok[k].raw];
    char c = 0;
    int v = -1;
    size_t next = k + 1;
    if (len == 1 && Ccai_is_alpha((unsigned char)t[0]) && rc < 0x80 &&
        (is_upper(rc) || started || (k + 1 < e && o->tok[k + 1].len == 1 && !o->mask[k + 1]))) {
        c = (char)upper((unsigned char)t[0]);
        /* "H as in hotel" */
        size_t m = sec_at(o, "spell.as_in", next, e);
        if (m && next + m < e && spelled_letter(o, next + m) == t[0])
            next += m + 1;
    } else if ((started || (is_upper(rc) && k + 1 < e)) && (c = spelled_letter(o, k)) != 0) {
        c = (char)upper((unsigned char)c);
    } else if (started && (Ccai_ofl_tok_is(o, k, "oh") || Ccai_ofl_tok_is(o, k, "o"))) {
        v = 0;
    } else {
        size_t j = k;
        v = Ccai_ofl_number_words(o, &j);
        if (v >= 0) {
            if (v == 1 && !started &&
                (Ccai_ofl_tok_is(o, k, "un") || Ccai_ofl_tok_is(o, k, "une") ||
                 Ccai_ofl_tok_is(o, k, "una") || Ccai_ofl_tok_is(o, k, "one")))
                return false;
            next = j;
        }
    }
    if (!c && v < 0) {
        if (started && sec_at(o, "sym.dash", k0, e) == 1 && rep == 1) {
            if (*ol + 1 < cap)
                out[(*ol)++] = '-';
            *i = k0 + 1;
            return true;
        }
        return false;
    }
    for (size_t r = 0; r < rep; r++) {
        char buf[4];
        int n =
            c ? (buf[0] = c, 1) : snprintf(buf, sizeof buf, v >= 10 && rep == 1 ? "%02d" : "%d", v);
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

/* The code said from token b: its text (upper case) and where it ends. */
static size_t read_code(const Ccai_offline *o, size_t b, size_t e, char *out, size_t cap,
                        size_t *ret_end)
{
    size_t ol = 0, i = b, last = b;
    bool started = false;
    while (i < e) {
        if (started && sentence_break(o, i))
            break; /* "A U 5 5 1 2 0. I had ...": the sentence ended the code */
        if (started && (hesitation(o, i) || Ccai_ofl_tok_is(o, i, "and"))) {
            i++;
            continue;
        }
        size_t ol0 = ol;
        if (started && written_dash(o, i) && ol + 1 < cap)
            out[ol++] = '-';
        if (!code_piece(o, &i, e, out, &ol, cap, started)) {
            ol = ol0;
            break;
        }
        started = true;
        last = i;
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
    return letters >= 1 && digits >= 3 && n >= 5;
}

static void extract_code(Ccai_offline *o, found *fd, size_t f, bool asked)
{
    char best[VALUE_MAX];
    best[0] = '\0';
    size_t best_b = 0, best_e = 0;
    bool best_cued = false;
    for (size_t i = 0; i < o->ntok; i++) {
        if (o->mask[i])
            continue;
        size_t cue = field_sec_has(o, "cue", f, i, i + 1, &(size_t){0}) ? 1 : 0;
        bool cued = false;
        size_t start = i;
        if (cue) {
            size_t p, l;
            if (sec_find(o, "cue.policy_number", i, i + 1, &p, &l) ||
                field_sec_has(o, "cue", f, i, i + 1, &p)) {
                char n[CCAI_OFL_SECTION_MAX];
                snprintf(n, sizeof n, "cue.%s", o->f[f].name);
                l = sec_at(o, n, i, o->ntok);
                start = i + (l ? l : 1);
                for (size_t s = 0; s < 4 && start < o->ntok; s++) {
                    static const char *const skip[] = {
                        "is", "it", "s",   "c",  "est", "es", "el", "le",  "number", "numero",
                        "de", "my", "mon", "mi", "its", "la", "uh", "euh", "eh"};
                    if (!TOK_IN(o, start, skip))
                        break;
                    start++;
                }
                cued = true;
            }
        }
        char buf[VALUE_MAX];
        size_t end;
        size_t n = read_code(o, start, o->ntok, buf, sizeof buf, &end);
        if (n == 0 || !(code_ok(buf, cued || asked)))
            continue;
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
    put(o, fd, f, Ccai_strdup(best));
}

/* ---- names ---- */

/* "O" of "O'Neil", "D" of "D'Angelo": a letter that starts a name. */
static CCAI_MUST_CHECK bool name_elision(const Ccai_offline *o, size_t i)
{
    size_t r = o->tok[i].raw;
    return o->tok[i].len == 1 && is_upper((unsigned char)o->raw[r]) &&
           (o->raw[r + 1] == '\'' || (unsigned char)o->raw[r + 1] == 0xE2);
}

static CCAI_MUST_CHECK bool name_word(const Ccai_offline *o, size_t i)
{
    unsigned char c = (unsigned char)o->raw[o->tok[i].raw];
    if (o->mask[i] || (o->tok[i].len < 2 && !name_elision(o, i)))
        return false;
    static const char *const particles[] = {"de",  "le", "la", "van", "von",
                                            "del", "di", "du", "da"};
    return is_upper(c) || c >= 0xC3 || TOK_IN(o, i, particles);
}

static char *name_from(Ccai_offline *o, size_t b, size_t e, bool any_case, size_t *ret_end)
{
    size_t k = b;
    while (k < e && k - b < 5 && !(k > b && Ccai_ofl_clause_break(o, k)) &&
           (any_case ? ((o->tok[k].len >= 2 || name_elision(o, k)) && !o->mask[k] &&
                        !hesitation(o, k) && !Ccai_ofl_is_digit_ch(o->norm[o->tok[k].start]))
                     : name_word(o, k)))
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
    /* "carlos mendez" -> "Carlos Mendez" */
    bool start = true;
    for (char *p = s; *p; p++) {
        if (start && *p >= 'a' && *p <= 'z')
            *p = (char)(*p - 32);
        start = *p == ' ' || *p == '-';
    }
    return s;
}

/* "c'est madame Roux, Isabelle Roux": a name said again in full right after
 * is the one. */
static char *name_restated(Ccai_offline *o, char *n, size_t *me)
{
    size_t k = *me, end;
    if (strchr(n, ' ') || k >= o->ntok || !Ccai_ofl_clause_break(o, k) || !name_word(o, k))
        return n;
    char *full = name_from(o, k, o->ntok, false, &end);
    if (!full)
        return n;
    const char *last = strrchr(full, ' ');
    if (last && Ccai_strcasecmp(last + 1, n) == 0) {
        ccai_free(n);
        *me = end;
        return full;
    }
    ccai_free(full);
    return n;
}

/* "Oui bonjour, Antoine Mercier, ...", "Hi, Dana Whitfield here": a full
 * name (two words or more) right after a greeting, alone in its clause. */
static char *name_after_greeting(Ccai_offline *o, size_t *mb, size_t *me)
{
    size_t b = 0, m;
    bool greeted = false;
    while (b < o->ntok && !o->mask[b]) {
        if ((m = sec_at(o, "greeting", b, o->ntok)) > 0)
            greeted = true, b += m;
        else if (hesitation(o, b) || filler(o, b))
            b++;
        else
            break;
    }
    size_t end;
    if (!greeted || b >= o->ntok || o->mask[b] || !Ccai_ofl_clause_break(o, b) || !name_word(o, b))
        return NULL;
    char *n = name_from(o, b, o->ntok, false, &end);
    if (n && (!strchr(n, ' ') || (end < o->ntok && !Ccai_ofl_clause_break(o, end)))) {
        ccai_free(n);
        return NULL;
    }
    *mb = b, *me = end;
    return n;
}

static void extract_name(Ccai_offline *o, found *fd, size_t f, bool asked)
{
    char *best = NULL;
    size_t mb = 0, me = 0, end = 0;
    /* A strong cue ("my name is", "je m'appelle") may be followed by a few
     * words before the name ("in the name of my wife, Camille Moreau"); a
     * weak one ("I'm", "c'est", "soy") only by the name, and never
     * replaces a name a strong one gave. */
    for (size_t w = 0; w < 2 && !best; w++) {
        char sec[CCAI_OFL_SECTION_MAX];
        if ((size_t)snprintf(sec, sizeof sec, "cue.%s%s", o->f[f].name, w ? ".weak" : "") >=
            sizeof sec)
            continue;
        for (size_t i = 0; i < o->ntok; i++) {
            size_t m = o->mask[i] ? 0 : sec_at(o, sec, i, o->ntok);
            if (!m)
                continue;
            size_t b = i + m;
            size_t t;
            while (b < o->ntok && (t = sec_at(o, "title", b, o->ntok)) > 0)
                b += t; /* "c'est madame Roux" */
            for (size_t s = 0; w == 0 && s < 4 && b < o->ntok && !name_word(o, b) &&
                               !Ccai_ofl_is_digit_ch(o->norm[o->tok[b].start]) &&
                               !(s > 0 && Ccai_ofl_clause_break(o, b));
                 s++)
                b++;
            if (b >= o->ntok)
                continue;
            char *n = name_from(o, b, o->ntok, false, &end);
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
        best = name_after_greeting(o, &mb, &me);
    if (!best && asked) {
        /* The answer itself: "Graham Pryce, P R Y C E." keeps the name. */
        size_t b = 0;
        while (b < o->ntok && (o->mask[b] || hesitation(o, b) || Ccai_ofl_tok_is(o, b, "it") ||
                               Ccai_ofl_tok_is(o, b, "s") || Ccai_ofl_tok_is(o, b, "c") ||
                               Ccai_ofl_tok_is(o, b, "est")))
            b++;
        if (b < o->ntok && (best = name_from(o, b, o->ntok, true, &end)) != NULL)
            mb = b, me = end;
    }
    if (!best)
        return;
    for (size_t k = mb; k < me; k++)
        o->mask[k] = true;
    put(o, fd, f, best);
}

/* ---- free text ---- */

/* "at my home, 15 Birch Court, Seattle": from the place word back to its
 * preposition, to the end of the sentence or an "and". */
static char *location_in(Ccai_offline *o, size_t b, size_t e, bool *ret_address)
{
    size_t pos, len;
    size_t best = e;
    bool address = false;
    for (size_t i = b; i < e; i++) {
        if (o->mask[i] || !sec_at(o, "topic.incident_location", i, e))
            continue;
        bool num = (i > b && Ccai_ofl_is_digit_ch(o->norm[o->tok[i - 1].start])) ||
                   (i + 1 < e && Ccai_ofl_is_digit_ch(o->norm[o->tok[i + 1].start])) ||
                   (i > b + 1 && Ccai_ofl_is_digit_ch(o->norm[o->tok[i - 2].start]));
        bool weak = sec_at(o, "location.weak", i, e) > 0;
        if ((best == e && (!weak || num)) || (num && !address)) {
            best = i;
            address = num;
        }
    }
    if (sec_find(o, "cue.incident_location", b, e, &pos, &len)) {
        best = pos + len;
        address = true;
    } else if (best < e) {
        size_t k = best;
        while (k > b && best - k < 6 && !sec_at(o, "location.lead", k, k + 1))
            k--;
        if (!sec_at(o, "location.lead", k, k + 1)) {
            if (!address)
                return NULL;
            k = best > b && Ccai_ofl_is_digit_ch(o->norm[o->tok[best - 1].start]) ? best - 1 : best;
        } else {
            /* "at the Safeway on Market Street": the place before the street */
            for (size_t j = k; j > b && k - j < 3 && !o->mask[j - 1]; j--) {
                if (sec_at(o, "location.lead", j - 1, j) == 1) {
                    k = j - 1;
                    break;
                }
            }
        }
        best = k;
    } else {
        /* "... ce matin à Toulouse.", "in New York": a place name after its
         * preposition ends the clause */
        for (size_t k = b + 1; k + 1 < e && best == e; k++) {
            size_t m = o->mask[k] ? 0 : sec_at(o, "location.city_lead", k, e);
            if (!m || k + m >= e || !name_word(o, k + m))
                continue;
            size_t j = k + m;
            while (j < e && name_word(o, j) && !(j > k + m && Ccai_ofl_clause_break(o, j)))
                j++;
            if (j == e || Ccai_ofl_clause_break(o, j))
                best = k;
        }
        if (best == e)
            return NULL;
    }
    size_t end = best + 1;
    while (end < e && !Ccai_ofl_tok_is(o, end, "and") && !Ccai_ofl_tok_is(o, end, "y") &&
           !Ccai_ofl_tok_is(o, end, "et") && !o->mask[end])
        end++;
    *ret_address = address;
    return raw_span(o, best, end);
}

typedef struct sentence {
    size_t b, e;
    bool question, used;
} sentence;

static char *none_value(Ccai_offline *o)
{
    return Ccai_strdup(Ccai_ofl_phrase(o, M_NONE_VALUE));
}

/* Content tokens of [b, e) left once the extractors took theirs (not
 * hesitations, not the words that say nothing alone: "at", "vers"). */
static size_t content_left(const Ccai_offline *o, size_t b, size_t e)
{
    size_t n = 0;
    for (size_t i = b; i < e; i++)
        n += !o->mask[i] && !hesitation(o, i) && !filler(o, i);
    return n;
}

/* A sentence that is an address and nothing else ("At home, 12 Elm Street")
 * answers no other question than the location. */
static CCAI_MUST_CHECK bool pure_location(Ccai_offline *o, size_t f, const bool *asked, size_t b,
                                          size_t e)
{
    size_t fl = 0;
    while (fl < o->nfields && strcmp(o->f[fl].name, "incident_location") != 0)
        fl++;
    if (fl >= o->nfields || f == fl || asked[fl])
        return false;
    bool address;
    char *loc = location_in(o, b, e, &address);
    char *all = loc && address ? raw_span(o, b, e) : NULL;
    bool same = all && strcmp(all, loc) == 0;
    ccai_free(loc);
    ccai_free(all);
    return same;
}

/* The field a sentence given to asked field f is about: f when it has
 * f's words or no other field's; else the first unfilled, unasked free-text
 * field whose topic words it has. */
static size_t topic_owner(Ccai_offline *o, size_t f, const bool *asked, const found *fd, size_t b,
                          size_t e)
{
    size_t p;
    /* what happened may be told in any words */
    if (strcmp(o->f[f].name, "incident_description") == 0 ||
        field_sec_has(o, "topic", f, b, e, &p) || field_sec_has(o, "cue", f, b, e, &p))
        return f;
    if (strcmp(o->f[f].name, "incident_location") == 0) {
        bool address;
        char *loc = location_in(o, b, e, &address);
        ccai_free(loc);
        if (loc)
            return f;
    }
    for (size_t g = 0; g < o->nfields; g++) {
        if (g == f || asked[g] || o->values[g] || fd->v[g] || o->f[g].type != CCAI_FIELD_TEXT)
            continue;
        if (field_sec_has(o, "topic", g, b, e, &p))
            return g;
    }
    return f;
}

static void extract_text(Ccai_offline *o, found *fd, const bool *asked, sentence *sv, size_t ns,
                         size_t asked_text[], size_t nat)
{
    /* Answers to the question asked: topic first, then in order. */
    bool all_negative = nat > 1 && ns >= 1;
    size_t live = 0;
    for (size_t s = 0; s < ns; s++) {
        if (sv[s].question || content_left(o, sv[s].b, sv[s].e) == 0) {
            sv[s].used = true;
            continue;
        }
        live++;
        if (!negative_answer(o, sv[s].b, sv[s].e))
            all_negative = false;
    }
    if (nat > 0 && live > 0) {
        if (all_negative && live == 1) {
            /* "Nobody else": none for what may be none, the words for the
             * others ("who was involved?"). */
            size_t s1 = 0;
            while (s1 + 1 < ns && sv[s1].used)
                s1++;
            for (size_t k = 0; k < nat; k++)
                put(o, fd, asked_text[k],
                    o->f[asked_text[k]].optional ? none_value(o) : raw_span(o, sv[s1].b, sv[s1].e));
            for (size_t s = 0; s < ns; s++)
                sv[s].used = true;
        } else {
            size_t owner[64];
            size_t nsv = ns < 64 ? ns : 64;
            for (size_t s = 0; s < nsv; s++) {
                owner[s] = o->nfields;
                if (sv[s].used || nat < 2)
                    continue;
                for (size_t k = 0; k < nat && owner[s] == o->nfields; k++) {
                    size_t p;
                    if (field_sec_has(o, "topic", asked_text[k], sv[s].b, sv[s].e, &p) ||
                        field_sec_has(o, "cue", asked_text[k], sv[s].b, sv[s].e, &p))
                        owner[s] = asked_text[k];
                }
            }
            /* the others in order */
            size_t k = 0;
            for (size_t s = 0; s < nsv; s++) {
                if (sv[s].used || owner[s] != o->nfields)
                    continue;
                while (k < nat) {
                    bool taken = false;
                    for (size_t t = 0; t < nsv; t++)
                        taken = taken || owner[t] == asked_text[k];
                    if (!taken)
                        break;
                    k++;
                }
                owner[s] = k < nat ? asked_text[k] : (nat ? asked_text[nat - 1] : o->nfields);
                if (k + 1 < nat)
                    k++;
            }
            for (size_t s = 0; s < nsv; s++) {
                size_t f = owner[s];
                if (f >= o->nfields || sv[s].used)
                    continue;
                /* "A car hit my fence" to "when and where?": what it is
                 * about says which field it answers. */
                size_t g = topic_owner(o, f, asked, fd, sv[s].b, sv[s].e);
                if (g != f) {
                    bool address;
                    sv[s].used = true;
                    put(o, fd, g,
                        strcmp(o->f[g].name, "incident_location") == 0
                            ? location_in(o, sv[s].b, sv[s].e, &address)
                            : raw_span(o, sv[s].b, sv[s].e));
                    continue;
                }
                if (pure_location(o, f, asked, sv[s].b, sv[s].e))
                    continue;
                sv[s].used = true;
                if (o->f[f].optional && negative_answer(o, sv[s].b, sv[s].e)) {
                    if (!fd->v[f])
                        put(o, fd, f, none_value(o));
                    continue;
                }
                char *v = raw_span(o, sv[s].b, sv[s].e);
                if (!v)
                    continue;
                if (fd->v[f] && strcmp(fd->v[f], Ccai_ofl_phrase(o, M_NONE_VALUE)) != 0) {
                    char *j = Ccai_asprintf("%s. %s", fd->v[f], v);
                    ccai_free(v);
                    v = j;
                }
                put(o, fd, f, v);
            }
        }
    }
    /* Volunteered: what a sentence is about. */
    for (size_t s = 0; s < ns; s++) {
        if (sv[s].question)
            continue;
        size_t b = sv[s].b, e = sv[s].e;
        bool told = false;
        for (size_t f = 0; f < o->nfields; f++) {
            if (o->f[f].type != CCAI_FIELD_TEXT || name_field(o, f) || code_field(o, f) ||
                asked[f] || fd->v[f])
                continue;
            size_t p;
            char *v = NULL;
            if (strcmp(o->f[f].name, "incident_location") == 0) {
                bool address;
                v = location_in(o, b, e, &address);
                if (v && !address && o->values[f]) {
                    ccai_free(v);
                    v = NULL;
                }
            } else if (strcmp(o->f[f].name, "incident_description") == 0) {
                if (!told && !sv[s].used && field_sec_has(o, "topic", f, b, e, &p))
                    v = raw_span(o, b, e);
            } else if (field_sec_has(o, "cue", f, b, e, &p) ||
                       (f < o->nfields && strcmp(o->f[f].name, "involved_parties") != 0 &&
                        field_sec_has(o, "topic", f, b, e, &p))) {
                if (o->f[f].optional && negated_at(o, b, p))
                    v = none_value(o);
                else
                    v = raw_span(o, b, e);
                told = true;
            }
            if (v)
                put(o, fd, f, v);
        }
    }
}

/* ---- the whole utterance ---- */

static size_t correction_point(const Ccai_offline *o, bool *ret_any)
{
    size_t at = 0;
    *ret_any = false;
    for (size_t i = 0; i < o->ntok; i++) {
        size_t m = sec_at(o, "correction", i, o->ntok);
        if (m) {
            *ret_any = true;
            at = i + m;
            i += m - 1;
        }
    }
    return at;
}

static const char *caller_region(const Ccai_offline *o)
{
    static const struct {
        const char *cc, *region;
    } map[] = {{"+33", "FR"}, {"+34", "ES"}, {"+44", "GB"}, {"+32", "BE"},
               {"+41", "CH"}, {"+49", "DE"}, {"+1", "US"}};
    if (o->caller_number) {
        for (size_t k = 0; k < CCAI_ARRAY_SIZE(map); k++) {
            if (strncmp(o->caller_number, map[k].cc, strlen(map[k].cc)) == 0)
                return map[k].region;
        }
    }
    const char *code = o->st.lang_avail >= 0 ? o->avail[o->st.lang_avail] : o->lang_code;
    const char *dash = strchr(code, '-');
    return dash ? dash + 1 : NULL;
}

/* Does a phone cue end at token i, or one word before it ("my phone is
 * this", "mi teléfono es este")? */
static CCAI_MUST_CHECK bool phone_cue_ends_at(const Ccai_offline *o, size_t i)
{
    for (size_t k = i > 6 ? i - 6 : 0; k < i; k++) {
        size_t m = o->mask[k] ? 0 : sec_at(o, "cue.policyholder_phone", k, i);
        if (m && (k + m == i || k + m + 1 == i))
            return true;
    }
    return false;
}

static void extract_all(Ccai_offline *o, found *fd, const bool *asked, size_t corr, sentence *sv,
                        size_t ns)
{
    /* "that's all I remember", "c'est tout", "no, sorry": about the answer,
     * not in it */
    static const char *const meta[] = {"meta", "correction"};
    for (size_t m = 0; m < CCAI_ARRAY_SIZE(meta); m++) {
        for (size_t pos = 0, len; sec_find(o, meta[m], pos, o->ntok, &pos, &len); pos += len) {
            /* "No. No." alone is an answer, not a correction */
            if (m == 1 && content_left(o, 0, pos) + content_left(o, pos + len, o->ntok) == 0)
                continue;
            for (size_t k = pos; k < pos + len; k++)
                o->mask[k] = true;
            if (m == 1 && pos > 0 && sec_at(o, "negation", pos - 1, pos) == 1)
                o->mask[pos - 1] = true; /* the "no" of "no, sorry" */
        }
    }
    /* e-mail */
    char buf[CCAI_OFFLINE_UTTERANCE_MAX + 1];
    size_t r0, r1;
    size_t fe = field_of_type(o, CCAI_FIELD_EMAIL, asked);
    if (fe < o->nfields) {
        Ccai_ofl_spoken_email(o, buf, sizeof buf, &r0, &r1);
        if (buf[0]) {
            mask_raw(o, r0, r1);
            put(o, fd, fe, Ccai_strdup(buf));
        }
    }
    /* codes before numbers and dates */
    for (size_t f = 0; f < o->nfields; f++) {
        if (code_field(o, f))
            extract_code(o, fd, f, asked[f]);
    }
    /* phone: "this number", or digits when asked or cued */
    size_t fp = field_of_type(o, CCAI_FIELD_PHONE_NUMBER, asked);
    if (fp < o->nfields) {
        size_t pos, len;
        bool cid = false;
        for (size_t from = 0;
             o->caller_number && !cid && sec_find(o, "callerid", from, o->ntok, &pos, &len);
             from = pos + len) {
            if (len > 1 || (asked[fp] && o->ntok <= 3))
                cid = asked[fp] || sec_has(o, "cue.policyholder_phone", 0, o->ntok) ||
                      sec_at(o, "callerid", pos, pos + len) >= 2;
            else
                cid = phone_cue_ends_at(o, pos); /* "mi teléfono es este" */
        }
        if (cid) {
            for (size_t k = pos; k < pos + len; k++)
                o->mask[k] = true;
            put(o, fd, fp, Ccai_strdup(o->caller_number));
        } else {
            size_t b = 0;
            bool cued = asked[fp];
            if (!cued && field_sec_has(o, "cue", fp, 0, o->ntok, &pos)) {
                cued = true;
                b = pos;
            }
            /* "+33 6 12 ...", "plus four four ...": a number whatever was asked */
            for (size_t k = 0; k < o->ntok && !cued; k++) {
                const char *t = o->norm + o->tok[k].start;
                if (!o->mask[k] && o->tok[k].len >= 4 && t[0] == '0' && t[1] == '0') {
                    cued = true; /* "0044 20 7946 0958" */
                    b = k;
                } else if (!o->mask[k] &&
                           (Ccai_ofl_tok_is(o, k, "plus") || Ccai_ofl_tok_is(o, k, "+")) &&
                           k + 1 < o->ntok && !o->mask[k + 1]) {
                    size_t j = k + 1;
                    cued = Ccai_ofl_is_digit_ch(o->norm[o->tok[k + 1].start]) ||
                           Ccai_ofl_number_words(o, &j) >= 0;
                    b = k;
                }
            }
            char pb[PHONE_DIGITS_MAX + 8];
            if (cued &&
                Ccai_ofl_spoken_phone(o, b, o->ntok, caller_region(o), pb, sizeof pb) == PH_OK) {
                char *norm = NULL;
                if (valid(o, CCAI_FIELD_PHONE_NUMBER, pb, &norm)) {
                    for (size_t k = b; k < o->ntok; k++) {
                        size_t j = k;
                        if (Ccai_ofl_is_digit_ch(o->norm[o->tok[k].start]) ||
                            Ccai_ofl_number_words(o, &j) >= 0 || Ccai_ofl_tok_is(o, k, "double") ||
                            Ccai_ofl_tok_is(o, k, "plus") || Ccai_ofl_tok_is(o, k, "oh"))
                            o->mask[k] = true;
                    }
                    put(o, fd, fp, norm);
                }
            }
        }
    }
    /* names once the numbers are taken ("plus 33 6 ..." is no name) */
    for (size_t f = 0; f < o->nfields; f++) {
        if (name_field(o, f))
            extract_name(o, fd, f, asked[f]);
    }
    /* date and time */
    size_t fdt = field_of_type(o, CCAI_FIELD_DATETIME, asked);
    if (fdt < o->nfields) {
        char db[64];
        int64_t day = 0;
        bool base = asked[fdt] && o->st.pending_date;
        char *written = NULL;
        /* Written forms the validator reads ("2024-10-08T14:30:00Z"). */
        if (!base && strlen(o->raw) > 10 && !strchr(o->raw, ' ') &&
            valid(o, CCAI_FIELD_DATETIME, o->raw, &written)) {
            put(o, fd, fdt, written);
            for (size_t i = 0; i < o->ntok; i++)
                o->mask[i] = true;
        }
        dt_result r = written
                          ? DT_FAIL
                          : Ccai_ofl_parse_spoken_date(o, base, o->st.pending_days, corr, db, &day);
        if (r == DT_FULL) {
            char *norm = NULL;
            if (valid(o, CCAI_FIELD_DATETIME, db, &norm))
                put(o, fd, fdt, norm);
        } else if (r == DT_DATE) {
            int64_t y;
            int m, d;
            Ccai_civil_from_days(day, &y, &m, &d);
            if (y >= 1900 && y <= 2200) {
                fd->date_only = true;
                fd->day = day;
                put(o, fd, fdt, Ccai_asprintf("%04d-%02d-%02d", (int)y, m, d));
            }
        }
        if ((fd->v[fdt] || r != DT_FAIL) && !written) {
            /* a date that does not exist is no place or description either */
            for (size_t i = 0; i < o->ntok; i++)
                o->mask[i] = o->mask[i] || o->used[i];
        }
    }
    /* "my e-mail is", "mon numéro c'est": the cue of a value found goes
     * with it, it is no free text */
    for (size_t f = 0; f < o->nfields; f++) {
        size_t pos = 0, len;
        char sec[CCAI_OFL_SECTION_MAX];
        if (!fd->v[f] || (size_t)snprintf(sec, sizeof sec, "cue.%s", o->f[f].name) >= sizeof sec)
            continue;
        while (sec_find(o, sec, pos, o->ntok, &pos, &len)) {
            for (size_t k = pos; k < pos + len; k++)
                o->mask[k] = true;
            pos += len;
        }
    }
    /* "C'était le 4... non, pardon, le 5": what the correction replaced
     * is no free text either */
    bool typed = false;
    for (size_t f = 0; f < o->nfields; f++)
        typed = typed || (fd->v[f] && o->f[f].type != CCAI_FIELD_TEXT);
    for (size_t s = 0; s < ns && typed && corr > 0; s++) {
        if (sv[s].b < corr && corr <= sv[s].e) {
            for (size_t k = sv[s].b; k < corr; k++)
                o->mask[k] = true;
        } else if (sv[s].e < corr && s + 1 < ns && sv[s + 1].b < corr && corr <= sv[s + 1].e &&
                   content_left(o, sv[s + 1].b, corr) == 0) {
            /* "It was the 4th. No, sorry, the 5th." */
            for (size_t k = sv[s].b; k < sv[s].e; k++)
                o->mask[k] = true;
        }
    }
    /* free text */
    size_t asked_text[OFL_GROUP_MAX];
    size_t nat = 0;
    for (size_t k = 0; k < o->st.ngroup; k++) {
        size_t f = o->st.group[k];
        if (f < o->nfields && o->f[f].type == CCAI_FIELD_TEXT && !name_field(o, f) &&
            !code_field(o, f) && !fd->v[f])
            asked_text[nat++] = f;
    }
    extract_text(o, fd, asked, sv, ns, asked_text, nat);
}

/* ------------------------------------------------------------------------ */
/* The turn                                                                 */
/* ------------------------------------------------------------------------ */

/* How a value is read back: "j dot haas at hotmail dot com", digits one by
 * one, a code letter by letter. */
static char *readback(Ccai_offline *o, size_t f)
{
    const char *v = o->values[f];
    if (o->f[f].type == CCAI_FIELD_DATETIME || o->f[f].type == CCAI_FIELD_PHONE_NUMBER)
        return Ccai_ofl_spoken_value(o, f);
    Ccai_buf b = {0};
    bool ok = true;
    const char *names[4];
    for (unsigned k = 0; k < 4; k++)
        names[k] = Ccai_ofl_lex_phrase(o, "sym.say", k);
    for (const char *p = v; *p && ok; p++) {
        int sym = *p == '.' ? 0 : *p == '@' ? 1 : *p == '-' ? 2 : *p == '_' ? 3 : -1;
        if (sym >= 0) {
            ok = Ccai_buf_printf(&b, " %s ", names[sym] ? names[sym] : "");
        } else if (o->f[f].type == CCAI_FIELD_TEXT) {
            ok = (b.len == 0 || b.data[b.len - 1] == ' ' || Ccai_buf_puts(&b, " ")) &&
                 Ccai_buf_append(&b, p, 1);
        } else {
            ok = Ccai_buf_append(&b, p, 1);
        }
    }
    char *out = ok ? Ccai_buf_steal(&b) : NULL;
    Ccai_buf_free(&b);
    if (!out) {
        o->oom = true;
        return NULL;
    }
    /* squeeze spaces */
    size_t w = 0;
    for (size_t r = 0; out[r]; r++) {
        if (out[r] == ' ' && (w == 0 || out[w - 1] == ' '))
            continue;
        out[w++] = out[r];
    }
    while (w > 0 && out[w - 1] == ' ')
        w--;
    out[w] = '\0';
    return out;
}

/* Store a value found (validated, with the caller's offset for a date). */
static CCAI_MUST_CHECK bool store(Ccai_offline *o, size_t f, const char *value)
{
    char *norm = NULL;
    ccai_status st = ccai_field_validate(o->f[f].type, value, &norm, NULL);
    if (st == CCAI_ERR_NOMEM)
        o->oom = true;
    if (st != CCAI_OK)
        return false;
    char iso[CCAI_TZ_ISO_MAX];
    if (o->tz && o->f[f].type == CCAI_FIELD_DATETIME &&
        Ccai_tz_localize_iso(o->tz, norm, iso, sizeof iso, NULL) == CCAI_OK &&
        strcmp(iso, norm) != 0) {
        char *w = Ccai_strdup(iso);
        ccai_free(norm);
        if (!w) {
            o->oom = true;
            return false;
        }
        norm = w;
    }
    if (o->values[f] && strcmp(o->values[f], norm) == 0) {
        ccai_free(norm);
        return false;
    }
    Ccai_ofl_set_value(o, f, norm);
    Ccai_ofl_act(o, CCAI_OFFLINE_SET_FIELD, o->f[f].name, norm);
    o->st.tries[f] = 0;
    o->st.skip[f] = SKIP_NONE;
    o->st.last_set = f;
    return true;
}

/* A date given a time already noted keeps that time ("it was Tuesday, not
 * Monday" after "Monday at 8 pm"). */
static char *with_old_time(const Ccai_offline *o, size_t f, const char *date)
{
    const char *old = o->values[f];
    if (!old || strlen(old) < 16 || old[10] != 'T')
        return NULL;
    return Ccai_asprintf("%.10s %.5s", date, old + 11);
}

/* Is an entry of the section said anywhere, a question's words (masked
 * from the answer) included? */
static CCAI_MUST_CHECK bool said_anywhere(const Ccai_offline *o, const char *section)
{
    for (size_t i = 0; i < o->ntok; i++) {
        if (sec_at(o, section, i, o->ntok))
            return true;
    }
    return false;
}

/* The field a question is about ("what's my policy number?", "did you
 * get my e-mail?"): the words of its section "about.<field>". */
static size_t question_field(const Ccai_offline *o)
{
    size_t best = o->nfields, best_len = 0;
    for (size_t f = 0; f < o->nfields; f++) {
        char sec[CCAI_OFL_SECTION_MAX];
        if ((size_t)snprintf(sec, sizeof sec, "about.%s", o->f[f].name) >= sizeof sec)
            continue;
        for (size_t i = 0; i < o->ntok; i++) {
            size_t len = sec_at(o, sec, i, o->ntok);
            if (len > best_len)
                best = f, best_len = len; /* "mon numéro de contrat", not "mon numéro" */
        }
    }
    return best;
}

/* "Is it going to take long?": how many questions are left. */
static void answer_remaining(Ccai_offline *o)
{
    bool open[CCAI_FIELDS_MAX] = {false};
    size_t left = 0;
    for (size_t f = 0; f < o->nfields; f++) {
        open[f] = !o->values[f] && o->st.skip[f] != SKIP_FINAL;
        bool paired = false; /* asked with an earlier one ("when and where?") */
        for (size_t g = 0; g < f && open[f] && !paired; g++) {
            char sec[2 * CCAI_FIELD_NAME_MAX + 8];
            for (int w = 0; w < 2 && !paired && open[g]; w++) {
                snprintf(sec, sizeof sec, "ask.%s+%s", o->f[w ? f : g].name, o->f[w ? g : f].name);
                paired = strlen(sec) < CCAI_OFL_SECTION_MAX && Ccai_ofl_lex_phrase(o, sec, 0);
            }
        }
        left += open[f] && !paired;
    }
    /* the question being asked is one of them */
    if (left <= 1) {
        Ccai_ofl_say_phrase(o, left ? "say.answer_remaining_one" : "say.answer_remaining_none", 0,
                            NULL);
        return;
    }
    char n[24];
    snprintf(n, sizeof n, "%zu", left);
    Ccai_ofl_say_phrase(o, "say.answer_remaining", 0, n);
}

/* A question from the caller: answered from what the dialogue knows (who
 * it is, how many questions are left, what was noted), else a colleague
 * will follow up. The question waiting is asked again after. */
static void answer_question(Ccai_offline *o)
{
    if (sec_has(o, "question.about_field", 0, o->ntok) && o->st.phase == PH_ASK &&
        o->st.cur < o->nfields) {
        char *label = Ccai_ofl_label_str(o, o->st.cur, false);
        if (label) {
            Ccai_ofl_say_phrase(o, "say.question_field", 0, label);
        }
        ccai_free(label);
        return;
    }
    if (said_anywhere(o, "question.who")) {
        const char *n = o->bot_name, *c = o->bot_company;
        if (n && *n && c && *c)
            Ccai_ofl_say_phrase2(o, "say.answer_who", n, c);
        else if ((n && *n) || (c && *c))
            Ccai_ofl_say_phrase2(o, "say.answer_who_one", n && *n ? n : c, NULL);
        else
            Ccai_ofl_say_phrase2(o, "say.answer_who_anon", NULL, NULL);
        return;
    }
    if (said_anywhere(o, "question.remaining")) {
        answer_remaining(o);
        return;
    }
    if (said_anywhere(o, "question.so_far")) {
        if (Ccai_ofl_anything_noted(o))
            Ccai_ofl_say_summary(o, M_SO_FAR, false);
        else
            Ccai_ofl_say_msg(o, M_NOTHING_YET);
        return;
    }
    if (said_anywhere(o, "question.why")) {
        Ccai_ofl_say_phrase(o, "say.answer_why", 0, NULL);
        return;
    }
    size_t f = question_field(o);
    if (f < o->nfields) {
        if (!o->values[f]) {
            Ccai_ofl_say_phrase(o, "say.answer_not_yet", 0, NULL);
            return;
        }
        const char *sec = o->f[f].type == CCAI_FIELD_EMAIL          ? "say.ack_email"
                          : o->f[f].type == CCAI_FIELD_PHONE_NUMBER ? "say.ack_phone"
                          : o->f[f].type == CCAI_FIELD_DATETIME     ? "say.ack_date"
                          : code_field(o, f)                        ? "say.ack_policy"
                                                                    : "say.question_claim";
        char *rb = o->f[f].type == CCAI_FIELD_TEXT && !code_field(o, f)
                       ? Ccai_ofl_spoken_value(o, f)
                       : readback(o, f);
        if (rb)
            Ccai_ofl_say_phrase(o, sec, 0, rb);
        ccai_free(rb);
        return;
    }
    Ccai_ofl_say_phrase(o, "say.question_later", 0, NULL);
}

size_t Ccai_ofl_attempted_field(const Ccai_offline *o)
{
    for (size_t k = 0; k < o->st.ngroup && o->st.ngroup > 1; k++) {
        size_t f = o->st.group[k];
        if (f < o->nfields && o->f[f].type == CCAI_FIELD_EMAIL && !o->values[f] &&
            (sec_has(o, "sym.at", 0, o->ntok) || sec_has(o, "sym.dot", 0, o->ntok) ||
             strchr(o->raw, '@')))
            return f;
    }
    return o->st.cur;
}

void Ccai_ofl_say_ack(Ccai_offline *o)
{
    Ccai_ofl_say_phrase(o, "say.ack", o->st.acks++, NULL);
}

/* Does [b, e) ask for a person (a person word, with a request verb or
 * alone)? *ret_from: where the clause that asks starts ("Se me inundó la
 * cocina, quiero hablar con una persona": at "quiero"). */
static CCAI_MUST_CHECK bool person_clause(const Ccai_offline *o, size_t b, size_t e,
                                          size_t *ret_from)
{
    size_t pp, lp, pv, lv;
    if (!sec_find(o, "transfer.person", b, e, &pp, &lp))
        return false;
    bool verb = sec_find(o, "transfer.verb", b, e, &pv, &lv);
    if (!verb && content_left(o, b, e) > 3)
        return false;
    size_t k = verb && pv < pp ? pv : pp;
    while (k > b && !Ccai_ofl_clause_break(o, k))
        k--;
    *ret_from = k;
    return true;
}

void Ccai_ofl_handle_answer(Ccai_offline *o)
{
    bool asked[CCAI_FIELDS_MAX] = {false};
    for (size_t k = 0; k < o->st.ngroup; k++)
        if (o->st.group[k] < o->nfields)
            asked[o->st.group[k]] = true;
    if (o->st.phase == PH_ASK && o->st.cur < o->nfields)
        asked[o->st.cur] = true;

    memset(o->mask, 0, o->ntok * sizeof o->mask[0]);
    bool correcting;
    size_t corr = correction_point(o, &correcting);
    sentence sv[64];
    size_t ns = 0;
    bool question = false;
    for (size_t b = 0; b < o->ntok && ns < CCAI_ARRAY_SIZE(sv);) {
        size_t e = sentence_end(o, b);
        sv[ns] = (sentence){b, e, is_question(o, b, e), false};
        if (!sv[ns].question && ns == 0 && e == o->ntok && sec_at(o, "question.start", b, e) &&
            !sec_has(o, "dontknow", b, e) && o->ntok > 3 &&
            (Ccai_ofl_tok_is(o, b, "est") || Ccai_ofl_tok_is(o, b, "does") ||
             Ccai_ofl_tok_is(o, b, "will") || Ccai_ofl_tok_is(o, b, "how") ||
             Ccai_ofl_tok_is(o, b, "why") || Ccai_ofl_tok_is(o, b, "combien") ||
             Ccai_ofl_tok_is(o, b, "pourquoi") || Ccai_ofl_tok_is(o, b, "cubre") ||
             Ccai_ofl_tok_is(o, b, "cuanto")))
            sv[ns].question = true;
        /* the words that ask for a person are no answer: their clause on */
        size_t from;
        if (o->to_person && !sv[ns].question && person_clause(o, b, e, &from)) {
            for (size_t i = from; i < e; i++)
                o->mask[i] = true;
            if (from == b)
                sv[ns].question = true;
        }
        if (sv[ns].question) {
            question = true;
            for (size_t i = b; i < e; i++)
                o->mask[i] = true;
        }
        ns++;
        b = e;
    }
    /* "I don't know", "I'd rather not say": no value from those words. */
    bool dontknow = false, refuse = false;
    size_t dk_pos, dk_len;
    if (sec_find(o, "refuse", 0, o->ntok, &dk_pos, &dk_len))
        refuse = true;
    else if (sec_find(o, "dontknow", 0, o->ntok, &dk_pos, &dk_len) &&
             content_left(o, 0, o->ntok) <= dk_len + 3 && !sec_has(o, "wh", dk_pos, o->ntok))
        dontknow = true;
    if (dontknow || refuse) {
        for (size_t s = 0; s < ns; s++)
            if (dk_pos >= sv[s].b && dk_pos < sv[s].e)
                for (size_t i = sv[s].b; i < sv[s].e; i++)
                    o->mask[i] = true;
    }

    found fd;
    memset(&fd, 0, sizeof fd);
    extract_all(o, &fd, asked, corr, sv, ns);

    size_t nset = 0, ncorrected = 0, nknown = 0;
    bool typed_set[CCAI_FIELDS_MAX] = {false};
    size_t fdt = o->nfields;
    for (size_t f = 0; f < o->nfields && !o->oom; f++) {
        if (!fd.v[f])
            continue;
        nknown++;
        bool had = o->values[f] != NULL;
        /* A value noted changes on a correction, or when asked again; an
         * other e-mail address said is one (nobody gives two). */
        if (had && !asked[f] && !correcting && o->f[f].type != CCAI_FIELD_EMAIL)
            continue;
        if (o->f[f].type == CCAI_FIELD_DATETIME && fd.date_only) {
            char *t = had && correcting ? with_old_time(o, f, fd.v[f]) : NULL;
            if (!t && had && correcting && o->values[f] && strlen(o->values[f]) >= 16 &&
                o->values[f][10] == 'T') {
                o->oom = true; /* with_old_time() could not allocate */
                break;
            }
            if (t) {
                if (store(o, f, t))
                    nset++, ncorrected++, typed_set[f] = true;
                ccai_free(t);
                continue;
            }
            o->st.pending_date = true;
            o->st.pending_days = fd.day;
            fdt = f;
            nset++;
            continue;
        }
        if (store(o, f, fd.v[f])) {
            nset++;
            ncorrected += had;
            typed_set[f] = o->f[f].type != CCAI_FIELD_TEXT || code_field(o, f);
            if (o->f[f].type == CCAI_FIELD_DATETIME)
                o->st.pending_date = false;
        }
    }
    for (size_t f = 0; f < o->nfields; f++)
        ccai_free(fd.v[f]);
    if (o->oom)
        return;

    if (nset == 0) {
        size_t cur = o->st.cur;
        if (question) {
            answer_question(o);
            o->missed = true;
            if (++o->st.stuck >= CCAI_OFFLINE_STUCK && Ccai_ofl_missed(o))
                return;
            Ccai_ofl_ask_current(o, false);
            return;
        }
        if (dontknow || refuse) {
            if (o->st.pending_date) {
                Ccai_ofl_skip_or_date(o);
                return;
            }
            Ccai_ofl_say_phrase(o, dontknow ? "say.dontknow" : "say.refused", 0, NULL);
            for (size_t k = 0; k < o->st.ngroup; k++) {
                size_t f = o->st.group[k];
                if (f < o->nfields && !o->values[f])
                    o->st.skip[f] =
                        refuse || o->st.second_pass || o->st.editing ? SKIP_FINAL : SKIP_ONCE;
            }
            if (cur < o->nfields && !o->values[cur] && o->st.skip[cur] == SKIP_NONE)
                o->st.skip[cur] = SKIP_ONCE;
            Ccai_ofl_advance(o);
            return;
        }
        if (nknown > 0 && content_left(o, 0, o->ntok) == 0) {
            /* Only what was noted already ("my e-mail is" again): no value
             * for the question asked, and no echo of it. */
            Ccai_ofl_say_phrase(o, "say.already", 0, NULL);
            o->missed = true;
            if (++o->st.stuck >= CCAI_OFFLINE_STUCK && Ccai_ofl_missed(o))
                return;
            Ccai_ofl_ask_current(o, false);
            return;
        }
        Ccai_ofl_reject_current(o);
        return;
    }

    /* "This number. I'd rather not give my email." to a question about
     * both: the one refused is not asked again, the one not known once. */
    for (size_t k = 0; (dontknow || refuse) && k < o->st.ngroup; k++) {
        size_t f = o->st.group[k];
        if (f < o->nfields && !o->values[f] && !(o->st.pending_date && f == fdt))
            o->st.skip[f] = refuse || o->st.second_pass || o->st.editing ? SKIP_FINAL : SKIP_ONCE;
    }

    /* What was noted: an acknowledgement that varies, a read-back of what
     * must be heard right. */
    if (ncorrected)
        Ccai_ofl_say_phrase(o, "say.ack_correction", 0, NULL);
    else
        Ccai_ofl_say_phrase(o, "say.ack", o->st.acks++, NULL);
    for (size_t f = 0; f < o->nfields && !o->oom; f++) {
        if (!typed_set[f] || !o->values[f])
            continue;
        const char *sec = o->f[f].type == CCAI_FIELD_EMAIL             ? "say.ack_email"
                          : o->f[f].type == CCAI_FIELD_PHONE_NUMBER    ? "say.ack_phone"
                          : o->f[f].type == CCAI_FIELD_DATETIME        ? "say.ack_date"
                          : strcmp(o->f[f].name, "policy_number") == 0 ? "say.ack_policy"
                                                                       : "say.ack_code";
        char *rb = readback(o, f);
        if (rb)
            Ccai_ofl_say_phrase(o, sec, 0, rb);
        ccai_free(rb);
    }
    if (question)
        answer_question(o);
    if (fdt < o->nfields && o->st.pending_date) {
        o->st.phase = PH_ASK;
        o->st.cur = fdt;
        o->st.ngroup = 0;
        Ccai_ofl_ask_question(o, fdt, false);
        return;
    }
    Ccai_ofl_advance(o);
}

/* In the confirmation: values said ("no, the e-mail is ...") replace what
 * was noted; *ret_any tells whether one did. */
void Ccai_ofl_handle_confirm_values(Ccai_offline *o, bool *ret_any)
{
    bool asked[CCAI_FIELDS_MAX] = {false};
    *ret_any = false;
    memset(o->mask, 0, o->ntok * sizeof o->mask[0]);
    bool correcting;
    size_t corr = correction_point(o, &correcting);
    size_t saved = o->st.ngroup;
    o->st.ngroup = 0;
    found fd;
    memset(&fd, 0, sizeof fd);
    sentence sv[1] = {{0, 0, true, true}};
    extract_all(o, &fd, asked, corr, sv, 0);
    o->st.ngroup = saved;
    for (size_t f = 0; f < o->nfields && !o->oom; f++) {
        /* typed values, codes and names said with their cue ("the policy
         * number is ...", "my name is ..."); not free text */
        bool typed = o->f[f].type != CCAI_FIELD_TEXT || code_field(o, f) || name_field(o, f);
        if (fd.v[f] && !fd.date_only && typed && store(o, f, fd.v[f]))
            *ret_any = true;
        ccai_free(fd.v[f]);
    }
}

CCAI_MUST_CHECK bool Ccai_ofl_asks_person(const Ccai_offline *o)
{
    size_t pv, lv, pp, lp;
    bool *m = o->mask;
    if (!m)
        return false;
    memset(m, 0, o->ntok * sizeof m[0]);
    if (sec_find(o, "transfer.person", 0, o->ntok, &pp, &lp)) {
        /* "can I speak to someone?", "is there someone I can speak to?" */
        if (sec_find(o, "transfer.verb", 0, o->ntok, &pv, &lv) && (pv < pp || pv < pp + lp + 4))
            return true;
        /* "an agent, please", not "a human was hurt" */
        size_t k = pp + lp;
        while (k < o->ntok && (sec_at(o, "polite", k, k + 1) == 1 || hesitation(o, k)))
            k++;
        if (pp == 0 && k == o->ntok)
            return true;
    }
    for (size_t i = 0; i < o->ntok; i++) {
        size_t n = sec_at(o, "transfer.alone", i, o->ntok);
        if (!n || !(i == 0 || Ccai_ofl_tok_is(o, i - 1, "a") || Ccai_ofl_tok_is(o, i - 1, "an") ||
                    Ccai_ofl_tok_is(o, i - 1, "un")))
            continue;
        size_t k = i + n;
        while (k < o->ntok && (sec_at(o, "polite", k, k + 1) == 1 || hesitation(o, k)))
            k++;
        if (k == o->ntok && o->ntok <= n + 3)
            return true;
    }
    return false;
}

CCAI_MUST_CHECK bool Ccai_ofl_says_slower(const Ccai_offline *o)
{
    return o->ntok <= 8 && o->mask && sec_has(o, "slower", 0, o->ntok);
}
