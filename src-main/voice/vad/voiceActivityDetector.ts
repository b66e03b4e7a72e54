/** Events of one utterance, in stream time (milliseconds since the first pushed sample). */
export type VadEvent =
  | { type: 'speech-start'; atMs: number }
  | {
      type: 'speech-end';
      /** Where the speech stopped (the end-of-speech silence that confirmed it follows). */
      atMs: number;
      startMs: number;
      /** The utterance as 16 kHz mono PCM, with pre-roll before `startMs` and a little trailing silence. */
      audio: Int16Array;
      /** True when the utterance hit `maxUtteranceMs` and was cut; the caller should tell the user. */
      capped: boolean;
    };

export interface TurnTakingConfig {
  /** Silence after speech that ends the turn. */
  endSilenceMs: number;
  /** Voiced audio needed before a turn counts; shorter blips (clicks, coughs) give no events at all. */
  minSpeechMs: number;
  /** Longest utterance; longer speech is cut here and the rest ignored until the speaker pauses. */
  maxUtteranceMs: number;
  /** Audio kept before the detected start, so the first syllable is not clipped. */
  preRollMs: number;
}

export const DEFAULT_TURN_TAKING: TurnTakingConfig = {
  endSilenceMs: 500,
  minSpeechMs: 250,
  maxUtteranceMs: 60_000,
  preRollMs: 200,
};

/**
 * Streaming voice activity detection with turn-taking. Feed 16 kHz mono frames of any length in order;
 * each call returns the events the new audio completed. Async because model inference is.
 */
export interface VoiceActivityDetector {
  push(frame: Int16Array): Promise<VadEvent[]>;
  /** Ends the stream: a turn in progress that is long enough is returned as ended. */
  flush(): Promise<VadEvent[]>;
  /** Forgets all state and restarts stream time at 0. */
  reset(): void;
  dispose(): Promise<void>;
}
