/* libFuzzer target for the Entra ID token reply parser (llm/entra.c): any
 * bytes give a token without control characters and an expiry, or an
 * error text; never both, never neither. */
#include "llm/entra.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *token = NULL, *err = NULL;
    int64_t expires = 0;
    ccai_status st = Ccai_entra_parse_reply((const char *)data, size, 1000, &token, &expires, &err);
    if (st == CCAI_OK) {
        check(token && *token && !err && !strpbrk(token, "\r\n"));
    } else {
        check(!token && (st == CCAI_ERR_NOMEM || (st == CCAI_ERR_PARSE && err && *err)));
    }
    ccai_free(token);
    ccai_free(err);
    return 0;
}
