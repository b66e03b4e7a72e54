import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentEvent } from '../../../src-shared/contract/index.js';
import { createAgent, realLlmFactories } from '../../app/createAgent.node.js';
import { collectTurnEvents, TEST_LLM_MODEL, tempDataDir } from '../../testing/agentTestSupport.js';
import { OllamaProtocolServer } from '../../testing/ollamaProtocolServer.node.js';
import { resolveAgentConfig, type AgentConfigOverrides } from '../agentConfig.node.js';
import type { ResilienceTuning } from '../resilience/resiliencePolicies.js';
import { OllamaLlmProvider } from './ollamaProvider.node.js';

const SUITE = "resilience of a turn (Ollama protocol test: a local server speaking Ollama's REST API, not a real Ollama; real embedded model)";
const ANSWER = ['Paris', ' is', ' the', ' capital', '.'];
/** The real policy with short delays: tries 50, 100, 200, 400 ms apart; an open breaker half-opens after 1 s. */
const FAST: ResilienceTuning = { retry: { initialDelayMs: 50, random: () => 0.5 }, breaker: { halfOpenAfterMs: 1_000 } };

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** An auto agent on `server` whose Ollama provider has the `FAST` policy, ready, with everything it emits recorded. */
async function agentOn(server: OllamaProtocolServer) {
  const config: AgentConfigOverrides = {
    dataDir: tempDataDir(),
    voice: { enabled: false },
    llm: { provider: 'auto', modelPath: TEST_LLM_MODEL, threads: 1, ollamaHost: server.url, ollamaModel: 'qwen-test' },
  };
  const real = realLlmFactories(resolveAgentConfig(config));
  const agent = createAgent({
    config,
    llmFactories: { ...real, createOllama: (model) => new OllamaLlmProvider({ host: server.url, model: model ?? 'qwen-test', resilience: FAST }) },
  });
  cleanups.push(() => agent.close());
  const events: AgentEvent[] = [];
  const waiters = new Set<() => void>();
  agent.listen((event) => {
    events.push(event);
    for (const wake of waiters) wake();
  });
  /** The first event (from `from` on) that matches, or a failure naming `what` after `deadlineMs`. */
  const nextEvent = <E extends AgentEvent>(what: string, match: (event: AgentEvent) => event is E, from = 0, deadlineMs = 15_000) =>
    new Promise<E>((resolve, reject) => {
      const look = () => {
        const found = events.slice(from).find(match);
        if (!found) return;
        cleanup();
        resolve(found);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no ${what} within ${deadlineMs} ms`));
      }, deadlineMs);
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(look);
      };
      waiters.add(look);
      look();
    });
  const turns = collectTurnEvents(agent);
  await agent.whenReady();
  expect((await agent.call('agent:status')).llm).toMatchObject({ state: 'warm', provider: 'ollama' });
  const notices = () => events.filter((e): e is Extract<AgentEvent, { type: 'notice' }> => e.type === 'notice');
  /** Asks `text` and waits for its end (done, error or blocked), timing it from the call. */
  const ask = async (text: string) => {
    const started = performance.now();
    const { turnId } = await agent.call('chat:send', { text });
    const turn = await turns.forTurn(turnId);
    return { ...turn, ms: performance.now() - started };
  };
  return { agent, events, nextEvent, notices, ask };
}

async function fixture(): Promise<OllamaProtocolServer> {
  const server = await OllamaProtocolServer.start({ models: ['qwen-test'], tokens: ANSWER, tokenIntervalMs: 1 });
  cleanups.push(() => server.close());
  return server;
}

describe(SUITE, () => {
  it('Ollama answers 503 twice, then answers: the turn is answered by Ollama, with no notice', async () => {
    const server = await fixture();
    const { ask, notices } = await agentOn(server);
    server.failChat({ kind: 'http-status', status: 503, error: 'server busy, please try again.', times: 2 });

    const turn = await ask('What is the capital of France?');

    expect(turn.error).toBeUndefined();
    expect(turn.done).toMatchObject({ provider: 'ollama', text: 'Paris is the capital.', interrupted: false });
    expect(server.streamedChats.map((r) => r.outcome)).toEqual(['failed-on-purpose', 'failed-on-purpose', 'completed']);
    expect(notices()).toEqual([]);
  });

  it('Ollama refuses the request (400): no retry, no fallback, the turn ends with what Ollama said; the next turn works', async () => {
    const server = await fixture();
    const { agent, ask, notices } = await agentOn(server);
    server.failChat({ kind: 'http-status', status: 400, error: '"qwen-test" does not support chat', times: 1 });

    const refused = await ask('What is the capital of France?');

    expect(refused.done).toBeUndefined();
    expect(refused.error).toMatchObject({
      code: 'GENERATION_FAILED',
      message: `Ollama at ${server.url} refused the request for the model "qwen-test" (HTTP 400: "qwen-test" does not support chat).`,
    });
    expect(server.streamedChats).toHaveLength(1);
    expect(notices()).toEqual([]);
    expect((await agent.call('agent:status')).llm.provider).toBe('ollama');
    expect((await ask('And of Italy?')).done).toMatchObject({ provider: 'ollama', text: 'Paris is the capital.' });
  });

  it('Ollama keeps failing: the breaker opens, the turn falls back with one notice, later turns skip Ollama at once, and it comes back with a notice', async () => {
    const server = await fixture();
    const { agent, ask, notices, nextEvent, events } = await agentOn(server);
    server.failEverything({ status: 503, error: 'server busy, please try again.' });

    // Breaker closed: five tries (50 + 100 + 200 + 400 ms of backoff), the fifth failure opens it, then the fallback.
    const first = await ask('What is the capital of France?');
    expect(first.error).toBeUndefined();
    expect(first.done?.provider).toBe('embedded');
    expect(first.done?.text.length).toBeGreaterThan(0);
    expect(server.streamedChats).toHaveLength(5);
    expect(notices()).toEqual([
      {
        type: 'notice',
        level: 'warning',
        message: expect.stringMatching(/^Ollama failed \(.*HTTP 503: server busy, please try again\..*\)\. Switching to the embedded model until it answers again\.$/),
      },
    ]);

    // Breaker open: straight to the embedded model; Ollama is not asked and nothing new is shown.
    const second = await ask('Tell me a story');
    expect(second.done?.provider).toBe('embedded');
    expect(server.streamedChats).toHaveLength(5);
    expect(notices()).toHaveLength(1);

    // Ollama recovers; the background probe (after the half-open delay) finds it, and the next turn uses it again.
    const from = events.length;
    server.failEverything(null);
    const back = await nextEvent(
      'notice that Ollama is back',
      (e): e is Extract<AgentEvent, { type: 'notice' }> => e.type === 'notice' && e.level === 'info',
      from,
    );
    expect(back.message).toBe('Ollama answers again; using it instead of the embedded model.');
    expect((await agent.call('agent:status')).llm).toMatchObject({ state: 'warm', provider: 'ollama', model: 'qwen-test' });
    const third = await ask('What is the capital of France?');
    expect(third.done).toMatchObject({ provider: 'ollama', text: 'Paris is the capital.' });
    expect(notices()).toHaveLength(2);
    // The turn that paid for the tries took longer than the backoff; the one after it did not wait for Ollama at all.
    expect(first.ms).toBeGreaterThan(750 * 0.8);
    expect(second.ms).toBeLessThan(first.ms);
  });
});
