/* Feature flags at run time (libccai/ctx_flags.c): the flags file watched
 * on the context's timers, the changes logged and counted, the host's and
 * the admin route's changes. Part of the composition root. */
#ifndef CCAI_CTX_FLAGS_H
#define CCAI_CTX_FLAGS_H

#include "core/metrics.h"

#include <jansson.h>

typedef struct Ccai_flags_rt Ccai_flags_rt;

/* Start watching flags.file (when set): read at once, then polled every
 * flags.poll_interval_sec. A file that cannot be read or holds a bad value
 * is logged and changes nothing. @cfg is the context's own configuration,
 * changed in place. */
CCAI_MUST_CHECK ccai_status Ccai_flags_rt_new(ccai_ctx *ctx, ccai_config *cfg,
                                              const Ccai_logger *log, Ccai_metrics *metrics,
                                              Ccai_flags_rt **ret);
void Ccai_flags_rt_free(Ccai_flags_rt *rt);

/* Set flags from a flat or nested JSON object; @origin names who did it in
 * the log ("admin", "api", "file", "reload"). On CCAI_ERR_VALIDATION or
 * CCAI_ERR_PARSE, *ret_msg lists every problem (allocated). */
CCAI_MUST_CHECK ccai_status Ccai_flags_rt_set(Ccai_flags_rt *rt, const json_t *doc,
                                              const char *origin, char **ret_msg);

/* Read the file again now (and first @fresh's flag keys, when given). */
CCAI_MUST_CHECK ccai_status Ccai_flags_rt_reload(Ccai_flags_rt *rt, const ccai_config *fresh,
                                                 char **ret_msg);

/* {"generation": n, "file": path|null, "flags": {key: value}}; NULL on NOMEM. */
json_t *Ccai_flags_rt_state(const Ccai_flags_rt *rt);

#endif
