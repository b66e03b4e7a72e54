import { toErrorShape, type AgentEvent, type GuardSetting, type GuardSettings } from '../../src-shared/contract/index.js';
import type { AgentLogger } from '../agent/agentLogger.js';
import type { OutputCheck, OutputVerdict } from '../agent/turn/answerStream.js';
import type { RetrievedContext, TurnInput, VerdictStep } from '../agent/turn/prepareStep.js';
import type { Guard, GuardAction, GuardContext, GuardSubject, GuardVerdict } from './guard.js';

/** A guard's settings once defaults are filled in. */
export interface GuardPolicy {
  enabled: boolean;
  action: GuardAction;
  /** A guard that throws or times out lets the text through (with a logged warning) instead of refusing it. */
  failOpen: boolean;
  timeoutMs: number;
}

/**
 * Safe by default: injections and over-long or hidden-text input are refused, personal data is masked in what is kept,
 * abuse is noted. A broken injection or abuse check lets the text through with a warning (a down embedder must not
 * stop every answer); a broken PII or format check refuses, since letting it through could keep personal data.
 */
export const DEFAULT_GUARD_POLICIES: Readonly<Record<string, GuardPolicy>> = {
  injection: { enabled: true, action: 'block', failOpen: true, timeoutMs: 3_000 },
  pii: { enabled: true, action: 'redact', failOpen: false, timeoutMs: 2_000 },
  abuse: { enabled: true, action: 'warn', failOpen: true, timeoutMs: 2_000 },
  length: { enabled: true, action: 'block', failOpen: false, timeoutMs: 2_000 },
};

const FALLBACK_POLICY: GuardPolicy = { enabled: true, action: 'warn', failOpen: true, timeoutMs: 1_000 };

export function guardPolicy(name: string, settings: GuardSettings = {}): GuardPolicy {
  const base = DEFAULT_GUARD_POLICIES[name] ?? FALLBACK_POLICY;
  const saved: GuardSetting = (settings as Record<string, GuardSetting | undefined>)[name] ?? {};
  return {
    ...base,
    ...(saved.enabled !== undefined && { enabled: saved.enabled }),
    ...(saved.action !== undefined && { action: saved.action }),
    ...(saved.failOpen !== undefined && { failOpen: saved.failOpen }),
  };
}

/** One guard's outcome on one text, after its policy: what the runner does with it. */
export type GuardOutcome =
  | { outcome: 'pass'; ms: number }
  | { outcome: 'flag'; verdict: Extract<GuardVerdict, { outcome: 'flag' }>; action: GuardAction; ms: number }
  | { outcome: 'error'; action: 'block' | 'warn'; reason: string; ms: number };

export interface GuardrailsOptions {
  guards: readonly Guard[];
  /** Read at every check, so a change in the app applies to the next question. */
  settings?: () => GuardSettings;
  /** Masks personal data for what is stored, cached and logged (the PII guard's redaction). */
  redact?: (text: string) => string;
  emit: (event: AgentEvent) => void;
  logger: AgentLogger;
}

/**
 * The guardrails of a turn, built from guards and their settings:
 * - input checks as prepare steps (one per guard, each with its own timing), run beside history, retrieval, the cache
 *   lookup and prefill; the first token waits for their verdicts;
 * - a filter that drops retrieved passages carrying instructions aimed at the assistant, with a notice;
 * - an output check on every answer sentence before it is shown, spoken, stored or cached;
 * - the redaction of what is kept of the question.
 * A guard that throws or times out never takes the turn down: it fails open or closed by its policy, with a warning.
 */
export class Guardrails {
  constructor(private readonly options: GuardrailsOptions) {}

  private active(subject: GuardSubject): Array<{ guard: Guard; policy: GuardPolicy }> {
    return this.options.guards
      .filter((guard) => guard.subjects.includes(subject))
      .map((guard) => ({ guard, policy: guardPolicy(guard.name, this.options.settings?.()) }))
      .filter(({ policy }) => policy.enabled);
  }

  /** The question's input checks, as prepare steps of the turn (each reads its settings when it runs). */
  inputSteps(): VerdictStep[] {
    return this.options.guards.filter((guard) => guard.subjects.includes('question')).map((guard) => ({
      kind: 'verdict' as const,
      name: `guard:${guard.name}`,
      // The runner below keeps its own deadline and decides open or closed itself; this one is only a backstop.
      timeoutMs: guardPolicy(guard.name).timeoutMs + 1_000,
      required: true,
      run: async (input: TurnInput, signal: AbortSignal) => {
        const policy = guardPolicy(guard.name, this.options.settings?.());
        if (!policy.enabled) return { allowed: true };
        const result = await runGuard(guard, policy, input.question, { subject: 'question' }, signal);
        this.report(input, guard.name, 'question', result);
        if (result.outcome === 'error' && result.action === 'block') {
          return { allowed: false, guard: guard.name, reason: `The ${guard.name} check could not run, so the question was not answered. Try again.` };
        }
        if (result.outcome !== 'flag') return { allowed: true };
        if (result.action === 'block') return { allowed: false, guard: guard.name, reason: result.verdict.reason };
        if (result.action === 'warn') (input.emit ?? this.options.emit)({ type: 'notice', level: 'warning', message: result.verdict.reason });
        return { allowed: true };
      },
    }));
  }

  /** What may be kept of a question: stored, used as a title, logged. */
  redactForStorage = (text: string): string => {
    const pii = this.active('question').find(({ guard }) => guard.name === 'pii');
    if (!pii || !this.options.redact) return text;
    try {
      return this.options.redact(text);
    } catch (error) {
      this.options.logger.error({ reason: toErrorShape(error).message }, 'PII redaction failed; the question is kept fully masked');
      return '[REDACTED]';
    }
  };

  /** Retrieved passages without the ones that carry instructions for the assistant; each dropped one is named in a notice. */
  async filterPassages(input: TurnInput, passages: readonly RetrievedContext[], signal: AbortSignal): Promise<RetrievedContext[]> {
    const guards = this.active('passage');
    if (guards.length === 0 || passages.length === 0) return [...passages];
    const kept: RetrievedContext[] = [];
    await Promise.all(
      passages.map(async (passage) => {
        for (const { guard, policy } of guards) {
          const result = await runGuard(guard, policy, passage.text, { subject: 'passage' }, signal);
          this.report(input, guard.name, 'passage', result, passage.source);
          const drop = (result.outcome === 'flag' && result.action !== 'warn') || (result.outcome === 'error' && result.action === 'block');
          if (drop) {
            const name = passage.source ? passage.source.split(/[\\/]/).pop() : 'a document';
            (input.emit ?? this.options.emit)({ type: 'notice', level: 'warning', message: `A passage of ${name} was left out: it contains instructions aimed at the assistant.` });
            return;
          }
        }
        kept.push(passage);
      }),
    );
    // In their original order (most relevant first).
    return passages.filter((passage) => kept.includes(passage));
  }

  /** Every answer sentence, before it is shown, spoken, stored or cached. Tokens wait for their sentence. */
  outputCheck(): OutputCheck {
    return {
      tokens: 'checked-sentences',
      // Shown early: the prefix every guard that could change the sentence leaves alone (a guard that only warns
      // changes nothing).
      releasable: (partial) => {
        let safe = partial.length;
        for (const { guard, policy } of this.active('answer-sentence')) {
          if (policy.action === 'warn') continue;
          safe = Math.min(safe, guard.releasable?.(partial) ?? 0);
        }
        return safe;
      },
      checkSentence: async (sentence, signal): Promise<OutputVerdict> => {
        let text = sentence;
        for (const { guard, policy } of this.active('answer-sentence')) {
          const result = await runGuard(guard, policy, text, { subject: 'answer-sentence' }, signal);
          if (result.outcome === 'error') {
            this.options.logger.warn({ audit: 'guard-error', guard: guard.name, subject: 'answer-sentence', reason: result.reason }, 'output guard failed');
            if (result.action === 'block') return { action: 'block', guard: guard.name, reason: 'This sentence could not be checked.' };
            continue;
          }
          if (result.outcome !== 'flag') continue;
          this.options.logger.info({ audit: 'guard-flag', guard: guard.name, subject: 'answer-sentence', action: result.action }, 'answer sentence flagged');
          if (result.action === 'block') return { action: 'block', guard: guard.name, reason: result.verdict.reason };
          if (result.action === 'redact') text = maskSpans(text, result.verdict.spans);
        }
        return text === sentence ? { action: 'pass' } : { action: 'replace', text };
      },
    };
  }

  private report(input: TurnInput, guard: string, subject: GuardSubject, result: GuardOutcome, detail?: string): void {
    const { turnId, conversationId } = input;
    const emit = input.emit ?? this.options.emit;
    const ms = Math.round(result.ms * 1000) / 1000;
    const base = { type: 'guard-verdict' as const, turnId, conversationId, guard, subject, ms, ...(detail !== undefined && { detail }) };
    if (result.outcome === 'pass') emit({ ...base, outcome: 'pass' });
    else if (result.outcome === 'flag') {
      emit({ ...base, outcome: 'flag', action: result.action, reason: result.verdict.reason });
      this.options.logger.warn({ audit: 'guard-flag', turnId, guard, subject, action: result.action }, 'guard flagged a text');
    } else {
      emit({ ...base, outcome: 'error', action: result.action, reason: result.reason });
      this.options.logger.warn({ audit: 'guard-error', turnId, guard, subject, failOpen: result.action === 'warn', reason: result.reason }, 'guard failed');
    }
  }
}

/** One guard on one text under its policy: its own deadline, its failures turned into an outcome. Never throws unless the turn was cancelled. */
export async function runGuard(guard: Guard, policy: GuardPolicy, text: string, context: GuardContext, signal: AbortSignal): Promise<GuardOutcome> {
  const started = performance.now();
  const deadline = AbortSignal.timeout(policy.timeoutMs);
  const bounded = AbortSignal.any([signal, deadline]);
  try {
    const verdict = await new Promise<GuardVerdict>((resolve, reject) => {
      bounded.addEventListener('abort', () => reject(bounded.reason), { once: true });
      Promise.resolve()
        .then(() => guard.check(text, context, bounded))
        .then(resolve, reject);
    });
    const ms = performance.now() - started;
    if (verdict.outcome === 'pass') return { outcome: 'pass', ms };
    return { outcome: 'flag', verdict, action: policy.action, ms };
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    const reason = deadline.aborted ? `took longer than ${policy.timeoutMs} ms` : toErrorShape(error).message;
    return { outcome: 'error', action: policy.failOpen ? 'warn' : 'block', reason, ms: performance.now() - started };
  }
}

/** The text with each flagged span replaced by its kind's mask, `[EMAIL]`. */
export function maskSpans(text: string, spans: ReadonlyArray<{ start: number; end: number; kind: string }>): string {
  const ordered = [...spans].sort((a, b) => a.start - b.start);
  let out = '';
  let at = 0;
  for (const span of ordered) {
    if (span.start < at) continue;
    out += `${text.slice(at, span.start)}[${span.kind}]`;
    at = span.end;
  }
  return out + text.slice(at);
}
