/* Voice activity: an energy (RMS) detector with an adaptive noise floor and
 * the turn-taking events built on it. Sans-I/O: PCM16 in, per-frame
 * decisions and events out through a callback; time is the stream position
 * (samples fed since the start, reported in milliseconds).
 *
 * Per 20 ms analysis frame (the input may come in any size):
 *   1. optional speexdsp preprocessing (denoise, AGC) on a copy;
 *   2. a 2nd-order high-pass at 120 Hz (mains hum, DC), then the frame's
 *      RMS level in dBFS;
 *   3. the noise floor: the minimum of the levels over the last ~2 s
 *      (minimum statistics), so it follows a quieter line at once and a
 *      noisier one within 2 s, speech or not;
 *   4. the frame is voiced when its level reaches the highest of: the
 *      absolute minimum (vad_threshold, on the reference's scale), the
 *      floor + snr_db (minus hysteresis_db inside a run), and
 *      the caller's gate (echo.h: the expected level of the bot's echo);
 *   5. the frame decision is "voiced, or inside the hang-over after a
 *      voiced frame".
 * Segments and events: a segment opens on a voiced frame and closes when
 * vad_silence_timeout_ms pass without one; inside it, a run is voiced
 * frames with gaps up to the hang-over.
 *   SPEECH_START at the end of the last frame within vad_cutoff_timeout_ms
 *     of the run's onset (240 ms for 250: never later than the cut-off),
 *     at least half the cut-off voiced: the caller is talking (the
 *     barge-in point). A burst shorter
 *     than the cut-off (a click, most coughs) never starts.
 *   SPEECH_END when the segment closes (the end of the turn), if it started
 *     or held min_speech_ms of voiced frames; turn says the latter. So a
 *     short "yes" ends a turn without a start, a started cough-length
 *     segment ends with turn false, and a click gives no event at all.
 */
#ifndef CCAI_MEDIA_VAD_H
#define CCAI_MEDIA_VAD_H

#include "core/common.h"

/* Gate value meaning "no gate" (far below any level). */
#define CCAI_VAD_NO_GATE (-200.0)

typedef struct Ccai_vad_params {
    /* vad_threshold: the absolute minimum level of speech on the reference
     * system's scale: voiced needs RMS (samples in -1..1) >= threshold / 10,
     * so the reference's default 0.5 means -26 dBFS; 0 disables it. 0..10. */
    double threshold;
    uint32_t silence_timeout_ms; /* vad_silence_timeout_ms: end of turn (500) */
    uint32_t cutoff_timeout_ms;  /* vad_cutoff_timeout_ms: speech before a start (250) */
    uint32_t min_speech_ms;      /* voiced frames for a segment to count as a turn */
    uint32_t hangover_ms;        /* the decision stays on this long after a voiced frame */
    double snr_db;               /* level above the noise floor to be voiced */
    double hysteresis_db;        /* snr_db lowered by this inside a segment */
    bool denoise;                /* speexdsp noise suppression before the detector */
    bool agc;                    /* speexdsp automatic gain control before the detector */
} Ccai_vad_params;

/* The defaults (docs/media.md says how they were chosen). */
void Ccai_vad_params_default(Ccai_vad_params *p);

typedef enum Ccai_vad_event_kind {
    CCAI_VAD_SPEECH_START = 1,
    CCAI_VAD_SPEECH_END = 2,
} Ccai_vad_event_kind;

typedef struct Ccai_vad_event {
    Ccai_vad_event_kind kind;
    uint64_t at_ms;          /* stream position of the decision (end of the frame) */
    uint64_t onset_ms;       /* start of the segment's first voiced frame */
    uint64_t last_voiced_ms; /* SPEECH_END: end of its last voiced frame */
    uint32_t voiced_ms;      /* voiced frames in the segment so far */
    bool turn;               /* SPEECH_END: voiced_ms >= min_speech_ms */
    bool started;            /* SPEECH_END: a SPEECH_START came before it */
} Ccai_vad_event;

typedef struct Ccai_vad_frame {
    uint64_t start_ms; /* stream position of the frame */
    bool voiced;       /* the frame alone reached the threshold */
    bool speech;       /* the decision: voiced or inside the hang-over */
    float level_db;    /* RMS level in dBFS (after the high-pass) */
    float floor_db;    /* noise floor estimate */
    float threshold_db;
} Ccai_vad_frame;

/* Called for every analysis frame; ev is NULL or the event this frame
 * decided. Must not call back into the same Ccai_vad. */
typedef void (*Ccai_vad_fn)(const Ccai_vad_frame *frame, const Ccai_vad_event *ev, void *ud);

typedef struct Ccai_vad Ccai_vad;

/* Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG (rate not 8/16/24/48 kHz or a
 * parameter out of range: threshold 0..10, timeouts 20..60000 ms, hang-over
 * and min speech 0..60000 ms, snr_db 0..60, hysteresis_db 0..snr_db);
 * CCAI_ERR_NOMEM. Ownership: params copied; *ret freed with
 * Ccai_vad_free(). The speexdsp preprocessor, when enabled, is allocated by
 * speexdsp with calloc (no allocator hook in Debian's build). */
CCAI_MUST_CHECK ccai_status Ccai_vad_new(const Ccai_vad_params *p, uint32_t rate, Ccai_vad **ret);
/* Accepts NULL. */
void Ccai_vad_free(Ccai_vad *v);
/* Feed n mono samples; gate_db is the level a frame must reach on top of
 * the detector's own threshold (CCAI_VAD_NO_GATE for none), applied to the
 * frames this call completes. Calls fn for each completed frame. */
void Ccai_vad_process(Ccai_vad *v, const int16_t *pcm, size_t n, double gate_db, Ccai_vad_fn fn,
                      void *ud);
/* Stream position in ms (samples fed so far). */
uint64_t Ccai_vad_position_ms(const Ccai_vad *v);
/* True between a SPEECH_START and its SPEECH_END. */
CCAI_MUST_CHECK bool Ccai_vad_in_speech(const Ccai_vad *v);

/* RMS level of n samples in dBFS (-100 for silence). */
double Ccai_media_level_db(const int16_t *pcm, size_t n);

#endif
