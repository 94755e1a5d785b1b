/* RS256 JSON Web Tokens, as ACS signs its Call Automation callbacks
 * (http/jwt.c, protocols.md 3.7): a key set parsed from a JWKS document
 * and a verifier. No I/O: the caller fetches the JWKS (from the OpenID
 * configuration's jwks_uri) and passes the clock in.
 *
 * Only RS256 is accepted; "none", HS256 and every other alg are refused
 * whatever the key set holds, so a public key can never be used as an HMAC
 * secret. The header must name a kid present in the key set. */
#ifndef CCAI_HTTP_JWT_H
#define CCAI_HTTP_JWT_H

#include "core/common.h"

#include <jansson.h>

#define CCAI_JWT_TOKEN_MAX    (16u * 1024u)  /* bytes of compact token */
#define CCAI_JWKS_BODY_MAX    (256u * 1024u) /* bytes of JWKS document */
#define CCAI_JWKS_KEYS_MAX    64u            /* usable keys kept */
#define CCAI_JWT_RSA_BITS_MIN 2048u          /* shorter moduli are skipped */

/* Parsed RSA public keys with their kid, and when they were fetched. */
typedef struct Ccai_jwks Ccai_jwks;

/* Parse a JWKS document {"keys":[{"kty":"RSA","kid":..,"n":..,"e":..},..]}.
 * Keys that are not RSA, lack a kid, say "use" other than "sig", "alg" other
 * than "RS256", or have a modulus under CCAI_JWT_RSA_BITS_MIN bits are
 * skipped; a key with a kid but undecodable n/e is malformed.
 * fetched_ms and ttl_ms (monotonic milliseconds) feed Ccai_jwks_stale().
 *
 * Statuses: CCAI_OK; CCAI_ERR_PARSE (not JSON, no "keys" array, bad
 * base64url); CCAI_ERR_NOT_FOUND (no usable key); CCAI_ERR_LIMIT (len >
 * CCAI_JWKS_BODY_MAX); CCAI_ERR_NOMEM; CCAI_ERR_INVALID_ARG.
 * Ownership: *ret is the caller's, released with Ccai_jwks_free(); untouched
 * on failure. ret_err may be NULL; on failures other than NOMEM it receives a
 * one-line reason, freed with ccai_free().
 * Context: pure function, any thread; a key set is immutable afterwards and
 * may be shared between threads for verification. */
CCAI_MUST_CHECK ccai_status Ccai_jwks_from_json(const char *json, size_t len, uint64_t fetched_ms,
                                                uint64_t ttl_ms, Ccai_jwks **ret, char **ret_err);

/* NULL is accepted. */
void Ccai_jwks_free(Ccai_jwks *jwks);

/* Number of usable keys (0 for NULL). */
size_t Ccai_jwks_count(const Ccai_jwks *jwks);

/* true when jwks is NULL or now_ms >= fetched_ms + ttl_ms: fetch again. A
 * clock that went backwards (now_ms < fetched_ms) also counts as stale. */
CCAI_MUST_CHECK bool Ccai_jwks_stale(const Ccai_jwks *jwks, uint64_t now_ms);

/* What a token must satisfy. issuer and audience are required: checks cannot
 * be switched off by leaving them NULL. */
typedef struct Ccai_jwt_expect {
    const char *issuer;   /* "https://acscallautomation.communication.azure.com" */
    const char *audience; /* the ACS resource id; aud may be a string or array */
    int64_t now_ms;       /* wall clock, Unix epoch milliseconds */
    uint64_t skew_ms;     /* allowance for exp and nbf, e.g. 60000 */
} Ccai_jwt_expect;

/* Verify a compact JWS token[0..len): three base64url parts without padding;
 * header {"alg":"RS256","kid":K,...}; the RSASSA-PKCS1-v1_5 SHA-256 signature
 * over "header.payload" with key K; payload claims exp (required, now <
 * exp + skew), nbf (optional, nbf <= now + skew), iss == issuer, aud equal to
 * or containing audience.
 *
 * Statuses: CCAI_OK; CCAI_ERR_PARSE (not three base64url parts, header or
 * payload not a JSON object, kid missing); CCAI_ERR_UNSUPPORTED (alg not
 * RS256); CCAI_ERR_NOT_FOUND (kid not in the key set: the key set may need a
 * refresh); CCAI_ERR_VALIDATION (bad signature, expired, not yet valid, wrong
 * or missing iss/aud/exp); CCAI_ERR_LIMIT (len > CCAI_JWT_TOKEN_MAX);
 * CCAI_ERR_NOMEM; CCAI_ERR_INVALID_ARG (NULL token, keys, expect, issuer or
 * audience).
 * Ownership: ret_claims may be NULL; on CCAI_OK it receives the payload
 * object (a new reference, json_decref()). ret_err may be NULL; on failures
 * other than NOMEM it receives a one-line reason, freed with ccai_free().
 * Context: any thread. */
CCAI_MUST_CHECK ccai_status Ccai_jwt_verify(const char *token, size_t len, const Ccai_jwks *keys,
                                            const Ccai_jwt_expect *expect, json_t **ret_claims,
                                            char **ret_err);

/* Decode base64url (RFC 4648 section 5, no padding, no white space, unused
 * trailing bits zero) into a new buffer of *ret_len bytes plus a NUL.
 * NULL on malformed input (*ret_len = 0) or NOMEM (*ret_len = SIZE_MAX).
 * Ownership: freed with ccai_free(). */
unsigned char *Ccai_base64url_decode(const char *s, size_t len, size_t *ret_len);

#endif
