/* Prompt templates and the prompt set (engine/prompts.c); the time zones of
 * {date} are core/tz.c's (test_tz.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "core/embedded.h"
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
    const ccai_allocator a = {CCAI_ALLOCATOR_VERSION, oom_malloc, oom_realloc, oom_free, NULL,
                              CCAI_ALLOCATOR_JSON};
    ccai_config *cfg = config_with("prompts.tts.hello_tpl", "[\"Hi {bot_name}\", \"Yo {nme}\"]");
    bool done_prompts = false, done_render = false;
    for (long n = 0; n < 100000 && !(done_prompts && done_render); n++) {
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
        ccai_set_allocator(NULL);
    }
    assert_true(done_prompts && done_render);
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
        cmocka_unit_test(test_oom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
