/* See wav.h. */
#include "wav.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

int cli_wav_parse(const uint8_t *buf, size_t len, cli_wav *ret, const char **why)
{
    /* KSDATAFORMAT_SUBTYPE_PCM's bytes after its first two. */
    static const uint8_t pcm_guid_tail[14] = {0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80,
                                              0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71};
    int have_fmt = 0;
    size_t pos = 12;

    memset(ret, 0, sizeof *ret);
    if (len > CLI_WAV_MAX_BYTES) {
        *why = "longer than 10 minutes of 48 kHz stereo";
        return -1;
    }
    if (len < 12 || memcmp(buf, "RIFF", 4) != 0 || memcmp(buf + 8, "WAVE", 4) != 0) {
        *why = "not a WAV file (no RIFF/WAVE header)";
        return -1;
    }
    while (len - pos >= 8) {
        const uint8_t *chunk = buf + pos;
        uint32_t size = le32(chunk + 4);
        size_t avail = len - pos - 8;
        if (memcmp(chunk, "fmt ", 4) == 0) {
            if (size < 16 || size > avail) {
                *why = "a broken fmt chunk";
                return -1;
            }
            uint16_t tag = le16(chunk + 8);
            if (tag == 0xfffe) {
                if (size < 40 || memcmp(chunk + 8 + 26, pcm_guid_tail, sizeof pcm_guid_tail) != 0 ||
                    le16(chunk + 8 + 24) != 1) {
                    *why = "not PCM (an extensible format of another kind)";
                    return -1;
                }
            } else if (tag != 1) {
                *why = "not PCM (compressed, float or G.711: convert it to PCM16)";
                return -1;
            }
            ret->channels = le16(chunk + 10);
            ret->rate = le32(chunk + 12);
            uint16_t block = le16(chunk + 20);
            uint16_t bits = le16(chunk + 22);
            if (bits != 16) {
                *why = "not 16-bit PCM";
                return -1;
            }
            if (ret->channels < 1 || ret->channels > 2 || block != 2 * ret->channels) {
                *why = "not mono or stereo";
                return -1;
            }
            if (ret->rate < 8000 || ret->rate > 48000) {
                *why = "a sample rate outside 8000 .. 48000 Hz";
                return -1;
            }
            have_fmt = 1;
        } else if (memcmp(chunk, "data", 4) == 0) {
            if (!have_fmt) {
                *why = "audio data before its format (no fmt chunk)";
                return -1;
            }
            size_t n = size > avail ? avail : size; /* a stream never fixed up */
            ret->pcm = chunk + 8;
            ret->frames = n / (2u * ret->channels);
            return 0;
        }
        /* The chunk and its pad byte; a file cut inside them ends here. */
        if ((uint64_t)size + (size & 1u) >= avail)
            break;
        pos += 8 + (size_t)size + (size & 1u);
    }
    *why = have_fmt ? "no audio data (no data chunk)" : "no fmt chunk";
    return -1;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void header(uint8_t h[44], uint32_t rate, uint32_t channels, uint64_t data)
{
    uint32_t d = data > 0xffffffffu - 36u ? 0xffffffffu - 36u : (uint32_t)data;
    memcpy(h, "RIFF", 4);
    put32(h + 4, 36u + d);
    memcpy(h + 8, "WAVEfmt ", 8);
    put32(h + 16, 16);
    put16(h + 20, 1);
    put16(h + 22, (uint16_t)channels);
    put32(h + 24, rate);
    put32(h + 28, rate * channels * 2u);
    put16(h + 32, (uint16_t)(channels * 2u));
    put16(h + 34, 16);
    memcpy(h + 36, "data", 4);
    put32(h + 40, d);
}

static void fail(cli_wav_out *w)
{
    if (!w->failed) {
        w->failed = 1;
        w->err = errno ? errno : EIO;
    }
}

int cli_wav_create(cli_wav_out *w, const char *path, uint32_t rate, uint32_t channels)
{
    uint8_t h[44];
    memset(w, 0, sizeof *w);
    w->rate = rate;
    w->channels = channels;
    /* The call's audio is personal data: created 0600, like the export. */
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    w->f = fdopen(fd, "wb");
    if (!w->f) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    header(h, rate, channels, 0);
    if (fwrite(h, 1, sizeof h, w->f) != sizeof h) {
        int e = errno;
        fclose(w->f);
        w->f = NULL;
        errno = e;
        return -1;
    }
    return 0;
}

void cli_wav_write(cli_wav_out *w, const int16_t *samples, size_t frames)
{
    uint8_t b[4096];
    size_t n = frames * w->channels;
    if (!w->f || w->failed)
        return;
    for (size_t off = 0; off < n;) {
        size_t k = n - off < sizeof b / 2 ? n - off : sizeof b / 2;
        for (size_t i = 0; i < k; i++)
            put16(b + 2 * i, (uint16_t)samples[off + i]);
        if (fwrite(b, 2, k, w->f) != k) {
            fail(w);
            return;
        }
        w->data_bytes += 2u * k;
        off += k;
    }
}

int cli_wav_close(cli_wav_out *w)
{
    uint8_t h[44];
    if (!w->f)
        return 0;
    header(h, w->rate, w->channels, w->data_bytes);
    if (!w->failed && (fseek(w->f, 0, SEEK_SET) != 0 || fwrite(h, 1, sizeof h, w->f) != sizeof h))
        fail(w);
    if (fclose(w->f) != 0)
        fail(w);
    w->f = NULL;
    if (w->failed) {
        errno = w->err;
        return -1;
    }
    return 0;
}
