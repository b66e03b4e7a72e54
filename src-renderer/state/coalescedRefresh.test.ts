import { describe, expect, it } from 'vitest';
import { coalesced } from './coalescedRefresh.js';

/** A load the test finishes by hand; counts how often it started. */
function manualLoad() {
  const pending: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  let started = 0;
  const load = () => {
    started++;
    return new Promise<void>((resolve, reject) => pending.push({ resolve, reject }));
  };
  return {
    load,
    started: () => started,
    finish: async () => {
      pending.shift()!.resolve();
      await new Promise((resolve) => setTimeout(resolve, 0));
    },
    fail: async (error: Error) => {
      pending.shift()!.reject(error);
      await new Promise((resolve) => setTimeout(resolve, 0));
    },
  };
}

describe('coalesced', () => {
  it('starts a load at once and settles when it is done', async () => {
    const fake = manualLoad();
    const refresh = coalesced(fake.load);
    let settled = false;
    void refresh().then(() => (settled = true));
    expect(fake.started()).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(settled).toBe(false);
    await fake.finish();
    expect(settled).toBe(true);
  });

  it('turns any number of calls while a load runs into one more load, and all of them settle after it', async () => {
    const fake = manualLoad();
    const refresh = coalesced(fake.load);
    const first = refresh();
    const later = [refresh(), refresh(), refresh()];
    expect(later.every((promise) => promise === first)).toBe(true);
    expect(fake.started()).toBe(1);

    await fake.finish();
    expect(fake.started()).toBe(2);
    let settled = false;
    void first.then(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(settled).toBe(false);

    await fake.finish();
    expect(settled).toBe(true);
    expect(fake.started()).toBe(2);
  });

  it('starts afresh once a run is over', async () => {
    const fake = manualLoad();
    const refresh = coalesced(fake.load);
    const first = refresh();
    await fake.finish();
    const second = refresh();
    expect(second).not.toBe(first);
    expect(fake.started()).toBe(2);
    await fake.finish();
    await second;
  });

  it('never loses a call made just as the last load finishes', async () => {
    // However many microtasks after the load resolves the call comes, it gets a load of its own.
    for (let hops = 0; hops < 6; hops++) {
      let started = 0;
      let refresh: () => Promise<void> = async () => undefined;
      const load = async () => {
        started++;
        if (started === 1) {
          void Promise.resolve().then(async () => {
            for (let hop = 0; hop < hops; hop++) await Promise.resolve();
            void refresh();
          });
        }
      };
      refresh = coalesced(load);
      await refresh();
      await new Promise((resolve) => setTimeout(resolve, 0));
      expect(started, `a call ${hops} microtasks after the load`).toBe(2);
    }
  });

  it('rejects the run when a load throws, and the next call starts a new one', async () => {
    const fake = manualLoad();
    const refresh = coalesced(fake.load);
    const failing = refresh();
    void refresh();
    const failed = expect(failing).rejects.toThrow('offline');
    await fake.fail(new Error('offline'));
    await failed;
    expect(fake.started()).toBe(1);

    void refresh();
    expect(fake.started()).toBe(2);
    await fake.finish();
  });
});
