/* Calls: the state machine and its persistence. Persist, then act: every
 * change is committed to the store before the host hears about it. */
#include "engine/engine.h"

#include "claim/claim.h"
#include "config/config.h"
#include "core/json.h"
#include "web/metrics.h"
#include "web/web.h"

#include <stdio.h>

#define CALLBACK_SECRET_LEN 32
#define LIST_LIMIT_MAX      1000
/* The bot's words kept while the database is locked: first retry, cap. */
#define UNSAVED_RETRY_MS     100
#define UNSAVED_RETRY_MAX_MS 2000

/* Keys a POST /call body (initiate_json) may carry. */
static const char *const initiate_keys[] = {
    "phone_number",       "bot_name", "bot_company", "task",
    "agent_phone_number", "lang",     "claim",       "prosody_rate",
};

static bool in_progress(ccai_call_state s)
{
    return s < CCAI_CALL_ENDED;
}

static ccai_call_state state_parse(const char *s)
{
    for (int i = CCAI_CALL_NEW; i <= CCAI_CALL_DONE; i++) {
        if (s && strcmp(s, ccai_call_state_str((ccai_call_state)i)) == 0)
            return (ccai_call_state)i;
    }
    return CCAI_CALL_ENDED;
}

/* Call documents ------------------------------------------------------------- */

static json_t *json_text_or_null(const char *text)
{
    if (!text)
        return json_null();
    Ccai_json_err err;
    ccai_status st;
    json_t *v = Ccai_json_load(text, strlen(text), &err, &st);
    /* The store only holds valid JSON; NULL here means out of memory. */
    return v ? v : (st == CCAI_ERR_NOMEM ? NULL : json_null());
}

static int set_new(json_t *obj, const char *key, json_t *v)
{
    if (!v)
        return -1;
    return json_object_set_new(obj, key, v);
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* The public call document (the reference's CallGetModel, plus ours). The
 * callback secret never leaves the store. */
static ccai_status call_doc(Ccai_store *st, const Ccai_store_call *row, json_t **ret)
{
    char created[40], updated[40];
    Ccai_format_iso8601(row->created_at, created, sizeof created);
    Ccai_format_iso8601(row->updated_at, updated, sizeof updated);
    ccai_call_state state = state_parse(row->state);

    json_t *messages = NULL, *reminders = NULL;
    ccai_status s = Ccai_store_messages_json(st, row->id, &messages);
    if (s == CCAI_OK)
        s = Ccai_store_reminders_json(st, row->id, &reminders);
    if (s != CCAI_OK) {
        json_decref(messages);
        return s;
    }
    json_t *doc = json_object();
    if (!doc) {
        json_decref(messages);
        json_decref(reminders);
        return CCAI_ERR_NOMEM;
    }
    /* set_new() consumes its value even when it fails: evaluate them all. */
    int bad = 0;
    bad |= set_new(doc, "call_id", json_string(row->id));
    bad |= set_new(doc, "created_at", json_string(created));
    bad |= set_new(doc, "updated_at", json_string(updated));
    bad |= set_new(doc, "in_progress", json_boolean(in_progress(state)));
    bad |= set_new(doc, "state", json_string(ccai_call_state_str(state)));
    bad |= set_new(doc, "direction",
                   json_string(row->direction == CCAI_OUTBOUND ? "outbound" : "inbound"));
    bad |= set_new(doc, "channel", str_or_null(row->channel));
    bad |= set_new(doc, "phone_number", str_or_null(row->phone_number));
    bad |= set_new(doc, "bot_phone_number", str_or_null(row->bot_phone_number));
    bad |= set_new(doc, "provider_call_id", str_or_null(row->provider_call_id));
    bad |= set_new(doc, "lang", str_or_null(row->lang));
    bad |= set_new(doc, "initiate", json_text_or_null(row->initiate_json));
    bad |= set_new(doc, "claim", json_text_or_null(row->claim_json));
    bad |= set_new(doc, "messages", messages);
    bad |= set_new(doc, "reminders", reminders);
    bad |= set_new(doc, "next", json_text_or_null(row->next_json));
    bad |= set_new(doc, "synthesis", json_text_or_null(row->synthesis_json));
    bad |= set_new(doc, "recording_url", str_or_null(row->recording_url));
    bad |= set_new(doc, "recording_id", str_or_null(row->recording_id));
    bad |= set_new(doc, "recording_duration_ms",
                   row->recording_duration_ms > 0 ? json_integer(row->recording_duration_ms)
                                                  : json_null());
    bad |= set_new(doc, "end_reason", str_or_null(row->end_reason));
    bad |= set_new(doc, "row_version", json_integer(row->row_version));
    /* A link that opens this call's report page without the API token. */
    char key[33];
    if (row->callback_secret && Ccai_web_report_key(row->callback_secret, key)) {
        char link[96];
        snprintf(link, sizeof link, "/report/%s?key=%s", row->id, key);
        bad |= set_new(doc, "report_path", json_string(link));
    }
    if (bad) {
        json_decref(doc);
        return CCAI_ERR_NOMEM;
    }
    *ret = doc;
    return CCAI_OK;
}

static ccai_status dump_doc(json_t *doc, char **ret_json)
{
    char *text = Ccai_json_dump(doc, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(doc);
    if (!text)
        return CCAI_ERR_NOMEM;
    *ret_json = text;
    return CCAI_OK;
}

/* Initiate ------------------------------------------------------------------- */

static bool known_initiate_key(const char *key)
{
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(initiate_keys); i++) {
        if (strcmp(key, initiate_keys[i]) == 0)
            return true;
    }
    return false;
}

/* conversation.initiate from the configuration, overlaid with the call's own
 * initiate_json; the phone number and the effective claim schema are set. */
static ccai_status build_initiate(ccai_ctx *ctx, const ccai_call_params *p, const char *phone,
                                  json_t **ret_initiate, ccai_claim_schema **ret_schema)
{
    ccai_status st = CCAI_ERR_NOMEM;
    ccai_claim_schema *schema = NULL;
    json_t *overlay = NULL;
    const json_t *conf = Ccai_config_json(ctx->cfg, "conversation.initiate");
    json_t *init = conf && json_is_object(conf) ? json_deep_copy(conf) : json_object();
    if (!init)
        return CCAI_ERR_NOMEM;

    if (p->initiate_json) {
        Ccai_json_err jerr;
        overlay = Ccai_json_load(p->initiate_json, strlen(p->initiate_json), &jerr, &st);
        if (!overlay && st == CCAI_ERR_NOMEM)
            goto out;
        if (!overlay || !json_is_object(overlay)) {
            st = CCAI_ERR_VALIDATION;
            if (overlay)
                Ccai_ctx_set_error(ctx, "initiate: expected a JSON object");
            else
                Ccai_ctx_set_error(ctx, "initiate: %s (line %u, column %u)", jerr.text, jerr.line,
                                   jerr.column);
            goto out;
        }
        const char *key;
        json_t *value;
        json_object_foreach(overlay, key, value)
        {
            if (!known_initiate_key(key)) {
                st = CCAI_ERR_VALIDATION;
                Ccai_ctx_set_error(ctx, "initiate: unknown field \"%s\"", key);
                goto out;
            }
            if (strcmp(key, "phone_number") == 0)
                continue;
            if (strcmp(key, "prosody_rate") == 0) {
                double r = json_number_value(value);
                if (!json_is_number(value) || r < 0.75 || r > 1.25) {
                    st = CCAI_ERR_VALIDATION;
                    Ccai_ctx_set_error(ctx, "initiate: prosody_rate must be a number "
                                            "between 0.75 and 1.25");
                    goto out;
                }
            } else if (strcmp(key, "claim") == 0 || strcmp(key, "lang") == 0) {
                if (!json_is_array(value) && !json_is_object(value)) {
                    st = CCAI_ERR_VALIDATION;
                    Ccai_ctx_set_error(ctx, "initiate: %s must be %s", key,
                                       strcmp(key, "claim") == 0 ? "a list" : "an object");
                    goto out;
                }
            } else if (!json_is_string(value)) {
                st = CCAI_ERR_VALIDATION;
                Ccai_ctx_set_error(ctx, "initiate: %s must be a string", key);
                goto out;
            }
            /* A partial lang object (only default_short_code) keeps the
             * configured languages. */
            json_t *have = json_object_get(init, key);
            if (strcmp(key, "lang") == 0 && json_is_object(value) && json_is_object(have)) {
                if (json_object_update(have, value) != 0)
                    goto out;
                continue;
            }
            if (json_object_set(init, key, value) != 0)
                goto out;
        }
    }

    /* The claim schema: the caller's object, else initiate.claim, else the
     * default insurance schema. */
    if (p->claim_schema) {
        schema = ccai_claim_schema_ref(p->claim_schema);
    } else {
        const json_t *claim = json_object_get(init, "claim");
        if (json_is_array(claim) && json_array_size(claim) > 0) {
            char *why = NULL;
            st = Ccai_claim_schema_from_jansson(claim, &schema, &why);
            if (st != CCAI_OK) {
                if (st != CCAI_ERR_NOMEM) {
                    st = CCAI_ERR_VALIDATION;
                    Ccai_ctx_set_error(ctx, "initiate: %s", why ? why : "invalid claim");
                }
                ccai_free(why);
                goto out;
            }
        } else {
            st = ccai_claim_schema_new_default(&schema);
            if (st != CCAI_OK)
                goto out;
        }
        ccai_claim_schema_ref(schema); /* freeze */
        ccai_claim_schema_unref(schema);
    }
    st = CCAI_ERR_NOMEM;
    json_t *fields = Ccai_claim_schema_to_jansson(schema);
    if (!fields || json_object_set_new(init, "claim", fields) != 0)
        goto out;
    if (json_object_set_new(init, "phone_number", json_string(phone)) != 0)
        goto out;
    *ret_initiate = init;
    *ret_schema = schema;
    init = NULL;
    schema = NULL;
    st = CCAI_OK;
out:
    json_decref(overlay);
    json_decref(init);
    ccai_claim_schema_unref(schema);
    return st;
}

/* The call's language: initiate.lang.default_short_code when it is one of
 * the available languages, else the first available one (as the reference). */
static const char *initial_lang(const json_t *initiate)
{
    const json_t *lang = json_object_get(initiate, "lang");
    const char *def = json_string_value(json_object_get(lang, "default_short_code"));
    const json_t *avail = json_object_get(lang, "availables");
    const char *first = NULL;
    size_t i;
    const json_t *l;
    json_array_foreach(avail, i, l)
    {
        const char *code = json_string_value(json_object_get(l, "short_code"));
        if (!code)
            continue;
        if (!first)
            first = code;
        if (def && strcmp(code, def) == 0)
            return code;
    }
    return first ? first : (def ? def : "en-US");
}

/* Life of a handle ------------------------------------------------------------ */

static void call_link(ccai_call *c)
{
    ccai_ctx *ctx = c->ctx;
    c->next = ctx->calls;
    if (ctx->calls)
        ctx->calls->prev = c;
    ctx->calls = c;
    ctx->n_calls++;
}

static void call_unlink(ccai_call *c)
{
    ccai_ctx *ctx = c->ctx;
    if (c->prev)
        c->prev->next = c->next;
    else if (ctx->calls == c)
        ctx->calls = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    ctx->n_calls--;
}

/* The bot's words not stored yet -------------------------------------------- */

/* Said while another process held the database locked (Ccai_call_add_message):
 * kept in order, stored as soon as it can write. */
typedef struct Ccai_unsaved {
    struct Ccai_unsaved *next;
    char *style, *content, *lang, *engine;
    int64_t created_at;
} Ccai_unsaved;

static void unsaved_free(Ccai_unsaved *u)
{
    ccai_free(u->style);
    ccai_free(u->content);
    ccai_free(u->lang);
    ccai_free(u->engine);
    ccai_free(u);
}

static ccai_status unsaved_push(ccai_call *c, const Ccai_store_message *m)
{
    Ccai_unsaved *u = Ccai_calloc(1, sizeof *u);
    if (!u)
        return CCAI_ERR_NOMEM;
    u->style = Ccai_strdup(m->style);
    u->content = Ccai_strdup(m->content);
    u->lang = m->lang ? Ccai_strdup(m->lang) : NULL;
    u->engine = m->engine ? Ccai_strdup(m->engine) : NULL;
    u->created_at = m->created_at;
    if (!u->style || !u->content || (m->lang && !u->lang) || (m->engine && !u->engine)) {
        unsaved_free(u);
        return CCAI_ERR_NOMEM;
    }
    *c->unsaved_tail = u;
    c->unsaved_tail = &u->next;
    return CCAI_OK;
}

/* Store what was kept, oldest first; stops at the first failure. */
static ccai_status unsaved_flush(ccai_call *c)
{
    size_t n = 0;
    while (c->unsaved) {
        Ccai_unsaved *u = c->unsaved;
        Ccai_store_message m = {
            .persona = "assistant",
            .action = "talk",
            .style = u->style,
            .content = u->content,
            .lang = u->lang,
            .engine = u->engine,
            .created_at = u->created_at,
        };
        ccai_status st = Ccai_store_message_append(c->ctx->store, c->row.id, &m, NULL);
        if (st == CCAI_ERR_BUSY || st == CCAI_ERR_STORE || st == CCAI_ERR_NOMEM)
            return st;     /* the database, not the message: try again later */
        if (st != CCAI_OK) /* this message can never be stored: not a reason to stop the call */
            Ccai_log(&c->ctx->log, CCAI_LOG_ERROR, "call %s: a kept sentence is dropped: %s",
                     c->row.id, Ccai_store_errmsg(c->ctx->store));
        c->unsaved = u->next;
        if (!c->unsaved)
            c->unsaved_tail = &c->unsaved;
        unsaved_free(u);
        n += st == CCAI_OK;
    }
    if (n)
        Ccai_log(&c->ctx->log, CCAI_LOG_INFO, "call %s: %zu kept sentence(s) of the bot stored",
                 c->row.id, n);
    c->unsaved_tries = 0;
    Ccai_timer_stop(c->ctx, &c->unsaved_timer);
    return CCAI_OK;
}

static void unsaved_retry_later(ccai_call *c)
{
    if (c->unsaved_tries < 16)
        c->unsaved_tries++;
    Ccai_timer_start(
        c->ctx, &c->unsaved_timer,
        Ccai_backoff_ms((int)c->unsaved_tries, UNSAVED_RETRY_MS, UNSAVED_RETRY_MAX_MS));
}

static void on_unsaved_timer(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    ccai_call *c = ud;
    if (unsaved_flush(c) != CCAI_OK)
        unsaved_retry_later(c);
}

static void unsaved_clear(ccai_call *c)
{
    size_t n = 0;
    Ccai_timer_stop(c->ctx, &c->unsaved_timer);
    while (c->unsaved) {
        Ccai_unsaved *u = c->unsaved;
        c->unsaved = u->next;
        unsaved_free(u);
        n++;
    }
    c->unsaved_tail = &c->unsaved;
    if (n)
        Ccai_log(&c->ctx->log, CCAI_LOG_ERROR,
                 "call %s: %zu sentence(s) of the bot were never stored: the database stayed "
                 "locked until the call was released",
                 c->row.id, n);
}

static void call_destroy(ccai_call *c)
{
    Ccai_conv_cleanup(c);
    unsaved_clear(c);
    json_decref(c->initiate);
    json_decref(c->claim);
    json_decref(c->tools_cache[0]);
    json_decref(c->tools_cache[1]);
    Ccai_store_call_clear(&c->row);
    ccai_claim_schema_unref(c->schema);
    Ccai_err_free(&c->err);
    ccai_free(c);
}

static ccai_status store_fail(ccai_call *c, ccai_status st)
{
    const char *why = Ccai_store_errmsg(c->ctx->store);
    Ccai_err_set(&c->err, "%s", why && *why ? why : ccai_status_str(st));
    Ccai_log(&c->ctx->log, CCAI_LOG_ERROR, "call %s: %s", c->row.id, Ccai_err_get(&c->err));
    return st;
}

ccai_status Ccai_call_add_message(ccai_call *c, const char *persona, const char *action,
                                  ccai_style style, const char *content, const char *lang,
                                  const char *tool_calls_json, const char *engine, int64_t *ret_seq)
{
    Ccai_store_message m = {
        .persona = persona,
        .action = action,
        .style = ccai_style_str(style),
        .content = content ? content : "",
        .lang = lang ? lang : c->row.lang,
        .tool_calls_json = tool_calls_json,
        .engine = engine,
        .created_at = Ccai_wall_ms(), /* when it was said, also when stored later */
    };
    /* What the bot said is already out: a lock held elsewhere must not lose
     * it. Everything else keeps "stored, then acted on". */
    bool keepable = strcmp(persona, "assistant") == 0 && strcmp(action, "talk") == 0 &&
                    !tool_calls_json && !ret_seq;
    ccai_status st;
    if (keepable && Ccai_timer_active(&c->unsaved_timer)) {
        st = CCAI_ERR_BUSY; /* locked a moment ago: queue it without waiting on the loop */
    } else {
        st = unsaved_flush(c); /* the kept words come first */
        if (st == CCAI_OK)
            st = Ccai_store_message_append(c->ctx->store, c->row.id, &m, ret_seq);
    }
    if (st == CCAI_ERR_BUSY && keepable) {
        bool first = !c->unsaved;
        st = unsaved_push(c, &m);
        if (st == CCAI_OK) {
            if (first)
                Ccai_log(&c->ctx->log, CCAI_LOG_WARN,
                         "call %s: the database is locked by another process: the bot's words "
                         "are kept and stored when it can write",
                         c->row.id);
            if (!Ccai_timer_active(&c->unsaved_timer))
                unsaved_retry_later(c);
            return CCAI_OK;
        }
    }
    return st == CCAI_OK ? st : store_fail(c, st);
}

static ccai_status add_message(ccai_call *c, const char *persona, const char *action,
                               const char *content, const char *lang)
{
    return Ccai_call_add_message(c, persona, action, CCAI_STYLE_NONE, content, lang, NULL, NULL,
                                 NULL);
}

/* Write the row; on a conflict the stored copy wins (re-read), and the
 * caller is told. */
ccai_status Ccai_call_save(ccai_call *c)
{
    ccai_status st = Ccai_store_call_update(c->ctx->store, &c->row);
    if (st == CCAI_OK)
        return st;
    return store_fail(c, st);
}

static void notify_state(ccai_call *c, ccai_call_state old_state)
{
    if (old_state != c->state && c->ops.state_changed)
        c->ops.state_changed(c, old_state, c->state, c->ud);
}

/* Persist the new state, then tell the host. */
ccai_status Ccai_call_set_state(ccai_call *c, ccai_call_state s)
{
    if (s == c->state)
        return CCAI_OK;
    ccai_call_state old = c->state;
    /* "turn" is the conversation thinking: an in-memory sub-state. Storing
     * it would cost two commits per turn and tell a reader nothing the
     * stored conversation does not. */
    if ((old == CCAI_CALL_CONVERSATION && s == CCAI_CALL_TURN) ||
        (old == CCAI_CALL_TURN && s == CCAI_CALL_CONVERSATION)) {
        c->state = s;
        notify_state(c, old);
        return CCAI_OK;
    }
    char *prev = c->row.state;
    c->row.state = Ccai_strdup(ccai_call_state_str(s));
    if (!c->row.state) {
        c->row.state = prev;
        return CCAI_ERR_NOMEM;
    }
    ccai_status st = Ccai_call_save(c);
    if (st != CCAI_OK) {
        ccai_free(c->row.state);
        c->row.state = prev;
        return st;
    }
    ccai_free(prev);
    c->state = s;
    Ccai_log(&c->ctx->log, CCAI_LOG_DEBUG, "call %s: %s -> %s", c->row.id, ccai_call_state_str(old),
             ccai_call_state_str(s));
    notify_state(c, old);
    return CCAI_OK;
}

static ccai_status found_initiate(ccai_call *c);

/* resume_id: the stored call to go on with (a channel taking a call back),
 * NULL for the usual lookup. */
static ccai_status call_start(ccai_ctx *ctx, const ccai_call_params *p, const ccai_call_ops *ops,
                              void *userdata, const char *resume_id, ccai_call **ret)
{
    if (!ctx || !p || !ops || !ret || p->version != CCAI_CALL_PARAMS_VERSION ||
        ops->version != CCAI_CALL_OPS_VERSION || !p->phone_number ||
        (p->direction != CCAI_INBOUND && p->direction != CCAI_OUTBOUND))
        return CCAI_ERR_INVALID_ARG;
    if (ctx->free_pending)
        return CCAI_ERR_STATE;

    char *phone = NULL, *why = NULL;
    ccai_status st = ccai_field_validate(CCAI_FIELD_PHONE_NUMBER, p->phone_number, &phone, &why);
    if (st != CCAI_OK) {
        if (st == CCAI_ERR_VALIDATION)
            Ccai_ctx_set_error(ctx, "phone_number: %s", why ? why : "invalid");
        ccai_free(why);
        return st;
    }

    json_t *initiate = NULL;
    ccai_call *c = Ccai_calloc(1, sizeof *c);
    st = CCAI_ERR_NOMEM;
    if (!c)
        goto fail;
    c->ctx = ctx;
    c->unsaved_tail = &c->unsaved;
    Ccai_timer_init(&c->unsaved_timer, on_unsaved_timer, c);
    c->ops = *ops;
    c->ud = userdata;
    st = build_initiate(ctx, p, phone, &initiate, &c->schema);
    if (st != CCAI_OK)
        goto fail;

    Ccai_store_call *found = NULL;
    int64_t hours = Ccai_config_int(ctx->cfg, "conversation.callback_timeout_hour", 3);
    if (resume_id) {
        st = Ccai_store_call_get(ctx->store, resume_id, &found);
        if (st != CCAI_OK) {
            Ccai_ctx_set_error(ctx, "%s", Ccai_store_errmsg(ctx->store));
            goto fail;
        }
        /* Read now, not when the channel looked: ended since (another
         * process's sweep, the provider's end), or held here, it is not
         * taken back; the save below is conditional on this read. */
        if (!in_progress(state_parse(found->state)) || Ccai_call_live(ctx, resume_id)) {
            Ccai_ctx_set_error(ctx, "call %s: %s, not taken back", resume_id,
                               in_progress(state_parse(found->state)) ? "live here" : found->state);
            Ccai_store_call_free(found);
            st = CCAI_ERR_STATE;
            goto fail;
        }
    } else if (p->resume && hours > 0) {
        int64_t since = Ccai_wall_ms() - hours * 3600 * 1000;
        st = Ccai_store_call_find_latest(ctx->store, phone, since, &found);
        if (st != CCAI_OK && st != CCAI_ERR_NOT_FOUND) {
            Ccai_ctx_set_error(ctx, "%s", Ccai_store_errmsg(ctx->store));
            goto fail;
        }
    }

    const char *channel = p->channel ? p->channel : "local";
    const char *bot_phone = p->bot_phone_number
                                ? p->bot_phone_number
                                : Ccai_config_str(ctx->cfg, "communication_services.phone_number");
    if (bot_phone && !*bot_phone)
        bot_phone = NULL;
    st = CCAI_ERR_NOMEM;
    if (found) {
        /* A caller ringing back: the earlier call goes on, on this new leg
         * (whose provider ids replace the earlier leg's); a call taken back
         * after a restart is the same leg. */
        c->row = *found;
        ccai_free(found);
        c->resumed = true;
        c->state = state_parse(c->row.state);
        if (!Ccai_str_replace(&c->row.channel, channel) ||
            !Ccai_str_replace(&c->row.provider_call_id, p->provider_call_id) ||
            (!resume_id && !Ccai_str_replace(&c->row.correlation_id, NULL)) ||
            !Ccai_str_replace(&c->row.state, ccai_call_state_str(CCAI_CALL_NEW)) ||
            !Ccai_str_replace(&c->row.end_reason, NULL))
            goto fail;
        st = Ccai_call_save(c);
        if (st != CCAI_OK) {
            Ccai_ctx_set_error(ctx, "%s", Ccai_err_get(&c->err));
            goto fail;
        }
        c->state = CCAI_CALL_NEW;
    } else {
        char secret[CALLBACK_SECRET_LEN + 1];
        if (!Ccai_uuid4(c->row.id) || !Ccai_random_token(secret, CALLBACK_SECRET_LEN)) {
            st = CCAI_ERR_INTERNAL;
            Ccai_ctx_set_error(ctx, "no system randomness for the call id");
            goto fail;
        }
        char *init_text = Ccai_json_dump(initiate, JSON_COMPACT | JSON_ENSURE_ASCII);
        c->row.direction = p->direction;
        c->row.phone_number = phone;
        phone = NULL;
        c->row.initiate_json = init_text;
        if (!c->row.initiate_json || !Ccai_str_replace(&c->row.bot_phone_number, bot_phone) ||
            !Ccai_str_replace(&c->row.channel, channel) ||
            !Ccai_str_replace(&c->row.provider_call_id, p->provider_call_id) ||
            !Ccai_str_replace(&c->row.state, ccai_call_state_str(CCAI_CALL_NEW)) ||
            !Ccai_str_replace(&c->row.lang, initial_lang(initiate)) ||
            !Ccai_str_replace(&c->row.claim_json, "{}") ||
            !Ccai_str_replace(&c->row.callback_secret, secret))
            goto fail;
        st = Ccai_store_call_insert(ctx->store, &c->row);
        if (st != CCAI_OK) {
            Ccai_ctx_set_error(ctx, "%s", Ccai_store_errmsg(ctx->store));
            goto fail;
        }
        c->state = CCAI_CALL_NEW;
    }
    st = CCAI_ERR_NOMEM;
    {
        Ccai_json_err jerr;
        ccai_status pst;
        c->claim = Ccai_json_load(c->row.claim_json, strlen(c->row.claim_json), &jerr, &pst);
        if (!c->claim || !json_is_object(c->claim)) {
            json_decref(c->claim);
            c->claim = json_object();
        }
        if (!c->claim)
            goto fail;
        c->initiate = json_incref(initiate);
        if (found_initiate(c) != CCAI_OK)
            goto fail;
    }
    c->rate = json_number_value(json_object_get(c->initiate, "prosody_rate"));
    if (c->rate < 0.75 || c->rate > 1.25)
        c->rate = 1.0;
    Ccai_conv_init(c);
    Ccai_metrics_counter_add(ctx->metrics, "ccai_calls_total",
                             c->resumed ? "kind=\"resumed\"" : "kind=\"new\"", 1);
    Ccai_log(&ctx->log, CCAI_LOG_INFO, "call %s: %s %s on %s%s", c->row.id,
             p->direction == CCAI_OUTBOUND ? "outbound" : "inbound",
             c->resumed ? "resumed" : "started", channel, "");
    json_decref(initiate);
    ccai_free(phone);
    call_link(c);
    *ret = c;
    return CCAI_OK;

fail:
    json_decref(initiate);
    ccai_free(phone);
    if (c)
        call_destroy(c);
    return st;
}

CCAI_EXPORT ccai_status ccai_call_start(ccai_ctx *ctx, const ccai_call_params *p,
                                        const ccai_call_ops *ops, void *userdata, ccai_call **ret)
{
    return call_start(ctx, p, ops, userdata, NULL, ret);
}

ccai_status Ccai_call_take_back(ccai_ctx *ctx, const char *call_id, const ccai_call_params *p,
                                const ccai_call_ops *ops, void *userdata, ccai_call **ret)
{
    if (!call_id)
        return CCAI_ERR_INVALID_ARG;
    return call_start(ctx, p, ops, userdata, call_id, ret);
}

/* A resumed call keeps the initiate it was stored with. */
static ccai_status found_initiate(ccai_call *c)
{
    if (!c->resumed)
        return CCAI_OK;
    Ccai_json_err jerr;
    ccai_status st;
    json_t *stored = Ccai_json_load(c->row.initiate_json, strlen(c->row.initiate_json), &jerr, &st);
    if (!stored)
        return st == CCAI_ERR_NOMEM ? st : CCAI_OK;
    json_decref(c->initiate);
    c->initiate = stored;
    return CCAI_OK;
}

ccai_status Ccai_call_save_claim(ccai_call *c)
{
    char *text = Ccai_json_dump(c->claim, JSON_COMPACT | JSON_ENSURE_ASCII);
    if (!text)
        return CCAI_ERR_NOMEM;
    char *prev = c->row.claim_json;
    c->row.claim_json = text;
    ccai_status st = Ccai_call_save(c);
    if (st != CCAI_OK) {
        c->row.claim_json = prev;
        ccai_free(text);
        return st;
    }
    ccai_free(prev);
    return CCAI_OK;
}

void Ccai_call_hangup(ccai_call *c)
{
    if (!in_progress(c->state) || c->state == CCAI_CALL_ENDING)
        return;
    Ccai_call_set_state(c, CCAI_CALL_ENDING);
    if (c->ops.hangup)
        c->ops.hangup(c, c->ud);
}

/* End a call that is going away without a hangup event. */
static void end_quietly(ccai_call *c, const char *reason)
{
    Ccai_conv_cleanup(c);
    if (!in_progress(c->state))
        return;
    if (add_message(c, "assistant", "hangup", reason, NULL) != CCAI_OK ||
        !Ccai_str_replace(&c->row.end_reason, reason))
        return;
    ccai_call_ops none = c->ops;
    c->ops.state_changed = NULL; /* freeing fires no callbacks */
    Ccai_call_set_state(c, CCAI_CALL_ENDED);
    c->ops = none;
}

CCAI_EXPORT void ccai_call_free(ccai_call *c)
{
    if (!c)
        return;
    if (c->depth > 0) {
        c->free_pending = true;
        return;
    }
    end_quietly(c, "handle released");
    call_unlink(c);
    call_destroy(c);
}

size_t Ccai_calls_in_progress(const ccai_ctx *ctx)
{
    size_t n = 0;
    for (const ccai_call *c = ctx->calls; c; c = c->next)
        n += in_progress(c->state);
    return n;
}

void Ccai_calls_ctx_cleanup(ccai_ctx *ctx)
{
    while (ctx->calls) {
        ccai_call *c = ctx->calls;
        end_quietly(c, "context freed");
        call_unlink(c);
        call_destroy(c);
    }
}

CCAI_EXPORT const char *ccai_call_id(const ccai_call *c)
{
    return c ? c->row.id : NULL;
}

CCAI_EXPORT ccai_call_state ccai_call_get_state(const ccai_call *c)
{
    return c ? c->state : CCAI_CALL_ENDED;
}

CCAI_EXPORT const char *ccai_call_lang(const ccai_call *c)
{
    return c ? c->row.lang : NULL;
}

CCAI_EXPORT int ccai_call_resumed(const ccai_call *c)
{
    return c && c->resumed;
}

CCAI_EXPORT void *ccai_call_userdata(const ccai_call *c)
{
    return c ? c->ud : NULL;
}

CCAI_EXPORT const char *ccai_call_errmsg(const ccai_call *c)
{
    return c ? Ccai_err_get(&c->err) : "";
}

CCAI_EXPORT ccai_status ccai_call_to_json(const ccai_call *c, char **ret_json)
{
    if (!c || !ret_json)
        return CCAI_ERR_INVALID_ARG;
    json_t *doc = NULL;
    ccai_status st = call_doc(c->ctx->store, &c->row, &doc);
    return st == CCAI_OK ? dump_doc(doc, ret_json) : st;
}

/* Events ----------------------------------------------------------------------- */

/* Store a message, the call's new state (and its end reason when
 * end_reason is not NULL) and, with postcall_reason, its post-call job in one
 * commit, then tell the host. One commit: the event is stored whole or not
 * at all, so an event refused with CCAI_ERR_BUSY (the database locked by
 * another process) can simply come again. */
static ccai_status commit_message_and_state(ccai_call *c, const char *persona, const char *action,
                                            const char *text, ccai_call_state s,
                                            const char *end_reason, const char *postcall_reason)
{
    ccai_ctx *ctx = c->ctx;
    /* The bot's kept words come before this message; stored on their own,
     * they stay stored whatever happens next. */
    ccai_status st = unsaved_flush(c);
    if (st == CCAI_OK)
        st = Ccai_store_begin(ctx->store);
    if (st != CCAI_OK)
        return store_fail(c, st);
    int64_t version = c->row.row_version;
    char *prev = c->row.state, *prev_reason = c->row.end_reason;
    c->row.state = Ccai_strdup(ccai_call_state_str(s));
    c->row.end_reason = end_reason ? Ccai_strdup(end_reason) : prev_reason;
    if (!c->row.state || (end_reason && !c->row.end_reason)) {
        ccai_free(c->row.state);
        if (c->row.end_reason != prev_reason)
            ccai_free(c->row.end_reason);
        c->row.state = prev;
        c->row.end_reason = prev_reason;
        Ccai_store_rollback(ctx->store);
        return CCAI_ERR_NOMEM;
    }
    st = add_message(c, persona, action, text, NULL);
    if (st == CCAI_OK)
        st = Ccai_call_save(c);
    if (st == CCAI_OK && postcall_reason) {
        st = Ccai_postcall_enqueue(ctx->store, c->row.id, postcall_reason);
        if (st != CCAI_OK)
            store_fail(c, st);
    }
    if (st == CCAI_OK) {
        st = Ccai_store_commit(ctx->store);
        if (st != CCAI_OK)
            store_fail(c, st);
    }
    if (st != CCAI_OK) {
        Ccai_store_rollback(ctx->store);
        c->row.row_version = version;
        ccai_free(c->row.state);
        if (c->row.end_reason != prev_reason)
            ccai_free(c->row.end_reason);
        c->row.state = prev;
        c->row.end_reason = prev_reason;
        return st;
    }
    ccai_free(prev);
    if (c->row.end_reason != prev_reason)
        ccai_free(prev_reason);
    ccai_call_state old = c->state;
    c->state = s;
    Ccai_log(&ctx->log, CCAI_LOG_DEBUG, "call %s: %s -> %s", c->row.id, ccai_call_state_str(old),
             ccai_call_state_str(s));
    notify_state(c, old);
    return CCAI_OK;
}

/* The caller is on the line: store the "call" message, then converse. */
static ccai_status on_connected(ccai_call *c)
{
    if (c->state == CCAI_CALL_NEW || c->state == CCAI_CALL_RINGING ||
        c->state == CCAI_CALL_LANGUAGE_MENU) {
        ccai_status st =
            commit_message_and_state(c, "human", "call", "", CCAI_CALL_CONNECTED, NULL, NULL);
        if (st != CCAI_OK)
            return st;
    } else if (c->state != CCAI_CALL_CONNECTED) {
        return CCAI_OK; /* a repeated connected event changes nothing */
    }
    /* Connected (also left there by an earlier try that met a locked
     * database): the conversation starts. */
    ccai_status st = Ccai_call_set_state(c, CCAI_CALL_CONVERSATION);
    if (st == CCAI_OK)
        Ccai_conv_connected(c);
    return st;
}

static ccai_status on_caller_text(ccai_call *c, const ccai_event *ev, const char *action)
{
    if (c->state == CCAI_CALL_NEW || c->state == CCAI_CALL_RINGING ||
        c->state == CCAI_CALL_LANGUAGE_MENU) {
        /* Speech before "connected": the channel skipped it; we did not. */
        ccai_status st = on_connected(c);
        if (st != CCAI_OK)
            return st;
    }
    if (!ev->text || !*ev->text)
        return CCAI_OK;
    int64_t seq = 0;
    ccai_status st = Ccai_call_add_message(c, "human", action, CCAI_STYLE_NONE, ev->text, ev->lang,
                                           NULL, NULL, &seq);
    if (st != CCAI_OK)
        return st;
    c->caller_spoke = true;
    /* An SMS is read by the next turn; words and keys get an answer now. */
    if (strcmp(action, "sms") != 0 &&
        (c->state == CCAI_CALL_CONVERSATION || c->state == CCAI_CALL_TURN))
        Ccai_conv_caller_said(c, ev->text, seq);
    return CCAI_OK;
}

static ccai_status on_hangup(ccai_call *c, const ccai_event *ev)
{
    ccai_ctx *ctx = c->ctx;
    ccai_status st = commit_message_and_state(c, "human", "hangup", ev->text, CCAI_CALL_ENDED,
                                              ev->text && *ev->text ? ev->text : "hangup",
                                              c->caller_spoke ? "hangup" : NULL);
    /* Refused for a lock held elsewhere, the event comes again: the
     * conversation goes on meanwhile. */
    if (st != CCAI_ERR_BUSY)
        Ccai_conv_cleanup(c);
    if (st != CCAI_OK)
        return st;
    Ccai_jobs_kick(ctx);
    Ccai_log(&ctx->log, CCAI_LOG_INFO, "call %s: ended (%s)", c->row.id,
             ev->text ? ev->text : "hangup");
    return CCAI_OK;
}

static ccai_status dispatch(ccai_call *c, const ccai_event *ev)
{
    switch (ev->type) {
    case CCAI_EVENT_RINGING:
        if (c->state == CCAI_CALL_NEW)
            return Ccai_call_set_state(c, CCAI_CALL_RINGING);
        return CCAI_OK;
    case CCAI_EVENT_CONNECTED: return on_connected(c);
    case CCAI_EVENT_SPEECH:
        if (!ev->final) {
            Ccai_conv_partial(c); /* barge-in */
            return CCAI_OK;
        }
        return on_caller_text(c, ev, "talk");
    case CCAI_EVENT_DTMF: return on_caller_text(c, ev, "dtmf");
    case CCAI_EVENT_SMS: return on_caller_text(c, ev, "sms");
    case CCAI_EVENT_SILENCE_TIMEOUT:
        if (c->state == CCAI_CALL_CONVERSATION)
            Ccai_conv_silence(c);
        return CCAI_OK;
    case CCAI_EVENT_SAY_DONE: Ccai_conv_say_done(c); return CCAI_OK;
    case CCAI_EVENT_SAY_FAILED:
        Ccai_log(&c->ctx->log, CCAI_LOG_WARN, "call %s: the channel could not speak: %s", c->row.id,
                 ev->text ? ev->text : "no reason given");
        return CCAI_OK;
    case CCAI_EVENT_TRANSFER_OK: {
        ccai_status st =
            commit_message_and_state(c, "assistant", "transfer", ev->text, CCAI_CALL_ENDED,
                                     "transfer", c->caller_spoke ? "transfer" : NULL);
        if (st == CCAI_OK && c->caller_spoke)
            Ccai_jobs_kick(c->ctx);
        return st;
    }
    case CCAI_EVENT_TRANSFER_FAILED: {
        if (c->state != CCAI_CALL_TRANSFERRING)
            return CCAI_OK;
        ccai_status st = Ccai_call_set_state(c, CCAI_CALL_CONVERSATION);
        if (st == CCAI_OK)
            Ccai_conv_transfer_failed(c, ev->text);
        return st;
    }
    case CCAI_EVENT_HANGUP: return on_hangup(c, ev);
    case CCAI_EVENT_RECORDING:
        if (!ev->text || !*ev->text)
            return CCAI_ERR_INVALID_ARG;
        return Ccai_call_recording(c->ctx, c->row.id, ev->text, NULL, 0);
    }
    return CCAI_ERR_INVALID_ARG;
}

CCAI_EXPORT ccai_status ccai_on_event(ccai_call *c, const ccai_event *ev)
{
    if (!c || !ev)
        return CCAI_ERR_INVALID_ARG;
    if (c->free_pending || !in_progress(c->state)) {
        Ccai_err_set(&c->err, "call %s has ended: %s event ignored", c->row.id,
                     ccai_event_type_str(ev->type));
        return CCAI_ERR_STATE;
    }
    ccai_ctx *ctx = c->ctx;
    Ccai_ctx_enter(ctx);
    Ccai_call_enter(c);
    ccai_status st = dispatch(c, ev);
    Ccai_call_leave(c);
    Ccai_ctx_leave(ctx);
    return st;
}

void Ccai_call_enter(ccai_call *c)
{
    c->depth++;
}

bool Ccai_call_leave(ccai_call *c)
{
    if (--c->depth > 0 || !c->free_pending)
        return true;
    c->free_pending = false;
    ccai_call_free(c);
    return false;
}

/* Calls no handle holds ----------------------------------------------------- */

ccai_call *Ccai_call_live(const ccai_ctx *ctx, const char *id)
{
    for (ccai_call *c = ctx->calls; c; c = c->next) {
        if (!c->free_pending && in_progress(c->state) && strcmp(c->row.id, id) == 0)
            return c;
    }
    return NULL;
}

/* The caller said or sent something since the call last (re)started: the
 * human "call" message opens each leg. */
static bool spoke_on_last_leg(const json_t *messages)
{
    for (size_t i = json_array_size(messages); i-- > 0;) {
        const json_t *m = json_array_get(messages, i);
        const char *p = json_string_value(json_object_get(m, "persona"));
        const char *a = json_string_value(json_object_get(m, "action"));
        const char *text = json_string_value(json_object_get(m, "content"));
        if (!p || !a || strcmp(p, "human") != 0)
            continue;
        if (strcmp(a, "call") == 0)
            return false;
        if ((!strcmp(a, "talk") || !strcmp(a, "dtmf") || !strcmp(a, "sms")) && text && *text)
            return true;
    }
    return false;
}

ccai_status Ccai_call_end_stored(ccai_ctx *ctx, Ccai_store_call *row, const char *reason,
                                 bool by_caller)
{
    if (!in_progress(state_parse(row->state)))
        return CCAI_OK;
    if (Ccai_call_live(ctx, row->id))
        return CCAI_ERR_STATE;
    json_t *messages = NULL;
    ccai_status st = Ccai_store_messages_json(ctx->store, row->id, &messages);
    bool spoke = st == CCAI_OK && spoke_on_last_leg(messages);
    json_decref(messages);
    if (st != CCAI_OK)
        return st;
    int64_t version = row->row_version;
    char *prev = row->state, *prev_reason = row->end_reason;
    row->state = Ccai_strdup(ccai_call_state_str(CCAI_CALL_ENDED));
    row->end_reason = Ccai_strdup(reason);
    st = row->state && row->end_reason ? Ccai_store_begin(ctx->store) : CCAI_ERR_NOMEM;
    if (st == CCAI_OK) {
        Ccai_store_message m = {
            .persona = by_caller ? "human" : "assistant",
            .action = "hangup",
            .style = ccai_style_str(CCAI_STYLE_NONE),
            .content = reason,
            .lang = row->lang,
        };
        st = Ccai_store_call_update(ctx->store, row);
        if (st == CCAI_OK)
            st = Ccai_store_message_append(ctx->store, row->id, &m, NULL);
        if (st == CCAI_OK && spoke)
            st = Ccai_postcall_enqueue(ctx->store, row->id, reason);
        if (st == CCAI_OK)
            st = Ccai_store_commit(ctx->store);
        if (st != CCAI_OK)
            Ccai_store_rollback(ctx->store);
    }
    if (st != CCAI_OK) {
        row->row_version = version;
        ccai_free(row->state);
        ccai_free(row->end_reason);
        row->state = prev;
        row->end_reason = prev_reason;
        if (st != CCAI_ERR_CONFLICT)
            Ccai_log(&ctx->log, CCAI_LOG_ERROR, "call %s: cannot end it: %s", row->id,
                     Ccai_store_errmsg(ctx->store));
        return st;
    }
    ccai_free(prev);
    ccai_free(prev_reason);
    Ccai_log(&ctx->log, CCAI_LOG_INFO, "call %s: ended (%s)%s", row->id, reason,
             spoke ? "" : ", the caller never spoke: no report");
    if (spoke)
        Ccai_jobs_kick(ctx);
    return CCAI_OK;
}

ccai_status Ccai_call_recording(ccai_ctx *ctx, const char *call_id, const char *url,
                                const char *recording_id, int64_t duration_ms)
{
    ccai_status st =
        Ccai_store_call_set_recording(ctx->store, call_id, url, recording_id, duration_ms);
    if (st != CCAI_OK)
        return st;
    ccai_call *c = Ccai_call_live(ctx, call_id);
    if (!c)
        return CCAI_OK;
    if ((url && !Ccai_str_replace(&c->row.recording_url, url)) ||
        (recording_id && !Ccai_str_replace(&c->row.recording_id, recording_id)))
        return CCAI_ERR_NOMEM;
    if (duration_ms > 0)
        c->row.recording_duration_ms = duration_ms;
    return CCAI_OK;
}

ccai_status Ccai_call_touch(ccai_call *c)
{
    ccai_ctx *ctx = c->ctx;
    ccai_status st = Ccai_store_call_touch(ctx->store, &c->row);
    if (st != CCAI_ERR_CONFLICT)
        return st;
    /* Another writer changed the row: what it wrote is the truth (every
     * change of ours is stored before it is acted on). */
    Ccai_store_call *fresh = NULL;
    st = Ccai_store_call_get(ctx->store, c->row.id, &fresh);
    if (st != CCAI_OK)
        return st;
    Ccai_log(&ctx->log, CCAI_LOG_WARN, "call %s: changed by another process (now %s)", c->row.id,
             fresh->state);
    Ccai_store_call_clear(&c->row);
    c->row = *fresh;
    ccai_free(fresh);
    ccai_call_state now = state_parse(c->row.state);
    if (in_progress(now))
        return CCAI_OK;
    /* Ended elsewhere: this handle stops acting on it. */
    ccai_call_state old = c->state;
    Ccai_conv_cleanup(c);
    c->state = now;
    Ccai_call_enter(c);
    notify_state(c, old);
    Ccai_call_leave(c);
    return CCAI_ERR_STATE;
}

/* Stored calls --------------------------------------------------------------- */

CCAI_EXPORT ccai_status ccai_ctx_call_get_json(ccai_ctx *ctx, const char *call_id, char **ret_json)
{
    if (!ctx || !call_id || !ret_json)
        return CCAI_ERR_INVALID_ARG;
    Ccai_store_call *row = NULL;
    ccai_status st = Ccai_store_call_get(ctx->store, call_id, &row);
    if (st != CCAI_OK) {
        Ccai_ctx_set_error(
            ctx, "%s", st == CCAI_ERR_NOT_FOUND ? "no such call" : Ccai_store_errmsg(ctx->store));
        return st;
    }
    json_t *doc = NULL;
    st = call_doc(ctx->store, row, &doc);
    Ccai_store_call_free(row);
    return st == CCAI_OK ? dump_doc(doc, ret_json) : st;
}

CCAI_EXPORT ccai_status ccai_ctx_call_find_json(ccai_ctx *ctx, const char *phone_number,
                                                int within_callback_window, char **ret_json)
{
    if (!ctx || !phone_number || !ret_json)
        return CCAI_ERR_INVALID_ARG;
    int64_t since = 0;
    if (within_callback_window) {
        int64_t hours = Ccai_config_int(ctx->cfg, "conversation.callback_timeout_hour", 3);
        if (hours <= 0)
            return CCAI_ERR_NOT_FOUND;
        since = Ccai_wall_ms() - hours * 3600 * 1000;
    }
    char *phone = NULL;
    ccai_status st = ccai_field_validate(CCAI_FIELD_PHONE_NUMBER, phone_number, &phone, NULL);
    if (st != CCAI_OK)
        return st == CCAI_ERR_VALIDATION ? CCAI_ERR_NOT_FOUND : st;
    Ccai_store_call *row = NULL;
    st = Ccai_store_call_find_latest(ctx->store, phone, since, &row);
    ccai_free(phone);
    if (st != CCAI_OK)
        return st;
    json_t *doc = NULL;
    st = call_doc(ctx->store, row, &doc);
    Ccai_store_call_free(row);
    return st == CCAI_OK ? dump_doc(doc, ret_json) : st;
}

CCAI_EXPORT ccai_status ccai_ctx_calls_list_json(ccai_ctx *ctx, const char *phone_number,
                                                 size_t limit, size_t offset, char **ret_json)
{
    if (!ctx || !ret_json)
        return CCAI_ERR_INVALID_ARG;
    if (limit > LIST_LIMIT_MAX)
        limit = LIST_LIMIT_MAX;
    char *phone = NULL;
    if (phone_number) {
        ccai_status st = ccai_field_validate(CCAI_FIELD_PHONE_NUMBER, phone_number, &phone, NULL);
        if (st == CCAI_ERR_NOMEM)
            return st;
        if (st != CCAI_OK) {
            /* Not a phone number: nothing can match it. */
            phone = Ccai_strdup(phone_number);
            if (!phone)
                return CCAI_ERR_NOMEM;
        }
    }
    Ccai_store_call **rows = NULL;
    size_t n = 0, total = 0;
    ccai_status st = Ccai_store_call_list(ctx->store, phone, limit, offset, &rows, &n, &total);
    ccai_free(phone);
    if (st != CCAI_OK)
        return st;
    json_t *calls = json_array();
    json_t *out = json_object();
    st = calls && out ? CCAI_OK : CCAI_ERR_NOMEM;
    for (size_t i = 0; st == CCAI_OK && i < n; i++) {
        json_t *doc = NULL;
        st = call_doc(ctx->store, rows[i], &doc);
        if (st == CCAI_OK && json_array_append_new(calls, doc) != 0)
            st = CCAI_ERR_NOMEM;
    }
    Ccai_store_call_list_free(rows, n);
    if (st == CCAI_OK && (json_object_set_new(out, "total", json_integer((json_int_t)total)) ||
                          json_object_set(out, "calls", calls)))
        st = CCAI_ERR_NOMEM;
    json_decref(calls);
    if (st != CCAI_OK) {
        json_decref(out);
        return st;
    }
    return dump_doc(out, ret_json);
}
