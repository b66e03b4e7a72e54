import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, afterAll, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import {
  ServerFrame,
  type AgentEvent,
  type CommandArgs,
  type CommandName,
  type CommandResult,
} from '../../src-shared/contract/index.js';
import type { AgentLogger } from '../agent/agentLogger.js';
import type { AgentService } from '../agent/agentService.js';
import { startHeadlessHost, UNKNOWN_CALL_ID, type HeadlessHost } from './headlessHost.node.js';

/**
 * A stand-in agent, named as such: these tests are about the transport (auth, framing, validation, cancel,
 * broadcast), so the agent only records what reached it and answers `chat:send` with fixed ids.
 * `chat:cancel` calls stay pending until their AbortSignal fires, to observe cancel frames.
 */
class FakeAgentForHostTest implements AgentService {
  readonly calls: Array<{ command: CommandName; args: unknown }> = [];
  /** What the host logged at warn level (its audit entries). */
  readonly warnings: object[] = [];
  readonly logger: AgentLogger = { debug: () => undefined, info: () => undefined, error: () => undefined, warn: (fields) => this.warnings.push(fields) };
  readonly abortedCommands: CommandName[] = [];
  readonly micFrames: Int16Array[] = [];
  private readonly listeners = new Set<(event: AgentEvent) => void>();

  async call<C extends CommandName>(command: C, args?: CommandArgs<C>, signal?: AbortSignal): Promise<CommandResult<C>> {
    this.calls.push({ command, args });
    if (command === 'chat:send') return { turnId: 'turn-1', conversationId: 'conv-1' } as CommandResult<C>;
    if (command === 'chat:cancel') {
      return new Promise((_resolve, reject) => {
        signal?.addEventListener('abort', () => {
          this.abortedCommands.push(command);
          reject(new Error('aborted'));
        });
      });
    }
    return [] as unknown as CommandResult<C>;
  }

  listen(listener: (event: AgentEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  sendMicFrame(pcm: Int16Array): void {
    this.micFrames.push(pcm);
  }

  emit(event: AgentEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  async whenReady(): Promise<void> {}
  async close(): Promise<void> {}
}

/** A WebSocket client that keeps every server frame, validated, so tests can wait for the one they expect. */
class TestClient {
  readonly frames: ServerFrame[] = [];
  private waiters: Array<() => void> = [];

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      this.frames.push(ServerFrame.parse(JSON.parse(String(data))));
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  static async connect(host: HeadlessHost): Promise<TestClient> {
    const socket = new WebSocket(`ws://127.0.0.1:${host.port}/ws?token=${host.token}`, { origin: `http://127.0.0.1:${host.port}` });
    const client = new TestClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return client;
  }

  send(frame: unknown): void {
    this.socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  async next<F extends ServerFrame>(match: (frame: ServerFrame) => frame is F, timeoutMs = 2000): Promise<F> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.frames.findIndex(match);
      if (index >= 0) return this.frames.splice(index, 1)[0] as F;
      if (Date.now() > deadline) throw new Error(`No matching frame; got ${JSON.stringify(this.frames)}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }
}

const isFrame =
  <K extends ServerFrame['kind']>(kind: K, id?: number) =>
  (frame: ServerFrame): frame is Extract<ServerFrame, { kind: K }> =>
    frame.kind === kind && (id === undefined || !('id' in frame) || frame.id === id);

/** Resolves with the HTTP status the server answered an upgrade with (101 when it accepted). */
function upgradeStatus(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    socket.once('open', () => {
      socket.close();
      resolve(101);
    });
    socket.once('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0);
      socket.terminate();
    });
    socket.once('error', (error) => {
      if (!/Unexpected server response/.test(error.message)) reject(error);
    });
  });
}

function httpGet(port: number, rawPath: string, headers: Record<string, string> = {}): Promise<{ status: number; type: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: '127.0.0.1', port, path: rawPath, headers }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, type: response.headers['content-type'], body }));
    });
    request.on('error', reject);
    request.end();
  });
}

describe('headless host', () => {
  let rootDir: string;
  let staticDir: string;
  let agent: FakeAgentForHostTest;
  let host: HeadlessHost;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    rootDir = await mkdtemp(path.join(os.tmpdir(), 'headless-host-'));
    staticDir = path.join(rootDir, 'renderer');
    await mkdir(path.join(staticDir, 'assets'), { recursive: true });
    await writeFile(path.join(staticDir, 'index.html'), '<!doctype html><title>Assistant</title>');
    await writeFile(path.join(staticDir, 'assets', 'app.js'), 'console.log("app")');
    await writeFile(path.join(staticDir, 'assets', 'app.js.map'), '{"sources":["not for the browser"]}');
    await writeFile(path.join(rootDir, 'secret.txt'), 'not for the browser');
    await writeFile(path.join(staticDir, '.env'), 'not for the browser either');
  });

  afterAll(async () => {
    await rm(rootDir, { recursive: true, force: true });
  });

  async function start(): Promise<void> {
    agent = new FakeAgentForHostTest();
    host = await startHeadlessHost({ agent, port: 0, staticDir });
  }

  async function connect(): Promise<TestClient> {
    const client = await TestClient.connect(host);
    clients.push(client);
    return client;
  }

  afterEach(async () => {
    for (const client of clients.splice(0)) client.socket.terminate();
    await host?.close();
  });

  it('binds to 127.0.0.1 and gives a page URL with a fresh random token', async () => {
    await start();
    const first = host;
    expect(first.url).toBe(`http://127.0.0.1:${first.port}/?token=${first.token}`);
    expect(first.token.length).toBeGreaterThanOrEqual(32);
    const second = await startHeadlessHost({ agent, port: 0, staticDir });
    expect(second.token).not.toBe(first.token);
    await second.close();
  });

  it('serves the renderer with content types and never files outside it', async () => {
    await start();
    const page = await httpGet(host.port, '/?token=x');
    expect(page.status).toBe(200);
    expect(page.type).toMatch(/^text\/html; ?charset=utf-8$/);
    expect(page.body).toContain('<title>Assistant</title>');

    const script = await httpGet(host.port, '/assets/app.js');
    expect(script.type).toMatch(/^text\/javascript/);

    expect((await httpGet(host.port, '/missing.js')).status).toBe(404);
    for (const sneaky of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/..%5csecret.txt', '/.env', '/assets/../.env', '/%2eenv']) {
      const response = await httpGet(host.port, sneaky);
      expect(response.body, sneaky).not.toContain('not for the browser');
      expect(response.status, sneaky).toBeGreaterThanOrEqual(400);
    }
  });

  it('refuses a WebSocket without the right token (401) or from another origin (403)', async () => {
    await start();
    const base = `ws://127.0.0.1:${host.port}/ws`;
    const ownOrigin = { origin: `http://127.0.0.1:${host.port}` };
    expect(await upgradeStatus(base, ownOrigin)).toBe(401);
    expect(await upgradeStatus(`${base}?token=wrong`, ownOrigin)).toBe(401);
    expect(await upgradeStatus(`${base}?token=${host.token}x`, ownOrigin)).toBe(401);
    expect(await upgradeStatus(`${base}?token=${host.token}`, { origin: 'http://evil.example' })).toBe(403);
    expect(await upgradeStatus(`${base}?token=${host.token}`, { origin: `http://localhost:${host.port}` })).toBe(403);
    expect(await upgradeStatus(`${base}?token=${host.token}`, ownOrigin)).toBe(101);
    expect(agent.calls).toEqual([]);
  });

  it('audits refused tokens and origins, on the WebSocket and /metrics, without the token that was tried', async () => {
    await start();
    const base = `ws://127.0.0.1:${host.port}/ws`;
    expect(await upgradeStatus(`${base}?token=guessed-token`, { origin: `http://127.0.0.1:${host.port}` })).toBe(401);
    expect(await upgradeStatus(`${base}?token=${host.token}`, { origin: 'http://evil.example' })).toBe(403);
    expect((await httpGet(host.port, '/metrics?token=guessed-token')).status).toBe(401);
    expect((await httpGet(host.port, `/metrics?token=${host.token}`, { Origin: 'http://evil.example' })).status).toBe(403);
    expect(agent.warnings).toEqual([
      { audit: 'token-refused', endpoint: '/ws', status: 401 },
      { audit: 'origin-refused', endpoint: '/ws', status: 403, origin: 'http://evil.example' },
      { audit: 'token-refused', endpoint: '/metrics', status: 401 },
      { audit: 'origin-refused', endpoint: '/metrics', status: 403, origin: 'http://evil.example' },
    ]);
    // A script trying tokens gets one entry, with the rest counted when the host closes (or a second has passed).
    for (let i = 0; i < 5; i++) await upgradeStatus(`${base}?token=guess-${i}`, {});
    await host.close();
    expect(agent.warnings.at(-1)).toEqual({ audit: 'token-refused', endpoint: '/ws', status: 401, repeats: 5 });
    const logged = JSON.stringify(agent.warnings);
    expect(logged).not.toContain('guess');
    expect(logged).not.toContain(host.token);
  });

  it('forwards a validated call to the agent and returns its result', async () => {
    await start();
    const client = await connect();
    client.send({ kind: 'call', id: 7, command: 'chat:send', args: { text: 'Why is the sky blue?' } });
    const result = await client.next(isFrame('result', 7));
    expect(result.value).toEqual({ turnId: 'turn-1', conversationId: 'conv-1' });
    expect(agent.calls).toEqual([{ command: 'chat:send', args: { text: 'Why is the sky blue?' } }]);
  });

  it('answers an invalid frame with INVALID_MESSAGE and keeps the connection usable', async () => {
    await start();
    const client = await connect();

    client.send('{not json');
    expect((await client.next(isFrame('failure', UNKNOWN_CALL_ID))).error.code).toBe('INVALID_MESSAGE');

    client.send({ kind: 'call', id: 3 });
    const missingCommand = await client.next(isFrame('failure', 3));
    expect(missingCommand.error).toMatchObject({ code: 'INVALID_MESSAGE' });
    expect(missingCommand.error.message).toContain('command');

    client.send({ kind: 'call', id: 4, command: 'chat:send', args: { text: 42 } });
    const badArgs = await client.next(isFrame('failure', 4));
    expect(badArgs.error.code).toBe('INVALID_MESSAGE');
    expect(badArgs.error.message).toContain('text');

    client.send({ kind: 'call', id: 5, command: 'files:delete-everything', args: {} });
    expect((await client.next(isFrame('failure', 5))).error.code).toBe('UNKNOWN_COMMAND');

    // Binary frames are reserved for audio and ignored for now.
    client.socket.send(Buffer.from([1, 2, 3]), { binary: true });

    expect(agent.calls).toEqual([]);
    client.send({ kind: 'call', id: 6, command: 'conversations:list' });
    expect((await client.next(isFrame('result', 6))).value).toEqual([]);
  });

  it('aborts the agent call when a cancel frame arrives', async () => {
    await start();
    const client = await connect();
    client.send({ kind: 'call', id: 9, command: 'chat:cancel', args: { turnId: 'turn-1' } });
    await expect.poll(() => agent.calls.length).toBe(1);
    expect(agent.abortedCommands).toEqual([]);
    client.send({ kind: 'cancel', id: 9 });
    const failure = await client.next(isFrame('failure', 9));
    expect(failure.error.code).toBe('CANCELLED');
    expect(agent.abortedCommands).toEqual(['chat:cancel']);
  });

  it('aborts the calls still running for a client when its connection closes', async () => {
    await start();
    const client = await connect();
    client.send({ kind: 'call', id: 4, command: 'chat:cancel', args: { turnId: 'turn-1' } });
    await expect.poll(() => agent.calls.length).toBe(1);
    client.socket.close();
    await expect.poll(() => agent.abortedCommands).toEqual(['chat:cancel']);
  });

  it('forwards binary mic frames to the agent as PCM and drops malformed ones, counted, without a reply', async () => {
    await start();
    const client = await connect();
    const samples = Int16Array.from([0, 1, -1, 32767, -32768]);
    client.socket.send(Buffer.from(samples.buffer));
    client.socket.send(Buffer.from([1, 2, 3]), { binary: true }); // odd length: not 16-bit PCM
    client.socket.send(Buffer.alloc(0), { binary: true });
    client.socket.send(Buffer.alloc(32_002), { binary: true }); // over a second of audio
    client.socket.send(Buffer.from(Int16Array.from([5, 6]).buffer));
    await vi.waitFor(() => expect(agent.micFrames).toHaveLength(2));
    expect(agent.micFrames.map((frame) => Array.from(frame))).toEqual([Array.from(samples), [5, 6]]);
    await vi.waitFor(() => expect(host.droppedMicFrames).toBe(3));
    // The connection still carries calls, and nothing was answered for the audio.
    client.send({ kind: 'call', id: 1, command: 'conversations:list' });
    await client.next(isFrame('result', 1));
    expect(client.frames).toEqual([]);
  });

  it('closes a connection that breaks the WebSocket protocol (bad UTF-8, oversized frame) and keeps serving others', async () => {
    await start();
    const other = await connect();
    for (const [payload, expectedCode] of [
      [Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), 1007], // a text frame that is not UTF-8
      [Buffer.alloc(32 * 1024 * 1024 + 1, 0x20), 1009], // over the host's frame limit
    ] as const) {
      const client = await connect();
      const closed = new Promise<number>((resolve) => client.socket.once('close', (code) => resolve(code)));
      client.socket.send(payload, { binary: false });
      expect(await closed).toBe(expectedCode);
    }
    other.send({ kind: 'call', id: 2, command: 'conversations:list' });
    expect((await other.next(isFrame('result', 2))).value).toEqual([]);
  });

  it('broadcasts agent events to every connected client', async () => {
    await start();
    const first = await connect();
    const second = await connect();
    const event: AgentEvent = { type: 'token', turnId: 'turn-1', conversationId: 'conv-1', text: 'Once' };
    agent.emit(event);
    expect((await first.next(isFrame('event'))).event).toEqual(event);
    expect((await second.next(isFrame('event'))).event).toEqual(event);
  });

  it('stops listening to the agent when closed', async () => {
    await start();
    expect(agent.listenerCount).toBe(1);
    await host.close();
    expect(agent.listenerCount).toBe(0);
  });

  it('answers a bad Range header instead of dropping the connection, and serves no source maps', async () => {
    await start();
    for (const range of ['bytes=10-5', 'bytes=abc', 'bytes=-3']) {
      const response = await httpGet(host.port, '/assets/app.js', { Range: range });
      expect(response.status, range).toBe(200);
      expect(response.body, range).toBe('console.log("app")');
    }
    const partial = await httpGet(host.port, '/assets/app.js', { Range: 'bytes=0-6' });
    expect(partial.status).toBe(206);
    expect(partial.body).toBe('console');
    expect((await httpGet(host.port, '/assets/app.js', { Range: 'bytes=999-' })).status).toBe(416);
    const map = await httpGet(host.port, '/assets/app.js.map');
    expect(map.status).toBe(404);
    expect(map.body).not.toContain('not for the browser');
  });
});
