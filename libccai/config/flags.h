/* Feature flags: the configuration keys that may change while a context
 * runs (config/flags.c). A flag is an ordinary key of config/keys.c; the
 * parts read it where they use it (Ccai_config_int() ...), so a value set
 * here is the one the next turn or call reads. Values are changed in place
 * in the tree (never a new tree: the parts hold strings borrowed from it).
 *
 * Names are the dotted keys ("conversation.slow_llm_for_chat") or the
 * reference's bare names ("slow_llm_for_chat"; its vad_threshold is ten
 * times ours, and is converted). A falsy value (0, false) is a value: the
 * reference's lookup took it for "missing", ours does not. */
#ifndef CCAI_CONFIG_FLAGS_H
#define CCAI_CONFIG_FLAGS_H

#include "core/common.h"

#include <jansson.h>

/* The largest flags document read, and its most entries. */
#define CCAI_FLAGS_DOC_MAX_BYTES (64 * 1024)
#define CCAI_FLAGS_MAX_ENTRIES   256

/* How many flags there are, and the dotted key of the i-th. */
size_t Ccai_flags_count(void);
const char *Ccai_flags_key(size_t i);

/* A flags document (a JSON object, or a YAML mapping, nested sections or
 * dotted names) into a flat JSON object (name -> scalar; YAML scalars stay
 * text). Sans-I/O. On a syntax or shape error *ret_msg says where
 * (allocated) and CCAI_ERR_PARSE is returned; CCAI_ERR_NOMEM. */
CCAI_MUST_CHECK ccai_status Ccai_flags_parse_doc(const char *doc, size_t len, json_t **ret,
                                                 char **ret_msg);

/* Check every member of @flat (a Ccai_flags_parse_doc() result, or a JSON
 * object of name -> scalar), then of @over (NULL: none; its values win:
 * the flags file over the configuration's), against the flags' types and
 * ranges, and the
 * rule between them (answer_soft < answer_hard); every problem is listed
 * in *ret_msg ("2 problems: a: ...; b: ..."), and then nothing changes
 * (CCAI_ERR_VALIDATION). Else the values are set in @cfg and
 * *ret_changes (may be NULL) holds {key: [old, new]} for those that
 * changed. CCAI_ERR_NOMEM. */
CCAI_MUST_CHECK ccai_status Ccai_flags_apply(ccai_config *cfg, const json_t *flat,
                                             const json_t *over, json_t **ret_changes,
                                             char **ret_msg);

/* The current value of every flag: {key: value}; NULL on NOMEM. */
json_t *Ccai_flags_current(const ccai_config *cfg);

/* The values @fresh (another configuration, e.g. the file read again) has
 * for every flag, as Ccai_flags_apply() takes them; NULL on NOMEM. */
json_t *Ccai_flags_of_config(const ccai_config *fresh);

#endif
