/* libFuzzer: the azure speech-to-text provider's message parser
 * (stt/cloud.h Ccai_az_parse). Properties checked: any bytes are answered with
 * CCAI_OK or a parse/limit error, never read past the input; a message it
 * accepts frees cleanly and parses again. */
#include "stt/cloud.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *p = malloc(size ? size : 1);
    if (!p)
        return 0;
    if (size)
        memcpy(p, data, size);
    Ccai_az_answer a, b;
    ccai_status st = Ccai_az_parse(p, size, &a);
    if (st != CCAI_OK && st != CCAI_ERR_PARSE && st != CCAI_ERR_LIMIT && st != CCAI_ERR_NOMEM)
        abort();
    if (st == CCAI_OK) {
        if (Ccai_az_parse(p, size, &b) != CCAI_OK)
            abort(); /* the same bytes parse again */
        Ccai_az_answer_free(&b);
    }
    Ccai_az_answer_free(&a);
    free(p);
    return 0;
}
