// Starts the C stand-ins (STANDIN_SERVE) and talks to them, one JSON line
// each way; plus audio for the SDK tests, made here independently of the C
// helpers: a voiced sound (harmonics of 140 Hz at about -20 dBFS) and
// silence.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export async function startServe() {
  const bin = process.env.STANDIN_SERVE;
  if (!bin) throw new Error('STANDIN_SERVE is not set (run through run.sh)');
  const child = spawn(bin, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const waiting = [];
  lines.on('line', (l) => {
    const w = waiting.shift();
    if (w) w(JSON.parse(l));
  });
  const next = () => new Promise((resolve) => waiting.push(resolve));
  const ports = await next();
  return {
    ports,
    async cmd(obj) {
      const p = next();
      child.stdin.write(JSON.stringify(obj) + '\n');
      return p;
    },
    async stop() {
      const p = next();
      child.stdin.write('{"cmd":"quit"}\n');
      await p;
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

// 16-bit mono PCM: `speechMs` of a voiced sound then `silenceMs` of silence.
export function pcm16(rate, speechMs, silenceMs) {
  const ns = Math.round((rate * speechMs) / 1000);
  const nz = Math.round((rate * silenceMs) / 1000);
  const buf = Buffer.alloc((ns + nz) * 2);
  for (let i = 0; i < ns; i++) {
    const t = i / rate;
    let x = 0;
    for (let h = 1; h <= 6; h++) x += Math.sin(2 * Math.PI * 140 * h * t) / h;
    const env = 0.6 + 0.4 * Math.sin(2 * Math.PI * 4 * t);
    buf.writeInt16LE(Math.round(3000 * env * x), i * 2);
  }
  return buf;
}

export function wav(rate, pcm) {
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(36 + pcm.length, 4);
  h.write('WAVEfmt ', 8);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36);
  h.writeUInt32LE(pcm.length, 40);
  return Buffer.concat([h, pcm]);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
