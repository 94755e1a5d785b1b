/* What a host's own channel needs of the engine, through the shared library
 * and <ccai/ccai.h> only: the call's facts, its provider ids and lookups by
 * them, the callback secret, the caller's language, the engine's language
 * menu, a recogniser that failed, silence the channel reports itself,
 * stored calls no handle holds (ended, recorded, taken back), inbound SMS,
 * the store's description, and tables of version 1 (a host built against
 * 0.1). */
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

/* The host's line: what the engine asked of it. */
typedef struct line {
    int says, listens, hangups, menus, stops;
    char last_say[512];
    char last_lang[16];
    char menu_values[9][16];
    char menu_dtmf[9][4];
    char menu_text[1024];
    size_t n_choices;
    ccai_call_state state;
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
    ((line *)ud)->stops++;
    return 0;
}

static int on_hangup(ccai_call *c, void *ud)
{
    (void)c;
    ((line *)ud)->hangups++;
    return 0;
}

static void on_state(ccai_call *c, ccai_call_state from, ccai_call_state to, void *ud)
{
    (void)c;
    (void)from;
    ((line *)ud)->state = to;
}

static int on_menu(ccai_call *c, const ccai_menu *m, void *ud)
{
    (void)c;
    line *l = ud;
    assert_true(m->version >= 1);
    assert_string_equal(m->name, "language");
    l->menus++;
    l->n_choices = m->n_choices;
    for (size_t i = 0; i < m->n_choices && i < 9; i++) {
        const ccai_menu_choice *ch = m->choices[i];
        assert_non_null(ch->text);
        assert_non_null(ch->phrases[0]);
        assert_string_equal(ch->lang, ch->value);
        snprintf(l->menu_values[i], sizeof l->menu_values[i], "%s", ch->value);
        snprintf(l->menu_dtmf[i], sizeof l->menu_dtmf[i], "%s", ch->dtmf);
    }
    snprintf(l->menu_text, sizeof l->menu_text, "%s", m->text);
    return 0;
}

static const ccai_call_ops ops = {
    .version = CCAI_CALL_OPS_VERSION,
    .say = on_say,
    .stop_speaking = on_stop,
    .listen = on_listen,
    .hangup = on_hangup,
    .state_changed = on_state,
    .menu = on_menu,
};

typedef struct env {
    char dir[64];
    char path[128];
    ccai_config *cfg;
    ccai_poll *poll;
    ccai_ctx *ctx;
} env;

static void env_open(env *e, const char *one_lang)
{
    snprintf(e->dir, sizeof e->dir, "/tmp/ccai-chan-XXXXXX");
    assert_non_null(mkdtemp(e->dir));
    snprintf(e->path, sizeof e->path, "%s/db.sqlite", e->dir);
    assert_int_equal(ccai_config_new(&e->cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "database.sqlite.path", e->path), CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "conversation.recognition_retry_max", "2"), CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "conversation.phone_silence_timeout_sec", "1"),
                     CCAI_OK);
    if (one_lang)
        assert_int_equal(ccai_config_set(e->cfg, "conversation.initiate.lang", one_lang), CCAI_OK);
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

#define ONE_LANG                                                                        \
    "{\"default_short_code\": \"en-US\", \"availables\": [{\"short_code\": \"en-US\", " \
    "\"voice\": \"en-US-AvaNeural\", \"pronunciations_en\": [\"English\"]}]}"

static ccai_call *start(env *e, line *l, const char *phone, uint32_t flags)
{
    ccai_call_params p = {
        .version = CCAI_CALL_PARAMS_VERSION,
        .direction = CCAI_INBOUND,
        .phone_number = phone,
        .channel = "pbx",
        .flags = flags,
    };
    ccai_call *c = NULL;
    assert_int_equal(ccai_call_start(e->ctx, &p, &ops, l, &c), CCAI_OK);
    return c;
}

static char *doc_of(env *e, const char *id)
{
    char *json = NULL;
    assert_int_equal(ccai_ctx_call_get_json(e->ctx, id, &json), CCAI_OK);
    return json;
}

/* The call's facts, its ids, the lookups by them and its secret. */
static void test_facts_ids_and_secret(void **state)
{
    (void)state;
    env e;
    env_open(&e, ONE_LANG);
    line l = {0};
    ccai_call *c = start(&e, &l, "+33 6 12 34 56 78", 0);
    char id[37];
    snprintf(id, sizeof id, "%s", ccai_call_id(c));
    assert_string_equal(ccai_call_phone_number(c), "+33612345678");
    assert_int_equal(ccai_call_direction(c), CCAI_INBOUND);
    assert_null(ccai_call_provider_id(c));
    assert_non_null(strstr(ccai_call_initiate_json(c), "\"availables\""));
    char secret[64];
    snprintf(secret, sizeof secret, "%s", ccai_call_secret(c));
    assert_int_equal(strlen(secret), 32);

    /* Provider ids: stored, found again; another channel's are not. */
    char *found = NULL;
    assert_int_equal(ccai_ctx_call_find_provider(e.ctx, "pbx", "leg-1", &found),
                     CCAI_ERR_NOT_FOUND);
    assert_int_equal(ccai_call_set_provider_ids(c, "leg-1", "corr-1"), CCAI_OK);
    assert_string_equal(ccai_call_provider_id(c), "leg-1");
    assert_int_equal(ccai_ctx_call_find_provider(e.ctx, "pbx", "leg-1", &found), CCAI_OK);
    assert_string_equal(found, id);
    ccai_free(found);
    assert_int_equal(ccai_ctx_call_find_provider(e.ctx, "pbx", "corr-1", &found), CCAI_OK);
    assert_string_equal(found, id);
    ccai_free(found);
    assert_int_equal(ccai_ctx_call_find_provider(e.ctx, "twilio", "leg-1", &found),
                     CCAI_ERR_NOT_FOUND);
    assert_int_equal(ccai_call_set_provider_ids(c, NULL, NULL), CCAI_OK); /* nothing changes */
    assert_string_equal(ccai_call_provider_id(c), "leg-1");
    char *doc = doc_of(&e, id);
    assert_non_null(strstr(doc, "\"provider_call_id\":\"leg-1\""));
    assert_null(strstr(doc, secret)); /* the secret never leaves the store */
    ccai_free(doc);

    /* The secret, live and once the handle is gone. */
    assert_int_equal(ccai_ctx_call_check_secret(e.ctx, id, secret), CCAI_OK);
    assert_int_equal(ccai_ctx_call_check_secret(e.ctx, id, "forged"), CCAI_ERR_VALIDATION);
    assert_int_equal(ccai_ctx_call_check_secret(e.ctx, "no-such-call", secret), CCAI_ERR_NOT_FOUND);
    ccai_call_free(c);
    assert_int_equal(ccai_ctx_call_check_secret(e.ctx, id, secret), CCAI_OK);
    assert_int_equal(ccai_ctx_call_check_secret(e.ctx, id, ""), CCAI_ERR_VALIDATION);

    assert_int_equal(ccai_ctx_call_find_provider(NULL, "pbx", "x", &found), CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_ctx_call_find_provider(e.ctx, "pbx", "", &found), CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_call_set_provider_ids(NULL, "x", NULL), CCAI_ERR_INVALID_ARG);
    assert_null(ccai_call_phone_number(NULL));
    assert_null(ccai_call_secret(NULL));
    env_close(&e);
}

/* The caller chose a language: stored, and the bot speaks it. */
static void test_set_lang(void **state)
{
    (void)state;
    env e;
    env_open(&e, NULL); /* the default: four languages */
    line l = {0};
    ccai_call_ops no_menu = ops;
    no_menu.menu = NULL;
    ccai_call_params p = {.version = CCAI_CALL_PARAMS_VERSION,
                          .direction = CCAI_INBOUND,
                          .phone_number = "+33612345678",
                          .channel = "pbx"};
    ccai_call *c = NULL;
    assert_int_equal(ccai_call_start(e.ctx, &p, &no_menu, &l, &c), CCAI_OK);
    assert_int_equal(ccai_call_set_lang(c, "xx-XX"), CCAI_ERR_NOT_FOUND);
    assert_non_null(strstr(ccai_call_errmsg(c), "xx-XX"));
    assert_int_equal(ccai_call_set_lang(c, "es-ES"), CCAI_OK);
    assert_string_equal(ccai_call_lang(c), "es-ES");
    char *doc = doc_of(&e, ccai_call_id(c));
    assert_non_null(strstr(doc, "\"lang\":\"es-ES\""));
    ccai_free(doc);
    /* A host without a menu op gets no menu: the greeting, in Spanish. */
    assert_int_equal(ccai_call_notify(c, CCAI_EVENT_CONNECTED, NULL), CCAI_OK);
    assert_int_equal(l.menus, 0);
    assert_true(l.says >= 1);
    assert_string_equal(l.last_lang, "es-ES");
    assert_int_equal(ccai_call_set_lang(c, NULL), CCAI_ERR_INVALID_ARG);
    ccai_call_free(c);
    env_close(&e);
}

/* The engine's language menu through ops.menu: offered, chosen, and, when
 * nothing is recognised, offered again and then goodbye. */
static void test_language_menu(void **state)
{
    (void)state;
    env e;
    env_open(&e, NULL);
    line l = {0};
    ccai_call *c = start(&e, &l, "+33612345678", CCAI_CALL_REPORTS_SILENCE);
    assert_int_equal(ccai_call_notify(c, CCAI_EVENT_CONNECTED, NULL), CCAI_OK);
    assert_int_equal(l.menus, 1);
    assert_int_equal(l.says, 0); /* no greeting before the choice */
    assert_int_equal(ccai_call_get_state(c), CCAI_CALL_LANGUAGE_MENU);
    assert_int_equal(l.n_choices, 4);
    assert_string_equal(l.menu_values[0], "fr-FR");
    assert_string_equal(l.menu_dtmf[0], "1");
    assert_string_equal(l.menu_values[1], "en-US");
    assert_string_equal(l.menu_dtmf[3], "4");
    assert_true(strlen(l.menu_text) > 0);
    char *doc = doc_of(&e, ccai_call_id(c));
    assert_non_null(strstr(doc, "\"state\":\"language_menu\""));
    ccai_free(doc);

    /* Speech while the menu is open is not the choice; a choice is. */
    assert_int_equal(ccai_call_notify(c, CCAI_EVENT_CHOICE, "en-US"), CCAI_OK);
    assert_string_equal(ccai_call_lang(c), "en-US");
    assert_int_equal(ccai_call_get_state(c), CCAI_CALL_CONVERSATION);
    assert_true(l.says >= 1); /* the greeting */
    assert_string_equal(l.last_lang, "en-US");
    /* Late: the menu is closed. */
    assert_int_equal(ccai_call_notify(c, CCAI_EVENT_CHOICE, "fr-FR"), CCAI_OK);
    assert_string_equal(ccai_call_lang(c), "en-US");
    ccai_call_free(c);

    /* Nothing recognised, retry_max (2) times: offered again, then goodbye. */
    line m = {0};
    c = start(&e, &m, "+33612345679", CCAI_CALL_REPORTS_SILENCE);
    assert_int_equal(ccai_call_notify(c, CCAI_EVENT_CONNECTED, NULL), CCAI_OK);
    assert_int_equal(ccai_call_notify(c, CCAI_EVENT_CHOICE, NULL), CCAI_OK);
    assert_int_equal(m.menus, 2);
    assert_int_equal(m.hangups, 0);
    assert_int_equal(ccai_call_notify(c, CCAI_EVENT_CHOICE, ""), CCAI_OK);
    assert_int_equal(m.menus, 2);
    assert_int_equal(m.says, 1); /* the goodbye */
    assert_int_equal(m.hangups, 1);
    assert_int_equal(ccai_call_get_state(c), CCAI_CALL_ENDING);
    ccai_call_free(c);
    env_close(&e);
}

/* A recogniser that failed: the apology and listening again, then goodbye
 * after retry_max in a row; understood words reset the count. */
static void test_not_understood(void **state)
{
    (void)state;
    env e;
    env_open(&e, ONE_LANG);
    line l = {0};
    ccai_call *c = start(&e, &l, "+33612345678", CCAI_CALL_REPORTS_SILENCE);
    assert_int_equal(ccai_call_notify(c, CCAI_EVENT_CONNECTED, NULL), CCAI_OK);
    int says = l.says, listens = l.listens;
    assert_int_equal(ccai_call_notify(c, CCAI_EVENT_NOT_UNDERSTOOD, "no match"), CCAI_OK);
    assert_int_equal(l.says, says + 1);
    assert_int_equal(l.listens, listens + 1);
    assert_int_equal(l.hangups, 0);
    /* Understood in between: the count starts again. */
    assert_int_equal(ccai_call_notify(c, CCAI_EVENT_DTMF, "1"), CCAI_OK);
    assert_int_equal(ccai_call_notify(c, CCAI_EVENT_NOT_UNDERSTOOD, "no match"), CCAI_OK);
    assert_int_equal(l.hangups, 0);
    assert_int_equal(ccai_call_notify(c, CCAI_EVENT_NOT_UNDERSTOOD, "no match"), CCAI_OK);
    assert_int_equal(l.hangups, 1);
    assert_int_equal(ccai_call_get_state(c), CCAI_CALL_ENDING);
    char *doc = doc_of(&e, ccai_call_id(c));
    assert_non_null(strstr(doc, "\"action\":\"dtmf\""));
    ccai_free(doc);
    ccai_call_free(c);
    env_close(&e);
}

/* Silence: the engine's timer asks "are you still there?" unless the
 * channel reports silence itself. */
static void run_for(env *e, uint64_t ms)
{
    uint64_t until = ccai_time_ms() + ms;
    while (ccai_time_ms() < until)
        assert_int_equal(ccai_poll_run_once(e->poll, 50), 0);
}

static void test_reports_silence(void **state)
{
    (void)state;
    env e;
    env_open(&e, ONE_LANG);
    line timer = {0}, own = {0};
    ccai_call *a = start(&e, &timer, "+33612345678", 0);
    ccai_call *b = start(&e, &own, "+33612345679", CCAI_CALL_REPORTS_SILENCE);
    assert_int_equal(ccai_call_notify(a, CCAI_EVENT_CONNECTED, NULL), CCAI_OK);
    assert_int_equal(ccai_call_notify(b, CCAI_EVENT_CONNECTED, NULL), CCAI_OK);
    assert_int_equal(ccai_call_notify(a, CCAI_EVENT_SAY_DONE, NULL), CCAI_OK);
    assert_int_equal(ccai_call_notify(b, CCAI_EVENT_SAY_DONE, NULL), CCAI_OK);
    int says_a = timer.says, says_b = own.says;
    run_for(&e, 1600);                /* phone_silence_timeout_sec is 1 */
    assert_true(timer.says > says_a); /* the engine's own silence rule */
    assert_int_equal(own.says, says_b);
    /* The channel says when: the same rule, on its word. */
    assert_int_equal(ccai_call_notify(b, CCAI_EVENT_SILENCE_TIMEOUT, NULL), CCAI_OK);
    assert_true(own.says > says_b);
    ccai_call_free(a);
    ccai_call_free(b);
    env_close(&e);
}

/* Stored calls no handle holds: ended, recorded, taken back. Two contexts
 * on one database stand for a process that restarted. */
static void test_stored_calls(void **state)
{
    (void)state;
    env e;
    env_open(&e, ONE_LANG);
    ccai_poll *p2 = NULL;
    ccai_ctx *other = NULL;
    assert_int_equal(ccai_poll_new(e.cfg, &p2, &other, NULL), CCAI_OK);
    line l = {0};
    ccai_call *c = start(&e, &l, "+33612345678", 0);
    char id[37];
    snprintf(id, sizeof id, "%s", ccai_call_id(c));
    assert_int_equal(ccai_call_notify(c, CCAI_EVENT_CONNECTED, NULL), CCAI_OK);
    assert_int_equal(ccai_call_notify(c, CCAI_EVENT_SPEECH, "My car was hit."), CCAI_OK);

    /* Held here: ending it is the handle's business. */
    assert_int_equal(ccai_ctx_call_end(e.ctx, id, "completed", 1), CCAI_ERR_STATE);
    /* The other process takes it back: same leg, no menu, where it was. */
    line t = {0};
    ccai_call_params p = {.version = CCAI_CALL_PARAMS_VERSION,
                          .channel = "pbx",
                          .resume_call_id = id,
                          .flags = CCAI_CALL_REPORTS_SILENCE};
    ccai_call *taken = NULL;
    p.resume_call_id = "no-such-call";
    assert_int_equal(ccai_call_start(other, &p, &ops, &t, &taken), CCAI_ERR_NOT_FOUND);
    p.resume_call_id = id;
    assert_int_equal(ccai_call_start(other, &p, &ops, &t, &taken), CCAI_OK);
    assert_string_equal(ccai_call_id(taken), id);
    assert_int_equal(ccai_call_resumed(taken), 1);
    assert_string_equal(ccai_call_phone_number(taken), "+33612345678");
    assert_int_equal(ccai_call_notify(taken, CCAI_EVENT_CONNECTED, NULL), CCAI_OK);
    assert_int_equal(t.menus, 0);
    assert_int_equal(ccai_call_get_state(taken), CCAI_CALL_CONVERSATION);
    ccai_call_free(taken); /* stored as ended: "handle released" */
    /* Ended: it cannot be taken back; a late end changes nothing. */
    assert_int_equal(ccai_call_start(other, &p, &ops, &t, &taken), CCAI_ERR_STATE);

    /* A recording that comes after the end is stored all the same. */
    assert_int_equal(ccai_ctx_call_set_recording(other, id, "https://rec/1.wav", "RE1", 42000),
                     CCAI_OK);
    assert_int_equal(ccai_ctx_call_set_recording(other, "no-such-call", "u", NULL, 0),
                     CCAI_ERR_NOT_FOUND);
    assert_int_equal(ccai_ctx_call_set_recording(other, id, NULL, NULL, 0), CCAI_ERR_INVALID_ARG);
    char *doc = doc_of(&e, id);
    assert_non_null(strstr(doc, "\"recording_url\":\"https://rec/1.wav\""));
    assert_non_null(strstr(doc, "\"recording_duration_ms\":42000"));
    ccai_free(doc);
    ccai_call_free(c); /* A's handle: the call ended elsewhere */

    /* A stored call in progress that nobody holds: the provider ends it. */
    line k = {0};
    ccai_call *d = start(&e, &k, "+33612345670", 0);
    char id2[37];
    snprintf(id2, sizeof id2, "%s", ccai_call_id(d));
    assert_int_equal(ccai_call_notify(d, CCAI_EVENT_CONNECTED, NULL), CCAI_OK);
    assert_int_equal(ccai_call_notify(d, CCAI_EVENT_SPEECH, "Hello?"), CCAI_OK);
    assert_int_equal(ccai_ctx_call_end(other, id2, "completed", 1), CCAI_OK);
    doc = doc_of(&e, id2);
    assert_non_null(strstr(doc, "\"state\":\"ended\""));
    assert_non_null(strstr(doc, "\"end_reason\":\"completed\""));
    ccai_free(doc);
    assert_int_equal(ccai_ctx_call_end(other, id2, "completed", 1), CCAI_OK); /* already */
    assert_int_equal(ccai_ctx_call_end(other, "no-such-call", "x", 0), CCAI_ERR_NOT_FOUND);
    ccai_call_free(d);
    ccai_poll_free(p2);
    env_close(&e);
}

/* Inbound SMS: to the live call of that number, else stored on the latest
 * call; a malformed or unknown sender is dropped with its reason. */
static void test_sms_inbound(void **state)
{
    (void)state;
    env e;
    env_open(&e, ONE_LANG);
    assert_int_equal(ccai_ctx_sms_inbound(e.ctx, "+33612345678", "hello"), CCAI_ERR_NOT_FOUND);
    assert_int_equal(ccai_ctx_sms_inbound(e.ctx, "not a number", "hello"), CCAI_ERR_VALIDATION);
    line l = {0};
    ccai_call *c = start(&e, &l, "+33612345678", 0);
    char id[37];
    snprintf(id, sizeof id, "%s", ccai_call_id(c));
    assert_int_equal(ccai_call_notify(c, CCAI_EVENT_CONNECTED, NULL), CCAI_OK);
    /* ACS sends numbers without their '+'. */
    assert_int_equal(ccai_ctx_sms_inbound(e.ctx, "33612345678", "My policy is 1234."), CCAI_OK);
    ccai_call_free(c);
    assert_int_equal(ccai_ctx_sms_inbound(e.ctx, "+33612345678", "And my name is Ana."), CCAI_OK);
    char *doc = doc_of(&e, id);
    assert_non_null(strstr(doc, "My policy is 1234."));
    assert_non_null(strstr(doc, "And my name is Ana."));
    ccai_free(doc);
    char *big = malloc(CCAI_EVENT_TEXT_MAX + 2);
    memset(big, 'a', CCAI_EVENT_TEXT_MAX + 1);
    big[CCAI_EVENT_TEXT_MAX + 1] = '\0';
    assert_int_equal(ccai_ctx_sms_inbound(e.ctx, "+33612345678", big), CCAI_ERR_LIMIT);
    free(big);
    assert_int_equal(ccai_ctx_sms_inbound(e.ctx, NULL, "x"), CCAI_ERR_INVALID_ARG);
    env_close(&e);
}

/* The goodbye a host asks for; ccai_call_notify() as ccai_on_event(). */
static void test_goodbye_and_notify(void **state)
{
    (void)state;
    env e;
    env_open(&e, ONE_LANG);
    line l = {0};
    ccai_call *c = start(&e, &l, "+33612345678", 0);
    assert_int_equal(ccai_call_notify(c, CCAI_EVENT_CONNECTED, NULL), CCAI_OK);
    int says = l.says;
    assert_int_equal(ccai_call_goodbye(c), CCAI_OK);
    assert_int_equal(l.says, says + 1);
    assert_int_equal(l.hangups, 1);
    assert_int_equal(ccai_call_get_state(c), CCAI_CALL_ENDING);
    assert_int_equal(ccai_call_goodbye(c), CCAI_OK); /* ending already */
    assert_int_equal(l.hangups, 1);
    assert_int_equal(ccai_call_notify(c, CCAI_EVENT_HANGUP, "bye"), CCAI_OK);
    assert_int_equal(ccai_call_goodbye(c), CCAI_ERR_STATE);
    assert_int_equal(ccai_call_notify(c, CCAI_EVENT_SPEECH, "hello?"), CCAI_ERR_STATE);
    assert_int_equal(ccai_call_notify(NULL, CCAI_EVENT_SPEECH, "x"), CCAI_ERR_INVALID_ARG);
    ccai_call_free(c);
    env_close(&e);
}

/* The store says what it is; the deprecated path call agrees. */
static void test_store_describe(void **state)
{
    (void)state;
    env e;
    env_open(&e, ONE_LANG);
    char *json = NULL;
    assert_int_equal(ccai_ctx_store_describe(e.ctx, &json), CCAI_OK);
    assert_non_null(strstr(json, "\"backend\":\"sqlite\""));
    char want[160];
    snprintf(want, sizeof want, "\"location\":\"%s\"", e.path);
    assert_non_null(strstr(json, want));
    assert_non_null(strstr(json, "\"schema_version\":"));
    assert_non_null(strstr(json, "\"busy_timeout_ms\":"));
    ccai_free(json);
    assert_string_equal(ccai_ctx_database_path(e.ctx), e.path);
    assert_int_equal(ccai_ctx_store_describe(NULL, &json), CCAI_ERR_INVALID_ARG);
    env_close(&e);
}

/* The host's SMS sender (sms.mode "host"): the engine's SMS leave through
 * it, each a request the host ends by its id. */
typedef struct sender {
    ccai_ctx *ctx;
    int sends;
    uint64_t last_id;
    char to[32];
    char text[1024];
    int answer_now; /* report the end inside send */
} sender;

static int on_sms_send(ccai_ctx *ctx, uint64_t id, const char *to, const char *text, void *ud)
{
    sender *s = ud;
    assert_ptr_equal(ctx, s->ctx);
    s->sends++;
    s->last_id = id;
    snprintf(s->to, sizeof s->to, "%s", to);
    snprintf(s->text, sizeof s->text, "%s", text);
    if (s->answer_now)
        assert_int_equal(ccai_ctx_sms_done(ctx, id, CCAI_OK, 0, NULL), CCAI_OK);
    return 0;
}

static void settle(env *e, int *until_nonzero)
{
    uint64_t deadline = ccai_time_ms() + 10000;
    while (!*until_nonzero && ccai_time_ms() < deadline)
        assert_int_equal(ccai_poll_run_once(e->poll, 50), 0);
}

static void test_host_sms_sender(void **state)
{
    (void)state;
    env e;
    sender s = {0};
    const ccai_sms_ops sms_ops = {.version = CCAI_SMS_OPS_VERSION, .send = on_sms_send};
    ccai_sms_ops bad = sms_ops;

    /* "host" without a sender is refused; a sender of no known version too. */
    ccai_config *cfg = NULL;
    assert_int_equal(ccai_config_new(&cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "sms.mode", "host"), CCAI_OK);
    assert_int_equal(ccai_config_validate(cfg), CCAI_ERR_CONFIG);
    assert_non_null(strstr(ccai_config_errmsg(cfg), "ccai_config_set_sms_ops"));
    bad.version = 0;
    assert_int_equal(ccai_config_set_sms_ops(cfg, &bad, NULL), CCAI_ERR_INVALID_ARG);
    bad.version = CCAI_SMS_OPS_VERSION + 1;
    assert_int_equal(ccai_config_set_sms_ops(cfg, &bad, NULL), CCAI_ERR_INVALID_ARG);
    bad = (ccai_sms_ops){.version = CCAI_SMS_OPS_VERSION};
    assert_int_equal(ccai_config_set_sms_ops(cfg, &bad, NULL), CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_config_set_sms_ops(NULL, &sms_ops, NULL), CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_config_set_sms_ops(cfg, &sms_ops, &s), CCAI_OK);
    assert_int_equal(ccai_config_validate(cfg), CCAI_OK);
    assert_int_equal(ccai_config_set_sms_ops(cfg, NULL, NULL), CCAI_OK);
    assert_int_equal(ccai_config_validate(cfg), CCAI_ERR_CONFIG);
    ccai_config_free(cfg);

    /* A context without the host's sender has no requests to end. */
    env_open(&e, ONE_LANG);
    assert_int_equal(ccai_ctx_sms_done(e.ctx, 1, CCAI_OK, 0, NULL), CCAI_ERR_STATE);
    assert_int_equal(ccai_ctx_sms_done(NULL, 1, CCAI_OK, 0, NULL), CCAI_ERR_INVALID_ARG);
    ccai_poll_free(e.poll);

    /* The post-call SMS through the host's sender, ended later. */
    assert_int_equal(ccai_config_set(e.cfg, "sms.mode", "host"), CCAI_OK);
    assert_int_equal(ccai_config_set_sms_ops(e.cfg, &sms_ops, &s), CCAI_OK);
    assert_int_equal(ccai_poll_new(e.cfg, &e.poll, &e.ctx, NULL), CCAI_OK);
    s.ctx = e.ctx;
    line l = {0};
    ccai_call *c = start(&e, &l, "+33612345678", 0);
    assert_int_equal(ccai_call_notify(c, CCAI_EVENT_CONNECTED, NULL), CCAI_OK);
    assert_int_equal(ccai_call_notify(c, CCAI_EVENT_SPEECH, "My car was hit."), CCAI_OK);
    assert_int_equal(ccai_call_notify(c, CCAI_EVENT_HANGUP, "bye"), CCAI_OK);
    settle(&e, &s.sends);
    assert_int_equal(s.sends, 1);
    assert_string_equal(s.to, "+33612345678");
    assert_true(strlen(s.text) > 0);
    assert_true(ccai_ctx_busy(e.ctx)); /* the job waits for the host's word */
    assert_int_equal(ccai_ctx_sms_done(e.ctx, s.last_id + 1, CCAI_OK, 0, NULL), CCAI_ERR_NOT_FOUND);
    assert_int_equal(ccai_ctx_sms_done(e.ctx, s.last_id, CCAI_OK, 0, NULL), CCAI_OK);
    assert_int_equal(ccai_ctx_sms_done(e.ctx, s.last_id, CCAI_OK, 0, NULL), CCAI_ERR_NOT_FOUND);
    /* Its delivery, reported under the reference the call's document
     * gives the message (what Twilio's and ACS's channels get back from
     * their service). */
    char *doc = doc_of(&e, ccai_call_id(c));
    char *copy = strdup(doc);
    ccai_free(doc);
    const char *k = strstr(copy, "\"ref\":\"");
    assert_non_null(k);
    char ref[32];
    snprintf(ref, sizeof ref, "%.*s", (int)strcspn(k + 7, "\""), k + 7);
    free(copy);
    assert_int_equal(ccai_ctx_sms_status(e.ctx, ref, "m-1", "delivered", NULL), CCAI_OK);
    assert_int_equal(ccai_ctx_sms_status(e.ctx, ref, "m-2", "failed", NULL), CCAI_ERR_NOT_FOUND);
    assert_int_equal(ccai_ctx_sms_status(e.ctx, ref, "m-1", "sent", NULL), CCAI_OK); /* late */
    assert_int_equal(ccai_ctx_sms_status(e.ctx, "999999", NULL, "delivered", NULL),
                     CCAI_ERR_NOT_FOUND);
    assert_int_equal(ccai_ctx_sms_status(e.ctx, ref, NULL, "queued", NULL), CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_ctx_sms_status(e.ctx, NULL, NULL, "sent", NULL), CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_ctx_sms_status(NULL, ref, NULL, "sent", NULL), CCAI_ERR_INVALID_ARG);
    doc = doc_of(&e, ccai_call_id(c));
    assert_non_null(strstr(doc, "\"status\":\"delivered\"")); /* a report never goes back */
    assert_non_null(strstr(doc, "\"message_id\":\"m-1\""));
    ccai_free(doc);
    ccai_call_free(c);

    /* A second call: the host ends the request inside send. */
    s.answer_now = 1;
    c = start(&e, &l, "+33612345679", 0);
    assert_int_equal(ccai_call_notify(c, CCAI_EVENT_CONNECTED, NULL), CCAI_OK);
    assert_int_equal(ccai_call_notify(c, CCAI_EVENT_SPEECH, "My car was hit."), CCAI_OK);
    assert_int_equal(ccai_call_notify(c, CCAI_EVENT_HANGUP, "bye"), CCAI_OK);
    uint64_t deadline = ccai_time_ms() + 10000;
    while ((s.sends < 2 || ccai_ctx_busy(e.ctx)) && ccai_time_ms() < deadline)
        assert_int_equal(ccai_poll_run_once(e.poll, 50), 0);
    assert_int_equal(s.sends, 2);
    assert_string_equal(s.to, "+33612345679");
    assert_false(ccai_ctx_busy(e.ctx));
    ccai_call_free(c);
    env_close(&e);
}

/* A host built against 0.1: its tables end where 0.1's did. The library
 * reads none of the members 0.2 appended (ASan sees a read past these). */
typedef struct params_v1 {
    uint32_t version;
    ccai_direction direction;
    const char *phone_number;
    const char *bot_phone_number;
    const char *channel;
    const char *provider_call_id;
    const char *initiate_json;
    ccai_claim_schema *claim_schema;
    int resume;
} params_v1;

typedef struct ops_v1 {
    uint32_t version;
    int (*say)(ccai_call *call, const ccai_speech *speech, void *ud);
    int (*stop_speaking)(ccai_call *call, void *ud);
    int (*listen)(ccai_call *call, const char *lang, void *ud);
    int (*transfer)(ccai_call *call, const char *phone_number, void *ud);
    int (*hangup)(ccai_call *call, void *ud);
    int (*send_sms)(ccai_call *call, const char *phone_number, const char *text, void *ud);
    int (*record)(ccai_call *call, int start, void *ud);
    void (*state_changed)(ccai_call *call, ccai_call_state old_state, ccai_call_state new_state,
                          void *ud);
} ops_v1;

static void test_version_1_tables(void **state)
{
    (void)state;
    env e;
    env_open(&e, NULL);               /* four languages: a v2 host would get the menu */
    params_v1 *p = malloc(sizeof *p); /* on the heap: ASan knows where it ends */
    ops_v1 *o = malloc(sizeof *o);
    *p = (params_v1){1, CCAI_INBOUND, "+33612345678", NULL, "pbx", NULL, NULL, NULL, 0};
    *o = (ops_v1){1, on_say, on_stop, on_listen, NULL, on_hangup, NULL, NULL, on_state};
    line l = {0};
    ccai_call *c = NULL;
    assert_int_equal(
        ccai_call_start(e.ctx, (const ccai_call_params *)p, (const ccai_call_ops *)o, &l, &c),
        CCAI_OK);
    free(p);
    free(o);
    assert_int_equal(ccai_call_notify(c, CCAI_EVENT_CONNECTED, NULL), CCAI_OK);
    assert_int_equal(l.menus, 0); /* no menu member in a v1 table */
    assert_true(l.says >= 1);
    assert_int_equal(ccai_call_get_state(c), CCAI_CALL_CONVERSATION);
    ccai_call_free(c);

    /* A version from the future is refused. */
    ccai_call_params p3 = {.version = CCAI_CALL_PARAMS_VERSION + 1,
                           .direction = CCAI_INBOUND,
                           .phone_number = "+33612345678"};
    assert_int_equal(ccai_call_start(e.ctx, &p3, &ops, &l, &c), CCAI_ERR_INVALID_ARG);
    ccai_call_params p0 = {.version = 0, .direction = CCAI_INBOUND, .phone_number = "+336123"};
    assert_int_equal(ccai_call_start(e.ctx, &p0, &ops, &l, &c), CCAI_ERR_INVALID_ARG);
    env_close(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_facts_ids_and_secret), cmocka_unit_test(test_set_lang),
        cmocka_unit_test(test_language_menu),        cmocka_unit_test(test_not_understood),
        cmocka_unit_test(test_reports_silence),      cmocka_unit_test(test_stored_calls),
        cmocka_unit_test(test_sms_inbound),          cmocka_unit_test(test_goodbye_and_notify),
        cmocka_unit_test(test_store_describe),       cmocka_unit_test(test_version_1_tables),
        cmocka_unit_test(test_host_sms_sender),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
