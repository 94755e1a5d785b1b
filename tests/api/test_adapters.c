/* The public adapters (<ccai/adapters/poll.h>, <ccai/adapters/libevent.h>)
 * freed, through their own free function, from inside the context's
 * callbacks: the host's say and hangup ops, called from ccai_on_event(),
 * from the adapter's fd callback (an LLM answer streaming in) and from the
 * adapter's timer callback (the engine's timers). Freeing there is legal: the
 * context's destruction waits until the library frame unwinds, and its
 * teardown still unwatches the LLM's socket and disarms the timer through the
 * adapter's hooks, so the adapter must live until the context is really gone.
 * Under ASan (make test-sanitize) a use after free fails the test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <ccai/adapters/poll.h>
#include <ccai/ccai.h>

#include "support/api_http.h"
#ifdef CCAI_TEST_LIBEVENT
#include <ccai/adapters/libevent.h>
#include <event2/event.h>
#endif

#include "support/llm_standin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Which op frees the adapter. */
typedef enum where { IN_SAY, IN_HANGUP } where;

typedef struct host host;

/* One adapter behind a common face. */
typedef struct adapter_kind {
    const char *name;
    ccai_status (*open)(host *h, const ccai_config *cfg);
    void (*free_adapter)(host *h); /* the adapter's own free: the ctx, then the adapter */
    int (*run_once)(host *h);      /* one loop iteration (100 ms at most); 1: adapter gone */
    void (*close_loop)(host *h);   /* what the adapter does not own (libevent's base) */
} adapter_kind;

struct host {
    const adapter_kind *kind;
    where where;
    ccai_ctx *ctx;
    ccai_poll *poll;
#ifdef CCAI_TEST_LIBEVENT
    struct event_base *base;
    ccai_libevent *ev;
#endif
    int armed; /* free at the next op of kind `where` */
    int says, hangups;
    int freed; /* the adapter's free was called */
};

static void free_once(host *h)
{
    if (h->freed)
        return;
    h->freed = 1;
    h->kind->free_adapter(h);
}

static int op_say(ccai_call *c, const ccai_speech *sp, void *ud)
{
    host *h = (host *)ud;
    (void)c;
    (void)sp;
    h->says++;
    if (h->armed && h->where == IN_SAY)
        free_once(h);
    return 0;
}

static int op_hangup(ccai_call *c, void *ud)
{
    host *h = (host *)ud;
    (void)c;
    h->hangups++;
    if (h->armed && h->where == IN_HANGUP)
        free_once(h);
    return 0;
}

/* poll(2) ------------------------------------------------------------------ */

static ccai_status poll_open(host *h, const ccai_config *cfg)
{
    return ccai_poll_new(cfg, &h->poll, &h->ctx, NULL);
}

static void poll_free_adapter(host *h)
{
    ccai_poll_free(h->poll);
}

static int poll_run_once(host *h)
{
    int rc = ccai_poll_run_once(h->poll, 100);
    assert_true(rc == 0 || rc == 1);
    return rc;
}

static void poll_close_loop(host *h)
{
    (void)h;
}

static const adapter_kind poll_kind = {"poll", poll_open, poll_free_adapter, poll_run_once,
                                       poll_close_loop};

/* libevent ------------------------------------------------------------------ */

#ifdef CCAI_TEST_LIBEVENT
static ccai_status ev_open(host *h, const ccai_config *cfg)
{
    h->base = event_base_new();
    assert_non_null(h->base);
    return ccai_libevent_new(h->base, cfg, &h->ev, &h->ctx, NULL);
}

static void ev_free_adapter(host *h)
{
    ccai_libevent_free(h->ev);
}

static int ev_run_once(host *h)
{
    struct timeval tick = {0, 100000};
    assert_int_equal(event_base_loopexit(h->base, &tick), 0);
    assert_true(event_base_dispatch(h->base) >= 0);
    return 0;
}

static void ev_close_loop(host *h)
{
    /* Nothing of the adapter is left in the base: one more turn of the loop
     * runs no callback on freed memory. */
    struct timeval tick = {0, 10000};
    assert_int_equal(event_base_loopexit(h->base, &tick), 0);
    assert_true(event_base_dispatch(h->base) >= 0);
    event_base_free(h->base);
}

static const adapter_kind libevent_kind = {"libevent", ev_open, ev_free_adapter, ev_run_once,
                                           ev_close_loop};
#endif

/* Scenarios ------------------------------------------------------------------- */

typedef enum scene {
    SAY_IN_EVENT,    /* a greeting said inside ccai_on_event(connected) */
    HANGUP_IN_EVENT, /* "goodbye" (to the offline dialogue) inside ccai_on_event() */
    SAY_IN_FD,       /* a sentence of the LLM's answer, from the fd callback */
    SAY_IN_TIMER,    /* the "one moment" filler of the soft timeout, from the timer */
    HANGUP_IN_TIMER, /* goodbye after the last silence, from the timer */
} scene;

static void send_event(ccai_call *call, ccai_event_type type, const char *text)
{
    ccai_event *ev = NULL;
    assert_int_equal(ccai_event_new(type, &ev), CCAI_OK);
    if (text)
        assert_int_equal(ccai_event_set_text(ev, text), CCAI_OK);
    /* The context may be gone once this returns (freed inside). */
    assert_int_equal(ccai_on_event(call, ev), CCAI_OK);
    ccai_event_free(ev);
}

static ccai_call *start_call(host *h, const char *phone)
{
    ccai_call_ops ops = {.version = CCAI_CALL_OPS_VERSION, .say = op_say, .hangup = op_hangup};
    ccai_call_params params = {
        .version = CCAI_CALL_PARAMS_VERSION,
        .direction = CCAI_INBOUND,
        .phone_number = phone,
        .bot_phone_number = "+33100000000",
        .channel = "local",
        .initiate_json = "{\"lang\":{\"default_short_code\":\"en-US\"}}",
    };
    ccai_call *call = NULL;
    assert_int_equal(ccai_call_start(h->ctx, &params, &ops, h, &call), CCAI_OK);
    return call;
}

/* Run the loop until the adapter was freed (10 s at most). */
static void run_until_freed(host *h)
{
    uint64_t deadline = ccai_time_ms() + 10000;
    while (!h->freed && ccai_time_ms() < deadline) {
        if (h->kind->run_once(h) == 1)
            break;
    }
}

static void scenario(const adapter_kind *kind, scene sc)
{
    char dir[] = "/tmp/ccai-adapters-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[200];
    snprintf(path, sizeof path, "%s/calls.sqlite", dir);
    ccai_config *cfg = NULL;
    assert_int_equal(ccai_config_new(&cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "database.sqlite.path", path), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "conversation.phone_silence_timeout_sec", "1"), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "conversation.answer_soft_timeout_sec", "1"), CCAI_OK);
    standin *si = NULL;
    if (sc == SAY_IN_FD || sc == SAY_IN_TIMER || sc == HANGUP_IN_TIMER) {
        si = standin_start(NULL);
        assert_non_null(si);
        char ep[64];
        snprintf(ep, sizeof ep, "http://127.0.0.1:%d/v1", standin_port(si));
        assert_int_equal(ccai_config_set(cfg, "llm.fast.mode", "openai_compatible"), CCAI_OK);
        assert_int_equal(ccai_config_set(cfg, "llm.fast.endpoint", ep), CCAI_OK);
        assert_int_equal(ccai_config_set(cfg, "conversation.recognition_retry_max", "1"), CCAI_OK);
        standin_spec spec = STANDIN_SPEC_INIT;
        spec.content = "Your window is noted. What else happened?";
        /* SAY_IN_TIMER: slow enough for the soft timeout to speak first;
         * HANGUP_IN_TIMER: the other call's answer is still on its way. */
        spec.ttft_ms = sc == SAY_IN_FD ? 50 : 5000;
        standin_push(si, &spec);
    }

    host h;
    memset(&h, 0, sizeof h);
    h.kind = kind;
    h.where = sc == HANGUP_IN_EVENT || sc == HANGUP_IN_TIMER ? IN_HANGUP : IN_SAY;
    assert_int_equal(kind->open(&h, cfg), CCAI_OK);

    /* Another call listens: its silence timer keeps the context's timer
     * armed; with an LLM, its answer is on its way (a socket is watched). */
    ccai_call *other = start_call(&h, "+14155550199");
    send_event(other, CCAI_EVENT_CONNECTED, NULL);
    if (sc == HANGUP_IN_TIMER)
        send_event(other, CCAI_EVENT_SPEECH, "Hello?");
    ccai_call *call = start_call(&h, "+14155550100");
    switch (sc) {
    case SAY_IN_EVENT:
        h.armed = 1;
        send_event(call, CCAI_EVENT_CONNECTED, NULL);
        break;
    case HANGUP_IN_EVENT:
        send_event(call, CCAI_EVENT_CONNECTED, NULL);
        h.armed = 1;
        send_event(call, CCAI_EVENT_SPEECH, "goodbye");
        break;
    case SAY_IN_FD:
    case SAY_IN_TIMER:
        send_event(call, CCAI_EVENT_CONNECTED, NULL);
        send_event(call, CCAI_EVENT_SPEECH, "My window is broken.");
        h.armed = 1;
        run_until_freed(&h);
        break;
    case HANGUP_IN_TIMER:
        send_event(call, CCAI_EVENT_CONNECTED, NULL);
        /* One silence reported by the channel ("are you still there?"); the
         * timer's is the second: goodbye. */
        send_event(call, CCAI_EVENT_SILENCE_TIMEOUT, NULL);
        assert_int_equal(h.hangups, 0);
        h.armed = 1;
        run_until_freed(&h);
        break;
    }
    assert_int_equal(h.freed, 1);
    if (h.where == IN_HANGUP)
        assert_int_equal(h.hangups, 1);
    kind->close_loop(&h);
    standin_stop(si);

    /* What happened before the free was stored; the calls were ended. */
    ccai_poll *p = NULL;
    ccai_ctx *ctx = NULL;
    assert_int_equal(ccai_poll_new(cfg, &p, &ctx, NULL), CCAI_OK);
    char *json = NULL;
    assert_int_equal(ccai_ctx_calls_list_json(ctx, NULL, 5, 0, &json), CCAI_OK);
    assert_non_null(strstr(json, "\"total\":2"));
    assert_null(strstr(json, "\"in_progress\":true"));
    ccai_free(json);
    ccai_poll_free(p);
    ccai_config_free(cfg);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

#define SCENARIO(kind, sc)                       \
    static void test_##kind##_##sc(void **state) \
    {                                            \
        (void)state;                             \
        scenario(&kind##_kind, sc);              \
    }

SCENARIO(poll, SAY_IN_EVENT)
SCENARIO(poll, HANGUP_IN_EVENT)
SCENARIO(poll, SAY_IN_FD)
SCENARIO(poll, SAY_IN_TIMER)
SCENARIO(poll, HANGUP_IN_TIMER)
#ifdef CCAI_TEST_LIBEVENT
SCENARIO(libevent, SAY_IN_EVENT)
SCENARIO(libevent, HANGUP_IN_EVENT)
SCENARIO(libevent, SAY_IN_FD)
SCENARIO(libevent, SAY_IN_TIMER)
SCENARIO(libevent, HANGUP_IN_TIMER)
#endif

/* Hook table versions --------------------------------------------------------- */

/* Version 1 of the table, laid out as a host built against libccai 0.1 has
 * it: no cleanup member. */
typedef struct hooks_v1 {
    uint32_t version;
    int (*watch_fd)(void *loop_ud, int fd, int events, void **fd_slot);
    int (*set_timer)(void *loop_ud, int64_t timeout_ms);
} hooks_v1;

static int cleanups;
static void *cleanup_ud;

static void count_cleanup(void *loop_ud)
{
    cleanups++;
    cleanup_ud = loop_ud;
}

static void test_hooks_versions(void **state)
{
    (void)state;
    ccai_config *cfg = NULL;
    assert_int_equal(ccai_config_new(&cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "database.sqlite.path", ":memory:"), CCAI_OK);
    ccai_ctx *ctx = NULL;
    int marker = 0;

    /* A version 1 table on the heap, exactly its size: reading a cleanup
     * member past its end would be caught by ASan. */
    hooks_v1 *v1 = (hooks_v1 *)malloc(sizeof *v1);
    assert_non_null(v1);
    v1->version = 1;
    v1->watch_fd = null_loop_watch;
    v1->set_timer = null_loop_timer;
    assert_int_equal(ccai_ctx_new(cfg, (const ccai_loop_hooks *)(void *)v1, &marker, &ctx, NULL),
                     CCAI_OK);
    free(v1);
    ccai_ctx_free(ctx);
    assert_int_equal(cleanups, 0);

    /* Version 2: cleanup once, when the context is gone, with loop_ud. */
    ccai_loop_hooks v2 = {CCAI_LOOP_HOOKS_VERSION, null_loop_watch, null_loop_timer, count_cleanup};
    assert_int_equal(CCAI_LOOP_HOOKS_VERSION, 2);
    assert_int_equal(ccai_ctx_new(cfg, &v2, &marker, &ctx, NULL), CCAI_OK);
    assert_int_equal(cleanups, 0);
    ccai_ctx_free(ctx);
    assert_int_equal(cleanups, 1);
    assert_ptr_equal(cleanup_ud, &marker);

    /* A context that could not be made: no cleanup call. */
    ccai_config *bad = NULL;
    assert_int_equal(ccai_config_new(&bad), CCAI_OK);
    assert_int_equal(ccai_config_set(bad, "database.sqlite.path", "/nonexistent/dir/x.sqlite"),
                     CCAI_OK);
    ctx = NULL;
    assert_int_equal(ccai_ctx_new(bad, &v2, &marker, &ctx, NULL), CCAI_ERR_STORE);
    assert_null(ctx);
    assert_int_equal(cleanups, 1);
    ccai_config_free(bad);

    /* Versions this library does not know. */
    v2.version = 3;
    assert_int_equal(ccai_ctx_new(cfg, &v2, &marker, &ctx, NULL), CCAI_ERR_INVALID_ARG);
    v2.version = 0;
    assert_int_equal(ccai_ctx_new(cfg, &v2, &marker, &ctx, NULL), CCAI_ERR_INVALID_ARG);
    ccai_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hooks_versions),
        cmocka_unit_test(test_poll_SAY_IN_EVENT),
        cmocka_unit_test(test_poll_HANGUP_IN_EVENT),
        cmocka_unit_test(test_poll_SAY_IN_FD),
        cmocka_unit_test(test_poll_SAY_IN_TIMER),
        cmocka_unit_test(test_poll_HANGUP_IN_TIMER),
#ifdef CCAI_TEST_LIBEVENT
        cmocka_unit_test(test_libevent_SAY_IN_EVENT),
        cmocka_unit_test(test_libevent_HANGUP_IN_EVENT),
        cmocka_unit_test(test_libevent_SAY_IN_FD),
        cmocka_unit_test(test_libevent_SAY_IN_TIMER),
        cmocka_unit_test(test_libevent_HANGUP_IN_TIMER),
#endif
    };
    return cmocka_run_group_tests_name("adapters", tests, NULL, NULL);
}
