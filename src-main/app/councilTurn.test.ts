import { afterEach, describe, expect, it } from 'vitest';
import type { AgentEvent, CouncilEvent } from '../../src-shared/contract/index.js';
import { silentLogger } from '../agent/agentLogger.js';
import { collectTurnEvents, TEST_LLM_MODEL, tempDataDir } from '../testing/agentTestSupport.js';
import { closedPort } from '../testing/closedPort.node.js';
import { createAgent, type Agent } from './createAgent.node.js';

/*
 * A council turn through the whole agent with real stories260K members (the chat model three times, each with its own
 * seed) and chairman: its pieces arrive as council events, in order, and the chairman's synthesis is the turn's answer.
 */

let running: Agent | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

describe('a council of local models answers a question (real stories260K)', () => {
  it('streams the members’ answers, then their rankings and the aggregate, in order; the chairman’s answer is the turn’s', async () => {
    const agent = createAgent({
      config: { dataDir: tempDataDir(), llm: { provider: 'embedded', modelPath: TEST_LLM_MODEL, threads: 1 }, voice: { enabled: false }, maxAnswerTokens: 60 },
      logger: silentLogger,
    });
    running = agent;
    const events: AgentEvent[] = [];
    agent.listen((event) => events.push(event));
    const turns = collectTurnEvents(agent);
    await agent.whenReady();

    const started = await agent.call('chat:send', { text: 'Once upon a time there was a cat', council: {} });
    const { done, error } = await turns.forTurn(started.turnId);
    expect(error).toBeUndefined();
    const council = events.filter((e): e is CouncilEvent => e.type === 'council' && e.turnId === started.turnId);

    // Ordered: seq 1, 2, 3…; every stage-1 answer before anything of stage 2 or 3 (a ranking still running when the
    // answer is complete may come last, cancelled or late).
    expect(council.map((e) => e.seq)).toEqual(council.map((_, i) => i + 1));
    const firstLaterStage = council.findIndex((e) => e.stage > 1);
    expect(council.slice(firstLaterStage).every((e) => e.stage > 1)).toBe(true);
    const answers = council.filter((e) => e.kind === 'answer');
    expect(answers.map((e) => e.model)).toEqual(expect.arrayContaining([expect.stringMatching(/#1$/), expect.stringMatching(/#2$/), expect.stringMatching(/#3$/)]));
    const firstRanking = council.findIndex((e) => e.kind === 'ranking');
    expect(firstRanking).toBeGreaterThan(council.indexOf(answers.at(-1)!));
    const aggregate = council.find((e) => e.kind === 'aggregate');
    expect(aggregate?.table).toHaveLength(3);
    // stories260K cannot rank: when no ranking was usable, the answers are ranked by agreement (or kept in order), with a notice.
    const usable = council.filter((e) => e.kind === 'ranking' && e.usable);
    if (usable.length === 0) {
      expect(aggregate?.method).not.toBe('rankings');
      expect(council.some((e) => e.kind === 'notice' && e.code === 'fallback-aggregation')).toBe(true);
    }
    // The answer streamed as the turn's tokens, and was stored.
    expect(done?.text.length).toBeGreaterThan(0);
    const stored = (await agent.call('conversations:messages', { id: started.conversationId })).at(-1);
    expect(stored).toMatchObject({ role: 'assistant', text: done?.text, status: 'complete' });
    // Every council event came before the done event.
    const doneIndex = events.findIndex((e) => e.type === 'done' && e.turnId === started.turnId);
    expect(events.indexOf(council.at(-1)!)).toBeLessThan(doneIndex);
  }, 60_000);

  it('refuses a member it cannot run with a clear error, and answers nothing', async () => {
    const agent = createAgent({
      config: { dataDir: tempDataDir(), llm: { provider: 'embedded', modelPath: TEST_LLM_MODEL, threads: 1 }, voice: { enabled: false } },
      logger: silentLogger,
    });
    running = agent;
    const turns = collectTurnEvents(agent);
    await agent.whenReady();
    const started = await agent.call('chat:send', { text: 'Hello', council: { members: ['cloud:gpt-9', 'balanced'] } });
    const { error, done } = await turns.forTurn(started.turnId);
    expect(done).toBeUndefined();
    expect(error).toMatchObject({ code: 'INVALID_SETTING', message: expect.stringContaining('Unknown council member "cloud:gpt-9"') });
  });
});

describe('a council whose members cannot be reached', () => {
  it('fails that turn only: the session keeps its chat model for the next question', async () => {
    const port = await closedPort();
    const agent = createAgent({
      config: {
        dataDir: tempDataDir(),
        llm: { provider: 'embedded', modelPath: TEST_LLM_MODEL, threads: 1, openaiBaseUrl: `http://127.0.0.1:${port}/v1` },
        voice: { enabled: false },
        documents: { enabled: false },
        maxAnswerTokens: 20,
      },
      logger: silentLogger,
    });
    running = agent;
    const turns = collectTurnEvents(agent);
    await agent.whenReady();
    const council = await agent.call('chat:send', { text: 'Hello', council: { members: ['openai:absent'] } });
    expect((await turns.forTurn(council.turnId)).error).toMatchObject({ code: 'PROVIDER_UNAVAILABLE' });
    const plain = await agent.call('chat:send', { text: 'Once upon a time' });
    expect((await turns.forTurn(plain.turnId)).done).toMatchObject({ provider: 'embedded', interrupted: false });
    expect((await agent.call('agent:status')).llm).toMatchObject({ state: 'warm', provider: 'embedded' });
  });
});
