/* The offline dialogue engine (see offline.h).
 *
 * One turn is a transaction: the scalar state is saved, claim values set
 * during the turn keep their previous value in an undo slot, and any
 * allocation failure restores both, so that a failed turn changes nothing.
 * Builders record a failed allocation in o->oom and become no-ops, so the
 * dialogue code reads straight and the turn checks once at the end.
 *
 * Caller words are matched on a normalised copy of the utterance: lower
 * case, accents removed, punctuation turned into spaces, split in tokens.
 * Commands ("agent", "goodbye", "repeat", a language name, "skip") must
 * be the whole utterance once filler words ("please", "I want to speak
 * to", "s'il vous plaît", "por favor") are removed, so that an answer that
 * merely contains such a word ("a human was injured") stays an answer; an
 * explicit farewell may also end a longer sentence ("OK thanks, goodbye").
 * Yes and no are read inside a sentence, with negation (answer_polarity).
 *
 * The code: offline_private.h (state), offline_text.c (normalising and
 * matching the caller's words), offline_dates.c, offline_contacts.c
 * (spoken dates, phone numbers, e-mails), offline_say.c (the reply),
 * offline_form.c (the form logic), offline_lang.c (what is said in each
 * language); this file: construction and the turns.
 *
 * No question is asked for ever: each turn that does not move the dialogue
 * on counts at its question (missed), and the dialogue moves on after a
 * few, saying why.
 *
 * Spoken dates are resolved against the caller's local day (now_ms plus
 * utc_offset_min), always towards the past, since a claim reports what
 * happened: a day and month without a year is the last such date on or
 * before today; a weekday is the last such day on or before today; a time
 * alone is today, or yesterday when it is still to come. Parts of the day
 * stand for fixed times: morning 09:00, noon 12:00, afternoon 15:00,
 * evening 20:00 ("hier soir", "tonight"), night 23:00 ("last night",
 * "cette nuit": the day before unless a day is named). A date without a
 * time makes the engine ask for the time; declining records the date
 * alone (midnight). */
#include "core/json.h"
#include "engine/offline_private.h"

#include <stdio.h>
#include <string.h>

typedef struct offline_scratch {
    char raw[CCAI_OFFLINE_UTTERANCE_MAX + 1];
    char norm[NORM_MAX];
    token tok[TOK_MAX];
    bool used[TOK_MAX];
    char stripped[NORM_MAX];
    char lenient[NORM_MAX];
    char clause[NORM_MAX];
    char email_words[CCAI_OFFLINE_UTTERANCE_MAX + 1];
    email_item email_items[CCAI_OFFLINE_UTTERANCE_MAX / 2 + 2];
    bool mask[TOK_MAX];
} offline_scratch;

static CCAI_MUST_CHECK bool scratch_take(Ccai_offline *o)
{
    offline_scratch *x = Ccai_malloc(sizeof *x);
    if (!x)
        return false;
    o->scratch = x;
    o->raw = x->raw;
    o->norm = x->norm;
    o->tok = x->tok;
    o->used = x->used;
    o->stripped = x->stripped;
    o->lenient = x->lenient;
    o->clause = x->clause;
    o->email_words = x->email_words;
    o->email_items = x->email_items;
    o->mask = x->mask;
    return true;
}

static void scratch_drop(Ccai_offline *o)
{
    ccai_free(o->scratch);
    o->scratch = NULL;
    o->raw = o->norm = o->stripped = o->lenient = o->clause = o->email_words = NULL;
    o->tok = NULL;
    o->used = NULL;
    o->email_items = NULL;
    o->mask = NULL;
    o->ntok = 0;
}

/* ------------------------------------------------------------------------ */
/* Construction                                                             */
/* ------------------------------------------------------------------------ */

int Ccai_ofl_lang_index(const Ccai_ofl_lexicon *lx, const char *code)
{
    for (int l = 0; code && l < lx->nlang; l++) {
        const char *p = lx->lang[l].prefix;
        size_t n = 0;
        while (p[n] && code[n] && Ccai_to_lower((unsigned char)code[n]) == p[n])
            n++;
        if (!p[n] && (code[n] == '\0' || code[n] == '-' || code[n] == '_'))
            return l;
    }
    return lx->en;
}

/* The words of text, but the short ones and [keyword.stop]. */
static CCAI_MUST_CHECK bool kw_add(const Ccai_ofl_lexicon *lx, Ccai_buf *b, const char *text)
{
    char norm[CCAI_FIELD_DESCRIPTION_MAX * 3 + 8];
    token toks[CCAI_FIELD_DESCRIPTION_MAX];
    size_t nt;
    if (!Ccai_ofl_normalise(text, strlen(text), norm, sizeof norm, toks, CCAI_ARRAY_SIZE(toks),
                            &nt))
        return true;
    for (size_t i = 0; i < nt; i++) {
        const char *w = norm + toks[i].start;
        if (toks[i].len < 3 || Ccai_ofl_word_in(lx, W_KEYWORD_STOP, w, toks[i].len))
            continue;
        if (!Ccai_buf_append(b, w, toks[i].len) || !Ccai_buf_puts(b, " "))
            return false;
    }
    return true;
}

/* Every entry of a section, in every language, as keywords. */
static CCAI_MUST_CHECK bool kw_add_sec(const Ccai_ofl_lexicon *lx, Ccai_buf *b, const char *section)
{
    for (int l = 0; l < lx->nlang; l++) {
        const Ccai_ofl_entry *e;
        size_t n = Ccai_ofl_lex_get(lx, l, section, &e);
        for (size_t k = 0; k < n; k++)
            if (!kw_add(lx, b, e[k].text))
                return false;
    }
    return true;
}

/* A field's keywords: its name's words, its description's, the words of
 * its type ([keyword.<type>]: "date time when", "correo"), of a name
 * ([keyword.name]) and its labels in every language. */
static char *field_keywords(const Ccai_ofl_lexicon *lx, const offline_field *f)
{
    static const char *const type_sec[] = {
        [CCAI_FIELD_TEXT] = NULL,
        [CCAI_FIELD_DATETIME] = "keyword.datetime",
        [CCAI_FIELD_EMAIL] = "keyword.email",
        [CCAI_FIELD_PHONE_NUMBER] = "keyword.phone_number",
    };
    Ccai_buf b = {0};
    char *name = Ccai_strdup(f->name);
    bool ok = name && Ccai_buf_puts(&b, " ");
    if (ok) {
        for (char *p = name; *p; p++)
            if (*p == '_')
                *p = ' ';
        ok = kw_add(lx, &b, name) &&
             (!type_sec[f->type] || kw_add_sec(lx, &b, type_sec[f->type])) &&
             (!f->desc || kw_add(lx, &b, f->desc)) &&
             (!strstr(f->name, "name") || kw_add_sec(lx, &b, "keyword.name"));
    }
    for (int l = 0; ok && f->known >= 0 && l < lx->nlang; l++)
        ok = kw_add(lx, &b, lx->lang[l].label[f->known]);
    ccai_free(name);
    char *out = ok ? Ccai_buf_steal(&b) : NULL;
    Ccai_buf_free(&b);
    return out;
}

/* Keywords already made, by field (name, type, description: what
 * field_keywords() reads of it besides the lexicon, which does not
 * change): ~185 k instructions a call for the 12 fields of the default
 * claim, the same at every call. Best effort: a field not kept (cache
 * full, no memory) has its keywords made each time. */
#define KW_CACHE_MAX 64

typedef struct Ccai_ofl_kw_cache {
    size_t n;
    struct {
        char *name, *desc, *keywords;
        ccai_field_type type;
    } e[KW_CACHE_MAX];
} Ccai_ofl_kw_cache;

Ccai_ofl_kw_cache *Ccai_ofl_kw_cache_new(void)
{
    return Ccai_calloc(1, sizeof(Ccai_ofl_kw_cache));
}

void Ccai_ofl_kw_cache_free(Ccai_ofl_kw_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        ccai_free(c->e[i].name);
        ccai_free(c->e[i].desc);
        ccai_free(c->e[i].keywords);
    }
    ccai_free(c);
}

static char *field_keywords_kept(const Ccai_ofl_lexicon *lx, const offline_field *f)
{
    Ccai_ofl_kw_cache *c = lx->kw;
    for (size_t i = 0; c && i < c->n; i++) {
        if (c->e[i].type == f->type && strcmp(c->e[i].name, f->name) == 0 &&
            (c->e[i].desc && f->desc ? strcmp(c->e[i].desc, f->desc) == 0
                                     : !c->e[i].desc && !f->desc))
            return Ccai_strdup(c->e[i].keywords);
    }
    char *kw = field_keywords(lx, f);
    if (!kw || !c || c->n == KW_CACHE_MAX)
        return kw;
    char *name = Ccai_strdup(f->name), *desc = f->desc ? Ccai_strdup(f->desc) : NULL,
         *copy = Ccai_strdup(kw);
    if (name && (desc || !f->desc) && copy) {
        c->e[c->n].name = name;
        c->e[c->n].desc = desc;
        c->e[c->n].keywords = copy;
        c->e[c->n].type = f->type;
        c->n++;
    } else {
        ccai_free(name);
        ccai_free(desc);
        ccai_free(copy);
    }
    return kw;
}

static CCAI_MUST_CHECK bool ascii_ieq_prefix(const char *s, const char *word)
{
    for (size_t i = 0; word[i]; i++) {
        if (Ccai_to_lower((unsigned char)s[i]) != word[i])
            return false;
    }
    return true;
}

static CCAI_MUST_CHECK bool contains_nocase(const char *s, const char *word)
{
    for (; *s; s++) {
        if (ascii_ieq_prefix(s, word))
            return true;
    }
    return false;
}

static CCAI_MUST_CHECK ccai_status load_claim(Ccai_offline *o, const char *claim_json)
{
    Ccai_json_err err;
    ccai_status st = CCAI_OK;
    json_t *obj = Ccai_json_load(claim_json, strlen(claim_json), &err, &st);
    if (!obj)
        return st;
    if (!json_is_object(obj)) {
        json_decref(obj);
        return CCAI_ERR_PARSE;
    }
    for (size_t i = 0; i < o->nfields && st == CCAI_OK; i++) {
        json_t *v = json_object_get(obj, o->f[i].name);
        if (!json_is_string(v))
            continue;
        char *norm = NULL;
        ccai_status vs = ccai_field_validate(o->f[i].type, json_string_value(v), &norm, NULL);
        if (vs == CCAI_OK)
            o->values[i] = norm;
        else if (vs == CCAI_ERR_NOMEM)
            st = CCAI_ERR_NOMEM;
    }
    json_decref(obj);
    if (st == CCAI_OK && !(o->claim_json = Ccai_ofl_claim_to_json(o)))
        st = CCAI_ERR_NOMEM;
    return st;
}

ccai_status Ccai_offline_new(const Ccai_offline_params *params, Ccai_offline **ret)
{
    if (!params || !params->schema || !ret || params->utc_offset_min < -24 * 60 ||
        params->utc_offset_min > 24 * 60)
        return CCAI_ERR_INVALID_ARG;
    Ccai_offline *o = Ccai_calloc(1, sizeof *o);
    if (!o)
        return CCAI_ERR_NOMEM;
    ccai_status st = CCAI_ERR_NOMEM;
    o->lex = params->lexicon;
    if (!o->lex) {
        if ((st = Ccai_offline_lexicon_new(&o->own_lex)) != CCAI_OK)
            goto fail;
        st = CCAI_ERR_NOMEM;
        o->lex = o->own_lex;
    }
    o->nfields = ccai_claim_schema_count(params->schema);
    if (o->nfields > CCAI_FIELDS_MAX)
        o->nfields = CCAI_FIELDS_MAX;
    for (size_t i = 0; i < o->nfields; i++) {
        offline_field *f = &o->f[i];
        const char *name, *desc;
        if (ccai_claim_schema_field(params->schema, i, &name, &f->type, &desc) != CCAI_OK) {
            st = CCAI_ERR_INVALID_ARG;
            goto fail;
        }
        f->known = -1;
        for (size_t k = 0; k < CCAI_OFL_KNOWN_FIELDS; k++) {
            if (strcmp(Ccai_ofl_known_fields[k].name, name) == 0) {
                f->known = (int)k;
                f->optional = Ccai_ofl_known_fields[k].optional;
            }
        }
        if (desc && (contains_nocase(desc, "if any") || contains_nocase(desc, "s'il y en a")))
            f->optional = true;
        if (!(f->name = Ccai_strdup(name)) || (desc && !(f->desc = Ccai_strdup(desc))) ||
            !(f->keywords = field_keywords_kept(o->lex, f)))
            goto fail;
    }
    Ccai_ofl_order_init(o);

    const char *lang = params->lang && params->lang[0] ? params->lang : "en-US";
    o->st.lang = Ccai_ofl_lang_index(o->lex, lang);
    o->st.lang_avail = -1;
    if (!(o->lang_code = Ccai_strdup(lang)))
        goto fail;
    size_t navail = 0;
    if (params->available_langs)
        while (params->available_langs[navail])
            navail++;
    else
        navail = (size_t)o->lex->nlang;
    if (!(o->avail = Ccai_calloc(navail ? navail : 1, sizeof *o->avail)))
        goto fail;
    for (size_t k = 0; k < navail; k++, o->navail++) {
        const char *code =
            params->available_langs ? params->available_langs[k] : o->lex->lang[k].code;
        if (!(o->avail[k] = Ccai_strdup(code)))
            goto fail;
    }
    o->can_transfer = params->can_transfer;
    o->rate = params->rate >= 0.75 && params->rate <= 1.25 ? params->rate : 1.0;
    if (params->caller_number && params->caller_number[0] == '+' &&
        ccai_field_validate(CCAI_FIELD_PHONE_NUMBER, params->caller_number, &o->caller_number,
                            NULL) == CCAI_ERR_NOMEM)
        goto fail;
    o->tz = params->tz;
    if ((params->bot_name && params->bot_name[0] &&
         !(o->bot_name = Ccai_strdup(params->bot_name))) ||
        (params->bot_company && params->bot_company[0] &&
         !(o->bot_company = Ccai_strdup(params->bot_company))))
        goto fail;

    int64_t local_ms = params->now_ms + (int64_t)params->utc_offset_min * 60000;
    o->today = Ccai_floor_div(local_ms, 86400000);
    o->now_minute = (int)((local_ms - o->today * 86400000) / 60000);

    st = load_claim(o, params->claim_json ? params->claim_json : "{}");
    if (st != CCAI_OK)
        goto fail;
    o->st.phase = PH_NEW;
    o->st.last_set = o->nfields;
    o->st.email_fresh = o->nfields;
    *ret = o;
    return CCAI_OK;

fail:
    Ccai_offline_free(o);
    return st;
}

void Ccai_offline_free(Ccai_offline *o)
{
    if (!o)
        return;
    for (size_t i = 0; i < o->nfields; i++) {
        ccai_free(o->f[i].name);
        ccai_free(o->f[i].desc);
        ccai_free(o->f[i].keywords);
        ccai_free(o->values[i]);
        ccai_free(o->undo[i]);
    }
    for (size_t k = 0; k < o->navail; k++)
        ccai_free(o->avail[k]);
    ccai_free(o->avail);
    ccai_free(o->lang_code);
    ccai_free(o->bot_name);
    ccai_free(o->bot_company);
    ccai_free(o->caller_number);
    ccai_free(o->claim_json);
    Ccai_offline_lexicon_free(o->own_lex);
    Ccai_ofl_free_reply(o);
    ccai_free(o->acts);
    ccai_free(o->texts);
    Ccai_buf_free(&o->say);
    ccai_free(o);
}

/* ------------------------------------------------------------------------ */
/* Turns                                                                    */
/* ------------------------------------------------------------------------ */

ccai_status Ccai_offline_start(Ccai_offline *o, bool resumed, const Ccai_offline_reply **ret)
{
    if (!o || !ret)
        return CCAI_ERR_INVALID_ARG;
    if (o->st.phase != PH_NEW)
        return CCAI_ERR_STATE;
    Ccai_ofl_turn_begin(o);
    msg full = resumed ? M_WELCOME_BACK_FULL : M_HELLO_FULL;
    msg name = resumed ? M_WELCOME_BACK_NAME : M_HELLO_NAME;
    msg bare = resumed ? M_WELCOME_BACK : M_HELLO;
    if (o->bot_name && o->bot_company)
        Ccai_ofl_say_msg2(o, full, o->bot_name, o->bot_company);
    else if (o->bot_name)
        Ccai_ofl_say_msg1(o, name, o->bot_name);
    else
        Ccai_ofl_say_msg(o, bare);
    if (resumed) {
        /* With nothing left to ask, the confirmation reads it all. */
        bool all_known = Ccai_ofl_next_field(o) == o->nfields;
        if (Ccai_ofl_anything_noted(o) && !all_known)
            Ccai_ofl_say_summary(o, M_SO_FAR, false);
        else if (!Ccai_ofl_anything_noted(o))
            Ccai_ofl_say_msg(o, M_NOTHING_YET);
    } else {
        Ccai_ofl_say_msg(o, M_INTRO);
    }
    Ccai_ofl_flush_say(o, false);
    o->st.phase = PH_ASK;
    Ccai_ofl_advance(o);
    Ccai_ofl_flush_say(o, true);
    return Ccai_ofl_turn_end(o, ret);
}

static CCAI_MUST_CHECK ccai_status turn_check(Ccai_offline *o, const Ccai_offline_reply **ret)
{
    if (!o || !ret)
        return CCAI_ERR_INVALID_ARG;
    if (o->st.phase == PH_NEW || o->st.phase == PH_ENDED)
        return CCAI_ERR_STATE;
    return CCAI_OK;
}

static void finish_turn(Ccai_offline *o)
{
    Ccai_ofl_flush_say(o, o->st.phase != PH_ENDED);
}

/* Take the utterance as the current one: cut at the limit on a character
 * boundary, outer white space dropped, normalised. Returns its length. */
static size_t load_utterance(Ccai_offline *o, const char *utterance)
{
    size_t len = strnlen(utterance, CCAI_OFFLINE_UTTERANCE_MAX + 1);
    if (len > CCAI_OFFLINE_UTTERANCE_MAX) {
        len = CCAI_OFFLINE_UTTERANCE_MAX;
        while (len > 0 && ((unsigned char)utterance[len] & 0xC0) == 0x80)
            len--;
    }
    while (len > 0 && Ccai_is_space((unsigned char)*utterance))
        utterance++, len--;
    while (len > 0 && Ccai_is_space((unsigned char)utterance[len - 1]))
        len--;
    memcpy(o->raw, utterance, len);
    o->raw[len] = '\0';
    if (!Ccai_ofl_normalise(o->raw, len, o->norm, NORM_MAX, o->tok, TOK_MAX, &o->ntok))
        o->ntok = 0;
    Ccai_ofl_strip_words(o->lex, o->norm, o->tok, o->ntok, false, o->stripped);
    Ccai_ofl_strip_words(o->lex, o->norm, o->tok, o->ntok, true, o->lenient);
    return len;
}

ccai_status Ccai_offline_input(Ccai_offline *o, const char *utterance,
                               const Ccai_offline_reply **ret)
{
    ccai_status st = turn_check(o, ret);
    if (st != CCAI_OK)
        return st;
    if (!utterance)
        return CCAI_ERR_INVALID_ARG;
    if (!scratch_take(o))
        return CCAI_ERR_NOMEM;
    Ccai_ofl_turn_begin(o);
    size_t len = load_utterance(o, utterance);
    o->st.silences = 0;

    if (len == 0) {
        Ccai_ofl_say_msg(o, M_R_TEXT_EMPTY);
        if (!Ccai_ofl_missed(o))
            Ccai_ofl_ask_current(o, false);
    } else {
        Ccai_ofl_handle_utterance(o);
    }
    if (!o->missed)
        o->st.stuck = 0;
    finish_turn(o);
    scratch_drop(o);
    return Ccai_ofl_turn_end(o, ret);
}

/* Append a whole sentence as it is (no "%s" expansion). */
static void say_text(Ccai_offline *o, const char *text)
{
    if (o->oom || !text || !*text)
        return;
    if ((o->say.len && !Ccai_buf_puts(&o->say, " ")) || !Ccai_buf_puts(&o->say, text))
        o->oom = true;
}

ccai_status Ccai_offline_take_over(Ccai_offline *o, const char *intro, const char *utterance,
                                   const Ccai_offline_reply **ret)
{
    if (!o || !ret)
        return CCAI_ERR_INVALID_ARG;
    if (o->st.phase != PH_NEW)
        return CCAI_ERR_STATE;
    if (!scratch_take(o))
        return CCAI_ERR_NOMEM;
    Ccai_ofl_turn_begin(o);
    o->st.phase = PH_ASK;
    if (utterance && load_utterance(o, utterance) > 0) {
        /* Words that ask for something the dialogue can do; anything else
         * answered a question this dialogue never asked. */
        if (Ccai_ofl_asks_transfer(o)) {
            Ccai_ofl_say_msg(o, M_TRANSFER);
            Ccai_ofl_flush_say(o, false);
            Ccai_ofl_end_call(o, CCAI_OFFLINE_TRANSFER);
            scratch_drop(o);
            return Ccai_ofl_turn_end(o, ret);
        }
        if (Ccai_ofl_says_goodbye(o)) {
            Ccai_ofl_say_goodbye(o);
            scratch_drop(o);
            return Ccai_ofl_turn_end(o, ret);
        }
    }
    say_text(o, intro);
    Ccai_ofl_flush_say(o, false);
    int target = utterance && o->ntok > 0 ? Ccai_ofl_named_lang(o) : -1;
    scratch_drop(o);
    if (target >= 0 && target != o->st.lang)
        Ccai_ofl_switch_lang(o, target);
    Ccai_ofl_advance(o);
    Ccai_ofl_flush_say(o, true);
    return Ccai_ofl_turn_end(o, ret);
}

ccai_status Ccai_offline_silence(Ccai_offline *o, const Ccai_offline_reply **ret)
{
    ccai_status st = turn_check(o, ret);
    if (st != CCAI_OK)
        return st;
    Ccai_ofl_turn_begin(o);
    if (++o->st.silences >= CCAI_OFFLINE_SILENCES) {
        Ccai_ofl_say_msg(o, M_SILENCE_BYE);
        Ccai_ofl_flush_say(o, false);
        Ccai_ofl_end_call(o, CCAI_OFFLINE_HANGUP);
    } else {
        Ccai_ofl_say_msg(o, M_STILL_THERE);
        Ccai_ofl_ask_current(o, false);
    }
    finish_turn(o);
    return Ccai_ofl_turn_end(o, ret);
}

const char *Ccai_offline_claim_json(const Ccai_offline *o)
{
    return o && o->claim_json ? o->claim_json : "{}";
}

const char *Ccai_offline_lang(const Ccai_offline *o)
{
    if (!o)
        return "en-US";
    return o->st.lang_avail >= 0 ? o->avail[o->st.lang_avail] : o->lang_code;
}

Ccai_speech_kind Ccai_offline_expected(const Ccai_offline *o)
{
    if (!o)
        return CCAI_SPEECH_FREE;
    if (o->st.phase == PH_CONFIRM)
        return CCAI_SPEECH_YESNO;
    if (o->st.phase != PH_ASK || o->st.cur >= o->nfields)
        return CCAI_SPEECH_FREE;
    switch (o->f[o->st.cur].type) {
    case CCAI_FIELD_DATETIME: return o->st.pending_date ? CCAI_SPEECH_FREE : CCAI_SPEECH_DATE;
    case CCAI_FIELD_EMAIL: return CCAI_SPEECH_EMAIL;
    case CCAI_FIELD_PHONE_NUMBER: return CCAI_SPEECH_DIGITS;
    case CCAI_FIELD_TEXT: break;
    }
    return CCAI_SPEECH_FREE;
}

size_t Ccai_offline_asking(const Ccai_offline *o, const char **fields, size_t max, bool *ret_time)
{
    if (ret_time)
        *ret_time = false;
    if (!o || o->st.phase != PH_ASK || o->st.cur >= o->nfields)
        return 0;
    if (o->st.pending_date) {
        if (ret_time)
            *ret_time = true;
        if (max > 0)
            fields[0] = o->f[o->st.cur].name;
        return max > 0;
    }
    size_t n = 0;
    for (size_t k = 0; k < o->st.ngroup && n < max; k++)
        fields[n++] = o->f[o->st.group[k]].name;
    if (n == 0 && max > 0)
        fields[n++] = o->f[o->st.cur].name;
    return n;
}

bool Ccai_offline_ended(const Ccai_offline *o)
{
    return o && o->st.phase == PH_ENDED;
}
