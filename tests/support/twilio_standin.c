/* A local Twilio REST stand-in and a signed-webhook sender (see the header). */
#include "support/twilio_standin.h"
#include "support/wire.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define HEAD_MAX (16 * 1024)
#define BODY_MAX (1024 * 1024)

/* Growable string ------------------------------------------------------------ */

typedef struct sbuf {
    char *data;
    size_t len, cap;
    int failed;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d) {
            b->failed = 1;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void sb_puts(sbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void sb_printf(sbuf *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        b->failed = 1;
        return;
    }
    sb_add(b, tmp, (size_t)n);
}

/* JSON string literal, or null. */
static void sb_json(sbuf *b, const char *s)
{
    if (!s) {
        sb_puts(b, "null");
        return;
    }
    sb_puts(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            sb_add(b, e, 2);
        } else if (c < 0x20) {
            sb_printf(b, "\\u%04x", c);
        } else {
            sb_add(b, (const char *)&c, 1);
        }
    }
    sb_puts(b, "\"");
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* Forms (independent of libccai's parser) ------------------------------------ */

typedef struct params {
    size_t n;
    char **names, **values;
} params;

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static char *url_decode(const char *s, size_t n)
{
    char *out = malloc(n + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            *o++ = ' ';
        } else if (s[i] == '%' && i + 2 < n && hexval((unsigned char)s[i + 1]) >= 0 &&
                   hexval((unsigned char)s[i + 2]) >= 0) {
            *o++ = (char)(hexval((unsigned char)s[i + 1]) * 16 + hexval((unsigned char)s[i + 2]));
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

static void params_free(params *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->names[i]);
        free(p->values[i]);
    }
    free(p->names);
    free(p->values);
    memset(p, 0, sizeof *p);
}

static int params_add(params *p, char *name, char *value)
{
    char **n = realloc(p->names, (p->n + 1) * sizeof *n);
    if (n)
        p->names = n;
    char **v = realloc(p->values, (p->n + 1) * sizeof *v);
    if (v)
        p->values = v;
    if (!n || !v || !name || !value) {
        free(name);
        free(value);
        return -1;
    }
    p->names[p->n] = name;
    p->values[p->n] = value;
    p->n++;
    return 0;
}

static void params_parse(params *p, const char *body, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && body[end] != '&')
            end++;
        if (end > i) {
            size_t eq = i;
            while (eq < end && body[eq] != '=')
                eq++;
            params_add(p, url_decode(body + i, eq - i),
                       eq < end ? url_decode(body + eq + 1, end - eq - 1) : strdup(""));
        }
        i = end + 1;
    }
}

static const char *params_get(const params *p, const char *name)
{
    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(p->names[i], name) == 0)
            return p->values[i];
    }
    return NULL;
}

/* State ------------------------------------------------------------------------ */

typedef struct logged {
    char method[16];
    char *target;
    char *head;
    char *body;
    size_t body_len;
    params form;
    int status;
} logged;

typedef struct call {
    char sid[35];
    char *to, *from, *status;
    /* As created: the answer URL and answering-machine detection. */
    char *url, *machine_detection, *async_amd, *amd_callback;
} call;

struct twilio_standin {
    int listen_fd;
    int wake[2];
    int port;
    char url[64];
    char *sid, *token, *expected_auth;
    pthread_t thread;
    pthread_mutex_t lock;
    logged *log;
    int n_log, cap_log;
    twilio_standin_fault *faults;
    int n_faults, cap_faults;
    call *calls;
    int n_calls, cap_calls;
    unsigned long long seed, counter;
};

static char *b64(const unsigned char *data, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    if (out)
        EVP_EncodeBlock((unsigned char *)out, data, (int)n);
    return out;
}

static void new_sid(twilio_standin *s, const char *prefix, char out[35])
{
    /* Caller holds the lock. */
    s->counter++;
    snprintf(out, 35, "%s%016llx%016llx", prefix, s->seed, s->counter);
}

/* Replies ------------------------------------------------------------------------ */

static void reply(int fd, int status, const char *content_type, const char *extra_headers,
                  const char *body)
{
    sbuf b = {0};
    sb_printf(&b,
              "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
              "Twilio-Request-Id: RQ%032x\r\nConnection: close\r\n",
              status, wire_reason(status), content_type, strlen(body), (unsigned)status);
    if (extra_headers)
        sb_puts(&b, extra_headers);
    sb_puts(&b, "\r\n");
    sb_puts(&b, body);
    if (!b.failed)
        wire_write_all(fd, b.data, b.len);
    free(b.data);
}

static void reply_error(int fd, int status, int code, const char *message,
                        const char *extra_headers)
{
    sbuf b = {0};
    sb_printf(&b, "{\"code\":%d,\"message\":", code);
    sb_json(&b, message);
    sb_printf(&b, ",\"more_info\":\"https://www.twilio.com/docs/errors/%d\",\"status\":%d}", code,
              status);
    reply(fd, status, "application/json", extra_headers, b.failed ? "{}" : b.data);
    free(b.data);
}

static void date_now(char *out, size_t n)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, n, "%a, %d %b %Y %H:%M:%S +0000", &tm);
}

static void call_json(twilio_standin *s, const call *c, sbuf *b)
{
    char date[64];
    date_now(date, sizeof date);
    sb_printf(b, "{\"sid\":\"%s\",\"account_sid\":\"%s\",\"parent_call_sid\":null,\"to\":", c->sid,
              s->sid);
    sb_json(b, c->to);
    sb_puts(b, ",\"to_formatted\":");
    sb_json(b, c->to);
    sb_puts(b, ",\"from\":");
    sb_json(b, c->from);
    sb_puts(b, ",\"from_formatted\":");
    sb_json(b, c->from);
    sb_puts(b, ",\"status\":");
    sb_json(b, c->status);
    sb_printf(b,
              ",\"direction\":\"outbound-api\",\"api_version\":\"2010-04-01\","
              "\"start_time\":null,\"end_time\":null,\"duration\":null,\"price\":null,"
              "\"price_unit\":\"USD\",\"answered_by\":null,\"caller_name\":null,"
              "\"date_created\":\"%s\",\"date_updated\":\"%s\","
              "\"uri\":\"/2010-04-01/Accounts/%s/Calls/%s.json\","
              "\"subresource_uris\":{\"recordings\":\"/2010-04-01/Accounts/%s/Calls/%s/"
              "Recordings.json\"}}",
              date, date, s->sid, c->sid, s->sid, c->sid);
}

static int valid_to(const char *to)
{
    if (strncmp(to, "client:", 7) == 0 || strncmp(to, "sip:", 4) == 0)
        return to[to[0] == 'c' ? 7 : 4] != '\0';
    if (to[0] != '+' || !to[1])
        return 0;
    for (const char *p = to + 1; *p; p++) {
        if (*p < '0' || *p > '9')
            return 0;
    }
    return 1;
}

static int is_ended(const char *status)
{
    return strcmp(status, "completed") == 0 || strcmp(status, "canceled") == 0 ||
           strcmp(status, "failed") == 0 || strcmp(status, "busy") == 0 ||
           strcmp(status, "no-answer") == 0;
}

/* Routes; the lock is held. Returns the status sent. */
static int route_create_call(twilio_standin *s, int fd, const params *p)
{
    const char *to = params_get(p, "To"), *from = params_get(p, "From");
    if (!to) {
        reply_error(fd, 400, 21201, "No 'To' number is specified", NULL);
        return 400;
    }
    if (!from) {
        reply_error(fd, 400, 21213, "No 'From' number is specified", NULL);
        return 400;
    }
    if (!params_get(p, "Url") && !params_get(p, "Twiml") && !params_get(p, "ApplicationSid")) {
        reply_error(fd, 400, 21205, "Url parameter is required.", NULL);
        return 400;
    }
    if (!valid_to(to)) {
        char msg[256];
        snprintf(msg, sizeof msg, "Invalid 'To' Phone Number: %.200s", to);
        reply_error(fd, 400, 21211, msg, NULL);
        return 400;
    }
    if (s->n_calls == s->cap_calls) {
        int cap = s->cap_calls ? 2 * s->cap_calls : 8;
        call *c = realloc(s->calls, (size_t)cap * sizeof *c);
        if (!c) {
            reply_error(fd, 500, 20500, "stand-in out of memory", NULL);
            return 500;
        }
        s->calls = c;
        s->cap_calls = cap;
    }
    call *c = &s->calls[s->n_calls++];
    new_sid(s, "CA", c->sid);
    c->to = strdup(to);
    c->from = strdup(from);
    c->status = strdup("queued");
    const char *url = params_get(p, "Url"), *md = params_get(p, "MachineDetection");
    const char *async = params_get(p, "AsyncAmd"), *cb = params_get(p, "AsyncAmdStatusCallback");
    c->url = url ? strdup(url) : NULL;
    c->machine_detection = md ? strdup(md) : NULL;
    c->async_amd = async ? strdup(async) : NULL;
    c->amd_callback = cb ? strdup(cb) : NULL;
    sbuf b = {0};
    call_json(s, c, &b);
    reply(fd, 201, "application/json", NULL, b.failed ? "{}" : b.data);
    free(b.data);
    return 201;
}

static call *find_call(twilio_standin *s, const char *sid)
{
    for (int i = 0; i < s->n_calls; i++) {
        if (strcmp(s->calls[i].sid, sid) == 0)
            return &s->calls[i];
    }
    return NULL;
}

static int not_found(int fd, const char *path)
{
    char msg[1200];
    snprintf(msg, sizeof msg, "The requested resource %.1000s was not found", path);
    reply_error(fd, 404, 20404, msg, NULL);
    return 404;
}

static int route_update_call(twilio_standin *s, int fd, const char *method, const char *path,
                             const char *call_sid, const params *p)
{
    call *c = find_call(s, call_sid);
    if (!c)
        return not_found(fd, path);
    if (strcmp(method, "POST") == 0) {
        const char *status = params_get(p, "Status");
        int redirect = params_get(p, "Url") || params_get(p, "Twiml");
        if (status && strcmp(status, "completed") != 0 && strcmp(status, "canceled") != 0) {
            reply_error(fd, 400, 21218, "Invalid Status", NULL);
            return 400;
        }
        if (status && is_ended(c->status))
            return not_found(fd, path);
        if (!status && redirect && is_ended(c->status)) {
            reply_error(fd, 400, 21220, "Call is not in-progress. Cannot redirect.", NULL);
            return 400;
        }
        if (status) {
            int ringing = strcmp(c->status, "queued") == 0 || strcmp(c->status, "ringing") == 0;
            const char *next = strcmp(status, "canceled") == 0 && !ringing ? c->status : status;
            char *d = strdup(next);
            if (d) {
                free(c->status);
                c->status = d;
            }
        }
    }
    sbuf b = {0};
    call_json(s, c, &b);
    reply(fd, 200, "application/json", NULL, b.failed ? "{}" : b.data);
    free(b.data);
    return 200;
}

static int route_message(twilio_standin *s, int fd, const params *p)
{
    const char *to = params_get(p, "To"), *from = params_get(p, "From");
    const char *service = params_get(p, "MessagingServiceSid"), *body = params_get(p, "Body");
    if (!to) {
        reply_error(fd, 400, 21604, "A 'To' phone number is required.", NULL);
        return 400;
    }
    if (!body && !params_get(p, "MediaUrl")) {
        reply_error(fd, 400, 21602, "Message body is required.", NULL);
        return 400;
    }
    if (!from && !service) {
        reply_error(fd, 400, 21603, "A 'From' phone number is required.", NULL);
        return 400;
    }
    char sid[35], date[64];
    new_sid(s, "SM", sid);
    date_now(date, sizeof date);
    sbuf b = {0};
    sb_printf(&b, "{\"sid\":\"%s\",\"account_sid\":\"%s\",\"to\":", sid, s->sid);
    sb_json(&b, to);
    sb_puts(&b, ",\"from\":");
    sb_json(&b, from);
    sb_puts(&b, ",\"messaging_service_sid\":");
    sb_json(&b, service);
    sb_puts(&b, ",\"body\":");
    sb_json(&b, body ? body : "");
    sb_printf(&b,
              ",\"status\":\"%s\",\"num_segments\":\"1\",\"num_media\":\"0\","
              "\"direction\":\"outbound-api\",\"api_version\":\"2010-04-01\",\"price\":null,"
              "\"price_unit\":\"USD\",\"error_code\":null,\"error_message\":null,"
              "\"date_created\":\"%s\",\"date_updated\":\"%s\",\"date_sent\":null,"
              "\"uri\":\"/2010-04-01/Accounts/%s/Messages/%s.json\"}",
              service ? "accepted" : "queued", date, date, s->sid, sid);
    reply(fd, 201, "application/json", NULL, b.failed ? "{}" : b.data);
    free(b.data);
    return 201;
}

static int apply_fault(int fd, const twilio_standin_fault *f)
{
    if (f->delay_ms > 0)
        wire_sleep_ms(f->delay_ms);
    if (f->drop)
        return -1;
    char extra[64] = "";
    if (f->retry_after > 0)
        snprintf(extra, sizeof extra, "Retry-After: %d\r\n", f->retry_after);
    if (f->raw_body) {
        reply(fd, f->status, "text/html", extra, f->raw_body);
        return f->status;
    }
    int code = f->code;
    const char *msg = f->message;
    if (!code)
        code = f->status == 429   ? 20429
               : f->status >= 500 ? 20500
               : f->status == 400 ? 21211
                                  : 20001;
    if (!msg)
        msg = f->status == 429   ? "Too Many Requests"
              : f->status >= 500 ? "Internal Server Error"
                                 : "Bad Request";
    reply_error(fd, f->status, code, msg, extra);
    return f->status;
}

/* Connections -------------------------------------------------------------------- */

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

static void serve(twilio_standin *s, int fd)
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
    size_t vlen = 0;
    const char *ct = wire_find_header(r.head, "Content-Type", &vlen);
    if (ct && vlen >= 33 && strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0)
        params_parse(&r.form, r.body, r.body_len);

    pthread_mutex_lock(&s->lock);
    int status;
    const char *auth = wire_find_header(r.head, "Authorization", &vlen);
    char path[2048];
    snprintf(path, sizeof path, "%s", r.target);
    path[strcspn(path, "?")] = '\0';
    const char *prefix = "/2010-04-01/Accounts/";
    size_t plen = strlen(prefix), sid_len = strlen(s->sid);
    if (!auth || vlen != strlen(s->expected_auth) || strncmp(auth, s->expected_auth, vlen) != 0) {
        reply_error(fd, 401, 20003, "Authenticate",
                    "WWW-Authenticate: Basic realm=\"Twilio API\"\r\n");
        status = 401;
    } else if (strncmp(path, prefix, plen) != 0 || strncmp(path + plen, s->sid, sid_len) != 0 ||
               path[plen + sid_len] != '/') {
        status = not_found(fd, path);
    } else {
        const char *rest = path + plen + sid_len;
        char call_sid[64] = "";
        int is_calls = strcmp(rest, "/Calls.json") == 0;
        int is_messages = strcmp(rest, "/Messages.json") == 0;
        int is_call = 0;
        size_t rl = strlen(rest);
        if (strncmp(rest, "/Calls/", 7) == 0 && rl > 12 && rl - 12 < sizeof call_sid &&
            strcmp(rest + rl - 5, ".json") == 0 && !memchr(rest + 7, '/', rl - 12)) {
            memcpy(call_sid, rest + 7, rl - 12);
            call_sid[rl - 12] = '\0';
            is_call = 1;
        }
        int is_recording = 0;
        if (strncmp(rest, "/Calls/", 7) == 0 && rl > 23 &&
            strcmp(rest + rl - 16, "/Recordings.json") == 0 && rl - 23 < sizeof call_sid) {
            memcpy(call_sid, rest + 7, rl - 23);
            call_sid[rl - 23] = '\0';
            is_recording = 1;
        }
        int is_post = strcmp(r.method, "POST") == 0;
        if (is_recording && is_post && s->n_faults == 0) {
            char rec[35];
            new_sid(s, "RE", rec);
            char json[256];
            snprintf(json, sizeof json,
                     "{\"sid\":\"%s\",\"call_sid\":\"%s\",\"status\":\"in-progress\"}", rec,
                     call_sid);
            reply(fd, 201, "application/json", NULL, json);
            status = 201;
        } else if (!is_calls && !is_messages && !is_call) {
            status = not_found(fd, path);
        } else if (!is_post && !(is_call && strcmp(r.method, "GET") == 0)) {
            reply_error(fd, 405, 20004, "Method not allowed", NULL);
            status = 405;
        } else if (s->n_faults > 0) {
            twilio_standin_fault f = s->faults[0];
            memmove(s->faults, s->faults + 1, (size_t)(s->n_faults - 1) * sizeof *s->faults);
            s->n_faults--;
            pthread_mutex_unlock(&s->lock);
            status = apply_fault(fd, &f);
            free((char *)f.message);
            free((char *)f.raw_body);
            pthread_mutex_lock(&s->lock);
        } else if (is_calls) {
            status = route_create_call(s, fd, &r.form);
        } else if (is_messages) {
            status = route_message(s, fd, &r.form);
        } else {
            status = route_update_call(s, fd, r.method, path, call_sid, &r.form);
        }
    }
    r.status = status;
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
        params_free(&r.form);
    }
    pthread_mutex_unlock(&s->lock);
}

static void *server_main(void *arg)
{
    twilio_standin *s = arg;
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

twilio_standin *twilio_standin_start(const char *account_sid, const char *auth_token)
{
    twilio_standin *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->listen_fd = -1;
    s->wake[0] = s->wake[1] = -1;
    pthread_mutex_init(&s->lock, NULL);
    s->sid = strdup(account_sid ? account_sid : TWILIO_STANDIN_SID);
    s->token = strdup(auth_token ? auth_token : TWILIO_STANDIN_TOKEN);
    s->seed = ((unsigned long long)time(NULL) << 20) ^ (unsigned long long)getpid();
    if (!s->sid || !s->token)
        goto fail;
    char cred[512];
    int n = snprintf(cred, sizeof cred, "%s:%s", s->sid, s->token);
    if (n < 0 || (size_t)n >= sizeof cred)
        goto fail;
    char *enc = b64((const unsigned char *)cred, (size_t)n);
    if (!enc)
        goto fail;
    s->expected_auth = malloc(strlen(enc) + 7);
    if (s->expected_auth)
        sprintf(s->expected_auth, "Basic %s", enc);
    free(enc);
    if (!s->expected_auth || pipe(s->wake) != 0)
        goto fail;
    if ((s->listen_fd = wire_listen_loopback(64, &s->port)) < 0)
        goto fail;
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", s->port);
    if (pthread_create(&s->thread, NULL, server_main, s) != 0)
        goto fail;
    return s;
fail:
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    if (s->wake[0] >= 0) {
        close(s->wake[0]);
        close(s->wake[1]);
    }
    pthread_mutex_destroy(&s->lock);
    free(s->sid);
    free(s->token);
    free(s->expected_auth);
    free(s);
    return NULL;
}

int twilio_standin_port(twilio_standin *s)
{
    return s->port;
}

const char *twilio_standin_url(twilio_standin *s)
{
    return s->url;
}

void twilio_standin_push_fault(twilio_standin *s, const twilio_standin_fault *f)
{
    pthread_mutex_lock(&s->lock);
    if (s->n_faults == s->cap_faults) {
        int cap = s->cap_faults ? 2 * s->cap_faults : 8;
        twilio_standin_fault *v = realloc(s->faults, (size_t)cap * sizeof *v);
        if (!v) {
            pthread_mutex_unlock(&s->lock);
            return;
        }
        s->faults = v;
        s->cap_faults = cap;
    }
    twilio_standin_fault *d = &s->faults[s->n_faults++];
    *d = *f;
    d->message = dup_or_null(f->message);
    d->raw_body = dup_or_null(f->raw_body);
    pthread_mutex_unlock(&s->lock);
}

int twilio_standin_faults_pending(twilio_standin *s)
{
    pthread_mutex_lock(&s->lock);
    int n = s->n_faults;
    pthread_mutex_unlock(&s->lock);
    return n;
}

int twilio_standin_add_inbound(twilio_standin *s, const char *call_sid, const char *from,
                               const char *to)
{
    pthread_mutex_lock(&s->lock);
    int rc = -1;
    if (strlen(call_sid) < sizeof s->calls[0].sid && !find_call(s, call_sid)) {
        if (s->n_calls == s->cap_calls) {
            int cap = s->cap_calls ? 2 * s->cap_calls : 8;
            call *c = realloc(s->calls, (size_t)cap * sizeof *c);
            if (c) {
                s->calls = c;
                s->cap_calls = cap;
            }
        }
        if (s->n_calls < s->cap_calls) {
            call *c = &s->calls[s->n_calls++];
            snprintf(c->sid, sizeof c->sid, "%s", call_sid);
            c->to = strdup(to);
            c->from = strdup(from);
            c->status = strdup("in-progress");
            c->url = c->machine_detection = c->async_amd = c->amd_callback = NULL;
            rc = 0;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int twilio_standin_set_call_status(twilio_standin *s, const char *call_sid, const char *status)
{
    pthread_mutex_lock(&s->lock);
    call *c = find_call(s, call_sid);
    char *d = c ? strdup(status) : NULL;
    if (d) {
        free(c->status);
        c->status = d;
    }
    pthread_mutex_unlock(&s->lock);
    return d ? 0 : -1;
}

char *twilio_standin_call_status(twilio_standin *s, const char *call_sid)
{
    pthread_mutex_lock(&s->lock);
    call *c = find_call(s, call_sid);
    char *d = c ? strdup(c->status) : NULL;
    pthread_mutex_unlock(&s->lock);
    return d;
}

int twilio_standin_detect(twilio_standin *s, const char *call_sid, twilio_standin_party who,
                          twilio_standin_amd *ret)
{
    memset(ret, 0, sizeof *ret);
    pthread_mutex_lock(&s->lock);
    call *c = find_call(s, call_sid);
    if (!c) {
        pthread_mutex_unlock(&s->lock);
        return -1;
    }
    snprintf(ret->url, sizeof ret->url, "%s", c->url ? c->url : "");
    const char *md = c->machine_detection;
    int end = md && strcmp(md, "DetectMessageEnd") == 0;
    const char *by = "";
    int ms = 0;
    if (md) {
        switch (who) {
        case TWILIO_PARTY_HUMAN: by = "human", ms = 1200; break;
        case TWILIO_PARTY_FAX: by = "fax", ms = 2100; break;
        case TWILIO_PARTY_SILENT: by = "unknown", ms = 5000; break;
        /* Enable tells a machine at once; DetectMessageEnd once its
         * greeting is over, and how it ended. */
        case TWILIO_PARTY_MACHINE_BEEP:
            by = end ? "machine_end_beep" : "machine_start";
            ms = end ? 9800 : 3100;
            break;
        case TWILIO_PARTY_MACHINE_SILENCE:
            by = end ? "machine_end_silence" : "machine_start";
            ms = end ? 11200 : 3100;
            break;
        case TWILIO_PARTY_MACHINE_ENDLESS:
            by = end ? "machine_end_other" : "machine_start";
            ms = end ? 30000 : 3100;
            break;
        }
    }
    snprintf(ret->answered_by, sizeof ret->answered_by, "%s", by);
    snprintf(ret->duration_ms, sizeof ret->duration_ms, "%d", ms);
    ret->async = md && c->async_amd && strcmp(c->async_amd, "true") == 0;
    if (ret->async)
        snprintf(ret->amd_url, sizeof ret->amd_url, "%s", c->amd_callback ? c->amd_callback : "");
    free(c->status);
    c->status = strdup("in-progress");
    pthread_mutex_unlock(&s->lock);
    return 0;
}

int twilio_standin_request_count(twilio_standin *s)
{
    pthread_mutex_lock(&s->lock);
    int n = s->n_log;
    pthread_mutex_unlock(&s->lock);
    return n;
}

#define WITH_REQUEST(s, i, expr, fallback)    \
    do {                                      \
        pthread_mutex_lock(&(s)->lock);       \
        if ((i) >= 0 && (i) < (s)->n_log) {   \
            const logged *r = &(s)->log[(i)]; \
            __typeof__(fallback) v_ = (expr); \
            pthread_mutex_unlock(&(s)->lock); \
            return v_;                        \
        }                                     \
        pthread_mutex_unlock(&(s)->lock);     \
        return (fallback);                    \
    } while (0)

char *twilio_standin_request_method(twilio_standin *s, int i)
{
    WITH_REQUEST(s, i, strdup(r->method), (char *)NULL);
}

char *twilio_standin_request_path(twilio_standin *s, int i)
{
    WITH_REQUEST(s, i, strdup(r->target), (char *)NULL);
}

char *twilio_standin_request_body(twilio_standin *s, int i)
{
    WITH_REQUEST(s, i, strndup(r->body, r->body_len), (char *)NULL);
}

static char *header_copy(const logged *r, const char *name)
{
    size_t n = 0;
    const char *v = wire_find_header(r->head, name, &n);
    return v ? strndup(v, n) : NULL;
}

char *twilio_standin_request_header(twilio_standin *s, int i, const char *name)
{
    WITH_REQUEST(s, i, header_copy(r, name), (char *)NULL);
}

int twilio_standin_request_status(twilio_standin *s, int i)
{
    WITH_REQUEST(s, i, r->status, 0);
}

static size_t count_param(const params *p, const char *name)
{
    size_t k = 0;
    for (size_t j = 0; j < p->n; j++)
        k += strcmp(p->names[j], name) == 0;
    return k;
}

static char *nth_param(const params *p, const char *name, size_t nth)
{
    for (size_t j = 0; j < p->n; j++) {
        if (strcmp(p->names[j], name) == 0 && nth-- == 0)
            return strdup(p->values[j]);
    }
    return NULL;
}

static char *all_params(const params *p)
{
    sbuf b = {0};
    sb_puts(&b, "");
    for (size_t j = 0; j < p->n; j++) {
        sb_puts(&b, p->names[j]);
        sb_puts(&b, "=");
        sb_puts(&b, p->values[j]);
        sb_puts(&b, "\n");
    }
    if (b.failed) {
        free(b.data);
        return NULL;
    }
    return b.data;
}

size_t twilio_standin_request_param_count(twilio_standin *s, int i, const char *name)
{
    WITH_REQUEST(s, i, count_param(&r->form, name), (size_t)0);
}

char *twilio_standin_request_param(twilio_standin *s, int i, const char *name, size_t nth)
{
    WITH_REQUEST(s, i, nth_param(&r->form, name, nth), (char *)NULL);
}

char *twilio_standin_request_params(twilio_standin *s, int i)
{
    WITH_REQUEST(s, i, all_params(&r->form), (char *)NULL);
}

void twilio_standin_stop(twilio_standin *s)
{
    if (!s)
        return;
    ssize_t w;
    do {
        w = write(s->wake[1], "x", 1);
    } while (w < 0 && errno == EINTR);
    pthread_join(s->thread, NULL);
    close(s->listen_fd);
    close(s->wake[0]);
    close(s->wake[1]);
    for (int i = 0; i < s->n_log; i++) {
        free(s->log[i].target);
        free(s->log[i].head);
        free(s->log[i].body);
        params_free(&s->log[i].form);
    }
    free(s->log);
    for (int i = 0; i < s->n_faults; i++) {
        free((char *)s->faults[i].message);
        free((char *)s->faults[i].raw_body);
    }
    free(s->faults);
    for (int i = 0; i < s->n_calls; i++) {
        free(s->calls[i].to);
        free(s->calls[i].from);
        free(s->calls[i].status);
        free(s->calls[i].url);
        free(s->calls[i].machine_detection);
        free(s->calls[i].async_amd);
        free(s->calls[i].amd_callback);
    }
    free(s->calls);
    pthread_mutex_destroy(&s->lock);
    free(s->sid);
    free(s->token);
    free(s->expected_auth);
    free(s);
}

/* Webhooks ----------------------------------------------------------------------- */

typedef struct kv {
    const char *name, *value;
} kv;

static int kv_cmp(const void *a, const void *b)
{
    const kv *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

char *twilio_standin_signature(const char *auth_token, const char *url,
                               const char *const *params_list)
{
    size_t n = 0;
    while (params_list && params_list[2 * n])
        n++;
    kv *v = calloc(n ? n : 1, sizeof *v);
    sbuf b = {0};
    if (!v)
        return NULL;
    for (size_t i = 0; i < n; i++)
        v[i] = (kv){params_list[2 * i], params_list[2 * i + 1]};
    qsort(v, n, sizeof *v, kv_cmp);
    sb_puts(&b, url);
    for (size_t i = 0; i < n; i++) {
        if (i && kv_cmp(&v[i - 1], &v[i]) == 0)
            continue;
        sb_puts(&b, v[i].name);
        sb_puts(&b, v[i].value);
    }
    free(v);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    char *out = NULL;
    if (!b.failed && HMAC(EVP_sha1(), auth_token, (int)strlen(auth_token),
                          (const unsigned char *)b.data, b.len, md, &md_len))
        out = b64(md, md_len);
    free(b.data);
    return out;
}

static void form_escape(sbuf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '*')
            sb_add(b, s, 1);
        else if (c == ' ')
            sb_puts(b, "+");
        else
            sb_printf(b, "%%%02X", c);
    }
}

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    sb_add(ud, data, size * n);
    return ((sbuf *)ud)->failed ? 0 : size * n;
}

/* url with &bodySHA256=<hex> (or ?bodySHA256=) appended. */
static char *with_body_hash(const char *url, const char *body)
{
    unsigned char md[32];
    unsigned int md_len = 0;
    if (!EVP_Digest(body, strlen(body), md, &md_len, EVP_sha256(), NULL))
        return NULL;
    sbuf b = {0};
    sb_puts(&b, url);
    sb_puts(&b, strchr(url, '?') ? "&bodySHA256=" : "?bodySHA256=");
    for (unsigned i = 0; i < md_len; i++)
        sb_printf(&b, "%02x", md[i]);
    if (b.failed) {
        free(b.data);
        return NULL;
    }
    return b.data;
}

int twilio_standin_webhook_ex(const twilio_standin_webhook_opts *o, char **ret_status_and_body)
{
    if (ret_status_and_body)
        *ret_status_and_body = NULL;
    if (!o || !o->url || !o->auth_token)
        return -1;
    char *url = o->json_body ? with_body_hash(o->url, o->json_body) : strdup(o->url);
    const char *signed_base = o->signed_url ? o->signed_url : o->url;
    char *signed_url =
        o->json_body ? with_body_hash(signed_base, o->json_body) : strdup(signed_base);
    char *sig = signed_url ? twilio_standin_signature(o->auth_token, signed_url,
                                                      o->json_body ? NULL : o->params)
                           : NULL;
    sbuf body = {0}, resp = {0}, hdr = {0};
    struct curl_slist *headers = NULL;
    CURL *e = curl_easy_init();
    long status = -1;
    if (!url || !sig || !e)
        goto done;
    if (o->forge)
        sig[0] = sig[0] == 'A' ? 'B' : 'A';
    sb_puts(&body, "");
    if (o->json_body) {
        sb_puts(&body, o->json_body);
    } else {
        for (size_t i = 0; o->params && o->params[i]; i += 2) {
            if (i)
                sb_puts(&body, "&");
            form_escape(&body, o->params[i]);
            sb_puts(&body, "=");
            form_escape(&body, o->params[i + 1]);
        }
    }
    sb_printf(&hdr, "X-Twilio-Signature: %s", sig);
    if (body.failed || hdr.failed)
        goto done;
    if (!o->no_signature)
        headers = curl_slist_append(headers, hdr.data);
    headers = curl_slist_append(headers, o->json_body
                                             ? "Content-Type: application/json"
                                             : "Content-Type: application/x-www-form-urlencoded");
    headers = curl_slist_append(headers, "Expect:");
    headers = curl_slist_append(headers, "I-Twilio-Idempotency-Token: standin");
    for (const char *const *h = o->headers; h && *h; h++)
        headers = curl_slist_append(headers, *h);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "TwilioProxy/1.1");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body.data);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)body.len);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 15000L);
    if (curl_easy_perform(e) != CURLE_OK)
        goto done;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    if (ret_status_and_body) {
        sbuf out = {0};
        sb_printf(&out, "%ld\n", status);
        sb_add(&out, resp.data ? resp.data : "", resp.len);
        if (!out.failed)
            *ret_status_and_body = out.data;
        else
            free(out.data);
    }
done:
    curl_slist_free_all(headers);
    if (e)
        curl_easy_cleanup(e);
    free(url);
    free(signed_url);
    free(sig);
    free(body.data);
    free(resp.data);
    free(hdr.data);
    return (int)status;
}

int twilio_standin_webhook(const char *url, const char *auth_token, const char *const *params_list,
                           char **ret_status_and_body)
{
    twilio_standin_webhook_opts o = {.url = url, .auth_token = auth_token, .params = params_list};
    return twilio_standin_webhook_ex(&o, ret_status_and_body);
}
