/* A small TwiML builder for voice responses (channels/twilio/twiml.c).
 *
 * Lifecycle:
 *   1. Ccai_twiml_init() starts the document:
 *      <?xml version="1.0" encoding="UTF-8"?><Response>
 *   2. Verbs are appended in order. Ccai_twiml_gather_begin() /
 *      Ccai_twiml_dial_begin() open an element that the matching _end()
 *      closes; inside <Gather> only Say, Play and Pause are allowed, inside
 *      <Dial> only Number.
 *   3. Ccai_twiml_finish() closes the document and hands out the text, or
 *      reports the first error; Ccai_twiml_free() abandons a document.
 *
 * Errors are sticky, so a response is built without checking every call: a
 * failed allocation, a NULL required argument or a verb in the wrong place
 * makes every later call a no-op and finish() report it.
 *
 * Output is compact (no white space between elements); an element without
 * children or text is self-closed ("<Hangup/>", "<Response/>"). Attributes
 * appear in the order of the option structs below, and only when set: NULL
 * strings, 0 integers and CCAI_TWIML_UNSET booleans are left out (Twilio's
 * defaults apply). Text is escaped (& < >), attribute values too (& < > "
 * and tab, LF, CR as character references); control characters XML does
 * not allow and invalid UTF-8 sequences become U+FFFD, so text from a model
 * never produces a document Twilio rejects. */
#ifndef CCAI_CHANNELS_TWILIO_TWIML_H
#define CCAI_CHANNELS_TWILIO_TWIML_H

#include "core/common.h"

typedef enum Ccai_twiml_bool {
    CCAI_TWIML_UNSET = 0,
    CCAI_TWIML_FALSE,
    CCAI_TWIML_TRUE
} Ccai_twiml_bool;

/* Builder state; treat as opaque, embed it anywhere. */
typedef struct Ccai_twiml {
    Ccai_buf buf;
    ccai_status status; /* first error, sticky */
    int open;           /* 0: in <Response>; 'G': in <Gather>; 'D': in <Dial> */
    bool tag_pending;   /* the innermost start tag still lacks its '>' */
    bool finished;
} Ccai_twiml;

typedef struct Ccai_twiml_say_opts {
    const char *voice;    /* "alice", "Polly.Joanna-Neural", "Google.en-US-Neural2-F" */
    const char *language; /* "en-US" */
    /* Speaking rate (1.0: the voice's own, 0: not set): written as SSML
     * <prosody rate="85%"> inside <Say>, which only Amazon Polly and Google
     * voices take: the caller decides (Ccai_twiml_voice_takes_prosody). */
    double rate;
} Ccai_twiml_say_opts;

typedef struct Ccai_twiml_gather_opts {
    const char *input;  /* "dtmf", "speech", "dtmf speech" */
    const char *action; /* URL */
    const char *method; /* "POST" / "GET" */
    const char *language;
    const char *hints;          /* comma-separated phrases */
    const char *speech_timeout; /* seconds, or "auto" */
    int timeout;                /* seconds to wait for input */
    int num_digits;
    const char *finish_on_key; /* "" is written (disables the key) */
    const char *speech_model;
    const char *partial_result_callback;
    Ccai_twiml_bool barge_in;
    Ccai_twiml_bool action_on_empty_result;
} Ccai_twiml_gather_opts;

typedef struct Ccai_twiml_dial_opts {
    const char *action;
    const char *method;
    int timeout; /* seconds of ringing */
    const char *caller_id;
    const char *record; /* "record-from-answer", "do-not-record", ... */
    int time_limit;     /* seconds */
    Ccai_twiml_bool answer_on_bridge;
} Ccai_twiml_dial_opts;

/* Start a document; t needs no other initialisation. */
void Ccai_twiml_init(Ccai_twiml *t);

/* Whether Twilio's <Say> with this voice takes SSML <prosody rate>: Amazon
 * Polly's standard and neural voices and Google's (not Polly's generative
 * ones nor Google's Chirp voices, which take no SSML; not the basic "man",
 * "woman", "alice", nor no voice: Twilio's default is basic). */
bool Ccai_twiml_voice_takes_prosody(const char *voice);
/* <Say voice language>text</Say>. opts may be NULL. */
void Ccai_twiml_say(Ccai_twiml *t, const char *text, const Ccai_twiml_say_opts *opts);
/* <Play>url</Play>, or with url NULL and digits set <Play digits="..."/>. */
void Ccai_twiml_play(Ccai_twiml *t, const char *url, const char *digits);
/* <Pause length="seconds"/>; seconds <= 0 gives <Pause/> (1 s). */
void Ccai_twiml_pause(Ccai_twiml *t, int seconds);

/* <Gather ...> ... </Gather>. opts may be NULL. */
void Ccai_twiml_gather_begin(Ccai_twiml *t, const Ccai_twiml_gather_opts *opts);
void Ccai_twiml_gather_end(Ccai_twiml *t);

/* <Dial ...> <Number sendDigits>number</Number> ... </Dial>. */
void Ccai_twiml_dial_begin(Ccai_twiml *t, const Ccai_twiml_dial_opts *opts);
void Ccai_twiml_number(Ccai_twiml *t, const char *number, const char *send_digits);
void Ccai_twiml_dial_end(Ccai_twiml *t);

/* <Redirect method>url</Redirect>; method may be NULL. */
void Ccai_twiml_redirect(Ccai_twiml *t, const char *url, const char *method);
/* <Connect><Stream url><Parameter name value/>...</Stream></Connect>: a
 * bidirectional Media Stream (url wss://, no query: Twilio refuses one);
 * params "name", "value", ..., NULL (may be NULL), arriving in the stream's
 * start.customParameters. */
void Ccai_twiml_connect_stream(Ccai_twiml *t, const char *url, const char *const *params);
/* <Hangup/>. */
void Ccai_twiml_hangup(Ccai_twiml *t);
/* <Reject reason="busy|rejected"/>; reason may be NULL. */
void Ccai_twiml_reject(Ccai_twiml *t, const char *reason);

/* Close the document and hand it out.
 *
 * Statuses: CCAI_OK; CCAI_ERR_NOMEM; CCAI_ERR_INVALID_ARG (a required text
 * or URL was NULL, or ret_xml is NULL); CCAI_ERR_STATE (a verb in the wrong
 * element, an unclosed <Gather>/<Dial>, an _end() without its _begin(), or
 * finish() called twice).
 * Ownership: on CCAI_OK *ret_xml (NUL-terminated, length in *ret_len when
 * ret_len is not NULL) is the caller's, freed with ccai_free(). On every
 * return the builder's memory is released; Ccai_twiml_free() stays legal. */
CCAI_MUST_CHECK ccai_status Ccai_twiml_finish(Ccai_twiml *t, char **ret_xml, size_t *ret_len);

/* Release an unfinished document. NULL is accepted. */
void Ccai_twiml_free(Ccai_twiml *t);

#endif
