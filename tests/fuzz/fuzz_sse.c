/* libFuzzer: the SSE parser and the tool-call assembler behind it. The
 * first byte picks the chunk size, so any chunking of the stream is tried. */
#include "core/json.h"
#include "llm/sse.h"
#include "llm/toolcalls.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_event(const char *event, const char *d, size_t len, void *ud)
{
    Ccai_tool_calls *tc = ud;
    (void)event;
    Ccai_json_err err;
    ccai_status st;
    json_t *v = Ccai_json_load(d, len, &err, &st);
    if (v) {
        Ccai_tool_calls_apply(tc, json_object_get(v, "tool_calls"));
        json_decref(v);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t step = (size_t)data[0] % 17 + 1;
    const char *s = (const char *)data + 1;
    size -= 1;
    Ccai_sse p;
    Ccai_tool_calls tc;
    Ccai_sse_init(&p, 4096);
    Ccai_tool_calls_init(&tc);
    ccai_status st = CCAI_OK;
    for (size_t i = 0; i < size && st == CCAI_OK; i += step) {
        size_t n = size - i < step ? size - i : step;
        st = Ccai_sse_feed(&p, s + i, n, on_event, &tc);
    }
    if (st == CCAI_OK)
        Ccai_sse_finish(&p, on_event, &tc);
    Ccai_tool_calls_finish(&tc);
    Ccai_tool_calls_free(&tc);
    Ccai_sse_free(&p);
    return 0;
}
