/* Offline TTS streams: flite in-process (format, duration, speed, queue,
 * cancel mid-synthesis, every voice) and espeak-ng as a process (real
 * audio, a missing program, a program writing something else, one that
 * hangs and is killed, no zombie left), the WAV stream parser, and every
 * allocation failure. Cases needing espeak-ng skip without it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "media/vad.h"
#include "speech/espeak.h"
#include "speech/synth.h"
#include "support/oom.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const Ccai_media_format phone = {CCAI_MEDIA_ULAW, 8000, 1};

typedef struct sink_state {
    uint8_t *data;
    size_t len, cap;
    size_t chunks, short_chunks;
    size_t chunk_bytes; /* a full chunk */
    size_t stop_after;  /* return false at this chunk (0: never) */
    uint32_t done_ids[16];
    ccai_status done_st[16];
    size_t n_done;
    size_t audio_after_done;
    Ccai_synth *free_me;
    Ccai_synth *say_more; /* queue a text from inside done */
} sink_state;

static bool on_audio(void *ud, const uint8_t *d, size_t n)
{
    sink_state *s = ud;
    if (s->len + n > s->cap) {
        s->cap = (s->len + n) * 2;
        s->data = realloc(s->data, s->cap);
        assert_non_null(s->data);
    }
    memcpy(s->data + s->len, d, n);
    s->len += n;
    s->chunks++;
    if (s->chunk_bytes && n != s->chunk_bytes)
        s->short_chunks++;
    if (s->free_me) {
        Ccai_synth_free(s->free_me);
        s->free_me = NULL;
        return true;
    }
    return !(s->stop_after && s->chunks >= s->stop_after);
}

static void on_done(void *ud, uint32_t id, ccai_status st)
{
    sink_state *s = ud;
    if (s->n_done < CCAI_ARRAY_SIZE(s->done_ids)) {
        s->done_ids[s->n_done] = id;
        s->done_st[s->n_done] = st;
    }
    s->n_done++;
    if (s->say_more) {
        Ccai_synth *t = s->say_more;
        s->say_more = NULL;
        assert_int_equal(Ccai_synth_say(t, "More.", 5, NULL), CCAI_OK);
    }
}

static const Ccai_synth_sink sink = {on_audio, on_done};

static void need(Ccai_synth_engine e)
{
    if (!Ccai_synth_engine_available(e))
        skip(); /* flite left out of this build */
}

static bool have_espeak(void)
{
    return system("command -v espeak-ng >/dev/null 2>&1") == 0;
}

static Ccai_synth *make(Ccai_synth_engine e, const char *voice, double rate, sink_state *s)
{
    Ccai_synth_params p;
    Ccai_synth_params_default(&p);
    p.engine = e;
    p.voice = voice;
    p.rate = rate;
    p.out = phone;
    Ccai_synth *t = NULL;
    Ccai_err err = {0};
    ccai_status st = Ccai_synth_new(&p, &sink, s, &t, &err);
    if (st != CCAI_OK)
        fail_msg("tts: %s %s", ccai_status_str(st), Ccai_err_get(&err));
    Ccai_err_free(&err);
    s->chunk_bytes = Ccai_media_bytes_per_ms(&phone, 20);
    return t;
}

/* Step until idle, waiting on the descriptors it names (poll stands in
 * for the host's loop). */
static void run(Ccai_synth *t)
{
    for (int guard = 0; Ccai_synth_busy(t); guard++) {
        assert_true(guard < 100000);
        Ccai_synth_fd fds[4];
        size_t n = Ccai_synth_fds(t, fds, 4);
        if (n) {
            struct pollfd pf[4];
            for (size_t i = 0; i < n; i++) {
                pf[i].fd = fds[i].fd;
                pf[i].events = (short)((fds[i].read ? POLLIN : 0) | (fds[i].write ? POLLOUT : 0));
            }
            assert_true(poll(pf, n, 10000) > 0); /* never stuck on a dead descriptor */
        }
        assert_int_equal(Ccai_synth_step(t), CCAI_OK);
    }
}

static double seconds(const sink_state *s)
{
    return (double)s->len / 8000.0;
}

static double level_db(const sink_state *s)
{
    int16_t *pcm = malloc(s->len * sizeof *pcm + 1);
    assert_non_null(pcm);
    Ccai_media_decode(CCAI_MEDIA_ULAW, s->data, s->len, pcm);
    double db = Ccai_media_level_db(pcm, s->len);
    free(pcm);
    return db;
}

static void no_children_left(void)
{
    errno = 0;
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
}

static void flite_format_and_duration(void **state)
{
    (void)state;
    need(CCAI_SYNTH_FLITE);
    sink_state s = {0};
    Ccai_synth *t = make(CCAI_SYNTH_FLITE, NULL, 1.0, &s);
    assert_int_equal(Ccai_synth_native_rate(t), 16000);
    uint32_t id = 0;
    const char *text = "Hello, thank you for calling. How can I help you today?";
    assert_int_equal(Ccai_synth_say(t, text, strlen(text), &id), CCAI_OK);
    assert_true(Ccai_synth_busy(t));
    Ccai_synth_fd fds[2];
    assert_int_equal(Ccai_synth_fds(t, fds, 2), 0); /* in-process: nothing to wait for */
    /* One step, one sentence: the first audio comes before the second
     * sentence is made. */
    assert_int_equal(Ccai_synth_step(t), CCAI_OK);
    size_t first = s.len;
    assert_true(first > 0);
    assert_int_equal(s.n_done, 0);
    run(t);
    assert_int_equal(s.n_done, 1);
    assert_int_equal(s.done_ids[0], id);
    assert_int_equal(s.done_st[0], CCAI_OK);
    assert_true(s.len > first);
    /* 20 ms mu-law chunks, only the very last one may be shorter. */
    assert_true(s.short_chunks <= 1);
    print_message("# kal16: %.2f s of audio in %zu chunks, %.1f dBFS\n", seconds(&s), s.chunks,
                  level_db(&s));
    assert_true(seconds(&s) > 2.0 && seconds(&s) < 6.0);
    assert_true(level_db(&s) > -35.0);
    assert_false(Ccai_synth_busy(t));
    Ccai_synth_free(t);
    free(s.data);
}

static double duration_at(const char *voice, double rate, const char *text)
{
    sink_state s = {0};
    Ccai_synth *t = make(CCAI_SYNTH_FLITE, voice, rate, &s);
    assert_int_equal(Ccai_synth_say(t, text, strlen(text), NULL), CCAI_OK);
    run(t);
    Ccai_synth_free(t);
    double d = seconds(&s);
    free(s.data);
    return d;
}

static void flite_speed(void **state)
{
    (void)state;
    need(CCAI_SYNTH_FLITE);
    const char *text = "Your appointment is confirmed for Tuesday at three thirty.";
    double slow = duration_at("kal16", 0.75, text), fast = duration_at("kal16", 1.5, text);
    double normal = duration_at("kal16", 1.0, text);
    print_message("# kal16: %.2f s at 0.75, %.2f s at 1, %.2f s at 1.5\n", slow, normal, fast);
    assert_true(slow > normal && normal > fast);
    assert_true(slow / fast > 1.5 && slow / fast < 2.6); /* nominally 2 */
    /* SSML's rate inside the text, on top of the stream's. */
    double marked = duration_at("kal16", 1.0,
                                "<speak><prosody rate=\"x-fast\">Your appointment is confirmed "
                                "for Tuesday at three thirty.</prosody></speak>");
    assert_true(marked < normal * 0.8);
    /* clustergen voices too */
    double slt = duration_at("slt", 1.0, text), slt_fast = duration_at("slt", 1.6, text);
    print_message("# slt: %.2f s at 1, %.2f s at 1.6\n", slt, slt_fast);
    assert_true(slt_fast < slt * 0.8);
}

static void flite_voices(void **state)
{
    (void)state;
    need(CCAI_SYNTH_FLITE);
    const char *voices[] = {"kal16", "kal", "slt", "rms", "awb", "cmu_us_slt"};
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(voices); i++) {
        sink_state s = {0};
        Ccai_synth *t = make(CCAI_SYNTH_FLITE, voices[i], 1.0, &s);
        assert_int_equal(Ccai_synth_native_rate(t), strcmp(voices[i], "kal") == 0 ? 8000 : 16000);
        assert_int_equal(Ccai_synth_say(t, "Good morning.", 13, NULL), CCAI_OK);
        run(t);
        print_message("# %s: %.2f s, %.1f dBFS\n", voices[i], seconds(&s), level_db(&s));
        assert_true(seconds(&s) > 0.4 && seconds(&s) < 3.0);
        assert_true(level_db(&s) > -35.0);
        Ccai_synth_free(t);
        free(s.data);
    }
}

static void queue_and_ids(void **state)
{
    (void)state;
    need(CCAI_SYNTH_FLITE);
    sink_state s = {0};
    Ccai_synth *t = make(CCAI_SYNTH_FLITE, NULL, 1.0, &s);
    uint32_t ids[4];
    assert_int_equal(Ccai_synth_say(t, "One.", 4, &ids[0]), CCAI_OK);
    assert_int_equal(Ccai_synth_say(t, "<break/>", 8, &ids[1]), CCAI_OK); /* nothing to say */
    assert_int_equal(Ccai_synth_say(t, "Two. Three.", 11, &ids[2]), CCAI_OK);
    assert_int_equal(Ccai_synth_say(t, "", 0, &ids[3]), CCAI_OK);
    s.say_more = t; /* a text queued from inside done */
    run(t);
    assert_int_equal(s.n_done, 5);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(s.done_ids[i], ids[i]);
        assert_int_equal(s.done_st[i], CCAI_OK);
    }
    assert_int_equal(s.done_ids[4], ids[3] + 1);
    /* Each text ends on its own (possibly short) chunk. */
    assert_true(s.short_chunks <= 3);
    /* Queue limit */
    for (int i = 0; i < 256; i++)
        assert_int_equal(Ccai_synth_say(t, "x", 1, NULL), CCAI_OK);
    assert_int_equal(Ccai_synth_say(t, "x", 1, NULL), CCAI_ERR_LIMIT);
    Ccai_synth_cancel(t);
    assert_int_equal(s.n_done, 5 + 256);
    assert_false(Ccai_synth_busy(t));
    Ccai_synth_free(t);
    free(s.data);
}

/* Barge-in: the sink says stop in the middle of a sentence. */
static void cancel_mid_synthesis(void **state)
{
    (void)state;
    need(CCAI_SYNTH_FLITE);
    sink_state s = {0};
    /* slt streams within a sentence: the stop lands inside flite. */
    Ccai_synth *t = make(CCAI_SYNTH_FLITE, "slt", 1.0, &s);
    const char *text = "This is a long sentence that the caller will interrupt half way through "
                       "because they already know the answer. And this one never starts.";
    uint32_t a, b;
    assert_int_equal(Ccai_synth_say(t, text, strlen(text), &a), CCAI_OK);
    assert_int_equal(Ccai_synth_say(t, "Queued after.", 13, &b), CCAI_OK);
    s.stop_after = 5;
    assert_int_equal(Ccai_synth_step(t), CCAI_OK);
    assert_int_equal(s.chunks, 5); /* nothing after the stop */
    assert_int_equal(s.n_done, 2);
    assert_int_equal(s.done_ids[0], a);
    assert_int_equal(s.done_st[0], CCAI_ERR_CANCELLED);
    assert_int_equal(s.done_ids[1], b);
    assert_int_equal(s.done_st[1], CCAI_ERR_CANCELLED);
    assert_false(Ccai_synth_busy(t));
    /* The stream goes on with the next text, from a clean state. */
    s.stop_after = 0;
    size_t before = s.len;
    assert_int_equal(Ccai_synth_say(t, "Yes?", 4, NULL), CCAI_OK);
    run(t);
    assert_int_equal(s.done_st[2], CCAI_OK);
    assert_true(s.len > before);
    /* Cancelled from outside between two steps. */
    assert_int_equal(Ccai_synth_say(t, "First sentence. Second sentence.", 32, &a), CCAI_OK);
    assert_int_equal(Ccai_synth_step(t), CCAI_OK);
    size_t chunks = s.chunks;
    Ccai_synth_cancel(t);
    assert_int_equal(s.done_st[3], CCAI_ERR_CANCELLED);
    assert_int_equal(Ccai_synth_step(t), CCAI_OK);
    assert_int_equal(s.chunks, chunks);
    Ccai_synth_free(t);
    free(s.data);
}

static void free_inside_callback(void **state)
{
    (void)state;
    need(CCAI_SYNTH_FLITE);
    sink_state s = {0};
    Ccai_synth *t = make(CCAI_SYNTH_FLITE, NULL, 1.0, &s);
    assert_int_equal(Ccai_synth_say(t, "Goodbye now.", 12, NULL), CCAI_OK);
    s.free_me = t;
    assert_int_equal(Ccai_synth_step(t), CCAI_OK);
    /* Freed (the sanitizer build checks the memory); no done came. */
    assert_null(s.free_me);
    assert_int_equal(s.n_done, 0);
    free(s.data);
}

static void refused(void **state)
{
    (void)state;
    Ccai_synth_params p;
    Ccai_synth *t = (Ccai_synth *)0x1;
    Ccai_err err = {0};
    sink_state s = {0};
    Ccai_synth_params_default(&p);
    p.rate = 3;
    assert_int_equal(Ccai_synth_new(&p, &sink, &s, &t, &err), CCAI_ERR_INVALID_ARG);
    Ccai_synth_params_default(&p);
    p.out.rate = 11025;
    assert_int_equal(Ccai_synth_new(&p, &sink, &s, &t, &err), CCAI_ERR_INVALID_ARG);
    Ccai_synth_params_default(&p);
    p.frame_ms = 5;
    assert_int_equal(Ccai_synth_new(&p, &sink, &s, &t, &err), CCAI_ERR_INVALID_ARG);
    Ccai_synth_params_default(&p);
    p.engine = (Ccai_synth_engine)9;
    assert_int_equal(Ccai_synth_new(&p, &sink, &s, &t, &err), CCAI_ERR_INVALID_ARG);
    Ccai_synth_sink half = {on_audio, NULL};
    Ccai_synth_params_default(&p);
    assert_int_equal(Ccai_synth_new(&p, &half, &s, &t, &err), CCAI_ERR_INVALID_ARG);
    p.engine = CCAI_SYNTH_ESPEAK;
    p.voice = "-x";
    assert_int_equal(Ccai_synth_new(&p, &sink, &s, &t, &err), CCAI_ERR_INVALID_ARG);
    p.voice = "fr; rm -rf /";
    assert_int_equal(Ccai_synth_new(&p, &sink, &s, &t, &err), CCAI_ERR_INVALID_ARG);
    assert_ptr_equal(t, (Ccai_synth *)0x1);
    if (Ccai_synth_engine_available(CCAI_SYNTH_FLITE)) {
        Ccai_synth_params_default(&p);
        p.voice = "nobody";
        assert_int_equal(Ccai_synth_new(&p, &sink, &s, &t, &err), CCAI_ERR_NOT_FOUND);
        assert_non_null(strstr(Ccai_err_get(&err), "nobody"));
        Ccai_synth_params_default(&p);
        p.language = "fr-FR";
        assert_int_equal(Ccai_synth_new(&p, &sink, &s, &t, &err), CCAI_ERR_UNSUPPORTED);
        assert_non_null(strstr(Ccai_err_get(&err), "English only"));
    }
    Ccai_err_free(&err);
    Ccai_synth_free(NULL);
    assert_false(Ccai_synth_busy(NULL));
    assert_int_equal(Ccai_synth_engine_for("en-GB"), CCAI_SYNTH_FLITE);
    assert_int_equal(Ccai_synth_engine_for("en"), CCAI_SYNTH_FLITE);
    assert_int_equal(Ccai_synth_engine_for(NULL), CCAI_SYNTH_FLITE);
    assert_int_equal(Ccai_synth_engine_for("fr-FR"), CCAI_SYNTH_ESPEAK);
    assert_int_equal(Ccai_synth_engine_for("eng"), CCAI_SYNTH_ESPEAK);
    assert_true(Ccai_synth_engine_available(CCAI_SYNTH_ESPEAK));
}

static void espeak_voices(void **state)
{
    (void)state;
    char v[48];
    assert_true(Ccai_espeak_voice_for("fr-FR", v, sizeof v));
    assert_string_equal(v, "fr-fr");
    assert_true(Ccai_espeak_voice_for("de", v, sizeof v));
    assert_string_equal(v, "de");
    assert_true(Ccai_espeak_voice_for("pt_BR", v, sizeof v));
    assert_string_equal(v, "pt-br");
    assert_false(Ccai_espeak_voice_for("x", v, sizeof v));
    assert_false(Ccai_espeak_voice_for("-v", v, sizeof v));
    assert_false(Ccai_espeak_voice_for("fr fr", v, sizeof v));
    assert_false(Ccai_espeak_voice_for("fr", v, 8));
    assert_false(Ccai_espeak_voice_for(NULL, v, sizeof v));
    assert_true(Ccai_espeak_voice_valid("en-us+f3"));
    assert_false(Ccai_espeak_voice_valid(""));
    assert_false(Ccai_espeak_voice_valid("a/b"));
}

static Ccai_synth *make_espeak(const char *program, const char *voice, sink_state *s)
{
    Ccai_synth_params p;
    Ccai_synth_params_default(&p);
    p.engine = CCAI_SYNTH_ESPEAK;
    p.voice = voice;
    p.out = phone;
    if (program)
        p.espeak_program = program;
    Ccai_synth *t = NULL;
    assert_int_equal(Ccai_synth_new(&p, &sink, s, &t, NULL), CCAI_OK);
    s->chunk_bytes = Ccai_media_bytes_per_ms(&phone, 20);
    return t;
}

static void espeak_speaks(void **state)
{
    (void)state;
    if (!have_espeak())
        skip(); /* espeak-ng not installed */
    no_children_left();
    sink_state s = {0};
    Ccai_synth_params p;
    Ccai_synth_params_default(&p);
    p.engine = CCAI_SYNTH_ESPEAK;
    p.language = "fr-FR";
    p.out = phone;
    Ccai_synth *t = NULL;
    assert_int_equal(Ccai_synth_new(&p, &sink, &s, &t, NULL), CCAI_OK);
    s.chunk_bytes = 160;
    assert_int_equal(Ccai_synth_native_rate(t), 22050);
    const char *text = "Bonjour, merci de votre appel. Comment puis-je vous aider ?";
    uint32_t id;
    assert_int_equal(Ccai_synth_say(t, text, strlen(text), &id), CCAI_OK);
    /* The first step starts the process: there are descriptors to wait for. */
    assert_int_equal(Ccai_synth_step(t), CCAI_OK);
    Ccai_synth_fd fds[4];
    assert_true(Ccai_synth_fds(t, fds, 4) >= 1);
    run(t);
    assert_int_equal(s.n_done, 1);
    assert_int_equal(s.done_st[0], CCAI_OK);
    assert_int_equal(s.done_ids[0], id);
    print_message("# espeak-ng fr-fr: %.2f s, %zu chunks, %.1f dBFS\n", seconds(&s), s.chunks,
                  level_db(&s));
    assert_true(seconds(&s) > 2.0 && seconds(&s) < 8.0);
    assert_true(level_db(&s) > -35.0);
    assert_true(s.short_chunks <= 1);
    assert_int_equal(Ccai_synth_fds(t, fds, 4), 0);
    no_children_left();
    /* Slower speech lasts longer. */
    double normal = seconds(&s);
    Ccai_synth_free(t);
    free(s.data);
    memset(&s, 0, sizeof s);
    p.rate = 0.6;
    assert_int_equal(Ccai_synth_new(&p, &sink, &s, &t, NULL), CCAI_OK);
    assert_int_equal(Ccai_synth_say(t, text, strlen(text), NULL), CCAI_OK);
    run(t);
    print_message("# at 0.6: %.2f s\n", seconds(&s));
    assert_true(seconds(&s) > normal * 1.3);
    Ccai_synth_free(t);
    free(s.data);
}

static void espeak_failures(void **state)
{
    (void)state;
    if (!have_espeak())
        skip(); /* espeak-ng not installed */
    const char *src = getenv("CCAI_TEST_SRCDIR");
    assert_non_null(src);
    char not_audio[1024], hang[1024];
    snprintf(not_audio, sizeof not_audio, "%s/tests/speech/not-audio.sh", src);
    snprintf(hang, sizeof hang, "%s/tests/speech/hang.sh", src);
    /* No such program: the text fails, the next one is tried. */
    sink_state s = {0};
    Ccai_synth *t = make_espeak("/nonexistent/espeak-ng", "en-us", &s);
    assert_int_equal(Ccai_synth_say(t, "One.", 4, NULL), CCAI_OK);
    assert_int_equal(Ccai_synth_say(t, "Two.", 4, NULL), CCAI_OK);
    run(t);
    assert_int_equal(s.n_done, 2);
    assert_int_equal(s.done_st[0], CCAI_ERR_IO);
    assert_int_equal(s.done_st[1], CCAI_ERR_IO);
    assert_int_equal(s.len, 0);
    Ccai_synth_free(t);
    /* An unknown voice: espeak-ng exits 1 without audio. */
    memset(&s, 0, sizeof s);
    t = make_espeak(NULL, "xx-nonexistent", &s);
    assert_int_equal(Ccai_synth_say(t, "Hello.", 6, NULL), CCAI_OK);
    run(t);
    assert_int_equal(s.done_st[0], CCAI_ERR_IO);
    Ccai_synth_free(t);
    no_children_left();
    /* A program that writes something else than audio. */
    memset(&s, 0, sizeof s);
    t = make_espeak(not_audio, "en-us", &s);
    assert_int_equal(Ccai_synth_say(t, "Hello.", 6, NULL), CCAI_OK);
    run(t);
    assert_int_equal(s.done_st[0], CCAI_ERR_PARSE);
    assert_int_equal(s.len, 0);
    Ccai_synth_free(t);
    no_children_left();
    /* One that hangs after its header: cancelling kills it at once. */
    memset(&s, 0, sizeof s);
    t = make_espeak(hang, "en-us", &s);
    assert_int_equal(Ccai_synth_say(t, "Hello.", 6, NULL), CCAI_OK);
    for (int i = 0; i < 20; i++) {
        Ccai_synth_fd fds[4];
        size_t n = Ccai_synth_fds(t, fds, 4);
        struct pollfd pf[4];
        for (size_t k = 0; k < n; k++) {
            pf[k].fd = fds[k].fd;
            pf[k].events = (short)((fds[k].read ? POLLIN : 0) | (fds[k].write ? POLLOUT : 0));
        }
        if (n)
            poll(pf, n, 50);
        assert_int_equal(Ccai_synth_step(t), CCAI_OK);
    }
    assert_true(Ccai_synth_busy(t));
    assert_int_equal(s.len, 0);
    Ccai_synth_cancel(t);
    assert_int_equal(s.done_st[0], CCAI_ERR_CANCELLED);
    no_children_left();
    /* And freeing a stream with a process running kills it too. */
    assert_int_equal(Ccai_synth_say(t, "Hello.", 6, NULL), CCAI_OK);
    assert_int_equal(Ccai_synth_step(t), CCAI_OK);
    Ccai_synth_free(t);
    no_children_left();
}

static void espeak_barge_in(void **state)
{
    (void)state;
    if (!have_espeak())
        skip(); /* espeak-ng not installed */
    sink_state s = {0};
    Ccai_synth *t = make_espeak(NULL, "de", &s);
    const char *text = "Guten Tag. Das ist ein langer Satz, den der Anrufer unterbrechen wird, "
                       "bevor er zu Ende ist.";
    assert_int_equal(Ccai_synth_say(t, text, strlen(text), NULL), CCAI_OK);
    s.stop_after = 3;
    run(t);
    assert_int_equal(s.chunks, 3);
    assert_int_equal(s.n_done, 1);
    assert_int_equal(s.done_st[0], CCAI_ERR_CANCELLED);
    no_children_left();
    Ccai_synth_free(t);
    free(s.data);
}

/* ---- the WAV stream parser ------------------------------------------------- */

typedef struct pcm_sink {
    int16_t pcm[8192];
    size_t n;
    uint32_t rate;
    size_t stop_at;
} pcm_sink;

static bool on_pcm(void *ud, const int16_t *pcm, size_t n, uint32_t rate)
{
    pcm_sink *p = ud;
    for (size_t i = 0; i < n && p->n < CCAI_ARRAY_SIZE(p->pcm); i++)
        p->pcm[p->n++] = pcm[i];
    p->rate = rate;
    return !(p->stop_at && p->n >= p->stop_at);
}

static size_t wav_bytes(const Ccai_media_format *f, uint64_t data_len, const int16_t *pcm, size_t n,
                        uint8_t *out)
{
    size_t hl;
    assert_int_equal(Ccai_wav_header_build(f, data_len, out, &hl), CCAI_OK);
    Ccai_media_encode(f->encoding, pcm, n, out + hl);
    return hl + n * Ccai_media_sample_bytes(f->encoding);
}

static void wavstream(void **state)
{
    (void)state;
    int16_t pcm[1000];
    for (int i = 0; i < 1000; i++)
        pcm[i] = (int16_t)(i * 31 - 15000);
    uint8_t buf[4096];
    /* espeak-ng's own: 22.05 kHz is not a format media/ writes, so its
     * header is built at 24 kHz and patched. */
    Ccai_media_format f = {CCAI_MEDIA_PCM16, 24000, 1};
    size_t len = wav_bytes(&f, 0x7ffff000, pcm, 1000, buf);
    const uint8_t rate22050[8] = {0x22, 0x56, 0, 0, 0x44, 0xac, 0, 0};
    memcpy(buf + 24, rate22050, sizeof rate22050);
    for (size_t step = 1; step <= 7; step += 3) {
        Ccai_wavstream w;
        Ccai_wavstream_init(&w);
        pcm_sink p = {0};
        assert_int_equal(Ccai_wavstream_end(&w), CCAI_ERR_PARSE);
        for (size_t off = 0; off < len; off += step)
            assert_int_equal(
                Ccai_wavstream_feed(&w, buf + off, len - off < step ? len - off : step, on_pcm, &p),
                CCAI_OK);
        assert_int_equal(Ccai_wavstream_end(&w), CCAI_OK);
        assert_int_equal(p.n, 1000);
        assert_int_equal(p.rate, 22050);
        assert_memory_equal(p.pcm, pcm, sizeof pcm);
    }
    /* mu-law, and bytes past the declared data are not audio. */
    Ccai_media_format u = {CCAI_MEDIA_ULAW, 8000, 1};
    len = wav_bytes(&u, 500, pcm, 1000, buf);
    Ccai_wavstream w;
    Ccai_wavstream_init(&w);
    pcm_sink p = {0};
    assert_int_equal(Ccai_wavstream_feed(&w, buf, len, on_pcm, &p), CCAI_OK);
    assert_int_equal(p.n, 500);
    /* Refused: stereo, not WAV, a header too long, a stop. */
    Ccai_media_format st = {CCAI_MEDIA_PCM16, 16000, 2};
    len = wav_bytes(&st, 400, pcm, 200, buf);
    Ccai_wavstream_init(&w);
    assert_int_equal(Ccai_wavstream_feed(&w, buf, len, on_pcm, &p), CCAI_ERR_UNSUPPORTED);
    Ccai_wavstream_init(&w);
    assert_int_equal(
        Ccai_wavstream_feed(&w, (const uint8_t *)"hello world, not a RIFF", 23, on_pcm, &p),
        CCAI_ERR_PARSE);
    static uint8_t big[8192];
    memcpy(big, "RIFF\0\0\0\0WAVEjunk\xf0\x1f\0\0", 16);
    Ccai_wavstream_init(&w);
    assert_int_equal(Ccai_wavstream_feed(&w, big, sizeof big, on_pcm, &p), CCAI_ERR_LIMIT);
    len = wav_bytes(&f, 2000, pcm, 1000, buf);
    Ccai_wavstream_init(&w);
    pcm_sink stop = {.stop_at = 10};
    assert_int_equal(Ccai_wavstream_feed(&w, buf, len, on_pcm, &stop), CCAI_ERR_CANCELLED);
    assert_int_equal(Ccai_wavstream_feed(NULL, buf, len, on_pcm, &stop), CCAI_ERR_INVALID_ARG);
}

static ccai_status sc_tts(void)
{
    sink_state s = {0};
    Ccai_synth_params p;
    Ccai_synth_params_default(&p);
    p.out = phone;
    Ccai_synth *t = NULL;
    const char *text = "One. <prosody rate=\"fast\">Two</prosody>.";
    ccai_status st = Ccai_synth_new(&p, &sink, &s, &t, NULL);
    if (st == CCAI_OK)
        st = Ccai_synth_say(t, text, strlen(text), NULL);
    while (st == CCAI_OK && Ccai_synth_busy(t))
        st = Ccai_synth_step(t);
    /* A failure inside a text goes to its done. */
    if (st == CCAI_OK && s.n_done == 1 && s.done_st[0] != CCAI_OK)
        st = s.done_st[0];
    Ccai_synth_free(t);
    free(s.data);
    return st;
}

static void out_of_memory(void **state)
{
    (void)state;
    need(CCAI_SYNTH_FLITE);
    assert_true(oom_exhaust("flite stream", sc_tts, NULL) > 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(flite_format_and_duration),
        cmocka_unit_test(flite_speed),
        cmocka_unit_test(flite_voices),
        cmocka_unit_test(queue_and_ids),
        cmocka_unit_test(cancel_mid_synthesis),
        cmocka_unit_test(free_inside_callback),
        cmocka_unit_test(refused),
        cmocka_unit_test(espeak_voices),
        cmocka_unit_test(espeak_speaks),
        cmocka_unit_test(espeak_failures),
        cmocka_unit_test(espeak_barge_in),
        cmocka_unit_test(wavstream),
        cmocka_unit_test(out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
