/* Offline speech-to-text with pocketsphinx on telephone audio made at test
 * time: flite and espeak-ng voices through G.711 mu-law at 8 kHz, fed in
 * 20 ms frames as a phone line delivers them. Thresholds are generous (a
 * real decoder passes them with margin); the exact accuracy is measured by
 * bench-speech. Skipped where Debian's pocketsphinx-en-us is missing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "speech/sphinx.h"
#include "support/oom.h"
#include "support/voice.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const Ccai_media_format phone = {CCAI_MEDIA_ULAW, 8000, 1};
static const Ccai_media_format wide = {CCAI_MEDIA_PCM16, 16000, 1};

static Ccai_sphinx_model *model; /* the free-text model, shared by the tests */

typedef struct results {
    size_t partials, finals;
    size_t partials_before_final;
    char text[1024], free_text[1024], last_partial[1024];
    Ccai_slot slot;
    double confidence;
    size_t n_words;
    bool words_ordered;
    bool truncated[16];
    bool free_text_set;
    Ccai_sphinx *free_me; /* free the stream from inside the callback */
} results;

static void on_result(const Ccai_sphinx_result *r, void *ud)
{
    results *res = ud;
    if (r->event == CCAI_SPHINX_PARTIAL) {
        res->partials++;
        assert_true(r->text[0] != '\0');
        snprintf(res->last_partial, sizeof res->last_partial, "%s", r->text);
        if (res->free_me) {
            Ccai_sphinx_free(res->free_me);
            res->free_me = NULL;
        }
        return;
    }
    if (res->finals < CCAI_ARRAY_SIZE(res->truncated))
        res->truncated[res->finals] = r->truncated;
    if (res->finals == 0)
        res->partials_before_final = res->partials;
    res->finals++;
    snprintf(res->text, sizeof res->text, "%s", r->text);
    res->free_text_set = r->free_text != NULL;
    snprintf(res->free_text, sizeof res->free_text, "%s", r->free_text ? r->free_text : "");
    res->slot = r->slot;
    res->confidence = r->confidence;
    res->n_words = r->n_words;
    res->words_ordered = true;
    for (size_t i = 0; i < r->n_words; i++) {
        const Ccai_sphinx_word *w = &r->words[i];
        if (w->start_ms > w->end_ms || w->end_ms > r->audio_ms + 20 || w->confidence < 0 ||
            w->confidence > 1 || (i && w->start_ms < r->words[i - 1].start_ms))
            res->words_ordered = false;
    }
}

static int setup(void **state)
{
    (void)state;
    if (access(CCAI_SPHINX_MODEL_DIR "/en-us/mdef", R_OK) != 0)
        return 0; /* every test skips */
    Ccai_err err = {0};
    ccai_status st = Ccai_sphinx_model_new(NULL, NULL, &model, &err);
    if (st != CCAI_OK)
        fprintf(stderr, "# model: %s %s\n", ccai_status_str(st), Ccai_err_get(&err));
    Ccai_err_free(&err);
    return st == CCAI_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    Ccai_sphinx_model_free(model);
    return 0;
}

static void need_model(void)
{
    if (!model)
        skip(); /* pocketsphinx-en-us not installed */
}

static void need(Ccai_synth_engine e)
{
    need_model();
    if (!voice_available(e))
        skip(); /* flite left out of this build, or espeak-ng not installed */
}

/* Decode what is queued, as the host's loop would between other events. */
static void drain(Ccai_sphinx *s)
{
    while (Ccai_sphinx_pending_ms(s))
        assert_int_equal(Ccai_sphinx_step(s), CCAI_OK);
}

/* Feed audio in 20 ms frames (any rest at the end), then end the turn. */
static void feed_all(Ccai_sphinx *s, const voice_audio *a, bool end)
{
    size_t frame = Ccai_media_bytes_per_ms(&a->fmt, 20);
    for (size_t off = 0; off < a->len; off += frame) {
        size_t n = a->len - off < frame ? a->len - off : frame;
        ccai_status st = Ccai_sphinx_feed(s, a->data + off, n);
        if (st != CCAI_OK)
            fail_msg("feed: %s %s", ccai_status_str(st), Ccai_sphinx_errmsg(s));
        while (Ccai_sphinx_pending_ms(s))
            assert_int_equal(Ccai_sphinx_step(s), CCAI_OK);
    }
    if (end) {
        assert_int_equal(Ccai_sphinx_end(s), CCAI_OK);
        while (Ccai_sphinx_pending_ms(s))
            assert_int_equal(Ccai_sphinx_step(s), CCAI_OK);
    }
}

static void say(Ccai_synth_engine e, const char *voice, double rate, const char *text,
                const Ccai_media_format *fmt, voice_audio *a)
{
    if (!voice_render(e, voice, rate, text, fmt, 300, 400, a))
        fail_msg("could not render \"%s\"", text);
}

/* Free text through a phone line: the key words of each sentence are
 * heard, from the very first utterance of the call (the telephone
 * cepstral mean; without it the first utterance is mostly wrong). */
static void free_text_on_the_phone(void **state)
{
    (void)state;
    need(CCAI_SYNTH_FLITE);
    static const struct {
        const char *voice;
        double rate;
        const char *text, *keys;
    } lines[] = {
        {"kal16", 1.0, "can you please tell me your account number", "please account number"},
        {"rms", 1.0, "i would like to speak to an agent", "speak agent"},
        {"kal16", 1.2, "your appointment is confirmed for tuesday",
         "appointment confirmed tuesday"},
        {"rms", 0.9, "thank you for your call goodbye", "thank call goodbye"},
    };
    results res = {0};
    Ccai_sphinx *s = NULL;
    assert_int_equal(Ccai_sphinx_new(model, &phone, on_result, &res, &s), CCAI_OK);
    size_t hits = 0, total = 0, errors = 0, words = 0;
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(lines); i++) {
        voice_audio a;
        say(CCAI_SYNTH_FLITE, lines[i].voice, lines[i].rate, lines[i].text, &phone, &a);
        size_t finals = res.finals;
        feed_all(s, &a, true);
        voice_audio_free(&a);
        assert_int_equal(res.finals, finals + 1);
        size_t n, e, w;
        size_t h = voice_keywords(lines[i].keys, res.text, &n);
        voice_word_errors(lines[i].text, res.text, &e, &w);
        print_message("# %s x%.1f: \"%s\" -> \"%s\" (%zu/%zu key words, confidence %.2f)\n",
                      lines[i].voice, lines[i].rate, lines[i].text, res.text, h, n, res.confidence);
        if (i == 0)
            assert_true(h >= 2); /* the first utterance of the call already */
        assert_true(res.words_ordered);
        assert_int_equal(res.n_words, strchr(res.text, ' ') ? res.n_words : res.n_words);
        hits += h;
        total += n;
        errors += e;
        words += w;
    }
    print_message("# free text, G.711: %zu/%zu key words, WER %.2f\n", hits, total,
                  (double)errors / (double)words);
    assert_true(hits * 10 >= total * 7);
    assert_true(errors * 2 <= words); /* WER under 0.5 (measured ~0.1-0.2) */
    Ccai_sphinx_free(s);
    Ccai_sphinx_stats st;
    Ccai_sphinx_model_stats(model, &st);
    assert_int_equal(st.free_busy + st.grammar_busy, 0);
}

/* 16 kHz PCM (a wideband channel) goes straight to the model. */
static void wideband(void **state)
{
    (void)state;
    need(CCAI_SYNTH_FLITE);
    results res = {0};
    Ccai_sphinx *s = NULL;
    assert_int_equal(Ccai_sphinx_new(model, &wide, on_result, &res, &s), CCAI_OK);
    voice_audio a;
    say(CCAI_SYNTH_FLITE, "kal16", 1.0, "is there anything else i can help you with", &wide, &a);
    feed_all(s, &a, true);
    voice_audio_free(&a);
    size_t n, h = voice_keywords("anything else help", res.text, &n);
    print_message("# 16 kHz: \"%s\"\n", res.text);
    assert_true(h >= 2);
    Ccai_sphinx_free(s);
}

typedef struct grammar_case {
    Ccai_speech_kind kind;
    const char *text, *slot;
} grammar_case;

static const grammar_case grammar_cases[] = {
    {CCAI_SPEECH_YESNO, "yes please", "yes"},
    {CCAI_SPEECH_YESNO, "no thank you", "no"},
    {CCAI_SPEECH_DIGITS, "four one five two three", "41523"},
    {CCAI_SPEECH_DIGITS, "seven eight nine zero one two", "789012"},
    {CCAI_SPEECH_DATE, "the fifth of march", "--03-05"},
    {CCAI_SPEECH_DATE, "the twenty first of june", "--06-21"},
    {CCAI_SPEECH_DATE, "next tuesday", "next tuesday"},
    {CCAI_SPEECH_NUMBER, "forty two", "42"},
};

/* Typed answers with their grammar: the slot is right for the flite
 * voices (the grammar's measured slot accuracy on them is ~1). */
static void grammar_answers(void **state)
{
    (void)state;
    need(CCAI_SYNTH_FLITE);
    results res = {0};
    Ccai_sphinx *s = NULL;
    assert_int_equal(Ccai_sphinx_new(model, &phone, on_result, &res, &s), CCAI_OK);
    const char *voices[] = {"kal16", "rms"};
    size_t right = 0, n = 0;
    for (size_t v = 0; v < CCAI_ARRAY_SIZE(voices); v++)
        for (size_t i = 0; i < CCAI_ARRAY_SIZE(grammar_cases); i++) {
            const grammar_case *c = &grammar_cases[i];
            assert_int_equal(Ccai_sphinx_expect(s, c->kind, NULL, 0, false), CCAI_OK);
            voice_audio a;
            say(CCAI_SYNTH_FLITE, voices[v], 1.0, c->text, &phone, &a);
            feed_all(s, &a, true);
            voice_audio_free(&a);
            bool ok = res.slot.matched && strcmp(res.slot.value, c->slot) == 0;
            print_message("# %s %s \"%s\" -> \"%s\" slot %s (confidence %.2f)%s\n", voices[v],
                          Ccai_speech_kind_name(c->kind), c->text, res.text, res.slot.value,
                          res.confidence, ok ? "" : "  WRONG");
            right += ok;
            n++;
        }
    print_message("# grammar slots, flite, G.711: %zu/%zu\n", right, n);
    assert_true(right * 10 >= n * 8);
    Ccai_sphinx_free(s);
}

/* The same answers with the free model only: interpreted from free text,
 * for the comparison bench-speech prints; the grammar does at least as
 * well. */
static void grammar_beats_free_text(void **state)
{
    (void)state;
    need(CCAI_SYNTH_FLITE);
    results res = {0};
    Ccai_sphinx *s = NULL;
    assert_int_equal(Ccai_sphinx_new(model, &phone, on_result, &res, &s), CCAI_OK);
    size_t with = 0, without = 0;
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(grammar_cases); i++) {
        const grammar_case *c = &grammar_cases[i];
        voice_audio a;
        say(CCAI_SYNTH_FLITE, "kal16", 1.0, c->text, &phone, &a);
        /* with the grammar, and the free model beside it */
        assert_int_equal(Ccai_sphinx_expect(s, c->kind, NULL, 0, true), CCAI_OK);
        feed_all(s, &a, true);
        with += res.slot.matched && strcmp(res.slot.value, c->slot) == 0;
        assert_true(res.free_text_set);
        Ccai_slot fs;
        assert_int_equal(Ccai_slot_interpret(c->kind, res.free_text, NULL, 0, &fs), CCAI_OK);
        without += fs.matched && strcmp(fs.value, c->slot) == 0;
        print_message("# \"%s\": grammar \"%s\", free \"%s\"\n", c->text, res.text, res.free_text);
        voice_audio_free(&a);
    }
    print_message("# slots: grammar %zu/%zu, free text %zu/%zu\n", with,
                  CCAI_ARRAY_SIZE(grammar_cases), without, CCAI_ARRAY_SIZE(grammar_cases));
    assert_true(with >= without);
    Ccai_sphinx_free(s);
}

static void choices_and_commands(void **state)
{
    (void)state;
    need(CCAI_SYNTH_FLITE);
    results res = {0};
    Ccai_sphinx *s = NULL;
    assert_int_equal(Ccai_sphinx_new(model, &phone, on_result, &res, &s), CCAI_OK);
    const char *menu[] = {"Billing", "Technical support", "Opening hours"};
    static const struct {
        const char *text, *slot, *command;
    } cases[] = {
        {"technical support", "Technical support", NULL},
        {"opening hours please", "Opening hours", NULL},
        {"the first one", "Billing", NULL},
        {"i want an agent", NULL, "agent"},
    };
    size_t right = 0;
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(cases); i++) {
        assert_int_equal(Ccai_sphinx_expect(s, CCAI_SPEECH_CHOICE, menu, 3, false), CCAI_OK);
        voice_audio a;
        say(CCAI_SYNTH_FLITE, "kal16", 1.0, cases[i].text, &phone, &a);
        feed_all(s, &a, true);
        voice_audio_free(&a);
        bool ok = cases[i].slot ? res.slot.matched && strcmp(res.slot.value, cases[i].slot) == 0
                                : !res.slot.matched && res.slot.command &&
                                      strcmp(res.slot.command, cases[i].command) == 0;
        print_message("# choice \"%s\" -> \"%s\" (%s)\n", cases[i].text, res.text,
                      ok ? "right" : "WRONG");
        right += ok;
    }
    assert_true(right >= 3);
    Ccai_sphinx_free(s);
}

/* espeak-ng's voices are hard for pocketsphinx (offline-speech.md 2c), but
 * short answers with a grammar still come through. */
static void espeak_yes_no(void **state)
{
    (void)state;
    need(CCAI_SYNTH_ESPEAK);
    results res = {0};
    Ccai_sphinx *s = NULL;
    assert_int_equal(Ccai_sphinx_new(model, &phone, on_result, &res, &s), CCAI_OK);
    static const struct {
        const char *voice, *text, *slot;
    } cases[] = {
        {"en-us", "yes", "yes"},
        {"en-us", "no", "no"},
        {"en-gb", "yes please", "yes"},
        {"en-us+f3", "no thank you", "no"},
    };
    size_t right = 0;
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(cases); i++) {
        assert_int_equal(Ccai_sphinx_expect(s, CCAI_SPEECH_YESNO, NULL, 0, false), CCAI_OK);
        voice_audio a;
        say(CCAI_SYNTH_ESPEAK, cases[i].voice, 1.0, cases[i].text, &phone, &a);
        feed_all(s, &a, true);
        voice_audio_free(&a);
        bool ok = res.slot.matched && strcmp(res.slot.value, cases[i].slot) == 0;
        print_message("# espeak-ng %s \"%s\" -> \"%s\"\n", cases[i].voice, cases[i].text, res.text);
        right += ok;
    }
    assert_true(right >= 3);
    Ccai_sphinx_free(s);
}

/* Partial hypotheses arrive while the caller talks, before the final. */
static void partials_before_final(void **state)
{
    (void)state;
    need(CCAI_SYNTH_FLITE);
    results res = {0};
    Ccai_sphinx *s = NULL;
    assert_int_equal(Ccai_sphinx_new(model, &phone, on_result, &res, &s), CCAI_OK);
    voice_audio a;
    say(CCAI_SYNTH_FLITE, "kal16", 1.0, "your order will arrive on the fifth of march", &phone, &a);
    /* All but the trailing silence: partials, no final. */
    size_t frame = 160, speech = a.len - Ccai_media_bytes_per_ms(&phone, 400);
    for (size_t off = 0; off < speech; off += frame) {
        assert_int_equal(Ccai_sphinx_feed(s, a.data + off, frame), CCAI_OK);
        drain(s);
    }
    assert_true(res.partials >= 3);
    assert_int_equal(res.finals, 0);
    assert_true(res.last_partial[0] != '\0');
    assert_int_equal(Ccai_sphinx_end(s), CCAI_OK);
    assert_int_equal(res.finals, 1);
    assert_true(res.partials_before_final >= 3);
    print_message("# %zu partials, last \"%s\", final \"%s\"\n", res.partials, res.last_partial,
                  res.text);
    voice_audio_free(&a);
    Ccai_sphinx_free(s);
}

/* Audio fed in one block is decoded slice by slice through step(); the
 * result does not depend on how the audio was cut. */
static void slices(void **state)
{
    (void)state;
    need(CCAI_SYNTH_FLITE);
    voice_audio a;
    say(CCAI_SYNTH_FLITE, "kal16", 1.0, "please say yes or no", &phone, &a);
    results one = {0}, frames = {0};
    Ccai_sphinx *s = NULL;
    assert_int_equal(Ccai_sphinx_new(model, &phone, on_result, &one, &s), CCAI_OK);
    assert_int_equal(Ccai_sphinx_feed(s, a.data, a.len), CCAI_OK);
    uint32_t total = (uint32_t)(Ccai_media_bytes_to_us(&phone, a.len) / 1000);
    /* One slice (10 ms) decoded, the rest waits. */
    assert_int_equal(Ccai_sphinx_pending_ms(s), total - 10);
    assert_int_equal(Ccai_sphinx_end(s), CCAI_OK);
    assert_int_equal(one.finals, 0); /* not before the queue is decoded */
    size_t steps = 0;
    while (Ccai_sphinx_pending_ms(s)) {
        assert_int_equal(Ccai_sphinx_step(s), CCAI_OK);
        steps++;
    }
    assert_int_equal(steps, (total - 10 + 9) / 10);
    assert_int_equal(one.finals, 1);
    assert_int_equal(Ccai_sphinx_step(s), CCAI_OK); /* nothing to do */
    Ccai_sphinx_free(s);
    /* The same audio in odd sizes (and an odd byte count of 8 kHz PCM16
     * would work the same way: the converter keeps partial samples). */
    assert_int_equal(Ccai_sphinx_new(model, &phone, on_result, &frames, &s), CCAI_OK);
    for (size_t off = 0; off < a.len; off += 77) {
        size_t n = a.len - off < 77 ? a.len - off : 77;
        assert_int_equal(Ccai_sphinx_feed(s, a.data + off, n), CCAI_OK);
        while (Ccai_sphinx_pending_ms(s))
            assert_int_equal(Ccai_sphinx_step(s), CCAI_OK);
    }
    assert_int_equal(Ccai_sphinx_end(s), CCAI_OK);
    assert_int_equal(frames.finals, 1);
    assert_string_equal(one.text, frames.text);
    print_message("# \"%s\" either way\n", one.text);
    Ccai_sphinx_free(s);
    voice_audio_free(&a);
}

static void every_end_answered(void **state)
{
    (void)state;
    need_model();
    results res = {0};
    Ccai_sphinx *s = NULL;
    assert_int_equal(Ccai_sphinx_new(model, &phone, on_result, &res, &s), CCAI_OK);
    /* An end without audio: a FINAL without words at once. */
    assert_int_equal(Ccai_sphinx_end(s), CCAI_OK);
    assert_int_equal(res.finals, 1);
    assert_string_equal(res.text, "");
    assert_false(res.slot.matched);
    /* Silence only: a FINAL, no words. */
    uint8_t silence[160];
    memset(silence, CCAI_ULAW_SILENCE, sizeof silence);
    for (int i = 0; i < 25; i++) {
        assert_int_equal(Ccai_sphinx_feed(s, silence, sizeof silence), CCAI_OK);
        drain(s);
    }
    assert_int_equal(Ccai_sphinx_end(s), CCAI_OK);
    assert_int_equal(res.finals, 2);
    assert_string_equal(res.text, "");
    assert_int_equal(res.n_words, 0);
    /* Feeding after end but before the FINAL is refused. */
    for (int i = 0; i < 10; i++) {
        assert_int_equal(Ccai_sphinx_feed(s, silence, sizeof silence), CCAI_OK);
        drain(s);
    }
    assert_int_equal(Ccai_sphinx_feed(s, NULL, 0), CCAI_OK);
    uint8_t block[1600];
    memset(block, CCAI_ULAW_SILENCE, sizeof block);
    assert_int_equal(Ccai_sphinx_feed(s, block, sizeof block), CCAI_OK);
    assert_int_equal(Ccai_sphinx_end(s), CCAI_OK);
    assert_true(Ccai_sphinx_pending_ms(s) > 0);
    assert_int_equal(Ccai_sphinx_feed(s, silence, sizeof silence), CCAI_ERR_STATE);
    while (Ccai_sphinx_pending_ms(s))
        assert_int_equal(Ccai_sphinx_step(s), CCAI_OK);
    assert_int_equal(res.finals, 3);
    Ccai_sphinx_free(s);
}

static void cancel_and_free_inside(void **state)
{
    (void)state;
    need(CCAI_SYNTH_FLITE);
    voice_audio a;
    say(CCAI_SYNTH_FLITE, "kal16", 1.0, "would you like to speak to an agent", &phone, &a);
    results res = {0};
    Ccai_sphinx *s = NULL;
    assert_int_equal(Ccai_sphinx_new(model, &phone, on_result, &res, &s), CCAI_OK);
    assert_int_equal(Ccai_sphinx_feed(s, a.data, a.len / 2), CCAI_OK);
    Ccai_sphinx_stats st;
    Ccai_sphinx_model_stats(model, &st);
    assert_int_equal(st.free_busy, 1);
    Ccai_sphinx_cancel(s);
    assert_int_equal(Ccai_sphinx_pending_ms(s), 0);
    Ccai_sphinx_model_stats(model, &st);
    assert_int_equal(st.free_busy, 0);
    assert_int_equal(Ccai_sphinx_end(s), CCAI_OK); /* answered, without words */
    assert_int_equal(res.finals, 1);
    assert_string_equal(res.text, "");
    Ccai_sphinx_cancel(s); /* nothing to cancel */
    /* Freed from inside its callback: nothing more arrives, nothing leaks
     * (the sanitizer build checks). */
    res.free_me = s;
    size_t partials = res.partials;
    for (size_t off = 0; off < a.len && res.free_me; off += 160) {
        assert_int_equal(Ccai_sphinx_feed(s, a.data + off, 160), CCAI_OK);
        /* step() also answers OK when the stream went away inside it */
        while (res.free_me && Ccai_sphinx_pending_ms(s))
            assert_int_equal(Ccai_sphinx_step(s), CCAI_OK);
    }
    assert_null(res.free_me);
    assert_int_equal(res.partials, partials + 1);
    Ccai_sphinx_model_stats(model, &st);
    assert_int_equal(st.free_busy, 0);
    voice_audio_free(&a);
}

static void pool_limit(void **state)
{
    (void)state;
    need(CCAI_SYNTH_FLITE);
    Ccai_sphinx_params p;
    Ccai_sphinx_params_default(&p);
    p.lm_path = ""; /* grammars only: quick to make */
    p.max_decoders = 1;
    Ccai_sphinx_model *m = NULL;
    assert_int_equal(Ccai_sphinx_model_new(&p, NULL, &m, NULL), CCAI_OK);
    results r1 = {0}, r2 = {0};
    Ccai_sphinx *a = NULL, *b = NULL;
    assert_int_equal(Ccai_sphinx_new(m, &phone, on_result, &r1, &a), CCAI_OK);
    assert_int_equal(Ccai_sphinx_new(m, &phone, on_result, &r2, &b), CCAI_OK);
    voice_audio yes;
    say(CCAI_SYNTH_FLITE, "kal16", 1.0, "yes", &phone, &yes);
    assert_int_equal(Ccai_sphinx_feed(a, yes.data, 160), CCAI_OK);
    /* The only decoder is taken: the second caller is refused, nothing
     * queued, and told why. */
    assert_int_equal(Ccai_sphinx_feed(b, yes.data, 160), CCAI_ERR_BUSY);
    assert_non_null(strstr(Ccai_sphinx_errmsg(b), "busy"));
    assert_int_equal(Ccai_sphinx_pending_ms(b), 0);
    assert_int_equal(Ccai_sphinx_model_reserve(m, 0, 2), CCAI_ERR_LIMIT);
    assert_int_equal(Ccai_sphinx_model_reserve(m, 1, 0), CCAI_ERR_UNSUPPORTED);
    feed_all(a, &yes, true);
    assert_int_equal(r1.finals, 1);
    assert_string_equal(r1.slot.value, "yes");
    /* Released at the FINAL: the second caller gets it. */
    feed_all(b, &yes, true);
    assert_string_equal(r2.slot.value, "yes");
    Ccai_sphinx_stats st;
    Ccai_sphinx_model_stats(m, &st);
    assert_int_equal(st.grammar_idle, 1);
    assert_int_equal(st.decoders_created, 1);
    assert_false(st.has_lm);
    /* Without a language model: free text is unsupported, grammars work. */
    assert_int_equal(Ccai_sphinx_expect(a, CCAI_SPEECH_FREE, NULL, 0, false), CCAI_ERR_UNSUPPORTED);
    assert_int_equal(Ccai_sphinx_expect(a, CCAI_SPEECH_DIGITS, NULL, 0, true),
                     CCAI_ERR_UNSUPPORTED);
    assert_int_equal(Ccai_sphinx_expect(a, CCAI_SPEECH_DIGITS, NULL, 0, false), CCAI_OK);
    /* The model lives until its last stream is freed. */
    Ccai_sphinx_model_free(m);
    Ccai_sphinx_free(a);
    feed_all(b, &yes, true);
    assert_int_equal(r2.finals, 2);
    Ccai_sphinx_free(b);
    voice_audio_free(&yes);
}

static void long_utterances(void **state)
{
    (void)state;
    need(CCAI_SYNTH_FLITE);
    Ccai_sphinx_params p;
    Ccai_sphinx_params_default(&p);
    p.lm_path = "";
    p.max_utterance_ms = 1000;
    Ccai_sphinx_model *m = NULL;
    assert_int_equal(Ccai_sphinx_model_new(&p, NULL, &m, NULL), CCAI_OK);
    results res = {0};
    Ccai_sphinx *s = NULL;
    assert_int_equal(Ccai_sphinx_new(m, &phone, on_result, &res, &s), CCAI_OK);
    assert_int_equal(Ccai_sphinx_expect(s, CCAI_SPEECH_DIGITS, NULL, 0, false), CCAI_OK);
    voice_audio a;
    say(CCAI_SYNTH_FLITE, "kal16", 1.0, "one two three four five six seven eight", &phone, &a);
    assert_true(a.len > 2 * 8000);
    feed_all(s, &a, true);
    /* Cut every second; the last FINAL comes from the end. */
    size_t want = (a.len + 7999) / 8000;
    assert_int_equal(res.finals, want);
    for (size_t i = 0; i + 1 < want; i++)
        assert_true(res.truncated[i]);
    assert_false(res.truncated[want - 1]);
    Ccai_sphinx_free(s);
    Ccai_sphinx_model_free(m);
    voice_audio_free(&a);
}

static void refused(void **state)
{
    (void)state;
    need_model();
    results res = {0};
    Ccai_sphinx *s = NULL;
    Ccai_media_format bad = {CCAI_MEDIA_PCM16, 11025, 1};
    assert_int_equal(Ccai_sphinx_new(model, &bad, on_result, &res, &s), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_sphinx_new(model, &phone, NULL, &res, &s), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_sphinx_new(NULL, &phone, on_result, &res, &s), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_sphinx_new(model, &phone, on_result, &res, &s), CCAI_OK);
    const char *menu[] = {"Zurich", "Qwzxv Street"};
    assert_int_equal(Ccai_sphinx_expect(s, CCAI_SPEECH_CHOICE, menu, 2, false), CCAI_ERR_NOT_FOUND);
    assert_non_null(strstr(Ccai_sphinx_errmsg(s), "\"qwzxv\""));
    assert_int_equal(Ccai_sphinx_expect(s, CCAI_SPEECH_CHOICE, NULL, 0, false),
                     CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_sphinx_expect(s, CCAI_SPEECH_FREE, menu, 2, false), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_sphinx_expect(s, (Ccai_speech_kind)42, NULL, 0, false),
                     CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_sphinx_feed(s, NULL, 5), CCAI_ERR_INVALID_ARG);
    /* The previous expectation (free text) stays. */
    assert_int_equal(Ccai_sphinx_end(s), CCAI_OK);
    assert_int_equal(res.finals, 1);
    Ccai_sphinx_free(s);
    Ccai_sphinx_free(NULL);
    assert_string_equal(Ccai_sphinx_errmsg(NULL), "");

    assert_true(Ccai_sphinx_language_supported("en"));
    assert_true(Ccai_sphinx_language_supported("en-GB"));
    assert_true(Ccai_sphinx_language_supported("EN_us"));
    assert_false(Ccai_sphinx_language_supported("fr-FR"));
    assert_false(Ccai_sphinx_language_supported("eng"));
    assert_false(Ccai_sphinx_language_supported(NULL));
}

/* Bad model paths fail with a clear error, and never reach pocketsphinx's
 * exit(): it would end the host. */
static void model_errors(void **state)
{
    (void)state;
    need_model();
    Ccai_sphinx_params p;
    Ccai_sphinx_model *m = (Ccai_sphinx_model *)0x1;
    Ccai_err err = {0};
    Ccai_sphinx_params_default(&p);
    p.hmm_dir = "/nonexistent/hmm";
    assert_int_equal(Ccai_sphinx_model_new(&p, NULL, &m, &err), CCAI_ERR_IO);
    assert_non_null(strstr(Ccai_err_get(&err), "/nonexistent/hmm/mdef"));
    Ccai_sphinx_params_default(&p);
    p.dict_path = "/nonexistent/x.dict";
    assert_int_equal(Ccai_sphinx_model_new(&p, NULL, &m, &err), CCAI_ERR_IO);
    Ccai_sphinx_params_default(&p);
    p.lm_path = "/nonexistent/x.lm.bin";
    assert_int_equal(Ccai_sphinx_model_new(&p, NULL, &m, &err), CCAI_ERR_IO);
    assert_non_null(strstr(Ccai_err_get(&err), "x.lm.bin"));
    /* A file that is not a language model. */
    Ccai_sphinx_params_default(&p);
    p.lm_path = CCAI_SPHINX_MODEL_DIR "/en-us/noisedict";
    assert_int_equal(Ccai_sphinx_model_new(&p, NULL, &m, &err), CCAI_ERR_PARSE);
    Ccai_sphinx_params_default(&p);
    p.slice_ms = 5;
    assert_int_equal(Ccai_sphinx_model_new(&p, NULL, &m, &err), CCAI_ERR_INVALID_ARG);
    Ccai_sphinx_params_default(&p);
    p.min_confidence = 2;
    assert_int_equal(Ccai_sphinx_model_new(&p, NULL, &m, &err), CCAI_ERR_INVALID_ARG);
    assert_ptr_equal(m, (Ccai_sphinx_model *)0x1);
    Ccai_err_free(&err);
}

/* pocketsphinx's messages reach the model's logger, not stderr. */
static size_t log_lines, log_errors;

static void log_fn(ccai_log_level level, const char *msg, void *ud)
{
    (void)ud;
    log_lines++;
    log_errors += level == CCAI_LOG_ERROR;
    assert_int_equal(strncmp(msg, "pocketsphinx: ", 14), 0);
}

static void ignore_result(const Ccai_sphinx_result *r, void *ud)
{
    (void)r;
    (void)ud;
}

static void logging(void **state)
{
    (void)state;
    need_model();
    Ccai_sphinx_params p;
    Ccai_sphinx_params_default(&p);
    p.lm_path = "";
    Ccai_logger lg = {log_fn, NULL, CCAI_LOG_DEBUG};
    Ccai_sphinx_model *m = NULL;
    assert_int_equal(Ccai_sphinx_model_new(&p, &lg, &m, NULL), CCAI_OK);
    assert_int_equal(Ccai_sphinx_model_reserve(m, 0, 1), CCAI_OK);
    assert_true(log_lines > 10); /* its start-up chatter, at DEBUG */
    assert_int_equal(log_errors, 0);
    /* An utterance decoded to its FINAL: pocketsphinx says no error (the
     * end of an utterance ended once, not twice: "Utterance is not
     * started" was an ERROR line per caller turn). */
    if (Ccai_synth_engine_available(CCAI_SYNTH_FLITE)) {
        voice_audio a = {0};
        say(CCAI_SYNTH_FLITE, "kal16", 1.0, "billing", &phone, &a);
        Ccai_sphinx *s = NULL;
        assert_int_equal(Ccai_sphinx_new(m, &phone, ignore_result, NULL, &s), CCAI_OK);
        const char *menu[] = {"Billing", "Technical support"};
        assert_int_equal(Ccai_sphinx_expect(s, CCAI_SPEECH_CHOICE, menu, 2, false), CCAI_OK);
        assert_int_equal(Ccai_sphinx_feed(s, a.data, a.len), CCAI_OK);
        assert_int_equal(Ccai_sphinx_end(s), CCAI_OK);
        while (Ccai_sphinx_pending_ms(s))
            assert_int_equal(Ccai_sphinx_step(s), CCAI_OK);
        Ccai_sphinx_free(s);
        voice_audio_free(&a);
        assert_int_equal(log_errors, 0);
    }
    Ccai_sphinx_model_free(m);
}

static Ccai_sphinx_model *oom_model;
static voice_audio oom_audio;

static void ignore(const Ccai_sphinx_result *r, void *ud)
{
    (void)r;
    (void)ud;
}

static ccai_status sc_stream(void)
{
    Ccai_sphinx *s = NULL;
    ccai_status st = Ccai_sphinx_new(oom_model, &phone, ignore, NULL, &s);
    const char *menu[] = {"Billing", "Technical support 2"};
    if (st == CCAI_OK)
        st = Ccai_sphinx_expect(s, CCAI_SPEECH_CHOICE, menu, 2, false);
    for (size_t off = 0; st == CCAI_OK && off < oom_audio.len; off += 800)
        st = Ccai_sphinx_feed(s, oom_audio.data + off,
                              oom_audio.len - off < 800 ? oom_audio.len - off : 800);
    while (st == CCAI_OK && Ccai_sphinx_pending_ms(s))
        st = Ccai_sphinx_step(s);
    if (st == CCAI_OK)
        st = Ccai_sphinx_end(s);
    Ccai_sphinx_free(s);
    return st;
}

static void out_of_memory(void **state)
{
    (void)state;
    need(CCAI_SYNTH_FLITE);
    Ccai_sphinx_params p;
    Ccai_sphinx_params_default(&p);
    p.lm_path = "";
    assert_int_equal(Ccai_sphinx_model_new(&p, NULL, &oom_model, NULL), CCAI_OK);
    /* The decoder exists before the injection: pocketsphinx's own
     * allocations do not go through libccai's allocator. */
    assert_int_equal(Ccai_sphinx_model_reserve(oom_model, 0, 1), CCAI_OK);
    say(CCAI_SYNTH_FLITE, "kal16", 1.0, "billing", &phone, &oom_audio);
    assert_true(oom_exhaust("sphinx stream", sc_stream, NULL) > 10);
    voice_audio_free(&oom_audio);
    Ccai_sphinx_model_free(oom_model);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(free_text_on_the_phone),
        cmocka_unit_test(wideband),
        cmocka_unit_test(grammar_answers),
        cmocka_unit_test(grammar_beats_free_text),
        cmocka_unit_test(choices_and_commands),
        cmocka_unit_test(espeak_yes_no),
        cmocka_unit_test(partials_before_final),
        cmocka_unit_test(slices),
        cmocka_unit_test(every_end_answered),
        cmocka_unit_test(cancel_and_free_inside),
        cmocka_unit_test(pool_limit),
        cmocka_unit_test(long_utterances),
        cmocka_unit_test(refused),
        cmocka_unit_test(model_errors),
        cmocka_unit_test(logging),
        cmocka_unit_test(out_of_memory),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
