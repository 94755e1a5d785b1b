/* Host names in Host headers, Origin headers, server.listen and
 * server.public_url (core/hostport.c): sans-I/O, bounded, no DNS. */
#ifndef CCAI_CORE_HOSTPORT_H
#define CCAI_CORE_HOSTPORT_H

#include "core/common.h"

/* Longest host name kept (DNS names are at most 253 bytes). */
#define CCAI_HOST_MAX 256

/* The host of s[0..len), "HOST", "HOST:PORT", "[IPv6]" or "[IPv6]:PORT" (a
 * Host header, server.listen), into out: lowercase, without the brackets
 * and without one trailing dot. false when malformed: empty, a port that is
 * not 0..65535, unbalanced brackets, an IPv6 address without brackets,
 * spaces, control bytes, '/', '@', two trailing dots, longer than
 * CCAI_HOST_MAX. */
CCAI_MUST_CHECK bool Ccai_hostport_host(const char *s, size_t len, char out[CCAI_HOST_MAX + 1]);

/* host (as from Ccai_hostport_host) names this machine: "localhost", an
 * IPv4 address in 127.0.0.0/8, "::1" or an IPv4-mapped 127.x address. */
CCAI_MUST_CHECK bool Ccai_host_is_loopback(const char *host);

/* The origin "scheme://host[:port]" of an http or https URL (server.public_url,
 * an Origin header), lowercase, into out; false for other schemes, a
 * malformed host (Ccai_hostport_host), or longer than outlen - 1. */
CCAI_MUST_CHECK bool Ccai_url_origin(const char *url, char *out, size_t outlen);

/* Allow-lists of peers (sip.allow, audiosocket.allow) -------------------- */

#define CCAI_ALLOW_MAX 64

typedef struct Ccai_cidr {
    int family; /* AF_INET or AF_INET6 */
    uint8_t addr[16];
    unsigned bits;
} Ccai_cidr;

typedef struct Ccai_allow {
    Ccai_cidr v[CCAI_ALLOW_MAX];
    size_t n;
} Ccai_allow;

/* Append the addresses and CIDRs of list ("10.0.0.0/8, 192.168.1.7 fd00::/8",
 * separated by commas, spaces or tabs) to a. false when an entry is neither
 * or there are more than CCAI_ALLOW_MAX: why says which, as a sentence to
 * follow "KEY: ". A NULL or empty list appends nothing. */
CCAI_MUST_CHECK bool Ccai_allow_parse(Ccai_allow *a, const char *list, char why[160]);

/* The address of an AF_INET or AF_INET6 sockaddr as (family, bytes), an
 * IPv4-mapped IPv6 address as the IPv4 one (a dual-stack socket's IPv4
 * peer), and its text into text[cap]. false for other families (text says
 * which). */
CCAI_MUST_CHECK bool Ccai_allow_peer(const void *sockaddr, int *family, uint8_t addr[16],
                                     char *text, size_t cap);

/* Whether (family, addr) is in one of a's networks. */
CCAI_MUST_CHECK bool Ccai_allow_match(const Ccai_allow *a, int family, const uint8_t addr[16]);

#endif
