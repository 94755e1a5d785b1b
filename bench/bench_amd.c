/* Answering-machine detection (media/amd.c) on a small set of generated
 * calls: the greetings and the people of tests/support/amd_corpus.h spoken
 * by espeak-ng, each at 8 kHz through mu-law (a phone line) and at 16 kHz,
 * clean and with line noise (-50 dBFS). Prints how many machines were
 * taken for machines and people for people, whether a greeting's end was
 * the right one (its beep, or its silence), the time to the verdict, and
 * the CPU per second of audio. Needs espeak-ng in PATH. */
#include "media/amd.h"
#include "media/codec.h"
#include "support/amd_corpus.h"
#include "support/voice.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct pcm {
    int16_t *s;
    size_t n, cap;
    uint32_t rate;
} pcm;

static void put(pcm *p, double v)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 32000;
        p->s = realloc(p->s, p->cap * sizeof *p->s);
        if (!p->s)
            exit(1);
    }
    p->s[p->n++] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
}

static void tone(pcm *p, double hz, uint32_t ms, double amp)
{
    for (size_t i = 0; i < (size_t)p->rate * ms / 1000; i++)
        put(p, amp * 32767 * (hz > 0 ? sin(2 * M_PI * hz * (double)i / p->rate) : 0));
}

static bool build(const amd_sample *s, uint32_t rate, double noise_dbfs, pcm *p)
{
    memset(p, 0, sizeof *p);
    p->rate = rate;
    tone(p, 0, 400, 0);
    Ccai_media_format fmt = {CCAI_MEDIA_PCM16, rate, 1};
    voice_audio a;
    if (!voice_render(CCAI_SYNTH_ESPEAK, s->voice, s->rate, s->text, &fmt, 0, 0, &a))
        return false;
    for (size_t i = 0; i + 1 < a.len; i += 2)
        put(p, (int16_t)(a.data[i] | (a.data[i + 1] << 8)));
    voice_audio_free(&a);
    tone(p, 0, 600, 0);
    if (s->beep_hz > 0)
        tone(p, s->beep_hz, 500, 0.25);
    tone(p, 0, 4000, 0);
    double amp = pow(10, noise_dbfs / 20) * 32767 * sqrt(3.0);
    for (size_t i = 0; noise_dbfs < 0 && i < p->n; i++)
        p->s[i] = (int16_t)(p->s[i] + amp * ((double)rand() / RAND_MAX * 2 - 1));
    if (rate == 8000)
        for (size_t i = 0; i < p->n; i++)
            p->s[i] = Ccai_ulaw_decode(Ccai_ulaw_encode(p->s[i]));
    return true;
}

int main(void)
{
    if (!voice_available(CCAI_SYNTH_ESPEAK)) {
        fprintf(stderr, "bench-amd: espeak-ng is not in PATH\n");
        return 77;
    }
    srand(1);
    static const uint32_t rates[] = {8000, 16000};
    static const double noises[] = {0, -50};
    size_t machines = 0, machines_ok = 0, ends_ok = 0, humans = 0, humans_ok = 0;
    double machine_ms = 0, human_ms = 0, audio_s = 0, cpu = 0;
    for (size_t r = 0; r < 2; r++) {
        for (size_t z = 0; z < 2; z++) {
            for (size_t k = 0; k < sizeof amd_corpus / sizeof amd_corpus[0]; k++) {
                const amd_sample *s = &amd_corpus[k];
                pcm p;
                if (!build(s, rates[r], noises[z], &p))
                    return 1;
                Ccai_amd_params prm;
                Ccai_amd_params_default(&prm);
                Ccai_amd *a = NULL;
                if (Ccai_amd_new(&prm, p.rate, &a) != CCAI_OK)
                    return 1;
                Ccai_amd_verdict v[2] = {CCAI_AMD_NONE, CCAI_AMD_NONE};
                uint64_t at = 0;
                size_t nv = 0, step = p.rate / 50;
                double t0 = cpu_s();
                for (size_t i = 0; i < p.n; i += step) {
                    size_t n = p.n - i < step ? p.n - i : step;
                    for (Ccai_amd_verdict x = Ccai_amd_feed(a, p.s + i, n);
                         x != CCAI_AMD_NONE && nv < 2; x = Ccai_amd_feed(a, NULL, 0)) {
                        if (nv == 0)
                            at = Ccai_amd_position_ms(a);
                        v[nv++] = x;
                    }
                }
                cpu += cpu_s() - t0;
                audio_s += (double)p.n / p.rate;
                Ccai_amd_free(a);
                free(p.s);
                if (s->machine) {
                    machines++;
                    bool ok = v[0] == CCAI_AMD_MACHINE;
                    machines_ok += ok;
                    machine_ms += (double)at;
                    ends_ok +=
                        ok && v[1] == (s->beep_hz > 0 ? CCAI_AMD_END_BEEP : CCAI_AMD_END_SILENCE);
                } else {
                    humans++;
                    humans_ok += v[0] == CCAI_AMD_HUMAN;
                    human_ms += (double)at;
                }
                if ((s->machine && v[0] != CCAI_AMD_MACHINE) ||
                    (!s->machine && v[0] != CCAI_AMD_HUMAN))
                    printf("  miss: %u Hz, noise %.0f dB, %s \"%.40s\": %s\n", rates[r], noises[z],
                           s->voice, s->text, Ccai_amd_verdict_str(v[0]));
            }
        }
    }
    printf("bench-amd: %zu calls (%zu machines, %zu people), %.0f s of audio\n", machines + humans,
           machines, humans, audio_s);
    printf("  machines taken for machines: %zu/%zu (%.1f%%), greeting's end right: %zu/%zu\n",
           machines_ok, machines, 100.0 * (double)machines_ok / (double)machines, ends_ok,
           machines);
    printf("  people taken for people:     %zu/%zu (%.1f%%)\n", humans_ok, humans,
           100.0 * (double)humans_ok / (double)humans);
    printf("  time to the verdict: machine %.0f ms, person %.0f ms (mean, from the answer)\n",
           machine_ms / (double)machines, human_ms / (double)humans);
    printf("  CPU: %.1f us per second of audio\n", 1e6 * cpu / audio_s);
    return 0;
}
