/* Text for the offline voices: plain text, or SSML-like markup of which
 * only the speaking rate is interpreted (<prosody rate="...">); every other
 * tag is dropped with its content kept, the five XML entities and numeric
 * character references are decoded, comments and processing instructions
 * vanish. The result is cut into pieces the engines synthesise one at a
 * time: sentences (after . ! ? ; : followed by a space, at <s>, <p>,
 * <break> and blank lines), each at most CCAI_SYNTH_PIECE_MAX bytes (longer
 * ones are cut after a comma or a space), each with its rate, so a piece's
 * audio is bounded and the first one can play while the next is made.
 *
 * Sans-I/O, with limits: CCAI_SYNTH_TEXT_MAX bytes of input, nesting of
 * <prosody> at most CCAI_SYNTH_NEST_MAX deep (deeper ones count as plain
 * tags). Control bytes and invalid UTF-8 become spaces. */
#ifndef CCAI_SPEECH_TTS_TEXT_H
#define CCAI_SPEECH_TTS_TEXT_H

#include "core/common.h"

#define CCAI_SYNTH_TEXT_MAX  (64u * 1024u)
#define CCAI_SYNTH_PIECE_MAX 300
#define CCAI_SYNTH_NEST_MAX  16
#define CCAI_SYNTH_RATE_MIN  0.5
#define CCAI_SYNTH_RATE_MAX  2.0

typedef struct Ccai_synth_piece {
    char *text;  /* UTF-8, single spaces, no markup */
    double rate; /* speed relative to the voice's normal one */
} Ccai_synth_piece;

typedef struct Ccai_synth_text {
    Ccai_synth_piece *v;
    size_t n, cap;
} Ccai_synth_text;

/* A rate as SSML writes it: x-slow (0.6), slow (0.8), medium or default
 * (1), fast (1.25), x-fast (1.6); a multiplier ("1.2"); a percentage of the
 * normal rate ("80%") or a change ("+20%", "-10%"). False for anything
 * else. The value is not clamped. */
bool Ccai_synth_rate_parse(const char *s, size_t len, double *ret);

/* Parse len bytes of text spoken at base_rate (the call's own speed) into
 * *ret (zeroed by the caller; freed with Ccai_synth_text_clear() whatever the
 * status). Rates are multiplied by base_rate, then clamped to
 * CCAI_SYNTH_RATE_MIN..MAX. Text with nothing to say gives no piece.
 * Statuses: CCAI_OK; CCAI_ERR_LIMIT (more than CCAI_SYNTH_TEXT_MAX bytes);
 * CCAI_ERR_INVALID_ARG (base_rate not in 0.5..2); CCAI_ERR_NOMEM. */
ccai_status Ccai_synth_text_parse(const char *text, size_t len, double base_rate,
                                  Ccai_synth_text *ret);
void Ccai_synth_text_clear(Ccai_synth_text *t);

#endif
