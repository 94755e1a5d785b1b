/* Logging through the host's sink; libccai never prints. */
#include "core/common.h"

#include <stdio.h>

void Ccai_log(const Ccai_logger *lg, ccai_log_level level, const char *fmt, ...)
{
    if (!lg || !lg->fn || level > lg->min_level)
        return;
    char stackbuf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(stackbuf, sizeof stackbuf, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof stackbuf) {
        lg->fn(level, stackbuf, lg->ud);
        return;
    }
    va_start(ap, fmt);
    char *msg = Ccai_vasprintf(fmt, ap);
    va_end(ap);
    lg->fn(level, msg ? msg : stackbuf, lg->ud);
    ccai_free(msg);
}

CCAI_EXPORT const char *ccai_log_level_str(ccai_log_level level)
{
    switch (level) {
    case CCAI_LOG_ERROR: return "error";
    case CCAI_LOG_WARN: return "warn";
    case CCAI_LOG_INFO: return "info";
    case CCAI_LOG_DEBUG: return "debug";
    }
    return "unknown";
}
