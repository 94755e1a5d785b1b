/* libFuzzer: the rate-limit headers an LLM server sends with a 429 (or
 * any error): Retry-After (seconds or HTTP date), retry-after-ms and
 * OpenAI's x-ratelimit-reset-* durations. The input is split on newlines
 * into the three header values. Every result must be -1 or within the
 * documented bounds. */
#include "llm/llm.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char *field[3] = {text, NULL, NULL};
    for (int i = 1; i < 3; i++) {
        char *nl = field[i - 1] ? strchr(field[i - 1], '\n') : NULL;
        if (nl) {
            *nl = '\0';
            field[i] = nl + 1;
        }
    }
    int64_t now = 1728396000000LL;
    int64_t a = Ccai_llm_retry_after_ms(field[0], field[1], now);
    check(a == -1 || (a >= 0 && a <= 120000));
    int64_t b = Ccai_llm_wait_hint_ms(field[0], field[1], now);
    check(b == -1 || (b >= 0 && b <= (int64_t)CCAI_LLM_COOLDOWN_HINT_MAX_MS));
    check(a == -1 || b == a);
    int64_t d = Ccai_llm_duration_ms(field[2] ? field[2] : field[0]);
    check(d == -1 || (d >= 0 && d <= 86400000));
    free(text);
    return 0;
}
