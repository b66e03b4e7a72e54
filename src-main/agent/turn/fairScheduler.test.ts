import { describe, expect, it } from 'vitest';
import { FairScheduler } from './fairScheduler.js';

/** Queues `count` requests under `key` and records the order they are granted in; each keeps its slot until released. */
function enqueue(scheduler: FairScheduler, key: string, count: number, granted: string[], signal?: AbortSignal) {
  return Array.from({ length: count }, (_, i) =>
    scheduler.acquire(key, signal).then((release) => {
      granted.push(`${key}${i}`);
      return release;
    }),
  );
}

/** Releases the slot of whatever was granted last, and waits until the next request has been granted. */
async function releaseInTurn(pending: Array<Promise<() => void>>, granted: string[], names: string[]): Promise<void> {
  const releases = new Map<string, () => void>();
  for (const [i, promise] of pending.entries()) void promise.then((release) => releases.set(names[i]!, release));
  for (let done = 0; done < names.length; done++) {
    await expect.poll(() => granted.length).toBe(done + 1);
    await expect.poll(() => releases.has(granted[done]!)).toBe(true);
    releases.get(granted[done]!)!();
  }
}

describe('FairScheduler: slots handed out round robin between keys', () => {
  it('serves keys in turn while both have work waiting; within a key, in order', async () => {
    const scheduler = new FairScheduler(1);
    const granted: string[] = [];
    const flood = enqueue(scheduler, 'a', 4, granted);
    const quiet = enqueue(scheduler, 'b', 2, granted);
    await releaseInTurn([...flood, ...quiet], granted, ['a0', 'a1', 'a2', 'a3', 'b0', 'b1']);
    expect(granted).toEqual(['a0', 'b0', 'a1', 'b1', 'a2', 'a3']);
  });

  it("a key that was idle goes before the next of a flooding key's queue, whenever it arrives", async () => {
    const scheduler = new FairScheduler(1);
    const granted: string[] = [];
    const releases: Array<() => void> = [];
    const keep = (promise: Promise<() => void>) => void promise.then((release) => releases.push(release));
    enqueue(scheduler, 'a', 5, granted).forEach(keep);
    await expect.poll(() => releases.length).toBe(1); // a0 runs, a1..a4 wait
    releases[0]!(); // a1 runs
    await expect.poll(() => releases.length).toBe(2);
    enqueue(scheduler, 'b', 1, granted).forEach(keep); // b0 arrives while a has served one and has three waiting
    releases[1]!();
    await expect.poll(() => releases.length).toBe(3);
    expect(granted).toEqual(['a0', 'a1', 'b0']);
    expect(scheduler.waiting).toBe(3);
  });

  it('uses every slot, and tells a waiting request when it is queued and when it is granted, as it happens', async () => {
    const scheduler = new FairScheduler(2);
    const first = await scheduler.acquire('a');
    await scheduler.acquire('b');
    expect(scheduler.active).toBe(2);
    const seen: string[] = [];
    const third = scheduler.acquire('a', undefined, { queued: () => seen.push('queued'), granted: () => seen.push('granted') });
    expect(seen).toEqual(['queued']);
    first();
    // Granted synchronously inside release: nothing else can run before the slot is accounted for.
    expect(seen).toEqual(['queued', 'granted']);
    expect(scheduler.active).toBe(2);
    first(); // a second release of the same slot gives nothing back
    expect(scheduler.active).toBe(2);
    (await third)();
    expect(scheduler.active).toBe(1);
  });

  it('a request cancelled while it waits leaves the queue; the next one gets the slot', async () => {
    const scheduler = new FairScheduler(1);
    const release = await scheduler.acquire('a');
    const cancel = new AbortController();
    const cancelled = scheduler.acquire('b', cancel.signal);
    const next = scheduler.acquire('c');
    expect(scheduler.waiting).toBe(2);
    cancel.abort();
    await expect(cancelled).rejects.toMatchObject({ name: 'AbortError' });
    expect(scheduler.waiting).toBe(1);
    release();
    (await next)();
    expect([scheduler.active, scheduler.waiting]).toEqual([0, 0]);
    await expect(scheduler.acquire('d', AbortSignal.abort())).rejects.toMatchObject({ name: 'AbortError' });
    expect(scheduler.active).toBe(0);
  });

  it('tells work of a key with a backlog to give way to a key with less queued, never the other way round', async () => {
    const scheduler = new FairScheduler(1);
    const granted: string[] = [];
    const flood = enqueue(scheduler, 'flood', 3, granted);
    await expect.poll(() => granted).toEqual(['flood0']);
    expect(scheduler.shouldYield('flood')).toBe(false); // nobody else waits
    const quiet = enqueue(scheduler, 'quiet', 1, granted);
    expect(scheduler.shouldYield('flood')).toBe(true);

    // The flood's answer gives its slot up and asks again as a resumption: it goes before its own newer requests,
    // but after the quiet key.
    const releaseFlood0 = await flood[0]!;
    const resumed = scheduler.acquire('flood', undefined, undefined, { resuming: true }).then((release) => (granted.push('flood0 again'), release));
    releaseFlood0();
    await expect.poll(() => granted).toEqual(['flood0', 'quiet0']);
    expect(scheduler.shouldYield('quiet')).toBe(false); // the flood has more queued: the quiet answer keeps the model
    (await quiet[0]!)();
    await expect.poll(() => granted).toEqual(['flood0', 'quiet0', 'flood0 again']);
    (await resumed)();
    await expect.poll(() => granted).toEqual(['flood0', 'quiet0', 'flood0 again', 'flood1']);
    (await flood[1]!)();
    (await flood[2]!)();
  });

  it('refuses a scheduler without slots', () => {
    expect(() => new FairScheduler(0)).toThrow(RangeError);
  });
});
