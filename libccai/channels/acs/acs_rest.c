/* ACS REST client: Call Automation and SMS, signed, with retries. */
#include "channels/acs/acs_rest.h"

#include "channels/acs/acs_sig.h"
#include "config/config.h"
#include "core/json.h"
#include "io/io.h"
#include "io/restop.h"

#include <openssl/crypto.h>

#include <stdio.h>
#include <string.h>

#define DEFAULT_ATTEMPTS    4
#define DEFAULT_BACKOFF_MS  500u
#define DEFAULT_MAX_BACKOFF 8000u
#define DEFAULT_TIMEOUT_MS  30000u
#define ID_MAX              256
#define ERROR_SNIPPET_MAX   200

/* Which id a successful reply must carry. */
typedef enum reply_id { ID_NONE, ID_CALL, ID_RECORDING, ID_SMS } reply_id;

/* How ACS tells a repeat from a new request: not at all (the operation is
 * not repeated after a transport failure), by the Repeatability-* headers
 * (Call Automation), or by the repeatability fields in the body, built by
 * the caller (SMS). */
typedef enum repeat_mode { REPEAT_NO, REPEAT_HEADERS, REPEAT_BODY } repeat_mode;

struct Ccai_acs_rest {
    Ccai_rest_client rest; /* context, running operations, retry policy */
    char *base_url;        /* scheme://authority, no trailing '/' */
    char *host;            /* authority as signed: port only when not the default */
    char *base_path;       /* "" or "/prefix" */
    char *access_key;
    char *phone_number;
    char *call_api_version, *sms_api_version;
};

struct Ccai_acs_op {
    Ccai_rest_op base; /* first: restop's */
    Ccai_acs_rest *client;
    const char *method;
    char *target; /* path and query, as signed */
    char *url;
    char *body;
    reply_id expect;
    repeat_mode repeat; /* not REPEAT_NO: may be retried after a transport failure */
    char repeat_id[37];
    char repeat_first_sent[32];
    Ccai_acs_done_fn cb;
    void *ud;
};

/* Client ------------------------------------------------------------------- */

/* Split "http(s)://authority[/path]" into base URL, signed host, path. */
static CCAI_MUST_CHECK ccai_status parse_endpoint(const char *endpoint, Ccai_acs_rest *c)
{
    bool https;
    const char *p;
    if (strncmp(endpoint, "https://", 8) == 0) {
        https = true;
        p = endpoint + 8;
    } else if (strncmp(endpoint, "http://", 7) == 0) {
        https = false;
        p = endpoint + 7;
    } else {
        return CCAI_ERR_INVALID_ARG;
    }
    size_t alen = strcspn(p, "/?#");
    if (alen == 0 || p[alen] == '?' || p[alen] == '#')
        return CCAI_ERR_INVALID_ARG;
    for (size_t i = 0; i < alen; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (!Ccai_is_alpha(ch) && !Ccai_is_digit(ch) && !strchr("-.:[]", ch))
            return CCAI_ERR_INVALID_ARG;
    }
    size_t hlen = alen;
    const char *def = https ? ":443" : ":80";
    if (hlen > strlen(def) && strncmp(p + hlen - strlen(def), def, strlen(def)) == 0)
        hlen -= strlen(def);
    const char *path = p + alen;
    size_t plen = strlen(path);
    while (plen && path[plen - 1] == '/')
        plen--;
    for (size_t i = 0; i < plen; i++) {
        unsigned char ch = (unsigned char)path[i];
        if (ch <= 0x20 || ch >= 0x7f || ch == '?' || ch == '#')
            return CCAI_ERR_INVALID_ARG;
    }
    c->host = Ccai_strndup(p, hlen);
    c->base_url = c->host ? Ccai_asprintf("%s://%s", https ? "https" : "http", c->host) : NULL;
    c->base_path = Ccai_strndup(path, plen);
    return c->host && c->base_url && c->base_path ? CCAI_OK : CCAI_ERR_NOMEM;
}

static CCAI_MUST_CHECK bool valid_key(const char *key)
{
    Ccai_acs_signed s;
    return key && *key &&
           Ccai_acs_sign(key, "GET", "/", "h", "d", NULL, 0, &s) != CCAI_ERR_INVALID_ARG;
}

static CCAI_MUST_CHECK bool valid_version(const char *v)
{
    for (size_t i = 0; v[i]; i++) {
        if (!Ccai_is_alpha((unsigned char)v[i]) && !Ccai_is_digit((unsigned char)v[i]) &&
            v[i] != '-' && v[i] != '.')
            return false;
    }
    return *v != '\0';
}

ccai_status Ccai_acs_rest_new(ccai_ctx *ctx, const Ccai_acs_rest_opts *opts, Ccai_acs_rest **ret)
{
    if (!ctx || !opts || !ret || !opts->endpoint || !valid_key(opts->access_key))
        return CCAI_ERR_INVALID_ARG;
    const char *cv = opts->call_api_version ? opts->call_api_version : CCAI_ACS_CALL_API_VERSION;
    const char *sv = opts->sms_api_version ? opts->sms_api_version : CCAI_ACS_SMS_API_VERSION;
    if (!valid_version(cv) || !valid_version(sv))
        return CCAI_ERR_INVALID_ARG;
    Ccai_acs_rest *c = Ccai_calloc(1, sizeof *c);
    if (!c)
        return CCAI_ERR_NOMEM;
    c->rest.ctx = ctx;
    ccai_status st = parse_endpoint(opts->endpoint, c);
    if (st != CCAI_OK) {
        Ccai_acs_rest_free(c);
        return st;
    }
    bool phone = opts->phone_number && *opts->phone_number;
    c->access_key = Ccai_strdup(opts->access_key);
    c->phone_number = phone ? Ccai_strdup(opts->phone_number) : NULL;
    c->call_api_version = Ccai_strdup(cv);
    c->sms_api_version = Ccai_strdup(sv);
    c->rest.max_attempts = opts->max_attempts > 0 ? opts->max_attempts : DEFAULT_ATTEMPTS;
    c->rest.base_backoff_ms = opts->base_backoff_ms ? opts->base_backoff_ms : DEFAULT_BACKOFF_MS;
    c->rest.max_backoff_ms = opts->max_backoff_ms ? opts->max_backoff_ms : DEFAULT_MAX_BACKOFF;
    c->rest.timeout_ms = opts->timeout_ms ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
    if (!c->access_key || (phone && !c->phone_number) || !c->call_api_version ||
        !c->sms_api_version) {
        Ccai_acs_rest_free(c);
        return CCAI_ERR_NOMEM;
    }
    *ret = c;
    return CCAI_OK;
}

ccai_status Ccai_acs_rest_from_config(ccai_ctx *ctx, const ccai_config *cfg, Ccai_acs_rest **ret)
{
    if (!ctx || !cfg || !ret)
        return CCAI_ERR_INVALID_ARG;
    Ccai_acs_rest_opts o = {
        .endpoint = Ccai_config_str(cfg, "communication_services.endpoint"),
        .access_key = Ccai_config_str(cfg, "communication_services.access_key"),
        .phone_number = Ccai_config_str(cfg, "communication_services.phone_number"),
    };
    const char *voice = Ccai_config_str(cfg, "communication_services.voice");
    if (voice && strcmp(voice, "stream") == 0)
        o.call_api_version = CCAI_ACS_STREAM_API_VERSION;
    if (!o.endpoint || !*o.endpoint || !o.access_key || !*o.access_key) {
        Ccai_ctx_set_error(ctx, "acs: communication_services.endpoint and "
                                "communication_services.access_key are required");
        return CCAI_ERR_CONFIG;
    }
    ccai_status st = Ccai_acs_rest_new(ctx, &o, ret);
    if (st == CCAI_ERR_INVALID_ARG) {
        Ccai_ctx_set_error(ctx, "acs: communication_services.endpoint must be https://host "
                                "and communication_services.access_key Base64");
        return CCAI_ERR_CONFIG;
    }
    return st;
}

void Ccai_acs_rest_free(Ccai_acs_rest *c)
{
    if (!c)
        return;
    Ccai_rest_client_cancel_all(&c->rest);
    ccai_free(c->base_url);
    ccai_free(c->host);
    ccai_free(c->base_path);
    if (c->access_key)
        OPENSSL_cleanse(c->access_key, strlen(c->access_key));
    ccai_free(c->access_key);
    ccai_free(c->phone_number);
    ccai_free(c->call_api_version);
    ccai_free(c->sms_api_version);
    ccai_free(c);
}

/* Operations: the encoding and the signature; their life is restop's. ----- */

static void op_free(Ccai_rest_op *base)
{
    Ccai_acs_op *op = (Ccai_acs_op *)base;
    ccai_free(op->target);
    ccai_free(op->url);
    ccai_free(op->body);
    ccai_free(op);
}

void Ccai_acs_op_cancel(Ccai_acs_op *op)
{
    Ccai_rest_op_cancel(op ? &op->base : NULL);
}

/* How an operation ended, for its callback. */
typedef struct outcome {
    ccai_status st;
    Ccai_acs_result res;
} outcome;

static void deliver(Ccai_rest_op *base, void *arg)
{
    Ccai_acs_op *op = (Ccai_acs_op *)base;
    outcome *o = arg;
    o->res.attempts = op->base.attempts;
    if (!o->res.body)
        o->res.body = "";
    op->cb(o->st, &o->res, op->ud);
}

static char *error_text(Ccai_rest_op *base, long status, const char *body, size_t len)
{
    CCAI_UNUSED(base);
    Ccai_json_err jerr;
    ccai_status jst;
    json_t *json = len ? Ccai_json_load(body, len, &jerr, &jst) : NULL;
    json_t *err = json_object_get(json, "error");
    const char *text = json_string_value(json_object_get(err, "message"));
    const char *code = json_string_value(json_object_get(err, "code"));
    char *excerpt = !text && len ? Ccai_printable_excerpt(body, len, ERROR_SNIPPET_MAX) : NULL;
    char *msg;
    if (code)
        msg = Ccai_asprintf("acs: HTTP %ld, %s: %s", status, code, text ? text : "no message");
    else if (text || excerpt)
        msg = Ccai_asprintf("acs: HTTP %ld: %s", status, text ? text : excerpt);
    else
        msg = Ccai_asprintf("acs: HTTP %ld without an error body", status);
    ccai_free(excerpt);
    json_decref(json);
    return msg;
}

static void failure(Ccai_rest_op *base, ccai_status st, long status, const char *body, size_t len,
                    const char *message)
{
    Ccai_json_err jerr;
    ccai_status jst;
    json_t *json = len ? Ccai_json_load(body, len, &jerr, &jst) : NULL;
    outcome o = {st, {.http_status = status, .json = json, .body = body, .error_message = message}};
    o.res.error_code = json_string_value(json_object_get(json_object_get(json, "error"), "code"));
    Ccai_rest_op_complete(base, deliver, &o);
    json_decref(json);
}

static const char *reply_id_of(reply_id kind, const json_t *json)
{
    switch (kind) {
    case ID_CALL: return json_string_value(json_object_get(json, "callConnectionId"));
    case ID_RECORDING: return json_string_value(json_object_get(json, "recordingId"));
    case ID_SMS: {
        json_t *first = json_array_get(json_object_get(json, "value"), 0);
        return json_string_value(json_object_get(first, "messageId"));
    }
    case ID_NONE: break;
    }
    return NULL;
}

/* The SMS API answers 202 for the request and says in it how each
 * recipient fared: {"value":[{"httpStatusCode","successful",
 * "repeatabilityResult","errorMessage"}]}. A recipient the service could
 * not serve now (429, 5xx) is tried again with the same body; others are
 * final. Returns true when it took care of the reply. */
static CCAI_MUST_CHECK bool sms_refused(Ccai_acs_op *op, const json_t *json, const char *body)
{
    const json_t *first = json_array_get(json_object_get(json, "value"), 0);
    if (!first || json_is_true(json_object_get(first, "successful")))
        return false;
    long code = (long)json_integer_value(json_object_get(first, "httpStatusCode"));
    const char *why = json_string_value(json_object_get(first, "errorMessage"));
    const char *repeat = json_string_value(json_object_get(first, "repeatabilityResult"));
    bool again = code == 429 || code >= 500;
    if (again)
        Ccai_log(Ccai_ctx_logger(op->client->rest.ctx), CCAI_LOG_WARN,
                 "acs: SMS: recipient %ld: %s", code, why ? why : "no message");
    char *msg = Ccai_asprintf("acs: SMS refused for the recipient: HTTP %ld%s%s%s%s", code,
                              repeat ? ", repeatability " : "", repeat ? repeat : "",
                              why ? ": " : "", why ? why : "");
    const char *text = msg ? msg : "acs: SMS refused for the recipient";
    if (again)
        Ccai_rest_op_retry(&op->base, -1, CCAI_ERR_HTTP, code, body, text);
    else
        failure(&op->base, CCAI_ERR_HTTP, code, body, strlen(body), text);
    ccai_free(msg);
    return true;
}

static void success(Ccai_rest_op *base, long status, const char *body, size_t len)
{
    Ccai_acs_op *op = (Ccai_acs_op *)base;
    Ccai_json_err jerr;
    ccai_status jst = CCAI_OK;
    json_t *json = len ? Ccai_json_load(body, len, &jerr, &jst) : NULL;
    if (op->expect == ID_SMS && sms_refused(op, json, body)) {
        json_decref(json);
        return;
    }
    outcome o = {CCAI_OK, {.http_status = status, .json = json, .body = body}};
    o.res.id = reply_id_of(op->expect, json);
    if (len && !json && jst == CCAI_ERR_NOMEM) {
        o.st = CCAI_ERR_NOMEM;
        o.res.error_message = "acs: out of memory";
    } else if (len && !json) {
        o.st = CCAI_ERR_PARSE;
        o.res.error_message = "acs: the reply is not JSON";
    } else if (op->expect != ID_NONE && !o.res.id) {
        o.st = CCAI_ERR_PARSE;
        o.res.error_message = op->expect == ID_CALL ? "acs: the reply carries no callConnectionId"
                              : op->expect == ID_RECORDING ? "acs: the reply carries no recordingId"
                                                           : "acs: the reply carries no messageId";
    }
    Ccai_rest_op_complete(base, deliver, &o);
    json_decref(json);
}

/* Sign afresh (a new x-ms-date) and send one attempt. */
static CCAI_MUST_CHECK ccai_status send_attempt(Ccai_rest_op *base)
{
    Ccai_acs_op *op = (Ccai_acs_op *)base;
    Ccai_acs_rest *c = op->client;
    char date[32];
    Ccai_acs_signed sig;
    size_t body_len = strlen(op->body);
    Ccai_acs_format_date(Ccai_wall_ms(), date);
    ccai_status st = Ccai_acs_sign(c->access_key, op->method, op->target, c->host, date, op->body,
                                   body_len, &sig);
    if (st != CCAI_OK)
        return st;
    char *h_date = Ccai_asprintf("x-ms-date: %s", sig.date);
    char *h_hash = Ccai_asprintf("x-ms-content-sha256: %s", sig.content_hash);
    char *h_auth = Ccai_asprintf("Authorization: %s", sig.authorization);
    bool repeat = op->repeat == REPEAT_HEADERS;
    char *h_rid = repeat ? Ccai_asprintf("Repeatability-Request-ID: %s", op->repeat_id) : NULL;
    char *h_rfs =
        repeat ? Ccai_asprintf("Repeatability-First-Sent: %s", op->repeat_first_sent) : NULL;
    if (!h_date || !h_hash || !h_auth || (repeat && (!h_rid || !h_rfs))) {
        st = CCAI_ERR_NOMEM;
        goto out;
    }
    const char *headers[] = {
        h_date, h_hash, h_auth, "Content-Type: application/json", "Accept: application/json",
        h_rid,  h_rfs,  NULL,
    };
    Ccai_http_opts o = {
        .method = op->method,
        .url = op->url,
        .headers = headers,
        .body = op->body,
        .body_len = body_len,
    };
    st = Ccai_rest_op_http(&op->base, &o);
out:
    ccai_free(h_date);
    ccai_free(h_hash);
    if (h_auth)
        OPENSSL_cleanse(h_auth, strlen(h_auth));
    ccai_free(h_auth);
    ccai_free(h_rid);
    ccai_free(h_rfs);
    return st;
}

static const Ccai_rest_class acs_ops = {
    .tag = "acs",
    .send = send_attempt,
    .success = success,
    .error_text = error_text,
    .failure = failure,
    .free = op_free,
};

/* Start method {base}{path}?api-version=v with the JSON body (taken; NULL
 * for an empty body). */
static CCAI_MUST_CHECK ccai_status op_start(Ccai_acs_rest *c, const char *method, const char *path,
                                            const char *version, json_t *body, reply_id expect,
                                            repeat_mode repeat, Ccai_acs_done_fn cb, void *ud,
                                            Ccai_acs_op **ret)
{
    Ccai_acs_op *op = Ccai_calloc(1, sizeof *op);
    if (!op) {
        json_decref(body);
        return CCAI_ERR_NOMEM;
    }
    op->body = body ? Ccai_json_dump(body, JSON_COMPACT) : Ccai_strdup("");
    json_decref(body);
    op->method = method;
    op->target = Ccai_asprintf("%s%s?api-version=%s", c->base_path, path, version);
    op->url = op->target ? Ccai_asprintf("%s%s", c->base_url, op->target) : NULL;
    op->client = c;
    op->expect = expect;
    op->repeat = repeat;
    op->cb = cb;
    op->ud = ud;
    ccai_status st = op->body && op->url ? CCAI_OK : CCAI_ERR_NOMEM;
    if (st == CCAI_OK && repeat == REPEAT_HEADERS) {
        if (Ccai_uuid4(op->repeat_id))
            Ccai_acs_format_date(Ccai_wall_ms(), op->repeat_first_sent);
        else
            st = CCAI_ERR_INTERNAL;
    }
    if (st != CCAI_OK) {
        op_free(&op->base);
        return st;
    }
    /* A transport failure is tried again only when ACS recognises the
     * repeat (repeatability headers, or the SMS body's): it may have
     * reached ACS. */
    st = Ccai_rest_op_start(&c->rest, &op->base, &acs_ops, repeat != REPEAT_NO);
    if (st == CCAI_OK && ret)
        *ret = op;
    return st;
}

/* Request bodies ------------------------------------------------------------ */

/* Builds a JSON object, remembering any failure so that callers check once. */
typedef struct builder {
    bool nomem;
} builder;

static json_t *obj(builder *b)
{
    json_t *o = json_object();
    if (!o)
        b->nomem = true;
    return o;
}

static void put(builder *b, json_t *o, const char *key, json_t *v)
{
    /* json_object_set_new() takes v even when it fails. */
    if (!o) {
        json_decref(v);
        b->nomem = true;
    } else if (json_object_set_new(o, key, v) != 0) {
        b->nomem = true;
    }
}

static void put_str(builder *b, json_t *o, const char *key, const char *s)
{
    if (s)
        put(b, o, key, json_string(s));
}

static void append(builder *b, json_t *a, json_t *v)
{
    if (!a) {
        json_decref(v);
        b->nomem = true;
    } else if (json_array_append_new(a, v) != 0) {
        b->nomem = true;
    }
}

static json_t *arr(builder *b)
{
    json_t *a = json_array();
    if (!a)
        b->nomem = true;
    return a;
}

static CCAI_MUST_CHECK bool valid_phone(const char *s)
{
    if (s[0] != '+' || !s[1] || strlen(s) > 32)
        return false;
    for (const char *p = s + 1; *p; p++) {
        if (!Ccai_is_digit((unsigned char)*p))
            return false;
    }
    return true;
}

static CCAI_MUST_CHECK bool valid_participant(const char *s)
{
    if (!s)
        return false;
    if (s[0] == '+')
        return valid_phone(s);
    if (strncmp(s, "8:", 2) != 0 || !s[2] || strlen(s) > ID_MAX)
        return false;
    for (const char *p = s; *p; p++) {
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return false;
    }
    return true;
}

/* The CommunicationIdentifierModel of a valid participant. */
static json_t *identifier(builder *b, const char *s)
{
    json_t *o = obj(b), *inner = obj(b);
    bool phone = s[0] == '+';
    put_str(b, o, "kind", phone ? "phoneNumber" : "communicationUser");
    put_str(b, inner, phone ? "value" : "id", s);
    put(b, o, phone ? "phoneNumber" : "communicationUser", inner);
    return o;
}

static json_t *phone_model(builder *b, const char *number)
{
    json_t *o = obj(b);
    put_str(b, o, "value", number);
    return o;
}

static CCAI_MUST_CHECK bool valid_id(const char *s)
{
    size_t n = 0;
    if (!s)
        return false;
    for (; s[n]; n++) {
        unsigned char ch = (unsigned char)s[n];
        if (!Ccai_is_alpha(ch) && !Ccai_is_digit(ch) && !strchr("-_.", ch))
            return false;
    }
    return n > 0 && n <= ID_MAX;
}

static CCAI_MUST_CHECK ccai_status built(builder *b, json_t *body)
{
    if (b->nomem || !body) {
        json_decref(body);
        return CCAI_ERR_NOMEM;
    }
    return CCAI_OK;
}

/* mediaStreamingOptions exactly as the REST API spells it (2025-06-15:
 * audioFormat pcm16KMono / pcm24KMono; the SDKs' spellings differ). */
static void put_streaming(builder *b, json_t *o, const Ccai_acs_streaming *s)
{
    if (!s->transport_url)
        return;
    json_t *m = obj(b);
    put_str(b, m, "transportType", "websocket");
    put_str(b, m, "transportUrl", s->transport_url);
    put_str(b, m, "contentType", "audio");
    put_str(b, m, "audioChannelType", s->unmixed ? "unmixed" : "mixed");
    put(b, m, "startMediaStreaming", json_boolean(s->start));
    put(b, m, "enableBidirectional", json_boolean(s->bidirectional));
    put_str(b, m, "audioFormat", s->sample_rate == 24000 ? "pcm24KMono" : "pcm16KMono");
    put(b, m, "enableDtmfTones", json_boolean(s->dtmf));
    put(b, o, "mediaStreamingOptions", m);
}

static CCAI_MUST_CHECK bool valid_streaming(const Ccai_acs_streaming *s)
{
    return !s->transport_url || (strncmp(s->transport_url, "wss://", 6) == 0 &&
                                 (s->sample_rate == 16000 || s->sample_rate == 24000));
}

static void put_intelligence(builder *b, json_t *o, const char *endpoint)
{
    if (!endpoint)
        return;
    json_t *ci = obj(b);
    put_str(b, ci, "cognitiveServicesEndpoint", endpoint);
    put(b, o, "callIntelligenceOptions", ci);
}

ccai_status Ccai_acs_call_answer(Ccai_acs_rest *c, const Ccai_acs_answer_params *p,
                                 Ccai_acs_done_fn cb, void *ud, Ccai_acs_op **ret)
{
    if (!c || !p || !cb || !p->incoming_call_context || !*p->incoming_call_context ||
        !p->callback_uri || !*p->callback_uri || !valid_streaming(&p->streaming))
        return CCAI_ERR_INVALID_ARG;
    builder b = {0};
    json_t *body = obj(&b);
    put_str(&b, body, "incomingCallContext", p->incoming_call_context);
    put_str(&b, body, "callbackUri", p->callback_uri);
    put_str(&b, body, "operationContext", p->operation_context);
    put_intelligence(&b, body, p->cognitive_services_endpoint);
    put_streaming(&b, body, &p->streaming);
    if (built(&b, body) != CCAI_OK)
        return CCAI_ERR_NOMEM;
    return op_start(c, "POST", "/calling/callConnections:answer", c->call_api_version, body,
                    ID_CALL, REPEAT_HEADERS, cb, ud, ret);
}

ccai_status Ccai_acs_call_create(Ccai_acs_rest *c, const Ccai_acs_create_params *p,
                                 Ccai_acs_done_fn cb, void *ud, Ccai_acs_op **ret)
{
    if (!c || !p || !cb || !valid_participant(p->target) || !p->callback_uri || !*p->callback_uri ||
        !valid_streaming(&p->streaming))
        return CCAI_ERR_INVALID_ARG;
    const char *caller = p->source_caller_id ? p->source_caller_id : c->phone_number;
    if (caller && !valid_phone(caller))
        return CCAI_ERR_INVALID_ARG;
    if (!caller && p->target[0] == '+')
        return CCAI_ERR_INVALID_ARG; /* PSTN calls need a caller ID */
    builder b = {0};
    json_t *body = obj(&b), *targets = arr(&b);
    append(&b, targets, identifier(&b, p->target));
    put(&b, body, "targets", targets);
    put_str(&b, body, "callbackUri", p->callback_uri);
    if (caller)
        put(&b, body, "sourceCallerIdNumber", phone_model(&b, caller));
    put_str(&b, body, "sourceDisplayName", p->source_display_name);
    put_str(&b, body, "operationContext", p->operation_context);
    put_intelligence(&b, body, p->cognitive_services_endpoint);
    put_streaming(&b, body, &p->streaming);
    if (built(&b, body) != CCAI_OK)
        return CCAI_ERR_NOMEM;
    return op_start(c, "POST", "/calling/callConnections", c->call_api_version, body, ID_CALL,
                    REPEAT_HEADERS, cb, ud, ret);
}

/* A text or SSML play source; NULL (with b->nomem) on NOMEM. */
static json_t *play_source(builder *b, const char *ssml, const char *text, const char *voice)
{
    json_t *src = obj(b), *inner = obj(b);
    if (ssml) {
        put_str(b, src, "kind", "ssml");
        put_str(b, inner, "ssmlText", ssml);
        put(b, src, "ssml", inner);
    } else {
        put_str(b, src, "kind", "text");
        put_str(b, inner, "text", text);
        put_str(b, inner, "voiceName", voice);
        put(b, src, "text", inner);
    }
    return src;
}

static CCAI_MUST_CHECK ccai_status media_start(Ccai_acs_rest *c, const char *id, const char *verb,
                                               json_t *body, builder *b, Ccai_acs_done_fn cb,
                                               void *ud, Ccai_acs_op **ret)
{
    if (built(b, body) != CCAI_OK)
        return CCAI_ERR_NOMEM;
    char *path = Ccai_asprintf("/calling/callConnections/%s:%s", id, verb);
    if (!path) {
        json_decref(body);
        return CCAI_ERR_NOMEM;
    }
    repeat_mode repeat = strcmp(verb, "transferToParticipant") == 0 ? REPEAT_HEADERS : REPEAT_NO;
    ccai_status st =
        op_start(c, "POST", path, c->call_api_version, body, ID_NONE, repeat, cb, ud, ret);
    ccai_free(path);
    return st;
}

ccai_status Ccai_acs_play(Ccai_acs_rest *c, const char *id, const Ccai_acs_play_params *p,
                          Ccai_acs_done_fn cb, void *ud, Ccai_acs_op **ret)
{
    if (!c || !p || !cb || !valid_id(id) || (!p->ssml == !p->text) ||
        (p->ssml ? !*p->ssml : !*p->text) || (p->play_to && !valid_participant(p->play_to)))
        return CCAI_ERR_INVALID_ARG;
    builder b = {0};
    json_t *body = obj(&b), *sources = arr(&b), *opts = obj(&b);
    append(&b, sources, play_source(&b, p->ssml, p->text, p->voice_name));
    put(&b, body, "playSources", sources);
    if (p->play_to) {
        json_t *to = arr(&b);
        append(&b, to, identifier(&b, p->play_to));
        put(&b, body, "playTo", to);
    }
    put(&b, body, "interruptCallMediaOperation", json_boolean(p->interrupt));
    put(&b, opts, "loop", json_boolean(p->loop));
    put(&b, body, "playOptions", opts);
    put_str(&b, body, "operationContext", p->operation_context);
    put_str(&b, body, "operationCallbackUri", p->operation_callback_uri);
    return media_start(c, id, "play", body, &b, cb, ud, ret);
}

static CCAI_MUST_CHECK bool valid_tone(const char *t)
{
    static const char *const tones[] = {"zero", "one",   "two",   "three",   "four", "five",
                                        "six",  "seven", "eight", "nine",    "a",    "b",
                                        "c",    "d",     "pound", "asterisk"};
    for (size_t i = 0; t && i < CCAI_ARRAY_SIZE(tones); i++) {
        if (strcmp(t, tones[i]) == 0)
            return true;
    }
    return false;
}

static CCAI_MUST_CHECK bool valid_recognize(const Ccai_acs_recognize_params *p)
{
    if (!valid_participant(p->target) || (unsigned)p->kind > CCAI_ACS_RECOGNIZE_CHOICES ||
        p->initial_silence_timeout_s < 0 || p->initial_silence_timeout_s > 300 ||
        p->end_silence_timeout_ms < 0 || p->max_tones < 0 || p->inter_tone_timeout_s < 0 ||
        p->inter_tone_timeout_s > 60)
        return false;
    for (size_t i = 0; p->stop_tones && p->stop_tones[i]; i++) {
        if (!valid_tone(p->stop_tones[i]))
            return false;
    }
    if (p->kind == CCAI_ACS_RECOGNIZE_CHOICES && (!p->choices || p->n_choices == 0))
        return false;
    for (size_t i = 0; p->kind == CCAI_ACS_RECOGNIZE_CHOICES && i < p->n_choices; i++) {
        const Ccai_acs_choice *ch = &p->choices[i];
        if (!ch->label || !*ch->label || !ch->phrases || !ch->phrases[0] ||
            (ch->tone && !valid_tone(ch->tone)))
            return false;
    }
    return true;
}

static json_t *str_array(builder *b, const char *const *v)
{
    json_t *a = arr(b);
    for (size_t i = 0; v && v[i]; i++)
        append(b, a, json_string(v[i]));
    return a;
}

ccai_status Ccai_acs_recognize(Ccai_acs_rest *c, const char *id, const Ccai_acs_recognize_params *p,
                               Ccai_acs_done_fn cb, void *ud, Ccai_acs_op **ret)
{
    static const char *const kinds[] = {"speech", "dtmf", "speechOrDtmf", "choices"};
    if (!c || !p || !cb || !valid_id(id) || !valid_recognize(p))
        return CCAI_ERR_INVALID_ARG;
    bool speech = p->kind != CCAI_ACS_RECOGNIZE_DTMF;
    bool dtmf = p->kind == CCAI_ACS_RECOGNIZE_DTMF || p->kind == CCAI_ACS_RECOGNIZE_SPEECH_OR_DTMF;
    builder b = {0};
    json_t *body = obj(&b), *o = obj(&b);
    put_str(&b, body, "recognizeInputType", kinds[p->kind]);
    if (p->prompt_ssml || p->prompt_text)
        put(&b, body, "playPrompt", play_source(&b, p->prompt_ssml, p->prompt_text, p->voice_name));
    put(&b, body, "interruptCallMediaOperation", json_boolean(p->interrupt_call_media));
    put(&b, o, "targetParticipant", identifier(&b, p->target));
    put(&b, o, "interruptPrompt", json_boolean(p->interrupt_prompt));
    if (p->initial_silence_timeout_s)
        put(&b, o, "initialSilenceTimeoutInSeconds", json_integer(p->initial_silence_timeout_s));
    if (speech)
        put_str(&b, o, "speechLanguage", p->speech_language);
    if (speech && p->end_silence_timeout_ms) {
        json_t *so = obj(&b);
        put(&b, so, "endSilenceTimeoutInMs", json_integer(p->end_silence_timeout_ms));
        put(&b, o, "speechOptions", so);
    }
    if (dtmf) {
        json_t *d = obj(&b);
        if (p->inter_tone_timeout_s)
            put(&b, d, "interToneTimeoutInSeconds", json_integer(p->inter_tone_timeout_s));
        if (p->max_tones)
            put(&b, d, "maxTonesToCollect", json_integer(p->max_tones));
        if (p->stop_tones)
            put(&b, d, "stopTones", str_array(&b, p->stop_tones));
        put(&b, o, "dtmfOptions", d);
    }
    if (p->kind == CCAI_ACS_RECOGNIZE_CHOICES) {
        json_t *choices = arr(&b);
        for (size_t i = 0; i < p->n_choices; i++) {
            json_t *ch = obj(&b);
            put_str(&b, ch, "label", p->choices[i].label);
            put(&b, ch, "phrases", str_array(&b, p->choices[i].phrases));
            put_str(&b, ch, "tone", p->choices[i].tone);
            append(&b, choices, ch);
        }
        put(&b, o, "choices", choices);
    }
    put(&b, body, "recognizeOptions", o);
    put_str(&b, body, "operationContext", p->operation_context);
    put_str(&b, body, "operationCallbackUri", p->operation_callback_uri);
    return media_start(c, id, "recognize", body, &b, cb, ud, ret);
}

ccai_status Ccai_acs_transfer(Ccai_acs_rest *c, const char *id, const Ccai_acs_transfer_params *p,
                              Ccai_acs_done_fn cb, void *ud, Ccai_acs_op **ret)
{
    if (!c || !p || !cb || !valid_id(id) || !valid_participant(p->target) ||
        (p->transferee && !valid_participant(p->transferee)) ||
        (p->source_caller_id && !valid_phone(p->source_caller_id)))
        return CCAI_ERR_INVALID_ARG;
    builder b = {0};
    json_t *body = obj(&b);
    put(&b, body, "targetParticipant", identifier(&b, p->target));
    if (p->transferee)
        put(&b, body, "transferee", identifier(&b, p->transferee));
    put_str(&b, body, "operationContext", p->operation_context);
    put_str(&b, body, "operationCallbackUri", p->operation_callback_uri);
    if (p->source_caller_id)
        put(&b, body, "sourceCallerIdNumber", phone_model(&b, p->source_caller_id));
    return media_start(c, id, "transferToParticipant", body, &b, cb, ud, ret);
}

ccai_status Ccai_acs_hang_up(Ccai_acs_rest *c, const char *id, bool for_everyone,
                             Ccai_acs_done_fn cb, void *ud, Ccai_acs_op **ret)
{
    if (!c || !cb || !valid_id(id))
        return CCAI_ERR_INVALID_ARG;
    char *path =
        Ccai_asprintf("/calling/callConnections/%s%s", id, for_everyone ? ":terminate" : "");
    if (!path)
        return CCAI_ERR_NOMEM;
    ccai_status st = op_start(c, for_everyone ? "POST" : "DELETE", path, c->call_api_version, NULL,
                              ID_NONE, REPEAT_HEADERS, cb, ud, ret);
    ccai_free(path);
    return st;
}

ccai_status Ccai_acs_media_streaming(Ccai_acs_rest *c, const char *id, bool start,
                                     const char *operation_context,
                                     const char *operation_callback_uri, Ccai_acs_done_fn cb,
                                     void *ud, Ccai_acs_op **ret)
{
    if (!c || !cb || !valid_id(id))
        return CCAI_ERR_INVALID_ARG;
    builder b = {0};
    json_t *body = obj(&b);
    put_str(&b, body, "operationContext", operation_context);
    put_str(&b, body, "operationCallbackUri", operation_callback_uri);
    /* Not retried after a transport failure (no repeatability headers on
     * these verbs): a start that reached ACS is reported by its event. */
    return media_start(c, id, start ? "startMediaStreaming" : "stopMediaStreaming", body, &b, cb,
                       ud, ret);
}

static CCAI_MUST_CHECK bool one_of(const char *v, const char *a, const char *b2, const char *c3)
{
    return !v || strcmp(v, a) == 0 || strcmp(v, b2) == 0 || (c3 && strcmp(v, c3) == 0);
}

ccai_status Ccai_acs_cancel_media(Ccai_acs_rest *c, const char *id, Ccai_acs_done_fn cb, void *ud,
                                  Ccai_acs_op **ret)
{
    if (!c || !cb || !valid_id(id))
        return CCAI_ERR_INVALID_ARG;
    char *path = Ccai_asprintf("/calling/callConnections/%s:cancelAllMediaOperations", id);
    if (!path)
        return CCAI_ERR_NOMEM;
    /* Not retried after a transport failure: a late duplicate could cancel
     * what was queued since. */
    ccai_status st =
        op_start(c, "POST", path, c->call_api_version, NULL, ID_NONE, REPEAT_NO, cb, ud, ret);
    ccai_free(path);
    return st;
}

ccai_status Ccai_acs_recording_start(Ccai_acs_rest *c, const Ccai_acs_recording_params *p,
                                     Ccai_acs_done_fn cb, void *ud, Ccai_acs_op **ret)
{
    if (!c || !p || !cb || !p->server_call_id || !*p->server_call_id ||
        !one_of(p->content_type, "audio", "audioVideo", NULL) ||
        !one_of(p->channel_type, "mixed", "unmixed", NULL) ||
        !one_of(p->format_type, "wav", "mp3", "mp4"))
        return CCAI_ERR_INVALID_ARG;
    builder b = {0};
    json_t *body = obj(&b), *loc = obj(&b);
    put_str(&b, loc, "kind", "serverCallLocator");
    put_str(&b, loc, "serverCallId", p->server_call_id);
    put(&b, body, "callLocator", loc);
    put_str(&b, body, "recordingStateCallbackUri", p->state_callback_uri);
    put_str(&b, body, "recordingContentType", p->content_type ? p->content_type : "audio");
    put_str(&b, body, "recordingChannelType", p->channel_type ? p->channel_type : "mixed");
    put_str(&b, body, "recordingFormatType", p->format_type ? p->format_type : "wav");
    if (p->container_url && *p->container_url) {
        json_t *ext = obj(&b);
        put_str(&b, ext, "recordingStorageKind", "azureBlobStorage");
        put_str(&b, ext, "recordingDestinationContainerUrl", p->container_url);
        put(&b, body, "externalStorage", ext);
    }
    if (built(&b, body) != CCAI_OK)
        return CCAI_ERR_NOMEM;
    return op_start(c, "POST", "/calling/recordings", c->call_api_version, body, ID_RECORDING,
                    REPEAT_HEADERS, cb, ud, ret);
}

/* 36 characters: hexadecimal digits and hyphens in the 8-4-4-4-12 groups. */
static CCAI_MUST_CHECK bool valid_uuid(const char *s)
{
    for (size_t i = 0; i < 36; i++) {
        bool hyphen = i == 8 || i == 13 || i == 18 || i == 23;
        unsigned char ch = (unsigned char)s[i];
        bool hex = Ccai_is_digit(ch) || (Ccai_to_lower(ch) >= 'a' && Ccai_to_lower(ch) <= 'f');
        if (hyphen ? ch != '-' : !hex)
            return false;
    }
    return s[36] == '\0';
}

ccai_status Ccai_acs_sms_send(Ccai_acs_rest *c, const Ccai_acs_sms_params *p, Ccai_acs_done_fn cb,
                              void *ud, Ccai_acs_op **ret)
{
    if (!c || !p || !cb || !p->to || !valid_phone(p->to) || !p->message)
        return CCAI_ERR_INVALID_ARG;
    const char *from = p->from ? p->from : c->phone_number;
    if (!from || !*from)
        return CCAI_ERR_INVALID_ARG;
    if (!p->repeat_id != !p->repeat_first_sent || (p->repeat_id && !valid_uuid(p->repeat_id)) ||
        (p->repeat_first_sent && (!*p->repeat_first_sent || strlen(p->repeat_first_sent) > 31)))
        return CCAI_ERR_INVALID_ARG;
    char rid[37], first[32];
    if (p->repeat_id) {
        snprintf(rid, sizeof rid, "%s", p->repeat_id);
        snprintf(first, sizeof first, "%s", p->repeat_first_sent);
    } else if (Ccai_uuid4(rid)) {
        Ccai_acs_format_date(Ccai_wall_ms(), first);
    } else {
        return CCAI_ERR_INTERNAL;
    }
    builder b = {0};
    json_t *body = obj(&b), *recipients = arr(&b), *to = obj(&b), *opts = obj(&b);
    put_str(&b, body, "from", from);
    put_str(&b, to, "to", p->to);
    /* Per recipient, in the body, as the SMS API takes them (and Azure's
     * SDKs send them): a repeat with the same pair is answered, not sent
     * again. */
    put_str(&b, to, "repeatabilityRequestId", rid);
    put_str(&b, to, "repeatabilityFirstSent", first);
    append(&b, recipients, to);
    put(&b, body, "smsRecipients", recipients);
    put_str(&b, body, "message", p->message);
    put(&b, opts, "enableDeliveryReport", json_boolean(p->delivery_report));
    put_str(&b, opts, "tag", p->tag);
    put(&b, body, "smsSendOptions", opts);
    if (built(&b, body) != CCAI_OK)
        return CCAI_ERR_NOMEM;
    return op_start(c, "POST", "/sms", c->sms_api_version, body, ID_SMS, REPEAT_BODY, cb, ud, ret);
}
