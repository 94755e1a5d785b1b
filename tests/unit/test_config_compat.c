/* Unit tests of config/compat.c and collect mode: the reference's
 * (call-center-ai) configuration files of both generations load as they are
 * (tests/data/reference/), their values land on our keys, what is ignored
 * says why once; its environment names; every problem in one pass. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "config/config.h"
#include "config/keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct logcap {
    int warnings;
    char all[8192];
} logcap;

static void capture_log(ccai_log_level level, const char *msg, void *ud)
{
    logcap *lc = ud;
    if (level != CCAI_LOG_WARN)
        return;
    lc->warnings++;
    size_t n = strlen(lc->all);
    snprintf(lc->all + n, sizeof lc->all - n, "%s\n", msg);
}

static ccai_config *load_ref(const char *name, logcap *lc)
{
    const char *srcdir = getenv("CCAI_TEST_SRCDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/data/reference/%s", srcdir && *srcdir ? srcdir : ".",
             name);
    ccai_config *cfg = NULL;
    assert_int_equal(ccai_config_new(&cfg), CCAI_OK);
    assert_int_equal(ccai_config_set_logger(cfg, capture_log, lc, CCAI_LOG_DEBUG), CCAI_OK);
    ccai_status st = ccai_config_load(cfg, path);
    if (st != CCAI_OK)
        fail_msg("%s: %s: %s", name, ccai_status_str(st), ccai_config_errmsg(cfg));
    st = ccai_config_validate(cfg);
    if (st != CCAI_OK)
        fail_msg("%s: validate: %s", name, ccai_config_errmsg(cfg));
    return cfg;
}

static void expect(const ccai_config *cfg, const char *key, const char *want)
{
    const char *got = ccai_config_get(cfg, key);
    if (!want) {
        if (got)
            fail_msg("%s: expected unset, got \"%s\"", key, got);
        return;
    }
    if (!got || strcmp(got, want) != 0)
        fail_msg("%s: expected \"%s\", got \"%s\"", key, want, got ? got : "(unset)");
}

static void expect_warning(const logcap *lc, const char *part)
{
    if (!strstr(lc->all, part))
        fail_msg("no warning with \"%s\" in:\n%s", part, lc->all);
}

/* The README's full config (v9): nested llm sections, queue names,
 * cognitive_service, the v9 SQLite database, the retries' old name. */
static void test_v9_readme(void **state)
{
    (void)state;
    logcap lc = {0};
    ccai_config *cfg = load_ref("config-v9-readme.yaml", &lc);

    expect(cfg, "resources.public_url", "https://ccaitest.blob.core.windows.net/public");
    expect(cfg, "conversation.initiate.agent_phone_number", "+33655443322");
    expect(cfg, "conversation.initiate.bot_company", "Fabrikam Assurances");
    expect(cfg, "conversation.initiate.bot_name", "Robert");
    const char *task = ccai_config_get(cfg, "conversation.initiate.task");
    assert_non_null(task);
    assert_non_null(strstr(task, "home insurance claim"));
    const json_t *lang = Ccai_config_json(cfg, "conversation.initiate.lang");
    assert_string_equal(json_string_value(json_object_get(lang, "default_short_code")), "fr-FR");
    const json_t *avail = json_object_get(lang, "availables");
    assert_int_equal(json_array_size(avail), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(avail, 0), "voice")),
                        "fr-FR-DeniseNeural");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(avail, 1), "custom_voice_endpoint_id")),
        "0d1e2f30-aaaa-bbbb-cccc-123456789abc");
    expect(cfg, "conversation.answer_hard_timeout_sec", "180");
    expect(cfg, "conversation.answer_soft_timeout_sec", "30");
    expect(cfg, "conversation.callback_timeout_hour", "72");
    expect(cfg, "conversation.phone_silence_timeout_sec", "1");
    expect(cfg, "conversation.slow_llm_for_chat", "true");
    expect(cfg, "conversation.recognition_retry_max", "2");

    expect(cfg, "communication_services.access_key", "c2VjcmV0LWtleS1mb3ItYWNzLXRlc3Q=");
    expect(cfg, "communication_services.endpoint",
           "https://ccaitest.france.communication.azure.com");
    expect(cfg, "communication_services.phone_number", "+33699887766");
    expect(cfg, "communication_services.resource_id", "7a1c0d5e-0000-4000-8000-0123456789ab");
    expect(cfg, "communication_services.cognitive_services_endpoint",
           "https://ccaitest.cognitiveservices.azure.com");

    expect(cfg, "llm.fast.mode", "azure_openai");
    expect(cfg, "llm.fast.api_key", "fast-secret-key");
    expect(cfg, "llm.fast.context", "16385");
    expect(cfg, "llm.fast.deployment", "gpt-4o-mini-2024-07-18");
    expect(cfg, "llm.fast.endpoint", "https://ccaitest.openai.azure.com");
    expect(cfg, "llm.fast.model", "gpt-4o-mini");
    expect(cfg, "llm.fast.auth", "auto");
    expect(cfg, "llm.slow.mode", "openai");
    expect(cfg, "llm.slow.api_key", "sk-slow-secret");
    expect(cfg, "llm.slow.context", "128000");
    expect(cfg, "llm.slow.endpoint", "https://api.openai.com");
    expect(cfg, "llm.slow.model", "gpt-4o");
    expect(cfg, "llm.slow.deployment", NULL); /* from the azure_openai section: ignored */

    expect(cfg, "database.mode", "sqlite");
    expect(cfg, "database.sqlite.path", "ccai.sqlite");
    expect(cfg, "reference.sqlite.database", ".ccaitest");
    expect(cfg, "reference.sqlite.table", "calls");
    expect(cfg, "reference.sqlite.schema_version", "3");

    expect(cfg, "sms.mode", "twilio");
    expect(cfg, "sms.twilio.account_sid", "AC0123456789abcdef0123456789abcdef");
    expect(cfg, "sms.twilio.auth_token", "twilio-secret");
    expect(cfg, "sms.twilio.phone_number", "+33611223344");
    expect(cfg, "prompts.tts.hello_tpl", "Bonjour, je suis {bot_name} de {bot_company}.");
    expect(cfg, "prompts.tts.welcome_back_tpl", "Re-bonjour, c'est {bot_name}.");

    /* One warning per ignored name, each saying why. */
    expect_warning(&lc, "communication_services.call_queue_name: ignored: libccai takes Event "
                        "Grid's events on its webhook");
    expect_warning(&lc, "communication_services.post_queue_name: ignored");
    expect_warning(&lc, "communication_services.sms_queue_name: ignored");
    expect_warning(&lc, "llm.fast.azure_openai.streaming: ignored: libccai always streams");
    expect_warning(&lc, "llm.slow.openai.streaming: ignored");
    expect_warning(&lc, "llm.slow.azure_openai: ignored: the tier's mode is openai");
    expect_warning(&lc, "ai_search: ignored: libccai searches its own documents");
    expect_warning(&lc, "ai_translation: ignored");
    assert_int_equal(lc.warnings, 8);
    ccai_config_free(cfg);
}

/* config-remote-example.yaml: the light file with empty sections. */
static void test_remote_example(void **state)
{
    (void)state;
    logcap lc = {0};
    ccai_config *cfg = load_ref("config-remote-example.yaml", &lc);
    ccai_config *def = NULL;
    assert_int_equal(ccai_config_new(&def), CCAI_OK);
    expect(cfg, "conversation.initiate.agent_phone_number", "+33600000001");
    expect(cfg, "conversation.initiate.bot_company", "Contoso");
    expect(cfg, "conversation.initiate.bot_name", "Amélie");
    expect(cfg, "communication_services.phone_number", "+33600000002");
    /* lang: {} keeps the default languages; sms: {} and prompts: {} nothing. */
    assert_true(json_equal(Ccai_config_json(cfg, "conversation.initiate.lang"),
                           Ccai_config_json(def, "conversation.initiate.lang")));
    expect(cfg, "sms.mode", "none");
    expect(cfg, "llm.fast.mode", "none");
    assert_int_equal(lc.warnings, 0);
    ccai_config_free(def);
    ccai_config_free(cfg);
}

/* The latest generation: LLM tiers with no mode and no key (Entra ID),
 * Cosmos DB, App Configuration, queues, monitoring. */
static void test_latest(void **state)
{
    (void)state;
    logcap lc = {0};
    ccai_config *cfg = load_ref("config-latest.yaml", &lc);
    expect(cfg, "public_domain", "https://ccai.example.com");
    expect(cfg, "conversation.initiate.lang.default_short_code", "en-US");
    assert_string_equal(
        json_string_value(json_object_get(Ccai_config_json(cfg, "conversation.initiate.lang"),
                                          "default_short_code")),
        "en-US");
    expect(cfg, "llm.fast.mode", "azure_openai");
    expect(cfg, "llm.fast.api_key", NULL);
    expect(cfg, "llm.fast.auth", "auto");
    expect(cfg, "llm.fast.deployment", "gpt-4.1-nano-2025-04-14");
    expect(cfg, "llm.fast.endpoint", "https://ccai.openai.azure.com");
    expect(cfg, "llm.fast.context", "1047576");
    expect(cfg, "llm.fast.api_version", "2024-10-21");
    expect(cfg, "llm.fast.seed", "42");
    expect(cfg, "llm.slow.mode", "azure_openai");
    expect(cfg, "llm.slow.deployment", "gpt-4.1-2025-04-14");
    expect(cfg, "communication_services.cognitive_services_endpoint",
           "https://ccai.cognitiveservices.azure.com");
    expect(cfg, "communication_services.recording_container_url",
           "https://ccai.blob.core.windows.net/recordings");
    expect(cfg, "cache.mode", "redis");
    expect(cfg, "cache.redis.host", "ccai.redis.cache.windows.net");
    expect(cfg, "cache.redis.port", "6380");
    expect(cfg, "cache.redis.password", "redis-secret");
    expect(cfg, "sms.mode", "communication_services");
    expect(cfg, "database.mode", "sqlite");
    expect_warning(&lc, "cognitive_service.region: ignored: libccai's own Azure speech");
    expect_warning(&lc, "cognitive_service.resource_id: ignored");
    expect_warning(&lc, "database.cosmos_db: ignored: Cosmos DB is not supported");
    expect_warning(&lc, "app_configuration: ignored: feature flags are keys of this file");
    expect_warning(&lc, "queue: ignored: no Storage queues");
    expect_warning(&lc, "monitoring: ignored: logs are JSON lines");
    expect_warning(&lc, "version: ignored");
    expect_warning(&lc, "ai_search: ignored");
    expect_warning(&lc, "ai_translation: ignored");
    assert_int_equal(lc.warnings, 9);
    ccai_config_free(cfg);
}

/* The reference's environment names (pydantic-settings, "__" nesting). */
static void test_env_names(void **state)
{
    (void)state;
    logcap lc = {0};
    ccai_config *cfg = NULL;
    assert_int_equal(ccai_config_new(&cfg), CCAI_OK);
    assert_int_equal(ccai_config_set_logger(cfg, capture_log, &lc, CCAI_LOG_DEBUG), CCAI_OK);
    const char *env[] = {
        "LLM__FAST__MODE=azure_openai",
        "LLM__FAST__AZURE_OPENAI__ENDPOINT=https://env.openai.azure.com",
        "LLM__FAST__AZURE_OPENAI__DEPLOYMENT=gpt-4o-mini",
        "LLM__FAST__AZURE_OPENAI__API_KEY=env-key",
        "LLM__SLOW__OPENAI__MODEL=gpt-4o",
        "LLM__FAST__AZURE_OPENAI__STREAMING=true",
        "CONVERSATION__VOICE_RECOGNITION_RETRY_MAX=5",
        "COMMUNICATION_SERVICES__CALL_QUEUE_NAME=call-33600000002",
        "COGNITIVE_SERVICE__ENDPOINT=https://env.cognitiveservices.azure.com",
        "DATABASE__SQLITE__DATABASE=.envlocal",
        "DATABASE__MODE=cosmos_db",
        NULL,
    };
    ccai_status st = ccai_config_apply_env(cfg, env);
    if (st != CCAI_OK)
        fail_msg("%s", ccai_config_errmsg(cfg));
    expect(cfg, "llm.fast.mode", "azure_openai");
    expect(cfg, "llm.fast.endpoint", "https://env.openai.azure.com");
    expect(cfg, "llm.fast.deployment", "gpt-4o-mini");
    expect(cfg, "llm.fast.api_key", "env-key");
    expect(cfg, "llm.slow.model", "gpt-4o");
    expect(cfg, "conversation.recognition_retry_max", "5");
    expect(cfg, "communication_services.cognitive_services_endpoint",
           "https://env.cognitiveservices.azure.com");
    expect(cfg, "reference.sqlite.database", ".envlocal");
    expect(cfg, "database.mode", "sqlite");
    expect_warning(&lc, "LLM__FAST__AZURE_OPENAI__STREAMING: ignored: libccai always streams");
    expect_warning(&lc, "COMMUNICATION_SERVICES__CALL_QUEUE_NAME: ignored");
    expect_warning(&lc, "DATABASE__MODE: cosmos_db ignored: Cosmos DB is not supported");
    assert_int_equal(lc.warnings, 3);

    /* A value of the wrong type under an ignored name is still an error. */
    const char *bad[] = {"LLM__FAST__STREAMING=maybe", NULL};
    assert_int_equal(ccai_config_apply_env(cfg, bad), CCAI_ERR_CONFIG);
    assert_non_null(strstr(ccai_config_errmsg(cfg), "llm.fast.streaming"));
    ccai_config_free(cfg);
}

/* Every problem in one pass: unknown keys, a bad streaming value, an
 * environment error and the cross-key rules, from one load. */
static const char one_pass_yaml[] = "conversation:\n"
                                    "  initiate:\n"
                                    "    bot_nmae: Robert\n"
                                    "  answer_hard_timeout_sec: 20\n"
                                    "llm:\n"
                                    "  fast:\n"
                                    "    mode: azure_openai\n"
                                    "    azure_openai:\n"
                                    "      deployment: gpt-4o-mini\n"
                                    "      streaming: maybe\n"
                                    "    auth: api_key\n"
                                    "  slow:\n"
                                    "    mode: openai\n"
                                    "    openai:\n"
                                    "      model: gpt-4o\n"
                                    "      streaming: true\n";

static void test_one_pass(void **state)
{
    (void)state;
    logcap lc = {0};
    ccai_config *cfg = NULL;
    assert_int_equal(ccai_config_new(&cfg), CCAI_OK);
    assert_int_equal(ccai_config_set_logger(cfg, capture_log, &lc, CCAI_LOG_DEBUG), CCAI_OK);

    /* Without collect mode: the first round only (as before). */
    assert_int_equal(ccai_config_load_string(cfg, one_pass_yaml, strlen(one_pass_yaml), "a.yaml"),
                     CCAI_ERR_CONFIG);
    assert_int_equal(ccai_config_error_count(cfg), 2);

    assert_int_equal(ccai_config_set_collect(cfg, 1), CCAI_OK);
    assert_int_equal(ccai_config_load_string(cfg, one_pass_yaml, strlen(one_pass_yaml), "a.yaml"),
                     CCAI_OK);
    const char *env[] = {"CONVERSATION__ANSWER_SOFT_TIMEOUT_SEC=soon", "SERVER__LISTEN=nowhere",
                         NULL};
    assert_int_equal(ccai_config_apply_env(cfg, env), CCAI_OK);
    /* The good values are in. */
    expect(cfg, "llm.fast.deployment", "gpt-4o-mini");
    expect(cfg, "conversation.answer_hard_timeout_sec", "20");
    assert_int_equal(ccai_config_validate(cfg), CCAI_ERR_CONFIG);
    const char *msg = ccai_config_errmsg(cfg);
    static const char *const want[] = {
        "a.yaml:3:5: conversation.initiate.bot_nmae: unknown key; did you mean "
        "conversation.initiate.bot_name?",
        "a.yaml:10:18: llm.fast.azure_openai.streaming: expected a boolean",
        "<env>:0:0: conversation.answer_soft_timeout_sec: expected an integer",
        "<config>:0:0: llm.fast.endpoint: required when llm.fast.mode is azure_openai",
        "<config>:0:0: llm.slow.endpoint: required when llm.slow.mode is openai",
        "<config>:0:0: llm.fast.api_key: required when llm.fast.auth is api_key",
        "<config>:0:0: server.listen: expected HOST:PORT",
    };
    const char *at = msg;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const char *hit = strstr(at, want[i]);
        if (!hit)
            fail_msg("missing (or out of order) \"%s\" in:\n%s", want[i], msg);
        at = hit + strlen(want[i]);
    }
    assert_int_equal(ccai_config_error_count(cfg), sizeof want / sizeof want[0]);
    const char *key = NULL;
    unsigned line = 0, col = 0;
    assert_int_equal(ccai_config_error(cfg, 0, &key, &line, &col, NULL), CCAI_OK);
    assert_string_equal(key, "conversation.initiate.bot_nmae");
    assert_int_equal(line, 3);

    /* Validate again: the load errors were reported once; the rules stay. */
    assert_int_equal(ccai_config_validate(cfg), CCAI_ERR_CONFIG);
    assert_null(strstr(ccai_config_errmsg(cfg), "bot_nmae"));
    assert_non_null(strstr(ccai_config_errmsg(cfg), "llm.fast.endpoint"));

    /* A file that is not YAML still stops at once. */
    assert_int_equal(ccai_config_load_string(cfg, "a: [", 4, "b.yaml"), CCAI_ERR_PARSE);
    ccai_config_free(cfg);
}

/* Collect mode goes with a copy (ccai_ctx_new() validates its own). */
static void test_one_pass_copy(void **state)
{
    (void)state;
    ccai_config *cfg = NULL;
    assert_int_equal(ccai_config_new(&cfg), CCAI_OK);
    assert_int_equal(ccai_config_set_collect(cfg, 1), CCAI_OK);
    assert_int_equal(ccai_config_load_string(cfg, "nope: 1\n", 8, "c.yaml"), CCAI_OK);
    ccai_config *copy = Ccai_config_copy(cfg);
    assert_non_null(copy);
    assert_int_equal(ccai_config_validate(copy), CCAI_ERR_CONFIG);
    assert_non_null(strstr(ccai_config_errmsg(copy), "c.yaml:1:1: nope: unknown key"));
    ccai_config_free(copy);
    assert_int_equal(ccai_config_validate(cfg), CCAI_ERR_CONFIG);
    assert_int_equal(ccai_config_set_collect(NULL, 1), CCAI_ERR_INVALID_ARG);
    ccai_config_free(cfg);
}

/* A tier without a mode: an Azure endpoint or a deployment means
 * azure_openai (the latest's shape); null values mean nothing. */
static void test_mode_inference(void **state)
{
    (void)state;
    ccai_config *cfg = NULL;
    assert_int_equal(ccai_config_new(&cfg), CCAI_OK);
    static const char y1[] = "llm:\n  fast:\n    deployment: ~\n    endpoint: ~\n"
                             "  slow:\n    endpoint: https://r.openai.azure.com/\n";
    assert_int_equal(ccai_config_load_string(cfg, y1, sizeof y1 - 1, "m.yaml"), CCAI_OK);
    expect(cfg, "llm.fast.mode", "none");
    expect(cfg, "llm.slow.mode", "azure_openai");
    static const char y2[] = "llm:\n  fast:\n    openai: {endpoint: https://api.openai.com, "
                             "api_key: k}\n";
    assert_int_equal(ccai_config_load_string(cfg, y2, sizeof y2 - 1, "m.yaml"), CCAI_OK);
    expect(cfg, "llm.fast.mode", "openai");
    expect(cfg, "llm.fast.endpoint", "https://api.openai.com");
    /* Both spellings of one key in a tier: a duplicate. */
    static const char y3[] = "llm:\n  fast:\n    mode: azure_openai\n    endpoint: https://a\n"
                             "    azure_openai: {endpoint: https://b}\n";
    assert_int_equal(ccai_config_load_string(cfg, y3, sizeof y3 - 1, "m.yaml"), CCAI_ERR_CONFIG);
    assert_non_null(strstr(ccai_config_errmsg(cfg), "duplicate key"));
    ccai_config_free(cfg);
}

/* The alias table itself. */
static void test_alias_table(void **state)
{
    (void)state;
    char out[CCAI_KEY_PATH_MAX];
    const char *why = NULL;
    Ccai_key_type check;
    assert_int_equal(Ccai_key_alias("llm.slow.azure_openai.context", out, sizeof out, &why, &check),
                     CCAI_ALIAS_MAPPED);
    assert_string_equal(out, "llm.slow.context");
    assert_int_equal(
        Ccai_key_alias("conversation.default_initiate.bot_name", out, sizeof out, &why, &check),
        CCAI_ALIAS_MAPPED);
    assert_string_equal(out, "conversation.initiate.bot_name");
    assert_int_equal(Ccai_key_alias("llm.fast.streaming", out, sizeof out, &why, &check),
                     CCAI_ALIAS_IGNORED);
    assert_int_equal(check, CCAI_KEY_BOOL);
    assert_int_equal(Ccai_key_alias("llm.fast.streaming.x", out, sizeof out, &why, &check),
                     CCAI_ALIAS_NONE);
    assert_int_equal(Ccai_key_alias("llm", out, sizeof out, &why, &check), CCAI_ALIAS_NONE);
    assert_int_equal(Ccai_key_alias("", out, sizeof out, &why, &check), CCAI_ALIAS_NONE);
    assert_int_equal(Ccai_key_alias("llm..azure_openai", out, sizeof out, &why, &check),
                     CCAI_ALIAS_NONE);
    assert_true(Ccai_key_alias_is_section("cognitive_service"));
    assert_true(Ccai_key_alias_is_section("llm.fast"));
    assert_false(Ccai_key_alias_is_section("cognitive_service.endpoint"));
    assert_false(Ccai_key_alias_is_section("nothing"));
    /* Every mapped target is one of our keys or sections. */
    static const char *const refs[] = {
        "llm.fast.azure_openai.endpoint",
        "llm.fast.openai.api_key",
        "conversation.voice_recognition_retry_max",
        "cognitive_service.endpoint",
        "database.sqlite.database",
        "database.sqlite.table",
        "database.sqlite.schema_version",
    };
    for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++) {
        assert_int_equal(Ccai_key_alias(refs[i], out, sizeof out, &why, &check), CCAI_ALIAS_MAPPED);
        if (!Ccai_key_find(out))
            fail_msg("%s -> %s: no such key", refs[i], out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v9_readme),   cmocka_unit_test(test_remote_example),
        cmocka_unit_test(test_latest),      cmocka_unit_test(test_env_names),
        cmocka_unit_test(test_one_pass),    cmocka_unit_test(test_one_pass_copy),
        cmocka_unit_test(test_alias_table), cmocka_unit_test(test_mode_inference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
