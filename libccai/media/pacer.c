/* Outbound pacing (see pacer.h). */
#include "media/pacer.h"

#include <string.h>

#define MAX_LABEL 255

void Ccai_pacer_params_default(Ccai_pacer_params *p)
{
    p->frame_ms = 20;
    p->lead_ms = 0;
    p->max_burst = 3;
    p->max_queue_ms = 120000;
    p->max_marks = 256;
}

/* A queued run of whole frames of one format, or a mark. */
typedef struct node {
    struct node *next;
    Ccai_pacer_kind kind;
    Ccai_media_format fmt;
    size_t frame_bytes;
    size_t len, off; /* audio bytes, bytes already released */
    uint8_t data[];  /* the audio, or the label and its NUL */
} node;

struct Ccai_pacer {
    Ccai_pacer_params p;
    node *head, *tail;
    node *done;             /* released last; the item handed out points into it */
    uint64_t queued_frames; /* whole frames queued */
    uint32_t n_marks;
    /* The frame not yet whole. */
    Ccai_media_format carry_fmt;
    size_t carry_len;
    uint8_t *carry;
    /* Schedule: the next frame plays at next_play and is released from
     * next_play - lead_ms. */
    bool anchored;
    bool dry; /* every queued frame has been released */
    uint64_t next_play;
    uint64_t burst_at; /* the now of the current tick */
    uint32_t burst;    /* frames released in it */
    uint64_t released_frames;
    uint64_t late_ticks;
};

static size_t frame_bytes(const Ccai_pacer *p, const Ccai_media_format *f)
{
    return Ccai_media_bytes_per_ms(f, p->p.frame_ms);
}

ccai_status Ccai_pacer_new(const Ccai_pacer_params *params, Ccai_pacer **ret)
{
    if (!params || !ret)
        return CCAI_ERR_INVALID_ARG;
    uint32_t f = params->frame_ms;
    if ((f != 10 && f != 20 && f != 30 && f != 40 && f != 60) || !params->max_burst ||
        !params->max_queue_ms || !params->max_marks || params->lead_ms > 10000)
        return CCAI_ERR_INVALID_ARG;
    Ccai_pacer *p = Ccai_calloc(1, sizeof *p);
    if (!p)
        return CCAI_ERR_NOMEM;
    p->p = *params;
    /* The largest frame: 48 kHz stereo PCM16. */
    p->carry = Ccai_malloc((size_t)48 * f * 2 * 2);
    if (!p->carry) {
        ccai_free(p);
        return CCAI_ERR_NOMEM;
    }
    *ret = p;
    return CCAI_OK;
}

static void drop_queue(Ccai_pacer *p)
{
    for (node *n = p->head, *next; n; n = next) {
        next = n->next;
        ccai_free(n);
    }
    p->head = p->tail = NULL;
    p->queued_frames = 0;
    p->n_marks = 0;
    p->carry_len = 0;
}

static void release_done(Ccai_pacer *p)
{
    ccai_free(p->done);
    p->done = NULL;
}

void Ccai_pacer_free(Ccai_pacer *p)
{
    if (!p)
        return;
    drop_queue(p);
    release_done(p);
    ccai_free(p->carry);
    ccai_free(p);
}

static node *node_new(Ccai_pacer_kind kind, size_t len)
{
    node *n = Ccai_malloc(sizeof *n + len);
    if (n) {
        memset(n, 0, sizeof *n);
        n->kind = kind;
        n->len = len;
    }
    return n;
}

static void append(Ccai_pacer *p, node *n)
{
    if (p->tail)
        p->tail->next = n;
    else
        p->head = n;
    p->tail = n;
}

/* The partial frame, padded with silence, into the node allocated for it. */
static void queue_padded_carry(Ccai_pacer *p, node *n)
{
    size_t fb = frame_bytes(p, &p->carry_fmt);
    memcpy(n->data, p->carry, p->carry_len);
    Ccai_media_fill_silence(p->carry_fmt.encoding, n->data + p->carry_len, fb - p->carry_len);
    n->fmt = p->carry_fmt;
    n->frame_bytes = fb;
    p->carry_len = 0;
    p->queued_frames++;
    append(p, n);
}

static node *carry_node_new(const Ccai_pacer *p)
{
    return node_new(CCAI_PACER_FRAME, frame_bytes(p, &p->carry_fmt));
}

ccai_status Ccai_pacer_push(Ccai_pacer *p, const Ccai_media_format *fmt, const uint8_t *data,
                            size_t len)
{
    if (!Ccai_media_format_valid(fmt) || (len && !data))
        return CCAI_ERR_INVALID_ARG;
    size_t fb = frame_bytes(p, fmt);
    bool pad_old = p->carry_len && !Ccai_media_format_equal(&p->carry_fmt, fmt);
    size_t carried = pad_old ? 0 : p->carry_len;
    size_t total = carried + len;
    size_t frames = total / fb, rest = total % fb;
    uint64_t after = p->queued_frames + (pad_old ? 1 : 0) + frames;
    uint64_t after_ms =
        after * p->p.frame_ms + (rest ? Ccai_media_bytes_to_us(fmt, rest) / 1000 : 0);
    if (after_ms > p->p.max_queue_ms)
        return CCAI_ERR_LIMIT;
    node *pad = NULL, *run = NULL;
    if (pad_old && !(pad = carry_node_new(p)))
        return CCAI_ERR_NOMEM;
    if (frames && !(run = node_new(CCAI_PACER_FRAME, frames * fb))) {
        ccai_free(pad);
        return CCAI_ERR_NOMEM;
    }
    if (pad)
        queue_padded_carry(p, pad);
    if (run) {
        memcpy(run->data, p->carry, carried);
        memcpy(run->data + carried, data, frames * fb - carried);
        run->fmt = *fmt;
        run->frame_bytes = fb;
        p->queued_frames += frames;
        append(p, run);
        data += frames * fb - carried;
        carried = 0;
        p->carry_len = 0;
    }
    /* What is left (less than a frame) joins the carry. */
    if (rest > carried)
        memcpy(p->carry + carried, data, rest - carried);
    p->carry_len = rest;
    p->carry_fmt = *fmt;
    return CCAI_OK;
}

ccai_status Ccai_pacer_flush(Ccai_pacer *p)
{
    if (!p->carry_len)
        return CCAI_OK;
    node *pad = carry_node_new(p);
    if (!pad)
        return CCAI_ERR_NOMEM;
    queue_padded_carry(p, pad);
    return CCAI_OK;
}

ccai_status Ccai_pacer_mark(Ccai_pacer *p, const char *label)
{
    if (!label)
        return CCAI_ERR_INVALID_ARG;
    size_t len = strlen(label);
    if (len > MAX_LABEL)
        return CCAI_ERR_INVALID_ARG;
    if (p->n_marks >= p->p.max_marks)
        return CCAI_ERR_LIMIT;
    node *m = node_new(CCAI_PACER_MARK, len + 1);
    if (!m)
        return CCAI_ERR_NOMEM;
    ccai_status st = Ccai_pacer_flush(p);
    if (st != CCAI_OK) {
        ccai_free(m);
        return st;
    }
    memcpy(m->data, label, len + 1);
    p->n_marks++;
    append(p, m);
    return CCAI_OK;
}

static node *pop(Ccai_pacer *p)
{
    node *n = p->head;
    p->head = n->next;
    if (!p->head)
        p->tail = NULL;
    return n;
}

bool Ccai_pacer_next(Ccai_pacer *p, uint64_t now_ms, Ccai_pacer_item *ret)
{
    release_done(p);
    node *n = p->head;
    if (!n)
        return false;
    memset(ret, 0, sizeof *ret);
    if (n->kind == CCAI_PACER_MARK) {
        p->done = pop(p);
        p->n_marks--;
        ret->kind = CCAI_PACER_MARK;
        ret->mark = (const char *)n->data;
        ret->play_ms = p->anchored && p->next_play > now_ms ? p->next_play : now_ms;
        return true;
    }
    uint64_t frame = p->p.frame_ms, lead = p->p.lead_ms;
    /* Nothing released yet, or the queue ran dry and the receiver has
     * played everything since: start the schedule from now. (A late tick
     * with audio waiting is not a restart: it catches up below.) */
    if (!p->anchored || (p->dry && now_ms > p->next_play)) {
        p->anchored = true;
        p->next_play = now_ms;
    }
    p->dry = false;
    if (now_ms + lead < p->next_play)
        return false;
    if (p->burst_at != now_ms) {
        p->burst_at = now_ms;
        p->burst = 0;
    }
    if (p->burst >= lead / frame + p->p.max_burst) {
        /* Still overdue after a whole burst: give up the lost time. */
        p->next_play = now_ms + lead + frame;
        p->late_ticks++;
        return false;
    }
    ret->kind = CCAI_PACER_FRAME;
    ret->fmt = n->fmt;
    ret->data = n->data + n->off;
    ret->len = n->frame_bytes;
    ret->play_ms = p->next_play;
    n->off += n->frame_bytes;
    if (n->off >= n->len)
        p->done = pop(p);
    p->queued_frames--;
    if (!p->queued_frames)
        p->dry = true;
    p->next_play += frame;
    p->burst++;
    p->released_frames++;
    return true;
}

uint64_t Ccai_pacer_next_due(const Ccai_pacer *p, uint64_t now_ms)
{
    const node *n = p->head;
    if (!n)
        return UINT64_MAX;
    if (n->kind == CCAI_PACER_MARK || !p->anchored || (p->dry && now_ms > p->next_play))
        return now_ms;
    uint64_t due = p->next_play > p->p.lead_ms ? p->next_play - p->p.lead_ms : 0;
    if (due <= now_ms && p->burst_at == now_ms &&
        p->burst >= p->p.lead_ms / p->p.frame_ms + p->p.max_burst)
        return now_ms + p->p.frame_ms;
    return due;
}

void Ccai_pacer_clear(Ccai_pacer *p, uint64_t now_ms, Ccai_pacer_cleared *ret)
{
    release_done(p);
    uint64_t released = p->released_frames * p->p.frame_ms;
    uint64_t unplayed = p->anchored && p->next_play > now_ms ? p->next_play - now_ms : 0;
    if (unplayed > released)
        unplayed = released;
    ret->released_ms = released;
    ret->heard_ms = released - unplayed;
    ret->dropped_ms = (p->queued_frames + (p->carry_len ? 1 : 0)) * p->p.frame_ms;
    ret->dropped_marks = p->n_marks;
    drop_queue(p);
    p->released_frames = 0;
    p->anchored = false;
}

uint64_t Ccai_pacer_queued_ms(const Ccai_pacer *p)
{
    uint64_t ms = p->queued_frames * p->p.frame_ms;
    if (p->carry_len)
        ms += Ccai_media_bytes_to_us(&p->carry_fmt, p->carry_len) / 1000;
    return ms;
}

uint64_t Ccai_pacer_late_ticks(const Ccai_pacer *p)
{
    return p->late_ticks;
}
