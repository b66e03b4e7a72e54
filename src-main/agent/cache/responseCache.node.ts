import { LRUCache } from 'lru-cache';
import type { SqliteDatabase } from '../memory/sqliteDatabase.node.js';

export interface ResponseCacheLimits {
  maxEntries: number;
  maxBytes: number;
}

/**
 * Complete answers by cache key, bounded by entry count and UTF-8 bytes. lru-cache decides what to evict;
 * SQLite mirrors the contents so the cache survives restarts with its recency order.
 */
export class ResponseCache {
  private readonly lru: LRUCache<string, string>;
  private readonly statements;

  constructor(
    db: SqliteDatabase,
    readonly limits: ResponseCacheLimits,
  ) {
    this.statements = {
      upsert: db.prepare('INSERT OR REPLACE INTO response_cache (key, answer, bytes, last_used_at) VALUES (?, ?, ?, ?)'),
      touch: db.prepare('UPDATE response_cache SET last_used_at = ? WHERE key = ?'),
      remove: db.prepare('DELETE FROM response_cache WHERE key = ?'),
      loadOldestFirst: db.prepare<[], { key: string; answer: string }>(
        'SELECT key, answer FROM response_cache ORDER BY last_used_at ASC, rowid ASC',
      ),
    };
    this.lru = new LRUCache<string, string>({
      max: limits.maxEntries,
      maxSize: limits.maxBytes,
      sizeCalculation: (answer) => Math.max(1, Buffer.byteLength(answer)),
      dispose: (_answer, key, reason) => {
        if (reason === 'evict' || reason === 'delete') this.statements.remove.run(key);
      },
    });
    // Replaying oldest first leaves the most recently used entries at the head, and applies today's limits.
    for (const row of this.statements.loadOldestFirst.all()) this.lru.set(row.key, row.answer);
  }

  get(key: string): string | undefined {
    const answer = this.lru.get(key);
    if (answer !== undefined) this.statements.touch.run(Date.now(), key);
    return answer;
  }

  set(key: string, answer: string): void {
    if (Buffer.byteLength(answer) > this.limits.maxBytes) return;
    this.lru.set(key, answer);
    if (this.lru.has(key)) this.statements.upsert.run(key, answer, Buffer.byteLength(answer), Date.now());
  }

  get size(): number {
    return this.lru.size;
  }

  get bytes(): number {
    return this.lru.calculatedSize;
  }
}
