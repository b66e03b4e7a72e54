import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3-multiple-ciphers';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cosineSimilarity, type Embedder, hasNoWords } from './embedder.js';
import { CachedEmbedder } from './embeddingCache.node.js';
import { UseLiteEmbedder } from './useLiteEmbedder.node.js';

const model = new UseLiteEmbedder();
afterAll(() => model.close());

/** The real model, counting the calls and texts that reach it; `id` lets two of them pass for different embedders. */
class CountingEmbedder implements Embedder {
  readonly calls: string[][] = [];
  readonly dimensions = model.dimensions;
  constructor(readonly id = model.id) {}
  embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]> {
    this.calls.push([...texts]);
    return model.embed(texts, signal);
  }
  async close(): Promise<void> {}
}

const TEXTS = ['How do I bake sourdough bread?', 'Changing a flat tyre on the motorway.', 'The quarterly budget review is on Tuesday.'];

let dir: string;
let db: Database.Database;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'embedding-cache-'));
  db = new Database(join(dir, 'documents.sqlite3'));
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('CachedEmbedder', () => {
  it('answers a repeated embed without the model, with equal vectors', async () => {
    const inner = new CountingEmbedder();
    const cache = new CachedEmbedder(inner, db);
    expect(cache.id).toBe(inner.id);
    expect(cache.dimensions).toBe(512);
    const first = await cache.embed(TEXTS);
    expect(inner.calls).toEqual([TEXTS]);
    const second = await cache.embed(TEXTS);
    expect(inner.calls).toHaveLength(1); // no second call
    expect(second).toEqual(first);
    expect(cache.stats()).toMatchObject({ memoryHits: 3, diskHits: 0, misses: 3, diskRows: 3 });
  });

  it('keeps its vectors in the SQLite file: a new cache over the same file still hits', async () => {
    const first = await new CachedEmbedder(new CountingEmbedder(), db).embed(TEXTS);
    db.close();
    db = new Database(join(dir, 'documents.sqlite3'));
    const inner = new CountingEmbedder();
    const reopened = new CachedEmbedder(inner, db);
    expect(await reopened.embed(TEXTS)).toEqual(first);
    expect(inner.calls).toHaveLength(0);
    expect(reopened.stats()).toMatchObject({ diskHits: 3, misses: 0, diskRows: 3 });
  });

  it('never gives one embedder the vectors of another', async () => {
    await new CachedEmbedder(new CountingEmbedder('model-a@1'), db).embed(TEXTS);
    const other = new CountingEmbedder('model-b@1');
    await new CachedEmbedder(other, db).embed(TEXTS);
    expect(other.calls).toEqual([TEXTS]);
    expect(db.prepare('SELECT embedder, count(*) AS rows FROM embedding_cache GROUP BY embedder ORDER BY embedder').all()).toEqual([
      { embedder: 'model-a@1', rows: 3 },
      { embedder: 'model-b@1', rows: 3 },
    ]);
  });

  it('sends only the misses, once each and in one call, and keeps the order', async () => {
    const [bread, tyre] = TEXTS as [string, string, string];
    const inner = new CountingEmbedder();
    const cache = new CachedEmbedder(inner, db);
    await cache.embed([bread, tyre]);
    const mixed = ['Rye loaf recipe', bread, '', 'Winter roof repairs', tyre, 'Rye loaf recipe', '...'];
    const vectors = await cache.embed(mixed);
    expect(inner.calls[1]).toEqual(['Rye loaf recipe', 'Winter roof repairs']);
    expect(inner.calls).toHaveLength(2);
    // The model's own answer for each text (batches differ in the last float digits, so compared by similarity).
    const direct = await model.embed(mixed);
    for (const [i, vector] of vectors.entries()) {
      if (hasNoWords(mixed[i]!)) expect(vector.every((value) => value === 0)).toBe(true);
      else expect(cosineSimilarity(vector, direct[i]!), `text ${i}`).toBeGreaterThan(0.9999);
    }
  });

  it('hands out copies: changing a returned vector does not change the cache', async () => {
    const cache = new CachedEmbedder(new CountingEmbedder(), db);
    const [first] = await cache.embed([TEXTS[0]!]);
    const original = Array.from(first!);
    first!.fill(0);
    const [again] = await cache.embed([TEXTS[0]!]);
    expect(Array.from(again!)).toEqual(original);
  });

  it('embeds again a row whose vector is damaged', async () => {
    await new CachedEmbedder(new CountingEmbedder(), db).embed(TEXTS);
    db.prepare('UPDATE embedding_cache SET vector = ? WHERE rowid = 1').run(Buffer.alloc(12));
    const inner = new CountingEmbedder();
    const vectors = await new CachedEmbedder(inner, db).embed(TEXTS);
    expect(inner.calls).toHaveLength(1);
    expect(inner.calls[0]).toHaveLength(1);
    expect(vectors.every((vector) => vector.length === 512)).toBe(true);
  });

  it('keeps at most maxDiskRows rows, dropping the least recently used', async () => {
    const texts = Array.from({ length: 12 }, (_, i) => `Sentence number ${i} about the garden.`);
    const wait = () => new Promise((resolve) => setTimeout(resolve, 5));
    const cache = new CachedEmbedder(new CountingEmbedder(), db, { maxDiskRows: 10 });
    for (const text of texts.slice(0, 10)) {
      await cache.embed([text]);
      await wait();
    }
    // Sentence 0 is read from disk (a new cache, so not from memory) and so becomes the most recently used.
    await new CachedEmbedder(new CountingEmbedder(), db, { maxDiskRows: 10 }).embed([texts[0]!]);
    await wait();
    await cache.embed(texts.slice(10));
    const kept = db.prepare('SELECT count(*) AS rows FROM embedding_cache').get() as { rows: number };
    expect(kept.rows).toBeLessThanOrEqual(10);
    expect(cache.stats().diskRows).toBe(kept.rows);
    const inner = new CountingEmbedder();
    await new CachedEmbedder(inner, db, { maxDiskRows: 10 }).embed([texts[0]!, texts[1]!, texts[11]!]);
    expect(inner.calls).toEqual([[texts[1]]]); // 1 was the oldest unused; 0 was used, 11 is new
  });

  it('rejects with the abort reason and caches nothing', async () => {
    const reason = new Error('stop');
    const cache = new CachedEmbedder(new CountingEmbedder(), db);
    await expect(cache.embed(TEXTS, AbortSignal.abort(reason))).rejects.toBe(reason);
    const controller = new AbortController();
    const embedding = cache.embed(TEXTS, controller.signal);
    controller.abort(reason);
    await expect(embedding).rejects.toBe(reason);
    expect(cache.stats().diskRows).toBe(0);
  });
});
