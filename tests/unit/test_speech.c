/* Sentence streamer and style prefixes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "engine/speech.h"

#include <stdio.h>
#include <string.h>

typedef struct said {
    int n;
    char text[32][512];
    ccai_style style[32];
} said;

static int on_sentence(const char *text, ccai_style style, void *ud)
{
    said *s = ud;
    if (s->n < 32) {
        snprintf(s->text[s->n], sizeof s->text[0], "%s", text);
        s->style[s->n] = style;
    }
    s->n++;
    return 0;
}

/* Feed text in pieces of `step` bytes, then flush. */
static void run(const char *text, size_t step, said *out)
{
    Ccai_sentences s;
    Ccai_sentences_init(&s);
    memset(out, 0, sizeof *out);
    size_t len = strlen(text);
    for (size_t i = 0; i < len; i += step) {
        size_t n = len - i < step ? len - i : step;
        assert_int_equal(Ccai_sentences_feed(&s, text + i, n, on_sentence, out), CCAI_OK);
    }
    assert_int_equal(Ccai_sentences_flush(&s, on_sentence, out), CCAI_OK);
    Ccai_sentences_free(&s);
}

static void test_split_rules(void **state)
{
    (void)state;
    said out;
    for (size_t step = 1; step <= 7; step++) {
        run("Hello! How are you? I am fine; thanks. Pi is 3.14 today... Really?! Ok", step, &out);
        assert_int_equal(out.n, 7);
        assert_string_equal(out.text[0], "Hello!");
        assert_string_equal(out.text[1], "How are you?");
        assert_string_equal(out.text[2], "I am fine;");
        assert_string_equal(out.text[3], "thanks.");
        assert_string_equal(out.text[4], "Pi is 3.14 today...");
        assert_string_equal(out.text[5], "Really?!");
        assert_string_equal(out.text[6], "Ok");
    }
}

static void test_waits_for_end_of_run(void **state)
{
    (void)state;
    Ccai_sentences s;
    said out = {0};
    Ccai_sentences_init(&s);
    /* "3." could be "3.5": nothing yet. */
    assert_int_equal(Ccai_sentences_feed(&s, "It costs 3.", 11, on_sentence, &out), CCAI_OK);
    assert_int_equal(out.n, 0);
    assert_int_equal(Ccai_sentences_feed(&s, "5 euros. Then", 13, on_sentence, &out), CCAI_OK);
    assert_int_equal(out.n, 1);
    assert_string_equal(out.text[0], "It costs 3.5 euros.");
    /* "?" may be followed by "!": wait for the next character. */
    assert_int_equal(Ccai_sentences_feed(&s, " what?", 6, on_sentence, &out), CCAI_OK);
    assert_int_equal(out.n, 1);
    assert_int_equal(Ccai_sentences_feed(&s, " ", 1, on_sentence, &out), CCAI_OK);
    assert_int_equal(out.n, 2);
    assert_string_equal(out.text[1], "Then what?");
    Ccai_sentences_free(&s);
}

static void test_styles_and_prefixes(void **state)
{
    (void)state;
    said out;
    run("style=cheerful Great news! It is covered. style=sad Sadly, the window is not. "
        "action=talk content=style=none Anything else? style=angry Grr.",
        3, &out);
    assert_int_equal(out.n, 5);
    assert_string_equal(out.text[0], "Great news!");
    assert_int_equal(out.style[0], CCAI_STYLE_CHEERFUL);
    assert_string_equal(out.text[1], "It is covered.");
    assert_int_equal(out.style[1], CCAI_STYLE_CHEERFUL); /* carried */
    assert_string_equal(out.text[2], "Sadly, the window is not.");
    assert_int_equal(out.style[2], CCAI_STYLE_SAD);
    assert_string_equal(out.text[3], "Anything else?");
    assert_int_equal(out.style[3], CCAI_STYLE_NONE);
    assert_string_equal(out.text[4], "Grr.");
    assert_int_equal(out.style[4], CCAI_STYLE_NONE); /* unknown style: none */

    /* A prefix alone says nothing. */
    run("style=sad ", 2, &out);
    assert_int_equal(out.n, 0);
}

static void test_first_clause_early(void **state)
{
    (void)state;
    said out;
    run("I understand completely, your car was hit, and we will help. Okay, next.", 4, &out);
    assert_int_equal(out.n, 3);
    assert_string_equal(out.text[0], "I understand completely,");
    assert_string_equal(out.text[1], "your car was hit, and we will help.");
    assert_string_equal(out.text[2], "Okay, next.");
    /* Short first clauses are not cut. */
    run("Yes, sure. Ok.", 1, &out);
    assert_string_equal(out.text[0], "Yes, sure.");
}

static void test_newlines_and_long_text(void **state)
{
    (void)state;
    said out;
    run("Line one\nstill line one.\n\nSecond   one.", 5, &out);
    assert_int_equal(out.n, 2);
    assert_string_equal(out.text[0], "Line one still line one.");
    assert_string_equal(out.text[1], "Second one.");

    char big[1200];
    size_t k = 0;
    while (k + 5 < sizeof big - 1) {
        memcpy(big + k, "word ", 5);
        k += 5;
    }
    big[k] = '\0';
    run(big, 50, &out);
    assert_true(out.n >= 3);
    for (int i = 0; i < out.n && i < 32; i++)
        assert_true(strlen(out.text[i]) <= CCAI_SENTENCE_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_rules),
        cmocka_unit_test(test_waits_for_end_of_run),
        cmocka_unit_test(test_styles_and_prefixes),
        cmocka_unit_test(test_first_clause_early),
        cmocka_unit_test(test_newlines_and_long_text),
    };
    return cmocka_run_group_tests_name("speech", tests, NULL, NULL);
}
