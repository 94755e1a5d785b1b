/* Azure OpenAI signed in with Entra ID (llm/entra.c): the LLM client gets a
 * token from the environment's identity and sends it as a Bearer, which the
 * Azure OpenAI stand-in checks. The identity endpoints are played as the
 * real ones behave:
 *   - the Entra token endpoint (workload identity): POST
 *     /{tenant}/oauth2/v2.0/token, form-encoded client credentials with the
 *     federated token as client assertion; JSON with expires_in (a number);
 *     400 invalid_client with an AADSTS description for a bad assertion;
 *   - App Service / Container Apps: GET IDENTITY_ENDPOINT?api-version=
 *     2019-08-01&resource=..., X-IDENTITY-HEADER required; expires_on as a
 *     string of Unix seconds;
 *   - IMDS: GET /metadata/identity/oauth2/token?api-version=2018-02-01&
 *     resource=..., "Metadata: true" required (else 400); expires_in and
 *     expires_on as strings.
 * The token is cached (one fetch for several requests) and fetched again in
 * the background before it expires. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <ccai/adapters/poll.h>

#include "core/json.h"
#include "io/io.h"
#include "llm/entra.h"
#include "llm/llm.h"
#include "support/httpd.h"
#include "support/llm_standin.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define TOKEN     "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.entra-test-token.sig"
#define ASSERTION "eyJhbGciOiJSUzI1NiJ9.federated-service-account-token.sig"

typedef struct idp {
    pthread_mutex_t mu;
    int workload, app, imds, refused;
    int expires_in; /* what the next reply says */
    char last_form[2048];
} idp;

static const char *header(const test_request *r, const char *name)
{
    static __thread char value[512];
    size_t n = strlen(name);
    for (const char *p = r->headers; p && *p;) {
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ')
                v++;
            size_t len = strcspn(v, "\r\n");
            snprintf(value, sizeof value, "%.*s", (int)len, v);
            return value;
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return NULL;
}

static void reply(int fd, int status, const char *json)
{
    test_httpd_printf(fd,
                      "HTTP/1.1 %d %s\r\nContent-Type: application/json; charset=utf-8\r\n"
                      "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                      status, status == 200 ? "OK" : "Bad Request", strlen(json), json);
}

static void serve(const test_request *r, int fd, void *ud)
{
    idp *s = ud;
    char body[1024];
    pthread_mutex_lock(&s->mu);
    int expires_in = s->expires_in;
    pthread_mutex_unlock(&s->mu);
    if (strcmp(r->method, "POST") == 0 &&
        strcmp(r->path, "/72f988bf-tenant/oauth2/v2.0/token") == 0) {
        const char *ct = header(r, "Content-Type");
        pthread_mutex_lock(&s->mu);
        snprintf(s->last_form, sizeof s->last_form, "%s", r->body ? r->body : "");
        pthread_mutex_unlock(&s->mu);
        bool form = ct && strncmp(ct, "application/x-www-form-urlencoded", 33) == 0;
        bool good = form && r->body && strstr(r->body, "grant_type=client_credentials") &&
                    strstr(r->body, "client_id=0a1b2c3d-client") &&
                    strstr(r->body, "scope=https%3A%2F%2Fcognitiveservices.azure.com%2F.default") &&
                    strstr(r->body, "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-"
                                    "assertion-type%3Ajwt-bearer") &&
                    strstr(r->body, "client_assertion=" ASSERTION);
        if (!good) {
            pthread_mutex_lock(&s->mu);
            s->refused++;
            pthread_mutex_unlock(&s->mu);
            reply(fd, 400,
                  "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS700211: No "
                  "matching federated identity record found for presented assertion.\","
                  "\"error_codes\":[700211]}");
            return;
        }
        pthread_mutex_lock(&s->mu);
        s->workload++;
        pthread_mutex_unlock(&s->mu);
        snprintf(body, sizeof body,
                 "{\"token_type\":\"Bearer\",\"expires_in\":%d,\"ext_expires_in\":%d,"
                 "\"access_token\":\"" TOKEN "\"}",
                 expires_in, expires_in);
        reply(fd, 200, body);
    } else if (strcmp(r->method, "GET") == 0 &&
               strcmp(r->path, "/msi/token?api-version=2019-08-01&resource=https%3A%2F%2F"
                               "cognitiveservices.azure.com") == 0) {
        const char *h = header(r, "X-IDENTITY-HEADER");
        if (!h || strcmp(h, "3e4f-identity-header") != 0) {
            reply(fd, 400,
                  "{\"statusCode\":400,\"message\":\"Unable to load the proper "
                  "Managed Identity.\",\"correlationId\":\"x\"}");
            return;
        }
        pthread_mutex_lock(&s->mu);
        s->app++;
        pthread_mutex_unlock(&s->mu);
        snprintf(body, sizeof body,
                 "{\"access_token\":\"" TOKEN "\",\"expires_on\":\"%lld\",\"resource\":"
                 "\"https://cognitiveservices.azure.com\",\"token_type\":\"Bearer\","
                 "\"client_id\":\"5e6f-system\"}",
                 (long long)time(NULL) + expires_in);
        reply(fd, 200, body);
    } else if (strcmp(r->method, "GET") == 0 &&
               strcmp(r->path, "/metadata/identity/oauth2/token?api-version=2018-02-01&"
                               "resource=https%3A%2F%2Fcognitiveservices.azure.com&client_id="
                               "9a8b-user-assigned") == 0) {
        const char *m = header(r, "Metadata");
        if (!m || strcmp(m, "true") != 0) {
            reply(fd, 400,
                  "{\"error\":\"invalid_request\",\"error_description\":\"Required "
                  "metadata header not specified\"}");
            return;
        }
        pthread_mutex_lock(&s->mu);
        s->imds++;
        pthread_mutex_unlock(&s->mu);
        long long now = (long long)time(NULL);
        snprintf(body, sizeof body,
                 "{\"access_token\":\"" TOKEN "\",\"refresh_token\":\"\",\"expires_in\":\"%d\","
                 "\"expires_on\":\"%lld\",\"not_before\":\"%lld\",\"resource\":"
                 "\"https://cognitiveservices.azure.com\",\"token_type\":\"Bearer\"}",
                 expires_in, now + expires_in, now - 300);
        reply(fd, 200, body);
    } else {
        reply(fd, 404, "{\"error\":\"not_found\"}");
    }
}

typedef struct out {
    int done;
    ccai_status st;
    char err[512];
} out;

static int on_text(const char *t, size_t n, void *ud)
{
    (void)t;
    (void)n;
    (void)ud;
    return 0;
}

static void on_done(ccai_status st, const Ccai_llm_result *r, const char *errmsg, void *ud)
{
    (void)r;
    out *o = ud;
    o->done = 1;
    o->st = st;
    snprintf(o->err, sizeof o->err, "%s", errmsg ? errmsg : "");
}

static const Ccai_llm_callbacks cbs = {on_text, NULL, on_done};

typedef struct env {
    idp s;
    test_httpd *h;
    standin *si;
    ccai_config *cfg;
    ccai_poll *poll;
    ccai_ctx *ctx;
    Ccai_llm_model fast;
    json_t *messages;
    char assertion_file[64];
} env;

static void clear_identity_env(void)
{
    static const char *const vars[] = {
        "AZURE_FEDERATED_TOKEN_FILE",
        "AZURE_CLIENT_ID",
        "AZURE_TENANT_ID",
        "AZURE_AUTHORITY_HOST",
        "IDENTITY_ENDPOINT",
        "IDENTITY_HEADER",
        "AZURE_POD_IDENTITY_AUTHORITY_HOST",
    };
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
}

/* The identity endpoints, the LLM stand-in (Bearer TOKEN), a context; the
 * model is read once the test set the environment (env_model()). */
static void env_init(env *e)
{
    memset(e, 0, sizeof *e);
    pthread_mutex_init(&e->s.mu, NULL);
    e->s.expires_in = 3599;
    e->h = test_httpd_start(serve, &e->s);
    assert_non_null(e->h);
    standin_opts so = {0};
    so.key = TOKEN;
    e->si = standin_start(&so);
    assert_non_null(e->si);
    char ep[128];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d", standin_port(e->si));
    assert_int_equal(ccai_config_new(&e->cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "database.sqlite.path", ":memory:"), CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "llm.fast.mode", "azure_openai"), CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "llm.fast.endpoint", ep), CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "llm.fast.deployment", "gpt-4o-mini"), CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "llm.fast.retries", "2"), CCAI_OK);
    assert_int_equal(ccai_config_validate(e->cfg), CCAI_OK); /* no api_key needed */
    assert_int_equal(ccai_poll_new(e->cfg, &e->poll, &e->ctx, NULL), CCAI_OK);
    e->messages = json_pack("[{s:s,s:s}]", "role", "user", "content", "My car was hit.");
    clear_identity_env();
}

static void env_model(env *e)
{
    assert_int_equal(Ccai_llm_model_from_config(e->cfg, "fast", &e->fast), CCAI_OK);
    assert_non_null(e->fast.entra);
    assert_null(e->fast.api_key);
}

static void env_free(env *e)
{
    json_decref(e->messages);
    Ccai_llm_model_clear(&e->fast);
    ccai_poll_free(e->poll);
    ccai_config_free(e->cfg);
    standin_stop(e->si);
    test_httpd_stop(e->h);
    pthread_mutex_destroy(&e->s.mu);
    if (e->assertion_file[0])
        unlink(e->assertion_file);
    clear_identity_env();
}

static void run(env *e, out *o)
{
    memset(o, 0, sizeof *o);
    Ccai_llm_opts opts = {
        .messages = e->messages, .models = {&e->fast, NULL}, .max_backoff_ms = 50};
    Ccai_llm_call *call = NULL;
    assert_int_equal(Ccai_llm_chat(e->ctx, &opts, &cbs, o, &call), CCAI_OK);
    uint64_t deadline = ccai_time_ms() + 15000;
    while (!o->done && ccai_time_ms() < deadline)
        assert_int_equal(ccai_poll_run_once(e->poll, 100), 0);
    assert_true(o->done);
}

static int counted(env *e, int *field)
{
    pthread_mutex_lock(&e->s.mu);
    int n = *field;
    pthread_mutex_unlock(&e->s.mu);
    return n;
}

static void workload_env(env *e, const char *assertion)
{
    snprintf(e->assertion_file, sizeof e->assertion_file, "/tmp/ccai-entra-XXXXXX");
    int fd = mkstemp(e->assertion_file);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, assertion, strlen(assertion)), (ssize_t)strlen(assertion));
    close(fd);
    char authority[64];
    snprintf(authority, sizeof authority, "http://127.0.0.1:%d/", test_httpd_port(e->h));
    setenv("AZURE_FEDERATED_TOKEN_FILE", e->assertion_file, 1);
    setenv("AZURE_CLIENT_ID", "0a1b2c3d-client", 1);
    setenv("AZURE_TENANT_ID", "72f988bf-tenant", 1);
    setenv("AZURE_AUTHORITY_HOST", authority, 1);
}

/* Workload identity: one token exchange serves two requests. */
static void test_workload_identity(void **state)
{
    (void)state;
    env e;
    env_init(&e);
    workload_env(&e, ASSERTION "\n");
    env_model(&e);
    assert_string_equal(Ccai_entra_source(e.fast.entra), "workload identity");
    out o;
    run(&e, &o);
    if (o.st != CCAI_OK)
        fail_msg("%s (the token endpoint got: %s)", o.err, e.s.last_form);
    run(&e, &o);
    assert_int_equal(o.st, CCAI_OK);
    assert_int_equal(counted(&e, &e.s.workload), 1);
    assert_int_equal(counted(&e, &e.s.refused), 0);
    env_free(&e);
}

/* Fetched again before it expires: a token in its last half-life (short
 * tokens) is still used, and a new one fetched in the background. */
static void test_refresh_before_expiry(void **state)
{
    (void)state;
    env e;
    env_init(&e);
    e.s.expires_in = 4;
    workload_env(&e, ASSERTION);
    env_model(&e);
    out o;
    run(&e, &o);
    assert_int_equal(o.st, CCAI_OK);
    assert_int_equal(counted(&e, &e.s.workload), 1);
    test_httpd_sleep_ms(2300);
    run(&e, &o); /* with the cached token, which has ~1.7 s left */
    assert_int_equal(o.st, CCAI_OK);
    uint64_t deadline = ccai_time_ms() + 5000;
    while (counted(&e, &e.s.workload) < 2 && ccai_time_ms() < deadline)
        assert_int_equal(ccai_poll_run_once(e.poll, 50), 0);
    assert_int_equal(counted(&e, &e.s.workload), 2);
    env_free(&e);
}

/* A federated token the tenant does not trust: the call fails with
 * Entra's own words, after its retries. */
static void test_workload_refused(void **state)
{
    (void)state;
    env e;
    env_init(&e);
    workload_env(&e, "not-the-right-assertion");
    env_model(&e);
    out o;
    run(&e, &o);
    assert_int_not_equal(o.st, CCAI_OK);
    if (!strstr(o.err, "AADSTS700211"))
        fail_msg("error lacks Entra's description: %s", o.err);
    assert_true(counted(&e, &e.s.refused) >= 1);
    assert_int_equal(counted(&e, &e.s.workload), 0);
    env_free(&e);
}

/* App Service / Container Apps managed identity. */
static void test_app_service(void **state)
{
    (void)state;
    env e;
    env_init(&e);
    char ep[96];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d/msi/token", test_httpd_port(e.h));
    setenv("IDENTITY_ENDPOINT", ep, 1);
    setenv("IDENTITY_HEADER", "3e4f-identity-header", 1);
    env_model(&e);
    assert_string_equal(Ccai_entra_source(e.fast.entra), "App Service managed identity");
    out o;
    run(&e, &o);
    if (o.st != CCAI_OK)
        fail_msg("%s", o.err);
    run(&e, &o);
    assert_int_equal(o.st, CCAI_OK);
    assert_int_equal(counted(&e, &e.s.app), 1);
    env_free(&e);
}

/* IMDS (a VM's identity), a user-assigned one chosen by AZURE_CLIENT_ID. */
static void test_imds(void **state)
{
    (void)state;
    env e;
    env_init(&e);
    char host[64];
    snprintf(host, sizeof host, "http://127.0.0.1:%d", test_httpd_port(e.h));
    setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", host, 1);
    setenv("AZURE_CLIENT_ID", "9a8b-user-assigned", 1);
    env_model(&e);
    assert_string_equal(Ccai_entra_source(e.fast.entra), "IMDS managed identity");
    out o;
    run(&e, &o);
    if (o.st != CCAI_OK)
        fail_msg("%s", o.err);
    assert_int_equal(counted(&e, &e.s.imds), 1);
    env_free(&e);
}

/* An api_key wins under auth: auto; auth: api_key never asks Entra. */
static void test_key_wins(void **state)
{
    (void)state;
    ccai_config *cfg = NULL;
    assert_int_equal(ccai_config_new(&cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "llm.fast.mode", "azure_openai"), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "llm.fast.endpoint", "https://x.openai.azure.com"),
                     CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "llm.fast.api_key", "k"), CCAI_OK);
    Ccai_llm_model m;
    assert_int_equal(Ccai_llm_model_from_config(cfg, "fast", &m), CCAI_OK);
    assert_null(m.entra);
    Ccai_llm_model_clear(&m);
    assert_int_equal(ccai_config_set(cfg, "llm.fast.auth", "entra_id"), CCAI_OK);
    assert_int_equal(Ccai_llm_model_from_config(cfg, "fast", &m), CCAI_OK);
    assert_non_null(m.entra);
    assert_null(m.api_key);
    Ccai_llm_model_clear(&m);
    ccai_config_free(cfg);
}

/* The replies' shapes, sans-I/O. */
static void test_parse_reply(void **state)
{
    (void)state;
    char *tok = NULL, *err = NULL;
    int64_t exp = 0;
    const char *a = "{\"token_type\":\"Bearer\",\"expires_in\":3599,\"access_token\":\"t1\"}";
    assert_int_equal(Ccai_entra_parse_reply(a, strlen(a), 1000, &tok, &exp, &err), CCAI_OK);
    assert_string_equal(tok, "t1");
    assert_int_equal(exp, 1000 + 3599000);
    ccai_free(tok);
    const char *b = "{\"access_token\":\"t2\",\"expires_in\":\"86399\",\"expires_on\":\"17\"}";
    assert_int_equal(Ccai_entra_parse_reply(b, strlen(b), 0, &tok, &exp, &err), CCAI_OK);
    assert_int_equal(exp, 86399000);
    ccai_free(tok);
    const char *c = "{\"access_token\":\"t3\",\"expires_on\":\"1700000000\"}";
    assert_int_equal(Ccai_entra_parse_reply(c, strlen(c), 0, &tok, &exp, &err), CCAI_OK);
    assert_int_equal(exp, 1700000000000LL);
    ccai_free(tok);
    const char *d = "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215\"}";
    assert_int_equal(Ccai_entra_parse_reply(d, strlen(d), 0, &tok, &exp, &err), CCAI_ERR_PARSE);
    assert_string_equal(err, "invalid_client: AADSTS7000215");
    ccai_free(err);
    const char *f = "{\"access_token\":\"t\"}";
    assert_int_equal(Ccai_entra_parse_reply(f, strlen(f), 0, &tok, &exp, &err), CCAI_ERR_PARSE);
    ccai_free(err);
    const char *g = "{\"access_token\":\"t\\r\\nX: y\",\"expires_in\":1}";
    assert_int_equal(Ccai_entra_parse_reply(g, strlen(g), 0, &tok, &exp, &err), CCAI_ERR_PARSE);
    ccai_free(err);
    assert_int_equal(Ccai_entra_parse_reply("[", 1, 0, &tok, &exp, &err), CCAI_ERR_PARSE);
    ccai_free(err);
    /* An empty error (found by fuzz-entra-reply): the failure still has a text. */
    const char *h = "{\"error\":\"\"}";
    assert_int_equal(Ccai_entra_parse_reply(h, strlen(h), 0, &tok, &exp, &err), CCAI_ERR_PARSE);
    assert_string_equal(err, "no access_token in the reply");
    ccai_free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_reply),
        cmocka_unit_test(test_key_wins),
        cmocka_unit_test(test_workload_identity),
        cmocka_unit_test(test_refresh_before_expiry),
        cmocka_unit_test(test_workload_refused),
        cmocka_unit_test(test_app_service),
        cmocka_unit_test(test_imds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
