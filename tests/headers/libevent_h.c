/*
 * <ccai/adapters/libevent.h> compiles alone in the language and standard
 * this file is built with, and its loop hooks create, change and free
 * libevent watchers as the ccai_loop_hooks contract says (driven directly,
 * without a context).
 */
#include <ccai/adapters/libevent.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

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
    ccai_libevent a;
    void *slot = NULL;
    int fds[2];
    ccai_status (*create)(struct event_base *, const ccai_config *, ccai_libevent **, ccai_ctx **,
                          char **) = ccai_libevent_new;
    void (*destroy)(ccai_libevent *) = ccai_libevent_free;

    check(create != NULL && destroy != NULL, "adapter functions");
    check(ccai_libevent_new(NULL, NULL, NULL, NULL, NULL) == CCAI_ERR_INVALID_ARG,
          "ccai_libevent_new(NULL) is CCAI_ERR_INVALID_ARG");
    ccai_libevent_free(NULL);

    memset(&a, 0, sizeof a);
    a.base = event_base_new();
    check(a.base != NULL, "event_base_new");
    if (!a.base || pipe(fds) != 0)
        return 1;
    a.timer = evtimer_new(a.base, ccai_libevent_on_timer_, &a);
    check(a.timer != NULL, "evtimer_new");

    check(ccai_libevent_watch_fd_(&a, fds[0], CCAI_POLL_IN, &slot) == 0, "watch");
    check(slot != NULL, "the watcher is kept in the fd slot");
    check(slot && event_pending((struct event *)slot, EV_READ, NULL), "pending for EV_READ");
    check(ccai_libevent_watch_fd_(&a, fds[0], CCAI_POLL_IN | CCAI_POLL_OUT, &slot) == 0, "change");
    check(slot && event_pending((struct event *)slot, EV_WRITE, NULL), "pending for EV_WRITE");
    check(ccai_libevent_watch_fd_(&a, fds[0], 0, &slot) == 0 && slot == NULL, "unwatch");

    check(ccai_libevent_set_timer_(&a, 1000) == 0, "arm timer");
    check(event_pending(a.timer, EV_TIMEOUT, NULL) != 0, "timer pending");
    check(ccai_libevent_set_timer_(&a, -1) == 0, "disarm timer");
    check(event_pending(a.timer, EV_TIMEOUT, NULL) == 0, "timer not pending");

    event_free(a.timer);
    event_base_free(a.base);
    close(fds[0]);
    close(fds[1]);
    if (failures == 0)
        printf("adapters/libevent.h: ok\n");
    return failures == 0 ? 0 : 1;
}
