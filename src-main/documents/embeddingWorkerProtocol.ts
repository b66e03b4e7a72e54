import { z } from 'zod';
import { AgentErrorShape } from '../../src-shared/contract/index.js';

/** The model an embedding worker loads (its workerData). */
export type EmbeddingBackend =
  | { kind: 'use-lite' }
  | {
      kind: 'onnx';
      /** A folder in transformers.js's layout: config.json, tokenizer files, onnx/model.onnx or onnx/model_quantized.onnx. */
      modelDir: string;
      /** fp32 reads onnx/model.onnx, q8 onnx/model_quantized.onnx. */
      dtype: 'fp32' | 'q8';
      /** How token vectors become one text vector: the pooling the model was trained with. */
      pooling: 'mean' | 'cls';
    };

export interface EmbeddingWorkerData {
  backend: EmbeddingBackend;
  dimensions: number;
  /** The most texts one model call takes: more waits longer behind a call, fewer costs per-call overhead. */
  maxBatchTexts: number;
}

export type EmbeddingWorkerRequest = { type: 'embed'; id: number; texts: string[] } | { type: 'cancel'; id: number };

/** Checked on arrival: a reply that does not fit fails its request instead of handing out wrong vectors. */
export const EmbeddingWorkerReply = z.discriminatedUnion('type', [
  /** One request's vectors, `texts.length × dimensions` floats in a row (its buffer is transferred, not copied). */
  z.object({ type: z.literal('embedded'), id: z.number().int(), vectors: z.instanceof(Float32Array) }),
  z.object({ type: z.literal('failed'), id: z.number().int(), error: AgentErrorShape }),
]);
export type EmbeddingWorkerReply = z.infer<typeof EmbeddingWorkerReply>;
