/* libFuzzer target for the claim schema parser and the value validators.
 *
 * Every input goes through:
 * 1. ccai_claim_schema_from_json(); a schema that parses must survive a
 *    to_json / from_json round trip unchanged;
 * 2. ccai_field_validate() for the type chosen by the first byte, on the
 *    rest as a string; a normalised value must normalise to itself;
 * 3. ccai_claim_schema_validate_claim() on the default schema; a normalised
 *    claim must validate to itself;
 * 4. Ccai_tz_localize_iso() (what the engine does with a datetime, in a
 *    fixed-offset zone east of UTC): on any string it fails cleanly; on a
 *    normalised datetime it succeeds with a value that validates, keeps
 *    its offset when localised again and names the same instant. */
#include "claim/claim.h"
#include "core/tz.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        __builtin_trap();
}

static void fuzz_schema(const uint8_t *data, size_t size)
{
    ccai_claim_schema *schema = NULL;
    char *err = NULL;
    ccai_status st = ccai_claim_schema_from_json((const char *)data, size, &schema, &err);
    check(st == CCAI_OK || err != NULL || st == CCAI_ERR_NOMEM);
    ccai_free(err);
    if (st != CCAI_OK)
        return;
    check(ccai_claim_schema_count(schema) >= 3 &&
          ccai_claim_schema_count(schema) <= CCAI_FIELDS_MAX);

    char *json = NULL, *json2 = NULL;
    ccai_claim_schema *again = NULL;
    check(ccai_claim_schema_to_json(schema, &json) == CCAI_OK);
    check(ccai_claim_schema_from_json(json, (size_t)-1, &again, NULL) == CCAI_OK);
    check(ccai_claim_schema_to_json(again, &json2) == CCAI_OK);
    check(strcmp(json, json2) == 0);
    ccai_free(json);
    ccai_free(json2);
    ccai_claim_schema_unref(again);
    ccai_claim_schema_unref(schema);
}

/* UTC+05:30, from the POSIX rule of a TZif footer: no files needed. */
static Ccai_tz *zone;

static bool make_zone(Ccai_tz **ret)
{
    uint8_t b[160] = {0};
    size_t n = 0;
    for (int part = 0; part < 2; part++) {
        memcpy(b + n, "TZif2", 5);
        n += 20 + 4 * 4; /* reserved; isut, isstd, leap, time counts 0 */
        b[n + 3] = 1;    /* typecnt */
        b[n + 7] = 4;    /* charcnt */
        n += 8;
        b[n + 2] = 0x4d, b[n + 3] = 0x58; /* utoff 19800 s */
        n += 6;
        memcpy(b + n, "IST", 4);
        n += 4;
    }
    memcpy(b + n, "\nIST-5:30\n", 10);
    n += 10;
    return Ccai_tz_parse(b, n, ret) == CCAI_OK;
}

static void fuzz_field(const char *value, ccai_field_type type)
{
    char *norm = NULL, *err = NULL;
    ccai_status st = ccai_field_validate(type, value, &norm, &err);
    if (st == CCAI_ERR_VALIDATION) {
        check(norm == NULL && err != NULL);
        ccai_free(err);
        return;
    }
    check(st == CCAI_OK && norm != NULL && err == NULL);
    char *again = NULL;
    check(ccai_field_validate(type, norm, &again, NULL) == CCAI_OK);
    check(strcmp(norm, again) == 0);
    ccai_free(again);
    if (type == CCAI_FIELD_DATETIME && zone) {
        char out[CCAI_TZ_ISO_MAX], out2[CCAI_TZ_ISO_MAX];
        int64_t ms = 0, ms2 = 0;
        check(Ccai_tz_localize_iso(zone, norm, out, sizeof out, &ms) == CCAI_OK);
        check(ccai_field_validate(CCAI_FIELD_DATETIME, out, &again, NULL) == CCAI_OK);
        ccai_free(again);
        check(Ccai_tz_localize_iso(zone, out, out2, sizeof out2, &ms2) == CCAI_OK);
        check(strcmp(out, out2) == 0 && ms == ms2);
    }
    ccai_free(norm);
}

static void fuzz_claim(const ccai_claim_schema *schema, const char *claim)
{
    char *out = NULL, *err = NULL;
    ccai_status st = ccai_claim_schema_validate_claim(schema, claim, &out, &err);
    if (st != CCAI_OK) {
        check(out == NULL && err != NULL);
        ccai_free(err);
        return;
    }
    char *again = NULL;
    check(ccai_claim_schema_validate_claim(schema, out, &again, NULL) == CCAI_OK);
    check(strcmp(out, again) == 0);
    ccai_free(again);
    ccai_free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ccai_claim_schema *schema;
    if (!schema && ccai_claim_schema_new_default(&schema) != CCAI_OK)
        return 0;
    if (!zone && !make_zone(&zone))
        return 0;

    fuzz_schema(data, size);

    /* The validators take C strings: stop at the first NUL. */
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (size > 0)
        fuzz_field(text + 1, (ccai_field_type)(data[0] % 4));
    fuzz_field(text, CCAI_FIELD_TEXT);
    fuzz_claim(schema, text);
    char out[CCAI_TZ_ISO_MAX];
    ccai_status st = Ccai_tz_localize_iso(zone, text, out, sizeof out, NULL);
    check(st == CCAI_OK || st == CCAI_ERR_PARSE);
    free(text);
    return 0;
}
