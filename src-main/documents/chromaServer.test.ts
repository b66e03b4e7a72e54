import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
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
import { lockFileOf, serverFileOf, type ServerRecord } from './chromaServerShare.node.js';

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

/** Running: a zombie (dead, not reaped yet, as an orphan may stay where pid 1 does not reap) is not. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
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

function readRecord(dataDir: string): ServerRecord | undefined {
  const file = serverFileOf(dataDir);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as ServerRecord) : undefined;
}

/** A pid that is certainly not running: a process that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

interface ScriptInfo {
  url: string;
  pid: number | null;
  borrowed: boolean;
  ms: number;
}

/** Another process of the app: a ChromaServer in a Node process of its own (through vite-node, like the tests). */
interface OtherProcess {
  pid: number;
  child: ChildProcess;
  /** Resolves with the first stdout line that `match` accepts (fails at the deadline with what it printed). */
  line<T>(match: (line: string) => T | undefined, what: string, deadlineMs?: number): Promise<T>;
  exited: Promise<void>;
}

const viteNode = path.join(root, 'node_modules/vite-node/vite-node.mjs');

/**
 * Writes the script such a process runs: on `--wait-go` it prints `ready` and waits for a line on stdin before
 * `ensureRunning()`; then it prints the endpoint as JSON and keeps running until it reads `quit` (then it stops cleanly).
 */
function writeOtherScript(dir: string, dataDir: string): string {
  const script = path.join(dir, 'other.ts');
  const moduleUrl = new URL('./chromaServer.node.ts', import.meta.url).href;
  writeFileSync(
    script,
    [
      `import { createInterface } from 'node:readline';`,
      `import { ChromaServer } from ${JSON.stringify(moduleUrl)};`,
      `const logger = { debug() {}, info() {}, warn() {}, error() {} };`,
      `const server = new ChromaServer({ dataDir: ${JSON.stringify(dataDir)}, logger });`,
      `const stdin = createInterface({ input: process.stdin });`,
      `const lines = stdin[Symbol.asyncIterator]();`,
      `if (process.argv.includes('--wait-go')) { console.log('ready'); await lines.next(); }`,
      `const started = performance.now();`,
      `const endpoint = await server.ensureRunning();`,
      `console.log(JSON.stringify({ url: endpoint.url, pid: server.pid ?? null, borrowed: server.borrowed, ms: performance.now() - started }));`,
      // (Not the end of stdin: vite-node exits at once when its stdin ends.)
      `for (let line = await lines.next(); !line.done && line.value !== 'quit'; line = await lines.next());`,
      `await server.stop();`,
      `process.exit(0);`,
    ].join('\n'),
  );
  return script;
}

function startOther(script: string, dataDir: string, args: string[] = []): OtherProcess {
  const child = spawn(process.execPath, [viteNode, script, ...args], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    for (const listener of listeners) listener();
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    // Whatever Chroma it left behind on this data folder (a test that kills it with -9 leaves one).
    for (const pid of processesNaming(dataDir)) process.kill(pid, 'SIGKILL');
  });
  return {
    pid: child.pid!,
    child,
    exited,
    line: (match, what, deadlineMs = 30_000) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          for (const line of stdout.split('\n')) {
            const found = match(line.trim());
            if (found !== undefined) {
              finish();
              resolve(found);
              return;
            }
          }
        };
        const timer = setTimeout(() => {
          finish();
          reject(new Error(`Timed out after ${deadlineMs} ms waiting for ${what}; stdout: ${stdout}; stderr: ${stderr}`));
        }, deadlineMs);
        const onExit = (): void => {
          check();
          finish();
          reject(new Error(`The other process exited before ${what}; stdout: ${stdout}; stderr: ${stderr}`));
        };
        const finish = (): void => {
          clearTimeout(timer);
          listeners.delete(check);
          child.off('exit', onExit);
        };
        listeners.add(check);
        child.once('exit', onExit);
        check();
      }),
  };
}

function endpointLine(line: string): ScriptInfo | undefined {
  if (!line.startsWith('{')) return undefined;
  return JSON.parse(line) as ScriptInfo;
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
    const { server, states, dataDir } = newServer({ restartBackoff: { initialMs: 100, maxMs: 400 } });
    await server.ensureRunning();
    const firstPid = server.pid!;
    process.kill(firstPid, 'SIGKILL');
    await waitUntil(() => server.state === 'restarting', "state 'restarting'");
    const endpoint = await server.ensureRunning();
    expect(server.state).toBe('running');
    expect(server.pid).toBeGreaterThan(0);
    expect(server.pid).not.toBe(firstPid);
    expect(await heartbeat(endpoint.url)).toBe(200);
    // The record other processes read names the new server.
    const record = readRecord(dataDir);
    expect(record).toMatchObject({ ownerPid: process.pid, serverPid: server.pid });
    expect(`http://127.0.0.1:${record?.port}`).toBe(endpoint.url);

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

describe('ChromaServer shared by the processes using one data folder (real processes, real chroma)', () => {
  it('a second process borrows the running server (same port, no child); a borrower stop() leaves it; the owner quitting hands over', async () => {
    const dir = tempDir('chroma-shared-');
    const dataDir = path.join(dir, 'chroma');
    const owner = startOther(writeOtherScript(dir, dataDir), dataDir);
    const ownerInfo = await owner.line(endpointLine, "the other process's endpoint");
    expect(ownerInfo.borrowed).toBe(false);
    const chromaPid = ownerInfo.pid!;
    expect(processesNaming(dataDir)).toEqual([chromaPid]);
    expect(readRecord(dataDir)).toMatchObject({ ownerPid: owner.pid, serverPid: chromaPid, port: Number(new URL(ownerInfo.url).port) });

    const { server, states } = newServer({ dataDir });
    const endpoint = await server.ensureRunning();
    expect(endpoint.url).toBe(ownerInfo.url);
    expect(server.pid).toBeUndefined();
    expect(server.borrowed).toBe(true);
    expect(server.state).toBe('running');
    expect(states).toEqual(['starting', 'running']);
    expect(processesNaming(dataDir)).toEqual([chromaPid]);
    expect(await server.ensureRunning()).toEqual(endpoint);

    // A borrower that stops leaves the other process's server alone.
    const { server: brief } = newServer({ dataDir });
    expect(await brief.ensureRunning()).toEqual(endpoint);
    await brief.stop();
    expect(isAlive(chromaPid)).toBe(true);
    expect(await heartbeat(endpoint.url)).toBe(200);

    // The owner quits cleanly: its server and record go; the borrower's next call starts a server of its own.
    owner.child.stdin!.write('quit\n');
    await owner.exited;
    expect(isAlive(chromaPid)).toBe(false);
    expect(readRecord(dataDir)).toBeUndefined();
    const own = await server.ensureRunning();
    expect(server.borrowed).toBe(false);
    expect(server.pid).toBeGreaterThan(0);
    expect(await heartbeat(own.url)).toBe(200);
    expect(processesNaming(dataDir)).toEqual([server.pid]);
    expect(readRecord(dataDir)).toMatchObject({ ownerPid: process.pid, serverPid: server.pid });
    expect(states).toEqual(['starting', 'running', 'starting', 'running']);

    // And stopping it, as the owner now, removes the record.
    await server.stop();
    expect(readRecord(dataDir)).toBeUndefined();
    expect(existsSync(lockFileOf(dataDir))).toBe(false);
  });

  it('when the owner process is killed (-9), the next ensureRunning stops the Chroma it orphaned and starts a supervised one', async () => {
    const dir = tempDir('chroma-orphan-');
    const dataDir = path.join(dir, 'chroma');
    const owner = startOther(writeOtherScript(dir, dataDir), dataDir);
    const ownerInfo = await owner.line(endpointLine, "the other process's endpoint");
    const orphanPid = ownerInfo.pid!;
    const { server } = newServer({ dataDir });
    expect((await server.ensureRunning()).url).toBe(ownerInfo.url);
    expect(server.borrowed).toBe(true);

    owner.child.kill('SIGKILL');
    await owner.exited;
    // No exit hook ran: the record and the Chroma child are left behind.
    expect(readRecord(dataDir)).toMatchObject({ ownerPid: owner.pid, serverPid: orphanPid });
    expect(isAlive(orphanPid)).toBe(true);

    const endpoint = await server.ensureRunning();
    expect(server.borrowed).toBe(false);
    expect(server.pid).toBeGreaterThan(0);
    expect(server.pid).not.toBe(orphanPid);
    expect(isAlive(orphanPid)).toBe(false);
    expect(processesNaming(dataDir)).toEqual([server.pid]);
    expect(await heartbeat(endpoint.url)).toBe(200);
    expect(readRecord(dataDir)).toMatchObject({ ownerPid: process.pid, serverPid: server.pid });
  });

  it('processes starting at the same moment end with one server, which the others borrow', async () => {
    const dir = tempDir('chroma-race-');
    const dataDir = path.join(dir, 'chroma');
    const script = writeOtherScript(dir, dataDir);
    const others = [startOther(script, dataDir, ['--wait-go']), startOther(script, dataDir, ['--wait-go'])];
    await Promise.all(others.map((other) => other.line((line) => (line === 'ready' ? true : undefined), 'ready')));
    const { server } = newServer({ dataDir });
    for (const other of others) other.child.stdin!.write('go\n');
    const [mine, ...theirs] = await Promise.all([
      server.ensureRunning().then((endpoint) => ({ url: endpoint.url, pid: server.pid ?? null, borrowed: server.borrowed })),
      ...others.map((other) => other.line(endpointLine, 'the endpoint')),
    ]);
    const all = [mine!, ...theirs];
    expect(new Set(all.map((each) => each.url)).size).toBe(1);
    const owners = all.filter((each) => !each.borrowed);
    expect(owners).toHaveLength(1);
    expect(all.filter((each) => each.borrowed).every((each) => each.pid === null)).toBe(true);
    expect(processesNaming(dataDir)).toEqual([owners[0]!.pid]);
    expect(readRecord(dataDir)?.serverPid).toBe(owners[0]!.pid);
    expect(existsSync(lockFileOf(dataDir))).toBe(false);
  });

  it('a crash of the owned server moves everyone on the folder to one new server (the restart or a borrower), recorded', async () => {
    const { server: first, dataDir } = newServer({ restartBackoff: { initialMs: 100, maxMs: 400 } });
    const { server: second } = newServer({ dataDir, restartBackoff: { initialMs: 100, maxMs: 400 } });
    await first.ensureRunning();
    await second.ensureRunning();
    expect(second.borrowed).toBe(true);
    const crashed = first.pid!;
    process.kill(crashed, 'SIGKILL');
    await waitUntil(() => first.state === 'restarting', "state 'restarting'");
    const [a, b] = await Promise.all([second.ensureRunning(), first.ensureRunning()]);
    expect(a).toEqual(b);
    const owner = [first, second].filter((each) => !each.borrowed);
    expect(owner).toHaveLength(1);
    expect(processesNaming(dataDir)).toEqual([owner[0]!.pid]);
    const record = readRecord(dataDir);
    expect(record?.serverPid).toBe(owner[0]!.pid);
    expect(`http://127.0.0.1:${record?.port}`).toBe(a.url);
    expect(await heartbeat(a.url)).toBe(200);
  });

  it('a lock and a record left by a dead process are removed and do not hold up the start', async () => {
    const dataDir = path.join(tempDir('chroma-stale-'), 'chroma');
    const dead = await deadPid();
    writeFileSync(lockFileOf(dataDir), JSON.stringify({ pid: dead, token: 'left-behind', createdAt: new Date().toISOString() }));
    writeFileSync(serverFileOf(dataDir), JSON.stringify({ ownerPid: dead, serverPid: dead, port: 9, startedAt: new Date().toISOString() }));
    const { server } = newServer({ dataDir, startTimeoutMs: 15_000 });
    const started = performance.now();
    const endpoint = await server.ensureRunning();
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(server.borrowed).toBe(false);
    expect(await heartbeat(endpoint.url)).toBe(200);
    expect(readRecord(dataDir)).toMatchObject({ ownerPid: process.pid, serverPid: server.pid });
    expect(existsSync(lockFileOf(dataDir))).toBe(false);
  });

  it('an unreadable lock file that has been there a while is debris too', async () => {
    const dataDir = path.join(tempDir('chroma-debris-'), 'chroma');
    writeFileSync(lockFileOf(dataDir), '');
    const old = new Date(Date.now() - 60_000);
    utimesSync(lockFileOf(dataDir), old, old);
    writeFileSync(serverFileOf(dataDir), 'not json');
    const { server } = newServer({ dataDir });
    await server.ensureRunning();
    expect(server.pid).toBeGreaterThan(0);
    expect(readRecord(dataDir)?.serverPid).toBe(server.pid);
  });

  it('a start lock held by a live process is waited for until the start timeout, and a caller may give up sooner', async () => {
    const dataDir = path.join(tempDir('chroma-held-'), 'chroma');
    const holder = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    cleanups.push(() => void holder.kill('SIGKILL'));
    writeFileSync(lockFileOf(dataDir), JSON.stringify({ pid: holder.pid, token: 'held', createdAt: new Date().toISOString() }));

    const { server: patient } = newServer({ dataDir, startTimeoutMs: 1_000 });
    const started = performance.now();
    const error = await rejection(patient.ensureRunning());
    const waitedMs = performance.now() - started;
    expect(error.code).toBe('VECTOR_STORE_UNAVAILABLE');
    expect(error.message).toMatch(/another process is starting it/);
    expect(waitedMs).toBeGreaterThanOrEqual(1_000);
    expect(waitedMs).toBeLessThan(3_000);
    expect(processesNaming(dataDir)).toEqual([]);

    const { server: hasty } = newServer({ dataDir, startTimeoutMs: 10_000 });
    const controller = new AbortController();
    const abandoned = hasty.ensureRunning(controller.signal);
    controller.abort(new Error('not waiting'));
    await expect(abandoned).rejects.toThrow('not waiting');
    // stop() ends its wait for the lock too.
    await hasty.stop();
    expect(processesNaming(dataDir)).toEqual([]);

    // The holder releases (its lock goes): the next start goes ahead.
    rmSync(lockFileOf(dataDir));
    const { server } = newServer({ dataDir });
    await server.ensureRunning();
    expect(server.pid).toBeGreaterThan(0);
  });
});
