/* The REST API: health, calls. JSON in and out, the reference's error
 * envelope for every failure. */
#include "web/web.h"

#include "config/config.h"
#include "core/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_DEFAULT 100
#define LIST_MAX     1000

/* server.api_style: call-center-ai: the reference's shapes where ours
 * differ (docs/migrating.md). */
static CCAI_MUST_CHECK bool reference_style(const Ccai_web *web)
{
    const char *style = Ccai_config_str(web->cfg, "server.api_style");
    return style && strcmp(style, "call-center-ai") == 0;
}

void Ccai_rest_liveness(ccai_http_exchange *x, void *ud)
{
    /* The reference's FastAPI handler returns None: the body is null. */
    Ccai_exchange_json_text(x, 200, reference_style(ud) ? "null" : "{\"status\":\"ok\"}");
}

/* The reference's GET /call: the calls as a bare array, 404 when there are
 * none. Takes @json (ours: {"calls": [...], "total": N}). */
static void reference_list(ccai_http_exchange *x, char *json)
{
    Ccai_json_err jerr;
    ccai_status st;
    json_t *doc = Ccai_json_load(json, strlen(json), &jerr, &st);
    ccai_free(json);
    json_t *calls = json_object_get(doc, "calls");
    if (!json_is_array(calls))
        Ccai_exchange_error(x, 500, "cannot list calls", NULL);
    else if (json_array_size(calls) == 0)
        Ccai_exchange_error(x, 404, "no call found", NULL);
    else
        Ccai_exchange_json(x, 200, json_incref(calls));
    json_decref(doc);
}

/* Ready when the store can write (one real commit: a lock another process
 * holds, a read-only file or a full disk all fail it, without blocking the
 * loop longer than the busy timeout) and the configured providers have their
 * credentials. An unconfigured LLM is not a failure: the offline dialogue
 * answers. */
void Ccai_rest_readiness(ccai_http_exchange *x, void *ud)
{
    Ccai_web *web = ud;
    json_t *checks = json_array();
    bool ok = true;
    if (Ccai_store_check_write(web->store) == CCAI_OK) {
        json_array_append_new(checks,
                              Ccai_channel_check("store", "ok", Ccai_store_location(web->store)));
    } else {
        ok = false;
        json_array_append_new(checks,
                              Ccai_channel_check("store", "fail", Ccai_store_errmsg(web->store)));
    }
    bool fast = Ccai_engine_model(web->engine, "fast") != NULL;
    bool slow = Ccai_engine_model(web->engine, "slow") != NULL;
    json_array_append_new(
        checks, Ccai_channel_check("llm", "ok",
                                   fast || slow ? (fast && slow ? "fast and slow" : "one model")
                                                : "none: the offline dialogue answers"));
    for (size_t i = 0; checks && i < web->n_channels; i++) {
        const Ccai_channel *ch = &web->channels[i];
        if (ch->cls->readiness)
            ch->cls->readiness(ch->state, checks, &ok);
    }
    Ccai_exchange_json(
        x, ok ? 200 : 503,
        checks ? json_pack("{s:s, s:o}", "status", ok ? "ok" : "fail", "checks", checks) : NULL);
}

static CCAI_MUST_CHECK bool parse_count(const char *s, size_t max, size_t *out)
{
    if (!s || !*s)
        return false;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || s[0] == '-' || s[0] == '+' || v > max)
        return false;
    *out = (size_t)v;
    return true;
}

void Ccai_rest_calls_list(ccai_http_exchange *x, void *ud)
{
    char *phone = Ccai_exchange_query(x, "phone_number");
    char *limit_s = Ccai_exchange_query(x, "limit");
    char *offset_s = Ccai_exchange_query(x, "offset");
    size_t limit = LIST_DEFAULT, offset = 0;
    if ((limit_s && !parse_count(limit_s, LIST_MAX, &limit)) ||
        (offset_s && !parse_count(offset_s, SIZE_MAX / 2, &offset))) {
        Ccai_exchange_error(x, 400, "invalid query", "limit is 0..1000 and offset >= 0");
    } else {
        char *json = NULL;
        ccai_status st =
            ccai_ctx_calls_list_json(x->ctx, phone && *phone ? phone : NULL, limit, offset, &json);
        if (st == CCAI_OK && reference_style(ud)) {
            reference_list(x, json);
            json = NULL;
        } else if (st == CCAI_OK) {
            Ccai_exchange_json_text(x, 200, json); /* an empty list is 200, not 404 */
        } else {
            Ccai_exchange_fail(x, st, "cannot list calls", NULL);
        }
        ccai_free(json);
    }
    ccai_free(phone);
    ccai_free(limit_s);
    ccai_free(offset_s);
}

static CCAI_MUST_CHECK bool looks_like_uuid(const char *s)
{
    if (strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        int c = (unsigned char)s[i];
        if (dash ? c != '-'
                 : !(Ccai_is_digit(c) || (Ccai_to_lower(c) >= 'a' && Ccai_to_lower(c) <= 'f')))
            return false;
    }
    return true;
}

void Ccai_rest_call_get(ccai_http_exchange *x, void *ud)
{
    CCAI_UNUSED(ud);
    const char *key = Ccai_exchange_param(x, 0);
    char *json = NULL;
    ccai_status st = looks_like_uuid(key) ? ccai_ctx_call_get_json(x->ctx, key, &json)
                                          : ccai_ctx_call_find_json(x->ctx, key, 0, &json);
    if (st == CCAI_OK)
        Ccai_exchange_json_text(x, 200, json);
    else if (st == CCAI_ERR_NOT_FOUND)
        Ccai_exchange_error(x, 404, "call not found", key);
    else
        Ccai_exchange_fail(x, st, "cannot read the call", NULL);
    ccai_free(json);
}

/* The channel POST /call places the call on: the one "telephony" names;
 * without one, the first that can place calls and is configured, else the
 * first that can (it says what to configure). NULL: no such name. */
static const Ccai_channel *pick_channel(const Ccai_web *web, const char *telephony)
{
    const Ccai_channel *first = NULL;
    for (size_t i = 0; i < web->n_channels; i++) {
        const Ccai_channel *ch = &web->channels[i];
        if (!(ch->cls->caps & CCAI_CHANNEL_CALLS_OUT))
            continue;
        if (telephony) {
            for (size_t k = 0; k < CCAI_ARRAY_SIZE(ch->cls->telephony); k++) {
                if (ch->cls->telephony[k] && strcmp(ch->cls->telephony[k], telephony) == 0)
                    return ch;
            }
            continue;
        }
        if (ch->cls->configured(ch->state))
            return ch;
        if (!first)
            first = ch;
    }
    return first;
}

/* "telephony: \"twilio\" or \"communication_services\"": the names, for
 * a request that named none of them. */
static char *telephony_choices(const Ccai_web *web)
{
    Ccai_buf b = {0};
    bool ok = Ccai_buf_puts(&b, "telephony: ");
    size_t n = 0;
    for (size_t i = 0; ok && i < web->n_channels; i++) {
        const Ccai_channel_class *cls = web->channels[i].cls;
        if (cls->caps & CCAI_CHANNEL_CALLS_OUT)
            ok = Ccai_buf_printf(&b, "%s\"%s\"", n++ ? " or " : "", cls->telephony[0]);
    }
    char *text = ok ? Ccai_buf_steal(&b) : NULL;
    Ccai_buf_free(&b);
    return text;
}

/* POST /call: place an outbound call (the reference's CallInitiateModel
 * body, plus "telephony"); 201 with the stored call. */
void Ccai_rest_call_create(ccai_http_exchange *x, void *ud)
{
    Ccai_web *web = ud;
    Ccai_json_err jerr;
    ccai_status st;
    json_t *body = Ccai_json_load(x->body, x->body_len, &jerr, &st);
    if (!body || !json_is_object(body)) {
        char detail[160];
        snprintf(detail, sizeof detail, "line %u, column %u: %s", jerr.line, jerr.column,
                 body ? "expected a JSON object" : jerr.text);
        json_decref(body);
        Ccai_exchange_error(x, st == CCAI_ERR_NOMEM ? 500 : 400, "invalid JSON body", detail);
        return;
    }
    const char *phone = json_string_value(json_object_get(body, "phone_number"));
    const char *telephony = json_string_value(json_object_get(body, "telephony"));
    if (!phone) {
        json_decref(body);
        Ccai_exchange_error(x, 400, "invalid body", "phone_number (E.164) is required");
        return;
    }
    const Ccai_channel *ch = pick_channel(web, telephony);
    if (!ch) {
        json_decref(body);
        char *detail = telephony_choices(web);
        Ccai_exchange_error(x, 400, "invalid body", detail ? detail : "telephony");
        ccai_free(detail);
        return;
    }
    json_object_del(body, "telephony");
    char *phone_copy = Ccai_strdup(phone);
    char *initiate = phone_copy ? Ccai_json_dump(body, JSON_COMPACT) : NULL;
    json_decref(body);
    char *id = NULL;
    st = initiate ? ch->cls->place_call(ch->state, initiate, phone_copy, &id) : CCAI_ERR_NOMEM;
    ccai_free(initiate);
    ccai_free(phone_copy);
    if (st == CCAI_ERR_UNSUPPORTED) {
        Ccai_exchange_error(x, 400, "no telephony provider configured", ch->cls->setup);
        return;
    }
    if (st == CCAI_ERR_VALIDATION || st == CCAI_ERR_INVALID_ARG) {
        /* The reference (FastAPI) answers a body that does not validate 422. */
        Ccai_exchange_error(x, reference_style(web) ? 422 : 400, "invalid body",
                            ccai_ctx_errmsg(x->ctx));
        return;
    }
    if (st != CCAI_OK) { /* nothing stored (its lease with it) nor placed */
        Ccai_exchange_fail(x, st, "cannot place the call", NULL);
        return;
    }
    /* Stored and placed: the answer is 201 whatever the read-back does. A
     * 503 here (a statement timeout on PostgreSQL, a failing disk) told
     * the client to place the call again, and the callee got two. */
    char *json = NULL;
    st = ccai_ctx_call_get_json(x->ctx, id, &json);
    if (st == CCAI_OK) {
        Ccai_exchange_json_text(x, 201, json);
    } else {
        Ccai_log(Ccai_router_logger(x->router), CCAI_LOG_WARN,
                 "POST /call: call %s placed, not read back (%s): answered with its id", id,
                 ccai_status_str(st));
        Ccai_exchange_json(x, 201, json_pack("{s:s, s:s}", "call_id", id, "direction", "outbound"));
    }
    ccai_free(id);
    ccai_free(json);
}
