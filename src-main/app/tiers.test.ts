import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AgentEvent } from '../../src-shared/contract/index.js';
import { silentLogger } from '../agent/agentLogger.js';
import { collectTurnEvents, TEST_LLM_MODEL, tempDataDir } from '../testing/agentTestSupport.js';
import { OpenAiProtocolServer } from '../testing/openaiProtocolServer.node.js';
import { createAgent, type Agent } from './createAgent.node.js';

/*
 * Model tiers through the whole agent: stories260K is the chat model; a second model, where one is needed, is served by
 * the OpenAI-compatible protocol server fixture (no LM Studio or llama-server runs here).
 */

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  vi.unstubAllEnvs();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function start(config: { tier?: string; documents?: boolean; openaiBaseUrl?: string; dataDir?: string } = {}): { agent: Agent; events: AgentEvent[]; turns: ReturnType<typeof collectTurnEvents> } {
  const agent = createAgent({
    config: {
      dataDir: config.dataDir ?? tempDataDir(),
      llm: { provider: 'embedded', modelPath: TEST_LLM_MODEL, threads: 1, ...(config.openaiBaseUrl && { openaiBaseUrl: config.openaiBaseUrl }) },
      voice: { enabled: false },
      maxAnswerTokens: 20,
      documents: { enabled: config.documents ?? false },
      ...(config.tier !== undefined && { tier: config.tier }),
    },
    logger: silentLogger,
  });
  cleanups.push(() => agent.close());
  const events: AgentEvent[] = [];
  agent.listen((event) => events.push(event));
  return { agent, events, turns: collectTurnEvents(agent) };
}

async function ask(h: ReturnType<typeof start>, text: string) {
  await h.agent.whenReady();
  const started = await h.agent.call('chat:send', { text });
  return (await h.turns.forTurn(started.turnId)).done;
}

describe('model tiers', () => {
  it('an invalid tier name warns, names what is allowed, and answers with balanced', async () => {
    vi.stubEnv('ASSISTANT_TIER', 'turbo');
    const h = start();
    const done = await ask(h, 'Once upon a time');
    const notice = h.events.find((e) => e.type === 'notice' && /turbo/.test(e.message));
    expect(notice).toMatchObject({ level: 'warning', message: expect.stringMatching(/fast.*balanced.*quality/) });
    expect(done?.route).toMatchObject({ choice: 'balanced', tier: 'balanced' });
    expect(done?.model).toBe('stories260K.gguf');
  });

  it('--tier picks the tier whose model answers, and the done event says so', async () => {
    const server = await OpenAiProtocolServer.start({ models: ['quality-model'], tokens: ['A careful answer.'] });
    cleanups.push(() => server.close());
    vi.stubEnv('ASSISTANT_TIER_QUALITY', 'openai:quality-model');
    const h = start({ tier: 'quality', openaiBaseUrl: server.baseUrl });
    const done = await ask(h, 'Once upon a time');
    expect(done).toMatchObject({ provider: 'openai', model: 'quality-model', text: 'A careful answer.' });
    expect(done?.route).toEqual({ choice: 'quality', tier: 'quality', reason: 'chosen with --tier' });
  });

  it('auto routes each question: a coding task to the quality model, a greeting to the fast one (real USE-lite)', async () => {
    const server = await OpenAiProtocolServer.start({ models: ['quality-model'], tokens: ['def parse(): pass'] });
    cleanups.push(() => server.close());
    vi.stubEnv('ASSISTANT_TIER_QUALITY', 'openai:quality-model');
    const h = start({ tier: 'auto', documents: true, openaiBaseUrl: server.baseUrl });
    const coding = await ask(h, 'Write a Python function that parses a CSV file and returns the rows as dictionaries, with tests');
    expect(coding?.route).toMatchObject({ choice: 'auto', tier: 'quality' });
    expect(coding).toMatchObject({ provider: 'openai', model: 'quality-model' });
    const greeting = await ask(h, 'hi there');
    expect(greeting?.route).toMatchObject({ choice: 'auto', tier: 'fast' });
    expect(greeting).toMatchObject({ provider: 'embedded', model: 'stories260K.gguf' });
    expect(greeting?.route?.reason.length).toBeGreaterThan(0);
  }, 60_000);

  it('tiers saved in the settings apply from the next start', async () => {
    const server = await OpenAiProtocolServer.start({ models: ['quality-model'], tokens: ['From the saved tier.'] });
    cleanups.push(() => server.close());
    const dataDir = tempDataDir();
    const first = start({ dataDir, openaiBaseUrl: server.baseUrl });
    await first.agent.whenReady();
    const view = await first.agent.call('settings:set', { tier: 'quality', tiers: { quality: 'openai:quality-model' } });
    expect(view.saved).toMatchObject({ tier: 'quality', tiers: { quality: 'openai:quality-model' } });
    await first.agent.close();

    const second = start({ dataDir, openaiBaseUrl: server.baseUrl });
    const done = await ask(second, 'Once upon a time');
    expect(done).toMatchObject({ provider: 'openai', model: 'quality-model', text: 'From the saved tier.' });
    expect(done?.route).toEqual({ choice: 'quality', tier: 'quality', reason: 'the saved tier' });
  });
});
