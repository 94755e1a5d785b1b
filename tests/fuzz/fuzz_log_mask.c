/* libFuzzer: the masking of phone numbers in log lines (core/log.c), the
 * public ccai_log_mask() and the in-place masking of every libccai line
 * above debug level. Properties checked: the result is never longer than
 * the input; text without '+' or "%2B" comes back unchanged; masking twice
 * changes nothing more (no number survives); the in-place path (Ccai_log)
 * gives the same line as the copying one, made loggable (valid UTF-8
 * without control bytes: making it loggable again changes nothing). */
#include "core/common.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *logged;

static void sink(ccai_log_level level, const char *msg, void *ud)
{
    (void)level;
    (void)ud;
    ccai_free(logged);
    logged = Ccai_strdup(msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = Ccai_strndup((const char *)data, size); /* up to the first NUL */
    if (!text)
        return 0;
    char *once = NULL, *twice = NULL;
    if (ccai_log_mask(text, &once) != CCAI_OK) {
        ccai_free(text);
        return 0;
    }
    if (strlen(once) > strlen(text))
        abort();
    if (!strchr(text, '+') && !strstr(text, "%2B") && !strstr(text, "%2b") &&
        strcmp(once, text) != 0)
        abort();
    if (ccai_log_mask(once, &twice) == CCAI_OK && strcmp(once, twice) != 0)
        abort();
    Ccai_logger lg = {sink, NULL, CCAI_LOG_INFO};
    Ccai_log(&lg, CCAI_LOG_WARN, "%s", text);
    Ccai_buf want = {0}, again = {0};
    if (logged && Ccai_buf_append_loggable(&want, once, strlen(once), SIZE_MAX) &&
        strcmp(logged, want.data) != 0)
        abort();
    if (logged && Ccai_buf_append_loggable(&again, logged, strlen(logged), SIZE_MAX) &&
        strcmp(logged, again.data) != 0)
        abort();
    Ccai_buf_free(&want);
    Ccai_buf_free(&again);
    ccai_free(logged);
    logged = NULL;
    ccai_free(twice);
    ccai_free(once);
    ccai_free(text);
    return 0;
}
