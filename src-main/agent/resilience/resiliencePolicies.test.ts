import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AgentError } from '../../../src-shared/contract/index.js';
import {
  AttemptTimeout,
  DEFAULT_RETRY,
  HttpStatusError,
  isCircuitOpenError,
  isTransientFailure,
  nominalDelays,
  parseRetryAfter,
  ResiliencePolicy,
  type CircuitStateName,
} from './resiliencePolicies.js';

/** A connection error as Node's fetch reports it: TypeError('fetch failed') with the socket error as its cause. */
function fetchFailed(code: string, message = `connect ${code} 127.0.0.1:11434`): TypeError {
  return new TypeError('fetch failed', { cause: Object.assign(new Error(message), { code }) });
}

const transientFailures: Array<[string, () => Error]> = [
  ['HTTP 429', () => new HttpStatusError(429, 'too many requests')],
  ['HTTP 503', () => new HttpStatusError(503, 'server busy')],
  ['ECONNRESET', () => fetchFailed('ECONNRESET', 'read ECONNRESET')],
  ['socket hang up', () => new Error('socket hang up')],
  ["undici's other side closed", () => fetchFailed('UND_ERR_SOCKET', 'other side closed')],
];
/** Statuses that mean "this request is wrong", not "the server is busy": never asked again. */
const refusedStatus = fc.integer({ min: 400, max: 499 }).filter((status) => status !== 408 && status !== 429);

const outageForTests = (error: unknown) => error instanceof HttpStatusError && error.status >= 500;

function policyWith(options: { random?: () => number; failures?: number; halfOpenAfterMs?: number } = {}) {
  return new ResiliencePolicy({
    isOutage: outageForTests,
    retry: { random: options.random ?? (() => 0.5) },
    breaker: { failures: options.failures ?? 5, halfOpenAfterMs: options.halfOpenAfterMs ?? 15_000 },
  });
}

/** Runs `call` to its end under fake timers, recording when (in fake ms) each attempt started. */
async function runRecording<T>(
  policy: ResiliencePolicy,
  attempt: (index: number) => Promise<T>,
  options: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<{ attempts: number[]; outcome: { value?: T; error?: unknown } }> {
  const attempts: number[] = [];
  const started = Date.now();
  const outcome: { value?: T; error?: unknown } = {};
  const done = policy
    .execute(
      () => {
        attempts.push(Date.now() - started);
        return attempt(attempts.length);
      },
      { timeoutMs: options.timeoutMs ?? 60_000, signal: options.signal },
    )
    .then(
      (value) => (outcome.value = value),
      (error: unknown) => (outcome.error = error),
    );
  await vi.runAllTimersAsync();
  await done;
  return { attempts, outcome };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('retries: exponential backoff with jitter, transient failures only', () => {
  it('waits about 1, 2, 4 and 8 s (±20 % jitter) between at most 5 tries, whatever the random draws', async () => {
    const nominal = nominalDelays(DEFAULT_RETRY);
    expect(nominal).toEqual([1_000, 2_000, 4_000, 8_000]);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 4, maxLength: 4 }), async (draws) => {
        let next = 0;
        const policy = policyWith({ random: () => draws[next++ % draws.length]! });
        const { attempts, outcome } = await runRecording(policy, async () => {
          throw new HttpStatusError(503, 'server busy');
        });
        expect(attempts).toHaveLength(DEFAULT_RETRY.maxAttempts);
        expect((outcome.error as HttpStatusError).status).toBe(503);
        const gaps = attempts.slice(1).map((at, i) => at - attempts[i]!);
        gaps.forEach((gap, i) => {
          // Fake timers fire at whole milliseconds.
          expect(gap).toBeGreaterThanOrEqual(Math.floor(nominal[i]! * 0.8));
          expect(gap).toBeLessThanOrEqual(Math.ceil(nominal[i]! * 1.2));
          expect(gap).toBeCloseTo(nominal[i]! * (0.8 + 0.4 * draws[i]!), -1);
        });
      }),
      { numRuns: 50 },
    );
  });

  it.each(transientFailures)('retries a %s and returns the answer of the try that succeeds', async (_name, failure) => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: DEFAULT_RETRY.maxAttempts - 1 }), async (failuresFirst) => {
        const { attempts, outcome } = await runRecording(policyWith(), async (index) => {
          if (index <= failuresFirst) throw failure();
          return 'answer';
        });
        expect(outcome.value).toBe('answer');
        expect(attempts).toHaveLength(failuresFirst + 1);
      }),
      { numRuns: 10 },
    );
  });

  it('never retries a 400, a 404 (a missing model) or any status that refuses the request', async () => {
    await fc.assert(
      fc.asyncProperty(refusedStatus, async (status) => {
        expect(isTransientFailure(new HttpStatusError(status, 'no'))).toBe(false);
        const { attempts, outcome } = await runRecording(policyWith(), async () => {
          throw new HttpStatusError(status, `refused with ${status}`);
        });
        expect(attempts).toEqual([0]);
        expect((outcome.error as HttpStatusError).status).toBe(status);
      }),
      { numRuns: 40 },
    );
  });

  it('never retries a refused connection (nothing listens), a 500, a timeout, or an error it does not know', async () => {
    for (const error of [fetchFailed('ECONNREFUSED'), new HttpStatusError(500, 'boom'), new Error('something else'), new AgentError('MODEL_MISSING', 'gone')]) {
      const { attempts, outcome } = await runRecording(policyWith(), async () => {
        throw error;
      });
      expect(attempts).toHaveLength(1);
      expect(outcome.error).toBe(error);
    }
    const hung = await runRecording(policyWith(), () => new Promise<never>(() => undefined), { timeoutMs: 2_500 });
    expect(hung.attempts).toEqual([0]);
    expect(hung.outcome.error).toBeInstanceOf(AttemptTimeout);
    expect((hung.outcome.error as AttemptTimeout).message).toBe('no answer within 2.5 s');
  });

  it("honours Retry-After: waits what the server asked (up to 8 s); a longer wait is not waited for: it gives up at once", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 8 }), async (seconds) => {
        const { attempts, outcome } = await runRecording(policyWith(), async (index) => {
          if (index === 1) throw new HttpStatusError(429, 'slow down', parseRetryAfter(String(seconds)));
          return 'answer';
        });
        expect(outcome.value).toBe('answer');
        expect(attempts).toEqual([0, seconds * 1000]);
      }),
      { numRuns: 9 },
    );
    const tooLong = await runRecording(policyWith(), async () => {
      throw new HttpStatusError(503, 'down for maintenance', parseRetryAfter('120'));
    });
    expect(tooLong.attempts).toEqual([0]);
    expect(parseRetryAfter(new Date(Date.now() + 3_000).toUTCString())).toBeGreaterThan(1_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
  });

  it('a cancel during a backoff delay returns at once with the caller\'s reason, and no further try is made', async () => {
    const controller = new AbortController();
    const attempts: number[] = [];
    const policy = policyWith();
    const call = policy.execute(
      async () => {
        attempts.push(Date.now());
        throw new HttpStatusError(503, 'busy');
      },
      { signal: controller.signal, timeoutMs: 60_000 },
    );
    const settled = call.then(
      () => 'resolved',
      (error: unknown) => error,
    );
    await vi.advanceTimersByTimeAsync(500);
    expect(attempts).toHaveLength(1);
    controller.abort(new Error('barge-in'));
    expect(((await settled) as Error).message).toBe('barge-in');
    await vi.runAllTimersAsync();
    expect(attempts).toHaveLength(1);
    // A cancel is not the server's failure.
    expect(policy.circuit.state).toBe('closed');
  });
});

/** What the breaker should do, written out plainly: the reference the property below checks cockatiel's against. */
class ReferenceBreaker {
  state: CircuitStateName = 'closed';
  private failuresInARow = 0;
  private openedAt = 0;
  constructor(
    private readonly failures: number,
    private readonly halfOpenAfterMs: number,
  ) {}

  /** Whether a call made now reaches the server. */
  admits(now: number): boolean {
    if (this.state === 'open' && now - this.openedAt >= this.halfOpenAfterMs) this.state = 'half-open';
    return this.state !== 'open';
  }

  record(ok: boolean, now: number): void {
    if (ok) {
      this.failuresInARow = 0;
      this.state = 'closed';
      return;
    }
    this.failuresInARow += 1;
    if (this.state === 'half-open' || this.failuresInARow >= this.failures) {
      this.state = 'open';
      this.openedAt = now;
    }
  }
}

describe('the circuit breaker', () => {
  it('closed → open after N failures in a row → half-open after the delay → closed on success, open again on failure', async () => {
    // Waits anywhere, or within 2 ms of the half-open delay (where an off-by-a-little breaker would show).
    const wait = fc.oneof(fc.record({ anyMs: fc.integer({ min: 0, max: 20_000 }) }), fc.record({ delayPlusMs: fc.integer({ min: -2, max: 2 }) }));
    const step = fc.record({ wait, ok: fc.boolean() });
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 100, max: 15_000 }), fc.array(step, { maxLength: 40 }), async (failures, halfOpenAfterMs, steps) => {
        vi.setSystemTime(0);
        const policy = new ResiliencePolicy({ isOutage: outageForTests, retry: { maxAttempts: 1 }, breaker: { failures, halfOpenAfterMs } });
        const reference = new ReferenceBreaker(failures, halfOpenAfterMs);
        for (const { wait: w, ok } of steps) {
          await vi.advanceTimersByTimeAsync('anyMs' in w ? w.anyMs : halfOpenAfterMs + w.delayPlusMs);
          const now = Date.now();
          const admitted = reference.admits(now);
          let reached = false;
          const outcome = await policy
            .execute(
              async () => {
                reached = true;
                if (!ok) throw new HttpStatusError(500, 'broken');
                return 'answer';
              },
              { timeoutMs: 60_000 },
            )
            .then(
              (value) => value,
              (error: unknown) => error,
            );
          expect(reached).toBe(admitted);
          if (admitted) reference.record(ok, now);
          else expect(isCircuitOpenError(outcome)).toBe(true);
          expect(policy.circuit.state).toBe(reference.state);
          if (reference.state === 'open') expect(policy.circuit.retryInMs).toBeGreaterThan(0);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('one call that fails on every try opens it (5 tries, 5 failures in a row); the next call is refused without a try', async () => {
    const policy = policyWith();
    const states: CircuitStateName[] = [];
    policy.circuit.onStateChange((state) => states.push(state));
    const first = await runRecording(policy, async () => {
      throw new HttpStatusError(503, 'busy');
    });
    expect(first.attempts).toHaveLength(5);
    expect(policy.circuit.state).toBe('open');
    const second = await runRecording(policy, async () => 'answer');
    expect(second.attempts).toEqual([]);
    expect(isCircuitOpenError(second.outcome.error)).toBe(true);
    await vi.advanceTimersByTimeAsync(15_000);
    const probe = await runRecording(policy, async () => 'answer');
    expect(probe.outcome.value).toBe('answer');
    expect(states).toEqual(['open', 'half-open', 'closed']);
  });

  it("counts a caller's deadline (the search gave up waiting) but not a cancel, nor a request refused (400)", async () => {
    const policy = policyWith({ failures: 2 });
    const hang = () => new Promise<never>(() => undefined);
    const cancelled = new AbortController();
    const cancel = policy.execute(hang, { signal: cancelled.signal, timeoutMs: 60_000 }).catch(() => undefined);
    cancelled.abort();
    await cancel;
    await runRecording(policy, async () => {
      throw new HttpStatusError(400, 'bad request');
    });
    expect(policy.circuit.state).toBe('closed');
    for (let i = 0; i < 2; i += 1) {
      // What AbortSignal.timeout(1_500) does, on the fake clock.
      const deadline = new AbortController();
      setTimeout(() => deadline.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), 1_500);
      const call = policy.execute(hang, { signal: deadline.signal, timeoutMs: 60_000 }).catch((error: unknown) => error);
      await vi.advanceTimersByTimeAsync(1_500);
      expect(((await call) as Error).name).toBe('TimeoutError');
    }
    expect(policy.circuit.state).toBe('open');
  });
});
