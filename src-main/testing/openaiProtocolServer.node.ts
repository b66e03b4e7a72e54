/**
 * Test fixture: a local HTTP server that speaks the OpenAI-compatible chat API (`GET /v1/models`,
 * `POST /v1/chat/completions` with `stream` true or false); not LM Studio, llama-server, LocalAI or vLLM.
 *
 * It answers as those servers do: `chat.completion.chunk` events over server-sent events (a role chunk first, one
 * chunk per token, a chunk with `finish_reason` and `usage`, then `data: [DONE]`), errors as `{error: {message, type,
 * code}}`, rate-limit headers when told to send them. Each streamed request can be scripted to fail in a way real
 * servers do (a status with Retry-After, a cut connection, a hang, malformed or error events). It records every request
 * (body, headers, arrival time, TCP connection), so tests check what the provider sends and when, over real HTTP.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface OpenAiProtocolServerOptions {
  /** Model ids /v1/models lists and chat completions accept. */
  models?: string[];
  /** What a chat completion answers, one chunk per entry. */
  tokens?: string[];
  /** Wait before each streamed chunk. */
  tokenIntervalMs?: number;
  /** When set, every request needs `Authorization: Bearer <apiKey>`; others get 401. */
  apiKey?: string;
  /** Headers sent with every response (rate-limit headers, say). */
  headers?: Record<string, string>;
  /** The stream's line ending: "\n" as most servers, "\r\n" as some proxies. */
  lineEnding?: '\n' | '\r\n';
  /** A comment line (": keep-alive") before every event, as servers and proxies send to keep idle connections open. */
  keepAliveComments?: boolean;
  /** Each event written in two pieces, split inside its `data:` line, with a pause between them. */
  splitEvents?: boolean;
  /**
   * How a streamed chat completion answers, chosen from what it asks (its model, system prompt, question): consulted
   * for each streamed request the `scriptStreamed` queue does not cover; undefined gives the default answer.
   */
  respond?: (body: ChatCompletionBody, request: RecordedRequest) => OpenAiScriptedAnswer | undefined;
}

/**
 * How one streamed chat completion answers (scripted with `scriptStreamed`, in order, one per request, or chosen per
 * request by the `respond` option):
 * - `answer`: the answer (default tokens unless given), with extra `headers`, its chunks `tokenIntervalMs` apart
 *   (default: the server's);
 * - `status`: an error status with `{error}` and `headers` (Retry-After, rate limits), as a busy or refusing server;
 * - `cut-mid-stream`: the connection destroyed after `afterTokens` chunks;
 * - `reset-before-answer`: the connection reset before any byte of the answer;
 * - `hang`: no answer at all, or (`sendHeaders`) a 200 with its headers and a role chunk, then nothing;
 * - `malformed`: after `afterTokens` chunks, an event whose data is `line` (not JSON by default);
 * - `error-event`: after `afterTokens` chunks, an error in the stream: `data: {"error": …}` (OpenAI, vLLM, current
 *   llama.cpp), `event: error`, or llama.cpp's older non-standard `error:` field;
 * - `end-without-done`: the body ends after `afterTokens` chunks, without a finish reason or `[DONE]`;
 * - `whole-json`: the whole answer as one JSON chat completion, as a server that does not stream does.
 */
export type OpenAiScriptedAnswer =
  | { kind: 'answer'; tokens?: string[]; headers?: Record<string, string>; tokenIntervalMs?: number }
  | { kind: 'status'; status: number; error?: string; headers?: Record<string, string> }
  | { kind: 'cut-mid-stream'; afterTokens: number }
  | { kind: 'reset-before-answer' }
  | { kind: 'hang'; sendHeaders?: boolean }
  | { kind: 'malformed'; afterTokens: number; line?: string }
  | { kind: 'error-event'; afterTokens: number; message: string; style?: 'data' | 'event' | 'error-field' }
  | { kind: 'end-without-done'; afterTokens: number }
  | { kind: 'whole-json' };

export type RequestOutcome = 'pending' | 'completed' | 'closed-by-client' | 'failed-on-purpose';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body; undefined for GET. */
  body: unknown;
  /** When it arrived (performance.now() of this process). */
  receivedAt: number;
  /** Which TCP connection carried it (1 for the first the server accepted, and so on). */
  socketId: number;
  outcome: RequestOutcome;
  /** Resolves once the exchange is over, with how it ended. */
  settled: Promise<RequestOutcome>;
}

export interface ChatCompletionBody {
  model?: unknown;
  messages?: unknown;
  stream?: unknown;
  max_tokens?: unknown;
  temperature?: unknown;
  seed?: unknown;
}

/** Every request answered with this status until cleared (a server that is overloaded or shutting down). */
export interface OpenAiServerFailure {
  status: number;
  error?: string;
  headers?: Record<string, string>;
}

export class OpenAiProtocolServer {
  readonly requests: RecordedRequest[] = [];
  private readonly script: OpenAiScriptedAnswer[] = [];
  private serverFailure: OpenAiServerFailure | null = null;
  private readonly models: string[];
  private readonly tokens: string[];
  private readonly tokenIntervalMs: number;
  private readonly apiKey: string | undefined;
  private readonly headers: Record<string, string>;
  private readonly lineEnding: string;
  private readonly keepAliveComments: boolean;
  private readonly splitEvents: boolean;
  private readonly respond: OpenAiProtocolServerOptions['respond'];
  private readonly socketIds = new WeakMap<Socket, number>();
  private acceptedSockets = 0;
  private completions = 0;
  private readonly arrivalWaiters: Array<{ path: string; resolve: (request: RecordedRequest) => void }> = [];
  private readonly server = createServer((req, res) => void this.handle(req, res));

  private constructor(options: OpenAiProtocolServerOptions) {
    this.models = options.models ?? ['qwen2.5-0.5b-instruct'];
    this.tokens = options.tokens ?? ['Hello', ',', ' world', '.'];
    this.tokenIntervalMs = options.tokenIntervalMs ?? 5;
    this.apiKey = options.apiKey;
    this.headers = options.headers ?? {};
    this.lineEnding = options.lineEnding ?? '\n';
    this.keepAliveComments = options.keepAliveComments ?? false;
    this.splitEvents = options.splitEvents ?? false;
    this.respond = options.respond;
    this.server.on('connection', (socket: Socket) => this.socketIds.set(socket, ++this.acceptedSockets));
  }

  static async start(options: OpenAiProtocolServerOptions = {}): Promise<OpenAiProtocolServer> {
    const fixture = new OpenAiProtocolServer(options);
    await new Promise<void>((resolve, reject) => {
      fixture.server.once('error', reject);
      fixture.server.listen(0, '127.0.0.1', resolve);
    });
    return fixture;
  }

  /** The API root, as a user would set it (LM Studio shows it the same way: http://host:port/v1). */
  get baseUrl(): string {
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}/v1`;
  }

  /** Distinct TCP connections accepted so far. */
  get connectionCount(): number {
    return this.acceptedSockets;
  }

  requestsTo(path: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path === path);
  }

  /** Streamed chat completions so far (what a question sends; a warm-up is not streamed). */
  get streamedChats(): RecordedRequest[] {
    return this.requestsTo('/v1/chat/completions').filter((r) => (r.body as ChatCompletionBody | undefined)?.stream === true);
  }

  /** Resolves when a request to `path` has arrived (its headers and body read), at once if one already has. */
  requestArrived(path: string): Promise<RecordedRequest> {
    const arrived = this.requestsTo(path).find((r) => r.body !== undefined || r.method === 'GET');
    if (arrived) return Promise.resolve(arrived);
    return new Promise((resolve) => this.arrivalWaiters.push({ path, resolve }));
  }

  /** How the next streamed chat completions answer, one per request, in order; afterwards they answer normally. */
  scriptStreamed(...answers: OpenAiScriptedAnswer[]): void {
    this.script.push(...answers);
  }

  /** Answers every request (models and warm-ups too) with `failure.status` until cleared. */
  failEverything(failure: OpenAiServerFailure | null): void {
    this.serverFailure = failure;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let settle: (outcome: RequestOutcome) => void = () => undefined;
    const record: RecordedRequest = {
      method: req.method ?? '',
      path: new URL(req.url ?? '/', 'http://fixture').pathname,
      headers: req.headers,
      body: undefined,
      receivedAt: performance.now(),
      socketId: this.socketIds.get(req.socket) ?? 0,
      outcome: 'pending',
      settled: new Promise((resolve) => (settle = resolve)),
    };
    this.requests.push(record);
    res.on('close', () => {
      if (record.outcome === 'pending') record.outcome = res.writableFinished ? 'completed' : 'closed-by-client';
      settle(record.outcome);
    });

    const raw = await readBody(req);
    if (raw.length > 0) {
      try {
        record.body = JSON.parse(raw);
      } catch {
        return this.sendError(res, 400, 'invalid JSON body', 'invalid_request_error');
      }
    }
    if (this.apiKey !== undefined && req.headers.authorization !== `Bearer ${this.apiKey}`) {
      return this.sendError(res, 401, 'Incorrect API key provided.', 'invalid_request_error', {}, 'invalid_api_key');
    }
    for (const waiter of this.arrivalWaiters.filter((w) => w.path === record.path)) {
      this.arrivalWaiters.splice(this.arrivalWaiters.indexOf(waiter), 1);
      waiter.resolve(record);
    }
    const everything = this.serverFailure;
    if (everything) {
      record.outcome = 'failed-on-purpose';
      return this.sendError(res, everything.status, everything.error ?? `the fixture was told to answer ${everything.status}`, 'server_error', everything.headers);
    }
    const route = `${record.method} ${record.path}`;
    switch (route) {
      case 'GET /v1/models':
        return this.sendJson(res, 200, {
          object: 'list',
          data: this.models.map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'organization_owner' })),
        });
      case 'POST /v1/chat/completions':
        return this.chat((record.body ?? {}) as ChatCompletionBody, record, res);
      default:
        return this.sendError(res, 404, `${route} is not part of this fixture`, 'invalid_request_error');
    }
  }

  private chat(body: ChatCompletionBody, record: RecordedRequest, res: ServerResponse): void {
    if (typeof body.model !== 'string' || !this.models.includes(body.model)) {
      return this.sendError(res, 404, `The model \`${String(body.model)}\` does not exist.`, 'NotFoundError', {}, 404);
    }
    const model = body.model;
    const messagesValid =
      Array.isArray(body.messages) &&
      body.messages.length > 0 &&
      body.messages.every((m: unknown) => typeof m === 'object' && m !== null && typeof (m as { content?: unknown }).content === 'string');
    if (!messagesValid) return this.sendError(res, 400, "'messages' must be a non-empty array of messages with text content", 'invalid_request_error');

    const id = `chatcmpl-fixture-${++this.completions}`;
    const created = Math.floor(Date.now() / 1000);
    const maxTokens = typeof body.max_tokens === 'number' && body.max_tokens > 0 ? body.max_tokens : Number.POSITIVE_INFINITY;
    const promptTokens = (body.messages as Array<{ content: string }>).reduce((sum, m) => sum + Math.ceil(m.content.length / 4), 0);
    const clip = (tokens: string[]) => ({ answer: tokens.slice(0, maxTokens), finishReason: tokens.length > maxTokens ? 'length' : 'stop' });

    if (body.stream !== true) {
      const { answer, finishReason } = clip(this.tokens);
      return this.sendJson(res, 200, completion(id, created, model, answer.join(''), finishReason, promptTokens, answer.length));
    }

    const scripted: OpenAiScriptedAnswer = this.script.shift() ?? this.respond?.(body, record) ?? { kind: 'answer' };
    switch (scripted.kind) {
      case 'status':
        record.outcome = 'failed-on-purpose';
        return this.sendError(res, scripted.status, scripted.error ?? `the fixture was told to answer ${scripted.status}`, 'server_error', scripted.headers);
      case 'reset-before-answer':
        record.outcome = 'failed-on-purpose';
        res.socket?.resetAndDestroy();
        return;
      case 'whole-json': {
        const { answer, finishReason } = clip(this.tokens);
        return this.sendJson(res, 200, completion(id, created, model, answer.join(''), finishReason, promptTokens, answer.length));
      }
      case 'hang':
        // Left pending: the test sees the provider close it ('closed-by-client').
        if (scripted.sendHeaders) {
          res.writeHead(200, this.streamHeaders());
          res.write(this.event(chunk(id, created, model, { role: 'assistant', content: '' }, null)));
        }
        return;
      default:
        return this.stream(scripted, { id, created, model, promptTokens, clip }, record, res);
    }
  }

  private stream(
    scripted: Exclude<OpenAiScriptedAnswer, { kind: 'status' | 'reset-before-answer' | 'whole-json' | 'hang' }>,
    completionInfo: { id: string; created: number; model: string; promptTokens: number; clip: (tokens: string[]) => { answer: string[]; finishReason: string } },
    record: RecordedRequest,
    res: ServerResponse,
  ): void {
    const { id, created, model, promptTokens } = completionInfo;
    const { answer, finishReason } = completionInfo.clip(scripted.kind === 'answer' && scripted.tokens ? scripted.tokens : this.tokens);
    const breakAfter = scripted.kind === 'answer' ? Number.POSITIVE_INFINITY : scripted.afterTokens;
    const writes: string[] = [this.event(chunk(id, created, model, { role: 'assistant', content: '' }, null))];
    for (const [index, content] of answer.entries()) {
      if (index === breakAfter) break;
      writes.push(this.event(chunk(id, created, model, { content }, null)));
    }
    const le = this.lineEnding;
    switch (scripted.kind) {
      case 'answer':
        writes.push(
          this.event({
            ...chunk(id, created, model, {}, finishReason),
            usage: { prompt_tokens: promptTokens, completion_tokens: answer.length, total_tokens: promptTokens + answer.length },
          }),
          `data: [DONE]${le}${le}`,
        );
        break;
      case 'malformed':
        writes.push(`data: ${scripted.line ?? '{"id": "chatcmpl-broken", "choices": [{"delta": {"content": "oops"'}${le}${le}`);
        break;
      case 'error-event': {
        const error = JSON.stringify({ error: { code: 500, message: scripted.message, type: 'server_error' } });
        const style = scripted.style ?? 'data';
        if (style === 'data') writes.push(`data: ${error}${le}${le}`);
        else if (style === 'event') writes.push(`event: error${le}data: ${error}${le}${le}`);
        else writes.push(`error: ${JSON.stringify({ code: 500, message: scripted.message, type: 'server_error' })}${le}${le}`, `data: [DONE]${le}${le}`);
        break;
      }
      default:
        // cut-mid-stream and end-without-done stop where the chunks stop.
        break;
    }

    const interval = (scripted.kind === 'answer' ? scripted.tokenIntervalMs : undefined) ?? this.tokenIntervalMs;
    res.writeHead(200, { ...this.streamHeaders(), ...(scripted.kind === 'answer' ? scripted.headers : {}) });
    res.flushHeaders();
    let timer: NodeJS.Timeout | undefined;
    res.on('close', () => clearTimeout(timer));
    const sendNext = () => {
      const next = writes.shift();
      if (next === undefined) {
        if (scripted.kind === 'cut-mid-stream') {
          record.outcome = 'failed-on-purpose';
          res.socket?.destroy();
          return;
        }
        if (scripted.kind !== 'answer') record.outcome = 'failed-on-purpose';
        res.end();
        return;
      }
      if (this.splitEvents && next.length > 8) {
        const cut = Math.min(next.length - 2, 8 + Math.floor(next.length / 3));
        res.write(next.slice(0, cut));
        writes.unshift(next.slice(cut));
        timer = setTimeout(sendNext, 1);
        return;
      }
      // The last write ends the body with it, as servers do after [DONE].
      if (writes.length === 0 && scripted.kind === 'answer') {
        res.end(next);
        return;
      }
      res.write(next);
      timer = setTimeout(sendNext, interval);
    };
    timer = setTimeout(sendNext, interval);
  }

  private streamHeaders(): Record<string, string> {
    return { ...this.headers, 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache', Connection: 'keep-alive' };
  }

  private event(payload: object): string {
    const le = this.lineEnding;
    const comment = this.keepAliveComments ? `: keep-alive${le}${le}` : '';
    return `${comment}data: ${JSON.stringify(payload)}${le}${le}`;
  }

  private sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { ...this.headers, ...headers, 'Content-Type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(body));
  }

  private sendError(res: ServerResponse, status: number, message: string, type: string, headers: Record<string, string> = {}, code: string | number | null = null): void {
    this.sendJson(res, status, { error: { message, type, param: null, code } }, headers);
  }
}

function chunk(id: string, created: number, model: string, delta: object, finishReason: string | null): object {
  return { id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_fixture', choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }] };
}

function completion(id: string, created: number, model: string, content: string, finishReason: string, promptTokens: number, completionTokens: number): object {
  return {
    id,
    object: 'chat.completion',
    created,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content }, logprobs: null, finish_reason: finishReason }],
    usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const piece of req) chunks.push(piece as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
