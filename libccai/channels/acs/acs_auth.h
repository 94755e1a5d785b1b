/* Authentication of ACS Call Automation callbacks by their bearer JWT
 * (channels/acs/acs_auth.c): ACS signs every callback with an RS256 token whose
 * keys it publishes as a JWKS, found through its OpenID configuration
 * ("jwks_uri"). This module fetches and caches that key set on the
 * context's asynchronous HTTP client and verifies tokens with
 * channels/jwt.h.
 *
 * Key set cache:
 *   - fetched on first use, kept ttl_ms (default 24 h), then fetched again;
 *   - one fetch in flight at a time: checks arriving meanwhile wait for it;
 *   - a token naming an unknown kid triggers one refetch (key rotation),
 *     but fetches are never started more often than once per
 *     CCAI_ACS_AUTH_REFETCH_MS (5 min), so forged kids cannot make us hammer
 *     the key endpoint: within that window an unknown kid is rejected at once;
 *   - serve-stale: when a fetch fails, an expired key set (if any) keeps
 *     being used; with no key set at all, a failed fetch is not retried for
 *     CCAI_ACS_AUTH_RETRY_MS (checks fail with CCAI_ERR_HTTP meanwhile).
 *
 * Verdicts (synchronous or through the callback): CCAI_OK (valid token);
 * CCAI_ERR_VALIDATION (no or malformed Authorization header, not "Bearer",
 * bad signature, expired, wrong iss/aud); CCAI_ERR_NOT_FOUND (kid unknown
 * even after a refresh, or refresh rate-limited); CCAI_ERR_PARSE and
 * CCAI_ERR_UNSUPPORTED (malformed token, alg not RS256); CCAI_ERR_LIMIT
 * (token too long) -- the route answers 401 to all of these. CCAI_ERR_HTTP
 * (no key set could be obtained, or the kid is unknown and the refresh
 * failed) and CCAI_ERR_NOMEM mean "cannot decide now": the route answers
 * 503 so that ACS retries the callback.
 *
 * Context: every function runs on the context's thread. Ccai_acs_auth_free()
 * must come before ccai_ctx_free(). */
#ifndef CCAI_CHANNELS_ACS_ACS_AUTH_H
#define CCAI_CHANNELS_ACS_ACS_AUTH_H

#include "core/common.h"

#include <jansson.h>

#define CCAI_ACS_AUTH_OPENID_URL                                             \
    "https://acscallautomation.communication.azure.com/calling/.well-known/" \
    "acsopenidconfiguration"
#define CCAI_ACS_AUTH_ISSUER     "https://acscallautomation.communication.azure.com"
#define CCAI_ACS_AUTH_TTL_MS     (24u * 3600u * 1000u)
#define CCAI_ACS_AUTH_SKEW_MS    (5u * 60u * 1000u)
#define CCAI_ACS_AUTH_REFETCH_MS (5u * 60u * 1000u) /* at most one fetch per this, with keys */
#define CCAI_ACS_AUTH_RETRY_MS   (10u * 1000u)      /* retry after a failure, without keys */

/* Returned by Ccai_acs_auth_check() when the verdict needs I/O and will come
 * through the callback. It is CCAI_ERR_STATE, which the check never returns
 * for any other reason; being an error code, a caller that forgets to handle
 * it fails closed. */
#define CCAI_ACS_AUTH_PENDING CCAI_ERR_STATE

typedef struct Ccai_acs_auth Ccai_acs_auth;
typedef struct Ccai_acs_auth_op Ccai_acs_auth_op;

typedef struct Ccai_acs_auth_opts {
    const char *openid_config_url; /* NULL = CCAI_ACS_AUTH_OPENID_URL; http(s) only */
    const char *issuer;            /* NULL = CCAI_ACS_AUTH_ISSUER */
    const char *audience;          /* required: the ACS resource id */
    uint64_t ttl_ms;               /* key set lifetime; 0 = CCAI_ACS_AUTH_TTL_MS */
    uint64_t skew_ms;              /* exp / nbf allowance; 0 = CCAI_ACS_AUTH_SKEW_MS */
    uint32_t timeout_ms;           /* per HTTP request; 0 = 10000 */
} Ccai_acs_auth_opts;

/* The verdict of a pending check: exactly once unless cancelled, from the
 * context's loop, never from inside Ccai_acs_auth_check(). claims (the
 * verified payload, CCAI_OK only) and errmsg (a one-line reason, NULL on
 * CCAI_OK) are borrowed for the duration of the call. The callback may start
 * checks, cancel any check, or free the authenticator. */
typedef void (*Ccai_acs_auth_done_fn)(ccai_status st, const json_t *claims, const char *errmsg,
                                      void *ud);

/* Make an authenticator. opts are copied.
 * Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG (NULL ctx/opts/ret, no audience,
 * empty issuer, a URL that is not http(s)://host...); CCAI_ERR_NOMEM.
 * Ownership: *ret freed with Ccai_acs_auth_free(); untouched on failure. */
CCAI_MUST_CHECK ccai_status Ccai_acs_auth_new(ccai_ctx *ctx, const Ccai_acs_auth_opts *opts,
                                              Ccai_acs_auth **ret);

/* Same with the defaults and communication_services.resource_id as audience.
 * Statuses: as above, CCAI_ERR_CONFIG when resource_id is not set (reason in
 * ccai_ctx_errmsg()). */
CCAI_MUST_CHECK ccai_status Ccai_acs_auth_from_config(ccai_ctx *ctx, const ccai_config *cfg,
                                                      Ccai_acs_auth **ret);

/* Cancel every pending check (no callbacks), stop the fetch, free. NULL
 * accepted; legal from inside a check's callback. */
void Ccai_acs_auth_free(Ccai_acs_auth *auth);

/* Check an Authorization header value ("Bearer <token>", scheme
 * case-insensitive; NULL = header absent).
 *
 * Two outcomes, told apart by the return value only:
 *   - CCAI_ACS_AUTH_PENDING: the key set must be fetched first. *ret_op is
 *     the check's handle (valid until its callback returns or it is
 *     cancelled) and cb fires exactly once later unless cancelled.
 *     *ret_claims and *ret_err are left NULL.
 *   - anything else is the verdict, decided now (header malformed, key set
 *     cached and fresh, or refresh rate-limited): cb never fires, *ret_op is
 *     NULL, *ret_claims receives the payload on CCAI_OK (a new reference,
 *     json_decref()), *ret_err a reason on failure (ccai_free(); NULL on
 *     NOMEM). CCAI_ERR_INVALID_ARG for NULL auth, cb or ret_op.
 * ret_claims and ret_err may be NULL. */
CCAI_MUST_CHECK ccai_status Ccai_acs_auth_check(Ccai_acs_auth *auth, const char *authorization,
                                                Ccai_acs_auth_done_fn cb, void *ud,
                                                Ccai_acs_auth_op **ret_op, json_t **ret_claims,
                                                char **ret_err);

/* Stop a pending check: no callback fires afterwards. NULL accepted; legal
 * inside any callback, including the check's own (then a no-op). */
void Ccai_acs_auth_cancel(Ccai_acs_auth_op *op);

/* HTTP requests (OpenID configuration + JWKS) started so far: for tests and
 * metrics. */
unsigned Ccai_acs_auth_fetches(const Ccai_acs_auth *auth);

#endif
