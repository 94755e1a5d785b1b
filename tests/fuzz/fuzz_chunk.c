/* libFuzzer: stream chunks read without a tree (llm/chunk.c) against the
 * tree built by the strict parser (core/json.c): the cursor accepts what the
 * parser accepts, with the same error, and the reader says what the tree
 * says. Any difference aborts. */
#include "support/chunkcmp.h"

#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ccai_status st;
    const char *why = chunkcmp((const char *)data, size, &st);
    if (why) {
        fprintf(stderr, "fuzz-chunk: %s\n", why);
        abort();
    }
    return 0;
}
