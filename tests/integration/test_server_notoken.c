/* The real ccai-server without an API token: it refuses to listen beyond
 * this machine (exit 2), refuses an empty token (exit 2), says at start-up
 * which mode it is in, and answers only requests meant for it: a foreign
 * Host (DNS rebinding) gets 421, a foreign Origin (CSRF) 403, a request
 * relayed by a proxy 403; same-origin pages and the CLI are served. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "support/server_proc.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *server_path;

typedef struct srv {
    pid_t pid;
    int port;
    char dir[64];
    char log[128];
} srv;

static void start(srv *s, const char *token_env)
{
    strcpy(s->dir, "/tmp/ccai-srvlocal-XXXXXX");
    assert_non_null(mkdtemp(s->dir));
    char db[128];
    snprintf(db, sizeof db, "DATABASE__SQLITE__PATH=%s/db.sqlite", s->dir);
    snprintf(s->log, sizeof s->log, "%s/server.log", s->dir);
    char *envp[] = {db, (char *)"SERVER__LISTEN=127.0.0.1:0",
                    (char *)"CONFIG_YAML=", (char *)token_env, NULL};
    s->pid = server_proc_start(server_path, envp, s->log, &s->port);
    assert_true(s->pid > 0);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void stop(srv *s)
{
    assert_int_equal(server_proc_stop(s->pid, SIGTERM), 0);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", s->dir);
    assert_int_equal(system(cmd), 0);
}

static size_t sink(char *d, size_t sz, size_t n, void *ud)
{
    char *b = ud;
    size_t len = strlen(b), add = sz * n;
    if (len + add < 4096) {
        memcpy(b + len, d, add);
        b[len + add] = '\0';
    }
    return add;
}

/* method path to the server with extra header lines; the status, the body
 * in body (4 KiB). */
static long request(const srv *s, const char *method, const char *path, const char *data,
                    const char *const *headers, char body[4096])
{
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", s->port, path);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    struct curl_slist *h = NULL;
    for (size_t i = 0; headers && headers[i]; i++)
        h = curl_slist_append(h, headers[i]);
    body[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (data)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, data);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 15000L);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return status;
}

/* Run the server with envp until it refuses to start: its exit status,
 * its standard error in err. */
static int run_to_exit(char *const envp[], char *err, size_t errlen)
{
    int rc = server_proc_run_to_exit(server_path, envp, err, errlen);
    if (rc < 0)
        fail_msg("the server started instead of refusing: %s", err);
    return rc;
}

static void test_refuses_to_start(void **state)
{
    (void)state;
    char err[4096];
    char *open_door[] = {(char *)"SERVER__LISTEN=0.0.0.0:0",
                         (char *)"DATABASE__SQLITE__PATH=:memory:", (char *)"CONFIG_YAML=", NULL};
    assert_int_equal(run_to_exit(open_door, err, sizeof err), 2);
    assert_non_null(strstr(err, "server.listen: \"0.0.0.0:0\" is not a loopback address"));
    assert_non_null(strstr(err, "SERVER__API_TOKEN"));
    char *empty[] = {(char *)"SERVER__API_TOKEN=", (char *)"DATABASE__SQLITE__PATH=:memory:",
                     (char *)"CONFIG_YAML=", NULL};
    assert_int_equal(run_to_exit(empty, err, sizeof err), 2);
    assert_non_null(strstr(err, "server.api_token: is empty"));
    /* A token opens other addresses. */
    char *with_token[] = {(char *)"SERVER__LISTEN=0.0.0.0:0", (char *)"SERVER__API_TOKEN=tok",
                          (char *)"DATABASE__SQLITE__PATH=:memory:", (char *)"CONFIG_YAML=", NULL};
    srv s = {0};
    s.pid = server_proc_start(server_path, with_token, "/dev/null", &s.port);
    assert_true(s.pid > 0);
    const char *tok[] = {"Authorization: Bearer tok", NULL};
    assert_int_equal(request(&s, "GET", "/call", NULL, tok, err), 200);
    assert_int_equal(server_proc_stop(s.pid, SIGTERM), 0);
}

static void test_local_only(void **state)
{
    (void)state;
    srv s;
    start(&s, "CCAI_TEST=no-token");
    char body[4096], host[64], origin[96];
    snprintf(host, sizeof host, "Host: 127.0.0.1:%d", s.port);
    snprintf(origin, sizeof origin, "Origin: http://127.0.0.1:%d", s.port);

    /* The CLI, and the server's own pages. */
    const char *cli[] = {NULL};
    assert_int_equal(request(&s, "GET", "/call", NULL, cli, body), 200);
    const char *same[] = {host, origin, "Content-Type: application/json", NULL};
    assert_int_equal(request(&s, "POST", "/chat", "{\"lang\":\"en-US\"}", same, body), 200);
    assert_non_null(strstr(body, "\"call_id\""));

    /* DNS rebinding: the attacker's name resolves to 127.0.0.1. */
    const char *rebound[] = {"Host: rebind.evil.example:8080", NULL};
    assert_int_equal(request(&s, "GET", "/call", NULL, rebound, body), 421);
    assert_non_null(strstr(body, "\"message\":\"misdirected request\""));
    /* CSRF: another site's page posts from the user's browser. */
    const char *csrf[] = {host, "Origin: https://evil.example", "Content-Type: text/plain", NULL};
    assert_int_equal(request(&s, "POST", "/chat", "{}", csrf, body), 403);
    assert_non_null(strstr(body, "\"message\":\"cross-origin request refused\""));
    /* A reverse proxy on this machine relays a client from anywhere. */
    const char *proxied[] = {host, "X-Forwarded-For: 203.0.113.9", NULL};
    assert_int_equal(request(&s, "GET", "/call", NULL, proxied, body), 403);

    const char *log = slurp(s.log);
    const char *mode = strstr(log, "auth: no-token mode");
    assert_non_null(mode);
    assert_null(strstr(mode + 1, "auth: ")); /* said once */
    stop(&s);

    /* Token mode says so. */
    start(&s, "SERVER__API_TOKEN=tok");
    const char *tok[] = {"Authorization: Bearer tok", "Host: api.example.org", NULL};
    assert_int_equal(request(&s, "GET", "/call", NULL, tok, body), 200);
    assert_non_null(strstr(slurp(s.log), "auth: token mode"));
    stop(&s);
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
        cmocka_unit_test(test_refuses_to_start),
        cmocka_unit_test(test_local_only),
    };
    int rc = cmocka_run_group_tests_name("server-notoken", tests, NULL, server_proc_kill_leftovers);
    curl_global_cleanup();
    return rc;
}
