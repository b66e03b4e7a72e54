import fc from 'fast-check';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentError } from '../../../src-shared/contract/index.js';
import { closedPort } from '../../testing/closedPort.node.js';
import { OpenAiProtocolServer, type ChatCompletionBody, type OpenAiProtocolServerOptions } from '../../testing/openaiProtocolServer.node.js';
import { ProviderRefusedRequest, type LlmGenerateRequest } from './llmProvider.js';
import {
  OpenAiCompatibleLlmProvider,
  resolveOpenAiCompatibleApiKey,
  resolveOpenAiCompatibleBaseUrl,
  ServerSentEventParser,
  type OpenAiCompatibleProviderConfig,
  type ServerSentEvent,
} from './openaiCompatibleProvider.node.js';

const SUITE = 'OpenAI-compatible protocol test (local server speaking /v1/chat/completions, not LM Studio or llama-server)';
const MODEL = 'qwen2.5-0.5b-instruct';
const STORY = ['Once', ' upon', ' a', ' time', ',', ' a', ' fox', ' sang', '.'];
/** Short backoff for tests: 20, 40, 80, 160 ms (no jitter), instead of 1, 2, 4, 8 s. */
const FAST_RETRIES = { initialDelayMs: 20, random: () => 0.5 };

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startServer(options: OpenAiProtocolServerOptions = {}): Promise<OpenAiProtocolServer> {
  const server = await OpenAiProtocolServer.start({ models: [MODEL], tokens: STORY, tokenIntervalMs: 2, ...options });
  cleanups.push(() => server.close());
  return server;
}

/** A provider that reads nothing from this process's environment unless a test passes `env`. */
function providerFor(baseUrl: string, config: Partial<OpenAiCompatibleProviderConfig> = {}): OpenAiCompatibleLlmProvider {
  const provider = new OpenAiCompatibleLlmProvider({ model: MODEL, baseUrl, env: {}, resilience: { retry: FAST_RETRIES }, ...config });
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
  it('load() finds the model in /v1/models and warms it up with one non-streamed token', async () => {
    const server = await startServer();
    const provider = providerFor(server.baseUrl);

    await provider.load();

    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /v1/models', 'POST /v1/chat/completions']);
    expect(server.requests[1]?.body).toMatchObject({ model: MODEL, stream: false, max_tokens: 1 });
    expect(provider).toMatchObject({ kind: 'openai', modelId: MODEL, contextTokens: 4096 });
  });

  it('generate streams the answer chunk by chunk, in order, while the server is still sending', async () => {
    const server = await startServer({ tokenIntervalMs: 10 });
    const provider = providerFor(server.baseUrl);

    const received: string[] = [];
    let streamStillOpenAtFirstToken: boolean | undefined;
    const result = await provider.generate(
      question({
        onToken: (text) => {
          if (received.length === 0) streamStillOpenAtFirstToken = server.streamedChats.at(-1)?.outcome === 'pending';
          received.push(text);
        },
      }),
    );

    expect(received).toEqual(STORY);
    expect(streamStillOpenAtFirstToken).toBe(true);
    // The server's usage: completion tokens, and the prompt tokens it evaluated.
    expect(result).toMatchObject({ text: STORY.join(''), tokens: STORY.length, aborted: false });
    expect(result.promptTokens).toBeGreaterThan(0);
    expect(await server.streamedChats[0]?.settled).toBe('completed');
  });

  it('system prompt, history and question reach the server as chat messages, with max_tokens, temperature and seed', async () => {
    const server = await startServer();
    const provider = providerFor(server.baseUrl, { temperature: 0.3, seed: 42 });

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

    expect(server.streamedChats.at(-1)?.body).toEqual({
      model: MODEL,
      stream: true,
      max_tokens: 3,
      temperature: 0.3,
      seed: 42,
      messages: [
        { role: 'system', content: 'Answer in one sentence.' },
        { role: 'user', content: 'My name is Ada.' },
        { role: 'assistant', content: 'Nice to meet you, Ada.' },
        { role: 'user', content: 'What is my name?' },
      ],
    });
    // The server honoured max_tokens (finish_reason "length").
    expect(result.text).toBe(STORY.slice(0, 3).join(''));
  });

  it('temperature and seed are left to the server when not set', async () => {
    const server = await startServer();
    await providerFor(server.baseUrl).generate(question());
    const body = server.streamedChats[0]?.body as ChatCompletionBody;
    expect(body).not.toHaveProperty('temperature');
    expect(body).not.toHaveProperty('seed');
  });

  it("a request's sampling overrides the configured temperature and seed, field by field, for that request only", async () => {
    const server = await startServer();
    const configured = providerFor(server.baseUrl, { temperature: 0.3, seed: 42 });
    await configured.generate(question({ sampling: { seed: 7, temperature: 0.9 } }));
    await configured.generate(question({ sampling: { seed: 2 } }));
    await configured.generate(question({ sampling: { temperature: 0 } }));
    await configured.generate(question());
    await providerFor(server.baseUrl).generate(question({ sampling: { seed: 5, temperature: 1 } }));

    const sampled = server.streamedChats.map((chat) => {
      const { temperature, seed } = chat.body as ChatCompletionBody;
      return { temperature, seed };
    });
    expect(sampled).toEqual([
      { temperature: 0.9, seed: 7 },
      { temperature: 0.3, seed: 2 },
      { temperature: 0, seed: 42 },
      { temperature: 0.3, seed: 42 },
      { temperature: 1, seed: 5 },
    ]);
  });

  it('the API key is sent as a Bearer token only when one is set, from the settings or ASSISTANT_OPENAI_API_KEY', async () => {
    const server = await startServer();

    await providerFor(server.baseUrl).load();
    await providerFor(server.baseUrl).generate(question());
    expect(server.requests.map((r) => r.headers.authorization)).toEqual([undefined, undefined, undefined]);

    await providerFor(server.baseUrl, { apiKey: 'sk-local-1' }).generate(question());
    expect(server.requests.at(-1)?.headers.authorization).toBe('Bearer sk-local-1');

    await providerFor(server.baseUrl, { env: { ASSISTANT_OPENAI_API_KEY: 'sk-from-env' } }).generate(question());
    expect(server.requests.at(-1)?.headers.authorization).toBe('Bearer sk-from-env');

    // An empty key in the settings means none, whatever the environment says.
    await providerFor(server.baseUrl, { apiKey: '', env: { ASSISTANT_OPENAI_API_KEY: 'sk-from-env' } }).generate(question());
    expect(server.requests.at(-1)?.headers.authorization).toBeUndefined();
  });

  it('a server that needs a key the app does not have refuses with a fix, once, without counting against the breaker', async () => {
    const server = await startServer({ apiKey: 'sk-right' });

    const missing = await rejection(providerFor(server.baseUrl).generate(question()));
    expect(missing).toBeInstanceOf(ProviderRefusedRequest);
    expect(missing.code).toBe('PROVIDER_UNAVAILABLE');
    expect(missing.message).toContain('set ASSISTANT_OPENAI_API_KEY');
    expect(missing.message).toContain('Incorrect API key provided.');

    const wrongProvider = providerFor(server.baseUrl, { apiKey: 'sk-wrong' });
    const wrong = await rejection(wrongProvider.load());
    expect(wrong.message).toContain('HTTP 401');
    expect(server.requests).toHaveLength(2);
    expect(wrongProvider.circuit.state).toBe('closed');

    expect((await providerFor(server.baseUrl, { apiKey: 'sk-right' }).generate(question())).text).toBe(STORY.join(''));
  });

  it('cancel mid-answer returns the partial text within 100 ms and the server sees the connection closed', async () => {
    const server = await startServer({ tokens: Array.from({ length: 200 }, (_, i) => ` w${i}`), tokenIntervalMs: 20 });
    const provider = providerFor(server.baseUrl);

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
    expect(result).toMatchObject({ aborted: true, text: ' w0 w1 w2', tokens: 3 });
    expect(tokensAfterAbort).toBe(0);
    expect(await server.streamedChats.at(-1)?.settled).toBe('closed-by-client');
  });

  it('cancel before the first token (the server sent its headers and is still thinking) returns within 100 ms', async () => {
    const server = await startServer();
    const provider = providerFor(server.baseUrl);
    server.scriptStreamed({ kind: 'hang', sendHeaders: true });

    const controller = new AbortController();
    const pending = provider.generate(question({ signal: controller.signal }));
    await server.requestArrived('/v1/chat/completions');
    const abortedAt = performance.now();
    controller.abort();
    const result = await pending;

    expect(performance.now() - abortedAt).toBeLessThan(100);
    expect(result).toMatchObject({ aborted: true, text: '' });
    expect(await server.streamedChats[0]?.settled).toBe('closed-by-client');
  });

  it('load and several sequential generates share one TCP connection', async () => {
    const server = await startServer({ tokenIntervalMs: 1 });
    const provider = providerFor(server.baseUrl);
    await provider.load();
    for (let turn = 0; turn < 3; turn += 1) {
      expect((await provider.generate(question({ question: `Question ${turn}` }))).text).toBe(STORY.join(''));
    }
    expect(server.requests).toHaveLength(5);
    expect(server.connectionCount).toBe(1);
  });

  it('keep-alive comments, CRLF line endings and events split across writes are read as the same answer', async () => {
    const server = await startServer({ lineEnding: '\r\n', keepAliveComments: true, splitEvents: true });
    const received: string[] = [];
    const result = await providerFor(server.baseUrl).generate(question({ onToken: (t) => received.push(t) }));
    expect(received).toEqual(STORY);
    expect(result.text).toBe(STORY.join(''));
  });

  it('a server that answers a streamed request with the whole completion as JSON still answers', async () => {
    const server = await startServer();
    server.scriptStreamed({ kind: 'whole-json' });
    const received: string[] = [];
    const result = await providerFor(server.baseUrl).generate(question({ onToken: (t) => received.push(t) }));
    expect(received).toEqual([STORY.join('')]);
    expect(result).toMatchObject({ text: STORY.join(''), tokens: STORY.length, aborted: false });
  });

  it('a model the server does not list fails load() with MODEL_MISSING naming the models it has', async () => {
    const server = await startServer({ models: ['llama-3.2-1b-instruct', 'phi-3-mini'] });
    const error = await rejection(providerFor(server.baseUrl).load());
    expect(error.code).toBe('MODEL_MISSING');
    expect(error.message).toContain(`"${MODEL}"`);
    expect(error.message).toContain('llama-3.2-1b-instruct, phi-3-mini');
    expect(server.requests).toHaveLength(1);
  });

  it('a model the server rejects at chat time (404) is MODEL_MISSING, not retried', async () => {
    const server = await startServer({ models: ['other-model'] });
    const error = await rejection(providerFor(server.baseUrl).generate(question()));
    expect(error.code).toBe('MODEL_MISSING');
    expect(error.message).toContain(`The model \`${MODEL}\` does not exist.`);
    expect(server.streamedChats).toHaveLength(1);
  });

  it('nothing listening gives PROVIDER_UNAVAILABLE naming the URL, at once and without retries', async () => {
    const baseUrl = `http://127.0.0.1:${await closedPort()}/v1`;
    const provider = providerFor(baseUrl);

    const loadError = await rejection(provider.load());
    expect(loadError.code).toBe('PROVIDER_UNAVAILABLE');
    expect(loadError.message).toContain(baseUrl);
    expect(loadError.message).toContain('ASSISTANT_OPENAI_BASE_URL');

    const started = performance.now();
    const generateError = await rejection(provider.generate(question()));
    expect(generateError.code).toBe('PROVIDER_UNAVAILABLE');
    expect(generateError.message).toContain(baseUrl);
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('a base URL that does not lead to the API (no /models there) says to check it', async () => {
    const server = await startServer();
    const wrong = server.baseUrl.replace(/\/v1$/, '/api');
    const error = await rejection(providerFor(wrong).load());
    expect(error.code).toBe('PROVIDER_UNAVAILABLE');
    expect(error.message).toBe(`The server at ${wrong} has no /models (HTTP 404). Is the base URL right? It usually ends in /v1.`);
  });

  it('a connection cut mid-answer fails the turn naming the URL after the streamed tokens, and the next turn works', async () => {
    const server = await startServer();
    const provider = providerFor(server.baseUrl);
    server.scriptStreamed({ kind: 'cut-mid-stream', afterTokens: 2 });

    const received: string[] = [];
    const error = await rejection(provider.generate(question({ onToken: (t) => received.push(t) })));
    expect(['PROVIDER_UNAVAILABLE', 'GENERATION_FAILED']).toContain(error.code);
    expect(error.message).toContain(server.baseUrl);
    // What was streamed is not streamed again: the cut is after the first token, so it is not retried.
    expect(received).toEqual(STORY.slice(0, 2));
    expect(server.streamedChats).toHaveLength(1);

    expect((await provider.generate(question())).text).toBe(STORY.join(''));
  });

  it('a malformed event fails the turn with GENERATION_FAILED quoting it, after the tokens before it', async () => {
    const server = await startServer();
    const provider = providerFor(server.baseUrl);
    server.scriptStreamed({ kind: 'malformed', afterTokens: 2 }, { kind: 'malformed', afterTokens: 1, line: '{"choices": "not a list"}' });

    const received: string[] = [];
    const notJson = await rejection(provider.generate(question({ onToken: (t) => received.push(t) })));
    expect(notJson.code).toBe('GENERATION_FAILED');
    expect(notJson.message).toBe(`The server at ${server.baseUrl} streamed an event that is not JSON: "{\\"id\\": \\"chatcmpl-broken\\", \\"choices\\": [{\\"delta\\": {\\"content\\": \\"oops\\"".`);
    expect(received).toEqual(STORY.slice(0, 2));

    const notChunk = await rejection(provider.generate(question()));
    expect(notChunk.code).toBe('GENERATION_FAILED');
    expect(notChunk.message).toContain('streamed an event that is not a chat completion chunk');
  });

  it.each(['data', 'event', 'error-field'] as const)('an error the server reports inside the stream (%s) ends the turn with its words', async (style) => {
    const server = await startServer();
    const provider = providerFor(server.baseUrl);
    server.scriptStreamed({ kind: 'error-event', afterTokens: 1, message: 'the request exceeds the available context size', style });

    const received: string[] = [];
    const error = await rejection(provider.generate(question({ onToken: (t) => received.push(t) })));
    expect(error.code).toBe('GENERATION_FAILED');
    expect(error.message).toBe(`The server at ${server.baseUrl} reported an error in the middle of the answer: the request exceeds the available context size.`);
    expect(received).toEqual(STORY.slice(0, 1));
  });

  it('an answer that ends without a finish reason or [DONE] is reported as cut, not taken as whole', async () => {
    const server = await startServer();
    server.scriptStreamed({ kind: 'end-without-done', afterTokens: 3 });
    const error = await rejection(providerFor(server.baseUrl).generate(question()));
    expect(error.code).toBe('GENERATION_FAILED');
    expect(error.message).toContain('ended the answer without finishing it');
  });
});

describe(`${SUITE}: pacing by the server's headers`, () => {
  it('a 429 with Retry-After: 1 is asked again after the second the server asked for, and the answer completes', async () => {
    const server = await startServer();
    const provider = providerFor(server.baseUrl);
    server.scriptStreamed({ kind: 'status', status: 429, error: 'Rate limit reached', headers: { 'Retry-After': '1' } });

    const result = await provider.generate(question());

    expect(result.text).toBe(STORY.join(''));
    const [first, second] = server.streamedChats;
    expect(server.streamedChats).toHaveLength(2);
    expect(first?.outcome).toBe('failed-on-purpose');
    // The protocol fact: the second request reached the server at least the Retry-After later (FAST_RETRIES alone would
    // have asked again after 20 ms).
    expect((second?.receivedAt ?? 0) - (first?.receivedAt ?? 0)).toBeGreaterThanOrEqual(900);
  });

  it('x-ratelimit-remaining-requests: 0 holds the next request until the reset (500ms), then it goes', async () => {
    const server = await startServer();
    const provider = providerFor(server.baseUrl);
    server.scriptStreamed({ kind: 'answer', headers: { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '500ms', 'x-ratelimit-limit-requests': '2' } });

    await provider.generate(question());
    expect(provider.pacer.delayMs()).toBeGreaterThan(0);
    const result = await provider.generate(question());

    expect(result.text).toBe(STORY.join(''));
    const [first, second] = server.streamedChats;
    expect((second?.receivedAt ?? 0) - (first?.receivedAt ?? 0)).toBeGreaterThanOrEqual(500);
  });

  it('a question cancelled while it waits for the rate limit returns at once and sends nothing', async () => {
    const server = await startServer();
    const provider = providerFor(server.baseUrl);
    server.scriptStreamed({ kind: 'answer', headers: { 'x-ratelimit-remaining-tokens': '0', 'x-ratelimit-reset-tokens': '5s' } });
    await provider.generate(question());

    const controller = new AbortController();
    // generate() is now waiting at the pacer (its synchronous part ran up to the timer).
    const pending = provider.generate(question({ signal: controller.signal }));
    const abortedAt = performance.now();
    controller.abort();
    expect(await pending).toMatchObject({ aborted: true, text: '' });
    expect(performance.now() - abortedAt).toBeLessThan(100);
    expect(server.streamedChats).toHaveLength(1);
  });

  it('a pause longer than the provider waits fails at once, saying when to ask again, and the next question sends nothing until then', async () => {
    const server = await startServer();
    const provider = providerFor(server.baseUrl);
    server.scriptStreamed({ kind: 'status', status: 429, error: 'Rate limit reached for requests', headers: { 'Retry-After': '30' } });

    const started = performance.now();
    const error = await rejection(provider.generate(question()));
    expect(performance.now() - started).toBeLessThan(500);
    expect(error.code).toBe('PROVIDER_UNAVAILABLE');
    expect(error.message).toBe(`The server at ${server.baseUrl} is rate limiting this app (HTTP 429: Rate limit reached for requests); it asks to wait 30 s.`);
    expect(error.retryAfterMs).toBeGreaterThan(29_000);

    const next = await rejection(provider.generate(question()));
    expect(next.message).toMatch(new RegExp(`^The server at ${server.baseUrl} is rate limiting this app: its next request is allowed in (29|30) s\\.$`));
    expect(server.streamedChats).toHaveLength(1);
  });
});

describe(`${SUITE}: retries, circuit breaker and time limits`, () => {
  it('answers after two 503s: the third try streams the answer', async () => {
    const server = await startServer();
    const provider = providerFor(server.baseUrl);
    server.scriptStreamed({ kind: 'status', status: 503, error: 'Loading model' }, { kind: 'status', status: 503, error: 'Loading model' });

    expect((await provider.generate(question())).text).toBe(STORY.join(''));
    expect(await Promise.all(server.streamedChats.map((r) => r.settled))).toEqual(['failed-on-purpose', 'failed-on-purpose', 'completed']);
    expect(provider.circuit.state).toBe('closed');
  });

  it('a connection reset before the answer is retried', async () => {
    const server = await startServer();
    const provider = providerFor(server.baseUrl);
    server.scriptStreamed({ kind: 'reset-before-answer' });
    expect((await provider.generate(question())).text).toBe(STORY.join(''));
    expect(server.streamedChats).toHaveLength(2);
  });

  it('a 400 is not retried: one request, the server\'s words, and the breaker stays closed', async () => {
    const server = await startServer();
    const provider = providerFor(server.baseUrl);
    server.scriptStreamed({ kind: 'status', status: 400, error: "'max_tokens' must be positive" });

    const error = await rejection(provider.generate(question()));

    expect(error).toBeInstanceOf(ProviderRefusedRequest);
    expect(error.code).toBe('GENERATION_FAILED');
    expect(error.message).toBe(`The server at ${server.baseUrl} refused the request for the model "${MODEL}" (HTTP 400: 'max_tokens' must be positive).`);
    expect(server.streamedChats).toHaveLength(1);
    expect(provider.circuit.state).toBe('closed');
  });

  it('five failures in a row open the breaker: the next question fails at once, without a request, until the half-open delay', async () => {
    const server = await startServer();
    const provider = providerFor(server.baseUrl, { resilience: { retry: FAST_RETRIES, breaker: { halfOpenAfterMs: 60_000 } } });
    server.scriptStreamed(...Array.from({ length: 5 }, () => ({ kind: 'status' as const, status: 503 })));

    const first = await rejection(provider.generate(question()));
    expect(first.code).toBe('GENERATION_FAILED');
    expect(first.message).toContain('HTTP 503');
    expect(server.streamedChats).toHaveLength(5);
    expect(provider.circuit.state).toBe('open');

    const started = performance.now();
    const refused = await rejection(provider.generate(question()));
    expect(performance.now() - started).toBeLessThan(50);
    expect(refused.code).toBe('PROVIDER_UNAVAILABLE');
    expect(refused.message).toMatch(new RegExp(`^The server at ${server.baseUrl} failed 5 times in a row; it is tried again in (59|60) s\\.$`));
    expect(server.streamedChats).toHaveLength(5);
  });

  it.each([
    ['sends nothing at all', false],
    ['sends its headers and a role chunk, then nothing', true],
  ])('a server that %s hits the first-token time limit, and is not asked again', async (_, sendHeaders) => {
    const server = await startServer();
    const provider = providerFor(server.baseUrl, { firstTokenTimeoutMs: 200 });
    server.scriptStreamed({ kind: 'hang', sendHeaders });

    const started = performance.now();
    const error = await rejection(provider.generate(question()));
    const elapsed = performance.now() - started;

    expect(error.code).toBe('PROVIDER_UNAVAILABLE');
    expect(error.message).toBe(`The server at ${server.baseUrl} sent no first token within 0.2 s. Check the server's log.`);
    expect(elapsed).toBeGreaterThanOrEqual(195);
    expect(elapsed).toBeLessThan(1_000);
    expect(server.streamedChats).toHaveLength(1);
    expect(await server.streamedChats[0]?.settled).toBe('closed-by-client');
  });

  it('load() against a port that never answers gives up at its request time limit', async () => {
    const baseUrl = `http://127.0.0.1:${await silentPort()}/v1`;
    const error = await rejection(providerFor(baseUrl, { loadRequestTimeoutMs: 200 }).load());
    expect(error.code).toBe('PROVIDER_UNAVAILABLE');
    expect(error.message).toBe(`The server at ${baseUrl} did not answer /models within 0.2 s. Check the server's log.`);
  });
});

describe('OpenAI-compatible settings', () => {
  it('takes the base URL from the settings, then ASSISTANT_OPENAI_BASE_URL; a URL without a path gets /v1', () => {
    expect(resolveOpenAiCompatibleBaseUrl('http://localhost:1234/v1/', {})).toBe('http://localhost:1234/v1');
    expect(resolveOpenAiCompatibleBaseUrl('http://localhost:8080', {})).toBe('http://localhost:8080/v1');
    expect(resolveOpenAiCompatibleBaseUrl('http://gpu-box:8000/openai/v1', {})).toBe('http://gpu-box:8000/openai/v1');
    expect(resolveOpenAiCompatibleBaseUrl(undefined, { ASSISTANT_OPENAI_BASE_URL: 'http://127.0.0.1:1234' })).toBe('http://127.0.0.1:1234/v1');
    expect(resolveOpenAiCompatibleBaseUrl(undefined, {})).toBe('http://127.0.0.1:8080/v1');
    for (const bad of ['localhost:1234', 'ftp://host/v1', 'not a url']) {
      expect(() => resolveOpenAiCompatibleBaseUrl(bad, {})).toThrow(expect.objectContaining({ code: 'INVALID_SETTING' }));
    }
  });

  it('takes the key from the settings, then ASSISTANT_OPENAI_API_KEY; never OPENAI_API_KEY (a cloud key is not sent to a local server)', () => {
    expect(resolveOpenAiCompatibleApiKey('sk-a', { ASSISTANT_OPENAI_API_KEY: 'sk-b' })).toBe('sk-a');
    expect(resolveOpenAiCompatibleApiKey(undefined, { ASSISTANT_OPENAI_API_KEY: ' sk-b ' })).toBe('sk-b');
    expect(resolveOpenAiCompatibleApiKey(undefined, { OPENAI_API_KEY: 'sk-cloud' })).toBeUndefined();
    expect(resolveOpenAiCompatibleApiKey('', { ASSISTANT_OPENAI_API_KEY: 'sk-b' })).toBeUndefined();
  });
});

describe('server-sent event parser', () => {
  const stream = [
    ': keep-alive',
    '',
    'data: {"a":1}',
    '',
    'event: error',
    'data: line one',
    'data:line two',
    '',
    'id: 7',
    'retry: 1000',
    'data: [DONE]',
    '',
    'data: never finished',
  ];
  const expected: ServerSentEvent[] = [
    { type: 'message', data: '{"a":1}' },
    { type: 'error', data: 'line one\nline two' },
    { type: 'message', data: '[DONE]' },
  ];

  function parseInPieces(text: string, cuts: number[]): ServerSentEvent[] {
    const parser = new ServerSentEventParser();
    const events: ServerSentEvent[] = [];
    let from = 0;
    for (const cut of [...new Set(cuts)].sort((a, b) => a - b)) {
      events.push(...parser.push(text.slice(from, cut)));
      from = cut;
    }
    events.push(...parser.push(text.slice(from)), ...parser.end());
    return events;
  }

  it.each([
    ['\\n', '\n'],
    ['\\r\\n', '\r\n'],
    ['\\r', '\r'],
  ])('finds the same events however the text is split into chunks (%s line endings)', (_, ending) => {
    const text = stream.join(ending);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: text.length }), { maxLength: 12 }), (cuts) => {
        expect(parseInPieces(text, cuts)).toEqual(expected);
      }),
    );
  });

  it("reads llama.cpp's non-standard error: field as an event, and skips a byte order mark", () => {
    const parser = new ServerSentEventParser();
    expect(parser.push('\uFEFFerror: {"code":400,"message":"too long"}\n\n')).toEqual([{ type: 'message', data: '', errorField: '{"code":400,"message":"too long"}' }]);
  });
});

describe('OpenAiCompatibleLlmProvider: a server that ignores max_tokens (protocol server fixture)', () => {
  it('stops reading at the requested number of tokens', async () => {
    const server = await startServer({ tokens: Array.from({ length: 200 }, (_, i) => ` w${i}`) });
    const provider = providerFor(server.baseUrl);
    await provider.load();
    const streamed: string[] = [];
    const result = await provider.generate({ systemPrompt: 's', history: [], question: 'q', maxTokens: 5, signal: new AbortController().signal, onToken: (t) => streamed.push(t) });
    expect(streamed).toEqual([' w0', ' w1', ' w2', ' w3', ' w4']);
    expect(result).toMatchObject({ text: ' w0 w1 w2 w3 w4', aborted: false });
  });
});
