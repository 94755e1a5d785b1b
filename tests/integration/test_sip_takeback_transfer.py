#!/usr/bin/env python3
"""A SIP call taken back after a restart, then transferred.

ccai-server is killed (-9) while baresip's call is up; started again on the
same address it re-INVITEs baresip from the stored dialog (its own dialog,
not libre's session). The caller then speaks, the LLM stand-in answers with
a talk_to_human tool call: the bot sends REFER in that dialog, baresip
(202, then NOTIFYs in the same dialog) calls the agent, a second baresip
that answers by itself, and the NOTIFY's 200 ends the bot's leg as a
transfer (BYE). baresip reaches the bot through a proxy in this file that
Record-Routes (RFC 3261 §16): the re-INVITE, the REFER and the BYE of the
dialog taken back follow the stored route set through it. Then the same with a phone that refuses REFER
(call_transfer=no: 501): the bot calls the agent itself and bridges the
two legs (sip_bridge.c).

Usage: test_sip_takeback_transfer.py BUILD_DIR. TAP; exit 77 (skip) as
test_sip_baresip.py.
"""
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_sip_baresip as h  # noqa: E402  (skips when baresip is missing)
from test_sip_baresip import Phone, Server, free_port, msgs, ok, wav  # noqa: E402

TMP = h.TMP


class Proxy:
    """A stateless proxy on UDP (RFC 3261 §16.11) that asks to stay on the
    path: Record-Route on the INVITE that makes the dialog, its own Via on
    each request it forwards (taken off the responses, which go back by
    the next Via), its own Route entry removed, then the next Route or the
    Request-URI is where the request goes. What it forwarded in self.seen:
    (method, the sender's Via port)."""

    def __init__(self):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind(("127.0.0.1", 0))
        self.port = self.s.getsockname()[1]
        self.me = "127.0.0.1:%d" % self.port
        self.seen = []
        threading.Thread(target=self.serve, daemon=True).start()

    @staticmethod
    def hostport(text, default=5060):
        m = re.search(r"([0-9.]+)(?::(\d+))?", text)
        return m.group(1), int(m.group(2) or default)

    def forward(self, msg):
        head, _, body = msg.partition("\r\n\r\n")
        lines = head.split("\r\n")
        first = lines[0]
        if first.startswith("SIP/2.0 "):
            vias = [i for i, l in enumerate(lines) if re.match(r"(?i)(via|v)\s*:", l)]
            if not vias or self.me not in lines[vias[0]]:
                return
            del lines[vias[0]]
            nxt = next((l for l in lines if re.match(r"(?i)(via|v)\s*:", l)), None)
            if not nxt:
                return
            dest = self.hostport(nxt.split(None, 2)[-1])
            rport = re.search(r";rport=(\d+)", nxt)
            if rport:
                dest = (dest[0], int(rport.group(1)))
            self.s.sendto(("\r\n".join(lines) + "\r\n\r\n" + body).encode(), dest)
            return
        method = first.split()[0]
        via = next((l for l in lines if re.match(r"(?i)(via|v)\s*:", l)), "")
        self.seen.append((method, self.hostport(via.split(None, 2)[-1])[1]))
        routes = [i for i, l in enumerate(lines) if re.match(r"(?i)route\s*:", l)]
        if routes and self.me in lines[routes[0]]:
            vals = lines[routes[0]].split(":", 1)[1].split(",")
            rest = [v.strip() for v in vals if self.me not in v]
            if rest:
                lines[routes[0]] = "Route: " + ",".join(rest)
            else:
                del lines[routes[0]]
        routes = [l for l in lines if re.match(r"(?i)route\s*:", l)]
        to = next((l for l in lines if re.match(r"(?i)(to|t)\s*:", l)), "")
        nxt = (routes[0].split(":", 1)[1].split(",")[0] if routes else first.split()[1])
        dest = self.hostport(nxt.split("@")[-1])
        extra = ["Via: SIP/2.0/UDP %s;branch=z9hG4bKpx%x" % (self.me, abs(hash(first + via)))]
        if method == "INVITE" and "tag=" not in to:
            extra.append("Record-Route: <sip:%s;lr>" % self.me)
        lines = [first] + extra + lines[1:]
        self.s.sendto(("\r\n".join(lines) + "\r\n\r\n" + body).encode(), dest)

    def serve(self):
        while True:
            try:
                d, _ = self.s.recvfrom(65536)
            except OSError:
                return
            self.forward(d.decode(errors="replace"))


def taken_back(srv, phone, sip_port, agent_uri, db, llm_port):
    """Dial, let the greeting start, kill -9, start again: the call back."""
    phone.cmd("dial", f"sip:bot@127.0.0.1:{sip_port}")
    phone.wait_event("CALL_ESTABLISHED", 10)
    c = srv.call(lambda c: msgs(c, "assistant", "talk"), 15, "the greeting")
    call_id, talks = c["call_id"], len(msgs(c, "assistant", "talk"))
    time.sleep(2)
    srv.kill()
    time.sleep(1)
    srv = Server(sip_port, agent_uri, db, llm_port=llm_port)
    c = srv.call(lambda c: c["call_id"] == call_id and len(msgs(c, "assistant", "talk")) > talks,
                 30, "the bot speaking again after the restart")
    return srv, call_id


def main():
    silence = wav("silence", None, 200)
    city = wav("city", "the city of london")
    db = os.path.join(TMP, "ccai.db")
    script = os.path.join(TMP, "llm.jsonl")
    with open(script, "w") as f:
        f.write(json.dumps({"kind": "tool_calls",
                            "tool_calls": [{"name": "talk_to_human", "arguments": "{}"}]}) + "\n")
    llm = subprocess.Popen([h.LLM, "--script", script, "--cycle"], stdout=subprocess.PIPE,
                           stderr=open(os.path.join(TMP, "llm.log"), "w"))
    h.PROCS.append(llm)
    llm_port = int(llm.stdout.readline())
    agent = Phone("agent", "agent", silence, answer="auto")
    agent_uri = f"sip:agent@127.0.0.1:{agent.sip_port}"
    sip_port = free_port(span=2)
    srv = Server(sip_port, agent_uri, db, llm_port=llm_port)

    # The caller's phone behind a proxy that Record-Routes (a PBX, an
    # SBC): the bot's requests after the take-back must go through it.
    proxy = Proxy()
    t = Phone("caller", "carol", silence, account=f';outbound="sip:{proxy.me}"')
    srv, call_id = taken_back(srv, t, sip_port, agent_uri, db, llm_port)
    ok("taken back after a restart" in srv.text(), "the restarted server re-INVITEs baresip")
    ok(("INVITE", sip_port) in proxy.seen,
       "the re-INVITE follows the stored route set (Record-Route): through the proxy")
    t.cmd("ausrc", "aufile," + city)
    e = agent.wait_event("CALL_ESTABLISHED", 60)
    ok("carol@" in e.get("peeruri", ""),
       "after the take-back, the agent's baresip answers a call from the caller's: " +
       e.get("peeruri", ""))
    c = srv.call(lambda c: c["call_id"] == call_id and not c["in_progress"], 20,
                 "the end of the bot's leg")
    ok("REFER to " + agent_uri in srv.text() and "transferred to " + agent_uri in srv.text(),
       "REFER in the dialog taken back, baresip's NOTIFY says 200")
    ok(c["end_reason"] == "transfer", "the bot's leg ends as a transfer: " + str(c["end_reason"]))
    closed = t.wait_event("CALL_CLOSED", 10)
    ok("bot@" in closed.get("peeruri", ""), "the bot's BYE ends its leg at the caller's phone")
    ok(("REFER", sip_port) in proxy.seen and ("BYE", sip_port) in proxy.seen,
       "the bot's REFER and BYE in the dialog taken back go through the proxy too")
    t.pump()
    ok(any(x.get("type") == "CALL_ESTABLISHED" and "agent@" in x.get("peeruri", "")
           for x in t.events), "the caller is connected to the agent")
    t.cmd("hangup")
    agent.wait_event("CALL_CLOSED", 10)
    t.stop()

    # A phone that refuses REFER (call_transfer=no: 501), after a
    # take-back (its Allow is not known then: REFER is tried): the bot
    # bridges the agent itself on a second leg.
    r = Phone("caller2", "erin", silence, account=";call_transfer=no")
    srv, call_id = taken_back(srv, r, sip_port, agent_uri, db, llm_port)
    r.cmd("ausrc", "aufile," + city)
    e = agent.wait_event("CALL_ESTABLISHED", 60)
    r.cmd("ausrc", "aufile," + silence)
    refused = [json.loads(x)["msg"] for x in srv.text().splitlines() if "the bot bridges" in x]
    print("# " + (refused[0] if refused else "no bridge logged"))
    ok(refused and "refused REFER (501)" in refused[0] and "bot@" in e.get("peeruri", ""),
       "a phone that refuses REFER after a take-back: the bot calls the agent itself")
    time.sleep(2)
    r.cmd("hangup")
    closed = agent.wait_event("CALL_CLOSED", 10)
    c = srv.call(lambda c: c["call_id"] == call_id and not c["in_progress"], 20, "the end")
    done = msgs(c, "assistant", "transfer")
    ok(c["end_reason"] == "transfer" and done and "bridged" in done[-1] and
       "bot@" in closed.get("peeruri", ""),
       "the caller hangs up: the agent's leg ends, the call is a bridged transfer: %r" %
       (done[-1:] or None))
    r.stop()
    agent.stop()
    srv.kill()


if __name__ == "__main__":
    sys.exit(h.run(main))
