/* libFuzzer: text and SSML-like markup for the offline voices
 * (speech/tts_text.c). The first byte picks the call's speed. Properties
 * checked: it answers OK or LIMIT (never another status), every piece is
 * non-empty, trimmed, at most CCAI_SYNTH_PIECE_MAX bytes, valid UTF-8
 * without control bytes, with a rate within 0.5..2, without a comment's
 * opening unless the input escaped one ("&lt;!--" is text, said as written),
 * and the parse is deterministic;
 * the rate parser never returns a value <= 0. */
#include "speech/tts_text.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_utf8(const unsigned char *p)
{
    while (*p) {
        if (*p < 0x20 || *p == 0x7F)
            abort();
        size_t n = *p < 0x80             ? 1
                   : (*p & 0xE0) == 0xC0 ? 2
                   : (*p & 0xF0) == 0xE0 ? 3
                   : (*p & 0xF8) == 0xF0 ? 4
                                         : 0;
        if (!n)
            abort();
        for (size_t i = 1; i < n; i++)
            if ((p[i] & 0xC0) != 0x80)
                abort();
        p += n;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    double base = 0.5 + (data[0] % 16) / 10.0;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    double r;
    if (Ccai_synth_rate_parse(text, len < 32 ? len : 32, &r) && !(r > 0))
        abort();
    Ccai_synth_text a = {0}, b = {0};
    ccai_status sa = Ccai_synth_text_parse(text, len, base, &a);
    ccai_status sb = Ccai_synth_text_parse(text, len, base, &b);
    if (sa != sb || (sa != CCAI_OK && sa != CCAI_ERR_LIMIT && sa != CCAI_ERR_NOMEM))
        abort();
    if (sa == CCAI_OK) {
        if (a.n != b.n)
            abort();
        for (size_t i = 0; i < a.n; i++) {
            const char *t = a.v[i].text;
            size_t tl = strlen(t);
            if (!tl || tl > CCAI_SYNTH_PIECE_MAX || t[0] == ' ' || t[tl - 1] == ' ' ||
                strstr(t, "  ") || strcmp(t, b.v[i].text) != 0 || a.v[i].rate != b.v[i].rate ||
                !(a.v[i].rate >= CCAI_SYNTH_RATE_MIN) || !(a.v[i].rate <= CCAI_SYNTH_RATE_MAX) ||
                (strstr(t, "<!--") && !memchr(text, '&', len)))
                abort();
            check_utf8((const unsigned char *)t);
        }
    }
    Ccai_synth_text_clear(&a);
    Ccai_synth_text_clear(&b);
    return 0;
}
