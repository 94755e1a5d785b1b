/* What libccai sends on an ACS media stream, for the SDK test
 * (tests/standins/acs.test.mjs): one line each, built by the library's own
 * builders (channels/acs/acs_stream.c): an AudioData of 20 ms of 16 kHz
 * PCM (a ramp), then a StopAudio. Then the parser's verdict on each line of
 * standard input (messages the SDK test made as ACS would send them):
 * "kind sample_rate audio_len digit" or "error <why>". */
#include "channels/acs/acs_stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    uint8_t pcm[640];
    for (size_t i = 0; i < sizeof pcm; i++)
        pcm[i] = (uint8_t)i;
    Ccai_buf b = {0};
    if (!Ccai_acs_stream_audio(&b, pcm, sizeof pcm))
        return 1;
    printf("%s\n", b.data);
    if (!Ccai_acs_stream_stop(&b))
        return 1;
    printf("%s\n", b.data);
    fflush(stdout);
    Ccai_buf_free(&b);
    static uint8_t audio[CCAI_ACS_STREAM_MAX_AUDIO];
    static char line[256 * 1024];
    while (fgets(line, sizeof line, stdin)) {
        size_t n = strcspn(line, "\n");
        Ccai_acs_stream_msg m;
        m.audio = audio;
        const char *why = NULL;
        if (Ccai_acs_stream_parse(line, n, &m, &why) != CCAI_OK)
            printf("error %s\n", why ? why : "?");
        else
            printf("%d %ld %zu %c\n", (int)m.kind, m.sample_rate, m.audio_len,
                   m.digit ? m.digit : '-');
        fflush(stdout);
    }
    return 0;
}
