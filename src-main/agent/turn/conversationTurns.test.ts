import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent, type Agent } from '../../app/createAgent.node.js';
import type { AgentConfigOverrides } from '../agentConfig.node.js';
import type { LlmGenerateRequest } from '../llm/llmProvider.js';
import { collectTurnEvents, embeddedFactoriesAround, TEST_LLM_MODEL, tempDataDir } from '../../testing/agentTestSupport.js';

/** What the real embedded model was asked to do, recorded around its generate(). */
interface RecordedGeneration {
  question: string;
  history: LlmGenerateRequest['history'];
  startedAt: number;
  endedAt?: number;
}

/**
 * An agent on real node-llama-cpp + stories260K whose provider records every generation it runs. `hold()` makes the
 * next generations wait before they start until the returned release function is called.
 */
function recordingAgent(): { agent: Agent; generations: RecordedGeneration[]; hold(): () => void } {
  const generations: RecordedGeneration[] = [];
  let gate: Promise<void> = Promise.resolve();
  const config: AgentConfigOverrides = {
    dataDir: tempDataDir(),
    maxAnswerTokens: 40,
    voice: { enabled: false },
    llm: { provider: 'embedded', modelPath: TEST_LLM_MODEL, threads: 1 },
  };
  const agent = createAgent({
    config,
    llmFactories: embeddedFactoriesAround(config, async (request, generate) => {
      const record: RecordedGeneration = { question: request.question, history: request.history, startedAt: performance.now() };
      generations.push(record);
      await gate;
      try {
        return await generate(request);
      } finally {
        record.endedAt = performance.now();
      }
    }),
  });
  return {
    agent,
    generations,
    hold() {
      let release!: () => void;
      gate = new Promise((resolve) => (release = resolve));
      return () => {
        gate = Promise.resolve();
        release();
      };
    },
  };
}

describe('conversations on real node-llama-cpp (stories260K): the cache and turn order follow what the model sees', () => {
  let agent: Agent;
  let generations: RecordedGeneration[];
  let hold: () => () => void;
  let events: ReturnType<typeof collectTurnEvents>;

  beforeAll(async () => {
    ({ agent, generations, hold } = recordingAgent());
    events = collectTurnEvents(agent);
    await agent.whenReady();
  });
  afterAll(() => agent.close());

  async function ask(text: string, conversationId?: string) {
    const started = await agent.call('chat:send', conversationId ? { text, conversationId } : { text });
    const turn = await events.forTurn(started.turnId);
    expect(turn.error).toBeUndefined();
    return { ...started, done: turn.done! };
  }

  it('"why?" after another conversation\'s story is generated, not answered from that conversation\'s cache', async () => {
    const cats = await ask('Tell a story about cats');
    const catsWhy = await ask('why?', cats.conversationId);
    expect(catsWhy.done.cached).toBe(false);

    const ships = await ask('Tell a story about a big ship');
    const before = generations.length;
    const shipsWhy = await ask('why?', ships.conversationId);
    expect(shipsWhy.done.cached).toBe(false);
    expect(generations.length).toBe(before + 1);
    expect(generations.at(-1)!.history.map((m) => m.text)).toContain(ships.done.text);

    // Other case and punctuation in a third conversation: still its own answer.
    const dogs = await ask('Tell a story about a dog');
    const dogsWhy = await ask('  WHY ', dogs.conversationId);
    expect(dogsWhy.done.cached).toBe(false);
  });

  it('a first question hits the cache, and so does a follow-up after the very same history', async () => {
    const first = await ask('Once upon a time there was a green frog');
    const firstWhy = await ask('and then?', first.conversationId);
    const count = generations.length;

    // Asked in other words the first answer still matches; the follow-up then needs the very same history, so the
    // opening question is asked word for word.
    expect((await ask('once upon a time there was a GREEN frog!')).done).toMatchObject({ cached: true, text: first.done.text });
    const again = await ask('Once upon a time there was a green frog');
    expect(again.done).toMatchObject({ cached: true, text: first.done.text });
    const againWhy = await ask('And then', again.conversationId);
    expect(againWhy.done).toMatchObject({ cached: true, text: firstWhy.done.text });
    expect(generations.length).toBe(count);
  });

  it('the same follow-up asked at once in two conversations runs two generations, each with its own history', async () => {
    const a = await ask('Tell a story about a red bird');
    const b = await ask('Tell a story about a blue fish');
    const count = generations.length;
    const [fromA, fromB] = await Promise.all([ask('and then?', a.conversationId), ask('and then?', b.conversationId)]);
    expect(generations.length).toBe(count + 2);
    expect(fromA.done.cached || fromB.done.cached).toBe(false);
    const histories = generations.slice(count).map((g) => g.history.map((m) => m.text));
    expect(histories).toEqual(expect.arrayContaining([expect.arrayContaining([a.done.text]), expect.arrayContaining([b.done.text])]));
  });

  it('questions sent at once to one conversation are answered in turn, each after the previous answer, and stored in pairs', async () => {
    const opening = await ask('Tell a story about a little mouse');
    const questions = ['What did the mouse eat?', 'Where did it live?', 'Who was its friend?', 'How did it end?'];
    const count = generations.length;
    const started = await Promise.all(questions.map((text) => agent.call('chat:send', { text, conversationId: opening.conversationId })));
    const turns = await Promise.all(started.map((s) => events.forTurn(s.turnId)));
    expect(turns.every((t) => t.done && !t.done.interrupted)).toBe(true);

    // One generation at a time, each seeing the answer before it.
    const ran = generations.slice(count);
    expect(ran).toHaveLength(questions.length);
    for (let i = 1; i < ran.length; i++) {
      expect(ran[i]!.startedAt).toBeGreaterThanOrEqual(ran[i - 1]!.endedAt!);
      const previousAnswer = turns.find((t) => t.done!.turnId === started.find((s, j) => questions[j] === ran[i - 1]!.question)!.turnId)!.done!.text;
      expect(ran[i]!.history.at(-1)).toEqual({ role: 'assistant', text: previousAnswer });
    }

    const messages = await agent.call('conversations:messages', { id: opening.conversationId });
    expect(messages.map((m) => m.role)).toEqual(Array.from({ length: messages.length }, (_, i) => (i % 2 === 0 ? 'user' : 'assistant')));
    for (let i = 0; i < messages.length; i += 2) {
      const [question, answer] = [messages[i]!, messages[i + 1]!];
      expect(answer.turnId).toBe(question.turnId);
      const turn = turns[started.findIndex((s) => s.turnId === question.turnId)];
      if (turn) expect(answer.text).toBe(turn.done!.text);
    }
  });

  it('a question cancelled while it waits its turn ends at once, interrupted and empty; the one before it is not disturbed', async () => {
    const opening = await ask('Tell a story about a tall tree');
    // The first answer is held before it starts, so the second question is surely still waiting when cancelled.
    const release = hold();
    const first = await agent.call('chat:send', { text: 'Tell a very long story about a dragon', conversationId: opening.conversationId });
    const waiting = await agent.call('chat:send', { text: 'What happened next?', conversationId: opening.conversationId });
    const waitingTurn = events.forTurn(waiting.turnId);
    await agent.call('chat:cancel', { turnId: waiting.turnId });
    const cancelled = await waitingTurn;
    expect(cancelled.done).toMatchObject({ interrupted: true, text: '' });
    expect(cancelled.tokens).toHaveLength(0);
    release();
    const firstTurn = await events.forTurn(first.turnId);
    expect(firstTurn.done?.interrupted).toBe(false);

    const messages = await agent.call('conversations:messages', { id: opening.conversationId });
    expect(messages.slice(-4).map((m) => [m.role, m.turnId, m.status])).toEqual([
      ['user', first.turnId, 'complete'],
      ['assistant', first.turnId, 'complete'],
      ['user', waiting.turnId, 'complete'],
      ['assistant', waiting.turnId, 'interrupted'],
    ]);
  });
});
