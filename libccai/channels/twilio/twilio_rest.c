/* Twilio REST client: calls and messages, with retries on 429 / 5xx. */
#include "channels/twilio/twilio_rest.h"

#include "config/config.h"
#include "core/json.h"
#include "http/form.h"
#include "io/io.h"
#include "io/restop.h"

#include <openssl/evp.h>

#include <stdio.h>
#include <string.h>

#define DEFAULT_BASE_URL    "https://api.twilio.com"
#define DEFAULT_ATTEMPTS    4
#define DEFAULT_BACKOFF_MS  500u
#define DEFAULT_MAX_BACKOFF 8000u
#define DEFAULT_TIMEOUT_MS  30000u
#define SID_MAX             64
#define ERROR_SNIPPET_MAX   200
#define MAX_CALLBACK_EVENTS 16

struct Ccai_twilio_rest {
    Ccai_rest_client rest; /* context, running operations, retry policy */
    char *account_sid;
    char *base_url; /* without a trailing '/' */
    char *from;
    char *auth_header; /* "Authorization: Basic ..." */
};

struct Ccai_twilio_op {
    Ccai_rest_op base; /* first: restop's */
    Ccai_twilio_rest *client;
    char *url;
    char *body;
    Ccai_twilio_done_fn cb;
    void *ud;
};

/* Client ------------------------------------------------------------------- */

static CCAI_MUST_CHECK bool valid_sid(const char *s)
{
    size_t n = 0;
    if (!s)
        return false;
    for (; s[n]; n++) {
        if (!Ccai_is_alpha((unsigned char)s[n]) && !Ccai_is_digit((unsigned char)s[n]))
            return false;
    }
    return n > 0 && n <= SID_MAX;
}

static char *basic_auth_header(const char *user, const char *password)
{
    char *plain = Ccai_asprintf("%s:%s", user, password);
    if (!plain)
        return NULL;
    size_t n = strlen(plain);
    char *b64 = n <= 4096 ? Ccai_malloc(4 * ((n + 2) / 3) + 1) : NULL;
    char *out = NULL;
    if (b64) {
        EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)plain, (int)n);
        out = Ccai_asprintf("Authorization: Basic %s", b64);
    }
    OPENSSL_cleanse(plain, n);
    ccai_free(plain);
    ccai_free(b64);
    return out;
}

ccai_status Ccai_twilio_rest_new(ccai_ctx *ctx, const Ccai_twilio_rest_opts *opts,
                                 Ccai_twilio_rest **ret)
{
    if (!ctx || !opts || !ret || !valid_sid(opts->account_sid) || !opts->auth_token ||
        !*opts->auth_token)
        return CCAI_ERR_INVALID_ARG;
    Ccai_twilio_rest *c = Ccai_calloc(1, sizeof *c);
    if (!c)
        return CCAI_ERR_NOMEM;
    const char *base =
        opts->api_base_url && *opts->api_base_url ? opts->api_base_url : DEFAULT_BASE_URL;
    size_t base_len = strlen(base);
    while (base_len && base[base_len - 1] == '/')
        base_len--;
    c->rest.ctx = ctx;
    c->account_sid = Ccai_strdup(opts->account_sid);
    c->base_url = Ccai_strndup(base, base_len);
    c->from = opts->from && *opts->from ? Ccai_strdup(opts->from) : NULL;
    c->auth_header = basic_auth_header(opts->account_sid, opts->auth_token);
    c->rest.max_attempts = opts->max_attempts > 0 ? opts->max_attempts : DEFAULT_ATTEMPTS;
    c->rest.base_backoff_ms = opts->base_backoff_ms ? opts->base_backoff_ms : DEFAULT_BACKOFF_MS;
    c->rest.max_backoff_ms = opts->max_backoff_ms ? opts->max_backoff_ms : DEFAULT_MAX_BACKOFF;
    c->rest.timeout_ms = opts->timeout_ms ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
    if (!c->account_sid || !c->base_url || (opts->from && *opts->from && !c->from) ||
        !c->auth_header) {
        Ccai_twilio_rest_free(c);
        return CCAI_ERR_NOMEM;
    }
    *ret = c;
    return CCAI_OK;
}

ccai_status Ccai_twilio_rest_from_config(ccai_ctx *ctx, const ccai_config *cfg,
                                         Ccai_twilio_rest **ret)
{
    if (!ctx || !cfg || !ret)
        return CCAI_ERR_INVALID_ARG;
    Ccai_twilio_rest_opts o = {
        .account_sid = Ccai_config_str(cfg, "twilio.account_sid"),
        .auth_token = Ccai_config_str(cfg, "twilio.auth_token"),
        .api_base_url = Ccai_config_str(cfg, "twilio.api_base_url"),
        .from = Ccai_config_str(cfg, "twilio.phone_number"),
    };
    if (!o.account_sid || !*o.account_sid || !o.auth_token || !*o.auth_token) {
        Ccai_ctx_set_error(ctx, "twilio: twilio.account_sid and twilio.auth_token are required");
        return CCAI_ERR_CONFIG;
    }
    if (!valid_sid(o.account_sid)) {
        Ccai_ctx_set_error(ctx, "twilio: twilio.account_sid must be letters and digits");
        return CCAI_ERR_CONFIG;
    }
    return Ccai_twilio_rest_new(ctx, &o, ret);
}

void Ccai_twilio_rest_free(Ccai_twilio_rest *c)
{
    if (!c)
        return;
    Ccai_rest_client_cancel_all(&c->rest);
    ccai_free(c->account_sid);
    ccai_free(c->base_url);
    ccai_free(c->from);
    if (c->auth_header)
        OPENSSL_cleanse(c->auth_header, strlen(c->auth_header));
    ccai_free(c->auth_header);
    ccai_free(c);
}

/* Operations: the encoding; their life is restop's. ------------------------- */

static void op_free(Ccai_rest_op *base)
{
    Ccai_twilio_op *op = (Ccai_twilio_op *)base;
    ccai_free(op->url);
    ccai_free(op->body);
    ccai_free(op);
}

void Ccai_twilio_op_cancel(Ccai_twilio_op *op)
{
    Ccai_rest_op_cancel(op ? &op->base : NULL);
}

/* How an operation ended, for its callback. */
typedef struct outcome {
    ccai_status st;
    Ccai_twilio_result res;
} outcome;

static void deliver(Ccai_rest_op *base, void *arg)
{
    Ccai_twilio_op *op = (Ccai_twilio_op *)base;
    outcome *o = arg;
    o->res.attempts = op->base.attempts;
    if (!o->res.body)
        o->res.body = "";
    op->cb(o->st, &o->res, op->ud);
}

/* The result of a reply that is an error, decoded: Twilio's code, message
 * and documentation link; RFC 9457 problem details too. *ret_json holds
 * what res points into. */
static const char *decode_error(const char *body, size_t len, Ccai_twilio_result *res,
                                json_t **ret_json)
{
    Ccai_json_err jerr;
    ccai_status jst;
    json_t *json = len ? Ccai_json_load(body, len, &jerr, &jst) : NULL;
    const char *text = NULL;
    if (json_is_object(json)) {
        json_t *code = json_object_get(json, "code");
        if (json_is_integer(code) && json_integer_value(code) > 0 &&
            json_integer_value(code) < 1000000)
            res->error_code = (int)json_integer_value(code);
        text = json_string_value(json_object_get(json, "message"));
        if (!text) /* RFC 9457 problem details */
            text = json_string_value(json_object_get(json, "detail"));
        if (!text)
            text = json_string_value(json_object_get(json, "title"));
        res->more_info = json_string_value(json_object_get(json, "more_info"));
    }
    *ret_json = json;
    return text;
}

static char *error_text(Ccai_rest_op *base, long status, const char *body, size_t len)
{
    CCAI_UNUSED(base);
    Ccai_twilio_result res = {0};
    json_t *json = NULL;
    const char *text = decode_error(body, len, &res, &json);
    char *excerpt = !text && len ? Ccai_printable_excerpt(body, len, ERROR_SNIPPET_MAX) : NULL;
    char *msg;
    if (res.error_code)
        msg = Ccai_asprintf("twilio: HTTP %ld, error %d: %s", status, res.error_code,
                            text ? text : "no message");
    else if (text || excerpt)
        msg = Ccai_asprintf("twilio: HTTP %ld: %s", status, text ? text : excerpt);
    else
        msg = Ccai_asprintf("twilio: HTTP %ld without an error body", status);
    ccai_free(excerpt);
    json_decref(json);
    return msg;
}

static void failure(Ccai_rest_op *base, ccai_status st, long status, const char *body, size_t len,
                    const char *message)
{
    outcome o = {st, {.http_status = status, .body = body}};
    json_t *json = NULL;
    if (status)
        decode_error(body, len, &o.res, &json);
    o.res.error_message = message;
    Ccai_rest_op_complete(base, deliver, &o);
    json_decref(json);
}

static void success(Ccai_rest_op *base, long status, const char *body, size_t len)
{
    Ccai_json_err jerr;
    ccai_status jst = CCAI_OK;
    json_t *json = Ccai_json_load(body, len, &jerr, &jst);
    outcome o = {CCAI_OK, {.http_status = status, .body = body}};
    o.res.sid = json_string_value(json_object_get(json, "sid"));
    o.res.status = json_string_value(json_object_get(json, "status"));
    if (!json && jst == CCAI_ERR_NOMEM) {
        o.st = CCAI_ERR_NOMEM;
        o.res.error_message = "twilio: out of memory";
    } else if (!o.res.sid) {
        o.st = CCAI_ERR_PARSE;
        o.res.status = NULL;
        o.res.error_message = "twilio: the reply carries no resource sid";
    }
    Ccai_rest_op_complete(base, deliver, &o);
    json_decref(json);
}

static CCAI_MUST_CHECK ccai_status send_attempt(Ccai_rest_op *base)
{
    Ccai_twilio_op *op = (Ccai_twilio_op *)base;
    const char *headers[] = {
        op->client->auth_header,
        "Content-Type: application/x-www-form-urlencoded",
        "Accept: application/json",
        NULL,
    };
    Ccai_http_opts o = {
        .method = "POST",
        .url = op->url,
        .headers = headers,
        .body = op->body,
        .body_len = strlen(op->body),
    };
    return Ccai_rest_op_http(&op->base, &o);
}

static const Ccai_rest_class twilio_ops = {
    .tag = "twilio",
    .send = send_attempt,
    .success = success,
    .error_text = error_text,
    .failure = failure,
    .free = op_free,
};

/* Start POST {base}/2010-04-01/Accounts/{sid}{path} with body (taken). */
static CCAI_MUST_CHECK ccai_status op_start(Ccai_twilio_rest *c, const char *path, char *body,
                                            bool idempotent, Ccai_twilio_done_fn cb, void *ud,
                                            Ccai_twilio_op **ret)
{
    if (!body)
        return CCAI_ERR_NOMEM;
    Ccai_twilio_op *op = Ccai_calloc(1, sizeof *op);
    if (!op) {
        ccai_free(body);
        return CCAI_ERR_NOMEM;
    }
    op->body = body;
    op->url = Ccai_asprintf("%s/2010-04-01/Accounts/%s%s", c->base_url, c->account_sid, path);
    op->client = c;
    op->cb = cb;
    op->ud = ud;
    if (!op->url) {
        op_free(&op->base);
        return CCAI_ERR_NOMEM;
    }
    /* Only an idempotent request may be sent again after a transport
     * failure: it may have reached Twilio. */
    ccai_status st = Ccai_rest_op_start(&c->rest, &op->base, &twilio_ops, idempotent);
    if (st == CCAI_OK && ret)
        *ret = op;
    return st;
}

static char *int_param(char *buf, size_t size, int v)
{
    if (v <= 0)
        return NULL;
    snprintf(buf, size, "%d", v);
    return buf;
}

ccai_status Ccai_twilio_call_create(Ccai_twilio_rest *c, const Ccai_twilio_call_params *p,
                                    Ccai_twilio_done_fn cb, void *ud, Ccai_twilio_op **ret)
{
    if (!c || !p || !cb || !p->to || !*p->to)
        return CCAI_ERR_INVALID_ARG;
    const char *from = p->from ? p->from : c->from;
    int sources = (p->url != NULL) + (p->twiml != NULL) + (p->application_sid != NULL);
    if (!from || !*from || sources != 1)
        return CCAI_ERR_INVALID_ARG;
    size_t n_events = 0;
    while (p->status_callback_events && p->status_callback_events[n_events])
        n_events++;
    if (n_events > MAX_CALLBACK_EVENTS)
        return CCAI_ERR_INVALID_ARG;
    char timeout[16], time_limit[16];
    const char *pairs[2 * (21 + MAX_CALLBACK_EVENTS) + 1];
    size_t k = 0;
#define PAIR(name, value) (pairs[k++] = (name), pairs[k++] = (value))
    PAIR("To", p->to);
    PAIR("From", from);
    PAIR("Url", p->url);
    PAIR("Twiml", p->twiml);
    PAIR("ApplicationSid", p->application_sid);
    PAIR("Method", p->method);
    PAIR("FallbackUrl", p->fallback_url);
    PAIR("StatusCallback", p->status_callback);
    for (size_t i = 0; i < n_events; i++)
        PAIR("StatusCallbackEvent", p->status_callback_events[i]);
    PAIR("StatusCallbackMethod", p->status_callback_method);
    PAIR("Timeout", int_param(timeout, sizeof timeout, p->timeout));
    PAIR("TimeLimit", int_param(time_limit, sizeof time_limit, p->time_limit));
    PAIR("Record", p->record ? "true" : NULL);
    PAIR("RecordingStatusCallback", p->recording_status_callback);
    PAIR("RecordingStatusCallbackMethod", p->recording_status_callback_method);
    PAIR("MachineDetection", p->machine_detection);
    PAIR("AsyncAmd", p->async_amd ? "true" : NULL);
    PAIR("AsyncAmdStatusCallback", p->async_amd ? p->async_amd_status_callback : NULL);
    PAIR("AsyncAmdStatusCallbackMethod", p->async_amd ? "POST" : NULL);
    PAIR("CallerId", p->caller_id);
    PAIR("SendDigits", p->send_digits);
#undef PAIR
    pairs[k] = NULL;
    return op_start(c, "/Calls.json", Ccai_form_encode(pairs), false, cb, ud, ret);
}

static CCAI_MUST_CHECK ccai_status call_update(Ccai_twilio_rest *c, const char *call_sid,
                                               const char *const *pairs, Ccai_twilio_done_fn cb,
                                               void *ud, Ccai_twilio_op **ret)
{
    if (!c || !cb || !valid_sid(call_sid))
        return CCAI_ERR_INVALID_ARG;
    char path[SID_MAX + 16];
    snprintf(path, sizeof path, "/Calls/%s.json", call_sid);
    return op_start(c, path, Ccai_form_encode(pairs), true, cb, ud, ret);
}

ccai_status Ccai_twilio_call_redirect(Ccai_twilio_rest *c, const char *call_sid, const char *url,
                                      const char *method, Ccai_twilio_done_fn cb, void *ud,
                                      Ccai_twilio_op **ret)
{
    if (!url || !*url)
        return CCAI_ERR_INVALID_ARG;
    const char *pairs[] = {"Url", url, "Method", method, NULL};
    return call_update(c, call_sid, pairs, cb, ud, ret);
}

ccai_status Ccai_twilio_call_update_twiml(Ccai_twilio_rest *c, const char *call_sid,
                                          const char *twiml, Ccai_twilio_done_fn cb, void *ud,
                                          Ccai_twilio_op **ret)
{
    if (!twiml || !*twiml)
        return CCAI_ERR_INVALID_ARG;
    const char *pairs[] = {"Twiml", twiml, NULL};
    return call_update(c, call_sid, pairs, cb, ud, ret);
}

ccai_status Ccai_twilio_call_end(Ccai_twilio_rest *c, const char *call_sid, bool cancel,
                                 Ccai_twilio_done_fn cb, void *ud, Ccai_twilio_op **ret)
{
    const char *pairs[] = {"Status", cancel ? "canceled" : "completed", NULL};
    return call_update(c, call_sid, pairs, cb, ud, ret);
}

ccai_status Ccai_twilio_call_record(Ccai_twilio_rest *c, const char *call_sid,
                                    const char *status_callback, Ccai_twilio_done_fn cb, void *ud,
                                    Ccai_twilio_op **ret)
{
    if (!c || !cb || !valid_sid(call_sid))
        return CCAI_ERR_INVALID_ARG;
    char path[SID_MAX + 32];
    snprintf(path, sizeof path, "/Calls/%s/Recordings.json", call_sid);
    const char *pairs[] = {"RecordingStatusCallback",
                           status_callback,
                           "RecordingStatusCallbackEvent",
                           "completed",
                           "RecordingChannels",
                           "dual",
                           NULL};
    /* Not retried after a transport failure: a second recording is worse
     * than none. */
    return op_start(c, path, Ccai_form_encode(pairs), false, cb, ud, ret);
}

ccai_status Ccai_twilio_sms_send(Ccai_twilio_rest *c, const Ccai_twilio_sms_params *p,
                                 Ccai_twilio_done_fn cb, void *ud, Ccai_twilio_op **ret)
{
    if (!c || !p || !cb || !p->to || !*p->to || !p->body)
        return CCAI_ERR_INVALID_ARG;
    const char *from = p->from ? p->from : p->messaging_service_sid ? NULL : c->from;
    if (!from && !p->messaging_service_sid)
        return CCAI_ERR_INVALID_ARG;
    const char *pairs[] = {
        "To",
        p->to,
        "From",
        from,
        "MessagingServiceSid",
        p->messaging_service_sid,
        "Body",
        p->body,
        "StatusCallback",
        p->status_callback,
        NULL,
    };
    return op_start(c, "/Messages.json", Ccai_form_encode(pairs), false, cb, ud, ret);
}
