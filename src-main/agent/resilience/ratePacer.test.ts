import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseGoDuration, parseRateLimitReset, RateLimitWaitTooLong, RequestPacer } from './ratePacer.js';

const headers = (values: Record<string, string>) => new Headers(values);

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-11-22T12:00:00Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

/** Starts `acquire` and reports, in fake ms, when it let the request go (or how it failed). */
function track(pacer: RequestPacer, signal = new AbortController().signal, maxWaitMs?: number) {
  const started = Date.now();
  const state: { wentAfterMs?: number; error?: unknown } = {};
  const done = pacer.acquire(signal, maxWaitMs).then(
    () => (state.wentAfterMs = Date.now() - started),
    (error: unknown) => (state.error = error),
  );
  return { state, done };
}

describe('rate-limit header values', () => {
  it.each([
    ['1s', 1000],
    ['6m0s', 360_000],
    ['20ms', 20],
    ['1m30.5s', 90_500],
    ['2h', 7_200_000],
    ['0s', 0],
    ['750us', 0.75],
  ])('reads the Go duration %s as %d ms', (text, ms) => {
    expect(parseGoDuration(text)).toBeCloseTo(ms);
    expect(parseRateLimitReset(text)).toBeCloseTo(ms);
  });

  it('reads seconds, Unix times and HTTP dates; refuses what it cannot read', () => {
    const now = Date.now();
    expect(parseRateLimitReset('2', now)).toBe(2000);
    expect(parseRateLimitReset('0.5', now)).toBe(500);
    expect(parseRateLimitReset(String(now / 1000 + 30), now)).toBeCloseTo(30_000);
    expect(parseRateLimitReset(new Date(now + 4000).toUTCString(), now)).toBe(4000);
    for (const unreadable of ['soon', '1x', '-1s', '', undefined, null]) expect(parseRateLimitReset(unreadable, now)).toBeUndefined();
    expect(parseGoDuration('1s2')).toBeUndefined();
  });
});

describe('RequestPacer', () => {
  it('lets requests go at once while the server reports requests left', async () => {
    const pacer = new RequestPacer();
    pacer.observe(headers({ 'x-ratelimit-remaining-requests': '3', 'x-ratelimit-reset-requests': '1s' }), 200);
    const first = track(pacer);
    await first.done;
    expect(first.state.wentAfterMs).toBe(0);
    expect(pacer.state.requests?.remaining).toBe(2);
  });

  it('with no requests left, the next one waits until the reset, not longer, and later ones go at once', async () => {
    const pacer = new RequestPacer();
    pacer.observe(headers({ 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '500ms' }), 200);
    const next = track(pacer);
    await vi.advanceTimersByTimeAsync(499);
    expect(next.state.wentAfterMs).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(next.state.wentAfterMs).toBe(500);
    const after = track(pacer);
    await after.done;
    expect(after.state.wentAfterMs).toBe(0);
  });

  it('no tokens left holds requests until the tokens reset, even with requests left', async () => {
    const pacer = new RequestPacer();
    pacer.observe(
      headers({
        'x-ratelimit-remaining-requests': '59',
        'x-ratelimit-reset-requests': '1s',
        'x-ratelimit-remaining-tokens': '0',
        'x-ratelimit-reset-tokens': '6m0s',
      }),
      200,
    );
    expect(pacer.delayMs()).toBe(360_000);
  });

  it('reads the unsuffixed x-ratelimit-remaining / x-ratelimit-reset other servers send', () => {
    const pacer = new RequestPacer();
    pacer.observe(headers({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '2' }), 200);
    expect(pacer.delayMs()).toBe(2000);
  });

  it('a window with nothing left but no reset holds nothing (the server did not say until when)', () => {
    const pacer = new RequestPacer();
    pacer.observe(headers({ 'x-ratelimit-remaining-requests': '0' }), 200);
    expect(pacer.delayMs()).toBe(0);
  });

  it('Retry-After on a 429 or 503 holds the next request; on other statuses it is ignored', () => {
    const pacer = new RequestPacer();
    pacer.observe(headers({ 'retry-after': '1' }), 200);
    expect(pacer.delayMs()).toBe(0);
    pacer.observe(headers({ 'retry-after': '1' }), 429);
    expect(pacer.delayMs()).toBe(1000);
    pacer.observe(headers({ 'retry-after': new Date(Date.now() + 3000).toUTCString() }), 503);
    expect(pacer.delayMs()).toBe(3000);
    pacer.observe(headers({ 'retry-after-ms': '3500', 'retry-after': '1' }), 429);
    expect(pacer.delayMs()).toBe(3500);
  });

  it('requests made at once share the requests left: two go now, the third waits for the reset', async () => {
    const pacer = new RequestPacer();
    pacer.observe(headers({ 'x-ratelimit-remaining-requests': '2', 'x-ratelimit-reset-requests': '250ms' }), 200);
    const calls = [track(pacer), track(pacer), track(pacer)];
    await vi.advanceTimersByTimeAsync(250);
    await Promise.all(calls.map((c) => c.done));
    expect(calls.map((c) => c.state.wentAfterMs)).toEqual([0, 0, 250]);
  });

  it('a newer answer that moves the reset later keeps a waiting request waiting', async () => {
    const pacer = new RequestPacer();
    pacer.observe(headers({ 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '100ms' }), 200);
    const waiting = track(pacer);
    await vi.advanceTimersByTimeAsync(50);
    pacer.observe(headers({ 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '300ms' }), 200);
    await vi.advanceTimersByTimeAsync(300);
    expect(waiting.state.wentAfterMs).toBe(350);
  });

  it('an abort cancels the wait at once and clears its timer', async () => {
    const pacer = new RequestPacer();
    pacer.observe(headers({ 'retry-after': '5' }), 429);
    const controller = new AbortController();
    const waiting = track(pacer, controller.signal);
    await vi.advanceTimersByTimeAsync(10);
    const reason = new Error('barge-in');
    controller.abort(reason);
    await waiting.done;
    expect(waiting.state.error).toBe(reason);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a wait longer than the caller allows fails at once, saying how long', async () => {
    const pacer = new RequestPacer();
    pacer.observe(headers({ 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '30s' }), 200);
    const refused = track(pacer, undefined, 8000);
    await refused.done;
    expect(refused.state.error).toBeInstanceOf(RateLimitWaitTooLong);
    expect((refused.state.error as RateLimitWaitTooLong).waitMs).toBe(30_000);
    expect(vi.getTimerCount()).toBe(0);
  });
});
