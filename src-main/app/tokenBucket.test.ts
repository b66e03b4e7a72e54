import { describe, expect, it } from 'vitest';
import { TokenBucket } from './tokenBucket.js';

describe('TokenBucket', () => {
  it('allows a burst of `capacity` calls, then refuses, saying when the next one is allowed', () => {
    let now = 0;
    const bucket = new TokenBucket(3, 10, () => now);
    expect([bucket.take(), bucket.take(), bucket.take()]).toEqual([0, 0, 0]);
    expect(bucket.take()).toBe(100);
    now = 40;
    expect(bucket.take()).toBe(60);
    now = 100;
    expect(bucket.take()).toBe(0);
    expect(bucket.take()).toBe(100);
  });

  it('refills at its rate up to its capacity, not beyond', () => {
    let now = 0;
    const bucket = new TokenBucket(2, 4, () => now);
    bucket.take();
    bucket.take();
    now = 60_000; // a minute idle refills two tokens, not 240
    expect([bucket.take(), bucket.take()]).toEqual([0, 0]);
    expect(bucket.take()).toBe(250);
  });

  it('a refused call takes nothing: refusals do not push the next allowed call further away', () => {
    let now = 0;
    const bucket = new TokenBucket(1, 1, () => now);
    bucket.take();
    for (let i = 0; i < 1000; i++) bucket.take();
    now = 1000;
    expect(bucket.take()).toBe(0);
  });

  it('refuses settings that would allow nothing', () => {
    expect(() => new TokenBucket(0, 10)).toThrow(RangeError);
    expect(() => new TokenBucket(5, 0)).toThrow(RangeError);
  });
});
