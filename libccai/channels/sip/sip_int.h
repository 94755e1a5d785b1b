/* Inside the SIP channel: the channel (sip.c: the user agent, its
 * listeners, who may call, REGISTER, placing calls) and its calls
 * (sip_call.c: SDP, RTP, the ops of the engine, BYE, REFER, session
 * timers; sip_dialog.c: a call taken back after a restart). */
#ifndef CCAI_CHANNELS_SIP_SIP_INT_H
#define CCAI_CHANNELS_SIP_SIP_INT_H

#include "channels/common/notify.h"
#include "channels/sip/sip.h"
#include "channels/sip/sip_rtp.h"
#include "core/hostport.h"
#include "io/libre.h"

#include <sys/socket.h>

#define CCAI_SIP_CHANNEL "sip"

typedef struct sip_call sip_call;

typedef struct Ccai_sip {
    ccai_ctx *ctx;
    const ccai_config *cfg;
    const Ccai_logger *log;
    struct sip *sip;
    struct dnsc *dnsc;
    struct sipsess_sock *sock;
    struct sipevent_sock *evsock;
    struct sip_lsnr *lsnr; /* in-dialog requests of calls taken back */
    struct sipreg *reg;
    struct tls *tls;
    struct sa laddr; /* sip.listen */
    char listen_text[96];
    const char *user;     /* the bot's user part: Contact, From */
    const char *username; /* digest credentials towards the trunk */
    const char *password;
    const char *trunk; /* outbound proxy URI, or NULL */
    char trunk_host[256];
    const char *agent_uri;
    const char *in_user, *in_password; /* digest asked of callers */
    uint8_t nonce_key[32];
    Ccai_allow allow;
    bool pcmu, pcma; /* sip.codecs */
    bool pcma_first;
    uint16_t rtp_lo, rtp_hi, rtp_next;
    uint32_t rtp_timeout_ms;
    bool registered;
    bool registrar_seen;
    struct sa registrar_src; /* where the registrar's 2xx came from */
    sip_call *calls;
    uint64_t refused;
    Ccai_timer resume_timer; /* take-back of the stored dialogs at start */
} Ccai_sip;

struct sip_call {
    sip_call *next;
    Ccai_sip *s;
    ccai_call *call;
    Ccai_notifier notify;
    bool notify_on;
    char callid[128];
    char peer_text[320];
    bool outbound;

    /* Signalling: a session of libre's (sess), or, taken back after a
     * restart, a dialog of ours (sip_dialog.c): its ids, URIs, CSeq. */
    struct sipsess *sess;
    bool taken_back;
    struct sip_request *req; /* the take-back's re-INVITE, its BYE */
    enum sip_transp tp;
    uint32_t lseq;
    char ltag[64], rtag[64];
    char target[320], luri[320], ruri[320];
    char route[512];    /* the route set (RFC 3261 §12.1): "<uri>,<uri>", or "" */
    char resume_id[40]; /* the stored call being taken back */
    struct sipsub *refer;
    bool established;
    bool sess_gone; /* libre closed it: deref, no BYE */

    /* Media. */
    struct sdp_session *sdp;
    struct sdp_media *m;
    int rtp_fd;
    uint16_t rtp_port;
    struct sockaddr_storage peer;
    socklen_t peer_len;
    bool latched;
    bool held; /* the peer put us on hold: nothing sent */
    uint8_t pt;
    int dtmf_pt;
    ccai_audio_encoding enc;
    uint16_t seq;
    uint32_t ts, ssrc;
    uint64_t last_tx, last_rx;
    Ccai_dtmf_rx dtmf;
    uint64_t rx_packets, tx_packets, bad_packets;
    bool warned_bad, warned_pt, warned_send;

    /* Session timer (RFC 4028), when the peer asked for one. */
    uint32_t session_expires; /* s, 0: none */
    bool we_refresh;
    uint64_t refreshed_at;

    /* The end. */
    bool closing;
    bool bye_due;   /* the engine hung up: BYE after a short grace */
    bool end_event; /* the engine was told (or it knew) */
    bool bot_ended;
    bool transferring;
    char transfer_to[256];
    bool no_refer; /* the peer's Allow does not list REFER */

    /* A transfer bridged by the bot (sip_bridge.c): on the caller's call,
     * the agent's leg; on that leg (no engine call), the caller's call. */
    sip_call *bridge;
    sip_call *leg_of;
    bool bridged; /* both legs up: RTP relayed, the bot silent */
    uint64_t bridged_at;
    char bridge_why[96];
    uint32_t relay_ts; /* relayed timestamps: the other leg's + this */
    bool relay_ts_set;

    Ccai_timer timer; /* grace, linger, the end */
    Ccai_timer tick;  /* 1 s: RTP timeout, session timer */
};

/* sip.c */
CCAI_MUST_CHECK bool Ccai_sip_peer_allowed(const Ccai_sip *s, const struct sa *src, char *text,
                                           size_t cap);
/* The phone number of a SIP party: its user part when it is a number,
 * else one made from the URI (+999..., never a real subscriber). */
void Ccai_sip_party_number(const struct pl *user, const struct pl *auri, char out[20]);
/* A URI to reach @p number (E.164, or a sip: URI as it is) through the
 * trunk; false when there is no way. */
CCAI_MUST_CHECK bool Ccai_sip_target_uri(const Ccai_sip *s, const char *number, char *out,
                                         size_t cap);
int Ccai_sip_auth(char **username, char **password, const char *realm, void *arg);

/* sip_call.c */
CCAI_MUST_CHECK ccai_status Ccai_sip_call_new(Ccai_sip *s, const struct sa *laddr, sip_call **ret);
void Ccai_sip_call_free(sip_call *c);
/* The inbound INVITE of a new call. */
void Ccai_sip_invite(Ccai_sip *s, const struct sip_msg *msg);
CCAI_MUST_CHECK ccai_status Ccai_sip_place(Ccai_sip *s, const char *initiate_json, const char *to,
                                           char **ret_call_id);
/* Take the media of the call's SDP (after an offer or an answer was
 * decoded): codec, telephone-event, the peer's address, hold. */
CCAI_MUST_CHECK bool Ccai_sip_media_apply(sip_call *c, const char **why);
/* The call is over on the line: the engine is told, the line hung up
 * (BYE when send_bye), the call freed once its events are taken. */
void Ccai_sip_finish(sip_call *c, const char *reason, bool send_bye);
void Ccai_sip_connected(sip_call *c);
/* The transfer failed (the engine is told, the bot goes on); the
 * sipfrag of a NOTIFY of our REFER (RFC 3515): 2xx ends the call as
 * transferred, >= 300 fails the transfer. */
void Ccai_sip_transfer_failed(sip_call *c, const char *why);
void Ccai_sip_refer_notify(sip_call *c, const struct sip_msg *msg);
extern const ccai_call_ops Ccai_sip_ops;
void Ccai_sip_on_gave_up(void *ud, ccai_status st);

/* sip_bridge.c */
/* The caller's phone refused our REFER with @p scode: the bot bridges the
 * agent itself when that is a refusal to transfer (405, 501, 603...), else
 * the transfer fails. */
void Ccai_sip_refer_refused(sip_call *c, unsigned scode);
/* Call the agent (c->transfer_to) on a second leg and bridge it to @p c
 * once it answers; @p why: why REFER was not the way. False when the
 * INVITE could not go (nothing changed). */
CCAI_MUST_CHECK bool Ccai_sip_bridge_start(sip_call *c, const char *why);
/* An RTP packet of a bridged leg: sent on the other leg. */
void Ccai_sip_bridge_rtp(sip_call *from, const Ccai_rtp *r);
/* An INFO of a bridged leg: a key (dtmf-relay) sent on as INFO; false when
 * not sent on (not bridged, another body). */
CCAI_MUST_CHECK bool Ccai_sip_bridge_info(sip_call *from, const struct sip_msg *msg);
/* One leg of a bridge (or of one being set up) ends with @p reason: the
 * other goes (BYE, CANCEL), the engine hears of the transfer. */
void Ccai_sip_bridge_over(sip_call *c, const char *reason);

/* sip_dialog.c */
/* The dialog of an INVITE (before it is answered: its URIs and the peer's
 * target) and of the message that established it. */
void Ccai_sip_dialog_invite(sip_call *c, const struct sip_msg *msg);
void Ccai_sip_dialog_estab(sip_call *c, const struct sip_msg *msg);
/* A record of the established dialog, stored as the call's provider id
 * (its Call-ID the correlation id, which ccai_ctx_call_find_provider()
 * finds too) so that a restarted process can re-INVITE the peer. */
CCAI_MUST_CHECK bool Ccai_sip_dialog_record(const sip_call *c, char *out, size_t cap);
/* At start: re-INVITE the peers of the calls this address left in
 * progress. */
void Ccai_sip_take_back_all(Ccai_sip *s);
bool Ccai_sip_dialog_request(const struct sip_msg *msg, void *arg);
void Ccai_sip_dialog_bye(sip_call *c);
/* REFER to c->transfer_to in the dialog taken back; 0 when sent. */
CCAI_MUST_CHECK int Ccai_sip_dialog_refer(sip_call *c);

#endif
