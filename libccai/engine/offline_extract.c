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
#include "engine/offline_extract.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Matching the data files' phrases                                         */
/* ------------------------------------------------------------------------ */

/* Tokens of phrase @p norm at token i (before e): their count, 0. */
static size_t match_at(const Ccai_offline *o, size_t i, size_t e, const char *norm)
{
    size_t n = 0;
    for (const char *p = norm; *p; n++) {
        if (i + n >= e)
            return 0;
        size_t len = o->tok[i + n].len;
        /* the token's letters, then the phrase's word ends */
        if (strncmp(p, o->norm + o->tok[i + n].start, len) != 0 || (p[len] != ' ' && p[len]))
            return 0;
        p += len + (p[len] ? 1 : 0);
    }
    return n;
}

/* The section in each language (NULL where it has none): looked up once
 * for all the tokens a search tries. */
typedef Ccai_ofl_sec_lists sec_lists;

static void sec_lists_get(const Ccai_offline *o, const char *section, sec_lists *L)
{
    Ccai_ofl_lex_sections(o->lex, section, L->s);
}

/* The longest entry of the lists starting at token i (before e): of
 * those starting with the token's first letter. */
static size_t sec_lists_at(const Ccai_offline *o, const sec_lists *L, size_t i, size_t e)
{
    size_t best = 0;
    if (i >= e)
        return 0;
    const Ccai_ofl_lexicon *lx = o->lex;
    const char *w = o->norm + o->tok[i].start;
    size_t wl = o->tok[i].len;
    unsigned b = Ccai_ofl_bucket((unsigned char)w[0]);
    for (int l = 0; l < lx->nlang; l++) {
        const Ccai_ofl_section *s = L->s[l];
        for (size_t k = s ? s->first + s->at[b] : 0; s && k < s->first + s->at[b + 1]; k++) {
            /* an entry matches with all its tokens, the first one the
             * token's: the others are not compared */
            const Ccai_ofl_entry *en = &lx->ent[lx->byfirst[k]];
            if (en->flen != wl || en->ntok <= best || en->ntok > e - i ||
                memcmp(en->norm, w, wl) != 0)
                continue;
            size_t m = match_at(o, i, e, en->norm);
            if (m > best)
                best = m;
        }
    }
    return best;
}

void Ccai_ofl_sec_lists_get(const Ccai_offline *o, const char *section, Ccai_ofl_sec_lists *L)
{
    sec_lists_get(o, section, L);
}

size_t Ccai_ofl_sec_lists_at(const Ccai_offline *o, const Ccai_ofl_sec_lists *L, size_t i, size_t e)
{
    return sec_lists_at(o, L, i, e);
}

/* The longest entry of @p section (any language) starting at token i. */
size_t Ccai_ofl_sec_at(const Ccai_offline *o, const char *section, size_t i, size_t e)
{
    sec_lists L;
    sec_lists_get(o, section, &L);
    return sec_lists_at(o, &L, i, e);
}

/* The longest entry of @p section in the dialogue's language alone
 * starting at token i: a word that opens a question in another language
 * ("que" in French "que moi", Spanish "qué") opens none here. */
size_t Ccai_ofl_sec_at_own(const Ccai_offline *o, const char *section, size_t i, size_t e)
{
    sec_lists L;
    sec_lists_get(o, section, &L);
    for (int l = 0; l < o->lex->nlang && l < CCAI_OFL_LANGS_MAX; l++)
        if (l != o->st.lang)
            L.s[l] = NULL;
    return sec_lists_at(o, &L, i, e);
}

/* The value of the longest entry of @p section (any language) said at
 * token i, for sections whose entries end with their value ("seventy 70",
 * "quatre vingt 80", "monday 1"); -1 when none is, *ret_n its words. */
int Ccai_ofl_sec_value(const Ccai_offline *o, ofl_valued which, size_t i, size_t *ret_n)
{
    size_t best = 0;
    int value = -1;
    /* words only: digits are read as digits */
    if (i >= o->ntok || o->norm[o->tok[i].start] < 'a' || o->norm[o->tok[i].start] > 'z') {
        *ret_n = 0;
        return -1;
    }
    const Ccai_ofl_lexicon *lx = o->lex;
    unsigned char c = (unsigned char)o->norm[o->tok[i].start];
    CCAI_OFL_FOR_ENTRIES (lx, l, Ccai_ofl_valued_sec(lx, l, which), c, norm) {
        const char *sp = strrchr(norm, ' ');
        if (!sp)
            continue;
        size_t m = 0;
        bool all = true;
        for (const char *p = norm; p < sp && all;) {
            const char *q = memchr(p, ' ', (size_t)(sp - p));
            size_t wl = q ? (size_t)(q - p) : (size_t)(sp - p);
            all = i + m < o->ntok && o->tok[i + m].len == wl &&
                  memcmp(o->norm + o->tok[i + m].start, p, wl) == 0;
            m++;
            p += wl + 1;
        }
        if (!all || m <= best)
            continue;
        int v = 0;
        const char *d = sp + 1;
        for (; *d >= '0' && *d <= '9' && v < 100000; d++)
            v = v * 10 + (*d - '0');
        if (*d || d == sp + 1)
            continue; /* no value: not an entry of this kind */
        best = m;
        value = v;
    }
    *ret_n = best;
    return value;
}

/* The first entry of @p section in [b, e) not in the mask. */
CCAI_MUST_CHECK bool Ccai_ofl_sec_find(const Ccai_offline *o, const char *section, size_t b,
                                       size_t e, size_t *pos, size_t *len)
{
    sec_lists L;
    sec_lists_get(o, section, &L);
    for (size_t i = b; i < e; i++) {
        if (o->mask[i])
            continue;
        size_t m = sec_lists_at(o, &L, i, e);
        if (m) {
            *pos = i;
            *len = m;
            return true;
        }
    }
    return false;
}

CCAI_MUST_CHECK bool Ccai_ofl_sec_has(const Ccai_offline *o, const char *section, size_t b,
                                      size_t e)
{
    size_t p, l;
    return Ccai_ofl_sec_find(o, section, b, e, &p, &l);
}

CCAI_MUST_CHECK bool Ccai_ofl_field_sec_has(const Ccai_offline *o, const char *kind, size_t f,
                                            size_t b, size_t e, size_t *pos)
{
    char name[CCAI_OFL_SECTION_MAX];
    size_t len;
    if (Ccai_strjoin(name, sizeof name, kind, ".", o->f[f].name, NULL) >= sizeof name)
        return false;
    if (Ccai_ofl_sec_find(o, name, b, e, pos, &len))
        return true;
    /* "se rompió la pierna", not "se rompió la tubería": the words of
     * [<kind>.<field>.body] are the field's only with a [body] word at
     * most three words after them */
    if (Ccai_strjoin(name, sizeof name, kind, ".", o->f[f].name, ".body", NULL) >= sizeof name)
        return false;
    for (size_t from = b; Ccai_ofl_sec_find(o, name, from, e, pos, &len); from = *pos + 1) {
        for (size_t k = *pos + len; k < e && k < *pos + len + 3; k++)
            if (Ccai_ofl_sec_at(o, "body", k, e))
                return true;
    }
    return false;
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
static long order_lookup(const Ccai_offline *o, size_t i)
{
    const Ccai_ofl_entry *ent;
    size_t n = Ccai_ofl_lex_get(o->lex, o->lex->en, "order", &ent);
    for (size_t k = 0; k < n; k++) {
        if (strcmp(ent[k].text, o->f[i].name) == 0)
            return (long)k;
    }
    return -1;
}

static long order_of(const Ccai_offline *o, size_t i)
{
    return o->f[i].order;
}

void Ccai_ofl_order_init(Ccai_offline *o)
{
    o->own_order = false;
    for (size_t j = 0; j < o->nfields; j++) {
        o->f[j].order = order_lookup(o, j);
        if (o->f[j].order < 0)
            o->own_order = true;
    }
}

/* The order questions are asked in: the data files' [order] for a schema
 * made of its fields (the default one: what happened first); the schema's
 * own order for a schema with fields of its own (its author's form). */
bool Ccai_ofl_own_order(const Ccai_offline *o)
{
    return o->own_order;
}

size_t Ccai_ofl_field_rank(const Ccai_offline *o, size_t i)
{
    return Ccai_ofl_own_order(o) ? i : (size_t)order_of(o, i);
}

/* ------------------------------------------------------------------------ */
/* Sentences                                                                */
/* ------------------------------------------------------------------------ */

CCAI_MUST_CHECK bool Ccai_ofl_sentence_break(const Ccai_offline *o, size_t i)
{
    if (i == 0 || i >= o->ntok)
        return true;
    for (size_t k = o->tok[i - 1].raw; k < o->tok[i].raw; k++) {
        unsigned char ch = (unsigned char)o->raw[k];
        if (ch == '!' || ch == '?' || ch == ';' || ch == ':' || ch == 0xBF /* ¿ */ ||
            (ch == 0xE2 && (unsigned char)o->raw[k + 1] == 0x80 &&
             (unsigned char)o->raw[k + 2] == 0xA6) /* … */
            || (ch == '.' &&
                !(k > 0 && Ccai_ofl_is_digit_ch(o->raw[k - 1]) &&
                  Ccai_ofl_is_digit_ch(o->raw[k + 1])) &&
                !Ccai_ofl_abbrev_dot(o, i)))
            return true;
    }
    return false;
}

size_t Ccai_ofl_sentence_end(const Ccai_offline *o, size_t b)
{
    size_t e = b + 1;
    while (e < o->ntok && !Ccai_ofl_sentence_break(o, e))
        e++;
    return e;
}

/* Does the sentence [b, e) ask something ("?", "¿", "est-ce que")? */
CCAI_MUST_CHECK bool Ccai_ofl_is_question(const Ccai_offline *o, size_t b, size_t e)
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

CCAI_MUST_CHECK bool Ccai_ofl_hesitation(const Ccai_offline *o, size_t i)
{
    return Ccai_ofl_sec_at(o, "hesitation", i, i + 1) == 1 || Ccai_ofl_tok_is(o, i, "oh") ||
           Ccai_ofl_tok_is(o, i, "ah") || Ccai_ofl_tok_is(o, i, "hmm");
}

/* Starts with a no ("No, nobody was hurt", "nope", "non rien", "nadie") and
 * goes on with no "but". */
static CCAI_MUST_CHECK bool negative_answer(const Ccai_offline *o, size_t b, size_t e)
{
    /* "And no, no injuries": after a [clause.join] word; "Obviously not",
     * "Ben d'abord personne", "Entonces nadie": after a word that only
     * frames the answer ([negation.adverb]) */
    for (;;) {
        if (b < e &&
            (Ccai_ofl_hesitation(o, b) || Ccai_ofl_sec_at(o, "clause.join", b, b + 1) == 1)) {
            b++;
            continue;
        }
        size_t m = b < e ? Ccai_ofl_sec_at(o, "negation.adverb", b, e) : 0;
        if (!m || b + m >= e ||
            !(Ccai_ofl_sec_at(o, "negation", b + m, e) ||
              Ccai_ofl_sec_at(o, "negation.adverb", b + m, e) || Ccai_ofl_hesitation(o, b + m)))
            break; /* "then my neighbour saw it": no no after it */
        b += m;
    }
    /* "No lo sé, había mucha gente" does not know, it says no "no"; "je
     * n'ai pas vu de médecin" is a longer no ([negation.lead]) than the
     * don't-know "je n'ai pas" */
    size_t dk = b < e ? Ccai_ofl_sec_at(o, "dontknow", b, e) : 0;
    if (dk && Ccai_ofl_sec_at(o, "negation.lead", b, e) <= dk)
        return false;
    /* "No no, I wasn't even there": a "no no" taken as a correction is a no */
    size_t nos = b;
    while (nos < e && o->mask[nos] && Ccai_ofl_sec_at(o, "negation", nos, nos + 1) == 1)
        nos++;
    if (nos > b && (nos == e || !o->mask[nos]))
        return !Ccai_ofl_sec_has(o, "contrast", nos, e);
    while (b < e && (Ccai_ofl_hesitation(o, b) || o->mask[b]))
        b++;
    /* "I don't think anyone saw it", "je ne crois pas" */
    size_t lead = b < e ? Ccai_ofl_sec_at(o, "negation.lead", b, e) : 0;
    if (lead)
        return !Ccai_ofl_sec_has(o, "contrast", b, e);
    if (b >= e || !Ccai_ofl_sec_at(o, "negation", b, e))
        return false;
    if (Ccai_ofl_sec_has(o, "contrast", b, e))
        return false;
    /* "not yet, I'm seeing my doctor" keeps its words */
    return !(Ccai_ofl_tok_is(o, b + 1, "yet") || Ccai_ofl_tok_is(o, b + 1, "encore") ||
             Ccai_ofl_tok_is(o, b + 1, "todavia") || Ccai_ofl_tok_is(o, b, "pas"));
}

/* Is the word at i negated ("nobody was hurt", "personne n'a été blessé")? */
CCAI_MUST_CHECK bool Ccai_ofl_negated_at(const Ccai_offline *o, size_t b, size_t i)
{
    for (size_t k = i; k > b && i - k < 4; k--) {
        if (Ccai_ofl_sec_at(o, "negation", k - 1, k) == 1)
            return true;
    }
    return false;
}

CCAI_MUST_CHECK bool Ccai_ofl_filler(const Ccai_offline *o, size_t i)
{
    return Ccai_ofl_sec_at(o, "filler", i, i + 1) == 1;
}

/* Token i is taken by an extractor, or a filler word before one ("at" in
 * "at 3 pm"): no part of a free-text value at its edges. */
static CCAI_MUST_CHECK bool taken_edge(const Ccai_offline *o, size_t i, size_t e)
{
    if (o->mask[i])
        return true;
    size_t k = i;
    while (k < e && Ccai_ofl_filler(o, k) && !o->mask[k])
        k++;
    return k > i && k < e && o->mask[k];
}

/* The raw text of tokens [b, e), without hesitations and fillers at its
 * start and its final punctuation. */
char *Ccai_ofl_raw_span(Ccai_offline *o, size_t b, size_t e)
{
    /* "Yesterday at 3 pm, at the supermarket": the date is not the place. */
    while (b < e && taken_edge(o, b, e))
        b++;
    size_t e0 = e;
    while (e > b && o->mask[e - 1])
        e--;
    /* "... on Market Street this afternoon at quarter past one" */
    bool cut = e < e0 || (e < o->ntok && o->mask[e] && !Ccai_ofl_clause_break(o, e));
    while (cut && e > b && (o->mask[e - 1] || Ccai_ofl_filler(o, e - 1)))
        e--;
    while (b < e && (Ccai_ofl_hesitation(o, b) || Ccai_ofl_sec_at(o, "correction", b, e) > 0 ||
                     Ccai_ofl_sec_at(o, "contrast", b, b + 1) == 1 ||
                     Ccai_ofl_tok_is(o, b, "and") || Ccai_ofl_tok_is(o, b, "et") ||
                     Ccai_ofl_tok_is(o, b, "y") || Ccai_ofl_tok_is(o, b, "ok") ||
                     Ccai_ofl_tok_is(o, b, "yeah") || Ccai_ofl_tok_is(o, b, "okay"))) {
        size_t m = Ccai_ofl_sec_at(o, "correction", b, e);
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

CCAI_MUST_CHECK bool Ccai_ofl_name_field(const Ccai_offline *o, size_t i)
{
    return o->f[i].type == CCAI_FIELD_TEXT && strstr(o->f[i].name, "name") != NULL;
}

CCAI_MUST_CHECK bool Ccai_ofl_code_field(const Ccai_offline *o, size_t i)
{
    const char *n = o->f[i].name;
    return o->f[i].type == CCAI_FIELD_TEXT && !Ccai_ofl_name_field(o, i) &&
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

void Ccai_ofl_put(Ccai_offline *o, found *fd, size_t f, char *v)
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

/* ---- free text ---- */

/* What is left of a sentence once its values were taken is a hedge and
 * nothing else ("I'm not sure, Saturday afternoon": "I'm not sure"). */
static CCAI_MUST_CHECK bool only_hedge(const Ccai_offline *o, size_t b, size_t e)
{
    size_t p, l;
    /* not "je n'ai pas consulté": a longer no ([negation.lead]) where the
     * don't-know "je n'ai pas" is said */
    return Ccai_ofl_sec_find(o, "dontknow", b, e, &p, &l) &&
           Ccai_ofl_content_left(o, b, e) <= l + 1 &&
           Ccai_ofl_sec_at(o, "negation.lead", p, e) <= l;
}

static char *none_value(Ccai_offline *o)
{
    return Ccai_strdup(Ccai_ofl_phrase(o, M_NONE_VALUE));
}

/* Content tokens of [b, e) left once the extractors took theirs (not
 * hesitations, not the words that say nothing alone: "at", "vers"). */
size_t Ccai_ofl_content_left(const Ccai_offline *o, size_t b, size_t e)
{
    size_t n = 0;
    for (size_t i = b; i < e; i++)
        n += !o->mask[i] && !Ccai_ofl_hesitation(o, i) && !Ccai_ofl_filler(o, i);
    return n;
}

/* The field a sentence given to asked field f is about: f when it has
 * f's words or no other field's; else the first unfilled, unasked free-text
 * field whose topic words it has. */
static size_t topic_owner(Ccai_offline *o, size_t f, const bool *asked, const found *fd, size_t b,
                          size_t e, bool correcting)
{
    size_t p;
    /* what happened may be told in any words */
    if (strcmp(o->f[f].name, "incident_description") == 0 ||
        Ccai_ofl_field_sec_has(o, "topic", f, b, e, &p) ||
        Ccai_ofl_field_sec_has(o, "cue", f, b, e, &p))
        return f;
    if (strcmp(o->f[f].name, "incident_location") == 0) {
        bool address;
        char *loc = Ccai_ofl_location_in(o, b, e, &address);
        bool got = loc != NULL;
        ccai_free(loc);
        if (got)
            return f;
    }
    /* a correction ("sorry, my mistake about the place, it was outside
     * the Co-op on Histon Road") may be about a field noted already */
    for (size_t g = 0; g < o->nfields; g++) {
        if (g == f || asked[g] || (o->values[g] && !correcting) || fd->v[g] ||
            o->f[g].type != CCAI_FIELD_TEXT)
            continue;
        if (Ccai_ofl_field_sec_has(o, "topic", g, b, e, &p))
            return g;
        if (correcting && o->values[g] && strcmp(o->f[g].name, "incident_location") == 0) {
            bool address;
            char *loc = Ccai_ofl_location_in(o, b, e, &address);
            bool named = false;
            for (const char *c = loc ? loc + 1 : NULL; c && *c && !named; c++)
                named = c[-1] == ' ' && *c >= 'A' && *c <= 'Z';
            ccai_free(loc);
            if (loc && (address || named))
                return g;
        }
    }
    return f;
}

/* Note a value read from the caller's words. Such a read gives none
 * (NULL) when nothing is left once its edges are trimmed ("No, wait."):
 * that is no failed allocation (those are in o->oom already). */
static void put_read(Ccai_offline *o, found *fd, size_t f, char *v)
{
    if (v || o->oom)
        Ccai_ofl_put(o, fd, f, v);
}

/* Did the utterance give a value for a field other than f, and not asked
 * ("No no, I wasn't there" to two questions answers the first, it
 * corrects nothing)? */
static CCAI_MUST_CHECK bool other_value(const Ccai_offline *o, const found *fd, size_t f,
                                        const bool *asked)
{
    for (size_t g = 0; g < o->nfields; g++)
        if (g != f && fd->v[g] && !asked[g])
            return true;
    return false;
}

/* Did the utterance give contact details: an e-mail, a phone number, a
 * name or a code (not field f)? */
static CCAI_MUST_CHECK bool others_found(const Ccai_offline *o, const found *fd, size_t f)
{
    for (size_t g = 0; g < o->nfields; g++)
        if (g != f && fd->v[g] &&
            (o->f[g].type == CCAI_FIELD_EMAIL || o->f[g].type == CCAI_FIELD_PHONE_NUMBER ||
             Ccai_ofl_name_field(o, g) || Ccai_ofl_code_field(o, g)))
            return true;
    return false;
}

/* Runs of capitalised words in a place said, its first word aside ("In
 * the Tesco car park": 1; "Parking du Carrefour de Bègles": 2; "in New
 * York": 1). */
static unsigned name_groups(const char *v)
{
    unsigned groups = 0;
    bool in_group = false, first = true;
    for (const char *w = v; w && *w;) {
        while (*w == ' ')
            w++;
        if (!*w)
            break;
        const unsigned char *u = (const unsigned char *)w;
        bool cap = (*u >= 'A' && *u <= 'Z') || (*u == 0xC3 && u[1] >= 0x80 && u[1] <= 0x9E);
        if (!first) {
            if (cap && !in_group)
                groups++;
            in_group = cap;
        }
        first = false;
        while (*w && *w != ' ')
            w++;
        /* a comma ends a name: "Mill Road, Cambridge" is two */
        if (w > v && w[-1] == ',')
            in_group = false;
    }
    return groups;
}

/* Does [b, e) say what a free-text field is about (its topic or cue
 * words)? On a turn that asks for a person, the other sentences ("Lovely
 * weather for it, isn't it", "I've been on hold for ages") answer nothing,
 * nor does one that tells how the caller feels or fares ([venting]: "long
 * story, my mum's been in hospital all week, I'm just exhausted", "ma
 * semaine a été horrible"), whatever words of a field it has. */
CCAI_MUST_CHECK bool Ccai_ofl_about_a_field(const Ccai_offline *o, size_t b, size_t e)
{
    if (o->to_person && Ccai_ofl_sec_has(o, "venting", b, e))
        return false;
    for (size_t f = 0; f < o->nfields; f++) {
        size_t p;
        if (o->f[f].type == CCAI_FIELD_TEXT && (Ccai_ofl_field_sec_has(o, "topic", f, b, e, &p) ||
                                                Ccai_ofl_field_sec_has(o, "cue", f, b, e, &p)))
            return true;
    }
    return false;
}

/* "Me.", "Moi.", "Yo.": the caller alone ([self.alone]), a whole
 * answer though its word is a filler elsewhere. */
static CCAI_MUST_CHECK bool self_alone(const Ccai_offline *o, size_t b, size_t e)
{
    while (b < e && (Ccai_ofl_hesitation(o, b) || o->mask[b]))
        b++;
    return b < e && !o->mask[b] && Ccai_ofl_sec_at(o, "self.alone", b, e) == e - b;
}

/* The first asked free-text field whose topic or cue words [b, e) has,
 * nfields when none. */
/* Of two questions asked together, the one a clause about no field's
 * topic answers by its words ([answer.<field>]: "a chip in the windscreen"
 * to "was anyone hurt, and was anything damaged before?" is damage, not
 * an injury), none with a part of the body in it ([body]). */
static size_t answer_owner(const Ccai_offline *o, const size_t asked_text[], size_t nat, size_t b,
                           size_t e)
{
    size_t p;
    if (Ccai_ofl_sec_has(o, "body", b, e))
        return o->nfields;
    for (size_t k = 0; k < nat; k++) {
        if (Ccai_ofl_field_sec_has(o, "answer", asked_text[k], b, e, &p))
            return asked_text[k];
    }
    return o->nfields;
}

static size_t clause_owner(const Ccai_offline *o, const size_t asked_text[], size_t nat, size_t b,
                           size_t e)
{
    size_t p;
    for (size_t k = 0; k < nat; k++) {
        if (Ccai_ofl_field_sec_has(o, "topic", asked_text[k], b, e, &p) ||
            Ccai_ofl_field_sec_has(o, "cue", asked_text[k], b, e, &p))
            return asked_text[k];
    }
    return o->nfields;
}

/* Is [b, e) a yes or a no ("No", "Yes, one", "Non, personne")? */
static CCAI_MUST_CHECK bool polar_lead(const Ccai_offline *o, size_t b, size_t e)
{
    while (b < e && Ccai_ofl_hesitation(o, b))
        b++;
    /* "Sí, ..." as the whole clause, not the French "si" (if): "Si je me
     * souviens bien, c'était mardi" */
    return b < e && (negative_answer(o, b, e) || Ccai_ofl_sec_at(o, "yes.words", b, e) ||
                     (Ccai_ofl_tok_is(o, b, "si") && b + 1 == e));
}

/* Does [b, e) open with a yes ("si, le pare-chocs": the no before taken
 * back)? */
static CCAI_MUST_CHECK bool yes_lead(const Ccai_offline *o, size_t b, size_t e)
{
    while (b < e && Ccai_ofl_hesitation(o, b))
        b++;
    /* "si" a yes when a clause of its own ("si, le pare-chocs"), not the
     * Spanish "si no, ..." (if not) */
    return b < e &&
           (Ccai_ofl_sec_at(o, "yes.words", b, e) ||
            (Ccai_ofl_tok_is(o, b, "si") && (b + 1 == e || Ccai_ofl_clause_break(o, b + 1))));
}

/* Is field f one of the people in a claim ([people.fields])? */
static CCAI_MUST_CHECK bool people_field(const Ccai_offline *o, size_t f)
{
    const Ccai_ofl_entry *pe;
    size_t np = Ccai_ofl_lex_get(o->lex, o->lex->en, "people.fields", &pe);
    for (size_t k = 0; k < np; k++)
        if (strcmp(pe[k].text, o->f[f].name) == 0)
            return true;
    return false;
}

/* Does [b, e) say a none of field f by its words: the field's topic or
 * cue words ("nobody saw it"), or, for a field of the people in a claim
 * ([people.fields]), a no of people ([negation.person]: "nobody",
 * "personne", "nadie", "pas un chat"), not a bare "no" that may answer
 * another question asked with it? */
static CCAI_MUST_CHECK bool said_of(const Ccai_offline *o, size_t f, size_t b, size_t e)
{
    size_t p;
    if (Ccai_ofl_field_sec_has(o, "topic", f, b, e, &p) ||
        Ccai_ofl_field_sec_has(o, "cue", f, b, e, &p))
        return true;
    return people_field(o, f) && Ccai_ofl_sec_has(o, "negation.person", b, e);
}

/* Is the field's topic word negated in [b, e), no [contrast] word after
 * it: "I was not hurt, thankfully", "the firemen came, but nobody was
 * hurt" (not "nobody was hurt but my son has a bruise")? */
static CCAI_MUST_CHECK bool topic_negated(const Ccai_offline *o, size_t f, size_t b, size_t e)
{
    size_t p;
    return Ccai_ofl_field_sec_has(o, "topic", f, b, e, &p) && Ccai_ofl_negated_at(o, b, p) &&
           !Ccai_ofl_sec_has(o, "contrast", p, e);
}

/* Does [b, e) open with a [clause.join] word ("And the thief, obviously",
 * "Y los ladrones"; the call's language: the French "y avait" is "il y
 * avait") and say no no: it goes on with the sentence before. */
static CCAI_MUST_CHECK bool continues(const Ccai_offline *o, size_t b, size_t e)
{
    while (b < e && (Ccai_ofl_hesitation(o, b) || o->mask[b]))
        b++;
    return b < e && Ccai_ofl_sec_at_own(o, "clause.join", b, b + 1) == 1 &&
           !negative_answer(o, b, e);
}

/* One sentence that answers two questions asked together ("Nobody was
 * hurt, but my neighbour saw it", "Personne n'a été blessé, mais le
 * voisin a tout vu", "No, nadie, pero lo vio mi vecina"): cut into its
 * clauses (a comma or a [contrast] word) where the field they are about
 * changes; a clause about no field goes with the one before it, those
 * before the first that is about one make a part of their own ("No, my
 * neighbour saw it": "No" answers the other question). Into @p out (at
 * most @p cap); returns how many. */
static size_t split_answers(const Ccai_offline *o, const sentence *sv, size_t ns,
                            const size_t asked_text[], size_t nat, sentence *out, size_t cap)
{
    size_t n = 0;
    for (size_t s = 0; s < ns && n < cap; s++) {
        size_t b = sv[s].b, e = sv[s].e;
        size_t cut[16], ncut = 0;
        if (nat >= 2 && !sv[s].question && !sv[s].used) {
            size_t cb = b, prev = o->nfields;
            bool owned = false;
            for (size_t k = b + 1; k <= e; k++) {
                bool brk = k == e || Ccai_ofl_clause_break(o, k) ||
                           Ccai_ofl_sec_at(o, "contrast", k, k + 1) == 1;
                if (!brk)
                    continue;
                size_t own = clause_owner(o, asked_text, nat, cb, k);
                if (own < o->nfields) {
                    /* a new field: a cut before this clause (or before the
                     * first one about a field, when words came before) */
                    if ((owned && own != prev) || (!owned && cb > b && polar_lead(o, b, cb))) {
                        if (ncut < CCAI_ARRAY_SIZE(cut))
                            cut[ncut++] = cb;
                    }
                    owned = true;
                    prev = own;
                }
                cb = k;
            }
            /* one field only, with nothing before it: as it was */
            if (ncut && !owned)
                ncut = 0;
        }
        /* every sentence keeps a place: cuts only while the rest fit */
        if (n + ncut + (ns - s) > cap)
            ncut = 0;
        size_t from = b;
        for (size_t c = 0; c <= ncut && n < cap; c++) {
            size_t to = c < ncut ? cut[c] : e;
            if (to > from) {
                out[n] = sv[s];
                out[n].b = from;
                out[n].e = to;
                n++;
            }
            from = to;
        }
    }
    return n;
}

/* The field of the people in a claim ([people.fields]: who was involved,
 * witnesses, injuries) that [b, e) tells of again: the first whose topic or
 * cue words it has, else the one noted last when it is one of them;
 * nfields when none. */
size_t Ccai_ofl_people_owner(const Ccai_offline *o, size_t b, size_t e)
{
    const Ccai_ofl_entry *pe;
    size_t np = Ccai_ofl_lex_get(o->lex, o->lex->en, "people.fields", &pe);
    size_t p, last = o->nfields;
    for (size_t g = 0; g < o->nfields; g++) {
        bool people = false;
        for (size_t k = 0; k < np && !people; k++)
            people = strcmp(pe[k].text, o->f[g].name) == 0;
        if (o->f[g].type != CCAI_FIELD_TEXT || !people)
            continue;
        if (Ccai_ofl_field_sec_has(o, "topic", g, b, e, &p) ||
            Ccai_ofl_field_sec_has(o, "cue", g, b, e, &p))
            return g;
        if (g == o->st.last_set)
            last = g;
    }
    return last;
}

static void extract_text(Ccai_offline *o, found *fd, const bool *asked, sentence *sv_in,
                         size_t ns_in, size_t asked_text[], size_t nat, size_t corr)
{
    bool correcting = corr > 0;
    sentence sv[64];
    size_t ns = split_answers(o, sv_in, ns_in, asked_text, nat, sv, CCAI_ARRAY_SIZE(sv));
    /* Answers to the question asked: topic first, then in order. */
    bool all_negative = nat > 1 && ns >= 1;
    size_t live = 0;
    for (size_t s = 0; s < ns; s++) {
        if (sv[s].question ||
            (Ccai_ofl_content_left(o, sv[s].b, sv[s].e) == 0 && !self_alone(o, sv[s].b, sv[s].e)) ||
            only_hedge(o, sv[s].b, sv[s].e) ||
            (o->to_person && !Ccai_ofl_about_a_field(o, sv[s].b, sv[s].e)) ||
            /* "Sorry, sorry, I told wrongly.": the words of a correction
             * alone answer nothing */
            (correcting && Ccai_ofl_only_correction(o, sv[s].b, sv[s].e) &&
             !negative_answer(o, sv[s].b, sv[s].e))) {
            sv[s].used = true;
            continue;
        }
        live++;
        if (!negative_answer(o, sv[s].b, sv[s].e))
            all_negative = false;
    }
    if (nat > 0 && live > 0) {
        if (all_negative) {
            /* "Nobody else", "No injuries. Not applicable, nobody was
             * hurt.": none for what may be none, the words for the others
             * ("who was involved?"), in the order asked. */
            /* "Non. Ça compte si c'est ma fille ?": a no beside a question
             * answers the first question only */
            bool asks = false;
            for (size_t s = 0; s < ns; s++)
                asks = asks || sv[s].question;
            size_t nput = asks && live == 1 ? 1 : nat;
            size_t s1 = 0;
            for (size_t k = 0; k < nput; k++) {
                /* the k-th sentence not used, or the last one */
                for (size_t s = 0, nth = 0; s < ns; s++) {
                    if (sv[s].used)
                        continue;
                    s1 = s;
                    if (nth++ == k)
                        break;
                }
                if (o->f[asked_text[k]].optional)
                    Ccai_ofl_put(o, fd, asked_text[k], none_value(o));
                else
                    put_read(o, fd, asked_text[k], Ccai_ofl_raw_span(o, sv[s1].b, sv[s1].e));
            }
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
                    if (Ccai_ofl_field_sec_has(o, "topic", asked_text[k], sv[s].b, sv[s].e, &p) ||
                        Ccai_ofl_field_sec_has(o, "cue", asked_text[k], sv[s].b, sv[s].e, &p))
                        owner[s] = asked_text[k];
                }
                if (owner[s] == o->nfields)
                    owner[s] = answer_owner(o, asked_text, nat, sv[s].b, sv[s].e);
            }
            /* the others in order */
            size_t k = 0;
            size_t prev = nsv; /* the sentence before, not used */
            for (size_t s = 0; s < nsv; prev = sv[s].used ? prev : s, s++) {
                if (sv[s].used || owner[s] != o->nfields)
                    continue;
                /* "Just me. And the thief, obviously.", "Yo y mi marido. Y
                 * los ladrones": a sentence about no field that opens with
                 * a [clause.join] word goes on with the one before */
                if (prev < nsv && owner[prev] < o->nfields && continues(o, sv[s].b, sv[s].e)) {
                    owner[s] = owner[prev];
                    continue;
                }
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
            /* the place asked: the sentence of the answer that names it */
            size_t fl = Ccai_ofl_location_field(o), place_s = nsv;
            for (size_t s = 0; fl < o->nfields && asked[fl] && s < nsv && place_s == nsv; s++) {
                bool address;
                char *loc =
                    owner[s] == fl && !sv[s].used && !Ccai_ofl_place_aside(o, sv[s].b, sv[s].e)
                        ? Ccai_ofl_location_in(o, sv[s].b, sv[s].e, &address)
                        : NULL;
                if (loc)
                    place_s = s;
                ccai_free(loc);
            }
            /* where the sentence of the correction starts */
            size_t corr_from = 0;
            for (size_t s = 0; correcting && s < nsv; s++)
                if (sv[s].b < corr && corr <= sv[s].e)
                    corr_from = sv[s].b + 1;
            bool none_said[CCAI_FIELDS_MAX] = {false};
            size_t restated = nsv; /* the sentence that said the place again */
            for (size_t s = 0; s < nsv; s++) {
                size_t f = owner[s];
                if (f >= o->nfields || sv[s].used)
                    continue;
                /* after the place said again, what goes on with it ("Unit
                 * seven slash thirty Curlewis Street, Bondi. Two oh two
                 * six.", "... villa San Gerónimo, Puente Alto."): a number or
                 * a name, about no field */
                if (restated < s && fl < o->nfields &&
                    !Ccai_ofl_about_a_field(o, sv[s].b, sv[s].e) &&
                    !negative_answer(o, sv[s].b, sv[s].e) &&
                    Ccai_ofl_content_left(o, sv[s].b, sv[s].e) > 0 &&
                    Ccai_ofl_place_sentence_goes_on(o, sv[s].b, sv[s].e, false)) {
                    /* an address alone is noted below: noted now */
                    if (!fd->v[fl]) {
                        bool address;
                        put_read(o, fd, fl,
                                 Ccai_ofl_location_in(o, sv[restated].b, sv[restated].e, &address));
                    }
                    if (!fd->v[fl])
                        continue;
                    char *more = Ccai_ofl_raw_span(o, sv[s].b, sv[s].e);
                    char *j = more ? Ccai_asprintf("%s, %s", fd->v[fl], more) : NULL;
                    ccai_free(more);
                    if (j)
                        Ccai_ofl_put(o, fd, fl, j);
                    else
                        o->oom = true;
                    sv[s].used = true;
                    continue;
                }
                /* To "where did it happen?", beside the sentence that names
                 * the place: where the caller lives is not the place ("Not at
                 * home, I live over in Alameda", "yo vivo arriba, en el
                 * segundo piso"); what was said before it belongs to the
                 * answer before (the day: "Four-ish.", "Tipo.", "iba a la
                 * pega"), and after it only what goes on with it ("Kings
                 * Heath.", "Two oh two six"), not a comment ("Je confonds
                 * toujours avec l'ancienne adresse"). */
                /* "Okay. My dog bit the mail carrier on the hand when he
                 * came up the steps." to "when and where?", after a question
                 * of the caller's: more of the story, no place in it (no
                 * place word, no street): what happened noted grows, and the
                 * place is asked again */
                size_t fdsc = 0;
                while (fdsc < o->nfields && strcmp(o->f[fdsc].name, "incident_description") != 0)
                    fdsc++;
                if (f == fl && place_s == nsv && fdsc < o->nfields && o->values[fdsc] &&
                    !asked[fdsc] && !fd->v[fdsc] &&
                    Ccai_ofl_field_sec_has(o, "topic", fdsc, sv[s].b, sv[s].e, &(size_t){0}) &&
                    !Ccai_ofl_field_sec_has(o, "topic", fl, sv[s].b, sv[s].e, &(size_t){0}) &&
                    !Ccai_ofl_field_sec_has(o, "cue", fl, sv[s].b, sv[s].e, &(size_t){0}) &&
                    !Ccai_ofl_street_named(o, sv[s].b, sv[s].e)) {
                    char *more = Ccai_ofl_raw_span(o, sv[s].b, sv[s].e);
                    char *j = more ? Ccai_asprintf("%s. %s", o->values[fdsc], more) : NULL;
                    ccai_free(more);
                    if (j) {
                        Ccai_ofl_put(o, fd, fdsc, j);
                        fd->story_more = true;
                    } else {
                        o->oom = true;
                    }
                    sv[s].used = true;
                    continue;
                }
                /* "Yesterday around noon, maybe ten after twelve.": what is
                 * left of the day's sentence ("maybe") is no place */
                bool day_left = false;
                for (size_t q = sv[s].b; q < sv[s].e && !day_left; q++)
                    day_left = o->mask[q];
                /* (its clause cut from the day's: "Lundi vers dix-huit
                 * heures, peut-être un peu après") */
                for (size_t q = sv[s].b; q > 0 && !day_left && !Ccai_ofl_sentence_break(o, q); q--)
                    day_left = o->mask[q - 1];
                if (f == fl && place_s == nsv && day_left &&
                    !Ccai_ofl_place_sentence_goes_on(o, sv[s].b, sv[s].e, false)) {
                    bool address;
                    char *loc = Ccai_ofl_location_in(o, sv[s].b, sv[s].e, &address);
                    bool none = loc == NULL;
                    ccai_free(loc);
                    if (none) {
                        sv[s].used = true;
                        continue;
                    }
                }
                if (f == fl && place_s < nsv && s != place_s) {
                    bool address;
                    char *loc = Ccai_ofl_location_in(o, sv[s].b, sv[s].e, &address);
                    bool aside = Ccai_ofl_place_aside(o, sv[s].b, sv[s].e);
                    bool drop = aside || (!loc && !Ccai_ofl_place_sentence_goes_on(
                                                      o, sv[s].b, sv[s].e, s > place_s));
                    ccai_free(loc);
                    if (drop) {
                        sv[s].used = true;
                        continue;
                    }
                }
                /* "No, nobody. The fire brigade came afterwards.", "Non,
                 * personne. Y'a des caméras": a none said is not undone by
                 * what the caller adds without the field's words (why
                 * nobody saw, what came after, a camera) */
                /* nor by the field's words said again with a no of
                 * people ("testigo, testigo, nadie") */
                if (none_said[f] && !negative_answer(o, sv[s].b, sv[s].e) &&
                    !yes_lead(o, sv[s].b, sv[s].e) &&
                    ((!Ccai_ofl_field_sec_has(o, "topic", f, sv[s].b, sv[s].e, &(size_t){0}) &&
                      !Ccai_ofl_field_sec_has(o, "cue", f, sv[s].b, sv[s].e, &(size_t){0})) ||
                     (people_field(o, f) &&
                      Ccai_ofl_sec_has(o, "negation.person", sv[s].b, sv[s].e)))) {
                    sv[s].used = true;
                    continue;
                }
                /* "A car hit my fence" to "when and where?": what it is
                 * about says which field it answers. */
                /* a correction about a field noted already is in this
                 * sentence or ends just before it ("Sorry, my mistake about
                 * the place, it was outside the Co-op"), not anywhere in
                 * what was said */
                bool here = correcting && corr >= sv[s].b && corr <= sv[s].e;
                size_t g = topic_owner(o, f, asked, fd, sv[s].b, sv[s].e, here);
                if (g != f) {
                    bool address;
                    sv[s].used = true;
                    if (o->f[g].optional && negative_answer(o, sv[s].b, sv[s].e)) {
                        Ccai_ofl_put(o, fd, g, none_value(o)); /* "and no, no injuries" */
                        continue;
                    }
                    put_read(o, fd, g,
                             strcmp(o->f[g].name, "incident_location") == 0
                                 ? Ccai_ofl_location_in(o, sv[s].b, sv[s].e, &address)
                                 : Ccai_ofl_raw_span(o, sv[s].b, sv[s].e));
                    continue;
                }
                /* an address alone, noted below; it replaces the place
                 * noted before ("M6, northbound, near junction 19" after
                 * "The M6") */
                if (Ccai_ofl_pure_location(o, f, asked, sv[s].b, sv[s].e)) {
                    fd->place_again = true;
                    restated = s;
                    continue;
                }
                /* "It was at my sister's house, 14 Maple Drive" to "was
                 * anyone hurt?": the place said again replaces the one noted */
                /* not with the words of the field asked ("at the Mater
                 * hospital" to "did anyone see a doctor?") */
                char *place =
                    fl < o->nfields && fl != f && !asked[fl] && !fd->v[fl] &&
                            !Ccai_ofl_field_sec_has(o, "topic", f, sv[s].b, sv[s].e, &(size_t){0})
                        ? Ccai_ofl_place_restated(o, sv[s].b, sv[s].e)
                        : NULL;
                if (place) {
                    sv[s].used = true;
                    fd->place_again = true;
                    Ccai_ofl_put(o, fd, fl, place);
                    restated = s;
                    continue;
                }
                /* "Hang on, I got the day wrong earlier, it was Thursday"
                 * said to "where did it happen?": a correction of another
                 * field answers nothing else unless it has this field's
                 * words or is a no */
                /* (from the sentence of the correction on: "Yo y mi marido.
                 * ... Ah, y la dirección es el 12, no el 21, me confundí"
                 * answers first) */
                if (correcting && other_value(o, fd, f, asked) && sv[s].e >= corr_from &&
                    !negative_answer(o, sv[s].b, sv[s].e) &&
                    !Ccai_ofl_field_sec_has(o, "topic", f, sv[s].b, sv[s].e, &(size_t){0}) &&
                    !Ccai_ofl_field_sec_has(o, "cue", f, sv[s].b, sv[s].e, &(size_t){0})) {
                    sv[s].used = true;
                    continue;
                }
                /* "I'm Joe Park, my email is ... Wait, no, that's my old
                 * one, it's ... now": what is left of contact details said
                 * to "what happened?" tells nothing happened */
                if (strcmp(o->f[f].name, "incident_description") == 0 && !fd->v[f] &&
                    others_found(o, fd, f) && Ccai_ofl_content_left(o, sv[s].b, sv[s].e) <= 6 &&
                    !Ccai_ofl_field_sec_has(o, "topic", f, sv[s].b, sv[s].e, &(size_t){0})) {
                    sv[s].used = true;
                    continue;
                }
                sv[s].used = true;
                /* a no, or none in other words ([none.<field>]: "the
                 * watchman says he saw nothing" is no witness; not "my
                 * neck's stiff, but I'm okay") */
                size_t np = sv[s].e;
                bool np_named = false;
                if (o->f[f].optional &&
                    (negative_answer(o, sv[s].b, sv[s].e) ||
                     topic_negated(o, f, sv[s].b, sv[s].e) ||
                     (Ccai_ofl_field_sec_has(o, "none", f, sv[s].b, sv[s].e, &np) &&
                      !Ccai_ofl_negated_at(o, sv[s].b, np) &&
                      !Ccai_ofl_sec_has(o, "contrast", sv[s].b, sv[s].e) && (np_named = true)))) {
                    if (!fd->v[f]) {
                        Ccai_ofl_put(o, fd, f, none_value(o));
                        /* "Me and the thief. Obviously not.": a no after
                         * the answer to the other question asked is this
                         * one's */
                        bool after_other = false;
                        for (size_t t = 0; t < s && !after_other; t++)
                            after_other = owner[t] < o->nfields && owner[t] != f;
                        none_said[f] = nat == 1 || np_named ||
                                       (after_other && people_field(o, f)) ||
                                       said_of(o, f, sv[s].b, sv[s].e);
                    }
                    continue;
                }
                char *v = Ccai_ofl_raw_span(o, sv[s].b, sv[s].e);
                if (!v)
                    continue;
                if (fd->v[f] && strcmp(fd->v[f], Ccai_ofl_phrase(o, M_NONE_VALUE)) != 0) {
                    char *j = Ccai_asprintf("%s. %s", fd->v[f], v);
                    ccai_free(v);
                    v = j;
                }
                Ccai_ofl_put(o, fd, f, v);
            }
        }
    }
    /* Volunteered: what a sentence is about (on a turn that asks for a
     * person, not a story of how the caller fares: [venting]). */
    /* a place noted from an earlier sentence of this turn and no address:
     * a later address goes before it ("acá en Córdoba ... Estaba en la
     * calle, en Avenida Colón 1500": "En Avenida Colón 1500, en Córdoba") */
    size_t vague_place = o->nfields;
    for (size_t s = 0; s < ns; s++) {
        if (sv[s].question || (o->to_person && !Ccai_ofl_about_a_field(o, sv[s].b, sv[s].e)))
            continue;
        size_t b = sv[s].b, e = sv[s].e;
        bool told = false;
        for (size_t f = 0; f < o->nfields; f++) {
            if (o->f[f].type != CCAI_FIELD_TEXT || Ccai_ofl_name_field(o, f) ||
                Ccai_ofl_code_field(o, f) || asked[f] || (fd->v[f] && f != vague_place))
                continue;
            size_t p;
            char *v = NULL;
            if (strcmp(o->f[f].name, "incident_location") == 0) {
                bool address;
                v = Ccai_ofl_location_in(o, b, e, &address);
                /* "sur le parking", "at the shop": too vague to note
                 * unasked, no address and no place named. A place named
                 * ("in the Tesco car park", "le parking du Leclerc", "el
                 * aparcamiento del Mercadona") is where it happened, as a
                 * careful agent writes it: noted, not asked again; so is
                 * a street ([location.street]). */
                unsigned names = name_groups(v);
                bool precise =
                    address || names >= 1 || o->to_person || Ccai_ofl_street_named(o, b, e);
                if (v && !address && ((o->values[f] && !correcting) || !precise)) {
                    ccai_free(v);
                    v = NULL;
                }
                if (v && f == vague_place) {
                    char *j = NULL;
                    if (address && !(j = Ccai_asprintf("%s, %c%s", v,
                                                       Ccai_to_lower((unsigned char)fd->v[f][0]),
                                                       fd->v[f] + 1)))
                        o->oom = true;
                    ccai_free(v);
                    v = j;
                    if (!j)
                        continue;
                    vague_place = o->nfields;
                } else if (v && !address && !fd->v[f]) {
                    vague_place = f;
                }
            } else if (strcmp(o->f[f].name, "incident_description") == 0) {
                if (!told && !sv[s].used && Ccai_ofl_field_sec_has(o, "topic", f, b, e, &p))
                    v = Ccai_ofl_raw_span(o, b, e);
            } else if (o->f[f].optional && Ccai_ofl_field_sec_has(o, "none", f, b, e, &p) &&
                       !Ccai_ofl_negated_at(o, b, p)) {
                /* "I'm fine", "je vais bien", "estoy bien" ([none.<field>]):
                 * none said in other words */
                v = none_value(o);
                told = true;
            } else if (Ccai_ofl_field_sec_has(o, "cue", f, b, e, &p) ||
                       (f < o->nfields && strcmp(o->f[f].name, "involved_parties") != 0 &&
                        Ccai_ofl_field_sec_has(o, "topic", f, b, e, &p))) {
                if (o->f[f].optional && Ccai_ofl_negated_at(o, b, p))
                    v = none_value(o);
                else
                    v = Ccai_ofl_raw_span(o, b, e);
                told = true;
                /* the words noted as the place are no other field's: a
                 * topic word in its name ("there by the Mater hospital" is
                 * no doctor seen) */
                size_t fl = Ccai_ofl_location_field(o);
                if (v && fl < o->nfields && fd->v[fl] && Ccai_strcasecmp(v, fd->v[fl]) == 0) {
                    ccai_free(v);
                    v = NULL;
                }
            }
            if (v)
                Ccai_ofl_put(o, fd, f, v);
        }
    }
}

/* ---- the whole utterance ---- */

/* Is a question waiting whose answer may be a no (an optional field:
 * "was anyone hurt?")? */
static CCAI_MUST_CHECK bool asks_yes_no(const Ccai_offline *o)
{
    if (o->st.phase != PH_ASK)
        return false;
    for (size_t k = 0; k < o->st.ngroup; k++)
        if (o->st.group[k] < o->nfields && o->f[o->st.group[k]].optional)
            return true;
    return false;
}

size_t Ccai_ofl_correction_point(const Ccai_offline *o, bool *ret_any)
{
    size_t at = 0;
    *ret_any = false;
    size_t lead = 0; /* the first word said, hesitations aside */
    while (lead < o->ntok && Ccai_ofl_hesitation(o, lead))
        lead++;
    for (size_t i = 0; i < o->ntok; i++) {
        size_t m = Ccai_ofl_sec_at(o, "correction", i, o->ntok);
        /* "No. No lo sé": two answers, not "no no" */
        for (size_t k = i + 1; k < i + m && m; k++)
            if (Ccai_ofl_sentence_break(o, k))
                m = 0;
        /* "No no, I wasn't even there" to "was anyone hurt?": the answer,
         * said twice, corrects nothing */
        bool nos = m && i == lead && asks_yes_no(o);
        for (size_t k = i; k < i + m && nos; k++)
            nos = Ccai_ofl_sec_at(o, "negation", k, k + 1) == 1;
        if (nos)
            m = 0;
        if (m) {
            *ret_any = true;
            at = i + m;
            i += m - 1;
        }
    }
    /* "Oh and it was Sunday, not Monday", "c'était dimanche, pas lundi":
     * a day, then in the next clause the day taken back: a correction of
     * the day noted, without a correction word */
    for (size_t k = 1; !*ret_any && k + 1 < o->ntok; k++) {
        size_t n, j = k + 1;
        if (!Ccai_ofl_clause_break(o, k) || Ccai_ofl_sec_at(o, "negation", k, k + 1) != 1)
            continue;
        if (j < o->ntok && Ccai_ofl_sec_at(o, "day.lead", j, j + 1) == 1)
            j++;
        if (j >= o->ntok || Ccai_ofl_sec_value(o, V_WEEKDAY, j, &n) < 0 ||
            (j + n < o->ntok && !Ccai_ofl_clause_break(o, j + n)))
            continue;
        for (size_t d = k; d > 0 && !Ccai_ofl_sentence_break(o, d) && !*ret_any; d--)
            *ret_any = Ccai_ofl_sec_value(o, V_WEEKDAY, d - 1, &n) >= 0;
    }
    return at;
}

/* Is a phone number said just before token i ("zéro six, vingt-trois,
 * ... soixante-huit à la fin, celui-ci")? Its last number word at most
 * four words before i, the words before i read as one. */
static CCAI_MUST_CHECK bool phone_said_before(Ccai_offline *o, size_t i)
{
    size_t last = SIZE_MAX;
    for (size_t k = 0; k < i;) {
        size_t j = k;
        if (Ccai_ofl_is_digit_ch(o->norm[o->tok[k].start]) ||
            (Ccai_ofl_number_words(o, &j) >= 0 && j > k)) {
            k = j > k ? j : k + 1;
            last = k;
        } else {
            k++;
        }
    }
    char pb[PHONE_DIGITS_MAX + 8];
    return last != SIZE_MAX && last + 4 >= i &&
           Ccai_ofl_spoken_phone(o, 0, i, Ccai_ofl_phone_region(o), pb, sizeof pb) == PH_OK;
}

/* Does a phone cue end at token i, or one word before it ("my phone is
 * this", "mi teléfono es este")? */
static CCAI_MUST_CHECK bool phone_cue_ends_at(const Ccai_offline *o, size_t i)
{
    for (size_t k = i > 6 ? i - 6 : 0; k < i; k++) {
        size_t m = o->mask[k] ? 0 : Ccai_ofl_sec_at(o, "cue.policyholder_phone", k, i);
        if (m && (k + m == i || k + m + 1 == i))
            return true;
    }
    return false;
}

/* Where the words a correction ending at corr replaced start, in a sentence
 * from b: all of it when it is short ("le 14... non, pardon, le 15"), else
 * the value before the correction word and the small words before it ("a
 * crash on my bike on Tuesday, sorry, Wednesday" keeps the crash). */
static size_t replaced_from(const Ccai_offline *o, size_t b, size_t corr)
{
    size_t cw = corr;
    for (size_t i = b; i < corr; i++)
        if (Ccai_ofl_sec_at(o, "correction", i, o->ntok) == corr - i) {
            cw = i;
            break;
        }
    if (Ccai_ofl_content_left(o, b, cw) <= 3)
        return b;
    size_t k = cw > b ? cw - 1 : b;
    while (k > b &&
           (Ccai_ofl_filler(o, k - 1) || Ccai_ofl_is_digit_ch(o->norm[o->tok[k - 1].start]) ||
            Ccai_ofl_month_of(o, k - 1) > 0))
        k--;
    return k;
}

/* "jean at gmail dot com, no sorry, hotmail dot com": a domain alone after
 * a correction replaces the address's; its words are taken. */
static void corrected_domain(Ccai_offline *o, size_t corr, char *buf, size_t cap)
{
    char dom[128];
    size_t dn = 0, parts = 0, k = corr;
    char *at = strchr(buf, '@');
    while (k < o->ntok && Ccai_ofl_hesitation(o, k))
        k++;
    size_t k0 = k;
    while (k < o->ntok && at) {
        const char *t = o->norm + o->tok[k].start;
        size_t len = o->tok[k].len;
        for (size_t c = 0; c < len; c++)
            if (!Ccai_is_alpha((unsigned char)t[c]) && !Ccai_is_digit((unsigned char)t[c]))
                return;
        if (dn + len + 2 >= sizeof dom)
            return;
        memcpy(dom + dn, t, len);
        dn += len;
        parts++;
        k++;
        if (k + 1 < o->ntok && Ccai_ofl_sec_at(o, "sym.dot", k, k + 1) == 1) {
            dom[dn++] = '.';
            k++;
        } else {
            break;
        }
    }
    if (!at || parts < 2 || (k < o->ntok && !Ccai_ofl_sentence_break(o, k)))
        return;
    dom[dn] = '\0';
    if ((size_t)(at + 1 - buf) + dn + 1 > cap)
        return;
    memcpy(at + 1, dom, dn + 1);
    for (size_t i = k0; i < k; i++)
        o->mask[i] = true;
}

/* "Hi, good morning, how are you? Look, ...", "Bonsoir madame", "Hola qué
 * tal, oiga": greetings and small talk ([greeting], [smalltalk]) at the
 * start of a clause are no value ("good morning" is no time, "Bonsoir
 * madame" no description). Taken after the names ("Hi, Dana Whitfield
 * here" needs its greeting). */
static void mask_small_talk(Ccai_offline *o)
{
    static const char *const sec[] = {"greeting", "smalltalk"};
    bool start = true;
    for (size_t i = 0; i < o->ntok;) {
        start = start || Ccai_ofl_clause_break(o, i);
        size_t m = 0;
        for (size_t k = 0; start && k < CCAI_ARRAY_SIZE(sec) && !m; k++)
            m = Ccai_ofl_sec_at(o, sec[k], i, o->ntok);
        if (m) {
            for (size_t k = i; k < i + m; k++)
                o->mask[k] = true;
            i += m;
            continue;
        }
        /* "Hi, I'd like to make a claim please", "je voudrais faire une
         * déclaration de sinistre": what the call is for, no fact, when
         * only its objects follow in its clause ([call.purpose]) */
        size_t j = start ? i + Ccai_ofl_sec_at(o, "call.purpose", i, o->ntok) : i;
        for (size_t n = 1; j > i && j < o->ntok && !Ccai_ofl_clause_break(o, j) && n;) {
            n = Ccai_ofl_sec_at(o, "call.purpose.object", j, o->ntok);
            if (!n && (Ccai_ofl_hesitation(o, j) || Ccai_ofl_sec_at(o, "polite", j, j + 1) == 1))
                n = 1;
            j += n;
        }
        if (j > i && (j == o->ntok || Ccai_ofl_clause_break(o, j))) {
            for (size_t k = i; k < j; k++)
                o->mask[k] = true;
            o->purpose = true;
            i = j;
            continue;
        }
        /* "hi um, yes, hello", "excusez-moi de vous déranger" (its
         * "excusez-moi" taken as a correction): hesitations, words that say
         * nothing alone and words taken keep the clause start */
        start = start && (o->mask[i] || Ccai_ofl_hesitation(o, i) || Ccai_ofl_filler(o, i));
        i++;
    }
}

/* "Sometime Saturday night, we only noticed Sunday morning" ([date.found]),
 * "le plombier est passé ce matin", "el fontanero vino esta mañana"
 * ([date.visit]): a day said in the clause of when the damage was found,
 * or of a visit after it, is not when it happened. Those clauses of
 * section @p sec (up to a comma, a full stop or a [clause.join]: "...
 * noticed it this morning but it must have happened overnight") are hidden
 * from the date; the runs of tokens hidden are kept in @p ret (at most
 * @p cap) to be given back. Returns how many. */
static size_t hide_after_clauses(Ccai_offline *o, const char *sec, size_t ret[][2], size_t cap)
{
    size_t n = 0;
    for (size_t pos = 0, len; n < cap && Ccai_ofl_sec_find(o, sec, pos, o->ntok, &pos, &len);
         pos += len) {
        size_t b = pos, e = pos + len;
        while (b > 0 && !Ccai_ofl_clause_break(o, b) &&
               !Ccai_ofl_sec_at(o, "clause.join", b - 1, b))
            b--;
        while (e < o->ntok && !Ccai_ofl_clause_break(o, e) &&
               !Ccai_ofl_sec_at(o, "clause.join", e, e + 1))
            e++;
        /* the runs of tokens hidden here, not those an extractor took */
        for (size_t k = b; k < e && n < cap; k++) {
            if (o->mask[k])
                continue;
            ret[n][0] = k;
            while (k < e && !o->mask[k])
                o->mask[k++] = true;
            ret[n++][1] = k;
        }
        pos = e - len;
    }
    return n;
}

void Ccai_ofl_extract_all(Ccai_offline *o, found *fd, const bool *asked, size_t corr, sentence *sv,
                          size_t ns)
{
    /* "that's all I remember", "c'est tout", "no, sorry": about the answer,
     * not in it */
    static const char *const meta[] = {"meta", "already.told", "correction"};
    for (size_t m = 0; m < CCAI_ARRAY_SIZE(meta); m++) {
        /* the content tokens of the whole utterance, kept up to date as
         * they are taken (counting them at each phrase found was quadratic) */
        bool corr_sec = strcmp(meta[m], "correction") == 0;
        size_t left = corr_sec ? Ccai_ofl_content_left(o, 0, o->ntok) : 0;
        for (size_t pos = 0, len; Ccai_ofl_sec_find(o, meta[m], pos, o->ntok, &pos, &len);
             pos += len) {
            /* "No. No lo sé": two answers, not "no no" */
            bool across = false;
            for (size_t k = pos + 1; k < pos + len && !across; k++)
                across = Ccai_ofl_sentence_break(o, k);
            if (across) {
                len = 1; /* the second "No" may start a correction */
                continue;
            }
            size_t inside = corr_sec ? Ccai_ofl_content_left(o, pos, pos + len) : 0;
            /* "No. No." alone is an answer, not a correction */
            if (corr_sec && left == inside)
                continue;
            left -= inside;
            for (size_t k = pos; k < pos + len; k++)
                o->mask[k] = true;
            if (corr_sec && pos > 0 && Ccai_ofl_sec_at(o, "negation", pos - 1, pos) == 1) {
                left -= Ccai_ofl_content_left(o, pos - 1, pos);
                o->mask[pos - 1] = true; /* the "no" of "no, sorry" */
            }
        }
    }
    /* "sorry, you're breaking up, I'm in the car", "ça coupe, je suis dans
     * le tram", "se corta": the line, and where the caller is now, said as
     * a clause of its own ([line.trouble]), no answer ("I'm in the car
     * park" is not one) */
    for (size_t pos = 0, len; Ccai_ofl_sec_find(o, "line.trouble", pos, o->ntok, &pos, &len);
         pos += len) {
        if (pos + len < o->ntok && !Ccai_ofl_clause_break(o, pos + len))
            continue;
        for (size_t k = pos; k < pos + len; k++)
            o->mask[k] = true;
    }
    /* "Sunday, not Monday", "o sea el domingo, no el lunes": after a
     * correction, a short "not ..." in its sentence is the value taken
     * back, no answer */
    for (size_t k = corr + 1; corr > 0 && k < o->ntok; k++) {
        if (o->mask[k] || Ccai_ofl_sec_at(o, "negation", k, k + 1) != 1 ||
            Ccai_ofl_content_left(o, corr, k) == 0)
            continue;
        size_t e = Ccai_ofl_sentence_end(o, k);
        if (Ccai_ofl_sentence_end(o, corr) == e && Ccai_ofl_content_left(o, k, e) <= 3)
            for (size_t i = k; i < e; i++)
                o->mask[i] = true;
        break;
    }
    /* e-mail */
    char buf[CCAI_OFFLINE_UTTERANCE_MAX + 1];
    size_t r0, r1;
    size_t fe = field_of_type(o, CCAI_FIELD_EMAIL, asked);
    if (fe < o->nfields) {
        bool sure = false;
        Ccai_ofl_spoken_email(o, buf, sizeof buf, &r0, &r1, &sure);
        if (buf[0] && corr > 0 && corr < o->ntok && o->tok[corr].raw >= r1)
            corrected_domain(o, corr, buf, sizeof buf);
        /* not sure: no value (the words are no other field's either); asked,
         * the caller is asked to spell it (answer_email) */
        if (buf[0] && !sure)
            mask_raw(o, r0, r1);
        else if (buf[0]) {
            mask_raw(o, r0, r1);
            Ccai_ofl_put(o, fd, fe, Ccai_strdup(buf));
        }
    }
    /* codes before numbers and dates */
    for (size_t f = 0; f < o->nfields; f++) {
        if (Ccai_ofl_code_field(o, f))
            Ccai_ofl_extract_code(o, fd, f, asked[f]);
    }
    /* phone: "this number", or digits when asked or cued */
    size_t fp = field_of_type(o, CCAI_FIELD_PHONE_NUMBER, asked);
    if (fp < o->nfields) {
        size_t pos, len;
        bool cid = false;
        for (size_t from = 0; o->caller_number && !cid &&
                              Ccai_ofl_sec_find(o, "callerid", from, o->ntok, &pos, &len);
             from = pos + len) {
            /* "Este. No tengo correo.": one word, a sentence of its own */
            size_t sb = pos;
            while (sb > 0 && !Ccai_ofl_sentence_break(o, sb))
                sb--;
            /* "zéro six, vingt-trois, ..., celui-ci c'est le portable du
             * boulot": "this one" after a number said names that number */
            if (len <= 2 && phone_said_before(o, pos))
                continue;
            if (len > 1 || (asked[fp] && Ccai_ofl_sentence_end(o, pos) - sb <= 3))
                cid = asked[fp] || Ccai_ofl_sec_has(o, "cue.policyholder_phone", 0, o->ntok) ||
                      Ccai_ofl_sec_at(o, "callerid", pos, pos + len) >= 2;
            else
                cid = phone_cue_ends_at(o, pos); /* "mi teléfono es este" */
        }
        if (cid) {
            for (size_t k = pos; k < pos + len; k++)
                o->mask[k] = true;
            Ccai_ofl_put(o, fd, fp, Ccai_strdup(o->caller_number));
        } else {
            size_t b = 0;
            bool cued = asked[fp];
            if (!cued && Ccai_ofl_field_sec_has(o, "cue", fp, 0, o->ntok, &pos)) {
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
            if (cued && Ccai_ofl_spoken_phone(o, b, o->ntok, Ccai_ofl_phone_region(o), pb,
                                              sizeof pb) == PH_OK) {
                char *norm = NULL;
                if (valid(o, CCAI_FIELD_PHONE_NUMBER, pb, &norm)) {
                    for (size_t k = b; k < o->ntok; k++) {
                        size_t j = k;
                        if (Ccai_ofl_is_digit_ch(o->norm[o->tok[k].start]) ||
                            Ccai_ofl_number_words(o, &j) >= 0 ||
                            Ccai_ofl_sec_at(o, "spell.double", k, k + 1) == 1 ||
                            Ccai_ofl_tok_is(o, k, "plus") || Ccai_ofl_tok_is(o, k, "oh"))
                            o->mask[k] = true;
                    }
                    Ccai_ofl_put(o, fd, fp, norm);
                }
            }
        }
    }
    /* names once the numbers are taken ("plus 33 6 ..." is no name) */
    for (size_t f = 0; f < o->nfields; f++) {
        if (Ccai_ofl_name_field(o, f))
            Ccai_ofl_extract_name(o, fd, f, asked[f]);
    }
    mask_small_talk(o);
    /* the numbers of an address are no date nor time: hidden from the
     * date, given back to the place */
    size_t hid[16][2], nhid = 0;
    for (size_t i = 0; i < o->ntok && nhid < CCAI_ARRAY_SIZE(hid); i++) {
        size_t e = Ccai_ofl_address_numbers(o, i);
        if (e <= i + 1)
            e = Ccai_ofl_place_date_numbers(o, i);
        if (e <= i + 1)
            continue;
        hid[nhid][0] = i + 1;
        hid[nhid][1] = e;
        for (size_t k = i + 1; k < e; k++)
            o->mask[k] = true;
        nhid++;
        i = e - 1;
    }
    /* date and time */
    size_t fdt = field_of_type(o, CCAI_FIELD_DATETIME, asked);
    /* "Morning. Lovely weather...": a part of the day said alone first, the
     * date not asked (or a person asked for), greets ([greeting.alone]) */
    size_t ga = fdt < o->nfields && (!asked[fdt] || o->to_person)
                    ? Ccai_ofl_sec_at(o, "greeting.alone", 0, o->ntok)
                    : 0;
    if (ga && ga < o->ntok && Ccai_ofl_clause_break(o, ga))
        for (size_t k = 0; k < ga; k++)
            o->mask[k] = true;
    if (fdt < o->nfields) {
        char db[64];
        int64_t day = 0;
        bool base = asked[fdt] && o->st.pending_date;
        char *written = NULL;
        /* Written forms the validator reads ("2024-10-08T14:30:00Z"). */
        if (!base && strlen(o->raw) > 10 && !strchr(o->raw, ' ') &&
            valid(o, CCAI_FIELD_DATETIME, o->raw, &written)) {
            Ccai_ofl_put(o, fd, fdt, written);
            for (size_t i = 0; i < o->ntok; i++)
                o->mask[i] = true;
        }
        size_t after[8][2], nfound = 0, nafter = 0;
        if (!written) {
            nfound = hide_after_clauses(o, "date.found", after, 4);
            nafter = nfound + hide_after_clauses(o, "date.visit", after + nfound, 8 - nfound);
        }
        dt_result r =
            written ? DT_FAIL
                    : Ccai_ofl_parse_spoken_date(o, base, o->st.pending_days, -1, corr, db, &day);
        if (nfound > 0 && (r == DT_FAIL || !o->dt_day_said)) {
            /* "I found it yesterday, around noon": when no other day is
             * said, the day it was found is all the caller knows (a
             * visit's day never is) */
            for (size_t h = 0; h < nfound; h++)
                for (size_t k = after[h][0]; k < after[h][1]; k++)
                    o->mask[k] = false;
            r = Ccai_ofl_parse_spoken_date(o, base, o->st.pending_days, -1, corr, db, &day);
            memmove(after, after + nfound, (nafter - nfound) * sizeof after[0]);
            nafter -= nfound;
        }
        /* "no wait, it was 10 am, not 9": a time alone corrects the time of
         * the day noted */
        const char *old = o->values[fdt];
        int oy, om, od;
        if (r == DT_FULL && !base && corr > 0 && old && strlen(old) >= 10 &&
            sscanf(old, "%4d-%2d-%2d", &oy, &om, &od) == 3) {
            /* the hour noted, unless it stood for a part of the day */
            int oh = strlen(old) >= 13 && old[10] == 'T' && !o->st.dt_part ? atoi(old + 11) : -1;
            r = Ccai_ofl_parse_spoken_date(o, true, Ccai_days_from_civil(oy, om, od), oh, corr, db,
                                           &day);
        }
        int py, pm, pd, ph;
        if (r == DT_FULL) {
            char *norm = NULL;
            if (o->dt_part && sscanf(db, "%4d-%2d-%2d %2d", &py, &pm, &pd, &ph) == 4) {
                /* "last night", "hier soir", "esta mañana": a part of the
                 * day is no hour. The day goes with it and the time is
                 * asked, the part kept to read the hour said then ("around
                 * ten": 22:00); the value is the part's hour, noted when
                 * the caller has no better one. */
                fd->dt_part = true;
                fd->date_only = true;
                fd->part_hour = ph;
                fd->day = Ccai_days_from_civil(py, pm, pd);
            }
            if (valid(o, CCAI_FIELD_DATETIME, db, &norm))
                Ccai_ofl_put(o, fd, fdt, norm);
        } else if (r == DT_DATE) {
            int64_t y;
            int m, d;
            Ccai_civil_from_days(day, &y, &m, &d);
            char *norm = NULL;
            if (y >= 1900 && y <= 2200 && o->dt_range) {
                /* "between 2 and 6": the day alone, the time not asked */
                char ds[16];
                snprintf(ds, sizeof ds, "%04d-%02d-%02d", (int)y, m, d);
                if (valid(o, CCAI_FIELD_DATETIME, ds, &norm))
                    Ccai_ofl_put(o, fd, fdt, norm);
            } else if (y >= 1900 && y <= 2200) {
                fd->date_only = true;
                fd->day = day;
                Ccai_ofl_put(o, fd, fdt, Ccai_asprintf("%04d-%02d-%02d", (int)y, m, d));
            }
        }
        for (size_t h = 0; h < nafter; h++)
            for (size_t k = after[h][0]; k < after[h][1]; k++)
                o->mask[k] = o->used[k] = false; /* free text: "we only noticed it Sunday" */
        if ((fd->v[fdt] || r != DT_FAIL || o->dt_vague) && !written) {
            /* a date that does not exist is no place or description either */
            for (size_t i = 0; i < o->ntok; i++)
                o->mask[i] = o->mask[i] || o->used[i];
        }
    }
    for (size_t h = 0; h < nhid; h++)
        for (size_t k = hid[h][0]; k < hid[h][1]; k++)
            o->mask[k] = false;
    /* "my e-mail is", "mon numéro c'est": the cue of a value found goes
     * with it, it is no free text */
    for (size_t f = 0; f < o->nfields; f++) {
        size_t pos = 0, len;
        char sec[CCAI_OFL_SECTION_MAX];
        if (!fd->v[f] || Ccai_strjoin(sec, sizeof sec, "cue.", o->f[f].name, NULL) >= sizeof sec)
            continue;
        while (Ccai_ofl_sec_find(o, sec, pos, o->ntok, &pos, &len)) {
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
            for (size_t k = replaced_from(o, sv[s].b, corr); k < corr; k++)
                o->mask[k] = true;
        } else if (sv[s].e < corr && s + 1 < ns && sv[s + 1].b < corr && corr <= sv[s + 1].e &&
                   Ccai_ofl_content_left(o, sv[s + 1].b, corr) == 0) {
            /* "It was the 4th. No, sorry, the 5th.": the value taken
             * back; "Put that down, you! Sorry.": an aside. Not "No
             * injuries. Actually, I got the day wrong, it was Sunday", "A
             * fire in my kitchen. This was the 5th, no, sorry, the 4th":
             * a no or a field's words with no value read in them answer
             * the question, then another field is corrected */
            bool read = false;
            for (size_t k = sv[s].b; k < sv[s].e && !read; k++)
                read = o->used[k];
            bool answers = !read && (negative_answer(o, sv[s].b, sv[s].e) ||
                                     Ccai_ofl_about_a_field(o, sv[s].b, sv[s].e));
            for (size_t k = sv[s].b; k < sv[s].e && !answers; k++)
                o->mask[k] = true;
        }
    }
    /* free text */
    size_t asked_text[OFL_GROUP_MAX];
    size_t nat = 0;
    for (size_t k = 0; k < o->st.ngroup; k++) {
        size_t f = o->st.group[k];
        if (f < o->nfields && o->f[f].type == CCAI_FIELD_TEXT && !Ccai_ofl_name_field(o, f) &&
            !Ccai_ofl_code_field(o, f) && !fd->v[f])
            asked_text[nat++] = f;
    }
    extract_text(o, fd, asked, sv, ns, asked_text, nat, corr);
}
