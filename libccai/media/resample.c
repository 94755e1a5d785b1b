/* speexdsp resampler wrapper and format converter (see resample.h). */
#include "media/resample.h"

#include <speex/speex_resampler.h>
#include <string.h>

struct Ccai_resampler {
    SpeexResamplerState *st; /* NULL: equal rates, a copy */
    uint32_t in_rate, out_rate, channels;
};

static CCAI_MUST_CHECK bool rate_ok(uint32_t r)
{
    return r == 8000 || r == 16000 || r == 24000 || r == 48000;
}

ccai_status Ccai_resampler_new(uint32_t in_rate, uint32_t out_rate, uint32_t channels, int quality,
                               Ccai_resampler **ret)
{
    if (!ret || !rate_ok(in_rate) || !rate_ok(out_rate) || (channels != 1 && channels != 2) ||
        quality < SPEEX_RESAMPLER_QUALITY_MIN || quality > SPEEX_RESAMPLER_QUALITY_MAX)
        return CCAI_ERR_INVALID_ARG;
    Ccai_resampler *r = Ccai_calloc(1, sizeof *r);
    if (!r)
        return CCAI_ERR_NOMEM;
    r->in_rate = in_rate;
    r->out_rate = out_rate;
    r->channels = channels;
    if (in_rate != out_rate) {
        int err = RESAMPLER_ERR_SUCCESS;
        r->st = speex_resampler_init(channels, in_rate, out_rate, quality, &err);
        if (!r->st) {
            ccai_free(r);
            return err == RESAMPLER_ERR_ALLOC_FAILED ? CCAI_ERR_NOMEM : CCAI_ERR_INTERNAL;
        }
    }
    *ret = r;
    return CCAI_OK;
}

void Ccai_resampler_free(Ccai_resampler *r)
{
    if (!r)
        return;
    if (r->st)
        speex_resampler_destroy(r->st);
    ccai_free(r);
}

size_t Ccai_resampler_max_out(const Ccai_resampler *r, size_t in_frames)
{
    if (!r->st)
        return in_frames;
    /* The filter's fractional phase can add one frame to the exact ratio;
     * one more covers the rounding. */
    return (size_t)((uint64_t)in_frames * r->out_rate / r->in_rate) + 2;
}

ccai_status Ccai_resampler_process(Ccai_resampler *r, const int16_t *in, size_t in_frames,
                                   int16_t *out, size_t out_cap, size_t *ret_out)
{
    *ret_out = 0;
    if (out_cap < Ccai_resampler_max_out(r, in_frames))
        return CCAI_ERR_LIMIT;
    if (!r->st) {
        if (in_frames)
            memcpy(out, in, in_frames * r->channels * sizeof *in);
        *ret_out = in_frames;
        return CCAI_OK;
    }
    size_t done_in = 0, done_out = 0;
    /* speexdsp takes 32-bit counts and may stop early on a full internal
     * buffer: loop until every input frame is consumed. */
    while (done_in < in_frames) {
        size_t want = in_frames - done_in;
        spx_uint32_t in_len = want > 65536 ? 65536 : (spx_uint32_t)want;
        spx_uint32_t out_len =
            (spx_uint32_t)(out_cap - done_out > 0x7FFFFFFF ? 0x7FFFFFFF : out_cap - done_out);
        int err = speex_resampler_process_interleaved_int(
            r->st, in + done_in * r->channels, &in_len, out + done_out * r->channels, &out_len);
        if (err != RESAMPLER_ERR_SUCCESS || (in_len == 0 && out_len == 0))
            return CCAI_ERR_INTERNAL;
        done_in += in_len;
        done_out += out_len;
    }
    *ret_out = done_out;
    return CCAI_OK;
}

size_t Ccai_resampler_latency(const Ccai_resampler *r)
{
    if (!r->st)
        return 0;
    int n = speex_resampler_get_output_latency(r->st);
    return n > 0 ? (size_t)n : 0;
}

ccai_status Ccai_resampler_reset(Ccai_resampler *r)
{
    if (r->st && speex_resampler_reset_mem(r->st) != RESAMPLER_ERR_SUCCESS)
        return CCAI_ERR_INTERNAL;
    return CCAI_OK;
}

/* The converter works in pieces of at most PIECE input sample frames so its
 * scratch buffers stay fixed: PIECE frames at the higher of the two rates
 * (10 ms at 48 kHz) in stereo. */
enum { PIECE = 480, SCRATCH = 2 * PIECE + 8 };

struct Ccai_media_converter {
    Ccai_media_format from, to;
    Ccai_resampler *rs;
    size_t piece;     /* input sample frames per piece */
    uint8_t carry[4]; /* an incomplete input sample frame */
    size_t carry_len;
    int16_t dec[SCRATCH]; /* decoded input (from.channels) */
    int16_t mix[SCRATCH]; /* mapped to to.channels */
    int16_t res[SCRATCH]; /* resampled */
};

ccai_status Ccai_media_converter_new(const Ccai_media_format *from, const Ccai_media_format *to,
                                     int quality, Ccai_media_converter **ret)
{
    if (!ret || !Ccai_media_format_valid(from) || !Ccai_media_format_valid(to))
        return CCAI_ERR_INVALID_ARG;
    Ccai_media_converter *c = Ccai_calloc(1, sizeof *c);
    if (!c)
        return CCAI_ERR_NOMEM;
    c->from = *from;
    c->to = *to;
    uint32_t hi = from->rate > to->rate ? from->rate : to->rate;
    c->piece = (size_t)PIECE * from->rate / hi;
    ccai_status st = Ccai_resampler_new(from->rate, to->rate, to->channels, quality, &c->rs);
    if (st != CCAI_OK) {
        ccai_free(c);
        return st;
    }
    *ret = c;
    return CCAI_OK;
}

void Ccai_media_converter_free(Ccai_media_converter *c)
{
    if (!c)
        return;
    Ccai_resampler_free(c->rs);
    ccai_free(c);
}

size_t Ccai_media_converter_max_out(const Ccai_media_converter *c, size_t in_len)
{
    size_t in_block = Ccai_media_block_bytes(&c->from);
    size_t frames = (in_len + c->carry_len) / in_block;
    if (c->from.rate == c->to.rate)
        return frames * Ccai_media_block_bytes(&c->to);
    /* Each piece (the held frame completed, then whole pieces, then the
     * rest) may round up by the resampler's slack. */
    size_t pieces = frames / c->piece + 2;
    size_t out_frames = (size_t)((uint64_t)frames * c->to.rate / c->from.rate) + 2 * pieces;
    return out_frames * Ccai_media_block_bytes(&c->to);
}

/* Convert frames whole input sample frames at in. */
static CCAI_MUST_CHECK ccai_status convert_piece(Ccai_media_converter *c, const uint8_t *in,
                                                 size_t frames, uint8_t *out, size_t *out_len)
{
    size_t fch = c->from.channels, tch = c->to.channels;
    Ccai_media_decode(c->from.encoding, in, frames * fch, c->dec);
    const int16_t *mapped = c->dec;
    if (fch == 2 && tch == 1) {
        for (size_t i = 0; i < frames; i++)
            c->mix[i] = (int16_t)(((int32_t)c->dec[2 * i] + c->dec[2 * i + 1]) / 2);
        mapped = c->mix;
    } else if (fch == 1 && tch == 2) {
        for (size_t i = 0; i < frames; i++)
            c->mix[2 * i] = c->mix[2 * i + 1] = c->dec[i];
        mapped = c->mix;
    }
    size_t n_out = 0;
    ccai_status st = Ccai_resampler_process(c->rs, mapped, frames, c->res, SCRATCH / tch, &n_out);
    if (st != CCAI_OK)
        return st == CCAI_ERR_LIMIT ? CCAI_ERR_INTERNAL : st;
    Ccai_media_encode(c->to.encoding, c->res, n_out * tch, out + *out_len);
    *out_len += n_out * Ccai_media_block_bytes(&c->to);
    return CCAI_OK;
}

ccai_status Ccai_media_convert(Ccai_media_converter *c, const uint8_t *in, size_t in_len,
                               uint8_t *out, size_t out_cap, size_t *ret_out_len)
{
    *ret_out_len = 0;
    /* Nothing in (in may then be NULL, which memcpy may not be given even
     * for 0 bytes): nothing out, the carried partial sample kept. */
    if (!in_len)
        return CCAI_OK;
    if (out_cap < Ccai_media_converter_max_out(c, in_len))
        return CCAI_ERR_LIMIT;
    size_t block = Ccai_media_block_bytes(&c->from);
    size_t out_len = 0;
    ccai_status st = CCAI_OK;
    if (c->carry_len) {
        size_t take = block - c->carry_len;
        if (take > in_len)
            take = in_len;
        memcpy(c->carry + c->carry_len, in, take);
        c->carry_len += take;
        in += take;
        in_len -= take;
        if (c->carry_len < block)
            return CCAI_OK;
        c->carry_len = 0;
        st = convert_piece(c, c->carry, 1, out, &out_len);
    }
    while (st == CCAI_OK && in_len >= block) {
        size_t frames = in_len / block;
        if (frames > c->piece)
            frames = c->piece;
        st = convert_piece(c, in, frames, out, &out_len);
        in += frames * block;
        in_len -= frames * block;
    }
    if (st != CCAI_OK)
        return st;
    memcpy(c->carry, in, in_len);
    c->carry_len = in_len;
    *ret_out_len = out_len;
    return CCAI_OK;
}

size_t Ccai_media_converter_pending(const Ccai_media_converter *c)
{
    return c->carry_len;
}

ccai_status Ccai_media_converter_reset(Ccai_media_converter *c)
{
    c->carry_len = 0;
    return Ccai_resampler_reset(c->rs);
}
