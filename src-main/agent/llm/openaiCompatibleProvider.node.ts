import { z } from 'zod';
import { AgentError, type ErrorCode } from '../../../src-shared/contract/index.js';
import { RateLimitWaitTooLong, RequestPacer } from '../resilience/ratePacer.js';
import {
  formatSeconds,
  httpStatusOf,
  HttpStatusError,
  isAttemptTimeout,
  isCircuitOpenError,
  ResiliencePolicy,
  type Circuit,
  type ResilienceTuning,
} from '../resilience/resiliencePolicies.js';
import { failureReason, isConnectionFailure, isServerOutageStatus } from './httpFailures.js';
import { chatMessages, ProviderRefusedRequest, type LlmGenerateRequest, type LlmGenerateResult, type LlmProvider, type LlmSampling } from './llmProvider.js';

/**
 * The chat provider for servers that speak OpenAI's `/v1/chat/completions` (LM Studio, llama.cpp's `llama-server`,
 * LocalAI, vLLM): streamed answers over server-sent events, the shared retry / breaker / time-limit policy, and
 * pacing by the server's own rate-limit headers (RequestPacer).
 */

/** llama-server's and LocalAI's default port; LM Studio listens on 1234 and vLLM on 8000 (set the base URL). */
/** More characters than this per requested token is a server streaming past `max_tokens` (or one huge chunk). */
const MAX_CHARS_PER_TOKEN = 32;

export const DEFAULT_OPENAI_COMPATIBLE_BASE_URL = 'http://127.0.0.1:8080/v1';
export const DEFAULT_OPENAI_COMPATIBLE_CONTEXT_TOKENS = 4096;
/** How long a question may wait for the first token: connect, queue, a model the server loads on demand, prefill. */
export const DEFAULT_OPENAI_COMPATIBLE_FIRST_TOKEN_TIMEOUT_MS = 60_000;
/** Each request of `load()` (LM Studio loads a model on its first request, which the warm-up makes). */
export const DEFAULT_OPENAI_COMPATIBLE_LOAD_REQUEST_TIMEOUT_MS = 180_000;
/** The environment variables read when the settings do not say. */
export const OPENAI_COMPATIBLE_ENV = { baseUrl: 'ASSISTANT_OPENAI_BASE_URL', apiKey: 'ASSISTANT_OPENAI_API_KEY' } as const;
const WARM_UP_MESSAGE = 'Hi';
/** How much of an unreadable event or error body goes into a message. */
const QUOTE_CHARS = 120;

export interface OpenAiCompatibleProviderConfig {
  /** The model id the server lists in /v1/models (LM Studio's model key, llama-server's alias, vLLM's served name). */
  model: string;
  /** The API root, e.g. http://127.0.0.1:1234/v1; a URL without a path gets /v1. Else ASSISTANT_OPENAI_BASE_URL, else 127.0.0.1:8080/v1. */
  baseUrl?: string;
  /** Sent as `Authorization: Bearer <key>`; '' sends none. Else ASSISTANT_OPENAI_API_KEY; unset: no header. */
  apiKey?: string;
  /** Where the base URL and key are read when not given (default process.env; tests pass their own). */
  env?: Readonly<Record<string, string | undefined>>;
  /** What the server can attend to (the history budget follows it); the API does not say. Default 4096. */
  contextTokens?: number;
  temperature?: number;
  /** A fixed seed (a council member listed twice gets two); absent: the server's default. */
  seed?: number;
  /** A question's wait for the first streamed token; past it the attempt fails. */
  firstTokenTimeoutMs?: number;
  /** Each request of `load()`, the warm-up included. */
  loadRequestTimeoutMs?: number;
  /** Whether `load()` asks for one token, so a server that loads models on demand has it loaded. Default true. */
  warmUp?: boolean;
  /** Retries and circuit breaker (tests shorten the delays). Pauses asked for by the server are capped by `retry.maxDelayMs`. */
  resilience?: ResilienceTuning;
  /** The pacer to share with other providers of the same server (council members on one base URL); else its own. */
  pacer?: RequestPacer;
}

interface ChatRequestBody {
  model: string;
  messages: Array<{ role: 'system' | 'user' | 'assistant'; content: string }>;
  stream: boolean;
  max_tokens: number;
  temperature?: number;
  seed?: number;
}

// The server's answers cross a network boundary: validate the fields we rely on, and nothing more.
const ModelList = z.object({ data: z.array(z.object({ id: z.string() })) });
const CompletionChoice = z.object({
  delta: z.object({ content: z.string().nullish(), reasoning_content: z.string().nullish() }).nullish(),
  /** A whole (non-streamed) answer. */
  message: z.object({ content: z.string().nullish() }).nullish(),
  finish_reason: z.string().nullish(),
});
const CompletionChunk = z.object({
  choices: z.array(CompletionChoice).nullish(),
  usage: z.object({ prompt_tokens: z.number().nullish(), completion_tokens: z.number().nullish() }).nullish(),
});
const ErrorDetail = z.union([
  z.string(),
  z.object({ message: z.string().nullish(), code: z.union([z.number(), z.string()]).nullish(), type: z.string().nullish() }),
]);
const ErrorEnvelope = z.object({ error: ErrorDetail });

/** Base URL from settings, then ASSISTANT_OPENAI_BASE_URL, then the default; a URL without a path gets `/v1`. */
export function resolveOpenAiCompatibleBaseUrl(configured?: string, env: Readonly<Record<string, string | undefined>> = process.env): string {
  const raw = configured?.trim() || env[OPENAI_COMPATIBLE_ENV.baseUrl]?.trim() || DEFAULT_OPENAI_COMPATIBLE_BASE_URL;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AgentError('INVALID_SETTING', `"${raw}" is not a URL. Set the OpenAI-compatible server's base URL like http://127.0.0.1:1234/v1.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new AgentError('INVALID_SETTING', `The OpenAI-compatible server's base URL must start with http:// or https:// (it is "${raw}").`);
  }
  const path = url.pathname.replace(/\/+$/, '');
  return `${url.origin}${path === '' ? '/v1' : path}`;
}

/** The key from settings ('' for none), else ASSISTANT_OPENAI_API_KEY; undefined: no Authorization header. */
export function resolveOpenAiCompatibleApiKey(configured?: string, env: Readonly<Record<string, string | undefined>> = process.env): string | undefined {
  const key = (configured ?? env[OPENAI_COMPATIBLE_ENV.apiKey] ?? '').trim();
  return key === '' ? undefined : key;
}

export class OpenAiCompatibleLlmProvider implements LlmProvider {
  readonly kind = 'openai' as const;
  readonly modelId: string;
  readonly baseUrl: string;
  readonly contextTokens: number;
  readonly #apiKey: string | undefined;
  readonly #temperature: number | undefined;
  readonly #seed: number | undefined;
  readonly #firstTokenTimeoutMs: number;
  readonly #loadRequestTimeoutMs: number;
  readonly #warmUp: boolean;
  /** Aborts whatever is still in flight when the provider is disposed. */
  readonly #lifetime = new AbortController();
  /** Retries (429, 503, a reset connection), the circuit breaker of this provider, and each attempt's time limit. */
  readonly #policy: ResiliencePolicy;
  /** When the next request may go, by what the server's headers said. */
  readonly pacer: RequestPacer;

  constructor(config: OpenAiCompatibleProviderConfig) {
    const env = config.env ?? process.env;
    this.modelId = config.model;
    this.baseUrl = resolveOpenAiCompatibleBaseUrl(config.baseUrl, env);
    this.#apiKey = resolveOpenAiCompatibleApiKey(config.apiKey, env);
    this.contextTokens = config.contextTokens ?? DEFAULT_OPENAI_COMPATIBLE_CONTEXT_TOKENS;
    this.#temperature = config.temperature;
    this.#seed = config.seed;
    this.#firstTokenTimeoutMs = config.firstTokenTimeoutMs ?? DEFAULT_OPENAI_COMPATIBLE_FIRST_TOKEN_TIMEOUT_MS;
    this.#loadRequestTimeoutMs = config.loadRequestTimeoutMs ?? DEFAULT_OPENAI_COMPATIBLE_LOAD_REQUEST_TIMEOUT_MS;
    this.#warmUp = config.warmUp ?? true;
    this.pacer = config.pacer ?? new RequestPacer();
    this.#policy = new ResiliencePolicy({ isOutage: isServerOutage, ...config.resilience });
  }

  /** This provider's circuit breaker: the provider manager falls back while it is open and probes it when it may close. */
  get circuit(): Circuit {
    return this.#policy.circuit;
  }

  /** Checks the server answers and lists the model, then (by default) asks for one token so the model is loaded. */
  async load(): Promise<void> {
    const answer = await this.#request('/models', undefined, 'PROVIDER_UNAVAILABLE');
    const list = ModelList.safeParse(answer);
    if (!list.success) {
      throw new AgentError(
        'PROVIDER_UNAVAILABLE',
        `The server at ${this.baseUrl} answered /models, but not as an OpenAI-compatible server does. Is the base URL right?`,
        list.error.message,
      );
    }
    const available = list.data.data.map((m) => m.id);
    if (!available.includes(this.modelId)) throw modelMissing(this.baseUrl, this.modelId, available);
    if (this.#warmUp) {
      await this.#request('/chat/completions', this.#body([{ role: 'user', content: WARM_UP_MESSAGE }], 1, false), 'MODEL_NOT_READY');
    }
  }

  async generate(request: LlmGenerateRequest): Promise<LlmGenerateResult> {
    const { signal } = request;
    let text = '';
    let chunks = 0;
    const abortedResult = (): LlmGenerateResult => ({ text, tokens: chunks, aborted: true });
    if (signal.aborted) return abortedResult();

    const messages: ChatRequestBody['messages'] = chatMessages(request);
    const body = this.#body(messages, request.maxTokens, true, request.sampling);

    const caller = AbortSignal.any([signal, this.#lifetime.signal]);
    let stream: OpenedStream | undefined;
    let usage: z.infer<typeof CompletionChunk>['usage'];
    try {
      await this.pacer.acquire(caller, this.#policy.retryTuning.maxDelayMs);
      // The policy (retries, breaker, time limit) covers everything before the first token, headers included: a
      // server that sends its headers at once and then prefills still has to produce a token in time, and a retry
      // never replays a half-streamed answer. The caller's signal reaches the fetch, so a cancel also stops the wait.
      stream = await this.#policy.execute((attemptSignal) => this.#openStream(body, AbortSignal.any([caller, attemptSignal])), {
        signal: caller,
        timeoutMs: this.#firstTokenTimeoutMs,
      });
      for await (const piece of stream) {
        // Pieces already parsed from the last network read must not reach the caller after a cancel.
        if (signal.aborted) return abortedResult();
        if (piece.content) {
          text += piece.content;
          chunks += 1;
          request.onToken(piece.content);
          // A server that ignores max_tokens is stopped here: a chunk is at least one token.
          if (chunks >= request.maxTokens || text.length > request.maxTokens * MAX_CHARS_PER_TOKEN) break;
        }
        if (piece.usage) usage = piece.usage;
      }
    } catch (error) {
      if (signal.aborted) return abortedResult();
      throw this.#toAgentError(error, 'GENERATION_FAILED');
    } finally {
      await stream?.return();
    }
    const result: LlmGenerateResult = { text, tokens: usage?.completion_tokens ?? chunks, aborted: false };
    if (typeof usage?.prompt_tokens === 'number') result.promptTokens = usage.prompt_tokens;
    return result;
  }

  /** An estimate (about 4 characters per token for English): the API has no tokenizer endpoint. */
  countTokens(text: string): number {
    return Math.ceil(text.length / 4);
  }

  async dispose(): Promise<void> {
    this.#lifetime.abort();
  }

  /** The request's own sampling wins over the configured `temperature`/`seed`, field by field. */
  #body(messages: ChatRequestBody['messages'], maxTokens: number, stream: boolean, sampling?: LlmSampling): ChatRequestBody {
    const body: ChatRequestBody = { model: this.modelId, messages, stream, max_tokens: maxTokens };
    const temperature = sampling?.temperature ?? this.#temperature;
    const seed = sampling?.seed ?? this.#seed;
    if (temperature !== undefined) body.temperature = temperature;
    if (seed !== undefined) body.seed = seed;
    return body;
  }

  /** One attempt of a streamed answer: the request, then the stream read up to its first token (or its end). */
  async #openStream(body: ChatRequestBody, signal: AbortSignal): Promise<OpenedStream> {
    const response = await this.#fetch('/chat/completions', body, signal);
    const pieces = isEventStream(response) ? streamedPieces(response) : wholeAnswerPieces(response);
    const first: CompletionPiece[] = [];
    for (;;) {
      const next = await pieces.next();
      if (next.done) break;
      first.push(next.value);
      if (next.value.progress) break;
    }
    return withFirst(first, pieces);
  }

  /** A whole JSON request (load's), under the pacer and the policy. */
  async #request(path: string, body: ChatRequestBody | undefined, failureCode: ErrorCode): Promise<unknown> {
    const caller = this.#lifetime.signal;
    try {
      await this.pacer.acquire(caller, this.#policy.retryTuning.maxDelayMs);
      return await this.#policy.execute(
        async (attemptSignal) => {
          const response = await this.#fetch(path, body, AbortSignal.any([caller, attemptSignal]));
          const text = await response.text();
          try {
            return JSON.parse(text) as unknown;
          } catch {
            throw new AgentError(failureCode, `The server at ${this.baseUrl} answered ${path} with something that is not JSON: ${quote(text)}. Is the base URL right?`);
          }
        },
        { signal: caller, timeoutMs: this.#loadRequestTimeoutMs },
      );
    } catch (error) {
      throw this.#toAgentError(error, failureCode, path);
    }
  }

  /** A request to the server; every answer's rate-limit headers go to the pacer; a failed answer throws HttpStatusError. */
  async #fetch(path: string, body: ChatRequestBody | undefined, signal: AbortSignal): Promise<Response> {
    // Node's fetch hands a finished connection back to its pool one event-loop turn after the body ends; a request
    // sent sooner opens a second socket (as the Ollama provider found).
    await new Promise<void>((resolve) => setImmediate(resolve));
    const headers: Record<string, string> = { accept: body?.stream ? 'text/event-stream' : 'application/json' };
    if (body) headers['content-type'] = 'application/json';
    if (this.#apiKey !== undefined) headers.authorization = `Bearer ${this.#apiKey}`;
    const init: RequestInit = { method: body ? 'POST' : 'GET', headers, signal };
    if (body) init.body = JSON.stringify(body);
    const response = await fetch(`${this.baseUrl}${path}`, init);
    this.pacer.observe(response.headers, response.status);
    if (!response.ok) {
      const message = await errorMessageOf(response);
      // The pause the server asked for (Retry-After, or a rate-limit reset), so the retry waits that long.
      const pauseMs = this.pacer.delayMs();
      throw new HttpStatusError(response.status, message, pauseMs > 0 ? pauseMs : undefined);
    }
    return response;
  }

  #toAgentError(error: unknown, failureCode: ErrorCode, path = '/chat/completions'): AgentError {
    const at = `The server at ${this.baseUrl}`;
    if (error instanceof AgentError) return error;
    if (error instanceof RateLimitWaitTooLong) {
      return new AgentError(
        'PROVIDER_UNAVAILABLE',
        `${at} is rate limiting this app: its next request is allowed in ${formatSeconds(error.waitMs)}.`,
        undefined,
        { retryAfterMs: Math.ceil(error.waitMs) },
      );
    }
    if (isCircuitOpenError(error)) {
      const { circuit } = this.#policy;
      return new AgentError(
        'PROVIDER_UNAVAILABLE',
        `${at} failed ${circuit.failuresToOpen} times in a row; it is tried again in ${formatSeconds(circuit.retryInMs)}.`,
      );
    }
    if (isAttemptTimeout(error)) {
      const what = failureCode === 'GENERATION_FAILED' ? 'sent no first token' : `did not answer ${path}`;
      return new AgentError('PROVIDER_UNAVAILABLE', `${at} ${what} within ${formatSeconds(error.timeoutMs)}. Check the server's log.`);
    }
    if (error instanceof StreamProtocolError || error instanceof StreamReportedError) {
      return new AgentError('GENERATION_FAILED', `${at} ${error.message}`, error.detail);
    }
    const reason = failureReason(error);
    if (error instanceof TypeError && error.message === 'terminated') {
      return new AgentError('PROVIDER_UNAVAILABLE', `${at} cut the connection in the middle of an answer (${reason}).`);
    }
    if (isConnectionFailure(error)) {
      return new AgentError(
        'PROVIDER_UNAVAILABLE',
        `Cannot reach the OpenAI-compatible server at ${this.baseUrl} (${reason}). Start it (LM Studio's server, llama-server, ` +
          `LocalAI, vLLM), or set ${OPENAI_COMPATIBLE_ENV.baseUrl} to the address it listens on.`,
      );
    }
    const status = httpStatusOf(error);
    if (status === 401 || status === 403) {
      const fix = this.#apiKey === undefined ? `It needs an API key: set ${OPENAI_COMPATIBLE_ENV.apiKey}.` : `Check ${OPENAI_COMPATIBLE_ENV.apiKey}.`;
      return new ProviderRefusedRequest('PROVIDER_UNAVAILABLE', `${at} refused the API key (HTTP ${status}: ${reason}). ${fix}`);
    }
    if (status === 404 && path === '/models') {
      return new AgentError('PROVIDER_UNAVAILABLE', `${at} has no ${path} (HTTP 404). Is the base URL right? It usually ends in /v1.`, reason);
    }
    if (status === 404) {
      return new AgentError('MODEL_MISSING', `${at} does not have the model "${this.modelId}" (HTTP 404: ${reason}). Load it in the server, or choose one it lists.`);
    }
    if (status === 429) {
      const pause = retryAfterText(error);
      return new AgentError('PROVIDER_UNAVAILABLE', `${at} is rate limiting this app (HTTP 429: ${reason})${pause}.`, undefined, {
        retryAfterMs: (error as HttpStatusError).retryAfterMs,
      });
    }
    if (status !== undefined && status >= 400 && status < 500 && status !== 408) {
      // Asking again, or asking another model, would hide why: the turn ends with the server's own words.
      return new ProviderRefusedRequest(failureCode, `${at} refused the request for the model "${this.modelId}" (HTTP ${status}: ${reason}).`);
    }
    const what = status === undefined ? reason : `HTTP ${status}: ${reason}`;
    return new AgentError(failureCode, `${at} failed with the model "${this.modelId}" (${what})${retryAfterText(error)}. Check the server's log.`);
  }
}

/** One step of an answer: text to show, and whether the model has started (for the first-token time limit). */
interface CompletionPiece {
  content: string;
  usage?: z.infer<typeof CompletionChunk>['usage'];
  /** Generation has begun or ended: content, reasoning, a finish reason or the usage. A role-only chunk is not. */
  progress: boolean;
}

type OpenedStream = AsyncGenerator<CompletionPiece, void, undefined>;

/** The stream did not follow the protocol: an event that is not JSON, not a chunk, or an answer cut without an end. */
class StreamProtocolError extends Error {
  constructor(
    message: string,
    readonly detail?: string,
  ) {
    super(message);
    this.name = 'StreamProtocolError';
  }
}

/** The server reported an error inside the stream (after its 200): `data: {"error": …}`, `event: error`, llama.cpp's `error:` field. */
class StreamReportedError extends Error {
  constructor(
    message: string,
    readonly detail?: string,
  ) {
    super(message);
    this.name = 'StreamReportedError';
  }
}

async function* withFirst(first: CompletionPiece[], rest: OpenedStream): OpenedStream {
  try {
    yield* first;
    yield* rest;
  } finally {
    await rest.return();
  }
}

function isEventStream(response: Response): boolean {
  return (response.headers.get('content-type') ?? '').toLowerCase().includes('text/event-stream');
}

/** How long the end of a body after `[DONE]` is waited for (so the connection can be reused) before it is cut. */
const DRAIN_AFTER_DONE_MS = 200;

/** The pieces of a streamed answer, read from the body as it arrives. Ends at `[DONE]`; cancels the body when left. */
async function* streamedPieces(response: Response): OpenedStream {
  const body = response.body;
  if (!body) throw new StreamProtocolError('sent an empty answer to a streamed request.');
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  const parser = new ServerSentEventParser();
  let finished = false;
  let ended = false;
  let sawDone = false;
  try {
    while (!sawDone) {
      const read = await reader.read();
      ended = read.done;
      const events = read.done ? parser.end() : parser.push(read.value);
      for (const event of events) {
        if (event.type === 'message' && event.errorField === undefined && event.data.trim() === '[DONE]') {
          sawDone = true;
          break;
        }
        const piece = pieceOf(event);
        if (piece === undefined) continue;
        if (piece.finished) finished = true;
        yield piece;
      }
      if (read.done) break;
    }
    // Some servers end without `[DONE]`; an answer that said why it stopped is whole, one that did not was cut.
    if (!sawDone && !finished) throw new StreamProtocolError(`ended the answer without finishing it (no finish_reason, no [DONE]).`);
  } finally {
    // After [DONE] the server ends the body: wait for that end (briefly), so Node's fetch gives the connection back to
    // its pool before the next request. Measured with a server that ends the body a moment after [DONE]: without the
    // wait, the next question opened a second socket. Anything else (a cancel, an error) cuts the connection.
    if (ended) reader.releaseLock();
    else if (sawDone) await drain(reader, DRAIN_AFTER_DONE_MS);
    else void reader.cancel().catch(() => undefined);
  }
}

async function drain(reader: ReadableStreamDefaultReader<string>, deadlineMs: number): Promise<void> {
  const timer = setTimeout(() => void reader.cancel().catch(() => undefined), deadlineMs);
  try {
    while (!(await reader.read()).done) {
      // Nothing after [DONE] is part of the answer.
    }
  } catch {
    // Cut or cancelled: nothing to keep.
  } finally {
    clearTimeout(timer);
  }
}

/** A server that answered a streamed request with the whole answer as JSON: one piece. */
async function* wholeAnswerPieces(response: Response): OpenedStream {
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new StreamProtocolError(`answered a streamed request with neither an event stream nor JSON (${response.headers.get('content-type') ?? 'no content type'}): ${quote(text)}.`);
  }
  const reported = ErrorEnvelope.safeParse(json);
  if (reported.success) throw new StreamReportedError(`reported an error: ${errorText(reported.data.error)}.`);
  const chunk = CompletionChunk.safeParse(json);
  if (!chunk.success || !chunk.data.choices) throw new StreamProtocolError(`answered a streamed request with JSON that is not a chat completion: ${quote(text)}.`);
  const content = chunk.data.choices[0]?.message?.content ?? chunk.data.choices[0]?.delta?.content ?? '';
  yield { content, usage: chunk.data.usage, progress: true };
}

/** An event's piece of the answer; undefined for events that carry none (an event of another name). */
function pieceOf(event: ServerSentEvent): (CompletionPiece & { finished: boolean }) | undefined {
  if (event.errorField !== undefined) throw new StreamReportedError(`reported an error in the middle of the answer: ${errorFieldText(event.errorField)}.`);
  if (event.type === 'error') throw new StreamReportedError(`reported an error in the middle of the answer: ${errorFieldText(event.data)}.`);
  let json: unknown;
  try {
    json = JSON.parse(event.data);
  } catch {
    throw new StreamProtocolError(`streamed an event that is not JSON: ${quote(event.data)}.`);
  }
  const reported = ErrorEnvelope.safeParse(json);
  if (reported.success) throw new StreamReportedError(`reported an error in the middle of the answer: ${errorText(reported.data.error)}.`);
  if (event.type !== 'message') return undefined;
  const chunk = CompletionChunk.safeParse(json);
  if (!chunk.success) {
    throw new StreamProtocolError(`streamed an event that is not a chat completion chunk: ${quote(event.data)}.`, chunk.error.message);
  }
  const choice = chunk.data.choices?.[0];
  const content = choice?.delta?.content ?? choice?.message?.content ?? '';
  const finished = typeof choice?.finish_reason === 'string';
  const usage = chunk.data.usage ?? undefined;
  const progress = content !== '' || Boolean(choice?.delta?.reasoning_content) || finished || usage !== undefined;
  return usage ? { content, usage, progress, finished } : { content, progress, finished };
}

export interface ServerSentEvent {
  /** `event:` field; "message" when absent. */
  type: string;
  /** The `data:` lines joined with "\n". */
  data: string;
  /** llama.cpp's non-standard `error:` field (builds through 2025 report mid-stream failures with it). */
  errorField?: string;
}

/**
 * An incremental parser of the text/event-stream format (WHATWG HTML §9.2.6) for one response: feed it decoded text
 * as it arrives, in chunks split anywhere (inside a line, between "\r" and "\n"), and it returns the complete events.
 * Comments (": keep-alive") and `id:` / `retry:` are skipped; an event without data is not dispatched; a half event at
 * the end of the stream is dropped, as the standard says. No library: eventsource-parser is not a dependency here, and
 * Node's EventSource cannot POST.
 */
export class ServerSentEventParser {
  #buffer = '';
  #afterCarriageReturn = false;
  #atStart = true;
  #type = '';
  #data: string[] = [];
  #errorField: string | undefined;

  push(text: string): ServerSentEvent[] {
    if (this.#atStart && text.length > 0) {
      this.#atStart = false;
      if (text.startsWith('\uFEFF')) text = text.slice(1);
    }
    // A "\r\n" split across two chunks: the "\n" ends nothing new.
    if (this.#afterCarriageReturn && text.startsWith('\n')) text = text.slice(1);
    this.#afterCarriageReturn = false;
    const events: ServerSentEvent[] = [];
    let start = 0;
    for (let i = 0; i < text.length; i += 1) {
      const char = text[i];
      if (char !== '\n' && char !== '\r') continue;
      this.#line(this.#buffer + text.slice(start, i), events);
      this.#buffer = '';
      if (char === '\r') {
        if (i + 1 < text.length) {
          if (text[i + 1] === '\n') i += 1;
        } else {
          this.#afterCarriageReturn = true;
        }
      }
      start = i + 1;
    }
    this.#buffer += text.slice(start);
    return events;
  }

  /** The stream ended: an unterminated last line is still a line, but an event without its blank line is dropped. */
  end(): ServerSentEvent[] {
    if (this.#buffer !== '') this.#line(this.#buffer, []);
    this.#buffer = '';
    return [];
  }

  #line(line: string, events: ServerSentEvent[]): void {
    if (line === '') {
      this.#dispatch(events);
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'data':
        this.#data.push(value);
        break;
      case 'event':
        this.#type = value;
        break;
      case 'error':
        this.#errorField = value;
        break;
      default:
        // id, retry and unknown fields mean nothing for one POST's answer.
        break;
    }
  }

  #dispatch(events: ServerSentEvent[]): void {
    if (this.#data.length > 0 || this.#errorField !== undefined) {
      const event: ServerSentEvent = { type: this.#type || 'message', data: this.#data.join('\n') };
      if (this.#errorField !== undefined) event.errorField = this.#errorField;
      events.push(event);
    }
    this.#type = '';
    this.#data = [];
    this.#errorField = undefined;
  }
}

/** The server's words from an error answer: OpenAI's `{error: {message}}`, LM Studio's `{error: "…"}`, or the text. */
async function errorMessageOf(response: Response): Promise<string> {
  let text = '';
  try {
    text = await response.text();
  } catch {
    // The body broke off: the status says enough.
  }
  try {
    const envelope = ErrorEnvelope.safeParse(JSON.parse(text));
    if (envelope.success) return errorText(envelope.data.error);
  } catch {
    // Not JSON: quote it.
  }
  return text.trim() === '' ? response.statusText || `HTTP ${response.status}` : quote(text.trim());
}

function errorText(error: z.infer<typeof ErrorDetail>): string {
  if (typeof error === 'string') return error;
  return error.message ?? error.type ?? String(error.code ?? 'an error without a message');
}

function errorFieldText(value: string): string {
  try {
    const json: unknown = JSON.parse(value);
    const envelope = ErrorEnvelope.safeParse(json);
    if (envelope.success) return errorText(envelope.data.error);
    const detail = ErrorDetail.safeParse(json);
    if (detail.success) return errorText(detail.data);
  } catch {
    // Plain text.
  }
  return quote(value);
}

function quote(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return JSON.stringify(oneLine.length > QUOTE_CHARS ? `${oneLine.slice(0, QUOTE_CHARS)}…` : oneLine);
}

function retryAfterText(error: unknown): string {
  const ms = (error as { retryAfterMs?: unknown }).retryAfterMs;
  return typeof ms === 'number' ? `; it asks to wait ${formatSeconds(ms)}` : '';
}

function modelMissing(baseUrl: string, model: string, available: string[]): AgentError {
  const listed = available.length > 0 ? ` It lists: ${available.join(', ')}.` : ' It lists no models: load one in the server first.';
  return new AgentError('MODEL_MISSING', `The server at ${baseUrl} does not have the model "${model}". Load it there, or choose a model it lists.${listed}`);
}

/**
 * Failures that count against the circuit breaker: those of any model server (see isServerOutageStatus), and a stream
 * that does not speak the protocol. Not an error the server reported in the stream, nor a cancel.
 */
function isServerOutage(error: unknown): boolean {
  return error instanceof StreamProtocolError || isServerOutageStatus(error);
}
