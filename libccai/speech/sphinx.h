/* Offline speech-to-text with Debian's pocketsphinx (0.8+5prealpha, the
 * old cmd_ln_t API, BSD) and its en-us model, streaming, on the host's
 * thread: no hidden thread, nothing blocks but the decoding itself, which
 * runs in bounded slices.
 *
 * Model (Ccai_sphinx_model, one per context/thread): what every call
 * shares — the pronunciation dictionary (speech/dict.h, parsed once), the
 * trigram language model (one ngram_model_t, ~33 MB), and a pool of
 * decoders reused from call to call, so a call never pays the decoder's
 * start-up (0.3-0.6 s for a free-text decoder) unless the pool must grow.
 * Two classes of decoder:
 *   free    the language model's 70k-word vocabulary; ~45 MB each;
 *   grammar only the words of the grammars it has run; ~5 MB each.
 * A decoder is held only while an utterance is decoded, so memory follows
 * the number of callers talking at the same moment, not the number of
 * calls; what a call keeps between utterances (its cepstral mean, so it
 * stays adapted to the line) is 13 numbers.
 * sphinxbase keeps reference counts and caches without locks: a model and
 * its streams belong to one thread.
 *
 * Stream (Ccai_sphinx, one per call): audio in the call's format (8 kHz
 * G.711 from a phone line, 16 kHz PCM, ...) converted to 16 kHz for the
 * wideband en-us model; telephone-band input starts from a telephone
 * cepstral mean (offline-speech.md 2b: without it the first utterance is
 * ~90 % wrong). The caller's turn-taking drives it:
 *   Ccai_sphinx_expect()  what the next utterance should be: free text, or
 *                         an answer type with its grammar (optionally with
 *                         the free model beside it);
 *   Ccai_sphinx_feed()    audio of the utterance as it arrives (the first
 *                         feed starts the utterance); decodes at most
 *                         slice_ms of it, the rest waits for ..._step();
 *   Ccai_sphinx_step()    decodes the next slice (call while
 *                         Ccai_sphinx_pending_ms() > 0, e.g. from a 0 ms
 *                         timer, so other events interleave);
 *   Ccai_sphinx_end()     the turn ended (the VAD said so): the FINAL
 *                         result comes once the queue is decoded;
 *   Ccai_sphinx_cancel()  drop the utterance without a result.
 * Results arrive through the stream's callback: PARTIAL hypotheses while
 * decoding (when the words change), one FINAL per utterance.
 *
 * English only: Debian ships no other pocketsphinx model; other languages
 * are CCAI_ERR_UNSUPPORTED (Ccai_sphinx_language_supported()).
 *
 * Memory: the library's allocator for our structures; pocketsphinx and
 * sphinxbase allocate with malloc (no hook) and exit the process when an
 * allocation fails (their ckd_alloc): out of memory inside pocketsphinx is
 * fatal, as it is for any program linking it. pocketsphinx's log goes to
 * the model's logger (INFO as DEBUG); its log callback is process-wide, so
 * a host that uses sphinxbase itself loses its own. */
#ifndef CCAI_SPEECH_SPHINX_H
#define CCAI_SPEECH_SPHINX_H

#include "media/codec.h"
#include "speech/grammar.h"

/* Where Debian's pocketsphinx-en-us installs the model. */
#define CCAI_SPHINX_MODEL_DIR "/usr/share/pocketsphinx/model/en-us"

typedef struct Ccai_sphinx_params {
    const char *hmm_dir;   /* acoustic model (NULL: CCAI_SPHINX_MODEL_DIR "/en-us") */
    const char *dict_path; /* pronunciations (NULL: .../cmudict-en-us.dict) */
    const char *lm_path;   /* language model (NULL: .../en-us.lm.bin; "": none,
                              grammars only) */
    uint32_t max_decoders; /* decoders of each class at most (64) */
    /* Search limits per 10 ms frame (pocketsphinx -maxhmmpf, -maxwpf): they
     * bound the cost of a frame; bench-speech measures the trade-off. */
    uint32_t max_hmm_per_frame;   /* 10000 */
    uint32_t max_words_per_frame; /* 10 */
    bool bestpath;                /* lattice rescoring at the end (true) */
    /* Audio one feed/step decodes at most (10 = one pocketsphinx frame:
     * the smallest bound on the time the host's loop spends in a call;
     * 10..1000). */
    uint32_t slice_ms;
    uint32_t max_utterance_ms; /* longer is ended with truncated set (30000) */
    uint32_t max_queue_ms;     /* audio waiting to be decoded (10000) */
    double min_confidence;     /* a grammar answer below is no match (0.2) */
} Ccai_sphinx_params;

void Ccai_sphinx_params_default(Ccai_sphinx_params *p);

/* True for the languages the offline recogniser handles: "en" and its
 * regional variants (all served by the en-us model). */
bool Ccai_sphinx_language_supported(const char *tag);

typedef struct Ccai_sphinx_model Ccai_sphinx_model;

/* Load the dictionary and the language model (blocking: ~0.5 s; call at
 * start-up). log may be NULL (pocketsphinx's messages are dropped).
 * Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG (params out of range);
 * CCAI_ERR_IO (a model file missing or unreadable: err says which);
 * CCAI_ERR_PARSE (a bad dictionary); CCAI_ERR_NOMEM.
 * Ownership: params and the logger are copied; *ret is released with
 * Ccai_sphinx_model_free() and lives on while streams use it. */
ccai_status Ccai_sphinx_model_new(const Ccai_sphinx_params *p, const Ccai_logger *log,
                                  Ccai_sphinx_model **ret, Ccai_err *err);
/* Release the caller's reference (NULL accepted). */
void Ccai_sphinx_model_free(Ccai_sphinx_model *m);
/* Create decoders now so that calls find them ready (blocking: ~0.4 s per
 * free decoder, ~15 ms per grammar decoder).
 * Statuses: CCAI_OK; CCAI_ERR_LIMIT (beyond max_decoders);
 * CCAI_ERR_UNSUPPORTED (free decoders without a language model);
 * CCAI_ERR_INTERNAL (pocketsphinx refused: see the log). */
ccai_status Ccai_sphinx_model_reserve(Ccai_sphinx_model *m, uint32_t n_free, uint32_t n_grammar);

typedef struct Ccai_sphinx_stats {
    uint32_t free_idle, free_busy, grammar_idle, grammar_busy;
    uint64_t decoders_created;
    size_t dict_entries, dict_bytes;
    bool has_lm;
} Ccai_sphinx_stats;

void Ccai_sphinx_model_stats(const Ccai_sphinx_model *m, Ccai_sphinx_stats *ret);

typedef enum Ccai_sphinx_event {
    CCAI_SPHINX_PARTIAL = 1,
    CCAI_SPHINX_FINAL = 2,
} Ccai_sphinx_event;

typedef struct Ccai_sphinx_word {
    const char *word;          /* dictionary form, variants folded ("read") */
    uint32_t start_ms, end_ms; /* from the utterance's start */
    double confidence;         /* posterior 0..1 */
} Ccai_sphinx_word;

typedef struct Ccai_sphinx_result {
    Ccai_sphinx_event event;
    Ccai_speech_kind expected; /* what the utterance was decoded for */
    const char *text;          /* the words heard ("" for none) */
    /* FINAL only: */
    double confidence; /* the mean of the words' posteriors, 0..1 (a
                          grammar's are near 1 even when it is wrong:
                          bench-speech measures it) */
    const Ccai_sphinx_word *words;
    size_t n_words;
    Ccai_slot slot;        /* expected != FREE: the answer (no match below
                              min_confidence) */
    const char *free_text; /* with the free model beside a grammar: its
                              words; else NULL */
    uint64_t start_ms;     /* stream position of the utterance's start */
    uint32_t audio_ms;     /* audio decoded in the utterance */
    bool truncated;        /* ended by max_utterance_ms, not by the caller */
} Ccai_sphinx_result;

/* Called from inside Ccai_sphinx_feed(), _step() and _end(); r and its
 * strings live until the callback returns. The callback may call
 * Ccai_sphinx_expect(), _cancel() and _free() on its stream. */
typedef void (*Ccai_sphinx_fn)(const Ccai_sphinx_result *r, void *ud);

typedef struct Ccai_sphinx Ccai_sphinx;

/* A stream for audio in fmt (Ccai_media_format_valid; stereo is mixed
 * down), expecting free text.
 * Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG; CCAI_ERR_NOMEM.
 * Ownership: holds a reference to m; *ret freed with Ccai_sphinx_free(). */
ccai_status Ccai_sphinx_new(Ccai_sphinx_model *m, const Ccai_media_format *fmt, Ccai_sphinx_fn fn,
                            void *ud, Ccai_sphinx **ret);
/* Drops any utterance (no callback) and returns its decoders to the pool.
 * NULL accepted; from inside the callback it takes effect on return. */
void Ccai_sphinx_free(Ccai_sphinx *s);
/* What the next utterance is (the current one keeps its own): kind FREE
 * (choices NULL, n 0) or an answer type with its grammar; also_free runs
 * the free model beside the grammar (its words in free_text; a second
 * decoder for the utterance). Every word the grammar needs is checked
 * against the dictionary here.
 * Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG and CCAI_ERR_LIMIT (as
 * Ccai_grammar_build(); the stream's error text says why);
 * CCAI_ERR_NOT_FOUND (a word of a choice is not in the dictionary: the
 * error text names it); CCAI_ERR_UNSUPPORTED (FREE or also_free without a
 * language model); CCAI_ERR_NOMEM. On failure the previous expectation
 * stays. */
ccai_status Ccai_sphinx_expect(Ccai_sphinx *s, Ccai_speech_kind kind, const char *const *choices,
                               size_t n, bool also_free);
/* Queue len bytes of audio (any length) and decode at most slice_ms.
 * Statuses: CCAI_OK; CCAI_ERR_LIMIT (the queue would exceed max_queue_ms:
 * nothing queued); CCAI_ERR_BUSY (no decoder free and max_decoders
 * reached: nothing queued, try again or use another recogniser);
 * CCAI_ERR_INTERNAL (pocketsphinx failed: the utterance is dropped);
 * CCAI_ERR_NOMEM. */
ccai_status Ccai_sphinx_feed(Ccai_sphinx *s, const uint8_t *audio, size_t len);
/* Decode the next slice; finishes an ended utterance once its queue is
 * empty. Statuses: CCAI_OK (also when there was nothing to do);
 * CCAI_ERR_INTERNAL; CCAI_ERR_NOMEM. */
ccai_status Ccai_sphinx_step(Ccai_sphinx *s);
/* Audio queued and not decoded yet, in ms (an ended utterance waiting for
 * its FINAL counts at least 1). */
uint32_t Ccai_sphinx_pending_ms(const Ccai_sphinx *s);
/* End the utterance: the FINAL result now if everything is decoded, else
 * from the Ccai_sphinx_step() that decodes the last slice. Without an
 * utterance, a FINAL with no words comes at once (every end is answered).
 * Statuses: CCAI_OK; CCAI_ERR_INTERNAL; CCAI_ERR_NOMEM. */
ccai_status Ccai_sphinx_end(Ccai_sphinx *s);
/* Drop the utterance and its queued audio: no FINAL. */
void Ccai_sphinx_cancel(Ccai_sphinx *s);
/* The stream's last error text ("" when none). */
const char *Ccai_sphinx_errmsg(const Ccai_sphinx *s);

#endif
