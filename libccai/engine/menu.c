/* Menus (IVR): when a call connects the engine may offer a menu first, and
 * the caller's answer (a key, or words) decides what comes next. Two kinds:
 *
 * - The configured menus (ivr.menus, started by ivr.start on inbound
 *   calls): a prompt per language, choices with a key and words (synonyms,
 *   any language) and an action each: set the language, give the bot its
 *   task and claim schema, transfer, go to the LLM conversation, hang up,
 *   or offer a sub-menu (language and task may go on to a menu too).
 * - The language menu, when no menu is configured and the call has
 *   several languages and its channel offers menus itself (ops.menu): "Pour
 *   le français, tapez 1. For English, press 2.", each line in its own
 *   language and voice.
 *
 * Every channel: one with a menu op (ACS's recognition with choices,
 * Twilio's Gather of one key, a host's own) offers it its way; any other
 * gets the prompt said (ops.say) and listened to, as the conversation
 * does. Whatever the channel, the answer comes back as a key
 * (CCAI_EVENT_DTMF), the caller's words (CCAI_EVENT_SPEECH) or a choice
 * (CCAI_EVENT_CHOICE: a choice's value, or words), all matched here
 * (engine/menu_match.c). The call's state is language_menu meanwhile.
 *
 * Silence, words that pick nothing or a key no choice has offer the menu
 * again, up to ivr.retries times (conversation.recognition_retry_max tries
 * for the language menu); then the menu's fallback acts (ivr.fallback when
 * it has none; the language menu says goodbye, as the reference does).
 * Each choice, and each fallback, is stored on the call as a message
 * (persona human, action "menu"): the report and the history show it. */
#include "engine/engine.h"

#include "claim/claim.h"
#include "config/config.h"
#include "core/json.h"
#include "engine/menu.h"
#include "engine/phrases.h"
#include "engine/prompts.h"
#include "guard/guard.h"

#include <stdio.h>
#include <string.h>

/* Words of a choice given to a channel's recogniser, at most. */
#define PHRASES_MAX 3

static const json_t *menus_of(const ccai_call *c)
{
    return Ccai_config_json(c->eng->cfg, "ivr.menus");
}

/* The configured menu the call is in; NULL: the language menu. */
static const json_t *configured(const ccai_call *c)
{
    return c->menu_name ? json_object_get(menus_of(c), c->menu_name) : NULL;
}

/* ivr.start when it names a menu. */
static const char *start_name(const ccai_call *c)
{
    const char *n = Ccai_config_str(c->eng->cfg, "ivr.start");
    return n && *n && json_object_get(menus_of(c), n) ? n : NULL;
}

static CCAI_MUST_CHECK bool has_menu_op(const ccai_call *c)
{
    return c->ops.version >= 2 && c->ops.menu;
}

bool Ccai_menu_wanted(const ccai_call *c)
{
    /* A callback's callee speaks the call's language already, and was
     * called about one thing. */
    if (c->taken_back || c->callback_job)
        return false;
    if (start_name(c))
        return c->row.direction == CCAI_INBOUND && (c->ops.say || has_menu_op(c));
    if (!has_menu_op(c))
        return false;
    const json_t *avail = json_object_get(json_object_get(c->initiate, "lang"), "availables");
    size_t n = 0, i;
    const json_t *l;
    json_array_foreach(avail, i, l)
    {
        if (json_is_string(json_object_get(l, "short_code")))
            n++;
    }
    return n > 1;
}

/* How close a configured language code is to the call's: 2 the same, 1
 * the same language ("fr" for "fr-CA"), 0 none. */
static int lang_fit(const char *want, const char *have)
{
    if (strcasecmp(want, have) == 0)
        return 2;
    size_t a = strcspn(want, "-"), b = strcspn(have, "-");
    return a == b && strncasecmp(want, have, a) == 0 ? 1 : 0;
}

/* The member of a by-language mapping for lang: the same code, else the
 * same language, else English, else the first. A plain value is for every
 * language. */
const json_t *Ccai_menu_by_lang(const json_t *v, const char *lang)
{
    if (!json_is_object(v))
        return v;
    const json_t *best = NULL, *en = NULL, *first = NULL;
    int fit = 0;
    const char *k;
    const json_t *x;
    json_object_foreach((json_t *)v, k, x)
    {
        if (!first)
            first = x;
        if (!en && lang_fit(k, "en") > 0)
            en = x;
        int f = lang ? lang_fit(k, lang) : 0;
        if (f > fit) {
            fit = f;
            best = x;
        }
    }
    return best ? best : en ? en : first;
}

/* The menu's choices for the matcher: every word of every language, and
 * the label. */
static void view_configured(const json_t *m, Ccai_menu_view *v)
{
    memset(v, 0, sizeof *v);
    size_t i;
    const json_t *ch;
    json_array_foreach(json_object_get(m, "choices"), i, ch)
    {
        if (v->n == CCAI_MENU_CHOICES_MAX)
            break;
        const char *key = json_string_value(json_object_get(ch, "key"));
        v->choice[v->n].key = key ? key[0] : 0;
        const json_t *say = json_object_get(ch, "say");
        const json_t *lists[64];
        size_t nl = 0;
        if (json_is_array(say)) {
            lists[nl++] = say;
        } else {
            const char *lk;
            const json_t *l;
            json_object_foreach((json_t *)say, lk, l)
            {
                if (nl < CCAI_ARRAY_SIZE(lists))
                    lists[nl++] = l;
            }
        }
        for (size_t li = 0; li < nl; li++) {
            size_t j;
            const json_t *w;
            json_array_foreach(lists[li], j, w)
            {
                if (v->choice[v->n].n_phrases < CCAI_MENU_WORDS_MAX && json_string_value(w))
                    v->choice[v->n].phrases[v->choice[v->n].n_phrases++] = json_string_value(w);
            }
        }
        const char *label = json_string_value(json_object_get(ch, "label"));
        if (label && v->choice[v->n].n_phrases < CCAI_MENU_WORDS_MAX)
            v->choice[v->n].phrases[v->choice[v->n].n_phrases++] = label;
        v->n++;
    }
}

/* The language menu's choices, in build()'s order: key n + 1. */
static void view_languages(const ccai_call *c, Ccai_menu_view *v)
{
    memset(v, 0, sizeof *v);
    const json_t *avail = json_object_get(json_object_get(c->initiate, "lang"), "availables");
    size_t i;
    const json_t *l;
    json_array_foreach(avail, i, l)
    {
        const char *code = json_string_value(json_object_get(l, "short_code"));
        if (!code || v->n == CCAI_MENU_CHOICES_MAX)
            continue;
        v->choice[v->n].key = (char)('1' + v->n);
        const json_t *pr = json_object_get(l, "pronunciations_en");
        for (size_t j = 0; j < json_array_size(pr) && j + 1 < CCAI_MENU_WORDS_MAX; j++) {
            const char *ph = json_string_value(json_array_get(pr, j));
            if (ph && *ph)
                v->choice[v->n].phrases[v->choice[v->n].n_phrases++] = ph;
        }
        v->choice[v->n].phrases[v->choice[v->n].n_phrases++] = code;
        v->n++;
    }
}

/* The language menu's n-th language. */
static const char *language_at(const ccai_call *c, size_t n)
{
    const json_t *avail = json_object_get(json_object_get(c->initiate, "lang"), "availables");
    size_t k = 0, i;
    const json_t *l;
    json_array_foreach(avail, i, l)
    {
        const char *code = json_string_value(json_object_get(l, "short_code"));
        if (!code)
            continue;
        if (k++ == n)
            return code;
    }
    return NULL;
}

/* Offering ----------------------------------------------------------------- */

typedef struct built {
    ccai_menu menu;
    ccai_menu_choice choice[CCAI_MENU_CHOICES_MAX];
    const ccai_menu_choice *choices[CCAI_MENU_CHOICES_MAX];
    const char *phrases[CCAI_MENU_CHOICES_MAX][PHRASES_MAX + 1];
    char dtmf[CCAI_MENU_CHOICES_MAX][2];
    char *lines[CCAI_MENU_CHOICES_MAX];
    Ccai_buf text;
} built;

static void built_free(built *b)
{
    for (size_t k = 0; k < CCAI_MENU_CHOICES_MAX; k++)
        ccai_free(b->lines[k]);
    Ccai_buf_free(&b->text);
}

/* Each language offers itself in its own words (the prompt's variant the
 * same for all); the whole menu in the call's language for a channel that
 * says it in one voice. false when out of memory. */
static CCAI_MUST_CHECK bool build_languages(ccai_call *c, built *b)
{
    const json_t *avail = json_object_get(json_object_get(c->initiate, "lang"), "availables");
    /* Without random bytes, the first of the prompt's variants. */
    uint32_t r = 0;
    if (!Ccai_random_bytes(&r, sizeof r))
        r = 0;
    size_t n = 0, i;
    const json_t *l;
    bool ok = true;
    json_array_foreach(avail, i, l)
    {
        const char *code = json_string_value(json_object_get(l, "short_code"));
        if (!code || n == CCAI_MENU_CHOICES_MAX)
            continue;
        const json_t *pr = json_object_get(l, "pronunciations_en");
        size_t k = 0;
        for (size_t j = 0; j < json_array_size(pr) && k < PHRASES_MAX; j++) {
            const char *ph = json_string_value(json_array_get(pr, j));
            if (ph && *ph)
                b->phrases[n][k++] = ph;
        }
        if (k == 0)
            b->phrases[n][k++] = code;
        b->phrases[n][k] = NULL;
        const char *label = json_string_value(json_array_get(pr, 0));
        snprintf(b->dtmf[n], sizeof b->dtmf[n], "%zu", n + 1);
        Ccai_prompt_var vars[] = {{"label", label ? label : code}, {"index", b->dtmf[n]}};
        b->lines[n] = Ccai_engine_render_phrase(c->eng, CCAI_TTS_IVR_LANGUAGE, code, r, vars, 2);
        char *plain = Ccai_engine_render_phrase(c->eng, CCAI_TTS_IVR_LANGUAGE, NULL, r, vars, 2);
        ok = ok && b->lines[n] && plain &&
             Ccai_buf_printf(&b->text, "%s%s", b->text.len ? " " : "", plain);
        ccai_free(plain);
        const char *voice = json_string_value(json_object_get(l, "voice"));
        b->choice[n] = (ccai_menu_choice){code,        b->dtmf[n], b->phrases[n],
                                          b->lines[n], code,       voice && *voice ? voice : NULL};
        b->choices[n] = &b->choice[n];
        n++;
    }
    const json_t *cur = Ccai_conv_lang_entry(c, c->row.lang);
    const char *voice = json_string_value(json_object_get(cur, "voice"));
    b->menu = (ccai_menu){
        .version = CCAI_MENU_VERSION,
        .name = "language",
        .choices = b->choices,
        .n_choices = n,
        .text = b->text.data,
        .lang = c->row.lang,
        .voice = voice && *voice ? voice : NULL,
        .rate = c->rate,
    };
    return ok && n > 0;
}

/* A configured menu for a channel's menu op: the prompt in the call's
 * language and voice; each choice's value is its key, its words those of
 * the call's language (the recogniser's grammar; every language's words
 * still pick it when heard), its own line empty (the prompt says all). */
static void build_configured(ccai_call *c, const json_t *m, built *b)
{
    const char *lang = c->row.lang;
    const json_t *cur = Ccai_conv_lang_entry(c, lang);
    const char *voice = json_string_value(json_object_get(cur, "voice"));
    if (voice && !*voice)
        voice = NULL;
    size_t n = 0, i;
    const json_t *ch;
    json_array_foreach(json_object_get(m, "choices"), i, ch)
    {
        if (n == CCAI_MENU_CHOICES_MAX)
            break;
        const char *key = json_string_value(json_object_get(ch, "key"));
        snprintf(b->dtmf[n], sizeof b->dtmf[n], "%s", key ? key : "");
        const json_t *words = Ccai_menu_by_lang(json_object_get(ch, "say"), lang);
        size_t k = 0;
        for (size_t j = 0; j < json_array_size(words) && k < PHRASES_MAX; j++)
            b->phrases[n][k++] = json_string_value(json_array_get(words, j));
        const char *label = json_string_value(json_object_get(ch, "label"));
        if (k == 0)
            b->phrases[n][k++] = label ? label : b->dtmf[n];
        b->phrases[n][k] = NULL;
        b->choice[n] = (ccai_menu_choice){b->dtmf[n], b->dtmf[n], b->phrases[n], "", lang, voice};
        b->choices[n] = &b->choice[n];
        n++;
    }
    b->menu = (ccai_menu){
        .version = CCAI_MENU_VERSION,
        .name = c->menu_name,
        .choices = b->choices,
        .n_choices = n,
        .text = json_string_value(Ccai_menu_by_lang(json_object_get(m, "prompt"), lang)),
        .lang = lang,
        .voice = voice,
        .rate = c->rate,
    };
}

/* Offer the menu the call is in; true when the channel took it. */
static CCAI_MUST_CHECK bool offer(ccai_call *c)
{
    const json_t *m = configured(c);
    built b = {0};
    bool ok = true;
    int rc = -1;
    if (m) {
        build_configured(c, m, &b);
        if (has_menu_op(c))
            rc = c->ops.menu(c, &b.menu, c->ud);
        /* Said and listened to, as the conversation does. */
        if (rc != 0 && Ccai_conv_say(c, b.menu.text, CCAI_STYLE_NONE, true, false, NULL)) {
            Ccai_conv_listen(c);
            rc = 0;
        }
    } else {
        ok = build_languages(c, &b);
        rc = ok ? c->ops.menu(c, &b.menu, c->ud) : -1;
    }
    built_free(&b);
    if (rc != 0)
        Ccai_log(&c->log, CCAI_LOG_WARN, "call %s: no %s menu: %s", c->row.id,
                 m ? c->menu_name : "language",
                 ok ? "the channel refused it" : ccai_status_str(CCAI_ERR_NOMEM));
    return rc == 0;
}

/* Connect without a menu when the channel cannot offer it. */
static void act_offer(ccai_call *c, const char *text, int64_t num)
{
    CCAI_UNUSED(text);
    CCAI_UNUSED(num);
    if (c->state != CCAI_CALL_LANGUAGE_MENU || offer(c))
        return;
    /* Nothing returns to a channel from here: a call that can neither
     * have its menu nor go on (the store failed, said in the log) is hung
     * up rather than left in silence. */
    ccai_status st = Ccai_call_connect(c);
    if (st != CCAI_OK) {
        Ccai_log(&c->log, CCAI_LOG_ERROR, "call %s: cannot go on without the menu: %s", c->row.id,
                 ccai_status_str(st));
        Ccai_call_hangup(c);
    }
}

ccai_status Ccai_menu_open(ccai_call *c)
{
    c->menu_failures = 0;
    const char *start = start_name(c);
    if (!Ccai_str_replace(&c->menu_name, start))
        return CCAI_ERR_NOMEM;
    /* Seen in the call's state while the caller chooses. */
    ccai_status st = Ccai_call_set_state(c, CCAI_CALL_LANGUAGE_MENU);
    if (st == CCAI_OK)
        st = Ccai_call_after_commit(c, act_offer, NULL, 0);
    return st;
}

/* Acting on a choice --------------------------------------------------------- */

static void count(ccai_call *c, const char *outcome)
{
    char labels[160];
    snprintf(labels, sizeof labels, "menu=\"%s\",outcome=\"%s\"",
             c->menu_name ? c->menu_name : "language", outcome);
    /* Best effort: a sample lost changes nothing of the call. */
    CCAI_DISCARD(Ccai_metrics_counter_add(c->eng->metrics, "ccai_menu_choices_total", labels, 1));
}

/* The choice on the call, for people (the report, the history): a message
 * of the caller, action "menu". */
static CCAI_MUST_CHECK ccai_status record(ccai_call *c, const char *what)
{
    char *text = Ccai_asprintf("%s: %s", c->menu_name ? c->menu_name : "language", what);
    if (!text)
        return CCAI_ERR_NOMEM;
    ccai_status st = Ccai_call_add_message(c, "human", "menu", CCAI_STYLE_NONE, text, c->row.lang,
                                           NULL, NULL, NULL);
    ccai_free(text);
    return st;
}

/* Give the call the task (and claim schema) of a choice: stored with the
 * call's initiate, read by every turn from now. */
static CCAI_MUST_CHECK ccai_status set_task(ccai_call *c, const json_t *a)
{
    ccai_claim_schema *schema = NULL;
    const json_t *claim = json_object_get(a, "claim");
    ccai_status st = CCAI_OK;
    if (json_is_array(claim) && json_array_size(claim) > 0) {
        char *why = NULL;
        st = Ccai_claim_schema_from_jansson(claim, &schema, &why);
        if (st != CCAI_OK) {
            /* Checked when the configuration was read: only NOMEM here. */
            Ccai_log(&c->log, CCAI_LOG_ERROR, "call %s: menu %s: claim schema: %s", c->row.id,
                     c->menu_name, why ? why : ccai_status_str(st));
            ccai_free(why);
            return st;
        }
    }
    json_t *init = json_deep_copy(c->initiate);
    json_t *fields = schema ? Ccai_claim_schema_to_jansson(schema) : NULL;
    char *text = NULL;
    st = CCAI_ERR_NOMEM;
    if (!init || (schema && !fields) ||
        json_object_set(init, "task", json_object_get(a, "task")) != 0 ||
        (fields && json_object_set(init, "claim", fields) != 0) ||
        json_object_set_new(init, "phone_number", json_string(c->row.phone_number)) != 0 ||
        !(text = Ccai_json_dump(init, JSON_COMPACT | JSON_ENSURE_ASCII)))
        goto out;
    json_object_del(init, "phone_number");
    char *prev = c->row.initiate_json;
    c->row.initiate_json = text;
    st = Ccai_call_save(c);
    if (st != CCAI_OK) {
        c->row.initiate_json = prev;
        ccai_free(text);
        goto out;
    }
    ccai_free(prev);
    json_decref(c->initiate);
    c->initiate = Ccai_conv_share_initiate(c->eng, init);
    init = NULL;
    if (schema) {
        ccai_claim_schema_ref(schema); /* freeze */
        ccai_claim_schema_unref(schema);
        ccai_claim_schema_unref(c->schema);
        c->schema = schema;
        schema = NULL;
    }
    Ccai_conv_tools_changed(c);
out:
    json_decref(fields);
    json_decref(init);
    ccai_claim_schema_unref(schema);
    return st;
}

static CCAI_MUST_CHECK ccai_status open_menu(ccai_call *c, const char *name)
{
    if (!Ccai_str_replace(&c->menu_name, name))
        return CCAI_ERR_NOMEM;
    c->menu_failures = 0;
    act_offer(c, NULL, 0);
    return CCAI_OK;
}

/* Do what action a says (a choice's or a fallback). */
static CCAI_MUST_CHECK ccai_status run(ccai_call *c, const json_t *a)
{
    const char *kind = json_string_value(json_object_get(a, "action"));
    const char *next = json_string_value(json_object_get(a, "menu"));
    ccai_status st = CCAI_OK;
    if (!kind)
        kind = "llm";
    if (strcmp(kind, "menu") == 0)
        return open_menu(c, next);
    if (strcmp(kind, "hangup") == 0) {
        Ccai_conv_goodbye(c, true);
        return CCAI_OK;
    }
    if (strcmp(kind, "transfer") == 0) {
        Ccai_conv_say_phrase(c, CCAI_TTS_END_CALL_TO_CONNECT_AGENT, false, true);
        /* A failure is told to the caller there (transfer_failed). */
        CCAI_DISCARD(Ccai_conv_transfer_to(c, json_string_value(json_object_get(a, "number"))));
        return CCAI_OK;
    }
    if (strcmp(kind, "language") == 0) {
        const char *lang = json_string_value(json_object_get(a, "lang"));
        st = lang ? ccai_call_set_lang(c, lang) : CCAI_ERR_NOT_FOUND;
        /* A language the call does not have keeps the call's. */
        if (st == CCAI_ERR_NOT_FOUND) {
            Ccai_log(&c->log, CCAI_LOG_WARN,
                     "call %s: menu %s: %s is not one of the call's "
                     "languages: %s kept",
                     c->row.id, c->menu_name, lang ? lang : "?", c->row.lang);
            st = CCAI_OK;
        }
    } else if (strcmp(kind, "task") == 0) {
        st = set_task(c, a);
    }
    if (st != CCAI_OK)
        return st;
    if (next)
        return open_menu(c, next);
    return Ccai_call_connect(c);
}

/* The choice at index i of the menu the call is in; how: "key", or the
 * words heard. */
static CCAI_MUST_CHECK ccai_status chosen(ccai_call *c, size_t i, const char *how,
                                          const char *heard)
{
    const json_t *m = configured(c);
    char what[400];
    if (!m) {
        const char *lang = language_at(c, i);
        snprintf(what, sizeof what, "%s, %s%s%.200s%s", lang ? lang : "?", how, heard ? " \"" : "",
                 heard ? heard : "", heard ? "\"" : "");
        ccai_status st = record(c, what);
        if (st != CCAI_OK)
            return st;
        count(c, "chosen");
        c->menu_failures = 0;
        /* A value that is no language keeps the call's. */
        if (lang && Ccai_conv_lang_entry(c, lang)) {
            st = ccai_call_set_lang(c, lang);
            if (st != CCAI_OK)
                return st;
        }
        return Ccai_call_connect(c);
    }
    const json_t *ch = json_array_get(json_object_get(m, "choices"), i);
    const char *key = json_string_value(json_object_get(ch, "key"));
    const char *label = json_string_value(json_object_get(ch, "label"));
    if (!label)
        label = json_string_value(
            json_array_get(Ccai_menu_by_lang(json_object_get(ch, "say"), c->row.lang), 0));
    snprintf(what, sizeof what, "%s%s%.100s%s, %s%s%.200s%s -> %s", key ? key : "?",
             label ? " (" : "", label ? label : "", label ? ")" : "", how, heard ? " \"" : "",
             heard ? heard : "", heard ? "\"" : "",
             json_string_value(json_object_get(ch, "action")));
    ccai_status st = record(c, what);
    if (st != CCAI_OK)
        return st;
    count(c, "chosen");
    Ccai_log(&c->log, CCAI_LOG_INFO, "call %s: menu %s: %s", c->row.id, c->menu_name, what);
    return run(c, ch);
}

/* Nothing chosen: the menu again, or its fallback. */
static CCAI_MUST_CHECK ccai_status failed(ccai_call *c, const char *why)
{
    const json_t *m = configured(c);
    if (!m) {
        int max = (int)Ccai_config_int(c->eng->cfg, "conversation.recognition_retry_max", 3);
        if (++c->menu_failures < max) {
            act_offer(c, NULL, 0);
            return CCAI_OK;
        }
        count(c, "fallback");
        Ccai_conv_goodbye(c, false);
        return CCAI_OK;
    }
    int retries = (int)Ccai_config_int(c->eng->cfg, "ivr.retries", 2);
    if (c->menu_failures++ < retries) {
        count(c, "retry");
        Ccai_log(&c->log, CCAI_LOG_INFO, "call %s: menu %s: %s: offered again", c->row.id,
                 c->menu_name, why);
        act_offer(c, NULL, 0);
        return CCAI_OK;
    }
    /* The menu's own fallback, else ivr.fallback. */
    json_t *own = json_object_get(m, "fallback");
    json_t *fb = own ? json_incref(own)
                     : json_pack("{ss}", "action", Ccai_config_str(c->eng->cfg, "ivr.fallback"));
    if (!fb)
        return CCAI_ERR_NOMEM;
    char what[200];
    snprintf(what, sizeof what, "no choice (%s, %d tries) -> %s", why, c->menu_failures,
             json_string_value(json_object_get(fb, "action")));
    ccai_status st = record(c, what);
    if (st == CCAI_OK) {
        count(c, "fallback");
        Ccai_log(&c->log, CCAI_LOG_INFO, "call %s: menu %s: %s", c->row.id, c->menu_name, what);
        st = run(c, fb);
    }
    json_decref(fb);
    return st;
}

static void view_of(const ccai_call *c, Ccai_menu_view *v)
{
    const json_t *m = configured(c);
    if (m)
        view_configured(m, v);
    else
        view_languages(c, v);
}

ccai_status Ccai_menu_key(ccai_call *c, const char *digits)
{
    Ccai_menu_view v;
    view_of(c, &v);
    /* One key: a gather of several ("12") is none. */
    if (digits && digits[0] && !digits[1]) {
        for (size_t i = 0; i < v.n; i++) {
            if (v.choice[i].key == digits[0])
                return chosen(c, i, "key", NULL);
        }
    }
    return failed(c, "a key no choice has");
}

ccai_status Ccai_menu_words(ccai_call *c, const char *text)
{
    if (!text || !*text)
        return failed(c, "nothing heard");
    Ccai_menu_view v;
    view_of(c, &v);
    Ccai_guard_scratch heard = {0}, phrase = {0};
    int i = Ccai_menu_match(&v, text, &heard, &phrase);
    Ccai_guard_scratch_free(&heard);
    Ccai_guard_scratch_free(&phrase);
    if (i < 0)
        return failed(c, "words that pick no choice");
    return chosen(c, (size_t)i, "said", text);
}

ccai_status Ccai_menu_choice(ccai_call *c, const char *value)
{
    if (!value || !*value)
        return failed(c, "nothing recognised");
    /* A choice's value (a key; the language menu's language code). */
    const json_t *m = configured(c);
    Ccai_menu_view v;
    view_of(c, &v);
    for (size_t i = 0; i < v.n; i++) {
        const char *lang = m ? NULL : language_at(c, i);
        if ((m && v.choice[i].key == value[0] && !value[1]) || (lang && strcmp(lang, value) == 0))
            return chosen(c, i, "chose", NULL);
    }
    /* Else the words the channel heard. */
    return Ccai_menu_words(c, value);
}

void Ccai_menu_silence(ccai_call *c)
{
    ccai_status st = failed(c, "silence");
    if (st != CCAI_OK)
        Ccai_log(&c->log, CCAI_LOG_WARN, "call %s: the menu after silence: %s", c->row.id,
                 ccai_status_str(st));
}
