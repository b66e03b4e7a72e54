import { rmsDbfs } from '../vad/energyGate.js';
import type { VadEvent, VoiceActivityDetector } from '../vad/voiceActivityDetector.js';
import type { TurnDetector, TurnDetectorListener } from './turnDetector.js';

/** While the assistant is audible, quieter mic audio is treated as its own echo, so it cannot barge in on itself. */
const SPEAKING_GATE_DBFS = -35;

/** Hands-free: the VAD decides when an utterance starts and ends. */
export class VadTurnDetector implements TurnDetector {
  /** Audio of the utterance in progress. */
  private speech: Int16Array[] | undefined;

  constructor(
    private readonly listener: TurnDetectorListener,
    /** The VAD (reloaded when the turn-taking settings change; undefined while it is unavailable). */
    private readonly vad: () => VoiceActivityDetector | undefined,
    /** True while the assistant's answer is audible. */
    private readonly assistantAudible: () => boolean,
  ) {}

  async push(frame: Int16Array): Promise<void> {
    const vad = this.vad();
    if (!vad) return;
    // The mic gate: while the answer is audible, only clearly louder speech (the user) gets through.
    const gated = this.assistantAudible() && rmsDbfs(frame) < SPEAKING_GATE_DBFS ? new Int16Array(frame.length) : frame;
    this.speech?.push(gated);
    this.report(await vad.push(gated));
  }

  async flush(): Promise<void> {
    const vad = this.vad();
    if (vad) this.report(await vad.flush());
  }

  audioSoFar(): Int16Array[] {
    return this.speech ?? [];
  }

  reset(): void {
    this.speech = undefined;
    this.vad()?.reset();
  }

  private report(events: VadEvent[]): void {
    for (const event of events) {
      if (event.type === 'speech-start') {
        this.speech = [];
        this.listener.speechStarted();
      } else {
        this.speech = undefined;
        this.listener.utterance({ audio: event.audio, endedAt: performance.now(), capped: event.capped });
      }
    }
  }
}
