import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentError } from '../../../src-shared/contract/index.js';
import { ProviderRefusedRequest, type LlmGenerateRequest } from './llmProvider.js';
import { OllamaLlmProvider, probeOllama, type OllamaProviderConfig } from './ollamaProvider.node.js';
import { OllamaProtocolServer, type OllamaProtocolServerOptions } from '../../testing/ollamaProtocolServer.node.js';

const SUITE = "Ollama protocol test (local server speaking Ollama's REST API, not a real Ollama)";
const STORY = ['Once', ' upon', ' a', ' time', ',', ' a', ' fox', ' sang', '.'];

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startServer(options: OllamaProtocolServerOptions = {}): Promise<OllamaProtocolServer> {
  const server = await OllamaProtocolServer.start(options);
  cleanups.push(() => server.close());
  return server;
}

function providerFor(host: string, config: Partial<OllamaProviderConfig> = {}): OllamaLlmProvider {
  const provider = new OllamaLlmProvider({ model: 'llama3.2', host, ...config });
  cleanups.push(() => provider.dispose());
  return provider;
}

function question(overrides: Partial<LlmGenerateRequest> = {}): LlmGenerateRequest {
  return {
    systemPrompt: 'You are a helpful voice assistant.',
    history: [],
    question: 'Tell me a story.',
    maxTokens: 128,
    signal: new AbortController().signal,
    onToken: () => undefined,
    ...overrides,
  };
}

async function rejection(promise: Promise<unknown>): Promise<AgentError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AgentError);
  return error as AgentError;
}

/** A port nothing listens on: bind an ephemeral port, then free it. */
async function freePort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A port that accepts TCP connections and never answers, like a hung server. */
async function silentPort(): Promise<number> {
  const sockets: Socket[] = [];
  const server: TcpServer = createTcpServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return (server.address() as { port: number }).port;
}

describe(SUITE, () => {
  it(`${SUITE}: load() checks /api/tags, preloads with keep_alive, warms up and finds the model in /api/ps`, async () => {
    const server = await startServer({ models: ['llama3.2:latest'], contextLength: 2048 });
    const provider = providerFor(server.url, { keepAlive: '45m' });

    await provider.load();

    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /api/tags',
      'POST /api/show',
      'POST /api/generate',
      'POST /api/chat',
      'GET /api/ps',
    ]);
    const [preload] = server.requestsTo('/api/generate');
    // The model knows 2048 tokens, fewer than the 4096 default, so Ollama's window and the history budget follow it.
    expect(provider.contextTokens).toBe(2048);
    expect(preload?.body).toMatchObject({ model: 'llama3.2', prompt: '', keep_alive: '45m', options: { num_ctx: 2048 } });
    const [warmUp] = server.requestsTo('/api/chat');
    expect(warmUp?.body).toMatchObject({ model: 'llama3.2', stream: false, keep_alive: '45m', options: { num_ctx: 2048 } });
    expect((warmUp?.body as { messages: unknown[] }).messages.length).toBeGreaterThan(0);

    const report = provider.loadReport;
    expect(report?.loaded).toBe(true);
    const minutesLeft = ((report?.expiresAt?.getTime() ?? 0) - Date.now()) / 60_000;
    expect(minutesLeft).toBeGreaterThan(44);
    expect(minutesLeft).toBeLessThanOrEqual(45);
  });

  it(`${SUITE}: generate streams the answer token by token, in order, while the server is still sending`, async () => {
    const server = await startServer({ tokens: STORY, tokenIntervalMs: 10 });
    const provider = providerFor(server.url);
    await provider.load();

    const received: string[] = [];
    let streamStillOpenAtFirstToken: boolean | undefined;
    const result = await provider.generate(
      question({
        onToken: (text) => {
          if (received.length === 0) streamStillOpenAtFirstToken = server.requestsTo('/api/chat').at(-1)?.outcome === 'pending';
          received.push(text);
        },
      }),
    );

    expect(received).toEqual(STORY);
    expect(streamStillOpenAtFirstToken).toBe(true);
    expect(result).toMatchObject({ text: STORY.join(''), tokens: STORY.length, aborted: false });
    expect(result.promptTokens).toBeGreaterThan(0);
  });

  it(`${SUITE}: system prompt, history and question reach the server as chat messages, with num_predict and keep_alive`, async () => {
    const server = await startServer({ tokens: STORY, tokenIntervalMs: 1 });
    const provider = providerFor(server.url);

    const result = await provider.generate(
      question({
        systemPrompt: 'Answer in one sentence.',
        history: [
          { role: 'user', text: 'My name is Ada.' },
          { role: 'assistant', text: 'Nice to meet you, Ada.' },
        ],
        question: 'What is my name?',
        maxTokens: 3,
      }),
    );

    const chat = server.requestsTo('/api/chat').at(-1);
    expect(chat?.body).toMatchObject({
      model: 'llama3.2',
      stream: true,
      keep_alive: '30m',
      options: { num_predict: 3 },
      messages: [
        { role: 'system', content: 'Answer in one sentence.' },
        { role: 'user', content: 'My name is Ada.' },
        { role: 'assistant', content: 'Nice to meet you, Ada.' },
        { role: 'user', content: 'What is my name?' },
      ],
    });
    // The server honoured num_predict, so the answer stops after maxTokens tokens.
    expect(result.text).toBe(STORY.slice(0, 3).join(''));
  });

  it(`${SUITE}: a request's sampling reaches the server as options.seed and options.temperature, and only when given`, async () => {
    const server = await startServer({ tokens: STORY, tokenIntervalMs: 1 });
    const provider = providerFor(server.url);

    await provider.generate(question({ maxTokens: 3, sampling: { seed: 7, temperature: 0.9 } }));
    await provider.generate(question({ maxTokens: 3, sampling: { seed: 2 } }));
    await provider.generate(question({ maxTokens: 3, sampling: { temperature: 0 } }));
    await provider.generate(question({ maxTokens: 3 }));

    const options = server.streamedChats.map((chat) => (chat.body as { options?: unknown }).options);
    expect(options).toEqual([
      { num_predict: 3, num_ctx: 4096, seed: 7, temperature: 0.9 },
      { num_predict: 3, num_ctx: 4096, seed: 2 },
      { num_predict: 3, num_ctx: 4096, temperature: 0 },
      { num_predict: 3, num_ctx: 4096 },
    ]);
  });

  it(`${SUITE}: cancel mid-answer returns the partial text within 100 ms and the server sees the connection closed`, async () => {
    const server = await startServer({ tokens: Array.from({ length: 200 }, (_, i) => ` w${i}`), tokenIntervalMs: 20 });
    const provider = providerFor(server.url);
    await provider.load();

    const controller = new AbortController();
    const received: string[] = [];
    let abortedAt = 0;
    let tokensAfterAbort = 0;
    const result = await provider.generate(
      question({
        signal: controller.signal,
        onToken: (text) => {
          if (controller.signal.aborted) tokensAfterAbort += 1;
          received.push(text);
          if (received.length === 3) {
            abortedAt = performance.now();
            controller.abort();
          }
        },
      }),
    );
    const cancelMs = performance.now() - abortedAt;

    expect(cancelMs).toBeLessThan(100);
    expect(result.aborted).toBe(true);
    expect(result.text).toBe(' w0 w1 w2');
    expect(tokensAfterAbort).toBe(0);
    const chat = server.requestsTo('/api/chat').at(-1);
    expect(await chat?.settled).toBe('closed-by-client');
  });

  it(`${SUITE}: cancel before the first token returns within 100 ms and closes the waiting request`, async () => {
    const server = await startServer({ tokens: STORY, tokenIntervalMs: 5_000 });
    const provider = providerFor(server.url);

    const controller = new AbortController();
    const pending = provider.generate(question({ signal: controller.signal }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const abortedAt = performance.now();
    controller.abort();
    const result = await pending;

    expect(performance.now() - abortedAt).toBeLessThan(100);
    expect(result).toMatchObject({ aborted: true, text: '' });
    expect(await server.requestsTo('/api/chat').at(-1)?.settled).toBe('closed-by-client');
  });

  it(`${SUITE}: load and several sequential generates share one TCP connection`, async () => {
    const server = await startServer({ tokens: STORY, tokenIntervalMs: 1 });
    const provider = providerFor(server.url);
    await provider.load();
    for (let turn = 0; turn < 3; turn += 1) {
      const result = await provider.generate(question({ question: `Question ${turn}` }));
      expect(result.text).toBe(STORY.join(''));
    }

    expect(server.requestsTo('/api/chat')).toHaveLength(4); // warm-up + 3 questions
    expect(server.connectionCount).toBe(1);
    expect(new Set(server.requests.map((r) => r.socketId))).toEqual(new Set([1]));
  });

  it(`${SUITE}: a model Ollama does not have fails load() with MODEL_MISSING and the \`ollama pull\` fix`, async () => {
    const server = await startServer({ models: ['qwen2.5:0.5b'] });
    const provider = providerFor(server.url, { model: 'llama3.2' });

    const error = await rejection(provider.load());

    expect(error.code).toBe('MODEL_MISSING');
    expect(error.message).toContain('ollama pull llama3.2');
    expect(error.message).toContain('qwen2.5:0.5b');
    expect(await probeOllama(server.url, 'llama3.2')).toEqual({ reachable: true, hasModel: false, models: ['qwen2.5:0.5b'] });
    expect(await probeOllama(server.url, 'qwen2.5:0.5b')).toMatchObject({ reachable: true, hasModel: true });
  });

  it(`${SUITE}: nothing listening gives PROVIDER_UNAVAILABLE naming the host, and probeOllama says unreachable at once`, async () => {
    const host = `http://127.0.0.1:${await freePort()}`;
    const provider = providerFor(host);

    const loadError = await rejection(provider.load());
    expect(loadError.code).toBe('PROVIDER_UNAVAILABLE');
    expect(loadError.message).toContain(host);
    expect(loadError.message).toContain('ollama serve');
    expect((await rejection(provider.generate(question()))).code).toBe('PROVIDER_UNAVAILABLE');

    // A refused connection is not retried: nothing listens, and the caller falls back at once.
    const generateStarted = performance.now();
    expect((await rejection(provider.generate(question()))).code).toBe('PROVIDER_UNAVAILABLE');
    expect(performance.now() - generateStarted).toBeLessThan(500);

    const started = performance.now();
    const probe = await probeOllama(host, 'llama3.2');
    expect(performance.now() - started).toBeLessThan(800);
    expect(probe).toMatchObject({ reachable: false, hasModel: false, models: [] });
    expect(probe.error).toContain(host);
  });

  it(`${SUITE}: probeOllama gives up on a port that accepts connections but never answers, within its timeout`, async () => {
    const host = `http://127.0.0.1:${await silentPort()}`;
    const timeoutMs = 300;

    const started = performance.now();
    const probe = await probeOllama(host, 'llama3.2', timeoutMs);
    const elapsed = performance.now() - started;

    expect(probe).toMatchObject({ reachable: false, hasModel: false });
    expect(probe.error).toContain(`no answer within ${timeoutMs} ms`);
    expect(elapsed).toBeGreaterThanOrEqual(timeoutMs - 5);
    // The deadline is a timer: allow a few milliseconds for the event loop to run it.
    expect(elapsed).toBeLessThan(timeoutMs + 50);
  });

  it(`${SUITE}: a connection dropped mid-answer rejects with PROVIDER_UNAVAILABLE or GENERATION_FAILED, and the next turn works`, async () => {
    const server = await startServer({ tokens: STORY, tokenIntervalMs: 2 });
    const provider = providerFor(server.url);
    await provider.load();

    server.failChat({ kind: 'drop-mid-stream', afterTokens: 2 });
    const received: string[] = [];
    const dropError = await rejection(provider.generate(question({ onToken: (t) => received.push(t) })));
    expect(['PROVIDER_UNAVAILABLE', 'GENERATION_FAILED']).toContain(dropError.code);
    expect(dropError.message).toContain(server.url);
    expect(received).toEqual(STORY.slice(0, 2));

    server.failChat({ kind: 'http-500' });
    const serverError = await rejection(provider.generate(question()));
    expect(serverError.code).toBe('GENERATION_FAILED');
    expect(serverError.message).toContain('500');

    server.failChat(null);
    expect((await provider.generate(question())).text).toBe(STORY.join(''));
  });
});

/** Short backoff for tests: 20, 40, 80, 160 ms (no jitter), instead of 1, 2, 4, 8 s. */
const FAST_RETRIES = { initialDelayMs: 20, random: () => 0.5 };

describe(`${SUITE}: retries, circuit breaker and time limits`, () => {
  it('answers after two 503s: the third try streams the answer, with growing pauses between the tries', async () => {
    const server = await startServer({ tokens: STORY, tokenIntervalMs: 1 });
    const provider = providerFor(server.url, { resilience: { retry: FAST_RETRIES } });
    server.failChat({ kind: 'http-status', status: 503, error: 'server busy, please try again.  maximum pending requests exceeded', times: 2 });

    const result = await provider.generate(question());

    expect(result.text).toBe(STORY.join(''));
    const tries = server.streamedChats;
    expect(tries.map((r) => r.outcome)).toEqual(['failed-on-purpose', 'failed-on-purpose', 'completed']);
    expect(provider.circuit.state).toBe('closed');
  });

  it('a connection reset before the answer is retried; the answer is not replayed once it has begun', async () => {
    const server = await startServer({ tokens: STORY, tokenIntervalMs: 1 });
    const provider = providerFor(server.url, { resilience: { retry: FAST_RETRIES } });
    server.failChat({ kind: 'reset-before-answer', times: 2 });
    expect((await provider.generate(question())).text).toBe(STORY.join(''));
    expect(server.streamedChats).toHaveLength(3);

    // Cut after two tokens: the tokens already streamed are not sent again (the turn decides what to do).
    server.failChat({ kind: 'drop-mid-stream', afterTokens: 2 });
    const received: string[] = [];
    await rejection(provider.generate(question({ onToken: (t) => received.push(t) })));
    expect(received).toEqual(STORY.slice(0, 2));
    expect(server.streamedChats).toHaveLength(4);
  });

  it("honours Retry-After: the next try waits what Ollama asked for, not the shorter backoff", async () => {
    const server = await startServer({ tokens: STORY, tokenIntervalMs: 1 });
    const provider = providerFor(server.url, { resilience: { retry: FAST_RETRIES } });
    server.failChat({ kind: 'http-status', status: 429, retryAfter: '1', times: 1 });
    const started = performance.now();
    expect((await provider.generate(question())).text).toBe(STORY.join(''));
    expect(performance.now() - started).toBeGreaterThanOrEqual(990);
    expect(server.streamedChats).toHaveLength(2);
  });

  it('a 400 is not retried: one request, and the error says what Ollama said', async () => {
    const server = await startServer({ tokens: STORY });
    const provider = providerFor(server.url, { resilience: { retry: FAST_RETRIES } });
    server.failChat({ kind: 'http-status', status: 400, error: '"llama3.2" does not support chat' });

    const error = await rejection(provider.generate(question()));

    expect(error).toBeInstanceOf(ProviderRefusedRequest);
    expect(error.message).toBe(`Ollama at ${server.url} refused the request for the model "llama3.2" (HTTP 400: "llama3.2" does not support chat).`);
    expect(server.streamedChats).toHaveLength(1);
    // A refused request says nothing about Ollama's health.
    expect(provider.circuit.state).toBe('closed');
  });

  it('a missing model (404) is not retried: MODEL_MISSING with the `ollama pull` fix', async () => {
    const server = await startServer({ tokens: STORY });
    const provider = providerFor(server.url, { resilience: { retry: FAST_RETRIES } });
    server.failChat({ kind: 'http-status', status: 404, error: "model 'llama3.2' not found" });
    const error = await rejection(provider.generate(question()));
    expect(error.code).toBe('MODEL_MISSING');
    expect(error.message).toContain('ollama pull llama3.2');
    expect(server.streamedChats).toHaveLength(1);
  });

  it('five failures in a row open the breaker: the next question fails at once, without a request, until the half-open delay', async () => {
    const server = await startServer({ tokens: STORY, tokenIntervalMs: 1 });
    const provider = providerFor(server.url, { resilience: { retry: FAST_RETRIES, breaker: { halfOpenAfterMs: 60_000 } } });
    server.failChat({ kind: 'http-status', status: 503 });

    const first = await rejection(provider.generate(question()));
    expect(first.code).toBe('GENERATION_FAILED');
    expect(first.message).toContain('HTTP 503');
    expect(server.streamedChats).toHaveLength(5);
    expect(provider.circuit.state).toBe('open');

    server.failChat(null);
    const started = performance.now();
    const refused = await rejection(provider.generate(question()));
    expect(performance.now() - started).toBeLessThan(50);
    expect(refused.code).toBe('PROVIDER_UNAVAILABLE');
    expect(refused.message).toMatch(new RegExp(`^Ollama at ${server.url} failed 5 times in a row; it is tried again in (59|60) s\\.$`));
    expect(server.streamedChats).toHaveLength(5);
  });

  it('a first token that does not come in time fails the try at its limit, and is not tried again', async () => {
    const server = await startServer({ tokens: STORY, tokenIntervalMs: 5_000 });
    const provider = providerFor(server.url, { firstTokenTimeoutMs: 200, resilience: { retry: FAST_RETRIES } });
    const started = performance.now();
    const error = await rejection(provider.generate(question()));
    const elapsed = performance.now() - started;
    expect(error.code).toBe('PROVIDER_UNAVAILABLE');
    expect(error.message).toBe(`Ollama at ${server.url} did not answer within 0.2 s. Check Ollama's log.`);
    expect(elapsed).toBeGreaterThanOrEqual(195);
    expect(elapsed).toBeLessThan(1_000);
    expect(server.streamedChats).toHaveLength(1);
    expect(await server.streamedChats[0]?.settled).toBe('closed-by-client');
  });
});
