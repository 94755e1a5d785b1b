/* Tools that act, end to end in one process over the Twilio channel: the
 * LLM stand-in calls the tools as a model does, the Twilio REST stand-in
 * receives what we place and send, a test webhook receiver gets the alerts.
 *
 * - schedule_callback: at its time the call is placed through Twilio (also
 *   after a restart of the context on the same database), the callee hears
 *   why we call and the conversation resumes; unanswered, it is dialled
 *   again, then given up; each dial is on the call's document and report.
 * - notify_emergencies: a signed webhook (HMAC checked here) retried after
 *   a 500 until a 2xx, an SMS to the on-call number retried after a 500;
 *   with no target the LLM is told nobody was alerted.
 * - send_sms: impossible without a provider (the LLM reads it); queued
 *   with Twilio, whose signed status callbacks (MessageStatus undelivered,
 *   as Twilio sends them; the signature judged by Twilio's SDK when Node
 *   is here) land on the call's message and reach the LLM. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <ccai/adapters/poll.h>

#include "channels/twilio/twilio_sig.h"
#include "http/form.h"
#include "support/httpd.h"
#include "support/twilio_env.h"

#include <openssl/hmac.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PUBLIC_URL TWILIO_ENV_PUBLIC_URL
#define CALLER     "+33612345678"
#define ONCALL     "+33699887766"
#define SECRET     "alert-signing-secret"

typedef http_answer answer;
typedef twilio_env env;

/* extra: more keys, "key", "value", ..., NULL. */
static void env_init(env *e, const char *const *extra)
{
    char db[256];
    snprintf(db, sizeof db, "/tmp/ccai-actions-%d-%ld.sqlite", (int)getpid(), (long)ccai_time_ms());
    static const char *const fixed[] = {"callbacks.retry_delay_sec", "1", NULL};
    twilio_env_init(e, db, fixed, extra);
}

/* The process stops and starts again on the same database. */
static void env_restart(env *e)
{
    ccai_poll_free(e->poll);
    e->poll = NULL;
    e->ctx = NULL;
    assert_int_equal(ccai_poll_new(e->cfg, &e->poll, &e->ctx, NULL), CCAI_OK);
}

static void env_free(env *e)
{
    twilio_env_free(e);
    char p[300];
    const char *suffix[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s%s", e->db, suffix[i]);
        unlink(p);
    }
}

/* POST a webhook the way Twilio does. */
static void webhook(env *e, const char *target, const char *const *pairs, answer *a)
{
    twilio_env_webhook(e, target, pairs, false, a);
}

static void push_tool(env *e, const char *name, const char *args)
{
    standin_tool_call tc = {.id = "t1", .name = name, .arguments = args};
    standin_spec t = STANDIN_SPEC_INIT;
    t.kind = STANDIN_TOOL_CALLS;
    t.tool_calls = &tc;
    t.n_tool_calls = 1;
    standin_push(e->llm, &t);
}

static void push_text(env *e, const char *text)
{
    standin_spec s = STANDIN_SPEC_INIT;
    s.content = text;
    standin_push(e->llm, &s);
}

/* An inbound call from CALLER: its Gather action URL into gather. */
static void call_in(env *e, const char *sid, char *gather, size_t len)
{
    answer a;
    const char *voice[] = {
        "CallSid",      sid,          "AccountSid", TWILIO_STANDIN_SID, "From",    CALLER, "To",
        "+15550001111", "CallStatus", "ringing",    "Direction",        "inbound", NULL};
    webhook(e, "/twilio/voice", voice, &a);
    assert_int_equal(a.status, 200);
    twilio_env_attr(a.body, "<Gather", "action", gather, len);
}

/* The caller says words; the TwiML of the whole answer into all. */
static void say(env *e, const char *sid, const char *gather, const char *words, char *all,
                size_t len, char *next_gather, size_t glen)
{
    answer a;
    const char *speech[] = {"CallSid", sid, "SpeechResult", words, "Confidence", "0.9", NULL};
    webhook(e, twilio_env_local(gather), speech, &a);
    assert_int_equal(a.status, 200);
    all[0] = '\0';
    twilio_env_follow(e, sid, &a, all, len);
    if (next_gather && strstr(a.body, "<Gather"))
        twilio_env_attr(a.body, "<Gather", "action", next_gather, glen);
}

/* Twilio says the call is over (its status callback, with the call's URL). */
static void hang_up(env *e, const char *sid, const char *any_call_url, const char *status)
{
    char fixed[512];
    snprintf(fixed, sizeof fixed, "/twilio/status%s", strchr(twilio_env_local(any_call_url), '?'));
    const char *done[] = {"CallSid", sid, "CallStatus", status, "CallDuration", "0", NULL};
    answer a;
    webhook(e, fixed, done, &a);
    assert_true(a.status == 204 || a.status == 200);
}

/* The index of the n-th (0-based) request whose path contains what, or -1. */
static int nth_request(env *e, const char *what, int n)
{
    for (int i = 0; i < twilio_standin_request_count(e->tw); i++) {
        char *rp = twilio_standin_request_path(e->tw, i);
        bool hit = rp && strstr(rp, what);
        free(rp);
        if (hit && n-- == 0)
            return i;
    }
    return -1;
}

static bool wait_requests(env *e, const char *what, int n, uint64_t ms)
{
    uint64_t until = ccai_time_ms() + ms;
    while (twilio_env_requests(e, what, NULL) < n && ccai_time_ms() < until)
        ccai_poll_run_once(e->poll, 20);
    return twilio_env_requests(e, what, NULL) >= n;
}

static char *call_json(env *e)
{
    char *json = NULL;
    if (ccai_ctx_call_find_json(e->ctx, CALLER, 0, &json) != CCAI_OK || !json)
        fail_msg("no call of " CALLER);
    char *copy = strdup(json);
    free(json);
    return copy;
}

/* A string member of the call's document into out. */
static void doc_str(env *e, const char *key, char *out, size_t len)
{
    char *json = call_json(e);
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *k = strstr(json, pat);
    if (!k)
        fail_msg("no %s in the call's document", key);
    size_t at = (size_t)(k - json) + strlen(pat);
    size_t n = strcspn(json + at, "\"");
    if (n >= len)
        n = len - 1;
    memcpy(out, json + at, n);
    out[n] = '\0';
    free(json);
}

static char *metrics(env *e)
{
    ccai_http_header auth[1] = {{"Authorization", "Bearer api"}};
    static answer a;
    assert_true(exchange_run(e->ctx, e->poll, "GET", "/metrics", auth, 1, NULL, "127.0.0.1", &a));
    return a.body;
}

/* An ISO time (UTC) secs from now. */
static void iso_in(int secs, char *out, size_t len)
{
    time_t t = time(NULL) + secs;
    struct tm u;
    gmtime_r(&t, &u);
    strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &u);
}

/* An inbound call where the caller asks to be called back in secs: the
 * LLM schedules it; then the caller hangs up. The Gather URL (the call's
 * URLs carry its id and secret) into gather. */
static void schedule(env *e, int secs, char *gather, size_t len)
{
    call_in(e, "CA00000000000000000000000000000001", gather, len);
    char when[40], args[256];
    iso_in(secs, when, sizeof when);
    snprintf(args, sizeof args,
             "{\"date_time\":\"%s\",\"reason\":\"your claim for the broken window\","
             "\"customer_response\":\"We will call you back.\"}",
             when);
    push_tool(e, "schedule_callback", args);
    push_text(e, "Talk to you soon.");
    char all[8192];
    say(e, "CA00000000000000000000000000000001", gather, "Call me back in a moment please", all,
        sizeof all, NULL, 0);
    /* The LLM read the truth: scheduled, for when. */
    int n = standin_request_count(e->llm);
    char *req = standin_request_body(e->llm, n - 1);
    assert_non_null(strstr(req, "Callback scheduled for "));
    free(req);
    hang_up(e, "CA00000000000000000000000000000001", gather, "completed");
}

/* Twilio answers the placed call n (0-based): fetches its TwiML. */
static void answer_placed(env *e, int n, const char *sid, answer *v)
{
    int i = nth_request(e, "/Calls.json", n);
    assert_true(i >= 0);
    char *to = twilio_standin_request_param(e->tw, i, "To", 0);
    char *url = twilio_standin_request_param(e->tw, i, "Url", 0);
    assert_string_equal(to, CALLER);
    const char *answered[] = {
        "CallSid", sid, "From", "+15550001111", "To", CALLER, "Direction", "outbound-api", NULL};
    webhook(e, twilio_env_local(url), answered, v);
    free(to);
    free(url);
}

static void test_callback_dials_and_resumes(void **state)
{
    (void)state;
    env e;
    env_init(&e, NULL);
    char gather[512];
    schedule(&e, 2, gather, sizeof gather);
    assert_int_equal(twilio_env_requests(&e, "/Calls.json", NULL), 0); /* not before its time */

    /* Due: Twilio is asked to place the call, with our webhooks. */
    assert_true(wait_requests(&e, "/Calls.json", 1, 10000));
    int i = nth_request(&e, "/Calls.json", 0);
    char *url = twilio_standin_request_param(e.tw, i, "Url", 0);
    char *status = twilio_standin_request_param(e.tw, i, "StatusCallback", 0);
    assert_non_null(strstr(url, PUBLIC_URL "/twilio/voice?call="));
    assert_non_null(strstr(status, PUBLIC_URL "/twilio/status?call="));
    /* The same call goes on: its id is in the URL. */
    char id[40];
    doc_str(&e, "call_id", id, sizeof id);
    assert_non_null(strstr(url, id));
    free(url);
    free(status);

    /* The callee answers: told why we call, and listened to. */
    answer v;
    answer_placed(&e, 0, "CA00000000000000000000000000000009", &v);
    assert_int_equal(v.status, 200);
    assert_non_null(strstr(v.body, "call you back"));
    assert_non_null(strstr(v.body, "your claim for the broken window"));
    assert_non_null(strstr(v.body, "<Gather"));
    char g2[512];
    twilio_env_attr(v.body, "<Gather", "action", g2, sizeof g2);

    /* The LLM answers with the earlier conversation and the callback's
     * opening in its history: the same claim, the same call. */
    push_text(&e, "Great, let us finish your claim.");
    char all[8192];
    say(&e, "CA00000000000000000000000000000009", g2, "Yes it is a good time", all, sizeof all,
        NULL, 0);
    int n = standin_request_count(e.llm);
    char *req = standin_request_body(e.llm, n - 1);
    assert_non_null(strstr(req, "Call me back in a moment please"));
    assert_non_null(strstr(req, "your claim for the broken window"));
    free(req);
    assert_non_null(strstr(all, "Great, let us finish your claim."));

    char *json = call_json(&e);
    assert_non_null(strstr(json, "\"callbacks\":[{"));
    assert_non_null(strstr(json, "\"outcome\":\"answered\""));
    assert_non_null(strstr(json, "Yes it is a good time"));
    free(json);
    assert_non_null(strstr(metrics(&e), "ccai_callbacks_total{outcome=\"answered\"} 1"));
    env_free(&e);
}

static void test_callback_survives_restart(void **state)
{
    (void)state;
    env e;
    env_init(&e, NULL);
    char gather[512];
    schedule(&e, 3, gather, sizeof gather);
    env_restart(&e); /* before it is due */
    assert_int_equal(twilio_env_requests(&e, "/Calls.json", NULL), 0);
    assert_true(wait_requests(&e, "/Calls.json", 1, 10000));
    answer v;
    answer_placed(&e, 0, "CA0000000000000000000000000000000a", &v);
    assert_non_null(strstr(v.body, "your claim for the broken window"));
    env_free(&e);
}

static void test_callback_retries_then_gives_up(void **state)
{
    (void)state;
    env e;
    const char *extra[] = {"callbacks.max_attempts", "2", NULL};
    env_init(&e, extra);
    char gather[512];
    schedule(&e, 1, gather, sizeof gather);

    /* Dial 1: nobody answers (Twilio's status callback, no-answer). */
    assert_true(wait_requests(&e, "/Calls.json", 1, 10000));
    char *status =
        twilio_standin_request_param(e.tw, nth_request(&e, "/Calls.json", 0), "StatusCallback", 0);
    hang_up(&e, "CA0000000000000000000000000000000b", status, "no-answer");
    free(status);
    char *json = call_json(&e);
    assert_non_null(strstr(json, "\"outcome\":\"retrying\""));
    assert_non_null(strstr(json, "\"outcome\":\"no-answer\""));
    free(json);

    /* Dial 2 after the backoff: busy. Given up. */
    assert_true(wait_requests(&e, "/Calls.json", 2, 10000));
    status =
        twilio_standin_request_param(e.tw, nth_request(&e, "/Calls.json", 1), "StatusCallback", 0);
    hang_up(&e, "CA0000000000000000000000000000000c", status, "busy");
    free(status);
    json = call_json(&e);
    assert_non_null(strstr(json, "\"outcome\":\"given_up\""));
    assert_non_null(strstr(json, "\"outcome\":\"busy\""));
    assert_non_null(strstr(json, "given up after 2 dials"));
    free(json);
    /* No third dial. */
    uint64_t until = ccai_time_ms() + 2500;
    while (ccai_time_ms() < until)
        ccai_poll_run_once(e.poll, 50);
    assert_int_equal(twilio_env_requests(&e, "/Calls.json", NULL), 2);
    const char *m = metrics(&e);
    assert_non_null(strstr(m, "ccai_callbacks_total{outcome=\"given_up\"} 1"));
    assert_non_null(strstr(m, "ccai_callbacks_total{outcome=\"unanswered\"} 2"));

    /* The report page shows each dial. */
    char path[128];
    doc_str(&e, "report_path", path, sizeof path);
    answer r;
    assert_true(exchange_run(e.ctx, e.poll, "GET", path, NULL, 0, NULL, "127.0.0.1", &r));
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "no-answer"));
    assert_non_null(strstr(r.body, "busy"));
    assert_non_null(strstr(r.body, "given up"));
    env_free(&e);
}

/* The webhook receiver: 500 to the first request, 200 after; keeps every
 * request. */
typedef struct receiver {
    pthread_mutex_t mu;
    int n;
    char headers[4][8192];
    char bodies[4][4096];
} receiver;

static void on_alert(const test_request *req, int fd, void *ud)
{
    receiver *r = ud;
    pthread_mutex_lock(&r->mu);
    int k = r->n++;
    if (k < 4) {
        snprintf(r->headers[k], sizeof r->headers[k], "%s", req->headers);
        snprintf(r->bodies[k], sizeof r->bodies[k], "%s", req->body ? req->body : "");
    }
    pthread_mutex_unlock(&r->mu);
    if (k == 0)
        test_httpd_printf(fd, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n"
                              "Connection: close\r\n\r\noops");
    else
        test_httpd_printf(fd,
                          "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
}

static int received(receiver *r)
{
    pthread_mutex_lock(&r->mu);
    int n = r->n;
    pthread_mutex_unlock(&r->mu);
    return n;
}

/* A header's value from a raw block, into out. */
static bool header(const char *block, const char *name, char *out, size_t len)
{
    size_t n = strlen(name);
    for (const char *l = block; l && *l; l = strstr(l, "\n") ? strstr(l, "\n") + 1 : NULL) {
        if (!strncasecmp(l, name, n) && l[n] == ':') {
            const char *v = l + n + 1;
            while (*v == ' ')
                v++;
            size_t m = strcspn(v, "\r\n");
            snprintf(out, len, "%.*s", (int)m, v);
            return true;
        }
    }
    return false;
}

static void test_alerts_reach_targets(void **state)
{
    (void)state;
    receiver rcv = {.mu = PTHREAD_MUTEX_INITIALIZER};
    test_httpd *h = test_httpd_start(on_alert, &rcv);
    assert_non_null(h);
    char targets[256];
    snprintf(targets, sizeof targets,
             "[{\"webhook\":\"http://127.0.0.1:%d/hooks/ccai\"},{\"sms\":\"" ONCALL "\"}]",
             test_httpd_port(h));
    const char *extra[] = {"emergencies.targets",
                           targets,
                           "emergencies.webhook_secret",
                           SECRET,
                           "emergencies.retry_delay_sec",
                           "1",
                           "sms.mode",
                           "twilio",
                           NULL};
    env e;
    env_init(&e, extra);
    /* Twilio refuses the first SMS (a 500): the alert SMS is sent again. */
    twilio_standin_fault f = {.status = 500};
    twilio_standin_push_fault(e.tw, &f);

    char gather[512], all[8192];
    call_in(&e, "CA00000000000000000000000000000011", gather, sizeof gather);
    push_tool(&e, "notify_emergencies",
              "{\"service\":\"firefighters\",\"reason\":\"smoke in the kitchen\","
              "\"location\":\"12 rue Royale, Lyon\",\"contact\":\"" CALLER "\","
              "\"customer_response\":\"I am alerting them.\"}");
    push_text(&e, "Please leave the flat now.");
    say(&e, "CA00000000000000000000000000000011", gather, "There is smoke everywhere", all,
        sizeof all, gather, sizeof gather);
    int n = standin_request_count(e.llm);
    char *req = standin_request_body(e.llm, n - 1);
    assert_non_null(strstr(req, "Alert for firefighters queued"));
    assert_null(strstr(req, "have been alerted"));
    free(req);

    /* The webhook: a 500, then acknowledged. */
    uint64_t until = ccai_time_ms() + 15000;
    while ((received(&rcv) < 2 || twilio_env_requests(&e, "/Messages.json", NULL) < 2) &&
           ccai_time_ms() < until)
        ccai_poll_run_once(e.poll, 20);
    assert_int_equal(received(&rcv), 2);
    for (int k = 0; k < 2; k++) {
        char sig[128], ts[32];
        assert_true(header(rcv.headers[k], "X-Ccai-Signature", sig, sizeof sig));
        assert_true(header(rcv.headers[k], "X-Ccai-Timestamp", ts, sizeof ts));
        unsigned char mac[32];
        unsigned int ml = 0;
        HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (const unsigned char *)rcv.bodies[k],
             strlen(rcv.bodies[k]), mac, &ml);
        char hex[80] = "sha256=";
        for (unsigned b = 0; b < ml; b++)
            snprintf(hex + 7 + 2 * b, 3, "%02x", mac[b]);
        assert_string_equal(sig, hex);
        char want_ts[48];
        snprintf(want_ts, sizeof want_ts, "\"timestamp\":%s", ts);
        assert_non_null(strstr(rcv.bodies[k], want_ts));
        assert_non_null(strstr(rcv.bodies[k], "\"service\":\"firefighters\""));
        assert_non_null(strstr(rcv.bodies[k], "\"location\":\"12 rue Royale, Lyon\""));
        assert_non_null(strstr(rcv.bodies[k], "\"caller\":\"" CALLER "\""));
        assert_non_null(strstr(rcv.bodies[k], "\"report_url\":\"" PUBLIC_URL "/report/"));
        assert_non_null(strstr(rcv.bodies[k], "?key=")); /* opens without the API token */
    }
    /* The SMS to the on-call number: refused once, then accepted. */
    assert_int_equal(twilio_env_requests(&e, "/Messages.json", NULL), 2);
    int last = nth_request(&e, "/Messages.json", 1);
    char *to = twilio_standin_request_param(e.tw, last, "To", 0);
    char *body = twilio_standin_request_param(e.tw, last, "Body", 0);
    assert_string_equal(to, ONCALL);
    assert_non_null(strstr(body, "EMERGENCY (firefighters)"));
    free(to);
    free(body);
    ccai_poll_run_once(e.poll, 50);

    char *json = call_json(&e);
    assert_non_null(strstr(json, "\"alerts\":[{"));
    assert_int_equal(strstr(json, "\"outcome\":\"acknowledged\"") != NULL, 1);
    assert_non_null(strstr(json, "HTTP 500"));
    /* The LLM reads the acknowledgement at its next turn. */
    assert_non_null(strstr(json, "was acknowledged at"));
    free(json);
    const char *m = metrics(&e);
    assert_non_null(strstr(m, "ccai_alerts_total{target=\"webhook\",outcome=\"acknowledged\"} 1"));
    assert_non_null(strstr(m, "ccai_alerts_total{target=\"webhook\",outcome=\"failed\"} 1"));
    assert_non_null(strstr(m, "ccai_alerts_total{target=\"sms\",outcome=\"acknowledged\"} 1"));
    push_text(&e, "They have it.");
    say(&e, "CA00000000000000000000000000000011", gather, "Did they get it", all, sizeof all, NULL,
        0);
    n = standin_request_count(e.llm);
    req = standin_request_body(e.llm, n - 1);
    assert_non_null(strstr(req, "action=notice"));
    assert_non_null(strstr(req, "acknowledged"));
    free(req);
    env_free(&e);
    test_httpd_stop(h);
}

static void test_sms_impossible_without_provider(void **state)
{
    (void)state;
    env e;
    env_init(&e, NULL); /* sms.mode none */
    char gather[512], all[8192];
    call_in(&e, "CA00000000000000000000000000000021", gather, sizeof gather);
    push_tool(&e, "send_sms", "{\"message\":\"Your claim number is 42.\"}");
    push_text(&e, "I cannot text you: it is 42.");
    say(&e, "CA00000000000000000000000000000021", gather, "Text me the number", all, sizeof all,
        NULL, 0);
    int n = standin_request_count(e.llm);
    char *req = standin_request_body(e.llm, n - 1);
    assert_non_null(strstr(req, "Impossible: SMS cannot be sent"));
    assert_null(strstr(req, "SMS sent"));
    free(req);
    assert_int_equal(twilio_env_requests(&e, "/Messages.json", NULL), 0);
    char *json = call_json(&e);
    assert_null(strstr(json, "\"action\":\"sms\"")); /* nothing pretends it went */
    free(json);
    env_free(&e);
}

/* The signature Twilio's own library computes for url + params, or NULL
 * when Node or the library is not here. */
static char *sdk_signature(const char *url, const char *const *params)
{
    const char *src = getenv("CCAI_TEST_SRCDIR");
    if (!src)
        return NULL;
    char obj[2048] = "{";
    for (size_t i = 0; params[i]; i += 2) {
        size_t n = strlen(obj);
        snprintf(obj + n, sizeof obj - n, "%s\"%s\":\"%s\"", i ? "," : "", params[i],
                 params[i + 1]);
    }
    strncat(obj, "}", sizeof obj - strlen(obj) - 1);
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "cd '%s/tests/standins' 2>/dev/null && [ -d node_modules/twilio ] && "
             "node -e 'const t=require(\"twilio\");process.stdout.write("
             "t.getExpectedTwilioSignature(\"%s\",\"%s\",%s))' 2>/dev/null",
             src, TWILIO_STANDIN_TOKEN, url, obj);
    FILE *p = popen(cmd, "r");
    if (!p)
        return NULL;
    char out[128] = "";
    size_t got = fread(out, 1, sizeof out - 1, p);
    int rc = pclose(p);
    out[got] = '\0';
    return rc == 0 && got ? strdup(out) : NULL;
}

static void test_sms_delivery_reaches_the_call(void **state)
{
    (void)state;
    env e;
    const char *extra[] = {"sms.mode", "twilio", NULL};
    env_init(&e, extra);
    char gather[512], all[8192];
    call_in(&e, "CA00000000000000000000000000000031", gather, sizeof gather);
    push_tool(&e, "send_sms", "{\"message\":\"Your claim number is 42.\"}");
    push_text(&e, "Done.");
    say(&e, "CA00000000000000000000000000000031", gather, "Text me the number", all, sizeof all,
        gather, sizeof gather);
    int n = standin_request_count(e.llm);
    char *req = standin_request_body(e.llm, n - 1);
    assert_non_null(strstr(req, "SMS queued"));
    free(req);
    assert_true(wait_requests(&e, "/Messages.json", 1, 10000));
    int i = nth_request(&e, "/Messages.json", 0);
    char *cb = twilio_standin_request_param(e.tw, i, "StatusCallback", 0);
    assert_non_null(cb);
    assert_non_null(strstr(cb, PUBLIC_URL "/twilio/sms-status?ref="));
    /* The message's sid, as Twilio gave it. */
    uint64_t until = ccai_time_ms() + 5000;
    char *json = NULL;
    const char *sidp = NULL;
    char sid[40] = "";
    while (ccai_time_ms() < until) {
        ccai_poll_run_once(e.poll, 20);
        free(json);
        json = call_json(&e);
        if ((sidp = strstr(json, "\"message_id\":\"SM")))
            break;
    }
    assert_non_null(sidp);
    snprintf(sid, sizeof sid, "%.34s", sidp + 14);
    free(json);

    /* Twilio's status callbacks, as it sends them: sent, then undelivered
     * with its error code. */
    const char *sent[] = {"SmsSid",
                          sid,
                          "SmsStatus",
                          "sent",
                          "MessageStatus",
                          "sent",
                          "To",
                          CALLER,
                          "MessageSid",
                          sid,
                          "AccountSid",
                          TWILIO_STANDIN_SID,
                          "From",
                          "+15550001111",
                          "ApiVersion",
                          "2010-04-01",
                          NULL};
    const char *lost[] = {"ErrorCode",
                          "30003",
                          "SmsSid",
                          sid,
                          "SmsStatus",
                          "undelivered",
                          "MessageStatus",
                          "undelivered",
                          "To",
                          CALLER,
                          "MessageSid",
                          sid,
                          "AccountSid",
                          TWILIO_STANDIN_SID,
                          "From",
                          "+15550001111",
                          "ApiVersion",
                          "2010-04-01",
                          NULL};
    /* Twilio's library is the judge of the signature we send. */
    char *sdk = sdk_signature(cb, lost);
    char mod[512];
    snprintf(mod, sizeof mod, "%s/tests/standins/node_modules/twilio",
             getenv("CCAI_TEST_SRCDIR") ? getenv("CCAI_TEST_SRCDIR") : ".");
    if (access(mod, R_OK) == 0 && system("node --version >/dev/null 2>&1") == 0)
        assert_non_null(sdk); /* the judge is here: it must have judged */
    if (sdk) {
        Ccai_form form = {0};
        char *body = Ccai_form_encode(lost);
        assert_int_equal(Ccai_form_parse(body, strlen(body), &form, NULL), CCAI_OK);
        char *ours = Ccai_twilio_signature(TWILIO_STANDIN_TOKEN, cb, &form);
        assert_string_equal(ours, sdk);
        ccai_free(ours);
        ccai_free(body);
        Ccai_form_free(&form);
        free(sdk);
    }
    answer a;
    webhook(&e, twilio_env_local(cb), sent, &a);
    assert_int_equal(a.status, 200);
    webhook(&e, twilio_env_local(cb), lost, &a);
    assert_int_equal(a.status, 200);
    /* A forged or unknown reference changes nothing. */
    const char *other[] = {"MessageSid", "SM00000000000000000000000000000000", "MessageStatus",
                           "delivered", NULL};
    webhook(&e, twilio_env_local(cb), other, &a);
    assert_int_equal(a.status, 404);
    free(cb);

    json = call_json(&e);
    assert_non_null(strstr(json, "\"delivery\":{\"status\":\"undelivered\""));
    assert_non_null(strstr(json, "error 30003"));
    free(json);
    assert_non_null(strstr(metrics(&e), "ccai_sms_delivery_total{status=\"undelivered\"} 1"));

    /* The call is live: the LLM learns it at its next turn. */
    push_text(&e, "Sorry, the text did not arrive: it is 42.");
    say(&e, "CA00000000000000000000000000000031", gather, "I did not get it", all, sizeof all, NULL,
        0);
    n = standin_request_count(e.llm);
    req = standin_request_body(e.llm, n - 1);
    assert_non_null(strstr(req, "was not delivered to the customer (undelivered"));
    free(req);
    env_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_callback_dials_and_resumes),
        cmocka_unit_test(test_callback_survives_restart),
        cmocka_unit_test(test_callback_retries_then_gives_up),
        cmocka_unit_test(test_alerts_reach_targets),
        cmocka_unit_test(test_sms_impossible_without_provider),
        cmocka_unit_test(test_sms_delivery_reaches_the_call),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
