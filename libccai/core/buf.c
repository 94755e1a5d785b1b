/* A growable, NUL-terminated byte buffer. */
#include "core/common.h"

#include <stdio.h>
#include <string.h>

static CCAI_MUST_CHECK bool buf_reserve(Ccai_buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len - 1)
        return false;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *d = Ccai_realloc(b->data, cap);
    if (!d)
        return false;
    b->data = d;
    b->cap = cap;
    return true;
}

bool Ccai_buf_append(Ccai_buf *b, const void *data, size_t len)
{
    if (!buf_reserve(b, len))
        return false;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return true;
}

bool Ccai_buf_base64(Ccai_buf *b, const void *data, size_t len)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *in = data;
    if (len > (SIZE_MAX - 3) / 4 * 3 || !buf_reserve(b, 4 * ((len + 2) / 3)))
        return false;
    char *o = b->data + b->len;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t q = (uint32_t)in[i] << 16;
        if (i + 1 < len)
            q |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len)
            q |= in[i + 2];
        *o++ = abc[q >> 18 & 63];
        *o++ = abc[q >> 12 & 63];
        *o++ = i + 1 < len ? abc[q >> 6 & 63] : '=';
        *o++ = i + 2 < len ? abc[q & 63] : '=';
    }
    b->len = (size_t)(o - b->data);
    b->data[b->len] = '\0';
    return true;
}

static int base64_value(unsigned char c, bool url)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == (url ? '-' : '+'))
        return 62;
    if (c == (url ? '_' : '/'))
        return 63;
    return -1;
}

int Ccai_base64_decode(const char *s, size_t n, bool url, uint8_t *out, size_t cap, size_t *ret_len)
{
    *ret_len = 0;
    if (!url) {
        if (n % 4)
            return -1;
        /* the padding: at most two '=' at the end, making the length whole */
        for (int k = 0; k < 2 && n && s[n - 1] == '='; k++)
            n--;
    }
    if (n % 4 == 1)
        return -1;
    if (n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0) > cap)
        return -2;
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int v = base64_value((unsigned char)s[i], url);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0)
        return -1;
    *ret_len = o;
    return 0;
}

size_t Ccai_utf8_encode(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

bool Ccai_buf_puts(Ccai_buf *b, const char *s)
{
    return Ccai_buf_append(b, s, strlen(s));
}

/* Formatted into the room the buffer has, and only when it does not fit
 * a second time once grown (the measure first cost a vsnprintf() each). */
bool Ccai_buf_vprintf(Ccai_buf *b, const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    size_t room = b->data ? b->cap - b->len : 0;
    int n = vsnprintf(room ? b->data + b->len : NULL, room, fmt, ap);
    bool ok = n >= 0;
    if (ok && (size_t)n >= room) {
        ok = buf_reserve(b, (size_t)n);
        if (ok)
            vsnprintf(b->data + b->len, (size_t)n + 1, fmt, again);
    }
    if (ok)
        b->len += (size_t)n;
    else if (room)
        b->data[b->len] = '\0'; /* a cut text is not the buffer's */
    va_end(again);
    return ok;
}

size_t Ccai_fmt_u64(char *out, unsigned long long v)
{
    char tmp[24];
    size_t n = 0;
    do
        tmp[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
    return n;
}

size_t Ccai_fmt_i64(char *out, long long v)
{
    if (v >= 0)
        return Ccai_fmt_u64(out, (unsigned long long)v);
    out[0] = '-';
    return 1 + Ccai_fmt_u64(out + 1, 0ull - (unsigned long long)v);
}

bool Ccai_buf_put_u64(Ccai_buf *b, unsigned long long v)
{
    char d[24];
    return Ccai_buf_append(b, d, Ccai_fmt_u64(d, v));
}

bool Ccai_buf_put_i64(Ccai_buf *b, long long v)
{
    char d[24];
    return Ccai_buf_append(b, d, Ccai_fmt_i64(d, v));
}

size_t Ccai_strjoin(char *out, size_t cap, ...)
{
    va_list ap;
    va_start(ap, cap);
    size_t n = 0;
    for (const char *s = va_arg(ap, const char *); s; s = va_arg(ap, const char *)) {
        size_t l = strlen(s);
        if (n < cap) {
            size_t k = l < cap - n ? l : cap - n;
            memcpy(out + n, s, k);
        }
        n += l;
    }
    va_end(ap);
    if (cap)
        out[n < cap ? n : cap - 1] = '\0';
    return n;
}

bool Ccai_buf_printf(Ccai_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bool ok = Ccai_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return ok;
}

char *Ccai_buf_steal(Ccai_buf *b)
{
    if (!b->data && !buf_reserve(b, 0))
        return NULL;
    char *d = b->data;
    d[b->len] = '\0';
    b->data = NULL;
    b->len = b->cap = 0;
    return d;
}

void Ccai_buf_reset(Ccai_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void Ccai_buf_free(Ccai_buf *b)
{
    ccai_free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
