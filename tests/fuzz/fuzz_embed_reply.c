/* libFuzzer: the reply of an embeddings request (rag/embed.c,
 * Ccai_embed_parse). The first byte is the number of vectors asked for.
 * Properties checked: OK gives n vectors of one size within
 * CCAI_EMBED_MAX_DIMS of finite floats, anything else is PARSE (or NOMEM)
 * with a reason. */
#include "rag/embed.h"

#include <math.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t n = data[0] % 8;
    float *v = NULL;
    size_t dims = 0;
    const char *why = NULL;
    ccai_status st = Ccai_embed_parse((const char *)data + 1, size - 1, n, &v, &dims, &why);
    if (st == CCAI_OK) {
        if (!v || n == 0 || dims == 0 || dims > CCAI_EMBED_MAX_DIMS)
            abort();
        for (size_t i = 0; i < n * dims; i++)
            if (!isfinite(v[i]))
                abort();
        ccai_free(v);
    } else if ((st != CCAI_ERR_PARSE && st != CCAI_ERR_NOMEM) || !why || v) {
        abort();
    }
    return 0;
}
