/* Calls over the Azure Communication Services channel, end to end in one
 * process: Event Grid deliveries and Call Automation callbacks in (the
 * callbacks carry RS256 tokens the ACS stand-in signs and whose keys it
 * publishes), signed REST requests out to the stand-in, which checks every
 * HMAC signature as ACS does; the LLM stand-in streams the answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <ccai/adapters/poll.h>

#include "support/acs_standin.h"
#include "support/db_lock.h"
#include "support/exchange.h"
#include "support/llm_standin.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PUBLIC_URL  "https://bot.example.test"
#define BOT_NUMBER  "+15550002222"
#define CALLER      "+33612345678"
#define AGENT       "+15550009999"
#define RESOURCE_ID "7f9b7c1e-0000-4000-8000-acs000000001"
#define EG_TOKEN    "event-grid-secret-42"
#define CONTAINER   "https://recordings.blob.core.windows.net/calls"
#define COGNITIVE   "https://speech.cognitiveservices.azure.com/"
#define ONE_LANG                                                                        \
    "{\"default_short_code\": \"en-US\", \"availables\": [{\"short_code\": \"en-US\", " \
    "\"voice\": \"en-US-AvaNeural\", \"pronunciations_en\": [\"English\"]}]}"

typedef http_answer answer;

typedef struct env {
    standin *llm;
    acs_standin *acs;
    ccai_config *cfg;
    ccai_poll *poll;
    ccai_ctx *ctx;
    char callback[1024]; /* the call's callback path and query, local */
    char conn[128];      /* its callConnectionId */
    int seen;            /* stand-in requests already looked at */
} env;

static void env_init_with(env *e, const char *const (*extra)[2], size_t n_extra)
{
    memset(e, 0, sizeof *e);
    e->llm = standin_start(NULL);
    e->acs = acs_standin_start(NULL);
    assert_non_null(e->llm);
    assert_non_null(e->acs);
    char ep[64], openid[128];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d/v1", standin_port(e->llm));
    snprintf(openid, sizeof openid, "%s/calling/.well-known/acsopenidconfiguration",
             acs_standin_url(e->acs));
    assert_int_equal(ccai_config_new(&e->cfg), CCAI_OK);
    const char *kv[][2] = {
        {"database.sqlite.path", ":memory:"},
        {"llm.fast.mode", "openai_compatible"},
        {"llm.fast.endpoint", ep},
        {"communication_services.endpoint", acs_standin_url(e->acs)},
        {"communication_services.access_key", ACS_STANDIN_KEY},
        {"communication_services.phone_number", BOT_NUMBER},
        {"communication_services.resource_id", RESOURCE_ID},
        {"communication_services.openid_config_url", openid},
        {"communication_services.event_grid_token", EG_TOKEN},
        {"communication_services.recording_container_url", CONTAINER},
        /* The reference's name (call-center-ai's config.yaml): it must
         * reach the Call Automation requests below. */
        {"cognitive_service.endpoint", COGNITIVE},
        {"server.public_url", PUBLIC_URL},
        {"server.api_token", "api"},
        {"conversation.initiate.lang.default_short_code", "en-US"},
        {"conversation.initiate.agent_phone_number", AGENT},
        {"conversation.recognition_retry_max", "2"},
        {"sms.mode", "communication_services"},
        {"conversation.recording_enabled", "true"},
    };
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++) {
        if (ccai_config_set(e->cfg, kv[i][0], kv[i][1]) != CCAI_OK)
            fail_msg("%s: %s", kv[i][0], ccai_config_errmsg(e->cfg));
    }
    for (size_t i = 0; i < n_extra; i++) {
        if (ccai_config_set(e->cfg, extra[i][0], extra[i][1]) != CCAI_OK)
            fail_msg("%s: %s", extra[i][0], ccai_config_errmsg(e->cfg));
    }
    assert_int_equal(ccai_poll_new(e->cfg, &e->poll, &e->ctx, NULL), CCAI_OK);
}

static void env_init(env *e)
{
    env_init_with(e, NULL, 0);
}

static void env_free(env *e)
{
    ccai_poll_free(e->poll);
    ccai_config_free(e->cfg);
    standin_stop(e->llm);
    acs_standin_stop(e->acs);
}

/* Send method target ("/path?query") with a JSON body and one header
 * (hname NULL = none); waits for the (maybe late) answer. */
static void send_req(env *e, const char *method, const char *target, const char *body,
                     const char *hname, const char *hvalue, answer *a)
{
    ccai_http_header h[2] = {{"Content-Type", "application/json"}, {hname, hvalue}};
    assert_true(
        exchange_run(e->ctx, e->poll, method, target, h, hname ? 2 : 1, body, "52.112.0.1", a));
}

/* POST with an Authorization header when auth is not NULL. */
static void post(env *e, const char *target, const char *body, const char *auth, answer *a)
{
    send_req(e, "POST", target, body, auth ? "Authorization" : NULL, auth, a);
}

/* The LLM stand-in's next answer: one tool call. */
static void push_tool_call(env *e, const char *id, const char *name, const char *arguments)
{
    standin_tool_call tc = {.id = id, .name = name, .arguments = arguments};
    standin_spec t = STANDIN_SPEC_INIT;
    t.kind = STANDIN_TOOL_CALLS;
    t.tool_calls = &tc;
    t.n_tool_calls = 1;
    standin_push(e->llm, &t);
}

/* An Event Grid delivery to /acs/events with the subscription's token. */
static void event_grid(env *e, const char *body, answer *a)
{
    post(e, "/acs/events?token=" EG_TOKEN, body, NULL, a);
}

/* A Call Automation callback of the current call, signed as ACS signs. */
static int callback_as(env *e, const char *target, const char *type, const char *data,
                       acs_standin_token how)
{
    char *body = acs_standin_event(type, e->conn, data);
    char *auth = acs_standin_bearer(e->acs, RESOURCE_ID, how);
    assert_non_null(body);
    assert_non_null(auth);
    answer a;
    post(e, target, body, auth, &a);
    free(body);
    free(auth);
    return a.status;
}

static void callback(env *e, const char *type, const char *data)
{
    assert_int_equal(callback_as(e, e->callback, type, data, ACS_TOKEN_VALID), 200);
}

/* The next stand-in request (after those seen) whose path ends with
 * suffix; run the loop until it comes. Returns its index. */
static int expect_request(env *e, const char *suffix)
{
    uint64_t deadline = ccai_time_ms() + 10000;
    for (;;) {
        int n = acs_standin_request_count(e->acs);
        for (int i = e->seen; i < n; i++) {
            char *p = acs_standin_request_path(e->acs, i);
            size_t pl = p ? strlen(p) : 0, sl = strlen(suffix);
            bool match = pl >= sl && strcmp(p + pl - sl, suffix) == 0;
            free(p);
            if (match) {
                assert_int_equal(acs_standin_request_status(e->acs, i) / 100, 2);
                char *why = acs_standin_request_auth_error(e->acs, i);
                assert_string_equal(why, ""); /* signed as ACS expects */
                free(why);
                e->seen = i + 1;
                return i;
            }
        }
        if (ccai_time_ms() > deadline)
            fail_msg("no request to ...%s came", suffix);
        ccai_poll_run_once(e->poll, 20);
    }
}

/* No request to suffix arrives within ms. */
static void expect_no_request(env *e, const char *suffix, int ms)
{
    uint64_t deadline = ccai_time_ms() + (uint64_t)ms;
    while (ccai_time_ms() < deadline)
        ccai_poll_run_once(e->poll, 20);
    for (int i = e->seen; i < acs_standin_request_count(e->acs); i++) {
        char *p = acs_standin_request_path(e->acs, i);
        bool match = p && strstr(p, suffix);
        free(p);
        if (match)
            fail_msg("unexpected request to %s", suffix);
    }
}

static json_t *req_json(env *e, int i)
{
    json_t *j = acs_standin_request_json(e->acs, i);
    assert_non_null(j);
    return j;
}

static const char *jstr(const json_t *j, const char *path)
{
    char key[128];
    const char *dot;
    while ((dot = strchr(path, '.')) != NULL) {
        snprintf(key, sizeof key, "%.*s", (int)(dot - path), path);
        j = json_object_get(j, key);
        path = dot + 1;
    }
    return json_string_value(json_object_get(j, path));
}

/* The operation context of a request without its generation
 * ("ccai:talk#2" -> "ccai:talk"). */
static const char *opctx(const json_t *j)
{
    static char buf[64];
    const char *c = jstr(j, "operationContext");
    assert_non_null(c);
    snprintf(buf, sizeof buf, "%.*s", (int)strcspn(c, "#"), c);
    return buf;
}

static const char *local(const char *url)
{
    assert_int_equal(strncmp(url, PUBLIC_URL, strlen(PUBLIC_URL)), 0);
    return url + strlen(PUBLIC_URL);
}

/* Run the loop until the caller's stored call is over (20 s at most). */
static void await_ended(env *e, const char *phone)
{
    char *json = NULL;
    for (int k = 0; k < 1000; k++) {
        assert_int_equal(ccai_ctx_call_find_json(e->ctx, phone, 0, &json), CCAI_OK);
        bool over = strstr(json, "\"in_progress\":false") != NULL;
        ccai_free(json);
        if (over)
            return;
        ccai_poll_run_once(e->poll, 20);
    }
    fail_msg("the call of %s never ended", phone);
}

static char *stored_call(env *e)
{
    char *json = NULL;
    assert_int_equal(ccai_ctx_call_find_json(e->ctx, CALLER, 0, &json), CCAI_OK);
    return json;
}

/* A string member of the caller's stored call into out; false when absent. */
static bool stored_member(env *e, const char *key, char *out, size_t len)
{
    char *doc = stored_call(e);
    char *json = strdup(doc);
    ccai_free(doc);
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *m = strstr(json, pat);
    size_t at = m ? (size_t)(m - json) + strlen(pat) : 0;
    if (m)
        snprintf(out, len, "%.*s", (int)strcspn(json + at, "\""), json + at);
    free(json);
    return m != NULL;
}

static const char incoming_fmt[] =
    "[{\"id\":\"eg-%d\",\"topic\":\"/subscriptions/x/resourceGroups/y/providers/"
    "Microsoft.Communication/communicationServices/z\",\"subject\":\"/caller/4%s/recipient/%s\","
    "\"eventType\":\"Microsoft.Communication.IncomingCall\",\"eventTime\":\"2026-11-25T10:00:00Z\","
    "\"dataVersion\":\"1.0\",\"metadataVersion\":\"1\",\"data\":{"
    "\"to\":{\"kind\":\"phoneNumber\",\"rawId\":\"4:%s\",\"phoneNumber\":{\"value\":\"%s\"}},"
    "\"from\":{\"kind\":\"phoneNumber\",\"rawId\":\"4:%s\",\"phoneNumber\":{\"value\":\"%s\"}},"
    "\"serverCallId\":\"%s\",\"callerDisplayName\":\"\",\"incomingCallContext\":\"eyJhbGciOi.ctx%"
    "d\","
    "\"correlationId\":\"corr-%d\"}}]";

static void incoming(env *e, int n, const char *to, const char *server_call_id, answer *a)
{
    char body[4096];
    snprintf(body, sizeof body, incoming_fmt, n, CALLER, to, to, to, CALLER, CALLER, server_call_id,
             n, n);
    event_grid(e, body, a);
}

/* Answer an incoming call; sets e->callback and e->conn. */
static void answer_incoming(env *e, const char *server_call_id)
{
    answer a;
    incoming(e, 1, BOT_NUMBER, server_call_id, &a);
    assert_int_equal(a.status, 200);
    int i = expect_request(e, "/calling/callConnections:answer");
    json_t *j = req_json(e, i);
    assert_string_equal(jstr(j, "incomingCallContext"), "eyJhbGciOi.ctx1");
    assert_string_equal(jstr(j, "callIntelligenceOptions.cognitiveServicesEndpoint"), COGNITIVE);
    const char *cb = jstr(j, "callbackUri");
    assert_non_null(cb);
    assert_non_null(strstr(cb, "/acs/callback?call="));
    assert_non_null(strstr(cb, "&s="));
    snprintf(e->callback, sizeof e->callback, "%s", local(cb));
    json_decref(j);
    char *conn = acs_standin_request_created(e->acs, i);
    assert_non_null(conn);
    snprintf(e->conn, sizeof e->conn, "%s", conn);
    free(conn);
}

static void test_event_grid(void **state)
{
    (void)state;
    env e;
    env_init(&e);
    answer a;
    /* The subscription's validation handshake. */
    const char *validation =
        "[{\"id\":\"2d1781af\",\"topic\":\"/subscriptions/x\",\"subject\":\"\","
        "\"data\":{\"validationCode\":\"512d38b6-c7b8-40c8-89fe-f46f9e9622b6\","
        "\"validationUrl\":\"https://rp-eastus2.eventgrid.azure.net/x\"},"
        "\"eventType\":\"Microsoft.EventGrid.SubscriptionValidationEvent\","
        "\"eventTime\":\"2026-11-25T10:00:00Z\",\"metadataVersion\":\"1\",\"dataVersion\":\"2\"}]";
    event_grid(&e, validation, &a);
    assert_int_equal(a.status, 200);
    assert_string_equal(a.body,
                        "{\"validationResponse\":\"512d38b6-c7b8-40c8-89fe-f46f9e9622b6\"}");
    /* Without the subscription's token, or with another: refused. */
    post(&e, "/acs/events", validation, NULL, &a);
    assert_int_equal(a.status, 401);
    post(&e, "/acs/events?token=guess", validation, NULL, &a);
    assert_int_equal(a.status, 401);
    /* No lexicon configured: none served. */
    send_req(&e, "GET", "/lexicon.xml", NULL, NULL, NULL, &a);
    assert_int_equal(a.status, 404);
    /* The CloudEvents schema's handshake: OPTIONS with the origin. */
    send_req(&e, "OPTIONS", "/acs/events?token=" EG_TOKEN, NULL, "WebHook-Request-Origin",
             "eventgrid.azure.net", &a);
    assert_int_equal(a.status, 200);
    assert_non_null(strstr(a.headers, "WebHook-Allowed-Origin: eventgrid.azure.net\n"));
    send_req(&e, "OPTIONS", "/acs/events", NULL, "WebHook-Request-Origin", "eventgrid.azure.net",
             &a);
    assert_int_equal(a.status, 401);
    /* Malformed deliveries: a clear 400. */
    event_grid(&e, "[{\"eventType\":", &a);
    assert_int_equal(a.status, 400);
    assert_non_null(strstr(a.body, "malformed"));
    event_grid(&e, "[{\"eventType\":\"Microsoft.Communication.IncomingCall\",\"data\":{}}]", &a);
    assert_int_equal(a.status, 400);
    /* A call for another number is not ours; an unknown event type is
     * skipped. */
    incoming(&e, 7, "+15550007777", "srv-other", &a);
    assert_int_equal(a.status, 200);
    event_grid(&e, "[{\"eventType\":\"Microsoft.Communication.SomethingNew\",\"data\":{}}]", &a);
    assert_int_equal(a.status, 200);
    expect_no_request(&e, ":answer", 200);

    /* A stale IncomingCall: ACS refuses the answer; the call is ended and
     * nothing else happens. A second delivery of a live one is ignored. */
    acs_standin_fault f = {.status = 400,
                           .code = "BadRequest",
                           .message = "Lifetime validation of the signed http request failed."};
    acs_standin_push_fault(e.acs, &f);
    incoming(&e, 1, BOT_NUMBER, "srv-stale", &a);
    assert_int_equal(a.status, 200);
    uint64_t until = ccai_time_ms() + 5000;
    while (acs_standin_request_status(e.acs, 0) != 400 && ccai_time_ms() < until)
        ccai_poll_run_once(e.poll, 20); /* the refused answer, logged */
    await_ended(&e, CALLER);
    char *json = stored_call(&e);
    assert_non_null(strstr(json, "answer failed"));
    free(json);
    e.seen = acs_standin_request_count(e.acs);
    incoming(&e, 2, BOT_NUMBER, "srv-live", &a);
    expect_request(&e, ":answer");
    incoming(&e, 3, BOT_NUMBER, "srv-live", &a);
    assert_int_equal(a.status, 200);
    expect_no_request(&e, ":answer", 200);
    env_free(&e);
}

static void test_inbound_call(void **state)
{
    (void)state;
    env e;
    env_init(&e);
    answer a;
    answer_incoming(&e, "srv-call-1");
    int keys_before = acs_standin_key_fetches(e.acs);

    /* Forged, expired, for another resource, unsigned, wrong secret,
     * unknown call: all refused before anything happens. */
    assert_int_equal(callback_as(&e, e.callback, "CallConnected", NULL, ACS_TOKEN_FORGED), 401);
    assert_true(acs_standin_key_fetches(e.acs) > keys_before); /* the key set was fetched */
    assert_int_equal(callback_as(&e, e.callback, "CallConnected", NULL, ACS_TOKEN_EXPIRED), 401);
    assert_int_equal(callback_as(&e, e.callback, "CallConnected", NULL, ACS_TOKEN_WRONG_AUDIENCE),
                     401);
    char *ev = acs_standin_event("CallConnected", e.conn, NULL);
    post(&e, e.callback, ev, NULL, &a);
    assert_int_equal(a.status, 401);
    post(&e, e.callback, ev, "Bearer not.a.token", &a);
    assert_int_equal(a.status, 401);
    free(ev);
    char wrong[1024];
    snprintf(wrong, sizeof wrong, "%s", e.callback);
    char *s = strstr(wrong, "&s=");
    s[3] = s[3] == 'x' ? 'y' : 'x';
    assert_int_equal(callback_as(&e, wrong, "CallConnected", NULL, ACS_TOKEN_VALID), 401);
    assert_int_equal(callback_as(&e,
                                 "/acs/callback?call=00000000-0000-4000-8000-000000000000&s=abc",
                                 "CallConnected", NULL, ACS_TOKEN_VALID),
                     404);
    expect_no_request(&e, ":recognize", 100);
    /* Operators see the forgeries. */
    send_req(&e, "GET", "/metrics", NULL, "Authorization", "Bearer api", &a);
    assert_int_equal(a.status, 200);
    if (!strstr(a.body,
                "ccai_webhooks_rejected_total{provider=\"acs\",reason=\"bearer_token\"} 5") ||
        !strstr(a.body,
                "ccai_webhooks_rejected_total{provider=\"acs\",reason=\"call_secret\"} 1") ||
        !strstr(a.body, "ccai_webhooks_rejected_total{provider=\"acs\",reason=\"unknown_call\"} 1"))
        fail_msg("metrics: %s", a.body);

    /* Connected: recording, then the language menu (4 languages). */
    callback(&e, "CallConnected", "{\"serverCallId\":\"srv-call-1\"}");
    int rec = expect_request(&e, "/calling/recordings");
    json_t *j = req_json(&e, rec);
    assert_string_equal(jstr(j, "callLocator.serverCallId"), "srv-call-1");
    assert_string_equal(jstr(j, "externalStorage.recordingDestinationContainerUrl"), CONTAINER);
    assert_string_equal(jstr(j, "recordingChannelType"), "unmixed");
    assert_non_null(strstr(jstr(j, "recordingStateCallbackUri"), "/acs/callback?call="));
    json_decref(j);
    int menu = expect_request(&e, ":recognize");
    j = req_json(&e, menu);
    assert_string_equal(jstr(j, "recognizeInputType"), "choices");
    assert_string_equal(opctx(j), "ccai:menu");
    json_t *choices = json_object_get(json_object_get(j, "recognizeOptions"), "choices");
    assert_int_equal(json_array_size(choices), 4);
    assert_string_equal(jstr(json_array_get(choices, 0), "label"), "fr-FR");
    assert_string_equal(jstr(json_array_get(choices, 0), "tone"), "one");
    assert_string_equal(jstr(json_array_get(choices, 1), "tone"), "two");
    const char *prompt = jstr(j, "playPrompt.ssml.ssmlText");
    assert_non_null(prompt);
    assert_non_null(strstr(prompt, "<speak"));
    /* Each language offers itself, in its own words and voice, in order. */
    const char *fr = strstr(prompt, "<voice name=\"fr-FR-VivienneMultilingualNeural\"");
    const char *en = strstr(prompt, "<voice name=\"en-US-ShimmerTurboMultilingualNeural\"");
    const char *es = strstr(prompt, "<voice name=\"es-ES-ArabellaMultilingualNeural\"");
    assert_true(fr && en && es && fr < en && en < es);
    assert_non_null(strstr(fr, "<lang xml:lang=\"fr-FR\">"));
    assert_true(strstr(fr, "apez 1") && strstr(fr, "apez 1") < en); /* "tapez 1", "Tapez 1" */
    assert_true(strstr(en, "English") && strstr(en, "English") < es);
    assert_non_null(strstr(es, "ulse 3"));      /* "pulse 3", "Pulse 3" */
    assert_non_null(strstr(prompt, "Chinese")); /* no translation: the English phrase */
    assert_string_equal(
        jstr(json_object_get(json_object_get(j, "recognizeOptions"), "targetParticipant"),
             "phoneNumber.value"),
        CALLER);
    json_decref(j);
    char *menu_state = stored_call(&e);
    assert_non_null(strstr(menu_state, "\"state\":\"language_menu\""));
    free(menu_state);
    /* The menu is not heard: asked again; then the caller presses 1. */
    callback(&e, "RecognizeFailed",
             "{\"operationContext\":\"ccai:menu\",\"resultInformation\":{\"code\":400,"
             "\"subCode\":8510,\"message\":\"Action failed, initial silence timeout reached.\"}}");
    j = req_json(&e, expect_request(&e, ":recognize"));
    assert_string_equal(jstr(j, "recognizeInputType"), "choices");
    json_decref(j);
    callback(&e, "RecognizeCompleted",
             "{\"operationContext\":\"ccai:menu\",\"recognitionType\":\"choices\","
             "\"choiceResult\":{\"label\":\"fr-FR\"},\"resultInformation\":{\"code\":200,"
             "\"subCode\":8531,\"message\":\"Action completed, max digits received.\"}}");

    /* The engine greets in French: the greeting is the prompt of a speech
     * recognition the caller may interrupt. */
    j = req_json(&e, expect_request(&e, ":recognize"));
    assert_string_equal(jstr(j, "recognizeInputType"), "speech");
    json_t *opts = json_object_get(j, "recognizeOptions");
    assert_string_equal(jstr(opts, "speechLanguage"), "fr-FR");
    assert_true(json_is_true(json_object_get(opts, "interruptPrompt")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(opts, "speechOptions"),
                                                        "endSilenceTimeoutInMs")),
                     1000);
    prompt = jstr(j, "playPrompt.ssml.ssmlText");
    assert_non_null(prompt);
    assert_non_null(strstr(prompt, "xml:lang=\"fr-FR\""));
    assert_non_null(strstr(prompt, "fr-FR-VivienneMultilingualNeural"));
    assert_non_null(strstr(prompt, "Bonjour")); /* the greeting in the language chosen */
    assert_non_null(strstr(prompt, "effect=\"eq_telecomhp8k\""));
    json_decref(j);
    char *json = stored_call(&e);
    assert_non_null(strstr(json, "\"lang\":\"fr-FR\""));
    assert_non_null(strstr(json, "\"channel\":\"acs\""));
    assert_non_null(strstr(json, "\"provider_call_id\":\"srv-call-1\""));
    free(json);

    /* A turn: the answer streams as plays, in order, then a bare
     * recognition listens. */
    standin_spec sp = STANDIN_SPEC_INIT;
    sp.content = "I am so sorry. Is anyone hurt? Tom & Jerry <are> fine.";
    sp.chunk_ms = 20;
    standin_push(e.llm, &sp);
    callback(&e, "RecognizeCompleted",
             "{\"operationContext\":\"ccai:listen\",\"recognitionType\":\"speech\","
             "\"speechResult\":{\"speech\":\"Ma voiture a été heurtée\",\"confidence\":0.91},"
             "\"resultInformation\":{\"code\":200,\"subCode\":8533}}");
    char said[4096] = "";
    int last_play = -1;
    for (;;) {
        int i = expect_request(&e, "");
        char *path = acs_standin_request_path(e.acs, i);
        bool play = strstr(path, ":play") != NULL, listen = strstr(path, ":recognize") != NULL;
        free(path);
        if (!play && !listen)
            continue;
        j = req_json(&e, i);
        if (listen) {
            assert_string_equal(jstr(j, "recognizeInputType"), "speech");
            assert_null(json_object_get(j, "playPrompt")); /* bare */
            json_decref(j);
            break;
        }
        const json_t *src = json_array_get(json_object_get(j, "playSources"), 0);
        const char *ssml = jstr(src, "ssml.ssmlText");
        assert_non_null(ssml);
        assert_string_equal(opctx(j), "ccai:talk");
        strncat(said, ssml, sizeof said - strlen(said) - 1);
        json_decref(j);
        last_play = i;
    }
    assert_true(last_play >= 0);
    char *sorry = strstr(said, "I am so sorry."), *hurt = strstr(said, "Is anyone hurt?");
    assert_non_null(sorry);
    assert_non_null(hurt);
    assert_true(sorry < hurt);
    assert_non_null(strstr(said, "Tom &amp; Jerry")); /* escaped */
    assert_null(strstr(said, "<are>"));               /* no markup from the LLM */
    callback(&e, "PlayCompleted", "{\"operationContext\":\"ccai:talk\"}");

    /* Barge-in: the caller speaks while answers still play: what plays is
     * cancelled. */
    sp = (standin_spec)STANDIN_SPEC_INIT;
    sp.content = "Let me check your contract. It covers accidents. It also covers theft.";
    sp.chunk_ms = 20;
    standin_push(e.llm, &sp);
    callback(&e, "RecognizeCompleted",
             "{\"recognitionType\":\"speech\",\"speechResult\":{\"speech\":\"What does my "
             "contract cover?\"}}");
    expect_request(&e, ":play");
    sp = (standin_spec)STANDIN_SPEC_INIT;
    sp.content = "Of course, I will wait.";
    standin_push(e.llm, &sp);
    callback(&e, "RecognizeCompleted",
             "{\"recognitionType\":\"speech\",\"speechResult\":{\"speech\":\"Wait, one "
             "moment\"}}");
    int cancel = expect_request(&e, ":cancelAllMediaOperations");
    callback(&e, "PlayCanceled", "{\"operationContext\":\"ccai:talk#0\"}"); /* stale */
    /* The new answer goes out after the cancel, never before it. */
    int later = -1;
    for (;;) {
        int k = expect_request(&e, ":play");
        char *b = acs_standin_request_body(e.acs, k);
        bool mine = strstr(b, "Of course, I will wait.") != NULL;
        free(b);
        if (mine) {
            later = k;
            break;
        }
    }
    assert_true(later > cancel);
    expect_request(&e, ":recognize");

    /* An SMS during the call goes to the conversation. */
    const char *sms =
        "[{\"id\":\"sms-1\",\"topic\":\"/subscriptions/x\",\"subject\":\"/phonenumber/"
        "15550002222\",\"data\":{\"MessageId\":\"Incoming_1\",\"From\":\"33612345678\","
        "\"To\":\"15550002222\",\"Message\":\"My policy number is P-77\","
        "\"ReceivedTimestamp\":\"2026-11-25T10:01:00Z\"},\"eventType\":"
        "\"Microsoft.Communication.SMSReceived\",\"dataVersion\":\"1.0\","
        "\"metadataVersion\":\"1\",\"eventTime\":\"2026-11-25T10:01:00Z\"}]";
    event_grid(&e, sms, &a);
    assert_int_equal(a.status, 200);
    json = stored_call(&e);
    assert_non_null(strstr(json, "P-77"));
    free(json);

    /* The caller asks for a human: the announcement plays first, then the
     * transfer; it fails: apology, goodbye, hang up. */
    push_tool_call(&e, "t1", "talk_to_human", "{}");
    callback(&e, "RecognizeCompleted",
             "{\"recognitionType\":\"speech\",\"speechResult\":{\"speech\":\"I want to talk to "
             "a person\"}}");
    int i = expect_request(&e, ":play");
    j = req_json(&e, i);
    char ctx[64];
    snprintf(ctx, sizeof ctx, "%s", opctx(j));
    while (strcmp(ctx, "ccai:transfer") != 0) { /* the last play carries the transfer */
        json_decref(j);
        j = req_json(&e, expect_request(&e, ":play"));
        snprintf(ctx, sizeof ctx, "%s", opctx(j));
    }
    json_decref(j);
    expect_no_request(&e, ":transferToParticipant", 150);
    callback(&e, "PlayCompleted", "{\"operationContext\":\"ccai:transfer\"}");
    j = req_json(&e, expect_request(&e, ":transferToParticipant"));
    assert_string_equal(jstr(j, "targetParticipant.phoneNumber.value"), AGENT);
    assert_string_equal(jstr(j, "sourceCallerIdNumber.value"), BOT_NUMBER);
    json_decref(j);
    callback(&e, "CallTransferFailed",
             "{\"operationContext\":\"ccai:transfer\",\"resultInformation\":{\"code\":500,"
             "\"subCode\":7000,\"message\":\"Call transfer failed: not answered.\"}}");
    j = req_json(&e, expect_request(&e, ":play"));
    snprintf(ctx, sizeof ctx, "%s", opctx(j));
    while (strcmp(ctx, "ccai:goodbye") != 0) {
        json_decref(j);
        j = req_json(&e, expect_request(&e, ":play"));
        snprintf(ctx, sizeof ctx, "%s", opctx(j));
    }
    json_decref(j);
    expect_no_request(&e, ":terminate", 150); /* the goodbye is heard first */
    callback(&e, "PlayCompleted", "{\"operationContext\":\"ccai:talk\"}");
    callback(&e, "PlayCompleted", "{\"operationContext\":\"ccai:goodbye\"}");
    expect_request(&e, ":terminate");
    await_ended(&e, CALLER);
    /* ACS then reports the end; late events of an ended call are fine. */
    callback(&e, "CallDisconnected", NULL);
    json = stored_call(&e);
    assert_non_null(strstr(json, "\"in_progress\":false"));
    assert_non_null(strstr(json, "Call back the customer"));
    assert_non_null(strstr(json, "Ma voiture a \\u00E9t\\u00E9 heurt\\u00E9e"));
    free(json);

    /* The recording is stored: Event Grid names the call in the subject. */
    const char *stored =
        "[{\"id\":\"rec-1\",\"topic\":\"/subscriptions/x\",\"subject\":\"/recording/call/"
        "c-1/serverCallId/srv-call-1\",\"data\":{\"recordingStorageInfo\":{\"recordingChunks\":"
        "[{\"documentId\":\"0-eus-d1\",\"index\":0,\"endReason\":\"SessionEnded\","
        "\"contentLocation\":\"https://storage.asm.skype.com/v1/objects/0-eus-d1/content/"
        "audio\"}]},\"recordingStartTime\":\"2026-11-25T10:00:05Z\",\"recordingDurationMs\":"
        "42000,\"sessionEndReason\":\"CallEnded\"},\"eventType\":\"Microsoft.Communication."
        "RecordingFileStatusUpdated\",\"dataVersion\":\"1.0\",\"metadataVersion\":\"1\","
        "\"eventTime\":\"2026-11-25T10:02:00Z\"}]";
    event_grid(&e, stored, &a);
    assert_int_equal(a.status, 200);
    json = stored_call(&e);
    assert_non_null(
        strstr(json, "\"recording_url\":\"https://storage.asm.skype.com/v1/objects/0-eus-d1"));
    free(json);

    /* The post-call report goes out by SMS through ACS. */
    uint64_t until = ccai_time_ms() + 20000;
    bool sent = false;
    while (!sent && ccai_time_ms() < until) {
        ccai_poll_run_once(e.poll, 50);
        for (int k = 0; k < acs_standin_request_count(e.acs) && !sent; k++) {
            char *p = acs_standin_request_path(e.acs, k);
            if (p && strcmp(p, "/sms") == 0) {
                json_t *b = req_json(&e, k);
                const json_t *r = json_array_get(json_object_get(b, "smsRecipients"), 0);
                sent = !strcmp(jstr(r, "to"), CALLER) && !strcmp(jstr(b, "from"), BOT_NUMBER);
                json_decref(b);
            }
            free(p);
        }
    }
    assert_true(sent);
    env_free(&e);
}

/* POST /call with telephony communication_services; one language (no
 * menu); the caller stays silent, then goodbye. */
static void test_outbound_silence(void **state)
{
    (void)state;
    env e;
    env_init(&e);
    answer a;
    const char *body =
        "{\"phone_number\":\"" CALLER "\",\"telephony\":\"communication_services\","
        "\"bot_name\":\"Amélie\",\"lang\":{\"default_short_code\":\"en-US\",\"availables\":"
        "[{\"short_code\":\"en-US\",\"voice\":\"en-US-AvaNeural\",\"pronunciations_en\":"
        "[\"English\"]}]}}";
    post(&e, "/call", body, "Bearer api", &a);
    assert_int_equal(a.status, 201);
    assert_non_null(strstr(a.body, "\"channel\":\"acs\""));
    int i = expect_request(&e, "/calling/callConnections");
    json_t *j = req_json(&e, i);
    const json_t *target = json_array_get(json_object_get(j, "targets"), 0);
    assert_string_equal(jstr(target, "phoneNumber.value"), CALLER);
    assert_string_equal(jstr(j, "sourceCallerIdNumber.value"), BOT_NUMBER);
    snprintf(e.callback, sizeof e.callback, "%s", local(jstr(j, "callbackUri")));
    json_decref(j);
    char *conn = acs_standin_request_created(e.acs, i);
    snprintf(e.conn, sizeof e.conn, "%s", conn);
    free(conn);
    /* Unknown telephony: a clear 400. */
    post(&e, "/call", "{\"phone_number\":\"" CALLER "\",\"telephony\":\"pigeon\"}", "Bearer api",
         &a);
    assert_int_equal(a.status, 400);

    callback(&e, "CallConnected", NULL);
    j = req_json(&e, expect_request(&e, ":recognize")); /* greeting, no menu */
    assert_string_equal(jstr(j, "recognizeInputType"), "speech");
    assert_non_null(strstr(jstr(j, "playPrompt.ssml.ssmlText"), "en-US-AvaNeural"));
    json_decref(j);
    /* Silence: the silence phrase, with a recognition. */
    const char *silent = "{\"resultInformation\":{\"code\":400,\"subCode\":8510,"
                         "\"message\":\"Action failed, initial silence timeout reached.\"}}";
    callback(&e, "RecognizeFailed", silent);
    j = req_json(&e, expect_request(&e, ":recognize"));
    assert_non_null(json_object_get(j, "playPrompt"));
    json_decref(j);
    /* A failure that is not silence (the prompt could not play): the
     * error phrase, listening again. */
    callback(&e, "RecognizeFailed",
             "{\"resultInformation\":{\"code\":400,\"subCode\":8511,"
             "\"message\":\"Action failed, encountered failure while trying to play the "
             "prompt.\"}}");
    j = req_json(&e, expect_request(&e, ":recognize"));
    assert_non_null(json_object_get(j, "playPrompt"));
    json_decref(j);
    callback(&e, "RecognizeFailed", silent);
    expect_request(&e, ":recognize");
    callback(&e, "RecognizeFailed", silent);
    /* Beyond the retries: goodbye, then the call ends. */
    j = req_json(&e, expect_request(&e, ":play"));
    assert_string_equal(opctx(j), "ccai:goodbye");
    json_decref(j);
    callback(&e, "PlayCompleted", "{\"operationContext\":\"ccai:goodbye\"}");
    expect_request(&e, ":terminate");
    await_ended(&e, CALLER);
    env_free(&e);
}

/* The value of "key":"..." in a JSON text (a short string), or "". */
static const char *json_text_field(const char *json, const char *key, char *out, size_t len)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *v = strstr(json, pat);
    out[0] = '\0';
    if (v)
        snprintf(out, len, "%.*s", (int)strcspn(v + strlen(pat), "\""), v + strlen(pat));
    return out;
}

#define RECORDING_EVENT_FMT                                                                  \
    "[{\"id\":\"7283825e-f8f1-4c61-a9ea-752c56890500\",\"topic\":\"/subscriptions/s/"        \
    "resourcegroups/g/providers/microsoft.communication/communicationservices/r\","          \
    "\"subject\":\"/recording/call/%s/recordingId/%s\",\"data\":{\"recordingStorageInfo\":"  \
    "{\"recordingChunks\":[{\"documentId\":\"0-eus-d12-801b3f3fc462fe8a01e6810cbff729b8\","  \
    "\"index\":0,\"endReason\":\"SessionEnded\",\"contentLocation\":\"https://"              \
    "storage.asm.skype.com/v1/objects/0-eus-d12-801b3f3fc462fe8a01e6810cbff729b8/content/"   \
    "audio\",\"metadataLocation\":\"https://storage.asm.skype.com/v1/objects/"               \
    "0-eus-d12-801b3f3fc462fe8a01e6810cbff729b8/content/acsmetadata\",\"deleteLocation\":"   \
    "\"https://storage.asm.skype.com/v1/objects/0-eus-d12-801b3f3fc462fe8a01e6810cbff729b8/" \
    "content/deletedata\"}]},\"recordingStartTime\":\"2026-11-25T10:00:05.6089755Z\","       \
    "\"recordingDurationMs\":6620,\"sessionEndReason\":\"CallEnded\","                       \
    "\"recordingContentType\":\"Audio\",\"recordingChannelType\":\"Unmixed\","               \
    "\"recordingFormatType\":\"Wav\"},\"eventType\":\"Microsoft.Communication."              \
    "RecordingFileStatusUpdated\",\"dataVersion\":\"1.0\",\"metadataVersion\":\"1\","        \
    "\"eventTime\":\"2026-11-25T10:02:00.2199328Z\"}]"

/* ACS stores the recording once the call is over: RecordingFileStatusUpdated
 * comes through Event Grid after CallDisconnected and names the call in its
 * subject by the correlationId (and the recording id), without any
 * serverCallId, as in the event schema's example
 * ("/recording/call/{call-id}/recordingId/{recording-id}"). */
static void test_recording_after_the_call(void **state)
{
    (void)state;
    const char *const one_lang[][2] = {{"conversation.initiate.lang", ONE_LANG}};
    env e;
    env_init_with(&e, one_lang, 1);
    answer_incoming(&e, "srv-rec"); /* IncomingCall with correlationId corr-1 */
    callback(&e, "CallConnected", "{\"serverCallId\":\"srv-rec\",\"correlationId\":\"corr-1\"}");
    expect_request(&e, "/calling/recordings");
    expect_request(&e, ":recognize"); /* the greeting listens */
    callback(&e, "CallDisconnected", "{\"serverCallId\":\"srv-rec\",\"correlationId\":\"corr-1\"}");
    await_ended(&e, CALLER);
    /* What ACS answered on start, maybe after the call's end. */
    char *json = NULL;
    char rec[96] = "";
    for (int k = 0; k < 1000 && strncmp(rec, "rec-", 4) != 0; k++) { /* 20 s at most */
        if (k)
            ccai_poll_run_once(e.poll, 20);
        free(json);
        json = stored_call(&e);
        json_text_field(json, "recording_id", rec, sizeof rec);
    }
    assert_int_equal(strncmp(rec, "rec-", 4), 0);
    assert_non_null(strstr(json, "\"recording_url\":null"));
    free(json);

    char body[2048];
    answer a;
    /* A recording of a call nobody here knows: acknowledged, nothing kept. */
    snprintf(body, sizeof body, RECORDING_EVENT_FMT, "corr-unknown", "rec-x");
    event_grid(&e, body, &a);
    assert_int_equal(a.status, 200);
    snprintf(body, sizeof body, RECORDING_EVENT_FMT, "corr-1", rec);
    event_grid(&e, body, &a);
    assert_int_equal(a.status, 200);
    json = stored_call(&e);
    assert_non_null(strstr(json, "\"recording_url\":\"https://storage.asm.skype.com/v1/objects/"
                                 "0-eus-d12-801b3f3fc462fe8a01e6810cbff729b8/content/audio\""));
    char got[96];
    assert_string_equal(json_text_field(json, "recording_id", got, sizeof got), rec);
    assert_non_null(strstr(json, "\"recording_duration_ms\":6620"));
    assert_non_null(strstr(json, "\"end_reason\":\"disconnected\""));
    free(json);
    env_free(&e);
}

/* The call is gone on ACS's side (404 on a media request), and a key
 * server that cannot be reached: 503 so that ACS delivers again. */
static void test_faults(void **state)
{
    (void)state;
    char openid[128];
    snprintf(openid, sizeof openid, "http://127.0.0.1:1/none");
    const char *const extra[][2] = {{"communication_services.openid_config_url", openid}};
    env e;
    env_init_with(&e, extra, 1);
    answer_incoming(&e, "srv-fault");
    assert_int_equal(callback_as(&e, e.callback, "CallConnected", NULL, ACS_TOKEN_VALID), 503);
    env_free(&e);

    const char *const no_rec[][2] = {{"conversation.recording_enabled", "false"}};
    env_init_with(&e, no_rec, 1);
    answer_incoming(&e, "srv-gone");
    /* The menu's recognition finds the call gone: the call ends. */
    acs_standin_fault f = {.status = 404, .code = "8522", .message = "Call not found."};
    acs_standin_push_fault(e.acs, &f);
    callback(&e, "CallConnected", "{\"serverCallId\":\"srv-gone\"}");
    await_ended(&e, CALLER);
    env_free(&e);
}

/* Keys, a failed play, a transfer the agent takes; an outbound call ACS
 * cannot complete. */
static void test_dtmf_transfer_accepted(void **state)
{
    (void)state;
    const char *const one_lang[][2] = {
        {"conversation.initiate.lang", ONE_LANG},
        {"conversation.recording_enabled", "false"},
        {"communication_services.lexicon_url", "https://cdn.example.test/words.pls"},
    };
    env e;
    env_init_with(&e, one_lang, 3);
    answer_incoming(&e, "srv-dtmf");
    callback(&e, "CallConnected", "{\"serverCallId\":\"srv-dtmf\"}");
    json_t *j = req_json(&e, expect_request(&e, ":recognize")); /* one language: no menu */
    assert_string_equal(jstr(j, "recognizeInputType"), "speech");
    assert_non_null(strstr(jstr(j, "playPrompt.ssml.ssmlText"),
                           "<lexicon uri=\"https://cdn.example.test/words.pls\"/>"));
    json_decref(j);
    /* Keys are the caller's words too. */
    standin_spec sp = STANDIN_SPEC_INIT;
    sp.content = "Thank you, I have noted 42.";
    standin_push(e.llm, &sp);
    callback(&e, "RecognizeCompleted",
             "{\"recognitionType\":\"dtmf\",\"dtmfResult\":{\"tones\":[\"four\",\"two\","
             "\"pound\"]}}");
    expect_request(&e, ":play");
    expect_request(&e, ":recognize");
    char *json = stored_call(&e);
    assert_non_null(strstr(json, "\"action\":\"dtmf\""));
    assert_non_null(strstr(json, "42#"));
    free(json);
    /* The LLM sends an SMS: it goes out through ACS's SMS API. */
    push_tool_call(&e, "m1", "send_sms", "{\"message\":\"Your claim number is C-42.\"}");
    sp = (standin_spec)STANDIN_SPEC_INIT;
    sp.content = "I have sent you the claim number by SMS.";
    standin_push(e.llm, &sp);
    callback(&e, "RecognizeCompleted",
             "{\"recognitionType\":\"speech\",\"speechResult\":{\"speech\":\"Text me the "
             "number please\"}}");
    j = req_json(&e, expect_request(&e, "/sms"));
    assert_string_equal(jstr(j, "message"), "Your claim number is C-42.");
    assert_string_equal(jstr(json_array_get(json_object_get(j, "smsRecipients"), 0), "to"), CALLER);
    /* ACS is asked for the delivery report, tagged with our reference. */
    assert_true(json_is_true(
        json_object_get(json_object_get(j, "smsSendOptions"), "enableDeliveryReport")));
    char tag[32];
    snprintf(tag, sizeof tag, "%s", jstr(j, "smsSendOptions.tag"));
    json_decref(j);
    expect_request(&e, ":recognize");
    /* ACS's report comes through Event Grid: the message failed. */
    char mid[128] = "";
    for (int k = 0; k < 200 && !stored_member(&e, "message_id", mid, sizeof mid); k++)
        ccai_poll_run_once(e.poll, 20);
    assert_true(*mid);
    char report[2048];
    snprintf(report, sizeof report,
             "[{\"id\":\"dr-1\",\"topic\":\"/subscriptions/x/resourceGroups/y/providers/"
             "Microsoft.Communication/communicationServices/z\",\"subject\":\"/phonenumber/"
             "%s\",\"eventType\":\"Microsoft.Communication.SMSDeliveryReportReceived\","
             "\"eventTime\":\"2026-11-25T10:00:05Z\",\"dataVersion\":\"1.0\","
             "\"metadataVersion\":\"1\",\"data\":{\"messageId\":\"%s\",\"from\":\"%s\","
             "\"to\":\"%s\",\"deliveryStatus\":\"Failed\",\"deliveryStatusDetails\":"
             "\"No route to the destination.\",\"deliveryAttempts\":[{\"timestamp\":"
             "\"2026-11-25T10:00:04Z\",\"segmentsSucceeded\":0,\"segmentsFailed\":1}],"
             "\"receivedTimestamp\":\"2026-11-25T10:00:05Z\",\"tag\":\"%s\"}}]",
             BOT_NUMBER + 1, mid, BOT_NUMBER + 1, CALLER, tag);
    answer dr;
    event_grid(&e, report, &dr);
    assert_int_equal(dr.status, 200);
    json = stored_call(&e);
    assert_non_null(strstr(json, "\"delivery\":{\"status\":\"failed\""));
    assert_non_null(strstr(json, "No route to the destination."));
    free(json);
    /* A play that fails is logged; the call goes on. */
    callback(&e, "PlayFailed",
             "{\"operationContext\":\"ccai:talk\",\"resultInformation\":{\"code\":500,"
             "\"subCode\":8536,\"message\":\"Action failed, file could not be downloaded.\"}}");
    /* The agent takes the transfer: the call is over for the bot. */
    push_tool_call(&e, "t2", "talk_to_human", "{}");
    callback(&e, "RecognizeCompleted",
             "{\"recognitionType\":\"speech\",\"speechResult\":{\"speech\":\"An agent "
             "please\"}}");
    expect_request(&e, ":play");
    callback(&e, "PlayCompleted", "{\"operationContext\":\"ccai:transfer\"}");
    expect_request(&e, ":transferToParticipant");
    callback(&e, "CallTransferAccepted",
             "{\"operationContext\":\"ccai:transfer\",\"transferTarget\":{\"kind\":"
             "\"phoneNumber\",\"rawId\":\"4:" AGENT "\",\"phoneNumber\":{\"value\":\"" AGENT
             "\"}}}");
    callback(&e, "CallDisconnected", NULL);
    json = stored_call(&e);
    assert_non_null(strstr(json, "\"in_progress\":false"));
    assert_non_null(strstr(json, "\"action\":\"transfer\""));
    free(json);
    expect_no_request(&e, ":terminate", 100); /* ACS moved the caller; nothing to hang up */

    /* ACS accepts the create request, then cannot reach the callee. */
    answer a;
    post(&e, "/call", "{\"phone_number\":\"+33699999999\",\"telephony\":\"acs\"}", "Bearer api",
         &a);
    assert_int_equal(a.status, 201);
    int created = expect_request(&e, "/calling/callConnections");
    j = req_json(&e, created);
    snprintf(e.callback, sizeof e.callback, "%s", local(jstr(j, "callbackUri")));
    json_decref(j);
    /* Once ACS's reply named the connection (the call's serverCallId is
     * stored then), events naming another one are not this call's. */
    char *one = NULL;
    for (int k = 0; k < 500; k++) {
        assert_int_equal(ccai_ctx_call_find_json(e.ctx, "+33699999999", 0, &one), CCAI_OK);
        bool known = strstr(one, "\"provider_call_id\":\"") != NULL;
        ccai_free(one);
        if (known)
            break;
        ccai_poll_run_once(e.poll, 10);
    }
    snprintf(e.conn, sizeof e.conn, "%s", "some-earlier-connection");
    callback(&e, "CreateCallFailed", NULL);
    assert_int_equal(ccai_ctx_call_find_json(e.ctx, "+33699999999", 0, &one), CCAI_OK);
    assert_non_null(strstr(one, "\"in_progress\":true"));
    ccai_free(one);
    char *conn = acs_standin_request_created(e.acs, created);
    snprintf(e.conn, sizeof e.conn, "%s", conn);
    free(conn);
    callback(&e, "CreateCallFailed",
             "{\"resultInformation\":{\"code\":408,\"subCode\":8501,\"message\":\"Action "
             "failed, the callee did not answer.\"}}");
    assert_int_equal(ccai_ctx_call_find_json(e.ctx, "+33699999999", 0, &one), CCAI_OK);
    assert_non_null(strstr(one, "\"in_progress\":false"));
    assert_non_null(strstr(one, "CreateCallFailed"));
    ccai_free(one);
    env_free(&e);
}

/* Nobody chooses a language: asked again, then goodbye and the call ends.
 * The same caller ringing again while we think they are on the line: that
 * call is over, the new one is answered. */
static void test_menu_unanswered(void **state)
{
    (void)state;
    env e;
    env_init(&e); /* 4 languages, recognition_retry_max 2 */
    answer_incoming(&e, "srv-menu");
    callback(&e, "CallConnected", "{\"serverCallId\":\"srv-menu\"}");
    expect_request(&e, ":recognize");
    const char *silent = "{\"operationContext\":\"ccai:menu#0\",\"resultInformation\":{"
                         "\"code\":400,\"subCode\":8510}}";
    callback(&e, "RecognizeFailed", silent);
    json_t *j = req_json(&e, expect_request(&e, ":recognize"));
    assert_string_equal(opctx(j), "ccai:menu");
    json_decref(j);
    callback(&e, "RecognizeFailed", silent);
    j = req_json(&e, expect_request(&e, ":play"));
    assert_string_equal(opctx(j), "ccai:goodbye");
    json_decref(j);
    expect_no_request(&e, ":terminate", 100);
    callback(&e, "PlayCompleted", "{\"operationContext\":\"ccai:goodbye#0\"}");
    expect_request(&e, ":terminate");
    await_ended(&e, CALLER);

    /* Rings again, and again while that call is live. */
    answer a;
    incoming(&e, 8, BOT_NUMBER, "srv-menu-2", &a);
    int first = expect_request(&e, ":answer");
    char *conn = acs_standin_request_created(e.acs, first);
    snprintf(e.conn, sizeof e.conn, "%s", conn);
    free(conn);
    /* It connects: its connection is known from here on. */
    callback(&e, "CallConnected", "{\"serverCallId\":\"srv-menu-2\"}");
    incoming(&e, 9, BOT_NUMBER, "srv-menu-3", &a);
    /* The old connection is hung up, should it still be up; the new call is
     * answered. */
    char old_terminate[256];
    snprintf(old_terminate, sizeof old_terminate, "%s:terminate", e.conn);
    int seen = e.seen;
    expect_request(&e, old_terminate);
    e.seen = seen;
    int second = expect_request(&e, ":answer");
    char *json = stored_call(&e);
    assert_non_null(strstr(json, "the caller rang again"));
    free(json);
    /* A late event of the old connection does not end the new call. */
    callback(&e, "CallDisconnected", "{\"serverCallId\":\"srv-menu-2\"}");
    json = stored_call(&e);
    assert_non_null(strstr(json, "\"in_progress\":true"));
    free(json);
    conn = acs_standin_request_created(e.acs, second);
    snprintf(e.conn, sizeof e.conn, "%s", conn);
    free(conn);
    callback(&e, "CallConnected", "{\"serverCallId\":\"srv-menu-3\"}");
    char menu[256];
    snprintf(menu, sizeof menu, "%s:recognize", e.conn);
    expect_request(&e, menu);
    env_free(&e);
}

/* ACS is slow to take the first answer (503, then a retry); the caller
 * rings again meanwhile. The late reply to the first answer neither steals
 * the new call's connection nor leaves that connection up. */
static void test_answer_race(void **state)
{
    (void)state;
    env e;
    env_init(&e);
    acs_standin_fault f = {.status = 503, .code = "ServiceUnavailable", .retry_after = 1};
    acs_standin_push_fault(e.acs, &f);
    answer a;
    incoming(&e, 1, BOT_NUMBER, "srv-r1", &a);
    /* The refused answer is logged once it was replied to. */
    for (int k = 0; k < 2000 && acs_standin_request_status(e.acs, 0) != 503; k++)
        ccai_poll_run_once(e.poll, 10);
    assert_int_equal(acs_standin_request_status(e.acs, 0), 503);
    e.seen = acs_standin_request_count(e.acs); /* past the refused one */
    incoming(&e, 2, BOT_NUMBER, "srv-r2", &a);
    int i = expect_request(&e, ":answer");
    json_t *j = req_json(&e, i);
    snprintf(e.callback, sizeof e.callback, "%s", local(jstr(j, "callbackUri")));
    bool second = strcmp(jstr(j, "incomingCallContext"), "eyJhbGciOi.ctx2") == 0;
    json_decref(j);
    if (!second) { /* the first answer's retry came first: take the next */
        i = expect_request(&e, ":answer");
        j = req_json(&e, i);
        assert_string_equal(jstr(j, "incomingCallContext"), "eyJhbGciOi.ctx2");
        json_decref(j);
    }
    char *conn = acs_standin_request_created(e.acs, i);
    snprintf(e.conn, sizeof e.conn, "%s", conn);
    free(conn);
    /* The first answer's retry succeeds after a second: that connection is
     * hung up. */
    int retried = -1;
    for (int k = 0; k < 2000 && retried < 0; k++) { /* 20 s at most */
        ccai_poll_run_once(e.poll, 10);
        for (int r = 0; r < acs_standin_request_count(e.acs); r++) {
            char *body = acs_standin_request_body(e.acs, r);
            char *created = acs_standin_request_created(e.acs, r);
            if (created && body && strstr(body, "eyJhbGciOi.ctx1"))
                retried = r;
            free(body);
            free(created);
        }
    }
    assert_true(retried >= 0);
    char *old = acs_standin_request_created(e.acs, retried);
    char old_terminate[256];
    snprintf(old_terminate, sizeof old_terminate, "%s:terminate", old);
    free(old);
    expect_request(&e, old_terminate);
    /* The new call goes on, on its own connection. */
    callback(&e, "CallConnected", "{\"serverCallId\":\"srv-r2\"}");
    char menu[256];
    snprintf(menu, sizeof menu, "%s:recognize", e.conn);
    expect_request(&e, menu);
    env_free(&e);
}

/* What ACS is asked to say: the style of the sentence, the rate the caller
 * asked for, the lexicon, and a long sentence cut under the 400-character
 * limit of text to speech. */
static void test_ssml(void **state)
{
    (void)state;
    const char *const extra[][2] = {
        {"conversation.initiate.lang", ONE_LANG},
        {"conversation.recording_enabled", "false"},
        {"conversation.lexicon", "[{\"grapheme\":\"ACS\",\"alias\":\"Azure Communication "
                                 "Services\"}]"},
    };
    env e;
    env_init_with(&e, extra, 3);
    /* The lexicon is served for the voice service to fetch. */
    answer lex;
    send_req(&e, "GET", "/lexicon.xml?lang=en-US", NULL, NULL, NULL, &lex);
    assert_int_equal(lex.status, 200);
    assert_non_null(strstr(lex.body, "<grapheme>ACS</grapheme><alias>Azure Communication "
                                     "Services</alias>"));
    answer_incoming(&e, "srv-ssml");
    callback(&e, "CallConnected", NULL);
    json_t *j = req_json(&e, expect_request(&e, ":recognize"));
    const char *ssml = jstr(j, "playPrompt.ssml.ssmlText");
    assert_non_null(
        strstr(ssml, "<lexicon uri=\"https://bot.example.test/lexicon.xml?lang=en-US\"/>"));
    assert_non_null(strstr(ssml, "<prosody rate=\"+0%\">"));
    json_decref(j);

    /* The caller asks to slow down: the LLM calls speech_speed, then speaks
     * sadly, at length. */
    push_tool_call(&e, "s1", "speech_speed", "{\"speed\":0.8}");
    static char long_text[2048];
    snprintf(long_text, sizeof long_text, "style=sad I am sorry, %s and that is all.",
             "the water damaged the kitchen floor, the living room carpet, the wooden stairs, "
             "the cellar walls, the boiler, two sofas, a bookcase full of old paper books, the "
             "television cabinet, a rug from the grandparents, the dining table and its six "
             "chairs, the curtains of the veranda, the children's toys and the laundry room, "
             "and the insurer will want photographs, invoices and a written statement of what "
             "happened, when it started and who noticed it first");
    standin_spec sp = STANDIN_SPEC_INIT;
    sp.content = long_text;
    standin_push(e.llm, &sp);
    callback(&e, "RecognizeCompleted",
             "{\"recognitionType\":\"speech\",\"speechResult\":{\"speech\":\"Please speak "
             "slower, the water is everywhere\"}}");
    int plays = 0;
    bool sad = false;
    for (;;) {
        int k = expect_request(&e, "");
        char *path = acs_standin_request_path(e.acs, k);
        bool play = strstr(path, ":play") != NULL, listen = strstr(path, ":recognize") != NULL;
        free(path);
        if (listen)
            break;
        if (!play)
            continue;
        j = req_json(&e, k);
        ssml = jstr(json_array_get(json_object_get(j, "playSources"), 0), "ssml.ssmlText");
        if (strstr(ssml, "the water damaged")) {
            plays++;
            sad = sad || strstr(ssml, "<mstts:express-as style=\"sad\"") != NULL;
            assert_non_null(strstr(ssml, "<prosody rate=\"-20%\">"));
            const char *text = strstr(ssml, "<prosody");
            text = strchr(text, '>') + 1;
            assert_true(strstr(text, "</prosody>") - text < 400);
        } else if (plays) {
            assert_non_null(strstr(ssml, "<prosody rate=\"-20%\">"));
            plays++;
        }
        json_decref(j);
    }
    assert_true(plays >= 2); /* cut under the limit */
    assert_true(sad);
    env_free(&e);
}

/* ACS refuses a transfer while another process (the real sqlite3 shell)
 * holds the database's write lock: the failure cannot be stored when it
 * comes back, so the channel keeps it and hands it again once the lock is
 * gone; the bot then apologises (the failure was lost before, and the
 * caller left in silence). */
static void test_transfer_failure_waits_for_a_lock(void **state)
{
    (void)state;
    char dir[] = "/tmp/ccai-acs-lock-XXXXXX", path[96];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/db.sqlite", dir);
    const char *const extra[][2] = {
        {"conversation.initiate.lang", ONE_LANG},
        {"conversation.recording_enabled", "false"},
        {"database.sqlite.path", path},
    };
    env e;
    env_init_with(&e, extra, 3);
    answer_incoming(&e, "srv-lock");
    callback(&e, "CallConnected", NULL);
    json_decref(req_json(&e, expect_request(&e, ":recognize"))); /* the greeting */
    push_tool_call(&e, "t1", "talk_to_human", "{}");
    callback(&e, "RecognizeCompleted",
             "{\"recognitionType\":\"speech\",\"speechResult\":{\"speech\":\"An agent "
             "please\"}}");
    expect_request(&e, ":play");
    /* ACS takes its time, then refuses the transfer. */
    acs_standin_fault f = {.status = 400, .message = "Invalid transfer target.", .delay_ms = 1500};
    acs_standin_push_fault(e.acs, &f);
    callback(&e, "PlayCompleted", "{\"operationContext\":\"ccai:transfer\"}");
    db_lock lock;
    assert_int_equal(db_lock_take(&lock, path), 0);
    expect_no_request(&e, ":play", 2500); /* refused meanwhile: kept, nothing said */
    bool refused = false;
    for (int i = e.seen; i < acs_standin_request_count(e.acs); i++) {
        char *p = acs_standin_request_path(e.acs, i);
        refused = refused || (strstr(p, ":transferToParticipant") &&
                              acs_standin_request_status(e.acs, i) == 400);
        free(p);
    }
    assert_true(refused);
    char *json = stored_call(&e);
    assert_null(strstr(json, "The transfer to a human agent failed"));
    free(json);
    assert_true(db_lock_held(path));
    assert_int_equal(db_lock_release(&lock), 0);

    /* The engine hears it now: the bot apologises, a call back is due. */
    expect_request(&e, ":play");
    json = stored_call(&e);
    assert_non_null(strstr(json, "The transfer to a human agent failed"));
    free(json);
    env_free(&e);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* A callback over ACS: scheduled in a call, placed through Call
 * Automation at its time, the same call resumed with why we call. */
static void test_callback(void **state)
{
    (void)state;
    const char *const one_lang[][2] = {
        {"conversation.initiate.lang", ONE_LANG},
        {"conversation.recording_enabled", "false"},
    };
    env e;
    env_init_with(&e, one_lang, 2);
    answer_incoming(&e, "srv-cb");
    callback(&e, "CallConnected", "{\"serverCallId\":\"srv-cb\"}");
    expect_request(&e, ":recognize");
    char when[40], args[256];
    time_t t = time(NULL) + 2;
    struct tm u;
    gmtime_r(&t, &u);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &u);
    snprintf(args, sizeof args,
             "{\"date_time\":\"%s\",\"reason\":\"the visit of the expert\","
             "\"customer_response\":\"I will call you back.\"}",
             when);
    push_tool_call(&e, "c1", "schedule_callback", args);
    standin_spec sp = STANDIN_SPEC_INIT;
    sp.content = "Talk to you soon.";
    standin_push(e.llm, &sp);
    callback(&e, "RecognizeCompleted",
             "{\"recognitionType\":\"speech\",\"speechResult\":{\"speech\":\"Call me "
             "back in a moment\"}}");
    expect_request(&e, ":recognize");
    callback(&e, "CallDisconnected", NULL);
    await_ended(&e, CALLER);
    char before[1024];
    snprintf(before, sizeof before, "%s", e.callback);

    /* Due: ACS is asked to create the call, to the caller, for the same
     * call (its callback URL names it). */
    int i = expect_request(&e, "/calling/callConnections");
    json_t *j = req_json(&e, i);
    const json_t *target = json_array_get(json_object_get(j, "targets"), 0);
    assert_string_equal(jstr(target, "phoneNumber.value"), CALLER);
    snprintf(e.callback, sizeof e.callback, "%s", local(jstr(j, "callbackUri")));
    json_decref(j);
    assert_int_equal(strncmp(e.callback, before, (size_t)(strstr(before, "&s=") - before)), 0);
    char *conn = acs_standin_request_created(e.acs, i);
    snprintf(e.conn, sizeof e.conn, "%s", conn);
    free(conn);
    callback(&e, "CallConnected", NULL);
    j = req_json(&e, expect_request(&e, ":recognize"));
    assert_non_null(strstr(jstr(j, "playPrompt.ssml.ssmlText"), "call you back"));
    assert_non_null(strstr(jstr(j, "playPrompt.ssml.ssmlText"), "the visit of the expert"));
    json_decref(j);
    char *json = stored_call(&e);
    assert_non_null(strstr(json, "\"outcome\":\"answered\""));
    free(json);
    env_free(&e);
}

/* A configured IVR menu (ivr.menus) over ACS: one recognition with
 * choices, each key its tone ("zero" for 0), the menu's prompt in the
 * call's voice. ACS reports a key or the words of a choice as that
 * choice's label (choiceResult); a recognition's other shapes are taken
 * too: tones (dtmfResult) as the key, words (speechResult) matched by the
 * engine. The choices are on the stored call. */
static void test_ivr_menu(void **state)
{
    (void)state;
    static const char *const extra[][2] = {
        {"ivr.start", "main"},
        {"ivr.menus",
         "{\"main\": {\"prompt\": \"For billing, press 2. For an agent, press 0.\", \"choices\": ["
         "{\"key\": \"2\", \"say\": [\"billing\"], \"action\": \"menu\", \"menu\": \"billing\"},"
         "{\"key\": \"0\", \"say\": [\"agent\"], \"action\": \"transfer\"}]},"
         "\"billing\": {\"prompt\": \"For your balance, press 1. For the main menu, press 9.\","
         "\"choices\": [{\"key\": \"1\", \"say\": [\"balance\"], \"action\": \"llm\"},"
         "{\"key\": \"9\", \"say\": [\"main menu\"], \"action\": \"menu\", \"menu\": \"main\"}]}}"},
    };
    env e;
    env_init_with(&e, extra, sizeof extra / sizeof extra[0]);
    answer_incoming(&e, "srv-ivr");
    callback(&e, "CallConnected", "{\"serverCallId\":\"srv-ivr\"}");
    json_t *j = req_json(&e, expect_request(&e, ":recognize"));
    assert_string_equal(jstr(j, "recognizeInputType"), "choices");
    assert_string_equal(opctx(j), "ccai:menu");
    json_t *choices = json_object_get(json_object_get(j, "recognizeOptions"), "choices");
    assert_int_equal(json_array_size(choices), 2);
    assert_string_equal(jstr(json_array_get(choices, 0), "label"), "2");
    assert_string_equal(jstr(json_array_get(choices, 0), "tone"), "two");
    assert_string_equal(jstr(json_array_get(choices, 1), "label"), "0");
    assert_string_equal(jstr(json_array_get(choices, 1), "tone"), "zero");
    assert_non_null(strstr(jstr(j, "playPrompt.ssml.ssmlText"), "For billing, press 2."));
    json_decref(j);

    /* The caller says "billing": ACS names the choice. */
    callback(&e, "RecognizeCompleted",
             "{\"operationContext\":\"ccai:menu\",\"recognitionType\":\"choices\","
             "\"choiceResult\":{\"label\":\"2\",\"recognizedPhrase\":\"billing\"},"
             "\"resultInformation\":{\"code\":200,\"subCode\":8545}}");
    j = req_json(&e, expect_request(&e, ":recognize"));
    assert_string_equal(jstr(j, "recognizeInputType"), "choices");
    assert_non_null(strstr(jstr(j, "playPrompt.ssml.ssmlText"), "For your balance"));
    assert_string_equal(
        jstr(json_array_get(json_object_get(json_object_get(j, "recognizeOptions"), "choices"), 1),
             "tone"),
        "nine");
    json_decref(j);
    /* Tones: key 9, the main menu again. */
    callback(&e, "RecognizeCompleted",
             "{\"operationContext\":\"ccai:menu\",\"recognitionType\":\"dtmf\","
             "\"dtmfResult\":{\"tones\":[\"nine\"]},\"resultInformation\":{\"code\":200,"
             "\"subCode\":8531}}");
    j = req_json(&e, expect_request(&e, ":recognize"));
    assert_non_null(strstr(jstr(j, "playPrompt.ssml.ssmlText"), "For billing, press 2."));
    json_decref(j);
    /* Words: matched by the engine. */
    callback(&e, "RecognizeCompleted",
             "{\"operationContext\":\"ccai:menu\",\"recognitionType\":\"speech\","
             "\"speechResult\":{\"speech\":\"Billing, please.\",\"confidence\":0.8},"
             "\"resultInformation\":{\"code\":200,\"subCode\":8533}}");
    j = req_json(&e, expect_request(&e, ":recognize"));
    assert_non_null(strstr(jstr(j, "playPrompt.ssml.ssmlText"), "For your balance"));
    json_decref(j);
    /* Balance: the conversation, a speech recognition whose prompt greets. */
    callback(&e, "RecognizeCompleted",
             "{\"operationContext\":\"ccai:menu\",\"recognitionType\":\"choices\","
             "\"choiceResult\":{\"label\":\"1\",\"recognizedPhrase\":\"one\"},"
             "\"resultInformation\":{\"code\":200,\"subCode\":8531}}");
    j = req_json(&e, expect_request(&e, ":recognize"));
    assert_string_equal(jstr(j, "recognizeInputType"), "speech");
    json_decref(j);
    char *json = stored_call(&e);
    assert_non_null(strstr(json, "main: 2 (billing), chose -> menu"));
    assert_non_null(strstr(json, "billing: 9 (main menu), key -> menu"));
    assert_non_null(strstr(json, "main: 2 (billing), said \\\"Billing, please.\\\" -> menu"));
    assert_non_null(strstr(json, "billing: 1 (balance), chose -> llm"));
    assert_non_null(strstr(json, "\"state\":\"conversation\""));
    free(json);
    env_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_grid),
        cmocka_unit_test(test_inbound_call),
        cmocka_unit_test(test_outbound_silence),
        cmocka_unit_test(test_recording_after_the_call),
        cmocka_unit_test(test_faults),
        cmocka_unit_test(test_transfer_failure_waits_for_a_lock),
        cmocka_unit_test(test_dtmf_transfer_accepted),
        cmocka_unit_test(test_menu_unanswered),
        cmocka_unit_test(test_ivr_menu),
        cmocka_unit_test(test_answer_race),
        cmocka_unit_test(test_ssml),
        cmocka_unit_test(test_callback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
