/* The messages of an LLM request as JSON text (engine/history.h). */
#include "engine/history.h"

#include "core/json.h"

#include <string.h>

/* Conservative token estimate without a tokenizer: one token per three
 * bytes of UTF-8 (English averages four characters per token; accented and
 * CJK text take more bytes per character, which this also covers), plus a
 * few tokens of framing per message. Over-counting only trims history a
 * little early; under-counting would overflow the context window. */
#define BYTES_PER_TOKEN    3
#define TOKENS_PER_MESSAGE 4

/* The estimate of a string's compact JSON: its bytes and quotes, and five
 * more for each character that may be escaped (\u00XX takes six). */
static size_t est_string(const char *s, size_t n)
{
    return n + 2 + 5 * Ccai_json_escapes(s, n);
}

static size_t est_cstring(const char *s)
{
    return est_string(s, strlen(s));
}

/* An object member: "key": value, and its comma. */
static size_t est_member(const char *key, size_t value)
{
    return strlen(key) + 4 + value;
}

/* Bytes a value takes as compact JSON, estimated without serialising it. */
static size_t json_bytes(const json_t *v)
{
    size_t n = 0;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *val;
        n = 2;
        json_object_foreach((json_t *)v, key, val)
        {
            n += est_member(key, json_bytes(val));
        }
        return n;
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *val;
        n = 2;
        json_array_foreach(v, i, val)
        {
            n += json_bytes(val) + 1;
        }
        return n;
    }
    case JSON_STRING: return est_cstring(json_string_value(v));
    default: return 24;
    }
}

size_t Ccai_history_tokens(const json_t *v)
{
    return json_bytes(v) / BYTES_PER_TOKEN + TOKENS_PER_MESSAGE;
}

static size_t tokens_of_bytes(size_t bytes)
{
    return bytes / BYTES_PER_TOKEN + TOKENS_PER_MESSAGE;
}

/* {"role":role,"content":content} without its closing brace (a message may
 * go on with its tool calls); *est gets its estimate, closed. */
static bool put_message(Ccai_buf *b, const char *role, const char *content, size_t len, size_t *est)
{
    *est =
        2 + est_member("role", est_cstring(role)) + est_member("content", est_string(content, len));
    return Ccai_buf_puts(b, "{\"role\":") && Ccai_json_put_cstring(b, role) &&
           Ccai_buf_puts(b, ",\"content\":") && Ccai_json_put_string(b, content, len);
}

void Ccai_history_init(Ccai_history *h, const char *persona, const char *chat, int64_t budget,
                       int max_messages)
{
    memset(h, 0, sizeof *h);
    h->persona = persona;
    h->chat = chat;
    /* [{"role":"system","content":persona},{"role":"system","content":chat}] */
    size_t sys = 2;
    const char *const prompts[2] = {persona, chat};
    for (size_t i = 0; i < 2; i++)
        sys += 2 + est_member("role", est_cstring("system")) +
               est_member("content", est_cstring(prompts[i] ? prompts[i] : "")) + 1;
    h->budget = budget - (int64_t)tokens_of_bytes(sys);
    h->left = max_messages - 2;
}

void Ccai_history_free(Ccai_history *h)
{
    Ccai_buf_free(&h->groups);
    Ccai_buf_free(&h->text);
    ccai_free(h->ends);
    memset(h, 0, sizeof *h);
}

static const char *str_of(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* The assistant's tool calls: ,"tool_calls":[...] (the message's member),
 * and the estimate of the array. */
static bool put_tool_calls(Ccai_buf *b, const json_t *calls, size_t *est)
{
    size_t i, e = 2;
    const json_t *call;
    bool first = true, ok = Ccai_buf_puts(b, ",\"tool_calls\":[");
    json_array_foreach(calls, i, call)
    {
        const char *id = str_of(call, "tool_id");
        const char *name = str_of(call, "function_name");
        const char *args = str_of(call, "function_arguments");
        if (!id || !name)
            continue;
        if (!args)
            args = "{}";
        size_t fn =
            2 + est_member("name", est_cstring(name)) + est_member("arguments", est_cstring(args));
        e += 2 + est_member("id", est_cstring(id)) + est_member("type", est_cstring("function")) +
             est_member("function", fn) + 1;
        ok = ok && (first || Ccai_buf_append(b, ",", 1)) && Ccai_buf_puts(b, "{\"id\":") &&
             Ccai_json_put_cstring(b, id) &&
             Ccai_buf_puts(b, ",\"type\":\"function\",\"function\":{\"name\":") &&
             Ccai_json_put_cstring(b, name) && Ccai_buf_puts(b, ",\"arguments\":") &&
             Ccai_json_put_cstring(b, args) && Ccai_buf_append(b, "}}", 2);
        first = false;
    }
    *est = e;
    return ok && Ccai_buf_append(b, "]", 1);
}

/* The results of the tool calls, one "tool" message each: ,{...},{...};
 * *est gets their estimates with their commas, *n how many. */
static bool put_tool_results(Ccai_buf *b, const json_t *calls, size_t *est, int *n)
{
    size_t i;
    const json_t *call;
    bool ok = true;
    json_array_foreach(calls, i, call)
    {
        const char *id = str_of(call, "tool_id");
        const char *result = str_of(call, "content");
        if (!id || !result)
            continue;
        *est += 2 + est_member("role", est_cstring("tool")) +
                est_member("tool_call_id", est_cstring(id)) +
                est_member("content", est_cstring(result)) + 1;
        (*n)++;
        ok = ok && Ccai_buf_puts(b, ",{\"role\":\"tool\",\"tool_call_id\":") &&
             Ccai_json_put_cstring(b, id) && Ccai_buf_puts(b, ",\"content\":") &&
             Ccai_json_put_cstring(b, result) && Ccai_buf_append(b, "}", 1);
    }
    return ok;
}

/* The words as the model reads them: "action=talk Hello" for the caller,
 * "action=talk style=none Hello" for the bot, on one line. */
static bool content_text(Ccai_buf *t, const Ccai_store_message *m, bool human)
{
    const char *content = m->content ? m->content : "";
    Ccai_buf_reset(t);
    bool ok = Ccai_buf_puts(t, "action=") && Ccai_buf_puts(t, m->action) &&
              (human ||
               (Ccai_buf_puts(t, " style=") && Ccai_buf_puts(t, m->style ? m->style : "none"))) &&
              Ccai_buf_append(t, " ", 1) && Ccai_buf_puts(t, content);
    if (!ok)
        return false;
    for (size_t i = 0; i < t->len; i++) {
        if (t->data[i] == '\n' || t->data[i] == '\r')
            t->data[i] = ' ';
    }
    return true;
}

/* Forget what was written from start on. */
static void cut(Ccai_history *h, size_t start)
{
    h->groups.len = start;
    if (h->groups.data)
        h->groups.data[start] = '\0';
}

ccai_status Ccai_history_add(Ccai_history *h, const Ccai_store_message *m, const json_t *calls)
{
    if (h->left <= 0)
        return CCAI_ERR_LIMIT;
    size_t start = h->groups.len;
    int n = 0;
    size_t est = 2; /* the group as an array */
    bool ok = true;
    /* A message without persona or action says nothing (an empty group). */
    if (m->persona && m->action) {
        bool human = strcmp(m->persona, "human") == 0;
        bool with_calls = !human && json_is_array(calls) && json_array_size(calls) > 0;
        size_t e_msg = 0, e_calls = 0;
        ok = content_text(&h->text, m, human) && (!start || Ccai_buf_append(&h->groups, ",", 1)) &&
             put_message(&h->groups, human ? "user" : "assistant", h->text.data, h->text.len,
                         &e_msg) &&
             (!with_calls || put_tool_calls(&h->groups, calls, &e_calls)) &&
             Ccai_buf_append(&h->groups, "}", 1);
        if (with_calls)
            e_msg += est_member("tool_calls", e_calls);
        est += e_msg + 1;
        n = 1;
        if (ok && with_calls)
            ok = put_tool_results(&h->groups, calls, &est, &n);
        if (!ok) {
            cut(h, start);
            return CCAI_ERR_NOMEM;
        }
    }
    int64_t cost = (int64_t)tokens_of_bytes(est);
    if (cost > h->budget || n > h->left) {
        cut(h, start);
        return CCAI_ERR_LIMIT;
    }
    h->budget -= cost;
    h->left -= n;
    if (h->groups.len == start)
        return CCAI_OK; /* nothing to write */
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 16;
        size_t *ends = Ccai_realloc(h->ends, cap * sizeof *ends);
        if (!ends) {
            cut(h, start);
            return CCAI_ERR_NOMEM;
        }
        h->ends = ends;
        h->cap = cap;
    }
    h->ends[h->n++] = h->groups.len;
    return CCAI_OK;
}

char *Ccai_history_take(Ccai_history *h)
{
    Ccai_buf out = {0};
    size_t e = 0;
    const char *const prompts[2] = {h->persona, h->chat};
    bool ok = Ccai_buf_append(&out, "[", 1);
    for (size_t i = 0; ok && i < 2; i++)
        ok = (i == 0 || Ccai_buf_append(&out, ",", 1)) &&
             put_message(&out, "system", prompts[i], prompts[i] ? strlen(prompts[i]) : 0, &e) &&
             Ccai_buf_append(&out, "}", 1);
    /* Groups were written newest first, each but the first after a comma:
     * copy them back oldest first. */
    for (size_t i = h->n; ok && i-- > 0;) {
        size_t from = i ? h->ends[i - 1] : 0, to = h->ends[i];
        if (i)
            from++; /* its leading comma */
        ok = Ccai_buf_append(&out, ",", 1) &&
             Ccai_buf_append(&out, h->groups.data + from, to - from);
    }
    ok = ok && Ccai_buf_append(&out, "]", 1);
    char *text = ok ? Ccai_buf_steal(&out) : NULL;
    Ccai_buf_free(&out);
    return text;
}
