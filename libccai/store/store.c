/* The store interface: dispatch to the backend, and what every backend
 * shares (the row structs' life, opening by database.mode). */
#include "store/store.h"

#include "config/config.h"

#include <string.h>

ccai_status Ccai_store_open_config(const Ccai_store_env *env,
                                   const Ccai_store_backend *const *backends, size_t n_backends,
                                   Ccai_store **ret, char **ret_errmsg)
{
    if (!env || !env->cfg || !ret)
        return CCAI_ERR_INVALID_ARG;
    const char *mode = Ccai_config_str(env->cfg, "database.mode");
    if (!mode || !*mode)
        mode = "sqlite";
    for (size_t i = 0; i < n_backends; i++) {
        if (strcmp(backends[i]->name, mode) == 0)
            return backends[i]->open(env, ret, ret_errmsg);
    }
    if (ret_errmsg)
        *ret_errmsg = Ccai_asprintf("store: database.mode %s: no such backend in this build", mode);
    return CCAI_ERR_UNSUPPORTED;
}

void Ccai_store_close(Ccai_store *st)
{
    if (st)
        st->backend->close(st);
}

const char *Ccai_store_errmsg(const Ccai_store *st)
{
    return st ? st->backend->errmsg(st) : "";
}

int Ccai_store_schema_version(Ccai_store *st)
{
    return st ? st->backend->schema_version(st) : 0;
}

const char *Ccai_store_backend_name(const Ccai_store *st)
{
    return st->backend->name;
}

const char *Ccai_store_location(const Ccai_store *st)
{
    return st->backend->location(st);
}

ccai_status Ccai_store_describe(Ccai_store *st, json_t **ret)
{
    if (!st || !ret)
        return CCAI_ERR_INVALID_ARG;
    const char *where = st->backend->location(st);
    json_t *doc = json_pack("{s:s, s:s?, s:i}", "backend", st->backend->name, "location", where,
                            "schema_version", st->backend->schema_version(st));
    if (!doc)
        return CCAI_ERR_NOMEM;
    ccai_status status = st->backend->describe(st, doc);
    if (status != CCAI_OK) {
        json_decref(doc);
        return status;
    }
    *ret = doc;
    return CCAI_OK;
}

ccai_status Ccai_store_sync(Ccai_store *st, Ccai_store_done_fn done, void *ud)
{
    return Ccai_store_sync_call(st, NULL, done, ud);
}

ccai_status Ccai_store_sync_call(Ccai_store *st, const char *call_id, Ccai_store_done_fn done,
                                 void *ud)
{
    if (!st || !done)
        return CCAI_ERR_INVALID_ARG;
    return st->backend->sync(st, call_id, done, ud);
}

ccai_status Ccai_store_commit_now(Ccai_store *st)
{
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    return st->backend->commit_now ? st->backend->commit_now(st) : CCAI_OK;
}

void Ccai_store_forget_call(Ccai_store *st, const char *call_id)
{
    if (st && call_id && st->backend->forget_call)
        st->backend->forget_call(st, call_id);
}

bool Ccai_store_writes_durable(const Ccai_store *st)
{
    return st->backend->writes_durable;
}

const char *Ccai_store_failure(const Ccai_store *st)
{
    return st ? st->backend->failure(st) : NULL;
}

ccai_status Ccai_store_job_claim(Ccai_store *st, int64_t now, int64_t lease_ms,
                                 Ccai_store_job **ret)
{
    return Ccai_store_job_claim_kinds(st, NULL, now, lease_ms, ret);
}

ccai_status Ccai_store_job_next_due(Ccai_store *st, int64_t *ret_run_at)
{
    return Ccai_store_job_next_due_kinds(st, NULL, ret_run_at);
}

ccai_status Ccai_store_call_insert(Ccai_store *st, Ccai_store_call *c)
{
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    return st->backend->call_insert(st, c);
}

ccai_status Ccai_store_call_update(Ccai_store *st, Ccai_store_call *c)
{
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    return st->backend->call_update(st, c);
}

ccai_status Ccai_store_call_touch(Ccai_store *st, Ccai_store_call *c)
{
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    return st->backend->call_touch(st, c);
}

ccai_status Ccai_store_call_get(Ccai_store *st, const char *id, Ccai_store_call **ret)
{
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    return st->backend->call_get(st, id, ret);
}

ccai_status Ccai_store_call_find_latest(Ccai_store *st, const char *phone, int64_t since_ms,
                                        Ccai_store_call **ret)
{
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    return st->backend->call_find_latest(st, phone, since_ms, ret);
}

ccai_status Ccai_store_call_find_provider(Ccai_store *st, const char *channel,
                                          const char *provider_call_id, Ccai_store_call **ret)
{
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    return st->backend->call_find_provider(st, channel, provider_call_id, ret);
}

ccai_status Ccai_store_call_find_correlation(Ccai_store *st, const char *channel,
                                             const char *correlation_id, Ccai_store_call **ret)
{
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    return st->backend->call_find_correlation(st, channel, correlation_id, ret);
}

ccai_status Ccai_store_call_set_recording(Ccai_store *st, const char *id, const char *url,
                                          const char *recording_id, int64_t duration_ms)
{
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    return st->backend->call_set_recording(st, id, url, recording_id, duration_ms);
}

ccai_status Ccai_store_calls_stale(Ccai_store *st, int64_t before_ms, size_t limit,
                                   Ccai_store_call ***ret_calls, size_t *ret_n)
{
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    return st->backend->calls_stale(st, before_ms, limit, ret_calls, ret_n);
}

ccai_status Ccai_store_call_list(Ccai_store *st, const char *phone, size_t limit, size_t offset,
                                 Ccai_store_call ***ret_calls, size_t *ret_n, size_t *ret_total)
{
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    return st->backend->call_list(st, phone, limit, offset, ret_calls, ret_n, ret_total);
}

ccai_status Ccai_store_message_append(Ccai_store *st, const char *call_id,
                                      const Ccai_store_message *m, int64_t *ret_seq)
{
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    return st->backend->message_append(st, call_id, m, ret_seq);
}

ccai_status Ccai_store_messages_json(Ccai_store *st, const char *call_id, json_t **ret)
{
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    return st->backend->messages_json(st, call_id, ret);
}

ccai_status Ccai_store_messages_newest(Ccai_store *st, const char *call_id, int64_t limit,
                                       int64_t max_seq, Ccai_store_message_fn fn, void *ud)
{
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    return st->backend->messages_newest(st, call_id, limit, max_seq, fn, ud);
}

ccai_status Ccai_store_message_delete(Ccai_store *st, const char *call_id, int64_t seq)
{
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    return st->backend->message_delete(st, call_id, seq);
}

ccai_status Ccai_store_message_set_content(Ccai_store *st, const char *call_id, int64_t seq,
                                           const char *content)
{
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    return st->backend->message_set_content(st, call_id, seq, content);
}

ccai_status Ccai_store_reminder_upsert(Ccai_store *st, const char *call_id, const char *title,
                                       const char *description, int64_t due_at, const char *owner,
                                       bool *ret_created)
{
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    return st->backend->reminder_upsert(st, call_id, title, description, due_at, owner,
                                        ret_created);
}

ccai_status Ccai_store_phrases_get(Ccai_store *st, const char *lang, const char *source_hash,
                                   char **ret_json)
{
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    return st->backend->phrases_get(st, lang, source_hash, ret_json);
}

ccai_status Ccai_store_phrases_put(Ccai_store *st, const char *lang, const char *source_hash,
                                   const char *phrases_json, const char *model)
{
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    return st->backend->phrases_put(st, lang, source_hash, phrases_json, model);
}

ccai_status Ccai_store_lease_acquire(Ccai_store *st, const char *call_id, const char *owner,
                                     const char *url, int64_t now, int64_t ttl_ms,
                                     Ccai_store_lease *ret_holder)
{
    if (!st || !call_id || !owner || !*owner || ttl_ms <= 0)
        return CCAI_ERR_INVALID_ARG;
    return st->backend->lease_acquire(st, call_id, owner, url, now, ttl_ms, ret_holder);
}

ccai_status Ccai_store_lease_release(Ccai_store *st, const char *call_id, const char *owner)
{
    if (!st || !call_id || !owner)
        return CCAI_ERR_INVALID_ARG;
    return st->backend->lease_release(st, call_id, owner);
}

ccai_status Ccai_store_lease_get(Ccai_store *st, const char *call_id, Ccai_store_lease *ret)
{
    if (!st || !call_id || !ret)
        return CCAI_ERR_INVALID_ARG;
    return st->backend->lease_get(st, call_id, ret);
}

ccai_status Ccai_store_reminders_json(Ccai_store *st, const char *call_id, json_t **ret)
{
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    return st->backend->reminders_json(st, call_id, ret);
}

ccai_status Ccai_store_job_enqueue(Ccai_store *st, const char *kind, const char *call_id,
                                   const char *payload, int64_t run_at, int64_t *ret_id)
{
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    return st->backend->job_enqueue(st, kind, call_id, payload, run_at, ret_id);
}

ccai_status Ccai_store_job_claim_kinds(Ccai_store *st, const char *kinds, int64_t now,
                                       int64_t lease_ms, Ccai_store_job **ret)
{
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    return st->backend->job_claim_kinds(st, kinds, now, lease_ms, ret);
}

ccai_status Ccai_store_job_done(Ccai_store *st, int64_t id)
{
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    return st->backend->job_done(st, id);
}

ccai_status Ccai_store_job_set_payload(Ccai_store *st, int64_t id, const char *payload)
{
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    return st->backend->job_set_payload(st, id, payload);
}

ccai_status Ccai_store_job_fail(Ccai_store *st, int64_t id, const char *error, int64_t retry_at)
{
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    return st->backend->job_fail(st, id, error, retry_at);
}

ccai_status Ccai_store_job_next_due_kinds(Ccai_store *st, const char *kinds, int64_t *ret_run_at)
{
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    return st->backend->job_next_due_kinds(st, kinds, ret_run_at);
}

ccai_status Ccai_store_job_get(Ccai_store *st, int64_t id, Ccai_store_job **ret)
{
    if (!st || !ret)
        return CCAI_ERR_INVALID_ARG;
    return st->backend->job_get(st, id, ret);
}

ccai_status Ccai_store_jobs_of_call(Ccai_store *st, const char *call_id, const char *kinds,
                                    size_t limit, Ccai_store_job ***ret, size_t *ret_n)
{
    if (!st || !call_id || !ret || !ret_n)
        return CCAI_ERR_INVALID_ARG;
    return st->backend->jobs_of_call(st, call_id, kinds, limit, ret, ret_n);
}

void Ccai_store_job_list_free(Ccai_store_job **jobs, size_t n)
{
    for (size_t i = 0; jobs && i < n; i++)
        Ccai_store_job_free(jobs[i]);
    ccai_free(jobs);
}

ccai_status Ccai_store_check_write(Ccai_store *st)
{
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    return st->backend->check_write(st);
}

ccai_status Ccai_store_can_write(Ccai_store *st)
{
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    return st->backend->can_write(st);
}

ccai_status Ccai_store_begin(Ccai_store *st)
{
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    return st->backend->begin(st);
}

ccai_status Ccai_store_commit(Ccai_store *st)
{
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    return st->backend->commit(st);
}

ccai_status Ccai_store_rollback(Ccai_store *st)
{
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    return st->backend->rollback(st);
}

/* Rows --------------------------------------------------------------------- */

void Ccai_store_call_clear(Ccai_store_call *c)
{
    if (!c)
        return;
    ccai_free(c->phone_number);
    ccai_free(c->bot_phone_number);
    ccai_free(c->channel);
    ccai_free(c->provider_call_id);
    ccai_free(c->state);
    ccai_free(c->lang);
    ccai_free(c->initiate_json);
    ccai_free(c->claim_json);
    ccai_free(c->next_json);
    ccai_free(c->synthesis_json);
    ccai_free(c->recording_url);
    ccai_free(c->callback_secret);
    ccai_free(c->correlation_id);
    ccai_free(c->end_reason);
    ccai_free(c->recording_id);
    memset(c, 0, sizeof *c);
}

void Ccai_store_call_free(Ccai_store_call *c)
{
    Ccai_store_call_clear(c);
    ccai_free(c);
}

void Ccai_store_call_list_free(Ccai_store_call **calls, size_t n)
{
    if (!calls)
        return;
    for (size_t i = 0; i < n; i++)
        Ccai_store_call_free(calls[i]);
    ccai_free(calls);
}

void Ccai_store_job_free(Ccai_store_job *j)
{
    if (!j)
        return;
    ccai_free(j->kind);
    ccai_free(j->call_id);
    ccai_free(j->payload);
    ccai_free(j->last_error);
    ccai_free(j->state);
    ccai_free(j);
}
