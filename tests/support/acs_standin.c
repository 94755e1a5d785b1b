/* A local ACS stand-in that checks HMAC signatures (see the header). */
#include "support/acs_standin.h"
#include "support/wire.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define HEAD_MAX      (16 * 1024)
#define BODY_MAX      (1024 * 1024)
#define MAX_SKEW_SECS (15 * 60)
/* How long ACS tracks a repeatable request (Learn, "Repeatable requests"). */
#define REPEAT_WINDOW_SECS (5 * 60)

/* A recipient of an SMS the service executed: what a repeat with the same
 * repeatabilityRequestId is compared with, and answered with. */
typedef struct sms_rec {
    char rid[40]; /* "" when the request was not repeatable */
    char *from, *to, *message;
    char message_id[96];
    int status; /* the recipient's httpStatusCode */
    int sent;   /* handed to the carrier */
} sms_rec;

typedef struct logged {
    char method[16];
    char *target;
    char *head;
    char *body;
    size_t body_len;
    json_t *json;
    int status;
    char auth_error[128];
    char created[64];        /* callConnectionId this request created, or "" */
    unsigned long long t_ns; /* arrival, CLOCK_MONOTONIC */
} logged;

struct acs_standin {
    int listen_fd;
    int wake[2];
    int port;
    char url[64], host[64];
    unsigned char key[512];
    int key_len;
    pthread_t thread;
    pthread_mutex_t lock;
    logged *log;
    int n_log, cap_log;
    acs_standin_fault *faults;
    int n_faults, cap_faults;
    char **calls; /* live call connection ids */
    int n_calls, cap_calls;
    unsigned long long seed, counter;
    char created[64];    /* set by route_connect for the request being served */
    EVP_PKEY *sign_key;  /* signs callback tokens; public half in the key set */
    EVP_PKEY *forge_key; /* same kid, not published: forged tokens */
    char *jwks;
    int key_fetches;
    sms_rec *sms;
    int n_sms, cap_sms;
    int forced_sms_status;                     /* set by a fault for the request being served */
    char created_server[64], created_corr[64]; /* with created */
    acs_standin_hook hook;
    void *hook_ud;
};

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* Replies --------------------------------------------------------------------- */

static int reply(int fd, int status, const char *content_type, const char *extra, const char *body)
{
    char head[512];
    size_t blen = body ? strlen(body) : 0;
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\n%s%s%sContent-Length: %zu\r\n"
                     "x-ms-client-request-id: standin\r\nConnection: close\r\n%s\r\n",
                     status, wire_reason(status), blen ? "Content-Type: " : "",
                     blen ? content_type : "", blen ? "\r\n" : "", blen, extra ? extra : "");
    if (n > 0 && (size_t)n < sizeof head && wire_write_all(fd, head, (size_t)n) == 0 && blen)
        wire_write_all(fd, body, blen);
    return status;
}

static int reply_json(int fd, int status, json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    reply(fd, status, "application/json; charset=utf-8", NULL, text ? text : "{}");
    free(text);
    json_decref(j);
    return status;
}

static int reply_error(int fd, int status, const char *code, const char *message, const char *extra)
{
    json_t *j = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", message);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    reply(fd, status, "application/json; charset=utf-8", extra, text ? text : "{}");
    free(text);
    json_decref(j);
    return status;
}

/* Headers and requests -------------------------------------------------------------- */

static char *header_dup(const char *head, const char *name)
{
    size_t n = 0;
    const char *v = wire_find_header(head, name, &n);
    return v ? strndup(v, n) : NULL;
}

static int read_request(int fd, logged *r)
{
    wire_request w;
    if (wire_read_request(fd, &w, HEAD_MAX, BODY_MAX) != 0)
        return -1;
    memcpy(r->method, w.method, sizeof r->method);
    r->target = w.target;
    r->head = w.head;
    r->body = w.body;
    r->body_len = w.body_len;
    return 0;
}

/* Signature check: an implementation independent of libccai's. */
static void b64(const unsigned char *data, size_t n, char *out)
{
    EVP_EncodeBlock((unsigned char *)out, data, (int)n);
}

static int date_fresh(const char *date)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end || *end)
        return 0;
    time_t t = timegm(&tm), now = time(NULL);
    return t != (time_t)-1 && (t > now ? t - now : now - t) <= MAX_SKEW_SECS;
}

#define AUTH_PREFIX "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature="

/* Empty string when the request is signed correctly, else the reason. */
static const char *check_signature(acs_standin *s, const logged *r)
{
    char date[128] = "", hash[128] = "", host[128] = "", auth[256] = "";
    struct {
        const char *name;
        char *out;
        size_t size;
    } want[] = {{"x-ms-date", date, sizeof date},
                {"x-ms-content-sha256", hash, sizeof hash},
                {"Host", host, sizeof host},
                {"Authorization", auth, sizeof auth}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        size_t n = 0;
        const char *v = wire_find_header(r->head, want[i].name, &n);
        if (!v || n >= want[i].size)
            return i == 0   ? "missing x-ms-date"
                   : i == 1 ? "missing x-ms-content-sha256"
                   : i == 2 ? "missing Host"
                            : "missing Authorization";
        memcpy(want[i].out, v, n);
        want[i].out[n] = '\0';
    }
    if (!date_fresh(date))
        return "x-ms-date is malformed or more than 15 minutes off";
    unsigned char md[32];
    char computed[64];
    SHA256((const unsigned char *)r->body, r->body_len, md);
    b64(md, 32, computed);
    if (strlen(hash) != 44 || CRYPTO_memcmp(hash, computed, 44) != 0)
        return "x-ms-content-sha256 does not match the body";
    if (strncmp(auth, AUTH_PREFIX, strlen(AUTH_PREFIX)) != 0)
        return "Authorization is not HMAC-SHA256 over x-ms-date;host;x-ms-content-sha256";
    size_t len = strlen(r->method) + strlen(r->target) + strlen(date) + strlen(host) + 44 + 8;
    char *msg = malloc(len);
    if (!msg)
        return "stand-in out of memory";
    snprintf(msg, len, "%s\n%s\n%s;%s;%s", r->method, r->target, date, host, computed);
    unsigned char mac[32];
    unsigned int mac_len = 0;
    HMAC(EVP_sha256(), s->key, s->key_len, (const unsigned char *)msg, strlen(msg), mac, &mac_len);
    free(msg);
    b64(mac, 32, computed);
    const char *sig = auth + strlen(AUTH_PREFIX);
    if (mac_len != 32 || strlen(sig) != 44 || CRYPTO_memcmp(sig, computed, 44) != 0)
        return "signature mismatch";
    return "";
}

/* Routes (the lock is held) ----------------------------------------------------------- */

static void new_id(acs_standin *s, const char *prefix, char *out, size_t n)
{
    s->counter++;
    snprintf(out, n, "%s%08llx-%04llx-4%03llx-a%03llx-%012llx", prefix, s->seed & 0xffffffffu,
             s->counter & 0xffff, s->counter & 0xfff, (s->seed >> 32) & 0xfff, s->counter);
}

static int find_call(acs_standin *s, const char *id)
{
    for (int i = 0; i < s->n_calls; i++) {
        if (strcmp(s->calls[i], id) == 0)
            return i;
    }
    return -1;
}

static void add_call(acs_standin *s, const char *id)
{
    if (s->n_calls == s->cap_calls) {
        int cap = s->cap_calls ? 2 * s->cap_calls : 8;
        char **v = realloc(s->calls, (size_t)cap * sizeof *v);
        if (!v)
            return;
        s->calls = v;
        s->cap_calls = cap;
    }
    char *d = strdup(id);
    if (d)
        s->calls[s->n_calls++] = d;
}

static void end_call(acs_standin *s, int i)
{
    free(s->calls[i]);
    s->calls[i] = s->calls[--s->n_calls];
}

static int bad_request(int fd, const char *message)
{
    return reply_error(fd, 400, "BadRequest", message, NULL);
}

static int call_not_found(int fd)
{
    return reply_error(fd, 404, "8522", "Call not found.", NULL);
}

static int route_connect(acs_standin *s, int fd, json_t *j, int answer)
{
    json_t *cb = json_object_get(j, "callbackUri");
    if (!json_is_string(cb))
        return bad_request(fd, "callbackUri is required.");
    if (answer && !json_is_string(json_object_get(j, "incomingCallContext")))
        return bad_request(fd, "incomingCallContext is required.");
    if (!answer && json_array_size(json_object_get(j, "targets")) == 0)
        return bad_request(fd, "targets is required.");
    char id[64], server[64], corr[64];
    new_id(s, "", id, sizeof id);
    new_id(s, "aHR0cHM6", server, sizeof server);
    new_id(s, "", corr, sizeof corr);
    add_call(s, id);
    snprintf(s->created, sizeof s->created, "%s", id);
    snprintf(s->created_server, sizeof s->created_server, "%s", server);
    snprintf(s->created_corr, sizeof s->created_corr, "%s", corr);
    json_t *out =
        json_pack("{s:s,s:s,s:s,s:O,s:s}", "callConnectionId", id, "serverCallId", server,
                  "callConnectionState", "connecting", "callbackUri", cb, "correlationId", corr);
    json_t *targets = json_object_get(j, "targets");
    if (out && targets)
        json_object_set(out, "targets", targets);
    return reply_json(fd, answer ? 200 : 201, out);
}

static int route_call_action(acs_standin *s, int fd, const char *method, const char *rest,
                             json_t *j)
{
    char id[256];
    const char *colon = strchr(rest, ':');
    size_t n = colon ? (size_t)(colon - rest) : strlen(rest);
    if (n == 0 || n >= sizeof id || memchr(rest, '/', n))
        return reply_error(fd, 404, "NotFound", "Resource not found.", NULL);
    memcpy(id, rest, n);
    id[n] = '\0';
    const char *verb = colon ? colon + 1 : "";
    int is_delete = strcmp(method, "DELETE") == 0;
    if (is_delete != (*verb == '\0'))
        return reply_error(fd, 404, "NotFound", "Resource not found.", NULL);
    int i = find_call(s, id);
    if (i < 0)
        return call_not_found(fd);
    if (strcmp(verb, "cancelAllMediaOperations") == 0)
        return reply(fd, 202, "", NULL, NULL);
    /* Media streaming (2025-06-15): the outcome comes as an event. */
    if (strcmp(verb, "startMediaStreaming") == 0 || strcmp(verb, "stopMediaStreaming") == 0)
        return reply(fd, 202, "", NULL, NULL);
    if (is_delete || strcmp(verb, "terminate") == 0) {
        end_call(s, i);
        return reply(fd, 204, "", NULL, NULL);
    }
    if (strcmp(verb, "play") == 0) {
        if (json_array_size(json_object_get(j, "playSources")) == 0)
            return bad_request(fd, "playSources is required.");
        return reply(fd, 202, "", NULL, NULL);
    }
    if (strcmp(verb, "recognize") == 0) {
        json_t *o = json_object_get(j, "recognizeOptions");
        if (!json_is_string(json_object_get(j, "recognizeInputType")) ||
            !json_is_object(json_object_get(o, "targetParticipant")))
            return bad_request(fd, "recognizeInputType and recognizeOptions.targetParticipant "
                                   "are required.");
        return reply(fd, 202, "", NULL, NULL);
    }
    if (strcmp(verb, "transferToParticipant") == 0) {
        if (!json_is_object(json_object_get(j, "targetParticipant")))
            return bad_request(fd, "targetParticipant is required.");
        json_t *ctx = json_object_get(j, "operationContext");
        return reply_json(fd, 202,
                          ctx ? json_pack("{s:O}", "operationContext", ctx) : json_object());
    }
    return reply_error(fd, 404, "NotFound", "Resource not found.", NULL);
}

static int route_recording(acs_standin *s, int fd, json_t *j)
{
    json_t *loc = json_object_get(j, "callLocator");
    if (!json_is_string(json_object_get(loc, "serverCallId")))
        return bad_request(fd, "callLocator.serverCallId is required.");
    char id[64];
    new_id(s, "rec-", id, sizeof id);
    return reply_json(fd, 200,
                      json_pack("{s:s,s:s,s:s}", "recordingId", id, "recordingState", "active",
                                "recordingKind", "azureCommunicationServices"));
}

static int guid_valid(const char *v)
{
    for (int i = 0; i < 36; i++) {
        int hyphen = i == 8 || i == 13 || i == 18 || i == 23;
        if (hyphen ? v[i] != '-'
                   : !((v[i] >= '0' && v[i] <= '9') || (v[i] >= 'a' && v[i] <= 'f') ||
                       (v[i] >= 'A' && v[i] <= 'F')))
            return 0;
    }
    return v[36] == '\0';
}

/* RFC 1123 ("Tue, 26 Mar 2019 16:06:51 GMT") to epoch seconds, -1 when
 * it is not one. */
static long long rfc1123(const char *v)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end || *end)
        return -1;
    time_t t = timegm(&tm);
    return t == (time_t)-1 ? -1 : (long long)t;
}

static json_t *sms_item(const char *to, const sms_rec *rec, const char *repeat, int status,
                        const char *error)
{
    json_t *o =
        json_pack("{s:s,s:i,s:b}", "to", to, "httpStatusCode", status, "successful", status == 202);
    if (o && rec && rec->message_id[0])
        json_object_set_new(o, "messageId", json_string(rec->message_id));
    if (o && repeat)
        json_object_set_new(o, "repeatabilityResult", json_string(repeat));
    if (o && error)
        json_object_set_new(o, "errorMessage", json_string(error));
    return o;
}

static sms_rec *sms_find(acs_standin *s, const char *rid)
{
    for (int i = 0; *rid && i < s->n_sms; i++) {
        if (strcmp(s->sms[i].rid, rid) == 0)
            return &s->sms[i];
    }
    return NULL;
}

/* Send (or, with a forced status, fail to send) one recipient's message;
 * rec is the earlier record of the same repeatable request, or NULL. */
static sms_rec *sms_execute(acs_standin *s, sms_rec *rec, const char *rid, const char *from,
                            const char *to, const char *message)
{
    if (!rec) {
        if (s->n_sms == s->cap_sms) {
            int cap = s->cap_sms ? 2 * s->cap_sms : 8;
            sms_rec *v = realloc(s->sms, (size_t)cap * sizeof *v);
            if (!v)
                return NULL;
            s->sms = v;
            s->cap_sms = cap;
        }
        rec = &s->sms[s->n_sms++];
        memset(rec, 0, sizeof *rec);
        snprintf(rec->rid, sizeof rec->rid, "%s", rid ? rid : "");
        rec->from = strdup(from);
        rec->to = strdup(to);
        rec->message = strdup(message);
    }
    if (s->forced_sms_status) {
        rec->status = s->forced_sms_status;
        rec->message_id[0] = '\0';
        return rec;
    }
    rec->status = 202;
    new_id(s, "Outgoing_", rec->message_id, sizeof rec->message_id);
    rec->sent = 1;
    return rec;
}

/* One recipient, as the SMS API serves it: repeatabilityRequestId (a
 * GUID) and repeatabilityFirstSent (RFC 1123) make the request repeatable;
 * both must be valid (400 rejected), the first-sent time within the
 * tracking window (412 rejected); a repeat of an executed request is
 * answered as it was and not sent again, unless it failed with a 5xx
 * (then it is executed again); a repeat that is another request is
 * rejected (400). */
static json_t *sms_recipient(acs_standin *s, const json_t *r, const char *from, const char *message)
{
    const char *to = json_string_value(json_object_get(r, "to"));
    const char *rid = json_string_value(json_object_get(r, "repeatabilityRequestId"));
    const char *first = json_string_value(json_object_get(r, "repeatabilityFirstSent"));
    if (!rid && !first) {
        sms_rec *rec = sms_execute(s, NULL, NULL, from, to, message);
        return rec ? sms_item(to, rec, NULL, rec->status,
                              rec->status == 202 ? NULL : "ServiceUnavailable")
                   : NULL;
    }
    long long first_at = first ? rfc1123(first) : -1;
    if (first_at < 0)
        return sms_item(to, NULL, "rejected", 400,
                        "Request sent with Invalid DateTime value for repeatability-first-sent. "
                        "Expected is DateTime ,RFC1123 pattern.");
    if (!rid || !guid_valid(rid))
        return sms_item(to, NULL, "rejected", 400,
                        "Request sent with Invalid value for repeatability-request-id. Expected "
                        "is a GUID.");
    if ((long long)time(NULL) - first_at > REPEAT_WINDOW_SECS)
        return sms_item(to, NULL, "rejected", 412,
                        "Repeatability first sent header not within 5 minutes window.");
    sms_rec *rec = sms_find(s, rid);
    if (rec && (strcmp(rec->from, from) || strcmp(rec->to, to) || strcmp(rec->message, message)))
        return sms_item(to, NULL, "rejected", 400,
                        "Repeatability request id was used for another request.");
    if (!rec || rec->status >= 500)
        rec = sms_execute(s, rec, rid, from, to, message);
    return rec ? sms_item(to, rec, "accepted", rec->status,
                          rec->status == 202 ? NULL : "ServiceUnavailable")
               : NULL;
}

static int route_sms(acs_standin *s, int fd, json_t *j)
{
    json_t *rcpts = json_object_get(j, "smsRecipients");
    const char *from = json_string_value(json_object_get(j, "from"));
    const char *message = json_string_value(json_object_get(j, "message"));
    if (!from || !message || json_array_size(rcpts) == 0 || json_array_size(rcpts) > 100)
        return bad_request(fd, "from, smsRecipients (1 to 100) and message are required.");
    size_t i;
    json_t *r;
    json_array_foreach(rcpts, i, r)
    {
        if (!json_is_string(json_object_get(r, "to")))
            return bad_request(fd, "Each of smsRecipients needs \"to\".");
    }
    json_t *value = json_array();
    json_array_foreach(rcpts, i, r)
    {
        json_array_append_new(value, sms_recipient(s, r, from, message));
    }
    return reply_json(fd, 202, json_pack("{s:o}", "value", value));
}

static int apply_fault(int fd, const acs_standin_fault *f)
{
    if (f->delay_ms > 0)
        wire_sleep_ms(f->delay_ms);
    if (f->drop)
        return -1;
    char extra[64] = "";
    if (f->retry_after > 0)
        snprintf(extra, sizeof extra, "Retry-After: %d\r\n", f->retry_after);
    if (f->raw_body)
        return reply(fd, f->status, "text/html", extra, f->raw_body);
    const char *code = f->code            ? f->code
                       : f->status == 429 ? "TooManyRequests"
                       : f->status >= 500 ? "InternalServerError"
                                          : "BadRequest";
    const char *msg = f->message         ? f->message
                      : f->status == 429 ? "Too many requests."
                      : f->status >= 500 ? "An internal error occurred."
                                         : "Bad request.";
    return reply_error(fd, f->status, code, msg, extra);
}

static char *jwks_of(const EVP_PKEY *key);

/* The signing keys, made on first use (most tests never sign a callback,
 * and RSA key generation is slow). Called with s->lock held. */
static bool ensure_keys(acs_standin *s)
{
    if (s->jwks)
        return true;
    if (!s->sign_key)
        s->sign_key = EVP_RSA_gen(2048);
    if (!s->forge_key)
        s->forge_key = EVP_RSA_gen(2048);
    if (s->sign_key && s->forge_key)
        s->jwks = jwks_of(s->sign_key);
    return s->jwks != NULL;
}

/* The OpenID configuration and key set are public, as ACS's are. */
static int route_public(acs_standin *s, int fd, const logged *r)
{
    if (strcmp(r->method, "GET") != 0)
        return 0;
    if (strcmp(r->target, "/calling/.well-known/acsopenidconfiguration") == 0) {
        s->key_fetches++;
        return reply_json(fd, 200,
                          json_pack("{s:s, s:s+}", "issuer", ACS_STANDIN_ISSUER, "jwks_uri", s->url,
                                    "/calling/keys"));
    }
    if (strcmp(r->target, "/calling/keys") == 0) {
        s->key_fetches++;
        return ensure_keys(s) ? reply(fd, 200, "application/json", NULL, s->jwks)
                              : reply_error(fd, 500, "InternalServerError", "no keys", NULL);
    }
    return 0;
}

static int dispatch(acs_standin *s, int fd, logged *r);

static int route(acs_standin *s, int fd, logged *r)
{
    int pub = route_public(s, fd, r);
    if (pub)
        return pub;
    const char *sig_err = check_signature(s, r);
    snprintf(r->auth_error, sizeof r->auth_error, "%s", sig_err);
    if (*sig_err)
        return reply_error(fd, 401, "Denied", sig_err, NULL);
    if (s->n_faults == 0)
        return dispatch(s, fd, r);
    acs_standin_fault f = s->faults[0];
    memmove(s->faults, s->faults + 1, (size_t)(s->n_faults - 1) * sizeof *s->faults);
    s->n_faults--;
    int status;
    if (f.sms_recipient_status) {
        s->forced_sms_status = f.sms_recipient_status;
        status = dispatch(s, fd, r);
        s->forced_sms_status = 0;
    } else {
        /* After: the service does the work, then the reply is lost. */
        if (f.after)
            dispatch(s, -1, r);
        pthread_mutex_unlock(&s->lock);
        status = apply_fault(fd, &f);
        pthread_mutex_lock(&s->lock);
    }
    free((char *)f.code);
    free((char *)f.message);
    free((char *)f.raw_body);
    return status;
}

static int dispatch(acs_standin *s, int fd, logged *r)
{
    char path[2048];
    snprintf(path, sizeof path, "%s", r->target);
    char *q = strchr(path, '?');
    if (q)
        *q++ = '\0';
    if (!q || strncmp(q, "api-version=", 12) != 0 || !q[12])
        return reply_error(fd, 400, "MissingApiVersionParameter",
                           "The api-version query parameter (?api-version=) is required.", NULL);
    size_t vlen = 0;
    if (wire_find_header(r->head, "Repeatability-Request-ID", &vlen) &&
        !wire_find_header(r->head, "Repeatability-First-Sent", &vlen))
        return bad_request(fd, "Repeatability-First-Sent is required with "
                               "Repeatability-Request-ID.");
    if (r->body_len) {
        r->json = json_loadb(r->body, r->body_len, 0, NULL);
        if (!json_is_object(r->json))
            return bad_request(fd, "The request body is not a JSON object.");
    }
    int post = strcmp(r->method, "POST") == 0;
    const char *calls = "/calling/callConnections";
    size_t cl = strlen(calls);
    if (post && strcmp(path, "/calling/callConnections:answer") == 0)
        return route_connect(s, fd, r->json, 1);
    if (post && strcmp(path, calls) == 0)
        return route_connect(s, fd, r->json, 0);
    if (strncmp(path, calls, cl) == 0 && path[cl] == '/' &&
        (post || strcmp(r->method, "DELETE") == 0))
        return route_call_action(s, fd, r->method, path + cl + 1, r->json);
    if (post && strcmp(path, "/calling/recordings") == 0)
        return route_recording(s, fd, r->json);
    if (post && strcmp(path, "/sms") == 0)
        return route_sms(s, fd, r->json);
    return reply_error(fd, 404, "NotFound", "Resource not found.", NULL);
}

static void serve(acs_standin *s, int fd)
{
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    logged r;
    memset(&r, 0, sizeof r);
    if (read_request(fd, &r) != 0) {
        free(r.target);
        free(r.head);
        free(r.body);
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    r.t_ns = (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
    pthread_mutex_lock(&s->lock);
    s->created[0] = '\0';
    r.status = route(s, fd, &r);
    snprintf(r.created, sizeof r.created, "%s", s->created);
    if (s->hook && *r.auth_error == '\0') {
        char path[2048];
        snprintf(path, sizeof path, "%s", r.target);
        char *q = strchr(path, '?');
        if (q)
            *q = '\0';
        acs_standin_served info = {r.method,
                                   path,
                                   r.json,
                                   r.status,
                                   s->created,
                                   s->created[0] ? s->created_server : "",
                                   s->created[0] ? s->created_corr : ""};
        s->hook(&info, s->hook_ud);
    }
    if (s->n_log == s->cap_log) {
        int cap = s->cap_log ? 2 * s->cap_log : 16;
        logged *l = realloc(s->log, (size_t)cap * sizeof *l);
        if (l) {
            s->log = l;
            s->cap_log = cap;
        }
    }
    if (s->n_log < s->cap_log) {
        s->log[s->n_log++] = r;
    } else {
        free(r.target);
        free(r.head);
        free(r.body);
        json_decref(r.json);
    }
    pthread_mutex_unlock(&s->lock);
}

static void *server_main(void *arg)
{
    acs_standin *s = arg;
    for (;;) {
        struct pollfd pfd[2] = {{s->listen_fd, POLLIN, 0}, {s->wake[0], POLLIN, 0}};
        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return NULL;
        }
        if (pfd[1].revents)
            return NULL;
        if (!pfd[0].revents)
            continue;
        int fd = accept(s->listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        serve(s, fd);
        shutdown(fd, SHUT_RDWR);
        close(fd);
    }
}

/* Callback tokens ------------------------------------------------------------ */

static char *b64url(const unsigned char *data, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    if (!out)
        return NULL;
    EVP_EncodeBlock((unsigned char *)out, data, (int)n);
    size_t j = 0;
    for (size_t i = 0; out[i]; i++) {
        if (out[i] == '=')
            break;
        out[j++] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    }
    out[j] = '\0';
    return out;
}

static char *bn_b64url(const EVP_PKEY *key, const char *param)
{
    BIGNUM *bn = NULL;
    if (EVP_PKEY_get_bn_param(key, param, &bn) != 1)
        return NULL;
    unsigned char buf[1024];
    int n = BN_bn2bin(bn, buf);
    BN_free(bn);
    return n > 0 ? b64url(buf, (size_t)n) : NULL;
}

static char *jwks_of(const EVP_PKEY *key)
{
    char *n = bn_b64url(key, OSSL_PKEY_PARAM_RSA_N);
    char *e = bn_b64url(key, OSSL_PKEY_PARAM_RSA_E);
    char *out = NULL;
    if (n && e) {
        json_t *j = json_pack("{s:[{s:s, s:s, s:s, s:s, s:s, s:s}]}", "keys", "kty", "RSA", "use",
                              "sig", "alg", "RS256", "kid", ACS_STANDIN_KID, "n", n, "e", e);
        out = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
    }
    free(n);
    free(e);
    return out;
}

static char *sign_token(EVP_PKEY *key, const char *header, const char *payload)
{
    char *h = b64url((const unsigned char *)header, strlen(header));
    char *p = b64url((const unsigned char *)payload, strlen(payload));
    char *out = NULL;
    if (h && p) {
        size_t in_len = strlen(h) + 1 + strlen(p);
        char *input = malloc(in_len + 1);
        unsigned char sig[1024];
        size_t sig_len = sizeof sig;
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        if (input && md) {
            snprintf(input, in_len + 1, "%s.%s", h, p);
            if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
                EVP_DigestSign(md, sig, &sig_len, (unsigned char *)input, in_len) == 1) {
                char *s64 = b64url(sig, sig_len);
                size_t n = sizeof "Bearer " + in_len + 1 + (s64 ? strlen(s64) : 0);
                out = s64 ? malloc(n) : NULL;
                if (out)
                    snprintf(out, n, "Bearer %s.%s", input, s64);
                free(s64);
            }
        }
        EVP_MD_CTX_free(md);
        free(input);
    }
    free(h);
    free(p);
    return out;
}

char *acs_standin_bearer(acs_standin *s, const char *audience, acs_standin_token how)
{
    long long now = (long long)time(NULL);
    long long exp = how == ACS_TOKEN_EXPIRED ? now - 3600 : now + 3600;
    char header[128], payload[1024];
    snprintf(header, sizeof header, "{\"alg\":\"RS256\",\"kid\":\"%s\",\"typ\":\"JWT\"}",
             ACS_STANDIN_KID);
    snprintf(payload, sizeof payload,
             "{\"iss\":\"%s\",\"aud\":\"%s\",\"exp\":%lld,\"nbf\":%lld,\"iat\":%lld}",
             ACS_STANDIN_ISSUER, how == ACS_TOKEN_WRONG_AUDIENCE ? "some-other-resource" : audience,
             exp, exp - 7200, exp - 7200);
    pthread_mutex_lock(&s->lock);
    bool keys = ensure_keys(s);
    pthread_mutex_unlock(&s->lock);
    return keys ? sign_token(how == ACS_TOKEN_FORGED ? s->forge_key : s->sign_key, header, payload)
                : NULL;
}

void acs_standin_set_hook(acs_standin *s, acs_standin_hook hook, void *ud)
{
    pthread_mutex_lock(&s->lock);
    s->hook = hook;
    s->hook_ud = ud;
    pthread_mutex_unlock(&s->lock);
}

int acs_standin_key_fetches(acs_standin *s)
{
    pthread_mutex_lock(&s->lock);
    int n = s->key_fetches;
    pthread_mutex_unlock(&s->lock);
    return n;
}

char *acs_standin_event(const char *type, const char *call_connection_id, const char *data_json)
{
    static unsigned long long n;
    json_t *data = data_json ? json_loads(data_json, 0, NULL) : json_object();
    if (!json_is_object(data)) {
        json_decref(data);
        return NULL;
    }
    char id[64], type_full[128], source[300];
    snprintf(id, sizeof id, "standin-event-%llu", ++n);
    snprintf(type_full, sizeof type_full, "Microsoft.Communication.%s", type);
    snprintf(source, sizeof source, "calling/callConnections/%s", call_connection_id);
    if (call_connection_id && !json_object_get(data, "callConnectionId"))
        json_object_set_new(data, "callConnectionId", json_string(call_connection_id));
    char now[64];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_t *ev = json_pack("[{s:s, s:s, s:s, s:s, s:s, s:s, s:o}]", "id", id, "source", source,
                           "type", type_full, "specversion", "1.0", "datacontenttype",
                           "application/json", "time", now, "data", data);
    char *out = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
    json_decref(ev);
    return out;
}

static size_t discard(char *d, size_t sz, size_t n, void *ud)
{
    (void)d;
    (void)ud;
    return sz * n;
}

int acs_standin_deliver(acs_standin *s, const char *url, const char *audience,
                        acs_standin_token how, const char *type, const char *call_connection_id,
                        const char *data_json)
{
    char *body = acs_standin_event(type, call_connection_id, data_json);
    char *bearer = acs_standin_bearer(s, audience, how);
    size_t hl = bearer ? strlen(bearer) + sizeof "Authorization: " : 0;
    char *auth = bearer ? malloc(hl) : NULL;
    CURL *e = curl_easy_init();
    struct curl_slist *h = NULL;
    long status = -1;
    if (body && auth && e) {
        snprintf(auth, hl, "Authorization: %s", bearer);
        h = curl_slist_append(h, auth);
        h = curl_slist_append(h, "Content-Type: application/json");
        h = curl_slist_append(h, "Expect:");
        curl_easy_setopt(e, CURLOPT_URL, url);
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_USERAGENT, "Azure-Communication-Services/1.0 (stand-in)");
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 15000L);
        if (curl_easy_perform(e) == CURLE_OK)
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    }
    curl_slist_free_all(h);
    if (e)
        curl_easy_cleanup(e);
    free(body);
    free(bearer);
    free(auth);
    return (int)status;
}

acs_standin *acs_standin_start(const char *access_key)
{
    const char *key = access_key ? access_key : ACS_STANDIN_KEY;
    size_t klen = strlen(key);
    acs_standin *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->listen_fd = -1;
    s->wake[0] = s->wake[1] = -1;
    pthread_mutex_init(&s->lock, NULL);
    s->seed = ((unsigned long long)time(NULL) << 20) ^ (unsigned long long)getpid();
    if (klen == 0 || klen % 4 || klen / 4 * 3 > sizeof s->key)
        goto fail;
    int n = EVP_DecodeBlock(s->key, (const unsigned char *)key, (int)klen);
    if (n < 0)
        goto fail;
    s->key_len = n - (key[klen - 1] == '=') - (key[klen - 2] == '=');
    if (pipe(s->wake) != 0)
        goto fail;
    if ((s->listen_fd = wire_listen_loopback(1024, &s->port)) < 0)
        goto fail;
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", s->port);
    snprintf(s->host, sizeof s->host, "127.0.0.1:%d", s->port);
    if (pthread_create(&s->thread, NULL, server_main, s) != 0)
        goto fail;
    return s;
fail:
    EVP_PKEY_free(s->sign_key);
    EVP_PKEY_free(s->forge_key);
    free(s->jwks);
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    if (s->wake[0] >= 0) {
        close(s->wake[0]);
        close(s->wake[1]);
    }
    pthread_mutex_destroy(&s->lock);
    free(s);
    return NULL;
}

const char *acs_standin_url(acs_standin *s)
{
    return s->url;
}

const char *acs_standin_host(acs_standin *s)
{
    return s->host;
}

void acs_standin_push_fault(acs_standin *s, const acs_standin_fault *f)
{
    pthread_mutex_lock(&s->lock);
    if (s->n_faults == s->cap_faults) {
        int cap = s->cap_faults ? 2 * s->cap_faults : 8;
        acs_standin_fault *v = realloc(s->faults, (size_t)cap * sizeof *v);
        if (!v) {
            pthread_mutex_unlock(&s->lock);
            return;
        }
        s->faults = v;
        s->cap_faults = cap;
    }
    acs_standin_fault *d = &s->faults[s->n_faults++];
    *d = *f;
    d->code = dup_or_null(f->code);
    d->message = dup_or_null(f->message);
    d->raw_body = dup_or_null(f->raw_body);
    pthread_mutex_unlock(&s->lock);
}

int acs_standin_sms_sent(acs_standin *s, const char *to)
{
    pthread_mutex_lock(&s->lock);
    int n = 0;
    for (int i = 0; i < s->n_sms; i++)
        n += s->sms[i].sent && (!to || strcmp(s->sms[i].to, to) == 0);
    pthread_mutex_unlock(&s->lock);
    return n;
}

int acs_standin_faults_pending(acs_standin *s)
{
    pthread_mutex_lock(&s->lock);
    int n = s->n_faults;
    pthread_mutex_unlock(&s->lock);
    return n;
}

void acs_standin_add_call(acs_standin *s, const char *id)
{
    pthread_mutex_lock(&s->lock);
    add_call(s, id);
    pthread_mutex_unlock(&s->lock);
}

char *acs_standin_request_created(acs_standin *s, int i)
{
    pthread_mutex_lock(&s->lock);
    char *id =
        i >= 0 && i < s->n_log && s->log[i].created[0] ? dup_or_null(s->log[i].created) : NULL;
    pthread_mutex_unlock(&s->lock);
    return id;
}

unsigned long long acs_standin_request_time_ns(acs_standin *s, int i)
{
    pthread_mutex_lock(&s->lock);
    unsigned long long t = i >= 0 && i < s->n_log ? s->log[i].t_ns : 0;
    pthread_mutex_unlock(&s->lock);
    return t;
}

char *acs_standin_latest_call(acs_standin *s)
{
    pthread_mutex_lock(&s->lock);
    char *id = s->n_calls ? dup_or_null(s->calls[s->n_calls - 1]) : NULL;
    pthread_mutex_unlock(&s->lock);
    return id;
}

int acs_standin_request_count(acs_standin *s)
{
    pthread_mutex_lock(&s->lock);
    int n = s->n_log;
    pthread_mutex_unlock(&s->lock);
    return n;
}

#define WITH_REQUEST(s, i, expr, fallback)      \
    do {                                        \
        pthread_mutex_lock(&(s)->lock);         \
        __typeof__(fallback) out_ = (fallback); \
        if ((i) >= 0 && (i) < (s)->n_log) {     \
            const logged *r = &(s)->log[i];     \
            out_ = (expr);                      \
        }                                       \
        pthread_mutex_unlock(&(s)->lock);       \
        return out_;                            \
    } while (0)

char *acs_standin_request_method(acs_standin *s, int i)
{
    WITH_REQUEST(s, i, strdup(r->method), (char *)NULL);
}

char *acs_standin_request_target(acs_standin *s, int i)
{
    WITH_REQUEST(s, i, strdup(r->target), (char *)NULL);
}

char *acs_standin_request_path(acs_standin *s, int i)
{
    WITH_REQUEST(s, i, strndup(r->target, strcspn(r->target, "?")), (char *)NULL);
}

char *acs_standin_request_body(acs_standin *s, int i)
{
    WITH_REQUEST(s, i, strdup(r->body), (char *)NULL);
}

json_t *acs_standin_request_json(acs_standin *s, int i)
{
    WITH_REQUEST(s, i, json_incref(r->json), (json_t *)NULL);
}

char *acs_standin_request_header(acs_standin *s, int i, const char *name)
{
    WITH_REQUEST(s, i, header_dup(r->head, name), (char *)NULL);
}

int acs_standin_request_status(acs_standin *s, int i)
{
    WITH_REQUEST(s, i, r->status, -1);
}

char *acs_standin_request_auth_error(acs_standin *s, int i)
{
    WITH_REQUEST(s, i, strdup(r->auth_error), (char *)NULL);
}

void acs_standin_stop(acs_standin *s)
{
    if (!s)
        return;
    ssize_t w = write(s->wake[1], "x", 1);
    (void)w;
    pthread_join(s->thread, NULL);
    close(s->listen_fd);
    close(s->wake[0]);
    close(s->wake[1]);
    for (int i = 0; i < s->n_log; i++) {
        free(s->log[i].target);
        free(s->log[i].head);
        free(s->log[i].body);
        json_decref(s->log[i].json);
    }
    free(s->log);
    for (int i = 0; i < s->n_faults; i++) {
        free((char *)s->faults[i].code);
        free((char *)s->faults[i].message);
        free((char *)s->faults[i].raw_body);
    }
    free(s->faults);
    for (int i = 0; i < s->n_calls; i++)
        free(s->calls[i]);
    free(s->calls);
    for (int i = 0; i < s->n_sms; i++) {
        free(s->sms[i].from);
        free(s->sms[i].to);
        free(s->sms[i].message);
    }
    free(s->sms);
    pthread_mutex_destroy(&s->lock);
    OPENSSL_cleanse(s->key, sizeof s->key);
    EVP_PKEY_free(s->sign_key);
    EVP_PKEY_free(s->forge_key);
    free(s->jwks);
    free(s);
}
