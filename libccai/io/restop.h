/* The life of one retrying REST operation (io/restop.c), shared by the
 * provider clients (channels/twilio/twilio_rest.c, channels/acs/acs_rest.c): its place
 * in the client's list of running operations, the HTTP attempt in flight,
 * the backoff timer, and cancellation that is safe from inside the
 * operation's own callback.
 *
 * A client's operation struct embeds a Ccai_rest_op as its first member;
 * what the reply means and which callback it reaches stay in the client. */
#ifndef CCAI_IO_RESTOP_H
#define CCAI_IO_RESTOP_H

#include "io/io.h"

typedef struct Ccai_rest_op Ccai_rest_op;

struct Ccai_rest_op {
    Ccai_rest_op *prev, *next;
    Ccai_rest_op **list; /* the client's list head; NULL once unlinked */
    Ccai_http_req *req;  /* the attempt in flight, or NULL */
    Ccai_timer backoff;  /* armed between attempts */
    int attempts;        /* started so far */
    bool in_callback;    /* the client's callback is running */
    bool cancelled;
};

/* Prepare op (zeroed by the caller) with on_backoff(timer, ud) as the
 * function that starts the next attempt. */
void Ccai_rest_op_init(Ccai_rest_op *op, Ccai_timer_fn on_backoff, void *ud);
/* Add op at the head of *list (a client's running operations). */
void Ccai_rest_op_link(Ccai_rest_op **list, Ccai_rest_op *op);
/* Remove op from its list; nothing when it is not in one. */
void Ccai_rest_op_unlink(Ccai_rest_op *op);
/* Stop the backoff timer and cancel the request in flight: after this no
 * callback of op's can fire. */
void Ccai_rest_op_stop(ccai_ctx *ctx, Ccai_rest_op *op);
/* Mark op cancelled. true when the caller must unlink and free it now;
 * false when it was already cancelled, or is inside its callback (the
 * client frees it when the callback returns). */
bool Ccai_rest_op_cancel(Ccai_rest_op *op);
/* Arm the backoff timer: hint_ms when >= 0 (Retry-After), else the
 * exponential backoff of Ccai_backoff_ms(). Logs "<tag>: attempt N failed,
 * retry in M ms". false on NOMEM. */
bool Ccai_rest_op_retry_later(ccai_ctx *ctx, Ccai_rest_op *op, int64_t hint_ms, uint32_t base_ms,
                              uint32_t max_ms, const char *tag);

#endif
