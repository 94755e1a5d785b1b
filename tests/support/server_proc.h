/* The real ccai-server as a child process, and plain HTTP requests to it,
 * for the integration tests that run the binary. */
#ifndef CCAI_TEST_SERVER_PROC_H
#define CCAI_TEST_SERVER_PROC_H

#include <sys/types.h>

/* Spawn bin with only envp (NULL-terminated; it should set
 * SERVER__LISTEN=127.0.0.1:0) and standard error to log_path; wait for the
 * port it prints. Returns the pid, -1 on failure; *ret_port the port. */
pid_t server_proc_start(const char *bin, char *const envp[], const char *log_path, int *ret_port);

/* Send sig and reap the child: its exit status, or 128 + the signal. */
int server_proc_stop(pid_t pid, int sig);

/* method path on 127.0.0.1:port with an optional body (sent as JSON) and
 * Authorization header value (auth, NULL = none). Returns the HTTP status
 * (0 when the request failed); *ret_body (may be NULL) receives the body,
 * malloc'd. */
long server_proc_request(int port, const char *method, const char *path, const char *body,
                         const char *auth, char **ret_body);

#endif
