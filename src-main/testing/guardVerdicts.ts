import { expect } from 'vitest';
import type { GuardVerdict } from '../guards/guard.js';

/** A verdict a caller can use: a pass, or a flag with a reason and spans inside the checked text. */
export function expectWellFormed(verdict: GuardVerdict, text: string): void {
  if (verdict.outcome === 'pass') return;
  expect(verdict.reason.length).toBeGreaterThan(0);
  for (const span of verdict.spans) {
    expect(span.start).toBeGreaterThanOrEqual(0);
    expect(span.end).toBeGreaterThan(span.start);
    expect(span.end).toBeLessThanOrEqual(text.length);
  }
}
