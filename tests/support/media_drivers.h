/* Callers for the voice-channel tests: each plays the carrier that dials in
 * to our server, as media.md 1-3 describe it.
 *
 * Twilio Media Streams (media.md 1; Twilio docs "Media Streams - WebSocket
 * Messages"): a WebSocket client with X-Twilio-Signature on the upgrade =
 * Base64(HMAC-SHA1(auth token, the wss:// URL)) (no query parameters:
 * Twilio's <Stream url> carries none); then "connected", "start"
 * (sequenceNumber "1", streamSid, accountSid, callSid, tracks ["inbound"],
 * customParameters, mediaFormat audio/x-mulaw 8000 1), a "media" message
 * every 20 ms (track inbound, chunk and timestamp counting from the stream
 * start, 160 bytes of base64 mu-law: what twilio_media_say queued, else
 * silence 0xFF), "dtmf" (track inbound_track) and at the end "stop"; all
 * with sequenceNumber as a string. Our "media" is queued and played at real
 * time (20 ms per 160 bytes) by a playback clock; a "mark" is echoed when the
 * audio before it has been played; "clear" empties the queue and echoes the
 * marks still in it. Anything else from us (binary frames, invalid JSON,
 * unknown events, a wrong streamSid, missing fields) counts as a warning
 * (Twilio's 31950 / 31951) and is otherwise ignored, as Twilio does.
 *
 * ACS media streaming (media.md 2; Azure SDK StreamingData models): a
 * WebSocket client with Authorization: Bearer <JWT> (the test provides it,
 * e.g. acs_standin_bearer), x-ms-call-correlation-id and
 * x-ms-call-connection-id; first {"kind":"AudioMetadata","audioMetadata":
 * {"subscriptionId","encoding":"PCM","sampleRate","channels":1,"length"}},
 * then {"kind":"AudioData","audioData":{"timestamp" (ISO 8601),
 * "participantRawID","data" (base64 s16le, 20 ms),"silent"}} every 20 ms,
 * and {"kind":"DtmfData","dtmfData":{"data":"5"}} when DTMF is enabled.
 * Our {"Kind":"AudioData","AudioData":{"Data":...}} (keys in any case) is
 * queued and played at real time; {"Kind":"StopAudio"} empties the queue.
 * No echo of what was played exists (ACS has none). Hanging up closes the
 * socket (1000).
 *
 * Asterisk AudioSocket (media.md 3; Asterisk res_audiosocket.c): a TCP
 * client sending kind 0x01 with the 16-byte UUID, then kind 0x10 frames of
 * 320 bytes (8 kHz s16le, 20 ms) every 20 ms and kind 0x03 with one ASCII
 * digit for DTMF; hanging up closes the socket. From us, audio kinds are
 * played as they arrive (no queue: their arrival times are kept), kind 0x00
 * or the socket closing is a hang-up, any other kind or a zero length is an
 * error (Asterisk logs it and ends the call: the driver closes).
 *
 * Each driver runs one thread; every function may be called from any
 * thread. Audio given to say() is sent in real time after what was queued
 * before. Ownership: results are malloc'd (free them). Test code, not part
 * of libccai: C11 + POSIX + OpenSSL + jansson + wslay (ws.h). */
#ifndef CCAI_TEST_MEDIA_DRIVERS_H
#define CCAI_TEST_MEDIA_DRIVERS_H

#include <stddef.h>
#include <stdint.h>

/* What both WebSocket drivers expose about the session. */
typedef struct media_driver media_driver;

typedef struct twilio_media_opts {
    int port;                  /* our server on 127.0.0.1 */
    const char *path;          /* the <Stream url> path, e.g. "/twilio/media" */
    const char *signed_url;    /* the wss:// URL Twilio signs; NULL =
                                  "wss://127.0.0.1:<port><path>" */
    const char *auth_token;    /* NULL: no X-Twilio-Signature header */
    int forge;                 /* a wrong signature (one character changed) */
    const char *account_sid;   /* NULL = "AC" + 32 hex */
    const char *call_sid;      /* NULL = generated "CA..." */
    const char *const *params; /* <Parameter> name, value, ..., NULL */
    int timeout_ms;            /* the upgrade; 0 = 5000 */
} twilio_media_opts;

/* Connects; on a 101 sends connected and start and begins the 20 ms media
 * clock. NULL only when out of memory; check media_driver_status(). */
media_driver *twilio_media_connect(const twilio_media_opts *o);

typedef struct acs_media_opts {
    int port;
    const char *path;          /* the transportUrl path (may carry a query) */
    const char *authorization; /* full header value "Bearer <jwt>"; NULL = none */
    int sample_rate;           /* 16000 (pcm16KMono, default) or 24000 */
    const char *participant;   /* participantRawID; NULL = "4:+15555550100" */
    const char *correlation_id, *call_connection_id; /* NULL = generated */
    int dtmf;                                        /* enableDtmfTones */
    int timeout_ms;
} acs_media_opts;

media_driver *acs_media_connect(const acs_media_opts *o);

typedef struct audiosocket_opts {
    int port;
    const char *uuid; /* "40325ec2-5efd-4bd3-805f-53576e581d13" form; NULL = generated */
    int timeout_ms;
} audiosocket_opts;

media_driver *audiosocket_connect(const audiosocket_opts *o);

/* 101 (WebSocket open) / 1 (AudioSocket connected), the HTTP status of a
 * refused upgrade, or -1 (no connection). */
int media_driver_status(media_driver *d);
/* The body of a refused upgrade ("" otherwise); valid until free. */
const char *media_driver_refusal(media_driver *d);
/* The stream's ids (Twilio streamSid / ACS subscriptionId / AudioSocket UUID). */
const char *media_driver_stream_id(media_driver *d);

/* The caller speaks: 16-bit PCM at the channel's rate (8 kHz for Twilio
 * and AudioSocket, the ACS rate), sent after what is already queued. */
void media_driver_say(media_driver *d, const int16_t *pcm, size_t n);
/* Milliseconds of caller audio still to send. */
int media_driver_say_pending_ms(media_driver *d);
void media_driver_dtmf(media_driver *d, char digit);
/* Twilio / ACS: a message of the test's own, sent as it is on the next
 * 20 ms tick (binary: a binary frame, else text): malformed input. */
void media_driver_send_raw(media_driver *d, int binary, const void *data, size_t len);
/* The caller hangs up (Twilio: stop then close; ACS: close 1000;
 * AudioSocket: close the socket). */
void media_driver_hangup(media_driver *d);

/* The network fails: the socket is shut down without a close frame (or
 * AudioSocket hang-up). */
void media_driver_cut(media_driver *d);

/* What the caller has heard so far (16-bit PCM at the channel's rate),
 * by the playback clock. */
int16_t *media_driver_heard(media_driver *d, size_t *n);
/* Milliseconds of our audio queued and not yet played. */
int media_driver_queued_ms(media_driver *d);
/* Twilio: names of the marks echoed so far, "\n"-separated (malloc'd). */
char *media_driver_marks(media_driver *d);
/* Times our queue was emptied (Twilio clear / ACS StopAudio). */
int media_driver_clears(media_driver *d);
/* Protocol violations from our side (Twilio 31950/31951 warnings, ACS
 * unparsable messages, AudioSocket bad kinds). */
int media_driver_warnings(media_driver *d);
/* AudioSocket: arrival time (CLOCK_MONOTONIC ms) of the audio frames we
 * sent, k-th; 0 out of range. */
uint64_t media_driver_frame_time(media_driver *d, size_t k);
size_t media_driver_frames_received(media_driver *d);
/* Messages we sent it (JSON texts; AudioSocket: "kind:len"), malloc'd. */
int media_driver_received_count(media_driver *d);
char *media_driver_received(media_driver *d, int k);
/* Messages it sent us (JSON texts), malloc'd. */
int media_driver_sent_count(media_driver *d);
char *media_driver_sent(media_driver *d, int k);

/* Waits until the connection is closed (by us or after hangup); returns
 * the close code we sent (WebSocket; 1005 none, 1006 no close frame) or 0
 * (AudioSocket closed, or we sent kind 0x00: 1), -1 on timeout. */
int media_driver_wait_closed(media_driver *d, int timeout_ms);
int media_driver_closed(media_driver *d);
void media_driver_free(media_driver *d);

/* The X-Twilio-Signature of a WebSocket upgrade to url (no parameters):
 * Base64(HMAC-SHA1(auth_token, url)); malloc'd. */
char *twilio_media_signature(const char *auth_token, const char *url);

#endif
