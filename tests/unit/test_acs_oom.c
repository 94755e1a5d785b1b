/* Out-of-memory injection into the ACS building blocks: every allocation
 * of the event parser, the key-set parser, the SSML builder, the chunker
 * and the request signer fails in turn; each run must end in CCAI_OK or
 * CCAI_ERR_NOMEM (never a parse error invented by a failed allocation),
 * with nothing leaked and nothing crashed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "channels/acs/acs_events.h"
#include "channels/acs/acs_sig.h"
#include "core/json.h"
#include "http/jwt.h"
#include "support/oom.h"
#include "tts/ssml.h"

#include <stdlib.h>
#include <string.h>

/* Every allocation fails in turn (support/oom.c); each module has some. */
static void exhaust(const char *name, oom_scenario fn)
{
    int nomem = 0;
    assert_true(oom_exhaust(name, fn, &nomem) > 0);
    assert_true(nomem > 0);
}

static const char events_body[] =
    "[{\"id\":\"1\",\"source\":\"calling/callConnections/c1\",\"type\":"
    "\"Microsoft.Communication.CallConnected\",\"data\":{\"callConnectionId\":\"c1\","
    "\"serverCallId\":\"s1\",\"correlationId\":\"k1\",\"operationContext\":\"start\"}},"
    "{\"id\":\"2\",\"type\":\"Microsoft.Communication.RecognizeCompleted\",\"data\":{"
    "\"callConnectionId\":\"c1\",\"recognitionType\":\"speech\",\"speechResult\":{"
    "\"speech\":\"My parcel is late\",\"confidence\":0.9},\"resultInformation\":{"
    "\"code\":200,\"subCode\":8531,\"message\":\"ok\"}}},"
    "{\"id\":\"3\",\"type\":\"Microsoft.Communication.RecognizeCompleted\",\"data\":{"
    "\"callConnectionId\":\"c1\",\"recognitionType\":\"dtmf\",\"dtmfResult\":{"
    "\"tones\":[\"one\",\"pound\"]}}},"
    "{\"id\":\"4\",\"type\":\"Microsoft.Communication.RecognizeFailed\",\"data\":{"
    "\"callConnectionId\":\"c1\",\"resultInformation\":{\"code\":400,\"subCode\":8510,"
    "\"message\":\"silence\"}}},"
    "{\"id\":\"5\",\"eventType\":\"Microsoft.Communication.IncomingCall\",\"data\":{"
    "\"to\":{\"kind\":\"phoneNumber\",\"rawId\":\"4:+33100000000\",\"phoneNumber\":{"
    "\"value\":\"+33100000000\"}},\"from\":{\"kind\":\"phoneNumber\",\"rawId\":"
    "\"4:+33600000000\",\"phoneNumber\":{\"value\":\"+33600000000\"}},"
    "\"incomingCallContext\":\"ctx\",\"correlationId\":\"k2\",\"serverCallId\":\"s2\"}},"
    "{\"id\":\"6\",\"type\":\"Microsoft.Communication.SomethingNew\",\"data\":{}},"
    "{\"id\":\"7\",\"eventType\":\"Microsoft.Communication.SMSReceived\",\"data\":{"
    "\"MessageId\":\"m1\",\"From\":\"+33600000000\",\"To\":\"+33100000000\","
    "\"Message\":\"Bonjour\",\"ReceivedTimestamp\":\"2024-01-01T00:00:00Z\"}}]";

static ccai_status sc_events(void)
{
    Ccai_acs_events l = {0, NULL};
    char *err = NULL;
    ccai_status st = Ccai_acs_events_parse(events_body, strlen(events_body), &l, &err);
    if (st == CCAI_OK && (l.n != 6 || !l.events[5].sms_text))
        st = CCAI_ERR_INTERNAL;
    Ccai_acs_events_free(&l);
    ccai_free(err);
    return st;
}

static const char jwks_body[] =
    "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"k1\",\"use\":\"sig\","
    "\"alg\":\"RS256\",\"e\":\"AQAB\",\"n\":\"zaHAwYPiF0RkOSJI_ygBeCG2HBaUQU0WRVGK_"
    "8kz5qLzFeuft74z67yVXa64aGIUqoITtyHNB3JR9eiNZZ2p39yeLahR1oFW5DDlwjgA7vcDOtJKkkCMu9-"
    "h3dILkkzVEuDVC50L1X89zd3ZJrYAt2sdUx5uyEAOpiT-NQCyFFtt6DGXrjL6dBtdRCRAffLH-"
    "x95MxuepUqq9iCo1xpp3J4kqja_Dr7NEbhMVoa0jZHOOZ3fUDE_"
    "E605aJkk2gu1teKW5MtVWqcWmublRUmxCNrfz6hTHeozRirV-fc14AdSVzx34z1R0Lpu4KRzTWlVHvH4J6_"
    "dYYRqyucwWInhmw\"},"
    "{\"kty\":\"EC\",\"kid\":\"skipped\"}]}";

static ccai_status sc_jwks(void)
{
    Ccai_jwks *keys = NULL;
    char *err = NULL;
    ccai_status st = Ccai_jwks_from_json(jwks_body, strlen(jwks_body), 0, 1000, &keys, &err);
    if (st == CCAI_OK && Ccai_jwks_count(keys) != 1)
        st = CCAI_ERR_INTERNAL;
    Ccai_jwks_free(keys);
    ccai_free(err);
    return st;
}

static ccai_status sc_ssml(void)
{
    Ccai_ssml_opts o = {
        .lang = "fr-FR",
        .voice = "fr-FR-DeniseNeural",
        .voice_effect = "eq_telecomhp8k",
        .lexicon_uri = "https://example.org/lexicon.xml",
        .style = CCAI_SSML_STYLE_CHEERFUL,
        .prosody_rate = 1.1,
    };
    char *ssml = NULL;
    ccai_status st =
        Ccai_ssml_build("Bonjour <Camille> & bienvenue ! Votre colis n°42 arrive.", &o, &ssml);
    if (st == CCAI_OK && !strstr(ssml, "Bonjour Camille &amp; bienvenue"))
        st = CCAI_ERR_INTERNAL;
    ccai_free(ssml);
    return st;
}

static ccai_status sc_lexicon(void)
{
    static const char text[] = "[{\"grapheme\":\"contrat mini\",\"alias\":\"formule & co\","
                               "\"lang\":\"fr-FR\"},{\"grapheme\":\"ACS\",\"alias\":\"A C S\"}]";
    Ccai_json_err err;
    ccai_status st;
    json_t *entries = Ccai_json_load(text, sizeof text - 1, &err, &st);
    if (!entries)
        return st;
    char *xml = NULL;
    st = Ccai_ssml_lexicon(entries, "fr-FR", &xml);
    if (st == CCAI_OK && !strstr(xml, "<alias>formule &amp; co</alias>"))
        st = CCAI_ERR_INTERNAL;
    ccai_free(xml);
    json_decref(entries);
    return st;
}

static ccai_status sc_chunk(void)
{
    char text[1200];
    size_t n = 0;
    while (n + 40 < sizeof text) {
        memcpy(text + n, "The parcel left the depot this morning. ", 40);
        n += 40;
    }
    text[n] = '\0';
    char **chunks = NULL;
    size_t count = 0;
    ccai_status st = Ccai_ssml_chunk(text, CCAI_SSML_CHUNK_MAX, &chunks, &count);
    if (st == CCAI_OK && count < 3)
        st = CCAI_ERR_INTERNAL;
    Ccai_ssml_chunks_free(chunks);
    return st;
}

static ccai_status sc_sign(void)
{
    Ccai_acs_signed s;
    static const char body[] = "{\"targets\":[{\"kind\":\"phoneNumber\"}]}";
    ccai_status st = Ccai_acs_sign("Y2NhaS10ZXN0LWFjcy1hY2Nlc3Mta2V5LTAxMjM0NTY3ODk=", "POST",
                                   "/calling/callConnections?api-version=2024-09-15",
                                   "example.communication.azure.com",
                                   "Mon, 01 Jan 2024 00:00:00 GMT", body, strlen(body), &s);
    if (st == CCAI_OK &&
        !Ccai_acs_verify("Y2NhaS10ZXN0LWFjcy1hY2Nlc3Mta2V5LTAxMjM0NTY3ODk=", "POST",
                         "/calling/callConnections?api-version=2024-09-15",
                         "example.communication.azure.com", "Mon, 01 Jan 2024 00:00:00 GMT",
                         s.content_hash, body, strlen(body), s.authorization))
        st = CCAI_ERR_NOMEM; /* verification fails closed when its allocation fails */
    return st;
}

static void test_oom_events(void **state)
{
    (void)state;
    exhaust("acs events", sc_events);
}

static void test_oom_jwks(void **state)
{
    (void)state;
    exhaust("jwks", sc_jwks);
}

static void test_oom_ssml(void **state)
{
    (void)state;
    exhaust("ssml build", sc_ssml);
    exhaust("ssml chunk", sc_chunk);
    exhaust("ssml lexicon", sc_lexicon);
}

static void test_oom_sign(void **state)
{
    (void)state;
    /* The signer may need no allocator memory at all (OpenSSL has its own). */
    oom_exhaust("acs sign", sc_sign, NULL);
    assert_int_equal(sc_sign(), CCAI_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oom_events),
        cmocka_unit_test(test_oom_jwks),
        cmocka_unit_test(test_oom_ssml),
        cmocka_unit_test(test_oom_sign),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
