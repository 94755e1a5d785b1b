/* One SIP call: its SDP, its RTP, what the engine does on it.
 *
 *   caller's RTP   G.711 (PCMU/PCMA, any packet size) decoded to slin 8 kHz
 *                  for ccai_call_audio_in(); telephone-event (RFC 4733)
 *                  as CCAI_EVENT_DTMF, once per key; SIP INFO
 *                  application/dtmf-relay too (some PBXs)
 *   bot's audio    CCAI_AUDIO_PACED in the negotiated codec, one 20 ms
 *                  frame when due: an RTP packet each, sent at once (the
 *                  peer's jitter buffer plays it); a gap starts a new talk
 *                  spurt (marker bit, the timestamp moved on by the gap);
 *                  barge-in is the pacer dropping what it has not released
 *   hang-up        BYE from the peer (or CANCEL, or its session failing)
 *                  ends the call; the engine's hang-up sends BYE 250 ms
 *                  after the bot's last words were released (the peer's
 *                  jitter buffer plays them out)
 *   transfer       REFER (Refer-To: sip.agent_uri, or the agent's number
 *                  at the trunk), the peer's NOTIFYs say how it went: 2xx
 *                  transferred (we hang up), >= 300 failed (the bot goes
 *                  on); a peer that refuses REFER fails the transfer
 *   hold           a re-INVITE with sendonly/inactive (or c=0.0.0.0)
 *                  stops what we send until the next one
 *   session timer  (RFC 4028) when the INVITE carries Session-Expires:
 *                  the peer refreshes (refresher=uac) and the call ends
 *                  when it does not; or we refresh with a re-INVITE
 *                  (refresher=uas, or a peer without "timer" support)
 *   the peer gone  no RTP for sip.rtp_timeout_sec while not on hold: BYE,
 *                  the call ends ("no audio from the caller") */
#include "channels/sip/sip_int.h"

#include "config/config.h"
#include "media/codec.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* After the engine's hang-up, before the BYE. */
#define BYE_GRACE_MS 250u
/* A call whose events wait for the engine is checked again. */
#define LINGER_MS 100u
#define TICK_MS   1000u
/* A gap this long between two bot frames starts a talk spurt. */
#define SPURT_GAP_MS 60u
/* Session-Expires below this is refused (RFC 4028's Min-SE floor). */
#define MIN_SE_S 90u
#define FRAME_MS 20u

static void on_timer(Ccai_timer *t, void *ud);
static void on_tick(Ccai_timer *t, void *ud);
static void on_rtp(ccai_ctx *ctx, int fd, int events, void *ud);

static const char *who(const sip_call *c)
{
    return c->call ? ccai_call_id(c->call) : c->callid;
}

/* Life ------------------------------------------------------------------------ */

static CCAI_MUST_CHECK bool open_rtp(sip_call *c, const struct sa *laddr)
{
    Ccai_sip *s = c->s;
    int family = sa_af(laddr);
    int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    unsigned span = (unsigned)(s->rtp_hi - s->rtp_lo) / 2u + 1u;
    for (unsigned i = 0; i < span; i++) {
        uint16_t port = s->rtp_next;
        s->rtp_next = (uint16_t)(port + 2 > s->rtp_hi ? s->rtp_lo : port + 2);
        struct sa a = *laddr;
        sa_set_port(&a, port);
        if (bind(fd, &a.u.sa, a.len) == 0) {
            c->rtp_fd = fd;
            c->rtp_port = port;
            if (Ccai_fd_watch(s->ctx, fd, CCAI_POLL_IN, on_rtp, c) != CCAI_OK)
                break;
            return true;
        }
        if (errno != EADDRINUSE)
            break;
    }
    Ccai_log(s->log, CCAI_LOG_ERROR, "sip: no RTP port free in sip.rtp_ports (%u-%u): %s",
             (unsigned)s->rtp_lo, (unsigned)s->rtp_hi, strerror(errno));
    if (c->rtp_fd == fd)
        c->rtp_fd = -1;
    close(fd);
    return false;
}

static CCAI_MUST_CHECK bool make_sdp(sip_call *c, const struct sa *laddr)
{
    Ccai_sip *s = c->s;
    int err = sdp_session_alloc(&c->sdp, laddr);
    err = err ? err : sdp_media_add(&c->m, c->sdp, sdp_media_audio, c->rtp_port, sdp_proto_rtpavp);
    for (int k = 0; k < 2 && !err; k++) {
        bool pcma = (k == 0) == s->pcma_first;
        if (pcma && s->pcma)
            err = sdp_format_add(NULL, c->m, false, "8", "PCMA", 8000, 1, NULL, NULL, NULL, false,
                                 NULL);
        else if (!pcma && s->pcmu)
            err = sdp_format_add(NULL, c->m, false, "0", "PCMU", 8000, 1, NULL, NULL, NULL, false,
                                 NULL);
    }
    if (!err)
        err = sdp_format_add(NULL, c->m, false, "101", telev_rtpfmt, 8000, 1, NULL, NULL, NULL,
                             false, "0-15");
    if (!err)
        err = sdp_media_set_lattr(c->m, true, "ptime", "%u", FRAME_MS);
    return err == 0;
}

ccai_status Ccai_sip_call_new(Ccai_sip *s, const struct sa *laddr, sip_call **ret)
{
    sip_call *c = Ccai_calloc(1, sizeof *c);
    if (!c)
        return CCAI_ERR_NOMEM;
    c->s = s;
    c->rtp_fd = -1;
    c->dtmf_pt = -1;
    Ccai_timer_init(&c->timer, on_timer, c);
    Ccai_timer_init(&c->tick, on_tick, c);
    Ccai_timer_set_idle(&c->tick, true);
    if (!Ccai_random_bytes(&c->ssrc, sizeof c->ssrc) ||
        !Ccai_random_bytes(&c->seq, sizeof c->seq) || !Ccai_random_bytes(&c->ts, sizeof c->ts)) {
        ccai_free(c);
        return CCAI_ERR_INTERNAL;
    }
    c->next = s->calls;
    s->calls = c;
    struct sa a = *laddr;
    sa_set_port(&a, 0);
    if (!open_rtp(c, &a)) {
        Ccai_sip_call_free(c);
        return CCAI_ERR_IO;
    }
    if (!make_sdp(c, &a)) {
        Ccai_sip_call_free(c);
        return CCAI_ERR_NOMEM;
    }
    *ret = c;
    return CCAI_OK;
}

static void close_rtp(sip_call *c)
{
    if (c->rtp_fd < 0)
        return;
    Ccai_fd_forget(c->s->ctx, c->rtp_fd);
    close(c->rtp_fd);
    c->rtp_fd = -1;
}

void Ccai_sip_call_free(sip_call *c)
{
    Ccai_sip *s = c->s;
    for (sip_call **p = &s->calls; *p; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            break;
        }
    }
    if (c->leg_of)
        c->leg_of->bridge = NULL;
    if (c->bridge)
        c->bridge->leg_of = NULL;
    Ccai_timer_stop(s->ctx, &c->timer);
    Ccai_timer_stop(s->ctx, &c->tick);
    if (c->notify_on)
        Ccai_notifier_clear(&c->notify);
    close_rtp(c);
    c->refer = mem_deref(c->refer);
    c->sess = mem_deref(c->sess); /* BYE when established and not over */
    c->req = mem_deref(c->req);
    c->sdp = mem_deref(c->sdp);
    ccai_call_free(c->call);
    ccai_free(c);
}

static void schedule(sip_call *c, uint64_t ms)
{
    Ccai_timer_start(c->s->ctx, &c->timer, ms);
}

void Ccai_sip_finish(sip_call *c, const char *reason, bool send_bye)
{
    if (c->bridge || c->leg_of)
        Ccai_sip_bridge_over(c, reason);
    if (!c->end_event && !c->bot_ended && c->call && c->notify_on) {
        c->end_event = true;
        Ccai_notify(&c->notify, CCAI_EVENT_HANGUP, reason);
    }
    c->end_event = true;
    if (c->closing)
        return;
    c->closing = true;
    Ccai_timer_stop(c->s->ctx, &c->tick);
    close_rtp(c);
    c->refer = mem_deref(c->refer);
    if (send_bye && c->taken_back)
        Ccai_sip_dialog_bye(c);
    /* libre's session goes from the timer, never from inside its own
     * handler: dropping it sends the BYE (established), the CANCEL (ours,
     * unanswered) or a 486 (theirs, unanswered); a session libre closed
     * sends nothing. */
    schedule(c, 0);
}

static void on_timer(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    sip_call *c = ud;
    if (c->bye_due && !c->closing) {
        Ccai_log(c->s->log, CCAI_LOG_INFO, "sip: call %s: the bot hung up: BYE", who(c));
        /* The engine asked (its call is "ending"): the event stores the
         * end, as a provider's hang-up report does. */
        Ccai_sip_finish(c, "the bot hung up", true);
        return;
    }
    if (!c->closing)
        return;
    c->sess = mem_deref(c->sess);
    if (c->notify_on && Ccai_notify_waiting(&c->notify) > 0) {
        schedule(c, LINGER_MS);
        return;
    }
    if (c->req) { /* the BYE of a dialog taken back: its answer, or its timeout */
        schedule(c, LINGER_MS);
        return;
    }
    Ccai_sip_call_free(c);
}

/* The peer's RTP went quiet, or the session timer ran out. */
static void on_tick(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    sip_call *c = ud;
    Ccai_sip *s = c->s;
    uint64_t now = Ccai_ctx_now(s->ctx);
    if (c->closing)
        return;
    if (s->rtp_timeout_ms && !c->held && now - c->last_rx > s->rtp_timeout_ms) {
        Ccai_log(s->log, CCAI_LOG_WARN,
                 "sip: call %s: no RTP from %s for %u s (sip.rtp_timeout_sec): the peer is "
                 "gone, hanging up",
                 who(c), c->peer_text, (unsigned)(s->rtp_timeout_ms / 1000));
        Ccai_sip_finish(c, "no audio from the caller (RTP timeout)", true);
        return;
    }
    if (c->session_expires && c->sess) {
        uint64_t se = (uint64_t)c->session_expires * 1000u;
        if (c->we_refresh && now - c->refreshed_at >= se / 2) {
            struct mbuf *desc = NULL;
            if (sdp_encode(&desc, c->sdp, true) != 0 || sipsess_modify(c->sess, desc) != 0)
                Ccai_log(s->log, CCAI_LOG_WARN,
                         "sip: call %s: cannot refresh the session (re-INVITE)", who(c));
            mem_deref(desc);
            c->refreshed_at = now;
        } else if (!c->we_refresh &&
                   now - c->refreshed_at > se - (se / 3 < 32000 ? se / 3 : 32000)) {
            Ccai_log(s->log, CCAI_LOG_WARN,
                     "sip: call %s: the peer did not refresh the session within %u s "
                     "(Session-Expires): hanging up",
                     who(c), (unsigned)c->session_expires);
            Ccai_sip_finish(c, "the session timer expired", true);
            return;
        }
    }
    Ccai_timer_start(s->ctx, &c->tick, TICK_MS);
}

void Ccai_sip_connected(sip_call *c)
{
    uint64_t now = Ccai_ctx_now(c->s->ctx);
    c->established = true;
    c->last_rx = now;
    c->refreshed_at = now;
    Ccai_timer_start(c->s->ctx, &c->tick, TICK_MS);
    Ccai_notify(&c->notify, CCAI_EVENT_CONNECTED, NULL);
}

/* Media ------------------------------------------------------------------------ */

bool Ccai_sip_media_apply(sip_call *c, const char **why)
{
    const struct list *rl = sdp_media_format_lst(c->m, false);
    const struct sdp_format *audio = NULL;
    c->dtmf_pt = -1;
    for (struct le *le = rl ? rl->head : NULL; le; le = le->next) {
        const struct sdp_format *f = le->data;
        if (!f->sup)
            continue;
        if (!audio && f->srate == 8000 &&
            (!str_casecmp(f->name, "PCMU") || !str_casecmp(f->name, "PCMA")))
            audio = f;
        else if (c->dtmf_pt < 0 && !str_casecmp(f->name, telev_rtpfmt))
            c->dtmf_pt = f->pt;
    }
    if (!audio) {
        *why = "the offer has no PCMU or PCMA audio (the codecs of sip.codecs)";
        return false;
    }
    c->pt = (uint8_t)audio->pt;
    c->enc = !str_casecmp(audio->name, "PCMU") ? CCAI_AUDIO_ULAW : CCAI_AUDIO_ALAW;
    const struct sa *ra = sdp_media_raddr(c->m);
    enum sdp_dir dir = sdp_media_rdir(c->m);
    c->held = !(dir & SDP_RECVONLY) || !sa_isset(ra, SA_ADDR) || sa_is_any(ra);
    if (!c->latched && sa_isset(ra, SA_ALL) && !sa_is_any(ra)) {
        memcpy(&c->peer, &ra->u, ra->len);
        c->peer_len = ra->len;
        if (sa_ntop(ra, c->peer_text, sizeof c->peer_text) != 0)
            snprintf(c->peer_text, sizeof c->peer_text, "?");
    }
    return true;
}

static void audio_in(sip_call *c, const Ccai_rtp *r)
{
    ccai_audio_encoding enc;
    if (r->pt == CCAI_RTP_PT_PCMU)
        enc = CCAI_AUDIO_ULAW;
    else if (r->pt == CCAI_RTP_PT_PCMA)
        enc = CCAI_AUDIO_ALAW;
    else {
        if (!c->warned_pt)
            Ccai_log(c->s->log, CCAI_LOG_WARN,
                     "sip: call %s: RTP payload type %u was not negotiated: dropped", who(c),
                     (unsigned)r->pt);
        c->warned_pt = true;
        return;
    }
    int16_t pcm[CCAI_RTP_MAX_PACKET];
    uint8_t le[2 * CCAI_RTP_MAX_PACKET];
    Ccai_media_decode(enc == CCAI_AUDIO_ULAW ? CCAI_MEDIA_ULAW : CCAI_MEDIA_ALAW, r->payload,
                      r->len, pcm);
    Ccai_pcm16le_write(pcm, r->len, le);
    ccai_status st = ccai_call_audio_in(c->call, le, 2 * r->len);
    if (st != CCAI_OK && st != CCAI_ERR_STATE && !c->warned_bad) {
        c->warned_bad = true;
        Ccai_log(c->s->log, CCAI_LOG_WARN, "sip: call %s: audio refused: %s", who(c),
                 ccai_call_errmsg(c->call));
    }
}

static void dtmf_in(sip_call *c, const Ccai_rtp *r)
{
    Ccai_telev ev;
    const char *why = NULL;
    if (!Ccai_telev_parse(r->payload, r->len, &ev, &why)) {
        if (!c->warned_bad)
            Ccai_log(c->s->log, CCAI_LOG_WARN, "sip: call %s: %s: dropped", who(c), why);
        c->warned_bad = true;
        return;
    }
    char d = Ccai_dtmf_rx_feed(&c->dtmf, r, &ev);
    if (!d)
        return;
    char text[2] = {d, '\0'};
    Ccai_log(c->s->log, CCAI_LOG_DEBUG, "sip: call %s: key %s (RFC 4733)", who(c), text);
    Ccai_notify(&c->notify, CCAI_EVENT_DTMF, text);
}

static void on_rtp(ccai_ctx *ctx, int fd, int events, void *ud)
{
    CCAI_UNUSED(ctx);
    CCAI_UNUSED(events);
    sip_call *c = ud;
    for (int i = 0; i < 32 && c->rtp_fd == fd && !c->closing; i++) {
        uint8_t buf[CCAI_RTP_MAX_PACKET + 1];
        struct sockaddr_storage from;
        socklen_t fl = sizeof from;
        ssize_t n =
            recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT | MSG_TRUNC, (struct sockaddr *)&from, &fl);
        if (n < 0)
            return; /* EAGAIN; an ICMP error of a peer gone is the timeout's */
        Ccai_rtp r;
        const char *why = NULL;
        if (!Ccai_rtp_parse(buf, (size_t)n > sizeof buf ? sizeof buf : (size_t)n, &r, &why) ||
            (size_t)n > CCAI_RTP_MAX_PACKET) {
            if (!c->bad_packets++)
                Ccai_log(c->s->log, CCAI_LOG_WARN,
                         "sip: call %s: a bad RTP packet (%zd bytes): %s: dropped (and those "
                         "after it, counted)",
                         who(c), n, (size_t)n > CCAI_RTP_MAX_PACKET ? "too large" : why);
            continue;
        }
        if (!c->call && !c->leg_of)
            continue; /* a re-INVITE's answer not taken yet */
        c->rx_packets++;
        c->last_rx = Ccai_ctx_now(c->s->ctx);
        if (!c->latched) {
            /* Symmetric RTP (RFC 4961): the peer behind a NAT is where its
             * packets come from. */
            c->latched = true;
            if (fl != c->peer_len || memcmp(&from, &c->peer, fl) != 0) {
                memcpy(&c->peer, &from, fl);
                c->peer_len = fl;
                struct sa sa;
                if (sa_set_sa(&sa, (struct sockaddr *)&from) == 0)
                    re_snprintf(c->peer_text, sizeof c->peer_text, "%J", &sa);
                Ccai_log(c->s->log, CCAI_LOG_INFO,
                         "sip: call %s: RTP comes from %s: sent there (symmetric RTP)", who(c),
                         c->peer_text);
            }
        }
        if (c->bridged)
            Ccai_sip_bridge_rtp(c, &r);
        else if (c->leg_of)
            continue; /* the agent's leg, not answered yet */
        else if (c->dtmf_pt >= 0 && r.pt == (uint8_t)c->dtmf_pt)
            dtmf_in(c, &r);
        else
            audio_in(c, &r);
    }
}

/* Ops: what the engine does on the line ---------------------------------------------- */

static int op_play(ccai_call *call, const ccai_audio_frame *f, void *ud)
{
    CCAI_UNUSED(call);
    sip_call *c = ud;
    if (c->closing || c->rtp_fd < 0 || !c->peer_len)
        return -1;
    if (c->held || c->bridged)
        return 0; /* on hold, or bridged to the agent: the bot is not heard */
    uint64_t now = Ccai_ctx_now(c->s->ctx);
    bool spurt = !c->last_tx || now - c->last_tx > SPURT_GAP_MS;
    if (spurt && c->last_tx)
        c->ts += (uint32_t)((now - c->last_tx - FRAME_MS) * 8u / 160u * 160u);
    c->last_tx = now;
    for (size_t off = 0; off < f->len;) {
        size_t n = f->len - off > 160 ? 160 : f->len - off;
        uint8_t pkt[CCAI_RTP_HEADER + 160];
        Ccai_rtp_write_header(pkt, spurt && off == 0, c->pt, c->seq++, c->ts, c->ssrc);
        const uint8_t *src = (const uint8_t *)f->data + off;
        if (f->format.encoding == c->enc) {
            memcpy(pkt + CCAI_RTP_HEADER, src, n);
        } else {
            /* The peer changed codec in a re-INVITE: the voice layer
             * still encodes the first. */
            int16_t pcm[160];
            Ccai_media_decode(f->format.encoding == CCAI_AUDIO_ULAW ? CCAI_MEDIA_ULAW
                                                                    : CCAI_MEDIA_ALAW,
                              src, n, pcm);
            Ccai_media_encode(c->enc == CCAI_AUDIO_ULAW ? CCAI_MEDIA_ULAW : CCAI_MEDIA_ALAW, pcm, n,
                              pkt + CCAI_RTP_HEADER);
        }
        c->ts += (uint32_t)n;
        off += n;
        ssize_t sent = sendto(c->rtp_fd, pkt, CCAI_RTP_HEADER + n, MSG_DONTWAIT,
                              (const struct sockaddr *)&c->peer, c->peer_len);
        if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNREFUSED &&
            !c->warned_send) {
            c->warned_send = true;
            Ccai_log(c->s->log, CCAI_LOG_WARN, "sip: call %s: RTP to %s: %s", who(c), c->peer_text,
                     strerror(errno));
        }
        if (sent > 0)
            c->tx_packets++;
    }
    return 0;
}

static int op_hangup(ccai_call *call, void *ud)
{
    CCAI_UNUSED(call);
    sip_call *c = ud;
    if (c->bye_due || c->closing)
        return 0;
    c->bye_due = true;
    schedule(c, BYE_GRACE_MS);
    return 0;
}

static void op_state(ccai_call *call, ccai_call_state old_state, ccai_call_state new_state,
                     void *ud)
{
    CCAI_UNUSED(call);
    CCAI_UNUSED(old_state);
    sip_call *c = ud;
    /* Ended by the engine itself (not through op_hangup: the sweep, a
     * store that gave up): the line goes. */
    if (new_state >= CCAI_CALL_ENDED && !c->end_event && !c->bye_due) {
        c->bot_ended = true;
        c->bye_due = true;
        schedule(c, 0);
    }
}

void Ccai_sip_transfer_failed(sip_call *c, const char *why)
{
    c->transferring = false;
    Ccai_log(c->s->log, CCAI_LOG_WARN, "sip: call %s: the transfer to %s failed: %s", who(c),
             c->transfer_to, why);
    Ccai_notify(&c->notify, CCAI_EVENT_TRANSFER_FAILED, why);
}

void Ccai_sip_refer_notify(sip_call *c, const struct sip_msg *msg)
{
    struct pl code;
    if (!c->transferring ||
        re_regex((const char *)mbuf_buf(msg->mb), mbuf_get_left(msg->mb), "SIP/2.0 [0-9]+",
                 &code) != 0 ||
        c->bridge)
        return;
    unsigned sc = pl_u32(&code);
    if (sc < 200)
        return;
    if (sc >= 300) {
        char why[64];
        snprintf(why, sizeof why, "the agent's leg failed (%u)", sc);
        Ccai_sip_transfer_failed(c, why);
        return;
    }
    c->transferring = false;
    Ccai_log(c->s->log, CCAI_LOG_INFO, "sip: call %s: transferred to %s", who(c), c->transfer_to);
    Ccai_notify(&c->notify, CCAI_EVENT_TRANSFER_OK, c->transfer_to);
    /* RFC 5589 §6.1: the transferor ends its dialog. */
    c->bot_ended = true;
    Ccai_sip_finish(c, "transferred", true);
}

/* NOTIFY of our REFER (RFC 3515): a message/sipfrag status line. */
static void on_refer_notify(struct sip *sip, const struct sip_msg *msg, void *arg)
{
    sip_call *c = arg;
    if (sip_treply(NULL, sip, msg, 200, "OK") != 0)
        Ccai_log(c->s->log, CCAI_LOG_WARN, "sip: call %s: cannot answer a NOTIFY", who(c));
    Ccai_sip_refer_notify(c, msg);
}

static void on_refer_close(int err, const struct sip_msg *msg,
                           const struct sipevent_substate *substate, void *arg)
{
    CCAI_UNUSED(substate);
    sip_call *c = arg;
    c->refer = mem_deref(c->refer);
    if (!c->transferring)
        return;
    char why[96];
    if (msg && msg->scode >= 300) {
        Ccai_sip_refer_refused(c, msg->scode);
        return;
    }
    snprintf(why, sizeof why, "REFER ended without an outcome (%s)",
             err ? strerror(err) : "subscription over");
    Ccai_sip_transfer_failed(c, why);
}

static int op_transfer(ccai_call *call, const char *number, void *ud)
{
    CCAI_UNUSED(call);
    sip_call *c = ud;
    Ccai_sip *s = c->s;
    if (c->closing || c->transferring)
        return -1;
    if (!c->sess && !c->taken_back)
        return -1;
    if (s->agent_uri && *s->agent_uri)
        snprintf(c->transfer_to, sizeof c->transfer_to, "%s", s->agent_uri);
    else if (!Ccai_sip_target_uri(s, number, c->transfer_to, sizeof c->transfer_to)) {
        Ccai_log(s->log, CCAI_LOG_WARN,
                 "sip: call %s: no way to reach the agent %s: set sip.agent_uri or sip.trunk",
                 who(c), number ? number : "(no number)");
        return -1;
    }
    /* A phone that says it cannot take REFER: the bot bridges the agent. */
    if (c->no_refer) {
        c->transferring = true;
        if (!Ccai_sip_bridge_start(c, "the caller's phone does not take REFER (its Allow)")) {
            c->transferring = false;
            return -1;
        }
        return 0;
    }
    /* A call taken back after a restart: REFER in our own dialog
     * (sip_dialog.c), its NOTIFYs come to Ccai_sip_dialog_request(). */
    int err = c->taken_back
                  ? Ccai_sip_dialog_refer(c)
                  : sipevent_drefer(&c->refer, s->evsock, sipsess_dialog(c->sess), s->user,
                                    Ccai_sip_auth, s, false, on_refer_notify, on_refer_close, c,
                                    "Refer-To: <%s>\r\n", c->transfer_to);
    if (err) {
        Ccai_log(s->log, CCAI_LOG_WARN, "sip: call %s: cannot send REFER: %s", who(c),
                 strerror(err));
        return -1;
    }
    c->transferring = true;
    Ccai_log(s->log, CCAI_LOG_INFO, "sip: call %s: REFER to %s", who(c), c->transfer_to);
    return 0;
}

const ccai_call_ops Ccai_sip_ops = {
    .version = CCAI_CALL_OPS_VERSION,
    .transfer = op_transfer,
    .hangup = op_hangup,
    .state_changed = op_state,
    .play_audio = op_play,
};

void Ccai_sip_on_gave_up(void *ud, ccai_status st)
{
    sip_call *c = ud;
    Ccai_log(c->s->log, CCAI_LOG_ERROR, "sip: call %s: the engine cannot go on (%s): hanging up",
             who(c), ccai_status_str(st));
    c->bot_ended = true;
    Ccai_sip_finish(c, "the engine could not go on", true);
}

/* libre's session handlers ------------------------------------------------------------ */

/* A re-INVITE with an offer: hold, resume, another codec, a refresh. */
static int on_offer(struct mbuf **descp, const struct sip_msg *msg, void *arg)
{
    sip_call *c = arg;
    const char *why = NULL;
    int err = sdp_decode(c->sdp, msg->mb, true);
    if (err || !Ccai_sip_media_apply(c, &why)) {
        Ccai_log(c->s->log, CCAI_LOG_WARN, "sip: call %s: re-INVITE refused (488): %s", who(c),
                 err ? "malformed SDP" : why);
        return err ? err : EPROTO;
    }
    c->refreshed_at = Ccai_ctx_now(c->s->ctx);
    Ccai_log(c->s->log, CCAI_LOG_INFO, "sip: call %s: re-INVITE: %s", who(c),
             c->held ? "on hold" : "media on");
    return sdp_encode(descp, c->sdp, false);
}

/* The answer to our offer: a late-offer caller's ACK, the 200 of our
 * INVITE or of our refresh. */
static int on_answer(const struct sip_msg *msg, void *arg)
{
    sip_call *c = arg;
    const char *why = NULL;
    int err = sdp_decode(c->sdp, msg->mb, false);
    if (err || !Ccai_sip_media_apply(c, &why)) {
        Ccai_log(c->s->log, CCAI_LOG_WARN, "sip: call %s: unusable SDP answer: %s: hanging up",
                 who(c), err ? "malformed" : why);
        Ccai_sip_finish(c, "no common codec", true);
        return err ? err : EPROTO;
    }
    c->refreshed_at = Ccai_ctx_now(c->s->ctx);
    return 0;
}

static void on_progress(const struct sip_msg *msg, void *arg)
{
    sip_call *c = arg;
    if (msg->scode == 180 || msg->scode == 183)
        Ccai_notify(&c->notify, CCAI_EVENT_RINGING, NULL);
}

static void on_estab(const struct sip_msg *msg, void *arg)
{
    sip_call *c = arg;
    if (c->established)
        return;
    char rec[1024];
    if (c->outbound) /* the 200 of our INVITE */
        c->no_refer =
            sip_msg_hdr(msg, SIP_HDR_ALLOW) && !sip_msg_hdr_has_value(msg, SIP_HDR_ALLOW, "REFER");
    Ccai_sip_dialog_estab(c, msg);
    if (Ccai_sip_dialog_record(c, rec, sizeof rec)) {
        ccai_status st = ccai_call_set_provider_ids(c->call, rec, c->callid);
        if (st != CCAI_OK)
            Ccai_log(c->s->log, CCAI_LOG_WARN,
                     "sip: call %s: its dialog is not stored (%s): no take-back after a "
                     "restart",
                     who(c), ccai_status_str(st));
    }
    Ccai_log(c->s->log, CCAI_LOG_INFO, "sip: call %s: established over %s, %s, RTP with %s", who(c),
             sip_transp_name(c->tp), c->enc == CCAI_AUDIO_ULAW ? "PCMU" : "PCMA", c->peer_text);
    Ccai_sip_connected(c);
}

/* SIP INFO: DTMF as application/dtmf-relay ("Signal=5\r\nDuration=160"). */
static void on_info(struct sip *sip, const struct sip_msg *msg, void *arg)
{
    sip_call *c = arg;
    struct pl sig;
    if (c->bridged) {
        bool sent = Ccai_sip_bridge_info(c, msg);
        if (sip_reply(sip, msg, sent ? 200 : 415, sent ? "OK" : "Unsupported Media Type") != 0)
            Ccai_log(c->s->log, CCAI_LOG_WARN, "sip: call %s: cannot answer INFO", who(c));
        return;
    }
    if (msg_ctype_cmp(&msg->ctyp, "application", "dtmf-relay") &&
        re_regex((const char *)mbuf_buf(msg->mb), mbuf_get_left(msg->mb),
                 "Signal=[ ]*[0-9*#A-Da-d]1", NULL, &sig) == 0) {
        char text[2] = {sig.p[0], '\0'};
        if (text[0] >= 'a' && text[0] <= 'd')
            text[0] = (char)(text[0] - 'a' + 'A');
        if (sip_reply(sip, msg, 200, "OK") != 0)
            Ccai_log(c->s->log, CCAI_LOG_WARN, "sip: call %s: cannot answer INFO", who(c));
        Ccai_log(c->s->log, CCAI_LOG_DEBUG, "sip: call %s: key %s (SIP INFO)", who(c), text);
        Ccai_notify(&c->notify, CCAI_EVENT_DTMF, text);
        return;
    }
    if (sip_reply(sip, msg, 415, "Unsupported Media Type") != 0)
        Ccai_log(c->s->log, CCAI_LOG_WARN, "sip: call %s: cannot answer INFO", who(c));
}

/* The peer transfers us: the bot does not follow (it is the callee). */
static void on_refer_in(struct sip *sip, const struct sip_msg *msg, void *arg)
{
    sip_call *c = arg;
    Ccai_log(c->s->log, CCAI_LOG_INFO, "sip: call %s: the peer asked us to transfer: declined",
             who(c));
    if (sip_reply(sip, msg, 603, "Decline") != 0)
        Ccai_log(c->s->log, CCAI_LOG_WARN, "sip: call %s: cannot answer REFER", who(c));
}

static void on_close(int err, const struct sip_msg *msg, void *arg)
{
    sip_call *c = arg;
    Ccai_sip *s = c->s;
    char reason[96];
    c->sess_gone = true;
    if (c->outbound && !c->established) {
        unsigned sc = msg ? msg->scode : 0;
        const char *r = sc == 486 || sc == 600 || sc == 603          ? "busy"
                        : sc == 408 || sc == 480 || err == ETIMEDOUT ? "no-answer"
                        : sc == 487                                  ? "canceled"
                                                                     : "failed";
        snprintf(reason, sizeof reason, "%s", r);
        Ccai_log(s->log, CCAI_LOG_INFO, "sip: call %s: not answered: %s (%u%s%s)", who(c), r, sc,
                 err && !sc ? ", " : "", err && !sc ? strerror(err) : "");
    } else if (err == ECONNRESET) {
        snprintf(reason, sizeof reason, "the caller hung up");
        Ccai_log(s->log, CCAI_LOG_INFO, "sip: call %s: the peer hung up (BYE)", who(c));
    } else {
        snprintf(reason, sizeof reason, "the SIP session failed");
        Ccai_log(s->log, CCAI_LOG_WARN, "sip: call %s: the session failed: %s%s%u", who(c),
                 err ? strerror(err) : "", msg ? ", status " : "", msg ? msg->scode : 0u);
    }
    Ccai_sip_finish(c, reason, false);
}

/* Inbound -------------------------------------------------------------------------------- */

/* Session-Expires of the INVITE (RFC 4028): 0 when none; *ret_refresher
 * "uac" or "uas". */
static uint32_t session_expires(const struct sip_msg *msg, const char **ret_refresher)
{
    const struct sip_hdr *h = sip_msg_hdr(msg, SIP_HDR_SESSION_EXPIRES);
    struct pl num, rp;
    if (!h || re_regex(h->val.p, h->val.l, "[0-9]+", &num) != 0)
        return 0;
    bool peer_timer = sip_msg_hdr_has_value(msg, SIP_HDR_SUPPORTED, "timer") ||
                      sip_msg_hdr_has_value(msg, SIP_HDR_REQUIRE, "timer");
    if (re_regex(h->val.p, h->val.l, "refresher=[a-z]+", &rp) == 0)
        *ret_refresher = pl_strcasecmp(&rp, "uas") == 0 ? "uas" : "uac";
    else
        *ret_refresher = peer_timer ? "uac" : "uas";
    if (!peer_timer)
        *ret_refresher = "uas";
    return pl_u32(&num);
}

static void reply(Ccai_sip *s, const struct sip_msg *msg, uint16_t code, const char *text,
                  const char *hdrs)
{
    if (sip_treplyf(NULL, NULL, s->sip, msg, false, code, text, "%sContent-Length: 0\r\n\r\n",
                    hdrs ? hdrs : "") != 0)
        Ccai_log(s->log, CCAI_LOG_WARN, "sip: cannot answer %u", (unsigned)code);
}

void Ccai_sip_invite(Ccai_sip *s, const struct sip_msg *msg)
{
    char peer[64], callid[128];
    if (sa_ntop(&msg->src, peer, sizeof peer) != 0)
        snprintf(peer, sizeof peer, "?");
    if (pl_strcpy(&msg->callid, callid, sizeof callid) != 0) {
        Ccai_log(s->log, CCAI_LOG_WARN, "sip: INVITE from %s: Call-ID too long: 400", peer);
        reply(s, msg, 400, "Bad Request", NULL);
        return;
    }
    const char *refresher = "uac";
    uint32_t se = session_expires(msg, &refresher);
    if (se && se < MIN_SE_S) {
        Ccai_log(s->log, CCAI_LOG_INFO, "sip: INVITE %s: Session-Expires %u below %u: 422", callid,
                 se, MIN_SE_S);
        reply(s, msg, 422, "Session Interval Too Small", "Min-SE: 90\r\n");
        return;
    }
    struct sa laddr;
    if (sip_transp_laddr(s->sip, &laddr, msg->tp, &msg->src) != 0)
        laddr = s->laddr;
    sip_call *c = NULL;
    ccai_status st = Ccai_sip_call_new(s, &laddr, &c);
    if (st != CCAI_OK) {
        reply(s, msg, 503, "Service Unavailable", "Retry-After: 5\r\n");
        return;
    }
    snprintf(c->callid, sizeof c->callid, "%s", callid);
    snprintf(c->peer_text, sizeof c->peer_text, "%s", peer);
    c->no_refer =
        sip_msg_hdr(msg, SIP_HDR_ALLOW) && !sip_msg_hdr_has_value(msg, SIP_HDR_ALLOW, "REFER");
    Ccai_sip_dialog_invite(c, msg);
    bool offer = mbuf_get_left(msg->mb) > 0;
    if (offer) {
        const char *why = NULL;
        int err = sdp_decode(c->sdp, msg->mb, true);
        if (err || !Ccai_sip_media_apply(c, &why)) {
            Ccai_log(s->log, CCAI_LOG_WARN, "sip: INVITE %s from %s: %s: 488", callid, peer,
                     err ? "malformed SDP" : why);
            reply(s, msg, 488, "Not Acceptable Here",
                  err ? NULL : "Warning: 305 libccai \"Incompatible media format\"\r\n");
            Ccai_sip_call_free(c);
            return;
        }
    }
    char number[20];
    Ccai_sip_party_number(&msg->from.uri.user, &msg->from.auri, number);
    ccai_call_params p = {
        .version = CCAI_CALL_PARAMS_VERSION,
        .direction = CCAI_INBOUND,
        .phone_number = number,
        .channel = CCAI_SIP_CHANNEL,
        .provider_call_id = callid,
        .audio_in = {CCAI_AUDIO_PCM16, 8000, 1},
        /* Without an offer the codec is known at the ACK: our first. */
        .audio_out = {offer ? c->enc : (s->pcma_first ? CCAI_AUDIO_ALAW : CCAI_AUDIO_ULAW), 8000,
                      1},
        .audio_flags = CCAI_AUDIO_PACED,
        .audio_frame_ms = FRAME_MS,
    };
    if (!offer)
        c->enc = p.audio_out.encoding;
    st = ccai_call_start(s->ctx, &p, &Ccai_sip_ops, c, &c->call);
    if (st != CCAI_OK) {
        Ccai_log(s->log, CCAI_LOG_ERROR, "sip: INVITE %s from %s: the call cannot start (%s: %s)",
                 callid, peer, ccai_status_str(st), ccai_ctx_errmsg(s->ctx));
        reply(s, msg, st == CCAI_ERR_BUSY ? 503 : 500,
              st == CCAI_ERR_BUSY ? "Service Unavailable" : "Server Internal Error",
              st == CCAI_ERR_BUSY ? "Retry-After: 1\r\n" : NULL);
        Ccai_sip_call_free(c);
        return;
    }
    Ccai_notifier_init(&c->notify, s->ctx, s->log, c->call, Ccai_sip_on_gave_up, c);
    c->notify_on = true;
    char hdrs[160] = "";
    if (se) {
        c->session_expires = se;
        c->we_refresh = !strcmp(refresher, "uas");
        snprintf(hdrs, sizeof hdrs, "Session-Expires: %u;refresher=%s\r\n%s", se, refresher,
                 c->we_refresh ? "" : "Require: timer\r\n");
    }
    struct mbuf *desc = NULL;
    int err = sdp_encode(&desc, c->sdp, !offer);
    if (!err)
        err = sipsess_accept(&c->sess, s->sock, msg, 200, "OK", s->user, "application/sdp", desc,
                             Ccai_sip_auth, s, false, on_offer, on_answer, on_estab, on_info,
                             on_refer_in, on_close, c,
                             "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, REFER, NOTIFY\r\n"
                             "Supported: timer, replaces\r\n%s",
                             hdrs);
    mem_deref(desc);
    if (err) {
        Ccai_log(s->log, CCAI_LOG_ERROR, "sip: INVITE %s: cannot answer: %s", callid,
                 strerror(err));
        reply(s, msg, 500, "Server Internal Error", NULL);
        Ccai_sip_finish(c, "the call could not be answered", false);
        return;
    }
    Ccai_log(s->log, CCAI_LOG_INFO, "sip: call %s from %s (%s), Call-ID %s", ccai_call_id(c->call),
             peer, number, callid);
}

/* Outbound ---------------------------------------------------------------------------------- */

ccai_status Ccai_sip_place(Ccai_sip *s, const char *initiate_json, const char *to,
                           char **ret_call_id)
{
    char uri[320];
    if (!Ccai_sip_target_uri(s, to, uri, sizeof uri)) {
        Ccai_ctx_set_error(s->ctx, "sip: no way to dial %s: set sip.trunk (or sip.registrar)",
                           to ? to : "(nobody)");
        return CCAI_ERR_UNSUPPORTED;
    }
    struct pl upl;
    struct uri u;
    pl_set_str(&upl, uri);
    if (uri_decode(&u, &upl) != 0) {
        Ccai_ctx_set_error(s->ctx, "sip: \"%s\" is not a SIP URI", uri);
        return CCAI_ERR_INVALID_ARG;
    }
    struct sa laddr = s->laddr;
    if (sa_is_any(&laddr) && net_default_source_addr_get(sa_af(&s->laddr), &laddr) != 0)
        laddr = s->laddr;
    sip_call *c = NULL;
    ccai_status st = Ccai_sip_call_new(s, &laddr, &c);
    if (st != CCAI_OK) {
        Ccai_ctx_set_error(s->ctx, "sip: no RTP port for the call");
        return st;
    }
    c->outbound = true;
    char number[20];
    if (!strncmp(to, "sip:", 4) || !strncmp(to, "sips:", 5))
        Ccai_sip_party_number(&u.user, &upl, number);
    else
        snprintf(number, sizeof number, "%s", to);
    ccai_call_params p = {
        .version = CCAI_CALL_PARAMS_VERSION,
        .direction = CCAI_OUTBOUND,
        .phone_number = number,
        .channel = CCAI_SIP_CHANNEL,
        .initiate_json = initiate_json,
        .audio_in = {CCAI_AUDIO_PCM16, 8000, 1},
        .audio_out = {s->pcma_first ? CCAI_AUDIO_ALAW : CCAI_AUDIO_ULAW, 8000, 1},
        .audio_flags = CCAI_AUDIO_PACED,
        .audio_frame_ms = FRAME_MS,
    };
    c->enc = p.audio_out.encoding;
    st = ccai_call_start(s->ctx, &p, &Ccai_sip_ops, c, &c->call);
    if (st != CCAI_OK) {
        Ccai_sip_call_free(c);
        return st;
    }
    Ccai_notifier_init(&c->notify, s->ctx, s->log, c->call, Ccai_sip_on_gave_up, c);
    c->notify_on = true;
    char from[320];
    const char *user = s->username && *s->username ? s->username : s->user;
    if (s->trunk_host[0] && s->username && *s->username)
        re_snprintf(from, sizeof from, "sip:%s@%s", user, s->trunk_host);
    else
        re_snprintf(from, sizeof from, "sip:%s@%J", user, &s->laddr);
    const char *routev[1] = {s->trunk && *s->trunk ? s->trunk : NULL};
    struct mbuf *desc = NULL;
    int err = sdp_encode(&desc, c->sdp, true);
    if (!err)
        err =
            sipsess_connect(&c->sess, s->sock, uri, NULL, from, s->user, routev, routev[0] ? 1 : 0,
                            "application/sdp", desc, Ccai_sip_auth, s, false, on_offer, on_answer,
                            on_progress, on_estab, on_info, on_refer_in, on_close, c,
                            "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, REFER, NOTIFY\r\n");
    mem_deref(desc);
    if (err) {
        Ccai_log(s->log, CCAI_LOG_ERROR, "sip: call %s: cannot send the INVITE to %s: %s",
                 ccai_call_id(c->call), uri, strerror(err));
        c->sess = NULL;
        Ccai_sip_finish(c, "failed", false);
        /* Stored and ended: the call's id still names it. */
        if (ret_call_id && !(*ret_call_id = Ccai_strdup(ccai_call_id(c->call))))
            return CCAI_ERR_NOMEM;
        return CCAI_OK;
    }
    snprintf(c->callid, sizeof c->callid, "%s", sip_dialog_callid(sipsess_dialog(c->sess)));
    snprintf(c->peer_text, sizeof c->peer_text, "%s", uri);
    snprintf(c->luri, sizeof c->luri, "%s", from);
    snprintf(c->ruri, sizeof c->ruri, "%s", uri);
    st = ccai_call_set_provider_ids(c->call, c->callid, NULL);
    if (st != CCAI_OK)
        Ccai_log(s->log, CCAI_LOG_WARN, "sip: call %s: Call-ID not stored: %s",
                 ccai_call_id(c->call), ccai_status_str(st));
    Ccai_log(s->log, CCAI_LOG_INFO, "sip: call %s: INVITE to %s, Call-ID %s", ccai_call_id(c->call),
             uri, c->callid);
    if (ret_call_id && !(*ret_call_id = Ccai_strdup(ccai_call_id(c->call))))
        return CCAI_ERR_NOMEM;
    return CCAI_OK;
}
