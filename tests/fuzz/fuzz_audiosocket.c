/* libFuzzer: AudioSocket bytes from the network (channels/audiosocket/
 * as_frame.c), cut anywhere. Properties checked: the parser never reads
 * past what it was given, a message it returns lies inside the buffer and
 * is as long as its header says, MORE only when a message is not whole,
 * and feeding the same bytes in two pieces finds the same messages. */
#include "channels/audiosocket/as_frame.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The messages of buf as kinds and lengths, until MORE or BROKEN. */
static size_t walk(const uint8_t *buf, size_t len, uint32_t *out, size_t cap, bool *broken)
{
    size_t off = 0, n = 0;
    *broken = false;
    for (;;) {
        Ccai_as_msg m;
        size_t used = 0;
        Ccai_as_result r = Ccai_as_parse(buf + off, len - off, &m, &used);
        if (r == CCAI_AS_MORE) {
            if (len - off >= 3 && len - off >= 3 + (((size_t)buf[off + 1] << 8) | buf[off + 2]))
                abort(); /* a whole message was there */
            return n;
        }
        if (r == CCAI_AS_BROKEN) {
            if (!m.why)
                abort();
            *broken = true;
            return n;
        }
        if (used < 3 || used > len - off || used != 3 + m.len)
            abort();
        if (m.payload != buf + off + 3)
            abort();
        if (r == CCAI_AS_BAD && !m.why)
            abort();
        if (r == CCAI_AS_MESSAGE && m.kind >= 0x10 && m.kind <= 0x18 && (m.len == 0 || m.len % 2))
            abort();
        if (n < cap)
            out[n] = ((uint32_t)m.kind << 16) | (uint32_t)m.len;
        n++;
        off += used;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    uint32_t a[4096], b[4096];
    bool broken_a = false, broken_b = false;
    size_t na = walk(data, size, a, 4096, &broken_a);
    /* A copy of exactly size bytes: ASan sees a read past the end. */
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    size_t nb = walk(copy, size, b, 4096, &broken_b);
    free(copy);
    if (na != nb || broken_a != broken_b || memcmp(a, b, (na < 4096 ? na : 4096) * sizeof *a))
        abort();
    return 0;
}
