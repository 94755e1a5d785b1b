/* What the stream-mode tests of the telephony channels
 * (tests/integration/test_server_acs_stream.c, test_server_twilio_stream.c)
 * share: ccai-server run with a channel's settings in a directory of its
 * own (its database and one log per start), its logs and call documents
 * polled, and the caller's side of the audio (what it heard, what it
 * says). Not part of libccai. */
#ifndef CCAI_TEST_STREAM_SERVER_H
#define CCAI_TEST_STREAM_SERVER_H

#include "support/media_drivers.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define STREAM_SERVER_SETTINGS_MAX 16
#define STREAM_SERVER_EXTRA_MAX    6

typedef struct stream_server {
    const char *bin; /* the ccai-server binary */
    pid_t pid;
    int port;
    char dir[64];
    int starts;
    const char *extra[STREAM_SERVER_EXTRA_MAX + 1]; /* more NAME=value, NULL-terminated */
} stream_server;

/* pocketsphinx's English model, flite and espeak-ng: the caller's speech is
 * made and recognised offline. */
bool stream_have_speech(void);
void stream_sleep_ms(int ms);

/* A new directory from @dir_template ("/tmp/ccai-x-XXXXXX"), @extra (NULL
 * or NULL-terminated, at most STREAM_SERVER_EXTRA_MAX) kept; nothing runs. */
void stream_server_init(stream_server *s, const char *bin, const char *dir_template,
                        const char *const *extra);
/* (Re)start it: @settings (the channel's NAME=value, NULL-terminated, at
 * most STREAM_SERVER_SETTINGS_MAX), then the database in its directory,
 * then the extra settings; its log the next server<i>.log. */
void stream_server_spawn(stream_server *s, const char *const *settings);
/* SIGTERM when running; the directory removed. */
void stream_server_stop(stream_server *s);

/* Every start's log, one malloc'd text. */
char *stream_server_logs(stream_server *s);
bool stream_server_wait_log(stream_server *s, const char *what, int max_ms);
/* GET /call/<id> with the token "tok": the body, malloc'd (200 asserted). */
char *stream_server_call(stream_server *s, const char *id);
/* Until the call is over (ended; done once its post-call work ran;
 * transferred). */
bool stream_server_wait_over(stream_server *s, const char *id, int max_ms);

/* Occurrences of what in s. */
int stream_count(const char *s, const char *what);
/* Until the caller has heard at least min_samples and nothing is queued:
 * the samples heard. */
size_t stream_wait_heard(media_driver *d, size_t min_samples, int max_ms);
/* The caller says text (espeak-ng, en-us) at rate Hz. */
void stream_say(media_driver *d, const char *text, int rate);

#endif
