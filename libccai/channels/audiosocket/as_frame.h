/* Asterisk AudioSocket framing (channels/audiosocket/as_frame.c): sans-I/O,
 * bounded. A message is kind (1 byte), length (2 bytes, big-endian) and
 * that many bytes of payload (Asterisk res_audiosocket.c; media.md 3):
 *
 *   0x00 hang-up (length 0)            0x01 the call's UUID (16 bytes)
 *   0x03 DTMF (1 ASCII digit)          0x10 slin: s16le mono 8 kHz
 *   0x11..0x18 slin 12/16/24/32/44.1/48/96/192 kHz (Asterisk with PR #1492)
 *   0xff error (optional 1-byte code: 0x01 the caller hung up, 0x02 frame
 *        forwarding, 0x04 memory)
 *
 * The parser reads one message at a time from the bytes received so far
 * and says what it is, or that more bytes are needed, or that the stream
 * cannot be read on (a length beyond the limit: the framing is lost).
 * Messages whose framing is intact but whose content is not what the kind
 * wants (an unknown kind, a UUID of another size, an empty audio frame)
 * come back as CCAI_AS_BAD with the reason: the caller decides. */
#ifndef CCAI_CHANNELS_AUDIOSOCKET_AS_FRAME_H
#define CCAI_CHANNELS_AUDIOSOCKET_AS_FRAME_H

#include "core/common.h"

enum {
    CCAI_AS_KIND_HANGUP = 0x00,
    CCAI_AS_KIND_UUID = 0x01,
    CCAI_AS_KIND_DTMF = 0x03,
    CCAI_AS_KIND_SLIN = 0x10,
    CCAI_AS_KIND_SLIN_LAST = 0x18,
    CCAI_AS_KIND_ERROR = 0xff,
};

/* The longest payload read: 20 ms at 192 kHz is 7680 bytes; a peer that
 * sends more in one message is not an AudioSocket peer. */
#define CCAI_AS_MAX_PAYLOAD 8192u
/* A slin frame of 20 ms at 8 kHz. */
#define CCAI_AS_FRAME_BYTES 320u

typedef enum Ccai_as_result {
    CCAI_AS_MORE = 0,    /* a whole message is not there yet */
    CCAI_AS_MESSAGE = 1, /* *ret is one message, *ret_used bytes long */
    CCAI_AS_BAD = 2,     /* one message (*ret_used bytes) to skip or refuse: ret->why */
    CCAI_AS_BROKEN = 3,  /* the stream cannot be read on: ret->why */
} Ccai_as_result;

typedef struct Ccai_as_msg {
    uint8_t kind;
    const uint8_t *payload; /* into the buffer given */
    size_t len;
    uint32_t rate;   /* audio kinds: the sample rate */
    char digit;      /* DTMF */
    int error_code;  /* ERROR: the code, -1 when none was given */
    const char *why; /* BAD, BROKEN: a static sentence */
} Ccai_as_msg;

/* Read the message at the start of buf[0..len). */
CCAI_MUST_CHECK Ccai_as_result Ccai_as_parse(const uint8_t *buf, size_t len, Ccai_as_msg *ret,
                                             size_t *ret_used);
/* The header of a message of kind with a payload of len bytes. */
void Ccai_as_header(uint8_t kind, uint16_t len, uint8_t out[3]);
/* The sample rate of an audio kind (0x10..0x18), 0 for another kind. */
uint32_t Ccai_as_kind_rate(uint8_t kind);
/* What Asterisk's error code means ("the caller hung up"). */
const char *Ccai_as_error_name(int code);
/* The UUID's text form (36 characters and a NUL) of 16 bytes. */
void Ccai_as_uuid_text(const uint8_t uuid[16], char out[37]);

#endif
