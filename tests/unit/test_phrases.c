/* engine/phrases.c: the fixed phrases in a language with none compiled in
 * (zh-CN), against the LLM stand-in answering as OpenAI does in JSON mode
 * (a chat.completion whose message content is the JSON object asked for):
 * English while the translation is asked, the translation for later
 * phrases and calls, kept in the store across a restart, asked again when
 * the English set changes; an answer that drops a placeholder rejected
 * (logged, English said, nothing stored); no LLM: English, logged once per
 * language. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <ccai/adapters/poll.h>

#include "engine/engine.h"
#include "engine/phrases.h"
#include "engine/prompts.h"
#include "store/store.h"
#include "support/api_http.h"
#include "support/llm_standin.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SAYS_MAX 16

typedef struct host {
    int says;
    char said[SAYS_MAX][512];
} host;

static int op_say(ccai_call *c, const ccai_speech *sp, void *ud)
{
    (void)c;
    host *h = ud;
    if (h->says < SAYS_MAX)
        snprintf(h->said[h->says], sizeof h->said[0], "%s", sp->text);
    h->says++;
    return 0;
}

static int op_listen(ccai_call *c, const char *lang, void *ud)
{
    (void)c;
    (void)lang;
    (void)ud;
    return 0;
}

static int op_hangup(ccai_call *c, void *ud)
{
    (void)c;
    (void)ud;
    return 0;
}

static const ccai_call_ops ops = {
    .version = CCAI_CALL_OPS_VERSION, .say = op_say, .listen = op_listen, .hangup = op_hangup};

typedef struct logs {
    char lines[64][512];
    int n;
} logs;

static void on_log(ccai_log_level level, const char *msg, void *ud)
{
    (void)level;
    logs *l = ud;
    if (l->n < 64)
        snprintf(l->lines[l->n++], sizeof l->lines[0], "%s", msg);
}

/* Log lines holding every one of a, b (b may be NULL). */
static int logged(const logs *l, const char *a, const char *b)
{
    int n = 0;
    for (int i = 0; i < l->n; i++)
        n += strstr(l->lines[i], a) && (!b || strstr(l->lines[i], b));
    return n;
}

typedef struct env {
    ccai_config *cfg;
    ccai_poll *poll;
    ccai_ctx *ctx;
    logs log;
} env;

/* A context on the database at db, with the stand-in as its fast model
 * (si NULL: no LLM), and extra configuration pairs. */
static void env_init(env *e, standin *si, const char *db, const char *const *kv)
{
    memset(e, 0, sizeof *e);
    assert_int_equal(ccai_config_new(&e->cfg), CCAI_OK);
    assert_int_equal(ccai_config_set_logger(e->cfg, on_log, &e->log, CCAI_LOG_INFO), CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "database.sqlite.path", db), CCAI_OK);
    if (si) {
        char ep[64];
        snprintf(ep, sizeof ep, "http://127.0.0.1:%d/v1", standin_port(si));
        assert_int_equal(ccai_config_set(e->cfg, "llm.fast.mode", "openai_compatible"), CCAI_OK);
        assert_int_equal(ccai_config_set(e->cfg, "llm.fast.endpoint", ep), CCAI_OK);
        assert_int_equal(ccai_config_set(e->cfg, "llm.fast.retries", "1"), CCAI_OK);
    }
    for (size_t i = 0; kv && kv[i]; i += 2)
        assert_int_equal(ccai_config_set(e->cfg, kv[i], kv[i + 1]), CCAI_OK);
    assert_int_equal(ccai_poll_new(e->cfg, &e->poll, &e->ctx, NULL), CCAI_OK);
}

static void env_free(env *e)
{
    ccai_poll_free(e->poll);
    ccai_config_free(e->cfg);
}

/* A call in lang, connected (greeted); freed before returning, its words
 * in h, its id in id (NULL: not wanted). */
static void call_id(env *e, const char *lang, host *h, char id[64])
{
    memset(h, 0, sizeof *h);
    char initiate[96];
    snprintf(initiate, sizeof initiate, "{\"lang\":{\"default_short_code\":\"%s\"}}", lang);
    ccai_call_params p = {
        .version = CCAI_CALL_PARAMS_VERSION,
        .direction = CCAI_INBOUND,
        .phone_number = "+14155550100",
        .channel = "local",
        .initiate_json = initiate,
    };
    ccai_call *c = NULL;
    assert_int_equal(ccai_call_start(e->ctx, &p, &ops, h, &c), CCAI_OK);
    ccai_event *ev = NULL;
    assert_int_equal(ccai_event_new(CCAI_EVENT_CONNECTED, &ev), CCAI_OK);
    assert_int_equal(ccai_on_event(c, ev), CCAI_OK);
    ccai_event_free(ev);
    assert_true(h->says >= 1);
    if (id)
        snprintf(id, 64, "%s", ccai_call_id(c));
    ccai_call_free(c);
}

static void call(env *e, const char *lang, host *h)
{
    call_id(e, lang, h, NULL);
}

/* Run the loop until lang's phrases leave PENDING (10 s at most). */
static Ccai_phrases_state settle(env *e, const char *lang)
{
    Ccai_engine *eng = Ccai_ctx_engine(e->ctx);
    uint64_t deadline = ccai_time_ms() + 10000;
    while (Ccai_engine_phrases_state(eng, lang) == CCAI_PHRASES_PENDING &&
           ccai_time_ms() < deadline)
        assert_int_equal(ccai_poll_run_once(e->poll, 20), 0);
    return Ccai_engine_phrases_state(eng, lang);
}

/* Is text the greeting in English (a variant, rendered)? */
static int english_hello(env *e, const char *text)
{
    const Ccai_prompts *p = Ccai_engine_prompts(Ccai_ctx_engine(e->ctx));
    for (uint32_t k = 0; k < Ccai_prompts_tts_count(p, CCAI_TTS_HELLO); k++) {
        const char *v = Ccai_prompts_tts_pick(p, CCAI_TTS_HELLO, k);
        if (!strncmp(text, v, strcspn(v, "{")))
            return 1;
    }
    return 0;
}

/* The greetings in Chinese; the other phrases marked as translated. */
static const char *const zh_hello[] = {
    "您好，我是{bot_company}的虚拟助理{bot_name}。今天有什么可以帮您？",
    "您好，这里是{bot_company}的{bot_name}。我能为您做些什么？",
    "您好，我是{bot_name}，{bot_company}的助理。请问有什么可以帮您？",
    "您好，感谢致电{bot_company}。我是{bot_name}，请告诉我您来电的原因。",
    "欢迎致电{bot_company}。我叫{bot_name}。有什么可以帮您？",
};

/* The answer to the English set of p (what the request carried): every
 * phrase; hello in Chinese when it has 5 variants; dropped: the hello
 * variant whose {bot_name} is left out (-1: none). */
static char *answer_for(const char *source, int dropped)
{
    json_t *src = json_loads(source, 0, NULL);
    assert_non_null(src);
    json_t *out = json_object();
    const char *key;
    json_t *vs;
    json_object_foreach(src, key, vs)
    {
        json_t *a = json_array();
        size_t i;
        json_t *v;
        json_array_foreach(vs, i, v)
        {
            char buf[1024];
            if (!strcmp(key, "hello") && json_array_size(vs) == 5)
                snprintf(buf, sizeof buf, "%s", zh_hello[i]);
            else
                snprintf(buf, sizeof buf, "（中文）%s", json_string_value(v));
            if ((int)i == dropped && !strcmp(key, "hello")) {
                char *at = strstr(buf, "{bot_name}");
                assert_non_null(at);
                memmove(at, at + 10, strlen(at + 10) + 1);
            }
            json_array_append_new(a, json_string(buf));
        }
        json_object_set_new(out, key, a);
    }
    char *s = json_dumps(out, JSON_COMPACT);
    json_decref(out);
    json_decref(src);
    return s;
}

static void push_answer(standin *si, env *e, int dropped)
{
    char *src = Ccai_phrases_source_json(Ccai_engine_prompts(Ccai_ctx_engine(e->ctx)),
                                         Ccai_engine_phrase_texts(Ccai_ctx_engine(e->ctx)));
    assert_non_null(src);
    char *ans = answer_for(src, dropped);
    ccai_free(src);
    standin_spec s = STANDIN_SPEC_INIT;
    s.kind = STANDIN_TEXT;
    s.content = ans;
    standin_push(si, &s);
    free(ans);
}

/* The request: JSON mode, the tag in the instructions, the English set as
 * the user's message. */
static void check_request(standin *si, int i, env *e)
{
    char *body = standin_request_body(si, i);
    assert_non_null(body);
    json_t *r = json_loads(body, 0, NULL);
    free(body);
    assert_non_null(r);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(r, "response_format"), "type")),
        "json_object");
    json_t *msgs = json_object_get(r, "messages");
    const char *sys = json_string_value(json_object_get(json_array_get(msgs, 0), "content"));
    const char *user = json_string_value(json_object_get(json_array_get(msgs, 1), "content"));
    assert_non_null(sys);
    assert_non_null(strstr(sys, "\"zh-CN\""));
    char *src = Ccai_phrases_source_json(Ccai_engine_prompts(Ccai_ctx_engine(e->ctx)),
                                         Ccai_engine_phrase_texts(Ccai_ctx_engine(e->ctx)));
    assert_string_equal(user, src);
    ccai_free(src);
    json_decref(r);
}

static void temp_db(char dir[64], char path[96])
{
    snprintf(dir, 64, "/tmp/ccai-phrases-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, 96, "%s/calls.db", dir);
}

static void temp_db_remove(const char *dir, const char *path)
{
    char p[128];
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    unlink(p);
    rmdir(dir);
}

/* English at once, the translation for the next call, from the store after
 * a restart (no request), asked again for an edited English set. */
static void test_translated_stored_and_redone(void **state)
{
    (void)state;
    char dir[64], db[96];
    temp_db(dir, db);
    standin *si = standin_start(NULL);
    assert_non_null(si);
    env e;
    env_init(&e, si, db, NULL);
    push_answer(si, &e, -1);
    host h;
    call(&e, "zh-CN", &h);
    /* The translation is not waited for: the greeting is English. */
    assert_true(english_hello(&e, h.said[0]));
    assert_int_equal(settle(&e, "zh-CN"), CCAI_PHRASES_READY);
    assert_int_equal(standin_request_count(si), 1);
    check_request(si, 0, &e);
    assert_int_equal(logged(&e.log, "phrases in zh-CN: translated by fast", NULL), 1);
    call(&e, "zh-CN", &h);
    assert_non_null(strstr(h.said[0], "Contoso"));
    assert_non_null(strstr(h.said[0], "Amélie"));
    assert_true(strstr(h.said[0], "您好") || strstr(h.said[0], "欢迎"));
    /* The tag's case does not matter; another region of zh is another
     * language (zh-TW writes traditional characters). */
    call(&e, "ZH-cn", &h);
    assert_false(english_hello(&e, h.said[0]));
    assert_int_equal(Ccai_engine_phrases_state(Ccai_ctx_engine(e.ctx), "zh-TW"),
                     CCAI_PHRASES_UNASKED);
    env_free(&e);

    /* A restart: from the store, no request. */
    env_init(&e, si, db, NULL);
    call(&e, "zh-CN", &h);
    assert_true(strstr(h.said[0], "您好") || strstr(h.said[0], "欢迎"));
    assert_int_equal(standin_request_count(si), 1);
    env_free(&e);

    /* An edited greeting: the stored translation is of another set. */
    const char *const kv[] = {"prompts.tts.hello_tpl", "Hi, {bot_name} of {bot_company} here.",
                              NULL};
    env_init(&e, si, db, kv);
    push_answer(si, &e, -1);
    call(&e, "zh-CN", &h);
    assert_string_equal(h.said[0], "Hi, Amélie of Contoso here.");
    assert_int_equal(settle(&e, "zh-CN"), CCAI_PHRASES_READY);
    assert_int_equal(standin_request_count(si), 2);
    call(&e, "zh-CN", &h);
    assert_string_equal(h.said[0], "（中文）Hi, Amélie of Contoso here.");
    env_free(&e);
    standin_stop(si);
    temp_db_remove(dir, db);
}

/* A translation that lost a placeholder: rejected, logged, English said,
 * nothing stored. */
static void test_dropped_placeholder_rejected(void **state)
{
    (void)state;
    standin *si = standin_start(NULL);
    assert_non_null(si);
    env e;
    env_init(&e, si, ":memory:", NULL);
    push_answer(si, &e, 2);
    host h;
    call(&e, "zh-CN", &h);
    assert_int_equal(settle(&e, "zh-CN"), CCAI_PHRASES_UNAVAILABLE);
    assert_int_equal(logged(&e.log, "phrases in zh-CN: the translation by fast was rejected",
                            "hello[2]: {bot_name} dropped"),
                     1);
    call(&e, "zh-CN", &h);
    assert_true(english_hello(&e, h.said[0]));
    Ccai_engine *eng = Ccai_ctx_engine(e.ctx);
    assert_string_equal(Ccai_engine_phrase(eng, CCAI_TTS_GOODBYE, "zh-CN", 0),
                        Ccai_prompts_tts_pick(eng->prompts, CCAI_TTS_GOODBYE, 0));
    assert_int_equal(standin_request_count(si), 1); /* not asked again at once */
    env_free(&e);
    standin_stop(si);
}

/* What the checker refuses, each with why. */
static void test_parse_rejects(void **state)
{
    (void)state;
    Ccai_prompts *p = Ccai_prompts_new(NULL, NULL);
    assert_non_null(p);
    char *src = Ccai_phrases_source_json(p, NULL);
    assert_non_null(src);
    Ccai_phrase_set *set = NULL;
    char *why = NULL;
    /* The English set itself passes. */
    assert_int_equal(Ccai_phrases_parse(p, NULL, src, strlen(src), &set, &why), CCAI_OK);
    assert_int_equal(set->n[CCAI_TTS_HELLO], Ccai_prompts_tts_count(p, CCAI_TTS_HELLO));
    Ccai_phrase_set_free(set);
    static const struct {
        const char *find, *replace, *why;
    } bad[] = {
        {"{bot_company}", "{bot_company} {bot_company}", "{bot_company} added"},
        {"{bot_company}", "{company}", "unknown placeholder {company}"},
        {"{bot_company}", "{bot_company", "single '{'"},
        {"\"goodbye\":[", "\"goodbye\":[\"Bye.\",", "goodbye: "},
        {"\"error\":", "\"chitchat\":[\"x\"],\"error\":", "a phrase \"chitchat\" was added"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *at = strstr(src, bad[i].find);
        assert_non_null(at);
        char text[16384];
        snprintf(text, sizeof text, "%.*s%s%s", (int)(at - src), src, bad[i].replace,
                 at + strlen(bad[i].find));
        why = NULL;
        assert_int_equal(Ccai_phrases_parse(p, NULL, text, strlen(text), &set, &why),
                         CCAI_ERR_VALIDATION);
        assert_non_null(why);
        if (!strstr(why, bad[i].why))
            print_message("# case %zu: %s\n", i, why);
        assert_non_null(strstr(why, bad[i].why));
        ccai_free(why);
    }
    /* A phrase left out; not JSON; not an object. */
    json_t *o = json_loads(src, 0, NULL);
    json_object_del(o, "timeout_silence");
    char *less = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    assert_int_equal(Ccai_phrases_parse(p, NULL, less, strlen(less), &set, &why),
                     CCAI_ERR_VALIDATION);
    assert_string_equal(why, "timeout_silence: dropped");
    ccai_free(why);
    free(less);
    assert_int_equal(Ccai_phrases_parse(p, NULL, "{\"hello\":", 9, &set, &why), CCAI_ERR_PARSE);
    ccai_free(why);
    assert_int_equal(Ccai_phrases_parse(p, NULL, "[]", 2, &set, &why), CCAI_ERR_VALIDATION);
    ccai_free(why);
    ccai_free(src);

    /* With the written texts: the report's labels and the offline
     * report's sentences ("%s" given as {1}, {2}), one variant each. */
    Ccai_ofl_lexicon *lx = NULL;
    Ccai_phrase_texts *t = NULL;
    assert_int_equal(Ccai_offline_lexicon_new(&lx), CCAI_OK);
    assert_int_equal(Ccai_phrase_texts_new(lx, &t), CCAI_OK);
    src = Ccai_phrases_source_json(p, t);
    assert_non_null(strstr(src, "\"report.call_title\":[\"Call {phone}\"]"));
    assert_non_null(strstr(src, "\"offline.sms.sign\":[\"{1} from {2}.\"]"));
    assert_int_equal(Ccai_phrases_parse(p, t, src, strlen(src), &set, &why), CCAI_OK);
    assert_int_equal(set->n_text, t->n);
    Ccai_phrase_set_free(set);
    static const struct {
        const char *find, *replace, *why;
    } bad_text[] = {
        {"[\"Call {phone}\"]", "[\"Call\"]", "report.call_title: {phone} dropped"},
        {"[\"{1} from {2}.\"]", "[\"{2}.\"]", "offline.sms.sign: {1} dropped"},
        {"[\"{1} from {2}.\"]", "[\"{1} {2} {x}.\"]", "offline.sms.sign: a brace added"},
        {"[\"Call {phone}\"]", "[\"Call {phone}\",\"Phone {phone}\"]",
         "report.call_title: not an array of one string"},
        {"\"report.task\":[\"Task\"],", "", "report.task: dropped"},
    };
    for (size_t i = 0; i < sizeof bad_text / sizeof bad_text[0]; i++) {
        const char *at = strstr(src, bad_text[i].find);
        assert_non_null(at);
        char *text = NULL;
        assert_true(asprintf(&text, "%.*s%s%s", (int)(at - src), src, bad_text[i].replace,
                             at + strlen(bad_text[i].find)) > 0);
        why = NULL;
        assert_int_equal(Ccai_phrases_parse(p, t, text, strlen(text), &set, &why),
                         CCAI_ERR_VALIDATION);
        assert_non_null(why);
        if (!strstr(why, bad_text[i].why))
            print_message("# text case %zu: %s\n", i, why);
        assert_non_null(strstr(why, bad_text[i].why));
        ccai_free(why);
        free(text);
    }
    ccai_free(src);
    Ccai_phrase_texts_free(t);
    Ccai_offline_lexicon_free(lx);
    Ccai_prompts_free(p);
}

/* GET /report/<id> of a call.  */
static const api_answer *report_page(env *e, const char *id)
{
    static api_answer a;
    char path[128];
    snprintf(path, sizeof path, "/report/%s", id);
    a = api_request(e->ctx, "GET", path, "token=t", NULL, "127.0.0.1", NULL);
    assert_int_equal(a.status, 200);
    return &a;
}

/* The report page of a zh-CN call: English while the translation is
 * asked (<html lang="en">; the call's words in zh-CN), then the LLM's
 * labels, their date order and names; from the store after a restart;
 * without an LLM and nothing stored, English, said in the log. */
static void test_report_page_translated(void **state)
{
    (void)state;
    char dir[64], db[96];
    temp_db(dir, db);
    standin *si = standin_start(NULL);
    assert_non_null(si);
    env e;
    const char *const kv[] = {"server.api_token", "t", NULL};
    env_init(&e, si, db, kv);
    push_answer(si, &e, -1);
    host h;
    char id[64];
    call_id(&e, "zh-CN", &h, id);
    const api_answer *a = report_page(&e, id);
    assert_non_null(strstr(a->body, "<html lang=\"en\">"));
    assert_non_null(strstr(a->body, "<h2>Conversation</h2>"));
    assert_non_null(strstr(a->body, "<p lang=\"zh-CN\">"));
    assert_int_equal(settle(&e, "zh-CN"), CCAI_PHRASES_READY);
    a = report_page(&e, id);
    assert_non_null(strstr(a->body, "<html lang=\"zh-CN\">"));
    assert_non_null(strstr(a->body, "<h2>（中文）Conversation</h2>"));
    assert_non_null(strstr(a->body, "<h2>（中文）Next action</h2>"));
    assert_non_null(strstr(a->body, "（中文）Generated by libccai "));
    /* The date: the translated order ("（中文）{weekday} ...") and names. */
    assert_non_null(strstr(a->body, "\">（中文）（中文）"));
    assert_null(strstr(a->body, "<h2>Conversation</h2>"));
    env_free(&e);

    /* A restart without an LLM: the stored translation. */
    env_init(&e, NULL, db, kv);
    a = report_page(&e, id);
    assert_non_null(strstr(a->body, "<html lang=\"zh-CN\">"));
    assert_non_null(strstr(a->body, "<h2>（中文）Conversation</h2>"));
    env_free(&e);
    temp_db_remove(dir, db);

    /* No translation to be had (the LLM's lost a placeholder), nothing
     * stored: English, and the log says why. */
    temp_db(dir, db);
    env_init(&e, si, db, kv);
    push_answer(si, &e, 2);
    call_id(&e, "zh-CN", &h, id);
    assert_int_equal(settle(&e, "zh-CN"), CCAI_PHRASES_UNAVAILABLE);
    a = report_page(&e, id);
    assert_non_null(strstr(a->body, "<html lang=\"en\">"));
    assert_non_null(strstr(a->body, "<h2>Conversation</h2>"));
    assert_non_null(strstr(a->body, "<p lang=\"zh-CN\">"));
    assert_int_equal(logged(&e.log, "phrases in zh-CN: the translation by fast was rejected",
                            "they are said in English"),
                     1);
    env_free(&e);
    standin_stop(si);
    temp_db_remove(dir, db);
}

/* A call in lang that ends: connected, the caller's words, hung up,
 * freed; its id in id. Its
 * post-call job is left for whichever context runs its loop next. */
static void ended_call(env *e, const char *lang, char id[64])
{
    host h;
    memset(&h, 0, sizeof h);
    char initiate[96];
    snprintf(initiate, sizeof initiate, "{\"lang\":{\"default_short_code\":\"%s\"}}", lang);
    ccai_call_params p = {
        .version = CCAI_CALL_PARAMS_VERSION,
        .direction = CCAI_INBOUND,
        .phone_number = "+14155550100",
        .channel = "local",
        .initiate_json = initiate,
    };
    ccai_call *c = NULL;
    assert_int_equal(ccai_call_start(e->ctx, &p, &ops, &h, &c), CCAI_OK);
    snprintf(id, 64, "%s", ccai_call_id(c));
    assert_int_equal(ccai_call_notify(c, CCAI_EVENT_CONNECTED, NULL), CCAI_OK);
    assert_int_equal(ccai_call_notify(c, CCAI_EVENT_SPEECH, "喂？"), CCAI_OK);
    assert_int_equal(ccai_call_notify(c, CCAI_EVENT_HANGUP, NULL), CCAI_OK);
    ccai_call_free(c);
}

/* The call's document once its post-call job is done (10 s at most). */
static json_t *done_call(env *e, const char *id)
{
    uint64_t deadline = ccai_time_ms() + 10000;
    json_t *doc = NULL;
    for (;;) {
        char *json = NULL;
        assert_int_equal(ccai_ctx_call_get_json(e->ctx, id, &json), CCAI_OK);
        doc = json_loads(json, 0, NULL);
        ccai_free(json);
        assert_non_null(doc);
        if (json_object_get(doc, "synthesis") && json_is_object(json_object_get(doc, "synthesis")))
            return doc;
        json_decref(doc);
        assert_true(ccai_time_ms() < deadline);
        assert_int_equal(ccai_poll_run_once(e->poll, 20), 0);
    }
}

/* The SMS queued for a call (its "sms" job's payload), NULL when none. */
static char *queued_sms(env *e, const char *id)
{
    Ccai_store_job **jobs = NULL;
    size_t n = 0;
    assert_int_equal(Ccai_store_jobs_of_call(Ccai_ctx_store(e->ctx), id, "sms", 10, &jobs, &n),
                     CCAI_OK);
    char *text = NULL;
    for (size_t i = 0; !text && i < n; i++) {
        json_t *pl = json_loads(jobs[i]->payload, 0, NULL);
        const char *t = json_string_value(json_object_get(pl, "text"));
        text = t ? strdup(t) : NULL;
        json_decref(pl);
    }
    Ccai_store_job_list_free(jobs, n);
    return text;
}

/* The post-call SMS and report written without an LLM (the model down
 * when the job runs: here a restart without one) for a zh-CN call: in
 * the stored translation of the offline texts; with none stored, English,
 * and the log says so. */
static void test_offline_sms_translated(void **state)
{
    (void)state;
    char dir[64], db[96];
    temp_db(dir, db);
    standin *si = standin_start(NULL);
    assert_non_null(si);
    env e;
    env_init(&e, si, db, NULL);
    push_answer(si, &e, -1);
    host h;
    call(&e, "zh-CN", &h);
    assert_int_equal(settle(&e, "zh-CN"), CCAI_PHRASES_READY);
    char id[64];
    ended_call(&e, "zh-CN", id);
    env_free(&e); /* before its loop ran the post-call job */
    env_init(&e, NULL, db, NULL);
    json_t *doc = done_call(&e, id);
    const char *lng = json_string_value(json_object_get(json_object_get(doc, "synthesis"), "long"));
    assert_non_null(lng);
    assert_non_null(strstr(lng, "（中文）We did not note any detail of your claim"));
    json_decref(doc);
    char *sms = queued_sms(&e, id);
    assert_non_null(sms);
    print_message("# %s\n", sms);
    assert_string_equal(sms, "（中文）Hello, thank you for your call. （中文）We did not note any "
                             "detail of your claim during the call. （中文）A colleague will "
                             "review it and follow up with you. （中文）Amélie from Contoso.");
    free(sms);
    assert_int_equal(logged(&e.log, "written without an LLM are in English", NULL), 0);
    env_free(&e);
    temp_db_remove(dir, db);

    /* No translation stored (the LLM's was rejected): English, said in
     * the log. */
    temp_db(dir, db);
    env_init(&e, si, db, NULL);
    push_answer(si, &e, 2);
    call(&e, "zh-CN", &h);
    assert_int_equal(settle(&e, "zh-CN"), CCAI_PHRASES_UNAVAILABLE);
    ended_call(&e, "zh-CN", id);
    env_free(&e);
    env_init(&e, NULL, db, NULL);
    json_decref(done_call(&e, id));
    sms = queued_sms(&e, id);
    assert_non_null(sms);
    assert_string_equal(sms, "Hello, thank you for your call. We did not note any detail of your "
                             "claim during the call. A colleague will review it and follow up "
                             "with you. Amélie from Contoso.");
    free(sms);
    assert_int_equal(
        logged(&e.log, "the report and the SMS written without an LLM are in English", "zh-CN"), 1);
    env_free(&e);
    standin_stop(si);
    temp_db_remove(dir, db);
}

/* No LLM (the offline dialogue holds the calls, with its own texts; the
 * fixed phrases are still asked for, e.g. a transfer's): English, said
 * once per language in the log; French is compiled in (no log); English
 * needs nothing. */
static void test_no_llm_english_logged_once(void **state)
{
    (void)state;
    env e;
    env_init(&e, NULL, ":memory:", NULL);
    Ccai_engine *eng = Ccai_ctx_engine(e.ctx);
    const char *en = Ccai_prompts_tts_pick(eng->prompts, CCAI_TTS_GOODBYE, 1);
    for (int i = 0; i < 3; i++) {
        assert_string_equal(Ccai_engine_phrase(eng, CCAI_TTS_GOODBYE, "zh-CN", 1), en);
        assert_string_equal(Ccai_engine_phrase(eng, CCAI_TTS_GOODBYE, "ja-JP", 1), en);
    }
    assert_string_not_equal(Ccai_engine_phrase(eng, CCAI_TTS_GOODBYE, "fr-CA", 1), en);
    assert_string_equal(Ccai_engine_phrase(eng, CCAI_TTS_GOODBYE, "en-GB", 1), en);
    assert_int_equal(logged(&e.log, "phrases in zh-CN: no LLM is configured", "English"), 1);
    assert_int_equal(logged(&e.log, "phrases in ja-JP: no LLM is configured", "English"), 1);
    assert_int_equal(logged(&e.log, "phrases in fr", NULL), 0);
    assert_int_equal(logged(&e.log, "phrases in en", NULL), 0);
    assert_int_equal(Ccai_engine_phrases_state(eng, "zh-CN"), CCAI_PHRASES_UNAVAILABLE);
    assert_int_equal(Ccai_engine_phrases_state(eng, "fr-CA"), CCAI_PHRASES_ENGLISH);
    /* A tag that is no language tag is not asked for, nor kept. */
    assert_string_equal(Ccai_engine_phrase(eng, CCAI_TTS_GOODBYE, "zh CN'; --", 1), en);
    assert_int_equal(logged(&e.log, "zh CN", NULL), 0);
    env_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_translated_stored_and_redone),
        cmocka_unit_test(test_dropped_placeholder_rejected),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_no_llm_english_logged_once),
        cmocka_unit_test(test_report_page_translated),
        cmocka_unit_test(test_offline_sms_translated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
