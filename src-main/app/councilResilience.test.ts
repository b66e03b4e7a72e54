import { afterEach, describe, expect, it } from 'vitest';
import type { AgentEvent, CouncilEvent, CouncilRequest } from '../../src-shared/contract/index.js';
import type { AgentConfigOverrides } from '../agent/agentConfig.node.js';
import { silentLogger } from '../agent/agentLogger.js';
import { RANKING_SYSTEM_PROMPT } from '../agent/council/rankingPrompt.js';
import { SYNTHESIS_SYSTEM_PROMPT } from '../agent/council/synthesisPrompt.js';
import { collectTurnEvents, TEST_LLM_MODEL, tempDataDir, type CollectedTurn } from '../testing/agentTestSupport.js';
import { OllamaProtocolServer } from '../testing/ollamaProtocolServer.node.js';
import { OpenAiProtocolServer, type ChatCompletionBody, type OpenAiScriptedAnswer, type RecordedRequest } from '../testing/openaiProtocolServer.node.js';
import { createAgent, type Agent } from './createAgent.node.js';

/*
 * Council turns through the whole agent (stories260K as the chat model, voice and documents off) whose members and
 * chairman are served by the OpenAI-compatible and Ollama protocol fixtures with scripted answers, each request
 * answered by what it asks: a stage-1 question, a stage-2 ranking prompt or the stage-3 synthesis. In every case the
 * council completes, with the notices that say what went wrong and a done event.
 */

const QUESTION = 'What is the capital of France?';
const SYNTHESIS = ['The', ' capital', ' of', ' France', ' is', ' Paris', '.'];
/** A ranking in the asked-for format; letters a reviewer was not shown are skipped by the parser. */
const RANKING = ['Both are fine.', '\nFINAL RANKING:', '\n1. Response A', '\n2. Response B'];
/** What the Ollama member says to anything, its ranking prompt included: prose with no ranking in it. */
const OLLAMA_PROSE = ['Paris', ' is', ' a', ' lovely', ' city', ' by', ' the', ' river', '.'];

type Stage = 1 | 2 | 3;

function stageOf(body: ChatCompletionBody): Stage {
  const messages = (body.messages ?? []) as Array<{ role: string; content: string }>;
  const system = messages.find((m) => m.role === 'system')?.content ?? '';
  if (system === RANKING_SYSTEM_PROMPT) return 2;
  if (system.includes(SYNTHESIS_SYSTEM_PROMPT)) return 3;
  return 1;
}

const stageOneAnswer = (model: string) => [`${model}`, ' says', ' Paris', ' is', ' the', ' capital', '.'];

/** The default script: each member answers its own words, ranks in the asked-for format, the chairman synthesises. */
function scriptedAnswer(body: ChatCompletionBody): OpenAiScriptedAnswer {
  const stage = stageOf(body);
  if (stage === 1) return { kind: 'answer', tokens: stageOneAnswer(String(body.model)) };
  // Rankings take a while (30 ms a chunk), so a faster member's ranking is in before them.
  if (stage === 2) return { kind: 'answer', tokens: RANKING, tokenIntervalMs: 30 };
  return { kind: 'answer', tokens: SYNTHESIS };
}

const running: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const resource of running.splice(0).reverse()) await resource.close();
});

async function openAiServer(respond: (body: ChatCompletionBody, request: RecordedRequest) => OpenAiScriptedAnswer | undefined): Promise<OpenAiProtocolServer> {
  const server = await OpenAiProtocolServer.start({ models: ['alpha', 'beta', 'gamma', 'chair'], tokenIntervalMs: 2, respond });
  running.push(server);
  return server;
}

interface CouncilTurn extends CollectedTurn {
  council: CouncilEvent[];
  events: AgentEvent[];
}

async function askCouncil(config: AgentConfigOverrides, council: CouncilRequest): Promise<CouncilTurn> {
  const agent: Agent = createAgent({
    config: {
      dataDir: tempDataDir(),
      voice: { enabled: false },
      documents: { enabled: false },
      maxAnswerTokens: 60,
      ...config,
      llm: { provider: 'embedded', modelPath: TEST_LLM_MODEL, threads: 1, ...config.llm },
    },
    logger: silentLogger,
  });
  running.push(agent);
  const events: AgentEvent[] = [];
  agent.listen((event) => events.push(event));
  const turns = collectTurnEvents(agent);
  await agent.whenReady();
  const started = await agent.call('chat:send', { text: QUESTION, council });
  const turn = await turns.forTurn(started.turnId);
  const councilEvents = events.filter((e): e is CouncilEvent => e.type === 'council' && e.turnId === started.turnId);
  return { ...turn, council: councilEvents, events };
}

/** What every completed council turn shows: ordered events, all of them before the done event, and an answer. */
function expectCompleted(turn: CouncilTurn): void {
  expect(turn.error).toBeUndefined();
  expect(turn.done).toBeDefined();
  expect(turn.council.map((e) => e.seq)).toEqual(turn.council.map((_, i) => i + 1));
  // Every stage-1 event comes before stage 2, and the aggregate before stage 3. A ranking still out when stage 3 began
  // may come after it, marked late (or cancelled once the answer is complete).
  const stages = turn.council.map((e) => e.stage);
  expect(stages.lastIndexOf(1)).toBeLessThan(stages.indexOf(2) === -1 ? Number.POSITIVE_INFINITY : stages.indexOf(2));
  const aggregateAt = turn.council.findIndex((e) => e.kind === 'aggregate');
  if (stages.includes(3)) expect(aggregateAt).toBeLessThan(stages.indexOf(3));
  for (const event of turn.council.slice(aggregateAt + 1)) {
    if (event.kind === 'ranking' && aggregateAt !== -1) expect(event.late).toBe(true);
  }
  const doneIndex = turn.events.indexOf(turn.done!);
  for (const event of turn.council) expect(turn.events.indexOf(event)).toBeLessThan(doneIndex);
  expect(turn.done!.text.length).toBeGreaterThan(0);
}

const notices = (turn: CouncilTurn) => turn.council.filter((e) => e.kind === 'notice').map((e) => e.code);
const answersOf = (turn: CouncilTurn) => turn.council.filter((e) => e.kind === 'answer');
const rankingsOf = (turn: CouncilTurn) => turn.council.filter((e) => e.kind === 'ranking');
const aggregateOf = (turn: CouncilTurn) => turn.council.find((e) => e.kind === 'aggregate');

describe('a council of served models degrades gracefully (OpenAI-compatible and Ollama fixtures, whole agent)', () => {
  it('drops a ranking with no ranking in it (usable: false) and aggregates the usable ones', async () => {
    const openai = await openAiServer(scriptedAnswer);
    const ollama = await OllamaProtocolServer.start({ models: ['prose'], tokens: OLLAMA_PROSE, tokenIntervalMs: 1 });
    running.push(ollama);

    const turn = await askCouncil(
      { llm: { openaiBaseUrl: openai.baseUrl, ollamaHost: ollama.url } },
      { members: ['openai:alpha', 'openai:beta', 'ollama:prose'], chairman: 'openai:chair' },
    );

    expectCompleted(turn);
    expect(answersOf(turn).map((e) => e.model).sort()).toEqual(['alpha', 'beta', 'prose']);
    const rankings = rankingsOf(turn);
    expect(rankings).toHaveLength(3);
    const prose = rankings.find((e) => e.model === 'prose');
    expect(prose).toMatchObject({ usable: false, reason: 'unparseable', ranking: [] });
    for (const model of ['alpha', 'beta']) {
      const ranking = rankings.find((e) => e.model === model);
      expect(ranking?.usable).toBe(true);
      expect(ranking?.ranking?.length).toBeGreaterThan(0);
    }
    expect(aggregateOf(turn)).toMatchObject({ method: 'rankings', rankingsUsed: 2, rankingsExpected: 3 });
    expect(aggregateOf(turn)?.table).toHaveLength(3);
    // Nothing failed, so nothing to warn about: no fallback aggregation, no member dropped.
    expect(notices(turn)).toEqual([]);
    expect(turn.done!.text).toBe(SYNTHESIS.join(''));
    expect(turn.done!.council).toEqual({ members: ['alpha', 'beta', 'prose'], source: 'chairman' });
  }, 60_000);

  it('drops a member that times out with a member-timed-out notice, and goes on with the others', async () => {
    const openai = await openAiServer((body) => (body.model === 'gamma' && stageOf(body) === 1 ? { kind: 'hang' } : scriptedAnswer(body)));

    const startedAt = performance.now();
    const turn = await askCouncil(
      { llm: { openaiBaseUrl: openai.baseUrl }, council: { timeouts: { answerMs: 1_500, rankingMs: 5_000, synthesisMs: 5_000 } } },
      { members: ['openai:alpha', 'openai:beta', 'openai:gamma'], chairman: 'openai:chair' },
    );

    expectCompleted(turn);
    const dropped = turn.council.filter((e) => e.kind === 'notice');
    expect(dropped).toHaveLength(1);
    expect(dropped[0]).toMatchObject({ stage: 1, code: 'member-timed-out', model: 'gamma', level: 'warning' });
    expect(dropped[0]!.message).toContain('no answer within 1.5 s');
    expect(answersOf(turn).map((e) => e.model).sort()).toEqual(['alpha', 'beta']);
    // The survivors rank each other; gamma is in no ranking and not in the aggregate.
    const rankings = rankingsOf(turn);
    expect(rankings.map((e) => e.model).sort()).toEqual(['alpha', 'beta']);
    expect(rankings.every((e) => e.usable)).toBe(true);
    expect(aggregateOf(turn)).toMatchObject({ method: 'rankings', rankingsExpected: 2 });
    expect(aggregateOf(turn)?.table?.map((s) => s.model).sort()).toEqual(['alpha', 'beta']);
    expect(turn.done!.text).toBe(SYNTHESIS.join(''));
    expect(turn.done!.council?.source).toBe('chairman');
    // The hung request was given up on (its connection closed by the provider), not waited out.
    const hung = openai.streamedChats.find((r) => (r.body as ChatCompletionBody).model === 'gamma');
    expect(await hung!.settled).toBe('closed-by-client');
    expect(performance.now() - startedAt).toBeLessThan(30_000);
  }, 60_000);

  it('retries a member rate limited with 429 and Retry-After: 1 after the pause it asked for, and uses its answer', async () => {
    let limited = false;
    const openai = await openAiServer((body) => {
      if (body.model === 'alpha' && !limited) {
        limited = true;
        return { kind: 'status', status: 429, error: 'Rate limit reached, try again in 1 s', headers: { 'Retry-After': '1' } };
      }
      return scriptedAnswer(body);
    });

    const turn = await askCouncil({ llm: { openaiBaseUrl: openai.baseUrl } }, { members: ['openai:alpha', 'openai:beta', 'openai:gamma'], chairman: 'openai:chair' });

    expectCompleted(turn);
    const alpha = openai.streamedChats.filter((r) => (r.body as ChatCompletionBody).model === 'alpha');
    // The question (429), the question again, then alpha's ranking.
    expect(alpha.length).toBeGreaterThanOrEqual(2);
    expect(alpha[0]!.outcome).toBe('failed-on-purpose');
    expect(stageOf(alpha[1]!.body as ChatCompletionBody)).toBe(1);
    expect(alpha[1]!.receivedAt - alpha[0]!.receivedAt).toBeGreaterThanOrEqual(900);
    expect(answersOf(turn).find((e) => e.model === 'alpha')?.text).toBe(stageOneAnswer('alpha').join(''));
    expect(answersOf(turn)).toHaveLength(3);
    expect(notices(turn)).toEqual([]);
    expect(aggregateOf(turn)?.method).toBe('rankings');
    expect(turn.done!.text).toBe(SYNTHESIS.join(''));
    expect(turn.done!.council).toEqual({ members: ['alpha', 'beta', 'gamma'], source: 'chairman' });
  }, 60_000);

  it('answers with the top-ranked answer, with a chairman-failed notice, when the chairman fails every time', async () => {
    const openai = await openAiServer((body) =>
      body.model === 'chair' ? { kind: 'status', status: 500, error: 'the chairman model crashed' } : scriptedAnswer(body),
    );

    const turn = await askCouncil({ llm: { openaiBaseUrl: openai.baseUrl } }, { members: ['openai:alpha', 'openai:beta', 'openai:gamma'], chairman: 'openai:chair' });

    expectCompleted(turn);
    const failed = turn.council.filter((e) => e.kind === 'notice');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ stage: 3, code: 'chairman-failed', model: 'chair (chairman)', level: 'warning' });
    expect(failed[0]!.message).toContain('the chairman model crashed');
    // The chairman was asked (once: a 500 is not retried) and failed.
    const chair = openai.streamedChats.filter((r) => (r.body as ChatCompletionBody).model === 'chair');
    expect(chair).toHaveLength(1);
    expect(stageOf(chair[0]!.body as ChatCompletionBody)).toBe(3);
    // The answer is the top of the aggregate, whole.
    const aggregate = aggregateOf(turn);
    expect(aggregate?.method).toBe('rankings');
    const top = aggregate!.table![0]!;
    expect(failed[0]!.message).toContain(`${top.model}'s`);
    expect(turn.done!.text).toBe(stageOneAnswer(top.model).join(''));
    expect(turn.done!.council?.source).toBe('top-answer');
  }, 60_000);
});
