/* A SIP call outlives the process serving it.
 *
 * When a call is established its dialog is stored with it: the call's
 * provider id is the record below (the Call-ID is its correlation id, so
 * ccai_ctx_call_find_provider() finds the call by either). A process
 * killed mid-call sends no BYE: the peer keeps the call, its RTP going
 * nowhere. The next process on the same address (sip.listen) looks, at
 * start, for the calls it left in progress and sends each peer a
 * re-INVITE in the stored dialog (same Call-ID and tags, a CSeq above any
 * the dead process used, a new SDP offer with its own RTP port). A 2xx
 * takes the call back (ccai_call_start() with resume_call_id: the engine
 * says it is back, the claim and the conversation go on); anything else
 * (481: the peer hung up meanwhile) ends it.
 *
 * The dialog taken back is ours, not libre's session layer's (libre 1.1.0
 * cannot make a session from stored ids): its in-dialog requests come to
 * Ccai_sip_dialog_request() first (BYE, re-INVITE, INFO, OPTIONS), and
 * our BYE and REFER are built here (the REFER's NOTIFYs come back the
 * same way). The route set (Record-Route of the INVITE, or of our
 * INVITE's 2xx reversed) is kept: our requests go through the proxies
 * that asked to stay on the path.
 *
 * Record: "sip-dialog/1 <Call-ID> <our tag> <their tag> <udp|tcp|tls>
 * <their target URI> <our URI> <their URI> [<route>,<route>...]", each
 * field without spaces (the route set only when there is one). */
#include "channels/sip/sip_int.h"

#include "core/json.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define RECORD_PREFIX "sip-dialog/1 "

static void pl_copy(const struct pl *pl, char *out, size_t cap)
{
    if (!pl || pl_strcpy(pl, out, cap) != 0)
        out[0] = '\0';
}

/* One Record-Route value added to the route set; a value with spaces (a
 * display name) or one too long for the record drops the whole set. */
static bool add_route(const struct sip_hdr *hdr, const struct sip_msg *msg, void *arg)
{
    CCAI_UNUSED(msg);
    sip_call *c = arg;
    size_t have = strlen(c->route);
    bool spaces = memchr(hdr->val.p, ' ', hdr->val.l) || memchr(hdr->val.p, '\t', hdr->val.l);
    if (spaces || have + hdr->val.l + 2 > sizeof c->route) {
        c->route[0] = '\0';
        return true; /* stop: no partial route set */
    }
    re_snprintf(c->route + have, sizeof c->route - have, "%s%r", have ? "," : "", &hdr->val);
    return false;
}

/* RFC 3261 §12.1.1: the UAS's route set is the request's Record-Route in
 * order; §12.1.2: the UAC's, the 2xx's in reverse. */
static void route_set(sip_call *c, const struct sip_msg *msg, bool fwd)
{
    c->route[0] = '\0';
    (void)sip_msg_hdr_apply(msg, fwd, SIP_HDR_RECORD_ROUTE, add_route, c);
}

void Ccai_sip_dialog_invite(sip_call *c, const struct sip_msg *msg)
{
    route_set(c, msg, true);
    pl_copy(&msg->to.auri, c->luri, sizeof c->luri);
    pl_copy(&msg->from.auri, c->ruri, sizeof c->ruri);
    c->target[0] = '\0';
    const struct sip_hdr *h = sip_msg_hdr(msg, SIP_HDR_CONTACT);
    struct sip_addr addr;
    if (h && sip_addr_decode(&addr, &h->val) == 0)
        pl_copy(&addr.auri, c->target, sizeof c->target);
    c->tp = msg->tp;
}

void Ccai_sip_dialog_estab(sip_call *c, const struct sip_msg *msg)
{
    if (c->outbound) { /* the 2xx of our INVITE */
        pl_copy(&msg->from.tag, c->ltag, sizeof c->ltag);
        pl_copy(&msg->to.tag, c->rtag, sizeof c->rtag);
        const struct sip_hdr *h = sip_msg_hdr(msg, SIP_HDR_CONTACT);
        struct sip_addr addr;
        if (h && sip_addr_decode(&addr, &h->val) == 0)
            pl_copy(&addr.auri, c->target, sizeof c->target);
        c->tp = msg->tp;
        route_set(c, msg, false);
    } else { /* the caller's ACK */
        pl_copy(&msg->to.tag, c->ltag, sizeof c->ltag);
        pl_copy(&msg->from.tag, c->rtag, sizeof c->rtag);
    }
}

bool Ccai_sip_dialog_record(const sip_call *c, char *out, size_t cap)
{
    if (!c->callid[0] || !c->ltag[0] || !c->rtag[0] || !c->target[0] || !c->luri[0] ||
        !c->ruri[0] || strpbrk(c->callid, " \t"))
        return false;
    int n = snprintf(out, cap, RECORD_PREFIX "%s %s %s %s %s %s %s%s%s", c->callid, c->ltag,
                     c->rtag, sip_transp_name(c->tp), c->target, c->luri, c->ruri,
                     c->route[0] ? " " : "", c->route);
    return n > 0 && (size_t)n < cap;
}

/* Fields of a record; false when it is not one. */
static bool parse_record(const char *rec, sip_call *c)
{
    if (strncmp(rec, RECORD_PREFIX, strlen(RECORD_PREFIX)) != 0)
        return false;
    char tp[8];
    /* Widths: the fields' sizes in sip_call, less one. */
    c->route[0] = '\0';
    int n = sscanf(rec + strlen(RECORD_PREFIX), "%127s %63s %63s %7s %319s %319s %319s %511s",
                   c->callid, c->ltag, c->rtag, tp, c->target, c->luri, c->ruri, c->route);
    if (n != 7 && n != 8)
        return false;
    if (!strcmp(tp, "UDP"))
        c->tp = SIP_TRANSP_UDP;
    else if (!strcmp(tp, "TCP"))
        c->tp = SIP_TRANSP_TCP;
    else if (!strcmp(tp, "TLS"))
        c->tp = SIP_TRANSP_TLS;
    else
        return false;
    return true;
}

static const char *tp_param(enum sip_transp tp)
{
    return tp == SIP_TRANSP_TCP ? ";transport=tcp" : tp == SIP_TRANSP_TLS ? ";transport=tls" : "";
}

/* A request of ours in the dialog taken back (re-INVITE, ACK, BYE,
 * REFER with @p extra headers). */
static int dialog_request(sip_call *c, struct sip_request **reqp, const char *met, uint32_t cseq,
                          struct mbuf *body, sip_resp_h *resph, const char *extra)
{
    Ccai_sip *s = c->s;
    struct sa laddr;
    if (sip_transp_laddr(s->sip, &laddr, c->tp, NULL) != 0)
        laddr = s->laddr;
    size_t len = body ? mbuf_get_left(body) : 0;
    /* With a route set (loose routing, RFC 3261 §12.2.1.1): the request
     * goes to its first URI, all of it in Route. */
    struct uri first;
    bool routed = false;
    const char *lt = strchr(c->route, '<'), *gt = lt ? strchr(lt, '>') : NULL;
    if (gt) {
        struct pl pl = {lt + 1, (size_t)(gt - lt - 1)};
        routed = uri_decode(&first, &pl) == 0;
    }
    return sip_requestf(reqp, s->sip, resph != NULL, met, c->target, routed ? &first : NULL, NULL,
                        NULL, resph, c,
                        "%s%s%s"
                        "To: <%s>;tag=%s\r\n"
                        "From: <%s>;tag=%s\r\n"
                        "Call-ID: %s\r\n"
                        "CSeq: %u %s\r\n"
                        "Contact: <sip:%s@%J%s>\r\n"
                        "%s%s"
                        "Content-Length: %zu\r\n"
                        "\r\n"
                        "%b",
                        routed ? "Route: " : "", routed ? c->route : "", routed ? "\r\n" : "",
                        c->ruri, c->rtag, c->luri, c->ltag, c->callid, cseq, met, s->user, &laddr,
                        tp_param(c->tp), body ? "Content-Type: application/sdp\r\n" : "",
                        extra ? extra : "", len, body ? mbuf_buf(body) : NULL, len);
}

static void end_stored(Ccai_sip *s, const char *call_id, const char *why)
{
    ccai_status st = ccai_ctx_call_end(s->ctx, call_id, why, 1);
    if (st != CCAI_OK && st != CCAI_ERR_STATE)
        Ccai_log(s->log, CCAI_LOG_WARN, "sip: call %s: not ended (%s): the sweep will", call_id,
                 ccai_status_str(st));
}

static void on_bye_answer(int err, const struct sip_msg *msg, void *arg)
{
    sip_call *c = arg;
    if (!err && msg && msg->scode < 200)
        return;
    c->req = mem_deref(c->req);
}

void Ccai_sip_dialog_bye(sip_call *c)
{
    c->req = mem_deref(c->req);
    if (dialog_request(c, &c->req, "BYE", ++c->lseq, NULL, on_bye_answer, NULL) != 0)
        Ccai_log(c->s->log, CCAI_LOG_WARN, "sip: call %s: cannot send BYE", c->resume_id);
}

/* The peer's answer to our REFER: 202 and the outcome comes in NOTIFYs
 * (Ccai_sip_dialog_request()); a refusal (405, 501, 603...) fails it. */
static void on_refer_answer(int err, const struct sip_msg *msg, void *arg)
{
    sip_call *c = arg;
    if (!err && msg && msg->scode < 200)
        return;
    c->req = mem_deref(c->req);
    if (!c->transferring || (!err && msg && msg->scode < 300))
        return;
    if (msg) {
        Ccai_sip_refer_refused(c, msg->scode);
        return;
    }
    char why[96];
    snprintf(why, sizeof why, "REFER got no answer (%s)", strerror(err));
    Ccai_sip_transfer_failed(c, why);
}

int Ccai_sip_dialog_refer(sip_call *c)
{
    if (c->req)
        return EBUSY; /* the re-INVITE is not answered yet */
    char hdrs[600];
    int n = snprintf(hdrs, sizeof hdrs, "Refer-To: <%s>\r\nReferred-By: <%s>\r\n", c->transfer_to,
                     c->luri);
    if (n < 0 || (size_t)n >= sizeof hdrs)
        return EOVERFLOW;
    return dialog_request(c, &c->req, "REFER", ++c->lseq, NULL, on_refer_answer, hdrs);
}

/* The peer's answer to our re-INVITE. */
static void on_reinvite_answer(int err, const struct sip_msg *msg, void *arg)
{
    sip_call *c = arg;
    Ccai_sip *s = c->s;
    if (!err && msg && msg->scode < 200)
        return;
    c->req = mem_deref(c->req);
    if (err || !msg || msg->scode >= 300) {
        char why[96];
        snprintf(why, sizeof why, "the peer did not take the call back (%s%u)",
                 err ? "no answer, " : "", msg ? (unsigned)msg->scode : 0u);
        Ccai_log(s->log, CCAI_LOG_WARN, "sip: call %s: %s: it ends", c->resume_id, why);
        end_stored(s, c->resume_id, why);
        Ccai_sip_call_free(c);
        return;
    }
    /* ACK the 2xx (same CSeq number), at the target it gave. */
    const struct sip_hdr *h = sip_msg_hdr(msg, SIP_HDR_CONTACT);
    struct sip_addr addr;
    if (h && sip_addr_decode(&addr, &h->val) == 0)
        pl_copy(&addr.auri, c->target, sizeof c->target);
    if (dialog_request(c, NULL, "ACK", c->lseq, NULL, NULL, NULL) != 0)
        Ccai_log(s->log, CCAI_LOG_WARN, "sip: call %s: cannot ACK the re-INVITE", c->resume_id);
    const char *why = NULL;
    if (sdp_decode(c->sdp, msg->mb, false) != 0 || !Ccai_sip_media_apply(c, &why)) {
        Ccai_log(s->log, CCAI_LOG_WARN, "sip: call %s: the re-INVITE's answer is unusable: %s",
                 c->resume_id, why ? why : "malformed SDP");
        end_stored(s, c->resume_id, "no common codec after a restart");
        Ccai_sip_finish(c, NULL, true);
        return;
    }
    ccai_call_params p = {
        .version = CCAI_CALL_PARAMS_VERSION,
        .channel = CCAI_SIP_CHANNEL,
        .resume_call_id = c->resume_id,
        .audio_in = {CCAI_AUDIO_PCM16, 8000, 1},
        .audio_out = {c->enc, 8000, 1},
        .audio_flags = CCAI_AUDIO_PACED,
        .audio_frame_ms = 20,
    };
    ccai_status st = ccai_call_start(s->ctx, &p, &Ccai_sip_ops, c, &c->call);
    if (st != CCAI_OK) {
        Ccai_log(s->log, CCAI_LOG_ERROR, "sip: call %s: cannot go on after the restart (%s: %s)",
                 c->resume_id, ccai_status_str(st), ccai_ctx_errmsg(s->ctx));
        Ccai_sip_finish(c, NULL, true);
        return;
    }
    Ccai_notifier_init(&c->notify, s->ctx, s->log, c->call, Ccai_sip_on_gave_up, c);
    c->notify_on = true;
    Ccai_log(s->log, CCAI_LOG_WARN, "sip: call %s: taken back after a restart (Call-ID %s)",
             c->resume_id, c->callid);
    Ccai_sip_connected(c);
}

static void take_back(Ccai_sip *s, const char *call_id, const char *rec)
{
    sip_call *c = NULL;
    struct sa laddr = s->laddr;
    if (sa_is_any(&laddr) && net_default_source_addr_get(sa_af(&s->laddr), &laddr) != 0)
        laddr = s->laddr;
    if (Ccai_sip_call_new(s, &laddr, &c) != CCAI_OK)
        return;
    if (!parse_record(rec, c)) {
        Ccai_log(s->log, CCAI_LOG_WARN, "sip: call %s: its stored dialog is unreadable: it ends",
                 call_id);
        end_stored(s, call_id, "interrupted");
        Ccai_sip_call_free(c);
        return;
    }
    c->taken_back = true;
    snprintf(c->resume_id, sizeof c->resume_id, "%s", call_id);
    /* Above any CSeq the dead process sent in this dialog (libre starts
     * at a random 16-bit number), below 2^31 (RFC 3261 §8.1.1.5). */
    c->lseq = (uint32_t)((uint64_t)time(NULL) & 0x7fffffffu);
    snprintf(c->peer_text, sizeof c->peer_text, "%s", c->target);
    struct mbuf *desc = NULL;
    int err = sdp_encode(&desc, c->sdp, true);
    if (!err)
        err = dialog_request(c, &c->req, "INVITE", c->lseq, desc, on_reinvite_answer, NULL);
    mem_deref(desc);
    if (err) {
        Ccai_log(s->log, CCAI_LOG_WARN, "sip: call %s: cannot re-INVITE %s: %s", call_id, c->target,
                 strerror(err));
        Ccai_sip_call_free(c);
        return;
    }
    Ccai_log(s->log, CCAI_LOG_INFO, "sip: call %s: left in progress: re-INVITE to %s", call_id,
             c->target);
}

static void on_resume(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    Ccai_sip *s = ud;
    char *text = NULL;
    ccai_status st = ccai_ctx_calls_list_json(s->ctx, NULL, 1000, 0, &text);
    if (st != CCAI_OK) {
        Ccai_log(s->log, CCAI_LOG_WARN, "sip: cannot read the calls left in progress: %s",
                 ccai_status_str(st));
        return;
    }
    json_t *doc = json_loads(text, 0, NULL);
    ccai_free(text);
    size_t i;
    json_t *call;
    json_array_foreach(json_object_get(doc, "calls"), i, call)
    {
        const char *ch = json_string_value(json_object_get(call, "channel"));
        const char *rec = json_string_value(json_object_get(call, "provider_call_id"));
        const char *id = json_string_value(json_object_get(call, "call_id"));
        if (ch && !strcmp(ch, CCAI_SIP_CHANNEL) &&
            json_is_true(json_object_get(call, "in_progress")) && rec && id &&
            !strncmp(rec, RECORD_PREFIX, strlen(RECORD_PREFIX)))
            take_back(s, id, rec);
    }
    json_decref(doc);
}

void Ccai_sip_take_back_all(Ccai_sip *s)
{
    /* From the loop: the context is still being made. */
    Ccai_timer_init(&s->resume_timer, on_resume, s);
    Ccai_timer_start(s->ctx, &s->resume_timer, 0);
}

static sip_call *find_taken_back(Ccai_sip *s, const struct pl *callid)
{
    for (sip_call *c = s->calls; c; c = c->next) {
        if (c->taken_back && !pl_strcmp(callid, c->callid))
            return c;
    }
    return NULL;
}

bool Ccai_sip_dialog_request(const struct sip_msg *msg, void *arg)
{
    Ccai_sip *s = arg;
    sip_call *c = find_taken_back(s, &msg->callid);
    if (!c)
        return false; /* libre's sessions, or nobody's */
    if (!pl_strcmp(&msg->met, "ACK"))
        return true;
    if (!pl_strcmp(&msg->met, "BYE")) {
        if (sip_reply(s->sip, msg, 200, "OK") != 0)
            Ccai_log(s->log, CCAI_LOG_WARN, "sip: call %s: cannot answer BYE", c->resume_id);
        Ccai_log(s->log, CCAI_LOG_INFO, "sip: call %s: the peer hung up (BYE)", c->resume_id);
        Ccai_sip_finish(c, "the caller hung up", false);
        return true;
    }
    if (!pl_strcmp(&msg->met, "INVITE")) {
        const char *why = NULL;
        struct mbuf *desc = NULL;
        bool has_offer = mbuf_get_left(msg->mb) > 0;
        if (has_offer &&
            (sdp_decode(c->sdp, msg->mb, true) != 0 || !Ccai_sip_media_apply(c, &why))) {
            if (sip_reply(s->sip, msg, 488, "Not Acceptable Here") != 0)
                Ccai_log(s->log, CCAI_LOG_WARN, "sip: call %s: cannot answer", c->resume_id);
            return true;
        }
        struct sa laddr;
        if (sip_transp_laddr(s->sip, &laddr, msg->tp, &msg->src) != 0)
            laddr = s->laddr;
        if (sdp_encode(&desc, c->sdp, !has_offer) != 0 ||
            sip_treplyf(NULL, NULL, s->sip, msg, true, 200, "OK",
                        "Contact: <sip:%s@%J%s>\r\nContent-Type: application/sdp\r\n"
                        "Content-Length: %zu\r\n\r\n%b",
                        s->user, &laddr, tp_param(msg->tp), mbuf_get_left(desc), mbuf_buf(desc),
                        mbuf_get_left(desc)) != 0)
            Ccai_log(s->log, CCAI_LOG_WARN, "sip: call %s: cannot answer a re-INVITE",
                     c->resume_id);
        mem_deref(desc);
        c->refreshed_at = Ccai_ctx_now(s->ctx);
        return true;
    }
    if (!pl_strcmp(&msg->met, "NOTIFY")) { /* of our REFER (RFC 3515) */
        if (sip_reply(s->sip, msg, 200, "OK") != 0)
            Ccai_log(s->log, CCAI_LOG_WARN, "sip: call %s: cannot answer NOTIFY", c->resume_id);
        Ccai_sip_refer_notify(c, msg);
        return true;
    }
    if (!pl_strcmp(&msg->met, "OPTIONS") || !pl_strcmp(&msg->met, "INFO")) {
        struct pl sig;
        if (!pl_strcmp(&msg->met, "INFO") && c->bridged) {
            bool sent = Ccai_sip_bridge_info(c, msg);
            if (sip_reply(s->sip, msg, sent ? 200 : 415, sent ? "OK" : "Unsupported Media Type"))
                Ccai_log(s->log, CCAI_LOG_WARN, "sip: call %s: cannot answer", c->resume_id);
            return true;
        }
        if (!pl_strcmp(&msg->met, "INFO") && c->notify_on &&
            re_regex((const char *)mbuf_buf(msg->mb), mbuf_get_left(msg->mb),
                     "Signal=[ ]*[0-9*#A-D]1", NULL, &sig) == 0) {
            char text[2] = {sig.p[0], '\0'};
            Ccai_notify(&c->notify, CCAI_EVENT_DTMF, text);
        }
        if (sip_reply(s->sip, msg, 200, "OK") != 0)
            Ccai_log(s->log, CCAI_LOG_WARN, "sip: call %s: cannot answer", c->resume_id);
        return true;
    }
    if (sip_reply(s->sip, msg, 501, "Not Implemented") != 0)
        Ccai_log(s->log, CCAI_LOG_WARN, "sip: call %s: cannot answer", c->resume_id);
    return true;
}
