import { createHash } from 'node:crypto';
import {
  ChromaClient,
  ChromaConnectionError,
  ChromaForbiddenError,
  ChromaNotFoundError,
  ChromaRateLimitError,
  ChromaServerError,
  ChromaUnauthorizedError,
  type Collection,
} from 'chromadb';
import { AgentError } from '../../src-shared/contract/index.js';
import { abandonable } from '../agent/abandonable.js';
import { silentLogger, type AgentLogger } from '../agent/agentLogger.js';
import {
  formatSeconds,
  isAttemptTimeout,
  isCircuitOpenError,
  ResiliencePolicy,
  type Circuit,
  type CircuitStateName,
  type ResilienceTuning,
} from '../agent/resilience/resiliencePolicies.js';
import type { ChromaEndpoint } from './chromaServer.node.js';
import type { VectorHit, VectorRecord, VectorStore } from './vectorStore.js';

export interface ChromaVectorStoreOptions {
  /** The current endpoint: the local server's `ensureRunning`, or a fixed remote endpoint. Asked before each call. */
  endpoint: (signal?: AbortSignal) => Promise<ChromaEndpoint>;
  embedderId: string;
  dimensions: number;
  /** Records per upsert or delete request (default 500, never more than the server's max batch size). */
  batchSize?: number;
  /** One attempt's limit (default 30 s): a hung remote server fails the call instead of hanging it. */
  requestTimeoutMs?: number;
  logger?: AgentLogger;
  /** Retries and circuit breaker (tests shorten the delays). */
  resilience?: ResilienceTuning;
  /** The circuit breaker opened (calls fail at once, search is keyword-only without waiting), half-opened or closed. */
  onCircuitChange?: (state: CircuitStateName) => void;
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
 * A VectorStore on a Chroma collection (cosine space, our own embeddings), under the shared resilience policy: a call
 * is retried with backoff on a transient failure (429, 503), each attempt has a time limit, and a circuit breaker
 * makes calls fail at once while Chroma is down, so a dead Chroma does not slow every turn (retrieval answers from
 * keywords). Within an attempt, a call that cannot reach Chroma or finds its collection gone asks `endpoint()` again
 * (the server may have restarted elsewhere) and tries once more at once; after that it rejects with
 * VECTOR_STORE_UNAVAILABLE.
 */
export class ChromaVectorStore implements VectorStore {
  readonly collectionName: string;
  readonly #options: ChromaVectorStoreOptions;
  readonly #logger: AgentLogger;
  readonly #policy: ResiliencePolicy;
  #connection: Connection | undefined;
  /** The last address connected to, for messages about a call that did not get an answer. */
  #lastUrl: string | undefined;
  #closed = false;

  constructor(options: ChromaVectorStoreOptions) {
    if (!Number.isInteger(options.dimensions) || options.dimensions < 1) {
      throw new AgentError('INTERNAL', `A vector store needs a positive whole number of dimensions, got ${options.dimensions}.`);
    }
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
    this.collectionName = chromaCollectionName(options.embedderId, options.dimensions);
    this.#policy = new ResiliencePolicy({ isTransient: isChromaTransient, isOutage: isChromaOutage, ...options.resilience });
    if (options.onCircuitChange) this.#policy.circuit.onStateChange(options.onCircuitChange);
  }

  /** This store's circuit breaker. */
  get circuit(): Circuit {
    return this.#policy.circuit;
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
    await this.#call('upsert', signal, async (connection, attemptSignal) => {
      const collection = await this.#collection(connection);
      const batchSize = await this.#batchSize(connection);
      for (let start = 0; start < unique.length; start += batchSize) {
        attemptSignal.throwIfAborted();
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
    await this.#call('deleteIds', signal, async (connection, attemptSignal) => {
      const collection = await this.#collection(connection);
      const batchSize = await this.#batchSize(connection);
      for (let start = 0; start < unique.length; start += batchSize) {
        attemptSignal.throwIfAborted();
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
    return this.#call('listIds', signal, async (connection, attemptSignal) => {
      const collection = await this.#collection(connection);
      const pageSize = Math.max(await this.#batchSize(connection), 1000);
      const ids: string[] = [];
      for (let offset = 0; ; offset += pageSize) {
        attemptSignal.throwIfAborted();
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

  /** Runs `operation` under the policy: retries of transient failures, the circuit breaker, each attempt's time limit. */
  async #call<T>(
    what: string,
    signal: AbortSignal | undefined,
    operation: (connection: Connection, attemptSignal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    if (this.#closed) throw closedError();
    try {
      return await this.#policy.execute((attemptSignal) => this.#attempt(what, attemptSignal, operation), {
        signal,
        timeoutMs: this.#options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      });
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      throw this.#unavailable(error);
    }
  }

  /**
   * One attempt against the current endpoint. A connection failure or a missing collection (the server restarted,
   * maybe on another port; someone dropped the collection) asks for the endpoint again and tries once more at once.
   */
  async #attempt<T>(what: string, signal: AbortSignal, operation: (connection: Connection, attemptSignal: AbortSignal) => Promise<T>): Promise<T> {
    for (let round = 1; ; round += 1) {
      if (this.#closed) throw closedError();
      signal.throwIfAborted();
      let connection: Connection | undefined;
      try {
        connection = await this.#connect(signal);
        signal.throwIfAborted();
        // Chroma's client takes no signal: the wait is abandoned, the request is left to finish on its own.
        return await abandonable(operation(connection, signal), signal);
      } catch (error) {
        if (signal.aborted || error instanceof AgentError) throw error;
        const followEndpoint = error instanceof ChromaConnectionError || error instanceof ChromaNotFoundError;
        if (connection && this.#connection === connection) this.#connection = undefined;
        if (!followEndpoint || round > 1) throw error;
        this.#logger.debug({ operation: what, err: errorMessage(error) }, 'Chroma call failed; asking for the endpoint again');
      }
    }
  }

  #unavailable(error: unknown): AgentError {
    if (error instanceof AgentError) return error;
    const where = this.#connection?.url ?? this.#lastUrl ?? 'the server';
    if (isCircuitOpenError(error)) {
      const { circuit } = this.#policy;
      return new AgentError(
        'VECTOR_STORE_UNAVAILABLE',
        `The document index (Chroma) at ${where} failed ${circuit.failuresToOpen} times in a row; it is tried again in ${formatSeconds(circuit.retryInMs)}.`,
      );
    }
    if (isAttemptTimeout(error)) {
      return new AgentError('VECTOR_STORE_UNAVAILABLE', `The document index (Chroma) is not reachable: ${where} did not answer within ${formatSeconds(error.timeoutMs)}.`);
    }
    return unavailableError(error, where);
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
    this.#lastUrl = url.origin;
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
}

function closedError(): AgentError {
  return new AgentError('VECTOR_STORE_UNAVAILABLE', 'The document index (Chroma) has been closed.');
}

/** Worth another try: Chroma is rate limiting (429) or says it is unavailable for now (503). */
function isChromaTransient(error: unknown): boolean {
  return error instanceof ChromaRateLimitError || (error instanceof ChromaServerError && /\b503\b|unavailable/i.test(error.message));
}

/**
 * Counts against the circuit breaker: Chroma cannot be reached (after following the endpoint once), fails on its side
 * (5xx), or cannot be started. Not a request it refuses (400, a bad token, a missing collection).
 */
function isChromaOutage(error: unknown): boolean {
  if (error instanceof AgentError) return error.code === 'VECTOR_STORE_UNAVAILABLE';
  return error instanceof ChromaConnectionError || error instanceof ChromaServerError || error instanceof ChromaRateLimitError || isNetworkError(error);
}

function unavailableError(error: unknown, where: string): AgentError {
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
