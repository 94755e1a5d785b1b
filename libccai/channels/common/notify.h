/* What a channel tells the engine of one of its calls, when nothing can be
 * answered back (channels/common/notify.c).
 *
 * A provider tells a channel what happened (the caller spoke, a play ended,
 * a transfer failed), often where no answer can carry a failure back: a
 * callback acknowledged as soon as it is read, a REST operation's
 * completion. The engine takes an event or refuses it having stored and
 * done nothing (docs/errors.md). The refusals are handled here, one way for
 * every such event:
 *
 *   1. Taken, or CCAI_ERR_STATE (the call has ended meanwhile: late news):
 *      done.
 *   2. CCAI_ERR_BUSY (another process holds the database's write lock):
 *      the event is kept and handed again from the loop, with backoff, the
 *      events after it waiting behind it, so the engine hears them all and
 *      in order; for at most CCAI_NOTIFY_PATIENCE_MS, the caller hearing
 *      nothing meanwhile.
 *   3. Anything else (the database failed, out of memory), or a lock that
 *      outlasts the patience: the call cannot go on. gave_up(ud, status)
 *      tells the channel from the loop (never from inside Ccai_notify()),
 *      which ends the call on the provider's side.
 *
 * A webhook route that can answer its provider does not come here: it
 * answers the failure (Ccai_exchange_fail_or_hold()). */
#ifndef CCAI_CHANNELS_COMMON_NOTIFY_H
#define CCAI_CHANNELS_COMMON_NOTIFY_H

#include "core/common.h"
#include "io/io.h"

/* How long an event may wait for another process's lock. */
#define CCAI_NOTIFY_PATIENCE_MS 10000u

typedef struct Ccai_notify_item Ccai_notify_item;
typedef void (*Ccai_notify_gave_up_fn)(void *ud, ccai_status status);

/* Embedded in the channel's call; the members are the notifier's. */
typedef struct Ccai_notifier {
    ccai_ctx *ctx;
    const Ccai_logger *log;
    ccai_call *call;
    Ccai_notify_gave_up_fn gave_up;
    void *ud;
    Ccai_notify_item *head, *tail; /* events kept, oldest first */
    Ccai_timer timer;
    int tries;         /* of the oldest kept event */
    uint64_t since;    /* when it was first refused */
    ccai_status given; /* not CCAI_OK: gave_up is due */
    bool *alive;       /* cleared by Ccai_notifier_clear() while handing */
} Ccai_notifier;

void Ccai_notifier_init(Ccai_notifier *n, ccai_ctx *ctx, const Ccai_logger *log, ccai_call *call,
                        Ccai_notify_gave_up_fn gave_up, void *ud);
/* Hand the engine an event of type with text (NULL for none). */
void Ccai_notify(Ccai_notifier *n, ccai_event_type type, const char *text);
/* The same with an event of type the channel built (speech with its
 * language and confidence); the notifier takes it. */
void Ccai_notify_event(Ccai_notifier *n, ccai_event_type type, ccai_event *ev);
/* Events still waiting for the engine. */
size_t Ccai_notify_waiting(const Ccai_notifier *n);
/* Drop what is kept and stop: the channel's call is going. Legal from
 * inside the engine's callbacks, Ccai_notify() and gave_up included. */
void Ccai_notifier_clear(Ccai_notifier *n);

#endif
