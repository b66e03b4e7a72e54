import type { AgentEvent } from '../../../src-shared/contract/index.js';
import type { AnswerStreamListener } from './answerStream.js';
import type { TurnTimeline } from './turnObserver.js';

export interface TurnOutputOptions {
  turnId: string;
  conversationId: string;
  emit(event: AgentEvent): void;
  timeline: TurnTimeline;
  /** Writes the partial answer; called at most every `flushMs` while tokens flow, and by a timer when they stall. */
  savePartial(text: string): void;
  flushMs: number;
}

/**
 * One turn's side of an answer stream. Holds `token` and `answer-sentence` events until the turn's input verdicts
 * have passed (`open`), or drops them (`discard`), so a refused question never shows a token. Marks the
 * first-token and first-sentence stages when the user gets them, and keeps the shown text on disk so a crash loses
 * at most `flushMs` of it.
 */
export class TurnOutput {
  /** The text the user has been shown. */
  shown = '';
  private held: AgentEvent[] | undefined = [];
  private closed = false;
  private lastFlush = performance.now();
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: TurnOutputOptions) {}

  readonly listener: AnswerStreamListener = {
    token: (text) => this.out({ type: 'token', turnId: this.options.turnId, conversationId: this.options.conversationId, text }),
    sentence: (index, text) =>
      this.out({ type: 'answer-sentence', turnId: this.options.turnId, conversationId: this.options.conversationId, index, text }),
    withheld: (reason, guard) => this.out({ type: 'answer-withheld', turnId: this.options.turnId, conversationId: this.options.conversationId, guard, reason }),
  };

  /** Every verdict passed: what was held goes out, and from now on everything at once. */
  open(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const event of held) this.deliver(event);
  }

  /** The answer must not be shown: drop what was held and anything still coming. */
  discard(): void {
    this.closed = true;
    this.held = [];
    clearTimeout(this.flushTimer);
  }

  /** The answer has ended: no more partial writes (the caller stores the final text). */
  close(): void {
    this.closed = true;
    clearTimeout(this.flushTimer);
  }

  private out(event: AgentEvent): void {
    if (this.closed) return;
    if (this.held) this.held.push(event);
    else this.deliver(event);
  }

  private deliver(event: AgentEvent): void {
    const { timeline, emit } = this.options;
    // The stage ends when the event goes out; it is recorded after, so its bookkeeping does not delay the event.
    const deliveredAt = performance.now();
    if (event.type === 'token') {
      this.shown += event.text;
      emit(event);
      timeline.end('first-token', deliveredAt);
      this.scheduleFlush();
    } else if (event.type === 'answer-sentence') {
      emit(event);
      timeline.end('first-sentence', deliveredAt);
    } else emit(event);
  }

  private scheduleFlush(): void {
    const sinceFlush = performance.now() - this.lastFlush;
    if (sinceFlush >= this.options.flushMs) this.flush();
    else this.flushTimer ??= setTimeout(() => this.flush(), this.options.flushMs - sinceFlush);
  }

  private flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.closed) return;
    this.options.savePartial(this.shown);
    this.lastFlush = performance.now();
  }
}
