/* libFuzzer: Host / listen values and URL origins (core/hostport.c).
 * Properties checked: a host is lowercase, non-empty, without brackets or
 * a port, and parses back to itself (in brackets when it holds a colon); an
 * origin is a prefix of its URL (case aside) and its own origin; an
 * allow-list keeps at most CCAI_ALLOW_MAX networks of sane prefix lengths,
 * each of which matches its own address. */
#include "core/hostport.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char host[CCAI_HOST_MAX + 1], again[CCAI_HOST_MAX + 1];
    if (Ccai_hostport_host((const char *)data, size, host)) {
        size_t n = strlen(host);
        if (!n || n > CCAI_HOST_MAX || strpbrk(host, "[]/@ "))
            abort();
        for (size_t i = 0; i < n; i++)
            if (host[i] >= 'A' && host[i] <= 'Z')
                abort();
        char wrapped[CCAI_HOST_MAX + 3];
        bool v6 = strchr(host, ':') != NULL;
        size_t wl = v6 ? (size_t)snprintf(wrapped, sizeof wrapped, "[%s]", host)
                       : (size_t)snprintf(wrapped, sizeof wrapped, "%s", host);
        if (!Ccai_hostport_host(wrapped, wl, again) || strcmp(again, host) != 0)
            abort();
        (void)Ccai_host_is_loopback(host);
    }
    char *url = Ccai_strndup((const char *)data, size);
    if (!url)
        return 0;
    char origin[512], twice[512];
    if (Ccai_url_origin(url, origin, sizeof origin)) {
        size_t n = strlen(origin);
        if (n > strlen(url))
            abort();
        for (size_t i = 0; i < n; i++)
            if (Ccai_to_lower((unsigned char)url[i]) != origin[i])
                abort();
        if (!Ccai_url_origin(origin, twice, sizeof twice) || strcmp(origin, twice) != 0)
            abort();
    }
    Ccai_allow allow = {0};
    char why[160];
    bool parsed = Ccai_allow_parse(&allow, url, why);
    if (allow.n > CCAI_ALLOW_MAX || (!parsed && !why[0]))
        abort();
    for (size_t i = 0; i < allow.n; i++) {
        const Ccai_cidr *c = &allow.v[i];
        if (c->bits > (c->family == AF_INET ? 32u : 128u) ||
            !Ccai_allow_match(&allow, c->family, c->addr))
            abort();
    }
    ccai_free(url);
    return 0;
}
