/* channels/: form bodies, X-Twilio-Signature, TwiML, and the Twilio REST
 * client against the local Twilio stand-in (tests/support/twilio_standin). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <ccai/adapters/poll.h>

#include "channels/twilio/twilio_rest.h"
#include "channels/twilio/twilio_sig.h"
#include "channels/twilio/twiml.h"
#include "http/form.h"
#include "io/io.h"
#include "support/twilio_standin.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Allocation failure injection ------------------------------------------------ */

typedef struct oom_state {
    long fail_at; /* allocation number that fails; -1 never */
    long count;
    long live;
} oom_state;

static void *oom_malloc(size_t size, void *ud)
{
    oom_state *o = ud;
    if (o->count++ == o->fail_at)
        return NULL;
    void *p = malloc(size);
    if (p)
        o->live++;
    return p;
}

static void *oom_realloc(void *ptr, size_t size, void *ud)
{
    oom_state *o = ud;
    if (o->count++ == o->fail_at)
        return NULL;
    void *p = realloc(ptr, size);
    if (p && !ptr)
        o->live++;
    return p;
}

static void oom_free(void *ptr, void *ud)
{
    oom_state *o = ud;
    if (ptr)
        o->live--;
    free(ptr);
}

typedef ccai_status (*oom_fn)(void);

/* fn must succeed with no failure, then return NOMEM without leaks when any
 * one of its allocations fails. */
static void run_oom(const char *name, oom_fn fn)
{
    oom_state o = {.fail_at = -1};
    ccai_allocator a = {CCAI_ALLOCATOR_VERSION, oom_malloc, oom_realloc, oom_free, &o,
                        CCAI_ALLOCATOR_JSON};
    assert_int_equal(ccai_set_allocator(&a), CCAI_OK);
    assert_int_equal(fn(), CCAI_OK);
    long total = o.count;
    assert_true(total > 0);
    assert_int_equal(o.live, 0);
    for (long k = 0; k < total; k++) {
        o = (oom_state){.fail_at = k};
        ccai_status st = fn();
        if (st != CCAI_ERR_NOMEM || o.live != 0)
            ccai_set_allocator(NULL);
        if (st != CCAI_ERR_NOMEM)
            fail_msg("%s: allocation %ld of %ld failed: status %d, expected NOMEM", name, k, total,
                     st);
        if (o.live != 0)
            fail_msg("%s: allocation %ld of %ld failed: %ld blocks leaked", name, k, total, o.live);
    }
    assert_int_equal(ccai_set_allocator(NULL), CCAI_OK);
}

#define RUN_OOM(fn) run_oom(#fn, fn)

/* Forms -------------------------------------------------------------------------- */

static ccai_status parse_str(const char *s, Ccai_form *f, char **err)
{
    return Ccai_form_parse(s, strlen(s), f, err);
}

static void test_form_parse(void **state)
{
    (void)state;
    Ccai_form f;
    const char *body = "To=%2B15550002222&From=+15550001111&Body=Hello+world%21%20%E2%82%AC"
                       "&Empty=&Flag&&A=1&A=2&%41b%3D=x%3dy&";
    assert_int_equal(parse_str(body, &f, NULL), CCAI_OK);
    assert_int_equal(f.n, 8);
    assert_string_equal(f.names[0], "To");
    assert_string_equal(f.values[0], "+15550002222");
    /* An unencoded '+' is a space: what a careless sender gets. */
    assert_string_equal(f.values[1], " 15550001111");
    assert_string_equal(f.values[2], "Hello world! \xE2\x82\xAC");
    assert_string_equal(f.names[3], "Empty");
    assert_string_equal(f.values[3], "");
    assert_string_equal(f.names[4], "Flag");
    assert_string_equal(f.values[4], "");
    assert_string_equal(f.names[5], "A");
    assert_string_equal(f.values[5], "1");
    assert_string_equal(f.names[6], "A");
    assert_string_equal(f.values[6], "2");
    assert_string_equal(f.names[7], "Ab=");
    assert_string_equal(f.values[7], "x=y");
    assert_string_equal(Ccai_form_get(&f, "A"), "1");
    assert_null(Ccai_form_get(&f, "a"));
    assert_null(Ccai_form_get(NULL, "A"));
    assert_int_equal(Ccai_form_count(&f, "A"), 2);
    assert_int_equal(Ccai_form_count(&f, "Nope"), 0);
    Ccai_form_free(&f);
    assert_int_equal(f.n, 0);
    assert_null(f.names);
    Ccai_form_free(&f);
    Ccai_form_free(NULL);

    /* Empty bodies and bodies of separators only. */
    assert_int_equal(Ccai_form_parse(NULL, 0, &f, NULL), CCAI_OK);
    assert_int_equal(f.n, 0);
    Ccai_form_free(&f);
    assert_int_equal(parse_str("&&&", &f, NULL), CCAI_OK);
    assert_int_equal(f.n, 0);
    Ccai_form_free(&f);
    assert_int_equal(parse_str("=v", &f, NULL), CCAI_OK);
    assert_int_equal(f.n, 1);
    assert_string_equal(f.names[0], "");
    assert_string_equal(f.values[0], "v");
    Ccai_form_free(&f);
    /* Only len bytes are read. */
    assert_int_equal(Ccai_form_parse("a=1&b=2", 3, &f, NULL), CCAI_OK);
    assert_int_equal(f.n, 1);
    assert_string_equal(f.values[0], "1");
    Ccai_form_free(&f);

    assert_int_equal(Ccai_form_parse(NULL, 1, &f, NULL), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_form_parse("a", 1, NULL, NULL), CCAI_ERR_INVALID_ARG);
}

static void test_form_parse_errors(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        size_t len;
        const char *err;
    } cases[] = {
        {"a=%", 3, "invalid percent escape at byte 2"},
        {"a=%2", 4, "invalid percent escape at byte 2"},
        {"a=1&b=%zz", 9, "invalid percent escape at byte 6"},
        {"%G1=1", 5, "invalid percent escape at byte 0"},
        {"a=%2%41", 7, "invalid percent escape at byte 2"},
        {"ok=1&a=%00", 10, "%00 (NUL) at byte 7"},
        {"a=1\0b", 5, "NUL byte at byte 3"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Ccai_form f = {.n = 99};
        char *err = NULL;
        assert_int_equal(Ccai_form_parse(cases[i].body, cases[i].len, &f, &err), CCAI_ERR_PARSE);
        assert_int_equal(f.n, 99); /* untouched */
        assert_non_null(err);
        assert_string_equal(err, cases[i].err);
        ccai_free(err);
        /* Without ret_err as well. */
        assert_int_equal(Ccai_form_parse(cases[i].body, cases[i].len, &f, NULL), CCAI_ERR_PARSE);
    }
}

static void test_form_limits(void **state)
{
    (void)state;
    Ccai_form f;
    char *err = NULL;
    size_t max = CCAI_FORM_BODY_MAX;
    char *big = malloc(max + 2);
    assert_non_null(big);
    memset(big, 'x', max + 1);
    big[0] = 'a';
    big[1] = '=';
    big[max + 1] = '\0';
    assert_int_equal(Ccai_form_parse(big, max, &f, NULL), CCAI_OK);
    assert_int_equal(f.n, 1);
    assert_int_equal(strlen(f.values[0]), max - 2);
    Ccai_form_free(&f);
    assert_int_equal(Ccai_form_parse(big, max + 1, &f, &err), CCAI_ERR_LIMIT);
    assert_string_equal(err, "form body of 65537 bytes exceeds 65536");
    ccai_free(err);
    free(big);

    /* 256 parameters pass, 257 do not; empty sequences do not count. */
    char *many = malloc(257 * 5 + 1);
    assert_non_null(many);
    many[0] = '\0';
    for (int i = 0; i < 256; i++)
        strcat(many, "a=1&&");
    assert_int_equal(parse_str(many, &f, NULL), CCAI_OK);
    assert_int_equal(f.n, 256);
    Ccai_form_free(&f);
    strcat(many, "b=2");
    err = NULL;
    assert_int_equal(parse_str(many, &f, &err), CCAI_ERR_LIMIT);
    assert_string_equal(err, "form has 257 parameters, more than 256");
    ccai_free(err);
    free(many);
}

static void test_form_encode(void **state)
{
    (void)state;
    const char *pairs[] = {
        "To",      "+15550002222",
        "Body",    "Hi & bye = 100% ~ok_-. \xE2\x82\xAC",
        "Skipped", NULL,
        "Empty",   "",
        "Twiml",   "<Response><Say>a \"b\"</Say></Response>",
        NULL,
    };
    char *s = Ccai_form_encode(pairs);
    assert_non_null(s);
    assert_string_equal(s, "To=%2B15550002222&Body=Hi+%26+bye+%3D+100%25+~ok_-.+%E2%82%AC&Empty="
                           "&Twiml=%3CResponse%3E%3CSay%3Ea+%22b%22%3C%2FSay%3E%3C%2FResponse%3E");
    Ccai_form f;
    assert_int_equal(parse_str(s, &f, NULL), CCAI_OK);
    assert_int_equal(f.n, 4);
    assert_string_equal(f.values[1], pairs[3]);
    assert_string_equal(f.values[2], "");
    assert_string_equal(f.values[3], pairs[9]);
    Ccai_form_free(&f);
    ccai_free(s);

    const char *none[] = {NULL};
    s = Ccai_form_encode(none);
    assert_string_equal(s, "");
    ccai_free(s);
    assert_null(Ccai_form_encode(NULL));

    /* Every byte value survives a round trip, names included. */
    char all[256];
    for (int i = 1; i < 256; i++)
        all[i - 1] = (char)i;
    all[255] = '\0';
    const char *rt[] = {all, all, "k", all + 100, NULL};
    s = Ccai_form_encode(rt);
    assert_non_null(s);
    assert_int_equal(parse_str(s, &f, NULL), CCAI_OK);
    assert_int_equal(f.n, 2);
    assert_string_equal(f.names[0], all);
    assert_string_equal(f.values[0], all);
    assert_string_equal(f.values[1], all + 100);
    Ccai_form_free(&f);
    ccai_free(s);
}

static ccai_status oom_form(void)
{
    Ccai_form f;
    ccai_status st = parse_str("To=%2B1555&Body=a+b&Flag&X=%41", &f, NULL);
    if (st != CCAI_OK)
        return st;
    const char *pairs[] = {"To", Ccai_form_get(&f, "To"), "Body", Ccai_form_get(&f, "Body"), NULL};
    char *s = Ccai_form_encode(pairs);
    Ccai_form_free(&f);
    if (!s)
        return CCAI_ERR_NOMEM;
    ccai_free(s);
    return CCAI_OK;
}

/* Signatures ------------------------------------------------------------------------ */

static void form_of(Ccai_form *f, const char *body)
{
    assert_int_equal(parse_str(body, f, NULL), CCAI_OK);
}

#define PY_URL "https://mycompany.com/myapp.php?foo=1&bar=2"
#define PY_BODY                                                                       \
    "CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309" \
    "&To=%2B18005551212"

static void test_signature_vectors(void **state)
{
    (void)state;
    Ccai_form f;
    /* twilio-python tests/unit/test_request_validator.py:
     * printf '%s' 'https://mycompany.com/myapp.php?foo=1&bar=2CallSidCA1234567890ABCDE'\
     *   'Caller+14158675309Digits1234From+14158675309To+18005551212' \
     *   | openssl dgst -sha1 -hmac 12345 -binary | base64 */
    form_of(&f, PY_BODY);
    char *sig = Ccai_twilio_signature("12345", PY_URL, &f);
    assert_string_equal(sig, "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
    ccai_free(sig);
    assert_true(
        Ccai_twilio_signature_valid("12345", PY_URL, &f, NULL, 0, "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
    Ccai_form_free(&f);

    /* protocols.md 2.8, parameters given out of order:
     * printf '%s' 'https://agent.example.test/twilio/voice?tenant=42AccountSidAC0000000000000000'\
     *   '0000000000000001CallSidCA00000000000000000000000000000001CallStatusin-progress'\
     *   'Confidence0.91From+15550001111SpeechResultI need to rescheduleTo+15550002222' \
     *   | openssl dgst -sha1 -hmac ccai-test-auth-token -binary | base64 */
    form_of(&f, "To=%2B15550002222&SpeechResult=I+need+to+reschedule&From=%2B15550001111"
                "&Confidence=0.91&CallStatus=in-progress&CallSid=CA00000000000000000000000000000001"
                "&AccountSid=AC00000000000000000000000000000001");
    const char *url = "https://agent.example.test/twilio/voice?tenant=42";
    sig = Ccai_twilio_signature("ccai-test-auth-token", url, &f);
    assert_string_equal(sig, "ebuYAn6JzVSTAm/wJ+da2WPyOVE=");
    ccai_free(sig);
    assert_true(Ccai_twilio_signature_valid("ccai-test-auth-token", url, &f, NULL, 0,
                                            "ebuYAn6JzVSTAm/wJ+da2WPyOVE="));
    Ccai_form_free(&f);

    /* Repeated names: ordered by value, an exact repeat counted once.
     * printf '%s' 'https://x.test/hookA0A1B2' | openssl dgst -sha1 -hmac tok -binary | base64 */
    form_of(&f, "B=2&A=1&A=0&A=1");
    sig = Ccai_twilio_signature("tok", "https://x.test/hook", &f);
    assert_string_equal(sig, "kg+FOFYUGxXUWF5a2nzgghpYrYw=");
    ccai_free(sig);
    Ccai_form_free(&f);

    /* GET: the URL alone. printf '%s' 'http://x.test:80/hook?x=1' | openssl dgst -sha1
     * -hmac tok -binary | base64 */
    sig = Ccai_twilio_signature("tok", "http://x.test:80/hook?x=1", NULL);
    assert_string_equal(sig, "exxZzubugmltpUm0Un3IgM+T4VQ=");
    ccai_free(sig);
    assert_null(Ccai_twilio_signature(NULL, "u", NULL));
    assert_null(Ccai_twilio_signature("t", NULL, NULL));
}

/* A signer keeps the key's HMAC state (the channel's, for its token): the
 * same signatures, the key of 64 bytes used as it is, a longer one hashed
 * first (RFC 2104), and one signer good for any number of requests.
 * printf '%s' 'https://x.test/hookA0' | openssl dgst -sha1 -hmac KEY -binary | base64 */
static void test_signature_signer(void **state)
{
    (void)state;
    char k64[65], k80[81];
    memset(k64, 'k', 64);
    k64[64] = '\0';
    memset(k80, 'L', 80);
    k80[80] = '\0';
    Ccai_form f;
    form_of(&f, "A=0");
    char *sig = Ccai_twilio_signature(k64, "https://x.test/hook", &f);
    assert_string_equal(sig, "IDxq9lv0msT/C8rCQA5bWMxtuQg=");
    ccai_free(sig);
    sig = Ccai_twilio_signature(k80, "https://x.test/hook", &f);
    assert_string_equal(sig, "RyzfcZEjmLJNhGE3By3gIFjhvX4=");
    ccai_free(sig);
    Ccai_twilio_signer *s = Ccai_twilio_signer_new(k80);
    assert_non_null(s);
    assert_true(Ccai_twilio_signer_is(s, k80));
    assert_false(Ccai_twilio_signer_is(s, k64));
    assert_false(Ccai_twilio_signer_is(NULL, k80));
    for (int i = 0; i < 3; i++) {
        assert_true(Ccai_twilio_signer_valid(s, "https://x.test/hook", &f, NULL, 0,
                                             "RyzfcZEjmLJNhGE3By3gIFjhvX4="));
        assert_false(Ccai_twilio_signer_valid(s, "https://x.test/hook", &f, NULL, 0,
                                              "IDxq9lv0msT/C8rCQA5bWMxtuQg="));
    }
    /* The port forms, as Ccai_twilio_signature_valid(). */
    sig = Ccai_twilio_signature(k80, "https://x.test:443/hook", &f);
    assert_true(Ccai_twilio_signer_valid(s, "https://x.test/hook", &f, NULL, 0, sig));
    ccai_free(sig);
    assert_false(Ccai_twilio_signer_valid(s, "https://x.test/hook", &f, NULL, 0, NULL));
    assert_false(Ccai_twilio_signer_valid(NULL, "https://x.test/hook", &f, NULL, 0, "x"));
    Ccai_twilio_signer_free(s);
    Ccai_twilio_signer_free(NULL);
    assert_null(Ccai_twilio_signer_new(NULL));
    Ccai_form_free(&f);
}

static void test_signature_json_body(void **state)
{
    (void)state;
    /* printf '%s' '{"event":"test","value":1}' | sha256sum
     * printf '%s' 'https://agent.example.test/twilio/json?bodySHA256=7be7ef15405a070759439234b1'\
     *   '431f7e8435071ed72dc35fa03fcce0c70b7999' \
     *   | openssl dgst -sha1 -hmac ccai-test-auth-token -binary | base64 */
    const char *body = "{\"event\":\"test\",\"value\":1}";
    const char *url = "https://agent.example.test/twilio/json?bodySHA256="
                      "7be7ef15405a070759439234b1431f7e8435071ed72dc35fa03fcce0c70b7999";
    const char *good = "Fatz3q9BPP/8rlVSiP8anFD+/2g=";
    assert_true(
        Ccai_twilio_signature_valid("ccai-test-auth-token", url, NULL, body, strlen(body), good));
    /* Params are ignored in this variant. */
    Ccai_form f;
    form_of(&f, "X=1");
    assert_true(
        Ccai_twilio_signature_valid("ccai-test-auth-token", url, &f, body, strlen(body), good));
    Ccai_form_free(&f);
    /* A body that does not hash to the URL's value, or no body. */
    assert_false(Ccai_twilio_signature_valid(
        "ccai-test-auth-token", url, NULL, "{\"event\":\"test\",\"value\":2}", strlen(body), good));
    assert_false(Ccai_twilio_signature_valid("ccai-test-auth-token", url, NULL, NULL, 0, good));
    assert_false(Ccai_twilio_signature_valid("ccai-test-auth-token", url, NULL, NULL, 5, good));

    /* twilio-python's JSON vector: sha256sum of '{"property": "value", "boolean": true}' is
     * 0a1ff763...6620; printf '%s' 'https://mycompany.com/myapp.php?foo=1&bar=2&bodySHA256='\
     *   '0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620' \
     *   | openssl dgst -sha1 -hmac 12345 -binary | base64 */
    const char *pybody = "{\"property\": \"value\", \"boolean\": true}";
    const char *pyurl = PY_URL "&bodySHA256="
                               "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";
    assert_true(Ccai_twilio_signature_valid("12345", pyurl, NULL, pybody, strlen(pybody),
                                            "a9nBmqA0ju/hNViExpshrM61xv4="));
    /* The hash is also accepted in upper case, and found after a fragment-free query. */
    const char *upper = PY_URL "&bodySHA256="
                               "0A1FF7634D9AB3B95DB5C9A2DFE9416E41502B283A80C7CF19632632F96E6620";
    char *sig = Ccai_twilio_signature("12345", upper, NULL);
    assert_true(Ccai_twilio_signature_valid("12345", upper, NULL, pybody, strlen(pybody), sig));
    ccai_free(sig);
}

static void test_signature_ports(void **state)
{
    (void)state;
    Ccai_form f;
    form_of(&f, PY_BODY);
    /* Signed without the port, requested with :443. */
    assert_true(Ccai_twilio_signature_valid("12345",
                                            "https://mycompany.com:443/myapp.php?foo=1&bar=2", &f,
                                            NULL, 0, "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
    /* Signed with :443, requested without:
     * printf '%s' 'https://mycompany.com:443/myapp.php?foo=1&bar=2CallSidCA1234567890ABCDE'\
     *   'Caller+14158675309Digits1234From+14158675309To+18005551212' \
     *   | openssl dgst -sha1 -hmac 12345 -binary | base64 */
    assert_true(
        Ccai_twilio_signature_valid("12345", PY_URL, &f, NULL, 0, "kvajT1Ptam85bY51eRf/AJRuM3w="));
    /* Like twilio-python, any explicit port may be dropped... */
    assert_true(Ccai_twilio_signature_valid("12345",
                                            "https://mycompany.com:8443/myapp.php?foo=1&bar=2", &f,
                                            NULL, 0, "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
    /* ...but only the scheme's default port is ever added. */
    assert_false(Ccai_twilio_signature_valid("12345", "http://mycompany.com/myapp.php?foo=1&bar=2",
                                             &f, NULL, 0, "kvajT1Ptam85bY51eRf/AJRuM3w="));
    Ccai_form_free(&f);

    /* http and :80: printf '%s' 'http://x.test:80/hook?x=1' | openssl dgst -sha1 -hmac tok
     * -binary | base64 */
    assert_true(Ccai_twilio_signature_valid("tok", "http://x.test/hook?x=1", NULL, NULL, 0,
                                            "exxZzubugmltpUm0Un3IgM+T4VQ="));
    assert_true(Ccai_twilio_signature_valid("tok", "http://x.test:80/hook?x=1", NULL, NULL, 0,
                                            "exxZzubugmltpUm0Un3IgM+T4VQ="));
    /* User info is not a port: printf '%s' 'https://user:pass@x.test:443/hook' | openssl dgst
     * -sha1 -hmac tok -binary | base64 */
    assert_true(Ccai_twilio_signature_valid("tok", "https://user:pass@x.test/hook", NULL, NULL, 0,
                                            "1S9laOcucnyxrXAeQMK7ilmq0Sw="));
    /* IPv6 literal: printf '%s' 'https://[::1]:443/hook' | openssl dgst -sha1 -hmac tok -binary
     * | base64 */
    assert_true(Ccai_twilio_signature_valid("tok", "https://[::1]/hook", NULL, NULL, 0,
                                            "oj8FaCRy39wAbiZynNEqsGnJzzc="));
    assert_true(Ccai_twilio_signature_valid("tok", "HTTPS://[::1]:443/hook", NULL, NULL, 0,
                                            "oj8FaCRy39wAbiZynNEqsGnJzzc=") == false);
    /* Not a URL: signed as given only. */
    char *sig = Ccai_twilio_signature("tok", "not a url", NULL);
    assert_true(Ccai_twilio_signature_valid("tok", "not a url", NULL, NULL, 0, sig));
    ccai_free(sig);
}

static void test_signature_rejects(void **state)
{
    (void)state;
    Ccai_form f, g;
    const char *good = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
    form_of(&f, PY_BODY);
    assert_false(Ccai_twilio_signature_valid("12346", PY_URL, &f, NULL, 0, good));
    assert_false(Ccai_twilio_signature_valid("", PY_URL, &f, NULL, 0, good));
    assert_false(Ccai_twilio_signature_valid(NULL, PY_URL, &f, NULL, 0, good));
    assert_false(Ccai_twilio_signature_valid("12345", NULL, &f, NULL, 0, good));
    assert_false(Ccai_twilio_signature_valid("12345", PY_URL, &f, NULL, 0, NULL));
    assert_false(Ccai_twilio_signature_valid("12345", PY_URL, &f, NULL, 0, ""));
    assert_false(
        Ccai_twilio_signature_valid("12345", PY_URL, &f, NULL, 0, "RSOYDt4T1cUTdK1PDd93/VVr8B8"));
    assert_false(
        Ccai_twilio_signature_valid("12345", PY_URL, &f, NULL, 0, "RSOYDt4T1cUTdK1PDd93/VVr8B8= "));
    assert_false(
        Ccai_twilio_signature_valid("12345", PY_URL, &f, NULL, 0, "rSOYDt4T1cUTdK1PDd93/VVr8B8="));
    assert_false(Ccai_twilio_signature_valid("12345", PY_URL "&baz=3", &f, NULL, 0, good));
    assert_false(Ccai_twilio_signature_valid("12345", PY_URL, NULL, NULL, 0, good));
    Ccai_form_free(&f);
    /* A changed value, an added parameter, a dropped one. */
    form_of(&g, "CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1235&From=%2B14158675309"
                "&To=%2B18005551212");
    assert_false(Ccai_twilio_signature_valid("12345", PY_URL, &g, NULL, 0, good));
    Ccai_form_free(&g);
    form_of(&g, PY_BODY "&Extra=1");
    assert_false(Ccai_twilio_signature_valid("12345", PY_URL, &g, NULL, 0, good));
    Ccai_form_free(&g);
    form_of(&g, "CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309");
    assert_false(Ccai_twilio_signature_valid("12345", PY_URL, &g, NULL, 0, good));
    Ccai_form_free(&g);
}

static ccai_status oom_signature(void)
{
    Ccai_form f;
    ccai_status st = parse_str(PY_BODY, &f, NULL);
    if (st != CCAI_OK)
        return st;
    char *sig = Ccai_twilio_signature("12345", PY_URL, &f);
    /* A URL without "scheme://" has a single candidate, so a failed
     * allocation cannot be masked by the other one matching.
     * printf '%s' 'urn:xCallSidCA1234567890ABCDECaller+14158675309Digits1234'\
     *   'From+14158675309To+18005551212' | openssl dgst -sha1 -hmac 12345 -binary | base64 */
    bool ok =
        Ccai_twilio_signature_valid("12345", "urn:x", &f, NULL, 0, "oGIx7R8ida7Biyp8Br8ZK5qyvUo=");
    Ccai_form_free(&f);
    st = sig && ok ? CCAI_OK : CCAI_ERR_NOMEM;
    if (sig && strcmp(sig, "RSOYDt4T1cUTdK1PDd93/VVr8B8=") != 0)
        st = CCAI_ERR_INTERNAL;
    ccai_free(sig);
    return st;
}

/* TwiML -------------------------------------------------------------------------------- */

#define PROLOG "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"

static void expect_twiml(Ccai_twiml *t, const char *expected)
{
    char *xml = NULL;
    size_t len = 0;
    assert_int_equal(Ccai_twiml_finish(t, &xml, &len), CCAI_OK);
    assert_string_equal(xml, expected);
    assert_int_equal(len, strlen(expected));
    ccai_free(xml);
    Ccai_twiml_free(t);
}

static void test_twiml_documents(void **state)
{
    (void)state;
    Ccai_twiml t;
    Ccai_twiml_init(&t);
    expect_twiml(&t, PROLOG "<Response/>");

    /* The agent's usual turn: speak, then listen with barge-in. */
    Ccai_twiml_init(&t);
    Ccai_twiml_gather_begin(&t, &(Ccai_twiml_gather_opts){
                                    .input = "speech",
                                    .action = "https://agent.example.test/twilio/gather?call=1&t=2",
                                    .method = "POST",
                                    .language = "en-US",
                                    .hints = "claim, policy number",
                                    .speech_timeout = "auto",
                                    .timeout = 5,
                                    .barge_in = CCAI_TWIML_TRUE,
                                    .action_on_empty_result = CCAI_TWIML_TRUE,
                                });
    Ccai_twiml_say(&t, "Hello, how can I help?",
                   &(Ccai_twiml_say_opts){.voice = "Polly.Joanna-Neural", .language = "en-US"});
    Ccai_twiml_gather_end(&t);
    Ccai_twiml_redirect(&t, "https://agent.example.test/twilio/voice", "POST");
    expect_twiml(&t, PROLOG "<Response><Gather input=\"speech\" "
                            "action=\"https://agent.example.test/twilio/gather?call=1&amp;t=2\" "
                            "method=\"POST\" language=\"en-US\" hints=\"claim, policy number\" "
                            "speechTimeout=\"auto\" timeout=\"5\" bargeIn=\"true\" "
                            "actionOnEmptyResult=\"true\"><Say voice=\"Polly.Joanna-Neural\" "
                            "language=\"en-US\">Hello, how can I help?</Say></Gather>"
                            "<Redirect method=\"POST\">https://agent.example.test/twilio/voice"
                            "</Redirect></Response>");

    /* A speaking rate: SSML <prosody> inside <Say>, as Twilio's library
     * writes it (say.prosody({rate: '85%'}, text)), escaped, clamped to
     * Polly's 20% .. 200%; none at the voice's own rate. */
    Ccai_twiml_init(&t);
    Ccai_twiml_say(
        &t, "Fish & chips",
        &(Ccai_twiml_say_opts){.voice = "Polly.Lea-Neural", .language = "fr-FR", .rate = 0.85});
    Ccai_twiml_say(&t, "Quick",
                   &(Ccai_twiml_say_opts){.voice = "Google.en-US-Neural2-F", .rate = 9});
    Ccai_twiml_say(&t, "Same", &(Ccai_twiml_say_opts){.voice = "Polly.Joanna", .rate = 1.0});
    Ccai_twiml_say(&t, "", &(Ccai_twiml_say_opts){.voice = "Polly.Joanna", .rate = 0.8});
    expect_twiml(&t, PROLOG "<Response><Say voice=\"Polly.Lea-Neural\" language=\"fr-FR\">"
                            "<prosody rate=\"85%\">Fish &amp; chips</prosody></Say>"
                            "<Say voice=\"Google.en-US-Neural2-F\"><prosody rate=\"200%\">Quick"
                            "</prosody></Say><Say voice=\"Polly.Joanna\">Same</Say>"
                            "<Say voice=\"Polly.Joanna\"/></Response>");
    assert_true(Ccai_twiml_voice_takes_prosody("Polly.Joanna"));
    assert_true(Ccai_twiml_voice_takes_prosody("Polly.Joanna-Neural"));
    assert_true(Ccai_twiml_voice_takes_prosody("Google.fr-FR-Wavenet-A"));
    assert_false(Ccai_twiml_voice_takes_prosody("Polly.Ruth-Generative"));
    assert_false(Ccai_twiml_voice_takes_prosody("Google.en-US-Chirp3-HD-Aoede"));
    assert_false(Ccai_twiml_voice_takes_prosody("alice"));
    assert_false(Ccai_twiml_voice_takes_prosody("man"));
    assert_false(Ccai_twiml_voice_takes_prosody(NULL));

    /* Transfer, then hang up. */
    Ccai_twiml_init(&t);
    Ccai_twiml_say(&t, "Transferring you now.", NULL);
    Ccai_twiml_dial_begin(&t, &(Ccai_twiml_dial_opts){.action = "/twilio/dial",
                                                      .timeout = 20,
                                                      .caller_id = "+15550001111",
                                                      .answer_on_bridge = CCAI_TWIML_FALSE});
    Ccai_twiml_number(&t, "+15550003333", "ww1");
    Ccai_twiml_number(&t, "+15550004444", NULL);
    Ccai_twiml_dial_end(&t);
    Ccai_twiml_hangup(&t);
    expect_twiml(&t, PROLOG "<Response><Say>Transferring you now.</Say><Dial "
                            "action=\"/twilio/dial\" timeout=\"20\" callerId=\"+15550001111\" "
                            "answerOnBridge=\"false\"><Number sendDigits=\"ww1\">+15550003333"
                            "</Number><Number>+15550004444</Number></Dial><Hangup/></Response>");

    /* Empty elements self-close; Play, Pause, Reject. */
    Ccai_twiml_init(&t);
    Ccai_twiml_gather_begin(&t, &(Ccai_twiml_gather_opts){.num_digits = 1, .finish_on_key = ""});
    Ccai_twiml_gather_end(&t);
    Ccai_twiml_gather_begin(&t, NULL);
    Ccai_twiml_play(&t, "https://cdn.example.test/beep.wav", NULL);
    Ccai_twiml_pause(&t, 2);
    Ccai_twiml_gather_end(&t);
    Ccai_twiml_play(&t, NULL, "1w2");
    Ccai_twiml_pause(&t, 0);
    Ccai_twiml_say(&t, "", NULL);
    Ccai_twiml_reject(&t, "busy");
    Ccai_twiml_reject(&t, NULL);
    expect_twiml(&t, PROLOG "<Response><Gather numDigits=\"1\" finishOnKey=\"\"/><Gather><Play>"
                            "https://cdn.example.test/beep.wav</Play><Pause length=\"2\"/></Gather>"
                            "<Play digits=\"1w2\"/><Pause/><Say/><Reject reason=\"busy\"/><Reject/>"
                            "</Response>");
}

static void test_twiml_escaping(void **state)
{
    (void)state;
    Ccai_twiml t;
    Ccai_twiml_init(&t);
    Ccai_twiml_say(&t, "Tom & Jerry <3 \"quotes\" 'apostrophes'\ttab\nline",
                   &(Ccai_twiml_say_opts){.voice = "a\"b<c>&d\te\nf\rg'h"});
    /* Controls XML forbids, invalid UTF-8, U+FFFF: replaced. Valid multi-byte text kept. */
    Ccai_twiml_say(&t,
                   "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80|\x01|\x1F|\xC3|\xC0\xAF|"
                   "\xED\xA0\x80|\xEF\xBF\xBF|\xF4\x90\x80\x80|\x7F",
                   NULL);
    expect_twiml(&t, PROLOG "<Response><Say voice=\"a&quot;b&lt;c&gt;&amp;d&#9;e&#10;f&#13;g'h\">"
                            "Tom &amp; Jerry &lt;3 \"quotes\" 'apostrophes'\ttab\nline</Say>"
                            "<Say>caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80|\xEF\xBF\xBD|"
                            "\xEF\xBF\xBD|\xEF\xBF\xBD|\xEF\xBF\xBD\xEF\xBF\xBD|"
                            "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD|\xEF\xBF\xBD\xEF\xBF\xBD"
                            "\xEF\xBF\xBD|\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD|\x7F"
                            "</Say></Response>");
}

static void test_twiml_errors(void **state)
{
    (void)state;
    Ccai_twiml t;
    char *xml = NULL;

    Ccai_twiml_init(&t);
    Ccai_twiml_number(&t, "+1555", NULL); /* outside <Dial> */
    Ccai_twiml_say(&t, "ignored", NULL);
    assert_int_equal(Ccai_twiml_finish(&t, &xml, NULL), CCAI_ERR_STATE);
    assert_null(xml);
    Ccai_twiml_free(&t);

    Ccai_twiml_init(&t);
    Ccai_twiml_gather_begin(&t, NULL);
    Ccai_twiml_gather_begin(&t, NULL); /* nested */
    assert_int_equal(Ccai_twiml_finish(&t, &xml, NULL), CCAI_ERR_STATE);
    Ccai_twiml_free(&t);

    Ccai_twiml_init(&t);
    Ccai_twiml_gather_begin(&t, NULL);
    Ccai_twiml_hangup(&t); /* not inside <Gather> */
    assert_int_equal(Ccai_twiml_finish(&t, &xml, NULL), CCAI_ERR_STATE);
    Ccai_twiml_free(&t);

    Ccai_twiml_init(&t);
    Ccai_twiml_dial_begin(&t, NULL); /* never closed */
    assert_int_equal(Ccai_twiml_finish(&t, &xml, NULL), CCAI_ERR_STATE);
    Ccai_twiml_free(&t);

    Ccai_twiml_init(&t);
    Ccai_twiml_dial_begin(&t, NULL);
    Ccai_twiml_gather_end(&t); /* wrong end */
    assert_int_equal(Ccai_twiml_finish(&t, &xml, NULL), CCAI_ERR_STATE);
    Ccai_twiml_free(&t);

    Ccai_twiml_init(&t);
    Ccai_twiml_say(&t, NULL, NULL);
    assert_int_equal(Ccai_twiml_finish(&t, &xml, NULL), CCAI_ERR_INVALID_ARG);
    Ccai_twiml_free(&t);

    Ccai_twiml_init(&t);
    Ccai_twiml_play(&t, NULL, NULL);
    Ccai_twiml_redirect(&t, NULL, NULL);
    assert_int_equal(Ccai_twiml_finish(&t, &xml, NULL), CCAI_ERR_INVALID_ARG);
    Ccai_twiml_free(&t);

    Ccai_twiml_init(&t);
    assert_int_equal(Ccai_twiml_finish(&t, NULL, NULL), CCAI_ERR_INVALID_ARG);
    Ccai_twiml_free(&t);

    Ccai_twiml_init(&t);
    assert_int_equal(Ccai_twiml_finish(&t, &xml, NULL), CCAI_OK);
    ccai_free(xml);
    xml = NULL;
    Ccai_twiml_hangup(&t); /* after finish */
    assert_int_equal(Ccai_twiml_finish(&t, &xml, NULL), CCAI_ERR_STATE);
    assert_null(xml);
    Ccai_twiml_free(&t);
    Ccai_twiml_free(NULL);
}

static ccai_status oom_twiml(void)
{
    Ccai_twiml t;
    Ccai_twiml_init(&t);
    Ccai_twiml_gather_begin(&t, &(Ccai_twiml_gather_opts){.input = "speech",
                                                          .action = "https://a.test/g?x=1&y=2",
                                                          .timeout = 5,
                                                          .barge_in = CCAI_TWIML_TRUE});
    Ccai_twiml_say(&t, "Bonjour & bienvenue \xE2\x82\xAC <3",
                   &(Ccai_twiml_say_opts){.voice = "Polly.Lea"});
    Ccai_twiml_gather_end(&t);
    Ccai_twiml_dial_begin(&t, &(Ccai_twiml_dial_opts){.timeout = 20});
    Ccai_twiml_number(&t, "+15550003333", NULL);
    Ccai_twiml_dial_end(&t);
    Ccai_twiml_hangup(&t);
    char *xml = NULL;
    ccai_status st = Ccai_twiml_finish(&t, &xml, NULL);
    Ccai_twiml_free(&t);
    ccai_free(xml);
    return st;
}

static void test_oom(void **state)
{
    (void)state;
    RUN_OOM(oom_form);
    RUN_OOM(oom_signature);
    RUN_OOM(oom_twiml);
}

/* REST client against the stand-in ---------------------------------------------------------- */

typedef struct outcome {
    int done;
    ccai_status st;
    long http_status;
    int attempts;
    int error_code;
    char sid[64];
    char status[32];
    char errmsg[512];
    char more_info[128];
    char body[2048];
    Ccai_twilio_rest **free_client; /* free this client from inside the callback */
} outcome;

static void on_done(ccai_status st, const Ccai_twilio_result *res, void *ud)
{
    outcome *o = ud;
    o->done++;
    o->st = st;
    o->http_status = res->http_status;
    o->attempts = res->attempts;
    o->error_code = res->error_code;
    snprintf(o->sid, sizeof o->sid, "%s", res->sid ? res->sid : "");
    snprintf(o->status, sizeof o->status, "%s", res->status ? res->status : "");
    snprintf(o->errmsg, sizeof o->errmsg, "%s", res->error_message ? res->error_message : "");
    snprintf(o->more_info, sizeof o->more_info, "%s", res->more_info ? res->more_info : "");
    snprintf(o->body, sizeof o->body, "%s", res->body);
    if (st == CCAI_OK)
        assert_null(res->error_message);
    else
        assert_non_null(res->error_message);
    if (o->free_client) {
        Ccai_twilio_rest_free(*o->free_client);
        *o->free_client = NULL;
    }
}

typedef struct env {
    ccai_config *cfg;
    ccai_poll *poll;
    ccai_ctx *ctx;
    twilio_standin *tw;
    Ccai_twilio_rest *client;
} env;

static void env_init_opts(env *e, const char *token, int max_attempts)
{
    memset(e, 0, sizeof *e);
    assert_int_equal(ccai_config_new(&e->cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "database.sqlite.path", ":memory:"), CCAI_OK);
    assert_int_equal(ccai_poll_new(e->cfg, &e->poll, &e->ctx, NULL), CCAI_OK);
    e->tw = twilio_standin_start(NULL, NULL);
    assert_non_null(e->tw);
    Ccai_twilio_rest_opts o = {
        .account_sid = TWILIO_STANDIN_SID,
        .auth_token = token ? token : TWILIO_STANDIN_TOKEN,
        .api_base_url = twilio_standin_url(e->tw),
        .from = "+15550001111",
        .max_attempts = max_attempts,
        .base_backoff_ms = 5,
        .max_backoff_ms = 50,
        .timeout_ms = 5000,
    };
    assert_int_equal(Ccai_twilio_rest_new(e->ctx, &o, &e->client), CCAI_OK);
}

static void env_init(env *e)
{
    env_init_opts(e, NULL, 0);
}

static void env_free(env *e)
{
    Ccai_twilio_rest_free(e->client);
    ccai_poll_free(e->poll);
    ccai_config_free(e->cfg);
    twilio_standin_stop(e->tw);
}

static void run_until(env *e, const outcome *o)
{
    uint64_t deadline = ccai_time_ms() + 10000;
    while (!o->done && ccai_time_ms() < deadline)
        assert_int_equal(ccai_poll_run_once(e->poll, 50), 0);
    assert_int_equal(o->done, 1);
}

static void run_for(env *e, uint64_t ms)
{
    uint64_t deadline = ccai_time_ms() + ms;
    while (ccai_time_ms() < deadline)
        assert_int_equal(ccai_poll_run_once(e->poll, 10), 0);
}

static void assert_param(twilio_standin *tw, int i, const char *name, size_t nth,
                         const char *expected)
{
    char *v = twilio_standin_request_param(tw, i, name, nth);
    if (!expected) {
        assert_null(v);
        return;
    }
    assert_non_null(v);
    assert_string_equal(v, expected);
    free(v);
}

static bool is_sid(const char *s, const char *prefix)
{
    if (strlen(s) != 34 || strncmp(s, prefix, 2) != 0)
        return false;
    for (int i = 2; i < 34; i++) {
        if (!strchr("0123456789abcdef", s[i]))
            return false;
    }
    return true;
}

/* Create a call on the stand-in and return its sid in out. */
static void create_call(env *e, char *out, size_t n)
{
    outcome o = {0};
    Ccai_twilio_call_params p = {.to = "+15550002222", .url = "https://agent.test/voice"};
    assert_int_equal(Ccai_twilio_call_create(e->client, &p, on_done, &o, NULL), CCAI_OK);
    run_until(e, &o);
    assert_int_equal(o.st, CCAI_OK);
    snprintf(out, n, "%s", o.sid);
}

static void test_rest_create_call(void **state)
{
    (void)state;
    env e;
    env_init(&e);
    outcome o = {0};
    const char *events[] = {"initiated", "ringing", "answered", "completed", NULL};
    Ccai_twilio_call_params p = {
        .to = "+15550002222",
        .url = "https://agent.test/twilio/voice?tenant=42&x=a b",
        .method = "POST",
        .status_callback = "https://agent.test/twilio/status",
        .status_callback_events = events,
        .status_callback_method = "POST",
        .timeout = 30,
        .record = true,
        .recording_status_callback = "https://agent.test/twilio/recording",
    };
    Ccai_twilio_op *op = NULL;
    assert_int_equal(Ccai_twilio_call_create(e.client, &p, on_done, &o, &op), CCAI_OK);
    assert_non_null(op);
    assert_int_equal(o.done, 0); /* never from inside the start */
    run_until(&e, &o);
    assert_int_equal(o.st, CCAI_OK);
    assert_int_equal(o.http_status, 201);
    assert_int_equal(o.attempts, 1);
    assert_true(is_sid(o.sid, "CA"));
    assert_string_equal(o.status, "queued");
    assert_int_equal(o.error_code, 0);
    assert_non_null(strstr(o.body, "\"direction\":\"outbound-api\""));

    assert_int_equal(twilio_standin_request_count(e.tw), 1);
    char *s = twilio_standin_request_method(e.tw, 0);
    assert_string_equal(s, "POST");
    free(s);
    s = twilio_standin_request_path(e.tw, 0);
    assert_string_equal(s, "/2010-04-01/Accounts/" TWILIO_STANDIN_SID "/Calls.json");
    free(s);
    /* printf '%s' 'AC0123456789abcdef0123456789abcdef:standin-auth-token' | base64 -w0 */
    s = twilio_standin_request_header(e.tw, 0, "authorization");
    assert_string_equal(
        s, "Basic QUMwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZjpzdGFuZGluLWF1dGgtdG9rZW4=");
    free(s);
    s = twilio_standin_request_header(e.tw, 0, "Content-Type");
    assert_string_equal(s, "application/x-www-form-urlencoded");
    free(s);
    s = twilio_standin_request_params(e.tw, 0);
    assert_string_equal(s, "To=+15550002222\nFrom=+15550001111\n"
                           "Url=https://agent.test/twilio/voice?tenant=42&x=a b\nMethod=POST\n"
                           "StatusCallback=https://agent.test/twilio/status\n"
                           "StatusCallbackEvent=initiated\nStatusCallbackEvent=ringing\n"
                           "StatusCallbackEvent=answered\nStatusCallbackEvent=completed\n"
                           "StatusCallbackMethod=POST\nTimeout=30\nRecord=true\n"
                           "RecordingStatusCallback=https://agent.test/twilio/recording\n");
    free(s);
    s = twilio_standin_request_body(e.tw, 0);
    assert_non_null(
        strstr(s, "Url=https%3A%2F%2Fagent.test%2Ftwilio%2Fvoice%3Ftenant%3D42%26x%3Da+b"));
    free(s);
    assert_int_equal(twilio_standin_request_param_count(e.tw, 0, "StatusCallbackEvent"), 4);
    assert_int_equal(twilio_standin_request_status(e.tw, 0), 201);

    /* Inline TwiML and an explicit From. */
    memset(&o, 0, sizeof o);
    const char *twiml = PROLOG "<Response><Say>Hi &amp; bye</Say></Response>";
    Ccai_twilio_call_params p2 = {.to = "client:alice", .from = "+15550009999", .twiml = twiml};
    assert_int_equal(Ccai_twilio_call_create(e.client, &p2, on_done, &o, NULL), CCAI_OK);
    run_until(&e, &o);
    assert_int_equal(o.st, CCAI_OK);
    assert_param(e.tw, 1, "Twiml", 0, twiml);
    assert_param(e.tw, 1, "From", 0, "+15550009999");
    assert_param(e.tw, 1, "Url", 0, NULL);
    env_free(&e);
}

static void test_rest_update_and_end(void **state)
{
    (void)state;
    env e;
    env_init(&e);
    char sid[64];
    create_call(&e, sid, sizeof sid);
    assert_int_equal(twilio_standin_set_call_status(e.tw, sid, "in-progress"), 0);

    outcome o = {0};
    assert_int_equal(Ccai_twilio_call_redirect(e.client, sid, "https://agent.test/next", "POST",
                                               on_done, &o, NULL),
                     CCAI_OK);
    run_until(&e, &o);
    assert_int_equal(o.st, CCAI_OK);
    assert_int_equal(o.http_status, 200);
    assert_string_equal(o.sid, sid);
    assert_string_equal(o.status, "in-progress");
    char *path = twilio_standin_request_path(e.tw, 1);
    char expected[256];
    snprintf(expected, sizeof expected, "/2010-04-01/Accounts/%s/Calls/%s.json", TWILIO_STANDIN_SID,
             sid);
    assert_string_equal(path, expected);
    free(path);
    char *params = twilio_standin_request_params(e.tw, 1);
    assert_string_equal(params, "Url=https://agent.test/next\nMethod=POST\n");
    free(params);

    memset(&o, 0, sizeof o);
    assert_int_equal(Ccai_twilio_call_update_twiml(e.client, sid, "<Response><Hangup/></Response>",
                                                   on_done, &o, NULL),
                     CCAI_OK);
    run_until(&e, &o);
    assert_int_equal(o.st, CCAI_OK);
    assert_param(e.tw, 2, "Twiml", 0, "<Response><Hangup/></Response>");

    memset(&o, 0, sizeof o);
    assert_int_equal(Ccai_twilio_call_end(e.client, sid, false, on_done, &o, NULL), CCAI_OK);
    run_until(&e, &o);
    assert_int_equal(o.st, CCAI_OK);
    assert_string_equal(o.status, "completed");
    assert_param(e.tw, 3, "Status", 0, "completed");
    char *st = twilio_standin_call_status(e.tw, sid);
    assert_string_equal(st, "completed");
    free(st);

    /* Hanging up again: 404 / 20404, not retried. */
    memset(&o, 0, sizeof o);
    assert_int_equal(Ccai_twilio_call_end(e.client, sid, false, on_done, &o, NULL), CCAI_OK);
    run_until(&e, &o);
    assert_int_equal(o.st, CCAI_ERR_NOT_FOUND);
    assert_int_equal(o.http_status, 404);
    assert_int_equal(o.error_code, 20404);
    assert_int_equal(o.attempts, 1);
    assert_string_equal(o.more_info, "https://www.twilio.com/docs/errors/20404");
    assert_non_null(strstr(o.errmsg, "twilio: HTTP 404, error 20404: The requested resource"));

    /* Redirecting an ended call: 400 / 21220. */
    memset(&o, 0, sizeof o);
    assert_int_equal(
        Ccai_twilio_call_redirect(e.client, sid, "https://agent.test/x", NULL, on_done, &o, NULL),
        CCAI_OK);
    run_until(&e, &o);
    assert_int_equal(o.st, CCAI_ERR_HTTP);
    assert_int_equal(o.error_code, 21220);
    assert_string_equal(o.errmsg,
                        "twilio: HTTP 400, error 21220: Call is not in-progress. Cannot redirect.");

    /* Cancel a ringing call. */
    create_call(&e, sid, sizeof sid);
    memset(&o, 0, sizeof o);
    assert_int_equal(Ccai_twilio_call_end(e.client, sid, true, on_done, &o, NULL), CCAI_OK);
    run_until(&e, &o);
    assert_int_equal(o.st, CCAI_OK);
    assert_string_equal(o.status, "canceled");
    env_free(&e);
}

static void test_rest_sms(void **state)
{
    (void)state;
    env e;
    env_init(&e);
    outcome o = {0};
    Ccai_twilio_sms_params p = {.to = "+15550002222",
                                .body = "Your claim CL-42 is registered. Merci & à bientôt!",
                                .status_callback = "https://agent.test/twilio/sms-status"};
    assert_int_equal(Ccai_twilio_sms_send(e.client, &p, on_done, &o, NULL), CCAI_OK);
    run_until(&e, &o);
    assert_int_equal(o.st, CCAI_OK);
    assert_int_equal(o.http_status, 201);
    assert_true(is_sid(o.sid, "SM"));
    assert_string_equal(o.status, "queued");
    char *s = twilio_standin_request_path(e.tw, 0);
    assert_string_equal(s, "/2010-04-01/Accounts/" TWILIO_STANDIN_SID "/Messages.json");
    free(s);
    s = twilio_standin_request_params(e.tw, 0);
    assert_string_equal(s, "To=+15550002222\nFrom=+15550001111\n"
                           "Body=Your claim CL-42 is registered. Merci & à bientôt!\n"
                           "StatusCallback=https://agent.test/twilio/sms-status\n");
    free(s);

    /* Through a messaging service: no From. */
    memset(&o, 0, sizeof o);
    Ccai_twilio_sms_params q = {.to = "+15550002222", .messaging_service_sid = "MG123", .body = ""};
    assert_int_equal(Ccai_twilio_sms_send(e.client, &q, on_done, &o, NULL), CCAI_OK);
    run_until(&e, &o);
    assert_int_equal(o.st, CCAI_OK);
    assert_string_equal(o.status, "accepted");
    assert_param(e.tw, 1, "From", 0, NULL);
    assert_param(e.tw, 1, "MessagingServiceSid", 0, "MG123");
    env_free(&e);
}

static void test_rest_errors(void **state)
{
    (void)state;
    env e;
    env_init_opts(&e, "wrong-token", 0);
    outcome o = {0};
    Ccai_twilio_call_params p = {.to = "+15550002222", .url = "https://agent.test/voice"};
    assert_int_equal(Ccai_twilio_call_create(e.client, &p, on_done, &o, NULL), CCAI_OK);
    run_until(&e, &o);
    assert_int_equal(o.st, CCAI_ERR_HTTP);
    assert_int_equal(o.http_status, 401);
    assert_int_equal(o.error_code, 20003);
    assert_int_equal(o.attempts, 1);
    assert_string_equal(o.errmsg, "twilio: HTTP 401, error 20003: Authenticate");
    assert_string_equal(o.sid, "");
    char *www = twilio_standin_request_header(e.tw, 0, "Authorization");
    assert_non_null(www);
    free(www);
    env_free(&e);

    env_init(&e);
    /* A validation error from Twilio itself. */
    memset(&o, 0, sizeof o);
    Ccai_twilio_call_params bad = {.to = "555-0000", .url = "https://agent.test/voice"};
    assert_int_equal(Ccai_twilio_call_create(e.client, &bad, on_done, &o, NULL), CCAI_OK);
    run_until(&e, &o);
    assert_int_equal(o.st, CCAI_ERR_HTTP);
    assert_int_equal(o.error_code, 21211);
    assert_string_equal(o.errmsg,
                        "twilio: HTTP 400, error 21211: Invalid 'To' Phone Number: 555-0000");
    assert_string_equal(o.more_info, "https://www.twilio.com/docs/errors/21211");

    /* An injected 400 with its own code is not retried. */
    memset(&o, 0, sizeof o);
    twilio_standin_push_fault(
        e.tw, &(twilio_standin_fault){.status = 400,
                                      .code = 21610,
                                      .message = "Attempt to send to unsubscribed recipient"});
    Ccai_twilio_sms_params sms = {.to = "+15550002222", .body = "hi"};
    assert_int_equal(Ccai_twilio_sms_send(e.client, &sms, on_done, &o, NULL), CCAI_OK);
    run_until(&e, &o);
    assert_int_equal(o.st, CCAI_ERR_HTTP);
    assert_int_equal(o.error_code, 21610);
    assert_int_equal(o.attempts, 1);
    assert_string_equal(o.errmsg, "twilio: HTTP 400, error 21610: Attempt to send to "
                                  "unsubscribed recipient");

    /* Invalid starts: no request, no callback. (The stand-in logs a request
     * once it has answered it: let the last one land first.) */
    run_for(&e, 50);
    int before = twilio_standin_request_count(e.tw);
    Ccai_twilio_call_params none = {.to = "+15550002222"};
    Ccai_twilio_call_params two = {.to = "+1", .url = "u", .twiml = "t"};
    Ccai_twilio_call_params no_to = {.url = "u"};
    assert_int_equal(Ccai_twilio_call_create(e.client, &none, on_done, &o, NULL),
                     CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_twilio_call_create(e.client, &two, on_done, &o, NULL),
                     CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_twilio_call_create(e.client, &no_to, on_done, &o, NULL),
                     CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_twilio_call_create(e.client, &p, NULL, &o, NULL), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_twilio_call_create(NULL, &p, on_done, &o, NULL), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_twilio_call_end(e.client, "CA1/../x", false, on_done, &o, NULL),
                     CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_twilio_call_end(e.client, "", false, on_done, &o, NULL),
                     CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_twilio_call_redirect(e.client, "CA1", NULL, NULL, on_done, &o, NULL),
                     CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_twilio_call_update_twiml(e.client, "CA1", "", on_done, &o, NULL),
                     CCAI_ERR_INVALID_ARG);
    Ccai_twilio_sms_params no_body = {.to = "+1"};
    assert_int_equal(Ccai_twilio_sms_send(e.client, &no_body, on_done, &o, NULL),
                     CCAI_ERR_INVALID_ARG);
    run_for(&e, 50);
    assert_int_equal(twilio_standin_request_count(e.tw), before);
    assert_int_equal(o.done, 1);
    env_free(&e);

    /* Constructor checks. */
    ccai_config *cfg;
    ccai_poll *pl = NULL;
    ccai_ctx *ctx = NULL;
    Ccai_twilio_rest *c = NULL;
    assert_int_equal(ccai_config_new(&cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "database.sqlite.path", ":memory:"), CCAI_OK);
    assert_int_equal(ccai_poll_new(cfg, &pl, &ctx, NULL), CCAI_OK);
    Ccai_twilio_rest_opts ro = {.account_sid = "AC1/x", .auth_token = "t"};
    assert_int_equal(Ccai_twilio_rest_new(ctx, &ro, &c), CCAI_ERR_INVALID_ARG);
    ro.account_sid = "AC1";
    ro.auth_token = "";
    assert_int_equal(Ccai_twilio_rest_new(ctx, &ro, &c), CCAI_ERR_INVALID_ARG);
    assert_null(c);
    assert_int_equal(Ccai_twilio_rest_from_config(ctx, cfg, &c), CCAI_ERR_CONFIG);
    assert_non_null(strstr(ccai_ctx_errmsg(ctx), "twilio.account_sid"));
    ccai_poll_free(pl);
    ccai_config_free(cfg);
}

static void test_rest_retries(void **state)
{
    (void)state;
    env e;
    env_init(&e);
    Ccai_twilio_call_params p = {.to = "+15550002222", .url = "https://agent.test/voice"};

    /* 429 with Retry-After: 1 is honoured. */
    outcome o = {0};
    twilio_standin_push_fault(e.tw, &(twilio_standin_fault){.status = 429, .retry_after = 1});
    uint64_t t0 = ccai_time_ms();
    assert_int_equal(Ccai_twilio_call_create(e.client, &p, on_done, &o, NULL), CCAI_OK);
    run_until(&e, &o);
    uint64_t took = ccai_time_ms() - t0;
    assert_int_equal(o.st, CCAI_OK);
    assert_int_equal(o.attempts, 2);
    assert_true(is_sid(o.sid, "CA"));
    assert_true(took >= 950);
    assert_int_equal(twilio_standin_request_status(e.tw, 0), 429);
    assert_int_equal(twilio_standin_request_status(e.tw, 1), 201);

    /* 500 then 503 then success, on exponential backoff. */
    memset(&o, 0, sizeof o);
    twilio_standin_push_fault(e.tw, &(twilio_standin_fault){.status = 500});
    twilio_standin_push_fault(e.tw, &(twilio_standin_fault){.status = 503});
    assert_int_equal(Ccai_twilio_call_create(e.client, &p, on_done, &o, NULL), CCAI_OK);
    run_until(&e, &o);
    assert_int_equal(o.st, CCAI_OK);
    assert_int_equal(o.attempts, 3);
    assert_int_equal(twilio_standin_faults_pending(e.tw), 0);

    /* Every attempt fails: the last error, with the count. */
    memset(&o, 0, sizeof o);
    for (int i = 0; i < 5; i++)
        twilio_standin_push_fault(e.tw, &(twilio_standin_fault){.status = 500});
    assert_int_equal(Ccai_twilio_call_create(e.client, &p, on_done, &o, NULL), CCAI_OK);
    run_until(&e, &o);
    assert_int_equal(o.st, CCAI_ERR_HTTP);
    assert_int_equal(o.attempts, 4);
    assert_int_equal(o.error_code, 20500);
    assert_string_equal(o.errmsg,
                        "twilio: HTTP 500, error 20500: Internal Server Error (after 4 attempts)");
    assert_int_equal(twilio_standin_faults_pending(e.tw), 1);
    env_free(&e);

    /* A proxy's HTML page, one attempt only. */
    env_init_opts(&e, NULL, 1);
    memset(&o, 0, sizeof o);
    twilio_standin_push_fault(
        e.tw, &(twilio_standin_fault){.status = 502,
                                      .raw_body = "<html>\n<h1>502 Bad Gateway</h1></html>"});
    assert_int_equal(Ccai_twilio_call_create(e.client, &p, on_done, &o, NULL), CCAI_OK);
    run_until(&e, &o);
    assert_int_equal(o.st, CCAI_ERR_HTTP);
    assert_int_equal(o.attempts, 1);
    assert_int_equal(o.error_code, 0);
    assert_string_equal(o.errmsg, "twilio: HTTP 502: <html> <h1>502 Bad Gateway</h1></html>");
    env_free(&e);
}

static void test_rest_transport(void **state)
{
    (void)state;
    env e;
    env_init(&e);
    Ccai_twilio_call_params p = {.to = "+15550002222", .url = "https://agent.test/voice"};

    /* A create whose reply never came is not repeated: it may have worked. */
    outcome o = {0};
    twilio_standin_push_fault(e.tw, &(twilio_standin_fault){.drop = 1});
    assert_int_equal(Ccai_twilio_call_create(e.client, &p, on_done, &o, NULL), CCAI_OK);
    run_until(&e, &o);
    assert_int_equal(o.st, CCAI_ERR_HTTP);
    assert_int_equal(o.attempts, 1);
    assert_int_equal(o.http_status, 0);
    assert_non_null(strstr(o.errmsg, "twilio: "));
    assert_int_equal(twilio_standin_request_status(e.tw, 0), -1);

    /* Ending a call is: the same request again does no harm. */
    char sid[64];
    create_call(&e, sid, sizeof sid);
    memset(&o, 0, sizeof o);
    twilio_standin_push_fault(e.tw, &(twilio_standin_fault){.drop = 1});
    assert_int_equal(Ccai_twilio_call_end(e.client, sid, false, on_done, &o, NULL), CCAI_OK);
    run_until(&e, &o);
    assert_int_equal(o.st, CCAI_OK);
    assert_int_equal(o.attempts, 2);
    env_free(&e);

    /* Nobody listening. */
    env_init(&e);
    Ccai_twilio_rest *c = NULL;
    Ccai_twilio_rest_opts ro = {.account_sid = "AC1",
                                .auth_token = "t",
                                .api_base_url = "http://127.0.0.1:1/",
                                .from = "+1555"};
    assert_int_equal(Ccai_twilio_rest_new(e.ctx, &ro, &c), CCAI_OK);
    memset(&o, 0, sizeof o);
    assert_int_equal(Ccai_twilio_call_create(c, &p, on_done, &o, NULL), CCAI_OK);
    run_until(&e, &o);
    assert_int_equal(o.st, CCAI_ERR_HTTP);
    assert_int_equal(o.attempts, 1);
    Ccai_twilio_rest_free(c);

    /* A reply too slow for the client's timeout. */
    ro = (Ccai_twilio_rest_opts){.account_sid = TWILIO_STANDIN_SID,
                                 .auth_token = TWILIO_STANDIN_TOKEN,
                                 .api_base_url = twilio_standin_url(e.tw),
                                 .from = "+1555",
                                 .timeout_ms = 200};
    assert_int_equal(Ccai_twilio_rest_new(e.ctx, &ro, &c), CCAI_OK);
    memset(&o, 0, sizeof o);
    twilio_standin_push_fault(e.tw, &(twilio_standin_fault){.status = 500, .delay_ms = 600});
    assert_int_equal(Ccai_twilio_call_create(c, &p, on_done, &o, NULL), CCAI_OK);
    run_until(&e, &o);
    assert_int_equal(o.st, CCAI_ERR_TIMEOUT);
    Ccai_twilio_rest_free(c);
    env_free(&e);
}

static void test_rest_cancel(void **state)
{
    (void)state;
    env e;
    env_init(&e);
    Ccai_twilio_call_params p = {.to = "+15550002222", .url = "https://agent.test/voice"};

    /* Cancel while the request is in flight. */
    outcome o = {0};
    Ccai_twilio_op *op = NULL;
    twilio_standin_push_fault(e.tw, &(twilio_standin_fault){.status = 500, .delay_ms = 200});
    assert_int_equal(Ccai_twilio_call_create(e.client, &p, on_done, &o, &op), CCAI_OK);
    run_for(&e, 50);
    Ccai_twilio_op_cancel(op);
    run_for(&e, 300);
    assert_int_equal(o.done, 0);

    /* Cancel while waiting to retry. */
    twilio_standin_push_fault(e.tw, &(twilio_standin_fault){.status = 429, .retry_after = 2});
    assert_int_equal(Ccai_twilio_call_create(e.client, &p, on_done, &o, &op), CCAI_OK);
    int before = twilio_standin_request_count(e.tw);
    uint64_t deadline = ccai_time_ms() + 5000;
    while (twilio_standin_request_count(e.tw) == before && ccai_time_ms() < deadline)
        run_for(&e, 10);
    run_for(&e, 50);
    Ccai_twilio_op_cancel(op);
    Ccai_twilio_op_cancel(NULL);
    run_for(&e, 100);
    assert_int_equal(o.done, 0);

    /* Free the client with one operation in flight and one backing off. */
    twilio_standin_push_fault(e.tw, &(twilio_standin_fault){.status = 429, .retry_after = 2});
    twilio_standin_push_fault(e.tw, &(twilio_standin_fault){.status = 500, .delay_ms = 300});
    assert_int_equal(Ccai_twilio_call_create(e.client, &p, on_done, &o, NULL), CCAI_OK);
    run_for(&e, 100);
    assert_int_equal(Ccai_twilio_call_create(e.client, &p, on_done, &o, NULL), CCAI_OK);
    run_for(&e, 50);
    Ccai_twilio_rest_free(e.client);
    e.client = NULL;
    run_for(&e, 400);
    assert_int_equal(o.done, 0);

    /* Free the client from inside a callback while another operation runs. */
    env_free(&e);
    env_init(&e);
    outcome first = {.free_client = &e.client}, second = {0};
    twilio_standin_push_fault(e.tw, &(twilio_standin_fault){.status = 400, .delay_ms = 150});
    twilio_standin_push_fault(e.tw, &(twilio_standin_fault){.status = 500, .delay_ms = 300});
    assert_int_equal(Ccai_twilio_call_create(e.client, &p, on_done, &first, NULL), CCAI_OK);
    run_for(&e, 50);
    assert_int_equal(Ccai_twilio_call_create(e.client, &p, on_done, &second, NULL), CCAI_OK);
    run_until(&e, &first);
    assert_int_equal(first.st, CCAI_ERR_HTTP);
    assert_null(e.client);
    run_for(&e, 400);
    assert_int_equal(second.done, 0);
    env_free(&e);
}

static ccai_poll *oom_poll; /* a context made before the allocator changes */

static ccai_status oom_rest_start(void)
{
    Ccai_twilio_rest *c = NULL;
    Ccai_twilio_rest_opts ro = {.account_sid = "AC1",
                                .auth_token = "t",
                                .api_base_url = "http://127.0.0.1:1",
                                .from = "+1555"};
    ccai_status st = Ccai_twilio_rest_new(oom_poll->ctx, &ro, &c);
    if (st != CCAI_OK)
        return st;
    const char *events[] = {"initiated", "completed", NULL};
    Ccai_twilio_call_params p = {.to = "+15550002222",
                                 .url = "https://agent.test/voice?a=b",
                                 .status_callback_events = events,
                                 .record = true};
    outcome o = {0};
    Ccai_twilio_op *op = NULL;
    st = Ccai_twilio_call_create(c, &p, on_done, &o, &op);
    if (st == CCAI_OK) {
        Ccai_twilio_op_cancel(op);
        st = Ccai_twilio_call_end(c, "CA1", false, on_done, &o, NULL);
    }
    Ccai_twilio_rest_free(c); /* cancels the end */
    return o.done ? CCAI_ERR_INTERNAL : st;
}

static void test_rest_oom(void **state)
{
    (void)state;
    ccai_config *cfg;
    ccai_ctx *ctx = NULL;
    assert_int_equal(ccai_config_new(&cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "database.sqlite.path", ":memory:"), CCAI_OK);
    assert_int_equal(ccai_poll_new(cfg, &oom_poll, &ctx, NULL), CCAI_OK);
    assert_int_equal(oom_rest_start(), CCAI_OK); /* warm up the context's own buffers */
    RUN_OOM(oom_rest_start);
    ccai_poll_free(oom_poll);
    ccai_config_free(cfg);
}

static void test_rest_from_config(void **state)
{
    (void)state;
    twilio_standin *tw = twilio_standin_start(NULL, NULL);
    assert_non_null(tw);
    ccai_config *cfg;
    ccai_poll *pl = NULL;
    ccai_ctx *ctx = NULL;
    assert_int_equal(ccai_config_new(&cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "database.sqlite.path", ":memory:"), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "twilio.account_sid", TWILIO_STANDIN_SID), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "twilio.auth_token", TWILIO_STANDIN_TOKEN), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "twilio.phone_number", "+15550007777"), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "twilio.api_base_url", twilio_standin_url(tw)), CCAI_OK);
    assert_int_equal(ccai_poll_new(cfg, &pl, &ctx, NULL), CCAI_OK);
    Ccai_twilio_rest *c = NULL;
    assert_int_equal(Ccai_twilio_rest_from_config(ctx, cfg, &c), CCAI_OK);
    outcome o = {0};
    Ccai_twilio_sms_params p = {.to = "+15550002222", .body = "hello"};
    assert_int_equal(Ccai_twilio_sms_send(c, &p, on_done, &o, NULL), CCAI_OK);
    uint64_t deadline = ccai_time_ms() + 10000;
    while (!o.done && ccai_time_ms() < deadline)
        assert_int_equal(ccai_poll_run_once(pl, 50), 0);
    assert_int_equal(o.st, CCAI_OK);
    assert_param(tw, 0, "From", 0, "+15550007777");
    Ccai_twilio_rest_free(c);
    ccai_poll_free(pl);
    ccai_config_free(cfg);
    twilio_standin_stop(tw);
}

/* Signed webhooks: the stand-in signs, the library validates ---------------------------------- */

typedef struct sink {
    int fd;
    int port;
    pthread_t thread;
    const char *token;
    const char *public_url; /* the URL to validate against */
    char path[1024];        /* target of the last request */
} sink;

static void *sink_main(void *arg)
{
    sink *k = arg;
    int c = accept(k->fd, NULL, NULL);
    if (c < 0)
        return NULL;
    char *buf = calloc(1, 65536 + 1);
    size_t len = 0;
    char *end = NULL;
    while (!end && len < 65536) {
        ssize_t n = recv(c, buf + len, 65536 - len, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
        end = strstr(buf, "\r\n\r\n");
    }
    size_t clen = 0;
    char sig[128] = "";
    const char *ctype = "";
    for (char *line = buf; end && line < end; line = strstr(line, "\r\n") + 2) {
        if (strncasecmp(line, "Content-Length:", 15) == 0)
            clen = strtoul(line + 15, NULL, 10);
        if (strncasecmp(line, "X-Twilio-Signature:", 19) == 0)
            sscanf(line + 19, " %127[^\r\n]", sig);
        if (strncasecmp(line, "Content-Type: application/json", 30) == 0)
            ctype = "json";
    }
    sscanf(buf, "%*s %1023s", k->path);
    size_t head = end ? (size_t)(end - buf) + 4 : len;
    while (end && len < head + clen && len < 65536) {
        ssize_t n = recv(c, buf + len, 65536 - len, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    const char *body = buf + head;
    Ccai_form f = {0};
    bool ok = false;
    if (strcmp(ctype, "json") == 0)
        ok = Ccai_twilio_signature_valid(k->token, k->public_url, NULL, body, clen,
                                         sig[0] ? sig : NULL);
    else if (Ccai_form_parse(body, clen, &f, NULL) == CCAI_OK)
        ok = Ccai_twilio_signature_valid(k->token, k->public_url, &f, NULL, 0, sig[0] ? sig : NULL);
    char reply[256];
    const char *text = ok ? "valid" : "forbidden";
    int n = snprintf(reply, sizeof reply,
                     "HTTP/1.1 %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
                     ok ? "200 OK" : "403 Forbidden", strlen(text), text);
    send(c, reply, (size_t)n, MSG_NOSIGNAL);
    Ccai_form_free(&f);
    free(buf);
    close(c);
    return NULL;
}

static void sink_start(sink *k, const char *token)
{
    memset(k, 0, sizeof *k);
    k->token = token;
    k->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    assert_int_equal(bind(k->fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(k->fd, 4), 0);
    assert_int_equal(getsockname(k->fd, (struct sockaddr *)&a, &alen), 0);
    k->port = ntohs(a.sin_port);
}

static int sink_post(sink *k, const twilio_standin_webhook_opts *o, char **ret)
{
    assert_int_equal(pthread_create(&k->thread, NULL, sink_main, k), 0);
    int status = twilio_standin_webhook_ex(o, ret);
    pthread_join(k->thread, NULL);
    return status;
}

static void test_webhooks(void **state)
{
    (void)state;
    sink k;
    sink_start(&k, "hook-token");
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/twilio/voice?tenant=42", k.port);
    const char *params[] = {
        "CallSid",      "CA00000000000000000000000000000001",
        "AccountSid",   "AC00000000000000000000000000000001",
        "From",         "+15550001111",
        "To",           "+15550002222",
        "SpeechResult", "I'd like to file a claim & a \"report\"",
        "Confidence",   "0.91",
        "CallStatus",   "in-progress",
        NULL,
    };

    k.public_url = url;
    char *reply = NULL;
    assert_int_equal(twilio_standin_webhook(NULL, "t", params, &reply), -1);
    assert_null(reply);
    twilio_standin_webhook_opts o = {.url = url, .auth_token = "hook-token", .params = params};
    assert_int_equal(sink_post(&k, &o, &reply), 200);
    assert_string_equal(reply, "200\nvalid");
    free(reply);
    assert_string_equal(k.path, "/twilio/voice?tenant=42");

    /* Forged, missing, wrong key. */
    o.forge = 1;
    assert_int_equal(sink_post(&k, &o, &reply), 403);
    assert_string_equal(reply, "403\nforbidden");
    free(reply);
    o.forge = 0;
    o.no_signature = 1;
    assert_int_equal(sink_post(&k, &o, NULL), 403);
    o.no_signature = 0;
    o.auth_token = "other-token";
    assert_int_equal(sink_post(&k, &o, NULL), 403);
    o.auth_token = "hook-token";

    /* Behind a proxy: Twilio signed the public https URL. */
    o.signed_url = "https://agent.example.test/twilio/voice?tenant=42";
    assert_int_equal(sink_post(&k, &o, NULL), 403); /* validated against the internal URL */
    k.public_url = "https://agent.example.test:443/twilio/voice?tenant=42";
    assert_int_equal(sink_post(&k, &o, NULL), 200);

    /* JSON body. */
    o = (twilio_standin_webhook_opts){.url = url,
                                      .auth_token = "hook-token",
                                      .json_body = "{\"event\":\"test\",\"value\":1}",
                                      .signed_url =
                                          "https://agent.example.test/twilio/voice?tenant=42"};
    k.public_url = "https://agent.example.test/twilio/voice?tenant=42&bodySHA256="
                   "7be7ef15405a070759439234b1431f7e8435071ed72dc35fa03fcce0c70b7999";
    assert_int_equal(sink_post(&k, &o, NULL), 200);
    assert_non_null(strstr(k.path, "&bodySHA256=7be7ef15405a0707"));
    close(k.fd);

    /* The stand-in's own signer agrees with the library on the vectors. */
    const char *py[] = {"CallSid", "CA1234567890ABCDE", "Caller", "+14158675309", "Digits", "1234",
                        "From",    "+14158675309",      "To",     "+18005551212", NULL};
    char *sig = twilio_standin_signature("12345", PY_URL, py);
    assert_string_equal(sig, "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
    free(sig);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* forms */
        cmocka_unit_test(test_form_parse),
        cmocka_unit_test(test_form_parse_errors),
        cmocka_unit_test(test_form_limits),
        cmocka_unit_test(test_form_encode),
        /* signatures */
        cmocka_unit_test(test_signature_vectors),
        cmocka_unit_test(test_signature_signer),
        cmocka_unit_test(test_signature_json_body),
        cmocka_unit_test(test_signature_ports),
        cmocka_unit_test(test_signature_rejects),
        /* TwiML */
        cmocka_unit_test(test_twiml_documents),
        cmocka_unit_test(test_twiml_escaping),
        cmocka_unit_test(test_twiml_errors),
        cmocka_unit_test(test_oom),
        /* REST client */
        cmocka_unit_test(test_rest_create_call),
        cmocka_unit_test(test_rest_update_and_end),
        cmocka_unit_test(test_rest_sms),
        cmocka_unit_test(test_rest_errors),
        cmocka_unit_test(test_rest_retries),
        cmocka_unit_test(test_rest_transport),
        cmocka_unit_test(test_rest_cancel),
        cmocka_unit_test(test_rest_oom),
        cmocka_unit_test(test_rest_from_config),
        /* webhooks */
        cmocka_unit_test(test_webhooks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
