/* The timer heap and the context's timers on the host's one timer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "engine/engine.h"
#include "io/io.h"

#include <stdlib.h>
#include <string.h>

/* Heap ---------------------------------------------------------------------- */

static void test_heap_order_random(void **state)
{
    (void)state;
    enum { N = 2000 };
    static Ccai_timer t[N];
    Ccai_timer_heap h = {0};
    srand(42);
    for (int i = 0; i < N; i++) {
        Ccai_timer_init(&t[i], NULL, NULL);
        t[i].due = (uint64_t)(rand() % 500);
        Ccai_timer_heap_push(&h, &t[i]);
    }
    /* Remove a third at random positions. */
    for (int i = 0; i < N; i += 3)
        Ccai_timer_heap_remove(&h, &t[i]);
    for (int i = 0; i < N; i += 3)
        assert_false(Ccai_timer_active(&t[i]));
    uint64_t last_due = 0, last_seq = 0;
    size_t popped = 0;
    Ccai_timer *top;
    while ((top = Ccai_timer_heap_peek(&h))) {
        assert_true(top->due >= last_due);
        if (top->due == last_due && popped)
            assert_true(top->seq > last_seq); /* FIFO among equal deadlines */
        last_due = top->due;
        last_seq = top->seq;
        Ccai_timer_heap_remove(&h, top);
        popped++;
    }
    assert_int_equal(popped, N - (N + 2) / 3);
    Ccai_timer_heap_free(&h);
}

static void test_heap_remove_inactive_is_noop(void **state)
{
    (void)state;
    Ccai_timer_heap h = {0};
    Ccai_timer a, b;
    Ccai_timer_init(&a, NULL, NULL);
    Ccai_timer_init(&b, NULL, NULL);
    Ccai_timer_heap_remove(&h, &a);
    Ccai_timer_heap_push(&h, &b);
    Ccai_timer_heap_remove(&h, &a);
    assert_ptr_equal(Ccai_timer_heap_peek(&h), &b);
    Ccai_timer_heap_free(&h);
    assert_false(Ccai_timer_active(&b));
}

/* Context timers with a fake loop and clock ------------------------------------ */

typedef struct fake_loop {
    int64_t armed; /* last set_timer value, -1 when disarmed */
    int set_calls;
    uint64_t now;
} fake_loop;

static int fake_watch(void *ud, int fd, int events, void **slot)
{
    (void)ud;
    (void)fd;
    (void)events;
    (void)slot;
    return 0;
}

static int fake_set_timer(void *ud, int64_t ms)
{
    fake_loop *l = ud;
    l->armed = ms;
    l->set_calls++;
    return 0;
}

static uint64_t fake_now(void *ud)
{
    return ((fake_loop *)ud)->now;
}

typedef struct fired {
    int order[16];
    int n;
    ccai_ctx *ctx;
    Ccai_timer *rearm; /* re-arm this timer with 0 ms when it fires */
} fired;

typedef struct tagged {
    Ccai_timer t;
    int tag;
    fired *f;
} tagged;

static void on_fire(Ccai_timer *t, void *ud)
{
    tagged *tg = ud;
    fired *f = tg->f;
    if (f->n < 16)
        f->order[f->n] = tg->tag;
    f->n++;
    if (f->rearm == t)
        Ccai_timer_start(f->ctx, t, 0);
}

/* The host's timer fired: it is disarmed until libccai arms it again. */
static void fire(ccai_ctx *ctx, fake_loop *l)
{
    l->armed = -1;
    ccai_ctx_timeout(ctx);
}

/* A context whose only timers are the test's: the call sweep's periodic
 * timer (engine/sweep.c) is stopped, so the host's timer can be seen
 * disarmed. */
static ccai_ctx *make_ctx(fake_loop *l, ccai_config **cfg)
{
    assert_int_equal(ccai_config_new(cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(*cfg, "database.sqlite.path", ":memory:"), CCAI_OK);
    ccai_loop_hooks hooks = {CCAI_LOOP_HOOKS_VERSION, fake_watch, fake_set_timer, NULL};
    ccai_ctx *ctx = NULL;
    l->armed = -1;
    assert_int_equal(ccai_ctx_new(*cfg, &hooks, l, &ctx, NULL), CCAI_OK);
    Ccai_ctx_set_clock(ctx, fake_now, l);
    Ccai_sweep_free(Ccai_ctx_engine(ctx));
    return ctx;
}

/* The sweep's timer runs as long as the context, yet an idle context is
 * not busy (a host loop that runs "while busy" ends); an injected clock
 * keeps the time a timer had left. */
static void test_ctx_background_timer(void **state)
{
    (void)state;
    fake_loop l = {.now = 5000, .armed = -1};
    ccai_config *cfg;
    assert_int_equal(ccai_config_new(&cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "database.sqlite.path", ":memory:"), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "conversation.takeback_window_sec", "8"), CCAI_OK);
    /* The sweep's timer is the next one: the leases' renewal comes later. */
    assert_int_equal(ccai_config_set(cfg, "server.call_lease_ms", "600000"), CCAI_OK);
    ccai_loop_hooks hooks = {CCAI_LOOP_HOOKS_VERSION, fake_watch, fake_set_timer, NULL};
    ccai_ctx *ctx = NULL;
    assert_int_equal(ccai_ctx_new(cfg, &hooks, &l, &ctx, NULL), CCAI_OK);
    Ccai_ctx_set_clock(ctx, fake_now, &l);
    /* A quarter of the window, less the real time ccai_ctx_new() took
     * after starting it (from now on the clock is the test's). */
    int64_t left = l.armed;
    assert_true(left > 100 && left <= 2000);
    assert_false(ccai_ctx_busy(ctx));
    fired f = {.ctx = ctx};
    tagged a = {.tag = 1, .f = &f};
    Ccai_timer_init(&a.t, on_fire, &a);
    Ccai_timer_start(ctx, &a.t, 100);
    assert_true(ccai_ctx_busy(ctx)); /* work in flight */
    assert_int_equal(l.armed, 100);
    l.now += 100;
    fire(ctx, &l);
    assert_int_equal(f.n, 1);
    assert_false(ccai_ctx_busy(ctx));
    assert_int_equal(l.armed, left - 100); /* the sweep again */
    l.now += 2000;
    fire(ctx, &l); /* the sweep ran and re-armed itself */
    assert_int_equal(l.armed, 2000);
    assert_false(ccai_ctx_busy(ctx));
    ccai_ctx_free(ctx);
    ccai_config_free(cfg);
}

static void test_ctx_timers_fire_in_order(void **state)
{
    (void)state;
    fake_loop l = {.now = 1000};
    ccai_config *cfg;
    ccai_ctx *ctx = make_ctx(&l, &cfg);
    fired f = {.ctx = ctx};
    tagged a = {.tag = 1, .f = &f}, b = {.tag = 2, .f = &f}, c = {.tag = 3, .f = &f};
    Ccai_timer_init(&a.t, on_fire, &a);
    Ccai_timer_init(&b.t, on_fire, &b);
    Ccai_timer_init(&c.t, on_fire, &c);

    Ccai_timer_start(ctx, &a.t, 300);
    assert_int_equal(l.armed, 300);
    Ccai_timer_start(ctx, &b.t, 100);
    assert_int_equal(l.armed, 100); /* the host's one timer follows the earliest */
    Ccai_timer_start(ctx, &c.t, 200);
    assert_int_equal(l.armed, 100);
    assert_true(ccai_ctx_busy(ctx));

    l.now = 1100;
    fire(ctx, &l);
    assert_int_equal(f.n, 1);
    assert_int_equal(f.order[0], 2);
    assert_int_equal(l.armed, 100); /* c is due at 1200 */

    Ccai_timer_stop(ctx, &c.t);
    assert_int_equal(l.armed, 200); /* only a at 1300 is left */

    l.now = 5000; /* late: everything due fires at once */
    fire(ctx, &l);
    assert_int_equal(f.n, 2);
    assert_int_equal(f.order[1], 1);
    assert_int_equal(l.armed, -1);
    assert_false(ccai_ctx_busy(ctx));
    ccai_ctx_free(ctx);
    ccai_config_free(cfg);
}

/* An idle timer (a silence timeout waiting for the caller) fires like any
 * other but is no work in flight: a host draining its work on shutdown
 * (ccai_ctx_busy) does not wait for it. */
static void test_ctx_idle_timer(void **state)
{
    (void)state;
    fake_loop l = {.now = 1000};
    ccai_config *cfg;
    ccai_ctx *ctx = make_ctx(&l, &cfg);
    fired f = {.ctx = ctx};
    tagged idle = {.tag = 1, .f = &f}, work = {.tag = 2, .f = &f};
    Ccai_timer_init(&idle.t, on_fire, &idle);
    Ccai_timer_set_idle(&idle.t, true);
    Ccai_timer_init(&work.t, on_fire, &work);
    Ccai_timer_start(ctx, &idle.t, 100);
    assert_false(ccai_ctx_busy(ctx));
    assert_int_equal(l.armed, 100);
    Ccai_timer_start(ctx, &work.t, 200);
    assert_true(ccai_ctx_busy(ctx));
    Ccai_timer_start(ctx, &idle.t, 50); /* restarted: counted once */
    Ccai_timer_stop(ctx, &work.t);
    assert_false(ccai_ctx_busy(ctx));
    l.now = 1050;
    fire(ctx, &l);
    assert_int_equal(f.n, 1);
    assert_int_equal(f.order[0], 1);
    assert_false(ccai_ctx_busy(ctx));
    Ccai_timer_start(ctx, &work.t, 10);
    assert_true(ccai_ctx_busy(ctx));
    ccai_ctx_free(ctx);
    ccai_config_free(cfg);
}

static void test_ctx_timer_restart_does_not_spin(void **state)
{
    (void)state;
    fake_loop l = {.now = 0};
    ccai_config *cfg;
    ccai_ctx *ctx = make_ctx(&l, &cfg);
    fired f = {.ctx = ctx};
    tagged a = {.tag = 7, .f = &f};
    Ccai_timer_init(&a.t, on_fire, &a);
    f.rearm = &a.t;
    Ccai_timer_start(ctx, &a.t, 10);
    l.now = 10;
    fire(ctx, &l);
    /* Fired once; re-armed for "now", left for the next loop turn. */
    assert_int_equal(f.n, 1);
    assert_true(Ccai_timer_active(&a.t));
    assert_int_equal(l.armed, 0);
    fire(ctx, &l);
    assert_int_equal(f.n, 2);
    Ccai_timer_stop(ctx, &a.t);
    assert_int_equal(l.armed, -1);
    ccai_ctx_free(ctx);
    ccai_config_free(cfg);
}

static void test_ctx_many_timers(void **state)
{
    (void)state;
    enum { N = 10000 };
    fake_loop l = {.now = 0};
    ccai_config *cfg;
    ccai_ctx *ctx = make_ctx(&l, &cfg);
    static tagged t[N];
    fired f = {.ctx = ctx};
    for (int i = 0; i < N; i++) {
        t[i].tag = 0;
        t[i].f = &f;
        Ccai_timer_init(&t[i].t, on_fire, &t[i]);
        Ccai_timer_start(ctx, &t[i].t, (uint64_t)(N - i));
    }
    assert_int_equal(l.armed, 1);
    int fires = 0;
    for (uint64_t now = 1; now <= N; now += 997) {
        l.now = now;
        f.n = 0;
        fire(ctx, &l);
        fires += f.n;
        f.n = 0;
    }
    l.now = N;
    fire(ctx, &l);
    fires += f.n;
    assert_int_equal(fires, N); /* each exactly once */
    assert_false(ccai_ctx_busy(ctx));
    ccai_ctx_free(ctx);
    ccai_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heap_order_random),
        cmocka_unit_test(test_heap_remove_inactive_is_noop),
        cmocka_unit_test(test_ctx_timers_fire_in_order),
        cmocka_unit_test(test_ctx_idle_timer),
        cmocka_unit_test(test_ctx_timer_restart_does_not_spin),
        cmocka_unit_test(test_ctx_many_timers),
        cmocka_unit_test(test_ctx_background_timer),
    };
    return cmocka_run_group_tests_name("timer", tests, NULL, NULL);
}
