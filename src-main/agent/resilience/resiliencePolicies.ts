import {
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  TimeoutStrategy,
  circuitBreaker,
  handleWhen,
  isBrokenCircuitError,
  retry,
  timeout,
  wrap,
  type CircuitBreakerPolicy,
  type GeneratorFn,
  type IBackoff,
  type IBackoffFactory,
  type IDisposable,
  type IRetryBackoffContext,
  type RetryPolicy,
} from 'cockatiel';
import { AgentError } from '../../../src-shared/contract/index.js';
import { abandonable } from '../abandonable.js';

/**
 * The resilience every client of a local server shares (the Ollama provider, and through it the provider manager's
 * fallback; the Chroma vector store), built from cockatiel: retries with exponential backoff and jitter for transient
 * failures only, a circuit breaker per client, and a time limit per attempt.
 *
 * Transient (retried): HTTP 429 and 503, a connection reset or cut (ECONNRESET, EPIPE, "socket hang up", "other side
 * closed", "terminated"): the server is there and this request did not get through (a kept-alive socket the server
 * had just closed, a restart under way). Not retried with backoff:
 * - a refused connection (ECONNREFUSED): nothing listens. Ollama stopped or restarting takes seconds plus reloading the
 *   model, longer than a question should wait: the turn falls back at once and the breaker's probe brings Ollama back.
 *   Chroma is restarted by its supervisor, maybe on another port: its store asks for the endpoint again and tries once
 *   more at once instead of backing off against a port that may no longer be Chroma's. Refusals do count as failures.
 * - an attempt over its time limit: a hung server would only be waited for again;
 * - any other HTTP status: a 400 or a missing model (404) fails the same way every time;
 * - anything the caller cancelled.
 */

export interface RetryTuning {
  /** Tries in all, the first included. */
  maxAttempts: number;
  /** The nominal delay before the second try; each later one doubles it (1, 2, 4, 8 s by default). */
  initialDelayMs: number;
  /** No nominal delay is longer; a Retry-After longer than this is not waited for (the call gives up at once). */
  maxDelayMs: number;
  /** Each delay is the nominal one times a random factor in [1 - jitter, 1 + jitter]. */
  jitter: number;
  /** The jitter's source of randomness (tests pass their own). */
  random: () => number;
}

export interface BreakerTuning {
  /** Failures in a row (of attempts, retries included) that open the circuit. */
  failures: number;
  /** An open circuit lets one call through (half-open) this long after it opened; that call closes or reopens it. */
  halfOpenAfterMs: number;
}

export const DEFAULT_RETRY: RetryTuning = { maxAttempts: 5, initialDelayMs: 1_000, maxDelayMs: 8_000, jitter: 0.2, random: Math.random };
export const DEFAULT_BREAKER: BreakerTuning = { failures: 5, halfOpenAfterMs: 15_000 };

export interface ResilienceTuning {
  retry?: Partial<RetryTuning>;
  breaker?: Partial<BreakerTuning>;
}

export interface ResilienceOptions extends ResilienceTuning {
  /** Failures worth another try. Default: `isTransientFailure`. */
  isTransient?: (error: unknown) => boolean;
  /**
   * Failures that count against the circuit: the server is down or failing, as opposed to refusing this request (a
   * 400, a missing model) or the caller cancelling. Transient failures, attempt timeouts and missed caller deadlines
   * always count.
   */
  isOutage: (error: unknown) => boolean;
}

/** An HTTP answer that is not a success, with the wait its Retry-After header asked for. */
export class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'HttpStatusError';
  }
}

/** One attempt did not finish within its own time limit (no caller had given up yet). */
export class AttemptTimeout extends Error {
  constructor(
    readonly timeoutMs: number,
    options?: { cause?: unknown },
  ) {
    super(`no answer within ${formatSeconds(timeoutMs)}`, options);
    this.name = 'AttemptTimeout';
  }
}

/** The caller stopped waiting because its own deadline passed (a search's vector deadline, a prepare step's limit). */
class CallerDeadline extends Error {
  constructor(readonly reason: unknown) {
    super('the caller stopped waiting at its deadline');
    this.name = 'CallerDeadline';
  }
}

/** The caller cancelled (barge-in, a closed window): never a failure of the server. Callers see their own reason. */
class CallerCancelled extends Error {
  constructor(readonly reason: unknown) {
    super('cancelled by the caller');
    this.name = 'CallerCancelled';
  }
}

export function isCircuitOpenError(error: unknown): boolean {
  return isBrokenCircuitError(error);
}

export function isAttemptTimeout(error: unknown): error is AttemptTimeout {
  return error instanceof AttemptTimeout;
}

/** The status of an HTTP error, whatever the client library calls it (`status`, `status_code`, `statusCode`). */
export function httpStatusOf(error: unknown): number | undefined {
  if (!(error instanceof Error)) return undefined;
  const fields = error as Error & { status?: unknown; status_code?: unknown; statusCode?: unknown };
  for (const value of [fields.status, fields.status_code, fields.statusCode]) {
    if (typeof value === 'number' && Number.isInteger(value)) return value;
  }
  return undefined;
}

const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'ECONNABORTED']);
const RESET_MESSAGES = /socket hang up|other side closed|^terminated$/i;

/** The request was cut on its way (ECONNRESET, EPIPE, socket hang up, undici's "other side closed" or "terminated"). */
export function isConnectionReset(error: unknown): boolean {
  return causeChain(error).some((e) => RESET_CODES.has(codeOf(e) ?? '') || RESET_MESSAGES.test(e.message));
}

/** Nothing listens at the address (ECONNREFUSED). */
export function isConnectionRefused(error: unknown): boolean {
  return causeChain(error).some((e) => codeOf(e) === 'ECONNREFUSED');
}

/** A failure worth another try: 429, 503, or a connection reset. */
export function isTransientFailure(error: unknown): boolean {
  const status = httpStatusOf(error);
  if (status !== undefined) return status === 429 || status === 503;
  return isConnectionReset(error);
}

/** Retry-After in ms: from an HttpStatusError, or any error carrying `retryAfterMs`. */
export function retryAfterMsOf(error: unknown): number | undefined {
  const value = (error as { retryAfterMs?: unknown } | null)?.retryAfterMs;
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/** A Retry-After header (delay-seconds or an HTTP date) as ms from `now`; undefined when absent or unreadable. */
export function parseRetryAfter(header: string | null | undefined, now = Date.now()): number | undefined {
  if (header === null || header === undefined) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Exponential delays (initial × exponent^n, capped) with symmetric jitter: 1, 2, 4, 8 s ± 20 % by default. */
export function jitteredExponential(jitter: number, random: () => number): GeneratorFn<number> {
  return (attempt = 0, options) => {
    const nominal = Math.min(options.maxDelay, options.initialDelay * options.exponent ** attempt);
    return [nominal * (1 - jitter + 2 * jitter * random()), attempt + 1];
  };
}

/** The delays a retry policy with `tuning` waits, nominally, between its tries (4 for 5 tries). */
export function nominalDelays(tuning: Partial<RetryTuning> = {}): number[] {
  const t = { ...DEFAULT_RETRY, ...tuning };
  return Array.from({ length: Math.max(0, t.maxAttempts - 1) }, (_, n) => Math.min(t.maxDelayMs, t.initialDelayMs * 2 ** n));
}

/** A backoff that waits what the server's Retry-After asked for when it said, else what `inner` says. */
function honouringRetryAfter(inner: IBackoffFactory<unknown>): IBackoffFactory<IRetryBackoffContext<unknown>> {
  const step = (backoff: IBackoff<unknown>, context: IRetryBackoffContext<unknown>): IBackoff<IRetryBackoffContext<unknown>> => {
    const asked = 'error' in context.result ? retryAfterMsOf(context.result.error) : undefined;
    return { duration: asked ?? backoff.duration, next: (nextContext) => step(backoff.next(nextContext), nextContext) };
  };
  return { next: (context) => step(inner.next(context), context) };
}

/** A retry policy: `maxAttempts` tries, jittered exponential backoff, Retry-After honoured up to `maxDelayMs`. */
export function createRetryPolicy(isTransient: (error: unknown) => boolean, tuning: Partial<RetryTuning> = {}): RetryPolicy {
  const t = { ...DEFAULT_RETRY, ...tuning };
  const exponential = new ExponentialBackoff({
    generator: jitteredExponential(t.jitter, t.random),
    initialDelay: t.initialDelayMs,
    maxDelay: t.maxDelayMs,
    exponent: 2,
  });
  // A server that asks for a longer pause than we would wait is not asked again now: the caller falls back at once.
  const retryable = (error: unknown) => isTransient(error) && (retryAfterMsOf(error) ?? 0) <= t.maxDelayMs;
  return retry(handleWhen(retryable), { maxAttempts: t.maxAttempts - 1, backoff: honouringRetryAfter(exponential) });
}

export type CircuitStateName = 'closed' | 'open' | 'half-open';

/**
 * One client's circuit breaker (cockatiel's, opened by `failures` failures in a row), with what its users need to
 * know: its state, when it last failed, and when it may be tried again.
 */
export class Circuit {
  readonly policy: CircuitBreakerPolicy;
  readonly halfOpenAfterMs: number;
  readonly failuresToOpen: number;
  #lastFailureAt = Number.NEGATIVE_INFINITY;

  constructor(isFailure: (error: unknown) => boolean, tuning: Partial<BreakerTuning> = {}) {
    const t = { ...DEFAULT_BREAKER, ...tuning };
    this.halfOpenAfterMs = t.halfOpenAfterMs;
    this.failuresToOpen = t.failures;
    this.policy = circuitBreaker(handleWhen(isFailure), { breaker: new ConsecutiveBreaker(t.failures), halfOpenAfter: t.halfOpenAfterMs });
    this.policy.onFailure(({ handled }) => {
      if (handled) this.#lastFailureAt = Date.now();
    });
  }

  get state(): CircuitStateName {
    switch (this.policy.state) {
      case CircuitState.Closed:
        return 'closed';
      case CircuitState.HalfOpen:
        return 'half-open';
      default:
        return 'open';
    }
  }

  /** When the last failure it counted happened (Date.now() time); -Infinity before any. */
  get lastFailureAt(): number {
    return this.#lastFailureAt;
  }

  /** How long until an open circuit lets a call through again; 0 when it would now. */
  get retryInMs(): number {
    if (this.state !== 'open') return 0;
    return Math.max(0, this.#lastFailureAt + this.halfOpenAfterMs - Date.now());
  }

  /**
   * Whether it has been free of failures for the half-open delay since `since` (and since its last failure): when a
   * client that was given up on at `since` is worth trying again. For an open circuit this is when it half-opens.
   */
  quietSince(since: number): boolean {
    return Date.now() >= this.probeAt(since);
  }

  /** When `quietSince(since)` becomes true (Date.now() time). */
  probeAt(since: number): number {
    return Math.max(since, this.#lastFailureAt) + this.halfOpenAfterMs;
  }

  onStateChange(listener: (state: CircuitStateName) => void): IDisposable {
    return this.policy.onStateChange(() => listener(this.state));
  }
}

export interface ExecuteOptions {
  /** The caller's cancellation; its deadline-like aborts (TimeoutError, STEP_TIMEOUT) count as failures, others do not. */
  signal?: AbortSignal | undefined;
  /** Each attempt's limit: for a streamed answer, the time to its first byte (the call resolves at the headers). */
  timeoutMs: number;
}

/**
 * Retries (transient failures only) around a circuit breaker around a per-attempt timeout: cockatiel's
 * `wrap(retry, circuitBreaker, timeout)`. A call whose caller cancels returns at once with the caller's reason, even
 * during a backoff delay. A call the open circuit refuses rejects at once with cockatiel's BrokenCircuitError
 * (`isCircuitOpenError`); an attempt over its time with AttemptTimeout; otherwise with the attempt's own error.
 */
export class ResiliencePolicy {
  readonly circuit: Circuit;
  readonly retryTuning: RetryTuning;
  readonly #retry: RetryPolicy;

  constructor(options: ResilienceOptions) {
    const isTransient = options.isTransient ?? isTransientFailure;
    this.retryTuning = { ...DEFAULT_RETRY, ...options.retry };
    this.#retry = createRetryPolicy(isTransient, this.retryTuning);
    const isFailure = (error: unknown) =>
      !(error instanceof CallerCancelled) &&
      (error instanceof AttemptTimeout || error instanceof CallerDeadline || isTransient(error) || options.isOutage(error));
    this.circuit = new Circuit(isFailure, options.breaker);
  }

  /** Runs `attempt` (given its own signal: the caller's, or the attempt's timeout) under the policy. */
  execute<T>(attempt: (signal: AbortSignal, attemptNumber: number) => Promise<T>, { signal, timeoutMs }: ExecuteOptions): Promise<T> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const caller = signal ?? new AbortController().signal;
    const attemptTimeout = timeout(timeoutMs, { strategy: TimeoutStrategy.Cooperative, abortOnReturn: false });
    const policy = wrap(this.#retry, this.circuit.policy, attemptTimeout);
    const run = policy.execute(async (context) => {
      const attemptSignal = context.signal;
      // A backoff delay cannot be interrupted: the try after it, when the caller has gone, is not made.
      if (caller.aborted) throw new CallerCancelled(caller.reason);
      try {
        // Cooperative timeout: the attempt gets the signal, and is also abandoned at once when it fires.
        return await abandonable(attempt(attemptSignal, context.attempt + 1), attemptSignal);
      } catch (error) {
        throw classifyAbort(error, attemptSignal, caller, timeoutMs);
      }
    }, signal);
    // The caller's reason at once on cancel (the policy may be in a backoff delay); the rest ends on its own.
    return abandonable(run, signal).catch((error: unknown) => {
      throw error instanceof CallerCancelled || error instanceof CallerDeadline ? error.reason : error;
    });
  }
}

function classifyAbort(error: unknown, attemptSignal: AbortSignal, caller: AbortSignal, timeoutMs: number): unknown {
  if (!attemptSignal.aborted) return error;
  if (!caller.aborted) return new AttemptTimeout(timeoutMs, { cause: error });
  return isDeadlineReason(caller.reason) ? new CallerDeadline(caller.reason) : new CallerCancelled(caller.reason);
}

/** An abort because a deadline passed (AbortSignal.timeout, a prepare step's limit), not because someone cancelled. */
export function isDeadlineReason(reason: unknown): boolean {
  if (reason instanceof AgentError) return reason.code === 'STEP_TIMEOUT';
  return (reason instanceof Error || (typeof DOMException !== 'undefined' && reason instanceof DOMException)) && (reason as Error).name === 'TimeoutError';
}

export function formatSeconds(ms: number): string {
  const seconds = ms / 1000;
  return `${seconds >= 10 ? Math.round(seconds) : Math.round(seconds * 10) / 10} s`;
}

function causeChain(error: unknown): Error[] {
  const chain: Error[] = [];
  for (let e: unknown = error; e instanceof Error && chain.length < 5; e = e.cause) chain.push(e);
  return chain;
}

function codeOf(error: Error): string | undefined {
  const code = (error as Error & { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}
