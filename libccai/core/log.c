/* Logging through the host's sink; libccai never prints.
 *
 * Phone numbers are personal data: above debug level they are masked in
 * every line, whoever wrote it (a provider's error message quotes the
 * number it refused). Texts the caller said or sent are logged at debug
 * level only, by the callers of Ccai_log(). Every line reaches the host
 * as one line of valid UTF-8 (control bytes and bytes that are not UTF-8
 * become \xHH), so a sink can quote it as JSON without looking at it. */
#include "core/common.h"

#include <stdio.h>
#include <string.h>

#define MASK_DIGITS_MIN 6  /* shorter runs are not phone numbers */
#define MASK_DIGITS_MAX 17 /* E.164 has at most 15, with some slack for formatting */

/* The length of the phone number at p ('+' or its URL encoding "%2B",
 * then digits, maybe grouped by single spaces, dots, dashes or
 * parentheses), 0 when there is none; *digits counts its digits, *prefix
 * the length of its '+'. */
static size_t phone_at(const char *p, size_t *digits, size_t *prefix)
{
    size_t i;
    if (p[0] == '+')
        i = 1;
    else if (p[0] == '%' && p[1] == '2' && (p[2] == 'B' || p[2] == 'b'))
        i = 3;
    else
        return 0;
    *prefix = i;
    size_t n = 0, end = 0;
    while (p[i]) {
        if (Ccai_is_digit((unsigned char)p[i])) {
            n++;
            end = ++i;
            continue;
        }
        /* One or two separators between digit groups: "+1 (415) 555-0199". */
        size_t j = i;
        while (j < i + 2 && p[j] && strchr(" .-()", p[j]))
            j++;
        if (j == i || !Ccai_is_digit((unsigned char)p[j]) || (!n && p[i] != '('))
            break;
        i = j;
    }
    *digits = n;
    return n >= MASK_DIGITS_MIN && n <= MASK_DIGITS_MAX ? end : 0;
}

/* Mask into out (room for strlen(text) + 1; out may be text: the output
 * never runs ahead of the input). A masked number keeps its '+', first two
 * and last two digits, the others become six stars (fewer for a short
 * number): "+33******78". */
static void mask_into(const char *text, char *out)
{
    size_t o = 0;
    for (size_t i = 0; text[i];) {
        size_t digits = 0, prefix = 0;
        size_t len = phone_at(text + i, &digits, &prefix);
        if (!len) {
            out[o++] = text[i++];
            continue;
        }
        /* Read the whole number before writing over it. */
        char masked[16];
        size_t m = 0, seen = 0;
        masked[m++] = '+';
        for (size_t k = prefix; k < len; k++) {
            char ch = text[i + k];
            if (!Ccai_is_digit((unsigned char)ch))
                continue;
            seen++;
            if (seen <= 2 || seen > digits - 2)
                masked[m++] = ch;
            else if (seen == 3)
                for (size_t s = 0; s < digits - 4 && s < 6; s++)
                    masked[m++] = '*';
        }
        memcpy(out + o, masked, m);
        o += m;
        i += len;
    }
    out[o] = '\0';
}

CCAI_EXPORT ccai_status ccai_log_mask(const char *text, char **ret_text)
{
    if (!text || !ret_text)
        return CCAI_ERR_INVALID_ARG;
    char *out = Ccai_malloc(strlen(text) + 1);
    if (!out)
        return CCAI_ERR_NOMEM;
    mask_into(text, out);
    *ret_text = out;
    return CCAI_OK;
}

/* Loggable text ------------------------------------------------------------ */

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

/* How many bytes at the start of s[0..n) are loggable as they are:
 * printable ASCII and valid UTF-8. */
static size_t loggable_prefix(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (s[i] >= 0x20 && s[i] < 0x7f) {
            i++;
            continue;
        }
        size_t u = s[i] >= 0x80 ? utf8_len(s + i, n - i) : 0;
        if (!u)
            break;
        i += u;
    }
    return i;
}

bool Ccai_buf_append_loggable(Ccai_buf *b, const char *s, size_t len, size_t max)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = len < max ? len : max;
    size_t i = 0;
    while (i < n) {
        size_t run = loggable_prefix(p + i, n - i);
        if (run && !Ccai_buf_append(b, p + i, run))
            return false;
        i += run;
        if (i < n && !Ccai_buf_printf(b, "\\x%02x", p[i++]))
            return false;
    }
    return len > max ? Ccai_buf_puts(b, "...") : Ccai_buf_append(b, "", 0);
}

/* Masked above debug level, then made loggable: the host gets one line of
 * valid UTF-8 whatever went into it (a caller's words, a provider's error
 * text, a cut multi-byte character). */
static void emit(const Ccai_logger *lg, ccai_log_level level, char *msg)
{
    if (level < CCAI_LOG_DEBUG)
        mask_into(msg, msg);
    size_t len = strlen(msg);
    if (loggable_prefix((const unsigned char *)msg, len) == len) {
        lg->fn(level, msg, lg->ud);
        return;
    }
    Ccai_buf b = {0};
    if (Ccai_buf_append_loggable(&b, msg, len, len)) {
        lg->fn(level, b.data, lg->ud);
    } else {
        /* Out of memory: in place, each byte that is not loggable is '?'. */
        for (size_t i = loggable_prefix((const unsigned char *)msg, len); i < len;) {
            msg[i++] = '?';
            i += loggable_prefix((const unsigned char *)msg + i, len - i);
        }
        lg->fn(level, msg, lg->ud);
    }
    Ccai_buf_free(&b);
}

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
        emit(lg, level, stackbuf);
        return;
    }
    va_start(ap, fmt);
    char *msg = Ccai_vasprintf(fmt, ap);
    va_end(ap);
    emit(lg, level, msg ? msg : stackbuf);
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
