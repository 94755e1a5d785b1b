/* Internal view of calls and events (engine/). */
#ifndef CCAI_ENGINE_ENGINE_H
#define CCAI_ENGINE_ENGINE_H

#include "core/common.h"
#include "io/ctx_private.h"
#include "store/store.h"

#include <jansson.h>
#include <string.h>

/* Longest text an event may carry (speech, SMS): 16 KiB. */
#define CCAI_EVENT_TEXT_MAX (16u * 1024u)

struct ccai_event {
    ccai_event_type type;
    char *text;
    char *lang;
    char *from;
    bool final;
    double confidence;
};

struct ccai_call {
    ccai_ctx *ctx;
    struct ccai_call *prev, *next;
    ccai_call_ops ops;
    void *ud;
    Ccai_store_call row; /* the stored call, as last written */
    ccai_call_state state;
    ccai_claim_schema *schema;
    bool resumed;
    bool caller_spoke;
    int depth;
    bool free_pending;
    Ccai_err err;
};

#endif
