/* libFuzzer: the WebSocket upgrade answer's parser (io/ws.c).
 * Properties checked: every prefix of the input is answered (need more,
 * a head, or an error) without reading past it; once a head is found,
 * longer inputs find the same head; the head ends with a blank line; the
 * check against a key never accepts an answer whose accept key is not the
 * key's. */
#include "io/ws.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const size_t max = 2048;
    /* A copy of exactly size bytes: ASan sees any read past the end. */
    char *p = malloc(size ? size : 1);
    if (!p)
        return 0;
    if (size)
        memcpy(p, data, size);
    size_t first_head = 0;
    for (size_t n = 0; n <= size; n++) {
        Ccai_ws_response r;
        size_t head = 0;
        ccai_status st = Ccai_ws_response_parse(p, n, max, &r, &head);
        if (st != CCAI_OK) {
            if (st != CCAI_ERR_PARSE && st != CCAI_ERR_LIMIT && st != CCAI_ERR_NOMEM)
                abort();
            if (st == CCAI_ERR_LIMIT && n < max)
                abort();
            break; /* a reader stops at the first error */
        }
        if (!head) {
            if (first_head)
                abort();
            continue;
        }
        if (head > n || p[head - 1] != '\n')
            abort();
        if (first_head && head != first_head)
            abort();
        first_head = head;
        if (r.status < 100 || r.status > 999)
            abort();
        const char *key = "dGhlIHNhbXBsZSBub25jZQ==";
        if (!Ccai_ws_response_check(&r, key, "chat") &&
            (!r.accept || strcmp(r.accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") != 0 || r.status != 101))
            abort();
        Ccai_ws_response_free(&r);
    }
    free(p);
    return 0;
}
