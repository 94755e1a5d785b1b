/* Twilio Media Streams messages (channels/twilio/twilio_stream.c), sans
 * I/O: what Twilio sends on a <Connect><Stream> WebSocket parsed, what we
 * send built (media.md 1.3-1.4). Lenient as Twilio's format may grow:
 * unknown fields are ignored, optional ones may be missing. */
#ifndef CCAI_CHANNELS_TWILIO_TWILIO_STREAM_H
#define CCAI_CHANNELS_TWILIO_TWILIO_STREAM_H

#include "core/common.h"

/* The largest media payload taken: 1 s of 8 kHz mu-law (Twilio sends 20 ms). */
#define CCAI_TWILIO_STREAM_MAX_AUDIO 8000u

typedef enum Ccai_twilio_stream_event {
    CCAI_TWS_CONNECTED,
    CCAI_TWS_START,
    CCAI_TWS_MEDIA,
    CCAI_TWS_DTMF,
    CCAI_TWS_MARK,
    CCAI_TWS_STOP,
    CCAI_TWS_OTHER /* an event of a later version: ignored */
} Ccai_twilio_stream_event;

typedef struct Ccai_twilio_stream_msg {
    Ccai_twilio_stream_event event;
    char stream_sid[64];
    char call_sid[64];
    char token[128];                             /* start.customParameters.token ("" absent) */
    char encoding[32];                           /* start.mediaFormat.encoding */
    long sample_rate;                            /* start.mediaFormat.sampleRate (0 absent) */
    uint8_t audio[CCAI_TWILIO_STREAM_MAX_AUDIO]; /* media: the payload decoded */
    size_t audio_len;
    char digit;     /* dtmf */
    char mark[128]; /* mark.name */
} Ccai_twilio_stream_msg;

/* Parse one text message. Statuses: CCAI_OK; CCAI_ERR_PARSE (not JSON, no
 * event, a media without a valid Base64 payload, a dtmf without a digit, a
 * mark without a name, a start without a streamSid: *why says which);
 * CCAI_ERR_LIMIT (a payload over CCAI_TWILIO_STREAM_MAX_AUDIO, a name or id
 * too long); CCAI_ERR_NOMEM. */
CCAI_MUST_CHECK ccai_status Ccai_twilio_stream_parse(const char *text, size_t len,
                                                     Ccai_twilio_stream_msg *m, const char **why);

/* {"event":"media","streamSid":..,"media":{"payload":<Base64>}} into out
 * (reset first). False on NOMEM. */
CCAI_MUST_CHECK bool Ccai_twilio_stream_media(Ccai_buf *out, const char *stream_sid,
                                              const uint8_t *ulaw, size_t n);
/* {"event":"mark","streamSid":..,"mark":{"name":..}}. */
CCAI_MUST_CHECK bool Ccai_twilio_stream_mark(Ccai_buf *out, const char *stream_sid,
                                             const char *name);
/* {"event":"clear","streamSid":..}. */
CCAI_MUST_CHECK bool Ccai_twilio_stream_clear(Ccai_buf *out, const char *stream_sid);

#endif
