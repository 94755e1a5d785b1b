/* libFuzzer: the ACS request signature verifier. The input is split at NUL
 * bytes into method, path-and-query, host, date, content hash, Authorization
 * and body. Properties checked: arbitrary headers never verify unless they
 * are the signature the signer computes, and what the signer produces for
 * the same fields always verifies (and no longer does once the body changes). */
#include "channels/acs/acs_sig.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define KEY "Y2NhaS10ZXN0LWFjcy1hY2Nlc3Mta2V5LTAxMjM0NTY3ODk="

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = Ccai_malloc(size + 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    const char *field[6] = {"", "", "", "", "", ""};
    size_t off = 0;
    for (int i = 0; i < 6 && off <= size; i++) {
        field[i] = copy + off;
        off += strlen(copy + off) + 1;
    }
    const char *body = off <= size ? copy + off : "";
    size_t body_len = off <= size ? size - off : 0;
    const char *method = field[0], *target = field[1], *host = field[2], *date = field[3];

    Ccai_acs_signed s;
    bool arbitrary =
        Ccai_acs_verify(KEY, method, target, host, date, field[4], body, body_len, field[5]);
    if (Ccai_acs_sign(KEY, method, target, host, date, body, body_len, &s) == CCAI_OK) {
        if (arbitrary &&
            (strcmp(field[4], s.content_hash) != 0 || strcmp(field[5], s.authorization) != 0))
            abort();
        if (!Ccai_acs_verify(KEY, method, target, host, date, s.content_hash, body, body_len,
                             s.authorization))
            abort();
        if (Ccai_acs_verify(KEY, method, target, host, date, s.content_hash, "x", 1,
                            s.authorization) &&
            !(body_len == 1 && body[0] == 'x'))
            abort();
        if (Ccai_acs_verify("AAECAwQFBgcICQoLDA0ODw==", method, target, host, date, s.content_hash,
                            body, body_len, s.authorization))
            abort();
    } else if (arbitrary) {
        abort(); /* verified what cannot be signed */
    }
    ccai_free(copy);
    return 0;
}
