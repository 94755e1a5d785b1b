/* The voice layer's own view of an audio call (libccai/voice/): the
 * session's state and what its files share. Not for other layers: they
 * use voice.h.
 *
 * One session per audio call:
 *
 *   caller audio (audio_in) -> decode/resample to PCM16 mono (in rate)
 *     -> 20 ms frames: [echo canceller] -> recording (left) -> VAD gated by
 *        the echo gate -> the STT stream (converted to its format), from
 *        a 300 ms pre-roll before the first speech frame of a segment;
 *   VAD SPEECH_END (a turn) -> STT end() -> FINAL -> CCAI_EVENT_SPEECH;
 *   engine say() -> TTS say() -> audio converted to audio_out ->
 *     play_audio (at once, or from the pacer in CCAI_AUDIO_PACED mode)
 *     with a mark after each sentence; the pacer is also the playback
 *     clock of what the caller heard in the other mode, and what it
 *     releases feeds the echo gate, the canceller and the recording
 *     (right channel);
 *   VAD SPEECH_START while the bot talks (barge-in) -> clear_audio, the
 *     pacer cleared, TTS cancelled; the sentences not heard whole are held:
 *     words from STT confirm it (the engine gets them: its turn is
 *     cancelled, and the stored sentences are cut to what was heard), a
 *     segment without words (a cough, "mm") resumes the sentence that was
 *     cut, from its start.
 * Fallback: an STT ERROR or a TTS done that failed closes the provider and
 * opens the next of the chain (speech.stt.providers, speech.tts.providers;
 * the offline ones end them), which gets the utterance's audio again / the
 * sentence's text.
 *
 * The files:
 *   voice.c      the layer (configuration, providers added), the session:
 *                start, the engine's ops table, audio in, marks, the end;
 *   providers.c  opening STT/TTS providers along their chains, fallback;
 *   bot.c        the bot side: sentences to the synthesiser, playout and
 *                pacing, marks, what the caller heard (the cut and the
 *                held sentences of a barge-in), words held for a hang-up;
 *   caller.c     the caller side: frames, VAD and turn-taking, the
 *                utterance and the recogniser's results, the barge-in
 *                decision, what the next answer is expected to be, the
 *                language menu. */
#ifndef CCAI_VOICE_VOICE_INT_H
#define CCAI_VOICE_VOICE_INT_H

#include "voice/voice.h"

#include "config/config.h"
#include "io/io.h"
#include "media/echo.h"
#include "media/pacer.h"
#include "media/resample.h"
#include "media/vad.h"
#include "media/wav.h"

#define MAX_CHAIN       8
#define MAX_EXTRA       8
#define FRAME_MS        20
#define PREROLL_MS      300
#define MAX_UTT_MS      30000
#define MAX_IN_MS       1000 /* one ccai_call_audio_in() at most */
#define MAX_FAR_MS      2000 /* bot audio waiting to meet caller audio */
#define AEC_TAIL_MS     200
#define MARK_PREFIX     "ccai-s"
#define TEXT_MS_PER_CHR 60    /* a sentence's length guessed from its text */
#define AFTER_MAX_MS    30000 /* a hang-up waits this long at most for the last words */

typedef struct chain {
    const char *names[MAX_CHAIN];
    size_t n;
} chain;

struct Ccai_voice {
    ccai_ctx *ctx;
    const ccai_config *cfg;
    Ccai_logger log;
    Ccai_metrics *metrics;
    Ccai_engine *engine;
    chain stt, tts;
    char *names_buf; /* the chains' names */
    const Ccai_stt_provider *extra_stt[MAX_EXTRA];
    const Ccai_tts_provider *extra_tts[MAX_EXTRA];
    size_t n_extra_stt, n_extra_tts;
    Ccai_vad_params vad;
    uint32_t result_timeout_ms; /* end() -> FINAL at most */
    bool early_start;           /* speech.early_start: the LLM on steady partial words */
    uint32_t early_start_ms;    /* speech.early_start_ms: steady and silent this long */
    bool record;
    char *record_dir;
};

typedef struct sentence {
    struct sentence *next;
    char *text;
    char *lang, *voice;
    double rate;
    ccai_style style;
    uint32_t tts_id;
    unsigned tts_gen;  /* the TTS stream it was given to */
    bool sent;         /* given to the TTS stream */
    bool done;         /* all its audio delivered */
    bool started;      /* some audio released */
    uint64_t start_ms; /* output position (since the last clear) of its audio */
    uint64_t audio_ms; /* audio delivered */
    uint64_t said_at;  /* given to the TTS stream, until its first audio (0: came) */
    Ccai_span *span;   /* "tts" (core/trace.h): from its first say to its last audio */
    uint32_t seq;      /* its mark's number */
} sentence;

typedef struct vcall {
    Ccai_voice *v;
    ccai_ctx *ctx;
    ccai_call *call;
    ccai_call_ops host;
    void *host_ud;
    Ccai_media_format in, out, mono; /* mono: PCM16 1 channel at in's rate */
    uint32_t flags;
    bool paced;
    bool ended;

    /* Caller side. */
    Ccai_media_converter *in_conv;
    Ccai_vad *vad;
    Ccai_echo_gate *gate;
    Ccai_echo_canceller *aec;
    int16_t *frame; /* a 20 ms frame being filled */
    size_t frame_n, frame_cap;
    int16_t *pre; /* pre-roll ring */
    size_t pre_cap, pre_pos, pre_len;
    uint8_t *conv_buf;
    size_t conv_cap;
    uint64_t in_ms; /* caller audio so far (the context's clock at its start) */
    uint64_t in_base;
    uint64_t frame_at; /* the context's clock at the frame the VAD analyses */

    /* The utterance. */
    bool utt_open, utt_ended;
    Ccai_buf utt; /* PCM16 mono, for a fallback to the next provider */
    uint64_t utt_last_speech;
    uint64_t end_sent_at;    /* end() sent (context clock) */
    Ccai_timer result_timer; /* end() without its FINAL in time */
    uint64_t speech_end_at;  /* the caller stopped: answer latency from here */
    bool answer_pending;
    /* The utterance's "stt" span (NULL when not traced) and what it
     * reports: the audio given to the recogniser, its partial results. */
    Ccai_span *stt_span;
    uint64_t stt_samples;
    unsigned stt_partials;

    /* Early start: the recogniser's partial words of the utterance, since
     * when they stand, and whether the engine has an early turn on them. */
    char *partial;
    uint64_t partial_at;
    bool early;

    /* STT. */
    Ccai_stt_kind expect; /* what the next utterance was expected to be */
    char *hint_buf;       /* the claim's field names as words */
    const char **hints;   /* into hint_buf, NULL-terminated */
    size_t stt_idx;
    Ccai_stt *stt;
    const Ccai_stt_provider *stt_prov;
    Ccai_media_converter *stt_conv;
    char lang[32];

    /* TTS and playout. */
    size_t tts_idx;
    Ccai_tts *tts;
    const Ccai_tts_provider *tts_prov;
    unsigned tts_gen;
    Ccai_media_converter *out_conv;
    Ccai_media_converter *far_conv; /* audio_out -> mono, for the gate/AEC/recording */
    sentence *q, **q_tail;          /* said, not heard whole yet */
    uint32_t next_seq;
    Ccai_pacer *pacer;
    Ccai_timer pace_timer;
    /* The engine's hang-up or transfer, held until the caller has heard
     * what the bot said before it (its goodbye, the transfer's
     * announcement): the host acts on the call after the last words. */
    enum { AFTER_NONE, AFTER_HANGUP, AFTER_TRANSFER } after;
    char after_number[64];
    Ccai_timer after_timer;
    uint64_t out_pos_ms; /* audio released to the pacer since the last clear */
    int16_t *pcm;        /* the caller's audio of one ccai_call_audio_in() */
    size_t pcm_cap;
    int16_t *pre_tmp; /* the pre-roll in order */
    int16_t *far;     /* bot audio as played, waiting for caller audio */
    size_t far_len, far_cap;
    bool engine_speaking; /* the engine said something not reported done */

    /* Barge-in. */
    bool barged;
    sentence *held; /* cut sentences, with what was heard of each */
    struct heard {
        uint64_t heard_ms, total_ms;
    } * held_heard;
    size_t n_held;

    /* The language menu offered (ops.menu): each phrase's choice. */
    bool menu_open;
    Ccai_buf menu_buf;          /* the values and phrases, NUL-separated */
    const char *menu_values[9]; /* into menu_buf */
    const char *menu_phrases[27];
    size_t menu_of[27]; /* a phrase's choice */
    size_t menu_n, menu_n_phrases;

    /* Answering-machine detection on an outbound call (voicemail.detect):
     * the callee's audio from the call's connection to a final verdict. */
    struct Ccai_amd *amd;

    /* Recording. */
    Ccai_wav_writer *wav;
    char *wav_path;
    bool wav_failed; /* a write failed (logged once) */
} vcall;

static inline uint64_t now_ms(const vcall *vc)
{
    return Ccai_ctx_now(vc->ctx);
}

/* voice.c ------------------------------------------------------------------ */

/* A latency sample (ms) of histogram fam, labelled by provider. */
void Ccai_voice_metric(vcall *vc, const char *fam, const char *provider, uint64_t ms);
/* An event from the voice layer to the engine; a refusal is logged. */
void Ccai_voice_notify(vcall *vc, ccai_event_type type, const char *detail);

/* providers.c -------------------------------------------------------------- */

/* Open the first provider of the chain from index from that speaks the
 * call's language (with its converter). CCAI_ERR_CONFIG: none could. */
ccai_status Ccai_voice_stt_open(vcall *vc, size_t from);
ccai_status Ccai_voice_tts_open(vcall *vc, size_t from);
void Ccai_voice_stt_close(vcall *vc);
void Ccai_voice_tts_close(vcall *vc);
/* The provider failed (why, logged): the next of its chain takes over
 * what the failed one held (the utterance's audio; the sentences not
 * delivered). */
void Ccai_voice_stt_fallback(vcall *vc, const char *why);
void Ccai_voice_tts_fallback(vcall *vc, const char *why);

/* bot.c -------------------------------------------------------------------- */

/* The first words of text in proportion heard_ms / total_ms (whole words). */
char *Ccai_voice_heard_words(const char *text, uint64_t heard_ms, uint64_t total_ms);
void Ccai_voice_sentence_free(sentence *s);
/* A mark's sequence number (false: not one of ours). */
bool Ccai_voice_mark_seq(const char *name, uint32_t *ret);
/* The sentences up to mark seq were heard whole. */
void Ccai_voice_heard_through(vcall *vc, uint32_t seq);
/* A sentence to the synthesiser (its text, or the rest of it). */
ccai_status Ccai_voice_tts_send(vcall *vc, sentence *s, const char *text);
/* A sentence to speak (queued, or held during a barge-in); -1: no memory. */
int Ccai_voice_speak(vcall *vc, const char *text, const char *lang, const char *voice, double rate,
                     ccai_style style);
/* SAY_DONE to the engine once everything it said was heard. */
void Ccai_voice_say_done_check(vcall *vc);
/* Barge-in: the bot's audio stopped at once, the sentences not heard
 * whole held (cut); the caller's words confirm it (what was heard is
 * stored), or none came and the bot resumes; the held ones dropped. */
void Ccai_voice_cut(vcall *vc);
void Ccai_voice_barge_confirm(vcall *vc);
void Ccai_voice_barge_resume(vcall *vc);
void Ccai_voice_held_drop(vcall *vc);
/* The bot talks: audio queued or not heard yet. */
bool Ccai_voice_bot_talking(const vcall *vc);
/* The hang-up or transfer that waited for the last words, now. */
void Ccai_voice_after_run(vcall *vc);
/* Timers and callbacks. */
void Ccai_voice_on_pace(Ccai_timer *t, void *ud);
void Ccai_voice_on_after_timer(Ccai_timer *t, void *ud);
void Ccai_voice_on_tts_audio(Ccai_tts *t, uint32_t id, const uint8_t *audio, size_t len, void *ud);
void Ccai_voice_on_tts_done(Ccai_tts *t, const Ccai_tts_done *d, void *ud);
/* The engine's ops. */
int Ccai_voice_op_say(ccai_call *call, const ccai_speech *sp, void *ud);
int Ccai_voice_op_stop_speaking(ccai_call *call, void *ud);
int Ccai_voice_op_transfer(ccai_call *call, const char *number, void *ud);
int Ccai_voice_op_hangup(ccai_call *call, void *ud);

/* caller.c ----------------------------------------------------------------- */

/* One 20 ms frame of the caller (mono PCM16 at the call's rate). */
void Ccai_voice_caller_frame(vcall *vc, int16_t *pcm, size_t n);
/* Caller audio to the recogniser, converted to its format. */
void Ccai_voice_stt_feed(vcall *vc, const int16_t *pcm, size_t n);
/* end() to the recogniser, its FINAL awaited at most result_timeout_ms. */
void Ccai_voice_end_utterance(vcall *vc);
/* Tell the recogniser what the caller's next words should be. */
void Ccai_voice_expect_next(vcall *vc, Ccai_stt_kind kind, const char *const *choices, size_t n);
/* The utterance's partial words are gone (final, dropped, cancelled):
 * an early turn on them is dropped unless the final words took it (taken:
 * the engine had them). */
void Ccai_voice_partial_reset(vcall *vc, bool taken);
/* Timers and callbacks. */
void Ccai_voice_on_stt(Ccai_stt *s, const Ccai_stt_result *r, void *ud);
/* End the utterance's span (if any) with how it ended ("final", "empty",
 * "dropped", "ended", or a failure when error). */
void Ccai_voice_stt_span_end(vcall *vc, const char *outcome, bool error);
void Ccai_voice_on_result_timeout(Ccai_timer *t, void *ud);
/* The engine's ops. */
int Ccai_voice_op_listen(ccai_call *call, const char *lang, void *ud);
int Ccai_voice_op_menu(ccai_call *call, const ccai_menu *menu, void *ud);

#endif
