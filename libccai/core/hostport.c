/* Host names and origins (see the header). */
#include "core/hostport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

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

/* Allow-lists ------------------------------------------------------------- */

/* "10.0.0.0/8", "192.168.1.7", "fd00::/8". */
static bool cidr_parse(const char *s, size_t len, Ccai_cidr *ret)
{
    char t[64];
    if (len == 0 || len >= sizeof t)
        return false;
    memcpy(t, s, len);
    t[len] = '\0';
    char *slash = strchr(t, '/');
    long bits = -1;
    if (slash) {
        char *end = NULL;
        *slash = '\0';
        errno = 0;
        bits = strtol(slash + 1, &end, 10);
        if (!slash[1] || *end || errno || bits < 0)
            return false;
    }
    if (inet_pton(AF_INET, t, ret->addr) == 1)
        ret->family = AF_INET;
    else if (inet_pton(AF_INET6, t, ret->addr) == 1)
        ret->family = AF_INET6;
    else
        return false;
    long max = ret->family == AF_INET ? 32 : 128;
    if (bits > max)
        return false;
    ret->bits = (unsigned)(bits < 0 ? max : bits);
    return true;
}

bool Ccai_allow_parse(Ccai_allow *a, const char *list, char why[160])
{
    for (const char *p = list; p && *p;) {
        p += strspn(p, " ,\t");
        size_t n = strcspn(p, " ,\t");
        if (!n)
            break;
        if (a->n == CCAI_ALLOW_MAX || !cidr_parse(p, n, &a->v[a->n])) {
            snprintf(
                why, 160, "\"%.*s\" is not an address or a CIDR (\"10.0.0.0/8\", \"fd00::/8\")%s",
                (int)(n > 64 ? 64 : n), p, a->n == CCAI_ALLOW_MAX ? ": at most 64 of them" : "");
            return false;
        }
        a->n++;
        p += n;
    }
    return true;
}

bool Ccai_allow_peer(const void *sockaddr, int *family, uint8_t addr[16], char *text, size_t cap)
{
    const struct sockaddr *sa = sockaddr;
    *family = sa->sa_family;
    if (*family == AF_INET6) {
        memcpy(addr, &((const struct sockaddr_in6 *)sockaddr)->sin6_addr, 16);
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(addr, mapped, 12) == 0) { /* an IPv4 peer on a dual-stack socket */
            *family = AF_INET;
            memmove(addr, addr + 12, 4);
        }
    } else if (*family == AF_INET) {
        memcpy(addr, &((const struct sockaddr_in *)sockaddr)->sin_addr, 4);
    } else {
        snprintf(text, cap, "(family %d)", *family);
        return false;
    }
    if (!inet_ntop(*family, addr, text, (socklen_t)cap))
        snprintf(text, cap, "(unprintable)");
    return true;
}

static bool cidr_match(const Ccai_cidr *c, int family, const uint8_t *a)
{
    if (c->family != family)
        return false;
    unsigned full = c->bits / 8, rest = c->bits % 8;
    if (memcmp(c->addr, a, full) != 0)
        return false;
    if (!rest)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (c->addr[full] & mask) == (a[full] & mask);
}

bool Ccai_allow_match(const Ccai_allow *a, int family, const uint8_t addr[16])
{
    for (size_t i = 0; i < a->n; i++) {
        if (cidr_match(&a->v[i], family, addr))
            return true;
    }
    return false;
}
