import { execFile, execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { concatSamples } from '../../../src-shared/audio/sampleArrays.js';
import { AgentError } from '../../../src-shared/contract/index.js';
import { readWavFile } from '../audio/wavReader.node.js';
import { requireModelPath } from '../../models/modelResolver.node.js';
import { SileroVad } from './sileroVad.node.js';
import type { VadEvent } from './voiceActivityDetector.js';

const JFK_WAV = path.resolve(import.meta.dirname, '../../../../shared/audio/jfk.wav');
const RATE = 16_000;
const FRAME = 320; // 20 ms, as a microphone worklet would deliver

/**
 * The four phrases of jfk.wav, read off its 20 ms RMS envelope (speech rises from a -40 dBFS hiss floor
 * to -10 dBFS): "And so my fellow Americans" / "ask not" / "what your country can do for you" /
 * "ask what you can do for your country".
 */
const JFK_PHRASES_MS = [
  { start: 320, end: 2120 },
  { start: 3280, end: 4280 },
  { start: 5400, end: 7500 },
  { start: 8180, end: 10_350 },
];

let jfk: Int16Array;
let vad: SileroVad;

beforeAll(async () => {
  jfk = (await readWavFile(JFK_WAV)).samples;
  vad = await SileroVad.load({ modelPath: requireModelPath('silero-vad') });
});
afterAll(() => vad?.dispose());

async function detect(audio: Int16Array): Promise<VadEvent[]> {
  vad.reset();
  const events: VadEvent[] = [];
  for (let i = 0; i < audio.length; i += FRAME) events.push(...(await vad.push(audio.subarray(i, i + FRAME))));
  events.push(...(await vad.flush()));
  return events;
}

function ends(events: VadEvent[]) {
  return events.filter((event) => event.type === 'speech-end');
}

const ms = (millis: number) => Math.round((millis * RATE) / 1000);
const silence = (millis: number) => new Int16Array(ms(millis));
const slice = (audio: Int16Array, fromMs: number, toMs: number) => audio.slice(ms(fromMs), ms(toMs));
const concat = (...parts: Int16Array[]) => concatSamples(Int16Array, parts);

describe('SileroVad on real audio', () => {
  it('finds the four spoken phrases of jfk.wav as four turns at the right times', async () => {
    const events = await detect(jfk);
    const turns = ends(events);
    expect(turns).toHaveLength(4);
    turns.forEach((turn, index) => {
      const phrase = JFK_PHRASES_MS[index]!;
      expect(Math.abs(turn.startMs - phrase.start)).toBeLessThanOrEqual(150);
      // Silero holds speech a little past the last audible energy; never cuts the phrase short.
      expect(turn.atMs).toBeGreaterThanOrEqual(phrase.end - 50);
      expect(turn.atMs).toBeLessThanOrEqual(phrase.end + 400);
      expect(turn.capped).toBe(false);
      // The audio holds ~200 ms of pre-roll before the start and the whole phrase.
      expect(turn.audio.length / RATE * 1000).toBeGreaterThanOrEqual(turn.atMs - turn.startMs + 190);
    });
    // Every turn is announced (for barge-in) before it ends, at its start time.
    const turnEvents = events.filter((event) => event.type === 'speech-start' || event.type === 'speech-end');
    expect(turnEvents.map((event) => event.type)).toEqual(['speech-start', 'speech-end', 'speech-start', 'speech-end', 'speech-start', 'speech-end', 'speech-start', 'speech-end']);
    expect(events.filter((event) => event.type === 'speech-start').map((event) => event.atMs)).toEqual(turns.map((turn) => turn.startMs));
  });

  it('reports each pause inside a turn once, followed by the resume or the end of the turn', async () => {
    const events = await detect(jfk);
    const sequence = events.map((event) => event.type).join(' ');
    expect(sequence).toMatch(/^(speech-start (speech-pause speech-resume )*(speech-pause )?speech-end ?)+$/);
    // The silences between the phrases are longer than a pause: one is reported before each of those turns ends.
    expect(events.filter((event) => event.type === 'speech-pause').length).toBeGreaterThanOrEqual(3);
  });

  it('keeps the first syllable: the utterance audio starts before the speech does', async () => {
    const [first] = ends(await detect(jfk));
    const onsetIndex = first!.audio.findIndex((sample) => Math.abs(sample) > 3000);
    expect(onsetIndex / RATE * 1000).toBeGreaterThan(100);
  });

  it('gives no turn for 0.1 s of speech', async () => {
    expect(await detect(concat(silence(1000), slice(jfk, 3300, 3400), silence(1500)))).toEqual([]);
  });

  it('gives no turn for white noise', async () => {
    const noise = execFileSync('sox', ['-n', '-r', '16000', '-c', '1', '-b', '16', '-t', 'raw', '-', 'synth', '5', 'whitenoise', 'vol', '0.3']);
    expect(await detect(new Int16Array(noise.buffer, noise.byteOffset, noise.length / 2))).toEqual([]);
  });

  it('gives no turn for silence or jfk.wav\'s background hiss alone', async () => {
    expect(await detect(silence(3000))).toEqual([]);
    const hiss = slice(jfk, 2400, 3200); // between phrases one and two
    expect(await detect(concat(hiss, hiss, hiss, hiss))).toEqual([]);
  });

  it('splits two utterances separated by more than the end-of-speech silence into two turns', async () => {
    const askNot = slice(jfk, 3150, 4450);
    const turns = ends(await detect(concat(silence(500), askNot, silence(800), askNot, silence(1000))));
    expect(turns).toHaveLength(2);
    expect(turns[1]!.startMs - turns[0]!.atMs).toBeGreaterThan(500);
  });

  it('keeps the same 800 ms gap in one turn when a longer end-of-speech silence is set at the pause', async () => {
    const askNot = slice(jfk, 3150, 4450);
    const audio = concat(silence(500), askNot, silence(800), askNot, silence(2000));
    vad.reset();
    const events: VadEvent[] = [];
    for (let i = 0; i < audio.length; i += FRAME) {
      const heard = await vad.push(audio.subarray(i, i + FRAME));
      // What the voice session does when the words so far end on a hanging word.
      if (heard.some((event) => event.type === 'speech-pause')) vad.setEndSilenceMs(1500);
      events.push(...heard);
    }
    events.push(...(await vad.flush()));
    expect(ends(events)).toHaveLength(1);
    expect(events.map((event) => event.type)).toContain('speech-resume');
  });

  it('caps a 70 s monologue at 60 s, flags it, and listens again after the speaker pauses', async () => {
    const speechOnly = concat(...JFK_PHRASES_MS.map((phrase) => slice(jfk, phrase.start - 50, phrase.end + 50)));
    const monologue: Int16Array[] = [];
    for (let total = 0; total < ms(70_000); total += speechOnly.length) monologue.push(speechOnly);
    const askNot = slice(jfk, 3150, 4450);
    const events = await detect(concat(...monologue, silence(1000), askNot, silence(1000)));
    const turns = ends(events);
    expect(turns).toHaveLength(2);
    expect(turns[0]!.capped).toBe(true);
    expect(turns[0]!.atMs - turns[0]!.startMs).toBeGreaterThanOrEqual(60_000);
    expect(turns[0]!.atMs - turns[0]!.startMs).toBeLessThan(60_200);
    // The last ~10 s of the monologue is not a turn; the later question is.
    expect(turns[1]!.capped).toBe(false);
    expect(turns[1]!.startMs).toBeGreaterThan(70_000);
  }, 120_000);
});

describe('SileroVad.load', () => {
  it('names a missing model file', async () => {
    const missing = path.join(tmpdir(), 'no-such-silero.bin');
    await expect(SileroVad.load({ modelPath: missing })).rejects.toMatchObject({ code: 'MODEL_MISSING', message: expect.stringContaining(missing) });
  });

  it('names a file that is not a VAD model', async () => {
    const garbage = path.join(tmpdir(), `not-a-vad-model-${process.pid}.bin`);
    writeFileSync(garbage, 'definitely not ggml');
    const error = await SileroVad.load({ modelPath: garbage }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AgentError);
    expect(error).toMatchObject({ code: 'MODEL_CORRUPT', message: expect.stringContaining(garbage) });
  });
});

describe('SileroVad and the process', () => {
  it('lets the process exit once disposed (whisper.cpp\'s routed log must not keep Node alive)', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'silero-exit-'));
    try {
      // A separate process, run by vite-node (it loads the TypeScript source like vitest does), must end on its own.
      const script = path.join(dir, 'detectThenEnd.mjs');
      await writeFile(
        script,
        `const { SileroVad } = await import(${JSON.stringify(path.join(import.meta.dirname, 'sileroVad.node.ts'))});
const { readWavFile } = await import(${JSON.stringify(path.join(import.meta.dirname, '../audio/wavReader.node.ts'))});
const vad = await SileroVad.load({ modelPath: ${JSON.stringify(requireModelPath('silero-vad'))} });
const { samples } = await readWavFile(${JSON.stringify(JFK_WAV)});
const events = [...(await vad.push(samples.subarray(0, 3 * 16000))), ...(await vad.flush())];
await vad.dispose();
console.log('turns', events.filter((event) => event.type === 'speech-end').length);
`,
      );
      const viteNode = path.join(import.meta.dirname, '../../../node_modules/.bin/vite-node');
      const { stdout } = await promisify(execFile)(viteNode, [script], { timeout: 20_000, cwd: dir });
      expect(stdout).toMatch(/turns [1-9]/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
