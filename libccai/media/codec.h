/* Telephony audio formats: G.711 mu-law and A-law, 16-bit little-endian
 * PCM, a format descriptor (encoding, rate, channels) and frame arithmetic.
 * Pure functions on caller buffers: no allocation, no state. */
#ifndef CCAI_MEDIA_CODEC_H
#define CCAI_MEDIA_CODEC_H

#include "core/common.h"

typedef enum Ccai_media_encoding {
    CCAI_MEDIA_PCM16 = 1, /* signed 16-bit little-endian (s16le, "slin", L16 byte-swapped) */
    CCAI_MEDIA_ULAW = 2,  /* G.711 mu-law, RTP PCMU, Twilio audio/x-mulaw */
    CCAI_MEDIA_ALAW = 3,  /* G.711 A-law, RTP PCMA */
} Ccai_media_encoding;

/* How audio travels: the rates libccai supports are 8, 16, 24 and 48 kHz,
 * 1 or 2 channels (interleaved). G.711 is defined at 8 kHz but is accepted
 * at any of the rates (some hosts use it as a plain 8-bit companding). */
typedef struct Ccai_media_format {
    Ccai_media_encoding encoding;
    uint32_t rate;     /* samples per second per channel */
    uint32_t channels; /* 1 or 2 */
} Ccai_media_format;

/* Silence in each encoding (mu-law 0xFF and A-law 0xD5 decode to 0 and +8;
 * mu-law 0x00 is a full-scale click). */
#define CCAI_ULAW_SILENCE 0xFF
#define CCAI_ALAW_SILENCE 0xD5

/* True when f names a supported encoding, rate and channel count. */
CCAI_MUST_CHECK bool Ccai_media_format_valid(const Ccai_media_format *f);
CCAI_MUST_CHECK bool Ccai_media_format_equal(const Ccai_media_format *a,
                                             const Ccai_media_format *b);
/* "pcm16", "ulaw", "alaw"; "?" for anything else. */
const char *Ccai_media_encoding_name(Ccai_media_encoding e);
/* 2 for PCM16, 1 for G.711, 0 for an unknown encoding. */
size_t Ccai_media_sample_bytes(Ccai_media_encoding e);
/* Bytes of one sample frame (all channels): the block alignment. */
size_t Ccai_media_block_bytes(const Ccai_media_format *f);
/* Samples per channel in ms milliseconds (rounded down). */
size_t Ccai_media_samples_per_ms(const Ccai_media_format *f, uint32_t ms);
/* Bytes in ms milliseconds: 20 ms of 8 kHz mu-law = 160, of 16 kHz PCM16 =
 * 640. 0 for an invalid format. */
size_t Ccai_media_bytes_per_ms(const Ccai_media_format *f, uint32_t ms);
/* Duration of len bytes, in microseconds (whole sample frames only). */
uint64_t Ccai_media_bytes_to_us(const Ccai_media_format *f, size_t len);
/* Fill len bytes with the encoding's silence. */
void Ccai_media_fill_silence(Ccai_media_encoding e, uint8_t *out, size_t len);

/* G.711 (ITU-T G.711; the Sun Microsystems public-domain algorithm, bit
 * exact with it for all 65536 inputs). Encoding truncates to the segment
 * step; decoding is a 256-entry table. */
uint8_t Ccai_ulaw_encode(int16_t pcm);
int16_t Ccai_ulaw_decode(uint8_t code);
uint8_t Ccai_alaw_encode(int16_t pcm);
int16_t Ccai_alaw_decode(uint8_t code);

/* 16-bit little-endian bytes <-> host int16 (2 * n bytes). */
void Ccai_pcm16le_read(const uint8_t *in, size_t n, int16_t *out);
void Ccai_pcm16le_write(const int16_t *in, size_t n, uint8_t *out);

/* n samples (all channels counted) of encoding e <-> host int16:
 * in holds n * Ccai_media_sample_bytes(e) bytes. */
void Ccai_media_decode(Ccai_media_encoding e, const uint8_t *in, size_t n, int16_t *out);
void Ccai_media_encode(Ccai_media_encoding e, const int16_t *in, size_t n, uint8_t *out);

/* Two mono streams into one interleaved stereo stream (left, right) of n
 * sample frames: out holds 2 * n samples. */
void Ccai_media_interleave(const int16_t *left, const int16_t *right, size_t n, int16_t *out);

#endif
