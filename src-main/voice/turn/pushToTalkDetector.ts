import { concatSamples } from '../../../src-shared/audio/sampleArrays.js';
import { MIC_SAMPLE_RATE } from '../../../src-shared/contract/index.js';
import type { TurnDetector, TurnDetectorListener } from './turnDetector.js';

/** Push-to-talk: the utterance is the audio heard while the talk key is held. */
export class PushToTalkDetector implements TurnDetector {
  private frames: Int16Array[] | undefined;

  constructor(
    private readonly listener: TurnDetectorListener,
    private readonly minSpeechMs: () => number,
  ) {}

  get held(): boolean {
    return this.frames !== undefined;
  }

  /** Key down; false when it was already down. */
  press(): boolean {
    if (this.frames) return false;
    this.frames = [];
    this.listener.speechStarted();
    return true;
  }

  /** Key up: the audio since the key went down is the utterance, unless it is too short to hold words. */
  release(): void {
    const frames = this.frames;
    if (!frames) return;
    const endedAt = performance.now();
    this.frames = undefined;
    const audio = concatSamples(Int16Array, frames);
    if ((audio.length * 1000) / MIC_SAMPLE_RATE < this.minSpeechMs()) this.listener.tooShort();
    else this.listener.utterance({ audio, endedAt, capped: false });
  }

  async push(frame: Int16Array): Promise<void> {
    this.frames?.push(frame);
  }

  /** The key is still down at the end of the stream: nothing is decided until it is released. */
  async flush(): Promise<void> {}

  audioSoFar(): Int16Array[] {
    return this.frames ?? [];
  }

  reset(): void {
    this.frames = undefined;
  }
}
