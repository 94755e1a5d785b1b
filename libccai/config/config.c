/* ccai_config: the effective configuration as a JSON tree (defaults, then
 * files, environment and ccai_config_set() in the order the host applies
 * them), loaded from YAML with every error collected. */
#include "config/config.h"
#include "config/keys.h"
#include "core/hostport.h"
#include "core/json.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

extern char **environ;

#define DOC_MAX_BYTES (1024 * 1024)
#define DOC_MAX_DEPTH 32
#define DOC_MAX_NODES 100000
#define ERRORS_MAX    100

typedef struct cfg_error {
    char *key;
    unsigned line, col;
    char *msg;
} cfg_error;

typedef struct errlist {
    cfg_error *v;
    size_t n, cap;
    size_t dropped;
    bool nomem;
    bool closing; /* the "more errors" line goes past the cap */
} errlist;

struct ccai_config {
    json_t *root;  /* effective tree */
    json_t *texts; /* dotted path -> text form of every non-string scalar */
    Ccai_logger logger;
    ccai_sms_ops sms_ops; /* ccai_config_set_sms_ops(); version 0: none */
    void *sms_ud;
    cfg_error *errors;
    size_t nerrors;
    char *errmsg;
};

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */
/* ------------------------------------------------------------------------ */

static void errlist_free(errlist *el)
{
    for (size_t i = 0; i < el->n; i++) {
        ccai_free(el->v[i].key);
        ccai_free(el->v[i].msg);
    }
    ccai_free(el->v);
    memset(el, 0, sizeof *el);
}

/* Append an error; takes @msg (NULL means the message could not be made). */
static void errlist_take(errlist *el, const char *key, unsigned line, unsigned col, char *msg)
{
    if (!msg) {
        el->nomem = true;
        return;
    }
    if (el->n >= ERRORS_MAX && !el->closing) {
        el->dropped++;
        ccai_free(msg);
        return;
    }
    if (el->n == el->cap) {
        size_t cap = el->cap ? el->cap * 2 : 8;
        cfg_error *v = Ccai_realloc(el->v, cap * sizeof *v);
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
    el->v[el->n++] = (cfg_error){k, line, col, msg};
}

static void errlist_add(errlist *el, const char *key, unsigned line, unsigned col, const char *fmt,
                        ...) CCAI_PRINTF(5, 6);
static void errlist_add(errlist *el, const char *key, unsigned line, unsigned col, const char *fmt,
                        ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = Ccai_vasprintf(fmt, ap);
    va_end(ap);
    errlist_take(el, key, line, col, msg);
}

static void clear_errors(ccai_config *cfg)
{
    for (size_t i = 0; i < cfg->nerrors; i++) {
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
static CCAI_MUST_CHECK bool install_errors(ccai_config *cfg, errlist *el, const char *name)
{
    clear_errors(cfg);
    el->closing = true;
    if (el->dropped)
        errlist_add(el, "", 0, 0, "%zu more errors not listed", el->dropped);
    Ccai_buf b = {0};
    bool ok = !el->nomem;
    for (size_t i = 0; ok && i < el->n; i++) {
        const cfg_error *e = &el->v[i];
        ok = Ccai_buf_printf(&b, "%s%s:%u:%u: %s%s%s", i ? "\n" : "", name, e->line, e->col, e->key,
                             e->key[0] ? ": " : "", e->msg);
    }
    char *msg = ok ? Ccai_buf_steal(&b) : NULL;
    Ccai_buf_free(&b);
    if (!msg) {
        errlist_free(el);
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

static json_t *tree_get(const json_t *root, const char *path)
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
static CCAI_MUST_CHECK bool tree_set(json_t *root, const char *path, json_t *value)
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
    json_t *obj = dot ? tree_get(root, parent) : root;
    if (json_is_object(obj))
        json_object_del(obj, dot ? dot + 1 : path);
}

/* The text form of every non-string scalar key, for ccai_config_get(). */
static json_t *build_texts(const json_t *root)
{
    json_t *texts = json_object();
    for (size_t i = 0; texts && i < Ccai_keys_count(); i++) {
        const Ccai_key *k = Ccai_key_at(i);
        const json_t *v = tree_get(root, k->path);
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
            else if (!tree_set(root, path, def))
                goto nomem;
        } else if (!tree_set(root, path, json_incref(v))) {
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

/* Finish an operation: errors win, then the changes are committed. */
static CCAI_MUST_CHECK ccai_status finish(ccai_config *cfg, errlist *el, const char *name,
                                          ccai_status on_error, const json_t *changes)
{
    if (el->nomem) {
        errlist_free(el);
        return CCAI_ERR_NOMEM;
    }
    if (el->n || el->dropped)
        return install_errors(cfg, el, name) ? on_error : CCAI_ERR_NOMEM;
    errlist_free(el);
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
        if (def && !tree_set(cfg->root, k->path, def))
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
    clear_errors(cfg);
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
    if (!c->root || !c->texts) {
        ccai_config_free(c);
        return NULL;
    }
    return c;
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
/* YAML                                                                     */
/* ------------------------------------------------------------------------ */

typedef struct walk {
    ccai_config *cfg;
    const char *name;
    yaml_document_t *doc;
    errlist *el;
    json_t *changes; /* path -> value */
    json_t *seen;    /* path -> line, to catch duplicate keys */
    size_t visits;
    bool stop; /* a document-wide limit was hit: report it once */
} walk;

static unsigned mark_line(yaml_mark_t m)
{
    return m.line + 1 > UINT32_MAX ? UINT32_MAX : (unsigned)m.line + 1;
}

static unsigned mark_col(yaml_mark_t m)
{
    return m.column + 1 > UINT32_MAX ? UINT32_MAX : (unsigned)m.column + 1;
}

static CCAI_MUST_CHECK bool is_null_scalar(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *s = (const char *)n->data.scalar.value;
    size_t len = n->data.scalar.length;
    return len == 0 || (len == 1 && s[0] == '~') || strcmp(s, "null") == 0 ||
           strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

static const char *node_kind(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_MAPPING_NODE: return "a mapping";
    case YAML_SEQUENCE_NODE: return "a list";
    default: return "a scalar";
    }
}

/* Count a node against the document-wide limits; false once they are hit. */
static CCAI_MUST_CHECK bool visit(walk *w, const char *path, const yaml_node_t *n, unsigned depth)
{
    if (w->stop)
        return false;
    if (++w->visits > DOC_MAX_NODES) {
        errlist_add(w->el, path, mark_line(n->start_mark), mark_col(n->start_mark),
                    "more than %d nodes (aliases expanded): document rejected", DOC_MAX_NODES);
        w->stop = true;
        return false;
    }
    if (depth > DOC_MAX_DEPTH) {
        errlist_add(w->el, path, mark_line(n->start_mark), mark_col(n->start_mark),
                    "nested deeper than %d levels: document rejected", DOC_MAX_DEPTH);
        w->stop = true;
        return false;
    }
    return true;
}

/* A list or map value as generic JSON: scalars are strings, plain nulls
 * null. NULL when an error was recorded or memory ran out. */
static json_t *yaml_to_json(walk *w, const char *path, yaml_node_t *n, unsigned depth)
{
    if (!n || !visit(w, path, n, depth))
        return NULL;
    unsigned line = mark_line(n->start_mark), col = mark_col(n->start_mark);
    json_t *out = NULL;
    switch (n->type) {
    case YAML_SCALAR_NODE: {
        const char *s = (const char *)n->data.scalar.value;
        size_t len = n->data.scalar.length;
        if (is_null_scalar(n))
            return json_null();
        if (!Ccai_text_valid(s, len)) {
            errlist_add(w->el, path, line, col, "text with a NUL character");
            return NULL;
        }
        out = json_stringn(s, len);
        if (!out)
            w->el->nomem = true;
        return out;
    }
    case YAML_SEQUENCE_NODE:
        out = json_array();
        if (!out)
            break;
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
             it++) {
            json_t *item = yaml_to_json(w, path, yaml_document_get_node(w->doc, *it), depth + 1);
            if (!item || json_array_append_new(out, item) != 0) {
                json_decref(out);
                return NULL;
            }
        }
        return out;
    case YAML_MAPPING_NODE:
        out = json_object();
        if (!out)
            break;
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
             p++) {
            yaml_node_t *kn = yaml_document_get_node(w->doc, p->key);
            if (!kn || !visit(w, path, kn, depth + 1)) {
                json_decref(out);
                return NULL;
            }
            const char *ks =
                kn->type == YAML_SCALAR_NODE ? (const char *)kn->data.scalar.value : NULL;
            if (!ks || !Ccai_text_valid(ks, kn->data.scalar.length)) {
                errlist_add(w->el, path, mark_line(kn->start_mark), mark_col(kn->start_mark),
                            "keys must be text");
                json_decref(out);
                return NULL;
            }
            if (json_object_get(out, ks)) {
                char q[80];
                Ccai_quote(ks, kn->data.scalar.length, q, sizeof q);
                errlist_add(w->el, path, mark_line(kn->start_mark), mark_col(kn->start_mark),
                            "duplicate key %s", q);
                json_decref(out);
                return NULL;
            }
            json_t *item =
                yaml_to_json(w, path, yaml_document_get_node(w->doc, p->value), depth + 1);
            if (!item || json_object_set_new_nocheck(out, ks, item) != 0) {
                json_decref(out);
                return NULL;
            }
        }
        return out;
    default: return NULL;
    }
    w->el->nomem = true;
    return NULL;
}

/* Convert the value of a known key and stage it. */
static void walk_leaf(walk *w, const Ccai_key *k, yaml_node_t *n, unsigned depth)
{
    if (!n || !visit(w, k->path, n, depth))
        return;
    unsigned line = mark_line(n->start_mark), col = mark_col(n->start_mark);
    const json_t *current = tree_get(w->cfg->root, k->path);
    json_t *v = NULL;
    char *msg = NULL;
    Ccai_conv c = CCAI_CONV_OK;
    if (is_null_scalar(n)) {
        v = json_null();
    } else if (n->type == YAML_SCALAR_NODE) {
        if (k->type == CCAI_KEY_CLAIM || k->type == CCAI_KEY_LANG || k->type == CCAI_KEY_LEXICON) {
            char what[160];
            Ccai_key_expected(k, what, sizeof what);
            errlist_add(w->el, k->path, line, col, "expected %s, got a scalar", what);
            return;
        }
        /* A YAML scalar for a text list is one text, whatever it looks like. */
        Ccai_key as_text = *k;
        if (k->type == CCAI_KEY_TEXTS)
            as_text.type = CCAI_KEY_STRING;
        c = Ccai_key_parse_text(&as_text, NULL, (const char *)n->data.scalar.value,
                                n->data.scalar.length, current, &v, &msg);
    } else if (k->type == CCAI_KEY_CLAIM || k->type == CCAI_KEY_LANG || k->type == CCAI_KEY_TEXTS ||
               k->type == CCAI_KEY_LEXICON) {
        json_t *j = yaml_to_json(w, k->path, n, depth);
        if (!j)
            return;
        c = Ccai_key_check_json(k, j, current, &v, &msg);
        json_decref(j);
    } else {
        char what[160];
        Ccai_key_expected(k, what, sizeof what);
        errlist_add(w->el, k->path, line, col, "expected %s, got %s", what, node_kind(n));
        return;
    }
    if (c == CCAI_CONV_NOMEM) {
        w->el->nomem = true;
        return;
    }
    if (c == CCAI_CONV_BAD) {
        errlist_take(w->el, k->path, line, col, msg);
        return;
    }
    if (json_object_set_new_nocheck(w->changes, k->path, v) != 0)
        w->el->nomem = true;
}

/* True when @path was not seen yet in this document (and remembers it). */
static CCAI_MUST_CHECK bool first_time(walk *w, const char *path, unsigned line, unsigned col)
{
    const json_t *prev = json_object_get(w->seen, path);
    if (prev) {
        errlist_add(w->el, path, line, col,
                    "duplicate key (first at line %" JSON_INTEGER_FORMAT ")",
                    json_integer_value(prev));
        return false;
    }
    if (json_object_set_new_nocheck(w->seen, path, json_integer(line)) != 0)
        w->el->nomem = true;
    return true;
}

static void walk_section(walk *w, const char *prefix, yaml_node_t *n, unsigned depth)
{
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
         p < n->data.mapping.pairs.top && !w->stop && !w->el->nomem; p++) {
        yaml_node_t *kn = yaml_document_get_node(w->doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(w->doc, p->value);
        if (!kn || !vn || !visit(w, prefix, kn, depth))
            return;
        unsigned line = mark_line(kn->start_mark), col = mark_col(kn->start_mark);
        if (kn->type != YAML_SCALAR_NODE) {
            errlist_add(w->el, prefix, line, col, "keys must be text, got %s", node_kind(kn));
            continue;
        }
        const char *ks = (const char *)kn->data.scalar.value;
        size_t klen = kn->data.scalar.length;
        char path[CCAI_KEY_PATH_MAX];
        int pn = snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", ks);
        if (klen == 0 || memchr(ks, '\0', klen) || pn < 0 || (size_t)pn >= sizeof path) {
            char q[80];
            Ccai_quote(ks, klen, q, sizeof q);
            errlist_add(w->el, prefix, line, col, "unknown key %s", q);
            continue;
        }
        const Ccai_key *k = Ccai_key_find(path);
        if (k && k->type == CCAI_KEY_IGNORED) {
            if (first_time(w, path, line, col))
                Ccai_log(&w->cfg->logger, CCAI_LOG_WARN,
                         "%s:%u:%u: %s: ignored: not used by libccai", w->name, line, col, path);
        } else if (k) {
            if (first_time(w, path, line, col))
                walk_leaf(w, k, vn, depth + 1);
        } else if (Ccai_key_is_section(path)) {
            if (!first_time(w, path, line, col))
                continue;
            if (vn->type == YAML_MAPPING_NODE)
                walk_section(w, path, vn, depth + 1);
            else if (!is_null_scalar(vn))
                errlist_add(w->el, path, mark_line(vn->start_mark), mark_col(vn->start_mark),
                            "expected a mapping (a section), got %s", node_kind(vn));
        } else {
            char hint[CCAI_KEY_PATH_MAX];
            /* Past the cap the error is only counted: skip the search. */
            if (w->el->n < ERRORS_MAX && Ccai_key_suggest(path, hint, sizeof hint))
                errlist_add(w->el, path, line, col, "unknown key; did you mean %s?", hint);
            else
                errlist_add(w->el, path, line, col, "unknown key");
        }
    }
}

static void parse_error(errlist *el, const yaml_parser_t *p)
{
    yaml_mark_t m = p->problem_mark;
    if (p->error == YAML_READER_ERROR)
        m = p->mark;
    const char *problem = p->problem ? p->problem : "malformed YAML";
    if (p->context)
        errlist_add(el, "", mark_line(m), mark_col(m), "%s (%s at line %u)", problem, p->context,
                    mark_line(p->context_mark));
    else
        errlist_add(el, "", mark_line(m), mark_col(m), "%s", problem);
}

/* libyaml's document loader slows down badly with deep nesting: check the
 * depth and the node count on the event stream before loading. */
static CCAI_MUST_CHECK ccai_status prescan(const char *yaml, size_t len, errlist *el)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        return CCAI_ERR_NOMEM;
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
    ccai_status st = CCAI_OK;
    unsigned depth = 0, docs = 0;
    size_t nodes = 0;
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            if (parser.error == YAML_MEMORY_ERROR) {
                st = CCAI_ERR_NOMEM;
            } else {
                parse_error(el, &parser);
                st = CCAI_ERR_PARSE;
            }
            break;
        }
        yaml_event_type_t type = ev.type;
        yaml_mark_t m = ev.start_mark;
        yaml_event_delete(&ev);
        if (type == YAML_STREAM_END_EVENT)
            break;
        if (type == YAML_DOCUMENT_START_EVENT && ++docs > 1) {
            errlist_add(el, "", mark_line(m), mark_col(m), "only one YAML document is allowed");
            st = CCAI_ERR_CONFIG;
            break;
        }
        if (type == YAML_SCALAR_EVENT || type == YAML_ALIAS_EVENT ||
            type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT) {
            if (++nodes > DOC_MAX_NODES) {
                errlist_add(el, "", mark_line(m), mark_col(m),
                            "more than %d nodes: document rejected", DOC_MAX_NODES);
                st = CCAI_ERR_CONFIG;
                break;
            }
        }
        if (type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT) {
            if (++depth > DOC_MAX_DEPTH) {
                errlist_add(el, "", mark_line(m), mark_col(m),
                            "nested deeper than %d levels: document rejected", DOC_MAX_DEPTH);
                st = CCAI_ERR_CONFIG;
                break;
            }
        } else if (type == YAML_SEQUENCE_END_EVENT || type == YAML_MAPPING_END_EVENT) {
            depth--;
        }
    }
    yaml_parser_delete(&parser);
    return st;
}

static CCAI_MUST_CHECK ccai_status load_yaml(ccai_config *cfg, const char *yaml, size_t len,
                                             const char *name)
{
    errlist el = {0};
    walk w = {cfg, name, NULL, &el, NULL, NULL, 0, false};
    yaml_parser_t parser;
    yaml_document_t doc;
    bool have_parser = false, have_doc = false;
    ccai_status st;

    clear_errors(cfg);
    if (len > DOC_MAX_BYTES) {
        errlist_add(&el, "", 0, 0, "document too large (more than %d bytes)", DOC_MAX_BYTES);
        st = finish(cfg, &el, name, CCAI_ERR_CONFIG, NULL);
        goto out;
    }
    st = prescan(yaml, len, &el);
    if (st == CCAI_ERR_NOMEM)
        goto out;
    if (st != CCAI_OK) {
        st = finish(cfg, &el, name, st, NULL);
        goto out;
    }
    if (!yaml_parser_initialize(&parser)) {
        st = CCAI_ERR_NOMEM;
        goto out;
    }
    have_parser = true;
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
    if (!yaml_parser_load(&parser, &doc)) {
        if (parser.error == YAML_MEMORY_ERROR) {
            st = CCAI_ERR_NOMEM;
        } else {
            parse_error(&el, &parser);
            st = finish(cfg, &el, name, CCAI_ERR_PARSE, NULL);
        }
        goto out;
    }
    have_doc = true;
    w.doc = &doc;
    w.changes = json_object();
    w.seen = json_object();
    if (!w.changes || !w.seen) {
        st = CCAI_ERR_NOMEM;
        goto out;
    }
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root && root->type == YAML_MAPPING_NODE && visit(&w, "", root, 1))
        walk_section(&w, "", root, 1);
    else if (root && !is_null_scalar(root))
        errlist_add(&el, "", mark_line(root->start_mark), mark_col(root->start_mark),
                    "expected a mapping at the top of the document, got %s", node_kind(root));
    st = finish(cfg, &el, name, CCAI_ERR_CONFIG, w.changes);
out:
    errlist_free(&el);
    json_decref(w.changes);
    json_decref(w.seen);
    if (have_doc)
        yaml_document_delete(&doc);
    if (have_parser)
        yaml_parser_delete(&parser);
    return st;
}

CCAI_EXPORT ccai_status ccai_config_load_string(ccai_config *cfg, const char *yaml, size_t len,
                                                const char *name)
{
    if (!cfg || (!yaml && len))
        return CCAI_ERR_INVALID_ARG;
    return load_yaml(cfg, yaml ? yaml : "", len, name ? name : "<string>");
}

CCAI_EXPORT ccai_status ccai_config_load(ccai_config *cfg, const char *path)
{
    if (!cfg || !path)
        return CCAI_ERR_INVALID_ARG;
    clear_errors(cfg);
    errlist el = {0};
    char *data = NULL;
    ccai_status st;
    FILE *f = fopen(path, "rb");
    if (!f) {
        errlist_add(&el, "", 0, 0, "cannot open: %s", strerror(errno));
        return finish(cfg, &el, path, CCAI_ERR_IO, NULL);
    }
    /* One byte more than the limit tells a too large file apart. */
    data = Ccai_malloc(DOC_MAX_BYTES + 1);
    if (!data) {
        st = CCAI_ERR_NOMEM;
        goto out;
    }
    size_t len = fread(data, 1, DOC_MAX_BYTES + 1, f);
    if (ferror(f)) {
        errlist_add(&el, "", 0, 0, "cannot read: %s", strerror(errno));
        st = finish(cfg, &el, path, CCAI_ERR_IO, NULL);
        goto out;
    }
    st = load_yaml(cfg, data, len, path);
out:
    errlist_free(&el);
    ccai_free(data);
    fclose(f);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Environment and set()                                                    */
/* ------------------------------------------------------------------------ */

/* The key named by @path, or a member of a lang key ("...lang.availables"). */
static const Ccai_key *resolve_key(const char *path, const char **member)
{
    *member = NULL;
    const Ccai_key *k = Ccai_key_find(path);
    if (k)
        return k->type == CCAI_KEY_IGNORED ? NULL : k;
    const char *dot = strrchr(path, '.');
    char parent[CCAI_KEY_PATH_MAX];
    size_t n = dot ? (size_t)(dot - path) : 0;
    if (!dot || n >= sizeof parent)
        return NULL;
    memcpy(parent, path, n);
    parent[n] = '\0';
    k = Ccai_key_find(parent);
    if (!k || k->type != CCAI_KEY_LANG ||
        (strcmp(dot + 1, "default_short_code") && strcmp(dot + 1, "availables")))
        return NULL;
    *member = dot + 1;
    return k;
}

/* Parse @value for @k and stage it in @changes; errors go to @el. */
static void stage_text(const ccai_config *cfg, const Ccai_key *k, const char *member,
                       const char *value, json_t *changes, errlist *el, const char *label)
{
    size_t len = strlen(value);
    if (len > DOC_MAX_BYTES) {
        errlist_add(el, label, 0, 0, "value too long (%zu bytes, at most %d)", len, DOC_MAX_BYTES);
        return;
    }
    const json_t *current = json_object_get(changes, k->path);
    if (!current || json_is_null(current))
        current = tree_get(cfg->root, k->path);
    json_t *v = NULL;
    char *msg = NULL;
    switch (Ccai_key_parse_text(k, member, value, len, current, &v, &msg)) {
    case CCAI_CONV_OK:
        if (json_object_set_new_nocheck(changes, k->path, v) != 0)
            el->nomem = true;
        return;
    case CCAI_CONV_BAD: errlist_take(el, label, 0, 0, msg); return;
    case CCAI_CONV_NOMEM: el->nomem = true; return;
    }
}

/* A key path in environment form: SERVER__API_TOKEN. */
static void env_name(const char *path, char *out, size_t outlen)
{
    size_t o = 0;
    for (const char *p = path; *p && o + 3 < outlen; p++) {
        if (*p == '.') {
            out[o++] = '_';
            out[o++] = '_';
        } else {
            out[o++] = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
        }
    }
    out[o] = '\0';
}

/* path is in a section the reference has and libccai ignores
 * (DATABASE__COSMOS_DB__...): its variables are dropped on purpose. */
static CCAI_MUST_CHECK bool under_ignored(const char *path)
{
    for (size_t i = 0; i < Ccai_keys_count(); i++) {
        const Ccai_key *k = Ccai_key_at(i);
        size_t n = strlen(k->path);
        if (k->type == CCAI_KEY_IGNORED && strncmp(path, k->path, n) == 0 &&
            (path[n] == '.' || !path[n]))
            return true;
    }
    return false;
}

/* A variable that looks meant for the configuration but names no key: a
 * misspelt one (SERVER__API_TOKN) or a single underscore where sections
 * need two (SERVER_API_TOKEN) would otherwise be dropped in silence, and a
 * misspelt token silently leave the API without one. Its name only is
 * logged, never its value. */
static void warn_unknown_env(const ccai_config *cfg, const char *var, size_t name_len,
                             const char *path)
{
    char hint[CCAI_KEY_PATH_MAX], hint_env[2 * CCAI_KEY_PATH_MAX];
    const char *dot = strchr(path, '.');
    if (dot) {
        char head[CCAI_KEY_PATH_MAX];
        memcpy(head, path, (size_t)(dot - path));
        head[dot - path] = '\0';
        if (!Ccai_key_is_section(head) || under_ignored(path))
            return;
        if (Ccai_key_suggest(path, hint, sizeof hint)) {
            env_name(hint, hint_env, sizeof hint_env);
            Ccai_log(&cfg->logger, CCAI_LOG_WARN,
                     "config: environment variable %.*s names no configuration key (ignored); did "
                     "you mean %s?",
                     (int)name_len, var, hint_env);
        } else {
            Ccai_log(&cfg->logger, CCAI_LOG_WARN,
                     "config: environment variable %.*s names no configuration key (ignored)",
                     (int)name_len, var);
        }
        return;
    }
    /* No double underscore: read single ones as section separators where
     * the prefix so far is a section (SERVER_API_TOKEN -> server.api_token). */
    char guess[CCAI_KEY_PATH_MAX];
    size_t n = strlen(path);
    if (n >= sizeof guess)
        return;
    memcpy(guess, path, n + 1);
    for (size_t i = 0; i < n; i++) {
        if (guess[i] != '_')
            continue;
        guess[i] = '\0';
        bool section = Ccai_key_is_section(guess);
        guess[i] = section ? '.' : '_';
    }
    const char *member;
    if (!strchr(guess, '.') || !resolve_key(guess, &member))
        return;
    env_name(guess, hint_env, sizeof hint_env);
    Ccai_log(&cfg->logger, CCAI_LOG_WARN,
             "config: environment variable %.*s is not read (sections are separated by a double "
             "underscore); did you mean %s?",
             (int)name_len, var, hint_env);
}

CCAI_EXPORT ccai_status ccai_config_apply_env(ccai_config *cfg, const char *const *envp)
{
    if (!cfg)
        return CCAI_ERR_INVALID_ARG;
    clear_errors(cfg);
    if (!envp)
        envp = (const char *const *)environ;
    errlist el = {0};
    json_t *changes = json_object();
    if (!changes)
        return CCAI_ERR_NOMEM;
    for (size_t i = 0; envp && envp[i] && !el.nomem; i++) {
        const char *eq = strchr(envp[i], '=');
        if (!eq || eq == envp[i])
            continue;
        char path[CCAI_KEY_PATH_MAX];
        size_t o = 0;
        bool fits = true;
        for (const char *p = envp[i]; p < eq && fits; p++) {
            if (o + 1 >= sizeof path) {
                fits = false;
            } else if (p[0] == '_' && p + 1 < eq && p[1] == '_') {
                path[o++] = '.';
                p++;
            } else {
                path[o++] = (char)Ccai_to_lower((unsigned char)*p);
            }
        }
        if (!fits)
            continue;
        path[o] = '\0';
        const char *member;
        const Ccai_key *k = resolve_key(path, &member);
        if (k)
            stage_text(cfg, k, member, eq + 1, changes, &el, path);
        else
            warn_unknown_env(cfg, envp[i], (size_t)(eq - envp[i]), path);
    }
    ccai_status st = finish(cfg, &el, "<env>", CCAI_ERR_CONFIG, changes);
    json_decref(changes);
    return st;
}

CCAI_EXPORT ccai_status ccai_config_set(ccai_config *cfg, const char *key, const char *value)
{
    if (!cfg || !key || !value)
        return CCAI_ERR_INVALID_ARG;
    clear_errors(cfg);
    errlist el = {0};
    const char *member;
    const Ccai_key *k = strlen(key) < CCAI_KEY_PATH_MAX ? resolve_key(key, &member) : NULL;
    if (!k) {
        char hint[CCAI_KEY_PATH_MAX];
        if (strlen(key) < CCAI_KEY_PATH_MAX && Ccai_key_suggest(key, hint, sizeof hint))
            errlist_add(&el, key, 0, 0, "unknown key; did you mean %s?", hint);
        else
            errlist_add(&el, key, 0, 0, "unknown key");
        return finish(cfg, &el, "<set>", CCAI_ERR_NOT_FOUND, NULL);
    }
    json_t *changes = json_object();
    if (!changes)
        return CCAI_ERR_NOMEM;
    stage_text(cfg, k, member, value, changes, &el, key);
    ccai_status st = finish(cfg, &el, "<set>", CCAI_ERR_CONFIG, changes);
    json_decref(changes);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                  */
/* ------------------------------------------------------------------------ */

CCAI_EXPORT const char *ccai_config_get(const ccai_config *cfg, const char *key)
{
    if (!cfg || !key)
        return NULL;
    const json_t *v = tree_get(cfg->root, key);
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
    return json_string_value(tree_get(cfg->root, key));
}

int64_t Ccai_config_int(const ccai_config *cfg, const char *key, int64_t def)
{
    const json_t *v = tree_get(cfg->root, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : def;
}

double Ccai_config_double(const ccai_config *cfg, const char *key, double def)
{
    const json_t *v = tree_get(cfg->root, key);
    return json_is_number(v) ? json_number_value(v) : def;
}

bool Ccai_config_bool(const ccai_config *cfg, const char *key, bool def)
{
    const json_t *v = tree_get(cfg->root, key);
    return json_is_boolean(v) ? json_is_true(v) : def;
}

const json_t *Ccai_config_json(const ccai_config *cfg, const char *key)
{
    const json_t *v = tree_get(cfg->root, key);
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
        if (k->type == CCAI_KEY_SECRET && json_is_string(tree_get(dump, k->path)) &&
            !tree_set(dump, k->path, json_string("***")))
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
    const cfg_error *e = &cfg->errors[index];
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

/* ------------------------------------------------------------------------ */
/* Cross-key rules                                                          */
/* ------------------------------------------------------------------------ */

static CCAI_MUST_CHECK bool has_text(const ccai_config *cfg, const char *key)
{
    const char *s = Ccai_config_str(cfg, key);
    return s && *s;
}

static CCAI_MUST_CHECK bool is_e164(const char *s)
{
    if (*s++ != '+')
        return false;
    size_t n = 0;
    for (; Ccai_is_digit((unsigned char)*s); s++)
        n++;
    return !*s && n >= 6 && n <= 15;
}

static void require(const ccai_config *cfg, errlist *el, const char *key, const char *why)
{
    if (!has_text(cfg, key))
        errlist_add(el, key, 0, 0, "required %s", why);
}

CCAI_EXPORT ccai_status ccai_config_validate(ccai_config *cfg)
{
    if (!cfg)
        return CCAI_ERR_INVALID_ARG;
    clear_errors(cfg);
    errlist el = {0};
    char key[CCAI_KEY_PATH_MAX], why[96];

    static const char *const tiers[] = {"fast", "slow"};
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(tiers); i++) {
        snprintf(key, sizeof key, "llm.%s.mode", tiers[i]);
        const char *mode = Ccai_config_str(cfg, key);
        if (!mode || strcmp(mode, "none") == 0)
            continue;
        snprintf(why, sizeof why, "when llm.%s.mode is %s", tiers[i], mode);
        snprintf(key, sizeof key, "llm.%s.endpoint", tiers[i]);
        require(cfg, &el, key, why);
        if (strcmp(mode, "azure_openai") != 0)
            continue;
        char model[CCAI_KEY_PATH_MAX];
        snprintf(key, sizeof key, "llm.%s.deployment", tiers[i]);
        snprintf(model, sizeof model, "llm.%s.model", tiers[i]);
        if (!has_text(cfg, key) && !has_text(cfg, model))
            errlist_add(&el, key, 0, 0, "required (or %s) %s", model, why);
        snprintf(key, sizeof key, "llm.%s.api_key", tiers[i]);
        require(cfg, &el, key, why);
    }

    const char *sms = Ccai_config_str(cfg, "sms.mode");
    if (sms && strcmp(sms, "twilio") == 0) {
        static const char *const parts[] = {"account_sid", "auth_token", "phone_number"};
        bool own = true, shared = true;
        for (size_t i = 0; i < CCAI_ARRAY_SIZE(parts); i++) {
            snprintf(key, sizeof key, "sms.twilio.%s", parts[i]);
            own = own && has_text(cfg, key);
            snprintf(key, sizeof key, "twilio.%s", parts[i]);
            shared = shared && has_text(cfg, key);
        }
        if (!own && !shared)
            errlist_add(&el, "sms.twilio", 0, 0,
                        "sms.mode twilio needs account_sid, auth_token and phone_number under "
                        "sms.twilio or twilio");
    } else if (sms && strcmp(sms, "communication_services") == 0) {
        require(cfg, &el, "communication_services.endpoint",
                "when sms.mode is communication_services");
        require(cfg, &el, "communication_services.access_key",
                "when sms.mode is communication_services");
        require(cfg, &el, "communication_services.phone_number",
                "when sms.mode is communication_services");
    } else if (sms && strcmp(sms, "host") == 0 && !cfg->sms_ops.version) {
        errlist_add(&el, "sms.mode", 0, 0,
                    "sms.mode host needs the host's sender: ccai_config_set_sms_ops()");
    }

    const json_t *lang = Ccai_config_json(cfg, "conversation.initiate.lang");
    const char *def = json_string_value(json_object_get(lang, "default_short_code"));
    const json_t *avail = json_object_get(lang, "availables");
    bool found = false;
    size_t i;
    json_t *e;
    Ccai_buf codes = {0};
    json_array_foreach(avail, i, e)
    {
        const char *code = json_string_value(json_object_get(e, "short_code"));
        found = found || (def && code && strcmp(def, code) == 0);
        if (code && !Ccai_buf_printf(&codes, "%s%s", i ? ", " : "", code))
            el.nomem = true;
    }
    if (!found)
        errlist_add(&el, "conversation.initiate.lang.default_short_code", 0, 0,
                    "\"%s\" is not one of the availables (%s)", def ? def : "",
                    codes.data ? codes.data : "none");
    Ccai_buf_free(&codes);

    static const char *const phones[] = {"conversation.initiate.agent_phone_number",
                                         "communication_services.phone_number",
                                         "sms.twilio.phone_number", "twilio.phone_number"};
    for (i = 0; i < CCAI_ARRAY_SIZE(phones); i++) {
        const char *s = Ccai_config_str(cfg, phones[i]);
        if (s && *s && !is_e164(s)) {
            char q[80];
            Ccai_quote(s, strlen(s), q, sizeof q);
            errlist_add(&el, phones[i], 0, 0,
                        "expected an E.164 phone number (+ and 6 to 15 digits), got %s", q);
        }
    }

    require(cfg, &el, "database.sqlite.path", "(the SQLite database file)");

    /* Without a token the API trusts this machine: it must not listen on
     * others, and a token that is there but empty is a mistake. */
    const char *token = Ccai_config_str(cfg, "server.api_token");
    bool blank = token != NULL;
    for (const char *t = token; t && *t && blank; t++)
        blank = Ccai_is_space((unsigned char)*t);
    if (blank)
        errlist_add(&el, "server.api_token", 0, 0,
                    "is empty: set a token, or leave server.api_token unset (no "
                    "SERVER__API_TOKEN at all) to serve this machine only");
    const char *listen = Ccai_config_str(cfg, "server.listen");
    char host[CCAI_HOST_MAX + 1];
    if (listen) {
        char q[80];
        Ccai_quote(listen, strlen(listen), q, sizeof q);
        const char *colon = strrchr(listen, ':');
        if (!colon || colon == listen || (listen[0] == '[' && colon[-1] != ']') ||
            !Ccai_hostport_host(listen, strlen(listen), host))
            errlist_add(&el, "server.listen", 0, 0,
                        "expected HOST:PORT (127.0.0.1:8080, [::1]:8080), got %s", q);
        else if (!token && !Ccai_host_is_loopback(host))
            errlist_add(&el, "server.listen", 0, 0,
                        "%s is not a loopback address and server.api_token is not set: without a "
                        "token the API trusts every client of the address it listens on; set "
                        "SERVER__API_TOKEN, or listen on 127.0.0.1",
                        q);
    }

    int64_t soft = Ccai_config_int(cfg, "conversation.answer_soft_timeout_sec", 0);
    int64_t hard = Ccai_config_int(cfg, "conversation.answer_hard_timeout_sec", 0);
    if (soft >= hard)
        errlist_add(&el, "conversation.answer_soft_timeout_sec", 0, 0,
                    "must be less than conversation.answer_hard_timeout_sec (%lld >= %lld)",
                    (long long)soft, (long long)hard);

    return finish(cfg, &el, "<config>", CCAI_ERR_CONFIG, NULL);
}
