/* libFuzzer: the pronunciation dictionary parser (speech/dict.c).
 * Properties checked: it answers every input with OK, PARSE or LIMIT (never
 * another status), a parsed dictionary holds at most one entry per line,
 * every key of the input that parsed is found again with phones made of
 * [A-Z0-9+_] and single spaces, and parsing is deterministic. */
#include "speech/dict.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_phones(const char *p)
{
    if (!p || !*p || *p == ' ')
        abort();
    for (; *p; p++) {
        bool ok = (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '+' || *p == '_' ||
                  (*p == ' ' && p[1] && p[1] != ' ');
        if (!ok)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    Ccai_pron_dict *d = NULL, *d2 = NULL;
    Ccai_err err = {0};
    ccai_status st = Ccai_pron_dict_parse(text, size, &d, &err);
    ccai_status st2 = Ccai_pron_dict_parse(text, size, &d2, NULL);
    if (st != st2)
        abort();
    if (st != CCAI_OK) {
        if ((st != CCAI_ERR_PARSE && st != CCAI_ERR_LIMIT && st != CCAI_ERR_NOMEM) || d || d2 ||
            !Ccai_err_get(&err)[0])
            abort();
        Ccai_err_free(&err);
        return 0;
    }
    size_t lines = 1;
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';
    if (Ccai_pron_dict_size(d) > lines || Ccai_pron_dict_size(d) != Ccai_pron_dict_size(d2))
        abort();
    /* Look up the first token of every line. */
    const char *p = text, *end = text + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        while (p < le && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\f' || *p == '\v'))
            p++;
        const char *k = p;
        while (p < le && !(*p == ' ' || *p == '\t' || *p == '\r' || *p == '\f' || *p == '\v'))
            p++;
        char key[CCAI_PRON_KEY_MAX + 1];
        size_t kl = (size_t)(p - k);
        if (kl && kl <= CCAI_PRON_KEY_MAX && !(kl >= 2 && memcmp(k, "##", 2) == 0) &&
            !(kl >= 3 && memcmp(k, ";;;", 3) == 0)) {
            memcpy(key, k, kl);
            key[kl] = '\0';
            const char *ph = Ccai_pron_dict_get(d, key, 0);
            const char *ph2 = Ccai_pron_dict_get(d2, key, 0);
            if (!ph || !ph2 || strcmp(ph, ph2) != 0)
                abort();
            check_phones(ph);
        }
        p = nl ? nl + 1 : end;
    }
    Ccai_pron_dict_free(d);
    Ccai_pron_dict_free(d2);
    Ccai_err_free(&err);
    return 0;
}
