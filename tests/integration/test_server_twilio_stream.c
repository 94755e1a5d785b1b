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

#include "speech/sphinx.h"
#include "support/media_drivers.h"
#include "support/server_proc.h"
#include "support/twilio_standin.h"
#include "support/voice.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PUBLIC  "https://bot.example.test"
#define CALLSID "CA0123456789abcdef0123456789abcdef"

static const char *server_path;

typedef struct srv {
    pid_t pid;
    int port;
    char dir[64];
    twilio_standin *tw;
    int starts;
} srv;

static void spawn_server(srv *s)
{
    char db[128], api[256], log[128];
    snprintf(db, sizeof db, "DATABASE__SQLITE__PATH=%s/db.sqlite", s->dir);
    snprintf(api, sizeof api, "TWILIO__API_BASE_URL=%s", twilio_standin_url(s->tw));
    snprintf(log, sizeof log, "%s/server%d.log", s->dir, s->starts++);
    char *envp[] = {db,
                    api,
                    (char *)"SERVER__LISTEN=127.0.0.1:0",
                    (char *)"SERVER__API_TOKEN=tok",
                    (char *)"SERVER__PUBLIC_URL=" PUBLIC,
                    (char *)"TWILIO__ACCOUNT_SID=" TWILIO_STANDIN_SID,
                    (char *)"TWILIO__AUTH_TOKEN=" TWILIO_STANDIN_TOKEN,
                    (char *)"TWILIO__PHONE_NUMBER=+15550001111",
                    (char *)"TWILIO__VOICE=stream",
                    (char *)"CONVERSATION__INITIATE__LANG__DEFAULT_SHORT_CODE=en-US",
                    (char *)"CONFIG_YAML=",
                    NULL};
    s->pid = server_proc_start(server_path, envp, log, &s->port);
    assert_true(s->pid > 0);
}

static bool have_speech(void)
{
    return access(CCAI_SPHINX_MODEL_DIR "/en-us/mdef", R_OK) == 0 &&
           voice_available(CCAI_SYNTH_FLITE) && voice_available(CCAI_SYNTH_ESPEAK);
}

static void start(srv *s)
{
    memset(s, 0, sizeof *s);
    s->tw = twilio_standin_start(NULL, NULL);
    assert_non_null(s->tw);
    strcpy(s->dir, "/tmp/ccai-twstream-XXXXXX");
    assert_non_null(mkdtemp(s->dir));
    spawn_server(s);
}

static void stop(srv *s)
{
    if (s->pid > 0)
        server_proc_stop(s->pid, SIGTERM);
    twilio_standin_stop(s->tw);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", s->dir);
    assert_int_equal(system(cmd), 0);
}

static char *logs(srv *s)
{
    char *all = server_proc_logs(s->dir, s->starts);
    assert_non_null(all);
    return all;
}

static int hook(srv *s, const char *path, const char *const *params, char **ret)
{
    char url[512], pub[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", s->port, path);
    snprintf(pub, sizeof pub, PUBLIC "%s", path);
    twilio_standin_webhook_opts o = {
        .url = url, .auth_token = TWILIO_STANDIN_TOKEN, .params = params, .signed_url = pub};
    int status = twilio_standin_webhook_ex(&o, ret);
    assert_true(status > 0);
    return status;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
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

static media_driver *connect_stream(srv *s, const twiml *t, int forge)
{
    char signed_url[256];
    snprintf(signed_url, sizeof signed_url, "wss://bot.example.test%s", t->path);
    const char *params[] = {"token", t->token, NULL};
    twilio_media_opts o = {.port = s->port,
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

/* Until the caller has heard at least ms of the bot and nothing is queued. */
static size_t wait_heard(media_driver *d, size_t min_samples, int max_ms)
{
    size_t n = 0;
    for (int t = 0; t < max_ms; t += 100) {
        int16_t *h = media_driver_heard(d, &n);
        free(h);
        if (n >= min_samples && media_driver_queued_ms(d) == 0)
            break;
        sleep_ms(100);
    }
    return n;
}

static void say(media_driver *d, const char *text)
{
    static const Ccai_media_format pcm8 = {CCAI_MEDIA_PCM16, 8000, 1};
    voice_audio a;
    assert_true(voice_render(CCAI_SYNTH_ESPEAK, "en-us", 0.9, text, &pcm8, 100, 300, &a));
    media_driver_say(d, (const int16_t *)a.data, a.len / 2);
    voice_audio_free(&a);
}

static char *get_call(srv *s, const char *id)
{
    char path[128];
    snprintf(path, sizeof path, "/call/%s", id);
    char *body = NULL;
    long code = server_proc_request(s->port, "GET", path, NULL, "Bearer tok", &body);
    assert_int_equal(code, 200);
    return body;
}

static int count(const char *s, const char *what)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, what)) != NULL; p += strlen(what))
        n++;
    return n;
}

static void test_stream_call(void **state)
{
    (void)state;
    if (!have_speech())
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
    size_t heard = wait_heard(d, 8000, 30000);
    assert_true(heard >= 8000);
    char *marks = media_driver_marks(d);
    assert_non_null(marks);
    assert_true(strlen(marks) > 0);
    free(marks);
    assert_int_equal(media_driver_warnings(d), 0); /* only media, mark, clear, well formed */

    /* The caller answers: recognised offline and stored. */
    say(d, "the city of london");
    /* Barge-in: once the bot's reply is playing, the caller talks over it:
     * Twilio is told to clear. */
    int clears = media_driver_clears(d);
    for (int i = 0; i < 300 && media_driver_queued_ms(d) < 1000; i++)
        sleep_ms(100);
    assert_true(media_driver_queued_ms(d) >= 1000);
    char *call = get_call(&s, t.id);
    assert_true(count(call, "\"persona\":\"human\"") >= 1);
    free(call);
    say(d, "hello can you hear me now i want to talk about my claim please");
    for (int i = 0; i < 150 && media_driver_clears(d) == clears; i++)
        sleep_ms(100);
    assert_true(media_driver_clears(d) > clears);
    /* A DTMF press reaches the call. */
    media_driver_dtmf(d, '1');
    sleep_ms(3000);
    char *all = logs(&s);
    assert_null(strstr(all, "not taken"));
    free(all);

    /* The server dies mid-call; Twilio runs the <Redirect>, the restarted
     * server takes the call back and the caller hears it again. */
    char *before = get_call(&s, t.id);
    int humans = count(before, "\"persona\":\"human\"");
    free(before);
    assert_int_equal(server_proc_stop(s.pid, SIGKILL), 128 + SIGKILL);
    s.pid = -1;
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
    assert_true(wait_heard(d, 4000, 30000) >= 4000);
    char *after = get_call(&s, t.id);
    assert_true(count(after, "\"persona\":\"human\"") >= humans); /* nothing lost */
    free(after);
    all = logs(&s);
    assert_non_null(strstr(all, "taken back after a restart"));
    free(all);

    /* The caller hangs up: stop, close; the call ends. */
    media_driver_hangup(d);
    assert_true(media_driver_wait_closed(d, 5000) >= 0);
    media_driver_free(d);
    bool ended = false;
    for (int i = 0; i < 100 && !ended; i++) {
        char *c = get_call(&s, t.id);
        ended = strstr(c, "\"state\":\"ended\"") != NULL;
        free(c);
        if (!ended)
            sleep_ms(100);
    }
    assert_true(ended);
    stop(&s);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s CCAI_SERVER\n", argv[0]);
        return 2;
    }
    server_path = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_call),
    };
    return cmocka_run_group_tests(tests, NULL, server_proc_kill_leftovers);
}
