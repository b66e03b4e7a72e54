import PQueue from 'p-queue';
import { abandonable } from '../abandonable.js';
import type { CouncilGenerateRequest, CouncilMember } from './councilMember.js';

/** How one member's generation ended. Never a rejection: the council goes on whatever a member does. */
export type MemberOutcome =
  | { ok: true; text: string; ms: number }
  | { ok: false; why: 'failed' | 'timed-out' | 'cancelled'; message: string; ms: number };

export interface MemberCallOptions {
  /** Stops the call (the run, or the end of stage 2); the outcome is then `cancelled`. */
  signal: AbortSignal;
  /** The member's own limit, counted from when its generation starts (not while it waits for its turn). */
  timeoutMs: number;
  /** Exclusive members queue here; a higher priority goes first (the chairman, ahead of rankings not yet started). */
  lane: PQueue;
  priority?: number;
  now(): number;
  /** Called once per generation that started, with its duration. */
  onTimed?(ms: number): void;
  /**
   * Called with the outcome before an exclusive member's turn ends, so what it decides (e.g. pausing the lane to let
   * the chairman go next) happens before the next queued generation starts. Must not throw (a throw is ignored).
   */
  onOutcome?(outcome: MemberOutcome): void;
}

class MemberTimeout extends Error {}

/**
 * Runs one generation of `member`: in the exclusive lane when the member takes turns, with its deadline, and
 * abandoned (not awaited) once cancelled or over time, so a member that ignores its signal cannot hold the council.
 * An empty answer counts as a failure.
 */
export function callMember(
  member: CouncilMember,
  request: Omit<CouncilGenerateRequest, 'signal'>,
  options: MemberCallOptions,
): Promise<MemberOutcome> {
  const run = async () => {
    const outcome = await generateWithDeadline(member, request, options);
    try {
      options.onOutcome?.(outcome);
    } catch {
      // The caller's listener; the council goes on.
    }
    return outcome;
  };
  if (member.concurrency === 'parallel') return run();
  return options.lane.add(run, { priority: options.priority ?? 0 }) as Promise<MemberOutcome>;
}

async function generateWithDeadline(
  member: CouncilMember,
  request: Omit<CouncilGenerateRequest, 'signal'>,
  options: MemberCallOptions,
): Promise<MemberOutcome> {
  if (options.signal.aborted) return { ok: false, why: 'cancelled', message: 'cancelled', ms: 0 };
  const controller = new AbortController();
  const stop = () => controller.abort(options.signal.reason);
  options.signal.addEventListener('abort', stop, { once: true });
  const timer = setTimeout(() => controller.abort(new MemberTimeout()), options.timeoutMs);
  const started = options.now();
  const elapsed = () => options.now() - started;
  const ended = (): MemberOutcome => {
    if (controller.signal.reason instanceof MemberTimeout) {
      return { ok: false, why: 'timed-out', message: `no answer within ${seconds(options.timeoutMs)}`, ms: elapsed() };
    }
    return { ok: false, why: 'cancelled', message: 'cancelled', ms: elapsed() };
  };
  try {
    const result = await abandonable(member.generate({ ...request, signal: controller.signal }), controller.signal);
    if (controller.signal.aborted || result.aborted) return ended();
    const text = result.text.trim();
    if (text === '') return { ok: false, why: 'failed', message: 'it gave an empty answer', ms: elapsed() };
    return { ok: true, text, ms: elapsed() };
  } catch (error) {
    if (controller.signal.aborted) return ended();
    return { ok: false, why: 'failed', message: error instanceof Error ? error.message : String(error), ms: elapsed() };
  } finally {
    clearTimeout(timer);
    options.signal.removeEventListener('abort', stop);
    try {
      options.onTimed?.(elapsed());
    } catch {
      // A broken observer must not fail the council.
    }
  }
}

function seconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 100) / 10} s`;
}
