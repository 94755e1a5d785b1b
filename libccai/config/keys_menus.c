/* ivr.menus: the IVR menus, checked when the configuration is read, so that
 * a menu naming a sub-menu that does not exist, a key used twice or an
 * action without what it needs is an error at start, never in the middle of
 * a call. The shape (docs/ivr.md):
 *
 *   <name>: {prompt: TEXT | {<lang>: TEXT, ...},
 *            choices: [{key, say?, label?, <action>}, ...],   1 .. 9
 *            fallback?: {<action>}}
 *   <action>: action: llm | hangup
 *           | action: language, lang, menu?
 *           | action: task, task, claim?, menu?
 *           | action: transfer, number?
 *           | action: menu, menu
 *   say: [WORDS, ...] | {<lang>: [WORDS, ...], ...}
 *
 * Names are [A-Za-z0-9_-]{1,64}; a key is one of 0-9 * #. */
#include "config/keys.h"

#include "core/json.h"

#include <stdio.h>
#include <string.h>

static CCAI_MUST_CHECK bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > CCAI_IVR_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-'))
            return false;
    }
    return true;
}

/* A language code as the configuration writes them ("fr-FR", "en"). */
static CCAI_MUST_CHECK bool lang_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 2 || n > 35)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-'))
            return false;
    }
    return true;
}

static CCAI_MUST_CHECK bool text_ok(const json_t *v, size_t max)
{
    const char *s = json_string_value(v);
    size_t n = s ? json_string_length(v) : 0;
    return s && n > 0 && n <= max && Ccai_text_valid(s, n);
}

/* A text, or a map of texts by language. */
static Ccai_conv check_texts_by_lang(const json_t *v, const char *where, size_t max, char **ret_msg)
{
    if (json_is_string(v)) {
        if (!text_ok(v, max))
            return Ccai_key_bad(ret_msg, "%s: expected a text of 1 to %zu bytes", where, max);
        return CCAI_CONV_OK;
    }
    if (!json_is_object(v) || json_object_size(v) == 0)
        return Ccai_key_bad(ret_msg, "%s: expected a text or a mapping of texts by language",
                            where);
    const char *lang;
    const json_t *t;
    json_object_foreach((json_t *)v, lang, t)
    {
        if (!lang_ok(lang))
            return Ccai_key_bad(ret_msg, "%s: \"%.40s\" is no language code (fr-FR, en)", where,
                                lang);
        if (!text_ok(t, max))
            return Ccai_key_bad(ret_msg, "%s.%s: expected a text of 1 to %zu bytes", where, lang,
                                max);
    }
    return CCAI_CONV_OK;
}

static Ccai_conv check_words(const json_t *v, const char *where, char **ret_msg)
{
    if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > CCAI_IVR_PHRASES_MAX)
        return Ccai_key_bad(ret_msg, "%s: expected a list of 1 to %d words or phrases", where,
                            CCAI_IVR_PHRASES_MAX);
    size_t i;
    const json_t *w;
    json_array_foreach(v, i, w)
    {
        if (!text_ok(w, CCAI_IVR_PHRASE_MAX))
            return Ccai_key_bad(ret_msg, "%s[%zu]: expected a text of 1 to %d bytes", where, i + 1,
                                CCAI_IVR_PHRASE_MAX);
    }
    return CCAI_CONV_OK;
}

static Ccai_conv check_say(const json_t *v, const char *where, char **ret_msg)
{
    if (json_is_array(v))
        return check_words(v, where, ret_msg);
    if (!json_is_object(v) || json_object_size(v) == 0)
        return Ccai_key_bad(ret_msg, "%s: expected a list of words, or lists by language", where);
    const char *lang;
    const json_t *l;
    json_object_foreach((json_t *)v, lang, l)
    {
        if (!lang_ok(lang))
            return Ccai_key_bad(ret_msg, "%s: \"%.40s\" is no language code (fr-FR, en)", where,
                                lang);
        char sub[256];
        snprintf(sub, sizeof sub, "%.190s.%.40s", where, lang);
        Ccai_conv c = check_words(l, sub, ret_msg);
        if (c != CCAI_CONV_OK)
            return c;
    }
    return CCAI_CONV_OK;
}

static CCAI_MUST_CHECK bool e164_ok(const char *to)
{
    size_t n = strlen(to);
    bool ok = n >= 4 && n <= 16 && to[0] == '+';
    for (size_t k = 1; ok && k < n; k++)
        ok = to[k] >= '0' && to[k] <= '9';
    return ok;
}

/* Members an action of each kind may have, beside "action" (and a
 * choice's key, say and label). */
typedef struct action_kind {
    const char *name;
    const char *members[4]; /* NULL-terminated */
} action_kind;

static const action_kind kinds[] = {
    {"llm", {NULL}},
    {"hangup", {NULL}},
    {"language", {"lang", "menu", NULL}},
    {"task", {"task", "claim", "menu", NULL}},
    {"transfer", {"number", NULL}},
    {"menu", {"menu", NULL}},
};

static const action_kind *kind_of(const char *name)
{
    for (size_t i = 0; name && i < CCAI_ARRAY_SIZE(kinds); i++) {
        if (strcmp(kinds[i].name, name) == 0)
            return &kinds[i];
    }
    return NULL;
}

static CCAI_MUST_CHECK bool member_of(const action_kind *k, const char *m, bool choice)
{
    if (strcmp(m, "action") == 0)
        return true;
    if (choice && (strcmp(m, "key") == 0 || strcmp(m, "say") == 0 || strcmp(m, "label") == 0))
        return true;
    for (size_t i = 0; k->members[i]; i++) {
        if (strcmp(k->members[i], m) == 0)
            return true;
    }
    return false;
}

/* An action (a choice's, or a menu's fallback); menus: the whole map, for
 * the names it refers to. */
static Ccai_conv check_action(const json_t *a, const json_t *menus, const char *where, bool choice,
                              char **ret_msg)
{
    const char *name = json_string_value(json_object_get(a, "action"));
    const action_kind *k = kind_of(name);
    if (!k)
        return Ccai_key_bad(ret_msg,
                            "%s: action must be one of llm, language, task, transfer, menu, hangup",
                            where);
    const char *m;
    const json_t *v;
    json_object_foreach((json_t *)a, m, v)
    {
        if (!member_of(k, m, choice))
            return Ccai_key_bad(ret_msg, "%s: unknown member \"%.40s\" for action %s", where, m,
                                name);
    }
    const json_t *lang = json_object_get(a, "lang");
    const json_t *task = json_object_get(a, "task");
    const json_t *menu = json_object_get(a, "menu");
    const json_t *number = json_object_get(a, "number");
    if (strcmp(name, "language") == 0 &&
        !(json_is_string(lang) && lang_ok(json_string_value(lang))))
        return Ccai_key_bad(ret_msg, "%s: action language needs lang, a language code (fr-FR)",
                            where);
    if (strcmp(name, "task") == 0 && !text_ok(task, CCAI_IVR_TASK_MAX))
        return Ccai_key_bad(ret_msg, "%s: action task needs task, a text of 1 to %d bytes", where,
                            CCAI_IVR_TASK_MAX);
    if (strcmp(name, "menu") == 0 && !menu)
        return Ccai_key_bad(ret_msg, "%s: action menu needs menu, the name of a menu", where);
    if (menu && !(json_is_string(menu) && json_object_get(menus, json_string_value(menu))))
        return Ccai_key_bad(ret_msg, "%s: menu must name a menu of ivr.menus", where);
    if (number && !(json_is_string(number) && e164_ok(json_string_value(number))))
        return Ccai_key_bad(ret_msg, "%s: number must be a phone number in E.164 (+33612345678)",
                            where);
    const json_t *claim = json_object_get(a, "claim");
    if (claim) {
        const Ccai_key *ck = Ccai_key_find("conversation.initiate.claim");
        json_t *checked = NULL;
        char *why = NULL;
        Ccai_conv c = ck ? Ccai_key_check_json(ck, claim, NULL, &checked, &why) : CCAI_CONV_OK;
        json_decref(checked);
        if (c == CCAI_CONV_BAD) {
            Ccai_conv r = Ccai_key_bad(ret_msg, "%s.claim: %s", where, why);
            ccai_free(why);
            return r;
        }
        if (c != CCAI_CONV_OK)
            return c;
    }
    return CCAI_CONV_OK;
}

static CCAI_MUST_CHECK bool key_ok(const char *k)
{
    return k && k[0] && !k[1] && ((k[0] >= '0' && k[0] <= '9') || k[0] == '*' || k[0] == '#');
}

static Ccai_conv check_menu(const char *name, const json_t *m, const json_t *menus, char **ret_msg)
{
    if (!name_ok(name))
        return Ccai_key_bad(ret_msg, "menu \"%.40s\": a name is 1 to %d letters, digits, _ or -",
                            name, CCAI_IVR_NAME_MAX);
    if (!json_is_object(m))
        return Ccai_key_bad(ret_msg, "menu %s: expected a mapping {prompt, choices, fallback}",
                            name);
    const char *mk;
    const json_t *v;
    json_object_foreach((json_t *)m, mk, v)
    {
        if (strcmp(mk, "prompt") != 0 && strcmp(mk, "choices") != 0 && strcmp(mk, "fallback") != 0)
            return Ccai_key_bad(
                ret_msg, "menu %s: unknown member \"%.40s\" (prompt, choices, fallback)", name, mk);
    }
    char where[160];
    snprintf(where, sizeof where, "menu %s: prompt", name);
    const json_t *prompt = json_object_get(m, "prompt");
    if (!prompt)
        return Ccai_key_bad(ret_msg, "%s is missing", where);
    Ccai_conv c = check_texts_by_lang(prompt, where, CCAI_IVR_PROMPT_MAX, ret_msg);
    if (c != CCAI_CONV_OK)
        return c;
    const json_t *choices = json_object_get(m, "choices");
    if (!json_is_array(choices) || json_array_size(choices) == 0 ||
        json_array_size(choices) > CCAI_IVR_CHOICES_MAX)
        return Ccai_key_bad(ret_msg, "menu %s: choices: expected a list of 1 to %d choices", name,
                            CCAI_IVR_CHOICES_MAX);
    size_t i;
    const json_t *ch;
    char keys[CCAI_IVR_CHOICES_MAX + 1] = {0};
    json_array_foreach(choices, i, ch)
    {
        snprintf(where, sizeof where, "menu %s: choice %zu", name, i + 1);
        if (!json_is_object(ch))
            return Ccai_key_bad(ret_msg, "%s: expected a mapping {key, say, action, ...}", where);
        const char *key = json_string_value(json_object_get(ch, "key"));
        if (!key_ok(key))
            return Ccai_key_bad(ret_msg, "%s: key must be one of 0-9, * or # (as text: \"1\")",
                                where);
        if (strchr(keys, key[0]))
            return Ccai_key_bad(ret_msg, "%s: key %s is taken by another choice", where, key);
        keys[i] = key[0];
        const json_t *say = json_object_get(ch, "say");
        char sub[192];
        snprintf(sub, sizeof sub, "%s: say", where);
        if (say && (c = check_say(say, sub, ret_msg)) != CCAI_CONV_OK)
            return c;
        const json_t *label = json_object_get(ch, "label");
        if (label && !text_ok(label, CCAI_IVR_PHRASE_MAX))
            return Ccai_key_bad(ret_msg, "%s: label: expected a text of 1 to %d bytes", where,
                                CCAI_IVR_PHRASE_MAX);
        if ((c = check_action(ch, menus, where, true, ret_msg)) != CCAI_CONV_OK)
            return c;
    }
    const json_t *fb = json_object_get(m, "fallback");
    if (fb) {
        snprintf(where, sizeof where, "menu %s: fallback", name);
        if (!json_is_object(fb))
            return Ccai_key_bad(ret_msg, "%s: expected a mapping {action, ...}", where);
        if ((c = check_action(fb, menus, where, false, ret_msg)) != CCAI_CONV_OK)
            return c;
    }
    return CCAI_CONV_OK;
}

Ccai_conv Ccai_key_check_menus(const json_t *v, char **ret_msg)
{
    if (!json_is_object(v))
        return Ccai_key_bad(ret_msg, "expected a mapping of menus by name, got %s",
                            Ccai_json_kind(v));
    if (json_object_size(v) > CCAI_IVR_MENUS_MAX)
        return Ccai_key_bad(ret_msg, "too many menus (%zu, at most %d)", json_object_size(v),
                            CCAI_IVR_MENUS_MAX);
    const char *name;
    const json_t *m;
    json_object_foreach((json_t *)v, name, m)
    {
        Ccai_conv c = check_menu(name, m, v, ret_msg);
        if (c != CCAI_CONV_OK)
            return c;
    }
    return CCAI_CONV_OK;
}

Ccai_conv Ccai_key_check_by_lang(const json_t *v, char **ret_msg)
{
    return check_texts_by_lang(v, "text", CCAI_IVR_PROMPT_MAX, ret_msg);
}
