/* libFuzzer: audio bytes from the network into the media layer: the format
 * converter (decode, channel mapping, resampling, encode; media/resample.c)
 * and the outbound pacer (media/pacer.c), on any bytes cut anywhere.
 * Input: byte 0 picks the two formats, byte 1 the quality, then runs of
 * [length, bytes...]. Properties checked: the converter writes whole
 * sample frames within the bound it announces and keeps less than a frame;
 * the pacer releases whole frames of the pushed format, never more than it
 * was given (padding aside), and accounts for what a clear drops. */
#include "media/pacer.h"
#include "media/resample.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static Ccai_media_format pick(unsigned v)
{
    static const Ccai_media_encoding enc[3] = {CCAI_MEDIA_PCM16, CCAI_MEDIA_ULAW, CCAI_MEDIA_ALAW};
    static const uint32_t rates[4] = {8000, 16000, 24000, 48000};
    Ccai_media_format f = {enc[v % 3], rates[(v / 3) % 4], 1 + (v / 12) % 2};
    return f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    Ccai_media_format from = pick(data[0] & 0x0F), to = pick(data[0] >> 4);
    int quality = data[1] % 11;
    data += 2;
    size -= 2;
    Ccai_media_converter *c = NULL;
    if (Ccai_media_converter_new(&from, &to, quality, &c) != CCAI_OK)
        return 0;
    Ccai_pacer_params pp;
    Ccai_pacer_params_default(&pp);
    pp.max_queue_ms = 2000;
    Ccai_pacer *p = NULL;
    if (Ccai_pacer_new(&pp, &p) != CCAI_OK) {
        Ccai_media_converter_free(c);
        return 0;
    }
    static uint8_t out[1 << 20];
    uint64_t now = 0, pushed = 0, released = 0, dropped = 0, marks = 0, clears = 0;
    size_t block = Ccai_media_block_bytes(&to);
    while (size) {
        size_t n = data[0];
        data++;
        size--;
        if (n > size)
            n = size;
        size_t room = Ccai_media_converter_max_out(c, n), got = 0;
        if (room > sizeof out)
            abort();
        if (Ccai_media_convert(c, data, n, out, room, &got) != CCAI_OK || got > room ||
            got % block || Ccai_media_converter_pending(c) >= Ccai_media_block_bytes(&from))
            abort();
        ccai_status st = Ccai_pacer_push(p, &to, out, got);
        if (st == CCAI_OK)
            pushed += got;
        else if (st != CCAI_ERR_LIMIT)
            abort();
        if (n && data[0] == 0x4D) {
            st = Ccai_pacer_mark(p, "m");
            if (st == CCAI_OK)
                marks++;
            else if (st != CCAI_ERR_LIMIT && st != CCAI_ERR_NOMEM)
                abort();
        }
        now += n % 50;
        Ccai_pacer_item it;
        while (Ccai_pacer_next(p, now, &it)) {
            if (it.kind != CCAI_PACER_FRAME)
                continue;
            if (!Ccai_media_format_equal(&it.fmt, &to) ||
                it.len != Ccai_media_bytes_per_ms(&to, pp.frame_ms))
                abort();
            released += it.len;
        }
        if (n && data[0] == 0xC1) {
            Ccai_pacer_cleared cl;
            Ccai_pacer_clear(p, now, &cl);
            if (cl.heard_ms > cl.released_ms)
                abort();
            dropped += cl.dropped_ms * Ccai_media_bytes_per_ms(&to, 1);
            clears++;
        }
        data += n;
        size -= n;
    }
    /* Padding adds less than a frame per mark; a clear counts a partial
     * frame whole: nothing appears from nowhere. */
    size_t frame = Ccai_media_bytes_per_ms(&to, pp.frame_ms);
    if (released + dropped > pushed + frame * (marks + clears))
        abort();
    Ccai_pacer_free(p);
    Ccai_media_converter_free(c);
    return 0;
}
