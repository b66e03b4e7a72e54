import { DEFAULT_ENERGY_GATE_DBFS, rmsDbfs, SILENCE_DBFS, speechLevelDbfs } from '../vad/energyGate.js';
import { filterNoSpeech, isBelowSpeechGate, NO_SPEECH } from './noSpeechFilter.js';
import { EMPTY_PARTIAL, recognitionCancelled, type PartialTranscript, type RecognitionStream, type Transcript } from './speechTranscriber.js';

export interface WholeBufferDecodeOptions {
  /** Aborted when the decode is no longer wanted (cancel, or an interim decode overtaken by `finish`). */
  signal: AbortSignal;
  /** An interim transcript of an open tail that will be decoded again: the engine may decode faster and less carefully. */
  partial: boolean;
}

/**
 * An engine that recognises a whole buffer at once: 16 kHz mono PCM in, its raw text out (annotations and all).
 * The buffer is only read, never kept: it is a view into the stream's audio.
 */
export type WholeBufferDecoder = (audio: Int16Array, options: WholeBufferDecodeOptions) => Promise<string>;

export interface SegmentedRecognitionStreamOptions {
  /** The engine. */
  decode: WholeBufferDecoder;
  /** Re-decode the open tail after this much new audio (ms); Infinity for no interim decodes. Default 1000. */
  partialEveryMs?: number;
  /** A pause closes a segment only after this much open audio (ms), so the engine never gets a fragment. Default 1000. */
  minSegmentMs?: number;
  /** Quiet this long (ms) is a pause between phrases. Default 300. */
  minPauseMs?: number;
  /** An open segment this long (ms) is closed at its quietest block even without a pause. Default 10 000. */
  maxSegmentMs?: number;
  /** A block this far below the utterance's speech level so far (dB) is quiet. Default 25. */
  pauseBelowSpeechDb?: number;
}

const SAMPLE_RATE = 16_000;
/** Pauses are found in 20 ms blocks, the frame of `speechLevelDbfs`. */
const BLOCK_SAMPLES = 320;
/** An open tail shorter than this is not worth an interim decode (Whisper makes things up on fragments). */
const MIN_PARTIAL_TAIL_MS = 500;
/** The speech level is the 90th percentile of block levels, kept as a 1 dB histogram from SILENCE_DBFS to 0. */
const LEVEL_PERCENTILE = 0.9;

interface Piece {
  start: number;
  end: number;
}

interface RunningDecode extends Piece {
  partial: boolean;
  controller: AbortController;
}

type State = 'open' | 'finishing' | 'done' | 'failed' | 'cancelled';

const msToSamples = (ms: number) => Math.round((ms * SAMPLE_RATE) / 1000);
const joinWords = (texts: readonly string[]) => texts.filter((text) => text !== '').join(' ');

/**
 * Recognises an utterance as it grows with an engine that only decodes whole buffers (Whisper, PocketSphinx's batch
 * mode). The audio is cut into segments at the short pauses between phrases, found from its energy in 20 ms blocks:
 * a pause of `minPauseMs` after at least `minSegmentMs` of open audio closes a segment at the middle of the pause so
 * far, and a segment that reaches `maxSegmentMs` is closed at its quietest block. Each closed segment is decoded once,
 * in order, one decode at a time, and its text is committed (`stable`). When nothing else is being decoded, the open
 * tail is re-decoded as an interim transcript every `partialEveryMs` of new audio. So when the utterance ends, only the
 * last open piece is left to decode.
 *
 * A piece with no block above the pause threshold, or below the energy gate, is never sent to the engine. Each piece's
 * text goes through `filterNoSpeech` at its own level (a quiet piece that is only "Thank you." is dropped), and the
 * joined text through it again at the level of the whole utterance, as when the whole buffer was decoded at once.
 *
 * Failures: a failed segment decode stops recognition and `finish` rejects with its error (a retry would most likely
 * fail the same way, and the caller already handles a failed utterance). A failed interim decode is ignored: interim
 * decodes stop for this utterance and the final decode still runs, so only the final decode decides the outcome.
 *
 * Work is started from a microtask after `push`, so frames pushed in one go (a whole file) and then finished are cut
 * into segments without any interim decode.
 */
export class SegmentedRecognitionStream implements RecognitionStream {
  private readonly partialEverySamples: number;
  private readonly minSegmentSamples: number;
  private readonly minPauseSamples: number;
  private readonly maxSegmentSamples: number;
  private readonly pauseBelowSpeechDb: number;

  private state: State = 'open';
  private samples = new Int16Array(SAMPLE_RATE * 4);
  private length = 0;
  /** Level of each complete 20 ms block, and whether it was louder than the pause threshold when it arrived. */
  private readonly blockLevels: number[] = [];
  private readonly blockVoiced: boolean[] = [];
  private readonly levelHistogram = new Uint32Array(-SILENCE_DBFS + 1);
  /** First block of the quiet run that is still going on, if any. */
  private quietRunStart: number | undefined;

  /** Where the open tail starts: everything before it is in a closed segment. */
  private openStart = 0;
  /** Closed segments (and, once finishing, the last piece) waiting to be decoded, in order. */
  private readonly toDecode: Piece[] = [];
  private running: RunningDecode | undefined;
  private readonly committed: string[] = [];
  /** End of the last decoded segment; interim text is only shown when it starts here. */
  private committedEnd = 0;
  /** The latest interim text of the open tail, and the audio it covers. */
  private tail: (Piece & { text: string }) | undefined;
  /** How much audio there was when the open tail was last considered for an interim decode. */
  private partialMark = 0;
  private partialsFailed = false;
  private pumpScheduled = false;

  private failure: unknown;
  private finishing: Promise<Transcript> | undefined;
  private finishWaiter: { resolve: () => void; reject: (error: unknown) => void } | undefined;
  private caughtUpWaiters: (() => void)[] = [];
  private current: PartialTranscript = EMPTY_PARTIAL;
  private readonly listeners = new Set<(partial: PartialTranscript) => void>();

  private readonly decode: WholeBufferDecoder;

  constructor(options: SegmentedRecognitionStreamOptions) {
    this.decode = options.decode;
    const partialEveryMs = options.partialEveryMs ?? 1000;
    this.partialEverySamples = Number.isFinite(partialEveryMs) ? Math.max(BLOCK_SAMPLES, msToSamples(partialEveryMs)) : Infinity;
    this.minSegmentSamples = msToSamples(options.minSegmentMs ?? 1000);
    this.minPauseSamples = Math.max(BLOCK_SAMPLES, msToSamples(options.minPauseMs ?? 300));
    this.maxSegmentSamples = Math.max(this.minSegmentSamples + BLOCK_SAMPLES, msToSamples(options.maxSegmentMs ?? 10_000));
    this.pauseBelowSpeechDb = options.pauseBelowSpeechDb ?? 25;
  }

  push(frame: Int16Array): void {
    if (this.state !== 'open' || frame.length === 0) return;
    if (this.length + frame.length > this.samples.length) {
      // Views handed to running decodes keep the old buffer, whose samples never change.
      const grown = new Int16Array(Math.max(this.samples.length * 2, this.length + frame.length));
      grown.set(this.samples.subarray(0, this.length));
      this.samples = grown;
    }
    this.samples.set(frame, this.length);
    this.length += frame.length;
    while ((this.blockLevels.length + 1) * BLOCK_SAMPLES <= this.length) this.addBlock();
    this.schedulePump();
  }

  partial(): PartialTranscript {
    return this.current;
  }

  onPartial(listener: (partial: PartialTranscript) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  finish(options: { signal?: AbortSignal } = {}): Promise<Transcript> {
    this.finishing ??= this.finishUtterance(options.signal);
    return this.finishing;
  }

  cancel(): void {
    if (this.state === 'done' || this.state === 'cancelled') return;
    this.state = 'cancelled';
    this.stopWork();
    this.finishWaiter?.reject(recognitionCancelled());
  }

  /**
   * Resolves when recognition has caught up with the audio pushed so far: every closed segment decoded, and no decode
   * running or due. Lets a caller that feeds recorded audio behave like a live one whose engine keeps up.
   */
  caughtUp(): Promise<void> {
    if (this.isCaughtUp()) return Promise.resolve();
    return new Promise((resolve) => this.caughtUpWaiters.push(resolve));
  }

  private async finishUtterance(signal: AbortSignal | undefined): Promise<Transcript> {
    if (signal?.aborted) this.cancel();
    if (this.state === 'cancelled') throw recognitionCancelled();
    if (this.state === 'failed') throw this.failure;
    const audio = this.samples.subarray(0, this.length);
    const level = speechLevelDbfs(audio);
    if (isBelowSpeechGate(level)) {
      this.state = 'done';
      this.stopWork();
      return NO_SPEECH;
    }
    // An interim decode of the tail is overtaken by the final decode of the same audio.
    if (this.running?.partial) this.abortRunning();
    if (this.length > this.openStart) this.toDecode.push({ start: this.openStart, end: this.length });
    this.openStart = this.length;
    this.state = 'finishing';
    const onAbort = () => this.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await new Promise<void>((resolve, reject) => {
        this.finishWaiter = { resolve, reject };
        this.pump();
      });
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.finishWaiter = undefined;
    }
    this.state = 'done';
    this.notifyCaughtUp();
    return filterNoSpeech(joinWords(this.committed), level);
  }

  private addBlock(): void {
    const index = this.blockLevels.length;
    const start = index * BLOCK_SAMPLES;
    const level = rmsDbfs(this.samples, start, start + BLOCK_SAMPLES);
    this.blockLevels.push(level);
    this.levelHistogram[Math.min(this.levelHistogram.length - 1, Math.floor(level - SILENCE_DBFS))]! += 1;
    const quiet = level < this.quietThreshold();
    this.blockVoiced.push(!quiet);
    if (!quiet) {
      this.quietRunStart = undefined;
    } else {
      this.quietRunStart ??= index;
      const pauseStart = this.quietRunStart * BLOCK_SAMPLES;
      const end = start + BLOCK_SAMPLES;
      if (end - pauseStart >= this.minPauseSamples && pauseStart - this.openStart >= this.minSegmentSamples && this.hasVoice(this.openStart, pauseStart)) {
        // Cut in the middle of the pause so far: the rest of the pause starts the next segment.
        this.closeSegment(pauseStart + Math.floor((end - pauseStart) / BLOCK_SAMPLES / 2) * BLOCK_SAMPLES);
        return;
      }
    }
    if (start + BLOCK_SAMPLES - this.openStart >= this.maxSegmentSamples) this.closeSegment(this.quietestCut());
  }

  /** Quiet is relative to how loud this speaker is (a noisy room never falls below the gate), never above the gate. */
  private quietThreshold(): number {
    const rank = Math.floor(LEVEL_PERCENTILE * (this.blockLevels.length - 1));
    let seen = 0;
    let bin = 0;
    for (; bin < this.levelHistogram.length; bin++) {
      seen += this.levelHistogram[bin]!;
      if (seen > rank) break;
    }
    return Math.max(DEFAULT_ENERGY_GATE_DBFS, bin + SILENCE_DBFS - this.pauseBelowSpeechDb);
  }

  /** The middle of the quietest block that leaves the closed segment at least `minSegmentMs` long (the later on ties). */
  private quietestCut(): number {
    const first = Math.ceil((this.openStart + this.minSegmentSamples) / BLOCK_SAMPLES);
    let quietest = this.blockLevels.length - 1;
    for (let block = first; block < this.blockLevels.length; block++) {
      if (this.blockLevels[block]! <= this.blockLevels[quietest]!) quietest = block;
    }
    return quietest * BLOCK_SAMPLES + BLOCK_SAMPLES / 2;
  }

  private closeSegment(cut: number): void {
    this.toDecode.push({ start: this.openStart, end: cut });
    this.openStart = cut;
  }

  private hasVoice(start: number, end: number): boolean {
    const last = Math.min(this.blockVoiced.length, Math.ceil(end / BLOCK_SAMPLES));
    for (let block = Math.floor(start / BLOCK_SAMPLES); block < last; block++) if (this.blockVoiced[block]) return true;
    // The last few samples that do not fill a block (only at the end of the utterance).
    const rest = this.blockVoiced.length * BLOCK_SAMPLES;
    return end > rest && rmsDbfs(this.samples, Math.max(rest, start), end) >= this.quietThreshold();
  }

  /** Whether a piece can hold speech at all; silence is never sent to the engine, which would only make things up. */
  private worthDecoding(piece: Piece): boolean {
    return this.hasVoice(piece.start, piece.end) && !isBelowSpeechGate(speechLevelDbfs(this.samples.subarray(piece.start, piece.end)));
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /** Starts the next decode if none is running: closed segments first, in order, then an interim decode of the tail. */
  private pump(): void {
    if (this.running || (this.state !== 'open' && this.state !== 'finishing')) return;
    let piece: Piece | undefined;
    while ((piece = this.toDecode.shift())) {
      if (this.worthDecoding(piece)) return this.startDecode(piece, false);
      this.commit(piece, '');
    }
    if (this.state === 'finishing') {
      this.finishWaiter?.resolve();
      return this.notifyCaughtUp();
    }
    if (this.partialDue()) {
      this.partialMark = this.length;
      const tail = { start: this.openStart, end: this.length };
      if (this.worthDecoding(tail)) return this.startDecode(tail, true);
      this.tail = { ...tail, text: '' };
      this.emitPartial();
    }
    this.notifyCaughtUp();
  }

  private partialDue(): boolean {
    return (
      !this.partialsFailed &&
      this.length - this.partialMark >= this.partialEverySamples &&
      this.length - this.openStart >= msToSamples(MIN_PARTIAL_TAIL_MS)
    );
  }

  private startDecode(piece: Piece, partial: boolean): void {
    const run: RunningDecode = { ...piece, partial, controller: new AbortController() };
    this.running = run;
    const audio = this.samples.subarray(piece.start, piece.end);
    let decoding: Promise<string>;
    try {
      decoding = Promise.resolve(this.decode(audio, { signal: run.controller.signal, partial }));
    } catch (error) {
      decoding = Promise.reject(error);
    }
    decoding.then(
      (raw) => this.decoded(run, raw),
      (error: unknown) => this.decodeFailed(run, error),
    );
  }

  private decoded(run: RunningDecode, raw: string): void {
    if (this.running !== run) return; // aborted, or the stream has ended
    this.running = undefined;
    const text = filterNoSpeech(raw, speechLevelDbfs(this.samples.subarray(run.start, run.end))).text;
    if (run.partial) {
      this.tail = { start: run.start, end: run.end, text };
      this.emitPartial();
    } else {
      this.commit(run, text);
    }
    this.pump();
  }

  private decodeFailed(run: RunningDecode, error: unknown): void {
    if (this.running !== run) return;
    this.running = undefined;
    if (run.partial) {
      this.partialsFailed = true;
      this.pump();
      return;
    }
    this.state = 'failed';
    this.failure = error;
    this.stopWork();
    this.finishWaiter?.reject(error);
  }

  private commit(piece: Piece, text: string): void {
    this.committed.push(text);
    this.committedEnd = piece.end;
    this.emitPartial();
  }

  private emitPartial(): void {
    const stable = joinWords(this.committed);
    // Interim text of a tail that has since been partly committed would repeat words: it waits for the next one.
    const tail = this.tail?.start === this.committedEnd ? this.tail : undefined;
    const text = joinWords([stable, tail?.text ?? '']);
    const heardMs = Math.round(((tail?.end ?? this.committedEnd) * 1000) / SAMPLE_RATE);
    if (text === this.current.text && stable === this.current.stable && heardMs === this.current.heardMs) return;
    this.current = Object.freeze({ text, stable, heardMs });
    for (const listener of [...this.listeners]) {
      try {
        listener(this.current);
      } catch {
        // A listener's bug must not stop recognition of the utterance.
      }
    }
  }

  private abortRunning(): void {
    const running = this.running;
    this.running = undefined;
    running?.controller.abort();
  }

  /** Nothing more will be decoded: abort what runs, drop what waits, release whoever waits to catch up. */
  private stopWork(): void {
    this.abortRunning();
    this.toDecode.length = 0;
    this.notifyCaughtUp();
  }

  private isCaughtUp(): boolean {
    if (this.state !== 'open' && this.state !== 'finishing') return true;
    return !this.running && !this.pumpScheduled && this.toDecode.length === 0;
  }

  private notifyCaughtUp(): void {
    if (!this.isCaughtUp()) return;
    const waiters = this.caughtUpWaiters;
    this.caughtUpWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
