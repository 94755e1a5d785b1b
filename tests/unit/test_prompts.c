/* Prompt templates, the prompt set, and time zones for {date}. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "core/embedded.h"
#include "core/tz.h"
#include "engine/prompts.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* Helpers ------------------------------------------------------------------ */

static void assert_check_error(const char *tpl, const char *const *allowed, ccai_status want,
                               const char *want_msg)
{
    char *err = NULL;
    assert_int_equal(Ccai_prompt_check(tpl, allowed, &err), want);
    assert_non_null(err);
    assert_string_equal(err, want_msg);
    ccai_free(err);
}

static void assert_render(const char *tpl, const Ccai_prompt_var *vars, size_t n, bool llm,
                          const char *want)
{
    char *out = llm ? Ccai_prompt_render_llm(tpl, vars, n) : Ccai_prompt_render(tpl, vars, n);
    assert_non_null(out);
    assert_string_equal(out, want);
    ccai_free(out);
}

/* Rendering ---------------------------------------------------------------- */

static void test_render_placeholders(void **state)
{
    (void)state;
    const Ccai_prompt_var vars[] = {{"name", "Ada"}, {"company", "Contoso"}, {"empty", NULL}};
    assert_render("Hello {name} from {company}!", vars, 3, false, "Hello Ada from Contoso!");
    assert_render("{name}{name}", vars, 3, false, "AdaAda");
    /* Escaped braces, also next to placeholders. */
    assert_render("{{name}} is {{{name}}} }}{{", vars, 3, false, "{name} is {Ada} }{");
    /* NULL value: nothing; no var at all: left as written. */
    assert_render("a{empty}b {other}", vars, 3, false, "ab {other}");
    /* Values are inserted as they are, braces included. */
    const Ccai_prompt_var json[] = {{"claim", "{\"a\": \"{name}\"}"}};
    assert_render("Claim: {claim}", json, 1, false, "Claim: {\"a\": \"{name}\"}");
    assert_render("", NULL, 0, false, "");
    assert_render("no placeholders", NULL, 0, false, "no placeholders");
}

static void test_render_dedent_and_collapse(void **state)
{
    (void)state;
    const char *tpl = "\n    First line.\n      Indented more.\n\n    \t\n    Last {x}.\n  ";
    const Ccai_prompt_var vars[] = {{"x", "one"}};
    assert_render(tpl, vars, 1, false, "First line.\n  Indented more.\n\n\nLast one.");
    assert_render(tpl, vars, 1, true, "First line. Indented more. Last one.");
    /* Mixed indentation: only the common prefix goes. */
    assert_render("\tA\n\t B\n", NULL, 0, false, "A\n B");
    assert_render("  A\n\tB", NULL, 0, false, "A\n\tB");
    /* Collapse keeps spaces that hold no line break, and collapses the
     * line breaks of values too. */
    const Ccai_prompt_var multi[] = {{"v", "x\r\ny\n\nz"}};
    assert_render("a   b\n{v}", multi, 1, true, "a   b x y z");
    /* Trimmed after substitution. */
    const Ccai_prompt_var sp[] = {{"v", "  pad  "}};
    assert_render("{v}", sp, 1, false, "pad");
}

static void test_render_limits(void **state)
{
    (void)state;
    char *big = malloc(CCAI_PROMPT_TPL_MAX + 2);
    assert_non_null(big);
    memset(big, 'a', CCAI_PROMPT_TPL_MAX + 1);
    big[CCAI_PROMPT_TPL_MAX + 1] = '\0';
    assert_null(Ccai_prompt_render(big, NULL, 0));
    char *err = NULL;
    assert_int_equal(Ccai_prompt_check(big, NULL, &err), CCAI_ERR_LIMIT);
    assert_non_null(strstr(err, "more than the 65536 allowed"));
    ccai_free(err);
    big[CCAI_PROMPT_TPL_MAX] = '\0';
    assert_int_equal(Ccai_prompt_check(big, NULL, NULL), CCAI_OK);
    free(big);

    /* Output: 3 x 100 KiB > 256 KiB. */
    char *val = malloc(100 * 1024 + 1);
    assert_non_null(val);
    memset(val, 'b', 100 * 1024);
    val[100 * 1024] = '\0';
    const Ccai_prompt_var vars[] = {{"v", val}};
    assert_null(Ccai_prompt_render("{v}{v}{v}", vars, 1));
    char *two = Ccai_prompt_render("{v}{v}", vars, 1);
    assert_non_null(two);
    assert_int_equal(strlen(two), 200 * 1024);
    ccai_free(two);
    free(val);
}

/* Checking ----------------------------------------------------------------- */

static void test_check(void **state)
{
    (void)state;
    static const char *const allowed[] = {"task", "default_lang", "claim", NULL};
    static const char *const none[] = {NULL};
    assert_int_equal(Ccai_prompt_check("{task} in {default_lang}: {claim} {{x}}", allowed, NULL),
                     CCAI_OK);
    char *err = (char *)"untouched";
    assert_int_equal(Ccai_prompt_check("plain", none, &err), CCAI_OK);
    assert_null(err);

    assert_check_error("Task {task}, {clam}", allowed, CCAI_ERR_VALIDATION,
                       "unknown placeholder {clam}; allowed: task, default_lang, claim");
    assert_check_error("Hi {bot_name}", none, CCAI_ERR_VALIDATION,
                       "unknown placeholder {bot_name}; allowed: none");
    assert_check_error("Hi {bot_name}", NULL, CCAI_ERR_VALIDATION,
                       "unknown placeholder {bot_name}; allowed: none");
    assert_check_error("a\nb { task", allowed, CCAI_ERR_VALIDATION,
                       "line 2, column 3: single '{' (write '{{' for a literal brace): \"{ task\"");
    assert_check_error("x}", allowed, CCAI_ERR_VALIDATION,
                       "line 1, column 2: single '}' (write '}}' for a literal brace): \"}\"");
    assert_check_error("{}", allowed, CCAI_ERR_VALIDATION,
                       "line 1, column 1: invalid placeholder name: \"{}\"");
    assert_check_error("{1abc}", allowed, CCAI_ERR_VALIDATION,
                       "line 1, column 1: invalid placeholder name: \"{1abc}\"");
    assert_check_error("{task!r}", allowed, CCAI_ERR_VALIDATION,
                       "line 1, column 1: invalid placeholder name: \"{task!r}\"");
    assert_check_error("{task", allowed, CCAI_ERR_VALIDATION,
                       "line 1, column 1: single '{' (write '{{' for a literal brace): \"{task\"");
    /* A placeholder does not span lines. */
    assert_int_equal(Ccai_prompt_check("{ta\nsk}", allowed, NULL), CCAI_ERR_VALIDATION);
    assert_int_equal(Ccai_prompt_check(NULL, allowed, NULL), CCAI_ERR_INVALID_ARG);
}

/* The prompt set -------------------------------------------------------------- */

static bool uses(const char *tpl, const char *name)
{
    char pat[80];
    snprintf(pat, sizeof pat, "{%s}", name);
    return strstr(tpl, pat) != NULL;
}

static void test_defaults(void **state)
{
    (void)state;
    char *err = NULL;
    Ccai_prompts *p = Ccai_prompts_new(NULL, &err);
    assert_null(err);
    assert_non_null(p);
    for (int i = 0; i < CCAI_PROMPT_LLM_COUNT; i++) {
        const char *tpl = Ccai_prompts_llm(p, (Ccai_llm_prompt)i);
        const char *const *vars = Ccai_llm_prompt_vars((Ccai_llm_prompt)i);
        assert_non_null(tpl);
        assert_true(strlen(tpl) > 200);
        assert_int_equal(Ccai_prompt_check(tpl, vars, NULL), CCAI_OK);
        /* Every placeholder a default may use, it does use. */
        for (size_t v = 0; vars[v]; v++) {
            if (!uses(tpl, vars[v]))
                fail_msg("%s_tpl does not use {%s}", Ccai_llm_prompt_name((Ccai_llm_prompt)i),
                         vars[v]);
        }
    }
    for (int i = 0; i < CCAI_TTS_PHRASE_COUNT; i++) {
        size_t n = Ccai_prompts_tts_count(p, (Ccai_tts_phrase)i);
        const char *const *vars = Ccai_tts_phrase_vars((Ccai_tts_phrase)i);
        if (n < 3 || n > 6)
            fail_msg("%s_tpl has %zu variants", Ccai_tts_phrase_name((Ccai_tts_phrase)i), n);
        for (uint32_t r = 0; r < n; r++) {
            const char *tpl = Ccai_prompts_tts_pick(p, (Ccai_tts_phrase)i, r);
            assert_non_null(tpl);
            assert_true(strlen(tpl) > 2);
            assert_null(strchr(tpl, '\n'));
            assert_int_equal(Ccai_prompt_check(tpl, vars, NULL), CCAI_OK);
            for (size_t v = 0; vars[v]; v++)
                assert_true(uses(tpl, vars[v]));
        }
    }
    /* The chat prompt carries at least six examples and the format. */
    const char *chat = Ccai_prompts_llm(p, CCAI_PROMPT_CHAT_SYSTEM);
    size_t examples = 0;
    for (const char *s = chat; (s = strstr(s, "## Example ")); s++)
        examples++;
    assert_true(examples >= 6);
    assert_non_null(strstr(chat, "style=<style> <content>"));
    assert_null(Ccai_prompts_llm(p, CCAI_PROMPT_LLM_COUNT));
    assert_null(Ccai_prompts_tts_pick(p, CCAI_TTS_PHRASE_COUNT, 0));
    assert_int_equal(Ccai_prompts_tts_count(p, CCAI_TTS_PHRASE_COUNT), 0);
    Ccai_prompts_free(p);
    Ccai_prompts_free(NULL);
}

static void test_render_defaults(void **state)
{
    (void)state;
    Ccai_prompts *p = Ccai_prompts_new(NULL, NULL);
    assert_non_null(p);
    const Ccai_prompt_var vars[] = {
        {"task", "Help the customer."},
        {"default_lang", "French"},
        {"bot_company", "Contoso"},
        {"bot_name", "Amelie"},
        {"actions", "call, hangup, sms, talk"},
        {"styles", "cheerful, none, sad"},
        {"claim", "{\"policy_number\": null}"},
        {"reminders", "[]"},
    };
    char *chat = Ccai_prompts_render_llm(p, CCAI_PROMPT_CHAT_SYSTEM, vars, CCAI_ARRAY_SIZE(vars));
    assert_non_null(chat);
    assert_null(strchr(chat, '\n'));
    assert_non_null(strstr(chat, "Answer in French,"));
    assert_non_null(strstr(chat, "{\"policy_number\": null}"));
    assert_non_null(strstr(chat, "The styles are: cheerful, none, sad."));
    assert_null(strstr(chat, "{task}"));
    ccai_free(chat);

    /* TTS: picked by the caller's number, rendered without collapsing. */
    const char *first = Ccai_prompts_tts_pick(p, CCAI_TTS_HELLO, 0);
    size_t n = Ccai_prompts_tts_count(p, CCAI_TTS_HELLO);
    assert_ptr_equal(Ccai_prompts_tts_pick(p, CCAI_TTS_HELLO, (uint32_t)n), first);
    assert_ptr_not_equal(Ccai_prompts_tts_pick(p, CCAI_TTS_HELLO, 1), first);
    char *hello = Ccai_prompts_render_tts(p, CCAI_TTS_HELLO, 0, vars, CCAI_ARRAY_SIZE(vars));
    assert_string_equal(hello,
                        "Hello, I'm Amelie, the virtual assistant of Contoso. How can I help you "
                        "today?");
    ccai_free(hello);
    const Ccai_prompt_var ivr[] = {{"label", "English"}, {"index", "2"}};
    char *menu = Ccai_prompts_render_tts(p, CCAI_TTS_IVR_LANGUAGE, 0, ivr, 2);
    assert_string_equal(menu, "For English, press 2.");
    ccai_free(menu);
    Ccai_prompts_free(p);
}

static ccai_config *config_with(const char *key, const char *value)
{
    ccai_config *cfg = NULL;
    assert_int_equal(ccai_config_new(&cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, key, value), CCAI_OK);
    return cfg;
}

static void test_config_overrides(void **state)
{
    (void)state;
    ccai_config *cfg =
        config_with("prompts.llm.chat_system_tpl", "  Task: {task}.\n  Be {{nice}}.");
    assert_int_equal(ccai_config_set(cfg, "prompts.tts.hello_tpl",
                                     "[\"Hi, {bot_name} here.\", \"{bot_company}, hello!\"]"),
                     CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "prompts.tts.goodbye_tpl", "Bye from {bot_company}."),
                     CCAI_OK);
    char *err = NULL;
    Ccai_prompts *p = Ccai_prompts_new(cfg, &err);
    assert_null(err);
    assert_non_null(p);
    assert_string_equal(Ccai_prompts_llm(p, CCAI_PROMPT_CHAT_SYSTEM),
                        "  Task: {task}.\n  Be {{nice}}.");
    const Ccai_prompt_var vars[] = {{"task", "help"}, {"bot_name", "Ada"}, {"bot_company", "Co"}};
    char *chat = Ccai_prompts_render_llm(p, CCAI_PROMPT_CHAT_SYSTEM, vars, 3);
    assert_string_equal(chat, "Task: help. Be {nice}.");
    ccai_free(chat);
    /* Others keep their defaults. */
    assert_non_null(strstr(Ccai_prompts_llm(p, CCAI_PROMPT_DEFAULT_SYSTEM), "{bot_name}"));
    assert_int_equal(Ccai_prompts_tts_count(p, CCAI_TTS_HELLO), 2);
    assert_string_equal(Ccai_prompts_tts_pick(p, CCAI_TTS_HELLO, 0), "Hi, {bot_name} here.");
    assert_string_equal(Ccai_prompts_tts_pick(p, CCAI_TTS_HELLO, 3), "{bot_company}, hello!");
    assert_int_equal(Ccai_prompts_tts_count(p, CCAI_TTS_GOODBYE), 1);
    char *bye = Ccai_prompts_render_tts(p, CCAI_TTS_GOODBYE, 7, vars, 3);
    assert_string_equal(bye, "Bye from Co.");
    ccai_free(bye);
    /* An overridden phrase is the same in every language; the others keep
     * their translations. */
    bye = Ccai_prompts_render_tts_lang(p, CCAI_TTS_GOODBYE, "fr-FR", 7, vars, 3);
    assert_string_equal(bye, "Bye from Co.");
    ccai_free(bye);
    assert_string_equal(Ccai_prompts_tts_pick_lang(p, CCAI_TTS_HELLO, "es-ES", 0),
                        "Hi, {bot_name} here.");
    assert_non_null(strstr(Ccai_prompts_tts_pick_lang(p, CCAI_TTS_ERROR, "es-ES", 0), "Perdone"));
    Ccai_prompts_free(p);
    ccai_config_free(cfg);
}

/* The fixed phrases in the caller's language: every phrase is translated
 * for French and Spanish, with the same placeholders (checked at load);
 * a regional tag takes its language; others get the default (English). */
static void test_translations(void **state)
{
    (void)state;
    Ccai_prompts *p = Ccai_prompts_new(NULL, NULL);
    assert_non_null(p);
    static const char *const langs[] = {"fr-FR", "es-ES"};
    for (size_t l = 0; l < 2; l++) {
        for (int i = 0; i < CCAI_TTS_PHRASE_COUNT; i++) {
            for (uint32_t k = 0; k < 16; k++) {
                const char *t = Ccai_prompts_tts_pick_lang(p, (Ccai_tts_phrase)i, langs[l], k);
                assert_non_null(t);
                for (size_t d = 0; d < Ccai_prompts_tts_count(p, (Ccai_tts_phrase)i); d++)
                    assert_string_not_equal(
                        t, Ccai_prompts_tts_pick(p, (Ccai_tts_phrase)i, (uint32_t)d));
            }
        }
    }
    const Ccai_prompt_var vars[] = {{"bot_name", "Amélie"}, {"bot_company", "Contoso"}};
    for (uint32_t k = 0; k < 5; k++) {
        char *fr = Ccai_prompts_render_tts_lang(p, CCAI_TTS_HELLO, "fr-FR", k, vars, 2);
        char *ca = Ccai_prompts_render_tts_lang(p, CCAI_TTS_HELLO, "fr-CA", k, vars, 2);
        char *es = Ccai_prompts_render_tts_lang(p, CCAI_TTS_HELLO, "es-ES", k, vars, 2);
        char *de = Ccai_prompts_render_tts_lang(p, CCAI_TTS_HELLO, "de-DE", k, vars, 2);
        char *en = Ccai_prompts_render_tts(p, CCAI_TTS_HELLO, k, vars, 2);
        assert_non_null(strstr(fr, "Bonjour"));
        assert_non_null(strstr(fr, "Amélie"));
        assert_string_equal(ca, fr);
        assert_non_null(strstr(es, "Hola"));
        assert_string_equal(de, en);
        ccai_free(fr);
        ccai_free(ca);
        ccai_free(es);
        ccai_free(de);
        ccai_free(en);
    }
    Ccai_prompts_free(p);
}

static void test_config_errors(void **state)
{
    (void)state;
    ccai_config *cfg = config_with("prompts.llm.chat_system_tpl", "Task: {task}, claim: {clam}");
    char *err = NULL;
    assert_null(Ccai_prompts_new(cfg, &err));
    assert_non_null(err);
    assert_string_equal(err, "prompts.llm.chat_system_tpl: unknown placeholder {clam}; allowed: "
                             "task, default_lang, bot_company, actions, styles, claim, reminders");
    ccai_free(err);
    ccai_config_free(cfg);

    /* Several errors are all reported, list items by index. */
    cfg = config_with("prompts.tts.hello_tpl", "[\"Hi {bot_name}\", \"Hi {nme}\", \"  \"]");
    assert_int_equal(ccai_config_set(cfg, "prompts.tts.error_tpl", "Oops {"), CCAI_OK);
    assert_null(Ccai_prompts_new(cfg, &err));
    assert_string_equal(err, "prompts.tts.hello_tpl[1]: unknown placeholder {nme}; allowed: "
                             "bot_name, bot_company\n"
                             "prompts.tts.hello_tpl[2]: empty text\n"
                             "prompts.tts.error_tpl: line 1, column 6: single '{' (write '{{' "
                             "for a literal brace): \"{\"");
    ccai_free(err);
    ccai_config_free(cfg);

    cfg = config_with("prompts.tts.goodbye_tpl", "[]");
    assert_null(Ccai_prompts_new(cfg, &err));
    assert_string_equal(err, "prompts.tts.goodbye_tpl: needs at least one variant");
    ccai_free(err);
    ccai_config_free(cfg);

    /* ret_error may be NULL. */
    cfg = config_with("prompts.llm.next_system_tpl", "{date}");
    assert_null(Ccai_prompts_new(cfg, NULL));
    ccai_config_free(cfg);
}

/* The compiled-in table (generated at build time by scripts/embed-data.py)
 * holds exactly the bytes of the files under data/ that it names, sorted
 * for the lookup, and every file of data/prompts. */
static size_t prompt_files_seen, prompt_files_missing;

static int visit_prompt_file(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    const char *rel = strstr(path, "/data/prompts/");
    if (type != FTW_F || !rel || strstr(rel, "/."))
        return 0;
    prompt_files_seen++;
    if (!Ccai_embedded_find(rel + strlen("/data/"))) {
        print_message("not compiled in: %s\n", rel + 1);
        prompt_files_missing++;
    }
    return 0;
}

static void test_embedded_data(void **state)
{
    (void)state;
    const char *src = getenv("CCAI_TEST_SRCDIR");
    if (!src || !src[0])
        skip();
    assert_true(Ccai_embedded_count >= 3);
    for (size_t i = 0; i < Ccai_embedded_count; i++) {
        const Ccai_embedded *e = &Ccai_embedded_files[i];
        if (i > 0 && strcmp(Ccai_embedded_files[i - 1].path, e->path) >= 0)
            fail_msg("not sorted: %s before %s", Ccai_embedded_files[i - 1].path, e->path);
        assert_ptr_equal(Ccai_embedded_find(e->path), e);
        assert_int_equal(e->data[e->len], '\0');
        char path[4096];
        snprintf(path, sizeof path, "%s/data/%s", src, e->path);
        FILE *f = fopen(path, "rb");
        if (!f)
            fail_msg("%s is compiled in but not in data/", e->path);
        size_t same = 0;
        int c;
        while ((c = fgetc(f)) != EOF && same < e->len && c == e->data[same])
            same++;
        bool at_end = c == EOF || (same == e->len && fgetc(f) == EOF);
        fclose(f);
        if (same != e->len || !at_end)
            fail_msg("data/%s differs from the compiled-in copy at byte %zu", e->path, same);
    }
    assert_non_null(Ccai_embedded_text("openapi.json"));
    assert_non_null(Ccai_embedded_text("report.css"));
    assert_null(Ccai_embedded_find("prompts"));
    assert_null(Ccai_embedded_find("prompts/llm/no_such.md"));
    assert_null(Ccai_embedded_find(""));

    char dir[4096];
    snprintf(dir, sizeof dir, "%s/data/prompts", src);
    prompt_files_seen = prompt_files_missing = 0;
    assert_int_equal(nftw(dir, visit_prompt_file, 8, FTW_PHYS), 0);
    assert_true(prompt_files_seen > 20);
    assert_int_equal(prompt_files_missing, 0);

    /* And the table lists every default. */
    for (int i = 0; i < CCAI_PROMPT_LLM_COUNT; i++) {
        char want[128];
        snprintf(want, sizeof want, "prompts/llm/%s.md", Ccai_llm_prompt_name((Ccai_llm_prompt)i));
        assert_non_null(Ccai_embedded_find(want));
    }
}

/* Time zones --------------------------------------------------------------- */

static void test_tz_for_phone(void **state)
{
    (void)state;
    static const struct {
        const char *phone, *zone;
    } cases[] = {
        {"+33612345678", "Europe/Paris"},
        {"0033612345678", "Europe/Paris"},
        {"+12125550100", "America/New_York"},
        {"+14155550100", "America/Los_Angeles"},
        {"+17875550100", "America/Puerto_Rico"},
        {"+34600000000", "Europe/Madrid"},
        {"+447700900000", "Europe/London"},
        {"+4915112345678", "Europe/Berlin"},
        {"+351912345678", "Europe/Lisbon"},
        {"+353851234567", "Europe/Dublin"},
        {"+358401234567", "Europe/Helsinki"},
        {"+74951234567", "Europe/Moscow"},
        {"+77011234567", "Asia/Almaty"},
        {"+8613812345678", "Asia/Shanghai"},
        {"+819012345678", "Asia/Tokyo"},
        {"+919812345678", "Asia/Kolkata"},
        {"+61412345678", "Australia/Sydney"},
        {"+5511912345678", "America/Sao_Paulo"},
        {"+525512345678", "America/Mexico_City"},
        {"+212612345678", "Africa/Casablanca"},
        {"+971501234567", "Asia/Dubai"},
        {"+27821234567", "Africa/Johannesburg"},
        {"+2348012345678", "Africa/Lagos"},
        {"+6591234567", "Asia/Singapore"},
        {"+64211234567", "Pacific/Auckland"},
        {"+999123", "UTC"},
        {"+", "UTC"},
        {"33612345678", "UTC"},
        {"+x33", "UTC"},
        {"", "UTC"},
    };
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(cases); i++) {
        const char *z = Ccai_tz_for_phone(cases[i].phone);
        if (strcmp(z, cases[i].zone) != 0)
            fail_msg("%s: %s, expected %s", cases[i].phone, z, cases[i].zone);
    }
    assert_string_equal(Ccai_tz_for_phone(NULL), "UTC");
}

static void test_tz_names(void **state)
{
    (void)state;
    assert_true(Ccai_tz_name_valid("Europe/Paris"));
    assert_true(Ccai_tz_name_valid("America/Argentina/Buenos_Aires"));
    assert_true(Ccai_tz_name_valid("Etc/GMT+1"));
    assert_true(Ccai_tz_name_valid("America/Port-au-Prince"));
    assert_true(Ccai_tz_name_valid("UTC"));
    assert_false(Ccai_tz_name_valid(NULL));
    assert_false(Ccai_tz_name_valid(""));
    assert_false(Ccai_tz_name_valid("../etc/passwd"));
    assert_false(Ccai_tz_name_valid("Europe/../../etc/passwd"));
    assert_false(Ccai_tz_name_valid("/etc/passwd"));
    assert_false(Ccai_tz_name_valid("Europe//Paris"));
    assert_false(Ccai_tz_name_valid("Europe/"));
    assert_false(Ccai_tz_name_valid("Europe/Paris\n"));
    assert_false(Ccai_tz_name_valid("Europe Paris"));
    char longname[CCAI_TZ_NAME_MAX + 2];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_false(Ccai_tz_name_valid(longname));
    longname[CCAI_TZ_NAME_MAX] = '\0';
    assert_true(Ccai_tz_name_valid(longname));
}

static bool have_tzdata(void)
{
    Ccai_tz *tz = NULL;
    if (Ccai_tz_load("Europe/Paris", &tz) != CCAI_OK)
        return false;
    Ccai_tz_free(tz);
    return true;
}

/* The zone (UTC when unavailable) and wall_ms formatted in it. */
static ccai_status format_now(const char *zone, int64_t wall_ms, const Ccai_logger *lg, char *out,
                              size_t outlen)
{
    Ccai_tz *tz = NULL;
    ccai_status st = Ccai_tz_load_or_utc(zone, lg, &tz);
    if (st != CCAI_OK)
        return st;
    st = Ccai_tz_format(tz, wall_ms, out, outlen);
    Ccai_tz_free(tz);
    return st;
}

static void assert_format(const char *zone, int64_t unix_s, const char *want)
{
    char out[CCAI_TZ_FORMAT_MAX];
    assert_int_equal(format_now(zone, unix_s * 1000 + 999, NULL, out, sizeof out), CCAI_OK);
    assert_string_equal(out, want);
}

static void test_tz_format(void **state)
{
    (void)state;
    if (!have_tzdata())
        skip();
    assert_format("Europe/Paris", 1705318980, "Mon 15 Jan 2024, 12:43 (CET)");  /* 11:43Z */
    assert_format("Europe/Paris", 1721040180, "Mon 15 Jul 2024, 12:43 (CEST)"); /* 10:43Z */
    assert_format("America/New_York", 1705340580, "Mon 15 Jan 2024, 12:43 (EST)");
    assert_format("America/New_York", 1721061780, "Mon 15 Jul 2024, 12:43 (EDT)");
    assert_format("Asia/Kolkata", 1721040180, "Mon 15 Jul 2024, 16:13 (IST)");
    assert_format("Asia/Dubai", 1721040180, "Mon 15 Jul 2024, 14:43 (+04)");
    assert_format("UTC", 1721040180, "Mon 15 Jul 2024, 10:43 (UTC)");
    /* Around the 2024 changes in Paris: 31 Mar 01:00Z and 27 Oct 01:00Z. */
    assert_format("Europe/Paris", 1711846799, "Sun 31 Mar 2024, 01:59 (CET)");
    assert_format("Europe/Paris", 1711846800, "Sun 31 Mar 2024, 03:00 (CEST)");
    assert_format("Europe/Paris", 1729990799, "Sun 27 Oct 2024, 02:59 (CEST)");
    assert_format("Europe/Paris", 1729990800, "Sun 27 Oct 2024, 02:00 (CET)");
    /* Far beyond the file's transitions: the footer rule decides. */
    assert_format("Europe/Paris", 4119331380, "Thu 15 Jul 2100, 12:43 (CEST)");
    assert_format("Australia/Sydney", 4103689380, "Fri 15 Jan 2100, 20:43 (AEDT)");
    assert_format("Australia/Sydney", 4119331380, "Thu 15 Jul 2100, 20:43 (AEST)");
    /* Before 1970 and the 64-bit section. */
    assert_format("Europe/Paris", -946771200, "Mon 01 Jan 1940, 00:00 (WET)");

    char out[CCAI_TZ_FORMAT_MAX];
    assert_int_equal(format_now("UTC", 0, NULL, out, 10), CCAI_ERR_LIMIT);
    assert_int_equal(format_now("UTC", INT64_MAX, NULL, out, sizeof out), CCAI_ERR_INVALID_ARG);
}

static void on_log(ccai_log_level level, const char *msg, void *ud)
{
    char *last = ud;
    (void)level;
    snprintf(last, 256, "%s", msg);
}

static void test_tz_fallback(void **state)
{
    (void)state;
    char out[CCAI_TZ_FORMAT_MAX], last[256] = "";
    Ccai_logger lg = {on_log, last, CCAI_LOG_DEBUG};
    assert_int_equal(format_now("Nowhere/Atlantis", 1721040180000, &lg, out, sizeof out), CCAI_OK);
    assert_string_equal(out, "Mon 15 Jul 2024, 10:43 (UTC)");
    assert_string_equal(last, "time zone \"Nowhere/Atlantis\" unavailable (not found): times in "
                              "UTC");
    last[0] = '\0';
    assert_int_equal(format_now("../../etc/passwd", 1721040180000, &lg, out, sizeof out), CCAI_OK);
    assert_string_equal(out, "Mon 15 Jul 2024, 10:43 (UTC)");
    assert_non_null(strstr(last, "invalid argument"));
    /* A directory is not a zone. */
    assert_int_equal(format_now("America", 1721040180000, NULL, out, sizeof out), CCAI_OK);
    assert_string_equal(out, "Mon 15 Jul 2024, 10:43 (UTC)");
    /* From another tzdata directory, here one without zones. */
    Ccai_tz *tz = NULL;
    assert_int_equal(Ccai_tz_load_from("/nonexistent", "Europe/Paris", &tz), CCAI_ERR_NOT_FOUND);
    assert_null(tz);
}

static void test_tz_known_zones_exist(void **state)
{
    (void)state;
    if (!have_tzdata())
        skip();
    size_t n = 0;
    for (const char *z; (z = Ccai_tz_known_zone(n)); n++) {
        Ccai_tz *tz = NULL;
        ccai_status st = Ccai_tz_load(z, &tz);
        if (st != CCAI_OK)
            fail_msg("%s: %s", z, ccai_status_str(st));
        Ccai_tz_free(tz);
    }
    assert_true(n > 150);
}

/* Our offsets agree with the C library's on many instants (the test may
 * set TZ: it is single-threaded). */
static void test_tz_matches_libc(void **state)
{
    (void)state;
    if (!have_tzdata())
        skip();
    static const char *const zones[] = {
        "Europe/Paris",      "America/New_York", "Australia/Sydney",    "Europe/Dublin",
        "Africa/Casablanca", "America/Santiago", "Australia/Lord_Howe", "Asia/Tehran",
        "America/Nuuk",      "Pacific/Auckland", "Asia/Kolkata",        "America/Sao_Paulo",
        "Europe/London",     "Asia/Gaza",        "America/Havana",      "UTC",
    };
    char *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
    uint64_t seed = 0x9e3779b97f4a7c15u;
    size_t checked = 0;
    for (size_t z = 0; z < CCAI_ARRAY_SIZE(zones); z++) {
        Ccai_tz *tz = NULL;
        assert_int_equal(Ccai_tz_load(zones[z], &tz), CCAI_OK);
        char tzenv[80];
        snprintf(tzenv, sizeof tzenv, ":%s", zones[z]);
        setenv("TZ", tzenv, 1);
        tzset();
        for (int i = 0; i < 3000; i++) {
            seed = seed * 6364136223846793005u + 1442695040888963407u;
            /* 1901 .. 2200 */
            int64_t t = -2145916800 + (int64_t)((seed >> 20) % UINT64_C(9467280000));
            time_t tt = (time_t)t;
            struct tm tm;
            assert_non_null(localtime_r(&tt, &tm));
            int32_t off;
            const char *abbr;
            bool isdst;
            Ccai_tz_lookup(tz, t, &off, &abbr, &isdst);
            if (off != tm.tm_gmtoff || strcmp(abbr, tm.tm_zone) != 0)
                fail_msg("%s at %lld: %d %s, libc %ld %s", zones[z], (long long)t, off, abbr,
                         tm.tm_gmtoff, tm.tm_zone);
            checked++;
        }
        Ccai_tz_free(tz);
    }
    if (old)
        setenv("TZ", old, 1);
    else
        unsetenv("TZ");
    tzset();
    free(old);
    assert_int_equal(checked, 3000 * CCAI_ARRAY_SIZE(zones));
}

static void assert_local(const char *zone, const char *iso, const char *want, int64_t want_t)
{
    Ccai_tz *tz = NULL;
    assert_int_equal(Ccai_tz_load(zone, &tz), CCAI_OK);
    char out[CCAI_TZ_ISO_MAX];
    int64_t ms = 0;
    assert_int_equal(Ccai_tz_localize_iso(tz, iso, out, sizeof out, &ms), CCAI_OK);
    if (strcmp(out, want) != 0 || ms != want_t * 1000)
        fail_msg("%s in %s: %s (%lld), expected %s (%lld)", iso, zone, out, (long long)ms / 1000,
                 want, (long long)want_t);
    Ccai_tz_free(tz);
}

/* Local times to instants: the offset of that local time, DST-correct. A
 * time that does not exist moves on by the gap, one that happens twice is
 * the first; every other local time agrees with the C library's mktime(). */
static void test_tz_local_times(void **state)
{
    (void)state;
    if (!have_tzdata())
        skip();
    /* Los Angeles: 9 Mar 2031 02:00 PST -> 03:00 PDT; 2 Nov 2031 02:00 PDT
     * -> 01:00 PST. Paris: 30 Mar 2031 02:00 -> 03:00; 26 Oct 03:00 -> 02:00. */
    assert_local("America/Los_Angeles", "2031-01-15T09:00:00", "2031-01-15T09:00:00-08:00",
                 1926262800);
    assert_local("America/Los_Angeles", "2031-07-15T09:00:00", "2031-07-15T09:00:00-07:00",
                 1941897600);
    assert_local("America/Los_Angeles", "2031-03-09T01:59:00", "2031-03-09T01:59:00-08:00",
                 1930816740);
    assert_local("America/Los_Angeles", "2031-03-09T02:30:00", "2031-03-09T03:30:00-07:00",
                 1930818600);
    assert_local("America/Los_Angeles", "2031-03-09T03:00:00", "2031-03-09T03:00:00-07:00",
                 1930816800);
    assert_local("America/Los_Angeles", "2031-11-02T01:30:00", "2031-11-02T01:30:00-07:00",
                 1951374600);
    assert_local("America/Los_Angeles", "2031-11-02T02:00:00", "2031-11-02T02:00:00-08:00",
                 1951380000);
    assert_local("Europe/Paris", "2031-03-30T01:59:00", "2031-03-30T01:59:00+01:00", 1932598740);
    assert_local("Europe/Paris", "2031-03-30T02:30:00", "2031-03-30T03:30:00+02:00", 1932600600);
    assert_local("Europe/Paris", "2031-10-26T02:30:00", "2031-10-26T02:30:00+02:00", 1950741000);
    assert_local("Europe/Paris", "2031-10-26T03:00:00", "2031-10-26T03:00:00+01:00", 1950746400);
    assert_local("Asia/Kolkata", "2024-10-08T14:30:00", "2024-10-08T14:30:00+05:30", 1728378000);
    assert_local("UTC", "2024-10-08T14:30:00", "2024-10-08T14:30:00+00:00", 1728397800);
    /* With an offset: kept as it is. */
    assert_local("Europe/Paris", "2024-10-08T14:30:00Z", "2024-10-08T14:30:00Z", 1728397800);
    assert_local("Europe/Paris", "2024-10-08T14:30:00-07:00", "2024-10-08T14:30:00-07:00",
                 1728423000);

    /* Every hour of two years in both zones against mktime() (times that
     * exist once only: libc's choice elsewhere is its own). */
    static const char *const zones[] = {"America/Los_Angeles", "Europe/Paris"};
    char *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
    for (size_t z = 0; z < 2; z++) {
        Ccai_tz *tz = NULL;
        assert_int_equal(Ccai_tz_load(zones[z], &tz), CCAI_OK);
        char tzenv[80];
        snprintf(tzenv, sizeof tzenv, ":%s", zones[z]);
        setenv("TZ", tzenv, 1);
        tzset();
        for (int64_t local = 1924992000; local < 1924992000 + 2 * 365 * 86400; local += 3600 + 60) {
            int64_t t;
            int32_t off;
            Ccai_tz_from_local(tz, local, &t, &off);
            time_t tt = (time_t)t;
            struct tm tm;
            assert_non_null(localtime_r(&tt, &tm));
            if (t + off != local) /* a gap: moved on by it */
                continue;
            assert_int_equal(off, tm.tm_gmtoff);
            struct tm want;
            time_t lt = (time_t)local;
            gmtime_r(&lt, &want);
            want.tm_isdst = -1;
            time_t m = mktime(&want);
            int32_t other;
            Ccai_tz_lookup(tz, t - 3600, &other, NULL, NULL);
            if (other == off || other < off) /* not a repeated hour */
                assert_int_equal((int64_t)m, t);
        }
        Ccai_tz_free(tz);
    }
    if (old)
        setenv("TZ", old, 1);
    else
        unsetenv("TZ");
    tzset();
    free(old);

    /* Malformed, and a NULL zone (UTC). */
    char out[CCAI_TZ_ISO_MAX];
    static const char *const bad[] = {"2024-10-08",
                                      "2024-10-08 14:30:00",
                                      "2024-13-08T14:30:00",
                                      "2024-10-08T14:30:00+2",
                                      "2024-10-08T14:30:00+02:60",
                                      "2024-10-08T14:30:00X",
                                      "0000-10-08T14:30:00",
                                      "x024-10-08T14:30:00"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(Ccai_tz_localize_iso(NULL, bad[i], out, sizeof out, NULL), CCAI_ERR_PARSE);
    assert_int_equal(Ccai_tz_localize_iso(NULL, "2024-10-08T14:30:00", out, 8, NULL),
                     CCAI_ERR_LIMIT);
    assert_int_equal(Ccai_tz_localize_iso(NULL, "2024-10-08T14:30:00", out, sizeof out, NULL),
                     CCAI_OK);
    assert_string_equal(out, "2024-10-08T14:30:00+00:00");
    assert_int_equal(Ccai_tz_iso_at(NULL, 1728397800123, out, sizeof out), CCAI_OK);
    assert_string_equal(out, "2024-10-08T14:30:00+00:00");
}

/* TZif parser on built files ------------------------------------------------ */

typedef struct tzif_b {
    uint8_t d[1024];
    size_t n;
} tzif_b;

static void put_be(tzif_b *b, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--)
        b->d[b->n++] = (uint8_t)(v >> (8 * i));
}

/* A version 2 file with one type and the given footer; the v1 section is
 * empty apart from that type. */
static void build(tzif_b *b, int32_t utoff, const char *abbr, const char *footer)
{
    memset(b, 0, sizeof *b);
    size_t charcnt = strlen(abbr) + 1;
    for (int part = 0; part < 2; part++) {
        memcpy(b->d + b->n, "TZif2", 5);
        b->n += 20;
        put_be(b, 0, 4);       /* isutcnt */
        put_be(b, 0, 4);       /* isstdcnt */
        put_be(b, 0, 4);       /* leapcnt */
        put_be(b, 0, 4);       /* timecnt */
        put_be(b, 1, 4);       /* typecnt */
        put_be(b, charcnt, 4); /* charcnt */
        put_be(b, (uint32_t)utoff, 4);
        b->d[b->n++] = 0;
        b->d[b->n++] = 0;
        memcpy(b->d + b->n, abbr, charcnt);
        b->n += charcnt;
    }
    b->n += snprintf((char *)b->d + b->n, sizeof b->d - b->n, "\n%s\n", footer);
}

static void test_tz_parse_built(void **state)
{
    (void)state;
    tzif_b b;
    Ccai_tz *tz = NULL;
    char out[CCAI_TZ_FORMAT_MAX];

    /* Only a footer: the US rule. */
    build(&b, -18000, "EST", "EST5EDT,M3.2.0,M11.1.0");
    assert_int_equal(Ccai_tz_parse(b.d, b.n, &tz), CCAI_OK);
    assert_int_equal(Ccai_tz_format(tz, 1721061780000, out, sizeof out), CCAI_OK);
    assert_string_equal(out, "Mon 15 Jul 2024, 12:43 (EDT)");
    assert_int_equal(Ccai_tz_format(tz, 1705340580000, out, sizeof out), CCAI_OK);
    assert_string_equal(out, "Mon 15 Jan 2024, 12:43 (EST)");
    Ccai_tz_free(tz);

    /* Quoted names, Julian days, negative and over-24h times (v3). */
    build(&b, 14400, "+04", "<+04>-4");
    assert_int_equal(Ccai_tz_parse(b.d, b.n, &tz), CCAI_OK);
    assert_int_equal(Ccai_tz_format(tz, 0, out, sizeof out), CCAI_OK);
    assert_string_equal(out, "Thu 01 Jan 1970, 04:00 (+04)");
    Ccai_tz_free(tz);
    build(&b, -7200, "-02", "<-02>2<-01>,M3.5.0/-1,M10.5.0/0");
    assert_int_equal(Ccai_tz_parse(b.d, b.n, &tz), CCAI_OK);
    assert_int_equal(Ccai_tz_format(tz, 1721040180000, out, sizeof out), CCAI_OK);
    assert_string_equal(out, "Mon 15 Jul 2024, 09:43 (-01)");
    Ccai_tz_free(tz);
    build(&b, 0, "AAA", "AAA0BBB,J60/25,300");
    assert_int_equal(Ccai_tz_parse(b.d, b.n, &tz), CCAI_OK);
    int32_t off;
    /* J60 is 1 Mar even in leap years; the change is at 25:00, 2 Mar 01:00. */
    Ccai_tz_lookup(tz, 1709341200 - 1, &off, NULL, NULL); /* 2024-03-02T00:59:59Z */
    assert_int_equal(off, 0);
    Ccai_tz_lookup(tz, 1709341200, &off, NULL, NULL);
    assert_int_equal(off, 3600);
    Ccai_tz_free(tz);

    /* Empty footer: the last type rules. */
    build(&b, 3600, "XYZ", "");
    assert_int_equal(Ccai_tz_parse(b.d, b.n, &tz), CCAI_OK);
    assert_int_equal(Ccai_tz_format(tz, 0, out, sizeof out), CCAI_OK);
    assert_string_equal(out, "Thu 01 Jan 1970, 01:00 (XYZ)");
    Ccai_tz_free(tz);

    /* Bad footers. */
    static const char *const bad[] = {
        "E5",
        "EST",
        "EST5EDT",
        "EST5EDT,M3.2.0",
        "EST5EDT,M13.2.0,M11.1.0",
        "EST5EDT,M3.6.0,M11.1.0",
        "EST5EDT,J0,J10",
        "EST5EDT,M3.2.0,M11.1.0/168",
        "<EST5",
        "EST25",
        "EST5EDT,M3.2.0,M11.1.0x",
    };
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(bad); i++) {
        build(&b, 0, "EST", bad[i]);
        tz = NULL;
        if (Ccai_tz_parse(b.d, b.n, &tz) != CCAI_ERR_PARSE)
            fail_msg("footer \"%s\" accepted", bad[i]);
        assert_null(tz);
    }

    /* Corruptions of a good file. */
    build(&b, -18000, "EST", "EST5EDT,M3.2.0,M11.1.0");
    tzif_b c = b;
    c.d[0] = 'X';
    assert_int_equal(Ccai_tz_parse(c.d, c.n, &tz), CCAI_ERR_PARSE);
    c = b;
    c.d[4] = '1';
    assert_int_equal(Ccai_tz_parse(c.d, c.n, &tz), CCAI_ERR_PARSE);
    c = b;
    c.d[36 + 3] = 0; /* typecnt 0 */
    assert_int_equal(Ccai_tz_parse(c.d, c.n, &tz), CCAI_ERR_PARSE);
    c = b;
    c.d[c.n - 1] = 'x'; /* footer not closed */
    assert_int_equal(Ccai_tz_parse(c.d, c.n, &tz), CCAI_ERR_PARSE);
    /* The version 1 section is skipped; the version 2 one, at 54, is read. */
    const size_t v2 = 44 + 6 + 4;
    c = b;
    c.d[v2 + 44 + 5] = 9; /* abbreviation index beyond the characters */
    assert_int_equal(Ccai_tz_parse(c.d, c.n, &tz), CCAI_ERR_PARSE);
    c = b;
    c.d[v2 + 44 + 6 + 3] = 'x'; /* abbreviation not NUL-terminated */
    assert_int_equal(Ccai_tz_parse(c.d, c.n, &tz), CCAI_ERR_PARSE);
    c = b;
    c.d[v2 + 44 + 4] = 2; /* isdst neither 0 nor 1 */
    assert_int_equal(Ccai_tz_parse(c.d, c.n, &tz), CCAI_ERR_PARSE);
    c = b;
    c.d[44 + 5] = 9; /* ... while the same in version 1 goes unnoticed */
    assert_int_equal(Ccai_tz_parse(c.d, c.n, &tz), CCAI_OK);
    Ccai_tz_free(tz);
    assert_int_equal(Ccai_tz_parse(NULL, 0, &tz), CCAI_ERR_PARSE);
    assert_int_equal(Ccai_tz_parse(NULL, 1, &tz), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_tz_parse(b.d, b.n, NULL), CCAI_ERR_INVALID_ARG);
}

static void test_tz_parse_truncated(void **state)
{
    (void)state;
    if (!have_tzdata())
        skip();
    static const char *const zones[] = {"Europe/Paris", "America/New_York", "Asia/Dubai"};
    for (size_t z = 0; z < CCAI_ARRAY_SIZE(zones); z++) {
        char path[256];
        snprintf(path, sizeof path, "%s/%s", CCAI_TZ_DIR, zones[z]);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        static uint8_t buf[CCAI_TZ_FILE_MAX];
        size_t len = fread(buf, 1, sizeof buf, f);
        fclose(f);
        assert_true(len > 44);
        Ccai_tz *tz = NULL;
        assert_int_equal(Ccai_tz_parse(buf, len, &tz), CCAI_OK);
        Ccai_tz_free(tz);
        for (size_t n = 0; n < len; n++) {
            tz = NULL;
            if (Ccai_tz_parse(buf, n, &tz) == CCAI_OK)
                fail_msg("%s cut at %zu bytes accepted", zones[z], n);
            assert_null(tz);
        }
        /* Two transitions of the 64-bit section swapped. */
        size_t cnt[6], v2 = 44;
        for (int i = 0; i < 6; i++)
            cnt[i] = (size_t)buf[20 + 4 * i] << 24 | (size_t)buf[21 + 4 * i] << 16 |
                     (size_t)buf[22 + 4 * i] << 8 | buf[23 + 4 * i];
        v2 += cnt[3] * 5 + cnt[4] * 6 + cnt[5] + cnt[2] * 8 + cnt[1] + cnt[0];
        assert_memory_equal(buf + v2, "TZif", 4);
        assert_true(buf[v2 + 35] >= 2);
        static uint8_t copy[CCAI_TZ_FILE_MAX];
        memcpy(copy, buf, len);
        memcpy(copy + v2 + 44, buf + v2 + 52, 8);
        memcpy(copy + v2 + 52, buf + v2 + 44, 8);
        assert_int_equal(Ccai_tz_parse(copy, len, &tz), CCAI_ERR_PARSE);
    }
    Ccai_tz *tz = NULL;
    static uint8_t huge[CCAI_TZ_FILE_MAX + 1];
    assert_int_equal(Ccai_tz_parse(huge, sizeof huge, &tz), CCAI_ERR_LIMIT);
}

static void test_tz_utc(void **state)
{
    (void)state;
    Ccai_tz *tz = NULL;
    assert_int_equal(Ccai_tz_new_utc(&tz), CCAI_OK);
    char out[CCAI_TZ_FORMAT_MAX];
    assert_int_equal(Ccai_tz_format(tz, -1, out, sizeof out), CCAI_OK);
    assert_string_equal(out, "Wed 31 Dec 1969, 23:59 (UTC)");
    assert_int_equal(Ccai_tz_format(tz, 951782400000, out, sizeof out), CCAI_OK);
    assert_string_equal(out, "Tue 29 Feb 2000, 00:00 (UTC)");
    Ccai_tz_free(tz);
    Ccai_tz_free(NULL);
}

/* Out of memory ---------------------------------------------------------------- */

static long allocs_left;

static void *oom_malloc(size_t size, void *ud)
{
    (void)ud;
    return allocs_left-- > 0 ? malloc(size) : NULL;
}

static void *oom_realloc(void *ptr, size_t size, void *ud)
{
    (void)ud;
    return allocs_left-- > 0 ? realloc(ptr, size) : NULL;
}

static void oom_free(void *ptr, void *ud)
{
    (void)ud;
    free(ptr);
}

/* Every allocation failure gives a clean NULL / CCAI_ERR_NOMEM, no partial
 * result and no leak (ASan checks the latter). */
static void test_oom(void **state)
{
    (void)state;
    const ccai_allocator a = {CCAI_ALLOCATOR_VERSION, oom_malloc, oom_realloc, oom_free, NULL};
    ccai_config *cfg = config_with("prompts.tts.hello_tpl", "[\"Hi {bot_name}\", \"Yo {nme}\"]");
    bool done_prompts = false, done_render = false, done_tz = !have_tzdata();
    long tz_failures = 0;
    for (long n = 0; n < 100000 && !(done_prompts && done_render && done_tz); n++) {
        assert_int_equal(ccai_set_allocator(&a), CCAI_OK);
        if (!done_prompts) {
            allocs_left = n;
            char *err = NULL;
            Ccai_prompts *p = Ccai_prompts_new(cfg, &err);
            assert_null(p);
            if (err) {
                assert_string_equal(err, "prompts.tts.hello_tpl[1]: unknown placeholder {nme}; "
                                         "allowed: bot_name, bot_company");
                done_prompts = true;
            }
            ccai_free(err);
        }
        if (!done_render) {
            allocs_left = n;
            const Ccai_prompt_var vars[] = {{"x", "value\nwith lines"}};
            char *out = Ccai_prompt_render_llm("  a {x}\n  b {{c}}", vars, 1);
            if (out) {
                assert_string_equal(out, "a value with lines b {c}");
                done_render = true;
            }
            ccai_free(out);
        }
        if (!done_tz) {
            allocs_left = n;
            char out[CCAI_TZ_FORMAT_MAX];
            ccai_status st = format_now("Europe/Paris", 1721040180000, NULL, out, sizeof out);
            assert_true(st == CCAI_OK || st == CCAI_ERR_NOMEM);
            tz_failures += st == CCAI_ERR_NOMEM;
            if (st == CCAI_OK) {
                /* Not UTC: a failed allocation is never taken for a
                 * missing zone. */
                assert_string_equal(out, "Mon 15 Jul 2024, 12:43 (CEST)");
                done_tz = true;
            }
        }
        ccai_set_allocator(NULL);
    }
    assert_true(done_prompts && done_render && done_tz);
    assert_true(tz_failures >= 3 || !have_tzdata());
    ccai_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_placeholders),
        cmocka_unit_test(test_render_dedent_and_collapse),
        cmocka_unit_test(test_render_limits),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_render_defaults),
        cmocka_unit_test(test_config_overrides),
        cmocka_unit_test(test_translations),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_embedded_data),
        cmocka_unit_test(test_tz_for_phone),
        cmocka_unit_test(test_tz_names),
        cmocka_unit_test(test_tz_format),
        cmocka_unit_test(test_tz_fallback),
        cmocka_unit_test(test_tz_known_zones_exist),
        cmocka_unit_test(test_tz_matches_libc),
        cmocka_unit_test(test_tz_local_times),
        cmocka_unit_test(test_tz_parse_built),
        cmocka_unit_test(test_tz_parse_truncated),
        cmocka_unit_test(test_tz_utc),
        cmocka_unit_test(test_oom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
