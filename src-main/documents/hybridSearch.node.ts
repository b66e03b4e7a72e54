import { toErrorShape } from '../../src-shared/contract/index.js';
import type { DocumentDatabase, StoredChunk } from './documentDatabase.node.js';
import { cosineSimilarity, isBlank, type Embedder } from './embedder.js';
import type { VectorStore } from './vectorStore.js';

export interface SearchTuning {
  /** Results across all documents. */
  topK: number;
  /** No document fills the context alone: at most this many of its chunks. */
  maxPerDocument: number;
  /** Below this cosine similarity to the question a chunk is not relevant, however well its words match. */
  minSimilarity: number;
  /** A chunk much less similar than the best one is left out too: this share of the best similarity is the floor. */
  relativeCutoff: number;
  /** How many candidates each search (vector, keyword) contributes before fusion. */
  candidates: number;
}

/**
 * Measured with USE-lite on the test corpus: paraphrased questions score 0.39–0.71 against the passage that answers
 * them, unrelated questions at most 0.30 against any passage.
 */
export const DEFAULT_SEARCH_TUNING: SearchTuning = { topK: 4, maxPerDocument: 2, minSimilarity: 0.35, relativeCutoff: 0.75, candidates: 30 };

/** Reciprocal-rank fusion's constant: ranks far down either list count for little. */
const RRF_K = 60;

export interface RankedChunk extends StoredChunk {
  similarity: number;
  /** The fused score (reciprocal-rank fusion of the vector and keyword ranks). */
  score: number;
}

export interface SearchOutcome {
  results: RankedChunk[];
  /** Set when the vector index could not answer (keyword search only). */
  degraded?: string;
}

/**
 * Hybrid search: the question's vector against Chroma and its words against the FTS5 index, at once; the two lists
 * merged by reciprocal-rank fusion; every candidate scored by its cosine similarity to the question (from the vector
 * kept in SQLite, so keyword-only results are judged the same way) and dropped below the relevance threshold; then the
 * best across all documents, at most `maxPerDocument` from any one.
 */
export class HybridSearch {
  constructor(
    private readonly deps: {
      db: DocumentDatabase;
      embedder: Embedder;
      /** The vector index, or undefined where it cannot run (keyword search only). */
      vectors: () => VectorStore | undefined;
      tuning?: Partial<SearchTuning>;
      /** How long to wait for the vector index (restarting, remote and slow) before answering from keywords alone. */
      vectorTimeoutMs?: number;
    },
  ) {}

  get tuning(): SearchTuning {
    return { ...DEFAULT_SEARCH_TUNING, ...this.deps.tuning };
  }

  async search(query: string, signal?: AbortSignal, tuning: Partial<SearchTuning> = {}): Promise<SearchOutcome> {
    const { db, embedder } = this.deps;
    const t = { ...this.tuning, ...tuning };
    // Nobody has documents yet: nothing to embed, and the vector server is not started.
    if (isBlank(query) || !db.hasChunks()) return { results: [] };

    // The embedding runs in its worker while the keyword search runs here: the two overlap.
    const embedding = embedder.embed([query], signal);
    embedding.catch(() => undefined);
    const keywordHits = db.keywordSearch(query, t.candidates);
    const [queryVector] = await embedding;
    if (!queryVector) return { results: [] };

    let vectorIds: string[] = [];
    let degraded: string | undefined;
    const vectors = this.deps.vectors();
    if (!vectors) degraded = 'Documents are limited to keyword search on this computer.';
    else {
      try {
        const deadline = AbortSignal.timeout(this.deps.vectorTimeoutMs ?? 1_500);
        const bounded = signal ? AbortSignal.any([signal, deadline]) : deadline;
        vectorIds = (await vectors.query(queryVector, t.candidates, bounded)).map((hit) => hit.id);
      } catch (error) {
        if (signal?.aborted) throw error;
        degraded = `Documents are limited to keyword search: ${toErrorShape(error).message}`;
      }
    }

    // The candidates of both searches, scored exactly against the vectors kept in SQLite (the index's search is
    // approximate). Ids the index knows but SQLite does not (a crash between the two writes) are skipped.
    const keywordIds = keywordHits.map((hit) => hit.id);
    const chunks = db.chunksById([...new Set([...vectorIds, ...keywordIds])]);
    // A chunk still waiting to be embedded again by the embedder now in use cannot be compared yet.
    const comparable = [...chunks.values()].filter((chunk) => chunk.embedder === embedder.id);
    const candidates = comparable.map((chunk) => ({ ...chunk, similarity: cosineSimilarity(queryVector, chunk.embedding), score: 0 }));
    // Reciprocal-rank fusion of the two rankings: by meaning (exact similarity) and by words (BM25).
    const byMeaning = [...candidates].sort((a, b) => b.similarity - a.similarity);
    byMeaning.forEach((chunk, rank) => (chunk.score += 1 / (RRF_K + rank + 1)));
    const keywordRank = new Map(keywordIds.map((id, rank) => [id, rank]));
    for (const chunk of candidates) {
      const rank = keywordRank.get(chunk.id);
      if (rank !== undefined) chunk.score += 1 / (RRF_K + rank + 1);
    }
    const best = byMeaning[0]?.similarity ?? 0;
    const floor = Math.max(t.minSimilarity, best * t.relativeCutoff);
    const relevant: RankedChunk[] = candidates.filter((chunk) => chunk.similarity >= floor);
    relevant.sort((a, b) => b.score - a.score || b.similarity - a.similarity);

    const perDocument = new Map<string, number>();
    const results: RankedChunk[] = [];
    for (const chunk of relevant) {
      const taken = perDocument.get(chunk.documentId) ?? 0;
      if (taken >= t.maxPerDocument) continue;
      perDocument.set(chunk.documentId, taken + 1);
      results.push(chunk);
      if (results.length >= t.topK) break;
    }
    return degraded === undefined ? { results } : { results, degraded };
  }
}
