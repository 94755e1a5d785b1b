/* The rest of Azure Communication Services for stream-mode calls: what ACS
 * does on its side after the REST requests the ACS stand-in (acs_standin.h)
 * served, as media.md 2 and protocols.md 3.7 describe it.
 *
 *   answer (200) / create (201) with mediaStreamingOptions: CallConnected
 *     to the callbackUri; with startMediaStreaming, the media WebSocket to
 *     the transportUrl (the ACS caller of media_drivers.h: Authorization:
 *     Bearer <JWT signed by the stand-in, audience = the resource id>,
 *     x-ms-call-correlation-id, x-ms-call-connection-id; AudioMetadata
 *     first, in the audioFormat asked for, then AudioData every 20 ms,
 *     DtmfData with enableDtmfTones), then MediaStreamingStarted
 *     (mediaStreamingStarted / subscriptionStarted). A refused upgrade is
 *     MediaStreamingFailed (initialWebSocketConnectionFailed).
 *   :startMediaStreaming: MediaStreamingStarted then the same WebSocket
 *     (or the WebSocket first: stream_first);
 *   :stopMediaStreaming: the socket closed (1000), MediaStreamingStopped.
 *   :play (Call Automation's own text to speech): PlayStarted, then
 *     PlayCompleted a second later (operationContext echoed).
 *   :terminate / DELETE: the socket closed, CallDisconnected.
 *   :transferToParticipant: CallTransferAccepted, then the bot's leg ends
 *     (socket closed, CallDisconnected).
 *   The caller hangs up (acs_live_caller_hangup): socket closed (1000),
 *     CallDisconnected.
 *   The socket drops without ACS closing it (our server died or closed
 *     it): ACS connects again, reconnect_attempts times 1 s apart
 *     (MediaStreamingStarted / streamConnectionReestablished when one
 *     succeeds), else reports MediaStreamingFailed /
 *     streamConnectionInterrupted report_ms after the drop. The
 *     reconnection schedule is a model: media.md 2.2 documents the
 *     statuses, not the timing [unconfirmed].
 * Callbacks go once (a refused delivery is logged, not retried). URLs under
 * public_base are sent to 127.0.0.1:port (the server under test; the port
 * changes when it restarts: acs_live_set_port). One call at a time: the
 * latest answered or created.
 *
 * Test code, not part of libccai: C11 + POSIX + jansson; one thread. */
#ifndef CCAI_TEST_ACS_LIVE_H
#define CCAI_TEST_ACS_LIVE_H

#include "support/acs_standin.h"
#include "support/media_drivers.h"

typedef struct acs_live acs_live;

typedef struct acs_live_opts {
    acs_standin *acs;
    const char *audience;    /* the resource id the bearer tokens are for */
    const char *public_base; /* "https://bot.example.test" */
    int port;                /* the server under test on 127.0.0.1 */
    int reconnect_attempts;  /* after a drop; < 0 = 3 */
    int report_ms;           /* MediaStreamingFailed after a drop when none worked; 0 = 1000 */
    int sample_rate;         /* announced and sent; 0 = the audioFormat asked for */
    const char *participant; /* participantRawID; NULL = "4:" + the callee/caller number */
    int ring_ms;             /* answer/create -> CallConnected; 0 = 100 */
    /* An answered call's serverCallId: the IncomingCall's (ACS keeps it;
     * the stand-in cannot read it from the opaque incomingCallContext).
     * NULL: the stand-in's answer's. */
    const char *server_call_id;
    /* :startMediaStreaming: the WebSocket connects before
     * MediaStreamingStarted is delivered (0: after it). The two travel
     * separately (the socket from the media service, the event through
     * Event Grid's delivery): ACS promises no order between them. */
    int stream_first;
} acs_live_opts;

acs_live *acs_live_start(const acs_live_opts *o);
void acs_live_set_port(acs_live *l, int port);
/* The media stream now connected (borrowed: valid until acs_live_stop),
 * NULL when none. */
media_driver *acs_live_media(acs_live *l);
/* WebSocket connections that were upgraded (101), refused ones. */
int acs_live_streams(acs_live *l);
int acs_live_refused(acs_live *l);
/* Wait until at least n streams were upgraded and the latest is open;
 * the latest driver, NULL on timeout. */
media_driver *acs_live_wait_stream(acs_live *l, int n, int timeout_ms);
/* The caller hangs up. */
void acs_live_caller_hangup(acs_live *l);
/* The network drops the stream (no close frame): ACS's reconnection
 * follows as after any drop. */
void acs_live_drop(acs_live *l);
/* ACS cannot open the media WebSocket any more (a firewall, TLS, a proxy
 * between it and us): every connection it tries fails at once, as if
 * refused; callbacks still arrive. */
void acs_live_block_stream(acs_live *l, int block);
/* Callbacks delivered so far, "Type status\n" each (malloc'd). */
char *acs_live_log(acs_live *l);
/* CallDisconnected was delivered (the call is over at ACS). */
int acs_live_ended(acs_live *l);
/* The answer/create request's mediaStreamingOptions (a new reference),
 * waiting up to 10 s for the answer to reach the live call; NULL when none
 * came or it had none. */
json_t *acs_live_options(acs_live *l);
void acs_live_stop(acs_live *l);

#endif
