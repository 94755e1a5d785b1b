/* Feature flags (config/flags.h): the keys that change at run time, their
 * documents (JSON or YAML), and setting them all or nothing. */
#include "config/flags.h"

#include "config/config_impl.h"
#include "core/json.h"

#include <stdio.h>
#include <string.h>
#include <yaml.h>

typedef struct Ccai_flag {
    const char *key;  /* the configuration key */
    const char *ref;  /* the reference's name, or NULL */
    double ref_scale; /* ours = reference's * ref_scale (0: the same) */
} Ccai_flag;

/* The reference's flags (seed-behaviour.md §9.2) and ours of the same kind.
 * Not here: recognition_stt_complete_timeout_ms (no part of libccai reads
 * it: speech.stt_result_timeout_ms is its counterpart). */
static const Ccai_flag flags[] = {
    {"conversation.answer_hard_timeout_sec", "answer_hard_timeout_sec", 0},
    {"conversation.answer_soft_timeout_sec", "answer_soft_timeout_sec", 0},
    {"conversation.callback_timeout_hour", "callback_timeout_hour", 0},
    {"conversation.phone_silence_timeout_sec", "phone_silence_timeout_sec", 0},
    {"conversation.recognition_retry_max", "recognition_retry_max", 0},
    {"conversation.recording_enabled", "recording_enabled", 0},
    {"conversation.slow_llm_for_chat", "slow_llm_for_chat", 0},
    {"speech.vad_threshold", "vad_threshold", 0.1},
    {"speech.vad_silence_timeout_ms", "vad_silence_timeout_ms", 0},
    {"speech.vad_cutoff_timeout_ms", "vad_cutoff_timeout_ms", 0},
    {"speech.vad_min_speech_ms", NULL, 0},
    {"speech.stt_result_timeout_ms", NULL, 0},
    {"speech.early_start", NULL, 0},
    {"speech.early_start_ms", NULL, 0},
    {"conversation.max_llm_rounds", NULL, 0},
};

size_t Ccai_flags_count(void)
{
    return CCAI_ARRAY_SIZE(flags);
}

const char *Ccai_flags_key(size_t i)
{
    return i < CCAI_ARRAY_SIZE(flags) ? flags[i].key : NULL;
}

static const Ccai_flag *flag_find(const char *name)
{
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(flags); i++) {
        if (strcmp(flags[i].key, name) == 0 || (flags[i].ref && strcmp(flags[i].ref, name) == 0))
            return &flags[i];
    }
    return NULL;
}

/* Documents ---------------------------------------------------------------- */

typedef struct doc_walk {
    json_t *out;
    char *msg;
    bool nomem;
} doc_walk;

#define DOC_MAX_DEPTH 4

static void doc_fail(doc_walk *w, const char *fmt, const char *path, unsigned line)
{
    if (w->msg || w->nomem)
        return;
    char where[40] = "";
    if (line)
        snprintf(where, sizeof where, "line %u: ", line);
    w->msg = Ccai_asprintf("%s%s: %s", where, path[0] ? path : "document", fmt);
    if (!w->msg)
        w->nomem = true;
}

static void doc_put(doc_walk *w, const char *path, json_t *v, unsigned line)
{
    if (!v) {
        w->nomem = true;
        return;
    }
    if (json_object_size(w->out) >= CCAI_FLAGS_MAX_ENTRIES) {
        json_decref(v);
        doc_fail(w, "too many entries", path, line);
        return;
    }
    if (json_object_get(w->out, path)) {
        json_decref(v);
        doc_fail(w, "given twice", path, line);
        return;
    }
    if (json_object_set_new(w->out, path, v) != 0)
        w->nomem = true;
}

static bool join(char *out, size_t outlen, const char *prefix, const char *name, size_t nlen)
{
    int n = snprintf(out, outlen, "%s%s%.*s", prefix, prefix[0] ? "." : "", (int)nlen, name);
    return n > 0 && (size_t)n < outlen && nlen > 0 && !memchr(name, '\0', nlen);
}

static void walk_json(doc_walk *w, const char *prefix, const json_t *obj, unsigned depth)
{
    const char *name;
    const json_t *v;
    json_object_foreach((json_t *)obj, name, v)
    {
        char path[CCAI_KEY_PATH_MAX];
        if (w->msg || w->nomem)
            return;
        if (!join(path, sizeof path, prefix, name, strlen(name))) {
            doc_fail(w, "name too long or empty", prefix, 0);
        } else if (json_is_object(v)) {
            if (depth + 1 >= DOC_MAX_DEPTH)
                doc_fail(w, "nested too deep", path, 0);
            else
                walk_json(w, path, v, depth + 1);
        } else if (json_is_array(v) || json_is_null(v)) {
            doc_fail(w, "expected a number, true/false or a string", path, 0);
        } else {
            doc_put(w, path, json_incref((json_t *)v), 0);
        }
    }
}

static void walk_yaml(doc_walk *w, yaml_document_t *d, const char *prefix, yaml_node_t *n,
                      unsigned depth)
{
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        if (w->msg || w->nomem)
            return;
        yaml_node_t *k = yaml_document_get_node(d, p->key);
        yaml_node_t *v = yaml_document_get_node(d, p->value);
        unsigned line = k ? (unsigned)k->start_mark.line + 1 : 0;
        char path[CCAI_KEY_PATH_MAX];
        if (!k || !v || k->type != YAML_SCALAR_NODE) {
            doc_fail(w, "a name must be plain text", prefix, line);
        } else if (!join(path, sizeof path, prefix, (const char *)k->data.scalar.value,
                         k->data.scalar.length)) {
            doc_fail(w, "name too long or empty", prefix, line);
        } else if (v->type == YAML_MAPPING_NODE) {
            if (depth + 1 >= DOC_MAX_DEPTH)
                doc_fail(w, "nested too deep", path, line);
            else
                walk_yaml(w, d, path, v, depth + 1);
        } else if (v->type != YAML_SCALAR_NODE || v->data.scalar.length == 0) {
            doc_fail(w, "expected a number, true/false or a string", path, line);
        } else {
            doc_put(w, path,
                    json_stringn((const char *)v->data.scalar.value, v->data.scalar.length), line);
        }
    }
}

static ccai_status parse_yaml(doc_walk *w, const char *doc, size_t len)
{
    yaml_parser_t p;
    yaml_document_t d;
    if (!yaml_parser_initialize(&p))
        return CCAI_ERR_NOMEM;
    yaml_parser_set_input_string(&p, (const unsigned char *)doc, len);
    if (!yaml_parser_load(&p, &d)) {
        w->msg = Ccai_asprintf("line %u: %s", (unsigned)p.problem_mark.line + 1,
                               p.problem ? p.problem : "not YAML");
        yaml_parser_delete(&p);
        return w->msg ? CCAI_ERR_PARSE : CCAI_ERR_NOMEM;
    }
    yaml_node_t *root = yaml_document_get_root_node(&d);
    if (root && root->type != YAML_MAPPING_NODE)
        doc_fail(w, "expected a mapping of flags", "", 1);
    else if (root)
        walk_yaml(w, &d, "", root, 0);
    yaml_document_delete(&d);
    yaml_parser_delete(&p);
    return CCAI_OK;
}

ccai_status Ccai_flags_parse_doc(const char *doc, size_t len, json_t **ret, char **ret_msg)
{
    *ret = NULL;
    *ret_msg = NULL;
    if (len > CCAI_FLAGS_DOC_MAX_BYTES) {
        *ret_msg = Ccai_asprintf("document too large (%zu bytes, at most %d)", len,
                                 CCAI_FLAGS_DOC_MAX_BYTES);
        return *ret_msg ? CCAI_ERR_PARSE : CCAI_ERR_NOMEM;
    }
    doc_walk w = {json_object(), NULL, false};
    if (!w.out)
        return CCAI_ERR_NOMEM;
    size_t i = 0;
    while (i < len && (doc[i] == ' ' || doc[i] == '\t' || doc[i] == '\r' || doc[i] == '\n'))
        i++;
    ccai_status st = CCAI_OK;
    if (i < len && doc[i] == '{') {
        Ccai_json_err jerr;
        json_t *obj = Ccai_json_load(doc, len, &jerr, &st);
        if (!obj) {
            if (st != CCAI_ERR_NOMEM) {
                w.msg = Ccai_asprintf("line %u, column %u: %s", jerr.line, jerr.column, jerr.text);
                st = w.msg ? CCAI_ERR_PARSE : CCAI_ERR_NOMEM;
            }
        } else {
            walk_json(&w, "", obj, 0);
            json_decref(obj);
        }
    } else {
        st = parse_yaml(&w, doc, len);
    }
    if (st == CCAI_OK && w.nomem)
        st = CCAI_ERR_NOMEM;
    else if (st == CCAI_OK && w.msg)
        st = CCAI_ERR_PARSE;
    if (st != CCAI_OK) {
        json_decref(w.out);
        if (st == CCAI_ERR_PARSE)
            *ret_msg = w.msg;
        else
            ccai_free(w.msg);
        return st;
    }
    *ret = w.out;
    return CCAI_OK;
}

/* Setting ------------------------------------------------------------------ */

/* A member's value as the text a configuration key parses. */
static bool value_text(const json_t *v, char *out, size_t outlen)
{
    if (json_is_string(v))
        return snprintf(out, outlen, "%s", json_string_value(v)) < (int)outlen;
    if (json_is_boolean(v)) {
        snprintf(out, outlen, "%s", json_is_true(v) ? "true" : "false");
        return true;
    }
    if (json_is_integer(v)) {
        snprintf(out, outlen, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return true;
    }
    if (json_is_real(v)) {
        snprintf(out, outlen, "%.17g", json_real_value(v));
        return true;
    }
    return false;
}

/* Scale a reference value (vad_threshold) to ours, in text. */
static void scale_text(double scale, char *buf, size_t len)
{
    char *end = NULL;
    double d = strtod(buf, &end);
    if (end != buf && *end == '\0')
        snprintf(buf, len, "%.15g", d * scale);
}

static void add_problem(json_t *problems, const char *name, const char *msg)
{
    char *line = Ccai_asprintf("%s: %s", name, msg);
    if (line)
        CCAI_DISCARD(json_array_append_new(problems, json_string(line))); /* NOMEM: counted below */
    ccai_free(line);
}

static int64_t staged_int(const json_t *staged, const ccai_config *cfg, const char *key)
{
    const json_t *v = json_object_get(staged, key);
    return v ? json_integer_value(v) : Ccai_config_int(cfg, key, 0);
}

/* Stage every member of @flat into @staged (key -> value); a flag named
 * twice in @flat (by its two names) is a problem, one @staged already has
 * from an earlier document is replaced. */
static ccai_status stage(const json_t *flat, json_t *staged, json_t *problems)
{
    json_t *seen = json_object();
    if (!seen)
        return CCAI_ERR_NOMEM;
    ccai_status st = CCAI_OK;
    const char *name;
    const json_t *v;
    json_object_foreach((json_t *)flat, name, v)
    {
        const Ccai_flag *f = flag_find(name);
        const Ccai_key *k = f ? Ccai_key_find(f->key) : NULL;
        char text[128];
        if (!k) {
            add_problem(problems, name,
                        Ccai_key_find(name) ? "not a run-time flag (changed by a restart only)"
                                            : "unknown flag");
            continue;
        }
        if (!value_text(v, text, sizeof text)) {
            add_problem(problems, name, "expected a number, true/false or a string");
            continue;
        }
        if (f->ref && strcmp(name, f->ref) == 0 && f->ref_scale != 0)
            scale_text(f->ref_scale, text, sizeof text);
        if (json_object_get(seen, k->path)) {
            add_problem(problems, name, "given twice (by its two names)");
            continue;
        }
        if (json_object_set_new(seen, k->path, json_true()) != 0) {
            st = CCAI_ERR_NOMEM;
            break;
        }
        json_t *nv = NULL;
        char *msg = NULL;
        switch (Ccai_key_parse_text(k, NULL, text, strlen(text), NULL, &nv, &msg)) {
        case CCAI_CONV_OK:
            if (json_object_set_new(staged, k->path, nv) != 0)
                st = CCAI_ERR_NOMEM;
            break;
        case CCAI_CONV_BAD:
            add_problem(problems, name, msg);
            ccai_free(msg);
            break;
        case CCAI_CONV_NOMEM: st = CCAI_ERR_NOMEM; break;
        }
        if (st != CCAI_OK)
            break;
    }
    json_decref(seen);
    return st;
}

ccai_status Ccai_flags_apply(ccai_config *cfg, const json_t *flat, const json_t *over,
                             json_t **ret_changes, char **ret_msg)
{
    *ret_msg = NULL;
    if (ret_changes)
        *ret_changes = NULL;
    if (!json_is_object(flat)) {
        *ret_msg = Ccai_strdup("expected a JSON object of flags");
        return *ret_msg ? CCAI_ERR_VALIDATION : CCAI_ERR_NOMEM;
    }
    json_t *staged = json_object();
    json_t *problems = json_array();
    ccai_status st = CCAI_OK;
    if (!staged || !problems) {
        st = CCAI_ERR_NOMEM;
        goto out;
    }
    st = stage(flat, staged, problems);
    if (st == CCAI_OK && over)
        st = stage(over, staged, problems);
    if (st != CCAI_OK)
        goto out;
    int64_t soft = staged_int(staged, cfg, "conversation.answer_soft_timeout_sec");
    int64_t hard = staged_int(staged, cfg, "conversation.answer_hard_timeout_sec");
    if (soft >= hard) {
        char msg[160];
        snprintf(msg, sizeof msg, "must be less than answer_hard_timeout_sec (%lld >= %lld)",
                 (long long)soft, (long long)hard);
        add_problem(problems, "answer_soft_timeout_sec", msg);
    }
    size_t np = json_array_size(problems);
    if (np) {
        Ccai_buf b = {0};
        bool ok = np > 1 ? Ccai_buf_printf(&b, "%zu problems: ", np) : true;
        for (size_t i = 0; ok && i < np; i++)
            ok = Ccai_buf_printf(&b, "%s%s", i ? "; " : "",
                                 json_string_value(json_array_get(problems, i)));
        *ret_msg = ok ? Ccai_buf_steal(&b) : NULL;
        Ccai_buf_free(&b);
        st = *ret_msg ? CCAI_ERR_VALIDATION : CCAI_ERR_NOMEM;
        goto out;
    }
    const char *name;
    const json_t *v;
    json_t *changes = json_object();
    if (!changes) {
        st = CCAI_ERR_NOMEM;
        goto out;
    }
    /* Prepare every change first, then set them: nothing fails in between
     * but an allocation of a tree node, which only a new key needs (flags
     * all have defaults, so none). */
    json_object_foreach(staged, name, v)
    {
        json_t *old = Ccai_cfg_tree_get(cfg->root, name);
        if (old && json_equal(old, (json_t *)v))
            continue;
        json_t *pair = json_pack("[OO]", old ? old : json_null(), v);
        if (!pair || json_object_set_new(changes, name, pair) != 0) {
            json_decref(changes);
            st = CCAI_ERR_NOMEM;
            goto out;
        }
    }
    json_t *pair;
    json_object_foreach(changes, name, pair)
    {
        json_t *nv = json_array_get(pair, 1);
        char buf[64];
        Ccai_key_format(nv, buf, sizeof buf);
        if (!Ccai_cfg_tree_set(cfg->root, name, json_incref(nv)) ||
            json_object_set_new(cfg->texts, name, json_string(buf)) != 0)
            st = CCAI_ERR_NOMEM;
    }
    if (ret_changes && st == CCAI_OK)
        *ret_changes = changes;
    else
        json_decref(changes);
out:
    json_decref(staged);
    json_decref(problems);
    return st;
}

static json_t *flags_of(const ccai_config *cfg)
{
    json_t *out = json_object();
    for (size_t i = 0; out && i < CCAI_ARRAY_SIZE(flags); i++) {
        json_t *v = Ccai_cfg_tree_get(cfg->root, flags[i].key);
        if (v && json_object_set(out, flags[i].key, v) != 0) {
            json_decref(out);
            out = NULL;
        }
    }
    return out;
}

json_t *Ccai_flags_current(const ccai_config *cfg)
{
    return flags_of(cfg);
}

json_t *Ccai_flags_of_config(const ccai_config *fresh)
{
    return flags_of(fresh);
}
