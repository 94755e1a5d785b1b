/* Audio for the speech stand-ins and the media drivers, written
 * independently of libccai's media code so that each checks the other:
 * G.711 (the Sun reference algorithm, as in media.md 6.1), Base64, WAV
 * headers, frame levels for an energy voice-activity decision, a scripted
 * transcript queue, and a speech-like signal for text-to-speech.
 *
 * Test code, not part of libccai: C11 + OpenSSL (Base64). */
#ifndef CCAI_TEST_STANDIN_AUDIO_H
#define CCAI_TEST_STANDIN_AUDIO_H

#include <stddef.h>
#include <stdint.h>

uint8_t sa_lin2ulaw(int16_t pcm);
int16_t sa_ulaw2lin(uint8_t u);
uint8_t sa_lin2alaw(int16_t pcm);
int16_t sa_alaw2lin(uint8_t a);

/* Base64 (standard alphabet, padded); malloc'd, NUL-terminated. Decoding
 * returns NULL on invalid input. */
char *sa_b64(const void *data, size_t n);
uint8_t *sa_unb64(const char *s, size_t *ret_len);

typedef enum sa_enc { SA_PCM16 = 1, SA_ULAW, SA_ALAW, SA_PCM32F } sa_enc;

/* Samples (mono: channels are averaged) from raw bytes of that encoding;
 * *used = bytes consumed (whole samples only). malloc'd, *n samples. */
int16_t *sa_decode(sa_enc enc, int channels, const uint8_t *data, size_t len, size_t *n,
                   size_t *used);
/* Bytes of that encoding (mono) from samples; malloc'd, *len bytes. */
uint8_t *sa_encode(sa_enc enc, const int16_t *pcm, size_t n, size_t *len);

typedef struct sa_wav {
    int format; /* 1 PCM, 3 float, 6 A-law, 7 mu-law */
    int channels, rate, bits;
    const uint8_t *data; /* the data chunk */
    size_t data_len;
} sa_wav;

/* Parse a RIFF/WAVE file; a data size of 0 or 0xFFFFFFFF (streamed) or
 * past the end means "to the end". 0, or -1 when not a WAV file. */
int sa_wav_parse(const uint8_t *p, size_t len, sa_wav *w);
/* A 44-byte PCM header (format 1, 16 bits) or an 8-bit G.711 one (format
 * 6/7, 58 bytes with fact chunk); data_len 0xFFFFFFFF for a stream. Returns
 * the header length written into out (at least 58 bytes). */
size_t sa_wav_header(uint8_t *out, int format, int channels, int rate, uint32_t data_len);

/* Level of a frame in dBFS (RMS; -100 for digital silence). */
double sa_level_db(const int16_t *pcm, size_t n);

/* A speech detector per 20 ms frame for the stand-ins' endpointing: a frame
 * is speech when its level is at or above threshold_db. Times are ms of
 * audio since the stream began. */
typedef struct sa_vad {
    int rate;
    double threshold_db; /* default -40 dBFS */
    int16_t *pend;       /* samples of an incomplete frame */
    size_t npend;
    uint64_t t_ms; /* audio time at the end of the frames processed */
} sa_vad;

void sa_vad_init(sa_vad *v, int rate, double threshold_db);
void sa_vad_free(sa_vad *v);
/* Feeds samples; calls cb(ud, frame_start_ms, is_speech) per whole frame. */
void sa_vad_feed(sa_vad *v, const int16_t *pcm, size_t n,
                 void (*cb)(void *ud, uint64_t start_ms, int speech), void *ud);

/* Scripted recognition: what the next utterances "contain". */
typedef struct sa_script {
    char **v;
    size_t n, cap, head;
} sa_script;

void sa_script_push(sa_script *s, const char *text);
/* The oldest utterance (malloc'd; the caller frees), or NULL when none. */
char *sa_script_pop(sa_script *s);
size_t sa_script_pending(const sa_script *s);
void sa_script_free(sa_script *s);

/* Words of a text (split on white space), malloc'd array of malloc'd
 * strings; *n words. sa_words_free frees them. */
char **sa_words(const char *text, size_t *n);
void sa_words_free(char **w, size_t n);
/* A word without punctuation, lower-cased (Deepgram's "word"). */
void sa_plain_word(const char *w, char *out, size_t n);

/* Text to a speech-like signal: each word a voiced sound (harmonics of a
 * 110-190 Hz pitch, syllable-rate envelope, about -20 dBFS) lasting
 * 90 ms + 55 ms per letter, 70 ms gaps, 250 ms after , ; : and 450 ms after
 * . ! ?, 60 ms of silence before, 120 ms after; durations divided by speed.
 * Deterministic. malloc'd mono s16 at rate; *n samples. If char_start_ms is not
 * NULL it receives, per character of text, its start and duration in ms
 * (two arrays of strlen(text), malloc'd; white space shares the gap). */
int16_t *sa_synth(const char *text, int rate, double speed, size_t *n, int **char_start_ms,
                  int **char_dur_ms);

#endif
