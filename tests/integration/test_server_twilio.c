/* The real ccai-server process receiving Twilio webhooks signed (and
 * forged) the way Twilio signs them, answering TwiML, and showing the call
 * in the REST API and the report page. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "support/server_proc.h"
#include "support/twilio_standin.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PUBLIC "https://bot.example.test"

static const char *server_path;

typedef struct srv {
    pid_t pid;
    int port;
    char dir[64];
    twilio_standin *tw;
    int starts;
} srv;

/* Start the server on s->dir's database; its log in server<n>.log. */
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
                    (char *)"CONVERSATION__INITIATE__LANG__DEFAULT_SHORT_CODE=en-US",
                    (char *)"SMS__MODE=twilio",
                    (char *)"CONFIG_YAML=",
                    NULL};
    s->pid = server_proc_start(server_path, envp, log, &s->port);
    assert_true(s->pid > 0);
}

static void start(srv *s)
{
    memset(s, 0, sizeof *s);
    s->tw = twilio_standin_start(NULL, NULL);
    assert_non_null(s->tw);
    strcpy(s->dir, "/tmp/ccai-srvtw-XXXXXX");
    assert_non_null(mkdtemp(s->dir));
    spawn_server(s);
}

static void stop_keep_dir(srv *s)
{
    assert_int_equal(server_proc_stop(s->pid, SIGTERM), 0);
    twilio_standin_stop(s->tw);
}

static void remove_dir(srv *s)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", s->dir);
    assert_int_equal(system(cmd), 0);
}

static void stop(srv *s)
{
    stop_keep_dir(s);
    remove_dir(s);
}

/* Everything the server logged (every start); free(). */
static char *server_logs(srv *s)
{
    char *all = server_proc_logs(s->dir, s->starts);
    assert_non_null(all);
    return all;
}

/* POST a webhook to the server, signed for the public URL as Twilio would
 * (Twilio signs what it was told to call, not what the proxy forwards). */
static int hook(srv *s, const char *path, const char *const *params, int forge, char **ret)
{
    char url[512], pub[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", s->port, path);
    snprintf(pub, sizeof pub, PUBLIC "%s", path);
    twilio_standin_webhook_opts o = {.url = url,
                                     .auth_token = TWILIO_STANDIN_TOKEN,
                                     .params = params,
                                     .signed_url = pub,
                                     .forge = forge};
    char *res = NULL;
    int status = twilio_standin_webhook_ex(&o, &res); /* the HTTP status */
    assert_true(status > 0);
    *ret = res;
    return status;
}

static long get(srv *s, const char *path, char **body)
{
    long code = server_proc_request(s->port, "GET", path, NULL, "Bearer tok", body);
    assert_true(code > 0);
    return code;
}

/* The gather action URL in TwiML, as a local path. */
static void gather_path(const char *xml, char *out, size_t len)
{
    const char *a = strstr(xml, "action=\"" PUBLIC);
    assert_non_null(a);
    a += strlen("action=\"" PUBLIC);
    size_t n = 0;
    while (*a && *a != '"' && n + 1 < len) {
        if (!strncmp(a, "&amp;", 5)) {
            out[n++] = '&';
            a += 5;
        } else {
            out[n++] = *a++;
        }
    }
    out[n] = '\0';
}

static void test_signed_call_through_the_server(void **state)
{
    (void)state;
    srv s;
    start(&s);
    const char *voice[] = {"CallSid",    "CA0000000000000000000000000000000a",
                           "AccountSid", TWILIO_STANDIN_SID,
                           "From",       "+33612345678",
                           "To",         "+15550001111",
                           "Direction",  "inbound",
                           NULL};
    char *res = NULL;
    assert_int_equal(hook(&s, "/twilio/voice", voice, 1, &res), 403); /* forged */
    free(res);
    assert_int_equal(hook(&s, "/twilio/voice", voice, 0, &res), 200);
    assert_non_null(strstr(res, "<Gather"));
    char path[512];
    gather_path(res, path, sizeof path);
    free(res);
    /* No LLM configured: the offline dialogue asks for the claim. */
    const char *speech[] = {"CallSid", "CA0000000000000000000000000000000a", "SpeechResult",
                            "yesterday at 9 pm", NULL};
    assert_int_equal(hook(&s, path, speech, 0, &res), 200);
    assert_non_null(strstr(res, "<Say"));
    assert_non_null(strstr(res, "<Gather"));
    free(res);
    /* The same per-call URL with a wrong secret is refused. */
    char bad[512];
    snprintf(bad, sizeof bad, "%s", path);
    char *sec = strstr(bad, "&s=");
    assert_non_null(sec);
    sec[3] = sec[3] == 'x' ? 'y' : 'x';
    assert_int_equal(hook(&s, bad, speech, 0, &res), 404);
    free(res);
    char status[512];
    snprintf(status, sizeof status, "/twilio/status%s", strchr(path, '?'));
    const char *done[] = {"CallSid", "CA0000000000000000000000000000000a", "CallStatus",
                          "completed", NULL};
    assert_int_equal(hook(&s, status, done, 0, &res), 204);
    free(res);

    char *body = NULL;
    assert_int_equal(get(&s, "/call/%2B33612345678", &body), 200);
    assert_non_null(strstr(body, "\"incident_datetime\""));
    assert_non_null(strstr(body, "\"channel\":\"twilio\""));
    const char *id = strstr(body, "\"call_id\":\"");
    assert_non_null(id);
    char page[128];
    snprintf(page, sizeof page, "/report/%.36s?token=tok", id + strlen("\"call_id\":\""));
    free(body);
    body = NULL;
    assert_int_equal(get(&s, page, &body), 200);
    assert_non_null(strstr(body, "+33612345678"));
    free(body);
    stop(&s);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* GET path until its body contains want (20 s at most); free(). */
static char *await_body(srv *s, const char *path, const char *want)
{
    char *body = NULL;
    for (int i = 0; i < 400; i++) {
        free(body);
        body = NULL;
        assert_int_equal(get(s, path, &body), 200);
        if (strstr(body, want))
            return body;
        sleep_ms(50);
    }
    fail_msg("%s never showed %s: %s", path, want, body);
    return body;
}

/* Messages.json requests the stand-in answered with 201, to `to`. */
static int sms_sent(srv *s, const char *to)
{
    int n = 0;
    for (int i = 0; i < twilio_standin_request_count(s->tw); i++) {
        char *p = twilio_standin_request_path(s->tw, i);
        char *t = twilio_standin_request_param(s->tw, i, "To", 0);
        n += p && strstr(p, "/Messages.json") && t && !strcmp(t, to) &&
             twilio_standin_request_status(s->tw, i) == 201;
        free(p);
        free(t);
    }
    return n;
}

/* An inbound call the caller speaks in; returns the next gather path. */
static void call_and_speak(srv *s, const char *sid, const char *from, const char *words, char *path,
                           size_t len)
{
    const char *voice[] = {"CallSid",   sid,       "AccountSid", TWILIO_STANDIN_SID,
                           "From",      from,      "To",         "+15550001111",
                           "Direction", "inbound", NULL};
    char *res = NULL;
    assert_int_equal(hook(s, "/twilio/voice", voice, 0, &res), 200);
    gather_path(res, path, len);
    free(res);
    const char *speech[] = {"CallSid", sid, "SpeechResult", words, NULL};
    assert_int_equal(hook(s, path, speech, 0, &res), 200);
    assert_non_null(strstr(res, "<Gather"));
    gather_path(res, path, len);
    free(res);
}

/* The server is killed during a Twilio call; Twilio cannot reach it, ends
 * the call and posts the completed status to the phone number's status
 * URL (no query of ours) to the restarted server: the stored call ends
 * there, with its post-call report. */
static void test_killed_call_ended_by_twilio(void **state)
{
    (void)state;
    srv s;
    start(&s);
    char path[512];
    call_and_speak(&s, "CA0000000000000000000000000000000e", "+33622223333", "yesterday at 9 pm",
                   path, sizeof path);
    server_proc_stop(s.pid, SIGKILL);
    spawn_server(&s);
    const char *done[] = {
        "AccountSid", TWILIO_STANDIN_SID, "CallSid",        "CA0000000000000000000000000000000e",
        "CallStatus", "completed",        "CallDuration",   "40",
        "Direction",  "inbound",          "From",           "+33622223333",
        "To",         "+15550001111",     "SequenceNumber", "0",
        NULL};
    char *res = NULL;
    assert_int_equal(hook(&s, "/twilio/status", done, 0, &res), 204);
    free(res);
    char *body = await_body(&s, "/call/%2B33622223333", "\"state\":\"done\"");
    assert_non_null(strstr(body, "\"end_reason\":\"completed\""));
    assert_non_null(strstr(body, "\"in_progress\":false"));
    free(body);
    for (int i = 0; i < 200 && !sms_sent(&s, "+33622223333"); i++)
        sleep_ms(50);
    assert_int_equal(sms_sent(&s, "+33622223333"), 1);
    stop(&s);
}

/* The file-size limit of the server (LimitFSIZE, ulimit -f) at what its
 * journal holds now: the next write that grows it fails as on a full disk. */
static void fill_disk(srv *s, bool full)
{
    char wal[160];
    snprintf(wal, sizeof wal, "%s/db.sqlite-wal", s->dir);
    struct stat st;
    assert_int_equal(stat(wal, &st), 0);
    struct rlimit lim = {full ? (rlim_t)st.st_size : RLIM_INFINITY, RLIM_INFINITY};
    assert_int_equal(prlimit(s->pid, RLIMIT_FSIZE, &lim, NULL), 0);
}

/* The disk is full when Twilio's callbacks come for a call the restarted
 * server does not hold: the recording, then the end (the status callback
 * on the phone number) cannot be stored. Each is answered 503 in the error
 * envelope (Twilio's debugger shows it), not a 500, nor a 204 that drops
 * the end; with room again, the same callbacks are stored. */
static void test_full_disk_callbacks(void **state)
{
    (void)state;
    srv s;
    start(&s);
    const char *sid = "CA0000000000000000000000000000000f";
    char path[512];
    call_and_speak(&s, sid, "+33633334444", "yesterday at 9 pm", path, sizeof path);
    server_proc_stop(s.pid, SIGKILL);
    spawn_server(&s);
    const char *recorded[] = {"AccountSid",
                              TWILIO_STANDIN_SID,
                              "CallSid",
                              sid,
                              "RecordingSid",
                              "RE00000000000000000000000000000f",
                              "RecordingUrl",
                              "https://api.twilio.com/2010-04-01/Accounts/" TWILIO_STANDIN_SID
                              "/Recordings/RE00000000000000000000000000000f",
                              "RecordingStatus",
                              "completed",
                              "RecordingDuration",
                              "31",
                              NULL};
    const char *done[] = {"AccountSid", TWILIO_STANDIN_SID, "CallSid",        sid,
                          "CallStatus", "completed",        "CallDuration",   "40",
                          "Direction",  "inbound",          "From",           "+33633334444",
                          "To",         "+15550001111",     "SequenceNumber", "0",
                          NULL};
    char *res = NULL;
    fill_disk(&s, true);
    assert_int_equal(hook(&s, "/twilio/recording", recorded, 0, &res), 503);
    assert_non_null(strstr(res, "{\"error\":{\"message\":\"the database is unavailable\""));
    free(res);
    fill_disk(&s, false);
    assert_int_equal(hook(&s, "/twilio/recording", recorded, 0, &res), 204);
    free(res);

    fill_disk(&s, true);
    assert_int_equal(hook(&s, "/twilio/status", done, 0, &res), 503);
    assert_non_null(strstr(res, "{\"error\":{\"message\":\"the database is unavailable\""));
    free(res);
    char *body = NULL;
    assert_int_equal(get(&s, "/call/%2B33633334444", &body), 200);
    assert_non_null(strstr(body, "\"in_progress\":true"));
    free(body);
    fill_disk(&s, false);
    assert_int_equal(hook(&s, "/twilio/status", done, 0, &res), 204);
    free(res);
    body = await_body(&s, "/call/%2B33633334444", "\"state\":\"done\"");
    assert_non_null(strstr(body, "\"end_reason\":\"completed\""));
    assert_non_null(strstr(body, "\"recording_duration_ms\":31000"));
    free(body);
    stop(&s);
}

/* Personal data stays out of the logs at info level (the server's
 * default): a call, an SMS from the caller, the post-call report's SMS
 * through Twilio (refused once by Twilio with the number in its error
 * message, as Twilio words it), the call fetched by its number. The log
 * shows the masked number: the lines are there, without the data. */
static void test_info_log_has_no_personal_data(void **state)
{
    (void)state;
    srv s;
    start(&s);
    twilio_standin_fault refused = {
        .status = 400,
        .code = 21211,
        .message = "The 'To' number +33699990000 is not a valid phone number."};
    twilio_standin_push_fault(s.tw, &refused);
    char path[512];
    call_and_speak(&s, "CA0000000000000000000000000000000f", "+33699990000",
                   "the kitchen ceiling collapsed", path, sizeof path);
    const char *sms[] = {"MessageSid", "SM0000000000000000000000000000000f",
                         "AccountSid", TWILIO_STANDIN_SID,
                         "From",       "+33699990000",
                         "To",         "+15550001111",
                         "Body",       "My policy number is P-7781, code ZEBRA",
                         "NumMedia",   "0",
                         NULL};
    char *res = NULL;
    assert_int_equal(hook(&s, "/twilio/sms", sms, 0, &res), 200);
    free(res);
    const char *done[] = {"CallSid",    "CA0000000000000000000000000000000f",
                          "CallStatus", "completed",
                          "From",       "+33699990000",
                          "To",         "+15550001111",
                          NULL};
    assert_int_equal(hook(&s, "/twilio/status", done, 0, &res), 204);
    free(res);
    char *body = await_body(&s, "/call/%2B33699990000", "\"state\":\"done\"");
    assert_non_null(strstr(body, "P-7781"));
    free(body);
    for (int i = 0; i < 300 && !sms_sent(&s, "+33699990000"); i++)
        sleep_ms(50); /* the report's SMS, after Twilio refused it once */
    assert_int_equal(sms_sent(&s, "+33699990000"), 1);
    stop_keep_dir(&s);
    char *logs = server_logs(&s);
    static const char *const personal[] = {
        "99990000", "P-7781", "ZEBRA", "kitchen ceiling", "thank you for your call",
    };
    for (size_t i = 0; i < sizeof personal / sizeof personal[0]; i++) {
        if (strstr(logs, personal[i]))
            fail_msg("the info log shows \"%s\":\n%s", personal[i], logs);
    }
    assert_non_null(strstr(logs, "The 'To' number +33******00 is not a valid phone number."));
    assert_non_null(strstr(logs, "\"path\":\"/call/+33******00\""));
    free(logs);
    remove_dir(&s);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    server_path = argv[1];
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signed_call_through_the_server),
        cmocka_unit_test(test_killed_call_ended_by_twilio),
        cmocka_unit_test(test_full_disk_callbacks),
        cmocka_unit_test(test_info_log_has_no_personal_data),
    };
    int rc = cmocka_run_group_tests_name("server-twilio", tests, NULL, server_proc_kill_leftovers);
    curl_global_cleanup();
    return rc;
}
