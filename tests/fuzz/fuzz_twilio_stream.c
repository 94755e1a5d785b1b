/* libFuzzer: hostile bytes through the Twilio Media Streams side of the
 * server: the message parser (channels/twilio/twilio_stream.c), the
 * WebSocket upgrade check (http/wss.c Ccai_wss_handshake) on headers cut
 * from the input, and the server framing (Ccai_ws_core_new_server) fed the
 * input as client bytes. Properties: no crash or leak; a media payload
 * within its limit; an accepted handshake has a 28-character accept; what
 * the server writes is unmasked frames. */
#include "channels/twilio/twilio_stream.h"
#include "http/wss.h"
#include "io/ws.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_message(void *ud, int kind, const uint8_t *msg, size_t len)
{
    size_t max = *(size_t *)ud;
    if ((kind != CCAI_WS_TEXT && kind != CCAI_WS_BINARY) || len > max || msg[len] != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The message parser. */
    static Ccai_twilio_stream_msg m;
    const char *why = NULL;
    if (Ccai_twilio_stream_parse((const char *)data, size, &m, &why) == CCAI_OK) {
        if (m.audio_len > CCAI_TWILIO_STREAM_MAX_AUDIO)
            abort();
    } else if (!why) {
        return 0; /* out of memory */
    }
    /* The handshake: lines "name: value" of the input. */
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    Ccai_http_hdr h[16];
    size_t n = 0;
    for (char *line = text; line && *line && n < 16;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        char *colon = strchr(line, ':');
        if (colon) {
            *colon = '\0';
            h[n].name = line;
            h[n].value = colon + 1 + (colon[1] == ' ');
            n++;
        }
        line = nl ? nl + 1 : NULL;
    }
    Ccai_wss_handshake_result r;
    Ccai_wss_handshake(size && data[0] & 1 ? "GET" : "POST", h, n, "audio.twilio.com, x", &r);
    if (r.status == 0 && strlen(r.accept) != 28)
        abort();
    free(text);
    /* The server framing. */
    size_t max = 4096;
    Ccai_ws_core *c = Ccai_ws_core_new_server(max, on_message, &max);
    if (!c)
        return 0;
    if (Ccai_ws_core_feed(c, data, size) == CCAI_OK &&
        Ccai_ws_core_send(c, CCAI_WS_TEXT, "{}", 2) == CCAI_OK) {
        const uint8_t *p;
        size_t len;
        Ccai_ws_core_out(c, &p, &len);
        if (len >= 2 && (p[1] & 0x80))
            abort(); /* a server never masks */
    }
    Ccai_ws_core_free(c);
    return 0;
}
