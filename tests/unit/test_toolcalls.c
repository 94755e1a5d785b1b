/* Tool calls assembled from streamed deltas, as OpenAI, Azure AI Inference
 * (empty ids) and Ollama (whole calls) send them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "core/json.h"
#include "llm/toolcalls.h"

#include <string.h>

static void apply(Ccai_tool_calls *tc, const char *json, ccai_status want)
{
    Ccai_json_err err;
    ccai_status st;
    json_t *v = Ccai_json_load(json, strlen(json), &err, &st);
    assert_non_null(v);
    assert_int_equal(Ccai_tool_calls_apply(tc, v), want);
    json_decref(v);
}

static void test_openai_parallel(void **state)
{
    (void)state;
    Ccai_tool_calls tc;
    Ccai_tool_calls_init(&tc);
    apply(&tc,
          "[{\"index\":0,\"id\":\"call_A\",\"type\":\"function\",\"function\":{\"name\":"
          "\"updated_claim\",\"arguments\":\"\"}}]",
          CCAI_OK);
    apply(&tc, "[{\"index\":0,\"function\":{\"arguments\":\"{\\\"updates\\\"\"}}]", CCAI_OK);
    apply(&tc, "[{\"index\":0,\"function\":{\"arguments\":\":[]}\"}}]", CCAI_OK);
    apply(&tc,
          "[{\"index\":1,\"id\":\"call_B\",\"type\":\"function\",\"function\":{\"name\":"
          "\"end_call\",\"arguments\":\"\"}}]",
          CCAI_OK);
    apply(&tc, "[{\"index\":1,\"function\":{\"arguments\":\"{}\"}}]", CCAI_OK);
    /* A server repeating the name does not double it. */
    apply(&tc, "[{\"index\":1,\"function\":{\"name\":\"end_call\"}}]", CCAI_OK);
    assert_int_equal(Ccai_tool_calls_finish(&tc), 2);
    assert_string_equal(tc.v[0].id, "call_A");
    assert_string_equal(tc.v[0].name, "updated_claim");
    assert_string_equal(tc.v[0].args.data, "{\"updates\":[]}");
    assert_string_equal(tc.v[1].name, "end_call");
    assert_string_equal(tc.v[1].args.data, "{}");
    Ccai_tool_calls_free(&tc);
}

static void test_empty_ids_reuse_last(void **state)
{
    (void)state;
    Ccai_tool_calls tc;
    Ccai_tool_calls_init(&tc);
    apply(&tc, "[{\"id\":\"c1\",\"function\":{\"name\":\"speech_speed\",\"arguments\":\"{\\\"\"}}]",
          CCAI_OK);
    apply(&tc, "[{\"id\":\"\",\"function\":{\"arguments\":\"speed\\\":1.1}\"}}]", CCAI_OK);
    assert_int_equal(Ccai_tool_calls_finish(&tc), 1);
    assert_string_equal(tc.v[0].id, "c1");
    assert_string_equal(tc.v[0].args.data, "{\"speed\":1.1}");
    Ccai_tool_calls_free(&tc);
}

static void test_whole_calls_in_one_chunk(void **state)
{
    (void)state;
    Ccai_tool_calls tc;
    Ccai_tool_calls_init(&tc);
    /* Ollama: whole calls, arguments as an object, no index, no id. */
    apply(&tc,
          "[{\"function\":{\"name\":\"new_claim\",\"arguments\":{\"customer_response\":\"ok\"}}},"
          "{\"function\":{\"name\":\"end_call\",\"arguments\":{}}}]",
          CCAI_OK);
    assert_int_equal(Ccai_tool_calls_finish(&tc), 2);
    assert_string_equal(tc.v[0].name, "new_claim");
    assert_string_equal(tc.v[0].args.data, "{\"customer_response\":\"ok\"}");
    assert_string_equal(tc.v[0].id, "call_0"); /* generated */
    assert_string_equal(tc.v[1].id, "call_1");
    Ccai_tool_calls_free(&tc);
}

static void test_bad_and_limits(void **state)
{
    (void)state;
    Ccai_tool_calls tc;
    Ccai_tool_calls_init(&tc);
    apply(&tc, "[1]", CCAI_ERR_PARSE);
    apply(&tc, "{\"index\":0}", CCAI_ERR_PARSE);
    apply(&tc, "null", CCAI_OK);
    /* A call without a name is dropped at the end: nothing can run it. */
    apply(&tc, "[{\"index\":3,\"function\":{\"arguments\":\"{}\"}}]", CCAI_OK);
    assert_int_equal(Ccai_tool_calls_finish(&tc), 0);
    Ccai_tool_calls_free(&tc);

    Ccai_tool_calls_init(&tc);
    for (int i = 0; i < CCAI_TOOL_CALLS_MAX; i++) {
        char buf[128];
        snprintf(buf, sizeof buf, "[{\"index\":%d,\"function\":{\"name\":\"t\"}}]", i);
        apply(&tc, buf, CCAI_OK);
    }
    apply(&tc, "[{\"index\":99,\"function\":{\"name\":\"t\"}}]", CCAI_ERR_LIMIT);
    Ccai_tool_calls_free(&tc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_openai_parallel),
        cmocka_unit_test(test_empty_ids_reuse_last),
        cmocka_unit_test(test_whole_calls_in_one_chunk),
        cmocka_unit_test(test_bad_and_limits),
    };
    return cmocka_run_group_tests_name("toolcalls", tests, NULL, NULL);
}
