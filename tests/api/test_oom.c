/* Out-of-memory injection through the allocator hooks: every allocation of
 * every public constructor fails in turn; each run must end in CCAI_OK or
 * CCAI_ERR_NOMEM, with nothing leaked and nothing crashed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <ccai/adapters/poll.h>
#include <ccai/ccai.h>

#include "support/api_http.h"

#include "support/oom.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Run fn with every allocation failing in turn (support/oom.c). */
static void exhaust(const char *name, oom_scenario fn)
{
    assert_true(oom_exhaust(name, fn, NULL) > 0);
}

/* Scenarios ------------------------------------------------------------------ */

static ccai_status sc_config(void)
{
    ccai_config *cfg = NULL;
    ccai_status st = ccai_config_new(&cfg);
    if (st != CCAI_OK)
        return st;
    static const char yaml[] = "conversation:\n"
                               "  initiate:\n"
                               "    bot_name: Robin\n"
                               "    claim:\n"
                               "      - {name: parcel_id, type: text}\n"
                               "llm:\n"
                               "  fast:\n"
                               "    mode: openai\n"
                               "    endpoint: http://127.0.0.1:1/v1\n"
                               "    api_key: sk-test\n";
    st = ccai_config_load_string(cfg, yaml, sizeof yaml - 1, "oom.yaml");
    if (st == CCAI_OK)
        st = ccai_config_set(cfg, "conversation.callback_timeout_hour", "5");
    if (st == CCAI_OK) {
        const char *env[] = {"LLM__SLOW__MODEL=gpt-test", "IGNORED=1", NULL};
        st = ccai_config_apply_env(cfg, env);
    }
    if (st == CCAI_OK) {
        char *json = NULL;
        st = ccai_config_to_json(cfg, 1, &json);
        ccai_free(json);
    }
    ccai_config_free(cfg);
    return st;
}

static ccai_status sc_config_errors(void)
{
    ccai_config *cfg = NULL;
    ccai_status st = ccai_config_new(&cfg);
    if (st != CCAI_OK)
        return st;
    static const char yaml[] = "conversation:\n  bogus: 1\nllm:\n  fast:\n    context: big\n";
    st = ccai_config_load_string(cfg, yaml, sizeof yaml - 1, "bad.yaml");
    ccai_config_free(cfg);
    if (st == CCAI_ERR_CONFIG)
        return CCAI_OK; /* the expected answer when memory suffices */
    return st;
}

static ccai_status sc_claim(void)
{
    ccai_claim_schema *s = NULL;
    char *err = NULL, *json = NULL, *norm = NULL;
    ccai_status st = ccai_claim_schema_new_default(&s);
    if (st != CCAI_OK)
        return st;
    st = ccai_claim_schema_to_json(s, &json);
    if (st == CCAI_OK)
        st = ccai_claim_schema_validate_claim(
            s,
            "{\"incident_datetime\":\"2024-10-08 02:00\",\"x\":1,\"policyholder_phone\":"
            "\"+33 6 12 34 56 78\"}",
            &norm, &err);
    ccai_free(json);
    ccai_free(norm);
    ccai_free(err);
    norm = err = NULL;
    ccai_claim_schema_unref(s);
    if (st != CCAI_OK)
        return st;
    s = NULL;
    st = ccai_claim_schema_from_json("[{\"name\":\"a\",\"type\":\"email\",\"description\":\"d\"}]",
                                     (size_t)-1, &s, &err);
    ccai_free(err);
    err = NULL;
    if (st == CCAI_OK) {
        st = ccai_claim_schema_add(s, "b", CCAI_FIELD_PHONE_NUMBER, "phone");
        ccai_claim_schema_unref(s);
    }
    if (st != CCAI_OK)
        return st;
    st = ccai_field_validate(CCAI_FIELD_DATETIME, "08/10/2024 14:30", &norm, &err);
    ccai_free(norm);
    ccai_free(err);
    return st;
}

static ccai_status sc_ctx_and_call(void)
{
    ccai_config *cfg = NULL;
    ccai_ctx *ctx = NULL;
    ccai_call *call = NULL;
    ccai_event *ev = NULL;
    char *msg = NULL, *json = NULL;
    ccai_status st = ccai_config_new(&cfg);
    if (st == CCAI_OK)
        st = ccai_config_set(cfg, "database.sqlite.path", ":memory:");
    ccai_loop_hooks hooks = {CCAI_LOOP_HOOKS_VERSION, null_loop_watch, null_loop_timer, NULL};
    if (st == CCAI_OK)
        st = ccai_ctx_new(cfg, &hooks, NULL, &ctx, &msg);
    ccai_free(msg);
    ccai_call_ops ops = {.version = CCAI_CALL_OPS_VERSION};
    ccai_call_params p = {
        .version = CCAI_CALL_PARAMS_VERSION,
        .direction = CCAI_INBOUND,
        .phone_number = "+33612345678",
        .channel = "local",
        .initiate_json = "{\"bot_name\":\"Robin\"}",
        .resume = 1,
    };
    if (st == CCAI_OK)
        st = ccai_call_start(ctx, &p, &ops, NULL, &call);
    static const ccai_event_type seq[] = {CCAI_EVENT_CONNECTED, CCAI_EVENT_SPEECH, CCAI_EVENT_SMS,
                                          CCAI_EVENT_HANGUP};
    for (size_t i = 0; st == CCAI_OK && i < sizeof seq / sizeof seq[0]; i++) {
        st = ccai_event_new(seq[i], &ev);
        if (st == CCAI_OK)
            st = ccai_event_set_text(ev, "My car was hit.");
        if (st == CCAI_OK)
            st = ccai_on_event(call, ev);
        ccai_event_free(ev);
        ev = NULL;
    }
    if (st == CCAI_OK)
        st = ccai_call_to_json(call, &json);
    ccai_free(json);
    json = NULL;
    if (st == CCAI_OK)
        st = ccai_ctx_calls_list_json(ctx, NULL, 10, 0, &json);
    ccai_free(json);
    ccai_call_free(call);
    ccai_ctx_free(ctx);
    ccai_config_free(cfg);
    return st;
}

typedef struct got {
    int status;
} got;

static void on_got(ccai_http_exchange *x, const ccai_http_response *res, void *ud)
{
    (void)x;
    ((got *)ud)->status = res->status;
}

/* Azure Communication Services webhooks: the Event Grid handshake, an
 * IncomingCall (a call is stored and its answer request started), an
 * SMS for it, a callback whose token waits for the key set (the exchange
 * is cancelled). Nothing runs the loop: requests in flight are cancelled
 * by ccai_ctx_free(). */
static ccai_status sc_acs_webhooks(void)
{
    ccai_config *cfg = NULL;
    ccai_ctx *ctx = NULL;
    char *msg = NULL;
    ccai_status st = ccai_config_new(&cfg);
    static const char *const kv[][2] = {
        {"database.sqlite.path", ":memory:"},
        {"communication_services.endpoint", "http://127.0.0.1:9"},
        {"communication_services.access_key", "Y2NhaS10ZXN0LWFjcy1hY2Nlc3Mta2V5LTAxMjM0NTY3ODk="},
        {"communication_services.phone_number", "+15550002222"},
        {"communication_services.resource_id", "res"},
        {"server.public_url", "https://bot.example.test"},
    };
    for (size_t i = 0; st == CCAI_OK && i < sizeof kv / sizeof kv[0]; i++)
        st = ccai_config_set(cfg, kv[i][0], kv[i][1]);
    ccai_loop_hooks hooks = {CCAI_LOOP_HOOKS_VERSION, null_loop_watch, null_loop_timer, NULL};
    if (st == CCAI_OK)
        st = ccai_ctx_new(cfg, &hooks, NULL, &ctx, &msg);
    ccai_free(msg);
    static const char *const bodies[][3] = {
        {"/acs/events", NULL,
         "[{\"eventType\":\"Microsoft.EventGrid.SubscriptionValidationEvent\",\"data\":"
         "{\"validationCode\":\"c-1\"}}]"},
        {"/acs/events", NULL,
         "[{\"eventType\":\"Microsoft.Communication.IncomingCall\",\"data\":{\"to\":"
         "{\"kind\":\"phoneNumber\",\"phoneNumber\":{\"value\":\"+15550002222\"}},"
         "\"from\":{\"kind\":\"phoneNumber\",\"phoneNumber\":{\"value\":"
         "\"+33612345678\"}},\"serverCallId\":\"srv-1\",\"incomingCallContext\":\"c\"}}]"},
        {"/acs/events", NULL,
         "[{\"eventType\":\"Microsoft.Communication.SMSReceived\",\"data\":{\"from\":"
         "\"33612345678\",\"to\":\"15550002222\",\"message\":\"P-77\"}}]"},
        {"/acs/callback", "Bearer a.b.c",
         "[{\"type\":\"Microsoft.Communication.CallConnected\","
         "\"data\":{}}]"},
    };
    for (size_t i = 0; st == CCAI_OK && i < sizeof bodies / sizeof bodies[0]; i++) {
        ccai_http_header h[1] = {{"Authorization", bodies[i][1]}};
        ccai_http_request req = {CCAI_HTTP_REQUEST_VERSION,
                                 "POST",
                                 bodies[i][0],
                                 bodies[i][1] ? "call=00000000-0000-4000-8000-000000000000&s=x"
                                              : NULL,
                                 h,
                                 bodies[i][1] ? 1 : 0,
                                 bodies[i][2],
                                 strlen(bodies[i][2]),
                                 "127.0.0.1"};
        got g = {0};
        ccai_http_exchange *x = NULL;
        st = ccai_ctx_http(ctx, &req, on_got, &g, &x);
        if (x) { /* waits for the key set, which no loop fetches here */
            ccai_http_exchange_cancel(x);
            g.status = 200;
        }
        if (st == CCAI_OK && (g.status == 500 || g.status == 503))
            st = CCAI_ERR_NOMEM; /* out of memory inside: 500, or 503 "deliver again" */
        else if (st == CCAI_OK && g.status != 200 && g.status != 401) {
            fprintf(stderr, "# acs-webhooks: step %zu answered %d\n", i, g.status);
            st = CCAI_ERR_INTERNAL;
        }
    }
    ccai_ctx_free(ctx);
    ccai_config_free(cfg);
    return st;
}

static void test_oom_acs(void **state)
{
    (void)state;
    exhaust("acs-webhooks", sc_acs_webhooks);
}

static void test_oom_config(void **state)
{
    (void)state;
    exhaust("config", sc_config);
}

static void test_oom_config_errors(void **state)
{
    (void)state;
    exhaust("config-errors", sc_config_errors);
}

static void test_oom_claim(void **state)
{
    (void)state;
    exhaust("claim", sc_claim);
}

static void test_oom_ctx_and_call(void **state)
{
    (void)state;
    exhaust("ctx+call", sc_ctx_and_call);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oom_config), cmocka_unit_test(test_oom_config_errors),
        cmocka_unit_test(test_oom_claim),  cmocka_unit_test(test_oom_ctx_and_call),
        cmocka_unit_test(test_oom_acs),
    };
    return cmocka_run_group_tests_name("oom", tests, NULL, NULL);
}
