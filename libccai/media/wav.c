/* WAV/RIFF parser, writer and reader (see wav.h). */
#include "media/wav.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define TAG_PCM        1
#define TAG_ALAW       6
#define TAG_MULAW      7
#define TAG_EXTENSIBLE 0xFFFE
#define RIFF_MAX       0xFFFFFFFFu
#define READ_HEADER    (64 * 1024)

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v & 0xFF);
    p[1] = (uint8_t)(v >> 8);
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v & 0xFF);
    p[1] = (uint8_t)((v >> 8) & 0xFF);
    p[2] = (uint8_t)((v >> 16) & 0xFF);
    p[3] = (uint8_t)(v >> 24);
}

/* The tail shared by the KSDATAFORMAT_SUBTYPE_* GUIDs after their first two
 * bytes (the classic format tag). */
static const uint8_t guid_tail[14] = {0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80,
                                      0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71};

/* The fmt chunk body (len bytes) into *info. */
static CCAI_MUST_CHECK ccai_status parse_fmt(const uint8_t *p, uint32_t len, Ccai_wav_info *info)
{
    if (len < 16)
        return CCAI_ERR_PARSE;
    uint16_t tag = rd16(p);
    uint16_t channels = rd16(p + 2);
    uint32_t rate = rd32(p + 4);
    uint16_t align = rd16(p + 12);
    uint16_t bits = rd16(p + 14);
    if (tag == TAG_EXTENSIBLE) {
        if (len < 40 || rd16(p + 16) < 22)
            return CCAI_ERR_PARSE;
        if (memcmp(p + 26, guid_tail, sizeof guid_tail) != 0)
            return CCAI_ERR_UNSUPPORTED;
        tag = rd16(p + 24);
        /* The container size must be the classic one; the valid-bits
         * field is not checked (a 16-bit container is what is read). */
    }
    if (channels == 0 || rate == 0)
        return CCAI_ERR_PARSE;
    if (channels > 8 || rate > 768000)
        return CCAI_ERR_UNSUPPORTED;
    switch (tag) {
    case TAG_PCM:
        if (bits != 16)
            return CCAI_ERR_UNSUPPORTED;
        info->encoding = CCAI_MEDIA_PCM16;
        break;
    case TAG_ALAW:
    case TAG_MULAW:
        if (bits != 8)
            return CCAI_ERR_UNSUPPORTED;
        info->encoding = tag == TAG_ALAW ? CCAI_MEDIA_ALAW : CCAI_MEDIA_ULAW;
        break;
    default: return CCAI_ERR_UNSUPPORTED;
    }
    if (align != channels * Ccai_media_sample_bytes(info->encoding))
        return CCAI_ERR_PARSE;
    info->channels = channels;
    info->rate = rate;
    return CCAI_OK;
}

ccai_status Ccai_wav_parse_header(const uint8_t *buf, size_t len, size_t max_header,
                                  Ccai_wav_info *ret, size_t *ret_need)
{
    *ret_need = 0;
    if (len < 12) {
        *ret_need = 12;
        return CCAI_OK;
    }
    if (memcmp(buf, "RIFX", 4) == 0 || memcmp(buf, "RF64", 4) == 0)
        return memcmp(buf + 8, "WAVE", 4) == 0 ? CCAI_ERR_UNSUPPORTED : CCAI_ERR_PARSE;
    if (memcmp(buf, "RIFF", 4) != 0 || memcmp(buf + 8, "WAVE", 4) != 0)
        return CCAI_ERR_PARSE;
    Ccai_wav_info info = {0};
    bool have_fmt = false;
    uint64_t off = 12;
    for (;;) {
        if (off + 8 > max_header)
            return CCAI_ERR_LIMIT;
        if (off + 8 > len) {
            *ret_need = (size_t)off + 8;
            return CCAI_OK;
        }
        const uint8_t *h = buf + off;
        uint32_t size = rd32(h + 4);
        if (memcmp(h, "data", 4) == 0) {
            if (!have_fmt)
                return CCAI_ERR_PARSE;
            info.data_offset = (size_t)off + 8;
            info.data_len = size == RIFF_MAX ? CCAI_WAV_LEN_UNKNOWN : size;
            *ret = info;
            return CCAI_OK;
        }
        bool is_fmt = memcmp(h, "fmt ", 4) == 0, is_fact = memcmp(h, "fact", 4) == 0;
        if (is_fmt || is_fact) {
            if (size > 1024) /* far beyond any real fmt or fact chunk */
                return CCAI_ERR_PARSE;
            if (off + 8 + size > max_header)
                return CCAI_ERR_LIMIT;
            if (off + 8 + size > len) {
                *ret_need = (size_t)(off + 8 + size);
                return CCAI_OK;
            }
            if (is_fmt) {
                if (have_fmt)
                    return CCAI_ERR_PARSE;
                ccai_status st = parse_fmt(h + 8, size, &info);
                if (st != CCAI_OK)
                    return st;
                have_fmt = true;
            } else if (size >= 4) {
                info.fact_samples = rd32(h + 8);
            }
        }
        off += 8 + (uint64_t)size + (size & 1); /* chunks are word aligned */
    }
}

ccai_status Ccai_wav_header_build(const Ccai_media_format *f, uint64_t data_len,
                                  uint8_t out[CCAI_WAV_HEADER_MAX], size_t *ret_len)
{
    if (!Ccai_media_format_valid(f))
        return CCAI_ERR_INVALID_ARG;
    bool g711 = f->encoding != CCAI_MEDIA_PCM16;
    size_t hdr = g711 ? 58 : 44;
    if (data_len > RIFF_MAX - hdr)
        data_len = RIFF_MAX - hdr;
    uint32_t block = (uint32_t)Ccai_media_block_bytes(f);
    uint32_t dlen = (uint32_t)data_len;
    memcpy(out, "RIFF", 4);
    /* The RIFF size covers a pad byte after odd data. */
    wr32(out + 4, (uint32_t)(hdr - 8 + data_len + (data_len & 1)));
    memcpy(out + 8, "WAVEfmt ", 8);
    wr32(out + 16, g711 ? 18 : 16);
    uint16_t tag = f->encoding == CCAI_MEDIA_PCM16  ? TAG_PCM
                   : f->encoding == CCAI_MEDIA_ALAW ? TAG_ALAW
                                                    : TAG_MULAW;
    wr16(out + 20, tag);
    wr16(out + 22, (uint16_t)f->channels);
    wr32(out + 24, f->rate);
    wr32(out + 28, f->rate * block);
    wr16(out + 32, (uint16_t)block);
    wr16(out + 34, g711 ? 8 : 16);
    size_t off = 36;
    if (g711) {
        wr16(out + 36, 0); /* cbSize */
        memcpy(out + 38, "fact", 4);
        wr32(out + 42, 4);
        wr32(out + 46, dlen / block);
        off = 50;
    }
    memcpy(out + off, "data", 4);
    wr32(out + off + 4, dlen);
    *ret_len = hdr;
    return CCAI_OK;
}

struct Ccai_wav_writer {
    int fd;
    Ccai_media_format fmt;
    uint64_t bytes;
    size_t hdr_len;
};

static CCAI_MUST_CHECK ccai_status write_all(int fd, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return CCAI_ERR_IO;
        p += n;
        len -= (size_t)n;
    }
    return CCAI_OK;
}

static CCAI_MUST_CHECK ccai_status pwrite_all(int fd, const void *data, size_t len, off_t at)
{
    const uint8_t *p = data;
    while (len) {
        ssize_t n = pwrite(fd, p, len, at);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return CCAI_ERR_IO;
        p += n;
        len -= (size_t)n;
        at += n;
    }
    return CCAI_OK;
}

ccai_status Ccai_wav_writer_open(const char *path, const Ccai_media_format *f,
                                 Ccai_wav_writer **ret)
{
    if (!path || !ret || !Ccai_media_format_valid(f))
        return CCAI_ERR_INVALID_ARG;
    uint8_t hdr[CCAI_WAV_HEADER_MAX];
    size_t hdr_len = 0;
    ccai_status st = Ccai_wav_header_build(f, 0, hdr, &hdr_len);
    if (st != CCAI_OK)
        return st;
    /* Until the first sync the sizes say "unknown": readers take the
     * samples to the end of the file. */
    wr32(hdr + 4, RIFF_MAX);
    wr32(hdr + hdr_len - 4, RIFF_MAX);
    Ccai_wav_writer *w = Ccai_calloc(1, sizeof *w);
    if (!w)
        return CCAI_ERR_NOMEM;
    w->fmt = *f;
    w->hdr_len = hdr_len;
    w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (w->fd < 0) {
        int e = errno;
        ccai_free(w);
        errno = e;
        return CCAI_ERR_IO;
    }
    st = write_all(w->fd, hdr, hdr_len);
    if (st != CCAI_OK) {
        int e = errno;
        close(w->fd);
        ccai_free(w);
        errno = e;
        return st;
    }
    *ret = w;
    return CCAI_OK;
}

ccai_status Ccai_wav_writer_write(Ccai_wav_writer *w, const void *data, size_t len)
{
    if (len % Ccai_media_block_bytes(&w->fmt))
        return CCAI_ERR_INVALID_ARG;
    /* Room for the header and a pad byte under the 32-bit RIFF size. */
    if (w->bytes + len > (uint64_t)RIFF_MAX - w->hdr_len - 1)
        return CCAI_ERR_LIMIT;
    if (!len)
        return CCAI_OK;
    ccai_status st = write_all(w->fd, data, len);
    if (st == CCAI_OK)
        w->bytes += len;
    return st;
}

ccai_status Ccai_wav_writer_sync(Ccai_wav_writer *w)
{
    uint8_t hdr[CCAI_WAV_HEADER_MAX];
    size_t hdr_len = 0;
    ccai_status st = Ccai_wav_header_build(&w->fmt, w->bytes, hdr, &hdr_len);
    if (st != CCAI_OK)
        return st;
    return pwrite_all(w->fd, hdr, hdr_len, 0);
}

uint64_t Ccai_wav_writer_bytes(const Ccai_wav_writer *w)
{
    return w->bytes;
}

ccai_status Ccai_wav_writer_close(Ccai_wav_writer *w)
{
    if (!w)
        return CCAI_OK;
    ccai_status st = CCAI_OK;
    if (w->bytes & 1) {
        static const uint8_t pad = 0;
        st = write_all(w->fd, &pad, 1);
    }
    if (st == CCAI_OK)
        st = Ccai_wav_writer_sync(w);
    if (close(w->fd) != 0 && st == CCAI_OK)
        st = CCAI_ERR_IO;
    ccai_free(w);
    return st;
}

struct Ccai_wav_reader {
    int fd;
    Ccai_wav_info info;
    uint64_t left;    /* bytes of samples still to read; UINT64_MAX: to EOF */
    uint8_t held[16]; /* an incomplete sample frame read past a short read */
    size_t held_len;
};

static CCAI_MUST_CHECK ccai_status read_some(int fd, uint8_t *buf, size_t cap, size_t *ret)
{
    for (;;) {
        ssize_t n = read(fd, buf, cap);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return CCAI_ERR_IO;
        *ret = (size_t)n;
        return CCAI_OK;
    }
}

ccai_status Ccai_wav_reader_open(const char *path, Ccai_wav_reader **ret)
{
    if (!path || !ret)
        return CCAI_ERR_INVALID_ARG;
    Ccai_wav_reader *r = Ccai_calloc(1, sizeof *r);
    if (!r)
        return CCAI_ERR_NOMEM;
    r->fd = -1;
    uint8_t *hdr = Ccai_malloc(READ_HEADER);
    ccai_status st = CCAI_ERR_NOMEM;
    if (!hdr)
        goto out;
    st = CCAI_ERR_IO;
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0)
        goto out;
    size_t have = 0, need = 12;
    for (;;) {
        while (have < need) {
            size_t n = 0;
            st = read_some(r->fd, hdr + have, READ_HEADER - have, &n);
            if (st != CCAI_OK)
                goto out;
            if (n == 0) { /* the file ends inside its header */
                st = CCAI_ERR_PARSE;
                goto out;
            }
            have += n;
        }
        st = Ccai_wav_parse_header(hdr, have, READ_HEADER, &r->info, &need);
        if (st != CCAI_OK)
            goto out;
        if (need == 0)
            break;
    }
    /* Samples read with the header move into place at the start. */
    if (lseek(r->fd, (off_t)r->info.data_offset, SEEK_SET) < 0) {
        st = CCAI_ERR_IO;
        goto out;
    }
    r->left = r->info.data_len;
    *ret = r;
    r = NULL;
    st = CCAI_OK;
out:
    ccai_free(hdr);
    if (r) {
        if (r->fd >= 0)
            close(r->fd);
        ccai_free(r);
    }
    return st;
}

const Ccai_wav_info *Ccai_wav_reader_info(const Ccai_wav_reader *r)
{
    return &r->info;
}

ccai_status Ccai_wav_reader_read(Ccai_wav_reader *r, uint8_t *buf, size_t cap, size_t *ret_len)
{
    *ret_len = 0;
    size_t block = Ccai_media_sample_bytes(r->info.encoding) * r->info.channels;
    if (cap < block)
        return CCAI_ERR_INVALID_ARG;
    size_t want = cap - cap % block;
    if (r->left != CCAI_WAV_LEN_UNKNOWN && want > r->left)
        want = (size_t)(r->left - r->left % block);
    size_t got = r->held_len;
    memcpy(buf, r->held, r->held_len);
    r->held_len = 0;
    while (got < want) {
        size_t n = 0;
        ccai_status st = read_some(r->fd, buf + got, want - got, &n);
        if (st != CCAI_OK)
            return st;
        if (n == 0)
            break;
        got += n;
    }
    /* A cut-off last frame at the end of the file is dropped. */
    size_t whole = got - got % block;
    r->held_len = got - whole;
    memcpy(r->held, buf + whole, r->held_len);
    if (r->left != CCAI_WAV_LEN_UNKNOWN)
        r->left -= whole;
    *ret_len = whole;
    return CCAI_OK;
}

void Ccai_wav_reader_close(Ccai_wav_reader *r)
{
    if (!r)
        return;
    close(r->fd);
    ccai_free(r);
}

ccai_status Ccai_wav_read_pcm16(const char *path, size_t max_frames, int16_t **ret_pcm,
                                size_t *ret_frames, Ccai_wav_info *ret_info)
{
    Ccai_wav_reader *r = NULL;
    ccai_status st = Ccai_wav_reader_open(path, &r);
    if (st != CCAI_OK)
        return st;
    const Ccai_wav_info *info = Ccai_wav_reader_info(r);
    size_t sbytes = Ccai_media_sample_bytes(info->encoding);
    size_t block = sbytes * info->channels;
    size_t cap = 0, n = 0; /* in samples (all channels) */
    int16_t *pcm = NULL;
    uint8_t chunk[4096];
    for (;;) {
        size_t got = 0;
        st = Ccai_wav_reader_read(r, chunk, sizeof chunk - sizeof chunk % block, &got);
        if (st != CCAI_OK || got == 0)
            break;
        size_t samples = got / sbytes;
        if ((n + samples) / info->channels > max_frames) {
            st = CCAI_ERR_LIMIT;
            break;
        }
        if (n + samples > cap) {
            size_t ncap = cap ? cap * 2 : 8192;
            while (ncap < n + samples)
                ncap *= 2;
            int16_t *np = Ccai_realloc(pcm, ncap * sizeof *pcm);
            if (!np) {
                st = CCAI_ERR_NOMEM;
                break;
            }
            pcm = np;
            cap = ncap;
        }
        Ccai_media_decode(info->encoding, chunk, samples, pcm + n);
        n += samples;
    }
    if (st == CCAI_OK) {
        *ret_info = *info;
        *ret_frames = n / info->channels;
        *ret_pcm = pcm;
        pcm = NULL;
    }
    ccai_free(pcm);
    Ccai_wav_reader_close(r);
    return st;
}
