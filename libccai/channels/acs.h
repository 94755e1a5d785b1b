/* The Azure Communication Services voice channel (channels/acs.c):
 * Call Automation at text level. ACS does the speech; libccai sends SSML
 * and reads recognised text. */
#ifndef CCAI_CHANNELS_ACS_H
#define CCAI_CHANNELS_ACS_H

#include "http/router.h"

typedef struct Ccai_acs Ccai_acs;

/* Set up when communication_services.endpoint is configured (else nothing
 * happens and the ACS routes answer 404). CCAI_ERR_CONFIG when the
 * endpoint, access key or resource id is missing or malformed (reason in
 * ccai_ctx_errmsg()). */
ccai_status Ccai_acs_init(ccai_ctx *ctx);
/* Frees the live ACS calls' handles and the channel. */
void Ccai_acs_free(ccai_ctx *ctx);

/* The routes:
 * - POST /acs/events: Event Grid deliveries (subscription validation,
 *   IncomingCall, SMSReceived, RecordingFileStatusUpdated). When
 *   communication_services.event_grid_token is set, ?token= must match.
 * - OPTIONS /acs/events: the CloudEvents webhook validation handshake
 *   (WebHook-Request-Origin -> WebHook-Allowed-Origin).
 * - POST /acs/callback?call=&s=: Call Automation callbacks. The bearer JWT
 *   is checked against the published keys (401 when forged), then the
 *   call's secret (401 when wrong, 404 for an unknown call). */
extern const Ccai_route Ccai_acs_routes[];
extern const size_t Ccai_acs_n_routes;

/* Place an outbound call through Call Automation (POST /call with
 * telephony communication_services): the call is stored at once and ACS is
 * asked to dial; *ret_call_id (ccai_free()) names it. CCAI_ERR_UNSUPPORTED
 * when the channel is not configured. */
ccai_status Ccai_acs_place_call(ccai_ctx *ctx, const char *initiate_json, const char *to,
                                char **ret_call_id);

/* Live ACS calls (for tests and metrics). */
size_t Ccai_acs_live_calls(const ccai_ctx *ctx);

#endif
