// The Twilio Media Streams caller judged by Twilio's own library: its
// upgrade signature is checked with twilio.validateRequest over the wss://
// URL (how Twilio's server libraries validate Media Streams), and a plain
// WebSocket server (ws) plays our side: the message order, the 20 ms
// media cadence, mark echoes after playback, clear, dtmf, stop.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocketServer } from 'ws';
import twilio from 'twilio';
import { startServe, sleep } from './serve.mjs';

const TOKEN = 'twilio-auth-token-for-tests';
let serve;
let wss;
let port;
const conns = [];
before(async () => {
  serve = await startServe();
  wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((r) => wss.once('listening', r));
  port = wss.address().port;
  wss.on('connection', (ws, req) => {
    const c = { ws, req, msgs: [], times: [] };
    ws.on('message', (d, isBinary) => { c.msgs.push(isBinary ? null : JSON.parse(d.toString())); c.times.push(Date.now()); });
    ws.on('close', (code) => { c.closed = code; });
    conns.push(c);
  });
});
after(async () => { await serve.stop(); wss.close(); });

const waitFor = async (pred, ms = 5000) => {
  const end = Date.now() + ms;
  while (Date.now() < end) { if (pred()) return true; await sleep(20); }
  return false;
};

test('signature, start, 20 ms media, marks after playback, clear, dtmf, stop', async () => {
  const r = await serve.cmd({ cmd: 'twilio', port, path: '/twilio/media', token: TOKEN, params: { call_id: 'c-42', token: 'secret' } });
  assert.equal(r.status, 101);
  assert.ok(await waitFor(() => conns.length === 1));
  const c = conns[0];
  const url = `wss://127.0.0.1:${port}/twilio/media`;
  assert.equal(twilio.validateRequest(TOKEN, c.req.headers['x-twilio-signature'], url, {}), true);
  assert.equal(twilio.validateRequest('another-token', c.req.headers['x-twilio-signature'], url, {}), false);

  await sleep(1000);
  const [connected, start] = c.msgs;
  assert.deepEqual(connected, { event: 'connected', protocol: 'Call', version: '1.0.0' });
  assert.equal(start.event, 'start');
  assert.equal(start.sequenceNumber, '1');
  assert.match(start.streamSid, /^MZ[0-9a-f]{32}$/);
  assert.equal(start.start.streamSid, start.streamSid);
  assert.match(start.start.callSid, /^CA[0-9a-f]{32}$/);
  assert.deepEqual(start.start.tracks, ['inbound']);
  assert.deepEqual(start.start.customParameters, { call_id: 'c-42', token: 'secret' });
  assert.deepEqual(start.start.mediaFormat, { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 });
  const media = c.msgs.filter((m) => m.event === 'media');
  assert.ok(media.length >= 35 && media.length <= 80, `${media.length} media messages in ~1 s`);
  media.forEach((m, i) => {
    assert.equal(m.media.chunk, String(i + 1));
    assert.equal(m.media.timestamp, String(i * 20));
    assert.equal(Buffer.from(m.media.payload, 'base64').length, 160);
    assert.equal(m.media.track, 'inbound');
  });
  const seqs = c.msgs.slice(1).map((m) => Number(m.sequenceNumber));
  seqs.forEach((s, i) => assert.equal(s, i + 1));

  // 600 ms of our audio then a mark: echoed after about 600 ms of playback.
  const sid = start.streamSid;
  const audio = Buffer.alloc(4800, 0x55).toString('base64');
  const t0 = Date.now();
  c.ws.send(JSON.stringify({ event: 'media', streamSid: sid, media: { payload: audio } }));
  c.ws.send(JSON.stringify({ event: 'mark', streamSid: sid, mark: { name: 'utt-1' } }));
  assert.ok(await waitFor(() => c.msgs.some((m) => m.event === 'mark')));
  const markAt = c.times[c.msgs.findIndex((m) => m.event === 'mark')] - t0;
  assert.ok(markAt >= 540 && markAt < 1500, `mark echoed after ${markAt} ms`);
  assert.deepEqual(c.msgs.find((m) => m.event === 'mark').mark, { name: 'utt-1' });

  // 2 s queued then clear: the pending mark comes back at once.
  c.ws.send(JSON.stringify({ event: 'media', streamSid: sid, media: { payload: Buffer.alloc(16000, 0x55).toString('base64') } }));
  c.ws.send(JSON.stringify({ event: 'mark', streamSid: sid, mark: { name: 'utt-2' } }));
  await sleep(200);
  const tc = Date.now();
  c.ws.send(JSON.stringify({ event: 'clear', streamSid: sid }));
  assert.ok(await waitFor(() => c.msgs.some((m) => m.event === 'mark' && m.mark.name === 'utt-2')));
  assert.ok(Date.now() - tc < 1000, 'cleared mark echoed at once, not after the 2 s of audio');
  let st = await serve.cmd({ cmd: 'state' });
  assert.equal(st.clears, 1);
  assert.equal(st.queued_ms, 0);
  assert.equal(st.warnings, 0);

  // Anything else is a warning (31951), not an error.
  c.ws.send(JSON.stringify({ event: 'media', streamSid: 'MZwrong', media: { payload: audio } }));
  c.ws.send(Buffer.from([1, 2, 3]));
  c.ws.send('{not json');
  await serve.cmd({ cmd: 'dtmf', digit: '7' });
  assert.ok(await waitFor(() => c.msgs.some((m) => m.event === 'dtmf')));
  assert.deepEqual(c.msgs.find((m) => m.event === 'dtmf').dtmf, { track: 'inbound_track', digit: '7' });
  st = await serve.cmd({ cmd: 'state' });
  assert.equal(st.warnings, 3);

  const h = await serve.cmd({ cmd: 'hangup' });
  assert.equal(h.ok, true);
  assert.ok(await waitFor(() => c.closed !== undefined));
  const stop = c.msgs.at(-1);
  assert.equal(stop.event, 'stop');
  assert.equal(stop.stop.callSid, start.start.callSid);
  assert.equal(stop.stop.accountSid, start.start.accountSid);
});

test('a forged signature does not validate', async () => {
  const before = conns.length;
  await serve.cmd({ cmd: 'twilio', port, path: '/twilio/media', token: TOKEN, forge: 1 });
  assert.ok(await waitFor(() => conns.length === before + 1));
  const c = conns.at(-1);
  assert.equal(twilio.validateRequest(TOKEN, c.req.headers['x-twilio-signature'], `wss://127.0.0.1:${port}/twilio/media`, {}), false);
  await serve.cmd({ cmd: 'hangup' });
});
