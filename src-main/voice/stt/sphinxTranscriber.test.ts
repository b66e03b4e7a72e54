import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentError } from '../../../src-shared/contract/index.js';
import { encodeWav16 } from '../audio/wavCodec.node.js';
import { decodeWav, readWavFile, type PcmAudio } from '../audio/wavReader.node.js';
import { isMeanLine, sphinxStreamHelperPath } from './sphinxDecoderProcess.node.js';
import { findExecutable, SphinxTranscriber } from './sphinxTranscriber.node.js';
import { transcribeWhole, type PartialTranscript, type RecognitionStream } from './speechTranscriber.js';

const JFK_WAV = path.resolve(import.meta.dirname, '../../../../shared/audio/jfk.wav');
const sphinxInstalled = findExecutable('pocketsphinx_continuous') !== undefined;
const helperBuilt = existsSync(sphinxStreamHelperPath());
if (!helperBuilt) console.warn(`Skipping the streaming PocketSphinx tests: ${sphinxStreamHelperPath()} is not built (npm run build with libpocketsphinx-dev).`);
if (!sphinxInstalled) console.warn('Skipping the pocketsphinx_continuous tests: PocketSphinx is not installed (apt-get install pocketsphinx pocketsphinx-en-us).');

/** A clear test utterance, spoken by the project's flite voice. */
async function synthesizeUtterance(text: string): Promise<PcmAudio> {
  const { FliteSpeechSynthesizer } = await import('../tts/fliteSpeechSynthesizer.node.js');
  const synthesizer = new FliteSpeechSynthesizer();
  try {
    const speech = await synthesizer.synthesize(text, { voice: 'kal16' });
    return decodeWav(encodeWav16(speech.samples, speech.sampleRate), 'flite output');
  } finally {
    await synthesizer.dispose();
  }
}

/** Pushes `audio` in 20 ms frames, as a microphone delivers them (without waiting between frames). */
function pushFrames(stream: RecognitionStream, audio: Int16Array): void {
  for (let at = 0; at < audio.length; at += 320) stream.push(audio.subarray(at, at + 320));
}

/** The running streaming decoders (this test file's). */
function decoderPids(): number[] {
  try {
    return execFileSync('pgrep', ['-f', sphinxStreamHelperPath()], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return []; // pgrep exits 1 when none matches
  }
}

function killDecoders(signal: NodeJS.Signals): void {
  for (const pid of decoderPids()) process.kill(pid, signal);
}

function words(text: string): string[] {
  return text.toLowerCase().split(/\s+/).filter(Boolean);
}

describe.skipIf(!helperBuilt || !sphinxInstalled)('SphinxTranscriber, streaming (one decoder kept loaded: build/native/sphinx-stream)', () => {
  let timer: PcmAudio;
  let jfk: PcmAudio;
  let transcriber: SphinxTranscriber;
  let dataDir: string;
  beforeAll(async () => {
    timer = await synthesizeUtterance('Set a timer for ten minutes.');
    jfk = await readWavFile(JFK_WAV);
    dataDir = mkdtempSync(path.join(tmpdir(), 'sphinx-stream-test-'));
    transcriber = new SphinxTranscriber({ meanFile: path.join(dataDir, 'sphinx-mean.txt') });
    await transcriber.load();
  });
  afterAll(async () => {
    await transcriber?.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('uses the streaming decoder', () => {
    expect(transcriber.streaming).toBe(true);
  });

  it('gives the same words for jfk.wav fed in 20 ms frames as for the whole file at once, on fresh decoders', async () => {
    const whole = new SphinxTranscriber();
    const framed = new SphinxTranscriber();
    try {
      const [all, frames] = await Promise.all([
        transcribeWhole(whole, jfk.samples),
        (async () => {
          const stream = framed.stream();
          // Frames arrive one event-loop turn apart, the way mic frames do.
          for (let at = 0; at < jfk.samples.length; at += 320) {
            stream.push(jfk.samples.subarray(at, at + 320));
            if (at % 16_000 === 0) await new Promise((resolve) => setImmediate(resolve));
          }
          return stream.finish();
        })(),
      ]);
      expect(all.noSpeech).toBe(false);
      expect(words(frames.text)).toEqual(words(all.text));
      expect(frames.text).toMatch(/\bcountry\b/);
    } finally {
      await Promise.all([whole.dispose(), framed.dispose()]);
    }
  });

  it('recognises a clear utterance, with partial transcripts while it is spoken', async () => {
    const stream = transcriber.stream();
    const partials: PartialTranscript[] = [];
    stream.onPartial((partial) => partials.push(partial));
    pushFrames(stream, timer.samples);
    // The decoder reports what it has heard before the end of speech.
    await expect.poll(() => partials.length, { timeout: 20_000 }).toBeGreaterThan(0);
    const transcript = await stream.finish();
    expect(transcript.text).toMatch(/\btimer\b/);
    expect(transcript.text).toMatch(/\bten minutes\b/);
    for (const partial of partials) expect(partial.text.startsWith(partial.stable)).toBe(true);
    expect(stream.partial()).toEqual(partials.at(-1));
  });

  it('keeps the cepstral mean it adapted to, for the next session', async () => {
    await expect.poll(() => existsSync(path.join(dataDir, 'sphinx-mean.txt')), { timeout: 5_000 }).toBe(true);
    const saved = readFileSync(path.join(dataDir, 'sphinx-mean.txt'), 'utf8').trim().split(',').map(Number);
    expect(saved).toHaveLength(13);
    expect(saved.every(Number.isFinite)).toBe(true);
  });

  it('finishes silence as no speech at once, without waiting for the decoder busy with an earlier utterance', async () => {
    const busy = transcriber.stream();
    pushFrames(busy, jfk.samples);
    const busyFinished = busy.finish();
    const quiet = transcriber.stream();
    pushFrames(quiet, new Int16Array(16_000));
    let busyDone = false;
    void busyFinished.then(() => (busyDone = true));
    expect(await quiet.finish()).toEqual({ text: '', noSpeech: true });
    expect(busyDone).toBe(false);
    // (Its words depend on the cepstral mean left by the flite voice before it, so only that it has some is checked.)
    expect((await busyFinished).noSpeech).toBe(false);
  });

  it('recognises utterances in order when the next one starts before the last has finished', async () => {
    const first = transcriber.stream();
    const second = transcriber.stream();
    pushFrames(first, timer.samples);
    pushFrames(second, jfk.samples.subarray(0, 16_000 * 4)); // "And so, my fellow Americans"
    const [a, b] = await Promise.all([first.finish(), second.finish()]);
    expect(a.text).toMatch(/\btimer\b/);
    expect(b.text).toMatch(/\bfellow\b/);
  });

  it('rejects a cancelled utterance with CANCELLED and recognises the next one normally', async () => {
    const cancelled = transcriber.stream();
    pushFrames(cancelled, jfk.samples);
    const pending = cancelled.finish();
    cancelled.cancel();
    await expect(pending).rejects.toMatchObject({ code: 'CANCELLED' });
    const aborted = new AbortController();
    const other = transcriber.stream();
    pushFrames(other, jfk.samples);
    const otherPending = other.finish({ signal: aborted.signal });
    aborted.abort();
    await expect(otherPending).rejects.toMatchObject({ code: 'CANCELLED' });

    const next = transcriber.stream();
    pushFrames(next, timer.samples);
    expect((await next.finish()).text).toMatch(/\btimer\b/);
  });

  it('hears an utterance again on a new decoder when the decoder process dies with it', async () => {
    const stream = transcriber.stream();
    pushFrames(stream, timer.samples);
    const pending = stream.finish();
    killDecoders('SIGKILL');
    expect((await pending).text).toMatch(/\btimer\b/);
    const next = transcriber.stream();
    pushFrames(next, timer.samples);
    expect((await next.finish()).text).toMatch(/\btimer\b/);
  });

  it('fails an utterance whose decoder dies with it twice, with a clear error, and hears the next one', async () => {
    const stream = transcriber.stream();
    pushFrames(stream, jfk.samples);
    const pending = stream.finish();
    killDecoders('SIGKILL');
    // The second decoder: killed as soon as it is running.
    await expect.poll(() => decoderPids().length, { timeout: 20_000 }).toBeGreaterThan(0);
    killDecoders('SIGKILL');
    await expect(pending).rejects.toMatchObject({ code: 'STT_UNAVAILABLE', message: expect.stringContaining('PocketSphinx decoder stopped') });
    const next = transcriber.stream();
    pushFrames(next, timer.samples);
    expect((await next.finish()).text).toMatch(/\btimer\b/);
  });
});

describe.skipIf(!helperBuilt || !sphinxInstalled)('SphinxTranscriber, streaming: a decoder that hangs or a damaged saved mean', () => {
  let timer: PcmAudio;
  beforeAll(async () => {
    timer = await synthesizeUtterance('Set a timer for ten minutes.');
  });

  it('restarts a decoder that stops responding and hears the utterance on the new one', async () => {
    const transcriber = new SphinxTranscriber({ stallMs: 1_000 });
    try {
      await transcriber.load();
      const stream = transcriber.stream();
      pushFrames(stream, timer.samples);
      const pending = stream.finish();
      const stopped = decoderPids();
      for (const pid of stopped) process.kill(pid, 'SIGSTOP');
      expect((await pending).text).toMatch(/\btimer\b/);
      // The stopped one was killed, not left behind.
      for (const pid of stopped) expect(() => process.kill(pid, 0)).toThrow();
    } finally {
      await transcriber.dispose();
    }
  });

  it.each([
    ['not numbers', 'nan,nan,nan,nan,nan,nan,nan,nan,nan,nan,nan,nan,nan'],
    ['too large', Array.from({ length: 13 }, () => '1e308').join(',')],
    ['binary', '\u0000\u0001\u00ff'.repeat(100)],
    ['over 4 KiB', '1,'.repeat(1_500_000)],
  ])('ignores a saved mean that is %s, and keeps recognising (then saves a good one)', async (_, content) => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'sphinx-mean-'));
    const meanFile = path.join(dataDir, 'mean.txt');
    writeFileSync(meanFile, content);
    const transcriber = new SphinxTranscriber({ meanFile });
    try {
      await transcriber.load();
      for (let i = 0; i < 2; i++) {
        const stream = transcriber.stream();
        pushFrames(stream, timer.samples);
        expect((await stream.finish()).text).toMatch(/\btimer\b/);
      }
      await expect.poll(() => isMeanLine(readFileSync(meanFile, 'latin1').trim()), { timeout: 5_000 }).toBe(true);
    } finally {
      await transcriber.dispose();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!sphinxInstalled)('SphinxTranscriber, one pocketsphinx_continuous per utterance (no streaming decoder built)', () => {
  it('recognises a clear utterance', async () => {
    const utterance = await synthesizeUtterance('Set a timer for ten minutes.');
    const transcriber = new SphinxTranscriber({ helperPath: '/nonexistent/sphinx-stream' });
    expect(transcriber.streaming).toBe(false);
    const transcript = await transcribeWhole(transcriber, utterance.samples);
    expect(transcript.text).toMatch(/\btimer\b/);
    expect(transcript.text).toMatch(/\bten minutes\b/);
  });

  it('reports silence as no speech', async () => {
    const transcriber = new SphinxTranscriber({ helperPath: '/nonexistent/sphinx-stream' });
    expect(await transcribeWhole(transcriber, new Int16Array(32_000))).toEqual({ text: '', noSpeech: true });
  });

  it('stops the recogniser and rejects with CANCELLED when aborted', async () => {
    const audio = decodeWav(execFileSync('sox', ['-n', '-r', '16000', '-c', '1', '-b', '16', '-t', 'wav', '-', 'synth', '3', 'pinknoise', 'vol', '0.3']), 'noise');
    const controller = new AbortController();
    const pending = transcribeWhole(new SphinxTranscriber({ helperPath: '/nonexistent/sphinx-stream' }), audio.samples, { signal: controller.signal });
    setImmediate(() => controller.abort());
    await expect(pending).rejects.toMatchObject({ code: 'CANCELLED' });
  });
});

describe('SphinxTranscriber without pocketsphinx', () => {
  it('says how to install it', async () => {
    const transcriber = new SphinxTranscriber({ binary: 'pocketsphinx_not_installed_here', helperPath: '/nonexistent/sphinx-stream' });
    const error = await transcriber.load().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AgentError);
    expect(error).toMatchObject({ code: 'STT_UNAVAILABLE', message: expect.stringContaining('apt-get install pocketsphinx pocketsphinx-en-us') });
  });
});
