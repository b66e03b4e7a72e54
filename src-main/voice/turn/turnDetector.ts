/** One utterance, heard in full: what the user said, as 16 kHz mono PCM. */
export interface DetectedUtterance {
  audio: Int16Array;
  /** performance.now() when the end of speech was detected (the VAD's end of speech, or the talk key released). */
  endedAt: number;
  /** The utterance hit the length limit and was cut. */
  capped: boolean;
}

/** What a turn detector reports to the voice session. */
export interface TurnDetectorListener {
  /** The user began to speak (or pressed the talk key). */
  speechStarted(): void;
  /** The user finished an utterance. */
  utterance(utterance: DetectedUtterance): void;
  /** The user stopped, but too soon for the audio to hold a question (a tap of the talk key). */
  tooShort(): void;
  /**
   * Hands-free: the user has been silent for a short while (`silentMs`) inside an utterance. It may be the end (the
   * answer can be prepared speculatively) or a pause; `speechResumed` or `utterance` follows. Once per pause.
   */
  speechPaused?(silentMs: number): void;
  /** Hands-free: the user went on after `speechPaused`; the utterance did not end there. */
  speechResumed?(): void;
}

/**
 * Turn detection, as a strategy: decides from mic frames (and the talk key) when the user starts and stops
 * speaking. Push-to-talk and hands-free (VAD) are the two strategies.
 */
export interface TurnDetector {
  /** One mic frame, in order; resolves once its events have been reported. */
  push(frame: Int16Array): Promise<void>;
  /** The mic stream ended: an utterance in progress that is long enough is reported as ended. */
  flush(): Promise<void>;
  /** The audio of the utterance in progress (for partial transcripts); empty when none is. */
  audioSoFar(): Int16Array[];
  /** Forgets the utterance in progress. */
  reset(): void;
  /**
   * Hands-free: the end-of-speech silence for the utterance in progress (see `endSilenceFor`). The silence already
   * heard counts; the next utterance starts with the configured value. Push-to-talk has none (the key ends a turn).
   */
  setEndSilenceMs?(ms: number): void;
}
