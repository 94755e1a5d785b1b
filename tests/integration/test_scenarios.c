/* Scripted conversations: each tests/scenarios/<name>.yaml is one cmocka test.
 *
 * A scenario drives one call of a real context (poll adapter, SQLite file
 * in a private temporary directory) with channel events, while the LLM is
 * the local stand-in answering the responses the scenario queues. After
 * each step the harness waits until the engine has settled (no turn in
 * flight, no post-call or SMS job due), then checks what the bot said and
 * did and what was stored. The file format is described in
 * tests/scenarios/README.md.
 *
 * The channel is simulated: every say() is accepted (and recorded), a
 * transfer is accepted and waits for a transfer_result step, and when the
 * bot asks to hang up the harness reports the hangup event back, as a real
 * channel would. Set CCAI_SCENARIO=<file name> to run one scenario. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ccai/adapters/poll.h>

#include "engine/engine.h"
#include "engine/prompts.h"
#include "support/llm_standin.h"

#include <ctype.h>
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <yaml.h>

#define STEP_TIMEOUT_MS 10000
#define MAX_CALL_IDS    8
#define YAML_DEPTH_MAX  32

/* YAML to JSON ------------------------------------------------------------ */

/* Plain scalars get YAML 1.1 core types; quoted ones stay strings. */
static json_t *scalar_to_json(const yaml_node_t *n)
{
    const char *s = (const char *)n->data.scalar.value;
    size_t len = n->data.scalar.length;
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return json_stringn(s, len);
    if (len == 0 || strcmp(s, "~") == 0 || strcmp(s, "null") == 0)
        return json_null();
    if (strcmp(s, "true") == 0)
        return json_true();
    if (strcmp(s, "false") == 0)
        return json_false();
    char *end = NULL;
    long long i = strtoll(s, &end, 10);
    if (end && *end == '\0' && (isdigit((unsigned char)s[0]) || s[0] == '-'))
        return json_integer(i);
    double d = strtod(s, &end);
    if (end && *end == '\0' && (isdigit((unsigned char)s[0]) || s[0] == '-' || s[0] == '.'))
        return json_real(d);
    return json_stringn(s, len);
}

static json_t *node_to_json(yaml_document_t *doc, yaml_node_t *n, int depth, char *err,
                            size_t errlen)
{
    if (!n || depth > YAML_DEPTH_MAX) {
        snprintf(err, errlen, "nesting too deep");
        return NULL;
    }
    if (n->type == YAML_SCALAR_NODE)
        return scalar_to_json(n);
    if (n->type == YAML_SEQUENCE_NODE) {
        json_t *a = json_array();
        for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top;
             i++) {
            json_t *v = node_to_json(doc, yaml_document_get_node(doc, *i), depth + 1, err, errlen);
            if (!v) {
                json_decref(a);
                return NULL;
            }
            json_array_append_new(a, v);
        }
        return a;
    }
    json_t *o = json_object();
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        if (!k || k->type != YAML_SCALAR_NODE) {
            snprintf(err, errlen, "line %lu: a mapping key must be a scalar",
                     k ? (unsigned long)k->start_mark.line + 1 : 0ul);
            json_decref(o);
            return NULL;
        }
        const char *key = (const char *)k->data.scalar.value;
        if (json_object_get(o, key)) {
            snprintf(err, errlen, "line %lu: duplicate key \"%s\"",
                     (unsigned long)k->start_mark.line + 1, key);
            json_decref(o);
            return NULL;
        }
        json_t *v =
            node_to_json(doc, yaml_document_get_node(doc, p->value), depth + 1, err, errlen);
        if (!v) {
            json_decref(o);
            return NULL;
        }
        json_object_set_new(o, key, v);
    }
    return o;
}

static json_t *load_yaml(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open %s", path);
        return NULL;
    }
    yaml_parser_t parser;
    yaml_document_t doc;
    json_t *out = NULL;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    if (!yaml_parser_load(&parser, &doc)) {
        snprintf(err, errlen, "%s:%lu:%lu: %s", path, (unsigned long)parser.problem_mark.line + 1,
                 (unsigned long)parser.problem_mark.column + 1,
                 parser.problem ? parser.problem : "YAML error");
    } else {
        yaml_node_t *root = yaml_document_get_root_node(&doc);
        if (!root)
            snprintf(err, errlen, "%s: empty document", path);
        else
            out = node_to_json(&doc, root, 0, err, errlen);
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&parser);
    fclose(f);
    return out;
}

/* The run of one scenario ---------------------------------------------------- */

typedef struct said {
    char *text;
    char *lang;
    double rate;
    ccai_style style;
} said;

typedef struct run {
    const char *file; /* base name, for messages */
    json_t *doc;
    int step_no;
    int errors;

    standin *si;
    char dir[64];
    char db_path[96];
    sqlite3 *db; /* our own connection, to read jobs */
    ccai_config *cfg;
    ccai_poll *poll;
    ccai_ctx *ctx;
    ccai_call *call;
    char *initiate_json;
    const char *phone;

    said *says;
    size_t n_says, cap_says;
    int stops, listens, hangups, transfers;
    char transfer_to[64];
    char ids[MAX_CALL_IDS][37];
    size_t n_ids;
} run;

static void failf(run *r, const char *fmt, ...) CMOCKA_PRINTF_ATTRIBUTE(2, 3);

static void failf(run *r, const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (r->step_no > 0)
        print_error("%s: step %d: %s\n", r->file, r->step_no, buf);
    else
        print_error("%s: %s\n", r->file, buf);
    r->errors++;
}

static const char *jstr(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static bool contains_ci(const char *hay, const char *needle)
{
    return hay && needle && strcasestr(hay, needle) != NULL;
}

/* Channel (ops) ------------------------------------------------------------------ */

static int op_say(ccai_call *c, const ccai_speech *sp, void *ud)
{
    (void)c;
    run *r = ud;
    if (r->n_says == r->cap_says) {
        size_t cap = r->cap_says ? r->cap_says * 2 : 32;
        said *n = realloc(r->says, cap * sizeof *n);
        assert_non_null(n);
        r->says = n;
        r->cap_says = cap;
    }
    said *s = &r->says[r->n_says++];
    s->text = strdup(sp->text ? sp->text : "");
    s->lang = strdup(sp->lang ? sp->lang : "");
    s->rate = sp->rate;
    s->style = sp->style;
    if (getenv("CCAI_SCENARIO_VERBOSE"))
        fprintf(stderr, "# [%s] bot (%s, %.2f): %s\n", r->file, s->lang, s->rate, s->text);
    return 0;
}

static int op_stop(ccai_call *c, void *ud)
{
    (void)c;
    ((run *)ud)->stops++;
    return 0;
}

static int op_listen(ccai_call *c, const char *lang, void *ud)
{
    (void)c;
    (void)lang;
    ((run *)ud)->listens++;
    return 0;
}

static int op_transfer(ccai_call *c, const char *number, void *ud)
{
    (void)c;
    run *r = ud;
    r->transfers++;
    snprintf(r->transfer_to, sizeof r->transfer_to, "%s", number ? number : "");
    return 0;
}

static int op_hangup(ccai_call *c, void *ud)
{
    (void)c;
    ((run *)ud)->hangups++;
    return 0;
}

static const ccai_call_ops channel_ops = {
    .version = CCAI_CALL_OPS_VERSION,
    .say = op_say,
    .stop_speaking = op_stop,
    .listen = op_listen,
    .transfer = op_transfer,
    .hangup = op_hangup,
};

/* Store access -------------------------------------------------------------------- */

static json_t *call_doc_by_id(run *r, const char *id)
{
    char *text = NULL;
    if (ccai_ctx_call_get_json(r->ctx, id, &text) != CCAI_OK)
        return NULL;
    json_t *doc = json_loads(text, 0, NULL);
    ccai_free(text);
    return doc;
}

static json_t *current_doc(run *r)
{
    return r->call ? call_doc_by_id(r, ccai_call_id(r->call)) : NULL;
}

static void note_call_id(run *r)
{
    if (!r->call)
        return;
    const char *id = ccai_call_id(r->call);
    for (size_t i = 0; i < r->n_ids; i++) {
        if (strcmp(r->ids[i], id) == 0)
            return;
    }
    if (r->n_ids < MAX_CALL_IDS)
        snprintf(r->ids[r->n_ids++], sizeof r->ids[0], "%s", id);
}

/* Jobs as rows of JSON objects {id, kind, call_id, payload, run_at, state}. */
static json_t *jobs_json(run *r)
{
    json_t *out = json_array();
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(r->db,
                           "SELECT id, kind, call_id, payload, run_at, state FROM jobs ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK) {
        failf(r, "jobs: %s", sqlite3_errmsg(r->db));
        return out;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *call_id = (const char *)sqlite3_column_text(st, 2);
        const char *payload = (const char *)sqlite3_column_text(st, 3);
        json_array_append_new(out,
                              json_pack("{s:I, s:s, s:s, s:s, s:I, s:s}", "id",
                                        (json_int_t)sqlite3_column_int64(st, 0), "kind",
                                        (const char *)sqlite3_column_text(st, 1), "call_id",
                                        call_id ? call_id : "", "payload", payload ? payload : "",
                                        "run_at", (json_int_t)sqlite3_column_int64(st, 4), "state",
                                        (const char *)sqlite3_column_text(st, 5)));
    }
    sqlite3_finalize(st);
    return out;
}

/* No post-call or SMS job due or running. */
static bool jobs_idle(run *r)
{
    sqlite3_stmt *st = NULL;
    int busy = 1;
    if (sqlite3_prepare_v2(r->db,
                           "SELECT count(*) FROM jobs WHERE kind IN ('postcall', 'sms') AND "
                           "(state = 'running' OR (state = 'pending' AND run_at <= ?))",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)Ccai_wall_ms());
        if (sqlite3_step(st) == SQLITE_ROW)
            busy = sqlite3_column_int(st, 0);
    }
    sqlite3_finalize(st);
    return busy == 0;
}

/* Loop ----------------------------------------------------------------------------- */

static bool settled(run *r)
{
    if (r->call && r->call->turn)
        return false;
    return jobs_idle(r);
}

static bool said_more(run *r, size_t n)
{
    return r->n_says > n;
}

static void pump_ms(run *r, int ms)
{
    uint64_t end = ccai_time_ms() + (uint64_t)ms;
    while (ccai_time_ms() < end) {
        uint64_t left = end - ccai_time_ms();
        ccai_poll_run_once(r->poll, left < 20 ? (int)left : 20);
    }
}

/* Run the loop until settled (or, with says_after != SIZE_MAX, until the
 * bot said something more). */
static bool pump_until(run *r, size_t says_after, int timeout_ms)
{
    uint64_t end = ccai_time_ms() + (uint64_t)timeout_ms;
    for (;;) {
        if (says_after != SIZE_MAX ? said_more(r, says_after) : settled(r))
            return true;
        if (ccai_time_ms() >= end)
            return false;
        ccai_poll_run_once(r->poll, 10);
    }
}

/* Setup ------------------------------------------------------------------------------ */

static bool cfg_set(run *r, const char *key, const char *value)
{
    ccai_status st = ccai_config_set(r->cfg, key, value);
    if (st != CCAI_OK) {
        failf(r, "config %s=%s: %s %s", key, value, ccai_status_str(st),
              ccai_config_errmsg(r->cfg));
        return false;
    }
    return true;
}

/* A JSON value in the text form ccai_config_set() takes. */
static char *value_text(const json_t *v)
{
    char buf[64];
    if (json_is_string(v))
        return strdup(json_string_value(v));
    if (json_is_integer(v)) {
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
        return strdup(buf);
    }
    if (json_is_real(v)) {
        snprintf(buf, sizeof buf, "%g", json_real_value(v));
        return strdup(buf);
    }
    if (json_is_boolean(v))
        return strdup(json_is_true(v) ? "true" : "false");
    return json_dumps(v, JSON_COMPACT);
}

static bool check_keys(run *r, const json_t *obj, const char *what, const char *const *keys)
{
    const char *k;
    const json_t *v;
    bool ok = true;
    json_object_foreach((json_t *)obj, k, v)
    {
        bool known = false;
        for (size_t i = 0; keys[i]; i++)
            known = known || strcmp(k, keys[i]) == 0;
        if (!known) {
            failf(r, "%s: unknown key \"%s\"", what, k);
            ok = false;
        }
    }
    return ok;
}

static const char *const top_keys[] = {"name", "description", "config", "llm",    "slow", "caller",
                                       "lang", "initiate",    "steps",  "expect", NULL};

static bool setup(run *r)
{
    json_t *d = r->doc;
    if (!json_is_object(d)) {
        failf(r, "the document must be a mapping");
        return false;
    }
    if (!check_keys(r, d, "scenario", top_keys))
        return false;
    if (!jstr(d, "name") || !json_is_array(json_object_get(d, "steps"))) {
        failf(r, "name and steps are required");
        return false;
    }
    r->phone = jstr(d, "caller") ? jstr(d, "caller") : "+33612345678";

    snprintf(r->dir, sizeof r->dir, "%s/ccai-scenario-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(r->dir)) {
        failf(r, "mkdtemp failed");
        return false;
    }
    snprintf(r->db_path, sizeof r->db_path, "%s/ccai.sqlite", r->dir);

    assert_int_equal(ccai_config_new(&r->cfg), CCAI_OK);
    if (!cfg_set(r, "database.sqlite.path", r->db_path))
        return false;
    const json_t *llm = json_object_get(d, "llm");
    if (llm && !json_is_boolean(llm)) {
        failf(r, "llm must be true or false");
        return false;
    }
    if (!llm || json_is_true(llm)) {
        r->si = standin_start(NULL);
        assert_non_null(r->si);
        char ep[96];
        snprintf(ep, sizeof ep, "http://127.0.0.1:%d/v1", standin_port(r->si));
        const char *tiers[] = {"fast", json_is_true(json_object_get(d, "slow")) ? "slow" : NULL};
        for (size_t i = 0; i < 2 && tiers[i]; i++) {
            char key[64], model[32];
            snprintf(key, sizeof key, "llm.%s.mode", tiers[i]);
            cfg_set(r, key, "openai_compatible");
            snprintf(key, sizeof key, "llm.%s.endpoint", tiers[i]);
            cfg_set(r, key, ep);
            snprintf(key, sizeof key, "llm.%s.api_key", tiers[i]);
            cfg_set(r, key, "none");
            snprintf(key, sizeof key, "llm.%s.model", tiers[i]);
            snprintf(model, sizeof model, "%s-model", tiers[i]);
            cfg_set(r, key, model);
        }
    }
    const json_t *extra = json_object_get(d, "config");
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)extra, key, v)
    {
        char *text = value_text(v);
        bool ok = text && cfg_set(r, key, text);
        free(text);
        if (!ok)
            return false;
    }

    json_t *init = json_object_get(d, "initiate") ? json_deep_copy(json_object_get(d, "initiate"))
                                                  : json_object();
    if (jstr(d, "lang"))
        json_object_set_new(init, "lang",
                            json_pack("{s:s}", "default_short_code", jstr(d, "lang")));
    if (json_object_size(init))
        r->initiate_json = json_dumps(init, JSON_COMPACT);
    json_decref(init);

    char *why = NULL;
    ccai_status st = ccai_poll_new(r->cfg, &r->poll, &r->ctx, &why);
    if (st != CCAI_OK) {
        failf(r, "context: %s: %s", ccai_status_str(st), why ? why : "");
        ccai_free(why);
        return false;
    }
    if (sqlite3_open_v2(r->db_path, &r->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        failf(r, "cannot open %s", r->db_path);
        return false;
    }
    sqlite3_busy_timeout(r->db, 2000);
    return true;
}

static bool start_call(run *r, const char *phone, bool resume)
{
    ccai_call_params p = {
        .version = CCAI_CALL_PARAMS_VERSION,
        .direction = CCAI_INBOUND,
        .phone_number = phone,
        .channel = "local",
        .initiate_json = r->initiate_json,
        .resume = resume,
    };
    ccai_status st = ccai_call_start(r->ctx, &p, &channel_ops, r, &r->call);
    if (st != CCAI_OK) {
        failf(r, "ccai_call_start: %s: %s", ccai_status_str(st), ccai_ctx_errmsg(r->ctx));
        r->call = NULL;
        return false;
    }
    note_call_id(r);
    return true;
}

static void teardown(run *r)
{
    ccai_call_free(r->call);
    ccai_poll_free(r->poll);
    ccai_config_free(r->cfg);
    if (r->db)
        sqlite3_close(r->db);
    standin_stop(r->si);
    for (size_t i = 0; i < r->n_says; i++) {
        free(r->says[i].text);
        free(r->says[i].lang);
    }
    free(r->says);
    free(r->initiate_json);
    if (r->dir[0]) {
        static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
        for (size_t i = 0; i < 4; i++) {
            char path[128];
            snprintf(path, sizeof path, "%s%s", r->db_path, suffixes[i]);
            unlink(path);
        }
        rmdir(r->dir);
    }
}

/* Matching ------------------------------------------------------------------------- */

/* text matches a phrase template where each {name} stands for any text. */
static bool template_match(const char *tpl, const char *text)
{
    if (!*tpl)
        return !*text;
    if (tpl[0] == '{' && tpl[1] != '{') {
        const char *close = strchr(tpl, '}');
        if (!close)
            return false;
        for (const char *t = text;; t++) {
            if (template_match(close + 1, t))
                return true;
            if (!*t)
                return false;
        }
    }
    size_t skip = (tpl[0] == '{' || tpl[0] == '}') && tpl[1] == tpl[0] ? 2 : 1;
    return *text == *tpl && template_match(tpl + skip, text + 1);
}

/* "@goodbye": one of the variants of that configured phrase, in the
 * language it was said in; otherwise a case-insensitive substring. */
static bool say_matches(run *r, const char *pattern, const said *sd)
{
    const char *text = sd->text;
    if (pattern[0] != '@')
        return contains_ci(text, pattern);
    const Ccai_prompts *p = Ccai_engine_prompts(Ccai_ctx_engine(r->ctx));
    for (int i = 0; i < CCAI_TTS_PHRASE_COUNT; i++) {
        if (strcmp(Ccai_tts_phrase_name((Ccai_tts_phrase)i), pattern + 1) != 0)
            continue;
        /* Variants are picked by number modulo their count: 64 numbers reach
         * them all. */
        for (uint32_t k = 0; k < 64; k++) {
            if (template_match(Ccai_prompts_tts_pick_lang(p, (Ccai_tts_phrase)i, sd->lang, k),
                               text))
                return true;
        }
        return false;
    }
    failf(r, "unknown phrase %s", pattern);
    return false;
}

static void dump_says(run *r, size_t from)
{
    if (from >= r->n_says) {
        print_error("    (the bot said nothing)\n");
        return;
    }
    for (size_t i = from; i < r->n_says; i++)
        print_error("    said [%s %.2f]: %s\n", r->says[i].lang, r->says[i].rate, r->says[i].text);
}

static bool value_equal(const json_t *want, const json_t *have)
{
    if (json_is_string(want) && json_is_string(have))
        return strcmp(json_string_value(want), json_string_value(have)) == 0;
    return json_equal((json_t *)want, (json_t *)have);
}

/* A stored message against {persona, action, engine, style, lang, content
 * (substring), content_is (exact), tool (a tool call's name), tool_result
 * (substring of that tool call's result)}. */
static bool message_matches(const json_t *m, const json_t *want)
{
    static const char *const exact[] = {"persona", "action", "engine", "style", "lang"};
    for (size_t i = 0; i < sizeof exact / sizeof *exact; i++) {
        const json_t *w = json_object_get(want, exact[i]);
        if (w && !value_equal(w, json_object_get(m, exact[i])))
            return false;
    }
    if (jstr(want, "content") && !contains_ci(jstr(m, "content"), jstr(want, "content")))
        return false;
    if (jstr(want, "content_is") &&
        (!jstr(m, "content") || strcmp(jstr(m, "content"), jstr(want, "content_is")) != 0))
        return false;
    const char *tool = jstr(want, "tool");
    const char *result = jstr(want, "tool_result");
    if (!tool && !result)
        return true;
    size_t i;
    const json_t *tc;
    json_array_foreach(json_object_get(m, "tool_calls"), i, tc)
    {
        if (tool && (!jstr(tc, "function_name") || strcmp(jstr(tc, "function_name"), tool) != 0))
            continue;
        if (result && !contains_ci(jstr(tc, "content"), result))
            continue;
        return true;
    }
    return false;
}

static const char *const message_keys[] = {"persona", "action",     "engine", "style",       "lang",
                                           "content", "content_is", "tool",   "tool_result", NULL};

static void check_messages(run *r, const json_t *msgs, const json_t *wants, bool present,
                           const char *what)
{
    size_t i, k;
    const json_t *want, *m;
    json_array_foreach(wants, i, want)
    {
        if (!check_keys(r, want, what, message_keys))
            continue;
        bool found = false;
        json_array_foreach(msgs, k, m)
        {
            found = found || message_matches(m, want);
        }
        if (found != present) {
            char *w = json_dumps(want, JSON_COMPACT);
            failf(r, "%s: %s message %s", what, present ? "no" : "unexpected", w);
            free(w);
            json_array_foreach(msgs, k, m)
            {
                char *t = json_dumps(m, JSON_COMPACT);
                print_error("    %s\n", t);
                free(t);
            }
        }
    }
}

static void check_claim(run *r, const json_t *doc, const json_t *want, const json_t *absent)
{
    const json_t *claim = json_object_get(doc, "claim");
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)want, k, v)
    {
        const json_t *have = json_object_get(claim, k);
        if (!have || !value_equal(v, have)) {
            char *c = json_dumps(claim, JSON_COMPACT);
            failf(r, "claim.%s: expected \"%s\", claim is %s", k,
                  json_string_value(v) ? json_string_value(v) : "?", c);
            free(c);
        }
    }
    size_t i;
    json_array_foreach(absent, i, v)
    {
        if (json_object_get(claim, json_string_value(v)))
            failf(r, "claim.%s: expected absent, is \"%s\"", json_string_value(v),
                  jstr(claim, json_string_value(v)));
    }
}

/* Reminders: exactly as many as listed, each matcher {title, owner,
 * description (substring), due (prefix of due_date_time)} matching one. */
static void check_reminders(run *r, const json_t *doc, const json_t *wants)
{
    static const char *const keys[] = {"title", "owner", "description", "due", NULL};
    const json_t *rems = json_object_get(doc, "reminders");
    if (json_array_size(rems) != json_array_size(wants)) {
        char *t = json_dumps(rems, JSON_COMPACT);
        failf(r, "reminders: expected %zu, have %zu: %s", json_array_size(wants),
              json_array_size(rems), t);
        free(t);
    }
    size_t i, k;
    const json_t *want, *rem;
    json_array_foreach(wants, i, want)
    {
        if (!check_keys(r, want, "reminder", keys))
            continue;
        bool found = false;
        json_array_foreach(rems, k, rem)
        {
            bool ok = true;
            if (jstr(want, "title"))
                ok = ok && jstr(rem, "title") &&
                     strcmp(jstr(rem, "title"), jstr(want, "title")) == 0;
            if (jstr(want, "owner"))
                ok = ok && jstr(rem, "owner") &&
                     strcmp(jstr(rem, "owner"), jstr(want, "owner")) == 0;
            if (jstr(want, "description"))
                ok = ok && contains_ci(jstr(rem, "description"), jstr(want, "description"));
            if (jstr(want, "due"))
                ok = ok && jstr(rem, "due_date_time") &&
                     strncmp(jstr(rem, "due_date_time"), jstr(want, "due"),
                             strlen(jstr(want, "due"))) == 0;
            found = found || ok;
        }
        if (!found) {
            char *w = json_dumps(want, JSON_COMPACT), *t = json_dumps(rems, JSON_COMPACT);
            failf(r, "reminders: none matches %s in %s", w, t);
            free(w);
            free(t);
        }
    }
}

static int64_t iso_ms(const char *iso)
{
    struct tm tm = {0};
    if (sscanf(iso, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec) != 6)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm) * 1000;
}

/* A call index of the scenario (0 = the first call id seen) to its id. */
static const char *call_index_id(run *r, const json_t *idx)
{
    if (!idx)
        return r->call ? ccai_call_id(r->call) : NULL;
    json_int_t i = json_integer_value(idx);
    if (!json_is_integer(idx) || i < 0 || (size_t)i >= r->n_ids) {
        failf(r, "call index %lld: only %zu calls seen", (long long)i, r->n_ids);
        return NULL;
    }
    return r->ids[i];
}

/* Jobs: each matcher {kind, call (index), payload (substring), state,
 * run_at (ISO, UTC)} matches a stored job (present), or none (absent). */
static void check_jobs(run *r, const json_t *wants, bool present)
{
    static const char *const keys[] = {"kind", "call", "payload", "state", "run_at", NULL};
    json_t *jobs = jobs_json(r);
    size_t i, k;
    const json_t *want, *job;
    json_array_foreach(wants, i, want)
    {
        if (!check_keys(r, want, "job", keys))
            continue;
        const char *id =
            json_object_get(want, "call") ? call_index_id(r, json_object_get(want, "call")) : NULL;
        bool found = false;
        json_array_foreach(jobs, k, job)
        {
            bool ok = true;
            if (jstr(want, "kind"))
                ok = ok && strcmp(jstr(job, "kind"), jstr(want, "kind")) == 0;
            if (id)
                ok = ok && strcmp(jstr(job, "call_id"), id) == 0;
            if (jstr(want, "payload"))
                ok = ok && contains_ci(jstr(job, "payload"), jstr(want, "payload"));
            if (jstr(want, "state"))
                ok = ok && strcmp(jstr(job, "state"), jstr(want, "state")) == 0;
            if (jstr(want, "run_at"))
                ok = ok && json_integer_value(json_object_get(job, "run_at")) ==
                               iso_ms(jstr(want, "run_at"));
            found = found || ok;
        }
        if (found != present) {
            char *w = json_dumps(want, JSON_COMPACT), *t = json_dumps(jobs, JSON_COMPACT);
            failf(r, "jobs: %s %s in %s", present ? "none matches" : "unexpected", w, t);
            free(w);
            free(t);
        }
    }
    json_decref(jobs);
}

/* The last request the stand-in received ------------------------------------------- */

typedef struct request {
    char *raw;
    json_t *body;
    char *text; /* every message content, decoded, one per line */
} request;

static bool last_request(run *r, request *q)
{
    memset(q, 0, sizeof *q);
    int n = r->si ? standin_request_count(r->si) : 0;
    if (n == 0)
        return false;
    q->raw = standin_request_body(r->si, n - 1);
    q->body = q->raw ? json_loads(q->raw, 0, NULL) : NULL;
    size_t len = 1, i;
    const json_t *m;
    json_array_foreach(json_object_get(q->body, "messages"), i, m)
    {
        len += strlen(jstr(m, "content") ? jstr(m, "content") : "") + 1;
    }
    q->text = calloc(1, len);
    json_array_foreach(json_object_get(q->body, "messages"), i, m)
    {
        if (jstr(m, "content")) {
            strcat(q->text, jstr(m, "content"));
            strcat(q->text, "\n");
        }
    }
    return q->body != NULL;
}

static void request_free(request *q)
{
    free(q->raw);
    free(q->text);
    json_decref(q->body);
}

static bool request_has_tool(const request *q, const char *name)
{
    size_t i;
    const json_t *t;
    json_array_foreach(json_object_get(q->body, "tools"), i, t)
    {
        const char *n = jstr(json_object_get(t, "function"), "name");
        if (n && strcmp(n, name) == 0)
            return true;
    }
    return false;
}

/* {role, content (substring), tool_call_id, tool (name of a tool call)} */
static bool request_message_matches(const json_t *m, const json_t *want)
{
    if (jstr(want, "role") && (!jstr(m, "role") || strcmp(jstr(m, "role"), jstr(want, "role"))))
        return false;
    if (jstr(want, "content") && !contains_ci(jstr(m, "content"), jstr(want, "content")))
        return false;
    if (jstr(want, "tool_call_id") &&
        (!jstr(m, "tool_call_id") || strcmp(jstr(m, "tool_call_id"), jstr(want, "tool_call_id"))))
        return false;
    if (!jstr(want, "tool"))
        return true;
    size_t i;
    const json_t *tc;
    json_array_foreach(json_object_get(m, "tool_calls"), i, tc)
    {
        const char *n = jstr(json_object_get(tc, "function"), "name");
        if (n && strcmp(n, jstr(want, "tool")) == 0)
            return true;
    }
    return false;
}

static void check_request(run *r, const json_t *step)
{
    const json_t *subs = json_object_get(step, "expect_request");
    const json_t *nots = json_object_get(step, "expect_request_not");
    const json_t *msg = json_object_get(step, "expect_request_message");
    const json_t *nomsg = json_object_get(step, "expect_request_no_message");
    const json_t *tools = json_object_get(step, "expect_request_tools");
    const json_t *notools = json_object_get(step, "expect_request_tools_absent");
    const char *model = jstr(step, "expect_request_model");
    if (!subs && !nots && !msg && !nomsg && !tools && !notools && !model)
        return;
    request q;
    if (!last_request(r, &q)) {
        failf(r, "expect_request*: the stand-in received no (valid JSON) request");
        request_free(&q);
        return;
    }
    size_t i;
    const json_t *v;
    json_array_foreach(subs, i, v)
    {
        const char *s = json_string_value(v);
        if (!contains_ci(q.raw, s) && !contains_ci(q.text, s))
            failf(r, "expect_request: \"%s\" not in the last request", s);
    }
    json_array_foreach(nots, i, v)
    {
        const char *s = json_string_value(v);
        if (contains_ci(q.raw, s) || contains_ci(q.text, s))
            failf(r, "expect_request_not: \"%s\" is in the last request", s);
    }
    const json_t *msgs = json_object_get(q.body, "messages");
    for (int present = 1; present >= 0; present--) {
        const json_t *want = present ? msg : nomsg;
        if (!want)
            continue;
        bool found = false;
        const json_t *m;
        json_array_foreach(msgs, i, m)
        {
            found = found || request_message_matches(m, want);
        }
        if (found != (bool)present) {
            char *w = json_dumps(want, JSON_COMPACT);
            failf(r, "expect_request_%smessage: %s %s", present ? "" : "no_",
                  present ? "no message matches" : "a message matches", w);
            free(w);
        }
    }
    json_array_foreach(tools, i, v)
    {
        if (!request_has_tool(&q, json_string_value(v)))
            failf(r, "expect_request_tools: %s is not offered", json_string_value(v));
    }
    json_array_foreach(notools, i, v)
    {
        if (request_has_tool(&q, json_string_value(v)))
            failf(r, "expect_request_tools_absent: %s is offered", json_string_value(v));
    }
    if (model && (!jstr(q.body, "model") || strcmp(jstr(q.body, "model"), model) != 0))
        failf(r, "expect_request_model: %s, the request named %s", model,
              jstr(q.body, "model") ? jstr(q.body, "model") : "none");
    request_free(&q);
}

/* No request of the step (from request req0 on) offers these tools. */
static void check_all_requests_tools_absent(run *r, const json_t *names, int req0)
{
    int n = r->si ? standin_request_count(r->si) : 0;
    if (n == req0)
        failf(r, "expect_all_requests_tools_absent: no request in this step");
    for (int k = req0; k < n; k++) {
        request q = {0};
        q.raw = standin_request_body(r->si, k);
        q.body = q.raw ? json_loads(q.raw, 0, NULL) : NULL;
        size_t i;
        const json_t *v;
        json_array_foreach(names, i, v)
        {
            if (request_has_tool(&q, json_string_value(v)))
                failf(r, "expect_all_requests_tools_absent: request %d of the step offers %s",
                      k - req0 + 1, json_string_value(v));
        }
        request_free(&q);
    }
}

/* Steps ------------------------------------------------------------------------------ */

static const char *const step_keys[] = {
    /* events (at most one) */
    "connected", "ringing", "caller", "partial", "dtmf", "sms", "silence", "say_done",
    "transfer_result", "hangup", "new_call",
    /* control */
    "llm", "wait", "wait_ms", "timeout_ms", "channel_hangup", "note",
    /* expectations */
    "expect_say", "expect_say_order", "expect_no_say", "expect_say_count", "expect_say_lang",
    "expect_say_rate", "expect_stop_speaking", "expect_hangup", "expect_transfer", "expect_state",
    "expect_lang", "expect_claim", "expect_claim_absent", "expect_tools", "expect_tool_result",
    "expect_messages", "expect_no_messages", "expect_requests", "expect_request",
    "expect_request_not", "expect_request_message", "expect_request_no_message",
    "expect_request_tools", "expect_request_tools_absent", "expect_request_model",
    "expect_all_requests_tools_absent", "expect_pending", "expect_call", "expect_resumed",
    "expect_reminders", "expect_jobs", "expect_no_jobs", NULL};

static const char *const event_keys[] = {
    "connected", "ringing",  "caller",          "partial", "dtmf",     "sms",
    "silence",   "say_done", "transfer_result", "hangup",  "new_call", NULL};

static ccai_status send_event(run *r, ccai_event_type type, const char *text, int final,
                              const char *from)
{
    ccai_event *ev = NULL;
    assert_int_equal(ccai_event_new(type, &ev), CCAI_OK);
    if (text)
        assert_int_equal(ccai_event_set_text(ev, text), CCAI_OK);
    if (from)
        assert_int_equal(ccai_event_set_from(ev, from), CCAI_OK);
    assert_int_equal(ccai_event_set_final(ev, final), CCAI_OK);
    ccai_status st = ccai_on_event(r->call, ev);
    ccai_event_free(ev);
    if (st != CCAI_OK)
        failf(r, "%s event: %s (%s)", ccai_event_type_str(type), ccai_status_str(st),
              ccai_call_errmsg(r->call));
    return st;
}

static bool deliver(run *r, const json_t *step, const char *ev)
{
    const json_t *v = json_object_get(step, ev);
    if (strcmp(ev, "new_call") == 0) {
        static const char *const keys[] = {"resume", "caller", NULL};
        if (!json_is_object(v) || !check_keys(r, v, "new_call", keys))
            return false;
        ccai_call_free(r->call);
        r->call = NULL;
        return start_call(r, jstr(v, "caller") ? jstr(v, "caller") : r->phone,
                          json_is_true(json_object_get(v, "resume")));
    }
    if (!r->call) {
        failf(r, "no call");
        return false;
    }
    if (strcmp(ev, "connected") == 0)
        return send_event(r, CCAI_EVENT_CONNECTED, NULL, 1, NULL) == CCAI_OK;
    if (strcmp(ev, "ringing") == 0)
        return send_event(r, CCAI_EVENT_RINGING, NULL, 1, NULL) == CCAI_OK;
    if (strcmp(ev, "silence") == 0)
        return send_event(r, CCAI_EVENT_SILENCE_TIMEOUT, NULL, 1, NULL) == CCAI_OK;
    if (strcmp(ev, "say_done") == 0)
        return send_event(r, CCAI_EVENT_SAY_DONE, NULL, 1, NULL) == CCAI_OK;
    if (strcmp(ev, "hangup") == 0)
        return send_event(r, CCAI_EVENT_HANGUP, "caller hung up", 1, NULL) == CCAI_OK;
    if (strcmp(ev, "transfer_result") == 0) {
        const char *res = json_string_value(v);
        if (!res || (strcmp(res, "ok") != 0 && strcmp(res, "failed") != 0)) {
            failf(r, "transfer_result must be ok or failed");
            return false;
        }
        return send_event(
                   r, strcmp(res, "ok") == 0 ? CCAI_EVENT_TRANSFER_OK : CCAI_EVENT_TRANSFER_FAILED,
                   strcmp(res, "ok") == 0 ? "transferred" : "agent busy", 1, NULL) == CCAI_OK;
    }
    const char *text = json_string_value(v);
    if (!text) {
        failf(r, "%s needs a string", ev);
        return false;
    }
    if (strcmp(ev, "caller") == 0)
        return send_event(r, CCAI_EVENT_SPEECH, text, 1, NULL) == CCAI_OK;
    if (strcmp(ev, "partial") == 0)
        return send_event(r, CCAI_EVENT_SPEECH, text, 0, NULL) == CCAI_OK;
    if (strcmp(ev, "dtmf") == 0)
        return send_event(r, CCAI_EVENT_DTMF, text, 1, NULL) == CCAI_OK;
    return send_event(r, CCAI_EVENT_SMS, text, 1, r->phone) == CCAI_OK;
}

/* The messages stored during the step: those after the first `before` of
 * call `id`, and every message of the call the handle moved to. */
static json_t *step_messages(run *r, const char *id, size_t before)
{
    json_t *out = json_array();
    json_t *doc = call_doc_by_id(r, id);
    json_t *msgs = json_object_get(doc, "messages");
    for (size_t i = before; i < json_array_size(msgs); i++)
        json_array_append(out, json_array_get(msgs, i));
    json_decref(doc);
    if (r->call && strcmp(ccai_call_id(r->call), id) != 0) {
        doc = current_doc(r);
        json_array_extend(out, json_object_get(doc, "messages"));
        json_decref(doc);
    }
    return out;
}

static void check_says(run *r, const json_t *step, size_t from)
{
    size_t i;
    const json_t *v;
    bool bad = false;
    json_array_foreach(json_object_get(step, "expect_say"), i, v)
    {
        bool found = false;
        for (size_t k = from; k < r->n_says && !found; k++)
            found = say_matches(r, json_string_value(v), &r->says[k]);
        if (!found) {
            failf(r, "expect_say: nothing said matches \"%s\"", json_string_value(v));
            bad = true;
        }
    }
    size_t k = from;
    json_array_foreach(json_object_get(step, "expect_say_order"), i, v)
    {
        while (k < r->n_says && !say_matches(r, json_string_value(v), &r->says[k]))
            k++;
        if (k == r->n_says) {
            failf(r, "expect_say_order: \"%s\" not said (in that order)", json_string_value(v));
            bad = true;
            break;
        }
        k++;
    }
    json_array_foreach(json_object_get(step, "expect_no_say"), i, v)
    {
        for (k = from; k < r->n_says; k++) {
            if (say_matches(r, json_string_value(v), &r->says[k])) {
                failf(r, "expect_no_say: \"%s\" was said", json_string_value(v));
                bad = true;
                break;
            }
        }
    }
    const json_t *count = json_object_get(step, "expect_say_count");
    if (count && (json_int_t)(r->n_says - from) != json_integer_value(count)) {
        failf(r, "expect_say_count: %lld, said %zu", (long long)json_integer_value(count),
              r->n_says - from);
        bad = true;
    }
    const char *lang = jstr(step, "expect_say_lang");
    const json_t *rate = json_object_get(step, "expect_say_rate");
    for (k = from; k < r->n_says; k++) {
        if (lang && strcmp(r->says[k].lang, lang) != 0) {
            failf(r, "expect_say_lang: %s, said in %s: %s", lang, r->says[k].lang, r->says[k].text);
            bad = true;
        }
        if (rate && fabs(r->says[k].rate - json_number_value(rate)) > 1e-6) {
            failf(r, "expect_say_rate: %g, said at %g: %s", json_number_value(rate),
                  r->says[k].rate, r->says[k].text);
            bad = true;
        }
    }
    if ((lang || rate) && from == r->n_says) {
        failf(r, "expect_say_lang/rate: the bot said nothing");
        bad = true;
    }
    if (bad)
        dump_says(r, from);
}

static void check_step(run *r, const json_t *step, size_t says0, int stops0, int hangups0,
                       int transfers0, int req0, const char *id0, size_t msgs0)
{
    check_says(r, step, says0);
    const json_t *v;
    if ((v = json_object_get(step, "expect_stop_speaking")) &&
        (r->stops > stops0) != json_is_true(v))
        failf(r, "expect_stop_speaking: %s", json_is_true(v) ? "never asked" : "asked");
    if ((v = json_object_get(step, "expect_hangup")) && (r->hangups > hangups0) != json_is_true(v))
        failf(r, "expect_hangup: the bot %s", json_is_true(v) ? "did not hang up" : "hung up");
    if ((v = json_object_get(step, "expect_transfer"))) {
        if (json_is_false(v) && r->transfers > transfers0)
            failf(r, "expect_transfer: transferred to %s", r->transfer_to);
        else if (json_is_string(v) &&
                 (r->transfers == transfers0 || strcmp(r->transfer_to, json_string_value(v))))
            failf(r, "expect_transfer: %s, got %s", json_string_value(v),
                  r->transfers > transfers0 ? r->transfer_to : "no transfer");
    }
    const char *s;
    if ((s = jstr(step, "expect_state")) && r->call &&
        strcmp(ccai_call_state_str(ccai_call_get_state(r->call)), s) != 0)
        failf(r, "expect_state: %s, is %s", s, ccai_call_state_str(ccai_call_get_state(r->call)));
    if ((v = json_object_get(step, "expect_resumed")) && r->call &&
        (ccai_call_resumed(r->call) != 0) != json_is_true(v))
        failf(r, "expect_resumed: %s", json_is_true(v) ? "not resumed" : "resumed");
    if ((s = jstr(step, "expect_call")) && r->call) {
        bool same = strcmp(ccai_call_id(r->call), id0) == 0;
        if (strcmp(s, "same") != 0 && strcmp(s, "new") != 0)
            failf(r, "expect_call: same or new");
        else if (same != (strcmp(s, "same") == 0))
            failf(r, "expect_call: %s id, was %s now %s", s, id0, ccai_call_id(r->call));
    }

    json_t *doc = current_doc(r);
    if ((s = jstr(step, "expect_lang"))) {
        if (!r->call || strcmp(ccai_call_lang(r->call), s) != 0)
            failf(r, "expect_lang: %s, call speaks %s", s, r->call ? ccai_call_lang(r->call) : "-");
        if (!jstr(doc, "lang") || strcmp(jstr(doc, "lang"), s) != 0)
            failf(r, "expect_lang: %s, stored %s", s, jstr(doc, "lang") ? jstr(doc, "lang") : "-");
    }
    if (json_object_get(step, "expect_claim") || json_object_get(step, "expect_claim_absent"))
        check_claim(r, doc, json_object_get(step, "expect_claim"),
                    json_object_get(step, "expect_claim_absent"));
    if ((v = json_object_get(step, "expect_reminders")))
        check_reminders(r, doc, v);
    json_decref(doc);

    json_t *msgs = step_messages(r, id0, msgs0);
    if ((v = json_object_get(step, "expect_tools"))) {
        json_t *ran = json_array();
        size_t i, k;
        const json_t *m, *tc;
        json_array_foreach(msgs, i, m)
        {
            json_array_foreach(json_object_get(m, "tool_calls"), k, tc)
            {
                json_array_append_new(ran, json_string(jstr(tc, "function_name")));
            }
        }
        if (!json_equal(ran, (json_t *)v)) {
            char *want = json_dumps(v, JSON_COMPACT), *have = json_dumps(ran, JSON_COMPACT);
            failf(r, "expect_tools: %s, ran %s", want, have);
            free(want);
            free(have);
        }
        json_decref(ran);
    }
    if ((v = json_object_get(step, "expect_tool_result"))) {
        const char *name;
        const json_t *sub;
        json_object_foreach((json_t *)v, name, sub)
        {
            json_t *want = json_pack("[{s:s, s:s}]", "tool", name, "tool_result",
                                     json_string_value(sub) ? json_string_value(sub) : "");
            check_messages(r, msgs, want, true, "expect_tool_result");
            json_decref(want);
        }
    }
    if ((v = json_object_get(step, "expect_messages")))
        check_messages(r, msgs, v, true, "expect_messages");
    if ((v = json_object_get(step, "expect_no_messages")))
        check_messages(r, msgs, v, false, "expect_no_messages");
    json_decref(msgs);

    if ((v = json_object_get(step, "expect_requests"))) {
        int n = r->si ? standin_request_count(r->si) - req0 : 0;
        if (n != json_integer_value(v))
            failf(r, "expect_requests: %lld, the stand-in received %d",
                  (long long)json_integer_value(v), n);
    }
    if ((v = json_object_get(step, "expect_pending")) && r->si &&
        standin_pending(r->si) != json_integer_value(v))
        failf(r, "expect_pending: %lld queued responses left, %d are",
              (long long)json_integer_value(v), standin_pending(r->si));
    check_request(r, step);
    if ((v = json_object_get(step, "expect_all_requests_tools_absent")))
        check_all_requests_tools_absent(r, v, req0);
    if ((v = json_object_get(step, "expect_jobs")))
        check_jobs(r, v, true);
    if ((v = json_object_get(step, "expect_no_jobs")))
        check_jobs(r, v, false);
}

static void run_step(run *r, const json_t *step)
{
    if (!json_is_object(step) || !check_keys(r, step, "step", step_keys))
        return;
    const char *ev = NULL;
    for (size_t i = 0; event_keys[i]; i++) {
        if (json_object_get(step, event_keys[i])) {
            if (ev) {
                failf(r, "one event per step (%s and %s)", ev, event_keys[i]);
                return;
            }
            ev = event_keys[i];
        }
    }
    const json_t *specs = json_object_get(step, "llm");
    if (specs && !r->si) {
        failf(r, "llm responses queued, but the scenario has no LLM");
        return;
    }
    size_t i;
    const json_t *spec;
    json_array_foreach(specs, i, spec)
    {
        char *text = json_dumps(spec, JSON_COMPACT);
        if (standin_push_json(r->si, text) != 0)
            failf(r, "llm[%zu]: the stand-in rejects %s", i, text);
        free(text);
    }

    size_t says0 = r->n_says;
    int stops0 = r->stops, hangups0 = r->hangups, transfers0 = r->transfers;
    int req0 = r->si ? standin_request_count(r->si) : 0;
    char id0[37] = "";
    size_t msgs0 = 0;
    if (r->call) {
        snprintf(id0, sizeof id0, "%s", ccai_call_id(r->call));
        json_t *doc = current_doc(r);
        msgs0 = json_array_size(json_object_get(doc, "messages"));
        json_decref(doc);
    }
    if (ev && !deliver(r, step, ev))
        return;

    const json_t *tmo = json_object_get(step, "timeout_ms");
    int timeout = tmo ? (int)json_integer_value(tmo) : STEP_TIMEOUT_MS;
    const char *wait = jstr(step, "wait") ? jstr(step, "wait") : "settled";
    if (strcmp(wait, "say") == 0) {
        if (!pump_until(r, says0, timeout))
            failf(r, "wait: say: the bot said nothing within %d ms", timeout);
    } else if (strcmp(wait, "settled") == 0) {
        if (!pump_until(r, SIZE_MAX, timeout))
            failf(r, "the call did not settle within %d ms", timeout);
    } else if (strcmp(wait, "none") != 0) {
        failf(r, "wait: settled, say or none");
    }
    if (json_object_get(step, "wait_ms"))
        pump_ms(r, (int)json_integer_value(json_object_get(step, "wait_ms")));
    note_call_id(r);

    /* The channel reports the hangup the bot asked for. */
    if (r->call && r->hangups > hangups0 && ccai_call_get_state(r->call) < CCAI_CALL_ENDED &&
        !json_is_false(json_object_get(step, "channel_hangup"))) {
        send_event(r, CCAI_EVENT_HANGUP, "bot hung up", 1, NULL);
        if (!pump_until(r, SIZE_MAX, timeout))
            failf(r, "post-call work did not finish within %d ms", timeout);
    }
    check_step(r, step, says0, stops0, hangups0, transfers0, req0, id0[0] ? id0 : r->ids[0], msgs0);
}

/* Final expectations ------------------------------------------------------------------- */

static const char *const expect_keys[] = {
    "call",        "state",       "lang",    "in_progress",  "messages_min", "messages_max",
    "messages",    "no_messages", "claim",   "claim_absent", "reminders",    "postcall",
    "no_postcall", "jobs",        "no_jobs", "llm_leftover", "calls",        NULL};

static void check_postcall(run *r, const json_t *doc, const json_t *want)
{
    static const char *const keys[] = {"next_action",
                                       "justification",
                                       "synthesis_short",
                                       "synthesis_long",
                                       "satisfaction",
                                       "improvement",
                                       NULL};
    if (!check_keys(r, want, "postcall", keys))
        return;
    const json_t *next = json_object_get(doc, "next");
    const json_t *syn = json_object_get(doc, "synthesis");
    if (!json_is_object(next) || !json_is_object(syn)) {
        failf(r, "postcall: no report stored (next %s, synthesis %s)",
              json_is_object(next) ? "set" : "missing", json_is_object(syn) ? "set" : "missing");
        return;
    }
    struct {
        const char *key;
        const json_t *obj;
        const char *field;
        bool exact;
    } map[] = {
        {"next_action", next, "action", true},
        {"justification", next, "justification", false},
        {"synthesis_short", syn, "short", false},
        {"synthesis_long", syn, "long", false},
        {"satisfaction", syn, "satisfaction", true},
        {"improvement", syn, "improvement_suggestions", false},
    };
    for (size_t i = 0; i < sizeof map / sizeof *map; i++) {
        const char *w = jstr(want, map[i].key);
        const char *h = jstr(map[i].obj, map[i].field);
        if (!w)
            continue;
        if (map[i].exact ? !h || strcmp(h, w) != 0 : !contains_ci(h, w))
            failf(r, "postcall.%s: expected %s\"%s\", stored \"%s\"", map[i].key,
                  map[i].exact ? "" : "to contain ", w, h ? h : "(none)");
    }
}

static void check_final(run *r, const json_t *want)
{
    if (!json_is_object(want) || !check_keys(r, want, "expect", expect_keys))
        return;
    const char *id = call_index_id(r, json_object_get(want, "call"));
    json_t *doc = id ? call_doc_by_id(r, id) : NULL;
    if (!doc) {
        failf(r, "expect: no stored call");
        return;
    }
    const json_t *v;
    const char *s;
    const json_t *msgs = json_object_get(doc, "messages");
    if ((s = jstr(want, "state")) && (!jstr(doc, "state") || strcmp(jstr(doc, "state"), s)))
        failf(r, "state: %s, stored %s", s, jstr(doc, "state"));
    if ((s = jstr(want, "lang")) && (!jstr(doc, "lang") || strcmp(jstr(doc, "lang"), s)))
        failf(r, "lang: %s, stored %s", s, jstr(doc, "lang"));
    if ((v = json_object_get(want, "in_progress")) &&
        json_is_true(v) != json_is_true(json_object_get(doc, "in_progress")))
        failf(r, "in_progress: expected %s", json_is_true(v) ? "true" : "false");
    if ((v = json_object_get(want, "messages_min")) &&
        (json_int_t)json_array_size(msgs) < json_integer_value(v))
        failf(r, "messages_min: %lld, stored %zu", (long long)json_integer_value(v),
              json_array_size(msgs));
    if ((v = json_object_get(want, "messages_max")) &&
        (json_int_t)json_array_size(msgs) > json_integer_value(v))
        failf(r, "messages_max: %lld, stored %zu", (long long)json_integer_value(v),
              json_array_size(msgs));
    if ((v = json_object_get(want, "messages")))
        check_messages(r, msgs, v, true, "messages");
    if ((v = json_object_get(want, "no_messages")))
        check_messages(r, msgs, v, false, "no_messages");
    if (json_object_get(want, "claim") || json_object_get(want, "claim_absent"))
        check_claim(r, doc, json_object_get(want, "claim"), json_object_get(want, "claim_absent"));
    if ((v = json_object_get(want, "reminders")))
        check_reminders(r, doc, v);
    if ((v = json_object_get(want, "postcall")))
        check_postcall(r, doc, v);
    if (json_is_true(json_object_get(want, "no_postcall")) &&
        (!json_is_null(json_object_get(doc, "next")) ||
         !json_is_null(json_object_get(doc, "synthesis"))))
        failf(r, "no_postcall: a report is stored");
    if ((v = json_object_get(want, "jobs")))
        check_jobs(r, v, true);
    if ((v = json_object_get(want, "no_jobs")))
        check_jobs(r, v, false);
    if ((v = json_object_get(want, "calls"))) {
        char *list = NULL;
        json_t *l = NULL;
        if (ccai_ctx_calls_list_json(r->ctx, r->phone, 100, 0, &list) == CCAI_OK)
            l = json_loads(list, 0, NULL);
        ccai_free(list);
        if (json_integer_value(json_object_get(l, "total")) != json_integer_value(v))
            failf(r, "calls: %lld stored for %s, expected %lld",
                  (long long)json_integer_value(json_object_get(l, "total")), r->phone,
                  (long long)json_integer_value(v));
        json_decref(l);
    }
    json_decref(doc);
}

static void run_scenario(void **state)
{
    const char *path = *state;
    run r = {0};
    const char *slash = strrchr(path, '/');
    r.file = slash ? slash + 1 : path;
    char err[512] = "";
    r.doc = load_yaml(path, err, sizeof err);
    if (!r.doc)
        fail_msg("%s", err);
    if (setup(&r) && start_call(&r, r.phone, false)) {
        size_t i;
        const json_t *step;
        json_array_foreach(json_object_get(r.doc, "steps"), i, step)
        {
            r.step_no = (int)i + 1;
            run_step(&r, step);
        }
        r.step_no = 0;
        const json_t *want = json_object_get(r.doc, "expect");
        const json_t *leftover = json_object_get(want, "llm_leftover");
        if (json_is_array(want)) {
            const json_t *w;
            json_array_foreach(want, i, w)
            {
                check_final(&r, w);
                if (json_object_get(w, "llm_leftover"))
                    leftover = json_object_get(w, "llm_leftover");
            }
        } else if (want) {
            check_final(&r, want);
        }
        if (r.si && standin_pending(r.si) != (int)json_integer_value(leftover))
            failf(&r, "%d scripted LLM responses were never asked for (expected %lld)",
                  standin_pending(r.si), (long long)json_integer_value(leftover));
    }
    teardown(&r);
    int errors = r.errors;
    json_decref(r.doc);
    if (errors)
        fail_msg("%s: %d expectation(s) failed", r.file, errors);
}

static void no_scenarios(void **state)
{
    fail_msg("no scenario in %s", (const char *)*state);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
    const char *src = getenv("CCAI_TEST_SRCDIR");
    const char *only = getenv("CCAI_SCENARIO");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/scenarios", src ? src : ".");
    char **files = NULL;
    size_t n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".yaml") != 0)
            continue;
        if (only && *only && strcmp(e->d_name, only) != 0)
            continue;
        char **grown = realloc(files, (n + 1) * sizeof *files);
        if (!grown)
            return 1;
        files = grown;
        files[n] = malloc(strlen(dir) + len + 2);
        sprintf(files[n], "%s/%s", dir, e->d_name);
        n++;
    }
    if (d)
        closedir(d);
    qsort(files, n, sizeof *files, by_name);
    struct CMUnitTest *tests = calloc(n ? n : 1, sizeof *tests);
    if (!tests)
        return 1;
    for (size_t i = 0; i < n; i++) {
        tests[i].name = strrchr(files[i], '/') + 1;
        tests[i].test_func = run_scenario;
        tests[i].initial_state = files[i];
    }
    if (n == 0) {
        tests[0].name = "scenarios_present";
        tests[0].test_func = no_scenarios;
        tests[0].initial_state = dir;
    }
    int rc = _cmocka_run_group_tests("scenarios", tests, n ? n : 1, NULL, NULL);
    for (size_t i = 0; i < n; i++)
        free(files[i]);
    free(files);
    free(tests);
    return rc;
}
