import { toErrorShape } from '../../src-shared/contract/index.js';
import type { AgentLogger } from '../agent/agentLogger.js';
import type { DocumentDatabase } from './documentDatabase.node.js';
import { toVectorRecord } from './documentIngestion.node.js';
import type { VectorStore } from './vectorStore.js';

/**
 * Brings the vector index in line with SQLite, which is the source of truth: documents ingested while the index was
 * down (or made for another index) are added from their stored vectors, with no re-embedding; a document whose chunks
 * are missing from the index (its data was lost) is added again; vectors of chunks SQLite no longer has (a crash
 * between the two writes, a removal while it was down) are deleted. One run at a time; cheap when nothing is off.
 */
export class VectorStoreSync {
  private running: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly deps: { db: DocumentDatabase; store: VectorStore; logger: AgentLogger }) {}

  run(): Promise<void> {
    this.running ??= this.reconcile().finally(() => (this.running = undefined));
    return this.running;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.running?.catch(() => undefined);
  }

  private async reconcile(): Promise<void> {
    const { db, store, logger } = this.deps;
    try {
      const indexed = new Set(await store.listIds());
      const known = new Set<string>();
      let added = 0;
      for (const document of db.listDocuments()) {
        if (this.closed) return;
        const ids = db.chunkIdsOf(document.id);
        for (const id of ids) known.add(id);
        if (document.inVectorStore && ids.every((id) => indexed.has(id))) continue;
        const chunks = db.chunksOf(document.id);
        await store.upsert(chunks.map((chunk) => toVectorRecord(chunk, document.id, document.source)));
        db.setInVectorStore(document.id, true);
        added += chunks.length;
      }
      const orphans = [...indexed].filter((id) => !known.has(id));
      if (orphans.length > 0) await store.deleteIds(orphans);
      if (added + orphans.length > 0) logger.info({ added, removed: orphans.length }, 'document index reconciled');
    } catch (error) {
      logger.warn({ reason: toErrorShape(error).message }, 'document index not reconciled yet');
    }
  }
}
