/**
 * When the answer's audio, sent to the app as it was synthesized, will have finished playing (estimated from the
 * durations sent), and whose answer it is. While it plays, the assistant is speaking: the mic gate is up and a
 * barge-in can still stop that answer even when its text is complete.
 */
export class AnswerPlayback {
  private until = 0;
  private playingTurnId: string | undefined;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** `durationMs` more audio of `turnId` was sent; it plays after what was sent before. */
  queued(turnId: string, durationMs: number): void {
    this.until = Math.max(this.until, this.now()) + durationMs;
    this.playingTurnId = turnId;
  }

  get audible(): boolean {
    return this.until > this.now();
  }

  /** The turn whose audio is playing, if any is. */
  get turnId(): string | undefined {
    return this.audible ? this.playingTurnId : undefined;
  }

  remainingMs(): number {
    return Math.max(0, this.until - this.now());
  }

  /** Playback was stopped. */
  stop(): void {
    this.until = 0;
    this.playingTurnId = undefined;
  }
}
