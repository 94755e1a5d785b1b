/* The real ccai-server process: it listens, answers through libccai, logs
 * JSON without secrets, and stops cleanly on SIGTERM. */
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

extern char **environ;

static const char *server_path;

typedef struct proc {
    pid_t pid;
    int port;
    char log_path[256];
    char dir[64];
} proc;

static void start(proc *p, const char *token)
{
    strcpy(p->dir, "/tmp/ccai-srv-XXXXXX");
    assert_non_null(mkdtemp(p->dir));
    snprintf(p->log_path, sizeof p->log_path, "%s/server.log", p->dir);
    char db[256], tok[128];
    snprintf(db, sizeof db, "DATABASE__SQLITE__PATH=%s/db.sqlite", p->dir);
    snprintf(tok, sizeof tok, "SERVER__API_TOKEN=%s", token);
    char *envp[] = {db,
                    tok,
                    (char *)"SERVER__LISTEN=127.0.0.1:0",
                    (char *)"CONFIG_YAML=",
                    (char *)"SERVER__MAX_BODY_BYTES=4096",
                    NULL};
    p->pid = server_proc_start(server_path, envp, p->log_path, &p->port);
    assert_true(p->pid > 0);
}

static int stop(proc *p)
{
    int rc = server_proc_stop(p->pid, SIGTERM);
    assert_true(rc >= 0);
    return rc;
}

static void cleanup(proc *p)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", p->dir);
    assert_int_equal(system(cmd), 0);
}

typedef struct reply {
    long status;
    char body[8192];
    size_t len;
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

static reply http(const proc *p, const char *method, const char *path, const char *token,
                  const char *body)
{
    reply r = {0};
    char url[256], auth[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", p->port, path);
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    if (token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        h = curl_slist_append(h, auth);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return r;
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

static void test_serves_and_stops(void **state)
{
    (void)state;
    proc p;
    start(&p, "t0ken-s3cret");
    reply r = http(&p, "GET", "/health/liveness", NULL, NULL);
    assert_int_equal(r.status, 200);
    r = http(&p, "GET", "/health/readiness", NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"store\""));
    r = http(&p, "GET", "/call?token=t0ken-s3cret", NULL, NULL);
    assert_int_equal(r.status, 401); /* the API takes the token in the header only */
    r = http(&p, "GET", "/call", "t0ken-s3cret", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"total\":0,\"calls\":[]}");
    r = http(&p, "GET", "/call/%2B33612345678", "t0ken-s3cret", NULL);
    assert_int_equal(r.status, 404);
    assert_non_null(strstr(r.body, "\"error\""));
    char big[6000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    r = http(&p, "POST", "/call", "t0ken-s3cret", big);
    assert_true(r.status == 413);
    assert_int_equal(stop(&p), 0);
    const char *log = slurp(p.log_path);
    assert_non_null(strstr(log, "\"event\":\"access\""));
    assert_non_null(strstr(log, "\"path\":\"/call\",\"status\":200"));
    assert_non_null(strstr(log, "\"msg\":\"stopped\""));
    assert_null(strstr(log, "t0ken-s3cret")); /* never a secret in a log */
    cleanup(&p);
}

static void test_invalid_configuration(void **state)
{
    (void)state;
    char *envp[] = {(char *)"CONFIG_YAML=conversation:\n  answer_hard_timeout_sec: soon\n", NULL};
    char err[4096];
    assert_int_equal(server_proc_run_to_exit(server_path, envp, err, sizeof err), 2);
    assert_non_null(strstr(err, "conversation.answer_hard_timeout_sec"));
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
        cmocka_unit_test(test_serves_and_stops),
        cmocka_unit_test(test_invalid_configuration),
    };
    int rc = cmocka_run_group_tests_name("server", tests, NULL, server_proc_kill_leftovers);
    curl_global_cleanup();
    return rc;
}
