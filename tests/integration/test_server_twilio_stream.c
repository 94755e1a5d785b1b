/* Twilio in stream mode (twilio.voice: stream) through the real ccai-server
 * process: the incoming-call webhook signed by the stand-in, the
 * <Connect><Stream> TwiML, the Media Stream played by the Twilio caller of
 * tests/support/media_drivers.h (signed upgrade, connected/start/media/
 * dtmf/stop, marks echoed once played, clear), the caller's speech made at
 * test time with espeak-ng and recognised offline (pocketsphinx), the bot's
 * audio (flite) heard by the caller, and the take-back after the server is
 * killed mid-call: Twilio runs the <Redirect> after <Connect>, a restarted
 * server takes the call back from the store and the caller hears it again.
 * Skipped without pocketsphinx's model, flite or espeak-ng. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "support/llm_standin.h"
#include "support/media_drivers.h"
#include "support/server_proc.h"
#include "support/stream_server.h"
#include "support/twilio_standin.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define PUBLIC  "https://bot.example.test"
#define CALLSID "CA0123456789abcdef0123456789abcdef"

static const char *server_path;

typedef struct srv {
    stream_server sv;
    twilio_standin *tw;
} srv;

static void spawn_server(srv *s)
{
    char api[256];
    snprintf(api, sizeof api, "TWILIO__API_BASE_URL=%s", twilio_standin_url(s->tw));
    const char *const settings[] = {api,
                                    "SERVER__LISTEN=127.0.0.1:0",
                                    "SERVER__API_TOKEN=tok",
                                    "SERVER__PUBLIC_URL=" PUBLIC,
                                    "TWILIO__ACCOUNT_SID=" TWILIO_STANDIN_SID,
                                    "TWILIO__AUTH_TOKEN=" TWILIO_STANDIN_TOKEN,
                                    "TWILIO__PHONE_NUMBER=+15550001111",
                                    "TWILIO__VOICE=stream",
                                    "CONVERSATION__INITIATE__LANG__DEFAULT_SHORT_CODE=en-US",
                                    "CONFIG_YAML=",
                                    NULL};
    stream_server_spawn(&s->sv, settings);
}

/* extra: more settings, NULL-terminated (NULL: none). */
static void start_with(srv *s, const char *const *extra)
{
    memset(s, 0, sizeof *s);
    stream_server_init(&s->sv, server_path, "/tmp/ccai-twstream-XXXXXX", extra);
    s->tw = twilio_standin_start(NULL, NULL);
    assert_non_null(s->tw);
    spawn_server(s);
}

static void start(srv *s)
{
    start_with(s, NULL);
}

static void stop(srv *s)
{
    stream_server_stop(&s->sv);
    twilio_standin_stop(s->tw);
}

/* Twilio's webhook to path, sent to port on 127.0.0.1 (the server's, or
 * one worker's own). */
static int hook_at(int port, const char *path, const char *const *params, char **ret)
{
    char url[512], pub[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    snprintf(pub, sizeof pub, PUBLIC "%s", path);
    twilio_standin_webhook_opts o = {
        .url = url, .auth_token = TWILIO_STANDIN_TOKEN, .params = params, .signed_url = pub};
    int status = twilio_standin_webhook_ex(&o, ret);
    assert_true(status > 0);
    return status;
}

static int hook(srv *s, const char *path, const char *const *params, char **ret)
{
    return hook_at(s->sv.port, path, params, ret);
}

/* The text between a and b in s (malloc'd), NULL when absent. */
static char *between(const char *s, const char *a, const char *b)
{
    const char *p = strstr(s, a);
    if (!p)
        return NULL;
    p += strlen(a);
    const char *e = strstr(p, b);
    return e ? strndup(p, (size_t)(e - p)) : NULL;
}

typedef struct twiml {
    char path[128]; /* /twilio/stream/<id> */
    char id[64];
    char token[128];
    char back[512]; /* the Redirect's path and query, unescaped */
} twiml;

static void read_twiml(const char *body, twiml *t)
{
    char *url = between(body, "<Stream url=\"", "\"");
    assert_non_null(url);
    assert_true(strncmp(url, "wss://bot.example.test/twilio/stream/", 37) == 0);
    assert_null(strchr(url, '?')); /* Twilio's <Stream url> takes no query */
    snprintf(t->path, sizeof t->path, "%s", url + strlen("wss://bot.example.test"));
    snprintf(t->id, sizeof t->id, "%s", url + 37);
    free(url);
    char *tok = between(body, "<Parameter name=\"token\" value=\"", "\"");
    assert_non_null(tok);
    snprintf(t->token, sizeof t->token, "%s", tok);
    free(tok);
    /* Connect, then the way back when the stream drops. */
    assert_non_null(strstr(body, "</Connect><Redirect method=\"POST\">"));
    char *back = between(body, "<Redirect method=\"POST\">" PUBLIC, "</Redirect>");
    assert_non_null(back);
    char *amp = strstr(back, "&amp;");
    assert_non_null(amp);
    memmove(amp + 1, amp + 5, strlen(amp + 5) + 1);
    snprintf(t->back, sizeof t->back, "%s", back);
    free(back);
}

/* Twilio's Media Stream of call_sid to port on 127.0.0.1. */
static media_driver *connect_stream_at(int port, const twiml *t, const char *call_sid)
{
    char signed_url[256];
    snprintf(signed_url, sizeof signed_url, "wss://bot.example.test%s", t->path);
    const char *params[] = {"token", t->token, NULL};
    twilio_media_opts o = {.port = port,
                           .path = t->path,
                           .signed_url = signed_url,
                           .auth_token = TWILIO_STANDIN_TOKEN,
                           .account_sid = TWILIO_STANDIN_SID,
                           .call_sid = call_sid,
                           .params = params};
    media_driver *d = twilio_media_connect(&o);
    assert_non_null(d);
    return d;
}

static media_driver *connect_stream(srv *s, const twiml *t, int forge)
{
    char signed_url[256];
    snprintf(signed_url, sizeof signed_url, "wss://bot.example.test%s", t->path);
    const char *params[] = {"token", t->token, NULL};
    twilio_media_opts o = {.port = s->sv.port,
                           .path = t->path,
                           .signed_url = signed_url,
                           .auth_token = TWILIO_STANDIN_TOKEN,
                           .forge = forge,
                           .account_sid = TWILIO_STANDIN_SID,
                           .call_sid = CALLSID,
                           .params = params};
    media_driver *d = twilio_media_connect(&o);
    assert_non_null(d);
    return d;
}

static bool wait_message(srv *s, const char *id, const char *persona, const char *action,
                         const char *content, int max_ms);
static void assert_kept(const char *before, const char *after, const char *persona);

static void test_stream_call(void **state)
{
    (void)state;
    if (!stream_have_speech())
        skip();
    srv s;
    start(&s);
    const char *params[] = {"AccountSid", TWILIO_STANDIN_SID, "CallSid",   CALLSID,
                            "From",       "+15550002222",     "To",        "+15550001111",
                            "CallStatus", "ringing",          "Direction", "inbound",
                            "ApiVersion", "2010-04-01",       NULL};
    char *res = NULL;
    assert_int_equal(hook(&s, "/twilio/voice", params, &res), 200);
    twiml t;
    read_twiml(res, &t);
    free(res);

    /* A forged signature: 403 before any WebSocket. */
    media_driver *bad = connect_stream(&s, &t, 1);
    assert_int_equal(media_driver_status(bad), 403);
    media_driver_free(bad);

    media_driver *d = connect_stream(&s, &t, 0);
    assert_int_equal(media_driver_status(d), 101);
    /* The greeting plays; its marks come back. */
    size_t heard = stream_wait_heard(d, 8000, 30000);
    assert_true(heard >= 8000);
    char *marks = media_driver_marks(d);
    assert_non_null(marks);
    assert_true(strlen(marks) > 0);
    free(marks);
    assert_int_equal(media_driver_warnings(d), 0); /* only media, mark, clear, well formed */

    /* The caller answers: recognised offline and stored. */
    stream_say(d, "the city of london", 8000);
    /* Barge-in: once the bot's reply is playing, the caller talks over it:
     * Twilio is told to clear. */
    int clears = media_driver_clears(d);
    for (int i = 0; i < 300 && media_driver_queued_ms(d) < 1000; i++)
        stream_sleep_ms(100);
    assert_true(media_driver_queued_ms(d) >= 1000);
    /* What the caller said is stored as their words (not a key, not a menu). */
    assert_true(wait_message(&s, t.id, "human", "talk", NULL, 10000));
    stream_say(d, "hello can you hear me now i want to talk about my claim please", 8000);
    for (int i = 0; i < 150 && media_driver_clears(d) == clears; i++)
        stream_sleep_ms(100);
    assert_true(media_driver_clears(d) > clears);
    /* A DTMF press reaches the call. */
    media_driver_dtmf(d, '1');
    assert_true(wait_message(&s, t.id, "human", "dtmf", "1", 10000));
    char *all = stream_server_logs(&s.sv);
    assert_null(strstr(all, "not taken"));
    free(all);

    /* The server dies mid-call; Twilio runs the <Redirect>, the restarted
     * server takes the call back and the caller hears it again. */
    char *before = stream_server_call(&s.sv, t.id);
    int humans = stream_count(before, "\"persona\":\"human\"");
    assert_true(humans >= 3); /* two turns of words and the key */
    assert_int_equal(server_proc_stop(s.sv.pid, SIGKILL), 128 + SIGKILL);
    s.sv.pid = -1;
    media_driver_wait_closed(d, 5000);
    media_driver_free(d);
    spawn_server(&s);
    assert_int_equal(hook(&s, t.back, params, &res), 200);
    twiml t2;
    read_twiml(res, &t2);
    free(res);
    assert_string_equal(t2.id, t.id);
    d = connect_stream(&s, &t2, 0);
    assert_int_equal(media_driver_status(d), 101);
    assert_true(stream_wait_heard(d, 4000, 30000) >= 4000);
    char *after = stream_server_call(&s.sv, t.id);
    /* Nothing lost: every message of the caller stored before the kill is
     * still there, word for word. */
    assert_true(stream_count(after, "\"persona\":\"human\"") >= humans);
    assert_kept(before, after, "human");
    free(before);
    free(after);
    all = stream_server_logs(&s.sv);
    assert_non_null(strstr(all, "taken back after a restart"));
    free(all);

    /* The caller hangs up: stop, close; the call ends. */
    media_driver_hangup(d);
    assert_true(media_driver_wait_closed(d, 5000) >= 0);
    media_driver_free(d);
    bool ended = false;
    for (int i = 0; i < 100 && !ended; i++) {
        char *c = stream_server_call(&s.sv, t.id);
        ended = strstr(c, "\"state\":\"ended\"") != NULL;
        free(c);
        if (!ended)
            stream_sleep_ms(100);
    }
    assert_true(ended);
    stop(&s);
}

/* More helpers --------------------------------------------------------------- */

static const char *const inbound_params[] = {
    "AccountSid", TWILIO_STANDIN_SID, "CallSid",    CALLSID,   "From",      "+15550002222",
    "To",         "+15550001111",     "CallStatus", "ringing", "Direction", "inbound",
    "ApiVersion", "2010-04-01",       NULL};

/* Twilio's incoming-call webhook: the stream-mode TwiML read into t. */
static void inbound(srv *s, twiml *t)
{
    assert_int_equal(twilio_standin_add_inbound(s->tw, CALLSID, "+15550002222", "+15550001111"), 0);
    char *res = NULL;
    assert_int_equal(hook(s, "/twilio/voice", inbound_params, &res), 200);
    read_twiml(res, t);
    free(res);
}

/* An object of j (at any depth) with these members. */
static bool find_obj(json_t *j, const char *persona, const char *action, const char *content)
{
    if (json_is_object(j)) {
        const char *p = json_string_value(json_object_get(j, "persona"));
        const char *a = json_string_value(json_object_get(j, "action"));
        const char *c = json_string_value(json_object_get(j, "content"));
        if (p && a && c && !strcmp(p, persona) && !strcmp(a, action) &&
            (!content || !strcmp(c, content)))
            return true;
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v)
        {
            if (find_obj(v, persona, action, content))
                return true;
        }
    } else if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v)
        {
            if (find_obj(v, persona, action, content))
                return true;
        }
    }
    return false;
}

/* Every message of persona in the call `before` (a GET /call/{id} body) is
 * in `after` with the same action and content. */
static void assert_kept(const char *before, const char *after, const char *persona)
{
    json_t *b = json_loads(before, 0, NULL);
    json_t *a = json_loads(after, 0, NULL);
    assert_non_null(b);
    assert_non_null(a);
    json_t *msgs = json_object_get(b, "messages");
    assert_true(json_is_array(msgs));
    size_t i;
    json_t *m;
    int seen = 0;
    json_array_foreach(msgs, i, m)
    {
        const char *p = json_string_value(json_object_get(m, "persona"));
        if (!p || strcmp(p, persona))
            continue;
        const char *act = json_string_value(json_object_get(m, "action"));
        const char *c = json_string_value(json_object_get(m, "content"));
        assert_non_null(act);
        assert_non_null(c);
        if (!find_obj(a, persona, act, c))
            fail_msg("lost after the restart: %s %s \"%s\"", persona, act, c);
        seen++;
    }
    assert_true(seen > 0);
    json_decref(b);
    json_decref(a);
}

/* Until the call stores a message (content NULL: any), max_ms. */
static bool wait_message(srv *s, const char *id, const char *persona, const char *action,
                         const char *content, int max_ms)
{
    for (int t = 0; t < max_ms; t += 100) {
        char *body = stream_server_call(&s->sv, id);
        json_t *j = json_loads(body, 0, NULL);
        free(body);
        bool found = j && find_obj(j, persona, action, content);
        json_decref(j);
        if (found)
            return true;
        stream_sleep_ms(100);
    }
    return false;
}

static int wait_rest(srv *s, int from, const char *name, const char *value, int max_ms)
{
    for (int t = 0; t < max_ms; t += 10) {
        int n = twilio_standin_request_count(s->tw);
        for (int i = from; i < n; i++) {
            char *v = twilio_standin_request_param(s->tw, i, name, 0);
            bool ok = v && (!value || strstr(v, value));
            free(v);
            if (ok)
                return i;
        }
        stream_sleep_ms(10);
    }
    return -1;
}

static bool has_mark(media_driver *d, const char *name)
{
    char *m = media_driver_marks(d);
    bool ok = m && strstr(m, name) != NULL;
    free(m);
    return ok;
}

/* A GET with these header lines to the server over a plain socket: the
 * status of the answer, its head in head (cap bytes). */
static int raw_get(srv *s, const char *path, const char *const *headers, char *head, size_t cap)
{
    char req[2048];
    int n =
        snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n", path, s->sv.port);
    for (size_t i = 0; headers[i]; i++)
        n += snprintf(req + n, sizeof req - (size_t)n, "%s\r\n", headers[i]);
    n += snprintf(req + n, sizeof req - (size_t)n, "\r\n");
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->sv.port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {10, 0};
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
    size_t len = 0;
    head[0] = '\0';
    while (len + 1 < cap && !strstr(head, "\r\n\r\n")) {
        ssize_t k = recv(fd, head + len, cap - 1 - len, 0);
        if (k <= 0)
            break;
        len += (size_t)k;
        head[len] = '\0';
    }
    close(fd);
    return len > 12 ? atoi(head + 9) : -1;
}

/* Refusals of the upgrade by HTTP, the call left alone ------------------------ */

static void test_stream_bad_input(void **state)
{
    (void)state;
    if (!stream_have_speech())
        skip();
    srv s;
    start(&s);
    twiml t;
    inbound(&s, &t);

    /* Signed, for a live call, but not a WebSocket upgrade / version 8. */
    char url[256], sig[256], head[4096];
    snprintf(url, sizeof url, "wss://bot.example.test%s", t.path);
    char *sg = twilio_media_signature(TWILIO_STANDIN_TOKEN, url);
    snprintf(sig, sizeof sig, "X-Twilio-Signature: %s", sg);
    free(sg);
    const char *plain[] = {sig, "Sec-WebSocket-Version: 13", NULL};
    assert_int_equal(raw_get(&s, t.path, plain, head, sizeof head), 400);
    const char *v8[] = {sig,
                        "Upgrade: websocket",
                        "Connection: Upgrade",
                        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                        "Sec-WebSocket-Version: 8",
                        NULL};
    assert_int_equal(raw_get(&s, t.path, v8, head, sizeof head), 426);
    assert_non_null(strcasestr(head, "\r\nSec-WebSocket-Version: 13\r\n"));

    /* The real stream still opens after them. */
    media_driver *d = connect_stream(&s, &t, 0);
    assert_int_equal(media_driver_status(d), 101);
    assert_true(stream_wait_heard(d, 4000, 30000) >= 4000);

    /* Malformed messages: each logged, ignored; the call goes on (a key
     * pressed after them is stored). */
    media_driver_send_raw(d, 1, "\x01\x02\x03", 3);
    media_driver_send_raw(d, 0, "{\"event\":\"media\",", 17);
    char unknown[256];
    snprintf(unknown, sizeof unknown,
             "{\"event\":\"transcription\",\"sequenceNumber\":\"99\",\"streamSid\":\"%s\"}",
             media_driver_stream_id(d));
    media_driver_send_raw(d, 0, unknown, strlen(unknown));
    media_driver_dtmf(d, '5');
    assert_true(wait_message(&s, t.id, "human", "dtmf", "5", 10000));
    assert_true(stream_server_wait_log(&s.sv, "media stream: a binary frame (ignored)", 5000));
    assert_true(stream_server_wait_log(&s.sv, "media stream: not JSON (ignored)", 5000));
    assert_true(stream_server_wait_log(&s.sv, "media stream: an unknown event (ignored)", 5000));
    assert_false(media_driver_closed(d));

    /* A 2 MB message: the stream is closed with 1009 and logged; Twilio
     * runs the <Redirect>, the call goes on on a new stream. */
    size_t big_len = 2u * 1024 * 1024;
    char *big = malloc(big_len);
    assert_non_null(big);
    int k = snprintf(big, big_len,
                     "{\"event\":\"media\",\"streamSid\":\"%s\",\"media\":{\"payload\":\"",
                     media_driver_stream_id(d));
    memset(big + k, 'A', big_len - (size_t)k - 3);
    memcpy(big + big_len - 3, "\"}}", 3);
    media_driver_send_raw(d, 0, big, big_len);
    free(big);
    assert_int_equal(media_driver_wait_closed(d, 10000), 1009);
    media_driver_free(d);
    assert_true(stream_server_wait_log(&s.sv, "over the size limit", 5000));
    char *res = NULL;
    assert_int_equal(hook(&s, t.back, inbound_params, &res), 200);
    twiml t2;
    read_twiml(res, &t2);
    free(res);
    assert_string_equal(t2.id, t.id);
    d = connect_stream(&s, &t2, 0);
    assert_int_equal(media_driver_status(d), 101);
    media_driver_dtmf(d, '7');
    assert_true(wait_message(&s, t.id, "human", "dtmf", "7", 10000));
    media_driver_hangup(d);
    media_driver_wait_closed(d, 5000);
    media_driver_free(d);
    assert_true(stream_server_wait_over(&s.sv, t.id, 10000));
    stop(&s);
}

/* An IVR menu on a Media Stream: the prompt said on the stream, the
 * caller's key as the "dtmf" event Twilio sends; the choice (a sub-menu,
 * then a task) on the call, not a key of the conversation. */
static void test_stream_ivr(void **state)
{
    (void)state;
    if (!stream_have_speech())
        skip();
    const char *extra[] = {
        "IVR__START=main",
        "IVR__MENUS={\"main\": {\"prompt\": \"For billing, press 2.\", \"choices\": [{\"key\": "
        "\"2\", \"label\": \"Billing\", \"action\": \"menu\", \"menu\": \"billing\"}]}, "
        "\"billing\": {\"prompt\": \"For your balance, press 1.\", \"choices\": [{\"key\": "
        "\"1\", \"label\": \"Balance\", \"action\": \"task\", \"task\": \"Tell the balance.\"}]}}",
        NULL};
    srv s;
    start_with(&s, extra);
    twiml t;
    inbound(&s, &t);
    media_driver *d = connect_stream(&s, &t, 0);
    assert_int_equal(media_driver_status(d), 101);
    assert_true(stream_wait_heard(d, 1000, 30000) >= 1000); /* the main menu */
    media_driver_dtmf(d, '2');
    assert_true(wait_message(&s, t.id, "human", "menu", "main: 2 (Billing), key -> menu", 10000));
    media_driver_dtmf(d, '1');
    assert_true(
        wait_message(&s, t.id, "human", "menu", "billing: 1 (Balance), key -> task", 10000));
    assert_false(wait_message(&s, t.id, "human", "dtmf", NULL, 200));
    media_driver_hangup(d);
    media_driver_wait_closed(d, 5000);
    media_driver_free(d);
    assert_true(stream_server_wait_over(&s.sv, t.id, 10000));
    stop(&s);
}

/* The stream drops while the server stays up ----------------------------------- */

static void test_stream_drop_reconnect(void **state)
{
    (void)state;
    if (!stream_have_speech())
        skip();
    srv s;
    start(&s);
    twiml t;
    inbound(&s, &t);
    media_driver *d = connect_stream(&s, &t, 0);
    assert_int_equal(media_driver_status(d), 101);
    assert_true(stream_wait_heard(d, 4000, 30000) >= 4000);
    /* The network fails: no stop, no close frame. */
    media_driver_free(d);
    assert_true(stream_server_wait_log(&s.sv, "media stream ended", 5000));
    /* Twilio goes on with the TwiML: the <Redirect> to this same server. */
    char *res = NULL;
    assert_int_equal(hook(&s, t.back, inbound_params, &res), 200);
    twiml t2;
    read_twiml(res, &t2);
    free(res);
    assert_string_equal(t2.id, t.id);
    assert_string_equal(t2.token, t.token);
    assert_true(stream_server_wait_log(&s.sv, "the media stream dropped: reconnecting", 1000));
    d = connect_stream(&s, &t2, 0);
    assert_int_equal(media_driver_status(d), 101);
    /* The same call goes on: a key is stored and answered on the new stream. */
    media_driver_dtmf(d, '3');
    assert_true(wait_message(&s, t.id, "human", "dtmf", "3", 10000));
    assert_true(stream_wait_heard(d, 2000, 30000) >= 2000);
    char *all = stream_server_logs(&s.sv);
    assert_null(strstr(all, "taken back after a restart")); /* not a restart */
    free(all);
    media_driver_hangup(d);
    media_driver_wait_closed(d, 5000);
    media_driver_free(d);
    assert_true(stream_server_wait_over(&s.sv, t.id, 10000));
    stop(&s);
}

/* The bot hangs up through REST after its last words ---------------------------- */

static void test_stream_bot_hangs_up(void **state)
{
    (void)state;
    if (!stream_have_speech())
        skip();
    /* The caller stays silent: after the offline dialogue's silences, its
     * goodbye, then the hang-up. */
    const char *extra[] = {"CONVERSATION__PHONE_SILENCE_TIMEOUT_SEC=1", NULL};
    srv s;
    start_with(&s, extra);
    twiml t;
    inbound(&s, &t);
    media_driver *d = connect_stream(&s, &t, 0);
    assert_int_equal(media_driver_status(d), 101);
    int rest = wait_rest(&s, 0, "Status", "completed", 120000);
    assert_true(rest >= 0);
    /* When Twilio is told to end the call, the caller has heard everything
     * the bot sent, up to the hang-up's mark. */
    assert_true(has_mark(d, "ccai-hangup"));
    assert_int_equal(media_driver_queued_ms(d), 0);
    char *path = twilio_standin_request_path(s.tw, rest);
    assert_non_null(strstr(path, "/Calls/" CALLSID ".json"));
    free(path);
    char *status = twilio_standin_call_status(s.tw, CALLSID);
    assert_string_equal(status, "completed");
    free(status);
    /* Twilio ends the stream (stop, close). */
    media_driver_hangup(d);
    media_driver_wait_closed(d, 5000);
    media_driver_free(d);
    assert_true(stream_server_wait_over(&s.sv, t.id, 10000));
    assert_true(wait_message(&s, t.id, "assistant", "talk", NULL, 1000));
    stop(&s);
}

/* A transfer in stream mode: <Dial> through REST, the dial's outcome ------------ */

static void push_transfer(standin *llm)
{
    static standin_tool_call tc = {.id = "t1", .name = "talk_to_human", .arguments = "{}"};
    standin_spec sp = STANDIN_SPEC_INIT;
    sp.kind = STANDIN_TOOL_CALLS;
    sp.tool_calls = &tc;
    sp.n_tool_calls = 1;
    standin_push(llm, &sp);
}

/* The caller presses a key, the LLM asks for a human: the REST update with
 * the <Dial> after the announcement played; its action's path. */
static void ask_transfer(srv *s, standin *llm, media_driver *d, int *from, char *action, size_t cap)
{
    push_transfer(llm);
    media_driver_dtmf(d, '0');
    int i = wait_rest(s, *from, "Twiml", "<Dial", 60000);
    assert_true(i >= 0);
    *from = i + 1;
    assert_true(has_mark(d, "ccai-transfer"));
    char *twiml_doc = twilio_standin_request_param(s->tw, i, "Twiml", 0);
    assert_non_null(strstr(twiml_doc, "<Number>+15550009999</Number>"));
    char *a = between(twiml_doc, "action=\"" PUBLIC, "\"");
    assert_non_null(a);
    char *amp;
    while ((amp = strstr(a, "&amp;")) != NULL)
        memmove(amp + 1, amp + 5, strlen(amp + 5) + 1);
    snprintf(action, cap, "%s", a);
    free(a);
    free(twiml_doc);
    /* The new TwiML ends the stream. */
    media_driver_hangup(d);
    media_driver_wait_closed(d, 5000);
}

/* A stream-mode call with the LLM stand-in and an agent number; the
 * greeting heard. */
static media_driver *transfer_call(srv *s, standin **llm, twiml *t)
{
    *llm = standin_start(NULL);
    assert_non_null(*llm);
    static char endpoint[128];
    snprintf(endpoint, sizeof endpoint, "LLM__FAST__ENDPOINT=http://127.0.0.1:%d/v1",
             standin_port(*llm));
    const char *extra[] = {"LLM__FAST__MODE=openai_compatible", endpoint, "LLM__FAST__RETRIES=0",
                           "CONVERSATION__INITIATE__AGENT_PHONE_NUMBER=+15550009999", NULL};
    start_with(s, extra);
    inbound(s, t);
    media_driver *d = connect_stream(s, t, 0);
    assert_int_equal(media_driver_status(d), 101);
    assert_true(stream_wait_heard(d, 4000, 30000) >= 4000);
    return d;
}

/* The agent does not answer: Twilio requests the <Dial>'s action; its
 * answer is a new stream, on which the bot apologises, says goodbye and
 * hangs up through REST once that was heard. */
static void test_stream_transfer_no_answer(void **state)
{
    (void)state;
    if (!stream_have_speech())
        skip();
    srv s;
    standin *llm;
    twiml t;
    media_driver *d = transfer_call(&s, &llm, &t);
    int from = 0;
    char action[512];
    ask_transfer(&s, llm, d, &from, action, sizeof action);
    media_driver_free(d);
    const char *no_answer[] = {"AccountSid", TWILIO_STANDIN_SID, "CallSid",
                               CALLSID,      "DialCallStatus",   "no-answer",
                               "Direction",  "inbound",          NULL};
    char *res = NULL;
    assert_int_equal(hook(&s, action, no_answer, &res), 200);
    twiml t2;
    read_twiml(res, &t2);
    free(res);
    assert_string_equal(t2.id, t.id);
    d = connect_stream(&s, &t2, 0);
    assert_int_equal(media_driver_status(d), 101);
    int rest = wait_rest(&s, from, "Status", "completed", 60000);
    assert_true(rest >= 0);
    assert_true(has_mark(d, "ccai-hangup"));
    assert_int_equal(media_driver_queued_ms(d), 0);
    size_t n = 0;
    int16_t *h = media_driver_heard(d, &n);
    free(h);
    assert_true(n >= 8000); /* the apology and the goodbye, on the new stream */
    assert_true(stream_server_wait_log(&s.sv, "transfer failed: no-answer", 1000));
    media_driver_hangup(d);
    media_driver_wait_closed(d, 5000);
    media_driver_free(d);
    assert_true(stream_server_wait_over(&s.sv, t.id, 10000));
    stop(&s);
    standin_stop(llm);
}

/* The agent answers: Twilio requests the action with DialCallStatus
 * completed once the bridged call is over; the call ends for us. */
static void test_stream_transfer_bridged(void **state)
{
    (void)state;
    if (!stream_have_speech())
        skip();
    srv s;
    standin *llm;
    twiml t;
    media_driver *d = transfer_call(&s, &llm, &t);
    int from = 0;
    char action[512];
    ask_transfer(&s, llm, d, &from, action, sizeof action);
    media_driver_free(d);
    const char *bridged[] = {"AccountSid",
                             TWILIO_STANDIN_SID,
                             "CallSid",
                             CALLSID,
                             "DialCallStatus",
                             "completed",
                             "DialCallSid",
                             "CA0000000000000000000000000000dd01",
                             "DialCallDuration",
                             "42",
                             NULL};
    char *res = NULL;
    assert_int_equal(hook(&s, action, bridged, &res), 200);
    assert_non_null(strstr(res, "<Hangup/>"));
    free(res);
    assert_true(stream_server_wait_over(&s.sv, t.id, 10000));
    /* Stored as transferred, to the agent's leg. */
    assert_true(wait_message(&s, t.id, "assistant", "transfer",
                             "CA0000000000000000000000000000dd01", 5000));
    assert_false(stream_server_wait_log(&s.sv, "transfer failed", 100));
    stop(&s);
    standin_stop(llm);
}

/* The stream drops while the bot speaks: the words Twilio had not played
 * (no mark came back) were not heard, and the transcript does not say
 * they were. */
static bool said_stored(srv *s, const char *id, const char *words)
{
    char *body = stream_server_call(&s->sv, id);
    json_t *j = json_loads(body, 0, NULL);
    free(body);
    json_t *msgs = json_object_get(j, "messages");
    bool found = false;
    size_t i;
    json_t *m;
    json_array_foreach(msgs, i, m)
    {
        const char *p = json_string_value(json_object_get(m, "persona"));
        const char *c = json_string_value(json_object_get(m, "content"));
        if (p && c && !strcmp(p, "assistant") && strstr(c, words))
            found = true;
    }
    json_decref(j);
    return found;
}

static void test_stream_drop_unheard(void **state)
{
    (void)state;
    if (!stream_have_speech())
        skip();
    srv s;
    start(&s);
    twiml t;
    inbound(&s, &t);
    media_driver *d = connect_stream(&s, &t, 0);
    assert_int_equal(media_driver_status(d), 101);
    /* The greeting's first words are playing, more of it is queued. */
    size_t n = 0;
    for (int i = 0; i < 300; i++) {
        int16_t *h = media_driver_heard(d, &n);
        free(h);
        if (n >= 8000 && media_driver_queued_ms(d) >= 1500)
            break;
        stream_sleep_ms(20);
    }
    assert_true(n >= 8000);
    assert_true(media_driver_queued_ms(d) >= 1500);
    char *marks = media_driver_marks(d);
    assert_string_equal(marks, ""); /* nothing of it confirmed played */
    free(marks);
    assert_true(wait_message(&s, t.id, "assistant", "talk", NULL, 5000));
    assert_true(said_stored(&s, t.id, "Hello, this is"));
    /* The network fails mid-sentence. */
    media_driver_free(d);
    assert_true(stream_server_wait_log(&s.sv, "media stream ended", 5000));
    bool gone = false;
    for (int i = 0; i < 50 && !gone; i++) {
        gone = !said_stored(&s, t.id, "Hello, this is");
        if (!gone)
            stream_sleep_ms(100);
    }
    assert_true(gone);
    stop(&s);
}

/* An outbound call (POST /call) in stream mode ----------------------------------- */

static void test_stream_outbound(void **state)
{
    (void)state;
    if (!stream_have_speech())
        skip();
    srv s;
    start(&s);
    char *body = NULL;
    long code = server_proc_request(s.sv.port, "POST", "/call",
                                    "{\"phone_number\":\"+33612345678\",\"telephony\":\"twilio\"}",
                                    "Bearer tok", &body);
    assert_int_equal(code, 201);
    json_t *j = json_loads(body, 0, NULL);
    free(body);
    assert_non_null(j);
    char id[64];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(j, "call_id")));
    json_decref(j);
    /* Twilio was asked to place it; it then requests our Url. */
    int i = wait_rest(&s, 0, "Url", NULL, 10000);
    assert_true(i >= 0);
    char *url = twilio_standin_request_param(s.tw, i, "Url", 0);
    assert_non_null(url);
    assert_true(strncmp(url, PUBLIC, strlen(PUBLIC)) == 0);
    char path[512];
    snprintf(path, sizeof path, "%s", url + strlen(PUBLIC));
    free(url);
    /* Twilio's CallSid for it: the one the server stored from the REST answer. */
    char sid[64] = "";
    for (int k = 0; k < 100 && !sid[0]; k++) {
        char *c = stream_server_call(&s.sv, id);
        char *p = between(c, "\"provider_call_id\":\"", "\"");
        if (p)
            snprintf(sid, sizeof sid, "%s", p);
        free(p);
        free(c);
        if (!sid[0])
            stream_sleep_ms(100);
    }
    assert_true(strncmp(sid, "CA", 2) == 0);
    const char *answered[] = {"AccountSid", TWILIO_STANDIN_SID, "CallSid",   sid,
                              "From",       "+15550001111",     "To",        "+33612345678",
                              "CallStatus", "in-progress",      "Direction", "outbound-api",
                              NULL};
    char *res = NULL;
    assert_int_equal(hook(&s, path, answered, &res), 200);
    twiml t;
    read_twiml(res, &t);
    free(res);
    assert_string_equal(t.id, id);
    char signed_url[256];
    snprintf(signed_url, sizeof signed_url, "wss://bot.example.test%s", t.path);
    const char *params[] = {"token", t.token, NULL};
    twilio_media_opts o = {.port = s.sv.port,
                           .path = t.path,
                           .signed_url = signed_url,
                           .auth_token = TWILIO_STANDIN_TOKEN,
                           .account_sid = TWILIO_STANDIN_SID,
                           .call_sid = sid,
                           .params = params};
    media_driver *d = twilio_media_connect(&o);
    assert_non_null(d);
    assert_int_equal(media_driver_status(d), 101);
    /* The bot speaks first; a key pressed is stored. */
    assert_true(stream_wait_heard(d, 4000, 30000) >= 4000);
    media_driver_dtmf(d, '9');
    assert_true(wait_message(&s, id, "human", "dtmf", "9", 10000));
    media_driver_hangup(d);
    media_driver_wait_closed(d, 5000);
    media_driver_free(d);
    assert_true(stream_server_wait_over(&s.sv, id, 10000));
    stop(&s);
}

/* Two workers (server.workers: 2) ------------------------------------------- */

static const char *const two_workers[] = {"SERVER__WORKERS=2", NULL};

/* From the supervisor's last "worker i started (pid P, R restarts) at URL"
 * line: the worker's pid and its own port (its instance URL). */
static void worker_at(srv *s, int i, pid_t *ret_pid, int *ret_port)
{
    char marker[48];
    snprintf(marker, sizeof marker, "worker %d started (pid ", i);
    const char *last = NULL;
    char *all = NULL;
    for (int t = 0; t < 100 && !last; t++) {
        free(all);
        all = stream_server_logs(&s->sv);
        for (const char *at = strstr(all, marker); at; at = strstr(at + 1, marker))
            last = at;
        if (!last)
            stream_sleep_ms(100);
    }
    assert_non_null(last);
    if (ret_pid)
        *ret_pid = (pid_t)atol(last + strlen(marker));
    const char *url = strstr(last, ") at http://127.0.0.1:");
    assert_non_null(url);
    *ret_port = atoi(url + strlen(") at http://127.0.0.1:"));
    assert_true(*ret_port > 0 && *ret_port != s->sv.port);
    free(all);
}

static void call_sid(int k, char out[40])
{
    snprintf(out, 40, "CA0123456789abcdef0123456789abcd%02d", k);
}

/* Twilio's incoming call k, sent to port: the TwiML read into t. */
static void inbound_at(srv *s, int port, int k, twiml *t)
{
    char sid[40], from[16];
    call_sid(k, sid);
    snprintf(from, sizeof from, "+155500030%02d", k);
    assert_int_equal(twilio_standin_add_inbound(s->tw, sid, from, "+15550001111"), 0);
    const char *params[] = {
        "AccountSid", TWILIO_STANDIN_SID, "CallSid",    sid,       "From",      from,
        "To",         "+15550001111",     "CallStatus", "ringing", "Direction", "inbound",
        "ApiVersion", "2010-04-01",       NULL};
    char *res = NULL;
    assert_int_equal(hook_at(port, "/twilio/voice", params, &res), 200);
    read_twiml(res, t);
    free(res);
}

#define WORKER_CALLS 4

/* Several calls with two workers: each call is answered by the worker its
 * webhook reached (worker 0, then 1, in turn: their own ports), and its
 * Media Stream goes through the shared port, where the kernel spreads the
 * connections over both workers; the last one is sent to the worker that
 * does not hold its call, for sure. A stream that reaches the other worker
 * is relayed to the holder: every call converses (the greeting heard,
 * the caller's words recognised and stored), then ends when the caller
 * hangs up. */
/* Send raw bytes to 127.0.0.1:port and read the answer until the peer
 * closes, 3 s pass or 4 KiB came: the status of its first line (-1: none). */
static int raw_exchange(int port, const char *req, char *out, size_t cap)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct timeval tv = {.tv_sec = 3};
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
    size_t n = 0;
    for (ssize_t r; n + 1 < cap && (r = recv(fd, out + n, cap - 1 - n, 0)) > 0;)
        n += (size_t)r;
    out[n] = '\0';
    close(fd);
    int status = -1;
    return sscanf(out, "HTTP/1.1 %d", &status) == 1 ? status : -1;
}

static void test_stream_workers(void **state)
{
    (void)state;
    if (!stream_have_speech())
        skip();
    srv s;
    start_with(&s, two_workers);
    int own[2];
    worker_at(&s, 0, NULL, &own[0]);
    worker_at(&s, 1, NULL, &own[1]);
    twiml t[WORKER_CALLS];
    media_driver *d[WORKER_CALLS];
    for (int k = 0; k < WORKER_CALLS; k++) {
        inbound_at(&s, own[k % 2], k, &t[k]);
        char sid[40];
        call_sid(k, sid);
        int port = k == WORKER_CALLS - 1 ? own[(k + 1) % 2] : s.sv.port;
        d[k] = connect_stream_at(port, &t[k], sid);
        assert_int_equal(media_driver_status(d[k]), 101);
    }
    for (int k = 0; k < WORKER_CALLS; k++) /* the bot's audio reaches Twilio */
        assert_true(stream_wait_heard(d[k], 8000, 30000) >= 8000);
    /* Only a WebSocket upgrade is relayed: a plain GET, or an upgrade with
     * a body's framing, on the media URL of a call the other worker holds
     * is answered where it came (relayed, the first would have given its
     * client a keep-alive connection into the holder's own socket, where
     * the second request would be served as from the holder's host). */
    char *before = stream_server_logs(&s.sv);
    int relayed = stream_count(before, "is relayed to its holder");
    free(before);
    static const char *const not_upgrades[] = {
        " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        "GET /api/calls HTTP/1.1\r\nHost: localhost\r\n\r\n",
        " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    };
    for (size_t q = 0; q < sizeof not_upgrades / sizeof *not_upgrades; q++) {
        char req[1024], answer[4096];
        snprintf(req, sizeof req, "GET /twilio/stream/%s%s", t[0].id, /* held by worker 0 */
                 not_upgrades[q]);
        int status = raw_exchange(own[1], req, answer, sizeof answer);
        assert_true(status >= 400 && status < 500);
        assert_null(strstr(answer, "HTTP/1.1 200")); /* the second request: not served */
    }
    char *after = stream_server_logs(&s.sv);
    assert_int_equal(stream_count(after, "is relayed to its holder"), relayed);
    free(after);
    for (int k = 0; k < WORKER_CALLS; k++) { /* the caller's reaches the bot */
        stream_say(d[k], "the city of london", 8000);
        assert_true(wait_message(&s, t[k].id, "human", "talk", NULL, 30000));
    }
    for (int k = 0; k < WORKER_CALLS; k++) {
        assert_int_equal(media_driver_warnings(d[k]), 0);
        media_driver_hangup(d[k]);
        assert_true(media_driver_wait_closed(d[k], 5000) >= 0);
        media_driver_free(d[k]);
        assert_true(stream_server_wait_over(&s.sv, t[k].id, 15000));
    }
    char *all = stream_server_logs(&s.sv);
    assert_true(stream_count(all, "is relayed to its holder") >= 1);
    assert_null(strstr(all, "no such live call"));
    free(all);
    stop(&s);
}

/* A worker killed with -9 mid-call while its call's Media Stream was
 * relayed to it by the other worker: the relay closes the stream; Twilio
 * runs the <Redirect>, which reaches the survivor; the call is taken back
 * (by the survivor once the lease ran out, or by the restarted worker at
 * its unchanged URL) and the caller hears the bot again, nothing lost. */
static void test_stream_worker_killed(void **state)
{
    (void)state;
    if (!stream_have_speech())
        skip();
    srv s;
    start_with(&s, two_workers);
    pid_t w0 = 0;
    int own[2];
    worker_at(&s, 0, &w0, &own[0]);
    worker_at(&s, 1, NULL, &own[1]);
    twiml t;
    inbound_at(&s, own[0], 7, &t);
    char sid[40];
    call_sid(7, sid);
    media_driver *d = connect_stream_at(own[1], &t, sid);
    assert_int_equal(media_driver_status(d), 101);
    assert_true(stream_wait_heard(d, 8000, 30000) >= 8000);
    stream_say(d, "the city of london", 8000);
    assert_true(wait_message(&s, t.id, "human", "talk", NULL, 30000));
    assert_int_equal(kill(w0, SIGKILL), 0);
    assert_true(media_driver_wait_closed(d, 5000) >= 0); /* the relay closed it */
    media_driver_free(d);
    char from[16];
    snprintf(from, sizeof from, "+155500030%02d", 7);
    const char *params[] = {
        "AccountSid", TWILIO_STANDIN_SID, "CallSid",    sid,           "From",      from,
        "To",         "+15550001111",     "CallStatus", "in-progress", "Direction", "inbound",
        "ApiVersion", "2010-04-01",       NULL};
    char *res = NULL;
    assert_int_equal(hook_at(own[1], t.back, params, &res), 200);
    twiml t2;
    read_twiml(res, &t2);
    free(res);
    assert_string_equal(t2.id, t.id);
    d = connect_stream_at(s.sv.port, &t2, sid);
    assert_int_equal(media_driver_status(d), 101);
    assert_true(stream_wait_heard(d, 4000, 30000) >= 4000);
    assert_true(wait_message(&s, t.id, "human", "talk", NULL, 1000)); /* nothing lost */
    assert_true(stream_server_wait_log(&s.sv, "taken back after a restart", 1000));
    media_driver_hangup(d);
    assert_true(media_driver_wait_closed(d, 5000) >= 0);
    media_driver_free(d);
    assert_true(stream_server_wait_over(&s.sv, t.id, 15000));
    stop(&s);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s CCAI_SERVER\n", argv[0]);
        return 2;
    }
    server_path = argv[1];
    if (getenv("CCAI_TEST_FILTER"))
        cmocka_set_test_filter(getenv("CCAI_TEST_FILTER"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_call),
        cmocka_unit_test(test_stream_bad_input),
        cmocka_unit_test(test_stream_ivr),
        cmocka_unit_test(test_stream_drop_reconnect),
        cmocka_unit_test(test_stream_bot_hangs_up),
        cmocka_unit_test(test_stream_transfer_no_answer),
        cmocka_unit_test(test_stream_transfer_bridged),
        cmocka_unit_test(test_stream_outbound),
        cmocka_unit_test(test_stream_drop_unheard),
        cmocka_unit_test(test_stream_workers),
        cmocka_unit_test(test_stream_worker_killed),
    };
    return cmocka_run_group_tests(tests, NULL, server_proc_kill_leftovers);
}
