/* Guardrails in the conversation (engine/guardrails.h). */
#include "engine/guardrails.h"

#include "config/config.h"
#include "core/json.h"
#include "guard/guard.h"

#include <stdio.h>

#define METRIC "ccai_guardrails_total"
/* The caller's words kept on a jailbreak record, at most. */
#define EXCERPT_MAX 200

struct Ccai_guardrails {
    Ccai_guard *guard;
    Ccai_guard_scratch scratch; /* the context's loop is one thread */
    bool filter, filter_caller, jailbreak;
    Ccai_guard_act action; /* on a jailbreak */
};

static const char *act_str(Ccai_guard_act a)
{
    switch (a) {
    case CCAI_GUARD_ACT_NONE: return "recorded";
    case CCAI_GUARD_ACT_ERROR: return "error";
    case CCAI_GUARD_ACT_REFUSE: return "refuse";
    case CCAI_GUARD_ACT_HANDOVER: return "handover";
    case CCAI_GUARD_ACT_END: return "end";
    }
    return "recorded";
}

/* The strings of a string-or-list key, borrowed from the configuration
 * (*ret freed with ccai_free(); NULL and 0 for none). */
static CCAI_MUST_CHECK bool texts_of(const ccai_config *cfg, const char *key, const char ***ret,
                                     size_t *n)
{
    const json_t *v = Ccai_config_json(cfg, key); /* a list; a string is read below */
    const char *one = v ? NULL : Ccai_config_str(cfg, key);
    *ret = NULL;
    *n = 0;
    size_t count = json_is_array(v) ? json_array_size(v) : one ? 1 : 0;
    if (!count)
        return true;
    const char **out = Ccai_calloc(count, sizeof *out);
    if (!out)
        return false;
    for (size_t i = 0; i < count; i++)
        out[i] = one ? one : json_string_value(json_array_get(v, i));
    *ret = out;
    *n = count;
    return true;
}

ccai_status Ccai_guardrails_new(Ccai_engine *e, char **ret_errmsg)
{
    const ccai_config *cfg = e->cfg;
    ccai_status st = Ccai_metrics_register(
        e->metrics, METRIC, CCAI_METRIC_COUNTER,
        "Guardrail hits, by kind (profanity, blocklist, competitor, jailbreak), side (caller, "
        "bot), source (local, provider) and action",
        NULL, 0);
    if (st != CCAI_OK)
        return st;
    struct Ccai_guardrails *g = Ccai_calloc(1, sizeof *g);
    if (!g)
        return CCAI_ERR_NOMEM;
    g->filter = Ccai_config_bool(cfg, "guardrails.filter", true);
    g->filter_caller = g->filter && Ccai_config_bool(cfg, "guardrails.filter_caller", true);
    g->jailbreak = Ccai_config_bool(cfg, "guardrails.jailbreak", true);
    const char *action = Ccai_config_str(cfg, "guardrails.jailbreak_action");
    g->action = CCAI_GUARD_ACT_REFUSE;
    if (action && strcmp(action, "handover") == 0)
        g->action = CCAI_GUARD_ACT_HANDOVER;
    else if (action && strcmp(action, "end") == 0)
        g->action = CCAI_GUARD_ACT_END;
    const char **block = NULL, **comp = NULL;
    size_t nb = 0, nc = 0;
    st = texts_of(cfg, "guardrails.blocklist", &block, &nb) &&
                 texts_of(cfg, "guardrails.competitors", &comp, &nc)
             ? CCAI_OK
             : CCAI_ERR_NOMEM;
    if (st == CCAI_OK) {
        Ccai_guard_opts o = {
            .profanity = g->filter && Ccai_config_bool(cfg, "guardrails.profanity", true),
            .blocklist = g->filter ? block : NULL,
            .n_blocklist = g->filter ? nb : 0,
            .competitors = g->filter ? comp : NULL,
            .n_competitors = g->filter ? nc : 0,
        };
        st = Ccai_guard_new(&o, &g->guard, ret_errmsg);
        if (st == CCAI_ERR_VALIDATION)
            st = CCAI_ERR_CONFIG;
    }
    ccai_free(block);
    ccai_free(comp);
    if (st != CCAI_OK) {
        ccai_free(g);
        return st;
    }
    e->guardrails = g;
    Ccai_log(
        &e->log, CCAI_LOG_INFO,
        "guardrails: filter %s (%zu entries), jailbreak detection %s (%zu patterns, action %s)",
        g->filter ? "on" : "off", Ccai_guard_entries(g->guard), g->jailbreak ? "on" : "off",
        Ccai_guard_patterns(g->guard), act_str(g->action));
    return CCAI_OK;
}

void Ccai_guardrails_free(Ccai_engine *e)
{
    struct Ccai_guardrails *g = e->guardrails;
    if (!g)
        return;
    Ccai_guard_free(g->guard);
    Ccai_guard_scratch_free(&g->scratch);
    ccai_free(g);
    e->guardrails = NULL;
}

/* Log, count and store a hit on the call. Best effort: a record that
 * cannot be stored is in the log; the verdict stands. */
static void record(ccai_call *c, const char *kind, const char *side, const char *source,
                   const char *rule, const char *category, const char *action, const char *text)
{
    Ccai_engine *e = c->eng;
    char labels[160];
    snprintf(labels, sizeof labels, "kind=\"%s\",side=\"%s\",source=\"%s\",action=\"%s\"", kind,
             side, source, action);
    /* Best effort: a sample lost changes nothing of the call. */
    CCAI_DISCARD(Ccai_metrics_counter_add(e->metrics, METRIC, labels, 1));
    Ccai_log(&e->log, CCAI_LOG_WARN, "call %s: guardrails: %s in the %s's words (%s: %s, %s): %s",
             c->row.id, kind, side, source, rule ? rule : "-", category ? category : "-", action);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s}", "kind", kind, "side", side, "source",
                          source, "rule", rule, "category", category, "action", action);
    if (o && text) {
        size_t n = strlen(text);
        if (n > EXCERPT_MAX) { /* cut on a character boundary */
            n = EXCERPT_MAX;
            while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
                n--;
        }
        if (json_object_set_new(o, "text", json_stringn(text, n)) != 0) {
            json_decref(o);
            o = NULL;
        }
    }
    char *content = o ? Ccai_json_dump(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    ccai_status st = content ? Ccai_call_add_message(c, "assistant", "guard", CCAI_STYLE_NONE,
                                                     content, NULL, NULL, "guard", NULL)
                             : CCAI_ERR_NOMEM;
    ccai_free(content);
    if (st != CCAI_OK)
        Ccai_log(&e->log, CCAI_LOG_ERROR, "call %s: guardrails: the record was not stored: %s",
                 c->row.id, ccai_status_str(st));
}

/* The caller's words seq are not to be read by the LLM. */
static void forget(ccai_call *c, int64_t seq)
{
    ccai_status st = Ccai_store_message_delete(c->eng->store, c->row.id, seq);
    /* Kept: the next request carries them; the verdict stands for this turn. */
    if (st != CCAI_OK && st != CCAI_ERR_NOT_FOUND)
        Ccai_log(&c->log, CCAI_LOG_ERROR,
                 "call %s: guardrails: the caller's words could not be forgotten: %s", c->row.id,
                 Ccai_store_errmsg(c->eng->store));
}

Ccai_guard_act Ccai_guardrails_caller(ccai_call *c, const char *text, int64_t seq)
{
    struct Ccai_guardrails *g = c->eng->guardrails;
    if (!g || !text)
        return CCAI_GUARD_ACT_NONE;
    unsigned mask = (g->jailbreak ? CCAI_GUARD_F_JAILBREAK : 0) |
                    (g->filter_caller ? CCAI_GUARD_F_PROFANITY | CCAI_GUARD_F_BLOCKLIST : 0);
    if (!mask)
        return CCAI_GUARD_ACT_NONE;
    Ccai_guard_hit hit;
    ccai_status st =
        Ccai_guard_check(g->guard, &g->scratch, text, strlen(text), c->row.lang, mask, &hit);
    if (st != CCAI_OK) {
        /* Out of memory: the words go on unchecked, which the log says. */
        Ccai_log(&c->log, CCAI_LOG_ERROR, "call %s: guardrails: not checked: %s", c->row.id,
                 ccai_status_str(st));
        return CCAI_GUARD_ACT_NONE;
    }
    if (hit.kind == CCAI_GUARD_NONE)
        return CCAI_GUARD_ACT_NONE;
    bool jb = hit.kind == CCAI_GUARD_JAILBREAK;
    Ccai_guard_act act = jb ? g->action : CCAI_GUARD_ACT_ERROR;
    forget(c, seq);
    record(c, Ccai_guard_kind_str(hit.kind), "caller", "local", hit.rule, hit.category,
           act_str(act), jb ? text : NULL);
    return act;
}

bool Ccai_guardrails_caller_clean(ccai_call *c, const char *text)
{
    struct Ccai_guardrails *g = c->eng->guardrails;
    if (!g || !text)
        return true;
    unsigned mask = (g->jailbreak ? CCAI_GUARD_F_JAILBREAK : 0) |
                    (g->filter_caller ? CCAI_GUARD_F_PROFANITY | CCAI_GUARD_F_BLOCKLIST : 0);
    Ccai_guard_hit hit;
    return !mask || (Ccai_guard_check(g->guard, &g->scratch, text, strlen(text), c->row.lang, mask,
                                      &hit) == CCAI_OK &&
                     hit.kind == CCAI_GUARD_NONE);
}

bool Ccai_guardrails_bot_ok(ccai_call *c, const char *text, bool streamed)
{
    struct Ccai_guardrails *g = c->eng->guardrails;
    if (!g || !g->filter || !text)
        return true;
    Ccai_guard_hit hit;
    ccai_status st = Ccai_guard_check(g->guard, &g->scratch, text, strlen(text), c->row.lang,
                                      CCAI_GUARD_F_WORDS, &hit);
    if (st != CCAI_OK) {
        /* Out of memory: not said (a sentence unchecked might be one to
         * keep back); the turn goes on. */
        Ccai_log(&c->log, CCAI_LOG_ERROR, "call %s: guardrails: not checked, not said: %s",
                 c->row.id, ccai_status_str(st));
        return false;
    }
    if (hit.kind == CCAI_GUARD_NONE)
        return true;
    record(c, Ccai_guard_kind_str(hit.kind), "bot", "local", hit.rule, hit.category,
           streamed ? act_str(CCAI_GUARD_ACT_ERROR) : "withheld", NULL);
    return false;
}

Ccai_guard_act Ccai_guardrails_provider(ccai_call *c, bool blocked)
{
    struct Ccai_guardrails *g = c->eng->guardrails;
    Ccai_guard_act act = !blocked ? CCAI_GUARD_ACT_NONE : g ? g->action : CCAI_GUARD_ACT_REFUSE;
    record(c, "jailbreak", "caller", "provider", "prompt shield", blocked ? "filtered" : "detected",
           act_str(act), NULL);
    return act;
}
