import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AgentError } from '../../../src-shared/contract/index.js';
import { decodeWav, readWavFile } from './wavReader.node.js';
import { encodeWav16 } from './wavCodec.node.js';

const JFK_WAV = path.resolve(import.meta.dirname, '../../../../shared/audio/jfk.wav');
const workDir = mkdtempSync(path.join(tmpdir(), 'wav-reader-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

function sox(...args: string[]): void {
  execFileSync('sox', args, { stdio: 'pipe' });
}

function rms(samples: Int16Array, from = 0, to = samples.length): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += samples[i]! * samples[i]!;
  return Math.sqrt(sum / (to - from));
}

async function badAudioError(run: () => unknown): Promise<AgentError> {
  try {
    await run();
  } catch (error) {
    expect(error).toBeInstanceOf(AgentError);
    expect((error as AgentError).code).toBe('BAD_AUDIO');
    return error as AgentError;
  }
  throw new Error('expected a BAD_AUDIO error');
}

describe('readWavFile', () => {
  it('reads jfk.wav (16 kHz mono, with a LIST chunk) sample for sample', async () => {
    const audio = await readWavFile(JFK_WAV);
    expect(audio.sampleRate).toBe(16_000);
    expect(audio.samples.length).toBe(176_000);
    expect(audio.durationMs).toBe(11_000);
    // sox reads the same file; its raw output must equal ours exactly.
    const raw = execFileSync('sox', [JFK_WAV, '-t', 'raw', '-e', 'signed', '-b', '16', '-L', '-']);
    expect(Buffer.from(audio.samples.buffer).equals(raw)).toBe(true);
  });

  it('downmixes and resamples a stereo 44.1 kHz file to 16 kHz mono with the tone kept', async () => {
    const file = path.join(workDir, 'stereo44k.wav');
    // 1 s at 44.1 kHz: a 440 Hz tone on the left, silence on the right.
    sox('-n', '-r', '44100', '-c', '2', '-b', '16', file, 'synth', '1', 'sine', '440', 'sine', '440', 'remix', '1', '0');
    const audio = await readWavFile(file);
    expect(audio.sampleRate).toBe(16_000);
    expect(audio.samples.length).toBe(16_000);
    expect(audio.durationMs).toBe(1000);
    // A full-scale sine has RMS 1/sqrt(2); averaged with a silent channel it halves.
    const expectedRms = (0.5 * 32768) / Math.SQRT2;
    expect(rms(audio.samples, 1000, 15_000)).toBeGreaterThan(expectedRms * 0.97);
    expect(rms(audio.samples, 1000, 15_000)).toBeLessThan(expectedRms * 1.03);
    // The tone is still 440 Hz: count zero crossings over the middle 0.875 s.
    let crossings = 0;
    for (let i = 1001; i < 15_000; i++) if ((audio.samples[i - 1]! < 0) !== (audio.samples[i]! < 0)) crossings++;
    expect(crossings / 2 / (14_000 / 16_000)).toBeCloseTo(440, -1);
  });

  it('removes content above 8 kHz instead of aliasing it into the speech band', async () => {
    const file = path.join(workDir, 'tone12k.wav');
    sox('-n', '-r', '48000', '-c', '1', '-b', '16', file, 'synth', '1', 'sine', '12000', 'vol', '0.5');
    const audio = await readWavFile(file);
    // Linear interpolation would leave a loud 4 kHz alias; a proper low-pass leaves almost nothing.
    expect(rms(audio.samples, 1000, 15_000)).toBeLessThan(0.01 * 0.5 * 32768);
  });

  it('reads 32-bit float and 4-channel files', async () => {
    const floatFile = path.join(workDir, 'float.wav');
    sox('-n', '-r', '22050', '-c', '4', '-e', 'floating-point', '-b', '32', floatFile, 'synth', '0.5', 'sine', '300', 'vol', '0.25');
    const audio = await readWavFile(floatFile);
    expect(audio.samples.length).toBe(8000);
    expect(rms(audio.samples, 500, 7500)).toBeGreaterThan(((0.25 * 32768) / Math.SQRT2) * 0.97);
  });

  it('keeps what is there when the data chunk is cut short', () => {
    const wav = encodeWav16(new Int16Array(1600).fill(1000), 16_000);
    const audio = decodeWav(wav.subarray(0, 44 + 800), 'cut.wav');
    expect(audio.samples.length).toBe(400);
    expect(audio.samples[399]).toBe(1000);
  });

  it('rejects a text file, naming the file and the problem', async () => {
    const file = path.join(workDir, 'notes.wav');
    writeFileSync(file, 'these are not the samples you are looking for\n');
    const error = await badAudioError(() => readWavFile(file));
    expect(error.message).toContain(file);
    expect(error.message).toMatch(/no RIFF\/WAVE header/);
  });

  it('rejects a corrupt file whose header is cut off inside the fmt chunk', async () => {
    const file = path.join(workDir, 'corrupt.wav');
    writeFileSync(file, readFileSync(JFK_WAV).subarray(0, 24));
    const error = await badAudioError(() => readWavFile(file));
    expect(error.message).toContain(file);
    expect(error.message).toMatch(/"fmt " chunk is truncated/);
  });

  it('rejects empty files, header-only files, missing files and unsupported encodings', async () => {
    const empty = path.join(workDir, 'empty.wav');
    writeFileSync(empty, '');
    expect((await badAudioError(() => readWavFile(empty))).message).toMatch(/empty/);

    const headerOnly = path.join(workDir, 'header-only.wav');
    writeFileSync(headerOnly, encodeWav16(new Int16Array(0), 16_000));
    expect((await badAudioError(() => readWavFile(headerOnly))).message).toMatch(/no audio samples/);

    const missing = path.join(workDir, 'missing.wav');
    expect((await badAudioError(() => readWavFile(missing))).message).toMatch(/does not exist/);

    const alaw = path.join(workDir, 'alaw.wav');
    sox('-n', '-r', '8000', '-c', '1', '-e', 'a-law', alaw, 'synth', '0.2', 'sine', '440');
    expect((await badAudioError(() => readWavFile(alaw))).message).toMatch(/format tag 0x6, 8-bit\) is not supported/);
  });
});
