/* A real ccai-server whose database another process locks (the sqlite3
 * shell inside BEGIN IMMEDIATE, as an operator's shell, a backup or a second
 * writer would) or cannot write (a read-only file):
 * - liveness answers at once whatever the store does (the figure is printed;
 *   only a generous bound is asserted, and that the lock was still held);
 * - readiness is 503 while the store cannot write, 200 again after;
 * - a REST write is 503 with Retry-After in the JSON error envelope;
 * - a caller's turn that comes meanwhile, through the HTTP chat or a Twilio
 *   <Gather> webhook signed as Twilio signs it, is held (Twilio never
 *   retries a webhook), then stored exactly once and answered when the lock
 *   is released; held longer than server.store_wait_ms it is refused with 503
 *   (Twilio then requests the number's fallback URL) and stored only when it
 *   comes again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "support/db_lock.h"
#include "support/server_proc.h"
#include "support/twilio_standin.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PUBLIC "https://ccai.example.com"
#define TOKEN  "tok"

static const char *server_path;

/* What a failed assertion leaves behind, for the teardown. */
static struct srv *running;
static struct db_lock *locking;

typedef struct srv {
    pid_t pid;
    int port;
    char dir[64];
    char db[128];
    char log[128];
    twilio_standin *tw;
} srv;

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Start the server; unprivileged: as nobody when this test runs as root
 * (root writes any file, a service should not run as root). */
static void spawn(srv *s, const char *extra_env, int unprivileged)
{
    char db[160], api[256];
    snprintf(db, sizeof db, "DATABASE__SQLITE__PATH=%s", s->db);
    snprintf(api, sizeof api, "TWILIO__API_BASE_URL=%s", twilio_standin_url(s->tw));
    char *envp[] = {db,
                    api,
                    (char *)"SERVER__LISTEN=127.0.0.1:0",
                    (char *)"SERVER__API_TOKEN=" TOKEN,
                    (char *)"SERVER__PUBLIC_URL=" PUBLIC,
                    (char *)"TWILIO__ACCOUNT_SID=" TWILIO_STANDIN_SID,
                    (char *)"TWILIO__AUTH_TOKEN=" TWILIO_STANDIN_TOKEN,
                    (char *)"TWILIO__PHONE_NUMBER=+15550001111",
                    (char *)"CONVERSATION__INITIATE__LANG__DEFAULT_SHORT_CODE=en-US",
                    (char *)"CONFIG_YAML=",
                    (char *)extra_env,
                    NULL};
    running = s;
    if (!unprivileged || geteuid() != 0) {
        s->pid = server_proc_start(server_path, envp, s->log, &s->port);
        assert_true(s->pid > 0);
        return;
    }
    int out[2];
    assert_int_equal(pipe(out), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int log = open(s->log, O_WRONLY | O_CREAT | O_TRUNC, 0666);
        if (log < 0 || dup2(out[1], 1) < 0 || dup2(log, 2) < 0 || setgid(65534) != 0 ||
            setuid(65534) != 0)
            _exit(127);
        close(out[0]);
        char *argv[] = {(char *)server_path, NULL};
        execve(server_path, argv, envp);
        _exit(127);
    }
    close(out[1]);
    FILE *f = fdopen(out[0], "r");
    char line[64] = "";
    s->port = f && fgets(line, sizeof line, f) ? atoi(line) : 0;
    if (f)
        fclose(f);
    s->pid = pid;
    assert_true(s->port > 0);
}

static void start(srv *s, const char *extra_env)
{
    memset(s, 0, sizeof *s);
    s->tw = twilio_standin_start(NULL, NULL);
    assert_non_null(s->tw);
    strcpy(s->dir, "/tmp/ccai-srvdb-XXXXXX");
    assert_non_null(mkdtemp(s->dir));
    snprintf(s->db, sizeof s->db, "%s/db.sqlite", s->dir);
    snprintf(s->log, sizeof s->log, "%s/server.log", s->dir);
    spawn(s, extra_env, 0);
}

static void stop(srv *s)
{
    pid_t pid = s->pid;
    s->pid = 0;
    assert_int_equal(server_proc_stop(pid, SIGTERM), 0);
}

static void cleanup(srv *s)
{
    running = NULL;
    twilio_standin_stop(s->tw);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", s->dir);
    assert_int_equal(system(cmd), 0);
}

static void take_lock(db_lock *l, const char *db)
{
    assert_int_equal(db_lock_take(l, db), 0);
    locking = l;
}

static void release_lock(db_lock *l)
{
    locking = NULL;
    assert_int_equal(db_lock_release(l), 0);
}

static void join_turns(void);

/* After a failed assertion: no server or sqlite3 shell left running. */
static int teardown(void **state)
{
    (void)state;
    if (locking)
        db_lock_release(locking);
    locking = NULL;
    if (running && running->pid > 0)
        server_proc_stop(running->pid, SIGKILL);
    join_turns();
    if (running)
        twilio_standin_stop(running->tw);
    running = NULL;
    return 0;
}

/* HTTP -------------------------------------------------------------------------- */

typedef struct reply {
    long status;
    char body[16384];
    size_t len;
    char retry_after[32];
    char content_type[64];
    double ms;
} reply;

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    reply *r = ud;
    size_t len = size * n;
    if (r->len + len < sizeof r->body) {
        memcpy(r->body + r->len, data, len);
        r->len += len;
        r->body[r->len] = '\0';
    }
    return len;
}

static void header_value(const char *line, size_t len, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    if (len <= n || strncasecmp(line, name, n) != 0)
        return;
    const char *v = line + n;
    size_t vl = len - n;
    while (vl && (*v == ' ' || *v == '\t'))
        v++, vl--;
    while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
        vl--;
    snprintf(out, cap, "%.*s", (int)vl, v);
}

static size_t on_header(char *data, size_t size, size_t n, void *ud)
{
    reply *r = ud;
    header_value(data, size * n, "Retry-After:", r->retry_after, sizeof r->retry_after);
    header_value(data, size * n, "Content-Type:", r->content_type, sizeof r->content_type);
    return size * n;
}

static reply http(const srv *s, const char *method, const char *path, const char *body)
{
    reply r;
    memset(&r, 0, sizeof r);
    char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", s->port, path);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    struct curl_slist *h = curl_slist_append(NULL, "Authorization: Bearer " TOKEN);
    h = curl_slist_append(h, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    uint64_t t0 = now_us();
    CURLcode rc = curl_easy_perform(c);
    r.ms = (double)(now_us() - t0) / 1000.0;
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return r;
}

/* A Twilio webhook signed for the public URL, as Twilio sends it. */
static int hook(const srv *s, const char *path, const char *const *params, char **ret)
{
    char url[512], pub[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", s->port, path);
    snprintf(pub, sizeof pub, PUBLIC "%s", path);
    twilio_standin_webhook_opts o = {
        .url = url, .auth_token = TWILIO_STANDIN_TOKEN, .params = params, .signed_url = pub};
    return twilio_standin_webhook_ex(&o, ret);
}

/* A request sent from a thread: the server holds it while the database is
 * locked. */
typedef struct pending {
    pthread_t th;
    const srv *s;
    const char *path;
    const char *body;          /* JSON: the HTTP chat */
    const char *const *params; /* else a Twilio webhook */
    reply r;                   /* the chat's answer */
    int hook_status;           /* the webhook's */
    char *hook_body;
    volatile int done;
    int started;
} pending;

static void *pending_run(void *ud)
{
    pending *p = ud;
    if (p->params)
        p->hook_status = hook(p->s, p->path, p->params, &p->hook_body);
    else
        p->r = http(p->s, "POST", p->path, p->body);
    __atomic_store_n(&p->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

/* Static, not on a test's stack: a thread outlives a failed assertion
 * (the teardown joins it once the server is gone). */
static pending chat_turn, phone_turn;

static void pending_start(pending *p)
{
    assert_int_equal(pthread_create(&p->th, NULL, pending_run, p), 0);
    p->started = 1;
}

static void pending_join(pending *p)
{
    if (!p->started)
        return;
    p->started = 0;
    assert_int_equal(pthread_join(p->th, NULL), 0);
}

static void join_turns(void)
{
    pending_join(&chat_turn);
    pending_join(&phone_turn);
    free(phone_turn.hook_body);
    memset(&chat_turn, 0, sizeof chat_turn);
    memset(&phone_turn, 0, sizeof phone_turn);
}

static int is_done(pending *p)
{
    return __atomic_load_n(&p->done, __ATOMIC_SEQ_CST);
}

/* Conversations -------------------------------------------------------------------- */

/* POST /chat: the new chat's call id. */
static void chat_start(const srv *s, char id[37])
{
    reply r = http(s, "POST", "/chat", "{}");
    assert_int_equal(r.status, 200);
    const char *p = strstr(r.body, "\"call_id\":\"");
    assert_non_null(p);
    snprintf(id, 37, "%s", p + strlen("\"call_id\":\""));
}

/* An inbound Twilio call: its gather path and call id. */
static void twilio_call(const srv *s, const char *sid, char *gather, size_t cap, char id[37])
{
    const char *voice[] = {"CallSid",    sid,
                           "AccountSid", TWILIO_STANDIN_SID,
                           "From",       "+33612345678",
                           "To",         "+15550001111",
                           "Direction",  "inbound",
                           NULL};
    char *res = NULL;
    assert_int_equal(hook(s, "/twilio/voice", voice, &res), 200);
    const char *a = strstr(res, "action=\"" PUBLIC);
    assert_non_null(a);
    a += strlen("action=\"" PUBLIC);
    size_t n = 0;
    while (*a && *a != '"' && n + 1 < cap) {
        if (!strncmp(a, "&amp;", 5)) {
            gather[n++] = '&';
            a += 5;
        } else {
            gather[n++] = *a++;
        }
    }
    gather[n] = '\0';
    free(res);
    const char *c = strstr(gather, "call=");
    assert_non_null(c);
    snprintf(id, 37, "%s", c + 5);
}

/* How many stored messages of the call say exactly text. */
static int stored(const srv *s, const char *id, const char *text)
{
    char path[96], needle[512];
    snprintf(path, sizeof path, "/call/%s", id);
    reply r = http(s, "GET", path, NULL);
    assert_int_equal(r.status, 200);
    snprintf(needle, sizeof needle, "\"content\":\"%s\"", text);
    int n = 0;
    for (const char *p = r.body; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static void assert_error_envelope(const reply *r)
{
    assert_non_null(strstr(r->content_type, "application/json"));
    assert_true(r->len > 0 && r->body[0] == '{');
    assert_non_null(strstr(r->body, "{\"error\":{\"message\":"));
    assert_non_null(strstr(r->body, "\"details\":["));
}

/* Tests ------------------------------------------------------------------------------ */

static const char chat_words[] = "My kitchen is flooded since this morning";
static const char phone_words[] = "A tree fell on my car last night";

static void test_locked_database(void **state)
{
    (void)state;
    srv s;
    /* The held turns must outlast whatever a loaded machine makes of the
     * steps below: they are released, not timed out. */
    start(&s, "SERVER__STORE_WAIT_MS=60000");
    /* Static: the threads read them (see chat_turn). */
    static char chat_id[37], call_id[37], gather[512], say_path[96], body[256];
    chat_start(&s, chat_id);
    twilio_call(&s, "CA00000000000000000000000000000001", gather, sizeof gather, call_id);
    reply r = http(&s, "GET", "/health/readiness", NULL);
    assert_int_equal(r.status, 200);

    db_lock l;
    take_lock(&l, s.db);

    /* A caller's turn through the chat and through Twilio: held, while the
     * loop goes on serving. */
    snprintf(say_path, sizeof say_path, "/chat/%s", chat_id);
    snprintf(body, sizeof body, "{\"text\":\"%s\"}", chat_words);
    static const char *const speech[] = {"CallSid", "CA00000000000000000000000000000001",
                                         "SpeechResult", phone_words, NULL};
    pending *chat = &chat_turn, *phone = &phone_turn;
    *chat = (pending){.s = &s, .path = say_path, .body = body};
    *phone = (pending){.s = &s, .path = gather, .params = speech};
    pending_start(chat);
    pending_start(phone);
    nap_ms(300);

    /* Liveness answers at once. */
    r = http(&s, "GET", "/health/liveness", NULL);
    assert_int_equal(r.status, 200);
    printf("# liveness while another process holds the write lock (two turns waiting): "
           "%.2f ms\n",
           r.ms);
    assert_true(r.ms < 2000.0); /* generous: it was 4.7 s with the 5 s busy wait */
    assert_true(db_lock_held(s.db));

    /* Readiness says the store cannot write. */
    r = http(&s, "GET", "/health/readiness", NULL);
    printf("# readiness while locked: %ld in %.2f ms\n", r.status, r.ms);
    assert_int_equal(r.status, 503);
    assert_non_null(strstr(r.body, "\"id\":\"store\",\"status\":\"fail\""));
    assert_non_null(strstr(r.body, "locked"));

    /* A REST write: 503 at once, with Retry-After, in the error envelope. */
    r = http(&s, "POST", "/call", "{\"phone_number\":\"+33612345679\"}");
    printf("# POST /call while locked: %ld, Retry-After %s, in %.2f ms\n", r.status, r.retry_after,
           r.ms);
    assert_int_equal(r.status, 503);
    assert_true(atoi(r.retry_after) >= 1);
    assert_error_envelope(&r);
    assert_int_equal(twilio_standin_request_count(s.tw), 0); /* no call placed */

    /* What the bot said already is not held back: a chat's /next answers. */
    char next_path[128];
    snprintf(next_path, sizeof next_path, "/chat/%s/next", chat_id);
    r = http(&s, "POST", next_path, "{}");
    assert_int_equal(r.status, 200);
    assert_true(r.ms < 2000.0);

    nap_ms(500);
    assert_false(is_done(chat));
    assert_false(is_done(phone));
    assert_int_equal(stored(&s, chat_id, chat_words), 0); /* reads go on */
    assert_true(db_lock_held(s.db));

    release_lock(&l);
    pending_join(chat);
    pending_join(phone);
    printf("# held turns answered after the release: chat %ld in %.0f ms, Twilio %d\n",
           chat->r.status, chat->r.ms, phone->hook_status);
    assert_int_equal(chat->r.status, 200);
    assert_non_null(strstr(chat->r.body, "\"say\":[{"));
    assert_int_equal(phone->hook_status, 200);
    assert_non_null(phone->hook_body);
    assert_non_null(strstr(phone->hook_body, "<Say"));
    join_turns();
    assert_int_equal(stored(&s, chat_id, chat_words), 1);
    assert_int_equal(stored(&s, call_id, phone_words), 1);

    /* Everything works again. */
    r = http(&s, "GET", "/health/readiness", NULL);
    assert_int_equal(r.status, 200);
    r = http(&s, "POST", "/call", "{\"phone_number\":\"+33612345679\"}");
    assert_int_equal(r.status, 201);
    for (int i = 0; i < 3000 && twilio_standin_request_count(s.tw) < 1; i++)
        nap_ms(10); /* the call is placed from the loop, after the answer */
    assert_int_equal(twilio_standin_request_count(s.tw), 1);
    stop(&s);
    cleanup(&s);
}

static void test_lock_outlasts_the_wait(void **state)
{
    (void)state;
    srv s;
    start(&s, "SERVER__STORE_WAIT_MS=400");
    char chat_id[37], call_id[37], gather[512];
    chat_start(&s, chat_id);
    twilio_call(&s, "CA00000000000000000000000000000002", gather, sizeof gather, call_id);
    db_lock l;
    take_lock(&l, s.db);

    char say_path[96], body[256];
    snprintf(say_path, sizeof say_path, "/chat/%s", chat_id);
    snprintf(body, sizeof body, "{\"text\":\"%s\"}", chat_words);
    reply r = http(&s, "POST", say_path, body);
    printf("# chat turn held past server.store_wait_ms (400): %ld after %.0f ms\n", r.status, r.ms);
    assert_int_equal(r.status, 503);
    assert_true(r.ms >= 350.0);
    assert_true(atoi(r.retry_after) >= 1);
    assert_error_envelope(&r);
    /* Twilio gets a 5xx: it requests the number's fallback URL (or ends the
     * call with its error message); nothing was stored or said. */
    const char *speech[] = {"CallSid", "CA00000000000000000000000000000002", "SpeechResult",
                            phone_words, NULL};
    char *res = NULL;
    assert_int_equal(hook(&s, gather, speech, &res), 503);
    free(res);
    assert_true(db_lock_held(s.db));
    release_lock(&l);

    /* Refused, then sent again: stored once. */
    assert_int_equal(stored(&s, chat_id, chat_words), 0);
    r = http(&s, "POST", say_path, body);
    assert_int_equal(r.status, 200);
    assert_int_equal(stored(&s, chat_id, chat_words), 1);
    assert_int_equal(stored(&s, call_id, phone_words), 0);
    stop(&s);
    cleanup(&s);
}

static void test_read_only_database(void **state)
{
    (void)state;
    srv s;
    start(&s, NULL);
    char chat_id[37];
    chat_start(&s, chat_id);
    stop(&s);
    assert_int_equal(chmod(s.db, 0444), 0);
    assert_int_equal(chmod(s.dir, 0777), 0); /* the server may make -wal and -shm */
    spawn(&s, NULL, 1);

    reply r = http(&s, "GET", "/health/liveness", NULL);
    assert_int_equal(r.status, 200);
    r = http(&s, "GET", "/health/readiness", NULL);
    printf("# readiness on a read-only database: %ld %s\n", r.status, r.body);
    assert_int_equal(r.status, 503);
    assert_non_null(strstr(r.body, "\"id\":\"store\",\"status\":\"fail\""));
    assert_non_null(strstr(r.body, "readonly"));
    /* Reads work; writes are refused at once (waiting would not help). */
    char path[96];
    snprintf(path, sizeof path, "/call/%s", chat_id);
    r = http(&s, "GET", path, NULL);
    assert_int_equal(r.status, 200);
    r = http(&s, "POST", "/chat", "{}");
    assert_int_equal(r.status, 503);
    assert_true(atoi(r.retry_after) >= 1);
    assert_error_envelope(&r);
    assert_true(r.ms < 2000.0);
    stop(&s);
    cleanup(&s);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    server_path = argv[1];
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_locked_database, teardown),
        cmocka_unit_test_teardown(test_lock_outlasts_the_wait, teardown),
        cmocka_unit_test_teardown(test_read_only_database, teardown),
    };
    int rc = cmocka_run_group_tests_name("server-store", tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
