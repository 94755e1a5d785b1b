/* Host names and origins (see the header). */
#include "core/hostport.h"

#include <arpa/inet.h>
#include <string.h>

static CCAI_MUST_CHECK bool port_ok(const char *p, size_t n)
{
    if (n == 0 || n > 5)
        return false;
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!Ccai_is_digit((unsigned char)p[i]))
            return false;
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    return v <= 65535;
}

bool Ccai_hostport_host(const char *s, size_t len, char out[CCAI_HOST_MAX + 1])
{
    const char *h = s;
    size_t hl;
    if (len && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (!close)
            return false;
        h = s + 1;
        hl = (size_t)(close - h);
        size_t rest = len - (size_t)(close - s) - 1;
        if (rest && (close[1] != ':' || !port_ok(close + 2, rest - 1)))
            return false;
        if (!hl || !memchr(h, ':', hl))
            return false; /* brackets hold an IPv6 address */
    } else {
        const char *colon = memchr(s, ':', len);
        hl = colon ? (size_t)(colon - s) : len;
        if (colon && (memchr(colon + 1, ':', len - hl - 1) || !port_ok(colon + 1, len - hl - 1)))
            return false;
    }
    if (hl && h[hl - 1] == '.')
        hl--; /* the root of the DNS: "localhost." is "localhost" */
    if (!hl || hl > CCAI_HOST_MAX || h[hl - 1] == '.')
        return false;
    for (size_t i = 0; i < hl; i++) {
        unsigned char c = (unsigned char)h[i];
        if (c <= ' ' || c >= 0x7f || c == '/' || c == '@' || c == '[' || c == ']')
            return false;
        out[i] = (char)Ccai_to_lower(c);
    }
    out[hl] = '\0';
    return true;
}

bool Ccai_host_is_loopback(const char *host)
{
    if (strcmp(host, "localhost") == 0)
        return true;
    unsigned char a[16];
    if (inet_pton(AF_INET, host, a) == 1)
        return a[0] == 127;
    if (inet_pton(AF_INET6, host, a) != 1)
        return false;
    static const unsigned char one[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(a, one, 16) == 0 || (memcmp(a, mapped, 12) == 0 && a[12] == 127);
}

bool Ccai_url_origin(const char *url, char *out, size_t outlen)
{
    size_t skip;
    if (strncmp(url, "http://", 7) == 0 || strncmp(url, "HTTP://", 7) == 0)
        skip = 7;
    else if (strncmp(url, "https://", 8) == 0 || strncmp(url, "HTTPS://", 8) == 0)
        skip = 8;
    else
        return false;
    size_t alen = strcspn(url + skip, "/?#");
    char host[CCAI_HOST_MAX + 1];
    if (!Ccai_hostport_host(url + skip, alen, host) || skip + alen >= outlen)
        return false;
    for (size_t i = 0; i < skip + alen; i++)
        out[i] = (char)Ccai_to_lower((unsigned char)url[i]);
    out[skip + alen] = '\0';
    return true;
}
