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

static int b64_value(unsigned char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+')
        return 62;
    if (ch == '/')
        return 63;
    return -1;
}

ccai_status Ccai_base64_decode(const char *s, size_t n, uint8_t *out, size_t cap, size_t *ret_len)
{
    *ret_len = 0;
    if (n % 4)
        return CCAI_ERR_PARSE;
    size_t pad = n && s[n - 1] == '=' ? (s[n - 2] == '=' ? 2 : 1) : 0;
    size_t len = n / 4 * 3 - pad;
    if (len > cap)
        return CCAI_ERR_LIMIT;
    size_t w = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        for (size_t k = 0; k < 4; k++) {
            bool padding = i + k >= n - pad;
            v[k] = padding ? (s[i + k] == '=' ? 0 : -1) : b64_value((unsigned char)s[i + k]);
            if (v[k] < 0)
                return CCAI_ERR_PARSE;
        }
        uint32_t q =
            (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        uint8_t b[3] = {(uint8_t)(q >> 16), (uint8_t)(q >> 8), (uint8_t)q};
        for (size_t k = 0; k < 3 && w < len; k++)
            out[w++] = b[k];
    }
    *ret_len = len;
    return CCAI_OK;
}

bool Ccai_buf_puts(Ccai_buf *b, const char *s)
{
    return Ccai_buf_append(b, s, strlen(s));
}

bool Ccai_buf_vprintf(Ccai_buf *b, const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    bool ok = n >= 0 && buf_reserve(b, (size_t)n);
    if (ok) {
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, again);
        b->len += (size_t)n;
    }
    va_end(again);
    return ok;
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
