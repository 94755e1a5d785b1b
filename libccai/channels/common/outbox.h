/* What the bot did since the last answer to a webhook-driven channel: the
 * sentences it said, then whether it listens, transfers or hangs up. A
 * channel that answers HTTP requests (Twilio's TwiML webhooks, the HTTP
 * chat) renders it into its own format; a request that finds it empty waits
 * for the bot (channels/common/outbox.c). */
#ifndef CCAI_CHANNELS_COMMON_OUTBOX_H
#define CCAI_CHANNELS_COMMON_OUTBOX_H

#include "core/common.h"
#include "io/io.h"

struct ccai_http_exchange;

#define CCAI_OUTBOX_MAX 64

typedef struct Ccai_outbox Ccai_outbox;

/* Render the queue into an answer (status, content type, body): called
 * with at least one thing queued; the queue is cleared afterwards. */
typedef void (*Ccai_outbox_render_fn)(Ccai_outbox *o, struct ccai_http_exchange *x, void *ud);

struct Ccai_outbox {
    char *text[CCAI_OUTBOX_MAX];
    char *lang[CCAI_OUTBOX_MAX];
    char *voice[CCAI_OUTBOX_MAX];
    ccai_style style[CCAI_OUTBOX_MAX];
    double rate[CCAI_OUTBOX_MAX]; /* prosody rate, 1.0 the voice's own */
    size_t n;
    bool listening; /* the bot's turn is over: it waits for the caller */
    bool hangup;
    char *dial; /* transfer target */
    struct ccai_http_exchange *waiting;
    /* A sentence said to a waiting request is delivered at the end of the
     * loop's turn, not at once: what the bot does next in the same turn
     * (it listens, hangs up) goes in the same answer. With a store whose
     * acts run from its commit (a group, a pipeline) the sentence and the
     * end of the turn come one after the other from the loop; answered at
     * the sentence, Twilio would have to come back for the rest
     * (<Redirect> to /twilio/next: one more webhook a turn). */
    Ccai_timer flush_timer;
    ccai_ctx *ctx; /* the waiting request's: the loop the timer runs on */
    Ccai_outbox_render_fn render;
    void *ud;
};

void Ccai_outbox_init(Ccai_outbox *o, Ccai_outbox_render_fn render, void *ud);
/* Answers a waiting request with 410 ("the call is over"). */
void Ccai_outbox_free(Ccai_outbox *o);
CCAI_MUST_CHECK bool Ccai_outbox_empty(const Ccai_outbox *o);
/* Drop the sentences not delivered yet (barge-in). */
void Ccai_outbox_clear(Ccai_outbox *o);
/* Clear everything after rendering. */
void Ccai_outbox_reset(Ccai_outbox *o);

/* The ops of a call write here; each delivers to a waiting request. */
int Ccai_outbox_say(Ccai_outbox *o, const ccai_speech *sp);
void Ccai_outbox_listen(Ccai_outbox *o);
int Ccai_outbox_transfer(Ccai_outbox *o, const char *number);
void Ccai_outbox_hangup(Ccai_outbox *o);

/* Answer now when something is queued, else keep x until the bot acts. */
void Ccai_outbox_answer_or_wait(Ccai_outbox *o, struct ccai_http_exchange *x);

#endif
