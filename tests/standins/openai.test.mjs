// The OpenAI audio stand-in judged by OpenAI's own SDK (openai): the SDK
// builds the multipart upload and the speech request, parses the answers
// and the SSE stream, and honours the stand-in's 429 retry headers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI, { toFile } from 'openai';
import { startServe, pcm16, wav } from './serve.mjs';

let serve;
let client;
before(async () => {
  serve = await startServe();
  client = new OpenAI({
    apiKey: serve.ports.openai_key,
    baseURL: `http://127.0.0.1:${serve.ports.openai}/v1`,
    maxRetries: 0,
  });
});
after(async () => { await serve.stop(); });

test('audio.transcriptions.create: the SDK multipart upload is understood, json answer parsed', async () => {
  await serve.cmd({ cmd: 'say', service: 'openai', text: 'My car was hit last night.' });
  const file = await toFile(wav(16000, pcm16(16000, 1200, 500)), 'turn.wav');
  const r = await client.audio.transcriptions.create({ file, model: 'gpt-4o-transcribe', language: 'en' });
  assert.equal(r.text, 'My car was hit last night.');
  assert.equal(r.usage.type, 'tokens');
});

test('audio.transcriptions.create with stream: transcript.text.delta events then done', async () => {
  await serve.cmd({ cmd: 'say', service: 'openai', text: 'Yes, that is right.' });
  const file = await toFile(wav(16000, pcm16(16000, 800, 300)), 'turn.wav');
  const stream = await client.audio.transcriptions.create({ file, model: 'gpt-4o-mini-transcribe', stream: true });
  const deltas = [];
  let done;
  for await (const ev of stream) {
    if (ev.type === 'transcript.text.delta') deltas.push(ev.delta);
    if (ev.type === 'transcript.text.done') done = ev;
  }
  assert.equal(deltas.join(''), 'Yes, that is right.');
  assert.equal(done.text, 'Yes, that is right.');
});

test('silence is transcribed as nothing (the script is not consumed)', async () => {
  const file = await toFile(wav(16000, pcm16(16000, 0, 800)), 'silence.wav');
  const r = await client.audio.transcriptions.create({ file, model: 'whisper-1', response_format: 'verbose_json' });
  assert.equal(r.text, '');
  assert.ok(Math.abs(r.duration - 0.8) < 0.01);
});

test('an unsupported file type gets the 400 the SDK raises as BadRequestError', async () => {
  const file = await toFile(Buffer.from('not audio'), 'notes.txt');
  await assert.rejects(client.audio.transcriptions.create({ file, model: 'whisper-1' }),
    (e) => e instanceof OpenAI.BadRequestError && /Invalid file format/.test(e.message));
});

test('audio.speech.create pcm: 24 kHz s16le whose length follows the text', async () => {
  const short = await client.audio.speech.create({ model: 'gpt-4o-mini-tts', voice: 'marin', input: 'Hello.', response_format: 'pcm' });
  const long = await client.audio.speech.create({ model: 'gpt-4o-mini-tts', voice: 'marin', input: 'Hello, I am calling about the claim you opened yesterday evening.', response_format: 'pcm' });
  const a = Buffer.from(await short.arrayBuffer());
  const b = Buffer.from(await long.arrayBuffer());
  assert.equal(a.length % 2, 0);
  assert.ok(a.length > 24000 * 2 * 0.3 && a.length < 24000 * 2 * 1.5, `short: ${a.length} bytes`);
  assert.ok(b.length > a.length * 4, `long ${b.length} vs short ${a.length}`);
});

test('a 429 with retry-after is retried by the SDK and then succeeds', async () => {
  await serve.cmd({ cmd: 'fault', service: 'openai', status: 429, retry_after: 1 });
  const retrying = new OpenAI({ apiKey: serve.ports.openai_key, baseURL: `http://127.0.0.1:${serve.ports.openai}/v1`, maxRetries: 2 });
  const t0 = Date.now();
  const r = await retrying.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'Hi.', response_format: 'wav' });
  const body = Buffer.from(await r.arrayBuffer());
  assert.equal(body.subarray(0, 4).toString(), 'RIFF');
  assert.ok(Date.now() - t0 >= 900, 'waited for retry-after');
});

test('a wrong key: AuthenticationError', async () => {
  const bad = new OpenAI({ apiKey: 'sk-wrong', baseURL: `http://127.0.0.1:${serve.ports.openai}/v1`, maxRetries: 0 });
  await assert.rejects(bad.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'Hi.', response_format: 'pcm' }),
    (e) => e instanceof OpenAI.AuthenticationError && e.code === 'invalid_api_key');
});
