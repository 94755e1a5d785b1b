/* WAV/RIFF files: a sans-I/O header parser (bytes in, format out, with a
 * size limit), a streaming writer (header fixed up on sync and close) and a
 * reader. Formats: PCM 16-bit (tag 1), A-law (6), mu-law (7), and the same
 * three inside WAVE_FORMAT_EXTENSIBLE; 1 or 2 channels are written (2 for
 * recordings of both directions, interleaved), 1..8 are read. */
#ifndef CCAI_MEDIA_WAV_H
#define CCAI_MEDIA_WAV_H

#include "media/codec.h"

/* Bytes of the header Ccai_wav_header_build() writes: 44 for PCM, 58 for
 * G.711 (fmt with cbSize, and a fact chunk strict readers want). */
#define CCAI_WAV_HEADER_MAX 58
/* data_len of a file whose writer did not finish: read to the end. */
#define CCAI_WAV_LEN_UNKNOWN UINT64_MAX

typedef struct Ccai_wav_info {
    Ccai_media_encoding encoding;
    uint32_t rate;         /* any 1..768000 when read */
    uint32_t channels;     /* 1..8 */
    size_t data_offset;    /* where the samples start */
    uint64_t data_len;     /* bytes declared, or CCAI_WAV_LEN_UNKNOWN */
    uint64_t fact_samples; /* the fact chunk's count, 0 without one */
} Ccai_wav_info;

/* Parse the header at the start of a file: buf holds its first len bytes.
 * Chunks other than fmt, fact and data are skipped; the RIFF size is not
 * trusted (streaming writers leave it open).
 * Statuses: CCAI_OK with *ret_need == 0: *ret filled; CCAI_OK with
 * *ret_need > len: call again with at least *ret_need bytes;
 * CCAI_ERR_PARSE (not a WAV file, fmt missing or inconsistent);
 * CCAI_ERR_UNSUPPORTED (another sample format, RIFX, RF64);
 * CCAI_ERR_LIMIT (the samples start beyond max_header bytes). */
CCAI_MUST_CHECK ccai_status Ccai_wav_parse_header(const uint8_t *buf, size_t len, size_t max_header,
                                                  Ccai_wav_info *ret, size_t *ret_need);

/* The header of a file of data_len sample bytes (capped at the RIFF
 * maximum) in out; *ret_len its size. CCAI_ERR_INVALID_ARG for a format
 * Ccai_media_format_valid() refuses. */
CCAI_MUST_CHECK ccai_status Ccai_wav_header_build(const Ccai_media_format *f, uint64_t data_len,
                                                  uint8_t out[CCAI_WAV_HEADER_MAX],
                                                  size_t *ret_len);

typedef struct Ccai_wav_writer Ccai_wav_writer;

/* Create (or truncate) path, mode 0600, and write a header whose sizes say
 * "unknown" until the first sync or the close.
 * Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG; CCAI_ERR_IO (errno kept);
 * CCAI_ERR_NOMEM. Ownership: *ret is closed by Ccai_wav_writer_close(). */
CCAI_MUST_CHECK ccai_status Ccai_wav_writer_open(const char *path, const Ccai_media_format *f,
                                                 Ccai_wav_writer **ret);
/* Append len bytes of samples in the file's format (whole sample frames).
 * Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG (not whole frames);
 * CCAI_ERR_LIMIT (the RIFF 4 GiB limit: nothing written); CCAI_ERR_IO. */
CCAI_MUST_CHECK ccai_status Ccai_wav_writer_write(Ccai_wav_writer *w, const void *data, size_t len);
/* Patch the header with the sizes so far: a crash after it leaves a valid
 * file. Statuses: CCAI_OK; CCAI_ERR_IO. */
CCAI_MUST_CHECK ccai_status Ccai_wav_writer_sync(Ccai_wav_writer *w);
/* Bytes of samples written so far. */
uint64_t Ccai_wav_writer_bytes(const Ccai_wav_writer *w);
/* Pad, patch the header, close and free (w may be NULL). The handle is
 * gone whatever the status. Statuses: CCAI_OK; CCAI_ERR_IO. */
CCAI_MUST_CHECK ccai_status Ccai_wav_writer_close(Ccai_wav_writer *w);

typedef struct Ccai_wav_reader Ccai_wav_reader;

/* Open path and parse its header (at most 64 KiB of chunks before the
 * samples). Statuses: as Ccai_wav_parse_header() (CCAI_ERR_PARSE also for
 * a file that ends inside its header), plus CCAI_ERR_IO (unreadable) and
 * CCAI_ERR_NOMEM. Ownership: *ret
 * freed with Ccai_wav_reader_close(). */
CCAI_MUST_CHECK ccai_status Ccai_wav_reader_open(const char *path, Ccai_wav_reader **ret);
const Ccai_wav_info *Ccai_wav_reader_info(const Ccai_wav_reader *r);
/* Read up to cap bytes of samples (whole sample frames; cap at least one
 * frame); *ret_len == 0 at the end. Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG
 * (cap below a frame); CCAI_ERR_IO. */
CCAI_MUST_CHECK ccai_status Ccai_wav_reader_read(Ccai_wav_reader *r, uint8_t *buf, size_t cap,
                                                 size_t *ret_len);
/* Accepts NULL. */
void Ccai_wav_reader_close(Ccai_wav_reader *r);

/* A whole file decoded to interleaved int16 (at most max_frames sample
 * frames). Statuses: as the reader's, plus CCAI_ERR_LIMIT (longer).
 * Ownership: *ret_pcm is freed with ccai_free() (NULL for a file without
 * samples). */
CCAI_MUST_CHECK ccai_status Ccai_wav_read_pcm16(const char *path, size_t max_frames,
                                                int16_t **ret_pcm, size_t *ret_frames,
                                                Ccai_wav_info *ret_info);

#endif
