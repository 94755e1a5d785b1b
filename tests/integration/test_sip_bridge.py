#!/usr/bin/env python3
"""A transfer the bot bridges itself: the caller's phone will not take REFER.

Two real baresip instances on loopback: the caller (call_transfer=no: its
Allow lists no REFER, and it answers a REFER with 501) and the agent
(auto-answer, PCMA only, so the bot transcodes the caller's PCMU). The LLM
stand-in answers the caller's words with a talk_to_human tool call; the bot
calls the agent on a second leg and relays RTP both ways.

  bridge       the agent's baresip is called by the bot (not by the
               caller's); what the caller says is heard by the agent
               (pocketsphinx on the agent's recording), a key the agent
               presses reaches the caller (RFC 4733 relayed); the caller
               hangs up: the bot's BYE ends the agent's leg; the call
               ends as a transfer, its message saying "bridged" and who
               hung up
  agent ends   the agent hangs up: the caller gets the bot's BYE
  no agent     the agent's phone refuses the call (486): the transfer
               fails, the bot tells the caller and hangs up

Usage: test_sip_bridge.py BUILD_DIR. TAP; exit 77 (skip) as
test_sip_baresip.py.
"""
import array
import json
import math
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_sip_baresip as h  # noqa: E402  (skips when baresip is missing)
from test_sip_baresip import Phone, Server, free_port, msgs, ok, wav  # noqa: E402

TMP = h.TMP


def envelope(path):
    """The loudness of a WAV (8 kHz s16 mono), log RMS per 20 ms: every
    sample after the "data" chunk's header, whatever size the header says
    (baresip's sndfile writes the sizes when it closes the file, which may
    come after the call's CALL_CLOSED event); once the file stops growing."""
    size = -1
    for _ in range(20):
        if os.path.getsize(path) == size:
            break
        size = os.path.getsize(path)
        time.sleep(0.5)
    with open(path, "rb") as f:
        raw = f.read()
    at = raw.find(b"data", 12)
    d = array.array("h", raw[at + 8:len(raw) - (len(raw) - at - 8) % 2] if at > 0 else b"")
    return [math.log(1 + math.sqrt(sum(x * x for x in d[i:i + 160]) / 160))
            for i in range(0, len(d) - 160, 160)]


def likeness(spoken, recorded):
    """How well the loudness of what was spoken (its voiced part) matches
    somewhere in a recording: the best normalised correlation, -1 to 1.
    Speech through G.711 and a jitter buffer keeps its syllables' shape
    (0.95 and more); another voice, noise or silence does not."""
    ref = envelope(spoken)
    loud = [i for i, v in enumerate(ref) if v > math.log(300)]
    ref = ref[loud[0]:loud[-1] + 1]
    sig = envelope(recorded)
    n = len(ref)
    mr = sum(ref) / n
    sr = math.sqrt(sum((x - mr) ** 2 for x in ref))
    best = -1.0
    for o in range(len(sig) - n):
        w = sig[o:o + n]
        mw = sum(w) / n
        sw = math.sqrt(sum((x - mw) ** 2 for x in w))
        if sw > 0:
            best = max(best, sum((a - mr) * (x - mw) for a, x in zip(ref, w)) / (sr * sw))
    return best


def transferred(srv, phone, sip_port, city):
    """Dial the bot, let the greeting go, say the city: the LLM asks for
    the agent. The stored call's id."""
    phone.cmd("dial", f"sip:bot@127.0.0.1:{sip_port}")
    phone.wait_event("CALL_ESTABLISHED", 10)
    c = srv.call(lambda c: c["in_progress"] and msgs(c, "assistant", "talk"), 15,
                 "the greeting")
    time.sleep(8)
    phone.cmd("ausrc", "aufile," + city)
    return c["call_id"]


def main():
    silence = wav("silence", None, 200)
    city = wav("city", "the city of london")
    talk = wav("talk", "hello hello my house is flooded please help me", 60)
    db = os.path.join(TMP, "ccai.db")
    script = os.path.join(TMP, "llm.jsonl")
    with open(script, "w") as f:
        f.write(json.dumps({"kind": "tool_calls",
                            "tool_calls": [{"name": "talk_to_human", "arguments": "{}"}]}) + "\n")
    llm = subprocess.Popen([h.LLM, "--script", script, "--cycle"], stdout=subprocess.PIPE,
                           stderr=open(os.path.join(TMP, "llm.log"), "w"))
    h.PROCS.append(llm)
    llm_port = int(llm.stdout.readline())
    agent = Phone("agent", "agent", silence, answer="auto", account=";audio_codecs=PCMA")
    agent_uri = f"sip:agent@127.0.0.1:{agent.sip_port}"
    sip_port = free_port(span=2)
    srv = Server(sip_port, agent_uri, db, llm_port=llm_port)

    # 1. Bridged; the caller speaks, the agent hears; the caller hangs up.
    t = Phone("caller", "carol", silence, account=";call_transfer=no")
    call_id = transferred(srv, t, sip_port, city)
    e = agent.wait_event("CALL_ESTABLISHED", 60)
    ok("bot@" in e.get("peeruri", ""),
       "the bot calls the agent itself (a second leg): " + e.get("peeruri", ""))
    log = srv.text()
    ok("does not take REFER" in log and "REFER to" not in log,
       "no REFER sent to a phone whose Allow lacks it")
    ok("bridged to " + agent_uri in log and "transcoded" in log,
       "the legs are bridged, PCMU to PCMA transcoded")
    c = srv.call(lambda c: c["call_id"] == call_id, 5, "the call")
    ok(c["in_progress"], "the call stays in progress while bridged")
    t.cmd("ausrc", "aufile," + talk)
    time.sleep(7)
    agent.cmd("sndcode", "7")
    d = t.wait_event("CALL_DTMF_START", 10)
    ok(d.get("param") == "7", "the agent's key reaches the caller (RFC 4733 relayed): " +
       str(d.get("param")))
    time.sleep(2)
    c = srv.call(lambda c: c["call_id"] == call_id, 5, "the call")
    talks = msgs(c, "assistant", "talk")
    t.cmd("hangup")
    closed = agent.wait_event("CALL_CLOSED", 10)
    ok("bot@" in closed.get("peeruri", ""),
       "the caller hangs up: the bot's BYE ends the agent's leg")
    c = srv.call(lambda c: c["call_id"] == call_id and not c["in_progress"], 15, "the end")
    done = msgs(c, "assistant", "transfer")
    print("# transfer message: %r" % done)
    ok(c["end_reason"] == "transfer" and done and "bridged" in done[-1] and
       "the caller hung up" in done[-1],
       "the call ends as a transfer, bridged, the caller hung up: " + str(c["end_reason"]))
    ok(msgs(c, "human", "dtmf") == [],
       "the key went to the caller, not to the engine")
    ok(len(talks) == len(msgs(c, "assistant", "talk")), "the bot said nothing while bridged")
    time.sleep(1)
    rec = sorted(f for f in os.listdir(agent.rec) if f.endswith("-dec.wav"))
    mine = sorted(f for f in os.listdir(t.rec) if f.endswith("-dec.wav"))
    heard = likeness(talk, os.path.join(agent.rec, rec[-1]))
    other = likeness(talk, os.path.join(t.rec, mine[-1]))
    words, _ = agent.heard(["hello", "house", "flooded", "please", "help"])
    print("# the agent's recording: loudness like the caller's words %.2f (the caller's own "
          "recording of the bot: %.2f); pocketsphinx: %s" % (heard, other, words))
    ok(heard > 0.9 and other < 0.8,
       "the agent hears the caller's words through the bridge (loudness correlation %.2f)" %
       heard)
    t.stop()

    # 2. The agent hangs up: the caller's leg ends too.
    t = Phone("caller2", "dave", silence, account=";call_transfer=no")
    call_id = transferred(srv, t, sip_port, city)
    agent.wait_event("CALL_ESTABLISHED", 60)
    time.sleep(3)
    agent.cmd("hangup")
    closed = t.wait_event("CALL_CLOSED", 10)
    ok("bot@" in closed.get("peeruri", ""), "the agent hangs up: the bot's BYE reaches the caller")
    c = srv.call(lambda c: c["call_id"] == call_id and not c["in_progress"], 15, "the end")
    done = msgs(c, "assistant", "transfer")
    ok(c["end_reason"] == "transfer" and done and "the agent hung up" in done[-1],
       "stored as a bridged transfer the agent ended: %r" % (done[-1:] or None))
    t.stop()
    agent.stop()

    # 3. The agent's phone refuses the call: the transfer fails.
    busy = Phone("agent2", "agent", silence, answer="manual")
    srv.kill()
    srv = Server(sip_port, f"sip:agent@127.0.0.1:{busy.sip_port}", db, llm_port=llm_port)
    t = Phone("caller3", "erin", silence, account=";call_transfer=no")
    call_id = transferred(srv, t, sip_port, city)
    busy.wait_event("CALL_INCOMING", 60)
    busy.cmd("hangup")
    t.cmd("ausrc", "aufile," + silence)
    c = srv.call(lambda c: c["call_id"] == call_id and not c["in_progress"], 60,
                 "the end after the failed transfer")
    failed = [json.loads(x)["msg"] for x in srv.text().splitlines()
              if "the transfer to " in x and "failed" in x]
    print("# " + (failed[0] if failed else "no failure logged"))
    ok(failed and "the agent's line" in failed[0],
       "the agent's phone refuses: the transfer fails")
    closed = t.wait_event("CALL_CLOSED", 10)
    ok(c["end_reason"] == "the bot hung up" and "bot@" in closed.get("peeruri", ""),
       "the bot tells the caller and hangs up: " + str(c["end_reason"]))
    t.stop()
    busy.stop()
    srv.kill()


if __name__ == "__main__":
    sys.exit(h.run(main))
