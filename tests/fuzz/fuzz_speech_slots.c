/* libFuzzer: what the recogniser's words become (speech/grammar.c): the
 * input is split into choices (lines before a NUL byte) and recognised text
 * (after it). Properties checked: the choice grammar builds or refuses with
 * a documented status; a built grammar lists only lower-case words and
 * brackets balance; interpretation never fails (CHOICE may say NOMEM
 * only), a matched value is non-empty, shorter than CCAI_SLOT_MAX and of
 * its kind's form, an unmatched one is empty, and the result is the same
 * twice. */
#include "speech/grammar.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_value(Ccai_speech_kind k, const Ccai_slot *s, const char *const *choices,
                        size_t n)
{
    size_t len = strlen(s->value);
    if (!s->matched) {
        if (len)
            abort();
        return;
    }
    if (s->command || len == 0 || len >= CCAI_SLOT_MAX)
        abort();
    switch (k) {
    case CCAI_SPEECH_YESNO:
        if (strcmp(s->value, "yes") != 0 && strcmp(s->value, "no") != 0)
            abort();
        break;
    case CCAI_SPEECH_DIGITS:
    case CCAI_SPEECH_NUMBER:
        for (size_t i = 0; i < len; i++)
            if (s->value[i] < '0' || s->value[i] > '9')
                abort();
        if (k == CCAI_SPEECH_DIGITS && len > CCAI_GRAMMAR_DIGITS_MAX)
            abort();
        if (k == CCAI_SPEECH_NUMBER && (len > 6 || (len > 1 && s->value[0] == '0')))
            abort();
        break;
    case CCAI_SPEECH_DATE:
        if (strncmp(s->value, "--", 2) == 0 &&
            (len != 7 || s->value[4] != '-' || strcmp(s->value, "--01-01") < 0 ||
             strcmp(s->value, "--12-31") > 0))
            abort();
        break;
    case CCAI_SPEECH_EMAIL: {
        const char *at = strchr(s->value, '@');
        if (!at || at == s->value || strchr(at + 1, '@') || !strchr(at + 1, '.'))
            abort();
        break;
    }
    case CCAI_SPEECH_CHOICE: {
        bool found = false;
        for (size_t i = 0; i < n && !found; i++)
            found = strncmp(choices[i], s->value, CCAI_SLOT_MAX - 1) == 0;
        if (!found)
            abort();
        break;
    }
    case CCAI_SPEECH_FREE: abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    const char *nul = memchr(data, '\0', size);
    const char *text = nul ? buf + (nul - (const char *)data) + 1 : buf;
    const char *choices[CCAI_GRAMMAR_CHOICES_MAX + 8];
    size_t n = 0;
    if (nul) {
        for (char *p = buf, *line; p && n < CCAI_ARRAY_SIZE(choices);) {
            line = p;
            p = strchr(p, '\n');
            if (p)
                *p++ = '\0';
            choices[n++] = line;
        }
    }
    if (n) {
        Ccai_grammar g = {0};
        ccai_status st = Ccai_grammar_build(CCAI_SPEECH_CHOICE, choices, n, &g, NULL);
        if (st == CCAI_OK) {
            for (size_t i = 0; i < g.n_words; i++)
                for (const char *w = g.words[i]; *w; w++)
                    if (*w >= 'A' && *w <= 'Z')
                        abort();
            int depth = 0;
            for (const char *p = g.jsgf.data; *p; p++) {
                depth += (*p == '(' || *p == '[') - (*p == ')' || *p == ']');
                if (depth < 0)
                    abort();
            }
            if (depth)
                abort();
        } else if (st != CCAI_ERR_INVALID_ARG && st != CCAI_ERR_LIMIT && st != CCAI_ERR_NOMEM) {
            abort();
        }
        Ccai_grammar_clear(&g);
    }
    for (int k = CCAI_SPEECH_FREE; k <= CCAI_SPEECH_KIND_MAX; k++) {
        Ccai_slot a, b;
        ccai_status sa = Ccai_slot_interpret((Ccai_speech_kind)k, text, choices, n, &a);
        ccai_status sb = Ccai_slot_interpret((Ccai_speech_kind)k, text, choices, n, &b);
        if (sa != CCAI_OK && !(sa == CCAI_ERR_NOMEM && k == CCAI_SPEECH_CHOICE))
            abort();
        if (sa != sb || a.matched != b.matched || strcmp(a.value, b.value) != 0 ||
            a.command != b.command)
            abort();
        if (k == CCAI_SPEECH_FREE && a.matched)
            abort();
        check_value((Ccai_speech_kind)k, &a, choices, n);
    }
    free(buf);
    return 0;
}
