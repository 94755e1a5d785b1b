/* Audio calls end to end, offline (libccai/voice/): the caller's lines
 * spoken by espeak-ng, fed as 20 ms G.711 frames on an injected clock,
 * recognised by pocketsphinx, answered by the offline dialogue, spoken by
 * flite; the host plays the bot's audio in real time as Twilio does (marks
 * come back once the audio before them has played, a clear drops what is
 * queued), and what the caller heard is recognised back by pocketsphinx.
 * Skipped where pocketsphinx's model, flite or espeak-ng are missing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "core/json.h"
#include "engine/engine.h"
#include "io/io.h"
#include "media/vad.h"
#include "media/wav.h"
#include "speech/sphinx.h"
#include "support/voice.h"
#include "voice/voice.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const Ccai_media_format ulaw8 = {CCAI_MEDIA_ULAW, 8000, 1};

#define FRAME 160 /* 20 ms of 8 kHz mu-law */

typedef struct mark {
    char name[32];
    size_t at; /* playout byte offset after which it is reached */
} mark;

typedef struct host {
    uint64_t now;
    int64_t due; /* absolute ms, -1: none */
    ccai_call *call;
    /* What the host was given and has not played yet, and what played. */
    uint8_t *queue;
    size_t q_len, q_cap, q_played; /* q_played: bytes of queue played */
    uint8_t *heard;
    size_t heard_len, heard_cap;
    size_t total_given;
    mark marks[256];
    size_t n_marks;
    int clears, hangups, frames;
    uint64_t first_clear_at;
    bool bad_format;
    Ccai_media_format out;
    double echo_db;         /* feed what plays back into the caller's line (0: none) */
    uint32_t echo_delay_ms; /* ... this late (a multiple of 20 ms, < 2 s) */
    uint8_t line[16000];    /* what played, 2 s, silence included: the echo's source */
    size_t line_pos;
} host;

static int h_watch(void *ud, int fd, int events, void **slot)
{
    (void)ud;
    (void)fd;
    (void)events;
    (void)slot;
    return 0;
}

static int h_timer(void *ud, int64_t ms)
{
    host *h = ud;
    h->due = ms < 0 ? -1 : (int64_t)h->now + ms;
    return 0;
}

static uint64_t h_now(void *ud)
{
    return ((host *)ud)->now;
}

static void grow(uint8_t **b, size_t *cap, size_t need)
{
    if (need <= *cap)
        return;
    size_t c = *cap ? *cap : 4096;
    while (c < need)
        c *= 2;
    *b = realloc(*b, c);
    assert_non_null(*b);
    *cap = c;
}

static int op_play(ccai_call *c, const ccai_audio_frame *f, void *ud)
{
    (void)c;
    host *h = ud;
    if (f->format.encoding != (ccai_audio_encoding)h->out.encoding ||
        f->format.sample_rate != h->out.rate || f->len == 0)
        h->bad_format = true;
    grow(&h->queue, &h->q_cap, h->q_len + f->len);
    memcpy(h->queue + h->q_len, f->data, f->len);
    h->q_len += f->len;
    h->total_given += f->len;
    h->frames++;
    return 0;
}

static int op_clear(ccai_call *c, void *ud)
{
    (void)c;
    host *h = ud;
    if (!h->clears)
        h->first_clear_at = h->now;
    h->clears++;
    h->q_len = h->q_played = 0;
    h->n_marks = 0; /* dropped: never reported */
    return 0;
}

static int op_mark(ccai_call *c, const char *name, void *ud)
{
    (void)c;
    host *h = ud;
    assert_true(h->n_marks < 256);
    snprintf(h->marks[h->n_marks].name, sizeof h->marks[0].name, "%s", name);
    h->marks[h->n_marks].at = h->q_len;
    h->n_marks++;
    return 0;
}

static int op_hangup(ccai_call *c, void *ud)
{
    (void)c;
    ((host *)ud)->hangups++;
    return 0;
}

/* The host asks for the language menu (libccai says it: never called). */
static int op_menu(ccai_call *c, const ccai_menu *m, void *ud)
{
    (void)c;
    (void)m;
    (void)ud;
    fail_msg("ops.menu called in an audio call");
    return -1;
}

static const ccai_call_ops ops = {
    .version = CCAI_CALL_OPS_VERSION,
    .menu = op_menu,
    .hangup = op_hangup,
    .play_audio = op_play,
    .clear_audio = op_clear,
    .mark = op_mark,
};

typedef struct env {
    host h;
    ccai_config *cfg;
    ccai_ctx *ctx;
    ccai_call *call;
    ccai_audio_format in;
    const char *initiate; /* NULL: a city to note */
    ccai_direction direction;
} env;

static Ccai_sphinx_model *model;

static bool have_all(void)
{
    return model && voice_available(CCAI_SYNTH_FLITE) && voice_available(CCAI_SYNTH_ESPEAK);
}

static int setup(void **state)
{
    (void)state;
    if (access(CCAI_SPHINX_MODEL_DIR "/en-us/mdef", R_OK) != 0)
        return 0;
    Ccai_err err = {0};
    if (Ccai_sphinx_model_new(NULL, NULL, &model, &err) != CCAI_OK)
        model = NULL;
    Ccai_err_free(&err);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    Ccai_sphinx_model_free(model);
    return 0;
}

/* Run what is due now (0 ms timers: decoding, synthesis). */
static void run_due(env *e)
{
    for (int i = 0; i < 100000 && e->h.due >= 0 && (uint64_t)e->h.due <= e->h.now; i++)
        ccai_ctx_timeout(e->ctx);
}

static void env_start(env *e, const char *const *keys, ccai_audio_format in, ccai_audio_format out,
                      uint32_t flags)
{
    memset(e, 0, sizeof *e);
    memset(e->h.line, CCAI_ULAW_SILENCE, sizeof e->h.line);
    e->h.now = 1000000;
    e->h.due = -1;
    e->in = in;
    assert_int_equal(ccai_config_new(&e->cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "database.sqlite.path", ":memory:"), CCAI_OK);
    for (size_t i = 0; keys && keys[i]; i += 2)
        assert_int_equal(ccai_config_set(e->cfg, keys[i], keys[i + 1]), CCAI_OK);
    ccai_loop_hooks hooks = {CCAI_LOOP_HOOKS_VERSION, h_watch, h_timer, NULL};
    assert_int_equal(ccai_ctx_new(e->cfg, &hooks, &e->h, &e->ctx, NULL), CCAI_OK);
    Ccai_ctx_set_clock(e->ctx, h_now, &e->h);
    e->h.out = out.encoding
                   ? (Ccai_media_format){(Ccai_media_encoding)out.encoding, out.sample_rate, 1}
                   : (Ccai_media_format){(Ccai_media_encoding)in.encoding, in.sample_rate, 1};
}

static void env_call(env *e, uint32_t flags, ccai_audio_format out)
{
    ccai_call_params p = {
        .version = CCAI_CALL_PARAMS_VERSION,
        .direction = e->direction,
        .phone_number = "+14155550100",
        .channel = "local",
        .initiate_json = e->initiate ? e->initiate
                                     : "{\"lang\":{\"default_short_code\":\"en-US\","
                                       "\"availables\":[{\"short_code\":\"en-US\"}]},"
                                       "\"claim\":[{\"name\":\"incident_city\",\"type\":"
                                       "\"text\"}]}",
        .audio_in = e->in,
        .audio_out = out,
        .audio_flags = flags,
    };
    assert_int_equal(ccai_call_start(e->ctx, &p, &ops, &e->h, &e->call), CCAI_OK);
    e->h.call = e->call;
    assert_ptr_equal(ccai_call_userdata(e->call), &e->h);
    assert_int_equal(ccai_call_notify(e->call, CCAI_EVENT_CONNECTED, NULL), CCAI_OK);
    run_due(e);
}

static void env_free(env *e)
{
    ccai_call_free(e->call);
    ccai_ctx_free(e->ctx);
    ccai_config_free(e->cfg);
    free(e->h.queue);
    free(e->h.heard);
}

/* 20 ms of the line: the host plays 20 ms of what it queued (marks reached
 * are reported), the caller's frame (src, or silence) goes in, with the
 * echo of what played, then the clock moves on. */
static void tick(env *e, const uint8_t *src)
{
    host *h = &e->h;
    size_t n = h->q_len - h->q_played < FRAME ? h->q_len - h->q_played : FRAME;
    uint8_t playing[FRAME];
    memset(playing, CCAI_ULAW_SILENCE, sizeof playing);
    if (h->out.encoding == CCAI_MEDIA_ULAW && h->out.rate == 8000 && n)
        memcpy(playing, h->queue + h->q_played, n);
    else if (h->out.encoding != CCAI_MEDIA_ULAW || h->out.rate != 8000)
        n = 0; /* other formats: not echoed, only counted */
    grow(&h->heard, &h->heard_cap, h->heard_len + FRAME);
    if (n)
        memcpy(h->heard + h->heard_len, h->queue + h->q_played, n);
    h->heard_len += n;
    h->q_played += n ? n : (h->q_len - h->q_played < FRAME ? h->q_len - h->q_played : FRAME);
    /* Marks reached. */
    size_t k = 0;
    for (size_t i = 0; i < h->n_marks; i++) {
        if (h->marks[i].at <= h->q_played) {
            ccai_call_audio_marked(e->call, h->marks[i].name);
        } else {
            h->marks[k++] = h->marks[i];
        }
    }
    h->n_marks = k;
    /* The echo: what played echo_delay_ms ago. */
    memcpy(h->line + h->line_pos, playing, FRAME);
    size_t back = (size_t)h->echo_delay_ms * 8;
    const uint8_t *echo = h->line + (h->line_pos + sizeof h->line - back) % sizeof h->line;
    h->line_pos = (h->line_pos + FRAME) % sizeof h->line;
    /* The caller's line in the call's format. */
    int16_t pcm[FRAME];
    for (size_t i = 0; i < FRAME; i++) {
        int32_t v = src ? Ccai_ulaw_decode(src[i]) : 0;
        if (h->echo_db < 0)
            v += (int32_t)(Ccai_ulaw_decode(echo[i]) * pow(10, h->echo_db / 20));
        pcm[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
    }
    if (e->in.encoding == CCAI_AUDIO_ULAW) {
        uint8_t b[FRAME];
        Ccai_media_encode(CCAI_MEDIA_ULAW, pcm, FRAME, b);
        assert_int_equal(ccai_call_audio_in(e->call, b, FRAME), CCAI_OK);
    } else { /* PCM16 16 kHz: each sample twice */
        int16_t w[2 * FRAME];
        for (size_t i = 0; i < FRAME; i++)
            w[2 * i] = w[2 * i + 1] = pcm[i];
        uint8_t b[4 * FRAME];
        Ccai_pcm16le_write(w, 2 * FRAME, b);
        assert_int_equal(ccai_call_audio_in(e->call, b, sizeof b), CCAI_OK);
    }
    h->now += 20;
    run_due(e);
}

static void wait_ms(env *e, uint32_t ms)
{
    for (uint32_t t = 0; t < ms; t += 20)
        tick(e, NULL);
}

/* Until the host has nothing left to play (at most max_ms). */
static void wait_quiet(env *e, uint32_t max_ms)
{
    for (uint32_t t = 0; t < max_ms; t += 20) {
        tick(e, NULL);
        if (e->h.q_played >= e->h.q_len && e->h.due < 0)
            return;
    }
}

static void say(env *e, const char *text)
{
    voice_audio a;
    assert_true(voice_render(CCAI_SYNTH_ESPEAK, "en-us", 0.9, text, &ulaw8, 100, 0, &a));
    for (size_t off = 0; off + FRAME <= a.len; off += FRAME)
        tick(e, a.data + off);
    voice_audio_free(&a);
}

/* What the caller heard, recognised by pocketsphinx. */
typedef struct rec {
    char text[4096];
} rec;

static void on_rec(const Ccai_sphinx_result *r, void *ud)
{
    if (r->event == CCAI_SPHINX_FINAL)
        snprintf(((rec *)ud)->text, sizeof((rec *)ud)->text, "%s", r->text);
}

/* In 3 s pieces, as utterances (the free model loses its way in a long
 * one). */
static void recognise(const uint8_t *audio, size_t len, char *out, size_t cap)
{
    out[0] = '\0';
    for (size_t piece = 0; piece < len; piece += 24000) {
        size_t end = piece + 24000 < len ? piece + 24000 : len;
        rec r = {{0}};
        Ccai_sphinx *s = NULL;
        assert_int_equal(Ccai_sphinx_new(model, &ulaw8, on_rec, &r, &s), CCAI_OK);
        for (size_t off = piece; off < end; off += FRAME) {
            size_t n = end - off < FRAME ? end - off : FRAME;
            assert_int_equal(Ccai_sphinx_feed(s, audio + off, n), CCAI_OK);
            while (Ccai_sphinx_pending_ms(s) > 0)
                Ccai_sphinx_step(s);
        }
        Ccai_sphinx_end(s);
        while (Ccai_sphinx_pending_ms(s) > 0)
            Ccai_sphinx_step(s);
        Ccai_sphinx_free(s);
        size_t l = strlen(out);
        snprintf(out + l, cap - l, "%s%s", l && r.text[0] ? " " : "", r.text);
    }
}

/* The call's stored messages. */
static json_t *messages(env *e)
{
    char *doc = NULL;
    assert_int_equal(ccai_call_to_json(e->call, &doc), CCAI_OK);
    json_t *j = json_loads(doc, 0, NULL);
    ccai_free(doc);
    assert_non_null(j);
    return j;
}

static const char *nth_message(json_t *doc, const char *persona, const char *action, size_t nth)
{
    size_t i, k = 0;
    json_t *m;
    json_array_foreach(json_object_get(doc, "messages"), i, m)
    {
        if (strcmp(json_string_value(json_object_get(m, "persona")), persona) == 0 &&
            strcmp(json_string_value(json_object_get(m, "action")), action) == 0 && k++ == nth)
            return json_string_value(json_object_get(m, "content"));
    }
    return NULL;
}

/* The seq of the first stored message whose content is content (-1). */
static json_int_t seq_of(json_t *doc, const char *content)
{
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(doc, "messages"), i, m)
    {
        if (strcmp(json_string_value(json_object_get(m, "content")), content) == 0)
            return json_integer_value(json_object_get(m, "seq"));
    }
    return -1;
}

static void lower(char *s)
{
    for (; *s; s++)
        *s = (char)(*s >= 'A' && *s <= 'Z' ? *s - 'A' + 'a' : *s);
}

static const ccai_audio_format ulaw_fmt = {CCAI_AUDIO_ULAW, 8000, 1};
static const ccai_audio_format none_fmt = {CCAI_AUDIO_NONE, 0, 0};

/* The whole call: greeting heard and recognised back, the caller's answer
 * recognised, stored and noted in the claim. */
static void test_voice_call_offline(void **state)
{
    (void)state;
    if (!have_all())
        skip();
    env e;
    env_start(&e, NULL, ulaw_fmt, none_fmt, 0);
    env_call(&e, 0, none_fmt);
    wait_quiet(&e, 30000);
    assert_false(e.h.bad_format);
    assert_true(e.h.heard_len > 8000); /* more than a second of greeting */
    json_t *doc = messages(&e);
    const char *hello = nth_message(doc, "assistant", "talk", 0);
    assert_non_null(hello);
    char got[4096];
    if (getenv("VOICE_DUMP")) {
        FILE *f = fopen(getenv("VOICE_DUMP"), "wb");
        fwrite(e.h.heard, 1, e.h.heard_len, f);
        fclose(f);
    }
    recognise(e.h.heard, e.h.heard_len, got, sizeof got);
    fprintf(stderr, "# bot said: %s\n# heard back: %s\n", hello, got);
    /* The greeting's key words come back from the audio the caller heard. */
    size_t total = 0;
    size_t hits = voice_keywords("hello will take have few questions tell", got, &total);
    fprintf(stderr, "# key words heard back: %zu of %zu\n", hits, total);
    assert_true(hits >= 3);
    json_decref(doc);

    /* The caller answers. */
    say(&e, "the city of london");
    wait_ms(&e, 1500);
    wait_quiet(&e, 30000);
    doc = messages(&e);
    const char *words = nth_message(doc, "human", "talk", 0);
    assert_non_null(words);
    fprintf(stderr, "# caller said: the city of london\n# recognised: %s\n", words);
    assert_true(strlen(words) > 0);
    /* The offline dialogue noted it (a text field takes the words). */
    const char *city =
        json_string_value(json_object_get(json_object_get(doc, "claim"), "incident_city"));
    assert_non_null(city);
    /* What pocketsphinx heard (free text on 8 kHz G.711 is poor:
     * bench-speech), noted as the caller's answer. */
    char lc[256], lw[256];
    snprintf(lc, sizeof lc, "%s", city);
    snprintf(lw, sizeof lw, "%s", words);
    lower(lc);
    lower(lw);
    assert_non_null(strstr(lc, lw));
    /* And the bot answered it (a confirmation or the next question). */
    assert_non_null(nth_message(doc, "assistant", "talk", 1));
    json_decref(doc);
    env_free(&e);
}

/* Where speech begins in 8 kHz mu-law audio: the first 5 ms whose level
 * reaches -50 dBFS (well above a line's noise, below any spoken sound). */
static size_t speech_onset(const uint8_t *audio, size_t len)
{
    for (size_t off = 0; off + 40 <= len; off += 40) {
        int16_t pcm[40];
        for (size_t i = 0; i < 40; i++)
            pcm[i] = Ccai_ulaw_decode(audio[off + i]);
        if (Ccai_media_level_db(pcm, 40) >= -50.0)
            return off;
    }
    return len;
}

/* The caller talks over the greeting: the host is told to clear within the
 * issue's 250 ms of the caller's speech onset (default settings: a 250 ms
 * cut-off), on the audio's own timeline (the injected clock: the clear
 * counts from the end of the caller frame that decided it); the greeting
 * stored as far as it was heard, the caller's words stored after it. */
static void barge_in_run(double echo_db, uint32_t delay_ms)
{
    env e;
    env_start(&e, NULL, ulaw_fmt, none_fmt, 0);
    e.h.echo_db = echo_db;
    e.h.echo_delay_ms = delay_ms;
    env_call(&e, 0, none_fmt);
    wait_ms(&e, 1200); /* part of the greeting plays */
    assert_int_equal(e.h.clears, 0);
    json_t *before = messages(&e);
    const char *first = nth_message(before, "assistant", "talk", 0);
    assert_non_null(first);
    json_int_t first_seq = seq_of(before, first);
    assert_true(first_seq > 0);
    voice_audio a;
    assert_true(voice_render(CCAI_SYNTH_ESPEAK, "en-us", 0.9, "stop please i want an agent", &ulaw8,
                             100, 0, &a));
    size_t on = speech_onset(a.data, a.len);
    assert_true(on < a.len);
    uint64_t onset = e.h.now + on / 8;
    for (size_t off = 0; off + FRAME <= a.len; off += FRAME)
        tick(&e, a.data + off);
    assert_int_equal(e.h.clears, 1);
    /* The frame that decided ended 20 ms after the host's clock at its
     * start; the clear went in the same call (libccai's share: 0 ms of
     * the loop's clock). */
    uint64_t cut_ms = e.h.first_clear_at + 20 - onset;
    fprintf(stderr, "# echo %.0f dB after %u ms: speech onset -> clear: %llu ms\n", echo_db,
            (unsigned)delay_ms, (unsigned long long)cut_ms);
    /* Over the echo too: the gate waits for the echo of what the bot says
     * now (its delay estimated), and the caller's words the echo hides
     * do not break their run. */
    assert_true(cut_ms >= 200 && cut_ms <= 250u);
    voice_audio_free(&a);
    wait_ms(&e, 1500);
    wait_quiet(&e, 30000);
    json_t *doc = messages(&e);
    const char *said = nth_message(doc, "assistant", "talk", 0);
    assert_non_null(said);
    fprintf(stderr, "# stored as heard: %s\n", said);
    /* In its place: the words cut, the seq of the sentence as it was said
     * (the sentences stored after it were not heard: removed). */
    assert_true(strncmp(first, said, strlen(said)) == 0);
    assert_int_equal(seq_of(doc, said), first_seq);
    json_decref(before);
    /* Heard for ~1.5 s: only its first words are kept. */
    size_t words = 0;
    for (const char *p = said; *p; p++)
        words += *p == ' ';
    assert_true(words < 12);
    assert_non_null(nth_message(doc, "human", "talk", 0));
    json_decref(doc);
    env_free(&e);
}

static void test_voice_barge_in(void **state)
{
    (void)state;
    if (!have_all())
        skip();
    barge_in_run(0, 0);
}

/* The same over a line that echoes the bot at -10 dB, at once or 120 or
 * 240 ms late: the gate has measured the echo path (its loss and delay)
 * while the caller was silent, so the caller still gets through within
 * the target. */
static void test_voice_barge_in_echo(void **state)
{
    (void)state;
    if (!have_all())
        skip();
    barge_in_run(-10, 0);
    barge_in_run(-10, 120);
    barge_in_run(-10, 240);
}

/* What was heard of a sentence replaces its words where it stands: the
 * sentences stored after it stay after it. */
static void test_voice_said_heard_in_place(void **state)
{
    (void)state;
    if (!have_all())
        skip();
    env e;
    env_start(&e, NULL, ulaw_fmt, none_fmt, 0);
    env_call(&e, 0, none_fmt);
    wait_quiet(&e, 30000);
    json_t *doc = messages(&e);
    char *first = strdup(nth_message(doc, "assistant", "talk", 0));
    const char *second = nth_message(doc, "assistant", "talk", 1);
    assert_non_null(second);
    json_int_t seq1 = seq_of(doc, first), seq2 = seq_of(doc, second);
    assert_true(seq1 < seq2);
    char *second_copy = strdup(second);
    json_decref(doc);
    assert_int_equal(Ccai_call_said_heard(e.call, first, "Hello,"), CCAI_OK);
    doc = messages(&e);
    assert_int_equal(seq_of(doc, "Hello,"), seq1);
    assert_int_equal(seq_of(doc, second_copy), seq2);
    assert_string_equal(nth_message(doc, "assistant", "talk", 0), "Hello,");
    json_decref(doc);
    assert_int_equal(Ccai_call_said_heard(e.call, "never said", "x"), CCAI_ERR_NOT_FOUND);
    free(first);
    free(second_copy);
    env_free(&e);
}

/* A cough while the bot talks (shorter than a turn): the bot stops, then
 * takes up its sentence again; nothing stored from the caller, the
 * greeting stored whole. */
static void test_voice_false_interruption(void **state)
{
    (void)state;
    if (!have_all())
        skip();
    env e;
    const char *keys[] = {"speech.vad_min_speech_ms", "600", NULL};
    env_start(&e, keys, ulaw_fmt, none_fmt, 0);
    env_call(&e, 0, none_fmt);
    json_t *doc = messages(&e);
    char *hello = strdup(nth_message(doc, "assistant", "talk", 0));
    json_decref(doc);
    wait_ms(&e, 1000);
    /* 400 ms of loud noise: a start (barge-in), not a turn. */
    uint8_t f[FRAME];
    uint32_t seed = 7;
    for (int k = 0; k < 20; k++) {
        int16_t pcm[FRAME];
        for (size_t i = 0; i < FRAME; i++) {
            seed = seed * 1103515245u + 12345u;
            pcm[i] = (int16_t)((int32_t)(seed >> 16) % 8000 - 4000);
        }
        Ccai_media_encode(CCAI_MEDIA_ULAW, pcm, FRAME, f);
        tick(&e, f);
    }
    assert_int_equal(e.h.clears, 1);
    size_t before = e.h.total_given;
    wait_ms(&e, 1000);
    wait_quiet(&e, 30000);
    /* It spoke again after the cut: the sentence from its start. */
    assert_true(e.h.total_given > before + 8000);
    doc = messages(&e);
    assert_null(nth_message(doc, "human", "talk", 0));
    assert_string_equal(nth_message(doc, "assistant", "talk", 0), hello);
    json_decref(doc);
    free(hello);
    env_free(&e);
}

/* The bot's own voice back on the line at -10 dB, at once or late, does
 * not interrupt it. */
static void test_voice_echo(void **state)
{
    (void)state;
    if (!have_all())
        skip();
    const uint32_t delays[] = {0, 120, 240};
    for (size_t d = 0; d < CCAI_ARRAY_SIZE(delays); d++) {
        env e;
        env_start(&e, NULL, ulaw_fmt, none_fmt, 0);
        e.h.echo_db = -10;
        e.h.echo_delay_ms = delays[d];
        env_call(&e, 0, none_fmt);
        wait_quiet(&e, 30000);
        assert_true(e.h.heard_len > 8000);
        assert_int_equal(e.h.clears, 0);
        json_t *doc = messages(&e);
        assert_null(nth_message(doc, "human", "talk", 0));
        json_decref(doc);
        env_free(&e);
    }
}

/* Bad audio: a clear error, nothing taken, the call goes on. Formats
 * libccai does not take are refused at the start. */
static void test_voice_malformed(void **state)
{
    (void)state;
    if (!have_all())
        skip();
    env e;
    ccai_audio_format pcm16 = {CCAI_AUDIO_PCM16, 16000, 1};
    env_start(&e, NULL, pcm16, ulaw_fmt, 0);
    env_call(&e, 0, ulaw_fmt);
    uint8_t odd[641] = {0};
    assert_int_equal(ccai_call_audio_in(e.call, odd, sizeof odd), CCAI_ERR_INVALID_ARG);
    assert_non_null(strstr(ccai_call_errmsg(e.call), "641 bytes"));
    static uint8_t big[2 * 16000 * 2];
    assert_int_equal(ccai_call_audio_in(e.call, big, sizeof big), CCAI_ERR_LIMIT);
    assert_int_equal(ccai_call_audio_in(e.call, NULL, 10), CCAI_ERR_INVALID_ARG);
    /* The call goes on: the greeting plays, in the format asked for. */
    wait_quiet(&e, 30000);
    assert_false(e.h.bad_format);
    assert_true(e.h.heard_len > 8000);
    char got[4096];
    recognise(e.h.heard, e.h.heard_len, got, sizeof got);
    assert_true(strlen(got) > 0);
    assert_int_equal(ccai_call_audio_marked(e.call, "nothing-of-ours"), CCAI_OK);
    env_free(&e);

    /* Refused at the start. */
    env_start(&e, NULL, ulaw_fmt, none_fmt, 0);
    ccai_call_params p = {
        .version = CCAI_CALL_PARAMS_VERSION,
        .direction = CCAI_INBOUND,
        .phone_number = "+14155550100",
        .audio_in = {CCAI_AUDIO_PCM16, 11025, 1},
    };
    ccai_call *c = NULL;
    assert_int_equal(ccai_call_start(e.ctx, &p, &ops, &e.h, &c), CCAI_ERR_INVALID_ARG);
    assert_non_null(strstr(ccai_ctx_errmsg(e.ctx), "11025"));
    p.audio_in = ulaw_fmt;
    ccai_call_ops no_play = ops;
    no_play.play_audio = NULL;
    assert_int_equal(ccai_call_start(e.ctx, &p, &no_play, &e.h, &c), CCAI_ERR_INVALID_ARG);
    /* No recogniser for the call: refused, and the stored call says why
     * (not "handle released"). */
    /* (pocketsphinx, the only one configured, hears English only) */
    p.initiate_json = "{\"lang\":{\"default_short_code\":\"fr-FR\","
                      "\"availables\":[{\"short_code\":\"fr-FR\"}]}}";
    assert_int_equal(ccai_call_start(e.ctx, &p, &ops, &e.h, &c), CCAI_ERR_CONFIG);
    assert_null(c);
    assert_non_null(strstr(ccai_ctx_errmsg(e.ctx), "speech-to-text"));
    char *list = NULL;
    assert_int_equal(ccai_ctx_calls_list_json(e.ctx, NULL, 10, 0, &list), CCAI_OK);
    assert_non_null(strstr(list, "no speech-to-text provider could open for fr-FR"));
    assert_null(strstr(list, "handle released"));
    ccai_free(list);
    p.initiate_json = NULL;
    /* A text call has no audio. */
    p.audio_in = none_fmt;
    assert_int_equal(ccai_call_start(e.ctx, &p, &ops, &e.h, &c), CCAI_OK);
    uint8_t f[FRAME] = {0};
    assert_int_equal(ccai_call_audio_in(c, f, sizeof f), CCAI_ERR_STATE);
    ccai_call_free(c);
    env_free(&e);
}

/* The free model's words for a caller's audio (what the recogniser would
 * hear without the dialogue's grammar). */
static void recognise_free(const char *text, char *out, size_t cap)
{
    voice_audio a;
    assert_true(voice_render(CCAI_SYNTH_ESPEAK, "en-us", 0.9, text, &ulaw8, 100, 300, &a));
    recognise(a.data, a.len, out, cap);
    voice_audio_free(&a);
}

/* The offline dialogue asks for a date: the voice layer tells pocketsphinx
 * (its JSGF date grammar beside the free model), and the caller's answer
 * spoken by espeak-ng arrives as the grammar's slot, which the dialogue
 * takes (then it asks for the time). The free model's words for the same
 * audio are printed. */
static void test_voice_grammar(void **state)
{
    (void)state;
    if (!have_all())
        skip();
    env e;
    env_start(&e, NULL, ulaw_fmt, none_fmt, 0);
    e.initiate = "{\"lang\":{\"default_short_code\":\"en-US\","
                 "\"availables\":[{\"short_code\":\"en-US\"}]},"
                 "\"claim\":[{\"name\":\"incident_date\",\"type\":\"datetime\"}]}";
    env_call(&e, 0, none_fmt);
    wait_quiet(&e, 30000);
    say(&e, "the twelfth of july");
    wait_ms(&e, 1500);
    wait_quiet(&e, 30000);
    json_t *doc = messages(&e);
    const char *words = nth_message(doc, "human", "talk", 0);
    assert_non_null(words);
    char free_words[4096];
    recognise_free("the twelfth of july", free_words, sizeof free_words);
    fprintf(stderr,
            "# caller said: the twelfth of july\n# with the date grammar: %s\n"
            "# free model alone: %s\n",
            words, free_words);
    /* The grammar's slot (--07-12), as the dialogue reads dates. */
    assert_string_equal(words, "12/7");
    const char *next = nth_message(doc, "assistant", "talk", 2);
    assert_non_null(next);
    fprintf(stderr, "# the bot went on: %s\n", next);
    json_decref(doc);
    env_free(&e);
}

/* Two languages: the engine offers its language menu, which the voice
 * layer says and recognises (a key, or the caller's words through a
 * choice grammar). */
static const char menu_initiate[] =
    "{\"lang\":{\"default_short_code\":\"en-US\",\"availables\":["
    "{\"short_code\":\"en-US\",\"pronunciations_en\":[\"English\"]},"
    "{\"short_code\":\"es-ES\",\"pronunciations_en\":[\"Spanish\"]}]},"
    "\"claim\":[{\"name\":\"incident_city\",\"type\":\"text\"}]}";

static void test_voice_menu(void **state)
{
    (void)state;
    if (!have_all())
        skip();
    /* By key. */
    env e;
    env_start(&e, NULL, ulaw_fmt, none_fmt, 0);
    e.initiate = menu_initiate;
    env_call(&e, 0, none_fmt);
    assert_int_equal(ccai_call_get_state(e.call), CCAI_CALL_LANGUAGE_MENU);
    wait_quiet(&e, 30000);
    assert_true(e.h.heard_len > 8000); /* the menu was said */
    char got[4096];
    recognise(e.h.heard, e.h.heard_len, got, sizeof got);
    fprintf(stderr, "# the menu, heard back: %s\n", got);
    /* (Its wording is one of the prompt's variants, chosen at random.) */
    assert_true(strlen(got) > 0);
    assert_int_equal(ccai_call_notify(e.call, CCAI_EVENT_DTMF, "2"), CCAI_OK);
    run_due(&e);
    assert_string_equal(ccai_call_lang(e.call), "es-ES");
    assert_true(ccai_call_get_state(e.call) >= CCAI_CALL_CONNECTED);
    json_t *doc = messages(&e);
    assert_null(nth_message(doc, "human", "dtmf", 0)); /* a choice, not the caller's words */
    json_decref(doc);
    env_free(&e);

    /* By words. */
    env_start(&e, NULL, ulaw_fmt, none_fmt, 0);
    e.initiate = menu_initiate;
    env_call(&e, 0, none_fmt);
    wait_quiet(&e, 30000);
    say(&e, "spanish");
    wait_ms(&e, 1500);
    fprintf(stderr, "# said 'spanish': the call speaks %s\n", ccai_call_lang(e.call));
    assert_string_equal(ccai_call_lang(e.call), "es-ES");
    assert_true(ccai_call_get_state(e.call) >= CCAI_CALL_CONNECTED);
    env_free(&e);

    /* A host without a menu op gets no menu (ccai-cli, AudioSocket). */
    env_start(&e, NULL, ulaw_fmt, none_fmt, 0);
    ccai_call_params np = {
        .version = CCAI_CALL_PARAMS_VERSION,
        .direction = CCAI_INBOUND,
        .phone_number = "+14155550100",
        .initiate_json = menu_initiate,
        .audio_in = ulaw_fmt,
    };
    ccai_call_ops no_menu = ops;
    no_menu.menu = NULL;
    assert_int_equal(ccai_call_start(e.ctx, &np, &no_menu, &e.h, &e.call), CCAI_OK);
    e.h.call = e.call;
    assert_int_equal(ccai_call_notify(e.call, CCAI_EVENT_CONNECTED, NULL), CCAI_OK);
    run_due(&e);
    assert_true(ccai_call_get_state(e.call) >= CCAI_CALL_CONNECTED);
    env_free(&e);

    /* A key no choice has: offered again. */
    env_start(&e, NULL, ulaw_fmt, none_fmt, 0);
    e.initiate = menu_initiate;
    env_call(&e, 0, none_fmt);
    wait_quiet(&e, 30000);
    size_t before = e.h.total_given;
    assert_int_equal(ccai_call_notify(e.call, CCAI_EVENT_DTMF, "7"), CCAI_OK);
    run_due(&e);
    wait_quiet(&e, 30000);
    assert_int_equal(ccai_call_get_state(e.call), CCAI_CALL_LANGUAGE_MENU);
    assert_true(e.h.total_given > before + 8000);
    env_free(&e);
}

/* Recognisers that fail: "dying-stt" reports a fatal ERROR once it has
 * heard 300 ms of an utterance (a connection that drops mid-utterance);
 * "mute-stt" takes everything and never answers end(). */
typedef struct fake_stt {
    Ccai_stt base;
    ccai_ctx *ctx;
    Ccai_stt_open o;
    Ccai_timer timer;
    size_t bytes;
    bool dead;
} fake_stt;

static int stt_opened, stt_died, stt_ends;
static size_t stt_heard_at_death;
static const Ccai_stt_provider dying_stt, mute_stt;

static void fake_stt_fire(Ccai_timer *t, void *ud)
{
    (void)t;
    fake_stt *f = ud;
    Ccai_stt_result r = {.event = CCAI_STT_ERROR,
                         .status = CCAI_ERR_IO,
                         .fatal = true,
                         .errmsg = "connection reset"};
    f->o.fn(&f->base, &r, f->o.ud);
}

static ccai_status fake_stt_open(ccai_ctx *ctx, const Ccai_stt_config *cfg, const Ccai_stt_open *o,
                                 Ccai_stt **ret, const Ccai_stt_provider *p)
{
    (void)cfg;
    fake_stt *f = calloc(1, sizeof *f);
    f->base.provider = p;
    f->base.in = (Ccai_media_format){CCAI_MEDIA_PCM16, 8000, 1};
    f->ctx = ctx;
    f->o = *o;
    Ccai_timer_init(&f->timer, fake_stt_fire, f);
    stt_opened++;
    *ret = &f->base;
    return CCAI_OK;
}

static ccai_status dying_stt_open(ccai_ctx *ctx, const Ccai_stt_config *cfg, const Ccai_stt_open *o,
                                  Ccai_stt **ret)
{
    return fake_stt_open(ctx, cfg, o, ret, &dying_stt);
}

static ccai_status mute_stt_open(ccai_ctx *ctx, const Ccai_stt_config *cfg, const Ccai_stt_open *o,
                                 Ccai_stt **ret)
{
    return fake_stt_open(ctx, cfg, o, ret, &mute_stt);
}

static ccai_status fake_stt_feed(Ccai_stt *s, const uint8_t *audio, size_t len)
{
    (void)audio;
    fake_stt *f = (fake_stt *)s;
    if (f->dead)
        return CCAI_ERR_STATE;
    f->bytes += len;
    if (s->provider == &dying_stt && f->bytes >= 4800) { /* 300 ms */
        f->dead = true;
        stt_died++;
        stt_heard_at_death = f->bytes;
        Ccai_timer_start(f->ctx, &f->timer, 0);
    }
    return CCAI_OK;
}

static ccai_status fake_stt_end(Ccai_stt *s)
{
    (void)s;
    stt_ends++;
    return CCAI_OK;
}

static void fake_stt_cancel(Ccai_stt *s)
{
    ((fake_stt *)s)->bytes = 0;
}

static void fake_stt_close(Ccai_stt *s)
{
    fake_stt *f = (fake_stt *)s;
    Ccai_timer_stop(f->ctx, &f->timer);
    free(f);
}

static const Ccai_stt_provider dying_stt = {
    .name = "dying-stt",
    .open = dying_stt_open,
    .feed = fake_stt_feed,
    .end = fake_stt_end,
    .cancel = fake_stt_cancel,
    .close = fake_stt_close,
};

static const Ccai_stt_provider mute_stt = {
    .name = "mute-stt",
    .open = mute_stt_open,
    .feed = fake_stt_feed,
    .end = fake_stt_end,
    .cancel = fake_stt_cancel,
    .close = fake_stt_close,
};

static size_t count_messages(json_t *doc, const char *persona, const char *action)
{
    size_t n = 0;
    while (nth_message(doc, persona, action, n))
        n++;
    return n;
}

/* A recogniser that dies mid-utterance: the next of the chain gets the
 * utterance's audio from its start, and the caller's words arrive. */
static void test_voice_stt_fallback(void **state)
{
    (void)state;
    if (!have_all())
        skip();
    env e;
    const char *keys[] = {"speech.stt.providers", "[\"dying-stt\", \"sphinx\"]", NULL};
    env_start(&e, keys, ulaw_fmt, none_fmt, 0);
    assert_int_equal(Ccai_voice_add_stt(Ccai_ctx_voice(e.ctx), &dying_stt), CCAI_OK);
    stt_opened = stt_died = stt_ends = 0;
    env_call(&e, 0, none_fmt);
    wait_quiet(&e, 30000);
    say(&e, "the city of london");
    wait_ms(&e, 1500);
    wait_quiet(&e, 30000);
    assert_int_equal(stt_opened, 1);
    assert_int_equal(stt_died, 1);
    assert_int_equal(stt_ends, 0); /* it died before the turn ended */
    json_t *doc = messages(&e);
    const char *words = nth_message(doc, "human", "talk", 0);
    fprintf(stderr, "# died after %zu bytes; sphinx heard: %s\n", stt_heard_at_death,
            words ? words : "(nothing)");
    assert_non_null(words);
    assert_true(strlen(words) > 0);
    assert_non_null(nth_message(doc, "assistant", "talk", 1)); /* answered */
    json_decref(doc);
    env_free(&e);
}

/* A recogniser that never answers end(): after speech.stt_result_timeout_ms
 * the next of the chain hears the turn; with none left, the caller was not
 * understood (the engine says so and listens again). No hang either way. */
static void test_voice_stt_result_timeout(void **state)
{
    (void)state;
    if (!have_all())
        skip();
    env e;
    const char *keys[] = {"speech.stt.providers", "[\"mute-stt\"]", "speech.stt_result_timeout_ms",
                          "1000", NULL};
    env_start(&e, keys, ulaw_fmt, none_fmt, 0);
    assert_int_equal(Ccai_voice_add_stt(Ccai_ctx_voice(e.ctx), &mute_stt), CCAI_OK);
    stt_opened = stt_died = stt_ends = 0;
    env_call(&e, 0, none_fmt);
    wait_quiet(&e, 30000);
    json_t *doc = messages(&e);
    size_t said = count_messages(doc, "assistant", "talk");
    json_decref(doc);
    size_t given = e.h.total_given;
    say(&e, "the city of london");
    wait_ms(&e, 2000);
    wait_quiet(&e, 30000);
    assert_int_equal(stt_ends, 1);
    doc = messages(&e);
    assert_null(nth_message(doc, "human", "talk", 0));
    /* The bot spoke again (not understood: asked again). */
    assert_true(e.h.total_given > given + 8000);
    assert_true(count_messages(doc, "assistant", "talk") > said);
    fprintf(stderr, "# no words in time, the bot said: %s\n",
            nth_message(doc, "assistant", "talk", count_messages(doc, "assistant", "talk") - 1));
    json_decref(doc);
    assert_int_equal(e.h.hangups, 0);
    env_free(&e);

    /* With pocketsphinx after it: sphinx hears the turn. */
    const char *keys2[] = {"speech.stt.providers", "[\"mute-stt\", \"sphinx\"]",
                           "speech.stt_result_timeout_ms", "1000", NULL};
    env_start(&e, keys2, ulaw_fmt, none_fmt, 0);
    assert_int_equal(Ccai_voice_add_stt(Ccai_ctx_voice(e.ctx), &mute_stt), CCAI_OK);
    env_call(&e, 0, none_fmt);
    wait_quiet(&e, 30000);
    say(&e, "the city of london");
    wait_ms(&e, 2500);
    wait_quiet(&e, 30000);
    doc = messages(&e);
    assert_non_null(nth_message(doc, "human", "talk", 0));
    json_decref(doc);
    env_free(&e);
}

/* The caller says nothing: the engine's silence prompts, then goodbye and
 * the hang-up, in an audio call as in a text one. */
static void test_voice_silence(void **state)
{
    (void)state;
    if (!have_all())
        skip();
    env e;
    const char *keys[] = {"conversation.phone_silence_timeout_sec", "2", NULL};
    env_start(&e, keys, ulaw_fmt, none_fmt, 0);
    env_call(&e, 0, none_fmt);
    json_t *doc = messages(&e);
    size_t said = count_messages(doc, "assistant", "talk");
    json_decref(doc);
    uint64_t t0 = e.h.now;
    for (int i = 0; i < 30 && e.h.q_played < e.h.q_len; i++) {
        wait_ms(&e, 1000); /* the greeting plays */
    }
    size_t given = e.h.total_given;
    for (int i = 0; i < 60 && !e.h.hangups; i++)
        wait_ms(&e, 1000);
    assert_int_equal(e.h.hangups, 1);
    doc = messages(&e);
    size_t now = count_messages(doc, "assistant", "talk");
    fprintf(stderr,
            "# silence: hang-up after %llu ms, %zu bytes of prompts; %zu sentences stored "
            "(%zu before); last: %s\n",
            (unsigned long long)(e.h.now - t0), e.h.total_given - given, now, said,
            nth_message(doc, "assistant", "talk", now - 1));
    /* Prompts before the goodbye: the greeting, at least two silences of
     * 2 s and three sentences of audio. */
    assert_true(e.h.now - t0 >= 8000);
    assert_true(e.h.total_given - given > 3 * 8000);
    assert_null(nth_message(doc, "human", "talk", 0));
    json_decref(doc);
    env_free(&e);
}

/* Keys in an audio call: CCAI_EVENT_DTMF from the host (RFC 4733) is the
 * caller's answer, stored as keys, and the bot answers it. */
static void test_voice_dtmf(void **state)
{
    (void)state;
    if (!have_all())
        skip();
    env e;
    env_start(&e, NULL, ulaw_fmt, none_fmt, 0);
    env_call(&e, 0, none_fmt);
    wait_quiet(&e, 30000);
    size_t given = e.h.total_given;
    assert_int_equal(ccai_call_notify(e.call, CCAI_EVENT_DTMF, "4155"), CCAI_OK);
    run_due(&e);
    wait_quiet(&e, 30000);
    json_t *doc = messages(&e);
    assert_string_equal(nth_message(doc, "human", "dtmf", 0), "4155");
    assert_non_null(nth_message(doc, "assistant", "talk", 1));
    assert_true(e.h.total_given > given);
    json_decref(doc);
    env_free(&e);
}

/* speech.vad_denoise and speech.vad_agc: speexdsp's preprocessing before
 * the detector; the caller's turn is still detected and recognised. */
static void test_voice_denoise_agc(void **state)
{
    (void)state;
    if (!have_all())
        skip();
    env e;
    const char *keys[] = {"speech.vad_denoise", "true", "speech.vad_agc", "true", NULL};
    env_start(&e, keys, ulaw_fmt, none_fmt, 0);
    env_call(&e, 0, none_fmt);
    wait_quiet(&e, 30000);
    say(&e, "the city of london");
    wait_ms(&e, 1500);
    wait_quiet(&e, 30000);
    json_t *doc = messages(&e);
    const char *words = nth_message(doc, "human", "talk", 0);
    assert_non_null(words);
    assert_true(strlen(words) > 0);
    assert_non_null(nth_message(doc, "assistant", "talk", 1)); /* answered */
    json_decref(doc);
    env_free(&e);
}

/* Recording: a 2-channel WAV at the caller's rate, the caller on the left
 * and the bot on the right, as long as the call's audio, its path stored
 * on the call once it ends. */
static void test_voice_recording(void **state)
{
    (void)state;
    if (!have_all())
        skip();
    char dir[] = "/tmp/ccai-voice-rec-XXXXXX";
    assert_non_null(mkdtemp(dir));
    env e;
    const char *keys[] = {"conversation.recording_enabled", "true", "speech.recording_dir", dir,
                          NULL};
    env_start(&e, keys, ulaw_fmt, none_fmt, 0);
    env_call(&e, 0, none_fmt);
    uint64_t t0 = e.h.now;
    wait_quiet(&e, 30000);
    wait_ms(&e, 400);
    uint64_t fed_ms = e.h.now - t0;
    assert_int_equal(ccai_call_notify(e.call, CCAI_EVENT_HANGUP, NULL), CCAI_OK);
    run_due(&e);
    json_t *doc = messages(&e);
    const char *path = json_string_value(json_object_get(doc, "recording_url"));
    assert_non_null(path);
    json_int_t dur = json_integer_value(json_object_get(doc, "recording_duration_ms"));
    Ccai_wav_reader *r = NULL;
    assert_int_equal(Ccai_wav_reader_open(path, &r), CCAI_OK);
    const Ccai_wav_info *info = Ccai_wav_reader_info(r);
    assert_int_equal(info->channels, 2);
    assert_int_equal(info->rate, 8000);
    assert_int_equal(info->encoding, CCAI_MEDIA_PCM16);
    size_t cap = 1 << 20, len = 0, n;
    uint8_t *buf = malloc(cap);
    do {
        assert_int_equal(Ccai_wav_reader_read(r, buf + len, cap - len, &n), CCAI_OK);
        len += n;
    } while (n && len < cap);
    Ccai_wav_reader_close(r);
    size_t frames = len / 4;
    uint64_t wav_ms = frames * 1000 / 8000;
    fprintf(stderr, "# recording: %llu ms (stored %lld ms), caller audio fed %llu ms\n",
            (unsigned long long)wav_ms, (long long)dur, (unsigned long long)fed_ms);
    assert_true(wav_ms + 40 >= fed_ms && wav_ms <= fed_ms + 40);
    assert_true(dur + 40 >= (json_int_t)wav_ms && dur <= (json_int_t)wav_ms + 40);
    /* Left: the silent caller; right: the bot, recognised back. */
    int16_t *left = malloc(frames * 2);
    uint8_t *right = malloc(frames);
    for (size_t i = 0; i < frames; i++) {
        left[i] = (int16_t)(buf[4 * i] | buf[4 * i + 1] << 8);
        int16_t rs = (int16_t)(buf[4 * i + 2] | buf[4 * i + 3] << 8);
        Ccai_media_encode(CCAI_MEDIA_ULAW, &rs, 1, &right[i]);
    }
    assert_true(Ccai_media_level_db(left, frames) < -60.0);
    char got[4096];
    recognise(right, frames, got, sizeof got);
    size_t total = 0;
    size_t hits = voice_keywords("hello will take have few questions tell", got, &total);
    fprintf(stderr, "# the bot's channel, recognised: %s (%zu of %zu key words)\n", got, hits,
            total);
    assert_true(hits >= 3);
    free(left);
    free(right);
    free(buf);
    json_decref(doc);
    env_free(&e);
    unlink(path ? path : "");
    rmdir(dir);
}

/* libccai paces the playout (CCAI_AUDIO_PACED: frames on its timers, 20 ms
 * apart) and cancels the echo (CCAI_AUDIO_ECHO_CANCEL) on a line that
 * returns the bot at -10 dB: the greeting plays whole, nothing barges in;
 * the caller talking over the bot still stops it. */
static void test_voice_paced_echo_cancel(void **state)
{
    (void)state;
    if (!have_all())
        skip();
    env e;
    env_start(&e, NULL, ulaw_fmt, none_fmt, 0);
    e.h.echo_db = -10;
    env_call(&e, CCAI_AUDIO_PACED | CCAI_AUDIO_ECHO_CANCEL, none_fmt);
    wait_ms(&e, 1000);
    /* Paced: frames arrive as they are due, nothing piles up at the host. */
    assert_true(e.h.q_len - e.h.q_played <= 2 * FRAME);
    assert_true(e.h.frames > 10);
    wait_quiet(&e, 30000);
    json_t *doc = messages(&e);
    assert_null(nth_message(doc, "human", "talk", 0));
    char got[4096];
    recognise(e.h.heard, e.h.heard_len, got, sizeof got);
    size_t total = 0;
    size_t hits = voice_keywords("hello will take have few questions tell", got, &total);
    fprintf(stderr, "# paced with the canceller, heard: %s (%zu of %zu)\n", got, hits, total);
    assert_true(hits >= 3);
    json_decref(doc);
    env_free(&e);
}

/* A synthesiser that dies mid-sentence: the next of the chain speaks the
 * rest, the caller hears no dead air. */
typedef struct dying {
    Ccai_tts base;
    ccai_ctx *ctx;
    Ccai_tts_open o;
    Ccai_timer timer;
    uint32_t id;
    bool pending;
} dying;

static int dying_opened, dying_died;
static const Ccai_tts_provider dying_tts;

static void dying_fire(Ccai_timer *t, void *ud)
{
    (void)t;
    dying *d = ud;
    if (!d->pending)
        return;
    d->pending = false;
    /* 200 ms of a tone, then the connection drops. */
    uint8_t buf[1600];
    int16_t pcm[1600];
    for (size_t i = 0; i < 1600; i++)
        pcm[i] = (int16_t)(8000 * sin(2 * 3.14159265 * 440 * (double)i / 8000));
    Ccai_media_encode(CCAI_MEDIA_ULAW, pcm, 1600, buf);
    d->o.audio(&d->base, d->id, buf, sizeof buf, d->o.ud);
    dying_died++;
    Ccai_tts_done done = {.id = d->id,
                          .status = CCAI_ERR_IO,
                          .fatal = true,
                          .errmsg = "connection reset",
                          .audio_ms = 200};
    d->o.done(&d->base, &done, d->o.ud);
}

static ccai_status dying_open(ccai_ctx *ctx, const Ccai_tts_config *cfg, const Ccai_tts_open *o,
                              Ccai_tts **ret)
{
    (void)cfg;
    dying *d = calloc(1, sizeof *d);
    d->base.provider = &dying_tts;
    d->base.out = ulaw8;
    d->ctx = ctx;
    d->o = *o;
    Ccai_timer_init(&d->timer, dying_fire, d);
    dying_opened++;
    *ret = &d->base;
    return CCAI_OK;
}

static ccai_status dying_say(Ccai_tts *t, const Ccai_tts_text *text, uint32_t *ret_id)
{
    (void)text;
    dying *d = (dying *)t;
    *ret_id = ++d->id;
    d->pending = true;
    Ccai_timer_start(d->ctx, &d->timer, 30);
    return CCAI_OK;
}

static void dying_cancel(Ccai_tts *t)
{
    ((dying *)t)->pending = false;
}

static void dying_close(Ccai_tts *t)
{
    dying *d = (dying *)t;
    Ccai_timer_stop(d->ctx, &d->timer);
    free(d);
}

static const Ccai_tts_provider dying_tts = {
    .name = "dying",
    .open = dying_open,
    .say = dying_say,
    .cancel = dying_cancel,
    .close = dying_close,
};

static void test_voice_tts_fallback(void **state)
{
    (void)state;
    if (!have_all())
        skip();
    env e;
    const char *keys[] = {"speech.tts.providers", "[\"dying\", \"flite\"]", NULL};
    env_start(&e, keys, ulaw_fmt, none_fmt, 0);
    assert_int_equal(Ccai_voice_add_tts(Ccai_ctx_voice(e.ctx), &dying_tts), CCAI_OK);
    dying_opened = dying_died = 0;
    env_call(&e, 0, none_fmt);
    wait_quiet(&e, 30000);
    assert_int_equal(dying_opened, 1);
    assert_int_equal(dying_died, 1);
    /* The tone, then flite's voice: the greeting's words come through. */
    assert_true(e.h.heard_len > 8000);
    char got[4096];
    recognise(e.h.heard + 1600, e.h.heard_len - 1600, got, sizeof got);
    fprintf(stderr, "# after the fallback, heard: %s\n", got);
    assert_true(strlen(got) > 0);
    json_t *doc = messages(&e);
    assert_non_null(nth_message(doc, "assistant", "talk", 0));
    json_decref(doc);
    env_free(&e);
}

/* Voicemail: an outbound call answered by a machine (espeak-ng's greeting,
 * then a 1 kHz beep, through mu-law as on a phone line): the bot waits for
 * the beep, leaves the message, hangs up; the call ends as "voicemail",
 * with a callback scheduled. A person's "Hello?" then silence is no
 * machine: the conversation goes on. */
static void test_voice_voicemail(void **state)
{
    (void)state;
    if (!have_all())
        skip();
    static const char *const keys[] = {"voicemail.enabled", "true", NULL};
    env e;
    env_start(&e, keys, ulaw_fmt, none_fmt, 0);
    e.direction = CCAI_OUTBOUND;
    env_call(&e, 0, none_fmt);
    say(&e, "Hi, you have reached the voicemail of John Smith. I cannot take your call right now. "
            "Please leave a message after the tone.");
    wait_ms(&e, 400);
    json_t *doc = messages(&e);
    const char *first = nth_message(doc, "human", "machine", 0);
    assert_non_null(first);
    assert_non_null(strstr(first, "machine_start"));
    assert_null(nth_message(doc, "human", "machine", 1)); /* no message before the beep */
    json_decref(doc);
    size_t before = e.h.heard_len;
    for (int f = 0; f < 30; f++) { /* 600 ms at 1 kHz */
        uint8_t b[FRAME];
        for (size_t i = 0; i < FRAME; i++)
            b[i] = Ccai_ulaw_encode(
                (int16_t)(8000 * sin(2 * M_PI * 1000 * (double)(f * FRAME + (int)i) / 8000)));
        tick(&e, b);
    }
    wait_quiet(&e, 20000);
    assert_true(e.h.heard_len > before + 8000); /* the message, after the beep */
    assert_int_equal(e.h.hangups, 1);
    assert_int_equal(ccai_call_notify(e.call, CCAI_EVENT_HANGUP, "completed"), CCAI_OK);
    doc = messages(&e);
    assert_non_null(strstr(nth_message(doc, "human", "machine", 1), "machine_end_beep"));
    bool left = false;
    for (size_t k = 0; nth_message(doc, "assistant", "talk", k); k++)
        left = left || strstr(nth_message(doc, "assistant", "talk", k), "We tried to reach you");
    assert_true(left);
    assert_string_equal(json_string_value(json_object_get(doc, "end_reason")), "voicemail");
    /* No callback: this host places no calls (the Twilio flow test has
     * one that does). */
    assert_int_equal(json_array_size(json_object_get(doc, "callbacks")), 0);
    json_decref(doc);
    env_free(&e);

    env_start(&e, keys, ulaw_fmt, none_fmt, 0);
    e.direction = CCAI_OUTBOUND;
    env_call(&e, 0, none_fmt);
    say(&e, "Hello?");
    wait_ms(&e, 3000);
    doc = messages(&e);
    assert_null(nth_message(doc, "human", "machine", 0));
    json_decref(doc);
    assert_int_equal(e.h.hangups, 0);
    assert_true(ccai_call_get_state(e.call) >= CCAI_CALL_CONVERSATION);
    env_free(&e);
}

int main(void)
{
    if (getenv("CCAI_TEST_FILTER"))
        cmocka_set_test_filter(getenv("CCAI_TEST_FILTER"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_voice_call_offline),
        cmocka_unit_test(test_voice_barge_in),
        cmocka_unit_test(test_voice_barge_in_echo),
        cmocka_unit_test(test_voice_false_interruption),
        cmocka_unit_test(test_voice_echo),
        cmocka_unit_test(test_voice_malformed),
        cmocka_unit_test(test_voice_stt_fallback),
        cmocka_unit_test(test_voice_stt_result_timeout),
        cmocka_unit_test(test_voice_silence),
        cmocka_unit_test(test_voice_dtmf),
        cmocka_unit_test(test_voice_denoise_agc),
        cmocka_unit_test(test_voice_recording),
        cmocka_unit_test(test_voice_paced_echo_cancel),
        cmocka_unit_test(test_voice_menu),
        cmocka_unit_test(test_voice_voicemail),
        cmocka_unit_test(test_voice_said_heard_in_place),
        cmocka_unit_test(test_voice_grammar),
        cmocka_unit_test(test_voice_tts_fallback),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
