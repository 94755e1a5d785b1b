#!/usr/bin/env python3
"""A configured IVR menu (ivr.menus, docs/ivr.md) chosen by DTMF over SIP.

baresip (Debian baresip-core) calls ccai-server on loopback through a
proxy that Record-Routes (as a PBX or an SBC in front of the phones does).
The menu is offered when the call connects; the caller answers with keys:

  RFC 4733     baresip's `sndcode 2` (telephone-event, the only way baresip
               1.0.0 sends DTMF): main -> the billing menu
  SIP INFO     application/dtmf-relay "Signal=9" in the dialog, as PBXs and
               SBCs send keys (baresip takes INFO in but never sends it: the
               proxy sends it as the caller's side, in the caller's dialog,
               as such an SBC would): billing -> back to main
  RFC 4733     `sndcode 0`: main's transfer action; the bot REFERs baresip to
               the agent (a second baresip, auto-answer), which baresip calls

Each choice is stored on the call as a "menu" message; the transfer ends
the bot's leg as a transfer.

Usage: test_sip_ivr.py BUILD_DIR. TAP; exit 77 (skip) as test_sip_baresip.py.
"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_sip_baresip as h  # noqa: E402  (skips when baresip is missing)
from test_sip_baresip import Phone, Server, free_port, msgs, ok, wav  # noqa: E402
from test_sip_takeback_transfer import Proxy  # noqa: E402

IVR = """ivr:
  start: main
  retries: 3
  menus:
    main:
      prompt: "For a claim, press 1. For billing, press 2. To speak to someone, press 0."
      choices:
        - {key: "1", label: Claims, say: [claim], action: task,
           task: "Help the customer declare a claim."}
        - {key: "2", label: Billing, say: [billing], action: menu, menu: billing}
        - {key: "0", label: Agent, say: [agent], action: transfer}
    billing:
      prompt: "For your balance, press 1. For the main menu, press 9."
      choices:
        - {key: "1", say: [balance], action: llm}
        - {key: "9", say: [main menu], action: menu, menu: main}
      fallback: {action: hangup}
"""


class InfoProxy(Proxy):
    """The proxy, which also learns the dialog of the caller's call (from
    the INVITE it forwards and the 2xx that answers it) to send an INFO in
    it as the caller's side."""

    def __init__(self):
        self.dialog = {}
        self.info_answers = []
        super().__init__()

    def forward(self, msg):
        head = msg.split("\r\n\r\n", 1)[0]
        first = head.split("\r\n", 1)[0]

        def hdr(name):
            m = re.search(r"(?im)^%s\s*:\s*(.*)$" % name, head)
            return m.group(1).strip() if m else ""
        if first.startswith("INVITE ") and "tag=" not in hdr("(?:to|t)"):
            self.dialog.update(frm=hdr("(?:from|f)"), callid=hdr("(?:call-id|i)"),
                               cseq=int(hdr("cseq").split()[0]))
        if first.startswith("SIP/2.0 ") and " INFO" in hdr("cseq"):
            self.info_answers.append(first[8:])
        if first.startswith("SIP/2.0 200") and "INVITE" in hdr("cseq"):
            contact = re.search(r"<([^>]+)>", hdr("(?:contact|m)"))
            self.dialog.update(to=hdr("(?:to|t)"), target=contact.group(1) if contact else "")
        super().forward(msg)

    def info(self, signal):
        """INFO with the CSeq the caller's phone uses next (its INVITE's + 1):
        the phone's own next request reuses it, which RFC 3261 §12.2.2 lets
        pass (not lower); a higher one would make the phone's later requests
        (its NOTIFYs, its BYE) out of order."""
        d = self.dialog
        cseq = d["cseq"] + 1
        body = "Signal=%s\r\nDuration=160\r\n" % signal
        dest = self.hostport(d["target"].split("@")[-1])
        msg = (f"INFO {d['target']} SIP/2.0\r\n"
               f"Via: SIP/2.0/UDP {self.me};branch=z9hG4bKinfo{cseq}{int(time.time())}\r\n"
               "Max-Forwards: 70\r\n"
               f"From: {d['frm']}\r\nTo: {d['to']}\r\nCall-ID: {d['callid']}\r\n"
               f"CSeq: {cseq} INFO\r\nContent-Type: application/dtmf-relay\r\n"
               f"Content-Length: {len(body)}\r\n\r\n{body}")
        self.s.sendto(msg.encode(), dest)


def main():
    silence = wav("silence", None, 200)
    db = os.path.join(h.TMP, "ccai.db")
    agent = Phone("agent", "agent", silence, answer="auto")
    agent_uri = f"sip:agent@127.0.0.1:{agent.sip_port}"
    sip_port = free_port(span=2)
    srv = Server(sip_port, agent_uri, db, sip_extra=IVR)
    proxy = InfoProxy()
    t = Phone("caller", "carol", silence, account=f';outbound="sip:{proxy.me}"')
    t.cmd("dial", f"sip:bot@127.0.0.1:{sip_port}")
    t.wait_event("CALL_ESTABLISHED", 10)
    c = srv.call(lambda c: c["in_progress"], 10, "the call")
    call_id = c["call_id"]
    time.sleep(3)  # the menu's prompt starts

    t.cmd("sndcode", "2")
    c = srv.call(lambda c: msgs(c, "human", "menu"), 15, "the first choice")
    print("# %r" % msgs(c, "human", "menu"))
    ok(msgs(c, "human", "menu")[0].startswith("main: 2"),
       "key 2 by RFC 4733 (baresip's sndcode) picks main's choice 2")
    time.sleep(3)

    ok(proxy.dialog.get("to") and proxy.dialog.get("target"),
       "the proxy knows the caller's dialog: " + str(proxy.dialog.get("target")))
    proxy.info("9")
    c = srv.call(lambda c: len(msgs(c, "human", "menu")) >= 2, 15,
                 "the second choice (INFO answered %s)" % proxy.info_answers)
    print("# %r" % msgs(c, "human", "menu"))
    ok(msgs(c, "human", "menu")[1].startswith("billing: 9"),
       "key 9 by SIP INFO (dtmf-relay) in the dialog picks billing's choice 9: back to main")
    time.sleep(3)

    t.cmd("sndcode", "0")
    e = agent.wait_event("CALL_ESTABLISHED", 60)
    ok("carol@" in e.get("peeruri", ""),
       "key 0: main's transfer action; baresip, REFERred, calls the agent: " +
       e.get("peeruri", ""))
    c = srv.call(lambda c: c["call_id"] == call_id and not c["in_progress"], 20, "the end")
    menu = msgs(c, "human", "menu")
    print("# %r" % menu)
    ok(len(menu) == 3 and menu[2].startswith("main: 0") and c["end_reason"] == "transfer",
       "the choices are stored, the call ends as a transfer: " + str(c["end_reason"]))
    ok(msgs(c, "human", "dtmf") == [], "keys in the menu are choices, not conversation")
    t.cmd("hangup")
    agent.wait_event("CALL_CLOSED", 10)
    t.stop()
    agent.stop()
    srv.kill()


if __name__ == "__main__":
    sys.exit(h.run(main))
