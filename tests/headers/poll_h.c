/*
 * <ccai/adapters/poll.h> compiles alone in the language and standard this
 * file is built with, and its loop hooks keep the fd set and the timer as
 * the ccai_loop_hooks contract says (driven directly, without a context).
 */
#include <ccai/adapters/poll.h>

#include <stdio.h>
#include <string.h>

static int failures;

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "FAIL: %s\n", what);
        failures++;
    }
}

int main(void)
{
    ccai_poll p;
    void *slot = NULL;
    ccai_status (*create)(const ccai_config *, ccai_poll **, ccai_ctx **, char **) = ccai_poll_new;
    int (*run)(ccai_poll *, int (*)(void *), void *) = ccai_poll_run;
    void (*destroy)(ccai_poll *) = ccai_poll_free;

    check(create != NULL && run != NULL && destroy != NULL, "adapter functions");
    check(ccai_poll_new(NULL, NULL, NULL, NULL) == CCAI_ERR_INVALID_ARG,
          "ccai_poll_new(NULL) is CCAI_ERR_INVALID_ARG");
    ccai_poll_free(NULL);

    memset(&p, 0, sizeof p);
    check(ccai_poll_watch_fd_(&p, 7, CCAI_POLL_IN, &slot) == 0, "watch fd 7");
    check(ccai_poll_watch_fd_(&p, 9, CCAI_POLL_IN | CCAI_POLL_OUT, &slot) == 0, "watch fd 9");
    check(p.nfds == 2, "two fds watched");
    check(ccai_poll_watch_fd_(&p, 7, CCAI_POLL_OUT, &slot) == 0, "change fd 7");
    check(p.nfds == 2 && p.fds[0].fd == 7 && p.fds[0].events == POLLOUT, "fd 7 now POLLOUT");
    check(p.fds[1].events == (POLLIN | POLLOUT), "fd 9 POLLIN|POLLOUT");
    check(ccai_poll_watch_fd_(&p, 7, 0, &slot) == 0, "unwatch fd 7");
    check(p.nfds == 1 && p.fds[0].fd == 9, "fd 9 left");
    check(ccai_poll_watch_fd_(&p, 9, 0, &slot) == 0 && p.nfds == 0, "unwatch fd 9");

    check(ccai_poll_set_timer_(&p, 1000) == 0 && p.timer_armed, "arm timer");
    check(p.deadline_ms >= ccai_time_ms() + 900, "deadline in the future");
    check(ccai_poll_set_timer_(&p, -1) == 0 && !p.timer_armed, "disarm timer");
    free(p.fds);

    if (failures == 0)
        printf("adapters/poll.h: ok\n");
    return failures == 0 ? 0 : 1;
}
