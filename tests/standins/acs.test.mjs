// The ACS media-streaming caller judged by Azure's own SDK
// (@azure/communication-call-automation): every message it sends parses
// with StreamingData.parse, and what the SDK builds for outbound audio
// (createOutboundAudioData / createOutboundStopAudioData) is played and
// stopped by it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocketServer } from 'ws';
import { StreamingData, createOutboundAudioData, createOutboundStopAudioData } from '@azure/communication-call-automation';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { startServe, sleep, pcm16 } from './serve.mjs';

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
    const c = { ws, req, raw: [] };
    ws.on('message', (d) => c.raw.push(d.toString()));
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

test('AudioMetadata then AudioData every 20 ms, as the SDK parses them; SDK outbound audio played and stopped', async () => {
  const r = await serve.cmd({ cmd: 'acs', port, path: '/acs/wss/call-1/secret', authorization: 'Bearer test.jwt.value', rate: 16000, dtmf: 1 });
  assert.equal(r.status, 101);
  assert.ok(await waitFor(() => conns.length === 1));
  const c = conns[0];
  assert.equal(c.req.headers.authorization, 'Bearer test.jwt.value');
  assert.ok(c.req.headers['x-ms-call-connection-id']);
  assert.ok(c.req.headers['x-ms-call-correlation-id']);
  await serve.cmd({ cmd: 'speak', ms: 600 });
  await serve.cmd({ cmd: 'dtmf', digit: '3' });
  await sleep(1000);
  const parsed = c.raw.map((m) => ({ m: StreamingData.parse(m), kind: StreamingData.getStreamingKind() }));
  assert.equal(parsed[0].kind, 'AudioMetadata');
  assert.equal(parsed[0].m.sampleRate, 16000);
  assert.equal(parsed[0].m.encoding, 'PCM');
  assert.equal(parsed[0].m.channels, 1);
  const audio = parsed.filter((p) => p.kind === 'AudioData');
  assert.ok(audio.length >= 35 && audio.length <= 80, `${audio.length} frames in ~1 s`);
  for (const a of audio) {
    assert.equal(Buffer.from(a.m.data, 'base64').length, 640);
    assert.ok(!Number.isNaN(Date.parse(a.m.timestamp)));
    assert.equal(a.m.participant.kind, 'phoneNumber');
  }
  assert.ok(audio.some((a) => a.m.isSilent === false), 'speech frames are not silent');
  assert.ok(audio.some((a) => a.m.isSilent === true), 'idle frames are silent');
  const dtmf = parsed.find((p) => p.kind === 'DtmfData');
  assert.equal(dtmf.m.data, '3');

  // 1 s of our audio as the SDK builds it; then the SDK's StopAudio.
  c.ws.send(createOutboundAudioData(pcm16(16000, 1000, 0).toString('base64')));
  await sleep(300);
  let st = await serve.cmd({ cmd: 'state' });
  assert.ok(st.heard_ms >= 200 && st.heard_ms <= 700, `heard ${st.heard_ms} ms after 300 ms`);
  assert.ok(st.queued_ms >= 300, `queued ${st.queued_ms}`);
  c.ws.send(createOutboundStopAudioData());
  await sleep(100);
  st = await serve.cmd({ cmd: 'state' });
  assert.equal(st.queued_ms, 0);
  assert.equal(st.clears, 1);
  assert.equal(st.warnings, 0);
  // The documented PascalCase form works too.
  c.ws.send(JSON.stringify({ Kind: 'AudioData', AudioData: { Data: pcm16(16000, 100, 0).toString('base64') }, StopAudio: null }));
  await sleep(300);
  st = await serve.cmd({ cmd: 'state' });
  assert.ok(st.heard_ms >= 380, `heard ${st.heard_ms}`);
  const h = await serve.cmd({ cmd: 'hangup' });
  assert.equal(h.ok, true);
  assert.ok(await waitFor(() => c.closed !== undefined));
  assert.equal(c.closed, 1000);
});

// libccai's own messages (ACS_STREAM_OUT prints what its builders make):
// its AudioData is what the SDK's StreamingData parser reads as AudioData;
// its StopAudio is the SDK's createOutboundStopAudioData() but for the
// kind's case (ACS reads keys and kinds in any case). And the other way:
// what the SDK's models say ACS sends, parsed by libccai's parser.
test('libccai AudioData/StopAudio as the SDK reads and builds them; ACS messages as libccai parses them', { skip: !process.env.ACS_STREAM_OUT }, async () => {
  const child = spawn(process.env.ACS_STREAM_OUT, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const got = [];
  lines.on('line', (l) => got.push(l));
  const inbound = [
    JSON.stringify({ kind: 'AudioMetadata', audioMetadata: { subscriptionId: 'x', encoding: 'PCM', sampleRate: 24000, channels: 1, length: 960 } }),
    JSON.stringify({ kind: 'AudioData', audioData: { timestamp: new Date().toISOString(), participantRawID: '4:+15555550100', data: pcm16(16000, 20, 0).toString('base64'), silent: false } }),
    JSON.stringify({ kind: 'DtmfData', dtmfData: { data: '#' } }),
    createOutboundAudioData(pcm16(16000, 20, 0).toString('base64')),
  ];
  for (const m of inbound.slice(0, 3)) StreamingData.parse(m); // ACS's messages, as the SDK reads them
  child.stdin.end(inbound.join('\n') + '\n');
  await new Promise((r) => child.once('exit', r));
  assert.equal(got.length, 2 + inbound.length);
  const audio = StreamingData.parse(got[0]);
  assert.equal(StreamingData.getStreamingKind(), 'AudioData');
  const bytes = Buffer.from(audio.data, 'base64');
  assert.equal(bytes.length, 640);
  bytes.forEach((b, i) => assert.equal(b, i % 256));
  const lower = (o) => JSON.parse(JSON.stringify(o).toLowerCase());
  assert.deepEqual(lower(JSON.parse(got[1])), lower(JSON.parse(createOutboundStopAudioData())));
  assert.equal(got[2], '0 24000 0 -');
  assert.equal(got[3], '1 0 640 -');
  assert.equal(got[4], '2 0 0 #');
  assert.equal(got[5], '1 0 640 -'); // the JS SDK's own outbound form is read too
});
