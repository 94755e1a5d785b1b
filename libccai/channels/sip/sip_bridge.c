/* A transfer the bot bridges itself (a back-to-back user agent) when the
 * caller's phone will not do it: its REFER is refused (405, 420, 501,
 * 603...), or its Allow does not list REFER (baresip's call_transfer=no,
 * many PSTN gateways). The bot then places a second leg, an INVITE to the
 * agent (sip.agent_uri, or the agent's number at sip.trunk, with the
 * trunk's digest), and once it is answered relays RTP between the legs:
 *
 *   audio      G.711 as it comes when both legs use the same codec, else
 *              decoded and encoded again (PCMU <-> PCMA); each leg keeps its
 *              own SSRC, sequence numbers and timestamp base
 *   DTMF       RFC 4733 telephone-event packets with the other leg's
 *              payload type (dropped, logged once, when it did not
 *              negotiate one); SIP INFO application/dtmf-relay sent on as
 *              INFO
 *   the bot    silent: what the engine still plays is dropped, the caller's
 *              audio goes to the agent instead of the engine
 *   the end    a BYE (or an RTP timeout) on either leg sends BYE on the
 *              other; the engine then hears of the transfer (the call ends
 *              as "transfer", its message saying it was bridged, for how
 *              long and who hung up). An agent who does not answer fails
 *              the transfer as a refused REFER would: the bot goes on.
 *
 * The agent's leg is a sip_call of its own (its RTP socket, its libre
 * session) with no engine call: leg_of names the caller's call, whose
 * bridge names the leg. A bridged call is not taken back after a restart
 * (the second leg's dialog is not stored): the caller's leg is, and the
 * agent's ends by its RTP timeout. */
#include "channels/sip/sip_int.h"

#include "media/codec.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define TICK_MS 1000u

static const char *who(const sip_call *c)
{
    const sip_call *o = c->leg_of ? c->leg_of : c;
    return o->call ? ccai_call_id(o->call) : o->callid;
}

/* The REFER's refusals that a bridge of ours gets round: the phone cannot
 * or will not transfer (not an error of the request, not a dead dialog). */
static bool refusal(unsigned scode)
{
    return scode == 403 || scode == 405 || scode == 420 || scode == 488 || scode == 501 ||
           scode == 603;
}

void Ccai_sip_refer_refused(sip_call *c, unsigned scode)
{
    char why[96];
    snprintf(why, sizeof why, "the caller's phone refused REFER (%u)", scode);
    if (c->transferring && refusal(scode) && Ccai_sip_bridge_start(c, why))
        return;
    if (c->transferring)
        Ccai_sip_transfer_failed(c, why);
}

/* The agent's leg: libre's handlers ---------------------------------------------------- */

static int leg_offer(struct mbuf **descp, const struct sip_msg *msg, void *arg)
{
    sip_call *b = arg;
    const char *why = NULL;
    int err = sdp_decode(b->sdp, msg->mb, true);
    if (err || !Ccai_sip_media_apply(b, &why)) {
        Ccai_log(b->s->log, CCAI_LOG_WARN, "sip: call %s: the agent's re-INVITE refused: %s",
                 who(b), err ? "malformed SDP" : why);
        return err ? err : EPROTO;
    }
    b->relay_ts_set = false;
    return sdp_encode(descp, b->sdp, false);
}

static int leg_answer(const struct sip_msg *msg, void *arg)
{
    sip_call *b = arg;
    const char *why = NULL;
    int err = sdp_decode(b->sdp, msg->mb, false);
    if (err || !Ccai_sip_media_apply(b, &why)) {
        Ccai_log(b->s->log, CCAI_LOG_WARN, "sip: call %s: the agent's SDP answer: %s", who(b),
                 err ? "malformed" : why);
        Ccai_sip_finish(b, "the agent's phone has no common codec", true);
        return err ? err : EPROTO;
    }
    return 0;
}

static void leg_progress(const struct sip_msg *msg, void *arg)
{
    sip_call *b = arg;
    if (msg->scode == 180 || msg->scode == 183)
        Ccai_log(b->s->log, CCAI_LOG_INFO, "sip: call %s: the agent's phone rings", who(b));
}

static void leg_estab(const struct sip_msg *msg, void *arg)
{
    CCAI_UNUSED(msg);
    sip_call *b = arg;
    sip_call *c = b->leg_of;
    if (b->established || !c)
        return;
    uint64_t now = Ccai_ctx_now(b->s->ctx);
    b->established = true;
    b->last_rx = now;
    b->refreshed_at = now;
    Ccai_timer_start(b->s->ctx, &b->tick, TICK_MS);
    c->bridged = b->bridged = true;
    c->bridged_at = now;
    c->relay_ts_set = b->relay_ts_set = false;
    Ccai_log(b->s->log, CCAI_LOG_INFO,
             "sip: call %s: bridged to %s (caller %s, agent %s%s): the bot is silent", who(b),
             c->transfer_to, c->enc == CCAI_AUDIO_ULAW ? "PCMU" : "PCMA",
             b->enc == CCAI_AUDIO_ULAW ? "PCMU" : "PCMA", c->enc == b->enc ? "" : ", transcoded");
}

static void leg_info(struct sip *sip, const struct sip_msg *msg, void *arg)
{
    sip_call *b = arg;
    bool sent = Ccai_sip_bridge_info(b, msg);
    if (sip_reply(sip, msg, sent ? 200 : 415, sent ? "OK" : "Unsupported Media Type") != 0)
        Ccai_log(b->s->log, CCAI_LOG_WARN, "sip: call %s: cannot answer the agent's INFO", who(b));
}

static void leg_refer(struct sip *sip, const struct sip_msg *msg, void *arg)
{
    sip_call *b = arg;
    if (sip_reply(sip, msg, 603, "Decline") != 0)
        Ccai_log(b->s->log, CCAI_LOG_WARN, "sip: call %s: cannot answer the agent's REFER", who(b));
}

static void leg_close(int err, const struct sip_msg *msg, void *arg)
{
    sip_call *b = arg;
    char reason[96];
    b->sess_gone = true;
    if (!b->established) {
        unsigned sc = msg ? msg->scode : 0;
        const char *r = sc == 486 || sc == 600 || sc == 603          ? "busy"
                        : sc == 408 || sc == 480 || err == ETIMEDOUT ? "no answer"
                                                                     : "failed";
        if (sc)
            snprintf(reason, sizeof reason, "the agent's line: %s (%u)", r, sc);
        else
            snprintf(reason, sizeof reason, "the agent's line: %s (%s)", r,
                     err ? strerror(err) : "closed");
    } else if (err == ECONNRESET) {
        snprintf(reason, sizeof reason, "the agent hung up");
    } else {
        snprintf(reason, sizeof reason, "the agent's session failed (%s)",
                 err ? strerror(err) : "closed");
    }
    Ccai_sip_finish(b, reason, false);
}

/* The start ---------------------------------------------------------------------------- */

bool Ccai_sip_bridge_start(sip_call *c, const char *why)
{
    Ccai_sip *s = c->s;
    if (c->bridge || c->closing || !c->transfer_to[0])
        return false;
    struct sa laddr = s->laddr;
    if (sa_is_any(&laddr) && net_default_source_addr_get(sa_af(&s->laddr), &laddr) != 0)
        laddr = s->laddr;
    sip_call *b = NULL;
    if (Ccai_sip_call_new(s, &laddr, &b) != CCAI_OK) {
        Ccai_log(s->log, CCAI_LOG_WARN, "sip: call %s: no RTP port for the agent's leg", who(c));
        return false;
    }
    b->outbound = true;
    b->leg_of = c;
    c->bridge = b;
    snprintf(c->bridge_why, sizeof c->bridge_why, "%s", why);
    char from[320];
    const char *user = s->username && *s->username ? s->username : s->user;
    if (s->trunk_host[0] && s->username && *s->username)
        re_snprintf(from, sizeof from, "sip:%s@%s", user, s->trunk_host);
    else
        re_snprintf(from, sizeof from, "sip:%s@%J", user, &s->laddr);
    const char *routev[1] = {s->trunk && *s->trunk ? s->trunk : NULL};
    struct mbuf *desc = NULL;
    int err = sdp_encode(&desc, b->sdp, true);
    if (!err)
        err = sipsess_connect(&b->sess, s->sock, c->transfer_to, NULL, from, s->user, routev,
                              routev[0] ? 1 : 0, "application/sdp", desc, Ccai_sip_auth, s, false,
                              leg_offer, leg_answer, leg_progress, leg_estab, leg_info, leg_refer,
                              leg_close, b,
                              "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, NOTIFY\r\n");
    mem_deref(desc);
    if (err) {
        Ccai_log(s->log, CCAI_LOG_WARN, "sip: call %s: cannot call the agent %s: %s", who(c),
                 c->transfer_to, strerror(err));
        b->sess = NULL;
        Ccai_sip_call_free(b); /* detaches it from c */
        return false;
    }
    snprintf(b->callid, sizeof b->callid, "%s", sip_dialog_callid(sipsess_dialog(b->sess)));
    snprintf(b->peer_text, sizeof b->peer_text, "%s", c->transfer_to);
    Ccai_log(s->log, CCAI_LOG_INFO, "sip: call %s: %s: the bot bridges: INVITE to %s (Call-ID %s)",
             who(c), why, c->transfer_to, b->callid);
    return true;
}

/* The media ---------------------------------------------------------------------------- */

static sip_call *other(const sip_call *c)
{
    return c->bridge ? c->bridge : c->leg_of;
}

void Ccai_sip_bridge_rtp(sip_call *from, const Ccai_rtp *r)
{
    sip_call *to = other(from);
    if (!to || to->closing || to->rtp_fd < 0 || !to->peer_len || to->held)
        return;
    uint8_t pkt[CCAI_RTP_HEADER + CCAI_RTP_MAX_PACKET];
    uint8_t pt;
    size_t n = r->len > CCAI_RTP_MAX_PACKET ? CCAI_RTP_MAX_PACKET : r->len;
    if (from->dtmf_pt >= 0 && r->pt == (uint8_t)from->dtmf_pt) {
        if (to->dtmf_pt < 0) {
            if (!to->warned_pt)
                Ccai_log(from->s->log, CCAI_LOG_WARN,
                         "sip: call %s: a key pressed, but the other leg has no "
                         "telephone-event: dropped",
                         who(from));
            to->warned_pt = true;
            return;
        }
        pt = (uint8_t)to->dtmf_pt;
        memcpy(pkt + CCAI_RTP_HEADER, r->payload, n);
    } else if (r->pt == CCAI_RTP_PT_PCMU || r->pt == CCAI_RTP_PT_PCMA) {
        ccai_audio_encoding in = r->pt == CCAI_RTP_PT_PCMU ? CCAI_AUDIO_ULAW : CCAI_AUDIO_ALAW;
        pt = to->pt;
        if (in == to->enc) {
            memcpy(pkt + CCAI_RTP_HEADER, r->payload, n);
        } else {
            int16_t pcm[CCAI_RTP_MAX_PACKET];
            Ccai_media_decode(in == CCAI_AUDIO_ULAW ? CCAI_MEDIA_ULAW : CCAI_MEDIA_ALAW, r->payload,
                              n, pcm);
            Ccai_media_encode(to->enc == CCAI_AUDIO_ULAW ? CCAI_MEDIA_ULAW : CCAI_MEDIA_ALAW, pcm,
                              n, pkt + CCAI_RTP_HEADER);
        }
    } else {
        if (!from->warned_pt)
            Ccai_log(from->s->log, CCAI_LOG_WARN,
                     "sip: call %s: RTP payload type %u was not negotiated: not relayed", who(from),
                     (unsigned)r->pt);
        from->warned_pt = true;
        return;
    }
    bool first = !to->relay_ts_set;
    if (first) {
        /* The relayed stream goes on from where this leg's last packet
         * was: its own timestamp base, a new talk spurt. */
        to->relay_ts = to->ts - r->ts;
        to->relay_ts_set = true;
    }
    uint32_t ts = r->ts + to->relay_ts;
    Ccai_rtp_write_header(pkt, r->marker || first, pt, to->seq++, ts, to->ssrc);
    to->ts = ts + (uint32_t)n;
    ssize_t sent = sendto(to->rtp_fd, pkt, CCAI_RTP_HEADER + n, MSG_DONTWAIT,
                          (const struct sockaddr *)&to->peer, to->peer_len);
    if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNREFUSED &&
        !to->warned_send) {
        to->warned_send = true;
        Ccai_log(from->s->log, CCAI_LOG_WARN, "sip: call %s: RTP to %s: %s", who(from),
                 to->peer_text, strerror(errno));
    }
    if (sent > 0)
        to->tx_packets++;
}

bool Ccai_sip_bridge_info(sip_call *from, const struct sip_msg *msg)
{
    sip_call *to = other(from);
    if (!from->bridged || !to || !to->sess || to->closing ||
        !msg_ctype_cmp(&msg->ctyp, "application", "dtmf-relay"))
        return false;
    struct mbuf *body = mbuf_alloc(mbuf_get_left(msg->mb) + 1);
    int err = body ? mbuf_write_mem(body, mbuf_buf(msg->mb), mbuf_get_left(msg->mb)) : ENOMEM;
    if (!err) {
        body->pos = 0;
        err = sipsess_info(to->sess, "application/dtmf-relay", body, NULL, NULL);
    }
    mem_deref(body);
    if (err)
        Ccai_log(from->s->log, CCAI_LOG_WARN, "sip: call %s: a key (INFO) not sent on: %s",
                 who(from), strerror(err));
    return err == 0;
}

/* The end ------------------------------------------------------------------------------ */

void Ccai_sip_bridge_over(sip_call *c, const char *reason)
{
    sip_call *caller = c->leg_of ? c->leg_of : c;
    sip_call *leg = c->bridge ? c->bridge : c;
    bool bridged = caller->bridged;
    caller->bridge = NULL;
    leg->leg_of = NULL;
    caller->bridged = leg->bridged = false;
    if (!bridged) {
        if (c == leg) /* the agent did not answer: the bot goes on */
            Ccai_sip_transfer_failed(caller, reason);
        else /* the caller hung up while the agent's phone rang: CANCEL */
            Ccai_sip_finish(leg, "the caller hung up", true);
        return;
    }
    uint64_t secs = (Ccai_ctx_now(c->s->ctx) - caller->bridged_at) / 1000u;
    char text[600];
    snprintf(text, sizeof text, "%s (bridged by the bot: %s; %llu s with the agent; %s)",
             caller->transfer_to, caller->bridge_why, (unsigned long long)secs, reason);
    Ccai_log(c->s->log, CCAI_LOG_INFO, "sip: call %s: the bridge to %s is over after %llu s: %s",
             who(caller), caller->transfer_to, (unsigned long long)secs, reason);
    caller->transferring = false;
    if (caller->call && caller->notify_on && !caller->end_event) {
        caller->end_event = true;
        Ccai_notify(&caller->notify, CCAI_EVENT_TRANSFER_OK, text);
    }
    if (c == leg)
        Ccai_sip_finish(caller, reason, true);
    else
        Ccai_sip_finish(leg, reason, true);
}
