/* The LLM request of a turn: its messages (the system prompts rendered for
 * the call, then the newest stored history that fits the model's window)
 * and the call's tool schemas as JSON text, shared by the calls of the
 * same claim schema and languages (engine/request.h). The turn loop that
 * sends it is engine/conversation.c. */
#include "engine/request.h"

#include "core/json.h"
#include "core/tz.h"
#include "engine/history.h"
#include "engine/prompts.h"

#include <stdio.h>

void Ccai_tools_text_unref(Ccai_tools_text *t)
{
    if (t && --t->refs == 0)
        ccai_free(t);
}

static Ccai_tools_text *tools_text_ref(Ccai_tools_text *t)
{
    t->refs++;
    return t;
}

/* The schemas as JSON text, one reference; NULL when out of memory. */
static Ccai_tools_text *tools_text_new(const json_t *tools)
{
    char *json = tools ? Ccai_json_dump(tools, JSON_COMPACT) : NULL;
    size_t len = json ? strlen(json) : 0;
    Ccai_tools_text *t = json ? Ccai_malloc(sizeof *t + len + 1) : NULL;
    if (t) {
        t->refs = 1;
        t->tokens = Ccai_history_tokens(tools);
        t->len = len;
        memcpy(t->json, json, len + 1);
    }
    ccai_free(json);
    return t;
}

/* "French" for fr-FR: the first pronunciation, as the reference. */
static const char *lang_name(const ccai_call *c)
{
    const json_t *l = Ccai_conv_lang_entry(c, c->row.lang);
    const char *name =
        json_string_value(json_array_get(json_object_get(l, "pronunciations_en"), 0));
    return name ? name : c->row.lang;
}

static char *render_system(ccai_call *c, Ccai_llm_prompt which, json_t *reminders)
{
    Ccai_engine *e = c->eng;
    if (which == CCAI_PROMPT_DEFAULT_SYSTEM) {
        char date[CCAI_TZ_FORMAT_MAX];
        const Ccai_tz *tz = Ccai_conv_tz(c);
        if (!tz || Ccai_tz_format(tz, Ccai_wall_ms(), date, sizeof date) != CCAI_OK)
            date[0] = '\0';
        const char *bot_phone = c->row.bot_phone_number ? c->row.bot_phone_number : "";
        Ccai_prompt_var vars[] = {
            {"bot_name", Ccai_conv_initiate_str(c, "bot_name")},
            {"bot_company", Ccai_conv_initiate_str(c, "bot_company")},
            {"bot_phone_number", bot_phone},
            {"phone_number", c->row.phone_number},
            {"date", date},
        };
        return Ccai_prompts_render_llm(e->prompts, which, vars, CCAI_ARRAY_SIZE(vars));
    }
    char *claim = Ccai_json_dump(c->claim, JSON_COMPACT);
    char *rem = Ccai_json_dump(reminders, JSON_COMPACT);
    char *out = NULL;
    if (claim && rem) {
        Ccai_prompt_var vars[] = {
            {"task", Ccai_conv_initiate_str(c, "task")},
            {"default_lang", lang_name(c)},
            {"bot_company", Ccai_conv_initiate_str(c, "bot_company")},
            {"actions", "call, hangup, sms, talk"},
            {"styles", "cheerful, none, sad"},
            {"claim", claim},
            {"reminders", rem},
        };
        out = Ccai_prompts_render_llm(e->prompts, which, vars, CCAI_ARRAY_SIZE(vars));
    }
    ccai_free(claim);
    ccai_free(rem);
    return out;
}

/* Reminders are stored in UTC; the prompt speaks the caller's local time
 * (its date, the tools' times): their due times go in the same, with the
 * offset. */
static void reminders_to_local(ccai_call *c, json_t *reminders)
{
    const Ccai_tz *tz = Ccai_conv_tz(c);
    size_t i;
    json_t *r;
    json_array_foreach(reminders, i, r)
    {
        const char *due = json_string_value(json_object_get(r, "due_date_time"));
        char utc[CCAI_TZ_ISO_MAX], local[CCAI_TZ_ISO_MAX];
        int64_t ms;
        if (!tz || !due || strlen(due) < 19)
            continue;
        snprintf(utc, sizeof utc, "%.19sZ", due);
        if (Ccai_tz_localize_iso(tz, utc, local, sizeof local, &ms) == CCAI_OK &&
            Ccai_tz_iso_at(tz, ms, local, sizeof local) == CCAI_OK)
            json_object_set_new(r, "due_date_time", json_string(local));
    }
}

typedef struct history_read {
    Ccai_history *h;
    ccai_status st;
    int64_t newest; /* the seq of the newest message read */
} history_read;

/* One stored message, newest first: taken while it fits. */
static int on_history_row(const Ccai_store_message *m, void *ud)
{
    history_read *r = ud;
    json_t *calls = NULL;
    if (m->seq > r->newest)
        r->newest = m->seq;
    if (m->action && strcmp(m->action, "guard") == 0)
        return 0; /* a guardrails record: for people, never for the model */
    if (m->tool_calls_json) {
        Ccai_json_err jerr;
        calls = Ccai_json_load(m->tool_calls_json, strlen(m->tool_calls_json), &jerr, &r->st);
        if (!calls) {
            if (r->st == CCAI_ERR_PARSE)
                r->st = CCAI_ERR_STORE; /* the store only holds valid JSON */
            return 1;
        }
    }
    r->st = Ccai_history_add(r->h, m, calls);
    json_decref(calls);
    if (r->st == CCAI_ERR_LIMIT) {
        r->st = CCAI_OK; /* nothing older fits either */
        return 1;
    }
    return r->st != CCAI_OK;
}

/* The request's messages as JSON text: system prompts, then the newest
 * history that fits the model's window (context - max_tokens, counted
 * conservatively, engine/history.h) and the message cap. *seq: the newest
 * stored message to consider (< 0: any), then the newest one used: a retry
 * builds the same history again, whatever was said meanwhile. */
ccai_status Ccai_request_messages(ccai_call *c, const Ccai_tools_text *tools, int64_t *seq,
                                  char **ret)
{
    return Ccai_request_messages_early(c, tools, seq, NULL, ret);
}

ccai_status Ccai_request_messages_early(ccai_call *c, const Ccai_tools_text *tools, int64_t *seq,
                                        const char *early, char **ret)
{
    Ccai_engine *e = c->eng;
    Ccai_store *st = c->eng->store;
    json_t *reminders = NULL;
    char *persona = NULL, *chat = NULL;
    Ccai_history h;
    Ccai_history_init(&h, NULL, NULL, 0, 0);
    ccai_status s = Ccai_store_reminders_json(st, c->row.id, &reminders);
    if (s != CCAI_OK)
        goto out;
    reminders_to_local(c, reminders);
    s = CCAI_ERR_NOMEM;
    persona = render_system(c, CCAI_PROMPT_DEFAULT_SYSTEM, reminders);
    chat = render_system(c, CCAI_PROMPT_CHAT_SYSTEM, reminders);
    if (!persona || !chat)
        goto out;
    const Ccai_llm_model *m = &e->models[Ccai_engine_chat_first(e)];
    Ccai_history_init(&h, persona, chat,
                      m->context - m->max_tokens - (int64_t)(tools ? tools->tokens : 0),
                      e->history_max);
    /* Each stored message takes at least one of the history_max - 2 places:
     * the newest history_max rows are all that can be used. A stored
     * message and its tool results stay together. */
    history_read r = {&h, CCAI_OK, 0};
    if (early) {
        Ccai_store_message words = {
            .persona = "human", .action = "talk", .style = "none", .content = early};
        s = Ccai_history_add(&h, &words, NULL);
        if (s != CCAI_OK)
            goto out;
    }
    s = Ccai_store_messages_newest(st, c->row.id, e->history_max, *seq, on_history_row, &r);
    if (s == CCAI_OK)
        s = r.st;
    if (s != CCAI_OK)
        goto out;
    if (*seq < 0)
        *seq = r.newest;
    *ret = Ccai_history_take(&h);
    s = *ret ? CCAI_OK : CCAI_ERR_NOMEM;
out:
    Ccai_history_free(&h);
    json_decref(reminders);
    ccai_free(persona);
    ccai_free(chat);
    return s;
}

/* The tool schemas of a call (which: 1 leaves end_call out), shared with
 * every call of the same claim schema and languages. Borrowed from the call
 * (it holds a reference until Ccai_conv_cleanup). */
const Ccai_tools_text *Ccai_request_tools(ccai_call *c, int which)
{
    if (c->tools_cache[which])
        return c->tools_cache[which];
    Ccai_engine *e = c->eng;
    json_t *k = json_pack("[O?,O?]", json_object_get(c->initiate, "claim"),
                          json_object_get(c->initiate, "lang"));
    char *key = k ? Ccai_json_dump(k, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(k);
    if (!key)
        return NULL;
    Ccai_tools_entry *ent = NULL;
    for (size_t i = 0; i < e->n_tools && !ent; i++) {
        if (strcmp(e->tools[i].key, key) == 0)
            ent = &e->tools[i];
    }
    if (!ent) {
        if (e->n_tools < CCAI_TOOLS_CACHE) {
            ent = &e->tools[e->n_tools++];
        } else { /* full: replace in turn (calls keep their own references) */
            ent = &e->tools[e->next_evict++ % CCAI_TOOLS_CACHE];
            ccai_free(ent->key);
            Ccai_tools_text_unref(ent->tools[0]);
            Ccai_tools_text_unref(ent->tools[1]);
        }
        memset(ent, 0, sizeof *ent);
        ent->key = key;
        key = NULL;
    }
    ccai_free(key);
    if (!ent->tools[which]) {
        json_t *tools = Ccai_tools_schemas(c, which == 0);
        ent->tools[which] = tools_text_new(tools);
        json_decref(tools);
    }
    if (!ent->tools[which])
        return NULL;
    c->tools_cache[which] = tools_text_ref(ent->tools[which]);
    return c->tools_cache[which];
}
