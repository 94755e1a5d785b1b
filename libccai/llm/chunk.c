/* Chunks of a streamed chat completion (llm/chunk.h). */
#include "llm/chunk.h"

#include <string.h>

#define NONE SIZE_MAX
/* Categories of a content filter's verdict kept apart to see a repeated
 * one (Azure sends six); more go to a tree. */
#define CATEGORIES_MAX 16

void Ccai_chunk_reader_free(Ccai_chunk_reader *r)
{
    Ccai_json_cursor_free(&r->cur);
    Ccai_buf_free(&r->text);
    ccai_free(r->v);
    memset(r, 0, sizeof *r);
}

static Ccai_chunk_choice *new_choice(Ccai_chunk_reader *r, size_t n)
{
    if (n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 4;
        Ccai_chunk_choice *v = Ccai_realloc(r->v, cap * sizeof *v);
        if (!v)
            return NULL;
        r->v = v;
        r->cap = cap;
    }
    Ccai_chunk_choice *ch = &r->v[n];
    memset(ch, 0, sizeof *ch);
    ch->text_at = ch->finish_at = NONE;
    return ch;
}

/* Reading ------------------------------------------------------------------- */

typedef struct reader {
    Ccai_chunk_reader *r;
    Ccai_json_cursor *c;
    ccai_status st; /* CCAI_ERR_UNSUPPORTED, CCAI_ERR_NOMEM, else the cursor failed */
} reader;

static bool unsupported(reader *x)
{
    x->st = CCAI_ERR_UNSUPPORTED;
    return false;
}

/* The key just read is name; a second time: a tree decides (the last one
 * counts there). */
static bool key_is(reader *x, const char *name, unsigned bit, unsigned *seen, bool *dup)
{
    const Ccai_buf *k = &x->c->str;
    if (k->len != strlen(name) || memcmp(k->data, name, k->len) != 0)
        return false;
    *dup = (*seen & bit) != 0;
    *seen |= bit;
    return true;
}

/* The string value at the cursor, copied to the reader's buffer. */
static bool keep_string(reader *x, size_t *at)
{
    if (!Ccai_json_read_string(x->c))
        return false;
    *at = x->r->text.len;
    if (!Ccai_buf_append(&x->r->text, x->c->str.data ? x->c->str.data : "", x->c->str.len) ||
        !Ccai_buf_append(&x->r->text, "", 1)) {
        x->st = CCAI_ERR_NOMEM;
        return false;
    }
    return true;
}

/* An integer as json_integer_value() reads it: 0 unless one. */
static bool read_int(reader *x, int64_t *ret)
{
    *ret = 0;
    if (Ccai_json_peek(x->c) != '0')
        return Ccai_json_skip(x->c);
    bool is_int = false;
    json_int_t v = 0;
    if (!Ccai_json_read_number(x->c, &is_int, &v))
        return false;
    if (is_int)
        *ret = (int64_t)v;
    return true;
}

/* One member of an object: its key at x->c->str, its value at the cursor;
 * seen: the keys met so far (key_is). */
typedef bool (*member_fn)(reader *x, void *ud, unsigned *seen);

/* An object's members, each to fn; any other value is skipped (nothing to
 * act on). */
static bool read_object(reader *x, member_fn fn, void *ud)
{
    if (Ccai_json_peek(x->c) != '{')
        return Ccai_json_skip(x->c);
    if (!Ccai_json_enter(x->c))
        return false;
    unsigned seen = 0;
    for (bool first = true;; first = false) {
        int m = Ccai_json_next_member(x->c, first);
        if (m <= 0)
            return m == 0;
        if (!fn(x, ud, &seen))
            return false;
    }
}

/* An array's elements, each to fn; any other value is skipped. */
static bool read_array(reader *x, bool (*fn)(reader *x, void *ud), void *ud)
{
    if (Ccai_json_peek(x->c) != '[')
        return Ccai_json_skip(x->c);
    if (!Ccai_json_enter(x->c))
        return false;
    for (bool first = true;; first = false) {
        int m = Ccai_json_next_element(x->c, first);
        if (m <= 0)
            return m == 0;
        if (!fn(x, ud))
            return false;
    }
}

static bool usage_member(reader *x, void *ud, unsigned *seen)
{
    Ccai_chunk *out = ud;
    bool dup = false;
    if (key_is(x, "prompt_tokens", 1, seen, &dup))
        return !dup ? read_int(x, &out->prompt_tokens) : unsupported(x);
    if (key_is(x, "completion_tokens", 2, seen, &dup))
        return !dup ? read_int(x, &out->completion_tokens) : unsupported(x);
    return Ccai_json_skip(x->c);
}

static bool read_usage(reader *x, Ccai_chunk *out)
{
    if (Ccai_json_peek(x->c) == '{') {
        out->usage = true;
        out->prompt_tokens = out->completion_tokens = 0;
    }
    return read_object(x, usage_member, out);
}

typedef struct choice_state {
    Ccai_chunk_choice *ch;
    size_t content, refusal;
} choice_state;

static bool delta_member(reader *x, void *ud, unsigned *seen)
{
    choice_state *cs = ud;
    bool dup = false;
    if (key_is(x, "content", 1, seen, &dup) || key_is(x, "refusal", 2, seen, &dup)) {
        size_t *at = x->c->str.data[0] == 'c' ? &cs->content : &cs->refusal;
        if (dup)
            return unsupported(x);
        return Ccai_json_peek(x->c) == '"' ? keep_string(x, at) : Ccai_json_skip(x->c);
    }
    if (key_is(x, "tool_calls", 4, seen, &dup)) {
        cs->ch->tool_calls = Ccai_json_peek(x->c) != 'n';
        return dup || cs->ch->tool_calls ? unsupported(x) : Ccai_json_skip(x->c);
    }
    return Ccai_json_skip(x->c);
}

typedef struct category {
    bool filtered, detected;
} category;

static bool category_member(reader *x, void *ud, unsigned *seen)
{
    category *cat = ud;
    bool dup = false;
    bool *flag = key_is(x, "filtered", 1, seen, &dup)   ? &cat->filtered
                 : key_is(x, "detected", 2, seen, &dup) ? &cat->detected
                                                        : NULL;
    if (!flag)
        return Ccai_json_skip(x->c);
    *flag = Ccai_json_peek(x->c) == 't';
    return dup ? unsupported(x) : Ccai_json_skip(x->c);
}

/* A verdict {"<category>": {...}, ...}: whether a category is filtered,
 * and (jailbreak not NULL) whether "jailbreak" is detected or filtered. */
static bool read_verdict(reader *x, bool *filtered, bool *jailbreak)
{
    *filtered = false;
    if (Ccai_json_peek(x->c) != '{')
        return Ccai_json_skip(x->c);
    if (!Ccai_json_enter(x->c))
        return false;
    /* The names seen so far, to see one given twice. */
    size_t at[CATEGORIES_MAX], n = 0, mark = x->r->text.len;
    bool ok = true;
    for (bool first = true; ok; first = false) {
        int m = Ccai_json_next_member(x->c, first);
        if (m <= 0) {
            ok = m == 0;
            break;
        }
        const Ccai_buf *k = &x->c->str;
        for (size_t i = 0; i < n && ok; i++) {
            const char *name = x->r->text.data + at[i];
            if (strlen(name) == k->len && memcmp(name, k->data, k->len) == 0)
                ok = unsupported(x);
        }
        if (ok && n == CATEGORIES_MAX)
            ok = unsupported(x);
        if (ok) {
            at[n++] = x->r->text.len;
            if (!Ccai_buf_append(&x->r->text, k->data, k->len) ||
                !Ccai_buf_append(&x->r->text, "", 1)) {
                x->st = CCAI_ERR_NOMEM;
                ok = false;
            }
        }
        category cat = {false, false};
        bool is_jailbreak = ok && k->len == 9 && memcmp(k->data, "jailbreak", 9) == 0;
        ok = ok && read_object(x, category_member, &cat);
        *filtered = *filtered || cat.filtered;
        if (jailbreak && is_jailbreak && (cat.filtered || cat.detected))
            *jailbreak = true;
    }
    x->r->text.len = mark; /* the names are not needed any more */
    return ok;
}

static bool choice_member(reader *x, void *ud, unsigned *seen)
{
    choice_state *cs = ud;
    Ccai_chunk_choice *ch = cs->ch;
    bool dup = false;
    if (key_is(x, "index", 1, seen, &dup)) {
        int64_t index = 0;
        bool ok = !dup ? read_int(x, &index) : unsupported(x);
        ch->skip = index != 0;
        return ok;
    }
    if (key_is(x, "delta", 2, seen, &dup))
        return !dup ? read_object(x, delta_member, cs) : unsupported(x);
    if (key_is(x, "finish_reason", 4, seen, &dup)) {
        if (dup)
            return unsupported(x);
        return Ccai_json_peek(x->c) == '"' ? keep_string(x, &ch->finish_at) : Ccai_json_skip(x->c);
    }
    if (key_is(x, "content_filter_results", 8, seen, &dup))
        return !dup ? read_verdict(x, &ch->filtered, NULL) : unsupported(x);
    return Ccai_json_skip(x->c);
}

static bool choice_element(reader *x, void *ud)
{
    Ccai_chunk *out = ud;
    Ccai_chunk_choice *ch = new_choice(x->r, out->n);
    if (!ch) {
        x->st = CCAI_ERR_NOMEM;
        return false;
    }
    out->n++;
    choice_state cs = {ch, NONE, NONE};
    if (!read_object(x, choice_member, &cs))
        return false;
    ch->text_at = cs.content != NONE ? cs.content : cs.refusal;
    return true;
}

/* One entry of prompt_filter_results: {"prompt_index": 0,
 * "content_filter_results": {...}}. */
static bool prompt_result_member(reader *x, void *ud, unsigned *seen)
{
    Ccai_chunk *out = ud;
    bool dup = false, filtered = false;
    if (key_is(x, "content_filter_results", 1, seen, &dup))
        return !dup ? read_verdict(x, &filtered, &out->prompt_jailbreak) : unsupported(x);
    return Ccai_json_skip(x->c);
}

static bool prompt_result_element(reader *x, void *ud)
{
    return read_object(x, prompt_result_member, ud);
}

static bool chunk_member(reader *x, void *ud, unsigned *seen)
{
    Ccai_chunk *out = ud;
    bool dup = false;
    if (key_is(x, "error", 1, seen, &dup)) {
        out->error = true;
        return unsupported(x); /* its message is read from a tree */
    }
    if (key_is(x, "usage", 2, seen, &dup))
        return !dup ? read_usage(x, out) : unsupported(x);
    if (key_is(x, "choices", 4, seen, &dup))
        return !dup ? read_array(x, choice_element, out) : unsupported(x);
    if (key_is(x, "prompt_filter_results", 8, seen, &dup) ||
        key_is(x, "prompt_annotations", 16, seen, &dup))
        return !dup ? read_array(x, prompt_result_element, out) : unsupported(x);
    return Ccai_json_skip(x->c);
}

static bool read_chunk(reader *x, Ccai_chunk *out)
{
    /* Anything but an object: valid, not acted on. */
    out->object = Ccai_json_peek(x->c) == '{';
    return read_object(x, chunk_member, out) && Ccai_json_finish(x->c);
}

ccai_status Ccai_chunk_read(Ccai_chunk_reader *r, const char *data, size_t len, Ccai_chunk *out)
{
    memset(out, 0, sizeof *out);
    Ccai_json_cursor_init(&r->cur, data, len);
    Ccai_buf_reset(&r->text);
    reader x = {r, &r->cur, CCAI_OK};
    if (!read_chunk(&x, out)) {
        if (x.st != CCAI_OK)
            return x.st;
        return r->cur.nomem ? CCAI_ERR_NOMEM : CCAI_ERR_PARSE;
    }
    /* The buffer is complete: its strings can be pointed at now. */
    for (size_t i = 0; i < out->n; i++) {
        Ccai_chunk_choice *ch = &r->v[i];
        if (ch->text_at != NONE) {
            ch->text = r->text.data + ch->text_at;
            ch->text_len = strlen(ch->text);
        }
        if (ch->finish_at != NONE)
            ch->finish = r->text.data + ch->finish_at;
    }
    out->v = r->v;
    return CCAI_OK;
}

/* From a tree --------------------------------------------------------------- */

static bool any_filtered(const json_t *verdict)
{
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)verdict, k, v)
    {
        if (json_is_true(json_object_get(v, "filtered")))
            return true;
    }
    return false;
}

/* Any entry of a prompt_filter_results array with a jailbreak found. */
static bool any_jailbreak(const json_t *results)
{
    size_t i;
    const json_t *r;
    json_array_foreach(results, i, r)
    {
        const json_t *v = json_object_get(r, "content_filter_results");
        const json_t *jb = json_is_object(v) ? json_object_get(v, "jailbreak") : NULL;
        if (json_is_true(json_object_get(jb, "filtered")) ||
            json_is_true(json_object_get(jb, "detected")))
            return true;
    }
    return false;
}

ccai_status Ccai_chunk_from_tree(Ccai_chunk_reader *r, const json_t *chunk, Ccai_chunk *out)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(chunk))
        return CCAI_OK;
    out->object = true;
    out->error = json_object_get(chunk, "error") != NULL;
    out->prompt_jailbreak = any_jailbreak(json_object_get(chunk, "prompt_filter_results")) ||
                            any_jailbreak(json_object_get(chunk, "prompt_annotations"));
    const json_t *usage = json_object_get(chunk, "usage");
    if (json_is_object(usage)) {
        out->usage = true;
        out->prompt_tokens = json_integer_value(json_object_get(usage, "prompt_tokens"));
        out->completion_tokens = json_integer_value(json_object_get(usage, "completion_tokens"));
    }
    const json_t *choices = json_object_get(chunk, "choices");
    size_t i;
    const json_t *c;
    json_array_foreach(choices, i, c)
    {
        Ccai_chunk_choice *ch = new_choice(r, i);
        if (!ch)
            return CCAI_ERR_NOMEM;
        const json_t *idx = json_object_get(c, "index");
        ch->skip = idx && json_integer_value(idx) != 0;
        const json_t *delta = json_object_get(c, "delta");
        ch->text = json_string_value(json_object_get(delta, "content"));
        if (!ch->text)
            ch->text = json_string_value(json_object_get(delta, "refusal"));
        ch->text_len = ch->text ? strlen(ch->text) : 0;
        const json_t *tc = json_object_get(delta, "tool_calls");
        ch->tool_calls = tc && !json_is_null(tc);
        ch->finish = json_string_value(json_object_get(c, "finish_reason"));
        const json_t *verdict = json_object_get(c, "content_filter_results");
        ch->filtered = json_is_object(verdict) && any_filtered(verdict);
        out->n = i + 1;
    }
    out->v = r->v;
    return CCAI_OK;
}
