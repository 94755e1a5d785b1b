/* libFuzzer: the prompt template checker and renderer, and the TZif parser
 * with its POSIX TZ footer rules. The first byte picks the target. */
#include "core/tz.h"
#include "engine/prompts.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_template(const uint8_t *data, size_t size)
{
    static const char *const allowed[] = {"a", "bot_name", "claim", NULL};
    /* template NUL value-of-a NUL value-of-claim */
    char *s = malloc(size + 3);
    if (!s)
        return;
    memcpy(s, data, size);
    s[size] = s[size + 1] = s[size + 2] = '\0';
    const char *tpl = s;
    const char *va = tpl + strlen(tpl) + 1;
    const char *vc = va <= s + size ? va + strlen(va) + 1 : va;
    Ccai_prompt_var vars[] = {{"a", va}, {"claim", vc}, {"bot_name", NULL}};
    char *err = NULL;
    ccai_status st = Ccai_prompt_check(tpl, allowed, &err);
    if (st != CCAI_OK && st != CCAI_ERR_NOMEM && !err)
        abort();
    ccai_free(err);
    char *a = Ccai_prompt_render(tpl, vars, 3);
    char *b = Ccai_prompt_render_llm(tpl, vars, 3);
    if (!a != !b)
        abort();
    if (b && strchr(b, '\n'))
        abort();
    ccai_free(a);
    ccai_free(b);
    free(s);
}

static void fuzz_tzif(const uint8_t *data, size_t size)
{
    static const int64_t times[] = {INT64_MIN,  -2147483649LL, -1,           0,
                                    1711846800, 1729990800,    4119331380LL, 253402300799LL,
                                    INT64_MAX};
    Ccai_tz *tz = NULL;
    if (Ccai_tz_parse(data, size, &tz) != CCAI_OK)
        return;
    char out[CCAI_TZ_FORMAT_MAX];
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        int32_t off;
        const char *abbr;
        bool isdst;
        Ccai_tz_lookup(tz, times[i], &off, &abbr, &isdst);
        if (!abbr || strlen(abbr) >= 16)
            abort();
        int64_t ms = times[i] > -INT64_C(1000000000000) && times[i] < INT64_C(1000000000000)
                         ? times[i] * 1000
                         : times[i];
        ccai_status st = Ccai_tz_format(tz, ms, out, sizeof out);
        if (st == CCAI_OK && strlen(out) >= sizeof out)
            abort();
    }
    /* Every year of a rule, both sides of each change. */
    for (int64_t t = 0; t < 4102444800LL; t += 86400 * 29 + 3607)
        Ccai_tz_lookup(tz, t, NULL, NULL, NULL);
    Ccai_tz_free(tz);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] & 1)
        fuzz_tzif(data + 1, size - 1);
    else
        fuzz_template(data + 1, size - 1);
    return 0;
}
