/* The queue between the engine's ops and a webhook-driven channel. */
#include "channels/common/outbox.h"

#include "http/exchange.h"

#include <string.h>

static void on_flush_timer(Ccai_timer *t, void *ud);

void Ccai_outbox_init(Ccai_outbox *o, Ccai_outbox_render_fn render, void *ud)
{
    memset(o, 0, sizeof *o);
    o->render = render;
    o->ud = ud;
    Ccai_timer_init(&o->flush_timer, on_flush_timer, o);
}

void Ccai_outbox_clear(Ccai_outbox *o)
{
    for (size_t i = 0; i < o->n; i++) {
        ccai_free(o->text[i]);
        ccai_free(o->lang[i]);
        ccai_free(o->voice[i]);
    }
    o->n = 0;
}

void Ccai_outbox_reset(Ccai_outbox *o)
{
    Ccai_outbox_clear(o);
    o->listening = false;
}

void Ccai_outbox_free(Ccai_outbox *o)
{
    if (o->ctx)
        Ccai_timer_stop(o->ctx, &o->flush_timer);
    if (o->waiting) {
        ccai_http_exchange *x = o->waiting;
        o->waiting = NULL;
        x->route_state = NULL;
        x->on_cancel = NULL;
        Ccai_exchange_error(x, 410, "the call is over", NULL);
    }
    Ccai_outbox_clear(o);
    ccai_free(o->dial);
    o->dial = NULL;
}

bool Ccai_outbox_empty(const Ccai_outbox *o)
{
    return !o->n && !o->listening && !o->hangup && !o->dial;
}

static void flush(Ccai_outbox *o)
{
    if (!o->waiting || Ccai_outbox_empty(o))
        return;
    if (o->ctx)
        Ccai_timer_stop(o->ctx, &o->flush_timer);
    ccai_http_exchange *x = o->waiting;
    o->waiting = NULL;
    x->route_state = NULL;
    x->on_cancel = NULL;
    o->render(o, x, o->ud);
}

int Ccai_outbox_say(Ccai_outbox *o, const ccai_speech *sp)
{
    if (o->n == CCAI_OUTBOX_MAX)
        return -1;
    size_t i = o->n;
    o->text[i] = Ccai_strdup(sp->text);
    o->lang[i] = Ccai_strdup(sp->lang ? sp->lang : "en-US");
    o->voice[i] = sp->voice ? Ccai_strdup(sp->voice) : NULL;
    o->style[i] = sp->style;
    o->rate[i] = sp->rate > 0 ? sp->rate : 1.0;
    if (!o->text[i] || !o->lang[i] || (sp->voice && !o->voice[i])) {
        ccai_free(o->text[i]);
        ccai_free(o->lang[i]);
        ccai_free(o->voice[i]);
        return -1;
    }
    o->n++;
    /* At the end of the loop's turn (see flush_timer): a sentence may be
     * followed by more in the same turn. */
    if (o->waiting && o->ctx) {
        if (!Ccai_timer_active(&o->flush_timer))
            Ccai_timer_start(o->ctx, &o->flush_timer, 0);
    } else {
        flush(o);
    }
    return 0;
}

static void on_flush_timer(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    flush(ud);
}

void Ccai_outbox_listen(Ccai_outbox *o)
{
    o->listening = true;
    flush(o);
}

int Ccai_outbox_transfer(Ccai_outbox *o, const char *number)
{
    if (!Ccai_str_replace(&o->dial, number))
        return -1;
    flush(o);
    return 0;
}

void Ccai_outbox_hangup(Ccai_outbox *o)
{
    o->hangup = true;
    flush(o);
}

static void on_cancel(ccai_http_exchange *x)
{
    Ccai_outbox *o = x->route_state;
    if (o)
        o->waiting = NULL;
}

void Ccai_outbox_answer_or_wait(Ccai_outbox *o, ccai_http_exchange *x)
{
    /* Sentences only (the bot's turn not over): the end of its turn may
     * come later in this loop turn (acts waiting for the store's commit,
     * whose tick is due before this one): answered then, or at the end of
     * the loop's turn (flush_timer). */
    bool turn_over = o->listening || o->hangup || o->dial;
    if (!Ccai_outbox_empty(o) && (turn_over || !x->ctx)) {
        o->render(o, x, o->ud);
        return;
    }
    if (o->waiting) /* a retried request: the older one is abandoned */
        Ccai_exchange_respond(o->waiting, 409, "text/plain", "superseded", 10);
    o->waiting = x;
    o->ctx = x->ctx;
    x->route_state = o;
    x->on_cancel = on_cancel;
    if (o->n && !Ccai_timer_active(&o->flush_timer))
        Ccai_timer_start(o->ctx, &o->flush_timer, 0);
}
