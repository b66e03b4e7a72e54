import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentEvent } from '../../../src-shared/contract/index.js';
import { createAgent } from '../../app/createAgent.node.js';
import { collectTurnEvents, TEST_LLM_MODEL, tempDataDir } from '../../testing/agentTestSupport.js';
import { OllamaProtocolServer } from '../../testing/ollamaProtocolServer.node.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function autoAgent(ollamaHost: string) {
  const agent = createAgent({
    config: {
      dataDir: tempDataDir(),
      voice: { enabled: false },
      llm: { provider: 'auto', modelPath: TEST_LLM_MODEL, threads: 1, ollamaHost, ollamaModel: 'qwen-test' },
    },
  });
  cleanups.push(() => agent.close());
  return agent;
}

/** An auto agent, ready, with its turns' events and its notices recorded. */
async function recordedAutoAgent(ollamaHost: string) {
  const agent = autoAgent(ollamaHost);
  const events = collectTurnEvents(agent);
  const notices: AgentEvent[] = [];
  agent.listen((e) => e.type === 'notice' && notices.push(e));
  await agent.whenReady();
  return { agent, events, notices };
}

/** A port that refuses connections: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('provider choice and fallback (Ollama protocol test: a local server speaking Ollama\'s REST API, not a real Ollama)', () => {
  it('auto uses Ollama when it is reachable and has the model, and falls back to the embedded model with a notice when Ollama fails mid-session', async () => {
    const server = await OllamaProtocolServer.start({ models: ['qwen-test'], tokens: ['Paris', ' is', ' the', ' capital', '.'] });
    cleanups.push(() => server.close());
    const { agent, events, notices } = await recordedAutoAgent(server.url);
    expect((await agent.call('agent:status')).llm).toMatchObject({ state: 'warm', provider: 'ollama', model: 'qwen-test' });

    const first = await agent.call('chat:send', { text: 'What is the capital of France?' });
    expect((await events.forTurn(first.turnId)).done).toMatchObject({ provider: 'ollama', text: 'Paris is the capital.' });

    server.failChat({ kind: 'http-500' });
    const second = await agent.call('chat:send', { text: 'Tell me a story', conversationId: first.conversationId });
    const turn = await events.forTurn(second.turnId);
    expect(turn.error).toBeUndefined();
    expect(turn.done?.provider).toBe('embedded');
    expect(turn.done?.text.length).toBeGreaterThan(0);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({ level: 'warning', message: expect.stringContaining('Switching to the embedded model') });
    expect((await agent.call('agent:status')).llm).toMatchObject({ state: 'warm', provider: 'embedded' });
  });

  it('two answers failing on Ollama at once switch to the embedded model once, and both are answered', async () => {
    const server = await OllamaProtocolServer.start({ models: ['qwen-test'] });
    cleanups.push(() => server.close());
    const { agent, events, notices } = await recordedAutoAgent(server.url);
    expect((await agent.call('agent:status')).llm.provider).toBe('ollama');

    server.failChat({ kind: 'http-500' });
    const started = await Promise.all([
      agent.call('chat:send', { text: 'Tell me a story about a cat' }),
      agent.call('chat:send', { text: 'Tell me a story about a dog' }),
    ]);
    for (const { turnId } of started) {
      const turn = await events.forTurn(turnId);
      expect(turn.error).toBeUndefined();
      expect(turn.done).toMatchObject({ provider: 'embedded', interrupted: false });
      expect(turn.done?.text.length).toBeGreaterThan(0);
    }
    expect(notices).toHaveLength(1);
  });

  it('auto uses the embedded model when Ollama is unreachable', async () => {
    const agent = autoAgent(`http://127.0.0.1:${await closedPort()}`);
    await agent.whenReady();
    expect((await agent.call('agent:status')).llm).toMatchObject({ state: 'warm', provider: 'embedded', model: 'stories260K.gguf' });
  });

  it('auto uses the embedded model when Ollama does not have the model', async () => {
    const server = await OllamaProtocolServer.start({ models: ['some-other-model'] });
    cleanups.push(() => server.close());
    const agent = autoAgent(server.url);
    await agent.whenReady();
    expect((await agent.call('agent:status')).llm.provider).toBe('embedded');
  });
});
