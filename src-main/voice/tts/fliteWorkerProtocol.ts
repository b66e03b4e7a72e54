import type { AgentErrorShape } from '../../../src-shared/contract/index.js';

/** What the flite worker is started with. */
export interface FliteWorkerData {
  /** Absolute path of flite's WASI module; resolved by the parent, because under vitest the worker runs from a bundle elsewhere. */
  wasmPath: string;
}

/** One sentence to speak. Requests are answered in the order they were sent. */
export interface FliteSynthesisRequest {
  type: 'synthesize';
  id: number;
  text: string;
  voice: string;
  rate: number;
}

/** Drops a request that has not started yet; a request already running finishes and its reply is ignored. */
export interface FliteCancelRequest {
  type: 'cancel';
  id: number;
}

export type FliteWorkerRequest = FliteSynthesisRequest | FliteCancelRequest;

export type FliteWorkerReply =
  /** `samples` arrives as a transferred buffer, not a copy. */
  | { type: 'spoken'; id: number; sampleRate: number; samples: Int16Array }
  | { type: 'failed'; id: number; error: AgentErrorShape };
