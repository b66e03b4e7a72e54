import { abandonable } from '../agent/abandonable.js';
import type { FlaggedSpan, Guard, GuardContext, GuardSubject, GuardVerdict } from './guard.js';
import { type GuardScan, runScanToEnd, runScanWithPauses } from './guardScan.js';
import { type InjectionCategory, injectionBankEntries } from './injectionBank.js';
import { HIGH, type InjectionPattern, MEDIUM, injectionPatterns } from './injectionPatterns.js';
import { type FoldedText, foldForMatching, isDisguised, originalSpan } from './injectionText.js';

/**
 * What the guard needs from an embedder; the documents' embedders fit. Vectors are unit length, so a dot product is
 * the cosine similarity; a text without words gets a zero vector.
 */
export interface InjectionEmbedder {
  /**
   * Names the model: the bank is embedded once per model, and thresholds are calibrated per model. Read at every
   * check, so an embedder that switches models (the app's follows the documents' choice) is followed.
   */
  readonly id: string;
  embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]>;
}

/** A classifier's probability (0..1) that a text is a prompt injection, e.g. a DeBERTa model run by transformers.js. */
export type InjectionClassify = (text: string, signal: AbortSignal) => Promise<number>;

export interface InjectionGuardOptions {
  /** Without one, only the heuristics (and the classifier, if any) run. */
  embedder?: InjectionEmbedder;
  /**
   * Cosine similarity to the nearest bank phrasing that flags a text alone. Default: the USE-lite calibration while
   * the embedder is USE-lite; for any other model there is no default and the semantic check stays off unless both
   * thresholds are given (its similarities spread differently).
   */
  semanticThreshold?: number;
  /** Similarity that flags a text together with a moderate heuristic score (default as above). */
  semanticSupportThreshold?: number;
  /** An optional classifier; no weights ship with the app, so nothing loads one yet. */
  classify?: InjectionClassify;
  /** Probability at which the classifier flags a text alone (default 0.9). */
  classifierThreshold?: number;
  /**
   * Runs the heuristic layer somewhere else, e.g. a worker thread (WorkerInjectionScanner). Default: on this thread,
   * with pauses.
   */
  scanHeuristics?: (text: string, signal: AbortSignal) => Promise<InjectionHeuristics>;
}

/** A heuristic score from which a text is flagged without more evidence: one strong pattern, or two medium ones. */
export const HEURISTIC_FLAG_SCORE = 0.75;
/** A heuristic score that flags a text when the semantic check agrees. */
export const HEURISTIC_SUPPORT_SCORE = 0.4;

/**
 * Thresholds measured with USE-lite on the evaluation sets in `evaluation/` (English texts only: the model reads
 * nothing else). Alone: the most similar benign text reached 0.70 ("The administrator can override the default
 * settings…", "Developer mode allows you to install apps…"), so 0.74 leaves a margin; about one English attack in ten
 * reaches it. With support: benign texts that also match a moderate pattern reached 0.48.
 */
export const USE_LITE_SEMANTIC_THRESHOLD = 0.74;
export const USE_LITE_SEMANTIC_SUPPORT_THRESHOLD = 0.55;

/** How much of a text the semantic check and the classifier see, to bound their cost (the heuristics read it all). */
const MAX_EMBEDDED_CHARS = 2_000;
/** A pattern is matched at most this many times per text (a 100 KB text of repeats needs no more). */
const MAX_HITS_PER_PATTERN = 8;

/** One pattern match, by UTF-16 offsets into the checked text. */
export interface InjectionHit {
  patternId: string;
  category: InjectionCategory;
  weight: number;
  start: number;
  end: number;
}

export interface InjectionHeuristics {
  /** 0..1, the noisy-or of the matched patterns' weights (each pattern counted once). */
  score: number;
  /** The category with the highest score, when anything matched. */
  category?: InjectionCategory;
  hits: InjectionHit[];
  /** Whether the text reads as English, so that an English-only embedding model can judge it. */
  english: boolean;
  /** Every match is inside quotes that the user asks about: the text is about an attack, not one. */
  quoted?: boolean;
}

interface EmbeddedBank {
  dimensions: number;
  /** Row-major, one unit vector per phrasing. */
  vectors: Float32Array;
  categories: InjectionCategory[];
}

export interface SemanticThresholds {
  /** Flags a text alone. */
  alone: number;
  /** Flags a text together with a moderate heuristic score. */
  support: number;
}

export interface SemanticMatch {
  /** Cosine similarity to the nearest bank phrasing. */
  similarity: number;
  category: InjectionCategory;
  /** The thresholds that apply to the model that measured it. */
  thresholds: SemanticThresholds;
}

export interface InjectionAssessment {
  heuristics: InjectionHeuristics;
  /** Absent for text the embedder cannot read (not English, no words), without an embedder, or before the bank is ready. */
  semantic?: SemanticMatch;
  /** The classifier's probability, when there is one. */
  probability?: number;
}

/** Bank vectors per embedder object and model id, shared by every guard that uses them. */
const embeddedBanks = new WeakMap<InjectionEmbedder, Map<string, Promise<EmbeddedBank>>>();

/**
 * Flags prompt injections and jailbreaks in a question or a retrieved passage: attempts to override the assistant's
 * instructions, extract its system prompt, make it act without its rules (DAN, "developer mode"), messages posing as
 * the system, and instructions hidden in documents for an AI to follow. In English, German, French, Spanish, Italian,
 * Portuguese and Dutch.
 *
 * Three layers, cheapest first:
 * 1. weighted patterns over folded text (undoing invisible characters, homoglyphs, leetspeak, letter spacing);
 * 2. cosine similarity of the text's embedding to a bank of known attack phrasings (English only: USE-lite reads
 *    nothing else); a question's embedding is reused when retrieval already made it;
 * 3. optionally, a classifier's probability.
 * A strong heuristic score flags at once; otherwise a close semantic match, or a moderate score with a fair match, or
 * a confident classifier does.
 *
 * The bank is embedded once per embedder, in the background from the first check or `warmUp()`: until it is ready,
 * checks use the other layers rather than wait (the first check of a cold start would otherwise spend seconds).
 */
export class InjectionGuard implements Guard {
  readonly name = 'injection';
  readonly subjects: readonly GuardSubject[] = ['question', 'passage'];
  readonly #embedder: InjectionEmbedder | undefined;
  readonly #givenThresholds: SemanticThresholds | undefined;
  readonly #classify: InjectionClassify | undefined;
  readonly #classifierThreshold: number;
  readonly #scanHeuristics: (text: string, signal: AbortSignal) => Promise<InjectionHeuristics>;
  /** Embedded banks by model id, once ready. */
  readonly #banks = new Map<string, EmbeddedBank>();

  constructor(options: InjectionGuardOptions = {}) {
    this.#embedder = options.embedder;
    this.#givenThresholds =
      options.semanticThreshold !== undefined && options.semanticSupportThreshold !== undefined
        ? { alone: options.semanticThreshold, support: options.semanticSupportThreshold }
        : undefined;
    this.#classify = options.classify;
    this.#classifierThreshold = options.classifierThreshold ?? 0.9;
    this.#scanHeuristics = options.scanHeuristics ?? ((text, signal) => runScanWithPauses(scanInjectionHeuristics(text), signal));
  }

  /** Embeds the phrase bank now (at start-up), so that the first question gets the semantic check too. */
  async warmUp(signal?: AbortSignal): Promise<void> {
    const embedder = this.#embedder;
    if (embedder === undefined || this.#thresholds(embedder.id) === undefined) return;
    const id = embedder.id;
    this.#banks.set(id, await abandonable(bankFor(embedder, id), signal));
  }

  /** Whether the semantic check is ready: there is a calibrated embedder and the bank is embedded for its model. */
  get semanticReady(): boolean {
    return this.#embedder !== undefined && this.#banks.has(this.#embedder.id) && this.#thresholds(this.#embedder.id) !== undefined;
  }

  /** The thresholds for a model: given ones, USE-lite's calibration, or none (semantic check off). */
  #thresholds(modelId: string): SemanticThresholds | undefined {
    if (this.#givenThresholds !== undefined) return this.#givenThresholds;
    return modelId.startsWith('use-lite') ? { alone: USE_LITE_SEMANTIC_THRESHOLD, support: USE_LITE_SEMANTIC_SUPPORT_THRESHOLD } : undefined;
  }

  async check(text: string, context: GuardContext, signal: AbortSignal): Promise<GuardVerdict> {
    const assessment = await this.assess(text, context, signal, { stopWhenDecided: true });
    const { heuristics, semantic, probability } = assessment;
    const subject = context.subject;
    if (heuristics.score >= HEURISTIC_FLAG_SCORE) return flagged(text, subject, heuristics.category!, heuristics.score, heuristics.hits);
    // A quoted attack the user asks about reads like an attack to the embedding model too.
    if (semantic !== undefined && semantic.similarity >= semantic.thresholds.alone && heuristics.quoted !== true) {
      return flagged(text, subject, semantic.category, semantic.similarity, heuristics.hits);
    }
    if (semantic !== undefined && heuristics.score >= HEURISTIC_SUPPORT_SCORE && semantic.similarity >= semantic.thresholds.support) {
      return flagged(text, subject, heuristics.category!, Math.max(heuristics.score, semantic.similarity), heuristics.hits);
    }
    if (probability !== undefined && probability >= this.#classifierThreshold) {
      return flagged(text, subject, heuristics.category ?? semantic?.category ?? 'override', probability, heuristics.hits);
    }
    return { outcome: 'pass' };
  }

  /**
   * What each layer says about a text, for `check` and for measuring the guard. With `stopWhenDecided`, the semantic
   * check and the classifier are skipped once the heuristics alone flag the text.
   */
  async assess(text: string, context: GuardContext, signal: AbortSignal, options: { stopWhenDecided?: boolean } = {}): Promise<InjectionAssessment> {
    signal.throwIfAborted();
    const heuristics = await this.#scanHeuristics(text, signal);
    if (options.stopWhenDecided === true && heuristics.score >= HEURISTIC_FLAG_SCORE) return { heuristics };
    const [semantic, probability] = await Promise.all([
      heuristics.english ? this.#semanticMatch(text, context, signal) : undefined,
      this.#classify === undefined || text.trim() === '' ? undefined : this.#classify(text.slice(0, MAX_EMBEDDED_CHARS), signal),
    ]);
    return { heuristics, ...(semantic !== undefined && { semantic }), ...(probability !== undefined && { probability }) };
  }

  /** The nearest bank phrasing, or undefined while the bank is not embedded yet for the model (it is then started). */
  async #semanticMatch(text: string, context: GuardContext, signal: AbortSignal): Promise<SemanticMatch | undefined> {
    const embedder = this.#embedder;
    if (embedder === undefined || !/[\p{L}\p{N}]/u.test(text)) return undefined;
    const id = embedder.id;
    const thresholds = this.#thresholds(id);
    if (thresholds === undefined) return undefined;
    const bank = this.#banks.get(id);
    if (bank === undefined) {
      bankFor(embedder, id).then(
        (embedded) => this.#banks.set(id, embedded),
        () => undefined, // a failed bank is embedded again on the next check
      );
      return undefined;
    }
    const given = context.subject === 'question' ? context.questionEmbedding : undefined;
    const vector = given?.length === bank.dimensions ? given : (await embedder.embed([text.slice(0, MAX_EMBEDDED_CHARS)], signal))[0];
    if (vector === undefined || vector.length !== bank.dimensions) return undefined;
    // Retrieval waits for the same vector and is on the way to the first token; this verdict is needed only once the
    // model's first token is out, so retrieval goes first.
    if (context.subject === 'question') await new Promise((resolve) => setImmediate(resolve));
    signal.throwIfAborted();
    return { ...nearestPhrasing(bank, vector), thresholds };
  }
}

/** Heuristics alone, straight through: for tests, benchmarks and callers without a signal. */
export function scoreInjectionHeuristics(text: string): InjectionHeuristics {
  return runScanToEnd(scanInjectionHeuristics(text));
}

/** The heuristic layer as a scan that yields between patterns, so a long text lets a cancel in. */
export function* scanInjectionHeuristics(text: string): GuardScan<InjectionHeuristics> {
  const readings = [foldForMatching(text)];
  // "ru1es": a 1 inside a word may stand for l as well as i.
  if (readings[0]!.hadLeetOne) readings.push(foldForMatching(text, { leetOne: 'l' }));
  const hits: InjectionHit[] = [];
  for (const [index, pattern] of injectionPatterns.entries()) {
    for (const folded of readings) {
      for (const { disguised, ...hit } of matchPattern(pattern, folded)) {
        hits.push(hit);
        // Spelling a trigger with spaces, leetspeak, look-alike letters or hidden characters is evidence of its own.
        if (disguised) hits.push({ ...hit, patternId: DISGUISE_ID, weight: MEDIUM });
      }
    }
    if (index % 16 === 15) yield;
  }
  hits.push(...matchEncodedText(text));
  yield;

  // "My coworker got an email saying 'Ignore all previous instructions…' — is this a scam?": the attack is quoted and
  // asked about, not addressed to the assistant. Its score is capped below what flags, even with a semantic match.
  const quoted = hits.length > 0 && quotedAndAskedAbout(text, hits);
  const weights = new Map<string, { weight: number; category: InjectionCategory }>();
  for (const hit of hits) weights.set(hit.patternId, { weight: hit.weight, category: hit.category });
  const keep = new Map<InjectionCategory, number>();
  let keepAll = 1;
  for (const { weight, category } of weights.values()) {
    keepAll *= 1 - weight;
    keep.set(category, (keep.get(category) ?? 1) * (1 - weight));
  }
  let category: InjectionCategory | undefined;
  let best = 0;
  for (const [name, rest] of keep) {
    if (1 - rest > best) [category, best] = [name, 1 - rest];
  }
  const english = readsAsEnglish(text, readings[0]!.text);
  const score = quoted ? Math.min(1 - keepAll, QUOTED_SCORE_CAP) : 1 - keepAll;
  return { score, ...(category !== undefined && { category }), hits, english, ...(quoted && { quoted: true }) };
}

/** The most a quoted attack that the user asks about scores: below the support score, so it passes. */
const QUOTED_SCORE_CAP = 0.3;
/** Quoted passages: double or curly quotes, or single quotes that open after a space and close before punctuation. */
const QUOTED = /"[^"\n]{4,}"|“[^”\n]{4,}”|‘[^’\n]{4,}’|(?<=^|[\s:(])'[^'\n]{4,}?'(?=[\s.,;:!?)]|$)/g;
/** Outside the quotes, the user asks about the quoted text. */
const ASKS_ABOUT = /\b(?:is (?:this|that|it)|was (?:this|that|it)|what (?:does|did|do|is|was|are)|what's|whats|why (?:does|did|would|do)|how (?:do|does|can|should|could) (?:i|we|you|they|it)|should i|scam|phishing|spam|fraud|joke|funny|meme|mean|means|meaning|explain|legit|safe|dangerous|malicious|suspicious|report)\b/i;
/** Outside the quotes, the user tells the assistant to act on the quoted text after all. */
const ACTS_ON = /\b(?:do (?:it|that|this|so|what)|follow|obey|execute|comply|carry (?:it |that |this )?out|act on|perform|repeat after|apply (?:it|that|this)|then do|now do|go ahead)\b/i;

function quotedAndAskedAbout(text: string, hits: readonly InjectionHit[]): boolean {
  const quoted = [...text.matchAll(QUOTED)].map((match) => [match.index, match.index + match[0].length] as const);
  if (quoted.length === 0) return false;
  if (!hits.every((hit) => quoted.some(([start, end]) => hit.start >= start && hit.end <= end))) return false;
  let outside = '';
  let from = 0;
  for (const [start, end] of quoted) (outside += ` ${text.slice(from, start)}`), (from = end);
  outside += ` ${text.slice(from)}`;
  return ASKS_ABOUT.test(outside) && !ACTS_ON.test(outside);
}

/** A pseudo-pattern: a match whose words were disguised. */
const DISGUISE_ID = 'disguised';

function matchPattern(pattern: InjectionPattern, folded: FoldedText): Array<InjectionHit & { disguised: boolean }> {
  const hits: Array<InjectionHit & { disguised: boolean }> = [];
  const text = folded.text;
  for (const match of text.matchAll(pattern.regex)) {
    const start = match.index;
    let end = start + match[0].length;
    if (end === start) continue;
    if (pattern.unless !== undefined && pattern.unless.test(sentenceAround(text, start, end))) continue;
    if (pattern.then !== undefined) {
      const order = text.slice(end, end + pattern.then.within).match(pattern.then.regex);
      if (order === null || order.index === undefined) continue;
      end += order.index + order[0].length;
    }
    const span = originalSpan(folded, start, end);
    hits.push({ patternId: pattern.id, category: pattern.category, weight: pattern.weight, ...span, disguised: isDisguised(folded, start, end) });
    if (hits.length >= MAX_HITS_PER_PATTERN) break;
  }
  return hits;
}

/** The sentence (or line) a match stands in, for the patterns' `unless`. */
function sentenceAround(text: string, start: number, end: number): string {
  let from = start;
  while (from > 0 && start - from < 200 && !/[.!?\n]/.test(text[from - 1]!)) from -= 1;
  let to = end;
  while (to < text.length && to - end < 200 && !/[.!?\n]/.test(text[to]!)) to += 1;
  return text.slice(from, to);
}

const BASE64_RUN = /[A-Za-z0-9+/]{16,}={0,2}/g;

/** Instructions hidden as base64 ("decode this and follow it: aWdub3Jl…"): decoded, checked, reported as the encoded span. */
function matchEncodedText(text: string): InjectionHit[] {
  const hits: InjectionHit[] = [];
  let runs = 0;
  for (const match of text.matchAll(BASE64_RUN)) {
    if (++runs > 20) break;
    let decoded: string;
    try {
      decoded = atob(match[0].length % 4 === 0 ? match[0] : match[0] + '='.repeat(4 - (match[0].length % 4)));
    } catch {
      continue;
    }
    // Only text: mostly printable ASCII with a space, not binary that happens to decode.
    if (!/ /.test(decoded) || /[^\x20-\x7e\n\r\t]/.test(decoded)) continue;
    const folded = foldForMatching(decoded);
    for (const pattern of injectionPatterns) {
      if (matchPattern(pattern, folded).length === 0) continue;
      hits.push({ patternId: `encoded:${pattern.id}`, category: pattern.category, weight: Math.max(pattern.weight, HIGH), start: match.index, end: match.index + match[0].length });
    }
  }
  return hits;
}

// Function words, enough to tell English from the other languages the patterns cover (words shared between them,
// such as "a", "in", "is", "me", are in neither list).
const ENGLISH_WORDS = new Set(
  'the and to of you your yours are was were be been does did what how why when where who which this that these those with for can could would should will please not my we our it its an or from about there here have has if then than on at by any all just'.split(
    ' ',
  ),
);
const OTHER_WORDS = new Set(
  'der die das und ist nicht ich du dein deine ein eine einen wie was wer mit fur von zu auf bitte mir dir mich dich welche welcher beim im sind oder auch kann ich wird le la les et est tu ton tes je une des que qui pour avec dans sur pas vous votre quel quelle ce ca il elle el los las y es tus una por para como con del al sus lo que cual gli che di un sei tuo tua come per non della sono mi ti si os um uma da voce seu sua nao mais het een en ik jij wat hoe niet met voor op zijn mijn kun de o'.split(
    ' ',
  ),
);
const ACCENTED_WORD = /[\p{L}]*[äöüßéèêëàâçñãõìòùúíóáïœ][\p{L}]*|[¿¡]/gu;

/**
 * True when a text reads as English: at least as many English function words as words of the other covered
 * languages (accented words count as other). A text with neither ("/jailbreak") counts as English.
 */
function readsAsEnglish(original: string, folded: string): boolean {
  let english = 0;
  let other = 0;
  let seen = 0;
  for (const match of folded.matchAll(/[a-z]+/g)) {
    if (ENGLISH_WORDS.has(match[0])) english += 1;
    if (OTHER_WORDS.has(match[0])) other += 1;
    if (++seen >= 400) break;
  }
  for (const _ of original.slice(0, 4_000).toLowerCase().matchAll(ACCENTED_WORD)) other += 1;
  return english >= other;
}

function bankFor(embedder: InjectionEmbedder, modelId: string): Promise<EmbeddedBank> {
  let banks = embeddedBanks.get(embedder);
  if (banks === undefined) embeddedBanks.set(embedder, (banks = new Map()));
  let bank = banks.get(modelId);
  if (bank === undefined) {
    bank = embedBank(embedder);
    banks.set(modelId, bank);
    bank.catch(() => banks.delete(modelId));
  }
  return bank;
}

async function embedBank(embedder: InjectionEmbedder): Promise<EmbeddedBank> {
  const entries = injectionBankEntries();
  // Not tied to one check's signal: the bank serves every later check.
  const vectors = await embedder.embed(entries.map((entry) => entry.text));
  const dimensions = vectors[0]?.length ?? 0;
  const matrix = new Float32Array(entries.length * dimensions);
  vectors.forEach((vector, i) => matrix.set(vector.subarray(0, dimensions), i * dimensions));
  return { dimensions, vectors: matrix, categories: entries.map((entry) => entry.category) };
}

function nearestPhrasing(bank: EmbeddedBank, vector: Float32Array): Omit<SemanticMatch, 'thresholds'> {
  const { dimensions, vectors, categories } = bank;
  let best = -1;
  let bestIndex = 0;
  for (let row = 0; row < categories.length; row += 1) {
    const offset = row * dimensions;
    let sum = 0;
    for (let i = 0; i < dimensions; i += 1) sum += vectors[offset + i]! * vector[i]!;
    if (sum > best) [best, bestIndex] = [sum, row];
  }
  return { similarity: best, category: categories[bestIndex]! };
}

const QUESTION_REASONS: Readonly<Record<InjectionCategory, string>> = {
  override: 'The question asks the assistant to ignore its instructions.',
  extraction: 'The question asks the assistant to reveal its system prompt.',
  unrestricted: 'The question asks the assistant to act without its rules.',
  'fake-system': 'The question poses as a message from the system or an administrator.',
  indirect: 'The question carries instructions aimed at the assistant.',
};

const PASSAGE_REASONS: Readonly<Record<InjectionCategory, string>> = {
  override: 'The passage contains instructions aimed at the assistant: it tells it to ignore its instructions.',
  extraction: 'The passage contains instructions aimed at the assistant: it asks it to reveal its system prompt.',
  unrestricted: 'The passage contains instructions aimed at the assistant: it tells it to act without its rules.',
  'fake-system': 'The passage contains instructions aimed at the assistant, posing as a system message.',
  indirect: 'The passage contains instructions aimed at the assistant.',
};

function flagged(text: string, subject: GuardSubject, category: InjectionCategory, score: number, hits: readonly InjectionHit[]): GuardVerdict {
  const reason = subject === 'question' ? QUESTION_REASONS[category] : PASSAGE_REASONS[category];
  return { outcome: 'flag', reason, spans: mergedSpans(text, hits), score: Math.min(1, Math.max(0, score)) };
}

/** The hits as spans, overlapping ones merged; the whole text (trimmed) when only the semantic check or classifier spoke. */
function mergedSpans(text: string, hits: readonly InjectionHit[]): FlaggedSpan[] {
  if (hits.length === 0) {
    const start = text.length - text.trimStart().length;
    const end = text.trimEnd().length;
    return end > start ? [{ start, end, kind: 'INJECTION' }] : [];
  }
  const ordered = [...hits].sort((a, b) => a.start - b.start || a.end - b.end);
  const spans: FlaggedSpan[] = [];
  for (const hit of ordered) {
    const last = spans.at(-1);
    if (last !== undefined && hit.start <= last.end) last.end = Math.max(last.end, hit.end);
    else spans.push({ start: hit.start, end: hit.end, kind: 'INJECTION' });
  }
  return spans;
}
