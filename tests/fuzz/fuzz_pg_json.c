/* libFuzzer: making jsonb's printed text compact (store/pg.c,
 * Ccai_pg_json_compact). Properties checked: the output is never longer
 * than the input and holds no blank outside strings; compacting it again
 * changes nothing; when the input is JSON, the output is the same JSON. */
#include "store/pg.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *out = malloc(size + 1), *again = malloc(size + 1);
    if (!out || !again) {
        free(out);
        free(again);
        return 0;
    }
    size_t n = Ccai_pg_json_compact((const char *)data, size, out);
    if (n > size || strlen(out) != n)
        abort();
    if (Ccai_pg_json_compact(out, n, again) != n || memcmp(out, again, n) != 0)
        abort();
    const char *text = (const char *)data;
    size_t len = strnlen(text, size);
    json_t *in = json_loadb(text, len, JSON_DECODE_ANY, NULL);
    if (in) {
        json_t *back = json_loadb(out, n, JSON_DECODE_ANY, NULL);
        if (!back || !json_equal(in, back))
            abort();
        json_decref(back);
        json_decref(in);
    }
    free(out);
    free(again);
    return 0;
}
