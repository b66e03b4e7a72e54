import type { Guard, GuardSubject } from './guard.js';

/** One labelled text for measuring a guard: `expected` is true when the guard should flag it. */
export interface GuardSample {
  text: string;
  expected: boolean;
  /** What the sample is an example of ('EMAIL', 'benign-price', …), for grouping a report. */
  kind?: string;
}

export interface GuardEvaluation {
  total: number;
  /** Samples that should be flagged, and how many of them were. */
  positives: number;
  detected: number;
  missed: number;
  /** Samples that should pass, and how many of them were flagged anyway. */
  negatives: number;
  falsePositives: number;
  /** Samples whose check threw (counted apart: neither detected nor passed). */
  errors: number;
  /** detected / positives (1 when there are no positives). */
  detectionRate: number;
  /** falsePositives / negatives (0 when there are no negatives). */
  falsePositiveRate: number;
  /** The samples behind `missed`, `falsePositives` and `errors`, for a report. */
  missedSamples: GuardSample[];
  falsePositiveSamples: GuardSample[];
  errorSamples: GuardSample[];
}

/**
 * Runs `guard` over labelled samples and counts what it caught and what it wrongly flagged. Pure apart from the
 * guard's own work: nothing is logged or stored. Samples run one after another so timings stay comparable.
 */
export async function evaluateGuard(
  guard: Guard,
  samples: readonly GuardSample[],
  options: { subject?: GuardSubject; signal?: AbortSignal } = {},
): Promise<GuardEvaluation> {
  const subject = options.subject ?? guard.subjects[0] ?? 'question';
  const signal = options.signal ?? new AbortController().signal;
  const missedSamples: GuardSample[] = [];
  const falsePositiveSamples: GuardSample[] = [];
  const errorSamples: GuardSample[] = [];
  let positives = 0;
  let detected = 0;
  for (const sample of samples) {
    if (sample.expected) positives++;
    let flagged: boolean;
    try {
      flagged = (await guard.check(sample.text, { subject }, signal)).outcome === 'flag';
    } catch {
      errorSamples.push(sample);
      continue;
    }
    if (sample.expected && flagged) detected++;
    else if (sample.expected) missedSamples.push(sample);
    else if (flagged) falsePositiveSamples.push(sample);
  }
  const negatives = samples.length - positives;
  return {
    total: samples.length,
    positives,
    detected,
    missed: missedSamples.length,
    negatives,
    falsePositives: falsePositiveSamples.length,
    errors: errorSamples.length,
    detectionRate: positives === 0 ? 1 : detected / positives,
    falsePositiveRate: negatives === 0 ? 0 : falsePositiveSamples.length / negatives,
    missedSamples,
    falsePositiveSamples,
    errorSamples,
  };
}

export interface GuardLatency {
  runs: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
}

/**
 * How long one check takes: each text checked `runs` times in turn (after one warm-up pass), as percentiles over all
 * checks. For a benchmark report; tests only print it.
 */
export async function measureGuardLatency(
  guard: Guard,
  texts: readonly string[],
  options: { runs?: number; subject?: GuardSubject } = {},
): Promise<GuardLatency> {
  const runs = options.runs ?? 100;
  const context = { subject: options.subject ?? guard.subjects[0] ?? 'question' };
  const signal = new AbortController().signal;
  for (const text of texts) await guard.check(text, context, signal);
  const times: number[] = [];
  for (let run = 0; run < runs; run++) {
    for (const text of texts) {
      const started = performance.now();
      await guard.check(text, context, signal);
      times.push(performance.now() - started);
    }
  }
  times.sort((a, b) => a - b);
  const at = (fraction: number) => times[Math.min(times.length - 1, Math.floor(fraction * times.length))] ?? 0;
  return { runs: times.length, p50Ms: at(0.5), p95Ms: at(0.95), maxMs: times[times.length - 1] ?? 0 };
}
