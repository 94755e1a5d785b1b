/* libFuzzer target: feature flag documents (JSON or YAML) through
 * Ccai_flags_parse_doc(), then applied to a configuration (every value
 * checked; all or nothing) and read back. */
#include "config/flags.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *flat = NULL;
    char *msg = NULL;
    if (Ccai_flags_parse_doc((const char *)data, size, &flat, &msg) != CCAI_OK) {
        ccai_free(msg);
        return 0;
    }
    ccai_config *cfg = NULL;
    if (ccai_config_new(&cfg) == CCAI_OK) {
        json_t *changes = NULL;
        if (Ccai_flags_apply(cfg, flat, flat, &changes, &msg) == CCAI_OK)
            json_decref(changes);
        ccai_free(msg);
        json_decref(Ccai_flags_current(cfg));
        ccai_config_free(cfg);
    }
    json_decref(flat);
    return 0;
}
