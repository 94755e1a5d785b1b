/* The real ccai-server process as the ACS stand-in's application: Event
 * Grid handshake and IncomingCall over HTTP, callbacks carrying tokens the
 * stand-in signs (forged ones refused), signed REST requests back to the
 * stand-in, the offline dialogue answering, then the call in the REST API. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "support/acs_standin.h"
#include "support/server_proc.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PUBLIC   "https://bot.example.test"
#define BOT      "+15550002222"
#define RESOURCE "acs-resource-0001"

static const char *server_path;

typedef struct srv {
    pid_t pid;
    int port;
    char dir[64];
    acs_standin *acs;
    char callback[1024];
    char conn[128];
    int seen;
    const char *window; /* conversation.takeback_window_sec, NULL = the default */
    int logs;           /* server logs written: one file per start */
} srv;

/* Start the server on s->dir's database. */
static void spawn_server(srv *s)
{
    char db[128], ep[256], openid[256], window[96];
    snprintf(window, sizeof window, "CONVERSATION__TAKEBACK_WINDOW_SEC=%s",
             s->window ? s->window : "600");
    snprintf(db, sizeof db, "DATABASE__SQLITE__PATH=%s/db.sqlite", s->dir);
    snprintf(ep, sizeof ep, "COMMUNICATION_SERVICES__ENDPOINT=%s", acs_standin_url(s->acs));
    snprintf(openid, sizeof openid,
             "COMMUNICATION_SERVICES__OPENID_CONFIG_URL=%s/calling/.well-known/"
             "acsopenidconfiguration",
             acs_standin_url(s->acs));
    char *envp[] = {db,
                    ep,
                    openid,
                    (char *)"COMMUNICATION_SERVICES__ACCESS_KEY=" ACS_STANDIN_KEY,
                    (char *)"COMMUNICATION_SERVICES__PHONE_NUMBER=" BOT,
                    (char *)"COMMUNICATION_SERVICES__RESOURCE_ID=" RESOURCE,
                    (char *)"SERVER__LISTEN=127.0.0.1:0",
                    (char *)"SERVER__API_TOKEN=tok",
                    (char *)"SERVER__PUBLIC_URL=" PUBLIC,
                    (char *)"CONVERSATION__INITIATE__LANG__DEFAULT_SHORT_CODE=en-US",
                    (char *)"CONFIG_YAML=",
                    window,
                    NULL,
                    NULL};
    /* server-acs-group-commit: the same tests with database.sqlite.group_commit. */
    if (getenv("CCAI_TEST_SQLITE_GROUP_COMMIT"))
        envp[sizeof envp / sizeof envp[0] - 2] = (char *)"DATABASE__SQLITE__GROUP_COMMIT=true";
    char log[160];
    snprintf(log, sizeof log, "%s/server%d.log", s->dir, s->logs++);
    s->pid = server_proc_start(server_path, envp, log, &s->port);
    assert_true(s->pid > 0);
}

static void start(srv *s)
{
    s->acs = acs_standin_start(NULL);
    assert_non_null(s->acs);
    strcpy(s->dir, "/tmp/ccai-srvacs-XXXXXX");
    assert_non_null(mkdtemp(s->dir));
    spawn_server(s);
}

/* Stop the server with sig (SIGKILL: a crash; SIGTERM: a clean stop) and
 * start it again on the same database. */
static void restart(srv *s, int sig)
{
    server_proc_stop(s->pid, sig);
    spawn_server(s);
}

static void stop_keep_dir(srv *s)
{
    assert_int_equal(server_proc_stop(s->pid, SIGTERM), 0);
    acs_standin_stop(s->acs);
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

/* POST (body) or GET (NULL) path on the server with an Authorization
 * header; the status, *ret the body (free()). */
static long request(srv *s, const char *path, const char *body, const char *auth, char **ret)
{
    long code = server_proc_request(s->port, body ? "POST" : "GET", path, body, auth, ret);
    assert_true(code > 0);
    return code;
}

/* A callback of the call, delivered by the ACS stand-in as ACS delivers it. */
static long deliver(srv *s, const char *type, const char *data, acs_standin_token how)
{
    char url[1280];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", s->port, s->callback);
    int code = acs_standin_deliver(s->acs, url, RESOURCE, how, type, s->conn, data);
    assert_true(code > 0);
    return code;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The next stand-in request whose path ends with suffix (10 s at most). */
static json_t *expect_request(srv *s, const char *suffix)
{
    for (int tries = 0; tries < 1000; tries++) {
        int n = acs_standin_request_count(s->acs);
        for (int i = s->seen; i < n; i++) {
            char *p = acs_standin_request_path(s->acs, i);
            size_t pl = p ? strlen(p) : 0, sl = strlen(suffix);
            bool match = pl >= sl && strcmp(p + pl - sl, suffix) == 0;
            free(p);
            if (match) {
                char *why = acs_standin_request_auth_error(s->acs, i);
                assert_string_equal(why, "");
                free(why);
                s->seen = i + 1;
                return acs_standin_request_json(s->acs, i);
            }
        }
        sleep_ms(10);
    }
    fail_msg("no request to ...%s", suffix);
    return NULL;
}

static void test_acs_call_through_the_server(void **state)
{
    (void)state;
    srv s = {0};
    start(&s);
    char *res = NULL;
    const char *validation =
        "[{\"id\":\"v1\",\"topic\":\"/subscriptions/x\",\"subject\":\"\",\"data\":"
        "{\"validationCode\":\"code-123\"},\"eventType\":\"Microsoft.EventGrid."
        "SubscriptionValidationEvent\",\"eventTime\":\"2026-11-25T10:00:00Z\","
        "\"metadataVersion\":\"1\",\"dataVersion\":\"2\"}]";
    assert_int_equal(request(&s, "/acs/events", validation, NULL, &res), 200);
    assert_string_equal(res, "{\"validationResponse\":\"code-123\"}");
    free(res);
    const char *incoming =
        "[{\"id\":\"i1\",\"topic\":\"/subscriptions/x\",\"subject\":\"/caller/x\","
        "\"eventType\":\"Microsoft.Communication.IncomingCall\",\"eventTime\":"
        "\"2026-11-25T10:00:00Z\",\"dataVersion\":\"1.0\",\"metadataVersion\":\"1\",\"data\":{"
        "\"to\":{\"kind\":\"phoneNumber\",\"rawId\":\"4:" BOT "\",\"phoneNumber\":{\"value\":\"" BOT
        "\"}},\"from\":{\"kind\":\"phoneNumber\",\"rawId\":\"4:+33612345678\",\"phoneNumber\":"
        "{\"value\":\"+33612345678\"}},\"serverCallId\":\"srv-1\",\"incomingCallContext\":"
        "\"ctx-1\",\"correlationId\":\"corr-1\"}}]";
    assert_int_equal(request(&s, "/acs/events", incoming, NULL, NULL), 200);
    json_t *j = expect_request(&s, "/calling/callConnections:answer");
    const char *cb = json_string_value(json_object_get(j, "callbackUri"));
    assert_non_null(cb);
    assert_int_equal(strncmp(cb, PUBLIC, strlen(PUBLIC)), 0);
    snprintf(s.callback, sizeof s.callback, "%s", cb + strlen(PUBLIC));
    json_decref(j);
    char *conn = acs_standin_latest_call(s.acs);
    snprintf(s.conn, sizeof s.conn, "%s", conn);
    free(conn);

    assert_int_equal(deliver(&s, "CallConnected", NULL, ACS_TOKEN_FORGED), 401);
    assert_int_equal(deliver(&s, "CallConnected", NULL, ACS_TOKEN_VALID), 200);
    j = expect_request(&s, ":recognize");
    assert_string_equal(json_string_value(json_object_get(j, "recognizeInputType")), "choices");
    json_decref(j);
    assert_int_equal(deliver(&s, "RecognizeCompleted",
                             "{\"recognitionType\":\"choices\",\"choiceResult\":{\"label\":"
                             "\"en-US\",\"recognizedPhrase\":\"English\"}}",
                             ACS_TOKEN_VALID),
                     200);
    j = expect_request(&s, ":recognize"); /* the greeting, listening */
    assert_string_equal(json_string_value(json_object_get(j, "recognizeInputType")), "speech");
    json_decref(j);
    /* No LLM configured: the offline dialogue takes the caller's words. */
    assert_int_equal(deliver(&s, "RecognizeCompleted",
                             "{\"recognitionType\":\"speech\",\"speechResult\":{\"speech\":"
                             "\"yesterday at 9 pm\"}}",
                             ACS_TOKEN_VALID),
                     200);
    j = expect_request(&s, ":recognize");
    json_decref(j);
    assert_int_equal(deliver(&s, "CallDisconnected", NULL, ACS_TOKEN_VALID), 200);

    char *body = NULL;
    assert_int_equal(request(&s, "/call/%2B33612345678", NULL, "Bearer tok", &body), 200);
    assert_non_null(strstr(body, "\"channel\":\"acs\""));
    assert_non_null(strstr(body, "\"incident_datetime\""));
    assert_non_null(strstr(body, "\"in_progress\":false"));
    free(body);
    stop(&s);
}

/* Ring, connect, choose English: the greeting listens. Sets s->callback
 * and s->conn. */
static void ring_and_connect(srv *s, const char *caller, const char *server_call_id)
{
    char incoming[2048];
    snprintf(incoming, sizeof incoming,
             "[{\"id\":\"i-%s\",\"eventType\":\"Microsoft.Communication.IncomingCall\","
             "\"data\":{\"to\":{\"kind\":\"phoneNumber\",\"phoneNumber\":{\"value\":\"" BOT
             "\"}},\"from\":{\"kind\":\"phoneNumber\",\"phoneNumber\":{\"value\":\"%s\"}},"
             "\"serverCallId\":\"%s\",\"incomingCallContext\":\"ctx-%s\"}}]",
             server_call_id, caller, server_call_id, server_call_id);
    assert_int_equal(request(s, "/acs/events", incoming, NULL, NULL), 200);
    json_t *j = expect_request(s, "/calling/callConnections:answer");
    const char *cb = json_string_value(json_object_get(j, "callbackUri"));
    snprintf(s->callback, sizeof s->callback, "%s", cb + strlen(PUBLIC));
    json_decref(j);
    char *conn = acs_standin_request_created(s->acs, s->seen - 1);
    assert_non_null(conn);
    snprintf(s->conn, sizeof s->conn, "%s", conn);
    free(conn);
    assert_int_equal(deliver(s, "CallConnected", NULL, ACS_TOKEN_VALID), 200);
    json_decref(expect_request(s, ":recognize")); /* the menu */
    assert_int_equal(deliver(s, "RecognizeCompleted",
                             "{\"recognitionType\":\"choices\",\"choiceResult\":{\"label\":"
                             "\"en-US\"}}",
                             ACS_TOKEN_VALID),
                     200);
    json_decref(expect_request(s, ":recognize")); /* the greeting */
}

/* The server dies during a call: started again, it takes the call back
 * when ACS reports the caller's words. Stopped cleanly during a call: ACS's
 * call is hung up instead of left in silence. */
static void test_restart_during_a_call(void **state)
{
    (void)state;
    srv s = {0};
    start(&s);
    ring_and_connect(&s, "+33611111111", "srv-crash");
    restart(&s, SIGKILL);
    assert_int_equal(deliver(&s, "RecognizeCompleted",
                             "{\"recognitionType\":\"speech\",\"speechResult\":{\"speech\":"
                             "\"yesterday at 9 pm\"}}",
                             ACS_TOKEN_VALID),
                     200);
    json_decref(expect_request(&s, ":recognize")); /* answered, listening again */
    char *body = NULL;
    assert_int_equal(request(&s, "/call/%2B33611111111", NULL, "Bearer tok", &body), 200);
    assert_non_null(strstr(body, "yesterday at 9 pm"));
    assert_non_null(strstr(body, "\"in_progress\":true"));
    free(body);

    /* Taken back on a silence: the greeting listens, once (the silence is
     * not answered on top of it). */
    ring_and_connect(&s, "+33633333333", "srv-crash-2");
    restart(&s, SIGKILL);
    assert_int_equal(deliver(&s, "RecognizeFailed",
                             "{\"resultInformation\":{\"code\":400,\"subCode\":8510}}",
                             ACS_TOKEN_VALID),
                     200);
    json_decref(expect_request(&s, ":recognize"));
    sleep_ms(300);
    for (int i = s.seen; i < acs_standin_request_count(s.acs); i++) {
        char *p = acs_standin_request_path(s.acs, i);
        assert_null(strstr(p, ":recognize"));
        free(p);
    }

    ring_and_connect(&s, "+33622222222", "srv-clean");
    restart(&s, SIGTERM);
    assert_int_equal(deliver(&s, "RecognizeFailed",
                             "{\"resultInformation\":{\"code\":400,\"subCode\":8510}}",
                             ACS_TOKEN_VALID),
                     200);
    char suffix[200];
    snprintf(suffix, sizeof suffix, "%s:terminate", s.conn);
    json_decref(expect_request(&s, suffix));
    stop(&s);
}

/* GET path until its body contains want (timeout_ms at most); the last
 * body (free()). */
static char *await_body(srv *s, const char *path, const char *want, int timeout_ms)
{
    char *body = NULL;
    for (int waited = 0; waited <= timeout_ms; waited += 50) {
        free(body);
        body = NULL;
        assert_int_equal(request(s, path, NULL, "Bearer tok", &body), 200);
        if (strstr(body, want))
            return body;
        sleep_ms(50);
    }
    fail_msg("%s never showed %s: %s", path, want, body);
    return body;
}

/* The server is killed (SIGKILL) during a call and started again; no
 * channel takes the call back (ACS reports nothing more for it): once the
 * take-back window has passed with no sign of life, the call ends as
 * "interrupted" and gets its post-call report, so the API tells the truth.
 * A call taken back within the window is left alone, and a second server
 * sharing the database never ends a call the first one holds live, until
 * the first one dies. */
static void test_killed_call_nobody_takes_back(void **state)
{
    (void)state;
    srv s = {.window = "3"};
    start(&s);
    ring_and_connect(&s, "+33644444444", "srv-lost");
    assert_int_equal(deliver(&s, "RecognizeCompleted",
                             "{\"recognitionType\":\"speech\",\"speechResult\":{\"speech\":"
                             "\"my cellar is flooded\"}}",
                             ACS_TOKEN_VALID),
                     200);
    json_decref(expect_request(&s, ":recognize"));
    restart(&s, SIGKILL);
    char *body = await_body(&s, "/call/%2B33644444444", "\"in_progress\":false", 8000);
    assert_non_null(strstr(body, "\"end_reason\":\"interrupted\""));
    free(body);
    /* The post-call report runs (offline: no LLM configured). */
    body = await_body(&s, "/call/%2B33644444444", "\"state\":\"done\"", 8000);
    assert_non_null(strstr(body, "\"synthesis\":{"));
    free(body);
    assert_int_equal(request(&s, "/metrics", NULL, "Bearer tok", &body), 200);
    assert_non_null(strstr(body, "ccai_calls_interrupted_total 1"));
    free(body);

    /* Taken back within the window: still going well past it. */
    ring_and_connect(&s, "+33655555555", "srv-back");
    restart(&s, SIGKILL);
    assert_int_equal(deliver(&s, "RecognizeFailed",
                             "{\"resultInformation\":{\"code\":400,\"subCode\":8510}}",
                             ACS_TOKEN_VALID),
                     200);
    json_decref(expect_request(&s, ":recognize"));
    sleep_ms(5000);
    assert_int_equal(request(&s, "/call/%2B33655555555", NULL, "Bearer tok", &body), 200);
    assert_non_null(strstr(body, "\"in_progress\":true"));
    free(body);

    /* A second server on the same database: it leaves the first one's
     * live call alone... */
    srv other = s;
    other.logs = 100;
    spawn_server(&other);
    sleep_ms(5000);
    assert_int_equal(request(&other, "/call/%2B33655555555", NULL, "Bearer tok", &body), 200);
    assert_non_null(strstr(body, "\"in_progress\":true"));
    free(body);
    /* ...until the first one is killed and nobody takes the call back. */
    server_proc_stop(s.pid, SIGKILL);
    s.pid = other.pid;
    s.port = other.port;
    body = await_body(&s, "/call/%2B33655555555", "\"end_reason\":\"interrupted\"", 8000);
    free(body);
    stop(&s);
}

/* Everything the server logged in s->dir (every start); free(). */
static char *server_logs(srv *s)
{
    char *all = server_proc_logs(s->dir, s->logs);
    assert_non_null(all);
    return all;
}

/* Personal data stays out of the logs at info level (the server's default):
 * a call with an SMS from the caller, the post-call report's SMS through
 * the outbox (no SMS provider configured), the call fetched by its number,
 * a number ACS refuses. The log does show the masked number: the lines
 * are there, without the data. */
static void test_info_log_has_no_personal_data(void **state)
{
    (void)state;
    srv s = {0};
    start(&s);
    ring_and_connect(&s, "+33677778888", "srv-pii");
    const char *sms =
        "[{\"id\":\"sms-9\",\"topic\":\"/subscriptions/x\",\"subject\":\"/phonenumber/"
        "15550002222\",\"data\":{\"MessageId\":\"Incoming_9\",\"From\":\"33677778888\","
        "\"To\":\"15550002222\",\"Message\":\"My policy number is P-7781, code ZEBRA\","
        "\"ReceivedTimestamp\":\"2026-11-25T10:01:00Z\"},\"eventType\":"
        "\"Microsoft.Communication.SMSReceived\",\"dataVersion\":\"1.0\","
        "\"metadataVersion\":\"1\",\"eventTime\":\"2026-11-25T10:01:00Z\"}]";
    assert_int_equal(request(&s, "/acs/events", sms, NULL, NULL), 200);
    assert_int_equal(deliver(&s, "RecognizeCompleted",
                             "{\"recognitionType\":\"speech\",\"speechResult\":{\"speech\":"
                             "\"the kitchen ceiling collapsed\"}}",
                             ACS_TOKEN_VALID),
                     200);
    json_decref(expect_request(&s, ":recognize"));
    assert_int_equal(deliver(&s, "CallDisconnected", NULL, ACS_TOKEN_VALID), 200);
    char *body = await_body(&s, "/call/%2B33677778888", "\"state\":\"done\"", 8000);
    assert_non_null(strstr(body, "P-7781"));
    free(body);
    /* The report's SMS went to the outbox (a job done). */
    body = NULL;
    for (int i = 0; i < 400; i++) { /* 20 s at most */
        free(body);
        body = server_logs(&s);
        if (strstr(body, "(sms): done"))
            break;
        sleep_ms(50);
    }
    assert_non_null(strstr(body, "(sms): done"));
    free(body);
    stop_keep_dir(&s);
    char *logs = server_logs(&s);
    static const char *const personal[] = {
        "77778888", "7 77 78 88", "P-7781", "ZEBRA", "kitchen ceiling", "thank you for your call",
    };
    for (size_t i = 0; i < sizeof personal / sizeof personal[0]; i++) {
        if (strstr(logs, personal[i]))
            fail_msg("the info log shows \"%s\":\n%s", personal[i], logs);
    }
    assert_non_null(strstr(logs, "\"path\":\"/call/+33******88\""));
    assert_null(strstr(logs, "\"level\":\"debug\""));
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
        cmocka_unit_test(test_acs_call_through_the_server),
        cmocka_unit_test(test_restart_during_a_call),
        cmocka_unit_test(test_killed_call_nobody_takes_back),
        cmocka_unit_test(test_info_log_has_no_personal_data),
    };
    int rc = cmocka_run_group_tests_name("server-acs", tests, NULL, server_proc_kill_leftovers);
    curl_global_cleanup();
    return rc;
}
