import type { TurnTakingConfig, VadEvent } from './voiceActivityDetector.js';

type State =
  | { kind: 'idle' }
  | {
      kind: 'speaking';
      /** Stream sample index where speech began (pre-roll lies before it). */
      startSample: number;
      /** Stream sample index just after the last voiced block. */
      lastSpeechEndSample: number;
      voicedSamples: number;
      announced: boolean;
    }
  /** After a capped utterance: ignore audio until the speaker pauses, so the rest is not a new turn. */
  | { kind: 'capped' };

/**
 * Turns a stream of audio blocks, each labelled with its amount of speech by some classifier, into turns.
 * Pure and synchronous so turn-taking rules can be tested without a model.
 */
export class TurnSegmenter {
  private readonly msToSamples: (ms: number) => number;
  private state: State = { kind: 'idle' };
  private streamSamples = 0;
  private silentSamples = 0;
  /** Idle: the last `preRollMs` of audio. Speaking: pre-roll plus everything since. */
  private buffered: Int16Array[] = [];
  private bufferedStartSample = 0;

  constructor(
    private readonly config: TurnTakingConfig,
    private readonly sampleRate = 16_000,
  ) {
    this.msToSamples = (ms) => Math.round((ms * sampleRate) / 1000);
  }

  /**
   * Feeds the next block of audio with how many of its samples the classifier heard as speech
   * (0 for silence). Counting samples rather than blocks keeps a 0.1 s blip that straddles two
   * blocks from counting as two blocks of speech.
   */
  push(block: Int16Array, voicedSamples: number): VadEvent[] {
    const events: VadEvent[] = [];
    const isSpeech = voicedSamples > 0;
    const blockStart = this.streamSamples;
    this.streamSamples += block.length;
    this.silentSamples = isSpeech ? 0 : this.silentSamples + block.length;

    if (this.state.kind === 'capped') {
      if (this.silentSamples >= this.msToSamples(this.config.endSilenceMs)) this.state = { kind: 'idle' };
      if (this.state.kind === 'capped') return events;
    }
    this.buffered.push(block);

    if (this.state.kind === 'idle') {
      if (isSpeech) {
        // Voiced samples at the start of speech lie at the end of the block.
        const startSample = blockStart + block.length - Math.min(voicedSamples, block.length);
        this.state = { kind: 'speaking', startSample, lastSpeechEndSample: this.streamSamples, voicedSamples: 0, announced: false };
      } else {
        this.trimToPreRoll();
        return events;
      }
    }
    const speaking = this.state;
    if (speaking.kind !== 'speaking') return events;

    if (isSpeech) {
      speaking.voicedSamples += Math.min(voicedSamples, block.length);
      speaking.lastSpeechEndSample = this.streamSamples;
      if (!speaking.announced && speaking.voicedSamples >= this.msToSamples(this.config.minSpeechMs)) {
        speaking.announced = true;
        events.push({ type: 'speech-start', atMs: this.toMs(speaking.startSample) });
      }
    }
    if (this.streamSamples - speaking.startSample >= this.msToSamples(this.config.maxUtteranceMs)) {
      if (!speaking.announced) events.push({ type: 'speech-start', atMs: this.toMs(speaking.startSample) });
      events.push(this.endUtterance(speaking, true));
      this.state = this.silentSamples >= this.msToSamples(this.config.endSilenceMs) ? { kind: 'idle' } : { kind: 'capped' };
      this.resetBuffer();
    } else if (this.silentSamples >= this.msToSamples(this.config.endSilenceMs)) {
      if (speaking.announced) events.push(this.endUtterance(speaking, false));
      this.state = { kind: 'idle' };
      this.trimToPreRoll();
    }
    return events;
  }

  flush(): VadEvent[] {
    const events: VadEvent[] = [];
    if (this.state.kind === 'speaking' && this.state.announced) events.push(this.endUtterance(this.state, false));
    this.state = { kind: 'idle' };
    this.trimToPreRoll();
    return events;
  }

  reset(): void {
    this.state = { kind: 'idle' };
    this.streamSamples = 0;
    this.silentSamples = 0;
    this.resetBuffer();
  }

  private endUtterance(speaking: Extract<State, { kind: 'speaking' }>, capped: boolean): VadEvent {
    const trailingPad = this.msToSamples(Math.min(this.config.preRollMs, this.config.endSilenceMs));
    const audioStart = Math.max(this.bufferedStartSample, speaking.startSample - this.msToSamples(this.config.preRollMs));
    const audioEnd = capped ? this.streamSamples : Math.min(this.streamSamples, speaking.lastSpeechEndSample + trailingPad);
    const endSample = capped ? this.streamSamples : speaking.lastSpeechEndSample;
    return {
      type: 'speech-end',
      atMs: this.toMs(endSample),
      startMs: this.toMs(speaking.startSample),
      audio: this.bufferedRange(audioStart, audioEnd),
      capped,
    };
  }

  /** Copies stream samples [from, to) out of the buffered blocks. */
  private bufferedRange(from: number, to: number): Int16Array {
    const out = new Int16Array(Math.max(0, to - from));
    let blockStart = this.bufferedStartSample;
    for (const block of this.buffered) {
      const blockEnd = blockStart + block.length;
      const copyFrom = Math.max(from, blockStart);
      const copyTo = Math.min(to, blockEnd);
      if (copyTo > copyFrom) out.set(block.subarray(copyFrom - blockStart, copyTo - blockStart), copyFrom - from);
      blockStart = blockEnd;
    }
    return out;
  }

  private trimToPreRoll(): void {
    const keepFrom = this.streamSamples - this.msToSamples(this.config.preRollMs);
    const kept = this.bufferedRange(Math.max(keepFrom, this.bufferedStartSample), this.streamSamples);
    this.buffered = [kept];
    this.bufferedStartSample = this.streamSamples - kept.length;
  }

  private resetBuffer(): void {
    this.buffered = [];
    this.bufferedStartSample = this.streamSamples;
  }

  private toMs(sample: number): number {
    return (sample * 1000) / this.sampleRate;
  }
}
