import { createHash } from 'node:crypto';
import { ChromaClient, ChromaConnectionError, ChromaForbiddenError, ChromaNotFoundError, ChromaUnauthorizedError, type Collection } from 'chromadb';
import { AgentError } from '../../src-shared/contract/index.js';
import { silentLogger, type AgentLogger } from '../agent/agentLogger.js';
import type { ChromaEndpoint } from './chromaServer.node.js';
import type { VectorHit, VectorRecord, VectorStore } from './vectorStore.js';

export interface ChromaVectorStoreOptions {
  /** The current endpoint: the local server's `ensureRunning`, or a fixed remote endpoint. Asked before each call. */
  endpoint: (signal?: AbortSignal) => Promise<ChromaEndpoint>;
  embedderId: string;
  dimensions: number;
  /** Records per upsert or delete request (default 500, never more than the server's max batch size). */
  batchSize?: number;
  /** One request's limit (default 30 s): a hung remote server fails the call instead of hanging it. */
  requestTimeoutMs?: number;
  logger?: AgentLogger;
}

const DEFAULT_BATCH_SIZE = 500;
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** More results than this are never useful for retrieval, and keep one response bounded. */
const MAX_QUERY_RESULTS = 10_000;

/**
 * The collection of one embedder: `docs-` and 16 hex digits of a hash of the embedder id and dimensions (within Chroma's
 * 3–63 characters of [a-zA-Z0-9._-]), so vectors of two embedders never share a collection.
 */
export function chromaCollectionName(embedderId: string, dimensions: number): string {
  const digest = createHash('sha256').update(`${embedderId}\u0000${dimensions}`).digest('hex');
  return `docs-${digest.slice(0, 16)}`;
}

/** Collections per endpoint: a restarted server on a new port, or a new token, gets a new client. */
interface Connection {
  key: string;
  url: string;
  client: ChromaClient;
  collection: Promise<Collection> | undefined;
  batchSize: Promise<number> | undefined;
}

/**
 * A VectorStore on a Chroma collection (cosine space, our own embeddings). A call that cannot reach Chroma asks
 * `endpoint()` again (the server may have restarted elsewhere) and retries once; after that it rejects with
 * VECTOR_STORE_UNAVAILABLE, and retrieval falls back to keywords.
 */
export class ChromaVectorStore implements VectorStore {
  readonly collectionName: string;
  readonly #options: ChromaVectorStoreOptions;
  readonly #logger: AgentLogger;
  #connection: Connection | undefined;
  #closed = false;

  constructor(options: ChromaVectorStoreOptions) {
    if (!Number.isInteger(options.dimensions) || options.dimensions < 1) {
      throw new AgentError('INTERNAL', `A vector store needs a positive whole number of dimensions, got ${options.dimensions}.`);
    }
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
    this.collectionName = chromaCollectionName(options.embedderId, options.dimensions);
  }

  async upsert(records: readonly VectorRecord[], signal?: AbortSignal): Promise<void> {
    if (records.length === 0) return;
    // Chroma rejects a batch that names an id twice; the last record of an id wins, as in a sequence of upserts.
    const byId = new Map<string, VectorRecord>();
    for (const record of records) {
      this.#checkEmbedding(record.embedding, `chunk ${record.id}`);
      byId.set(record.id, record);
    }
    const unique = [...byId.values()];
    await this.#call('upsert', signal, async (connection) => {
      const collection = await this.#collection(connection);
      const batchSize = await this.#batchSize(connection);
      for (let start = 0; start < unique.length; start += batchSize) {
        signal?.throwIfAborted();
        const batch = unique.slice(start, start + batchSize);
        await collection.upsert({
          ids: batch.map((record) => record.id),
          embeddings: batch.map((record) => Array.from(record.embedding)),
          documents: batch.map((record) => record.text),
          metadatas: batch.map((record) => ({ documentId: record.documentId, source: record.source, ordinal: record.ordinal })),
        });
      }
    });
  }

  async deleteIds(ids: readonly string[], signal?: AbortSignal): Promise<void> {
    if (ids.length === 0) return;
    const unique = [...new Set(ids)];
    await this.#call('deleteIds', signal, async (connection) => {
      const collection = await this.#collection(connection);
      const batchSize = await this.#batchSize(connection);
      for (let start = 0; start < unique.length; start += batchSize) {
        signal?.throwIfAborted();
        await collection.delete({ ids: unique.slice(start, start + batchSize) });
      }
    });
  }

  async deleteDocument(documentId: string, signal?: AbortSignal): Promise<void> {
    await this.#call('deleteDocument', signal, async (connection) => {
      const collection = await this.#collection(connection);
      await collection.delete({ where: { documentId } });
    });
  }

  async query(embedding: Float32Array, n: number, signal?: AbortSignal): Promise<VectorHit[]> {
    this.#checkEmbedding(embedding, 'the question');
    if (!(n >= 1)) return [];
    const nResults = Math.min(Math.floor(n), MAX_QUERY_RESULTS);
    return this.#call('query', signal, async (connection) => {
      const collection = await this.#collection(connection);
      const result = await collection.query({ queryEmbeddings: [Array.from(embedding)], nResults, include: ['distances', 'metadatas'] });
      const ids = result.ids[0] ?? [];
      const distances = result.distances[0] ?? [];
      const metadatas = result.metadatas[0] ?? [];
      const hits: VectorHit[] = [];
      ids.forEach((id, index) => {
        const distance = distances[index];
        const documentId = metadatas[index]?.documentId;
        // Chroma's answer crossed a process boundary: a row without the fields we rely on is skipped, not trusted.
        if (typeof distance !== 'number' || !Number.isFinite(distance) || typeof documentId !== 'string') return;
        hits.push({ id, documentId, similarity: 1 - distance });
      });
      return hits.sort((a, b) => b.similarity - a.similarity);
    });
  }

  async listIds(signal?: AbortSignal): Promise<string[]> {
    return this.#call('listIds', signal, async (connection) => {
      const collection = await this.#collection(connection);
      const pageSize = Math.max(await this.#batchSize(connection), 1000);
      const ids: string[] = [];
      for (let offset = 0; ; offset += pageSize) {
        signal?.throwIfAborted();
        const page = await collection.get({ include: [], limit: pageSize, offset });
        ids.push(...page.ids);
        if (page.ids.length < pageSize) return ids;
      }
    });
  }

  async count(signal?: AbortSignal): Promise<number> {
    return this.#call('count', signal, async (connection) => (await this.#collection(connection)).count());
  }

  async clear(signal?: AbortSignal): Promise<void> {
    await this.#call('clear', signal, async (connection) => {
      connection.collection = undefined;
      try {
        await connection.client.deleteCollection({ name: this.collectionName });
      } catch (error) {
        if (!(error instanceof ChromaNotFoundError)) throw error;
      }
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#connection = undefined;
  }

  #checkEmbedding(embedding: Float32Array, what: string): void {
    if (embedding.length !== this.#options.dimensions) {
      throw new AgentError(
        'EMBEDDER_FAILED',
        `The vector of ${what} has ${embedding.length} dimensions; the document index of ${this.#options.embedderId} holds ${this.#options.dimensions}.`,
      );
    }
    if (!embedding.every(Number.isFinite)) throw new AgentError('EMBEDDER_FAILED', `The vector of ${what} holds a value that is not a number.`);
  }

  /** Runs `operation` against the current endpoint; on a connection failure asks for the endpoint again and retries once. */
  async #call<T>(what: string, signal: AbortSignal | undefined, operation: (connection: Connection) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      if (this.#closed) throw new AgentError('VECTOR_STORE_UNAVAILABLE', 'The document index (Chroma) has been closed.');
      signal?.throwIfAborted();
      let connection: Connection | undefined;
      try {
        connection = await this.#connect(signal);
        signal?.throwIfAborted();
        return await this.#bounded(operation(connection), signal, connection.url);
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        if (error instanceof AgentError) throw error;
        // A refused connection: the server restarted (maybe on another port). Not found: someone dropped the collection.
        const retry = error instanceof ChromaConnectionError || error instanceof ChromaNotFoundError;
        if (connection && this.#connection === connection) this.#connection = undefined;
        if (retry && attempt === 1) {
          this.#logger.debug({ operation: what, err: errorMessage(error) }, 'Chroma call failed; asking for the endpoint again');
          continue;
        }
        throw unavailableError(error, connection?.url);
      }
    }
  }

  async #connect(signal: AbortSignal | undefined): Promise<Connection> {
    let endpoint: ChromaEndpoint;
    try {
      endpoint = await this.#options.endpoint(signal);
    } catch (error) {
      if (signal?.aborted || error instanceof AgentError) throw error;
      throw new AgentError('VECTOR_STORE_UNAVAILABLE', `The document index (Chroma) is not reachable: ${errorMessage(error)}`);
    }
    const key = `${endpoint.url}\u0000${endpoint.token ?? ''}`;
    if (this.#connection?.key === key) return this.#connection;
    const url = new URL(endpoint.url);
    const ssl = url.protocol === 'https:';
    const headers: Record<string, string> = {};
    if (endpoint.token) {
      // Chroma's token auth reads one of these two, depending on the server's setting.
      headers.Authorization = `Bearer ${endpoint.token}`;
      headers['x-chroma-token'] = endpoint.token;
    }
    const client = new ChromaClient({ host: url.hostname, port: url.port ? Number(url.port) : ssl ? 443 : 80, ssl, headers });
    this.#connection = { key, url: url.origin, client, collection: undefined, batchSize: undefined };
    return this.#connection;
  }

  #collection(connection: Connection): Promise<Collection> {
    if (!connection.collection) {
      const opening = this.#openCollection(connection.client);
      connection.collection = opening;
      opening.catch(() => {
        if (connection.collection === opening) connection.collection = undefined;
      });
    }
    return connection.collection;
  }

  async #openCollection(client: ChromaClient): Promise<Collection> {
    const { embedderId, dimensions } = this.#options;
    const collection = await client.getOrCreateCollection({
      name: this.collectionName,
      embeddingFunction: null,
      configuration: { hnsw: { space: 'cosine' } },
      metadata: { embedder: embedderId, dimensions },
    });
    const recorded = collection.metadata?.embedder;
    if (recorded !== undefined && recorded !== embedderId) {
      throw new AgentError(
        'VECTOR_STORE_UNAVAILABLE',
        `The Chroma collection ${this.collectionName} holds vectors of ${String(recorded)}, not of ${embedderId}.`,
      );
    }
    return collection;
  }

  #batchSize(connection: Connection): Promise<number> {
    connection.batchSize ??= connection.client.getMaxBatchSize().then(
      (serverMax) => {
        const wanted = this.#options.batchSize ?? DEFAULT_BATCH_SIZE;
        return serverMax > 0 ? Math.min(wanted, serverMax) : wanted;
      },
      (error: unknown) => {
        connection.batchSize = undefined;
        throw error;
      },
    );
    return connection.batchSize;
  }

  /** The caller's signal and the request timeout bound the wait; an abandoned request is left to finish on its own. */
  async #bounded<T>(work: Promise<T>, signal: AbortSignal | undefined, url: string): Promise<T> {
    const timeoutMs = this.#options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    try {
      return await new Promise<T>((resolve, reject) => {
        work.then(resolve, reject);
        timer = setTimeout(() => {
          reject(
            new AgentError(
              'VECTOR_STORE_UNAVAILABLE',
              `The document index (Chroma) is not reachable: ${url} did not answer within ${Math.round(timeoutMs / 100) / 10} s.`,
            ),
          );
        }, timeoutMs);
        if (signal) {
          if (signal.aborted) return reject(signal.reason);
          onAbort = () => reject(signal.reason);
          signal.addEventListener('abort', onAbort, { once: true });
        }
      });
    } finally {
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    }
  }
}

function unavailableError(error: unknown, url: string | undefined): AgentError {
  const where = url ?? 'the server';
  if (error instanceof ChromaUnauthorizedError || error instanceof ChromaForbiddenError) {
    return new AgentError('VECTOR_STORE_UNAVAILABLE', `The document index (Chroma) at ${where} refused the request: check CHROMA_TOKEN.`);
  }
  if (error instanceof ChromaConnectionError || isNetworkError(error)) {
    return new AgentError('VECTOR_STORE_UNAVAILABLE', `The document index (Chroma) is not reachable: nothing answers at ${where}.`, errorMessage(error));
  }
  return new AgentError('VECTOR_STORE_UNAVAILABLE', `The document index (Chroma) at ${where} failed: ${errorMessage(error)}`);
}

function isNetworkError(error: unknown): boolean {
  const text = `${errorMessage(error)} ${error instanceof Error && error.cause instanceof Error ? error.cause.message : ''}`;
  return /fetch failed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH|socket hang up/i.test(text);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
