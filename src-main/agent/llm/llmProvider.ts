import { AgentError, type ErrorCode, type LlmProviderKind } from '../../../src-shared/contract/index.js';
import type { Circuit } from '../resilience/resiliencePolicies.js';

export interface LlmChatMessage {
  role: 'user' | 'assistant';
  text: string;
}

/** How a request samples its tokens. Each field absent: the provider's (or its configuration's) default. */
export interface LlmSampling {
  /** Seeds the sampler: the same seed, prompt and temperature give the same answer (on the same build). */
  seed?: number;
  /** 0 picks the likeliest token every time; higher samples more widely. */
  temperature?: number;
}

export interface LlmGenerateRequest {
  systemPrompt: string;
  /** Earlier turns, oldest first, already cut to the token budget. Does not include `question`. */
  history: LlmChatMessage[];
  question: string;
  /** Tokens to generate at most (with `continueFrom`: beyond it). */
  maxTokens: number;
  signal: AbortSignal;
  /** Called once per streamed chunk, in order, as soon as it is decoded. */
  onToken(text: string): void;
  /**
   * The answer so far, from a generation of this same prompt that gave the model up halfway (providers with
   * `continuesAnswers`): the model goes on from it. It is not streamed again; the result's `text` includes it.
   */
  continueFrom?: string;
  /**
   * How this request samples: a council member listed twice gets its own seed. Absent: the provider's defaults.
   * Per request, so members sharing one provider each sample their own way.
   */
  sampling?: LlmSampling;
}

/** A request as the chat messages of a chat API: the system prompt (when there is one), the history, the question. */
export function chatMessages(request: Pick<LlmGenerateRequest, 'systemPrompt' | 'history' | 'question'>): Array<{ role: 'system' | 'user' | 'assistant'; content: string }> {
  return [
    ...(request.systemPrompt ? [{ role: 'system' as const, content: request.systemPrompt }] : []),
    ...request.history.map((turn) => ({ role: turn.role, content: turn.text })),
    { role: 'user' as const, content: request.question },
  ];
}

export type LlmPrefillRequest = Pick<LlmGenerateRequest, 'systemPrompt' | 'history' | 'question' | 'signal'>;

export interface LlmGenerateResult {
  text: string;
  /** Generated tokens (or streamed chunks where the provider does not count tokens). */
  tokens: number;
  /** Tokens actually evaluated for the prompt this turn (less than the whole prompt when the context is reused). */
  promptTokens?: number;
  /** True when `signal` stopped generation; `text` then holds the partial answer. */
  aborted: boolean;
}

/**
 * One interface for every local LLM backend. `load` loads and warms the model so the first question is fast;
 * `generate` streams tokens and must return within ~100 ms of `signal` aborting.
 */
export interface LlmProvider {
  readonly kind: LlmProviderKind;
  /** A stable id of the model (file name for GGUF, model tag for Ollama); part of the cache key. */
  readonly modelId: string;
  /** The model file it runs, for providers that load one (embedded GGUF); the models panel marks it active. */
  readonly modelFile?: string;
  /** Tokens the model can attend to; the history budget is derived from it. */
  readonly contextTokens: number;
  /**
   * The circuit breaker of a provider that talks to a server (Ollama). While it is open the provider manager answers
   * with the other provider, and switches back once a probe gets through. Absent: in-process, nothing to probe.
   */
  readonly circuit?: Circuit;
  /** Whether `generate` can go on from `continueFrom`, so that an answer may give the model up to another client's. */
  readonly continuesAnswers?: boolean;
  load(): Promise<void>;
  generate(request: LlmGenerateRequest): Promise<LlmGenerateResult>;
  /**
   * Reads the prompt into the model ahead of `generate` (a turn prepared speculatively while the user pauses), so a
   * `generate` of the same prompt starts from it and only evaluates what differs. Never throws; aborting stops it.
   */
  prefill?(request: LlmPrefillRequest): Promise<void>;
  /** Token count of `text` for budgeting; may be an estimate for remote providers. */
  countTokens(text: string): number;
  dispose(): Promise<void>;
}

/**
 * The provider refused this request itself (an HTTP 4xx such as 400: a bad option, a model that cannot chat). It is not
 * an outage: nothing is retried, the circuit breaker does not count it, and the turn ends with it rather than asking
 * the other provider, which would hide the cause.
 */
export class ProviderRefusedRequest extends AgentError {
  constructor(code: ErrorCode, message: string) {
    super(code, message);
    this.name = 'ProviderRefusedRequest';
  }
}
