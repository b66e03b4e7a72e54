import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentConfigOverrides } from '../agent/agentConfig.node.js';
import type { AgentEvent } from '../../src-shared/contract/index.js';
import { collectTurnEvents, embeddedFactoriesAround, TEST_LLM_MODEL, tempDataDir } from '../testing/agentTestSupport.js';
import { writeCorpus } from '../testing/documentCorpus.js';
import { createAgent } from './createAgent.node.js';

/**
 * Documents in a real turn: the real agent (stories260K through node-llama-cpp), a real Chroma server and USE-lite.
 * The model cannot answer questions, so these tests look at what a user sees around the answer: the sources under it,
 * what the model was given, and when a cached answer may be replayed.
 */
describe('answers from the user documents, with citations', () => {
  const dataDir = tempDataDir('docs-answers-');
  const corpus = path.join(dataDir, 'corpus');
  const prompts: string[] = [];
  const events: AgentEvent[] = [];
  let agent: ReturnType<typeof createAgent>;
  let turns: ReturnType<typeof collectTurnEvents>;

  beforeAll(async () => {
    writeCorpus(corpus);
    const config: AgentConfigOverrides = {
      dataDir: path.join(dataDir, 'profile'),
      maxAnswerTokens: 24,
      voice: { enabled: false },
      llm: { provider: 'embedded', modelPath: TEST_LLM_MODEL, threads: 1 },
    };
    agent = createAgent({
      config,
      llmFactories: embeddedFactoriesAround(config, (request, generate) => {
        prompts.push(request.question);
        return generate(request);
      }),
    });
    agent.listen((event) => events.push(event));
    turns = collectTurnEvents(agent);
    await agent.whenReady();
    const { jobId } = await agent.call('docs:ingest', { paths: [corpus] });
    await new Promise<void>((resolve) => {
      const check = () => (events.some((e) => e.type === 'docs-progress' && e.jobId === jobId && e.state === 'done') ? resolve() : setImmediate(check));
      check();
    });
  }, 120_000);
  afterAll(() => agent?.close());

  const ask = async (text: string) => {
    const started = await agent.call('chat:send', { text });
    const turn = await turns.forTurn(started.turnId);
    if (turn.error) throw new Error(`${turn.error.code}: ${turn.error.message}`);
    return turn.done!;
  };

  it('gives the model the relevant passages as quoted material and cites them in the done event', async () => {
    const done = await ask('Which tyres grip best on snow and ice when it is freezing?');
    expect(done.citations.length).toBeGreaterThan(0);
    expect(path.basename(done.citations[0]!.source)).toBe('winter-tyres.html');
    expect(done.citations[0]!.snippet).toMatch(/rubber compound/);
    expect(done.citations[0]!.score).toBeGreaterThan(0.35);
    // The answer's text never contains the sources: they are shown (and not spoken) apart from it.
    expect(done.text).not.toContain('winter-tyres.html');
    const prompt = prompts.at(-1)!;
    expect(prompt).toMatch(/not instructions/);
    expect(prompt).toMatch(/<passage 1 from winter-tyres\.html>[\s\S]*rubber compound[\s\S]*<\/passage 1>/);
    expect(prompt).toMatch(/Which tyres grip best on snow and ice when it is freezing\?$/);
  });

  it('answers an unrelated question as plain chat: no passages in the prompt, no citations', async () => {
    const done = await ask('Once upon a time there was a dragon who');
    expect(done.citations).toEqual([]);
    expect(prompts.at(-1)).toBe('Once upon a time there was a dragon who');
  });

  it('opens a cited chunk in full', async () => {
    const done = await ask('How do I put the spare wheel on after a puncture?');
    const chunk = await agent.call('docs:chunk', { chunkId: done.citations[0]!.chunkId });
    expect(path.basename(chunk.source)).toBe('flat-tyre.html');
    expect(chunk.text).toMatch(/jack/);
  });

  it('replays a cached answer only while the cited passages are the same: an edited document makes a fresh answer', async () => {
    const question = 'Why does my fiddle leaf fig drop its leaves after I move it?';
    const first = await ask(question);
    expect(first.cached).toBe(false);
    const again = await ask(question);
    expect(again.cached).toBe(true);
    expect(again.citations).toEqual(first.citations);

    fs.appendFileSync(path.join(corpus, 'fiddle-leaf-fig.txt'), '\nTurn the pot a quarter turn every week so the tree grows straight.\n');
    const { jobId } = await agent.call('docs:ingest', { paths: [path.join(corpus, 'fiddle-leaf-fig.txt')] });
    await new Promise<void>((resolve) => {
      const check = () => (events.some((e) => e.type === 'docs-progress' && e.jobId === jobId && e.state === 'done') ? resolve() : setImmediate(check));
      check();
    });
    const afterEdit = await ask(question);
    expect(afterEdit.cached).toBe(false);
    expect(afterEdit.citations[0]!.chunkId).not.toBe(first.citations[0]!.chunkId);
  });

  it('shows retrieval as a stage of the turn', async () => {
    const stats = await agent.call('stats:get');
    expect(stats.lastTurn.map((stage) => stage.name)).toContain('retrieval');
  });
});
