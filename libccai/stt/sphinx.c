/* The offline speech-to-text provider "sphinx": speech/sphinx.h's
 * pocketsphinx streams behind the stt/stt.h interface.
 *
 * expect() becomes the answer type's JSGF grammar with the free language
 * model beside it (an answer the grammar cannot parse still has words), so
 * a FINAL carries the slot the grammar resolved; FREE is the language model
 * alone. feed() queues the audio and decodes one slice; the rest is decoded
 * in slices from a 0 ms timer, so the host's loop interleaves other work
 * with a long utterance. Results are copied and delivered from that timer:
 * never from inside feed(), end() or expect() (the interface's rule).
 *
 * The model (dictionary, language model, decoder pool: ~0.5 s to load,
 * ~100 MB with a free decoder) is loaded on the first open() of the thread
 * and shared by every stream of the thread (sphinxbase is not thread-safe:
 * one model per thread); Ccai_stt_sphinx_release() drops the thread's
 * reference when a context goes, streams keep theirs. */
#include "stt/sphinx.h"

#include "io/io.h"
#include "speech/sphinx.h"

#include <stdio.h>
#include <string.h>

static _Thread_local Ccai_sphinx_model *shared_model;

void Ccai_stt_sphinx_release(void)
{
    Ccai_sphinx_model_free(shared_model);
    shared_model = NULL;
}

/* One result waiting for the timer. */
typedef struct pending {
    struct pending *next;
    Ccai_stt_event event;
    double confidence;
    uint32_t audio_ms;
    bool from_end, has_slot;
    char *text;
    char slot[CCAI_SLOT_MAX];
} pending;

typedef struct sphinx_stt {
    Ccai_stt base;
    ccai_ctx *ctx;
    Ccai_sphinx *s;
    Ccai_stt_fn fn;
    void *ud;
    Ccai_timer timer;
    pending *head, **tail;
    bool in_utt;     /* audio fed since the last end/cancel */
    bool ended;      /* end() called, FINAL not delivered yet */
    bool failed;     /* a fatal error was reported */
    char *fail_text; /* a failure waiting for the timer */
    ccai_status fail_status;
    const Ccai_logger *log;
    bool in_cb;   /* the sink is being called */
    bool closed;  /* closed from inside the sink: freed when it returns */
    unsigned gen; /* cancels so far: results of an earlier one are dropped */
} sphinx_stt;

static bool speaks(const Ccai_stt_config *cfg, const char *lang)
{
    CCAI_UNUSED(cfg);
    return Ccai_sphinx_language_supported(lang);
}

static void kick(sphinx_stt *t)
{
    if (!Ccai_timer_active(&t->timer))
        Ccai_timer_start(t->ctx, &t->timer, 0);
}

static void push(sphinx_stt *t, pending *p)
{
    p->next = NULL;
    *t->tail = p;
    t->tail = &p->next;
    kick(t);
}

static void fail(sphinx_stt *t, ccai_status st, const char *why)
{
    if (t->failed)
        return;
    t->failed = true;
    t->fail_status = st;
    t->fail_text = Ccai_strdup(why && *why ? why : ccai_status_str(st));
    kick(t);
}

/* speech/sphinx.h's callback: inside feed/step/end; copied for the timer. */
static void on_result(const Ccai_sphinx_result *r, void *ud)
{
    sphinx_stt *t = ud;
    pending *p = Ccai_calloc(1, sizeof *p);
    if (!p || !(p->text = Ccai_strdup(r->text ? r->text : ""))) {
        ccai_free(p);
        fail(t, CCAI_ERR_NOMEM, "out of memory");
        return;
    }
    if (r->event == CCAI_SPHINX_PARTIAL) {
        p->event = CCAI_STT_PARTIAL;
        p->confidence = -1;
    } else {
        p->event = CCAI_STT_FINAL;
        p->confidence = r->confidence;
        p->audio_ms = r->audio_ms;
        p->from_end = !r->truncated;
        if (r->expected != CCAI_SPEECH_FREE && r->slot.matched) {
            p->has_slot = true;
            snprintf(p->slot, sizeof p->slot, "%s", r->slot.value);
        } else if (r->expected != CCAI_SPEECH_FREE && r->slot.command) {
            p->has_slot = true;
            snprintf(p->slot, sizeof p->slot, "%s", r->slot.command);
        }
        /* A grammar that heard no answer: the free model's words, if any. */
        if (!*p->text && r->free_text && *r->free_text) {
            char *f = Ccai_strdup(r->free_text);
            if (f) {
                ccai_free(p->text);
                p->text = f;
            }
        }
        t->in_utt = false;
        t->ended = false;
    }
    push(t, p);
}

static void on_timer(Ccai_timer *timer, void *ud)
{
    CCAI_UNUSED(timer);
    sphinx_stt *t = ud;
    /* One slice of decoding per turn of the loop. */
    if (!t->failed && Ccai_sphinx_pending_ms(t->s) > 0) {
        ccai_status st = Ccai_sphinx_step(t->s);
        if (st != CCAI_OK)
            fail(t, st, Ccai_sphinx_errmsg(t->s));
    }
    pending *p = t->head;
    t->head = NULL;
    t->tail = &t->head;
    if (!t->failed && Ccai_sphinx_pending_ms(t->s) > 0)
        Ccai_timer_start(t->ctx, &t->timer, 0);
    /* Deliver; the sink may close the stream: stop touching t then. */
    bool closed = false;
    unsigned gen = t->gen;
    while (p) {
        pending *next = p->next;
        if (!closed && gen == t->gen) {
            Ccai_stt_result r = {
                .event = p->event,
                .text = p->text,
                .confidence = p->confidence,
                .slot = p->has_slot ? p->slot : NULL,
                .audio_ms = p->audio_ms,
                .from_end = p->from_end,
            };
            t->in_cb = true;
            t->fn(&t->base, &r, t->ud);
            t->in_cb = false;
            closed = t->closed;
        }
        ccai_free(p->text);
        ccai_free(p);
        p = next;
    }
    if (closed) {
        ccai_free(t);
        return;
    }
    if (t->fail_text) {
        char *why = t->fail_text;
        t->fail_text = NULL;
        Ccai_stt_result r = {
            .event = CCAI_STT_ERROR,
            .text = "",
            .confidence = -1,
            .status = t->fail_status,
            .fatal = true,
            .errmsg = why,
        };
        t->in_cb = true;
        t->fn(&t->base, &r, t->ud);
        t->in_cb = false;
        ccai_free(why);
        if (t->closed) {
            ccai_free(t);
            return;
        }
    }
}

static ccai_status s_open(ccai_ctx *ctx, const Ccai_stt_config *cfg, const Ccai_stt_open *o,
                          Ccai_stt **ret)
{
    CCAI_UNUSED(cfg);
    if (!Ccai_sphinx_language_supported(o->lang)) {
        Ccai_ctx_set_error(ctx, "stt sphinx: no model for language %s", o->lang);
        return CCAI_ERR_UNSUPPORTED;
    }
    if (!shared_model) {
        Ccai_err err = {0};
        ccai_status st = Ccai_sphinx_model_new(NULL, o->log, &shared_model, &err);
        if (st != CCAI_OK) {
            Ccai_ctx_set_error(ctx, "stt sphinx: %s", Ccai_err_get(&err));
            Ccai_err_free(&err);
            shared_model = NULL;
            return st == CCAI_ERR_IO ? CCAI_ERR_CONFIG : st;
        }
        Ccai_err_free(&err);
    }
    sphinx_stt *t = Ccai_calloc(1, sizeof *t);
    if (!t)
        return CCAI_ERR_NOMEM;
    t->base.provider = &Ccai_stt_sphinx;
    /* Telephone audio goes in as it is; anything else as 16 kHz PCM (the
     * model's own rate). */
    if (o->call_in.rate == 8000 && o->call_in.channels == 1)
        t->base.in = o->call_in;
    else
        t->base.in = (Ccai_media_format){CCAI_MEDIA_PCM16, 16000, 1};
    t->ctx = ctx;
    t->fn = o->fn;
    t->ud = o->ud;
    t->log = o->log;
    t->tail = &t->head;
    Ccai_timer_init(&t->timer, on_timer, t);
    ccai_status st = Ccai_sphinx_new(shared_model, &t->base.in, on_result, t, &t->s);
    if (st != CCAI_OK) {
        ccai_free(t);
        return st;
    }
    *ret = &t->base;
    return CCAI_OK;
}

static ccai_status s_feed(Ccai_stt *base, const uint8_t *audio, size_t len)
{
    sphinx_stt *t = (sphinx_stt *)base;
    if (t->failed)
        return CCAI_ERR_STATE;
    ccai_status st = Ccai_sphinx_feed(t->s, audio, len);
    if (st == CCAI_ERR_INTERNAL) {
        fail(t, st, Ccai_sphinx_errmsg(t->s));
        return CCAI_OK; /* reported as a fatal ERROR from the loop */
    }
    if (st == CCAI_OK) {
        t->in_utt = true;
        if (Ccai_sphinx_pending_ms(t->s) > 0)
            kick(t);
    }
    return st;
}

static ccai_status s_end(Ccai_stt *base)
{
    sphinx_stt *t = (sphinx_stt *)base;
    if (t->failed)
        return CCAI_ERR_STATE;
    t->ended = true;
    ccai_status st = Ccai_sphinx_end(t->s); /* its FINAL is queued for the timer */
    if (st != CCAI_OK)
        fail(t, st, Ccai_sphinx_errmsg(t->s));
    else if (Ccai_sphinx_pending_ms(t->s) > 0)
        kick(t);
    return CCAI_OK;
}

static void s_cancel(Ccai_stt *base)
{
    sphinx_stt *t = (sphinx_stt *)base;
    Ccai_sphinx_cancel(t->s);
    t->gen++;
    t->in_utt = false;
    t->ended = false;
    /* Results of the dropped utterance not delivered yet go too. */
    pending *p = t->head;
    t->head = NULL;
    t->tail = &t->head;
    while (p) {
        pending *next = p->next;
        ccai_free(p->text);
        ccai_free(p);
        p = next;
    }
}

/* The interface's kinds to speech/grammar.h's (TIME has no grammar: the
 * free model hears it). */
static bool kind_of(Ccai_stt_kind k, Ccai_speech_kind *ret)
{
    switch (k) {
    case CCAI_STT_YESNO: *ret = CCAI_SPEECH_YESNO; return true;
    case CCAI_STT_DIGITS: *ret = CCAI_SPEECH_DIGITS; return true;
    case CCAI_STT_NUMBER: *ret = CCAI_SPEECH_NUMBER; return true;
    case CCAI_STT_DATE: *ret = CCAI_SPEECH_DATE; return true;
    case CCAI_STT_EMAIL: *ret = CCAI_SPEECH_EMAIL; return true;
    case CCAI_STT_CHOICE: *ret = CCAI_SPEECH_CHOICE; return true;
    case CCAI_STT_FREE:
    case CCAI_STT_TIME: break;
    }
    *ret = CCAI_SPEECH_FREE;
    return false;
}

static ccai_status s_expect(Ccai_stt *base, const Ccai_stt_expect *e)
{
    sphinx_stt *t = (sphinx_stt *)base;
    Ccai_speech_kind k;
    if (!e || !kind_of(e->kind, &k))
        return Ccai_sphinx_expect(t->s, CCAI_SPEECH_FREE, NULL, 0, false);
    ccai_status st = Ccai_sphinx_expect(t->s, k, e->kind == CCAI_STT_CHOICE ? e->choices : NULL,
                                        e->kind == CCAI_STT_CHOICE ? e->n_choices : 0, true);
    if (st != CCAI_OK) {
        /* A grammar it cannot build (a word not in the dictionary): the
         * free model hears the answer, the slot is then left to the
         * dialogue. */
        if (t->log)
            Ccai_log(t->log, CCAI_LOG_DEBUG, "stt sphinx: no grammar for %s: %s",
                     Ccai_speech_kind_name(k), Ccai_sphinx_errmsg(t->s));
        return Ccai_sphinx_expect(t->s, CCAI_SPEECH_FREE, NULL, 0, false);
    }
    return CCAI_OK;
}

static void s_close(Ccai_stt *base)
{
    if (!base)
        return;
    sphinx_stt *t = (sphinx_stt *)base;
    s_cancel(base);
    Ccai_sphinx_free(t->s);
    t->s = NULL;
    Ccai_timer_stop(t->ctx, &t->timer);
    ccai_free(t->fail_text);
    t->fail_text = NULL;
    if (t->in_cb) {
        t->closed = true; /* on_timer frees it when the sink returns */
        return;
    }
    ccai_free(t);
}

const Ccai_stt_provider Ccai_stt_sphinx = {
    .name = "sphinx",
    .caps = CCAI_STT_STREAMING | CCAI_STT_PARTIALS | CCAI_STT_HINTS | CCAI_STT_LOCAL,
    .speaks = speaks,
    .open = s_open,
    .feed = s_feed,
    .end = s_end,
    .cancel = s_cancel,
    .expect = s_expect,
    .close = s_close,
};
