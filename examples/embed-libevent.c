/*
 * A libccai host on a libevent event_base, with one simulated inbound call.
 * libccai does not link libevent: the adapter is header-only, the host links it.
 *
 *   cc -std=c11 embed-libevent.c $(pkg-config --cflags --libs ccai libevent) \
 *      -o embed-libevent
 *   ./embed-libevent [DATABASE]
 *
 * The call's database is DATABASE when given (kept), else a file in a fresh
 * temporary directory (removed at exit).
 */
#define _POSIX_C_SOURCE 200809L

#include <ccai/adapters/libevent.h>
#include <ccai/ccai.h>
#include <event2/event.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* How long to wait, at most, for the context to become idle at the end. */
#define SETTLE_MS 10000
/* Room for the database path. */
#define PATH_LEN 1024

static void log_line(ccai_log_level level, const char *msg, void *ud)
{
    (void)ud;
    fprintf(stderr, "libccai %s: %s\n", ccai_log_level_str(level), msg);
}

/* The engine acts through these; a real host would drive a phone line. */
static int on_say(ccai_call *call, const ccai_speech *speech, void *ud)
{
    (void)call;
    (void)ud;
    printf("BOT: %s\n", speech->text);
    return 0;
}

static int on_hangup(ccai_call *call, void *ud)
{
    (void)call;
    (void)ud;
    printf("BOT hangs up\n");
    return 0;
}

static void on_state(ccai_call *call, ccai_call_state old_state, ccai_call_state new_state,
                     void *ud)
{
    (void)call;
    (void)ud;
    printf("state: %s -> %s\n", ccai_call_state_str(old_state), ccai_call_state_str(new_state));
}

/* Dispatch what is ready, without blocking. */
static int run_nonblock(struct event_base *base)
{
    return event_base_loop(base, EVLOOP_NONBLOCK) < 0 ? -1 : 0;
}

/*
 * Run the loop until the context is idle, or SETTLE_MS at most: a 100 ms
 * tick makes the loop come back to check.
 */
static int run_until_idle(struct event_base *base, const ccai_ctx *ctx)
{
    uint64_t deadline = ccai_time_ms() + SETTLE_MS;
    struct timeval tick = {0, 100000};

    while (ccai_ctx_busy(ctx) && ccai_time_ms() < deadline) {
        if (event_base_loopexit(base, &tick) != 0 || event_base_dispatch(base) < 0)
            return -1;
    }
    return 0;
}

/* Hand one event to the engine, then dispatch whatever it made ready. */
static int feed(struct event_base *base, ccai_call *call, ccai_event_type type, const char *text)
{
    ccai_event *ev = NULL;
    ccai_status st = ccai_event_new(type, &ev);

    if (st == CCAI_OK && text)
        st = ccai_event_set_text(ev, text);
    if (st == CCAI_OK)
        st = ccai_on_event(call, ev);
    ccai_event_free(ev);
    if (st != CCAI_OK) {
        fprintf(stderr, "%s event: %s: %s\n", ccai_event_type_str(type), ccai_status_str(st),
                ccai_call_errmsg(call));
        return -1;
    }
    return run_nonblock(base);
}

static int run_call(ccai_ctx *ctx, struct event_base *base)
{
    ccai_call_params params;
    ccai_call_ops ops;
    ccai_call *call = NULL;
    char *json = NULL;
    ccai_status st;
    int rc = -1;

    memset(&params, 0, sizeof params);
    params.version = CCAI_CALL_PARAMS_VERSION;
    params.direction = CCAI_INBOUND;
    params.phone_number = "+33612345678";
    params.channel = "local";

    memset(&ops, 0, sizeof ops);
    ops.version = CCAI_CALL_OPS_VERSION;
    ops.say = on_say;
    ops.hangup = on_hangup;
    ops.state_changed = on_state;

    st = ccai_call_start(ctx, &params, &ops, NULL, &call);
    if (st != CCAI_OK) {
        fprintf(stderr, "ccai_call_start: %s: %s\n", ccai_status_str(st), ccai_ctx_errmsg(ctx));
        return -1;
    }
    printf("call %s started\n", ccai_call_id(call));

    if (feed(base, call, CCAI_EVENT_CONNECTED, NULL) != 0)
        goto out;
    printf("CALLER: Hello, my car was hit\n");
    if (feed(base, call, CCAI_EVENT_SPEECH, "Hello, my car was hit") != 0)
        goto out;
    if (feed(base, call, CCAI_EVENT_HANGUP, "caller hung up") != 0)
        goto out;

    if (run_until_idle(base, ctx) != 0)
        goto out;

    printf("state: %s\n", ccai_call_state_str(ccai_call_get_state(call)));
    st = ccai_call_to_json(call, &json);
    if (st != CCAI_OK) {
        fprintf(stderr, "ccai_call_to_json: %s\n", ccai_status_str(st));
        goto out;
    }
    printf("json: %s\n", json);
    rc = 0;
out:
    ccai_free(json);
    ccai_call_free(call);
    return rc;
}

static void remove_database(const char *dir, const char *path)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    char name[PATH_LEN + 16];

    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        snprintf(name, sizeof name, "%s%s", path, suffixes[i]);
        unlink(name);
    }
    rmdir(dir);
}

int main(int argc, char **argv)
{
    char dir[PATH_LEN - 32] = "";
    char path[PATH_LEN];
    ccai_config *cfg = NULL;
    struct event_base *base = NULL;
    ccai_libevent *loop = NULL;
    ccai_ctx *ctx = NULL;
    char *err = NULL;
    ccai_status st;
    int rc = EXIT_FAILURE;

    if (argc > 1) {
        if (strlen(argv[1]) >= sizeof path) {
            fprintf(stderr, "database path too long\n");
            return EXIT_FAILURE;
        }
        snprintf(path, sizeof path, "%s", argv[1]);
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/ccai-example-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(dir)) {
            perror("mkdtemp");
            return EXIT_FAILURE;
        }
        snprintf(path, sizeof path, "%s/calls.sqlite", dir);
    }

    /* 1. Configuration: embedded defaults, our database. */
    st = ccai_config_new(&cfg);
    if (st == CCAI_OK)
        st = ccai_config_set_logger(cfg, log_line, NULL, CCAI_LOG_WARN);
    if (st == CCAI_OK)
        st = ccai_config_set(cfg, "database.sqlite.path", path);
    if (st != CCAI_OK) {
        fprintf(stderr, "configuration: %s\n%s\n", ccai_status_str(st),
                cfg ? ccai_config_errmsg(cfg) : "");
        goto out;
    }

    /* 2. A context driven by a libevent base. */
    base = event_base_new();
    if (!base) {
        fprintf(stderr, "event_base_new failed\n");
        goto out;
    }
    st = ccai_libevent_new(base, cfg, &loop, &ctx, &err);
    if (st != CCAI_OK) {
        fprintf(stderr, "context: %s: %s\n", ccai_status_str(st), err ? err : "");
        goto out;
    }
    printf("database: %s\n", ccai_ctx_database_path(ctx));

    /* 3. One call, start to end. */
    if (run_call(ctx, base) == 0)
        rc = EXIT_SUCCESS;

out:
    /* 4. Free the context (with the adapter), then the configuration. */
    ccai_libevent_free(loop);
    if (base)
        event_base_free(base);
    ccai_free(err);
    ccai_config_free(cfg);
    if (dir[0])
        remove_database(dir, path);
    return rc;
}
