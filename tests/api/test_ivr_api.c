/* IVR menus (ivr.menus) through the shared library and <ccai/ccai.h> only,
 * as a host's own channel drives them: the prompt said (no menu op) or
 * offered (ops.menu), the caller's key (CCAI_EVENT_DTMF), words
 * (CCAI_EVENT_SPEECH) or choice (CCAI_EVENT_CHOICE); every action (task
 * and claim schema, sub-menu, language, transfer, the conversation), silence
 * and wrong answers offered again then the fallback, the choice on the
 * call's document; configuration errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <ccai/adapters/poll.h>
#include <ccai/ccai.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct line {
    int says, listens, hangups, menus, transfers;
    char last_say[1024];
    char last_lang[16];
    char transfer_to[32];
    char menu_name[32];
    char menu_text[1024];
    char menu_values[9][8];
    char menu_words[9][64];
    size_t n_choices;
} line;

static int on_say(ccai_call *c, const ccai_speech *sp, void *ud)
{
    (void)c;
    line *l = ud;
    l->says++;
    snprintf(l->last_say, sizeof l->last_say, "%s", sp->text);
    snprintf(l->last_lang, sizeof l->last_lang, "%s", sp->lang ? sp->lang : "");
    return 0;
}

static int on_listen(ccai_call *c, const char *lang, void *ud)
{
    (void)c;
    (void)lang;
    ((line *)ud)->listens++;
    return 0;
}

static int on_stop(ccai_call *c, void *ud)
{
    (void)c;
    (void)ud;
    return 0;
}

static int on_hangup(ccai_call *c, void *ud)
{
    (void)c;
    ((line *)ud)->hangups++;
    return 0;
}

static int on_transfer(ccai_call *c, const char *number, void *ud)
{
    (void)c;
    line *l = ud;
    l->transfers++;
    snprintf(l->transfer_to, sizeof l->transfer_to, "%s", number);
    return 0;
}

static int on_menu(ccai_call *c, const ccai_menu *m, void *ud)
{
    (void)c;
    line *l = ud;
    l->menus++;
    snprintf(l->menu_name, sizeof l->menu_name, "%s", m->name);
    snprintf(l->menu_text, sizeof l->menu_text, "%s", m->text);
    l->n_choices = m->n_choices;
    for (size_t i = 0; i < m->n_choices && i < 9; i++) {
        snprintf(l->menu_values[i], sizeof l->menu_values[i], "%s", m->choices[i]->value);
        assert_string_equal(m->choices[i]->dtmf, m->choices[i]->value);
        assert_non_null(m->choices[i]->phrases[0]);
        snprintf(l->menu_words[i], sizeof l->menu_words[i], "%s", m->choices[i]->phrases[0]);
    }
    return 0;
}

/* A channel that says and listens (Twilio's Gather, a chat, an audio call
 * without a menu of its own). */
static const ccai_call_ops say_ops = {
    .version = CCAI_CALL_OPS_VERSION,
    .say = on_say,
    .stop_speaking = on_stop,
    .listen = on_listen,
    .hangup = on_hangup,
    .transfer = on_transfer,
};

/* A channel that offers menus its way (ACS's recognition with choices). */
static const ccai_call_ops menu_ops = {
    .version = CCAI_CALL_OPS_VERSION,
    .say = on_say,
    .stop_speaking = on_stop,
    .listen = on_listen,
    .hangup = on_hangup,
    .transfer = on_transfer,
    .menu = on_menu,
};

#define LANGS                                                                             \
    "{\"default_short_code\": \"en-US\", \"availables\": ["                               \
    "{\"short_code\": \"en-US\", \"voice\": \"en-US-AvaNeural\", \"pronunciations_en\": " \
    "[\"English\"]}, {\"short_code\": \"fr-FR\", \"voice\": \"fr-FR-DeniseNeural\", "     \
    "\"pronunciations_en\": [\"French\"]}]}"

/* The menus of the README's example, in JSON. */
static const char menus[] =
    "{\"main\": {\"prompt\": {\"en\": \"For a claim, press 1. For billing, press 2. Pour le "
    "fran\\u00e7ais, tapez 3. To speak to someone, press 0.\", \"fr\": \"Pour un sinistre, "
    "tapez 1. Pour la facturation, tapez 2.\"},"
    " \"choices\": ["
    "  {\"key\": \"1\", \"label\": \"Claims\", \"say\": {\"en\": [\"claim\", \"accident\"], "
    "\"fr\": [\"sinistre\", \"d\\u00e9claration\"]}, \"action\": \"task\", \"task\": \"Help "
    "the customer declare a claim.\", \"claim\": [{\"name\": \"policy_number\", \"type\": "
    "\"text\", \"description\": \"The policy number\"}]},"
    "  {\"key\": \"2\", \"say\": {\"en\": [\"billing\", \"invoice\"], \"fr\": "
    "[\"facturation\", \"facture\"]}, \"action\": \"menu\", \"menu\": \"billing\"},"
    "  {\"key\": \"3\", \"say\": [\"fran\\u00e7ais\", \"french\"], \"action\": \"language\", "
    "\"lang\": \"fr-FR\", \"menu\": \"main\"},"
    "  {\"key\": \"0\", \"say\": [\"agent\", \"someone\", \"a human\"], \"action\": "
    "\"transfer\", \"number\": \"+33611111111\"}]},"
    " \"billing\": {\"prompt\": \"For your balance, press 1. For the main menu, press 9.\","
    " \"choices\": ["
    "  {\"key\": \"1\", \"say\": [\"balance\"], \"action\": \"llm\"},"
    "  {\"key\": \"9\", \"say\": [\"main menu\", \"back\"], \"action\": \"menu\", "
    "\"menu\": \"main\"}],"
    " \"fallback\": {\"action\": \"hangup\"}}}";

typedef struct env {
    char dir[64];
    char path[128];
    ccai_config *cfg;
    ccai_poll *poll;
    ccai_ctx *ctx;
} env;

static void env_open(env *e, const char *fallback)
{
    snprintf(e->dir, sizeof e->dir, "/tmp/ccai-ivr-XXXXXX");
    assert_non_null(mkdtemp(e->dir));
    snprintf(e->path, sizeof e->path, "%s/db.sqlite", e->dir);
    assert_int_equal(ccai_config_new(&e->cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "database.sqlite.path", e->path), CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "conversation.initiate.lang", LANGS), CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "ivr.menus", menus), CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "ivr.start", "main"), CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "ivr.retries", "1"), CCAI_OK);
    if (fallback)
        assert_int_equal(ccai_config_set(e->cfg, "ivr.fallback", fallback), CCAI_OK);
    assert_int_equal(ccai_poll_new(e->cfg, &e->poll, &e->ctx, NULL), CCAI_OK);
}

static void env_close(env *e)
{
    ccai_poll_free(e->poll);
    ccai_config_free(e->cfg);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", e->dir);
    assert_int_equal(system(cmd), 0);
}

static ccai_call *start(env *e, const ccai_call_ops *ops, line *l, ccai_direction dir)
{
    ccai_call_params p = {
        .version = CCAI_CALL_PARAMS_VERSION,
        .direction = dir,
        .phone_number = "+33612345678",
        .channel = "pbx",
        .flags = CCAI_CALL_REPORTS_SILENCE,
    };
    ccai_call *c = NULL;
    assert_int_equal(ccai_call_start(e->ctx, &p, ops, l, &c), CCAI_OK);
    assert_int_equal(ccai_call_notify(c, CCAI_EVENT_CONNECTED, NULL), CCAI_OK);
    return c;
}

static char *doc_of(env *e, ccai_call *c)
{
    char *json = NULL;
    assert_int_equal(ccai_ctx_call_get_json(e->ctx, ccai_call_id(c), &json), CCAI_OK);
    return json;
}

static void speech(ccai_call *c, const char *text)
{
    ccai_event *ev = NULL;
    assert_int_equal(ccai_event_new(CCAI_EVENT_SPEECH, &ev), CCAI_OK);
    assert_int_equal(ccai_event_set_text(ev, text), CCAI_OK);
    assert_int_equal(ccai_event_set_final(ev, 1), CCAI_OK);
    assert_int_equal(ccai_on_event(c, ev), CCAI_OK);
    ccai_event_free(ev);
}

/* A key: the task and the claim schema of the choice, stored with the
 * call; the choice on its document; the conversation starts. */
static void test_key_sets_task(void **state)
{
    (void)state;
    env e;
    env_open(&e, NULL);
    line l = {0};
    ccai_call *c = start(&e, &say_ops, &l, CCAI_INBOUND);
    assert_int_equal(ccai_call_get_state(c), CCAI_CALL_LANGUAGE_MENU);
    assert_int_equal(l.says, 1);
    assert_non_null(strstr(l.last_say, "For a claim, press 1."));
    assert_string_equal(l.last_lang, "en-US");
    assert_true(l.listens >= 1);
    assert_int_equal(ccai_call_notify(c, CCAI_EVENT_DTMF, "1"), CCAI_OK);
    assert_int_equal(ccai_call_get_state(c), CCAI_CALL_CONVERSATION);
    assert_non_null(strstr(ccai_call_initiate_json(c), "Help the customer declare a claim."));
    assert_non_null(strstr(ccai_call_initiate_json(c), "policy_number"));
    char *doc = doc_of(&e, c);
    assert_non_null(strstr(doc, "\"action\":\"menu\""));
    assert_non_null(strstr(doc, "main: 1 (Claims), key -> task"));
    assert_non_null(strstr(doc, "Help the customer declare a claim."));
    assert_null(strstr(doc, "\"action\":\"dtmf\"")); /* a choice, not words */
    ccai_free(doc);
    ccai_call_free(c);
    env_close(&e);
}

/* Words, whatever their case, accents and what surrounds them; a
 * sub-menu, back, the language; words of two choices pick none. */
static void test_words_submenu_language(void **state)
{
    (void)state;
    env e;
    env_open(&e, NULL);
    line l = {0};
    ccai_call *c = start(&e, &say_ops, &l, CCAI_INBOUND);
    speech(c, "Euh... la FACTURATION, s'il vous plait!");
    assert_int_equal(l.says, 2);
    assert_non_null(strstr(l.last_say, "For your balance"));
    assert_int_equal(ccai_call_get_state(c), CCAI_CALL_LANGUAGE_MENU);
    speech(c, "go back to the Main Menu");
    assert_int_equal(l.says, 3);
    assert_non_null(strstr(l.last_say, "For a claim"));
    /* "Francais" without its cedilla: the language, then the main menu
     * again, now in French. */
    speech(c, "Francais");
    assert_string_equal(ccai_call_lang(c), "fr-FR");
    assert_int_equal(l.says, 4);
    assert_non_null(strstr(l.last_say, "Pour un sinistre"));
    assert_string_equal(l.last_lang, "fr-FR");
    /* Two choices' words: no answer, the menu again. */
    speech(c, "sinistre ou facture ?");
    assert_int_equal(l.says, 5);
    assert_non_null(strstr(l.last_say, "Pour un sinistre"));
    /* A key said in words, after a cue. */
    speech(c, "je voudrais la touche deux");
    assert_non_null(strstr(l.last_say, "For your balance"));
    char *doc = doc_of(&e, c);
    assert_non_null(strstr(doc, "main: 2 (billing), said \\\"Euh... la FACTURATION"));
    assert_non_null(strstr(doc, "billing: 9 (main menu), said"));
    assert_non_null(strstr(doc, "said \\\"Francais\\\" -> language"));
    assert_non_null(strstr(doc, "main: 2 (facturation), said \\\"je voudrais la touche deux"));
    ccai_free(doc);
    ccai_call_free(c);
    env_close(&e);
}

/* Silence and a key no choice has: offered again (ivr.retries 1), then
 * the menu's fallback (billing: hang up) or ivr.fallback (main: the
 * conversation, by default). */
static void test_retry_then_fallback(void **state)
{
    (void)state;
    env e;
    env_open(&e, NULL);
    line l = {0};
    ccai_call *c = start(&e, &say_ops, &l, CCAI_INBOUND);
    assert_int_equal(ccai_call_notify(c, CCAI_EVENT_SILENCE_TIMEOUT, NULL), CCAI_OK);
    assert_int_equal(l.says, 2); /* again */
    assert_non_null(strstr(l.last_say, "For a claim"));
    assert_int_equal(ccai_call_notify(c, CCAI_EVENT_DTMF, "7"), CCAI_OK);
    assert_int_equal(ccai_call_get_state(c), CCAI_CALL_CONVERSATION); /* ivr.fallback llm */
    char *doc = doc_of(&e, c);
    assert_non_null(strstr(doc, "main: no choice (a key no choice has, 2 tries) -> llm"));
    ccai_free(doc);
    ccai_call_free(c);

    line m = {0};
    c = start(&e, &say_ops, &m, CCAI_INBOUND);
    assert_int_equal(ccai_call_notify(c, CCAI_EVENT_DTMF, "2"), CCAI_OK);
    speech(c, "hmm");
    assert_int_equal(m.hangups, 0);
    assert_int_equal(ccai_call_notify(c, CCAI_EVENT_SILENCE_TIMEOUT, NULL), CCAI_OK);
    assert_int_equal(m.hangups, 1); /* billing's own fallback */
    assert_int_equal(ccai_call_get_state(c), CCAI_CALL_ENDING);
    ccai_call_free(c);
    env_close(&e);

    /* ivr.fallback hangup for a menu without its own. */
    env_open(&e, "hangup");
    line n = {0};
    c = start(&e, &say_ops, &n, CCAI_INBOUND);
    assert_int_equal(ccai_call_notify(c, CCAI_EVENT_SILENCE_TIMEOUT, NULL), CCAI_OK);
    assert_int_equal(ccai_call_notify(c, CCAI_EVENT_SILENCE_TIMEOUT, NULL), CCAI_OK);
    assert_int_equal(n.hangups, 1);
    ccai_call_free(c);
    env_close(&e);
}

/* Transfer: to the choice's number, announced first. */
static void test_transfer(void **state)
{
    (void)state;
    env e;
    env_open(&e, NULL);
    line l = {0};
    ccai_call *c = start(&e, &say_ops, &l, CCAI_INBOUND);
    speech(c, "I want to talk to a human");
    assert_int_equal(l.transfers, 1);
    assert_string_equal(l.transfer_to, "+33611111111");
    assert_int_equal(ccai_call_get_state(c), CCAI_CALL_TRANSFERRING);
    assert_int_equal(ccai_call_notify(c, CCAI_EVENT_TRANSFER_OK, "+33611111111"), CCAI_OK);
    char *doc = doc_of(&e, c);
    assert_non_null(strstr(doc, "\"end_reason\":\"transfer\""));
    ccai_free(doc);
    ccai_call_free(c);
    env_close(&e);
}

/* A channel with a menu op gets the menu to offer its way; its choice
 * (a value, or the words it heard) and keys work as above. Outbound calls
 * get no menu. */
static void test_menu_op_and_outbound(void **state)
{
    (void)state;
    env e;
    env_open(&e, NULL);
    line l = {0};
    ccai_call *c = start(&e, &menu_ops, &l, CCAI_INBOUND);
    assert_int_equal(l.menus, 1);
    assert_int_equal(l.says, 0);
    assert_string_equal(l.menu_name, "main");
    assert_int_equal(l.n_choices, 4);
    assert_string_equal(l.menu_values[3], "0");
    assert_string_equal(l.menu_words[1], "billing");
    assert_non_null(strstr(l.menu_text, "For a claim"));
    assert_int_equal(ccai_call_notify(c, CCAI_EVENT_CHOICE, "2"), CCAI_OK);
    assert_int_equal(l.menus, 2);
    assert_string_equal(l.menu_name, "billing");
    assert_int_equal(ccai_call_notify(c, CCAI_EVENT_CHOICE, "my balance please"), CCAI_OK);
    assert_int_equal(ccai_call_get_state(c), CCAI_CALL_CONVERSATION);
    ccai_call_free(c);

    line o = {0};
    c = start(&e, &menu_ops, &o, CCAI_OUTBOUND);
    assert_int_equal(o.menus, 0);
    assert_int_equal(ccai_call_get_state(c), CCAI_CALL_CONVERSATION);
    ccai_call_free(c);
    env_close(&e);
}

/* Menus that cannot work are refused when the configuration is read,
 * with the reason. */
static void test_config_errors(void **state)
{
    (void)state;
    static const struct {
        const char *json, *why;
    } bad[] = {
        {"{\"m\": {\"prompt\": \"x\", \"choices\": [{\"key\": \"1\", \"action\": \"menu\", "
         "\"menu\": \"nope\"}]}}",
         "menu must name a menu of ivr.menus"},
        {"{\"m\": {\"prompt\": \"x\", \"choices\": [{\"key\": \"1\", \"action\": \"llm\"}, "
         "{\"key\": \"1\", \"action\": \"hangup\"}]}}",
         "key 1 is taken"},
        {"{\"m\": {\"prompt\": \"x\", \"choices\": [{\"key\": \"1\", \"action\": \"task\"}]}}",
         "action task needs task"},
        {"{\"m\": {\"prompt\": \"x\", \"choices\": [{\"key\": \"12\", \"action\": \"llm\"}]}}",
         "key must be one of"},
        {"{\"m\": {\"choices\": [{\"key\": \"1\", \"action\": \"llm\"}]}}", "prompt is missing"},
        {"{\"m\": {\"prompt\": \"x\", \"choices\": [{\"key\": \"1\", \"action\": \"fly\"}]}}",
         "action must be one of"},
        {"{\"m\": {\"prompt\": \"x\", \"choices\": [{\"key\": \"1\", \"action\": \"llm\", "
         "\"nmber\": \"+33\"}]}}",
         "unknown member \"nmber\""},
        {"{\"m\": {\"prompt\": \"x\", \"choices\": [{\"key\": \"1\", \"action\": \"transfer\", "
         "\"number\": \"0612\"}]}}",
         "E.164"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ccai_config *cfg = NULL;
        assert_int_equal(ccai_config_new(&cfg), CCAI_OK);
        assert_int_equal(ccai_config_set(cfg, "ivr.menus", bad[i].json), CCAI_ERR_CONFIG);
        const char *msg = ccai_config_errmsg(cfg);
        if (!strstr(msg, bad[i].why))
            fail_msg("case %zu: \"%s\" does not say \"%s\"", i, msg, bad[i].why);
        ccai_config_free(cfg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_sets_task),        cmocka_unit_test(test_words_submenu_language),
        cmocka_unit_test(test_retry_then_fallback),  cmocka_unit_test(test_transfer),
        cmocka_unit_test(test_menu_op_and_outbound), cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
