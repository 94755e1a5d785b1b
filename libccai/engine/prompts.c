/* Prompt templates: checking, rendering, the configured set. */
#include "engine/prompts.h"

#include "config/config.h"
#include "core/embedded.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Longest placeholder name. */
#define NAME_MAX_LEN 64

/* Template scanner ------------------------------------------------------- */

typedef enum tok_kind {
    TOK_TEXT,  /* literal text: s[0..len) */
    TOK_BRACE, /* "{{" or "}}": the brace s[0] */
    TOK_VAR,   /* "{name}": name is s[0..len) */
    TOK_BAD,   /* malformed: s[0..len) is the offending text */
    TOK_END
} tok_kind;

typedef struct tok {
    tok_kind kind;
    const char *s;
    size_t len;
    const char *why; /* TOK_BAD */
} tok;

static CCAI_MUST_CHECK bool name_char(unsigned char c, bool first)
{
    return Ccai_is_alpha(c) || c == '_' || (!first && Ccai_is_digit(c));
}

/* The token at *pp, which moves past it. */
static tok next_tok(const char **pp)
{
    const char *p = *pp;
    tok t = {TOK_END, p, 0, NULL};
    if (!*p)
        return t;
    if (*p == '{' || *p == '}') {
        if (p[1] == *p) {
            t.kind = TOK_BRACE;
            t.len = 1;
            *pp = p + 2;
            return t;
        }
        t.kind = TOK_BAD;
        if (*p == '}') {
            t.len = 1;
            t.why = "single '}' (write '}}' for a literal brace)";
            *pp = p + 1;
            return t;
        }
        const char *q = p + 1;
        while (*q && *q != '}' && *q != '{' && *q != '\n')
            q++;
        if (*q != '}') {
            t.len = (size_t)(q - p);
            t.why = "single '{' (write '{{' for a literal brace)";
            *pp = q;
            return t;
        }
        size_t n = (size_t)(q - p - 1);
        bool ok = n > 0 && n <= NAME_MAX_LEN;
        for (size_t i = 0; ok && i < n; i++)
            ok = name_char((unsigned char)p[1 + i], i == 0);
        if (!ok) {
            t.len = n + 2;
            t.why = "invalid placeholder name";
            *pp = q + 1;
            return t;
        }
        t.kind = TOK_VAR;
        t.s = p + 1;
        t.len = n;
        *pp = q + 1;
        return t;
    }
    const char *q = p;
    while (*q && *q != '{' && *q != '}')
        q++;
    t.kind = TOK_TEXT;
    t.len = (size_t)(q - p);
    *pp = q;
    return t;
}

/* Line and column (1-based, bytes) of p in tpl. */
static void position(const char *tpl, const char *p, size_t *line, size_t *col)
{
    *line = 1;
    const char *bol = tpl;
    for (const char *q = tpl; q < p; q++) {
        if (*q == '\n') {
            (*line)++;
            bol = q + 1;
        }
    }
    *col = (size_t)(p - bol) + 1;
}

static CCAI_MUST_CHECK bool is_allowed(const char *const *allowed, const char *name, size_t len)
{
    for (size_t i = 0; allowed && allowed[i]; i++) {
        if (strlen(allowed[i]) == len && memcmp(allowed[i], name, len) == 0)
            return true;
    }
    return false;
}

static CCAI_MUST_CHECK ccai_status fail(char **ret_error, ccai_status st, char *msg)
{
    if (!msg)
        return CCAI_ERR_NOMEM;
    if (ret_error)
        *ret_error = msg;
    else
        ccai_free(msg);
    return st;
}

ccai_status Ccai_prompt_check(const char *tpl, const char *const *allowed, char **ret_error)
{
    if (ret_error)
        *ret_error = NULL;
    if (!tpl)
        return CCAI_ERR_INVALID_ARG;
    size_t len = strlen(tpl);
    if (len > CCAI_PROMPT_TPL_MAX)
        return fail(ret_error, CCAI_ERR_LIMIT,
                    Ccai_asprintf("template of %zu bytes, more than the %d allowed", len,
                                  CCAI_PROMPT_TPL_MAX));
    const char *p = tpl;
    for (tok t = next_tok(&p); t.kind != TOK_END; t = next_tok(&p)) {
        if (t.kind == TOK_BAD) {
            size_t line, col;
            position(tpl, t.s, &line, &col);
            size_t shown = t.len < 40 ? t.len : 40;
            return fail(ret_error, CCAI_ERR_VALIDATION,
                        Ccai_asprintf("line %zu, column %zu: %s: \"%.*s%s\"", line, col, t.why,
                                      (int)shown, t.s, shown < t.len ? "..." : ""));
        }
        if (t.kind != TOK_VAR || is_allowed(allowed, t.s, t.len))
            continue;
        Ccai_buf b = {0};
        bool ok = Ccai_buf_printf(&b, "unknown placeholder {%.*s}; allowed: ", (int)t.len, t.s);
        for (size_t i = 0; ok && allowed && allowed[i]; i++)
            ok = Ccai_buf_printf(&b, "%s%s", i ? ", " : "", allowed[i]);
        if (ok && (!allowed || !allowed[0]))
            ok = Ccai_buf_puts(&b, "none");
        if (!ok) {
            Ccai_buf_free(&b);
            return CCAI_ERR_NOMEM;
        }
        return fail(ret_error, CCAI_ERR_VALIDATION, Ccai_buf_steal(&b));
    }
    return CCAI_OK;
}

/* Rendering ---------------------------------------------------------------- */

static CCAI_MUST_CHECK bool blank_line(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return false;
    }
    return true;
}

/* textwrap.dedent(): remove the leading white space every non-blank line
 * shares; blank lines become empty. Then trim the whole text. */
static CCAI_MUST_CHECK bool dedent(const char *tpl, Ccai_buf *out)
{
    const char *prefix = NULL;
    size_t plen = 0;
    for (const char *l = tpl; *l;) {
        size_t n = strcspn(l, "\n");
        if (!blank_line(l, n)) {
            size_t w = strspn(l, " \t");
            if (!prefix) {
                prefix = l;
                plen = w;
            } else {
                size_t i = 0;
                while (i < plen && i < w && prefix[i] == l[i])
                    i++;
                plen = i;
            }
        }
        l += n + (l[n] == '\n');
    }
    for (const char *l = tpl; *l;) {
        size_t n = strcspn(l, "\n");
        bool nl = l[n] == '\n';
        if (blank_line(l, n)) {
            if (nl && !Ccai_buf_append(out, "\n", 1))
                return false;
        } else if (!Ccai_buf_append(out, l + plen, n - plen + nl)) {
            return false;
        }
        l += n + nl;
    }
    if (!out->data && !Ccai_buf_append(out, "", 0))
        return false;
    size_t a = 0, z = out->len;
    while (a < z && Ccai_is_space((unsigned char)out->data[a]))
        a++;
    while (z > a && Ccai_is_space((unsigned char)out->data[z - 1]))
        z--;
    memmove(out->data, out->data + a, z - a);
    out->len = z - a;
    out->data[out->len] = '\0';
    return true;
}

static const Ccai_prompt_var *find_var(const Ccai_prompt_var *vars, size_t n, const char *name,
                                       size_t len)
{
    for (size_t i = 0; i < n; i++) {
        if (vars[i].name && strlen(vars[i].name) == len && memcmp(vars[i].name, name, len) == 0)
            return &vars[i];
    }
    return NULL;
}

static CCAI_MUST_CHECK bool put(Ccai_buf *b, const char *s, size_t n)
{
    return b->len + n <= CCAI_PROMPT_OUT_MAX && Ccai_buf_append(b, s, n);
}

static char *render(const char *tpl, const Ccai_prompt_var *vars, size_t n, bool collapse)
{
    if (!tpl || (n && !vars) || strlen(tpl) > CCAI_PROMPT_TPL_MAX)
        return NULL;
    Ccai_buf d = {0}, out = {0};
    bool ok = dedent(tpl, &d) && put(&out, "", 0);
    const char *p = ok ? d.data : "";
    for (tok t = next_tok(&p); ok && t.kind != TOK_END; t = next_tok(&p)) {
        const Ccai_prompt_var *v = t.kind == TOK_VAR ? find_var(vars, n, t.s, t.len) : NULL;
        if (v)
            ok = v->value ? put(&out, v->value, strlen(v->value)) : true;
        else if (t.kind == TOK_VAR)
            ok = put(&out, t.s - 1, t.len + 2);
        else
            ok = put(&out, t.s, t.len);
    }
    Ccai_buf_free(&d);
    if (!ok) {
        Ccai_buf_free(&out);
        return NULL;
    }
    /* Trim again: a value may end in white space, or be empty. */
    size_t a = 0, z = out.len, o = 0;
    while (a < z && Ccai_is_space((unsigned char)out.data[a]))
        a++;
    while (z > a && Ccai_is_space((unsigned char)out.data[z - 1]))
        z--;
    for (size_t i = a; i < z;) {
        if (collapse && Ccai_is_space((unsigned char)out.data[i])) {
            size_t j = i;
            bool nl = false;
            while (j < z && Ccai_is_space((unsigned char)out.data[j]))
                nl |= out.data[j++] == '\n';
            if (nl) {
                out.data[o++] = ' ';
                i = j;
                continue;
            }
        }
        out.data[o++] = out.data[i++];
    }
    out.data[o] = '\0';
    out.len = o;
    return Ccai_buf_steal(&out);
}

char *Ccai_prompt_render(const char *tpl, const Ccai_prompt_var *vars, size_t n)
{
    return render(tpl, vars, n, false);
}

char *Ccai_prompt_render_llm(const char *tpl, const Ccai_prompt_var *vars, size_t n)
{
    return render(tpl, vars, n, true);
}

/* Names and placeholders ---------------------------------------------------- */

static const char *const vars_default[] = {"bot_name",     "bot_company", "bot_phone_number",
                                           "phone_number", "date",        NULL};
static const char *const vars_chat[] = {"task",   "default_lang", "bot_company", "actions",
                                        "styles", "claim",        "reminders",   NULL};
static const char *const vars_report[] = {"task", "claim", "reminders", "messages", "format", NULL};
static const char *const vars_sms[] = {"default_lang", "task",     "claim",       "reminders",
                                       "messages",     "bot_name", "bot_company", NULL};
static const char *const vars_citations[] = {"claim", "reminders", "text", NULL};
static const char *const vars_none[] = {NULL};
static const char *const vars_bot[] = {"bot_name", "bot_company", NULL};
static const char *const vars_company[] = {"bot_company", NULL};
static const char *const vars_ivr[] = {"label", "index", NULL};
static const char *const vars_callback[] = {"bot_name", "bot_company", "about", NULL};

static const struct {
    const char *name;
    const char *const *vars;
} llm_prompts[CCAI_PROMPT_LLM_COUNT] = {
    [CCAI_PROMPT_DEFAULT_SYSTEM] = {"default_system", vars_default},
    [CCAI_PROMPT_CHAT_SYSTEM] = {"chat_system", vars_chat},
    [CCAI_PROMPT_SYNTHESIS_SYSTEM] = {"synthesis_system", vars_report},
    [CCAI_PROMPT_NEXT_SYSTEM] = {"next_system", vars_report},
    [CCAI_PROMPT_SMS_SUMMARY_SYSTEM] = {"sms_summary_system", vars_sms},
    [CCAI_PROMPT_CITATIONS_SYSTEM] = {"citations_system", vars_citations},
};

static const struct {
    const char *name;
    const char *const *vars;
} tts_phrases[CCAI_TTS_PHRASE_COUNT] = {
    [CCAI_TTS_HELLO] = {"hello", vars_bot},
    [CCAI_TTS_GOODBYE] = {"goodbye", vars_company},
    [CCAI_TTS_ERROR] = {"error", vars_none},
    [CCAI_TTS_TIMEOUT_SILENCE] = {"timeout_silence", vars_none},
    [CCAI_TTS_TIMEOUT_LOADING] = {"timeout_loading", vars_none},
    [CCAI_TTS_IVR_LANGUAGE] = {"ivr_language", vars_ivr},
    [CCAI_TTS_END_CALL_TO_CONNECT_AGENT] = {"end_call_to_connect_agent", vars_none},
    [CCAI_TTS_CALLTRANSFER_FAILURE] = {"calltransfer_failure", vars_none},
    [CCAI_TTS_CONNECT_AGENT] = {"connect_agent", vars_none},
    [CCAI_TTS_WELCOME_BACK] = {"welcome_back", vars_bot},
    [CCAI_TTS_OFFLINE_TAKE_OVER] = {"offline_take_over", vars_none},
    [CCAI_TTS_CALLBACK] = {"callback", vars_callback},
    [CCAI_TTS_JAILBREAK_REFUSAL] = {"jailbreak_refusal", vars_none},
};

const char *Ccai_llm_prompt_name(Ccai_llm_prompt which)
{
    return (unsigned)which < CCAI_PROMPT_LLM_COUNT ? llm_prompts[which].name : NULL;
}

const char *Ccai_tts_phrase_name(Ccai_tts_phrase which)
{
    return (unsigned)which < CCAI_TTS_PHRASE_COUNT ? tts_phrases[which].name : NULL;
}

const char *const *Ccai_llm_prompt_vars(Ccai_llm_prompt which)
{
    return (unsigned)which < CCAI_PROMPT_LLM_COUNT ? llm_prompts[which].vars : NULL;
}

const char *const *Ccai_tts_phrase_vars(Ccai_tts_phrase which)
{
    return (unsigned)which < CCAI_TTS_PHRASE_COUNT ? tts_phrases[which].vars : NULL;
}

/* The prompt set ------------------------------------------------------------ */

typedef struct variants {
    char **v;
    size_t n;
} variants;

/* A phrase in one language: data/prompts/tts/<lang>/<phrase>.txt. */
typedef struct lang_variants {
    char lang[16]; /* "fr-FR" */
    variants vs;
} lang_variants;

#define TTS_LANGS_MAX 16

struct Ccai_prompts {
    char *llm[CCAI_PROMPT_LLM_COUNT];
    variants tts[CCAI_TTS_PHRASE_COUNT];
    /* Translations of the compiled-in phrases; not used for a phrase the
     * configuration overrides (its text is then the same in every
     * language, as the reference's). */
    lang_variants tts_lang[CCAI_TTS_PHRASE_COUNT][TTS_LANGS_MAX];
    size_t n_tts_lang[CCAI_TTS_PHRASE_COUNT];
};

void Ccai_prompts_free(Ccai_prompts *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < CCAI_PROMPT_LLM_COUNT; i++)
        ccai_free(p->llm[i]);
    for (size_t i = 0; i < CCAI_TTS_PHRASE_COUNT; i++) {
        for (size_t j = 0; j < p->tts[i].n; j++)
            ccai_free(p->tts[i].v[j]);
        ccai_free(p->tts[i].v);
        for (size_t l = 0; l < p->n_tts_lang[i]; l++) {
            variants *vs = &p->tts_lang[i][l].vs;
            for (size_t j = 0; j < vs->n; j++)
                ccai_free(vs->v[j]);
            ccai_free(vs->v);
        }
    }
    ccai_free(p);
}

/* data/prompts/<dir>/<name><ext>, compiled in. */
static const Ccai_embedded *embedded(const char *dir, const char *name, const char *ext)
{
    char path[128];
    int n = snprintf(path, sizeof path, "prompts/%s/%s%s", dir, name, ext);
    return n > 0 && (size_t)n < sizeof path ? Ccai_embedded_find(path) : NULL;
}

/* Errors are gathered, one per line, so that every bad template is named at
 * once. Returns false on NOMEM. */
static CCAI_MUST_CHECK bool add_error(Ccai_buf *errs, const char *key, long item, const char *msg)
{
    if (errs->len && !Ccai_buf_puts(errs, "\n"))
        return false;
    if (item >= 0)
        return Ccai_buf_printf(errs, "%s[%ld]: %s", key, item, msg);
    return Ccai_buf_printf(errs, "%s: %s", key, msg);
}

/* Check one template; false on NOMEM. */
static CCAI_MUST_CHECK bool check(const char *tpl, const char *const *vars, const char *key,
                                  long item, Ccai_buf *errs)
{
    char *why = NULL;
    ccai_status st = Ccai_prompt_check(tpl, vars, &why);
    if (st == CCAI_ERR_NOMEM)
        return false;
    bool ok = st == CCAI_OK || add_error(errs, key, item, why ? why : ccai_status_str(st));
    ccai_free(why);
    return ok;
}

static CCAI_MUST_CHECK bool variant_add(variants *vs, const char *s, size_t len)
{
    while (len && Ccai_is_space((unsigned char)*s)) {
        s++;
        len--;
    }
    while (len && Ccai_is_space((unsigned char)s[len - 1]))
        len--;
    char **v = Ccai_realloc(vs->v, (vs->n + 1) * sizeof *v);
    if (!v)
        return false;
    vs->v = v;
    if (!(v[vs->n] = Ccai_strndup(s, len)))
        return false;
    vs->n++;
    return true;
}

/* One variant per non-blank line. */
static CCAI_MUST_CHECK bool variants_from_lines(variants *vs, const char *text)
{
    for (const char *l = text; *l;) {
        size_t n = strcspn(l, "\n");
        if (!blank_line(l, n) && !variant_add(vs, l, n))
            return false;
        l += n + (l[n] == '\n');
    }
    return true;
}

static CCAI_MUST_CHECK bool load_llm(Ccai_prompts *p, const ccai_config *cfg, Ccai_llm_prompt i,
                                     Ccai_buf *errs)
{
    char key[96];
    snprintf(key, sizeof key, "prompts.llm.%s_tpl", llm_prompts[i].name);
    const char *text = cfg ? Ccai_config_str(cfg, key) : NULL;
    if (!text) {
        const Ccai_embedded *f = embedded("llm", llm_prompts[i].name, ".md");
        if (!f)
            return add_error(errs, key, -1, "no compiled-in default (libccai bug)");
        text = (const char *)f->data;
    }
    if (!(p->llm[i] = Ccai_strdup(text)))
        return false;
    return check(p->llm[i], llm_prompts[i].vars, key, -1, errs);
}

/* The compiled-in translations of phrase i: tts/<lang>/<name>.txt. */
static CCAI_MUST_CHECK bool load_tts_langs(Ccai_prompts *p, Ccai_tts_phrase i, Ccai_buf *errs)
{
    const char *name = tts_phrases[i].name;
    size_t nl = strlen(name);
    for (size_t f = 0; f < Ccai_embedded_count; f++) {
        const char *path = Ccai_embedded_files[f].path;
        if (strncmp(path, "prompts/tts/", 12) != 0)
            continue;
        const char *lang = path + 12, *slash = strchr(lang, '/');
        if (!slash || (size_t)(slash - lang) >= sizeof p->tts_lang[i][0].lang ||
            strncmp(slash + 1, name, nl) != 0 || strcmp(slash + 1 + nl, ".txt") != 0)
            continue;
        char key[96];
        snprintf(key, sizeof key, "data/%s", path);
        if (p->n_tts_lang[i] == TTS_LANGS_MAX)
            return add_error(errs, key, -1, "too many languages (libccai bug)");
        lang_variants *lv = &p->tts_lang[i][p->n_tts_lang[i]++];
        snprintf(lv->lang, sizeof lv->lang, "%.*s", (int)(slash - lang), lang);
        if (!variants_from_lines(&lv->vs, (const char *)Ccai_embedded_files[f].data))
            return false;
        for (size_t j = 0; j < lv->vs.n; j++) {
            if (!check(lv->vs.v[j], tts_phrases[i].vars, key, (long)j, errs))
                return false;
        }
    }
    return true;
}

static CCAI_MUST_CHECK bool load_tts(Ccai_prompts *p, const ccai_config *cfg, Ccai_tts_phrase i,
                                     Ccai_buf *errs)
{
    char key[96];
    snprintf(key, sizeof key, "prompts.tts.%s_tpl", tts_phrases[i].name);
    /* A list comes as JSON; a single string may come either way. */
    const json_t *v = cfg ? Ccai_config_json(cfg, key) : NULL;
    const char *s = cfg && !v ? Ccai_config_str(cfg, key) : NULL;
    variants *vs = &p->tts[i];
    bool list = json_is_array(v);
    if (s) {
        if (!variant_add(vs, s, strlen(s)))
            return false;
    } else if (!v) {
        const Ccai_embedded *f = embedded("tts", tts_phrases[i].name, ".txt");
        if (!f)
            return add_error(errs, key, -1, "no compiled-in default (libccai bug)");
        if (!variants_from_lines(vs, (const char *)f->data))
            return false;
    } else if (json_is_string(v)) {
        if (!variant_add(vs, json_string_value(v), json_string_length(v)))
            return false;
    } else if (list) {
        size_t n = json_array_size(v);
        if (n > CCAI_PROMPT_VARIANTS_MAX) {
            char msg[64];
            snprintf(msg, sizeof msg, "more than %d variants", CCAI_PROMPT_VARIANTS_MAX);
            return add_error(errs, key, -1, msg);
        }
        for (size_t j = 0; j < n; j++) {
            const json_t *e = json_array_get(v, j);
            if (!json_is_string(e))
                return add_error(errs, key, (long)j, "expected a string");
            if (!variant_add(vs, json_string_value(e), json_string_length(e)))
                return false;
        }
    } else {
        return add_error(errs, key, -1, "expected a string or a list of strings");
    }
    if (vs->n == 0)
        return add_error(errs, key, -1, "needs at least one variant");
    if (!v && !s && !load_tts_langs(p, i, errs))
        return false;
    for (size_t j = 0; j < vs->n; j++) {
        if (!vs->v[j][0]) {
            if (!add_error(errs, key, list ? (long)j : -1, "empty text"))
                return false;
            continue;
        }
        if (!check(vs->v[j], tts_phrases[i].vars, key, list ? (long)j : -1, errs))
            return false;
    }
    return true;
}

Ccai_prompts *Ccai_prompts_new(const ccai_config *cfg, char **ret_error)
{
    if (ret_error)
        *ret_error = NULL;
    Ccai_prompts *p = Ccai_calloc(1, sizeof *p);
    Ccai_buf errs = {0};
    bool ok = p != NULL;
    for (size_t i = 0; ok && i < CCAI_PROMPT_LLM_COUNT; i++)
        ok = load_llm(p, cfg, (Ccai_llm_prompt)i, &errs);
    for (size_t i = 0; ok && i < CCAI_TTS_PHRASE_COUNT; i++)
        ok = load_tts(p, cfg, (Ccai_tts_phrase)i, &errs);
    if (ok && errs.len == 0) {
        Ccai_buf_free(&errs);
        return p;
    }
    Ccai_prompts_free(p);
    if (ok && ret_error)
        *ret_error = Ccai_buf_steal(&errs);
    Ccai_buf_free(&errs);
    return NULL;
}

const char *Ccai_prompts_llm(const Ccai_prompts *p, Ccai_llm_prompt which)
{
    return p && (unsigned)which < CCAI_PROMPT_LLM_COUNT ? p->llm[which] : NULL;
}

size_t Ccai_prompts_tts_count(const Ccai_prompts *p, Ccai_tts_phrase which)
{
    return p && (unsigned)which < CCAI_TTS_PHRASE_COUNT ? p->tts[which].n : 0;
}

const char *Ccai_prompts_tts_pick(const Ccai_prompts *p, Ccai_tts_phrase which, uint32_t random)
{
    size_t n = Ccai_prompts_tts_count(p, which);
    return n ? p->tts[which].v[random % n] : NULL;
}

char *Ccai_prompts_render_llm(const Ccai_prompts *p, Ccai_llm_prompt which,
                              const Ccai_prompt_var *vars, size_t n)
{
    const char *tpl = Ccai_prompts_llm(p, which);
    return tpl ? Ccai_prompt_render_llm(tpl, vars, n) : NULL;
}

char *Ccai_prompts_render_tts(const Ccai_prompts *p, Ccai_tts_phrase which, uint32_t random,
                              const Ccai_prompt_var *vars, size_t n)
{
    return Ccai_prompts_render_tts_lang(p, which, NULL, random, vars, n);
}

/* The translation of a phrase for lang: the same tag ("fr-FR"), else the
 * same language ("fr-CA" takes "fr-FR"); NULL for none. */
static const variants *translation(const Ccai_prompts *p, Ccai_tts_phrase which, const char *lang)
{
    if (!p || !lang || (unsigned)which >= CCAI_TTS_PHRASE_COUNT)
        return NULL;
    size_t pl = strcspn(lang, "-_");
    const variants *same_language = NULL;
    for (size_t l = 0; l < p->n_tts_lang[which]; l++) {
        const lang_variants *lv = &p->tts_lang[which][l];
        if (Ccai_strcasecmp(lv->lang, lang) == 0)
            return &lv->vs;
        if (!same_language && strlen(lv->lang) > pl && strchr("-_", lv->lang[pl]) &&
            strncasecmp(lv->lang, lang, pl) == 0)
            same_language = &lv->vs;
    }
    return same_language;
}

const char *Ccai_prompts_tts_pick_lang(const Ccai_prompts *p, Ccai_tts_phrase which,
                                       const char *lang, uint32_t random)
{
    const variants *vs = translation(p, which, lang);
    return vs && vs->n ? vs->v[random % vs->n] : Ccai_prompts_tts_pick(p, which, random);
}

char *Ccai_prompts_render_tts_lang(const Ccai_prompts *p, Ccai_tts_phrase which, const char *lang,
                                   uint32_t random, const Ccai_prompt_var *vars, size_t n)
{
    const char *tpl = Ccai_prompts_tts_pick_lang(p, which, lang, random);
    return tpl ? Ccai_prompt_render(tpl, vars, n) : NULL;
}

bool Ccai_prompts_tts_has_lang(const char *lang)
{
    if (!lang || !*lang)
        return false;
    size_t pl = strcspn(lang, "-_");
    for (size_t f = 0; f < Ccai_embedded_count; f++) {
        const char *path = Ccai_embedded_files[f].path;
        if (strncmp(path, "prompts/tts/", 12) != 0)
            continue;
        const char *l = path + 12, *slash = strchr(l, '/');
        size_t n = slash ? (size_t)(slash - l) : 0;
        if (n > pl && strchr("-_", l[pl]) && strncasecmp(l, lang, pl) == 0)
            return true;
    }
    return false;
}
