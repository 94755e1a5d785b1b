/* Azure Communication Services HMAC-SHA256 request signing
 * (channels/acs/acs_sig.c), as the Azure SDKs do it (azure-sdk-for-python
 * _shared/policy.py, HMACCredentialsPolicy).
 *
 * For every request:
 *   x-ms-content-sha256 = Base64(SHA-256(raw body)), the empty body included;
 *   string to sign      = METHOD "\n" path-and-query "\n"
 *                         x-ms-date ";" host ";" content-hash;
 *   signature           = Base64(HMAC-SHA256(Base64-decode(access key),
 *                                            string to sign));
 *   Authorization       = "HMAC-SHA256 SignedHeaders=x-ms-date;host;"
 *                         "x-ms-content-sha256&Signature=" signature.
 * host is the request authority, with ":port" only when the URL carries a
 * non-default port; path-and-query is the request target exactly as sent.
 *
 * Everything here is pure computation: no I/O, no clock (dates are given),
 * so it is unit-tested with known answers and fuzzed. */
#ifndef CCAI_CHANNELS_ACS_ACS_SIG_H
#define CCAI_CHANNELS_ACS_ACS_SIG_H

#include "core/common.h"

/* x-ms-content-sha256 of an empty body. */
#define CCAI_ACS_EMPTY_BODY_HASH "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="

/* The signed-headers prefix of every Authorization value. */
#define CCAI_ACS_AUTH_PREFIX \
    "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature="

/* Longest access key accepted, in Base64 characters (real keys: 88). */
#define CCAI_ACS_KEY_MAX 1024

/* The header values of one signed request, NUL-terminated. */
typedef struct Ccai_acs_signed {
    char date[32];           /* x-ms-date, RFC 1123 ("Mon, 01 Jan 2024 00:00:00 GMT") */
    char content_hash[48];   /* x-ms-content-sha256, 44 Base64 characters */
    char authorization[128]; /* Authorization */
} Ccai_acs_signed;

/* RFC 1123 date of wall_ms (UTC, milliseconds since the epoch) into out.
 * Context: any thread. */
void Ccai_acs_format_date(int64_t wall_ms, char out[32]);

/* Base64(SHA-256(body[0..len))) into out (44 characters + NUL). body may
 * be NULL when len is 0. Returns false when OpenSSL fails. */
CCAI_MUST_CHECK bool Ccai_acs_content_hash(const void *body, size_t len, char out[48]);

/* Sign a request. access_key is the Base64 access key as the portal shows
 * it; date is the x-ms-date value to send (format it with
 * Ccai_acs_format_date()); host the authority; path_and_query the request
 * target ("/calling/callConnections/abc:play?api-version=2024-09-15").
 * Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG (a NULL or empty argument, a key
 * that is not Base64 or longer than CCAI_ACS_KEY_MAX, a date, host or
 * path with a control character, a method not of upper-case letters, body
 * NULL with len > 0); CCAI_ERR_NOMEM; CCAI_ERR_INTERNAL (OpenSSL failed).
 * Ownership: borrows everything; *out is written only on CCAI_OK.
 * Context: any thread. */
CCAI_MUST_CHECK ccai_status Ccai_acs_sign(const char *access_key, const char *method,
                                          const char *path_and_query, const char *host,
                                          const char *date, const void *body, size_t body_len,
                                          Ccai_acs_signed *out);

/* Whether a received request is signed with access_key: content_hash (the
 * x-ms-content-sha256 header) must be the hash of body, and authorization
 * (the Authorization header) must be CCAI_ACS_AUTH_PREFIX followed by the
 * signature of method, path_and_query, date (x-ms-date), host and that hash.
 * Comparisons are constant-time. Returns false, never an error, for anything
 * that does not verify, NULL arguments and allocation failures included
 * (fails closed). Does not judge the date's freshness.
 * Ownership: borrows everything. Context: any thread. */
CCAI_MUST_CHECK bool Ccai_acs_verify(const char *access_key, const char *method,
                                     const char *path_and_query, const char *host, const char *date,
                                     const char *content_hash, const void *body, size_t body_len,
                                     const char *authorization);

#endif
