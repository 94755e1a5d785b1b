/* Versions, statuses and the names of public enums. */
#include "core/common.h"

CCAI_EXPORT const char *ccai_version(void)
{
    return CCAI_VERSION_STRING;
}

CCAI_EXPORT unsigned ccai_version_num(void)
{
    return CCAI_VERSION_NUM;
}

CCAI_EXPORT const char *ccai_status_str(ccai_status status)
{
    switch (status) {
    case CCAI_OK: return "ok";
    case CCAI_ERR_NOMEM: return "out of memory";
    case CCAI_ERR_INVALID_ARG: return "invalid argument";
    case CCAI_ERR_STATE: return "not allowed in the current state";
    case CCAI_ERR_CONFIG: return "invalid configuration";
    case CCAI_ERR_IO: return "input/output error";
    case CCAI_ERR_PARSE: return "malformed input";
    case CCAI_ERR_VALIDATION: return "validation failed";
    case CCAI_ERR_NOT_FOUND: return "not found";
    case CCAI_ERR_CONFLICT: return "conflict: changed since read";
    case CCAI_ERR_STORE: return "database error";
    case CCAI_ERR_HTTP: return "HTTP error";
    case CCAI_ERR_TIMEOUT: return "timed out";
    case CCAI_ERR_CANCELLED: return "cancelled";
    case CCAI_ERR_LIMIT: return "limit exceeded";
    case CCAI_ERR_UNSUPPORTED: return "not supported";
    case CCAI_ERR_INTERNAL: return "internal error";
    case CCAI_ERR_BUSY: return "database locked by another process";
    }
    return "unknown status";
}

CCAI_EXPORT const char *ccai_call_state_str(ccai_call_state state)
{
    static const char *const names[] = {
        "new",  "ringing",      "connected", "language_menu", "conversation",
        "turn", "transferring", "ending",    "ended",         "done",
    };
    if ((unsigned)state < CCAI_ARRAY_SIZE(names))
        return names[state];
    return "unknown";
}

CCAI_EXPORT const char *ccai_style_str(ccai_style style)
{
    switch (style) {
    case CCAI_STYLE_NONE: return "none";
    case CCAI_STYLE_CHEERFUL: return "cheerful";
    case CCAI_STYLE_SAD: return "sad";
    }
    return "none";
}

CCAI_EXPORT const char *ccai_event_type_str(ccai_event_type type)
{
    static const char *const names[] = {
        "ringing",  "connected",  "speech", "dtmf",           "silence_timeout",
        "say_done", "say_failed", "sms",    "transfer_ok",    "transfer_failed",
        "hangup",   "recording",  "choice", "not_understood", "answering_machine",
    };
    if ((unsigned)type < CCAI_ARRAY_SIZE(names))
        return names[type];
    return "unknown";
}
