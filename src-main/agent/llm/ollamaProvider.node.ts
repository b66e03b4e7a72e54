import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';
import { Ollama, type AbortableAsyncIterator, type ChatResponse, type Message } from 'ollama';
import { z } from 'zod';
import { AgentError, type ErrorCode } from '../../../src-shared/contract/index.js';
import {
  formatSeconds,
  httpStatusOf,
  HttpStatusError,
  isAttemptTimeout,
  isCircuitOpenError,
  parseRetryAfter,
  ResiliencePolicy,
  type Circuit,
  type ResilienceTuning,
} from '../resilience/resiliencePolicies.js';
import { failureReason, isConnectionFailure, isServerOutageStatus } from './httpFailures.js';
import { chatMessages, ProviderRefusedRequest, type LlmGenerateRequest, type LlmGenerateResult, type LlmProvider } from './llmProvider.js';

export const DEFAULT_OLLAMA_HOST = 'http://127.0.0.1:11434';
export const DEFAULT_OLLAMA_KEEP_ALIVE = '30m';
export const DEFAULT_OLLAMA_CONTEXT_TOKENS = 4096;
export const DEFAULT_OLLAMA_PROBE_TIMEOUT_MS = 800;
/** How long a question may wait for Ollama's first token (it sends its headers with it): loading an evicted model included. */
export const DEFAULT_OLLAMA_FIRST_TOKEN_TIMEOUT_MS = 60_000;
/** How long each request of `load()` may take (the preload loads the model from disk). */
export const DEFAULT_OLLAMA_LOAD_REQUEST_TIMEOUT_MS = 180_000;
const WARM_UP_MESSAGE = 'Hi';

export interface OllamaProviderConfig {
  /** Ollama model tag, e.g. `llama3.2` or `qwen2.5:3b`. */
  model: string;
  /** Where Ollama listens; else `OLLAMA_HOST`, else http://127.0.0.1:11434. */
  host?: string;
  /** How long Ollama keeps the model in memory after each request (Ollama duration such as '30m', or seconds). */
  keepAlive?: string | number;
  /** Context window to ask Ollama for; else the model's own context length capped at 4096. */
  contextTokens?: number;
  /** A question's wait for the first token (connect, queue, model load, prefill); past it the attempt fails. */
  firstTokenTimeoutMs?: number;
  /** Each request of `load()` (the model's preload and warm-up included). */
  loadRequestTimeoutMs?: number;
  /** Retries and circuit breaker (tests shorten the delays). */
  resilience?: ResilienceTuning;
}

/** What `load()` found in `/api/ps` after warming the model up. */
export interface OllamaLoadReport {
  loaded: boolean;
  expiresAt: Date | null;
  vramBytes: number | null;
  loadMs: number;
}

export interface OllamaProbe {
  reachable: boolean;
  hasModel: boolean;
  models: string[];
  error?: string;
}

// Ollama's answers cross a network boundary: validate the fields we rely on.
const TagsResponse = z.object({ models: z.array(z.object({ name: z.string() })) });
const PsResponse = z.object({
  models: z.array(
    z.object({
      name: z.string(),
      model: z.string().optional(),
      expires_at: z.string().optional(),
      size_vram: z.number().optional(),
    }),
  ),
});
const ShowResponse = z.object({ model_info: z.record(z.string(), z.unknown()).optional() });
const ChatChunk = z.object({
  message: z.object({ content: z.string() }).optional(),
  done: z.boolean(),
  prompt_eval_count: z.number().optional(),
  eval_count: z.number().optional(),
});

export function resolveOllamaHost(configured?: string): string {
  return configured || process.env.OLLAMA_HOST || DEFAULT_OLLAMA_HOST;
}

/** Ollama resolves a name without a tag to `:latest`, so `llama3.2` and `llama3.2:latest` are one model. */
export function isSameOllamaModel(a: string, b: string): boolean {
  return withDefaultTag(a) === withDefaultTag(b);
}

function withDefaultTag(name: string): string {
  const lastSegment = name.slice(name.lastIndexOf('/') + 1);
  return lastSegment.includes(':') ? name : `${name}:latest`;
}

/** One attempt of one request: the signal its fetch honours, and the Retry-After of a failed answer. */
interface RequestScope {
  signal: AbortSignal;
  retryAfterMs?: number;
}

/**
 * A fetch for the `ollama` client that also honours `extraSignals()`; the client only aborts streamed requests itself.
 * It is Node's global fetch underneath, whose shared connection pool keeps the connection to Ollama alive. The client
 * turns a failed answer into an error without its headers, so a Retry-After is kept in the request's `scope` here.
 */
function fetchWithSignals(extraSignals: () => AbortSignal[], scope: () => RequestScope | undefined = () => undefined): typeof fetch {
  return async (input, init) => {
    // Node's fetch hands a finished connection back to its pool one event-loop turn after the body ends; a request
    // sent sooner opens a second socket (measured: back-to-back requests alternate between two sockets without this).
    await new Promise<void>((resolve) => setImmediate(resolve));
    const signals = [init?.signal ?? undefined, ...extraSignals()].filter((s): s is AbortSignal => s !== undefined);
    const response = await fetch(input, { ...init, signal: signals.length > 0 ? AbortSignal.any(signals) : null });
    const requestScope = scope();
    if (!response.ok && requestScope) {
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
      if (retryAfterMs !== undefined) requestScope.retryAfterMs = retryAfterMs;
    }
    return response;
  };
}

/** The client keeps each streamed request in a list until it sees `done`; this drops cancelled and broken ones too. */
class OllamaClient extends Ollama {
  forgetStream(stream: AbortableAsyncIterator<object>): void {
    const index = this.ongoingStreamedRequests.indexOf(stream);
    if (index >= 0) this.ongoingStreamedRequests.splice(index, 1);
  }
}

export class OllamaLlmProvider implements LlmProvider {
  readonly kind = 'ollama' as const;
  readonly modelId: string;
  readonly host: string;
  private readonly keepAlive: string | number;
  private readonly configuredContextTokens: number | undefined;
  private contextWindow: number;
  private lastLoad: OllamaLoadReport | null = null;
  /** Aborts whatever is still in flight when the provider is disposed. */
  private readonly lifetime = new AbortController();
  /** The attempt being started, so the fetch under the client honours its signal from the first byte. */
  private readonly requestScope = new AsyncLocalStorage<RequestScope>();
  /** One client for the provider's whole life, so requests share kept-alive connections. */
  private readonly client: OllamaClient;
  /** Retries (429, 503, a reset connection), the circuit breaker of this provider, and each attempt's time limit. */
  private readonly policy: ResiliencePolicy;
  private readonly firstTokenTimeoutMs: number;
  private readonly loadRequestTimeoutMs: number;

  constructor(config: OllamaProviderConfig) {
    this.modelId = config.model;
    this.host = resolveOllamaHost(config.host);
    this.keepAlive = config.keepAlive ?? DEFAULT_OLLAMA_KEEP_ALIVE;
    this.configuredContextTokens = config.contextTokens;
    this.contextWindow = config.contextTokens ?? DEFAULT_OLLAMA_CONTEXT_TOKENS;
    this.firstTokenTimeoutMs = config.firstTokenTimeoutMs ?? DEFAULT_OLLAMA_FIRST_TOKEN_TIMEOUT_MS;
    this.loadRequestTimeoutMs = config.loadRequestTimeoutMs ?? DEFAULT_OLLAMA_LOAD_REQUEST_TIMEOUT_MS;
    this.policy = new ResiliencePolicy({ isOutage: isOllamaOutage, ...config.resilience });
    this.client = new OllamaClient({
      host: this.host,
      fetch: fetchWithSignals(
        () => {
          const scope = this.requestScope.getStore();
          return scope ? [this.lifetime.signal, scope.signal] : [this.lifetime.signal];
        },
        () => this.requestScope.getStore(),
      ),
    });
  }

  /** This provider's circuit breaker: the provider manager falls back while it is open and probes it when it may close. */
  get circuit(): Circuit {
    return this.policy.circuit;
  }

  get contextTokens(): number {
    return this.contextWindow;
  }

  /** What `/api/ps` said after the last successful `load()`; null before. */
  get loadReport(): OllamaLoadReport | null {
    return this.lastLoad;
  }

  async load(): Promise<void> {
    const started = performance.now();
    const tags = await this.request(() => this.client.list(), TagsResponse, 'PROVIDER_UNAVAILABLE');
    const available = tags.models.map((m) => m.name);
    if (!available.some((name) => isSameOllamaModel(name, this.modelId))) {
      throw modelMissing(this.host, this.modelId, available);
    }

    if (this.configuredContextTokens === undefined) {
      const show = await this.request(() => this.client.show({ model: this.modelId }), ShowResponse, 'MODEL_NOT_READY');
      const trained = trainedContextLength(show.model_info);
      // The model may know 128k tokens, but Ollama allocates memory for all of num_ctx; stay at the default unless asked.
      this.contextWindow = Math.min(trained ?? DEFAULT_OLLAMA_CONTEXT_TOKENS, DEFAULT_OLLAMA_CONTEXT_TOKENS);
    }
    const options = { num_ctx: this.contextWindow };

    // An empty prompt makes Ollama load the model and keep it for keep_alive (docs/api.md, "Load a model").
    await this.request(
      () => this.client.generate({ model: this.modelId, prompt: '', keep_alive: this.keepAlive, options }),
      z.unknown(),
      'MODEL_NOT_READY',
    );
    // One real token, so the first question does not pay for the first evaluation.
    await this.request(
      () =>
        this.client.chat({
          model: this.modelId,
          messages: [{ role: 'user', content: WARM_UP_MESSAGE }],
          stream: false,
          keep_alive: this.keepAlive,
          options: { ...options, num_predict: 1 },
        }),
      z.unknown(),
      'MODEL_NOT_READY',
    );
    const ps = await this.request(() => this.client.ps(), PsResponse, 'MODEL_NOT_READY');
    const running = ps.models.find((m) => isSameOllamaModel(m.model ?? m.name, this.modelId));
    this.lastLoad = {
      loaded: running !== undefined,
      expiresAt: running?.expires_at ? new Date(running.expires_at) : null,
      vramBytes: running?.size_vram ?? null,
      loadMs: performance.now() - started,
    };
  }

  async generate(request: LlmGenerateRequest): Promise<LlmGenerateResult> {
    const { signal } = request;
    let text = '';
    let chunks = 0;
    const abortedResult = (): LlmGenerateResult => ({ text, tokens: chunks, aborted: true });
    if (signal.aborted) return abortedResult();

    const messages: Message[] = chatMessages(request);

    let evalCount: number | undefined;
    let promptEvalCount: number | undefined;
    let stream: AbortableAsyncIterator<ChatResponse> | undefined;
    try {
      // Ollama sends its headers with the first token, so the policy (retries, breaker, first-token time limit) covers
      // exactly the wait before anything is streamed: a retry never replays a half-streamed answer. `signal` reaches
      // the fetch itself, so an abort also cancels a request still waiting for the first byte, or a backoff delay.
      stream = await this.policy.execute(
        (attemptSignal) =>
          this.attempt(AbortSignal.any([signal, attemptSignal]), () =>
            this.client.chat({
              model: this.modelId,
              messages,
              stream: true,
              keep_alive: this.keepAlive,
              options: {
                num_predict: request.maxTokens,
                num_ctx: this.contextWindow,
                ...(request.sampling?.seed !== undefined && { seed: request.sampling.seed }),
                ...(request.sampling?.temperature !== undefined && { temperature: request.sampling.temperature }),
              },
            }),
          ),
        { signal: AbortSignal.any([signal, this.lifetime.signal]), timeoutMs: this.firstTokenTimeoutMs },
      );
      for await (const part of stream) {
        // Chunks already parsed from the last network read must not reach the caller after a cancel.
        if (signal.aborted) return abortedResult();
        const chunk = ChatChunk.safeParse(part);
        if (!chunk.success) {
          throw new AgentError('GENERATION_FAILED', `Ollama at ${this.host} streamed a line that is not a chat chunk.`, chunk.error.message);
        }
        const content = chunk.data.message?.content ?? '';
        if (content) {
          text += content;
          chunks += 1;
          request.onToken(content);
        }
        if (chunk.data.done) {
          evalCount = chunk.data.eval_count;
          promptEvalCount = chunk.data.prompt_eval_count;
        }
      }
    } catch (error) {
      if (signal.aborted) return abortedResult();
      throw toAgentError(error, this.host, this.modelId, 'GENERATION_FAILED', this.policy);
    } finally {
      if (stream) this.client.forgetStream(stream);
    }
    const result: LlmGenerateResult = { text, tokens: evalCount ?? chunks, aborted: false };
    if (promptEvalCount !== undefined) result.promptTokens = promptEvalCount;
    return result;
  }

  /** An estimate (about 4 characters per token for English): Ollama's API has no tokenizer endpoint. */
  countTokens(text: string): number {
    return Math.ceil(text.length / 4);
  }

  async dispose(): Promise<void> {
    this.lifetime.abort();
  }

  /** One attempt of a request: its fetch honours `signal`, and a failed answer keeps its status and Retry-After. */
  private async attempt<T>(signal: AbortSignal, call: () => Promise<T>): Promise<T> {
    const scope: RequestScope = { signal };
    try {
      return await this.requestScope.run(scope, call);
    } catch (error) {
      const status = error instanceof Error && error.name === 'ResponseError' ? httpStatusOf(error) : undefined;
      throw status === undefined ? error : new HttpStatusError(status, error instanceof Error ? error.message : String(error), scope.retryAfterMs, { cause: error });
    }
  }

  private async request<T>(call: () => Promise<unknown>, schema: z.ZodType<T>, failureCode: ErrorCode): Promise<T> {
    let answer: unknown;
    try {
      answer = await this.policy.execute((attemptSignal) => this.attempt(attemptSignal, call), {
        signal: this.lifetime.signal,
        timeoutMs: this.loadRequestTimeoutMs,
      });
    } catch (error) {
      throw toAgentError(error, this.host, this.modelId, failureCode, this.policy);
    }
    const parsed = schema.safeParse(answer);
    if (!parsed.success) {
      throw new AgentError(failureCode, `Ollama at ${this.host} gave an answer this app does not understand; is it Ollama?`, parsed.error.message);
    }
    return parsed.data;
  }
}

/**
 * Asks `/api/tags` whether Ollama runs at `host` and has `model`. Never throws; gives up after `timeoutMs`, which also
 * covers a port that accepts connections but never answers.
 */
export async function probeOllama(
  host: string | undefined,
  model: string,
  timeoutMs = DEFAULT_OLLAMA_PROBE_TIMEOUT_MS,
): Promise<OllamaProbe> {
  const resolvedHost = resolveOllamaHost(host);
  const deadline = AbortSignal.timeout(timeoutMs);
  const client = new Ollama({ host: resolvedHost, fetch: fetchWithSignals(() => [deadline]) });
  try {
    const tags = TagsResponse.safeParse(await client.list());
    if (!tags.success) {
      return { reachable: false, hasModel: false, models: [], error: `${resolvedHost} answered /api/tags, but not as Ollama does.` };
    }
    const models = tags.data.models.map((m) => m.name);
    return { reachable: true, hasModel: models.some((name) => isSameOllamaModel(name, model)), models };
  } catch (error) {
    const reason = deadline.aborted ? `no answer within ${timeoutMs} ms` : failureReason(error);
    return { reachable: false, hasModel: false, models: [], error: `Ollama is not reachable at ${resolvedHost}: ${reason}.` };
  }
}

function modelMissing(host: string, model: string, available: string[]): AgentError {
  const others = available.length > 0 ? ` It has: ${available.join(', ')}.` : '';
  return new AgentError(
    'MODEL_MISSING',
    `Ollama at ${host} does not have the model "${model}". Download it with \`ollama pull ${model}\`, or choose a model it has.${others}`,
  );
}

function trainedContextLength(modelInfo: Record<string, unknown> | undefined): number | undefined {
  for (const [key, value] of Object.entries(modelInfo ?? {})) {
    if (key.endsWith('.context_length') && typeof value === 'number' && value > 0) return value;
  }
  return undefined;
}

/** Failures that count against Ollama's circuit breaker (see isServerOutageStatus). */
const isOllamaOutage = isServerOutageStatus;

function toAgentError(error: unknown, host: string, model: string, failureCode: ErrorCode, policy: ResiliencePolicy): AgentError {
  if (error instanceof AgentError) return error;
  if (isCircuitOpenError(error)) {
    const { circuit } = policy;
    return new AgentError(
      'PROVIDER_UNAVAILABLE',
      `Ollama at ${host} failed ${circuit.failuresToOpen} times in a row; it is tried again in ${formatSeconds(circuit.retryInMs)}.`,
    );
  }
  if (isAttemptTimeout(error)) {
    return new AgentError('PROVIDER_UNAVAILABLE', `Ollama at ${host} did not answer within ${formatSeconds(error.timeoutMs)}. Check Ollama's log.`);
  }
  const reason = failureReason(error);
  if (error instanceof TypeError && error.message === 'terminated') {
    return new AgentError(
      'PROVIDER_UNAVAILABLE',
      `Ollama at ${host} cut the connection in the middle of an answer (${reason}). ` +
        'If it stopped, start it again with `ollama serve` or the Ollama app.',
    );
  }
  if (isConnectionFailure(error)) {
    return new AgentError(
      'PROVIDER_UNAVAILABLE',
      `Cannot talk to Ollama at ${host} (${reason}). Start it with \`ollama serve\` or the Ollama app, ` +
        'or set OLLAMA_HOST to the address it listens on.',
    );
  }
  const status = httpStatusOf(error);
  if (status === 404) {
    return new AgentError(
      'MODEL_MISSING',
      `Ollama at ${host} does not have the model "${model}". Download it with \`ollama pull ${model}\`.`,
      reason,
    );
  }
  if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429) {
    // Asking again, or asking another model, would hide why: the turn ends with Ollama's own words.
    return new ProviderRefusedRequest(failureCode, `Ollama at ${host} refused the request for the model "${model}" (HTTP ${status}: ${reason}).`);
  }
  const what = status === undefined ? reason : `HTTP ${status}: ${reason}`;
  return new AgentError(failureCode, `Ollama at ${host} failed with the model "${model}" (${what}). Check Ollama's log.`);
}
