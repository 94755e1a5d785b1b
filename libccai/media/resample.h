/* Sample-rate conversion through libspeexdsp's resampler (BSD), streaming
 * any block size, and a converter that chains decode -> channel mapping ->
 * resample -> encode between two Ccai_media_format.
 *
 * Memory: the handles come from the library's allocator; the speexdsp state
 * inside (a few KB: its filter table and history) is allocated by speexdsp
 * with the C library's calloc, which Debian's shared libspeexdsp offers no
 * hook to replace. Nothing allocates after _new(). */
#ifndef CCAI_MEDIA_RESAMPLE_H
#define CCAI_MEDIA_RESAMPLE_H

#include "media/codec.h"

/* speexdsp quality 0..10. 3 (speexdsp's "VOIP" preset) is the default for
 * the call path: bench-media measures 0, 3, 5 and 8 (CPU per frame, tone
 * SNR, alias rejection) and docs/media.md gives the figures. */
#define CCAI_RESAMPLE_QUALITY_DEFAULT 3

typedef struct Ccai_resampler Ccai_resampler;

/* A resampler from in_rate to out_rate (each 8000, 16000, 24000 or 48000)
 * for channels (1 or 2) interleaved channels at quality 0..10. Equal rates
 * give a pass-through copy.
 * Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG (rate, channels or quality);
 * CCAI_ERR_NOMEM. Ownership: *ret is freed with Ccai_resampler_free(). */
CCAI_MUST_CHECK ccai_status Ccai_resampler_new(uint32_t in_rate, uint32_t out_rate,
                                               uint32_t channels, int quality,
                                               Ccai_resampler **ret);
/* Accepts NULL. */
void Ccai_resampler_free(Ccai_resampler *r);
/* The most sample frames (per channel) Ccai_resampler_process() can write
 * for in_frames input frames. */
size_t Ccai_resampler_max_out(const Ccai_resampler *r, size_t in_frames);
/* Resample in_frames interleaved sample frames of in into out (room for
 * out_cap frames), all input consumed; the filter's history carries over to
 * the next call, so a stream cut in any block sizes gives the same output
 * as in one block. *ret_out receives the frames written.
 * Statuses: CCAI_OK; CCAI_ERR_LIMIT (out_cap below Ccai_resampler_max_out():
 * nothing consumed); CCAI_ERR_INTERNAL (speexdsp refused). */
CCAI_MUST_CHECK ccai_status Ccai_resampler_process(Ccai_resampler *r, const int16_t *in,
                                                   size_t in_frames, int16_t *out, size_t out_cap,
                                                   size_t *ret_out);
/* Delay the filter adds, in output sample frames (0 for pass-through). */
size_t Ccai_resampler_latency(const Ccai_resampler *r);
/* Forget the history (a new stream on the same handle).
 * Statuses: CCAI_OK; CCAI_ERR_INTERNAL (speexdsp refused). */
CCAI_MUST_CHECK ccai_status Ccai_resampler_reset(Ccai_resampler *r);

typedef struct Ccai_media_converter Ccai_media_converter;

/* A converter from one format to another (both Ccai_media_format_valid).
 * Stereo to mono averages the channels; mono to stereo copies.
 * Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG; CCAI_ERR_NOMEM.
 * Ownership: formats are copied; *ret is freed with
 * Ccai_media_converter_free(). */
CCAI_MUST_CHECK ccai_status Ccai_media_converter_new(const Ccai_media_format *from,
                                                     const Ccai_media_format *to, int quality,
                                                     Ccai_media_converter **ret);
/* Accepts NULL. */
void Ccai_media_converter_free(Ccai_media_converter *c);
/* The most bytes Ccai_media_convert() can write for in_len input bytes. */
size_t Ccai_media_converter_max_out(const Ccai_media_converter *c, size_t in_len);
/* Convert in_len bytes (any length: a partial sample frame at the end is
 * kept for the next call) into out (room for out_cap bytes); *ret_out_len
 * receives the bytes written, whole sample frames of the output format.
 * Statuses: CCAI_OK; CCAI_ERR_LIMIT (out_cap below
 * Ccai_media_converter_max_out(): nothing consumed); CCAI_ERR_INTERNAL. */
CCAI_MUST_CHECK ccai_status Ccai_media_convert(Ccai_media_converter *c, const uint8_t *in,
                                               size_t in_len, uint8_t *out, size_t out_cap,
                                               size_t *ret_out_len);
/* Bytes of an incomplete sample frame held since the last call (0..3). */
size_t Ccai_media_converter_pending(const Ccai_media_converter *c);
/* Forget held bytes and the resampler history.
 * Statuses: CCAI_OK; CCAI_ERR_INTERNAL (speexdsp refused). */
CCAI_MUST_CHECK ccai_status Ccai_media_converter_reset(Ccai_media_converter *c);

#endif
