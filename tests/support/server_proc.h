/* The real ccai-server as a child process, and plain HTTP requests to it,
 * for the integration tests that run the binary. */
#ifndef CCAI_TEST_SERVER_PROC_H
#define CCAI_TEST_SERVER_PROC_H

#include <stddef.h>
#include <sys/types.h>

/* Spawn bin with only envp (NULL-terminated; it should set
 * SERVER__LISTEN=127.0.0.1:0) and standard error to log_path; wait for the
 * port it prints. Returns the pid, -1 on failure; *ret_port the port. */
pid_t server_proc_start(const char *bin, char *const envp[], const char *log_path, int *ret_port);

/* Send sig and reap the child: its exit status, or 128 + the signal. */
int server_proc_stop(pid_t pid, int sig);

/* A cmocka group teardown: SIGKILL every server started and not stopped
 * (a failed assertion leaves no process behind). Returns 0. */
int server_proc_kill_leftovers(void **state);

/* Run bin with only envp (standard output to /dev/null) until it exits, as
 * a server that refuses to start does: its exit status, its standard error
 * in err (NUL-terminated). -1 when it was still running after 10 s (then
 * killed): it started instead of refusing. */
int server_proc_run_to_exit(const char *bin, char *const envp[], char *err, size_t errlen);

/* What the servers started with their log in dir/server<i>.log, i from 0
 * to starts - 1, wrote: one NUL-terminated malloc'd text (a missing file
 * adds nothing). */
char *server_proc_logs(const char *dir, int starts);

/* method path on 127.0.0.1:port with an optional body (sent as JSON) and
 * Authorization header value (auth, NULL = none). Returns the HTTP status
 * (0 when the request failed); *ret_body (may be NULL) receives the body,
 * malloc'd. */
long server_proc_request(int port, const char *method, const char *path, const char *body,
                         const char *auth, char **ret_body);

#endif
