#!/usr/bin/env python3
"""Calls to ccai-server's SIP channel from baresip (Debian baresip-core), on
loopback, offline speech (pocketsphinx hears, flite speaks, the offline
dialogue answers).

baresip is the caller as a softphone is: headless, its own configuration in
a temporary directory, the caller's lines spoken by espeak-ng into WAV files
it plays (aufile, switched line by line over ctrl_tcp), what it hears
recorded (sndfile), driven over ctrl_tcp (dial, sndcode, hangup).

  call        greeting heard by baresip (pocketsphinx on its recording),
              the claim filled from the caller's words, a DTMF key (RFC
              4733), the caller hangs up (BYE)
  barge-in    the caller talks over the greeting: the voice layer stops
              it; then says nothing: the bot hangs up (BYE from us)
  transfer    the LLM stand-in (llm-standin) answers the caller's words
              with a talk_to_human tool call: the bot sends REFER to
              sip.agent_uri, the caller's baresip calls the agent (a second
              baresip, auto-answer) and NOTIFYs 200, the bot's leg ends as
              a transfer (a phone that refuses REFER: test_sip_bridge.py,
              the bot bridges the agent itself)
  take-back   ccai-server is killed (-9) mid-call and started again on the
              same address: it re-INVITEs baresip, says it is back, the
              claim is intact and the call goes on
  outbound    POST /call with telephony sip: through a trunk that asks for
              digest (a responder here checks the Authorization against
              RFC 2617, qop=auth, then answers 486: the call ends busy);
              through baresip as the trunk (auto-answer): it hears the
              greeting; stopped (SIGSTOP: no RTP), the bot hangs up after
              sip.rtp_timeout_sec (BYE)

Usage: test_sip_baresip.py BUILD_DIR. TAP on stdout; exit 77 (skip) only
when baresip, espeak-ng, sox or pocketsphinx's model is missing.
"""
import hashlib
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
SERVER = os.path.join(BUILD, "ccai-server", "ccai-server")
HEAR = os.path.join(BUILD, "tests", "integration", "cli-voice-hear")
LLM = os.path.join(BUILD, "tests", "llm-standin")
MODEL = "/usr/share/pocketsphinx/model/en-us/en-us/mdef"


def skip(why):
    print("1..0 # SKIP " + why)
    sys.exit(77)


for tool in ("baresip", "espeak-ng", "sox"):
    if not shutil.which(tool):
        skip(tool + " is not installed (Debian: baresip-core, espeak-ng, sox)")
if not os.path.exists(MODEL):
    skip("pocketsphinx's en-us model is not installed (pocketsphinx-en-us)")

TMP = tempfile.mkdtemp(prefix="ccai-sip-")
PROCS = []
USED = set()


def port_free(port):
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        finally:
            s.close()
    return True


# The SIP tests run in parallel and share free_port(): each script draws
# from its own slice of 20000-29999, so two of them never pick the same
# port in the time between one's check and its phone's or server's bind.
SCRIPTS = ("test_sip_baresip.py", "test_sip_tls_register.py", "test_sip_takeback_transfer.py",
           "test_sip_ivr.py", "test_sip_bridge.py")
SLICE = 10000 // len(SCRIPTS)


def port_slice():
    name = os.path.basename(sys.argv[0])
    i = SCRIPTS.index(name) if name in SCRIPTS else len(SCRIPTS) - 1
    return 20000 + i * SLICE, 20000 + (i + 1) * SLICE


def free_port(kind=None, span=1):
    """A port (the first of span) free for both UDP and TCP, drawn from
    this script's slice of 20000-29999 (port_slice()): below the kernel's
    ephemeral range (32768-60999), so no other test binding port 0 takes it
    between our checks, our restarts of ccai-server on the same address, or
    a phone's start; random and checked within the slice."""
    del kind
    lo, hi = port_slice()
    rng = random.Random(os.getpid() ^ int(time.time() * 1000))
    for _ in range(500):
        base = rng.randrange(lo, hi - span)
        if base in USED or not all(port_free(base + i) for i in range(span)):
            continue
        USED.update(range(base, base + span))
        return base
    raise AssertionError("no free port")


def wav(name, text, pad_s=60, speed=140):
    """text spoken by espeak-ng, 8 kHz mono s16, then pad_s of silence
    (baresip hangs up when its aufile ends)."""
    raw = os.path.join(TMP, name + "-raw.wav")
    out = os.path.join(TMP, name + ".wav")
    if text:
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", str(speed), "-w", raw, text], check=True)
        subprocess.run(["sox", raw, "-r", "8000", "-c", "1", "-b", "16", out, "pad", "0.3",
                        str(pad_s)], check=True)
    else:
        subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", out, "trim", "0",
                        str(pad_s)], check=True)
    return out


class Server:
    def __init__(self, sip_port, agent_uri, db, silence_s=20, llm_port=None, sip_extra=""):
        self.sip_port = sip_port
        llm = ""
        if llm_port:
            llm = f"""llm:
  fast:
    mode: openai_compatible
    endpoint: http://127.0.0.1:{llm_port}/v1
    model: standin
"""
        cfg = os.path.join(TMP, "config.yaml")
        with open(cfg, "w") as f:
            f.write(f"""server:
  listen: 127.0.0.1:0
database:
  sqlite:
    path: {db}
log:
  level: debug
sip:
  listen: 127.0.0.1:{sip_port}
  rtp_ports: 12000-12998
  agent_uri: "{agent_uri}"
{sip_extra}{llm}conversation:
  phone_silence_timeout_sec: {silence_s}
  initiate:
    agent_phone_number: "+33612345678"
    lang:
      default_short_code: en-US
    claim:
      - name: incident_city
        type: text
        description: the city where it happened
""")
        self.log_path = os.path.join(TMP, "server-%d.log" % len(PROCS))
        self.log = open(self.log_path, "w")
        self.p = subprocess.Popen([SERVER, "-c", cfg], stdout=subprocess.PIPE, stderr=self.log,
                                  env=dict(os.environ, CONFIG_YAML=""))
        PROCS.append(self.p)
        line = self.p.stdout.readline()
        if not line.strip().isdigit():
            raise AssertionError("ccai-server did not start: " + self.text()[-2000:])
        self.http = int(line)

    def text(self):
        with open(self.log_path) as f:
            return f.read()

    def calls(self):
        with urllib.request.urlopen(f"http://localhost:{self.http}/call") as r:
            return json.load(r)["calls"]

    def call(self, pred, timeout, what):
        end = time.time() + timeout
        while time.time() < end:
            cs = self.calls()
            if cs and pred(cs[0]):
                return cs[0]
            time.sleep(0.3)
        raise AssertionError("timed out waiting for " + what + ": " +
                             json.dumps(self.calls()[:1])[:2000])

    def post_call(self, body):
        req = urllib.request.Request(f"http://localhost:{self.http}/call",
                                     data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req) as r:
            return r.status, json.load(r)

    def kill(self):
        self.p.send_signal(signal.SIGKILL)
        self.p.wait()


class Phone:
    """A baresip instance driven over ctrl_tcp (netstring JSON)."""

    def __init__(self, name, user, source, answer="manual", account="", config=""):
        self.dir = os.path.join(TMP, name)
        self.rec = os.path.join(self.dir, "rec")
        os.makedirs(self.rec)
        self.sip_port = free_port(span=2)  # baresip's TLS, when it has it, on the next
        self.ctrl_port = free_port()
        rtp = free_port(span=41)
        with open(os.path.join(self.dir, "config"), "w") as f:
            f.write(f"""poll_method epoll
sip_listen 127.0.0.1:{self.sip_port}
net_interface 127.0.0.1
audio_source aufile,{source}
audio_player aubridge,nil
audio_alert aubridge,nil
audio_buffer 20-160
rtp_ports {rtp}-{rtp + 40}
rtcp_mux no
jitter_buffer_delay 5-10
module_path /usr/lib/baresip/modules
module g711.so
module aufile.so
module aubridge.so
module sndfile.so
module_tmp account.so
module_app menu.so
module_app ctrl_tcp.so
ctrl_tcp_listen 127.0.0.1:{self.ctrl_port}
snd_path {self.rec}
{config}""")
        with open(os.path.join(self.dir, "accounts"), "w") as f:
            f.write(f"<sip:{user}@127.0.0.1:{self.sip_port}>;regint=0;answermode={answer}{account}\n")
        self.log = open(os.path.join(self.dir, "log"), "w")
        self.p = subprocess.Popen(["baresip", "-4", "-f", self.dir, "-t", "300"],
                                  stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        PROCS.append(self.p)
        end = time.time() + 20
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", self.ctrl_port), 1)
                break
            except OSError:
                if time.time() > end or self.p.poll() is not None:
                    self.log.flush()
                    with open(os.path.join(self.dir, "log")) as f:
                        tail = f.read()[-1500:]
                    raise AssertionError("baresip %s: no control port %d (exit %s): %s" %
                                         (name, self.ctrl_port, self.p.poll(), tail))
                time.sleep(0.2)
        self.sock.settimeout(0.2)
        self.buf = b""
        self.events = []
        self.token = 0

    def pump(self):
        try:
            while True:
                d = self.sock.recv(65536)
                if not d:
                    break
                self.buf += d
        except (socket.timeout, BlockingIOError):
            pass
        while b":" in self.buf:
            n, rest = self.buf.split(b":", 1)
            n = int(n)
            if len(rest) < n + 1:
                break
            self.events.append(json.loads(rest[:n]))
            self.buf = rest[n + 1:]

    def cmd(self, command, params=""):
        self.token += 1
        body = json.dumps({"command": command, "params": params, "token": str(self.token)})
        self.sock.sendall(b"%d:%s," % (len(body), body.encode()))

    def wait_event(self, kind, timeout):
        end = time.time() + timeout
        while time.time() < end:
            self.pump()
            for e in self.events:
                if e.get("event") and e.get("type") == kind:
                    self.events.remove(e)
                    return e
            time.sleep(0.1)
        raise AssertionError("baresip: no %s within %d s" % (kind, timeout))

    def heard(self, keywords):
        """What pocketsphinx hears in the received audio, and how many of
        the key words."""
        files = sorted(f for f in os.listdir(self.rec) if f.endswith("-dec.wav"))
        assert files, "baresip recorded nothing"
        out = subprocess.run([HEAR, os.path.join(self.rec, files[-1]), "0", " ".join(keywords)],
                             capture_output=True, text=True).stdout
        heard = [l for l in out.splitlines() if l.startswith("heard ")]
        hits = [l for l in out.splitlines() if l.startswith("keywords ")]
        return (heard[0][6:] if heard else ""), (int(hits[0].split()[1]) if hits else 0)

    def stop(self):
        self.p.terminate()
        try:
            self.p.wait(5)
        except subprocess.TimeoutExpired:
            self.p.kill()


def raw_invite(port, media, extra=""):
    """One INVITE over UDP as a phone would send it, with @p media after the
    session lines; the first final answer's status line."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    me = s.getsockname()[1]
    body = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
            media)
    if media.startswith("this"):
        body = media
    cid = "%d-%f@test" % (me, time.time())
    msg = (f"INVITE sip:bot@127.0.0.1:{port} SIP/2.0\r\n"
           f"Via: SIP/2.0/UDP 127.0.0.1:{me};branch=z9hG4bK{me}{int(time.time() * 1000)}\r\n"
           "Max-Forwards: 70\r\n"
           f"From: <sip:raw@127.0.0.1:{me}>;tag=raw{me}\r\n"
           f"To: <sip:bot@127.0.0.1:{port}>\r\n"
           f"Call-ID: {cid}\r\nCSeq: 1 INVITE\r\n"
           f"Contact: <sip:raw@127.0.0.1:{me}>\r\n" + extra +
           f"Content-Type: application/sdp\r\nContent-Length: {len(body)}\r\n\r\n" + body)
    s.sendto(msg.encode(), ("127.0.0.1", port))
    s.settimeout(5)
    try:
        while True:
            d = s.recv(65536).decode(errors="replace")
            code = int(d.split(" ", 2)[1])
            if code >= 200:
                ack = (f"ACK sip:bot@127.0.0.1:{port} SIP/2.0\r\n" +
                       msg.split("\r\n", 1)[1].split("Contact:")[0].replace(
                           "CSeq: 1 INVITE", "CSeq: 1 ACK") + "Content-Length: 0\r\n\r\n")
                s.sendto(ack.encode(), ("127.0.0.1", port))
                return d.split("\r\n", 1)[0]
    except socket.timeout:
        return ""
    finally:
        s.close()


class Trunk:
    """A SIP trunk that asks for digest (RFC 2617, qop=auth, as providers'
    trunks do): INVITE without credentials: 401 with a challenge; with
    them: the response checked against RFC 2617's computation, then 486
    Busy Here (the callee's line is busy)."""

    def __init__(self, user, password, realm="trunk.test"):
        self.user, self.password, self.realm = user, password, realm
        self.nonce = "n%x" % int(time.time() * 1e6)
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind(("127.0.0.1", 0))
        self.port = self.s.getsockname()[1]
        self.invites = []  # (Authorization or None, request URI, verdict)

    @staticmethod
    def md5(text):
        return hashlib.md5(text.encode()).hexdigest()

    def check(self, auth, method):
        f = dict((k, v.strip('"')) for k, v in
                 re.findall(r'(\w+)=("[^"]*"|[^,\s]+)', auth.split(" ", 1)[1]))
        ha1 = self.md5(f"{self.user}:{self.realm}:{self.password}")
        ha2 = self.md5(f"{method}:{f.get('uri', '')}")
        if f.get("qop") == "auth":
            want = self.md5(f"{ha1}:{f.get('nonce')}:{f.get('nc')}:{f.get('cnonce')}:auth:{ha2}")
        else:
            want = self.md5(f"{ha1}:{f.get('nonce')}:{ha2}")
        return (f.get("username") == self.user and f.get("realm") == self.realm and
                f.get("nonce") == self.nonce and f.get("response") == want, f)

    def reply(self, req, addr, code, extra=""):
        heads = [l for l in req.split("\r\n")[1:]
                 if l.split(":", 1)[0].strip().lower() in ("via", "v", "from", "f", "to", "t",
                                                          "call-id", "i", "cseq")]
        heads = [h + (";tag=trunk" if h.lower().startswith(("to:", "t:")) and "tag=" not in h
                      else "") for h in heads]
        msg = ("SIP/2.0 %s\r\n" % code + "\r\n".join(heads) + "\r\n" + extra +
               "Content-Length: 0\r\n\r\n")
        self.s.sendto(msg.encode(), addr)

    def serve(self, until):
        self.s.settimeout(0.2)
        while time.time() < until:
            try:
                d, addr = self.s.recvfrom(65536)
            except socket.timeout:
                continue
            req = d.decode(errors="replace")
            if not req.startswith("INVITE "):
                continue  # the ACKs of our answers
            auth = re.search(r"^(?:Authorization|Proxy-Authorization):\s*(.*)$", req,
                             re.M | re.I)
            uri = req.split(" ")[1]
            if not auth:
                self.invites.append((None, uri, None))
                self.reply(req, addr, "401 Unauthorized",
                           f'WWW-Authenticate: Digest realm="{self.realm}", '
                           f'nonce="{self.nonce}", qop="auth", algorithm=MD5\r\n')
                continue
            good, fields = self.check(auth.group(1).strip(), "INVITE")
            self.invites.append((fields, uri, good))
            self.reply(req, addr, "486 Busy Here" if good else "403 Forbidden")
            return


def msgs(call, persona, action):
    return [m.get("content") for m in call["messages"]
            if m["persona"] == persona and m["action"] == action]


N = 0


def ok(cond, what):
    global N
    N += 1
    print(("ok %d - " if cond else "not ok %d - ") % N + what, flush=True)
    if not cond:
        raise AssertionError(what)


def transfer(srv, sip_port, db, silence, city):
    """3. Transfer: the LLM stand-in answers the caller's words with a
    talk_to_human tool call (no recogniser has to hear "agent"); the bot
    REFERs the caller's baresip to sip.agent_uri, a second baresip that
    answers by itself; baresip calls it, NOTIFYs 200, and the bot ends
    its leg."""
    srv.kill()
    script = os.path.join(TMP, "llm.jsonl")
    with open(script, "w") as f:
        f.write(json.dumps({"kind": "tool_calls",
                            "tool_calls": [{"name": "talk_to_human", "arguments": "{}"}]}) + "\n")
    llm_log = open(os.path.join(TMP, "llm.log"), "w")
    llm = subprocess.Popen([LLM, "--script", script, "--cycle"], stdout=subprocess.PIPE,
                           stderr=llm_log)
    PROCS.append(llm)
    llm_port = int(llm.stdout.readline())
    agent = Phone("agent", "agent", silence, answer="auto")
    agent_uri = f"sip:agent@127.0.0.1:{agent.sip_port}"
    srv = Server(sip_port, agent_uri, db, llm_port=llm_port)
    t = Phone("caller3", "carol", silence)
    t.cmd("dial", f"sip:bot@127.0.0.1:{sip_port}")
    t.wait_event("CALL_ESTABLISHED", 10)
    time.sleep(8)
    t.cmd("ausrc", "aufile," + city)
    e = agent.wait_event("CALL_ESTABLISHED", 60)
    ok("carol@" in e.get("peeruri", ""),
       "the agent's baresip answers a call from the caller's: " + e.get("peeruri", ""))
    c = srv.call(lambda c: not c["in_progress"], 20, "the end of the bot's leg")
    ok("REFER to " + agent_uri in srv.text() and "transferred to " + agent_uri in srv.text(),
       "the bot sent REFER and baresip's NOTIFY said 200")
    ok(c["end_reason"] == "transfer" and msgs(c, "human", "talk"),
       "the caller spoke, the bot's leg ends as a transfer: " + str(c["end_reason"]))
    t.pump()
    ok(any(x.get("type") == "CALL_ESTABLISHED" and "agent@" in x.get("peeruri", "")
           for x in t.events), "the caller's baresip is connected to the agent")
    t.cmd("hangup")
    agent.wait_event("CALL_CLOSED", 10)
    t.stop()
    agent.stop()
    srv.kill()
    return Server(sip_port, "sip:agent@127.0.0.1:9", db)


def outbound(srv, sip_port, db, silence):
    """5. Outbound calls (POST /call, telephony sip) through sip.trunk:
    digest on the trunk, baresip answering and hearing the greeting, then
    going silent on the network (no RTP): the bot hangs up."""
    srv.kill()
    # Digest asked by the trunk; the callee busy.
    # The trunk's own check first, on RFC 2617 section 3.5's example.
    rfc = Trunk("Mufasa", "Circle Of Life", "testrealm@host.com")
    rfc.nonce = "dcd98b7102dd2f0e8b11d0f600bfb0c093"
    ok(rfc.check('Digest username="Mufasa", realm="testrealm@host.com", '
                 'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", '
                 'qop=auth, nc=00000001, cnonce="0a4f113b", '
                 'response="6629fae49393a05397450978507c4ef1"', "GET")[0],
       "the trunk's digest check gives RFC 2617's example response")
    rfc.s.close()
    trunk = Trunk("ccai-trunk", "s3cret-pass")
    extra = (f"  trunk: sip:127.0.0.1:{trunk.port}\n"
             "  username: ccai-trunk\n  password: s3cret-pass\n")
    srv = Server(sip_port, "sip:agent@127.0.0.1:9", db, sip_extra=extra)
    status, doc = srv.post_call({"phone_number": "+33611111111", "telephony": "sip"})
    ok(status == 201, "POST /call with telephony sip: 201")
    trunk.serve(time.time() + 15)
    ok(len(trunk.invites) == 2 and trunk.invites[0][0] is None,
       "the INVITE goes to the trunk, which challenges it (401)")
    fields, uri, good = trunk.invites[1]
    print("# Authorization: username=%s realm=%s uri=%s qop=%s" %
          (fields.get("username"), fields.get("realm"), fields.get("uri"), fields.get("qop")))
    ok(good and uri.startswith("sip:+33611111111@127.0.0.1"),
       "the INVITE again with digest: the response is RFC 2617's (qop=auth)")
    c = srv.call(lambda c: c["call_id"] == doc["call_id"] and not c["in_progress"], 15,
                 "the busy call's end")
    ok(c["end_reason"] == "busy", "the trunk's 486 ends the call as busy: " +
       str(c["end_reason"]))
    srv.kill()

    # baresip behind the trunk answers (auto); then goes silent at the
    # network level (SIGSTOP: no RTP) and the bot hangs up.
    callee = Phone("callee", "+33622222222", silence, answer="auto")
    extra = f"  trunk: sip:127.0.0.1:{callee.sip_port}\n  rtp_timeout_sec: 3\n"
    srv = Server(sip_port, "sip:agent@127.0.0.1:9", db, sip_extra=extra)
    status, doc = srv.post_call({"phone_number": "+33622222222", "telephony": "sip"})
    e = callee.wait_event("CALL_ESTABLISHED", 15)
    ok(status == 201 and "bot@" in e.get("peeruri", ""),
       "the bot's call reaches baresip through the trunk and is answered")
    c = srv.call(lambda c: c["call_id"] == doc["call_id"] and msgs(c, "assistant", "talk"), 15,
                 "the greeting")
    time.sleep(10)
    callee.p.send_signal(signal.SIGSTOP)
    c = srv.call(lambda c: c["call_id"] == doc["call_id"] and not c["in_progress"], 20,
                 "the end after the RTP timeout")
    callee.p.send_signal(signal.SIGCONT)
    ok("RTP timeout" in str(c["end_reason"]) and "no RTP from" in srv.text(),
       "no RTP for sip.rtp_timeout_sec: the bot hangs up: " + str(c["end_reason"]))
    closed = callee.wait_event("CALL_CLOSED", 40)
    ok("bot@" in closed.get("peeruri", ""), "baresip gets the bot's BYE once it runs again")
    words, hits = callee.heard(["hello", "contoso", "claim", "questions", "city", "happened"])
    print("# baresip heard: %s" % words)
    ok(hits >= 2, "baresip's recording of the outbound greeting is recognised (%d key words)" %
       hits)
    callee.stop()
    srv.kill()
    return Server(sip_port, "sip:agent@127.0.0.1:9", db)


def main():
    silence = wav("silence", None, 200)
    city = wav("city", "the city of london")
    talk = wav("talk", "wait wait please wait a moment I have a question about my policy", 30)
    db = os.path.join(TMP, "ccai.db")
    sip_port = free_port()
    agent_uri = "sip:agent@127.0.0.1:9"  # no transfer in these calls
    srv = Server(sip_port, agent_uri, db)
    bot = f"sip:bot@127.0.0.1:{sip_port}"

    # 0. What a phone may send that we cannot take: a clear answer each,
    #    nothing stored.
    before = len(srv.calls())
    ok(raw_invite(sip_port, "m=audio 4000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n")
       .startswith("SIP/2.0 488"), "an offer of G.729 only: 488")
    ok(raw_invite(sip_port, "this is not sdp\r\n").startswith("SIP/2.0 488"),
       "a malformed SDP: 488")
    ok(raw_invite(sip_port, "m=audio 4000 RTP/AVP 0\r\n", "Session-Expires: 30\r\n")
       .startswith("SIP/2.0 422"), "Session-Expires below 90 s: 422 (Min-SE)")
    ok(len(srv.calls()) == before and
       "no PCMU or PCMA" in srv.text() and "malformed SDP" in srv.text(),
       "each refusal is logged, no call stored")

    # 1. A call: greeting heard, the claim from the caller's words, a key,
    #    the caller hangs up.
    a = Phone("caller", "alice", silence)
    a.cmd("dial", bot)
    a.wait_event("CALL_ESTABLISHED", 10)
    c = srv.call(lambda c: msgs(c, "assistant", "talk"), 15, "the greeting")
    ok(c["channel"] == "sip" and c["in_progress"], "the SIP call is stored in progress")
    time.sleep(12)  # the greeting and the first question play out
    a.cmd("ausrc", "aufile," + city)
    c = srv.call(lambda c: c["claim"].get("incident_city"), 40, "the claim's city")
    print("# the caller said 'the city of london', recognised: %r" % c["claim"]["incident_city"])
    ok(True, "the claim is filled from the caller's audio")
    a.cmd("ausrc", "aufile," + silence)
    time.sleep(1)
    a.cmd("sndcode", "5")
    c = srv.call(lambda c: "5" in msgs(c, "human", "dtmf"), 10, "the key 5")
    ok(msgs(c, "human", "dtmf") == ["5"], "a DTMF key (RFC 4733) is stored once")
    time.sleep(4)
    a.cmd("hangup")
    a.wait_event("CALL_CLOSED", 10)
    c = srv.call(lambda c: not c["in_progress"], 10, "the end")
    ok(c["end_reason"] == "the caller hung up", "the caller's BYE ends the call: " +
       str(c["end_reason"]))
    time.sleep(1)
    words, hits = a.heard(["hello", "contoso", "claim", "questions", "city", "happened"])
    print("# baresip heard: %s" % words)
    ok(hits >= 2, "baresip's recording of the bot is recognised (%d key words)" % hits)
    a.stop()

    # 2. Barge-in over the greeting; then the caller says nothing: the bot
    #    gives up and hangs up (BYE from us). Silence timeout 3 s here.
    srv.kill()
    srv = Server(sip_port, agent_uri, db, silence_s=3)
    b = Phone("caller2", "bob", silence)
    b.cmd("dial", bot)
    b.wait_event("CALL_ESTABLISHED", 10)
    time.sleep(2.5)
    b.cmd("ausrc", "aufile," + talk)
    time.sleep(8)
    ok("barge-in" in srv.text(), "the caller's speech over the greeting is a barge-in")
    b.cmd("ausrc", "aufile," + silence)
    b.wait_event("CALL_CLOSED", 60)
    c = srv.call(lambda c: not c["in_progress"], 10, "the end")
    ok(c["end_reason"] == "the bot hung up" and "the bot hung up: BYE" in srv.text(),
       "a silent caller: the bot hangs up (BYE): " + str(c["end_reason"]))
    b.stop()
    srv.kill()
    srv = transfer(srv, sip_port, db, silence, city)

    # 4. Take-back: killed mid-call, started again on the same address.
    k = Phone("caller4", "dave", silence)
    k.cmd("dial", bot)
    k.wait_event("CALL_ESTABLISHED", 10)
    time.sleep(12)
    k.cmd("ausrc", "aufile," + city)
    c = srv.call(lambda c: c["claim"].get("incident_city"), 40, "the claim's city")
    k.cmd("ausrc", "aufile," + silence)
    claim, call_id = c["claim"]["incident_city"], c["call_id"]
    talks = len(msgs(c, "assistant", "talk"))
    time.sleep(2)
    srv.kill()
    time.sleep(1)
    srv = Server(sip_port, agent_uri, db)
    c = srv.call(lambda c: c["call_id"] == call_id and len(msgs(c, "assistant", "talk")) > talks,
                 30, "the bot speaking again after the restart")
    ok("taken back after a restart" in srv.text(), "the restarted server re-INVITEs the peer")
    ok(c["in_progress"] and c["claim"].get("incident_city") == claim,
       "the call goes on with its claim intact")
    print("# after the restart the bot said: %r" % msgs(c, "assistant", "talk")[talks])
    time.sleep(3)
    k.cmd("hangup")
    k.wait_event("CALL_CLOSED", 10)
    c = srv.call(lambda c: not c["in_progress"], 10, "the end")
    ok(c["end_reason"] == "the caller hung up", "the caller hangs up the call taken back")
    k.stop()
    srv = outbound(srv, sip_port, db, silence)


def run(body):
    """body() as a TAP test: the processes it started killed, TMP removed
    (SIP_TEST_KEEP keeps it); the exit status."""
    try:
        body()
        print("1..%d" % N)
        rc = 0
    except AssertionError as e:
        print("not ok %d - %s" % (N + 1, e))
        print("1..%d" % (N + 1))
        rc = 1
    finally:
        for p in PROCS:
            if p.poll() is None:
                p.kill()
                p.wait()
        if os.environ.get("SIP_TEST_KEEP"):
            print("# kept " + TMP)
        else:
            shutil.rmtree(TMP, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(run(main))
