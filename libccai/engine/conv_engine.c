/* The conversation's engine-wide part: the models and timeouts read from
 * the configuration, the caches shared by calls (initiate documents, tool
 * schemas), and the group commit of the bot's spoken words. */
#include "engine/engine.h"

#include "config/config.h"
#include "core/json.h"
#include "engine/guardrails.h"
#include "engine/offline.h"
#include "engine/phrases.h"
#include "engine/prompts.h"
#include "engine/request.h"
#include "llm/llm.h"

/* The bot's words are stored at most this long after they were said, with
 * those of every other call said meanwhile (group commit): answers stream
 * in a sentence at a time, each a commit of its own before. Nothing waits
 * for them (anything else stored for the call, or a read of its document,
 * stores them first); a crash in between loses words said less than this
 * long ago, as a crash between say() and its own commit did. */
#define KEPT_DELAY_MS 5

/* Engine ------------------------------------------------------------------- */

/* The words the calls said since the last group commit: one commit. */
static void on_kept_timer(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    Ccai_conv_store_kept(ud);
}

ccai_status Ccai_conv_engine_init(Ccai_engine *e, char **ret_errmsg)
{
    Ccai_timer_init(&e->kept_timer, on_kept_timer, e);
    char *why = NULL;
    e->prompts = Ccai_prompts_new(e->cfg, &why);
    if (!e->prompts) {
        if (why && ret_errmsg)
            *ret_errmsg = why;
        else
            ccai_free(why);
        return why ? CCAI_ERR_CONFIG : CCAI_ERR_NOMEM;
    }
    const ccai_config *cfg = e->cfg;
    const char *order[2] = {"fast", "slow"};
    for (int i = 0; i < 2; i++) {
        ccai_status st = Ccai_llm_model_from_config(cfg, order[i], &e->models[e->n_models]);
        if (st == CCAI_OK)
            e->n_models++;
        else if (st != CCAI_ERR_NOT_FOUND)
            return st;
    }
    e->history_max = (int)Ccai_config_int(cfg, "conversation.history_max_messages", 20);
    if (!(e->phrasebook = Ccai_phrasebook_new(e)))
        return CCAI_ERR_NOMEM;
    ccai_status gst = Ccai_guardrails_new(e, ret_errmsg);
    if (gst != CCAI_OK)
        return gst;
    Ccai_log(&e->log, CCAI_LOG_INFO, "engine: %s",
             e->n_models ? (e->n_models == 2 ? "two LLMs (with fail-over)" : "one LLM")
                         : "no LLM configured: the offline dialogue answers");
    return CCAI_OK;
}

/* Feature flags (config/flags.h) are read where they are used: a value
 * changed at run time is the one the next turn reads. */
uint32_t Ccai_engine_flag_ms(const Ccai_engine *e, Ccai_engine_flag f)
{
    switch (f) {
    case CCAI_FLAG_SOFT:
        return (uint32_t)Ccai_config_int(e->cfg, "conversation.answer_soft_timeout_sec", 4) * 1000u;
    case CCAI_FLAG_HARD:
        return (uint32_t)Ccai_config_int(e->cfg, "conversation.answer_hard_timeout_sec", 15) *
               1000u;
    case CCAI_FLAG_SILENCE:
        return (uint32_t)Ccai_config_int(e->cfg, "conversation.phone_silence_timeout_sec", 20) *
               1000u;
    }
    return 0;
}

int Ccai_engine_retry_max(const Ccai_engine *e)
{
    return (int)Ccai_config_int(e->cfg, "conversation.recognition_retry_max", 3);
}

int Ccai_engine_max_rounds(const Ccai_engine *e)
{
    int64_t n = Ccai_config_int(e->cfg, "conversation.max_llm_rounds", 3);
    return n < 1 ? 1 : (int)n;
}

size_t Ccai_engine_chat_first(const Ccai_engine *e)
{
    return e->n_models == 2 && Ccai_config_bool(e->cfg, "conversation.slow_llm_for_chat", false)
               ? 1
               : 0;
}

const Ccai_llm_model *Ccai_engine_model(const Ccai_engine *e, const char *name)
{
    for (size_t i = 0; e && i < e->n_models; i++) {
        if (strcmp(e->models[i].name, name) == 0)
            return &e->models[i];
    }
    return NULL;
}

const Ccai_prompts *Ccai_engine_prompts(const Ccai_engine *e)
{
    return e->prompts;
}

void Ccai_conv_engine_cleanup(Ccai_engine *e)
{
    Ccai_timer_stop(e->ctx, &e->kept_timer); /* its calls are gone, each stored its words */
    for (size_t i = 0; i < e->n_initiates; i++)
        json_decref(e->initiates[i].tree);
    for (size_t i = 0; i < e->n_tools; i++) {
        ccai_free(e->tools[i].key);
        Ccai_tools_text_unref(e->tools[i].tools[0]);
        Ccai_tools_text_unref(e->tools[i].tools[1]);
    }
    Ccai_phrasebook_free(e->phrasebook); /* before the prompts it reads */
    Ccai_prompts_free(e->prompts);
    Ccai_guardrails_free(e);
    Ccai_offline_lexicon_free(e->offline_lex);
    for (size_t i = 0; i < 2; i++)
        Ccai_llm_model_clear(&e->models[i]);
}

/* Whether two trees are written alike by json_dumps(JSON_COMPACT |
 * JSON_SORT_KEYS), the key the cache compared before, without writing
 * them (~230 k instructions a call for the defaults): an object's keys in
 * any order, a real by its bits (its %.17g text tells every double from
 * another, -0.0 from 0.0, as the bits do), an integer never a real. */
static bool same_json(const json_t *a, const json_t *b)
{
    if (a == b)
        return true;
    if (!a || !b || json_typeof(a) != json_typeof(b))
        return false;
    switch (json_typeof(a)) {
    case JSON_OBJECT: {
        if (json_object_size(a) != json_object_size(b))
            return false;
        const char *k;
        const json_t *v;
        json_object_foreach((json_t *)a, k, v)
        {
            if (!same_json(v, json_object_get(b, k)))
                return false;
        }
        return true;
    }
    case JSON_ARRAY: {
        size_t n = json_array_size(a);
        if (json_array_size(b) != n)
            return false;
        for (size_t i = 0; i < n; i++)
            if (!same_json(json_array_get(a, i), json_array_get(b, i)))
                return false;
        return true;
    }
    case JSON_STRING: {
        size_t n = json_string_length(a);
        return json_string_length(b) == n &&
               memcmp(json_string_value(a), json_string_value(b), n) == 0;
    }
    case JSON_INTEGER: return json_integer_value(a) == json_integer_value(b);
    case JSON_REAL: {
        double x = json_real_value(a), y = json_real_value(b);
        return memcmp(&x, &y, sizeof x) == 0;
    }
    default: /* true, false, null: their type */ return true;
    }
}

json_t *Ccai_conv_share_initiate(Ccai_engine *e, json_t *initiate)
{
    for (size_t i = 0; i < e->n_initiates; i++) {
        if (same_json(e->initiates[i].tree, initiate)) {
            json_decref(initiate);
            return json_incref(e->initiates[i].tree);
        }
    }
    Ccai_initiate_entry *ent;
    if (e->n_initiates < CCAI_INITIATE_CACHE) {
        ent = &e->initiates[e->n_initiates++];
    } else { /* full: replace in turn (calls keep their references) */
        ent = &e->initiates[e->next_initiate++ % CCAI_INITIATE_CACHE];
        json_decref(ent->tree);
    }
    ent->tree = json_incref(initiate);
    return initiate;
}

/* Group commit of spoken words ------------------------------------------------ */

void Ccai_conv_kept(ccai_call *c)
{
    Ccai_engine *e = c->eng;
    if (c->kept_listed)
        return;
    c->kept_listed = true;
    c->kept_next = e->kept;
    e->kept = c;
    if (!Ccai_timer_active(&e->kept_timer))
        Ccai_timer_start(c->ctx, &e->kept_timer, KEPT_DELAY_MS);
}

void Ccai_conv_store_kept(Ccai_engine *e)
{
    if (!e || !e->kept)
        return;
    ccai_call *list = e->kept;
    e->kept = NULL;
    Ccai_timer_stop(e->ctx, &e->kept_timer);
    Ccai_calls_store_kept(e, list);
    for (ccai_call *c = list, *next; c; c = next) {
        next = c->kept_next;
        c->kept_next = NULL;
        c->kept_listed = false;
    }
}

/* The call goes: its words now, and off the list. */
void Ccai_conv_kept_forget(ccai_call *c)
{
    Ccai_call_store_kept(c);
    if (!c->kept_listed)
        return;
    Ccai_engine *e = c->eng;
    for (ccai_call **p = &e->kept; *p; p = &(*p)->kept_next) {
        if (*p == c) {
            *p = c->kept_next;
            break;
        }
    }
    c->kept_next = NULL;
    c->kept_listed = false;
}
