/* libFuzzer: the WAV header parser (media/wav.c).
 * Properties checked: the parser answers every prefix of the input, the
 * bytes it asks for grow and stay within the limit, a parsed header agrees
 * with itself (format, data offset within what was given), the same bytes
 * parse the same whatever prefix came first, and a header the writer
 * builds for the parsed format parses back to it. */
#include "media/wav.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const size_t limit = 4096;
    Ccai_wav_info info;
    size_t need = 0, have = size < 12 ? size : 12;
    ccai_status st;
    /* Feed the prefixes the parser asks for, as a reader would. */
    for (;;) {
        st = Ccai_wav_parse_header(data, have, limit, &info, &need);
        if (st != CCAI_OK || need == 0)
            break;
        if (need <= have || need > limit)
            abort();
        if (need > size)
            return 0; /* the input ends inside the header */
        have = need;
    }
    /* The whole input at once gives the same answer. */
    Ccai_wav_info again;
    size_t need2 = 0;
    ccai_status st2 = Ccai_wav_parse_header(data, size, limit, &again, &need2);
    if (st2 != st || (st == CCAI_OK && need2 != 0))
        abort();
    if (st != CCAI_OK) {
        if (st != CCAI_ERR_PARSE && st != CCAI_ERR_UNSUPPORTED && st != CCAI_ERR_LIMIT)
            abort();
        return 0;
    }
    if (memcmp(&info, &again, sizeof info) != 0)
        abort();
    if (info.data_offset > have || info.data_offset < 20 || info.channels < 1 ||
        info.channels > 8 || info.rate < 1 || info.rate > 768000 ||
        !Ccai_media_sample_bytes(info.encoding))
        abort();
    Ccai_media_format f = {info.encoding, info.rate, info.channels};
    if (Ccai_media_format_valid(&f)) {
        uint8_t h[CCAI_WAV_HEADER_MAX];
        size_t hl = 0;
        uint64_t len = info.data_len == CCAI_WAV_LEN_UNKNOWN ? 0 : info.data_len;
        if (Ccai_wav_header_build(&f, len, h, &hl) != CCAI_OK)
            abort();
        Ccai_wav_info back;
        if (Ccai_wav_parse_header(h, hl, limit, &back, &need) != CCAI_OK || need != 0 ||
            back.encoding != f.encoding || back.rate != f.rate || back.channels != f.channels ||
            back.data_offset != hl)
            abort();
    }
    return 0;
}
