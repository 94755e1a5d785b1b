/* Internal view of ccai_config (config/config.c). */
#ifndef CCAI_CONFIG_CONFIG_H
#define CCAI_CONFIG_CONFIG_H

#include "core/common.h"

#include <jansson.h>

/* Deep copy (ccai_ctx_new keeps its own). NULL on NOMEM. */
ccai_config *Ccai_config_copy(const ccai_config *cfg);

/* The effective tree: defaults merged with file, env and set() values.
 * Borrowed; never NULL. */
const json_t *Ccai_config_root(const ccai_config *cfg);

/* Typed reads by dotted path. Values are always present for keys that have
 * a default; a key with no default and no value gives NULL / def. */
const char *Ccai_config_str(const ccai_config *cfg, const char *key);
int64_t Ccai_config_int(const ccai_config *cfg, const char *key, int64_t def);
double Ccai_config_double(const ccai_config *cfg, const char *key, double def);
CCAI_MUST_CHECK bool Ccai_config_bool(const ccai_config *cfg, const char *key, bool def);
/* Lists and maps (conversation.initiate.claim, ...); borrowed or NULL. */
const json_t *Ccai_config_json(const ccai_config *cfg, const char *key);

/* The logger set with ccai_config_set_logger(). */
const Ccai_logger *Ccai_config_logger(const ccai_config *cfg);

/* The host's SMS sender set with ccai_config_set_sms_ops() (copied, at
 * version 1), NULL when none; *ret_ud its userdata. */
const ccai_sms_ops *Ccai_config_sms_ops(const ccai_config *cfg, void **ret_ud);

#endif
