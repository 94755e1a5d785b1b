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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PUBLIC "https://bot.example.test"

static const char *server_path;

typedef struct srv {
    pid_t pid;
    int port;
    char dir[64];
    twilio_standin *tw;
} srv;

static void start(srv *s)
{
    s->tw = twilio_standin_start(NULL, NULL);
    assert_non_null(s->tw);
    strcpy(s->dir, "/tmp/ccai-srvtw-XXXXXX");
    assert_non_null(mkdtemp(s->dir));
    char db[128], api[256], log[128];
    snprintf(db, sizeof db, "DATABASE__SQLITE__PATH=%s/db.sqlite", s->dir);
    snprintf(api, sizeof api, "TWILIO__API_BASE_URL=%s", twilio_standin_url(s->tw));
    snprintf(log, sizeof log, "%s/server.log", s->dir);
    char *envp[] = {db,
                    api,
                    (char *)"SERVER__LISTEN=127.0.0.1:0",
                    (char *)"SERVER__API_TOKEN=tok",
                    (char *)"SERVER__PUBLIC_URL=" PUBLIC,
                    (char *)"TWILIO__ACCOUNT_SID=" TWILIO_STANDIN_SID,
                    (char *)"TWILIO__AUTH_TOKEN=" TWILIO_STANDIN_TOKEN,
                    (char *)"TWILIO__PHONE_NUMBER=+15550001111",
                    (char *)"CONVERSATION__INITIATE__LANG__DEFAULT_SHORT_CODE=en-US",
                    (char *)"CONFIG_YAML=",
                    NULL};
    s->pid = server_proc_start(server_path, envp, log, &s->port);
    assert_true(s->pid > 0);
}

static void stop(srv *s)
{
    assert_int_equal(server_proc_stop(s->pid, SIGTERM), 0);
    twilio_standin_stop(s->tw);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", s->dir);
    assert_int_equal(system(cmd), 0);
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

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    server_path = argv[1];
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signed_call_through_the_server),
    };
    int rc = cmocka_run_group_tests_name("server-twilio", tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
