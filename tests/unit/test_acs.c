/* channels/: ACS HMAC-SHA256 request signing and the ACS REST client
 * against the local ACS stand-in (tests/support/acs_standin). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <ccai/adapters/poll.h>

#include "channels/acs/acs_rest.h"
#include "channels/acs/acs_sig.h"
#include "channels/acs/acs_stream.h"
#include "engine/engine.h"
#include "io/io.h"
#include "store/store.h"
#include "support/acs_standin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Known answers ------------------------------------------------------------------ */

/* The key of the vectors below: Base64("ccai-test-acs-access-key-0123456789"),
 * hex 636361692d746573742d6163732d6163636573732d6b65792d30313233343536373839. */
#define KAT_KEY "Y2NhaS10ZXN0LWFjcy1hY2Nlc3Mta2V5LTAxMjM0NTY3ODk="
#define KAT_PLAY_BODY                                                                          \
    "{\"playSources\":[{\"kind\":\"text\",\"text\":{\"text\":\"Hello\",\"voiceName\":\"en-US-" \
    "JennyNeural\"}}]}"

static void test_kat_play(void **state)
{
    (void)state;
    /* Computed independently:
     *   printf '%s' "$BODY" | openssl dgst -sha256 -binary | base64
     *   printf 'POST\n/calling/callConnections/abc123:play?api-version=2024-09-15\n'\
     *          'Mon, 01 Jan 2024 00:00:00 GMT;ccai-test.communication.azure.com;'\
     *          'P6YVi9/HrS/QL0eq504mr+mt/GzIVK6J9dVEnK9G+DM=' |
     *     openssl dgst -sha256 -mac HMAC -binary -macopt \
     *       hexkey:636361692d746573742d6163732d6163636573732d6b65792d30313233343536373839 | base64
     * (also the vector of reference/protocols.md 3.2). */
    Ccai_acs_signed s;
    assert_int_equal(Ccai_acs_sign(KAT_KEY, "POST",
                                   "/calling/callConnections/abc123:play?api-version=2024-09-15",
                                   "ccai-test.communication.azure.com",
                                   "Mon, 01 Jan 2024 00:00:00 GMT", KAT_PLAY_BODY,
                                   strlen(KAT_PLAY_BODY), &s),
                     CCAI_OK);
    assert_string_equal(s.date, "Mon, 01 Jan 2024 00:00:00 GMT");
    assert_string_equal(s.content_hash, "P6YVi9/HrS/QL0eq504mr+mt/GzIVK6J9dVEnK9G+DM=");
    assert_string_equal(s.authorization, "HMAC-SHA256 SignedHeaders=x-ms-date;host;"
                                         "x-ms-content-sha256&Signature="
                                         "f/nrMvIcx1Sopj9QG/e5FkwTx16b03vEV35+SwzEIjM=");
}

static void test_kat_empty_body_and_port(void **state)
{
    (void)state;
    /* python3 -c "import hmac,hashlib,base64; k=base64.b64decode('$KAT_KEY');
     *   h=base64.b64encode(hashlib.sha256(b'').digest()).decode();
     *   s='DELETE\n/calling/callConnections/abc123?api-version=2024-09-15\n'
     *     'Tue, 29 Feb 2028 23:59:59 GMT;127.0.0.1:8443;'+h;
     *   print(h, base64.b64encode(hmac.new(k,s.encode(),hashlib.sha256).digest()).decode())" */
    Ccai_acs_signed s;
    assert_int_equal(Ccai_acs_sign(KAT_KEY, "DELETE",
                                   "/calling/callConnections/abc123?api-version=2024-09-15",
                                   "127.0.0.1:8443", "Tue, 29 Feb 2028 23:59:59 GMT", NULL, 0, &s),
                     CCAI_OK);
    assert_string_equal(s.content_hash, CCAI_ACS_EMPTY_BODY_HASH);
    assert_string_equal(s.content_hash, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
    assert_string_equal(s.authorization,
                        CCAI_ACS_AUTH_PREFIX "VDINzYp3yCAx1MogYJtNbPKQmi/+qbkfpYO4X8KMF2E=");
    /* "" and NULL bodies hash alike. */
    char h[48];
    assert_true(Ccai_acs_content_hash("", 0, h));
    assert_string_equal(h, CCAI_ACS_EMPTY_BODY_HASH);
}

static void test_kat_binary_key_utf8_body(void **state)
{
    (void)state;
    /* Key bytes 0x00..0x3f (64 bytes, like real ACS keys), a UTF-8 body:
     * python3 -c "import hmac,hashlib,base64; k=bytes(range(64));
     *   b='{\"from\":\"+15550001111\",\"smsRecipients\":[{\"to\":\"+15550002222\"}],'
     *     '\"message\":\"hi \u20ac\"}'.encode();
     *   h=base64.b64encode(hashlib.sha256(b).digest()).decode();
     *   s='POST\n/sms?api-version=2021-03-07\nSun, 06 Nov 1994 08:49:37 GMT;'
     *     'res.communication.azure.com;'+h;
     *   print(h, base64.b64encode(hmac.new(k,s.encode(),hashlib.sha256).digest()).decode())" */
    const char *key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1"
                      "Njc4OTo7PD0+Pw==";
    const char *body = "{\"from\":\"+15550001111\",\"smsRecipients\":[{\"to\":\"+15550002222\"}],"
                       "\"message\":\"hi \xE2\x82\xAC\"}";
    Ccai_acs_signed s;
    assert_int_equal(Ccai_acs_sign(key, "POST", "/sms?api-version=2021-03-07",
                                   "res.communication.azure.com", "Sun, 06 Nov 1994 08:49:37 GMT",
                                   body, strlen(body), &s),
                     CCAI_OK);
    assert_string_equal(s.content_hash, "op9ZH+LIw2/PfhER6YSyRIV+AkD44XbMz/NBPr+li4Y=");
    assert_string_equal(s.authorization,
                        CCAI_ACS_AUTH_PREFIX "q4TmKnNnnhgqrjGZRrv7qLKbBz8wugDDlmfvwMEhny8=");
    assert_true(Ccai_acs_verify(key, "POST", "/sms?api-version=2021-03-07",
                                "res.communication.azure.com", "Sun, 06 Nov 1994 08:49:37 GMT",
                                s.content_hash, body, strlen(body), s.authorization));
}

static void test_format_date(void **state)
{
    (void)state;
    /* python3 -c "import email.utils; print(email.utils.formatdate(T, usegmt=True))" */
    char d[32];
    Ccai_acs_format_date(0, d);
    assert_string_equal(d, "Thu, 01 Jan 1970 00:00:00 GMT");
    Ccai_acs_format_date(1835481599999, d);
    assert_string_equal(d, "Tue, 29 Feb 2028 23:59:59 GMT");
    Ccai_acs_format_date(1704067200000, d);
    assert_string_equal(d, "Mon, 01 Jan 2024 00:00:00 GMT");
    Ccai_acs_format_date(-86400000LL * 366, d);
    assert_string_equal(d, "Tue, 31 Dec 1968 00:00:00 GMT");
}

/* Round trips and tampering ------------------------------------------------------- */

#define RT_TARGET "/calling/callConnections/c1:recognize?api-version=2024-09-15"
#define RT_HOST   "ccai-test.communication.azure.com"
#define RT_DATE   "Wed, 02 Oct 2024 10:00:00 GMT"
#define RT_BODY   "{\"recognizeInputType\":\"dtmf\"}"

static bool verify_with(const char *key, const char *method, const char *target, const char *host,
                        const char *date, const char *hash, const char *body, const char *auth)
{
    return Ccai_acs_verify(key, method, target, host, date, hash, body, body ? strlen(body) : 0,
                           auth);
}

static void test_round_trip_and_tamper(void **state)
{
    (void)state;
    Ccai_acs_signed s;
    assert_int_equal(
        Ccai_acs_sign(KAT_KEY, "POST", RT_TARGET, RT_HOST, RT_DATE, RT_BODY, strlen(RT_BODY), &s),
        CCAI_OK);
    const char *h = s.content_hash, *a = s.authorization;
    assert_true(verify_with(KAT_KEY, "POST", RT_TARGET, RT_HOST, RT_DATE, h, RT_BODY, a));
    /* Body changed, with and without a recomputed hash header. */
    const char *evil = "{\"recognizeInputType\":\"speech\"}";
    char evil_hash[48];
    assert_true(Ccai_acs_content_hash(evil, strlen(evil), evil_hash));
    assert_false(verify_with(KAT_KEY, "POST", RT_TARGET, RT_HOST, RT_DATE, h, evil, a));
    assert_false(verify_with(KAT_KEY, "POST", RT_TARGET, RT_HOST, RT_DATE, evil_hash, evil, a));
    /* Date, path, query, host, method, key. */
    assert_false(verify_with(KAT_KEY, "POST", RT_TARGET, RT_HOST, "Wed, 02 Oct 2024 10:00:01 GMT",
                             h, RT_BODY, a));
    assert_false(verify_with(KAT_KEY, "POST",
                             "/calling/callConnections/c2:recognize?api-version=2024-09-15",
                             RT_HOST, RT_DATE, h, RT_BODY, a));
    assert_false(verify_with(KAT_KEY, "POST",
                             "/calling/callConnections/c1:recognize?api-version=2024-04-15",
                             RT_HOST, RT_DATE, h, RT_BODY, a));
    assert_false(verify_with(KAT_KEY, "POST", RT_TARGET, "evil.communication.azure.com", RT_DATE, h,
                             RT_BODY, a));
    assert_false(verify_with(KAT_KEY, "PUT", RT_TARGET, RT_HOST, RT_DATE, h, RT_BODY, a));
    assert_false(verify_with("AAECAwQFBgcICQoLDA0ODw==", "POST", RT_TARGET, RT_HOST, RT_DATE, h,
                             RT_BODY, a));
    /* The signature itself: one character, truncated, extended, other scheme. */
    char bad[160];
    snprintf(bad, sizeof bad, "%s", a);
    bad[strlen(bad) - 2] = bad[strlen(bad) - 2] == 'A' ? 'B' : 'A';
    assert_false(verify_with(KAT_KEY, "POST", RT_TARGET, RT_HOST, RT_DATE, h, RT_BODY, bad));
    snprintf(bad, sizeof bad, "%.*s", (int)strlen(a) - 1, a);
    assert_false(verify_with(KAT_KEY, "POST", RT_TARGET, RT_HOST, RT_DATE, h, RT_BODY, bad));
    snprintf(bad, sizeof bad, "%sA", a);
    assert_false(verify_with(KAT_KEY, "POST", RT_TARGET, RT_HOST, RT_DATE, h, RT_BODY, bad));
    snprintf(bad, sizeof bad, "HMAC-SHA256 SignedHeaders=x-ms-date;host&Signature=%s",
             a + strlen(CCAI_ACS_AUTH_PREFIX));
    assert_false(verify_with(KAT_KEY, "POST", RT_TARGET, RT_HOST, RT_DATE, h, RT_BODY, bad));
    /* NULLs fail closed. */
    assert_false(verify_with(NULL, "POST", RT_TARGET, RT_HOST, RT_DATE, h, RT_BODY, a));
    assert_false(verify_with(KAT_KEY, NULL, RT_TARGET, RT_HOST, RT_DATE, h, RT_BODY, a));
    assert_false(verify_with(KAT_KEY, "POST", RT_TARGET, RT_HOST, RT_DATE, NULL, RT_BODY, a));
    assert_false(verify_with(KAT_KEY, "POST", RT_TARGET, RT_HOST, RT_DATE, h, RT_BODY, NULL));
    assert_false(Ccai_acs_verify(KAT_KEY, "POST", RT_TARGET, RT_HOST, RT_DATE, h, NULL, 3, a));
}

static void test_sign_invalid(void **state)
{
    (void)state;
    Ccai_acs_signed s;
    memset(&s, 0x5a, sizeof s);
    const char *t = RT_TARGET, *h = RT_HOST, *d = RT_DATE;
    assert_int_equal(Ccai_acs_sign(NULL, "POST", t, h, d, "", 0, &s), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_acs_sign("", "POST", t, h, d, "", 0, &s), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_acs_sign("not base64!", "POST", t, h, d, "", 0, &s),
                     CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_acs_sign("YWJj=", "POST", t, h, d, "", 0, &s), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_acs_sign("YW=j", "POST", t, h, d, "", 0, &s), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_acs_sign(KAT_KEY, "post", t, h, d, "", 0, &s), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_acs_sign(KAT_KEY, "POST", "", h, d, "", 0, &s), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_acs_sign(KAT_KEY, "POST", "/a\nb", h, d, "", 0, &s),
                     CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_acs_sign(KAT_KEY, "POST", t, "", d, "", 0, &s), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_acs_sign(KAT_KEY, "POST", t, h, NULL, "", 0, &s), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_acs_sign(KAT_KEY, "POST", t, h, d, NULL, 2, &s), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_acs_sign(KAT_KEY, "POST", t, h, d, "", 0, NULL), CCAI_ERR_INVALID_ARG);
    char longkey[CCAI_ACS_KEY_MAX + 8];
    memset(longkey, 'A', CCAI_ACS_KEY_MAX + 4);
    longkey[CCAI_ACS_KEY_MAX + 4] = '\0';
    assert_int_equal(Ccai_acs_sign(longkey, "POST", t, h, d, "", 0, &s), CCAI_ERR_INVALID_ARG);
    /* Untouched on failure. */
    assert_int_equal((unsigned char)s.date[0], 0x5a);
    /* Unpadded and singly padded keys of the right length are fine. */
    assert_int_equal(Ccai_acs_sign("YWJj", "GET", t, h, d, NULL, 0, &s), CCAI_OK);
    assert_int_equal(Ccai_acs_sign("YWI=", "GET", t, h, d, NULL, 0, &s), CCAI_OK);
}

/* REST client against the stand-in --------------------------------------------------- */

typedef struct outcome {
    int done;
    ccai_status st;
    long http_status;
    int attempts;
    char id[128];
    char error_code[64];
    char errmsg[512];
    char body[2048];
    bool had_json;
} outcome;

static void on_done(ccai_status st, const Ccai_acs_result *res, void *ud)
{
    outcome *o = ud;
    o->done++;
    o->st = st;
    o->http_status = res->http_status;
    o->attempts = res->attempts;
    o->had_json = res->json != NULL;
    snprintf(o->id, sizeof o->id, "%s", res->id ? res->id : "");
    snprintf(o->error_code, sizeof o->error_code, "%s", res->error_code ? res->error_code : "");
    snprintf(o->errmsg, sizeof o->errmsg, "%s", res->error_message ? res->error_message : "");
    snprintf(o->body, sizeof o->body, "%s", res->body);
    if (st == CCAI_OK)
        assert_null(res->error_message);
    else
        assert_non_null(res->error_message);
}

typedef struct env {
    ccai_config *cfg;
    ccai_poll *poll;
    ccai_ctx *ctx;
    acs_standin *acs;
    Ccai_acs_rest *client;
} env;

static void env_init_opts(env *e, const char *key, int max_attempts)
{
    memset(e, 0, sizeof *e);
    assert_int_equal(ccai_config_new(&e->cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "database.sqlite.path", ":memory:"), CCAI_OK);
    assert_int_equal(ccai_poll_new(e->cfg, &e->poll, &e->ctx, NULL), CCAI_OK);
    e->acs = acs_standin_start(NULL);
    assert_non_null(e->acs);
    char endpoint[128];
    snprintf(endpoint, sizeof endpoint, "%s/", acs_standin_url(e->acs));
    Ccai_acs_rest_opts o = {
        .endpoint = endpoint,
        .access_key = key ? key : ACS_STANDIN_KEY,
        .phone_number = "+15550001111",
        .max_attempts = max_attempts,
        .base_backoff_ms = 5,
        .max_backoff_ms = 50,
        .timeout_ms = 5000,
    };
    assert_int_equal(Ccai_acs_rest_new(e->ctx, &o, &e->client), CCAI_OK);
}

static void env_init(env *e)
{
    env_init_opts(e, NULL, 0);
}

static void env_free(env *e)
{
    Ccai_acs_rest_free(e->client);
    ccai_poll_free(e->poll);
    ccai_config_free(e->cfg);
    acs_standin_stop(e->acs);
}

static void run_until(env *e, const outcome *o)
{
    uint64_t deadline = ccai_time_ms() + 10000;
    while (!o->done && ccai_time_ms() < deadline)
        assert_int_equal(ccai_poll_run_once(e->poll, 50), 0);
    assert_int_equal(o->done, 1);
}

/* Request i went to method + target with exactly this body, signed. */
static void assert_request(env *e, int i, const char *method, const char *target, const char *body)
{
    char *m = acs_standin_request_method(e->acs, i);
    char *t = acs_standin_request_target(e->acs, i);
    char *b = acs_standin_request_body(e->acs, i);
    char *err = acs_standin_request_auth_error(e->acs, i);
    assert_non_null(m);
    assert_string_equal(m, method);
    assert_string_equal(t, target);
    assert_string_equal(b, body);
    assert_string_equal(err, "");
    free(m);
    free(t);
    free(b);
    free(err);
    char *ct = acs_standin_request_header(e->acs, i, "Content-Type");
    assert_string_equal(ct, "application/json");
    free(ct);
}

static void assert_header(env *e, int i, const char *name, const char *expected)
{
    char *v = acs_standin_request_header(e->acs, i, name);
    if (!expected) {
        assert_null(v);
        return;
    }
    assert_non_null(v);
    assert_string_equal(v, expected);
    free(v);
}

static void test_rest_answer(void **state)
{
    (void)state;
    env e;
    env_init(&e);
    outcome o = {0};
    Ccai_acs_answer_params p = {
        .incoming_call_context = "eyJhbGciOi.ctx",
        .callback_uri = "https://agent.example/acs/callback?t=1",
        .operation_context = "answer-1",
        .cognitive_services_endpoint = "https://ai.cognitiveservices.azure.com/",
    };
    Ccai_acs_op *op = NULL;
    assert_int_equal(Ccai_acs_call_answer(e.client, &p, on_done, &o, &op), CCAI_OK);
    assert_non_null(op);
    assert_int_equal(o.done, 0); /* never from inside the start */
    run_until(&e, &o);
    assert_int_equal(o.st, CCAI_OK);
    assert_int_equal(o.http_status, 200);
    assert_int_equal(o.attempts, 1);
    assert_true(o.had_json);
    assert_int_equal(strlen(o.id), 36);
    assert_request(&e, 0, "POST", "/calling/callConnections:answer?api-version=2024-09-15",
                   "{\"incomingCallContext\":\"eyJhbGciOi.ctx\","
                   "\"callbackUri\":\"https://agent.example/acs/callback?t=1\","
                   "\"operationContext\":\"answer-1\",\"callIntelligenceOptions\":"
                   "{\"cognitiveServicesEndpoint\":\"https://ai.cognitiveservices.azure.com/\"}}");
    char *rid = acs_standin_request_header(e.acs, 0, "Repeatability-Request-ID");
    assert_non_null(rid);
    assert_int_equal(strlen(rid), 36);
    free(rid);
    char *rfs = acs_standin_request_header(e.acs, 0, "Repeatability-First-Sent");
    assert_non_null(rfs);
    assert_non_null(strstr(rfs, " GMT"));
    free(rfs);
    json_t *j = acs_standin_request_json(e.acs, 0);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "incomingCallContext")),
                        "eyJhbGciOi.ctx");
    json_decref(j);

    /* Play on the answered call. */
    outcome o2 = {0};
    char id[128];
    snprintf(id, sizeof id, "%s", o.id);
    Ccai_acs_play_params pp = {
        .ssml = "<speak version=\"1.0\" xml:lang=\"en-US\"><voice name=\"en-US-JennyNeural\">"
                "Hi &amp; welcome</voice></speak>",
        .interrupt = true,
        .operation_context = "greeting",
    };
    assert_int_equal(Ccai_acs_play(e.client, id, &pp, on_done, &o2, NULL), CCAI_OK);
    run_until(&e, &o2);
    assert_int_equal(o2.st, CCAI_OK);
    assert_int_equal(o2.http_status, 202);
    assert_string_equal(o2.id, "");
    char target[256];
    snprintf(target, sizeof target, "/calling/callConnections/%s:play?api-version=2024-09-15", id);
    assert_request(&e, 1, "POST", target,
                   "{\"playSources\":[{\"kind\":\"ssml\",\"ssml\":{\"ssmlText\":"
                   "\"<speak version=\\\"1.0\\\" xml:lang=\\\"en-US\\\"><voice "
                   "name=\\\"en-US-JennyNeural\\\">Hi &amp; welcome</voice></speak>\"}}],"
                   "\"interruptCallMediaOperation\":true,\"playOptions\":{\"loop\":false},"
                   "\"operationContext\":\"greeting\"}");
    /* Play and recognize are not de-duplicated by ACS: no repeatability. */
    assert_header(&e, 1, "Repeatability-Request-ID", NULL);
    env_free(&e);
}

static void test_rest_create_and_text_play(void **state)
{
    (void)state;
    env e;
    env_init(&e);
    outcome o = {0};
    Ccai_acs_create_params p = {
        .target = "+15550002222",
        .callback_uri = "https://agent.example/cb",
        .source_display_name = "Claims",
        .operation_context = "outbound",
    };
    assert_int_equal(Ccai_acs_call_create(e.client, &p, on_done, &o, NULL), CCAI_OK);
    run_until(&e, &o);
    assert_int_equal(o.st, CCAI_OK);
    assert_int_equal(o.http_status, 201);
    assert_int_equal(strlen(o.id), 36);
    assert_request(&e, 0, "POST", "/calling/callConnections?api-version=2024-09-15",
                   "{\"targets\":[{\"kind\":\"phoneNumber\",\"phoneNumber\":{\"value\":"
                   "\"+15550002222\"}}],\"callbackUri\":\"https://agent.example/cb\","
                   "\"sourceCallerIdNumber\":{\"value\":\"+15550001111\"},"
                   "\"sourceDisplayName\":\"Claims\",\"operationContext\":\"outbound\"}");

    /* A communication user target and a text play to one participant. */
    outcome o2 = {0};
    Ccai_acs_create_params p2 = {.target = "8:acs:r1_u2",
                                 .callback_uri = "https://a/cb",
                                 .source_caller_id = "+15550009999"};
    assert_int_equal(Ccai_acs_call_create(e.client, &p2, on_done, &o2, NULL), CCAI_OK);
    run_until(&e, &o2);
    assert_int_equal(o2.st, CCAI_OK);
    assert_request(&e, 1, "POST", "/calling/callConnections?api-version=2024-09-15",
                   "{\"targets\":[{\"kind\":\"communicationUser\",\"communicationUser\":{\"id\":"
                   "\"8:acs:r1_u2\"}}],\"callbackUri\":\"https://a/cb\","
                   "\"sourceCallerIdNumber\":{\"value\":\"+15550009999\"}}");
    outcome o3 = {0};
    Ccai_acs_play_params pp = {.text = "Hello",
                               .voice_name = "en-US-JennyNeural",
                               .play_to = "+15550002222",
                               .loop = true,
                               .operation_callback_uri = "https://a/op"};
    assert_int_equal(Ccai_acs_play(e.client, o.id, &pp, on_done, &o3, NULL), CCAI_OK);
    run_until(&e, &o3);
    assert_int_equal(o3.st, CCAI_OK);
    char target[256];
    snprintf(target, sizeof target, "/calling/callConnections/%s:play?api-version=2024-09-15",
             o.id);
    assert_request(&e, 2, "POST", target,
                   "{\"playSources\":[{\"kind\":\"text\",\"text\":{\"text\":\"Hello\","
                   "\"voiceName\":\"en-US-JennyNeural\"}}],\"playTo\":[{\"kind\":\"phoneNumber\","
                   "\"phoneNumber\":{\"value\":\"+15550002222\"}}],"
                   "\"interruptCallMediaOperation\":false,\"playOptions\":{\"loop\":true},"
                   "\"operationCallbackUri\":\"https://a/op\"}");
    env_free(&e);
}

/* Stream mode: mediaStreamingOptions exactly as the 2025-06-15 REST API
 * takes them, :startMediaStreaming / :stopMediaStreaming. */
static void test_rest_media_streaming(void **state)
{
    (void)state;
    env e;
    env_init(&e);
    Ccai_acs_rest_free(e.client);
    char endpoint[128];
    snprintf(endpoint, sizeof endpoint, "%s/", acs_standin_url(e.acs));
    Ccai_acs_rest_opts ro = {.endpoint = endpoint,
                             .access_key = ACS_STANDIN_KEY,
                             .phone_number = "+15550001111",
                             .call_api_version = CCAI_ACS_STREAM_API_VERSION};
    assert_int_equal(Ccai_acs_rest_new(e.ctx, &ro, &e.client), CCAI_OK);
    outcome o = {0};
    Ccai_acs_answer_params p = {
        .incoming_call_context = "ctx",
        .callback_uri = "https://agent.example/acs/callback?call=1&s=2",
        .streaming = {.transport_url = "wss://agent.example/acs/media?call=1&s=2",
                      .unmixed = true,
                      .bidirectional = true,
                      .start = true,
                      .dtmf = true,
                      .sample_rate = 24000},
    };
    assert_int_equal(Ccai_acs_call_answer(e.client, &p, on_done, &o, NULL), CCAI_OK);
    run_until(&e, &o);
    assert_int_equal(o.st, CCAI_OK);
    assert_request(&e, 0, "POST", "/calling/callConnections:answer?api-version=2025-06-15",
                   "{\"incomingCallContext\":\"ctx\",\"callbackUri\":"
                   "\"https://agent.example/acs/callback?call=1&s=2\",\"mediaStreamingOptions\":"
                   "{\"transportType\":\"websocket\",\"transportUrl\":"
                   "\"wss://agent.example/acs/media?call=1&s=2\",\"contentType\":\"audio\","
                   "\"audioChannelType\":\"unmixed\",\"startMediaStreaming\":true,"
                   "\"enableBidirectional\":true,\"audioFormat\":\"pcm24KMono\","
                   "\"enableDtmfTones\":true}}");
    char id[128];
    snprintf(id, sizeof id, "%s", o.id);
    outcome o2 = {0};
    Ccai_acs_create_params cp = {
        .target = "+15550002222",
        .callback_uri = "https://a/cb",
        .streaming = {.transport_url = "wss://a/m", .bidirectional = true, .sample_rate = 16000},
    };
    assert_int_equal(Ccai_acs_call_create(e.client, &cp, on_done, &o2, NULL), CCAI_OK);
    run_until(&e, &o2);
    assert_int_equal(o2.st, CCAI_OK);
    assert_request(&e, 1, "POST", "/calling/callConnections?api-version=2025-06-15",
                   "{\"targets\":[{\"kind\":\"phoneNumber\",\"phoneNumber\":{\"value\":"
                   "\"+15550002222\"}}],\"callbackUri\":\"https://a/cb\","
                   "\"sourceCallerIdNumber\":{\"value\":\"+15550001111\"},"
                   "\"mediaStreamingOptions\":{\"transportType\":\"websocket\",\"transportUrl\":"
                   "\"wss://a/m\",\"contentType\":\"audio\",\"audioChannelType\":\"mixed\","
                   "\"startMediaStreaming\":false,\"enableBidirectional\":true,"
                   "\"audioFormat\":\"pcm16KMono\",\"enableDtmfTones\":false}}");
    outcome o3 = {0}, o4 = {0};
    assert_int_equal(
        Ccai_acs_media_streaming(e.client, id, true, "ccai:stream", NULL, on_done, &o3, NULL),
        CCAI_OK);
    run_until(&e, &o3);
    assert_int_equal(o3.st, CCAI_OK);
    assert_int_equal(o3.http_status, 202);
    char target[256];
    snprintf(target, sizeof target,
             "/calling/callConnections/%s:startMediaStreaming?api-version=2025-06-15", id);
    assert_request(&e, 2, "POST", target, "{\"operationContext\":\"ccai:stream\"}");
    assert_int_equal(
        Ccai_acs_media_streaming(e.client, id, false, NULL, "https://a/op", on_done, &o4, NULL),
        CCAI_OK);
    run_until(&e, &o4);
    assert_int_equal(o4.st, CCAI_OK);
    snprintf(target, sizeof target,
             "/calling/callConnections/%s:stopMediaStreaming?api-version=2025-06-15", id);
    assert_request(&e, 3, "POST", target, "{\"operationCallbackUri\":\"https://a/op\"}");
    /* Not a wss URL, a rate ACS does not stream. */
    p.streaming.transport_url = "https://agent.example/acs/media";
    assert_int_equal(Ccai_acs_call_answer(e.client, &p, on_done, &o, NULL), CCAI_ERR_INVALID_ARG);
    p.streaming.transport_url = "wss://agent.example/acs/media";
    p.streaming.sample_rate = 8000;
    assert_int_equal(Ccai_acs_call_answer(e.client, &p, on_done, &o, NULL), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_acs_media_streaming(e.client, "a/b", true, NULL, NULL, on_done, &o, NULL),
                     CCAI_ERR_INVALID_ARG);
    assert_int_equal(acs_standin_request_count(e.acs), 4);
    env_free(&e);
}

/* The media WebSocket's messages (media.md 2.4-2.5), sans I/O. */
static void test_stream_messages(void **state)
{
    (void)state;
    static uint8_t audio[CCAI_ACS_STREAM_MAX_AUDIO];
    Ccai_acs_stream_msg m;
    m.audio = audio;
    const char *why = NULL;
#define PARSE(s) Ccai_acs_stream_parse(s, strlen(s), &m, &why)
    assert_int_equal(PARSE("{\"kind\":\"AudioMetadata\",\"audioMetadata\":{\"subscriptionId\":"
                           "\"89e8\",\"encoding\":\"PCM\",\"sampleRate\":16000,\"channels\":1,"
                           "\"length\":640}}"),
                     CCAI_OK);
    assert_int_equal(m.kind, CCAI_ACSS_METADATA);
    assert_string_equal(m.subscription_id, "89e8");
    assert_string_equal(m.encoding, "PCM");
    assert_int_equal(m.sample_rate, 16000);
    assert_int_equal(m.channels, 1);
    assert_int_equal(m.length, 640);
    assert_int_equal(PARSE("{\"kind\":\"AudioData\",\"audioData\":{\"timestamp\":"
                           "\"2024-11-15T19:16:12.925Z\",\"participantRawID\":\"4:+15555550100\","
                           "\"data\":\"AP/+gA==\",\"silent\":true,\"later\":[1]}}"),
                     CCAI_OK);
    assert_int_equal(m.kind, CCAI_ACSS_AUDIO);
    assert_int_equal(m.audio_len, 4);
    assert_memory_equal(m.audio, "\x00\xff\xfe\x80", 4);
    assert_string_equal(m.participant, "4:+15555550100");
    assert_true(m.silent);
    /* Keys and kinds in any case, as ACS takes them. */
    assert_int_equal(PARSE("{\"Kind\":\"DTMFDATA\",\"DtmfData\":{\"Data\":\"#\"}}"), CCAI_OK);
    assert_int_equal(m.kind, CCAI_ACSS_DTMF);
    assert_int_equal(m.digit, '#');
    assert_int_equal(PARSE("{\"kind\":\"TranscriptionData\",\"transcriptionData\":{}}"), CCAI_OK);
    assert_int_equal(m.kind, CCAI_ACSS_OTHER);
    /* Refusals say why. */
    static const char *const bad[] = {
        "{not json",
        "[1]",
        "{\"kind\":3}",
        "{\"kind\":\"AudioData\"}",
        "{\"kind\":\"AudioData\",\"audioData\":{\"data\":\"!!!!\"}}",
        "{\"kind\":\"AudioData\",\"audioData\":{\"data\":\"AAAA\"}}",
        "{\"kind\":\"DtmfData\",\"dtmfData\":{\"data\":\"12\"}}",
        "{\"kind\":\"DtmfData\",\"dtmfData\":{\"data\":\"x\"}}",
        "{\"kind\":\"AudioMetadata\",\"audioMetadata\":{\"sampleRate\":-1}}",
        "{\"kind\":\"AudioMetadata\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why = NULL;
        assert_int_equal(PARSE(bad[i]), CCAI_ERR_PARSE);
        assert_non_null(why);
    }
    /* Over 1 s of 24 kHz audio; an id too long. */
    size_t big = (CCAI_ACS_STREAM_MAX_AUDIO / 3 + 4) * 4;
    char *huge = malloc(big + 64);
    assert_non_null(huge);
    int k = snprintf(huge, 64, "{\"kind\":\"AudioData\",\"audioData\":{\"data\":\"");
    memset(huge + k, 'A', big);
    strcpy(huge + k + big, "\"}}");
    assert_int_equal(Ccai_acs_stream_parse(huge, strlen(huge), &m, &why), CCAI_ERR_LIMIT);
    free(huge);
    char longid[300];
    snprintf(longid, sizeof longid,
             "{\"kind\":\"AudioMetadata\",\"audioMetadata\":{\"subscriptionId\":\"%0200d\"}}", 7);
    assert_int_equal(PARSE(longid), CCAI_ERR_LIMIT);
#undef PARSE
    /* What we send. */
    Ccai_buf b = {0};
    assert_true(Ccai_acs_stream_audio(&b, (const uint8_t *)"\x00\xff\xfe\x80", 4));
    assert_string_equal(b.data, "{\"kind\":\"AudioData\",\"audioData\":{\"data\":\"AP/+gA==\"}}");
    assert_true(Ccai_acs_stream_stop(&b));
    assert_string_equal(b.data, "{\"kind\":\"StopAudio\",\"stopAudio\":{}}");
    Ccai_buf_free(&b);
}

static void test_rest_recognize(void **state)
{
    (void)state;
    env e;
    env_init(&e);
    acs_standin_add_call(e.acs, "call-1");
    static const char *const yes[] = {"yes", "yeah", NULL};
    static const char *const no[] = {"no", NULL};
    Ccai_acs_choice choices[] = {{"confirm", yes, "one"}, {"cancel", no, NULL}};
    Ccai_acs_recognize_params p = {
        .kind = CCAI_ACS_RECOGNIZE_CHOICES,
        .target = "+15550002222",
        .prompt_ssml = "<speak>Confirm?</speak>",
        .interrupt_prompt = true,
        .initial_silence_timeout_s = 5,
        .end_silence_timeout_ms = 800,
        .speech_language = "en-US",
        .choices = choices,
        .n_choices = 2,
        .operation_context = "confirm",
    };
    outcome o = {0};
    assert_int_equal(Ccai_acs_recognize(e.client, "call-1", &p, on_done, &o, NULL), CCAI_OK);
    run_until(&e, &o);
    assert_int_equal(o.st, CCAI_OK);
    assert_int_equal(o.http_status, 202);
    assert_request(
        &e, 0, "POST", "/calling/callConnections/call-1:recognize?api-version=2024-09-15",
        "{\"recognizeInputType\":\"choices\",\"playPrompt\":{\"kind\":\"ssml\",\"ssml\":"
        "{\"ssmlText\":\"<speak>Confirm?</speak>\"}},\"interruptCallMediaOperation\":false,"
        "\"recognizeOptions\":{\"targetParticipant\":{\"kind\":\"phoneNumber\",\"phoneNumber\":"
        "{\"value\":\"+15550002222\"}},\"interruptPrompt\":true,"
        "\"initialSilenceTimeoutInSeconds\":5,\"speechLanguage\":\"en-US\",\"speechOptions\":"
        "{\"endSilenceTimeoutInMs\":800},\"choices\":[{\"label\":\"confirm\",\"phrases\":"
        "[\"yes\",\"yeah\"],\"tone\":\"one\"},{\"label\":\"cancel\",\"phrases\":[\"no\"]}]},"
        "\"operationContext\":\"confirm\"}");

    /* DTMF with a text prompt. */
    static const char *const stops[] = {"pound", "asterisk", NULL};
    Ccai_acs_recognize_params d = {
        .kind = CCAI_ACS_RECOGNIZE_DTMF,
        .target = "+15550002222",
        .prompt_text = "Enter your policy number",
        .voice_name = "en-US-JennyNeural",
        .interrupt_call_media = true,
        .initial_silence_timeout_s = 10,
        .speech_language = "en-US", /* ignored for DTMF */
        .max_tones = 8,
        .inter_tone_timeout_s = 3,
        .stop_tones = stops,
    };
    outcome o2 = {0};
    assert_int_equal(Ccai_acs_recognize(e.client, "call-1", &d, on_done, &o2, NULL), CCAI_OK);
    run_until(&e, &o2);
    assert_int_equal(o2.st, CCAI_OK);
    assert_request(&e, 1, "POST",
                   "/calling/callConnections/call-1:recognize?api-version=2024-09-15",
                   "{\"recognizeInputType\":\"dtmf\",\"playPrompt\":{\"kind\":\"text\",\"text\":"
                   "{\"text\":\"Enter your policy number\",\"voiceName\":\"en-US-JennyNeural\"}},"
                   "\"interruptCallMediaOperation\":true,\"recognizeOptions\":"
                   "{\"targetParticipant\":{\"kind\":\"phoneNumber\",\"phoneNumber\":"
                   "{\"value\":\"+15550002222\"}},\"interruptPrompt\":false,"
                   "\"initialSilenceTimeoutInSeconds\":10,\"dtmfOptions\":"
                   "{\"interToneTimeoutInSeconds\":3,\"maxTonesToCollect\":8,"
                   "\"stopTones\":[\"pound\",\"asterisk\"]}}}");

    /* Invalid starts fire nothing. */
    Ccai_acs_recognize_params bad = p;
    bad.n_choices = 0;
    assert_int_equal(Ccai_acs_recognize(e.client, "call-1", &bad, on_done, &o, NULL),
                     CCAI_ERR_INVALID_ARG);
    bad = d;
    static const char *const wrong[] = {"hash", NULL};
    bad.stop_tones = wrong;
    assert_int_equal(Ccai_acs_recognize(e.client, "call-1", &bad, on_done, &o, NULL),
                     CCAI_ERR_INVALID_ARG);
    bad = d;
    bad.initial_silence_timeout_s = 301;
    assert_int_equal(Ccai_acs_recognize(e.client, "call-1", &bad, on_done, &o, NULL),
                     CCAI_ERR_INVALID_ARG);
    bad = d;
    bad.target = "15550002222";
    assert_int_equal(Ccai_acs_recognize(e.client, "call-1", &bad, on_done, &o, NULL),
                     CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_acs_recognize(e.client, "call/1", &d, on_done, &o, NULL),
                     CCAI_ERR_INVALID_ARG);
    assert_int_equal(acs_standin_request_count(e.acs), 2);
    assert_int_equal(o.done, 1);
    env_free(&e);
}

static void test_rest_transfer_hang_up(void **state)
{
    (void)state;
    env e;
    env_init(&e);
    acs_standin_add_call(e.acs, "call-2");
    Ccai_acs_transfer_params t = {.target = "+15550003333",
                                  .operation_context = "to-agent",
                                  .source_caller_id = "+15550001111"};
    outcome o = {0};
    assert_int_equal(Ccai_acs_transfer(e.client, "call-2", &t, on_done, &o, NULL), CCAI_OK);
    run_until(&e, &o);
    assert_int_equal(o.st, CCAI_OK);
    assert_int_equal(o.http_status, 202);
    assert_string_equal(o.body, "{\"operationContext\":\"to-agent\"}");
    assert_request(&e, 0, "POST",
                   "/calling/callConnections/call-2:transferToParticipant?api-version=2024-09-15",
                   "{\"targetParticipant\":{\"kind\":\"phoneNumber\",\"phoneNumber\":{\"value\":"
                   "\"+15550003333\"}},\"operationContext\":\"to-agent\","
                   "\"sourceCallerIdNumber\":{\"value\":\"+15550001111\"}}");
    char *rid = acs_standin_request_header(e.acs, 0, "Repeatability-Request-ID");
    assert_non_null(rid);
    free(rid);

    outcome o2 = {0};
    assert_int_equal(Ccai_acs_hang_up(e.client, "call-2", true, on_done, &o2, NULL), CCAI_OK);
    run_until(&e, &o2);
    assert_int_equal(o2.st, CCAI_OK);
    assert_int_equal(o2.http_status, 204);
    assert_false(o2.had_json);
    assert_request(&e, 1, "POST",
                   "/calling/callConnections/call-2:terminate?api-version=2024-09-15", "");
    assert_header(&e, 1, "x-ms-content-sha256", CCAI_ACS_EMPTY_BODY_HASH);

    /* The call is gone: 404, CCAI_ERR_NOT_FOUND, ACS's error code. */
    outcome o3 = {0};
    assert_int_equal(Ccai_acs_hang_up(e.client, "call-2", false, on_done, &o3, NULL), CCAI_OK);
    run_until(&e, &o3);
    assert_int_equal(o3.st, CCAI_ERR_NOT_FOUND);
    assert_int_equal(o3.http_status, 404);
    assert_string_equal(o3.error_code, "8522");
    assert_string_equal(o3.errmsg, "acs: HTTP 404, 8522: Call not found.");
    assert_int_equal(o3.attempts, 1);
    assert_request(&e, 2, "DELETE", "/calling/callConnections/call-2?api-version=2024-09-15", "");

    /* DELETE on a live call. */
    acs_standin_add_call(e.acs, "call-3");
    outcome o4 = {0};
    assert_int_equal(Ccai_acs_hang_up(e.client, "call-3", false, on_done, &o4, NULL), CCAI_OK);
    run_until(&e, &o4);
    assert_int_equal(o4.st, CCAI_OK);
    assert_int_equal(o4.http_status, 204);
    env_free(&e);
}

static void test_rest_recording_and_sms(void **state)
{
    (void)state;
    env e;
    env_init(&e);
    Ccai_acs_recording_params r = {.server_call_id = "aHR0cHM6Ly9zZXJ2ZXI",
                                   .state_callback_uri = "https://a/rec",
                                   .format_type = "mp3"};
    outcome o = {0};
    assert_int_equal(Ccai_acs_recording_start(e.client, &r, on_done, &o, NULL), CCAI_OK);
    run_until(&e, &o);
    assert_int_equal(o.st, CCAI_OK);
    assert_int_equal(o.http_status, 200);
    assert_int_equal(strncmp(o.id, "rec-", 4), 0);
    assert_request(&e, 0, "POST", "/calling/recordings?api-version=2024-09-15",
                   "{\"callLocator\":{\"kind\":\"serverCallLocator\",\"serverCallId\":"
                   "\"aHR0cHM6Ly9zZXJ2ZXI\"},\"recordingStateCallbackUri\":\"https://a/rec\","
                   "\"recordingContentType\":\"audio\",\"recordingChannelType\":\"mixed\","
                   "\"recordingFormatType\":\"mp3\"}");
    r.format_type = "ogg";
    assert_int_equal(Ccai_acs_recording_start(e.client, &r, on_done, &o, NULL),
                     CCAI_ERR_INVALID_ARG);

    Ccai_acs_sms_params s = {.to = "+15550002222",
                             .message = "Your claim CL-1 is filed. \xE2\x82\xAC",
                             .delivery_report = true,
                             .tag = "claim"};
    outcome o2 = {0};
    assert_int_equal(Ccai_acs_sms_send(e.client, &s, on_done, &o2, NULL), CCAI_OK);
    run_until(&e, &o2);
    assert_int_equal(o2.st, CCAI_OK);
    assert_int_equal(o2.http_status, 202);
    assert_int_equal(strncmp(o2.id, "Outgoing_", 9), 0);
    /* Repeatable as the SMS API takes it: per recipient, in the body. */
    json_t *j = acs_standin_request_json(e.acs, 1);
    json_t *rcpt = json_array_get(json_object_get(j, "smsRecipients"), 0);
    const char *rid = json_string_value(json_object_get(rcpt, "repeatabilityRequestId"));
    const char *first = json_string_value(json_object_get(rcpt, "repeatabilityFirstSent"));
    assert_non_null(rid);
    assert_int_equal(strlen(rid), 36);
    assert_non_null(first);
    assert_non_null(strstr(first, " GMT"));
    char want[1024];
    snprintf(want, sizeof want,
             "{\"from\":\"+15550001111\",\"smsRecipients\":[{\"to\":\"+15550002222\","
             "\"repeatabilityRequestId\":\"%s\",\"repeatabilityFirstSent\":\"%s\"}],"
             "\"message\":\"Your claim CL-1 is filed. \xE2\x82\xAC\",\"smsSendOptions\":"
             "{\"enableDeliveryReport\":true,\"tag\":\"claim\"}}",
             rid, first);
    assert_request(&e, 1, "POST", "/sms?api-version=2021-03-07", want);
    json_decref(j);
    assert_header(&e, 1, "Repeatability-Request-ID", NULL);
    s.to = "5550002222";
    assert_int_equal(Ccai_acs_sms_send(e.client, &s, on_done, &o2, NULL), CCAI_ERR_INVALID_ARG);
    env_free(&e);
}

static void test_rest_retries(void **state)
{
    (void)state;
    env e;
    env_init(&e);
    acs_standin_add_call(e.acs, "call-r");
    /* 429 with Retry-After: 1, then 503: the third attempt succeeds, each
     * attempt signed afresh. */
    acs_standin_fault f429 = {.status = 429, .retry_after = 1};
    acs_standin_fault f503 = {.status = 503};
    acs_standin_push_fault(e.acs, &f429);
    acs_standin_push_fault(e.acs, &f503);
    Ccai_acs_play_params pp = {.text = "again"};
    outcome o = {0};
    uint64_t t0 = ccai_time_ms();
    assert_int_equal(Ccai_acs_play(e.client, "call-r", &pp, on_done, &o, NULL), CCAI_OK);
    run_until(&e, &o);
    assert_int_equal(o.st, CCAI_OK);
    assert_int_equal(o.attempts, 3);
    assert_true(ccai_time_ms() - t0 >= 900); /* Retry-After honoured */
    assert_int_equal(acs_standin_request_status(e.acs, 0), 429);
    assert_int_equal(acs_standin_request_status(e.acs, 1), 503);
    assert_int_equal(acs_standin_request_status(e.acs, 2), 202);
    for (int i = 0; i < 3; i++) {
        char *err = acs_standin_request_auth_error(e.acs, i);
        assert_string_equal(err, "");
        free(err);
    }

    /* 500 every time: CCAI_ERR_HTTP after max_attempts (4). */
    for (int i = 0; i < 4; i++) {
        acs_standin_fault f = {.status = 500, .code = "8500", .message = "Server busy."};
        acs_standin_push_fault(e.acs, &f);
    }
    outcome o2 = {0};
    assert_int_equal(Ccai_acs_play(e.client, "call-r", &pp, on_done, &o2, NULL), CCAI_OK);
    run_until(&e, &o2);
    assert_int_equal(o2.st, CCAI_ERR_HTTP);
    assert_int_equal(o2.attempts, 4);
    assert_int_equal(o2.http_status, 500);
    assert_string_equal(o2.error_code, "8500");
    assert_string_equal(o2.errmsg, "acs: HTTP 500, 8500: Server busy. (after 4 attempts)");

    /* A cut connection: play is not repeated (it would speak twice)... */
    acs_standin_fault drop = {.drop = 1};
    acs_standin_push_fault(e.acs, &drop);
    outcome o3 = {0};
    assert_int_equal(Ccai_acs_play(e.client, "call-r", &pp, on_done, &o3, NULL), CCAI_OK);
    run_until(&e, &o3);
    assert_int_equal(o3.st, CCAI_ERR_HTTP);
    assert_int_equal(o3.attempts, 1);
    assert_int_equal(o3.http_status, 0);

    /* ...a hang up is, with the same Repeatability-Request-ID. */
    acs_standin_push_fault(e.acs, &drop);
    int before = acs_standin_request_count(e.acs);
    outcome o4 = {0};
    assert_int_equal(Ccai_acs_hang_up(e.client, "call-r", true, on_done, &o4, NULL), CCAI_OK);
    run_until(&e, &o4);
    assert_int_equal(o4.st, CCAI_OK);
    assert_int_equal(o4.attempts, 2);
    char *r1 = acs_standin_request_header(e.acs, before, "Repeatability-Request-ID");
    char *r2 = acs_standin_request_header(e.acs, before + 1, "Repeatability-Request-ID");
    char *f1 = acs_standin_request_header(e.acs, before, "Repeatability-First-Sent");
    char *f2 = acs_standin_request_header(e.acs, before + 1, "Repeatability-First-Sent");
    assert_non_null(r1);
    assert_non_null(r2);
    assert_string_equal(r1, r2);
    assert_string_equal(f1, f2);
    free(r1);
    free(r2);
    free(f1);
    free(f2);

    /* A non-JSON gateway page on 502 after the last attempt. */
    env_free(&e);
    env_init_opts(&e, NULL, 1);
    acs_standin_fault html = {.status = 502,
                              .raw_body = "<html><body>Bad\r\nGateway</body></html>"};
    acs_standin_push_fault(e.acs, &html);
    outcome o5 = {0};
    Ccai_acs_sms_params s = {.to = "+15550002222", .message = "x"};
    assert_int_equal(Ccai_acs_sms_send(e.client, &s, on_done, &o5, NULL), CCAI_OK);
    run_until(&e, &o5);
    assert_int_equal(o5.st, CCAI_ERR_HTTP);
    assert_int_equal(o5.attempts, 1);
    assert_string_equal(o5.error_code, "");
    assert_string_equal(o5.errmsg, "acs: HTTP 502: <html><body>Bad  Gateway</body></html>");
    env_free(&e);
}

/* An SMS whose reply is lost after ACS sent it (5xx, a cut connection, a
 * time-out) or that ACS could not send now (a recipient's 503 inside the
 * 202) is tried again with the same repeatabilityRequestId: the message
 * goes out once. A caller's own id (a job tried again later) is answered
 * as the first send was; outside ACS's window it is refused (412), never
 * sent anew. */
static void test_rest_sms_repeatable(void **state)
{
    (void)state;
    env e;
    env_init(&e);
    const char *to = "+15550002222";
    acs_standin_fault lost[] = {
        {.status = 503, .after = 1},
        {.drop = 1, .after = 1},
        {.sms_recipient_status = 503},
    };
    for (size_t k = 0; k < sizeof lost / sizeof lost[0]; k++) {
        int before = acs_standin_request_count(e.acs);
        int sent = acs_standin_sms_sent(e.acs, to);
        acs_standin_push_fault(e.acs, &lost[k]);
        Ccai_acs_sms_params p = {.to = to, .message = "Your claim is filed."};
        outcome o = {0};
        assert_int_equal(Ccai_acs_sms_send(e.client, &p, on_done, &o, NULL), CCAI_OK);
        run_until(&e, &o);
        assert_int_equal(o.st, CCAI_OK);
        assert_int_equal(o.attempts, 2);
        assert_int_equal(strncmp(o.id, "Outgoing_", 9), 0);
        assert_int_equal(acs_standin_sms_sent(e.acs, to), sent + 1); /* once */
        char *b1 = acs_standin_request_body(e.acs, before);
        char *b2 = acs_standin_request_body(e.acs, before + 1);
        assert_string_equal(b1, b2); /* the same id and first-sent time */
        free(b1);
        free(b2);
    }

    /* The caller's id, sent again by a later operation. */
    char rid[37], first[32];
    assert_true(Ccai_uuid4(rid));
    Ccai_acs_format_date(Ccai_wall_ms(), first);
    Ccai_acs_sms_params p = {
        .to = to, .message = "Report", .repeat_id = rid, .repeat_first_sent = first};
    outcome o1 = {0}, o2 = {0};
    assert_int_equal(Ccai_acs_sms_send(e.client, &p, on_done, &o1, NULL), CCAI_OK);
    run_until(&e, &o1);
    int sent = acs_standin_sms_sent(e.acs, to);
    assert_int_equal(Ccai_acs_sms_send(e.client, &p, on_done, &o2, NULL), CCAI_OK);
    run_until(&e, &o2);
    assert_int_equal(o2.st, CCAI_OK);
    assert_string_equal(o2.id, o1.id);
    assert_non_null(strstr(o2.body, "\"repeatabilityResult\":\"accepted\""));
    assert_int_equal(acs_standin_sms_sent(e.acs, to), sent);
    /* The same id for another message: ACS refuses it. */
    p.message = "Another report";
    outcome o3 = {0};
    assert_int_equal(Ccai_acs_sms_send(e.client, &p, on_done, &o3, NULL), CCAI_OK);
    run_until(&e, &o3);
    assert_int_equal(o3.st, CCAI_ERR_HTTP);
    assert_int_equal(o3.http_status, 400);
    assert_int_equal(o3.attempts, 1);
    /* First sent 6 minutes ago: outside the window, 412. */
    assert_true(Ccai_uuid4(rid));
    Ccai_acs_format_date(Ccai_wall_ms() - 6 * 60 * 1000, first);
    p.message = "Late";
    outcome o4 = {0};
    assert_int_equal(Ccai_acs_sms_send(e.client, &p, on_done, &o4, NULL), CCAI_OK);
    run_until(&e, &o4);
    assert_int_equal(o4.st, CCAI_ERR_HTTP);
    assert_int_equal(o4.http_status, 412);
    assert_non_null(strstr(o4.errmsg, "repeatability rejected"));
    assert_int_equal(acs_standin_sms_sent(e.acs, to), sent);
    /* Malformed pairs never leave. */
    p.repeat_id = "not-a-uuid";
    assert_int_equal(Ccai_acs_sms_send(e.client, &p, on_done, &o4, NULL), CCAI_ERR_INVALID_ARG);
    p.repeat_id = rid;
    p.repeat_first_sent = NULL;
    assert_int_equal(Ccai_acs_sms_send(e.client, &p, on_done, &o4, NULL), CCAI_ERR_INVALID_ARG);
    env_free(&e);
}

static void test_rest_wrong_key(void **state)
{
    (void)state;
    env e;
    /* Valid Base64, not the stand-in's key: ACS answers 401, never retried. */
    env_init_opts(&e, "AAECAwQFBgcICQoLDA0ODw==", 0);
    outcome o = {0};
    Ccai_acs_sms_params s = {.to = "+15550002222", .message = "x"};
    assert_int_equal(Ccai_acs_sms_send(e.client, &s, on_done, &o, NULL), CCAI_OK);
    run_until(&e, &o);
    assert_int_equal(o.st, CCAI_ERR_HTTP);
    assert_int_equal(o.http_status, 401);
    assert_int_equal(o.attempts, 1);
    assert_string_equal(o.error_code, "Denied");
    assert_string_equal(o.errmsg, "acs: HTTP 401, Denied: signature mismatch");
    env_free(&e);
}

static void test_rest_cancel_and_free(void **state)
{
    (void)state;
    env e;
    env_init(&e);
    acs_standin_add_call(e.acs, "call-c");
    acs_standin_fault slow = {.status = 500, .delay_ms = 200};
    acs_standin_push_fault(e.acs, &slow);
    outcome o = {0}, o2 = {0};
    Ccai_acs_op *op = NULL;
    Ccai_acs_play_params pp = {.text = "x"};
    assert_int_equal(Ccai_acs_play(e.client, "call-c", &pp, on_done, &o, &op), CCAI_OK);
    Ccai_acs_op_cancel(op);
    assert_int_equal(Ccai_acs_hang_up(e.client, "call-c", false, on_done, &o2, NULL), CCAI_OK);
    uint64_t deadline = ccai_time_ms() + 400;
    while (ccai_time_ms() < deadline)
        assert_int_equal(ccai_poll_run_once(e.poll, 10), 0);
    assert_int_equal(o.done, 0);
    /* Freeing the client with an operation running fires nothing. */
    acs_standin_push_fault(e.acs, &slow);
    assert_int_equal(Ccai_acs_hang_up(e.client, "call-c", false, on_done, &o2, NULL), CCAI_OK);
    int done_before = o2.done;
    Ccai_acs_rest_free(e.client);
    e.client = NULL;
    deadline = ccai_time_ms() + 300;
    while (ccai_time_ms() < deadline)
        assert_int_equal(ccai_poll_run_once(e.poll, 10), 0);
    assert_int_equal(o2.done, done_before);
    env_free(&e);
}

static void test_rest_invalid(void **state)
{
    (void)state;
    ccai_config *cfg;
    ccai_poll *pl = NULL;
    ccai_ctx *ctx = NULL;
    assert_int_equal(ccai_config_new(&cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "database.sqlite.path", ":memory:"), CCAI_OK);
    assert_int_equal(ccai_poll_new(cfg, &pl, &ctx, NULL), CCAI_OK);
    Ccai_acs_rest *c = (Ccai_acs_rest *)0x1;
    Ccai_acs_rest_opts o = {.endpoint = "https://r.communication.azure.com", .access_key = KAT_KEY};
    const char *bad_endpoints[] = {"r.communication.azure.com",
                                   "ftp://r",
                                   "https://",
                                   "https://r?x=1",
                                   "https://r u",
                                   "https://r/a b"};
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(bad_endpoints); i++) {
        o.endpoint = bad_endpoints[i];
        assert_int_equal(Ccai_acs_rest_new(ctx, &o, &c), CCAI_ERR_INVALID_ARG);
    }
    o.endpoint = "https://r.communication.azure.com:443/";
    o.access_key = "bad key";
    assert_int_equal(Ccai_acs_rest_new(ctx, &o, &c), CCAI_ERR_INVALID_ARG);
    o.access_key = KAT_KEY;
    o.call_api_version = "2024-09-15&x=1";
    assert_int_equal(Ccai_acs_rest_new(ctx, &o, &c), CCAI_ERR_INVALID_ARG);
    o.call_api_version = NULL;
    assert_int_equal(Ccai_acs_rest_new(NULL, &o, &c), CCAI_ERR_INVALID_ARG);
    assert_ptr_equal(c, (Ccai_acs_rest *)0x1);
    assert_int_equal(Ccai_acs_rest_new(ctx, &o, &c), CCAI_OK);
    /* No phone number: PSTN calls and SMS need an explicit one. */
    outcome out = {0};
    Ccai_acs_create_params cp = {.target = "+15550002222", .callback_uri = "https://a/cb"};
    assert_int_equal(Ccai_acs_call_create(c, &cp, on_done, &out, NULL), CCAI_ERR_INVALID_ARG);
    Ccai_acs_sms_params sp = {.to = "+15550002222", .message = "m"};
    assert_int_equal(Ccai_acs_sms_send(c, &sp, on_done, &out, NULL), CCAI_ERR_INVALID_ARG);
    Ccai_acs_answer_params ap = {.callback_uri = "https://a/cb"};
    assert_int_equal(Ccai_acs_call_answer(c, &ap, on_done, &out, NULL), CCAI_ERR_INVALID_ARG);
    Ccai_acs_play_params pp = {.text = "a", .ssml = "<speak/>"};
    assert_int_equal(Ccai_acs_play(c, "id", &pp, on_done, &out, NULL), CCAI_ERR_INVALID_ARG);
    pp.ssml = NULL;
    assert_int_equal(Ccai_acs_play(c, "id", &pp, NULL, &out, NULL), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_acs_play(c, "", &pp, on_done, &out, NULL), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_acs_hang_up(c, "a?b", true, on_done, &out, NULL), CCAI_ERR_INVALID_ARG);
    Ccai_acs_transfer_params tp = {.target = "sip:x"};
    assert_int_equal(Ccai_acs_transfer(c, "id", &tp, on_done, &out, NULL), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_http_in_flight(ctx), 0);
    Ccai_acs_rest_free(c);
    Ccai_acs_rest_free(NULL);
    Ccai_acs_op_cancel(NULL);

    /* From configuration. */
    assert_int_equal(Ccai_acs_rest_from_config(ctx, cfg, &c), CCAI_ERR_CONFIG);
    assert_non_null(strstr(ccai_ctx_errmsg(ctx), "communication_services.endpoint"));
    ccai_poll_free(pl);
    ccai_config_free(cfg);
}

static void test_rest_from_config(void **state)
{
    (void)state;
    acs_standin *acs = acs_standin_start(NULL);
    assert_non_null(acs);
    ccai_config *cfg;
    ccai_poll *pl = NULL;
    ccai_ctx *ctx = NULL;
    assert_int_equal(ccai_config_new(&cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "database.sqlite.path", ":memory:"), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "communication_services.endpoint", acs_standin_url(acs)),
                     CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "communication_services.access_key", ACS_STANDIN_KEY),
                     CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "communication_services.phone_number", "+15550007777"),
                     CCAI_OK);
    assert_int_equal(ccai_poll_new(cfg, &pl, &ctx, NULL), CCAI_OK);
    Ccai_acs_rest *c = NULL;
    assert_int_equal(Ccai_acs_rest_from_config(ctx, cfg, &c), CCAI_OK);
    outcome o = {0};
    Ccai_acs_sms_params p = {.to = "+15550002222", .message = "hello"};
    assert_int_equal(Ccai_acs_sms_send(c, &p, on_done, &o, NULL), CCAI_OK);
    uint64_t deadline = ccai_time_ms() + 10000;
    while (!o.done && ccai_time_ms() < deadline)
        assert_int_equal(ccai_poll_run_once(pl, 50), 0);
    assert_int_equal(o.st, CCAI_OK);
    char *body = acs_standin_request_body(acs, 0);
    assert_non_null(strstr(body, "\"from\":\"+15550007777\""));
    free(body);
    char *host = acs_standin_request_header(acs, 0, "Host");
    assert_string_equal(host, acs_standin_host(acs));
    free(host);
    Ccai_acs_rest_free(c);
    ccai_poll_free(pl);
    ccai_config_free(cfg);
    acs_standin_stop(acs);
}

/* sms.mode communication_services: the engine's SMS jobs go out through the
 * ACS SMS API, signed; a rejected request leaves the job to be retried with
 * the service's reason. */
static void sms_provider_run(const char *key, int want_status, bool want_done)
{
    acs_standin *acs = acs_standin_start(NULL);
    assert_non_null(acs);
    ccai_config *cfg;
    ccai_poll *pl = NULL;
    ccai_ctx *ctx = NULL;
    assert_int_equal(ccai_config_new(&cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "database.sqlite.path", ":memory:"), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "sms.mode", "communication_services"), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "communication_services.endpoint", acs_standin_url(acs)),
                     CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "communication_services.access_key", key), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "communication_services.phone_number", "+15550007777"),
                     CCAI_OK);
    assert_int_equal(ccai_poll_new(cfg, &pl, &ctx, NULL), CCAI_OK);
    assert_int_equal(
        Ccai_sms_send(Ccai_ctx_engine(ctx), NULL, "+15550002222", "Your claim is registered.", 0),
        CCAI_OK);
    uint64_t deadline = ccai_time_ms() + 10000;
    while (acs_standin_request_count(acs) < 1 && ccai_time_ms() < deadline)
        assert_int_equal(ccai_poll_run_once(pl, 50), 0);
    for (int i = 0; i < 10; i++) /* let the reply reach the job */
        assert_int_equal(ccai_poll_run_once(pl, 20), 0);
    assert_true(acs_standin_request_count(acs) >= 1);
    assert_int_equal(acs_standin_request_status(acs, 0), want_status);
    char *target = acs_standin_request_target(acs, 0);
    assert_string_equal(target, "/sms?api-version=2021-03-07");
    free(target);
    char *body = acs_standin_request_body(acs, 0);
    assert_non_null(strstr(body, "\"from\":\"+15550007777\""));
    assert_non_null(strstr(body, "\"to\":\"+15550002222\""));
    assert_non_null(strstr(body, "\"message\":\"Your claim is registered.\""));
    free(body);
    /* Done: nothing is due any more. Rejected: due again later. */
    int64_t due = -1;
    assert_int_equal(Ccai_store_job_next_due_kinds(Ccai_ctx_store(ctx), "sms", &due), CCAI_OK);
    if (want_done)
        assert_true(due < 0);
    else
        assert_true(due > 0);
    ccai_poll_free(pl);
    ccai_config_free(cfg);
    acs_standin_stop(acs);
}

static void test_sms_provider(void **state)
{
    (void)state;
    sms_provider_run(ACS_STANDIN_KEY, 202, true);
    /* A key the service does not know: 401, the job stays for a retry. */
    sms_provider_run("b3RoZXIta2V5LW90aGVyLWtleS1vdGhlci1rZXktMDAwMDA=", 401, false);
}

/* An SMS job whose every attempt seems to fail although ACS sent the
 * message on the first (the replies were lost) is tried again later with
 * the repeatability id and first-sent time it stored before its first
 * attempt: ACS answers the repeat, the caller gets one SMS. */
static void test_sms_job_retried_sends_once(void **state)
{
    (void)state;
    acs_standin *acs = acs_standin_start(NULL);
    assert_non_null(acs);
    ccai_config *cfg;
    ccai_poll *pl = NULL;
    ccai_ctx *ctx = NULL;
    assert_int_equal(ccai_config_new(&cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "database.sqlite.path", ":memory:"), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "sms.mode", "communication_services"), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "communication_services.endpoint", acs_standin_url(acs)),
                     CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "communication_services.access_key", ACS_STANDIN_KEY),
                     CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "communication_services.phone_number", "+15550007777"),
                     CCAI_OK);
    assert_int_equal(ccai_poll_new(cfg, &pl, &ctx, NULL), CCAI_OK);
    /* Sent, but the reply is a 500; then 500s until the client gives up. */
    acs_standin_fault sent_lost = {.status = 500, .after = 1};
    acs_standin_fault busy = {.status = 500};
    acs_standin_push_fault(acs, &sent_lost);
    for (int i = 0; i < 3; i++)
        acs_standin_push_fault(acs, &busy);
    assert_int_equal(
        Ccai_sms_send(Ccai_ctx_engine(ctx), NULL, "+15550002222", "Your claim is registered.", 0),
        CCAI_OK);
    uint64_t deadline = ccai_time_ms() + 30000;
    int64_t due = 0;
    while (ccai_time_ms() < deadline) {
        assert_int_equal(ccai_poll_run_once(pl, 50), 0);
        assert_int_equal(Ccai_store_job_next_due_kinds(Ccai_ctx_store(ctx), "sms", &due), CCAI_OK);
        if (due < 0 && acs_standin_request_count(acs) >= 5)
            break;
    }
    assert_true(due < 0); /* done */
    int n = acs_standin_request_count(acs);
    assert_int_equal(n, 5); /* 4 attempts of the first job run, 1 of the second */
    assert_int_equal(acs_standin_request_status(acs, 4), 202);
    assert_int_equal(acs_standin_sms_sent(acs, "+15550002222"), 1);
    char *first = acs_standin_request_body(acs, 0);
    char *last = acs_standin_request_body(acs, 4);
    assert_string_equal(first, last);
    assert_non_null(strstr(first, "\"repeatabilityRequestId\":\""));
    free(first);
    free(last);
    ccai_poll_free(pl);
    ccai_config_free(cfg);
    acs_standin_stop(acs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kat_play),
        cmocka_unit_test(test_kat_empty_body_and_port),
        cmocka_unit_test(test_kat_binary_key_utf8_body),
        cmocka_unit_test(test_format_date),
        cmocka_unit_test(test_round_trip_and_tamper),
        cmocka_unit_test(test_sign_invalid),
        cmocka_unit_test(test_rest_answer),
        cmocka_unit_test(test_rest_create_and_text_play),
        cmocka_unit_test(test_rest_recognize),
        cmocka_unit_test(test_rest_media_streaming),
        cmocka_unit_test(test_stream_messages),
        cmocka_unit_test(test_rest_transfer_hang_up),
        cmocka_unit_test(test_rest_recording_and_sms),
        cmocka_unit_test(test_rest_sms_repeatable),
        cmocka_unit_test(test_sms_job_retried_sends_once),
        cmocka_unit_test(test_rest_retries),
        cmocka_unit_test(test_rest_wrong_key),
        cmocka_unit_test(test_rest_cancel_and_free),
        cmocka_unit_test(test_rest_invalid),
        cmocka_unit_test(test_rest_from_config),
        cmocka_unit_test(test_sms_provider),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
