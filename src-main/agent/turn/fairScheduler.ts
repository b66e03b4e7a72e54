/** Told when a request has to wait for a slot, and when it gets one after waiting (synchronously, as it happens). */
export interface SlotWaitObserver {
  queued?(): void;
  granted?(): void;
}

interface Waiter {
  /** Arrival order, across every key: first come first served within a key, and between keys never served. */
  seq: number;
  start(): void;
}

interface KeyState {
  key: string;
  waiting: Waiter[];
  running: number;
  /** When this key was last given a slot (a count of grants); 0: never, or not since it was last idle. */
  lastServed: number;
}

/**
 * Hands out a fixed number of slots (here: generations the model runs at once) to requests queued under keys (the
 * connection or window that asked). The next slot goes to the waiting key served least recently: while several keys
 * have work waiting this is round robin, one each in turn, and a key that was idle goes first. Within a key, first come
 * first served. Running work can also ask `shouldYield`: a key with a backlog gives way, mid-answer, to a key with less
 * queued (the turn runner then resumes its answer where it stopped), so a client that floods the queue delays another
 * client's question by a few tokens, not by one of its own answers.
 */
export class FairScheduler {
  private readonly keys = new Map<string, KeyState>();
  private running = 0;
  private waitingCount = 0;
  private grants = 0;
  private arrivals = 0;

  constructor(readonly slots: number) {
    if (!Number.isInteger(slots) || slots < 1) throw new RangeError(`A scheduler needs at least one slot; got ${slots}.`);
  }

  /** Requests waiting for a slot, all keys together. */
  get waiting(): number {
    return this.waitingCount;
  }

  /** Slots in use. */
  get active(): number {
    return this.running;
  }

  /**
   * Resolves with the function that gives the slot back (call it exactly when the work ends; a second call does
   * nothing). Rejects with the signal's reason if it aborts first; a request that was waiting then leaves the queue.
   */
  acquire(key: string, signal?: AbortSignal, observer?: SlotWaitObserver, options: { resuming?: boolean } = {}): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const state = this.stateOf(key);
    if (this.running < this.slots && this.waitingCount === 0) return Promise.resolve(this.grant(state));
    observer?.queued?.();
    return new Promise<() => void>((resolve, reject) => {
      const onAbort = () => {
        const index = state.waiting.indexOf(waiter);
        if (index === -1) return;
        state.waiting.splice(index, 1);
        this.waitingCount--;
        this.forgetIfIdle(state);
        reject(signal!.reason);
      };
      const waiter: Waiter = {
        seq: this.arrivals++,
        start: () => {
          signal?.removeEventListener('abort', onAbort);
          const release = this.grant(state);
          observer?.granted?.();
          resolve(release);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      // Work that gave its slot up halfway goes on before its key's newer requests.
      if (options.resuming === true) state.waiting.unshift(waiter);
      else state.waiting.push(waiter);
      this.waitingCount++;
    });
  }

  /**
   * Whether work running under `key` should give its slot up now: another key is waiting with less work queued than
   * `key` has (waiting and running). A client with one question goes before a client with a backlog, and is not made
   * to give way to it in turn; keys with equal backlogs are served in turn, a whole request each, as before.
   */
  shouldYield(key: string): boolean {
    const state = this.keys.get(key);
    if (state === undefined) return false;
    const backlog = state.waiting.length + state.running;
    for (const other of this.keys.values()) {
      if (other !== state && other.waiting.length > 0 && other.waiting.length + other.running < backlog) return true;
    }
    return false;
  }

  private stateOf(key: string): KeyState {
    let state = this.keys.get(key);
    if (!state) this.keys.set(key, (state = { key, waiting: [], running: 0, lastServed: 0 }));
    return state;
  }

  private grant(state: KeyState): () => void {
    this.running++;
    state.running++;
    state.lastServed = ++this.grants;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running--;
      state.running--;
      this.forgetIfIdle(state);
      this.dispatch();
    };
  }

  private dispatch(): void {
    while (this.running < this.slots && this.waitingCount > 0) {
      let next: KeyState | undefined;
      for (const state of this.keys.values()) {
        const head = state.waiting[0];
        if (!head) continue;
        if (!next || state.lastServed < next.lastServed || (state.lastServed === next.lastServed && head.seq < next.waiting[0]!.seq)) next = state;
      }
      const waiter = next!.waiting.shift()!;
      this.waitingCount--;
      waiter.start();
    }
  }

  /** A key with nothing waiting or running is forgotten: when it asks again it counts as idle, and goes first. */
  private forgetIfIdle(state: KeyState): void {
    if (state.waiting.length === 0 && state.running === 0) this.keys.delete(state.key);
  }
}
