import { describe, expect, it } from 'vitest';
import type { AgentEvent, CouncilEvent } from '../../src-shared/contract/index.js';
import { fakeHostClient, settle } from '../testing/fakeHostClient.js';
import { createChatStore, type ChatStore } from './chatStore.dom.js';

/** A fake agent with one conversation, c1; chat:send answers t1, t2… (held until `release` when `hold` is set). */
function fakeAgent() {
  const agent = { nextTurn: 1, hold: null as Promise<void> | null };
  const host = fakeHostClient(async (command) => {
    switch (command) {
      case 'agent:status':
        return { llm: { state: 'warm', provider: 'embedded', model: 'tiny' } };
      case 'conversations:list':
        return [{ id: 'c1', title: 'c1', createdAt: 1, updatedAt: 1 }];
      case 'conversations:messages':
        return [];
      case 'chat:send':
        if (agent.hold) await agent.hold;
        return { turnId: `t${agent.nextTurn++}`, conversationId: 'c1' };
      default:
        return {};
    }
  });
  return { ...host, agent };
}

async function started(host: ReturnType<typeof fakeAgent>, conversation: string | null = 'c1'): Promise<ChatStore> {
  const store = createChatStore(host.client);
  store.getState().start();
  await settle();
  if (conversation !== null) await store.getState().selectConversation(conversation);
  return store;
}

const answer = (turnId: string, seq: number): CouncilEvent => ({
  type: 'council',
  turnId,
  stage: 1,
  seq,
  model: `stories260K #${seq}`,
  kind: 'answer',
  memberId: `m${seq}`,
  text: `answer ${seq}`,
  ms: 10,
});

const done = (turnId: string, extra: Partial<Extract<AgentEvent, { type: 'done' }>> = {}): AgentEvent => ({
  type: 'done',
  turnId,
  conversationId: 'c1',
  text: 'The end.',
  cached: false,
  interrupted: false,
  provider: 'embedded',
  model: 'tiny',
  timings: { ttftMs: 5, totalMs: 10, tokensPerSecond: 100 } as never,
  citations: [],
  ...extra,
});

describe('the chat store with a council', () => {
  it('sends to a council (the agent’s default members) while the toggle is on, remembered until turned off', async () => {
    const host = fakeAgent();
    const store = await started(host);
    expect(store.getState().councilMode).toBe(false);

    await store.getState().send('one');
    store.getState().setCouncilMode(true);
    await store.getState().send('two');
    await store.getState().send('three');
    store.getState().setCouncilMode(false);
    await store.getState().send('four');

    expect(host.calls('chat:send').map((call) => call.args)).toEqual([
      { conversationId: 'c1', text: 'one' },
      { conversationId: 'c1', text: 'two', council: {} },
      { conversationId: 'c1', text: 'three', council: {} },
      { conversationId: 'c1', text: 'four' },
    ]);
  });

  it('keeps the council events of a shown turn in order, ignores an unknown turn’s, and puts route and council on the answer', async () => {
    const host = fakeAgent();
    const store = await started(host);
    store.getState().setCouncilMode(true);
    await store.getState().send('Once upon a time');
    host.emit({ type: 'turn-started', turnId: 't1', conversationId: 'c1', question: 'Once upon a time' });
    host.emit(answer('t1', 1));
    host.emit(answer('t1', 3));
    host.emit(answer('t1', 2));
    host.emit(answer('elsewhere', 1));
    expect(store.getState().councils.t1?.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(store.getState().councils.elsewhere).toBeUndefined();

    host.emit(done('t1', { route: { choice: 'auto', tier: 'fast', reason: 'short question' }, council: { members: ['a', 'b', 'c'], source: 'chairman' } }));
    const shown = store.getState().messages.find((m) => m.role === 'assistant' && m.turnId === 't1');
    expect(shown).toMatchObject({ status: 'complete', route: { tier: 'fast', reason: 'short question' }, council: { members: ['a', 'b', 'c'], source: 'chairman' } });
    // The council stays with its answer after the turn.
    expect(store.getState().councils.t1).toHaveLength(3);
  });

  it('keeps council events that overtake the chat:send result of a first question (its conversation not shown yet)', async () => {
    const host = fakeAgent();
    const store = await started(host, null);
    expect(store.getState().activeConversationId).toBeNull();
    let release!: () => void;
    host.agent.hold = new Promise<void>((resolve) => (release = resolve));
    const sending = store.getState().send('Hello');
    await settle();
    host.emit({ type: 'turn-started', turnId: 't1', conversationId: 'c1', question: 'Hello' });
    host.emit(answer('t1', 1));
    release();
    await sending;
    expect(store.getState().activeConversationId).toBe('c1');
    expect(store.getState().councils.t1?.map((e) => e.seq)).toEqual([1]);
  });
});
