/* ACS HMAC-SHA256 request signing and verification (see the header). */
#include "channels/acs/acs_sig.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdio.h>
#include <string.h>

#define KEY_BYTES_MAX (CCAI_ACS_KEY_MAX / 4 * 3)

void Ccai_acs_format_date(int64_t wall_ms, char out[32])
{
    static const char *const wdays[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    int64_t secs = Ccai_floor_div(wall_ms, 1000);
    int64_t days = Ccai_floor_div(secs, 86400);
    int64_t rem = secs - days * 86400;
    int64_t y;
    int m, d;
    Ccai_civil_from_days(days, &y, &m, &d);
    int64_t wd = days % 7; /* 1970-01-01 was a Thursday */
    if (wd < 0)
        wd += 7;
    snprintf(out, 32, "%s, %02d %s %04lld %02d:%02d:%02d GMT", wdays[wd], d, months[m - 1],
             (long long)y, (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60));
}

bool Ccai_acs_content_hash(const void *body, size_t len, char out[48])
{
    unsigned char md[32];
    unsigned int md_len = 0;
    if (!body && len)
        return false;
    if (!EVP_Digest(body ? body : "", len, md, &md_len, EVP_sha256(), NULL) || md_len != 32)
        return false;
    EVP_EncodeBlock((unsigned char *)out, md, 32);
    return true;
}

static CCAI_MUST_CHECK bool is_b64_char(unsigned char c)
{
    return Ccai_is_alpha(c) || Ccai_is_digit(c) || c == '+' || c == '/';
}

/* Strict Base64 (padded, no white space) into out; the decoded length, or
 * -1 when the text is not Base64 or too long. */
static int b64_decode_key(const char *s, unsigned char out[KEY_BYTES_MAX])
{
    size_t n = strlen(s);
    if (n == 0 || n % 4 != 0 || n > CCAI_ACS_KEY_MAX)
        return -1;
    size_t pad = 0;
    if (s[n - 1] == '=')
        pad = s[n - 2] == '=' ? 2 : 1;
    for (size_t i = 0; i < n - pad; i++) {
        if (!is_b64_char((unsigned char)s[i]))
            return -1;
    }
    int k = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
    if (k < 0 || (size_t)k < pad)
        return -1;
    return k - (int)pad;
}

static CCAI_MUST_CHECK bool printable(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    }
    return true;
}

static CCAI_MUST_CHECK bool valid_method(const char *m)
{
    size_t n = 0;
    for (; m[n]; n++) {
        if (m[n] < 'A' || m[n] > 'Z')
            return false;
    }
    return n > 0 && n <= 16;
}

/* Base64 signature of the request into sig (44 characters + NUL). */
static CCAI_MUST_CHECK ccai_status compute_signature(const char *access_key, const char *method,
                                                     const char *path_and_query, const char *host,
                                                     const char *date, const char *content_hash,
                                                     char sig[48])
{
    if (!access_key || !method || !path_and_query || !host || !date || !*host || !*date ||
        !*path_and_query || !valid_method(method) || !printable(path_and_query) ||
        !printable(host) || !printable(date))
        return CCAI_ERR_INVALID_ARG;
    unsigned char key[KEY_BYTES_MAX];
    int key_len = b64_decode_key(access_key, key);
    if (key_len <= 0)
        return CCAI_ERR_INVALID_ARG;
    ccai_status st = CCAI_OK;
    char *msg = Ccai_asprintf("%s\n%s\n%s;%s;%s", method, path_and_query, date, host, content_hash);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (!msg) {
        st = CCAI_ERR_NOMEM;
    } else if (!HMAC(EVP_sha256(), key, key_len, (const unsigned char *)msg, strlen(msg), mac,
                     &mac_len) ||
               mac_len != 32) {
        st = CCAI_ERR_INTERNAL;
    } else {
        EVP_EncodeBlock((unsigned char *)sig, mac, 32);
    }
    OPENSSL_cleanse(key, sizeof key);
    ccai_free(msg);
    return st;
}

ccai_status Ccai_acs_sign(const char *access_key, const char *method, const char *path_and_query,
                          const char *host, const char *date, const void *body, size_t body_len,
                          Ccai_acs_signed *out)
{
    if (!out || (!body && body_len) || !date || strlen(date) >= sizeof out->date)
        return CCAI_ERR_INVALID_ARG;
    char hash[48], sig[48];
    if (!Ccai_acs_content_hash(body, body_len, hash))
        return CCAI_ERR_INTERNAL;
    ccai_status st = compute_signature(access_key, method, path_and_query, host, date, hash, sig);
    if (st != CCAI_OK)
        return st;
    memcpy(out->date, date, strlen(date) + 1);
    memcpy(out->content_hash, hash, sizeof hash);
    snprintf(out->authorization, sizeof out->authorization, "%s%s", CCAI_ACS_AUTH_PREFIX, sig);
    return CCAI_OK;
}

/* Constant-time equality of two NUL-terminated strings of a known length. */
static CCAI_MUST_CHECK bool ct_equal(const char *a, const char *b, size_t n)
{
    return strlen(a) == n && strlen(b) == n && CRYPTO_memcmp(a, b, n) == 0;
}

bool Ccai_acs_verify(const char *access_key, const char *method, const char *path_and_query,
                     const char *host, const char *date, const char *content_hash, const void *body,
                     size_t body_len, const char *authorization)
{
    static const size_t prefix_len = sizeof CCAI_ACS_AUTH_PREFIX - 1;
    if (!content_hash || !authorization || (!body && body_len) ||
        strncmp(authorization, CCAI_ACS_AUTH_PREFIX, prefix_len) != 0)
        return false;
    char hash[48], sig[48];
    if (!Ccai_acs_content_hash(body, body_len, hash) || !ct_equal(content_hash, hash, 44))
        return false;
    /* The signature covers the hash the client sent, which equals ours. */
    if (compute_signature(access_key, method, path_and_query, host, date, hash, sig) != CCAI_OK)
        return false;
    return ct_equal(authorization + prefix_len, sig, 44);
}
