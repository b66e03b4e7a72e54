import type { AgentEvent } from '../../../src-shared/contract/index.js';
import type { StepTimingSink } from './prepareStep.js';

/** The words of a question as speech recognition may vary them: case, punctuation and spacing do not count. */
export function normaliseSpokenQuestion(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s']/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** What the voice side holds of a speculative turn: its words, and the way to drop it. */
export interface SpeculativeTurnHandle {
  readonly question: string;
  /** Drops it: its prepare steps stop, and nothing of it is ever shown, spoken or stored. */
  cancel(): void;
}

/** Where a speculative turn's prepare steps report their stages until a real turn adopts it. */
class HeldStages implements StepTimingSink {
  private readonly started = new Map<string, number>();
  private readonly ended = new Map<string, number>();
  private timeline: { start(name: string, at?: number): void; end(name: string, at?: number): void } | undefined;

  stageStart(name: string): void {
    const at = performance.now();
    this.started.set(name, at);
    this.timeline?.start(name, at);
  }

  stageEnd(name: string): void {
    const at = performance.now();
    this.ended.set(name, at);
    this.timeline?.end(name, at);
  }

  /** From now on stages go to `timeline`; those already seen are replayed into it with their real times. */
  attach(timeline: { start(name: string, at?: number): void; end(name: string, at?: number): void }): void {
    this.timeline = timeline;
    for (const [name, at] of this.started) {
      timeline.start(name, at);
      const end = this.ended.get(name);
      if (end !== undefined) timeline.end(name, end);
    }
  }

  /** When the first step started and the last one ended (or undefined while one still runs). */
  span(): { start: number; end: number | undefined } | undefined {
    const starts = [...this.started.values()];
    if (starts.length === 0) return undefined;
    const running = this.started.size > this.ended.size;
    return { start: Math.min(...starts), end: running ? undefined : Math.max(...this.ended.values()) };
  }
}

/**
 * A turn prepared before the user has finished speaking: the prepare steps (provider, history, cache lookup,
 * retrieval, input checks) run on the partial transcript while the user is silent. Nothing of it is stored, and the
 * events its steps emit (guard verdicts, notices) are held back. When the final transcript says the same words, the
 * real turn adopts it: the held events are sent under the real turn, its stages join the turn's timeline, and
 * whatever is still running goes on. Otherwise it is cancelled and leaves nothing behind.
 */
export class SpeculativeTurn<Prepared> implements SpeculativeTurnHandle {
  readonly turnId: string;
  readonly normalised: string;
  readonly startedAt = performance.now();
  /** When all its prepare steps had ended. */
  settledAt: number | undefined;
  readonly stages = new HeldStages();
  private readonly controller = new AbortController();
  private readonly heldEvents: AgentEvent[] = [];
  private adoptedEmit: ((event: AgentEvent) => void) | undefined;
  private prepared: Prepared | undefined;
  private state: 'preparing' | 'adopted' | 'cancelled' = 'preparing';

  constructor(
    readonly question: string,
    readonly conversationId: string | undefined,
    /** Messages in the conversation when it started: if that changed, its history is stale. */
    readonly messagesBefore: number,
    turnId: string,
  ) {
    this.turnId = turnId;
    this.normalised = normaliseSpokenQuestion(question);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get cancelled(): boolean {
    return this.state === 'cancelled';
  }

  /** Set once, by the runner, right after starting the steps. */
  hold(prepared: Prepared): void {
    this.prepared = prepared;
  }

  /** Where the steps' events go: held until adopted, then straight through. Dropped once cancelled. */
  readonly emit = (event: AgentEvent): void => {
    if (this.state === 'cancelled') return;
    if (this.adoptedEmit) this.adoptedEmit(event);
    else this.heldEvents.push(event);
  };

  cancel(): void {
    if (this.state !== 'preparing') return;
    this.state = 'cancelled';
    this.heldEvents.length = 0;
    this.controller.abort();
  }

  /**
   * The real turn takes it over: its cancellation now stops these steps, the held events are sent (rewritten to
   * the turn's conversation), and the prepared promises are handed over.
   */
  adopt(turn: { conversationId: string; signal: AbortSignal; emit(event: AgentEvent): void; timeline: Parameters<HeldStages['attach']>[0] }): Prepared {
    if (this.state !== 'preparing' || this.prepared === undefined) throw new Error('Only a speculative turn still preparing can be adopted.');
    this.state = 'adopted';
    const abort = () => this.controller.abort();
    if (turn.signal.aborted) abort();
    else turn.signal.addEventListener('abort', abort, { once: true });
    const rewrite = (event: AgentEvent): AgentEvent => ('conversationId' in event ? ({ ...event, conversationId: turn.conversationId } as AgentEvent) : event);
    this.adoptedEmit = (event) => turn.emit(rewrite(event));
    for (const event of this.heldEvents.splice(0)) this.adoptedEmit(event);
    this.stages.attach(turn.timeline);
    return this.prepared;
  }
}
