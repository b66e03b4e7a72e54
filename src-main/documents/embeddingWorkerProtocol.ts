import { z } from 'zod';
import { AgentErrorShape } from '../../src-shared/contract/index.js';

/** The model an embedding worker loads. */
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

/** What an embedding worker is started with. */
export interface EmbeddingWorkerData {
  backend: EmbeddingBackend;
  dimensions: number;
  /** The most texts one model call takes. */
  maxBatchTexts: number;
}

export type EmbeddingWorkerRequest =
  /** Texts that all have words (the parent gives the others zero vectors). */
  | { type: 'embed'; id: number; texts: string[] }
  /** Drops a request; if some of its texts are in the running model call, their vectors are dropped. */
  | { type: 'cancel'; id: number }
  /** Drops every request, lets the running model call end, frees the model and exits. */
  | { type: 'close' };

export type EmbeddingWorkerReply =
  /** One request's vectors, `texts.length × dimensions` floats in a row (its buffer is transferred, not copied). */
  | { type: 'embedded'; id: number; vectors: Float32Array }
  | { type: 'failed'; id: number; error: AgentErrorShape }
  /** Nothing queued and no model call running, after `received` embed requests. */
  | { type: 'idle'; received: number };

/** Checked on arrival: a reply that does not fit fails its request instead of handing out wrong vectors. */
export const EmbeddingWorkerReplySchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('embedded'), id: z.number().int(), vectors: z.instanceof(Float32Array) }),
  z.object({ type: z.literal('failed'), id: z.number().int(), error: AgentErrorShape }),
  z.object({ type: z.literal('idle'), received: z.number().int() }),
]);
