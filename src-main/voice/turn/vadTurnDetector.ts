import { rmsDbfs } from '../vad/energyGate.js';
import type { VadEvent, VoiceActivityDetector } from '../vad/voiceActivityDetector.js';
import type { TurnDetector, TurnDetectorListener } from './turnDetector.js';

/** While the assistant is audible, quieter mic audio is treated as its own echo, so it cannot barge in on itself. */
const SPEAKING_GATE_DBFS = -35;

/** Recent mic audio kept to start an utterance's audio where its speech began (before the VAD was sure). */
const HISTORY_MS = 4_000;
const SAMPLES_PER_MS = 16;

/** Hands-free: the VAD decides when an utterance starts and ends. */
export class VadTurnDetector implements TurnDetector {
  /** Audio of the utterance in progress, from its pre-roll on (what recognition hears while the user speaks). */
  private speech: Int16Array[] | undefined;
  /** The last few seconds of audio pushed into the current VAD, each frame with its first sample's stream index. */
  private history: Array<{ at: number; frame: Int16Array }> = [];
  /** Samples pushed into the current VAD since it was (re)loaded or reset: its stream time. */
  private streamSamples = 0;
  private historyVad: VoiceActivityDetector | undefined;

  constructor(
    private readonly listener: TurnDetectorListener,
    /** The VAD (reloaded when the turn-taking settings change; undefined while it is unavailable). */
    private readonly vad: () => VoiceActivityDetector | undefined,
    /** True while the assistant's answer is audible. */
    private readonly assistantAudible: () => boolean,
    /** Audio kept before the detected start of speech, as the VAD keeps it. */
    private readonly preRollMs = 200,
  ) {}

  async push(frame: Int16Array): Promise<void> {
    const vad = this.vad();
    if (!vad) return;
    // The mic gate: while the answer is audible, only clearly louder speech (the user) gets through.
    const gated = this.assistantAudible() && rmsDbfs(frame) < SPEAKING_GATE_DBFS ? new Int16Array(frame.length) : frame;
    this.remember(vad, gated);
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
    this.history = [];
    this.streamSamples = 0;
    this.vad()?.reset();
  }

  /** Does nothing when the VAD is unavailable or cannot change it (its configured value stays). */
  setEndSilenceMs(ms: number): void {
    this.vad()?.setEndSilenceMs?.(ms);
  }

  private report(events: VadEvent[]): void {
    for (const event of events) {
      switch (event.type) {
        case 'speech-start':
          this.speech = this.audioSince(event.atMs - this.preRollMs);
          this.listener.speechStarted();
          break;
        case 'speech-pause':
          this.listener.speechPaused?.(event.silentMs);
          break;
        case 'speech-resume':
          this.listener.speechResumed?.();
          break;
        case 'speech-end':
          // Reported while its audio is still there, so the listener can hand the last frames to recognition.
          this.listener.utterance({ audio: event.audio, endedAt: performance.now(), capped: event.capped });
          this.speech = undefined;
          break;
      }
    }
  }

  /** Keeps `frame` in the recent history, in the stream time of `vad` (a reloaded VAD starts its time again). */
  private remember(vad: VoiceActivityDetector, frame: Int16Array): void {
    if (vad !== this.historyVad) {
      this.historyVad = vad;
      this.history = [];
      this.streamSamples = 0;
    }
    this.history.push({ at: this.streamSamples, frame });
    this.streamSamples += frame.length;
    const keepFrom = this.streamSamples - HISTORY_MS * SAMPLES_PER_MS;
    while (this.history.length > 0 && this.history[0]!.at + this.history[0]!.frame.length <= keepFrom) this.history.shift();
  }

  /** The audio from stream time `ms` on (as far back as the history goes), the frame being pushed included. */
  private audioSince(ms: number): Int16Array[] {
    const from = Math.max(0, Math.round(ms * SAMPLES_PER_MS));
    const out: Int16Array[] = [];
    for (const { at, frame } of this.history) {
      if (at + frame.length <= from) continue;
      out.push(at >= from ? frame : frame.subarray(from - at));
    }
    return out;
  }
}
