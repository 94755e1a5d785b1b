/* libFuzzer: guard/ folding and matching. Any bytes fold into words that
 * are valid UTF-8, one space apart, with offsets that say where they are;
 * folding the words again gives them back; leetspeak words are lower case
 * ASCII letters; a listed word after the input is always found, whatever
 * the input before it; the checks run on every input without harm. */
#include "guard/guard.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool utf8_valid(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        size_t k = c < 0x80                 ? 1
                   : c >= 0xC2 && c <= 0xDF ? 2
                   : c >= 0xE0 && c <= 0xEF ? 3
                   : c >= 0xF0 && c <= 0xF4 ? 4
                                            : 0;
        if (!k || i + k > n)
            return false;
        for (size_t j = 1; j < k; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return false;
        }
        i += k;
    }
    return true;
}

static void check_view(const Ccai_guard_view *v, bool ascii_letters)
{
    const char *t = v->text.data ? v->text.data : "";
    size_t len = v->text.len;
    if (!utf8_valid((const unsigned char *)t, len))
        abort();
    size_t at = 0;
    for (size_t i = 0; i < v->n; i++) {
        if (v->off[i] != at || v->len[i] == 0 || v->off[i] + v->len[i] > len)
            abort();
        for (size_t j = 0; j < v->len[i]; j++) {
            unsigned char c = (unsigned char)t[v->off[i] + j];
            if (c == ' ' || (ascii_letters && (c < 'a' || c > 'z')))
                abort();
        }
        at = v->off[i] + v->len[i];
        if (i + 1 < v->n && t[at++] != ' ')
            abort();
    }
    if (at != len)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static Ccai_guard *g;
    static Ccai_guard_scratch s, again;
    if (!g) {
        static const char *const block[] = {"contrat platine", "gratuit"};
        static const char *const comp[] = {"State Farm", "Générali"};
        Ccai_guard_opts o = {.profanity = true,
                             .blocklist = block,
                             .n_blocklist = 2,
                             .competitors = comp,
                             .n_competitors = 2};
        if (Ccai_guard_new(&o, &g, NULL) != CCAI_OK)
            abort();
    }
    if (Ccai_guard_fold(&s, (const char *)data, size) != CCAI_OK)
        return 0;
    check_view(&s.plain, false);
    check_view(&s.leet, true);
    if (Ccai_guard_fold(&again, s.plain.text.data, s.plain.text.len) != CCAI_OK)
        return 0;
    if (again.plain.text.len != s.plain.text.len ||
        memcmp(again.plain.text.data, s.plain.text.data, s.plain.text.len) != 0)
        abort();
    static const char *const langs[] = {"en-US", "fr-FR", "es-ES", "zh-CN", NULL};
    Ccai_guard_hit hit;
    const char *lang = langs[size % 5];
    if (Ccai_guard_check(g, &s, (const char *)data, size, lang,
                         CCAI_GUARD_F_WORDS | CCAI_GUARD_F_JAILBREAK, &hit) != CCAI_OK)
        return 0;
    if (hit.kind != CCAI_GUARD_NONE && (!hit.rule || !hit.category))
        abort();
    /* The input, then a listed word: found. */
    char *t = malloc(size + 16);
    if (!t)
        return 0;
    memcpy(t, data, size);
    memcpy(t + size, " gratuit", 8);
    if (Ccai_guard_check(g, &s, t, size + 8, lang, CCAI_GUARD_F_BLOCKLIST, &hit) == CCAI_OK &&
        hit.kind != CCAI_GUARD_BLOCKLIST)
        abort();
    free(t);
    return 0;
}
