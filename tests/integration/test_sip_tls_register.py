#!/usr/bin/env python3
"""ccai-server's SIP channel over TLS, and registered at a registrar.

  tls        sip.tls_cert names a self-signed certificate made here with
             openssl: baresip (Debian baresip-core, its sip_cafile the same
             certificate) dials sip:bot@host:PORT+1;transport=tls, hears
             the greeting; the silent caller gets the bot's BYE over the
             TLS connection
  register   a registrar in this file that behaves as RFC 3261 §10.3 and
             RFC 2617 say: REGISTER without credentials: 401 with a
             Digest challenge (qop=auth); with them, an interval below its
             minimum: 423 Interval Too Brief with Min-Expires; then 200
             listing every binding of the address of record (ours with the
             lifetime it grants, shorter than asked, and another phone's).
             The bot re-REGISTERs before the binding expires (same Call-ID,
             CSeq up) and answers each fresh challenge (a replayed nonce
             count would get 401 stale=true). An INVITE from the registrar to
             the registered Contact is answered (200 with SDP) though
             sip.allow does not list the registrar; one from an address
             sip.allow does not list is refused (403); the registrar's BYE
             ends the call

Usage: test_sip_tls_register.py BUILD_DIR. TAP; exit 77 (skip) as
test_sip_baresip.py.
"""
import hashlib
import json
import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_sip_baresip as h  # noqa: E402  (skips when baresip is missing)
from test_sip_baresip import Phone, Server, free_port, msgs, ok, wav  # noqa: E402

TMP = h.TMP


def certificate(name):
    """A self-signed certificate for 127.0.0.1: (PEM with the key, PEM of
    the certificate alone)."""
    key, crt = os.path.join(TMP, name + ".key"), os.path.join(TMP, name + ".crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", crt, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
                    "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    pem = os.path.join(TMP, name + ".pem")
    with open(pem, "w") as f:
        f.write(open(crt).read() + open(key).read())
    return pem, crt


def tls(db, silence):
    """A call over TLS from baresip, with a certificate the test makes."""
    pem, crt = certificate("bot")
    phone_pem, phone_crt = certificate("phone")
    sip_port = free_port(span=2)
    srv = Server(sip_port, "sip:agent@127.0.0.1:9", db, silence_s=3,
                 sip_extra=f"  tls_cert: {pem}\n")
    ok("tls on the next port" in srv.text(), "sip.tls_cert: TLS on sip.listen's port + 1")
    # The phone's own certificate: the bot's BYE opens a TLS connection to
    # the phone's Contact (RFC 3261 §12.2: requests go to the remote
    # target; libre 1.1.0 does not reuse the caller's connection, RFC 5923).
    p = Phone("tls-caller", "tina", silence,
              config=f"sip_cafile {crt}\nsip_certificate {phone_pem}\n")
    p.cmd("dial", f"sip:bot@127.0.0.1:{sip_port + 1};transport=tls")
    p.wait_event("CALL_ESTABLISHED", 15)
    c = srv.call(lambda c: msgs(c, "assistant", "talk"), 15, "the greeting")
    ok(c["channel"] == "sip" and "established over TLS" in srv.text(),
       "baresip's INVITE over TLS is answered, the call is stored")
    closed = p.wait_event("CALL_CLOSED", 60)
    c = srv.call(lambda c: not c["in_progress"], 10, "the end")
    ok(c["end_reason"] == "the bot hung up" and "bot@" in closed.get("peeruri", ""),
       "a silent caller: the bot's BYE reaches baresip over TLS: " + str(c["end_reason"]))
    words, hits = p.heard(["hello", "contoso", "claim", "questions", "city", "happened"])
    print("# baresip heard over TLS-signalled RTP: %s" % words)
    ok(hits >= 2, "the greeting is recognised from baresip's recording (%d key words)" % hits)
    p.stop()
    srv.kill()


def md5(text):
    return hashlib.md5(text.encode()).hexdigest()


def header(req, *names):
    for line in req.split("\r\n")[1:]:
        if not line:
            break
        k, _, v = line.partition(":")
        if k.strip().lower() in names:
            return v.strip()
    return None


class Registrar:
    """A registrar (RFC 3261 §10.3) with digest (RFC 2617, qop=auth) on UDP,
    in a thread; what it saw in self.log, other messages in self.inbox."""

    def __init__(self, user, password, realm="pbx.test", min_expires=900, grant=3,
                 nonce_uses=3):
        self.user, self.password, self.realm = user, password, realm
        self.min_expires, self.grant, self.nonce_uses = min_expires, grant, nonce_uses
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind(("127.0.0.1", 0))
        self.port = self.s.getsockname()[1]
        self.nonces = {}  # nonce -> [uses, highest nc]
        self.new_nonce()
        self.log = []  # (time, what, request)
        self.contact = None  # the bot's binding: (URI, until)
        self.inbox = queue.Queue()
        self.stop = False
        self.t = threading.Thread(target=self.serve, daemon=True)
        self.t.start()

    def new_nonce(self):
        self.nonce = "r%x" % int(time.time() * 1e6)
        self.nonces[self.nonce] = [0, 0]

    def reply(self, req, addr, code, extra=""):
        heads = [l for l in req.split("\r\n")[1:]
                 if l.split(":", 1)[0].strip().lower() in ("via", "v", "from", "f", "to", "t",
                                                          "call-id", "i", "cseq")]
        heads = [x + (";tag=reg" if x.lower().startswith(("to:", "t:")) and "tag=" not in x
                      else "") for x in heads]
        self.s.sendto(("SIP/2.0 %s\r\n" % code + "\r\n".join(heads) + "\r\n" + extra +
                       "Content-Length: 0\r\n\r\n").encode(), addr)

    def challenge(self, req, addr, stale=False):
        self.new_nonce()  # a fresh nonce each challenge, as Asterisk and Kamailio do
        self.reply(req, addr, "401 Unauthorized",
                   f'WWW-Authenticate: Digest realm="{self.realm}", nonce="{self.nonce}", '
                   f'qop="auth", algorithm=MD5{", stale=true" if stale else ""}\r\n')

    def register(self, req, addr):
        auth = header(req, "authorization")
        if not auth:
            self.log.append((time.time(), "401", req))
            return self.challenge(req, addr)
        f = dict((k, v.strip('"')) for k, v in
                 re.findall(r'(\w+)=("[^"]*"|[^,\s]+)', auth.split(" ", 1)[1]))
        ha1 = md5(f"{self.user}:{self.realm}:{self.password}")
        ha2 = md5(f"REGISTER:{f.get('uri', '')}")
        want = md5(f"{ha1}:{f.get('nonce')}:{f.get('nc')}:{f.get('cnonce')}:auth:{ha2}")
        if (f.get("username") != self.user or f.get("realm") != self.realm or
                f.get("qop") != "auth" or f.get("response") != want):
            self.log.append((time.time(), "403", req))
            return self.reply(req, addr, "403 Forbidden")
        state = self.nonces.get(f.get("nonce"))
        nc = int(f.get("nc", "0"), 16)
        if (not state or f.get("nonce") != self.nonce or state[0] >= self.nonce_uses or
                nc <= state[1]):
            # A nonce of ours, right credentials, but old (or replayed):
            # RFC 2617 §3.2.1 stale=true, a fresh one.
            self.log.append((time.time(), "401 stale", req))
            return self.challenge(req, addr, stale=True)
        state[0] += 1
        state[1] = nc
        contact = header(req, "contact", "m")
        m = re.match(r"\s*<([^>]+)>(.*)", contact or "")
        if not m:
            self.log.append((time.time(), "400", req))
            return self.reply(req, addr, "400 Bad Request")
        uri, params = m.group(1), m.group(2)
        e = re.search(r";\s*expires=(\d+)", params)
        expires = int(e.group(1)) if e else int(header(req, "expires") or 3600)
        if 0 < expires < self.min_expires:
            self.log.append((time.time(), "423", req))
            return self.reply(req, addr, "423 Interval Too Brief",
                              f"Min-Expires: {self.min_expires}\r\n")
        if expires == 0:
            self.contact = None
            self.log.append((time.time(), "200 removed", req))
            return self.reply(req, addr, "200 OK")
        # RFC 3261 §10.3 step 7: the registrar may choose a shorter
        # expiration than asked; the 200 lists all the AOR's bindings.
        self.contact = (uri, time.time() + self.grant)
        self.log.append((time.time(), "200", req))
        self.reply(req, addr, "200 OK",
                   f"Contact: <{uri}>;expires={self.grant}\r\n"
                   "Contact: <sip:desk@192.0.2.7:5060>;expires=3400\r\n"
                   f"Date: {time.strftime('%a, %d %b %Y %H:%M:%S GMT', time.gmtime())}\r\n")

    def serve(self):
        self.s.settimeout(0.2)
        while not self.stop:
            try:
                d, addr = self.s.recvfrom(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            msg = d.decode(errors="replace")
            if msg.startswith("REGISTER "):
                self.register(msg, addr)
            else:
                self.inbox.put(msg)

    def await_msg(self, pred, timeout):
        end = time.time() + timeout
        while time.time() < end:
            try:
                m = self.inbox.get(timeout=max(0.05, end - time.time()))
            except queue.Empty:
                break
            if pred(m):
                return m
        raise AssertionError("registrar: nothing expected came")


def invite(sock, target, callid, aor, media_port):
    """An INVITE as a registrar (a proxy) sends it to a registered Contact."""
    me = sock.getsockname()
    body = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            f"m=audio {media_port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
            "a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n")
    branch = "z9hG4bK%x" % int(time.time() * 1e6)
    head = (f"Via: SIP/2.0/UDP {me[0]}:{me[1]};branch={branch}\r\n"
            "Max-Forwards: 69\r\n"
            f"From: <sip:+33699999999@pbx.test>;tag=pbx{me[1]}\r\n"
            f"To: <{aor}>\r\n"
            f"Call-ID: {callid}\r\n")
    hp = re.match(r"sips?:[^@]+@([^:;>]+):?(\d*)", target)
    dest = (hp.group(1), int(hp.group(2) or 5060))
    sock.sendto((f"INVITE {target} SIP/2.0\r\n" + head + "CSeq: 1 INVITE\r\n"
                 f"Contact: <sip:pbx@{me[0]}:{me[1]}>\r\n"
                 f"Content-Type: application/sdp\r\nContent-Length: {len(body)}\r\n\r\n" +
                 body).encode(), dest)
    return head, dest


def register(db):
    """REGISTER at a registrar with digest; its INVITE answered."""
    reg = Registrar("ccai-pbx", "pbx-s3cret")
    sip_port = free_port(span=2)
    extra = (f"  registrar: sip:127.0.0.1:{reg.port}\n"
             "  username: ccai-pbx\n  password: pbx-s3cret\n"
             "  allow: 10.0.0.0/8\n")
    srv = Server(sip_port, "sip:agent@127.0.0.1:9", db, sip_extra=extra)
    end = time.time() + 30
    while time.time() < end and sum(1 for x in reg.log if x[1] == "200") < 3:
        time.sleep(0.2)
    seen = [x[1] for x in reg.log]
    print("# the registrar answered: %s" % ", ".join(seen))
    ok(seen[:3] == ["401", "423", "200"],
       "REGISTER: 401 (challenge), with digest 423 (Min-Expires 900), then 200")
    first, asked = reg.log[1][2], reg.log[2][2]
    ok(re.search(r";expires=600\b", header(first, "contact", "m") or "") and
       re.search(r";expires=900\b", header(asked, "contact", "m") or "") and
       (header(asked, "contact", "m") or "").startswith(f"<sip:bot@127.0.0.1:{sip_port}>"),
       "after 423 the bot asks for Min-Expires (900 s), its Contact the sip.listen address")
    oks = [x for x in reg.log if x[1] == "200"]
    gaps = [b[0] - a[0] for a, b in zip(oks, oks[1:])]
    cids = {header(x[2], "call-id", "i") for x in reg.log}
    cseqs = [int(header(x[2], "cseq").split()[0]) for x in reg.log]
    print("# refreshes after %s s (granted %d s)" % (["%.1f" % g for g in gaps], reg.grant))
    ok(len(oks) >= 3 and all(g < reg.grant for g in gaps),
       "the bot re-REGISTERs before the granted 3 s run out (the 200's Contact expires)")
    ok(len(cids) == 1 and cseqs == sorted(set(cseqs)),
       "one Call-ID for all its REGISTERs, CSeq going up (RFC 3261 §10.2.4)")
    seen = [x[1] for x in reg.log]
    ok(all(a == "401" and b == "200" for a, b in zip(seen[3::2], seen[4::2])),
       "each refresh answers the registrar's fresh challenge (401 with a new nonce): 200")
    with urllib.request.urlopen(f"http://localhost:{srv.http}/health/readiness") as r:
        ready = json.load(r)
    sip = [c for c in ready.get("checks", []) if c.get("id") == "sip"]
    ok(sip and sip[0].get("status") == "ok" and "registered at" in sip[0].get("detail", ""),
       "readiness: sip ok, registered: " + json.dumps(sip))

    # A stranger (127.0.0.2, not in sip.allow) is refused.
    s2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s2.bind(("127.0.0.2", 0))
    s2.settimeout(5)
    invite(s2, reg.contact[0], "stranger-%d@test" % os.getpid(), "sip:bot@pbx.test", 4002)
    d = s2.recv(65536).decode(errors="replace")
    while " 100 " in d.split("\r\n", 1)[0]:
        d = s2.recv(65536).decode(errors="replace")
    ok(d.startswith("SIP/2.0 403"), "an INVITE from outside sip.allow: " + d.split("\r\n")[0])
    s2.close()

    # The registrar's INVITE to the registered Contact is answered.
    cid = "from-pbx-%d@pbx.test" % os.getpid()
    head, dest = invite(reg.s, reg.contact[0], cid, "sip:ccai-pbx@pbx.test", 4000)
    ans = reg.await_msg(lambda m: m.startswith("SIP/2.0 2") and cid in m, 10)
    ok("m=audio" in ans and "PCMU" in ans,
       "the registrar's INVITE to the Contact it holds: 200 with an SDP answer")
    to = header(ans, "to", "t")
    ack_head = head.replace(header(head, "to", "t"), to)
    ack_head = re.sub(r"branch=z9hG4bK\w+", "branch=z9hG4bKack%d" % os.getpid(), ack_head)
    reg.s.sendto((f"ACK {reg.contact[0]} SIP/2.0\r\n" + ack_head +
                  "CSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n").encode(), dest)
    c = srv.call(lambda c: c["in_progress"] and c["channel"] == "sip", 10, "the call stored")
    ok(c["phone_number"] == "+33699999999", "the call is stored with the caller's number")
    time.sleep(2)
    bye_head = re.sub(r"branch=z9hG4bK\w+", "branch=z9hG4bKbye%d" % os.getpid(), ack_head)
    reg.s.sendto((f"BYE {reg.contact[0]} SIP/2.0\r\n" + bye_head +
                  "CSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n").encode(), dest)
    reg.await_msg(lambda m: m.startswith("SIP/2.0 200") and "BYE" in m, 10)
    c = srv.call(lambda c: not c["in_progress"], 10, "the end")
    ok(c["end_reason"] == "the caller hung up", "the registrar's BYE ends the call: " +
       str(c["end_reason"]))
    reg.stop = True
    srv.kill()


def main():
    silence = wav("silence", None, 200)
    db = os.path.join(TMP, "ccai.db")
    tls(db, silence)
    register(db)


if __name__ == "__main__":
    sys.exit(h.run(main))
