/* Who may ask (see the header). */
#include "http/auth.h"

#include "config/config.h"
#include "core/hostport.h"
#include "http/router.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

static CCAI_MUST_CHECK bool loopback(const char *addr)
{
    return addr && Ccai_host_is_loopback(addr);
}

/* Compare tokens in constant time (for equal lengths; the length leaks, the
 * content does not). */
bool Ccai_http_secret_equal(const char *a, const char *b)
{
    size_t n = strlen(a);
    return n == strlen(b) && CRYPTO_memcmp(a, b, n) == 0;
}

static CCAI_MUST_CHECK bool token_mode(const ccai_config *cfg)
{
    const char *token = Ccai_config_str(cfg, "server.api_token");
    return token && *token;
}

/* A reverse proxy says who its client was: the peer address is the
 * proxy's, not the client's. */
static CCAI_MUST_CHECK bool forwarded(const ccai_http_exchange *x)
{
    return Ccai_exchange_header(x, "forwarded") || Ccai_exchange_header(x, "x-forwarded-for") ||
           Ccai_exchange_header(x, "x-forwarded-host") || Ccai_exchange_header(x, "x-real-ip");
}

/* The Host names this machine (or there is none): the request did not come
 * through the public name, whatever proxy relayed it. */
static CCAI_MUST_CHECK bool local_host(const ccai_http_exchange *x)
{
    const char *value = Ccai_exchange_header(x, "host");
    char host[CCAI_HOST_MAX + 1];
    return !value ||
           (Ccai_hostport_host(value, strlen(value), host) && Ccai_host_is_loopback(host));
}

/* Without a token: a client on this machine, talking to it directly. */
static CCAI_MUST_CHECK bool local_client(const ccai_http_exchange *x)
{
    return loopback(x->remote_addr) && !forwarded(x) && local_host(x);
}

static CCAI_MUST_CHECK bool check_token(ccai_http_exchange *x, const char *given)
{
    if (!token_mode(Ccai_router_config(x->router)))
        return local_client(x);
    return given && Ccai_http_secret_equal(
                        given, Ccai_config_str(Ccai_router_config(x->router), "server.api_token"));
}

/* The host of an http(s) URL (server.public_url, an Origin). */
static CCAI_MUST_CHECK bool url_host(const char *url, char out[CCAI_HOST_MAX + 1])
{
    char origin[512];
    if (!url || !Ccai_url_origin(url, origin, sizeof origin))
        return false;
    const char *authority = strstr(origin, "://") + 3;
    return Ccai_hostport_host(authority, strlen(authority), out);
}

/* A Host this server answers to without a token: this machine's names or
 * the public URL's host. */
static CCAI_MUST_CHECK bool host_allowed(const ccai_config *cfg, const char *value)
{
    char host[CCAI_HOST_MAX + 1], pub[CCAI_HOST_MAX + 1];
    if (!Ccai_hostport_host(value, strlen(value), host))
        return false;
    return Ccai_host_is_loopback(host) ||
           (url_host(Ccai_config_str(cfg, "server.public_url"), pub) && strcmp(host, pub) == 0);
}

/* A browser's Origin: the server's own (the one the Host names, or the
 * public URL's). Anything else, "null" included, is another site. */
static CCAI_MUST_CHECK bool origin_allowed(const ccai_http_exchange *x, const char *origin,
                                           const char *host)
{
    char own[600], pub[512];
    const char *url = Ccai_config_str(Ccai_router_config(x->router), "server.public_url");
    if (url && Ccai_url_origin(url, pub, sizeof pub) && Ccai_strcasecmp(origin, pub) == 0)
        return true;
    if (!host) {
        /* No Host (HTTP/1.0): an origin on this machine. */
        char h[CCAI_HOST_MAX + 1];
        return Ccai_url_origin(origin, own, sizeof own) && Ccai_strcasecmp(origin, own) == 0 &&
               url_host(origin, h) && Ccai_host_is_loopback(h);
    }
    static const char *const schemes[] = {"http://", "https://"};
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(schemes); i++) {
        snprintf(own, sizeof own, "%s%s", schemes[i], host);
        if (Ccai_strcasecmp(origin, own) == 0)
            return true;
    }
    return false;
}

/* Without a token, the server trusts this machine: only requests meant
 * for it. A foreign Host is a DNS rebinding attempt or a misrouted
 * request (421); a foreign Origin a page of another site in a browser of
 * this machine (403). Answers and returns false when refused. */
bool Ccai_http_local_request(ccai_http_exchange *x)
{
    if (token_mode(Ccai_router_config(x->router)))
        return true;
    const char *host = Ccai_exchange_header(x, "host");
    if (host && !host_allowed(Ccai_router_config(x->router), host)) {
        char *detail = Ccai_asprintf("Host \"%.200s\" is not this server: without server.api_token "
                                     "it answers to localhost, 127.0.0.1, [::1] and the host of "
                                     "server.public_url",
                                     host);
        Ccai_exchange_error(x, 421, "misdirected request", detail);
        ccai_free(detail);
        return false;
    }
    const char *origin = Ccai_exchange_header(x, "origin");
    if (origin && !origin_allowed(x, origin, host)) {
        char *detail = Ccai_asprintf("Origin \"%.200s\" is another site: without "
                                     "server.api_token only this server's own pages may call it",
                                     origin);
        Ccai_exchange_error(x, 403, "cross-origin request refused", detail);
        ccai_free(detail);
        return false;
    }
    return true;
}

static const char *bearer(const ccai_http_exchange *x)
{
    const char *h = Ccai_exchange_header(x, "authorization");
    if (!h || Ccai_strcasecmp(h, "") == 0)
        return NULL;
    if (strncmp(h, "Bearer ", 7) != 0 && strncmp(h, "bearer ", 7) != 0)
        return NULL;
    return h + 7;
}

bool Ccai_http_authorized(ccai_http_exchange *x)
{
    if (check_token(x, bearer(x)))
        return true;
    if (!token_mode(Ccai_router_config(x->router))) {
        Ccai_exchange_error(
            x, 403, "forbidden",
            loopback(x->remote_addr)
                ? "no server.api_token is set: requests through a proxy or the public "
                  "name are not trusted; set a token"
                : "no server.api_token is set: only clients on this machine are "
                  "served; set a token");
        return false;
    }
    /* A 401 must say how to authenticate (RFC 9110): without memory for
     * the header, no 401. */
    if (Ccai_exchange_add_header(x, "WWW-Authenticate", "Bearer realm=\"ccai\""))
        Ccai_exchange_error(x, 401, "authentication required",
                            "send Authorization: Bearer <server.api_token>");
    else
        Ccai_exchange_fail(x, CCAI_ERR_NOMEM, NULL, NULL);
    return false;
}

bool Ccai_http_authorized_page(ccai_http_exchange *x)
{
    if (check_token(x, bearer(x)))
        return true;
    char *t = Ccai_exchange_query(x, "token");
    bool ok = t && check_token(x, t);
    ccai_free(t);
    return ok;
}

bool Ccai_http_report_key(const char *secret, char out[33])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    bool ok = m && EVP_DigestInit_ex(m, EVP_sha256(), NULL) == 1 &&
              EVP_DigestUpdate(m, "ccai-report:", 12) == 1 &&
              EVP_DigestUpdate(m, secret, strlen(secret)) == 1 &&
              EVP_DigestFinal_ex(m, md, &n) == 1 && n >= 16;
    EVP_MD_CTX_free(m);
    if (!ok)
        return false;
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    return true;
}
