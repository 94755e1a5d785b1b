/* The conversation engine without a network: timers on an injected clock
 * (silence, say-done), the offline dialogue, and each tool run directly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "core/json.h"
#include "engine/engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct host {
    uint64_t now;
    int64_t armed;
    int says;
    char said[64][512];
    int hangups;
    int transfers;
    int listens;
    int sms;
    char sms_text[256];
    int no_transfer; /* refuse transfers */
} host;

static int h_watch(void *ud, int fd, int events, void **slot)
{
    (void)ud;
    (void)fd;
    (void)events;
    (void)slot;
    return 0;
}

static int h_timer(void *ud, int64_t ms)
{
    ((host *)ud)->armed = ms;
    return 0;
}

static uint64_t h_now(void *ud)
{
    return ((host *)ud)->now;
}

static int op_say(ccai_call *c, const ccai_speech *sp, void *ud)
{
    (void)c;
    host *h = ud;
    if (h->says < 64)
        snprintf(h->said[h->says], sizeof h->said[0], "%s", sp->text);
    h->says++;
    return 0;
}

static int op_listen(ccai_call *c, const char *lang, void *ud)
{
    (void)c;
    (void)lang;
    ((host *)ud)->listens++;
    return 0;
}

static int op_hangup(ccai_call *c, void *ud)
{
    (void)c;
    ((host *)ud)->hangups++;
    return 0;
}

static int op_transfer(ccai_call *c, const char *number, void *ud)
{
    (void)c;
    (void)number;
    host *h = ud;
    h->transfers++;
    return h->no_transfer ? -1 : 0;
}

static int op_sms(ccai_call *c, const char *to, const char *text, void *ud)
{
    (void)c;
    (void)to;
    host *h = ud;
    h->sms++;
    snprintf(h->sms_text, sizeof h->sms_text, "%s", text);
    return 0;
}

static const ccai_call_ops ops = {.version = CCAI_CALL_OPS_VERSION,
                                  .say = op_say,
                                  .listen = op_listen,
                                  .transfer = op_transfer,
                                  .hangup = op_hangup,
                                  .send_sms = op_sms};

typedef struct env {
    host h;
    ccai_config *cfg;
    ccai_ctx *ctx;
    ccai_call *call;
} env;

/* with_llm: an LLM is configured (never reached: no caller speech goes to
 * it in these tests), so the engine is in LLM mode. */
static void env_init_phone(env *e, bool with_llm, const char *lang, const char *phone)
{
    memset(e, 0, sizeof *e);
    e->h.now = 1000000;
    e->h.armed = -1;
    assert_int_equal(ccai_config_new(&e->cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "database.sqlite.path", ":memory:"), CCAI_OK);
    /* The next timer the tests read is the call's: the lease's renewal
     * (engine/sweep.c) comes later. */
    assert_int_equal(ccai_config_set(e->cfg, "server.call_lease_ms", "600000"), CCAI_OK);
    /* A channel that can call back (nothing is due while a test runs). */
    assert_int_equal(ccai_config_set(e->cfg, "twilio.account_sid", "AC0"), CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "twilio.auth_token", "t"), CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "twilio.phone_number", "+15550001111"), CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "twilio.api_base_url", "http://127.0.0.1:9"), CCAI_OK);
    if (with_llm) {
        assert_int_equal(ccai_config_set(e->cfg, "llm.fast.mode", "openai_compatible"), CCAI_OK);
        assert_int_equal(ccai_config_set(e->cfg, "llm.fast.endpoint", "http://127.0.0.1:9/v1"),
                         CCAI_OK);
    }
    ccai_loop_hooks hooks = {CCAI_LOOP_HOOKS_VERSION, h_watch, h_timer, NULL};
    assert_int_equal(ccai_ctx_new(e->cfg, &hooks, &e->h, &e->ctx, NULL), CCAI_OK);
    Ccai_ctx_set_clock(e->ctx, h_now, &e->h);
    char init[128];
    snprintf(init, sizeof init, "{\"lang\":{\"default_short_code\":\"%s\"}}", lang);
    ccai_call_params p = {.version = CCAI_CALL_PARAMS_VERSION,
                          .direction = CCAI_INBOUND,
                          .phone_number = phone,
                          .channel = "local",
                          .initiate_json = init};
    assert_int_equal(ccai_call_start(e->ctx, &p, &ops, &e->h, &e->call), CCAI_OK);
}

static void env_init(env *e, bool with_llm, const char *lang)
{
    env_init_phone(e, with_llm, lang, "+33612345678");
}

static void env_free(env *e)
{
    ccai_call_free(e->call);
    ccai_ctx_free(e->ctx);
    ccai_config_free(e->cfg);
}

static void event(env *e, ccai_event_type type, const char *text)
{
    ccai_event *ev = NULL;
    assert_int_equal(ccai_event_new(type, &ev), CCAI_OK);
    if (text)
        assert_int_equal(ccai_event_set_text(ev, text), CCAI_OK);
    assert_int_equal(ccai_on_event(e->call, ev), CCAI_OK);
    ccai_event_free(ev);
}

/* Move the clock and fire the host timer when due. */
static void advance(env *e, uint64_t ms)
{
    e->h.now += ms;
    if (e->h.armed >= 0) {
        e->h.armed = -1;
        ccai_ctx_timeout(e->ctx);
    }
}

static void test_llm_mode_silence_then_goodbye(void **state)
{
    (void)state;
    env e;
    env_init(&e, true, "en-US");
    event(&e, CCAI_EVENT_CONNECTED, NULL);
    assert_int_equal(e.h.says, 1); /* hello */
    assert_int_equal(e.h.listens, 1);
    assert_int_equal(e.h.armed, 20000); /* phone_silence_timeout_sec */

    /* The channel reports the greeting played: silence counts from there. */
    advance(&e, 0);
    e.h.now += 15000;
    event(&e, CCAI_EVENT_SAY_DONE, NULL);
    assert_int_equal(e.h.armed, 20000);
    for (int i = 1; i <= 3; i++) {
        e.h.now += 19999;
        assert_int_equal(e.h.says, i); /* not yet */
        advance(&e, 1);
        assert_int_equal(e.h.says, i + 1); /* "are you still there?" */
        assert_int_equal(e.h.hangups, 0);
    }
    advance(&e, 20000); /* recognition_retry_max (3) exceeded */
    assert_int_equal(e.h.hangups, 1);
    assert_int_equal(ccai_call_get_state(e.call), CCAI_CALL_ENDING);
    /* Only the greeting and the goodbye are stored, not the silence prompts. */
    char *json = NULL;
    assert_int_equal(ccai_call_to_json(e.call, &json), CCAI_OK);
    json_t *doc = json_loads(json, 0, NULL);
    ccai_free(json);
    size_t assistant = 0, i;
    json_t *m;
    json_array_foreach(json_object_get(doc, "messages"), i, m)
    {
        if (!strcmp(json_string_value(json_object_get(m, "persona")), "assistant"))
            assistant++;
    }
    json_decref(doc);
    assert_int_equal(assistant, 2);
    env_free(&e);
}

static void test_offline_dialogue_and_silence(void **state)
{
    (void)state;
    env e;
    env_init(&e, false, "en-US");
    event(&e, CCAI_EVENT_CONNECTED, NULL);
    assert_true(e.h.says >= 2); /* greeting and the first question */
    assert_non_null(strstr(e.h.said[e.h.says - 1], "what happened"));
    /* Not the answer asked: the date is noted, what happened asked again. */
    event(&e, CCAI_EVENT_SPEECH, "2024-10-08 14:30");
    assert_non_null(strstr(e.h.said[e.h.says - 1], "what happened"));
    char *json = NULL;
    assert_int_equal(ccai_call_to_json(e.call, &json), CCAI_OK);
    /* A Paris caller: noted with the offset of that day in Paris. */
    assert_non_null(strstr(json, "\"incident_datetime\":\"2024-10-08T14:30:00+02:00\""));
    assert_non_null(strstr(json, "\"engine\":\"offline\""));
    ccai_free(json);
    /* Three silences: the offline dialogue says goodbye and hangs up. */
    advance(&e, 20000);
    advance(&e, 20000);
    assert_int_equal(e.h.hangups, 0);
    advance(&e, 20000);
    assert_int_equal(e.h.hangups, 1);
    env_free(&e);
}

/* The stored claim's e-mail (NULL when there is none), read back from
 * the store as the history API does. */
static char *stored_email(env *e)
{
    char *json = NULL;
    assert_int_equal(ccai_ctx_call_get_json(e->ctx, ccai_call_id(e->call), &json), CCAI_OK);
    json_t *doc = json_loads(json, 0, NULL);
    ccai_free(json);
    assert_non_null(doc);
    const char *v =
        json_string_value(json_object_get(json_object_get(doc, "claim"), "policyholder_email"));
    char *out = v ? strdup(v) : NULL;
    json_decref(doc);
    return out;
}

/* An e-mail the offline dialogue noted and read back, then said to be
 * wrong by the caller: it is withdrawn from the call's claim and from the
 * store (not only from the dialogue's own copy), and spelling is asked. */
static void test_offline_email_withdrawn(void **state)
{
    (void)state;
    env e;
    env_init(&e, false, "en-US");
    event(&e, CCAI_EVENT_CONNECTED, NULL);
    event(&e, CCAI_EVENT_SPEECH, "My email is jane dot doe at gmail dot com.");
    char *email = stored_email(&e);
    assert_non_null(email);
    assert_string_equal(email, "jane.doe@gmail.com");
    free(email);
    event(&e, CCAI_EVENT_SPEECH, "No, that's wrong.");
    assert_null(stored_email(&e));
    assert_non_null(strstr(e.h.said[e.h.says - 1], "spell"));
    char *json = NULL; /* the call's own claim too */
    assert_int_equal(ccai_call_to_json(e.call, &json), CCAI_OK);
    json_t *doc = json_loads(json, 0, NULL);
    ccai_free(json);
    assert_non_null(json_object_get(doc, "claim"));
    assert_null(json_object_get(json_object_get(doc, "claim"), "policyholder_email"));
    json_decref(doc);
    /* Spelled: noted again. */
    event(&e, CCAI_EVENT_SPEECH, "j a n e dot d o e at gmail dot com");
    email = stored_email(&e);
    assert_non_null(email);
    assert_string_equal(email, "jane.doe@gmail.com");
    free(email);
    env_free(&e);
}

static char *run_tool(env *e, const char *name, const char *args, Ccai_tool_outcome *out)
{
    char *r = Ccai_tools_run(e->call, name, args, "llm:test", out);
    assert_non_null(r);
    return r;
}

typedef struct captured {
    char lines[4096];
} captured;

static void capture(ccai_log_level level, const char *msg, void *ud)
{
    captured *c = ud;
    size_t n = strlen(c->lines);
    snprintf(c->lines + n, sizeof c->lines - n, "%s: %s\n", ccai_log_level_str(level), msg);
}

/* An emergency nobody can be alerted of is logged as an error (operators
 * watch for it), but what happens and where, told by the caller, is
 * personal data: debug only. The LLM is told no operator was alerted. */
static void test_emergency_log(void **state)
{
    (void)state;
    static const ccai_log_level levels[] = {CCAI_LOG_INFO, CCAI_LOG_DEBUG};
    for (size_t i = 0; i < 2; i++) {
        env e;
        env_init(&e, true, "en-US");
        captured cap = {""};
        Ccai_ctx_engine(e.ctx)->log = (Ccai_logger){capture, &cap, levels[i]};
        Ccai_tool_outcome out;
        char *r = run_tool(&e, "notify_emergencies",
                           "{\"service\":\"firefighters\",\"reason\":\"my husband is trapped by "
                           "smoke\",\"location\":\"12 rue Royale\",\"contact\":\"+33612345678\"}",
                           &out);
        assert_non_null(strstr(r, "No operator can be alerted"));
        ccai_free(r);
        assert_non_null(strstr(cap.lines, "error: call "));
        assert_non_null(strstr(cap.lines, "EMERGENCY for firefighters"));
        if (levels[i] == CCAI_LOG_INFO)
            assert_null(strstr(cap.lines, "trapped"));
        else
            assert_non_null(strstr(cap.lines, "emergency: my husband is trapped by smoke"));
        env_free(&e);
    }
}

static void test_tools(void **state)
{
    (void)state;
    env e;
    env_init(&e, true, "en-US");
    event(&e, CCAI_EVENT_CONNECTED, NULL);
    Ccai_tool_outcome out;
    char *r;

    r = run_tool(&e, "updated_claim",
                 "{\"customer_response\":\"Noted.\",\"updates\":["
                 "{\"field\":\"incident_location\",\"value\":\" Lyon \"},"
                 "{\"field\":\"policyholder_email\",\"value\":\"not an email\"},"
                 "{\"field\":\"nope\",\"value\":\"x\"}]}",
                 &out);
    assert_non_null(strstr(r, "incident_location: updated to \"Lyon\""));
    assert_non_null(strstr(r, "policyholder_email: failed"));
    assert_non_null(strstr(r, "nope: failed: no such field"));
    assert_true(out.changed);
    assert_string_equal(e.h.said[e.h.says - 1], "Noted."); /* customer_response spoken */
    ccai_free(r);

    r = run_tool(&e, "multi_tool_use.parallel", "{}", &out);
    assert_non_null(strstr(r, "Invalid function name"));
    ccai_free(r);
    r = run_tool(&e, "speech_speed", "[1]", &out);
    assert_non_null(strstr(r, "Bad arguments"));
    ccai_free(r);
    r = run_tool(&e, "speech_speed", "{\"speed\":3}", &out);
    assert_string_equal(r, "Voice speed set to 1.25 (was 1.00).");
    ccai_free(r);
    r = run_tool(&e, "speech_lang", "{\"lang\":\"de-DE\"}", &out);
    assert_string_equal(r, "Language de-DE not available.");
    ccai_free(r);
    r = run_tool(&e, "speech_lang", "{\"lang\":\"fr-FR\",\"customer_response\":\"D'accord.\"}",
                 &out);
    assert_string_equal(r, "Voice language set to fr-FR (was en-US).");
    assert_string_equal(ccai_call_lang(e.call), "fr-FR");
    assert_string_equal(e.h.said[e.h.says - 1], "D'accord."); /* after the change */
    ccai_free(r);
    r = run_tool(&e, "new_or_updated_reminder",
                 "{\"title\":\"Send photos\",\"description\":\"Photos of the car\","
                 "\"due_date_time\":\"2030-01-02 10:00\",\"owner\":\"customer\"}",
                 &out);
    assert_string_equal(r, "Reminder \"Send photos\" created.");
    ccai_free(r);
    r = run_tool(&e, "new_or_updated_reminder",
                 "{\"title\":\"Send photos\",\"due_date_time\":\"2030-01-03 10:00\"}", &out);
    assert_string_equal(r, "Reminder \"Send photos\" updated.");
    ccai_free(r);
    r = run_tool(&e, "new_or_updated_reminder", "{\"title\":\"X\",\"due_date_time\":\"soon\"}",
                 &out);
    assert_non_null(strstr(r, "Failed to create reminder"));
    ccai_free(r);
    r = run_tool(&e, "schedule_callback", "{\"date_time\":\"2001-01-01 10:00\"}", &out);
    assert_non_null(strstr(r, "in the past"));
    ccai_free(r);
    r = run_tool(&e, "schedule_callback",
                 "{\"date_time\":\"2031-05-06T09:30:00Z\",\"reason\":\"expert visit\"}", &out);
    assert_string_equal(r, "Callback scheduled for 2031-05-06T09:30:00Z: we will call "
                           "+33612345678 then, and try again later if there is no answer.");
    ccai_free(r);
    r = run_tool(&e, "notify_emergencies",
                 "{\"service\":\"firefighters\",\"reason\":\"smoke in the kitchen\","
                 "\"location\":\"Lyon\",\"contact\":\"+33612345678\"}",
                 &out);
    assert_non_null(strstr(r, "No operator can be alerted"));
    ccai_free(r);
    r = run_tool(&e, "send_sms", "{\"message\":\"Your claim number is 42.\"}", &out);
    assert_string_equal(r, "SMS sent.");
    assert_string_equal(e.h.sms_text, "Your claim number is 42.");
    ccai_free(r);
    /* search_document answers later, from the loop: its answer reaches the
     * model through the turn (tests/unit/test_docs.c, test_tool_in_a_call). */
    assert_null(Ccai_tools_run(e.call, "search_document", "{\"queries\":[\"water damage\"]}",
                               "llm:test", &out));
    assert_non_null(out.wait);
    Ccai_tools_cancel(out.wait);
    memset(&out, 0, sizeof out);

    /* The durable side: the callback is a job; no alert without a target. */
    Ccai_store *st = Ccai_ctx_store(e.ctx);
    Ccai_store_job *job = NULL;
    assert_int_equal(Ccai_store_job_claim_kinds(st, "alert", Ccai_wall_ms(), 0, &job),
                     CCAI_ERR_NOT_FOUND);
    assert_int_equal(Ccai_store_job_claim_kinds(st, "callback", Ccai_wall_ms(), 0, &job),
                     CCAI_ERR_NOT_FOUND); /* not due before 2031 */

    char *json = NULL;
    assert_int_equal(ccai_call_to_json(e.call, &json), CCAI_OK);
    assert_non_null(strstr(json, "\"incident_location\":\"Lyon\""));
    assert_null(strstr(json, "not an email")); /* the old (empty) value stayed */
    assert_non_null(strstr(json, "Send photos"));
    assert_non_null(strstr(json, "Call back the customer"));
    ccai_free(json);

    r = run_tool(&e, "end_call", "{}", &out);
    assert_true(out.end_call);
    assert_int_equal(e.h.hangups, 1);
    assert_int_equal(ccai_call_get_state(e.call), CCAI_CALL_ENDING);
    ccai_free(r);
    env_free(&e);
}

static void test_transfer_failure(void **state)
{
    (void)state;
    env e;
    env_init(&e, true, "en-US");
    e.h.no_transfer = 1;
    event(&e, CCAI_EVENT_CONNECTED, NULL);
    Ccai_tool_outcome out;
    char *r = run_tool(&e, "talk_to_human", "{}", &out);
    assert_true(out.transfer);
    assert_int_equal(e.h.transfers, 1);
    assert_non_null(strstr(r, "transfer failed"));
    assert_int_equal(e.h.hangups, 1); /* apology, callback reminder, goodbye */
    ccai_free(r);
    char *json = NULL;
    assert_int_equal(ccai_call_to_json(e.call, &json), CCAI_OK);
    assert_non_null(strstr(json, "Call back the customer"));
    ccai_free(json);
    env_free(&e);
}

static void test_new_claim_continues_as_new_call(void **state)
{
    (void)state;
    env e;
    env_init(&e, true, "en-US");
    event(&e, CCAI_EVENT_CONNECTED, NULL);
    char old_id[37];
    strcpy(old_id, ccai_call_id(e.call));
    Ccai_tool_outcome out;
    char *r =
        run_tool(&e, "updated_claim",
                 "{\"updates\":[{\"field\":\"incident_location\",\"value\":\"Paris\"}]}", &out);
    ccai_free(r);
    r = run_tool(&e, "new_claim", "{\"customer_response\":\"A new claim, then.\"}", &out);
    assert_non_null(strstr(r, "reset"));
    ccai_free(r);
    assert_string_not_equal(ccai_call_id(e.call), old_id);
    char *json = NULL;
    assert_int_equal(ccai_ctx_call_get_json(e.ctx, old_id, &json), CCAI_OK);
    assert_non_null(strstr(json, "Paris")); /* the old claim is kept */
    ccai_free(json);
    assert_int_equal(ccai_call_to_json(e.call, &json), CCAI_OK);
    assert_non_null(strstr(json, "\"claim\":{}"));
    ccai_free(json);
    env_free(&e);
}

/* A post-call job left by a context that went away runs in the next one. */
static void test_postcall_survives_restart(void **state)
{
    (void)state;
    char dir[] = "/tmp/ccai-conv-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/db.sqlite", dir);
    env e;
    memset(&e, 0, sizeof e);
    e.h.now = 1000000;
    e.h.armed = -1;
    assert_int_equal(ccai_config_new(&e.cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(e.cfg, "database.sqlite.path", path), CCAI_OK);
    ccai_loop_hooks hooks = {CCAI_LOOP_HOOKS_VERSION, h_watch, h_timer, NULL};
    assert_int_equal(ccai_ctx_new(e.cfg, &hooks, &e.h, &e.ctx, NULL), CCAI_OK);
    ccai_call_params p = {.version = CCAI_CALL_PARAMS_VERSION,
                          .direction = CCAI_INBOUND,
                          .phone_number = "+33612345678",
                          .channel = "local"};
    assert_int_equal(ccai_call_start(e.ctx, &p, &ops, &e.h, &e.call), CCAI_OK);
    char id[37];
    strcpy(id, ccai_call_id(e.call));
    event(&e, CCAI_EVENT_CONNECTED, NULL);
    event(&e, CCAI_EVENT_SPEECH, "hier soir");
    event(&e, CCAI_EVENT_HANGUP, NULL);
    /* The process "dies" before its loop ran the job. */
    ccai_call_free(e.call);
    ccai_ctx_free(e.ctx);
    e.h.armed = -1;
    assert_int_equal(ccai_ctx_new(e.cfg, &hooks, &e.h, &e.ctx, NULL), CCAI_OK);
    assert_true(e.h.armed >= 0); /* the new context found the due job */
    e.h.armed = -1;
    ccai_ctx_timeout(e.ctx);
    char *json = NULL;
    assert_int_equal(ccai_ctx_call_get_json(e.ctx, id, &json), CCAI_OK);
    json_t *doc = json_loads(json, 0, NULL);
    ccai_free(json);
    assert_string_equal(json_string_value(json_object_get(doc, "state")), "done");
    assert_non_null(json_string_value(json_object_get(json_object_get(doc, "synthesis"), "long")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "next"), "action")),
                        "requires_expertise");
    json_decref(doc);
    /* The SMS report went to the outbox. */
    Ccai_store_job *job = NULL;
    e.h.armed = -1;
    ccai_ctx_timeout(e.ctx);
    assert_int_equal(Ccai_store_job_claim_kinds(Ccai_ctx_store(e.ctx), "sms,postcall",
                                                Ccai_wall_ms() + 1000, 0, &job),
                     CCAI_ERR_NOT_FOUND); /* all done */
    e.call = NULL;
    env_free(&e);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* Local time in a zone, with the C library as the independent oracle. */
static void with_tz(const char *zone)
{
    if (zone)
        setenv("TZ", zone, 1);
    else
        unsetenv("TZ");
    tzset();
}

/* "YYYY-MM-DD HH:MM" of wall time t in zone, and its offset "+hh:mm". */
static void local_naive(const char *zone, time_t t, char naive[32], char off[8])
{
    with_tz(zone);
    struct tm tm;
    assert_non_null(localtime_r(&t, &tm));
    strftime(naive, 32, "%Y-%m-%d %H:%M", &tm);
    int g = (int)(tm.tm_gmtoff / 60) % (24 * 60);
    snprintf(off, 8, "%c%02d:%02d", g < 0 ? '-' : '+', abs(g) / 60 % 24, abs(g) % 60);
    with_tz(NULL);
}

/* The unix time of a local (unambiguous) time in zone. */
static time_t local_to_unix(const char *zone, int y, int mo, int d, int h, int mi)
{
    with_tz(zone);
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_isdst = -1};
    time_t t = mktime(&tm);
    with_tz(NULL);
    return t;
}

static const char *reminder_due(env *e, const char *title, char *buf, size_t len)
{
    char *json = NULL;
    assert_int_equal(ccai_call_to_json(e->call, &json), CCAI_OK);
    json_t *doc = json_loads(json, 0, NULL);
    ccai_free(json);
    size_t i;
    json_t *r;
    buf[0] = '\0';
    json_array_foreach(json_object_get(doc, "reminders"), i, r)
    {
        if (strcmp(json_string_value(json_object_get(r, "title")), title) == 0)
            snprintf(buf, len, "%s", json_string_value(json_object_get(r, "due_date_time")));
    }
    json_decref(doc);
    return buf;
}

static const char *claim_value(env *e, const char *field, char *buf, size_t len)
{
    char *json = NULL;
    assert_int_equal(ccai_call_to_json(e->call, &json), CCAI_OK);
    json_t *doc = json_loads(json, 0, NULL);
    ccai_free(json);
    const char *v = json_string_value(json_object_get(json_object_get(doc, "claim"), field));
    snprintf(buf, len, "%s", v ? v : "");
    json_decref(doc);
    return buf;
}

/* Times the LLM gives without an offset are the caller's local time (the
 * prompt gives it the date in the caller's zone): a reminder "tomorrow at
 * 9 am" from Los Angeles is due at 9 am there, a callback this afternoon is
 * not "in the past", and claim times are stored with the caller's offset,
 * daylight saving time included. */
static void test_tool_times_are_the_callers(void **state)
{
    (void)state;
    if (access("/usr/share/zoneinfo/America/Los_Angeles", R_OK) != 0)
        skip();
    const char *la = "America/Los_Angeles";
    env e;
    env_init_phone(&e, true, "en-US", "+14155550100");
    event(&e, CCAI_EVENT_CONNECTED, NULL);
    Ccai_tool_outcome out;
    char naive[32], off[8], args[256], buf[64];

    /* Tomorrow 9 am in Los Angeles. */
    time_t now = time(NULL);
    char today[32];
    local_naive(la, now + 86400, today, off);
    int y, mo, d;
    assert_int_equal(sscanf(today, "%d-%d-%d", &y, &mo, &d), 3);
    snprintf(args, sizeof args,
             "{\"title\":\"Send the photos\",\"due_date_time\":\"%04d-%02d-%02dT09:00:00\","
             "\"owner\":\"customer\"}",
             y, mo, d);
    char *r = run_tool(&e, "new_or_updated_reminder", args, &out);
    assert_string_equal(r, "Reminder \"Send the photos\" created.");
    ccai_free(r);
    char want[64];
    time_t due = local_to_unix(la, y, mo, d, 9, 0);
    struct tm u;
    gmtime_r(&due, &u);
    strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%S", &u);
    reminder_due(&e, "Send the photos", buf, sizeof buf);
    if (strncmp(buf, want, strlen(want)) != 0)
        fail_msg("due %s, expected %s (9 am in Los Angeles)", buf, want);

    /* A callback in two hours, local time: in the future, not refused. */
    local_naive(la, now + 2 * 3600, naive, off);
    snprintf(args, sizeof args,
             "{\"date_time\":\"%s\",\"reason\":\"the expert's visit\","
             "\"customer_response\":\"I will call you back then.\"}",
             naive);
    r = run_tool(&e, "schedule_callback", args, &out);
    char iso[64], expect[96];
    snprintf(iso, sizeof iso, "%.10sT%s:00%s", naive, naive + 11, off);
    snprintf(expect, sizeof expect, "Callback scheduled for %s: ", iso);
    if (strncmp(r, expect, strlen(expect)) != 0)
        fail_msg("\"%s\", expected \"%s\"", r, expect);
    ccai_free(r);
    /* Due then: the job (not before) and the operators' reminder. */
    Ccai_store_job *job = NULL;
    assert_int_equal(Ccai_store_job_claim_kinds(Ccai_ctx_store(e.ctx), "callback",
                                                Ccai_wall_ms() + 2 * 3600 * 1000 - 60000, 0, &job),
                     CCAI_ERR_NOT_FOUND);
    assert_int_equal(Ccai_store_job_claim_kinds(Ccai_ctx_store(e.ctx), "callback",
                                                Ccai_wall_ms() + 2 * 3600 * 1000, 0, &job),
                     CCAI_OK);
    assert_non_null(strstr(job->payload, iso));
    Ccai_store_job_free(job);
    time_t at = ((time_t)now + 2 * 3600) / 60 * 60;
    gmtime_r(&at, &u);
    strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%S", &u);
    reminder_due(&e, "Call back the customer", buf, sizeof buf);
    if (strncmp(buf, want, strlen(want)) != 0)
        fail_msg("call back due %s, expected %s", buf, want);
    /* Still refused when it really is in the past. */
    local_naive(la, now - 3600, naive, off);
    snprintf(args, sizeof args, "{\"date_time\":\"%s\"}", naive);
    r = run_tool(&e, "schedule_callback", args, &out);
    assert_non_null(strstr(r, "in the past"));
    ccai_free(r);

    /* Claim times carry the caller's offset, DST-correct; a time the LLM
     * gave with an offset keeps it. */
    static const struct {
        const char *value, *stored;
    } la_claims[] = {
        {"2024-10-08 14:30", "2024-10-08T14:30:00-07:00"},
        {"2025-01-15 14:30", "2025-01-15T14:30:00-08:00"},
        {"2031-03-09 02:30", "2031-03-09T03:30:00-07:00"}, /* does not exist: moved on */
        {"2031-11-02 01:30", "2031-11-02T01:30:00-07:00"}, /* twice: the first */
        {"2024-10-08T14:30:00Z", "2024-10-08T14:30:00Z"},
        {"2024-10-08T14:30:00+02:00", "2024-10-08T14:30:00+02:00"},
    };
    for (size_t i = 0; i < sizeof la_claims / sizeof la_claims[0]; i++) {
        snprintf(args, sizeof args,
                 "{\"updates\":[{\"field\":\"incident_datetime\",\"value\":\"%s\"}]}",
                 la_claims[i].value);
        r = run_tool(&e, "updated_claim", args, &out);
        ccai_free(r);
        claim_value(&e, "incident_datetime", buf, sizeof buf);
        if (strcmp(buf, la_claims[i].stored) != 0)
            fail_msg("%s from Los Angeles: %s, expected %s", la_claims[i].value, buf,
                     la_claims[i].stored);
    }
    env_free(&e);

    /* A Paris caller around the changes of 2031 (30 March, 26 October). */
    env_init_phone(&e, true, "fr-FR", "+33612345678");
    event(&e, CCAI_EVENT_CONNECTED, NULL);
    static const struct {
        const char *value, *stored;
    } paris_claims[] = {
        {"2031-03-29 09:00", "2031-03-29T09:00:00+01:00"},
        {"2031-03-30 02:30", "2031-03-30T03:30:00+02:00"},
        {"2031-03-30 09:00", "2031-03-30T09:00:00+02:00"},
        {"2031-10-26 02:30", "2031-10-26T02:30:00+02:00"},
        {"2031-10-26 03:30", "2031-10-26T03:30:00+01:00"},
    };
    for (size_t i = 0; i < sizeof paris_claims / sizeof paris_claims[0]; i++) {
        snprintf(args, sizeof args,
                 "{\"updates\":[{\"field\":\"incident_datetime\",\"value\":\"%s\"}]}",
                 paris_claims[i].value);
        r = run_tool(&e, "updated_claim", args, &out);
        ccai_free(r);
        claim_value(&e, "incident_datetime", buf, sizeof buf);
        if (strcmp(buf, paris_claims[i].stored) != 0)
            fail_msg("%s from Paris: %s, expected %s", paris_claims[i].value, buf,
                     paris_claims[i].stored);
    }
    /* Reminders on either side of the spring change: 8:00 and 7:00 UTC. */
    r = run_tool(&e, "new_or_updated_reminder",
                 "{\"title\":\"Before\",\"due_date_time\":\"2031-03-29 09:00\"}", &out);
    ccai_free(r);
    r = run_tool(&e, "new_or_updated_reminder",
                 "{\"title\":\"After\",\"due_date_time\":\"2031-03-30 09:00\"}", &out);
    ccai_free(r);
    assert_int_equal(
        strncmp(reminder_due(&e, "Before", buf, sizeof buf), "2031-03-29T08:00:00", 19), 0);
    assert_int_equal(strncmp(reminder_due(&e, "After", buf, sizeof buf), "2031-03-30T07:00:00", 19),
                     0);
    env_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_llm_mode_silence_then_goodbye),
        cmocka_unit_test(test_offline_dialogue_and_silence),
        cmocka_unit_test(test_offline_email_withdrawn),
        cmocka_unit_test(test_tools),
        cmocka_unit_test(test_emergency_log),
        cmocka_unit_test(test_transfer_failure),
        cmocka_unit_test(test_new_claim_continues_as_new_call),
        cmocka_unit_test(test_postcall_survives_restart),
        cmocka_unit_test(test_tool_times_are_the_callers),
    };
    return cmocka_run_group_tests_name("conversation", tests, NULL, NULL);
}
