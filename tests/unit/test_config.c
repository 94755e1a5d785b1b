/* Unit tests of config/: defaults, YAML loading and its errors, environment,
 * set/get, validation, JSON dump, limits and out-of-memory behaviour. */
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
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

static int setup_cfg(void **state)
{
    ccai_config *cfg = NULL;
    assert_int_equal(ccai_config_new(&cfg), CCAI_OK);
    *state = cfg;
    return 0;
}

static int teardown_cfg(void **state)
{
    ccai_config_free(*state);
    return 0;
}

static ccai_status load(ccai_config *cfg, const char *yaml)
{
    return ccai_config_load_string(cfg, yaml, strlen(yaml), "test.yaml");
}

/* Write @text to a fresh temporary file; the caller unlinks and frees. */
static char *write_temp(const char *text)
{
    char *path = strdup("/tmp/ccai-test-config-XXXXXX");
    assert_non_null(path);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t len = strlen(text);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    return path;
}

static void assert_error(const ccai_config *cfg, size_t index, const char *key, unsigned line,
                         unsigned col, const char *msg_part)
{
    const char *k = NULL, *m = NULL;
    unsigned l = 99, c = 99;
    assert_int_equal(ccai_config_error(cfg, index, &k, &l, &c, &m), CCAI_OK);
    assert_string_equal(k, key);
    assert_int_equal(l, line);
    assert_int_equal(c, col);
    if (!strstr(m, msg_part))
        fail_msg("error %zu: \"%s\" lacks \"%s\"", index, m, msg_part);
}

typedef struct logcap {
    int warnings;
    char last[512];
} logcap;

static void capture_log(ccai_log_level level, const char *msg, void *ud)
{
    logcap *lc = ud;
    if (level == CCAI_LOG_WARN)
        lc->warnings++;
    snprintf(lc->last, sizeof lc->last, "%s", msg);
}

/* ------------------------------------------------------------------------ */
/* Defaults                                                                 */
/* ------------------------------------------------------------------------ */

static void test_defaults(void **state)
{
    ccai_config *cfg = *state;
    assert_string_equal(ccai_config_get(cfg, "conversation.initiate.bot_name"), "Amélie");
    assert_string_equal(ccai_config_get(cfg, "conversation.initiate.bot_company"), "Contoso");
    assert_string_equal(ccai_config_get(cfg, "conversation.initiate.agent_phone_number"),
                        "+33612345678");
    assert_non_null(strstr(ccai_config_get(cfg, "conversation.initiate.task"), "claim"));
    assert_string_equal(ccai_config_get(cfg, "conversation.initiate.prosody_rate"), "1");
    assert_string_equal(ccai_config_get(cfg, "conversation.answer_hard_timeout_sec"), "15");
    assert_string_equal(ccai_config_get(cfg, "conversation.answer_soft_timeout_sec"), "4");
    assert_string_equal(ccai_config_get(cfg, "conversation.slow_llm_for_chat"), "false");
    assert_string_equal(ccai_config_get(cfg, "llm.fast.mode"), "none");
    assert_string_equal(ccai_config_get(cfg, "llm.fast.model"), "gpt-4.1-nano");
    assert_string_equal(ccai_config_get(cfg, "llm.slow.model"), "gpt-4.1");
    assert_string_equal(ccai_config_get(cfg, "llm.slow.api_version"), "2024-10-21");
    assert_string_equal(ccai_config_get(cfg, "llm.fast.temperature"), "0");
    assert_string_equal(ccai_config_get(cfg, "database.mode"), "sqlite");
    assert_string_equal(ccai_config_get(cfg, "database.sqlite.path"), "ccai.sqlite");
    assert_string_equal(ccai_config_get(cfg, "server.listen"), "127.0.0.1:8080");
    assert_string_equal(ccai_config_get(cfg, "twilio.api_base_url"), "https://api.twilio.com");
    assert_string_equal(ccai_config_get(cfg, "log.level"), "info");
    assert_string_equal(ccai_config_get(cfg, "communication_services.phone_number"), "");
    /* Unset keys and non-scalars read NULL. */
    assert_null(ccai_config_get(cfg, "llm.fast.api_key"));
    assert_null(ccai_config_get(cfg, "llm.fast.endpoint"));
    assert_null(ccai_config_get(cfg, "prompts.tts.hello_tpl"));
    assert_null(ccai_config_get(cfg, "conversation.initiate.claim"));
    assert_null(ccai_config_get(cfg, "conversation.initiate"));
    assert_null(ccai_config_get(cfg, "no.such.key"));

    /* Internal typed getters. */
    assert_int_equal(Ccai_config_int(cfg, "llm.fast.context", -1), 128000);
    assert_int_equal(Ccai_config_int(cfg, "llm.fast.max_tokens", -1), 160);
    assert_int_equal(Ccai_config_int(cfg, "database.sqlite.busy_timeout_ms", -1), 10);
    assert_int_equal(Ccai_config_int(cfg, "server.max_body_bytes", -1), 1048576);
    assert_int_equal(Ccai_config_int(cfg, "llm.fast.seed", -1), 42);
    assert_int_equal(Ccai_config_int(cfg, "llm.fast.endpoint", -7), -7);
    assert_true(Ccai_config_double(cfg, "conversation.initiate.prosody_rate", 0) == 1.0);
    assert_false(Ccai_config_bool(cfg, "conversation.recording_enabled", true));
    assert_true(Ccai_config_bool(cfg, "no.such", true));
    assert_null(Ccai_config_str(cfg, "server.api_token"));
    const json_t *claim = Ccai_config_json(cfg, "conversation.initiate.claim");
    assert_true(json_is_array(claim));
    assert_int_equal(json_array_size(claim), 0);
    const json_t *lang = Ccai_config_json(cfg, "conversation.initiate.lang");
    assert_string_equal(json_string_value(json_object_get(lang, "default_short_code")), "fr-FR");
    assert_int_equal(json_array_size(json_object_get(lang, "availables")), 4);
    assert_string_equal(Ccai_config_str(cfg, "conversation.initiate.lang.default_short_code"),
                        "fr-FR");
    const json_t *zh = json_array_get(json_object_get(lang, "availables"), 3);
    assert_string_equal(json_string_value(json_object_get(zh, "voice")),
                        "zh-CN-XiaoyuMultilingualNeural");
    assert_int_equal(json_array_size(json_object_get(zh, "pronunciations_en")), 3);
    assert_true(json_is_object(Ccai_config_root(cfg)));
    assert_string_equal(ccai_config_errmsg(cfg), "");
    assert_int_equal(ccai_config_error_count(cfg), 0);
    /* The defaults validate. */
    assert_int_equal(ccai_config_validate(cfg), CCAI_OK);
}

/* Every default of the table parses as its own type. */
static void test_key_table(void **state)
{
    (void)state;
    size_t n = Ccai_keys_count();
    assert_true(n > 90);
    for (size_t i = 0; i < n; i++) {
        const Ccai_key *k = Ccai_key_at(i);
        assert_non_null(k->doc);
        assert_true(strlen(k->path) < CCAI_KEY_PATH_MAX);
        assert_ptr_equal(Ccai_key_find(k->path), k);
        json_t *def = NULL;
        assert_int_equal(Ccai_key_default(k, &def), CCAI_CONV_OK);
        if (k->def && !def)
            fail_msg("default of %s does not parse", k->path);
        if (k->type == CCAI_KEY_ENUM)
            assert_non_null(k->choices);
        json_decref(def);
    }
    assert_null(Ccai_key_at(n));
    assert_true(Ccai_key_is_section("llm"));
    assert_true(Ccai_key_is_section("llm.fast"));
    assert_false(Ccai_key_is_section("llm.fast.mode"));
    assert_false(Ccai_key_is_section("ll"));
}

static void test_invalid_args(void **state)
{
    ccai_config *cfg = *state;
    assert_int_equal(ccai_config_new(NULL), CCAI_ERR_INVALID_ARG);
    ccai_config_free(NULL);
    assert_int_equal(ccai_config_load(NULL, "x"), CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_config_load(cfg, NULL), CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_config_load_string(NULL, "a: 1", 4, NULL), CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_config_load_string(cfg, NULL, 4, NULL), CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_config_apply_env(NULL, NULL), CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_config_set(NULL, "log.level", "info"), CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_config_set(cfg, NULL, "info"), CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_config_set(cfg, "log.level", NULL), CCAI_ERR_INVALID_ARG);
    assert_null(ccai_config_get(NULL, "log.level"));
    assert_null(ccai_config_get(cfg, NULL));
    assert_int_equal(ccai_config_validate(NULL), CCAI_ERR_INVALID_ARG);
    char *json = NULL;
    assert_int_equal(ccai_config_to_json(NULL, 0, &json), CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_config_to_json(cfg, 0, NULL), CCAI_ERR_INVALID_ARG);
    assert_string_equal(ccai_config_errmsg(NULL), "");
    assert_int_equal(ccai_config_error_count(NULL), 0);
    assert_int_equal(ccai_config_error(NULL, 0, NULL, NULL, NULL, NULL), CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_config_error(cfg, 0, NULL, NULL, NULL, NULL), CCAI_ERR_NOT_FOUND);
    assert_int_equal(ccai_config_set_logger(NULL, NULL, NULL, CCAI_LOG_INFO), CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_config_set_logger(cfg, NULL, NULL, (ccai_log_level)9),
                     CCAI_ERR_INVALID_ARG);
    assert_null(Ccai_config_copy(NULL));
    /* An empty document changes nothing. */
    assert_int_equal(ccai_config_load_string(cfg, NULL, 0, NULL), CCAI_OK);
    assert_int_equal(load(cfg, "# only a comment\n"), CCAI_OK);
    assert_int_equal(load(cfg, "~\n"), CCAI_OK);
}

/* ------------------------------------------------------------------------ */
/* Loading                                                                  */
/* ------------------------------------------------------------------------ */

static const char valid_yaml[] = "conversation:\n"
                                 "  initiate:\n"
                                 "    bot_name: Robert\n"
                                 "    bot_company: \"1234\"\n"
                                 "    prosody_rate: 1.1\n"
                                 "    claim:\n"
                                 "      - name: incident_location\n"
                                 "        type: text\n"
                                 "        description: Where it happened\n"
                                 "      - {name: incident_date, type: datetime}\n"
                                 "    lang:\n"
                                 "      default_short_code: en-US\n"
                                 "  answer_hard_timeout_sec: 0x20\n"
                                 "  recording_enabled: Yes\n"
                                 "  slow_llm_for_chat: ON\n"
                                 "llm:\n"
                                 "  fast:\n"
                                 "    mode: Azure_OpenAI\n"
                                 "    endpoint: https://example.openai.azure.com\n"
                                 "    api_key: sk-secret\n"
                                 "    context: 16385\n"
                                 "    temperature: 2\n"
                                 "prompts:\n"
                                 "  tts:\n"
                                 "    hello_tpl:\n"
                                 "      - Hello {bot_name}\n"
                                 "      - Hi\n"
                                 "    goodbye_tpl: \"[not a list]\"\n"
                                 "  llm:\n"
                                 "database:\n"
                                 "  sqlite: {path: /var/lib/ccai/db.sqlite}\n";

static void test_load_valid_file(void **state)
{
    ccai_config *cfg = *state;
    char *path = write_temp(valid_yaml);
    assert_int_equal(ccai_config_load(cfg, path), CCAI_OK);
    unlink(path);
    free(path);
    assert_string_equal(ccai_config_errmsg(cfg), "");
    assert_string_equal(Ccai_config_str(cfg, "conversation.initiate.bot_name"), "Robert");
    /* A quoted number for a string key stays a string. */
    assert_string_equal(Ccai_config_str(cfg, "conversation.initiate.bot_company"), "1234");
    assert_true(Ccai_config_double(cfg, "conversation.initiate.prosody_rate", 0) == 1.1);
    assert_string_equal(ccai_config_get(cfg, "conversation.initiate.prosody_rate"), "1.1");
    assert_int_equal(Ccai_config_int(cfg, "conversation.answer_hard_timeout_sec", 0), 32);
    assert_string_equal(ccai_config_get(cfg, "conversation.answer_hard_timeout_sec"), "32");
    assert_true(Ccai_config_bool(cfg, "conversation.recording_enabled", false));
    assert_string_equal(ccai_config_get(cfg, "conversation.slow_llm_for_chat"), "true");
    /* Enums are stored in their canonical spelling. */
    assert_string_equal(ccai_config_get(cfg, "llm.fast.mode"), "azure_openai");
    assert_int_equal(Ccai_config_int(cfg, "llm.fast.context", 0), 16385);
    assert_true(Ccai_config_double(cfg, "llm.fast.temperature", 0) == 2.0);
    /* Untouched keys keep their defaults. */
    assert_string_equal(ccai_config_get(cfg, "llm.fast.model"), "gpt-4.1-nano");
    assert_int_equal(Ccai_config_int(cfg, "conversation.answer_soft_timeout_sec", 0), 4);
    const json_t *claim = Ccai_config_json(cfg, "conversation.initiate.claim");
    assert_int_equal(json_array_size(claim), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(claim, 1), "type")),
                        "datetime");
    /* lang merges member-wise: the availables stay. */
    const json_t *lang = Ccai_config_json(cfg, "conversation.initiate.lang");
    assert_string_equal(json_string_value(json_object_get(lang, "default_short_code")), "en-US");
    assert_int_equal(json_array_size(json_object_get(lang, "availables")), 4);
    const json_t *hello = Ccai_config_json(cfg, "prompts.tts.hello_tpl");
    assert_int_equal(json_array_size(hello), 2);
    assert_null(ccai_config_get(cfg, "prompts.tts.hello_tpl"));
    /* A YAML scalar for a text list is one text, even when it looks like JSON. */
    assert_string_equal(ccai_config_get(cfg, "prompts.tts.goodbye_tpl"), "[not a list]");
    assert_string_equal(ccai_config_get(cfg, "database.sqlite.path"), "/var/lib/ccai/db.sqlite");

    /* A second file merges on top; null restores the default. */
    assert_int_equal(load(cfg, "conversation:\n  initiate:\n    bot_name: ~\n"
                               "llm:\n  fast:\n    context: null\n"),
                     CCAI_OK);
    assert_string_equal(ccai_config_get(cfg, "conversation.initiate.bot_name"), "Amélie");
    assert_string_equal(ccai_config_get(cfg, "llm.fast.context"), "128000");
    assert_string_equal(ccai_config_get(cfg, "llm.fast.endpoint"),
                        "https://example.openai.azure.com");
}

static void test_load_io_error(void **state)
{
    ccai_config *cfg = *state;
    assert_int_equal(ccai_config_load(cfg, "/nonexistent/ccai.yaml"), CCAI_ERR_IO);
    assert_int_equal(ccai_config_error_count(cfg), 1);
    assert_non_null(strstr(ccai_config_errmsg(cfg), "/nonexistent/ccai.yaml:0:0: cannot open"));
    assert_int_equal(ccai_config_load(cfg, "/tmp"), CCAI_ERR_IO);
}

static void test_multiple_errors(void **state)
{
    ccai_config *cfg = *state;
    const char *yaml = "conversation:\n"                  /* 1 */
                       "  answer_hard_timeout_sec: abc\n" /* 2 */
                       "  recording_enabled: maybe\n"     /* 3 */
                       "  initiate:\n"                    /* 4 */
                       "    bot_nam: Robert\n"            /* 5 */
                       "    prosody_rate: 3\n"            /* 6 */
                       "llm:\n"                           /* 7 */
                       "  fast:\n"                        /* 8 */
                       "    mode: gpt\n"                  /* 9 */
                       "    context: [1, 2]\n"            /* 10 */
                       "    api_key: {a: b}\n"            /* 11 */
                       "frobnicate: 1\n"                  /* 12 */
                       "database:\n"                      /* 13 */
                       "  mode: cosmos_db\n"              /* 14 */
                       "conversation:\n"                  /* 15 */
                       "  max_llm_rounds: 2\n";           /* 16 */
    assert_int_equal(load(cfg, yaml), CCAI_ERR_CONFIG);
    assert_int_equal(ccai_config_error_count(cfg), 9);
    assert_error(cfg, 0, "conversation.answer_hard_timeout_sec", 2, 28,
                 "expected an integer between 1 and 600, got \"abc\"");
    assert_error(cfg, 1, "conversation.recording_enabled", 3, 22,
                 "expected a boolean (true/false, yes/no, on/off), got \"maybe\"");
    assert_error(cfg, 2, "conversation.initiate.bot_nam", 5, 5,
                 "unknown key; did you mean conversation.initiate.bot_name?");
    assert_error(cfg, 3, "conversation.initiate.prosody_rate", 6, 19,
                 "expected a number between 0.75 and 1.25, got \"3\"");
    assert_error(cfg, 4, "llm.fast.mode", 9, 11,
                 "expected one of none, openai, azure_openai, openai_compatible, got \"gpt\"");
    assert_error(cfg, 5, "llm.fast.context", 10, 14, "expected an integer >= 256, got a list");
    assert_error(cfg, 6, "llm.fast.api_key", 11, 14, "expected a string, got a mapping");
    assert_error(cfg, 7, "frobnicate", 12, 1, "unknown key");
    /* The reference's cosmos_db is accepted and ignored (a warning). */
    assert_error(cfg, 8, "conversation", 15, 1, "duplicate key (first at line 1)");
    const char *msg = ccai_config_errmsg(cfg);
    assert_non_null(strstr(msg, "test.yaml:2:28: conversation.answer_hard_timeout_sec: expected "
                                "an integer between 1 and 600, got \"abc\"\n"));
    assert_non_null(strstr(msg, "test.yaml:12:1: frobnicate: unknown key\n"));
    /* One line per error, no trailing newline. */
    size_t lines = 1;
    for (const char *p = msg; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 9);
    assert_int_not_equal(msg[strlen(msg) - 1], '\n');
    assert_int_equal(ccai_config_error(cfg, 9, NULL, NULL, NULL, NULL), CCAI_ERR_NOT_FOUND);
    /* Nothing was merged. */
    assert_string_equal(ccai_config_get(cfg, "llm.fast.mode"), "none");
}

static void test_unknown_keys(void **state)
{
    ccai_config *cfg = *state;
    assert_int_equal(load(cfg, "llm:\n  fast:\n    endpont: https://x\n"), CCAI_ERR_CONFIG);
    assert_string_equal(ccai_config_errmsg(cfg),
                        "test.yaml:3:5: llm.fast.endpont: unknown key; did you mean "
                        "llm.fast.endpoint?");
    /* Swapped letters and misspelled sections. */
    assert_int_equal(load(cfg, "converstion:\n  x: 1\nlgo:\n  level: info\n"), CCAI_ERR_CONFIG);
    assert_error(cfg, 0, "converstion", 1, 1, "did you mean conversation?");
    assert_error(cfg, 1, "lgo", 3, 1, "did you mean log?");
    /* Nothing close: no suggestion. */
    assert_int_equal(load(cfg, "llm:\n  fast:\n    zzzzzzzzzz: 1\n"), CCAI_ERR_CONFIG);
    assert_string_equal(ccai_config_errmsg(cfg), "test.yaml:3:5: llm.fast.zzzzzzzzzz: unknown key");
    /* A section given a scalar, a non-text key. */
    assert_int_equal(load(cfg, "llm: 3\n? [a]\n: 1\n"), CCAI_ERR_CONFIG);
    assert_error(cfg, 0, "llm", 1, 6, "expected a mapping (a section), got a scalar");
    assert_error(cfg, 1, "", 2, 3, "keys must be text");
    /* The document must be a mapping. */
    assert_int_equal(load(cfg, "- a\n- b\n"), CCAI_ERR_CONFIG);
    assert_error(cfg, 0, "", 1, 1, "expected a mapping at the top of the document, got a list");
    /* Unknown members inside claim and lang. */
    assert_int_equal(load(cfg, "conversation:\n  initiate:\n    claim:\n      - name: a\n"
                               "        type: number\n"),
                     CCAI_ERR_CONFIG);
    assert_error(cfg, 0, "conversation.initiate.claim", 4, 7,
                 "field 1 (a): type must be one of text, datetime, email, phone_number");
    assert_int_equal(load(cfg, "conversation:\n  initiate:\n    lang:\n      default: fr-FR\n"),
                     CCAI_ERR_CONFIG);
    assert_error(cfg, 0, "conversation.initiate.lang", 4, 7,
                 "unknown member \"default\" (default_short_code, availables)");
    assert_string_equal(ccai_config_get(cfg, "conversation.initiate.bot_name"), "Amélie");
}

static void test_type_errors(void **state)
{
    ccai_config *cfg = *state;
    struct {
        const char *yaml, *msg;
    } cases[] = {
        {"conversation: {answer_hard_timeout_sec: 601}", "between 1 and 600, got \"601\""},
        {"conversation: {answer_hard_timeout_sec: 0}", "between 1 and 600, got \"0\""},
        {"conversation: {answer_hard_timeout_sec: 1.5}", "got \"1.5\""},
        {"conversation: {recognition_retry_max: 0}", "between 1 and 20"},
        {"llm: {fast: {context: 255}}", "expected an integer >= 256, got \"255\""},
        {"llm: {fast: {context: 99999999999999999999999}}", "expected an integer >= 256"},
        {"llm: {fast: {temperature: -0.1}}", "between 0 and 2, got \"-0.1\""},
        {"llm: {fast: {temperature: .nan}}", "got \".nan\""},
        {"llm: {fast: {temperature: 1e999}}", "got \"1e999\""},
        {"conversation: {initiate: {prosody_rate: fast}}", "between 0.75 and 1.25"},
        {"conversation: {recording_enabled: 2}", "expected a boolean"},
        {"conversation: {recording_enabled: [true]}", "expected a boolean"},
        {"conversation: {initiate: {bot_name: [a]}}", "expected a string, got a list"},
        {"conversation: {initiate: {claim: yes}}", "expected a list of fields"},
        {"conversation: {initiate: {claim: {name: a}}}", "expected a list of fields"},
        {"conversation: {initiate: {claim: [{name: 1a, type: text}]}}", "name must be an"},
        {"conversation: {initiate: {claim: [{name: a, type: text, x: 1}]}}",
         "unknown member \"x\""},
        {"conversation: {initiate: {claim: [{name: a, type: text}, {name: a, type: email}]}}",
         "name a is used twice"},
        {"conversation: {initiate: {lang: {availables: []}}}", "list of 1 to 64"},
        {"conversation: {initiate: {lang: {availables: [{short_code: fr-FR}]}}}",
         "short_code and voice are required"},
        {"conversation: {initiate: {lang: {availables: [{short_code: a, voice: b, "
         "pronunciations_en: x}]}}}",
         "pronunciations_en must be a list of strings"},
        {"prompts: {tts: {hello_tpl: [a, [b]]}}", "item 2: expected a string, got a list"},
        {"prompts: {tts: {hello_tpl: {a: b}}}", "expected a string or a list of strings"},
        {"log: {level: verbose}", "one of error, warn, info, debug, got \"verbose\""},
        {"server: {api_token: [x]}", "expected a string, got a list"},
        {"conversation: {initiate: {bot_name: \"a\\0b\"}}", "without NUL"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(load(cfg, cases[i].yaml), CCAI_ERR_CONFIG);
        assert_int_equal(ccai_config_error_count(cfg), 1);
        if (!strstr(ccai_config_errmsg(cfg), cases[i].msg))
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, ccai_config_errmsg(cfg), cases[i].msg);
    }
}

static void test_parse_errors(void **state)
{
    ccai_config *cfg = *state;
    assert_int_equal(load(cfg, "llm:\n  fast:\n    mode: none\n  - x\n"), CCAI_ERR_PARSE);
    assert_int_equal(ccai_config_error_count(cfg), 1);
    unsigned line = 0, col = 0;
    const char *msg = NULL;
    assert_int_equal(ccai_config_error(cfg, 0, NULL, &line, &col, &msg), CCAI_OK);
    assert_int_equal(line, 4);
    assert_int_equal(col, 3);
    assert_non_null(strstr(msg, "did not find expected key"));
    assert_non_null(strstr(ccai_config_errmsg(cfg), "test.yaml:4:3: "));

    assert_int_equal(load(cfg, "a: [1, 2\n"), CCAI_ERR_PARSE);
    assert_int_equal(load(cfg, "a: *nope\n"), CCAI_ERR_PARSE);
    assert_non_null(strstr(ccai_config_errmsg(cfg), "undefined alias"));
    assert_int_equal(load(cfg, "a: 1\n---\nb: 2\n"), CCAI_ERR_CONFIG);
    assert_non_null(strstr(ccai_config_errmsg(cfg), "test.yaml:2:1: only one YAML document"));
    assert_int_equal(ccai_config_load_string(cfg, "a: \xff\n", 6, NULL), CCAI_ERR_PARSE);
    assert_non_null(strstr(ccai_config_errmsg(cfg), "<string>:"));
    /* The errors of a failed operation go away with the next success. */
    assert_int_equal(load(cfg, "log: {level: debug}\n"), CCAI_OK);
    assert_string_equal(ccai_config_errmsg(cfg), "");
    assert_int_equal(ccai_config_error_count(cfg), 0);
}

static void test_duplicates_and_aliases(void **state)
{
    ccai_config *cfg = *state;
    assert_int_equal(load(cfg, "log:\n  level: info\n  level: debug\n"), CCAI_ERR_CONFIG);
    assert_error(cfg, 0, "log.level", 3, 3, "duplicate key (first at line 2)");
    assert_int_equal(
        load(cfg, "conversation: {initiate: {claim: [{name: a, name: b, type: text}]}}"),
        CCAI_ERR_CONFIG);
    assert_non_null(strstr(ccai_config_errmsg(cfg), "duplicate key \"name\""));
    /* Anchors and aliases work. */
    assert_int_equal(load(cfg, "llm:\n"
                               "  fast: &llm\n"
                               "    timeout_idle_ms: 7000\n"
                               "    retries: &r 5\n"
                               "  slow:\n"
                               "    retries: *r\n"
                               "conversation:\n"
                               "  initiate:\n"
                               "    claim: &c [{name: a, type: email}]\n"),
                     CCAI_OK);
    assert_string_equal(ccai_config_get(cfg, "llm.slow.retries"), "5");
    assert_string_equal(ccai_config_get(cfg, "llm.fast.timeout_idle_ms"), "7000");
}

static void test_ignored_sections(void **state)
{
    ccai_config *cfg = *state;
    logcap lc = {0};
    assert_int_equal(ccai_config_set_logger(cfg, capture_log, &lc, CCAI_LOG_DEBUG), CCAI_OK);
    assert_ptr_equal(Ccai_config_logger(cfg)->ud, &lc);
    assert_int_equal(load(cfg, "cache:\n  mode: redis\n  redis: {host: x, port: 6379}\n"
                               "monitoring: {application_insights: {enabled: true}}\n"
                               "version: 0.1.0\n"
                               "database:\n  mode: sqlite\n  cosmos_db: {container: calls}\n"
                               "ai_search: [anything, {goes: here}]\n"),
                     CCAI_OK);
    assert_int_equal(lc.warnings, 4);
    assert_string_equal(lc.last, "test.yaml:9:1: ai_search: ignored: libccai searches its own "
                                 "documents (ccai-cli docs import, documents.*), not AI Search");
    /* The reference's cache section is libccai's too (the documents
     * search's query cache). */
    assert_string_equal(ccai_config_get(cfg, "cache.mode"), "redis");
    assert_string_equal(ccai_config_get(cfg, "cache.redis.host"), "x");
    /* Below the minimum level nothing is logged. */
    assert_int_equal(ccai_config_set_logger(cfg, capture_log, &lc, CCAI_LOG_ERROR), CCAI_OK);
    assert_int_equal(load(cfg, "queue: {}\n"), CCAI_OK);
    assert_int_equal(lc.warnings, 4);
}

static void test_atomicity(void **state)
{
    ccai_config *cfg = *state;
    assert_int_equal(load(cfg, "llm: {fast: {model: first}}\n"), CCAI_OK);
    assert_int_equal(load(cfg, "llm:\n  fast:\n    model: second\n    endpoint: https://e\n"
                               "    retries: -1\n"
                               "conversation: {initiate: {bot_name: Zed}}\n"),
                     CCAI_ERR_CONFIG);
    assert_int_equal(ccai_config_error_count(cfg), 1);
    assert_string_equal(ccai_config_get(cfg, "llm.fast.model"), "first");
    assert_null(ccai_config_get(cfg, "llm.fast.endpoint"));
    assert_string_equal(ccai_config_get(cfg, "conversation.initiate.bot_name"), "Amélie");
    assert_int_equal(load(cfg, "llm: {fast: {model: [}}\n"), CCAI_ERR_PARSE);
    assert_string_equal(ccai_config_get(cfg, "llm.fast.model"), "first");
    const char *env[] = {"LLM__FAST__MODEL=third", "LLM__FAST__RETRIES=x", NULL};
    assert_int_equal(ccai_config_apply_env(cfg, env), CCAI_ERR_CONFIG);
    assert_string_equal(ccai_config_get(cfg, "llm.fast.model"), "first");
}

static void test_limits(void **state)
{
    ccai_config *cfg = *state;
    /* Too large. */
    size_t big = 1024 * 1024 + 1;
    static char buf[1024 * 1024 + 2];
    memset(buf, '#', big);
    buf[big] = '\0';
    assert_int_equal(ccai_config_load_string(cfg, buf, big, NULL), CCAI_ERR_CONFIG);
    assert_non_null(strstr(ccai_config_errmsg(cfg),
                           "<string>:0:0: document too large (more than 1048576 bytes)"));
    char *path = write_temp(buf);
    assert_int_equal(ccai_config_load(cfg, path), CCAI_ERR_CONFIG);
    assert_non_null(strstr(ccai_config_errmsg(cfg), "document too large"));
    unlink(path);
    free(path);

    /* Too deep: rejected early, even inside an ignored section. */
    size_t depth = 200000;
    memcpy(buf, "cache: ", 7);
    memset(buf + 7, '[', depth);
    memset(buf + 7 + depth, ']', depth);
    assert_int_equal(ccai_config_load_string(cfg, buf, 7 + 2 * depth, NULL), CCAI_ERR_CONFIG);
    assert_non_null(strstr(ccai_config_errmsg(cfg), "<string>:1:39: nested deeper than 32 levels"));

    /* Too many nodes. */
    size_t n = 0;
    n += (size_t)sprintf(buf, "ai_search: [");
    for (int i = 0; i < 100001; i++)
        n += (size_t)sprintf(buf + n, "1,");
    n += (size_t)sprintf(buf + n, "1]\n");
    assert_int_equal(ccai_config_load_string(cfg, buf, n, NULL), CCAI_ERR_CONFIG);
    assert_non_null(strstr(ccai_config_errmsg(cfg), "more than 100000 nodes"));

    /* Billion laughs: a small document whose aliases expand past the cap. */
    const char *laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                         "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                         "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                         "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                         "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                         "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
                         "conversation: {initiate: {claim: [*f, *f, *f, *f, *f, *f, *f]}}\n";
    assert_int_equal(load(cfg, laughs), CCAI_ERR_CONFIG);
    assert_non_null(strstr(ccai_config_errmsg(cfg), "more than 100000 nodes (aliases expanded)"));

    /* An alias inside its own anchor. */
    assert_int_equal(load(cfg, "conversation: {initiate: {claim: &x [*x]}}\n"), CCAI_ERR_CONFIG);
    assert_error(cfg, 0, "conversation.initiate.claim", 1, 34, "nested deeper than 32 levels");

    /* More errors than the list keeps. */
    Ccai_buf b = {0};
    for (int i = 0; i < 150; i++)
        assert_true(Ccai_buf_printf(&b, "unknown_%d: 1\n", i));
    assert_int_equal(load(cfg, b.data), CCAI_ERR_CONFIG);
    Ccai_buf_free(&b);
    assert_int_equal(ccai_config_error_count(cfg), 101);
    assert_non_null(strstr(ccai_config_errmsg(cfg), "50 more errors not listed"));
}

static void test_sample_config(void **state)
{
    ccai_config *cfg = *state;
    const char *srcdir = getenv("CCAI_TEST_SRCDIR");
    if (!srcdir || !*srcdir)
        srcdir = ".";
    char path[4096];
    snprintf(path, sizeof path, "%s/data/config.sample.yaml", srcdir);
    logcap lc = {0};
    assert_int_equal(ccai_config_set_logger(cfg, capture_log, &lc, CCAI_LOG_DEBUG), CCAI_OK);
    ccai_status st = ccai_config_load(cfg, path);
    if (st != CCAI_OK)
        fail_msg("%s: %s", ccai_status_str(st), ccai_config_errmsg(cfg));
    assert_int_equal(lc.warnings, 0);
    assert_int_equal(ccai_config_validate(cfg), CCAI_OK);

    /* The sample lists every key: compare with the defaults. */
    ccai_config *def = NULL;
    assert_int_equal(ccai_config_new(&def), CCAI_OK);
    assert_true(json_equal(Ccai_config_root(cfg), Ccai_config_root(def)));
    ccai_config_free(def);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char text[65536];
    size_t len = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[len] = '\0';
    for (size_t i = 0; i < Ccai_keys_count(); i++) {
        const Ccai_key *k = Ccai_key_at(i);
        const char *last = strrchr(k->path, '.');
        last = last ? last + 1 : k->path;
        char needle[CCAI_KEY_PATH_MAX + 2];
        snprintf(needle, sizeof needle, "%s:", last);
        if (!strstr(text, needle) && !strstr(text, last))
            fail_msg("sample config lacks %s", k->path);
    }
}

/* ------------------------------------------------------------------------ */
/* Environment, set, get                                                    */
/* ------------------------------------------------------------------------ */

static void test_env(void **state)
{
    ccai_config *cfg = *state;
    assert_int_equal(load(cfg, "llm: {fast: {endpoint: https://file, model: from-file}}\n"
                               "conversation: {initiate: {bot_name: File}}\n"),
                     CCAI_OK);
    const char *env[] = {
        "PATH=/usr/bin",
        "HOME=/root",
        "LLM__FAST__ENDPOINT=https://env.example",
        "CONVERSATION__INITIATE__BOT_NAME=Env Bot",
        "DATABASE__SQLITE__PATH=/tmp/env.sqlite",
        "conversation__answer_soft_timeout_sec=5",
        "CONVERSATION__RECORDING_ENABLED=on",
        "CONVERSATION__INITIATE__CLAIM=[{\"name\": \"vehicle\", \"type\": \"text\"}]",
        "CONVERSATION__INITIATE__LANG__DEFAULT_SHORT_CODE=es-ES",
        "PROMPTS__TTS__HELLO_TPL=[\"Hi\", \"Hello\"]",
        "PROMPTS__TTS__GOODBYE_TPL=Bye",
        "LLM__FAST__API_KEY=k",
        "LLM__FAST__API_KEY=k2",
        "CACHE__MODE=redis",
        "NOEQUALS",
        "=x",
        "LLM__FAST__NOPE=1",
        NULL,
    };
    assert_int_equal(ccai_config_apply_env(cfg, env), CCAI_OK);
    assert_string_equal(ccai_config_get(cfg, "llm.fast.endpoint"), "https://env.example");
    assert_string_equal(ccai_config_get(cfg, "llm.fast.model"), "from-file");
    assert_string_equal(ccai_config_get(cfg, "conversation.initiate.bot_name"), "Env Bot");
    assert_string_equal(ccai_config_get(cfg, "database.sqlite.path"), "/tmp/env.sqlite");
    assert_string_equal(ccai_config_get(cfg, "conversation.answer_soft_timeout_sec"), "5");
    assert_string_equal(ccai_config_get(cfg, "conversation.recording_enabled"), "true");
    assert_string_equal(ccai_config_get(cfg, "llm.fast.api_key"), "k2");
    const json_t *claim = Ccai_config_json(cfg, "conversation.initiate.claim");
    assert_int_equal(json_array_size(claim), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(claim, 0), "name")),
                        "vehicle");
    assert_string_equal(ccai_config_get(cfg, "conversation.initiate.lang.default_short_code"),
                        "es-ES");
    assert_int_equal(json_array_size(Ccai_config_json(cfg, "prompts.tts.hello_tpl")), 2);
    assert_string_equal(ccai_config_get(cfg, "prompts.tts.goodbye_tpl"), "Bye");

    /* A file loaded after the environment wins over it: order decides. */
    assert_int_equal(load(cfg, "llm: {fast: {endpoint: https://later}}\n"), CCAI_OK);
    assert_string_equal(ccai_config_get(cfg, "llm.fast.endpoint"), "https://later");

    /* Errors: listed with position 0, the secret never echoed. */
    const char *bad[] = {
        "CONVERSATION__ANSWER_HARD_TIMEOUT_SEC=soon",
        "CONVERSATION__INITIATE__CLAIM=[{\"name\": \"x\"",
        "CONVERSATION__INITIATE__CLAIM__X=1",
        "LLM__SLOW__CONTEXT=",
        "CONVERSATION__INITIATE__BOT_NAME=\xc3",
        NULL,
    };
    assert_int_equal(ccai_config_apply_env(cfg, bad), CCAI_ERR_CONFIG);
    assert_int_equal(ccai_config_error_count(cfg), 4);
    assert_error(cfg, 0, "conversation.answer_hard_timeout_sec", 0, 0,
                 "expected an integer between 1 and 600, got \"soon\"");
    assert_error(cfg, 1, "conversation.initiate.claim", 0, 0, "as JSON");
    assert_error(cfg, 2, "llm.slow.context", 0, 0, "got \"\"");
    assert_error(cfg, 3, "conversation.initiate.bot_name", 0, 0, "UTF-8");
    assert_non_null(strstr(ccai_config_errmsg(cfg),
                           "<env>:0:0: conversation.answer_hard_timeout_sec: expected"));
    assert_string_equal(ccai_config_get(cfg, "conversation.initiate.bot_name"), "Env Bot");

    /* NULL reads the process environment. */
    assert_int_equal(setenv("LOG__LEVEL", "debug", 1), 0);
    assert_int_equal(ccai_config_apply_env(cfg, NULL), CCAI_OK);
    unsetenv("LOG__LEVEL");
    assert_string_equal(ccai_config_get(cfg, "log.level"), "debug");
}

/* conversation.lexicon: a list of {grapheme, alias, lang?}, checked. */
/* emergencies.targets: on-call numbers and webhooks, each checked. */
static void test_targets(void **state)
{
    ccai_config *cfg = *state;
    assert_int_equal(load(cfg, "emergencies:\n  targets:\n    - sms: \"+33612345678\"\n"
                               "    - webhook: https://oncall.example.com/hook?x=1\n"),
                     CCAI_OK);
    static const struct {
        const char *yaml, *says;
    } bad[] = {
        {"emergencies:\n  targets: nope\n", "expected a list of targets"},
        {"emergencies:\n  targets:\n    - {sms: \"0612345678\"}\n", "E.164"},
        {"emergencies:\n  targets:\n    - {webhook: ftp://x}\n", "http(s) URL"},
        {"emergencies:\n  targets:\n    - {sms: \"+33612345678\", webhook: https://x}\n",
         "one member"},
        {"emergencies:\n  targets:\n    - {pager: 42}\n", "expected sms"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ccai_config *c = NULL;
        assert_int_equal(ccai_config_new(&c), CCAI_OK);
        assert_int_equal(load(c, bad[i].yaml), CCAI_ERR_CONFIG);
        if (!strstr(ccai_config_errmsg(c), bad[i].says))
            fail_msg("%s: got %s", bad[i].yaml, ccai_config_errmsg(c));
        ccai_config_free(c);
    }
    assert_int_equal(ccai_config_set(cfg, "emergencies.targets", "[{\"sms\":\"+1555\"}]"), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "emergencies.targets", "[{\"sms\":\"x\"}]"),
                     CCAI_ERR_CONFIG);
}

static void test_lexicon(void **state)
{
    ccai_config *cfg = *state;
    assert_int_equal(load(cfg, "conversation:\n  lexicon:\n"
                               "    - {grapheme: \"contrat mini\", alias: \"notre formule "
                               "essentielle\", lang: fr-FR}\n"
                               "    - grapheme: ACS\n      alias: Azure Communication Services\n"),
                     CCAI_OK);
    char *json = NULL;
    assert_int_equal(ccai_config_to_json(cfg, 0, &json), CCAI_OK);
    assert_non_null(strstr(json, "\"contrat mini\""));
    ccai_free(json);
    static const struct {
        const char *yaml, *says;
    } bad[] = {
        {"conversation:\n  lexicon: nope\n", "expected a list of entries"},
        {"conversation:\n  lexicon:\n    - {grapheme: x}\n", "grapheme and alias are required"},
        {"conversation:\n  lexicon:\n    - {grapheme: x, alias: y, voice: z}\n", "unknown member"},
        {"conversation:\n  lexicon:\n    - {grapheme: \"\", alias: y}\n", "grapheme must be text"},
        {"conversation:\n  lexicon:\n    - [x, y]\n", "entry 1: expected a mapping"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ccai_config *c = NULL;
        assert_int_equal(ccai_config_new(&c), CCAI_OK);
        assert_int_equal(load(c, bad[i].yaml), CCAI_ERR_CONFIG);
        if (!strstr(ccai_config_errmsg(c), bad[i].says))
            fail_msg("%s: got %s", bad[i].yaml, ccai_config_errmsg(c));
        ccai_config_free(c);
    }
    assert_int_equal(ccai_config_set(cfg, "conversation.lexicon",
                                     "[{\"grapheme\":\"ACS\",\"alias\":\"A C S\"}]"),
                     CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "conversation.lexicon", "[{\"alias\":\"A\"}]"),
                     CCAI_ERR_CONFIG);
}

static void test_set_get(void **state)
{
    ccai_config *cfg = *state;
    assert_int_equal(ccai_config_set(cfg, "llm.slow.endpoint", "https://slow"), CCAI_OK);
    assert_string_equal(ccai_config_get(cfg, "llm.slow.endpoint"), "https://slow");
    assert_int_equal(ccai_config_set(cfg, "llm.slow.temperature", "0.5"), CCAI_OK);
    assert_string_equal(ccai_config_get(cfg, "llm.slow.temperature"), "0.5");
    assert_int_equal(ccai_config_set(cfg, "conversation.initiate.prosody_rate", "1.25"), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "conversation.initiate.prosody_rate", "1.2500001"),
                     CCAI_ERR_CONFIG);
    assert_string_equal(ccai_config_get(cfg, "conversation.initiate.prosody_rate"), "1.25");
    assert_int_equal(ccai_config_set(cfg, "conversation.initiate.prosody_rate", "75e-2"), CCAI_OK);
    assert_string_equal(ccai_config_get(cfg, "conversation.initiate.prosody_rate"), "0.75");

    /* Bools. */
    const char *yes[] = {"true", "TRUE", "Yes", "on", "1"};
    const char *no[] = {"false", "False", "NO", "off", "0"};
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(ccai_config_set(cfg, "conversation.recording_enabled", yes[i]), CCAI_OK);
        assert_string_equal(ccai_config_get(cfg, "conversation.recording_enabled"), "true");
        assert_int_equal(ccai_config_set(cfg, "conversation.recording_enabled", no[i]), CCAI_OK);
        assert_string_equal(ccai_config_get(cfg, "conversation.recording_enabled"), "false");
    }
    const char *notbool[] = {"", "y", "t", "2", "truee", "ja", " true"};
    for (size_t i = 0; i < sizeof notbool / sizeof notbool[0]; i++)
        assert_int_equal(ccai_config_set(cfg, "conversation.recording_enabled", notbool[i]),
                         CCAI_ERR_CONFIG);

    /* Ints: bounds, signs, bases, overflow. */
    struct {
        const char *v;
        const char *want; /* NULL: rejected */
    } ints[] = {
        {"1", "1"},    {"600", "600"}, {"+7", "7"},   {"0x1F", "31"}, {"0o17", "15"},
        {"0", NULL},   {"601", NULL},  {"-1", NULL},  {"", NULL},     {"1 ", NULL},
        {"1.0", NULL}, {"0x", NULL},   {"0o8", NULL}, {"ten", NULL},  {"9223372036854775808", NULL},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        ccai_status st = ccai_config_set(cfg, "conversation.answer_hard_timeout_sec", ints[i].v);
        if (ints[i].want) {
            assert_int_equal(st, CCAI_OK);
            assert_string_equal(ccai_config_get(cfg, "conversation.answer_hard_timeout_sec"),
                                ints[i].want);
        } else {
            assert_int_equal(st, CCAI_ERR_CONFIG);
        }
    }
    assert_int_equal(ccai_config_set(cfg, "llm.fast.seed", "2147483647"), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "llm.fast.seed", "2147483648"), CCAI_ERR_CONFIG);
    assert_int_equal(ccai_config_set(cfg, "conversation.callback_timeout_hour", "0"), CCAI_OK);
    assert_int_equal(Ccai_config_int(cfg, "conversation.callback_timeout_hour", 9), 0);

    /* Errors of set. */
    assert_int_equal(ccai_config_set(cfg, "llm.fast.endpiont", "x"), CCAI_ERR_NOT_FOUND);
    assert_string_equal(ccai_config_errmsg(cfg),
                        "<set>:0:0: llm.fast.endpiont: unknown key; did you mean "
                        "llm.fast.endpoint?");
    assert_int_equal(ccai_config_set(cfg, "llm.fast", "x"), CCAI_ERR_NOT_FOUND);
    assert_int_equal(ccai_config_set(cfg, "", "x"), CCAI_ERR_NOT_FOUND);
    assert_int_equal(ccai_config_set(cfg, "llm.fast.api_key", "secret\xff"), CCAI_ERR_CONFIG);
    assert_null(strstr(ccai_config_errmsg(cfg), "secret"));
    assert_int_equal(ccai_config_set(cfg, "llm.fast.mode", "gpt"), CCAI_ERR_CONFIG);
    assert_string_equal(ccai_config_errmsg(cfg),
                        "<set>:0:0: llm.fast.mode: expected one of none, openai, azure_openai, "
                        "openai_compatible, got \"gpt\"");
    assert_int_equal(ccai_config_set(cfg, "database.mode", "cosmos_db"), CCAI_ERR_CONFIG);
    assert_non_null(strstr(ccai_config_errmsg(cfg), "not supported; use sqlite"));

    /* Lists and maps take JSON. */
    assert_int_equal(ccai_config_set(cfg, "conversation.initiate.claim",
                                     "[{\"name\":\"a\",\"type\":\"phone_number\","
                                     "\"description\":\"d\"}]"),
                     CCAI_OK);
    assert_int_equal(json_array_size(Ccai_config_json(cfg, "conversation.initiate.claim")), 1);
    assert_int_equal(ccai_config_set(cfg, "conversation.initiate.claim", "{}"), CCAI_ERR_CONFIG);
    assert_int_equal(ccai_config_set(cfg, "conversation.initiate.claim", "[1] x"), CCAI_ERR_CONFIG);
    assert_int_equal(ccai_config_set(cfg, "conversation.initiate.lang",
                                     "{\"default_short_code\":\"de-DE\",\"availables\":"
                                     "[{\"short_code\":\"de-DE\",\"voice\":\"v\"}]}"),
                     CCAI_OK);
    assert_string_equal(ccai_config_get(cfg, "conversation.initiate.lang.default_short_code"),
                        "de-DE");
    assert_int_equal(ccai_config_set(cfg, "conversation.initiate.lang.default_short_code", "en-US"),
                     CCAI_OK);
    assert_int_equal(ccai_config_validate(cfg), CCAI_ERR_CONFIG);
    assert_string_equal(ccai_config_errmsg(cfg),
                        "<config>:0:0: conversation.initiate.lang.default_short_code: \"en-US\" "
                        "is not one of the availables (de-DE)");
    assert_int_equal(ccai_config_set(cfg, "conversation.initiate.lang.nope", "x"),
                     CCAI_ERR_NOT_FOUND);

    /* A borrowed value stays valid until the next change. */
    const char *model = ccai_config_get(cfg, "llm.fast.model");
    const char *ctx = ccai_config_get(cfg, "llm.fast.context");
    assert_non_null(ccai_config_get(cfg, "llm.slow.model"));
    assert_string_equal(model, "gpt-4.1-nano");
    assert_string_equal(ctx, "128000");
}

static void test_to_json(void **state)
{
    ccai_config *cfg = *state;
    assert_int_equal(ccai_config_set(cfg, "llm.fast.api_key", "sk-very-secret"), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "twilio.auth_token", "tw-secret"), CCAI_OK);
    char *json = NULL;
    assert_int_equal(ccai_config_to_json(cfg, 1, &json), CCAI_OK);
    assert_null(strstr(json, "sk-very-secret"));
    assert_null(strstr(json, "tw-secret"));
    json_error_t err;
    json_t *doc = json_loads(json, 0, &err);
    ccai_free(json);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(doc, "llm"), "fast"), "api_key")),
                        "***");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(doc, "twilio"), "auth_token")), "***");
    /* Secrets without a value stay absent. */
    assert_null(json_object_get(json_object_get(json_object_get(doc, "llm"), "slow"), "api_key"));
    assert_true(json_integer_value(json_object_get(json_object_get(doc, "conversation"),
                                                   "answer_hard_timeout_sec")) == 15);
    json_decref(doc);
    /* The configuration itself keeps the secret. */
    assert_string_equal(ccai_config_get(cfg, "llm.fast.api_key"), "sk-very-secret");

    assert_int_equal(ccai_config_to_json(cfg, 0, &json), CCAI_OK);
    doc = json_loads(json, 0, &err);
    ccai_free(json);
    assert_non_null(doc);
    assert_true(json_equal(doc, Ccai_config_root(cfg)));
    json_decref(doc);
}

static void test_validate(void **state)
{
    ccai_config *cfg = *state;
    assert_int_equal(load(cfg, "llm:\n"
                               "  fast: {mode: azure_openai, model: \"\"}\n"
                               "  slow: {mode: openai}\n"
                               "sms: {mode: twilio, twilio: {account_sid: AC1}}\n"
                               "conversation:\n"
                               "  answer_soft_timeout_sec: 15\n"
                               "  initiate:\n"
                               "    agent_phone_number: \"0612345678\"\n"
                               "    lang: {default_short_code: de-DE}\n"
                               "twilio: {phone_number: \"+1 555\"}\n"
                               "database: {sqlite: {path: \"\"}}\n"),
                     CCAI_OK);
    assert_int_equal(ccai_config_validate(cfg), CCAI_ERR_CONFIG);
    const char *msg = ccai_config_errmsg(cfg);
    const char *want[] = {
        "<config>:0:0: llm.fast.endpoint: required when llm.fast.mode is azure_openai",
        "<config>:0:0: llm.fast.deployment: required (or llm.fast.model) when llm.fast.mode is "
        "azure_openai",
        "<config>:0:0: llm.slow.endpoint: required when llm.slow.mode is openai",
        "<config>:0:0: sms.twilio: sms.mode twilio needs account_sid",
        "<config>:0:0: conversation.initiate.lang.default_short_code: \"de-DE\" is not one of "
        "the availables (fr-FR, en-US, es-ES, zh-CN)",
        "<config>:0:0: conversation.initiate.agent_phone_number: expected an E.164 phone number",
        "<config>:0:0: twilio.phone_number: expected an E.164",
        "<config>:0:0: database.sqlite.path: required",
        "<config>:0:0: conversation.answer_soft_timeout_sec: must be less than "
        "conversation.answer_hard_timeout_sec (15 >= 15)",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(msg, want[i]))
            fail_msg("validate errors lack \"%s\":\n%s", want[i], msg);
    assert_int_equal(ccai_config_error_count(cfg), sizeof want / sizeof want[0]);

    /* Fix everything: the twilio section's credentials serve SMS too. */
    const char *env[] = {
        "LLM__FAST__ENDPOINT=https://a.openai.azure.com",
        "LLM__FAST__DEPLOYMENT=gpt",
        "LLM__FAST__API_KEY=k",
        "LLM__SLOW__ENDPOINT=https://api.openai.com/v1",
        "TWILIO__ACCOUNT_SID=AC1",
        "TWILIO__AUTH_TOKEN=t",
        "TWILIO__PHONE_NUMBER=+15550001111",
        "CONVERSATION__ANSWER_SOFT_TIMEOUT_SEC=4",
        "CONVERSATION__INITIATE__AGENT_PHONE_NUMBER=",
        "CONVERSATION__INITIATE__LANG__DEFAULT_SHORT_CODE=en-US",
        "DATABASE__SQLITE__PATH=:memory:",
        NULL,
    };
    assert_int_equal(ccai_config_apply_env(cfg, env), CCAI_OK);
    ccai_status st = ccai_config_validate(cfg);
    if (st != CCAI_OK)
        fail_msg("%s", ccai_config_errmsg(cfg));
    assert_string_equal(ccai_config_errmsg(cfg), "");

    assert_int_equal(ccai_config_set(cfg, "sms.mode", "communication_services"), CCAI_OK);
    assert_int_equal(ccai_config_validate(cfg), CCAI_ERR_CONFIG);
    assert_int_equal(ccai_config_error_count(cfg), 3);
}

/* database.mode postgresql needs its DSN, a secret given by the
 * environment and redacted from the dump. */
static void test_validate_postgresql(void **state)
{
    ccai_config *cfg = *state;
    assert_int_equal(load(cfg, "database: {mode: postgresql}\n"), CCAI_OK);
    assert_int_equal(ccai_config_validate(cfg), CCAI_ERR_CONFIG);
    assert_non_null(strstr(ccai_config_errmsg(cfg),
                           "database.postgresql.dsn: required with database.mode postgresql "
                           "(set DATABASE__POSTGRESQL__DSN)"));
    assert_int_equal(ccai_config_error_count(cfg), 1);
    const char *env[] = {"DATABASE__POSTGRESQL__DSN=host=db user=ccai password=hunter2", NULL};
    assert_int_equal(ccai_config_apply_env(cfg, env), CCAI_OK);
    assert_int_equal(ccai_config_validate(cfg), CCAI_OK);
    char *json = NULL;
    assert_int_equal(ccai_config_to_json(cfg, 1, &json), CCAI_OK);
    assert_null(strstr(json, "hunter2"));
    ccai_free(json);
    assert_int_equal(ccai_config_set(cfg, "database.mode", "mysql"), CCAI_ERR_CONFIG);
    assert_int_equal(ccai_config_set(cfg, "database.postgresql.statement_timeout_ms", "50"),
                     CCAI_ERR_CONFIG);
}

typedef struct logall {
    int warnings;
    char text[4096];
} logall;

static void capture_all(ccai_log_level level, const char *msg, void *ud)
{
    logall *la = ud;
    if (level == CCAI_LOG_WARN)
        la->warnings++;
    size_t n = strlen(la->text);
    snprintf(la->text + n, sizeof la->text - n, "%s\n", msg);
}

/* Without server.api_token the API trusts the machine it listens on: a
 * non-loopback listen address, or a token given empty, is a configuration
 * error; a misspelt variable is named in a warning (never its value). */
static void test_no_token_rules(void **state)
{
    ccai_config *cfg = *state;
    static const char *const others[] = {"0.0.0.0:8080", "[::]:8080", "192.0.2.7:80",
                                         "example.com:8080"};
    for (size_t i = 0; i < sizeof others / sizeof *others; i++) {
        assert_int_equal(ccai_config_set(cfg, "server.listen", others[i]), CCAI_OK);
        assert_int_equal(ccai_config_validate(cfg), CCAI_ERR_CONFIG);
        assert_int_equal(ccai_config_error_count(cfg), 1);
        assert_error(cfg, 0, "server.listen", 0, 0, "is not a loopback address");
        assert_non_null(strstr(ccai_config_errmsg(cfg), "SERVER__API_TOKEN"));
    }
    static const char *const local[] = {"127.0.0.1:0", "localhost:8080", "[::1]:8080",
                                        "127.0.0.2:1"};
    for (size_t i = 0; i < sizeof local / sizeof *local; i++) {
        assert_int_equal(ccai_config_set(cfg, "server.listen", local[i]), CCAI_OK);
        if (ccai_config_validate(cfg) != CCAI_OK)
            fail_msg("%s: %s", local[i], ccai_config_errmsg(cfg));
    }
    static const char *const malformed[] = {"8080", "::1:8080", "127.0.0.1:http", "[::1:80"};
    for (size_t i = 0; i < sizeof malformed / sizeof *malformed; i++) {
        assert_int_equal(ccai_config_set(cfg, "server.listen", malformed[i]), CCAI_OK);
        assert_int_equal(ccai_config_validate(cfg), CCAI_ERR_CONFIG);
        assert_error(cfg, 0, "server.listen", 0, 0, "expected HOST:PORT");
    }
    const char *with_token[] = {"SERVER__LISTEN=0.0.0.0:8080", "SERVER__API_TOKEN=s3cret", NULL};
    assert_int_equal(ccai_config_apply_env(cfg, with_token), CCAI_OK);
    assert_int_equal(ccai_config_validate(cfg), CCAI_OK);

    /* SERVER__API_TOKEN= set but empty: not "no token". */
    static const char *const empty[] = {"SERVER__API_TOKEN=", "SERVER__API_TOKEN=  "};
    for (size_t i = 0; i < sizeof empty / sizeof *empty; i++) {
        const char *env[] = {"SERVER__LISTEN=127.0.0.1:8080", empty[i], NULL};
        assert_int_equal(ccai_config_apply_env(cfg, env), CCAI_OK);
        assert_int_equal(ccai_config_validate(cfg), CCAI_ERR_CONFIG);
        assert_int_equal(ccai_config_error_count(cfg), 1);
        assert_error(cfg, 0, "server.api_token", 0, 0, "is empty");
    }

    logall la = {0};
    assert_int_equal(ccai_config_set_logger(cfg, capture_all, &la, CCAI_LOG_DEBUG), CCAI_OK);
    const char *env[] = {"SERVER__API_TOKN=hunter2",
                         "SERVER_API_TOKEN=hunter3",
                         "LOG_LEVEL=debug",
                         "LLM__FAST__ENDPIONT=https://x",
                         "PATH=/usr/bin",
                         "HOME=/root",
                         "DATABASE_URL=postgres://x",
                         "CACHE__MODE=redis",
                         "DATABASE__COSMOS_DB__ENDPOINT=https://x",
                         "SERVER__API_TOKEN=s3cret",
                         NULL};
    assert_int_equal(ccai_config_apply_env(cfg, env), CCAI_OK);
    if (la.warnings != 4)
        fail_msg("%d warnings:\n%s", la.warnings, la.text);
    assert_non_null(strstr(la.text, "SERVER__API_TOKN names no configuration key (ignored); did "
                                    "you mean SERVER__API_TOKEN?"));
    assert_non_null(strstr(la.text, "SERVER_API_TOKEN is not read (sections are separated by a "
                                    "double underscore); did you mean SERVER__API_TOKEN?"));
    assert_non_null(strstr(la.text, "LOG_LEVEL is not read"));
    assert_non_null(strstr(la.text, "did you mean LLM__FAST__ENDPOINT?"));
    assert_null(strstr(la.text, "hunter"));
    assert_null(strstr(la.text, "s3cret"));
}

static void test_copy(void **state)
{
    ccai_config *cfg = *state;
    logcap lc = {0};
    assert_int_equal(ccai_config_set_logger(cfg, capture_log, &lc, CCAI_LOG_WARN), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "llm.fast.model", "one"), CCAI_OK);
    ccai_config *copy = Ccai_config_copy(cfg);
    assert_non_null(copy);
    assert_ptr_equal(Ccai_config_logger(copy)->ud, &lc);
    assert_int_equal(Ccai_config_logger(copy)->min_level, CCAI_LOG_WARN);
    assert_true(json_equal(Ccai_config_root(copy), Ccai_config_root(cfg)));
    assert_int_equal(ccai_config_set(cfg, "llm.fast.model", "two"), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "conversation.initiate.lang.default_short_code", "en-US"),
                     CCAI_OK);
    assert_int_equal(ccai_config_set(copy, "llm.fast.context", "300"), CCAI_OK);
    assert_string_equal(ccai_config_get(copy, "llm.fast.model"), "one");
    assert_string_equal(ccai_config_get(copy, "conversation.initiate.lang.default_short_code"),
                        "fr-FR");
    assert_string_equal(ccai_config_get(cfg, "llm.fast.context"), "128000");
    assert_string_equal(ccai_config_get(copy, "llm.fast.context"), "300");
    ccai_config_free(copy);
    assert_string_equal(ccai_config_get(cfg, "llm.fast.model"), "two");
}

/* ------------------------------------------------------------------------ */
/* Out of memory                                                            */
/* ------------------------------------------------------------------------ */

static long oom_countdown; /* allocations left before failing; <0: never */
static long oom_live;      /* allocations not yet freed */

static void *oom_malloc(size_t size, void *ud)
{
    (void)ud;
    if (oom_countdown == 0)
        return NULL;
    if (oom_countdown > 0)
        oom_countdown--;
    void *p = malloc(size);
    if (p)
        oom_live++;
    return p;
}

static void *oom_realloc(void *ptr, size_t size, void *ud)
{
    (void)ud;
    if (oom_countdown == 0)
        return NULL;
    if (oom_countdown > 0)
        oom_countdown--;
    void *p = realloc(ptr, size);
    if (p && !ptr)
        oom_live++;
    return p;
}

static void oom_free(void *ptr, void *ud)
{
    (void)ud;
    if (ptr)
        oom_live--;
    free(ptr);
}

typedef ccai_status (*oom_op)(ccai_config *cfg);

static ccai_status op_new(ccai_config *cfg)
{
    (void)cfg;
    ccai_config *c = NULL;
    ccai_status st = ccai_config_new(&c);
    assert_true(st == CCAI_OK ? c != NULL : c == NULL);
    ccai_config_free(c);
    return st;
}

static ccai_status op_load(ccai_config *cfg)
{
    return load(cfg, valid_yaml);
}

static ccai_status op_load_bad(ccai_config *cfg)
{
    ccai_status st = load(cfg, "llm: {fast: {mode: x, contxt: 1}}\nconversation: [a: 1]\n");
    return st == CCAI_ERR_CONFIG ? CCAI_OK : st;
}

static ccai_status op_set_lang(ccai_config *cfg)
{
    return ccai_config_set(cfg, "conversation.initiate.lang.default_short_code", "en-US");
}

static ccai_status op_set_claim(ccai_config *cfg)
{
    return ccai_config_set(cfg, "conversation.initiate.claim",
                           "[{\"name\":\"a\",\"type\":\"text\"}]");
}

static ccai_status op_set_bad(ccai_config *cfg)
{
    ccai_status st = ccai_config_set(cfg, "llm.fast.contxt", "1");
    return st == CCAI_ERR_NOT_FOUND ? CCAI_OK : st;
}

static ccai_status op_env(ccai_config *cfg)
{
    const char *env[] = {"LLM__FAST__ENDPOINT=https://e", "CONVERSATION__RECORDING_ENABLED=1",
                         "PROMPTS__TTS__HELLO_TPL=[\"a\"]", "LLM__SLOW__RETRIES=bad", NULL};
    ccai_status st = ccai_config_apply_env(cfg, env);
    return st == CCAI_ERR_CONFIG ? CCAI_OK : st;
}

static ccai_status op_misc(ccai_config *cfg)
{
    ccai_status st = ccai_config_validate(cfg);
    if (st != CCAI_OK)
        return st;
    char *json = NULL;
    if ((st = ccai_config_to_json(cfg, 1, &json)) != CCAI_OK)
        return st;
    ccai_free(json);
    ccai_config *copy = Ccai_config_copy(cfg);
    if (!copy)
        return CCAI_ERR_NOMEM;
    ccai_config_free(copy);
    return CCAI_OK;
}

static void test_oom(void **state)
{
    (void)state;
    const oom_op ops[] = {op_new,       op_load,    op_load_bad, op_set_lang,
                          op_set_claim, op_set_bad, op_env,      op_misc};
    const ccai_allocator a = {CCAI_ALLOCATOR_VERSION, oom_malloc, oom_realloc, oom_free, NULL,
                              CCAI_ALLOCATOR_JSON};
    for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++) {
        /* What the operation gives when memory does not run out. */
        ccai_config *ref = NULL;
        assert_int_equal(ccai_config_new(&ref), CCAI_OK);
        assert_int_equal(ops[o](ref), CCAI_OK);
        char *want = NULL;
        assert_int_equal(ccai_config_to_json(ref, 0, &want), CCAI_OK);
        ccai_config_free(ref);

        bool done = false;
        for (long n = 0; !done && n < 100000; n++) {
            oom_countdown = -1;
            oom_live = 0;
            assert_int_equal(ccai_set_allocator(&a), CCAI_OK);
            ccai_config *cfg = NULL;
            assert_int_equal(ccai_config_new(&cfg), CCAI_OK);
            char *before = NULL;
            assert_int_equal(ccai_config_to_json(cfg, 0, &before), CCAI_OK);
            oom_countdown = n;
            ccai_status st = ops[o](cfg);
            oom_countdown = -1;
            if (st != CCAI_OK && st != CCAI_ERR_NOMEM)
                fail_msg("op %zu, failing allocation %ld: %s", o, n, ccai_status_str(st));
            done = st == CCAI_OK;
            /* A failed operation changed nothing; a successful one is whole. */
            char *after = NULL;
            assert_int_equal(ccai_config_to_json(cfg, 0, &after), CCAI_OK);
            if (strcmp(done ? want : before, after) != 0)
                fail_msg("op %zu, failing allocation %ld: wrong result", o, n);
            ccai_free(after);
            ccai_free(before);
            ccai_config_free(cfg);
            if (oom_live != 0)
                fail_msg("op %zu, failing allocation %ld: %ld allocations leaked", o, n, oom_live);
            assert_int_equal(ccai_set_allocator(NULL), CCAI_OK);
        }
        assert_true(done);
        ccai_free(want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup_cfg, teardown_cfg),
        cmocka_unit_test(test_key_table),
        cmocka_unit_test_setup_teardown(test_invalid_args, setup_cfg, teardown_cfg),
        cmocka_unit_test_setup_teardown(test_load_valid_file, setup_cfg, teardown_cfg),
        cmocka_unit_test_setup_teardown(test_load_io_error, setup_cfg, teardown_cfg),
        cmocka_unit_test_setup_teardown(test_multiple_errors, setup_cfg, teardown_cfg),
        cmocka_unit_test_setup_teardown(test_unknown_keys, setup_cfg, teardown_cfg),
        cmocka_unit_test_setup_teardown(test_type_errors, setup_cfg, teardown_cfg),
        cmocka_unit_test_setup_teardown(test_parse_errors, setup_cfg, teardown_cfg),
        cmocka_unit_test_setup_teardown(test_duplicates_and_aliases, setup_cfg, teardown_cfg),
        cmocka_unit_test_setup_teardown(test_ignored_sections, setup_cfg, teardown_cfg),
        cmocka_unit_test_setup_teardown(test_atomicity, setup_cfg, teardown_cfg),
        cmocka_unit_test_setup_teardown(test_limits, setup_cfg, teardown_cfg),
        cmocka_unit_test_setup_teardown(test_sample_config, setup_cfg, teardown_cfg),
        cmocka_unit_test_setup_teardown(test_env, setup_cfg, teardown_cfg),
        cmocka_unit_test_setup_teardown(test_targets, setup_cfg, teardown_cfg),
        cmocka_unit_test_setup_teardown(test_lexicon, setup_cfg, teardown_cfg),
        cmocka_unit_test_setup_teardown(test_set_get, setup_cfg, teardown_cfg),
        cmocka_unit_test_setup_teardown(test_to_json, setup_cfg, teardown_cfg),
        cmocka_unit_test_setup_teardown(test_validate, setup_cfg, teardown_cfg),
        cmocka_unit_test_setup_teardown(test_validate_postgresql, setup_cfg, teardown_cfg),
        cmocka_unit_test_setup_teardown(test_no_token_rules, setup_cfg, teardown_cfg),
        cmocka_unit_test_setup_teardown(test_copy, setup_cfg, teardown_cfg),
        cmocka_unit_test(test_oom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
