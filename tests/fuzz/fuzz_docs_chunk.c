/* libFuzzer: the documents chunker (rag/chunk.c) on Markdown, HTML and
 * text. The first byte picks the format and the chunk sizes. Properties
 * checked: it answers OK (or LIMIT past the sizes), every chunk is
 * non-empty, at most max_chars bytes, valid UTF-8 with no byte below 0x20
 * but newlines, has a heading of valid UTF-8, the title and language are
 * valid UTF-8 when present, and the parse is deterministic. */
#include "rag/chunk.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_utf8(const unsigned char *p, bool newlines)
{
    while (*p) {
        if ((*p < 0x20 && !(newlines && *p == '\n')) || *p == 0x7F)
            abort();
        size_t n = *p < 0x80             ? 1
                   : (*p & 0xE0) == 0xC0 ? 2
                   : (*p & 0xF0) == 0xE0 ? 3
                   : (*p & 0xF8) == 0xF0 ? 4
                                         : 0;
        if (!n)
            abort();
        for (size_t i = 1; i < n; i++)
            if ((p[i] & 0xC0) != 0x80)
                abort();
        p += n;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    Ccai_doc_format f = (Ccai_doc_format)(data[0] % 3);
    Ccai_chunk_opts o = {200 + (size_t)(data[0] >> 2) * 20, (size_t)(data[0] >> 2) * 3};
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    Ccai_doc *a = NULL, *b = NULL;
    ccai_status st = Ccai_doc_parse(text, len, f, &o, &a);
    if (st == CCAI_ERR_LIMIT)
        return 0;
    if (st != CCAI_OK)
        abort();
    if (Ccai_doc_parse(text, len, f, &o, &b) != CCAI_OK || a->n != b->n)
        abort();
    if (a->title)
        check_utf8((const unsigned char *)a->title, false);
    if (a->lang)
        check_utf8((const unsigned char *)a->lang, false);
    for (size_t i = 0; i < a->n; i++) {
        const char *t = a->chunks[i].text;
        if (!*t || strlen(t) > o.max_chars || strcmp(t, b->chunks[i].text) != 0 ||
            strcmp(a->chunks[i].heading, b->chunks[i].heading) != 0)
            abort();
        check_utf8((const unsigned char *)t, true);
        check_utf8((const unsigned char *)a->chunks[i].heading, false);
    }
    Ccai_doc_free(a);
    Ccai_doc_free(b);
    return 0;
}
