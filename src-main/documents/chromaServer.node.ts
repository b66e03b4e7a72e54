import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { createRequire } from 'node:module';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { AgentError } from '../../src-shared/contract/index.js';
import type { AgentLogger } from '../agent/agentLogger.js';
import { InvalidSettingError } from '../agent/agentSettings.node.js';
import { abandonable } from '../agent/abandonable.js';
import {
  discardServerRecord,
  isChromaOn,
  isProcessAlive,
  lockFileOf,
  readServerRecord,
  removeServerRecord,
  sameServer,
  serverFileOf,
  tryLock,
  writeServerRecord,
  type ServerRecord,
} from './chromaServerShare.node.js';

/** Where a Chroma server answers: the supervised local one, or a remote one from CHROMA_URL. */
export interface ChromaEndpoint {
  /** Origin only, e.g. `http://127.0.0.1:8000`. */
  url: string;
  /** Sent as `Authorization: Bearer` and `X-Chroma-Token` (the two headers Chroma's token auth reads). */
  token?: string;
}

export type ChromaServerState = 'idle' | 'starting' | 'running' | 'restarting' | 'stopped' | 'failed';

export interface ChromaServerOptions {
  /** Chroma's `--path`: its SQLite file and index segments (a folder inside the app's data folder). */
  dataDir: string;
  logger: AgentLogger;
  /**
   * The `chroma` CLI. A `.js`/`.mjs`/`.cjs` file runs under this Node (or Electron as Node); anything else is spawned
   * as an executable (e.g. a Chroma binary installed by other means). Default: the chromadb package's own CLI.
   */
  binPath?: string;
  /** A fixed port; default: a free port picked at each start. */
  port?: number;
  /** Delay before restarting after a crash; doubles per crash up to maxMs, back to initialMs after a stable run. */
  restartBackoff?: { initialMs: number; maxMs: number };
  /** How long a start may take before it counts as failed (default 20 s). */
  startTimeoutMs?: number;
  onStateChange?: (state: ChromaServerState, detail?: string) => void;
}

const DEFAULT_BACKOFF = { initialMs: 250, maxMs: 8_000 };
const DEFAULT_START_TIMEOUT_MS = 20_000;
/** A run this long counts as healthy: the next crash restarts after the initial backoff again. */
const STABLE_RUN_MS = 30_000;
/** Crashes (or failed restarts) in a row, each without a stable run, before the supervisor gives up until asked again. */
const MAX_RESTARTS_IN_A_ROW = 10;
/** SIGTERM takes Chroma ~1.5 s; past this it gets SIGKILL. */
const TERMINATE_GRACE_MS = 5_000;
const HEARTBEAT_TIMEOUT_MS = 1_000;
const STDERR_TAIL_LINES = 12;
/** Another process can take the picked port between picking and binding: try a new one this many times. */
const PORT_ATTEMPTS = 3;
/** While another process starts (or stops) the server of the data folder, it is looked at again this often. */
const SHARED_POLL_MS = 100;
/** A borrowed server's heartbeat is asked again before handing out its endpoint when the last answer is older. */
const BORROWED_RECHECK_MS = 1_000;

interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The spawn itself failed (binary missing, not executable). */
  error?: Error;
}

interface ChromaChild {
  process: ChildProcess;
  /** Chroma's last stderr lines, without colour codes: the reason a start failed. */
  stderrTail: string[];
  exited: Promise<ChildExit>;
  hasExited: boolean;
}

/**
 * Runs `chroma run` as a supervised child process (Chroma has no in-process mode). Lazy: nothing is spawned until the
 * first `ensureRunning()`. It listens on 127.0.0.1 only; a crash is logged and restarted with backoff on the same data
 * folder, possibly on a new port, so callers ask `ensureRunning()` for the current endpoint before using it.
 *
 * One server per data folder across processes (see chromaServerShare.node.ts): a server already running for the
 * folder, owned by a live process, is borrowed (no child, no supervision: `borrowed` is true); a start is exclusive
 * (a lock file), and the loser of a race waits for the winner's server and borrows it. A borrowed endpoint is checked
 * again before it is handed out (the record, its owner and server pids; the heartbeat when the last answer is older
 * than 1 s): when it has gone, this instance starts (or borrows) a server again. A server whose owner died (kill -9)
 * is not borrowed, since nobody would supervise it: it is stopped and a supervised one is started in its place.
 */
export class ChromaServer {
  readonly #options: ChromaServerOptions;
  readonly #backoff: { initialMs: number; maxMs: number };
  readonly #stopController = new AbortController();
  #state: ChromaServerState = 'idle';
  #child: ChromaChild | undefined;
  #endpoint: ChromaEndpoint | undefined;
  /** The start (or restart) in progress; every caller of ensureRunning shares it. */
  #attempt: Promise<ChromaEndpoint> | undefined;
  #nextBackoffMs: number;
  #restartsInARow = 0;
  #runningSince = 0;
  #stopping: Promise<void> | undefined;
  /** The record this instance wrote for its own running server. */
  #record: ServerRecord | undefined;
  /** The other process's server in use, and when its heartbeat last answered. */
  #borrowed: { record: ServerRecord; checkedAt: number } | undefined;
  /** A re-check of the borrowed server in progress; every caller of ensureRunning shares it. */
  #checking: Promise<ChromaEndpoint> | undefined;

  constructor(options: ChromaServerOptions) {
    this.#options = options;
    this.#backoff = options.restartBackoff ?? DEFAULT_BACKOFF;
    this.#nextBackoffMs = this.#backoff.initialMs;
  }

  get state(): ChromaServerState {
    return this.#state;
  }

  /** The running (or starting) server process, if any: never one borrowed from another process. */
  get pid(): number | undefined {
    const child = this.#child;
    return child && !child.hasExited ? child.process.pid : undefined;
  }

  /** Whether the endpoint in use is a server owned by another process (or another instance) on the same data folder. */
  get borrowed(): boolean {
    return this.#borrowed !== undefined;
  }

  /**
   * The endpoint of a healthy server: starts it on the first call, waits for a start or restart in progress. The signal
   * only abandons this caller's wait (rejecting with its reason); the start itself goes on for the other callers.
   */
  async ensureRunning(signal?: AbortSignal): Promise<ChromaEndpoint> {
    signal?.throwIfAborted();
    if (this.#state === 'stopped') throw unavailable('The document index (Chroma) has been shut down.');
    if (this.#state === 'running' && this.#endpoint) {
      const borrowed = this.#borrowed;
      if (!borrowed) return this.#endpoint;
      if (performance.now() - borrowed.checkedAt < BORROWED_RECHECK_MS && this.#borrowedLooksAlive(borrowed.record)) return this.#endpoint;
      this.#checking ??= this.#recheckBorrowed(borrowed.record).finally(() => (this.#checking = undefined));
      return abandonable(this.#checking, signal);
    }
    const attempt = this.#attempt ?? this.#beginAttempt('starting');
    return abandonable(attempt, signal);
  }

  /** SIGTERM, then SIGKILL after 5 s; no restart afterwards. Resolves when the process is gone. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#setState('stopped');
    this.#stopController.abort();
    this.#endpoint = undefined;
    // A borrowed server is left to its owner.
    this.#borrowed = undefined;
    const child = this.#child;
    const record = this.#record;
    // Borrowers stop using it now, but nobody starts another on the folder until this one is gone.
    if (record && child) {
      try {
        writeServerRecord(serverFileOf(this.#options.dataDir), { ...record, stopping: true });
      } catch (error) {
        this.#options.logger.warn({ err: errorText(error) }, 'Could not mark the Chroma server record as stopping');
      }
    }
    if (child) await terminate(child, this.#options.logger);
    await this.#attempt?.catch(() => undefined);
    this.#forgetRecord();
  }

  #forgetRecord(): void {
    const record = this.#record;
    this.#record = undefined;
    if (record) removeServerRecord(serverFileOf(this.#options.dataDir), record);
  }

  /** Cheap checks of a borrowed server (a small file read and two pid checks, no network): still recorded, not stopping, owner and server alive. */
  #borrowedLooksAlive(record: ServerRecord): boolean {
    const current = readServerRecord(serverFileOf(this.#options.dataDir));
    if (current === undefined || current === 'invalid' || !sameServer(current, record) || current.stopping) return false;
    return isProcessAlive(record.ownerPid) && isProcessAlive(record.serverPid);
  }

  async #recheckBorrowed(record: ServerRecord): Promise<ChromaEndpoint> {
    const endpoint = this.#endpoint;
    if (endpoint && this.#borrowedLooksAlive(record) && (await heartbeatAnswers(endpoint.url, this.#stopController.signal))) {
      if (this.#borrowed?.record === record) this.#borrowed.checkedAt = performance.now();
      return endpoint;
    }
    if (this.#state === 'stopped') throw stoppedError();
    if (this.#borrowed?.record === record) {
      this.#options.logger.info({ ownerPid: record.ownerPid, port: record.port }, 'The Chroma server borrowed from another process has gone; starting or finding another');
      this.#borrowed = undefined;
      this.#endpoint = undefined;
    }
    return this.#attempt ?? this.#beginAttempt('starting', `the server of process ${record.ownerPid} has gone`);
  }

  #setState(state: ChromaServerState, detail?: string): void {
    if (this.#state === state) return;
    if (this.#state === 'stopped') return;
    this.#state = state;
    this.#options.onStateChange?.(state, detail);
  }

  #beginAttempt(kind: 'starting' | 'restarting', detail?: string): Promise<ChromaEndpoint> {
    let delayMs = 0;
    if (kind === 'restarting') {
      delayMs = this.#nextBackoffMs;
      this.#nextBackoffMs = Math.min(this.#nextBackoffMs * 2, this.#backoff.maxMs);
    } else {
      this.#nextBackoffMs = this.#backoff.initialMs;
      this.#restartsInARow = 0;
    }
    this.#setState(kind, detail);
    const attempt = this.#start(delayMs);
    this.#attempt = attempt;
    attempt.then(
      () => {
        if (this.#attempt === attempt) this.#attempt = undefined;
      },
      (error: unknown) => {
        if (this.#attempt !== attempt) return;
        this.#attempt = undefined;
        if (this.#state === 'stopped') return;
        const message = error instanceof Error ? error.message : String(error);
        if (kind === 'restarting' && this.#restartsInARow < MAX_RESTARTS_IN_A_ROW) {
          this.#restartsInARow += 1;
          this.#options.logger.warn({ err: message, restartsInARow: this.#restartsInARow }, 'Chroma restart failed; retrying');
          this.#beginAttempt('restarting');
          return;
        }
        this.#options.logger.error({ err: message }, 'Chroma could not be started');
        this.#setState('failed', message);
      },
    );
    return attempt;
  }

  async #start(delayMs: number): Promise<ChromaEndpoint> {
    const stop = this.#stopController.signal;
    if (delayMs > 0) await pause(delayMs, stop);
    if (stop.aborted) throw stoppedError();
    if (this.#options.binPath === undefined) {
      const support = chromaServerSupport();
      if (!support.supported) throw unavailable(support.reason);
    }
    const command = chromaCommand(this.#options.binPath);
    const { dataDir, logger } = this.#options;
    const startTimeoutMs = this.#options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
    const deadline = performance.now() + startTimeoutMs;
    let waitingFor: string | undefined;
    for (;;) {
      if (stop.aborted) throw stoppedError();
      // Another process's server, healthy: borrow it (no lock needed to read).
      const record = readServerRecord(serverFileOf(dataDir));
      if (record !== undefined && record !== 'invalid' && (await this.#verdict(record, stop)) === 'borrow') return this.#borrow(record);
      if (stop.aborted) throw stoppedError();
      let lock: ReturnType<typeof tryLock>;
      try {
        lock = tryLock(lockFileOf(dataDir), (holder) => logger.info({ lock: lockFileOf(dataDir), holder }, 'Removed a stale Chroma start lock'));
      } catch (error) {
        throw unavailable(`The document index (Chroma) cannot be started: its start lock ${lockFileOf(dataDir)} cannot be written (${errorText(error)}).`);
      }
      if (lock) {
        try {
          const outcome = await this.#startLocked(command, stop);
          if (outcome.kind === 'ready') return outcome.endpoint;
          waitingFor = outcome.why;
        } finally {
          lock.release();
        }
      } else {
        waitingFor = 'another process is starting it';
      }
      if (performance.now() > deadline) {
        throw unavailable(
          `The document index (Chroma) did not become available within ${Math.round(startTimeoutMs / 1000)} s: ${waitingFor} (data folder: ${dataDir}).`,
        );
      }
      await pause(SHARED_POLL_MS, stop);
    }
  }

  /** Holding the start lock: borrows a server that has become available, else clears what is stale and spawns one. */
  async #startLocked(
    command: { file: string; args: string[] },
    stop: AbortSignal,
  ): Promise<{ kind: 'ready'; endpoint: ChromaEndpoint } | { kind: 'wait'; why: string }> {
    const { dataDir, logger } = this.#options;
    const serverFile = serverFileOf(dataDir);
    const record = readServerRecord(serverFile);
    if (record === 'invalid') {
      logger.warn({ file: serverFile }, 'Removed an unreadable Chroma server record');
      discardServerRecord(serverFile);
    } else if (record !== undefined) {
      const verdict = await this.#verdict(record, stop);
      if (stop.aborted) throw stoppedError();
      switch (verdict) {
        case 'borrow':
          return { kind: 'ready', endpoint: this.#borrow(record) };
        case 'busy':
          return {
            kind: 'wait',
            why: record.stopping
              ? `process ${record.ownerPid} is stopping its server`
              : `the server of process ${record.ownerPid} (pid ${record.serverPid}, port ${record.port}) does not answer`,
          };
        case 'orphan':
          // Its owner died without stopping it (kill -9): nobody would restart it, so a supervised one replaces it.
          logger.warn({ serverPid: record.serverPid, ownerPid: record.ownerPid, port: record.port }, 'Stopping a Chroma server whose owner process has died');
          await stopOrphan(record.serverPid, stop);
          discardServerRecord(serverFile);
          break;
        case 'stale':
          logger.info({ record }, 'Removed a stale Chroma server record');
          discardServerRecord(serverFile);
          break;
      }
    }
    for (let attempt = 1; ; attempt += 1) {
      const port = this.#options.port ?? (await freePort());
      if (stop.aborted) throw stoppedError();
      const outcome = await this.#launch(command, port, stop);
      if (outcome.ok) return { kind: 'ready', endpoint: outcome.endpoint };
      const portTaken = outcome.portTaken && this.#options.port === undefined && attempt < PORT_ATTEMPTS;
      if (!portTaken) throw outcome.error;
      logger.debug({ port }, 'Chroma port was taken meanwhile; trying another');
    }
  }

  /**
   * What a recorded server is to this process: `borrow` (owner alive, answering), `busy` (owner alive, its server
   * alive but stopping or not answering: wait), `orphan` (owner dead, server still running), `stale` (server gone).
   */
  async #verdict(record: ServerRecord, stop: AbortSignal): Promise<'borrow' | 'busy' | 'orphan' | 'stale'> {
    const identity = isProcessAlive(record.serverPid) ? isChromaOn(record.serverPid, this.#options.dataDir) : false;
    if (identity === false) return 'stale';
    const answers = (): Promise<boolean> => heartbeatAnswers(`http://127.0.0.1:${record.port}`, stop);
    if (!isProcessAlive(record.ownerPid)) {
      // A pid whose command line cannot be read is only stopped if it still answers as Chroma on the recorded port.
      return identity === true || (await answers()) ? 'orphan' : 'stale';
    }
    if (record.stopping) return 'busy';
    return (await answers()) ? 'borrow' : 'busy';
  }

  #borrow(record: ServerRecord): ChromaEndpoint {
    const endpoint = { url: `http://127.0.0.1:${record.port}` };
    this.#endpoint = endpoint;
    this.#borrowed = { record, checkedAt: performance.now() };
    this.#options.logger.info({ ownerPid: record.ownerPid, serverPid: record.serverPid, port: record.port }, 'Using the Chroma server of another process');
    this.#setState('running', `borrowed from process ${record.ownerPid}`);
    return endpoint;
  }

  async #launch(
    command: { file: string; args: string[] },
    port: number,
    stop: AbortSignal,
  ): Promise<{ ok: true; endpoint: ChromaEndpoint } | { ok: false; error: AgentError; portTaken: boolean }> {
    const { logger, dataDir } = this.#options;
    const startedAt = performance.now();
    const args = [...command.args, 'run', '--path', dataDir, '--host', '127.0.0.1', '--port', String(port)];
    const child = spawnChroma(command.file, args, logger);
    this.#child = child;
    child.exited.then((exit) => this.#onExit(child, exit), () => undefined);

    const url = `http://127.0.0.1:${port}`;
    const deadline = startedAt + (this.#options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS);
    // Probes and pauses end at once when the child exits or stop() is called.
    const waiting = new AbortController();
    const endWaiting = (): void => waiting.abort();
    stop.addEventListener('abort', endWaiting, { once: true });
    child.exited.then(endWaiting, endWaiting);
    try {
      let intervalMs = 20;
      for (;;) {
        if (stop.aborted) {
          // Gone before the lock is released, so no other process starts one beside it.
          await terminate(child, logger);
          return { ok: false, error: stoppedError(), portTaken: false };
        }
        if (child.hasExited) {
          const exit = await child.exited;
          return { ok: false, error: startFailure(exit, child.stderrTail, dataDir), portTaken: isPortTaken(child.stderrTail) };
        }
        if ((await heartbeatAnswers(url, waiting.signal)) && !child.hasExited) break;
        if (performance.now() > deadline) {
          await terminate(child, logger);
          const seconds = Math.round((deadline - startedAt) / 1000);
          const error = unavailable(
            `The document index (Chroma) did not answer within ${seconds} s of starting (data folder: ${dataDir}).`,
            child.stderrTail.join('\n') || undefined,
          );
          return { ok: false, error, portTaken: false };
        }
        await pause(intervalMs, waiting.signal);
        intervalMs = Math.min(intervalMs * 2, 200);
      }
    } finally {
      stop.removeEventListener('abort', endWaiting);
    }

    const endpoint = { url };
    this.#endpoint = endpoint;
    this.#borrowed = undefined;
    // Other processes find it here (written before the start lock is released).
    const record: ServerRecord = { ownerPid: process.pid, serverPid: child.process.pid!, port, startedAt: new Date().toISOString() };
    try {
      writeServerRecord(serverFileOf(dataDir), record);
    } catch (error) {
      // Unrecorded, another process would start a second server on the folder: better none.
      this.#endpoint = undefined;
      await terminate(child, logger);
      const why = `The document index (Chroma) cannot be shared safely: ${serverFileOf(dataDir)} cannot be written (${errorText(error)}).`;
      return { ok: false, error: unavailable(why), portTaken: false };
    }
    this.#record = record;
    this.#runningSince = performance.now();
    logger.info({ pid: child.process.pid, port, startMs: Math.round(this.#runningSince - startedAt) }, 'Chroma is running');
    this.#setState('running');
    return { ok: true, endpoint };
  }

  #onExit(child: ChromaChild, exit: ChildExit): void {
    if (child !== this.#child) return;
    this.#child = undefined;
    // Its record goes at once, so borrowers stop using it; the restart (or a borrower) records the next one.
    if (this.#record?.serverPid === child.process.pid) this.#forgetRecord();
    // Only a crash of a healthy server is handled here; a start in progress sees the exit itself.
    if (this.#state !== 'running') return;
    this.#endpoint = undefined;
    const ranMs = performance.now() - this.#runningSince;
    if (ranMs >= STABLE_RUN_MS) {
      this.#nextBackoffMs = this.#backoff.initialMs;
      this.#restartsInARow = 0;
    } else {
      this.#restartsInARow += 1;
    }
    this.#options.logger.warn(
      { code: exit.code, signal: exit.signal, ranMs: Math.round(ranMs), stderr: lastLines(child.stderrTail, 3) },
      'Chroma exited unexpectedly; restarting it',
    );
    if (this.#restartsInARow > MAX_RESTARTS_IN_A_ROW) {
      this.#setState('failed', 'Chroma kept crashing');
      return;
    }
    this.#beginAttempt('restarting');
  }
}

/** `CHROMA_URL` (an http(s) origin) and `CHROMA_TOKEN`: a remote Chroma server instead of the local one. */
export function chromaEndpointFromEnv(env: NodeJS.ProcessEnv = process.env): ChromaEndpoint | undefined {
  const raw = env.CHROMA_URL?.trim();
  if (!raw) return undefined;
  const invalid = (why: string): InvalidSettingError => {
    const shown = raw.length > 60 ? `${JSON.stringify(raw.slice(0, 60)).slice(0, -1)}…"` : JSON.stringify(raw);
    return new InvalidSettingError(`CHROMA_URL must be an http(s) URL such as http://127.0.0.1:8000${why}; got ${shown}.`);
  };
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw invalid('');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw invalid('');
  // Chroma's client takes host, port and TLS only: a path prefix or credentials in the URL would be silently dropped.
  if (parsed.pathname !== '/' || parsed.search || parsed.hash) throw invalid(' without a path or query');
  if (parsed.username || parsed.password) throw invalid(' without user:password (put a token in CHROMA_TOKEN)');
  const token = env.CHROMA_TOKEN?.trim();
  return token ? { url: parsed.origin, token } : { url: parsed.origin };
}

export type ChromaServerSupport = { supported: true } | { supported: false; reason: string };

/** Whether the chromadb package's `chroma run` works on this platform (it ships native bindings for a few only). */
export function chromaServerSupport(platform: NodeJS.Platform = process.platform, arch: string = process.arch): ChromaServerSupport {
  const fallback =
    'Document search uses keywords only here; set CHROMA_URL (and CHROMA_TOKEN if needed) to use a Chroma server running elsewhere.';
  if (platform === 'win32') {
    const why =
      arch === 'x64'
        ? "Chroma's bundled server does not run on Windows x64 (the chromadb CLI supports Windows on ARM64 only)."
        : `Chroma's bundled server has no published native binding for Windows ${arch}.`;
    return { supported: false, reason: `${why} ${fallback}` };
  }
  if ((platform === 'linux' || platform === 'darwin') && (arch === 'x64' || arch === 'arm64')) return { supported: true };
  return { supported: false, reason: `Chroma's bundled server has no native binding for ${platform} ${arch}. ${fallback}` };
}

const ChromaPackageJson = z.object({
  name: z.string(),
  bin: z.union([z.string(), z.record(z.string(), z.string())]).optional(),
});

/** The JS entry of the chromadb package's `chroma` bin (so it runs without node_modules/.bin on PATH). */
export function resolveChromaCli(): string {
  const require = createRequire(import.meta.url);
  let entry: string;
  try {
    entry = require.resolve('chromadb');
  } catch {
    throw unavailable('The chromadb package is not installed, so the document index (Chroma) cannot start.');
  }
  for (let dir = path.dirname(entry); ; dir = path.dirname(dir)) {
    const manifestPath = path.join(dir, 'package.json');
    if (existsSync(manifestPath)) {
      const manifest = ChromaPackageJson.safeParse(JSON.parse(readFileSync(manifestPath, 'utf8')));
      if (manifest.success && manifest.data.name === 'chromadb') {
        const bin = manifest.data.bin;
        const relative = typeof bin === 'string' ? bin : bin?.chroma;
        if (!relative) break;
        return path.resolve(dir, relative);
      }
    }
    if (path.dirname(dir) === dir) break;
  }
  throw unavailable("The chromadb package has no `chroma` CLI, so the document index (Chroma) cannot start.");
}

function chromaCommand(binPath: string | undefined): { file: string; args: string[] } {
  const bin = binPath ?? resolveChromaCli();
  return /\.[cm]?js$/.test(bin) ? { file: process.execPath, args: [bin] } : { file: bin, args: [] };
}

function spawnChroma(file: string, args: string[], logger: AgentLogger): ChromaChild {
  const child = spawn(file, args, {
    // The banner on stdout is noise; stderr carries the reasons a start fails.
    stdio: ['ignore', 'ignore', 'pipe'],
    windowsHide: true,
    env: {
      ...process.env,
      // Under Electron, process.execPath is the app: make it behave as Node.
      ELECTRON_RUN_AS_NODE: '1',
      // A panic's backtrace would push the one line that says why out of the tail.
      RUST_BACKTRACE: '0',
    },
  });
  const stderrTail: string[] = [];
  if (child.stderr) {
    const lines = createInterface({ input: child.stderr, crlfDelay: Infinity });
    lines.on('line', (raw) => {
      const line = stripAnsi(raw).trimEnd();
      if (!line) return;
      logger.debug({ pid: child.pid, line: line.slice(0, 500) }, 'chroma stderr');
      stderrTail.push(line.slice(0, 500));
      if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
    });
  }
  // No orphan: if this Node process exits without stop(), the child goes with it (exit handlers must be synchronous).
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.on('exit', killOnExit);
  const record: ChromaChild = {
    process: child,
    stderrTail,
    hasExited: false,
    exited: new Promise<ChildExit>((resolve) => {
      // 'close' comes after 'exit' once stderr is drained, so the tail holds the last line.
      child.once('close', (code, signal) => resolve({ code, signal }));
      child.once('error', (error) => resolve({ code: null, signal: null, error }));
    }).then((exit) => {
      record.hasExited = true;
      process.off('exit', killOnExit);
      return exit;
    }),
  };
  return record;
}

/** Stops a `chroma run` left by a dead owner (not a child of this process): SIGTERM, then SIGKILL; waits until it is gone. */
async function stopOrphan(pid: number, stop: AbortSignal): Promise<void> {
  const signalIt = (signal: NodeJS.Signals): void => {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  };
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    signalIt(signal);
    const until = performance.now() + TERMINATE_GRACE_MS;
    while (isProcessAlive(pid) && performance.now() < until) {
      if (stop.aborted) throw stoppedError();
      await pause(50, stop);
    }
    if (!isProcessAlive(pid)) return;
  }
  throw unavailable(`A Chroma server left by a process that died (pid ${pid}) could not be stopped.`);
}

async function terminate(child: ChromaChild, logger: AgentLogger): Promise<void> {
  if (child.hasExited) return;
  child.process.kill('SIGTERM');
  const neverAborted = new AbortController().signal;
  await pause(TERMINATE_GRACE_MS, neverAborted, child.exited);
  if (child.hasExited) return;
  logger.warn({ pid: child.process.pid }, 'Chroma did not stop within 5 s of SIGTERM; killing it');
  child.process.kill('SIGKILL');
  await pause(TERMINATE_GRACE_MS, neverAborted, child.exited);
}

/** One GET of Chroma's heartbeat, on its own connection (no pooled socket is left behind to a port that is not Chroma). */
function heartbeatAnswers(url: string, stop: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (stop.aborted) return resolve(false);
    const request = httpGet(`${url}/api/v2/heartbeat`, { agent: false, timeout: HEARTBEAT_TIMEOUT_MS, signal: stop }, (response) => {
      // The status is the answer; the body is drained so the connection closes.
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.once('timeout', () => request.destroy());
    request.once('error', () => resolve(false));
    request.once('close', () => resolve(false));
  });
}

/** Waits `ms`, or less if `signal` aborts or `early` settles; the timer never outlives the wait. */
async function pause(ms: number, signal: AbortSignal, early?: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    await new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      timer = setTimeout(resolve, ms);
      onAbort = resolve;
      signal.addEventListener('abort', onAbort, { once: true });
      early?.then(
        () => resolve(),
        () => resolve(),
      );
    });
  } finally {
    clearTimeout(timer);
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}


async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

// Lines of Chroma's stderr that never say why it stopped.
const NOISE = [/^OpenTelemetry is not enabled/, /^note: run with `RUST_BACKTRACE/, /^thread '.*' panicked at /, /^fatal runtime error: failed to initiate panic/, /^\s+\d+: /, /^\s+at /];

function startFailure(exit: ChildExit, tail: readonly string[], dataDir: string): AgentError {
  const detail = tail.join('\n') || undefined;
  if (exit.error) return unavailable(`The document index (Chroma) could not be started: ${exit.error.message}.`, detail);
  const reason = lastLines(tail.filter((line) => !NOISE.some((noise) => noise.test(line))), 2).join(' ');
  const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
  return unavailable(
    `The document index (Chroma) could not start: it ${how} before answering${reason ? `: ${reason}` : ''} (data folder: ${dataDir}).`,
    detail,
  );
}

function isPortTaken(tail: readonly string[]): boolean {
  return tail.some((line) => /Address .* is not available|address already in use/i.test(line));
}

function lastLines(lines: readonly string[], n: number): string[] {
  return lines.slice(Math.max(0, lines.length - n));
}

function stripAnsi(text: string): string {
  return text.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '');
}

function unavailable(message: string, detail?: string): AgentError {
  return new AgentError('VECTOR_STORE_UNAVAILABLE', message, detail);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function stoppedError(): AgentError {
  return unavailable('The document index (Chroma) has been shut down.');
}
