/* libFuzzer: the ACS callback / Event Grid parser, the JWT verifier, the
 * JWKS parser and the SSML sanitiser and chunker, all on the same bytes.
 * Properties checked: a successful parse yields only known kinds with the
 * fields each kind promises; a JWT never verifies against a key set whose
 * key nobody holds; chunks are non-empty, shorter than the limit and never
 * start inside a UTF-8 sequence. */
#include "channels/acs/acs_events.h"
#include "http/jwt.h"
#include "tts/ssml.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A syntactically valid 2048-bit modulus (odd, top bit set) whose private
 * key was never computed, so no token can verify against it. */
static Ccai_jwks *fuzz_keys(void)
{
    static Ccai_jwks *keys;
    if (keys)
        return keys;
    /* 340 x "w" is 255 bytes C3 0C 30 ...; "ww0" adds C3 0D: odd. */
    char n[344];
    memset(n, 'w', 340);
    memcpy(n + 340, "ww0", 4);
    char *json = Ccai_asprintf(
        "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"k1\",\"n\":\"%s\",\"e\":\"AQAB\"}]}", n);
    if (!json)
        abort();
    if (Ccai_jwks_from_json(json, strlen(json), 0, 1000, &keys, NULL) != CCAI_OK)
        abort();
    ccai_free(json);
    return keys;
}

static void check_events(const Ccai_acs_events *l)
{
    if (l->n > CCAI_ACS_EVENTS_MAX)
        abort();
    for (size_t i = 0; i < l->n; i++) {
        const Ccai_acs_event *e = &l->events[i];
        if (strcmp(Ccai_acs_kind_name(e->kind), "unknown") == 0)
            abort();
        if (e->kind == CCAI_ACS_SUBSCRIPTION_VALIDATION && !e->validation_code)
            abort();
        if (e->kind == CCAI_ACS_INCOMING_CALL && !e->incoming_call_context)
            abort();
        if (e->dtmf_tones && strspn(e->dtmf_tones, "0123456789ABCD#*") != strlen(e->dtmf_tones))
            abort();
    }
}

static void check_chunks(const char *text)
{
    char **chunks = NULL;
    size_t n = 0;
    if (Ccai_ssml_chunk(text, 16, &chunks, &n) != CCAI_OK)
        return;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(chunks[i]);
        if (len == 0 || len >= 16)
            abort();
    }
    if (chunks[n])
        abort();
    Ccai_ssml_chunks_free(chunks);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    Ccai_acs_events l;
    char *err = NULL;
    if (Ccai_acs_events_parse(s, size, &l, &err) == CCAI_OK) {
        check_events(&l);
        Ccai_acs_events_free(&l);
    }
    ccai_free(err);

    err = NULL;
    Ccai_jwt_expect x = {"iss", "aud", 1700000000000, 60000};
    json_t *claims = NULL;
    if (Ccai_jwt_verify(s, size, fuzz_keys(), &x, &claims, &err) == CCAI_OK)
        abort();
    if (claims)
        abort();
    ccai_free(err);

    err = NULL;
    Ccai_jwks *ks = NULL;
    if (Ccai_jwks_from_json(s, size, 0, 1, &ks, &err) == CCAI_OK && Ccai_jwks_count(ks) == 0)
        abort();
    Ccai_jwks_free(ks);
    ccai_free(err);

    /* The text functions take C strings. */
    char *text = Ccai_strndup(s, size);
    if (!text)
        return 0;
    char *clean = Ccai_ssml_sanitize(text);
    if (clean) {
        size_t len = strlen(clean);
        if (len && (clean[0] == ' ' || clean[len - 1] == ' ' || strstr(clean, "  ") ||
                    strpbrk(clean, "<>\t\n")))
            abort();
        ccai_free(clean);
    }
    check_chunks(text);
    ccai_free(text);
    return 0;
}
