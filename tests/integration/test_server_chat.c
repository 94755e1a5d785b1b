/* The HTTP chat channel through the real ccai-server process: a client
 * that closes its socket in the middle of a long-poll, a text over the
 * event limit, a disk that fills up under a chat. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "support/llm_standin.h"
#include "support/server_proc.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *server_path;

typedef struct srv {
    pid_t pid;
    int port;
    char dir[64];
    char db[128];
    standin *llm;
} srv;

static void start(srv *s)
{
    s->llm = standin_start(NULL);
    assert_non_null(s->llm);
    strcpy(s->dir, "/tmp/ccai-srvchat-XXXXXX");
    assert_non_null(mkdtemp(s->dir));
    snprintf(s->db, sizeof s->db, "%s/db.sqlite", s->dir);
    char db[160], ep[128], log[128];
    snprintf(db, sizeof db, "DATABASE__SQLITE__PATH=%s", s->db);
    snprintf(ep, sizeof ep, "LLM__FAST__ENDPOINT=http://127.0.0.1:%d/v1", standin_port(s->llm));
    snprintf(log, sizeof log, "%s/server.log", s->dir);
    char *envp[] = {db,
                    ep,
                    (char *)"LLM__FAST__MODE=openai_compatible",
                    (char *)"SERVER__LISTEN=127.0.0.1:0",
                    (char *)"SERVER__API_TOKEN=tok",
                    (char *)"CONVERSATION__INITIATE__LANG__DEFAULT_SHORT_CODE=en-US",
                    (char *)"CONFIG_YAML=",
                    NULL};
    /* The file-size limit of test_disk_full stands for a full disk: the
     * server ignores SIGXFSZ itself, so its write fails as on a full disk. */
    signal(SIGXFSZ, SIG_DFL);
    s->pid = server_proc_start(server_path, envp, log, &s->port);
    assert_true(s->pid > 0);
}

static void stop(srv *s)
{
    assert_int_equal(server_proc_stop(s->pid, SIGTERM), 0);
    standin_stop(s->llm);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", s->dir);
    assert_int_equal(system(cmd), 0);
}

typedef struct reply {
    char *body;
    size_t len;
    char retry_after[16];
} reply;

static size_t on_body(char *d, size_t sz, size_t n, void *ud)
{
    reply *r = ud;
    char *b = realloc(r->body, r->len + sz * n + 1);
    if (!b)
        return 0;
    memcpy(b + r->len, d, sz * n);
    r->len += sz * n;
    b[r->len] = '\0';
    r->body = b;
    return sz * n;
}

static size_t on_header(char *d, size_t sz, size_t n, void *ud)
{
    reply *r = ud;
    if (sz * n > 13 && !strncasecmp(d, "Retry-After: ", 13))
        snprintf(r->retry_after, sizeof r->retry_after, "%.*s", (int)strcspn(d + 13, "\r\n"),
                 d + 13);
    return sz * n;
}

/* POST path with body and the token; the parsed answer, its status in
 * *ret_status. Every request gets an answer: 15 s at most. */
static json_t *post_r(srv *s, const char *path, const char *body, long *ret_status, reply *r)
{
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", s->port, path);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    h = curl_slist_append(h, "Authorization: Bearer tok");
    memset(r, 0, sizeof *r);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 15000L);
    CURLcode rc = curl_easy_perform(c);
    *ret_status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, ret_status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK)
        fail_msg("%s: %s", path, curl_easy_strerror(rc));
    json_t *doc = json_loads(r->body ? r->body : "", 0, NULL);
    if (!doc)
        fail_msg("%s: HTTP %ld, not JSON: %s", path, *ret_status, r->body);
    free(r->body);
    r->body = NULL;
    return doc;
}

static json_t *post(srv *s, const char *path, const char *body, long *ret_status)
{
    reply r;
    return post_r(s, path, body, ret_status, &r);
}

static void append_said(const json_t *doc, char *out, size_t len)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(doc, "say"), i, s)
    {
        strncat(out, json_string_value(json_object_get(s, "text")), len - strlen(out) - 2);
        strcat(out, "|");
    }
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* What a client that gives up does: send the request, wait a little,
 * close the socket without reading the answer. */
static void abandon(srv *s, const char *path, const char *body, int after_ms)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)s->port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    char req[512];
    int n = snprintf(req, sizeof req,
                     "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Bearer tok\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                     path, s->port, strlen(body), body);
    assert_int_equal(send(fd, req, (size_t)n, 0), n);
    sleep_ms(after_ms);
    close(fd);
}

static void start_chat(srv *s, char path[96], char next[96])
{
    long status;
    json_t *doc = post(s, "/chat", "{}", &status);
    assert_int_equal(status, 200);
    const char *id = json_string_value(json_object_get(doc, "call_id"));
    assert_non_null(id);
    snprintf(path, 96, "/chat/%s", id);
    snprintf(next, 96, "/chat/%s/next", id);
    json_decref(doc);
}

/* The client closes its socket while its /next waits for the bot, as
 * ccai-cli does (it sends back the "seq" of the last answer it got as
 * "after"): the sentences said meanwhile go to its next poll, none is lost
 * to the dead one (whether or not the server saw the socket close). */
static void test_abandoned_poll(void **state)
{
    (void)state;
    srv s;
    start(&s);
    char path[96], next[96];
    start_chat(&s, path, next);
    standin_spec spec = STANDIN_SPEC_INIT;
    spec.content = "One. Two. Three.";
    spec.chunk_ms = 400;
    standin_push(s.llm, &spec);
    long status;
    json_t *doc = post(&s, path, "{\"text\":\"Count to three.\"}", &status);
    assert_int_equal(status, 200);
    char said[256] = "", ack[32];
    append_said(doc, said, sizeof said);
    snprintf(ack, sizeof ack, "{\"after\":%lld}",
             (long long)json_integer_value(json_object_get(doc, "seq")));
    json_decref(doc);
    assert_string_equal(said, "One.|");
    abandon(&s, next, ack, 100); /* "Two." comes 300 ms after it closed */
    sleep_ms(1500);
    /* Poll on as ccai-cli does until the bot listens (a loaded machine may
     * not have streamed it all yet). */
    bool listening = false;
    for (int i = 0; i < 20 && !listening; i++) {
        doc = post(&s, next, ack, &status);
        assert_int_equal(status, 200);
        append_said(doc, said, sizeof said);
        listening = json_is_true(json_object_get(doc, "listening"));
        snprintf(ack, sizeof ack, "{\"after\":%lld}",
                 (long long)json_integer_value(json_object_get(doc, "seq")));
        json_decref(doc);
    }
    assert_true(listening);
    assert_string_equal(said, "One.|Two.|Three.|");
    doc = post(&s, path, "{\"hangup\":true}", &status);
    assert_int_equal(status, 200);
    json_decref(doc);
    stop(&s);
}

/* A 17 KiB text (the body limit is 1 MiB): 413 in the error envelope. */
static void test_text_too_long(void **state)
{
    (void)state;
    srv s;
    start(&s);
    char path[96], next[96];
    start_chat(&s, path, next);
    char *big = malloc(17 * 1024 + 1);
    assert_non_null(big);
    memset(big, 'b', 17 * 1024);
    big[17 * 1024] = '\0';
    json_t *body = json_pack("{s:s}", "text", big);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    free(big);
    long status;
    json_t *doc = post(&s, path, text, &status);
    free(text);
    assert_int_equal(status, 413);
    assert_non_null(json_object_get(json_object_get(doc, "error"), "message"));
    json_decref(doc);
    doc = post(&s, path, "{\"hangup\":true}", &status);
    assert_int_equal(status, 200);
    json_decref(doc);
    stop(&s);
}

/* The disk fills up under a chat (the server's file-size limit stops the
 * journal from growing): 503 with Retry-After, the chat goes on once
 * there is room again. */
static void test_disk_full(void **state)
{
    (void)state;
    srv s;
    start(&s);
    char path[96], next[96];
    start_chat(&s, path, next);
    char wal[160];
    snprintf(wal, sizeof wal, "%s-wal", s.db);
    struct stat st;
    assert_int_equal(stat(wal, &st), 0);
    struct rlimit full = {(rlim_t)st.st_size, RLIM_INFINITY}, room = {RLIM_INFINITY, RLIM_INFINITY};
    assert_int_equal(prlimit(s.pid, RLIMIT_FSIZE, &full, NULL), 0);
    long status;
    reply r;
    json_t *doc = post_r(&s, path, "{\"text\":\"hello\"}", &status, &r);
    assert_int_equal(status, 503);
    assert_true(atoi(r.retry_after) > 0);
    assert_non_null(json_object_get(json_object_get(doc, "error"), "message"));
    json_decref(doc);
    assert_int_equal(prlimit(s.pid, RLIMIT_FSIZE, &room, NULL), 0);
    doc = post(&s, path, "{\"text\":\"hello\"}", &status);
    assert_int_equal(status, 200);
    json_decref(doc);
    doc = post(&s, path, "{\"hangup\":true}", &status);
    assert_int_equal(status, 200);
    json_decref(doc);
    stop(&s);
}

/* Open chats wait for their clients, they are no work in flight: SIGTERM
 * stops the server at once rather than after the whole grace period. */
static void test_open_chat_does_not_hold_shutdown(void **state)
{
    (void)state;
    srv s;
    start(&s);
    char path[96], next[96];
    start_chat(&s, path, next);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(server_proc_stop(s.pid, SIGTERM), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s_taken = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (s_taken >= 5.0)
        fail_msg("SIGTERM took %.1f s with one idle chat open", s_taken);
    standin_stop(s.llm);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", s.dir);
    assert_int_equal(system(cmd), 0);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s PATH-TO-ccai-server\n", argv[0]);
        return 2;
    }
    server_path = argv[1];
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_abandoned_poll),
        cmocka_unit_test(test_text_too_long),
        cmocka_unit_test(test_disk_full),
        cmocka_unit_test(test_open_chat_does_not_hold_shutdown),
    };
    int rc = cmocka_run_group_tests_name("server-chat", tests, NULL, server_proc_kill_leftovers);
    curl_global_cleanup();
    return rc;
}
