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

static const ccai_call_ops ops = {
    CCAI_CALL_OPS_VERSION, op_say, NULL, op_listen, op_transfer, op_hangup, op_sms, NULL, NULL};

typedef struct env {
    host h;
    ccai_config *cfg;
    ccai_ctx *ctx;
    ccai_call *call;
} env;

/* with_llm: an LLM is configured (never reached: no caller speech goes to
 * it in these tests), so the engine is in LLM mode. */
static void env_init(env *e, bool with_llm, const char *lang)
{
    memset(e, 0, sizeof *e);
    e->h.now = 1000000;
    e->h.armed = -1;
    assert_int_equal(ccai_config_new(&e->cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "database.sqlite.path", ":memory:"), CCAI_OK);
    if (with_llm) {
        assert_int_equal(ccai_config_set(e->cfg, "llm.fast.mode", "openai_compatible"), CCAI_OK);
        assert_int_equal(ccai_config_set(e->cfg, "llm.fast.endpoint", "http://127.0.0.1:9/v1"),
                         CCAI_OK);
    }
    ccai_loop_hooks hooks = {CCAI_LOOP_HOOKS_VERSION, h_watch, h_timer};
    assert_int_equal(ccai_ctx_new(e->cfg, &hooks, &e->h, &e->ctx, NULL), CCAI_OK);
    Ccai_ctx_set_clock(e->ctx, h_now, &e->h);
    char init[128];
    snprintf(init, sizeof init, "{\"lang\":{\"default_short_code\":\"%s\"}}", lang);
    ccai_call_params p = {
        CCAI_CALL_PARAMS_VERSION, CCAI_INBOUND, "+33612345678", NULL, "local", NULL, init, NULL, 0};
    assert_int_equal(ccai_call_start(e->ctx, &p, &ops, &e->h, &e->call), CCAI_OK);
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
    assert_non_null(strstr(e.h.said[e.h.says - 1], "date and time"));
    event(&e, CCAI_EVENT_SPEECH, "2024-10-08 14:30");
    assert_non_null(strstr(e.h.said[e.h.says - 1], "description"));
    char *json = NULL;
    assert_int_equal(ccai_call_to_json(e.call, &json), CCAI_OK);
    assert_non_null(strstr(json, "\"incident_datetime\":\"2024-10-08T14:30:00\""));
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

static char *run_tool(env *e, const char *name, const char *args, Ccai_tool_outcome *out)
{
    char *r = Ccai_tools_run(e->call, name, args, "llm:test", out);
    assert_non_null(r);
    return r;
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
    assert_string_equal(r, "Callback scheduled for 2031-05-06T09:30:00Z.");
    ccai_free(r);
    r = run_tool(&e, "notify_emergencies",
                 "{\"service\":\"firefighters\",\"reason\":\"smoke in the kitchen\","
                 "\"location\":\"Lyon\",\"contact\":\"+33612345678\"}",
                 &out);
    assert_non_null(strstr(r, "Notifying firefighters"));
    ccai_free(r);
    r = run_tool(&e, "send_sms", "{\"message\":\"Your claim number is 42.\"}", &out);
    assert_string_equal(r, "SMS sent.");
    assert_string_equal(e.h.sms_text, "Your claim number is 42.");
    ccai_free(r);
    r = run_tool(&e, "search_document", "{\"queries\":[\"water damage\"]}", &out);
    assert_non_null(strstr(r, "No documents"));
    ccai_free(r);

    /* The durable side: the emergency and the callback are jobs. */
    Ccai_store *st = Ccai_ctx_store(e.ctx);
    Ccai_store_job *job = NULL;
    assert_int_equal(Ccai_store_job_claim_kinds(st, "emergency", Ccai_wall_ms(), 0, &job), CCAI_OK);
    assert_non_null(strstr(job->payload, "smoke in the kitchen"));
    Ccai_store_job_free(job);
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
    ccai_loop_hooks hooks = {CCAI_LOOP_HOOKS_VERSION, h_watch, h_timer};
    assert_int_equal(ccai_ctx_new(e.cfg, &hooks, &e.h, &e.ctx, NULL), CCAI_OK);
    ccai_call_params p = {
        CCAI_CALL_PARAMS_VERSION, CCAI_INBOUND, "+33612345678", NULL, "local", NULL, NULL, NULL, 0};
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_llm_mode_silence_then_goodbye),
        cmocka_unit_test(test_offline_dialogue_and_silence),
        cmocka_unit_test(test_tools),
        cmocka_unit_test(test_transfer_failure),
        cmocka_unit_test(test_new_claim_continues_as_new_call),
        cmocka_unit_test(test_postcall_survives_restart),
    };
    return cmocka_run_group_tests_name("conversation", tests, NULL, NULL);
}
