import { DEFAULT_PAUSE_MS, type TurnTakingConfig, type VadEvent } from './voiceActivityDetector.js';

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
      /** A `speech-pause` was reported and no speech has come since. */
      paused: boolean;
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
  /** The end-of-speech silence of the turn in progress: the configured one unless `setEndSilenceMs` changed it. */
  private endSilenceMs: number;
  private readonly pauseMs: number;

  constructor(
    private readonly config: TurnTakingConfig,
    private readonly sampleRate = 16_000,
  ) {
    this.msToSamples = (ms) => Math.round((ms * sampleRate) / 1000);
    this.endSilenceMs = config.endSilenceMs;
    this.pauseMs = config.pauseMs ?? DEFAULT_PAUSE_MS;
  }

  /**
   * Changes the end-of-speech silence of the turn in progress. The silence heard so far counts: if it is already
   * longer, the turn ends with the next block. The next turn starts with the configured value again, so a value
   * chosen for one turn's words never cuts the next turn short; with no turn in progress this does nothing.
   */
  setEndSilenceMs(ms: number): void {
    if (!Number.isFinite(ms) || ms <= 0) throw new RangeError(`The end-of-speech silence must be a positive number of ms, not ${ms}.`);
    if (this.state.kind === 'speaking') this.endSilenceMs = ms;
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
        this.state = { kind: 'speaking', startSample, lastSpeechEndSample: this.streamSamples, voicedSamples: 0, announced: false, paused: false };
        this.endSilenceMs = this.config.endSilenceMs;
      } else {
        this.trimToPreRoll();
        return events;
      }
    }
    const speaking = this.state;
    if (speaking.kind !== 'speaking') return events;

    if (isSpeech) {
      if (speaking.paused) {
        speaking.paused = false;
        events.push({ type: 'speech-resume', atMs: this.toMs(blockStart + block.length - Math.min(voicedSamples, block.length)) });
      }
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
    } else if (this.silentSamples >= this.msToSamples(this.endSilenceMs)) {
      if (speaking.announced) events.push(this.endUtterance(speaking, false));
      this.state = { kind: 'idle' };
      this.trimToPreRoll();
    } else if (!isSpeech && speaking.announced && !speaking.paused && this.silentSamples >= this.msToSamples(this.pauseMs)) {
      speaking.paused = true;
      events.push({ type: 'speech-pause', atMs: this.toMs(speaking.lastSpeechEndSample), silentMs: this.toMs(this.silentSamples) });
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
    const trailingPad = this.msToSamples(Math.min(this.config.preRollMs, this.endSilenceMs));
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
