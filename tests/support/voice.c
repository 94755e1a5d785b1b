/* Speech made at test time (see voice.h). */
#include "support/voice.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct render_ctx {
    uint8_t *data;
    size_t len, cap;
    bool done, ok;
} render_ctx;

static bool on_audio(void *ud, const uint8_t *d, size_t n)
{
    render_ctx *c = ud;
    if (c->len + n > c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 65536;
        while (cap < c->len + n)
            cap *= 2;
        uint8_t *p = realloc(c->data, cap);
        if (!p)
            return false;
        c->data = p;
        c->cap = cap;
    }
    if (n) /* d may be NULL for no bytes */
        memcpy(c->data + c->len, d, n);
    c->len += n;
    return true;
}

static void on_done(void *ud, uint32_t id, ccai_status st)
{
    (void)id;
    render_ctx *c = ud;
    c->done = true;
    c->ok = st == CCAI_OK;
    if (st != CCAI_OK)
        fprintf(stderr, "# voice: synthesis failed: %s\n", ccai_status_str(st));
}

bool voice_available(Ccai_synth_engine e)
{
    if (!Ccai_synth_engine_available(e))
        return false;
    if (e == CCAI_SYNTH_FLITE)
        return true;
    const char *path = getenv("PATH");
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path ? path : "/usr/bin:/bin");
    for (char *dir = strtok(buf, ":"); dir; dir = strtok(NULL, ":")) {
        char exe[4200];
        snprintf(exe, sizeof exe, "%s/espeak-ng", dir);
        if (access(exe, X_OK) == 0)
            return true;
    }
    return false;
}

static bool pad(render_ctx *c, const Ccai_media_format *fmt, uint32_t ms)
{
    size_t n = Ccai_media_bytes_per_ms(fmt, ms);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return false;
    Ccai_media_fill_silence(fmt->encoding, buf, n);
    bool ok = on_audio(c, buf, n);
    free(buf);
    return ok;
}

bool voice_render(Ccai_synth_engine e, const char *voice, double rate, const char *text,
                  const Ccai_media_format *fmt, uint32_t lead_ms, uint32_t tail_ms,
                  voice_audio *ret)
{
    memset(ret, 0, sizeof *ret);
    Ccai_synth_params p;
    Ccai_synth_params_default(&p);
    p.engine = e;
    p.voice = voice;
    p.rate = rate;
    p.out = *fmt;
    render_ctx c = {0};
    Ccai_synth_sink sink = {on_audio, on_done};
    Ccai_synth *t = NULL;
    Ccai_err err = {0};
    if (Ccai_synth_new(&p, &sink, &c, &t, &err) != CCAI_OK) {
        fprintf(stderr, "# voice: %s\n", Ccai_err_get(&err));
        Ccai_err_free(&err);
        return false;
    }
    bool ok = pad(&c, fmt, lead_ms) && Ccai_synth_say(t, text, strlen(text), NULL) == CCAI_OK;
    size_t before = c.len;
    while (ok && !c.done) {
        Ccai_synth_fd fds[4];
        size_t n = Ccai_synth_fds(t, fds, 4);
        if (n) {
            struct pollfd pf[4];
            for (size_t i = 0; i < n; i++) {
                pf[i].fd = fds[i].fd;
                pf[i].events = (short)((fds[i].read ? POLLIN : 0) | (fds[i].write ? POLLOUT : 0));
            }
            poll(pf, n, 5000);
        }
        if (Ccai_synth_step(t) != CCAI_OK)
            ok = false;
    }
    ok = ok && c.ok;
    size_t speech = c.len - before;
    ok = ok && pad(&c, fmt, tail_ms);
    Ccai_synth_free(t);
    Ccai_err_free(&err);
    if (!ok) {
        free(c.data);
        return false;
    }
    ret->data = c.data;
    ret->len = c.len;
    ret->fmt = *fmt;
    ret->speech_ms = (uint32_t)(Ccai_media_bytes_to_us(fmt, speech) / 1000);
    return true;
}

void voice_audio_free(voice_audio *a)
{
    free(a->data);
    memset(a, 0, sizeof *a);
}

#define WORDS_MAX 128

static size_t split(const char *s, char *buf, size_t cap, char **w)
{
    snprintf(buf, cap, "%s", s ? s : "");
    size_t n = 0;
    for (char *save = NULL, *t = strtok_r(buf, " ", &save); t && n < WORDS_MAX;
         t = strtok_r(NULL, " ", &save))
        w[n++] = t;
    return n;
}

void voice_word_errors(const char *ref, const char *hyp, size_t *ret_errors, size_t *ret_words)
{
    char rb[4096], hb[4096];
    char *r[WORDS_MAX], *h[WORDS_MAX];
    size_t nr = split(ref, rb, sizeof rb, r), nh = split(hyp, hb, sizeof hb, h);
    static size_t d[WORDS_MAX + 1][WORDS_MAX + 1];
    for (size_t i = 0; i <= nr; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= nh; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= nr; i++)
        for (size_t j = 1; j <= nh; j++) {
            size_t c = d[i - 1][j - 1] + (strcmp(r[i - 1], h[j - 1]) != 0);
            if (d[i - 1][j] + 1 < c)
                c = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < c)
                c = d[i][j - 1] + 1;
            d[i][j] = c;
        }
    *ret_errors = d[nr][nh];
    *ret_words = nr;
}

size_t voice_keywords(const char *keys, const char *text, size_t *ret_total)
{
    char kb[1024], tb[4096];
    char *k[WORDS_MAX], *t[WORDS_MAX];
    size_t nk = split(keys, kb, sizeof kb, k), nt = split(text, tb, sizeof tb, t), hits = 0;
    for (size_t i = 0; i < nk; i++)
        for (size_t j = 0; j < nt; j++)
            if (strcmp(k[i], t[j]) == 0) {
                hits++;
                break;
            }
    *ret_total = nk;
    return hits;
}
