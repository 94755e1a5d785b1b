/* Twilio REST client: calls and messages, with retries on 429 / 5xx. */
#include "channels/twilio/twilio_rest.h"

#include "config/config.h"
#include "core/json.h"
#include "http/form.h"
#include "io/io.h"
#include "io/restop.h"
#include "llm/llm.h" /* Ccai_llm_retry_after_ms */

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
    ccai_ctx *ctx;
    char *account_sid;
    char *base_url; /* without a trailing '/' */
    char *from;
    char *auth_header; /* "Authorization: Basic ..." */
    int max_attempts;
    uint32_t base_backoff_ms, max_backoff_ms, timeout_ms;
    Ccai_rest_op *ops; /* running operations */
};

struct Ccai_twilio_op {
    Ccai_rest_op base; /* first: the list holds Ccai_rest_op pointers */
    Ccai_twilio_rest *client;
    char *url;
    char *body;
    bool idempotent; /* may be retried after a transport failure */
    Ccai_twilio_done_fn cb;
    void *ud;
};

/* Client ------------------------------------------------------------------- */

static bool valid_sid(const char *s)
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
    c->ctx = ctx;
    c->account_sid = Ccai_strdup(opts->account_sid);
    c->base_url = Ccai_strndup(base, base_len);
    c->from = opts->from && *opts->from ? Ccai_strdup(opts->from) : NULL;
    c->auth_header = basic_auth_header(opts->account_sid, opts->auth_token);
    c->max_attempts = opts->max_attempts > 0 ? opts->max_attempts : DEFAULT_ATTEMPTS;
    c->base_backoff_ms = opts->base_backoff_ms ? opts->base_backoff_ms : DEFAULT_BACKOFF_MS;
    c->max_backoff_ms = opts->max_backoff_ms ? opts->max_backoff_ms : DEFAULT_MAX_BACKOFF;
    c->timeout_ms = opts->timeout_ms ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
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

static void op_free(Ccai_twilio_op *op, ccai_ctx *ctx);

void Ccai_twilio_rest_free(Ccai_twilio_rest *c)
{
    if (!c)
        return;
    while (c->ops) {
        Ccai_twilio_op *op = (Ccai_twilio_op *)c->ops;
        Ccai_rest_op_unlink(&op->base);
        op_free(op, c->ctx);
    }
    ccai_free(c->account_sid);
    ccai_free(c->base_url);
    ccai_free(c->from);
    if (c->auth_header)
        OPENSSL_cleanse(c->auth_header, strlen(c->auth_header));
    ccai_free(c->auth_header);
    ccai_free(c);
}

/* Operations --------------------------------------------------------------- */

/* Free an unlinked operation, stopping whatever it has in flight. */
static void op_free(Ccai_twilio_op *op, ccai_ctx *ctx)
{
    Ccai_rest_op_stop(ctx, &op->base);
    ccai_free(op->url);
    ccai_free(op->body);
    ccai_free(op);
}

void Ccai_twilio_op_cancel(Ccai_twilio_op *op)
{
    if (!op || !Ccai_rest_op_cancel(&op->base))
        return; /* inside its callback: freed when the callback returns */
    Ccai_rest_op_unlink(&op->base);
    op_free(op, op->client->ctx);
}

static void finish(Ccai_twilio_op *op, ccai_status st, Ccai_twilio_result *res)
{
    ccai_ctx *ctx = op->client->ctx; /* outlives the client */
    Ccai_rest_op_unlink(&op->base);
    op->client = NULL; /* the callback may free the client */
    res->attempts = op->base.attempts;
    if (!res->body)
        res->body = "";
    op->base.in_callback = true;
    op->cb(st, res, op->ud);
    op->base.in_callback = false;
    op_free(op, ctx);
}

static void finish_error(Ccai_twilio_op *op, ccai_status st, long http_status, const char *msg)
{
    Ccai_twilio_result res = {.http_status = http_status, .error_message = msg};
    finish(op, st, &res);
}

static void attempt(Ccai_twilio_op *op);

static void on_backoff(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    attempt(ud);
}

/* Schedule the next attempt; hint_ms < 0 means exponential backoff. */
static bool schedule_retry(Ccai_twilio_op *op, int64_t hint_ms)
{
    Ccai_twilio_rest *c = op->client;
    return Ccai_rest_op_retry_later(c->ctx, &op->base, hint_ms, c->base_backoff_ms,
                                    c->max_backoff_ms, "twilio");
}

static void on_error_reply(Ccai_twilio_op *op, Ccai_http_req *req, long status, const char *body,
                           size_t len)
{
    Ccai_json_err jerr;
    ccai_status jst;
    json_t *json = len ? Ccai_json_load(body, len, &jerr, &jst) : NULL;
    Ccai_twilio_result res = {.http_status = status, .body = body};
    const char *text = NULL;
    if (json_is_object(json)) {
        json_t *code = json_object_get(json, "code");
        if (json_is_integer(code) && json_integer_value(code) > 0 &&
            json_integer_value(code) < 1000000)
            res.error_code = (int)json_integer_value(code);
        text = json_string_value(json_object_get(json, "message"));
        if (!text) /* RFC 9457 problem details */
            text = json_string_value(json_object_get(json, "detail"));
        if (!text)
            text = json_string_value(json_object_get(json, "title"));
        res.more_info = json_string_value(json_object_get(json, "more_info"));
    }
    char *excerpt = !text && len ? Ccai_printable_excerpt(body, len, ERROR_SNIPPET_MAX) : NULL;
    char *msg;
    if (res.error_code)
        msg = Ccai_asprintf("twilio: HTTP %ld, error %d: %s", status, res.error_code,
                            text ? text : "no message");
    else if (text || excerpt)
        msg = Ccai_asprintf("twilio: HTTP %ld: %s", status, text ? text : excerpt);
    else
        msg = Ccai_asprintf("twilio: HTTP %ld without an error body", status);
    bool retryable = status == 429 || status >= 500;
    if (retryable && op->base.attempts < op->client->max_attempts) {
        int64_t hint =
            Ccai_llm_retry_after_ms(Ccai_http_header(req, "retry-after"), NULL, Ccai_wall_ms());
        if (msg)
            Ccai_log(Ccai_ctx_logger(op->client->ctx), CCAI_LOG_WARN, "%s", msg);
        ccai_free(msg);
        ccai_free(excerpt);
        json_decref(json);
        if (!schedule_retry(op, hint))
            finish_error(op, CCAI_ERR_NOMEM, status, "twilio: out of memory");
        return;
    }
    char *full = msg && op->base.attempts > 1
                     ? Ccai_asprintf("%s (after %d attempts)", msg, op->base.attempts)
                     : NULL;
    res.error_message = full ? full : msg ? msg : "twilio: error reply";
    finish(op, status == 404 ? CCAI_ERR_NOT_FOUND : CCAI_ERR_HTTP, &res);
    ccai_free(full);
    ccai_free(msg);
    ccai_free(excerpt);
    json_decref(json);
}

static void on_success_reply(Ccai_twilio_op *op, long status, const char *body, size_t len)
{
    Ccai_json_err jerr;
    ccai_status jst = CCAI_OK;
    json_t *json = Ccai_json_load(body, len, &jerr, &jst);
    Ccai_twilio_result res = {.http_status = status, .body = body};
    res.sid = json_string_value(json_object_get(json, "sid"));
    res.status = json_string_value(json_object_get(json, "status"));
    if (!json && jst == CCAI_ERR_NOMEM) {
        res.error_message = "twilio: out of memory";
        finish(op, CCAI_ERR_NOMEM, &res);
    } else if (!res.sid) {
        res.status = NULL;
        res.error_message = "twilio: the reply carries no resource sid";
        finish(op, CCAI_ERR_PARSE, &res);
    } else {
        finish(op, CCAI_OK, &res);
    }
    json_decref(json);
}

static void on_http_done(Ccai_http_req *req, ccai_status st, long status, const char *errmsg,
                         void *ud)
{
    Ccai_twilio_op *op = ud;
    op->base.req = NULL;
    if (st == CCAI_OK) {
        size_t len = 0;
        const char *body = Ccai_http_body(req, &len);
        if (!body)
            body = "";
        if (status >= 200 && status < 300)
            on_success_reply(op, status, body, len);
        else
            on_error_reply(op, req, status, body, len);
        return;
    }
    if (op->idempotent && st != CCAI_ERR_NOMEM && op->base.attempts < op->client->max_attempts) {
        if (!schedule_retry(op, -1))
            finish_error(op, CCAI_ERR_NOMEM, 0, "twilio: out of memory");
        return;
    }
    char *msg = Ccai_asprintf("twilio: %s", errmsg && *errmsg ? errmsg : ccai_status_str(st));
    ccai_status out = st == CCAI_ERR_TIMEOUT || st == CCAI_ERR_NOMEM ? st : CCAI_ERR_HTTP;
    finish_error(op, out, 0, msg ? msg : "twilio: request failed");
    ccai_free(msg);
}

static ccai_status http_start(Ccai_twilio_op *op)
{
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
        .total_timeout_ms = op->client->timeout_ms,
        .on_done = on_http_done,
        .ud = op,
    };
    op->base.attempts++;
    return Ccai_http_start(op->client->ctx, &o, &op->base.req);
}

static void attempt(Ccai_twilio_op *op)
{
    ccai_status st = http_start(op);
    if (st != CCAI_OK) {
        char *msg = Ccai_asprintf("twilio: cannot start the request: %s", ccai_status_str(st));
        finish_error(op, st, 0, msg ? msg : "twilio: cannot start the request");
        ccai_free(msg);
    }
}

/* Start POST {base}/2010-04-01/Accounts/{sid}{path} with body (taken). */
static ccai_status op_start(Ccai_twilio_rest *c, const char *path, char *body, bool idempotent,
                            Ccai_twilio_done_fn cb, void *ud, Ccai_twilio_op **ret)
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
    op->idempotent = idempotent;
    op->cb = cb;
    op->ud = ud;
    Ccai_rest_op_init(&op->base, on_backoff, op);
    ccai_status st = op->url ? http_start(op) : CCAI_ERR_NOMEM;
    if (st != CCAI_OK) {
        op_free(op, c->ctx);
        return st;
    }
    Ccai_rest_op_link(&c->ops, &op->base);
    if (ret)
        *ret = op;
    return CCAI_OK;
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
    const char *pairs[2 * (18 + MAX_CALLBACK_EVENTS) + 1];
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
    PAIR("CallerId", p->caller_id);
    PAIR("SendDigits", p->send_digits);
#undef PAIR
    pairs[k] = NULL;
    return op_start(c, "/Calls.json", Ccai_form_encode(pairs), false, cb, ud, ret);
}

static ccai_status call_update(Ccai_twilio_rest *c, const char *call_sid, const char *const *pairs,
                               Ccai_twilio_done_fn cb, void *ud, Ccai_twilio_op **ret)
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
