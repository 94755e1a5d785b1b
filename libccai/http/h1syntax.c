/* HTTP/1.1's syntax rules that need no connection (see h1syntax.h). */
#include "http/h1syntax.h"

#include <http_parser.h>
#include <string.h>

const char *Ccai_h1_reason(int status)
{
    const char *r = http_status_str((enum http_status)status);
    return r && r[0] != '<' ? r : "Status";
}

/* A header the host may not set (framing is ours) or cannot set safely. */
bool Ccai_h1_header_ok(const char *name, const char *value)
{
    if (!name || !value || !*name)
        return false;
    static const char *const ours[] = {"content-length", "transfer-encoding", "connection",
                                       "content-type",   "cache-control",     "date"};
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(ours); i++) {
        if (Ccai_strcasecmp(name, ours[i]) == 0)
            return false;
    }
    for (const char *p = name; *p; p++) {
        if (*p <= ' ' || *p == ':' || (unsigned char)*p >= 0x7f)
            return false;
    }
    return strpbrk(value, "\r\n") == NULL;
}

int Ccai_h1_hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch = Ccai_to_lower(ch);
    return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

bool Ccai_h1_token_is(const char *s, size_t n, const char *word)
{
    size_t wl = strlen(word);
    if (n != wl)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (Ccai_to_lower((unsigned char)s[i]) != word[i])
            return false;
    }
    return true;
}

/* Every coding of every Transfer-Encoding line: true when the only one is
 * "chunked" (http-parser found it final; any other we cannot undo). */
bool Ccai_h1_transfer_encoding_ok(const char *v, size_t *n_codings)
{
    while (*v) {
        while (*v == ' ' || *v == '\t' || *v == ',')
            v++;
        const char *start = v;
        while (*v && *v != ',')
            v++;
        const char *end = v;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        if (end == start)
            continue;
        if (!Ccai_h1_token_is(start, (size_t)(end - start), "chunked"))
            return false;
        (*n_codings)++;
    }
    return true;
}

bool Ccai_h1_method_supported(unsigned m)
{
    switch (m) {
    case HTTP_GET:
    case HTTP_HEAD:
    case HTTP_POST:
    case HTTP_PUT:
    case HTTP_DELETE:
    case HTTP_PATCH:
    case HTTP_OPTIONS: return true;
    default: return false;
    }
}

static CCAI_MUST_CHECK bool is_tchar(int ch)
{
    return Ccai_is_alpha(ch) || Ccai_is_digit(ch) || (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* Is the start of a request a method token, followed by a space? Then an
 * unknown one is 501, anything else 400. */
bool Ccai_h1_looks_like_method(const char *d, size_t n)
{
    size_t i = 0, start = 0;
    while (i < n && i - start <= 32 && is_tchar((unsigned char)d[i]))
        i++;
    return i > start && i - start <= 32 && i < n && d[i] == ' ';
}

/* Hold the start of a request until its method is whole, so that an
 * unknown one is told apart from garbage (see Ccai_h1_looks_like_method()). */
bool Ccai_h1_method_whole(const char *d, size_t n)
{
    size_t i = 0, start = 0;
    while (i < n && i - start <= 32 && is_tchar((unsigned char)d[i]))
        i++;
    return i < n || i - start > 32;
}
