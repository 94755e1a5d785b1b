/* The engine's menu (ccai_call_ops.menu) as ACS offers it: one recognition
 * with choices (a DTMF key or the words of each), whose prompt is the menu
 * in each language's own words and voice ("Pour le français, tapez 1. For
 * English, press 2."), as one SSML document with a voice per line; when
 * that would not fit the text to speech limit, the whole menu in the call's
 * voice instead. The caller's choice goes back as CCAI_EVENT_CHOICE. */
#include "channels/acs/acs_channel.h"

#include "tts/ssml.h"

#include <string.h>

void Ccai_acs_choices_clear(Ccai_acs_call *a)
{
    for (size_t i = 0; i < a->n_choices; i++) {
        ccai_free(a->choices[i].label);
        for (size_t k = 0; a->choices[i].phrases[k]; k++)
            ccai_free(a->choices[i].phrases[k]);
    }
    memset(a->choices, 0, sizeof a->choices);
    a->n_choices = 0;
}

/* A key as ACS names its tone; NULL for none. */
static const char *tone_of(const char *dtmf)
{
    static const char *const digits[] = {"zero", "one", "two",   "three", "four",
                                         "five", "six", "seven", "eight", "nine"};
    if (!dtmf || !dtmf[0] || dtmf[1])
        return NULL;
    if (dtmf[0] >= '0' && dtmf[0] <= '9')
        return digits[dtmf[0] - '0'];
    return dtmf[0] == '*' ? "asterisk" : dtmf[0] == '#' ? "pound" : NULL;
}

/* Keep the choices for the recognition, which goes out later. */
static CCAI_MUST_CHECK bool keep_choices(Ccai_acs_call *a, const ccai_menu *m)
{
    Ccai_acs_choices_clear(a);
    for (size_t i = 0; i < m->n_choices && i < CCAI_ACS_MENU_MAX; i++) {
        const ccai_menu_choice *c = m->choices[i];
        Ccai_acs_menu_item *it = &a->choices[a->n_choices++];
        if (!(it->label = Ccai_strdup(c->value)))
            return false;
        for (size_t k = 0; c->phrases && c->phrases[k] && k + 1 < CCAI_ARRAY_SIZE(it->phrases);
             k++) {
            if (!(it->phrases[k] = Ccai_strdup(c->phrases[k])))
                return false;
        }
        if (!it->phrases[0] && !(it->phrases[0] = Ccai_strdup(c->value)))
            return false;
        it->tone = tone_of(c->dtmf);
        if (!it->tone)
            return false;
    }
    return true;
}

/* The menu in each language's own voice, as one document. */
static CCAI_MUST_CHECK ccai_status queue_voices(Ccai_acs_call *a, const ccai_menu *m)
{
    const Ccai_acs *acs = a->acs;
    const char *texts[CCAI_ACS_MENU_MAX];
    Ccai_ssml_opts opts[CCAI_ACS_MENU_MAX];
    size_t n = m->n_choices < CCAI_ACS_MENU_MAX ? m->n_choices : CCAI_ACS_MENU_MAX;
    for (size_t i = 0; i < n; i++) {
        const ccai_menu_choice *c = m->choices[i];
        texts[i] = c->text;
        opts[i] = (Ccai_ssml_opts){
            .lang = c->lang,
            .voice =
                c->voice ? c->voice : Ccai_acs_cfg(acs, "communication_services.fallback_voice"),
            .voice_effect = Ccai_acs_cfg(acs, "communication_services.voice_effect"),
            .prosody_rate = m->rate,
        };
        if (!opts[i].voice)
            opts[i].voice = "en-US-AvaMultilingualNeural";
    }
    char *ssml = NULL;
    ccai_status st = Ccai_ssml_build_multi(texts, opts, n, &ssml);
    return st == CCAI_OK ? Ccai_acs_enqueue(a, CCAI_ACS_M_MENU, ssml, m->lang) : st;
}

int Ccai_acs_op_menu(ccai_call *c, const ccai_menu *m, void *ud)
{
    CCAI_UNUSED(c);
    Ccai_acs_call *a = ud;
    if (a->dead || a->ending || !m->n_choices || !keep_choices(a, m))
        return -1;
    /* Each choice's line in its own voice (the language menu), unless a
     * line is empty (a configured menu: its prompt says it all). */
    size_t total = 0;
    bool lines = true;
    for (size_t i = 0; i < m->n_choices; i++) {
        const char *t = m->choices[i]->text;
        total += (t ? strlen(t) : 0) + 1;
        lines = lines && t && *t;
    }
    ccai_status st = lines && total < CCAI_SSML_CHUNK_MAX
                         ? queue_voices(a, m)
                         : Ccai_acs_queue_text(a, m->text, m->lang, m->voice, CCAI_STYLE_NONE,
                                               m->rate, CCAI_ACS_M_MENU);
    if (st != CCAI_OK)
        return -1;
    Ccai_acs_schedule(a);
    a->menu = true;
    return 0;
}

void Ccai_acs_menu_answer(Ccai_acs_call *a, const char *label)
{
    a->menu = false; /* the engine may open it again from the event */
    Ccai_notify(&a->notify, CCAI_EVENT_CHOICE, label);
}
