/** Mono 16-bit PCM, as produced by a text-to-speech engine. */
export interface SynthesizedAudio {
  sampleRate: number;
  samples: Int16Array;
}

export interface SynthesisOptions {
  /** One of `SpeechSynthesizer.voices`; the engine's default when omitted. */
  voice?: string;
  /** Speaking speed: 1 is normal, 2 twice as fast, 0.5 half as fast. */
  rate?: number;
  /** Aborting rejects with AgentError('CANCELLED'). */
  signal?: AbortSignal;
}

/**
 * The text-to-speech stage of a voice turn: one sentence of speakable text in, audio out.
 * Failures reject with AgentError('TTS_FAILED', ...).
 */
export interface SpeechSynthesizer {
  /** Voice names `synthesize` accepts; the first is the default. */
  readonly voices: string[];
  synthesize(text: string, options?: SynthesisOptions): Promise<SynthesizedAudio>;
}
