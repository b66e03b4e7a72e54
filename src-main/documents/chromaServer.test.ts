import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentError } from '../../src-shared/contract/index.js';
import { silentLogger } from '../agent/agentLogger.js';
import { runNodeScript } from '../testing/cliProcess.js';
import { ChromaServer, chromaEndpointFromEnv, chromaServerSupport, type ChromaServerOptions, type ChromaServerState } from './chromaServer.node.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A fresh folder, removed after the test (after the servers using it have stopped). */
function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A server on a fresh data folder that records its state changes; stopped after the test. */
function newServer(options: Partial<ChromaServerOptions> = {}): { server: ChromaServer; states: ChromaServerState[]; dataDir: string } {
  const dataDir = options.dataDir ?? path.join(tempDir('chroma-server-'), 'chroma');
  const states: ChromaServerState[] = [];
  const server = new ChromaServer({
    logger: silentLogger,
    ...options,
    dataDir,
    onStateChange: (state, detail) => {
      states.push(state);
      options.onStateChange?.(state, detail);
    },
  });
  cleanups.push(() => server.stop());
  return { server, states, dataDir };
}

/** Polls `condition` until it holds or `deadlineMs` passes (then fails with `what`). */
async function waitUntil(condition: () => boolean, what: string, deadlineMs = 15_000): Promise<void> {
  const deadline = performance.now() + deadlineMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`Timed out after ${deadlineMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Processes (other than zombies) whose command line names `needle`: a Chroma on that data folder. */
function processesNaming(needle: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes(needle)) found.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

async function rejection(promise: Promise<unknown>): Promise<AgentError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AgentError);
  return error as AgentError;
}

async function heartbeat(url: string): Promise<number> {
  const response = await fetch(`${url}/api/v2/heartbeat`);
  await response.arrayBuffer();
  return response.status;
}

describe('chromaServerSupport', () => {
  it('says Windows x64 is unsupported, why, and what to do instead', () => {
    const support = chromaServerSupport('win32', 'x64');
    expect(support.supported).toBe(false);
    if (support.supported) return;
    expect(support.reason).toMatch(/Windows x64/);
    expect(support.reason).toMatch(/keywords only/);
    expect(support.reason).toMatch(/CHROMA_URL/);
  });

  it('supports Linux and macOS on x64 and arm64, and refuses other platforms with a reason', () => {
    for (const [platform, arch] of [
      ['linux', 'x64'],
      ['linux', 'arm64'],
      ['darwin', 'arm64'],
      ['darwin', 'x64'],
    ] as const) {
      expect(chromaServerSupport(platform, arch)).toEqual({ supported: true });
    }
    const other = chromaServerSupport('freebsd', 'x64');
    expect(other.supported).toBe(false);
    expect(chromaServerSupport('win32', 'arm64').supported).toBe(false);
  });
});

describe('chromaEndpointFromEnv', () => {
  it('is undefined without CHROMA_URL and reads the URL and token when set', () => {
    expect(chromaEndpointFromEnv({})).toBeUndefined();
    expect(chromaEndpointFromEnv({ CHROMA_URL: '  ' })).toBeUndefined();
    expect(chromaEndpointFromEnv({ CHROMA_URL: 'http://10.0.0.5:8000' })).toEqual({ url: 'http://10.0.0.5:8000' });
    expect(chromaEndpointFromEnv({ CHROMA_URL: 'https://chroma.example.com/', CHROMA_TOKEN: 's3cret' })).toEqual({
      url: 'https://chroma.example.com',
      token: 's3cret',
    });
  });

  it.each(['localhost:8000', 'not a url', 'ftp://chroma.example.com', 'http://chroma.example.com/prefix', 'http://user:pw@chroma.example.com'])(
    'rejects CHROMA_URL=%j as INVALID_SETTING naming the variable',
    (value) => {
      let error: unknown;
      try {
        chromaEndpointFromEnv({ CHROMA_URL: value, CHROMA_TOKEN: 'do-not-print' });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(AgentError);
      expect((error as AgentError).code).toBe('INVALID_SETTING');
      expect((error as AgentError).message).toMatch(/^CHROMA_URL must be an http\(s\) URL/);
      expect((error as AgentError).message).not.toContain('do-not-print');
    },
  );
});

describe('ChromaServer (real chroma processes)', () => {
  it('spawns nothing until ensureRunning, then answers on 127.0.0.1; concurrent callers share one start', async () => {
    const { server, states, dataDir } = newServer();
    expect(server.state).toBe('idle');
    expect(server.pid).toBeUndefined();
    expect(processesNaming(dataDir)).toEqual([]);

    const [a, b, c] = await Promise.all([server.ensureRunning(), server.ensureRunning(), server.ensureRunning()]);
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    expect(a.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.state).toBe('running');
    expect(states).toEqual(['starting', 'running']);
    expect(server.pid).toBeGreaterThan(0);
    expect(processesNaming(dataDir)).toEqual([server.pid]);
    expect(await heartbeat(a.url)).toBe(200);
    // Once running, it hands out the same endpoint without starting again.
    expect(await server.ensureRunning()).toEqual(a);
    expect(states).toEqual(['starting', 'running']);
  });

  it('stop() ends the process, restarts nothing, and refuses later calls', async () => {
    const { server, states, dataDir } = newServer({ restartBackoff: { initialMs: 50, maxMs: 100 } });
    const { url } = await server.ensureRunning();
    const pid = server.pid!;
    await server.stop();
    expect(isAlive(pid)).toBe(false);
    expect(server.pid).toBeUndefined();
    expect(server.state).toBe('stopped');
    await expect(fetch(`${url}/api/v2/heartbeat`)).rejects.toThrow();
    const error = await rejection(server.ensureRunning());
    expect(error.code).toBe('VECTOR_STORE_UNAVAILABLE');
    // Several restart backoffs later, still nothing runs on that data folder.
    const until = performance.now() + 500;
    await waitUntil(() => performance.now() > until, 'the observation window');
    expect(processesNaming(dataDir)).toEqual([]);
    expect(states).toEqual(['starting', 'running', 'stopped']);
  });

  it('a stop() during a restart backoff cancels the restart', async () => {
    const { server, states, dataDir } = newServer({ restartBackoff: { initialMs: 300, maxMs: 300 } });
    await server.ensureRunning();
    process.kill(server.pid!, 'SIGKILL');
    await waitUntil(() => server.state === 'restarting', "state 'restarting'");
    await server.stop();
    const until = performance.now() + 800;
    await waitUntil(() => performance.now() > until, 'the observation window');
    expect(processesNaming(dataDir)).toEqual([]);
    expect(states).toEqual(['starting', 'running', 'restarting', 'stopped']);
  });

  it('restarts after kill -9 on the same data folder, with backoff, and callers wait for it', async () => {
    const { server, states } = newServer({ restartBackoff: { initialMs: 100, maxMs: 400 } });
    await server.ensureRunning();
    const firstPid = server.pid!;
    process.kill(firstPid, 'SIGKILL');
    await waitUntil(() => server.state === 'restarting', "state 'restarting'");
    const endpoint = await server.ensureRunning();
    expect(server.state).toBe('running');
    expect(server.pid).toBeGreaterThan(0);
    expect(server.pid).not.toBe(firstPid);
    expect(await heartbeat(endpoint.url)).toBe(200);

    // A second crash soon after waits longer (the backoff doubled) but comes back too.
    process.kill(server.pid!, 'SIGKILL');
    await waitUntil(() => server.state === 'restarting', "state 'restarting' again");
    await server.ensureRunning();
    expect(states).toEqual(['starting', 'running', 'restarting', 'running', 'restarting', 'running']);
  });

  it('a data folder that is a file fails the start quickly with a readable reason', async () => {
    const file = path.join(tempDir('chroma-file-'), 'not-a-folder');
    writeFileSync(file, 'x');
    const { server, states } = newServer({ dataDir: file });
    const started = performance.now();
    const error = await rejection(server.ensureRunning());
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(error.code).toBe('VECTOR_STORE_UNAVAILABLE');
    expect(error.message).toMatch(/could not start/);
    expect(error.message).toMatch(/File exists/);
    expect(error.message).toContain(file);
    expect(error.message).not.toMatch(/stack backtrace|RUST_BACKTRACE/);
    expect(server.state).toBe('failed');
    expect(server.pid).toBeUndefined();
    expect(states).toEqual(['starting', 'failed']);
  });

  it('a fixed port that is taken fails the start and says so', async () => {
    // Reads (and so notices the end of) whatever connects, like any real server holding the port.
    const blocker: Server = createServer((socket) => socket.resume());
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
    const port = (blocker.address() as AddressInfo).port;
    const { server } = newServer({ port });
    const error = await rejection(server.ensureRunning());
    expect(error.code).toBe('VECTOR_STORE_UNAVAILABLE');
    expect(error.message).toContain(`127.0.0.1:${port} is not available`);
  });

  it('a CLI that does not exist fails the start with the reason', async () => {
    const { server } = newServer({ binPath: path.join(tempDir('chroma-nobin-'), 'chroma') });
    const error = await rejection(server.ensureRunning());
    expect(error.code).toBe('VECTOR_STORE_UNAVAILABLE');
    expect(error.message).toMatch(/ENOENT/);
  });

  it("an aborted caller stops waiting with its signal's reason; the start goes on for the others", async () => {
    const { server } = newServer();
    const controller = new AbortController();
    const abandoned = server.ensureRunning(controller.signal);
    const patient = server.ensureRunning();
    controller.abort(new Error('user went away'));
    await expect(abandoned).rejects.toThrow('user went away');
    const endpoint = await patient;
    expect(await heartbeat(endpoint.url)).toBe(200);
  });

  it('leaves nothing that keeps Node alive after stop(), and no orphan when Node exits without stop()', async () => {
    const scriptDir = tempDir('chroma-script-');
    const dataDir = path.join(scriptDir, 'chroma');
    const script = path.join(scriptDir, 'run.ts');
    const moduleUrl = new URL('./chromaServer.node.ts', import.meta.url).href;
    writeFileSync(
      script,
      [
        `import { ChromaServer } from ${JSON.stringify(moduleUrl)};`,
        `const logger = { debug() {}, info() {}, warn() {}, error() {} };`,
        `const server = new ChromaServer({ dataDir: ${JSON.stringify(dataDir)}, logger });`,
        `await server.ensureRunning();`,
        `console.log('pid', server.pid);`,
        `if (process.argv.includes('--stop')) { await server.stop(); console.log('stopped'); }`,
        `else process.exit(0);`,
      ].join('\n'),
    );
    const viteNode = path.join(root, 'node_modules/vite-node/vite-node.mjs');
    for (const mode of ['--stop', '--exit']) {
      const run = await runNodeScript(viteNode, [script, mode], { deadlineMs: 30_000, cwd: root });
      expect(run.timedOut, `${mode}: ${run.stderr}`).toBe(false);
      expect(run.code, run.stderr).toBe(0);
      const pid = Number(/pid (\d+)/.exec(run.stdout)?.[1]);
      expect(pid).toBeGreaterThan(0);
      await waitUntil(() => !isAlive(pid), `chroma ${pid} to be gone (${mode})`, 5_000);
      expect(processesNaming(dataDir)).toEqual([]);
    }
  });
});
