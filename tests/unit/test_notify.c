/* channels/common/notify.c: a channel's events that the engine refuses
 * while another process (the real sqlite3 shell) holds the database's
 * write lock are kept, handed again in order once it is gone, and the call
 * is given up when the lock outlasts the patience. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <ccai/adapters/poll.h>

#include "channels/common/notify.h"
#include "support/db_lock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct line {
    int says;
    int gave_up;
    ccai_status gave_up_with;
} line;

static int on_say(ccai_call *call, const ccai_speech *speech, void *ud)
{
    (void)call;
    (void)speech;
    ((line *)ud)->says++;
    return 0;
}

static void on_gave_up(void *ud, ccai_status st)
{
    line *l = ud;
    l->gave_up++;
    l->gave_up_with = st;
}

/* A clock the test moves ahead: the context's time is the real one plus
 * the offset. */
static uint64_t offset_ms;
static uint64_t test_clock(void *ud)
{
    (void)ud;
    return ccai_time_ms() + offset_ms;
}

typedef struct env {
    char dir[64], path[128];
    ccai_config *cfg;
    ccai_poll *poll;
    ccai_ctx *ctx;
} env;

static void env_open(env *e)
{
    snprintf(e->dir, sizeof e->dir, "/tmp/ccai-notify-XXXXXX");
    assert_non_null(mkdtemp(e->dir));
    snprintf(e->path, sizeof e->path, "%s/db.sqlite", e->dir);
    assert_int_equal(ccai_config_new(&e->cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "database.sqlite.path", e->path), CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "conversation.initiate.lang",
                                     "{\"default_short_code\": \"en-US\", \"availables\": "
                                     "[{\"short_code\": \"en-US\", \"voice\": "
                                     "\"en-US-AvaNeural\", \"pronunciations_en\": "
                                     "[\"English\"]}]}"),
                     CCAI_OK);
    assert_int_equal(ccai_poll_new(e->cfg, &e->poll, &e->ctx, NULL), CCAI_OK);
    offset_ms = 0;
    Ccai_ctx_set_clock(e->ctx, test_clock, NULL);
}

static void env_close(env *e)
{
    ccai_poll_free(e->poll);
    ccai_config_free(e->cfg);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", e->dir);
    assert_int_equal(system(cmd), 0);
}

static ccai_call *start(env *e, line *l)
{
    static const ccai_call_ops ops = {.version = CCAI_CALL_OPS_VERSION, .say = on_say};
    ccai_call_params p = {.version = CCAI_CALL_PARAMS_VERSION,
                          .direction = CCAI_INBOUND,
                          .phone_number = "+14155550142",
                          .channel = "pbx"};
    ccai_call *c = NULL;
    assert_int_equal(ccai_call_start(e->ctx, &p, &ops, l, &c), CCAI_OK);
    return c;
}

/* Where text is among the call's stored messages (-1: not there). */
static int stored_at(ccai_call *c, const char *text)
{
    char *doc = NULL;
    assert_int_equal(ccai_call_to_json(c, &doc), CCAI_OK);
    const char *at = strstr(doc, text);
    int pos = at ? (int)(at - doc) : -1;
    ccai_free(doc);
    return pos;
}

static void run_until(env *e, const Ccai_notifier *n, size_t waiting, uint64_t ms)
{
    uint64_t deadline = ccai_time_ms() + ms;
    while (Ccai_notify_waiting(n) != waiting && ccai_time_ms() < deadline)
        assert_true(ccai_poll_run_once(e->poll, 20) == 0);
}

static void test_kept_while_locked_then_in_order(void **state)
{
    (void)state;
    env e;
    env_open(&e);
    line l = {0};
    ccai_call *c = start(&e, &l);
    Ccai_notifier n;
    Ccai_notifier_init(&n, e.ctx, Ccai_ctx_logger(e.ctx), c, on_gave_up, &l);
    Ccai_notify(&n, CCAI_EVENT_CONNECTED, NULL);
    assert_int_equal(Ccai_notify_waiting(&n), 0);
    assert_int_equal(ccai_call_get_state(c), CCAI_CALL_CONVERSATION);

    db_lock lock;
    assert_int_equal(db_lock_take(&lock, e.path), 0);
    Ccai_notify(&n, CCAI_EVENT_SPEECH, "My cellar is flooded");
    Ccai_notify(&n, CCAI_EVENT_DTMF, "42");
    assert_int_equal(Ccai_notify_waiting(&n), 2); /* the second waits behind the first */
    run_until(&e, &n, 0, 400);
    assert_int_equal(Ccai_notify_waiting(&n), 2); /* still locked: still kept */
    assert_int_equal(l.gave_up, 0);
    assert_int_equal(db_lock_release(&lock), 0);

    run_until(&e, &n, 0, 5000);
    assert_int_equal(Ccai_notify_waiting(&n), 0);
    int said = stored_at(c, "My cellar is flooded"), keyed = stored_at(c, "\"42\"");
    assert_true(said > 0);
    assert_true(keyed > said); /* in the order they came */
    assert_int_equal(l.gave_up, 0);

    Ccai_notifier_clear(&n);
    ccai_call_free(c);
    env_close(&e);
}

static void test_given_up_when_the_lock_lasts(void **state)
{
    (void)state;
    env e;
    env_open(&e);
    line l = {0};
    ccai_call *c = start(&e, &l);
    Ccai_notifier n;
    Ccai_notifier_init(&n, e.ctx, Ccai_ctx_logger(e.ctx), c, on_gave_up, &l);
    Ccai_notify(&n, CCAI_EVENT_CONNECTED, NULL);

    db_lock lock;
    assert_int_equal(db_lock_take(&lock, e.path), 0);
    Ccai_notify(&n, CCAI_EVENT_SPEECH, "Hello?");
    assert_int_equal(Ccai_notify_waiting(&n), 1);
    run_until(&e, &n, 0, 200);
    assert_int_equal(l.gave_up, 0);
    /* The lock outlasts the patience: the channel is told, from the loop. */
    offset_ms = CCAI_NOTIFY_PATIENCE_MS;
    uint64_t deadline = ccai_time_ms() + 5000;
    while (!l.gave_up && ccai_time_ms() < deadline) {
        ccai_ctx_timeout(e.ctx);
        assert_true(ccai_poll_run_once(e.poll, 20) == 0);
    }
    assert_int_equal(l.gave_up, 1);
    assert_int_equal(l.gave_up_with, CCAI_ERR_BUSY);
    assert_int_equal(Ccai_notify_waiting(&n), 0);
    assert_int_equal(db_lock_release(&lock), 0);

    /* Late news of an ended call is dropped without giving anything up. */
    assert_int_equal(ccai_call_notify(c, CCAI_EVENT_HANGUP, "gone"), CCAI_OK);
    Ccai_notify(&n, CCAI_EVENT_SAY_DONE, NULL);
    run_until(&e, &n, 0, 100);
    assert_int_equal(l.gave_up, 1);

    Ccai_notifier_clear(&n);
    ccai_call_free(c);
    env_close(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kept_while_locked_then_in_order),
        cmocka_unit_test(test_given_up_when_the_lock_lasts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
