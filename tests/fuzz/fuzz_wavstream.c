/* libFuzzer: the WAV stream espeak-ng's standard output is read as
 * (speech/espeak.c), in pieces of the sizes the input's first byte
 * chooses. Properties checked: it answers OK or a documented error and
 * then nothing more, the samples come at the header's rate, their count
 * never exceeds what the bytes after the header can hold, and the same
 * bytes give the same samples however they are cut. */
#include "speech/espeak.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct tally {
    uint64_t n;
    uint32_t rate;
    uint64_t sum;
} tally;

static bool on_pcm(void *ud, const int16_t *pcm, size_t n, uint32_t rate)
{
    tally *t = ud;
    if (!n || (t->rate && rate != t->rate) || rate < 8000 || rate > 48000)
        abort();
    t->rate = rate;
    for (size_t i = 0; i < n; i++)
        t->sum = t->sum * 31 + (uint16_t)pcm[i];
    t->n += n;
    return true;
}

static ccai_status run(const uint8_t *data, size_t size, size_t piece, tally *t)
{
    Ccai_wavstream w;
    Ccai_wavstream_init(&w);
    ccai_status st = CCAI_OK;
    for (size_t off = 0; off < size && st == CCAI_OK; off += piece)
        st =
            Ccai_wavstream_feed(&w, data + off, size - off < piece ? size - off : piece, on_pcm, t);
    if (st == CCAI_OK) {
        ccai_status end = Ccai_wavstream_end(&w);
        if (end != CCAI_OK && (end != CCAI_ERR_PARSE || t->n))
            abort();
    }
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t piece = 1 + data[0] % 97;
    data++;
    size--;
    tally a = {0}, b = {0};
    ccai_status sa = run(data, size, piece, &a);
    ccai_status sb = run(data, size, size ? size : 1, &b);
    if (sa != CCAI_OK && sa != CCAI_ERR_PARSE && sa != CCAI_ERR_UNSUPPORTED && sa != CCAI_ERR_LIMIT)
        abort();
    /* Errors are about the header, found whatever the cut. */
    if (sa != sb || a.n != b.n || a.sum != b.sum || a.rate != b.rate)
        abort();
    if (a.n > size)
        abort();
    return 0;
}
