/* Events a channel hands the engine, and the engine's refusals handled one
 * way (see notify.h). */
#include "channels/common/notify.h"

#define RETRY_BASE_MS 50u
#define RETRY_MAX_MS  1000u

struct Ccai_notify_item {
    Ccai_notify_item *next;
    ccai_event *ev;
    ccai_event_type type; /* for the log: an event does not say */
};

static void on_timer(Ccai_timer *t, void *ud);

void Ccai_notifier_init(Ccai_notifier *n, ccai_ctx *ctx, const Ccai_logger *log, ccai_call *call,
                        Ccai_notify_gave_up_fn gave_up, void *ud)
{
    *n = (Ccai_notifier){.ctx = ctx, .log = log, .call = call, .gave_up = gave_up, .ud = ud};
    Ccai_timer_init(&n->timer, on_timer, n);
}

static void drop_all(Ccai_notifier *n)
{
    while (n->head) {
        Ccai_notify_item *it = n->head;
        n->head = it->next;
        ccai_event_free(it->ev);
        ccai_free(it);
    }
    n->tail = NULL;
}

void Ccai_notifier_clear(Ccai_notifier *n)
{
    if (n->alive)
        *n->alive = false;
    n->alive = NULL;
    drop_all(n);
    n->given = CCAI_OK;
    if (n->ctx)
        Ccai_timer_stop(n->ctx, &n->timer);
}

size_t Ccai_notify_waiting(const Ccai_notifier *n)
{
    size_t k = 0;
    for (const Ccai_notify_item *it = n->head; it; it = it->next)
        k++;
    return k;
}

/* ccai_on_event(), telling whether the notifier outlived it (the engine's
 * ops may end the channel's call, clearing it). An op may hand an event
 * itself: the frames nest, and a clear is told to each. */
static ccai_status hand(Ccai_notifier *n, const ccai_event *ev, bool *ret_alive)
{
    bool alive = true, *outer = n->alive;
    n->alive = &alive;
    ccai_status st = ccai_on_event(n->call, ev);
    if (alive)
        n->alive = outer;
    else if (outer)
        *outer = false;
    *ret_alive = alive;
    return st;
}

/* The call cannot go on: tell the channel from the loop. */
static void give_up(Ccai_notifier *n, ccai_status st)
{
    drop_all(n);
    n->given = st;
    Ccai_timer_start(n->ctx, &n->timer, 0);
}

static void keep(Ccai_notifier *n, Ccai_notify_item *it)
{
    it->next = NULL;
    if (n->tail)
        n->tail->next = it;
    else
        n->head = it;
    n->tail = it;
}

/* The oldest kept event met the lock again: wait on, or give up. */
static void wait_again(Ccai_notifier *n)
{
    uint64_t now = Ccai_ctx_now(n->ctx);
    if (now - n->since >= CCAI_NOTIFY_PATIENCE_MS) {
        Ccai_log(n->log, CCAI_LOG_ERROR,
                 "call %s: %zu event(s) waited %u ms for a database locked by another process: "
                 "giving the call up",
                 ccai_call_id(n->call), Ccai_notify_waiting(n), CCAI_NOTIFY_PATIENCE_MS);
        give_up(n, CCAI_ERR_BUSY);
        return;
    }
    n->tries++;
    Ccai_timer_start(n->ctx, &n->timer, Ccai_backoff_ms(n->tries, RETRY_BASE_MS, RETRY_MAX_MS));
}

void Ccai_notify_event(Ccai_notifier *n, ccai_event_type type, ccai_event *ev)
{
    Ccai_notify_item *it = Ccai_calloc(1, sizeof *it);
    if (!it) {
        ccai_event_free(ev);
        Ccai_log(n->log, CCAI_LOG_ERROR, "call %s: out of memory for an event: giving the call up",
                 ccai_call_id(n->call));
        give_up(n, CCAI_ERR_NOMEM);
        return;
    }
    it->ev = ev;
    it->type = type;
    if (n->given != CCAI_OK) { /* the call is being given up */
        ccai_event_free(ev);
        ccai_free(it);
        return;
    }
    if (n->head) { /* after those that wait */
        keep(n, it);
        return;
    }
    bool alive;
    ccai_status st = hand(n, ev, &alive);
    if (alive && st == CCAI_ERR_BUSY) {
        Ccai_log(n->log, CCAI_LOG_WARN,
                 "call %s: %s waits: the database is locked by another process",
                 ccai_call_id(n->call), ccai_event_type_str(type));
        keep(n, it);
        n->since = Ccai_ctx_now(n->ctx);
        n->tries = 0;
        wait_again(n);
        return;
    }
    ccai_event_free(ev);
    ccai_free(it);
    /* Refused for good (the engine logged why): the call cannot go on. */
    if (alive && st != CCAI_OK && st != CCAI_ERR_STATE)
        give_up(n, st);
}

void Ccai_notify(Ccai_notifier *n, ccai_event_type type, const char *text)
{
    ccai_event *ev = NULL;
    ccai_status st = ccai_event_new(type, &ev);
    if (st == CCAI_OK && text)
        st = ccai_event_set_text(ev, text);
    if (st == CCAI_OK) {
        Ccai_notify_event(n, type, ev);
        return;
    }
    ccai_event_free(ev);
    Ccai_log(n->log, CCAI_LOG_ERROR, "call %s: cannot make a %s event: %s: giving the call up",
             ccai_call_id(n->call), ccai_event_type_str(type), ccai_status_str(st));
    if (n->given == CCAI_OK)
        give_up(n, st);
}

static void on_timer(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    Ccai_notifier *n = ud;
    if (n->given != CCAI_OK) {
        ccai_status st = n->given;
        n->given = CCAI_OK;
        n->gave_up(n->ud, st);
        return;
    }
    while (n->head) {
        Ccai_notify_item *it = n->head;
        bool alive;
        ccai_status st = hand(n, it->ev, &alive);
        if (!alive)
            return; /* the channel's call went, and what it kept with it */
        if (st == CCAI_ERR_BUSY) {
            wait_again(n);
            return;
        }
        n->head = it->next;
        if (!n->head)
            n->tail = NULL;
        ccai_event_free(it->ev);
        ccai_free(it);
        if (st != CCAI_OK && st != CCAI_ERR_STATE) {
            give_up(n, st);
            return;
        }
        /* The next one was refused for no lock yet: its wait starts now. */
        n->since = Ccai_ctx_now(n->ctx);
        n->tries = 0;
    }
}
