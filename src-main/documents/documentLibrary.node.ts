import fs from 'node:fs';
import path from 'node:path';
import {
  AgentError,
  toErrorShape,
  type AgentEvent,
  type CommandResult,
  type DocsStatus,
  type IngestSummary,
} from '../../src-shared/contract/index.js';
import type { AgentLogger } from '../agent/agentLogger.js';
import type { CommandHandlers } from '../agent/commandHandlers.js';
import type { SqliteOpenOptions } from '../agent/memory/sqliteDatabase.node.js';
import type { ResilienceTuning } from '../agent/resilience/resiliencePolicies.js';
import { ChromaServer, chromaServerSupport, type ChromaEndpoint } from './chromaServer.node.js';
import { ChromaVectorStore } from './chromaVectorStore.node.js';
import { DocumentDatabase, documentsDirOf, type DocumentRow } from './documentDatabase.node.js';
import { DocumentIngestion } from './documentIngestion.node.js';
import { roundedScore } from './documentRetrievalStep.js';
import type { Embedder } from './embedder.js';
import { FolderWatcher } from './folderWatcher.node.js';
import { HybridSearch, type SearchTuning } from './hybridSearch.node.js';
import { VectorStoreSync } from './vectorStoreSync.node.js';
import type { VectorStore } from './vectorStore.js';

export interface DocumentLibraryOptions {
  dataDir: string;
  /** The embedder (with its cache) that made, or will make, the vectors. */
  embedder: (db: DocumentDatabase) => Embedder;
  emit: (event: AgentEvent) => void;
  logger: AgentLogger;
  /** A remote Chroma (CHROMA_URL); absent: a local server is started when first needed. */
  remoteChroma?: ChromaEndpoint;
  /** Tests: how the local server is started (its restart backoff). */
  chromaServer?: { restartBackoff?: { initialMs: number; maxMs: number } };
  /** Tests: the vector store's retries and circuit breaker (shorter delays). */
  chromaResilience?: ResilienceTuning;
  tuning?: Partial<SearchTuning>;
  /** How long a search waits for the vector index before answering with keyword results only. */
  vectorTimeoutMs?: number;
  /** How documents.sqlite3 is opened: the driver's addon, and the profile's encryption and key. */
  database?: SqliteOpenOptions;
  /** Watch folders and resume queued ingestion (the app); off for one-shot CLI commands. */
  background?: boolean;
}

/**
 * The user's documents: ingestion (with progress, Cancel, dedupe and folder watching), hybrid search, and the
 * retrieval step of a turn. SQLite holds everything; Chroma (a supervised local server, or CHROMA_URL) is the vector
 * index, started lazily by the first ingestion or search, so a user without documents pays nothing.
 */
export class DocumentLibrary {
  readonly db: DocumentDatabase;
  readonly embedder: Embedder;
  private readonly server: ChromaServer | undefined;
  private readonly store: VectorStore | undefined;
  private readonly unsupported: string | undefined;
  private readonly search: HybridSearch;
  private readonly ingestion: DocumentIngestion;
  private readonly watcher: FolderWatcher;
  private readonly sync: VectorStoreSync | undefined;
  private limitedNotice: string | undefined;
  private closed = false;

  constructor(private readonly options: DocumentLibraryOptions) {
    const { dataDir, logger, remoteChroma } = options;
    this.db = new DocumentDatabase(dataDir, options.database);
    this.embedder = options.embedder(this.db);
    const support = chromaServerSupport();
    // Once Chroma answers again after its circuit breaker opened, what was ingested meanwhile is added to it.
    const onCircuitChange = (state: string) => {
      logger.info({ circuit: state }, 'document index circuit breaker');
      if (state === 'closed') void this.sync?.run().catch(() => undefined);
    };
    const resilience = options.chromaResilience;
    if (remoteChroma) {
      this.store = new ChromaVectorStore({
        endpoint: async () => remoteChroma,
        embedderId: this.embedder.id,
        dimensions: this.embedder.dimensions,
        onCircuitChange,
        ...(resilience && { resilience }),
      });
    } else if (support.supported) {
      this.server = new ChromaServer({
        dataDir: path.join(documentsDirOf(dataDir), 'chroma'),
        logger,
        ...options.chromaServer,
        onStateChange: (state, detail) => this.onServerState(state, detail),
      });
      const server = this.server;
      this.store = new ChromaVectorStore({
        endpoint: (signal) => server.ensureRunning(signal),
        embedderId: this.embedder.id,
        dimensions: this.embedder.dimensions,
        onCircuitChange,
        ...(resilience && { resilience }),
      });
    } else {
      this.unsupported = support.reason;
    }
    const vectors = () => this.store;
    this.sync = this.store && new VectorStoreSync({ db: this.db, store: this.store, logger });
    this.search = new HybridSearch({ db: this.db, embedder: this.embedder, vectors, ...(options.tuning && { tuning: options.tuning }), vectorTimeoutMs: options.vectorTimeoutMs ?? 1_500 });
    this.ingestion = new DocumentIngestion({
      db: this.db,
      embedder: this.embedder,
      vectors,
      emit: options.emit,
      logger,
      onVectorStoreFailure: (error) => this.noteLimited(`Documents are limited to keyword search: ${toErrorShape(error).message}`),
      onWatch: (folders) => this.watchFolders(folders),
    });
    this.watcher = new FolderWatcher({
      logger,
      onChanges: (changes) => void this.ingestion.start({ paths: changes.changed, removed: changes.removed }),
    });
    if (options.background) this.startBackground();
  }

  ingest(paths: readonly string[], watch = false): { jobId: string; done: Promise<IngestSummary> } {
    this.assertOpen();
    return this.ingestion.start({ paths: paths.map((each) => path.resolve(each)), watch });
  }

  /**
   * When the embedder setting changed, the documents made by the old one are embedded again (from their stored
   * chunks, with progress) instead of mixing vectors of two models; until then search leaves them out.
   */
  reembedStale(): { jobId: string; done: Promise<IngestSummary> } | undefined {
    const stale = this.db.documentsEmbeddedOtherThan(this.embedder.id);
    if (stale.length === 0) return undefined;
    this.options.logger.info({ documents: stale.length, embedder: this.embedder.id }, 'embedding documents again for a new embedder');
    return this.ingestion.start({ paths: [], reembed: stale });
  }

  cancel(jobId: string): boolean {
    return this.ingestion.cancel(jobId);
  }

  listDocuments(): DocumentRow[] {
    return this.db.listDocuments();
  }

  /** Removes a document by id or path; a folder removes everything under it and stops watching it. */
  async remove(target: string): Promise<number> {
    this.assertOpen();
    const byId = this.db.documentById(target);
    const absolute = path.resolve(target);
    const documents = byId ? [byId] : [this.db.documentBySource(absolute), ...this.db.documentsUnder(absolute)].filter((each): each is DocumentRow => each !== undefined);
    const unwatched = this.db.removeWatchedFolder(absolute);
    if (unwatched) this.watcher.unwatch(absolute);
    if (documents.length === 0 && !unwatched) {
      throw new AgentError('NOT_FOUND', `No ingested document is ${target}. See the list with: assistant docs list`);
    }
    for (const document of documents) {
      this.db.deleteDocument(document.id);
      this.db.dequeue(document.source);
      try {
        await this.store?.deleteDocument(document.id);
      } catch (error) {
        // Its vectors are removed when the index is reconciled; search already ignores them.
        this.options.logger.warn({ documentId: document.id, reason: toErrorShape(error).message }, 'vectors not removed yet');
      }
    }
    return documents.length;
  }

  async searchNoting(query: string, signal?: AbortSignal) {
    const outcome = await this.search.search(query, signal);
    if (outcome.degraded) this.noteLimited(outcome.degraded);
    else if (this.store && this.db.hasChunks()) this.noteRestored();
    return outcome;
  }

  /** What a question would retrieve, as `docs:search` and `assistant search` show it. */
  async searchResults(query: string, limit?: number): Promise<CommandResult<'docs:search'>> {
    const outcome = await this.searchNoting(query);
    const results = outcome.results.slice(0, limit ?? outcome.results.length).map((chunk) => ({
      source: chunk.source,
      chunk: chunk.ordinal,
      chunkId: chunk.id,
      score: roundedScore(chunk.similarity),
      text: chunk.text,
      headingPath: chunk.headingPath,
    }));
    return outcome.degraded ? { results, notice: outcome.degraded } : { results };
  }

  status(): DocsStatus {
    const vectorStore: DocsStatus['vectorStore'] = this.unsupported
      ? { kind: 'unsupported', state: 'unsupported', message: this.unsupported }
      : this.server
        ? { kind: 'local', state: this.server.state, ...(this.limitedNotice && { message: this.limitedNotice }) }
        : { kind: 'remote', state: this.limitedNotice ? 'unreachable' : 'configured', ...(this.limitedNotice && { message: this.limitedNotice }) };
    return {
      documents: this.db.documentCount(),
      chunks: this.db.chunkCount(),
      watched: this.db.watchedFolders(),
      vectorStore,
      embedder: this.embedder.id,
      jobs: [...this.ingestion.pendingJobs],
    };
  }

  get handlers(): CommandHandlers {
    return {
      'docs:ingest': (args) => ({ jobId: this.ingest(args.paths, args.watch ?? false).jobId }),
      'docs:upload': (args) => ({ jobId: this.ingest([this.saveUpload(args.name, args.dataBase64)]).jobId }),
      'docs:cancel': (args) => ({ cancelled: this.cancel(args.jobId) }),
      'docs:list': () => ({
        documents: this.listDocuments().map(({ id, source, format, chunks, bytes, ingestedAt }) => ({ id, source, format, chunks, bytes, ingestedAt })),
      }),
      'docs:status': () => this.status(),
      'docs:remove': async (args) => ({ removed: await this.remove(args.target) }),
      'docs:search': (args) => this.searchResults(args.query, args.limit),
      'docs:chunk': (args) => {
        const chunk = this.db.chunksById([args.chunkId]).get(args.chunkId);
        if (!chunk) throw new AgentError('NOT_FOUND', 'That passage is no longer in your documents (the file was changed or removed).');
        return { source: chunk.source, chunk: chunk.ordinal, headingPath: chunk.headingPath, text: chunk.text };
      },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.watcher.close();
    await this.ingestion.close();
    await this.sync?.close();
    await this.embedder.close();
    await this.store?.close();
    await this.server?.stop();
    this.db.close();
  }

  /** Folders watched, queued files resumed, and (when there are documents) the embedder and the index warmed. */
  private startBackground(): void {
    const watched = this.db.watchedFolders();
    // What changed while the app was closed: each watched folder is walked again (unchanged files cost a hash).
    const gone = this.db.listDocuments().filter((doc) => watched.some((folder) => doc.source.startsWith(folder + path.sep)) && !fs.existsSync(doc.source));
    if (watched.length > 0) this.ingestion.start({ paths: watched, removed: gone.map((doc) => doc.source) });
    this.watcher.watch(watched);
    this.reembedStale();
    this.ingestion.resumeQueued();
    if (this.db.documentCount() > 0) {
      void this.embedder.embed(['warm up']).catch(() => undefined);
      void this.sync?.run().catch(() => undefined);
    }
  }

  private watchFolders(folders: string[]): void {
    for (const folder of folders) this.db.addWatchedFolder(folder);
    this.watcher.watch(folders);
  }

  /** A file dropped in a browser has no path: its bytes are kept under the data dir and ingested from there. */
  private saveUpload(name: string, dataBase64: string): string {
    const folder = path.join(documentsDirOf(this.options.dataDir), 'uploads');
    fs.mkdirSync(folder, { recursive: true, mode: 0o700 });
    const safe = path.basename(name).replace(/[^\p{L}\p{N}._ -]/gu, '_').replace(/^[.\s]+/, '').slice(0, 200) || 'document.txt';
    const bytes = Buffer.from(dataBase64, 'base64');
    if (bytes.length === 0 && dataBase64.replace(/=+$/, '').length > 0) {
      throw new AgentError('DOCUMENT_REJECTED', `${safe} did not arrive whole (its data is not base64).`);
    }
    // Another file of the same name is kept beside it ("notes (2).txt"), never overwritten; the same file again is the same document.
    const { name: stem, ext } = path.parse(safe);
    for (let n = 1; ; n += 1) {
      const file = path.join(folder, n === 1 ? safe : `${stem} (${n})${ext}`);
      if (fs.existsSync(file) && !fs.readFileSync(file).equals(bytes)) continue;
      fs.writeFileSync(file, bytes, { mode: 0o600 });
      return file;
    }
  }

  private onServerState(state: string, detail?: string): void {
    this.options.logger.info({ state, ...(detail && { detail }) }, 'document index server');
    if (state === 'running') void this.sync?.run().catch(() => undefined);
  }

  /** Once per change from full to keyword-only search; while it lasts, the status keeps the latest reason. */
  private noteLimited(message: string): void {
    const already = this.limitedNotice !== undefined;
    this.limitedNotice = message;
    if (!already) this.options.emit({ type: 'notice', level: 'warning', message });
  }

  private noteRestored(): void {
    if (this.limitedNotice === undefined) return;
    this.limitedNotice = undefined;
    this.options.emit({ type: 'notice', level: 'info', message: 'Document search is fully back.' });
  }

  private assertOpen(): void {
    if (this.closed) throw new AgentError('INTERNAL', 'The document library has closed.');
  }
}

