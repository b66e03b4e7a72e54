import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../agent/agentLogger.js';
import { collectTurnEvents, tempDataDir } from '../testing/agentTestSupport.js';
import { OpenAiProtocolServer } from '../testing/openaiProtocolServer.node.js';
import { createAgent, type Agent } from './createAgent.node.js';

/*
 * provider=openai through the whole agent, against the OpenAI-compatible protocol server fixture (no LM Studio or
 * llama-server runs here): the settings choose it, the turn streams from it, the status names it.
 */

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function agentOn(server: OpenAiProtocolServer, model: string): Promise<{ agent: Agent; turns: ReturnType<typeof collectTurnEvents> }> {
  const agent = createAgent({
    config: { dataDir: tempDataDir(), llm: { provider: 'openai', openaiBaseUrl: server.baseUrl, openaiModel: model }, voice: { enabled: false } },
    logger: silentLogger,
  });
  cleanups.push(() => agent.close());
  return { agent, turns: collectTurnEvents(agent) };
}

describe('provider openai: an OpenAI-compatible server of the user (protocol server fixture)', () => {
  it('answers a question by streaming from the server, and the status names the server and model', async () => {
    const server = await OpenAiProtocolServer.start({ models: ['local-model'], tokens: ['The sky ', 'is blue.'] });
    cleanups.push(() => server.close());
    const { agent, turns } = await agentOn(server, 'local-model');
    await agent.whenReady();
    const started = await agent.call('chat:send', { text: 'Why is the sky blue?' });
    const { done } = await turns.forTurn(started.turnId);
    expect(done).toMatchObject({ text: 'The sky is blue.', provider: 'openai', model: 'local-model', interrupted: false });
    expect((await agent.call('agent:status')).llm).toMatchObject({ state: 'warm', provider: 'openai', model: 'local-model' });
    const sent = server.requestsTo('/v1/chat/completions').at(-1)!.body as { messages: Array<{ role: string; content: string }> };
    expect(sent.messages.at(-1)).toEqual({ role: 'user', content: 'Why is the sky blue?' });
  });

  it('a model the server does not have is refused with the models it has', async () => {
    const server = await OpenAiProtocolServer.start({ models: ['qwen2.5-7b-instruct', 'llama-3.2-3b'] });
    cleanups.push(() => server.close());
    const { agent } = await agentOn(server, 'gpt-4');
    await agent.whenReady();
    const status = (await agent.call('agent:status')).llm;
    expect(status).toMatchObject({ state: 'missing', provider: 'openai' });
    expect(status.message).toMatch(/qwen2\.5-7b-instruct/);
  });
});
