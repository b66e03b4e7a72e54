import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSayCommand } from './sayCommand.node.js';

function captureIo() {
  const io = { out: '', err: '', stdout: { write: (t: string) => (io.out += t) }, stderr: { write: (t: string) => (io.err += t) } };
  return io;
}

describe('assistant say', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'say-test-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes a playable WAV of the speakable text, skipping markdown and emoji', async () => {
    const io = captureIo();
    const out = join(dir, 'timer.wav');
    const code = await runSayCommand(['**Set** a timer for `ten` minutes 🙂', '-o', out, '--voice', 'kal16', '--rate', '1.2'], io);
    expect(io.err).toBe('');
    expect(code).toBe(0);
    expect(io.out).toContain(out);

    const wav = await readFile(out);
    expect(wav.toString('latin1', 0, 4)).toBe('RIFF');
    expect(wav.readUInt16LE(22)).toBe(1);
    const sampleRate = wav.readUInt32LE(24);
    expect(sampleRate).toBe(16000);
    const duration = wav.readUInt32LE(40) / 2 / sampleRate;
    expect(duration).toBeGreaterThan(0.5);
    expect(duration).toBeLessThan(6);
  });

  it('refuses empty text with usage help', async () => {
    const io = captureIo();
    expect(await runSayCommand(['  ', '-o', join(dir, 'empty.wav')], io)).toBe(2);
    expect(io.err).toMatch(/needs the text to speak/);
    expect(io.err).toContain('Usage: assistant say');
  });

  it('refuses text with nothing to say aloud', async () => {
    const io = captureIo();
    expect(await runSayCommand(['🙂 https://example.com', '-o', join(dir, 'emoji.wav')], io)).toBe(2);
    expect(io.err).toMatch(/nothing to say aloud/);
  });

  it('asks for an output file when -o is missing', async () => {
    const io = captureIo();
    expect(await runSayCommand(['Hello there.'], io)).toBe(2);
    expect(io.err).toMatch(/-o <file\.wav>/);
  });

  it('explains an output path it cannot write', async () => {
    const io = captureIo();
    const out = join(dir, 'no-such-folder', 'out.wav');
    expect(await runSayCommand(['Hello there.', '-o', out], io)).toBe(1);
    expect(io.err).toContain(out);
    expect(io.err).toMatch(/folder does not exist/);

    const intoFolder = captureIo();
    expect(await runSayCommand(['Hello there.', '-o', dir], intoFolder)).toBe(1);
    expect(intoFolder.err).toMatch(/it is a folder/);
  });

  it('lists the voices, and names them when given an unknown one', async () => {
    const list = captureIo();
    expect(await runSayCommand(['--list-voices'], list)).toBe(0);
    expect(list.out.split('\n')).toEqual(expect.arrayContaining(['slt', 'kal16', 'awb']));

    const io = captureIo();
    expect(await runSayCommand(['Hello.', '-o', join(dir, 'x.wav'), '--voice', 'nobody'], io)).toBe(1);
    expect(io.err).toMatch(/Unknown voice "nobody".*slt/);
  });

  it('rejects a made-up voice name cleanly: names it (control characters escaped), lists the voices, writes nothing', async () => {
    for (const voice of ['flite:../../etc/passwd', '../../etc/passwd', 'slt\u001b[2J\u0007']) {
      const io = captureIo();
      const out = join(dir, 'made-up-voice.wav');
      expect(await runSayCommand(['Hello.', '-o', out, '--voice', voice], io), voice).toBe(1);
      expect(io.err).toContain(`Unknown voice ${JSON.stringify(voice)}`);
      expect(io.err).toMatch(/slt, kal16/);
      expect(io.err).not.toMatch(/\p{Cc}(?<!\n)/u);
      expect(io.err).not.toMatch(/\n\s+at /);
      expect(existsSync(out)).toBe(false);
    }
  });

  it('rejects a rate that is not a number', async () => {
    const io = captureIo();
    expect(await runSayCommand(['Hello.', '-o', join(dir, 'x.wav'), '--rate', 'fast'], io)).toBe(2);
    expect(io.err).toMatch(/--rate must be a number/);
  });
});
