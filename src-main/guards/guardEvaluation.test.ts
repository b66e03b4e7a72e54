import { describe, expect, it } from 'vitest';
import type { Guard } from './guard.js';
import { evaluateGuard } from './guardEvaluation.js';

const flagsWordBad: Guard = {
  name: 'bad-word',
  subjects: ['question'],
  check: (text) => (text.includes('bad') ? { outcome: 'flag', reason: 'Bad.', spans: [] } : { outcome: 'pass' }),
};

describe('evaluateGuard', () => {
  it('counts detections, misses, false positives and errors', async () => {
    const throwing: Guard = { ...flagsWordBad, check: (text) => (text === 'boom' ? Promise.reject(new Error('x')) : flagsWordBad.check(text, { subject: 'question' }, new AbortController().signal)) };
    const evaluation = await evaluateGuard(throwing, [
      { text: 'bad one', expected: true },
      { text: 'good one', expected: true },
      { text: 'bad but fine', expected: false },
      { text: 'fine', expected: false },
      { text: 'fine too', expected: false },
      { text: 'boom', expected: true },
    ]);
    expect(evaluation).toMatchObject({ total: 6, positives: 3, detected: 1, missed: 1, negatives: 3, falsePositives: 1, errors: 1 });
    expect(evaluation.detectionRate).toBeCloseTo(1 / 3);
    expect(evaluation.falsePositiveRate).toBeCloseTo(1 / 3);
    expect(evaluation.missedSamples.map((s) => s.text)).toEqual(['good one']);
    expect(evaluation.falsePositiveSamples.map((s) => s.text)).toEqual(['bad but fine']);
  });

  it('reports full detection and no false positives for an empty set', async () => {
    expect(await evaluateGuard(flagsWordBad, [])).toMatchObject({ detectionRate: 1, falsePositiveRate: 0, total: 0 });
  });
});
