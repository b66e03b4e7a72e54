/** Events of one utterance, in stream time (milliseconds since the first pushed sample). */
export type VadEvent =
  | { type: 'speech-start'; atMs: number }
  /**
   * Inside a turn, the speaker has been silent for `pauseMs`: the turn may be about to end (work can start
   * speculatively) or may go on. Once per pause; a `speech-resume` or the `speech-end` follows.
   */
  | {
      type: 'speech-pause';
      /** Where the speech stopped. */
      atMs: number;
      /** Silence heard since then (at least `pauseMs`). */
      silentMs: number;
    }
  /** The speaker went on after a `speech-pause`: the turn did not end there. */
  | { type: 'speech-resume'; atMs: number }
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
  /** Silence after speech that ends the turn (each turn starts with it; `setEndSilenceMs` changes it for one turn). */
  endSilenceMs: number;
  /**
   * Silence inside a turn that is reported as a `speech-pause` (default `DEFAULT_PAUSE_MS`). Shorter than the end
   * silence, or the turn ends before a pause is reported.
   */
  pauseMs?: number;
  /** Voiced audio needed before a turn counts; shorter blips (clicks, coughs) give no events at all. */
  minSpeechMs: number;
  /** Longest utterance; longer speech is cut here and the rest ignored until the speaker pauses. */
  maxUtteranceMs: number;
  /** Audio kept before the detected start, so the first syllable is not clipped. */
  preRollMs: number;
}

/**
 * Short enough that, with the Silero VAD's 128 ms hops, a pause is reported at least one hop before even the shortest
 * end of turn (350 ms, after a complete question): time to prepare the answer speculatively before the turn ends.
 */
export const DEFAULT_PAUSE_MS = 120;

export const DEFAULT_TURN_TAKING: TurnTakingConfig = {
  endSilenceMs: 500,
  pauseMs: DEFAULT_PAUSE_MS,
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
  /**
   * Changes the end-of-speech silence of the turn in progress (e.g. shorter once the words read as a complete
   * question). It counts the silence already heard: one that is already longer ends the turn with the next audio.
   * The next turn starts with the configured `endSilenceMs` again; with no turn in progress it does nothing.
   * Optional: a VAD without it keeps the configured value.
   */
  setEndSilenceMs?(ms: number): void;
  dispose(): Promise<void>;
}
