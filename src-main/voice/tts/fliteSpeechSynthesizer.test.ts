import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { AgentError } from '../../../src-shared/contract/index.js';
import { encodeWav16 } from '../audio/wavCodec.node.js';
import { FliteSpeechSynthesizer } from './fliteSpeechSynthesizer.node.js';
import type { SynthesizedAudio } from './speechSynthesizer.js';

const synthesizer = new FliteSpeechSynthesizer();
const SENTENCE = 'The weather today is sunny with a light breeze from the west.';

const seconds = (audio: SynthesizedAudio) => audio.samples.length / audio.sampleRate;
/** Root-mean-square level as a fraction of full scale. */
function rms(audio: SynthesizedAudio): number {
  let sum = 0;
  for (const sample of audio.samples) sum += (sample / 32768) ** 2;
  return Math.sqrt(sum / Math.max(1, audio.samples.length));
}

async function rejection(promise: Promise<unknown>): Promise<AgentError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(AgentError);
  return error as AgentError;
}

describe('FliteSpeechSynthesizer', () => {
  it('speaks a sentence as audible audio of plausible length', async () => {
    const audio = await synthesizer.synthesize(SENTENCE);
    expect(audio.sampleRate).toBe(16000);
    expect(seconds(audio)).toBeGreaterThan(0.3);
    expect(seconds(audio)).toBeLessThan(10);
    expect(rms(audio)).toBeGreaterThan(0.02);
  });

  it('speaks with every listed voice, and the voices sound different', async () => {
    const byVoice = new Map<string, SynthesizedAudio>();
    for (const voice of synthesizer.voices) {
      const audio = await synthesizer.synthesize('Set a timer for ten minutes.', { voice });
      expect(seconds(audio), voice).toBeGreaterThan(0.3);
      expect(seconds(audio), voice).toBeLessThan(10);
      expect(rms(audio), voice).toBeGreaterThan(0.02);
      byVoice.set(voice, audio);
    }
    const slt = byVoice.get('slt')!;
    const kal16 = byVoice.get('kal16')!;
    expect(slt.samples.length === kal16.samples.length && slt.samples.every((s, i) => s === kal16.samples[i])).toBe(false);
    expect(new Set([...byVoice.values()].map((audio) => audio.samples.length)).size).toBeGreaterThan(1);
  });

  it('speaks faster at a higher rate and slower at a lower one', async () => {
    const normal = seconds(await synthesizer.synthesize(SENTENCE));
    const fast = seconds(await synthesizer.synthesize(SENTENCE, { rate: 2 }));
    const slow = seconds(await synthesizer.synthesize(SENTENCE, { rate: 0.5 }));
    expect(fast).toBeLessThan(normal * 0.75);
    expect(slow).toBeGreaterThan(normal * 1.5);
  });

  it('gives a clear error for empty or whitespace-only text', async () => {
    for (const text of ['', '   \n\t']) {
      const error = await rejection(synthesizer.synthesize(text));
      expect(error.code).toBe('TTS_FAILED');
      expect(error.message).toMatch(/empty/);
    }
  });

  it('names the available voices when given an unknown one', async () => {
    const error = await rejection(synthesizer.synthesize('Hello.', { voice: 'nobody' }));
    expect(error.code).toBe('TTS_FAILED');
    expect(error.message).toContain('"nobody"');
    for (const voice of synthesizer.voices) expect(error.message).toContain(voice);
  });

  it('rejects a rate it cannot honour', async () => {
    for (const rate of [0, -1, Number.NaN, 100]) {
      const error = await rejection(synthesizer.synthesize('Hello.', { rate }));
      expect(error.code).toBe('TTS_FAILED');
      expect(error.message).toMatch(/rate/i);
    }
  });

  it('does not speak once cancelled', async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await rejection(synthesizer.synthesize(SENTENCE, { signal: controller.signal }));
    expect(error.code).toBe('CANCELLED');
  });

  it('can be understood by a speech recogniser (pocketsphinx)', async (context) => {
    const recognizer = '/usr/bin/pocketsphinx_continuous';
    if (!existsSync(recognizer)) {
      console.log(`Skipping the recognition check: ${recognizer} is not installed (apt-get install pocketsphinx pocketsphinx-en-us).`);
      context.skip();
    }
    const dir = await mkdtemp(join(tmpdir(), 'flite-test-'));
    try {
      // awb is the built-in voice pocketsphinx's US model recognises best (slt comes back as "saturday night ...").
      const audio = await synthesizer.synthesize('Set a timer for ten minutes.', { voice: 'awb' });
      const wavPath = join(dir, 'timer.wav');
      await writeFile(wavPath, encodeWav16(audio.samples, audio.sampleRate));
      const { stdout } = await promisify(execFile)(recognizer, ['-infile', wavPath, '-logfn', '/dev/null']);
      expect(stdout).toContain('timer');
      expect(stdout).toContain('minutes');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
