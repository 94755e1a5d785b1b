/* What the parts of ccai_config share (config/config.c): the object, the
 * list of errors an operation collects, and the tree of values.
 *
 * An operation that changes a configuration collects every error into a
 * Ccai_cfg_errlist and its changes into a JSON object (path -> value), then
 * ends with Ccai_cfg_finish(): with an error nothing is merged and the errors
 * are what ccai_config_errmsg() says; else the changes are committed at
 * once. The operations are in config_yaml.c (files and strings),
 * config_env.c (the environment and ccai_config_set()) and config_rules.c
 * (ccai_config_validate()). */
#ifndef CCAI_CONFIG_CONFIG_IMPL_H
#define CCAI_CONFIG_CONFIG_IMPL_H

#include "config/config.h"
#include "config/keys.h"

#include <jansson.h>

/* The largest document (or value given as text) read. */
#define CCAI_CFG_DOC_MAX_BYTES (1024 * 1024)
/* Errors listed by one operation; more are counted in one line. */
#define CCAI_CFG_ERRORS_MAX 100

typedef struct Ccai_cfg_error {
    char *src; /* the document it is from; NULL: the operation's */
    char *key;
    unsigned line, col;
    char *msg;
} Ccai_cfg_error;

typedef struct Ccai_cfg_errlist {
    Ccai_cfg_error *v;
    size_t n, cap;
    size_t dropped;
    bool nomem;
    bool closing; /* the "more errors" line goes past the cap */
} Ccai_cfg_errlist;

struct ccai_config {
    json_t *root;  /* effective tree */
    json_t *texts; /* dotted path -> text form of every non-string scalar */
    Ccai_logger logger;
    ccai_sms_ops sms_ops; /* ccai_config_set_sms_ops(); version 0: none */
    void *sms_ud;
    Ccai_cfg_error *errors;
    size_t nerrors;
    char *errmsg;
    /* ccai_config_set_collect(): errors of loads kept for validate(). */
    bool collect;
    Ccai_cfg_errlist pending;
};

void Ccai_cfg_errlist_free(Ccai_cfg_errlist *el);
/* Append an error; takes msg (NULL: the message could not be made, the
 * operation fails with CCAI_ERR_NOMEM). */
void Ccai_cfg_errlist_take(Ccai_cfg_errlist *el, const char *key, unsigned line, unsigned col,
                           char *msg);
void Ccai_cfg_errlist_add(Ccai_cfg_errlist *el, const char *key, unsigned line, unsigned col,
                          const char *fmt, ...) CCAI_PRINTF(5, 6);
/* Forget the errors of the last operation (each operation starts so). */
void Ccai_cfg_clear_errors(ccai_config *cfg);
/* End an operation: out of memory, or errors (then on_error, the errors
 * installed for ccai_config_errmsg()), or the changes (may be NULL)
 * committed, all or nothing. Consumes el. */
CCAI_MUST_CHECK ccai_status Ccai_cfg_finish(ccai_config *cfg, Ccai_cfg_errlist *el,
                                            const char *name, ccai_status on_error,
                                            const json_t *changes);

/* Move the errors kept by collect mode to the front of @el (validate). */
void Ccai_cfg_take_pending(ccai_config *cfg, Ccai_cfg_errlist *el);

/* The value at a dotted path, or NULL. */
json_t *Ccai_cfg_tree_get(const json_t *root, const char *path);
/* Store value (stolen) at path, creating the sections on the way; false
 * on NOMEM. */
CCAI_MUST_CHECK bool Ccai_cfg_tree_set(json_t *root, const char *path, json_t *value);

#endif
