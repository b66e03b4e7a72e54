import { AgentError } from '../../../src-shared/contract/index.js';

export type SttEngine = 'whisper' | 'sphinx';

export interface Transcript {
  /** What was said; empty when `noSpeech`. */
  text: string;
  /** True when the audio held no speech: too quiet, or the engine only produced a known silence hallucination. */
  noSpeech: boolean;
}

/** What has been recognised of an utterance still being spoken. */
export interface PartialTranscript {
  /** Everything heard so far: the committed text, then the open tail. Empty before any words. */
  text: string;
  /** The leading words that will not change any more (committed segments); a prefix of `text`. */
  stable: string;
  /** How much of the utterance's audio (ms from its first pushed sample) this transcript covers. */
  heardMs: number;
}

export const EMPTY_PARTIAL: PartialTranscript = Object.freeze({ text: '', stable: '', heardMs: 0 });

/**
 * One utterance, recognised while it is spoken: audio goes in as it arrives, interim transcripts come out, and when
 * the user stops only what was not yet recognised is left to do.
 */
export interface RecognitionStream {
  /** 16 kHz mono signed 16-bit PCM, in order. Never blocks: recognition keeps up in the background. */
  push(frame: Int16Array): void;
  /** The latest interim transcript. */
  partial(): PartialTranscript;
  /** Called whenever the interim transcript changes (its text, or how much audio it covers); returns the unsubscribe function. */
  onPartial(listener: (partial: PartialTranscript) => void): () => void;
  /**
   * The utterance is over: resolves with its final transcript. Aborting `signal` (or `cancel`) rejects with
   * AgentError('CANCELLED'). A second call returns the same promise.
   */
  finish(options?: { signal?: AbortSignal }): Promise<Transcript>;
  /** Abandons the utterance: nothing more is recognised, and `finish` rejects with CANCELLED. */
  cancel(): void;
}

/** One speech-to-text engine. Load once, recognise many utterances, dispose at shutdown. */
export interface SpeechTranscriber {
  readonly engine: SttEngine;
  /** Loads and warms the engine; idempotent. `stream` works before it resolves (audio waits for the engine). */
  load(): Promise<void>;
  /** A new utterance. */
  stream(): RecognitionStream;
  dispose(): Promise<void>;
}

/** What `finish` rejects with when its utterance was cancelled. */
export function recognitionCancelled(): AgentError {
  return new AgentError('CANCELLED', 'Speech recognition was cancelled.');
}

/** Frames pushed into a stream in one go by `transcribeWhole`: 20 ms, as a mic delivers them. */
const WHOLE_FRAME_SAMPLES = 320;

/**
 * A whole utterance recognised after it has ended (a file, the CLI, the benchmark's baseline): all of it is pushed
 * at once, then finished.
 */
export function transcribeWhole(transcriber: SpeechTranscriber, audio: Int16Array, options: { signal?: AbortSignal } = {}): Promise<Transcript> {
  const stream = transcriber.stream();
  for (let at = 0; at < audio.length; at += WHOLE_FRAME_SAMPLES) stream.push(audio.subarray(at, at + WHOLE_FRAME_SAMPLES));
  return stream.finish(options);
}
