/* libFuzzer target for the reader of the reference's exported calls
 * (engine/import.c): any bytes go through Ccai_import_parse(); each record
 * it gives is converted with Ccai_import_convert(), which either fills a
 * row whose required fields are set or names the field that is wrong; the
 * input, as a C string, also goes through Ccai_import_time(). */
#include "engine/import.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        __builtin_trap();
}

static int on_record(size_t index, const json_t *rec, const char *error, void *ud)
{
    (void)ud;
    check(index >= 1);
    check((rec != NULL) != (error != NULL));
    if (!rec)
        return 0;
    Ccai_import_call c;
    char *why = NULL;
    ccai_status st = Ccai_import_convert(rec, &c, &why);
    if (st == CCAI_OK) {
        check(c.row.phone_number && c.row.initiate_json && c.row.claim_json && c.row.state &&
              strlen(c.row.id) == 36 && !why);
        check(c.row.updated_at >= c.row.created_at);
    } else {
        check(st == CCAI_ERR_NOMEM || (st == CCAI_ERR_VALIDATION && why && *why));
    }
    ccai_free(why);
    Ccai_import_call_clear(&c);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *why = NULL;
    ccai_status st = Ccai_import_parse((const char *)data, size, on_record, NULL, &why);
    check(st == CCAI_OK || st == CCAI_ERR_NOMEM || why != NULL);
    ccai_free(why);
    if (size < 64) {
        char s[65];
        memcpy(s, data, size);
        s[size] = '\0';
        int64_t ms;
        if (Ccai_import_time(s, &ms))
            check(strlen(s) >= 10);
    }
    return 0;
}
