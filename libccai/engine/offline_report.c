/* The post-call report and SMS written without a language model: the claim
 * as sentences in the call's language ("It happened on 7 October 2024 at
 * 23:00. Nobody was hurt."), from the sections report.* and sms.* of the
 * data files (data/offline/<lang>.txt). A field of a custom schema is
 * written "label: value.". */
#include "core/json.h"
#include "engine/offline_private.h"

#include <stdio.h>
#include <string.h>

const char *const Ccai_offline_report_sections[] = {
    "report.intro",
    "report.incident_description",
    "report.incident_datetime",
    "report.incident_location",
    "report.injuries",
    "report.injuries.none",
    "report.involved_parties",
    "report.witnesses",
    "report.witnesses.none",
    "report.pre_existing_damages",
    "report.pre_existing_damages.none",
    "report.medical_records",
    "report.medical_records.none",
    "report.policyholder_name",
    "report.policy_number",
    "report.policyholder_phone",
    "report.policyholder_email",
    "report.field",
    "report.nothing",
    "report.follow_up",
    "report.short",
    "sms.hello",
    "sms.sign",
    "sms.sign_one",
    NULL,
};

/* What the report is written with: the lexicon, the call's language in
 * it, the translated sections of a language it has not. */
typedef struct writer {
    const Ccai_ofl_lexicon *lx;
    int lang;
    const json_t *texts;
} writer;

/* Entry k of a section in the language (or its translation), else in
 * English. */
static const char *phrase(const writer *w, const char *section, unsigned k)
{
    const Ccai_ofl_lexicon *lx = w->lx;
    int lang = w->lang;
    const char *tr = k == 0 ? json_string_value(json_object_get(w->texts, section)) : NULL;
    if (tr)
        return tr;
    const Ccai_ofl_entry *e;
    size_t n = Ccai_ofl_lex_get(lx, lang, section, &e);
    if (n == 0 && lang != lx->en)
        n = Ccai_ofl_lex_get(lx, lx->en, section, &e);
    return k < n ? e[k].text : NULL;
}

/* The next placeholder of p: "%s" (the next argument) or, in a
 * translation, "{1}" / "{2}" (that one); NULL when none. *len its length,
 * *arg the argument's index. */
static const char *next_slot(const char *p, size_t *len, int *arg, int seq)
{
    for (; *p; p++) {
        if (p[0] == '%' && p[1] == 's') {
            *len = 2;
            *arg = seq;
            return p;
        }
        if (p[0] == '{' && (p[1] == '1' || p[1] == '2') && p[2] == '}') {
            *len = 3;
            *arg = p[1] - '1';
            return p;
        }
    }
    return NULL;
}

/* Append the template with its first "%s" (or "{1}") replaced by a, the
 * second (or "{2}") by c, after a space when the text is not empty. */
static CCAI_MUST_CHECK bool fill(Ccai_buf *b, const char *tmpl, const char *a, const char *c)
{
    if (!tmpl)
        return true;
    if (b->len && !Ccai_buf_puts(b, " "))
        return false;
    const char *args[2] = {a, c};
    int k = 0;
    for (const char *p = tmpl; *p;) {
        size_t len;
        int arg;
        const char *at = next_slot(p, &len, &arg, k);
        if (!at)
            return Ccai_buf_puts(b, p);
        if (!Ccai_buf_append(b, p, (size_t)(at - p)) ||
            !Ccai_buf_puts(b, arg < 2 && args[arg] ? args[arg] : ""))
            return false;
        k++;
        p = at + len;
    }
    return true;
}

/* "None", "Aucun", "Ninguno": the none value of any language. */
static CCAI_MUST_CHECK bool is_none(const Ccai_ofl_lexicon *lx, const char *v)
{
    for (int l = 0; l < lx->nlang; l++) {
        if (Ccai_strcasecmp(v, lx->lang[l].msg[M_NONE_VALUE]) == 0)
            return true;
    }
    return false;
}

/* The value without the full stop the caller's sentence ended with. */
static char *trimmed(const char *v)
{
    char *s = Ccai_strdup(v);
    size_t n = s ? strlen(s) : 0;
    while (n > 0 && (s[n - 1] == '.' || s[n - 1] == '!' || Ccai_is_space((unsigned char)s[n - 1])))
        s[--n] = '\0';
    return s;
}

/* A date in a language the lexicon has no month names for (its sentences
 * are the LLM's translation): "2024-10-07 21:30", read the same in every
 * language, rather than English month words in a translated sentence;
 * the date alone at midnight. NULL when v is not such a date (or
 * *ret_nomem). */
static char *numeric_date(const char *v, bool *ret_nomem)
{
    int y, mo, d, h, mi;
    *ret_nomem = false;
    if (!v || sscanf(v, "%4d-%2d-%2dT%2d:%2d", &y, &mo, &d, &h, &mi) != 5 || mo < 1 || mo > 12 ||
        d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59)
        return NULL;
    char *out = (h == 0 && mi == 0) ? Ccai_asprintf("%04d-%02d-%02d", y, mo, d)
                                    : Ccai_asprintf("%04d-%02d-%02d %02d:%02d", y, mo, d, h, mi);
    *ret_nomem = out == NULL;
    return out;
}

/* One field as a sentence. */
static CCAI_MUST_CHECK bool field_sentence(const writer *w, Ccai_buf *b, const char *key,
                                           const char *value)
{
    const Ccai_ofl_lexicon *lx = w->lx;
    int lang = w->lang;
    char sec[CCAI_OFL_SECTION_MAX];
    bool none = is_none(lx, value);
    if (Ccai_strjoin(sec, sizeof sec, "report.", key, none ? ".none" : "", NULL) >= sizeof sec)
        sec[0] = '\0';
    const char *tmpl = sec[0] ? phrase(w, sec, 0) : NULL;
    char *v = NULL;
    bool nomem = false;
    if (strcmp(key, "incident_datetime") == 0)
        v = w->texts ? numeric_date(value, &nomem) : Ccai_ofl_date_words(lx, lang, value, &nomem);
    if (!v && !nomem)
        v = trimmed(value);
    if (!v)
        return false;
    bool ok;
    if (tmpl) {
        ok = fill(b, tmpl, v, NULL);
    } else {
        /* a field of a custom schema: "date of birth: 1980-01-02." */
        char *label = Ccai_strdup(key);
        for (char *p = label; p && *p; p++)
            if (*p == '_')
                *p = ' ';
        ok = label && fill(b, phrase(w, "report.field", 0), label, v);
        ccai_free(label);
    }
    ccai_free(v);
    return ok;
}

ccai_status Ccai_offline_report_make(const Ccai_ofl_lexicon *lx, const json_t *texts,
                                     const char *lang_code, const char *claim_json,
                                     const char *bot_name, const char *bot_company,
                                     Ccai_offline_report *ret)
{
    if (!lx || !ret)
        return CCAI_ERR_INVALID_ARG;
    memset(ret, 0, sizeof *ret);
    Ccai_json_err je;
    ccai_status st = CCAI_OK;
    json_t *claim = Ccai_json_load(claim_json ? claim_json : "{}",
                                   claim_json ? strlen(claim_json) : 2, &je, &st);
    if (!claim)
        return st == CCAI_OK ? CCAI_ERR_PARSE : st;
    if (!json_is_object(claim)) {
        json_decref(claim);
        return CCAI_ERR_PARSE;
    }
    const writer w = {lx, Ccai_ofl_lang_index(lx, lang_code), json_is_object(texts) ? texts : NULL};
    /* What happened first, then the people, then how to reach them; any
     * other field after, in the claim's order. */
    static const char *const order[] = {
        "incident_description", "incident_datetime", "incident_location",    "injuries",
        "involved_parties",     "witnesses",         "pre_existing_damages", "medical_records",
        "policyholder_name",    "policy_number",     "policyholder_phone",   "policyholder_email"};
    Ccai_buf lng = {0}, sms = {0};
    bool ok = true;
    size_t said = 0;
    for (size_t k = 0; ok && k < CCAI_ARRAY_SIZE(order); k++) {
        const char *v = json_string_value(json_object_get(claim, order[k]));
        if (!v || !*v)
            continue;
        if (said++ == 0)
            ok = fill(&lng, phrase(&w, "report.intro", 0), NULL, NULL);
        ok = ok && field_sentence(&w, &lng, order[k], v);
    }
    const char *key;
    json_t *jv;
    json_object_foreach(claim, key, jv)
    {
        const char *v = json_string_value(jv);
        bool known = false;
        for (size_t k = 0; k < CCAI_ARRAY_SIZE(order) && !known; k++)
            known = strcmp(order[k], key) == 0;
        if (!ok || known || !v || !*v)
            continue;
        if (said++ == 0)
            ok = fill(&lng, phrase(&w, "report.intro", 0), NULL, NULL);
        ok = ok && field_sentence(&w, &lng, key, v);
    }
    if (!said)
        ok = ok && fill(&lng, phrase(&w, "report.nothing", 0), NULL, NULL);
    ok = ok && fill(&lng, phrase(&w, "report.follow_up", 0), NULL, NULL);

    /* The short form: what happened, in the caller's words, cut at a word. */
    const char *desc = json_string_value(json_object_get(claim, "incident_description"));
    char *shrt = desc && *desc ? trimmed(desc) : Ccai_strdup(phrase(&w, "report.short", 0));
    if (shrt && strlen(shrt) > CCAI_OFFLINE_REPORT_SHORT_MAX) {
        size_t n = CCAI_OFFLINE_REPORT_SHORT_MAX;
        while (n > 0 && shrt[n] != ' ')
            n--;
        shrt[n ? n : CCAI_OFFLINE_REPORT_SHORT_MAX] = '\0';
        /* not inside a UTF-8 sequence */
        n = strlen(shrt);
        while (n > 0 && ((unsigned char)shrt[n - 1] & 0xC0) == 0x80)
            n--;
        if (n > 0 && (unsigned char)shrt[n - 1] >= 0xC0)
            shrt[n - 1] = '\0';
    }
    ok = ok && shrt;

    ok = ok && fill(&sms, phrase(&w, "sms.hello", 0), NULL, NULL) && Ccai_buf_puts(&sms, " ") &&
         Ccai_buf_puts(&sms, lng.data ? lng.data : "");
    bool named = bot_name && *bot_name, company = bot_company && *bot_company;
    if (ok && (named || company))
        ok = fill(&sms, phrase(&w, named && company ? "sms.sign" : "sms.sign_one", 0),
                  named ? bot_name : bot_company, bot_company);
    json_decref(claim);
    if (ok) {
        ret->long_text = Ccai_buf_steal(&lng);
        ret->sms = Ccai_buf_steal(&sms);
        ret->short_text = shrt;
        shrt = NULL;
        ok = ret->long_text && ret->sms;
    }
    ccai_free(shrt);
    Ccai_buf_free(&lng);
    Ccai_buf_free(&sms);
    if (!ok) {
        Ccai_offline_report_clear(ret);
        return CCAI_ERR_NOMEM;
    }
    return CCAI_OK;
}

void Ccai_offline_report_clear(Ccai_offline_report *r)
{
    if (!r)
        return;
    ccai_free(r->short_text);
    ccai_free(r->long_text);
    ccai_free(r->sms);
    memset(r, 0, sizeof *r);
}
