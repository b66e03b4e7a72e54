import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent } from './createAgent.node.js';
import type { AgentConfigOverrides } from '../agent/agentConfig.node.js';
import { collectTurnEvents, embeddedFactoriesAround, TEST_LLM_MODEL, tempDataDir } from '../testing/agentTestSupport.js';
import type { AgentService } from '../agent/agentService.js';

type Agent = ReturnType<typeof createAgent>;

function embeddedAgent(dataDir: string, modelPath = TEST_LLM_MODEL, extra: { maxAnswerTokens?: number } = {}): Agent {
  return createAgent({
    config: { dataDir, ...extra, voice: { enabled: false }, llm: { provider: 'embedded', modelPath, threads: 1 } },
  });
}

/** Like embeddedAgent, but counts the real provider's generate() calls: how many times the model actually ran. */
function countingEmbeddedAgent(dataDir: string, extra: { maxAnswerTokens?: number } = {}): { agent: Agent; generations: () => number } {
  const config: AgentConfigOverrides = {
    dataDir,
    ...extra,
    voice: { enabled: false },
    llm: { provider: 'embedded', modelPath: TEST_LLM_MODEL, threads: 1 },
  };
  let count = 0;
  const agent = createAgent({
    config,
    llmFactories: embeddedFactoriesAround(config, (request, generate) => {
      count += 1;
      return generate(request);
    }),
  });
  return { agent, generations: () => count };
}

async function ask(agent: AgentService, events: ReturnType<typeof collectTurnEvents>, text: string, conversationId?: string) {
  const started = await agent.call('chat:send', conversationId ? { text, conversationId } : { text });
  return { ...started, turn: await events.forTurn(started.turnId) };
}

describe('text chat on real node-llama-cpp with stories260K', () => {
  let agent: Agent;
  let generations: () => number;
  let events: ReturnType<typeof collectTurnEvents>;
  const dataDir = tempDataDir();

  beforeAll(async () => {
    ({ agent, generations } = countingEmbeddedAgent(dataDir, { maxAnswerTokens: 400 }));
    events = collectTurnEvents(agent);
    await agent.whenReady();
  });
  afterAll(() => agent.close());

  it('loads and warms the model at startup, before any question', async () => {
    const status = await agent.call('agent:status');
    expect(status.llm).toMatchObject({ state: 'warm', provider: 'embedded', model: 'stories260K.gguf' });
  });

  it('streams tokens one by one, then a done event with timings', async () => {
    const { turn } = await ask(agent, events, 'Once upon a time, a little fox');
    expect(turn.error).toBeUndefined();
    expect(turn.tokens.length).toBeGreaterThan(5);
    expect(turn.done?.cached).toBe(false);
    expect(turn.done?.interrupted).toBe(false);
    expect(turn.tokens.map((t) => t.text).join('')).toBe(turn.done?.text);
    // Streamed: tokens arrive at different times, not in one burst at the end.
    expect(new Set(turn.tokens.map((t) => t.at)).size).toBeGreaterThan(1);
    expect(turn.done?.timings.ttftMs).toBeGreaterThan(0);
    expect(turn.done!.timings.ttftMs!).toBeLessThan(turn.done!.timings.totalMs);
  });

  it('cancel stops generation within 100 ms and keeps the partial answer, marked interrupted', async () => {
    const started = await agent.call('chat:send', { text: 'Tell a very long story about a dragon and a princess' });
    const collected = events.forTurn(started.turnId);
    await new Promise<void>((resolve) => {
      const stop = agent.listen((e) => {
        if (e.type === 'token' && e.turnId === started.turnId) {
          stop();
          resolve();
        }
      });
    });
    const cancelledAt = performance.now();
    await agent.call('chat:cancel', { turnId: started.turnId });
    const turn = await collected;
    const lastTokenAt = turn.tokens.at(-1)!.at;
    expect(turn.done?.interrupted).toBe(true);
    expect(lastTokenAt - cancelledAt).toBeLessThan(100);
    const messages = await agent.call('conversations:messages', { id: started.conversationId });
    const answer = messages.at(-1)!;
    expect(answer).toMatchObject({ role: 'assistant', status: 'interrupted' });
    expect(answer.text.length).toBeGreaterThan(0);
  });

  it('asking the same thing again answers from the cache, marked cached', async () => {
    const before = generations();
    const first = await ask(agent, events, 'Once upon a time there was a red ball');
    const again = await ask(agent, events, '  once upon a time there was a RED ball?  ');
    expect(again.turn.done).toMatchObject({ cached: true, text: first.turn.done!.text });
    // The second answer did not run the model.
    expect(generations() - before).toBe(1);
    expect(again.turn.done!.timings.totalMs).toBeLessThan(first.turn.done!.timings.totalMs);
  });

  it('identical questions in flight at the same time share one generation', async () => {
    const question = 'A cat and a dog played in the park all day long';
    const before = generations();
    // Each send starts a new conversation with no history, so both turns ask the model exactly the same thing.
    const [a, b] = await Promise.all([agent.call('chat:send', { text: question }), agent.call('chat:send', { text: question })]);
    const [ta, tb] = await Promise.all([events.forTurn(a.turnId), events.forTurn(b.turnId)]);
    expect(ta.done?.text).toBe(tb.done?.text);
    expect(ta.done?.text.length).toBeGreaterThan(0);
    // Both are generated answers (neither waited for the other to fill the cache), yet the model ran once.
    expect([ta.done?.cached, tb.done?.cached]).toEqual([false, false]);
    expect(generations() - before).toBe(1);
    expect(ta.done?.timings.promptTokens).toBe(tb.done?.timings.promptTokens);
  });

  it('asking again right after cancelling the same question gets a whole answer, not the cancelled generation', async () => {
    // Another answer holds the model, so the cancelled generation is still waiting its turn when the question comes again.
    const other = await agent.call('chat:send', { text: 'Tell a long story about a brave knight and his horse' });
    const question = 'A little bird sang a song in the tall green tree';
    const first = await agent.call('chat:send', { text: question });
    await agent.call('chat:cancel', { turnId: first.turnId });
    const again = await agent.call('chat:send', { text: question });
    expect((await events.forTurn(first.turnId)).done?.interrupted).toBe(true);
    const turn = await events.forTurn(again.turnId);
    expect(turn.done).toMatchObject({ interrupted: false, cached: false });
    expect(turn.done?.text.length).toBeGreaterThan(0);
    await events.forTurn(other.turnId);
  });

  it('rejects an empty question and one over the limit with a clear error, storing nothing', async () => {
    const before = await agent.call('conversations:list');
    await expect(agent.call('chat:send', { text: '   \n ' })).rejects.toMatchObject({ code: 'EMPTY_QUESTION' });
    await expect(agent.call('chat:send', { text: 'x'.repeat(8001) })).rejects.toMatchObject({
      code: 'QUESTION_TOO_LONG',
      message: expect.stringContaining('8,000'),
    });
    expect(await agent.call('conversations:list')).toEqual(before);
    // And the agent keeps working.
    const { turn } = await ask(agent, events, 'The sun was shining');
    expect(turn.done?.text.length).toBeGreaterThan(0);
  });

  it('conversations can be renamed and deleted', async () => {
    const { conversationId } = await ask(agent, events, 'A tiny mouse found cheese');
    const renamed = await agent.call('conversations:rename', { id: conversationId, title: 'Mouse story' });
    expect(renamed.title).toBe('Mouse story');
    expect((await agent.call('conversations:delete', { id: conversationId })).deleted).toBe(true);
    expect((await agent.call('conversations:list')).some((c) => c.id === conversationId)).toBe(false);
    await expect(agent.call('chat:send', { text: 'more', conversationId })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('validates arguments at the boundary', async () => {
    await expect(agent.call('chat:send', { nope: 1 } as never)).rejects.toMatchObject({ code: 'INVALID_MESSAGE' });
    await expect(agent.call('no:such' as never)).rejects.toMatchObject({ code: 'UNKNOWN_COMMAND' });
  });
});

describe('context reuse across turns (real node-llama-cpp)', () => {
  it('a follow-up in the same conversation only prefills the new tokens', async () => {
    // Short answers: stories260K's tiny vocabulary makes long generated text re-tokenize differently, which
    // (inside node-llama-cpp) ends the reusable prefix early; real chat models do not have this problem.
    const agent = embeddedAgent(tempDataDir(), TEST_LLM_MODEL, { maxAnswerTokens: 100 });
    const events = collectTurnEvents(agent);
    const first = await ask(agent, events, 'The little bird sang a song');
    const second = await ask(agent, events, 'Then the bird flew home', first.conversationId);
    const historyTokens = (first.turn.done!.timings.promptTokens ?? 0) + first.turn.done!.timings.tokens;
    expect(second.turn.done?.timings.promptTokens).toBeGreaterThan(0);
    // Without reuse the whole history (system prompt, first exchange, new question) would be evaluated again.
    expect(second.turn.done!.timings.promptTokens!).toBeLessThan(historyTokens / 2);
    // Switching to another conversation and back still works (the history is set again).
    const other = await ask(agent, events, 'A frog jumped');
    const third = await ask(agent, events, 'The bird sang again', first.conversationId);
    expect(other.turn.done?.text.length).toBeGreaterThan(0);
    expect(third.turn.done?.text.length).toBeGreaterThan(0);
    await agent.close();
  });
});

describe('restart keeps conversations and the cache (real SQLite file)', () => {
  it('lists the conversation and answers a repeated question from the persisted cache', async () => {
    const dataDir = tempDataDir();
    const first = embeddedAgent(dataDir);
    const firstEvents = collectTurnEvents(first);
    const asked = await ask(first, firstEvents, 'The princess found a key');
    await first.close();

    const second = embeddedAgent(dataDir);
    const secondEvents = collectTurnEvents(second);
    const conversations = await second.call('conversations:list');
    expect(conversations.map((c) => c.id)).toContain(asked.conversationId);
    const messages = await second.call('conversations:messages', { id: asked.conversationId });
    expect(messages.map((m) => [m.role, m.status])).toEqual([
      ['user', 'complete'],
      ['assistant', 'complete'],
    ]);
    const again = await ask(second, secondEvents, 'The princess found a key');
    expect(again.turn.done).toMatchObject({ cached: true, text: asked.turn.done!.text });
    await second.close();
  });
});

describe('missing or corrupt model', () => {
  it('a missing model file gives MODEL_MISSING naming the path and the fix; the agent still answers list calls', async () => {
    const missing = path.join(tempDataDir(), 'nope.gguf');
    const agent = embeddedAgent(tempDataDir(), missing);
    await agent.whenReady();
    const status = await agent.call('agent:status');
    expect(status.llm.state).toBe('missing');
    const error = await agent.call('chat:send', { text: 'hello' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'MODEL_MISSING', message: expect.stringContaining(missing) });
    expect((error as Error).message).toContain('models pull');
    expect(await agent.call('conversations:list')).toEqual([]);
    await agent.close();
  });

  it('a corrupt model file gives MODEL_CORRUPT naming the path', async () => {
    const dir = tempDataDir();
    const corrupt = path.join(dir, 'corrupt.gguf');
    writeFileSync(corrupt, 'this is not a gguf file, just text pretending to be one');
    const agent = embeddedAgent(tempDataDir(), corrupt);
    await agent.whenReady();
    await expect(agent.call('chat:send', { text: 'hello' })).rejects.toMatchObject({
      code: 'MODEL_CORRUPT',
      message: expect.stringContaining(corrupt),
    });
    await agent.close();
  });

  it('a 64-byte GGUF stub and a directory get messages naming the path and the fix, not internal errors', async () => {
    const dir = tempDataDir();
    const stub = path.join(dir, 'stub.gguf');
    const header = Buffer.alloc(64);
    header.write('GGUF', 0, 'latin1');
    header.writeUInt32LE(3, 4);
    writeFileSync(stub, header);
    const models = path.join(dir, 'models');
    mkdirSync(models);
    copyFileSync(TEST_LLM_MODEL, path.join(models, 'stories260K.gguf'));
    for (const [modelPath, code, says] of [
      [stub, 'MODEL_CORRUPT', `${stub} is not a usable GGUF model (`],
      [models, 'MODEL_MISSING', `${models} is a directory; --model / ASSISTANT_LLM_MODEL needs a .gguf file, e.g. ${path.join(models, 'stories260K.gguf')}`],
      [`${models}/`, 'MODEL_MISSING', `${models} is a directory;`],
    ] as const) {
      const agent = embeddedAgent(tempDataDir(), modelPath);
      await agent.whenReady();
      expect((await agent.call('agent:status')).llm.state).toBe(code === 'MODEL_MISSING' ? 'missing' : 'error');
      const error = (await agent.call('chat:send', { text: 'hello' }).catch((e: unknown) => e)) as Error & { code: string };
      expect(error.code).toBe(code);
      expect(error.message).toContain(says);
      expect(error.message).not.toMatch(/Cannot read properties|EISDIR|\n\s+at /);
      await agent.close();
    }
  });

  it('a truncated GGUF (valid header, cut short) gives MODEL_CORRUPT', async () => {
    const dir = tempDataDir();
    const truncated = path.join(dir, 'truncated.gguf');
    copyFileSync(TEST_LLM_MODEL, truncated);
    const { truncateSync } = await import('node:fs');
    truncateSync(truncated, 4096);
    const agent = embeddedAgent(tempDataDir(), truncated);
    await agent.whenReady();
    await expect(agent.call('chat:send', { text: 'hello' })).rejects.toMatchObject({ code: 'MODEL_CORRUPT' });
    await agent.close();
  });
});
