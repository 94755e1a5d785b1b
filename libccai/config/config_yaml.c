/* ccai_config_load() and ccai_config_load_string(): YAML documents merged
 * into a configuration, every error collected with its line and column, a
 * document with any error merging nothing. Limits: the size
 * (CCAI_CFG_DOC_MAX_BYTES), the depth and the number of nodes (aliases
 * expanded), checked before libyaml builds the document. */
#include "config/config_impl.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#define DOC_MAX_DEPTH 32
#define DOC_MAX_NODES 100000

typedef struct walk {
    ccai_config *cfg;
    const char *name;
    yaml_document_t *doc;
    Ccai_cfg_errlist *el;
    json_t *changes; /* path -> value */
    json_t *seen;    /* path -> line, to catch duplicate keys */
    size_t visits;
    bool stop;    /* a document-wide limit was hit: report it once */
    bool aliased; /* walking a reference section under our name */
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
        Ccai_cfg_errlist_add(w->el, path, mark_line(n->start_mark), mark_col(n->start_mark),
                             "more than %d nodes (aliases expanded): document rejected",
                             DOC_MAX_NODES);
        w->stop = true;
        return false;
    }
    if (depth > DOC_MAX_DEPTH) {
        Ccai_cfg_errlist_add(w->el, path, mark_line(n->start_mark), mark_col(n->start_mark),
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
            Ccai_cfg_errlist_add(w->el, path, line, col, "text with a NUL character");
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
                Ccai_cfg_errlist_add(w->el, path, mark_line(kn->start_mark),
                                     mark_col(kn->start_mark), "keys must be text");
                json_decref(out);
                return NULL;
            }
            if (json_object_get(out, ks)) {
                char q[80];
                Ccai_quote(ks, kn->data.scalar.length, q, sizeof q);
                Ccai_cfg_errlist_add(w->el, path, mark_line(kn->start_mark),
                                     mark_col(kn->start_mark), "duplicate key %s", q);
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

/* Convert the value of a known key and stage it; errors name it @shown
 * (the name in the document). */
static void walk_leaf(walk *w, const Ccai_key *k, yaml_node_t *n, unsigned depth, const char *shown)
{
    if (!n || !visit(w, shown, n, depth))
        return;
    unsigned line = mark_line(n->start_mark), col = mark_col(n->start_mark);
    const json_t *current = Ccai_cfg_tree_get(w->cfg->root, k->path);
    json_t *v = NULL;
    char *msg = NULL;
    Ccai_conv c = CCAI_CONV_OK;
    if (is_null_scalar(n)) {
        v = json_null();
    } else if (n->type == YAML_SCALAR_NODE) {
        if (k->type == CCAI_KEY_CLAIM || k->type == CCAI_KEY_LANG || k->type == CCAI_KEY_LEXICON ||
            k->type == CCAI_KEY_TARGETS || k->type == CCAI_KEY_MENUS) {
            char what[160];
            Ccai_key_expected(k, what, sizeof what);
            Ccai_cfg_errlist_add(w->el, shown, line, col, "expected %s, got a scalar", what);
            return;
        }
        /* A YAML scalar for a text list is one text, whatever it looks like. */
        Ccai_key as_text = *k;
        if (k->type == CCAI_KEY_TEXTS || k->type == CCAI_KEY_BY_LANG)
            as_text.type = CCAI_KEY_STRING;
        c = Ccai_key_parse_text(&as_text, NULL, (const char *)n->data.scalar.value,
                                n->data.scalar.length, current, &v, &msg);
    } else if (k->type == CCAI_KEY_CLAIM || k->type == CCAI_KEY_LANG || k->type == CCAI_KEY_TEXTS ||
               k->type == CCAI_KEY_LEXICON || k->type == CCAI_KEY_TARGETS ||
               k->type == CCAI_KEY_MENUS || k->type == CCAI_KEY_BY_LANG) {
        json_t *j = yaml_to_json(w, shown, n, depth);
        if (!j)
            return;
        c = Ccai_key_check_json(k, j, current, &v, &msg);
        json_decref(j);
    } else {
        char what[160];
        Ccai_key_expected(k, what, sizeof what);
        Ccai_cfg_errlist_add(w->el, shown, line, col, "expected %s, got %s", what, node_kind(n));
        return;
    }
    if (c == CCAI_CONV_NOMEM) {
        w->el->nomem = true;
        return;
    }
    if (c == CCAI_CONV_BAD) {
        Ccai_cfg_errlist_take(w->el, shown, line, col, msg);
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
        Ccai_cfg_errlist_add(w->el, path, line, col,
                             "duplicate key (first at line %" JSON_INTEGER_FORMAT ")",
                             json_integer_value(prev));
        return false;
    }
    if (json_object_set_new_nocheck(w->seen, path, json_integer(line)) != 0)
        w->el->nomem = true;
    return true;
}

/* The scalar value of @key in mapping @n, or NULL. */
static const char *child_scalar(walk *w, yaml_node_t *n, const char *key)
{
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(w->doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(w->doc, p->value);
        if (kn && vn && kn->type == YAML_SCALAR_NODE && vn->type == YAML_SCALAR_NODE &&
            strcmp((const char *)kn->data.scalar.value, key) == 0)
            return is_null_scalar(vn) ? NULL : (const char *)vn->data.scalar.value;
    }
    return NULL;
}

static CCAI_MUST_CHECK bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && strcmp(s + n - t, tail) == 0;
}

/* An LLM tier the reference's way: v9 picks its azure_openai: or openai:
 * section with mode (azure_openai when there is none), the latest has no
 * mode at all (Azure OpenAI only). The mode a tier without one gets, or
 * NULL. */
static const char *tier_mode(walk *w, yaml_node_t *n)
{
    if (child_scalar(w, n, "mode"))
        return NULL;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(w->doc, p->key);
        if (kn && kn->type == YAML_SCALAR_NODE &&
            strcmp((const char *)kn->data.scalar.value, "azure_openai") == 0)
            return "azure_openai";
    }
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(w->doc, p->key);
        if (kn && kn->type == YAML_SCALAR_NODE &&
            strcmp((const char *)kn->data.scalar.value, "openai") == 0)
            return "openai";
    }
    const char *endpoint = child_scalar(w, n, "endpoint");
    char host[256] = "";
    if (endpoint && strncmp(endpoint, "https://", 8) == 0)
        sscanf(endpoint + 8, "%255[^/:]", host);
    if (child_scalar(w, n, "deployment") || ends_with(host, ".openai.azure.com") ||
        ends_with(host, ".cognitiveservices.azure.com"))
        return "azure_openai";
    return NULL;
}

/* A reference name in the document: its value goes to our key, or it is
 * accepted and ignored with a warning. False when @path is none. */
static CCAI_MUST_CHECK bool walk_alias(walk *w, const char *path, yaml_node_t *kn, yaml_node_t *vn,
                                       const char *tier_mode_is, unsigned depth);

static void walk_section(walk *w, const char *prefix, yaml_node_t *n, unsigned depth)
{
    /* llm.fast / llm.slow written the reference's way: the mode it means. */
    const char *mode = NULL;
    if (!w->aliased && strncmp(prefix, "llm.", 4) == 0 && !strchr(prefix + 4, '.')) {
        mode = child_scalar(w, n, "mode");
        const char *implied = tier_mode(w, n);
        char key[CCAI_KEY_PATH_MAX];
        snprintf(key, sizeof key, "%s.mode", prefix);
        if (implied && first_time(w, key, mark_line(n->start_mark), mark_col(n->start_mark))) {
            Ccai_log(&w->cfg->logger, CCAI_LOG_INFO, "%s:%u:%u: %s: %s (the reference's shape)",
                     w->name, mark_line(n->start_mark), mark_col(n->start_mark), key, implied);
            json_t *v = json_string(implied);
            if (!v || json_object_set_new_nocheck(w->changes, key, v) != 0)
                w->el->nomem = true;
            mode = implied;
        }
    }
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
         p < n->data.mapping.pairs.top && !w->stop && !w->el->nomem; p++) {
        yaml_node_t *kn = yaml_document_get_node(w->doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(w->doc, p->value);
        if (!kn || !vn || !visit(w, prefix, kn, depth))
            return;
        unsigned line = mark_line(kn->start_mark), col = mark_col(kn->start_mark);
        if (kn->type != YAML_SCALAR_NODE) {
            Ccai_cfg_errlist_add(w->el, prefix, line, col, "keys must be text, got %s",
                                 node_kind(kn));
            continue;
        }
        const char *ks = (const char *)kn->data.scalar.value;
        size_t klen = kn->data.scalar.length;
        char path[CCAI_KEY_PATH_MAX];
        int pn = snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", ks);
        if (klen == 0 || memchr(ks, '\0', klen) || pn < 0 || (size_t)pn >= sizeof path) {
            char q[80];
            Ccai_quote(ks, klen, q, sizeof q);
            Ccai_cfg_errlist_add(w->el, prefix, line, col, "unknown key %s", q);
            continue;
        }
        const Ccai_key *k = Ccai_key_find(path);
        if (!k && !Ccai_key_is_section(path) && walk_alias(w, path, kn, vn, mode, depth))
            continue;
        const char *value_why =
            vn->type == YAML_SCALAR_NODE
                ? Ccai_key_value_alias(path, (const char *)vn->data.scalar.value)
                : NULL;
        if (k && k->type == CCAI_KEY_IGNORED) {
            if (first_time(w, path, line, col))
                Ccai_log(&w->cfg->logger, CCAI_LOG_WARN, "%s:%u:%u: %s: ignored: %s", w->name, line,
                         col, path, k->doc);
        } else if (k && value_why) {
            if (first_time(w, path, line, col))
                Ccai_log(&w->cfg->logger, CCAI_LOG_WARN, "%s:%u:%u: %s: %s ignored: %s", w->name,
                         line, col, path, (const char *)vn->data.scalar.value, value_why);
        } else if (k) {
            if (first_time(w, path, line, col))
                walk_leaf(w, k, vn, depth + 1, path);
        } else if (Ccai_key_is_section(path)) {
            if (!first_time(w, path, line, col))
                continue;
            if (vn->type == YAML_MAPPING_NODE)
                walk_section(w, path, vn, depth + 1);
            else if (!is_null_scalar(vn))
                Ccai_cfg_errlist_add(w->el, path, mark_line(vn->start_mark),
                                     mark_col(vn->start_mark),
                                     "expected a mapping (a section), got %s", node_kind(vn));
        } else {
            char hint[CCAI_KEY_PATH_MAX];
            /* Past the cap the error is only counted: skip the search. */
            if (w->el->n < CCAI_CFG_ERRORS_MAX && Ccai_key_suggest(path, hint, sizeof hint))
                Ccai_cfg_errlist_add(w->el, path, line, col, "unknown key; did you mean %s?", hint);
            else
                Ccai_cfg_errlist_add(w->el, path, line, col, "unknown key");
        }
    }
}

static CCAI_MUST_CHECK bool walk_alias(walk *w, const char *path, yaml_node_t *kn, yaml_node_t *vn,
                                       const char *tier_mode_is, unsigned depth)
{
    unsigned line = mark_line(kn->start_mark), col = mark_col(kn->start_mark);
    char ours[CCAI_KEY_PATH_MAX];
    const char *why = NULL;
    Ccai_key_type check = CCAI_KEY_IGNORED;
    switch (Ccai_key_alias(path, ours, sizeof ours, &why, &check)) {
    case CCAI_ALIAS_NONE:
        if (!Ccai_key_alias_is_section(path))
            return false;
        if (first_time(w, path, line, col) && vn->type == YAML_MAPPING_NODE)
            walk_section(w, path, vn, depth + 1);
        else if (vn->type != YAML_MAPPING_NODE && !is_null_scalar(vn))
            Ccai_cfg_errlist_add(w->el, path, mark_line(vn->start_mark), mark_col(vn->start_mark),
                                 "expected a mapping (a section), got %s", node_kind(vn));
        return true;
    case CCAI_ALIAS_IGNORED:
        if (!first_time(w, path, line, col))
            return true;
        if (check != CCAI_KEY_IGNORED && !is_null_scalar(vn)) {
            const Ccai_key typed = {path, check, NULL, INT64_MIN, INT64_MAX, 0, 0, NULL, ""};
            json_t *v = NULL;
            char *msg = NULL;
            Ccai_conv c = CCAI_CONV_BAD;
            if (vn->type == YAML_SCALAR_NODE)
                c = Ccai_key_parse_text(&typed, NULL, (const char *)vn->data.scalar.value,
                                        vn->data.scalar.length, NULL, &v, &msg);
            else
                msg = Ccai_asprintf("expected %s, got %s",
                                    check == CCAI_KEY_BOOL ? "true or false" : "a scalar",
                                    node_kind(vn));
            json_decref(v);
            if (c == CCAI_CONV_NOMEM) {
                w->el->nomem = true;
                return true;
            }
            if (c != CCAI_CONV_OK) {
                Ccai_cfg_errlist_take(w->el, path, mark_line(vn->start_mark),
                                      mark_col(vn->start_mark), msg);
                return true;
            }
        }
        Ccai_log(&w->cfg->logger, CCAI_LOG_WARN, "%s:%u:%u: %s: ignored: %s", w->name, line, col,
                 path, why);
        return true;
    case CCAI_ALIAS_MAPPED: break;
    }
    /* llm.<tier>.azure_openai / .openai: only the section of the tier's mode. */
    const char *last = strrchr(path, '.');
    if (tier_mode_is && last &&
        (strcmp(last + 1, "azure_openai") == 0 || strcmp(last + 1, "openai") == 0) &&
        strcmp(last + 1, tier_mode_is) != 0) {
        if (first_time(w, path, line, col))
            Ccai_log(&w->cfg->logger, CCAI_LOG_WARN, "%s:%u:%u: %s: ignored: the tier's mode is %s",
                     w->name, line, col, path, tier_mode_is);
        return true;
    }
    const Ccai_key *k = Ccai_key_find(ours);
    if (k && k->type != CCAI_KEY_IGNORED) {
        if (first_time(w, ours, line, col))
            walk_leaf(w, k, vn, depth + 1, path);
    } else if (Ccai_key_is_section(ours) && vn->type == YAML_MAPPING_NODE) {
        /* Its members keep their names: each is mapped on its own. */
        bool was = w->aliased;
        w->aliased = true;
        walk_section(w, path, vn, depth + 1);
        w->aliased = was;
    } else if (!is_null_scalar(vn)) {
        Ccai_cfg_errlist_add(w->el, path, line, col, "expected %s", k ? "a value" : "a mapping");
    }
    return true;
}

static void parse_error(Ccai_cfg_errlist *el, const yaml_parser_t *p)
{
    yaml_mark_t m = p->problem_mark;
    if (p->error == YAML_READER_ERROR)
        m = p->mark;
    const char *problem = p->problem ? p->problem : "malformed YAML";
    if (p->context)
        Ccai_cfg_errlist_add(el, "", mark_line(m), mark_col(m), "%s (%s at line %u)", problem,
                             p->context, mark_line(p->context_mark));
    else
        Ccai_cfg_errlist_add(el, "", mark_line(m), mark_col(m), "%s", problem);
}

/* libyaml's document loader slows down badly with deep nesting: check the
 * depth and the node count on the event stream before loading. */
static CCAI_MUST_CHECK ccai_status prescan(const char *yaml, size_t len, Ccai_cfg_errlist *el)
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
            Ccai_cfg_errlist_add(el, "", mark_line(m), mark_col(m),
                                 "only one YAML document is allowed");
            st = CCAI_ERR_CONFIG;
            break;
        }
        if (type == YAML_SCALAR_EVENT || type == YAML_ALIAS_EVENT ||
            type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT) {
            if (++nodes > DOC_MAX_NODES) {
                Ccai_cfg_errlist_add(el, "", mark_line(m), mark_col(m),
                                     "more than %d nodes: document rejected", DOC_MAX_NODES);
                st = CCAI_ERR_CONFIG;
                break;
            }
        }
        if (type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT) {
            if (++depth > DOC_MAX_DEPTH) {
                Ccai_cfg_errlist_add(el, "", mark_line(m), mark_col(m),
                                     "nested deeper than %d levels: document rejected",
                                     DOC_MAX_DEPTH);
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
    Ccai_cfg_errlist el = {0};
    walk w = {cfg, name, NULL, &el, NULL, NULL, 0, false, false};
    yaml_parser_t parser;
    yaml_document_t doc;
    bool have_parser = false, have_doc = false;
    ccai_status st;

    Ccai_cfg_clear_errors(cfg);
    if (len > CCAI_CFG_DOC_MAX_BYTES) {
        Ccai_cfg_errlist_add(&el, "", 0, 0, "document too large (more than %d bytes)",
                             CCAI_CFG_DOC_MAX_BYTES);
        st = Ccai_cfg_finish(cfg, &el, name, CCAI_ERR_CONFIG, NULL);
        goto out;
    }
    st = prescan(yaml, len, &el);
    if (st == CCAI_ERR_NOMEM)
        goto out;
    if (st != CCAI_OK) {
        st = Ccai_cfg_finish(cfg, &el, name, st, NULL);
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
            st = Ccai_cfg_finish(cfg, &el, name, CCAI_ERR_PARSE, NULL);
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
        Ccai_cfg_errlist_add(&el, "", mark_line(root->start_mark), mark_col(root->start_mark),
                             "expected a mapping at the top of the document, got %s",
                             node_kind(root));
    st = Ccai_cfg_finish(cfg, &el, name, CCAI_ERR_CONFIG, w.changes);
out:
    Ccai_cfg_errlist_free(&el);
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
    Ccai_cfg_clear_errors(cfg);
    Ccai_cfg_errlist el = {0};
    char *data = NULL;
    ccai_status st;
    FILE *f = fopen(path, "rb");
    if (!f) {
        Ccai_cfg_errlist_add(&el, "", 0, 0, "cannot open: %s", strerror(errno));
        return Ccai_cfg_finish(cfg, &el, path, CCAI_ERR_IO, NULL);
    }
    /* One byte more than the limit tells a too large file apart. */
    data = Ccai_malloc(CCAI_CFG_DOC_MAX_BYTES + 1);
    if (!data) {
        st = CCAI_ERR_NOMEM;
        goto out;
    }
    size_t len = fread(data, 1, CCAI_CFG_DOC_MAX_BYTES + 1, f);
    if (ferror(f)) {
        Ccai_cfg_errlist_add(&el, "", 0, 0, "cannot read: %s", strerror(errno));
        st = Ccai_cfg_finish(cfg, &el, path, CCAI_ERR_IO, NULL);
        goto out;
    }
    st = load_yaml(cfg, data, len, path);
out:
    Ccai_cfg_errlist_free(&el);
    ccai_free(data);
    fclose(f);
    return st;
}
