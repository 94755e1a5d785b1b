/* Stream chunks read without a tree (llm/chunk.c) say what the tree says
 * (Ccai_chunk_from_tree, the client's reading before): generated OpenAI
 * and Azure chunks with unicode and escapes, usage, several choices,
 * refusals, content filter verdicts, members given twice, not JSON at all;
 * and the usual chunks are read without a tree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "support/chunkcmp.h"
#include "support/randtext.h"

#include <stdio.h>
#include <string.h>

static void put_jstr(Ccai_buf *b, const char *s)
{
    assert_true(Ccai_json_put_cstring(b, s));
}

/* A chunk as a server writes one, with what r decides. */
static void gen_chunk(randtext *r, Ccai_buf *b, bool *usual)
{
    char text[1024];
    *usual = true;
    Ccai_buf_puts(b, "{");
    bool first = true;
    if (rt_below(r, 3) == 0) {
        Ccai_buf_puts(b,
                      "\"id\":\"chatcmpl-9\",\"object\":\"chat.completion.chunk\",\"created\":1");
        first = false;
    }
    if (rt_below(r, 5) == 0) {
        Ccai_buf_printf(b, "%s\"usage\":", first ? "" : ",");
        if (rt_below(r, 4))
            Ccai_buf_printf(b, "{\"prompt_tokens\":%u,\"completion_tokens\":%s,\"total_tokens\":9}",
                            rt_below(r, 100000),
                            rt_below(r, 3)   ? "12"
                            : rt_below(r, 2) ? "1.5"
                                             : "\"7\"");
        else
            Ccai_buf_puts(b, rt_below(r, 2) ? "null" : "[1]");
        first = false;
    }
    if (rt_below(r, 8)) {
        Ccai_buf_printf(b, "%s\"choices\":[", first ? "" : ",");
        first = false;
        uint32_t n = rt_below(r, 4);
        for (uint32_t i = 0; i < n; i++) {
            if (i)
                Ccai_buf_puts(b, ",");
            if (rt_below(r, 15) == 0) {
                Ccai_buf_puts(b, "7");
                continue;
            }
            Ccai_buf_puts(b, "{");
            bool f = true;
            if (rt_below(r, 4)) {
                static const char *const idx[] = {"0",   "0",     "1",    "2",
                                                  "0.0", "\"1\"", "null", "99999999999999999999"};
                Ccai_buf_printf(b, "\"index\":%s", idx[rt_below(r, 8)]);
                f = false;
            }
            if (rt_below(r, 6)) {
                Ccai_buf_printf(b, "%s\"delta\":{", f ? "" : ",");
                f = false;
                uint32_t k = rt_below(r, 6);
                if (k == 0)
                    Ccai_buf_puts(b, "\"role\":\"assistant\",\"content\":\"\"");
                else if (k < 4) {
                    Ccai_buf_puts(b, "\"content\":");
                    put_jstr(b, rt_text(r, text, sizeof text, 12));
                } else if (k == 4) {
                    Ccai_buf_puts(b, "\"content\":null,\"refusal\":");
                    put_jstr(b, rt_text(r, text, sizeof text, 4));
                } else {
                    Ccai_buf_puts(b, "\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":"
                                     "\"{}\"}}]");
                    *usual = false;
                }
                Ccai_buf_puts(b, "}");
            }
            if (rt_below(r, 3) == 0) {
                static const char *const fr[] = {"null", "\"stop\"", "\"length\"",
                                                 "\"content_filter\"", "3"};
                Ccai_buf_printf(b, "%s\"finish_reason\":%s", f ? "" : ",", fr[rt_below(r, 5)]);
                f = false;
            }
            if (rt_below(r, 4) == 0) {
                Ccai_buf_printf(b, "%s\"content_filter_results\":{", f ? "" : ",");
                static const char *const cats[] = {"hate", "self_harm", "sexual", "violence"};
                static const char *const verdicts[] = {"false", "false", "false", "false",
                                                       "true",  "null",  "1",     "\"true\""};
                for (int c = 0; c < 4; c++)
                    Ccai_buf_printf(b, "%s\"%s\":{\"filtered\":%s,\"severity\":\"safe\"}",
                                    c ? "," : "", cats[c], verdicts[rt_below(r, 8)]);
                Ccai_buf_puts(b, "}");
            }
            Ccai_buf_puts(b, "}");
        }
        Ccai_buf_puts(b, "]");
    }
    if (rt_below(r, 12) == 0) {
        Ccai_buf_printf(b, "%s\"error\":{\"message\":\"busy\"}", first ? "" : ",");
        *usual = false;
    }
    Ccai_buf_puts(b, "}");
}

/* What servers and attackers do to it: a member twice, escaped keys, cut,
 * bytes changed, not an object. */
static void mutate(randtext *r, Ccai_buf *b)
{
    switch (rt_below(r, 8)) {
    case 0: /* cut */
        b->len = rt_below(r, (uint32_t)b->len + 1);
        b->data[b->len] = '\0';
        break;
    case 1: /* one byte changed */
        if (b->len)
            b->data[rt_below(r, (uint32_t)b->len)] = (char)rt_below(r, 256);
        break;
    case 2: { /* a member given again at the end */
        static const char *const extra[] = {
            ",\"choices\":[]",
            ",\"usage\":{\"prompt_tokens\":1}",
            ",\"choices\":[{\"delta\":{\"content\":\"x\",\"content\":\"y\"}}]",
            ",\"choices\":[{\"index\":1,\"index\":0,\"delta\":{\"content\":\"z\"}}]",
            ",\"choices\":[{\"content_filter_results\":{\"a\":{\"filtered\":true},"
            "\"a\":{\"filtered\":false}}}]",
            ",\"choices\":[{\"content_filter_results\":{\"a\":{\"filtered\":true,"
            "\"filtered\":false}}}]"};
        if (b->len && b->data[b->len - 1] == '}') {
            b->len--;
            Ccai_buf_puts(b, extra[rt_below(r, 6)]);
            Ccai_buf_puts(b, "}");
        }
        break;
    }
    case 3: { /* a key spelled with an escape */
        char *p = strstr(b->data, "\"content\"");
        if (p) {
            Ccai_buf t = {0};
            Ccai_buf_append(&t, b->data, (size_t)(p - b->data));
            Ccai_buf_puts(&t, "\"\\u0063ontent\"");
            Ccai_buf_puts(&t, p + 9);
            Ccai_buf_free(b);
            *b = t;
        }
        break;
    }
    case 4: /* not an object */
        Ccai_buf_reset(b);
        Ccai_buf_puts(b, rt_below(r, 2) ? "[{\"choices\":[]}]" : "\"x\"");
        break;
    case 5: /* white space and trailing text */
        Ccai_buf_puts(b, rt_below(r, 2) ? " \n" : " x");
        break;
    default: break;
    }
}

static void test_same_as_tree(void **state)
{
    (void)state;
    randtext r = {0xc0ffee};
    int usual_fast = 0, usual = 0;
    for (int i = 0; i < 20000; i++) {
        Ccai_buf b = {0};
        bool is_usual = false;
        gen_chunk(&r, &b, &is_usual);
        bool mutated = rt_below(&r, 3) == 0;
        if (mutated)
            mutate(&r, &b);
        ccai_status st = CCAI_OK;
        const char *why = chunkcmp(b.data ? b.data : "", b.len, &st);
        if (why) {
            fprintf(stderr, "chunk %d: %s: %s\n", i, why, b.data ? b.data : "");
            fail();
        }
        if (!mutated && is_usual) {
            usual++;
            usual_fast += st == CCAI_OK;
        }
        Ccai_buf_free(&b);
    }
    /* The usual chunks never take the tree's way. */
    assert_true(usual > 1000);
    assert_int_equal(usual_fast, usual);
}

/* What the client acts on, spelled out. */
static void test_azure_chunk(void **state)
{
    (void)state;
    static const char azure[] =
        "{\"choices\":[{\"content_filter_results\":{\"hate\":{\"filtered\":false,"
        "\"severity\":\"safe\"},\"violence\":{\"filtered\":true,\"severity\":\"high\"}},"
        "\"delta\":{\"content\":\"Caf\\u00e9 \\\"ok\\\"\\n\"},\"finish_reason\":\"stop\","
        "\"index\":0,\"logprobs\":null}],\"created\":1,\"id\":\"x\",\"model\":\"gpt-4o\","
        "\"object\":\"chat.completion.chunk\",\"usage\":{\"prompt_tokens\":12,"
        "\"completion_tokens\":3}}";
    Ccai_chunk_reader rd;
    memset(&rd, 0, sizeof rd);
    Ccai_chunk c;
    assert_int_equal(Ccai_chunk_read(&rd, azure, sizeof azure - 1, &c), CCAI_OK);
    assert_true(c.object && c.usage && !c.error);
    assert_int_equal(c.prompt_tokens, 12);
    assert_int_equal(c.completion_tokens, 3);
    assert_int_equal(c.n, 1);
    assert_false(c.v[0].skip);
    assert_string_equal(c.v[0].text, "Caf\xc3\xa9 \"ok\"\n");
    assert_string_equal(c.v[0].finish, "stop");
    assert_true(c.v[0].filtered);
    assert_false(c.v[0].tool_calls);
    /* Tool calls and errors are read from a tree. */
    static const char tools[] = "{\"choices\":[{\"delta\":{\"tool_calls\":[]}}]}";
    assert_int_equal(Ccai_chunk_read(&rd, tools, sizeof tools - 1, &c), CCAI_ERR_UNSUPPORTED);
    static const char err[] = "{\"error\":{\"message\":\"x\"}}";
    assert_int_equal(Ccai_chunk_read(&rd, err, sizeof err - 1, &c), CCAI_ERR_UNSUPPORTED);
    static const char bad[] = "{\"choices\":[{\"delta\":{\"content\":\"x}}]}";
    assert_int_equal(Ccai_chunk_read(&rd, bad, sizeof bad - 1, &c), CCAI_ERR_PARSE);
    Ccai_chunk_reader_free(&rd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_as_tree),
        cmocka_unit_test(test_azure_chunk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
