/* Text for the offline voices: sentences, SSML-like markup of which only
 * the rate counts, entities, limits, and bytes that are not text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "speech/tts_text.h"
#include "support/oom.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Parse text at base and compare with the expected pieces ("text@rate"). */
static void expect_pieces(const char *text, double base, const char *const *want, size_t n)
{
    Ccai_synth_text t = {0};
    assert_int_equal(Ccai_synth_text_parse(text, strlen(text), base, &t), CCAI_OK);
    if (t.n != n) {
        for (size_t i = 0; i < t.n; i++)
            print_message("# piece %zu: \"%s\" @%.3f\n", i, t.v[i].text, t.v[i].rate);
        fail_msg("\"%s\": %zu pieces, expected %zu", text, t.n, n);
    }
    for (size_t i = 0; i < n; i++) {
        char got[1024];
        snprintf(got, sizeof got, "%s@%.3g", t.v[i].text, t.v[i].rate);
        if (strcmp(got, want[i]) != 0)
            fail_msg("\"%s\" piece %zu: \"%s\", expected \"%s\"", text, i, got, want[i]);
    }
    Ccai_synth_text_clear(&t);
}

#define EXPECT(text, base, ...)                             \
    do {                                                    \
        const char *const w_[] = {__VA_ARGS__};             \
        expect_pieces(text, base, w_, CCAI_ARRAY_SIZE(w_)); \
    } while (0)

static void expect_none(const char *text)
{
    Ccai_synth_text t = {0};
    assert_int_equal(Ccai_synth_text_parse(text, strlen(text), 1.0, &t), CCAI_OK);
    if (t.n)
        fail_msg("\"%s\": %zu pieces, expected none (first \"%s\")", text, t.n, t.v[0].text);
    Ccai_synth_text_clear(&t);
}

static void sentences(void **state)
{
    (void)state;
    EXPECT("Hello there. How are you? Fine!", 1.0, "Hello there.@1", "How are you?@1", "Fine!@1");
    EXPECT("It costs 3.50 euros; pay now: thanks", 1.0, "It costs 3.50 euros;@1", "pay now:@1",
           "thanks@1");
    EXPECT("  spaced\t\tout   words  ", 1.0, "spaced out words@1");
    EXPECT("Line one\n\nLine two\nstill two", 1.0, "Line one@1", "Line two still two@1");
    EXPECT("Speak slowly.", 0.75, "Speak slowly.@0.75");
    expect_none("");
    expect_none("   \n\t ");
    expect_none("... !? -- ;");
}

static void markup(void **state)
{
    (void)state;
    EXPECT("<speak>Hello <prosody rate=\"slow\">slowly now</prosody> and back.</speak>", 1.0,
           "Hello@1", "slowly now@0.8", "and back.@1");
    EXPECT("<prosody rate='fast'><prosody rate=\"150%\">nested</prosody> outer</prosody>", 1.0,
           "nested@1.88", "outer@1.25");
    EXPECT("<ssml:prosody rate=\"x-slow\">ns</ssml:prosody>", 1.0, "ns@0.6");
    /* The call's own speed multiplies; the result stays in 0.5..2. */
    EXPECT("<prosody rate=\"x-fast\">fast</prosody>", 2.0, "fast@2");
    EXPECT("<prosody rate=\"x-slow\">slow</prosody>", 0.5, "slow@0.5");
    EXPECT("<prosody rate=\"bogus\" pitch=\"a>b\">unchanged</prosody>", 1.0, "unchanged@1");
    EXPECT("<prosody pitch=\"high\">no rate</prosody> here", 1.0, "no rate here@1");
    EXPECT("<s>One</s><s>Two</s><p>Three<break time=\"300ms\"/>Four</p>", 1.0, "One@1", "Two@1",
           "Three@1", "Four@1");
    EXPECT("<voice name=\"x\">Hi</voice> <emphasis level=\"strong\">there</emphasis>", 1.0,
           "Hi there@1");
    EXPECT("<?xml version=\"1.0\"?><!DOCTYPE speak><speak>ok</speak>", 1.0, "ok@1");
    EXPECT("a<!-- hidden -->b and a <!-- x --> c", 1.0, "ab and a c@1");
    EXPECT("shown <!-- never closed", 1.0, "shown@1");
    /* Removed markup never makes a comment's opening out of a literal '<'
     * and the text after it (found by fuzz-tts-text). */
    EXPECT("x <<!-- a -->!-- b", 1.0, "x < !-- b@1");
    EXPECT("x <<!doctype>!-- b", 1.0, "x < !-- b@1");
    EXPECT("x <<?pi?>!-- b", 1.0, "x < !-- b@1");
    EXPECT("x <<prosody>!-- b</prosody>", 1.0, "x < !-- b@1");
    /* Not markup: kept as text. */
    EXPECT("3 < 4 and 5 > 2, <3 <", 1.0, "3 < 4 and 5 > 2, <3 <@1");
    EXPECT("<b unclosed tag", 1.0, "<b unclosed tag@1");
    /* A closing tag with nothing open changes nothing. */
    EXPECT("</prosody>plain", 1.0, "plain@1");
}

static void nesting_limit(void **state)
{
    (void)state;
    Ccai_buf b = {0};
    for (int i = 0; i < 20; i++)
        assert_true(Ccai_buf_puts(&b, "<prosody rate=\"105%\">"));
    assert_true(Ccai_buf_puts(&b, "deep"));
    for (int i = 0; i < 20; i++)
        assert_true(Ccai_buf_puts(&b, "</prosody>"));
    assert_true(Ccai_buf_puts(&b, " out"));
    Ccai_synth_text t = {0};
    assert_int_equal(Ccai_synth_text_parse(b.data, b.len, 1.0, &t), CCAI_OK);
    assert_int_equal(t.n, 2);
    /* 16 levels count (1.05^16 = 2.18, clamped to 2), and after the 20
     * closings the rate is back to normal. */
    assert_string_equal(t.v[0].text, "deep");
    assert_true(fabs(t.v[0].rate - 2.0) < 1e-9);
    assert_string_equal(t.v[1].text, "out");
    assert_true(fabs(t.v[1].rate - 1.0) < 1e-9);
    Ccai_synth_text_clear(&t);
    Ccai_buf_free(&b);
}

static void entities(void **state)
{
    (void)state;
    EXPECT("Tom &amp; Jerry &lt;3 &#233;t&#xE9; &quot;q&quot; &apos;a&apos;", 1.0,
           "Tom & Jerry <3 \xc3\xa9t\xc3\xa9 \"q\" 'a'@1");
    /* Not entities: kept as written (and a ';' before a space ends a
     * sentence; "&# &#;" has nothing to say). */
    EXPECT("&bogus; &#0; &#xD800; &#x110000; &# &#; &amp", 1.0, "&bogus;@1", "&#0;@1", "&#xD800;@1",
           "&#x110000;@1", "&amp@1");
    EXPECT("bell&#7;here", 1.0, "bell here@1");
    /* An escaped comment is text, said as written, not a comment. */
    EXPECT("a &lt;!-- b --&gt; c", 1.0, "a <!-- b --> c@1");
}

static void bytes(void **state)
{
    (void)state;
    EXPECT("a\x01"
           "b\x7f"
           "c",
           1.0, "a b c@1");
    EXPECT("caf\xc3\xa9 \xe2\x82\xac 5 \xf0\x9f\x98\x80", 1.0,
           "caf\xc3\xa9 \xe2\x82\xac 5 \xf0\x9f\x98\x80@1");
    /* Invalid UTF-8: a stray continuation, an overlong form, a truncated
     * sequence, a surrogate. */
    EXPECT("x\x80y \xc0\xafz \xe2\x82 w \xed\xa0\x80v", 1.0, "x y z w v@1");
    /* NUL inside the given length is a control byte. */
    Ccai_synth_text t = {0};
    assert_int_equal(Ccai_synth_text_parse("a\0b", 3, 1.0, &t), CCAI_OK);
    assert_int_equal(t.n, 1);
    assert_string_equal(t.v[0].text, "a b");
    Ccai_synth_text_clear(&t);
}

static bool valid_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int n = *p < 0x80 ? 1 : (*p & 0xE0) == 0xC0 ? 2 : (*p & 0xF0) == 0xE0 ? 3 : 4;
        for (int i = 1; i < n; i++)
            if ((p[i] & 0xC0) != 0x80)
                return false;
        p += n;
    }
    return true;
}

static void long_pieces(void **state)
{
    (void)state;
    /* Words without punctuation: cut at spaces, after a comma when one is
     * in the second half. */
    Ccai_buf b = {0};
    for (int i = 0; i < 100; i++)
        assert_true(Ccai_buf_printf(&b, "word%d%s ", i, i == 40 ? "," : ""));
    Ccai_synth_text t = {0};
    assert_int_equal(Ccai_synth_text_parse(b.data, b.len, 1.0, &t), CCAI_OK);
    assert_true(t.n >= 3);
    assert_true(strlen(t.v[0].text) <= CCAI_SYNTH_PIECE_MAX);
    assert_string_equal(t.v[0].text + strlen(t.v[0].text) - 7, "word40,");
    size_t total = 0;
    for (size_t i = 0; i < t.n; i++) {
        assert_true(strlen(t.v[i].text) <= CCAI_SYNTH_PIECE_MAX);
        total += strlen(t.v[i].text) + 1;
    }
    assert_int_equal(total, b.len); /* nothing lost: the cuts were spaces */
    Ccai_synth_text_clear(&t);
    /* One long word of two-byte characters: cut between characters. */
    Ccai_buf_reset(&b);
    for (int i = 0; i < 500; i++)
        assert_true(Ccai_buf_puts(&b, "\xc3\xa9"));
    assert_int_equal(Ccai_synth_text_parse(b.data, b.len, 1.0, &t), CCAI_OK);
    assert_int_equal(t.n, 4);
    for (size_t i = 0; i < t.n; i++) {
        assert_true(strlen(t.v[i].text) <= CCAI_SYNTH_PIECE_MAX);
        assert_true(valid_utf8(t.v[i].text));
    }
    Ccai_synth_text_clear(&t);
    Ccai_buf_free(&b);
}

static void limits(void **state)
{
    (void)state;
    Ccai_synth_text t = {0};
    assert_int_equal(Ccai_synth_text_parse("x", (size_t)CCAI_SYNTH_TEXT_MAX + 1, 1.0, &t),
                     CCAI_ERR_LIMIT);
    assert_int_equal(Ccai_synth_text_parse("x", 1, 0.4, &t), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_synth_text_parse("x", 1, 2.1, &t), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_synth_text_parse("x", 1, NAN, &t), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_synth_text_parse(NULL, 1, 1.0, &t), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_synth_text_parse("x", 1, 1.0, NULL), CCAI_ERR_INVALID_ARG);
    assert_int_equal(t.n, 0);
    Ccai_synth_text_clear(NULL);
}

static void rates(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        double want; /* 0: refused */
    } cases[] = {
        {"x-slow", 0.6}, {"slow", 0.8},   {"medium", 1.0},  {"default", 1.0},
        {"fast", 1.25},  {"x-fast", 1.6}, {" fast ", 1.25}, {"+20%", 1.2},
        {"-10%", 0.9},   {"80%", 0.8},    {"1.5", 1.5},     {"0.75", 0.75},
        {"+2", 0},       {"abc", 0},      {"-200%", 0},     {"0", 0},
        {"", 0},         {"1.2.3", 0},    {"%", 0},         {"12345678901234567", 0},
    };
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(cases); i++) {
        double r = -1;
        bool ok = Ccai_synth_rate_parse(cases[i].s, strlen(cases[i].s), &r);
        if (ok != (cases[i].want > 0) || (ok && fabs(r - cases[i].want) > 1e-9))
            fail_msg("rate \"%s\": %s %g, expected %g", cases[i].s, ok ? "ok" : "refused", r,
                     cases[i].want);
    }
}

static ccai_status sc_parse(void)
{
    const char *s = "<speak>One. <prosody rate=\"slow\">Two &amp; three</prosody>, four! "
                    "Five six seven eight nine ten.</speak>";
    Ccai_synth_text t = {0};
    ccai_status st = Ccai_synth_text_parse(s, strlen(s), 1.0, &t);
    if (st == CCAI_OK && t.n != 4)
        st = CCAI_ERR_INTERNAL;
    Ccai_synth_text_clear(&t);
    return st;
}

static void out_of_memory(void **state)
{
    (void)state;
    assert_true(oom_exhaust("tts text", sc_parse, NULL) > 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sentences), cmocka_unit_test(markup), cmocka_unit_test(nesting_limit),
        cmocka_unit_test(entities),  cmocka_unit_test(bytes),  cmocka_unit_test(long_pieces),
        cmocka_unit_test(limits),    cmocka_unit_test(rates),  cmocka_unit_test(out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
