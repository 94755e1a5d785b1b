/* Calls over the Twilio channel, end to end in one process: signed webhooks
 * in, TwiML out, the LLM stand-in streaming the answers, the Twilio REST
 * stand-in receiving outbound calls. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <ccai/adapters/poll.h>

#include "channels/twilio/twilio_sig.h"
#include "http/form.h"
#include "store/sqlite_private.h"
#include "support/db_lock.h"
#include "support/twilio_env.h"

#include <pthread.h>
#include <time.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PUBLIC_URL TWILIO_ENV_PUBLIC_URL
#define FIRST_SID  "CA00000000000000000000000000000001"

typedef http_answer answer;
typedef twilio_env env;

/* extra: more "key", "value" pairs, NULL-terminated. */
static void env_init_kv(env *e, const char *const *extra)
{
    static const char *const fixed[] = {
        "conversation.initiate.agent_phone_number", "+15550009999", "sms.mode", "twilio",
        "conversation.recording_enabled",           "true",         NULL};
    twilio_env_init(e, ":memory:", fixed, extra);
}

static void env_init(env *e)
{
    env_init_kv(e, NULL);
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static void test_inbound_call(void **state)
{
    (void)state;
    env e;
    env_init(&e);
    answer a;
    const char *voice[] = {"CallSid",    "CA00000000000000000000000000000001",
                           "AccountSid", TWILIO_STANDIN_SID,
                           "From",       "+33612345678",
                           "To",         "+15550001111",
                           "CallStatus", "ringing",
                           "Direction",  "inbound",
                           NULL};
    twilio_env_webhook(&e, "/twilio/voice", voice, true, &a);
    assert_int_equal(a.status, 403); /* forged */
    ccai_http_header auth[1] = {{"Authorization", "Bearer api"}};
    assert_true(exchange_run(e.ctx, e.poll, "GET", "/metrics", auth, 1, NULL, "127.0.0.1", &a));
    assert_non_null(
        strstr(a.body, "ccai_webhooks_rejected_total{provider=\"twilio\",reason=\"signature\"} 1"));

    twilio_env_webhook(&e, "/twilio/voice", voice, false, &a);
    assert_int_equal(a.status, 200);
    assert_non_null(strstr(a.body, "<Response><Gather "));
    assert_non_null(strstr(a.body, "input=\"speech dtmf\""));
    assert_non_null(strstr(a.body, "language=\"en-US\""));
    assert_non_null(strstr(a.body, "<Say"));
    assert_null(strstr(a.body, "Multilingual")); /* Azure voice names are not Twilio's */
    char gather[512];
    twilio_env_attr(a.body, "<Gather", "action", gather, sizeof gather);
    assert_non_null(strstr(gather, "/twilio/gather?call="));
    /* Recording is on: Twilio was asked to record this call. */
    uint64_t rec_until = ccai_time_ms() + 5000;
    bool asked = false;
    while (!asked && ccai_time_ms() < rec_until) {
        ccai_poll_run_once(e.poll, 20);
        for (int i = 0; i < twilio_standin_request_count(e.tw) && !asked; i++) {
            char *rp = twilio_standin_request_path(e.tw, i);
            asked = rp && strstr(rp, "/Calls/CA00000000000000000000000000000001/Recordings.json");
            free(rp);
        }
    }
    assert_true(asked);
    char rec[512];
    snprintf(rec, sizeof rec, "/twilio/recording%s", strchr(twilio_env_local(gather), '?'));
    const char *recorded[] = {"CallSid",
                              "CA00000000000000000000000000000001",
                              "RecordingUrl",
                              "https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/RE1",
                              "RecordingStatus",
                              "completed",
                              NULL};
    twilio_env_webhook(&e, rec, recorded, false, &a);
    assert_int_equal(a.status, 204);

    /* A streamed answer: the first sentence comes back at once with a
     * Redirect; the rest follows on /twilio/next; then the Gather again. */
    standin_spec s = STANDIN_SPEC_INIT;
    s.content = "I am so sorry. Is anyone hurt? Where did it happen?";
    s.chunk_ms = 40;
    standin_push(e.llm, &s);
    const char *speech[] = {"CallSid",
                            "CA00000000000000000000000000000001",
                            "SpeechResult",
                            "My car was hit last night",
                            "Confidence",
                            "0.93",
                            NULL};
    twilio_env_webhook(&e, twilio_env_local(gather), speech, false, &a);
    assert_int_equal(a.status, 200);
    char all[8192] = "";
    int hops = twilio_env_follow(&e, FIRST_SID, &a, all, sizeof all);
    assert_true(hops >= 1);                     /* the answer did stream */
    assert_non_null(strstr(a.body, "<Gather")); /* the bot listens again */
    assert_int_equal(count(all, "I am so sorry."), 1);
    assert_int_equal(count(all, "Is anyone hurt?"), 1);
    assert_int_equal(count(all, "Where did it happen?"), 1);
    assert_true(strstr(all, "I am so sorry.") < strstr(all, "Where did it happen?"));

    /* The caller asks for a human: transfer, which nobody answers. */
    standin_tool_call tc = {.id = "t1", .name = "talk_to_human", .arguments = "{}"};
    standin_spec t = STANDIN_SPEC_INIT;
    t.kind = STANDIN_TOOL_CALLS;
    t.tool_calls = &tc;
    t.n_tool_calls = 1;
    standin_push(e.llm, &t);
    twilio_env_attr(a.body, "<Gather", "action", gather, sizeof gather);
    const char *human[] = {"CallSid", "CA00000000000000000000000000000001", "SpeechResult",
                           "I want to talk to a person", NULL};
    twilio_env_webhook(&e, twilio_env_local(gather), human, false, &a);
    all[0] = '\0';
    twilio_env_follow(&e, FIRST_SID, &a, all, sizeof all); /* the announcement, then the Dial */
    assert_non_null(strstr(a.body, "<Dial"));
    assert_non_null(strstr(a.body, "<Number>+15550009999</Number>"));
    char dial[512];
    twilio_env_attr(a.body, "<Dial", "action", dial, sizeof dial);
    const char *busy[] = {"CallSid", "CA00000000000000000000000000000001", "DialCallStatus",
                          "no-answer", NULL};
    twilio_env_webhook(&e, twilio_env_local(dial), busy, false, &a);
    assert_non_null(strstr(a.body, "<Say"));
    assert_non_null(strstr(a.body, "<Hangup/>")); /* apology, goodbye, hang up */

    /* Twilio ends the call: post-call work is queued. */
    char fixed[512]; /* the status route of the same call, with its secret */
    snprintf(fixed, sizeof fixed, "/twilio/status%s", strchr(twilio_env_local(dial), '?'));
    const char *done[] = {"CallSid",
                          "CA00000000000000000000000000000001",
                          "CallStatus",
                          "completed",
                          "CallDuration",
                          "42",
                          NULL};
    twilio_env_webhook(&e, fixed, done, false, &a);
    assert_int_equal(a.status, 204);

    char *json = NULL;
    assert_int_equal(ccai_ctx_call_find_json(e.ctx, "+33612345678", 0, &json), CCAI_OK);
    assert_non_null(strstr(json, "\"channel\":\"twilio\""));
    assert_non_null(strstr(json, "\"provider_call_id\":\"CA00000000000000000000000000000001\""));
    assert_non_null(strstr(json, "Call back the customer")); /* the transfer failed */
    assert_non_null(strstr(json, "\"recording_url\":\"https://api.twilio.com/"));
    assert_non_null(strstr(json, "My car was hit last night"));
    assert_null(strstr(json, "\"state\":\"conversation\""));
    ccai_free(json);

    /* The post-call report goes out by SMS through Twilio's Messages.json. */
    uint64_t until = ccai_time_ms() + 20000;
    bool sent = false;
    while (!sent && ccai_time_ms() < until) {
        ccai_poll_run_once(e.poll, 50);
        for (int i = 0; i < twilio_standin_request_count(e.tw) && !sent; i++) {
            char *rp = twilio_standin_request_path(e.tw, i);
            if (rp && strstr(rp, "/Messages.json")) {
                char *to = twilio_standin_request_param(e.tw, i, "To", 0);
                sent = to && !strcmp(to, "+33612345678");
                free(to);
            }
            free(rp);
        }
    }
    assert_true(sent);
    /* ... and the report is on the call (written from the claim: the
     * stand-in's echo is no valid JSON). */
    assert_int_equal(ccai_ctx_call_find_json(e.ctx, "+33612345678", 0, &json), CCAI_OK);
    assert_non_null(strstr(json, "\"synthesis\":{"));
    assert_non_null(strstr(json, "\"next\":{\"action\":"));
    ccai_free(json);

    /* An SMS after the call lands on the caller's latest call. */
    const char *sms[] = {
        "From", "+33612345678", "To", "+15550001111", "Body", "Here is my policy number: P-77",
        NULL};
    twilio_env_webhook(&e, "/twilio/sms", sms, false, &a);
    assert_int_equal(a.status, 200);
    assert_non_null(strstr(a.body, "<Response/>"));
    assert_int_equal(ccai_ctx_call_find_json(e.ctx, "+33612345678", 0, &json), CCAI_OK);
    assert_non_null(strstr(json, "P-77"));
    ccai_free(json);
    twilio_env_webhook(&e, "/twilio/sms", sms, true, &a);
    assert_int_equal(a.status, 403);
    twilio_env_free(&e);
}

/* A transfer the agent answers: the bot leaves, the call is over. */
static void test_transfer_answered(void **state)
{
    (void)state;
    env e;
    env_init(&e);
    answer a;
    const char *voice[] = {"CallSid", "CA00000000000000000000000000000003",
                           "From",    "+33699999999",
                           "To",      "+15550001111",
                           NULL};
    twilio_env_webhook(&e, "/twilio/voice", voice, false, &a);
    char gather[512];
    twilio_env_attr(a.body, "<Gather", "action", gather, sizeof gather);
    standin_tool_call tc = {.id = "t1", .name = "talk_to_human", .arguments = "{}"};
    standin_spec t = STANDIN_SPEC_INIT;
    t.kind = STANDIN_TOOL_CALLS;
    t.tool_calls = &tc;
    t.n_tool_calls = 1;
    standin_push(e.llm, &t);
    const char *human[] = {"CallSid", "CA00000000000000000000000000000003", "SpeechResult",
                           "Put me through to an agent please", NULL};
    twilio_env_webhook(&e, twilio_env_local(gather), human, false, &a);
    char all[8192] = "";
    twilio_env_follow(&e, FIRST_SID, &a, all, sizeof all);
    assert_non_null(strstr(a.body, "<Number>+15550009999</Number>"));
    char dial[512];
    twilio_env_attr(a.body, "<Dial", "action", dial, sizeof dial);
    const char *ok[] = {"CallSid",
                        "CA00000000000000000000000000000003",
                        "DialCallStatus",
                        "completed",
                        "DialCallSid",
                        "CA00000000000000000000000000000004",
                        NULL};
    twilio_env_webhook(&e, twilio_env_local(dial), ok, false, &a);
    assert_int_equal(a.status, 200);
    assert_non_null(strstr(a.body, "<Hangup/>"));
    assert_null(strstr(a.body, "<Say")); /* no apology: the agent took it */
    char *json = NULL;
    assert_int_equal(ccai_ctx_call_find_json(e.ctx, "+33699999999", 0, &json), CCAI_OK);
    assert_non_null(strstr(json, "\"action\":\"transfer\""));
    assert_non_null(strstr(json, "\"in_progress\":false"));
    assert_null(strstr(json, "Call back the customer"));
    ccai_free(json);
    twilio_env_free(&e);
}

static void test_outbound_call(void **state)
{
    (void)state;
    env e;
    env_init(&e);
    /* A Polly voice and a slower rate: Twilio's <Say> gets SSML prosody. */
    const char *body =
        "{\"phone_number\":\"+33 6 12 34 56 78\",\"bot_name\":\"Robin\","
        "\"task\":\"Confirm the appointment.\",\"telephony\":\"twilio\",\"prosody_rate\":0.85,"
        "\"lang\":{\"default_short_code\":\"en-US\",\"availables\":[{\"short_code\":\"en-US\","
        "\"voice\":\"Polly.Joanna-Neural\",\"pronunciations_en\":[\"English\"]}]}}";
    ccai_http_header h[1] = {{"Authorization", "Bearer api"}};
    answer a;
    assert_true(exchange_run(e.ctx, e.poll, "POST", "/call", h, 1, body, "127.0.0.1", &a));
    assert_int_equal(a.status, 201);
    assert_non_null(strstr(a.body, "\"direction\":\"outbound\""));
    assert_non_null(strstr(a.body, "\"bot_name\":\"Robin\""));
    uint64_t deadline = ccai_time_ms() + 5000;
    while (twilio_standin_request_count(e.tw) < 1 && ccai_time_ms() < deadline)
        ccai_poll_run_once(e.poll, 20);
    assert_int_equal(twilio_standin_request_count(e.tw), 1);
    char *to = twilio_standin_request_param(e.tw, 0, "To", 0);
    char *url = twilio_standin_request_param(e.tw, 0, "Url", 0);
    char *status = twilio_standin_request_param(e.tw, 0, "StatusCallback", 0);
    assert_string_equal(to, "+33612345678");
    assert_non_null(strstr(url, PUBLIC_URL "/twilio/voice?call="));
    assert_non_null(strstr(status, PUBLIC_URL "/twilio/status?call="));
    /* Twilio fetches the TwiML once the callee answers. */
    const char *answered[] = {"CallSid",   "CA00000000000000000000000000000002",
                              "From",      "+15550001111",
                              "To",        "+33612345678",
                              "Direction", "outbound-api",
                              NULL};
    answer v;
    twilio_env_webhook(&e, twilio_env_local(url), answered, false, &v);
    assert_int_equal(v.status, 200);
    assert_non_null(strstr(v.body, "<Gather"));
    assert_non_null(strstr(v.body, "Robin")); /* the greeting names the bot */
    assert_non_null(strstr(v.body, "<Say voice=\"Polly.Joanna-Neural\" language=\"en-US\">"
                                   "<prosody rate=\"85%\">"));
    free(to);
    free(url);
    free(status);

    const char *bad = "{\"telephony\":\"carrier-pigeon\",\"phone_number\":\"+33612345678\"}";
    assert_true(exchange_run(e.ctx, e.poll, "POST", "/call", h, 1, bad, "127.0.0.1", &a));
    assert_int_equal(a.status, 400);
    twilio_env_free(&e);
}

/* Run the loop until the Twilio stand-in got n requests matching (what,
 * to), 10 s at most. */
static void await_requests(env *e, const char *what, const char *to, int n)
{
    uint64_t until = ccai_time_ms() + 10000;
    while (twilio_env_requests(e, what, to) < n && ccai_time_ms() < until)
        ccai_poll_run_once(e->poll, 20);
    assert_int_equal(twilio_env_requests(e, what, to), n);
}

static char *call_json(env *e, const char *phone)
{
    char *json = NULL;
    assert_int_equal(ccai_ctx_call_find_json(e->ctx, phone, 0, &json), CCAI_OK);
    return json;
}

/* An inbound call, answered, the caller says one thing; returns the gather
 * URL of the next turn in gather (local). */
static void inbound_and_speak(env *e, const char *sid, const char *from, char *gather, size_t len)
{
    answer a;
    const char *voice[] = {"CallSid",   sid,       "AccountSid",   TWILIO_STANDIN_SID, "From",
                           from,        "To",      "+15550001111", "CallStatus",       "ringing",
                           "Direction", "inbound", "ApiVersion",   "2010-04-01",       NULL};
    twilio_env_webhook(e, "/twilio/voice", voice, false, &a);
    assert_int_equal(a.status, 200);
    twilio_env_attr(a.body, "<Gather", "action", gather, len);
    standin_spec sp = STANDIN_SPEC_INIT;
    sp.content = "I am sorry to hear that. When did it happen?";
    standin_push(e->llm, &sp);
    const char *speech[] = {"CallSid", sid, "SpeechResult", "My basement is flooded", "Confidence",
                            "0.9",     NULL};
    twilio_env_webhook(e, twilio_env_local(gather), speech, false, &a);
    assert_int_equal(a.status, 200);
    char all[4096] = "";
    twilio_env_follow(e, FIRST_SID, &a, all, sizeof all);
    assert_non_null(strstr(a.body, "<Gather"));
    twilio_env_attr(a.body, "<Gather", "action", gather, len);
}

/* Twilio posts an inbound call's status callback to the StatusCallback URL
 * configured on the phone number: no query of ours, only its own
 * parameters (CallSid...), signed over that URL as configured. The call
 * ends there: post-call work, metrics. Twilio may deliver a callback twice
 * or late (SequenceNumber): that changes nothing. */
static void test_inbound_status_on_the_number(void **state)
{
    (void)state;
    env e;
    env_init(&e);
    const char *sid = "CA0000000000000000000000000000000b";
    const char *from = "+33611112222";
    char gather[512];
    inbound_and_speak(&e, sid, from, gather, sizeof gather);
    answer a;
    ccai_http_header auth[1] = {{"Authorization", "Bearer api"}};
    assert_true(exchange_run(e.ctx, e.poll, "GET", "/metrics", auth, 1, NULL, "127.0.0.1", &a));
    assert_non_null(strstr(a.body, "\nccai_calls_in_progress 1\n"));

    const char *completed[] = {"AccountSid",
                               TWILIO_STANDIN_SID,
                               "ApiVersion",
                               "2010-04-01",
                               "CallSid",
                               sid,
                               "CallStatus",
                               "completed",
                               "CallDuration",
                               "37",
                               "Called",
                               "+15550001111",
                               "Caller",
                               from,
                               "Direction",
                               "inbound",
                               "From",
                               from,
                               "To",
                               "+15550001111",
                               "Timestamp",
                               "Wed, 25 Nov 2026 10:01:07 +0000",
                               "CallbackSource",
                               "call-progress-events",
                               "SequenceNumber",
                               "0",
                               NULL};
    twilio_env_webhook(&e, "/twilio/status", completed, true, &a);
    assert_int_equal(a.status, 403); /* the signature stays required */
    twilio_env_webhook(&e, "/twilio/status", completed, false, &a);
    assert_int_equal(a.status, 204);
    char *json = call_json(&e, from);
    assert_non_null(strstr(json, "\"in_progress\":false"));
    assert_non_null(strstr(json, "\"end_reason\":\"completed\""));
    ccai_free(json);
    assert_true(exchange_run(e.ctx, e.poll, "GET", "/metrics", auth, 1, NULL, "127.0.0.1", &a));
    assert_non_null(strstr(a.body, "\nccai_calls_in_progress 0\n"));
    /* The post-call report went out: its SMS to the caller. */
    await_requests(&e, "/Messages.json", from, 1);

    /* The same callback again, and a "ringing" that was delivered late. */
    twilio_env_webhook(&e, "/twilio/status", completed, false, &a);
    assert_int_equal(a.status, 204);
    const char *ringing[] = {"AccountSid", TWILIO_STANDIN_SID, "CallSid", sid,    "CallStatus",
                             "ringing",    "SequenceNumber",   "0",       "From", from,
                             "To",         "+15550001111",     NULL};
    twilio_env_webhook(&e, "/twilio/status", ringing, false, &a);
    assert_int_equal(a.status, 204);
    /* A call nobody here knows: nothing to do. */
    const char *other[] = {"CallSid", "CA0000000000000000000000000000ffff", "CallStatus",
                           "completed", NULL};
    twilio_env_webhook(&e, "/twilio/status", other, false, &a);
    assert_int_equal(a.status, 204);
    uint64_t until = ccai_time_ms() + 500;
    while (ccai_time_ms() < until)
        ccai_poll_run_once(e.poll, 20);
    assert_int_equal(twilio_env_requests(&e, "/Messages.json", from), 1); /* one report only */
    json = call_json(&e, from);
    assert_non_null(strstr(json, "\"in_progress\":false"));
    ccai_free(json);

    /* Each end Twilio reports ends the call: busy, no-answer, failed and
     * canceled come when the caller hangs up before the bot answers. */
    static const char *const ends[] = {"busy", "no-answer", "failed", "canceled"};
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(ends); i++) {
        char csid[40], phone[16];
        snprintf(csid, sizeof csid, "CA00000000000000000000000000000c%02zu", i);
        snprintf(phone, sizeof phone, "+3361111333%zu", i);
        const char *voice[] = {"CallSid", csid, "From", phone, "To", "+15550001111", NULL};
        twilio_env_webhook(&e, "/twilio/voice", voice, false, &a);
        assert_int_equal(a.status, 200);
        const char *end[] = {"CallSid", csid, "CallStatus", ends[i], "From", phone, NULL};
        twilio_env_webhook(&e, "/twilio/status", end, false, &a);
        assert_int_equal(a.status, 204);
        json = call_json(&e, phone);
        assert_non_null(strstr(json, "\"in_progress\":false"));
        char want[48];
        snprintf(want, sizeof want, "\"end_reason\":\"%s\"", ends[i]);
        assert_non_null(strstr(json, want));
        ccai_free(json);
    }
    twilio_env_free(&e);
}

/* A call the bot hangs up is over once its <Hangup/> went out, whether or
 * not the phone number has a status callback: here the caller stays
 * silent until the goodbye, and Twilio never reports the end. */
static void test_hangup_ends_the_call(void **state)
{
    (void)state;
    env e;
    env_init(&e);
    const char *sid = "CA00000000000000000000000000000010";
    const char *from = "+33677776666";
    answer a;
    const char *voice[] = {"CallSid", sid, "From", from, "To", "+15550001111", NULL};
    twilio_env_webhook(&e, "/twilio/voice", voice, false, &a);
    assert_int_equal(a.status, 200);
    char gather[512];
    const char *silent[] = {"CallSid", sid, NULL}; /* no SpeechResult: the Gather timed out */
    for (int i = 0; i < 10 && strstr(a.body, "<Gather"); i++) {
        twilio_env_attr(a.body, "<Gather", "action", gather, sizeof gather);
        twilio_env_webhook(&e, twilio_env_local(gather), silent, false, &a);
        assert_int_equal(a.status, 200);
    }
    assert_non_null(strstr(a.body, "<Hangup/>"));
    for (int i = 0; i < 10; i++)
        ccai_poll_run_once(e.poll, 10);
    char *json = call_json(&e, from);
    assert_non_null(strstr(json, "\"in_progress\":false"));
    assert_non_null(strstr(json, "\"end_reason\":\"hangup\""));
    ccai_free(json);
    ccai_http_header auth[1] = {{"Authorization", "Bearer api"}};
    assert_true(exchange_run(e.ctx, e.poll, "GET", "/metrics", auth, 1, NULL, "127.0.0.1", &a));
    assert_non_null(strstr(a.body, "\nccai_calls_in_progress 0\n"));
    twilio_env_free(&e);
}

/* Twilio reports a recording once it is stored, after the call's completed
 * status, to the RecordingStatusCallback it was given: the call is no
 * longer live, the recording still lands on it. */
static void test_recording_after_completed(void **state)
{
    (void)state;
    env e;
    env_init(&e);
    const char *sid = "CA0000000000000000000000000000000d";
    const char *from = "+33644445555";
    char gather[512];
    inbound_and_speak(&e, sid, from, gather, sizeof gather);
    await_requests(&e, "/Recordings.json", NULL, 1);
    char *cb = NULL;
    for (int i = 0; i < twilio_standin_request_count(e.tw) && !cb; i++) {
        char *rp = twilio_standin_request_path(e.tw, i);
        if (rp && strstr(rp, "/Recordings.json"))
            cb = twilio_standin_request_param(e.tw, i, "RecordingStatusCallback", 0);
        free(rp);
    }
    assert_non_null(cb);
    const char *completed[] = {
        "CallSid",        sid,  "CallStatus", "completed",    "CallDuration", "61",
        "From",           from, "To",         "+15550001111", "Direction",    "inbound",
        "SequenceNumber", "0",  NULL};
    answer a;
    twilio_env_webhook(&e, "/twilio/status", completed, false, &a);
    assert_int_equal(a.status, 204);
    const char *recorded[] = {"AccountSid",
                              TWILIO_STANDIN_SID,
                              "CallSid",
                              sid,
                              "RecordingSid",
                              "RE0123456789abcdef0123456789abcdef",
                              "RecordingUrl",
                              "https://api.twilio.com/2010-04-01/Accounts/" TWILIO_STANDIN_SID
                              "/Recordings/RE0123456789abcdef0123456789abcdef",
                              "RecordingStatus",
                              "completed",
                              "RecordingDuration",
                              "58",
                              "RecordingChannels",
                              "2",
                              "RecordingStartTime",
                              "Wed, 25 Nov 2026 10:00:09 +0000",
                              "RecordingSource",
                              "StartCallRecordingAPI",
                              "RecordingTrack",
                              "both",
                              NULL};
    /* A wrong secret in our URL is refused. */
    char forged[512];
    snprintf(forged, sizeof forged, "%s", twilio_env_local(cb));
    char *sec = strstr(forged, "&s=");
    assert_non_null(sec);
    sec[3] = sec[3] == 'x' ? 'y' : 'x';
    twilio_env_webhook(&e, forged, recorded, false, &a);
    assert_int_equal(a.status, 404);
    twilio_env_webhook(&e, twilio_env_local(cb), recorded, false, &a);
    assert_int_equal(a.status, 204);
    char *json = call_json(&e, from);
    assert_non_null(strstr(json, "\"in_progress\":false"));
    assert_non_null(strstr(json, "\"recording_url\":\"https://api.twilio.com/2010-04-01/"
                                 "Accounts/" TWILIO_STANDIN_SID "/Recordings/RE0123456789abcdef"));
    assert_non_null(strstr(json, "\"recording_id\":\"RE0123456789abcdef0123456789abcdef\""));
    assert_non_null(strstr(json, "\"recording_duration_ms\":58000"));
    ccai_free(json);
    free(cb);
    twilio_env_free(&e);
}

/* Out of memory ------------------------------------------------------------------- */

typedef struct failing {
    long fail_at; /* the allocation that fails */
    long count;
} failing;

static void *failing_malloc(size_t size, void *ud)
{
    failing *f = ud;
    return f->count++ == f->fail_at ? NULL : malloc(size);
}

static void *failing_realloc(void *ptr, size_t size, void *ud)
{
    failing *f = ud;
    return f->count++ == f->fail_at ? NULL : realloc(ptr, size);
}

static void failing_free(void *ptr, void *ud)
{
    (void)ud;
    free(ptr);
}

static void on_failing_answer(ccai_http_exchange *x, const ccai_http_response *res, void *ud)
{
    (void)x;
    *(int *)ud = res->status;
}

/* Post a webhook signed as Twilio signs it with allocation k failing, and
 * run the loop until it is answered (5 s at most). The HTTP status, 0 when
 * no answer came; *ret_reached: whether the run reached allocation k. */
static int post_failing(env *e, const char *target, const char *const *pairs, long k,
                        bool *ret_reached)
{
    char *body = Ccai_form_encode(pairs);
    assert_non_null(body);
    Ccai_form form = {0};
    assert_int_equal(Ccai_form_parse(body, strlen(body), &form, NULL), CCAI_OK);
    char url[1024];
    snprintf(url, sizeof url, "%s%s", PUBLIC_URL, target);
    char *sig = Ccai_twilio_signature(TWILIO_STANDIN_TOKEN, url, &form);
    assert_non_null(sig);
    Ccai_form_free(&form);
    const char *q = strchr(target, '?');
    char path[512];
    snprintf(path, sizeof path, "%.*s", q ? (int)(q - target) : (int)strlen(target), target);
    ccai_http_header h[2] = {{"X-Twilio-Signature", sig},
                             {"Content-Type", "application/x-www-form-urlencoded"}};
    ccai_http_request req = {CCAI_HTTP_REQUEST_VERSION,
                             "POST",
                             path,
                             q ? q + 1 : NULL,
                             h,
                             2,
                             body,
                             strlen(body),
                             "54.172.60.1"};
    int status = 0;
    failing f = {.fail_at = k};
    ccai_allocator a = {CCAI_ALLOCATOR_VERSION, failing_malloc, failing_realloc, failing_free, &f,
                        CCAI_ALLOCATOR_JSON};
    assert_int_equal(ccai_set_allocator(&a), CCAI_OK);
    ccai_http_exchange *x = NULL;
    ccai_status st = ccai_ctx_http(e->ctx, &req, on_failing_answer, &status, &x);
    for (int i = 0; i < 500 && st == CCAI_OK && !status; i++)
        ccai_poll_run_once(e->poll, 10);
    assert_int_equal(ccai_set_allocator(NULL), CCAI_OK);
    ccai_free(sig);
    ccai_free(body);
    if (st == CCAI_OK && !status)
        ccai_http_exchange_cancel(x);
    *ret_reached = f.count > k;
    return st == CCAI_OK ? status : -1;
}

/* Whichever allocation fails while Twilio's webhooks are served (an
 * inbound call's first one; the caller's words, answered by the LLM), the
 * webhook gets an answer (TwiML, a sorry, an error envelope) at once,
 * never a request left waiting for a bot that was never told. */
static void test_webhooks_answered_out_of_memory(void **state)
{
    (void)state;
    env e;
    env_init(&e);
    long k = 0;
    for (bool reached = true; reached; k++) {
        char sid[40], from[32];
        snprintf(sid, sizeof sid, "CA%032ld", k);
        snprintf(from, sizeof from, "+336%08ld", k);
        const char *voice[] = {"CallSid", sid, "From", from, "To", "+15550001111", NULL};
        if (post_failing(&e, "/twilio/voice", voice, k, &reached) == 0)
            fail_msg("allocation %ld of the voice webhook failed: no answer", k);
    }
    printf("# voice webhook: %ld allocation points, each answered\n", k - 1);
    long voice_points = k;
    for (k = 0;; k++) {
        char sid[40], from[32], gather[512];
        snprintf(sid, sizeof sid, "CA%032ld", voice_points + k);
        snprintf(from, sizeof from, "+337%08ld", k);
        const char *voice[] = {"CallSid", sid, "From", from, "To", "+15550001111", NULL};
        answer a;
        twilio_env_webhook(&e, "/twilio/voice", voice, false, &a);
        assert_int_equal(a.status, 200);
        twilio_env_attr(a.body, "<Gather", "action", gather, sizeof gather);
        standin_spec sp = STANDIN_SPEC_INIT;
        sp.content = "I am sorry to hear that. When did it happen?";
        standin_push(e.llm, &sp);
        const char *speech[] = {"CallSid", sid, "SpeechResult", "My basement is flooded", NULL};
        bool reached = false;
        if (post_failing(&e, twilio_env_local(gather), speech, k, &reached) == 0)
            fail_msg("allocation %ld of the gather webhook failed: no answer", k);
        if (!reached)
            break;
    }
    printf("# gather webhook: %ld allocation points, each answered\n", k);
    twilio_env_free(&e);
}

/* An outbound call placed with Twilio's answering-machine detection and
 * answered by who; returns the CallSid Twilio gave it, and what Twilio
 * reports (twilio_standin_detect: its AnsweredBy, and where it goes). */
static void place_answered(env *e, twilio_standin_party who, char *sid, size_t len,
                           twilio_standin_amd *amd, char *status_url, size_t status_len)
{
    const char *body = "{\"phone_number\":\"+33612345678\",\"bot_name\":\"Robin\","
                       "\"bot_company\":\"Contoso\",\"task\":\"Confirm the appointment.\","
                       "\"telephony\":\"twilio\"}";
    ccai_http_header h[1] = {{"Authorization", "Bearer api"}};
    answer a;
    assert_true(exchange_run(e->ctx, e->poll, "POST", "/call", h, 1, body, "127.0.0.1", &a));
    assert_int_equal(a.status, 201);
    await_requests(e, "/Calls.json", "+33612345678", 1);
    /* Once Twilio's answer is in, the call has its CallSid. */
    char *json = NULL;
    uint64_t until = ccai_time_ms() + 5000;
    const char *at = NULL;
    while (ccai_time_ms() < until) {
        ccai_free(json);
        json = call_json(e, "+33612345678");
        if ((at = strstr(json, "\"provider_call_id\":\"CA")))
            break;
        ccai_poll_run_once(e->poll, 20);
    }
    assert_non_null(at);
    snprintf(sid, len, "%.34s", at + strlen("\"provider_call_id\":\""));
    ccai_free(json);
    assert_int_equal(twilio_standin_detect(e->tw, sid, who, amd), 0);
    char *st = twilio_standin_request_param(e->tw, 0, "StatusCallback", 0);
    snprintf(status_url, status_len, "%s", st);
    free(st);
}

/* Voicemail with Twilio's detection, played as Twilio does (DetectMessageEnd,
 * no AsyncAmd): the answer webhook comes once the greeting is over, with
 * AnsweredBy; its TwiML is the message and the hang-up; the call ends as
 * "voicemail" and is called again later (a callback). A human's AnsweredBy
 * changes nothing. */
static void test_outbound_voicemail(void **state)
{
    (void)state;
    static const char *const on[] = {"voicemail.enabled", "true", "voicemail.retry_delay_sec",
                                     "600", NULL};
    env e;
    env_init_kv(&e, on);
    char sid[40], status[1024];
    twilio_standin_amd amd;
    place_answered(&e, TWILIO_PARTY_MACHINE_BEEP, sid, sizeof sid, &amd, status, sizeof status);
    char *md = twilio_standin_request_param(e.tw, 0, "MachineDetection", 0);
    assert_string_equal(md, "DetectMessageEnd");
    free(md);
    assert_int_equal(twilio_standin_request_param_count(e.tw, 0, "AsyncAmd"), 0);
    assert_string_equal(amd.answered_by, "machine_end_beep");
    assert_false(amd.async);
    const char *answered[] = {"CallSid",
                              sid,
                              "AccountSid",
                              TWILIO_STANDIN_SID,
                              "From",
                              "+15550001111",
                              "To",
                              "+33612345678",
                              "CallStatus",
                              "in-progress",
                              "Direction",
                              "outbound-api",
                              "ApiVersion",
                              "2010-04-01",
                              "AnsweredBy",
                              amd.answered_by,
                              "MachineDetectionDuration",
                              amd.duration_ms,
                              NULL};
    answer v;
    twilio_env_webhook(&e, twilio_env_local(amd.url), answered, false, &v);
    assert_int_equal(v.status, 200);
    assert_non_null(strstr(v.body, "We tried to reach you"));
    assert_non_null(strstr(v.body, "Robin from Contoso"));
    assert_non_null(strstr(v.body, "<Hangup/>"));
    assert_null(strstr(v.body, "<Gather"));
    const char *completed[] = {
        "CallSid",      sid,  "AccountSid", TWILIO_STANDIN_SID, "CallStatus", "completed",
        "CallDuration", "14", "AnsweredBy", amd.answered_by,    NULL};
    twilio_env_webhook(&e, twilio_env_local(status), completed, false, &v);
    assert_true(v.status == 200 || v.status == 204);
    char *json = call_json(&e, "+33612345678");
    assert_non_null(strstr(json, "\"end_reason\":\"voicemail\""));
    assert_non_null(strstr(json, "answered by machine_end_beep"));
    assert_non_null(strstr(json, "\"outcome\":\"scheduled\"")); /* called again later */
    ccai_free(json);
    twilio_env_free(&e);

    /* A person: the conversation, as without detection. */
    env_init_kv(&e, on);
    place_answered(&e, TWILIO_PARTY_HUMAN, sid, sizeof sid, &amd, status, sizeof status);
    assert_string_equal(amd.answered_by, "human");
    answered[1] = sid;
    answered[15] = amd.answered_by;
    answered[17] = amd.duration_ms;
    twilio_env_webhook(&e, twilio_env_local(amd.url), answered, false, &v);
    assert_int_equal(v.status, 200);
    assert_non_null(strstr(v.body, "<Gather"));
    assert_null(strstr(v.body, "We tried to reach you"));
    twilio_env_free(&e);
}

/* AsyncAmd: Twilio asks for the TwiML at once (no AnsweredBy: the bot
 * greets), and POSTs the verdict to AsyncAmdStatusCallback later; the bot
 * stops, and the call is redirected (REST) to the message and hang-up. */
static void test_outbound_voicemail_async(void **state)
{
    (void)state;
    static const char *const on[] = {"voicemail.enabled", "true", "voicemail.twilio_async_amd",
                                     "true", NULL};
    env e;
    env_init_kv(&e, on);
    char sid[40], status[1024];
    twilio_standin_amd amd;
    place_answered(&e, TWILIO_PARTY_MACHINE_SILENCE, sid, sizeof sid, &amd, status, sizeof status);
    char *async = twilio_standin_request_param(e.tw, 0, "AsyncAmd", 0);
    assert_string_equal(async, "true");
    free(async);
    assert_true(amd.async);
    assert_non_null(strstr(amd.amd_url, PUBLIC_URL "/twilio/amd?call="));
    const char *answered[] = {"CallSid",    sid,
                              "AccountSid", TWILIO_STANDIN_SID,
                              "From",       "+15550001111",
                              "To",         "+33612345678",
                              "CallStatus", "in-progress",
                              "Direction",  "outbound-api",
                              NULL};
    answer v;
    twilio_env_webhook(&e, twilio_env_local(amd.url), answered, false, &v);
    assert_int_equal(v.status, 200);
    assert_non_null(strstr(v.body, "<Gather")); /* the greeting, while Twilio listens */
    const char *verdict[] = {"CallSid",
                             sid,
                             "AccountSid",
                             TWILIO_STANDIN_SID,
                             "AnsweredBy",
                             amd.answered_by,
                             "MachineDetectionDuration",
                             amd.duration_ms,
                             NULL};
    twilio_env_webhook(&e, twilio_env_local(amd.amd_url), verdict, false, &v);
    assert_int_equal(v.status, 204);
    /* The call is redirected to what the bot does now. */
    char path[128];
    snprintf(path, sizeof path, "/Calls/%s.json", sid);
    await_requests(&e, path, NULL, 1);
    int last = twilio_standin_request_count(e.tw) - 1;
    char *next = twilio_standin_request_param(e.tw, last, "Url", 0);
    assert_non_null(next);
    assert_non_null(strstr(next, "/twilio/next?call="));
    const char *only[] = {"CallSid", sid, "AccountSid", TWILIO_STANDIN_SID, NULL};
    twilio_env_webhook(&e, twilio_env_local(next), only, false, &v);
    free(next);
    assert_int_equal(v.status, 200);
    assert_non_null(strstr(v.body, "We tried to reach you"));
    assert_non_null(strstr(v.body, "<Hangup/>"));
    char *json = call_json(&e, "+33612345678");
    assert_non_null(strstr(json, "answered by machine_end_silence"));
    ccai_free(json);
    twilio_env_free(&e);
}

/* An IVR menu (ivr.menus) on Twilio's Gather: the prompt in a <Gather> of
 * one key; Twilio posts the key as Digits, the caller's words as
 * SpeechResult, silence as a Gather with neither (actionOnEmptyResult):
 * each is answered with the next prompt, or the conversation. */
static void test_ivr_gather(void **state)
{
    (void)state;
    static const char *const ivr[] = {
        "ivr.start",
        "main",
        "ivr.retries",
        "1",
        "ivr.menus",
        "{\"main\": {\"prompt\": {\"en\": \"For billing, press 2. For an agent, press 0.\"},"
        "\"choices\": [{\"key\": \"2\", \"say\": {\"en\": [\"billing\", \"invoice\"]}, \"action\":"
        "\"menu\", \"menu\": \"billing\"}, {\"key\": \"0\", \"say\": [\"agent\"], \"action\":"
        "\"transfer\"}]}, \"billing\": {\"prompt\": \"For your balance, press 1.\", \"choices\":"
        "[{\"key\": \"1\", \"say\": [\"balance\"], \"action\": \"task\", \"task\": \"Tell the "
        "customer their balance.\"}]}}",
        NULL};
    env e;
    env_init_kv(&e, ivr);
    const char *sid = "CA00000000000000000000000000000077";
    const char *voice[] = {"CallSid",      sid,       "AccountSid",   TWILIO_STANDIN_SID, "From",
                           "+33699999999", "To",      "+15550001111", "CallStatus",       "ringing",
                           "Direction",    "inbound", "ApiVersion",   "2010-04-01",       NULL};
    answer a;
    twilio_env_webhook(&e, "/twilio/voice", voice, false, &a);
    assert_int_equal(a.status, 200);
    assert_non_null(strstr(a.body, "For billing, press 2."));
    assert_non_null(strstr(a.body, "numDigits=\"1\""));
    char gather[1024];
    twilio_env_attr(a.body, "<Gather", "action", gather, sizeof gather);
    /* Silence: offered again. */
    const char *empty[] = {"CallSid", sid, "AccountSid", TWILIO_STANDIN_SID, NULL};
    twilio_env_webhook(&e, twilio_env_local(gather), empty, false, &a);
    assert_int_equal(a.status, 200);
    assert_non_null(strstr(a.body, "For billing, press 2."));
    twilio_env_attr(a.body, "<Gather", "action", gather, sizeof gather);
    /* A key. */
    const char *key[] = {"CallSid", sid, "AccountSid", TWILIO_STANDIN_SID, "Digits", "2", NULL};
    twilio_env_webhook(&e, twilio_env_local(gather), key, false, &a);
    assert_int_equal(a.status, 200);
    assert_non_null(strstr(a.body, "For your balance, press 1."));
    twilio_env_attr(a.body, "<Gather", "action", gather, sizeof gather);
    /* Words. */
    const char *words[] = {"CallSid",
                           sid,
                           "AccountSid",
                           TWILIO_STANDIN_SID,
                           "SpeechResult",
                           "My balance, please.",
                           "Confidence",
                           "0.87",
                           NULL};
    twilio_env_webhook(&e, twilio_env_local(gather), words, false, &a);
    assert_int_equal(a.status, 200);
    char all[8192] = "";
    twilio_env_follow(&e, FIRST_SID, &a, all, sizeof all);
    assert_null(strstr(all, "numDigits")); /* the conversation: words, any length */
    char *json = call_json(&e, "+33699999999");
    assert_non_null(strstr(json, "main: 2 (billing), key -> menu"));
    assert_non_null(strstr(json, "billing: 1 (balance), said \\\"My balance, please.\\\" -> task"));
    assert_non_null(strstr(json, "Tell the customer their balance."));
    assert_non_null(strstr(json, "\"state\":\"conversation\""));
    ccai_free(json);
    twilio_env_free(&e);
}

/* Another process (another instance, another worker on the same SQLite
 * file) takes the database's write lock between the call's insert (and
 * its lease) and its connection (the transaction storing the "call"
 * message and the state):
 * the caller is not refused. Before, the voice webhook answered "Sorry,
 * this number cannot take your call right now" and hung up (what
 * bench-server --instances 3 met on SQLite); now the webhook is held,
 * runs again once the lock is gone (0.4 s later), and the call goes on,
 * stored once. */
typedef struct lock_at_connect {
    const char *db;
    bool inserted, taken;
    db_lock lock;
    pthread_t releaser;
    long hold_ms; /* how long the shell keeps the lock */
    int released; /* db_lock_release()'s result: asserted on the test's thread */
    /* Instead: the lock is taken at the first statement after the call's
     * INSERT that runs outside a transaction (our connection holds no lock
     * then), and kept until the test releases it (hold_ms 0). */
    bool after_insert;
    sqlite3 *conn;
    /* With after_insert: that statement (the read-back) is made to fail
     * (interrupted) instead of the lock taken. */
    bool interrupt;
} lock_at_connect;

static int interrupt_now(void *ud)
{
    (void)ud;
    return 1;
}

static void *release_later(void *ud)
{
    lock_at_connect *l = ud;
    struct timespec ts = {l->hold_ms / 1000, (l->hold_ms % 1000) * 1000 * 1000};
    nanosleep(&ts, NULL);
    l->released = db_lock_release(&l->lock);
    return NULL;
}

static int on_stmt(unsigned type, void *ud, void *p, void *x)
{
    (void)type;
    (void)p;
    lock_at_connect *l = ud;
    const char *sql = x;
    if (l->after_insert) {
        if (strncmp(sql, "INSERT INTO calls ", 18) == 0) {
            l->inserted = true;
        } else if (l->inserted && !l->taken && sqlite3_get_autocommit(l->conn)) {
            l->taken = true;
            if (l->interrupt) {
                sqlite3_progress_handler(l->conn, 1, interrupt_now, NULL);
                return 0;
            }
            assert_int_equal(db_lock_take(&l->lock, l->db), 0);
            if (l->hold_ms > 0)
                assert_int_equal(pthread_create(&l->releaser, NULL, release_later, l), 0);
        }
        return 0;
    }
    if (strncmp(sql, "INSERT INTO call_leases", 23) == 0) {
        l->inserted = true; /* the call stored and leased: its connection next */
    } else if (l->inserted && !l->taken && strncmp(sql, "BEGIN IMMEDIATE", 15) == 0) {
        /* Our connection holds no lock between two transactions: the
         * sqlite3 shell takes it now. */
        assert_int_equal(db_lock_take(&l->lock, l->db), 0);
        l->taken = true;
        assert_int_equal(pthread_create(&l->releaser, NULL, release_later, l), 0);
    }
    return 0;
}

/* The connection meets the lock: held for hold_ms, with server.store_wait_ms
 * wait_ms; after_insert: the lock is taken right after the call's INSERT
 * instead (see lock_at_connect). */
static void connect_locked(long hold_ms, const char *wait_ms, bool after_insert, answer *a,
                           char **calls)
{
    char dir[] = "/tmp/ccai-twilio-lock-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char db[128];
    snprintf(db, sizeof db, "%s/ccai.sqlite", dir);
    env e;
    const char *extra[] = {"server.store_wait_ms", wait_ms, NULL};
    twilio_env_init(&e, db, NULL, extra);
    sqlite3 *conn = Ccai_sqlite_of(Ccai_ctx_store(e.ctx))->db;
    lock_at_connect l = {
        .db = db, .hold_ms = hold_ms, .released = -1, .after_insert = after_insert, .conn = conn};
    assert_int_equal(sqlite3_trace_v2(conn, SQLITE_TRACE_STMT, on_stmt, &l), SQLITE_OK);
    const char *voice[] = {"CallSid",    "CA00000000000000000000000000000009",
                           "AccountSid", TWILIO_STANDIN_SID,
                           "From",       "+33612345678",
                           "To",         "+15550001111",
                           "CallStatus", "ringing",
                           "Direction",  "inbound",
                           NULL};
    twilio_env_webhook(&e, "/twilio/voice", voice, false, a);
    assert_true(l.taken);
    assert_int_equal(pthread_join(l.releaser, NULL), 0);
    assert_int_equal(l.released, 0);
    assert_int_equal(sqlite3_trace_v2(conn, 0, NULL, NULL), SQLITE_OK);
    assert_int_equal(ccai_ctx_calls_list_json(e.ctx, NULL, 10, 0, calls), CCAI_OK);
    twilio_env_free(&e);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void connect_while_locked(long hold_ms, const char *wait_ms, answer *a, char **calls)
{
    connect_locked(hold_ms, wait_ms, false, a, calls);
}

static void test_inbound_connect_while_locked(void **state)
{
    (void)state;
    answer a;
    char *json = NULL;
    connect_while_locked(400, "5000", &a, &json);
    assert_int_equal(a.status, 200);
    assert_null(strstr(a.body, "cannot take your call"));
    assert_non_null(strstr(a.body, "<Response><Gather "));
    assert_non_null(strstr(json, "\"total\":1"));
    assert_non_null(strstr(json, "CA00000000000000000000000000000009"));
    ccai_free(json);
}

/* The lock outlasts server.store_wait_ms: the webhook is refused with 503
 * and Retry-After (Twilio then requests the number's fallback URL, or ends
 * the call with its error message), never answered with a Gather of a call
 * that was not connected. */
static void test_inbound_connect_locked_too_long(void **state)
{
    (void)state;
    answer a;
    char *json = NULL;
    connect_while_locked(1500, "300", &a, &json);
    assert_int_equal(a.status, 503);
    assert_null(strstr(a.body, "<Gather"));
    ccai_free(json);
}

/* The lock is taken right after the call's INSERT, before its lease.
 * Before, the call and its lease were two commits: the lease failed
 * (CCAI_ERR_BUSY), the webhook was held and run again, and found the call
 * it had stored as a caller ringing back (taken back: "welcome back").
 * Now both are one transaction: the lock meets the connection (held, as
 * above), and the caller gets the first greeting of one call. */
static void test_inbound_locked_after_insert(void **state)
{
    (void)state;
    answer a;
    char *json = NULL;
    connect_locked(400, "5000", true, &a, &json);
    assert_int_equal(a.status, 200);
    assert_non_null(strstr(a.body, "<Response><Gather "));
    assert_non_null(strstr(json, "\"total\":1"));
    assert_null(strstr(a.body, "Welcome back")); /* a first call, not taken back */
    ccai_free(json);
}

/* POST /call against a database another process locks (issue 14), each
 * request answered once and a call placed at most once per 201:
 * - the lock taken right after the call's INSERT, before its lease: the
 *   call is placed and answered 201 (the read-back of a WAL database does
 *   not wait for the lock). Before, the call and its lease were two
 *   commits: the lease failed, the call stayed stored and unplaced, and the
 *   client told 503 placed it again: two calls;
 * - the lock held before the request: 503 with Retry-After, nothing stored
 *   nor placed; the client's retry once the lock is gone places one call. */
static void place_locked(bool before, bool interrupt, answer *a, answer *again, int *calls,
                         int *placed)
{
    char dir[] = "/tmp/ccai-twilio-lock-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char db[128];
    snprintf(db, sizeof db, "%s/ccai.sqlite", dir);
    env e;
    twilio_env_init(&e, db, NULL, NULL);
    sqlite3 *conn = Ccai_sqlite_of(Ccai_ctx_store(e.ctx))->db;
    lock_at_connect l = {
        .db = db, .released = -1, .after_insert = true, .conn = conn, .interrupt = interrupt};
    if (before) {
        /* The start's writes committed first (a group ends with the turn). */
        for (int i = 0; i < 5; i++)
            ccai_poll_run_once(e.poll, 10);
        assert_int_equal(db_lock_take(&l.lock, db), 0);
        l.taken = true;
    } else {
        assert_int_equal(sqlite3_trace_v2(conn, SQLITE_TRACE_STMT, on_stmt, &l), SQLITE_OK);
    }
    const char *body = "{\"phone_number\":\"+33612345678\",\"telephony\":\"twilio\"}";
    ccai_http_header h[1] = {{"Authorization", "Bearer api"}};
    assert_true(exchange_run(e.ctx, e.poll, "POST", "/call", h, 1, body, "127.0.0.1", a));
    assert_true(l.taken);
    assert_int_equal(sqlite3_trace_v2(conn, 0, NULL, NULL), SQLITE_OK);
    if (interrupt)
        sqlite3_progress_handler(conn, 0, NULL, NULL);
    else
        assert_int_equal(db_lock_release(&l.lock), 0);
    if (a->status != 201) /* the client retries as told */
        assert_true(exchange_run(e.ctx, e.poll, "POST", "/call", h, 1, body, "127.0.0.1", again));
    /* The placing goes out; its answer stores the CallSid. */
    uint64_t until = ccai_time_ms() + 2000;
    while (ccai_time_ms() < until)
        ccai_poll_run_once(e.poll, 20);
    char *json = NULL;
    assert_int_equal(ccai_ctx_calls_list_json(e.ctx, NULL, 10, 0, &json), CCAI_OK);
    *calls = atoi(strstr(json, "\"total\":") + strlen("\"total\":"));
    ccai_free(json);
    *placed = twilio_env_requests(&e, "/Calls.json", "+33612345678");
    twilio_env_free(&e);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_place_call_locked_after_insert(void **state)
{
    (void)state;
    answer a = {0}, again = {0};
    int calls = 0, placed = 0;
    place_locked(false, false, &a, &again, &calls, &placed);
    printf("# POST /call, locked after the call's INSERT: %d, retried: %d; %d calls stored, %d "
           "placed\n",
           a.status, again.status, calls, placed);
    assert_int_equal(a.status, 201);
    assert_non_null(strstr(a.body, "\"call_id\""));
    assert_int_equal(again.done, 0); /* no retry */
    assert_int_equal(calls, 1);
    assert_int_equal(placed, 1);
}

/* The read-back of the placed call fails (a statement timeout on
 * PostgreSQL, a failing disk; here the SELECT is interrupted): 201 with the
 * call's id all the same. Before, 503 with Retry-After: the client placed
 * the call again and the callee was called twice. */
static void test_place_call_read_back_fails(void **state)
{
    (void)state;
    answer a = {0}, again = {0};
    int calls = 0, placed = 0;
    place_locked(false, true, &a, &again, &calls, &placed);
    printf("# POST /call, its read-back failing: %d, retried: %d; %d calls stored, %d placed\n",
           a.status, again.status, calls, placed);
    assert_int_equal(a.status, 201);
    assert_non_null(strstr(a.body, "\"call_id\":\""));
    assert_int_equal(again.done, 0);
    assert_int_equal(calls, 1);
    assert_int_equal(placed, 1);
}

static void test_place_call_locked_before(void **state)
{
    (void)state;
    answer a = {0}, again = {0};
    int calls = 0, placed = 0;
    place_locked(true, false, &a, &again, &calls, &placed);
    assert_int_equal(a.status, 503);
    assert_non_null(strstr(a.headers, "Retry-After: 1\n"));
    assert_non_null(strstr(a.body, "{\"error\":{\"message\":"));
    assert_int_equal(again.status, 201);
    assert_int_equal(calls, 1);
    assert_int_equal(placed, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inbound_call),
        cmocka_unit_test(test_transfer_answered),
        cmocka_unit_test(test_outbound_call),
        cmocka_unit_test(test_outbound_voicemail),
        cmocka_unit_test(test_outbound_voicemail_async),
        cmocka_unit_test(test_ivr_gather),
        cmocka_unit_test(test_inbound_status_on_the_number),
        cmocka_unit_test(test_hangup_ends_the_call),
        cmocka_unit_test(test_recording_after_completed),
        cmocka_unit_test(test_webhooks_answered_out_of_memory),
        cmocka_unit_test(test_inbound_connect_while_locked),
        cmocka_unit_test(test_inbound_connect_locked_too_long),
        cmocka_unit_test(test_inbound_locked_after_insert),
        cmocka_unit_test(test_place_call_locked_after_insert),
        cmocka_unit_test(test_place_call_read_back_fails),
        cmocka_unit_test(test_place_call_locked_before),
    };
    return cmocka_run_group_tests_name("twilio-flow", tests, NULL, NULL);
}
