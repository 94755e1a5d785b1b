/* RS256 JWT verification against a JWKS, see jwt.h. */
#include "http/jwt.h"

#include "core/json.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <stdarg.h>

#include <string.h>

typedef struct jwk {
    char *kid;
    EVP_PKEY *pkey;
} jwk;

struct Ccai_jwks {
    size_t n;
    jwk *keys;
    uint64_t fetched_ms;
    uint64_t ttl_ms;
};

unsigned char *Ccai_base64url_decode(const char *s, size_t len, size_t *ret_len)
{
    *ret_len = 0;
    if (!s || len % 4 == 1)
        return NULL;
    size_t cap = len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);
    unsigned char *out = Ccai_malloc(cap + 1);
    if (!out) {
        *ret_len = SIZE_MAX;
        return NULL;
    }
    size_t n;
    if (Ccai_base64_decode(s, len, true, out, cap, &n) != 0) {
        ccai_free(out);
        return NULL;
    }
    out[n] = '\0';
    *ret_len = n;
    return out;
}

static void set_err(char **ret_err, const char *fmt, ...) CCAI_PRINTF(2, 3);

static void set_err(char **ret_err, const char *fmt, ...)
{
    if (ret_err && !*ret_err) {
        va_list ap;
        va_start(ap, fmt);
        *ret_err = Ccai_vasprintf(fmt, ap);
        va_end(ap);
    }
}

/* jwk.n / jwk.e into a public RSA EVP_PKEY. */
static CCAI_MUST_CHECK ccai_status rsa_from_ne(const unsigned char *n, size_t nlen,
                                               const unsigned char *e, size_t elen, EVP_PKEY **ret)
{
    ccai_status st = CCAI_ERR_PARSE;
    BIGNUM *bn_n = BN_bin2bn(n, (int)nlen, NULL);
    BIGNUM *bn_e = BN_bin2bn(e, (int)elen, NULL);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pkey = NULL;
    if (!bn_n || !bn_e || !bld) {
        st = CCAI_ERR_NOMEM;
        goto out;
    }
    if (BN_is_zero(bn_e) || !BN_is_odd(bn_n))
        goto out;
    if (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e)) {
        st = CCAI_ERR_NOMEM;
        goto out;
    }
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (!params || !ctx) {
        st = CCAI_ERR_NOMEM;
        goto out;
    }
    if (EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        goto out;
    *ret = pkey;
    st = CCAI_OK;
out:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn_n);
    BN_free(bn_e);
    return st;
}

static const char *obj_str(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* One JWKS entry: CCAI_OK with *ret NULL when the key is skipped. */
static CCAI_MUST_CHECK ccai_status read_key(const json_t *k, jwk *ret, char **ret_err)
{
    ret->kid = NULL;
    ret->pkey = NULL;
    if (!json_is_object(k))
        return CCAI_OK;
    const char *kty = obj_str(k, "kty"), *kid = obj_str(k, "kid");
    const char *use = obj_str(k, "use"), *alg = obj_str(k, "alg");
    if (!kty || strcmp(kty, "RSA") != 0 || !kid || (use && strcmp(use, "sig") != 0) ||
        (alg && strcmp(alg, "RS256") != 0))
        return CCAI_OK;
    const json_t *jn = json_object_get(k, "n"), *je = json_object_get(k, "e");
    if (!json_is_string(jn) || !json_is_string(je)) {
        set_err(ret_err, "key \"%s\": \"n\" and \"e\" must be strings", kid);
        return CCAI_ERR_PARSE;
    }
    size_t nlen, elen;
    unsigned char *n = Ccai_base64url_decode(json_string_value(jn), json_string_length(jn), &nlen);
    unsigned char *e = Ccai_base64url_decode(json_string_value(je), json_string_length(je), &elen);
    ccai_status st = CCAI_OK;
    if (!n || !e) {
        st = (nlen == SIZE_MAX || elen == SIZE_MAX) ? CCAI_ERR_NOMEM : CCAI_ERR_PARSE;
        if (st == CCAI_ERR_PARSE)
            set_err(ret_err, "key \"%s\": \"n\" or \"e\" is not base64url", kid);
        goto out;
    }
    if (nlen == 0 || elen == 0 || elen > 8) {
        st = CCAI_ERR_PARSE;
        set_err(ret_err, "key \"%s\": empty modulus or oversized exponent", kid);
        goto out;
    }
    /* Leading zero bytes do not count towards the size. */
    size_t skip = 0;
    while (skip < nlen && n[skip] == 0)
        skip++;
    if ((nlen - skip) * 8 < CCAI_JWT_RSA_BITS_MIN || nlen - skip > 2048)
        goto out;
    st = rsa_from_ne(n + skip, nlen - skip, e, elen, &ret->pkey);
    if (st == CCAI_ERR_PARSE)
        set_err(ret_err, "key \"%s\": not a valid RSA public key", kid);
    if (st != CCAI_OK)
        goto out;
    ret->kid = Ccai_strdup(kid);
    if (!ret->kid) {
        EVP_PKEY_free(ret->pkey);
        ret->pkey = NULL;
        st = CCAI_ERR_NOMEM;
    }
out:
    ccai_free(n);
    ccai_free(e);
    return st;
}

void Ccai_jwks_free(Ccai_jwks *jwks)
{
    if (!jwks)
        return;
    for (size_t i = 0; i < jwks->n; i++) {
        ccai_free(jwks->keys[i].kid);
        EVP_PKEY_free(jwks->keys[i].pkey);
    }
    ccai_free(jwks->keys);
    ccai_free(jwks);
}

ccai_status Ccai_jwks_from_json(const char *json, size_t len, uint64_t fetched_ms, uint64_t ttl_ms,
                                Ccai_jwks **ret, char **ret_err)
{
    if (!ret || (!json && len))
        return CCAI_ERR_INVALID_ARG;
    if (len > CCAI_JWKS_BODY_MAX) {
        set_err(ret_err, "JWKS document exceeds the size limit");
        return CCAI_ERR_LIMIT;
    }
    Ccai_json_err jerr = {0, 0, NULL};
    ccai_status st = CCAI_OK;
    json_t *root = Ccai_json_load(json ? json : "", len, &jerr, &st);
    if (!root) {
        if (st == CCAI_ERR_PARSE)
            set_err(ret_err, "JWKS is not JSON: %s", jerr.text);
        return st;
    }
    Ccai_jwks *ks = NULL;
    const json_t *keys = json_is_object(root) ? json_object_get(root, "keys") : NULL;
    if (!json_is_array(keys)) {
        st = CCAI_ERR_PARSE;
        set_err(ret_err, "JWKS has no \"keys\" array");
        goto out;
    }
    ks = Ccai_calloc(1, sizeof *ks);
    size_t total = json_array_size(keys);
    size_t cap = total < CCAI_JWKS_KEYS_MAX ? total : CCAI_JWKS_KEYS_MAX;
    if (!ks || (cap && !(ks->keys = Ccai_calloc(cap, sizeof *ks->keys)))) {
        st = CCAI_ERR_NOMEM;
        goto out;
    }
    ks->fetched_ms = fetched_ms;
    ks->ttl_ms = ttl_ms;
    for (size_t i = 0; i < total && ks->n < cap; i++) {
        jwk k;
        st = read_key(json_array_get(keys, i), &k, ret_err);
        if (st != CCAI_OK)
            goto out;
        if (k.pkey)
            ks->keys[ks->n++] = k;
    }
    if (ks->n == 0) {
        st = CCAI_ERR_NOT_FOUND;
        set_err(ret_err, "JWKS holds no usable RS256 key");
        goto out;
    }
    *ret = ks;
    ks = NULL;
out:
    Ccai_jwks_free(ks);
    json_decref(root);
    return st;
}

size_t Ccai_jwks_count(const Ccai_jwks *jwks)
{
    return jwks ? jwks->n : 0;
}

bool Ccai_jwks_stale(const Ccai_jwks *jwks, uint64_t now_ms)
{
    if (!jwks || now_ms < jwks->fetched_ms)
        return true;
    return now_ms - jwks->fetched_ms >= jwks->ttl_ms;
}

static EVP_PKEY *find_key(const Ccai_jwks *ks, const char *kid)
{
    for (size_t i = 0; i < ks->n; i++) {
        if (strcmp(ks->keys[i].kid, kid) == 0)
            return ks->keys[i].pkey;
    }
    return NULL;
}

/* Decode one base64url part holding a JSON object. */
static CCAI_MUST_CHECK ccai_status load_part(const char *s, size_t len, const char *what,
                                             json_t **ret, char **ret_err)
{
    size_t n;
    unsigned char *raw = Ccai_base64url_decode(s, len, &n);
    if (!raw) {
        if (n == SIZE_MAX)
            return CCAI_ERR_NOMEM;
        set_err(ret_err, "token %s is not base64url", what);
        return CCAI_ERR_PARSE;
    }
    Ccai_json_err jerr = {0, 0, NULL};
    ccai_status st = CCAI_OK;
    json_t *v = Ccai_json_load((const char *)raw, n, &jerr, &st);
    ccai_free(raw);
    if (!v) {
        if (st == CCAI_ERR_PARSE)
            set_err(ret_err, "token %s is not JSON", what);
        return st;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        set_err(ret_err, "token %s is not a JSON object", what);
        return CCAI_ERR_PARSE;
    }
    *ret = v;
    return CCAI_OK;
}

static CCAI_MUST_CHECK ccai_status verify_sig(EVP_PKEY *pkey, const char *signed_part,
                                              size_t signed_len, const unsigned char *sig,
                                              size_t sig_len)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md)
        return CCAI_ERR_NOMEM;
    int ok =
        EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pkey) == 1 &&
        EVP_DigestVerify(md, sig, sig_len, (const unsigned char *)signed_part, signed_len) == 1;
    EVP_MD_CTX_free(md);
    return ok ? CCAI_OK : CCAI_ERR_VALIDATION;
}

/* A NumericDate claim in milliseconds; false when absent or not a number. */
static CCAI_MUST_CHECK bool claim_time_ms(const json_t *claims, const char *key, int64_t *ret)
{
    const json_t *v = json_object_get(claims, key);
    if (!json_is_number(v))
        return false;
    double s = json_number_value(v);
    if (!(s > -9.2e15 && s < 9.2e15)) /* also rejects NaN */
        return false;
    *ret = (int64_t)(s * 1000.0);
    return true;
}

static CCAI_MUST_CHECK bool aud_matches(const json_t *aud, const char *expected)
{
    if (json_is_string(aud))
        return strcmp(json_string_value(aud), expected) == 0;
    if (!json_is_array(aud))
        return false;
    for (size_t i = 0; i < json_array_size(aud); i++) {
        const json_t *a = json_array_get(aud, i);
        if (json_is_string(a) && strcmp(json_string_value(a), expected) == 0)
            return true;
    }
    return false;
}

static CCAI_MUST_CHECK ccai_status check_claims(const json_t *claims, const Ccai_jwt_expect *x,
                                                char **ret_err)
{
    int64_t exp_ms, nbf_ms;
    int64_t skew = x->skew_ms > INT64_MAX / 2 ? INT64_MAX / 2 : (int64_t)x->skew_ms;
    if (!claim_time_ms(claims, "exp", &exp_ms)) {
        set_err(ret_err, "token has no numeric \"exp\" claim");
        return CCAI_ERR_VALIDATION;
    }
    if (x->now_ms - skew >= exp_ms) {
        set_err(ret_err, "token expired");
        return CCAI_ERR_VALIDATION;
    }
    if (json_object_get(claims, "nbf")) {
        if (!claim_time_ms(claims, "nbf", &nbf_ms)) {
            set_err(ret_err, "token \"nbf\" is not a number");
            return CCAI_ERR_VALIDATION;
        }
        if (nbf_ms > x->now_ms + skew) {
            set_err(ret_err, "token not valid yet (nbf in the future)");
            return CCAI_ERR_VALIDATION;
        }
    }
    const char *iss = obj_str(claims, "iss");
    if (!iss || strcmp(iss, x->issuer) != 0) {
        set_err(ret_err, "token issuer is not \"%s\"", x->issuer);
        return CCAI_ERR_VALIDATION;
    }
    if (!aud_matches(json_object_get(claims, "aud"), x->audience)) {
        set_err(ret_err, "token audience is not \"%s\"", x->audience);
        return CCAI_ERR_VALIDATION;
    }
    return CCAI_OK;
}

ccai_status Ccai_jwt_verify(const char *token, size_t len, const Ccai_jwks *keys,
                            const Ccai_jwt_expect *expect, json_t **ret_claims, char **ret_err)
{
    if (!token || !keys || !expect || !expect->issuer || !expect->audience)
        return CCAI_ERR_INVALID_ARG;
    if (len > CCAI_JWT_TOKEN_MAX) {
        set_err(ret_err, "token exceeds the size limit");
        return CCAI_ERR_LIMIT;
    }
    const char *dot1 = memchr(token, '.', len);
    const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
    if (!dot2 || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token))) {
        set_err(ret_err, "token is not three dot-separated parts");
        return CCAI_ERR_PARSE;
    }
    json_t *header = NULL, *claims = NULL;
    unsigned char *sig = NULL;
    ccai_status st = load_part(token, (size_t)(dot1 - token), "header", &header, ret_err);
    if (st != CCAI_OK)
        goto out;
    const char *alg = obj_str(header, "alg");
    if (!alg || strcmp(alg, "RS256") != 0) {
        st = CCAI_ERR_UNSUPPORTED;
        set_err(ret_err, "token alg \"%s\" is not RS256", alg ? alg : "(missing)");
        goto out;
    }
    const char *kid = obj_str(header, "kid");
    if (!kid) {
        st = CCAI_ERR_PARSE;
        set_err(ret_err, "token header has no \"kid\"");
        goto out;
    }
    EVP_PKEY *pkey = find_key(keys, kid);
    if (!pkey) {
        st = CCAI_ERR_NOT_FOUND;
        set_err(ret_err, "token kid \"%s\" is not in the key set", kid);
        goto out;
    }
    st = load_part(dot1 + 1, (size_t)(dot2 - dot1 - 1), "payload", &claims, ret_err);
    if (st != CCAI_OK)
        goto out;
    size_t sig_len;
    sig = Ccai_base64url_decode(dot2 + 1, len - (size_t)(dot2 + 1 - token), &sig_len);
    if (!sig) {
        st = sig_len == SIZE_MAX ? CCAI_ERR_NOMEM : CCAI_ERR_PARSE;
        if (st == CCAI_ERR_PARSE)
            set_err(ret_err, "token signature is not base64url");
        goto out;
    }
    st = verify_sig(pkey, token, (size_t)(dot2 - token), sig, sig_len);
    if (st == CCAI_ERR_VALIDATION)
        set_err(ret_err, "token signature does not verify with key \"%s\"", kid);
    if (st != CCAI_OK)
        goto out;
    st = check_claims(claims, expect, ret_err);
    if (st == CCAI_OK && ret_claims) {
        *ret_claims = claims;
        claims = NULL;
    }
out:
    ccai_free(sig);
    json_decref(header);
    json_decref(claims);
    return st;
}
