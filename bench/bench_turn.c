/* Turn figures against the local LLM stand-in (tests/support/llm_standin.c),
 * printed at the end next to the targets of DESIGN.md section 9.
 *
 * 1. Engine overhead per turn, the stand-in answering at once (ttft 0, no
 *    delay between chunks) so that only libccai's share is left:
 *    (a) caller text in (just before ccai_on_event(SPEECH)) -> the stand-in
 *        has read the whole request;
 *    (b) the stand-in has sent the first content piece -> ccai_call_ops.say
 *        fires for it.
 *    Both clocks are CLOCK_MONOTONIC of one process. Run on the durable
 *    store (--db, SQLite WAL) with synchronous=full (an fsync per commit),
 *    with the library's default (normal) and on ":memory:".
 * 2. Concurrency: --calls calls (a list: one run each) of --turns turns on
 *    ONE ccai_ctx (libevent adapter, or poll with --loop poll) against the
 *    stand-in in a child process with realistic latency (--ttft, --chunk-ms,
 *    --chunks pieces); per-turn latency (caller text in -> last say of the
 *    answer) against the stand-in's own (request read -> last content piece
 *    sent), throughput, memory per call in progress (RSS delta, and
 *    libccai's own heap through ccai_set_allocator), and the CPU time of
 *    each process per turn (the stand-in's is its own, not libccai's).
 * 3. Capacity of one engine thread: --cap-calls calls answer --cap-turns
 *    turns each back to back, the stand-in answering at once; turns per
 *    second of wall time, and per second of the engine process's CPU time
 *    (user + system: what one engine thread sustains when the LLM is on
 *    another machine), the stand-in's CPU per turn beside it.
 * 4. The figures against the targets.
 *
 *   build/bench/bench-turn [--calls N[:MS][,...]] [--turns K] [--ttft MS] [--chunk-ms MS]
 *                          [--chunks N] [--db PATH] [--think-ms MS] [--ramp-ms MS]
 *                          [--lat-calls N] [--lat-turns K] [--cap-calls N] [--cap-turns K]
 *                          [--loop libevent|poll] [--sync full|normal]
 *                          [--no-latency] [--no-concurrency] [--no-capacity]
 */
#include <ccai/adapters/poll.h>
#include <ccai/ccai.h>
#ifdef CCAI_BENCH_LIBEVENT
#include <ccai/adapters/libevent.h>
#include <event2/event.h>
#endif

#include "support/llm_standin.h"

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CCAI_BENCH_BUILDTYPE
#define CCAI_BENCH_BUILDTYPE "unknown"
#endif
#ifndef CCAI_BENCH_SANITIZE
#define CCAI_BENCH_SANITIZE "unknown"
#endif

/* ---- options ---------------------------------------------------------- */

#define MAX_RUNS 4

typedef struct opts {
    int calls[MAX_RUNS], n_calls; /* part 2: one run per entry */
    int think[MAX_RUNS];          /* its callers' think time; < 0: think_ms */
    int turns, ttft_ms, chunk_ms, chunks;
    int think_ms, ramp_ms; /* < 0: as many ms as the run has calls */
    int lat_calls, lat_turns;
    int cap_calls, cap_turns;
    int use_libevent;
    int latency, concurrency, capacity;
    const char *db;   /* NULL: a file in a fresh temporary directory */
    const char *sync; /* database.sqlite.synchronous for parts 2 and 3; NULL = default */
} opts;

static void usage(FILE *f)
{
    fprintf(f, "usage: bench-turn [--calls N[:MS][,...]] [--turns K] [--ttft MS] [--chunk-ms MS]\n"
               "                  [--chunks N] [--db PATH] [--think-ms MS] [--ramp-ms MS]\n"
               "                  [--lat-calls N] [--lat-turns K] [--cap-calls N] [--cap-turns K]\n"
               "                  [--loop libevent|poll] [--sync full|normal]\n"
               "                  [--no-latency] [--no-concurrency] [--no-capacity]\n"
               "  --calls: part 2 runs once per number of calls, N:MS with its callers' think\n"
               "    time (default 1000:1000,5000:10000: about the same turns offered per second)\n"
               "  --think-ms: callers think 0..MS between turns in runs without their own\n"
               "    (default: as many ms as the run has calls)\n"
               "  --ramp-ms: calls start over MS (default: as many ms as the run has calls)\n");
}

static int parse_int(const char *s, int min, int *out)
{
    char *end = NULL;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || errno || *end || v < min || v > 1000000000L)
        return -1;
    *out = (int)v;
    return 0;
}

/* "1000,5000:10000": calls, and optionally the callers' think time. */
static int parse_runs(const char *s, int *calls, int *think, int *n)
{
    char tmp[128];
    if (!s || strlen(s) >= sizeof tmp)
        return -1;
    snprintf(tmp, sizeof tmp, "%s", s);
    *n = 0;
    for (char *save = NULL, *t = strtok_r(tmp, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(t, ':');
        if (colon)
            *colon = '\0';
        if (*n == MAX_RUNS)
            return -1;
        think[*n] = -1;
        if (parse_int(t, 1, &calls[*n]) != 0 || (colon && parse_int(colon + 1, 0, &think[*n]) != 0))
            return -1;
        (*n)++;
    }
    return *n ? 0 : -1;
}

static int parse_opts(int argc, char **argv, opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int rc = 0;
        if (!strcmp(a, "--calls"))
            rc = parse_runs(v, o->calls, o->think, &o->n_calls), i++;
        else if (!strcmp(a, "--turns"))
            rc = parse_int(v, 1, &o->turns), i++;
        else if (!strcmp(a, "--ttft"))
            rc = parse_int(v, 0, &o->ttft_ms), i++;
        else if (!strcmp(a, "--chunk-ms"))
            rc = parse_int(v, 0, &o->chunk_ms), i++;
        else if (!strcmp(a, "--chunks"))
            rc = parse_int(v, 1, &o->chunks), i++;
        else if (!strcmp(a, "--think-ms"))
            rc = parse_int(v, 0, &o->think_ms), i++;
        else if (!strcmp(a, "--ramp-ms"))
            rc = parse_int(v, 0, &o->ramp_ms), i++;
        else if (!strcmp(a, "--lat-calls"))
            rc = parse_int(v, 1, &o->lat_calls), i++;
        else if (!strcmp(a, "--lat-turns"))
            rc = parse_int(v, 1, &o->lat_turns), i++;
        else if (!strcmp(a, "--cap-calls"))
            rc = parse_int(v, 1, &o->cap_calls), i++;
        else if (!strcmp(a, "--cap-turns"))
            rc = parse_int(v, 1, &o->cap_turns), i++;
        else if (!strcmp(a, "--db"))
            rc = v ? (o->db = v, 0) : -1, i++;
        else if (!strcmp(a, "--sync"))
            rc = v && (!strcmp(v, "full") || !strcmp(v, "normal")) ? (o->sync = v, 0) : -1, i++;
        else if (!strcmp(a, "--loop")) {
            if (v && !strcmp(v, "poll"))
                o->use_libevent = 0;
            else if (v && !strcmp(v, "libevent"))
                o->use_libevent = 1;
            else
                rc = -1;
            i++;
        } else if (!strcmp(a, "--no-latency"))
            o->latency = 0;
        else if (!strcmp(a, "--no-concurrency"))
            o->concurrency = 0;
        else if (!strcmp(a, "--no-capacity"))
            o->capacity = 0;
        else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            exit(0);
        } else
            rc = -1;
        if (rc) {
            fprintf(stderr, "bench-turn: bad argument near '%s'\n", a);
            usage(stderr);
            return -1;
        }
    }
#ifndef CCAI_BENCH_LIBEVENT
    if (o->use_libevent) {
        fprintf(stderr, "bench-turn: built without libevent, using poll\n");
        o->use_libevent = 0;
    }
#endif
    return 0;
}

/* ---- clocks, statistics, machine -------------------------------------- */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CPU time of every thread of this process, in user space and in the
 * kernel (system calls, the loopback network). */
typedef struct cputime {
    uint64_t user, sys; /* ns */
} cputime;

static cputime cpu_now(void)
{
    struct rusage ru;
    cputime t = {0, 0};
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        t.user = (uint64_t)ru.ru_utime.tv_sec * 1000000000u + (uint64_t)ru.ru_utime.tv_usec * 1000u;
        t.sys = (uint64_t)ru.ru_stime.tv_sec * 1000000000u + (uint64_t)ru.ru_stime.tv_usec * 1000u;
    }
    return t;
}

static cputime cpu_since(cputime t0)
{
    cputime t = cpu_now();
    t.user -= t0.user;
    t.sys -= t0.sys;
    return t;
}

typedef struct series {
    double *v;
    size_t n, cap;
} series;

static void series_add(series *s, double x)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        double *v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = x;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void series_sort(series *s)
{
    if (s->n)
        qsort(s->v, s->n, sizeof *s->v, cmp_double);
}

/* Nearest rank on a sorted series. */
static double pct(const series *s, double p)
{
    if (!s->n)
        return 0;
    size_t i = (size_t)(p * (double)s->n + 0.999999);
    if (i < 1)
        i = 1;
    if (i > s->n)
        i = s->n;
    return s->v[i - 1];
}

static double mean(const series *s)
{
    double sum = 0;
    for (size_t i = 0; i < s->n; i++)
        sum += s->v[i];
    return s->n ? sum / (double)s->n : 0;
}

static void report(const char *what, series *s, const char *unit)
{
    series_sort(s);
    printf("  %-44s n=%-6zu p50=%9.1f p90=%9.1f p99=%9.1f max=%9.1f mean=%9.1f %s\n", what, s->n,
           pct(s, 0.50), pct(s, 0.90), pct(s, 0.99), s->n ? s->v[s->n - 1] : 0.0, mean(s), unit);
}

static void series_free(series *s)
{
    free(s->v);
    memset(s, 0, sizeof *s);
}

static size_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, resident = 0;
    if (f) {
        if (fscanf(f, "%lu %lu", &size, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

static void print_machine(const opts *o)
{
    char model[256] = "unknown";
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f)) {
            if (!strncmp(line, "model name", 10)) {
                const char *c = strchr(line, ':');
                if (c) {
                    c++;
                    while (*c == ' ' || *c == '\t')
                        c++;
                    snprintf(model, sizeof model, "%s", c);
                    model[strcspn(model, "\n")] = '\0';
                }
                break;
            }
        }
        fclose(f);
    }
    struct utsname u;
    memset(&u, 0, sizeof u);
    uname(&u);
    struct rlimit rl = {0, 0};
    getrlimit(RLIMIT_NOFILE, &rl);
    printf("== machine\n");
    printf("  cpus online: %ld   cpu: %s\n", sysconf(_SC_NPROCESSORS_ONLN), model);
    printf("  kernel: %s %s %s   RLIMIT_NOFILE: %llu\n", u.sysname, u.release, u.machine,
           (unsigned long long)rl.rlim_cur);
    printf("  build: buildtype=%s sanitize=%s   libccai %s", CCAI_BENCH_BUILDTYPE,
           CCAI_BENCH_SANITIZE, ccai_version());
#ifdef CCAI_BENCH_LIBEVENT
    printf("   libevent %s", event_get_version());
#endif
    printf("   loop: %s\n", o->use_libevent ? "libevent adapter" : "poll adapter");
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* ---- libccai's own heap, counted through ccai_set_allocator ----------- */

static size_t heap_live; /* atomic: jansson hooks are process-wide */

static void *count_malloc(size_t size, void *ud)
{
    (void)ud;
    void *p = malloc(size);
    if (p)
        __atomic_add_fetch(&heap_live, malloc_usable_size(p), __ATOMIC_RELAXED);
    return p;
}

static void *count_realloc(void *ptr, size_t size, void *ud)
{
    (void)ud;
    size_t old = ptr ? malloc_usable_size(ptr) : 0;
    void *p = realloc(ptr, size);
    if (p) {
        __atomic_sub_fetch(&heap_live, old, __ATOMIC_RELAXED);
        __atomic_add_fetch(&heap_live, malloc_usable_size(p), __ATOMIC_RELAXED);
    }
    return p;
}

static void count_free(void *ptr, void *ud)
{
    (void)ud;
    if (!ptr)
        return;
    __atomic_sub_fetch(&heap_live, malloc_usable_size(ptr), __ATOMIC_RELAXED);
    free(ptr);
}

static size_t heap_bytes(void)
{
    return __atomic_load_n(&heap_live, __ATOMIC_RELAXED);
}

/* Bytes malloc'ed by every library of the process (libcurl and SQLite
 * allocate with malloc, not through ccai_set_allocator). */
static size_t malloc_bytes(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

/* ---- log sink: count what went wrong ---------------------------------- */

typedef struct logstat {
    int warns, errors, printed;
} logstat;

static logstat LOG;

static void on_log(ccai_log_level level, const char *msg, void *ud)
{
    (void)ud;
    if (level == CCAI_LOG_ERROR)
        LOG.errors++;
    else if (level == CCAI_LOG_WARN)
        LOG.warns++;
    if (level <= CCAI_LOG_WARN && LOG.printed < 5) {
        LOG.printed++;
        fprintf(stderr, "  [libccai %s] %s\n", ccai_log_level_str(level), msg);
    }
}

/* ---- the event loop: one of the two adapters --------------------------- */

typedef struct loop {
    int use_libevent;
    ccai_ctx *ctx;
    ccai_poll *poll;
#ifdef CCAI_BENCH_LIBEVENT
    struct event_base *base;
    ccai_libevent *ev;
    struct event *tick;
#endif
} loop;

#ifdef CCAI_BENCH_LIBEVENT
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}
#endif

static int loop_new(loop *L, int use_libevent, const ccai_config *cfg)
{
    char *err = NULL;
    ccai_status st;
    memset(L, 0, sizeof *L);
    L->use_libevent = use_libevent;
#ifdef CCAI_BENCH_LIBEVENT
    if (use_libevent) {
        L->base = event_base_new();
        L->tick = L->base ? evtimer_new(L->base, on_tick, NULL) : NULL;
        st = L->tick ? ccai_libevent_new(L->base, cfg, &L->ev, &L->ctx, &err) : CCAI_ERR_NOMEM;
    } else
#endif
        st = ccai_poll_new(cfg, &L->poll, &L->ctx, &err);
    if (st != CCAI_OK) {
        fprintf(stderr, "bench-turn: context: %s: %s\n", ccai_status_str(st), err ? err : "");
        ccai_free(err);
#ifdef CCAI_BENCH_LIBEVENT
        if (L->tick)
            event_free(L->tick);
        if (L->base)
            event_base_free(L->base);
#endif
        return -1;
    }
    return 0;
}

static void loop_once(loop *L, int max_wait_ms)
{
#ifdef CCAI_BENCH_LIBEVENT
    if (L->use_libevent) {
        struct timeval tv = {max_wait_ms / 1000, (max_wait_ms % 1000) * 1000};
        evtimer_add(L->tick, &tv);
        event_base_loop(L->base, EVLOOP_ONCE);
        evtimer_del(L->tick);
        return;
    }
#endif
    ccai_poll_run_once(L->poll, max_wait_ms);
}

static void loop_free(loop *L)
{
#ifdef CCAI_BENCH_LIBEVENT
    if (L->use_libevent) {
        ccai_libevent_free(L->ev);
        event_free(L->tick);
        event_base_free(L->base);
        return;
    }
#endif
    ccai_poll_free(L->poll);
}

/* ---- configuration ----------------------------------------------------- */

/* The store's durability as configured ("full", "normal"), for the labels. */
static const char *sync_of(const ccai_config *cfg, const char *db)
{
    if (!strcmp(db, ":memory:"))
        return "none (in memory)";
    const char *v = ccai_config_get(cfg, "database.sqlite.synchronous");
    return v ? v : "full (fixed)";
}

/* sync: database.sqlite.synchronous, NULL = the library's default. */
static ccai_config *make_config(const char *db, const char *sync, int port)
{
    char ep[128];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d/v1", port);
    const char *kv[][2] = {
        {"database.sqlite.path", db},
        {"llm.fast.mode", "openai_compatible"},
        {"llm.fast.endpoint", ep},
        {"llm.fast.api_key", "none"},
        {"llm.fast.model", "standin-model"},
        {"llm.fast.timeout_connect_ms", "60000"},
        {"llm.fast.timeout_first_byte_ms", "120000"},
        {"llm.fast.timeout_idle_ms", "120000"},
        /* No filler, no give-up, no "are you still there?" while measuring. */
        {"conversation.answer_soft_timeout_sec", "590"},
        {"conversation.answer_hard_timeout_sec", "600"},
        {"conversation.phone_silence_timeout_sec", "3600"},
    };
    ccai_config *cfg = NULL;
    if (ccai_config_new(&cfg) != CCAI_OK)
        return NULL;
    ccai_config_set_logger(cfg, on_log, NULL, CCAI_LOG_WARN);
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++) {
        if (ccai_config_set(cfg, kv[i][0], kv[i][1]) != CCAI_OK) {
            fprintf(stderr, "bench-turn: config %s: %s\n", kv[i][0], ccai_config_errmsg(cfg));
            ccai_config_free(cfg);
            return NULL;
        }
    }
    if (sync && ccai_config_set(cfg, "database.sqlite.synchronous", sync) != CCAI_OK) {
        fprintf(stderr, "bench-turn: database.sqlite.synchronous=%s not accepted: %s\n", sync,
                ccai_config_errmsg(cfg));
        ccai_config_free(cfg);
        return NULL;
    }
    return cfg;
}

/* The answer: sentences end with a space so that each is spoken when its
 * last piece arrives (the first piece is a whole sentence: its say is what
 * figure (b) times), and the last say comes with the last piece. */
static void answer_pieces(int n, const char ***ret, size_t *ret_n)
{
    static const char *const base[] = {"I am sorry to hear that. ",
                                       "Is ",
                                       "anyone ",
                                       "hurt? ",
                                       "Tell ",
                                       "me ",
                                       "where ",
                                       "it ",
                                       "happened, ",
                                       "please. "};
    const char **v = calloc((size_t)n, sizeof *v);
    if (!v) {
        *ret = NULL;
        *ret_n = 0;
        return;
    }
    if (n <= 10) {
        v[0] = base[0];
        for (int i = 1; i < n; i++)
            v[i] = base[10 - n + i];
        if (n > 1)
            v[n - 1] = base[9];
    } else {
        for (int i = 0; i < n; i++)
            v[i] = i < 9 ? base[i] : (i == n - 1 ? base[9] : "and ");
    }
    *ret = v;
    *ret_n = (size_t)n;
}

static int sentences_of(const char *const *v, size_t n)
{
    int k = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(v[i]);
        if (len >= 2 && strchr(".?!", v[i][len - 2]))
            k++;
    }
    return k;
}

static ccai_status send_event(ccai_call *c, ccai_event_type type, const char *text)
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

static const char *const CALLER_LINES[] = {
    "My car was hit last night on the A6 near Lyon.",
    "Nobody was hurt, but the rear bumper is broken.",
    "It happened around eleven in the evening.",
    "The other driver gave me his insurance details.",
    "My policy number is 4 4 1 2 9 8.",
    "Can you send somebody to look at the car?",
    "I would rather be called back tomorrow morning.",
    "My email is jane.doe at example dot com.",
    "Yes, that is all, thank you.",
    "Could you repeat the claim number please?",
};
#define N_LINES (sizeof CALLER_LINES / sizeof CALLER_LINES[0])

/* ---- one call's bookkeeping (both parts) ------------------------------ */

typedef struct bcall {
    ccai_call *call;
    int idx;
    int turns_done;
    int in_turn;   /* between the SPEECH event and the end of the turn */
    int turn_over; /* the turn state went back to conversation */
    int says;
    int live;
    uint64_t t_in, first_say, last_say;
} bcall;

typedef struct conc conc;
static conc *CONC; /* part 2's state, for the callbacks */
static void conc_turn_over(bcall *b);

static int on_say(ccai_call *call, const ccai_speech *sp, void *ud)
{
    (void)call;
    (void)sp;
    bcall *b = ud;
    if (b->in_turn) {
        uint64_t t = now_ns();
        if (!b->first_say)
            b->first_say = t;
        b->last_say = t;
        b->says++;
    }
    return 0;
}

static void on_state(ccai_call *call, ccai_call_state old_state, ccai_call_state new_state,
                     void *ud)
{
    (void)call;
    bcall *b = ud;
    if (b->in_turn && old_state == CCAI_CALL_TURN && new_state == CCAI_CALL_CONVERSATION) {
        b->in_turn = 0;
        b->turn_over = 1;
        if (CONC)
            conc_turn_over(b);
    }
}

static const ccai_call_ops OPS = {
    .version = CCAI_CALL_OPS_VERSION, .say = on_say, .state_changed = on_state};

static ccai_call *start_call(ccai_ctx *ctx, int idx, bcall *b)
{
    char phone[32];
    snprintf(phone, sizeof phone, "+1415%07d", idx % 10000000);
    ccai_call_params prm = {.version = CCAI_CALL_PARAMS_VERSION,
                            .direction = CCAI_INBOUND,
                            .phone_number = phone,
                            .channel = "local"};
    ccai_call *c = NULL;
    if (ccai_call_start(ctx, &prm, &OPS, b, &c) != CCAI_OK) {
        fprintf(stderr, "bench-turn: call start: %s\n", ccai_ctx_errmsg(ctx));
        return NULL;
    }
    b->call = c;
    b->idx = idx;
    if (send_event(c, CCAI_EVENT_CONNECTED, NULL) != CCAI_OK)
        fprintf(stderr, "bench-turn: connected: %s\n", ccai_call_errmsg(c));
    return c;
}

/* ---- what the summary prints ------------------------------------------- */

typedef struct conc_result {
    int calls, think_ms;
    double p50_ratio, p99_ratio;
    double rss_kb, heap_kb;       /* per call in progress */
    double engine_us, standin_us; /* CPU per turn */
    int problems;
} conc_result;

static struct summary {
    int have_lat;
    double a_p99_us, b_p99_us; /* synchronous=normal, the library's default */
    conc_result conc[MAX_RUNS];
    int n_conc;
    int have_cap;
    double cap_cpu_tps, cap_wall_tps, cap_engine_us, cap_standin_us;
} SUM;

/* ---- part 1: engine overhead per turn ---------------------------------- */

typedef struct lat_result {
    series a, b;
    int anomalies;
    double seconds;
} lat_result;

static int run_latency(const opts *o, ccai_config *cfg, standin *si, lat_result *res)
{
    loop L;
    if (loop_new(&L, o->use_libevent, cfg) != 0)
        return -1;
    ccai_event *speech = NULL;
    if (ccai_event_new(CCAI_EVENT_SPEECH, &speech) != CCAI_OK)
        return -1;
    uint64_t t0 = now_ns();
    /* One warm-up call (connection, statements, caches), not counted. */
    for (int ci = -1; ci < o->lat_calls; ci++) {
        bcall b;
        memset(&b, 0, sizeof b);
        if (!start_call(L.ctx, ci + 1, &b)) {
            res->anomalies++;
            continue;
        }
        if (ci == 0)
            t0 = now_ns();
        for (int k = 0; k < o->lat_turns; k++) {
            ccai_event_set_text(speech, CALLER_LINES[(size_t)k % N_LINES]);
            int n0 = standin_request_count(si);
            b.in_turn = 1;
            b.turn_over = 0;
            b.first_say = b.last_say = 0;
            b.says = 0;
            uint64_t t_in = now_ns();
            ccai_status st = ccai_on_event(b.call, speech);
            uint64_t deadline = now_ns() + 30ull * 1000000000u;
            while (st == CCAI_OK && !b.turn_over && now_ns() < deadline)
                loop_once(&L, 100);
            if (st != CCAI_OK || !b.turn_over || standin_request_count(si) != n0 + 1 ||
                !b.first_say) {
                res->anomalies++;
                b.in_turn = 0;
                continue;
            }
            uint64_t rx = standin_request_received_ns(si, n0);
            uint64_t tok = standin_first_token_sent_ns(si, n0);
            if (ci < 0 || !rx || !tok)
                continue;
            series_add(&res->a, ((double)rx - (double)t_in) / 1e3);
            series_add(&res->b, ((double)b.first_say - (double)tok) / 1e3);
        }
        ccai_call_free(b.call);
    }
    res->seconds = (double)(now_ns() - t0) / 1e9;
    ccai_event_free(speech);
    loop_free(&L);
    return 0;
}

static void part_latency(const opts *o, const char *db)
{
    standin_opts so = {0};
    so.cycle = 1;
    so.no_record = 1;
    standin *si = standin_start(&so);
    if (!si) {
        fprintf(stderr, "bench-turn: cannot start the stand-in\n");
        return;
    }
    const char **pieces = NULL;
    size_t np = 0;
    answer_pieces(o->chunks, &pieces, &np);
    standin_spec sp = STANDIN_SPEC_INIT;
    sp.chunks = pieces;
    sp.n_chunks = np;
    sp.ttft_ms = 0;
    sp.chunk_ms = 0;
    standin_push(si, &sp);

    printf("\n== 1. engine overhead per turn (stand-in: ttft 0 ms, 0 ms between %zu pieces; "
           "%d calls x %d turns, one at a time)\n",
           np, o->lat_calls, o->lat_turns);
    printf(
        "  (a) caller text in (before ccai_on_event(SPEECH)) -> stand-in read the whole request\n"
        "  (b) stand-in sent the first content piece -> ccai_call_ops.say fired for it\n"
        "  Both include the loopback TCP hop and the host loop's wake-up; (a) also includes\n"
        "  storing the caller's words and the state change (SQLite WAL commits: with\n"
        "  synchronous=full each is fsync'ed) before the request goes out.\n");
    /* Durable with an fsync per commit, the library's default, in memory. */
    const char *dbs[3] = {db, db, ":memory:"};
    const char *syncs[3] = {"full", NULL, NULL};
    char seen[3][32] = {"", "", ""};
    for (int i = 0; i < 3; i++) {
        ccai_config *cfg = make_config(dbs[i], syncs[i], standin_port(si));
        if (!cfg && syncs[i])
            continue; /* a library without the key: the default is the same */
        if (!cfg)
            break;
        const char *sync = sync_of(cfg, dbs[i]);
        int dup = 0;
        for (int k = 0; k < i; k++)
            dup |= !strcmp(seen[k], sync);
        snprintf(seen[i], sizeof seen[i], "%s", sync);
        if (dup) {
            ccai_config_free(cfg);
            continue;
        }
        lat_result r;
        memset(&r, 0, sizeof r);
        int warns = LOG.warns, errors = LOG.errors;
        if (run_latency(o, cfg, si, &r) == 0) {
            printf("  store %s, synchronous=%s%s:\n", dbs[i], sync,
                   syncs[i] ? "" : " (library default)");
            report("(a) text in -> request read by the LLM", &r.a, "us");
            report("(b) first token sent -> first say", &r.b, "us");
            if (i == 1 && !strcmp(sync, "normal")) {
                SUM.have_lat = 1;
                SUM.a_p99_us = pct(&r.a, 0.99);
                SUM.b_p99_us = pct(&r.b, 0.99);
            }
            printf("  %zu turns in %.2f s (%.0f turns/s end to end, one at a time); anomalies %d, "
                   "libccai warnings %d, errors %d\n",
                   r.a.n, r.seconds, r.seconds > 0 ? (double)r.a.n / r.seconds : 0.0, r.anomalies,
                   LOG.warns - warns, LOG.errors - errors);
        }
        series_free(&r.a);
        series_free(&r.b);
        ccai_config_free(cfg);
    }
    free(pieces);
    standin_stop(si);
}

/* ---- part 2: concurrency ----------------------------------------------- */

/* The stand-in runs in a child process: its memory stays out of our RSS. */
typedef struct child {
    pid_t pid;
    int to, from;
    int port;
} child;

typedef struct child_cfg {
    int ttft_ms, chunk_ms, chunks;
} child_cfg;

static int read_all(int fd, void *p, size_t n)
{
    char *c = p;
    while (n) {
        ssize_t r = read(fd, c, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        c += r;
        n -= (size_t)r;
    }
    return 0;
}

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* One stand-in per configuration read from the pipe, until the pipe closes.
 * Its CPU time (the process's, the stand-in's thread doing the work) goes
 * back with its timings, so that the parent can tell its cost from ours. */
static void child_main(int in, int out)
{
    child_cfg cc;
    while (read_all(in, &cc, sizeof cc) == 0) {
        standin_opts so = {0};
        so.ttft_ms = cc.ttft_ms;
        so.chunk_ms = cc.chunk_ms;
        so.cycle = 1;
        so.no_record = 1;
        standin *si = standin_start(&so);
        int port = si ? standin_port(si) : -1;
        if (si) {
            const char **pieces = NULL;
            size_t np = 0;
            answer_pieces(cc.chunks, &pieces, &np);
            standin_spec sp = STANDIN_SPEC_INIT;
            sp.chunks = pieces;
            sp.n_chunks = np;
            standin_push(si, &sp);
            free(pieces);
        }
        cputime cpu0 = cpu_now();
        write_all(out, &port, sizeof port);
        char cmd;
        if (!si || read_all(in, &cmd, 1) != 0)
            break;
        standin_stats st;
        standin_get_stats(si, &st);
        cputime cpu = cpu_since(cpu0);
        size_t n = (size_t)standin_request_count(si);
        standin_timing *t = calloc(n ? n : 1, sizeof *t);
        n = t ? standin_timings(si, 0, t, n) : 0;
        write_all(out, &st, sizeof st);
        write_all(out, &cpu, sizeof cpu);
        write_all(out, &n, sizeof n);
        write_all(out, t, n * sizeof *t);
        free(t);
        standin_stop(si);
    }
    _exit(0);
}

static int child_fork(child *ch)
{
    int a[2], b[2];
    if (pipe(a) || pipe(b))
        return -1;
    ch->pid = fork();
    if (ch->pid < 0)
        return -1;
    if (ch->pid == 0) {
        close(a[1]);
        close(b[0]);
        child_main(a[0], b[1]);
    }
    close(a[0]);
    close(b[1]);
    ch->to = a[1];
    ch->from = b[0];
    return 0;
}

static void child_end(child *ch)
{
    if (ch->pid <= 0)
        return;
    close(ch->to);
    close(ch->from);
    waitpid(ch->pid, NULL, 0);
    ch->pid = 0;
}

enum { ACT_START, ACT_TURN, ACT_FREE };

typedef struct act {
    uint64_t due;
    int idx, kind;
} act;

/* One run of part 2 or 3. */
typedef struct run_cfg {
    int calls, turns, ttft_ms, chunk_ms, chunks, think_ms, ramp_ms;
} run_cfg;

struct conc {
    const opts *o;
    const run_cfg *r;
    ccai_ctx *ctx;
    bcall *calls;
    act *heap;
    size_t nheap, capheap;
    ccai_event *speech;
    int live, live_max, turning, turning_max, done, first_turns;
    int bad_turns, short_turns, start_failures;
    int expected_says;
    series turn_ms, first_ms, late_ms;
    uint64_t t_first_in, t_last_say;
    size_t rss_base, rss_mid, rss_peak, heap_base, heap_mid, malloc_base, malloc_mid;
    int live_at_mid;
    unsigned rng;
};

static void heap_push(conc *C, uint64_t due, int idx, int kind)
{
    if (C->nheap == C->capheap) {
        size_t cap = C->capheap ? C->capheap * 2 : 1024;
        act *h = realloc(C->heap, cap * sizeof *h);
        if (!h)
            abort();
        C->heap = h;
        C->capheap = cap;
    }
    size_t i = C->nheap++;
    act a = {due, idx, kind};
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (C->heap[p].due <= due)
            break;
        C->heap[i] = C->heap[p];
        i = p;
    }
    C->heap[i] = a;
}

static act heap_pop(conc *C)
{
    act top = C->heap[0];
    act last = C->heap[--C->nheap];
    size_t i = 0, n = C->nheap;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        uint64_t md = last.due;
        if (l < n && C->heap[l].due < md)
            m = l, md = C->heap[l].due;
        if (r < n && C->heap[r].due < md)
            m = r;
        if (m == i)
            break;
        C->heap[i] = C->heap[m];
        i = m;
    }
    if (n)
        C->heap[i] = last;
    return top;
}

static unsigned rnd(conc *C)
{
    C->rng = C->rng * 1103515245u + 12345u;
    return (C->rng >> 16) & 0x7fff;
}

static uint64_t think_ns(conc *C)
{
    if (!C->r->think_ms)
        return 0;
    return (uint64_t)(rnd(C) % (unsigned)(C->r->think_ms + 1)) * 1000000u;
}

static void conc_turn_over(bcall *b)
{
    conc *C = CONC;
    C->turning--;
    if (b->says) {
        series_add(&C->turn_ms, (double)(b->last_say - b->t_in) / 1e6);
        series_add(&C->first_ms, (double)(b->first_say - b->t_in) / 1e6);
        if (b->last_say > C->t_last_say)
            C->t_last_say = b->last_say;
        if (b->says != C->expected_says)
            C->short_turns++;
    } else {
        C->bad_turns++;
    }
    b->turns_done++;
    if (b->turns_done == 1 && ++C->first_turns == C->r->calls) {
        /* Every call has answered once: all mid-conversation (unless the
         * first ones are already done, which live_at_mid shows). */
        C->rss_mid = rss_bytes();
        C->heap_mid = heap_bytes();
        C->malloc_mid = malloc_bytes();
        C->live_at_mid = C->live;
    }
    uint64_t now = now_ns();
    if (b->turns_done >= C->r->turns)
        heap_push(C, now, b->idx, ACT_FREE);
    else
        heap_push(C, now + think_ns(C), b->idx, ACT_TURN);
}

static void conc_act(conc *C, act a)
{
    bcall *b = &C->calls[a.idx];
    switch (a.kind) {
    case ACT_START:
        if (!start_call(C->ctx, a.idx, b)) {
            C->start_failures++;
            C->done++;
            return;
        }
        b->live = 1;
        if (++C->live > C->live_max)
            C->live_max = C->live;
        heap_push(C, now_ns() + think_ns(C), a.idx, ACT_TURN);
        return;
    case ACT_TURN: {
        ccai_event_set_text(C->speech, CALLER_LINES[(size_t)(a.idx + b->turns_done) % N_LINES]);
        b->in_turn = 1;
        b->turn_over = 0;
        b->says = 0;
        b->first_say = b->last_say = 0;
        if (++C->turning > C->turning_max)
            C->turning_max = C->turning;
        b->t_in = now_ns();
        if (!C->t_first_in)
            C->t_first_in = b->t_in;
        ccai_status st = ccai_on_event(b->call, C->speech);
        if (st != CCAI_OK && b->in_turn) {
            b->in_turn = 0;
            C->turning--;
            C->bad_turns++;
            b->turns_done++;
            heap_push(C, now_ns(), a.idx, b->turns_done >= C->r->turns ? ACT_FREE : ACT_TURN);
        }
        return;
    }
    case ACT_FREE:
        ccai_call_free(b->call);
        b->call = NULL;
        b->live = 0;
        C->live--;
        C->done++;
        return;
    }
}

/* Part 2 (capacity 0) or 3: one run against a fresh stand-in in the child. */
static void run_calls(const opts *o, const run_cfg *r, const char *db, child *ch, int capacity,
                      conc_result *res)
{
    child_cfg cc = {r->ttft_ms, r->chunk_ms, r->chunks};
    int port = -1;
    if (write_all(ch->to, &cc, sizeof cc) || read_all(ch->from, &port, sizeof port) || port <= 0) {
        fprintf(stderr, "bench-turn: the stand-in process did not start\n");
        return;
    }
    const char **pieces = NULL;
    size_t np = 0;
    answer_pieces(r->chunks, &pieces, &np);
    int says = sentences_of(pieces, np);
    free(pieces);

    ccai_config *cfg = make_config(db, o->sync, port);
    loop L;
    if (!cfg || loop_new(&L, o->use_libevent, cfg) != 0) {
        ccai_config_free(cfg);
        return;
    }
    conc C;
    memset(&C, 0, sizeof C);
    C.o = o;
    C.r = r;
    C.ctx = L.ctx;
    C.expected_says = says;
    C.rng = 12345u;
    C.calls = calloc((size_t)r->calls, sizeof *C.calls);
    if (!C.calls || ccai_event_new(CCAI_EVENT_SPEECH, &C.speech) != CCAI_OK) {
        fprintf(stderr, "bench-turn: out of memory\n");
        exit(1);
    }
    CONC = &C;
    int warns = LOG.warns, errors = LOG.errors;
    double nominal = (double)r->ttft_ms + (double)(r->chunks - 1) * (double)r->chunk_ms;
    if (capacity)
        printf("\n== 3. capacity of one engine thread: %d calls x %d turns back to back on one "
               "ccai_ctx (%s), store %s, synchronous=%s\n",
               r->calls, r->turns, o->use_libevent ? "libevent" : "poll", db, sync_of(cfg, db));
    else
        printf("\n== 2. concurrency: %d calls x %d turns on one ccai_ctx (%s), store %s, "
               "synchronous=%s\n",
               r->calls, r->turns, o->use_libevent ? "libevent" : "poll", db, sync_of(cfg, db));
    printf("  stand-in (own process, one thread): ttft %d ms, %d pieces %d ms apart "
           "(nominal %.0f ms to the last piece); calls start over %d ms, callers think 0..%d ms",
           r->ttft_ms, r->chunks, r->chunk_ms, nominal, r->ramp_ms, r->think_ms);
    if (!capacity)
        printf(" (offered: about %.0f turns/s)",
               (double)r->calls / ((nominal + (double)r->think_ms / 2) / 1000.0));
    printf("\n");
    fflush(stdout);

    malloc_trim(0);
    C.rss_base = rss_bytes();
    C.heap_base = heap_bytes();
    C.malloc_base = malloc_bytes();
    C.rss_peak = C.rss_base;
    uint64_t t0 = now_ns();
    cputime cpu0 = cpu_now();
    for (int i = 0; i < r->calls; i++)
        heap_push(&C, t0 + (uint64_t)((double)r->ramp_ms * 1e6 * i / r->calls), i, ACT_START);
    uint64_t last_sample = 0, deadline = t0 + 3600ull * 1000000000u;
    while (C.done < r->calls && now_ns() < deadline) {
        uint64_t now = now_ns();
        while (C.nheap && C.heap[0].due <= now) {
            act a = heap_pop(&C);
            /* How late the host gets to what it planned: the loop was busy. */
            series_add(&C.late_ms, (double)(now - a.due) / 1e6);
            conc_act(&C, a);
            now = now_ns();
        }
        if (now - last_sample > 50000000u) {
            size_t rss = rss_bytes();
            if (rss > C.rss_peak)
                C.rss_peak = rss;
            last_sample = now;
        }
        int wait = 50;
        if (C.nheap) {
            uint64_t d = C.heap[0].due > now ? C.heap[0].due - now : 0;
            int ms = (int)((d + 999999u) / 1000000u);
            if (ms < wait)
                wait = ms;
        }
        loop_once(&L, wait);
    }
    uint64_t t1 = now_ns();
    cputime cpu = cpu_since(cpu0);
    double secs = (double)(t1 - t0) / 1e9;

    /* The stand-in's own side. */
    standin_stats st;
    memset(&st, 0, sizeof st);
    cputime si_cpu = {0, 0};
    size_t nt = 0;
    standin_timing *tm = NULL;
    series own_last = {0}, own_first = {0};
    char cmd = 'T';
    if (write_all(ch->to, &cmd, 1) == 0 && read_all(ch->from, &st, sizeof st) == 0 &&
        read_all(ch->from, &si_cpu, sizeof si_cpu) == 0 &&
        read_all(ch->from, &nt, sizeof nt) == 0) {
        tm = calloc(nt ? nt : 1, sizeof *tm);
        if (!tm || read_all(ch->from, tm, nt * sizeof *tm) != 0)
            nt = 0;
    }
    for (size_t i = 0; i < nt; i++) {
        if (tm[i].received_ns && tm[i].last_token_ns)
            series_add(&own_last, (double)(tm[i].last_token_ns - tm[i].received_ns) / 1e6);
        if (tm[i].received_ns && tm[i].first_token_ns)
            series_add(&own_first, (double)(tm[i].first_token_ns - tm[i].received_ns) / 1e6);
    }
    free(tm);

    report("turn: caller text in -> last say", &C.turn_ms, "ms");
    report("stand-in own: request read -> last piece sent", &own_last, "ms");
    report("turn: caller text in -> first say", &C.first_ms, "ms");
    report("stand-in own: request read -> first piece sent", &own_first, "ms");
    report("host's planned actions started late by", &C.late_ms, "ms");
    series_sort(&C.turn_ms);
    series_sort(&own_last);
    double p50 = pct(&C.turn_ms, 0.5), p99 = pct(&C.turn_ms, 0.99);
    double o50 = pct(&own_last, 0.5), o99 = pct(&own_last, 0.99);
    res->calls = r->calls;
    res->think_ms = r->think_ms;
    res->p50_ratio = o50 > 0 ? p50 / o50 : 0;
    res->p99_ratio = o99 > 0 ? p99 / o99 : 0;
    if (!capacity) {
        printf("  ratio turn / stand-in own latency:  p50 %.3f   p99 %.3f\n", res->p50_ratio,
               res->p99_ratio);
        printf("  ratio turn / nominal %.0f ms:        p50 %.3f   p99 %.3f\n", nominal,
               nominal > 0 ? p50 / nominal : 0, nominal > 0 ? p99 / nominal : 0);
    }
    size_t turns = C.turn_ms.n;
    double active = C.t_last_say > C.t_first_in ? (double)(C.t_last_say - C.t_first_in) / 1e9 : 0;
    printf("  throughput: %zu turns answered in %.2f s = %.0f turns/s (%.0f turns/s over the "
           "whole run incl. ramp and think time); %d calls completed\n",
           turns, active, active > 0 ? (double)turns / active : 0, (double)turns / secs,
           C.done - C.start_failures);
    double n = turns ? (double)turns : 1;
    uint64_t cpu_all = cpu.user + cpu.sys, si_all = si_cpu.user + si_cpu.sys;
    res->engine_us = turns ? (double)cpu_all / 1e3 / n : 0;
    res->standin_us = turns ? (double)si_all / 1e3 / n : 0;
    printf("  CPU time per turn: libccai's process %.0f us (user %.0f + system %.0f; %.0f%% of "
           "one core over the run), the stand-in's process %.0f us (user %.0f + system %.0f; "
           "%.0f%%)\n",
           res->engine_us, (double)cpu.user / 1e3 / n, (double)cpu.sys / 1e3 / n,
           secs > 0 ? (double)cpu_all / 1e7 / secs : 0, res->standin_us,
           (double)si_cpu.user / 1e3 / n, (double)si_cpu.sys / 1e3 / n,
           secs > 0 ? (double)si_all / 1e7 / secs : 0);
    if (capacity) {
        SUM.have_cap = 1;
        SUM.cap_wall_tps = active > 0 ? (double)turns / active : 0;
        SUM.cap_cpu_tps = res->engine_us > 0 ? 1e6 / res->engine_us : 0;
        SUM.cap_engine_us = res->engine_us;
        SUM.cap_standin_us = res->standin_us;
        printf("  one engine thread: %.0f turns per second of its CPU time (the stand-in on "
               "another machine); %.0f turns/s of wall time here, sharing %ld cores with the "
               "stand-in (%.0f turns per second of its CPU time)\n",
               SUM.cap_cpu_tps, SUM.cap_wall_tps, sysconf(_SC_NPROCESSORS_ONLN),
               res->standin_us > 0 ? 1e6 / res->standin_us : 0);
    }
    printf("  calls in progress: max %d; turns in flight: max %d; stand-in: %d connections, "
           "max %d streams at once, %zu requests\n",
           C.live_max, C.turning_max, st.connections, st.max_active_streams, nt);
    res->problems = C.bad_turns + C.short_turns + C.start_failures + LOG.errors - errors;
    printf("  problems: %d turns without an answer, %d turns with != %d says, %d call starts "
           "failed; libccai warnings %d, errors %d\n",
           C.bad_turns, C.short_turns, says, C.start_failures, LOG.warns - warns,
           LOG.errors - errors);
    if (C.live_at_mid > 0) {
        double d = (double)C.rss_mid - (double)C.rss_base;
        double h = (double)C.heap_mid - (double)C.heap_base;
        res->rss_kb = d / 1024.0 / C.live_at_mid;
        res->heap_kb = h / 1024.0 / C.live_at_mid;
        double all = (double)C.malloc_mid - (double)C.malloc_base;
        printf("  memory with %d calls in progress (all had one answer): RSS %+.1f MB = %.1f KB "
               "per call; libccai heap (ccai allocator, incl. jansson) %+.1f MB = %.1f KB per "
               "call; malloc'ed by all libraries (libcurl, SQLite...) %.1f KB per call; RSS "
               "base %.1f MB, peak %.1f MB\n",
               C.live_at_mid, d / 1048576.0, res->rss_kb, h / 1048576.0, res->heap_kb,
               all / 1024.0 / C.live_at_mid, (double)C.rss_base / 1048576.0,
               (double)C.rss_peak / 1048576.0);
    }
    series_free(&own_last);
    series_free(&own_first);
    series_free(&C.turn_ms);
    series_free(&C.first_ms);
    series_free(&C.late_ms);
    for (int i = 0; i < r->calls; i++)
        ccai_call_free(C.calls[i].call);
    CONC = NULL;
    ccai_event_free(C.speech);
    free(C.calls);
    free(C.heap);
    loop_free(&L);
    ccai_config_free(cfg);
}

static void part_concurrency(const opts *o, const char *db, child *ch)
{
    for (int i = 0; i < o->n_calls; i++) {
        run_cfg r = {
            o->calls[i],
            o->turns,
            o->ttft_ms,
            o->chunk_ms,
            o->chunks,
            o->think[i] >= 0   ? o->think[i]
            : o->think_ms >= 0 ? o->think_ms
                               : o->calls[i],
            o->ramp_ms >= 0 ? o->ramp_ms : o->calls[i],
        };
        conc_result res;
        memset(&res, 0, sizeof res);
        run_calls(o, &r, db, ch, 0, &res);
        if (res.calls)
            SUM.conc[SUM.n_conc++] = res;
        fflush(stdout);
    }
}

static void part_capacity(const opts *o, const char *db, child *ch)
{
    run_cfg r = {o->cap_calls, o->cap_turns, 0, 0, o->chunks, 0, 0};
    conc_result res;
    memset(&res, 0, sizeof res);
    run_calls(o, &r, db, ch, 1, &res);
}

/* ---- part 4: the figures against the targets ----------------------------- */

static void target_line(const char *what, double v, const char *unit, const char *cmp,
                        double target)
{
    int ok = !strcmp(cmp, ">=") ? v >= target : v <= target;
    printf("  %-52s %10.2f %-8s target %s %-8g %s\n", what, v, unit, cmp, target,
           ok ? "met" : "NOT MET");
}

static void part_summary(void)
{
    printf("\n== 4. targets (DESIGN.md section 9; this run, this machine)\n");
    if (SUM.have_cap) {
        target_line("turns/s, one engine thread (per CPU second)", SUM.cap_cpu_tps, "turns/s",
                    ">=", 3000);
        printf("  %-52s %10.2f %-8s (stand-in: %.0f us CPU per turn in its own process)\n",
               "  the same, wall time with the stand-in on this box", SUM.cap_wall_tps, "turns/s",
               SUM.cap_standin_us);
    }
    for (int i = 0; i < SUM.n_conc; i++) {
        const conc_result *c = &SUM.conc[i];
        char what[96];
        snprintf(what, sizeof what, "%d calls (think 0..%d ms): p99 turn / stand-in", c->calls,
                 c->think_ms);
        target_line(what, c->p99_ratio, "ratio", "<=", c->calls > 1000 ? 1.10 : 1.05);
    }
    if (SUM.have_lat) {
        target_line("(a) text in -> request on the wire, p99, sync=normal", SUM.a_p99_us, "us",
                    "<=", 1000);
        target_line("(b) first token -> first say, p99", SUM.b_p99_us, "us", "<=", 200);
    }
    for (int i = 0; i < SUM.n_conc; i++) {
        const conc_result *c = &SUM.conc[i];
        char what[96];
        snprintf(what, sizeof what, "memory per call in progress, %d calls (RSS)", c->calls);
        target_line(what, c->rss_kb, "KB", "<=", 32);
        printf("  %-52s %10.2f %-8s\n", "  of which libccai's heap (incl. jansson)", c->heap_kb,
               "KB");
    }
    for (int i = 0; i < SUM.n_conc; i++) {
        if (SUM.conc[i].problems)
            printf("  run with %d calls had %d problems (see above)\n", SUM.conc[i].calls,
                   SUM.conc[i].problems);
    }
}

/* ---- main ---------------------------------------------------------------- */

int main(int argc, char **argv)
{
    opts o = {
        /* A caller speaks again 0..1 s after the answer (the issue's
         * figures); with 5,000 calls 0..10 s: the turns offered per second
         * stay about those of 1,000 calls (and of phone calls, where the
         * answer is spoken first), the run tests 5,000 calls in progress. */
        .calls = {1000, 5000}, .think = {1000, 10000}, .n_calls = 2,    .turns = 5,
        .ttft_ms = 300,        .chunk_ms = 30,         .chunks = 10,    .think_ms = -1,
        .ramp_ms = -1,         .lat_calls = 200,       .lat_turns = 10, .cap_calls = 200,
        .cap_turns = 20,
#ifdef CCAI_BENCH_LIBEVENT
        .use_libevent = 1,
#endif
        .latency = 1,          .concurrency = 1,       .capacity = 1,
    };
    if (parse_opts(argc, argv, &o) != 0)
        return 2;
    signal(SIGPIPE, SIG_IGN);
    raise_nofile();
    /* Before any thread or libccai object: the stand-in's process, and the
     * counting allocator (it also takes jansson's process-wide hooks). */
    child ch = {0};
    if ((o.concurrency || o.capacity) && child_fork(&ch) != 0) {
        fprintf(stderr, "bench-turn: fork: %s\n", strerror(errno));
        return 1;
    }
    ccai_allocator al = {CCAI_ALLOCATOR_VERSION, count_malloc, count_realloc, count_free, NULL,
                         CCAI_ALLOCATOR_JSON};
    ccai_set_allocator(&al);

    char dir[] = "/tmp/ccai-bench-turn-XXXXXX";
    char path[300];
    const char *db = o.db;
    int own_dir = 0;
    if (!db) {
        if (!mkdtemp(dir)) {
            fprintf(stderr, "bench-turn: mkdtemp: %s\n", strerror(errno));
            return 1;
        }
        own_dir = 1;
        snprintf(path, sizeof path, "%s/bench.sqlite", dir);
        db = path;
    }

    print_machine(&o);
    fflush(stdout);
    if (o.latency)
        part_latency(&o, db);
    fflush(stdout);
    if (o.concurrency)
        part_concurrency(&o, db, &ch);
    if (o.capacity)
        part_capacity(&o, db, &ch);
    child_end(&ch);
    printf("\nCalls end with ccai_call_free() (no hangup event): no post-call LLM jobs run.\n");
    part_summary();

    if (own_dir) {
        const char *sfx[] = {"", "-wal", "-shm", "-journal"};
        for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
            char f[320];
            snprintf(f, sizeof f, "%s%s", path, sfx[i]);
            unlink(f);
        }
        rmdir(dir);
    }
    ccai_set_allocator(NULL);
    return 0;
}
