/* The SIP channel: a SIP user agent on libre 1.1.0 (Debian libre-dev,
 * BSD-3), one audio call of the public API per SIP call, as a host's own
 * channel would be (examples/embed-channel.c).
 *
 *   sip.listen        UDP and TCP on HOST:PORT (sip.transports), TLS on
 *                     PORT+1 when sip.tls_cert names a PEM (certificate
 *                     and key)
 *   inbound INVITE    from a peer sip.allow lets in (unset: loopback and
 *                     private networks), with digest when sip.auth_password
 *                     is set; SDP offer/answer (PCMU, PCMA of sip.codecs,
 *                     telephone-event), 200 at once: the call is stored
 *                     when the answer goes (sip_call.c)
 *   POST /call        an INVITE to sip:<number>@<trunk> through sip.trunk
 *                     with digest (sip.username, sip.password), or to a
 *                     sip: URI as it is
 *   REGISTER          to sip.registrar with the same credentials, so that
 *                     the registrar's callers reach the bot: its INVITEs
 *                     (from the address its 2xx came from) are let in
 *                     without a sip.allow entry
 *
 * libre has its own loop and re_main() is the only way to run it: the
 * channel works on a context made by ccai_ctx_new_libre() (io/libre.c),
 * whose loop is libre's. On another loop a configured sip.listen is a
 * configuration error saying so. The RTP sockets are the context's own
 * (Ccai_fd_watch), on the same loop. */
#include "channels/sip/sip_int.h"

#include "config/config.h"
#include "core/hostport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A nonce of our digest challenge is good this long. */
#define NONCE_TTL_S 300
#define REALM       "ccai"
/* REGISTER's lifetime. */
#define REGISTER_EXPIRES_S 600

/* Who may call ------------------------------------------------------------ */

/* Without sip.allow: loopback and the private networks (RFC 1918, RFC
 * 4193 unique local, link-local), the softphones of the same network. */
static const char *const default_allow[] = {
    "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "::1", "fc00::/7", "fe80::/10"};

bool Ccai_sip_peer_allowed(const Ccai_sip *s, const struct sa *src, char *text, size_t cap)
{
    uint8_t a[16];
    int family;
    return Ccai_allow_peer(&src->u.sa, &family, a, text, cap) &&
           Ccai_allow_match(&s->allow, family, a);
}

static CCAI_MUST_CHECK ccai_status read_allow(Ccai_sip *s, const char *list)
{
    char why[160];
    if (!list || !*list) {
        for (size_t i = 0; i < CCAI_ARRAY_SIZE(default_allow); i++) {
            if (!Ccai_allow_parse(&s->allow, default_allow[i], why))
                return CCAI_ERR_INTERNAL;
        }
        return CCAI_OK;
    }
    if (!Ccai_allow_parse(&s->allow, list, why)) {
        Ccai_ctx_set_error(s->ctx, "sip.allow: %s", why);
        return CCAI_ERR_CONFIG;
    }
    return CCAI_OK;
}

/* Digest asked of callers (RFC 3261 §22.4, RFC 2617 without qop) -------------- */

/* nonce = hex(time) "." hex(HMAC-SHA256(key, hex(time)))[0..32]: no state
 * to keep, a forged or stale one is refused. */
static void make_nonce(const Ccai_sip *s, uint64_t t, char out[64])
{
    char ts[20];
    snprintf(ts, sizeof ts, "%llx", (unsigned long long)t);
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned mac_len = 0;
    if (!HMAC(EVP_sha256(), s->nonce_key, sizeof s->nonce_key, (const uint8_t *)ts, strlen(ts), mac,
              &mac_len))
        mac_len = 0;
    int n = snprintf(out, 64, "%s.", ts);
    for (unsigned i = 0; i < 16 && i < mac_len && n < 62; i++)
        n += snprintf(out + n, (size_t)(64 - n), "%02x", mac[i]);
}

static bool nonce_valid(const Ccai_sip *s, const struct pl *nonce)
{
    char got[64], want[64];
    if (pl_strcpy(nonce, got, sizeof got) != 0)
        return false;
    char *dot = strchr(got, '.');
    if (!dot)
        return false;
    char *end = NULL;
    errno = 0;
    unsigned long long t = strtoull(got, &end, 16);
    if (end != dot || errno)
        return false;
    uint64_t now = (uint64_t)time(NULL);
    if (t > now || now - t > NONCE_TTL_S)
        return false;
    make_nonce(s, t, want);
    return strcmp(got, want) == 0;
}

/* Whether the INVITE carries our digest; otherwise answered 401 (or 403
 * for a wrong user or password, logged). */
static bool caller_authenticated(Ccai_sip *s, const struct sip_msg *msg, const char *peer)
{
    if (!s->in_password || !*s->in_password)
        return true;
    const struct sip_hdr *h = sip_msg_hdr(msg, SIP_HDR_AUTHORIZATION);
    struct httpauth_digest_resp resp;
    if (h && httpauth_digest_response_decode(&resp, &h->val) == 0 && nonce_valid(s, &resp.nonce)) {
        uint8_t ha1[16];
        const char *user = s->in_user && *s->in_user ? s->in_user : s->user;
        if (pl_strcmp(&resp.username, user) == 0 &&
            md5_printf(ha1, "%s:%r:%s", user, &resp.realm, s->in_password) == 0 &&
            httpauth_digest_response_auth(&resp, &msg->met, ha1) == 0)
            return true;
        s->refused++;
        Ccai_log(s->log, CCAI_LOG_WARN,
                 "sip: INVITE from %s (%s): wrong digest user or password: 403", peer, peer);
        if (sip_treply(NULL, s->sip, msg, 403, "Forbidden") != 0)
            Ccai_log(s->log, CCAI_LOG_WARN, "sip: cannot answer %s", peer);
        return false;
    }
    char nonce[64];
    make_nonce(s, (uint64_t)time(NULL), nonce);
    if (sip_treplyf(NULL, NULL, s->sip, msg, false, 401, "Unauthorized",
                    "WWW-Authenticate: Digest realm=\"" REALM "\", nonce=\"%s\", "
                    "algorithm=MD5\r\nContent-Length: 0\r\n\r\n",
                    nonce) != 0)
        Ccai_log(s->log, CCAI_LOG_WARN, "sip: cannot challenge %s", peer);
    return false;
}

/* Numbers and URIs ------------------------------------------------------------ */

void Ccai_sip_party_number(const struct pl *user, const struct pl *auri, char out[20])
{
    size_t digits = 0;
    bool number = user && user->l > 0 && user->l < 17;
    for (size_t i = 0; number && i < user->l; i++) {
        char ch = user->p[i];
        if (ch >= '0' && ch <= '9')
            digits++;
        else if (!(i == 0 && ch == '+'))
            number = false;
    }
    if (number && digits >= 7 && digits <= 15) {
        snprintf(out, 20, "+%.*s", (int)digits, user->p + (user->p[0] == '+'));
        return;
    }
    /* +999: a country code ITU keeps unassigned; one number per URI, so
     * that a caller ringing back finds its earlier call. */
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; auri && i < auri->l; i++)
        h = (h ^ (uint8_t)auri->p[i]) * 1099511628211ull;
    snprintf(out, 20, "+999%012llu", (unsigned long long)(h % 1000000000000ull));
}

bool Ccai_sip_target_uri(const Ccai_sip *s, const char *number, char *out, size_t cap)
{
    int n;
    if (!number || !*number)
        return false;
    if (!strncmp(number, "sip:", 4) || !strncmp(number, "sips:", 5))
        n = snprintf(out, cap, "%s", number);
    else if (s->trunk_host[0])
        n = snprintf(out, cap, "sip:%s@%s", number, s->trunk_host);
    else
        return false;
    return n > 0 && (size_t)n < cap;
}

int Ccai_sip_auth(char **username, char **password, const char *realm, void *arg)
{
    CCAI_UNUSED(realm);
    Ccai_sip *s = arg;
    if (!s->username || !*s->username || !s->password)
        return EAUTH;
    int err = str_dup(username, s->username);
    err |= str_dup(password, s->password);
    return err;
}

/* Inbound --------------------------------------------------------------------- */

static void on_invite(const struct sip_msg *msg, void *arg)
{
    Ccai_sip *s = arg;
    char peer[64];
    /* The registrar's calls to the Contact it holds come from where its
     * answers came from: let in without a sip.allow entry (a provider's
     * public address is no private network). */
    bool from_registrar = s->registrar_seen && sa_cmp(&msg->src, &s->registrar_src, SA_ADDR);
    if (!Ccai_sip_peer_allowed(s, &msg->src, peer, sizeof peer) && !from_registrar) {
        s->refused++;
        Ccai_log(s->log, CCAI_LOG_WARN, "sip: refused an INVITE from %s: not in sip.allow%s: 403",
                 peer,
                 Ccai_config_str(s->cfg, "sip.allow") && *Ccai_config_str(s->cfg, "sip.allow")
                     ? ""
                     : " (unset: loopback and private networks only)");
        if (sip_treply(NULL, s->sip, msg, 403, "Forbidden") != 0)
            Ccai_log(s->log, CCAI_LOG_WARN, "sip: cannot answer %s", peer);
        return;
    }
    if (!caller_authenticated(s, msg, peer))
        return;
    Ccai_sip_invite(s, msg);
}

/* REGISTER ---------------------------------------------------------------------- */

static void on_registered(int err, const struct sip_msg *msg, void *arg)
{
    Ccai_sip *s = arg;
    const char *reg = Ccai_config_str(s->cfg, "sip.registrar");
    if (err) {
        s->registered = false;
        Ccai_log(s->log, CCAI_LOG_WARN, "sip: REGISTER at %s failed: %s (retried)", reg,
                 strerror(err));
        return;
    }
    if (msg->scode >= 300) {
        s->registered = false;
        char reason[64];
        if (pl_strcpy(&msg->reason, reason, sizeof reason) != 0)
            reason[0] = '\0';
        Ccai_log(s->log, CCAI_LOG_WARN, "sip: REGISTER at %s refused: %u %s (retried)", reg,
                 (unsigned)msg->scode, reason);
        return;
    }
    if (msg->scode >= 200) {
        s->registrar_src = msg->src;
        s->registrar_seen = true;
        if (!s->registered)
            Ccai_log(s->log, CCAI_LOG_INFO, "sip: registered at %s", reg);
        s->registered = true;
    }
}

static CCAI_MUST_CHECK ccai_status start_register(Ccai_sip *s)
{
    const char *reg = Ccai_config_str(s->cfg, "sip.registrar");
    if (!reg || !*reg)
        return CCAI_OK;
    struct pl pl;
    struct uri u;
    pl_set_str(&pl, reg);
    if (strncmp(reg, "sip:", 4) != 0 || uri_decode(&u, &pl) != 0) {
        Ccai_ctx_set_error(s->ctx, "sip.registrar: \"%s\" is not a sip: URI", reg);
        return CCAI_ERR_CONFIG;
    }
    char aor[320];
    const char *user = s->username && *s->username ? s->username : s->user;
    re_snprintf(aor, sizeof aor, "sip:%s@%r", user, &u.host);
    if (!s->trunk_host[0])
        re_snprintf(s->trunk_host, sizeof s->trunk_host, "%r", &u.host);
    int err = sipreg_register(&s->reg, s->sip, reg, aor, NULL, aor, REGISTER_EXPIRES_S, s->user,
                              NULL, 0, 0, Ccai_sip_auth, s, false, on_registered, s, NULL, NULL);
    if (err) {
        Ccai_ctx_set_error(s->ctx, "sip: cannot REGISTER at %s: %s", reg, strerror(err));
        return CCAI_ERR_CONFIG;
    }
    return CCAI_OK;
}

/* Life of the channel ------------------------------------------------------------ */

static CCAI_MUST_CHECK ccai_status read_codecs(Ccai_sip *s, const char *list)
{
    s->pcmu = s->pcma = false;
    bool first = true;
    for (const char *p = list ? list : "PCMU,PCMA"; *p;) {
        p += strspn(p, " ,\t");
        size_t n = strcspn(p, " ,\t");
        if (!n)
            break;
        if (n == 4 && !strncasecmp(p, "PCMU", 4)) {
            s->pcmu = true;
        } else if (n == 4 && !strncasecmp(p, "PCMA", 4)) {
            s->pcma = true;
            s->pcma_first = first;
        } else {
            Ccai_ctx_set_error(s->ctx, "sip.codecs: \"%.*s\" is not PCMU or PCMA",
                               (int)(n > 32 ? 32 : n), p);
            return CCAI_ERR_CONFIG;
        }
        first = false;
        p += n;
    }
    if (!s->pcmu && !s->pcma) {
        Ccai_ctx_set_error(s->ctx, "sip.codecs: name PCMU, PCMA or both");
        return CCAI_ERR_CONFIG;
    }
    return CCAI_OK;
}

static CCAI_MUST_CHECK ccai_status read_ports(Ccai_sip *s, const char *range)
{
    unsigned lo = 0, hi = 0;
    char extra;
    if (!range || sscanf(range, "%u-%u%c", &lo, &hi, &extra) != 2 || lo < 1024 || hi > 65534 ||
        lo >= hi) {
        Ccai_ctx_set_error(s->ctx,
                           "sip.rtp_ports: \"%s\" is not LOW-HIGH within 1024-65534 "
                           "(\"10000-20000\")",
                           range ? range : "");
        return CCAI_ERR_CONFIG;
    }
    s->rtp_lo = (uint16_t)(lo + (lo & 1)); /* RTP on even ports */
    s->rtp_hi = (uint16_t)hi;
    s->rtp_next = s->rtp_lo;
    return CCAI_OK;
}

static CCAI_MUST_CHECK ccai_status add_transports(Ccai_sip *s, const char *listen_at)
{
    if (sa_decode(&s->laddr, listen_at, strlen(listen_at)) != 0) {
        Ccai_ctx_set_error(s->ctx,
                           "sip.listen: \"%s\" is not HOST:PORT with a numeric host "
                           "(\"127.0.0.1:5060\", \"[::1]:5060\", \"0.0.0.0:5060\")",
                           listen_at);
        return CCAI_ERR_CONFIG;
    }
    const char *tp = Ccai_config_str(s->cfg, "sip.transports");
    bool udp = !tp || strstr(tp, "udp"), tcp = !tp || strstr(tp, "tcp");
    if (!udp && !tcp) {
        Ccai_ctx_set_error(s->ctx, "sip.transports: \"%s\" names neither udp nor tcp", tp);
        return CCAI_ERR_CONFIG;
    }
    int err = 0;
    if (udp && (err = sip_transp_add(s->sip, SIP_TRANSP_UDP, &s->laddr)) != 0) {
        Ccai_ctx_set_error(s->ctx, "sip: UDP on %s: %s", listen_at, strerror(err));
        return CCAI_ERR_IO;
    }
    if (tcp && (err = sip_transp_add(s->sip, SIP_TRANSP_TCP, &s->laddr)) != 0) {
        Ccai_ctx_set_error(s->ctx, "sip: TCP on %s: %s", listen_at, strerror(err));
        return CCAI_ERR_IO;
    }
    const char *cert = Ccai_config_str(s->cfg, "sip.tls_cert");
    if (cert && *cert) {
        struct sa tls_addr = s->laddr;
        sa_set_port(&tls_addr, (uint16_t)(sa_port(&s->laddr) + 1));
        if ((err = tls_alloc(&s->tls, TLS_METHOD_SSLV23, cert, NULL)) != 0 ||
            (err = sip_transp_add(s->sip, SIP_TRANSP_TLS, &tls_addr, s->tls)) != 0) {
            Ccai_ctx_set_error(s->ctx, "sip: TLS on port %u with sip.tls_cert %s: %s",
                               (unsigned)sa_port(&tls_addr), cert, strerror(err));
            return CCAI_ERR_CONFIG;
        }
    }
    /* Port 0: the one UDP (or TCP) got, for the logs and the tests. */
    struct sa bound;
    if (sip_transp_laddr(s->sip, &bound, udp ? SIP_TRANSP_UDP : SIP_TRANSP_TCP, NULL) == 0 &&
        sa_port(&bound))
        sa_set_port(&s->laddr, sa_port(&bound));
    re_snprintf(s->listen_text, sizeof s->listen_text, "%J", &s->laddr);
    Ccai_log(s->log, CCAI_LOG_INFO, "sip: listening on %s (%s%s%s)", s->listen_text,
             udp ? "udp" : "",
             udp && tcp ? ", tcp"
             : tcp      ? "tcp"
                        : "",
             s->tls ? ", tls on the next port" : "");
    return CCAI_OK;
}

static void sip_free(void *state);

static CCAI_MUST_CHECK ccai_status sip_init(const Ccai_channel_env *env, void **ret_state)
{
    Ccai_sip *s = Ccai_calloc(1, sizeof *s);
    if (!s)
        return CCAI_ERR_NOMEM;
    s->ctx = env->ctx;
    s->cfg = env->cfg;
    s->log = env->log;
    Ccai_timer_init(&s->resume_timer, NULL, NULL);
    *ret_state = s;
    const char *listen_at = Ccai_config_str(env->cfg, "sip.listen");
    if (!listen_at || !*listen_at)
        return CCAI_OK;
    if (!Ccai_libre_drives(env->ctx)) {
        Ccai_ctx_set_error(env->ctx,
                           "sip.listen is set but this context does not run on libre's loop: "
                           "make it with ccai_ctx_new_libre() and run re_main()%s",
#ifdef CCAI_HAVE_SIP
                           ""
#else
                           " (and build libccai with libre: Debian libre-dev)"
#endif
        );
        *ret_state = NULL;
        ccai_free(s);
        return CCAI_ERR_CONFIG;
    }
    s->user = Ccai_config_str(env->cfg, "sip.user");
    if (!s->user || !*s->user)
        s->user = "bot";
    s->username = Ccai_config_str(env->cfg, "sip.username");
    s->password = Ccai_config_str(env->cfg, "sip.password");
    s->trunk = Ccai_config_str(env->cfg, "sip.trunk");
    s->agent_uri = Ccai_config_str(env->cfg, "sip.agent_uri");
    s->in_user = Ccai_config_str(env->cfg, "sip.auth_user");
    s->in_password = Ccai_config_str(env->cfg, "sip.auth_password");
    s->rtp_timeout_ms = (uint32_t)Ccai_config_int(env->cfg, "sip.rtp_timeout_sec", 30) * 1000u;
    ccai_status st = read_allow(s, Ccai_config_str(env->cfg, "sip.allow"));
    if (st == CCAI_OK)
        st = read_codecs(s, Ccai_config_str(env->cfg, "sip.codecs"));
    if (st == CCAI_OK)
        st = read_ports(s, Ccai_config_str(env->cfg, "sip.rtp_ports"));
    if (st == CCAI_OK && !Ccai_random_bytes(s->nonce_key, sizeof s->nonce_key))
        st = CCAI_ERR_INTERNAL;
    if (st == CCAI_OK && s->trunk && *s->trunk) {
        struct pl pl;
        struct uri u;
        pl_set_str(&pl, s->trunk);
        if (strncmp(s->trunk, "sip:", 4) != 0 || uri_decode(&u, &pl) != 0) {
            Ccai_ctx_set_error(s->ctx, "sip.trunk: \"%s\" is not a sip: URI", s->trunk);
            st = CCAI_ERR_CONFIG;
        } else if (u.port) {
            re_snprintf(s->trunk_host, sizeof s->trunk_host, "%r:%u", &u.host, u.port);
        } else {
            re_snprintf(s->trunk_host, sizeof s->trunk_host, "%r", &u.host);
        }
    }
    if (st == CCAI_OK) {
        /* Names in the trunk's and the registrar's URIs need DNS; numeric
         * addresses do not (loopback tests, a PBX on the LAN). */
        struct sa ns[4];
        uint32_t nn = CCAI_ARRAY_SIZE(ns);
        char domain[64] = "";
        if (dns_srv_get(domain, sizeof domain, ns, &nn) != 0 ||
            dnsc_alloc(&s->dnsc, NULL, ns, nn) != 0)
            Ccai_log(s->log, CCAI_LOG_WARN,
                     "sip: no DNS resolver (/etc/resolv.conf): numeric addresses only");
        int err = sip_alloc(&s->sip, s->dnsc, 32, 32, 32, "libccai", NULL, NULL);
        if (err) {
            Ccai_ctx_set_error(s->ctx, "sip: cannot start the SIP stack: %s", strerror(err));
            st = CCAI_ERR_NOMEM;
        }
    }
    if (st == CCAI_OK)
        st = add_transports(s, listen_at);
    /* Our listener first: the in-dialog requests of the calls taken back
     * after a restart (libre's session layer knows nothing of them). */
    if (st == CCAI_OK && (sip_listen(&s->lsnr, s->sip, true, Ccai_sip_dialog_request, s) != 0 ||
                          sipsess_listen(&s->sock, s->sip, 32, on_invite, s) != 0 ||
                          sipevent_listen(&s->evsock, s->sip, 32, 32, NULL, NULL) != 0)) {
        Ccai_ctx_set_error(s->ctx, "sip: cannot take calls: out of memory");
        st = CCAI_ERR_NOMEM;
    }
    if (st == CCAI_OK)
        st = start_register(s);
    if (st != CCAI_OK) {
        sip_free(s);
        *ret_state = NULL;
        return st;
    }
    Ccai_sip_take_back_all(s);
    return CCAI_OK;
}

/* The context goes: each live call's session is dropped (BYE), the
 * stack closes. A call the peer keeps after a crash (no BYE went) is taken
 * back by the next process on the same address (sip_dialog.c). */
static void sip_free(void *state)
{
    Ccai_sip *s = state;
    if (!s)
        return;
    Ccai_timer_stop(s->ctx, &s->resume_timer);
    while (s->calls)
        Ccai_sip_call_free(s->calls);
    s->reg = mem_deref(s->reg);
    s->evsock = mem_deref(s->evsock);
    s->sock = mem_deref(s->sock);
    s->lsnr = mem_deref(s->lsnr);
    if (s->sip)
        sip_close(s->sip, true);
    s->sip = mem_deref(s->sip);
    s->tls = mem_deref(s->tls);
    s->dnsc = mem_deref(s->dnsc);
    ccai_free(s);
}

static bool sip_configured(const void *state)
{
    const Ccai_sip *s = state;
    return s && s->sip;
}

static CCAI_MUST_CHECK ccai_status sip_place_call(void *state, const char *initiate_json,
                                                  const char *to, char **ret_call_id)
{
    Ccai_sip *s = state;
    if (!s || !s->sip)
        return CCAI_ERR_UNSUPPORTED;
    return Ccai_sip_place(s, initiate_json, to, ret_call_id);
}

static void sip_readiness(const void *state, json_t *checks, bool *ok)
{
    const Ccai_sip *s = state;
    if (!s || !s->sip)
        return;
    const char *reg = Ccai_config_str(s->cfg, "sip.registrar");
    bool want_reg = reg && *reg;
    char detail[160];
    snprintf(detail, sizeof detail, "%s%s%s", s->listen_text,
             want_reg ? (s->registered ? ", registered at " : ", not registered at ") : "",
             want_reg ? reg : "");
    bool fine = !want_reg || s->registered;
    json_t *c = Ccai_channel_check("sip", fine ? "ok" : "fail", detail);
    if (!c || json_array_append_new(checks, c) != 0 || !fine)
        *ok = false;
}

const Ccai_channel_class Ccai_sip_channel = {
    .name = CCAI_SIP_CHANNEL,
    .caps = CCAI_CHANNEL_CALLS_OUT | CCAI_CHANNEL_TRANSFER | CCAI_CHANNEL_RECORDING,
    .init = sip_init,
    .free = sip_free,
    .telephony = {"sip", NULL},
    .configured = sip_configured,
    .place_call = sip_place_call,
    .setup = "set sip.listen, and sip.trunk (or sip.registrar) to dial numbers",
    .readiness = sip_readiness,
};
