/* ACS callback authentication: JWKS fetch, cache, rotation, rate limit,
 * serve-stale, sharing, cancel and free. */
#include "channels/acs/acs_auth.h"

#include "http/jwt.h"
#include "io/io.h"
#include "support/httpd.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <ccai/adapters/poll.h>

#define ISS "https://acscallautomation.communication.azure.com"
#define AUD "/subscriptions/s/resourceGroups/g/providers/Microsoft.Communication/acs"

#define MIN_MS  (60u * 1000u)
#define HOUR_MS (60u * MIN_MS)

/* ---- Keys and tokens (as in test_acs_events.c) ---- */

static EVP_PKEY *key1, *key2;

static char *b64url(const unsigned char *in, size_t len)
{
    char *out = Ccai_malloc(4 * ((len + 2) / 3) + 1);
    assert_non_null(out);
    int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    assert_true(n >= 0);
    size_t o = 0;
    for (int i = 0; i < n; i++) {
        if (out[i] == '=')
            break;
        out[o++] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    }
    out[o] = '\0';
    return out;
}

static char *b64url_str(const char *s)
{
    return b64url((const unsigned char *)s, strlen(s));
}

static char *bn_b64url(EVP_PKEY *key, const char *param)
{
    BIGNUM *bn = NULL;
    assert_int_equal(EVP_PKEY_get_bn_param(key, param, &bn), 1);
    unsigned char buf[600];
    int n = BN_bn2bin(bn, buf);
    BN_free(bn);
    return b64url(buf, (size_t)n);
}

static char *jwk_for(EVP_PKEY *key, const char *kid)
{
    char *n = bn_b64url(key, OSSL_PKEY_PARAM_RSA_N);
    char *e = bn_b64url(key, OSSL_PKEY_PARAM_RSA_E);
    char *s = Ccai_asprintf("{\"kty\":\"RSA\",\"use\":\"sig\",\"kid\":\"%s\",\"n\":\"%s\","
                            "\"e\":\"%s\",\"alg\":\"RS256\"}",
                            kid, n, e);
    ccai_free(n);
    ccai_free(e);
    assert_non_null(s);
    return s;
}

static char *jwks_of(const char *jwk)
{
    char *s = Ccai_asprintf("{\"keys\":[%s]}", jwk);
    assert_non_null(s);
    return s;
}

/* "Bearer header.payload.signature" signed with key, claiming aud. */
static char *bearer(EVP_PKEY *key, const char *kid, const char *aud)
{
    long long now = (long long)(Ccai_wall_ms() / 1000);
    char *header = Ccai_asprintf("{\"alg\":\"RS256\",\"kid\":\"%s\",\"typ\":\"JWT\"}", kid);
    char *payload = Ccai_asprintf("{\"iss\":\"" ISS "\",\"aud\":\"%s\",\"exp\":%lld,"
                                  "\"nbf\":%lld,\"iat\":%lld}",
                                  aud, now + 3600, now - 10, now - 10);
    char *h = b64url_str(header), *p = b64url_str(payload);
    char *input = Ccai_asprintf("%s.%s", h, p);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char buf[512];
    size_t len = sizeof buf;
    assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key), 1);
    assert_int_equal(EVP_DigestSign(md, buf, &len, (unsigned char *)input, strlen(input)), 1);
    EVP_MD_CTX_free(md);
    char *sig = b64url(buf, len);
    char *tok = Ccai_asprintf("Bearer %s.%s", input, sig);
    assert_non_null(tok);
    ccai_free(header);
    ccai_free(payload);
    ccai_free(h);
    ccai_free(p);
    ccai_free(input);
    ccai_free(sig);
    return tok;
}

static char *good(const char *kid)
{
    return bearer(strcmp(kid, "k2") == 0 ? key2 : key1, kid, AUD);
}

/* ---- Key server ---- */

typedef struct srv {
    pthread_mutex_t lock;
    int port;
    char *jwks;           /* served at /keys */
    const char *jwks_uri; /* NULL = http://127.0.0.1:port/keys */
    int n_config, n_jwks;
} srv;

static void srv_handler(const test_request *req, int fd, void *ud)
{
    srv *s = ud;
    char *body = NULL;
    pthread_mutex_lock(&s->lock);
    if (strcmp(req->path, "/openid") == 0) {
        s->n_config++;
        body = s->jwks_uri
                   ? Ccai_asprintf("{\"jwks_uri\":\"%s\",\"issuer\":\"" ISS "\"}", s->jwks_uri)
                   : Ccai_asprintf("{\"jwks_uri\":\"http://127.0.0.1:%d/keys\","
                                   "\"issuer\":\"" ISS "\"}",
                                   s->port);
    } else if (strcmp(req->path, "/keys") == 0) {
        s->n_jwks++;
        body = Ccai_strdup(s->jwks);
    }
    pthread_mutex_unlock(&s->lock);
    if (!body) {
        test_httpd_printf(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
                              "Connection: close\r\n\r\n");
        return;
    }
    test_httpd_printf(fd,
                      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                      "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                      strlen(body), body);
    ccai_free(body);
}

static void srv_set_jwks(srv *s, char *jwks)
{
    pthread_mutex_lock(&s->lock);
    ccai_free(s->jwks);
    s->jwks = jwks;
    pthread_mutex_unlock(&s->lock);
}

static void srv_counts(srv *s, int *config, int *jwks)
{
    pthread_mutex_lock(&s->lock);
    *config = s->n_config;
    *jwks = s->n_jwks;
    pthread_mutex_unlock(&s->lock);
}

static void assert_counts(srv *s, int config, int jwks)
{
    int c, j;
    srv_counts(s, &c, &j);
    assert_int_equal(c, config);
    assert_int_equal(j, jwks);
}

/* ---- Environment ---- */

typedef struct env {
    ccai_config *cfg;
    ccai_poll *poll;
    ccai_ctx *ctx;
    test_httpd *httpd;
    srv s;
    uint64_t offset; /* added to the monotonic clock */
    char url[128];
    Ccai_acs_auth *auth;
} env;

static uint64_t env_now(void *ud)
{
    env *e = ud;
    return Ccai_monotonic_ms() + e->offset;
}

static void env_init(env *e)
{
    memset(e, 0, sizeof *e);
    pthread_mutex_init(&e->s.lock, NULL);
    char *jwk = jwk_for(key1, "k1");
    e->s.jwks = jwks_of(jwk);
    ccai_free(jwk);
    assert_int_equal(ccai_config_new(&e->cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "database.sqlite.path", ":memory:"), CCAI_OK);
    assert_int_equal(ccai_poll_new(e->cfg, &e->poll, &e->ctx, NULL), CCAI_OK);
    Ccai_ctx_set_clock(e->ctx, env_now, e);
    e->httpd = test_httpd_start(srv_handler, &e->s);
    assert_non_null(e->httpd);
    pthread_mutex_lock(&e->s.lock);
    e->s.port = test_httpd_port(e->httpd);
    pthread_mutex_unlock(&e->s.lock);
    snprintf(e->url, sizeof e->url, "http://127.0.0.1:%d/openid", e->s.port);
    Ccai_acs_auth_opts o = {.openid_config_url = e->url, .audience = AUD, .timeout_ms = 5000};
    assert_int_equal(Ccai_acs_auth_new(e->ctx, &o, &e->auth), CCAI_OK);
}

static void env_stop_server(env *e)
{
    if (e->httpd)
        test_httpd_stop(e->httpd);
    e->httpd = NULL;
}

static void env_free(env *e)
{
    Ccai_acs_auth_free(e->auth);
    ccai_poll_free(e->poll);
    ccai_config_free(e->cfg);
    env_stop_server(e);
    ccai_free(e->s.jwks);
    pthread_mutex_destroy(&e->s.lock);
}

typedef struct outcome {
    int done;
    ccai_status st;
    char err[512];
    char iss[128];
    /* Actions from inside the callback. */
    Ccai_acs_auth **free_auth;
    Ccai_acs_auth_op *cancel;
} outcome;

static void on_done(ccai_status st, const json_t *claims, const char *errmsg, void *ud)
{
    outcome *o = ud;
    o->done++;
    o->st = st;
    if (st == CCAI_OK) {
        assert_non_null(claims);
        assert_null(errmsg);
        snprintf(o->iss, sizeof o->iss, "%s", json_string_value(json_object_get(claims, "iss")));
    } else {
        assert_null(claims);
        assert_non_null(errmsg);
        snprintf(o->err, sizeof o->err, "%s", errmsg);
    }
    if (o->cancel)
        Ccai_acs_auth_cancel(o->cancel);
    if (o->free_auth) {
        Ccai_acs_auth_free(*o->free_auth);
        *o->free_auth = NULL;
    }
}

static void run_until(env *e, const int *flag, int want)
{
    uint64_t deadline = ccai_time_ms() + 10000;
    while (*flag < want && ccai_time_ms() < deadline)
        assert_int_equal(ccai_poll_run_once(e->poll, 50), 0);
    assert_int_equal(*flag, want);
}

static void run_for(env *e, int ms)
{
    uint64_t deadline = ccai_time_ms() + (uint64_t)ms;
    while (ccai_time_ms() < deadline)
        assert_int_equal(ccai_poll_run_once(e->poll, 10), 0);
}

/* A check that must go pending; returns the verdict from the callback. */
static ccai_status check_async(env *e, const char *hdr, outcome *o)
{
    Ccai_acs_auth_op *op = NULL;
    json_t *claims = NULL;
    char *err = NULL;
    assert_int_equal(Ccai_acs_auth_check(e->auth, hdr, on_done, o, &op, &claims, &err),
                     CCAI_ACS_AUTH_PENDING);
    assert_non_null(op);
    assert_null(claims);
    assert_null(err);
    run_until(e, &o->done, 1);
    return o->st;
}

/* A check decided at once (no callback); err receives the reason. */
static ccai_status check_sync(env *e, const char *hdr, char *errbuf, size_t errlen)
{
    Ccai_acs_auth_op *op = (Ccai_acs_auth_op *)0x1;
    json_t *claims = NULL;
    char *err = NULL;
    ccai_status st = Ccai_acs_auth_check(e->auth, hdr, on_done, NULL, &op, &claims, &err);
    assert_int_not_equal(st, CCAI_ACS_AUTH_PENDING);
    assert_null(op);
    if (st == CCAI_OK) {
        assert_non_null(claims);
        assert_string_equal(json_string_value(json_object_get(claims, "aud")), AUD);
        assert_null(err);
    } else {
        assert_null(claims);
        assert_non_null(err);
        if (errbuf)
            snprintf(errbuf, errlen, "%s", err);
    }
    json_decref(claims);
    ccai_free(err);
    return st;
}

/* Fetch and cache the key set with one valid check. */
static void prime(env *e)
{
    char *t = good("k1");
    outcome o = {0};
    assert_int_equal(check_async(e, t, &o), CCAI_OK);
    assert_string_equal(o.iss, ISS);
    ccai_free(t);
    assert_counts(&e->s, 1, 1);
}

/* ---- Tests ---- */

static void test_valid_and_cached(void **state)
{
    (void)state;
    env e;
    env_init(&e);
    prime(&e);
    assert_int_equal(Ccai_acs_auth_fetches(e.auth), 2);
    int served = test_httpd_count(e.httpd);
    /* Cached: decided at once, no request. */
    char *t = good("k1");
    for (int i = 0; i < 3; i++)
        assert_int_equal(check_sync(&e, t, NULL, 0), CCAI_OK);
    ccai_free(t);
    assert_int_equal(test_httpd_count(e.httpd), served);
    assert_counts(&e.s, 1, 1);
    assert_int_equal(Ccai_acs_auth_fetches(e.auth), 2);
    assert_int_equal(Ccai_http_in_flight(e.ctx), 0);
    env_free(&e);
}

static void test_rejects(void **state)
{
    (void)state;
    env e;
    env_init(&e);
    char err[512];
    /* Header errors are decided without any fetch. */
    const char *bad[] = {NULL,
                         "",
                         "Basic dXNlcjpwYXNz",
                         "Bearer",
                         "Bearer   ",
                         "Bearertok.a.b",
                         "Token x.y.z",
                         "Bearer a b.c.d",
                         "Bearer a\tb"};
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(bad); i++) {
        assert_int_equal(check_sync(&e, bad[i], err, sizeof err), CCAI_ERR_VALIDATION);
        assert_non_null(strstr(err, "Authorization"));
    }
    assert_int_equal(Ccai_acs_auth_fetches(e.auth), 0);
    assert_counts(&e.s, 0, 0);

    prime(&e);
    /* Scheme case-insensitive, surrounding white space tolerated. */
    char *t = good("k1");
    char *odd = Ccai_asprintf("  bEaReR \t%s  ", t + strlen("Bearer "));
    assert_int_equal(check_sync(&e, odd, NULL, 0), CCAI_OK);
    ccai_free(odd);
    ccai_free(t);

    /* Forged: signed with another key under kid k1. */
    t = bearer(key2, "k1", AUD);
    assert_int_equal(check_sync(&e, t, err, sizeof err), CCAI_ERR_VALIDATION);
    assert_non_null(strstr(err, "signature"));
    ccai_free(t);
    /* One flipped signature character. */
    t = good("k1");
    size_t n = strlen(t);
    t[n - 2] = t[n - 2] == 'A' ? 'B' : 'A';
    assert_int_equal(check_sync(&e, t, NULL, 0), CCAI_ERR_VALIDATION);
    ccai_free(t);
    /* Wrong audience. */
    t = bearer(key1, "k1", "/subscriptions/other");
    assert_int_equal(check_sync(&e, t, err, sizeof err), CCAI_ERR_VALIDATION);
    ccai_free(t);
    /* Garbage token. */
    assert_int_equal(check_sync(&e, "Bearer abc", NULL, 0), CCAI_ERR_PARSE);
    /* Too long. */
    char *lng = Ccai_malloc(CCAI_JWT_TOKEN_MAX + 16);
    memcpy(lng, "Bearer ", 7);
    memset(lng + 7, 'a', CCAI_JWT_TOKEN_MAX + 1);
    lng[7 + CCAI_JWT_TOKEN_MAX + 1] = '\0';
    assert_int_equal(check_sync(&e, lng, NULL, 0), CCAI_ERR_LIMIT);
    ccai_free(lng);
    /* Unknown kid right after a fetch: rejected at once, no refetch. */
    t = good("k2");
    assert_int_equal(check_sync(&e, t, NULL, 0), CCAI_ERR_NOT_FOUND);
    ccai_free(t);
    assert_counts(&e.s, 1, 1);
    env_free(&e);
}

static void test_rotation(void **state)
{
    (void)state;
    env e;
    env_init(&e);
    prime(&e);
    /* ACS rotates: the server now publishes k2 only. */
    char *jwk2 = jwk_for(key2, "k2");
    srv_set_jwks(&e.s, jwks_of(jwk2));
    ccai_free(jwk2);
    /* Within 5 minutes of the fetch: no refetch. */
    e.offset += 4 * MIN_MS;
    char *t2 = good("k2");
    assert_int_equal(check_sync(&e, t2, NULL, 0), CCAI_ERR_NOT_FOUND);
    assert_counts(&e.s, 1, 1);
    /* Older than 5 minutes: exactly one refetch, then it verifies. */
    e.offset += 2 * MIN_MS;
    outcome o = {0};
    assert_int_equal(check_async(&e, t2, &o), CCAI_OK);
    assert_counts(&e.s, 2, 2);
    assert_int_equal(check_sync(&e, t2, NULL, 0), CCAI_OK);
    /* The old key is gone. */
    char *t1 = good("k1");
    assert_int_equal(check_sync(&e, t1, NULL, 0), CCAI_ERR_NOT_FOUND);
    assert_counts(&e.s, 2, 2);
    ccai_free(t1);
    ccai_free(t2);
    env_free(&e);
}

static void test_unknown_kid_flood(void **state)
{
    (void)state;
    env e;
    env_init(&e);
    prime(&e);
    e.offset += 10 * MIN_MS;
    /* A burst of forged kids: one refetch, shared by the whole burst. */
    enum { N = 20 };
    outcome o[N];
    memset(o, 0, sizeof o);
    int done = 0;
    for (int i = 0; i < N; i++) {
        char kid[16];
        snprintf(kid, sizeof kid, "x%d", i);
        char *t = bearer(key2, kid, AUD);
        Ccai_acs_auth_op *op = NULL;
        assert_int_equal(Ccai_acs_auth_check(e.auth, t, on_done, &o[i], &op, NULL, NULL),
                         CCAI_ACS_AUTH_PENDING);
        ccai_free(t);
    }
    uint64_t deadline = ccai_time_ms() + 10000;
    while (done < N && ccai_time_ms() < deadline) {
        assert_int_equal(ccai_poll_run_once(e.poll, 50), 0);
        done = 0;
        for (int i = 0; i < N; i++)
            done += o[i].done;
    }
    assert_int_equal(done, N);
    for (int i = 0; i < N; i++)
        assert_int_equal(o[i].st, CCAI_ERR_NOT_FOUND);
    assert_counts(&e.s, 2, 2);
    /* More of them, for the next 5 minutes: decided at once, no fetch. */
    for (int step = 0; step < 5; step++) {
        for (int i = 0; i < N; i++) {
            char kid[16];
            snprintf(kid, sizeof kid, "y%d", i);
            char *t = bearer(key2, kid, AUD);
            assert_int_equal(check_sync(&e, t, NULL, 0), CCAI_ERR_NOT_FOUND);
            ccai_free(t);
        }
        e.offset += MIN_MS - 1000;
    }
    assert_counts(&e.s, 2, 2);
    /* Past 5 minutes: one more refetch is allowed. */
    e.offset += 10 * 1000;
    char *t = bearer(key2, "z", AUD);
    outcome oz = {0};
    assert_int_equal(check_async(&e, t, &oz), CCAI_ERR_NOT_FOUND);
    ccai_free(t);
    assert_counts(&e.s, 3, 3);
    env_free(&e);
}

static void test_server_down(void **state)
{
    (void)state;
    env e;
    env_init(&e);
    env_stop_server(&e);
    char *t = good("k1");
    outcome o = {0};
    assert_int_equal(check_async(&e, t, &o), CCAI_ERR_HTTP);
    assert_non_null(strstr(o.err, "no key set"));
    /* Not retried at once: a forger cannot make us hammer a dead server. */
    char err[512];
    assert_int_equal(check_sync(&e, t, err, sizeof err), CCAI_ERR_HTTP);
    assert_int_equal(Ccai_acs_auth_fetches(e.auth), 1);
    /* Retried after CCAI_ACS_AUTH_RETRY_MS. */
    e.offset += CCAI_ACS_AUTH_RETRY_MS;
    outcome o2 = {0};
    assert_int_equal(check_async(&e, t, &o2), CCAI_ERR_HTTP);
    assert_int_equal(Ccai_acs_auth_fetches(e.auth), 2);
    ccai_free(t);
    env_free(&e);
}

static void test_bad_documents(void **state)
{
    (void)state;
    env e;
    env_init(&e);
    /* jwks_uri with another scheme. */
    e.s.jwks_uri = "ftp://127.0.0.1/keys";
    char *t = good("k1");
    outcome o = {0};
    assert_int_equal(check_async(&e, t, &o), CCAI_ERR_HTTP);
    assert_non_null(strstr(o.err, "jwks_uri"));
    /* An unusable JWKS. */
    e.offset += CCAI_ACS_AUTH_RETRY_MS;
    pthread_mutex_lock(&e.s.lock);
    e.s.jwks_uri = NULL;
    pthread_mutex_unlock(&e.s.lock);
    srv_set_jwks(&e.s, Ccai_strdup("{\"keys\":[]}"));
    outcome o2 = {0};
    assert_int_equal(check_async(&e, t, &o2), CCAI_ERR_HTTP);
    assert_non_null(strstr(o2.err, "JWKS"));
    ccai_free(t);
    env_free(&e);
}

static void test_serve_stale(void **state)
{
    (void)state;
    env e;
    env_init(&e);
    prime(&e);
    env_stop_server(&e);
    e.offset += 25 * HOUR_MS; /* past the 24 h TTL */
    char *t1 = good("k1");
    char *t2 = good("k2");
    outcome o1 = {0}, o2 = {0};
    Ccai_acs_auth_op *op = NULL;
    assert_int_equal(Ccai_acs_auth_check(e.auth, t1, on_done, &o1, &op, NULL, NULL),
                     CCAI_ACS_AUTH_PENDING);
    assert_int_equal(Ccai_acs_auth_check(e.auth, t2, on_done, &o2, &op, NULL, NULL),
                     CCAI_ACS_AUTH_PENDING);
    run_until(&e, &o2.done, 1);
    assert_int_equal(o1.done, 1);
    /* The stale set still verifies; an unknown kid cannot be decided. */
    assert_int_equal(o1.st, CCAI_OK);
    assert_int_equal(o2.st, CCAI_ERR_HTTP);
    assert_int_equal(Ccai_acs_auth_fetches(e.auth), 3);
    /* Next checks: stale set at once, no new attempt within 5 minutes. */
    assert_int_equal(check_sync(&e, t1, NULL, 0), CCAI_OK);
    assert_int_equal(check_sync(&e, t2, NULL, 0), CCAI_ERR_NOT_FOUND);
    assert_int_equal(Ccai_acs_auth_fetches(e.auth), 3);
    ccai_free(t1);
    ccai_free(t2);
    env_free(&e);
}

static void test_concurrent_share_fetch(void **state)
{
    (void)state;
    env e;
    env_init(&e);
    enum { N = 8 };
    outcome o[N];
    memset(o, 0, sizeof o);
    char *t = good("k1");
    for (int i = 0; i < N; i++) {
        Ccai_acs_auth_op *op = NULL;
        assert_int_equal(Ccai_acs_auth_check(e.auth, t, on_done, &o[i], &op, NULL, NULL),
                         CCAI_ACS_AUTH_PENDING);
    }
    run_until(&e, &o[N - 1].done, 1);
    for (int i = 0; i < N; i++) {
        assert_int_equal(o[i].done, 1);
        assert_int_equal(o[i].st, CCAI_OK);
    }
    assert_counts(&e.s, 1, 1);
    ccai_free(t);
    env_free(&e);
}

static void test_cancel_and_free(void **state)
{
    (void)state;
    env e;
    env_init(&e);
    char *t = good("k1");
    /* Cancel one of three waiting checks. */
    outcome o[3];
    memset(o, 0, sizeof o);
    Ccai_acs_auth_op *ops[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(Ccai_acs_auth_check(e.auth, t, on_done, &o[i], &ops[i], NULL, NULL),
                         CCAI_ACS_AUTH_PENDING);
    Ccai_acs_auth_cancel(ops[1]);
    Ccai_acs_auth_cancel(NULL);
    run_until(&e, &o[2].done, 1);
    assert_int_equal(o[0].done, 1);
    assert_int_equal(o[1].done, 0);
    assert_int_equal(o[0].st, CCAI_OK);
    assert_int_equal(o[2].st, CCAI_OK);

    /* Free with checks waiting: no callbacks, nothing in flight. */
    Ccai_acs_auth_free(e.auth);
    Ccai_acs_auth_opts opts = {.openid_config_url = e.url, .audience = AUD};
    assert_int_equal(Ccai_acs_auth_new(e.ctx, &opts, &e.auth), CCAI_OK);
    memset(o, 0, sizeof o);
    for (int i = 0; i < 3; i++)
        assert_int_equal(Ccai_acs_auth_check(e.auth, t, on_done, &o[i], &ops[i], NULL, NULL),
                         CCAI_ACS_AUTH_PENDING);
    Ccai_acs_auth_free(e.auth);
    e.auth = NULL;
    run_for(&e, 200);
    for (int i = 0; i < 3; i++)
        assert_int_equal(o[i].done, 0);
    assert_int_equal(Ccai_http_in_flight(e.ctx), 0);

    /* From inside a callback: cancel a later check, then free. */
    assert_int_equal(Ccai_acs_auth_new(e.ctx, &opts, &e.auth), CCAI_OK);
    memset(o, 0, sizeof o);
    for (int i = 0; i < 3; i++)
        assert_int_equal(Ccai_acs_auth_check(e.auth, t, on_done, &o[i], &ops[i], NULL, NULL),
                         CCAI_ACS_AUTH_PENDING);
    o[0].cancel = ops[1];
    o[0].free_auth = &e.auth;
    run_until(&e, &o[0].done, 1);
    run_for(&e, 100);
    assert_null(e.auth);
    assert_int_equal(o[1].done, 0);
    assert_int_equal(o[2].done, 0);

    /* A callback cancelling its own check. */
    assert_int_equal(Ccai_acs_auth_new(e.ctx, &opts, &e.auth), CCAI_OK);
    memset(o, 0, sizeof o);
    assert_int_equal(Ccai_acs_auth_check(e.auth, t, on_done, &o[0], &ops[0], NULL, NULL),
                     CCAI_ACS_AUTH_PENDING);
    o[0].cancel = ops[0];
    run_until(&e, &o[0].done, 1);
    ccai_free(t);
    env_free(&e);
}

static void test_invalid(void **state)
{
    (void)state;
    env e;
    env_init(&e);
    Ccai_acs_auth *a = (Ccai_acs_auth *)0x1;
    Ccai_acs_auth_opts o = {.audience = AUD};
    assert_int_equal(Ccai_acs_auth_new(NULL, &o, &a), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_acs_auth_new(e.ctx, NULL, &a), CCAI_ERR_INVALID_ARG);
    o.audience = "";
    assert_int_equal(Ccai_acs_auth_new(e.ctx, &o, &a), CCAI_ERR_INVALID_ARG);
    o.audience = AUD;
    const char *bad_urls[] = {"ftp://x/y", "https://", "http:///p", "https://a b/", "x"};
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(bad_urls); i++) {
        o.openid_config_url = bad_urls[i];
        assert_int_equal(Ccai_acs_auth_new(e.ctx, &o, &a), CCAI_ERR_INVALID_ARG);
    }
    o.openid_config_url = NULL;
    o.issuer = "";
    assert_int_equal(Ccai_acs_auth_new(e.ctx, &o, &a), CCAI_ERR_INVALID_ARG);
    assert_ptr_equal(a, (Ccai_acs_auth *)0x1);
    o.issuer = NULL;
    assert_int_equal(Ccai_acs_auth_new(e.ctx, &o, &a), CCAI_OK); /* defaults */
    Ccai_acs_auth_free(a);
    Ccai_acs_auth_free(NULL);

    Ccai_acs_auth_op *op = NULL;
    assert_int_equal(Ccai_acs_auth_check(e.auth, "Bearer x", NULL, NULL, &op, NULL, NULL),
                     CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_acs_auth_check(e.auth, "Bearer x", on_done, NULL, NULL, NULL, NULL),
                     CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_acs_auth_check(NULL, "Bearer x", on_done, NULL, &op, NULL, NULL),
                     CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_acs_auth_fetches(NULL), 0);

    /* From configuration. */
    assert_int_equal(Ccai_acs_auth_from_config(e.ctx, e.cfg, &a), CCAI_ERR_CONFIG);
    assert_non_null(strstr(ccai_ctx_errmsg(e.ctx), "resource_id"));
    env_free(&e);

    ccai_config *cfg;
    ccai_poll *pl = NULL;
    ccai_ctx *ctx = NULL;
    assert_int_equal(ccai_config_new(&cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "database.sqlite.path", ":memory:"), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "communication_services.resource_id", AUD), CCAI_OK);
    assert_int_equal(ccai_poll_new(cfg, &pl, &ctx, NULL), CCAI_OK);
    assert_int_equal(Ccai_acs_auth_from_config(ctx, cfg, &a), CCAI_OK);
    Ccai_acs_auth_free(a);
    ccai_poll_free(pl);
    ccai_config_free(cfg);
}

static int setup(void **state)
{
    (void)state;
    key1 = EVP_RSA_gen(2048);
    key2 = EVP_RSA_gen(2048);
    return key1 && key2 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(key1);
    EVP_PKEY_free(key2);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_and_cached), cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_rotation),         cmocka_unit_test(test_unknown_kid_flood),
        cmocka_unit_test(test_server_down),      cmocka_unit_test(test_bad_documents),
        cmocka_unit_test(test_serve_stale),      cmocka_unit_test(test_concurrent_share_fetch),
        cmocka_unit_test(test_cancel_and_free),  cmocka_unit_test(test_invalid),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
