/* WAV files of ccai-cli voice: a sans-I/O reader of PCM16 RIFF/WAVE bytes
 * (the caller's turns) and a writer that fixes the sizes up on close (the
 * bot's side, both sides). */
#ifndef CCAI_CLI_WAV_H
#define CCAI_CLI_WAV_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The largest WAV a turn may be: 10 minutes of 48 kHz stereo PCM16. */
#define CLI_WAV_MAX_BYTES (10u * 60u * 48000u * 4u + 4096u)

typedef struct cli_wav {
    uint32_t rate;      /* samples per second, 8000 .. 48000 */
    uint32_t channels;  /* 1 or 2 */
    const uint8_t *pcm; /* PCM16 little-endian interleaved, inside the buffer */
    size_t frames;      /* samples per channel */
} cli_wav;

/*
 * Parse a whole WAV file held in buf (at most CLI_WAV_MAX_BYTES). Takes
 * PCM16 (format 1, or WAVE_FORMAT_EXTENSIBLE with the PCM sub-format), one
 * or two channels, 8000 to 48000 Hz. A data chunk longer than what follows
 * (a stream whose size was never fixed up, as espeak-ng writes to a pipe)
 * is cut to the bytes present. Returns 0, or -1 with *why set to a static
 * sentence.
 */
int cli_wav_parse(const uint8_t *buf, size_t len, cli_wav *ret, const char **why);

typedef struct cli_wav_out {
    FILE *f;
    uint32_t rate, channels;
    uint64_t data_bytes;
    int failed; /* a write failed: errno kept in err */
    int err;
} cli_wav_out;

/* Create path (PCM16, rate, channels) with a header whose sizes close()
 * fixes up. 0, or -1 with errno. */
int cli_wav_create(cli_wav_out *w, const char *path, uint32_t rate, uint32_t channels);
/* Append interleaved samples (n frames). Errors are kept for close(). */
void cli_wav_write(cli_wav_out *w, const int16_t *samples, size_t frames);
/* Fix the sizes up and close: 0, or -1 with errno (of the first failure). */
int cli_wav_close(cli_wav_out *w);

#endif
