import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest, type IncomingHttpHeaders, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AgentError } from '../../src-shared/contract/index.js';
import { silentLogger } from '../agent/agentLogger.js';
import { closedPort } from '../testing/closedPort.node.js';
import { ChromaServer, type ChromaServerState } from './chromaServer.node.js';
import { ChromaVectorStore, chromaCollectionName, type ChromaVectorStoreOptions } from './chromaVectorStore.node.js';
import type { VectorRecord } from './vectorStore.js';

const DIMENSIONS = 512;

/** A seeded generator (mulberry32), so the vectors are the same on every run. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normalise(vector: Float32Array): Float32Array {
  let norm = 0;
  for (const value of vector) norm += value * value;
  norm = Math.sqrt(norm);
  return vector.map((value) => value / norm);
}

function randomUnitVector(next: () => number): Float32Array {
  return normalise(Float32Array.from({ length: DIMENSIONS }, () => next() * 2 - 1));
}

/** `base` moved slightly: its nearest neighbour among random vectors by far. */
function nearDuplicate(base: Float32Array, next: () => number, amount = 0.02): Float32Array {
  return normalise(base.map((value) => value + (next() * 2 - 1) * amount));
}

function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i += 1) sum += a[i]! * b[i]!;
  return sum;
}

function record(documentId: string, ordinal: number, embedding: Float32Array): VectorRecord {
  return { id: `${documentId}:abcd1234:${ordinal}`, documentId, embedding, text: `chunk ${ordinal} of ${documentId}`, source: `/docs/${documentId}.md`, ordinal };
}

async function rejection(promise: Promise<unknown>): Promise<AgentError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AgentError);
  return error as AgentError;
}

async function waitUntil(condition: () => boolean, what: string, deadlineMs = 15_000): Promise<void> {
  const deadline = performance.now() + deadlineMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`Timed out after ${deadlineMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'chroma-store-'));
}

function newServer(states?: ChromaServerState[]): ChromaServer {
  const dir = tempDir();
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const server = new ChromaServer({
    dataDir: path.join(dir, 'chroma'),
    logger: silentLogger,
    restartBackoff: { initialMs: 100, maxMs: 1_000 },
    onStateChange: (state) => states?.push(state),
  });
  cleanups.push(() => server.stop());
  return server;
}


/** A server that accepts connections and never answers (a hung Chroma), and its open connections; closed after the test. */
async function hungServer(): Promise<{ url: string; sockets: ReadonlySet<Socket> }> {
  const sockets = new Set<Socket>();
  const hung = createTcpServer((socket) => {
    sockets.add(socket);
    socket.resume();
  });
  await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        hung.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(hung.address() as AddressInfo).port}`, sockets };
}

describe('ChromaVectorStore on a real Chroma server', () => {
  let shared: ChromaServer;
  let sharedDir: string;
  let embedderCount = 0;

  beforeAll(async () => {
    sharedDir = tempDir();
    shared = new ChromaServer({ dataDir: path.join(sharedDir, 'chroma'), logger: silentLogger });
    await shared.ensureRunning();
  });
  afterAll(async () => {
    await shared.stop();
    rmSync(sharedDir, { recursive: true, force: true });
  });

  /** A store with its own embedder id, so its collection is its own. */
  function newStore(options: Partial<ChromaVectorStoreOptions> = {}): ChromaVectorStore {
    embedderCount += 1;
    const store = new ChromaVectorStore({
      endpoint: (signal) => shared.ensureRunning(signal),
      embedderId: `test-embedder-${embedderCount}@${Date.now()}`,
      dimensions: DIMENSIONS,
      ...options,
    });
    cleanups.push(() => store.close());
    return store;
  }

  it('ranks the planted near-duplicate first among 2,000 random vectors, with cosine similarity', async () => {
    const next = random(42);
    const store = newStore();
    const vectors = Array.from({ length: 2_000 }, () => randomUnitVector(next));
    const records = vectors.map((vector, i) => record(`doc-${i % 40}`, i, vector));
    await store.upsert(records);
    expect(await store.count()).toBe(2_000);

    const target = records[1234]!;
    const question = nearDuplicate(target.embedding, next);
    const hits = await store.query(question, 5);
    expect(hits).toHaveLength(5);
    expect(hits[0]).toMatchObject({ id: target.id, documentId: target.documentId });
    expect(hits[0]!.similarity).toBeCloseTo(dot(question, target.embedding), 3);
    expect(hits[0]!.similarity).toBeGreaterThan(0.9);
    for (let i = 1; i < hits.length; i += 1) expect(hits[i]!.similarity).toBeLessThanOrEqual(hits[i - 1]!.similarity);
    // Random 512-d vectors are nearly orthogonal to the question.
    expect(Math.abs(hits[1]!.similarity)).toBeLessThan(0.3);
  });

  it('hand-made vectors: identical is 1, opposite is -1, and asking for more than it holds returns all of them', async () => {
    const axis = (i: number, sign = 1) => Float32Array.from({ length: DIMENSIONS }, (_, j) => (j === i ? sign : 0));
    const store = newStore();
    await store.upsert([record('a', 0, axis(0)), record('b', 0, axis(1)), record('c', 0, axis(0, -1))]);
    const hits = await store.query(axis(0), 100);
    expect(hits.map((hit) => hit.documentId)).toEqual(['a', 'b', 'c']);
    expect(hits[0]!.similarity).toBeCloseTo(1, 5);
    expect(hits[1]!.similarity).toBeCloseTo(0, 5);
    expect(hits[2]!.similarity).toBeCloseTo(-1, 5);
    expect(await store.query(axis(0), 0)).toEqual([]);
  });

  it('an empty collection answers a query with no hits', async () => {
    const store = newStore();
    expect(await store.query(randomUnitVector(random(1)), 10)).toEqual([]);
    expect(await store.count()).toBe(0);
    expect(await store.listIds()).toEqual([]);
  });

  it("deleteDocument removes only that document's chunks; deleteIds removes exactly those; upsert replaces by id", async () => {
    const next = random(7);
    const store = newStore();
    const records = ['alpha', 'beta', 'gamma'].flatMap((doc) => [0, 1, 2].map((ordinal) => record(doc, ordinal, randomUnitVector(next))));
    await store.upsert(records);
    await store.deleteDocument('beta');
    expect((await store.listIds()).sort()).toEqual(records.filter((r) => r.documentId !== 'beta').map((r) => r.id).sort());
    await store.deleteIds(['alpha:abcd1234:1', 'gamma:abcd1234:2', 'no-such-id']);
    expect((await store.listIds()).sort()).toEqual(['alpha:abcd1234:0', 'alpha:abcd1234:2', 'gamma:abcd1234:0', 'gamma:abcd1234:1']);
    expect(await store.count()).toBe(4);
    const beta = await store.query(records[4]!.embedding, 10);
    expect(beta.some((hit) => hit.documentId === 'beta')).toBe(false);

    // Same id again: replaced, not added (a batch naming one id twice keeps the last).
    const moved = randomUnitVector(next);
    await store.upsert([record('alpha', 0, randomUnitVector(next)), record('alpha', 0, moved)]);
    expect(await store.count()).toBe(4);
    expect((await store.query(moved, 1))[0]).toMatchObject({ id: 'alpha:abcd1234:0' });
  });

  it('clear drops every vector and the store keeps working; listIds pages through more than one page', async () => {
    const next = random(3);
    const store = newStore({ batchSize: 300 });
    const records = Array.from({ length: 2_100 }, (_, i) => record(`doc-${i % 7}`, i, randomUnitVector(next)));
    await store.upsert(records);
    const ids = await store.listIds();
    expect(ids).toHaveLength(2_100);
    expect(new Set(ids)).toEqual(new Set(records.map((r) => r.id)));

    await store.clear();
    expect(await store.count()).toBe(0);
    expect(await store.query(records[0]!.embedding, 3)).toEqual([]);
    await store.upsert(records.slice(0, 3));
    expect(await store.count()).toBe(3);
  });

  it("two embedders never share vectors: each has its own collection", async () => {
    const next = random(11);
    const first = newStore({ embedderId: 'use-lite@1' });
    const second = newStore({ embedderId: 'other-model@2' });
    expect(first.collectionName).not.toBe(second.collectionName);
    expect(first.collectionName).toBe(chromaCollectionName('use-lite@1', DIMENSIONS));
    expect(first.collectionName).toMatch(/^[a-zA-Z0-9][a-zA-Z0-9._-]{1,61}[a-zA-Z0-9]$/);
    await first.clear();
    await second.clear();
    await first.upsert([record('a', 0, randomUnitVector(next))]);
    expect(await first.count()).toBe(1);
    expect(await second.count()).toBe(0);
    expect(await second.query(randomUnitVector(next), 5)).toEqual([]);
  });

  it('refuses vectors of the wrong size before sending them', async () => {
    const store = newStore();
    const short = new Float32Array(DIMENSIONS - 1).fill(0.1);
    const upsertError = await rejection(store.upsert([record('a', 0, short)]));
    expect(upsertError.code).toBe('EMBEDDER_FAILED');
    expect(upsertError.message).toMatch(/511 dimensions/);
    expect((await rejection(store.query(short, 3))).code).toBe('EMBEDDER_FAILED');
    expect(await store.count()).toBe(0);
  });

  it('rejects with the signal reason when aborted', async () => {
    const store = newStore();
    const controller = new AbortController();
    controller.abort(new Error('barge-in'));
    await expect(store.query(randomUnitVector(random(5)), 3, controller.signal)).rejects.toThrow('barge-in');
  });

  it('a Chroma that answers 503 for a moment is tried again with backoff, and the call succeeds', async () => {
    const upstream = new URL((await shared.ensureRunning()).url);
    let unavailable = 2;
    const answered: number[] = [];
    // In front of the real server: the first requests get 503, the rest are passed on.
    const proxy: HttpServer = createHttpServer((request, response) => {
      if (unavailable > 0) {
        unavailable -= 1;
        answered.push(503);
        response.writeHead(503, { 'content-type': 'text/plain' }).end('Service Unavailable');
        return;
      }
      answered.push(0);
      const forwarded = httpRequest(
        { host: upstream.hostname, port: upstream.port, path: request.url, method: request.method, headers: request.headers },
        (upstreamResponse) => {
          response.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
          upstreamResponse.pipe(response);
        },
      );
      request.pipe(forwarded);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => proxy.close(() => resolve())));
    const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const store = newStore({ endpoint: async () => ({ url }), resilience: { retry: { initialDelayMs: 20 } } });

    expect(await store.count()).toBe(0);
    expect(answered.slice(0, 3)).toEqual([503, 503, 0]);
    expect(store.circuit.state).toBe('closed');
  });
});

describe('ChromaVectorStore and the server process', () => {
  it('survives kill -9 of the server: it restarts, the data is still there, and the next query answers', async () => {
    const states: ChromaServerState[] = [];
    const server = newServer(states);
    const store = new ChromaVectorStore({ endpoint: (signal) => server.ensureRunning(signal), embedderId: 'use-lite@1', dimensions: DIMENSIONS });
    cleanups.push(() => store.close());
    const next = random(99);
    const records = Array.from({ length: 300 }, (_, i) => record(`doc-${i % 3}`, i, randomUnitVector(next)));
    await store.upsert(records);
    const question = nearDuplicate(records[77]!.embedding, next);
    expect((await store.query(question, 1))[0]!.id).toBe(records[77]!.id);

    const firstPid = server.pid!;
    const firstUrl = (await server.ensureRunning()).url;
    process.kill(firstPid, 'SIGKILL');
    await waitUntil(() => states.includes('restarting'), "state 'restarting'");
    // The query itself waits for the restart (and finds the server wherever it now listens).
    const hits = await store.query(question, 3);
    expect(hits[0]!.id).toBe(records[77]!.id);
    expect(await store.count()).toBe(300);
    expect(server.state).toBe('running');
    expect(server.pid).not.toBe(firstPid);
    expect(states).toEqual(['starting', 'running', 'restarting', 'running']);
    expect((await server.ensureRunning()).url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(firstUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('follows the endpoint when it changes (a server that came back elsewhere), without waiting for a failure', async () => {
    const [first, second] = [newServer(), newServer()];
    let current = first;
    const store = new ChromaVectorStore({ endpoint: (signal) => current.ensureRunning(signal), embedderId: 'use-lite@1', dimensions: DIMENSIONS });
    cleanups.push(() => store.close());
    await store.upsert([record('a', 0, randomUnitVector(random(4)))]);
    expect(await store.count()).toBe(1);
    current = second;
    expect(await store.count()).toBe(0);
    current = first;
    expect(await store.count()).toBe(1);
  });

  it('a crash between calls is absorbed: the store asks for the endpoint again and retries once', async () => {
    const states: ChromaServerState[] = [];
    const server = newServer(states);
    const asked: string[] = [];
    let stale: string | undefined;
    // Hands out the old address once after the crash, like a caller that cached it.
    const store = new ChromaVectorStore({
      endpoint: async (signal) => {
        const endpoint = stale ? { url: stale } : await server.ensureRunning(signal);
        stale = undefined;
        asked.push(endpoint.url);
        return endpoint;
      },
      embedderId: 'use-lite@1',
      dimensions: DIMENSIONS,
    });
    cleanups.push(() => store.close());
    await store.upsert([record('a', 0, randomUnitVector(random(2)))]);
    const oldUrl = (await server.ensureRunning()).url;
    process.kill(server.pid!, 'SIGKILL');
    await waitUntil(() => server.state === 'running' && states.length === 4, 'the restart');
    stale = oldUrl;
    asked.length = 0;
    expect(await store.count()).toBe(1);
    expect(asked[0]).toBe(oldUrl);
    expect(asked).toHaveLength(2);
  });
});

describe('ChromaVectorStore when Chroma cannot be reached', () => {
  it('a closed port rejects quickly with VECTOR_STORE_UNAVAILABLE, after asking for the endpoint a second time', async () => {
    const port = await closedPort();
    let asked = 0;
    const store = new ChromaVectorStore({
      endpoint: async () => {
        asked += 1;
        return { url: `http://127.0.0.1:${port}` };
      },
      embedderId: 'use-lite@1',
      dimensions: DIMENSIONS,
    });
    const started = performance.now();
    const error = await rejection(store.query(new Float32Array(DIMENSIONS).fill(0.01), 3));
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(error.code).toBe('VECTOR_STORE_UNAVAILABLE');
    expect(error.message).toBe(`The document index (Chroma) is not reachable: nothing answers at http://127.0.0.1:${port}.`);
    expect(asked).toBe(2);
    for (const call of [() => store.count(), () => store.listIds(), () => store.deleteDocument('a'), () => store.clear()]) {
      expect((await rejection(call())).code).toBe('VECTOR_STORE_UNAVAILABLE');
    }
  });

  it('a dead Chroma opens the circuit breaker after five failed calls: the next calls fail at once, without trying', async () => {
    const port = await closedPort();
    let asked = 0;
    const states: string[] = [];
    const store = new ChromaVectorStore({
      endpoint: async () => {
        asked += 1;
        return { url: `http://127.0.0.1:${port}` };
      },
      embedderId: 'use-lite@1',
      dimensions: DIMENSIONS,
      resilience: { breaker: { halfOpenAfterMs: 60_000 } },
      onCircuitChange: (state) => states.push(state),
    });
    for (let call = 0; call < 5; call += 1) expect((await rejection(store.count())).message).toMatch(/nothing answers at/);
    expect(asked).toBe(10);
    expect(states).toEqual(['open']);

    const started = performance.now();
    const refused = await rejection(store.query(new Float32Array(DIMENSIONS).fill(0.01), 3));
    expect(performance.now() - started).toBeLessThan(20);
    expect(refused.code).toBe('VECTOR_STORE_UNAVAILABLE');
    expect(refused.message).toMatch(new RegExp(`^The document index \\(Chroma\\) at http://127\\.0\\.0\\.1:${port} failed 5 times in a row; it is tried again in (59|60) s\\.$`));
    expect(asked).toBe(10);
  });

  it("a hung Chroma: a search's deadline counts as a failure, so after five slow searches the next ones do not wait", async () => {
    const { url } = await hungServer();
    const store = new ChromaVectorStore({ endpoint: async () => ({ url }), embedderId: 'use-lite@1', dimensions: DIMENSIONS });
    const waits: number[] = [];
    for (let search = 0; search < 7; search += 1) {
      const started = performance.now();
      // What HybridSearch does: it waits this long for the vector index, then answers from keywords.
      const error = await store.query(new Float32Array(DIMENSIONS).fill(0.01), 3, AbortSignal.timeout(200)).catch((e: unknown) => e);
      waits.push(performance.now() - started);
      expect(error).toBeInstanceOf(Error);
    }
    for (const wait of waits.slice(0, 5)) expect(wait).toBeGreaterThanOrEqual(195);
    for (const wait of waits.slice(5)) expect(wait).toBeLessThan(20);
    expect(store.circuit.state).toBe('open');
  });

  it('an endpoint that cannot start passes its reason through', async () => {
    const store = new ChromaVectorStore({
      endpoint: async () => {
        throw new AgentError('VECTOR_STORE_UNAVAILABLE', 'The document index (Chroma) could not start: File exists');
      },
      embedderId: 'use-lite@1',
      dimensions: DIMENSIONS,
    });
    expect((await rejection(store.count())).message).toMatch(/could not start: File exists/);
  });

  it('a server that accepts connections and never answers fails the call at the request timeout; an abort ends it sooner', async () => {
    const { url, sockets } = await hungServer();
    const store = new ChromaVectorStore({ endpoint: async () => ({ url }), embedderId: 'use-lite@1', dimensions: DIMENSIONS, requestTimeoutMs: 300 });
    const started = performance.now();
    const error = await rejection(store.count());
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(error.code).toBe('VECTOR_STORE_UNAVAILABLE');
    expect(error.message).toMatch(/did not answer within 0\.3 s/);

    const patient = new ChromaVectorStore({ endpoint: async () => ({ url }), embedderId: 'use-lite@1', dimensions: DIMENSIONS });
    const controller = new AbortController();
    const connectionsBefore = sockets.size;
    const pending = patient.count(controller.signal);
    await waitUntil(() => sockets.size > connectionsBefore, 'the request to reach the server');
    const abortedAt = performance.now();
    controller.abort(new Error('barge-in'));
    await expect(pending).rejects.toThrow('barge-in');
    expect(performance.now() - abortedAt).toBeLessThan(2_000);
  });

  it('sends CHROMA_TOKEN in both headers Chroma reads, and says so when the server refuses it', async () => {
    const seen: IncomingHttpHeaders[] = [];
    const server: HttpServer = createHttpServer((request, response) => {
      seen.push(request.headers);
      response.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"Unauthorized"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const store = new ChromaVectorStore({ endpoint: async () => ({ url, token: 'tok-123' }), embedderId: 'use-lite@1', dimensions: DIMENSIONS });
    const error = await rejection(store.count());
    expect(error.code).toBe('VECTOR_STORE_UNAVAILABLE');
    expect(error.message).toMatch(/CHROMA_TOKEN/);
    expect(error.message).not.toContain('tok-123');
    expect(seen[0]).toMatchObject({ authorization: 'Bearer tok-123', 'x-chroma-token': 'tok-123' });
  });
});
