/* Outbound pacing (sans-I/O): the bot's audio is queued with its format and
 * released one frame every frame_ms of the host's monotonic clock (passed
 * in), anchored at the first frame (frame n is due at anchor + n * frame_ms
 * - lead_ms, so timer lateness never accumulates into drift).
 *
 *  - A late tick catches up: the overdue frames go out at once, at most
 *    lead_ms / frame_ms + max_burst in one tick; beyond that the lost time
 *    is given up (the schedule moves later) rather than sent as a burst the
 *    receiver would drop.
 *  - When the queue runs dry and new audio comes while the audio already
 *    released is still playing, the schedule continues; after a real gap it
 *    restarts from the new audio.
 *  - A mark is released right after the audio queued before it.
 *  - Clear (barge-in) drops everything queued and reports the audio
 *    released since the previous clear and how much of it the caller has
 *    heard by the playback clock (released audio plays in real time from
 *    its due time).
 * Audio pushed in any length is cut into whole frames; a partial frame
 * waits for more audio of the same format, and a mark, a flush or a format
 * change pads it with the encoding's silence. */
#ifndef CCAI_MEDIA_PACER_H
#define CCAI_MEDIA_PACER_H

#include "media/codec.h"

typedef struct Ccai_pacer_params {
    uint32_t frame_ms;     /* 10, 20 (default), 30, 40 or 60 */
    uint32_t lead_ms;      /* release ahead of real time (0; Twilio/ACS: 100-300) */
    uint32_t max_burst;    /* overdue frames one tick may release beyond the lead (3) */
    uint32_t max_queue_ms; /* queued audio at most (120000) */
    uint32_t max_marks;    /* queued marks at most (256) */
} Ccai_pacer_params;

void Ccai_pacer_params_default(Ccai_pacer_params *p);

typedef enum Ccai_pacer_kind {
    CCAI_PACER_FRAME = 1,
    CCAI_PACER_MARK = 2,
} Ccai_pacer_kind;

typedef struct Ccai_pacer_item {
    Ccai_pacer_kind kind;
    Ccai_media_format fmt; /* FRAME */
    const uint8_t *data;   /* FRAME: frame_ms of audio */
    size_t len;
    const char *mark; /* MARK: its label */
    uint64_t play_ms; /* when it plays by the schedule (a MARK: the end of the audio before) */
} Ccai_pacer_item;

typedef struct Ccai_pacer_cleared {
    uint64_t released_ms; /* audio released since the previous clear */
    uint64_t heard_ms;    /* of which played by now */
    uint64_t dropped_ms;  /* queued audio dropped (a padded partial frame counts whole) */
    uint32_t dropped_marks;
} Ccai_pacer_cleared;

typedef struct Ccai_pacer Ccai_pacer;

/* Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG (frame_ms, or a zero limit);
 * CCAI_ERR_NOMEM. Ownership: *ret freed with Ccai_pacer_free(). */
CCAI_MUST_CHECK ccai_status Ccai_pacer_new(const Ccai_pacer_params *p, Ccai_pacer **ret);
/* Accepts NULL. */
void Ccai_pacer_free(Ccai_pacer *p);
/* Queue len bytes of audio in fmt (copied).
 * Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG (format); CCAI_ERR_LIMIT (the
 * queue would exceed max_queue_ms); CCAI_ERR_NOMEM. Nothing is queued on
 * failure. */
CCAI_MUST_CHECK ccai_status Ccai_pacer_push(Ccai_pacer *p, const Ccai_media_format *fmt,
                                            const uint8_t *data, size_t len);
/* Queue a mark (label copied, at most 255 bytes) after the audio queued so
 * far. Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG; CCAI_ERR_LIMIT (max_marks);
 * CCAI_ERR_NOMEM. */
CCAI_MUST_CHECK ccai_status Ccai_pacer_mark(Ccai_pacer *p, const char *label);
/* Pad a partial frame so it can go out (the end of an utterance).
 * Statuses: CCAI_OK; CCAI_ERR_NOMEM. */
CCAI_MUST_CHECK ccai_status Ccai_pacer_flush(Ccai_pacer *p);
/* The next item due at now_ms into *ret (its pointers are valid until the
 * next call on the pacer); false when nothing is due. Call until false. */
CCAI_MUST_CHECK bool Ccai_pacer_next(Ccai_pacer *p, uint64_t now_ms, Ccai_pacer_item *ret);
/* When something is next due (<= now_ms: at once); UINT64_MAX when nothing
 * can go out (empty, or only a partial frame waiting). */
uint64_t Ccai_pacer_next_due(const Ccai_pacer *p, uint64_t now_ms);
/* Drop everything queued (barge-in) and report into *ret. */
void Ccai_pacer_clear(Ccai_pacer *p, uint64_t now_ms, Ccai_pacer_cleared *ret);
/* Audio queued, in ms (the partial frame included, rounded down). */
uint64_t Ccai_pacer_queued_ms(const Ccai_pacer *p);
/* Ticks that had to give up time (the host's loop ran late). */
uint64_t Ccai_pacer_late_ticks(const Ccai_pacer *p);

#endif
