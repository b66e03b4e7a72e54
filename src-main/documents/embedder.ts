/**
 * Turns text into vectors. Every implementation runs its model off the thread that streams tokens (a worker thread
 * or a native pool) and returns unit-length vectors, so a dot product is the cosine similarity.
 */
export interface Embedder {
  /** Names the model and its version: a collection records it, and the embedding cache is keyed by it. */
  readonly id: string;
  readonly dimensions: number;
  /**
   * One vector per text, in order. Texts without a letter or digit (empty, whitespace, only punctuation or emoji: see
   * `hasNoWords`) get a zero vector without reaching the model (USE-lite throws on an empty one). Rejects with the
   * signal's reason when aborted.
   */
  embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]>;
  close(): Promise<void>;
}

/** The dot product of two unit vectors: their cosine similarity. */
export function cosineSimilarity(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i += 1) sum += a[i]! * b[i]!;
  return sum;
}

export function isBlank(text: string): boolean {
  return !/\S/.test(text);
}

/**
 * True when a text has no letter or digit: nothing a model can tell apart. USE-lite throws on an empty text and maps
 * every emoji to the same unknown token, so "..." or "😀" would get vectors close to each other and to other noise and
 * turn up as false matches. Embedders give such texts a zero vector (similarity 0 to everything) instead.
 */
export function hasNoWords(text: string): boolean {
  return !/[\p{L}\p{N}]/u.test(text);
}
