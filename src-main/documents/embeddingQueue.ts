import { AgentError } from '../../src-shared/contract/index.js';

/** A loaded model: unit vectors for texts that have words, `texts.length × dimensions` floats in a row. */
export interface TextEmbeddingModel {
  embed(texts: string[]): Promise<Float32Array>;
  /** Frees what the model holds (native sessions); called by `EmbeddingQueue.close`. */
  dispose?(): Promise<void>;
}

export interface EmbeddingQueueOptions {
  dimensions: number;
  /** The most texts one model call takes: more waits longer behind a call, fewer costs more per-call overhead. */
  maxBatchTexts: number;
  /** Loads the model on the first request; after a failure, the next request tries again. */
  load(): Promise<TextEmbeddingModel>;
  /** Called when the last queued request is answered and no model call is running. */
  onIdle?(): void;
}

interface QueuedRequest {
  texts: string[];
  vectors: Float32Array;
  /** Texts already embedded or handed to the running model call. */
  taken: number;
  embedded: number;
  resolve(vectors: Float32Array): void;
  reject(error: unknown): void;
}

/**
 * Queued embedding requests answered in model calls of up to `maxBatchTexts` texts, the requests with the fewest texts
 * left first, so a query does not wait behind a whole document being ingested. An aborted request leaves the queue at
 * once; if some of its texts are in the running call, that call finishes and their vectors are dropped.
 */
export class EmbeddingQueue {
  readonly #queue: QueuedRequest[] = [];
  #model: Promise<TextEmbeddingModel> | undefined;
  #draining: Promise<void> | undefined;

  constructor(private readonly options: EmbeddingQueueOptions) {}

  /** The texts' vectors in a row. Rejects with the signal's reason when aborted. */
  embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const request: QueuedRequest = {
        texts: [...texts],
        vectors: new Float32Array(texts.length * this.options.dimensions),
        taken: 0,
        embedded: 0,
        resolve: (vectors) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(vectors);
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      const onAbort = () => {
        if (this.#remove(request)) request.reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#queue.push(request);
      this.#draining ??= this.#drain().finally(() => {
        this.#draining = undefined;
        this.options.onIdle?.();
      });
    });
  }

  /** Rejects the queued requests with `reason`, waits for the running model call, and frees the model. */
  async close(reason: unknown): Promise<void> {
    for (const request of this.#queue.splice(0)) request.reject(reason);
    await this.#draining;
    const model = this.#model;
    this.#model = undefined;
    await model?.then((loaded) => loaded.dispose?.(), () => undefined);
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      let model: TextEmbeddingModel;
      try {
        this.#model ??= this.options.load();
        model = await this.#model;
      } catch (error) {
        this.#model = undefined; // the next request tries again (the user may have fixed the model folder)
        const failure = embedderFailure('The embedding model could not be loaded.', error);
        for (const request of this.#queue.splice(0)) request.reject(failure);
        return;
      }
      await this.#runOneModelCall(model);
      await new Promise((resolve) => setTimeout(resolve, 0)); // lets aborts in before the next call is put together
    }
  }

  async #runOneModelCall(model: TextEmbeddingModel): Promise<void> {
    const { dimensions } = this.options;
    const slices: { request: QueuedRequest; from: number; to: number }[] = [];
    let room = this.options.maxBatchTexts;
    const fewestLeftFirst = [...this.#queue].sort((a, b) => a.texts.length - a.taken - (b.texts.length - b.taken));
    for (const request of fewestLeftFirst) {
      if (room === 0) break;
      const from = request.taken;
      const to = Math.min(request.texts.length, from + room);
      if (to === from) continue;
      slices.push({ request, from, to });
      request.taken = to;
      room -= to - from;
    }
    const texts = slices.flatMap(({ request, from, to }) => request.texts.slice(from, to));
    let vectors: Float32Array;
    try {
      vectors = await model.embed(texts);
      if (vectors.length !== texts.length * dimensions) {
        throw new Error(`the model gave ${vectors.length} values for ${texts.length} texts of ${dimensions} dimensions`);
      }
    } catch (error) {
      const failure = embedderFailure('The embedding model failed on this text.', error);
      for (const { request } of slices) if (this.#remove(request)) request.reject(failure);
      return;
    }
    let offset = 0;
    for (const { request, from, to } of slices) {
      const count = to - from;
      if (this.#queue.includes(request)) {
        request.vectors.set(vectors.subarray(offset * dimensions, (offset + count) * dimensions), from * dimensions);
        request.embedded += count;
        if (request.embedded === request.texts.length && this.#remove(request)) request.resolve(request.vectors);
      }
      offset += count;
    }
  }

  #remove(request: QueuedRequest): boolean {
    const index = this.#queue.indexOf(request);
    if (index !== -1) this.#queue.splice(index, 1);
    return index !== -1;
  }
}

function embedderFailure(message: string, error: unknown): AgentError {
  return new AgentError('EMBEDDER_FAILED', message, error instanceof Error ? error.message : String(error));
}
