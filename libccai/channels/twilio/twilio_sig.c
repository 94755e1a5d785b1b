/* X-Twilio-Signature computation and validation (HMAC-SHA1, Base64). */
#include "channels/twilio/twilio_sig.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define SIG_B64_LEN 28 /* Base64 of a 20-byte SHA-1 MAC */

typedef struct pair {
    const char *name;
    const char *value;
} pair;

static int pair_cmp(const void *a, const void *b)
{
    const pair *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

/* url[0..url_len) then the sorted name/value concatenation. */
static CCAI_MUST_CHECK bool signed_string(Ccai_buf *b, const char *url, size_t url_len,
                                          const Ccai_form *params)
{
    if (!Ccai_buf_append(b, url, url_len))
        return false;
    if (!params || !params->n)
        return true;
    pair *v = Ccai_calloc(params->n, sizeof *v);
    if (!v)
        return false;
    for (size_t i = 0; i < params->n; i++)
        v[i] = (pair){params->names[i], params->values[i]};
    qsort(v, params->n, sizeof *v, pair_cmp);
    bool ok = true;
    for (size_t i = 0; ok && i < params->n; i++) {
        if (i && pair_cmp(&v[i - 1], &v[i]) == 0)
            continue; /* distinct values only, as Twilio's validators do */
        ok = Ccai_buf_puts(b, v[i].name) && Ccai_buf_puts(b, v[i].value);
    }
    ccai_free(v);
    return ok;
}

/* HMAC-SHA1 (RFC 2104) with the key's inner and outer states hashed once. */
struct Ccai_twilio_signer {
    char *token;
    EVP_MD_CTX *inner, *outer; /* SHA-1 after (key ^ ipad), (key ^ opad) */
    EVP_MD_CTX *work;
};

void Ccai_twilio_signer_free(Ccai_twilio_signer *s)
{
    if (!s)
        return;
    EVP_MD_CTX_free(s->inner);
    EVP_MD_CTX_free(s->outer);
    EVP_MD_CTX_free(s->work);
    if (s->token)
        OPENSSL_cleanse(s->token, strlen(s->token));
    ccai_free(s->token);
    ccai_free(s);
}

Ccai_twilio_signer *Ccai_twilio_signer_new(const char *auth_token)
{
    Ccai_twilio_signer *s = auth_token ? Ccai_calloc(1, sizeof *s) : NULL;
    if (!s)
        return NULL;
    unsigned char key[64] = {0}, pad[64];
    size_t len = strlen(auth_token);
    unsigned int md_len = 0;
    bool ok = (s->token = Ccai_strdup(auth_token)) && (s->inner = EVP_MD_CTX_new()) &&
              (s->outer = EVP_MD_CTX_new()) && (s->work = EVP_MD_CTX_new());
    if (ok && len > sizeof key) /* a longer key is hashed first */
        ok = EVP_Digest(auth_token, len, key, &md_len, EVP_sha1(), NULL) == 1;
    else if (ok)
        memcpy(key, auth_token, len);
    for (int round = 0; ok && round < 2; round++) {
        for (size_t i = 0; i < sizeof pad; i++)
            pad[i] = (unsigned char)(key[i] ^ (round ? 0x5c : 0x36));
        EVP_MD_CTX *c = round ? s->outer : s->inner;
        ok = EVP_DigestInit_ex(c, EVP_sha1(), NULL) == 1 &&
             EVP_DigestUpdate(c, pad, sizeof pad) == 1;
    }
    OPENSSL_cleanse(key, sizeof key);
    OPENSSL_cleanse(pad, sizeof pad);
    if (!ok) {
        Ccai_twilio_signer_free(s);
        return NULL;
    }
    return s;
}

bool Ccai_twilio_signer_is(const Ccai_twilio_signer *s, const char *auth_token)
{
    return s && auth_token && strcmp(s->token, auth_token) == 0;
}

/* Base64(HMAC-SHA1(key, data)) into out[SIG_B64_LEN + 1]. */
static CCAI_MUST_CHECK bool hmac_b64(Ccai_twilio_signer *s, const char *data, size_t len, char *out)
{
    unsigned char ih[EVP_MAX_MD_SIZE], md[EVP_MAX_MD_SIZE];
    unsigned int ih_len = 0, md_len = 0;
    if (EVP_MD_CTX_copy_ex(s->work, s->inner) != 1 || EVP_DigestUpdate(s->work, data, len) != 1 ||
        EVP_DigestFinal_ex(s->work, ih, &ih_len) != 1 ||
        EVP_MD_CTX_copy_ex(s->work, s->outer) != 1 || EVP_DigestUpdate(s->work, ih, ih_len) != 1 ||
        EVP_DigestFinal_ex(s->work, md, &md_len) != 1 || md_len != 20)
        return false;
    return EVP_EncodeBlock((unsigned char *)out, md, (int)md_len) == SIG_B64_LEN;
}

/* Sign head[0..head_len) + mid + tail, then the parameters. */
static CCAI_MUST_CHECK bool sign(Ccai_twilio_signer *s, const char *head, size_t head_len,
                                 const char *mid, const char *tail, const Ccai_form *params,
                                 char *out)
{
    Ccai_buf b = {0};
    bool ok = Ccai_buf_append(&b, head, head_len) && Ccai_buf_puts(&b, mid) &&
              signed_string(&b, tail, strlen(tail), params) && hmac_b64(s, b.data, b.len, out);
    Ccai_buf_free(&b);
    return ok;
}

char *Ccai_twilio_signature(const char *auth_token, const char *url, const Ccai_form *params)
{
    char out[SIG_B64_LEN + 1];
    Ccai_twilio_signer *s = auth_token && url ? Ccai_twilio_signer_new(auth_token) : NULL;
    bool ok = s && sign(s, url, strlen(url), "", "", params, out);
    Ccai_twilio_signer_free(s);
    return ok ? Ccai_strdup(out) : NULL;
}

/* Where the port of url sits: [colon, auth_end) is ":port" (colon ==
 * auth_end when there is none). false when url has no "scheme://". */
static CCAI_MUST_CHECK bool find_port(const char *url, size_t *ret_colon, size_t *ret_auth_end,
                                      bool *ret_https)
{
    const char *sep = strstr(url, "://");
    if (!sep || sep == url)
        return false;
    size_t host = (size_t)(sep - url) + 3;
    size_t end = host + strcspn(url + host, "/?#");
    for (size_t i = host; i < end; i++) {
        if (url[i] == '@')
            host = i + 1; /* skip user:password@ */
    }
    size_t i = host;
    if (url[i] == '[') {
        while (i < end && url[i] != ']')
            i++;
    }
    while (i < end && url[i] != ':')
        i++;
    *ret_colon = i;
    *ret_auth_end = end;
    *ret_https = sep - url == 5;
    for (size_t k = 0; *ret_https && k < 5; k++)
        *ret_https = Ccai_to_lower((unsigned char)url[k]) == "https"[k];
    return true;
}

/* The bodySHA256 query value: pointer and length, or NULL. */
static const char *body_hash_param(const char *url, size_t *ret_len)
{
    static const char key[] = "bodySHA256=";
    const char *q = strchr(url, '?');
    if (!q)
        return NULL;
    q++;
    size_t qlen = strcspn(q, "#");
    for (size_t i = 0; i < qlen;) {
        size_t seg = strcspn(q + i, "&#");
        if (seg > qlen - i)
            seg = qlen - i;
        if (seg >= sizeof key - 1 && memcmp(q + i, key, sizeof key - 1) == 0) {
            *ret_len = seg - (sizeof key - 1);
            return q + i + sizeof key - 1;
        }
        i += seg + 1;
    }
    return NULL;
}

static CCAI_MUST_CHECK bool body_hash_ok(const char *hash, size_t hash_len, const char *body,
                                         size_t body_len)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (!body && body_len)
        return false;
    if (!EVP_Digest(body ? body : "", body_len, md, &md_len, EVP_sha256(), NULL) || md_len != 32 ||
        hash_len != 64)
        return false;
    for (unsigned i = 0; i < md_len; i++) {
        if (Ccai_to_lower((unsigned char)hash[2 * i]) != hex[md[i] >> 4] ||
            Ccai_to_lower((unsigned char)hash[2 * i + 1]) != hex[md[i] & 15])
            return false;
    }
    return true;
}

static CCAI_MUST_CHECK bool same_sig(const char *computed, const char *header)
{
    return strlen(header) == SIG_B64_LEN && CRYPTO_memcmp(computed, header, SIG_B64_LEN) == 0;
}

bool Ccai_twilio_signature_valid(const char *auth_token, const char *url, const Ccai_form *params,
                                 const char *body, size_t body_len, const char *signature_header)
{
    if (!auth_token || !*auth_token || !url || !signature_header)
        return false;
    Ccai_twilio_signer *s = Ccai_twilio_signer_new(auth_token);
    bool ok = s && Ccai_twilio_signer_valid(s, url, params, body, body_len, signature_header);
    Ccai_twilio_signer_free(s);
    return ok;
}

bool Ccai_twilio_signer_valid(Ccai_twilio_signer *s, const char *url, const Ccai_form *params,
                              const char *body, size_t body_len, const char *signature_header)
{
    if (!s || !*s->token || !url || !signature_header)
        return false;
    size_t hash_len = 0;
    const char *hash = body_hash_param(url, &hash_len);
    if (hash) {
        if (!body_hash_ok(hash, hash_len, body, body_len))
            return false;
        params = NULL;
    }
    char sig[SIG_B64_LEN + 1];
    size_t colon, auth_end;
    bool https;
    if (!find_port(url, &colon, &auth_end, &https))
        return sign(s, url, strlen(url), "", "", params, sig) && same_sig(sig, signature_header);
    /* The URL as given, then, when that is not what was signed, the other
     * form: without its port when it has one, else with the scheme's
     * default port. Each comparison is constant-time; whether the second
     * form was tried says only that the first did not match, which the
     * answer says too (one HMAC a request instead of two). */
    if (sign(s, url, strlen(url), "", "", params, sig) && same_sig(sig, signature_header))
        return true;
    bool ok2 = colon < auth_end
                   ? sign(s, url, colon, "", url + auth_end, params, sig)
                   : sign(s, url, auth_end, https ? ":443" : ":80", url + auth_end, params, sig);
    return ok2 && same_sig(sig, signature_header);
}
