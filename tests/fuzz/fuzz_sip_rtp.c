/* libFuzzer: datagrams on a SIP call's RTP port (channels/sip/sip_rtp.c).
 * Properties checked: a packet taken has its payload inside the datagram
 * after the fixed header; a telephone-event taken is 4 bytes; a key is
 * reported once per RTP timestamp whatever repeats; rewriting the header
 * we parsed gives back the same fields. */
#include "channels/sip/sip_rtp.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static Ccai_dtmf_rx rx;
    Ccai_rtp r;
    const char *why = NULL;
    if (!Ccai_rtp_parse(data, size, &r, &why)) {
        if (!why)
            abort();
        return 0;
    }
    if (r.payload < data + CCAI_RTP_HEADER || r.payload + r.len > data + size)
        abort();
    uint8_t h[CCAI_RTP_HEADER];
    Ccai_rtp_write_header(h, r.marker, r.pt, r.seq, r.ts, r.ssrc);
    Ccai_rtp back;
    uint8_t again[CCAI_RTP_HEADER];
    memcpy(again, h, sizeof again);
    if (!Ccai_rtp_parse(again, sizeof again, &back, &why) || back.pt != r.pt || back.seq != r.seq ||
        back.ts != r.ts || back.ssrc != r.ssrc || back.marker != r.marker)
        abort();
    Ccai_telev ev;
    if (Ccai_telev_parse(r.payload, r.len, &ev, &why)) {
        if (r.len != 4)
            abort();
        char first = Ccai_dtmf_rx_feed(&rx, &r, &ev);
        if (Ccai_dtmf_rx_feed(&rx, &r, &ev) != '\0')
            abort(); /* the same timestamp twice: one key */
        if (first && Ccai_telev_event(first) != ev.event)
            abort();
    }
    return 0;
}
