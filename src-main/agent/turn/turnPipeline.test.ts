import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AgentEvent } from '../../../src-shared/contract/index.js';
import { createAgent, type Agent, type CreateAgentOptions } from '../../app/createAgent.node.js';
import type { AgentConfigOverrides } from '../agentConfig.node.js';
import type { OutputCheck } from './answerStream.js';
import type { ContextStep, VerdictStep } from './prepareStep.js';
import { embeddedFactoriesAround, TEST_LLM_MODEL, tempDataDir } from '../../testing/agentTestSupport.js';

/** A promise with its resolve function, to hold a test step until the test lets it go. */
function gate<T = void>() {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => (open = resolve));
  return { promise, open };
}

/** A test step (not a real retrieval or check) that takes `ms`, honouring its signal. */
function delayStep(name: string, ms: number, extra: Partial<ContextStep> = {}): ContextStep {
  return {
    name,
    kind: 'context',
    required: false,
    timeoutMs: 5_000,
    run: (_input, signal) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => resolve([]), ms);
        signal.addEventListener('abort', () => (clearTimeout(timer), reject(signal.reason)), { once: true });
      }),
    ...extra,
  };
}

interface Harness {
  agent: Agent;
  events: AgentEvent[];
  generateCalls: number;
}

/** The real agent on node-llama-cpp + stories260K, with plugged test steps and checks, recording every event. */
async function pipelineAgent(options: Omit<CreateAgentOptions, 'config'> = {}, config: AgentConfigOverrides = {}): Promise<Harness> {
  const overrides: AgentConfigOverrides = {
    dataDir: tempDataDir(),
    maxAnswerTokens: 60,
    voice: { enabled: false },
    llm: { provider: 'embedded', modelPath: TEST_LLM_MODEL, threads: 1 },
    ...config,
  };
  const harness: Harness = { agent: undefined as unknown as Agent, events: [], generateCalls: 0 };
  harness.agent = createAgent({
    ...options,
    config: overrides,
    llmFactories: embeddedFactoriesAround(overrides, (request, generate) => {
      harness.generateCalls++;
      return generate(request);
    }),
  });
  harness.agent.listen((event) => harness.events.push(event));
  await harness.agent.whenReady();
  return harness;
}

async function untilEnded(h: Harness, turnId: string): Promise<AgentEvent> {
  const ends = (e: AgentEvent) => (e.type === 'done' || e.type === 'error' || e.type === 'blocked') && e.turnId === turnId;
  await vi.waitFor(() => expect(h.events.some(ends)).toBe(true), { timeout: 20_000 });
  return h.events.find(ends)!;
}

const stagesOf = (h: Harness, turnId: string) =>
  h.events.filter((e): e is Extract<AgentEvent, { type: 'stage' }> => e.type === 'stage' && e.turnId === turnId);
const ofTurn = <T extends AgentEvent['type']>(h: Harness, turnId: string, type: T) =>
  h.events.filter((e): e is Extract<AgentEvent, { type: T }> => e.type === type && 'turnId' in e && e.turnId === turnId);

describe('the turn pipeline on real node-llama-cpp (stories260K), with test prepare steps', () => {
  let harness: Harness | undefined;
  afterEach(async () => {
    await harness?.agent.close();
    harness = undefined;
  });

  it('runs the prepare steps at the same time, each reported as a stage', async () => {
    harness = await pipelineAgent({ prepareSteps: [delayStep('test-step-a', 150), delayStep('test-step-b', 150)] });
    const { turnId } = await harness.agent.call('chat:send', { text: 'Once upon a time' });
    expect(await untilEnded(harness, turnId)).toMatchObject({ type: 'done' });
    const stages = stagesOf(harness, turnId);
    const t = (name: string, phase: 'start' | 'end') => stages.find((s) => s.name === name && s.phase === phase)?.t;
    for (const name of ['provider', 'history', 'cache', 'test-step-a', 'test-step-b', 'generate', 'first-token', 'first-sentence']) {
      expect(t(name, 'start'), name).toBeTypeOf('number');
      expect(t(name, 'end'), name).toBeGreaterThanOrEqual(t(name, 'start')!);
    }
    // Both test steps were running at once: each started before the other ended.
    expect(t('test-step-b', 'start')!).toBeLessThan(t('test-step-a', 'end')!);
    expect(t('test-step-a', 'start')!).toBeLessThan(t('test-step-b', 'end')!);
    // Generation waited for the context steps.
    expect(t('generate', 'start')!).toBeGreaterThanOrEqual(t('test-step-a', 'end')!);
  });

  it('starts generating before a slow input verdict, but shows no token until it passes', async () => {
    const verdict = gate<{ allowed: true }>();
    const step: VerdictStep = { name: 'test-input-check', kind: 'verdict', required: true, timeoutMs: 20_000, run: () => verdict.promise };
    harness = await pipelineAgent({ prepareSteps: [step] });
    const h = harness;
    const { turnId } = await h.agent.call('chat:send', { text: 'Once upon a time there was a cat' });
    await vi.waitFor(() => expect(h.generateCalls).toBe(1), { timeout: 10_000 });
    // The model has been asked; the user still sees nothing.
    expect(ofTurn(h, turnId, 'token')).toHaveLength(0);
    expect(ofTurn(h, turnId, 'answer-sentence')).toHaveLength(0);
    verdict.open({ allowed: true });
    const done = await untilEnded(h, turnId);
    expect(done).toMatchObject({ type: 'done', interrupted: false });
    const verdictEnd = stagesOf(h, turnId).find((s) => s.name === 'test-input-check' && s.phase === 'end')!;
    const firstToken = stagesOf(h, turnId).find((s) => s.name === 'first-token' && s.phase === 'end')!;
    expect(firstToken.t).toBeGreaterThanOrEqual(verdictEnd.t);
    expect(h.events.indexOf(verdictEnd)).toBeLessThan(h.events.findIndex((e) => e.type === 'token' && e.turnId === turnId));
  });

  it('a rejected question shows no token at all, ends with a blocked event naming the check, and stores nothing', async () => {
    const step: VerdictStep = {
      name: 'test-input-check',
      kind: 'verdict',
      required: true,
      timeoutMs: 5_000,
      run: () => new Promise((resolve) => setTimeout(() => resolve({ allowed: false, reason: 'Test check: not allowed.' }), 100)),
    };
    harness = await pipelineAgent({ prepareSteps: [step] });
    const { turnId, conversationId } = await harness.agent.call('chat:send', { text: 'Once upon a time there was a dog' });
    expect(await untilEnded(harness, turnId)).toMatchObject({ type: 'blocked', guard: 'test-input-check', reason: 'Test check: not allowed.' });
    expect(ofTurn(harness, turnId, 'token')).toHaveLength(0);
    expect(await harness.agent.call('conversations:messages', { id: conversationId })).toEqual([]);
    // The question started a conversation: that is gone too, not left empty in the list.
    expect((await harness.agent.call('conversations:list')).map((c) => c.id)).not.toContain(conversationId);
  });

  it('an optional step that times out is left out with a notice; a required one that fails ends the turn with its error', async () => {
    harness = await pipelineAgent({ prepareSteps: [delayStep('test-slow-retrieval', 60_000, { timeoutMs: 100 })] });
    const first = await harness.agent.call('chat:send', { text: 'Once upon a time a bird' });
    expect(await untilEnded(harness, first.turnId)).toMatchObject({ type: 'done', interrupted: false });
    expect(harness.events).toContainEqual(expect.objectContaining({ type: 'notice', message: expect.stringContaining('test-slow-retrieval') }));
    await harness.agent.close();

    const failing: ContextStep = { ...delayStep('test-required', 10), required: true, run: async () => Promise.reject(new Error('test step broke')) };
    harness = await pipelineAgent({ prepareSteps: [failing] });
    const second = await harness.agent.call('chat:send', { text: 'Once upon a time a bird' });
    expect(await untilEnded(harness, second.turnId)).toMatchObject({ type: 'error', message: 'test step broke' });
    expect(harness.generateCalls).toBe(0);
  });

  it('a cached answer goes through the same stream: the same checked sentences as when it was generated', async () => {
    harness = await pipelineAgent();
    const first = await harness.agent.call('chat:send', { text: 'Once upon a time there was a little girl' });
    await untilEnded(harness, first.turnId);
    const again = await harness.agent.call('chat:send', { text: 'once upon a time there was a little girl' });
    expect(await untilEnded(harness, again.turnId)).toMatchObject({ type: 'done', cached: true });
    const sentences = (turnId: string) => ofTurn(harness!, turnId, 'answer-sentence').map((e) => [e.index, e.text]);
    expect(sentences(first.turnId).length).toBeGreaterThan(0);
    expect(sentences(again.turnId)).toEqual(sentences(first.turnId));
    expect(harness.generateCalls).toBe(1);
  });

  it('only checked text is shown as sentences, stored and cached', async () => {
    // A test output check (not the guardrails): replaces the first sentence of the answer, passes the rest. Every
    // answer has a first sentence, so the stored-text path is exercised on every run.
    let checked = 0;
    const check: OutputCheck = { checkSentence: () => (checked++ === 0 ? { action: 'replace', text: '[checked]' } : { action: 'pass' }) };
    harness = await pipelineAgent({ outputCheck: check }, { maxAnswerTokens: 200 });
    const { turnId, conversationId } = await harness.agent.call('chat:send', { text: 'Once upon a time there was a girl named Lily' });
    const done = await untilEnded(harness, turnId);
    expect(done.type).toBe('done');
    const raw = ofTurn(harness, turnId, 'token').map((e) => e.text).join('');
    const sentences = ofTurn(harness, turnId, 'answer-sentence').map((e) => e.text);
    expect(sentences[0]).toBe('[checked]');
    const stored = (await harness.agent.call('conversations:messages', { id: conversationId })).at(-1)!;
    expect(stored.text).toBe(sentences.join(' '));
    expect(stored.text).not.toBe(raw);
    expect((done as { text: string }).text).toBe(stored.text);
    const again = await harness.agent.call('chat:send', { text: 'Once upon a time there was a girl named Lily' });
    expect(await untilEnded(harness, again.turnId)).toMatchObject({ cached: true, text: stored.text });
  });

  it('a new process whose model takes longer to load than the cache timeout still answers from the persisted cache', async () => {
    const dataDir = tempDataDir();
    const config: AgentConfigOverrides = {
      dataDir,
      maxAnswerTokens: 40,
      voice: { enabled: false },
      llm: { provider: 'embedded', modelPath: TEST_LLM_MODEL, threads: 1 },
      prepare: { cacheTimeoutMs: 100 },
    };
    const first = createAgent({ config });
    const firstTurn = await first.call('chat:send', { text: 'Once upon a time a slow snail' });
    const answered = new Promise<AgentEvent>((resolve) => first.listen((e) => e.type === 'done' && e.turnId === firstTurn.turnId && resolve(e)));
    await answered;
    await first.close();

    // The restarted app: its model loads 300 ms slower than the cache step's 100 ms timeout (a big model's load).
    const factories = embeddedFactoriesAround(config, (request, generate) => generate(request));
    const slow = createAgent({
      config,
      llmFactories: {
        ...factories,
        createEmbedded: () => {
          const provider = factories.createEmbedded();
          const load = provider.load.bind(provider);
          provider.load = async () => {
            await new Promise((resolve) => setTimeout(resolve, 300));
            await load();
          };
          return provider;
        },
      },
    });
    harness = { agent: slow, events: [], generateCalls: 0 };
    slow.listen((event) => harness!.events.push(event));
    // Asked at once, while the model is still loading.
    const { turnId } = await slow.call('chat:send', { text: 'Once upon a time a slow snail' });
    expect(await untilEnded(harness, turnId)).toMatchObject({ type: 'done', cached: true });
    expect(harness.events.some((e) => e.type === 'notice')).toBe(false);
  });
});
