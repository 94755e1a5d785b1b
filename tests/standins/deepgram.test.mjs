// The Deepgram stand-in judged by Deepgram's own SDK (@deepgram/sdk): the
// SDK opens /v1/listen with its own query and Authorization header, parses
// every message the stand-in sends, and sees the close.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DeepgramClient } from '@deepgram/sdk';
import { startServe, pcm16, sleep } from './serve.mjs';

let serve;
before(async () => { serve = await startServe(); });
after(async () => { await serve.stop(); });

function client(key) {
  return new DeepgramClient({ apiKey: key, baseUrl: `ws://127.0.0.1:${serve.ports.deepgram}` });
}

test('live transcription through the SDK: SpeechStarted, interim and final results, UtteranceEnd, Metadata, close 1000', async () => {
  await serve.cmd({ cmd: 'say', service: 'deepgram', text: 'I need to reschedule my appointment.' });
  const socket = await client(serve.ports.deepgram_key).listen.v1.connect({
    model: 'nova-3', encoding: 'linear16', sample_rate: 16000, channels: 1,
    interim_results: 'true', endpointing: 300, utterance_end_ms: 1000, vad_events: 'true',
    punctuate: 'true', reconnectAttempts: 0,
  });
  const messages = [];
  let closed;
  const done = new Promise((resolve) => socket.on('close', (ev) => { closed = ev; resolve(); }));
  socket.on('message', (m) => messages.push(m));
  socket.connect();
  await socket.waitForOpen();
  // 2 s of speech then 1.6 s of silence, in 100 ms messages at twice real time.
  const audio = pcm16(16000, 2000, 1600);
  for (let off = 0; off < audio.length; off += 3200) {
    socket.sendMedia(audio.subarray(off, off + 3200));
    await sleep(50);
  }
  await sleep(400);
  socket.sendCloseStream({ type: 'CloseStream' });
  await done;
  const types = messages.map((m) => m.type);
  assert.equal(types[0], 'SpeechStarted');
  assert.ok(Math.abs(messages[0].timestamp - 0.0) < 0.1, `onset ${messages[0].timestamp}`);
  const interim = messages.filter((m) => m.type === 'Results' && !m.is_final);
  assert.ok(interim.length >= 1, 'interim results');
  const final = messages.find((m) => m.type === 'Results' && m.speech_final);
  assert.ok(final, `a speech_final result in ${types.join(',')}`);
  assert.equal(final.is_final, true);
  assert.equal(final.channel.alternatives[0].transcript, 'I need to reschedule my appointment.');
  assert.equal(final.channel.alternatives[0].words[0].word, 'i');
  assert.equal(final.channel.alternatives[0].words[0].punctuated_word, 'I');
  // Endpointing came from the audio: the speech lasted 2 s, 300 ms of silence ends it.
  const end = final.start + final.duration;
  assert.ok(end >= 2.2 && end <= 2.5, `endpoint at ${end}`);
  assert.ok(types.includes('UtteranceEnd'));
  const ue = messages.find((m) => m.type === 'UtteranceEnd');
  assert.ok(ue.last_word_end <= 2.05 && ue.last_word_end > 1.5, `last_word_end ${ue.last_word_end}`);
  assert.equal(types.at(-1), 'Metadata');
  assert.ok(Math.abs(messages.at(-1).duration - 3.6) < 0.05);
  assert.equal(closed.code, 1000);
});

test('a wrong key is refused at the upgrade (401), as the SDK reports it', async () => {
  const socket = await client('not-the-key').listen.v1.connect({
    model: 'nova-3', encoding: 'mulaw', sample_rate: 8000, reconnectAttempts: 0,
  });
  const err = new Promise((resolve) => socket.on('error', resolve));
  socket.connect();
  const e = await err;
  assert.match(String(e.message), /401/);
  assert.notEqual(socket.readyState, 1);
  socket.close();
});

test('an idle socket is closed with 1011 and the NET-0001 reason', async () => {
  const socket = await client(serve.ports.deepgram_key).listen.v1.connect({
    model: 'nova-3', encoding: 'mulaw', sample_rate: 8000, reconnectAttempts: 0,
  });
  const closed = new Promise((resolve) => socket.on('close', resolve));
  socket.connect();
  await socket.waitForOpen();
  const ev = await closed; // standin-serve's idle timeout is 3 s
  assert.equal(ev.code, 1011);
  assert.match(ev.reason, /net0001/);
});
