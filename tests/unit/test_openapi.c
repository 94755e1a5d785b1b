/* web/openapi.c: the OpenAPI document served at /openapi.json. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "core/json.h"
#include "web/openapi.h"

#include <stdlib.h>
#include <string.h>

static json_t *load(const char *text)
{
    Ccai_json_err err;
    ccai_status st;
    json_t *v = Ccai_json_load(text, strlen(text), &err, &st);
    if (!v)
        fail_msg("test JSON does not parse: %u:%u %s", err.line, err.column, err.text);
    return v;
}

static void test_openapi(void **state)
{
    (void)state;
    const char *text = Ccai_openapi_json();
    json_t *doc = load(text);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "openapi")), "3.0.3");
    const json_t *paths = json_object_get(doc, "paths");
    static const char *const want[] = {"/call",
                                       "/call/{call_id_or_phone}",
                                       "/health/liveness",
                                       "/health/readiness",
                                       "/metrics",
                                       "/report",
                                       "/report/{call_id}",
                                       "/twilio/voice",
                                       "/twilio/status",
                                       "/twilio/sms",
                                       "/twilio/recording",
                                       "/chat",
                                       "/chat/{call_id}",
                                       "/chat/{call_id}/next",
                                       "/openapi.json",
                                       "/twilio/gather",
                                       "/twilio/next",
                                       "/twilio/dial",
                                       "/twilio/stream/{id}",
                                       "/twilio/reconnect",
                                       "/lexicon.xml",
                                       "/acs/events",
                                       "/acs/callback",
                                       "/acs/media"};
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(want); i++) {
        if (!json_object_get(paths, want[i]))
            fail_msg("missing path %s", want[i]);
    }
    assert_non_null(json_object_get(json_object_get(paths, "/call"), "post"));
    assert_non_null(json_object_get(json_object_get(paths, "/call"), "get"));
    assert_non_null(json_object_get(json_object_get(paths, "/acs/events"), "options"));
    const json_t *comp = json_object_get(doc, "components");
    assert_non_null(json_object_get(json_object_get(comp, "securitySchemes"), "bearerAuth"));
    const json_t *schemas = json_object_get(comp, "schemas");
    const json_t *call_props = json_object_get(json_object_get(schemas, "Call"), "properties");
    static const char *const fields[] = {
        "call_id",    "created_at", "updated_at",    "in_progress",      "state",
        "direction",  "channel",    "phone_number",  "bot_phone_number", "provider_call_id",
        "lang",       "initiate",   "claim",         "messages",         "reminders",
        "next",       "synthesis",  "recording_url", "recording_id",     "recording_duration_ms",
        "end_reason", "row_version"};
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(fields); i++) {
        if (!json_object_get(call_props, fields[i]))
            fail_msg("Call schema lacks %s", fields[i]);
    }
    const json_t *err =
        json_object_get(json_object_get(json_object_get(schemas, "Error"), "properties"), "error");
    assert_non_null(json_object_get(json_object_get(err, "properties"), "details"));
    /* Every $ref points at a component that exists. */
    const char *p = text;
    while ((p = strstr(p, "\"$ref\": \"#/components/")) != NULL) {
        p += strlen("\"$ref\": \"#/components/");
        const char *slash = strchr(p, '/'), *end = strchr(p, '"');
        assert_true(slash && end && slash < end);
        char kind[32], name[64];
        assert_true((size_t)(slash - p) < sizeof kind && (size_t)(end - slash - 1) < sizeof name);
        memcpy(kind, p, (size_t)(slash - p));
        kind[slash - p] = '\0';
        memcpy(name, slash + 1, (size_t)(end - slash - 1));
        name[end - slash - 1] = '\0';
        if (!json_object_get(json_object_get(comp, kind), name))
            fail_msg("dangling $ref %s/%s", kind, name);
    }
    /* Health, this document and webhooks are public; the rest needs the token. */
    const json_t *live = json_object_get(json_object_get(paths, "/health/liveness"), "get");
    assert_int_equal(json_array_size(json_object_get(live, "security")), 0);
    assert_non_null(json_object_get(live, "security"));
    const json_t *sms = json_object_get(json_object_get(paths, "/twilio/sms"), "post");
    assert_non_null(json_object_get(sms, "security"));
    assert_int_equal(json_array_size(json_object_get(doc, "security")), 1);
    /* Every POST may meet a database that cannot write: 503 with Retry-After;
     * but the chat's /next, which stores nothing (router.c, route_writes). */
    const char *key;
    json_t *item;
    json_object_foreach((json_t *)paths, key, item)
    {
        const json_t *post = json_object_get(item, "post");
        const json_t *st503 = json_object_get(json_object_get(post, "responses"), "503");
        if (post && strcmp(key, "/chat/{call_id}/next") == 0 && st503)
            fail_msg("POST %s documents 503, but it writes nothing", key);
        else if (post && strcmp(key, "/chat/{call_id}/next") != 0 && !st503)
            fail_msg("POST %s does not document 503", key);
    }
    const json_t *unavailable = json_object_get(json_object_get(comp, "responses"), "Unavailable");
    assert_non_null(json_object_get(json_object_get(unavailable, "headers"), "Retry-After"));
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_openapi),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
