/* The life of one retrying REST operation (see the header). */
#include "io/restop.h"

void Ccai_rest_op_init(Ccai_rest_op *op, Ccai_timer_fn on_backoff, void *ud)
{
    Ccai_timer_init(&op->backoff, on_backoff, ud);
}

void Ccai_rest_op_link(Ccai_rest_op **list, Ccai_rest_op *op)
{
    op->list = list;
    op->prev = NULL;
    op->next = *list;
    if (*list)
        (*list)->prev = op;
    *list = op;
}

void Ccai_rest_op_unlink(Ccai_rest_op *op)
{
    if (!op->list)
        return;
    if (op->prev)
        op->prev->next = op->next;
    else
        *op->list = op->next;
    if (op->next)
        op->next->prev = op->prev;
    op->prev = op->next = NULL;
    op->list = NULL;
}

void Ccai_rest_op_stop(ccai_ctx *ctx, Ccai_rest_op *op)
{
    Ccai_timer_stop(ctx, &op->backoff);
    if (op->req)
        Ccai_http_cancel(op->req);
    op->req = NULL;
}

bool Ccai_rest_op_cancel(Ccai_rest_op *op)
{
    if (op->cancelled)
        return false;
    op->cancelled = true;
    return !op->in_callback;
}

bool Ccai_rest_op_retry_later(ccai_ctx *ctx, Ccai_rest_op *op, int64_t hint_ms, uint32_t base_ms,
                              uint32_t max_ms, const char *tag)
{
    uint64_t delay =
        hint_ms >= 0 ? (uint64_t)hint_ms : Ccai_backoff_ms(op->attempts, base_ms, max_ms);
    Ccai_log(Ccai_ctx_logger(ctx), CCAI_LOG_WARN, "%s: attempt %d failed, retry in %llu ms", tag,
             op->attempts, (unsigned long long)delay);
    return Ccai_timer_start(ctx, &op->backoff, delay) == CCAI_OK;
}
