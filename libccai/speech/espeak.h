/* espeak-ng as a separate process, never linked: espeak-ng is GPL-3 and
 * libccai is MIT, so running the `espeak-ng` program (Debian package
 * espeak-ng) keeps libccai's licence whatever is installed. A build option
 * linking libespeak-ng would make every such build GPL-3 and run its
 * process-wide singleton synthesiser on the host's thread; a process costs
 * ~10 ms of start-up per sentence, off our thread.
 *
 * One process per piece of text (a sentence): `espeak-ng --stdout -b 1
 * -v VOICE -s WPM`, the text written to its standard input (never on its
 * command line, where other users could read it), a WAV stream read from
 * its standard output. A long-lived process fed line by line would save
 * the start-up, but its output is one WAV stream with no boundary between
 * sentences, so a sentence's end could not be told.
 *
 * Split as the io layer wants it: Ccai_wavstream is the sans-I/O parser of
 * the stream (bytes in, samples out; fuzzed), Ccai_espeak_job the tiny
 * driver: non-blocking pipes, a pidfd for the exit, and the descriptors to
 * watch, so the host's loop (the io layer's fd watching once issue 10
 * lands) waits for them instead of a thread. The child's stdin is a socket
 * written with MSG_NOSIGNAL, so a child that dies early cannot raise
 * SIGPIPE in the host. */
#ifndef CCAI_SPEECH_ESPEAK_H
#define CCAI_SPEECH_ESPEAK_H

#include "media/wav.h"
#include "speech/pcm.h"

#define CCAI_WAVSTREAM_HEADER_MAX 4096
#define CCAI_ESPEAK_WPM_DEFAULT   175
#define CCAI_ESPEAK_RATE          22050

typedef struct Ccai_wavstream {
    uint8_t head[CCAI_WAVSTREAM_HEADER_MAX];
    size_t head_len;
    bool have_header;
    Ccai_wav_info info;
    uint8_t carry[2]; /* a partial sample between reads */
    size_t carry_len;
    uint64_t data_left; /* bytes the header declared, still to come */
    uint64_t samples;   /* delivered so far */
} Ccai_wavstream;

void Ccai_wavstream_init(Ccai_wavstream *w);
/* len bytes of the stream; samples go to fn as they complete. Accepted:
 * mono PCM 16-bit, mu-law or A-law at 8..48 kHz.
 * Statuses: CCAI_OK; CCAI_ERR_PARSE (not WAV); CCAI_ERR_UNSUPPORTED
 * (another format, more channels or another rate); CCAI_ERR_LIMIT (a
 * header over CCAI_WAVSTREAM_HEADER_MAX bytes); CCAI_ERR_CANCELLED (fn
 * returned false). After an error the stream accepts nothing more. */
ccai_status Ccai_wavstream_feed(Ccai_wavstream *w, const uint8_t *in, size_t len, Ccai_pcm_fn fn,
                                void *ud);
/* The stream ended. Statuses: CCAI_OK; CCAI_ERR_PARSE (it ended before its
 * header did). */
ccai_status Ccai_wavstream_end(const Ccai_wavstream *w);

/* An espeak-ng voice name as the program takes it: letters, digits, '-',
 * '_', '+', not starting with '-', at most 40 bytes. */
bool Ccai_espeak_voice_valid(const char *voice);
/* espeak-ng's voice for a BCP 47 tag: "fr-FR" -> "fr-fr", "de" -> "de";
 * false when the tag is not a plausible one. out has room for 48 bytes. */
bool Ccai_espeak_voice_for(const char *language, char *out, size_t cap);

typedef struct Ccai_espeak_job Ccai_espeak_job;

/* Start program (searched in PATH) speaking text with voice at wpm words
 * per minute (80..450).
 * Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG (voice, wpm or empty text);
 * CCAI_ERR_IO (it could not be started: err says why, e.g. not installed:
 * Debian package espeak-ng); CCAI_ERR_NOMEM.
 * Ownership: text copied; *ret freed with Ccai_espeak_job_free(). */
ccai_status Ccai_espeak_job_start(const char *program, const char *voice, uint32_t wpm,
                                  const char *text, Ccai_espeak_job **ret, Ccai_err *err);
/* Move what can move without blocking: write the text, read at most 64 KiB
 * of audio (to fn), reap the process once its output ended. *ret_done
 * becomes true when the job is over, its outcome the status:
 * CCAI_OK (all audio delivered, exit status 0); CCAI_ERR_IO (it died or
 * exited with a failure: err says how; an unknown voice exits 1);
 * CCAI_ERR_PARSE/_UNSUPPORTED/_LIMIT (its output: Ccai_wavstream_feed());
 * CCAI_ERR_CANCELLED (fn returned false). Not done: CCAI_OK. */
ccai_status Ccai_espeak_job_io(Ccai_espeak_job *j, Ccai_pcm_fn fn, void *ud, bool *ret_done,
                               Ccai_err *err);
/* The descriptors the next Ccai_espeak_job_io() waits for: 0 when it can
 * run at once (the process has ended but is not reaped and no pidfd is
 * available: call again soon). */
size_t Ccai_espeak_job_fds(const Ccai_espeak_job *j, Ccai_synth_fd *fds, size_t cap);
/* Samples delivered so far. */
uint64_t Ccai_espeak_job_samples(const Ccai_espeak_job *j);
/* Kill the process if it runs (SIGKILL), reap it, close everything. NULL
 * accepted. */
void Ccai_espeak_job_free(Ccai_espeak_job *j);

#endif
