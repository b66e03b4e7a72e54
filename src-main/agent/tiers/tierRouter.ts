import { TIERS, type Tier } from './modelSpec.js';
import { abandonable } from '../abandonable.js';

/**
 * The `auto` tier: a router that picks `fast`, `balanced` or `quality` for each question, in the spirit of
 * semantic-router (https://github.com/aurelio-labs/semantic-router): the question's embedding is compared with example
 * phrases of each route, and the route whose nearest examples are most similar wins. Three more things count:
 *
 * - length: a very short question leans fast, a long one quality;
 * - retrieved documents: an answer from the user's documents leans balanced/quality (it reads passages);
 * - voice: a spoken question prefers fast (a strong prior), unless it clearly reads as a quality task.
 *
 * The similarities are put on one scale, whatever the embedder: once, when the examples are embedded, the router
 * measures how far an example stands out towards its own route (leave-one-out), and a question's similarities are
 * counted in that unit. So the weights below mean the same with USE-lite, an ONNX model or a test's fake embedder.
 *
 * Deterministic: the same question, flags and embedder give the same tier, reason and scores. Never throws for a bad
 * question or a failing embedder (it routes on length and the flags alone, and says so); only an abort rejects.
 */

/**
 * Embeds texts: one vector per text, in order. The app passes its retrieval embedder (the documents' `Embedder` fits),
 * so a question embedded for retrieval is a cache hit here.
 */
export type EmbedTexts = (texts: readonly string[], signal?: AbortSignal) => Promise<readonly ArrayLike<number>[]>;

/** A route's example phrases, grouped by what they are ("a coding task"): the group names the reason. */
export type RouteExamples = Record<Tier, Readonly<Record<string, readonly string[]>>>;

export const DEFAULT_ROUTE_EXAMPLES: RouteExamples = {
  fast: {
    'a greeting': ['hello', 'hi there', 'good morning', 'hey, how are you?', 'thanks a lot', 'goodbye, see you later'],
    'small talk': ["how's it going?", 'tell me a joke', "what's your name?", 'are you there?'],
    'a time or date question': ['what time is it?', "what's the date today?", 'how many days until Friday?'],
    'a weather question': ["what's the weather like tomorrow?", 'will it rain today?', 'how cold is it outside?'],
    'a timer or reminder': ['set a timer for ten minutes', 'remind me in an hour to call mum', 'set an alarm for 7 am'],
    'a short factual question': [
      'what is the capital of France?',
      'how tall is Mount Everest?',
      'who wrote Hamlet?',
      'how many ounces in a pound?',
      "what's 15 times 12?",
      'convert 5 miles to kilometres',
      "what does 'ubiquitous' mean?",
    ],
  },
  balanced: {
    'a how-to question': [
      'how do I make a good cup of coffee?',
      'how do I change a flat tyre?',
      'how do I clean a cast iron pan?',
      'how can I save money on groceries?',
    ],
    'a request for advice': [
      'give me some tips for sleeping better',
      'what are some good exercises for back pain?',
      "what's a good way to learn Spanish?",
      'what should I pack for a weekend trip?',
    ],
    'a request for suggestions': [
      'what should I cook for dinner tonight?',
      'suggest a few books like The Hobbit',
      'recommend a movie for tonight',
      'help me plan a birthday party',
    ],
    'an everyday explanation': ['why is the sky blue?', 'how does a vaccine work?', 'explain what inflation is', 'what causes hiccups?'],
    'a question about a document': [
      'summarize this document',
      'what are the main points of this article?',
      'what does this contract say about cancellation?',
      'what does my insurance policy cover?',
    ],
    'a short message to write': ['write a short thank-you message to my neighbour', 'reply to this email saying I can come on Tuesday'],
  },
  quality: {
    'a coding task': [
      'write a function in Python that parses a CSV file',
      'debug this JavaScript code',
      'refactor this TypeScript class to use dependency injection',
      'write a SQL query that joins orders and customers',
      'implement a binary search tree in Rust',
      'why does my program throw a null pointer exception?',
    ],
    'a writing task': [
      'write an essay about climate policy',
      'draft a cover letter for a software engineering job',
      'write a short story about a lighthouse keeper',
      'rewrite this paragraph in a more formal tone',
    ],
    'a reasoning problem': [
      'solve this logic puzzle step by step',
      'prove that the square root of two is irrational',
      'analyze the pros and cons of remote work',
      'two trains leave at different times and speeds; when do they meet?',
    ],
    'a comparison': [
      'compare PostgreSQL and MongoDB for a large analytics workload',
      'compare the economic policies of Keynes and Hayek',
      'what are the trade-offs between microservices and a monolith?',
    ],
    'a multi-step plan': [
      'plan a two-week itinerary for Japan with a budget breakdown',
      'create a step-by-step study plan for learning machine learning',
      'design a database schema for an online shop',
    ],
    'a request for a long explanation': [
      'explain in detail how transformers work in machine learning',
      'give me a thorough explanation of how the immune system fights infections',
      'explain quantum entanglement in depth',
    ],
  },
};

/** The weights, in units of how far a typical example stands out towards its own route (see the file comment). */
export interface TierRouterWeights {
  /** Added to fast for a voice question that is not clearly quality. */
  voiceFast: number;
  /** Quality's lead over the other routes (all but voice counted) from which a voice question is "clearly quality". */
  clearlyQuality: number;
  /** Added to fast for a question of at most 3 words (half of it up to 6 words). */
  shortFast: number;
  /** At `longWords` and beyond: added to quality, taken from fast (0.75 of it); rises linearly from `longWords / 3`. */
  longQuality: number;
  longWords: number;
  /** With retrieved documents: added to balanced and quality, taken from fast. */
  documentsBalanced: number;
  documentsQuality: number;
  documentsFast: number;
}

export const DEFAULT_TIER_ROUTER_WEIGHTS: TierRouterWeights = {
  voiceFast: 3,
  clearlyQuality: 1.0,
  shortFast: 0.5,
  longQuality: 1.0,
  longWords: 60,
  documentsBalanced: 0.5,
  documentsQuality: 0.4,
  documentsFast: 0.6,
};

export interface TierRouterOptions {
  embed: EmbedTexts;
  examples?: RouteExamples;
  /** How many nearest examples of a route are averaged (default 3; semantic-router's max/mean of the top k). */
  topK?: number;
  /** Characters of a question that are embedded (default 2000); all of it counts for its length. */
  maxEmbedChars?: number;
  weights?: Partial<TierRouterWeights>;
}

export interface TierRouteInput {
  question: string;
  /** A spoken question. */
  voice?: boolean;
  /** Passages retrieved from the user's documents for this question (a count, or whether there were any). */
  documents?: number | boolean;
  /** The question's embedding when it is already known (retrieval's); used when it has the examples' dimensions. */
  questionEmbedding?: ArrayLike<number>;
  signal?: AbortSignal;
}

export interface TierRouteDecision {
  tier: Tier;
  /** A short sentence for the UI and the log: `voice question: fast`, `reads like a coding task (0.71 similar to "…")`. */
  reason: string;
  /** Each route's total (semantic + length + documents + voice): the tier is the highest. */
  scores: Record<Tier, number>;
  /** Each route's raw similarity: the mean cosine of its `topK` nearest examples (0 without an embedding). */
  similarity: Record<Tier, number>;
  /** Each route's nearest example and its cosine; absent without an embedding. */
  nearest?: Record<Tier, { example: string; kind: string; similarity: number }>;
}

export interface TierRouter {
  route(input: TierRouteInput): Promise<TierRouteDecision>;
  /** Embeds the examples now (once; `route` does it otherwise on the first question). */
  warm(signal?: AbortSignal): Promise<void>;
}

interface Example {
  tier: Tier;
  kind: string;
  text: string;
  vector: Float64Array;
}

interface RouteBank {
  examples: Example[];
  dimensions: number;
  /** The unit: the mean of how far an example stands out towards its own route, leave-one-out. */
  scale: number;
}

/** Ties go to the middle, then to the better model. */
const TIE_ORDER: readonly Tier[] = ['balanced', 'quality', 'fast'];
const MIN_SCALE = 1e-3;
/**
 * The most a route's similarity counts for, either way (a soft cap, tanh): a question that matches one route's
 * examples word for word is no surer than a clear paraphrase, and the other factors keep their weight.
 */
const SEMANTIC_CAP = 2;
/** How far ahead (same unit) the chosen route's similarity must be for the reason to name its nearest example. */
const STANDS_OUT = 0.1;

const zeros = (): Record<Tier, number> => ({ fast: 0, balanced: 0, quality: 0 });

function unit(vector: ArrayLike<number>): Float64Array {
  const out = Float64Array.from(vector as ArrayLike<number>, (value) => (Number.isFinite(value) ? value : 0));
  let norm = 0;
  for (const value of out) norm += value * value;
  norm = Math.sqrt(norm);
  if (norm > 0) for (let i = 0; i < out.length; i += 1) out[i]! /= norm;
  return out;
}

function dot(a: Float64Array, b: Float64Array): number {
  let sum = 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i += 1) sum += a[i]! * b[i]!;
  return sum;
}

/** The words of a text (runs of letters or digits, apostrophes inside), with long unspaced text counted by characters. */
export function wordCount(text: string): number {
  const words = text.match(/[\p{L}\p{N}]+(?:['’][\p{L}\p{N}]+)*/gu)?.length ?? 0;
  return Math.max(words, Math.floor(text.length / 12));
}

function argmax(scores: Record<Tier, number>): Tier {
  let best = TIE_ORDER[0]!;
  for (const tier of TIE_ORDER) if (scores[tier] > scores[best] + 1e-12) best = tier;
  return best;
}

function shortened(text: string, max = 40): string {
  return text.length <= max ? text : `${text.slice(0, max - 1).trimEnd()}…`;
}


/** Per route: the mean of the top-k similarities and the nearest example, skipping one example (leave-one-out). */
function routeSimilarities(bank: RouteBank, question: Float64Array, topK: number, skip?: Example) {
  const similarity = zeros();
  const nearest = {} as Record<Tier, { example: Example; similarity: number }>;
  for (const tier of TIERS) {
    const sims: { example: Example; similarity: number }[] = [];
    for (const example of bank.examples) {
      if (example.tier === tier && example !== skip) sims.push({ example, similarity: dot(question, example.vector) });
    }
    // Stable: equal similarities keep the examples' order.
    sims.sort((a, b) => b.similarity - a.similarity);
    const top = sims.slice(0, topK);
    similarity[tier] = top.length === 0 ? 0 : top.reduce((sum, item) => sum + item.similarity, 0) / top.length;
    if (top[0]) nearest[tier] = top[0];
  }
  return { similarity, nearest };
}

/** Each route's similarity minus the mean of the three. */
function aboveMean(similarity: Record<Tier, number>): Record<Tier, number> {
  const mean = (similarity.fast + similarity.balanced + similarity.quality) / 3;
  const out = zeros();
  for (const tier of TIERS) out[tier] = similarity[tier] - mean;
  return out;
}

/** Each route's similarity minus the mean of the three, in the bank's unit, softly capped. */
function relative(similarity: Record<Tier, number>, scale: number): Record<Tier, number> {
  const out = aboveMean(similarity);
  for (const tier of TIERS) out[tier] = SEMANTIC_CAP * Math.tanh(out[tier] / scale / SEMANTIC_CAP);
  return out;
}

export function createTierRouter(options: TierRouterOptions): TierRouter {
  const examples = options.examples ?? DEFAULT_ROUTE_EXAMPLES;
  const topK = Math.max(1, Math.floor(options.topK ?? 3));
  const maxEmbedChars = Math.max(1, Math.floor(options.maxEmbedChars ?? 2000));
  const weights: TierRouterWeights = { ...DEFAULT_TIER_ROUTER_WEIGHTS, ...options.weights };
  const flat: Omit<Example, 'vector'>[] = [];
  for (const tier of TIERS) {
    for (const [kind, texts] of Object.entries(examples[tier])) for (const text of texts) flat.push({ tier, kind, text });
  }
  if (TIERS.some((tier) => !flat.some((example) => example.tier === tier))) throw new Error('Every route needs at least one example phrase.');

  let bank: Promise<RouteBank> | undefined;

  async function buildBank(): Promise<RouteBank> {
    const vectors = await options.embed(flat.map((example) => example.text));
    if (vectors.length !== flat.length) throw new Error(`The embedder gave ${vectors.length} vectors for ${flat.length} texts.`);
    const built: Example[] = flat.map((example, index) => ({ ...example, vector: unit(vectors[index]!) }));
    const dimensions = built[0]!.vector.length;
    if (built.some((example) => example.vector.length !== dimensions)) throw new Error('The embedder gave vectors of different lengths.');
    const partial: RouteBank = { examples: built, dimensions, scale: 1 };
    let total = 0;
    for (const example of built) total += aboveMean(routeSimilarities(partial, example.vector, topK, example).similarity)[example.tier];
    partial.scale = Math.max(MIN_SCALE, total / built.length);
    return partial;
  }

  /** The examples' bank, built once; a failed build is forgotten so the next question tries again. */
  function routeBank(): Promise<RouteBank> {
    if (!bank) {
      const building = buildBank();
      bank = building;
      building.catch(() => {
        if (bank === building) bank = undefined;
      });
    }
    return bank;
  }

  async function questionVector(input: TierRouteInput, text: string, built: RouteBank): Promise<Float64Array | undefined> {
    if (input.questionEmbedding && input.questionEmbedding.length === built.dimensions) return unit(input.questionEmbedding);
    const [vector] = await abandonable(options.embed([text.slice(0, maxEmbedChars)], input.signal), input.signal);
    return vector && vector.length === built.dimensions ? unit(vector) : undefined;
  }

  return {
    async warm(signal) {
      await abandonable(routeBank(), signal);
    },

    async route(input) {
      input.signal?.throwIfAborted();
      const text = typeof input.question === 'string' ? input.question.trim() : '';
      const words = text === '' ? 0 : wordCount(text);
      const documents = typeof input.documents === 'number' ? input.documents > 0 : input.documents === true;
      const voice = input.voice === true;

      let semantic = zeros();
      let similarity = zeros();
      let nearest: TierRouteDecision['nearest'];
      let unavailable: string | undefined;
      if (!/[\p{L}\p{N}]/u.test(text)) {
        unavailable = text === '' ? 'empty question' : 'no words to compare';
      } else {
        try {
          const built = await abandonable(routeBank(), input.signal);
          const vector = await questionVector(input, text, built);
          if (vector && vector.some((value) => value !== 0)) {
            const found = routeSimilarities(built, vector, topK);
            similarity = found.similarity;
            semantic = relative(similarity, built.scale);
            nearest = {} as NonNullable<TierRouteDecision['nearest']>;
            for (const tier of TIERS) {
              const near = found.nearest[tier];
              nearest[tier] = { example: near.example.text, kind: near.example.kind, similarity: Math.round(near.similarity * 1000) / 1000 };
            }
          } else {
            unavailable = 'no embedding for the question';
          }
        } catch (error) {
          if (input.signal?.aborted) throw input.signal.reason;
          unavailable = `could not embed the question (${error instanceof Error ? error.message : String(error)})`;
        }
      }

      // The factors other than similarity, each a bias per route.
      const shortness = words === 0 ? 0 : words <= 3 ? 1 : words <= 6 ? 0.5 : 0;
      const longness = Math.min(1, Math.max(0, (words - weights.longWords / 3) / (weights.longWords - weights.longWords / 3)));
      const factors = {
        voice: zeros(),
        documents: documents
          ? { fast: -weights.documentsFast, balanced: weights.documentsBalanced, quality: weights.documentsQuality }
          : zeros(),
        length: { fast: weights.shortFast * shortness - 0.75 * weights.longQuality * longness, balanced: 0, quality: weights.longQuality * longness },
      };
      const totalWithout = (leftOut?: keyof typeof factors): Record<Tier, number> => {
        const total = { ...semantic };
        for (const [name, bias] of Object.entries(factors)) {
          if (name !== leftOut) for (const tier of TIERS) total[tier] += bias[tier];
        }
        return total;
      };
      // A spoken question prefers fast, unless everything else makes it clearly a quality one.
      const withoutVoice = totalWithout('voice');
      const clearlyQuality = withoutVoice.quality - Math.max(withoutVoice.fast, withoutVoice.balanced) >= weights.clearlyQuality;
      if (voice && !clearlyQuality) factors.voice.fast = weights.voiceFast;
      const scores = totalWithout();
      const tier = argmax(scores);

      const lengthNote = longness > 0 ? `long question (${words} words)` : 'very short question';
      const flippedBy = (['voice', 'documents', 'length'] as const).find((name) => argmax(totalWithout(name)) !== tier);
      const near = nearest?.[tier];
      const resemblance = near && `reads like ${near.kind} (${near.similarity.toFixed(2)} similar to "${shortened(near.example)}")`;
      let reason: string;
      if (flippedBy === 'voice') reason = `voice question: ${tier}`;
      else if (flippedBy === 'documents') reason = `answered from your documents: ${tier}`;
      else if (flippedBy === 'length') reason = `${lengthNote}: ${tier}`;
      else if (resemblance && semantic[tier] - Math.max(...TIERS.filter((other) => other !== tier).map((other) => semantic[other])) >= STANDS_OUT) reason = voice && tier === 'quality' ? `${resemblance}, even by voice` : resemblance;
      else if (unavailable) reason = `${unavailable}: ${tier}`;
      else {
        const leaning = [
          factors.length[tier] > 0 && lengthNote,
          factors.documents[tier] > 0 && 'documents retrieved',
          factors.voice[tier] > 0 && 'voice question',
        ].filter((part): part is string => typeof part === 'string');
        reason = leaning.length > 0 ? `${leaning.join(', ')}: ${tier}` : `no route stands out: ${tier}`;
      }

      const round = (record: Record<Tier, number>) => {
        const out = zeros();
        for (const name of TIERS) out[name] = Math.round(record[name] * 1000) / 1000;
        return out;
      };
      return { tier, reason, scores: round(scores), similarity: round(similarity), ...(nearest && { nearest }) };
    },
  };
}
