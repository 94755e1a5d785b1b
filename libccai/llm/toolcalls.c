/* Tool-call assembly from streamed deltas. */
#include "llm/toolcalls.h"

#include "core/json.h"

#include <stdio.h>
#include <string.h>

void Ccai_tool_calls_init(Ccai_tool_calls *tc)
{
    memset(tc, 0, sizeof *tc);
}

void Ccai_tool_calls_free(Ccai_tool_calls *tc)
{
    for (size_t i = 0; i < tc->n; i++) {
        ccai_free(tc->v[i].id);
        ccai_free(tc->v[i].name);
        Ccai_buf_free(&tc->v[i].args);
    }
    tc->n = 0;
}

static Ccai_tool_call *new_slot(Ccai_tool_calls *tc, long index)
{
    if (tc->n == CCAI_TOOL_CALLS_MAX)
        return NULL;
    Ccai_tool_call *c = &tc->v[tc->n++];
    memset(c, 0, sizeof *c);
    c->index = index;
    return c;
}

static Ccai_tool_call *by_index(Ccai_tool_calls *tc, long index)
{
    for (size_t i = 0; i < tc->n; i++) {
        if (tc->v[i].index == index)
            return &tc->v[i];
    }
    return NULL;
}

static CCAI_MUST_CHECK bool take_once(char **dst, const char *value)
{
    if (*dst || !value || !*value)
        return true;
    *dst = Ccai_strdup(value);
    return *dst != NULL;
}

ccai_status Ccai_tool_calls_apply(Ccai_tool_calls *tc, const json_t *deltas)
{
    if (!json_is_array(deltas))
        return deltas && !json_is_null(deltas) ? CCAI_ERR_PARSE : CCAI_OK;
    size_t i;
    const json_t *d;
    json_array_foreach(deltas, i, d)
    {
        if (!json_is_object(d))
            return CCAI_ERR_PARSE;
        const json_t *jindex = json_object_get(d, "index");
        const char *id = json_string_value(json_object_get(d, "id"));
        const json_t *fn = json_object_get(d, "function");
        const char *name = json_string_value(json_object_get(fn, "name"));
        const json_t *jargs = json_object_get(fn, "arguments");
        Ccai_tool_call *c = NULL;
        if (json_is_integer(jindex)) {
            long index = (long)json_integer_value(jindex);
            c = by_index(tc, index);
            if (!c && !(c = new_slot(tc, index)))
                return CCAI_ERR_LIMIT;
        } else {
            Ccai_tool_call *last = tc->n ? &tc->v[tc->n - 1] : NULL;
            bool has_id = id && *id, has_name = name && *name;
            bool cont;
            if (!last)
                cont = false;
            else if (has_id)
                cont = last->id && strcmp(last->id, id) == 0;
            else
                cont = !(has_name && last->name); /* a whole call without an id */
            if (cont)
                c = last;
            else if (!(c = new_slot(tc, -1 - (long)tc->n)))
                return CCAI_ERR_LIMIT;
        }
        if (!take_once(&c->id, id) || !take_once(&c->name, name))
            return CCAI_ERR_NOMEM;
        /* Arguments are a JSON string; some servers send an object. */
        if (json_is_string(jargs)) {
            size_t n = json_string_length(jargs);
            if (c->args.len + n > CCAI_TOOL_ARGS_MAX)
                return CCAI_ERR_LIMIT;
            if (!Ccai_buf_append(&c->args, json_string_value(jargs), n))
                return CCAI_ERR_NOMEM;
        } else if (json_is_object(jargs)) {
            char *text = Ccai_json_dump(jargs, JSON_COMPACT);
            if (!text)
                return CCAI_ERR_NOMEM;
            size_t n = strlen(text);
            bool ok = c->args.len + n <= CCAI_TOOL_ARGS_MAX && Ccai_buf_append(&c->args, text, n);
            ccai_free(text);
            if (!ok)
                return c->args.len + n > CCAI_TOOL_ARGS_MAX ? CCAI_ERR_LIMIT : CCAI_ERR_NOMEM;
        }
    }
    return CCAI_OK;
}

size_t Ccai_tool_calls_finish(Ccai_tool_calls *tc)
{
    size_t w = 0;
    for (size_t i = 0; i < tc->n; i++) {
        Ccai_tool_call c = tc->v[i];
        if (!c.name) {
            ccai_free(c.id);
            Ccai_buf_free(&c.args);
            continue;
        }
        if (!c.id) {
            char id[32];
            snprintf(id, sizeof id, "call_%zu", w);
            c.id = Ccai_strdup(id);
        }
        tc->v[w++] = c;
    }
    tc->n = w;
    return w;
}
