import { AgentError, toErrorShape, type AgentErrorShape, type AgentEvent, type Citation } from '../../../src-shared/contract/index.js';

/** What every prepare step may look at. */
export interface TurnInput {
  turnId: string;
  conversationId: string;
  question: string;
  /**
   * Where the step's own events go (guard verdicts, notices): the agent's events, or, for a turn prepared
   * speculatively, held until the turn is adopted and dropped if it is not.
   */
  emit?: (event: AgentEvent) => void;
}

/**
 * One step of a turn's prepare stage. All steps of a turn start together; each runs under the turn's signal
 * combined with its own timeout. An optional step that fails or times out is left out (the user sees a notice); a
 * required one ends the turn with its error.
 */
export interface PrepareStep<T> {
  name: string;
  timeoutMs: number;
  required: boolean;
  run(input: TurnInput, signal: AbortSignal): Promise<T>;
}

/** A passage retrieved for the question (documents, later); it goes into the prompt next to the question. */
export interface RetrievedContext {
  id: string;
  text: string;
  source?: string;
  /** Shown under the answer when the passage made it into the prompt. */
  citation?: Citation;
}

/** An input check's answer. Generation may already run; the first token waits for every verdict. */
export type InputVerdict = { allowed: true } | { allowed: false; reason: string; /** The guard that refused it. */ guard?: string };

/** A turn refused by an input check: it ends with a `blocked` event, not an error, and leaves nothing behind. */
export class TurnBlocked extends AgentError {
  constructor(
    readonly guard: string,
    reason: string,
  ) {
    super('INPUT_REJECTED', reason);
  }
}

/** A step whose result the prompt needs (retrieval): generation waits for it. */
export interface ContextStep extends PrepareStep<RetrievedContext[]> {
  kind: 'context';
}
/** A step that only decides whether the answer may be shown (input checks): generation does not wait for it. */
export interface VerdictStep extends PrepareStep<InputVerdict> {
  kind: 'verdict';
}
export type PluggedPrepareStep = ContextStep | VerdictStep;

export type StepOutcome<T> =
  | { ok: true; value: T }
  | { ok: false; error: AgentErrorShape; timedOut: boolean; required: boolean; step: string };

export interface StepTimingSink {
  stageStart(name: string): void;
  stageEnd(name: string): void;
}

/**
 * Runs one step: its own timeout, the turn's cancellation, and stage timing. A step that ignores its signal is
 * still given up on at its deadline; its late result is dropped. Never throws: failure is an outcome.
 */
export async function runPrepareStep<T>(
  step: PrepareStep<T>,
  input: TurnInput,
  turnSignal: AbortSignal,
  timing: StepTimingSink,
): Promise<StepOutcome<T>> {
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new StepTimeout(step)), step.timeoutMs);
  const signal = AbortSignal.any([turnSignal, deadline.signal]);
  timing.stageStart(step.name);
  try {
    const value = await new Promise<T>((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      step.run(input, signal).then(resolve, reject);
    });
    return { ok: true, value };
  } catch (error) {
    const timedOut = deadline.signal.aborted && !turnSignal.aborted;
    return { ok: false, error: toErrorShape(timedOut ? new StepTimeout(step) : error), timedOut, required: step.required, step: step.name };
  } finally {
    clearTimeout(timer);
    timing.stageEnd(step.name);
  }
}

class StepTimeout extends AgentError {
  constructor(step: { name: string; timeoutMs: number }) {
    super('STEP_TIMEOUT', `The ${step.name} step took longer than ${step.timeoutMs} ms.`);
  }
}

/** The value of a step that must succeed; throws its error otherwise. */
export function requireOutcome<T>(outcome: StepOutcome<T>): T {
  if (outcome.ok) return outcome.value;
  throw new AgentError(outcome.error.code, outcome.error.message);
}
