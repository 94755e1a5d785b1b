/* The pronunciation dictionary: CMU lines, variants, comments, every rule
 * a line can break (with its line number), the limits, the file Debian's
 * pocketsphinx-en-us installs, and every allocation failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "speech/dict.h"
#include "support/oom.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEBIAN_DICT "/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict"

static Ccai_pron_dict *parse_ok(const char *text)
{
    Ccai_pron_dict *d = NULL;
    Ccai_err err = {0};
    ccai_status st = Ccai_pron_dict_parse(text, strlen(text), &d, &err);
    if (st != CCAI_OK)
        fail_msg("parse: %s: %s", ccai_status_str(st), Ccai_err_get(&err));
    Ccai_err_free(&err);
    return d;
}

static void entries_and_variants(void **state)
{
    (void)state;
    Ccai_pron_dict *d = parse_ok(";;; a comment\n"
                                 "## another\n"
                                 "hello HH AH L OW\n"
                                 "hello(2)  HH EH L OW   \r\n"
                                 "\n"
                                 "   \t\n"
                                 "read R IY D # the present tense\n"
                                 "read(2) R EH D\n"
                                 "it's IH T S\n"
                                 "x-ray EH K S R EY");
    assert_int_equal(Ccai_pron_dict_size(d), 6);
    assert_string_equal(Ccai_pron_dict_get(d, "hello", 0), "HH AH L OW");
    assert_string_equal(Ccai_pron_dict_get(d, "hello", 1), "HH EH L OW");
    assert_null(Ccai_pron_dict_get(d, "hello", 2));
    assert_string_equal(Ccai_pron_dict_get(d, "read", 0), "R IY D");
    assert_string_equal(Ccai_pron_dict_get(d, "read", 1), "R EH D");
    assert_string_equal(Ccai_pron_dict_get(d, "it's", 0), "IH T S");
    assert_string_equal(Ccai_pron_dict_get(d, "x-ray", 0), "EH K S R EY");
    assert_null(Ccai_pron_dict_get(d, "Hello", 0)); /* exact match */
    assert_null(Ccai_pron_dict_get(d, "hell", 0));
    assert_null(Ccai_pron_dict_get(d, "", 0));
    assert_null(Ccai_pron_dict_get(d, NULL, 0));
    assert_true(Ccai_pron_dict_bytes(d) > 0);
    char key[80];
    assert_true(Ccai_pron_dict_key("read", 1, key, sizeof key));
    assert_string_equal(key, "read(2)");
    assert_false(Ccai_pron_dict_key("read", 1, key, 5));
    Ccai_pron_dict_free(d);
    Ccai_pron_dict_free(NULL);
}

static void first_pronunciation_wins(void **state)
{
    (void)state;
    Ccai_pron_dict *d = parse_ok("tomato T AH M EY T OW\ntomato T AH M AA T OW\n");
    assert_int_equal(Ccai_pron_dict_size(d), 1);
    assert_string_equal(Ccai_pron_dict_get(d, "tomato", 0), "T AH M EY T OW");
    Ccai_pron_dict_free(d);
}

static void empty_text(void **state)
{
    (void)state;
    Ccai_pron_dict *d = NULL;
    assert_int_equal(Ccai_pron_dict_parse("", 0, &d, NULL), CCAI_OK);
    assert_int_equal(Ccai_pron_dict_size(d), 0);
    assert_null(Ccai_pron_dict_get(d, "a", 0));
    Ccai_pron_dict_free(d);
    assert_int_equal(Ccai_pron_dict_parse(NULL, 0, &d, NULL), CCAI_OK);
    Ccai_pron_dict_free(d);
    assert_int_equal(Ccai_pron_dict_parse(NULL, 3, &d, NULL), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_pron_dict_parse("a A", 3, NULL, NULL), CCAI_ERR_INVALID_ARG);
}

static void broken_lines(void **state)
{
    (void)state;
    static const struct {
        const char *text, *msg;
    } cases[] = {
        {"ok OW K EY\nlonely\n", "line 2: a word without phones"},
        {"ok OW K EY\nbad B ae D\n", "line 2: 'a' in a phone"},
        {"bad B AE$ D\n", "line 1: '$' in a phone"},
        {"bad B AEAEAEAEAE D\n", "line 1: more than 40 phones or a phone over 8 bytes"},
        {"a\x01 B\n", "line 1: a control byte in the word"},
        {"a B\nb B\nc B \x7f\n", "line 3: '?' in a phone"},
        {"x\0y A\n", "line 1: a NUL byte"},
    };
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(cases); i++) {
        Ccai_pron_dict *d = (Ccai_pron_dict *)0x1;
        Ccai_err err = {0};
        size_t len = i == 6 ? 6 : strlen(cases[i].text);
        assert_int_equal(Ccai_pron_dict_parse(cases[i].text, len, &d, &err), CCAI_ERR_PARSE);
        assert_ptr_equal(d, (Ccai_pron_dict *)0x1); /* untouched */
        if (strncmp(Ccai_err_get(&err), cases[i].msg, strlen(cases[i].msg)) != 0)
            fail_msg("case %zu: \"%s\", expected \"%s...\"", i, Ccai_err_get(&err), cases[i].msg);
        Ccai_err_free(&err);
    }
    /* A word of 64 bytes is fine, 65 is not; 40 phones are, 41 not. */
    char line[512];
    memset(line, 'w', 64);
    strcpy(line + 64, " W\n");
    Ccai_pron_dict *d = parse_ok(line);
    Ccai_pron_dict_free(d);
    memset(line, 'w', 65);
    strcpy(line + 65, " W\n");
    assert_int_equal(Ccai_pron_dict_parse(line, strlen(line), &d, NULL), CCAI_ERR_PARSE);
    strcpy(line, "long");
    for (int i = 0; i < 40; i++)
        strcat(line, " AH");
    d = parse_ok(line);
    Ccai_pron_dict_free(d);
    strcat(line, " AH");
    assert_int_equal(Ccai_pron_dict_parse(line, strlen(line), &d, NULL), CCAI_ERR_PARSE);
}

static void size_limit(void **state)
{
    (void)state;
    Ccai_pron_dict *d = NULL;
    Ccai_err err = {0};
    assert_int_equal(Ccai_pron_dict_parse("", (size_t)CCAI_PRON_DICT_MAX_BYTES + 1, &d, &err),
                     CCAI_ERR_LIMIT);
    assert_non_null(strstr(Ccai_err_get(&err), "larger than"));
    Ccai_err_free(&err);
}

static void many_entries(void **state)
{
    (void)state;
    /* Enough to make the table grow several times; every key found. */
    Ccai_buf b = {0};
    for (int i = 0; i < 20000; i++)
        assert_true(Ccai_buf_printf(&b, "w%d W AH N\nw%d(2) T UW\n", i, i));
    Ccai_pron_dict *d = NULL;
    assert_int_equal(Ccai_pron_dict_parse(b.data, b.len, &d, NULL), CCAI_OK);
    assert_int_equal(Ccai_pron_dict_size(d), 40000);
    for (int i = 0; i < 20000; i += 97) {
        char w[16];
        snprintf(w, sizeof w, "w%d", i);
        assert_string_equal(Ccai_pron_dict_get(d, w, 0), "W AH N");
        assert_string_equal(Ccai_pron_dict_get(d, w, 1), "T UW");
    }
    Ccai_pron_dict_free(d);
    Ccai_buf_free(&b);
}

static void files(void **state)
{
    (void)state;
    Ccai_pron_dict *d = NULL;
    Ccai_err err = {0};
    assert_int_equal(Ccai_pron_dict_load("/nonexistent/x.dict", &d, &err), CCAI_ERR_IO);
    assert_non_null(strstr(Ccai_err_get(&err), "/nonexistent/x.dict"));
    char path[] = "/tmp/ccai-dict-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *bad = "good G UH D\nbad b\n";
    assert_int_equal(write(fd, bad, strlen(bad)), (ssize_t)strlen(bad));
    close(fd);
    assert_int_equal(Ccai_pron_dict_load(path, &d, &err), CCAI_ERR_PARSE);
    /* The error names the file and the line. */
    assert_non_null(strstr(Ccai_err_get(&err), path));
    assert_non_null(strstr(Ccai_err_get(&err), "line 2"));
    unlink(path);
    Ccai_err_free(&err);
    if (access(DEBIAN_DICT, R_OK) != 0)
        skip(); /* pocketsphinx-en-us not installed */
    assert_int_equal(Ccai_pron_dict_load(DEBIAN_DICT, &d, &err), CCAI_OK);
    assert_int_equal(Ccai_pron_dict_size(d), 134723);
    assert_string_equal(Ccai_pron_dict_get(d, "zero", 0), "Z IH R OW");
    assert_string_equal(Ccai_pron_dict_get(d, "a", 1), "EY");
    assert_non_null(Ccai_pron_dict_get(d, "representative", 3));
    print_message("# %s: %zu entries in %zu KiB\n", DEBIAN_DICT, Ccai_pron_dict_size(d),
                  Ccai_pron_dict_bytes(d) / 1024);
    Ccai_pron_dict_free(d);
}

static ccai_status sc_parse(void)
{
    Ccai_buf b = {0};
    ccai_status st = CCAI_OK;
    for (int i = 0; i < 3000 && st == CCAI_OK; i++)
        if (!Ccai_buf_printf(&b, "w%d W AH N\n", i))
            st = CCAI_ERR_NOMEM;
    Ccai_pron_dict *d = NULL;
    Ccai_err err = {0};
    if (st == CCAI_OK)
        st = Ccai_pron_dict_parse(b.data, b.len, &d, &err);
    if (st == CCAI_OK && strcmp(Ccai_pron_dict_get(d, "w2999", 0), "W AH N") != 0)
        st = CCAI_ERR_INTERNAL;
    Ccai_pron_dict_free(d);
    Ccai_buf_free(&b);
    Ccai_err_free(&err);
    return st;
}

static void out_of_memory(void **state)
{
    (void)state;
    assert_true(oom_exhaust("pron dict parse", sc_parse, NULL) > 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(entries_and_variants),
        cmocka_unit_test(first_pronunciation_wins),
        cmocka_unit_test(empty_text),
        cmocka_unit_test(broken_lines),
        cmocka_unit_test(size_limit),
        cmocka_unit_test(many_entries),
        cmocka_unit_test(files),
        cmocka_unit_test(out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
