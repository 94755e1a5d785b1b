/* Timers: a pairing heap of embedded timers on the host's one timer. */
#include "io/loop.h"

#include <assert.h>

void Ccai_timer_init(Ccai_timer *t, Ccai_timer_fn fn, void *ud)
{
    t->due = 0;
    t->seq = 0;
    t->child = t->next = t->prev = NULL;
    t->fn = fn;
    t->ud = ud;
    t->active = false;
    t->idle = false;
}

void Ccai_timer_set_idle(Ccai_timer *t, bool idle)
{
    assert(!Ccai_timer_active(t)); /* the heap counts it as it was pushed */
    t->idle = idle;
}

bool Ccai_timer_active(const Ccai_timer *t)
{
    return t->active;
}

static CCAI_MUST_CHECK bool timer_less(const Ccai_timer *a, const Ccai_timer *b)
{
    return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

/* Two heaps (roots without siblings) into one: the later root becomes the
 * first child of the earlier. */
static Ccai_timer *meld(Ccai_timer *a, Ccai_timer *b)
{
    if (!a)
        return b;
    if (!b)
        return a;
    if (timer_less(b, a)) {
        Ccai_timer *x = a;
        a = b;
        b = x;
    }
    b->prev = a;
    b->next = a->child;
    if (a->child)
        a->child->prev = b;
    a->child = b;
    a->next = a->prev = NULL;
    return a;
}

/* The children of a removed node, first..., into one heap: meld them in
 * pairs from the left, then the pairs from the right (the two passes that
 * give the pairing heap its amortised O(log n) removal). */
static Ccai_timer *merge_pairs(Ccai_timer *first)
{
    Ccai_timer *pairs = NULL; /* melded pairs, the last first, linked by next */
    while (first) {
        Ccai_timer *a = first, *b = a->next;
        first = b ? b->next : NULL;
        a->next = a->prev = NULL;
        if (b)
            b->next = b->prev = NULL;
        Ccai_timer *m = meld(a, b);
        m->next = pairs;
        pairs = m;
    }
    Ccai_timer *root = NULL;
    while (pairs) {
        Ccai_timer *m = pairs;
        pairs = m->next;
        m->next = NULL;
        root = meld(root, m);
    }
    return root;
}

void Ccai_timer_heap_push(Ccai_timer_heap *h, Ccai_timer *t)
{
    t->seq = h->next_seq++;
    t->child = t->next = t->prev = NULL;
    t->active = true;
    h->n++;
    h->n_idle += t->idle;
    h->root = meld(h->root, t);
}

void Ccai_timer_heap_remove(Ccai_timer_heap *h, Ccai_timer *t)
{
    if (!t->active)
        return;
    if (t == h->root) {
        h->root = merge_pairs(t->child);
    } else {
        /* Cut t and its subtree out of its parent's list of children. */
        if (t->prev->child == t)
            t->prev->child = t->next;
        else
            t->prev->next = t->next;
        if (t->next)
            t->next->prev = t->prev;
        h->root = meld(h->root, merge_pairs(t->child));
    }
    t->child = t->next = t->prev = NULL;
    t->active = false;
    h->n--;
    h->n_idle -= t->idle;
}

Ccai_timer *Ccai_timer_heap_peek(const Ccai_timer_heap *h)
{
    return h->root;
}

/* Every node once, depth first, without a stack: up through prev (a
 * first child's prev is its parent) when a subtree is done. */
static Ccai_timer *walk_next(Ccai_timer *t)
{
    if (t->child)
        return t->child;
    while (t) {
        if (t->next)
            return t->next;
        while (t->prev && t->prev->child != t)
            t = t->prev; /* back to the first sibling */
        t = t->prev;     /* its parent, NULL at the root */
    }
    return NULL;
}

void Ccai_timer_heap_shift(Ccai_timer_heap *h, uint64_t (*shift)(uint64_t due, void *ud), void *ud)
{
    for (Ccai_timer *t = h->root; t; t = walk_next(t))
        t->due = shift(t->due, ud);
    /* Timers already due all land on the new now, where their order is
     * their seq, not their place in the heap: take the heap apart and
     * build it again. */
    Ccai_timer *list = NULL;
    while (h->root) {
        Ccai_timer *t = h->root;
        h->root = merge_pairs(t->child);
        t->child = NULL;
        t->next = list;
        list = t;
    }
    while (list) {
        Ccai_timer *t = list;
        list = t->next;
        t->next = t->prev = NULL;
        h->root = meld(h->root, t);
    }
}

void Ccai_timer_heap_free(Ccai_timer_heap *h)
{
    while (h->root)
        Ccai_timer_heap_remove(h, h->root);
    h->n = h->n_idle = 0;
}

void Ccai_timer_start(ccai_ctx *ctx, Ccai_timer *t, uint64_t delay_ms)
{
    Ccai_loop *l = Ccai_ctx_loop(ctx);
    Ccai_timer_heap_remove(&l->timers, t);
    uint64_t now = l->clock(l->clock_ud);
    t->due = delay_ms > UINT64_MAX - now ? UINT64_MAX : now + delay_ms;
    Ccai_timer_heap_push(&l->timers, t);
    Ccai_loop_rearm(l);
}

void Ccai_timer_stop(ccai_ctx *ctx, Ccai_timer *t)
{
    if (!Ccai_timer_active(t))
        return;
    Ccai_loop *l = Ccai_ctx_loop(ctx);
    Ccai_timer_heap_remove(&l->timers, t);
    Ccai_loop_rearm(l);
}
