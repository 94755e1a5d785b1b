/* ccai-server with server.workers: 2, the real processes on loopback: both
 * workers answer (their pids on the access lines), both write the one
 * SQLite file, a worker killed with SIGKILL is restarted by the supervisor
 * while requests keep being answered (at the same own URL), SIGTERM stops
 * everything with status
 * 0, and workers that cannot start make the supervisor give up non-zero. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "support/server_proc.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *server_path;

#define TOKEN    "workers-token"
#define AUTH     "Bearer " TOKEN
#define REQUESTS 40

typedef struct proc {
    pid_t pid;
    int port;
    char dir[64];
    char log_path[256];
} proc;

static void start_env(proc *p, const char *extra)
{
    strcpy(p->dir, "/tmp/ccai-workers-XXXXXX");
    assert_non_null(mkdtemp(p->dir));
    snprintf(p->log_path, sizeof p->log_path, "%s/server.log", p->dir);
    char db[256];
    snprintf(db, sizeof db, "DATABASE__SQLITE__PATH=%s/db.sqlite", p->dir);
    char *envp[] = {db,
                    (char *)"SERVER__API_TOKEN=" TOKEN,
                    (char *)"SERVER__LISTEN=127.0.0.1:0",
                    (char *)"SERVER__WORKERS=2",
                    (char *)"CONFIG_YAML=",
                    NULL,
                    NULL,
                    NULL};
    /* server-workers-group-commit: the same tests with database.sqlite.group_commit. */
    size_t n = 5;
    if (getenv("CCAI_TEST_SQLITE_GROUP_COMMIT"))
        envp[n++] = (char *)"DATABASE__SQLITE__GROUP_COMMIT=true";
    envp[n] = (char *)extra;
    p->pid = server_proc_start(server_path, envp, p->log_path, &p->port);
    assert_true(p->pid > 0);
}

static void start(proc *p)
{
    start_env(p, NULL);
}

static void cleanup(proc *p)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", p->dir);
    assert_int_equal(system(cmd), 0);
}

static char *read_log(const proc *p)
{
    FILE *f = fopen(p->log_path, "r");
    assert_non_null(f);
    char *text = NULL;
    size_t len = 0, cap = 0, n;
    char buf[4096];
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            text = realloc(text, cap);
            assert_non_null(text);
        }
        memcpy(text + len, buf, n);
        len += n;
    }
    fclose(f);
    if (!text)
        text = calloc(1, 1);
    else
        text[len] = '\0';
    return text;
}

/* The pid of the last "worker i started (pid P" line of the log, 0 if none;
 * *ret_starts (may be NULL) counts such lines. */
static pid_t worker_pid(const proc *p, int i, int *ret_starts)
{
    char *log = read_log(p), marker[48];
    snprintf(marker, sizeof marker, "worker %d started (pid ", i);
    pid_t pid = 0;
    int starts = 0;
    for (const char *at = strstr(log, marker); at; at = strstr(at + 1, marker)) {
        pid = (pid_t)atol(at + strlen(marker));
        starts++;
    }
    free(log);
    if (ret_starts)
        *ret_starts = starts;
    return pid;
}

/* Access lines of GET path answered by pid. */
static int answered_by(const proc *p, pid_t pid, const char *path)
{
    char *log = read_log(p), marker[160];
    snprintf(marker, sizeof marker, "\"pid\":%ld,\"event\":\"access\"", (long)pid);
    int n = 0;
    for (const char *at = strstr(log, marker); at; at = strstr(at + 1, marker)) {
        const char *end = strchr(at, '\n');
        const char *hit = strstr(at, path);
        n += hit && (!end || hit < end);
    }
    free(log);
    return n;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Worker i logged that it serves ("auth: ...", after it listens). */
static bool worker_serving(const proc *p, int i)
{
    pid_t pid = worker_pid(p, i, NULL);
    char *log = read_log(p), marker[96];
    snprintf(marker, sizeof marker, "\"worker\":%d,\"pid\":%ld,\"msg\":\"auth: ", i, (long)pid);
    bool yes = pid > 0 && strstr(log, marker);
    free(log);
    return yes;
}

static void wait_workers_started(const proc *p)
{
    for (int t = 0; t < 200 && (!worker_serving(p, 0) || !worker_serving(p, 1)); t++)
        sleep_ms(50);
    assert_true(worker_serving(p, 0));
    assert_true(worker_serving(p, 1));
}

/* Both workers take connections, and both write the one SQLite file: every
 * chat opened through either is in the list either answers. */
static void test_both_workers_serve(void **state)
{
    (void)state;
    proc p;
    start(&p);
    wait_workers_started(&p);
    pid_t w0 = worker_pid(&p, 0, NULL), w1 = worker_pid(&p, 1, NULL);
    assert_true(w0 != w1);
    for (int i = 0; i < REQUESTS; i++) /* a new connection each */
        assert_int_equal(server_proc_request(p.port, "GET", "/health/liveness", NULL, NULL, NULL),
                         200);
    for (int i = 0; i < REQUESTS; i++) {
        long st = server_proc_request(p.port, "POST", "/chat", "{}", AUTH, NULL);
        assert_true(st == 200 || st == 201);
    }
    int by0 = answered_by(&p, w0, "/health/liveness"),
        by1 = answered_by(&p, w1, "/health/liveness");
    print_message("# liveness answered by worker 0: %d, worker 1: %d\n", by0, by1);
    assert_int_equal(by0 + by1, REQUESTS);
    assert_true(by0 > 0);
    assert_true(by1 > 0);
    assert_true(answered_by(&p, w0, "/chat") > 0);
    assert_true(answered_by(&p, w1, "/chat") > 0);
    char *body = NULL;
    assert_int_equal(server_proc_request(p.port, "GET", "/call?limit=100", NULL, AUTH, &body), 200);
    int calls = 0;
    for (const char *at = strstr(body, "\"call_id\""); at; at = strstr(at + 1, "\"call_id\""))
        calls++;
    free(body);
    assert_int_equal(calls, REQUESTS);
    assert_int_equal(server_proc_stop(p.pid, SIGTERM), 0);
    cleanup(&p);
}

/* Threads of pid named name. */
static int threads_named(pid_t pid, const char *name)
{
    char dir[64], path[384], comm[32];
    snprintf(dir, sizeof dir, "/proc/%ld/task", (long)pid);
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s/comm", dir, e->d_name);
        FILE *f = fopen(path, "r");
        if (f && fgets(comm, sizeof comm, f) && strncmp(comm, name, strlen(name)) == 0)
            n++;
        if (f)
            fclose(f);
    }
    closedir(d);
    return n;
}

/* The SQLite WAL's checkpoints on threads (database.sqlite.checkpoint_thread:
 * true, which an operator sets): each worker opens its store after the
 * fork and starts its own ccai-ckpt thread once the WAL is long enough;
 * the supervisor, which opens none, has none. The WAL stays bounded, every
 * chat is stored. */
#define CKPT_CHATS 400
static void test_workers_checkpoint_threads(void **state)
{
    (void)state;
    proc p;
    start_env(&p, "DATABASE__SQLITE__CHECKPOINT_THREAD=true");
    wait_workers_started(&p);
    pid_t w0 = worker_pid(&p, 0, NULL), w1 = worker_pid(&p, 1, NULL);
    char wal[128];
    snprintf(wal, sizeof wal, "%s/db.sqlite-wal", p.dir);
    long wal_max = 0;
    for (int i = 0; i < CKPT_CHATS; i++) {
        long st = server_proc_request(p.port, "POST", "/chat", "{}", AUTH, NULL);
        assert_true(st == 200 || st == 201);
        struct stat sb;
        if (stat(wal, &sb) == 0 && sb.st_size > wal_max)
            wal_max = (long)sb.st_size;
    }
    int t0 = threads_named(w0, "ccai-ckpt"), t1 = threads_named(w1, "ccai-ckpt"),
        sup = threads_named(p.pid, "ccai-ckpt");
    print_message("# %d chats: checkpoint threads: worker 0 %d, worker 1 %d, supervisor %d; "
                  "the WAL at most %ld bytes\n",
                  CKPT_CHATS, t0, t1, sup, wal_max);
    assert_int_equal(t0, 1);
    assert_int_equal(t1, 1);
    assert_int_equal(sup, 0);
    /* Near 1,000 frames; past 1,800 a loop checkpoints itself, but on a
     * loaded machine the WAL cannot always start over at once (ASan: 8.1
     * MB seen; two busy loops beside: 11.9 MB, ~2,900 frames, once in
     * eight runs): bounded all the same, where a WAL that never started
     * over would grow with every chat. */
    assert_true(wal_max > 0 && wal_max < 4000 * (4096 + 24));
    char *body = NULL;
    assert_int_equal(server_proc_request(p.port, "GET", "/call?limit=1000", NULL, AUTH, &body),
                     200);
    int calls = 0;
    for (const char *at = strstr(body, "\"call_id\""); at; at = strstr(at + 1, "\"call_id\""))
        calls++;
    free(body);
    assert_int_equal(calls, CKPT_CHATS);
    assert_int_equal(server_proc_stop(p.pid, SIGTERM), 0);
    cleanup(&p);
}

/* kill -9 of a worker: the supervisor starts another in its place, and
 * every request meanwhile is answered (those the kernel queued on the dead
 * worker's socket by the new one). */
static void test_killed_worker_restarted(void **state)
{
    (void)state;
    proc p;
    start(&p);
    wait_workers_started(&p);
    pid_t w0 = worker_pid(&p, 0, NULL);
    assert_int_equal(kill(w0, SIGKILL), 0);
    for (int i = 0; i < REQUESTS; i++)
        assert_int_equal(server_proc_request(p.port, "GET", "/health/liveness", NULL, NULL, NULL),
                         200);
    int starts = 0;
    pid_t again = 0;
    for (int t = 0; t < 100 && starts < 2; t++) {
        again = worker_pid(&p, 0, &starts);
        if (starts < 2)
            sleep_ms(50);
    }
    assert_int_equal(starts, 2);
    assert_true(again > 0 && again != w0);
    assert_int_equal(kill(again, 0), 0);
    /* The new worker serves: it is not a process left idle. */
    int served = 0;
    for (int i = 0; i < REQUESTS * 2 && !served; i++) {
        assert_int_equal(server_proc_request(p.port, "GET", "/health/liveness", NULL, NULL, NULL),
                         200);
        served = answered_by(&p, again, "/health/liveness");
    }
    assert_true(served > 0);
    char *log = read_log(&p);
    assert_non_null(strstr(log, "died after"));
    assert_non_null(strstr(log, "signal 9; restarting it"));
    free(log);
    assert_int_equal(server_proc_stop(p.pid, SIGTERM), 0);
    cleanup(&p);
}

/* Worker i's own URL (its instance URL in the call leases) from the last
 * "worker i started (pid P, R restarts) at URL" line, into url. */
static void worker_url(const proc *p, int i, char *url, size_t len)
{
    char *log = read_log(p), marker[48];
    snprintf(marker, sizeof marker, "worker %d started (pid ", i);
    const char *last = NULL;
    for (const char *at = strstr(log, marker); at; at = strstr(at + 1, marker))
        last = at;
    const char *u = last ? strstr(last, ") at ") : NULL;
    assert_non_null(u);
    u += strlen(") at ");
    snprintf(url, len, "%.*s", (int)strcspn(u, "\""), u);
    free(log);
}

/* A worker restarted after kill -9 keeps its own socket: the same URL
 * (the leases of its calls name it), and the new process answers there. */
static void test_restarted_worker_same_url(void **state)
{
    (void)state;
    proc p;
    start(&p);
    wait_workers_started(&p);
    char before[128], after[128], other[128];
    worker_url(&p, 0, before, sizeof before);
    worker_url(&p, 1, other, sizeof other);
    assert_int_equal(strncmp(before, "http://127.0.0.1:", 17), 0);
    assert_string_not_equal(before, other);
    int own = atoi(before + 17);
    assert_true(own > 0 && own != p.port);
    assert_int_equal(server_proc_request(own, "GET", "/health/liveness", NULL, NULL, NULL), 200);
    pid_t w0 = worker_pid(&p, 0, NULL);
    assert_int_equal(kill(w0, SIGKILL), 0);
    int starts = 0;
    pid_t again = 0;
    for (int t = 0; t < 100 && starts < 2; t++) {
        again = worker_pid(&p, 0, &starts);
        if (starts < 2)
            sleep_ms(50);
    }
    assert_int_equal(starts, 2);
    worker_url(&p, 0, after, sizeof after);
    assert_string_equal(after, before);
    /* Connections to it wait in its socket while it starts. */
    assert_int_equal(server_proc_request(own, "GET", "/health/liveness", NULL, NULL, NULL), 200);
    for (int t = 0; t < 50 && !answered_by(&p, again, "/health/liveness"); t++)
        sleep_ms(50);
    assert_true(answered_by(&p, again, "/health/liveness") > 0);
    assert_int_equal(server_proc_stop(p.pid, SIGTERM), 0);
    cleanup(&p);
}

/* SIGTERM to the supervisor: every worker drains and exits, then it does,
 * with status 0, and the port is closed. */
static void test_sigterm_stops_all(void **state)
{
    (void)state;
    proc p;
    start(&p);
    wait_workers_started(&p);
    pid_t w0 = worker_pid(&p, 0, NULL), w1 = worker_pid(&p, 1, NULL);
    assert_int_equal(server_proc_request(p.port, "GET", "/health/liveness", NULL, NULL, NULL), 200);
    assert_int_equal(server_proc_stop(p.pid, SIGTERM), 0);
    errno = 0;
    assert_int_equal(kill(w0, 0), -1);
    assert_int_equal(errno, ESRCH);
    errno = 0;
    assert_int_equal(kill(w1, 0), -1);
    assert_int_equal(errno, ESRCH);
    assert_int_equal(server_proc_request(p.port, "GET", "/health/liveness", NULL, NULL, NULL), 0);
    char *log = read_log(&p);
    assert_non_null(strstr(log, "\"worker\":0,"));
    assert_non_null(strstr(log, "\"worker\":1,"));
    assert_non_null(strstr(log, "worker 0 (pid "));
    assert_non_null(strstr(log, "stopped: exit status 0"));
    assert_non_null(strstr(log, "supervisor stopped"));
    if (strstr(log, "died after"))
        fputs(log, stderr); /* meson prints a failed test's standard error */
    assert_null(strstr(log, "died after"));
    free(log);
    cleanup(&p);
}

/* SIGHUP (flags) as the workers start, before their loops handle it: it
 * is passed on and kills none; later ones reach every worker's loop. */
static void test_sighup_while_starting(void **state)
{
    (void)state;
    proc p;
    start(&p); /* returns as soon as the supervisor printed the port */
    assert_int_equal(kill(p.pid, SIGHUP), 0);
    wait_workers_started(&p);
    assert_int_equal(server_proc_request(p.port, "GET", "/health/liveness", NULL, NULL, NULL), 200);
    assert_int_equal(kill(p.pid, SIGHUP), 0);
    /* The second SIGHUP reaches both loops: two "SIGHUP: flags" lines. */
    char *log = NULL;
    int reloads = 0;
    for (int t = 0; t < 100 && reloads < 2; t++) {
        if (log)
            sleep_ms(50);
        free(log);
        log = read_log(&p);
        reloads = 0;
        for (const char *at = strstr(log, "SIGHUP: flags"); at;
             at = strstr(at + 1, "SIGHUP: flags"))
            reloads++;
    }
    print_message("# flags reloads logged: %d\n", reloads);
    assert_true(reloads >= 2);
    if (strstr(log, "died after"))
        fputs(log, stderr); /* meson prints a failed test's standard error */
    assert_null(strstr(log, "died after"));
    free(log);
    assert_int_equal(server_proc_stop(p.pid, SIGTERM), 0);
    cleanup(&p);
}

/* Workers that die as they start (their database cannot be opened): the
 * supervisor restarts them a few times, then gives up and exits non-zero
 * instead of restarting forever. */
static void test_gives_up(void **state)
{
    (void)state;
    char *envp[] = {(char *)"DATABASE__SQLITE__PATH=/nonexistent-ccai-dir/db.sqlite",
                    (char *)"SERVER__API_TOKEN=" TOKEN,
                    (char *)"SERVER__LISTEN=127.0.0.1:0",
                    (char *)"SERVER__WORKERS=2",
                    (char *)"CONFIG_YAML=",
                    NULL};
    char err[65536];
    int rc = server_proc_run_to_exit(server_path, envp, err, sizeof err);
    print_message("# exit status %d\n", rc);
    assert_true(rc > 0);
    assert_non_null(strstr(err, "stopping every worker"));
    assert_non_null(strstr(err, "supervisor stopped"));
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s PATH-TO-ccai-server\n", argv[0]);
        return 2;
    }
    server_path = argv[1];
    if (getenv("CCAI_TEST_FILTER"))
        cmocka_set_test_filter(getenv("CCAI_TEST_FILTER"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_both_workers_serve),
        cmocka_unit_test(test_workers_checkpoint_threads),
        cmocka_unit_test(test_killed_worker_restarted),
        cmocka_unit_test(test_restarted_worker_same_url),
        cmocka_unit_test(test_sigterm_stops_all),
        cmocka_unit_test(test_sighup_while_starting),
        cmocka_unit_test(test_gives_up),
    };
    return cmocka_run_group_tests(tests, NULL, server_proc_kill_leftovers);
}
