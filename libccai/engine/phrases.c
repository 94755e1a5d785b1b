/* The fixed phrases in any language: see engine/phrases.h. */
#include "engine/phrases.h"

#include "config/config.h"
#include "core/embedded.h"
#include "core/json.h"
#include "engine/offline_private.h"
#include "io/io.h"
#include "llm/llm.h"
#include "store/store.h"

#include <openssl/evp.h>
#include <string.h>

/* Longest language tag kept (BCP 47 allows more, nobody uses it). */
#define LANG_MAX 35
/* An answer may take this long (a slow model writes ~60 short strings). */
#define TRANSLATE_BUDGET_MS 60000u

/* What the LLM is told. Part of the hash: new instructions, new
 * translations. */
static const char instructions[] =
    "You translate the fixed phrases a phone assistant says, from English into the language "
    "whose BCP 47 tag is \"%s\". The user message is a JSON object: each key names a phrase, "
    "each value is an array of English variants of it. Answer with one JSON object with exactly "
    "the same keys, each value an array with exactly as many strings as the English one, in the "
    "same order, each the translation of the English string at that place. Keep every "
    "placeholder in curly braces, such as {bot_name} or {1}, exactly as written: do not "
    "translate, add or remove any. Keys without a dot are said on a phone call: write natural "
    "spoken %s. Keys starting with \"report.\" are the labels of a web page about the call "
    "(short, as on a form; \"report.weekday_*\" and \"report.month_*\" the usual "
    "abbreviations, \"report.date\" the order of a date's parts); keys starting with "
    "\"offline.\" are sentences of a text message to the caller. Use that language's usual "
    "script: no markup, no notes, nothing but the JSON object.";

typedef struct entry {
    char tag[LANG_MAX + 1]; /* as first asked ("zh-CN") */
    Ccai_phrases_state state;
    Ccai_phrase_set *set; /* READY */
    uint64_t retry_at;    /* UNAVAILABLE after a failure: asked again then */
    bool logged;          /* UNAVAILABLE for want of an LLM: said once */
    Ccai_llm_call *llm;   /* PENDING */
    struct Ccai_phrasebook *pb;
} entry;

struct Ccai_phrasebook {
    Ccai_engine *e;
    /* Made when a language first needs them: a call in English, French or
     * Spanish allocates nothing here. */
    char hash[65]; /* of the English set and the instructions, hex */
    char *source;  /* the English set, JSON */
    Ccai_phrase_texts *texts;
    entry *langs[CCAI_PHRASES_LANGS_MAX];
    size_t n;
    bool full_logged;
};

/* Phrase sets -------------------------------------------------------------- */

void Ccai_phrase_set_free(Ccai_phrase_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < CCAI_TTS_PHRASE_COUNT; i++) {
        for (size_t j = 0; j < s->n[i]; j++)
            ccai_free(s->v[i][j]);
        ccai_free(s->v[i]);
    }
    for (size_t i = 0; i < s->n_text; i++)
        ccai_free(s->text[i]);
    ccai_free(s->text);
    ccai_free(s);
}

/* Texts ------------------------------------------------------------------- */

void Ccai_phrase_texts_free(Ccai_phrase_texts *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++) {
        ccai_free(t->key[i]);
        ccai_free(t->en[i]);
    }
    ccai_free(t->key);
    ccai_free(t->en);
    ccai_free(t);
}

/* Add key (prefix + name) with its English text; false on NOMEM. */
static CCAI_MUST_CHECK bool text_add(Ccai_phrase_texts *t, size_t cap, const char *prefix,
                                     const char *name, char *en)
{
    if (!en || t->n == cap) {
        ccai_free(en);
        return false;
    }
    char *key = Ccai_asprintf("%s%s", prefix, name);
    if (!key) {
        ccai_free(en);
        return false;
    }
    t->key[t->n] = key;
    t->en[t->n++] = en;
    return true;
}

/* An offline template with its "%s" numbered: "%s from %s." -> "{1} from
 * {2}." (offline_report.c fills either). */
static char *numbered(const char *tmpl)
{
    Ccai_buf b = {0};
    bool ok = true;
    int k = 0;
    for (const char *p = tmpl; ok && *p;) {
        const char *pct = strstr(p, "%s");
        if (!pct) {
            ok = Ccai_buf_puts(&b, p);
            break;
        }
        ok = Ccai_buf_append(&b, p, (size_t)(pct - p)) && Ccai_buf_printf(&b, "{%d}", ++k);
        p = pct + 2;
    }
    char *s = ok ? Ccai_buf_steal(&b) : NULL;
    Ccai_buf_free(&b);
    return s;
}

ccai_status Ccai_phrase_texts_new(const Ccai_ofl_lexicon *lx, Ccai_phrase_texts **ret)
{
    if (!lx || !ret)
        return CCAI_ERR_INVALID_ARG;
    *ret = NULL;
    const char *labels_text = Ccai_embedded_text("prompts/report/labels.json");
    Ccai_json_err jerr;
    ccai_status st = CCAI_ERR_PARSE;
    json_t *labels =
        labels_text ? Ccai_json_load(labels_text, strlen(labels_text), &jerr, &st) : NULL;
    if (!json_is_object(labels)) {
        json_decref(labels);
        return st == CCAI_ERR_NOMEM ? st : CCAI_ERR_PARSE;
    }
    size_t cap = json_object_size(labels);
    for (size_t i = 0; Ccai_offline_report_sections[i]; i++)
        cap++;
    Ccai_phrase_texts *t = Ccai_calloc(1, sizeof *t);
    bool ok = t && (t->key = Ccai_calloc(cap, sizeof *t->key)) &&
              (t->en = Ccai_calloc(cap, sizeof *t->en));
    const char *name;
    json_t *v;
    st = CCAI_OK;
    json_object_foreach(labels, name, v)
    {
        if (!ok)
            break;
        if (!json_is_string(v)) {
            st = CCAI_ERR_PARSE;
            break;
        }
        ok = text_add(t, cap, "report.", name, Ccai_strdup(json_string_value(v)));
    }
    json_decref(labels);
    for (size_t i = 0; ok && st == CCAI_OK && Ccai_offline_report_sections[i]; i++) {
        const Ccai_ofl_entry *e;
        if (Ccai_ofl_lex_get(lx, lx->en, Ccai_offline_report_sections[i], &e) == 0)
            continue; /* a section English has not: never asked for */
        ok = text_add(t, cap, "offline.", Ccai_offline_report_sections[i], numbered(e[0].text));
    }
    if (!ok || st != CCAI_OK) {
        Ccai_phrase_texts_free(t);
        return ok ? st : CCAI_ERR_NOMEM;
    }
    *ret = t;
    return CCAI_OK;
}

char *Ccai_phrases_source_json(const Ccai_prompts *p, const Ccai_phrase_texts *t)
{
    json_t *o = json_object();
    bool ok = o != NULL;
    for (size_t i = 0; ok && i < CCAI_TTS_PHRASE_COUNT; i++) {
        json_t *a = json_array();
        ok = a && json_object_set_new(o, Ccai_tts_phrase_name((Ccai_tts_phrase)i), a) == 0;
        size_t n = Ccai_prompts_tts_count(p, (Ccai_tts_phrase)i);
        for (uint32_t k = 0; ok && k < n; k++)
            ok = json_array_append_new(
                     a, json_string(Ccai_prompts_tts_pick(p, (Ccai_tts_phrase)i, k))) == 0;
    }
    for (size_t i = 0; ok && t && i < t->n; i++)
        ok = json_object_set_new(o, t->key[i], json_pack("[s]", t->en[i])) == 0;
    char *s = ok ? Ccai_json_dump(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    return s;
}

/* Occurrences of "{name}" in s. */
static size_t count_var(const char *s, const char *name)
{
    size_t n = 0, len = strlen(name);
    for (const char *p = strchr(s, '{'); p; p = strchr(p + 1, '{')) {
        if (strncmp(p + 1, name, len) == 0 && p[1 + len] == '}')
            n++;
    }
    return n;
}

/* NULL when @text has the placeholders of @src; else why (static text or
 * allocated into *why). */
static CCAI_MUST_CHECK ccai_status check_variant(Ccai_tts_phrase which, size_t k, const char *src,
                                                 const char *text, size_t len, char **why)
{
    const char *name = Ccai_tts_phrase_name(which);
    if (len == 0 || len > CCAI_PHRASES_TEXT_MAX || strlen(text) != len) {
        *why = Ccai_asprintf("%s[%zu]: %s", name, k,
                             len == 0                      ? "empty"
                             : len > CCAI_PHRASES_TEXT_MAX ? "too long"
                                                           : "holds a NUL");
        return *why ? CCAI_ERR_VALIDATION : CCAI_ERR_NOMEM;
    }
    char *err = NULL;
    ccai_status st = Ccai_prompt_check(text, Ccai_tts_phrase_vars(which), &err);
    if (st == CCAI_ERR_NOMEM)
        return st;
    if (st != CCAI_OK) {
        *why = Ccai_asprintf("%s[%zu]: %s", name, k, err ? err : ccai_status_str(st));
        ccai_free(err);
        return *why ? CCAI_ERR_VALIDATION : CCAI_ERR_NOMEM;
    }
    for (const char *const *v = Ccai_tts_phrase_vars(which); *v; v++) {
        size_t a = count_var(src, *v), b = count_var(text, *v);
        if (a == b)
            continue;
        *why = Ccai_asprintf("%s[%zu]: {%s} %s", name, k, *v, b < a ? "dropped" : "added");
        return *why ? CCAI_ERR_VALIDATION : CCAI_ERR_NOMEM;
    }
    return CCAI_OK;
}

/* Occurrences of c in s. */
static size_t count_char(const char *s, char c)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == c;
    return n;
}

/* A text's check: as a variant's, its placeholders those of its English
 * (each "{name}" of the English as often, no other brace). */
static CCAI_MUST_CHECK ccai_status check_text(const char *key, const char *src, const char *text,
                                              size_t len, char **why)
{
    if (len == 0 || len > CCAI_PHRASES_TEXT_MAX || strlen(text) != len) {
        *why = Ccai_asprintf("%s: %s", key,
                             len == 0                      ? "empty"
                             : len > CCAI_PHRASES_TEXT_MAX ? "too long"
                                                           : "holds a NUL");
        return *why ? CCAI_ERR_VALIDATION : CCAI_ERR_NOMEM;
    }
    for (const char *p = strchr(src, '{'); p; p = strchr(p + 1, '{')) {
        size_t n = strcspn(p + 1, "}");
        char name[64];
        if (!p[1 + n] || n >= sizeof name)
            continue;
        memcpy(name, p + 1, n);
        name[n] = '\0';
        size_t a = count_var(src, name), b = count_var(text, name);
        if (a != b) {
            *why = Ccai_asprintf("%s: {%s} %s", key, name, b < a ? "dropped" : "added");
            return *why ? CCAI_ERR_VALIDATION : CCAI_ERR_NOMEM;
        }
    }
    if (count_char(text, '{') != count_char(src, '{') ||
        count_char(text, '}') != count_char(src, '}')) {
        *why = Ccai_asprintf("%s: a brace added or dropped", key);
        return *why ? CCAI_ERR_VALIDATION : CCAI_ERR_NOMEM;
    }
    return CCAI_OK;
}

static CCAI_MUST_CHECK ccai_status reject(char **ret_why, ccai_status st, char *why)
{
    if (!why)
        return CCAI_ERR_NOMEM;
    if (ret_why)
        *ret_why = why;
    else
        ccai_free(why);
    return st;
}

ccai_status Ccai_phrases_parse(const Ccai_prompts *p, const Ccai_phrase_texts *t,
                               const char *answer, size_t len, Ccai_phrase_set **ret,
                               char **ret_why)
{
    if (ret_why)
        *ret_why = NULL;
    if (!p || !answer || !ret)
        return CCAI_ERR_INVALID_ARG;
    if (len > CCAI_PHRASES_ANSWER_MAX)
        return reject(
            ret_why, CCAI_ERR_VALIDATION,
            Ccai_asprintf("an answer of %zu bytes (at most %d)", len, CCAI_PHRASES_ANSWER_MAX));
    Ccai_json_err jerr;
    ccai_status st;
    json_t *o = Ccai_json_load(answer, len, &jerr, &st);
    if (!o)
        return st == CCAI_ERR_NOMEM
                   ? st
                   : reject(ret_why, CCAI_ERR_PARSE, Ccai_strdup("the answer is not valid JSON"));
    Ccai_phrase_set *s = NULL;
    char *why = NULL;
    st = CCAI_OK;
    if (!json_is_object(o)) {
        why = Ccai_strdup("the answer is not a JSON object");
        st = CCAI_ERR_VALIDATION;
        goto done;
    }
    const char *key;
    json_t *val;
    json_object_foreach(o, key, val)
    {
        bool known = false;
        for (size_t i = 0; !known && i < CCAI_TTS_PHRASE_COUNT; i++)
            known = strcmp(key, Ccai_tts_phrase_name((Ccai_tts_phrase)i)) == 0;
        for (size_t i = 0; !known && t && i < t->n; i++)
            known = strcmp(key, t->key[i]) == 0;
        if (!known) {
            why = Ccai_asprintf("a phrase \"%.40s\" was added", key);
            st = CCAI_ERR_VALIDATION;
            goto done;
        }
    }
    if (!(s = Ccai_calloc(1, sizeof *s))) {
        st = CCAI_ERR_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < CCAI_TTS_PHRASE_COUNT; i++) {
        Ccai_tts_phrase which = (Ccai_tts_phrase)i;
        const char *name = Ccai_tts_phrase_name(which);
        const json_t *a = json_object_get(o, name);
        size_t want = Ccai_prompts_tts_count(p, which);
        if (!json_is_array(a) || json_array_size(a) != want) {
            why = !a ? Ccai_asprintf("%s: dropped", name)
                  : !json_is_array(a)
                      ? Ccai_asprintf("%s: not an array", name)
                      : Ccai_asprintf("%s: %zu variants for %zu", name, json_array_size(a), want);
            st = CCAI_ERR_VALIDATION;
            goto done;
        }
        if (!(s->v[i] = Ccai_calloc(want, sizeof *s->v[i]))) {
            st = CCAI_ERR_NOMEM;
            goto done;
        }
        for (size_t k = 0; k < want; k++) {
            const json_t *str = json_array_get(a, k);
            if (!json_is_string(str)) {
                why = Ccai_asprintf("%s[%zu]: not a string", name, k);
                st = CCAI_ERR_VALIDATION;
                goto done;
            }
            st = check_variant(which, k, Ccai_prompts_tts_pick(p, which, (uint32_t)k),
                               json_string_value(str), json_string_length(str), &why);
            if (st != CCAI_OK)
                goto done;
            if (!(s->v[i][k] = Ccai_strdup(json_string_value(str)))) {
                st = CCAI_ERR_NOMEM;
                goto done;
            }
            s->n[i]++;
        }
    }
    if (t && t->n && !(s->text = Ccai_calloc(t->n, sizeof *s->text))) {
        st = CCAI_ERR_NOMEM;
        goto done;
    }
    for (size_t i = 0; t && i < t->n; i++) {
        const json_t *a = json_object_get(o, t->key[i]);
        const json_t *v = json_array_get(a, 0);
        if (!json_is_array(a) || json_array_size(a) != 1 || !json_is_string(v)) {
            why = Ccai_asprintf("%s: %s", t->key[i], !a ? "dropped" : "not an array of one string");
            st = CCAI_ERR_VALIDATION;
            goto done;
        }
        st = check_text(t->key[i], t->en[i], json_string_value(v), json_string_length(v), &why);
        if (st != CCAI_OK)
            goto done;
        if (!(s->text[i] = Ccai_strdup(json_string_value(v)))) {
            st = CCAI_ERR_NOMEM;
            goto done;
        }
        s->n_text++;
    }

done:
    json_decref(o);
    if (st == CCAI_OK) {
        *ret = s;
        return st;
    }
    Ccai_phrase_set_free(s);
    if (st == CCAI_ERR_NOMEM) {
        ccai_free(why);
        return st;
    }
    return reject(ret_why, st, why);
}

/* Languages ------------------------------------------------------------------ */

/* English, or a language with phrases compiled in: nothing to translate. */
bool Ccai_phrases_needs_translation(const char *lang)
{
    if (!lang || !*lang)
        return false;
    size_t pl = strcspn(lang, "-_");
    if (pl == 2 && Ccai_to_lower(lang[0]) == 'e' && Ccai_to_lower(lang[1]) == 'n')
        return false;
    return !Ccai_prompts_tts_has_lang(lang);
}

/* A tag fit to key a store row and to be written into a prompt: letters,
 * digits and hyphens (underscores taken as hyphens), subtags of 1 to 8. */
static CCAI_MUST_CHECK bool tag_ok(const char *lang)
{
    size_t n = strlen(lang), run = 0;
    if (n == 0 || n > LANG_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)lang[i];
        if (c == '-' || c == '_') {
            if (run == 0)
                return false;
            run = 0;
        } else if ((Ccai_is_alpha(c) || Ccai_is_digit(c)) && ++run <= 8) {
            continue;
        } else {
            return false;
        }
    }
    return run > 0 && Ccai_is_alpha((unsigned char)lang[0]);
}

/* The store's key of a tag: lower case, hyphens ("zh-cn"). */
static void tag_key(const char *tag, char out[LANG_MAX + 1])
{
    size_t i = 0;
    for (; tag[i] && i < LANG_MAX; i++)
        out[i] = tag[i] == '_' ? '-' : (char)Ccai_to_lower((unsigned char)tag[i]);
    out[i] = '\0';
}

static entry *find(Ccai_phrasebook *pb, const char *lang)
{
    char want[LANG_MAX + 1], have[LANG_MAX + 1];
    tag_key(lang, want);
    for (size_t i = 0; i < pb->n; i++) {
        tag_key(pb->langs[i]->tag, have);
        if (strcmp(want, have) == 0)
            return pb->langs[i];
    }
    return NULL;
}

static void on_translated(ccai_status st, const Ccai_llm_result *res, const char *errmsg, void *ud);
static const Ccai_llm_callbacks translate_cb = {NULL, NULL, on_translated};

static void unavailable(entry *en, ccai_log_level lvl, const char *why)
{
    Ccai_engine *e = en->pb->e;
    en->state = CCAI_PHRASES_UNAVAILABLE;
    en->retry_at = Ccai_ctx_now(e->ctx) + CCAI_PHRASES_RETRY_MS;
    Ccai_log(&e->log, lvl, "phrases in %s: %s: they are said in English", en->tag, why);
}

/* Ask the LLM for en's translation. */
static void translate(entry *en)
{
    Ccai_phrasebook *pb = en->pb;
    Ccai_engine *e = pb->e;
    if (!Ccai_config_bool(e->cfg, "prompts.translate", true) || e->n_models == 0) {
        en->state = CCAI_PHRASES_UNAVAILABLE;
        en->retry_at = UINT64_MAX;
        if (!en->logged)
            Ccai_log(&e->log, CCAI_LOG_WARN, "phrases in %s: %s: they are said in English", en->tag,
                     e->n_models ? "prompts.translate is off"
                                 : "no LLM is configured to translate them");
        en->logged = true;
        return;
    }
    char *system = Ccai_asprintf(instructions, en->tag, en->tag);
    json_t *msgs = system ? json_pack("[{s:s, s:s}, {s:s, s:s}]", "role", "system", "content",
                                      system, "role", "user", "content", pb->source)
                          : NULL;
    ccai_free(system);
    if (!msgs) {
        unavailable(en, CCAI_LOG_ERROR, "out of memory asking for a translation");
        return;
    }
    /* The fast model first, as for the conversation's short answers. */
    size_t first = 0, second = e->n_models > 1 ? 1 : 0;
    Ccai_llm_opts o = {
        .messages = msgs,
        .json_mode = true,
        .models = {&e->models[first], second != first ? &e->models[second] : NULL},
        .health = {&e->health[first], second != first ? &e->health[second] : NULL},
        .budget_ms = TRANSLATE_BUDGET_MS,
    };
    en->state = CCAI_PHRASES_PENDING;
    ccai_status st = Ccai_llm_chat(e->ctx, &o, &translate_cb, en, &en->llm);
    json_decref(msgs);
    if (st != CCAI_OK) {
        en->llm = NULL;
        unavailable(en, CCAI_LOG_WARN, ccai_status_str(st));
        return;
    }
    Ccai_log(&e->log, CCAI_LOG_INFO, "phrases in %s: asking %s for a translation", en->tag,
             e->models[first].name);
}

static void on_translated(ccai_status st, const Ccai_llm_result *res, const char *errmsg, void *ud)
{
    entry *en = ud;
    Ccai_phrasebook *pb = en->pb;
    Ccai_engine *e = pb->e;
    en->llm = NULL;
    if (st != CCAI_OK) {
        char *why = Ccai_asprintf("no translation (%s)", errmsg ? errmsg : ccai_status_str(st));
        unavailable(en, CCAI_LOG_WARN, why ? why : "no translation");
        ccai_free(why);
        return;
    }
    const char *text = res->text ? res->text : "";
    Ccai_phrase_set *set = NULL;
    char *why = NULL;
    st = Ccai_phrases_parse(e->prompts, pb->texts, text, strlen(text), &set, &why);
    if (st != CCAI_OK) {
        char *line = Ccai_asprintf("the translation by %s was rejected (%s)", res->model_name,
                                   why ? why : ccai_status_str(st));
        unavailable(en, CCAI_LOG_WARN, line ? line : "the translation was rejected");
        ccai_free(line);
        ccai_free(why);
        return;
    }
    en->set = set;
    en->state = CCAI_PHRASES_READY;
    char key[LANG_MAX + 1];
    tag_key(en->tag, key);
    st = Ccai_store_phrases_put(e->store, key, pb->hash, text, res->model_name);
    if (st != CCAI_OK)
        Ccai_log(&e->log, CCAI_LOG_WARN,
                 "phrases in %s: translated but not stored (%s): asked again after a restart",
                 en->tag, Ccai_store_errmsg(e->store));
    Ccai_log(&e->log, CCAI_LOG_INFO, "phrases in %s: translated by %s", en->tag, res->model_name);
}

/* The stored translation of en, if any and still valid. */
static CCAI_MUST_CHECK bool from_store(entry *en)
{
    Ccai_phrasebook *pb = en->pb;
    Ccai_engine *e = pb->e;
    char key[LANG_MAX + 1];
    tag_key(en->tag, key);
    char *json = NULL;
    ccai_status st = Ccai_store_phrases_get(e->store, key, pb->hash, &json);
    if (st != CCAI_OK) {
        if (st != CCAI_ERR_NOT_FOUND)
            Ccai_log(&e->log, CCAI_LOG_WARN, "phrases in %s: reading the store: %s", en->tag,
                     Ccai_store_errmsg(e->store));
        return false;
    }
    char *why = NULL;
    st = Ccai_phrases_parse(e->prompts, pb->texts, json, strlen(json), &en->set, &why);
    ccai_free(json);
    if (st != CCAI_OK) {
        Ccai_log(&e->log, CCAI_LOG_WARN, "phrases in %s: the stored translation is unfit (%s)",
                 en->tag, why ? why : ccai_status_str(st));
        ccai_free(why);
        return false;
    }
    en->state = CCAI_PHRASES_READY;
    return true;
}

/* SHA-256 of a NUL b, hex. */
static CCAI_MUST_CHECK bool hash_hex(const char *a, const char *b, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
              EVP_DigestUpdate(ctx, a, strlen(a) + 1) == 1 &&
              EVP_DigestUpdate(ctx, b, strlen(b)) == 1 && EVP_DigestFinal_ex(ctx, md, &n) == 1 &&
              n == 32;
    EVP_MD_CTX_free(ctx);
    for (unsigned i = 0; ok && i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    return ok;
}

/* The entry of lang, made (and its translation started) on first use;
 * NULL when none can be (a bad tag, the table full, NOMEM). */
static entry *entry_of(Ccai_phrasebook *pb, const char *lang)
{
    entry *en = find(pb, lang);
    if (en) {
        if (en->state == CCAI_PHRASES_UNAVAILABLE && Ccai_ctx_now(pb->e->ctx) >= en->retry_at)
            translate(en);
        return en;
    }
    if (!tag_ok(lang))
        return NULL;
    if (!pb->source) {
        if (!Ccai_engine_phrase_texts(pb->e))
            return NULL; /* out of memory: English, asked again next time */
        char *src = Ccai_phrases_source_json(pb->e->prompts, pb->texts);
        if (!src || !hash_hex(instructions, src, pb->hash)) {
            ccai_free(src);
            return NULL; /* out of memory: English, asked again next time */
        }
        pb->source = src;
    }
    if (pb->n == CCAI_PHRASES_LANGS_MAX) {
        if (!pb->full_logged)
            Ccai_log(&pb->e->log, CCAI_LOG_WARN,
                     "phrases: %d languages translated already: %s and any other are said "
                     "in English",
                     CCAI_PHRASES_LANGS_MAX, lang);
        pb->full_logged = true;
        return NULL;
    }
    if (!(en = Ccai_calloc(1, sizeof *en)))
        return NULL;
    snprintf(en->tag, sizeof en->tag, "%s", lang);
    en->pb = pb;
    en->state = CCAI_PHRASES_UNASKED;
    pb->langs[pb->n++] = en;
    if (!from_store(en))
        translate(en);
    return en;
}

/* The phrase book ------------------------------------------------------------ */

Ccai_phrasebook *Ccai_phrasebook_new(Ccai_engine *e)
{
    Ccai_phrasebook *pb = Ccai_calloc(1, sizeof *pb);
    if (pb)
        pb->e = e;
    return pb;
}

void Ccai_phrasebook_free(Ccai_phrasebook *pb)
{
    if (!pb)
        return;
    for (size_t i = 0; i < pb->n; i++) {
        Ccai_llm_cancel(pb->langs[i]->llm);
        Ccai_phrase_set_free(pb->langs[i]->set);
        ccai_free(pb->langs[i]);
    }
    ccai_free(pb->source);
    Ccai_phrase_texts_free(pb->texts);
    ccai_free(pb);
}

const Ccai_phrase_texts *Ccai_engine_phrase_texts(Ccai_engine *e)
{
    Ccai_phrasebook *pb = e->phrasebook;
    if (!pb)
        return NULL;
    if (!pb->texts) {
        if (!e->offline_lex && Ccai_offline_lexicon_new(&e->offline_lex) != CCAI_OK)
            return NULL;
        ccai_status st = Ccai_phrase_texts_new(e->offline_lex, &pb->texts);
        if (st != CCAI_OK && st != CCAI_ERR_NOMEM)
            Ccai_log(&e->log, CCAI_LOG_ERROR, "phrases: the compiled-in texts: %s (libccai bug)",
                     ccai_status_str(st));
    }
    return pb->texts;
}

json_t *Ccai_engine_texts(Ccai_engine *e, const char *prefix, const char *lang)
{
    if (!e->phrasebook || !Ccai_phrases_needs_translation(lang))
        return NULL;
    entry *en = entry_of(e->phrasebook, lang);
    if (!en || en->state != CCAI_PHRASES_READY)
        return NULL;
    const Ccai_phrase_texts *t = e->phrasebook->texts;
    size_t pl = strlen(prefix);
    json_t *o = json_object();
    for (size_t i = 0; o && i < en->set->n_text; i++) {
        if (strncmp(t->key[i], prefix, pl) == 0 &&
            json_object_set_new(o, t->key[i] + pl, json_string(en->set->text[i])) != 0) {
            json_decref(o);
            o = NULL;
        }
    }
    return o;
}

const char *Ccai_engine_phrase(Ccai_engine *e, Ccai_tts_phrase which, const char *lang,
                               uint32_t random)
{
    if ((unsigned)which >= CCAI_TTS_PHRASE_COUNT)
        return NULL;
    if (e->phrasebook && Ccai_phrases_needs_translation(lang)) {
        entry *en = entry_of(e->phrasebook, lang);
        if (en && en->state == CCAI_PHRASES_READY && en->set->n[which])
            return en->set->v[which][random % en->set->n[which]];
    }
    return Ccai_prompts_tts_pick_lang(e->prompts, which, lang, random);
}

char *Ccai_engine_render_phrase(Ccai_engine *e, Ccai_tts_phrase which, const char *lang,
                                uint32_t random, const Ccai_prompt_var *vars, size_t n)
{
    const char *tpl = Ccai_engine_phrase(e, which, lang, random);
    return tpl ? Ccai_prompt_render(tpl, vars, n) : NULL;
}

Ccai_phrases_state Ccai_engine_phrases_state(Ccai_engine *e, const char *lang)
{
    if (!e->phrasebook || !Ccai_phrases_needs_translation(lang))
        return CCAI_PHRASES_ENGLISH;
    entry *en = find(e->phrasebook, lang);
    return en ? en->state : CCAI_PHRASES_UNASKED;
}
