import type { AgentEvent, StageSpan, TurnTimings, VoiceWaterfall } from '../../../src-shared/contract/index.js';
import type { AgentLogger } from '../agentLogger.js';

export interface StageRecord {
  turnId: string;
  name: string;
  /** ms since the turn's origin */
  startMs: number;
  endMs: number;
  slow: boolean;
}

export interface TurnObserverOptions {
  emit(event: AgentEvent): void;
  logger: AgentLogger;
  /** A stage longer than its threshold (ms) writes a warning and counts as slow. */
  slowStageMs: Readonly<Record<string, number>>;
  /** Every ended stage, e.g. to store it and feed the metrics. */
  onStageEnd?(record: StageRecord): void;
}

/**
 * The one place turn timing is observed. Stages of text and voice turns report their start and end here; it emits
 * `stage` events, warns about slow stages, and derives the done timings and the voice waterfall.
 */
export class TurnObserver {
  private readonly timelines = new Map<string, TurnTimeline>();

  constructor(private readonly options: TurnObserverOptions) {}

  /**
   * Starts observing a turn. `origin` is when the turn's input was complete (the question received, or the end of
   * the user's speech); `t` of its stage events counts from there.
   */
  begin(turnId: string, origin: number = performance.now()): TurnTimeline {
    const timeline = new TurnTimeline(turnId, origin, this.options);
    this.timelines.set(turnId, timeline);
    return timeline;
  }

  timeline(turnId: string): TurnTimeline | undefined {
    return this.timelines.get(turnId);
  }

  /** Forgets a turn once nothing more will be reported for it. */
  end(turnId: string): void {
    this.timelines.delete(turnId);
  }
}

export class TurnTimeline {
  private readonly starts = new Map<string, number>();
  private readonly spans = new Map<string, { start: number; end: number }>();
  /** When the chat turn itself was received (later than the origin for a voice turn). */
  readonly receivedAt = performance.now();

  constructor(
    readonly turnId: string,
    readonly origin: number,
    private readonly options: TurnObserverOptions,
  ) {}

  /** A stage began; a second start of the same stage is ignored (the first one counts). */
  start(name: string, at: number = performance.now()): void {
    if (this.starts.has(name)) return;
    this.starts.set(name, at);
    this.options.emit({ type: 'stage', turnId: this.turnId, name, phase: 'start', t: this.since(at) });
  }

  /** A stage ended; ignored unless it started and has not ended yet. */
  end(name: string, at: number = performance.now()): void {
    const start = this.starts.get(name);
    if (start === undefined || this.spans.has(name)) return;
    this.spans.set(name, { start, end: at });
    this.options.emit({ type: 'stage', turnId: this.turnId, name, phase: 'end', t: this.since(at) });
    const ms = at - start;
    // A stage of one model (`council-1:qwen`) is measured against its kind's threshold (`council-1`).
    const threshold = this.options.slowStageMs[name] ?? this.options.slowStageMs[name.split(':')[0]!];
    const slow = threshold !== undefined && ms > threshold;
    if (slow) this.options.logger.warn({ turnId: this.turnId, stage: name, ms: round(ms), thresholdMs: threshold }, 'slow stage');
    this.options.onStageEnd?.({ turnId: this.turnId, name, startMs: this.since(start), endMs: this.since(at), slow });
  }

  /** A stage that happened before the turn was observed (speech-to-text before the chat turn began). */
  record(name: string, start: number, end: number): void {
    this.start(name, start);
    this.end(name, end);
  }

  hasEnded(name: string): boolean {
    return this.spans.has(name);
  }

  /** ms from the origin to the end of `name`, or null if it has not ended. */
  endOf(name: string): number | null {
    const span = this.spans.get(name);
    return span === undefined ? null : this.since(span.end);
  }

  /** ms from the origin to the end of `name`, negative when it ended before the origin; null if it has not ended. */
  signedEndOf(name: string): number | null {
    const span = this.spans.get(name);
    return span === undefined ? null : round(span.end - this.origin);
  }

  waterfallSpans(): StageSpan[] {
    return [...this.spans].map(([name, span]) => ({ name, startMs: this.since(span.start), endMs: this.since(span.end) }));
  }

  /** The done event's timings: from when the chat turn was received, as for a typed question. */
  doneTimings(outcome: { tokens: number; promptTokens?: number | undefined }, endedAt: number = performance.now()): TurnTimings {
    const firstToken = this.spans.get('first-token')?.end;
    const generate = this.spans.get('generate');
    const generatingMs = firstToken === undefined ? 0 : (generate?.end ?? endedAt) - firstToken;
    return {
      ttftMs: firstToken === undefined ? null : round(firstToken - this.receivedAt),
      totalMs: round(endedAt - this.receivedAt),
      tokens: outcome.tokens,
      tokensPerSecond: generatingMs > 0 && outcome.tokens > 1 ? round(((outcome.tokens - 1) * 1000) / generatingMs) : null,
      ...(outcome.promptTokens !== undefined && { promptTokens: outcome.promptTokens }),
    };
  }

  /** The voice waterfall, each from the end of the user's speech. */
  voiceWaterfall(): VoiceWaterfall {
    return {
      transcriptMs: this.endOf('stt') ?? 0,
      preparedMs: this.signedEndOf('prepare'),
      firstTokenMs: this.endOf('first-token'),
      firstSentenceMs: this.endOf('first-sentence'),
      firstAudioMs: this.endOf('tts'),
    };
  }

  private since(at: number): number {
    return round(Math.max(0, at - this.origin));
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
