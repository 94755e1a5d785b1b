/* libFuzzer: a host's audio into an audio call (ccai_call_audio_in(),
 * libccai/voice/): any format libccai takes or not, any flags, any bytes
 * cut in any sizes, on an injected clock whose due timers run between the
 * pieces (the VAD's turns, barge-in, pacing, the recogniser's timeout).
 * The recogniser and the synthesiser are support/loop_voice.h's stand-ins
 * on the loop. Input: byte 0 the format (encoding, rate, channels, some of
 * them refused), byte 1 the flags, then pieces of [length (2 bytes, little
 * endian), bytes...]. Properties checked: every piece is taken or refused
 * with a status audio input may return; the call ends cleanly. */
#include "support/loop_voice.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
        ccai_config_set(cfg, "speech.stt.providers", "[\"loop-stt\"]") != CCAI_OK ||
        ccai_config_set(cfg, "speech.tts.providers", "[\"loop-tts\"]") != CCAI_OK)
        abort();
    ccai_loop_hooks hooks = {CCAI_LOOP_HOOKS_VERSION, lv_watch, lv_timer, NULL};
    if (ccai_ctx_new(cfg, &hooks, NULL, &ctx, NULL) != CCAI_OK)
        abort();
    ccai_config_free(cfg); /* copied */
    Ccai_ctx_set_clock(ctx, lv_now, NULL);
    if (Ccai_voice_add_stt(Ccai_ctx_voice(ctx), &lv_stt) != CCAI_OK ||
        Ccai_voice_add_tts(Ccai_ctx_voice(ctx), &lv_tts) != CCAI_OK)
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
    lv_run_due(ctx);
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
        lv_now_ms += bytes_per_ms ? n / bytes_per_ms + 1 : 1;
        lv_run_due(ctx);
    }
    if (ccai_call_notify(call, CCAI_EVENT_HANGUP, NULL) != CCAI_OK &&
        ccai_call_get_state(call) < CCAI_CALL_ENDED)
        abort();
    lv_run_due(ctx);
    ccai_call_free(call);
    lv_run_due(ctx);
    return 0;
}
