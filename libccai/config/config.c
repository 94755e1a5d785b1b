/* ccai_config: the effective configuration as a JSON tree (defaults, then
 * files, environment and ccai_config_set() in the order the host applies
 * them). Here: the object, its errors and tree (config_impl.h), reading it.
 * Loading YAML is config_yaml.c, the environment and ccai_config_set()
 * config_env.c, the cross-key rules config_rules.c. */
#include "config/config_impl.h"

#include "core/json.h"

#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */
/* ------------------------------------------------------------------------ */

void Ccai_cfg_errlist_free(Ccai_cfg_errlist *el)
{
    for (size_t i = 0; i < el->n; i++) {
        ccai_free(el->v[i].src);
        ccai_free(el->v[i].key);
        ccai_free(el->v[i].msg);
    }
    ccai_free(el->v);
    memset(el, 0, sizeof *el);
}

void Ccai_cfg_errlist_take(Ccai_cfg_errlist *el, const char *key, unsigned line, unsigned col,
                           char *msg)
{
    if (!msg) {
        el->nomem = true;
        return;
    }
    if (el->n >= CCAI_CFG_ERRORS_MAX && !el->closing) {
        el->dropped++;
        ccai_free(msg);
        return;
    }
    if (el->n == el->cap) {
        size_t cap = el->cap ? el->cap * 2 : 8;
        Ccai_cfg_error *v = Ccai_realloc(el->v, cap * sizeof *v);
        if (!v) {
            el->nomem = true;
            ccai_free(msg);
            return;
        }
        el->v = v;
        el->cap = cap;
    }
    char *k = Ccai_strdup(key ? key : "");
    if (!k) {
        el->nomem = true;
        ccai_free(msg);
        return;
    }
    el->v[el->n++] = (Ccai_cfg_error){NULL, k, line, col, msg};
}

void Ccai_cfg_errlist_add(Ccai_cfg_errlist *el, const char *key, unsigned line, unsigned col,
                          const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = Ccai_vasprintf(fmt, ap);
    va_end(ap);
    Ccai_cfg_errlist_take(el, key, line, col, msg);
}

void Ccai_cfg_clear_errors(ccai_config *cfg)
{
    for (size_t i = 0; i < cfg->nerrors; i++) {
        ccai_free(cfg->errors[i].src);
        ccai_free(cfg->errors[i].key);
        ccai_free(cfg->errors[i].msg);
    }
    ccai_free(cfg->errors);
    ccai_free(cfg->errmsg);
    cfg->errors = NULL;
    cfg->nerrors = 0;
    cfg->errmsg = NULL;
}

/* Move the collected errors onto @cfg, with their text joined for
 * ccai_config_errmsg(). Consumes @el. False on NOMEM. */
static CCAI_MUST_CHECK bool install_errors(ccai_config *cfg, Ccai_cfg_errlist *el, const char *name)
{
    Ccai_cfg_clear_errors(cfg);
    el->closing = true;
    if (el->dropped)
        Ccai_cfg_errlist_add(el, "", 0, 0, "%zu more errors not listed", el->dropped);
    Ccai_buf b = {0};
    bool ok = !el->nomem;
    for (size_t i = 0; ok && i < el->n; i++) {
        const Ccai_cfg_error *e = &el->v[i];
        ok = Ccai_buf_printf(&b, "%s%s:%u:%u: %s%s%s", i ? "\n" : "", e->src ? e->src : name,
                             e->line, e->col, e->key, e->key[0] ? ": " : "", e->msg);
    }
    char *msg = ok ? Ccai_buf_steal(&b) : NULL;
    Ccai_buf_free(&b);
    if (!msg) {
        Ccai_cfg_errlist_free(el);
        return false;
    }
    cfg->errmsg = msg;
    cfg->errors = el->v;
    cfg->nerrors = el->n;
    memset(el, 0, sizeof *el);
    return true;
}

/* ------------------------------------------------------------------------ */
/* The tree                                                                 */
/* ------------------------------------------------------------------------ */

/* Copy the segment of @p up to the next dot into @seg; the rest of the
 * path (or NULL for the last segment) in *rest. False when too long. */
static CCAI_MUST_CHECK bool split_segment(const char *p, char *seg, size_t seglen,
                                          const char **rest)
{
    const char *dot = strchr(p, '.');
    size_t n = dot ? (size_t)(dot - p) : strlen(p);
    if (n >= seglen)
        return false;
    memcpy(seg, p, n);
    seg[n] = '\0';
    *rest = dot ? dot + 1 : NULL;
    return true;
}

json_t *Ccai_cfg_tree_get(const json_t *root, const char *path)
{
    char seg[CCAI_KEY_PATH_MAX];
    const json_t *cur = root;
    const char *p = path;
    while (p) {
        if (!json_is_object(cur) || !split_segment(p, seg, sizeof seg, &p))
            return NULL;
        cur = json_object_get(cur, seg);
    }
    return (json_t *)cur;
}

/* Store @value (stolen) at @path, creating the sections on the way. */
bool Ccai_cfg_tree_set(json_t *root, const char *path, json_t *value)
{
    char seg[CCAI_KEY_PATH_MAX];
    json_t *cur = root;
    const char *p = path;
    while (split_segment(p, seg, sizeof seg, &p)) {
        if (!p)
            return json_object_set_new(cur, seg, value) == 0;
        json_t *child = json_object_get(cur, seg);
        if (!json_is_object(child)) {
            child = json_object();
            if (!child || json_object_set_new(cur, seg, child) != 0)
                break;
        }
        cur = child;
    }
    json_decref(value);
    return false;
}

static void tree_del(json_t *root, const char *path)
{
    const char *dot = strrchr(path, '.');
    char parent[CCAI_KEY_PATH_MAX];
    size_t n = dot ? (size_t)(dot - path) : 0;
    if (n >= sizeof parent)
        return;
    memcpy(parent, path, n);
    parent[n] = '\0';
    json_t *obj = dot ? Ccai_cfg_tree_get(root, parent) : root;
    if (json_is_object(obj))
        json_object_del(obj, dot ? dot + 1 : path);
}

/* The text form of every non-string scalar key, for ccai_config_get(). */
static json_t *build_texts(const json_t *root)
{
    json_t *texts = json_object();
    for (size_t i = 0; texts && i < Ccai_keys_count(); i++) {
        const Ccai_key *k = Ccai_key_at(i);
        const json_t *v = Ccai_cfg_tree_get(root, k->path);
        if (!v || json_is_string(v) || json_is_object(v) || json_is_array(v))
            continue;
        char buf[64];
        Ccai_key_format(v, buf, sizeof buf);
        if (json_object_set_new_nocheck(texts, k->path, json_string(buf)) != 0) {
            json_decref(texts);
            texts = NULL;
        }
    }
    return texts;
}

/* Apply @changes (path -> value; JSON null restores the default) to a copy
 * of the tree and switch to it: all or nothing. */
static CCAI_MUST_CHECK ccai_status commit(ccai_config *cfg, const json_t *changes)
{
    json_t *root = json_deep_copy(cfg->root);
    if (!root)
        return CCAI_ERR_NOMEM;
    const char *path;
    json_t *v;
    json_object_foreach((json_t *)changes, path, v)
    {
        if (json_is_null(v)) {
            json_t *def = NULL;
            if (Ccai_key_default(Ccai_key_find(path), &def) != CCAI_CONV_OK)
                goto nomem;
            if (!def)
                tree_del(root, path);
            else if (!Ccai_cfg_tree_set(root, path, def))
                goto nomem;
        } else if (!Ccai_cfg_tree_set(root, path, json_incref(v))) {
            goto nomem;
        }
    }
    json_t *texts = build_texts(root);
    if (!texts)
        goto nomem;
    json_decref(cfg->root);
    json_decref(cfg->texts);
    cfg->root = root;
    cfg->texts = texts;
    return CCAI_OK;
nomem:
    json_decref(root);
    return CCAI_ERR_NOMEM;
}

/* Collect mode: keep @el's errors (from @name) for validate(). */
static CCAI_MUST_CHECK bool keep_pending(ccai_config *cfg, Ccai_cfg_errlist *el, const char *name)
{
    Ccai_cfg_errlist *p = &cfg->pending;
    for (size_t i = 0; i < el->n && !p->nomem; i++) {
        Ccai_cfg_error *e = &el->v[i];
        Ccai_cfg_errlist_take(p, e->key, e->line, e->col, e->msg);
        e->msg = NULL;
        if (!p->nomem && p->n && !p->v[p->n - 1].src) {
            p->v[p->n - 1].src = Ccai_strdup(name);
            p->nomem = !p->v[p->n - 1].src;
        }
    }
    p->dropped += el->dropped;
    Ccai_cfg_errlist_free(el);
    return !p->nomem;
}

void Ccai_cfg_take_pending(ccai_config *cfg, Ccai_cfg_errlist *el)
{
    *el = cfg->pending;
    memset(&cfg->pending, 0, sizeof cfg->pending);
}

/* Finish an operation: errors win, then the changes are committed; in
 * collect mode, the errors of a document (not of validate) are kept for
 * validate() and its good values committed. */
ccai_status Ccai_cfg_finish(ccai_config *cfg, Ccai_cfg_errlist *el, const char *name,
                            ccai_status on_error, const json_t *changes)
{
    if (el->nomem) {
        Ccai_cfg_errlist_free(el);
        return CCAI_ERR_NOMEM;
    }
    if (cfg->collect && on_error == CCAI_ERR_CONFIG && (el->n || el->dropped)) {
        if (!keep_pending(cfg, el, name))
            return CCAI_ERR_NOMEM;
        return changes ? commit(cfg, changes) : CCAI_OK;
    }
    if (el->n || el->dropped)
        return install_errors(cfg, el, name) ? on_error : CCAI_ERR_NOMEM;
    Ccai_cfg_errlist_free(el);
    return changes ? commit(cfg, changes) : CCAI_OK;
}

/* ------------------------------------------------------------------------ */
/* Lifecycle                                                                */
/* ------------------------------------------------------------------------ */

CCAI_EXPORT ccai_status ccai_config_new(ccai_config **ret)
{
    if (!ret)
        return CCAI_ERR_INVALID_ARG;
    ccai_config *cfg = Ccai_calloc(1, sizeof *cfg);
    if (!cfg)
        return CCAI_ERR_NOMEM;
    cfg->logger.min_level = CCAI_LOG_INFO;
    cfg->root = json_object();
    if (!cfg->root)
        goto nomem;
    for (size_t i = 0; i < Ccai_keys_count(); i++) {
        const Ccai_key *k = Ccai_key_at(i);
        json_t *def = NULL;
        if (Ccai_key_default(k, &def) != CCAI_CONV_OK)
            goto nomem;
        if (def && !Ccai_cfg_tree_set(cfg->root, k->path, def))
            goto nomem;
    }
    cfg->texts = build_texts(cfg->root);
    if (!cfg->texts)
        goto nomem;
    *ret = cfg;
    return CCAI_OK;
nomem:
    ccai_config_free(cfg);
    return CCAI_ERR_NOMEM;
}

CCAI_EXPORT void ccai_config_free(ccai_config *cfg)
{
    if (!cfg)
        return;
    Ccai_cfg_clear_errors(cfg);
    Ccai_cfg_errlist_free(&cfg->pending);
    json_decref(cfg->root);
    json_decref(cfg->texts);
    ccai_free(cfg);
}

ccai_config *Ccai_config_copy(const ccai_config *cfg)
{
    if (!cfg)
        return NULL;
    ccai_config *c = Ccai_calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->logger = cfg->logger;
    c->sms_ops = cfg->sms_ops;
    c->sms_ud = cfg->sms_ud;
    c->root = json_deep_copy(cfg->root);
    c->texts = json_deep_copy(cfg->texts);
    c->collect = cfg->collect;
    for (size_t i = 0; i < cfg->pending.n; i++) {
        const Ccai_cfg_error *e = &cfg->pending.v[i];
        Ccai_cfg_errlist_add(&c->pending, e->key, e->line, e->col, "%s", e->msg);
        if (!c->pending.nomem && e->src) {
            c->pending.v[c->pending.n - 1].src = Ccai_strdup(e->src);
            c->pending.nomem = !c->pending.v[c->pending.n - 1].src;
        }
    }
    c->pending.dropped = cfg->pending.dropped;
    if (!c->root || !c->texts || c->pending.nomem) {
        ccai_config_free(c);
        return NULL;
    }
    return c;
}

CCAI_EXPORT ccai_status ccai_config_set_collect(ccai_config *cfg, int on)
{
    if (!cfg)
        return CCAI_ERR_INVALID_ARG;
    cfg->collect = on != 0;
    return CCAI_OK;
}

CCAI_EXPORT ccai_status ccai_config_set_logger(ccai_config *cfg, ccai_log_fn fn, void *ud,
                                               ccai_log_level min_level)
{
    if (!cfg || (unsigned)min_level > CCAI_LOG_DEBUG)
        return CCAI_ERR_INVALID_ARG;
    cfg->logger = (Ccai_logger){fn, ud, min_level};
    return CCAI_OK;
}

CCAI_EXPORT ccai_status ccai_config_set_sms_ops(ccai_config *cfg, const ccai_sms_ops *ops, void *ud)
{
    if (!cfg || (ops && (ops->version < 1 || ops->version > CCAI_SMS_OPS_VERSION || !ops->send)))
        return CCAI_ERR_INVALID_ARG;
    /* Version 1 is the whole table today: members appended later are read
     * only when ops->version says they exist. */
    cfg->sms_ops = ops ? (ccai_sms_ops){1, ops->send} : (ccai_sms_ops){0};
    cfg->sms_ud = ops ? ud : NULL;
    return CCAI_OK;
}

const ccai_sms_ops *Ccai_config_sms_ops(const ccai_config *cfg, void **ret_ud)
{
    *ret_ud = cfg->sms_ud;
    return cfg->sms_ops.version ? &cfg->sms_ops : NULL;
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                  */
/* ------------------------------------------------------------------------ */

CCAI_EXPORT const char *ccai_config_get(const ccai_config *cfg, const char *key)
{
    if (!cfg || !key)
        return NULL;
    const json_t *v = Ccai_cfg_tree_get(cfg->root, key);
    if (json_is_string(v))
        return json_string_value(v);
    if (!v || json_is_object(v) || json_is_array(v) || json_is_null(v))
        return NULL;
    return json_string_value(json_object_get(cfg->texts, key));
}

const json_t *Ccai_config_root(const ccai_config *cfg)
{
    return cfg->root;
}

const char *Ccai_config_str(const ccai_config *cfg, const char *key)
{
    return json_string_value(Ccai_cfg_tree_get(cfg->root, key));
}

int64_t Ccai_config_int(const ccai_config *cfg, const char *key, int64_t def)
{
    const json_t *v = Ccai_cfg_tree_get(cfg->root, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : def;
}

double Ccai_config_double(const ccai_config *cfg, const char *key, double def)
{
    const json_t *v = Ccai_cfg_tree_get(cfg->root, key);
    return json_is_number(v) ? json_number_value(v) : def;
}

bool Ccai_config_bool(const ccai_config *cfg, const char *key, bool def)
{
    const json_t *v = Ccai_cfg_tree_get(cfg->root, key);
    return json_is_boolean(v) ? json_is_true(v) : def;
}

const json_t *Ccai_config_json(const ccai_config *cfg, const char *key)
{
    const json_t *v = Ccai_cfg_tree_get(cfg->root, key);
    return json_is_object(v) || json_is_array(v) ? v : NULL;
}

const Ccai_logger *Ccai_config_logger(const ccai_config *cfg)
{
    return &cfg->logger;
}

CCAI_EXPORT ccai_status ccai_config_to_json(const ccai_config *cfg, int redact, char **ret_json)
{
    if (!cfg || !ret_json)
        return CCAI_ERR_INVALID_ARG;
    const size_t flags = JSON_INDENT(2) | JSON_REAL_PRECISION(15);
    ccai_status st = CCAI_ERR_NOMEM;
    json_t *dump = redact ? json_deep_copy(cfg->root) : json_incref(cfg->root);
    if (!dump)
        return CCAI_ERR_NOMEM;
    for (size_t i = 0; redact && i < Ccai_keys_count(); i++) {
        const Ccai_key *k = Ccai_key_at(i);
        if (k->type == CCAI_KEY_SECRET && json_is_string(Ccai_cfg_tree_get(dump, k->path)) &&
            !Ccai_cfg_tree_set(dump, k->path, json_string("***")))
            goto out;
    }
    char *out = Ccai_json_dump(dump, flags);
    if (out) {
        *ret_json = out;
        st = CCAI_OK;
    }
out:
    json_decref(dump);
    return st;
}

CCAI_EXPORT const char *ccai_config_errmsg(const ccai_config *cfg)
{
    return cfg && cfg->errmsg ? cfg->errmsg : "";
}

CCAI_EXPORT size_t ccai_config_error_count(const ccai_config *cfg)
{
    return cfg ? cfg->nerrors : 0;
}

CCAI_EXPORT ccai_status ccai_config_error(const ccai_config *cfg, size_t index,
                                          const char **ret_key, unsigned *ret_line,
                                          unsigned *ret_column, const char **ret_message)
{
    if (!cfg)
        return CCAI_ERR_INVALID_ARG;
    if (index >= cfg->nerrors)
        return CCAI_ERR_NOT_FOUND;
    const Ccai_cfg_error *e = &cfg->errors[index];
    if (ret_key)
        *ret_key = e->key;
    if (ret_line)
        *ret_line = e->line;
    if (ret_column)
        *ret_column = e->col;
    if (ret_message)
        *ret_message = e->msg;
    return CCAI_OK;
}
