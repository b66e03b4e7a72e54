import { describe, expect, it } from 'vitest';
import { formatDuration, formatMs, timeAxis } from './timeAxis.js';

describe('timeAxis', () => {
  it('ends at a round tick at or past the longest span, ticks evenly 1/2/5 × 10^k apart', () => {
    expect(timeAxis(87)).toEqual({ maxMs: 100, ticks: [0, 20, 40, 60, 80, 100] });
    expect(timeAxis(100)).toEqual({ maxMs: 100, ticks: [0, 20, 40, 60, 80, 100] });
    expect(timeAxis(1234)).toEqual({ maxMs: 1500, ticks: [0, 500, 1000, 1500] });
    expect(timeAxis(3.2)).toEqual({ maxMs: 4, ticks: [0, 1, 2, 3, 4] });
    expect(timeAxis(0.3).maxMs).toBeCloseTo(0.3);
  });

  it('has an axis for a turn whose stages all took no time', () => {
    expect(timeAxis(0)).toEqual({ maxMs: 1, ticks: [0, 0.2, 0.4, 0.6, 0.8, 1] });
  });

  it('formats a decimal only under 10 ms', () => {
    expect(formatMs(0.42)).toBe('0.4 ms');
    expect(formatMs(12.6)).toBe('13 ms');
    expect(formatMs(1250)).toBe('1,250 ms');
    expect(formatMs(null)).toBe('—');
    expect(formatDuration(1250)).toBe('1,250');
  });
});
