/* Grammars per answer type and slot interpretation: the JSGF each kind
 * generates (well formed, no "+"/"*", every word in Debian's dictionary),
 * choices normalised, arguments refused with the reason, and recognised
 * text (a grammar's or free text) turned into the typed answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "speech/dict.h"
#include "speech/grammar.h"
#include "support/oom.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define DEBIAN_DICT "/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict"

static const char *const menu[] = {"Billing", "Technical support", "Sales 2"};

static void kind_names(void **state)
{
    (void)state;
    for (int k = 0; k <= CCAI_SPEECH_KIND_MAX; k++) {
        Ccai_speech_kind back;
        assert_true(Ccai_speech_kind_parse(Ccai_speech_kind_name((Ccai_speech_kind)k), &back));
        assert_int_equal(back, k);
    }
    assert_string_equal(Ccai_speech_kind_name((Ccai_speech_kind)99), "?");
    Ccai_speech_kind k;
    assert_false(Ccai_speech_kind_parse("time", &k));
    assert_false(Ccai_speech_kind_parse(NULL, &k));
}

static void build(Ccai_speech_kind kind, const char *const *choices, size_t n, Ccai_grammar *g)
{
    memset(g, 0, sizeof *g);
    Ccai_err err = {0};
    ccai_status st = Ccai_grammar_build(kind, choices, n, g, &err);
    if (st != CCAI_OK)
        fail_msg("%s: %s %s", Ccai_speech_kind_name(kind), ccai_status_str(st), Ccai_err_get(&err));
    Ccai_err_free(&err);
}

static bool has_word(const Ccai_grammar *g, const char *w)
{
    for (size_t i = 0; i < g->n_words; i++)
        if (strcmp(g->words[i], w) == 0)
            return true;
    return false;
}

static void grammars_are_well_formed(void **state)
{
    (void)state;
    Ccai_pron_dict *dict = NULL;
    if (access(DEBIAN_DICT, R_OK) == 0)
        assert_int_equal(Ccai_pron_dict_load(DEBIAN_DICT, &dict, NULL), CCAI_OK);
    for (int k = CCAI_SPEECH_YESNO; k <= CCAI_SPEECH_KIND_MAX; k++) {
        Ccai_grammar g;
        bool choice = k == CCAI_SPEECH_CHOICE;
        build((Ccai_speech_kind)k, choice ? menu : NULL, choice ? 3 : 0, &g);
        const char *j = g.jsgf.data;
        assert_int_equal(strncmp(j, "#JSGF V1.0;\ngrammar ", 20), 0);
        assert_non_null(strstr(j, "public <utt> = <answer> | <command>;"));
        assert_non_null(strstr(j, "<answer> = "));
        /* Repetition written out: "+" and "*" make pocketsphinx insert
         * words (offline-speech.md 2d). */
        assert_null(strchr(j, '+'));
        assert_null(strchr(j, '*'));
        /* Brackets balance. */
        int round = 0, square = 0, angle = 0;
        for (const char *p = j; *p; p++) {
            round += (*p == '(') - (*p == ')');
            square += (*p == '[') - (*p == ']');
            angle += (*p == '<') - (*p == '>');
            assert_true(round >= 0 && square >= 0 && angle >= 0 && angle <= 1);
        }
        assert_int_equal(round + square + angle, 0);
        /* Every word the JSGF text uses is in the list (the decoder gets
         * exactly those), and every rule is defined once. */
        char defined[64][32];
        size_t n_defined = 0;
        const char *line = strstr(j, ";\npublic") + 2;
        while (*line) {
            const char *end = strchr(line, '\n');
            assert_non_null(end);
            const char *p = line;
            if (strncmp(p, "public ", 7) == 0)
                p += 7;
            assert_true(*p == '<');
            const char *q = strchr(p, '>');
            assert_true(q && q < end && strncmp(q, "> = ", 4) == 0);
            for (size_t d = 0; d < n_defined; d++)
                if (strlen(defined[d]) == (size_t)(q - p) &&
                    strncmp(defined[d], p, (size_t)(q - p)) == 0)
                    fail_msg("%s: rule %.*s defined twice",
                             Ccai_speech_kind_name((Ccai_speech_kind)k), (int)(q - p + 1), p);
            snprintf(defined[n_defined++], sizeof defined[0], "%.*s", (int)(q - p), p);
            for (p = q + 4; p < end;) {
                if (*p == '<') {
                    p = strchr(p, '>') + 1;
                    continue;
                }
                if (strchr(" |[]();", *p)) {
                    p++;
                    continue;
                }
                const char *w = p;
                while (p < end && !strchr(" |[]();<", *p))
                    p++;
                char word[64];
                snprintf(word, sizeof word, "%.*s", (int)(p - w), w);
                if (!has_word(&g, word))
                    fail_msg("%s: \"%s\" used but not listed",
                             Ccai_speech_kind_name((Ccai_speech_kind)k), word);
            }
            line = end + 1;
        }
        /* Words: distinct, lower case, the universal commands in. */
        assert_true(has_word(&g, "agent") && has_word(&g, "operator") && has_word(&g, "repeat"));
        for (size_t i = 0; i < g.n_words; i++) {
            for (const char *p = g.words[i]; *p; p++)
                assert_true((*p >= 'a' && *p <= 'z') || *p == '\'' || *p == '-');
            for (size_t m = i + 1; m < g.n_words; m++)
                assert_string_not_equal(g.words[i], g.words[m]);
            if (dict && !Ccai_pron_dict_get(dict, g.words[i], 0))
                fail_msg("%s: \"%s\" is not in %s", Ccai_speech_kind_name((Ccai_speech_kind)k),
                         g.words[i], DEBIAN_DICT);
        }
        Ccai_grammar_clear(&g);
    }
    Ccai_grammar g;
    build(CCAI_SPEECH_DIGITS, NULL, 0, &g);
    assert_true(has_word(&g, "oh") && has_word(&g, "zero") && has_word(&g, "nine"));
    assert_false(has_word(&g, "digit")); /* a rule name, not a word */
    Ccai_grammar_clear(&g);
    build(CCAI_SPEECH_CHOICE, menu, 3, &g);
    assert_non_null(strstr(g.jsgf.data, "billing | technical support | sales two"));
    assert_true(has_word(&g, "second") && has_word(&g, "third") && !has_word(&g, "fourth"));
    Ccai_grammar_clear(&g);
    Ccai_grammar_clear(NULL);
    Ccai_pron_dict_free(dict);
}

static void refused(void **state)
{
    (void)state;
    Ccai_grammar g = {0};
    Ccai_err err = {0};
    assert_int_equal(Ccai_grammar_build(CCAI_SPEECH_FREE, NULL, 0, &g, &err), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_grammar_build((Ccai_speech_kind)7, NULL, 0, &g, &err),
                     CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_grammar_build(CCAI_SPEECH_CHOICE, NULL, 0, &g, &err),
                     CCAI_ERR_INVALID_ARG);
    assert_non_null(strstr(Ccai_err_get(&err), "choices"));
    assert_int_equal(Ccai_grammar_build(CCAI_SPEECH_YESNO, menu, 3, &g, &err),
                     CCAI_ERR_INVALID_ARG);
    const char *nul[] = {"a", NULL};
    assert_int_equal(Ccai_grammar_build(CCAI_SPEECH_CHOICE, nul, 2, &g, &err),
                     CCAI_ERR_INVALID_ARG);
    const char *punct[] = {"ok", "?!"};
    assert_int_equal(Ccai_grammar_build(CCAI_SPEECH_CHOICE, punct, 2, &g, &err),
                     CCAI_ERR_INVALID_ARG);
    assert_non_null(strstr(Ccai_err_get(&err), "choice 2"));
    Ccai_grammar_clear(&g);
    const char *many[CCAI_GRAMMAR_CHOICES_MAX + 1];
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(many); i++)
        many[i] = "red";
    assert_int_equal(Ccai_grammar_build(CCAI_SPEECH_CHOICE, many, CCAI_ARRAY_SIZE(many), &g, &err),
                     CCAI_ERR_LIMIT);
    const char *wordy[] = {"one two three four five six seven eight nine ten eleven twelve 13"};
    assert_int_equal(Ccai_grammar_build(CCAI_SPEECH_CHOICE, wordy, 1, &g, &err), CCAI_ERR_LIMIT);
    Ccai_grammar_clear(&g);
    Ccai_err_free(&err);
}

static void normalize(const char *in, const char *want)
{
    Ccai_buf b = {0};
    assert_int_equal(Ccai_grammar_normalize_choice(in, &b), CCAI_OK);
    assert_string_equal(b.data, want);
    Ccai_buf_free(&b);
}

static void choices_normalised(void **state)
{
    (void)state;
    normalize("Option 2!", "option two");
    normalize("  Technical   Support ", "technical support");
    normalize("rock'n'roll", "rock'n'roll");
    normalize("x-ray, 'quoted'", "x-ray quoted");
    normalize("Café au lait", "caf\xc3\xa9 au lait");
    normalize("123456", "one hundred twenty three thousand four hundred fifty six");
    normalize("0", "zero");
    normalize("room 1015", "room one thousand fifteen");
    Ccai_buf b = {0};
    assert_int_equal(Ccai_grammar_normalize_choice("1000000", &b), CCAI_ERR_LIMIT);
    Ccai_buf_reset(&b);
    assert_int_equal(Ccai_grammar_normalize_choice(" - ", &b), CCAI_ERR_INVALID_ARG);
    Ccai_buf_reset(&b);
    char longer[CCAI_GRAMMAR_CHOICE_MAX + 2];
    memset(longer, 'a', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    assert_int_equal(Ccai_grammar_normalize_choice(longer, &b), CCAI_ERR_LIMIT);
    assert_int_equal(Ccai_grammar_normalize_choice(NULL, &b), CCAI_ERR_INVALID_ARG);
    Ccai_buf_free(&b);
}

/* text interpreted as kind gives want (NULL: no match). */
static void slot(Ccai_speech_kind kind, const char *text, const char *want)
{
    Ccai_slot s;
    bool choice = kind == CCAI_SPEECH_CHOICE;
    assert_int_equal(Ccai_slot_interpret(kind, text, choice ? menu : NULL, choice ? 3 : 0, &s),
                     CCAI_OK);
    if (!want && s.matched)
        fail_msg("%s \"%s\": \"%s\", expected no match", Ccai_speech_kind_name(kind), text,
                 s.value);
    if (want && (!s.matched || strcmp(s.value, want) != 0))
        fail_msg("%s \"%s\": %s \"%s\", expected \"%s\"", Ccai_speech_kind_name(kind), text,
                 s.matched ? "matched" : "no match", s.value, want);
}

static void yes_no(void **state)
{
    (void)state;
    slot(CCAI_SPEECH_YESNO, "yes", "yes");
    slot(CCAI_SPEECH_YESNO, "YES PLEASE", "yes");
    slot(CCAI_SPEECH_YESNO, "uh yeah sure", "yes");
    slot(CCAI_SPEECH_YESNO, "that's right", "yes");
    slot(CCAI_SPEECH_YESNO, "of course", "yes");
    slot(CCAI_SPEECH_YESNO, "no thank you", "no");
    slot(CCAI_SPEECH_YESNO, "nope", "no");
    slot(CCAI_SPEECH_YESNO, "not really", "no");
    slot(CCAI_SPEECH_YESNO, "that's wrong", "no");
    slot(CCAI_SPEECH_YESNO, "i think so", NULL);
    slot(CCAI_SPEECH_YESNO, "", NULL);
    slot(CCAI_SPEECH_YESNO, NULL, NULL);
}

static void digits(void **state)
{
    (void)state;
    slot(CCAI_SPEECH_DIGITS, "four one five two three", "41523");
    slot(CCAI_SPEECH_DIGITS, "oh six one two", "0612");
    slot(CCAI_SPEECH_DIGITS, "zero", "0");
    slot(CCAI_SPEECH_DIGITS, "my number is four two", "42");
    /* the longest run wins over a stray digit word */
    slot(CCAI_SPEECH_DIGITS, "one moment it is seven seven three", "773");
    slot(CCAI_SPEECH_DIGITS,
         "one two three four five six seven eight nine zero one two three "
         "four five six seven",
         "1234567890123456");
    slot(CCAI_SPEECH_DIGITS, "no idea", NULL);
}

static void numbers(void **state)
{
    (void)state;
    slot(CCAI_SPEECH_NUMBER, "forty two", "42");
    slot(CCAI_SPEECH_NUMBER, "nineteen", "19");
    slot(CCAI_SPEECH_NUMBER, "seventy", "70");
    slot(CCAI_SPEECH_NUMBER, "one hundred and five", "105");
    slot(CCAI_SPEECH_NUMBER, "a hundred", "100");
    slot(CCAI_SPEECH_NUMBER, "two thousand", "2000");
    slot(CCAI_SPEECH_NUMBER, "three thousand four hundred twelve", "3412");
    slot(CCAI_SPEECH_NUMBER, "twelve thousand and one", "12001");
    slot(CCAI_SPEECH_NUMBER, "nine hundred ninety nine thousand nine hundred ninety nine",
         "999999");
    slot(CCAI_SPEECH_NUMBER, "zero", "0");
    slot(CCAI_SPEECH_NUMBER, "about thirty i guess", "30");
    slot(CCAI_SPEECH_NUMBER, "lots", NULL);
}

static void dates(void **state)
{
    (void)state;
    slot(CCAI_SPEECH_DATE, "the fifth of march", "--03-05");
    slot(CCAI_SPEECH_DATE, "fifth march", "--03-05");
    slot(CCAI_SPEECH_DATE, "march fifth", "--03-05");
    slot(CCAI_SPEECH_DATE, "march the twenty first", "--03-21");
    slot(CCAI_SPEECH_DATE, "the twenty first of june", "--06-21");
    slot(CCAI_SPEECH_DATE, "march five", "--03-05");
    slot(CCAI_SPEECH_DATE, "june twenty one", "--06-21");
    slot(CCAI_SPEECH_DATE, "the thirty first of december", "--12-31");
    slot(CCAI_SPEECH_DATE, "twenty ninth of february", "--02-29");
    slot(CCAI_SPEECH_DATE, "the thirtieth of february", NULL);
    slot(CCAI_SPEECH_DATE, "the thirty first of april", NULL);
    slot(CCAI_SPEECH_DATE, "tomorrow", "tomorrow");
    slot(CCAI_SPEECH_DATE, "today please", "today");
    slot(CCAI_SPEECH_DATE, "the day after tomorrow", "day after tomorrow");
    slot(CCAI_SPEECH_DATE, "next tuesday", "next tuesday");
    slot(CCAI_SPEECH_DATE, "on monday", "monday");
    slot(CCAI_SPEECH_DATE, "march", NULL);
    slot(CCAI_SPEECH_DATE, "soon", NULL);
}

static void emails(void **state)
{
    (void)state;
    slot(CCAI_SPEECH_EMAIL, "j o h n at gmail dot com", "john@gmail.com");
    slot(CCAI_SPEECH_EMAIL, "j dot d o e at e x a m p l e dot o r g", "j.doe@example.org");
    slot(CCAI_SPEECH_EMAIL, "a b c at yahoo dot c o dot u k", "abc@yahoo.co.uk");
    slot(CCAI_SPEECH_EMAIL, "alpha bravo one at hotmail dot com", "ab1@hotmail.com");
    slot(CCAI_SPEECH_EMAIL, "x-ray underscore y dash z at outlook dot io", "x_y-z@outlook.io");
    slot(CCAI_SPEECH_EMAIL, "it is m e at gmail dot com thanks", "me@gmail.com");
    slot(CCAI_SPEECH_EMAIL, "john at gmail dot com", NULL); /* "john" is not spelled */
    slot(CCAI_SPEECH_EMAIL, "a b c at gmail", NULL);        /* no top-level domain */
    slot(CCAI_SPEECH_EMAIL, "at gmail dot com", NULL);
    slot(CCAI_SPEECH_EMAIL, "a b c dot com", NULL);
}

static void choices(void **state)
{
    (void)state;
    slot(CCAI_SPEECH_CHOICE, "billing", "Billing");
    slot(CCAI_SPEECH_CHOICE, "technical support please", "Technical support");
    slot(CCAI_SPEECH_CHOICE, "sales two", "Sales 2");
    slot(CCAI_SPEECH_CHOICE, "the second one", "Technical support");
    slot(CCAI_SPEECH_CHOICE, "number three", "Sales 2");
    slot(CCAI_SPEECH_CHOICE, "option one", "Billing");
    slot(CCAI_SPEECH_CHOICE, "the fourth one", NULL); /* only three */
    slot(CCAI_SPEECH_CHOICE, "support", NULL);        /* part of a choice */
    slot(CCAI_SPEECH_CHOICE, "something else", NULL);
    Ccai_slot s;
    assert_int_equal(Ccai_slot_interpret(CCAI_SPEECH_CHOICE, "billing", NULL, 0, &s), CCAI_OK);
    assert_false(s.matched);
    /* A choice without a word (no grammar could hold it) is never the
     * answer, not even as "the second one" (found by fuzz-speech-slots). */
    const char *holes[] = {"Billing", "", "?!"};
    assert_int_equal(Ccai_slot_interpret(CCAI_SPEECH_CHOICE, "the second one", holes, 3, &s),
                     CCAI_OK);
    assert_false(s.matched);
    assert_int_equal(Ccai_slot_interpret(CCAI_SPEECH_CHOICE, "number three", holes, 3, &s),
                     CCAI_OK);
    assert_false(s.matched);
    assert_int_equal(Ccai_slot_interpret(CCAI_SPEECH_CHOICE, "the first one", holes, 3, &s),
                     CCAI_OK);
    assert_string_equal(s.value, "Billing");
}

static void commands(void **state)
{
    (void)state;
    static const struct {
        const char *text, *command;
    } cases[] = {
        {"agent", "agent"},
        {"operator please", "agent"},
        {"a representative", "agent"},
        {"can i speak to a human", "agent"},
        {"repeat", "repeat"},
        {"help", "help"},
        {"goodbye", "goodbye"},
        {"hmm", NULL},
    };
    for (int k = CCAI_SPEECH_FREE; k <= CCAI_SPEECH_KIND_MAX; k++)
        for (size_t i = 0; i < CCAI_ARRAY_SIZE(cases); i++) {
            Ccai_slot s;
            assert_int_equal(Ccai_slot_interpret((Ccai_speech_kind)k, cases[i].text, menu, 3, &s),
                             CCAI_OK);
            assert_false(s.matched);
            if (cases[i].command)
                assert_string_equal(s.command, cases[i].command);
            else
                assert_null(s.command);
        }
    /* An answer wins over a command word in the same utterance. */
    Ccai_slot s;
    assert_int_equal(Ccai_slot_interpret(CCAI_SPEECH_YESNO, "yes help me", NULL, 0, &s), CCAI_OK);
    assert_true(s.matched);
    assert_null(s.command);
}

static void long_text(void **state)
{
    (void)state;
    /* Cut at 4096 bytes / 512 words, never past its buffers. */
    Ccai_buf b = {0};
    for (int i = 0; i < 2000; i++)
        assert_true(Ccai_buf_puts(&b, "seven "));
    Ccai_slot s;
    assert_int_equal(Ccai_slot_interpret(CCAI_SPEECH_DIGITS, b.data, NULL, 0, &s), CCAI_OK);
    assert_string_equal(s.value, "7777777777777777");
    Ccai_buf_free(&b);
}

static Ccai_speech_kind oom_kind;

static ccai_status sc_build(void)
{
    Ccai_grammar g = {0};
    bool choice = oom_kind == CCAI_SPEECH_CHOICE;
    ccai_status st = Ccai_grammar_build(oom_kind, choice ? menu : NULL, choice ? 3 : 0, &g, NULL);
    Ccai_grammar_clear(&g);
    if (st == CCAI_OK && choice) {
        Ccai_slot s;
        st = Ccai_slot_interpret(oom_kind, "the second one", menu, 3, &s);
        if (st == CCAI_OK && !s.matched)
            st = CCAI_ERR_INTERNAL;
    }
    return st;
}

static void out_of_memory(void **state)
{
    (void)state;
    for (int k = CCAI_SPEECH_YESNO; k <= CCAI_SPEECH_KIND_MAX; k++) {
        oom_kind = (Ccai_speech_kind)k;
        assert_true(oom_exhaust(Ccai_speech_kind_name(oom_kind), sc_build, NULL) > 3);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kind_names),    cmocka_unit_test(grammars_are_well_formed),
        cmocka_unit_test(refused),       cmocka_unit_test(choices_normalised),
        cmocka_unit_test(yes_no),        cmocka_unit_test(digits),
        cmocka_unit_test(numbers),       cmocka_unit_test(dates),
        cmocka_unit_test(emails),        cmocka_unit_test(choices),
        cmocka_unit_test(commands),      cmocka_unit_test(long_text),
        cmocka_unit_test(out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
