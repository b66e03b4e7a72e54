import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { AgentError } from '../../src-shared/contract/index.js';
import type { SqliteDatabase } from '../agent/memory/sqliteDatabase.node.js';
import { type Embedder, hasNoWords } from './embedder.js';
import { abandonable } from '../agent/abandonable.js';

export interface EmbeddingCacheOptions {
  /** Vectors held in memory (default 4096: ~8 MB at 512 dimensions). */
  memoryEntries?: number;
  /**
   * Rows kept on disk (default 50 000: ~105 MB at 512 dimensions, ~80 MB at 384). Past it, the least recently used
   * tenth is deleted.
   */
  maxDiskRows?: number;
}

/** How the cache has answered since it was made (texts without words are not counted: they never reach a model). */
export interface EmbeddingCacheStats {
  memoryHits: number;
  diskHits: number;
  misses: number;
  /** Rows on disk now, for every embedder. */
  diskRows: number;
}

/**
 * An Embedder that remembers vectors: in memory (lru-cache) and in the `embedding_cache` table of the documents
 * database, keyed by sha256 of the embedder's id and the text. So a repeated question, or a document ingested again,
 * does not reach the model, and a changed embedder (another id) never reuses a vector it did not make. Only the
 * misses go to the wrapped embedder, in one call; they are written in one transaction. A disk hit marks its row
 * used; a memory hit does not touch the disk.
 */
export class CachedEmbedder implements Embedder {
  readonly id: string;
  readonly dimensions: number;
  readonly #memory: LRUCache<string, Float32Array>;
  readonly #maxDiskRows: number;
  readonly #statements;
  readonly #writeResults: (rows: readonly CacheRow[], usedKeys: readonly string[]) => void;
  #diskRows: number;
  #memoryHits = 0;
  #diskHits = 0;
  #misses = 0;

  constructor(
    private readonly inner: Embedder,
    db: SqliteDatabase,
    options: EmbeddingCacheOptions = {},
  ) {
    this.id = inner.id;
    this.dimensions = inner.dimensions;
    this.#memory = new LRUCache({ max: options.memoryEntries ?? 4096 });
    this.#maxDiskRows = options.maxDiskRows ?? 50_000;
    db.exec(`
      CREATE TABLE IF NOT EXISTS embedding_cache (key TEXT PRIMARY KEY, embedder TEXT, dims INTEGER, vector BLOB, used_at INTEGER);
      CREATE INDEX IF NOT EXISTS embedding_cache_by_use ON embedding_cache(used_at);
    `);
    this.#statements = {
      // One statement for any number of keys: they arrive as a JSON array.
      find: db.prepare<[string], { key: string; dims: number; vector: Buffer }>(
        'SELECT key, dims, vector FROM embedding_cache WHERE key IN (SELECT value FROM json_each(?))',
      ),
      upsert: db.prepare('INSERT OR REPLACE INTO embedding_cache (key, embedder, dims, vector, used_at) VALUES (?, ?, ?, ?, ?)'),
      touch: db.prepare('UPDATE embedding_cache SET used_at = ? WHERE key = ?'),
      count: db.prepare<[], { rows: number }>('SELECT count(*) AS rows FROM embedding_cache'),
      deleteLeastRecentlyUsed: db.prepare('DELETE FROM embedding_cache WHERE key IN (SELECT key FROM embedding_cache ORDER BY used_at, rowid LIMIT ?)'),
    };
    this.#diskRows = this.#statements.count.get()!.rows;
    this.#writeResults = db.transaction((rows: readonly CacheRow[], usedKeys: readonly string[]) => {
      const now = Date.now();
      for (const key of usedKeys) this.#statements.touch.run(now, key);
      for (const row of rows) {
        const vector = row.vector;
        this.#statements.upsert.run(row.key, this.id, this.dimensions, Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength), now);
      }
      this.#diskRows += rows.length;
      if (this.#diskRows > this.#maxDiskRows) {
        const keep = Math.floor(this.#maxDiskRows * 0.9);
        this.#statements.deleteLeastRecentlyUsed.run(this.#diskRows - keep);
        this.#diskRows = this.#statements.count.get()!.rows;
      }
    });
  }

  /** Single texts being embedded now (a turn's question): a second caller waits for the same vector. */
  readonly #inFlight = new Map<string, Promise<Float32Array>>();

  /**
   * One question is embedded once per turn even when two steps (retrieval, the injection check) ask for it at the same
   * moment: the second joins the first's request. The shared request is not tied to either caller's signal.
   */
  async embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]> {
    signal?.throwIfAborted();
    const [only] = texts;
    if (texts.length !== 1 || only === undefined || hasNoWords(only)) return this.#embedMany(texts, signal);
    const key = this.#keyOf(only);
    let shared = this.#inFlight.get(key);
    if (!shared) {
      shared = this.#embedMany([only]).then(([vector]) => vector!);
      this.#inFlight.set(key, shared);
      const forget = () => this.#inFlight.delete(key);
      shared.then(forget, forget);
    }
    const vector = await abandonable(shared, signal);
    return [vector.slice()];
  }

  async #embedMany(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]> {
    const vectors = texts.map(() => new Float32Array(this.dimensions));
    const notInMemory = new Map<string, { text: string; indexes: number[] }>();
    texts.forEach((text, index) => {
      if (hasNoWords(text)) return;
      const key = this.#keyOf(text);
      const remembered = this.#memory.get(key);
      if (remembered !== undefined) {
        this.#memoryHits += 1;
        vectors[index] = remembered.slice(); // a copy: a caller changing its vector must not change the cache
        return;
      }
      const entry = notInMemory.get(key);
      if (entry === undefined) notInMemory.set(key, { text, indexes: [index] });
      else entry.indexes.push(index);
    });
    if (notInMemory.size === 0) return vectors;

    const onDisk: string[] = [];
    for (const row of this.#statements.find.all(JSON.stringify([...notInMemory.keys()]))) {
      if (row.dims !== this.dimensions || row.vector.byteLength !== this.dimensions * 4) continue; // damaged: embedded again
      const vector = new Float32Array(this.dimensions);
      new Uint8Array(vector.buffer).set(row.vector);
      this.#remember(row.key, vector, notInMemory.get(row.key)!.indexes, vectors);
      this.#diskHits += notInMemory.get(row.key)!.indexes.length;
      notInMemory.delete(row.key);
      onDisk.push(row.key);
    }

    const misses = [...notInMemory];
    const embedded = misses.length === 0 ? [] : await this.inner.embed(misses.map(([, miss]) => miss.text), signal);
    if (embedded.length !== misses.length || embedded.some((vector) => vector.length !== this.dimensions)) {
      throw new AgentError('EMBEDDER_FAILED', `The embedder ${this.id} returned vectors that do not fit; nothing was cached.`);
    }
    misses.forEach(([key, miss], i) => {
      this.#misses += miss.indexes.length;
      this.#remember(key, embedded[i]!, miss.indexes, vectors);
    });
    if (misses.length > 0 || onDisk.length > 0) {
      this.#writeResults(
        misses.map(([key], i) => ({ key, vector: embedded[i]! })),
        onDisk,
      );
    }
    return vectors;
  }

  stats(): EmbeddingCacheStats {
    return { memoryHits: this.#memoryHits, diskHits: this.#diskHits, misses: this.#misses, diskRows: this.#diskRows };
  }

  /** Closes the wrapped embedder; the database is the caller's. */
  async close(): Promise<void> {
    await this.inner.close();
  }

  #keyOf(text: string): string {
    return createHash('sha256').update(`${this.id}\u0000${text}`).digest('hex');
  }

  #remember(key: string, vector: Float32Array, indexes: readonly number[], into: Float32Array[]): void {
    this.#memory.set(key, vector); // never handed out: callers get copies
    for (const index of indexes) into[index] = vector.slice();
  }
}

interface CacheRow {
  key: string;
  vector: Float32Array;
}

