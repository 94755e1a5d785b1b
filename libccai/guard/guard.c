/* The guard: word lists in a hash set of first words, jailbreak patterns
 * over the folded words (guard/guard.h). */
#include "guard/guard.h"

#include "guard/lists.h"

#include <stdio.h>
#include <string.h>

/* Languages of the built-in lists, as a mask; ANY for the configured ones. */
#define LANG_EN  1u
#define LANG_FR  2u
#define LANG_ES  4u
#define LANG_ANY 8u

/* Most slots of one pattern, and most words one alternative spans. */
#define SLOTS_MAX 16

typedef struct entry {
    uint32_t text, len; /* the folded words in the arena, joined by spaces */
    uint32_t first;     /* length of the first word */
    uint32_t words;
    uint32_t next; /* the next entry with the same first word, + 1; 0: none */
    uint8_t kind;
    uint8_t langs;
} entry;

typedef struct alt {
    uint32_t text, len; /* in the arena; several words joined by spaces */
    uint32_t words;
    bool prefix; /* "instruction*": a word that starts so */
} alt;

typedef enum slot_type {
    SLOT_WORDS,      /* one of the alternatives (or nothing, when optional) */
    SLOT_GAP,        /* any words, up to gap */
    SLOT_START,      /* the start of a sentence */
    SLOT_NOT_BEFORE, /* the word before is none of the alternatives */
    SLOT_NOT_NEXT    /* the next words are none of the alternatives */
} slot_type;

typedef struct slot {
    slot_type type;
    bool optional;
    uint32_t gap;          /* SLOT_GAP: skip 0 .. gap words */
    uint32_t alt0, n_alts; /* SLOT_WORDS: alts[alt0 .. alt0 + n_alts) */
} slot;

typedef struct pattern {
    const char *name;
    const char *category;
    slot slots[SLOTS_MAX];
    size_t n_slots;
} pattern;

struct Ccai_guard {
    Ccai_buf arena;
    entry *entries;
    size_t n_entries, cap_entries;
    uint32_t *slots; /* hash of first words: entry index + 1, 0 empty */
    uint32_t mask;
    alt *alts;
    size_t n_alts, cap_alts;
    pattern *patterns;
    size_t n_patterns;
    /* Patterns by the words they can start with (a word a text lacks
     * rules them out): a hash of words, each the head of a list of
     * patterns; and the patterns that start with anything (an optional
     * or prefix first slot), tried everywhere. */
    struct {
        uint32_t word, len; /* in the arena */
        uint32_t head;      /* starts[] index + 1 */
    } * anchors;
    uint32_t anchor_mask;
    struct {
        uint32_t pattern, next; /* next: starts[] index + 1, 0 none */
    } * starts;
    size_t n_starts, cap_starts;
    uint32_t *everywhere;
    size_t n_everywhere;
};

const char *Ccai_guard_kind_str(Ccai_guard_kind k)
{
    switch (k) {
    case CCAI_GUARD_PROFANITY: return "profanity";
    case CCAI_GUARD_BLOCKLIST: return "blocklist";
    case CCAI_GUARD_COMPETITOR: return "competitor";
    case CCAI_GUARD_JAILBREAK: return "jailbreak";
    case CCAI_GUARD_NONE: break;
    }
    return "none";
}

static uint32_t hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

static const char *at(const Ccai_guard *g, uint32_t off)
{
    return g->arena.data + off;
}

/* The slot of first word w[0..n): the one holding it, or the empty one
 * where it goes. */
static uint32_t *slot_of(const Ccai_guard *g, const char *w, size_t n)
{
    for (uint32_t i = hash(w, n) & g->mask;; i = (i + 1) & g->mask) {
        uint32_t *sl = &g->slots[i];
        if (!*sl)
            return sl;
        const entry *e = &g->entries[*sl - 1];
        if (e->first == n && memcmp(at(g, e->text), w, n) == 0)
            return sl;
    }
}

/* Building ------------------------------------------------------------------ */

static CCAI_MUST_CHECK bool arena_put(Ccai_guard *g, const char *s, size_t n, uint32_t *off)
{
    if (g->arena.len + n + 1 > UINT32_MAX)
        return false;
    *off = (uint32_t)g->arena.len;
    return Ccai_buf_append(&g->arena, s, n) && Ccai_buf_append(&g->arena, "", 1);
}

/* Add text (folded here) to the entries; CCAI_ERR_VALIDATION when it has
 * no word. */
static CCAI_MUST_CHECK ccai_status add_entry(Ccai_guard *g, Ccai_guard_scratch *s, const char *text,
                                             Ccai_guard_kind kind, unsigned langs)
{
    ccai_status st = Ccai_guard_fold(s, text, strlen(text));
    if (st != CCAI_OK)
        return st;
    if (!s->plain.n)
        return CCAI_ERR_VALIDATION;
    if (g->n_entries == g->cap_entries) {
        size_t cap = g->cap_entries ? g->cap_entries * 2 : 256;
        entry *v = Ccai_realloc(g->entries, cap * sizeof *v);
        if (!v)
            return CCAI_ERR_NOMEM;
        g->entries = v;
        g->cap_entries = cap;
    }
    entry *e = &g->entries[g->n_entries];
    memset(e, 0, sizeof *e);
    if (!arena_put(g, s->plain.text.data, s->plain.text.len, &e->text))
        return CCAI_ERR_NOMEM;
    e->len = (uint32_t)s->plain.text.len;
    e->first = s->plain.len[0];
    e->words = (uint32_t)s->plain.n;
    e->kind = (uint8_t)kind;
    e->langs = (uint8_t)langs;
    g->n_entries++;
    return CCAI_OK;
}

/* The hash set of first words, once every entry is in. */
static CCAI_MUST_CHECK bool index_entries(Ccai_guard *g)
{
    size_t size = 64;
    while (size < g->n_entries * 2)
        size *= 2;
    g->slots = Ccai_calloc(size, sizeof *g->slots);
    if (!g->slots)
        return false;
    g->mask = (uint32_t)(size - 1);
    for (size_t i = 0; i < g->n_entries; i++) {
        entry *e = &g->entries[i];
        uint32_t *sl = slot_of(g, at(g, e->text), e->first);
        e->next = *sl; /* same first word: chained, newest first */
        *sl = (uint32_t)i + 1;
    }
    return true;
}

static CCAI_MUST_CHECK bool add_alt(Ccai_guard *g, const char *s, size_t n, uint32_t *ret)
{
    if (g->n_alts == g->cap_alts) {
        size_t cap = g->cap_alts ? g->cap_alts * 2 : 512;
        alt *v = Ccai_realloc(g->alts, cap * sizeof *v);
        if (!v)
            return false;
        g->alts = v;
        g->cap_alts = cap;
    }
    alt *a = &g->alts[g->n_alts];
    a->prefix = n > 1 && s[n - 1] == '*';
    if (a->prefix)
        n--;
    a->words = 1;
    uint32_t off;
    if (!arena_put(g, s, n, &off))
        return false;
    a->text = off;
    a->len = (uint32_t)n;
    for (size_t i = 0; i < n; i++) {
        if (g->arena.data[off + i] == '+') { /* "del+sistema": two words in a row */
            g->arena.data[off + i] = ' ';
            a->words++;
        }
    }
    *ret = (uint32_t)g->n_alts++;
    return true;
}

/* Compile one pattern of guard/lists.h's syntax. */
static CCAI_MUST_CHECK ccai_status compile(Ccai_guard *g, const Ccai_guard_pattern_src *src,
                                           pattern *p)
{
    memset(p, 0, sizeof *p);
    p->name = src->name;
    p->category = src->category;
    const char *s = src->words;
    while (*s) {
        while (*s == ' ')
            s++;
        if (!*s)
            break;
        const char *end = s;
        while (*end && *end != ' ')
            end++;
        if (p->n_slots == SLOTS_MAX)
            return CCAI_ERR_LIMIT;
        slot *sl = &p->slots[p->n_slots++];
        memset(sl, 0, sizeof *sl);
        size_t n = (size_t)(end - s);
        if (s[0] == '~') {
            sl->type = SLOT_GAP;
            sl->gap = (uint32_t)(s[1] - '0');
        } else if (s[0] == '^') {
            sl->type = SLOT_START;
        } else {
            sl->type = SLOT_WORDS;
            if (s[0] == '<' || s[0] == '!') {
                sl->type = s[0] == '<' ? SLOT_NOT_BEFORE : SLOT_NOT_NEXT;
                s++;
                n--;
            }
            if (s[n - 1] == '?') {
                sl->optional = true;
                n--;
            }
            sl->alt0 = (uint32_t)g->n_alts;
            for (const char *a = s; a < s + n;) {
                const char *bar = memchr(a, '|', (size_t)(s + n - a));
                const char *aend = bar ? bar : s + n;
                uint32_t idx;
                if (!add_alt(g, a, (size_t)(aend - a), &idx))
                    return CCAI_ERR_NOMEM;
                sl->n_alts++;
                a = bar ? bar + 1 : s + n;
            }
        }
        s = end;
    }
    return CCAI_OK;
}

/* The anchor slot of word w[0..n): the one holding it, or the empty one. */
static uint32_t anchor_slot(const Ccai_guard *g, const char *w, size_t n)
{
    for (uint32_t i = hash(w, n) & g->anchor_mask;; i = (i + 1) & g->anchor_mask) {
        if (!g->anchors[i].len ||
            (g->anchors[i].len == n && memcmp(at(g, g->anchors[i].word), w, n) == 0))
            return i;
    }
}

/* Index pattern pi under the first word of each alternative of its first
 * slot that takes words; or everywhere. */
static CCAI_MUST_CHECK bool index_pattern(Ccai_guard *g, uint32_t pi)
{
    const pattern *p = &g->patterns[pi];
    size_t si = 0;
    while (si < p->n_slots &&
           (p->slots[si].type == SLOT_START || p->slots[si].type == SLOT_NOT_BEFORE))
        si++;
    const slot *sl = si < p->n_slots ? &p->slots[si] : NULL;
    bool anchored = sl && sl->type == SLOT_WORDS && !sl->optional;
    for (uint32_t a = 0; anchored && a < sl->n_alts; a++)
        anchored = !g->alts[sl->alt0 + a].prefix;
    if (!anchored) {
        g->everywhere[g->n_everywhere++] = pi;
        return true;
    }
    for (uint32_t a = 0; a < sl->n_alts; a++) {
        const alt *al = &g->alts[sl->alt0 + a];
        const char *w = at(g, al->text);
        size_t n = strcspn(w, " ");
        uint32_t i = anchor_slot(g, w, n);
        if (!g->anchors[i].len) {
            g->anchors[i].word = al->text;
            g->anchors[i].len = (uint32_t)n;
        }
        if (g->n_starts == g->cap_starts) {
            size_t cap = g->cap_starts ? g->cap_starts * 2 : 1024;
            void *v = Ccai_realloc(g->starts, cap * sizeof *g->starts);
            if (!v)
                return false;
            g->starts = v;
            g->cap_starts = cap;
        }
        g->starts[g->n_starts].pattern = pi;
        g->starts[g->n_starts].next = g->anchors[i].head;
        g->anchors[i].head = (uint32_t)++g->n_starts;
    }
    return true;
}

static CCAI_MUST_CHECK bool index_patterns(Ccai_guard *g)
{
    size_t alts = 0;
    for (size_t i = 0; i < g->n_patterns; i++) {
        for (size_t j = 0; j < g->patterns[i].n_slots; j++)
            alts += g->patterns[i].slots[j].n_alts;
    }
    size_t size = 64;
    while (size < alts * 2)
        size *= 2;
    g->anchors = Ccai_calloc(size, sizeof *g->anchors);
    g->everywhere = Ccai_calloc(g->n_patterns ? g->n_patterns : 1, sizeof *g->everywhere);
    if (!g->anchors || !g->everywhere)
        return false;
    g->anchor_mask = (uint32_t)(size - 1);
    for (size_t i = 0; i < g->n_patterns; i++) {
        if (!index_pattern(g, (uint32_t)i))
            return false;
    }
    return true;
}

static unsigned lang_mask_of(const char *lang)
{
    if (!lang)
        return 0;
    if (strncmp(lang, "en", 2) == 0)
        return LANG_EN;
    if (strncmp(lang, "fr", 2) == 0)
        return LANG_FR;
    if (strncmp(lang, "es", 2) == 0)
        return LANG_ES;
    return 0;
}

/* One configured list: a status of its own for an entry with no word. */
static CCAI_MUST_CHECK ccai_status add_list(Ccai_guard *g, Ccai_guard_scratch *s,
                                            const char *const *v, size_t n, Ccai_guard_kind kind,
                                            const char *key, char **ret_errmsg)
{
    for (size_t i = 0; i < n; i++) {
        ccai_status st = add_entry(g, s, v[i] ? v[i] : "", kind, LANG_ANY);
        if (st == CCAI_ERR_VALIDATION && ret_errmsg) {
            Ccai_buf b = {0};
            bool ok = Ccai_buf_printf(&b, "%s[%zu]: \"", key, i) &&
                      Ccai_buf_append_loggable(&b, v[i] ? v[i] : "", v[i] ? strlen(v[i]) : 0, 64) &&
                      Ccai_buf_puts(&b, "\" has no word to match");
            *ret_errmsg = ok ? Ccai_buf_steal(&b) : NULL;
            Ccai_buf_free(&b);
        }
        if (st != CCAI_OK)
            return st;
    }
    return CCAI_OK;
}

ccai_status Ccai_guard_new(const Ccai_guard_opts *o, Ccai_guard **ret, char **ret_errmsg)
{
    Ccai_guard *g = Ccai_calloc(1, sizeof *g);
    if (!g)
        return CCAI_ERR_NOMEM;
    Ccai_guard_scratch s = {0};
    ccai_status st = CCAI_OK;
    if (o->profanity) {
        static const struct {
            const char *const *words;
            unsigned lang;
        } builtin[] = {{Ccai_guard_profanity_en, LANG_EN},
                       {Ccai_guard_profanity_fr, LANG_FR},
                       {Ccai_guard_profanity_es, LANG_ES}};
        for (size_t l = 0; st == CCAI_OK && l < CCAI_ARRAY_SIZE(builtin); l++) {
            for (const char *const *w = builtin[l].words; st == CCAI_OK && *w; w++)
                st = add_entry(g, &s, *w, CCAI_GUARD_PROFANITY, builtin[l].lang);
        }
    }
    if (st == CCAI_OK)
        st = add_list(g, &s, o->blocklist, o->n_blocklist, CCAI_GUARD_BLOCKLIST,
                      "guardrails.blocklist", ret_errmsg);
    if (st == CCAI_OK)
        st = add_list(g, &s, o->competitors, o->n_competitors, CCAI_GUARD_COMPETITOR,
                      "guardrails.competitors", ret_errmsg);
    if (st == CCAI_OK && !index_entries(g))
        st = CCAI_ERR_NOMEM;
    size_t n = 0;
    while (Ccai_guard_jailbreak_patterns[n].words)
        n++;
    if (st == CCAI_OK) {
        g->patterns = Ccai_calloc(n ? n : 1, sizeof *g->patterns);
        if (!g->patterns)
            st = CCAI_ERR_NOMEM;
    }
    for (size_t i = 0; st == CCAI_OK && i < n; i++) {
        st = compile(g, &Ccai_guard_jailbreak_patterns[i], &g->patterns[i]);
        g->n_patterns++;
    }
    if (st == CCAI_OK && !index_patterns(g))
        st = CCAI_ERR_NOMEM;
    Ccai_guard_scratch_free(&s);
    if (st != CCAI_OK) {
        Ccai_guard_free(g);
        return st;
    }
    *ret = g;
    return CCAI_OK;
}

void Ccai_guard_free(Ccai_guard *g)
{
    if (!g)
        return;
    Ccai_buf_free(&g->arena);
    ccai_free(g->entries);
    ccai_free(g->slots);
    ccai_free(g->alts);
    ccai_free(g->patterns);
    ccai_free(g->anchors);
    ccai_free(g->starts);
    ccai_free(g->everywhere);
    ccai_free(g);
}

size_t Ccai_guard_entries(const Ccai_guard *g)
{
    return g ? g->n_entries : 0;
}

size_t Ccai_guard_patterns(const Ccai_guard *g)
{
    return g ? g->n_patterns : 0;
}

/* Matching ------------------------------------------------------------------ */

static const char *lang_name(unsigned langs)
{
    switch (langs) {
    case LANG_EN: return "en";
    case LANG_FR: return "fr";
    case LANG_ES: return "es";
    default: return "any";
    }
}

/* Words [i, i + n) of v as one string (they are joined by one space). */
static bool words_equal(const Ccai_guard_view *v, size_t i, size_t n, const char *s, size_t len)
{
    if (i + n > v->n)
        return false;
    size_t from = v->off[i], to = v->off[i + n - 1] + v->len[i + n - 1];
    return to - from == len && memcmp(v->text.data + from, s, len) == 0;
}

/* An entry of mask and langs starting at word i of v (one_word: entries
 * of one word only, for a word that stands for several of v's). */
static const entry *lookup(const Ccai_guard *g, const Ccai_guard_view *v, size_t i, const char *w,
                           size_t n, bool one_word, unsigned mask, unsigned langs)
{
    uint32_t idx = *slot_of(g, w, n);
    for (; idx; idx = g->entries[idx - 1].next) {
        const entry *e = &g->entries[idx - 1];
        if (!(mask & (1u << e->kind)) || !(e->langs & langs))
            continue;
        if (e->words == 1 ? e->len == n
                          : !one_word && words_equal(v, i, e->words, at(g, e->text), e->len))
            return e;
    }
    return NULL;
}

static const entry *match_words(const Ccai_guard *g, Ccai_guard_scratch *s, unsigned mask,
                                unsigned langs, ccai_status *st)
{
    const Ccai_guard_view *v = &s->plain;
    for (size_t i = 0; i < v->n; i++) {
        const entry *e = lookup(g, v, i, v->text.data + v->off[i], v->len[i], false, mask, langs);
        if (e)
            return e;
    }
    /* Letters spelled one by one: three or more in a row read as a word. */
    for (size_t i = 0; i < v->n;) {
        size_t j = i;
        while (j < v->n && v->len[j] == 1 && (unsigned char)v->text.data[v->off[j]] < 0x80)
            j++;
        if (j - i >= 3) {
            Ccai_buf_reset(&s->run);
            for (size_t k = i; k < j; k++) {
                if (!Ccai_buf_append(&s->run, v->text.data + v->off[k], 1)) {
                    *st = CCAI_ERR_NOMEM;
                    return NULL;
                }
            }
            const entry *e = lookup(g, v, i, s->run.data, s->run.len, true, mask, langs);
            if (e)
                return e;
        }
        i = j > i ? j : i + 1;
    }
    const Ccai_guard_view *l = &s->leet;
    for (size_t i = 0; i < l->n; i++) {
        const entry *e = lookup(g, l, i, l->text.data + l->off[i], l->len[i], true, mask, langs);
        if (e)
            return e;
    }
    return NULL;
}

/* How many words alternative a takes at word i of v (0: no match). */
static size_t alt_match(const Ccai_guard *g, const alt *a, const Ccai_guard_view *v, size_t i)
{
    if (a->prefix) {
        /* The last word starts so: "jeu+de+role*" takes "jeu de roles". */
        size_t last = i + a->words - 1;
        if (last >= v->n)
            return 0;
        size_t from = v->off[i], to = v->off[last] + v->len[last];
        return to - from >= a->len && a->len > v->off[last] - from &&
                       memcmp(v->text.data + from, at(g, a->text), a->len) == 0
                   ? a->words
                   : 0;
    }
    return words_equal(v, i, a->words, at(g, a->text), a->len) ? a->words : 0;
}

static bool match_from(const Ccai_guard *g, const pattern *p, size_t si, const Ccai_guard_view *v,
                       size_t i)
{
    if (si == p->n_slots)
        return true;
    const slot *sl = &p->slots[si];
    switch (sl->type) {
    case SLOT_START:
        return (i == 0 || (i < v->n && v->starts[i])) && match_from(g, p, si + 1, v, i);
    case SLOT_GAP:
        for (size_t k = 0; k <= sl->gap && i + k <= v->n; k++) {
            if (match_from(g, p, si + 1, v, i + k))
                return true;
        }
        return false;
    case SLOT_NOT_BEFORE:
        for (uint32_t a = 0; i > 0 && a < sl->n_alts; a++) {
            if (alt_match(g, &g->alts[sl->alt0 + a], v, i - 1) == 1)
                return false;
        }
        return match_from(g, p, si + 1, v, i);
    case SLOT_NOT_NEXT:
        for (uint32_t a = 0; a < sl->n_alts; a++) {
            if (alt_match(g, &g->alts[sl->alt0 + a], v, i))
                return false;
        }
        return match_from(g, p, si + 1, v, i);
    case SLOT_WORDS: break;
    }
    if (sl->optional && match_from(g, p, si + 1, v, i))
        return true;
    for (uint32_t a = 0; a < sl->n_alts; a++) {
        size_t n = alt_match(g, &g->alts[sl->alt0 + a], v, i);
        if (n && match_from(g, p, si + 1, v, i + n))
            return true;
    }
    return false;
}

/* A pattern matching from some word of v: at each word, the patterns that
 * may start with it, and those that may start anywhere. Linear in the
 * words for a given set of patterns. */
static const pattern *match_patterns(const Ccai_guard *g, const Ccai_guard_view *v)
{
    for (size_t i = 0; i < v->n; i++) {
        uint32_t a = anchor_slot(g, v->text.data + v->off[i], v->len[i]);
        for (uint32_t k = g->anchors[a].head; k; k = g->starts[k - 1].next) {
            const pattern *p = &g->patterns[g->starts[k - 1].pattern];
            if (match_from(g, p, 0, v, i))
                return p;
        }
        for (size_t e = 0; e < g->n_everywhere; e++) {
            const pattern *p = &g->patterns[g->everywhere[e]];
            if (match_from(g, p, 0, v, i))
                return p;
        }
    }
    return NULL;
}

ccai_status Ccai_guard_check(const Ccai_guard *g, Ccai_guard_scratch *s, const char *text,
                             size_t len, const char *lang, unsigned mask, Ccai_guard_hit *hit)
{
    memset(hit, 0, sizeof *hit);
    if (!g)
        return CCAI_OK;
    ccai_status st = Ccai_guard_fold(s, text, len);
    if (st != CCAI_OK)
        return st;
    if (mask & CCAI_GUARD_F_JAILBREAK) {
        const pattern *p = match_patterns(g, &s->plain);
        if (p) {
            hit->kind = CCAI_GUARD_JAILBREAK;
            hit->rule = p->name;
            hit->category = p->category;
            return CCAI_OK;
        }
    }
    if (!(mask & CCAI_GUARD_F_WORDS) || !g->n_entries)
        return CCAI_OK;
    const entry *e = match_words(g, s, mask, lang_mask_of(lang) | LANG_ANY, &st);
    if (e) {
        hit->kind = (Ccai_guard_kind)e->kind;
        hit->rule = at(g, e->text);
        hit->category = lang_name(e->langs);
    }
    return st;
}
