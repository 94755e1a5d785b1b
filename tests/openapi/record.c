/* Calls every route of the real ccai-server, success and error paths, and
 * records each exchange (request, status, headers, body) for validate.mjs,
 * which checks them against the OpenAPI document the server serves.
 *
 *   record SERVER_BIN OUTDIR
 *
 * Two servers: A with an API token, Twilio, ACS and an LLM (the stand-ins
 * of tests/support, which sign webhooks the way the services do), B without
 * a token or providers (the no-token mode's refusals). Each request states
 * the status it is meant to get ("expect"); OUTDIR receives exchanges.json
 * and openapi.json (as GET /openapi.json served it). Exit status 0 when
 * every exchange could be made, 1 otherwise (the validation is not done
 * here). Bounded: every request has a 15 s timeout, the whole run takes a
 * few seconds. */
#include "support/acs_standin.h"
#include "support/db_lock.h"
#include "support/llm_standin.h"
#include "support/server_proc.h"
#include "support/twilio_standin.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PUBLIC   "https://bot.example.test"
#define TOKEN    "tok"
#define BEARER   "Authorization: Bearer " TOKEN
#define EG_TOKEN "eg-secret"
#define BOT_TW   "+15550001111"
#define BOT_ACS  "+15550002222"
#define AGENT    "+15550009999"
#define RESOURCE "acs-resource-0001"
#define CALLSID  "CA0000000000000000000000000000aa01"
#define UNKNOWN  "00000000-0000-4000-8000-000000000000"

static const char *server_bin;
static const char *outdir;
static json_t *records;
static pthread_mutex_t records_lock = PTHREAD_MUTEX_INITIALIZER;
static int failures;

typedef struct srv {
    const char *name;
    pid_t pid;
    int port;
    char dir[64];
    char db[128];
} srv;

static standin *llm;
static twilio_standin *tw;
static acs_standin *acs;

static void die(const char *what)
{
    fprintf(stderr, "record: %s\n", what);
    exit(1);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Servers ------------------------------------------------------------------ */

/* yaml with its "@DB@" replaced by the server's database. */
static void start_server(srv *s, const char *name, const char *yaml_tpl)
{
    s->name = name;
    snprintf(s->dir, sizeof s->dir, "/tmp/ccai-openapi-XXXXXX");
    if (!mkdtemp(s->dir))
        die("mkdtemp");
    snprintf(s->db, sizeof s->db, "%s/db.sqlite", s->dir);
    char yaml[8192], env_yaml[8300], log[160];
    const char *at = strstr(yaml_tpl, "@DB@");
    if (!at)
        die("no @DB@ in the configuration");
    snprintf(yaml, sizeof yaml, "%.*s%s%s", (int)(at - yaml_tpl), yaml_tpl, s->db, at + 4);
    snprintf(env_yaml, sizeof env_yaml, "CONFIG_YAML=%s", yaml);
    snprintf(log, sizeof log, "%s/server-%s.log", outdir, name);
    char *envp[] = {env_yaml, (char *)"SERVER__LISTEN=127.0.0.1:0", NULL};
    s->pid = server_proc_start(server_bin, envp, log, &s->port);
    if (s->pid <= 0) {
        fprintf(stderr, "record: server %s did not start; its log is %s\n", name, log);
        exit(1);
    }
}

static void stop_server(srv *s)
{
    if (server_proc_stop(s->pid, SIGTERM) != 0) {
        fprintf(stderr, "record: server %s did not stop cleanly\n", s->name);
        failures++;
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", s->dir);
    if (system(cmd) != 0)
        failures++;
}

/* Exchanges ---------------------------------------------------------------- */

typedef struct reply {
    long status;
    char *body;
    size_t len;
    json_t *headers; /* lower-case name -> value (repeated ones joined with ", ") */
} reply;

static size_t on_body(char *d, size_t sz, size_t n, void *ud)
{
    reply *r = ud;
    char *b = realloc(r->body, r->len + sz * n + 1);
    if (!b)
        return 0;
    memcpy(b + r->len, d, sz * n);
    r->len += sz * n;
    b[r->len] = '\0';
    r->body = b;
    return sz * n;
}

static size_t on_header(char *d, size_t sz, size_t n, void *ud)
{
    reply *r = ud;
    size_t len = sz * n;
    const char *colon = memchr(d, ':', len);
    if (!colon || (len > 5 && !strncmp(d, "HTTP/", 5)))
        return len;
    char name[128];
    size_t nl = (size_t)(colon - d);
    if (nl >= sizeof name)
        return len;
    for (size_t i = 0; i < nl; i++)
        name[i] = (char)(d[i] >= 'A' && d[i] <= 'Z' ? d[i] + 32 : d[i]);
    name[nl] = '\0';
    const char *v = colon + 1, *end = d + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    const char *old = json_string_value(json_object_get(r->headers, name));
    char value[8192];
    snprintf(value, sizeof value, "%s%s%.*s", old ? old : "", old ? ", " : "", (int)(end - v), v);
    json_object_set_new(r->headers, name, json_string(value));
    return len;
}

typedef struct req {
    const char *name;   /* what this exchange shows */
    const char *method; /* GET, POST, ... */
    const char *target; /* path and query */
    const char *body;   /* NULL: none */
    size_t body_len;    /* 0: strlen(body) */
    const char *headers[8];
    int expect; /* the status it is meant to get */
} req;

/* Send r to s, record it; the reply in *out (reply_free() it). */
static void send_req(const srv *s, const req *r, reply *out)
{
    memset(out, 0, sizeof *out);
    out->headers = json_object();
    char url[4096];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", s->port, r->target);
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Expect:");
    for (size_t i = 0; i < sizeof r->headers / sizeof *r->headers && r->headers[i]; i++)
        h = curl_slist_append(h, r->headers[i]);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (!strcmp(r->method, "HEAD"))
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
    size_t blen = r->body ? (r->body_len ? r->body_len : strlen(r->body)) : 0;
    if (r->body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)blen);
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 15000L);
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (!out->body)
        out->body = calloc(1, 1);

    json_t *req_headers = json_array();
    for (size_t i = 0; i < sizeof r->headers / sizeof *r->headers && r->headers[i]; i++)
        json_array_append_new(req_headers, json_string(r->headers[i]));
    json_t *body = json_stringn(out->body, out->len);
    json_t *rec =
        json_pack("{s:s, s:s, s:s, s:s, s:o, s:i, s:I, s:O, s:o, s:b}", "name", r->name, "server",
                  s->name, "method", r->method, "target", r->target, "request_headers", req_headers,
                  "expect", r->expect, "status", (json_int_t)out->status, "headers", out->headers,
                  "body", body ? body : json_string(""), "body_utf8", body != NULL);
    pthread_mutex_lock(&records_lock);
    json_array_append_new(records, rec);
    pthread_mutex_unlock(&records_lock);
    if (out->status == 0) {
        fprintf(stderr, "record: %s %s: no answer (%s)\n", r->method, r->target,
                curl_easy_strerror(rc));
        failures++;
    }
}

static void reply_free(reply *r)
{
    free(r->body);
    json_decref(r->headers);
}

/* Send and forget the reply. */
static void exchange(const srv *s, const req *r)
{
    reply out;
    send_req(s, r, &out);
    reply_free(&out);
}

/* Twilio ------------------------------------------------------------------- */

static void url_encode(char *out, size_t cap, const char *s)
{
    size_t n = 0;
    for (; *s && n + 4 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            strchr("-._~", c))
            out[n++] = (char)c;
        else
            n += (size_t)snprintf(out + n, cap - n, "%%%02X", c);
    }
    out[n] = '\0';
}

/* POST params to path as Twilio does: form-encoded, signed over the public
 * URL (forge: a wrong signature). */
static void twilio_hook(const srv *s, const char *name, const char *path, const char *const *params,
                        bool forge, int expect, reply *out)
{
    char body[8192] = "", enc[2048];
    for (size_t i = 0; params[i]; i += 2) {
        size_t n = strlen(body);
        url_encode(enc, sizeof enc, params[i + 1]);
        snprintf(body + n, sizeof body - n, "%s%s=%s", n ? "&" : "", params[i], enc);
    }
    char pub[4096], sig[512];
    snprintf(pub, sizeof pub, PUBLIC "%s", path);
    char *signature = twilio_standin_signature(TWILIO_STANDIN_TOKEN, pub, params);
    if (forge)
        signature[0] = signature[0] == 'A' ? 'B' : 'A';
    snprintf(sig, sizeof sig, "X-Twilio-Signature: %s", signature);
    free(signature);
    req r = {
        name,
        "POST",
        path,
        body,
        0,
        {"Content-Type: application/x-www-form-urlencoded", "User-Agent: TwilioProxy/1.1", sig},
        expect};
    send_req(s, &r, out);
}

/* The local path of a URL of ours in TwiML: after `tag`, attribute attr
 * (or the element's text when attr is NULL); "" when absent. */
static void twiml_url(const char *xml, const char *tag, const char *attr, char *out, size_t cap)
{
    out[0] = '\0';
    const char *t = strstr(xml, tag);
    if (!t)
        return;
    const char *v;
    if (attr) {
        char key[64];
        snprintf(key, sizeof key, " %s=\"", attr);
        v = strstr(t, key);
        if (!v)
            return;
        v += strlen(key);
    } else {
        v = strchr(t, '>');
        if (!v)
            return;
        v++;
    }
    if (!strncmp(v, PUBLIC, strlen(PUBLIC)))
        v += strlen(PUBLIC);
    size_t n = 0;
    while (*v && *v != '"' && *v != '<' && n + 1 < cap) {
        if (!strncmp(v, "&amp;", 5)) {
            out[n++] = '&';
            v += 5;
        } else {
            out[n++] = *v++;
        }
    }
    out[n] = '\0';
}

/* path with its route replaced: "/twilio/gather?call=..." -> "/twilio/<route>?call=..." */
static void same_call(char *out, size_t cap, const char *route, const char *path)
{
    const char *q = strchr(path, '?');
    snprintf(out, cap, "/twilio/%s%s", route, q ? q : "");
}

/* The call's secret changed by one character. */
static void wrong_secret(char *path)
{
    char *sec = strstr(path, "s=");
    if (sec && sec[2])
        sec[2] = sec[2] == 'x' ? 'y' : 'x';
}

static void twilio_routes(const srv *a)
{
    static const char *const voice[] = {
        "CallSid",      CALLSID,   "AccountSid", TWILIO_STANDIN_SID, "From",
        "+33612345678", "To",      BOT_TW,       "CallStatus",       "ringing",
        "Direction",    "inbound", NULL};
    reply r;
    twilio_hook(a, "voice: forged signature", "/twilio/voice", voice, true, 403, &r);
    reply_free(&r);
    twilio_hook(a, "voice: an inbound call", "/twilio/voice", voice, false, 200, &r);
    char gather[2048];
    twiml_url(r.body, "<Gather", "action", gather, sizeof gather);
    reply_free(&r);
    if (!*gather)
        die("no Gather in the answer to /twilio/voice");
    static const char *const malformed[] = {"CallSid", CALLSID, NULL};
    {
        req bad = {"gather: malformed form body",
                   "POST",
                   gather,
                   "CallSid=%zz",
                   0,
                   {"Content-Type: application/x-www-form-urlencoded"},
                   400};
        exchange(a, &bad);
    }
    twilio_hook(a, "gather: no call parameter", "/twilio/gather", malformed, false, 404, &r);
    reply_free(&r);

    /* A streamed answer: the first sentence with a Redirect, the rest on
     * /twilio/next. */
    standin_spec sp = STANDIN_SPEC_INIT;
    sp.content = "I am so sorry to hear that. Is anyone hurt? Where did it happen?";
    sp.chunk_ms = 60;
    standin_push(llm, &sp);
    static const char *const speech[] = {
        "CallSid", CALLSID, "SpeechResult", "My car was hit last night", "Confidence",
        "0.93",    NULL};
    twilio_hook(a, "gather: the caller speaks", gather, speech, false, 200, &r);
    char next[2048] = "";
    twiml_url(r.body, "<Redirect", NULL, next, sizeof next);
    reply_free(&r);
    if (!*next)
        die("the streamed answer came without a Redirect");
    /* AsyncAmdStatusCallback (the call is live): who answered. */
    char amd[2048];
    same_call(amd, sizeof amd, "amd", next);
    static const char *const by[] = {
        "CallSid", CALLSID, "AnsweredBy", "human", "MachineDetectionDuration", "1200", NULL};
    twilio_hook(a, "amd: a person answered", amd, by, false, 204, &r);
    reply_free(&r);
    wrong_secret(amd);
    twilio_hook(a, "amd: wrong call secret", amd, by, false, 404, &r);
    reply_free(&r);

    static const char *const only[] = {"CallSid", CALLSID, NULL};
    char bad_next[2048];
    snprintf(bad_next, sizeof bad_next, "%s", next);
    wrong_secret(bad_next);
    twilio_hook(a, "next: wrong call secret", bad_next, only, false, 404, &r);
    reply_free(&r);
    for (int hops = 0; *next && hops < 20; hops++) {
        twilio_hook(a, "next: the rest of the answer", next, only, false, 200, &r);
        twiml_url(r.body, "<Redirect", NULL, next, sizeof next);
        if (!*next)
            twiml_url(r.body, "<Gather", "action", gather, sizeof gather);
        reply_free(&r);
    }

    /* The caller asks for a human: the Dial, then its action. */
    standin_tool_call tc = {.id = "t1", .name = "talk_to_human", .arguments = "{}"};
    standin_spec t = STANDIN_SPEC_INIT;
    t.kind = STANDIN_TOOL_CALLS;
    t.tool_calls = &tc;
    t.n_tool_calls = 1;
    standin_push(llm, &t);
    static const char *const human[] = {"CallSid", CALLSID, "SpeechResult",
                                        "I want to talk to a person", NULL};
    twilio_hook(a, "gather: the caller asks for a human", gather, human, false, 200, &r);
    char dial[2048] = "";
    char body[65536];
    snprintf(body, sizeof body, "%s", r.body);
    reply_free(&r);
    for (int hops = 0; !strstr(body, "<Dial") && hops < 20; hops++) {
        twiml_url(body, "<Redirect", NULL, next, sizeof next);
        if (!*next)
            break;
        twilio_hook(a, "next: the announcement of the transfer", next, only, false, 200, &r);
        snprintf(body, sizeof body, "%s", r.body);
        reply_free(&r);
    }
    twiml_url(body, "<Dial", "action", dial, sizeof dial);
    if (!*dial)
        die("no Dial after talk_to_human");
    char bad_dial[2048];
    snprintf(bad_dial, sizeof bad_dial, "%s", dial);
    wrong_secret(bad_dial);
    static const char *const no_answer[] = {"CallSid", CALLSID, "DialCallStatus", "no-answer",
                                            NULL};
    twilio_hook(a, "dial: wrong call secret", bad_dial, no_answer, false, 404, &r);
    reply_free(&r);
    twilio_hook(a, "dial: the agent did not answer", dial, no_answer, false, 200, &r);
    reply_free(&r);

    char path[2048];
    static const char *const recorded[] = {
        "CallSid",
        CALLSID,
        "RecordingSid",
        "RE0000000000000000000000000000aa01",
        "RecordingUrl",
        "https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/RE1",
        "RecordingStatus",
        "completed",
        "RecordingDuration",
        "42",
        NULL};
    same_call(path, sizeof path, "recording", dial);
    twilio_hook(a, "recording: stored", path, recorded, false, 204, &r);
    reply_free(&r);
    wrong_secret(path);
    twilio_hook(a, "recording: wrong call secret", path, recorded, false, 404, &r);
    reply_free(&r);

    static const char *const done[] = {"CallSid",      CALLSID, "CallStatus", "completed",
                                       "CallDuration", "40",    NULL};
    twilio_hook(a, "status: forged signature", "/twilio/status", done, true, 403, &r);
    reply_free(&r);
    same_call(path, sizeof path, "status", dial);
    twilio_hook(a, "status: the call completed", path, done, false, 204, &r);
    reply_free(&r);
    twilio_hook(a, "status: the number's callback, no call of ours", "/twilio/status", done, false,
                204, &r);
    reply_free(&r);

    static const char *const sms[] = {
        "MessageSid", "SM0000000000000000000000000000aa01", "From", "+33612345678", "To", BOT_TW,
        "Body",       "My policy number is P-1234",         NULL};
    twilio_hook(a, "sms: received", "/twilio/sms", sms, false, 200, &r);
    reply_free(&r);
    static const char *const sms_bad[] = {"MessageSid", "SM0000000000000000000000000000aa02",
                                          "From", "+33612345678", NULL};
    twilio_hook(a, "sms: no Body", "/twilio/sms", sms_bad, false, 400, &r);
    reply_free(&r);
    static const char *const delivered[] = {"MessageSid",
                                            "SM0000000000000000000000000000aa03",
                                            "MessageStatus",
                                            "delivered",
                                            "SmsStatus",
                                            "delivered",
                                            "AccountSid",
                                            TWILIO_STANDIN_SID,
                                            "To",
                                            "+33612345678",
                                            "From",
                                            BOT_TW,
                                            "ApiVersion",
                                            "2010-04-01",
                                            NULL};
    twilio_hook(a, "sms-status: no message of ours", "/twilio/sms-status?ref=999999", delivered,
                false, 404, &r);
    reply_free(&r);
    twilio_hook(a, "sms-status: no MessageStatus", "/twilio/sms-status?ref=1", sms_bad, false, 400,
                &r);
    reply_free(&r);
    static const char *const sending[] = {"MessageSid",
                                          "SM0000000000000000000000000000aa04",
                                          "MessageStatus",
                                          "sending",
                                          "SmsStatus",
                                          "sending",
                                          "AccountSid",
                                          TWILIO_STANDIN_SID,
                                          "To",
                                          "+33612345678",
                                          "From",
                                          BOT_TW,
                                          "ApiVersion",
                                          "2010-04-01",
                                          NULL};
    twilio_hook(a, "sms-status: on its way (not stored)", "/twilio/sms-status?ref=1", sending,
                false, 200, &r);
    reply_free(&r);
}

/* Twilio stream mode ---------------------------------------------------------- */

/* A WebSocket upgrade GET sent over a plain socket (libcurl has no server
 * WebSocket to talk to here and would wait past a 101): the answer's head
 * and, when it is not a 101, its body (Content-Length) are recorded; the
 * connection is closed right after. */
static void raw_upgrade(const srv *s, const char *name, const char *path,
                        const char *const *headers, int expect)
{
    char request[4096];
    int n = snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n", path,
                     s->port);
    for (size_t i = 0; headers[i]; i++)
        n += snprintf(request + n, sizeof request - (size_t)n, "%s\r\n", headers[i]);
    n += snprintf(request + n, sizeof request - (size_t)n, "\r\n");
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {15, 0};
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
        connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        send(fd, request, (size_t)n, MSG_NOSIGNAL) != n)
        die("cannot send a WebSocket upgrade");
    char buf[16384];
    size_t len = 0;
    const char *end = NULL;
    long content_length = -1;
    for (;;) {
        ssize_t k = recv(fd, buf + len, sizeof buf - 1 - len, 0);
        if (k <= 0)
            break;
        len += (size_t)k;
        buf[len] = '\0';
        if (!end && (end = strstr(buf, "\r\n\r\n")) != NULL) {
            const char *cl = strcasestr(buf, "\r\nContent-Length:");
            content_length = cl && cl < end ? strtol(cl + 17, NULL, 10) : 0;
            if (!strncmp(buf, "HTTP/1.1 101", 12))
                content_length = 0;
        }
        if (end && (long)(len - (size_t)(end + 4 - buf)) >= content_length)
            break;
    }
    close(fd);
    reply out = {0};
    out.headers = json_object();
    if (end) {
        out.status = strtol(buf + 9, NULL, 10);
        for (const char *line = strstr(buf, "\r\n") + 2; line < end;) {
            const char *eol = strstr(line, "\r\n");
            on_header((char *)line, 1, (size_t)(eol + 2 - line), &out);
            line = eol + 2;
        }
        out.len = len - (size_t)(end + 4 - buf);
        out.body = strndup(end + 4, out.len);
    } else {
        out.body = strdup("");
    }
    json_t *req_headers = json_array();
    for (size_t i = 0; headers[i]; i++)
        json_array_append_new(req_headers, json_string(headers[i]));
    json_t *body = json_stringn(out.body, out.len);
    json_t *rec =
        json_pack("{s:s, s:s, s:s, s:s, s:o, s:i, s:I, s:o, s:o, s:b}", "name", name, "server",
                  s->name, "method", "GET", "target", path, "request_headers", req_headers,
                  "expect", expect, "status", (json_int_t)out.status, "headers", out.headers,
                  "body", body ? body : json_string(""), "body_utf8", body != NULL);
    pthread_mutex_lock(&records_lock);
    json_array_append_new(records, rec);
    pthread_mutex_unlock(&records_lock);
    if (out.status == 0) {
        fprintf(stderr, "record: GET %s: no answer to the upgrade\n", path);
        failures++;
    }
    free(out.body);
}

/* GET /twilio/stream/{id} and POST /twilio/reconnect on a stream-mode
 * server: Twilio's signed upgrade (101) and its refusals, the <Redirect>
 * after <Connect> with the call live, unknown here, or a wrong secret. */
static void twilio_stream_routes(const srv *c)
{
    static const char *const voice[] = {
        "CallSid",      CALLSID,   "AccountSid", TWILIO_STANDIN_SID, "From",
        "+33612345678", "To",      BOT_TW,       "CallStatus",       "ringing",
        "Direction",    "inbound", NULL};
    reply r;
    twilio_hook(c, "voice (stream mode): an inbound call", "/twilio/voice", voice, false, 200, &r);
    char stream[256], back[2048];
    twiml_url(r.body, "<Stream", "url", stream, sizeof stream);
    twiml_url(r.body, "<Redirect", NULL, back, sizeof back);
    reply_free(&r);
    static const char wss[] = "wss://bot.example.test";
    if (strncmp(stream, wss, strlen(wss)) != 0 || !*back)
        die("no <Connect><Stream> and <Redirect> in the stream-mode answer");
    const char *path = stream + strlen(wss);

    static const char *const only[] = {"CallSid", CALLSID, NULL};
    twilio_hook(c, "reconnect: the stream dropped, the call is live", back, only, false, 200, &r);
    reply_free(&r);
    twilio_hook(c, "reconnect: forged signature", back, only, true, 403, &r);
    reply_free(&r);
    char bad[2048];
    snprintf(bad, sizeof bad, "%s", back);
    wrong_secret(bad);
    twilio_hook(c, "reconnect: wrong call secret", bad, only, false, 404, &r);
    reply_free(&r);
    twilio_hook(c, "reconnect: a call never stored here (an apology, then Hangup)",
                "/twilio/reconnect?call=" UNKNOWN "&s=x", only, false, 200, &r);
    reply_free(&r);

    /* The upgrade, signed over the wss:// URL as Twilio does. */
    char url[512], sig[512], forged[512], unknown_sig[512];
    static const char *const none[] = {NULL};
    snprintf(url, sizeof url, "%s%s", wss, path);
    char *sg = twilio_standin_signature(TWILIO_STANDIN_TOKEN, url, none);
    snprintf(sig, sizeof sig, "X-Twilio-Signature: %s", sg);
    sg[0] = sg[0] == 'A' ? 'B' : 'A';
    snprintf(forged, sizeof forged, "X-Twilio-Signature: %s", sg);
    free(sg);
    char unknown_path[128];
    snprintf(unknown_path, sizeof unknown_path, "/twilio/stream/" UNKNOWN);
    snprintf(url, sizeof url, "%s%s", wss, unknown_path);
    sg = twilio_standin_signature(TWILIO_STANDIN_TOKEN, url, none);
    snprintf(unknown_sig, sizeof unknown_sig, "X-Twilio-Signature: %s", sg);
    free(sg);
    const char *up = "Upgrade: websocket", *conn = "Connection: Upgrade",
               *key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
               *v13 = "Sec-WebSocket-Version: 13";
    const char *h_forged[] = {up, conn, key, v13, forged, NULL};
    raw_upgrade(c, "stream: forged signature", path, h_forged, 403);
    const char *h_unknown[] = {up, conn, key, v13, unknown_sig, NULL};
    raw_upgrade(c, "stream: no such call", unknown_path, h_unknown, 404);
    const char *h_plain[] = {v13, sig, NULL};
    raw_upgrade(c, "stream: not a WebSocket upgrade", path, h_plain, 400);
    const char *h_v8[] = {up, conn, key, "Sec-WebSocket-Version: 8", sig, NULL};
    raw_upgrade(c, "stream: another WebSocket version", path, h_v8, 426);
    const char *h_ok[] = {up, conn, key, v13, sig, NULL};
    raw_upgrade(c, "stream: Twilio's signed upgrade", path, h_ok, 101);
}

/* ACS ---------------------------------------------------------------------- */

static void acs_routes(const srv *a)
{
    const char *json = "Content-Type: application/json";
    static const char validation[] =
        "[{\"id\":\"v1\",\"topic\":\"/subscriptions/x\",\"subject\":\"\",\"data\":"
        "{\"validationCode\":\"code-123\"},\"eventType\":\"Microsoft.EventGrid."
        "SubscriptionValidationEvent\",\"eventTime\":\"2026-11-25T10:00:00Z\","
        "\"metadataVersion\":\"1\",\"dataVersion\":\"2\"}]";
    req r1 = {"events: no subscription token", "POST", "/acs/events", validation, 0, {json}, 401};
    exchange(a, &r1);
    req r2 = {"events: the validation handshake",
              "POST",
              "/acs/events?token=" EG_TOKEN,
              validation,
              0,
              {json},
              200};
    exchange(a, &r2);
    req r3 = {"events: not an array of events",
              "POST",
              "/acs/events?token=" EG_TOKEN,
              "{\"eventType\":1}",
              0,
              {json},
              400};
    exchange(a, &r3);
    req o1 = {"events: CloudEvents handshake",
              "OPTIONS",
              "/acs/events?token=" EG_TOKEN,
              NULL,
              0,
              {"WebHook-Request-Origin: eventgrid.azure.net"},
              200};
    exchange(a, &o1);
    req o2 = {"events: handshake without its origin",
              "OPTIONS",
              "/acs/events?token=" EG_TOKEN,
              NULL,
              0,
              {NULL},
              400};
    exchange(a, &o2);

    static const char incoming[] =
        "[{\"id\":\"i1\",\"topic\":\"/subscriptions/x\",\"subject\":\"/caller/x\","
        "\"eventType\":\"Microsoft.Communication.IncomingCall\",\"eventTime\":"
        "\"2026-11-25T10:00:00Z\",\"dataVersion\":\"1.0\",\"metadataVersion\":\"1\",\"data\":{"
        "\"to\":{\"kind\":\"phoneNumber\",\"rawId\":\"4:" BOT_ACS
        "\",\"phoneNumber\":{\"value\":\"" BOT_ACS
        "\"}},\"from\":{\"kind\":\"phoneNumber\",\"rawId\":\"4:+33611112222\",\"phoneNumber\":"
        "{\"value\":\"+33611112222\"}},\"serverCallId\":\"srv-1\",\"incomingCallContext\":"
        "\"ctx-1\",\"correlationId\":\"corr-1\"}}]";
    req r4 = {"events: an incoming call",
              "POST",
              "/acs/events?token=" EG_TOKEN,
              incoming,
              0,
              {json},
              200};
    exchange(a, &r4);
    /* The answer request the server sent ACS names its callback URL. */
    char callback[2048] = "";
    for (int tries = 0; tries < 500 && !*callback; tries++) {
        for (int i = 0; i < acs_standin_request_count(acs) && !*callback; i++) {
            char *p = acs_standin_request_path(acs, i);
            if (p && strstr(p, "callConnections:answer")) {
                json_t *j = acs_standin_request_json(acs, i);
                const char *cb = json_string_value(json_object_get(j, "callbackUri"));
                if (cb && !strncmp(cb, PUBLIC, strlen(PUBLIC)))
                    snprintf(callback, sizeof callback, "%s", cb + strlen(PUBLIC));
                json_decref(j);
            }
            free(p);
        }
        if (!*callback)
            sleep_ms(10);
    }
    if (!*callback)
        die("the server never answered the ACS call");
    char *conn = acs_standin_latest_call(acs);
    char *ev = acs_standin_event("CallConnected", conn, NULL);
    char *good = acs_standin_bearer(acs, RESOURCE, ACS_TOKEN_VALID);
    char *forged = acs_standin_bearer(acs, RESOURCE, ACS_TOKEN_FORGED);
    char auth_good[4096], auth_forged[4096];
    snprintf(auth_good, sizeof auth_good, "Authorization: %s", good);
    snprintf(auth_forged, sizeof auth_forged, "Authorization: %s", forged);
    req c1 = {"callback: forged bearer token", "POST", callback, ev, 0, {json, auth_forged}, 401};
    exchange(a, &c1);
    req c2 = {"callback: the call connected", "POST", callback, ev, 0, {json, auth_good}, 200};
    exchange(a, &c2);
    char bad[2048];
    snprintf(bad, sizeof bad, "%s", callback);
    wrong_secret(bad);
    req c3 = {"callback: wrong call secret", "POST", bad, ev, 0, {json, auth_good}, 401};
    exchange(a, &c3);
    req c4 = {"callback: no such call", "POST", "/acs/callback?call=" UNKNOWN "&s=x", ev, 0,
              {json, auth_good},        404};
    exchange(a, &c4);
    req c5 = {"callback: not CloudEvents", "POST", callback, "{}", 0, {json, auth_good}, 400};
    exchange(a, &c5);
    char *hangup = acs_standin_event("CallDisconnected", conn, NULL);
    req c6 = {"callback: the call ended", "POST", callback, hangup, 0, {json, auth_good}, 200};
    exchange(a, &c6);
    free(hangup);
    free(conn);
    free(ev);
    free(good);
    free(forged);
}

/* REST, pages, health ------------------------------------------------------- */

/* The "call_id" of a JSON body, into out (37 bytes). */
/* GET /acs/media on an ACS stream-mode server: ACS's upgrade for a call it
 * answered (the bearer token it signs, the call's secret in the
 * transportUrl) and the refusals. */
static void acs_media_routes(const srv *c)
{
    static const char incoming[] =
        "[{\"id\":\"i1\",\"eventType\":\"Microsoft.Communication.IncomingCall\",\"data\":{"
        "\"to\":{\"kind\":\"phoneNumber\",\"phoneNumber\":{\"value\":\"" BOT_ACS "\"}},"
        "\"from\":{\"kind\":\"phoneNumber\",\"phoneNumber\":{\"value\":\"+33612345678\"}},"
        "\"serverCallId\":\"srv-media\",\"incomingCallContext\":\"ctx-media\"}}]";
    int before = acs_standin_request_count(acs);
    req r = {"events: an incoming call (stream mode)", "POST", "/acs/events", incoming, 0,
             {"Content-Type: application/json"},       200};
    exchange(c, &r);
    char path[1024] = "";
    for (int t = 0; t < 500 && !*path; t++) {
        for (int i = before; i < acs_standin_request_count(acs) && !*path; i++) {
            json_t *j = acs_standin_request_json(acs, i);
            const char *u = json_string_value(
                json_object_get(json_object_get(j, "mediaStreamingOptions"), "transportUrl"));
            if (u && !strncmp(u, "wss://bot.example.test", 22))
                snprintf(path, sizeof path, "%s", u + 22);
            json_decref(j);
        }
        if (!*path)
            sleep_ms(20);
    }
    if (!*path)
        die("no answer with mediaStreamingOptions");
    char *bearer = acs_standin_bearer(acs, RESOURCE, ACS_TOKEN_VALID);
    char auth[4096];
    snprintf(auth, sizeof auth, "Authorization: %s", bearer);
    free(bearer);
    const char *up = "Upgrade: websocket", *conn = "Connection: Upgrade",
               *key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
               *v13 = "Sec-WebSocket-Version: 13";
    const char *h_none[] = {up, conn, key, v13, NULL};
    raw_upgrade(c, "media: no bearer token", path, h_none, 401);
    char wrong[1024];
    snprintf(wrong, sizeof wrong, "%s", path);
    wrong_secret(wrong);
    const char *h_ok[] = {up, conn, key, v13, auth, NULL};
    raw_upgrade(c, "media: wrong call secret", wrong, h_ok, 401);
    raw_upgrade(c, "media: no such call", "/acs/media?call=" UNKNOWN "&s=x", h_ok, 404);
    const char *h_plain[] = {auth, NULL};
    raw_upgrade(c, "media: not a WebSocket upgrade", path, h_plain, 400);
    raw_upgrade(c, "media: ACS's upgrade", path, h_ok, 101);
}

static void call_id_of(const char *body, char *out)
{
    json_t *j = json_loads(body, 0, NULL);
    const char *id = json_string_value(json_object_get(j, "call_id"));
    snprintf(out, 37, "%s", id ? id : "");
    json_decref(j);
}

static void rest_routes(const srv *a)
{
    const char *json = "Content-Type: application/json";
    req h[] = {
        {"liveness", "GET", "/health/liveness", NULL, 0, {NULL}, 200},
        {"liveness: HEAD", "HEAD", "/health/liveness", NULL, 0, {NULL}, 200},
        {"readiness: every check passes", "GET", "/health/readiness", NULL, 0, {NULL}, 200},
        {"lexicon", "GET", "/lexicon.xml?lang=fr-FR", NULL, 0, {NULL}, 200},
        {"metrics", "GET", "/metrics", NULL, 0, {BEARER}, 200},
        {"metrics: no token", "GET", "/metrics", NULL, 0, {NULL}, 401},
        {"metrics: wrong token", "GET", "/metrics", NULL, 0, {"Authorization: Bearer nope"}, 401},
        {"flags", "GET", "/admin/flags", NULL, 0, {BEARER}, 200},
        {"flags: no token", "GET", "/admin/flags", NULL, 0, {NULL}, 401},
        {"flags: set, a falsy value and a reference name",
         "PATCH",
         "/admin/flags",
         "{\"conversation\":{\"slow_llm_for_chat\":false},\"callback_timeout_hour\":0}",
         0,
         {json, BEARER},
         200},
        {"flags: every problem at once",
         "PATCH",
         "/admin/flags",
         "{\"answer_hard_timeout_sec\":\"soon\",\"vad_threshold\":99,\"server.listen\":\"x\"}",
         0,
         {json, BEARER},
         422},
        {"flags: not JSON", "PATCH", "/admin/flags", "{", 0, {json, BEARER}, 400},
        {"flags: no token", "PATCH", "/admin/flags", "{}", 0, {json}, 401},
        {"call: no token", "POST", "/call", "{\"phone_number\":\"+33612345678\"}", 0, {json}, 401},
        {"call: not JSON", "POST", "/call", "{\"phone_number\":", 0, {json, BEARER}, 400},
        {"call: no phone number", "POST", "/call", "{}", 0, {json, BEARER}, 400},
        {"call: unknown telephony",
         "POST",
         "/call",
         "{\"phone_number\":\"+33612345678\",\"telephony\":\"carrier-pigeon\"}",
         0,
         {json, BEARER},
         400},
        {"calls: limit out of range", "GET", "/call?limit=1001", NULL, 0, {BEARER}, 400},
        {"calls: offset not a number", "GET", "/call?offset=-1", NULL, 0, {BEARER}, 400},
        {"calls: no token", "GET", "/call", NULL, 0, {NULL}, 401},
        {"calls: none of this number",
         "GET",
         "/call?phone_number=%2B19999999999",
         NULL,
         0,
         {BEARER},
         200},
        {"calls: limit 0", "GET", "/call?limit=0", NULL, 0, {BEARER}, 200},
        {"call: unknown id", "GET", "/call/" UNKNOWN, NULL, 0, {BEARER}, 404},
        {"call: unknown number", "GET", "/call/%2B19999999999", NULL, 0, {BEARER}, 404},
        {"call: no token", "GET", "/call/" UNKNOWN, NULL, 0, {NULL}, 401},
        {"report list: no token", "GET", "/report", NULL, 0, {NULL}, 401},
        {"report list", "GET", "/report?token=" TOKEN, NULL, 0, {NULL}, 200},
        {"report list: bearer",
         "GET",
         "/report?phone_number=%2B33612345678",
         NULL,
         0,
         {BEARER},
         200},
        {"report: unknown call", "GET", "/report/" UNKNOWN "?token=" TOKEN, NULL, 0, {NULL}, 404},
        {"report: no token", "GET", "/report/" UNKNOWN, NULL, 0, {NULL}, 401},
        {"router: unknown path", "GET", "/nowhere", NULL, 0, {NULL}, 404},
        {"router: method not allowed", "DELETE", "/call", NULL, 0, {BEARER}, 405},
        {"router: method not allowed on a webhook", "GET", "/twilio/voice", NULL, 0, {NULL}, 405},
    };
    for (size_t i = 0; i < sizeof h / sizeof *h; i++)
        exchange(a, &h[i]);

    /* An outbound call through Twilio, then the documents of it. */
    reply r;
    req create = {"call: placed through Twilio",
                  "POST",
                  "/call",
                  "{\"phone_number\":\"+33612345678\",\"telephony\":\"twilio\",\"bot_name\":"
                  "\"Robert\",\"task\":\"Help the customer file a claim\"}",
                  0,
                  {json, BEARER},
                  201};
    send_req(a, &create, &r);
    char id[40];
    call_id_of(r.body, id);
    reply_free(&r);
    if (!*id)
        die("POST /call gave no call_id");
    char path[256], report[256], report_bad[256];
    snprintf(path, sizeof path, "/call/%s", id);
    snprintf(report, sizeof report, "/report/%s?token=" TOKEN, id);
    snprintf(report_bad, sizeof report_bad, "/report/%s?key=0123456789abcdef0123456789abcdef", id);
    req g[] = {
        {"call: by id", "GET", path, NULL, 0, {BEARER}, 200},
        {"call: by number", "GET", "/call/%2B33612345678", NULL, 0, {BEARER}, 200},
        {"calls", "GET", "/call", NULL, 0, {BEARER}, 200},
        {"calls: a page", "GET", "/call?limit=1&offset=1", NULL, 0, {BEARER}, 200},
        {"report", "GET", report, NULL, 0, {NULL}, 200},
        {"report: wrong key", "GET", report_bad, NULL, 0, {NULL}, 401},
    };
    for (size_t i = 0; i < sizeof g / sizeof *g; i++)
        exchange(a, &g[i]);
}

/* Chat --------------------------------------------------------------------- */

typedef struct waiting {
    const srv *s;
    req r;
    pthread_t thread;
} waiting;

static void *wait_thread(void *ud)
{
    waiting *w = ud;
    exchange(w->s, &w->r);
    return NULL;
}

static void chat_routes(const srv *a)
{
    const char *json = "Content-Type: application/json";
    req bad_lang = {"chat: unknown language", "POST", "/chat", "{\"lang\":\"xx-XX\"}", 0,
                    {json, BEARER},           400};
    exchange(a, &bad_lang);
    req no_token = {"chat: no token", "POST", "/chat", "{}", 0, {json}, 401};
    exchange(a, &no_token);
    req start = {"chat: started",
                 "POST",
                 "/chat",
                 "{\"phone_number\":\"+33633334444\",\"lang\":\"en-US\"}",
                 0,
                 {json, BEARER},
                 200};
    reply r;
    send_req(a, &start, &r);
    char id[40];
    call_id_of(r.body, id);
    reply_free(&r);
    if (!*id)
        die("POST /chat gave no call_id");
    char say[128], next[128];
    snprintf(say, sizeof say, "/chat/%s", id);
    snprintf(next, sizeof next, "/chat/%s/next", id);
    static char big[20000];
    int n = snprintf(big, sizeof big, "{\"text\":\"");
    memset(big + n, 'a', 17000);
    snprintf(big + n + 17000, sizeof big - (size_t)n - 17000, "\"}");
    req rs[] = {
        {"chat: nothing said", "POST", say, "{}", 0, {json, BEARER}, 400},
        {"chat: text over 16 KiB", "POST", say, big, 0, {json, BEARER}, 413},
        {"chat: no such chat",
         "POST",
         "/chat/" UNKNOWN,
         "{\"text\":\"hi\"}",
         0,
         {json, BEARER},
         404},
        {"chat: bad after", "POST", next, "{\"after\":-1}", 0, {json, BEARER}, 400},
        {"chat next: no such chat", "POST", "/chat/" UNKNOWN "/next", NULL, 0, {BEARER}, 404},
        {"chat next: no token", "POST", next, NULL, 0, {NULL}, 401},
    };
    for (size_t i = 0; i < sizeof rs / sizeof *rs; i++)
        exchange(a, &rs[i]);

    /* A slow answer: the caller's words wait for it; a poll sent meanwhile
     * takes the answer and the waiting request is told so (409). */
    standin_spec slow = STANDIN_SPEC_INIT;
    slow.content = "Thank you. When did it happen?";
    slow.ttft_ms = 2500;
    standin_push(llm, &slow);
    int asked = standin_request_count(llm);
    waiting w = {a,
                 {"chat: superseded by a newer poll",
                  "POST",
                  say,
                  "{\"text\":\"A tree fell on my roof\"}",
                  0,
                  {json, BEARER},
                  409},
                 0};
    if (pthread_create(&w.thread, NULL, wait_thread, &w) != 0)
        die("pthread_create");
    /* The caller's words wait once the bot asked the LLM. */
    for (int tries = 0; tries < 1000 && standin_request_count(llm) == asked; tries++)
        sleep_ms(10);
    req poll = {"chat next: the answer", "POST", next, "{}", 0, {json, BEARER}, 200};
    exchange(a, &poll);
    pthread_join(w.thread, NULL);
    req more = {"chat: the caller speaks",
                "POST",
                say,
                "{\"text\":\"Yesterday at 9 pm\"}",
                0,
                {json, BEARER},
                200};
    exchange(a, &more);
    req hang = {
        "chat: the caller hangs up", "POST", say, "{\"hangup\":true}", 0, {json, BEARER}, 200};
    exchange(a, &hang);
}

/* The database locked by another process ------------------------------------ */

static void locked_routes(const srv *a)
{
    db_lock l;
    if (db_lock_take(&l, a->db) != 0)
        die("cannot lock the database");
    const char *json = "Content-Type: application/json";
    req rs[] = {
        {"readiness: the database is locked", "GET", "/health/readiness", NULL, 0, {NULL}, 503},
        {"call: the database is locked",
         "POST",
         "/call",
         "{\"phone_number\":\"+33612345678\",\"telephony\":\"twilio\"}",
         0,
         {json, BEARER},
         503},
        {"chat: the database stays locked", "POST", "/chat", "{}", 0, {json, BEARER}, 503},
    };
    for (size_t i = 0; i < sizeof rs / sizeof *rs; i++)
        exchange(a, &rs[i]);
    static const char *const sms[] = {"MessageSid", "SM0000000000000000000000000000aa03",
                                      "From",       "+33612345678",
                                      "To",         BOT_TW,
                                      "Body",       "Are you there?",
                                      NULL};
    reply r;
    twilio_hook(a, "sms: the database stays locked", "/twilio/sms", sms, false, 503, &r);
    reply_free(&r);
    if (db_lock_release(&l) != 0)
        failures++;
}

/* Server B: no token, no providers ------------------------------------------ */

static void notoken_routes(const srv *b)
{
    const char *json = "Content-Type: application/json";
    const char *evil_host = "Host: evil.example";
    const char *evil_origin = "Origin: https://evil.example";
    const char *proxied = "X-Forwarded-For: 198.51.100.7";
    req rs[] = {
        {"liveness: foreign Host", "GET", "/health/liveness", NULL, 0, {evil_host}, 421},
        {"readiness: foreign Origin", "GET", "/health/readiness", NULL, 0, {evil_origin}, 403},
        {"openapi: foreign Host", "GET", "/openapi.json", NULL, 0, {evil_host}, 421},
        {"lexicon: none configured", "GET", "/lexicon.xml", NULL, 0, {NULL}, 404},
        {"lexicon: foreign Origin", "GET", "/lexicon.xml", NULL, 0, {evil_origin}, 403},
        {"metrics: through a proxy", "GET", "/metrics", NULL, 0, {proxied}, 403},
        {"metrics: foreign Host", "GET", "/metrics", NULL, 0, {evil_host}, 421},
        {"calls: this machine, no token", "GET", "/call", NULL, 0, {NULL}, 200},
        {"calls: foreign Origin", "GET", "/call", NULL, 0, {evil_origin}, 403},
        {"call: through a proxy", "GET", "/call/" UNKNOWN, NULL, 0, {proxied}, 403},
        {"call: foreign Host", "GET", "/call/" UNKNOWN, NULL, 0, {evil_host}, 421},
        {"call: foreign Host", "POST", "/call", "{}", 0, {json, evil_host}, 421},
        {"call: no telephony configured",
         "POST",
         "/call",
         "{\"phone_number\":\"+33612345678\"}",
         0,
         {json},
         400},
        {"report list: foreign Origin", "GET", "/report", NULL, 0, {evil_origin}, 403},
        {"report: foreign Host", "GET", "/report/" UNKNOWN, NULL, 0, {evil_host}, 421},
        {"report list: this machine", "GET", "/report", NULL, 0, {NULL}, 200},
        {"chat: foreign Origin", "POST", "/chat", "{}", 0, {json, evil_origin}, 403},
        {"chat: foreign Host",
         "POST",
         "/chat/" UNKNOWN,
         "{\"text\":\"hi\"}",
         0,
         {json, evil_host},
         421},
        {"chat next: through a proxy", "POST", "/chat/" UNKNOWN "/next", NULL, 0, {proxied}, 403},
        {"chat: the first one", "POST", "/chat", NULL, 0, {NULL}, 200},
        {"chat: over server.max_chats", "POST", "/chat", NULL, 0, {NULL}, 503},
        {"events: ACS not configured", "POST", "/acs/events", "[]", 0, {json}, 404},
        {"events handshake: ACS not configured",
         "OPTIONS",
         "/acs/events",
         NULL,
         0,
         {"WebHook-Request-Origin: eventgrid.azure.net"},
         404},
        {"callback: ACS not configured",
         "POST",
         "/acs/callback?call=" UNKNOWN "&s=x",
         "[]",
         0,
         {json},
         404},
        {"call: body over server.max_body_bytes", "POST", "/call", NULL, 0, {json}, 413},
    };
    static char huge[4096];
    memset(huge, ' ', sizeof huge - 1);
    huge[0] = '{';
    huge[sizeof huge - 2] = '}';
    rs[sizeof rs / sizeof *rs - 1].body = huge;
    for (size_t i = 0; i < sizeof rs / sizeof *rs; i++)
        exchange(b, &rs[i]);
    static const char *const voice[] = {"CallSid", CALLSID, "From", "+33612345678", NULL};
    reply r;
    twilio_hook(b, "voice: Twilio not configured (no auth token to check with)", "/twilio/voice",
                voice, false, 403, &r);
    reply_free(&r);
}

/* Main --------------------------------------------------------------------- */

static const char server_a_yaml[] =
    "database: {sqlite: {path: \"@DB@\"}}\n"
    "server:\n"
    "  api_token: " TOKEN "\n"
    "  public_url: " PUBLIC "\n"
    "  store_wait_ms: 300\n"
    "conversation:\n"
    "  initiate:\n"
    "    agent_phone_number: \"" AGENT "\"\n"
    "    lang: {default_short_code: en-US}\n"
    "  lexicon:\n"
    "    - {grapheme: \"contrat mini\", alias: \"contrat mini, notre formule\", lang: fr-FR}\n"
    "llm:\n"
    "  fast: {mode: openai_compatible, endpoint: \"http://127.0.0.1:%d/v1\", retries: 0}\n"
    "twilio:\n"
    "  account_sid: " TWILIO_STANDIN_SID "\n"
    "  auth_token: " TWILIO_STANDIN_TOKEN "\n"
    "  phone_number: \"" BOT_TW "\"\n"
    "  api_base_url: \"%s\"\n"
    "communication_services:\n"
    "  endpoint: \"%s\"\n"
    "  access_key: \"" ACS_STANDIN_KEY "\"\n"
    "  phone_number: \"" BOT_ACS "\"\n"
    "  resource_id: " RESOURCE "\n"
    "  openid_config_url: \"%s/calling/.well-known/acsopenidconfiguration\"\n"
    "  event_grid_token: " EG_TOKEN "\n"
    "sms: {mode: twilio}\n";

/* C: Twilio and ACS in stream mode (the speech providers: the offline
 * defaults). */
static const char server_c_yaml[] =
    "database: {sqlite: {path: \"@DB@\"}}\n"
    "server:\n"
    "  api_token: " TOKEN "\n"
    "  public_url: " PUBLIC "\n"
    "conversation:\n"
    "  initiate:\n"
    "    agent_phone_number: \"" AGENT "\"\n"
    "    lang: {default_short_code: en-US}\n"
    "llm:\n"
    "  fast: {mode: openai_compatible, endpoint: \"http://127.0.0.1:%d/v1\", retries: 0}\n"
    "twilio:\n"
    "  account_sid: " TWILIO_STANDIN_SID "\n"
    "  auth_token: " TWILIO_STANDIN_TOKEN "\n"
    "  phone_number: \"" BOT_TW "\"\n"
    "  api_base_url: \"%s\"\n"
    "  voice: stream\n"
    "communication_services:\n"
    "  endpoint: \"%s\"\n"
    "  access_key: \"" ACS_STANDIN_KEY "\"\n"
    "  phone_number: \"" BOT_ACS "\"\n"
    "  resource_id: " RESOURCE "\n"
    "  openid_config_url: \"%s/calling/.well-known/acsopenidconfiguration\"\n"
    "  voice: stream\n";

static const char server_b_yaml[] = "database: {sqlite: {path: \"@DB@\"}}\n"
                                    "server:\n"
                                    "  max_chats: 1\n"
                                    "  max_body_bytes: 2048\n"
                                    "conversation:\n"
                                    "  initiate:\n"
                                    "    lang: {default_short_code: en-US}\n";

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: record SERVER_BIN OUTDIR\n");
        return 2;
    }
    server_bin = argv[1];
    outdir = argv[2];
    curl_global_init(CURL_GLOBAL_DEFAULT);
    records = json_array();
    llm = standin_start(NULL);
    tw = twilio_standin_start(NULL, NULL);
    acs = acs_standin_start(NULL);
    if (!llm || !tw || !acs)
        die("cannot start the stand-ins");

    char yaml_a[8192];
    snprintf(yaml_a, sizeof yaml_a, server_a_yaml, standin_port(llm), twilio_standin_url(tw),
             acs_standin_url(acs), acs_standin_url(acs));
    char yaml_c[4096];
    snprintf(yaml_c, sizeof yaml_c, server_c_yaml, standin_port(llm), twilio_standin_url(tw),
             acs_standin_url(acs), acs_standin_url(acs));
    srv a, b, c;
    start_server(&a, "A", yaml_a);
    start_server(&b, "B", server_b_yaml);
    start_server(&c, "C", yaml_c);

    reply doc;
    req get_doc = {"openapi", "GET", "/openapi.json", NULL, 0, {NULL}, 200};
    send_req(&a, &get_doc, &doc);
    char path[1024];
    snprintf(path, sizeof path, "%s/openapi.json", outdir);
    FILE *f = fopen(path, "w");
    if (!f || fwrite(doc.body, 1, doc.len, f) != doc.len || fclose(f) != 0)
        die("cannot write openapi.json");
    reply_free(&doc);

    twilio_routes(&a);
    acs_routes(&a);
    rest_routes(&a);
    chat_routes(&a);
    locked_routes(&a);
    notoken_routes(&b);
    twilio_stream_routes(&c);
    acs_media_routes(&c);

    stop_server(&a);
    stop_server(&b);
    stop_server(&c);
    standin_stop(llm);
    twilio_standin_stop(tw);
    acs_standin_stop(acs);

    snprintf(path, sizeof path, "%s/exchanges.json", outdir);
    if (json_dump_file(records, path, JSON_INDENT(1)) != 0)
        die("cannot write exchanges.json");
    printf("record: %zu exchanges in %s\n", json_array_size(records), path);
    json_decref(records);
    curl_global_cleanup();
    return failures ? 1 : 0;
}
