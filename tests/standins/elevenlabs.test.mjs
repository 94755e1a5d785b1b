// The ElevenLabs stand-in judged by ElevenLabs' own SDK
// (@elevenlabs/elevenlabs-js): streaming text-to-speech and its errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ElevenLabsClient } from '@elevenlabs/elevenlabs-js';
import { startServe } from './serve.mjs';

let serve;
let client;
before(async () => {
  serve = await startServe();
  client = new ElevenLabsClient({ apiKey: serve.ports.elevenlabs_key, baseUrl: `http://127.0.0.1:${serve.ports.elevenlabs}`, maxRetries: 0 });
});
after(async () => { await serve.stop(); });

async function drain(stream) {
  const parts = [];
  for await (const c of stream) parts.push(Buffer.from(c));
  return { parts, all: Buffer.concat(parts) };
}

test('textToSpeech.stream ulaw_8000: G.711 bytes arrive in several chunks', async () => {
  const stream = await client.textToSpeech.stream(serve.ports.elevenlabs_voice, {
    text: 'Thank you for calling, how can I help?', modelId: 'eleven_flash_v2_5', outputFormat: 'ulaw_8000',
  });
  const { parts, all } = await drain(stream);
  assert.ok(parts.length >= 2, `${parts.length} chunks`);
  assert.ok(all.length > 8000 * 1.0 && all.length < 8000 * 4, `${all.length} bytes`);
  // mu-law silence is 0xFF; speech is not.
  assert.ok(all.filter((b) => b !== 0xff && b !== 0x7f).length > all.length / 3);
});

test('textToSpeech.convert pcm_16000: the whole file', async () => {
  const stream = await client.textToSpeech.convert(serve.ports.elevenlabs_voice, {
    text: 'Goodbye.', modelId: 'eleven_flash_v2_5', outputFormat: 'pcm_16000',
  });
  const { all } = await drain(stream);
  assert.equal(all.length % 2, 0);
  assert.ok(all.length > 16000 * 2 * 0.3, `${all.length} bytes`);
});

test('an unknown voice is a 404 the SDK reports with its status', async () => {
  await assert.rejects(client.textToSpeech.stream('no-such-voice', { text: 'Hi', outputFormat: 'ulaw_8000' }),
    (e) => e.statusCode === 404 && JSON.stringify(e.body).includes('voice_not_found'));
});

test('a 429 from the stand-in reaches the SDK as such', async () => {
  await serve.cmd({ cmd: 'fault', service: 'elevenlabs', status: 429, retry_after: 1 });
  await assert.rejects(client.textToSpeech.stream(serve.ports.elevenlabs_voice, { text: 'Hi', outputFormat: 'ulaw_8000' }),
    (e) => e.statusCode === 429);
});
