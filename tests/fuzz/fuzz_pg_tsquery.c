/* libFuzzer: the PostgreSQL documents store's translation of rag/'s FTS5
 * queries into tsqueries (store/pg_docs.c, Ccai_pg_docs_tsquery).
 * Properties checked: a translation is one line per term, each a quoted
 * lexeme for to_tsquery() — every ' inside doubled, every \ escaped, no
 * control character — optionally followed by :*; whatever rag/ writes
 * from the same bytes as a question (Ccai_rag_match_expr) is accepted. */
#include "rag/rag.h"
#include "store/docs.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One line: '...' with '' and \\ inside, then :* or nothing. */
static bool line_ok(const char *s, size_t n)
{
    if (n < 2 || s[0] != '\'')
        return false;
    size_t i = 1;
    for (; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20)
            return false;
        if (c == '\\' || c == '\'') {
            if (i + 1 < n && s[i + 1] == s[i]) {
                i++;
                continue;
            }
            if (c == '\\')
                return false;
            break; /* the closing quote */
        }
    }
    if (i >= n)
        return false;
    i++;
    return i == n || (n - i == 2 && s[i] == ':' && s[i + 1] == '*');
}

static void check(const char *match)
{
    char *q = NULL;
    ccai_status st = Ccai_pg_docs_tsquery(match, &q);
    if (st == CCAI_ERR_NOMEM)
        return;
    if ((st == CCAI_OK) != (q != NULL) || (st != CCAI_OK && st != CCAI_ERR_PARSE))
        abort();
    for (const char *p = q; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (!line_ok(p, n))
            abort();
        p += n + (nl ? 1 : 0);
    }
    ccai_free(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    check(text);
    bool nomem = false;
    char *match = Ccai_rag_match_expr(text, &nomem);
    if (match) {
        char *q = NULL;
        if (Ccai_pg_docs_tsquery(match, &q) == CCAI_ERR_PARSE)
            abort(); /* rag/'s own query refused */
        ccai_free(q);
        check(match);
    }
    ccai_free(match);
    free(text);
    return 0;
}
