/* Logging through the host's sink; libccai never prints. */
#include "core/common.h"

#include <stdio.h>

void Ccai_log(const Ccai_logger *lg, ccai_log_level level, const char *fmt, ...)
{
    if (!lg || !lg->fn || level > lg->min_level)
        return;
    char stackbuf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(stackbuf, sizeof stackbuf, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof stackbuf) {
        lg->fn(level, stackbuf, lg->ud);
        return;
    }
    va_start(ap, fmt);
    char *msg = Ccai_vasprintf(fmt, ap);
    va_end(ap);
    lg->fn(level, msg ? msg : stackbuf, lg->ud);
    ccai_free(msg);
}

CCAI_EXPORT const char *ccai_log_level_str(ccai_log_level level)
{
    switch (level) {
    case CCAI_LOG_ERROR: return "error";
    case CCAI_LOG_WARN: return "warn";
    case CCAI_LOG_INFO: return "info";
    case CCAI_LOG_DEBUG: return "debug";
    }
    return "unknown";
}

/* Length of the valid UTF-8 sequence at s[0..n), 0 when it is not one
 * (overlong forms, surrogates and code points above U+10FFFF are not). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t need;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf)
        need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
        need = 2;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 3;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else
        return 0;
    if (n < need + 1 || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i <= need; i++) {
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    }
    return need + 1;
}

bool Ccai_buf_append_loggable(Ccai_buf *b, const char *s, size_t len, size_t max)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = len < max ? len : max;
    size_t i = 0;
    while (i < n) {
        size_t run = i;
        while (run < n && p[run] >= 0x20 && p[run] < 0x7f)
            run++;
        if (run > i && !Ccai_buf_append(b, p + i, run - i))
            return false;
        i = run;
        if (i == n)
            break;
        size_t u = p[i] >= 0x80 ? utf8_len(p + i, n - i) : 0;
        if (u) {
            if (!Ccai_buf_append(b, p + i, u))
                return false;
            i += u;
        } else {
            if (!Ccai_buf_printf(b, "\\x%02x", p[i]))
                return false;
            i++;
        }
    }
    return len > max ? Ccai_buf_puts(b, "...") : Ccai_buf_append(b, "", 0);
}
