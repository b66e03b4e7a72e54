import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WebSocket } from 'ws';
import type { AgentEvent, ServerFrame } from '../../src-shared/contract/index.js';
import type { AgentConfigOverrides } from '../agent/agentConfig.node.js';
import { createAgent } from '../app/createAgent.node.js';
import { startHeadlessHost, type HeadlessHost } from '../host/headlessHost.node.js';
import type { BenchRow } from './benchStats.js';

export interface LoadBenchOptions {
  config: AgentConfigOverrides;
  runs: number;
  log(line: string): void;
  /** How fast the flooding connection sends `chat:send` (the probe that found the problem sent 2,000 in 0.9 s). */
  floodCallsPerSecond?: number;
}

export const LOAD_ALONE = 'answer, other connection idle';
export const LOAD_FLOODED = 'answer while another connection floods';
const LOAD_WAIT = 'of the flooded answer, waiting for the model';
const SPEED_ALONE = 'generation speed, other connection idle';
const SPEED_FLOODED = 'generation speed while another connection floods';

interface TimedAnswer {
  ms: number;
  tokens: number;
  tokensPerSecond: number | null;
  /** The turn's `model-queue` stage: how long it waited while the model answered another question. */
  queuedMs: number;
}

/**
 * The flooding client: a process of its own, as a script hammering the host would be, so its own work (sending,
 * reading thousands of replies) is not charged to the host's event loop. It sends `perTick` different `chat:send` every
 * 10 ms until a line arrives on stdin, then closes its connection and prints what became of its calls.
 */
const FLOOD_SCRIPT = `
const { WebSocket } = await import(process.env.LOAD_BENCH_WS);
const [url, origin, perTick, prefix] = process.argv.slice(2);
const socket = new WebSocket(url, { origin });
const counts = { sent: 0, accepted: 0, refused: 0 };
socket.on('message', (data) => {
  const frame = JSON.parse(String(data));
  if (frame.kind === 'result') counts.accepted++;
  if (frame.kind === 'failure' && frame.error.code === 'RATE_LIMITED') counts.refused++;
});
socket.once('error', (error) => { console.error(error.message); process.exit(1); });
socket.once('close', () => { process.stdout.write(JSON.stringify(counts) + '\\n'); process.exit(0); });
socket.once('open', () => {
  const ticker = setInterval(() => {
    for (let i = 0; i < Number(perTick); i++) {
      counts.sent++;
      socket.send(JSON.stringify({ kind: 'call', id: counts.sent, command: 'chat:send', args: { text: prefix + counts.sent } }));
    }
  }, 10);
  process.stdin.once('data', () => { clearInterval(ticker); socket.close(); });
});
`;

interface FloodCounts {
  sent: number;
  accepted: number;
  refused: number;
}

/** Starts the flooding process; `stop()` closes its connection and resolves with its counts. */
function startFlood(scriptFile: string, host: HeadlessHost, perTick: number, prefix: string): { stop(): Promise<FloodCounts> } {
  const url = `ws://127.0.0.1:${host.port}/ws?token=${host.token}`;
  const wsModule = import.meta.resolve('ws');
  const child = spawn(process.execPath, [scriptFile, url, `http://127.0.0.1:${host.port}`, String(perTick), prefix], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, LOAD_BENCH_WS: wsModule },
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<FloodCounts>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(output) as FloodCounts) : reject(new Error(`load bench: the flooding process exited with ${code}`))));
  });
  return {
    stop() {
      child.stdin.end('stop\n');
      return exited;
    },
  };
}

/**
 * One WebSocket client of the host: call frames out; replies, and the events every client is sent, in. Frames are
 * only JSON-parsed (the host's own frames; the contract tests validate them): this client shares the host's process
 * and CPU, and should cost it as little as a client in another process would.
 */
class HostConnection {
  private readonly waiters = new Set<() => void>();
  private readonly replies = new Map<number, Extract<ServerFrame, { kind: 'result' | 'failure' }>>();
  readonly ended = new Set<string>();
  /** Token events per turn, of every client's turns (events go to every connection). */
  readonly tokens = new Map<string, number>();
  /** The `done` event of each turn that ended with one. */
  readonly done = new Map<string, Extract<AgentEvent, { type: 'done' }>>();
  /** Start and end (`t`) of each turn's `model-queue` stage. */
  private readonly queued = new Map<string, { start?: number; end?: number }>();
  /** Every turn started, this connection's and others'. */
  readonly started: string[] = [];
  /** This connection's own turns. */
  readonly own = new Set<string>();
  sent = 0;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as ServerFrame;
      if (frame.kind === 'event') {
        const { event } = frame;
        if (event.type === 'token') this.tokens.set(event.turnId, (this.tokens.get(event.turnId) ?? 0) + 1);
        if (event.type === 'done') this.done.set(event.turnId, event);
        if (event.type === 'turn-started') this.started.push(event.turnId);
        if (event.type === 'stage' && event.name === 'model-queue') {
          const span = this.queued.get(event.turnId) ?? {};
          span[event.phase] = event.t;
          this.queued.set(event.turnId, span);
        }
        const ended = turnEnded(event);
        if (ended !== undefined) this.ended.add(ended);
      } else {
        this.replies.set(frame.id, frame);
        if (frame.kind === 'result') this.own.add((frame.value as { turnId: string }).turnId);
      }
      for (const wake of [...this.waiters]) wake();
    });
  }

  static async open(host: HeadlessHost): Promise<HostConnection> {
    const socket = new WebSocket(`ws://127.0.0.1:${host.port}/ws?token=${host.token}`, { origin: `http://127.0.0.1:${host.port}` });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return new HostConnection(socket);
  }

  ask(text: string): number {
    const id = ++this.sent;
    this.socket.send(JSON.stringify({ kind: 'call', id, command: 'chat:send', args: { text } }));
    return id;
  }

  /** Turns other connections started, as this one sees them. */
  othersTurns(): string[] {
    return this.started.filter((turnId) => !this.own.has(turnId));
  }

  /** Resolves once `condition` holds, re-checked on every frame; rejects after `timeoutMs`. */
  until(condition: () => boolean, what: string, timeoutMs = 120_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => (this.waiters.delete(check), reject(new Error(`load bench: no ${what} after ${timeoutMs} ms`))), timeoutMs);
      const check = () => {
        if (!condition()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Asks one question and resolves with the ms from sending it to its end, and what its `done` event says. */
  async timedAnswer(text: string): Promise<TimedAnswer> {
    const started = performance.now();
    const id = this.ask(text);
    await this.until(() => this.replies.has(id), `reply to ${text}`);
    const reply = this.replies.get(id)!;
    if (reply.kind === 'failure') throw new Error(`load bench: ${reply.error.code}: ${reply.error.message}`);
    const turnId = (reply.value as { turnId: string }).turnId;
    await this.until(() => this.ended.has(turnId), `answer to ${text}`);
    const done = this.done.get(turnId);
    if (!done || done.interrupted) throw new Error(`load bench: the answer to "${text}" did not complete`);
    const queued = this.queued.get(turnId);
    const queuedMs = queued?.start !== undefined && queued.end !== undefined ? queued.end - queued.start : 0;
    return { ms: performance.now() - started, tokens: done.timings.tokens, tokensPerSecond: done.timings.tokensPerSecond, queuedMs };
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.readyState === WebSocket.CLOSED) return resolve();
      this.socket.once('close', () => resolve());
      this.socket.close();
    });
  }
}

function turnEnded(event: AgentEvent): string | undefined {
  if (event.type === 'done' || event.type === 'blocked') return event.turnId;
  return event.type === 'error' ? event.turnId : undefined;
}

/**
 * Fairness under load, on the real headless host and model: a second connection's answer time (send → done) while
 * another connection floods `chat:send`, against its time with the other connection idle, measured alternately in
 * the same run. The quiet question is asked when the flood's answer being generated has reached token k, k spread
 * evenly over the runs across an answer's length, as questions arriving at any moment would be; that answer gives the
 * model up to it (the flood has a backlog) and goes on afterwards.
 * Documents, voice and guards are off: they are not what is measured.
 */
export async function runLoadBench(options: LoadBenchOptions): Promise<BenchRow[]> {
  const { config, runs, log } = options;
  const floodRate = options.floodCallsPerSecond ?? 2_000;
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'assistant-load-bench-'));
  const staticDir = path.join(scratch, 'renderer');
  const agent = createAgent({
    config: { ...config, dataDir: path.join(scratch, 'data'), voice: { enabled: false }, documents: { enabled: false }, guards: { enabled: false } },
  });
  let host: HeadlessHost | undefined;
  try {
    await agent.whenReady();
    // The host serves a page; the bench never loads it.
    mkdirSync(staticDir);
    writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html>');
    host = await startHeadlessHost({ agent, port: 0, staticDir });
    const quiet = await HostConnection.open(host);
    await quiet.timedAnswer('Once upon a time there was a warm-up');
    const floodScript = path.join(scratch, 'flood.mjs');
    writeFileSync(floodScript, FLOOD_SCRIPT);

    const alone: TimedAnswer[] = [];
    const flooded: TimedAnswer[] = [];
    const total: FloodCounts = { sent: 0, accepted: 0, refused: 0 };
    for (let run = 0; run < runs; run++) {
      const answer = await quiet.timedAnswer(`Once upon a time there was a little fox number ${run}`);
      alone.push(answer);

      // The flood: `floodRate` questions a second, every one different, for as long as the quiet question takes.
      const before = quiet.othersTurns().length;
      const flood = startFlood(floodScript, host, Math.max(1, Math.round(floodRate / 100)), `Tell me a story about the number ${run}-`);
      let counts: FloodCounts;
      try {
        // Asked while the flood's first answer is being generated, at token k of it; more flooded questions wait.
        // (Or once a flooded answer has ended, for a model whose answers are shorter than this one's.)
        const k = Math.floor(((run + 0.5) / runs) * answer.tokens);
        const floodTurns = () => quiet.othersTurns().slice(before);
        const reached = () => floodTurns().some((turnId) => (quiet.tokens.get(turnId) ?? 0) >= k || quiet.ended.has(turnId));
        await quiet.until(() => floodTurns().length >= 2 && reached(), `token ${k} of the flood's first answer`);
        flooded.push(await quiet.timedAnswer(`Once upon a time there was a little owl number ${run}`));
      } finally {
        // Closing the flooding connection cancels its questions; the next run starts once they have ended.
        counts = await flood.stop();
      }
      total.sent += counts.sent;
      total.accepted += counts.accepted;
      total.refused += counts.refused;
      await quiet.until(() => quiet.othersTurns().every((turnId) => quiet.ended.has(turnId)), "end of the closed connection's questions");
    }
    await quiet.close();
    log(`  load: the flooding connections sent ${total.sent} chat:send, ${total.accepted} taken, ${total.refused} refused with RATE_LIMITED`);
    const speeds = (answers: TimedAnswer[]) => answers.flatMap((answer) => answer.tokensPerSecond ?? []);
    return [
      { name: LOAD_ALONE, unit: 'ms', samples: alone.map((answer) => answer.ms) },
      { name: LOAD_FLOODED, unit: 'ms', samples: flooded.map((answer) => answer.ms) },
      { name: LOAD_WAIT, unit: 'ms', samples: flooded.map((answer) => answer.queuedMs) },
      { name: SPEED_ALONE, unit: 'tokens/s', samples: speeds(alone) },
      { name: SPEED_FLOODED, unit: 'tokens/s', samples: speeds(flooded) },
    ];
  } finally {
    await host?.close();
    await agent.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}
