/** A latch: calls wait while it is closed and go on once a test opens it. */
export class Gate {
  private waiting: Array<() => void> = [];

  constructor(private opened = true) {}

  open(): void {
    this.opened = true;
    for (const resume of this.waiting.splice(0)) resume();
  }

  close(): void {
    this.opened = false;
  }

  /** How many calls are waiting at the gate. */
  get waiters(): number {
    return this.waiting.length;
  }

  /** Resolves when the gate is open; rejects with `onAbort()` if `signal` aborts first. */
  wait(signal: AbortSignal | undefined, onAbort: () => Error): Promise<void> {
    if (signal?.aborted) return Promise.reject(onAbort());
    if (this.opened) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const resume = () => {
        signal?.removeEventListener('abort', abort);
        resolve();
      };
      const abort = () => {
        this.waiting = this.waiting.filter((waiter) => waiter !== resume);
        reject(onAbort());
      };
      signal?.addEventListener('abort', abort, { once: true });
      this.waiting.push(resume);
    });
  }
}
