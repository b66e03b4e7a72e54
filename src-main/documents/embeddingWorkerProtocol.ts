import { z } from 'zod';
import { AgentErrorShape } from '../../src-shared/contract/index.js';

/** What the USE-lite worker is started with. */
export interface EmbeddingWorkerData {
  dimensions: number;
  /** The most texts one model call takes. */
  maxBatchTexts: number;
}

export type EmbeddingWorkerRequest =
  /** Texts that all have words (the parent gives the others zero vectors). */
  | { type: 'embed'; id: number; texts: string[] }
  /** Drops a request; if some of its texts are in the running model call, their vectors are dropped. */
  | { type: 'cancel'; id: number };

export type EmbeddingWorkerReply =
  /** One request's vectors, `texts.length × dimensions` floats in a row (its buffer is transferred, not copied). */
  | { type: 'embedded'; id: number; vectors: Float32Array }
  | { type: 'failed'; id: number; error: AgentErrorShape };

/** Checked on arrival: a reply that does not fit fails its request instead of handing out wrong vectors. */
export const EmbeddingWorkerReplySchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('embedded'), id: z.number().int(), vectors: z.instanceof(Float32Array) }),
  z.object({ type: z.literal('failed'), id: z.number().int(), error: AgentErrorShape }),
]);
