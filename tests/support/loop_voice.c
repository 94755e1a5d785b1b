/* Audio calls without a real loop (support/loop_voice.h). */
#include "support/loop_voice.h"

#include <math.h>
#include <stdlib.h>

uint64_t lv_now_ms = 1000000;
int64_t lv_due = -1;

int lv_watch(void *ud, int fd, int events, void **slot)
{
    (void)ud;
    (void)fd;
    (void)events;
    (void)slot;
    return 0;
}

int lv_timer(void *ud, int64_t ms)
{
    (void)ud;
    lv_due = ms < 0 ? -1 : (int64_t)lv_now_ms + ms;
    return 0;
}

uint64_t lv_now(void *ud)
{
    (void)ud;
    return lv_now_ms;
}

/* The recogniser: a FINAL ("yes") for each end(), from the loop. */
typedef struct fstt {
    Ccai_stt base;
    ccai_ctx *ctx;
    Ccai_stt_open o;
    Ccai_timer t;
} fstt;

static void fstt_fire(Ccai_timer *t, void *ud)
{
    (void)t;
    fstt *f = ud;
    Ccai_stt_result r = {.event = CCAI_STT_FINAL, .text = "yes", .confidence = 0.9};
    f->o.fn(&f->base, &r, f->o.ud);
}

static ccai_status fstt_open(ccai_ctx *ctx, const Ccai_stt_config *cfg, const Ccai_stt_open *o,
                             Ccai_stt **ret)
{
    (void)cfg;
    fstt *f = Ccai_calloc(1, sizeof *f);
    if (!f)
        return CCAI_ERR_NOMEM;
    f->base.provider = &lv_stt;
    f->base.in = (Ccai_media_format){CCAI_MEDIA_PCM16, 16000, 1};
    f->ctx = ctx;
    f->o = *o;
    Ccai_timer_init(&f->t, fstt_fire, f);
    *ret = &f->base;
    return CCAI_OK;
}

static ccai_status fstt_feed(Ccai_stt *s, const uint8_t *audio, size_t len)
{
    (void)s;
    (void)audio;
    (void)len;
    return CCAI_OK;
}

static ccai_status fstt_end(Ccai_stt *s)
{
    fstt *f = (fstt *)s;
    Ccai_timer_start(f->ctx, &f->t, 0);
    return CCAI_OK;
}

static void fstt_cancel(Ccai_stt *s)
{
    fstt *f = (fstt *)s;
    Ccai_timer_stop(f->ctx, &f->t);
}

static void fstt_close(Ccai_stt *s)
{
    fstt *f = (fstt *)s;
    Ccai_timer_stop(f->ctx, &f->t);
    ccai_free(f);
}

const Ccai_stt_provider lv_stt = {
    .name = "loop-stt",
    .open = fstt_open,
    .feed = fstt_feed,
    .end = fstt_end,
    .cancel = fstt_cancel,
    .close = fstt_close,
};

/* The synthesiser: 300 ms of a tone (PCM16 24 kHz) then done, per sentence. */
typedef struct ftts {
    Ccai_tts base;
    ccai_ctx *ctx;
    Ccai_tts_open o;
    Ccai_timer t;
    uint32_t next_id, pending;
} ftts;

static void ftts_fire(Ccai_timer *t, void *ud)
{
    (void)t;
    ftts *f = ud;
    if (!f->pending)
        return;
    uint32_t id = f->pending;
    f->pending = 0;
    static uint8_t tone[2 * 7200];
    for (size_t i = 0; i < 7200; i++) {
        int16_t v = (int16_t)(6000 * sin(2 * 3.14159265 * 440 * (double)i / 24000));
        tone[2 * i] = (uint8_t)(v & 0xFF);
        tone[2 * i + 1] = (uint8_t)((uint16_t)v >> 8);
    }
    f->o.audio(&f->base, id, tone, sizeof tone, f->o.ud);
    Ccai_tts_done d = {.id = id, .status = CCAI_OK, .audio_ms = 300};
    f->o.done(&f->base, &d, f->o.ud);
}

static ccai_status ftts_open(ccai_ctx *ctx, const Ccai_tts_config *cfg, const Ccai_tts_open *o,
                             Ccai_tts **ret)
{
    (void)cfg;
    ftts *f = Ccai_calloc(1, sizeof *f);
    if (!f)
        return CCAI_ERR_NOMEM;
    f->base.provider = &lv_tts;
    f->base.out = (Ccai_media_format){CCAI_MEDIA_PCM16, 24000, 1};
    f->ctx = ctx;
    f->o = *o;
    Ccai_timer_init(&f->t, ftts_fire, f);
    *ret = &f->base;
    return CCAI_OK;
}

static ccai_status ftts_say(Ccai_tts *t, const Ccai_tts_text *text, uint32_t *ret_id)
{
    (void)text;
    ftts *f = (ftts *)t;
    *ret_id = ++f->next_id;
    f->pending = *ret_id;
    Ccai_timer_start(f->ctx, &f->t, 0);
    return CCAI_OK;
}

static void ftts_cancel(Ccai_tts *t)
{
    ((ftts *)t)->pending = 0;
}

static void ftts_close(Ccai_tts *t)
{
    ftts *f = (ftts *)t;
    Ccai_timer_stop(f->ctx, &f->t);
    ccai_free(f);
}

const Ccai_tts_provider lv_tts = {
    .name = "loop-tts",
    .open = ftts_open,
    .say = ftts_say,
    .cancel = ftts_cancel,
    .close = ftts_close,
};

void lv_run_due(ccai_ctx *ctx)
{
    for (int i = 0; i < 1000 && lv_due >= 0 && (uint64_t)lv_due <= lv_now_ms; i++)
        ccai_ctx_timeout(ctx);
}
