/* ACS media streaming messages (channels/acs/acs_stream.c), sans I/O: what
 * ACS sends on the media WebSocket parsed, what we send built (media.md
 * 2.4-2.5; the Azure SDKs' StreamingData models). Lenient as the format
 * may grow: unknown kinds and fields are ignored, optional fields may be
 * missing, and keys are matched without regard to case (ACS documents
 * camelCase in and PascalCase out, and takes both). */
#ifndef CCAI_CHANNELS_ACS_ACS_STREAM_H
#define CCAI_CHANNELS_ACS_ACS_STREAM_H

#include "core/common.h"

/* The largest AudioData taken: 1 s of 24 kHz 16-bit PCM (ACS sends 20 ms:
 * 640 or 960 bytes). */
#define CCAI_ACS_STREAM_MAX_AUDIO 48000u

typedef enum Ccai_acs_stream_kind {
    CCAI_ACSS_METADATA, /* AudioMetadata: the stream's format, first */
    CCAI_ACSS_AUDIO,    /* AudioData */
    CCAI_ACSS_DTMF,     /* DtmfData (enableDtmfTones) */
    CCAI_ACSS_OTHER     /* a kind of a later version, or a transcription's: ignored */
} Ccai_acs_stream_kind;

typedef struct Ccai_acs_stream_msg {
    Ccai_acs_stream_kind kind;
    char subscription_id[64]; /* metadata */
    char encoding[16];        /* metadata: "PCM" */
    long sample_rate;         /* metadata: 16000 or 24000 (0 absent) */
    long channels;            /* metadata (0 absent) */
    long length;              /* metadata: bytes per packet (0 absent) */
    char participant[128];    /* audio: participantRawID ("" absent) */
    bool silent;              /* audio: ACS says the frame is silence */
    uint8_t *audio;           /* audio: the data decoded, into the caller's buffer */
    size_t audio_len;
    char digit; /* dtmf: 0-9, '*', '#', A-D */
} Ccai_acs_stream_msg;

/* Parse one text message. m->audio must point to CCAI_ACS_STREAM_MAX_AUDIO
 * bytes (the decoded audio goes there). Statuses: CCAI_OK; CCAI_ERR_PARSE
 * (not a JSON object, no kind, an AudioData without base64 data or with
 * an odd number of bytes (16-bit samples), a DtmfData without one valid
 * digit, an AudioMetadata whose fields have the wrong types: *why says
 * which); CCAI_ERR_LIMIT (audio over CCAI_ACS_STREAM_MAX_AUDIO, an id too
 * long); CCAI_ERR_NOMEM. Context: pure, any thread. */
CCAI_MUST_CHECK ccai_status Ccai_acs_stream_parse(const char *text, size_t len,
                                                  Ccai_acs_stream_msg *m, const char **why);

/* {"kind":"AudioData","audioData":{"data":<base64 PCM>}} into out (reset
 * first). ACS takes keys in any case (media.md 2.5: .NET sends PascalCase,
 * the JS SDK "audioData", the reference this form in production); this one
 * is also what the SDKs' StreamingData parser reads as AudioData
 * (tests/standins/acs.test.mjs judges it with Azure's). False on NOMEM. */
CCAI_MUST_CHECK bool Ccai_acs_stream_audio(Ccai_buf *out, const uint8_t *pcm, size_t n);
/* {"kind":"StopAudio","stopAudio":{}}: ACS drops the audio it queued (the
 * JS SDK's createOutboundStopAudioData() but for the kind's case, which
 * ACS ignores; the reference's form). */
CCAI_MUST_CHECK bool Ccai_acs_stream_stop(Ccai_buf *out);

#endif
