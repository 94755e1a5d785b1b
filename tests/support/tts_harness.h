/* A text-to-speech stream (tts/tts.h) on a real context and its poll loop,
 * recording every callback: what the provider tests check (audio per
 * sentence, when it came, the dones and their order, anything after a
 * cancel or a close). */
#ifndef CCAI_TEST_TTS_HARNESS_H
#define CCAI_TEST_TTS_HARNESS_H

#include <ccai/adapters/poll.h>

#include "support/standin_audio.h"
#include "tts/cloud.h"

#define TH_MAX 16

typedef struct th_sentence {
    uint32_t id;
    uint8_t *audio; /* all its audio, in order */
    size_t len;
    int chunks;
    int odd_chunks;         /* deliveries that were not whole samples */
    size_t in_flight_first; /* Ccai_http_in_flight() at its first audio */
    uint64_t said_at, first_at, done_at;
    int dones;
    int audio_after_done;
    ccai_status st;
    bool fatal;
    char err[512];
    uint32_t audio_ms, first_byte_ms;
} th_sentence;

typedef struct th {
    ccai_config *cfg;
    ccai_poll *poll;
    ccai_ctx *ctx;
    Ccai_tts *t;
    th_sentence s[TH_MAX];
    size_t n;
    uint32_t done_order[TH_MAX]; /* ids, in the order their dones came */
    size_t n_done;
    int callbacks; /* every callback */
    /* Hooks: cancel from inside the audio callback once this many bytes
     * of sentence cancel_id came; close from inside a done. */
    uint32_t cancel_id;
    size_t cancel_at;
    bool cancelled;
    bool close_in_done;
    bool closed;
} th;

/* A context on poll(2); the stream opened with p, cfg and call_out (in a
 * language of en-US). The test opens with th_open (asserts CCAI_OK). */
void th_init(th *h);
/* th_init, and cfg for a stand-in at http://127.0.0.1:<port><path> (that
 * text in ep, n bytes) with key and 3 s to the first byte. */
void th_setup(th *h, Ccai_tts_config *cfg, char *ep, size_t n, int port, const char *path,
              const char *key);
ccai_status th_open(th *h, const Ccai_tts_provider *p, const Ccai_tts_config *cfg,
                    Ccai_media_format call_out);
/* say() a plain text (rate 1, the default voice); its id. */
uint32_t th_say(th *h, const char *text);
ccai_status th_say_text(th *h, const Ccai_tts_text *text, uint32_t *ret_id);
th_sentence *th_get(th *h, uint32_t id);
/* Run the loop until n dones came or max_ms passed (then fails). */
void th_run_dones(th *h, size_t n, int max_ms);
/* Run the loop for ms. */
void th_run_for(th *h, int ms);
void th_free(th *h);

/* Sentence s came whole: one done, CCAI_OK, even pieces, its audio_ms
 * told, and the audio is what sa_synth makes of text at rate and speed,
 * encoded as enc (what the stand-ins send). */
void th_check_audio(const th_sentence *s, const char *text, int rate, double speed, sa_enc enc);

uint64_t th_now(void);

#endif
