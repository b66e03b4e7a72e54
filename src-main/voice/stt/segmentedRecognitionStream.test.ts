import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AgentError } from '../../../src-shared/contract/index.js';
import { encodeWav16 } from '../audio/wavCodec.node.js';
import { decodeWav, readWavFile } from '../audio/wavReader.node.js';
import { SegmentedRecognitionStream, type SegmentedRecognitionStreamOptions, type WholeBufferDecodeOptions } from './segmentedRecognitionStream.js';
import { decodeWithSphinxProcess, findExecutable, SPHINX_BINARY } from './sphinxBatchDecoder.node.js';
import { recognitionCancelled, type PartialTranscript } from './speechTranscriber.js';

const JFK_WAV = path.resolve(import.meta.dirname, '../../../../shared/audio/jfk.wav');
const SAMPLES_PER_MS = 16;
/** 20 ms, as a microphone delivers audio. */
const FRAME = 320;

// ---- Synthetic speech: each word is a 300 ms tone whose amplitude names it, so a decoder can read it back. ----

const VOCABULARY = ['and', 'so', 'my', 'fellow', 'americans', 'ask', 'not', 'what', 'your', 'country', 'can', 'do', 'for', 'you'] as const;
const WORD_MS = 300;
/** Between words of a phrase: far shorter than a pause. */
const WORD_GAP_MS = 60;
const amplitudeOf = (index: number) => 6000 + 300 * index; // about -15..-9 dBFS, like speech into a desktop mic

function tone(word: string): Int16Array {
  const index = VOCABULARY.indexOf(word as (typeof VOCABULARY)[number]);
  if (index === -1) throw new Error(`not in the vocabulary: ${word}`);
  return Int16Array.from({ length: WORD_MS * SAMPLES_PER_MS }, (_, at) => (Math.floor(at / 16) % 2 === 0 ? 1 : -1) * amplitudeOf(index));
}

/** Seeded so every run hears the same room. */
function hiss(ms: number, peak: number, seed = 1): Int16Array {
  let state = seed;
  return Int16Array.from({ length: ms * SAMPLES_PER_MS }, () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return Math.round((state / 2 ** 31 - 0.5) * 2 * peak);
  });
}

/** Room noise near -45 dBFS: above the energy gate (-50), so only a threshold relative to the speaker finds pauses. */
const roomNoise = (ms: number) => hiss(ms, 170);

function concat(parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function phrase(text: string): Int16Array {
  return concat(text.split(' ').flatMap((word, index) => (index === 0 ? [tone(word)] : [roomNoise(WORD_GAP_MS), tone(word)])));
}

const P1 = 'and so my fellow americans';
const P2 = 'ask not what your country';
const P3 = 'can do for you';
/** A pause between phrases, longer than the 300 ms that closes a segment. */
const PAUSE_MS = 500;
const threePhrases = (trailingMs = 0) =>
  concat([roomNoise(200), phrase(P1), roomNoise(PAUSE_MS), phrase(P2), roomNoise(PAUSE_MS), phrase(P3), roomNoise(trailingMs)]);

// ---- A scripted decoder: reads the words back from the tones, records every call, can hold or fail calls. ----

interface DecodeCall {
  words: string[];
  samples: number;
  partial: boolean;
  signal: AbortSignal;
  /** Whether `finish` had been called when the stream asked for this decode. */
  afterFinish: boolean;
}

class ScriptedToneDecoder {
  readonly calls: DecodeCall[] = [];
  /** While true, calls wait until `release()`. */
  holding = false;
  finishCalled = false;
  /** Returns an error to fail a call with, or the raw text to answer instead of the words heard. */
  script: (call: DecodeCall) => Error | string | undefined = () => undefined;
  private held: (() => void)[] = [];
  private callWaiters: (() => void)[] = [];

  readonly decode = (audio: Int16Array, { signal, partial }: WholeBufferDecodeOptions): Promise<string> => {
    const call: DecodeCall = { words: wordsIn(audio), samples: audio.length, partial, signal, afterFinish: this.finishCalled };
    this.calls.push(call);
    for (const wake of this.callWaiters.splice(0)) wake();
    return new Promise<void>((resolve, reject) => {
      if (signal.aborted) return reject(recognitionCancelled());
      signal.addEventListener('abort', () => reject(recognitionCancelled()), { once: true });
      if (this.holding) this.held.push(resolve);
      else resolve();
    }).then(() => {
      const scripted = this.script(call);
      if (scripted instanceof Error) throw scripted;
      return scripted ?? call.words.join(' ');
    });
  };

  release(): void {
    this.holding = false;
    for (const resolve of this.held.splice(0)) resolve();
  }

  /** Resolves when there are `count` calls in all. */
  async callCount(count: number): Promise<DecodeCall[]> {
    while (this.calls.length < count) await within(new Promise<void>((wake) => this.callWaiters.push(wake)), `decode call #${count}`);
    return this.calls;
  }
}

/** The words whose whole tones lie in `audio`; a tone cut short reads as "?". */
function wordsIn(audio: Int16Array): string[] {
  const words: string[] = [];
  let at = 0;
  while (at < audio.length) {
    if (Math.abs(audio[at]!) < 3000) {
      at++;
      continue;
    }
    const start = at;
    while (at < audio.length && Math.abs(audio[at]!) >= 3000) at++;
    const index = Math.round((Math.abs(audio[start]!) - 6000) / 300);
    words.push(at - start >= WORD_MS * SAMPLES_PER_MS - 1 ? VOCABULARY[index]! : '?');
  }
  return words;
}

function within<T>(promise: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

function streamWith(decoder: ScriptedToneDecoder, options: Omit<SegmentedRecognitionStreamOptions, 'decode'> = {}) {
  const stream = new SegmentedRecognitionStream({ ...options, decode: decoder.decode });
  const partials: PartialTranscript[] = [];
  stream.onPartial((partial) => partials.push(partial));
  const finish = (signal?: AbortSignal) => {
    decoder.finishCalled = true;
    return stream.finish({ signal });
  };
  return { stream, partials, finish };
}

/** Pushes `audio` in 20 ms frames, as fast as recognition keeps up: like a live speaker with an engine faster than speech. */
async function speak(stream: SegmentedRecognitionStream, audio: Int16Array, deadlineMs = 10_000): Promise<void> {
  for (let at = 0; at < audio.length; at += FRAME) {
    stream.push(audio.subarray(at, at + FRAME));
    await within(stream.caughtUp(), 'recognition to catch up with the speaker', deadlineMs);
  }
}

function pushAll(stream: SegmentedRecognitionStream, audio: Int16Array): void {
  for (let at = 0; at < audio.length; at += FRAME) stream.push(audio.subarray(at, at + FRAME));
}

const segmentDecodes = (decoder: ScriptedToneDecoder) => decoder.calls.filter((call) => !call.partial);
const partialDecodes = (decoder: ScriptedToneDecoder) => decoder.calls.filter((call) => call.partial);

describe('SegmentedRecognitionStream with a scripted decoder', () => {
  it('commits each phrase while the next is spoken, split at the pauses', async () => {
    const decoder = new ScriptedToneDecoder();
    const { stream, finish } = streamWith(decoder, { partialEveryMs: Infinity });
    await speak(stream, concat([roomNoise(200), phrase(P1), roomNoise(PAUSE_MS)]));
    expect(stream.partial().stable).toBe(P1);
    await speak(stream, concat([phrase(P2), roomNoise(PAUSE_MS), phrase(P3)]));
    expect(stream.partial().stable).toBe(`${P1} ${P2}`);
    expect(await finish()).toEqual({ text: `${P1} ${P2} ${P3}`, noSpeech: false });
    expect(segmentDecodes(decoder).map((call) => call.words.join(' '))).toEqual([P1, P2, P3]);
  });

  it('re-decodes only the open tail, at most once per second of new audio', async () => {
    const decoder = new ScriptedToneDecoder();
    const { stream, finish } = streamWith(decoder);
    const audio = threePhrases();
    await speak(stream, audio);
    const interim = partialDecodes(decoder);
    expect(interim.length).toBeGreaterThanOrEqual(2);
    expect(interim.length).toBeLessThanOrEqual(Math.floor(audio.length / (1000 * SAMPLES_PER_MS)));
    const phraseOf = (word: string) => [P1, P2, P3].findIndex((text) => text.split(' ').includes(word));
    for (const call of interim) {
      // Never a word of a phrase already closed: each interim decode holds the words of one phrase only.
      const phrases = new Set(call.words.filter((word) => word !== '?').map(phraseOf));
      expect(phrases.size, `interim decode of "${call.words.join(' ')}"`).toBeLessThanOrEqual(1);
      expect(call.samples).toBeLessThan(phrase(P1).length + PAUSE_MS * SAMPLES_PER_MS);
    }
    await finish();
  });

  it('shows interim words, and only grows or revises the open tail: committed words never change', async () => {
    const decoder = new ScriptedToneDecoder();
    const { stream, partials, finish } = streamWith(decoder, { partialEveryMs: 500 });
    const audio = threePhrases();
    await speak(stream, audio);
    await finish();
    expect(partials.some((partial) => partial.stable === '' && partial.text.startsWith('and so my'))).toBe(true); // interim, before any commit
    expect(partials.some((partial) => partial.stable === P1 && partial.text.startsWith(`${P1} ask not`))).toBe(true);
    for (const [index, partial] of partials.entries()) {
      expect(partial.text.startsWith(partial.stable), `partial #${index}`).toBe(true);
      if (index > 0) expect(partial.stable.startsWith(partials[index - 1]!.stable), `partial #${index}`).toBe(true);
    }
    expect(partials.map((partial) => partial.stable).filter((stable, index, all) => stable !== all[index - 1])).toEqual(['', P1, `${P1} ${P2}`, `${P1} ${P2} ${P3}`]);
    expect(partials.at(-1)).toEqual({ text: `${P1} ${P2} ${P3}`, stable: `${P1} ${P2} ${P3}`, heardMs: audio.length / SAMPLES_PER_MS });
    // Committing the first phrase covers it and part of the pause after it.
    const firstCommit = partials.find((partial) => partial.stable === P1)!;
    expect(firstCommit.heardMs).toBeGreaterThan(200 + phrase(P1).length / SAMPLES_PER_MS);
    expect(firstCommit.heardMs).toBeLessThan(200 + phrase(P1).length / SAMPLES_PER_MS + PAUSE_MS);
  });

  it('after trailing silence, finish returns without decoding anything', async () => {
    const decoder = new ScriptedToneDecoder();
    const { stream, finish } = streamWith(decoder);
    await speak(stream, threePhrases(1000));
    const before = decoder.calls.length;
    expect(await finish()).toEqual({ text: `${P1} ${P2} ${P3}`, noSpeech: false });
    expect(decoder.calls.slice(before)).toEqual([]);
  });

  it('at the end of speech, finish decodes only the last phrase', async () => {
    const decoder = new ScriptedToneDecoder();
    const { stream, finish } = streamWith(decoder);
    const audio = threePhrases();
    await speak(stream, audio);
    expect(await finish()).toEqual({ text: `${P1} ${P2} ${P3}`, noSpeech: false });
    const afterFinish = decoder.calls.filter((call) => call.afterFinish);
    expect(afterFinish.map((call) => ({ words: call.words.join(' '), partial: call.partial }))).toEqual([{ words: P3, partial: false }]);
    // The last phrase and half the pause before it: a quarter of the utterance.
    expect(afterFinish[0]!.samples).toBeLessThan(phrase(P3).length + PAUSE_MS * SAMPLES_PER_MS);
    expect(afterFinish[0]!.samples).toBeLessThan(audio.length / 3);
  });

  it('a whole recording pushed at once is cut at its pauses too, with no interim decodes', async () => {
    const decoder = new ScriptedToneDecoder();
    const { stream, finish } = streamWith(decoder);
    pushAll(stream, threePhrases(1000));
    expect(await finish()).toEqual({ text: `${P1} ${P2} ${P3}`, noSpeech: false });
    expect(decoder.calls.map((call) => ({ words: call.words.join(' '), partial: call.partial }))).toEqual([
      { words: P1, partial: false },
      { words: P2, partial: false },
      { words: P3, partial: false },
    ]);
  });

  it('closes a phrase that runs on without a pause at its quietest moment, never inside a word', async () => {
    const decoder = new ScriptedToneDecoder();
    const { stream, finish } = streamWith(decoder, { partialEveryMs: Infinity });
    const words = Array.from({ length: 40 }, (_, index) => VOCABULARY[(index * 5) % VOCABULARY.length]!);
    await speak(stream, phrase(words.join(' '))); // 14.4 s without a pause
    expect(await finish()).toEqual({ text: words.join(' '), noSpeech: false });
    const segments = segmentDecodes(decoder);
    expect(segments.length).toBe(2);
    expect(segments[0]!.samples).toBeLessThanOrEqual(10_000 * SAMPLES_PER_MS);
    expect(segments[0]!.samples).toBeGreaterThan(9_000 * SAMPLES_PER_MS);
    expect(segments.flatMap((call) => call.words)).toEqual(words);
  });

  it('finish aborts an interim decode it overtakes and decodes the tail for real', async () => {
    const decoder = new ScriptedToneDecoder();
    decoder.holding = true;
    const { stream, finish } = streamWith(decoder);
    const audio = phrase(P1);
    pushAll(stream, audio.subarray(0, 1200 * SAMPLES_PER_MS));
    const [interim] = await decoder.callCount(1);
    expect(interim!.partial).toBe(true);
    pushAll(stream, audio.subarray(1200 * SAMPLES_PER_MS));
    const finishing = finish();
    expect(interim!.signal.aborted).toBe(true);
    const calls = await decoder.callCount(2);
    expect(calls[1]).toMatchObject({ partial: false, words: P1.split(' '), samples: audio.length });
    decoder.release();
    expect(await within(finishing, 'finish')).toEqual({ text: P1, noSpeech: false });
  });

  it('cancel rejects finish with CANCELLED, aborts the running decode, and ignores later audio', async () => {
    const decoder = new ScriptedToneDecoder();
    decoder.holding = true;
    const { stream, finish } = streamWith(decoder);
    pushAll(stream, concat([phrase(P1), roomNoise(PAUSE_MS), phrase(P2)]));
    const [running] = await decoder.callCount(1);
    const finishing = finish();
    stream.cancel();
    await expect(within(finishing, 'finish')).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(running!.signal.aborted).toBe(true);
    pushAll(stream, concat([roomNoise(PAUSE_MS), phrase(P3)]));
    await within(stream.caughtUp(), 'the cancelled stream to be idle');
    expect(decoder.calls).toHaveLength(1);
  });

  it("finish's signal cancels the same way, also when it is aborted already", async () => {
    const decoder = new ScriptedToneDecoder();
    decoder.holding = true;
    const { stream, finish } = streamWith(decoder);
    pushAll(stream, concat([phrase(P1), roomNoise(PAUSE_MS), phrase(P2)]));
    const controller = new AbortController();
    const finishing = finish(controller.signal);
    const [running] = await decoder.callCount(1);
    controller.abort();
    await expect(within(finishing, 'finish')).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(running!.signal.aborted).toBe(true);

    const other = streamWith(new ScriptedToneDecoder());
    pushAll(other.stream, phrase(P1));
    await expect(other.finish(AbortSignal.abort())).rejects.toMatchObject({ code: 'CANCELLED' });
  });

  it('hears no speech in audio below the energy gate, without decoding', async () => {
    const decoder = new ScriptedToneDecoder();
    const { stream, finish } = streamWith(decoder);
    await speak(stream, hiss(2500, 40)); // about -60 dBFS
    expect(await finish()).toEqual({ text: '', noSpeech: true });
    expect(decoder.calls).toEqual([]);
  });

  it('drops a silence hallucination in quiet noise, as a whole-buffer decode would', async () => {
    const decoder = new ScriptedToneDecoder();
    decoder.script = () => ' Thank you.';
    const { stream, finish } = streamWith(decoder);
    await speak(stream, hiss(2500, 500)); // about -42 dBFS: above the gate, below speech
    expect(await finish()).toEqual({ text: '', noSpeech: true });
    expect(decoder.calls.length).toBeGreaterThan(0);
  });

  it('a failed phrase decode fails finish with its error', async () => {
    const decoder = new ScriptedToneDecoder();
    const failure = new AgentError('STT_UNAVAILABLE', 'the engine crashed');
    decoder.script = (call) => (call.partial ? undefined : failure);
    const { stream, finish } = streamWith(decoder);
    await speak(stream, concat([phrase(P1), roomNoise(PAUSE_MS), phrase(P2)]));
    await expect(within(finish(), 'finish')).rejects.toBe(failure);
    expect(segmentDecodes(decoder)).toHaveLength(1); // nothing more is decoded after the failure
  });

  it('a failed interim decode is ignored: interim decodes stop, the final decode decides', async () => {
    const decoder = new ScriptedToneDecoder();
    decoder.script = (call) => (call.partial ? new AgentError('STT_UNAVAILABLE', 'interim decode failed') : undefined);
    const { stream, finish } = streamWith(decoder);
    await speak(stream, threePhrases());
    expect(await finish()).toEqual({ text: `${P1} ${P2} ${P3}`, noSpeech: false });
    expect(partialDecodes(decoder)).toHaveLength(1);
  });
});

// ---- A real engine: PocketSphinx, one process per decode. ----

const sphinxBinary = findExecutable(SPHINX_BINARY);
if (!sphinxBinary) console.warn(`Skipping segmented recognition with a real engine: ${SPHINX_BINARY} is not installed (sudo apt-get install pocketsphinx pocketsphinx-en-us).`);

/** Share of the reference's words that the candidate also has (as a multiset). */
function wordOverlap(reference: string, candidate: string): number {
  const left = new Map<string, number>();
  for (const word of candidate.toLowerCase().split(/\s+/).filter(Boolean)) left.set(word, (left.get(word) ?? 0) + 1);
  const words = reference.toLowerCase().split(/\s+/).filter(Boolean);
  let shared = 0;
  for (const word of words) {
    const count = left.get(word) ?? 0;
    if (count > 0) {
      shared++;
      left.set(word, count - 1);
    }
  }
  return words.length === 0 ? 1 : shared / words.length;
}

/** On clear speech, phrase-by-phrase recognition must hear what recognising the whole recording at once hears. */
const MIN_WORD_OVERLAP_CLEAR_SPEECH = 0.8;
/**
 * jfk.wav is far from PocketSphinx's prior cepstral mean. `pocketsphinx_continuous` adapts the mean from one of its own
 * utterances to the next, so in one whole-file run the later phrases are heard better; every segment decoded by a
 * fresh process starts from the prior again (and Debian's model feat.params overrides -cmninit). Measured: 52% of the
 * whole-file words, with any pause or segment length setting; cutting inside words would drop it further.
 */
const MIN_WORD_OVERLAP_JFK = 0.4;

/** Recognises `audio` as if spoken live, with a PocketSphinx process per decode; records what was decoded when. */
async function recogniseWithSphinx(audio: Int16Array) {
  const decoded: { samples: number; afterFinish: boolean }[] = [];
  let finishCalled = false;
  const stream = new SegmentedRecognitionStream({
    // Interim decodes are off: each one is a process loading its model, and these tests are about the final text.
    partialEveryMs: Infinity,
    decode: (segment, { signal }) => {
      decoded.push({ samples: segment.length, afterFinish: finishCalled });
      return decodeWithSphinxProcess(sphinxBinary!, segment, signal);
    },
  });
  await speak(stream, audio, 120_000);
  finishCalled = true;
  const started = performance.now();
  const transcript = await within(stream.finish(), 'finish', 120_000);
  const finishMs = performance.now() - started;
  const atEnd = decoded.filter((call) => call.afterFinish);
  const summary = `decoded ${decoded.map((call) => `${(call.samples / 16_000).toFixed(2)} s${call.afterFinish ? ' after finish' : ''}`).join(', ')}; finish took ${finishMs.toFixed(0)} ms`;
  return { transcript, decodedWhileSpoken: decoded.length - atEnd.length, decodedAfterFinish: atEnd, summary };
}

/** Three commands spoken by the project's flite voice, with a 400 ms pause between them, as a user would. */
async function clearSpeech(): Promise<{ audio: Int16Array; lastPhrase: number }> {
  const { FliteSpeechSynthesizer } = await import('../tts/fliteSpeechSynthesizer.node.js');
  const synthesizer = new FliteSpeechSynthesizer();
  try {
    const phrases: Int16Array[] = [];
    for (const text of ['Set a timer for ten minutes.', 'Then turn off the kitchen lights.', 'What is the weather like tomorrow?']) {
      const speech = await synthesizer.synthesize(text, { voice: 'kal16' });
      phrases.push(decodeWav(encodeWav16(speech.samples, speech.sampleRate), 'flite output').samples);
    }
    const quiet = () => hiss(400, 40);
    return { audio: concat([phrases[0]!, quiet(), phrases[1]!, quiet(), phrases[2]!]), lastPhrase: phrases[2]!.length };
  } finally {
    await synthesizer.dispose();
  }
}

describe.skipIf(!sphinxBinary)('SegmentedRecognitionStream with PocketSphinx', () => {
  it('recognises clear speech phrase by phrase as well as in one go, leaving only the last phrase for the end', async () => {
    const { audio, lastPhrase } = await clearSpeech();
    const wholeFile = await decodeWithSphinxProcess(sphinxBinary!, audio);
    const { transcript, decodedWhileSpoken, decodedAfterFinish, summary } = await recogniseWithSphinx(audio);
    const overlap = wordOverlap(wholeFile, transcript.text);
    console.log(`whole file: "${wholeFile}"\nsegmented:  "${transcript.text}"\nword overlap ${(overlap * 100).toFixed(0)}%; ${summary}`);
    expect(wholeFile.toLowerCase()).toContain('kitchen lights');
    expect(overlap).toBeGreaterThanOrEqual(MIN_WORD_OVERLAP_CLEAR_SPEECH);
    expect(decodedWhileSpoken).toBe(2);
    expect(decodedAfterFinish).toHaveLength(1);
    // The last phrase and part of the pause before it (flite also pads each phrase with a little silence).
    expect(decodedAfterFinish[0]!.samples).toBeLessThanOrEqual(lastPhrase + 500 * SAMPLES_PER_MS);
    expect(decodedAfterFinish[0]!.samples).toBeLessThan(audio.length / 2);
  }, 300_000);

  it('recognises jfk.wav phrase by phrase, leaving only the last phrase for the end', async () => {
    const audio = (await readWavFile(JFK_WAV)).samples;
    const wholeFile = await decodeWithSphinxProcess(sphinxBinary!, audio);
    const { transcript, decodedWhileSpoken, decodedAfterFinish, summary } = await recogniseWithSphinx(audio);
    const overlap = wordOverlap(wholeFile, transcript.text);
    console.log(`whole file: "${wholeFile}"\nsegmented:  "${transcript.text}"\nword overlap ${(overlap * 100).toFixed(0)}%; ${summary}`);
    expect(transcript.noSpeech).toBe(false);
    expect(overlap).toBeGreaterThanOrEqual(MIN_WORD_OVERLAP_JFK);
    expect(decodedWhileSpoken).toBeGreaterThanOrEqual(2);
    expect(decodedAfterFinish.length).toBeLessThanOrEqual(1);
    expect(decodedAfterFinish.reduce((sum, call) => sum + call.samples, 0)).toBeLessThan(audio.length * 0.4);
  }, 300_000);
});
