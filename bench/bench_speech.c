/* The offline speech stack's figures (libccai/speech/): what sets the
 * cloud-free capacity.
 *
 *   STT (pocketsphinx): word error rate on G.711 8 kHz telephone audio for
 *     free text; word and slot accuracy of typed answers with their grammar
 *     and with the free model only (one pass: the free model runs beside
 *     the grammar); false accepts of answers that are not of the expected
 *     kind; the telephone cepstral mean against the model's own on a call's
 *     first utterance; CPU per 20 ms frame (the slice the host's loop runs)
 *     and per second of audio; end of speech -> FINAL; memory per decoder
 *     shared and not shared; decoder start-up.
 *   TTS (flite in-process, espeak-ng as a process): time to first audio,
 *     CPU per second of audio (RTF), the longest single step.
 *   Capacity: real-time streams per core of each, and calls per core for a
 *     call where the caller and the bot each talk a given share of the time.
 *
 * All speech is made here, by the offline voices (several voices and
 * speeds), and goes through G.711 mu-law at 8 kHz as a phone line carries
 * it. One thread: per-core figures are one core's. Nothing here is a
 * pass/fail test.
 *
 *   build/bench/bench-speech [--quick] [--talk SHARE]
 */
#include "media/resample.h"
#include "speech/sphinx.h"
#include "speech/synth.h"
#include "support/voice.h"

#include "bench_stats.h"

#include <malloc.h>
#include <pocketsphinx.h>
#include <sphinxbase/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static const Ccai_media_format phone = {CCAI_MEDIA_ULAW, 8000, 1};
static bool quick;

static void die(const char *what)
{
    fprintf(stderr, "bench-speech: %s\n", what);
    exit(1);
}

static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double children_cpu_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static double rss_mb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, rss = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return (double)rss * (double)sysconf(_SC_PAGESIZE) / 1048576.0;
}

static double heap_mb(void)
{
    struct mallinfo2 m = mallinfo2();
    return (double)(m.uordblks + m.hblkhd) / 1048576.0;
}

/* ---- growable sample arrays ------------------------------------------- */

typedef struct samples {
    double *v;
    size_t n, cap;
} samples;

static void add(samples *s, double x)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1024;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        if (!s->v)
            die("out of memory");
    }
    s->v[s->n++] = x;
}

/* ---- the recogniser's side --------------------------------------------- */

typedef struct voice_spec {
    Ccai_synth_engine engine;
    const char *name;
    double rate;
} voice_spec;

static const voice_spec voices[] = {
    {CCAI_SYNTH_FLITE, "kal16", 1.0},  {CCAI_SYNTH_FLITE, "rms", 1.0},
    {CCAI_SYNTH_FLITE, "slt", 1.0},    {CCAI_SYNTH_FLITE, "awb", 1.0},
    {CCAI_SYNTH_FLITE, "kal16", 1.3},  {CCAI_SYNTH_FLITE, "rms", 0.85},
    {CCAI_SYNTH_ESPEAK, "en-us", 1.0}, {CCAI_SYNTH_ESPEAK, "en-gb+m3", 0.9},
};
#define N_VOICES (quick ? 3 : CCAI_ARRAY_SIZE(voices))

static const char *const free_lines[] = {
    "hello thank you for calling how can i help you today",
    "can you please tell me your account number",
    "your appointment is confirmed for tuesday at three thirty",
    "i am sorry but that time is not available",
    "would you like to speak to an agent",
    "please say yes or no",
    "your order will arrive on the fifth of march",
    "the total amount due is forty two dollars",
    "is there anything else i can help you with",
    "thank you for your call goodbye",
};

static const char *const menu[] = {"Billing", "Technical support", "Opening hours",
                                   "Cancel my order"};

typedef struct answer {
    Ccai_speech_kind kind;
    const char *text, *slot;
} answer;

static const answer answers[] = {
    {CCAI_SPEECH_YESNO, "yes", "yes"},
    {CCAI_SPEECH_YESNO, "no", "no"},
    {CCAI_SPEECH_YESNO, "yes please", "yes"},
    {CCAI_SPEECH_YESNO, "no thank you", "no"},
    {CCAI_SPEECH_YESNO, "that's right", "yes"},
    {CCAI_SPEECH_YESNO, "not really", "no"},
    {CCAI_SPEECH_DIGITS, "four one five two three", "41523"},
    {CCAI_SPEECH_DIGITS, "seven eight nine zero one two", "789012"},
    {CCAI_SPEECH_DIGITS, "oh six one two three four", "061234"},
    {CCAI_SPEECH_DIGITS, "three three five five", "3355"},
    {CCAI_SPEECH_NUMBER, "forty two", "42"},
    {CCAI_SPEECH_NUMBER, "one hundred and five", "105"},
    {CCAI_SPEECH_NUMBER, "two thousand", "2000"},
    {CCAI_SPEECH_NUMBER, "three hundred sixty", "360"},
    {CCAI_SPEECH_DATE, "the fifth of march", "--03-05"},
    {CCAI_SPEECH_DATE, "the twenty first of june", "--06-21"},
    {CCAI_SPEECH_DATE, "march the third", "--03-03"},
    {CCAI_SPEECH_DATE, "tomorrow", "tomorrow"},
    {CCAI_SPEECH_DATE, "next friday", "next friday"},
    {CCAI_SPEECH_EMAIL, "j o h n at gmail dot com", "john@gmail.com"},
    {CCAI_SPEECH_EMAIL, "a b c at yahoo dot com", "abc@yahoo.com"},
    {CCAI_SPEECH_EMAIL, "t o m one at hotmail dot com", "tom1@hotmail.com"},
    {CCAI_SPEECH_CHOICE, "billing", "Billing"},
    {CCAI_SPEECH_CHOICE, "technical support", "Technical support"},
    {CCAI_SPEECH_CHOICE, "opening hours please", "Opening hours"},
    {CCAI_SPEECH_CHOICE, "the second one", "Technical support"},
    {CCAI_SPEECH_CHOICE, "cancel my order", "Cancel my order"},
};

/* Not an answer of the kind asked: a grammar should not accept them. */
static const answer off_answers[] = {
    {CCAI_SPEECH_YESNO, "i have no idea", NULL},
    {CCAI_SPEECH_DIGITS, "i do not remember my number", NULL},
    {CCAI_SPEECH_DATE, "sometime next month maybe", NULL},
    {CCAI_SPEECH_CHOICE, "my car was damaged yesterday", NULL},
    {CCAI_SPEECH_YESNO, "can you say that again", NULL},
};

typedef struct stt_run {
    /* the last FINAL */
    char text[1024], free_text[1024];
    Ccai_slot slot;
    bool final;
    double final_wall_ms; /* when the FINAL arrived */
    size_t partials;
} stt_run;

static void on_result(const Ccai_sphinx_result *r, void *ud)
{
    stt_run *run = ud;
    if (r->event == CCAI_SPHINX_PARTIAL) {
        run->partials++;
        return;
    }
    run->final = true;
    run->final_wall_ms = bench_now_ms();
    snprintf(run->text, sizeof run->text, "%s", r->text);
    snprintf(run->free_text, sizeof run->free_text, "%s", r->free_text ? r->free_text : "");
    run->slot = r->slot;
}

typedef struct costs {
    samples start_cpu; /* CPU ms of an utterance's first feed (decoder and grammar set up) */
    samples frame_cpu; /* CPU ms per 20 ms feed after it (its slices through step) */
    samples slice_cpu; /* CPU ms per call: a feed's own slice, or one step */
    samples end_wall;  /* ms from end of speech to FINAL */
    double cpu, audio_ms;
} costs;

/* Decode one utterance on s: 20 ms frames, then the end of the turn. */
static void decode(Ccai_sphinx *s, stt_run *run, const voice_audio *a, costs *c)
{
    run->final = false;
    size_t frame = Ccai_media_bytes_per_ms(&a->fmt, 20);
    for (size_t off = 0; off < a->len; off += frame) {
        size_t n = a->len - off < frame ? a->len - off : frame;
        double t0 = cpu_ms();
        ccai_status st = Ccai_sphinx_feed(s, a->data + off, n);
        double t1 = cpu_ms();
        if (off)
            add(&c->slice_cpu, t1 - t0);
        while (st == CCAI_OK && Ccai_sphinx_pending_ms(s)) {
            double s0 = cpu_ms();
            st = Ccai_sphinx_step(s);
            add(&c->slice_cpu, cpu_ms() - s0);
        }
        double dt = cpu_ms() - t0;
        if (st != CCAI_OK)
            die(Ccai_sphinx_errmsg(s));
        add(off ? &c->frame_cpu : &c->start_cpu, dt);
        c->cpu += dt;
    }
    double w0 = bench_now_ms(), t0 = cpu_ms();
    if (Ccai_sphinx_end(s) != CCAI_OK)
        die("end");
    while (Ccai_sphinx_pending_ms(s))
        if (Ccai_sphinx_step(s) != CCAI_OK)
            die("step");
    c->cpu += cpu_ms() - t0;
    if (!run->final)
        die("no FINAL");
    add(&c->end_wall, run->final_wall_ms - w0);
    c->audio_ms += (double)Ccai_media_bytes_to_us(&a->fmt, a->len) / 1000.0;
}

static bool render(const voice_spec *v, const char *text, voice_audio *a)
{
    return voice_render(v->engine, v->name, v->rate, text, &phone, 250, 350, a);
}

static void voice_label(const voice_spec *v, char *out, size_t cap)
{
    snprintf(out, cap, "%s %s x%.2g", v->engine == CCAI_SYNTH_FLITE ? "flite" : "espeak-ng",
             v->name, v->rate);
}

static bool voice_ok(const voice_spec *v)
{
    return voice_available(v->engine);
}

static costs free_costs, grammar_costs, beside_costs;

static void free_costs_of(costs *c)
{
    free(c->start_cpu.v);
    free(c->frame_cpu.v);
    free(c->slice_cpu.v);
    free(c->end_wall.v);
}

/* Free text: WER per voice, one stream per voice (a call), so its cepstral
 * mean adapts as the call goes on. */
static void bench_free_text(Ccai_sphinx_model *m)
{
    printf("\n== STT, free text (full language model), G.711 mu-law 8 kHz ==\n");
    printf("  %-26s %6s %6s  %s\n", "voice", "words", "WER", "first utterance of the call");
    size_t tot_e = 0, tot_w = 0, flite_e = 0, flite_w = 0;
    for (size_t v = 0; v < N_VOICES; v++) {
        if (!voice_ok(&voices[v]))
            continue;
        stt_run run = {0};
        Ccai_sphinx *s;
        if (Ccai_sphinx_new(m, &phone, on_result, &run, &s) != CCAI_OK)
            die("stream");
        size_t e_sum = 0, w_sum = 0;
        char first[1100] = "";
        for (size_t i = 0; i < CCAI_ARRAY_SIZE(free_lines); i++) {
            voice_audio a;
            if (!render(&voices[v], free_lines[i], &a))
                die("render");
            decode(s, &run, &a, &free_costs);
            voice_audio_free(&a);
            size_t e, w;
            voice_word_errors(free_lines[i], run.text, &e, &w);
            e_sum += e;
            w_sum += w;
            if (i == 0)
                snprintf(first, sizeof first, "\"%s\"", run.text);
        }
        Ccai_sphinx_free(s);
        char label[64];
        voice_label(&voices[v], label, sizeof label);
        printf("  %-26s %6zu %6.3f  %s\n", label, w_sum, (double)e_sum / (double)w_sum, first);
        tot_e += e_sum;
        tot_w += w_sum;
        if (voices[v].engine == CCAI_SYNTH_FLITE) {
            flite_e += e_sum;
            flite_w += w_sum;
        }
    }
    if (tot_w)
        printf("  %-26s %6zu %6.3f  (flite voices only: %.3f)\n", "all", tot_w,
               (double)tot_e / (double)tot_w, flite_w ? (double)flite_e / (double)flite_w : 0);
}

/* The first utterance of a call: the telephone cepstral mean libccai starts
 * 8 kHz streams with, against the model's own (a 16 kHz stream fed the
 * same telephone audio, upsampled). */
static void bench_cmn(Ccai_sphinx_model *m)
{
    printf("\n== STT, the first utterance of a call (cepstral mean normalisation) ==\n");
    static const Ccai_media_format up = {CCAI_MEDIA_PCM16, 16000, 1};
    size_t e_tel = 0, e_model = 0, words = 0;
    for (size_t v = 0; v < N_VOICES; v++) {
        if (!voice_ok(&voices[v]))
            continue;
        for (size_t i = 0; i < (quick ? 3 : CCAI_ARRAY_SIZE(free_lines)); i += 3) {
            voice_audio a, b;
            if (!render(&voices[v], free_lines[i], &a))
                die("render");
            /* The same line audio, decoded from mu-law then upsampled. */
            Ccai_media_converter *cv;
            if (Ccai_media_converter_new(&phone, &up, 3, &cv) != CCAI_OK)
                die("converter");
            b.fmt = up;
            b.len = 0;
            b.data = malloc(Ccai_media_converter_max_out(cv, a.len));
            if (!b.data ||
                Ccai_media_convert(cv, a.data, a.len, b.data,
                                   Ccai_media_converter_max_out(cv, a.len), &b.len) != CCAI_OK)
                die("convert");
            Ccai_media_converter_free(cv);
            for (int k = 0; k < 2; k++) {
                stt_run run = {0};
                Ccai_sphinx *s;
                if (Ccai_sphinx_new(m, k == 0 ? &phone : &up, on_result, &run, &s) != CCAI_OK)
                    die("stream");
                costs c = {0};
                decode(s, &run, k == 0 ? &a : &b, &c);
                free_costs_of(&c);
                Ccai_sphinx_free(s);
                size_t e, w;
                voice_word_errors(free_lines[i], run.text, &e, &w);
                if (k == 0) {
                    e_tel += e;
                    words += w;
                } else {
                    e_model += e;
                }
            }
            voice_audio_free(&a);
            free(b.data);
        }
    }
    printf("  fresh stream per utterance, %zu words: WER %.3f with the telephone mean, %.3f "
           "with the model's own\n",
           words, (double)e_tel / (double)words, (double)e_model / (double)words);
}

typedef struct kind_score {
    size_t n, slot_grammar, slot_free, words, err_grammar, err_free;
} kind_score;

/* Typed answers: the grammar with the free model beside it, so both see
 * the same audio in one pass. */
static void bench_answers(Ccai_sphinx_model *m)
{
    printf("\n== STT, typed answers: grammar vs free text, G.711 mu-law 8 kHz ==\n");
    kind_score ks[CCAI_SPEECH_KIND_MAX + 1] = {{0}};
    kind_score per_voice[CCAI_ARRAY_SIZE(voices)] = {{0}};
    size_t wrong_shown = 0;
    for (size_t v = 0; v < N_VOICES; v++) {
        if (!voice_ok(&voices[v]))
            continue;
        stt_run run = {0};
        Ccai_sphinx *s;
        if (Ccai_sphinx_new(m, &phone, on_result, &run, &s) != CCAI_OK)
            die("stream");
        for (size_t i = 0; i < CCAI_ARRAY_SIZE(answers); i++) {
            const answer *q = &answers[i];
            bool choice = q->kind == CCAI_SPEECH_CHOICE;
            if (Ccai_sphinx_expect(s, q->kind, choice ? menu : NULL, choice ? 4 : 0, true) !=
                CCAI_OK)
                die(Ccai_sphinx_errmsg(s));
            voice_audio a;
            if (!render(&voices[v], q->text, &a))
                die("render");
            decode(s, &run, &a, &beside_costs);
            voice_audio_free(&a);
            Ccai_slot fs;
            Ccai_slot_interpret(q->kind, run.free_text, choice ? menu : NULL, choice ? 4 : 0, &fs);
            bool g_ok = run.slot.matched && strcmp(run.slot.value, q->slot) == 0;
            bool f_ok = fs.matched && strcmp(fs.value, q->slot) == 0;
            size_t eg, ef, w;
            voice_word_errors(q->text, run.text, &eg, &w);
            voice_word_errors(q->text, run.free_text, &ef, &w);
            kind_score *k = &ks[q->kind], *pv = &per_voice[v];
            k->n++;
            k->slot_grammar += g_ok;
            k->slot_free += f_ok;
            k->words += w;
            k->err_grammar += eg;
            k->err_free += ef;
            pv->n++;
            pv->slot_grammar += g_ok;
            pv->slot_free += f_ok;
            pv->words += w;
            pv->err_grammar += eg;
            pv->err_free += ef;
            if (!g_ok && wrong_shown < 12) {
                char label[64];
                voice_label(&voices[v], label, sizeof label);
                printf("  (grammar missed: %s \"%s\" -> \"%s\" slot \"%s\")\n", label, q->text,
                       run.text, run.slot.value);
                wrong_shown++;
            }
        }
        Ccai_sphinx_free(s);
    }
    printf("  %-8s %5s  %-26s  %-26s\n", "kind", "n", "word accuracy grammar/free",
           "slot accuracy grammar/free");
    kind_score all = {0};
    for (int k = CCAI_SPEECH_YESNO; k <= CCAI_SPEECH_KIND_MAX; k++) {
        kind_score *x = &ks[k];
        if (!x->n)
            continue;
        printf("  %-8s %5zu  %12.3f / %-11.3f  %12.3f / %-11.3f\n",
               Ccai_speech_kind_name((Ccai_speech_kind)k), x->n,
               1.0 - (double)x->err_grammar / (double)x->words,
               1.0 - (double)x->err_free / (double)x->words, (double)x->slot_grammar / (double)x->n,
               (double)x->slot_free / (double)x->n);
        all.n += x->n;
        all.slot_grammar += x->slot_grammar;
        all.slot_free += x->slot_free;
        all.words += x->words;
        all.err_grammar += x->err_grammar;
        all.err_free += x->err_free;
    }
    if (all.n)
        printf("  %-8s %5zu  %12.3f / %-11.3f  %12.3f / %-11.3f\n", "all", all.n,
               1.0 - (double)all.err_grammar / (double)all.words,
               1.0 - (double)all.err_free / (double)all.words,
               (double)all.slot_grammar / (double)all.n, (double)all.slot_free / (double)all.n);
    printf("  per voice (slot accuracy grammar/free):\n");
    for (size_t v = 0; v < N_VOICES; v++) {
        if (!per_voice[v].n)
            continue;
        char label[64];
        voice_label(&voices[v], label, sizeof label);
        printf("    %-26s %.3f / %.3f\n", label,
               (double)per_voice[v].slot_grammar / (double)per_voice[v].n,
               (double)per_voice[v].slot_free / (double)per_voice[v].n);
    }

    /* Out of grammar: accepted as an answer anyway? */
    size_t accepted = 0, n = 0;
    for (size_t v = 0; v < N_VOICES; v++) {
        if (!voice_ok(&voices[v]) || voices[v].engine != CCAI_SYNTH_FLITE)
            continue;
        stt_run run = {0};
        Ccai_sphinx *s;
        if (Ccai_sphinx_new(m, &phone, on_result, &run, &s) != CCAI_OK)
            die("stream");
        for (size_t i = 0; i < CCAI_ARRAY_SIZE(off_answers); i++) {
            const answer *q = &off_answers[i];
            bool choice = q->kind == CCAI_SPEECH_CHOICE;
            if (Ccai_sphinx_expect(s, q->kind, choice ? menu : NULL, choice ? 4 : 0, false) !=
                CCAI_OK)
                die(Ccai_sphinx_errmsg(s));
            voice_audio a;
            if (!render(&voices[v], q->text, &a))
                die("render");
            costs c = {0};
            decode(s, &run, &a, &c);
            free_costs_of(&c);
            voice_audio_free(&a);
            accepted += run.slot.matched;
            n++;
        }
        Ccai_sphinx_free(s);
    }
    printf("  not an answer (\"i have no idea\" to a yes/no question, ...), flite voices: "
           "%zu of %zu accepted as one (grammar posteriors are ~1: see docs)\n",
           accepted, n);
}

/* Grammar-only decoding cost (no free model beside). */
static void bench_grammar_cost(Ccai_sphinx_model *m)
{
    stt_run run = {0};
    Ccai_sphinx *s;
    if (Ccai_sphinx_new(m, &phone, on_result, &run, &s) != CCAI_OK)
        die("stream");
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(answers); i++) {
        const answer *q = &answers[i];
        bool choice = q->kind == CCAI_SPEECH_CHOICE;
        if (Ccai_sphinx_expect(s, q->kind, choice ? menu : NULL, choice ? 4 : 0, false) != CCAI_OK)
            die("expect");
        voice_audio a;
        if (!render(&voices[0], q->text, &a))
            die("render");
        decode(s, &run, &a, &grammar_costs);
        voice_audio_free(&a);
    }
    Ccai_sphinx_free(s);
}

static void print_costs(const char *what, costs *c)
{
    printf("  %s: CPU %.3f s per s of audio (RTF), %.0f real-time streams per core\n", what,
           c->cpu / c->audio_ms, c->audio_ms / c->cpu);
    char label[96];
    snprintf(label, sizeof label, "%s: CPU per call (one slice)", what);
    bench_report(label, c->slice_cpu.v, c->slice_cpu.n, "ms", 1.0);
    snprintf(label, sizeof label, "%s: CPU per 20 ms of audio", what);
    bench_report(label, c->frame_cpu.v, c->frame_cpu.n, "ms", 1.0);
    snprintf(label, sizeof label, "%s: CPU of an utterance's start", what);
    bench_report(label, c->start_cpu.v, c->start_cpu.n, "ms", 1.0);
    snprintf(label, sizeof label, "%s: end of speech -> FINAL", what);
    bench_report(label, c->end_wall.v, c->end_wall.n, "ms", 1.0);
}

/* Memory: shared model, decoders of each class, and a decoder as
 * pocketsphinx makes it on its own (its own dictionary and LM). */
static void bench_memory(double *ret_free_mb, double *ret_grammar_mb)
{
    printf("\n== STT memory ==\n");
    /* Without sharing first (freed memory stays in the process and would
     * hide what comes after): what pocketsphinx does alone per decoder. */
    err_set_logfp(NULL);
    double u0 = rss_mb(), v0 = heap_mb();
    ps_decoder_t *ps[4];
    const uint32_t un = quick ? 1 : 2;
    double w0 = bench_now_ms();
    for (uint32_t i = 0; i < un; i++) {
        cmd_ln_t *c = cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", CCAI_SPHINX_MODEL_DIR "/en-us",
                                  "-lm", CCAI_SPHINX_MODEL_DIR "/en-us.lm.bin", "-dict",
                                  CCAI_SPHINX_MODEL_DIR "/cmudict-en-us.dict", NULL);
        ps[i] = c ? ps_init(c) : NULL;
        if (!ps[i])
            die("ps_init");
        cmd_ln_free_r(c);
    }
    double alone_ms = (bench_now_ms() - w0) / un;
    double u1 = rss_mb(), v1 = heap_mb();
    for (uint32_t i = 0; i < un; i++)
        ps_free(ps[i]);
    malloc_trim(0);
    printf("  not shared (ps_init with its own -lm and -dict): %.1f MB RSS each (%.1f MB heap), "
           "created in %.0f ms\n",
           (u1 - u0) / un, (v1 - v0) / un, alone_ms);

    double r0 = rss_mb(), h0 = heap_mb();
    w0 = bench_now_ms();
    Ccai_sphinx_model *m;
    Ccai_err err = {0};
    if (Ccai_sphinx_model_new(NULL, NULL, &m, &err) != CCAI_OK)
        die(Ccai_err_get(&err));
    double load_ms = bench_now_ms() - w0;
    double r1 = rss_mb(), h1 = heap_mb();
    const uint32_t n = quick ? 2 : 4;
    w0 = bench_now_ms();
    if (Ccai_sphinx_model_reserve(m, n, 0) != CCAI_OK)
        die("reserve free");
    double free_ms = (bench_now_ms() - w0) / n;
    double r2 = rss_mb(), h2 = heap_mb();
    w0 = bench_now_ms();
    if (Ccai_sphinx_model_reserve(m, n, n) != CCAI_OK)
        die("reserve grammar");
    double grammar_ms = (bench_now_ms() - w0) / n;
    double r3 = rss_mb(), h3 = heap_mb();
    /* A stream's own memory (converter, queue, expectation): measured
     * through the heap with no decoder taken. */
    Ccai_sphinx *streams[64];
    for (int i = 0; i < 64; i++)
        if (Ccai_sphinx_new(m, &phone, on_result, NULL, &streams[i]) != CCAI_OK)
            die("stream");
    double h4 = heap_mb();
    for (int i = 0; i < 64; i++)
        Ccai_sphinx_free(streams[i]);
    Ccai_sphinx_stats st;
    Ccai_sphinx_model_stats(m, &st);
    printf("  shared per model: %.1f MB RSS (%.1f MB heap; dictionary %zu entries, %.1f MB; "
           "language model), loaded in %.0f ms\n",
           r1 - r0, h1 - h0, st.dict_entries, (double)st.dict_bytes / 1048576.0, load_ms);
    printf("  free-text decoder (shared LM, LM vocabulary): %.1f MB RSS each (%.1f MB heap), "
           "created in %.0f ms\n",
           (r2 - r1) / n, (h2 - h1) / n, free_ms);
    printf("  grammar decoder (its grammars' words only):   %.1f MB RSS each (%.1f MB heap), "
           "created in %.0f ms\n",
           (r3 - r2) / n, (h3 - h2) / n, grammar_ms);
    printf("  a stream between utterances (no decoder held): %.1f KiB\n",
           (h4 - h3) * 1024.0 / 64.0);
    *ret_free_mb = (r2 - r1) / n;
    *ret_grammar_mb = (r3 - r2) / n;
    Ccai_sphinx_model_free(m);
    Ccai_err_free(&err);
}

/* ---- the voices ------------------------------------------------------------ */

typedef struct tts_meas {
    double first_ms; /* say -> first audio (wall) */
    bool got_first;
    double t0;
    size_t bytes;
    bool done;
} tts_meas;

static bool tts_audio(void *ud, const uint8_t *d, size_t n)
{
    (void)d;
    tts_meas *m = ud;
    if (!m->got_first) {
        m->got_first = true;
        m->first_ms = bench_now_ms() - m->t0;
    }
    m->bytes += n;
    return true;
}

static void tts_done(void *ud, uint32_t id, ccai_status st)
{
    (void)id;
    tts_meas *m = ud;
    if (st != CCAI_OK)
        die("synthesis failed");
    m->done = true;
}

typedef struct tts_result {
    double rtf, per_core;
} tts_result;

static tts_result bench_voice(Ccai_synth_engine e, const char *voice)
{
    tts_result res = {0, 0};
    Ccai_synth_params p;
    Ccai_synth_params_default(&p);
    p.engine = e;
    p.voice = voice;
    p.out = phone;
    Ccai_synth_sink sink = {tts_audio, tts_done};
    tts_meas m = {0};
    Ccai_synth *t;
    if (Ccai_synth_new(&p, &sink, &m, &t, NULL) != CCAI_OK)
        die("tts");
    samples first = {0}, step = {0};
    double cpu = 0, audio_ms = 0;
    for (int pass = 0; pass < 2; pass++) /* the first pass warms the voice up */
        for (size_t i = 0; i < CCAI_ARRAY_SIZE(free_lines); i++) {
            memset(&m, 0, sizeof m);
            double c0 = cpu_ms(), k0 = children_cpu_ms();
            m.t0 = bench_now_ms();
            if (Ccai_synth_say(t, free_lines[i], strlen(free_lines[i]), NULL) != CCAI_OK)
                die("say");
            while (!m.done) {
                Ccai_synth_fd fds[4];
                size_t n = Ccai_synth_fds(t, fds, 4);
                if (n) {
                    struct timespec ts = {0, 100000};
                    nanosleep(&ts, NULL); /* stands in for the loop's wait */
                }
                double s0 = cpu_ms();
                if (Ccai_synth_step(t) != CCAI_OK)
                    die("step");
                if (pass)
                    add(&step, cpu_ms() - s0);
            }
            if (!pass)
                continue;
            cpu += (cpu_ms() - c0) + (children_cpu_ms() - k0);
            audio_ms += (double)Ccai_media_bytes_to_us(&phone, m.bytes) / 1000.0;
            add(&first, m.first_ms);
        }
    res.rtf = cpu / audio_ms;
    res.per_core = audio_ms / cpu;
    char label[64];
    snprintf(label, sizeof label, "%s %s", e == CCAI_SYNTH_FLITE ? "flite" : "espeak-ng", voice);
    qsort(first.v, first.n, sizeof *first.v, bench_cmp_double);
    qsort(step.v, step.n, sizeof *step.v, bench_cmp_double);
    printf("  %-18s %5.0f Hz  first audio p50 %6.2f max %6.2f ms  RTF %.4f  %6.0f streams/core  "
           "longest step %.2f ms CPU\n",
           label, (double)Ccai_synth_native_rate(t), first.v[first.n / 2], first.v[first.n - 1],
           res.rtf, res.per_core, step.v[step.n - 1]);
    Ccai_synth_free(t);
    free(first.v);
    free(step.v);
    return res;
}

int main(int argc, char **argv)
{
    double talk = 0.4;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = true;
        else if (strcmp(argv[i], "--talk") == 0 && i + 1 < argc)
            talk = atof(argv[++i]);
        else
            die("usage: bench-speech [--quick] [--talk SHARE]");
    }
    if (access(CCAI_SPHINX_MODEL_DIR "/en-us/mdef", R_OK) != 0)
        die("pocketsphinx-en-us is not installed");
    if (!voice_available(CCAI_SYNTH_FLITE))
        die("this build has no flite");
    printf("bench-speech: build %s%s, %ld cores, %s; espeak-ng %s\n", CCAI_BENCH_BUILDTYPE,
           strcmp(CCAI_BENCH_SANITIZE, "none") ? " (sanitizers: figures are not representative)"
                                               : "",
           sysconf(_SC_NPROCESSORS_ONLN), quick ? "quick" : "full",
           voice_available(CCAI_SYNTH_ESPEAK) ? "found" : "missing (its voices are skipped)");

    double free_mb, grammar_mb;
    bench_memory(&free_mb, &grammar_mb);

    Ccai_sphinx_model *m;
    Ccai_err err = {0};
    if (Ccai_sphinx_model_new(NULL, NULL, &m, &err) != CCAI_OK)
        die(Ccai_err_get(&err));
    if (Ccai_sphinx_model_reserve(m, 2, 1) != CCAI_OK)
        die("reserve");
    bench_free_text(m);
    bench_cmn(m);
    bench_answers(m);
    bench_grammar_cost(m);
    printf("\n== STT cost on the host's loop (one core) ==\n");
    print_costs("free text", &free_costs);
    print_costs("grammar", &grammar_costs);
    print_costs("grammar + free beside", &beside_costs);
    Ccai_sphinx_model_free(m);

    printf("\n== TTS: time to first audio, CPU per second of audio ==\n");
    tts_result kal16 = bench_voice(CCAI_SYNTH_FLITE, "kal16");
    bench_voice(CCAI_SYNTH_FLITE, "kal");
    tts_result slt = bench_voice(CCAI_SYNTH_FLITE, "slt");
    bench_voice(CCAI_SYNTH_FLITE, "rms");
    bench_voice(CCAI_SYNTH_FLITE, "awb");
    tts_result esp = {0, 0};
    if (voice_available(CCAI_SYNTH_ESPEAK)) {
        esp = bench_voice(CCAI_SYNTH_ESPEAK, "en-us");
        bench_voice(CCAI_SYNTH_ESPEAK, "fr-fr");
    }

    double stt_free = free_costs.cpu / free_costs.audio_ms;
    double stt_gram = grammar_costs.cpu / grammar_costs.audio_ms;
    printf("\n== Cloud-free capacity, one core (caller talks %.0f%% of the call, the bot %.0f%%; "
           "STT decodes only the caller's speech, VAD-gated) ==\n",
           talk * 100, talk * 100);
    struct {
        const char *what;
        double stt, tts;
    } mixes[] = {
        {"free text + flite kal16", stt_free, kal16.rtf},
        {"grammar + flite kal16", stt_gram, kal16.rtf},
        {"free text + flite slt", stt_free, slt.rtf},
        {"free text + espeak-ng", stt_free, esp.rtf},
    };
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(mixes); i++) {
        if (mixes[i].tts <= 0)
            continue;
        double per_call = talk * mixes[i].stt + talk * mixes[i].tts;
        printf("  %-26s %6.1f calls per core  (STT %.3f + TTS %.4f CPU s per call second)\n",
               mixes[i].what, 1.0 / per_call, talk * mixes[i].stt, talk * mixes[i].tts);
    }
    printf("  memory: a decoder is held only while its caller talks: ~%.0f MB per caller talking "
           "at the same moment (free text), ~%.0f MB (grammar)\n",
           free_mb, grammar_mb);
    Ccai_err_free(&err);
    free_costs_of(&free_costs);
    free_costs_of(&grammar_costs);
    free_costs_of(&beside_costs);
    return 0;
}
