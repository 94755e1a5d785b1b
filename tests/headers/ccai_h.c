/*
 * <ccai/ccai.h> compiles alone (it is the first include) in the language and
 * standard this file is built with, and its declarations link against
 * libccai. Built as C99 -pedantic, C11, C++11 and C++17 (ccai_h.cc).
 */
#include <ccai/ccai.h>

#include <stdio.h>
#include <string.h>

static int failures;

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "FAIL: %s\n", what);
        failures++;
    }
}

int main(void)
{
    ccai_call_ops ops;
    ccai_call_params params;
    ccai_loop_hooks hooks;
    ccai_allocator allocator;

    /* The versioned tables start with their version member. */
    memset(&ops, 0, sizeof ops);
    memset(&params, 0, sizeof params);
    memset(&hooks, 0, sizeof hooks);
    memset(&allocator, 0, sizeof allocator);
    ops.version = CCAI_CALL_OPS_VERSION;
    params.version = CCAI_CALL_PARAMS_VERSION;
    hooks.version = CCAI_LOOP_HOOKS_VERSION;
    allocator.version = CCAI_ALLOCATOR_VERSION;
    check((void *)&ops == (void *)&ops.version, "ccai_call_ops.version first");
    check((void *)&params == (void *)&params.version, "ccai_call_params.version first");
    check((void *)&hooks == (void *)&hooks.version, "ccai_loop_hooks.version first");
    check((void *)&allocator == (void *)&allocator.version, "ccai_allocator.version first");

    /* Compile-time and run-time versions agree. */
    check(strcmp(ccai_version(), CCAI_VERSION_STRING) == 0, "ccai_version()");
    check(ccai_version_num() == (unsigned)CCAI_VERSION_NUM, "ccai_version_num()");

    /* A few symbols of every part of the API resolve and behave. */
    check(ccai_status_str(CCAI_OK) != NULL, "ccai_status_str(CCAI_OK)");
    check(ccai_status_str((ccai_status)12345) != NULL, "ccai_status_str(unknown)");
    check(strcmp(ccai_call_state_str(CCAI_CALL_ENDED), "ended") == 0, "ccai_call_state_str");
    check(strcmp(ccai_event_type_str(CCAI_EVENT_HANGUP), "hangup") == 0, "ccai_event_type_str");
    check(ccai_log_level_str(CCAI_LOG_WARN) != NULL, "ccai_log_level_str");
    check(ccai_style_str(CCAI_STYLE_NONE) != NULL, "ccai_style_str");
    check((CCAI_POLL_IN & CCAI_POLL_OUT) == 0 && (CCAI_POLL_OUT & CCAI_POLL_ERR) == 0,
          "CCAI_POLL_* bits");
    ccai_free(NULL);
    ccai_config_free(NULL);
    ccai_ctx_free(NULL);
    ccai_call_free(NULL);
    ccai_event_free(NULL);
    ccai_claim_schema_unref(NULL);

    if (failures == 0)
        printf("ccai.h: ok (libccai %s)\n", ccai_version());
    return failures == 0 ? 0 : 1;
}
