/* libFuzzer target: YAML configuration documents through
 * ccai_config_load_string(), then the reads a host would do. */
#include <ccai/ccai.h>

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ccai_config *cfg = NULL;
    if (ccai_config_new(&cfg) != CCAI_OK)
        return 0;
    ccai_status st = ccai_config_load_string(cfg, (const char *)data, size, "<fuzz>");
    if (st == CCAI_OK) {
        (void)ccai_config_validate(cfg);
        char *json = NULL;
        if (ccai_config_to_json(cfg, 1, &json) == CCAI_OK)
            ccai_free(json);
        (void)ccai_config_get(cfg, "conversation.initiate.lang.default_short_code");
        (void)ccai_config_get(cfg, "llm.fast.context");
    }
    /* Walk the error list the way a host prints it. */
    size_t n = ccai_config_error_count(cfg);
    for (size_t i = 0; i < n; i++) {
        const char *key = NULL, *msg = NULL;
        unsigned line = 0, col = 0;
        (void)ccai_config_error(cfg, i, &key, &line, &col, &msg);
    }
    (void)ccai_config_errmsg(cfg);
    ccai_config_free(cfg);
    return 0;
}
