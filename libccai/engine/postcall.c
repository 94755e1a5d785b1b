/* Durable jobs after a call: synthesis, next action and the SMS report
 * (kind "postcall"), and the SMS the engine sends (kind "sms"), through the
 * SMS provider (sms/sms.h).
 *
 * Jobs live in the store, so they survive a restart: the runner claims one
 * due job at a time on the context's timers, and a job that fails is tried
 * again with backoff (up to JOB_ATTEMPTS). With an LLM, synthesis and next
 * action are asked in JSON mode, validated, and re-asked up to three times
 * with the validation error quoted; without one (or when every LLM fails)
 * they are written from the stored claim, so every call gets a report. */
#include "engine/engine.h"

#include "config/config.h"
#include "core/json.h"
#include "engine/offline.h"
#include "engine/phrases.h"
#include "engine/prompts.h"
#include "llm/llm.h"
#include "sms/sms.h"

#include <stdio.h>
#include <stdlib.h>

#define JOB_KINDS    "postcall,sms"
#define JOB_LEASE_MS (5 * 60 * 1000)
#define JOB_ATTEMPTS 5
/* The store could not be read or written (a lock another process holds, a
 * failing disk): look again after this long rather than spin on the loop. */
#define JOB_STORE_RETRY_MS 1000
#define JSON_REPROMPTS     3

static const char *const next_actions[] = {
    "case_closed",   "commercial_offer",     "customer_will_send_info",
    "high_priority", "propose_new_contract", "requires_expertise",
};
static const char *const satisfactions[] = {"terrible", "low", "partial", "high", "unknow"};

static const char synthesis_format[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"long\":{\"type\":\"string\",\"description\":\"A Markdown paragraph to the customer (as "
    "'you', the agent as 'I') of what was said and what happens next, without personal "
    "details.\"},"
    "\"satisfaction\":{\"type\":\"string\",\"enum\":[\"terrible\",\"low\",\"partial\",\"high\","
    "\"unknow\"]},"
    "\"short\":{\"type\":\"string\",\"description\":\"A few words starting with a determiner, "
    "e.g. 'your broken window'.\"},"
    "\"improvement_suggestions\":{\"type\":\"string\"}},"
    "\"required\":[\"long\",\"satisfaction\",\"short\",\"improvement_suggestions\"]}";

static const char next_format[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"action\":{\"type\":\"string\",\"enum\":[\"case_closed\",\"commercial_offer\","
    "\"customer_will_send_info\",\"high_priority\",\"propose_new_contract\","
    "\"requires_expertise\"]},"
    "\"justification\":{\"type\":\"string\",\"description\":\"One or two sentences.\"}},"
    "\"required\":[\"action\",\"justification\"]}";

typedef enum step { STEP_SYNTHESIS, STEP_NEXT, STEP_SMS, STEP_DONE } step;

struct Ccai_jobs {
    Ccai_engine *e;
    Ccai_timer timer;
    Ccai_store_job *job; /* the job in progress */
    Ccai_store_call *call;
    json_t *messages; /* stored conversation */
    json_t *reminders;
    step step;
    int reprompts;
    json_t *convo; /* the LLM request being re-prompted */
    Ccai_llm_call *llm;
    char *synthesis; /* JSON text */
    char *next;
    char *sms;
    /* The outcome of a finished job that found the database locked: written
     * before another job is claimed, so that a job done (an SMS sent) is not
     * run again when its lease ends. unsaved_id 0: none. */
    int64_t unsaved_id;
    char *unsaved_error; /* NULL: done */
    int64_t unsaved_retry_at;
};

static CCAI_MUST_CHECK bool in_list(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; s && i < n; i++) {
        if (strcmp(s, list[i]) == 0)
            return true;
    }
    return false;
}

/* Validation of the model's JSON; NULL when valid, else the error. */
static const char *check_synthesis(const json_t *v)
{
    if (!json_is_object(v))
        return "the answer must be one JSON object";
    static const char *const keys[] = {"long", "short", "improvement_suggestions"};
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(keys); i++) {
        if (!json_is_string(json_object_get(v, keys[i])))
            return "long, short and improvement_suggestions must be strings";
    }
    if (!in_list(json_string_value(json_object_get(v, "satisfaction")), satisfactions,
                 CCAI_ARRAY_SIZE(satisfactions)))
        return "satisfaction must be one of terrible, low, partial, high, unknow";
    return NULL;
}

static const char *check_next(const json_t *v)
{
    if (!json_is_object(v))
        return "the answer must be one JSON object";
    if (!in_list(json_string_value(json_object_get(v, "action")), next_actions,
                 CCAI_ARRAY_SIZE(next_actions)))
        return "action must be one of case_closed, commercial_offer, customer_will_send_info, "
               "high_priority, propose_new_contract, requires_expertise";
    if (!json_is_string(json_object_get(v, "justification")))
        return "justification must be a string";
    return NULL;
}

/* Runner ------------------------------------------------------------------------ */

static void run_next(Ccai_jobs *j);

static void job_clear(Ccai_jobs *j)
{
    if (j->llm) {
        Ccai_llm_cancel(j->llm);
        j->llm = NULL;
    }
    Ccai_store_job_free(j->job);
    Ccai_store_call_free(j->call);
    json_decref(j->messages);
    json_decref(j->reminders);
    json_decref(j->convo);
    ccai_free(j->synthesis);
    ccai_free(j->next);
    ccai_free(j->sms);
    j->job = NULL;
    j->call = NULL;
    j->messages = j->reminders = j->convo = NULL;
    j->synthesis = j->next = j->sms = NULL;
}

void Ccai_jobs_kick(Ccai_engine *e)
{
    Ccai_jobs *j = e->jobs;
    if (!j || j->job)
        return; /* the running job schedules the next one when it ends */
    if (j->unsaved_id) {
        if (!Ccai_timer_active(&j->timer))
            Ccai_timer_start(e->ctx, &j->timer, JOB_STORE_RETRY_MS);
        return;
    }
    int64_t due = -1;
    if (Ccai_store_job_next_due_kinds(e->store, JOB_KINDS, &due) != CCAI_OK || due < 0) {
        Ccai_timer_stop(e->ctx, &j->timer);
        return;
    }
    int64_t now = Ccai_wall_ms();
    Ccai_timer_start(e->ctx, &j->timer, due > now ? (uint64_t)(due - now) : 0);
}

ccai_status Ccai_postcall_enqueue(Ccai_store *st, const char *call_id, const char *reason)
{
    json_t *p = json_pack("{s:s}", "reason", reason);
    char *payload = p ? Ccai_json_dump(p, JSON_COMPACT) : NULL;
    json_decref(p);
    ccai_status status =
        payload ? Ccai_store_job_enqueue(st, "postcall", call_id, payload, Ccai_wall_ms(), NULL)
                : CCAI_ERR_NOMEM;
    ccai_free(payload);
    return status;
}

/* Write the outcome of job id; CCAI_ERR_BUSY keeps it for later. */
/* Store a job's outcome; what cannot be stored is logged, and kept for a
 * later try when the database is locked (job_flush_outcome()): nothing is
 * left for the caller to do. */
static void job_store_outcome(Ccai_jobs *j, int64_t id, const char *error, int64_t retry_at)
{
    Ccai_engine *e = j->e;
    ccai_status st = error ? Ccai_store_job_fail(e->store, id, error, retry_at)
                           : Ccai_store_job_done(e->store, id);
    if (st == CCAI_ERR_BUSY && !j->unsaved_id) {
        char *copy = error ? Ccai_strdup(error) : NULL;
        if (!error || copy) {
            j->unsaved_id = id;
            j->unsaved_error = copy;
            j->unsaved_retry_at = retry_at;
            Ccai_log(&e->log, CCAI_LOG_WARN, "job %lld: %s; kept until it can be stored",
                     (long long)id, Ccai_store_errmsg(e->store));
            return;
        }
    }
    /* Not stored: the job stays claimed until its lease ends, then runs
     * again. */
    if (st != CCAI_OK)
        Ccai_log(&e->log, CCAI_LOG_ERROR, "job %lld: %s", (long long)id,
                 Ccai_store_errmsg(e->store));
}

/* The outcome kept by job_store_outcome(); false while it still cannot be
 * written. */
static CCAI_MUST_CHECK bool job_flush_outcome(Ccai_jobs *j)
{
    if (!j->unsaved_id)
        return true;
    Ccai_engine *e = j->e;
    ccai_status st = j->unsaved_error ? Ccai_store_job_fail(e->store, j->unsaved_id,
                                                            j->unsaved_error, j->unsaved_retry_at)
                                      : Ccai_store_job_done(e->store, j->unsaved_id);
    if (st == CCAI_ERR_BUSY)
        return false;
    if (st != CCAI_OK)
        Ccai_log(&e->log, CCAI_LOG_ERROR, "job %lld: %s", (long long)j->unsaved_id,
                 Ccai_store_errmsg(e->store));
    else
        Ccai_log(&e->log, CCAI_LOG_INFO, "job %lld: outcome stored", (long long)j->unsaved_id);
    ccai_free(j->unsaved_error);
    j->unsaved_error = NULL;
    j->unsaved_id = 0;
    return true;
}

/* retry: a failure may be tried again (up to JOB_ATTEMPTS, with backoff). */
static void job_end(Ccai_jobs *j, const char *error, bool retry)
{
    Ccai_engine *e = j->e;
    Ccai_store_job *job = j->job;
    if (!error) {
        job_store_outcome(j, job->id, NULL, 0);
        Ccai_log(&e->log, CCAI_LOG_INFO, "job %lld (%s): done", (long long)job->id, job->kind);
    } else {
        int64_t retry_at = 0;
        if (retry && job->attempts < JOB_ATTEMPTS)
            retry_at =
                Ccai_wall_ms() + (int64_t)(1000u << (job->attempts < 10 ? job->attempts : 10));
        job_store_outcome(j, job->id, error, retry_at);
        Ccai_log(&e->log, CCAI_LOG_WARN, "job %lld (%s): %s%s", (long long)job->id, job->kind,
                 error, retry_at ? ", will retry" : ", given up");
    }
    job_clear(j);
    Ccai_jobs_kick(e);
}

static void job_finish(Ccai_jobs *j, const char *error)
{
    job_end(j, error, true);
}

static void job_give_up(Ccai_jobs *j, const char *error)
{
    job_end(j, error, false);
}

/* The stored conversation as text for the prompts; NULL on NOMEM (a
 * conversation cut short would make a wrong report). */
static char *messages_text(const json_t *messages)
{
    Ccai_buf b = {0};
    size_t i;
    const json_t *m;
    bool ok = true;
    json_array_foreach(messages, i, m)
    {
        const char *content = json_string_value(json_object_get(m, "content"));
        if (!ok || !content || !*content)
            continue;
        ok = Ccai_buf_printf(&b, "%s (%s): %s\n", json_string_value(json_object_get(m, "persona")),
                             json_string_value(json_object_get(m, "action")), content);
    }
    char *text = ok ? Ccai_buf_steal(&b) : NULL;
    Ccai_buf_free(&b);
    return text;
}

static CCAI_MUST_CHECK bool caller_spoke(const json_t *messages)
{
    size_t i;
    const json_t *m;
    json_array_foreach(messages, i, m)
    {
        const char *p = json_string_value(json_object_get(m, "persona"));
        const char *a = json_string_value(json_object_get(m, "action"));
        if (p && a && strcmp(p, "human") == 0 &&
            (strcmp(a, "talk") == 0 || strcmp(a, "sms") == 0 || strcmp(a, "dtmf") == 0))
            return true;
    }
    return false;
}

static const char *initiate_field(const Ccai_jobs *j, const char *key, json_t **holder)
{
    Ccai_json_err e;
    ccai_status st;
    if (!*holder)
        *holder = Ccai_json_load(j->call->initiate_json, strlen(j->call->initiate_json), &e, &st);
    const char *v = json_string_value(json_object_get(*holder, key));
    return v ? v : "";
}

/* Deterministic report when no LLM can write one: the claim as sentences
 * in the call's language (engine/offline_report.c). false on NOMEM: a
 * report or an SMS cut short is no report. */
static CCAI_MUST_CHECK bool offline_report(Ccai_jobs *j)
{
    Ccai_json_err e;
    ccai_status st;
    json_t *claim = Ccai_json_load(j->call->claim_json, strlen(j->call->claim_json), &e, &st);
    json_t *init = NULL;
    size_t filled = json_object_size(claim);
    json_decref(claim);
    if (!j->e->offline_lex && Ccai_offline_lexicon_new(&j->e->offline_lex) != CCAI_OK)
        return false;
    /* A language the data files have not: its stored (or just made)
     * translation, else English, said in the log. */
    json_t *texts = NULL;
    if (Ccai_phrases_needs_translation(j->call->lang)) {
        texts = Ccai_engine_texts(j->e, "offline.", j->call->lang);
        if (!texts)
            Ccai_log(&j->e->log, CCAI_LOG_WARN,
                     "call %s: the report and the SMS written without an LLM are in English: no "
                     "translation into %s is stored yet",
                     j->call->id, j->call->lang);
    }
    Ccai_offline_report rep;
    st = Ccai_offline_report_make(j->e->offline_lex, texts, j->call->lang, j->call->claim_json,
                                  initiate_field(j, "bot_name", &init),
                                  initiate_field(j, "bot_company", &init), &rep);
    json_decref(init);
    if (st == CCAI_ERR_PARSE) /* a claim stored is an object: never, but no report lost */
        st = Ccai_offline_report_make(j->e->offline_lex, texts, j->call->lang, NULL, NULL, NULL,
                                      &rep);
    json_decref(texts);
    if (st != CCAI_OK)
        return false;
    json_t *syn = json_pack("{s:s, s:s, s:s, s:s}", "short", rep.short_text, "long", rep.long_text,
                            "satisfaction", "unknow", "improvement_suggestions",
                            "Written without a language model: review the conversation.");
    const char *action = filled ? "requires_expertise" : "customer_will_send_info";
    json_t *next = json_pack("{s:s, s:s}", "action", action, "justification",
                             filled ? "The claim was taken down by the automated dialogue; an "
                                      "expert must review it."
                                    : "The customer gave no claim details during the call.");
    /* In place of whatever the model wrote before it gave up. */
    ccai_free(j->synthesis);
    ccai_free(j->next);
    ccai_free(j->sms);
    j->synthesis = syn ? Ccai_json_dump(syn, JSON_COMPACT) : NULL;
    j->next = next ? Ccai_json_dump(next, JSON_COMPACT) : NULL;
    j->sms = rep.sms;
    rep.sms = NULL;
    Ccai_offline_report_clear(&rep);
    json_decref(syn);
    json_decref(next);
    return j->synthesis && j->next && j->sms;
}

static void save_and_send(Ccai_jobs *j);

static void on_json_done(ccai_status st, const Ccai_llm_result *res, const char *errmsg, void *ud);
static const Ccai_llm_callbacks json_callbacks = {NULL, NULL, on_json_done};

static CCAI_MUST_CHECK ccai_status ask(Ccai_jobs *j)
{
    Ccai_engine *e = j->e;
    const Ccai_llm_model *slow = Ccai_engine_model(e, "slow");
    const Ccai_llm_model *fast = Ccai_engine_model(e, "fast");
    Ccai_llm_opts o = {
        .messages = j->convo,
        .json_mode = j->step != STEP_SMS,
        /* Post-call work asks the slow (better) model first, as the reference. */
        .models = {slow ? slow : fast, slow ? fast : NULL},
    };
    return Ccai_llm_chat(j->e->ctx, &o, &json_callbacks, j, &j->llm);
}

static CCAI_MUST_CHECK ccai_status start_step(Ccai_jobs *j)
{
    Ccai_engine *e = j->e;
    json_decref(j->convo);
    j->convo = NULL;
    j->reprompts = 0;
    json_t *init = NULL;
    char *messages = messages_text(j->messages);
    char *reminders = Ccai_json_dump(j->reminders, JSON_COMPACT);
    const char *format = j->step == STEP_SYNTHESIS ? synthesis_format : next_format;
    Ccai_prompt_var vars[] = {
        {"task", initiate_field(j, "task", &init)},
        {"claim", j->call->claim_json},
        {"reminders", reminders},
        {"messages", messages},
        {"format", format},
        {"default_lang", j->call->lang ? j->call->lang : "English"},
        {"bot_name", initiate_field(j, "bot_name", &init)},
        {"bot_company", initiate_field(j, "bot_company", &init)},
    };
    Ccai_llm_prompt which = j->step == STEP_SYNTHESIS ? CCAI_PROMPT_SYNTHESIS_SYSTEM
                            : j->step == STEP_NEXT    ? CCAI_PROMPT_NEXT_SYSTEM
                                                      : CCAI_PROMPT_SMS_SUMMARY_SYSTEM;
    char *system = messages && reminders ? Ccai_prompts_render_llm(Ccai_engine_prompts(e), which,
                                                                   vars, CCAI_ARRAY_SIZE(vars))
                                         : NULL;
    ccai_free(messages);
    ccai_free(reminders);
    json_decref(init);
    if (!system)
        return CCAI_ERR_NOMEM;
    j->convo = json_pack(
        "[{s:s, s:s}, {s:s, s:s}]", "role", "system", "content", system, "role", "user", "content",
        j->step == STEP_SMS ? "Write the SMS now." : "Answer now with the JSON object.");
    ccai_free(system);
    if (!j->convo)
        return CCAI_ERR_NOMEM;
    return ask(j);
}

static void on_json_done(ccai_status st, const Ccai_llm_result *res, const char *errmsg, void *ud)
{
    Ccai_jobs *j = ud;
    j->llm = NULL;
    if (st != CCAI_OK) {
        Ccai_log(&j->e->log, CCAI_LOG_WARN, "job %lld: no LLM answered (%s): offline report",
                 (long long)j->job->id, errmsg ? errmsg : ccai_status_str(st));
        ccai_free(j->synthesis);
        ccai_free(j->next);
        j->synthesis = j->next = NULL;
        if (offline_report(j))
            save_and_send(j);
        else
            job_finish(j, "out of memory");
        return;
    }
    const char *text = res->text ? res->text : "";
    if (j->step == STEP_SMS) {
        j->sms = Ccai_strdup(text);
        save_and_send(j);
        return;
    }
    Ccai_json_err e;
    ccai_status pst;
    json_t *v = Ccai_json_load(text, strlen(text), &e, &pst);
    const char *why = v ? (j->step == STEP_SYNTHESIS ? check_synthesis(v) : check_next(v))
                        : "the answer is not valid JSON";
    if (!why) {
        char *out = Ccai_json_dump(v, JSON_COMPACT);
        json_decref(v);
        if (j->step == STEP_SYNTHESIS)
            j->synthesis = out;
        else
            j->next = out;
        j->step++;
        if (start_step(j) != CCAI_OK)
            job_finish(j, "out of memory");
        return;
    }
    json_decref(v);
    if (j->reprompts++ >= JSON_REPROMPTS) {
        /* The model does not manage: a report from the claim instead. */
        if (offline_report(j))
            save_and_send(j);
        else
            job_finish(j, "out of memory");
        return;
    }
    /* Re-ask, quoting the answer and what is wrong with it. */
    char *fix = Ccai_asprintf("A validation error occurred: %s. Answer again with one valid JSON "
                              "object and nothing else.",
                              why);
    json_t *a = json_pack("{s:s, s:s}", "role", "assistant", "content", text);
    json_t *u = fix ? json_pack("{s:s, s:s}", "role", "user", "content", fix) : NULL;
    ccai_free(fix);
    if (!a || !u || json_array_append_new(j->convo, a) || json_array_append_new(j->convo, u) ||
        ask(j) != CCAI_OK) {
        json_decref(a);
        json_decref(u);
        job_finish(j, "out of memory");
    }
}

/* Queue an SMS job (not yet run: the caller kicks the jobs once it is
 * committed). */
static CCAI_MUST_CHECK ccai_status sms_enqueue(Ccai_engine *e, const char *call_id, const char *to,
                                               const char *text, int64_t seq)
{
    json_t *p = json_pack("{s:s, s:s, s:s}", "to", to, "text", text, "status", "queued");
    /* The call's message it sends (send_sms), whose record shows its
     * delivery. */
    if (p && seq > 0 && json_object_set_new(p, "seq", json_integer(seq)) != 0) {
        json_decref(p);
        p = NULL;
    }
    char *payload = p ? Ccai_json_dump(p, JSON_COMPACT) : NULL;
    json_decref(p);
    ccai_status st =
        payload ? Ccai_store_job_enqueue(e->store, "sms", call_id, payload, Ccai_wall_ms(), NULL)
                : CCAI_ERR_NOMEM;
    ccai_free(payload);
    return st;
}

/* The report on the call and its SMS (to the caller, and to the
 * policyholder's number when it differs), in one commit: stored whole or
 * not at all, so that a retry of the job neither loses nor repeats an
 * SMS. */
static CCAI_MUST_CHECK ccai_status store_report(Ccai_jobs *j, Ccai_store_call *fresh)
{
    Ccai_engine *e = j->e;
    if ((j->synthesis && !Ccai_str_replace(&fresh->synthesis_json, j->synthesis)) ||
        (j->next && !Ccai_str_replace(&fresh->next_json, j->next)) ||
        (!strcmp(fresh->state, "ended") && !Ccai_str_replace(&fresh->state, "done")))
        return CCAI_ERR_NOMEM;
    const char *holder = NULL;
    json_t *claim = NULL;
    if (j->sms && *j->sms) {
        Ccai_json_err jerr;
        ccai_status pst;
        claim = Ccai_json_load(fresh->claim_json, strlen(fresh->claim_json), &jerr, &pst);
        if (!claim && pst == CCAI_ERR_NOMEM)
            return CCAI_ERR_NOMEM;
        holder = json_string_value(json_object_get(claim, "policyholder_phone"));
    }
    ccai_status st = Ccai_store_begin(e->store);
    if (st != CCAI_OK) {
        json_decref(claim);
        return st;
    }
    st = Ccai_store_call_update(e->store, fresh);
    if (st == CCAI_OK && j->sms && *j->sms)
        st = sms_enqueue(e, fresh->id, fresh->phone_number, j->sms, 0);
    if (st == CCAI_OK && holder && strcmp(holder, fresh->phone_number) != 0)
        st = sms_enqueue(e, fresh->id, holder, j->sms, 0);
    if (st == CCAI_OK)
        st = Ccai_store_commit(e->store);
    json_decref(claim);
    if (st != CCAI_OK) {
        char *why = Ccai_strdup(Ccai_store_errmsg(e->store));
        /* The first failure is the one told; one of the rollback too is
         * logged. */
        if (Ccai_store_rollback(e->store) != CCAI_OK)
            Ccai_log(&e->log, CCAI_LOG_ERROR, "job %lld: rollback: %s", (long long)j->job->id,
                     Ccai_store_errmsg(e->store));
        Ccai_log(&e->log, CCAI_LOG_WARN, "job %lld: cannot store the report: %s",
                 (long long)j->job->id, why ? why : ccai_status_str(st));
        ccai_free(why);
    }
    return st;
}

/* Store the report and its SMS, then run the SMS (persist, then act). */
static void save_and_send(Ccai_jobs *j)
{
    Ccai_engine *e = j->e;
    Ccai_store_call *fresh = NULL;
    ccai_status st = Ccai_store_call_get(e->store, j->call->id, &fresh);
    if (st == CCAI_OK)
        st = store_report(j, fresh);
    Ccai_store_call_free(fresh);
    if (st != CCAI_OK) {
        job_finish(j, st == CCAI_ERR_NOMEM ? "out of memory" : "cannot store the report");
        return;
    }
    job_finish(j, NULL); /* kicks the jobs: the SMS go */
}

ccai_status Ccai_sms_send(Ccai_engine *e, const char *call_id, const char *to, const char *text,
                          int64_t seq)
{
    ccai_status st = sms_enqueue(e, call_id, to, text, seq);
    if (st == CCAI_OK)
        Ccai_jobs_kick(e);
    return st;
}

static void run_postcall(Ccai_jobs *j)
{
    Ccai_engine *e = j->e;
    ccai_status st =
        Ccai_store_call_get(e->store, j->job->call_id ? j->job->call_id : "", &j->call);
    if (st == CCAI_OK)
        st = Ccai_store_messages_json(e->store, j->call->id, &j->messages);
    if (st == CCAI_OK)
        st = Ccai_store_reminders_json(e->store, j->call->id, &j->reminders);
    if (st == CCAI_ERR_NOT_FOUND) {
        job_finish(j, NULL); /* the call is gone: nothing to report on */
        return;
    }
    if (st != CCAI_OK) {
        job_finish(j, Ccai_store_errmsg(e->store));
        return;
    }
    if (!caller_spoke(j->messages)) {
        Ccai_log(&e->log, CCAI_LOG_INFO, "call %s: the caller never spoke: no report", j->call->id);
        job_finish(j, NULL);
        return;
    }
    if (!Ccai_engine_model(e, "fast") && !Ccai_engine_model(e, "slow")) {
        if (offline_report(j))
            save_and_send(j);
        else
            job_finish(j, "out of memory");
        return;
    }
    j->step = STEP_SYNTHESIS;
    if (start_step(j) != CCAI_OK)
        job_finish(j, "out of memory");
}

/* The provider took the message: its id and status "accepted" go into the
 * job (what its delivery reports are matched with, and the report shows);
 * not stored, the report says less (logged). */
static void sms_accepted(Ccai_jobs *j, const char *message_id)
{
    Ccai_engine *e = j->e;
    Ccai_json_err jerr;
    /* As stored now: with what the first attempt added, and a delivery
     * report that came first. */
    Ccai_store_job *now_job = NULL;
    ccai_status st = Ccai_store_job_get(e->store, j->job->id, &now_job);
    json_t *p = st == CCAI_OK && now_job->payload
                    ? Ccai_json_load(now_job->payload, strlen(now_job->payload), &jerr, &st)
                    : NULL;
    Ccai_store_job_free(now_job);
    char iso[32];
    Ccai_format_iso8601(Ccai_wall_ms(), iso, sizeof iso);
    const char *now = json_string_value(json_object_get(p, "status"));
    /* A delivery report may have come first. */
    bool keep = now && strcmp(now, "queued") != 0;
    char *text = NULL;
    if (json_is_object(p) &&
        (keep || json_object_set_new(p, "status", json_string("accepted")) == 0) &&
        json_object_set_new(p, "accepted_at", json_string(iso)) == 0 &&
        (!message_id || json_object_set_new(p, "message_id", json_string(message_id)) == 0))
        text = Ccai_json_dump(p, JSON_COMPACT);
    st = text ? Ccai_store_job_set_payload(e->store, j->job->id, text) : CCAI_ERR_NOMEM;
    if (st != CCAI_OK)
        Ccai_log(&e->log, CCAI_LOG_WARN, "job %lld: the SMS's id is not stored: %s",
                 (long long)j->job->id,
                 st == CCAI_ERR_NOMEM ? "out of memory" : Ccai_store_errmsg(e->store));
    ccai_free(text);
    json_decref(p);
}

/* The last try failed: the call's LLM learns it (when the call is live). */
static void sms_lost(Ccai_jobs *j, const char *errmsg)
{
    char *notice = Ccai_asprintf("The SMS to the customer could not be sent (%s): tell the "
                                 "customer they will not receive it.",
                                 errmsg ? errmsg : "refused");
    if (notice)
        Ccai_call_notice(j->e, j->job->call_id, notice);
    ccai_free(notice);
}

static void on_sms_sent(ccai_status st, const char *message_id, const char *errmsg, bool permanent,
                        void *ud)
{
    Ccai_jobs *j = ud;
    if (st == CCAI_OK)
        sms_accepted(j, message_id);
    else if (j->job->call_id && (permanent || j->job->attempts >= JOB_ATTEMPTS))
        sms_lost(j, errmsg);
    if (st != CCAI_OK && permanent)
        job_give_up(j, errmsg);
    else
        job_finish(j, st == CCAI_OK ? NULL : errmsg);
}

/* Through the SMS provider sms.mode names (sms/sms.h). What the provider
 * adds to the message before its first attempt is stored in the job first,
 * so every retry reuses it. */
static void run_sms(Ccai_jobs *j)
{
    Ccai_sms_provider *sms = j->e->sms;
    Ccai_json_err e;
    ccai_status st;
    json_t *p =
        j->job->payload ? Ccai_json_load(j->job->payload, strlen(j->job->payload), &e, &st) : NULL;
    if (!json_is_string(json_object_get(p, "to")) || !json_is_string(json_object_get(p, "text"))) {
        json_decref(p);
        job_finish(j, "malformed SMS job");
        return;
    }
    char *why = NULL;
    bool changed = false;
    st = CCAI_OK;
    /* Our reference of the message: its delivery reports carry it. */
    if (!json_is_string(json_object_get(p, "ref"))) {
        char ref[24];
        snprintf(ref, sizeof ref, "%lld", (long long)j->job->id);
        st = json_object_set_new(p, "ref", json_string(ref)) == 0 ? CCAI_OK : CCAI_ERR_NOMEM;
        changed = true;
    }
    if (st == CCAI_OK && sms->prepare) {
        bool prepared = false;
        st = sms->prepare(sms, p, &prepared, &why);
        changed = changed || prepared;
    }
    if (st == CCAI_OK && changed) {
        char *text = Ccai_json_dump(p, JSON_COMPACT);
        st = text ? Ccai_store_job_set_payload(j->e->store, j->job->id, text) : CCAI_ERR_NOMEM;
        if (st != CCAI_OK && st != CCAI_ERR_NOMEM)
            why = Ccai_strdup(Ccai_store_errmsg(j->e->store));
        ccai_free(text);
    }
    if (st == CCAI_OK)
        st = sms->send(sms, p, on_sms_sent, j, &why); /* the request is built before it returns */
    json_decref(p);
    if (st != CCAI_OK)
        job_finish(j, why ? why : ccai_status_str(st));
    ccai_free(why);
}

static void run_next(Ccai_jobs *j)
{
    Ccai_engine *e = j->e;
    if (j->job)
        return;
    if (!job_flush_outcome(j)) {
        Ccai_timer_start(e->ctx, &j->timer, JOB_STORE_RETRY_MS);
        return;
    }
    ccai_status st =
        Ccai_store_job_claim_kinds(e->store, JOB_KINDS, Ccai_wall_ms(), JOB_LEASE_MS, &j->job);
    if (st == CCAI_ERR_NOT_FOUND) {
        Ccai_jobs_kick(e);
        return;
    }
    if (st != CCAI_OK) {
        Ccai_log(&e->log, st == CCAI_ERR_BUSY ? CCAI_LOG_WARN : CCAI_LOG_ERROR, "jobs: %s",
                 Ccai_store_errmsg(e->store));
        Ccai_timer_start(e->ctx, &j->timer, JOB_STORE_RETRY_MS);
        return;
    }
    Ccai_log(&e->log, CCAI_LOG_INFO, "job %lld (%s): attempt %lld", (long long)j->job->id,
             j->job->kind, (long long)j->job->attempts);
    if (strcmp(j->job->kind, "postcall") == 0)
        run_postcall(j);
    else
        run_sms(j);
}

static void on_timer(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    run_next(ud);
}

/* A claim tried now (from the sweep), unless a job runs or one is due. */
void Ccai_jobs_poll(Ccai_engine *e)
{
    Ccai_jobs *j = e->jobs;
    if (j && !j->job && !Ccai_timer_active(&j->timer))
        run_next(j);
}

ccai_status Ccai_jobs_new(Ccai_engine *e)
{
    Ccai_jobs *j = Ccai_calloc(1, sizeof *j);
    if (!j)
        return CCAI_ERR_NOMEM;
    j->e = e;
    Ccai_timer_init(&j->timer, on_timer, j);
    e->jobs = j;
    Ccai_jobs_kick(e); /* jobs left by an earlier run */
    return CCAI_OK;
}

void Ccai_jobs_free(Ccai_engine *e)
{
    Ccai_jobs *j = e->jobs;
    if (!j)
        return;
    job_clear(j);
    if (j->unsaved_id)
        Ccai_log(&e->log, CCAI_LOG_ERROR,
                 "job %lld: its outcome was never stored (the database stayed locked); it "
                 "runs again after its lease",
                 (long long)j->unsaved_id);
    ccai_free(j->unsaved_error);
    Ccai_timer_stop(e->ctx, &j->timer);
    ccai_free(j);
    e->jobs = NULL;
}

/* Delivery reports ------------------------------------------------------------- */

/* How far a message got: a report never takes it back (they may arrive
 * out of order). */
static int status_rank(const char *s)
{
    static const char *const order[] = {"queued",    "accepted",    "sending", "sent",
                                        "delivered", "undelivered", "failed"};
    for (size_t i = 0; s && i < CCAI_ARRAY_SIZE(order); i++) {
        if (strcmp(s, order[i]) == 0)
            return (int)i;
    }
    return -1;
}

ccai_status Ccai_engine_sms_status(Ccai_engine *e, const char *ref, const char *message_id,
                                   const char *status, const char *detail)
{
    char *end = NULL;
    long long id = ref ? strtoll(ref, &end, 10) : 0;
    if (!ref || !*ref || *end || id <= 0 || !status || status_rank(status) < 3 ||
        (detail && strlen(detail) > 1000) || (message_id && strlen(message_id) > 200)) {
        Ccai_ctx_set_error(e->ctx, "sms status: a reference and one of sent, delivered, "
                                   "undelivered, failed are required");
        return CCAI_ERR_INVALID_ARG;
    }
    Ccai_store_job *job = NULL;
    ccai_status st = Ccai_store_job_get(e->store, id, &job);
    if (st == CCAI_OK && strcmp(job->kind, "sms") != 0)
        st = CCAI_ERR_NOT_FOUND;
    if (st != CCAI_OK) {
        Ccai_ctx_set_error(e->ctx, "sms status: %s",
                           st == CCAI_ERR_NOT_FOUND ? "no such message"
                                                    : Ccai_store_errmsg(e->store));
        Ccai_store_job_free(job);
        return st;
    }
    Ccai_json_err jerr;
    ccai_status pst;
    json_t *p =
        job->payload ? Ccai_json_load(job->payload, strlen(job->payload), &jerr, &pst) : NULL;
    const char *known = json_string_value(json_object_get(p, "message_id"));
    if (!json_is_object(p) || (known && message_id && strcmp(known, message_id) != 0)) {
        /* Not the message we sent under that reference. */
        Ccai_ctx_set_error(e->ctx, "sms status: no such message");
        json_decref(p);
        Ccai_store_job_free(job);
        return CCAI_ERR_NOT_FOUND;
    }
    char iso[32];
    Ccai_format_iso8601(Ccai_wall_ms(), iso, sizeof iso);
    json_t *history = json_object_get(p, "statuses");
    if (!json_is_array(history)) {
        history = json_array();
        if (!history || json_object_set_new(p, "statuses", history) != 0) {
            json_decref(p);
            Ccai_store_job_free(job);
            return CCAI_ERR_NOMEM;
        }
    }
    const char *was = json_string_value(json_object_get(p, "status"));
    bool forward = status_rank(status) >= status_rank(was);
    bool fail = strcmp(status, "undelivered") == 0 || strcmp(status, "failed") == 0;
    char *text = NULL;
    if (json_array_append_new(history, json_pack("{s:s, s:s, s:s?}", "status", status, "at", iso,
                                                 "detail", detail)) == 0 &&
        (!forward ||
         (json_object_set_new(p, "status", json_string(status)) == 0 &&
          json_object_set_new(p, "status_at", json_string(iso)) == 0 &&
          (!detail || json_object_set_new(p, "status_detail", json_string(detail)) == 0))) &&
        (known || !message_id ||
         json_object_set_new(p, "message_id", json_string(message_id)) == 0))
        text = Ccai_json_dump(p, JSON_COMPACT);
    st = text ? Ccai_store_job_set_payload(e->store, job->id, text) : CCAI_ERR_NOMEM;
    ccai_free(text);
    if (st != CCAI_OK && st != CCAI_ERR_NOMEM)
        Ccai_ctx_set_error(e->ctx, "sms status: %s", Ccai_store_errmsg(e->store));
    if (st == CCAI_OK) {
        char labels[48];
        snprintf(labels, sizeof labels, "status=\"%s\"", status);
        /* Best effort: a sample lost changes nothing of the report. */
        CCAI_DISCARD(Ccai_metrics_counter_add(e->metrics, "ccai_sms_delivery_total", labels, 1));
        Ccai_log(&e->log, fail ? CCAI_LOG_WARN : CCAI_LOG_INFO, "call %s: SMS %lld: %s%s%s",
                 job->call_id ? job->call_id : "?", (long long)job->id, status, detail ? ": " : "",
                 detail ? detail : "");
        if (fail && forward && job->call_id) {
            const char *body = json_string_value(json_object_get(p, "text"));
            char *notice = Ccai_asprintf("The SMS \"%.120s%s\" was not delivered to the customer "
                                         "(%s%s%s): tell them they will not receive it.",
                                         body ? body : "", body && strlen(body) > 120 ? "..." : "",
                                         status, detail ? ": " : "", detail ? detail : "");
            if (notice)
                Ccai_call_notice(e, job->call_id, notice);
            ccai_free(notice);
        }
    }
    json_decref(p);
    Ccai_store_job_free(job);
    return st;
}
