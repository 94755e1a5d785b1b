/* libFuzzer: arbitrary server bytes through the WebSocket client's framing
 * (io/ws.c Ccai_ws_core on wslay), split at a point the input chooses.
 * Properties checked: no crash or leak; every message delivered is text or
 * binary, NUL-terminated, within the size limit; text and binary messages
 * stop once the connection is failed or closed; what the client writes
 * back is masked client frames (the first byte a valid opcode, the mask
 * bit set). */
#include "io/ws.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct seen {
    size_t max;
    bool done;
} seen;

static void on_message(void *ud, int kind, const uint8_t *msg, size_t len)
{
    seen *s = ud;
    if ((kind != CCAI_WS_TEXT && kind != CCAI_WS_BINARY) || len > s->max || msg[len] != 0 ||
        s->done)
        abort();
}

static void check_out(Ccai_ws_core *c)
{
    const uint8_t *p;
    size_t n;
    Ccai_ws_core_out(c, &p, &n);
    if (n >= 2) {
        int op = p[0] & 0x0f;
        if (!(p[1] & 0x80) ||
            (op != 0x0 && op != 0x1 && op != 0x2 && op != 0x8 && op != 0x9 && op != 0xa))
            abort();
    }
    Ccai_ws_core_consume(c, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    seen s = {.max = 4096};
    Ccai_ws_core *c = Ccai_ws_core_new(s.max, on_message, &s);
    if (!c)
        return 0;
    size_t cut = data[0] % (size);
    const uint8_t *body = data + 1;
    size_t len = size - 1;
    if (cut > len)
        cut = len;
    if (Ccai_ws_core_feed(c, body, cut) == CCAI_OK) {
        s.done = Ccai_ws_core_read_done(c);
        check_out(c);
        if (Ccai_ws_core_send(c, CCAI_WS_TEXT, "ping me", 7) == CCAI_OK)
            check_out(c);
        if (Ccai_ws_core_feed(c, body + cut, len - cut) == CCAI_OK)
            check_out(c);
    }
    Ccai_ws_core_free(c);
    return 0;
}
