/*
 * A host built against libccai 0.1 runs against this library.
 *
 * Compiled with the 0.1 header (tests/abi/ccai-0.1/ccai/ccai.h, the header
 * of commit a6f6c11, whose tables are all of version 1) and linked against
 * today's libccai.so, whose ccai_allocator, ccai_loop_hooks,
 * ccai_call_params and ccai_call_ops are of version 2. The host fills its
 * tables as 0.1 knew them and drives a whole call: allocator, loop hooks,
 * call parameters and operations, events, an HTTP request with headers.
 *
 * Each table the host hands over ends exactly where a page ends, and the
 * page after it can be neither read nor written: a library that reads a
 * member a later version appended (a whole-struct copy of a version 1
 * table, a flag read without looking at the version) faults on the spot,
 * instrumented or not (ASan in the sanitize build names the reader).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <ccai/ccai.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if CCAI_CALL_PARAMS_VERSION != 1 || CCAI_CALL_OPS_VERSION != 1 || CCAI_LOOP_HOOKS_VERSION != 1 || \
    CCAI_ALLOCATOR_VERSION != 1
#error "this host must be built against the 0.1 header (tests/abi/ccai-0.1)"
#endif

/* ---- tables that end where readable memory ends ---------------------- */

typedef struct guarded {
    void *base;
    size_t len;
} guarded;

static guarded tables[16];
static size_t n_tables;

/* A copy of init[0..size) placed so that its last byte is the last byte of
 * a page, the next page PROT_NONE. */
static void *v1_table(const void *init, size_t size)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t len = ((size + page - 1) / page + 1) * page;
    char *base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(base != MAP_FAILED);
    assert_int_equal(mprotect(base + len - page, page, PROT_NONE), 0);
    char *t = base + len - page - size;
    memcpy(t, init, size);
    assert_true(n_tables < sizeof tables / sizeof tables[0]);
    tables[n_tables++] = (guarded){base, len};
    return t;
}

static void free_tables(void)
{
    while (n_tables > 0) {
        n_tables--;
        munmap(tables[n_tables].base, tables[n_tables].len);
    }
}

/* ---- the host's allocator (version 1: no flags member) --------------- */

static long outstanding;
static long allocations;

static void *h_malloc(size_t size, void *ud)
{
    (void)ud;
    void *p = malloc(size);
    if (p) {
        outstanding++;
        allocations++;
    }
    return p;
}

static void *h_realloc(void *ptr, size_t size, void *ud)
{
    (void)ud;
    void *p = realloc(ptr, size);
    if (p && !ptr)
        outstanding++;
    if (p)
        allocations++;
    return p;
}

static void h_free(void *ptr, void *ud)
{
    (void)ud;
    if (ptr)
        outstanding--;
    free(ptr);
}

/* ---- the host's loop (hooks of version 1: no cleanup member) --------- */

typedef struct loop {
    struct pollfd fds[64];
    size_t n_fds;
    int64_t timeout_ms; /* -1: disarmed */
    uint64_t armed_at;
    int hook_calls;
} loop;

static int watch_fd(void *ud, int fd, int events, void **slot)
{
    loop *l = ud;
    (void)slot;
    l->hook_calls++;
    size_t i = 0;
    while (i < l->n_fds && l->fds[i].fd != fd)
        i++;
    if (events == 0) {
        if (i < l->n_fds)
            l->fds[i] = l->fds[--l->n_fds];
        return 0;
    }
    if (i == l->n_fds) {
        if (l->n_fds == sizeof l->fds / sizeof l->fds[0])
            return -1;
        l->n_fds++;
    }
    l->fds[i].fd = fd;
    l->fds[i].events =
        (short)(((events & CCAI_POLL_IN) ? POLLIN : 0) | ((events & CCAI_POLL_OUT) ? POLLOUT : 0));
    return 0;
}

static int set_timer(void *ud, int64_t timeout_ms)
{
    loop *l = ud;
    l->hook_calls++;
    l->timeout_ms = timeout_ms;
    l->armed_at = ccai_time_ms();
    return 0;
}

/* One turn of the loop: wait for what is ready (at most max_ms), dispatch. */
static void loop_once(loop *l, ccai_ctx *ctx, int max_ms)
{
    int wait = max_ms;
    if (l->timeout_ms >= 0) {
        uint64_t due = l->armed_at + (uint64_t)l->timeout_ms, now = ccai_time_ms();
        int left = due > now ? (int)(due - now) : 0;
        if (left < wait)
            wait = left;
    }
    struct pollfd ready[64];
    size_t n = l->n_fds;
    memcpy(ready, l->fds, n * sizeof ready[0]);
    int rc = poll(ready, (nfds_t)n, wait);
    assert_true(rc >= 0);
    for (size_t i = 0; i < n; i++) {
        int ev = ((ready[i].revents & POLLIN) ? CCAI_POLL_IN : 0) |
                 ((ready[i].revents & POLLOUT) ? CCAI_POLL_OUT : 0) |
                 ((ready[i].revents & (POLLERR | POLLHUP)) ? CCAI_POLL_ERR : 0);
        if (ev)
            ccai_ctx_socket_action(ctx, ready[i].fd, ev);
    }
    if (l->timeout_ms >= 0 && ccai_time_ms() >= l->armed_at + (uint64_t)l->timeout_ms) {
        l->timeout_ms = -1;
        ccai_ctx_timeout(ctx);
    }
}

static void run_until_idle(loop *l, ccai_ctx *ctx)
{
    uint64_t give_up = ccai_time_ms() + 30000;
    while (ccai_ctx_busy(ctx)) {
        assert_true(ccai_time_ms() < give_up);
        loop_once(l, ctx, 100);
    }
}

/* ---- the host's line (call ops of version 1: no menu member) --------- */

typedef struct line {
    int says, listens, hangups;
    char last_said[512];
    ccai_call_state state;
} line;

static int on_say(ccai_call *call, const ccai_speech *speech, void *ud)
{
    line *l = ud;
    (void)call;
    /* A 0.1 host reads the members of ccai_speech's version 1. */
    assert_true(speech->version >= 1);
    assert_non_null(speech->text);
    assert_non_null(speech->lang);
    l->says++;
    snprintf(l->last_said, sizeof l->last_said, "%s", speech->text);
    return 0;
}

static int on_stop(ccai_call *call, void *ud)
{
    (void)call;
    (void)ud;
    return 0;
}

static int on_listen(ccai_call *call, const char *lang, void *ud)
{
    line *l = ud;
    (void)call;
    assert_non_null(lang);
    l->listens++;
    return 0;
}

static int on_hangup(ccai_call *call, void *ud)
{
    line *l = ud;
    (void)call;
    l->hangups++;
    return 0;
}

static void on_state(ccai_call *call, ccai_call_state old_state, ccai_call_state new_state,
                     void *ud)
{
    line *l = ud;
    (void)call;
    (void)old_state;
    l->state = new_state;
}

static void event(ccai_call *c, ccai_event_type type, const char *text)
{
    ccai_event *ev = NULL;
    assert_int_equal(ccai_event_new(type, &ev), CCAI_OK);
    if (text)
        assert_int_equal(ccai_event_set_text(ev, text), CCAI_OK);
    assert_int_equal(ccai_on_event(c, ev), CCAI_OK);
    ccai_event_free(ev);
}

/* ---- HTTP: a request of version 1 and its header array --------------- */

typedef struct answer {
    int calls;
    int status;
    char body[8192];
} answer;

static void on_answer(ccai_http_exchange *x, const ccai_http_response *res, void *ud)
{
    answer *a = ud;
    (void)x;
    assert_true(res->version >= 1);
    a->calls++;
    a->status = res->status;
    size_t n = res->body_len < sizeof a->body - 1 ? res->body_len : sizeof a->body - 1;
    memcpy(a->body, res->body, n);
    a->body[n] = '\0';
}

static int http_get(ccai_ctx *ctx, const char *path, answer *a)
{
    const ccai_http_header hdr_init[] = {
        {"Host", "localhost"},
        {"Authorization", "Bearer v1-host-token"},
    };
    /* The array ends where readable memory ends: its elements are read
     * with 0.1's stride (ccai_http_header is frozen). */
    const ccai_http_header *hdrs = v1_table(hdr_init, sizeof hdr_init);
    ccai_http_request init = {
        .version = CCAI_HTTP_REQUEST_VERSION,
        .method = "GET",
        .path = path,
        .headers = hdrs,
        .n_headers = 2,
        .remote_addr = "127.0.0.1",
    };
    const ccai_http_request *req = v1_table(&init, sizeof init);
    ccai_http_exchange *x = NULL;
    memset(a, 0, sizeof *a);
    assert_int_equal(ccai_ctx_http(ctx, req, on_answer, a, &x), CCAI_OK);
    assert_null(x); /* answered at once */
    assert_int_equal(a->calls, 1);
    return a->status;
}

/* ---- the test ------------------------------------------------------- */

static void test_v1_host(void **state)
{
    (void)state;
    char dir[] = "/tmp/ccai-abi-v1-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/db.sqlite", dir);

    const ccai_allocator al_init = {CCAI_ALLOCATOR_VERSION, h_malloc, h_realloc, h_free, NULL};
    assert_int_equal(ccai_set_allocator(v1_table(&al_init, sizeof al_init)), CCAI_OK);

    ccai_config *cfg = NULL;
    assert_int_equal(ccai_config_new(&cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "database.sqlite.path", path), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "server.api_token", "v1-host-token"), CCAI_OK);
    assert_true(allocations > 0); /* through the version 1 allocator */

    loop lp = {.timeout_ms = -1};
    const ccai_loop_hooks hooks_init = {CCAI_LOOP_HOOKS_VERSION, watch_fd, set_timer};
    const ccai_loop_hooks *hooks = v1_table(&hooks_init, sizeof hooks_init);
    ccai_ctx *ctx = NULL;
    char *err = NULL;
    assert_int_equal(ccai_ctx_new(cfg, hooks, &lp, &ctx, &err), CCAI_OK);
    assert_null(err);

    /* The default configuration has four languages: a host with a menu op
     * (version 2) would be asked to offer the language menu. This one has
     * no such member, so the call goes straight to its greeting. */
    const ccai_call_params p_init = {
        .version = CCAI_CALL_PARAMS_VERSION,
        .direction = CCAI_INBOUND,
        .phone_number = "+33612345678",
        .channel = "pbx",
    };
    const ccai_call_ops o_init = {
        .version = CCAI_CALL_OPS_VERSION,
        .say = on_say,
        .stop_speaking = on_stop,
        .listen = on_listen,
        .hangup = on_hangup,
        .state_changed = on_state,
    };
    line ln = {0};
    ccai_call *c = NULL;
    assert_int_equal(ccai_call_start(ctx, v1_table(&p_init, sizeof p_init),
                                     v1_table(&o_init, sizeof o_init), &ln, &c),
                     CCAI_OK);
    char id[40];
    snprintf(id, sizeof id, "%s", ccai_call_id(c));

    event(c, CCAI_EVENT_RINGING, NULL);
    event(c, CCAI_EVENT_CONNECTED, NULL);
    assert_true(ln.says >= 1);
    assert_true(ln.listens >= 1);
    assert_int_equal(ccai_call_get_state(c), CCAI_CALL_CONVERSATION);
    int says = ln.says;
    event(c, CCAI_EVENT_SPEECH, "Hello, my car was hit by a truck this morning.");
    assert_true(ln.says > says); /* the offline dialogue answered */
    event(c, CCAI_EVENT_HANGUP, "caller hung up");
    assert_int_equal(ccai_call_get_state(c), CCAI_CALL_ENDED);
    run_until_idle(&lp, ctx); /* the post-call job */
    ccai_call_free(c);
    assert_true(lp.hook_calls > 0);

    /* The stored call through HTTP: the answer needs both headers. */
    char url[64];
    snprintf(url, sizeof url, "/call/%s", id);
    answer a;
    assert_int_equal(http_get(ctx, url, &a), 200);
    assert_non_null(strstr(a.body, id));
    assert_non_null(strstr(a.body, "truck"));

    /* Versions 0 and from the future are refused, nothing done. */
    ccai_call_params p_bad = p_init;
    p_bad.version = 0;
    ccai_call *none = NULL;
    assert_int_equal(ccai_call_start(ctx, &p_bad, &o_init, &ln, &none), CCAI_ERR_INVALID_ARG);
    p_bad.version = 99;
    assert_int_equal(ccai_call_start(ctx, &p_bad, &o_init, &ln, &none), CCAI_ERR_INVALID_ARG);
    ccai_call_ops o_bad = o_init;
    o_bad.version = 0;
    assert_int_equal(ccai_call_start(ctx, &p_init, &o_bad, &ln, &none), CCAI_ERR_INVALID_ARG);
    assert_null(none);
    ccai_http_request r_bad = {.version = 0, .method = "GET", .path = "/health/liveness"};
    assert_int_equal(ccai_ctx_http(ctx, &r_bad, on_answer, &a, NULL), CCAI_ERR_INVALID_ARG);
    r_bad.version = 99;
    assert_int_equal(ccai_ctx_http(ctx, &r_bad, on_answer, &a, NULL), CCAI_ERR_INVALID_ARG);
    ccai_loop_hooks h_bad = hooks_init;
    h_bad.version = 0;
    ccai_ctx *ctx2 = NULL;
    assert_int_equal(ccai_ctx_new(cfg, &h_bad, &lp, &ctx2, NULL), CCAI_ERR_INVALID_ARG);
    h_bad.version = 99;
    assert_int_equal(ccai_ctx_new(cfg, &h_bad, &lp, &ctx2, NULL), CCAI_ERR_INVALID_ARG);
    assert_null(ctx2);
    ccai_allocator al_bad = al_init;
    al_bad.version = 0;
    assert_int_equal(ccai_set_allocator(&al_bad), CCAI_ERR_INVALID_ARG);
    al_bad.version = 99;
    assert_int_equal(ccai_set_allocator(&al_bad), CCAI_ERR_INVALID_ARG);

    ccai_ctx_free(ctx);
    ccai_config_free(cfg);
    /* Every block libccai took through the version 1 allocator came back. */
    assert_int_equal(outstanding, 0);
    assert_int_equal(ccai_set_allocator(NULL), CCAI_OK);
    free_tables();
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v1_host),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
