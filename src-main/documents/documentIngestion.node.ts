import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { AgentError, toErrorShape, type DocsProgressEvent, type FileOutcome, type IngestSummary } from '../../src-shared/contract/index.js';
import type { AgentLogger } from '../agent/agentLogger.js';
import { chunkDocument } from './documentChunker.js';
import type { DocumentDatabase, DocumentRow } from './documentDatabase.node.js';
import { extractDocument } from './documentExtraction.node.js';
import { hashFile } from '../models/modelDownloader.node.js';
import { codeOf, documentIdOf, expandDocumentPaths } from './documentFiles.node.js';
import type { DocumentChunk } from './documentText.js';
import type { Embedder } from './embedder.js';
import type { VectorRecord, VectorStore } from './vectorStore.js';

/** Texts per call to the embedder: large enough to batch well, small enough for progress and a prompt Cancel. */
const EMBED_BATCH = 32;
/** Progress while a file is embedded is sent at most this often. */
const PROGRESS_EVERY_MS = 250;

export interface IngestRequest {
  paths: readonly string[];
  /** Keep these folders in sync (added files ingested, changed ones replaced, deleted ones removed). */
  watch?: boolean;
  /** Files (absolute) known to be gone: their documents are removed (the folder watcher's deletions). */
  removed?: readonly string[];
  /** Documents made by another embedder: embedded again from their stored chunks (no file is read again). */
  reembed?: readonly DocumentRow[];
}

interface Job {
  jobId: string;
  request: IngestRequest;
  abort: AbortController;
  filesTotal: number;
  filesDone: number;
  /** The files it queued (known once the folders are walked). */
  files: string[];
  done: Promise<IngestSummary>;
}

export interface IngestionDeps {
  db: DocumentDatabase;
  embedder: Embedder;
  /** The vector index, or undefined where it cannot run. A failing one never stops ingestion: SQLite keeps everything. */
  vectors: () => VectorStore | undefined;
  emit: (event: DocsProgressEvent) => void;
  logger: AgentLogger;
  /** Called when writing to the vector index failed (documents are then limited to keyword search until it is back). */
  onVectorStoreFailure?: (error: unknown) => void;
  /** Called with folders to watch from now on. */
  onWatch?: (folders: string[]) => void;
}

/**
 * Ingestion jobs, one at a time, file by file. Each file is hashed first (an unchanged one costs nothing more), then
 * read, chunked, embedded in batches (off this thread) and written: vectors to the index, then chunks, vectors and
 * keyword index to SQLite in one transaction. Cancel stops at once; every file finished before it stays whole, and the
 * one in progress leaves nothing behind. The files still to do are kept in SQLite, so a restart finishes the job.
 */
export class DocumentIngestion {
  private readonly jobs: Job[] = [];
  private running: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: IngestionDeps) {}

  get pendingJobs(): ReadonlyArray<Pick<Job, 'jobId' | 'filesTotal' | 'filesDone'>> {
    return this.jobs.map(({ jobId, filesTotal, filesDone }) => ({ jobId, filesTotal, filesDone }));
  }

  /** Queues a job and returns its id at once; its progress and summary arrive as docs-progress events. */
  start(request: IngestRequest): { jobId: string; done: Promise<IngestSummary> } {
    const job: Job = { jobId: randomUUID(), request, abort: new AbortController(), filesTotal: 0, filesDone: 0, files: [], done: Promise.resolve(emptySummary()) };
    this.jobs.push(job);
    job.done = this.running.then(() => this.run(job));
    this.running = job.done.catch(() => undefined);
    return { jobId: job.jobId, done: job.done };
  }

  cancel(jobId: string): boolean {
    const job = this.jobs.find((each) => each.jobId === jobId);
    if (!job) return false;
    job.abort.abort(new AgentError('CANCELLED', 'Ingestion was cancelled.'));
    return true;
  }

  /** Files left in the queue by a previous run (the app closed or crashed mid-job), as one job. */
  resumeQueued(): { jobId: string; done: Promise<IngestSummary> } | undefined {
    const queued = this.deps.db.queuedPaths();
    if (queued.length === 0) return undefined;
    this.deps.logger.info({ files: queued.length }, 'resuming queued ingestion');
    return this.start({ paths: queued });
  }

  /** Stops the jobs; the files they had not finished stay queued, for the next start. */
  async close(): Promise<void> {
    for (const job of this.jobs) job.abort.abort(new AppClosing());
    await this.running;
  }

  private async run(job: Job): Promise<IngestSummary> {
    const { db, emit, logger } = this.deps;
    const signal = job.abort.signal;
    const summary = emptySummary();
    const progress = (fields: Partial<DocsProgressEvent> & Pick<DocsProgressEvent, 'state'>) =>
      emit({ type: 'docs-progress', jobId: job.jobId, filesTotal: job.filesTotal, filesDone: job.filesDone, ...fields });
    const record = (outcome: FileOutcome) => {
      job.filesDone += 1;
      if (outcome.status === 'ingested') {
        summary.documents += 1;
        summary.chunks += outcome.chunks ?? 0;
      } else if (outcome.status === 'unchanged') summary.unchanged += 1;
      else if (outcome.status === 'removed') summary.removed += 1;
      else if (outcome.status === 'failed') summary.failed.push({ source: outcome.source, reason: outcome.reason ?? 'failed' });
      progress({ state: 'running', file: outcome });
    };
    try {
      const expanded = await expandDocumentPaths(job.request.paths, signal);
      const removed = job.request.removed ?? [];
      const reembed = job.request.reembed ?? [];
      job.filesTotal = expanded.files.length + expanded.failed.length + removed.length + reembed.length;
      job.files = expanded.files;
      db.enqueue(expanded.files);
      if (job.request.watch && expanded.folders.length > 0) this.deps.onWatch?.(expanded.folders);
      progress({ state: 'running' });
      for (const failed of expanded.failed) record(failed);
      for (const file of removed) {
        signal.throwIfAborted();
        record(await this.removeFile(file));
      }
      for (const document of reembed) {
        signal.throwIfAborted();
        record(await this.reembedDocument(document, signal, (done, total) => progress({ state: 'running', current: document.source, currentChunks: { done, total } })));
      }
      for (const file of expanded.files) {
        signal.throwIfAborted();
        const outcome = await this.ingestFile(file, signal, (done, total) => progress({ state: 'running', current: file, currentChunks: { done, total } }));
        db.dequeue(file);
        record(outcome);
      }
      progress({ state: 'done', summary });
      logger.info({ jobId: job.jobId, ...summary, failed: summary.failed.length }, 'ingestion done');
      return summary;
    } catch (error) {
      const cancelled = signal.aborted;
      const closing = signal.reason instanceof AppClosing;
      // Cancelling means "not these files": the rest of the job leaves the queue. Closing the app keeps them queued.
      if (cancelled && !closing) for (const file of job.files) db.dequeue(file);
      const message = closing
        ? 'Stopped because the app is closing: the rest is ingested at the next start.'
        : cancelled
          ? 'Cancelled: the documents finished before it are kept.'
          : toErrorShape(error).message;
      progress({ state: cancelled ? 'cancelled' : 'failed', summary, message });
      if (!cancelled) logger.error({ jobId: job.jobId, reason: message }, 'ingestion failed');
      return summary;
    } finally {
      this.jobs.splice(this.jobs.indexOf(job), 1);
    }
  }

  /** One file, whole or not at all. Never throws except when cancelled: a bad file is an outcome. */
  private async ingestFile(file: string, signal: AbortSignal, onChunks: (done: number, total: number) => void): Promise<FileOutcome> {
    const { db, embedder } = this.deps;
    try {
      const contentHash = (await hashFile(file)).sha256;
      signal.throwIfAborted();
      const existing = db.documentBySource(file);
      if (existing && existing.contentHash === contentHash && existing.embedder === embedder.id) {
        return { source: file, status: 'unchanged', chunks: existing.chunks };
      }
      const stat = await fs.stat(file);
      const extracted = await extractDocument(file, { signal });
      const chunks = chunkDocument(extracted.text);
      if (chunks.length === 0) return { source: file, status: 'failed', reason: `${path.basename(file)} has no text.` };

      const documentId = documentIdOf(file);
      const embeddings = await this.embedChunks(chunks, signal, onChunks);
      const withIds = chunks.map((chunk, index) => ({ ...chunk, id: `${documentId}:${contentHash.slice(0, 8)}:${chunk.ordinal}`, embedding: embeddings[index]! }));
      signal.throwIfAborted();
      const inVectorStore = await this.writeVectors(withIds.map((chunk) => toVectorRecord(chunk, documentId, file)), signal);
      const oldIds = existing ? db.chunkIdsOf(existing.id) : [];
      signal.throwIfAborted();
      db.replaceDocument(
        { id: documentId, source: file, contentHash, format: extracted.format, bytes: stat.size, embedder: embedder.id, ingestedAt: Date.now(), inVectorStore },
        withIds,
      );
      const newIds = new Set(withIds.map((chunk) => chunk.id));
      const stale = oldIds.filter((id) => !newIds.has(id));
      if (stale.length > 0) await this.tryVectors((store) => store.deleteIds(stale));
      return { source: file, status: 'ingested', chunks: withIds.length };
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      const shape = toErrorShape(error);
      const reason = shape.code === 'DOCUMENT_REJECTED' || shape.code === 'EMBEDDER_FAILED' ? shape.message : `${path.basename(file)} could not be ingested (${codeOf(error)}).`;
      this.deps.logger.warn({ file, code: shape.code, reason }, 'document not ingested');
      return { source: file, status: 'failed', reason };
    }
  }

  /** A document made by another embedder, embedded again from its stored chunks; whole or not at all, like a file. */
  private async reembedDocument(document: DocumentRow, signal: AbortSignal, onChunks: (done: number, total: number) => void): Promise<FileOutcome> {
    const { db, embedder } = this.deps;
    try {
      const chunks = db.chunksOf(document.id);
      const embeddings = await this.embedChunks(chunks, signal, onChunks);
      const withVectors = chunks.map((chunk, index) => ({ ...chunk, embedding: embeddings[index]! }));
      const inVectorStore = await this.writeVectors(withVectors.map((chunk) => toVectorRecord(chunk, document.id, document.source)), signal);
      signal.throwIfAborted();
      db.replaceDocument({ ...document, embedder: embedder.id, inVectorStore }, withVectors);
      return { source: document.source, status: 'ingested', chunks: chunks.length };
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      const reason = `${path.basename(document.source)} could not be embedded again: ${toErrorShape(error).message}`;
      return { source: document.source, status: 'failed', reason };
    }
  }

  private async embedChunks(chunks: readonly DocumentChunk[], signal: AbortSignal, onChunks: (done: number, total: number) => void): Promise<Float32Array[]> {
    const vectors: Float32Array[] = [];
    let lastProgress = 0;
    for (let start = 0; start < chunks.length; start += EMBED_BATCH) {
      const batch = chunks.slice(start, start + EMBED_BATCH).map(embeddingTextOf);
      vectors.push(...(await this.deps.embedder.embed(batch, signal)));
      const now = Date.now();
      if (now - lastProgress >= PROGRESS_EVERY_MS || vectors.length === chunks.length) {
        lastProgress = now;
        onChunks(vectors.length, chunks.length);
      }
    }
    return vectors;
  }

  /** True when the vectors are in the index; false (and the document is synced later) when it is down. */
  private async writeVectors(records: VectorRecord[], signal: AbortSignal): Promise<boolean> {
    const store = this.deps.vectors();
    if (!store) return false;
    try {
      await store.upsert(records, signal);
      return true;
    } catch (error) {
      if (signal.aborted) {
        // Part of the file may be in the index: take it out again (search ignores unknown ids anyway).
        void this.tryVectors((each) => each.deleteIds(records.map((record) => record.id)));
        throw signal.reason;
      }
      this.deps.onVectorStoreFailure?.(error);
      return false;
    }
  }

  private async tryVectors(action: (store: VectorStore) => Promise<void>): Promise<void> {
    const store = this.deps.vectors();
    if (!store) return;
    try {
      await action(store);
    } catch (error) {
      this.deps.logger.warn({ reason: toErrorShape(error).message }, 'vector index not updated; it is reconciled when it is back');
    }
  }

  private async removeFile(file: string): Promise<FileOutcome> {
    const existing = this.deps.db.documentBySource(file);
    if (!existing) return { source: file, status: 'unchanged' };
    this.deps.db.deleteDocument(existing.id);
    await this.tryVectors((store) => store.deleteDocument(existing.id));
    return { source: file, status: 'removed' };
  }
}

/** What the embedder sees: the chunk with its headings, which often carry the words a question uses. */
export function embeddingTextOf(chunk: DocumentChunk): string {
  return chunk.headingPath.length > 0 ? `${chunk.headingPath.join(' › ')}\n${chunk.text}` : chunk.text;
}

export function toVectorRecord(chunk: DocumentChunk & { id: string; embedding: Float32Array }, documentId: string, source: string): VectorRecord {
  return { id: chunk.id, documentId, embedding: chunk.embedding, text: chunk.text, source, ordinal: chunk.ordinal };
}

function emptySummary(): IngestSummary {
  return { documents: 0, chunks: 0, unchanged: 0, removed: 0, failed: [] };
}

class AppClosing extends AgentError {
  constructor() {
    super('CANCELLED', 'The app is closing.');
  }
}
