import type { GuardSubject } from './guard.js';

/**
 * A guard's work as a generator that yields between pieces (a window of text, one detector), so one scan can run
 * straight through where a caller needs the answer now (`redactPii`) or with pauses where a turn may cancel it.
 */
export type GuardScan<T> = Generator<void, T>;

export function runScanToEnd<T>(scan: GuardScan<T>): T {
  for (;;) {
    const step = scan.next();
    if (step.done === true) return step.value;
  }
}

/** How long a scan runs before it lets the turn's timers and a cancel in. */
const SLICE_MS = 8;

/**
 * Runs a scan, giving the event loop a turn every few milliseconds; rejects with the signal's reason once it is
 * aborted, so a step deadline or a barge-in stops a long scan instead of waiting for it.
 */
export async function runScanWithPauses<T>(scan: GuardScan<T>, signal: AbortSignal): Promise<T> {
  signal.throwIfAborted();
  let sliceStart = performance.now();
  for (;;) {
    const step = scan.next();
    if (step.done === true) return step.value;
    if (performance.now() - sliceStart > SLICE_MS) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      signal.throwIfAborted();
      sliceStart = performance.now();
    }
  }
}

/** The subject as a reason names it: "The question contains…", "The answer contains…". */
export function subjectName(subject: GuardSubject): string {
  return subject === 'answer-sentence' ? 'answer' : subject;
}
