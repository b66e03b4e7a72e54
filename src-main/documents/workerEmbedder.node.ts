import { Worker } from 'node:worker_threads';
import { AgentError } from '../../src-shared/contract/index.js';
import { WorkerClient } from '../platform/workerClient.node.js';
import { resolveWorkerScript } from '../platform/workerScript.node.js';
import { type Embedder, hasNoWords } from './embedder.js';
import { type EmbeddingBackend, type EmbeddingWorkerData, EmbeddingWorkerReplySchema, type EmbeddingWorkerRequest } from './embeddingWorkerProtocol.js';

export interface WorkerEmbedderOptions {
  /** The most texts one model call takes (default 16: on 2 cores USE-lite embeds as many paragraphs a second as at 64, and a query waits a quarter as long behind a call). */
  maxBatchTexts?: number;
}

/** How long close() lets the running model call finish before it terminates the worker anyway. */
const CLOSE_TIMEOUT_MS = 30_000;

/**
 * An Embedder whose model runs in a worker thread (`embeddingWorker.node.ts`), started on the first embed and kept for
 * the next ones. The worker keeps the process alive only while it has work, cancelled requests included: onnxruntime
 * aborts the whole process if it exits in the middle of a model run. If the worker dies, the outstanding requests
 * fail with EMBEDDER_FAILED and the next embed starts a fresh one. UseLiteEmbedder and OnnxEmbedder are this with a
 * different model.
 */
export class WorkerEmbedder implements Embedder {
  readonly #worker: WorkerClient<Float32Array>;

  constructor(
    readonly id: string,
    readonly dimensions: number,
    backend: EmbeddingBackend,
    options: WorkerEmbedderOptions = {},
  ) {
    const workerData: EmbeddingWorkerData = { backend, dimensions, maxBatchTexts: options.maxBatchTexts ?? 16 };
    this.#worker = new WorkerClient<Float32Array>({
      start: () => startWorker(workerData),
      readReply: (message) => {
        const parsed = EmbeddingWorkerReplySchema.safeParse(message);
        if (!parsed.success || parsed.data.type === 'idle') return undefined;
        const reply = parsed.data;
        if (reply.type === 'failed') return { id: reply.id, error: new AgentError(reply.error.code, reply.error.message, reply.error.detail) };
        return { id: reply.id, result: reply.vectors };
      },
      readIdle: (message) => {
        const parsed = EmbeddingWorkerReplySchema.safeParse(message);
        return parsed.success && parsed.data.type === 'idle' ? parsed.data.received : undefined;
      },
      cancelMessage: (id) => ({ type: 'cancel', id }) satisfies EmbeddingWorkerRequest,
      gracefulStop: { message: { type: 'close' } satisfies EmbeddingWorkerRequest, timeoutMs: CLOSE_TIMEOUT_MS },
      crashError: (detail) => new AgentError('EMBEDDER_FAILED', 'The embedding model stopped unexpectedly; try again.', detail),
      abortError: (signal) => signal.reason,
    });
  }

  async embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]> {
    signal?.throwIfAborted();
    const vectors = texts.map(() => new Float32Array(this.dimensions));
    const withWords = texts.flatMap((text, index) => (hasNoWords(text) ? [] : [index]));
    if (withWords.length === 0) return vectors;
    const modelTexts = withWords.map((index) => texts[index]!);
    const embedded = await this.#worker.request((id) => ({ type: 'embed', id, texts: modelTexts }) satisfies EmbeddingWorkerRequest, signal);
    if (embedded.length !== modelTexts.length * this.dimensions) {
      throw new AgentError('EMBEDDER_FAILED', 'The embedding model returned the wrong number of values.', `${embedded.length} for ${modelTexts.length} texts`);
    }
    withWords.forEach((index, i) => (vectors[index] = embedded.slice(i * this.dimensions, (i + 1) * this.dimensions)));
    return vectors;
  }

  /**
   * Rejects outstanding requests with CANCELLED and stops the worker once its running model call has ended (at most a
   * batch: well under a second for the built-in models). A later embed starts a new worker.
   */
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
