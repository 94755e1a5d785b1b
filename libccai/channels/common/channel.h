/* The channel interface: what the composition root (libccai/ctx.c) knows
 * of a channel, and what the web layer uses (POST /call, readiness). Each
 * channel lives in channels/<name>/ and fills one Ccai_channel_class; the
 * root lists the classes, builds one Ccai_channel per class from the
 * configuration, serves its routes, and picks the SMS provider sms.mode
 * names among the channels that offer one.
 *
 * A channel drives its calls through the public API only (<ccai/ccai.h>:
 * ccai_call_start(), ccai_call_notify(), ccai_ctx_call_end(), ...), as a
 * host's own channel does; it includes itself, channels/common/ and the
 * layers below the engine (libccai/layers.map, checked by tests/layers).
 * channels/chat/ is the smallest to copy for a new one. */
#ifndef CCAI_CHANNELS_COMMON_CHANNEL_H
#define CCAI_CHANNELS_COMMON_CHANNEL_H

#include "http/router.h"
#include "sms/sms.h"

#include <jansson.h>

/* What a channel is given. */
typedef struct Ccai_channel_env {
    ccai_ctx *ctx; /* the context's handle: the public API, and its loop (io) */
    const ccai_config *cfg;
    const Ccai_logger *log;
} Ccai_channel_env;

/* What a channel can do (Ccai_channel_class.caps). */
enum {
    CCAI_CHANNEL_CALLS_OUT = 1u << 0, /* places outbound calls: POST /call */
    CCAI_CHANNEL_SMS = 1u << 1,       /* offers an SMS provider (sms_new) */
    CCAI_CHANNEL_SMS_IN = 1u << 2,    /* takes the callers' SMS in */
    CCAI_CHANNEL_TRANSFER = 1u << 3,  /* hands a call to a human agent */
    CCAI_CHANNEL_RECORDING = 1u << 4, /* records calls (conversation.recording_enabled) */
    CCAI_CHANNEL_MENU = 1u << 5,      /* offers the language menu */
};

typedef struct Ccai_channel_class {
    const char *name; /* the channel of its calls (ccai_call_params.channel) */
    unsigned caps;
    /* The channel's state, made from the configuration. A channel that is
     * not configured still has one (its routes answer that it is not);
     * a configuration that is wrong fails, with the reason in
     * ccai_ctx_errmsg(). */
    CCAI_MUST_CHECK ccai_status (*init)(const Ccai_channel_env *env, void **ret_state);
    /* Ends its live calls' handles, cancels what it has in flight. */
    void (*free)(void *state);
    /* Its webhooks, served with the state as their ud. */
    const Ccai_route *routes;
    size_t n_routes;

    /* CCAI_CHANNEL_CALLS_OUT. The names POST /call's "telephony" picks it
     * by (the first is the one error messages give). */
    const char *telephony[2];
    /* Ready to place calls. */
    CCAI_MUST_CHECK bool (*configured)(const void *state);
    /* Place a call to @p to with the initiate overrides (JSON, may be NULL):
     * stored at once (ccai_call_start() before this returns: a callback the
     * engine places resumes its call there), the provider asked to dial;
     * *ret_call_id (ccai_free()) names it.
     * CCAI_ERR_UNSUPPORTED when not configured (setup says what to set);
     * CCAI_ERR_INVALID_ARG, CCAI_ERR_VALIDATION with ccai_ctx_errmsg(). */
    CCAI_MUST_CHECK ccai_status (*place_call)(void *state, const char *initiate_json,
                                              const char *to, char **ret_call_id);
    const char *setup;

    /* CCAI_CHANNEL_SMS: the provider for sms.mode == sms_mode. */
    const char *sms_mode;
    CCAI_MUST_CHECK ccai_status (*sms_new)(const Ccai_channel_env *env, Ccai_sms_provider **ret);

    /* May be NULL: append its readiness check ({"id", "status", "detail"})
     * to checks, *ok false when it fails. */
    void (*readiness)(const void *state, json_t *checks, bool *ok);
} Ccai_channel_class;

/* One channel of a context. */
typedef struct Ccai_channel {
    const Ccai_channel_class *cls;
    void *state;
} Ccai_channel;

/* A readiness check entry. NULL on NOMEM. */
json_t *Ccai_channel_check(const char *id, const char *status, const char *detail);

#endif
