/* Audio calls without a real loop, for the voice layer's fuzz target and
 * out-of-memory test: an injected clock whose single timer the harness runs
 * when due, and a recogniser and a synthesiser living on that loop (the
 * offline ones cost seconds per input and allocate outside libccai's
 * allocator): the recogniser answers every end() with a FINAL ("yes") from
 * a 0 ms timer, the synthesiser speaks 300 ms of a 440 Hz tone (PCM16
 * 24 kHz) per sentence. Register them with Ccai_voice_add_stt/tts() and
 * name them in speech.stt.providers / speech.tts.providers as "loop-stt"
 * and "loop-tts". */
#ifndef CCAI_TEST_LOOP_VOICE_H
#define CCAI_TEST_LOOP_VOICE_H

#include "engine/engine.h"
#include "io/io.h"
#include "voice/voice.h"

#include <stdint.h>

/* The clock (Ccai_ctx_set_clock(ctx, lv_now, NULL)) and when the loop's
 * timer is due (-1: none). */
extern uint64_t lv_now_ms;
extern int64_t lv_due;

/* The loop hooks: no fd is ever watched; the timer is lv_due. */
int lv_watch(void *ud, int fd, int events, void **slot);
int lv_timer(void *ud, int64_t ms);
uint64_t lv_now(void *ud);
/* Run ctx's timers while one is due (at most 1000 rounds: a timer that
 * keeps rearming at 0 ms does not hang the harness). */
void lv_run_due(ccai_ctx *ctx);

extern const Ccai_stt_provider lv_stt;
extern const Ccai_tts_provider lv_tts;

#endif
