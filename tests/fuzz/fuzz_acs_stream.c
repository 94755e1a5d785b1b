/* libFuzzer: hostile bytes through the ACS media streaming parser
 * (channels/acs/acs_stream.c), and the media streaming events of the
 * callback parser (channels/acs/acs_events.c) with the input as an event's
 * mediaStreamingUpdate. Properties: no crash or leak; audio within its
 * limit and of whole 16-bit samples; a DTMF digit one of the sixteen; what
 * a parsed AudioData becomes when sent back parses again to the same
 * bytes. */
#include "channels/acs/acs_events.h"
#include "channels/acs/acs_stream.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t audio[CCAI_ACS_STREAM_MAX_AUDIO], again[CCAI_ACS_STREAM_MAX_AUDIO];
    Ccai_acs_stream_msg m;
    m.audio = audio;
    const char *why = NULL;
    ccai_status st = Ccai_acs_stream_parse((const char *)data, size, &m, &why);
    if (st == CCAI_OK) {
        if (m.audio_len > CCAI_ACS_STREAM_MAX_AUDIO || m.audio_len % 2)
            abort();
        if (m.kind == CCAI_ACSS_DTMF && !strchr("0123456789*#ABCD", m.digit))
            abort();
        if (m.kind == CCAI_ACSS_AUDIO) {
            Ccai_buf b = {0};
            if (Ccai_acs_stream_audio(&b, m.audio, m.audio_len)) {
                Ccai_acs_stream_msg r;
                r.audio = again;
                if (Ccai_acs_stream_parse(b.data, b.len, &r, &why) == CCAI_OK &&
                    (r.kind != CCAI_ACSS_AUDIO || r.audio_len != m.audio_len ||
                     memcmp(r.audio, m.audio, m.audio_len) != 0))
                    abort();
            }
            Ccai_buf_free(&b);
        }
    } else if (!why && st != CCAI_ERR_NOMEM) {
        abort(); /* every refusal says why */
    }
    /* The same bytes as a MediaStreamingFailed's mediaStreamingUpdate. */
    static const char head[] = "[{\"type\":\"Microsoft.Communication.MediaStreamingFailed\","
                               "\"data\":{\"callConnectionId\":\"c\",\"mediaStreamingUpdate\":";
    static const char tail[] = "}}]";
    char *body = malloc(sizeof head - 1 + size + sizeof tail);
    if (!body)
        return 0;
    memcpy(body, head, sizeof head - 1);
    memcpy(body + sizeof head - 1, data, size);
    memcpy(body + sizeof head - 1 + size, tail, sizeof tail);
    Ccai_acs_events list = {0};
    char *err = NULL;
    if (Ccai_acs_events_parse(body, sizeof head - 1 + size + sizeof tail - 1, &list, &err) ==
        CCAI_OK) {
        if (list.n != 1 || list.events[0].kind != CCAI_ACS_MEDIA_STREAMING_FAILED)
            abort();
        Ccai_acs_events_free(&list);
    }
    ccai_free(err);
    free(body);
    return 0;
}
