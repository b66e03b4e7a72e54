import { describe, expect, it } from 'vitest';
import type { DoneEvent } from '../../src-shared/contract/index.js';
import { fakeHostClient, settle } from '../testing/fakeHostClient.js';
import { createStatsStore, type TurnStatsResult } from './statsStore.dom.js';

const TURN = '7d0e7c52-9a43-4b55-9e9e-2f1e8f3c0a11';

/** A fake host client: answers stats:get with the next scripted result after the test releases it, records calls. */
function fakeClient() {
  const pending: Array<() => void> = [];
  let calls = 0;
  const stats = (count: number): TurnStatsResult => ({
    type: 'stats',
    stages: [{ name: 'generate', count, p50: 1, p90: 1, p95: 1, p99: 1 }],
    recentTurns: 100,
    recent: [],
    lastTurn: [],
  });
  const host = fakeHostClient((command) => {
    if (command !== 'stats:get') throw new Error(`unexpected ${command}`);
    const n = ++calls;
    return new Promise((resolve) => pending.push(() => resolve(stats(n))));
  });
  return {
    client: host.client,
    calls: () => calls,
    emit: host.emit,
    /** Lets every stats:get asked so far answer. */
    answer: async () => {
      for (const resolve of pending.splice(0)) resolve();
      await settle();
    },
  };
}

const done: DoneEvent = { type: 'done', turnId: TURN, conversationId: TURN, text: 'x', cached: false, interrupted: false, provider: 'embedded', model: 'm', timings: { ttftMs: 1, totalMs: 2, tokens: 1, tokensPerSecond: null }, citations: [] };

describe('the performance panel store', () => {
  it('asks for stats only while open: when opened, and after each answer', async () => {
    const fake = fakeClient();
    const store = createStatsStore(fake.client);
    store.getState().start();
    fake.emit(done);
    expect(fake.calls()).toBe(0);

    store.getState().toggle();
    expect(fake.calls()).toBe(1);
    await fake.answer();
    expect(store.getState().stats?.stages[0]?.count).toBe(1);

    fake.emit(done);
    expect(fake.calls()).toBe(2);
    await fake.answer();
    expect(store.getState().stats?.stages[0]?.count).toBe(2);
  });

  it('refreshes for a stage that ends after its turn is done (a voice answer\'s first audio), not for stages of running turns', async () => {
    const fake = fakeClient();
    const store = createStatsStore(fake.client);
    store.getState().start();
    store.getState().toggle();
    await fake.answer();
    fake.emit({ type: 'stage', turnId: TURN, name: 'generate', phase: 'end', t: 5 });
    expect(fake.calls()).toBe(1);
    fake.emit(done);
    await fake.answer();
    fake.emit({ type: 'stage', turnId: TURN, name: 'tts', phase: 'end', t: 9 });
    expect(fake.calls()).toBe(3);
  });

  it('a burst of answers while one request runs costs one more request, not one each', async () => {
    const fake = fakeClient();
    const store = createStatsStore(fake.client);
    store.getState().start();
    store.getState().toggle();
    for (let i = 0; i < 5; i++) fake.emit(done);
    expect(fake.calls()).toBe(1);
    await fake.answer();
    expect(fake.calls()).toBe(2);
    await fake.answer();
    expect(fake.calls()).toBe(2);
    expect(store.getState().stats?.stages[0]?.count).toBe(2);
  });
});
