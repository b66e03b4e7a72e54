import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentError } from '../../../src-shared/contract/index.js';
import type { LlmGenerateRequest } from './llmProvider.js';
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
