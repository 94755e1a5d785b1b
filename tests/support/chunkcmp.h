/* The two readers of a stream chunk (llm/chunk.h) against each other and
 * against the strict JSON parser (header only; used by test_chunk and the
 * fuzz target). */
#ifndef CCAI_TEST_CHUNKCMP_H
#define CCAI_TEST_CHUNKCMP_H

#include "core/json.h"
#include "llm/chunk.h"

#include <string.h>

static inline int chunkcmp_str(const char *a, const char *b)
{
    return (a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0);
}

/* NULL when they agree on data[0..len), else what differs. *fast_status
 * gets what Ccai_chunk_read() said. */
static inline const char *chunkcmp(const char *data, size_t len, ccai_status *fast_status)
{
    static const char *why;
    why = NULL;
    /* The cursor accepts what the parser accepts. */
    Ccai_json_err jerr;
    ccai_status pst;
    json_t *tree = Ccai_json_load(data, len, &jerr, &pst);
    Ccai_json_cursor cur;
    memset(&cur, 0, sizeof cur);
    Ccai_json_cursor_init(&cur, data, len);
    int valid = Ccai_json_skip(&cur) && Ccai_json_finish(&cur);
    if (!cur.nomem && pst != CCAI_ERR_NOMEM && valid != (tree != NULL))
        why = "the cursor and the parser disagree on validity";
    else if (!tree && !valid && cur.why && jerr.text && strcmp(cur.why, jerr.text) != 0)
        why = "the cursor and the parser give different errors";
    Ccai_json_cursor_free(&cur);

    Ccai_chunk_reader fr, tr;
    memset(&fr, 0, sizeof fr);
    memset(&tr, 0, sizeof tr);
    Ccai_chunk a, b;
    ccai_status st = Ccai_chunk_read(&fr, data, len, &a);
    *fast_status = st;
    if (!why && st == CCAI_OK && !tree)
        why = "the reader took text the parser refuses";
    if (!why && st == CCAI_ERR_PARSE && tree)
        why = "the reader refused text the parser takes";
    if (!why && st == CCAI_OK && Ccai_chunk_from_tree(&tr, tree, &b) == CCAI_OK) {
        if (a.object != b.object || a.error != b.error || a.usage != b.usage || a.n != b.n)
            why = "object, error, usage or number of choices";
        else if (a.prompt_jailbreak != b.prompt_jailbreak)
            why = "prompt_filter_results";
        else if (a.usage &&
                 (a.prompt_tokens != b.prompt_tokens || a.completion_tokens != b.completion_tokens))
            why = "usage";
        for (size_t i = 0; !why && i < a.n; i++) {
            const Ccai_chunk_choice *x = &a.v[i], *y = &b.v[i];
            if (x->skip != y->skip || x->tool_calls != y->tool_calls ||
                x->filtered != y->filtered || x->text_len != y->text_len ||
                chunkcmp_str(x->text, y->text) || chunkcmp_str(x->finish, y->finish))
                why = "a choice";
        }
    }
    Ccai_chunk_reader_free(&fr);
    Ccai_chunk_reader_free(&tr);
    json_decref(tree);
    return why;
}

#endif
