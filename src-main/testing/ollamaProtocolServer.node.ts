/**
 * Test fixture: a local HTTP server that speaks Ollama's documented REST protocol; not Ollama.
 *
 * It answers the way github.com/ollama/ollama docs/api.md documents (NDJSON streaming, field names, durations in
 * nanoseconds, headers sent with the first token), so the Ollama provider can be tested over real HTTP and real TCP on
 * machines where no Ollama server can be installed. It records every request and the TCP connection it came on, and
 * can be told to fail, so tests can check what the provider sends and how it recovers.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface OllamaProtocolServerOptions {
  /** Model tags the server has (listed by /api/tags). */
  models?: string[];
  /** Chunks /api/chat streams, in order. */
  tokens?: string[];
  /** Wait before each streamed chunk; like Ollama, the response headers go out with the first one. */
  tokenIntervalMs?: number;
  /** `<architecture>.context_length` in /api/show's model_info. */
  contextLength?: number;
  /** Models /api/pull can fetch, with their size in bytes; once pulled they are listed by /api/tags. */
  pullable?: Record<string, number>;
  /** Wait between /api/pull's progress lines (ten per layer). */
  pullIntervalMs?: number;
}

/**
 * How the next streamed /api/chat requests fail: until cleared, or (with `times`) that many requests, then they answer.
 * `http-status` answers with `status` and `{error}` (and a Retry-After header when given), as Ollama does with 503
 * "server busy" or 400; `reset-before-answer` destroys the connection before any byte of the answer.
 */
export type OllamaChatFailure =
  | { kind: 'http-500' }
  | { kind: 'http-status'; status: number; error?: string; retryAfter?: string; times?: number }
  | { kind: 'reset-before-answer'; times?: number }
  | { kind: 'drop-mid-stream'; afterTokens: number };

export type RequestOutcome = 'pending' | 'completed' | 'closed-by-client' | 'failed-on-purpose';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body; undefined for GET. */
  body: unknown;
  /** Which TCP connection carried it (1 for the first the server accepted, and so on). */
  socketId: number;
  outcome: RequestOutcome;
  /** Resolves once the exchange is over, with how it ended. */
  settled: Promise<RequestOutcome>;
}

interface ModelRequestBody {
  model?: unknown;
  /** /api/pull's older name for `model`. */
  name?: unknown;
  messages?: unknown;
  prompt?: unknown;
  stream?: unknown;
  keep_alive?: unknown;
  options?: { num_predict?: unknown };
}

const FOREVER = Number.POSITIVE_INFINITY;
const DEFAULT_KEEP_ALIVE_MS = 5 * 60_000;
const MODEL_DETAILS = {
  parent_model: '',
  format: 'gguf',
  family: 'llama',
  families: ['llama'],
  parameter_size: '1B',
  quantization_level: 'Q4_0',
};

/** Every request answered with this status until cleared (an Ollama that is busy or shutting down). */
export interface OllamaServerFailure {
  status: number;
  error?: string;
  retryAfter?: string;
}

export class OllamaProtocolServer {
  readonly requests: RecordedRequest[] = [];
  private chatFailure: OllamaChatFailure | null = null;
  private serverFailure: OllamaServerFailure | null = null;
  private readonly models: string[];
  private readonly tokens: string[];
  private readonly tokenIntervalMs: number;
  private readonly contextLength: number;
  private readonly pullable: Map<string, number>;
  private readonly pullIntervalMs: number;
  /** Loaded model → when its keep_alive runs out, as /api/ps reports it. */
  private readonly loaded = new Map<string, number>();
  private readonly socketIds = new WeakMap<Socket, number>();
  private acceptedSockets = 0;
  private readonly server = createServer((req, res) => void this.handle(req, res));

  private constructor(options: OllamaProtocolServerOptions) {
    this.models = (options.models ?? ['llama3.2:latest']).map(withDefaultTag);
    this.tokens = options.tokens ?? ['Hello', ',', ' world', '.'];
    this.tokenIntervalMs = options.tokenIntervalMs ?? 5;
    this.contextLength = options.contextLength ?? 131_072;
    this.pullable = new Map(Object.entries(options.pullable ?? {}).map(([name, size]) => [withDefaultTag(name), size]));
    this.pullIntervalMs = options.pullIntervalMs ?? 5;
    this.server.on('connection', (socket: Socket) => this.socketIds.set(socket, ++this.acceptedSockets));
  }

  static async start(options: OllamaProtocolServerOptions = {}): Promise<OllamaProtocolServer> {
    const fixture = new OllamaProtocolServer(options);
    await new Promise<void>((resolve, reject) => {
      fixture.server.once('error', reject);
      fixture.server.listen(0, '127.0.0.1', resolve);
    });
    return fixture;
  }

  get url(): string {
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  /** Distinct TCP connections accepted so far. */
  get connectionCount(): number {
    return this.acceptedSockets;
  }

  requestsTo(path: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path === path);
  }

  failChat(failure: OllamaChatFailure | null): void {
    this.chatFailure = failure;
  }

  /** Answers every request (not only streamed chats) with `failure.status` until cleared. */
  failEverything(failure: OllamaServerFailure | null): void {
    this.serverFailure = failure;
  }

  /** Streamed /api/chat requests so far (what a question sends; the warm-up is not streamed). */
  get streamedChats(): RecordedRequest[] {
    return this.requestsTo('/api/chat').filter((r) => (r.body as { stream?: unknown } | undefined)?.stream !== false);
  }

  /** The failure for this streamed chat, counting down one that fails only `times` times. */
  private takeChatFailure(): OllamaChatFailure | null {
    const failure = this.chatFailure;
    if (failure && 'times' in failure && failure.times !== undefined) {
      if (failure.times <= 1) this.chatFailure = null;
      else this.chatFailure = { ...failure, times: failure.times - 1 };
    }
    return failure;
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
        sendJson(res, 400, { error: 'invalid JSON body' });
        return;
      }
    }
    const body = (record.body ?? {}) as ModelRequestBody;
    const route = `${record.method} ${record.path}`;
    const everything = this.serverFailure;
    if (everything) {
      record.outcome = 'failed-on-purpose';
      return sendJson(res, everything.status, { error: everything.error ?? `the fixture was told to answer ${everything.status}` }, everything.retryAfter);
    }
    switch (route) {
      case 'GET /api/version':
        return sendJson(res, 200, { version: '0.0.0-protocol-fixture' });
      case 'GET /api/tags':
        return sendJson(res, 200, {
          models: this.models.map((name) => ({
            name,
            model: name,
            modified_at: new Date().toISOString(),
            size: 1_000_000,
            digest: 'f'.repeat(64),
            details: MODEL_DETAILS,
          })),
        });
      case 'GET /api/ps':
        return sendJson(res, 200, { models: this.runningModels() });
      case 'POST /api/show':
        return this.withModel(body, res, (model) =>
          sendJson(res, 200, {
            modelfile: `FROM ${model}`,
            parameters: '',
            template: '{{ .Prompt }}',
            details: MODEL_DETAILS,
            model_info: { 'general.architecture': 'llama', 'llama.context_length': this.contextLength },
            capabilities: ['completion'],
            modified_at: new Date().toISOString(),
          }),
        );
      case 'POST /api/generate':
        return this.withModel(body, res, (model) => {
          if (typeof body.prompt === 'string' && body.prompt !== '') {
            return sendJson(res, 400, { error: 'this fixture only implements the empty-prompt preload of /api/generate' });
          }
          this.keepLoaded(model, body.keep_alive);
          sendJson(res, 200, { model, created_at: new Date().toISOString(), response: '', done: true, done_reason: 'load' });
        });
      case 'POST /api/chat':
        return this.withModel(body, res, (model) => this.chat(model, body, record, res));
      case 'POST /api/pull':
        return this.pull(body, res);
      default:
        return sendJson(res, 404, { error: `${route} is not part of this fixture` });
    }
  }

  private withModel(body: ModelRequestBody, res: ServerResponse, answer: (model: string) => void): void {
    const model = typeof body.model === 'string' ? withDefaultTag(body.model) : '';
    if (!this.models.includes(model)) {
      sendJson(res, 404, { error: `model '${String(body.model)}' not found` });
      return;
    }
    answer(model);
  }

  private chat(model: string, body: ModelRequestBody, record: RecordedRequest, res: ServerResponse): void {
    const started = process.hrtime.bigint();
    this.keepLoaded(model, body.keep_alive);
    if (!Array.isArray(body.messages) || body.messages.length === 0) {
      return sendJson(res, 200, {
        model,
        created_at: new Date().toISOString(),
        message: { role: 'assistant', content: '' },
        done_reason: 'load',
        done: true,
      });
    }
    const promptEvalCount = body.messages.length * 8;
    const numPredict = typeof body.options?.num_predict === 'number' ? body.options.num_predict : -1;
    // num_predict -1 (infinite) and -2 (fill context) do not clip the canned answer.
    const answer = numPredict > 0 ? this.tokens.slice(0, numPredict) : this.tokens;
    const doneReason = answer.length < this.tokens.length ? 'length' : 'stop';
    const finalLine = () => {
      const elapsed = Number(process.hrtime.bigint() - started);
      return {
        model,
        created_at: new Date().toISOString(),
        message: { role: 'assistant', content: '' },
        done: true,
        done_reason: doneReason,
        total_duration: elapsed,
        load_duration: 1_000,
        prompt_eval_count: promptEvalCount,
        prompt_eval_duration: 1_000,
        eval_count: answer.length,
        eval_duration: Math.max(elapsed - 2_000, 1),
      };
    };

    if (body.stream === false) {
      const line = finalLine();
      return sendJson(res, 200, { ...line, message: { role: 'assistant', content: answer.join('') } });
    }

    const failure = this.takeChatFailure();
    if (failure?.kind === 'http-500') {
      record.outcome = 'failed-on-purpose';
      return sendJson(res, 500, { error: 'the fixture was told to fail this chat' });
    }
    if (failure?.kind === 'http-status') {
      record.outcome = 'failed-on-purpose';
      return sendJson(res, failure.status, { error: failure.error ?? `the fixture was told to answer ${failure.status}` }, failure.retryAfter);
    }
    if (failure?.kind === 'reset-before-answer') {
      record.outcome = 'failed-on-purpose';
      res.socket?.resetAndDestroy();
      return;
    }
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    const sendNext = () => {
      if (failure?.kind === 'drop-mid-stream' && sent === failure.afterTokens) {
        record.outcome = 'failed-on-purpose';
        res.socket?.destroy();
        return;
      }
      if (!res.headersSent) res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
      if (sent < answer.length) {
        const content = answer[sent++];
        res.write(`${JSON.stringify({ model, created_at: new Date().toISOString(), message: { role: 'assistant', content }, done: false })}\n`);
      }
      if (sent === answer.length) {
        res.end(`${JSON.stringify(finalLine())}\n`);
        return;
      }
      timer = setTimeout(sendNext, this.tokenIntervalMs);
    };
    timer = setTimeout(sendNext, this.tokenIntervalMs);
    res.on('close', () => clearTimeout(timer));
  }

  /**
   * /api/pull as docs/api.md documents it: NDJSON status lines ("pulling manifest", then per layer "pulling <digest>"
   * with `digest`, `total` and `completed`, "verifying sha256 digest", "writing manifest", "success"). A model it cannot
   * pull ends the stream with an `error` line, as Ollama does once the response has started.
   */
  private pull(body: ModelRequestBody, res: ServerResponse): void {
    const requested = typeof body.model === 'string' ? body.model : typeof body.name === 'string' ? body.name : '';
    const model = withDefaultTag(requested);
    const size = this.pullable.get(model);
    if (body.stream === false) {
      if (size === undefined) return sendJson(res, 500, { error: 'pull model manifest: file does not exist' });
      if (!this.models.includes(model)) this.models.push(model);
      return sendJson(res, 200, { status: 'success' });
    }
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
    const lines: object[] = [{ status: 'pulling manifest' }];
    if (size === undefined) {
      lines.push({ error: 'pull model manifest: file does not exist' });
    } else {
      // Two layers, like a model's weights and its template.
      const layers = [
        { digest: `sha256:${'a'.repeat(64)}`, total: Math.max(1, size - 100) },
        { digest: `sha256:${'b'.repeat(64)}`, total: Math.min(100, size) },
      ];
      for (const layer of layers) {
        for (let step = 0; step <= 10; step += 1) {
          lines.push({ status: `pulling ${layer.digest.slice(7, 19)}`, digest: layer.digest, total: layer.total, completed: Math.round((layer.total * step) / 10) });
        }
      }
      lines.push({ status: 'verifying sha256 digest' }, { status: 'writing manifest' }, { status: 'success' });
    }
    let timer: NodeJS.Timeout | undefined;
    const sendNext = () => {
      const line = lines.shift();
      if (line === undefined) {
        res.end();
        return;
      }
      // Installed by the time the client reads "success".
      if ('status' in line && line.status === 'success' && !this.models.includes(model)) this.models.push(model);
      res.write(`${JSON.stringify(line)}\n`);
      timer = setTimeout(sendNext, this.pullIntervalMs);
    };
    sendNext();
    res.on('close', () => clearTimeout(timer));
  }

  private keepLoaded(model: string, keepAlive: unknown): void {
    const ms = keepAliveMs(keepAlive);
    if (ms === 0) this.loaded.delete(model);
    else this.loaded.set(model, Date.now() + ms);
  }

  private runningModels(): object[] {
    const now = Date.now();
    return [...this.loaded]
      .filter(([, expiresAt]) => expiresAt > now)
      .map(([name, expiresAt]) => ({
        name,
        model: name,
        size: 1_000_000,
        digest: 'f'.repeat(64),
        details: MODEL_DETAILS,
        // Ollama reports "keep forever" as a date far in the future.
        expires_at: new Date(expiresAt === FOREVER ? Date.UTC(2318, 0, 1) : expiresAt).toISOString(),
        size_vram: 0,
      }));
  }
}

/** keep_alive as Ollama reads it: a number of seconds or a Go duration ('30m', '1h30m'); negative keeps it forever. */
function keepAliveMs(value: unknown): number {
  if (typeof value === 'number') return value < 0 ? FOREVER : value * 1000;
  if (typeof value !== 'string' || value === '') return DEFAULT_KEEP_ALIVE_MS;
  if (/^-?\d+(\.\d+)?$/.test(value)) return keepAliveMs(Number(value));
  if (value.startsWith('-')) return FOREVER;
  const unitMs: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
  let total = 0;
  for (const [, amount, unit] of value.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)) {
    total += Number(amount) * (unitMs[unit ?? ''] ?? 0);
  }
  return total;
}

function withDefaultTag(name: string): string {
  const lastSegment = name.slice(name.lastIndexOf('/') + 1);
  return lastSegment.includes(':') ? name : `${name}:latest`;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(res: ServerResponse, status: number, body: unknown, retryAfter?: string): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', ...(retryAfter !== undefined && { 'Retry-After': retryAfter }) });
  res.end(JSON.stringify(body));
}
