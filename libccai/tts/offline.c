/* The offline text-to-speech providers behind tts/tts.h: "flite" (flite in
 * process, English, BSD-style: the default and the end of every fallback
 * chain) and "espeak" (the espeak-ng program, run as a separate process for
 * the languages flite lacks; GPL-3, never linked), both over
 * speech/synth.h.
 *
 * The synthesiser is driven from the loop: a 0 ms timer runs a step when
 * it waits for no file descriptor (flite: one sentence piece per step),
 * Ccai_fd_watch() wakes it when espeak-ng's pipes are ready. Audio comes
 * out in the call's own format (the synthesiser converts), so the voice
 * layer passes it on as it is. */
#include "tts/offline.h"

#include "io/io.h"
#include "speech/synth.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_FDS    4
#define MAX_QUEUED 256

typedef struct said {
    uint32_t id;
    uint64_t said_at;
    uint64_t first_at; /* 0: no audio yet */
    uint64_t audio_us;
} said;

typedef struct offline_tts {
    Ccai_tts base;
    ccai_ctx *ctx;
    Ccai_synth *syn;
    Ccai_tts_open o;
    Ccai_timer timer;
    int fds[MAX_FDS];
    size_t n_fds;
    said q[MAX_QUEUED]; /* in order: the synthesiser speaks them in order */
    size_t q_head, q_len;
    bool in_cb, closed;
} offline_tts;

static bool in_path(const char *prog)
{
    const char *path = getenv("PATH");
    if (!path || strchr(prog, '/'))
        return access(prog, X_OK) == 0;
    char buf[1024];
    while (*path) {
        size_t n = strcspn(path, ":");
        if (n && n + strlen(prog) + 2 < sizeof buf) {
            memcpy(buf, path, n);
            buf[n] = '/';
            strcpy(buf + n + 1, prog);
            if (access(buf, X_OK) == 0)
                return true;
        }
        path += n;
        if (*path == ':')
            path++;
    }
    return false;
}

static bool flite_speaks(const Ccai_tts_config *cfg, const char *lang)
{
    CCAI_UNUSED(cfg);
    return Ccai_synth_engine_available(CCAI_SYNTH_FLITE) && lang &&
           Ccai_synth_engine_for(lang) == CCAI_SYNTH_FLITE;
}

static bool espeak_speaks(const Ccai_tts_config *cfg, const char *lang)
{
    const char *prog = cfg && cfg->endpoint && *cfg->endpoint ? cfg->endpoint : "espeak-ng";
    return lang && *lang && in_path(prog);
}

static void drive(offline_tts *t);

static void on_fd(ccai_ctx *ctx, int fd, int events, void *ud)
{
    CCAI_UNUSED(ctx);
    CCAI_UNUSED(fd);
    CCAI_UNUSED(events);
    drive(ud);
}

static void on_timer(Ccai_timer *timer, void *ud)
{
    CCAI_UNUSED(timer);
    drive(ud);
}

static void forget_fds(offline_tts *t)
{
    for (size_t i = 0; i < t->n_fds; i++)
        Ccai_fd_forget(t->ctx, t->fds[i]);
    t->n_fds = 0;
}

/* Wait for what the next step needs: its fds, or a 0 ms timer. */
static void schedule(offline_tts *t)
{
    forget_fds(t);
    if (!t->syn || !Ccai_synth_busy(t->syn)) {
        Ccai_timer_stop(t->ctx, &t->timer);
        return;
    }
    Ccai_synth_fd fds[MAX_FDS];
    size_t n = Ccai_synth_fds(t->syn, fds, MAX_FDS);
    if (n == 0) {
        Ccai_timer_start(t->ctx, &t->timer, 0);
        return;
    }
    Ccai_timer_stop(t->ctx, &t->timer);
    for (size_t i = 0; i < n; i++) {
        int ev = (fds[i].read ? CCAI_POLL_IN : 0) | (fds[i].write ? CCAI_POLL_OUT : 0);
        if (Ccai_fd_watch(t->ctx, fds[i].fd, ev, on_fd, t) == CCAI_OK)
            t->fds[t->n_fds++] = fds[i].fd;
    }
    if (t->n_fds == 0) /* cannot watch: poll from the timer instead */
        Ccai_timer_start(t->ctx, &t->timer, 5);
}

static void drive(offline_tts *t)
{
    t->in_cb = true;
    Ccai_synth_step(t->syn);
    t->in_cb = false;
    if (t->closed) {
        ccai_free(t);
        return;
    }
    schedule(t);
}

static bool on_audio(void *ud, const uint8_t *data, size_t len)
{
    offline_tts *t = ud;
    if (t->closed || !t->q_len)
        return !t->closed;
    said *s = &t->q[t->q_head];
    if (!s->first_at)
        s->first_at = Ccai_ctx_now(t->ctx) + 1; /* 0 means none */
    s->audio_us += Ccai_media_bytes_to_us(&t->base.out, len);
    t->o.audio(&t->base, s->id, data, len, t->o.ud);
    return !t->closed;
}

static void on_done(void *ud, uint32_t id, ccai_status st)
{
    offline_tts *t = ud;
    said s = {.id = id};
    /* The synthesiser finishes texts in order: the queue's head. */
    while (t->q_len) {
        said h = t->q[t->q_head];
        t->q_head = (t->q_head + 1) % MAX_QUEUED;
        t->q_len--;
        if (h.id == id) {
            s = h;
            break;
        }
    }
    if (t->closed)
        return;
    Ccai_tts_done d = {
        .id = id,
        .status = st,
        .fatal = st == CCAI_ERR_INTERNAL || st == CCAI_ERR_NOMEM,
        .errmsg = st == CCAI_OK ? NULL : ccai_status_str(st),
        .audio_ms = (uint32_t)(s.audio_us / 1000),
        .first_byte_ms = s.first_at ? (uint32_t)(s.first_at - 1 - s.said_at) : 0,
    };
    bool was = t->in_cb;
    t->in_cb = true;
    t->o.done(&t->base, &d, t->o.ud);
    t->in_cb = was;
}

static ccai_status open_engine(ccai_ctx *ctx, const Ccai_tts_config *cfg, const Ccai_tts_open *o,
                               Ccai_synth_engine engine, const Ccai_tts_provider *prov,
                               Ccai_tts **ret)
{
    Ccai_synth_params p;
    Ccai_synth_params_default(&p);
    p.engine = engine;
    p.language = o->lang;
    p.voice = cfg && cfg->voice && *cfg->voice ? cfg->voice : NULL;
    if (engine == CCAI_SYNTH_ESPEAK && cfg && cfg->endpoint && *cfg->endpoint)
        p.espeak_program = cfg->endpoint;
    p.out = o->call_out;
    offline_tts *t = Ccai_calloc(1, sizeof *t);
    if (!t)
        return CCAI_ERR_NOMEM;
    t->base.provider = prov;
    t->base.out = o->call_out;
    t->ctx = ctx;
    t->o = *o;
    Ccai_timer_init(&t->timer, on_timer, t);
    Ccai_synth_sink sink = {on_audio, on_done};
    Ccai_err err = {0};
    ccai_status st = Ccai_synth_new(&p, &sink, t, &t->syn, &err);
    if (st != CCAI_OK) {
        Ccai_ctx_set_error(ctx, "tts %s: %s", prov->name, Ccai_err_get(&err));
        Ccai_err_free(&err);
        ccai_free(t);
        return st == CCAI_ERR_NOT_FOUND || st == CCAI_ERR_INVALID_ARG ? CCAI_ERR_CONFIG : st;
    }
    Ccai_err_free(&err);
    *ret = &t->base;
    return CCAI_OK;
}

static ccai_status flite_open(ccai_ctx *ctx, const Ccai_tts_config *cfg, const Ccai_tts_open *o,
                              Ccai_tts **ret)
{
    return open_engine(ctx, cfg, o, CCAI_SYNTH_FLITE, &Ccai_tts_flite, ret);
}

static ccai_status espeak_open(ccai_ctx *ctx, const Ccai_tts_config *cfg, const Ccai_tts_open *o,
                               Ccai_tts **ret)
{
    if (!espeak_speaks(cfg, o->lang)) {
        Ccai_ctx_set_error(ctx, "tts espeak: the espeak-ng program is not installed");
        return CCAI_ERR_UNSUPPORTED;
    }
    return open_engine(ctx, cfg, o, CCAI_SYNTH_ESPEAK, &Ccai_tts_espeak, ret);
}

static ccai_status o_say(Ccai_tts *base, const Ccai_tts_text *text, uint32_t *ret_id)
{
    offline_tts *t = (offline_tts *)base;
    if (t->q_len >= MAX_QUEUED)
        return CCAI_ERR_LIMIT;
    /* speech/tts_text.h reads SSML-like text; plain text goes as it is. */
    uint32_t id = 0;
    ccai_status st = Ccai_synth_say(t->syn, text->text, strlen(text->text), &id);
    if (st != CCAI_OK)
        return st;
    said *s = &t->q[(t->q_head + t->q_len) % MAX_QUEUED];
    *s = (said){.id = id, .said_at = Ccai_ctx_now(t->ctx)};
    t->q_len++;
    if (ret_id)
        *ret_id = id;
    if (!t->in_cb)
        schedule(t);
    return CCAI_OK;
}

static void o_cancel(Ccai_tts *base)
{
    offline_tts *t = (offline_tts *)base;
    bool was = t->in_cb;
    t->in_cb = true;
    Ccai_synth_cancel(t->syn); /* each text's done, CANCELLED, from here */
    t->in_cb = was;
    t->q_len = 0;
    if (t->closed && !was) {
        ccai_free(t);
        return;
    }
    if (!t->closed)
        schedule(t);
}

static void o_close(Ccai_tts *base)
{
    if (!base)
        return;
    offline_tts *t = (offline_tts *)base;
    if (t->closed)
        return;
    forget_fds(t);
    Ccai_timer_stop(t->ctx, &t->timer);
    Ccai_synth_free(t->syn); /* from inside a callback: on its return */
    t->syn = NULL;
    t->closed = true;
    if (!t->in_cb)
        ccai_free(t);
}

const Ccai_tts_provider Ccai_tts_flite = {
    .name = "flite",
    .caps = CCAI_TTS_STREAMING | CCAI_TTS_LOCAL,
    .speaks = flite_speaks,
    .open = flite_open,
    .say = o_say,
    .cancel = o_cancel,
    .close = o_close,
};

const Ccai_tts_provider Ccai_tts_espeak = {
    .name = "espeak",
    .caps = CCAI_TTS_STREAMING | CCAI_TTS_LOCAL,
    .speaks = espeak_speaks,
    .open = espeak_open,
    .say = o_say,
    .cancel = o_cancel,
    .close = o_close,
};
