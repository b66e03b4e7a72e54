import { abandonable } from '../abandonable.js';
import type { CouncilAnswer } from './rankingPrompt.js';

/** One reviewer's usable ranking, de-anonymised. */
export interface ReviewerRanking {
  reviewerId: string;
  /** The member ids the reviewer was shown. */
  candidates: readonly string[];
  /** Member ids best first: all of `candidates` or some of them (the rest count as tied last). */
  ranked: readonly string[];
}

/** One answer's place in the council's aggregate. */
export interface CouncilStanding {
  memberId: string;
  /** 1 = best. */
  position: number;
  /**
   * Higher is better. By rankings: the mean Borda share over the reviewers who saw the answer (1 = all put it first,
   * 0 = all put it last; 0.5 when nobody's usable ranking included it). By agreement: the mean cosine similarity of
   * its embedding to the other answers'. By order: 0.
   */
  score: number;
  /** Usable rankings that included this answer (0 for agreement and order). */
  votes: number;
}

export type AggregationMethod = 'rankings' | 'agreement' | 'order';

export interface CouncilAggregate {
  method: AggregationMethod;
  /** Best first; every answer once. */
  table: CouncilStanding[];
  /** Why a weaker method had to be used, for a notice; absent when the rankings were used. */
  fallbackReason?: string;
}

/** Embeddings of `texts`, one vector each, in order (the retrieval embedder). */
export type EmbedTexts = (texts: string[]) => Promise<number[][]>;

const NEUTRAL_SHARE = 0.5;
const EPSILON = 1e-9;

/**
 * Combines reviewers' rankings by mean Borda share. A reviewer's vote for its own answer never counts (it is not shown
 * its own answer, but a parser or a caller could still put it there), and neither do ids it was not shown. Ties go
 * to the answer with more votes, then to the earlier member in `memberIds`, so the same inputs give the same table.
 */
export function aggregateRankings(memberIds: readonly string[], rankings: readonly ReviewerRanking[]): CouncilStanding[] {
  const shares = new Map<string, number[]>(memberIds.map((id) => [id, []]));
  for (const ranking of rankings) {
    const candidates = unique(ranking.candidates).filter((id) => id !== ranking.reviewerId && shares.has(id));
    const ranked = unique(ranking.ranked).filter((id) => candidates.includes(id));
    if (ranked.length === 0) continue;
    const last = candidates.length - 1;
    // The unranked share the mean of the places left.
    const unrankedPlace = (ranked.length + last) / 2;
    for (const id of candidates) {
      const index = ranked.indexOf(id);
      const place = index === -1 ? unrankedPlace : index;
      shares.get(id)!.push(last === 0 ? 1 : 1 - place / last);
    }
  }
  return standings(
    memberIds,
    memberIds.map((id) => {
      const list = shares.get(id)!;
      return { score: list.length === 0 ? NEUTRAL_SHARE : mean(list), votes: list.length };
    }),
  );
}

/**
 * The fallback when no ranking is usable: each answer's mean cosine similarity to the others. The answer that agrees
 * most with the rest is the consensus, and an outlier (off-topic, garbled) sinks. Ties as in `aggregateRankings`.
 */
export function rankByAgreement(memberIds: readonly string[], vectors: readonly (readonly number[])[]): CouncilStanding[] {
  if (vectors.length !== memberIds.length) throw new RangeError(`Expected ${memberIds.length} embeddings, got ${vectors.length}.`);
  const scores = memberIds.map((_, i) => {
    const similarities = memberIds.flatMap((__, j) => (i === j ? [] : [cosine(vectors[i]!, vectors[j]!)]));
    return { score: similarities.length === 0 ? 1 : mean(similarities), votes: 0 };
  });
  return standings(memberIds, scores);
}

/**
 * The aggregate of a council's answers: by the usable rankings when there are any; else by agreement (embedding
 * similarity); else, when embedding fails too, in the members' order, so the turn still gets an answer.
 */
export async function aggregateCouncil(input: {
  answers: readonly CouncilAnswer[];
  rankings: readonly ReviewerRanking[];
  embed: EmbedTexts;
  signal?: AbortSignal;
}): Promise<CouncilAggregate> {
  const memberIds = input.answers.map((answer) => answer.memberId);
  if (input.rankings.length > 0) {
    const table = aggregateRankings(memberIds, input.rankings);
    if (table.some((standing) => standing.votes > 0)) return { method: 'rankings', table };
  }
  try {
    const vectors = await abandonable(input.embed(input.answers.map((answer) => answer.text)), input.signal);
    return { method: 'agreement', table: rankByAgreement(memberIds, vectors), fallbackReason: 'no ranking was usable' };
  } catch (error) {
    if (input.signal?.aborted) throw error;
    const why = error instanceof Error ? error.message : String(error);
    return {
      method: 'order',
      table: standings(memberIds, memberIds.map(() => ({ score: 0, votes: 0 }))),
      fallbackReason: `no ranking was usable and the answers could not be embedded (${why})`,
    };
  }
}

export function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    dot += a[i]! * b[i]!;
    normA += a[i]! * a[i]!;
    normB += b[i]! * b[i]!;
  }
  return normA === 0 || normB === 0 ? 0 : dot / Math.sqrt(normA * normB);
}

function standings(memberIds: readonly string[], scores: readonly { score: number; votes: number }[]): CouncilStanding[] {
  return memberIds
    .map((memberId, order) => ({ memberId, order, ...scores[order]! }))
    .sort((a, b) => (Math.abs(b.score - a.score) > EPSILON ? b.score - a.score : b.votes - a.votes || a.order - b.order))
    .map(({ memberId, score, votes }, index) => ({ memberId, position: index + 1, score, votes }));
}

function mean(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

function unique<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}
