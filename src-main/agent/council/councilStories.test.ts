import { afterAll, describe, expect, it } from 'vitest';
import { TEST_LLM_MODEL } from '../../testing/agentTestSupport.js';
import { EmbeddedLlamaProvider } from '../llm/embeddedLlamaProvider.node.js';
import type { CouncilEvent } from './councilEvents.js';
import { councilMembersFrom, providerCouncilMember } from './councilMember.js';
import { runCouncil } from './councilRun.js';

/**
 * A stand-in embedder for the agreement fallback: character trigrams hashed into 64 dimensions. Enough to tell similar
 * texts from different ones without loading an embedding model in this test.
 */
async function trigramEmbedding(texts: string[]): Promise<number[][]> {
  return texts.map((text) => {
    const vector = new Array<number>(64).fill(0);
    const plain = text.toLowerCase();
    for (let i = 0; i + 3 <= plain.length; i++) {
      let hash = 0;
      for (const char of plain.slice(i, i + 3)) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
      vector[hash % 64]! += 1;
    }
    return vector;
  });
}

const providers: EmbeddedLlamaProvider[] = [];
afterAll(async () => {
  await Promise.all(providers.map((provider) => provider.dispose()));
});

describe('runCouncil with a real model: stories260K as three members and a chairman', () => {
  it('streams answers, then rankings (nonsense, so the agreement fallback ranks), then the chairman answers', async () => {
    for (let i = 0; i < 3; i++) providers.push(new EmbeddedLlamaProvider({ modelPath: TEST_LLM_MODEL, threads: 1, contextSize: 512 }));
    await Promise.all(providers.map((provider) => provider.load()));
    // Distinct seeds and temperatures, which each member's requests carry and the embedded provider samples with.
    const members = councilMembersFrom(providers.map((provider, i) => ({ provider, sampling: { seed: i + 1, temperature: 0.6 + 0.2 * i } })));
    const chairman = providerCouncilMember({ id: 'chair', label: 'chairman', provider: providers[0]! });
    const events: CouncilEvent[] = [];
    const tokens: string[] = [];
    let firstToken: number | undefined;

    const result = await runCouncil({
      question: 'Tell me a story about a cat.',
      systemPrompt: 'You are a helpful assistant.',
      members,
      chairman,
      embed: trigramEmbedding,
      onEvent: (event) => events.push(event),
      onToken: (text) => {
        firstToken ??= events.length;
        tokens.push(text);
      },
      signal: AbortSignal.timeout(20_000),
      maxTokens: { answer: 24, ranking: 24, synthesis: 32 },
      seed: 1,
    });

    expect(result.aborted).toBe(false);
    expect(events.map((event) => event.seq)).toEqual(events.map((_, i) => i + 1));
    const kinds = events.map((event) => event.kind);
    expect(kinds.slice(0, 3)).toEqual(['answer', 'answer', 'answer']);
    expect(events.filter((event) => event.kind === 'answer').map((event) => event.model)).toEqual([
      'stories260K.gguf #1',
      'stories260K.gguf #2',
      'stories260K.gguf #3',
    ]);
    // One model, three samplings: the members do not all answer alike.
    const answers = events.flatMap((event) => (event.kind === 'answer' ? [event.text] : []));
    expect(answers.every((text) => text.trim() !== '')).toBe(true);
    expect(new Set(answers).size).toBeGreaterThanOrEqual(2);
    const rankings = events.filter((event) => event.kind === 'ranking');
    expect(rankings.length).toBe(3);
    expect(rankings.filter((event) => !event.late).every((event) => !event.usable && event.reason === 'unparseable')).toBe(true);
    const aggregate = events.find((event) => event.kind === 'aggregate');
    expect(aggregate).toMatchObject({ method: 'agreement', rankingsUsed: 0, rankingsExpected: 3 });
    expect(events.some((event) => event.kind === 'notice' && event.code === 'fallback-aggregation')).toBe(true);
    // The members take turns, and the chairman took the turn before the last ranking (which was then not needed).
    const last = rankings.at(-1)!;
    expect(last).toMatchObject({ late: true });
    expect(last.seq).toBeGreaterThan(aggregate!.seq);
    // The answer streams after the aggregate, from the chairman.
    expect(result.source).toBe('chairman');
    expect(result.text).toBe(tokens.join(''));
    expect(result.text.trim()).not.toBe('');
    expect(firstToken).toBeGreaterThan(kinds.indexOf('aggregate'));
    expect(result.timings.filter((timing) => timing.outcome === 'ok').map((timing) => timing.stage)).toEqual(expect.arrayContaining([1, 1, 1, 2, 2, 3]));
  }, 30_000);
});
