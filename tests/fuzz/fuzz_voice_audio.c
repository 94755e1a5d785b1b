/* libFuzzer: a host's audio into an audio call (ccai_call_audio_in(),
 * libccai/voice/): any format libccai takes or not, any flags, any bytes
 * cut in any sizes, on an injected clock whose due timers run between the
 * pieces (the VAD's turns, barge-in, pacing, the recogniser's timeout).
 * The recogniser and the synthesiser are stand-ins living on the loop (the
 * offline ones cost seconds per input): the recogniser answers every end()
 * with a FINAL from a 0 ms timer, the synthesiser speaks 300 ms of a tone
 * per sentence. Input: byte 0 the format (encoding, rate, channels, some of
 * them refused), byte 1 the flags, then pieces of [length (2 bytes, little
 * endian), bytes...]. Properties checked: every piece is taken or refused
 * with a status audio input may return; the call ends cleanly. */
#include "engine/engine.h"
#include "io/io.h"
#include "voice/voice.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t now_ms = 1000000;
static int64_t due = -1;

static int h_watch(void *ud, int fd, int events, void **slot)
{
    (void)ud;
    (void)fd;
    (void)events;
    (void)slot;
    return 0;
}

static int h_timer(void *ud, int64_t ms)
{
    (void)ud;
    due = ms < 0 ? -1 : (int64_t)now_ms + ms;
    return 0;
}

static uint64_t h_now(void *ud)
{
    (void)ud;
    return now_ms;
}

/* The recogniser: a FINAL ("yes") for each end(), from the loop. */
typedef struct fstt {
    Ccai_stt base;
    ccai_ctx *ctx;
    Ccai_stt_open o;
    Ccai_timer t;
} fstt;

static const Ccai_stt_provider fuzz_stt;

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
    f->base.provider = &fuzz_stt;
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

static const Ccai_stt_provider fuzz_stt = {
    .name = "fuzz-stt",
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

static const Ccai_tts_provider fuzz_tts;

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
    f->base.provider = &fuzz_tts;
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

static const Ccai_tts_provider fuzz_tts = {
    .name = "fuzz-tts",
    .open = ftts_open,
    .say = ftts_say,
    .cancel = ftts_cancel,
    .close = ftts_close,
};

static int h_play(ccai_call *c, const ccai_audio_frame *f, void *ud)
{
    (void)c;
    (void)ud;
    if (!f->data || !f->len)
        abort();
    return 0;
}

static int h_clear(ccai_call *c, void *ud)
{
    (void)c;
    (void)ud;
    return 0;
}

static int h_hangup(ccai_call *c, void *ud)
{
    (void)c;
    (void)ud;
    return 0;
}

static const ccai_call_ops ops = {
    .version = CCAI_CALL_OPS_VERSION,
    .hangup = h_hangup,
    .play_audio = h_play,
    .clear_audio = h_clear,
};

static ccai_ctx *ctx;

static void run_due(void)
{
    for (int i = 0; i < 1000 && due >= 0 && (uint64_t)due <= now_ms; i++)
        ccai_ctx_timeout(ctx);
}

static void context_free(void)
{
    ccai_ctx_free(ctx);
    ctx = NULL;
}

static ccai_ctx *context(void)
{
    if (ctx)
        return ctx;
    ccai_config *cfg = NULL;
    if (ccai_config_new(&cfg) != CCAI_OK ||
        ccai_config_set(cfg, "database.sqlite.path", ":memory:") != CCAI_OK ||
        ccai_config_set(cfg, "log.level", "error") != CCAI_OK ||
        ccai_config_set(cfg, "speech.stt.providers", "[\"fuzz-stt\"]") != CCAI_OK ||
        ccai_config_set(cfg, "speech.tts.providers", "[\"fuzz-tts\"]") != CCAI_OK)
        abort();
    ccai_loop_hooks hooks = {CCAI_LOOP_HOOKS_VERSION, h_watch, h_timer, NULL};
    if (ccai_ctx_new(cfg, &hooks, NULL, &ctx, NULL) != CCAI_OK)
        abort();
    ccai_config_free(cfg); /* copied */
    Ccai_ctx_set_clock(ctx, h_now, NULL);
    if (Ccai_voice_add_stt(Ccai_ctx_voice(ctx), &fuzz_stt) != CCAI_OK ||
        Ccai_voice_add_tts(Ccai_ctx_voice(ctx), &fuzz_tts) != CCAI_OK)
        abort();
    /* Freed at exit (leak checks). */
    static bool registered;
    if (!registered && atexit(context_free) == 0)
        registered = true;
    return ctx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    /* Every call stays in the context's database: a fresh one now and
     * then keeps the process small. */
    static unsigned runs;
    if (++runs % 256 == 0)
        context_free();
    ccai_ctx *c = context();
    static const ccai_audio_encoding enc[4] = {CCAI_AUDIO_PCM16, CCAI_AUDIO_ULAW, CCAI_AUDIO_ALAW,
                                               (ccai_audio_encoding)9};
    static const uint32_t rates[8] = {8000, 16000, 24000, 48000, 8000, 16000, 11025, 0};
    ccai_audio_format in = {enc[data[0] & 3], rates[(data[0] >> 2) & 7], 1 + ((data[0] >> 5) & 3)};
    uint32_t flags = data[1] & (CCAI_AUDIO_PACED | CCAI_AUDIO_ECHO_CANCEL);
    data += 2;
    size -= 2;
    ccai_call_params p = {
        .version = CCAI_CALL_PARAMS_VERSION,
        .direction = CCAI_INBOUND,
        .phone_number = "+14155550100",
        .channel = "local",
        .initiate_json = "{\"lang\":{\"default_short_code\":\"en-US\","
                         "\"availables\":[{\"short_code\":\"en-US\"}]}}",
        .audio_in = in,
        .audio_flags = flags,
    };
    ccai_call *call = NULL;
    if (ccai_call_start(c, &p, &ops, NULL, &call) != CCAI_OK)
        return 0; /* a format libccai does not take: refused at the start */
    if (ccai_call_notify(call, CCAI_EVENT_CONNECTED, NULL) != CCAI_OK)
        abort();
    run_due();
    size_t bytes_per_ms =
        (size_t)in.sample_rate / 1000 * in.channels * (in.encoding == CCAI_AUDIO_PCM16 ? 2 : 1);
    while (size >= 2) {
        size_t n = (size_t)data[0] | (size_t)data[1] << 8;
        data += 2;
        size -= 2;
        if (n > size)
            n = size;
        ccai_status st = ccai_call_audio_in(call, n ? data : NULL, n);
        if (st != CCAI_OK && st != CCAI_ERR_INVALID_ARG && st != CCAI_ERR_LIMIT &&
            st != CCAI_ERR_STATE)
            abort();
        data += n;
        size -= n;
        now_ms += bytes_per_ms ? n / bytes_per_ms + 1 : 1;
        run_due();
    }
    if (ccai_call_notify(call, CCAI_EVENT_HANGUP, NULL) != CCAI_OK &&
        ccai_call_get_state(call) < CCAI_CALL_ENDED)
        abort();
    run_due();
    ccai_call_free(call);
    run_due();
    return 0;
}
