/* Foundation figures: timer heap operations, call start and event handling
 * with SQLite on disk (durable writes), percentiles of one event.
 *
 *   build/bench/bench-foundation [calls]   (default 2000)
 */
#include <ccai/adapters/poll.h>

#include "io/io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(double *v, size_t n, double p)
{
    size_t i = (size_t)(p * (double)(n - 1));
    return v[i];
}

static void report(const char *what, double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    printf("%-34s n=%-6zu mean=%8.1f us  p50=%8.1f us  p99=%8.1f us  max=%8.1f us\n", what, n,
           sum / (double)n, pct(v, n, 0.50), pct(v, n, 0.99), v[n - 1]);
}

static void noop(Ccai_timer *t, void *ud)
{
    (void)t;
    (void)ud;
}

static void bench_timers(void)
{
    enum { N = 200000 };
    Ccai_timer *t = calloc(N, sizeof *t);
    Ccai_timer_heap h = {0};
    srand(1);
    double t0 = now_us();
    for (int i = 0; i < N; i++) {
        Ccai_timer_init(&t[i], noop, NULL);
        t[i].due = (uint64_t)rand();
        Ccai_timer_heap_push(&h, &t[i]);
    }
    double t1 = now_us();
    for (int i = 0; i < N; i += 2)
        Ccai_timer_heap_remove(&h, &t[i]);
    double t2 = now_us();
    while (Ccai_timer_heap_peek(&h))
        Ccai_timer_heap_remove(&h, Ccai_timer_heap_peek(&h));
    double t3 = now_us();
    printf("timer heap: push %.0f ns/op, remove (random) %.0f ns/op, pop-min %.0f ns/op "
           "(%d timers)\n",
           (t1 - t0) * 1e3 / N, (t2 - t1) * 1e3 / (N / 2), (t3 - t2) * 1e3 / (N / 2), N);
    Ccai_timer_heap_free(&h);
    free(t);
}

static ccai_status send(ccai_call *c, ccai_event_type type, const char *text)
{
    ccai_event *ev = NULL;
    ccai_status st = ccai_event_new(type, &ev);
    if (st == CCAI_OK && text)
        st = ccai_event_set_text(ev, text);
    if (st == CCAI_OK)
        st = ccai_on_event(c, ev);
    ccai_event_free(ev);
    return st;
}

static int bench_calls(size_t calls, const char *sync)
{
    char dir[] = "/tmp/ccai-bench-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char path[256];
    snprintf(path, sizeof path, "%s/bench.sqlite", dir);
    ccai_config *cfg = NULL;
    ccai_poll *p = NULL;
    ccai_ctx *ctx = NULL;
    if (ccai_config_new(&cfg) != CCAI_OK ||
        ccai_config_set(cfg, "database.sqlite.path", path) != CCAI_OK ||
        ccai_config_set(cfg, "database.sqlite.synchronous", sync) != CCAI_OK ||
        ccai_poll_new(cfg, &p, &ctx, NULL) != CCAI_OK) {
        fprintf(stderr, "bench: cannot set up\n");
        return 1;
    }
    double *start = calloc(calls, sizeof *start);
    double *speech = calloc(calls, sizeof *speech);
    double *hangup = calloc(calls, sizeof *hangup);
    ccai_call_ops ops = {.version = CCAI_CALL_OPS_VERSION};
    double t0 = now_us();
    for (size_t i = 0; i < calls; i++) {
        char phone[32];
        snprintf(phone, sizeof phone, "+1415%07zu", i);
        ccai_call_params prm = {.version = CCAI_CALL_PARAMS_VERSION,
                                .direction = CCAI_INBOUND,
                                .phone_number = phone,
                                .channel = "local"};
        ccai_call *c = NULL;
        double a = now_us();
        if (ccai_call_start(ctx, &prm, &ops, NULL, &c) != CCAI_OK) {
            fprintf(stderr, "bench: start: %s\n", ccai_ctx_errmsg(ctx));
            return 1;
        }
        double b = now_us();
        send(c, CCAI_EVENT_CONNECTED, NULL);
        double s0 = now_us();
        send(c, CCAI_EVENT_SPEECH, "My car was hit last night on the A6 near Lyon.");
        double s1 = now_us();
        send(c, CCAI_EVENT_HANGUP, NULL);
        double s2 = now_us();
        start[i] = b - a;
        speech[i] = s1 - s0;
        hangup[i] = s2 - s1;
        ccai_call_free(c);
    }
    double t1 = now_us();
    printf("\nstore: SQLite WAL, synchronous=%s, on %s (no LLM: the offline dialogue answers)\n",
           sync, dir);
    report("ccai_call_start", start, calls);
    report("speech event (stored message)", speech, calls);
    report("hangup event (transaction + job)", hangup, calls);
    printf("whole calls: %.0f calls/s (start, connected, speech, hangup, free)\n",
           (double)calls / ((t1 - t0) / 1e6));
    free(start);
    free(speech);
    free(hangup);
    ccai_poll_free(p);
    ccai_config_free(cfg);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    size_t calls = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 2000;
    if (calls == 0)
        calls = 1;
    bench_timers();

    int rc = bench_calls(calls, "normal");
    if (rc == 0)
        rc = bench_calls(calls, "full");
    return rc;
}
