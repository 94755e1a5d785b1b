/* Reproducible random text for the tests that compare two writers of the
 * same JSON (header only): plain words, quotes, backslashes, every kind of
 * control character, and UTF-8 of two, three and four bytes (accents, CJK,
 * emoji), in the proportions a conversation and its attacks would have. */
#ifndef CCAI_TEST_RANDTEXT_H
#define CCAI_TEST_RANDTEXT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct randtext {
    uint64_t s;
} randtext;

static inline uint32_t rt_next(randtext *r)
{
    /* xorshift64* */
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return (uint32_t)((r->s * 2685821657736338717ull) >> 32);
}

static inline uint32_t rt_below(randtext *r, uint32_t n)
{
    return n ? rt_next(r) % n : 0;
}

/* Append one piece to out[*len..cap), never splitting a UTF-8 sequence. */
static inline void rt_piece(randtext *r, char *out, size_t cap, size_t *len)
{
    static const char *const pieces[] = {
        "Hello",
        " ",
        "the car",
        "policy 4 4 1 2",
        ".",
        ",",
        "\"",
        "\\",
        "\n",
        "\r\n",
        "\t",
        "\b",
        "\f",
        "\x01",
        "\x1f",
        "\x7f",
        "/",
        "</script>",
        "é",
        "Amélie",
        "naïve",
        "ß",
        "€",
        "日本語",
        "中文",
        "😀",
        "👍🏽",
        "\xf0\x9f\x87\xab",
        "{}",
        "[\"a\"]",
        "\\u0041",
        "\\n",
        "null",
        "action=talk",
        "'",
        "%s %d",
        "\xe2\x80\xa8",
        "\xef\xbb\xbf",
        "ﬁ",
        "\xf4\x8f\xbf\xbf",
        "Ω",
        "  ",
    };
    const char *p = pieces[rt_below(r, (uint32_t)(sizeof pieces / sizeof pieces[0]))];
    size_t n = strlen(p);
    if (*len + n < cap) {
        memcpy(out + *len, p, n);
        *len += n;
    }
    out[*len] = '\0';
}

/* A NUL-terminated string of up to max pieces in out (cap bytes). */
static inline const char *rt_text(randtext *r, char *out, size_t cap, size_t max)
{
    size_t len = 0, n = rt_below(r, (uint32_t)max + 1);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        rt_piece(r, out, cap, &len);
    return out;
}

#endif
