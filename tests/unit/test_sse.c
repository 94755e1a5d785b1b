/* SSE parser: any chunking, CRLF/CR/LF, comments, multi-line data, the
 * non-standard "error:" line, limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "llm/sse.h"

#include <stdio.h>
#include <string.h>

typedef struct got {
    int n;
    char events[16][32];
    char data[16][256];
    int stop_after;
} got;

static int on_event(const char *event, const char *data, size_t len, void *ud)
{
    got *g = ud;
    if (g->n < 16) {
        snprintf(g->events[g->n], sizeof g->events[0], "%s", event);
        snprintf(g->data[g->n], sizeof g->data[0], "%.*s", (int)len, data);
    }
    g->n++;
    return g->stop_after && g->n >= g->stop_after;
}

static const char stream[] = ": keep-alive\r\n"
                             "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\r\n\r\n"
                             "data: {\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}\n\n"
                             "event: ping\rdata:no-space\r\r"
                             "data: line1\ndata: line2\n\n"
                             "id: 7\nretry: 100\nunknown: x\n\n" /* no data: nothing dispatched */
                             "data: [DONE]\n\n";

static void check_stream(const got *g)
{
    assert_int_equal(g->n, 5);
    assert_string_equal(g->events[0], "message");
    assert_string_equal(g->data[0], "{\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}");
    assert_string_equal(g->data[1], "{\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}");
    assert_string_equal(g->events[2], "ping");
    assert_string_equal(g->data[2], "no-space");
    assert_string_equal(g->data[3], "line1\nline2");
    assert_string_equal(g->data[4], "[DONE]");
}

static void test_whole(void **state)
{
    (void)state;
    Ccai_sse p;
    got g = {0};
    Ccai_sse_init(&p, 0);
    assert_int_equal(Ccai_sse_feed(&p, stream, sizeof stream - 1, on_event, &g), CCAI_OK);
    assert_int_equal(Ccai_sse_finish(&p, on_event, &g), CCAI_OK);
    check_stream(&g);
    Ccai_sse_free(&p);
}

static void test_every_split(void **state)
{
    (void)state;
    /* Two chunks split at every offset, then one byte at a time. */
    for (size_t cut = 0; cut <= sizeof stream - 1; cut++) {
        Ccai_sse p;
        got g = {0};
        Ccai_sse_init(&p, 0);
        assert_int_equal(Ccai_sse_feed(&p, stream, cut, on_event, &g), CCAI_OK);
        assert_int_equal(Ccai_sse_feed(&p, stream + cut, sizeof stream - 1 - cut, on_event, &g),
                         CCAI_OK);
        assert_int_equal(Ccai_sse_finish(&p, on_event, &g), CCAI_OK);
        check_stream(&g);
        Ccai_sse_free(&p);
    }
    Ccai_sse p;
    got g = {0};
    Ccai_sse_init(&p, 0);
    for (size_t i = 0; i < sizeof stream - 1; i++)
        assert_int_equal(Ccai_sse_feed(&p, stream + i, 1, on_event, &g), CCAI_OK);
    assert_int_equal(Ccai_sse_finish(&p, on_event, &g), CCAI_OK);
    check_stream(&g);
    Ccai_sse_free(&p);
}

static void test_error_line_and_unterminated(void **state)
{
    (void)state;
    Ccai_sse p;
    got g = {0};
    Ccai_sse_init(&p, 0);
    static const char s[] = "data: {\"a\":1}\n\nerror: {\"error\":{\"message\":\"overloaded\"}}\n"
                            "data: tail-without-blank-line";
    assert_int_equal(Ccai_sse_feed(&p, s, sizeof s - 1, on_event, &g), CCAI_OK);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.events[1], "error");
    assert_string_equal(g.data[1], "{\"error\":{\"message\":\"overloaded\"}}");
    assert_int_equal(Ccai_sse_finish(&p, on_event, &g), CCAI_OK);
    assert_int_equal(g.n, 3);
    assert_string_equal(g.data[2], "tail-without-blank-line");
    Ccai_sse_free(&p);
}

static void test_limits_and_stop(void **state)
{
    (void)state;
    Ccai_sse p;
    got g = {0};
    Ccai_sse_init(&p, 64);
    char big[200];
    memset(big, 'x', sizeof big);
    assert_int_equal(Ccai_sse_feed(&p, "data: ", 6, on_event, &g), CCAI_OK);
    assert_int_equal(Ccai_sse_feed(&p, big, sizeof big, on_event, &g), CCAI_ERR_LIMIT);
    Ccai_sse_free(&p);

    /* Many data lines, each short, together too long. */
    Ccai_sse_init(&p, 64);
    ccai_status st = CCAI_OK;
    for (int i = 0; i < 20 && st == CCAI_OK; i++)
        st = Ccai_sse_feed(&p, "data: 0123456789\n", 17, on_event, &g);
    assert_int_equal(st, CCAI_ERR_LIMIT);
    Ccai_sse_free(&p);

    got g2 = {.stop_after = 1};
    Ccai_sse_init(&p, 0);
    assert_int_equal(Ccai_sse_feed(&p, "data: a\n\ndata: b\n\n", 18, on_event, &g2),
                     CCAI_ERR_CANCELLED);
    assert_int_equal(g2.n, 1);
    Ccai_sse_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole),
        cmocka_unit_test(test_every_split),
        cmocka_unit_test(test_error_line_and_unterminated),
        cmocka_unit_test(test_limits_and_stop),
    };
    return cmocka_run_group_tests_name("sse", tests, NULL, NULL);
}
