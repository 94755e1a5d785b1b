/* The real ccai-server as a child process (see the header). */
#include "support/server_proc.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Servers started and not stopped yet. */
static pid_t live[16];

static void track(pid_t pid, bool on)
{
    for (size_t i = 0; i < sizeof live / sizeof *live; i++) {
        if (on ? live[i] == 0 : live[i] == pid) {
            live[i] = on ? pid : 0;
            return;
        }
    }
}

int server_proc_kill_leftovers(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof live / sizeof *live; i++) {
        if (live[i] > 0)
            server_proc_stop(live[i], SIGKILL);
    }
    return 0;
}

pid_t server_proc_start(const char *bin, char *const envp[], const char *log_path, int *ret_port)
{
    int out[2];
    if (pipe(out) != 0)
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    char *argv[] = {(char *)bin, NULL};
    pid_t pid = -1;
    int rc = posix_spawn(&pid, bin, &fa, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    if (rc != 0) {
        close(out[0]);
        return -1;
    }
    FILE *f = fdopen(out[0], "r");
    char line[64] = "";
    int port = f && fgets(line, sizeof line, f) ? atoi(line) : 0; /* the port it listens on */
    if (f)
        fclose(f);
    else
        close(out[0]);
    if (port <= 0) {
        int status = server_proc_stop(pid, SIGKILL);
        /* Why it did not start: its log, on the test's standard error
         * (meson prints it when the test fails). */
        fprintf(stderr, "server_proc_start: %s printed no port (exit %d); its log:\n", bin, status);
        FILE *lf = fopen(log_path, "r");
        char buf[4096];
        size_t n;
        while (lf && (n = fread(buf, 1, sizeof buf, lf)) > 0)
            fwrite(buf, 1, n, stderr);
        if (lf)
            fclose(lf);
        return -1;
    }
    *ret_port = port;
    track(pid, true);
    return pid;
}

int server_proc_stop(pid_t pid, int sig)
{
    track(pid, false);
    kill(pid, sig);
    int status = 0;
    if (waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static size_t sink(char *d, size_t sz, size_t n, void *ud)
{
    char **b = ud;
    size_t len = *b ? strlen(*b) : 0;
    char *nb = realloc(*b, len + sz * n + 1);
    if (!nb)
        return 0;
    memcpy(nb + len, d, sz * n);
    nb[len + sz * n] = '\0';
    *b = nb;
    return sz * n;
}

long server_proc_request(int port, const char *method, const char *path, const char *body,
                         const char *auth, char **ret_body)
{
    char url[2048], hdr[4096];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    CURL *c = curl_easy_init();
    if (!c)
        return 0;
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    if (auth) {
        snprintf(hdr, sizeof hdr, "Authorization: %s", auth);
        h = curl_slist_append(h, hdr);
    }
    char *res = NULL;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &res);
    long code = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (ret_body)
        *ret_body = res ? res : calloc(1, 1);
    else
        free(res);
    return code;
}

int server_proc_run_to_exit(const char *bin, char *const envp[], char *err, size_t errlen)
{
    char path[] = "/tmp/ccai-server-err-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    unlink(path);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fd, 2);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    char *argv[] = {(char *)bin, NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, bin, &fa, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    int status = 0;
    if (rc == 0) {
        /* A server that started waits for a signal. */
        for (int i = 0; i < 1000 && waitpid(pid, &status, WNOHANG) == 0; i++)
            usleep(10000);
        if (waitpid(pid, &status, WNOHANG) == 0) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            rc = -1;
        }
    }
    ssize_t n = errlen ? pread(fd, err, errlen - 1, 0) : 0;
    if (errlen)
        err[n > 0 ? n : 0] = '\0';
    close(fd);
    return rc == 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

char *server_proc_logs(const char *dir, int starts)
{
    size_t cap = 1 << 16, len = 0;
    char *all = malloc(cap);
    for (int i = 0; all && i < starts; i++) {
        char path[256];
        snprintf(path, sizeof path, "%s/server%d.log", dir, i);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t n;
        char buf[4096];
        while (all && (n = fread(buf, 1, sizeof buf, f)) > 0) {
            if (len + n + 1 > cap) {
                cap = 2 * (len + n + 1);
                char *grown = realloc(all, cap);
                if (!grown) {
                    free(all);
                    all = NULL;
                    break;
                }
                all = grown;
            }
            memcpy(all + len, buf, n);
            len += n;
        }
        fclose(f);
    }
    if (all)
        all[len] = '\0';
    return all;
}
