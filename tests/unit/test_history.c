/* engine/history.c writes a turn's messages as JSON text without a tree.
 * Its output must be, byte for byte, what the tree-based code wrote before
 * it (kept below as the reference: OpenAI messages built with jansson from
 * the stored rows in the shape the store gives them as JSON, the
 * budget counted with json_bytes(), then dumped compact), over thousands of
 * generated conversations: unicode, escapes, tool calls with missing
 * fields, long histories, windows from a few tokens to very large. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "core/json.h"
#include "engine/history.h"
#include "support/randtext.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The reference: conversation.c before engine/history.c ------------------ */

static size_t ref_json_bytes(const json_t *v)
{
    size_t n = 0;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *val;
        n = 2;
        json_object_foreach((json_t *)v, key, val)
        {
            n += strlen(key) + 4 + ref_json_bytes(val);
        }
        return n;
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *val;
        n = 2;
        json_array_foreach(v, i, val)
        {
            n += ref_json_bytes(val) + 1;
        }
        return n;
    }
    case JSON_STRING:
        n = json_string_length(v) + 2;
        for (const char *p = json_string_value(v); *p; p++) {
            if ((unsigned char)*p < 0x20 || *p == '"' || *p == '\\')
                n += 5;
        }
        return n;
    default: return 24;
    }
}

static size_t ref_tokens_of(const json_t *v)
{
    return ref_json_bytes(v) / 3 + 4;
}

static ccai_status ref_history_messages(const json_t *m, json_t *out)
{
    const char *persona = json_string_value(json_object_get(m, "persona"));
    const char *action = json_string_value(json_object_get(m, "action"));
    const char *style = json_string_value(json_object_get(m, "style"));
    const char *content = json_string_value(json_object_get(m, "content"));
    const json_t *calls = json_object_get(m, "tool_calls");
    if (!persona || !action)
        return CCAI_OK;
    bool human = strcmp(persona, "human") == 0;
    char *text = human ? Ccai_asprintf("action=%s %s", action, content ? content : "")
                       : Ccai_asprintf("action=%s style=%s %s", action, style ? style : "none",
                                       content ? content : "");
    if (!text)
        return CCAI_ERR_NOMEM;
    for (char *p = text; *p; p++) {
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    }
    json_t *msg = json_pack("{s:s, s:s}", "role", human ? "user" : "assistant", "content", text);
    ccai_free(text);
    if (!msg || json_array_append_new(out, msg))
        return CCAI_ERR_NOMEM;
    if (human || !json_is_array(calls) || json_array_size(calls) == 0)
        return CCAI_OK;
    json_t *tc = json_array();
    if (!tc || json_object_set_new(msg, "tool_calls", tc))
        return CCAI_ERR_NOMEM;
    size_t i;
    const json_t *call;
    json_array_foreach(calls, i, call)
    {
        const char *id = json_string_value(json_object_get(call, "tool_id"));
        const char *name = json_string_value(json_object_get(call, "function_name"));
        const char *args = json_string_value(json_object_get(call, "function_arguments"));
        if (!id || !name)
            continue;
        json_t *one = json_pack("{s:s, s:s, s:{s:s, s:s}}", "id", id, "type", "function",
                                "function", "name", name, "arguments", args ? args : "{}");
        if (!one || json_array_append_new(tc, one))
            return CCAI_ERR_NOMEM;
    }
    json_array_foreach(calls, i, call)
    {
        const char *id = json_string_value(json_object_get(call, "tool_id"));
        const char *result = json_string_value(json_object_get(call, "content"));
        if (!id || !result)
            continue;
        json_t *one =
            json_pack("{s:s, s:s, s:s}", "role", "tool", "tool_call_id", id, "content", result);
        if (!one || json_array_append_new(out, one))
            return CCAI_ERR_NOMEM;
    }
    return CCAI_OK;
}

/* build_messages() with the store, prompts and model taken out. */
static char *ref_build(const json_t *history, const char *persona, const char *chat,
                       int64_t context, int64_t max_tokens, const json_t *tools, int history_max)
{
    json_t *out = json_array(), *tail = json_array();
    char *text = NULL;
    assert_non_null(out);
    assert_non_null(tail);
    assert_int_equal(
        json_array_append_new(out, json_pack("{s:s,s:s}", "role", "system", "content", persona)),
        0);
    assert_int_equal(
        json_array_append_new(out, json_pack("{s:s,s:s}", "role", "system", "content", chat)), 0);
    int64_t budget = context - max_tokens - (int64_t)ref_tokens_of(out) -
                     (int64_t)(tools ? ref_tokens_of(tools) : 0);
    int left = history_max - 2;
    for (size_t i = json_array_size(history); i-- > 0 && left > 0;) {
        json_t *group = json_array();
        assert_int_equal(ref_history_messages(json_array_get(history, i), group), CCAI_OK);
        int64_t cost = (int64_t)ref_tokens_of(group);
        if (cost > budget || (int)json_array_size(group) > left) {
            json_decref(group);
            break;
        }
        budget -= cost;
        left -= (int)json_array_size(group);
        for (size_t k = json_array_size(group); k-- > 0;)
            assert_int_equal(json_array_insert(tail, 0, json_array_get(group, k)), 0);
        json_decref(group);
    }
    assert_int_equal(json_array_extend(out, tail), 0);
    text = Ccai_json_dump(out, JSON_COMPACT);
    json_decref(out);
    json_decref(tail);
    return text;
}

/* The new writer over the same rows ------------------------------------------ */

static char *new_build(const json_t *history, const char *persona, const char *chat,
                       int64_t context, int64_t max_tokens, const json_t *tools, int history_max)
{
    Ccai_history h;
    Ccai_history_init(&h, persona, chat,
                      context - max_tokens - (int64_t)(tools ? Ccai_history_tokens(tools) : 0),
                      history_max);
    for (size_t i = json_array_size(history); i-- > 0;) {
        const json_t *row = json_array_get(history, i);
        Ccai_store_message m = {
            .persona = json_string_value(json_object_get(row, "persona")),
            .action = json_string_value(json_object_get(row, "action")),
            .style = json_string_value(json_object_get(row, "style")),
            .content = json_string_value(json_object_get(row, "content")),
        };
        ccai_status st = Ccai_history_add(&h, &m, json_object_get(row, "tool_calls"));
        if (st == CCAI_ERR_LIMIT)
            break;
        assert_int_equal(st, CCAI_OK);
    }
    char *text = Ccai_history_take(&h);
    Ccai_history_free(&h);
    return text;
}

/* Generated conversations ------------------------------------------------------ */

static void maybe_set(randtext *r, json_t *o, const char *key, const char *const *choices, size_t n)
{
    /* Mostly one of the usual values, sometimes absent (a NULL column). */
    uint32_t k = rt_below(r, (uint32_t)n + 1);
    if (k < n)
        assert_int_equal(json_object_set_new(o, key, json_string(choices[k])), 0);
}

static json_t *gen_tool_calls(randtext *r)
{
    json_t *calls = json_array();
    char buf[512];
    uint32_t n = rt_below(r, 4);
    for (uint32_t i = 0; i < n; i++) {
        if (rt_below(r, 12) == 0) {
            json_array_append_new(calls, json_integer(7)); /* not an object */
            continue;
        }
        json_t *c = json_object();
        if (rt_below(r, 8))
            json_object_set_new(c, "tool_id", json_string(rt_text(r, buf, sizeof buf, 3)));
        if (rt_below(r, 8))
            json_object_set_new(c, "function_name", json_string(rt_text(r, buf, sizeof buf, 2)));
        if (rt_below(r, 4))
            json_object_set_new(c, "function_arguments",
                                json_string(rt_text(r, buf, sizeof buf, 12)));
        else if (rt_below(r, 6) == 0)
            json_object_set_new(c, "function_arguments", json_integer(3)); /* not a string */
        if (rt_below(r, 4))
            json_object_set_new(c, "content", json_string(rt_text(r, buf, sizeof buf, 20)));
        json_array_append_new(calls, c);
    }
    return calls;
}

/* A row in the shape of Ccai_store_messages_json(). */
static json_t *gen_row(randtext *r, int64_t seq)
{
    static const char *const personas[] = {"human", "assistant", "assistant", "tool"};
    static const char *const actions[] = {"talk", "talk", "talk", "call", "sms", "hangup"};
    static const char *const styles[] = {"none", "cheerful", "sad"};
    char buf[4096];
    json_t *row = json_object();
    json_object_set_new(row, "seq", json_integer(seq));
    json_object_set_new(row, "created_at", json_string("2024-05-01T10:00:00.000Z"));
    maybe_set(r, row, "persona", personas, CCAI_ARRAY_SIZE(personas));
    maybe_set(r, row, "action", actions, CCAI_ARRAY_SIZE(actions));
    maybe_set(r, row, "style", styles, CCAI_ARRAY_SIZE(styles));
    if (rt_below(r, 10))
        json_object_set_new(row, "content", json_string(rt_text(r, buf, sizeof buf, 60)));
    if (rt_below(r, 3) == 0)
        json_object_set_new(row, "tool_calls", gen_tool_calls(r));
    json_object_set_new(row, "engine", json_string("llm:fast"));
    return row;
}

static void compare_one(randtext *r, int round)
{
    char persona[8192], chat[16384];
    json_t *history = json_array();
    uint32_t n = rt_below(r, round % 10 == 0 ? 120 : 25);
    for (uint32_t i = 0; i < n; i++)
        json_array_append_new(history, gen_row(r, (int64_t)i + 1));
    rt_text(r, persona, sizeof persona, 200);
    rt_text(r, chat, sizeof chat, round % 7 == 0 ? 2000 : 300);
    /* Windows from nothing left for history to far more than it needs. */
    static const int64_t contexts[] = {0, 40, 200, 600, 1500, 4000, 128000};
    int64_t context = contexts[rt_below(r, CCAI_ARRAY_SIZE(contexts))] + rt_below(r, 300);
    int64_t max_tokens = rt_below(r, 3) ? 160 : (int64_t)rt_below(r, 400);
    int history_max = (int)rt_below(r, 40);
    json_t *tools = NULL;
    if (rt_below(r, 2)) {
        tools = json_pack("[{s:s,s:{s:s,s:s,s:{s:s}}}]", "type", "function", "function", "name",
                          "end_call", "description", "Hang up \"now\"\n", "parameters", "type",
                          "object");
        assert_non_null(tools);
    }
    char *want = ref_build(history, persona, chat, context, max_tokens, tools, history_max);
    char *got = new_build(history, persona, chat, context, max_tokens, tools, history_max);
    assert_non_null(want);
    assert_non_null(got);
    if (strcmp(want, got) != 0) {
        fprintf(stderr, "round %d differs:\nwant %s\ngot  %s\n", round, want, got);
        fail();
    }
    ccai_free(want);
    ccai_free(got);
    json_decref(tools);
    json_decref(history);
}

static void test_same_as_tree_writer(void **state)
{
    (void)state;
    randtext r = {0x9e3779b97f4a7c15ull};
    for (int round = 0; round < 4000; round++)
        compare_one(&r, round);
}

/* What the model reads, spelled out once. */
static void test_shapes(void **state)
{
    (void)state;
    Ccai_history h;
    Ccai_history_init(&h, "P", "C\n\"x\"", 128000, 20);
    Ccai_store_message said = {.persona = "assistant", .action = "talk", .content = "Hi\nthere"};
    json_t *calls =
        json_pack("[{s:s,s:s,s:s,s:s}]", "tool_id", "call_1", "function_name", "updated_claim",
                  "function_arguments", "{\"a\":1}", "content", "Claim updated.");
    Ccai_store_message tool = {.persona = "assistant", .action = "talk", .content = ""};
    Ccai_store_message heard = {.persona = "human", .action = "talk", .content = "Bonjour"};
    assert_int_equal(Ccai_history_add(&h, &heard, NULL), CCAI_OK);
    assert_int_equal(Ccai_history_add(&h, &tool, calls), CCAI_OK);
    assert_int_equal(Ccai_history_add(&h, &said, NULL), CCAI_OK);
    char *text = Ccai_history_take(&h);
    assert_string_equal(
        text, "[{\"role\":\"system\",\"content\":\"P\"},"
              "{\"role\":\"system\",\"content\":\"C\\n\\\"x\\\"\"},"
              "{\"role\":\"assistant\",\"content\":\"action=talk style=none Hi there\"},"
              "{\"role\":\"assistant\",\"content\":\"action=talk style=none \",\"tool_calls\":"
              "[{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"updated_claim\","
              "\"arguments\":\"{\\\"a\\\":1}\"}}]},"
              "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"Claim updated.\"},"
              "{\"role\":\"user\",\"content\":\"action=talk Bonjour\"}]");
    ccai_free(text);
    json_decref(calls);
    Ccai_history_free(&h);
}

/* A message and its tool results are one group: a cap that leaves room for
 * the message but not its result takes neither, nor anything older. */
static void test_group_whole_or_nothing(void **state)
{
    (void)state;
    Ccai_history h;
    Ccai_history_init(&h, "P", "C", 128000, 2 + 2);
    Ccai_store_message heard = {.persona = "human", .action = "talk", .content = "Yes"};
    json_t *calls =
        json_pack("[{s:s,s:s,s:s},{s:s,s:s,s:s}]", "tool_id", "a", "function_name", "f", "content",
                  "ok", "tool_id", "b", "function_name", "g", "content", "ok");
    Ccai_store_message tool = {.persona = "assistant", .action = "talk", .content = ""};
    assert_int_equal(Ccai_history_add(&h, &heard, NULL), CCAI_OK);
    assert_int_equal(Ccai_history_add(&h, &tool, calls), CCAI_ERR_LIMIT);
    char *text = Ccai_history_take(&h);
    assert_string_equal(text, "[{\"role\":\"system\",\"content\":\"P\"},"
                              "{\"role\":\"system\",\"content\":\"C\"},"
                              "{\"role\":\"user\",\"content\":\"action=talk Yes\"}]");
    ccai_free(text);
    json_decref(calls);
    Ccai_history_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_as_tree_writer),
        cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_group_whole_or_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
