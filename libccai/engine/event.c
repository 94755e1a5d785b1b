/* ccai_event: what a channel tells the engine. */
#include "engine/engine.h"

#include <math.h>

CCAI_EXPORT ccai_status ccai_event_new(ccai_event_type type, ccai_event **ret)
{
    if (!ret || (unsigned)type > CCAI_EVENT_RECORDING)
        return CCAI_ERR_INVALID_ARG;
    ccai_event *ev = Ccai_calloc(1, sizeof *ev);
    if (!ev)
        return CCAI_ERR_NOMEM;
    ev->type = type;
    ev->final = true;
    ev->confidence = 1.0;
    *ret = ev;
    return CCAI_OK;
}

CCAI_EXPORT void ccai_event_free(ccai_event *ev)
{
    if (!ev)
        return;
    ccai_free(ev->text);
    ccai_free(ev->lang);
    ccai_free(ev->from);
    ccai_free(ev);
}

static ccai_status set_str(char **dst, const char *value, size_t max)
{
    if (value && strlen(value) > max)
        return CCAI_ERR_LIMIT;
    return Ccai_str_replace(dst, value) ? CCAI_OK : CCAI_ERR_NOMEM;
}

CCAI_EXPORT ccai_status ccai_event_set_text(ccai_event *ev, const char *text)
{
    if (!ev)
        return CCAI_ERR_INVALID_ARG;
    return set_str(&ev->text, text, CCAI_EVENT_TEXT_MAX);
}

CCAI_EXPORT ccai_status ccai_event_set_lang(ccai_event *ev, const char *lang)
{
    if (!ev)
        return CCAI_ERR_INVALID_ARG;
    return set_str(&ev->lang, lang, 35);
}

CCAI_EXPORT ccai_status ccai_event_set_from(ccai_event *ev, const char *phone_number)
{
    if (!ev)
        return CCAI_ERR_INVALID_ARG;
    return set_str(&ev->from, phone_number, 64);
}

CCAI_EXPORT ccai_status ccai_event_set_final(ccai_event *ev, int final)
{
    if (!ev)
        return CCAI_ERR_INVALID_ARG;
    ev->final = final != 0;
    return CCAI_OK;
}

CCAI_EXPORT ccai_status ccai_event_set_confidence(ccai_event *ev, double confidence)
{
    if (!ev || isnan(confidence) || confidence < 0.0 || confidence > 1.0)
        return CCAI_ERR_INVALID_ARG;
    ev->confidence = confidence;
    return CCAI_OK;
}

ccai_status Ccai_call_notify(ccai_call *c, ccai_event_type type, const char *text)
{
    ccai_event *ev = NULL;
    ccai_status st = ccai_event_new(type, &ev);
    if (st == CCAI_OK && text)
        st = ccai_event_set_text(ev, text);
    if (st == CCAI_OK)
        st = ccai_on_event(c, ev);
    ccai_event_free(ev);
    return st;
}
