/* The language menu: when a call connects with several languages
 * configured and its channel can offer a menu (ccai_call_ops.menu, version
 * 2), the engine asks the caller to choose ("Pour le français, tapez 1. For
 * English, press 2.", each line in its own language and voice), the channel
 * offers it and reports the choice (CCAI_EVENT_CHOICE). The call's state is
 * language_menu meanwhile. A choice sets the call's language and the
 * conversation starts; nothing recognised offers the menu again, up to
 * conversation.recognition_retry_max times, then the bot says goodbye (as
 * the reference does). A channel that cannot offer it leaves the call
 * connecting without one. */
#include "engine/engine.h"

#include "config/config.h"
#include "engine/phrases.h"
#include "engine/prompts.h"

#include <stdio.h>

/* Choices of a menu, one per DTMF key. */
#define MENU_MAX 9
/* Words that pick a choice, at most. */
#define PHRASES_MAX 3

bool Ccai_menu_wanted(const ccai_call *c)
{
    /* A callback's callee speaks the call's language already. */
    if (c->taken_back || c->callback_job || c->ops.version < 2 || !c->ops.menu)
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

typedef struct built {
    ccai_menu menu;
    ccai_menu_choice choice[MENU_MAX];
    const ccai_menu_choice *choices[MENU_MAX];
    const char *phrases[MENU_MAX][PHRASES_MAX + 1];
    char dtmf[MENU_MAX][2];
    char *lines[MENU_MAX];
    Ccai_buf text;
} built;

static void built_free(built *b)
{
    for (size_t k = 0; k < b->menu.n_choices; k++)
        ccai_free(b->lines[k]);
    Ccai_buf_free(&b->text);
}

/* Each language offers itself in its own words (the prompt's variant the
 * same for all); the whole menu in the call's language for a channel that
 * says it in one voice. false when out of memory. */
static CCAI_MUST_CHECK bool build(ccai_call *c, built *b)
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
        if (!code || n == MENU_MAX)
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

/* Offer the menu; true when the channel took it. */
static CCAI_MUST_CHECK bool offer(ccai_call *c)
{
    built b = {0};
    bool ok = build(c, &b);
    int rc = ok ? c->ops.menu(c, &b.menu, c->ud) : -1;
    built_free(&b);
    if (rc != 0)
        Ccai_log(&c->log, CCAI_LOG_WARN, "call %s: no language menu: %s", c->row.id,
                 ok ? "the channel refused it" : ccai_status_str(CCAI_ERR_NOMEM));
    return rc == 0;
}

/* Connect without a menu when the channel cannot offer it. */
static void act_offer(ccai_call *c, const char *text, int64_t num)
{
    CCAI_UNUSED(text);
    CCAI_UNUSED(num);
    if (offer(c))
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
    /* Seen in the call's state while the caller chooses. */
    ccai_status st = Ccai_call_set_state(c, CCAI_CALL_LANGUAGE_MENU);
    if (st == CCAI_OK)
        st = Ccai_call_after_commit(c, act_offer, NULL, 0);
    return st;
}

ccai_status Ccai_menu_choice(ccai_call *c, const char *value)
{
    if (value) {
        c->menu_failures = 0;
        /* A value that is no language keeps the call's. */
        if (Ccai_conv_lang_entry(c, value)) {
            ccai_status st = ccai_call_set_lang(c, value);
            if (st != CCAI_OK)
                return st;
        }
        return Ccai_call_connect(c);
    }
    int max = (int)Ccai_config_int(c->eng->cfg, "conversation.recognition_retry_max", 3);
    if (++c->menu_failures < max) {
        act_offer(c, NULL, 0);
        return CCAI_OK;
    }
    Ccai_conv_goodbye(c, false);
    return CCAI_OK;
}

ccai_status Ccai_menu_key(ccai_call *c, const char *digits)
{
    /* The key of the n-th language offered (build()'s order). */
    const json_t *avail = json_object_get(json_object_get(c->initiate, "lang"), "availables");
    size_t n = 0, i;
    const json_t *l;
    const char *value = NULL;
    json_array_foreach(avail, i, l)
    {
        const char *code = json_string_value(json_object_get(l, "short_code"));
        if (!code || n == MENU_MAX)
            continue;
        n++;
        if (digits && digits[0] == (char)('0' + n) && !digits[1])
            value = code;
    }
    return Ccai_menu_choice(c, value);
}
