/* Audio helpers for the stand-ins: see standin_audio.h. */
#include "support/standin_audio.h"

#include <ctype.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* ---- G.711, the Sun reference algorithm (media.md 6.1) ---- */

uint8_t sa_lin2ulaw(int16_t pcm)
{
    int s = pcm >> 2, mask;
    if (s < 0) {
        s = -s;
        mask = 0x7F;
    } else {
        mask = 0xFF;
    }
    if (s > 8159)
        s = 8159;
    s += 33;
    int seg = 0;
    for (int v = s >> 6; v; v >>= 1)
        seg++;
    if (seg > 7)
        return (uint8_t)(0x7F ^ mask);
    return (uint8_t)(((seg << 4) | ((s >> (seg + 1)) & 0x0F)) ^ mask);
}

int16_t sa_ulaw2lin(uint8_t u)
{
    u = (uint8_t)~u;
    int t = ((u & 0x0F) << 3) + 0x84;
    t <<= (u & 0x70) >> 4;
    return (int16_t)((u & 0x80) ? (0x84 - t) : (t - 0x84));
}

uint8_t sa_lin2alaw(int16_t pcm)
{
    static const int seg_end[8] = {0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF};
    int s = pcm >> 3, mask, seg = 0;
    if (s >= 0) {
        mask = 0xD5;
    } else {
        mask = 0x55;
        s = -s - 1;
    }
    while (seg < 8 && s > seg_end[seg])
        seg++;
    if (seg >= 8)
        return (uint8_t)(0x7F ^ mask);
    int a = seg << 4;
    a |= (seg < 2) ? ((s >> 1) & 0x0F) : ((s >> seg) & 0x0F);
    return (uint8_t)(a ^ mask);
}

int16_t sa_alaw2lin(uint8_t a)
{
    a ^= 0x55;
    int t = (a & 0x0F) << 4, seg = (a & 0x70) >> 4;
    if (seg == 0)
        t += 8;
    else {
        t += 0x108;
        if (seg > 1)
            t <<= seg - 1;
    }
    return (int16_t)((a & 0x80) ? t : -t);
}

/* ---- Base64 ---- */

char *sa_b64(const void *data, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    if (!out)
        return NULL;
    EVP_EncodeBlock((unsigned char *)out, data, (int)n);
    return out;
}

uint8_t *sa_unb64(const char *s, size_t *ret_len)
{
    size_t n = strlen(s);
    if (n % 4)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!(isalnum((unsigned char)c) || c == '+' || c == '/' || (c == '=' && i >= n - 2)))
            return NULL;
    }
    uint8_t *out = malloc(n / 4 * 3 + 1);
    if (!out)
        return NULL;
    int k = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
    if (k < 0) {
        free(out);
        return NULL;
    }
    size_t len = (size_t)k;
    if (n && s[n - 1] == '=')
        len--;
    if (n > 1 && s[n - 2] == '=')
        len--;
    *ret_len = len;
    return out;
}

/* ---- raw audio ---- */

int16_t *sa_decode(sa_enc enc, int channels, const uint8_t *data, size_t len, size_t *n,
                   size_t *used)
{
    size_t bps = enc == SA_PCM16 ? 2 : enc == SA_PCM32F ? 4 : 1;
    if (channels < 1)
        channels = 1;
    size_t frame = bps * (size_t)channels;
    size_t frames = len / frame;
    int16_t *out = malloc((frames ? frames : 1) * sizeof *out);
    if (!out)
        return NULL;
    for (size_t i = 0; i < frames; i++) {
        long acc = 0;
        for (int ch = 0; ch < channels; ch++) {
            const uint8_t *p = data + i * frame + (size_t)ch * bps;
            int v;
            switch (enc) {
            case SA_PCM16: v = (int16_t)(p[0] | (p[1] << 8)); break;
            case SA_ULAW: v = sa_ulaw2lin(p[0]); break;
            case SA_ALAW: v = sa_alaw2lin(p[0]); break;
            default: {
                float f;
                memcpy(&f, p, 4);
                v = (int)lrintf(f * 32767.0f);
                v = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
            }
            }
            acc += v;
        }
        out[i] = (int16_t)(acc / channels);
    }
    *n = frames;
    *used = frames * frame;
    return out;
}

uint8_t *sa_encode(sa_enc enc, const int16_t *pcm, size_t n, size_t *len)
{
    size_t bps = enc == SA_PCM16 ? 2 : enc == SA_PCM32F ? 4 : 1;
    uint8_t *out = malloc(n * bps + 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        switch (enc) {
        case SA_PCM16:
            out[2 * i] = (uint8_t)(pcm[i] & 0xff);
            out[2 * i + 1] = (uint8_t)((uint16_t)pcm[i] >> 8);
            break;
        case SA_ULAW: out[i] = sa_lin2ulaw(pcm[i]); break;
        case SA_ALAW: out[i] = sa_lin2alaw(pcm[i]); break;
        default: {
            float f = (float)pcm[i] / 32768.0f;
            memcpy(out + 4 * i, &f, 4);
        }
        }
    }
    *len = n * bps;
    return out;
}

/* ---- WAV ---- */

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

int sa_wav_parse(const uint8_t *p, size_t len, sa_wav *w)
{
    memset(w, 0, sizeof *w);
    if (len < 12 || memcmp(p, "RIFF", 4) || memcmp(p + 8, "WAVE", 4))
        return -1;
    size_t i = 12;
    int have_fmt = 0;
    while (i + 8 <= len) {
        uint32_t sz = le32(p + i + 4);
        const uint8_t *body = p + i + 8;
        size_t avail = len - (i + 8);
        if (!memcmp(p + i, "fmt ", 4)) {
            if (sz < 16 || avail < 16)
                return -1;
            w->format = le16(body);
            w->channels = le16(body + 2);
            w->rate = (int)le32(body + 4);
            w->bits = le16(body + 14);
            if (w->format == 0xFFFE && sz >= 26 && avail >= 26)
                w->format = le16(body + 24); /* WAVE_FORMAT_EXTENSIBLE: the subformat */
            have_fmt = 1;
        } else if (!memcmp(p + i, "data", 4)) {
            if (!have_fmt || !w->channels || !w->rate)
                return -1;
            w->data = body;
            w->data_len = (sz == 0 || sz == 0xFFFFFFFFu || sz > avail) ? avail : sz;
            return 0;
        }
        if (sz > avail)
            return -1;
        i += 8 + sz + (sz & 1);
    }
    return -1;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

size_t sa_wav_header(uint8_t *out, int format, int channels, int rate, uint32_t data_len)
{
    int g711 = format == 6 || format == 7;
    int bits = g711 ? 8 : 16;
    uint32_t fmt_len = g711 ? 18 : 16;
    size_t hlen = g711 ? 58 : 44;
    memcpy(out, "RIFF", 4);
    put32(out + 4, data_len == 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)(hlen - 8) + data_len);
    memcpy(out + 8, "WAVEfmt ", 8);
    put32(out + 16, fmt_len);
    put16(out + 20, (uint16_t)format);
    put16(out + 22, (uint16_t)channels);
    put32(out + 24, (uint32_t)rate);
    put32(out + 28, (uint32_t)(rate * channels * bits / 8));
    put16(out + 32, (uint16_t)(channels * bits / 8));
    put16(out + 34, (uint16_t)bits);
    size_t i = 36;
    if (g711) {
        put16(out + 36, 0);
        memcpy(out + 38, "fact", 4);
        put32(out + 42, 4);
        put32(out + 46, data_len == 0xFFFFFFFFu ? 0 : data_len / (uint32_t)channels);
        i = 50;
    }
    memcpy(out + i, "data", 4);
    put32(out + i + 4, data_len);
    return hlen;
}

/* ---- levels and the speech detector ---- */

double sa_level_db(const int16_t *pcm, size_t n)
{
    if (!n)
        return -100.0;
    double acc = 0;
    for (size_t i = 0; i < n; i++)
        acc += (double)pcm[i] * pcm[i];
    double rms = sqrt(acc / (double)n) / 32768.0;
    return rms > 1e-5 ? 20.0 * log10(rms) : -100.0;
}

void sa_vad_init(sa_vad *v, int rate, double threshold_db)
{
    memset(v, 0, sizeof *v);
    v->rate = rate > 0 ? rate : 8000;
    v->threshold_db = threshold_db < 0 ? threshold_db : -40.0;
}

void sa_vad_free(sa_vad *v)
{
    free(v->pend);
    v->pend = NULL;
    v->npend = 0;
}

void sa_vad_feed(sa_vad *v, const int16_t *pcm, size_t n,
                 void (*cb)(void *ud, uint64_t start_ms, int speech), void *ud)
{
    size_t frame = (size_t)v->rate / 50;
    if (!v->pend) {
        v->pend = malloc(frame * sizeof *v->pend);
        if (!v->pend)
            return;
    }
    while (n) {
        size_t take = frame - v->npend < n ? frame - v->npend : n;
        memcpy(v->pend + v->npend, pcm, take * sizeof *pcm);
        v->npend += take;
        pcm += take;
        n -= take;
        if (v->npend == frame) {
            int speech = sa_level_db(v->pend, frame) >= v->threshold_db;
            uint64_t start = v->t_ms;
            v->t_ms += 20;
            v->npend = 0;
            cb(ud, start, speech);
        }
    }
}

/* ---- scripts and words ---- */

void sa_script_push(sa_script *s, const char *text)
{
    if (s->head && s->head == s->n) {
        s->head = s->n = 0;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        char **v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return;
        s->v = v;
        s->cap = cap;
    }
    char *d = strdup(text ? text : "");
    if (d)
        s->v[s->n++] = d;
}

char *sa_script_pop(sa_script *s)
{
    return s->head < s->n ? s->v[s->head++] : NULL;
}

size_t sa_script_pending(const sa_script *s)
{
    return s->n - s->head;
}

void sa_script_free(sa_script *s)
{
    for (size_t i = s->head; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

char **sa_words(const char *text, size_t *n)
{
    size_t cap = 8, k = 0;
    char **w = malloc(cap * sizeof *w);
    if (!w) {
        *n = 0;
        return NULL;
    }
    const char *p = text ? text : "";
    while (*p) {
        while (*p && isspace((unsigned char)*p))
            p++;
        const char *b = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
        if (p > b) {
            if (k == cap) {
                cap *= 2;
                char **nw = realloc(w, cap * sizeof *w);
                if (!nw)
                    break;
                w = nw;
            }
            char *d = malloc((size_t)(p - b) + 1);
            if (!d)
                break;
            memcpy(d, b, (size_t)(p - b));
            d[p - b] = '\0';
            w[k++] = d;
        }
    }
    *n = k;
    return w;
}

void sa_words_free(char **w, size_t n)
{
    for (size_t i = 0; w && i < n; i++)
        free(w[i]);
    free(w);
}

void sa_plain_word(const char *w, char *out, size_t n)
{
    size_t k = 0;
    for (const char *p = w; *p && k + 1 < n; p++) {
        unsigned char c = (unsigned char)*p;
        if (isalnum(c) || c == '\'' || c >= 0x80)
            out[k++] = (char)tolower(c);
    }
    if (n)
        out[k] = '\0';
}

/* ---- synthesis ---- */

typedef struct sbuf {
    int16_t *p;
    size_t n, cap;
} sbuf;

static int sb_grow(sbuf *b, size_t more)
{
    if (b->n + more <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 8000;
    while (cap < b->n + more)
        cap *= 2;
    int16_t *p = realloc(b->p, cap * sizeof *p);
    if (!p)
        return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

static void sb_silence(sbuf *b, size_t k)
{
    if (sb_grow(b, k))
        return;
    memset(b->p + b->n, 0, k * sizeof *b->p);
    b->n += k;
}

static void sb_word(sbuf *b, size_t k, int rate, double f0, double phase0)
{
    if (sb_grow(b, k))
        return;
    double dur = (double)k / rate;
    for (size_t i = 0; i < k; i++) {
        double t = (double)i / rate;
        double f = f0 * (1.0 + 0.08 * sin(2 * M_PI * 1.3 * t + phase0)); /* intonation */
        /* Syllables at about 4.5 Hz, smooth edges. */
        double env = 0.55 + 0.45 * sin(2 * M_PI * 4.5 * t + phase0);
        double edge = 1.0;
        if (t < 0.015)
            edge = t / 0.015;
        else if (dur - t < 0.02)
            edge = (dur - t) / 0.02;
        double x = 0;
        for (int h = 1; h <= 8; h++) {
            double fh = f * h;
            if (fh > rate * 0.45)
                break;
            /* A vowel-like spectrum: formants near 700 and 1200 Hz. */
            double g = 1.0 / h + 0.6 * exp(-pow((fh - 700) / 250, 2)) +
                       0.4 * exp(-pow((fh - 1200) / 300, 2));
            x += g * sin(2 * M_PI * fh * t + h * phase0);
        }
        double v = 0.1 * env * edge * x * 32767.0 / 2.2;
        b->p[b->n + i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
    }
    b->n += k;
}

int16_t *sa_synth(const char *text, int rate, double speed, size_t *n, int **char_start_ms,
                  int **char_dur_ms)
{
    if (rate <= 0)
        rate = 24000;
    if (speed <= 0)
        speed = 1.0;
    size_t tl = text ? strlen(text) : 0;
    int *cs = NULL, *cd = NULL;
    if (char_start_ms) {
        cs = calloc(tl ? tl : 1, sizeof *cs);
        cd = calloc(tl ? tl : 1, sizeof *cd);
        if (!cs || !cd) {
            free(cs);
            free(cd);
            return NULL;
        }
    }
    sbuf b = {0};
#define MS(x) ((size_t)((double)(x) / speed * rate / 1000.0))
    sb_silence(&b, MS(60));
    size_t i = 0;
    unsigned wordno = 0;
    while (i < tl) {
        size_t ws = i;
        while (i < tl && isspace((unsigned char)text[i]))
            i++;
        size_t wb = i;
        while (i < tl && !isspace((unsigned char)text[i]))
            i++;
        size_t we = i;
        if (cs) {
            for (size_t k = ws; k < wb; k++) { /* white space: at the word's start */
                cs[k] = (int)(b.n * 1000 / (size_t)rate);
                cd[k] = 0;
            }
        }
        if (we == wb)
            break;
        size_t letters = 0;
        for (size_t k = wb; k < we; k++)
            letters += isalnum((unsigned char)text[k]) || (unsigned char)text[k] >= 0x80;
        size_t wk = MS(90 + 55 * (letters ? letters : 1));
        size_t start = b.n;
        double f0 = 110.0 + (double)((wordno * 37u) % 80u);
        sb_word(&b, wk, rate, f0, 0.7 * wordno);
        if (cs) {
            size_t nc = we - wb;
            for (size_t k = 0; k < nc; k++) {
                cs[wb + k] = (int)((start + wk * k / nc) * 1000 / (size_t)rate);
                cd[wb + k] = (int)((wk / nc) * 1000 / (size_t)rate);
            }
        }
        char last = text[we - 1];
        size_t gap = strchr(".!?", last) ? 450 : strchr(",;:", last) ? 250 : 70;
        if (we < tl || gap > 70)
            sb_silence(&b, MS(gap));
        wordno++;
    }
    sb_silence(&b, MS(120));
#undef MS
    if (!b.p) {
        free(cs);
        free(cd);
        return NULL;
    }
    *n = b.n;
    if (char_start_ms) {
        *char_start_ms = cs;
        *char_dur_ms = cd;
    }
    return b.p;
}
