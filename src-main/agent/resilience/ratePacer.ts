import { parseRetryAfter } from './resiliencePolicies.js';

/**
 * Paces the requests of one client to a server that says how much it will take: the server's own headers decide when
 * the next request may go, never a fixed sleep.
 *
 * - `Retry-After` (delay-seconds or an HTTP date; or `retry-after-ms`, as OpenAI sends) on a 429 or 503: no request
 *   before then.
 * - `x-ratelimit-remaining-requests` / `x-ratelimit-reset-requests` and the `-tokens` pair (OpenAI's names, also sent by
 *   LiteLLM and other proxies in front of local servers), and the unsuffixed `x-ratelimit-remaining` /
 *   `x-ratelimit-reset` many other servers send: with nothing remaining, no request before the reset. Resets are Go
 *   durations ("1s", "6m0s", "20ms"), seconds, epoch seconds or an HTTP date.
 *
 * A wait is a timer the caller's signal cancels. A window whose reset has passed is forgotten: the server is trusted
 * again until its next answer says otherwise.
 */

/** Something with response headers, read case-insensitively (fetch's `Headers`). */
export interface HeaderSource {
  get(name: string): string | null;
}

/** One of the server's limits as it last reported it. */
export interface RateWindow {
  remaining: number;
  /** When it resets (clock time of `now`); undefined when the server did not say. */
  resetAt: number | undefined;
}

export interface RateState {
  /** No request before this (Retry-After); -Infinity when the server asked for no pause. */
  notBefore: number;
  requests: RateWindow | undefined;
  tokens: RateWindow | undefined;
}

/** The server asks for a longer pause than the caller would wait: better to answer otherwise at once. */
export class RateLimitWaitTooLong extends Error {
  constructor(
    readonly waitMs: number,
    readonly maxWaitMs: number,
  ) {
    super(`the server's rate limit allows the next request in ${Math.ceil(waitMs)} ms, longer than the ${maxWaitMs} ms this call may wait`);
    this.name = 'RateLimitWaitTooLong';
  }
}

export interface RequestPacerOptions {
  /** The clock (epoch ms, as HTTP dates are read against it); tests with fake timers get Date.now's fake. */
  now?: () => number;
}

/** Statuses whose Retry-After asks for a pause before the next request (RFC 9110 §10.2.3). */
const PAUSING_STATUSES = new Set([429, 503]);
/** Above this, a bare number in a reset header is a Unix time in seconds, not a delay (2001-09-09). */
const EPOCH_SECONDS_THRESHOLD = 1e9;
const GO_DURATION_UNITS_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 1e-3, µs: 1e-3, ns: 1e-6 };

export class RequestPacer {
  readonly #now: () => number;
  #notBefore = Number.NEGATIVE_INFINITY;
  #requests: RateWindow | undefined;
  #tokens: RateWindow | undefined;

  constructor(options: RequestPacerOptions = {}) {
    this.#now = options.now ?? Date.now;
  }

  /** Reads the limits a response reports (call it for every response, failed ones included). */
  observe(headers: HeaderSource, status: number): void {
    const now = this.#now();
    if (PAUSING_STATUSES.has(status)) {
      const pauseMs = parseRetryAfterMs(headers.get('retry-after-ms')) ?? parseRetryAfter(headers.get('retry-after'), now);
      if (pauseMs !== undefined) this.#notBefore = Math.max(this.#notBefore, now + pauseMs);
    }
    const requests =
      readWindow(headers, 'x-ratelimit-remaining-requests', 'x-ratelimit-reset-requests', now) ??
      readWindow(headers, 'x-ratelimit-remaining', 'x-ratelimit-reset', now);
    if (requests) this.#requests = requests;
    const tokens = readWindow(headers, 'x-ratelimit-remaining-tokens', 'x-ratelimit-reset-tokens', now);
    if (tokens) this.#tokens = tokens;
  }

  /** How long the next request must wait; 0 when it may go now. */
  delayMs(): number {
    const now = this.#now();
    this.#forgetPast(now);
    let until = this.#notBefore;
    for (const window of [this.#requests, this.#tokens]) {
      if (window && window.remaining <= 0 && window.resetAt !== undefined) until = Math.max(until, window.resetAt);
    }
    return Math.max(0, until - now);
  }

  /** What the server last said, for diagnostics and tests. */
  get state(): RateState {
    this.#forgetPast(this.#now());
    return { notBefore: this.#notBefore, requests: this.#requests && { ...this.#requests }, tokens: this.#tokens && { ...this.#tokens } };
  }

  /**
   * Resolves when a request may go, and counts it against the requests left, so that requests made at once do not all
   * go on the last one. Rejects with the signal's reason when it aborts (the timer is cleared), and at once with
   * RateLimitWaitTooLong when the wait would be longer than `maxWaitMs`.
   */
  async acquire(signal: AbortSignal, maxWaitMs = Number.POSITIVE_INFINITY): Promise<void> {
    // A loop: another response may move the limit while this one waits.
    for (let wait = this.delayMs(); wait > 0; wait = this.delayMs()) {
      if (signal.aborted) throw signal.reason;
      if (wait > maxWaitMs) throw new RateLimitWaitTooLong(wait, maxWaitMs);
      await cancellableDelay(wait, signal);
    }
    if (signal.aborted) throw signal.reason;
    if (this.#requests && this.#requests.remaining > 0) this.#requests.remaining -= 1;
  }

  #forgetPast(now: number): void {
    if (this.#notBefore <= now) this.#notBefore = Number.NEGATIVE_INFINITY;
    if (this.#requests?.resetAt !== undefined && this.#requests.resetAt <= now) this.#requests = undefined;
    if (this.#tokens?.resetAt !== undefined && this.#tokens.resetAt <= now) this.#tokens = undefined;
  }
}

function readWindow(headers: HeaderSource, remainingName: string, resetName: string, now: number): RateWindow | undefined {
  const remainingText = headers.get(remainingName)?.trim();
  if (!remainingText || !/^\d+(\.\d+)?$/.test(remainingText)) return undefined;
  const resetMs = parseRateLimitReset(headers.get(resetName), now);
  return { remaining: Number(remainingText), resetAt: resetMs === undefined ? undefined : now + resetMs };
}

/** `retry-after-ms`: a non-negative number of milliseconds. */
function parseRetryAfterMs(header: string | null): number | undefined {
  const text = header?.trim();
  return text && /^\d+(\.\d+)?$/.test(text) ? Number(text) : undefined;
}

/**
 * A rate-limit reset as ms from `now`: a Go duration ("1s", "6m0s", "20ms", "1m30.5s"), a number of seconds, a Unix
 * time in seconds, or an HTTP date. Undefined when absent or unreadable.
 */
export function parseRateLimitReset(header: string | null | undefined, now = Date.now()): number | undefined {
  const text = header?.trim();
  if (!text) return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) {
    const value = Number(text);
    return value > EPOCH_SECONDS_THRESHOLD ? Math.max(0, value * 1000 - now) : value * 1000;
  }
  const duration = parseGoDuration(text);
  if (duration !== undefined) return duration;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** A Go duration string ("6m0s", "20ms", "1h2m3.5s") in ms; undefined unless the whole text is one. */
export function parseGoDuration(text: string): number | undefined {
  if (!/^(\d+(\.\d+)?(h|ms|m|s|us|µs|ns))+$/.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/g)) {
    total += Number(amount) * (GO_DURATION_UNITS_MS[unit ?? ''] ?? 0);
  }
  return total;
}

/** A timer the signal cancels: rejects with the signal's reason and clears the timer when it aborts. */
function cancellableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
