/* ccai_config_apply_env() and ccai_config_set(): values given as text,
 * from the environment (SERVER__API_TOKEN=...) or by the host. */
#include "config/config_impl.h"

#include <stdio.h>
#include <string.h>

extern char **environ;

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
                       const char *value, json_t *changes, Ccai_cfg_errlist *el, const char *label)
{
    size_t len = strlen(value);
    if (len > CCAI_CFG_DOC_MAX_BYTES) {
        Ccai_cfg_errlist_add(el, label, 0, 0, "value too long (%zu bytes, at most %d)", len,
                             CCAI_CFG_DOC_MAX_BYTES);
        return;
    }
    const json_t *current = json_object_get(changes, k->path);
    if (!current || json_is_null(current))
        current = Ccai_cfg_tree_get(cfg->root, k->path);
    json_t *v = NULL;
    char *msg = NULL;
    switch (Ccai_key_parse_text(k, member, value, len, current, &v, &msg)) {
    case CCAI_CONV_OK:
        if (json_object_set_new_nocheck(changes, k->path, v) != 0)
            el->nomem = true;
        return;
    case CCAI_CONV_BAD: Ccai_cfg_errlist_take(el, label, 0, 0, msg); return;
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

/* A variable with a reference name (LLM__FAST__AZURE_OPENAI__ENDPOINT,
 * COMMUNICATION_SERVICES__CALL_QUEUE_NAME): staged under our key, or
 * ignored with a warning that says why; else warn_unknown_env(). */
static void reference_env(const ccai_config *cfg, const char *var, size_t name_len,
                          const char *path, json_t *changes, Ccai_cfg_errlist *el)
{
    char ours[CCAI_KEY_PATH_MAX];
    const char *why = NULL, *member;
    Ccai_key_type check = CCAI_KEY_IGNORED;
    const Ccai_key *k;
    switch (Ccai_key_alias(path, ours, sizeof ours, &why, &check)) {
    case CCAI_ALIAS_MAPPED:
        k = resolve_key(ours, &member);
        if (k) {
            stage_text(cfg, k, member, var + name_len + 1, changes, el, path);
            return;
        }
        break;
    case CCAI_ALIAS_IGNORED:
        if (check != CCAI_KEY_IGNORED) {
            const Ccai_key typed = {path, check, NULL, INT64_MIN, INT64_MAX, 0, 0, NULL, ""};
            json_t *scratch = json_object();
            if (!scratch) {
                el->nomem = true;
                return;
            }
            size_t before = el->n;
            stage_text(cfg, &typed, NULL, var + name_len + 1, scratch, el, path);
            json_decref(scratch);
            if (el->n != before || el->nomem)
                return;
        }
        Ccai_log(&cfg->logger, CCAI_LOG_WARN, "config: environment variable %.*s: ignored: %s",
                 (int)name_len, var, why);
        return;
    case CCAI_ALIAS_NONE: break;
    }
    warn_unknown_env(cfg, var, name_len, path);
}

CCAI_EXPORT ccai_status ccai_config_apply_env(ccai_config *cfg, const char *const *envp)
{
    if (!cfg)
        return CCAI_ERR_INVALID_ARG;
    Ccai_cfg_clear_errors(cfg);
    if (!envp)
        envp = (const char *const *)environ;
    Ccai_cfg_errlist el = {0};
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
        if (!k)
            reference_env(cfg, envp[i], (size_t)(eq - envp[i]), path, changes, &el);
        else if (Ccai_key_value_alias(path, eq + 1))
            Ccai_log(&cfg->logger, CCAI_LOG_WARN,
                     "config: environment variable %.*s: %s ignored: %s", (int)(eq - envp[i]),
                     envp[i], eq + 1, Ccai_key_value_alias(path, eq + 1));
        else
            stage_text(cfg, k, member, eq + 1, changes, &el, path);
    }
    ccai_status st = Ccai_cfg_finish(cfg, &el, "<env>", CCAI_ERR_CONFIG, changes);
    json_decref(changes);
    return st;
}

CCAI_EXPORT ccai_status ccai_config_set(ccai_config *cfg, const char *key, const char *value)
{
    if (!cfg || !key || !value)
        return CCAI_ERR_INVALID_ARG;
    Ccai_cfg_clear_errors(cfg);
    Ccai_cfg_errlist el = {0};
    const char *member;
    const Ccai_key *k = strlen(key) < CCAI_KEY_PATH_MAX ? resolve_key(key, &member) : NULL;
    char ours[CCAI_KEY_PATH_MAX];
    const char *why = NULL;
    Ccai_key_type check;
    /* A reference name: its key of ours, or ignored (said why). */
    if (!k && strlen(key) < CCAI_KEY_PATH_MAX) {
        Ccai_alias_kind kind = Ccai_key_alias(key, ours, sizeof ours, &why, &check);
        if (kind == CCAI_ALIAS_MAPPED)
            k = resolve_key(ours, &member);
        if (kind == CCAI_ALIAS_IGNORED) {
            Ccai_log(&cfg->logger, CCAI_LOG_WARN, "config: %s: ignored: %s", key, why);
            return CCAI_OK;
        }
    }
    if (!k) {
        char hint[CCAI_KEY_PATH_MAX];
        if (strlen(key) < CCAI_KEY_PATH_MAX && Ccai_key_suggest(key, hint, sizeof hint))
            Ccai_cfg_errlist_add(&el, key, 0, 0, "unknown key; did you mean %s?", hint);
        else
            Ccai_cfg_errlist_add(&el, key, 0, 0, "unknown key");
        return Ccai_cfg_finish(cfg, &el, "<set>", CCAI_ERR_NOT_FOUND, NULL);
    }
    json_t *changes = json_object();
    if (!changes)
        return CCAI_ERR_NOMEM;
    stage_text(cfg, k, member, value, changes, &el, key);
    ccai_status st = Ccai_cfg_finish(cfg, &el, "<set>", CCAI_ERR_CONFIG, changes);
    json_decref(changes);
    return st;
}
