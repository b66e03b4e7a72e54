import { AgentError } from '../../../src-shared/contract/index.js';

export type SttEngine = 'whisper' | 'sphinx';

export interface TranscribeOptions {
  /** Aborting stops recognition and rejects with AgentError('CANCELLED'). */
  signal?: AbortSignal;
  /** An interim transcript of an utterance still in progress: faster, less careful decoding. */
  partial?: boolean;
}

export interface Transcript {
  /** What was said; empty when `noSpeech`. */
  text: string;
  /** True when the audio held no speech: too quiet, or the engine only produced a known silence hallucination. */
  noSpeech: boolean;
}

/** One speech-to-text engine. Load once, transcribe many utterances, dispose at shutdown. */
export interface SpeechTranscriber {
  readonly engine: SttEngine;
  /** Loads and warms the engine; idempotent. `transcribe` calls it when needed. */
  load(): Promise<void>;
  /** `audio` is 16 kHz mono signed 16-bit PCM. */
  transcribe(audio: Int16Array, options?: TranscribeOptions): Promise<Transcript>;
  dispose(): Promise<void>;
}

/** What `transcribe` rejects with when its signal aborts. */
export function recognitionCancelled(): AgentError {
  return new AgentError('CANCELLED', 'Speech recognition was cancelled.');
}
