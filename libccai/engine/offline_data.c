/* The offline dialogue's word lists and phrases per language, read from the
 * data files compiled in (data/offline/<lang>.txt, core/embedded.h): cue
 * phrases that introduce a field's value, words that tell what a sentence
 * is about, the words of intents (a person, a question, "I don't know",
 * a correction, "this number"), spelling alphabets, spoken symbols and the
 * phrases of the answers that vary. Adding words or a phrase is editing a
 * file; the format is in data/offline/en.txt.
 *
 * The files are parsed once per context (Ccai_offline_lexicon_new(), kept
 * by the engine and shared by its calls) by a sans-I/O parser with limits
 * (Ccai_ofl_lex_parse(), fuzzed in tests/fuzz/fuzz_offline_lex.c). Entries keep their text as
 * written (to be said) and a normalised copy (to be matched: lower case, no accents, punctuation as
 * spaces). */
#include "core/embedded.h"
#include "engine/offline_private.h"

#include <stdio.h>
#include <string.h>

static CCAI_MUST_CHECK bool grow(void **v, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return true;
    size_t c = *cap ? *cap * 2 : 64;
    void *p = Ccai_realloc(*v, c * size);
    if (!p)
        return false;
    *v = p;
    *cap = c;
    return true;
}

/* FNV-1a of a section name. */
static uint32_t section_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* The first slot of the section index to probe for (hash, lang). */
static size_t idx_slot(uint32_t hash, int lang, size_t cap)
{
    return (size_t)((hash ^ ((uint32_t)lang * 0x9e3779b9u)) & (uint32_t)(cap - 1));
}

static bool same_section(const Ccai_ofl_section *s, uint32_t hash, int lang, const char *name)
{
    return s->hash == hash && s->lang == lang && strcmp(s->name, name) == 0;
}

/* Index section i; the first section of a name and language stays the one
 * found (as the look-up in file order found it). */
static void idx_put(Ccai_ofl_lexicon *lx, size_t i)
{
    const Ccai_ofl_section *s = &lx->sec[i];
    size_t k = idx_slot(s->hash, s->lang, lx->capidx);
    while (lx->idx[k]) {
        if (same_section(&lx->sec[lx->idx[k] - 1], s->hash, s->lang, s->name))
            return;
        k = (k + 1) & (lx->capidx - 1);
    }
    lx->idx[k] = (uint32_t)(i + 1);
}

/* Index the section just added, the index grown (and rebuilt) first when
 * it would be more than half full. */
static CCAI_MUST_CHECK bool idx_add(Ccai_ofl_lexicon *lx)
{
    if (lx->nsec * 2 > lx->capidx) {
        size_t cap = lx->capidx ? lx->capidx * 2 : 512;
        uint32_t *idx = Ccai_calloc(cap, sizeof *idx);
        if (!idx)
            return false;
        ccai_free(lx->idx);
        lx->idx = idx;
        lx->capidx = cap;
        for (size_t i = 0; i + 1 < lx->nsec; i++)
            idx_put(lx, i);
    }
    idx_put(lx, lx->nsec - 1);
    return true;
}

/* A hash of a name of n bytes: its length, first and last eight bytes
 * (a shorter one byte by byte). The readers look names up hundreds of
 * times a turn (FNV-1a took ~4 instructions a byte); names alike in those
 * bytes share a probe sequence, told apart by their bytes. */
static uint64_t name_hash(const char *s, size_t n)
{
    uint64_t a = 0, z = 0;
    if (n >= 8) {
        memcpy(&a, s, 8);
        memcpy(&z, s + n - 8, 8);
    } else {
        for (size_t i = 0; i < n; i++)
            a |= (uint64_t)(unsigned char)s[i] << (8 * i);
    }
    uint64_t h = (a ^ n) * 0xff51afd7ed558ccdu;
    h = (h ^ (h >> 32) ^ z) * 0xc4ceb9fe1a85ec53u;
    return h ^ (h >> 32);
}

/* The table of names (lx->names) from every section, in file order: a
 * name's first section in a language stays the one found, as in
 * find_section(). */
static CCAI_MUST_CHECK ccai_status index_names(Ccai_ofl_lexicon *lx)
{
    size_t cap = 64;
    while (cap < lx->nsec * 2)
        cap *= 2;
    Ccai_ofl_name *t = Ccai_calloc(cap, sizeof *t);
    if (!t)
        return CCAI_ERR_NOMEM;
    ccai_free(lx->names);
    lx->names = t;
    lx->capnames = cap;
    for (size_t i = 0; i < lx->nsec; i++) {
        const Ccai_ofl_section *s = &lx->sec[i];
        size_t n = strlen(s->name);
        uint64_t h = name_hash(s->name, n);
        size_t k = (size_t)h & (cap - 1);
        while (t[k].first && !(t[k].hash == h && t[k].len == n &&
                               memcmp(lx->sec[t[k].first - 1].name, s->name, n) == 0))
            k = (k + 1) & (cap - 1);
        if (!t[k].first) {
            t[k].hash = h;
            t[k].len = (uint32_t)n;
            t[k].first = (uint32_t)(i + 1);
        }
        if (s->lang < CCAI_OFL_LANGS_MAX && !t[k].sec[s->lang])
            t[k].sec[s->lang] = (uint32_t)(i + 1);
    }
    return CCAI_OK;
}

/* The name's entry in lx->names, NULL when no section has it. */
static const Ccai_ofl_name *find_name(const Ccai_ofl_lexicon *lx, const char *name)
{
    if (!lx->capnames)
        return NULL;
    size_t n = strlen(name);
    uint64_t h = name_hash(name, n);
    for (size_t k = (size_t)h & (lx->capnames - 1); lx->names[k].first;
         k = (k + 1) & (lx->capnames - 1)) {
        const Ccai_ofl_name *e = &lx->names[k];
        if (e->hash == h && e->len == n && memcmp(lx->sec[e->first - 1].name, name, n) == 0)
            return e;
    }
    return NULL;
}

static CCAI_MUST_CHECK bool section_name_ok(const char *s, size_t n)
{
    if (n == 0 || n >= CCAI_OFL_SECTION_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '+'))
            return false;
    }
    return true;
}

/* The entries' texts live in one pool (a few reallocations for all the
 * files, not two allocations an entry); an entry keeps offsets into it
 * until the parse ends (repoint()), the pool moving as it grows. */
static CCAI_MUST_CHECK ccai_status add_entry(Ccai_ofl_lexicon *lx, const char *s, size_t n)
{
    char norm[CCAI_OFL_LINE_MAX * 3 + 8];
    token toks[CCAI_OFL_LINE_MAX];
    size_t nt = 0;
    if (!Ccai_ofl_normalise(s, n, norm, sizeof norm, toks, CCAI_ARRAY_SIZE(toks), &nt))
        return CCAI_ERR_PARSE;
    size_t nn = strlen(norm);
    if (!grow((void **)&lx->ent, &lx->capent, lx->nent, sizeof *lx->ent))
        return CCAI_ERR_NOMEM;
    while (lx->npool + n + nn + 2 > lx->cappool) {
        size_t c = lx->cappool ? lx->cappool * 2 : 16384;
        char *p = Ccai_realloc(lx->pool, c);
        if (!p)
            return CCAI_ERR_NOMEM;
        lx->pool = p;
        lx->cappool = c;
    }
    size_t t0 = lx->npool, n0 = t0 + n + 1;
    memcpy(lx->pool + t0, s, n);
    lx->pool[t0 + n] = '\0';
    memcpy(lx->pool + n0, norm, nn + 1);
    lx->npool = n0 + nn + 1;
    lx->ent[lx->nent++] =
        (Ccai_ofl_entry){NULL, NULL, (unsigned)nt, (unsigned)strcspn(norm, " "), t0, n0};
    lx->sec[lx->nsec - 1].n++;
    return CCAI_OK;
}

/* The entries' pointers from their offsets, once the pool stopped moving. */
static void repoint(Ccai_ofl_lexicon *lx)
{
    for (size_t i = 0; i < lx->nent; i++) {
        lx->ent[i].text = lx->pool + lx->ent[i].text_off;
        lx->ent[i].norm = lx->pool + lx->ent[i].norm_off;
    }
}

/* Each section's entries by first letter (Ccai_ofl_section.at): a
 * counting sort of their indices, stable, redone over all the sections
 * after each file. */
static CCAI_MUST_CHECK ccai_status index_first(Ccai_ofl_lexicon *lx)
{
    uint32_t *bf = Ccai_realloc(lx->byfirst, (lx->nent ? lx->nent : 1) * sizeof *bf);
    if (!bf)
        return CCAI_ERR_NOMEM;
    lx->byfirst = bf;
    for (size_t s = 0; s < lx->nsec; s++) {
        Ccai_ofl_section *sec = &lx->sec[s];
        uint16_t count[CCAI_OFL_BUCKETS + 1] = {0};
        for (size_t k = sec->first; k < sec->first + sec->n; k++)
            count[Ccai_ofl_bucket((unsigned char)lx->ent[k].norm[0]) + 1]++;
        for (int b = 0; b < CCAI_OFL_BUCKETS; b++)
            count[b + 1] = (uint16_t)(count[b + 1] + count[b]);
        memcpy(sec->at, count, sizeof sec->at);
        for (size_t k = sec->first; k < sec->first + sec->n; k++)
            bf[sec->first + count[Ccai_ofl_bucket((unsigned char)lx->ent[k].norm[0])]++] =
                (uint32_t)k;
    }
    return CCAI_OK;
}

static CCAI_MUST_CHECK ccai_status parse(Ccai_ofl_lexicon *lx, int lang, const char *text,
                                         size_t len);

ccai_status Ccai_ofl_lex_parse(Ccai_ofl_lexicon *lx, int lang, const char *text, size_t len)
{
    if (!lx || (!text && len) || lang < 0)
        return CCAI_ERR_INVALID_ARG;
    ccai_status st = parse(lx, lang, text, len);
    repoint(lx);
    ccai_status ix = index_first(lx);
    ccai_status nx = index_names(lx);
    return st != CCAI_OK ? st : ix != CCAI_OK ? ix : nx;
}

static ccai_status parse(Ccai_ofl_lexicon *lx, int lang, const char *text, size_t len)
{
    size_t entries = 0, sections = 0;
    bool in_section = false;
    for (size_t i = 0; i < len;) {
        size_t e = i;
        while (e < len && text[e] != '\n')
            e++;
        size_t b = i, n = e - i;
        i = e + 1;
        while (n > 0 && (text[b] == ' ' || text[b] == '\t'))
            b++, n--;
        while (n > 0 &&
               (text[b + n - 1] == ' ' || text[b + n - 1] == '\t' || text[b + n - 1] == '\r'))
            n--;
        if (n == 0 || text[b] == '#')
            continue;
        if (n > CCAI_OFL_LINE_MAX || memchr(text + b, '\0', n))
            return CCAI_ERR_PARSE;
        if (text[b] == '[') {
            if (text[b + n - 1] != ']' || !section_name_ok(text + b + 1, n - 2) ||
                ++sections > CCAI_OFL_SECTIONS_MAX)
                return CCAI_ERR_PARSE;
            if (!grow((void **)&lx->sec, &lx->capsec, lx->nsec, sizeof *lx->sec))
                return CCAI_ERR_NOMEM;
            Ccai_ofl_section *s = &lx->sec[lx->nsec++];
            memset(s, 0, sizeof *s);
            memcpy(s->name, text + b + 1, n - 2);
            s->hash = section_hash(s->name);
            s->lang = lang;
            s->first = lx->nent;
            if (!idx_add(lx))
                return CCAI_ERR_NOMEM;
            in_section = true;
            continue;
        }
        if (!in_section || ++entries > CCAI_OFL_ENTRIES_MAX)
            return CCAI_ERR_PARSE;
        ccai_status st = add_entry(lx, text + b, n);
        if (st != CCAI_OK)
            return st;
    }
    return CCAI_OK;
}

void Ccai_ofl_lex_free(Ccai_ofl_lexicon *lx)
{
    if (!lx)
        return;
    ccai_free(lx->pool);
    ccai_free(lx->ent);
    ccai_free(lx->sec);
    ccai_free(lx->idx);
    ccai_free(lx->names);
    ccai_free(lx->byfirst);
    Ccai_ofl_kw_cache_free(lx->kw);
    memset(lx, 0, sizeof *lx);
}

static const Ccai_ofl_section *find_section(const Ccai_ofl_lexicon *lx, int lang,
                                            const char *section, uint32_t h)
{
    for (size_t k = idx_slot(h, lang, lx->capidx); lx->idx[k]; k = (k + 1) & (lx->capidx - 1)) {
        const Ccai_ofl_section *s = &lx->sec[lx->idx[k] - 1];
        if (same_section(s, h, lang, section))
            return s;
    }
    return NULL;
}

/* Entry 0 of a section of the language, NULL when absent. */
static const char *first_text(const Ccai_ofl_lexicon *lx, int lang, const char *section)
{
    const Ccai_ofl_entry *e;
    return Ccai_ofl_lex_get(lx, lang, section, &e) ? e[0].text : NULL;
}

const char *const Ccai_ofl_valued_names[V_COUNT] = {
    "number.words",  "weekday.words", "month.words",     "ordinal.words",
    "daypart.words", "negator.words", "day.relative",    "night.relative",
    "clock.words",   "minute.words",  "number.hundreds", "day.unit"};

const char *const Ccai_ofl_word_names[W_COUNT] = {
    "strip.words",       "strip.interjections", "know.words",      "no.contrast",
    "correct.verb_lead", "correct.verb_object", "code.time_marks", "code.skip",
    "name.particles",    "email.bring",         "number.and",      "email.and",
    "keyword.stop"};

static size_t section_index(const Ccai_ofl_lexicon *lx, int lang, const char *name)
{
    const Ccai_ofl_section *s =
        lx->capidx ? find_section(lx, lang, name, section_hash(name)) : NULL;
    return s ? (size_t)(s - lx->sec) + 1 : 0;
}

bool Ccai_ofl_word_in(const Ccai_ofl_lexicon *lx, ofl_words which, const char *w, size_t n)
{
    if (!n)
        return false;
    unsigned char c = (unsigned char)w[0];
    CCAI_OFL_FOR_ENTRIES (lx, l, Ccai_ofl_words_sec(lx, l, which), c, norm) {
        /* w is a token's letters: no NUL in it, so norm's ends the
         * comparison where norm is shorter; their first letters are c */
        size_t m = 1;
        while (m < n && norm[m] == w[m])
            m++;
        if (m == n && !norm[n])
            return true;
    }
    return false;
}

ccai_status Ccai_ofl_lex_resolve(Ccai_ofl_lexicon *lx, int lang)
{
    if (!lx || lang < 0 || lang >= CCAI_OFL_LANGS_MAX)
        return CCAI_ERR_INVALID_ARG;
    Ccai_ofl_lang *L = &lx->lang[lang];
    char sec[CCAI_OFL_SECTION_MAX];
    const char *code = first_text(lx, lang, "lang");
    if (!code)
        return CCAI_ERR_PARSE;
    L->code = code;
    for (int m = 0; m < M_COUNT; m++) {
        snprintf(sec, sizeof sec, "msg.%s", Ccai_ofl_msg_names[m]);
        if (!(L->msg[m] = first_text(lx, lang, sec)))
            return CCAI_ERR_PARSE;
    }
    const Ccai_ofl_entry *e;
    if (Ccai_ofl_lex_get(lx, lang, "months", &e) != 12)
        return CCAI_ERR_PARSE;
    for (int k = 0; k < 12; k++)
        L->month[k] = e[k].text;
    for (int k = 0; k < CCAI_OFL_KNOWN_FIELDS; k++) {
        snprintf(sec, sizeof sec, "label.%s", Ccai_ofl_known_fields[k].name);
        if (!(L->label[k] = first_text(lx, lang, sec)))
            return CCAI_ERR_PARSE;
    }
    /* optional: a language without them reads numbers and dates in digits */
    for (int v = 0; v < V_COUNT; v++) {
        L->nvalued[v] = Ccai_ofl_lex_get(lx, lang, Ccai_ofl_valued_names[v], &L->valued[v]);
        L->valued_sec[v] = section_index(lx, lang, Ccai_ofl_valued_names[v]);
    }
    for (int w = 0; w < W_COUNT; w++)
        L->words_sec[w] = section_index(lx, lang, Ccai_ofl_word_names[w]);
    return CCAI_OK;
}

ccai_status Ccai_ofl_lexicon_from(const char *const *prefix, const char *const *text,
                                  const size_t *len, size_t n, Ccai_ofl_lexicon **ret)
{
    if (!ret || (n && (!prefix || !text || !len)) || n > CCAI_OFL_LANGS_MAX)
        return CCAI_ERR_INVALID_ARG;
    *ret = NULL;
    Ccai_ofl_lexicon *lx = Ccai_calloc(1, sizeof *lx);
    if (!lx)
        return CCAI_ERR_NOMEM;
    lx->kw = Ccai_ofl_kw_cache_new(); /* NULL (no memory): keywords made each time */
    ccai_status st = n ? CCAI_OK : CCAI_ERR_PARSE;
    for (size_t l = 0; st == CCAI_OK && l < n; l++) {
        size_t pl = strlen(prefix[l]);
        if (pl == 0 || pl >= sizeof lx->lang[l].prefix) {
            st = CCAI_ERR_PARSE;
            break;
        }
        memcpy(lx->lang[l].prefix, prefix[l], pl + 1);
        lx->nlang = (int)l + 1;
        st = Ccai_ofl_lex_parse(lx, (int)l, text[l], len[l]);
        if (strcmp(prefix[l], "en") == 0)
            lx->en = (int)l;
    }
    /* once every file is in: a parse moves the pool the tables point into */
    for (size_t l = 0; st == CCAI_OK && l < n; l++)
        st = Ccai_ofl_lex_resolve(lx, (int)l);
    if (st != CCAI_OK) {
        Ccai_offline_lexicon_free(lx);
        return st;
    }
    *ret = lx;
    return CCAI_OK;
}

/* Every data/offline/<prefix>.txt compiled in is a language. */
ccai_status Ccai_offline_lexicon_new(Ccai_ofl_lexicon **ret)
{
    const char *prefix[CCAI_OFL_LANGS_MAX], *text[CCAI_OFL_LANGS_MAX];
    size_t len[CCAI_OFL_LANGS_MAX], n = 0;
    char names[CCAI_OFL_LANGS_MAX][8];
    static const char dir[] = "offline/";
    for (size_t k = 0; k < Ccai_embedded_count; k++) {
        const Ccai_embedded *f = &Ccai_embedded_files[k];
        size_t pl = strlen(f->path);
        if (strncmp(f->path, dir, sizeof dir - 1) != 0 || pl < sizeof dir - 1 + 5 ||
            strcmp(f->path + pl - 4, ".txt") != 0 || strchr(f->path + sizeof dir - 1, '/'))
            continue;
        size_t nl = pl - (sizeof dir - 1) - 4;
        if (n == CCAI_OFL_LANGS_MAX || nl >= sizeof names[0])
            return CCAI_ERR_PARSE;
        memcpy(names[n], f->path + sizeof dir - 1, nl);
        names[n][nl] = '\0';
        prefix[n] = names[n];
        text[n] = (const char *)f->data;
        len[n] = f->len;
        n++;
    }
    return Ccai_ofl_lexicon_from(prefix, text, len, n, ret);
}

void Ccai_offline_lexicon_free(Ccai_ofl_lexicon *lx)
{
    Ccai_ofl_lex_free(lx);
    ccai_free(lx);
}

size_t Ccai_ofl_lex_get(const Ccai_ofl_lexicon *lx, int lang, const char *section,
                        const Ccai_ofl_entry **ret)
{
    *ret = NULL;
    if (!lx || lang < 0 || lang >= CCAI_OFL_LANGS_MAX)
        return 0;
    const Ccai_ofl_name *nm = find_name(lx, section);
    if (!nm || !nm->sec[lang])
        return 0;
    const Ccai_ofl_section *s = &lx->sec[nm->sec[lang] - 1];
    if (s->n) /* an empty section may come before any entry */
        *ret = lx->ent + s->first;
    return s->n;
}

void Ccai_ofl_lex_sections(const Ccai_ofl_lexicon *lx, const char *section,
                           const Ccai_ofl_section **ret)
{
    const Ccai_ofl_name *nm = find_name(lx, section);
    for (int l = 0; l < lx->nlang; l++)
        ret[l] = nm && nm->sec[l] ? &lx->sec[nm->sec[l] - 1] : NULL;
}
