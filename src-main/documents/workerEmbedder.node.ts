import { Worker } from 'node:worker_threads';
import { AgentError } from '../../src-shared/contract/index.js';
import { resolveWorkerScript } from '../platform/workerScript.node.js';
import { type Embedder, hasNoWords } from './embedder.js';
import { type EmbeddingBackend, type EmbeddingWorkerData, EmbeddingWorkerReply, type EmbeddingWorkerRequest } from './embeddingWorkerProtocol.js';

export interface WorkerEmbedderOptions {
  /** The most texts one model call takes (default 16: on 2 cores USE-lite embeds as many texts a second at 8 as at 64). */
  maxBatchTexts?: number;
}

/**
 * An Embedder whose model runs in a worker thread (`embeddingWorker.node.ts`), started on the first embed and kept
 * for the next ones. The worker holds the process open only while a request is outstanding. If it dies, the
 * outstanding requests fail with EMBEDDER_FAILED and the next embed starts a fresh one. UseLiteEmbedder and
 * OnnxEmbedder are this with a different model.
 */
export class WorkerEmbedder implements Embedder {
  #worker: Promise<Worker> | undefined;
  #nextRequestId = 1;
  readonly #outstanding = new Map<number, OutstandingEmbed>();
  readonly #workerData: EmbeddingWorkerData;

  constructor(
    readonly id: string,
    readonly dimensions: number,
    backend: EmbeddingBackend,
    options: WorkerEmbedderOptions = {},
  ) {
    this.#workerData = { backend, dimensions, maxBatchTexts: options.maxBatchTexts ?? 16 };
  }

  async embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]> {
    signal?.throwIfAborted();
    const vectors = texts.map(() => new Float32Array(this.dimensions));
    const modelIndexes = texts.flatMap((text, index) => (hasNoWords(text) ? [] : [index]));
    if (modelIndexes.length === 0) return vectors;
    const embedded = await this.#send(
      modelIndexes.map((index) => texts[index]!),
      signal,
    );
    modelIndexes.forEach((index, i) => (vectors[index] = embedded.slice(i * this.dimensions, (i + 1) * this.dimensions)));
    return vectors;
  }

  /** Stops the worker; outstanding requests reject with CANCELLED. A later embed starts a new worker. */
  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    for (const id of [...this.#outstanding.keys()]) this.#settle(id)?.reject(new AgentError('CANCELLED', 'The embedder was closed.'));
    await worker?.then((started) => started.terminate(), () => undefined);
  }

  #send(texts: string[], signal: AbortSignal | undefined): Promise<Float32Array> {
    const id = this.#nextRequestId++;
    return new Promise((resolve, reject) => {
      // Reject now with the signal's reason; the worker drops the request if it is still queued.
      const onAbort = () => {
        this.#settle(id)?.reject(signal!.reason);
        void this.#worker?.then((worker) => worker.postMessage({ type: 'cancel', id } satisfies EmbeddingWorkerRequest), () => undefined);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#outstanding.set(id, { resolve, reject, stopListening: () => signal?.removeEventListener('abort', onAbort) });
      this.#runningWorker().then(
        (worker) => {
          if (!this.#outstanding.has(id)) return;
          worker.ref();
          worker.postMessage({ type: 'embed', id, texts } satisfies EmbeddingWorkerRequest);
        },
        (error: unknown) => this.#settle(id)?.reject(error),
      );
    });
  }

  #runningWorker(): Promise<Worker> {
    if (this.#worker === undefined) {
      const starting = startWorker(this.#workerData);
      this.#worker = starting;
      starting.then(
        (worker) => this.#watch(worker, starting),
        () => {
          if (this.#worker === starting) this.#worker = undefined;
        },
      );
    }
    return this.#worker;
  }

  #watch(worker: Worker, started: Promise<Worker>): void {
    worker.on('message', (message: unknown) => {
      const parsed = EmbeddingWorkerReply.safeParse(message);
      if (!parsed.success) return; // cannot tell whose it is; that request fails when the worker ends
      const reply = parsed.data;
      const outstanding = this.#settle(reply.id);
      if (reply.type === 'failed') outstanding?.reject(new AgentError(reply.error.code, reply.error.message, reply.error.detail));
      else outstanding?.resolve(reply.vectors);
    });
    // An uncaught error ends the worker and 'exit' follows; the next embed starts a fresh one.
    let failure = '';
    worker.on('error', (error) => (failure = error.message));
    worker.on('exit', (exitCode) => {
      if (this.#worker !== started) return; // closed: its requests were already rejected
      this.#worker = undefined;
      const crash = new AgentError('EMBEDDER_FAILED', 'The embedding model stopped unexpectedly; try again.', failure || `worker exit code ${exitCode}`);
      for (const id of [...this.#outstanding.keys()]) this.#settle(id)?.reject(crash);
    });
  }

  /** Forgets an outstanding request and returns it, or undefined if it was already settled. */
  #settle(id: number): OutstandingEmbed | undefined {
    const outstanding = this.#outstanding.get(id);
    this.#outstanding.delete(id);
    outstanding?.stopListening();
    // Idle, the worker must not keep the process alive (a cancelled request may still be running in it).
    if (this.#outstanding.size === 0) this.#worker?.then((worker) => worker.unref(), () => undefined);
    return outstanding;
  }
}

interface OutstandingEmbed {
  resolve(vectors: Float32Array): void;
  reject(error: unknown): void;
  stopListening(): void;
}

/** Starts the worker unreferenced: it holds the process open only while a request is outstanding. */
async function startWorker(workerData: EmbeddingWorkerData): Promise<Worker> {
  try {
    const script = await resolveWorkerScript(new URL('./embeddingWorker.node.js', import.meta.url), new URL('./embeddingWorker.node.ts', import.meta.url));
    const worker = new Worker(script, { workerData });
    worker.unref();
    return worker;
  } catch (error) {
    throw new AgentError(
      'EMBEDDER_FAILED',
      'The embedding worker could not be started. Reinstall the app (its embedding worker script is missing).',
      error instanceof Error ? error.message : String(error),
    );
  }
}
