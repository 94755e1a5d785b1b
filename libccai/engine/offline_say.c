/* The offline dialogue: what the bot says (the reply being built, the
 * phrases of the caller's language, the fields and values read out) and
 * the values set during a turn (offline.c tells the whole design). */
#include "core/json.h"
#include "engine/offline_private.h"

#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Reply building (sticky failure in o->oom)                                */
/* ------------------------------------------------------------------------ */

static void push_action(Ccai_offline *o, Ccai_offline_action_kind kind, const char *field,
                        char *text, bool expects)
{
    if (o->oom) {
        ccai_free(text);
        return;
    }
    if (o->nacts == o->capacts) {
        size_t cap = o->capacts ? o->capacts * 2 : 8;
        Ccai_offline_action *a = Ccai_realloc(o->acts, cap * sizeof *a);
        if (!a)
            goto nomem;
        o->acts = a;
        char **t = Ccai_realloc(o->texts, cap * sizeof *t);
        if (!t)
            goto nomem;
        o->texts = t;
        o->capacts = cap;
    }
    o->acts[o->nacts] = (Ccai_offline_action){kind, text, field, expects};
    o->texts[o->nacts] = text;
    o->nacts++;
    return;

nomem:
    ccai_free(text);
    o->oom = true;
}

/* Send the sentences gathered so far as one SAY. */
void Ccai_ofl_flush_say(Ccai_offline *o, bool expects)
{
    if (o->oom || o->say.len == 0)
        return;
    char *text = Ccai_buf_steal(&o->say);
    Ccai_buf_reset(&o->say);
    if (!text) {
        o->oom = true;
        return;
    }
    push_action(o, CCAI_OFFLINE_SAY, NULL, text, expects);
}

void Ccai_ofl_act(Ccai_offline *o, Ccai_offline_action_kind kind, const char *field,
                  const char *text)
{
    Ccai_ofl_flush_say(o, false);
    if (o->oom)
        return;
    char *copy = NULL;
    if (text && !(copy = Ccai_strdup(text))) {
        o->oom = true;
        return;
    }
    push_action(o, kind, field, copy, false);
}

/* Append a template with its "%s" replaced by a, then b. */
static void sentence2(Ccai_offline *o, const char *tmpl, const char *a, const char *b)
{
    if (o->oom)
        return;
    bool ok = o->say.len == 0 || Ccai_buf_puts(&o->say, " ");
    const char *args[2] = {a ? a : "", b ? b : ""};
    int k = 0;
    for (const char *p = tmpl; ok && *p;) {
        const char *pct = strstr(p, "%s");
        if (!pct) {
            ok = Ccai_buf_puts(&o->say, p);
            break;
        }
        ok = Ccai_buf_append(&o->say, p, (size_t)(pct - p)) &&
             Ccai_buf_puts(&o->say, k < 2 ? args[k] : "");
        k++;
        p = pct + 2;
    }
    if (!ok)
        o->oom = true;
}

const char *Ccai_ofl_phrase(const Ccai_offline *o, msg m)
{
    return o->lex->lang[o->st.lang].msg[m];
}

void Ccai_ofl_say_msg(Ccai_offline *o, msg m)
{
    sentence2(o, Ccai_ofl_phrase(o, m), NULL, NULL);
}

void Ccai_ofl_say_msg1(Ccai_offline *o, msg m, const char *a)
{
    sentence2(o, Ccai_ofl_phrase(o, m), a, NULL);
}

void Ccai_ofl_say_msg2(Ccai_offline *o, msg m, const char *a, const char *b)
{
    sentence2(o, Ccai_ofl_phrase(o, m), a, b);
}

void Ccai_ofl_keep_values_only(Ccai_offline *o, size_t from)
{
    size_t w = from;
    for (size_t i = from; i < o->nacts; i++) {
        if (o->acts[i].kind == CCAI_OFFLINE_SET_FIELD ||
            o->acts[i].kind == CCAI_OFFLINE_CLEAR_FIELD) {
            o->acts[w] = o->acts[i];
            o->texts[w++] = o->texts[i];
        } else {
            ccai_free(o->texts[i]);
        }
    }
    o->nacts = w;
    Ccai_buf_reset(&o->say);
}

void Ccai_ofl_free_reply(Ccai_offline *o)
{
    for (size_t i = 0; i < o->nacts; i++)
        ccai_free(o->texts[i]);
    o->nacts = 0;
    Ccai_buf_reset(&o->say);
}

/* ------------------------------------------------------------------------ */
/* Values and the turn transaction                                          */
/* ------------------------------------------------------------------------ */

void Ccai_ofl_set_value(Ccai_offline *o, size_t i, char *value)
{
    if (!o->undo_set[i]) {
        o->undo[i] = o->values[i];
        o->undo_set[i] = true;
    } else {
        ccai_free(o->values[i]);
    }
    o->values[i] = value;
    if (o->f[i].type == CCAI_FIELD_EMAIL)
        o->st.email_spelled = value ? o->email_spelled_now : 0;
}

/* The values set, in field order, written as json_dumps(JSON_COMPACT)
 * writes their object, without building it (Ccai_json_put_string(); NULL
 * for a value that is not UTF-8, as json_string() refuses it). */
char *Ccai_ofl_claim_to_json(const Ccai_offline *o)
{
    Ccai_buf b = {0};
    bool ok = Ccai_buf_append(&b, "{", 1), first = true;
    for (size_t i = 0; ok && i < o->nfields; i++) {
        if (!o->values[i])
            continue;
        ok = (first || Ccai_buf_append(&b, ",", 1)) &&
             Ccai_json_put_string(&b, o->f[i].name, strlen(o->f[i].name)) &&
             Ccai_buf_append(&b, ":", 1) &&
             Ccai_json_put_string(&b, o->values[i], strlen(o->values[i]));
        first = false;
    }
    char *out = ok && Ccai_buf_append(&b, "}", 1) ? Ccai_buf_steal(&b) : NULL;
    Ccai_buf_free(&b);
    return out;
}

void Ccai_ofl_turn_begin(Ccai_offline *o)
{
    Ccai_ofl_free_reply(o);
    o->saved = o->st;
    o->oom = false;
    o->missed = false;
    o->purpose = false;
}

ccai_status Ccai_ofl_turn_end(Ccai_offline *o, const Ccai_offline_reply **ret)
{
    char *json = NULL;
    bool changed = false;
    for (size_t i = 0; i < o->nfields; i++)
        changed = changed || o->undo_set[i];
    if (!o->oom && changed && !(json = Ccai_ofl_claim_to_json(o)))
        o->oom = true;
    if (o->oom) {
        Ccai_ofl_free_reply(o);
        for (size_t i = 0; i < o->nfields; i++) {
            if (o->undo_set[i]) {
                ccai_free(o->values[i]);
                o->values[i] = o->undo[i];
                o->undo[i] = NULL;
                o->undo_set[i] = false;
            }
        }
        o->st = o->saved;
        o->oom = false;
        return CCAI_ERR_NOMEM;
    }
    /* an e-mail noted this turn: the next may say it is wrong */
    o->st.email_fresh = o->nfields;
    for (size_t i = 0; i < o->nfields; i++) {
        if (o->undo_set[i] && o->values[i] && o->f[i].type == CCAI_FIELD_EMAIL &&
            (!o->undo[i] || strcmp(o->undo[i], o->values[i]) != 0))
            o->st.email_fresh = i;
        if (o->undo_set[i]) {
            ccai_free(o->undo[i]);
            o->undo[i] = NULL;
            o->undo_set[i] = false;
        }
    }
    if (json) {
        ccai_free(o->claim_json);
        o->claim_json = json;
    }
    o->reply.v = o->acts;
    o->reply.n = o->nacts;
    *ret = &o->reply;
    return CCAI_OK;
}

/* ------------------------------------------------------------------------ */
/* Speaking values and labels                                               */
/* ------------------------------------------------------------------------ */

static void append_label(Ccai_offline *o, Ccai_buf *b, size_t i, bool capital)
{
    const offline_field *f = &o->f[i];
    const char *label;
    char *tmp = NULL;
    if (f->known >= 0) {
        label = o->lex->lang[o->st.lang].label[f->known];
    } else if (f->desc) {
        label = f->desc;
    } else {
        if (!(tmp = Ccai_strdup(f->name))) {
            o->oom = true;
            return;
        }
        for (char *p = tmp; *p; p++)
            if (*p == '_')
                *p = ' ';
        label = tmp;
    }
    size_t len = strlen(label);
    while (len > 0 && (label[len - 1] == '.' || Ccai_is_space((unsigned char)label[len - 1])))
        len--;
    /* Inside a sentence: lower-case a capital that starts a word ("Date
     * of birth"), not an acronym ("VIN"). */
    char first = label[0];
    if (capital)
        first = (char)(Ccai_is_alpha((unsigned char)first) && first >= 'a' ? first - 32 : first);
    else if (first >= 'A' && first <= 'Z' && len > 1 && label[1] >= 'a' && label[1] <= 'z')
        first = (char)(first + 32);
    if (len > 0 && (!Ccai_buf_append(b, &first, 1) || !Ccai_buf_append(b, label + 1, len - 1)))
        o->oom = true;
    ccai_free(tmp);
}

/* A label as a NUL-terminated string, or NULL on NOMEM (o->oom set). */
char *Ccai_ofl_label_str(Ccai_offline *o, size_t i, bool capital)
{
    Ccai_buf b = {0};
    append_label(o, &b, i, capital);
    char *s = o->oom ? NULL : Ccai_buf_steal(&b);
    Ccai_buf_free(&b);
    if (!s)
        o->oom = true;
    return s;
}

/* The field as a noun phrase for "I could not note %s": "the date of the
 * incident", "la date de l'incident", "l'information « plaque »". NULL on
 * NOMEM (o->oom set). */
char *Ccai_ofl_field_np(Ccai_offline *o, size_t i)
{
    char *label = Ccai_ofl_label_str(o, i, false);
    if (!label)
        return NULL;
    const char *t =
        Ccai_ofl_lex_phrase(o, o->f[i].known >= 0 ? "say.np_known" : "say.np_custom", 0);
    const char *pct = t ? strstr(t, "%s") : NULL;
    char *np =
        pct ? Ccai_asprintf("%.*s%s%s", (int)(pct - t), t, label, pct + 2) : Ccai_strdup(label);
    ccai_free(label);
    if (!np)
        o->oom = true;
    return np;
}

/* A value as it is read back: dates in words, phone digits one by one. */
char *Ccai_ofl_date_words(const Ccai_ofl_lexicon *lx, int lang, const char *v, bool *ret_nomem)
{
    int y, mo, d, h, mi;
    *ret_nomem = false;
    if (lang < 0 || lang >= lx->nlang || !v ||
        sscanf(v, "%4d-%2d-%2dT%2d:%2d", &y, &mo, &d, &h, &mi) != 5 || mo < 1 || mo > 12)
        return NULL;
    char ds[16], ys[16], hs[16], ms[16];
    snprintf(ds, sizeof ds, "%d", d);
    snprintf(ys, sizeof ys, "%d", y);
    snprintf(hs, sizeof hs, "%02d", h);
    snprintf(ms, sizeof ms, "%02d", mi);
    const char *month = lx->lang[lang].month[mo - 1];
    Ccai_buf b = {0};
    const char *tmpl = lx->lang[lang].msg[M_DATE_AT];
    const char *args[5] = {ds, month, ys, hs, ms};
    bool ok = true;
    int k = 0;
    /* Midnight is what a date without time becomes: say the date only. */
    size_t stop = (h == 0 && mi == 0) ? 3 : 5;
    for (const char *p = tmpl; ok && *p;) {
        const char *pct = strstr(p, "%s");
        if (!pct || (size_t)k == stop) {
            if ((size_t)k < stop)
                ok = Ccai_buf_puts(&b, p);
            break;
        }
        ok = Ccai_buf_append(&b, p, (size_t)(pct - p)) && Ccai_buf_puts(&b, args[k]);
        k++;
        p = pct + 2;
    }
    char *out = ok ? Ccai_buf_steal(&b) : NULL;
    Ccai_buf_free(&b);
    *ret_nomem = out == NULL;
    return out;
}

/* "7 October 2024 at night": a day noted with a part of the day and no
 * hour said ([daypart.say]: the part's hour, then its words), NULL when
 * the part has no words. */
static char *date_with_part(Ccai_offline *o, const char *v)
{
    int h;
    char day[24];
    if (strlen(v) < 16 || sscanf(v + 11, "%2d", &h) != 1)
        return NULL;
    const Ccai_ofl_entry *ent;
    size_t n = Ccai_ofl_lex_get(o->lex, o->st.lang, "daypart.say", &ent);
    for (size_t k = 0; k < n; k++) {
        char *sp = strchr(ent[k].text, ' ');
        if (!sp || atoi(ent[k].text) != h)
            continue;
        snprintf(day, sizeof day, "%.10sT00:00", v);
        bool nomem = false;
        char *d = Ccai_ofl_date_words(o->lex, o->st.lang, day, &nomem);
        char *out = d ? Ccai_asprintf("%s %s", d, sp + 1) : NULL;
        ccai_free(d);
        if (!out)
            o->oom = true;
        return out;
    }
    return NULL;
}

char *Ccai_ofl_spoken_value(Ccai_offline *o, size_t i)
{
    const char *v = o->values[i];
    char *out = NULL;
    bool nomem = false;
    if (o->f[i].type == CCAI_FIELD_DATETIME && o->st.dt_part && v &&
        ((out = date_with_part(o, v)) != NULL || o->oom))
        return out;
    if (o->f[i].type == CCAI_FIELD_DATETIME &&
        ((out = Ccai_ofl_date_words(o->lex, o->st.lang, v, &nomem)) != NULL || nomem)) {
        o->oom = o->oom || nomem;
        return out;
    }
    if (o->f[i].type == CCAI_FIELD_PHONE_NUMBER) {
        size_t len = strlen(v);
        out = Ccai_malloc(2 * len + 1);
        if (out) {
            size_t k = 0;
            for (size_t j = 0; j < len; j++) {
                if (k > 0)
                    out[k++] = ' ';
                out[k++] = v[j];
            }
            out[k] = '\0';
        }
    } else {
        out = Ccai_strdup(v);
        /* "Noted: fell off the stairs.." */
        size_t len = out ? strlen(out) : 0;
        while (len > 0 && (out[len - 1] == '.' || out[len - 1] == '!'))
            out[--len] = '\0';
    }
    if (!out)
        o->oom = true;
    return out;
}

void Ccai_ofl_ask_question(Ccai_offline *o, size_t i, bool hint)
{
    if (o->st.pending_date) {
        Ccai_ofl_say_msg(o, M_ASK_TIME);
        if (hint)
            Ccai_ofl_say_msg(o, M_HINT_TIME);
        return;
    }
    char sec[2 * CCAI_FIELD_NAME_MAX + 8];
    if (o->st.ngroup > 1 && o->st.group[0] == i)
        Ccai_strjoin(sec, sizeof sec, "ask.", o->f[i].name, "+", o->f[o->st.group[1]].name, NULL);
    else
        Ccai_strjoin(sec, sizeof sec, "ask.", o->f[i].name, NULL);
    const char *q = strlen(sec) < CCAI_OFL_SECTION_MAX ? Ccai_ofl_lex_phrase(o, sec, 0) : NULL;
    if (q) {
        if ((o->say.len && !Ccai_buf_puts(&o->say, " ")) || !Ccai_buf_puts(&o->say, q))
            o->oom = true;
    } else {
        char *label = Ccai_ofl_label_str(o, i, false);
        if (!label)
            return;
        Ccai_ofl_say_msg1(o, o->f[i].known >= 0 ? M_ASK_LABEL : M_ASK_CUSTOM, label);
        ccai_free(label);
    }
    if (!hint)
        return;
    switch (o->f[i].type) {
    case CCAI_FIELD_DATETIME: Ccai_ofl_say_msg(o, M_HINT_DATETIME); break;
    case CCAI_FIELD_EMAIL: Ccai_ofl_say_msg(o, M_HINT_EMAIL); break;
    case CCAI_FIELD_PHONE_NUMBER: Ccai_ofl_say_msg(o, M_HINT_PHONE); break;
    case CCAI_FIELD_TEXT: break;
    }
}

bool Ccai_ofl_anything_noted(const Ccai_offline *o)
{
    for (size_t i = 0; i < o->nfields; i++) {
        if (o->values[i])
            return true;
    }
    return false;
}

/* Say entry k of a section of the data file, its "%s" replaced by arg. */
void Ccai_ofl_say_phrase(Ccai_offline *o, const char *section, unsigned k, const char *arg)
{
    const char *t = Ccai_ofl_lex_phrase(o, section, k);
    if (!t || o->oom)
        return;
    const char *pct = strstr(t, "%s");
    bool ok = o->say.len == 0 || Ccai_buf_puts(&o->say, " ");
    if (pct)
        ok = ok && Ccai_buf_append(&o->say, t, (size_t)(pct - t)) &&
             Ccai_buf_puts(&o->say, arg ? arg : "") && Ccai_buf_puts(&o->say, pct + 2);
    else
        ok = ok && Ccai_buf_puts(&o->say, t);
    if (!ok)
        o->oom = true;
}

void Ccai_ofl_say_phrase2(Ccai_offline *o, const char *section, const char *a, const char *b)
{
    const char *t = Ccai_ofl_lex_phrase(o, section, 0);
    if (t)
        sentence2(o, t, a, b);
}

size_t Ccai_ofl_field_index(const Ccai_offline *o, const char *name)
{
    size_t i = 0;
    while (i < o->nfields && strcmp(o->f[i].name, name) != 0)
        i++;
    return i;
}

/* Append "a, b and c" of the words said so far. */
static void list_words(Ccai_offline *o, Ccai_buf *b, const char *const *w, size_t n)
{
    const char *and = Ccai_ofl_lex_phrase(o, "say.and", 0);
    for (size_t k = 0; k < n && !o->oom; k++) {
        const char *sep = k == 0 ? "" : k + 1 < n ? ", " : NULL;
        bool ok = sep ? Ccai_buf_puts(b, sep) : Ccai_buf_printf(b, " %s ", and? and : "&");
        if (!ok || !Ccai_buf_puts(b, w[k]))
            o->oom = true;
    }
}

/* A short summary: what happened, when and where in one sentence, the
 * contact details by name only (they were read back when given), any
 * field of a custom schema as "label: value", then what is missing. The
 * other details were acknowledged one by one as they were given. */
void Ccai_ofl_say_summary(Ccai_offline *o, msg intro, bool missing)
{
    static const char *const story[] = {"incident_description", "incident_datetime",
                                        "incident_location", "injuries"};
    static const char *const contact[] = {"policyholder_name", "policy_number",
                                          "policyholder_phone", "policyholder_email"};
    if (intro != M_SUMMARY)
        Ccai_ofl_say_msg(o, intro);
    Ccai_buf b = {0};
    for (size_t k = 0; k < CCAI_ARRAY_SIZE(story) && !o->oom; k++) {
        size_t i = Ccai_ofl_field_index(o, story[k]);
        if (i >= o->nfields || !o->values[i] ||
            (o->f[i].optional && strcmp(o->values[i], Ccai_ofl_phrase(o, M_NONE_VALUE)) == 0))
            continue;
        char *v = Ccai_ofl_spoken_value(o, i);
        /* "..., late at night": a capital that only started the caller's
         * sentence goes (not "Market Street"'s) */
        const char *sp = v ? strchr(v, ' ') : NULL;
        if (b.len && sp && v[0] >= 'A' && v[0] <= 'Z' && sp[1] >= 'a' && sp[1] <= 'z')
            v[0] = (char)(v[0] + 32);
        if (v && ((b.len && !Ccai_buf_puts(&b, ", ")) || !Ccai_buf_puts(&b, v)))
            o->oom = true;
        ccai_free(v);
    }
    if (b.len && !o->oom)
        Ccai_ofl_say_phrase(o, "say.summary_short", 0, b.data);
    Ccai_buf_reset(&b);
    const char *words[CCAI_ARRAY_SIZE(contact)];
    size_t nw = 0;
    for (size_t k = 0; k < CCAI_ARRAY_SIZE(contact); k++) {
        size_t i = Ccai_ofl_field_index(o, contact[k]);
        const char *w = Ccai_ofl_lex_phrase(o, "say.contact_words", (unsigned)k);
        if (i < o->nfields && o->values[i] && w)
            words[nw++] = w;
    }
    list_words(o, &b, words, nw);
    if (b.len && !o->oom)
        Ccai_ofl_say_phrase(o, "say.summary_contact", 0, b.data);
    Ccai_buf_free(&b);
    for (size_t i = 0; i < o->nfields && !o->oom; i++) {
        if (!o->values[i] || o->f[i].known >= 0)
            continue;
        char *label = Ccai_ofl_label_str(o, i, true);
        char *value = label ? Ccai_ofl_spoken_value(o, i) : NULL;
        if (value)
            Ccai_ofl_say_msg2(o, M_SUMMARY_LINE, label, value);
        ccai_free(label);
        ccai_free(value);
    }
    if (!missing)
        return;
    Ccai_buf m = {0};
    for (size_t i = 0; i < o->nfields && !o->oom; i++) {
        if (o->values[i])
            continue;
        if (m.len && !Ccai_buf_puts(&m, ", "))
            o->oom = true;
        append_label(o, &m, i, false);
    }
    if (m.len)
        Ccai_ofl_say_msg1(o, M_MISSING, m.data);
    Ccai_buf_free(&m);
}
