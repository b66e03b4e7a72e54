/** One chunk's vector and what a search result needs to name it. */
export interface VectorRecord {
  /** The chunk id (stable for the same document content: `<documentId>:<contentHash8>:<ordinal>`). */
  id: string;
  documentId: string;
  embedding: Float32Array;
  text: string;
  source: string;
  ordinal: number;
}

export interface VectorHit {
  id: string;
  documentId: string;
  /** Cosine similarity, -1..1 (1 = same direction). */
  similarity: number;
}

/**
 * The vector index behind retrieval. Chroma is the implementation (a supervised local server, or CHROMA_URL); the
 * keyword index and the chunk texts live in SQLite, so nothing is lost when the vector store is down or replaced.
 * One store holds the vectors of one embedder: its collection is named after it.
 */
export interface VectorStore {
  /** Adds or replaces chunks by id. */
  upsert(records: readonly VectorRecord[], signal?: AbortSignal): Promise<void>;
  deleteIds(ids: readonly string[], signal?: AbortSignal): Promise<void>;
  deleteDocument(documentId: string, signal?: AbortSignal): Promise<void>;
  /** The `n` nearest chunks across all documents, most similar first. */
  query(embedding: Float32Array, n: number, signal?: AbortSignal): Promise<VectorHit[]>;
  /** Every chunk id the store holds (for reconciling with SQLite after a crash). */
  listIds(signal?: AbortSignal): Promise<string[]>;
  count(signal?: AbortSignal): Promise<number>;
  /** Drops every vector (used when the embedder changes: the documents are embedded again). */
  clear(signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}
