/**
 * A token bucket: `capacity` calls at once, then `refillPerSecond` a second. Written here rather than taken from a
 * package: it is a few lines, synchronous (the router decides before anything is awaited) and gives the exact time
 * until the next call is allowed, which is what a RATE_LIMITED reply needs; `limiter` and `bottleneck` are unmaintained
 * and queue calls rather than refuse them, `rate-limiter-flexible` is asynchronous and counts fixed windows.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    readonly capacity: number,
    readonly refillPerSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(capacity >= 1) || !(refillPerSecond > 0)) throw new RangeError(`A token bucket needs capacity >= 1 and a refill rate > 0; got ${capacity}, ${refillPerSecond}.`);
    this.tokens = capacity;
    this.updatedAt = now();
  }

  /** Takes one token: 0 when there was one, else how many ms until there will be (nothing is taken then). */
  take(): number {
    const now = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.updatedAt) * this.refillPerSecond) / 1000);
    this.updatedAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / this.refillPerSecond));
  }
}
