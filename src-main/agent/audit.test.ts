import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AgentLogger } from './agentLogger.js';
import { audit, RepeatedAudit } from './audit.js';

function recordingLogger(): { logger: AgentLogger; warnings: object[] } {
  const warnings: object[] = [];
  const none = () => undefined;
  return { warnings, logger: { debug: none, info: none, error: none, warn: (fields) => warnings.push(fields) } };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('audit entries', () => {
  it('are warn lines of their own, named by the `audit` field, which no other field can overwrite', () => {
    const { logger, warnings } = recordingLogger();
    audit(logger, 'token-refused', { endpoint: '/ws', status: 401, audit: 'something else' });
    expect(warnings).toEqual([{ endpoint: '/ws', status: 401, audit: 'token-refused' }]);
  });

  it('a flood is written once at once, then once per interval with its repeats counted, until it stops', () => {
    vi.useFakeTimers();
    const { logger, warnings } = recordingLogger();
    const auditor = new RepeatedAudit(logger, 1_000);
    const limited = (n: number) => ({ client: 'client-1', limit: 'calls', retryAfterMs: n });

    for (let i = 1; i <= 30; i++) auditor.record('rate-limited', 'client-1 calls', limited(i));
    auditor.record('rate-limited', 'client-2 calls', { client: 'client-2' });
    expect(warnings).toEqual([
      { audit: 'rate-limited', ...limited(1) },
      { audit: 'rate-limited', client: 'client-2' },
    ]);

    vi.advanceTimersByTime(1_000); // 29 repeats in the first second; client-2's series ends without any
    for (let i = 0; i < 5; i++) auditor.record('rate-limited', 'client-1 calls', limited(7));
    vi.advanceTimersByTime(1_000);
    vi.advanceTimersByTime(1_000); // a quiet second ends the series
    auditor.record('rate-limited', 'client-1 calls', limited(9)); // a new series: written at once
    expect(warnings.slice(2)).toEqual([
      { audit: 'rate-limited', ...limited(30), repeats: 29 },
      { audit: 'rate-limited', ...limited(7), repeats: 5 },
      { audit: 'rate-limited', ...limited(9) },
    ]);

    auditor.record('rate-limited', 'client-1 calls', limited(10));
    auditor.flush();
    expect(warnings.at(-1)).toEqual({ audit: 'rate-limited', ...limited(10), repeats: 1 });
    expect(vi.getTimerCount()).toBe(0);
  });
});
