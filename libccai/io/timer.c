/* Timers: a binary min-heap of embedded timers on the host's one timer. */
#include "io/loop.h"

#include <assert.h>

void Ccai_timer_init(Ccai_timer *t, Ccai_timer_fn fn, void *ud)
{
    t->due = 0;
    t->seq = 0;
    t->heap_index = SIZE_MAX;
    t->fn = fn;
    t->ud = ud;
    t->idle = false;
}

void Ccai_timer_set_idle(Ccai_timer *t, bool idle)
{
    assert(!Ccai_timer_active(t)); /* the heap counts it as it was pushed */
    t->idle = idle;
}

bool Ccai_timer_active(const Ccai_timer *t)
{
    return t->heap_index != SIZE_MAX;
}

static bool timer_less(const Ccai_timer *a, const Ccai_timer *b)
{
    return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void heap_set(Ccai_timer_heap *h, size_t i, Ccai_timer *t)
{
    h->v[i] = t;
    t->heap_index = i;
}

static void sift_up(Ccai_timer_heap *h, size_t i)
{
    Ccai_timer *t = h->v[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!timer_less(t, h->v[parent]))
            break;
        heap_set(h, i, h->v[parent]);
        i = parent;
    }
    heap_set(h, i, t);
}

static void sift_down(Ccai_timer_heap *h, size_t i)
{
    Ccai_timer *t = h->v[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= h->n)
            break;
        if (child + 1 < h->n && timer_less(h->v[child + 1], h->v[child]))
            child++;
        if (!timer_less(h->v[child], t))
            break;
        heap_set(h, i, h->v[child]);
        i = child;
    }
    heap_set(h, i, t);
}

bool Ccai_timer_heap_push(Ccai_timer_heap *h, Ccai_timer *t)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 16;
        Ccai_timer **v = Ccai_realloc(h->v, cap * sizeof *v);
        if (!v)
            return false;
        h->v = v;
        h->cap = cap;
    }
    t->seq = h->next_seq++;
    h->n_idle += t->idle;
    h->v[h->n] = t;
    t->heap_index = h->n++;
    sift_up(h, t->heap_index);
    return true;
}

void Ccai_timer_heap_remove(Ccai_timer_heap *h, Ccai_timer *t)
{
    size_t i = t->heap_index;
    if (i == SIZE_MAX || i >= h->n || h->v[i] != t)
        return;
    t->heap_index = SIZE_MAX;
    h->n--;
    h->n_idle -= t->idle;
    if (i == h->n)
        return;
    heap_set(h, i, h->v[h->n]);
    if (i > 0 && timer_less(h->v[i], h->v[(i - 1) / 2]))
        sift_up(h, i);
    else
        sift_down(h, i);
}

Ccai_timer *Ccai_timer_heap_peek(const Ccai_timer_heap *h)
{
    return h->n ? h->v[0] : NULL;
}

void Ccai_timer_heap_free(Ccai_timer_heap *h)
{
    for (size_t i = 0; i < h->n; i++)
        h->v[i]->heap_index = SIZE_MAX;
    ccai_free(h->v);
    h->v = NULL;
    h->n = h->n_idle = h->cap = 0;
}

ccai_status Ccai_timer_start(ccai_ctx *ctx, Ccai_timer *t, uint64_t delay_ms)
{
    Ccai_loop *l = Ccai_ctx_loop(ctx);
    Ccai_timer_heap_remove(&l->timers, t);
    uint64_t now = l->clock(l->clock_ud);
    t->due = delay_ms > UINT64_MAX - now ? UINT64_MAX : now + delay_ms;
    if (!Ccai_timer_heap_push(&l->timers, t))
        return CCAI_ERR_NOMEM;
    Ccai_loop_rearm(l);
    return CCAI_OK;
}

void Ccai_timer_stop(ccai_ctx *ctx, Ccai_timer *t)
{
    if (!Ccai_timer_active(t))
        return;
    Ccai_loop *l = Ccai_ctx_loop(ctx);
    Ccai_timer_heap_remove(&l->timers, t);
    Ccai_loop_rearm(l);
}
