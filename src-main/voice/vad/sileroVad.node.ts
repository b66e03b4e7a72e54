import { existsSync } from 'node:fs';
import { routeWhisperNativeLog } from '../whisperNativeLog.node.js';
import { initWhisperVad, type WhisperVadContext } from '@fugood/whisper.node';
import PQueue from 'p-queue';
import { AgentError } from '../../../src-shared/contract/index.js';
import { DEFAULT_ENERGY_GATE_DBFS, rmsDbfs } from './energyGate.js';
import { TurnSegmenter } from './turnSegmenter.js';
import { DEFAULT_TURN_TAKING, type TurnTakingConfig, type VadEvent, type VoiceActivityDetector } from './voiceActivityDetector.js';

const SAMPLE_RATE = 16_000;

export interface SileroVadOptions {
  /** whisper.cpp ggml Silero model, e.g. silero-v6.2.0-ggml.bin. */
  modelPath: string;
  threads?: number;
  turnTaking?: Partial<TurnTakingConfig>;
  /** Speech probability threshold of the model (0..1). */
  threshold?: number;
  /** Audio is classified in hops of this length; it bounds how late a start or end is noticed. */
  hopMs?: number;
  /** Audio the model sees per hop (ending at the hop); the recurrent model needs context. */
  windowMs?: number;
  /** Hops quieter than this are silence without running the model. */
  energyGateDbfs?: number;
}

/**
 * Silero VAD through whisper.cpp (`@fugood/whisper.node`). That binding only detects segments in a
 * whole buffer (no per-frame probability), so streaming runs it on a sliding window: every hop, the
 * last `windowMs` of audio is analysed and the part of the hop inside speech segments counts as voiced.
 * The turn-taking rules live in `TurnSegmenter`.
 */
export class SileroVad implements VoiceActivityDetector {
  private readonly segmenter: TurnSegmenter;
  private readonly hopSamples: number;
  private readonly windowSamples: number;
  private readonly threshold: number;
  private readonly energyGateDbfs: number;
  /** The most recent `windowSamples` of audio, newest last. */
  private readonly window: Int16Array;
  private windowFill = 0;
  private pending = new Int16Array(0);
  /** Serialises pushes so concurrent callers cannot reorder audio. */
  private readonly queue = new PQueue({ concurrency: 1 });

  private constructor(
    private context: WhisperVadContext | undefined,
    private readonly unrouteNativeLog: () => Promise<void>,
    options: SileroVadOptions,
  ) {
    this.segmenter = new TurnSegmenter({ ...DEFAULT_TURN_TAKING, ...options.turnTaking }, SAMPLE_RATE);
    this.hopSamples = Math.round(((options.hopMs ?? 128) * SAMPLE_RATE) / 1000);
    this.windowSamples = Math.max(this.hopSamples, Math.round(((options.windowMs ?? 384) * SAMPLE_RATE) / 1000));
    this.threshold = options.threshold ?? 0.5;
    this.energyGateDbfs = options.energyGateDbfs ?? DEFAULT_ENERGY_GATE_DBFS;
    this.window = new Int16Array(this.windowSamples);
  }

  static async load(options: SileroVadOptions): Promise<SileroVad> {
    const { modelPath } = options;
    if (!existsSync(modelPath)) {
      throw new AgentError('MODEL_MISSING', `The Silero VAD model ${modelPath} does not exist. Set ASSISTANT_VAD_MODEL to a silero ggml .bin file.`);
    }
    let context: WhisperVadContext;
    const unrouteNativeLog = await routeWhisperNativeLog();
    try {
      context = await initWhisperVad({ filePath: modelPath, useGpu: false, nThreads: options.threads ?? 1 });
    } catch {
      await unrouteNativeLog();
      // The binding's message is a generic "Failed to initialize" followed by the native log.
      throw new AgentError('MODEL_CORRUPT', `Could not load the Silero VAD model ${modelPath}; it is not a whisper.cpp ggml VAD model or is damaged.`);
    }
    return new SileroVad(context, unrouteNativeLog, options);
  }

  push(frame: Int16Array): Promise<VadEvent[]> {
    const copy = frame.slice(); // the caller may reuse its buffer
    return this.queue.add(() => this.process(copy));
  }

  flush(): Promise<VadEvent[]> {
    return this.queue.add(async () => {
      const events = this.pending.length > 0 ? await this.classifyHop(this.pending) : [];
      this.pending = new Int16Array(0);
      return [...events, ...this.segmenter.flush()];
    });
  }

  /** Applies from the next hop the queue processes (audio already classified is not looked at again). */
  setEndSilenceMs(ms: number): void {
    this.segmenter.setEndSilenceMs(ms);
  }

  reset(): void {
    this.segmenter.reset();
    this.pending = new Int16Array(0);
    this.windowFill = 0;
  }

  async dispose(): Promise<void> {
    await this.queue.onIdle();
    const context = this.context;
    this.context = undefined;
    await context?.release();
    await this.unrouteNativeLog();
  }

  private async process(frame: Int16Array): Promise<VadEvent[]> {
    const joined = new Int16Array(this.pending.length + frame.length);
    joined.set(this.pending);
    joined.set(frame, this.pending.length);
    const events: VadEvent[] = [];
    let offset = 0;
    for (; offset + this.hopSamples <= joined.length; offset += this.hopSamples) {
      events.push(...(await this.classifyHop(joined.subarray(offset, offset + this.hopSamples))));
    }
    this.pending = joined.slice(offset);
    return events;
  }

  private async classifyHop(hop: Int16Array): Promise<VadEvent[]> {
    this.appendToWindow(hop);
    const voicedSamples = rmsDbfs(hop) >= this.energyGateDbfs ? await this.voicedSamplesInHop(hop.length) : 0;
    return this.segmenter.push(hop, voicedSamples);
  }

  private appendToWindow(hop: Int16Array): void {
    const keep = Math.min(this.windowFill, this.windowSamples - hop.length);
    this.window.copyWithin(this.windowSamples - hop.length - keep, this.windowSamples - keep);
    this.window.set(hop, this.windowSamples - hop.length);
    this.windowFill = keep + hop.length;
  }

  /** Runs the model on the window and returns how much of its newest hop lies inside speech segments. */
  private async voicedSamplesInHop(hopLength: number): Promise<number> {
    if (!this.context) throw new AgentError('INTERNAL', 'The Silero VAD was used after dispose().');
    const analysed = this.window.slice(this.windowSamples - this.windowFill);
    const segments = await this.context.detectSpeechData(analysed.buffer, {
      threshold: this.threshold,
      // Turn rules (minimum length, end silence, padding) are applied by TurnSegmenter, not here.
      minSpeechDurationMs: 0,
      minSilenceDurationMs: 0,
      speechPadMs: 0,
    });
    // Segment times are in centiseconds from the start of the analysed audio.
    const hopStart = analysed.length - hopLength;
    const toSample = (centiseconds: number) => Math.round((centiseconds * SAMPLE_RATE) / 100);
    let voiced = 0;
    for (const segment of segments) {
      voiced += Math.max(0, Math.min(analysed.length, toSample(segment.t1)) - Math.max(hopStart, toSample(segment.t0)));
    }
    return Math.min(voiced, hopLength);
  }
}
