// The Azure Speech stand-in with the requests exactly as Microsoft's REST
// documentation writes them (the Speech SDK itself speaks an undocumented
// WebSocket protocol, not these REST APIs, so it cannot judge them).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServe, pcm16, wav } from './serve.mjs';

let serve;
let base;
before(async () => { serve = await startServe(); base = `http://127.0.0.1:${serve.ports.azure}`; });
after(async () => { await serve.stop(); });

test('issueToken then short-audio recognition with the bearer token (detailed)', async () => {
  const t = await fetch(`${base}/sts/v1.0/issueToken`, { method: 'POST', headers: { 'Ocp-Apim-Subscription-Key': serve.ports.azure_key } });
  assert.equal(t.status, 200);
  const token = await t.text();
  assert.equal(token.split('.').length, 3);
  await serve.cmd({ cmd: 'say', service: 'azure', text: 'Please call me back tomorrow.' });
  const r = await fetch(`${base}/speech/recognition/conversation/cognitiveservices/v1?language=en-US&format=detailed`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'audio/wav; codecs=audio/pcm; samplerate=16000', Accept: 'application/json' },
    body: wav(16000, pcm16(16000, 1500, 600)),
  });
  assert.equal(r.status, 200);
  const j = await r.json();
  assert.equal(j.RecognitionStatus, 'Success');
  assert.equal(j.DisplayText, 'Please call me back tomorrow.');
  assert.equal(j.NBest[0].Lexical, 'please call me back tomorrow');
  assert.equal(j.Offset, 0);
  assert.ok(Math.abs(j.Duration - 15000000) <= 200000, `Duration ${j.Duration}`);
});

test('TTS raw-8khz-8bit-mono-mulaw from SSML streams G.711 bytes', async () => {
  const ssml = "<speak version='1.0' xml:lang='en-US'><voice name='en-US-AvaMultilingualNeural'>Your claim is open.</voice></speak>";
  const r = await fetch(`${base}/cognitiveservices/v1`, {
    method: 'POST',
    headers: { 'Ocp-Apim-Subscription-Key': serve.ports.azure_key, 'Content-Type': 'application/ssml+xml', 'X-Microsoft-OutputFormat': 'raw-8khz-8bit-mono-mulaw', 'User-Agent': 'libccai-tests' },
    body: ssml,
  });
  assert.equal(r.status, 200);
  const b = Buffer.from(await r.arrayBuffer());
  assert.ok(b.length > 8000 && b.length < 8000 * 3, `${b.length} bytes`);
});

test('a wrong key is 401 with the APIM error body', async () => {
  const r = await fetch(`${base}/cognitiveservices/v1`, { method: 'POST', headers: { 'Ocp-Apim-Subscription-Key': 'nope', 'Content-Type': 'application/ssml+xml', 'X-Microsoft-OutputFormat': 'raw-16khz-16bit-mono-pcm' }, body: '<speak/>' });
  assert.equal(r.status, 401);
  assert.equal((await r.json()).error.code, '401');
});
