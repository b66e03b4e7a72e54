import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tier } from './modelSpec.js';
import { createTierRouter, DEFAULT_ROUTE_EXAMPLES, DEFAULT_TIER_ROUTER_WEIGHTS, wordCount, type EmbedTexts, type TierRouteDecision } from './tierRouter.js';

const STOP_WORDS = new Set('a an the is are was were be to of in on for and or i me my you your it this that do does what how can with at by from'.split(' '));
const FAKE_DIMENSIONS = 2048;

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash;
}

/**
 * A deterministic fake embedder, not a language model: a bag of words (lower-cased, stop words dropped, a crude
 * suffix stemming) hashed into 2048 dimensions. Similar only when the words are.
 */
function fakeBagOfWordsEmbedder(): EmbedTexts & { calls: (readonly string[])[] } {
  const calls: (readonly string[])[] = [];
  const embed = async (texts: readonly string[]) => {
    calls.push(texts);
    return texts.map((text) => {
      const vector = new Array<number>(FAKE_DIMENSIONS).fill(0);
      for (const bucket of fakeBuckets(text)) vector[bucket]! += 1;
      return vector;
    });
  };
  return Object.assign(embed, { calls });
}

function fakeBuckets(text: string): number[] {
  return (text.toLowerCase().match(/[a-z0-9']+/g) ?? [])
    .filter((word) => !STOP_WORDS.has(word))
    .map((word) => fnv1a(word.replace(/'s$/, '').replace(/(ing|ed|es|s)$/, '') || word) % FAKE_DIMENSIONS);
}

/** Questions that are not among the route examples, labelled by hand. */
const LABELLED: Record<Tier, string[]> = {
  fast: [
    'hi, good evening',
    "what's the time?",
    'is it going to snow tomorrow?',
    'set a timer for five minutes',
    'who painted the Mona Lisa?',
    "what's the capital of Italy?",
    'thank you so much',
    'how many grams in a kilo?',
    'remind me to water the plants at six',
    'what day is it today?',
    'good night',
    'tell me a funny joke',
  ],
  balanced: [
    'how do I get rid of fruit flies in the kitchen?',
    'what are some tips for a job interview?',
    'what should I cook with chicken and rice?',
    'how does a heat pump work?',
    'recommend a podcast about history',
    'how can I improve my sleep?',
    'summarize the main points of this report',
    "what's a good way to start running?",
    'why do leaves change colour in autumn?',
    'how do I remove a wine stain from a carpet?',
  ],
  quality: [
    'write a Python script that renames all files in a folder',
    'compare React and Vue for a large enterprise application',
    'write a persuasive essay on renewable energy',
    'explain in detail how public key cryptography works',
    'fix the bug in this C++ function',
    'design a REST API for a library management system',
    'analyze the causes of the First World War step by step',
    'draft a formal complaint letter to my landlord',
    'what are the trade-offs between SQL and NoSQL databases?',
    'create a detailed marketing plan for a small bakery',
  ],
};
const LABELLED_COUNT = Object.values(LABELLED).flat().length;
const TIERS: Tier[] = ['fast', 'balanced', 'quality'];

async function routeAll(route: (question: string) => Promise<TierRouteDecision>) {
  const results: { question: string; want: Tier; got: TierRouteDecision }[] = [];
  for (const want of TIERS) for (const question of LABELLED[want]) results.push({ question, want, got: await route(question) });
  const right = results.filter((result) => result.got.tier === result.want).length;
  return { results, right, accuracy: right / results.length };
}

/** Words that the fake embedder puts where no example word is: no similarity to any route. */
const NEUTRAL_WORDS = (() => {
  const taken = new Set(Object.values(DEFAULT_ROUTE_EXAMPLES).flatMap((groups) => Object.values(groups).flat()).flatMap(fakeBuckets));
  const words: string[] = [];
  for (let i = 0; words.length < 100; i += 1) if (!taken.has(fakeBuckets(`zorp${i}x`)[0]!)) words.push(`zorp${i}x`);
  return words;
})();
const neutral = (words: number) => NEUTRAL_WORDS.slice(0, words).join(' ');

describe('the tier router with the fake bag-of-words embedder', () => {
  it('routes held-out labelled questions mostly right (29 of 32: 91 %)', async () => {
    const router = createTierRouter({ embed: fakeBagOfWordsEmbedder() });
    const { results, right, accuracy } = await routeAll((question) => router.route({ question }));
    const wrong = results.filter((result) => result.got.tier !== result.want).map((r) => `${r.want} -> ${r.got.tier}: ${r.question}`);
    console.log(`fake embedder: ${right}/${results.length} right (${Math.round(accuracy * 100)} %)${wrong.length ? `; wrong: ${wrong.join(' | ')}` : ''}`);
    expect(results.length).toBe(LABELLED_COUNT);
    expect(accuracy).toBeGreaterThanOrEqual(0.85);
    for (const tier of TIERS) {
      const ofTier = results.filter((result) => result.want === tier);
      expect(ofTier.filter((result) => result.got.tier === tier).length / ofTier.length).toBeGreaterThanOrEqual(0.8);
    }
  });

  it('says why, naming the nearest example and its similarity', async () => {
    const router = createTierRouter({ embed: fakeBagOfWordsEmbedder() });
    const coding = await router.route({ question: 'write a function in Go that parses a JSON file' });
    expect(coding.tier).toBe('quality');
    expect(coding.reason).toMatch(/^reads like a coding task \(0\.\d\d similar to "write a function in Python that parses…"\)$/);
    expect(coding.nearest?.quality).toMatchObject({ kind: 'a coding task', example: 'write a function in Python that parses a CSV file' });
    expect(coding.similarity.quality).toBeGreaterThan(coding.similarity.fast);
    const timer = await router.route({ question: 'set a timer for twenty minutes' });
    expect(timer).toMatchObject({ tier: 'fast', reason: expect.stringMatching(/^reads like a timer or reminder \(/) });
  });

  it('prefers fast for voice questions, unless they clearly read as quality', async () => {
    const router = createTierRouter({ embed: fakeBagOfWordsEmbedder() });
    let balancedToFast = 0;
    for (const want of TIERS) {
      for (const question of LABELLED[want]) {
        const typed = await router.route({ question });
        const spoken = await router.route({ question, voice: true });
        // Voice only ever adds to fast.
        expect(spoken.scores.fast).toBeGreaterThanOrEqual(typed.scores.fast);
        expect(spoken.scores.balanced).toBe(typed.scores.balanced);
        expect(spoken.scores.quality).toBe(typed.scores.quality);
        if (typed.tier === 'fast') expect(spoken.tier).toBe('fast');
        if (typed.tier === 'balanced' && spoken.tier === 'fast') {
          balancedToFast += 1;
          expect(spoken.reason).toBe('voice question: fast');
        }
        if (typed.tier === 'quality' && spoken.tier === 'quality') expect(spoken.reason).toMatch(/, even by voice$/);
      }
    }
    expect(balancedToFast).toBeGreaterThanOrEqual(3);
    // A question with no pull to any route goes fast by voice, balanced when typed.
    expect(await router.route({ question: neutral(10) })).toMatchObject({ tier: 'balanced' });
    expect(await router.route({ question: neutral(10), voice: true })).toMatchObject({ tier: 'fast', reason: 'voice question: fast' });
    // A clear coding task stays quality.
    const coding = await router.route({ question: 'write a function in Python that parses a CSV file', voice: true });
    expect(coding.tier).toBe('quality');
    expect(coding.reason).toMatch(/^reads like a coding task .*, even by voice$/);
  });

  it('leans fast for very short questions and quality for long ones', async () => {
    const router = createTierRouter({ embed: fakeBagOfWordsEmbedder() });
    expect(await router.route({ question: neutral(2) })).toMatchObject({ tier: 'fast', reason: 'very short question: fast' });
    expect(await router.route({ question: neutral(10) })).toMatchObject({ tier: 'balanced', reason: 'no route stands out: balanced' });
    expect(await router.route({ question: neutral(70) })).toMatchObject({ tier: 'quality', reason: 'long question (70 words): quality' });
    // Longer is monotonic: quality's score never falls, fast's never rises.
    let previous: TierRouteDecision | undefined;
    for (const words of [8, 15, 20, 30, 45, 60, 90]) {
      const decision = await router.route({ question: neutral(words) });
      if (previous) {
        expect(decision.scores.quality).toBeGreaterThanOrEqual(previous.scores.quality);
        expect(decision.scores.fast).toBeLessThanOrEqual(previous.scores.fast);
      }
      previous = decision;
    }
    // Length also moves a question that the examples put elsewhere: a chit-chat opening with a long request after it.
    const long = await router.route({ question: `hello! ${neutral(80)}` });
    expect(long.tier).toBe('quality');
  });

  it('leans balanced and quality when documents were retrieved', async () => {
    const router = createTierRouter({ embed: fakeBagOfWordsEmbedder() });
    const weights = DEFAULT_TIER_ROUTER_WEIGHTS;
    for (const question of ["what's the capital of Italy?", neutral(10), 'write a persuasive essay on renewable energy']) {
      const without = await router.route({ question });
      const withDocuments = await router.route({ question, documents: 3 });
      expect(withDocuments.scores.fast - without.scores.fast).toBeCloseTo(-weights.documentsFast, 2);
      expect(withDocuments.scores.balanced - without.scores.balanced).toBeCloseTo(weights.documentsBalanced, 2);
      expect(withDocuments.scores.quality - without.scores.quality).toBeCloseTo(weights.documentsQuality, 2);
      expect(await router.route({ question, documents: true })).toEqual(withDocuments);
      expect(await router.route({ question, documents: 0 })).toEqual(without);
    }
    // A very short question leans fast, but not when it is asked of the documents.
    expect(await router.route({ question: neutral(3) })).toMatchObject({ tier: 'fast' });
    expect(await router.route({ question: neutral(3), documents: 2 })).toMatchObject({ tier: 'balanced', reason: 'answered from your documents: balanced' });
  });

  it('embeds the examples once, and only the question after that', async () => {
    const embed = fakeBagOfWordsEmbedder();
    const router = createTierRouter({ embed });
    const exampleCount = Object.values(DEFAULT_ROUTE_EXAMPLES).flatMap((groups) => Object.values(groups).flat()).length;
    await Promise.all([router.route({ question: 'hello' }), router.route({ question: 'what time is it?' }), router.warm()]);
    await router.route({ question: 'compare two databases' });
    expect(embed.calls.map((texts) => texts.length)).toEqual([exampleCount, 1, 1, 1]);
    expect(exampleCount).toBeGreaterThanOrEqual(36);
  });

  it('uses a question embedding it is given (retrieval’s) instead of embedding again', async () => {
    const embed = fakeBagOfWordsEmbedder();
    const router = createTierRouter({ embed });
    const question = 'write a function in Go that parses a JSON file';
    const [vector] = await embed([question]);
    embed.calls.length = 0;
    const shared = await router.route({ question, questionEmbedding: Float32Array.from(vector!) });
    expect(embed.calls).toHaveLength(1); // the examples only
    expect(shared).toEqual(await router.route({ question }));
    // One of other dimensions (another embedder's) is ignored, and the question embedded here.
    expect(await router.route({ question, questionEmbedding: [1, 0, 0] })).toEqual(shared);
  });

  it('is deterministic: the same question gives the same decision, from any router over the same embedder', async () => {
    const first = createTierRouter({ embed: fakeBagOfWordsEmbedder() });
    const second = createTierRouter({ embed: fakeBagOfWordsEmbedder() });
    for (const question of [...LABELLED.fast.slice(0, 3), ...LABELLED.quality.slice(0, 3)]) {
      const a = await first.route({ question, voice: true, documents: 1 });
      expect(await first.route({ question, voice: true, documents: 1 })).toEqual(a);
      expect(await second.route({ question, voice: true, documents: 1 })).toEqual(a);
    }
  });

  it('handles empty, wordless and huge questions without failing', async () => {
    const embed = fakeBagOfWordsEmbedder();
    const router = createTierRouter({ embed });
    expect(await router.route({ question: '' })).toEqual({
      tier: 'balanced',
      reason: 'empty question: balanced',
      scores: { fast: 0, balanced: 0, quality: 0 },
      similarity: { fast: 0, balanced: 0, quality: 0 },
    });
    expect(await router.route({ question: '   \n' })).toMatchObject({ tier: 'balanced', reason: 'empty question: balanced' });
    expect(await router.route({ question: '', voice: true })).toMatchObject({ tier: 'fast', reason: 'voice question: fast' });
    expect(await router.route({ question: '?!… 😀' })).toMatchObject({ tier: 'balanced', reason: 'no words to compare: balanced' });
    expect(embed.calls).toHaveLength(0); // nothing to embed yet
    expect(await router.route({ question: undefined as unknown as string })).toMatchObject({ tier: 'balanced' });

    const huge = `explain in detail ${'the history of every kingdom and its wars '.repeat(25_000)}`; // ~1 MB
    const decision = await router.route({ question: huge });
    expect(decision.tier).toBe('quality');
    const questionCall = embed.calls.at(-1)!;
    expect(questionCall).toHaveLength(1);
    expect(questionCall[0]!.length).toBe(2000);
    expect(wordCount(huge)).toBeGreaterThan(150_000);
    // One long unspaced "word" still counts as long.
    expect(wordCount('x'.repeat(1200))).toBe(100);
  });

  it('routes on length and flags alone when the embedder fails, and tries the examples again next time', async () => {
    let failing = true;
    const fake = fakeBagOfWordsEmbedder();
    const router = createTierRouter({
      embed: async (texts, signal) => {
        if (failing) throw new Error('embedder down');
        return fake(texts, signal);
      },
    });
    expect(await router.route({ question: 'hi' })).toMatchObject({ tier: 'fast', reason: 'very short question: fast' });
    const middling = await router.route({ question: 'what are the trade-offs between SQL and NoSQL databases?' });
    expect(middling).toMatchObject({ tier: 'balanced', reason: 'could not embed the question (embedder down): balanced' });
    expect(middling.nearest).toBeUndefined();
    failing = false;
    expect(await router.route({ question: 'what are the trade-offs between SQL and NoSQL databases?' })).toMatchObject({ tier: 'quality' });
  });

  it('rejects when the turn is aborted', async () => {
    const router = createTierRouter({ embed: () => new Promise(() => undefined) });
    const controller = new AbortController();
    const routing = router.route({ question: 'write an essay', signal: controller.signal });
    controller.abort(new Error('turn cancelled'));
    await expect(routing).rejects.toThrow('turn cancelled');
    await expect(router.route({ question: 'hello', signal: controller.signal })).rejects.toThrow('turn cancelled');
  });

  it('refuses a route without examples', () => {
    expect(() => createTierRouter({ embed: fakeBagOfWordsEmbedder(), examples: { ...DEFAULT_ROUTE_EXAMPLES, balanced: {} } })).toThrow(/at least one example/);
  });
});

/** The app's retrieval embedder (USE-lite in a worker thread): ~0.3 s to start, ~2 s for this whole block. */
describe('the tier router with the real USE-lite embedder', () => {
  let embedder: { embed: EmbedTexts; close(): Promise<void> } | undefined;
  let unavailable: string | undefined;

  beforeAll(async () => {
    const started = performance.now();
    try {
      const { UseLiteEmbedder } = await import('../../documents/useLiteEmbedder.node.js');
      const useLite = new UseLiteEmbedder();
      embedder = { embed: (texts, signal) => useLite.embed(texts, signal), close: () => useLite.close() };
      await embedder.embed(['warm up']);
    } catch (error) {
      unavailable = `USE-lite could not be loaded (${error instanceof Error ? error.message : String(error)})`;
    }
    const ms = performance.now() - started;
    if (!unavailable && ms > 30_000) unavailable = `USE-lite took ${Math.round(ms)} ms to load, too slow for a unit test`;
    if (unavailable) console.log(`Skipping the USE-lite router test: ${unavailable}.`);
  });
  afterAll(() => embedder?.close());

  it('routes the labelled questions (31 of 32: 97 %) and prefers fast by voice', async (context) => {
    if (unavailable || !embedder) return context.skip();
    const router = createTierRouter({ embed: embedder.embed });
    const started = performance.now();
    const { results, right, accuracy } = await routeAll((question) => router.route({ question }));
    const ms = Math.round(performance.now() - started);
    const wrong = results.filter((result) => result.got.tier !== result.want).map((r) => `${r.want} -> ${r.got.tier}: ${r.question}`);
    console.log(`USE-lite: ${right}/${results.length} right (${Math.round(accuracy * 100)} %) in ${ms} ms with the examples${wrong.length ? `; wrong: ${wrong.join(' | ')}` : ''}`);
    expect(accuracy).toBeGreaterThanOrEqual(0.85);

    const spoken = await Promise.all(LABELLED.balanced.map((question) => router.route({ question, voice: true })));
    expect(spoken.filter((decision) => decision.tier === 'fast').length).toBeGreaterThanOrEqual(LABELLED.balanced.length / 2);
    const coding = await router.route({ question: LABELLED.quality[0]!, voice: true });
    expect(coding).toMatchObject({ tier: 'quality', reason: expect.stringMatching(/^reads like a coding task \(0\.\d\d similar to ".*"\), even by voice$/) });
  });
});
