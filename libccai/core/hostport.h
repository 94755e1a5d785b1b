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

#endif
